//! `/api/validate` with `Authorization: Basic` (issue 18, time cockpit): a user name and
//! password, or a user name and a PAT as the password, answered with the JSON of a token;
//! behind the throttle and the verified-credential cache; off unless
//! `authentication.validate.basic` is on. Includes a resource server written here that
//! trusts nothing but `/api/validate`.
use std::net::SocketAddr;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::helpers::lifecycle_helpers::{basic, field};
use crate::helpers::pat_helpers::{
    add_admin_with_management_pat, issue_pat, pat_login, with_bearer,
};
use crate::helpers::*;
use crate::lockout::{assert_throttled_page, login_from, login_page};

const KEY: &str = "authentication.validate.basic";

async fn app_with_basic() -> TestApp {
    AppBuilder::new()
        .set(KEY, "true")
        .set("server.trusted.proxies", "127.0.0.1/32")
        .spawn()
        .await
}

/// GET `/api/validate` with this `Authorization` value; (status, JSON body or Null).
async fn validate(app: &TestApp, authorization: &str) -> (u16, Value) {
    let resp = bare_client()
        .get(app.url("/api/validate"))
        .header("Authorization", authorization)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let body = resp.json().await.unwrap_or(Value::Null);
    (status, body)
}

/// A resource server ("an OData service") that trusts only `/api/validate`: it forwards
/// the caller's `Authorization` header there and serves the caller's name and roles on
/// 200, and the validate status otherwise. Returns its address.
async fn resource_server(validate_url: String) -> SocketAddr {
    async fn odata(
        State(validate_url): State<String>,
        headers: HeaderMap,
    ) -> axum::response::Response {
        let mut req = reqwest::Client::new().get(&validate_url);
        if let Some(a) = headers.get("authorization") {
            req = req.header("Authorization", a.as_bytes());
        }
        let answer = req.send().await.unwrap();
        let status = StatusCode::from_u16(answer.status().as_u16()).unwrap();
        if status != StatusCode::OK {
            return status.into_response();
        }
        let who: Value = answer.json().await.unwrap();
        Json(json!({"user": who["sub"], "roles": who["roles"], "via": who["token_type"]}))
            .into_response()
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new()
        .route("/odata/Projects", get(odata))
        .with_state(validate_url);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

async fn through(resource: SocketAddr, authorization: &str) -> (u16, Value) {
    let resp = bare_client()
        .get(format!("http://{resource}/odata/Projects"))
        .header("Authorization", authorization)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_resource_server_trusting_only_validate_sees_each_caller_with_its_roles() {
    let app = app_with_basic().await;
    let (_, admin_pat) = add_admin_with_management_pat(&app, "ada", "ada-password-1").await;
    let bob = app.add_user("bob", "bob-password-1").await;
    let (_, bob_pat) = issue_pat(&app, &bob, "data", None).await;
    // a service account made through the management API, as an administrator would
    let created: Value = with_bearer(
        &app,
        reqwest::Method::POST,
        "/api/service-accounts",
        &admin_pat,
    )
    .json(&json!({"username": "erp-sync", "name": "ERP nightly sync"}))
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let key = created["key"]
        .as_str()
        .expect("the key is shown once")
        .to_string();
    let resource = resource_server(app.url("/api/validate")).await;

    // Basic user:password (Excel's OData connector)
    let (status, seen) = through(resource, &basic("bob", "bob-password-1")).await;
    assert_eq!(status, 200, "{seen}");
    assert_eq!(
        seen,
        json!({"user": "bob", "roles": ["user"], "via": "basic"})
    );
    // Basic user:<PAT>, the PAT as the password
    let (status, seen) = through(resource, &basic("bob", &bob_pat)).await;
    assert_eq!(status, 200);
    assert_eq!(
        seen,
        json!({"user": "bob", "roles": ["user"], "via": "pat"})
    );
    // the service account's key, as Basic and as a bearer token
    let (status, seen) = through(resource, &basic("erp-sync", &key)).await;
    assert_eq!(status, 200);
    assert_eq!(
        seen,
        json!({"user": "erp-sync", "roles": ["api-user"], "via": "pat"})
    );
    let (status, seen) = through(resource, &format!("Bearer {key}")).await;
    assert_eq!(status, 200);
    assert_eq!(seen["roles"], json!(["api-user"]));
    // a token of a browser sign-in: an administrator
    let tokens = app.tokens_for("ada", "ada-password-1").await;
    let (status, seen) = through(
        resource,
        &format!("Bearer {}", field(&tokens, "access_token")),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(seen["user"], "ada");
    assert!(
        seen["roles"].as_array().unwrap().contains(&json!("admin")),
        "{seen}"
    );
    assert_eq!(seen["via"], "access_token");
    // a JWT from the service account's secret-key login
    let resp = pat_login(&app, CLIENT, &key).await;
    assert_eq!(resp.status(), 200);
    let tokens: Value = resp.json().await.unwrap();
    let (status, seen) = through(
        resource,
        &format!("Bearer {}", field(&tokens, "access_token")),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(seen["user"], "erp-sync");
    assert_eq!(seen["roles"], json!(["api-user"]));

    // and what it must not let in
    for wrong in [
        basic("bob", "wrong-password"),
        basic("ada", &bob_pat),
        basic("erp-sync", "any-password-at-all"),
        basic("nobody", "bob-password-1"),
        "Bearer not-a-token".to_string(),
    ] {
        let (status, _) = through(resource, &wrong).await;
        assert_eq!(status, 401, "{wrong}");
    }
    let resp = bare_client()
        .get(format!("http://{resource}/odata/Projects"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401, "no credentials");
}

#[tokio::test]
async fn basic_at_validate_answers_the_json_of_a_token() {
    let app = app_with_basic().await;
    let bob = app.add_user("bob", "bob-password-1").await;
    let (pat_id, pat) = issue_pat(&app, &bob, "data", None).await;
    let (status, body) = validate(&app, &basic("bob", "bob-password-1")).await;
    assert_eq!(status, 200);
    assert_eq!(body["active"], true);
    assert_eq!(body["sub"], "bob");
    assert_eq!(body["username"], "bob");
    assert_eq!(body["token_type"], "basic");
    assert_eq!(body["roles"], json!(["user"]));
    // the user and roles also as headers, for a reverse proxy's auth_request
    let resp = bare_client()
        .get(app.url("/api/validate"))
        .header("Authorization", basic("bob", "bob-password-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["x-authserver-user"], "bob");
    assert_eq!(resp.headers()["x-authserver-roles"], "user");
    let (status, by_pat) = validate(&app, &basic("bob", &pat)).await;
    assert_eq!(status, 200);
    let (_, as_bearer) = validate(&app, &format!("Bearer {pat}")).await;
    assert_eq!(
        by_pat, as_bearer,
        "a PAT as the password answers like the PAT itself"
    );
    assert_eq!(by_pat["scope"], "data");
    // a revoked PAT is neither a PAT nor the password
    app.state
        .store
        .revoke_pat(&pat_id, None, app.clock_now())
        .await
        .unwrap();
    app.state.sync_revocations().await;
    let (status, _) = validate(&app, &basic("bob", &pat)).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn basic_at_validate_is_off_by_default_and_by_the_key() {
    for app in [
        spawn_app().await,
        AppBuilder::new().set(KEY, "false").spawn().await,
    ] {
        let bob = app.add_user("bob", "bob-password-1").await;
        let (_, pat) = issue_pat(&app, &bob, "data", None).await;
        let (status, _) = validate(&app, &basic("bob", "bob-password-1")).await;
        assert_eq!(status, 401);
        let (status, _) = validate(&app, &basic("bob", &pat)).await;
        assert_eq!(status, 401);
        // and no argon2 ran: nothing was verified
        let user = app.state.store.user_by_name("bob").await.unwrap().unwrap();
        let credentials = &app.state.credentials;
        assert!(!credentials.hit(
            &credentials.fingerprint("bob", "bob-password-1"),
            &user,
            app.clock_now()
        ));
        // tokens still work
        let (status, _) = validate(&app, &format!("Bearer {pat}")).await;
        assert_eq!(status, 200);
    }
}

#[tokio::test]
async fn a_verified_basic_credential_is_served_from_the_credential_cache() {
    let app = app_with_basic().await;
    app.add_user("bob", "bob-password-1").await;
    let (status, _) = validate(&app, &basic("bob", "bob-password-1")).await;
    assert_eq!(status, 200);
    let user = app.state.store.user_by_name("bob").await.unwrap().unwrap();
    let credentials = &app.state.credentials;
    assert!(credentials.hit(
        &credentials.fingerprint("bob", "bob-password-1"),
        &user,
        app.clock_now()
    ));
    // a password change ends the cached pair at once
    let hash = authserver::password::hash("bob-password-2").unwrap();
    app.state
        .store
        .set_password("bob", &hash, app.clock_now())
        .await
        .unwrap();
    app.state.sync_revocations().await;
    let (status, _) = validate(&app, &basic("bob", "bob-password-1")).await;
    assert_eq!(status, 401);
    let (status, _) = validate(&app, &basic("bob", "bob-password-2")).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn wrong_basic_passwords_at_validate_lock_the_user_out_like_failed_sign_ins() {
    let app = app_with_basic().await;
    app.add_user("carol", "carol-password-1").await;
    for i in 0..10 {
        // every attempt from another address: only the user's count can lock
        let resp = bare_client()
            .get(app.url("/api/validate"))
            .header("Authorization", basic("carol", "wrong-password"))
            .header("X-Forwarded-For", format!("198.51.100.{i}"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 401, "attempt {}", i + 1);
    }
    let resp = bare_client()
        .get(app.url("/api/validate"))
        .header("Authorization", basic("carol", "carol-password-1"))
        .header("X-Forwarded-For", "198.51.100.99")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 429, "locked: even the right password waits");
    assert!(resp.headers().get("retry-after").is_some());
    // the same lock holds at the login form
    let page = login_page(&app).await;
    let resp = login_from(
        &app,
        &page,
        "carol",
        "carol-password-1",
        Some("198.51.100.98"),
    )
    .await;
    assert_throttled_page(resp).await;
}
