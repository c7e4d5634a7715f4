//! `GET /metrics`: the Prometheus text, only to `server.metrics.allow`.
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::metrics::handle;
use crate::state::AppState;

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
