//! The client-administration API (JSON) under `/api/clients`, for personal access tokens
//! of scope `management` whose owner is an administrator (the same rules as `/api/users`).
//!
//! | request | success |
//! |---|---|
//! | `GET /api/clients` | 200, every client (never a secret) |
//! | `POST /api/clients` metadata + optional `client_id` | 201, the client and its `client_secret` (once) |
//! | `GET /api/clients/{id}` | 200, the client |
//! | `PATCH /api/clients/{id}` metadata fields to change | 200, the client |
//! | `DELETE /api/clients/{id}` | 204; every token of the client is revoked |
//! | `POST /api/clients/{id}/secrets` `{"overlap_seconds"?}` | 201, the new `client_secret` (once) |
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Map, Value};

use crate::domain::clients::{self, ClientError, MetadataDraft, NewSecret};
use crate::error::AppError;
use crate::oauth::management::Admin;
use crate::state::AppState;
use crate::web::extract::header_str;

/// Routes of the client-administration API.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/clients", get(list).post(create))
        .route(
            "/api/clients/{client_id}",
            get(show).patch(update).put(update).delete(remove),
        )
        .route("/api/clients/{client_id}/secrets", post(rotate))
}

fn json_response(status: StatusCode, value: &Value) -> Response {
    let mut r = (status, Json(value)).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn api_error(e: ClientError) -> AppError {
    match e {
        ClientError::Metadata(m) => AppError::InvalidField(m.field.to_string(), m.message),
        ClientError::ClientId(m) => AppError::InvalidField("client_id".into(), m),
        ClientError::Exists(_) => AppError::Conflict(e.to_string()),
        ClientError::NotFound(_) => AppError::NotFound(e.to_string()),
        ClientError::Store(s) => s.into(),
    }
}

fn json_object(headers: &HeaderMap, body: &[u8]) -> Result<Map<String, Value>, AppError> {
    if let Some(ct) = header_str(headers, header::CONTENT_TYPE.as_str()) {
        if !ct.to_ascii_lowercase().starts_with("application/json") {
            return Err(AppError::InvalidRequest(
                "the request body must be application/json".into(),
            ));
        }
    }
    if body.is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_slice(body) {
        Ok(Value::Object(obj)) => Ok(obj),
        Ok(_) => Err(AppError::InvalidRequest(
            "the request body must be a JSON object".into(),
        )),
        Err(_) => Err(AppError::InvalidRequest(
            "the request body is not valid JSON".into(),
        )),
    }
}

fn draft(obj: Map<String, Value>) -> Result<MetadataDraft, AppError> {
    serde_json::from_value(Value::Object(obj)).map_err(|e| {
        // serde names the unknown or mistyped field in its message
        AppError::InvalidRequest(format!("the client metadata is not valid: {e}"))
    })
}

fn with_secret(mut v: Value, secret: Option<NewSecret>) -> Value {
    if let (Some(o), Some(s)) = (v.as_object_mut(), secret) {
        o.insert("client_secret".into(), s.expose().into());
    }
    v
}

async fn list(Admin(_): Admin, State(state): State<AppState>) -> Result<Response, AppError> {
    let all: Vec<Value> = clients::list(&state.store)
        .await?
        .iter()
        .map(|c| c.to_json())
        .collect();
    Ok(json_response(StatusCode::OK, &Value::Array(all)))
}

async fn create(
    Admin(admin): Admin,
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    let mut obj = json_object(&headers, &body)?;
    let client_id = match obj.remove("client_id") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(_) => {
            return Err(AppError::InvalidField(
                "client_id".into(),
                "client_id must be a string".into(),
            ))
        }
    };
    let draft = draft(obj)?;
    let (client, secret) = clients::create(
        &state.store,
        &state.settings,
        client_id.as_deref(),
        draft,
        false,
        state.now(),
    )
    .await
    .map_err(api_error)?;
    tracing::info!(target: "authserver::audit", admin = %admin.username, client = %client.client_id, "client registered");
    Ok(json_response(
        StatusCode::CREATED,
        &with_secret(client.to_json(), secret),
    ))
}

async fn show(
    Admin(_): Admin,
    State(state): State<AppState>,
    Path(client_id): Path<String>,
) -> Result<Response, AppError> {
    let client = clients::find(&state.store, &client_id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("client {client_id:?} not found")))?;
    Ok(json_response(StatusCode::OK, &client.to_json()))
}

async fn update(
    Admin(admin): Admin,
    State(state): State<AppState>,
    Path(client_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    let obj = json_object(&headers, &body)?;
    if obj.contains_key("client_id") {
        return Err(AppError::InvalidField(
            "client_id".into(),
            "a client ID cannot be changed".into(),
        ));
    }
    let patch = draft(obj)?;
    let (client, secret) = clients::update(
        &state.store,
        &state.settings,
        &client_id,
        patch,
        state.now(),
    )
    .await
    .map_err(api_error)?;
    state.sync_revocations().await;
    tracing::info!(target: "authserver::audit", admin = %admin.username, client = %client_id, "client updated");
    Ok(json_response(
        StatusCode::OK,
        &with_secret(client.to_json(), secret),
    ))
}

async fn remove(
    Admin(admin): Admin,
    State(state): State<AppState>,
    Path(client_id): Path<String>,
) -> Result<Response, AppError> {
    if !clients::remove(&state.store, &state.settings, &client_id, state.now()).await? {
        return Err(AppError::NotFound(format!(
            "client {client_id:?} not found"
        )));
    }
    state.sync_revocations().await;
    tracing::info!(target: "authserver::audit", admin = %admin.username, client = %client_id, "client removed; its tokens are revoked");
    let mut r = StatusCode::NO_CONTENT.into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

async fn rotate(
    Admin(admin): Admin,
    State(state): State<AppState>,
    Path(client_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    let obj = json_object(&headers, &body)?;
    let overlap = match obj.get("overlap_seconds") {
        None | Some(Value::Null) => clients::DEFAULT_OVERLAP,
        Some(v) => v
            .as_i64()
            .filter(|n| (0..=366 * 86_400).contains(n))
            .ok_or_else(|| {
                AppError::InvalidField(
                    "overlap_seconds".into(),
                    "overlap_seconds must be a whole number of seconds up to a year".into(),
                )
            })?,
    };
    if let Some(unknown) = obj.keys().find(|k| *k != "overlap_seconds") {
        return Err(AppError::InvalidField(
            unknown.clone(),
            format!("unknown field {unknown:?}; expected overlap_seconds"),
        ));
    }
    let now = state.now();
    let secret = clients::rotate_secret(&state.store, &client_id, overlap, now)
        .await
        .map_err(api_error)?;
    state.sync_revocations().await;
    tracing::info!(target: "authserver::audit", admin = %admin.username, client = %client_id, "client secret rotated");
    Ok(json_response(
        StatusCode::CREATED,
        &json!({
            "client_id": client_id,
            "client_secret": secret.expose(),
            "previous_secrets_expire_at": now.saturating_add(overlap),
        }),
    ))
}
