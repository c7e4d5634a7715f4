//! Browser-facing pages (askama views) and their security headers.
use askama::Template;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::state::AppState;

pub mod consent;
pub mod device;
pub mod extract;
pub mod form_post;
pub mod metrics;
pub mod static_doc;

/// The stylesheet (no inline styles: the CSP forbids them).
const CSS: &str = include_str!("../../templates/authserver.css");

/// Routes for static assets.
pub fn router() -> Router<AppState> {
    Router::new().route("/static/authserver.css", get(css))
}

async fn css() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/css; charset=utf-8"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=86400"),
            ),
        ],
        CSS,
    )
        .into_response()
}

/// The login page.
#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginView<'a> {
    /// Path prefix of our routes (`/authentication`).
    pub base: &'a str,
    /// Client shown to the user.
    pub client_name: &'a str,
    /// Optional banner (`authentication.login.banner.text`).
    pub banner: Option<&'a str>,
    /// Error shown above the form.
    pub error: Option<&'a str>,
    /// The pending authorization request, sealed (`domain::pending`).
    pub rid: &'a str,
    /// CSRF token (equals the CSRF cookie).
    pub csrf: &'a str,
    /// Pre-filled user name.
    pub username: &'a str,
    /// Whether the "Stay signed in" box is shown
    /// (`authentication.remember.me.hidden.client.ids`).
    pub remember_me: bool,
    /// Whether "Sign in with your smart card" is offered (`authentication.certificate.enabled`).
    pub smart_card: bool,
    /// The upstream providers' "Sign in with …" buttons.
    pub providers: &'a [crate::domain::upstream::ProviderButton],
    /// The SAML single sign-on button's text, when SAML is on.
    pub saml_link: Option<&'a str>,
    /// Whether the user name and password form is shown (see
    /// [`Settings::password_form`](crate::config::Settings::password_form)).
    pub password_form: bool,
}

/// A readable error page.
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorView<'a> {
    /// Path prefix.
    pub base: &'a str,
    /// Heading.
    pub title: &'a str,
    /// Explanation.
    pub message: &'a str,
}

/// The sign-out confirmation page.
#[derive(Template)]
#[template(path = "signout.html")]
pub struct SignoutView<'a> {
    /// Path prefix.
    pub base: &'a str,
    /// CSRF token.
    pub csrf: &'a str,
    /// Who is signed in.
    pub username: Option<&'a str>,
    /// Where to go afterwards (already whitelisted).
    pub post_logout_redirect_uri: Option<&'a str>,
    /// Client state to hand back.
    pub state: Option<&'a str>,
}

/// The "you are signed out" page.
#[derive(Template)]
#[template(path = "signed_out.html")]
pub struct SignedOutView<'a> {
    /// Path prefix.
    pub base: &'a str,
}

