//! Roles (issue 18): `admin`, `user`, `api-user` and defined roles; in tokens, in
//! introspection and `/api/validate`; a change ends the tokens of the old roles; existing
//! databases migrate (administrators become `admin`, everyone else `user`).
use std::borrow::Cow;
use std::path::Path;
use std::str::FromStr;

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::lifecycle_helpers::{claims, field, introspect};
use crate::helpers::pat_helpers::{
    add_admin_with_management_pat, add_user_as, issue_pat, with_bearer,
};
use crate::helpers::*;

/// The first migration of issue 18: the database is left as it was before it.
const ROLES_MIGRATION: i64 = 20261202000040;

/// Applies the migrations older than issue 18's to the database at `url`.
async fn migrate_to_before_roles(url: &str) {
    let backend = if is_sqlite_url(url) {
        "sqlite"
    } else {
        "postgres"
    };
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend);
    let all = sqlx::migrate::Migrator::new(dir).await.unwrap();
    let older: Vec<_> = all
        .migrations
        .iter()
        .filter(|m| m.version < ROLES_MIGRATION)
        .cloned()
        .collect();
    let migrator = sqlx::migrate::Migrator {
        migrations: Cow::Owned(older),
        ..sqlx::migrate::Migrator::DEFAULT
    };
    if is_sqlite_url(url) {
        let options = sqlx::sqlite::SqliteConnectOptions::from_str(url)
            .unwrap()
            .create_if_missing(true);
        let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
        migrator.run(&pool).await.unwrap();
        pool.close().await;
    } else {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        migrator.run(&pool).await.unwrap();
        pool.close().await;
    }
}

