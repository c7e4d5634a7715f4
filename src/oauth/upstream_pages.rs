//! The answers the upstream sign-in shares between the login page's straight redirect
//! (`oauth::authorize`) and its own routes (`oauth::upstream`): the redirect to a provider
//! with the browser's key, and the page for a failed sign-in.
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::domain::upstream::{self, UpstreamError, BROWSER_COOKIE, LOGIN_TTL};
use crate::state::AppState;
use crate::web;

fn display_name(state: &AppState, name: &str) -> String {
    state.settings.upstream.provider(name).map_or_else(
        || "The sign-in provider".to_owned(),
        |p| p.display_name.clone(),
    )
}

/// The page for a failed upstream sign-in, and its log line (no session is made).
pub(crate) fn failure(state: &AppState, name: &str, e: &UpstreamError) -> Response {
    match e {
        UpstreamError::Internal(cause) => {
            tracing::error!(provider = %name, error = %cause, "upstream sign-in failed")
        }
        _ => tracing::warn!(
            target: "authserver::audit",
            provider = %name,
            error = %e,
            "upstream sign-in refused"
        ),
    }
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
    web::error_page(
        &state.base_path,
        status,
        "You are not signed in",
        &e.message(&display_name(state, name)),
    )
}

/// `Set-Cookie` of the browser's key to its upstream sign-ins (`Lax`: it must come back
/// with the provider's redirect to the callback).
pub(crate) fn browser_cookie(state: &AppState, key: &str) -> String {
    web::set_cookie(
        BROWSER_COOKIE,
        key,
        &format!("{}/upstream", state.base_path),
        state.secure_cookies,
        "Lax",
        Some(LOGIN_TTL),
    )
}

/// A redirect to the provider with the browser's key.
pub(crate) fn to_provider(state: &AppState, begun: &upstream::Begun) -> Response {
    let mut response = StatusCode::FOUND.into_response();
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&begun.location) {
        headers.insert(header::LOCATION, v);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&browser_cookie(state, &begun.browser_key)) {
        headers.append(header::SET_COOKIE, v);
    }
    response
}
