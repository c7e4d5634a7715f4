//! HTTP-facing errors: OAuth JSON (RFC 6749 §5.2) for API routes, opaque 500s for faults.
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::keys::KeyError;
use crate::store::StoreError;

/// Seconds a client is asked to wait when the directory did not answer.
pub const DIRECTORY_RETRY_AFTER: &str = "30";

/// OAuth 2.0 / OIDC error codes, plus internal failures.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// RFC 6749 `invalid_request`.
    #[error("invalid_request: {0}")]
    InvalidRequest(String),
    /// `invalid_request` about one field of a JSON request (400 with `field`).
    #[error("invalid_request: {1}")]
    InvalidField(String, String),
    /// RFC 6749 `invalid_client` (401 + WWW-Authenticate).
    #[error("invalid_client: {0}")]
    InvalidClient(String),
    /// RFC 6749 `invalid_grant`.
    #[error("invalid_grant: {0}")]
    InvalidGrant(String),
    /// RFC 6749 `unauthorized_client`.
    #[error("unauthorized_client: {0}")]
    UnauthorizedClient(String),
    /// RFC 6749 `unsupported_grant_type`.
    #[error("unsupported_grant_type: {0}")]
    UnsupportedGrantType(String),
    /// RFC 6749 `invalid_scope`.
    #[error("invalid_scope: {0}")]
    InvalidScope(String),
    /// RFC 6750 `invalid_token` (401 + WWW-Authenticate: Bearer).
    #[error("invalid_token: {0}")]
    InvalidToken(String),
    /// RFC 6750 `insufficient_scope` (403).
    #[error("insufficient_scope: {0}")]
    InsufficientScope(String),
    /// RFC 8628 `authorization_pending`: the user has not decided yet.
    #[error("authorization_pending")]
    AuthorizationPending,
    /// RFC 8628 `slow_down`: polled too early; the interval is now this many seconds.
    #[error("slow_down: interval {0} s")]
    SlowDown(i64),
    /// RFC 8628 `access_denied`: the user denied the request.
    #[error("access_denied")]
    AccessDenied,
    /// RFC 8628 `expired_token`: the device code expired.
    #[error("expired_token")]
    ExpiredToken,
    /// Throttled (429 with Retry-After seconds).
    #[error("temporarily_unavailable: retry after {0} s")]
    Throttled(u64),
    /// RFC 7591 `invalid_redirect_uri` or `invalid_client_metadata` (the code, then the
    /// description; 400).
    #[error("{0}: {1}")]
    InvalidMetadata(&'static str, String),
    /// A service the answer depends on (the directory) did not answer: 503
    /// `temporarily_unavailable` (RFC 6749 §4.1.2.1) with `Retry-After`.
    #[error("temporarily_unavailable: {0}")]
    Unavailable(String),
    /// 404.
    #[error("not_found: {0}")]
    NotFound(String),
    /// 409.
    #[error("conflict: {0}")]
    Conflict(String),
    /// Storage or other internal failure: logged, never shown.
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    /// The RFC error code.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::InvalidRequest(_) | AppError::InvalidField(..) => "invalid_request",
            AppError::InvalidClient(_) => "invalid_client",
            AppError::InvalidGrant(_) => "invalid_grant",
            AppError::UnauthorizedClient(_) => "unauthorized_client",
            AppError::UnsupportedGrantType(_) => "unsupported_grant_type",
            AppError::InvalidScope(_) => "invalid_scope",
            AppError::InvalidToken(_) => "invalid_token",
            AppError::InsufficientScope(_) => "insufficient_scope",
            AppError::AuthorizationPending => "authorization_pending",
            AppError::SlowDown(_) => "slow_down",
            AppError::AccessDenied => "access_denied",
            AppError::ExpiredToken => "expired_token",
            AppError::Throttled(_) | AppError::Unavailable(_) => "temporarily_unavailable",
            AppError::InvalidMetadata(code, _) => code,
            AppError::NotFound(_) => "not_found",
            AppError::Conflict(_) => "conflict",
            AppError::Internal(_) => "server_error",
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            AppError::InvalidClient(_) | AppError::InvalidToken(_) => StatusCode::UNAUTHORIZED,
            AppError::InsufficientScope(_) => StatusCode::FORBIDDEN,
            AppError::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    fn description(&self) -> String {
        match self {
            AppError::InvalidRequest(d)
            | AppError::InvalidClient(d)
            | AppError::InvalidGrant(d)
            | AppError::UnauthorizedClient(d)
            | AppError::UnsupportedGrantType(d)
            | AppError::InvalidScope(d)
            | AppError::InvalidToken(d)
            | AppError::InsufficientScope(d)
            | AppError::NotFound(d)
            | AppError::Conflict(d)
            | AppError::Unavailable(d)
            | AppError::InvalidField(_, d)
            | AppError::InvalidMetadata(_, d) => d.clone(),
            AppError::Throttled(secs) => format!("too many failed attempts; retry in {secs} s"),
            AppError::AuthorizationPending => "the user has not approved the request yet".into(),
            AppError::SlowDown(secs) => format!("polling too fast; poll every {secs} s"),
            AppError::AccessDenied => "the user denied the request".into(),
            AppError::ExpiredToken => "the device code has expired".into(),
            AppError::Internal(_) => "the server could not complete the request".into(),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let AppError::Internal(cause) = &self {
            tracing::error!(%cause, "internal error");
        }
        let status = self.status();
        let mut body = json!({"error": self.code(), "error_description": self.description()});
        if let AppError::InvalidField(field, _) = &self {
            body["field"] = json!(field);
        }
        if let AppError::SlowDown(secs) = &self {
            // the interval now in force (clients may read it; RFC 8628 §3.5 has them add 5 s)
            body["interval"] = json!(secs);
        }
        let mut response = (status, Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        match &self {
            AppError::InvalidClient(_) => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(r#"Basic realm="authserver", charset="UTF-8""#),
                );
            }
            AppError::InvalidToken(_) => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(r#"Bearer realm="authserver", error="invalid_token""#),
                );
            }
            AppError::InsufficientScope(_) => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(
                        r#"Bearer realm="authserver", error="insufficient_scope""#,
                    ),
                );
            }
            AppError::Throttled(secs) => {
                if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                    headers.insert(header::RETRY_AFTER, v);
                }
            }
            AppError::Unavailable(_) => {
                headers.insert(
                    header::RETRY_AFTER,
                    HeaderValue::from_static(DIRECTORY_RETRY_AFTER),
                );
            }
            _ => {}
        }
        response
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(what) => AppError::Conflict(what),
            StoreError::NotFound(what) => AppError::NotFound(what),
            other => AppError::Internal(other.to_string()),
        }
    }
}

impl From<KeyError> for AppError {
    fn from(e: KeyError) -> Self {
        AppError::Internal(e.to_string())
    }
}
