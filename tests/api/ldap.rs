//! Directory users against a real OpenLDAP `slapd` (see `slapd.rs`): the login page and
//! `client_credentials` check their password by binding as them; wrong and empty
//! passwords, LDAP injection in the user name, a directory that goes down, a user removed
//! from the directory, changes in the directory, the throttle, local users beside, and
//! TLS (ldaps:// and StartTLS with a CA file).
use reqwest::Method;

use crate::helpers::lifecycle_helpers::{
    claims, client_credentials, client_credentials_ok, field, oauth_error, refresh,
};
use crate::helpers::pat_helpers::{
    account_page_after_sign_in, create_pat_on_page, pat_login, with_bearer,
};
use crate::helpers::{pkce_pair, AppBuilder, TestApp, CLIENT};
use crate::slapd::{slapd_available, user_dn, Slapd, ADMINS, BASE_DN};

/// A server whose directory is `slapd` (plus `extra` keys).
async fn app_with_directory(slapd: &Slapd, extra: &[(&str, &str)]) -> TestApp {
    app_with_directory_at(&slapd.url(), extra).await
}

async fn app_with_directory_at(urls: &str, extra: &[(&str, &str)]) -> TestApp {
    let mut builder = AppBuilder::new()
        .set("authentication.ldap.url", urls)
        .set("authentication.ldap.base.dn", BASE_DN)
        .set(
            "authentication.ldap.group.filter",
            "(&(objectClass=groupOfNames)(member={dn}))",
        )
        .set("authentication.ldap.admin.group", ADMINS)
        .set("authentication.ldap.timeout.seconds", "3");
    for (k, v) in extra {
        builder = builder.set(k, v);
    }
    builder.spawn().await
}

/// Submits the login form for `user` in a new browser; returns the response.
async fn login(app: &TestApp, user: &str, password: &str) -> reqwest::Response {
    let app = app.another_browser();
    let (_, challenge) = pkce_pair();
    let page = app.login_page(&app.authorize_url(&challenge, &[])).await;
    app.submit_login(&page, user, password, false).await
}

async fn user_row(app: &TestApp, name: &str) -> Option<authserver::store::User> {
    app.state.store.user_by_name(name).await.unwrap()
}

#[tokio::test]
async fn a_directory_user_signs_in_on_the_login_page_and_with_client_credentials() {
    if !slapd_available("ldap sign-in") {
        return;
    }
    let mut slapd = Slapd::start(false);
    let app = app_with_directory(&slapd, &[]).await;
    assert!(
        user_row(&app, "alice").await.is_none(),
        "no row before the first sign-in"
    );

    let tokens = app
        .another_browser()
        .tokens_for("alice", "alice-password")
        .await;
    let id = claims(&tokens, "id_token");
    assert_eq!(id["sub"], "alice");
    assert_eq!(id["name"], "Alice Liddell");
    assert_eq!(id["email"], "alice@example.org");
    let row = user_row(&app, "alice")
        .await
        .expect("created at first sign-in");
    assert_eq!(row.source.as_deref(), Some("ldap"));
    assert!(row.admin, "alice is in the admins group");
    assert_ne!(
        row.external_id.as_deref(),
        Some(user_dn("alice").as_str()),
        "known by its entryUUID, not its DN"
    );
    assert_eq!(
        app.validate_status("Bearer", field(&tokens, "access_token"))
            .await,
        200
    );

    // a program sends the directory password as the Basic user of client_credentials
    let cc = client_credentials_ok(&app, CLIENT, "alice", "alice-password").await;
    assert_eq!(claims(&cc, "access_token")["sub"], "alice");
    let cc = client_credentials_ok(&app, CLIENT, "bob", "bob-password").await;
    assert_eq!(claims(&cc, "access_token")["sub"], "bob");
    // the verified pair is cached: it keeps working while the directory is down ...
    slapd.stop();
    client_credentials_ok(&app, CLIENT, "alice", "alice-password").await;
    // ... but nothing else is decided without it
    oauth_error(
        client_credentials(&app, CLIENT, "alice", "wrong-password").await,
        503,
        "temporarily_unavailable",
    )
    .await;
}