/// Renders `view` as an HTML response with the security headers. `form_target` is an
/// extra origin the page's form may end up at (the login form's 303 goes to the client).
pub fn html<T: Template>(status: StatusCode, view: &T, form_target: Option<&str>) -> Response {
    match view.render() {
        Ok(body) => {
            let mut response = (status, body).into_response();
            secure_headers(response.headers_mut(), form_target);
            response
        }
        Err(e) => {
            tracing::error!(error = %e, "template rendering failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// An error page.
pub fn error_page(base: &str, status: StatusCode, title: &str, message: &str) -> Response {
    html(
        status,
        &ErrorView {
            base,
            title,
            message,
        },
        None,
    )
}

/// The page of a sign-in whose password the directory should have checked but did not
/// answer (503, `Retry-After`): nothing was decided, so nothing is counted either.
pub fn directory_unavailable_page(base: &str) -> Response {
    let mut r = error_page(
        base,
        StatusCode::SERVICE_UNAVAILABLE,
        "The directory is unavailable",
        "Passwords are checked by the organisation's directory, which is not answering right \
         now. Your password was not checked. Try again in a minute; if this persists, tell \
         your administrator.",
    );
    r.headers_mut().insert(
        axum::http::header::RETRY_AFTER,
        axum::http::HeaderValue::from_static(crate::error::DIRECTORY_RETRY_AFTER),
    );
    r
}

/// The CSP source that lets a form end up at `uri` (its origin), for [`html`]'s
/// `form_target`. CSP host sources only allow letters, digits, `-` and `.`, so a host such
/// as the desktop client's `md_redirect` cannot be written; Chromium then drops the source
/// and blocks the redirect. For such a host the source is its scheme (`https:`), the
/// narrowest one the browser accepts. A native app's private-use URI
/// (`com.example.app:/cb`) has no host: its source is its scheme (`com.example.app:`).
pub fn form_target(uri: &str) -> Option<String> {
    let url = url::Url::parse(uri).ok()?;
    let expressible = match url.host() {
        Some(url::Host::Domain(host)) => host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.'),
        Some(_) => true,
        None => false,
    };
    if expressible {
        Some(url.origin().ascii_serialization())
    } else {
        Some(format!("{}:", url.scheme()))
    }
}

/// Headers every page gets: no caching, no framing, a strict CSP, no referrer.
pub fn secure_headers(headers: &mut HeaderMap, form_target: Option<&str>) {
    let form_action = match form_target {
        Some(origin) => format!("'self' {origin}"),
        None => "'self'".to_string(),
    };
    let csp = format!(
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action {form_action}; \
         frame-ancestors 'none'; base-uri 'none'"
    );
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if let Ok(v) = HeaderValue::from_str(&csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, v);
    }
}

/// Reads one cookie from the request headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"'))
        .filter(|v| !v.is_empty())
}

/// Cookie holding the SSO session id.
pub const SSO_COOKIE: &str = "authserver_sso";
/// Cookie holding the CSRF token forms must echo.
pub const CSRF_COOKIE: &str = "authserver_csrf";
/// The CSRF cookie's name over https (`__Host-`: Secure, `Path=/`, no `Domain`).
pub const CSRF_HOST_COOKIE: &str = "__Host-authserver_csrf";
/// The one message for every failed sign-in.
pub const LOGIN_FAILED: &str = "Invalid username or password.";

/// Name of the CSRF cookie: `__Host-authserver_csrf` over https (the prefix makes the
/// browser refuse it unless Secure, `Path=/` and without `Domain`, so a sibling host
/// cannot plant one), `authserver_csrf` over plain http (browsers refuse `__Host-` there).
pub fn csrf_cookie_name(secure: bool) -> &'static str {
    if secure {
        CSRF_HOST_COOKIE
    } else {
        CSRF_COOKIE
    }
}

/// The CSRF token this browser's cookie holds.
pub fn csrf_cookie(headers: &HeaderMap, secure: bool) -> Option<&str> {
    cookie(headers, csrf_cookie_name(secure))
}

/// `Set-Cookie` for a new CSRF token (`Path=/` over https, as `__Host-` demands; the
/// base path over http).
pub fn set_csrf_cookie(token: &str, base: &str, secure: bool) -> String {
    let path = if secure { "/" } else { base };
    set_cookie(
        csrf_cookie_name(secure),
        token,
        path,
        secure,
        "Strict",
        None,
    )
}

/// Builds a `Set-Cookie` value.
pub fn set_cookie(
    name: &str,
    value: &str,
    path: &str,
    secure: bool,
    same_site: &str,
    max_age: Option<i64>,
) -> String {
    let mut c = format!("{name}={value}; Path={path}; HttpOnly; SameSite={same_site}");
    if secure {
        c.push_str("; Secure");
    }
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    c
}

/// Sign-in form of the account page (shown when there is no SSO session).
#[derive(Template)]
#[template(path = "account_login.html")]
pub struct AccountLoginView<'a> {
    /// Path prefix.
    pub base: &'a str,
    /// CSRF token (equals the CSRF cookie).
    pub csrf: &'a str,
    /// Pre-filled user name.
    pub username: &'a str,
    /// Error shown above the form.
    pub error: Option<&'a str>,
    /// Open the token section after signing in (reached through `/pat`).
    pub then_tokens: bool,
}

