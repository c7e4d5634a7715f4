//! The user-administration API (JSON) under `/api/users`, for personal access tokens of
//! scope `management` whose owner is an administrator.
//!
//! | request | success |
//! |---|---|
//! | `GET /api/users` | 200, every person (service accounts: `/api/service-accounts`) |
//! | `POST /api/users` `{"username","password","name"?,"email"?,"admin"?,"roles"?}` | 201, the user |
//! | `POST /api/users/{username}/disable`, `/enable` | 200, the user |
//! | `DELETE /api/users/{username}/pats/{id}` | 204 |
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::domain::pat::{self, PatScope};
use crate::domain::roles;
use crate::domain::tokens::validate_jwt;
use crate::error::AppError;
use crate::oauth::userinfo::token_from_header;
use crate::password;
use crate::state::AppState;
use crate::store::{NewUser, User, ADMIN_ROLE};
use crate::web::extract::header_str;

/// Routes of the management API.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/users", get(list_users).post(create_user))
        .route("/api/users/{username}/disable", post(disable_user))
        .route("/api/users/{username}/enable", post(enable_user))
        .route("/api/users/{username}/pats/{id}", delete(revoke_pat))
}

/// The administrator a request acts for: the owner of a live `management` PAT who still
/// has the role `admin`.
#[derive(Debug)]
pub struct Admin(pub std::sync::Arc<User>);

impl FromRequestParts<AppState> for Admin {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        authorize(state, &parts.headers).await
    }
}

async fn authorize(state: &AppState, headers: &HeaderMap) -> Result<Admin, AppError> {
    let token = token_from_header(headers)?.ok_or_else(|| {
        AppError::InvalidToken("send a personal access token of scope management".into())
    })?;
    if !pat::looks_like_pat(token) {
        // a valid JWT is the right person with the wrong kind of credential
        validate_jwt(state, token).await?;
        return Err(AppError::InsufficientScope(
            "this API needs a personal access token of scope management".into(),
        ));
    }
    let valid = pat::validate(&state.store, &state.revocations, token, state.now()).await?;
    if valid.record.scope != PatScope::Management {
        return Err(AppError::InsufficientScope(
            "this API needs a personal access token of scope management".into(),
        ));
    }
    if !valid.user.has_role(ADMIN_ROLE) {
        return Err(AppError::InsufficientScope(
            "the owner of this token is not an administrator".into(),
        ));
    }
    Ok(Admin(valid.user))
}

/// A user as the API shows it.
#[derive(Debug, Serialize)]
pub(crate) struct UserJson<'a> {
    username: &'a str,
    name: Option<&'a str>,
    email: Option<&'a str>,
    admin: bool,
    roles: &'a [String],
    disabled: bool,
    /// the identity source of a just-in-time user (absent for a local user)
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<&'a str>,
}

impl<'a> From<&'a User> for UserJson<'a> {
    fn from(u: &'a User) -> Self {
        UserJson {
            username: &u.username,
            name: u.name.as_deref(),
            email: u.email.as_deref(),
            admin: u.admin,
            roles: &u.roles,
            disabled: u.disabled,
            source: u.source.as_deref(),
        }
    }
}

pub(crate) fn json_response<T: Serialize>(status: StatusCode, value: &T) -> Response {
    let mut r = (status, Json(value)).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

async fn list_users(Admin(_): Admin, State(state): State<AppState>) -> Result<Response, AppError> {
    let users = state.store.list_users().await?;
    // service accounts are listed apart (`/api/service-accounts`)
    let body: Vec<UserJson<'_>> = users
        .iter()
        .filter(|u| !u.service_account)
        .map(UserJson::from)
        .collect();
    Ok(json_response(StatusCode::OK, &body))
}

/// A validated `POST /api/users` body.
struct CreateRequest {
    username: String,
    password: String,
    name: Option<String>,
    email: Option<String>,
    admin: bool,
    roles: Option<Vec<String>>,
}

impl std::fmt::Debug for CreateRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateRequest")
            .field("username", &self.username)
            .field("admin", &self.admin)
            .finish_non_exhaustive()
    }
}

const FIELDS: [&str; 6] = ["username", "password", "name", "email", "admin", "roles"];

pub(crate) fn field_error(field: &str, description: impl Into<String>) -> AppError {
    AppError::InvalidField(field.to_string(), description.into())
}

pub(crate) fn optional_text(
    obj: &Map<String, Value>,
    field: &str,
) -> Result<Option<String>, AppError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_string()).filter(|s| !s.is_empty())),
        Some(_) => Err(field_error(field, format!("{field} must be a string"))),
    }
}

pub(crate) fn required_text(obj: &Map<String, Value>, field: &str) -> Result<String, AppError> {
    match obj.get(field) {
        Some(Value::String(s)) => Ok(s.clone()),
        None | Some(Value::Null) => Err(field_error(field, format!("{field} is required"))),
        Some(_) => Err(field_error(field, format!("{field} must be a string"))),
    }
}

fn plain_text(s: &str, max: usize) -> bool {
    s.chars().count() <= max && !s.chars().any(char::is_control)
}

/// A plausible e-mail address: one `@` with text on both sides, a dot in the domain, no
/// spaces. (Whether it receives mail is not this server's business.)
fn plausible_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    s.len() <= 254
        && !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// A JSON object request body with only the `fields` given (400 otherwise).
