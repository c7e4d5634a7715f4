//! Operational endpoints: metrics.
use crate::helpers::{spawn_app, AppBuilder, SECRET};

#[tokio::test]
async fn metrics_count_requests_tokens_and_failures_for_loopback_callers() {
    let app = spawn_app().await;
    app.add_user("metric-user", "metric-password").await;
    let _ = app.tokens_for("metric-user", "metric-password").await;
    // a failed client_credentials call
    let _ = app
        .client
        .post(app.url("/api/token?grant_type=client_credentials&client_id=webApplicationPlatform"))
        .header("X-Auth-Secret", SECRET)
        .basic_auth("metric-user", Some("wrong-password"))
        .send()
        .await
        .unwrap();
    let resp = app
        .client
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.unwrap();
    let pools: &[&str] = if crate::helpers::backend_is_postgres() {
        &["authserver_db_connections{pool=\"postgres\""]
    } else {
        &[
            "authserver_db_connections{pool=\"writer\"",
            "authserver_db_connections{pool=\"reader\"",
            "authserver_db_connections{pool=\"checkpointer\"",
        ]
    };
    for needle in [
        "authserver_http_requests_total{",
        "route=\"/authentication/api/token\"",
        "authserver_http_request_duration_seconds_bucket",
        "authserver_tokens_issued_total{grant=\"authorization_code\"}",
        "authserver_login_failures_total{kind=\"client_credentials\"}",
    ]
    .iter()
    .chain(pools)
    {
        assert!(text.contains(needle), "metrics lack {needle}:\n{text}");
    }
    assert!(!text.contains("wrong-password") && !text.contains(SECRET));
}

#[tokio::test]
async fn metrics_are_refused_to_addresses_outside_server_metrics_allow() {
    let app = AppBuilder::new()
        .set("server.metrics.allow", "10.0.0.0/8")
        .spawn()
        .await;
    let resp = app
        .client
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    // a forged X-Forwarded-For does not help
    let resp = app
        .client
        .get(format!("{}/metrics", app.address))
        .header("X-Forwarded-For", "10.1.2.3")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
}
