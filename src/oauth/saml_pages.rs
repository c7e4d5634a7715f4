//! The answers the SAML sign-in shares between the login page's straight redirect
//! (`oauth::authorize`) and its own routes (`oauth::saml`): the redirect to the identity
//! provider with the browser's key, and the page for a failed sign-in.
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::domain::saml::{self, SamlError, SamlSp, BROWSER_COOKIE, LOGIN_TTL};
use crate::state::AppState;
use crate::web;

/// The service provider, when SAML is on.
pub(crate) fn sp(state: &AppState) -> Option<&SamlSp> {
    state.saml.as_deref()
}

/// The page of a failed SAML sign-in, and its log line (no session is made).
pub(crate) fn failure(state: &AppState, e: &SamlError) -> Response {
    match e {
        SamlError::Internal(cause) => tracing::error!(error = %cause, "SAML sign-in failed"),
        _ => tracing::warn!(target: "authserver::audit", error = %e, "SAML sign-in refused"),
    }
    let detailed = sp(state).is_some_and(|sp| sp.settings.error_visible);
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
    web::error_page(
        &state.base_path,
        status,
        "You are not signed in",
        &e.message(detailed),
    )
}

/// A redirect to the identity provider, setting the browser's key (`Lax`: it must come
/// with the top-level navigation to `/saml2/continue`).
pub(crate) fn to_idp(state: &AppState, begun: &saml::Begun) -> Response {
    let mut response = StatusCode::FOUND.into_response();
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&begun.location) {
        headers.insert(header::LOCATION, v);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    let cookie = web::set_cookie(
        BROWSER_COOKIE,
        &begun.browser_key,
        &format!("{}/saml2", state.base_path),
        state.secure_cookies,
        "Lax",
        Some(LOGIN_TTL),
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        headers.append(header::SET_COOKIE, v);
    }
    response
}

/// Sends the browser to the identity provider for the pending request `rid`, sealed for
/// `csrf` (the caller checked both).
pub(crate) async fn begin(
    state: &AppState,
    headers: &HeaderMap,
    rid: &str,
    csrf: &str,
) -> Response {
    let Some(sp) = sp(state) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let browser = web::cookie(headers, BROWSER_COOKIE);
    match saml::begin(state, sp, rid, csrf, browser).await {
        Ok(begun) => to_idp(state, &begun),
        Err(e) => failure(state, &e),
    }
}
