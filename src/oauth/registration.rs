//! Dynamic client registration: `POST /api/oidc/register` (RFC 7591) and the client
//! configuration endpoint `GET/PUT/DELETE /api/oidc/register/{client_id}` (RFC 7592),
//! enabled by `authentication.registration.mode` (`off`: 404 and absent from discovery).
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Map, Value};

use crate::config::RegistrationMode;
use crate::domain::clients::registration::{self, RegistrationError, MAX_BODY};
use crate::domain::clients::{self, NewSecret, RegisteredClient};
use crate::error::AppError;
use crate::oauth::userinfo::token_from_header;
use crate::state::AppState;
use crate::web::extract::{header_str, ClientIp};

/// The registration endpoint (discovery's `registration_endpoint`).
pub const REGISTER_PATH: &str = "/api/oidc/register";

/// Routes of dynamic registration.
pub fn router() -> Router<AppState> {
    Router::new().route(REGISTER_PATH, post(register)).route(
        "/api/oidc/register/{client_id}",
        axum::routing::get(read).put(update).delete(remove),
    )
}

fn mode(state: &AppState) -> Result<RegistrationMode, AppError> {
    match state.settings.auth.registration_mode {
        RegistrationMode::Off => Err(AppError::NotFound(
            "dynamic client registration is off".into(),
        )),
        m => Ok(m),
    }
}

fn client_uri(state: &AppState, client_id: &str) -> String {
    let id: String = url::form_urlencoded::byte_serialize(client_id.as_bytes()).collect();
    format!("{}{REGISTER_PATH}/{id}", state.issuer())
}

fn json_response(status: StatusCode, value: &Value) -> Response {
    let mut r = (status, Json(value)).into_response();
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    r
}

fn api_error(e: RegistrationError) -> AppError {
    match e {
        RegistrationError::Metadata(m) => AppError::InvalidMetadata(m.code(), m.to_string()),
        RegistrationError::Token => AppError::InvalidToken(e.to_string()),
        RegistrationError::Store(s) => s.into(),
    }
}

/// The JSON object of a registration or update request.
fn metadata_object(headers: &HeaderMap, body: &[u8]) -> Result<Map<String, Value>, AppError> {
    if body.len() > MAX_BODY {
        return Err(AppError::InvalidMetadata(
            "invalid_client_metadata",
            format!("the request body is larger than {MAX_BODY} bytes"),
        ));
    }
    let json = header_str(headers, header::CONTENT_TYPE.as_str())
        .is_some_and(|ct| ct.to_ascii_lowercase().starts_with("application/json"));
    if !json {
        return Err(AppError::InvalidMetadata(
            "invalid_client_metadata",
            "the request body must be application/json".into(),
        ));
    }
    match serde_json::from_slice(body) {
        Ok(Value::Object(obj)) => Ok(obj),
        _ => Err(AppError::InvalidMetadata(
            "invalid_client_metadata",
            "the request body must be a JSON object".into(),
        )),
    }
}

fn bearer(headers: &HeaderMap) -> Result<&str, AppError> {
    token_from_header(headers)?
        .ok_or_else(|| AppError::InvalidToken("an access token is required".into()))
}

async fn register(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    let open = mode(&state)? == RegistrationMode::Open;
    let initial_token = if open {
        state
            .registration_limits
            .check(ip, state.now())
            .map_err(AppError::Throttled)?;
        None
    } else {
        Some(bearer(&headers)?)
    };
    let obj = metadata_object(&headers, &body)?;
    let (client, secret, access_token) = registration::register(
        &state.store,
        &state.settings,
        &obj,
        initial_token,
        state.now(),
    )
    .await
    .map_err(api_error)?;
    if open {
        state.registration_limits.record(ip, state.now());
    }
    let uri = client_uri(&state, &client.client_id);
    let body = registration::response(&client, &uri, secret.as_ref(), Some(&access_token));
    Ok(json_response(StatusCode::CREATED, &body))
}

async fn managed(
    state: &AppState,
    headers: &HeaderMap,
    client_id: &str,
) -> Result<RegisteredClient, AppError> {
    mode(state)?;
    let token = bearer(headers)?;
    registration::managed_client(&state.store, client_id, token)
        .await
        .map_err(api_error)
}

fn answer(state: &AppState, client: &RegisteredClient, secret: Option<&NewSecret>) -> Response {
    let uri = client_uri(state, &client.client_id);
    json_response(
        StatusCode::OK,
        &registration::response(client, &uri, secret, None),
    )
}

async fn read(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(client_id): Path<String>,
) -> Result<Response, AppError> {
    let client = managed(&state, &headers, &client_id).await?;
    Ok(answer(&state, &client, None))
}

async fn update(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(client_id): Path<String>,
    body: Bytes,
) -> Result<Response, AppError> {
    let client = managed(&state, &headers, &client_id).await?;
    let obj = metadata_object(&headers, &body)?;
    let (client, secret) =
        registration::replace(&state.store, &state.settings, &client, &obj, state.now())
            .await
            .map_err(api_error)?;
    tracing::info!(target: "authserver::audit", client = %client.client_id, "dynamically registered client updated by itself");
    Ok(answer(&state, &client, secret.as_ref()))
}

async fn remove(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(client_id): Path<String>,
) -> Result<Response, AppError> {
    let client = managed(&state, &headers, &client_id).await?;
    clients::remove(
        &state.store,
        &state.settings,
        &client.client_id,
        state.now(),
    )
    .await?;
    state.sync_revocations().await;
    tracing::info!(target: "authserver::audit", client = %client.client_id, "dynamically registered client deleted by itself");
    let mut r = StatusCode::NO_CONTENT.into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}