#[tokio::test]
async fn an_existing_database_migrates_administrators_to_admin_and_everyone_else_to_user() {
    let db = TestDb::new().await;
    migrate_to_before_roles(db.url()).await;
    for (name, admin) in [("old-admin", true), ("old-user", false)] {
        Sql::new(
            db.url(),
            "INSERT INTO users (username, password_hash, admin, created_at, updated_at)
             VALUES ($1, $2, $3, 1, 1)",
        )
        .bind(name)
        .bind(authserver::password::hash("old-password-1").unwrap())
        .bind(admin)
        .exec()
        .await;
    }
    // the server applies the remaining migrations at start
    let app = AppBuilder::new().on_database(db.clone()).spawn().await;
    let stored = app
        .sql_strings("SELECT roles FROM users ORDER BY username")
        .await;
    assert_eq!(stored, vec!["admin", "user"]);
    let admin = app
        .state
        .store
        .user_by_name("old-admin")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(admin.roles, vec!["admin"]);
    assert!(admin.admin);
    let user = app
        .state
        .store
        .user_by_name("old-user")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.roles, vec!["user"]);
    assert!(!user.service_account);
    // and the migrated administrator still runs the management API
    let (_, token) = issue_pat(&app, &admin, "management", None).await;
    let resp = with_bearer(&app, Method::GET, "/api/users", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn tokens_introspection_and_validate_carry_the_users_roles() {
    let app = spawn_app().await;
    add_user_as(&app, "ada", "ada-password-1", true).await;
    app.add_user("bob", "bob-password-1").await;
    for (name, password, want) in [
        ("ada", "ada-password-1", json!(["admin", "user"])),
        ("bob", "bob-password-1", json!(["user"])),
    ] {
        let tokens = app.another_browser().tokens_for(name, password).await;
        assert_eq!(claims(&tokens, "access_token")["roles"], want);
        assert_eq!(claims(&tokens, "id_token")["roles"], want);
        assert_eq!(
            introspect(&app, field(&tokens, "access_token")).await["roles"],
            want
        );
        let validated: Value = app
            .client
            .get(app.url("/api/validate"))
            .bearer_auth(field(&tokens, "id_token"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(validated["roles"], want);
    }
}

/// `PUT /api/users/{name}/roles` as the administrator holding `token`.
async fn put_roles(app: &TestApp, token: &str, user: &str, roles: Value) -> reqwest::Response {
    with_bearer(app, Method::PUT, &format!("/api/users/{user}/roles"), token)
        .json(&json!({ "roles": roles }))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_role_change_ends_the_tokens_issued_under_the_old_roles() {
    let app = spawn_app().await;
    let (_, admin_token) = add_admin_with_management_pat(&app, "root", "root-password-1").await;
    app.add_user("bob", "bob-password-1").await;
    let resp = with_bearer(&app, Method::POST, "/api/roles", &admin_token)
        .json(&json!({"name": "manager", "description": "may approve timesheets"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);

    let before = app.tokens_for("bob", "bob-password-1").await;
    let access = field(&before, "access_token").to_string();
    assert_eq!(app.validate_status("Bearer", &access).await, 200);

    let resp = put_roles(&app, &admin_token, "bob", json!(["user", "manager"])).await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["roles"], json!(["manager", "user"]));

    // the token of the old roles is refused, its refresh token too
    assert_eq!(app.validate_status("Bearer", &access).await, 401);
    let resp = crate::helpers::lifecycle_helpers::refresh(
        &app,
        CLIENT,
        field(&before, "refresh_token"),
        &[],
    )
    .await;
    assert_eq!(resp.status(), 400);
    // a new sign-in carries the new roles
    let after = app
        .another_browser()
        .tokens_for("bob", "bob-password-1")
        .await;
    assert_eq!(
        claims(&after, "access_token")["roles"],
        json!(["manager", "user"])
    );

    // unknown roles are refused, and so is a non-administrator
    let resp = put_roles(&app, &admin_token, "bob", json!(["user", "wizard"])).await;
    assert_eq!(resp.status(), 400);
    let bob = app.state.store.user_by_name("bob").await.unwrap().unwrap();
    let (_, data_token) = issue_pat(&app, &bob, "data", None).await;
    let resp = put_roles(&app, &data_token, "bob", json!(["admin"])).await;
    assert_eq!(resp.status(), 403);
}

#[tokio::test]
async fn the_management_api_follows_the_admin_role() {
    let app = spawn_app().await;
    let (_, root_token) = add_admin_with_management_pat(&app, "root", "root-password-1").await;
    let (_, ada_token) = add_admin_with_management_pat(&app, "ada", "ada-password-1").await;
    let list = |token: String| {
        let app = &app;
        async move {
            with_bearer(app, Method::GET, "/api/users", &token)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(list(ada_token.clone()).await, 200);
    // ada loses the admin role: her management token stops working (403), and she gets
    // no new one
    let resp = put_roles(&app, &root_token, "ada", json!(["user"])).await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["admin"], false, "the admin flag follows the role");
    assert_eq!(list(ada_token.clone()).await, 403);
    let ada = app.state.store.user_by_name("ada").await.unwrap().unwrap();
    assert!(!ada.admin);
    let refused = authserver::domain::pat::issue(
        &app.state.store,
        &ada,
        &authserver::domain::pat::PatRequest {
            description: "again",
            scope: authserver::domain::pat::PatScope::Management,
            expires_in_days: None,
        },
        app.clock_now(),
    )
    .await;
    assert!(refused.is_err());
    // given back, the same token works again (a PAT is re-read, not re-issued)
    let resp = put_roles(&app, &root_token, "ada", json!(["admin"])).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(list(ada_token).await, 200);
}

#[tokio::test]
async fn roles_are_defined_assigned_and_removed_from_the_command_line() {
    let app = spawn_app().await;
    app.add_user("bob", "bob-password-1").await;
    let out = app.cli(
        &["role", "add", "manager", "--description", "approves"],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = app.cli(&["role", "add", "admin"], None);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a built-in role cannot be defined again"
    );
    let out = app.cli(&["role", "add", "Bad Name"], None);
    assert_eq!(out.status.code(), Some(2));

    let listing = String::from_utf8(app.cli(&["role", "list"], None).stdout).unwrap();
    let names: Vec<&str> = listing
        .lines()
        .map(|l| l.split('\t').next().unwrap())
        .collect();
    assert_eq!(names, vec!["admin", "user", "api-user", "manager"]);

    let out = app.cli(&["user", "roles", "bob", "--add", "manager"], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "bob\tmanager,user\n"
    );
    let out = app.cli(&["user", "roles", "bob", "--add", "wizard"], None);
    assert_eq!(out.status.code(), Some(2), "an unknown role");
    let listing = String::from_utf8(app.cli(&["user", "list"], None).stdout).unwrap();
    assert!(
        listing.contains("bob\tbob Example\tbob@example.com\t-\tmanager,user"),
        "{listing}"
    );

    // removing the role takes it from its holders
    let out = app.cli(&["role", "remove", "manager"], None);
    assert!(out.status.success());
    let out = app.cli(&["role", "remove", "user"], None);
    assert_eq!(out.status.code(), Some(2), "built-in roles stay");
    app.state.sync_revocations().await;
    let bob = app.state.store.user_by_name("bob").await.unwrap().unwrap();
    assert_eq!(bob.roles, vec!["user"]);

    // `user roles --add admin` makes an administrator
    let out = app.cli(&["user", "roles", "bob", "--add", "admin"], None);
    assert!(out.status.success());
    let bob = app.state.store.user_by_name("bob").await.unwrap().unwrap();
    assert!(bob.admin);
}

#[tokio::test]
async fn the_role_api_lists_defines_and_removes_roles() {
    let app = spawn_app().await;
    let (_, token) = add_admin_with_management_pat(&app, "root", "root-password-1").await;
    let resp = with_bearer(&app, Method::POST, "/api/roles", &token)
        .json(&json!({"name": "auditor"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let resp = with_bearer(&app, Method::POST, "/api/roles", &token)
        .json(&json!({"name": "auditor"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 409);
    let list: Value = with_bearer(&app, Method::GET, "/api/roles", &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["admin", "user", "api-user", "auditor"]);
    assert_eq!(list[3]["built_in"], false);
    let resp = with_bearer(&app, Method::DELETE, "/api/roles/auditor", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    let resp = with_bearer(&app, Method::DELETE, "/api/roles/admin", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    // a user can be created with roles
    let resp = with_bearer(&app, Method::POST, "/api/users", &token)
        .json(&json!({"username": "dan", "password": "dan-password-1", "roles": ["user", "api-user"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["roles"], json!(["api-user", "user"]));
    let resp = with_bearer(&app, Method::POST, "/api/users", &token)
        .json(&json!({"username": "eve", "password": "eve-password-1", "roles": ["nope"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert!(app.state.store.user_by_name("eve").await.unwrap().is_none());
}
