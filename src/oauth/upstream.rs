//! `GET /upstream/<name>/start` and `GET /upstream/<name>/callback`: signing in through an
//! upstream OpenID Connect provider ("Sign in with …" on the login page). The protocol is
//! in `domain::upstream`; the end is the same as a password sign-in's
//! (`authorize::complete_sign_in`).
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use crate::domain::params::Params;
use crate::domain::upstream::{self, UpstreamError, BROWSER_COOKIE};
use crate::oauth::authorize;
use crate::oauth::device_cookie;
use crate::oauth::upstream_pages::{failure, to_provider};
use crate::state::AppState;
use crate::web;

/// Routes of the upstream sign-in.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/upstream/{name}/start", get(start))
        .route("/upstream/{name}/callback", get(callback))
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
    let csrf = match authorize::open_link(&state, &headers, rid) {
        Ok(csrf) => csrf,
        Err(page) => return *page,
    };
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
    let device = device_cookie::presented_or_new(&headers);
    match authorize::complete_sign_in(&state, &headers, &request, &finished.user, false, &device)
        .await
    {
        Ok(r) => r,
        Err(e) => failure(&state, &name, &UpstreamError::Internal(e)),
    }
}