#[tokio::test]
async fn wrong_and_empty_passwords_are_refused_and_unknown_names_make_no_user() {
    if !slapd_available("ldap wrong passwords") {
        return;
    }
    let slapd = Slapd::start(false);
    let app = app_with_directory(&slapd, &[]).await;
    for (user, password) in [
        ("alice", "wrong-password"),
        // this slapd accepts a DN with an empty password as an unauthenticated bind
        ("alice", ""),
        ("alice", "bob-password"),
        ("nobody", "nobody-password"),
    ] {
        let resp = login(&app, user, password).await;
        assert_eq!(resp.status(), 401, "{user}/{password:?}");
        oauth_error(
            client_credentials(&app, CLIENT, user, password).await,
            401,
            "invalid_client",
        )
        .await;
    }
    assert!(user_row(&app, "alice").await.is_none());
    assert!(user_row(&app, "nobody").await.is_none());
    // the account page refuses them too
    let resp = crate::helpers::pat_helpers::account_sign_in(&app, "alice", "").await;
    assert_eq!(resp.status(), 401);
}

#[tokio::test]
async fn ldap_injection_in_the_user_name_matches_nobody() {
    if !slapd_available("ldap injection") {
        return;
    }
    let slapd = Slapd::start(false);
    let app = app_with_directory(&slapd, &[]).await;
    // unescaped, each of these filters would find alice, whose password is given
    let names = [
        "*",
        "ali*",
        "alice)(uid=*",
        "alice)(|(uid=*",
        "admin)(|(uid=*",
        "*)(objectClass=*",
        "alice\\2a",
    ];
    for name in names {
        let resp = login(&app, name, "alice-password").await;
        assert_eq!(resp.status(), 401, "{name:?} must not sign in");
    }
    // (fewer than the throttle's 10 failures from this address in all)
    for name in &names[..2] {
        oauth_error(
            client_credentials(&app, CLIENT, name, "alice-password").await,
            401,
            "invalid_client",
        )
        .await;
    }
    let users = app.state.store.list_users().await.unwrap();
    assert!(users.is_empty(), "no user was made: {users:?}");
    // the real name still works
    assert_eq!(login(&app, "alice", "alice-password").await.status(), 303);
}

#[tokio::test]
async fn a_directory_that_goes_down_gives_503_and_accepts_no_password_until_it_is_back() {
    if !slapd_available("ldap down") {
        return;
    }
    let mut slapd = Slapd::start(false);
    let app = app_with_directory(&slapd, &[]).await;
    assert_eq!(login(&app, "bob", "bob-password").await.status(), 303);

    slapd.stop();
    for password in ["bob-password", "wrong-password"] {
        let resp = login(&app, "bob", password).await;
        assert_eq!(resp.status(), 503);
        assert_eq!(resp.headers()["retry-after"], "30");
        let html = resp.text().await.unwrap();
        assert!(html.contains("The directory is unavailable"), "{html}");
        let body = oauth_error(
            client_credentials(&app, CLIENT, "carol", password).await,
            503,
            "temporarily_unavailable",
        )
        .await;
        assert!(body["error_description"]
            .as_str()
            .unwrap()
            .contains("directory"));
    }
    // an outage does not count against the throttle
    for _ in 0..12 {
        assert_eq!(login(&app, "carol", "carol-password").await.status(), 503);
    }
    // a local user does not need the directory
    app.add_user("local-lou", "local-password").await;
    assert_eq!(
        login(&app, "local-lou", "local-password").await.status(),
        303
    );

    slapd.restart();
    assert_eq!(login(&app, "carol", "carol-password").await.status(), 303);
    assert_eq!(login(&app, "bob", "wrong-password").await.status(), 401);
}

#[tokio::test]
async fn the_next_url_is_tried_when_a_server_is_down() {
    if !slapd_available("ldap fail-over") {
        return;
    }
    let slapd = Slapd::start(false);
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("ldap://127.0.0.1:{}", dead.local_addr().unwrap().port());
    drop(dead);
    let app = app_with_directory_at(&format!("{dead_url}, {}", slapd.url()), &[]).await;
    assert_eq!(login(&app, "alice", "alice-password").await.status(), 303);
    assert_eq!(login(&app, "alice", "wrong-password").await.status(), 401);
}

#[tokio::test]
async fn a_user_removed_from_the_directory_is_refused_disabled_and_its_tokens_die() {
    if !slapd_available("ldap removed user") {
        return;
    }
    let slapd = Slapd::start(false);
    let app = app_with_directory(&slapd, &[]).await;
    slapd.add_user("dan", "Dan Leaver", "dan@example.org").await;
    let tokens = app
        .another_browser()
        .tokens_for("dan", "dan-password")
        .await;
    let access = field(&tokens, "access_token").to_string();
    let refresh_token = field(&tokens, "refresh_token").to_string();
    assert_eq!(app.validate_status("Bearer", &access).await, 200);

    slapd.delete(&user_dn("dan")).await;
    assert_eq!(login(&app, "dan", "dan-password").await.status(), 401);
    let row = user_row(&app, "dan").await.unwrap();
    assert!(row.disabled, "the user left the directory: disabled here");
    assert_eq!(app.validate_status("Bearer", &access).await, 401);
    oauth_error(
        refresh(&app, CLIENT, &refresh_token, &[]).await,
        400,
        "invalid_grant",
    )
    .await;
}

