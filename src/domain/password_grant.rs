//! `grant_type=password` (RFC 6749 §4.3), only for the clients in
//! `authentication.client.password`.
//!
//! RFC 9700 §2.4 forbids this grant for new work: the client sees the user's password, and
//! nothing but a password can sign in this way. It exists here because Teamwork Cloud 2024x
//! clients and scripts use it. The user's password goes through exactly the check
//! `client_credentials` uses (the verified-credential cache, then argon2 behind the
//! throttle), and the tokens are those of a code sign-in: ID, access and refresh token,
//! the normal lifetime.
use std::net::IpAddr;

use crate::domain::client_auth::AuthenticatedClient;
use crate::domain::grants::sign_in_tokens;
use crate::domain::login::{check_cached_password, PasswordCheck};
use crate::domain::params::Params;
use crate::domain::scope::Scope;
use crate::domain::services::Services;
use crate::domain::tokens::TokenResponse;
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
    let response = sign_in_tokens(state, client, &user, &scope, now, None, None).await?;
    tracing::info!(target: "authserver::audit", user = %user.username, client = %client.client_id, "signed in with the password grant");
    Ok(response)
}