/// One personal access token as the account page lists it (never the token itself).
#[derive(Debug, Clone)]
pub struct PatLine {
    /// Its id.
    pub id: String,
    /// Description.
    pub description: String,
    /// `data` or `management`.
    pub scope: String,
    /// Creation time, formatted.
    pub created: String,
    /// Expiry, formatted ("never", or with "(expired)").
    pub expires: String,
    /// Last use, formatted ("never").
    pub last_used: String,
}

/// The signed-in user's account page: personal access tokens and password change.
#[derive(Template)]
#[template(path = "account.html")]
pub struct AccountView<'a> {
    /// Path prefix.
    pub base: &'a str,
    /// CSRF token (equals the CSRF cookie).
    pub csrf: &'a str,
    /// Who is signed in.
    pub username: &'a str,
    /// Whether management tokens are offered.
    pub admin: bool,
    /// The identity source of a just-in-time user (no password change here), if any.
    pub external_source: Option<&'a str>,
    /// Their live and expired tokens.
    pub pats: &'a [PatLine],
    /// What they allowed third-party applications.
    pub grants: &'a [consent::GrantLine],
    /// Success message.
    pub notice: Option<&'a str>,
    /// Error message.
    pub error: Option<&'a str>,
    /// What the create-token form shows (a refused request's values, or the defaults).
    pub draft: PatDraft<'a>,
    /// The service accounts (shown to administrators only; empty for others).
    pub service_accounts: &'a [ServiceAccountLine],
}

/// One service account as an administrator's account page lists it.
#[derive(Debug, Clone)]
pub struct ServiceAccountLine {
    /// Its login name.
    pub username: String,
    /// Display name (or empty).
    pub name: String,
    /// Its live key's id, or `none`.
    pub key_id: String,
}

/// The page that shows a service account's new key, once.
#[derive(Template)]
#[template(path = "service_account_created.html")]
pub struct ServiceAccountCreatedView<'a> {
    /// Path prefix.
    pub base: &'a str,
    /// The account's login name.
    pub username: &'a str,
    /// The key's id.
    pub id: &'a str,
    /// The key.
    pub token: &'a str,
}

/// The create-token form's values.
#[derive(Debug, Clone, Copy)]
pub struct PatDraft<'a> {
    /// Description.
    pub description: &'a str,
    /// Validity: `7`, `30`, `90`, `365` or `never`.
    pub validity: &'a str,
    /// `data` or `management`.
    pub scope: &'a str,
}

impl Default for PatDraft<'_> {
    fn default() -> Self {
        PatDraft {
            description: "",
            validity: "30",
            scope: "data",
        }
    }
}

/// The page showing a new personal access token, once.
#[derive(Template)]
#[template(path = "pat_created.html")]
pub struct PatCreatedView<'a> {
    /// Path prefix.
    pub base: &'a str,
    /// Its id.
    pub id: &'a str,
    /// The token.
    pub token: &'a str,
    /// Description.
    pub description: &'a str,
    /// Scope.
    pub scope: &'a str,
    /// Expiry, formatted.
    pub expires: &'a str,
}

/// The page after a password change.
#[derive(Template)]
#[template(path = "password_changed.html")]
pub struct PasswordChangedView<'a> {
    /// Path prefix.
    pub base: &'a str,
}

/// A time for a page: `2026-11-23 13:45 UTC`.
pub fn display_time(secs: i64) -> String {
    let iso = crate::clock::rfc3339(secs);
    format!("{} UTC", iso.get(..16).unwrap_or(&iso).replace('T', " "))
}

#[cfg(test)]
mod tests {
    use super::form_target;

    #[test]
    fn a_form_target_is_the_origin_unless_csp_cannot_spell_its_host() {
        assert_eq!(
            form_target("https://app.example.com:8443/cb?x=1").as_deref(),
            Some("https://app.example.com:8443")
        );
        assert_eq!(
            form_target("http://127.0.0.1:9000/native").as_deref(),
            Some("http://127.0.0.1:9000")
        );
        assert_eq!(
            form_target("https://md_redirect").as_deref(),
            Some("https:")
        );
        assert_eq!(form_target("not a url"), None);
    }
}
