//! `POST /api/introspect` (RFC 7662) and `POST /api/revoke` (RFC 7009).
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::crypto::token_hash;
use crate::domain::client_auth::{AuthenticatedClient, ClientId};
use crate::domain::params::Params;
use crate::domain::pat::looks_like_pat;
use crate::domain::tokens::validate_token;
use crate::error::AppError;
use crate::oauth::userinfo::introspection_json;
use crate::state::AppState;
use crate::web::extract::{header_str, require_form};

/// Routes of these endpoints.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/introspect", post(introspect))
        .route("/api/revoke", post(revoke))
}

async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    params: &Params,
) -> Result<AuthenticatedClient, AppError> {
    crate::domain::clients::auth::authenticate_request(
        state,
        header_str(headers, "x-auth-secret"),
        header_str(headers, header::AUTHORIZATION.as_str()),
        params,
        false,
        ClientId::Optional,
    )
    .await
}

fn no_store(value: Value) -> Response {
    let mut r = Json(value).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// Whether a string is shaped like a JWT (three base64url parts).
fn looks_like_jwt(token: &str) -> bool {
    token.split('.').count() == 3
}

async fn introspect(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    require_form(&headers)?;
    let params = Params::parse(&body);
    authenticate(&state, &headers, &params).await?;
    let token = params.require("token")?;
    Ok(no_store(introspect_token(&state, token).await?))
}

/// The RFC 7662 answer for any token string.
pub async fn introspect_token(state: &AppState, token: &str) -> Result<Value, AppError> {
    let inactive = json!({"active": false});
    if token.len() > 8192 {
        return Ok(inactive);
    }
    if looks_like_jwt(token) || looks_like_pat(token) {
        return Ok(match validate_token(state, token).await {
            Ok(valid) => introspection_json(&valid),
            Err(AppError::InvalidToken(_)) => inactive,
            Err(e) => return Err(e),
        });
    }
    let now = state.now();
    let Some(info) = state.store.refresh_info(&token_hash(token)).await? else {
        return Ok(inactive);
    };
    let user = state.revocations.user(&state.store, &info.username).await?;
    let live = info.spent_at.is_none()
        && info.revoked_at.is_none()
        && info.expires_at > now
        && user.is_some_and(|u| !u.disabled);
    if !live {
        return Ok(inactive);
    }
    Ok(json!({
        "active": true,
        "sub": info.username,
        "username": info.username,
        "client_id": info.client_id,
        "aud": info.client_id,
        "scope": info.scope,
        "iat": info.created_at,
        "exp": info.expires_at,
        "token_type": "refresh_token",
    }))
}

#[derive(serde::Deserialize)]
struct RevocableClaims {
    iss: String,
    aud: String,
    exp: i64,
    #[serde(default)]
    jti: Option<String>,
    #[serde(default)]
    fam: Option<String>,
}

async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    require_form(&headers)?;
    let params = Params::parse(&body);
    let client = authenticate(&state, &headers, &params).await?;
    let token = params.require("token")?;
    let now = state.now();
    let wrong_client =
        || AppError::UnauthorizedClient("the token was issued to another client".into());
    if looks_like_jwt(token) {
        // any token we signed, expired or not; revoking an expired one changes nothing
        if let Ok((_, c)) = state.keys.verify_fresh::<RevocableClaims>(token, now).await {
            if c.iss == state.issuer() && c.exp > now {
                if !client.client_id.is_empty() && c.aud != client.client_id {
                    return Err(wrong_client());
                }
                if let Some(fam) = &c.fam {
                    state.store.revoke_family(fam, now).await?;
                } else if let Some(jti) = &c.jti {
                    state.store.add_event("jti", jti, now, c.exp).await?;
                }
                state.sync_revocations().await;
                tracing::info!(target: "authserver::audit", client = %client.client_id, "token revoked");
            }
        }
    } else if let Some(info) = state.store.refresh_info(&token_hash(token)).await? {
        if !client.client_id.is_empty() && info.client_id != client.client_id {
            return Err(wrong_client());
        }
        state.store.revoke_family(&info.family_id, now).await?;
        state.sync_revocations().await;
        tracing::info!(target: "authserver::audit", client = %client.client_id, "refresh token family revoked");
    }
    // RFC 7009 §2.2: 200 also for unknown or already invalid tokens
    let mut r = ().into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}
