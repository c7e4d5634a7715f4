//! Service accounts (issue 18, Patchworks' API keys): a user with no password and the role
//! `api-user` that acts only through its key, a non-expiring PAT; listed apart from
//! people; it never signs in interactively; removing it (or rotating its key) revokes
//! what it had.
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::lifecycle_helpers::{client_credentials, field, introspect};
use crate::helpers::pat_helpers::{
    add_admin_with_management_pat, add_user_as, pat_login, with_bearer,
};
use crate::helpers::*;
use crate::lockout::login_page;

/// A server with an administrator `root` and their management PAT.
async fn app_with_admin(builder: AppBuilder) -> (TestApp, String) {
    let app = builder.spawn().await;
    let (_, token) = add_admin_with_management_pat(&app, "root", "root-password-1").await;
    (app, token)
}

async fn create(app: &TestApp, admin_token: &str, name: &str) -> Value {
    let resp = with_bearer(app, Method::POST, "/api/service-accounts", admin_token)
        .json(&json!({"username": name, "name": format!("{name} system")}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    resp.json().await.unwrap()
}

#[tokio::test]
async fn an_api_key_is_a_service_account_with_the_api_user_role_listed_apart_from_people() {
    let (app, token) = app_with_admin(AppBuilder::new()).await;
    app.add_user("bob", "bob-password-1").await;
    let erp = create(&app, &token, "erp").await;
    let shop = create(&app, &token, "shop").await;
    assert_eq!(erp["roles"], json!(["api-user"]));
    let key = field(&erp, "key");
    assert!(key.starts_with("asp_"));
    assert_ne!(key, field(&shop, "key"), "one key per connected system");
    // the key is a non-expiring data PAT of the account
    let seen = introspect(&app, key).await;
    assert_eq!(seen["active"], true);
    assert_eq!(seen["sub"], "erp");
    assert_eq!(seen["scope"], "data");
    assert_eq!(seen["roles"], json!(["api-user"]));
    assert!(seen.get("exp").is_none(), "never expires: {seen}");

    // listed apart: /api/service-accounts has them (without their keys), /api/users not
    let accounts: Value = with_bearer(&app, Method::GET, "/api/service-accounts", &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = accounts
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["erp", "shop"]);
    assert!(accounts[0].get("key").is_none());
    assert_eq!(accounts[0]["key_id"], erp["key_id"]);
    let people: Value = with_bearer(&app, Method::GET, "/api/users", &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = people
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["bob", "root"]);
    // and on the command line
    let people = String::from_utf8(app.cli(&["user", "list"], None).stdout).unwrap();
    assert!(!people.contains("erp"), "{people}");
    let accounts = String::from_utf8(app.cli(&["service-account", "list"], None).stdout).unwrap();
    assert_eq!(accounts.lines().count(), 2, "{accounts}");
    assert!(
        accounts.starts_with("erp\terp system\tapi-user\t"),
        "{accounts}"
    );
}

#[tokio::test]
async fn a_service_account_cannot_sign_in_interactively() {
    let (app, token) = app_with_admin(
        AppBuilder::new()
            .set("authentication.client.password", CLIENT)
            .set("authentication.validate.basic", "true"),
    )
    .await;
    let erp = create(&app, &token, "erp").await;
    let key = field(&erp, "key").to_string();
    let stored = app.state.store.user_by_name("erp").await.unwrap().unwrap();
    assert!(stored.service_account);
    assert_eq!(stored.password_hash, authserver::store::NO_PASSWORD);
    // no password works anywhere: not the stored hash text, nor the key as a password
    // (4 attempts each: 8 stay under the lockout's 10)
    for password in ["!", key.as_str()] {
        let page = login_page(&app).await;
        let resp = app.submit_login(&page, "erp", password, false).await;
        assert_eq!(resp.status(), 401, "login form with {password:?}");
        let resp = crate::helpers::pat_helpers::account_sign_in(&app, "erp", password).await;
        assert_eq!(resp.status(), 401, "account page with {password:?}");
        let resp = client_credentials(&app, CLIENT, "erp", password).await;
        assert_eq!(resp.status(), 401, "client_credentials with {password:?}");
        let resp = bare_client()
            .post(app.url("/api/token"))
            .header("X-Auth-Secret", SECRET)
            .form(&[
                ("grant_type", "password"),
                ("client_id", CLIENT),
                ("username", "erp"),
                ("password", password),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 400, "password grant with {password:?}");
    }
    // what it can do: use its key, as a token or in the secret-key login
    assert_eq!(app.validate_status("Bearer", &key).await, 200);
    let resp = pat_login(&app, CLIENT, &key).await;
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn removing_a_service_account_revokes_its_key_and_tokens() {
    let (app, token) = app_with_admin(AppBuilder::new()).await;
    let erp = create(&app, &token, "erp").await;
    let key = field(&erp, "key").to_string();
    let tokens: Value = pat_login(&app, CLIENT, &key).await.json().await.unwrap();
    let jwt = field(&tokens, "access_token").to_string();
    assert_eq!(app.validate_status("Bearer", &jwt).await, 200);
    assert_eq!(app.validate_status("Bearer", &key).await, 200);

    let resp = with_bearer(&app, Method::DELETE, "/api/service-accounts/erp", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    assert_eq!(app.validate_status("Bearer", &key).await, 401);
    assert_eq!(app.validate_status("Bearer", &jwt).await, 401);
    assert!(app.state.store.user_by_name("erp").await.unwrap().is_none());
    // a person is not removed through this API
    app.add_user("bob", "bob-password-1").await;
    let resp = with_bearer(&app, Method::DELETE, "/api/service-accounts/bob", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    assert!(app.state.store.user_by_name("bob").await.unwrap().is_some());
}

#[tokio::test]
async fn rotating_a_key_revokes_the_old_one_and_its_tokens() {
    let (app, token) = app_with_admin(AppBuilder::new()).await;
    let erp = create(&app, &token, "erp").await;
    let old = field(&erp, "key").to_string();
    let tokens: Value = pat_login(&app, CLIENT, &old).await.json().await.unwrap();
    let jwt = field(&tokens, "access_token").to_string();
    let resp = with_bearer(&app, Method::POST, "/api/service-accounts/erp/key", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let rotated: Value = resp.json().await.unwrap();
    let new = field(&rotated, "key");
    assert_ne!(new, old);
    assert_eq!(app.validate_status("Bearer", &old).await, 401);
    assert_eq!(app.validate_status("Bearer", &jwt).await, 401);
    assert_eq!(app.validate_status("Bearer", new).await, 200);
}

#[tokio::test]
async fn service_accounts_are_managed_from_the_command_line() {
    let app = spawn_app().await;
    let out = app.cli(
        &["service-account", "add", "backup", "--name", "Backup job"],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(key.starts_with("asp_"), "stdout is the key alone: {key}");
    assert_eq!(app.validate_status("Bearer", &key).await, 200);
    let out = app.cli(&["service-account", "add", "backup"], None);
    assert_eq!(out.status.code(), Some(1), "the name is taken");

    let out = app.cli(&["service-account", "rotate", "backup"], None);
    assert!(out.status.success());
    let new_key = String::from_utf8(out.stdout).unwrap().trim().to_string();
    crate::helpers::pat_helpers::wait_for_validate(&app, &key, 401, 10).await;
    assert_eq!(app.validate_status("Bearer", &new_key).await, 200);

    let out = app.cli(&["service-account", "remove", "backup"], None);
    assert!(out.status.success());
    crate::helpers::pat_helpers::wait_for_validate(&app, &new_key, 401, 10).await;
    let out = app.cli(&["service-account", "remove", "backup"], None);
    assert_eq!(out.status.code(), Some(1));
}

#[tokio::test]
async fn the_pat_address_opens_the_account_pages_token_section_after_signing_in() {
    let app = spawn_app().await;
    app.add_user("bob", "bob-password-1").await;
    let resp = app.get(&app.url("/pat")).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(
        location(&resp),
        "/authentication/account?then=tokens#tokens"
    );
    // not signed in: the account page's sign-in form, which comes back to the section
    let resp = app.get(&app.url("/account?then=tokens")).await;
    assert_eq!(resp.status(), 200);
    let html = resp.text().await.unwrap();
    assert_eq!(hidden_field(&html, "then").as_deref(), Some("tokens"));
    let csrf = hidden_field(&html, "csrf").unwrap();
    let resp = app
        .client
        .post(app.url("/account/login"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("then", "tokens"),
            ("username", "bob"),
            ("password", "bob-password-1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    assert_eq!(location(&resp), "/authentication/account#tokens");
    let html = app.get(&app.url("/account")).await.text().await.unwrap();
    assert!(html.contains(r#"<h2 id="tokens">"#), "{html}");
    // signed in already: straight there
    let resp = app.get(&app.url("/pat")).await;
    assert_eq!(
        location(&resp),
        "/authentication/account?then=tokens#tokens"
    );
}

#[tokio::test]
async fn an_administrator_creates_and_removes_service_accounts_on_the_account_page() {
    use crate::helpers::pat_helpers::account_page_after_sign_in;
    let app = spawn_app().await;
    add_user_as(&app, "root", "root-password-1", true).await;
    let page = account_page_after_sign_in(&app, "root", "root-password-1").await;
    assert!(page.contains(r#"id="service-accounts""#), "{page}");
    let csrf = hidden_field(&page, "csrf").unwrap();
    let create = |password: &'static str| {
        let csrf = csrf.clone();
        let app = &app;
        async move {
            app.client
                .post(app.url("/account/service-accounts"))
                .form(&[
                    ("csrf", csrf.as_str()),
                    ("username", "erp"),
                    ("name", "ERP"),
                    ("current_password", password),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    // the administrator's password is asked again
    let resp = create("wrong-password").await;
    assert_eq!(resp.status(), 400);
    assert!(app.state.store.user_by_name("erp").await.unwrap().is_none());
    let resp = create("root-password-1").await;
    assert_eq!(resp.status(), 200);
    let html = html_unescape(&resp.text().await.unwrap());
    let start = html.find("asp_").expect("the key is shown once");
    let key = &html[start..start + 47];
    assert_eq!(app.validate_status("Bearer", key).await, 200);
    let page = app.get(&app.url("/account")).await.text().await.unwrap();
    assert!(page.contains(r#"data-service-account="erp""#), "{page}");
    assert!(!page.contains(key), "the key is never shown again");

    let resp = app
        .client
        .post(app.url("/account/service-accounts/remove"))
        .form(&[("csrf", csrf.as_str()), ("username", "erp")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(app.validate_status("Bearer", key).await, 401);

    // a person who is no administrator has no such section and cannot post to it
    app.add_user("bob", "bob-password-1").await;
    let bob = app.another_browser();
    let page = account_page_after_sign_in(&bob, "bob", "bob-password-1").await;
    assert!(!page.contains(r#"id="service-accounts""#));
    let csrf = hidden_field(&page, "csrf").unwrap();
    let resp = bob
        .client
        .post(bob.url("/account/service-accounts"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", "sneaky"),
            ("current_password", "bob-password-1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    assert!(app
        .state
        .store
        .user_by_name("sneaky")
        .await
        .unwrap()
        .is_none());
}