#[tokio::test]
async fn a_disabled_active_directory_account_is_refused() {
    if !slapd_available("ldap AD disabled") {
        return;
    }
    let slapd = Slapd::start(false);
    let app = app_with_directory(&slapd, &[]).await;
    // the right password, but userAccountControl has ACCOUNTDISABLE
    assert_eq!(login(&app, "dis", "dis-password").await.status(), 401);
    oauth_error(
        client_credentials(&app, CLIENT, "dis", "dis-password").await,
        401,
        "invalid_client",
    )
    .await;
    // and a directory user it disabled earlier gets the flag too
    let user = user_row(&app, "dis").await;
    assert!(user.is_none() || user.unwrap().disabled);
}

#[tokio::test]
async fn name_email_and_admin_group_changes_in_the_directory_show_at_the_next_sign_in() {
    if !slapd_available("ldap changes") {
        return;
    }
    let slapd = Slapd::start(false);
    let app = app_with_directory(&slapd, &[]).await;
    let first = app
        .another_browser()
        .tokens_for("bob", "bob-password")
        .await;
    assert_eq!(claims(&first, "id_token")["name"], "Bob Builder");
    assert!(!user_row(&app, "bob").await.unwrap().admin);

    slapd
        .replace(&user_dn("bob"), "cn", &["Robert Builder"])
        .await;
    slapd
        .replace(&user_dn("bob"), "mail", &["robert@example.org"])
        .await;
    slapd.set_admin("bob", true).await;
    slapd.set_admin("alice", false).await;
    let second = app
        .another_browser()
        .tokens_for("bob", "bob-password")
        .await;
    let id = claims(&second, "id_token");
    assert_eq!(id["name"], "Robert Builder");
    assert_eq!(id["email"], "robert@example.org");
    let bob = user_row(&app, "bob").await.unwrap();
    assert!(bob.admin, "bob joined the admins group");
    assert_eq!(bob.email.as_deref(), Some("robert@example.org"));

    // alice's management token stops at her next sign-in after leaving the group
    app.another_browser()
        .tokens_for("alice", "alice-password")
        .await;
    let alice = user_row(&app, "alice").await.unwrap();
    assert!(!alice.admin);
    let (_, pat) = crate::helpers::pat_helpers::issue_pat(&app, &bob, "management", None).await;
    let resp = with_bearer(&app, Method::GET, "/api/users", &pat)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let listed: serde_json::Value = resp.json().await.unwrap();
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["username"] == "bob" && u["source"] == "ldap"),
        "{listed}"
    );
}

#[tokio::test]
async fn the_throttle_applies_to_directory_passwords() {
    if !slapd_available("ldap throttle") {
        return;
    }
    let slapd = Slapd::start(false);
    let app = app_with_directory(&slapd, &[]).await;
    for i in 0..10 {
        let resp = login(&app, "carol", "wrong-password").await;
        assert_eq!(resp.status(), 401, "attempt {}", i + 1);
    }
    // locked: the right password is not even sent to the directory
    assert_eq!(login(&app, "carol", "carol-password").await.status(), 429);
    let resp = client_credentials(&app, CLIENT, "carol", "carol-password").await;
    assert_eq!(resp.status(), 429);
    app.clock.advance(3);
    assert_eq!(login(&app, "carol", "carol-password").await.status(), 303);
}

#[tokio::test]
async fn local_users_keep_working_beside_and_a_local_name_wins() {
    if !slapd_available("ldap local users") {
        return;
    }
    let slapd = Slapd::start(false);
    let app = app_with_directory(&slapd, &[]).await;
    app.add_user("lou", "local-password").await;
    app.add_user("carol", "carols-local-password").await;
    assert_eq!(login(&app, "lou", "local-password").await.status(), 303);
    // carol is local here: her local password decides, the directory is not asked
    assert_eq!(
        login(&app, "carol", "carols-local-password").await.status(),
        303
    );
    assert_eq!(login(&app, "carol", "carol-password").await.status(), 401);
    let row = user_row(&app, "carol").await.unwrap();
    assert!(row.source.is_none(), "the local user stays local");
}