pub(crate) fn json_object(
    headers: &HeaderMap,
    body: &[u8],
    fields: &[&str],
) -> Result<Map<String, Value>, AppError> {
    if let Some(ct) = header_str(headers, header::CONTENT_TYPE.as_str()) {
        if !ct.to_ascii_lowercase().starts_with("application/json") {
            return Err(AppError::InvalidRequest(
                "the request body must be application/json".into(),
            ));
        }
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|_| AppError::InvalidRequest("the request body is not valid JSON".into()))?;
    let Value::Object(obj) = value else {
        return Err(AppError::InvalidRequest(
            "the request body must be a JSON object".into(),
        ));
    };
    if let Some(unknown) = obj.keys().find(|k| !fields.contains(&k.as_str())) {
        return Err(field_error(
            unknown,
            format!(
                "unknown field {unknown:?}; expected one of {}",
                fields.join(", ")
            ),
        ));
    }
    Ok(obj)
}

/// An optional list of role names (`null` or absent: none given).
pub(crate) fn optional_roles(
    obj: &Map<String, Value>,
    field: &str,
) -> Result<Option<Vec<String>>, AppError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                _ => Err(field_error(
                    field,
                    format!("{field} must be a list of role names"),
                )),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(field_error(
            field,
            format!("{field} must be a list of role names"),
        )),
    }
}

impl CreateRequest {
    fn parse(headers: &HeaderMap, body: &[u8]) -> Result<CreateRequest, AppError> {
        let obj = json_object(headers, body, &FIELDS)?;
        let username = required_text(&obj, "username")?;
        password::check_username(&username).map_err(|e| field_error("username", e))?;
        let password = required_text(&obj, "password")?;
        password::check_policy(&password).map_err(|e| field_error("password", e))?;
        let name = optional_text(&obj, "name")?;
        if name.as_deref().is_some_and(|n| !plain_text(n, 200)) {
            return Err(field_error(
                "name",
                "the name must have at most 200 characters and no control characters",
            ));
        }
        let email = optional_text(&obj, "email")?;
        if email.as_deref().is_some_and(|e| !plausible_email(e)) {
            return Err(field_error("email", "the e-mail address is not valid"));
        }
        let admin = match obj.get("admin") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(field_error("admin", "admin must be true or false")),
        };
        let roles = optional_roles(&obj, "roles")?;
        Ok(CreateRequest {
            username,
            password,
            name,
            email,
            admin,
            roles,
        })
    }
}

async fn create_user(
    Admin(admin): Admin,
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    let request = CreateRequest::parse(&headers, &body)?;
    if state.store.user_by_name(&request.username).await?.is_some() {
        return Err(AppError::Conflict(format!(
            "user {:?} already exists",
            request.username
        )));
    }
    for role in request.roles.iter().flatten() {
        if !roles::exists(&state.store, role).await? {
            return Err(field_error(
                "roles",
                format!("there is no role {role:?} (define it first)"),
            ));
        }
    }
    let password_hash = password::hash_async(request.password)
        .await
        .map_err(AppError::Internal)?;
    let user = state
        .store
        .create_user(
            &NewUser {
                username: request.username,
                password_hash,
                name: request.name,
                email: request.email,
                admin: request.admin,
            },
            state.now(),
        )
        .await?;
    let user = match request.roles {
        // the roles given (with `admin` when the flag says so; checked above)
        Some(mut roles) => {
            if request.admin {
                roles.push(ADMIN_ROLE.to_string());
            }
            roles::set(&state.store, &user, roles, state.now()).await?
        }
        None => user,
    };
    tracing::info!(target: "authserver::audit", admin = %admin.username, user = %user.username, "user created");
    Ok(json_response(StatusCode::CREATED, &UserJson::from(&user)))
}

async fn set_disabled(
    state: &AppState,
    admin: &User,
    username: &str,
    disabled: bool,
) -> Result<Response, AppError> {
    let user = state
        .store
        .set_disabled(username, disabled, state.now())
        .await?;
    state.sync_revocations().await;
    tracing::info!(target: "authserver::audit", admin = %admin.username, user = %user.username,
        "{}", if disabled { "user disabled" } else { "user enabled" });
    Ok(json_response(StatusCode::OK, &UserJson::from(&user)))
}

async fn disable_user(
    Admin(admin): Admin,
    State(state): State<AppState>,
    Path(username): Path<String>,
) -> Result<Response, AppError> {
    set_disabled(&state, &admin, &username, true).await
}

async fn enable_user(
    Admin(admin): Admin,
    State(state): State<AppState>,
    Path(username): Path<String>,
) -> Result<Response, AppError> {
    set_disabled(&state, &admin, &username, false).await
}

async fn revoke_pat(
    Admin(admin): Admin,
    State(state): State<AppState>,
    Path((username, id)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let not_found = || {
        AppError::NotFound(format!(
            "user {username:?} has no personal access token {id:?}"
        ))
    };
    let user = state
        .store
        .user_by_name(&username)
        .await?
        .ok_or_else(not_found)?;
    state
        .store
        .revoke_pat(&id, Some(user.id), state.now())
        .await?
        .ok_or_else(not_found)?;
    state.sync_revocations().await;
    tracing::info!(target: "authserver::audit", admin = %admin.username, user = %user.username, pat = %id, "personal access token revoked");
    let mut r = StatusCode::NO_CONTENT.into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}
