//! The service-account API (JSON; Patchworks' "API keys"), under the same rules as
//! `/api/users` (a `management` PAT of an administrator). A service account's key is
//! shown once, in the answer that creates or rotates it.
//!
//! | request | success |
//! |---|---|
//! | `GET /api/service-accounts` | 200, every service account and its key's id |
//! | `POST /api/service-accounts` `{"username","name"?}` | 201, the account and its `key` |
//! | `POST /api/service-accounts/{username}/key` | 200, a new `key` (the old one is revoked) |
//! | `DELETE /api/service-accounts/{username}` | 204 (its key and tokens are revoked) |
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::Router;
use serde::Serialize;

use crate::domain::pat::IssuedPat;
use crate::domain::service_accounts;
use crate::error::AppError;
use crate::oauth::management::{json_object, json_response, optional_text, required_text, Admin};
use crate::state::AppState;
use crate::store::User;

/// Routes of the service-account API.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/service-accounts", get(list).post(create))
        .route("/api/service-accounts/{username}", delete(remove))
        .route("/api/service-accounts/{username}/key", post(rotate))
}

#[derive(Debug, Serialize)]
struct AccountJson<'a> {
    username: &'a str,
    name: Option<&'a str>,
    roles: &'a [String],
    disabled: bool,
    /// The live key's id (for `DELETE /api/users/{username}/pats/{id}`).
    key_id: Option<&'a str>,
    /// The key itself: only in the answer that made it.
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<&'a str>,
}

fn account_json<'a>(
    user: &'a User,
    key_id: Option<&'a str>,
    key: Option<&'a IssuedPat>,
) -> AccountJson<'a> {
    AccountJson {
        username: &user.username,
        name: user.name.as_deref(),
        roles: &user.roles,
        disabled: user.disabled,
        key_id: key.map(|k| k.id.as_str()).or(key_id),
        key: key.map(|k| k.token.expose()),
    }
}

async fn list(Admin(_): Admin, State(state): State<AppState>) -> Result<Response, AppError> {
    let accounts = service_accounts::list(&state.store, state.now()).await?;
    let body: Vec<AccountJson<'_>> = accounts
        .iter()
        .map(|a| account_json(&a.user, a.key.as_ref().map(|k| k.id.as_str()), None))
        .collect();
    Ok(json_response(StatusCode::OK, &body))
}

async fn create(
    Admin(admin): Admin,
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    let obj = json_object(&headers, &body, &["username", "name"])?;
    let username = required_text(&obj, "username")?;
    let name = optional_text(&obj, "name")?;
    let (user, key) =
        service_accounts::create(&state.store, &username, name.as_deref(), state.now()).await?;
    tracing::info!(target: "authserver::audit", admin = %admin.username, user = %user.username, "service account created");
    Ok(json_response(
        StatusCode::CREATED,
        &account_json(&user, None, Some(&key)),
    ))
}

async fn rotate(
    Admin(admin): Admin,
    State(state): State<AppState>,
    Path(username): Path<String>,
) -> Result<Response, AppError> {
    let key = service_accounts::rotate(&state.store, &username, state.now()).await?;
    state.sync_revocations().await;
    let user = service_accounts::find(&state.store, &username).await?;
    tracing::info!(target: "authserver::audit", admin = %admin.username, user = %user.username, "service account key rotated");
    Ok(json_response(
        StatusCode::OK,
        &account_json(&user, None, Some(&key)),
    ))
}

async fn remove(
    Admin(admin): Admin,
    State(state): State<AppState>,
    Path(username): Path<String>,
) -> Result<Response, AppError> {
    let user = service_accounts::remove(&state.store, &username, state.now()).await?;
    state.sync_revocations().await;
    tracing::info!(target: "authserver::audit", admin = %admin.username, user = %user.username, "service account removed");
    let mut r = StatusCode::NO_CONTENT.into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}