#[tokio::test]
async fn with_credentials_disabled_only_the_directory_checks_passwords() {
    if !slapd_available("ldap disable.credentials") {
        return;
    }
    let slapd = Slapd::start(false);
    let app = app_with_directory(&slapd, &[("authentication.disable.credentials", "true")]).await;
    app.add_user("lou", "local-password").await;
    app.add_user("carol", "carols-local-password").await;
    // local passwords are not accepted any more, on the form or from programs
    assert_eq!(login(&app, "lou", "local-password").await.status(), 401);
    oauth_error(
        client_credentials(&app, CLIENT, "lou", "local-password").await,
        401,
        "invalid_client",
    )
    .await;
    assert_eq!(
        login(&app, "carol", "carols-local-password").await.status(),
        401
    );
    // the directory decides, but carol's name belongs to a local user: not merged
    assert_eq!(login(&app, "carol", "carol-password").await.status(), 401);
    assert!(user_row(&app, "carol").await.unwrap().source.is_none());
    // the form still works for directory users
    assert_eq!(login(&app, "alice", "alice-password").await.status(), 303);

    // with linking, carol's directory sign-in takes her local user over
    let linked = AppBuilder::new()
        .same_database_as(&app)
        .set("authentication.ldap.url", &slapd.url())
        .set("authentication.ldap.base.dn", BASE_DN)
        .set("authentication.disable.credentials", "true")
        .set("authentication.external.link.local", "true")
        .spawn()
        .await;
    assert_eq!(
        login(&linked, "carol", "carol-password").await.status(),
        303
    );
    let row = user_row(&linked, "carol").await.unwrap();
    assert_eq!(row.source.as_deref(), Some("ldap"));
    assert_eq!(row.name.as_deref(), Some("Carol Directory"));
}

#[tokio::test]
async fn a_directory_users_account_page_has_no_password_change_and_makes_tokens() {
    if !slapd_available("ldap account page") {
        return;
    }
    let slapd = Slapd::start(false);
    let app = app_with_directory(&slapd, &[]).await;
    let html = account_page_after_sign_in(&app, "bob", "bob-password").await;
    assert!(html.contains("id=\"external-source\""), "{html}");
    assert!(!html.contains("id=\"change-password\""), "{html}");
    // a personal access token, confirmed with the directory password
    let resp = create_pat_on_page(&app, &html, "bob-password", "ci job", "30", "data").await;
    assert_eq!(resp.status(), 200);
    let created = resp.text().await.unwrap();
    let token = crate::helpers::pat_helpers::element_text(&created, "new-token")
        .expect("the new token on the page");
    assert_eq!(pat_login(&app, CLIENT, &token).await.status(), 200);
    // the password change form is refused even when posted
    let csrf = crate::helpers::hidden_field(&html, "csrf").unwrap();
    let resp = app
        .client
        .post(app.url("/account/password"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("current_password", "bob-password"),
            ("new_password", "new-password-1"),
            ("new_password_again", "new-password-1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert!(resp.text().await.unwrap().contains("change it there"));
}

/// Both TLS variants with the test CA: ldaps:// and StartTLS on ldap://; without the CA
/// the server's certificate is not trusted (503, never a plain-text fallback).
#[tokio::test]
async fn ldaps_and_starttls_with_a_ca_file() {
    if !slapd_available("ldap tls") {
        return;
    }
    let slapd = Slapd::start(true);
    let ca = slapd.ca_file.as_ref().unwrap().display().to_string();
    let ldaps =
        app_with_directory_at(&slapd.ldaps_url(), &[("authentication.ldap.ca.file", &ca)]).await;
    assert_eq!(login(&ldaps, "alice", "alice-password").await.status(), 303);
    assert_eq!(login(&ldaps, "alice", "wrong-password").await.status(), 401);

    let starttls = app_with_directory_at(
        &format!("ldap://localhost:{}", slapd.port),
        &[
            ("authentication.ldap.ca.file", &ca),
            ("authentication.ldap.starttls", "true"),
        ],
    )
    .await;
    assert_eq!(login(&starttls, "bob", "bob-password").await.status(), 303);

    // another CA file: the certificate is refused, the sign-in is not decided
    let other = tempfile::tempdir().unwrap();
    let other_ca = other.path().join("other.pem");
    std::fs::copy(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tls/ca.pem"),
        &other_ca,
    )
    .unwrap();
    let untrusted = app_with_directory_at(
        &slapd.ldaps_url(),
        &[(
            "authentication.ldap.ca.file",
            &other_ca.display().to_string(),
        )],
    )
    .await;
    assert_eq!(
        login(&untrusted, "alice", "alice-password").await.status(),
        503
    );
}
