//! What the token endpoint does differently for a registered client: its own grant types,
//! PKCE for public clients, its token lifetime and ID-token algorithm, and the standard
//! `client_credentials` grant (RFC 6749 §4.4) whose subject is the client itself.
use serde::Serialize;

use super::model::ClientMetadata;
use super::AuthMethod;
use crate::config::SigningAlgorithm;
use crate::crypto::random_id;
use crate::domain::client_auth::AuthenticatedClient;
use crate::domain::params::Params;
use crate::domain::services::Services;
use crate::domain::tokens::{TokenResponse, ACCESS_TYP};
use crate::error::AppError;

/// Refuses a grant type the registered client does not hold.
pub fn require_grant(client: &AuthenticatedClient, grant: &str) -> Result<(), AppError> {
    match &client.registered {
        Some(m) if !m.has_grant(grant) => Err(AppError::UnauthorizedClient(format!(
            "this client may not use the {grant} grant"
        ))),
        _ => Ok(()),
    }
}

/// A public registered client must have sent a PKCE challenge (RFC 9700 §2.1.1).
pub fn check_code_exchange(
    client: &AuthenticatedClient,
    had_challenge: bool,
) -> Result<(), AppError> {
    require_grant(client, "authorization_code")?;
    match &client.registered {
        Some(m) if m.token_endpoint_auth_method == AuthMethod::None && !had_challenge => Err(
            AppError::InvalidGrant("a public client must use PKCE".into()),
        ),
        _ => Ok(()),
    }
}

/// The access/ID token lifetime for the client (its own, else the server's).
pub fn access_lifetime(state: &Services, client: &AuthenticatedClient) -> i64 {
    let secs = client
        .registered
        .as_ref()
        .and_then(|m| m.access_token_lifetime)
        .unwrap_or(state.settings.auth.token_expiry);
    i64::try_from(secs).unwrap_or(i64::MAX)
}

/// The refresh-token lifetime for the client (its own, else the one of the clients in
/// `authentication.client.offline` for those, else the server's).
pub fn refresh_lifetime(state: &Services, client: &AuthenticatedClient) -> i64 {
    let server = if state.settings.is_offline_client(&client.client_id) {
        state.settings.auth.offline_token_expiry
    } else {
        state.settings.auth.refresh_token_expiry
    };
    let secs = client
        .registered
        .as_ref()
        .and_then(|m| m.refresh_token_lifetime)
        .unwrap_or(server);
    i64::try_from(secs).unwrap_or(i64::MAX)
}

/// Whether a script login (the password grant, or the secret-key login) gets a refresh
/// token: the client asked for `offline_access` and is in `authentication.client.offline`.
pub fn script_refresh(
    state: &Services,
    client: &AuthenticatedClient,
    scope: &crate::domain::scope::Scope,
) -> bool {
    scope.contains("offline_access") && state.settings.is_offline_client(&client.client_id)
}

/// The client's ID-token algorithm, if it has one.
pub fn id_token_alg(client: &AuthenticatedClient) -> Option<SigningAlgorithm> {
    client
        .registered
        .as_ref()
        .and_then(|m| m.id_token_signed_response_alg.as_deref())
        .and_then(SigningAlgorithm::from_name)
}

/// Claims of a service token: the client is the subject (`svc` marks it: no user).
#[derive(Debug, Serialize)]
struct ServiceClaims<'a> {
    iss: String,
    sub: &'a str,
    aud: &'a str,
    client_id: &'a str,
    scope: &'a str,
    iat: i64,
    exp: i64,
    jti: String,
    svc: bool,
    gen: i64,
}

fn granted_scope(m: &ClientMetadata, requested: Option<&str>) -> Result<String, AppError> {
    let wanted: Vec<&str> = match requested {
        Some(r) => r.split(' ').filter(|s| !s.is_empty()).collect(),
        None => m.scope.split(' ').collect(),
    };
    let mut granted: Vec<&str> = Vec::new();
    for s in wanted {
        if !m.allows_scope(s) {
            return Err(AppError::InvalidScope(format!(
                "the scope {s:?} is not allowed for this client"
            )));
        }
        // a service identity has no user to sign in again or to describe
        if s != "offline_access" && s != "openid" && !granted.contains(&s) {
            granted.push(s);
        }
    }
    Ok(granted.join(" "))
}

/// Standard `client_credentials`: an access token for the client itself; no refresh
/// token, no ID token, no user.
pub async fn client_credentials(
    state: &Services,
    client: &AuthenticatedClient,
    params: &Params,
) -> Result<TokenResponse, AppError> {
    let Some(m) = &client.registered else {
        return Err(AppError::UnauthorizedClient(
            "not a registered client".into(),
        ));
    };
    require_grant(client, "client_credentials")?;
    let scope = granted_scope(m, params.get("scope")?)?;
    let lifetime = access_lifetime(state, client);
    let now = state.now();
    let claims = ServiceClaims {
        iss: state.issuer(),
        sub: &client.client_id,
        aud: &client.client_id,
        client_id: &client.client_id,
        scope: &scope,
        iat: now,
        exp: now.saturating_add(lifetime),
        jti: random_id(),
        svc: true,
        gen: 0,
    };
    let key = state.keys.ring().active()?.clone();
    let access_token = key.sign(ACCESS_TYP, &claims)?;
    tracing::info!(target: "authserver::audit", client = %client.client_id, "client_credentials token issued to a registered client");
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: lifetime,
        id_token: None,
        scope,
        refresh_token: None,
    })
}
