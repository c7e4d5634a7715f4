//! The role API (JSON), under the same rules as `/api/users` (a `management` PAT of an
//! administrator).
//!
//! | request | success |
//! |---|---|
//! | `GET /api/roles` | 200, every role (built in and defined) |
//! | `POST /api/roles` `{"name","description"?}` | 201, the role |
//! | `DELETE /api/roles/{name}` | 204 (its holders lose it) |
//! | `PUT /api/users/{username}/roles` `{"roles":[…]}` | 200, the user |
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, put};
use axum::Router;
use serde::Serialize;

use crate::domain::roles;
use crate::error::AppError;
use crate::oauth::management::{
    field_error, json_object, json_response, optional_roles, optional_text, required_text, Admin,
    UserJson,
};
use crate::state::AppState;
use crate::store::RoleRow;

/// Routes of the role API.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/roles", get(list).post(create))
        .route("/api/roles/{name}", delete(remove))
        .route("/api/users/{username}/roles", put(set_user_roles))
}

#[derive(Debug, Serialize)]
struct RoleJson<'a> {
    name: &'a str,
    description: &'a str,
    built_in: bool,
}

impl<'a> From<&'a RoleRow> for RoleJson<'a> {
    fn from(r: &'a RoleRow) -> Self {
        RoleJson {
            name: &r.name,
            description: &r.description,
            built_in: roles::BUILT_IN.contains(&r.name.as_str()),
        }
    }
}

async fn list(Admin(_): Admin, State(state): State<AppState>) -> Result<Response, AppError> {
    let all = roles::list(&state.store).await?;
    let body: Vec<RoleJson<'_>> = all.iter().map(RoleJson::from).collect();
    Ok(json_response(StatusCode::OK, &body))
}

async fn create(
    Admin(admin): Admin,
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    let obj = json_object(&headers, &body, &["name", "description"])?;
    let name = required_text(&obj, "name")?;
    let description = optional_text(&obj, "description")?.unwrap_or_default();
    let role = roles::define(&state.store, &name, &description, state.now()).await?;
    tracing::info!(target: "authserver::audit", admin = %admin.username, role = %role.name, "role defined");
    Ok(json_response(StatusCode::CREATED, &RoleJson::from(&role)))
}

async fn remove(
    Admin(admin): Admin,
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Response, AppError> {
    let holders = roles::remove(&state.store, &name, state.now()).await?;
    state.sync_revocations().await;
    tracing::info!(target: "authserver::audit", admin = %admin.username, role = %name, holders = holders.len(), "role removed");
    let mut r = StatusCode::NO_CONTENT.into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

async fn set_user_roles(
    Admin(admin): Admin,
    State(state): State<AppState>,
    Path(username): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    let obj = json_object(&headers, &body, &["roles"])?;
    let wanted =
        optional_roles(&obj, "roles")?.ok_or_else(|| field_error("roles", "roles is required"))?;
    let user = state
        .store
        .user_by_name(&username)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("user {username:?}")))?;
    let user = roles::set(&state.store, &user, wanted, state.now()).await?;
    state.sync_revocations().await;
    tracing::info!(target: "authserver::audit", admin = %admin.username, user = %user.username, roles = %user.roles.join(" "), "roles set");
    Ok(json_response(StatusCode::OK, &UserJson::from(&user)))
}
