//! The device authorization grant (RFC 8628): the device endpoint, the verification page,
//! and every answer of the token endpoint's polls.
use serde_json::Value;

use crate::helpers::{
    bare_client, hidden_field, jwt_parts, spawn_app, AppBuilder, TestApp, CLIENT, REDIRECT, SECRET,
};

const GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
const USER: &str = "device-user";
const PASSWORD: &str = "device-password-1";

/// Starts a device authorization for `client` (Basic client:secret).
async fn start(app: &TestApp, client: &str, scope: &str) -> Value {
    let resp = bare_client()
        .post(app.url("/api/oidc/device_code"))
        .basic_auth(client, Some(SECRET))
        .form(&[("scope", scope)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    resp.json().await.unwrap()
}

/// One poll of the token endpoint; returns (status, body).
async fn poll(app: &TestApp, client: &str, device_code: &str) -> (u16, Value) {
    let resp = bare_client()
        .post(app.url("/api/token"))
        .basic_auth(client, Some(SECRET))
        .form(&[("grant_type", GRANT), ("device_code", device_code)])
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

fn error_of(answer: &(u16, Value)) -> &str {
    answer.1["error"].as_str().unwrap_or("")
}

/// The verification page for `url` in a fresh browser; returns the browser and the CSRF token.
async fn open_page(url: &str) -> (reqwest::Client, String, String) {
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let resp = browser.get(url).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let page = resp.text().await.unwrap();
    let csrf = hidden_field(&page, "csrf").expect("csrf field");
    (browser, csrf, page)
}

async fn post_page(
    app: &TestApp,
    browser: &reqwest::Client,
    form: &[(&str, &str)],
) -> (u16, String) {
    let resp = browser
        .post(app.url("/device"))
        .form(form)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

/// A user signs in on the verification page and decides (`approve` or `deny`).
async fn decide(app: &TestApp, started: &Value, decision: &str) {
    let (browser, csrf, page) =
        open_page(started["verification_uri_complete"].as_str().unwrap()).await;
    let user_code = started["user_code"].as_str().unwrap();
    assert!(page.contains(user_code), "the code is filled in");
    let (status, confirm) = post_page(
        app,
        &browser,
        &[
            ("csrf", &csrf),
            ("user_code", user_code),
            ("username", USER),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(status, 200, "{confirm}");
    assert!(confirm.contains(CLIENT), "the client is named: {confirm}");
    assert!(confirm.contains("Your identity"), "scopes are shown");
    assert!(confirm.contains("value=\"approve\"") && confirm.contains("value=\"deny\""));
    let csrf = hidden_field(&confirm, "csrf").unwrap();
    let (status, done) = post_page(
        app,
        &browser,
        &[
            ("csrf", &csrf),
            ("user_code", user_code),
            ("decision", decision),
        ],
    )
    .await;
    assert_eq!(status, 200, "{done}");
}

#[tokio::test]
async fn the_device_endpoint_gives_codes_and_discovery_names_it() {
    let app = spawn_app().await;
    let doc: Value = app
        .client
        .get(app.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        doc["device_authorization_endpoint"],
        app.url("/api/oidc/device_code")
    );
    assert!(doc["grant_types_supported"]
        .as_array()
        .unwrap()
        .contains(&Value::from(GRANT)));
    let started = start(&app, CLIENT, "openid profile").await;
    let user_code = started["user_code"].as_str().unwrap();
    assert_eq!(user_code.len(), 9);
    assert!(user_code.chars().enumerate().all(|(i, c)| if i == 4 {
        c == '-'
    } else {
        "BCDFGHJKLMNPQRSTVWXZ".contains(c)
    }));
    assert_eq!(started["verification_uri"], app.url("/device"));
    assert_eq!(
        started["verification_uri_complete"],
        format!("{}?user_code={user_code}", app.url("/device"))
    );
    assert_eq!(started["expires_in"], 600);
    assert_eq!(started["interval"], 5);
    assert!(started["device_code"].as_str().unwrap().len() >= 43);
    // only hashes are stored
    let stored = app
        .sql_i64("SELECT COUNT(*) FROM device_requests WHERE length(device_code_hash) = 32 AND length(user_code_hash) = 32")
        .await;
    assert_eq!(stored, 1);
    // our own name for the endpoint too, with X-Auth-Secret
    let resp = bare_client()
        .post(app.url("/api/device_authorization"))
        .header("X-Auth-Secret", SECRET)
        .form(&[("client_id", CLIENT)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let other: Value = resp.json().await.unwrap();
    assert_ne!(other["user_code"], started["user_code"]);
}

#[tokio::test]
async fn the_device_endpoint_authenticates_the_client_like_the_token_endpoint() {
    let app = spawn_app().await;
    let wrong_secret = bare_client()
        .post(app.url("/api/oidc/device_code"))
        .basic_auth(CLIENT, Some("wrong"))
        .form(&[("scope", "openid")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_secret.status(), 401);
    let unknown_client = bare_client()
        .post(app.url("/api/oidc/device_code"))
        .basic_auth("not-a-client", Some(SECRET))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown_client.status(), 401);
    let body: Value = unknown_client.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");
    let bad_scope = bare_client()
        .post(app.url("/api/oidc/device_code"))
        .basic_auth(CLIENT, Some(SECRET))
        .form(&[("scope", "profile")])
        .send()
        .await
        .unwrap();
    assert_eq!(bad_scope.status(), 400);
    let body: Value = bad_scope.json().await.unwrap();
    assert_eq!(body["error"], "invalid_scope");
}

#[tokio::test]
async fn polling_early_is_slow_down_and_raises_the_interval_by_five_seconds_each_time() {
    let app = spawn_app().await;
    let started = start(&app, CLIENT, "openid").await;
    let code = started["device_code"].as_str().unwrap();
    let first = poll(&app, CLIENT, code).await;
    assert_eq!((first.0, error_of(&first)), (400, "authorization_pending"));
    app.clock.advance(5);
    let on_time = poll(&app, CLIENT, code).await;
    assert_eq!(error_of(&on_time), "authorization_pending");
    let early = poll(&app, CLIENT, code).await;
    assert_eq!((early.0, error_of(&early)), (400, "slow_down"));
    assert_eq!(early.1["interval"], 10);
    app.clock.advance(9);
    let still_early = poll(&app, CLIENT, code).await;
    assert_eq!(error_of(&still_early), "slow_down");
    assert_eq!(still_early.1["interval"], 15);
    app.clock.advance(15);
    let waited = poll(&app, CLIENT, code).await;
    assert_eq!(error_of(&waited), "authorization_pending");
    // the raises answered from memory are stored with the poll that reached the database
    assert_eq!(
        app.sql_i64("SELECT poll_interval FROM device_requests")
            .await,
        15
    );
    app.clock.advance(14);
    let early_again = poll(&app, CLIENT, code).await;
    assert_eq!(early_again.1["interval"], 20);
}

#[tokio::test]
async fn another_instance_on_the_same_database_slows_down_an_early_poll_too() {
    let a = spawn_app().await;
    let b = AppBuilder::new().same_database_as(&a).spawn().await;
    let started = start(&a, CLIENT, "openid").await;
    let code = started["device_code"].as_str().unwrap();
    assert_eq!(
        error_of(&poll(&a, CLIENT, code).await),
        "authorization_pending"
    );
    b.clock.set(a.clock_now() + 2);
    let early = poll(&b, CLIENT, code).await;
    assert_eq!(error_of(&early), "slow_down");
    assert_eq!(early.1["interval"], 10);
    // and instance a, which saw only its own poll, defers to the database after 5 s
    a.clock.advance(5);
    let on_a = poll(&a, CLIENT, code).await;
    assert_eq!(
        error_of(&on_a),
        "slow_down",
        "3 s after b's poll, under the raised 10 s"
    );
    assert_eq!(on_a.1["interval"], 15);
}

#[tokio::test]
async fn an_approved_request_gives_tokens_with_the_users_claims_once() {
    let app = spawn_app().await;
    app.add_user(USER, PASSWORD).await;
    let started = start(&app, CLIENT, "openid profile email").await;
    let code = started["device_code"].as_str().unwrap();
    decide(&app, &started, "approve").await;
    let (status, tokens) = poll(&app, CLIENT, code).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    assert!(tokens["refresh_token"].is_string());
    let (_, id) = jwt_parts(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["sub"], USER);
    assert_eq!(id["aud"], CLIENT);
    assert_eq!(id["iss"], app.issuer);
    assert_eq!(id["email"], format!("{USER}@example.com"));
    assert_eq!(id["name"], format!("{USER} Example"));
    assert_eq!(
        app.validate_status("Bearer", tokens["access_token"].as_str().unwrap())
            .await,
        200
    );
    // the refresh token works like one from a code sign-in
    let refreshed = bare_client()
        .post(app.url("/api/token"))
        .basic_auth(CLIENT, Some(SECRET))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refreshed.status(), 200);
    // one-time use
    app.clock.advance(30);
    let again = poll(&app, CLIENT, code).await;
    assert_eq!((again.0, error_of(&again)), (400, "invalid_grant"));
}

#[tokio::test]
async fn a_denied_request_is_access_denied() {
    let app = spawn_app().await;
    app.add_user(USER, PASSWORD).await;
    let started = start(&app, CLIENT, "openid").await;
    decide(&app, &started, "deny").await;
    let answer = poll(&app, CLIENT, started["device_code"].as_str().unwrap()).await;
    assert_eq!((answer.0, error_of(&answer)), (400, "access_denied"));
}

#[tokio::test]
async fn an_expired_device_code_is_expired_token_and_its_code_no_longer_opens() {
    let app = spawn_app().await;
    app.add_user(USER, PASSWORD).await;
    let started = start(&app, CLIENT, "openid").await;
    app.clock.advance(601);
    let answer = poll(&app, CLIENT, started["device_code"].as_str().unwrap()).await;
    assert_eq!((answer.0, error_of(&answer)), (400, "expired_token"));
    let (browser, csrf, _) = open_page(&app.url("/device")).await;
    let (status, page) = post_page(
        &app,
        &browser,
        &[
            ("csrf", &csrf),
            ("user_code", started["user_code"].as_str().unwrap()),
            ("username", USER),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(status, 400);
    assert!(page.contains("not valid or has expired"));
}

#[tokio::test]
async fn another_client_or_a_wrong_secret_cannot_redeem_a_device_code() {
    let app = spawn_app().await;
    app.add_user(USER, PASSWORD).await;
    let started = start(&app, CLIENT, "openid").await;
    let code = started["device_code"].as_str().unwrap();
    decide(&app, &started, "approve").await;
    let other = poll(&app, "MAGICDRAW", code).await;
    assert_eq!((other.0, error_of(&other)), (400, "invalid_grant"));
    let wrong_secret = bare_client()
        .post(app.url("/api/token"))
        .basic_auth(CLIENT, Some("wrong"))
        .form(&[("grant_type", GRANT), ("device_code", code)])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_secret.status(), 401);
    let unknown = poll(&app, CLIENT, "not-a-device-code").await;
    assert_eq!(error_of(&unknown), "invalid_grant");
    // the rightful client still gets its tokens
    let mine = poll(&app, CLIENT, code).await;
    assert_eq!(mine.0, 200, "{}", mine.1);
}

#[tokio::test]
async fn user_codes_are_accepted_in_lower_case_without_the_dash_and_the_sso_session_is_used() {
    let app = spawn_app().await;
    app.add_user(USER, PASSWORD).await;
    // sign in through the browser flow first: the test client keeps the SSO cookie
    app.sign_in(USER, PASSWORD).await;
    let started = start(&app, CLIENT, "openid").await;
    let typed = started["user_code"]
        .as_str()
        .unwrap()
        .replace('-', "")
        .to_lowercase();
    let page = app
        .client
        .get(app.url("/device"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Signed in as"), "{page}");
    assert!(!page.contains("name=\"password\""));
    let csrf = hidden_field(&page, "csrf").unwrap();
    let confirm = app
        .client
        .post(app.url("/device"))
        .form(&[("csrf", csrf.as_str()), ("user_code", typed.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(confirm.status(), 200);
    let confirm = confirm.text().await.unwrap();
    assert!(confirm.contains(started["user_code"].as_str().unwrap()));
    let done = app
        .client
        .post(app.url("/device"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("user_code", typed.as_str()),
            ("decision", "approve"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200);
    let answer = poll(&app, CLIENT, started["device_code"].as_str().unwrap()).await;
    assert_eq!(answer.0, 200, "{}", answer.1);
    // a decided request cannot be decided again
    let twice = app
        .client
        .post(app.url("/device"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("user_code", typed.as_str()),
            ("decision", "deny"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(twice.status(), 400);
    let _ = REDIRECT;
}

#[tokio::test]
async fn the_verification_form_needs_the_csrf_token_and_a_right_password() {
    let app = spawn_app().await;
    app.add_user(USER, PASSWORD).await;
    let started = start(&app, CLIENT, "openid").await;
    let user_code = started["user_code"].as_str().unwrap();
    let (browser, csrf, _) = open_page(&app.url("/device")).await;
    let (status, _) = post_page(
        &app,
        &browser,
        &[
            ("csrf", "forged"),
            ("user_code", user_code),
            ("username", USER),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(status, 403);
    let (status, page) = post_page(
        &app,
        &browser,
        &[
            ("csrf", &csrf),
            ("user_code", user_code),
            ("username", USER),
            ("password", "wrong"),
        ],
    )
    .await;
    assert_eq!(status, 401);
    assert!(page.contains("Invalid username or password."));
    let answer = poll(&app, CLIENT, started["device_code"].as_str().unwrap()).await;
    assert_eq!(error_of(&answer), "authorization_pending");
}

#[tokio::test]
async fn guessing_user_codes_is_throttled_per_address() {
    let app = spawn_app().await;
    app.add_user(USER, PASSWORD).await;
    let started = start(&app, CLIENT, "openid").await;
    let (browser, csrf, _) = open_page(&app.url("/device")).await;
    let mut statuses = Vec::new();
    for _ in 0..12 {
        let (status, _) = post_page(
            &app,
            &browser,
            &[
                ("csrf", &csrf),
                ("user_code", "BBBB-BBBB"),
                ("username", USER),
                ("password", PASSWORD),
            ],
        )
        .await;
        statuses.push(status);
    }
    assert_eq!(&statuses[..10], &[400; 10], "{statuses:?}");
    assert_eq!(&statuses[10..], &[429, 429], "{statuses:?}");
    // even the right code waits out the lock
    let (status, _) = post_page(
        &app,
        &browser,
        &[
            ("csrf", &csrf),
            ("user_code", started["user_code"].as_str().unwrap()),
            ("username", USER),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(status, 429);
    app.clock.advance(authserver::throttle::MAX_LOCK + 1);
    let started = start(&app, CLIENT, "openid").await;
    let (status, _) = post_page(
        &app,
        &browser,
        &[
            ("csrf", &csrf),
            ("user_code", started["user_code"].as_str().unwrap()),
            ("username", USER),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn housekeeping_deletes_expired_device_requests() {
    let app = spawn_app().await;
    start(&app, CLIENT, "openid").await;
    start(&app, CLIENT, "openid").await;
    app.clock.advance(600 + 3600 + 1);
    start(&app, CLIENT, "openid").await;
    authserver::housekeeping::purge_once(&app.state.services)
        .await
        .unwrap();
    assert_eq!(app.sql_i64("SELECT COUNT(*) FROM device_requests").await, 1);
}

#[tokio::test]
async fn the_cli_lists_pending_device_requests() {
    let app = spawn_app().await;
    app.add_user(USER, PASSWORD).await;
    start(&app, "MAGICDRAW", "openid profile").await;
    let decided = start(&app, CLIENT, "openid").await;
    decide(&app, &decided, "deny").await;
    let out = app.cli(&["device", "list"], None);
    assert!(out.status.success());
    let listing = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = listing.lines().collect();
    assert_eq!(lines.len(), 1, "{listing}");
    assert!(
        lines[0].starts_with("MAGICDRAW\topenid profile\t"),
        "{listing}"
    );
}

#[tokio::test]
async fn of_concurrent_polls_after_approval_exactly_one_gets_the_tokens() {
    let app = spawn_app().await;
    app.add_user(USER, PASSWORD).await;
    let started = start(&app, CLIENT, "openid").await;
    let code = started["device_code"].as_str().unwrap();
    decide(&app, &started, "approve").await;
    let answers = futures::future::join_all((0..6).map(|_| poll(&app, CLIENT, code))).await;
    let won = answers.iter().filter(|a| a.0 == 200).count();
    assert_eq!(won, 1, "{answers:?}");
    assert!(
        answers
            .iter()
            .filter(|a| a.0 != 200)
            .all(|a| error_of(a) == "invalid_grant"),
        "{answers:?}"
    );
}
