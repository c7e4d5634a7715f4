//! `GET /upstream/<name>/start` and `GET /upstream/<name>/callback`: signing in through an
//! upstream OpenID Connect provider ("Sign in with …" on the login page). The protocol is
//! in `domain::upstream`; the end is the same as a password sign-in's
//! (`authorize::complete_sign_in`).
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::domain::params::Params;
use crate::domain::pending::PendingError;
use crate::domain::upstream::{self, UpstreamError, BROWSER_COOKIE, LOGIN_TTL};
use crate::oauth::authorize;
use crate::state::AppState;
use crate::web;

/// Routes of the upstream sign-in.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/upstream/{name}/start", get(start))
        .route("/upstream/{name}/callback", get(callback))
}

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

async fn start(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::parse(query.unwrap_or_default().as_bytes());
    let rid = params.get("rid").ok().flatten().unwrap_or_default();
    // the login page's own browser: its CSRF cookie opens the pending request
    let Some(csrf) = web::csrf_cookie(&headers, state.secure_cookies) else {
        return web::error_page(
            &state.base_path,
            StatusCode::FORBIDDEN,
            "Your sign-in page has expired",
            "The sign-in did not start from this browser's sign-in page (cookies may be blocked).",
        );
    };
    if let Err(e) = state.pending.open(rid, csrf, state.now()) {
        let message = match e {
            PendingError::Expired => {
                "This sign-in request has expired. Go back to the application and sign in again."
            }
            PendingError::Invalid => {
                "This sign-in link was altered or started in another browser. Go back to the \
                 application and sign in again."
            }
        };
        return web::error_page(
            &state.base_path,
            StatusCode::BAD_REQUEST,
            "This sign-in request cannot be completed",
            message,
        );
    }
    let browser = web::cookie(&headers, BROWSER_COOKIE);
    match upstream::begin(&state, &name, rid, csrf, browser).await {
        Ok(begun) => to_provider(&state, &begun),
        Err(e) => failure(&state, &name, &e),
    }
}

async fn callback(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::parse(query.unwrap_or_default().as_bytes());
    let browser = web::cookie(&headers, BROWSER_COOKIE);
    let finished = match upstream::finish(&state, &name, &params, browser).await {
        Ok(f) => f,
        Err(e) => return failure(&state, &name, &e),
    };
    let request = match state
        .pending
        .open(&finished.rid, &finished.csrf, state.now())
    {
        Ok(r) => r,
        Err(_) => {
            return web::error_page(
                &state.base_path,
                StatusCode::BAD_REQUEST,
                "This sign-in request has expired",
                "Go back to the application and sign in again.",
            )
        }
    };
    tracing::info!(
        target: "authserver::audit",
        provider = %name,
        user = %finished.user.username,
        "upstream sign-in verified"
    );
    // no "Stay signed in" box on the provider's pages: a session for this browser session
    match authorize::complete_sign_in(&state, &headers, &request, &finished.user, false).await {
        Ok(r) => r,
        Err(e) => failure(&state, &name, &UpstreamError::Internal(e)),
    }
}
