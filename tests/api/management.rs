//! The user-administration API: only for management PATs of administrators.
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::lifecycle_helpers::{client_credentials, client_credentials_ok, oauth_error};
use crate::helpers::pat_helpers::{
    add_admin_with_management_pat, issue_pat, pat_login, with_bearer,
};
use crate::helpers::{spawn_app, TestApp, CLIENT};

/// A server with an administrator `root` and their management PAT.
async fn app_with_admin() -> (TestApp, String) {
    let app = spawn_app().await;
    let (_, token) = add_admin_with_management_pat(&app, "root", "root-password").await;
    (app, token)
}

async fn create(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    with_bearer(app, Method::POST, "/api/users", token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn post(app: &TestApp, token: &str, path: &str) -> reqwest::Response {
    with_bearer(app, Method::POST, path, token)
        .send()
        .await
        .unwrap()
}

async fn json_of(resp: reqwest::Response, status: u16) -> Value {
    let got = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    assert_eq!(got, status, "{text}");
    serde_json::from_str(&text).unwrap()
}

#[tokio::test]
async fn an_admins_management_pat_lists_creates_disables_and_enables_users() {
    let (app, token) = app_with_admin().await;
    app.add_user("alice", "alice-password").await;

    let list = json_of(
        with_bearer(&app, Method::GET, "/api/users", &token)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(
        list,
        json!([
            {"username": "alice", "name": "alice Example", "email": "alice@example.com", "admin": false, "roles": ["user"], "disabled": false},
            {"username": "root", "name": "root Example", "email": "root@example.com", "admin": true, "roles": ["admin", "user"], "disabled": false},
        ])
    );

    let resp = create(
        &app,
        &token,
        json!({"username": "bob", "password": "bob-initial-pw", "name": "Bob B", "email": "bob@example.com"}),
    )
    .await;
    assert_eq!(
        resp.headers()["cache-control"].to_str().unwrap(),
        "no-store"
    );
    let bob = json_of(resp, 201).await;
    assert_eq!(
        bob,
        json!({"username": "bob", "name": "Bob B", "email": "bob@example.com", "admin": false, "roles": ["user"], "disabled": false})
    );
    let stored = app.state.store.user_by_name("bob").await.unwrap().unwrap();
    assert!(stored.password_hash.starts_with("$argon2id$"));
    client_credentials_ok(&app, CLIENT, "bob", "bob-initial-pw").await;

    // a minimal body; admin may be set
    let carol = json_of(
        create(
            &app,
            &token,
            json!({"username": "carol", "password": "carol-password", "admin": true}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(carol["admin"], true);
    assert_eq!(carol["name"], Value::Null);

    let dup = create(
        &app,
        &token,
        json!({"username": "bob", "password": "another-password"}),
    )
    .await;
    oauth_error(dup, 409, "conflict").await;

    let disabled = json_of(post(&app, &token, "/api/users/bob/disable").await, 200).await;
    assert_eq!(disabled["disabled"], true);
    assert_eq!(disabled["username"], "bob");
    oauth_error(
        client_credentials(&app, CLIENT, "bob", "bob-initial-pw").await,
        401,
        "invalid_client",
    )
    .await;
    let enabled = json_of(post(&app, &token, "/api/users/bob/enable").await, 200).await;
    assert_eq!(enabled["disabled"], false);
    client_credentials_ok(&app, CLIENT, "bob", "bob-initial-pw").await;
}

#[tokio::test]
async fn invalid_user_bodies_get_400_naming_the_field() {
    let (app, token) = app_with_admin().await;
    let cases = [
        (json!({"password": "long-enough-pw"}), "username"),
        (
            json!({"username": "", "password": "long-enough-pw"}),
            "username",
        ),
        (
            json!({"username": "a:b", "password": "long-enough-pw"}),
            "username",
        ),
        (
            json!({"username": 7, "password": "long-enough-pw"}),
            "username",
        ),
        (json!({"username": "dave"}), "password"),
        (json!({"username": "dave", "password": "short"}), "password"),
        (
            json!({"username": "dave", "password": "long-enough-pw", "email": "not-an-address"}),
            "email",
        ),
        (
            json!({"username": "dave", "password": "long-enough-pw", "name": 3}),
            "name",
        ),
        (
            json!({"username": "dave", "password": "long-enough-pw", "admin": "yes"}),
            "admin",
        ),
        (
            json!({"username": "dave", "password": "long-enough-pw", "is_admin": true}),
            "is_admin",
        ),
    ];
    for (body, field) in cases {
        let resp = create(&app, &token, body.clone()).await;
        let err = oauth_error(resp, 400, "invalid_request").await;
        assert_eq!(err["field"], field, "{body}: {err}");
    }
    for raw in ["{not json", "[1, 2]", ""] {
        let resp = with_bearer(&app, Method::POST, "/api/users", &token)
            .header("content-type", "application/json")
            .body(raw)
            .send()
            .await
            .unwrap();
        let err = oauth_error(resp, 400, "invalid_request").await;
        assert!(err.get("field").is_none(), "{err}");
    }
    assert!(app
        .state
        .store
        .user_by_name("dave")
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn the_management_api_needs_a_management_pat_of_an_administrator() {
    let (app, mgmt) = app_with_admin().await;
    let alice = app.add_user("alice", "alice-password").await;
    let root = app.state.store.user_by_name("root").await.unwrap().unwrap();
    let (_, root_data) = issue_pat(&app, &root, "data", None).await;
    let (_, alice_data) = issue_pat(&app, &alice, "data", None).await;
    let root_jwt = client_credentials_ok(&app, CLIENT, "root", "root-password").await;
    let root_jwt = root_jwt["access_token"].as_str().unwrap().to_string();
    let from_pat: Value = pat_login(&app, CLIENT, &mgmt).await.json().await.unwrap();
    let from_pat = from_pat["access_token"].as_str().unwrap().to_string();

    let list = |token: Option<String>| {
        let app = &app;
        async move {
            let mut req = crate::helpers::bare_client().get(app.url("/api/users"));
            if let Some(t) = token {
                req = req.header("Authorization", format!("Bearer {t}"));
            }
            req.send().await.unwrap()
        }
    };
    let resp = list(None).await;
    assert!(resp.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Bearer"));
    oauth_error(resp, 401, "invalid_token").await;
    let unknown = format!("asp_{}", authserver::crypto::random_token());
    for bad in ["garbage", "a.b.c", unknown.as_str()] {
        oauth_error(list(Some(bad.into())).await, 401, "invalid_token").await;
    }
    for (what, token) in [
        ("a data PAT of an admin", &root_data),
        ("a data PAT", &alice_data),
        ("a JWT of an admin", &root_jwt),
        ("a JWT minted from a management PAT", &from_pat),
    ] {
        let resp = list(Some(token.clone())).await;
        assert_eq!(resp.status(), 403, "{what}");
        let www = resp.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(www.contains("insufficient_scope"), "{what}: {www}");
        oauth_error(resp, 403, "insufficient_scope").await;
        let resp = create(
            &app,
            token,
            json!({"username": "mallory", "password": "mallory-password"}),
        )
        .await;
        oauth_error(resp, 403, "insufficient_scope").await;
        oauth_error(
            post(&app, token, "/api/users/alice/disable").await,
            403,
            "insufficient_scope",
        )
        .await;
    }
    assert!(app
        .state
        .store
        .user_by_name("mallory")
        .await
        .unwrap()
        .is_none());
    assert!(
        !app.state
            .store
            .user_by_name("alice")
            .await
            .unwrap()
            .unwrap()
            .disabled
    );

    // an administrator who is no longer one: their management PAT is refused
    assert_eq!(list(Some(mgmt.clone())).await.status(), 200);
    app.sql_exec("UPDATE users SET admin = FALSE WHERE username = 'root'")
        .await;
    app.state.revocations.forget_user("root");
    oauth_error(list(Some(mgmt.clone())).await, 403, "insufficient_scope").await;
}

#[tokio::test]
async fn unknown_users_and_pats_get_404() {
    let (app, token) = app_with_admin().await;
    let alice = app.add_user("alice", "alice-password").await;
    app.add_user("bob", "bob-password").await;
    let (alice_pat_id, _) = issue_pat(&app, &alice, "data", None).await;
    for path in ["/api/users/nobody/disable", "/api/users/nobody/enable"] {
        oauth_error(post(&app, &token, path).await, 404, "not_found").await;
    }
    for path in [
        format!("/api/users/nobody/pats/{alice_pat_id}"),
        "/api/users/alice/pats/NoSuchPatId00000".to_string(),
        // alice's PAT is not bob's to lose
        format!("/api/users/bob/pats/{alice_pat_id}"),
    ] {
        let resp = with_bearer(&app, Method::DELETE, &path, &token)
            .send()
            .await
            .unwrap();
        oauth_error(resp, 404, "not_found").await;
    }
    let row = app
        .state
        .store
        .pat_by_id(&alice_pat_id)
        .await
        .unwrap()
        .unwrap();
    assert!(row.revoked_at.is_none());
}

#[tokio::test]
async fn deleting_a_users_pat_revokes_it_at_once() {
    let (app, token) = app_with_admin().await;
    let alice = app.add_user("alice", "alice-password").await;
    let (id, pat) = issue_pat(&app, &alice, "data", None).await;
    assert_eq!(app.validate_status("Bearer", &pat).await, 200);
    let path = format!("/api/users/alice/pats/{id}");
    let resp = with_bearer(&app, Method::DELETE, &path, &token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    assert!(resp.text().await.unwrap().is_empty());
    assert_eq!(app.validate_status("Bearer", &pat).await, 401);
    // again: still gone, still 204
    let resp = with_bearer(&app, Method::DELETE, &path, &token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    // an admin can revoke their own management PAT, after which it is dead too
    let root_pats = app
        .state
        .store
        .list_pats(Some(
            app.state
                .store
                .user_by_name("root")
                .await
                .unwrap()
                .unwrap()
                .id,
        ))
        .await
        .unwrap();
    let own = format!("/api/users/root/pats/{}", root_pats[0].id);
    let resp = with_bearer(&app, Method::DELETE, &own, &token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    let resp = with_bearer(&app, Method::GET, "/api/users", &token)
        .send()
        .await
        .unwrap();
    oauth_error(resp, 401, "invalid_token").await;
}

#[tokio::test]
async fn disabling_a_user_through_the_api_kills_their_pats_and_tokens_at_once() {
    let (app, token) = app_with_admin().await;
    let bob = app.add_user("bob", "bob-password").await;
    let (_, pat) = issue_pat(&app, &bob, "data", None).await;
    let jwt = client_credentials_ok(&app, CLIENT, "bob", "bob-password").await;
    let jwt = jwt["access_token"].as_str().unwrap().to_string();
    let minted: Value = pat_login(&app, CLIENT, &pat).await.json().await.unwrap();
    let minted = minted["access_token"].as_str().unwrap().to_string();
    for t in [&pat, &jwt, &minted] {
        assert_eq!(app.validate_status("Bearer", t).await, 200);
    }
    json_of(post(&app, &token, "/api/users/bob/disable").await, 200).await;
    for t in [&pat, &jwt, &minted] {
        assert_eq!(app.validate_status("Bearer", t).await, 401);
    }
    json_of(post(&app, &token, "/api/users/bob/enable").await, 200).await;
    // the password works again; the PAT stays dead
    client_credentials_ok(&app, CLIENT, "bob", "bob-password").await;
    assert_eq!(app.validate_status("Bearer", &pat).await, 401);
    oauth_error(pat_login(&app, CLIENT, &pat).await, 401, "invalid_client").await;
}
