//! The SAML service provider's routes: `GET /saml2/metadata` (our metadata),
//! `GET /saml2/login?rid=…` (the login page's button: to the identity provider),
//! `POST /saml2/acs` (the assertion consumer) and `GET /saml2/continue?handle=…` (the
//! sign-in's end, as after a password sign-in). The protocol is in `domain::saml`.
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::domain::params::Params;
use crate::domain::saml::{self, SamlError, BROWSER_COOKIE};
use crate::oauth::authorize;
use crate::oauth::device_cookie;
use crate::oauth::saml_pages::{begin, failure, sp};
use crate::state::AppState;
use crate::web;

/// Routes of the SAML service provider (answer 404 while it is off).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/saml2/metadata", get(metadata))
        .route("/saml2/login", get(login))
        .route("/saml2/acs", post(acs))
        .route("/saml2/continue", get(finish))
}

async fn metadata(State(state): State<AppState>) -> Response {
    let Some(sp) = sp(&state) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/samlmetadata+xml"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("max-age=3600"),
            ),
        ],
        sp.metadata_xml.clone(),
    )
        .into_response()
}

async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    if sp(&state).is_none() {
        return StatusCode::NOT_FOUND.into_response();
    }
    let params = Params::parse(query.unwrap_or_default().as_bytes());
    let rid = params.get("rid").ok().flatten().unwrap_or_default();
    // the login page's own browser: its CSRF cookie opens the pending request
    let csrf = match authorize::open_link(&state, &headers, rid) {
        Ok(csrf) => csrf,
        Err(page) => return *page,
    };
    begin(&state, &headers, rid, csrf).await
}

/// The assertion consumer: a cross-site POST from the identity provider's page, so it
/// needs no cookie of ours; it ends in a redirect to `/saml2/continue`, a top-level GET
/// that carries the browser's key.
async fn acs(State(state): State<AppState>, body: Bytes) -> Response {
    let Some(sp) = sp(&state) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let form = Params::parse(&body);
    let (Ok(response), Ok(relay_state)) = (form.get("SAMLResponse"), form.get("RelayState")) else {
        return failure(
            &state,
            &SamlError::Malformed("a form field is repeated".into()),
        );
    };
    let Some(response) = response else {
        return failure(&state, &SamlError::Malformed("no SAMLResponse".into()));
    };
    match saml::consume(&state, sp, response, relay_state.unwrap_or_default()).await {
        Ok(handle) => {
            let location = format!("{}/saml2/continue?handle={handle}", state.base_path);
            let mut r = StatusCode::SEE_OTHER.into_response();
            if let Ok(v) = HeaderValue::from_str(&location) {
                r.headers_mut().insert(header::LOCATION, v);
            }
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Err(e) => failure(&state, &e),
    }
}

async fn finish(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    if sp(&state).is_none() {
        return StatusCode::NOT_FOUND.into_response();
    }
    let params = Params::parse(query.unwrap_or_default().as_bytes());
    let handle = params.get("handle").ok().flatten().unwrap_or_default();
    let browser = web::cookie(&headers, BROWSER_COOKIE);
    let finished = match saml::finish(&state, handle, browser).await {
        Ok(f) => f,
        Err(e) => return failure(&state, &e),
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
        user = %finished.user.username,
        "SAML sign-in verified"
    );
    // no "Stay signed in" box on the identity provider's pages: a browser-session session
    let device = device_cookie::presented_or_new(&headers);
    match authorize::complete_sign_in(&state, &headers, &request, &finished.user, false, &device)
        .await
    {
        Ok(r) => r,
        Err(e) => failure(&state, &SamlError::Internal(e)),
    }
}
