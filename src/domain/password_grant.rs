//! `grant_type=password` (RFC 6749 §4.3), only for the clients in
//! `authentication.client.password`.
//!
//! RFC 9700 §2.4 forbids this grant for new work: the client sees the user's password, and
//! nothing but a password can sign in this way. It exists here because Teamwork Cloud 2024x
//! clients and scripts use it. The user's password goes through exactly the check
//! `client_credentials` uses (the verified-credential cache, then argon2 behind the
//! throttle), and the tokens are ID and access token of the normal lifetime; a refresh
//! token (a new refresh family, one-time rotation and reuse detection as after a code
//! sign-in) only when the client asks for `offline_access` and is listed in
//! `authentication.client.offline`, with that list's lifetime (primaTime's script login).
use std::net::IpAddr;

use crate::domain::client_auth::AuthenticatedClient;
use crate::domain::clients::grants as registered;
use crate::domain::grants::sign_in_tokens;
use crate::domain::login::{check_cached_password, PasswordCheck};
use crate::domain::params::Params;
use crate::domain::scope::Scope;
use crate::domain::services::Services;
use crate::domain::tokens::{mint_pair_signed, Mint, TokenResponse};
use crate::error::AppError;

/// The one answer for an unknown user, a wrong password and a disabled user.
pub const BAD_PASSWORD: &str = "the user name or password is wrong";

/// Issues tokens for `username`/`password` to an authenticated client that is allowed
/// this grant.
#[tracing::instrument(skip_all)]
pub async fn password(
    state: &Services,
    client: &AuthenticatedClient,
    params: &Params,
    client_ip: IpAddr,
) -> Result<TokenResponse, AppError> {
    if !state.settings.is_password_client(&client.client_id) {
        return Err(AppError::UnauthorizedClient(
            "this client may not use the password grant (authentication.client.password)".into(),
        ));
    }
    let username = params.require("username")?;
    let password = params.require("password")?;
    // the scope is checked before the password, so a bad request costs no argon2
    let scope = Scope::parse_requested(&format!("openid {}", params.get("scope")?.unwrap_or("")))
        .map_err(AppError::InvalidScope)?;
    let user = match check_cached_password(state, username, password, client_ip).await? {
        PasswordCheck::Verified(user) => user,
        PasswordCheck::Refused => {
            tracing::info!(target: "authserver::audit", client = %client.client_id, "password grant sign-in failed");
            return Err(AppError::InvalidGrant(BAD_PASSWORD.into()));
        }
        PasswordCheck::Throttled(wait) => return Err(AppError::Throttled(wait)),
        PasswordCheck::Unavailable => {
            return Err(AppError::Unavailable(
                "the directory that checks this user's password is unavailable; retry later".into(),
            ))
        }
    };
    let now = state.now();
    let response = if registered::script_refresh(state, client, &scope) {
        // a one-time refresh token of the script-login lifetime (a new refresh family)
        sign_in_tokens(state, client, &user, &scope, now, None, None).await?
    } else {
        let mut scope = scope;
        scope.remove("offline_access");
        let lifetime = registered::access_lifetime(state, client);
        let (access_token, id_token) = mint_pair_signed(
            state,
            &Mint {
                user: &user,
                client_id: &client.client_id,
                scope: &scope,
                auth_time: Some(now),
                nonce: None,
                lifetime,
                family: None,
                pat: None,
            },
            registered::id_token_alg(client),
        )
        .await?;
        TokenResponse {
            access_token,
            token_type: "Bearer",
            expires_in: lifetime,
            id_token,
            scope: scope.to_string(),
            refresh_token: None,
        }
    };
    tracing::info!(target: "authserver::audit", user = %user.username, client = %client.client_id, "signed in with the password grant");
    Ok(response)
}
