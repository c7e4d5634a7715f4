//! Prometheus metrics: the recorder, the request middleware and the counters the domain
//! bumps (the `GET /metrics` endpoint, only to `server.metrics.allow`, is
//! [`crate::web::metrics`]).
//!
//! Names: `authserver_http_requests_total{route,method,status}`,
//! `authserver_http_request_duration_seconds{route}` (histogram),
//! `authserver_tokens_issued_total{grant}`, `authserver_login_failures_total{kind}`,
//! `authserver_throttled_total{kind}`, `authserver_refresh_reuse_total`,
//! `authserver_db_connections{pool,state}`,
//! `authserver_db_writer_hold_seconds{by}` (histogram, SQLite: how long housekeeping's
//! deletes and WAL restarts held the one writing connection, which every write waits for).
use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::Request;
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use metrics::SharedString;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

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
    const KNOWN: [&str; 20] = [
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
        "/authentication/api/oidc/device_code",
        "/authentication/device",
    ];
    if let Some(k) = KNOWN.iter().find(|k| **k == path) {
        return k;
    }
    // Teamwork Cloud 2024x's names count as the endpoint they serve
    const ALIASES: [(&str, &str); 6] = [
        (
            "/authentication/api/device_authorization",
            "/authentication/api/oidc/device_code",
        ),
        (
            "/authentication/.well-known/oidc-configuration",
            "/authentication/.well-known/openid-configuration",
        ),
        (
            "/authentication/.well-known/oauth2.0-configuration",
            "/authentication/.well-known/openid-configuration",
        ),
        (
            "/.well-known/oauth2.0-configuration",
            "/authentication/.well-known/openid-configuration",
        ),
        (
            "/authentication/oidc/authorize",
            "/authentication/authorize",
        ),
        (
            "/authentication/api/oidc/token",
            "/authentication/api/token",
        ),
    ];
    if let Some((_, k)) = ALIASES.iter().find(|(alias, _)| *alias == path) {
        return k;
    }
    if path.starts_with("/authentication/api/users/") {
        return "/authentication/api/users/{username}";
    }
    "unmatched"
}

/// The method label without an allocation for the usual methods.
fn method_label(method: &Method) -> SharedString {
    match *method {
        Method::GET => SharedString::const_str("GET"),
        Method::POST => SharedString::const_str("POST"),
        Method::HEAD => SharedString::const_str("HEAD"),
        Method::PUT => SharedString::const_str("PUT"),
        Method::DELETE => SharedString::const_str("DELETE"),
        Method::PATCH => SharedString::const_str("PATCH"),
        Method::OPTIONS => SharedString::const_str("OPTIONS"),
        _ => SharedString::from_owned(method.as_str().to_owned()),
    }
}

/// The status label without an allocation for the usual statuses.
fn status_label(status: StatusCode) -> SharedString {
    const USUAL: [(u16, &str); 10] = [
        (200, "200"),
        (204, "204"),
        (302, "302"),
        (303, "303"),
        (400, "400"),
        (401, "401"),
        (403, "403"),
        (404, "404"),
        (405, "405"),
        (429, "429"),
    ];
    match USUAL.iter().find(|(code, _)| *code == status.as_u16()) {
        Some((_, label)) => SharedString::const_str(label),
        None => SharedString::from_owned(status.as_u16().to_string()),
    }
}

/// The request counter of a static document (`route`, `method`, status 200), registered
/// once so that serving the document costs one atomic increment (see
/// `web::static_doc`). Static documents are counted but not timed: their duration is
/// the network's.
pub fn static_request_counter(route: &'static str, method: &'static str) -> metrics::Counter {
    metrics::counter!("authserver_http_requests_total", "route" => route, "method" => method, "status" => "200")
}

/// Counts and times every request.
pub async fn track(request: Request, next: Next) -> Response {
    let start = Instant::now();
    let route = route_label(request.uri().path());
    let method = method_label(request.method());
    let response = next.run(request).await;
    let status = status_label(response.status());
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

/// A directory (LDAP) check could not be decided: every server down or too slow.
pub fn directory_unavailable() {
    metrics::counter!("authserver_directory_unavailable_total").increment(1);
}

/// A directory (LDAP) password check was decided (`outcome`: verified, refused).
pub fn directory_check(outcome: &'static str) {
    metrics::counter!("authserver_directory_checks_total", "outcome" => outcome).increment(1);
}

/// A spent refresh token came back.
pub fn refresh_reuse() {
    metrics::counter!("authserver_refresh_reuse_total").increment(1);
}

/// Records how long the SQLite writing connection was held by something other than a
/// request: `by` is `purge` (a housekeeping delete) or `wal_restart`.
pub fn writer_held(by: &'static str, held: std::time::Duration) {
    metrics::histogram!("authserver_db_writer_hold_seconds", "by" => by).record(held.as_secs_f64());
}

#[cfg(test)]
mod tests {
    use super::route_label;

    #[test]
    fn teamwork_cloud_2024x_paths_are_labelled_as_the_endpoint_they_serve() {
        for (alias, canonical) in [
            (
                "/authentication/api/oidc/token",
                "/authentication/api/token",
            ),
            (
                "/authentication/oidc/authorize",
                "/authentication/authorize",
            ),
            (
                "/authentication/.well-known/oidc-configuration",
                "/authentication/.well-known/openid-configuration",
            ),
            (
                "/authentication/.well-known/oauth2.0-configuration",
                "/authentication/.well-known/openid-configuration",
            ),
            (
                "/.well-known/oauth2.0-configuration",
                "/authentication/.well-known/openid-configuration",
            ),
        ] {
            assert_eq!(route_label(alias), canonical, "{alias}");
        }
        assert_eq!(route_label("/authentication/api/oidc/nothing"), "unmatched");
    }
}
