//! The grants of the token endpoint.
use crate::crypto::token_hash;
use crate::domain::client_auth::AuthenticatedClient;
use crate::domain::params::Params;
use crate::domain::pkce::CodeChallenge;
use crate::domain::scope::Scope;
use crate::domain::tokens::{mint_pair, start_family, Mint, TokenResponse};
use crate::error::AppError;
use crate::state::AppState;
use crate::store::CodeUse;

const BAD_CODE: &str = "the authorization code is invalid, expired or was already used";

/// `grant_type=authorization_code` (RFC 6749 §4.1.3, RFC 7636 §4.6).
pub async fn authorization_code(
    state: &AppState,
    client: &AuthenticatedClient,
    params: &Params,
) -> Result<TokenResponse, AppError> {
    let code = params.require("code")?;
    let redirect_uri = params.require("redirect_uri")?;
    let verifier = params.get("code_verifier")?;
    let now = state.now();
    let hash = token_hash(code);
    let grant = match state.store.consume_code(&hash, now).await? {
        CodeUse::Fresh(g) => g,
        CodeUse::Replayed => {
            tracing::warn!(target: "authserver::audit", client = %client.client_id, "authorization code replayed; its tokens are revoked");
            return Err(AppError::InvalidGrant(BAD_CODE.into()));
        }
        CodeUse::Invalid => return Err(AppError::InvalidGrant(BAD_CODE.into())),
    };
    if grant.client_id != client.client_id {
        return Err(AppError::InvalidGrant(
            "the authorization code was issued to another client".into(),
        ));
    }
    if grant.redirect_uri != redirect_uri {
        return Err(AppError::InvalidGrant(
            "redirect_uri differs from the one of the authorization request".into(),
        ));
    }
    match (&grant.code_challenge, verifier) {
        (Some(challenge), Some(v)) => {
            if !CodeChallenge::from_stored(challenge.clone()).verify(v) {
                return Err(AppError::InvalidGrant(
                    "code_verifier does not match the code_challenge".into(),
                ));
            }
        }
        (Some(_), None) => return Err(AppError::InvalidGrant("code_verifier is missing".into())),
        (None, Some(_)) => {
            return Err(AppError::InvalidGrant(
                "code_verifier sent for a code issued without code_challenge".into(),
            ))
        }
        (None, None) => {}
    }
    let user = state
        .store
        .user_by_id(grant.user_id)
        .await?
        .filter(|u| !u.disabled && u.not_before <= grant.auth_time)
        .ok_or_else(|| AppError::InvalidGrant(BAD_CODE.into()))?;
    let scope = Scope::from_stored(&grant.scope);
    let (family, refresh) = start_family(
        state,
        &user,
        &client.client_id,
        &scope,
        grant.auth_time,
        Some(&hash),
    )
    .await?;
    let lifetime = i64::try_from(state.settings.auth.token_expiry).unwrap_or(i64::MAX);
    let (access_token, id_token) = mint_pair(
        state,
        &Mint {
            user: &user,
            client_id: &client.client_id,
            scope: &scope,
            auth_time: Some(grant.auth_time),
            nonce: grant.nonce.as_deref(),
            lifetime,
            family: Some(&family),
            pat: None,
        },
    )?;
    tracing::info!(target: "authserver::audit", user = %user.username, client = %client.client_id, "code exchanged");
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: lifetime,
        id_token,
        scope: scope.to_string(),
        refresh_token: Some(refresh),
    })
}
