//! The form post response mode (OAuth 2.0 Form Post Response Mode): a page whose form
//! POSTs the response parameters to the redirect URI and submits itself.
//!
//! The page keeps the strict CSP of every page, plus the one inline script (allowed by
//! its hash, nothing else runs) and the redirect URI's origin as a form target.
use askama::Template;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use sha2::{Digest, Sha256};

use crate::domain::response_type::FrontResponse;

/// The only script of the page.
pub const SCRIPT: &str = "document.forms[0].submit();";

/// The self-submitting form.
#[derive(Template)]
#[template(path = "form_post.html")]
pub struct FormPostView<'a> {
    /// Path prefix of our routes (for the stylesheet).
    pub base: &'a str,
    /// Where the form posts: the checked redirect URI, exactly.
    pub redirect_uri: &'a str,
    /// The response parameters.
    pub params: &'a [(String, String)],
    /// [`SCRIPT`].
    pub script: &'a str,
}

/// The CSP source that allows [`SCRIPT`].
pub fn script_hash() -> String {
    use base64::Engine;
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(SCRIPT.as_bytes()))
    )
}

/// Renders the form post page for `response` (200, never cached).
pub fn page(base: &str, response: &FrontResponse) -> Response {
    let view = FormPostView {
        base,
        redirect_uri: response.redirect_uri.as_str(),
        params: &response.params,
        script: SCRIPT,
    };
    let origin = super::form_target(response.redirect_uri.as_str());
    let mut out = super::html(StatusCode::OK, &view, origin.as_deref());
    let csp = out
        .headers()
        .get(header::CONTENT_SECURITY_POLICY)
        .and_then(|v| v.to_str().ok())
        .map(|csp| format!("{csp}; script-src {}", script_hash()));
    if let Some(Ok(v)) = csp.map(|c| HeaderValue::from_str(&c)) {
        out.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
    }
    out
}
