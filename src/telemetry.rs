//! Logging: `tracing` to stderr, text or JSON, and the one-line-per-request log.
use std::time::Instant;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use tracing_subscriber::EnvFilter;

use crate::config::{LogFormat, LoggingSettings};

/// Installs the global subscriber (once; later calls are ignored). `RUST_LOG` wins over
/// `logging.level`.
pub fn init(logging: &LoggingSettings) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&logging.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    let _ = match logging.format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// Logs method, path (never the query string), status and latency of every request.
/// Headers and bodies (secrets, cookies, tokens) are never logged.
/// Nothing is copied or timed when the request log is off (`logging.level` above info).
pub async fn log_request(request: Request, next: Next) -> Response {
    if !request_log_enabled() {
        return next.run(request).await;
    }
    let start = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    log_line(&method, &path, response.status().as_u16(), start);
    response
}

/// Whether request lines are logged (a cached per-callsite check: cheap).
pub fn request_log_enabled() -> bool {
    tracing::enabled!(target: "authserver::request", tracing::Level::INFO)
}

/// The request line of a request that started at `start`.
pub fn log_line(method: &axum::http::Method, path: &str, status: u16, start: Instant) {
    let latency_us = start.elapsed().as_micros() as u64;
    tracing::info!(
        target: "authserver::request",
        %method,
        path = %path,
        status,
        latency_us,
        "request"
    );
}
