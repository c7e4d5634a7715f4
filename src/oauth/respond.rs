//! Delivering authorization responses (shared by the sign-in and the consent page): the
//! code, or what a front-channel `response_type` asks for, at the client's redirect URI;
//! and the error pages of the browser sign-in.
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::crypto::{random_token, token_hash};
use crate::domain::authorize::AuthRequest;
use crate::domain::implicit;
use crate::domain::response_type::{FrontResponse, ResponseMode};
use crate::error::AppError;
use crate::state::AppState;
use crate::store::{CodeGrant, NewCode, User};
use crate::web;

pub(super) fn redirect(status: StatusCode, location: &str) -> Response {
    let mut response = status.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Delivers an authorization response: a redirect (`status`) for the query and fragment
/// modes, the self-submitting form for `form_post`.
pub(super) fn deliver(
    state: &AppState,
    status: StatusCode,
    response: Option<FrontResponse>,
) -> Response {
    let Some(response) = response else {
        return internal_page(
            state,
            AppError::Internal("an authorization response without a destination".into()),
        );
    };
    match response.location() {
        Some(location) => redirect(status, &location),
        None => web::form_post::page(&state.base_path, &response),
    }
}

pub(super) fn bad_request_page(state: &AppState, message: &str) -> Response {
    web::error_page(
        &state.base_path,
        StatusCode::BAD_REQUEST,
        "This sign-in request cannot be completed",
        message,
    )
}

pub(crate) fn internal_page(state: &AppState, e: AppError) -> Response {
    tracing::error!(error = %e, "sign-in failed");
    web::error_page(
        &state.base_path,
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "The server could not complete the sign-in.",
    )
}

/// The authorization response for a signed-in user: a code in the query, or what the
/// front-channel `response_type` asks for (`domain::implicit`).
pub(super) async fn respond(
    state: &AppState,
    request: &AuthRequest,
    user: &User,
    auth_time: i64,
) -> Result<FrontResponse, AppError> {
    let code = if request.response_type.has_code() {
        Some(store_code(state, request, user, auth_time).await?)
    } else {
        None
    };
    if request.response_type.is_front_channel() {
        return implicit::respond(state, request, user, auth_time, code.as_deref()).await;
    }
    let mut params: Vec<(String, String)> = Vec::new();
    if let Some(code) = code {
        params.push(("code".into(), code));
    }
    if let Some(s) = &request.state {
        params.push(("state".into(), s.clone()));
    }
    params.push(("iss".into(), state.issuer()));
    Ok(FrontResponse {
        redirect_uri: request.redirect(),
        mode: ResponseMode::Query,
        params,
    })
}

/// Stores a one-time code for `request` (only its hash) and returns it.
pub(super) async fn store_code(
    state: &AppState,
    request: &AuthRequest,
    user: &User,
    auth_time: i64,
) -> Result<String, AppError> {
    let now = state.now();
    let code = random_token();
    let hash = token_hash(&code);
    let lifetime = i64::try_from(state.settings.auth.code_expiry).unwrap_or(i64::MAX);
    let grant = CodeGrant {
        client_id: request.client_id.clone(),
        redirect_uri: request.redirect_uri.clone(),
        user_id: user.id,
        scope: request.scope.clone(),
        nonce: request.nonce.clone(),
        code_challenge: request.code_challenge.clone(),
        auth_time,
        generation: user.generation,
        expires_at: now.saturating_add(lifetime),
    };
    state
        .store
        .create_code(NewCode {
            code_hash: &hash,
            grant: &grant,
            now,
        })
        .await?;
    Ok(code)
}
