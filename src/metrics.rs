//! Prometheus metrics (`GET /metrics`, only to `server.metrics.allow`).
//!
//! Names: `authserver_http_requests_total{route,method,status}`,
//! `authserver_http_request_duration_seconds{route}` (histogram),
//! `authserver_tokens_issued_total{grant}`, `authserver_login_failures_total{kind}`,
//! `authserver_throttled_total{kind}`, `authserver_refresh_reuse_total`,
//! `authserver_db_connections{pool,state}`.
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::state::AppState;

const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The process-wide recorder (installed once; every server in the process shares it).
pub fn handle() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new()
                .set_buckets(&BUCKETS)
                .ok()?
                .install_recorder()
                .ok()
        })
        .as_ref()
}

/// Route label: our fixed paths as they are; parameterised and unknown paths folded, so
/// a scanner cannot blow up the label set.
fn route_label(path: &str) -> &'static str {
    const KNOWN: [&str; 18] = [
        "/authentication/.well-known/openid-configuration",
        "/authentication/jwks.json",
        "/authentication/authorize",
        "/authentication/login",
        "/authentication/api/token",
        "/authentication/api/userinfo",
        "/authentication/api/validate",
        "/authentication/api/introspect",
        "/authentication/api/revoke",
        "/authentication/api/signout",
        "/authentication/api/users",
        "/authentication/account",
        "/authentication/account/pats",
        "/authentication/account/password",
        "/authentication/static/authserver.css",
        "/healthz",
        "/metrics",
        "/authentication/account/pats/revoke",
    ];
    if let Some(k) = KNOWN.iter().find(|k| **k == path) {
        return k;
    }
    if path.starts_with("/authentication/api/users/") {
        return "/authentication/api/users/{username}";
    }
    "unmatched"
}

/// Counts and times every request.
pub async fn track(request: Request, next: Next) -> Response {
    let start = Instant::now();
    let route = route_label(request.uri().path());
    let method = request.method().as_str().to_owned();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("authserver_http_requests_total", "route" => route, "method" => method, "status" => status)
        .increment(1);
    metrics::histogram!("authserver_http_request_duration_seconds", "route" => route)
        .record(start.elapsed().as_secs_f64());
    response
}

/// A token response was issued by `grant`.
pub fn token_issued(grant: &'static str) {
    metrics::counter!("authserver_tokens_issued_total", "grant" => grant).increment(1);
}

/// A password check failed (`kind`: login, client_credentials).
pub fn login_failed(kind: &'static str) {
    metrics::counter!("authserver_login_failures_total", "kind" => kind).increment(1);
}

/// A request was refused by the throttle.
pub fn throttled(kind: &'static str) {
    metrics::counter!("authserver_throttled_total", "kind" => kind).increment(1);
}

/// A spent refresh token came back.
pub fn refresh_reuse() {
    metrics::counter!("authserver_refresh_reuse_total").increment(1);
}

/// `GET /metrics`.
pub async fn render(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
) -> Response {
    let ip = peer.ip();
    let allowed = state
        .settings
        .server
        .metrics_allow
        .iter()
        .any(|n| n.contains(&ip));
    if !allowed {
        return (
            StatusCode::FORBIDDEN,
            "metrics are not available to this address",
        )
            .into_response();
    }
    let Some(handle) = handle() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "metrics recorder unavailable",
        )
            .into_response();
    };
    for (pool, size, idle) in state.store.pool_usage() {
        metrics::gauge!("authserver_db_connections", "pool" => pool, "state" => "open")
            .set(size as f64);
        metrics::gauge!("authserver_db_connections", "pool" => pool, "state" => "idle")
            .set(idle as f64);
    }
    let (families, jtis, pats) = state.revocations.sizes();
    metrics::gauge!("authserver_revoked_families").set(families as f64);
    metrics::gauge!("authserver_revoked_tokens").set(jtis as f64);
    metrics::gauge!("authserver_revoked_pats").set(pats as f64);
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4"),
        )],
        handle.render(),
    )
        .into_response()
}
