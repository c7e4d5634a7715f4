//! The Teamwork Cloud `client_credentials` grant: a user's `username:password` in
//! `Authorization: Basic`, the client secret in `X-Auth-Secret`; credential failures,
//! throttling and the verified-credential cache.
use base64::Engine;
use reqwest::header::HeaderValue;
use serde_json::Value;

use crate::helpers::lifecycle_helpers::*;
use crate::helpers::*;

const USER: &str = "svc";
const PASSWORD: &str = "svc-password-1";
/// The permanent client of the test configuration.
const PERMANENT: &str = "twc-rest-api";

/// The standard server with the integration user.
async fn app_with_user() -> TestApp {
    let app = spawn_app().await;
    app.add_user(USER, PASSWORD).await;
    app
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// `exp - iat` of a JWT payload.
fn lifetime(claims: &Value) -> i64 {
    claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap()
}

/// The user row as the store has it now.
async fn user_row(app: &TestApp, name: &str) -> authserver::store::User {
    app.state.store.user_by_name(name).await.unwrap().unwrap()
}

/// Whether the credential cache holds (name, password) for the user as stored now.
async fn cached(app: &TestApp, name: &str, password: &str) -> bool {
    let user = user_row(app, name).await;
    let credentials = &app.state.credentials;
    credentials.hit(
        &credentials.fingerprint(name, password),
        &user,
        app.clock_now(),
    )
}

/// A client_credentials request for `CLIENT` with the secret and an arbitrary
/// `Authorization` header value (or none).
async fn with_authorization(
    app: &TestApp,
    authorization: Option<HeaderValue>,
) -> reqwest::Response {
    let mut req = bare_client()
        .post(app.url("/api/token"))
        .header("X-Auth-Secret", SECRET)
        .form(&[("grant_type", "client_credentials"), ("client_id", CLIENT)]);
    if let Some(value) = authorization {
        req = req.header("Authorization", value);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn a_users_basic_credentials_get_an_id_token_and_access_token_for_that_user_and_no_refresh_token(
) {
    let app = app_with_user().await;
    let resp = client_credentials(&app, CLIENT, USER, PASSWORD).await;
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("no-store"));
    let tokens: Value = resp.json().await.unwrap();
    assert_eq!(tokens["token_type"], "Bearer", "{tokens}");
    assert_eq!(tokens["expires_in"], 900, "{tokens}");
    assert!(
        tokens.get("refresh_token").is_none(),
        "no refresh token: {tokens}"
    );
    let (header, access) = jwt_parts(field(&tokens, "access_token"));
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(access["iss"], app.issuer);
    assert_eq!(access["sub"], USER);
    assert_eq!(access["aud"], CLIENT);
    assert_eq!(access["client_id"], CLIENT);
    assert_eq!(lifetime(&access), 900, "{access}");
    let id = claims(&tokens, "id_token");
    assert_eq!(id["iss"], app.issuer);
    assert_eq!(id["sub"], USER);
    assert_eq!(id["aud"], CLIENT);
    assert_eq!(lifetime(&id), 900, "{id}");

    let validated: Value = bare_client()
        .get(app.url("/api/validate"))
        .header(
            "Authorization",
            format!("Token {}", field(&tokens, "access_token")),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(validated["active"], true, "{validated}");
    assert_eq!(validated["sub"], USER, "{validated}");
}

#[tokio::test]
async fn grant_type_and_client_id_may_come_in_the_query_string_with_an_empty_body() {
    let app = app_with_user().await;
    let url = format!(
        "{}?grant_type=client_credentials&client_id={CLIENT}",
        app.url("/api/token")
    );
    let resp = bare_client()
        .post(url)
        .header("X-Auth-Secret", SECRET)
        .header("Authorization", basic(USER, PASSWORD))
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let tokens: Value = resp.json().await.unwrap();
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(claims(&tokens, "access_token")["sub"], USER);
    assert_eq!(claims(&tokens, "id_token")["aud"], CLIENT);
    assert!(tokens.get("refresh_token").is_none(), "{tokens}");
}

#[tokio::test]
async fn the_body_wins_over_the_query_string_and_a_secret_in_the_query_string_is_not_read() {
    let app = app_with_user().await;
    // the body's client_id wins: CLIENT, not the permanent client of the query
    let url = format!("{}?client_id={PERMANENT}", app.url("/api/token"));
    let resp = bare_client()
        .post(url)
        .header("X-Auth-Secret", SECRET)
        .header("Authorization", basic(USER, PASSWORD))
        .form(&[("grant_type", "client_credentials"), ("client_id", CLIENT)])
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let tokens: Value = resp.json().await.unwrap();
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(claims(&tokens, "access_token")["client_id"], CLIENT);
    assert_eq!(tokens["expires_in"], 900);
    // SPEC: secrets are never read from the query string
    let url = format!(
        "{}?grant_type=client_credentials&client_id={CLIENT}&client_secret={SECRET}",
        app.url("/api/token")
    );
    let resp = bare_client()
        .post(url)
        .header("Authorization", basic(USER, PASSWORD))
        .send()
        .await
        .unwrap();
    oauth_error(resp, 401, "invalid_client").await;
}

#[tokio::test]
async fn passwords_with_colons_and_non_ascii_characters_work() {
    let app = spawn_app().await;
    app.add_user("colon", "pa:ss:word-1").await;
    app.add_user("jürgen", "pässwörd-€-1").await;
    let tokens = client_credentials_ok(&app, CLIENT, "colon", "pa:ss:word-1").await;
    assert_eq!(claims(&tokens, "access_token")["sub"], "colon");
    let tokens = client_credentials_ok(&app, CLIENT, "jürgen", "pässwörd-€-1").await;
    assert_eq!(claims(&tokens, "access_token")["sub"], "jürgen");
}

#[tokio::test]
async fn the_secret_may_come_as_client_secret_in_the_body() {
    let app = app_with_user().await;
    let resp = post_token(
        &app,
        &[("Authorization", basic(USER, PASSWORD).as_str())],
        &[
            ("grant_type", "client_credentials"),
            ("client_id", CLIENT),
            ("client_secret", SECRET),
        ],
    )
    .await;
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn a_permanent_client_gets_tokens_with_the_permanent_lifetime() {
    let app = app_with_user().await;
    let tokens = client_credentials_ok(&app, PERMANENT, USER, PASSWORD).await;
    assert_eq!(tokens["expires_in"], 630_720_000_i64, "{tokens}");
    assert_eq!(lifetime(&claims(&tokens, "access_token")), 630_720_000);
    assert_eq!(lifetime(&claims(&tokens, "id_token")), 630_720_000);
    assert_eq!(claims(&tokens, "access_token")["client_id"], PERMANENT);
    assert_eq!(
        app.validate_status("Bearer", field(&tokens, "access_token"))
            .await,
        200
    );
}

#[tokio::test]
async fn malformed_basic_headers_unknown_users_wrong_passwords_and_disabled_users_all_get_the_same_401(
) {
    let app = app_with_user().await;
    app.add_user("gone", "gone-password-1").await;
    app.state
        .store
        .set_disabled("gone", true, app.clock_now())
        .await
        .unwrap();
    app.state.sync_revocations().await;

    let header = |s: &str| Some(HeaderValue::from_str(s).unwrap());
    let basic_of = |bytes: &[u8]| header(&format!("Basic {}", b64(bytes)));
    let ten_kb = format!(
        "Basic {}",
        b64(format!("{USER}:{}", "x".repeat(7600)).as_bytes())
    );
    assert!(ten_kb.len() > 10_000);
    let cases: Vec<(&str, Option<HeaderValue>)> = vec![
        ("no Authorization header", None),
        ("Basic alone", header("Basic")),
        ("Basic and a blank", header("Basic  ")),
        ("Basic !!!", header("Basic !!!")),
        ("no colon", basic_of(b"nocolon")),
        ("an empty user", basic_of(b":svc-password-1")),
        ("invalid UTF-8", basic_of(b"\xff\xfe:svc-password-1")),
        ("a newline in the user", basic_of(b"s\nvc:svc-password-1")),
        (
            "truncated base64",
            header(&format!("Basic {}", &b64(b"svc:svc-password-1")[1..])),
        ),
        ("Bearer", header("Bearer x")),
        ("10 KB", header(&ten_kb)),
        (
            "a non-ASCII header value",
            Some(HeaderValue::from_bytes(b"Basic \xe9t\xe9").unwrap()),
        ),
        // these reach the password check (4 failures: below the throttle's limit)
        ("an unknown user", header(&basic("nobody", PASSWORD))),
        ("a wrong password", header(&basic(USER, "wrong-password"))),
        ("an empty password", header(&basic(USER, ""))),
        ("a disabled user", header(&basic("gone", "gone-password-1"))),
    ];
    let mut descriptions = Vec::new();
    for (what, authorization) in cases {
        let resp = with_authorization(&app, authorization).await;
        let status = resp.status().as_u16();
        assert_eq!(status, 401, "{what}");
        let body = oauth_error(resp, 401, "invalid_client").await;
        descriptions.push((what, body["error_description"].clone()));
    }
    // a wrong or missing client secret with good user credentials: the same answer
    let missing_secret = post_token(
        &app,
        &[("Authorization", basic(USER, PASSWORD).as_str())],
        &[("grant_type", "client_credentials"), ("client_id", CLIENT)],
    )
    .await;
    let body = oauth_error(missing_secret, 401, "invalid_client").await;
    descriptions.push(("no client secret", body["error_description"].clone()));
    let wrong_secret = post_token(
        &app,
        &[
            ("X-Auth-Secret", "wrong-secret"),
            ("Authorization", basic(USER, PASSWORD).as_str()),
        ],
        &[("grant_type", "client_credentials"), ("client_id", CLIENT)],
    )
    .await;
    let body = oauth_error(wrong_secret, 401, "invalid_client").await;
    descriptions.push(("a wrong client secret", body["error_description"].clone()));

    let (_, first) = &descriptions[0];
    for (what, description) in &descriptions {
        assert_eq!(
            description, first,
            "{what}: one description for every credential failure"
        );
    }
    // none of it locked the user out
    client_credentials_ok(&app, CLIENT, USER, PASSWORD).await;
}

#[tokio::test]
async fn a_wrong_or_missing_client_secret_or_an_unknown_client_is_401_invalid_client() {
    let app = app_with_user().await;
    let user = basic(USER, PASSWORD);
    let form = [("grant_type", "client_credentials"), ("client_id", CLIENT)];
    for (what, headers) in [
        ("no secret", vec![("Authorization", user.as_str())]),
        (
            "a wrong secret",
            vec![
                ("Authorization", user.as_str()),
                ("X-Auth-Secret", "wrong-secret"),
            ],
        ),
        (
            "an empty secret",
            vec![("Authorization", user.as_str()), ("X-Auth-Secret", "")],
        ),
    ] {
        let resp = post_token(&app, &headers, &form).await;
        assert_eq!(resp.status(), 401, "{what}");
        oauth_error(resp, 401, "invalid_client").await;
    }
    let resp = client_credentials(&app, "unknown-client", USER, PASSWORD).await;
    oauth_error(resp, 401, "invalid_client").await;
}

#[tokio::test]
async fn after_10_wrong_passwords_the_next_attempt_gets_429_with_retry_after() {
    let app = app_with_user().await;
    for i in 0..10 {
        let resp = client_credentials(&app, CLIENT, USER, &format!("wrong-password-{i}")).await;
        assert_eq!(resp.status(), 401, "failure {i} is an ordinary 401");
        oauth_error(resp, 401, "invalid_client").await;
    }
    for (what, password) in [
        ("a wrong password", "wrong-password-10"),
        ("the right password, never verified before", PASSWORD),
    ] {
        let resp = client_credentials(&app, CLIENT, USER, password).await;
        assert_eq!(resp.status(), 429, "{what}");
        let retry_after: u64 = resp
            .headers()
            .get("retry-after")
            .expect("a Retry-After header")
            .to_str()
            .unwrap()
            .parse()
            .expect("Retry-After in seconds");
        assert!(
            (1..=900).contains(&retry_after),
            "Retry-After {retry_after}"
        );
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"], "temporarily_unavailable", "{what}: {body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_wrong_passwords_cannot_slip_past_the_throttle() {
    let app = std::sync::Arc::new(app_with_user().await);
    let tasks: Vec<_> = (0..30)
        .map(|i| {
            let app = app.clone();
            tokio::spawn(async move {
                client_credentials(&app, CLIENT, USER, &format!("guess-{i}"))
                    .await
                    .status()
                    .as_u16()
            })
        })
        .collect();
    let statuses: Vec<u16> = futures::future::join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    let checked = statuses.iter().filter(|s| **s == 401).count();
    let throttled = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(checked + throttled, 30, "{statuses:?}");
    assert!(
        checked <= 10,
        "at most 10 password checks before the lock: {statuses:?}"
    );
}

#[tokio::test]
async fn a_working_integration_with_cached_credentials_keeps_getting_tokens_while_its_user_is_locked(
) {
    let app = app_with_user().await;
    // the integration authenticates before the attack: its credentials are now cached
    client_credentials_ok(&app, PERMANENT, USER, PASSWORD).await;
    assert!(cached(&app, USER, PASSWORD).await);
    for i in 0..10 {
        let resp = client_credentials(&app, CLIENT, USER, &format!("guess-{i}")).await;
        assert_eq!(resp.status(), 401, "guess {i}");
    }
    let resp = client_credentials(&app, CLIENT, USER, "guess-10").await;
    assert_eq!(resp.status(), 429, "the attacker is locked out");
    for i in 0..5 {
        let resp = client_credentials(&app, PERMANENT, USER, PASSWORD).await;
        assert_eq!(
            resp.status(),
            200,
            "call {i} of the integration during the lock"
        );
    }
}

#[tokio::test]
async fn two_hundred_sequential_calls_succeed_and_are_served_from_the_credential_cache() {
    let app = app_with_user().await;
    assert!(
        !cached(&app, USER, PASSWORD).await,
        "nothing is cached before the first call"
    );
    client_credentials_ok(&app, CLIENT, USER, PASSWORD).await;
    assert!(
        cached(&app, USER, PASSWORD).await,
        "the verified pair is cached"
    );
    assert!(
        !cached(&app, USER, "wrong-password").await,
        "only the verified pair"
    );
    for i in 0..200 {
        let resp = client_credentials(&app, CLIENT, USER, PASSWORD).await;
        assert_eq!(resp.status(), 200, "call {i}");
    }
    assert!(cached(&app, USER, PASSWORD).await);
}

#[tokio::test]
async fn a_password_change_makes_the_old_cached_password_fail_at_once_and_ends_its_tokens() {
    let app = app_with_user().await;
    let permanent = client_credentials_ok(&app, PERMANENT, USER, PASSWORD).await;
    assert!(cached(&app, USER, PASSWORD).await);
    app.clock.advance(1);
    let new_hash = authserver::password::hash("svc-password-2").unwrap();
    app.state
        .store
        .set_password(USER, &new_hash, app.clock_now())
        .await
        .unwrap();
    app.state.sync_revocations().await;
    app.clock.advance(1);

    let resp = client_credentials(&app, CLIENT, USER, PASSWORD).await;
    oauth_error(resp, 401, "invalid_client").await;
    assert_eq!(
        app.validate_status("Bearer", field(&permanent, "access_token"))
            .await,
        401,
        "a permanent token dies with its user's password change"
    );
    let fresh = client_credentials_ok(&app, CLIENT, USER, "svc-password-2").await;
    assert_eq!(
        app.validate_status("Bearer", field(&fresh, "access_token"))
            .await,
        200
    );
}

#[tokio::test]
async fn disabling_the_user_makes_cached_credentials_and_permanent_tokens_fail_at_once() {
    let app = app_with_user().await;
    let permanent = client_credentials_ok(&app, PERMANENT, USER, PASSWORD).await;
    assert!(cached(&app, USER, PASSWORD).await);
    app.state
        .store
        .set_disabled(USER, true, app.clock_now())
        .await
        .unwrap();
    app.state.sync_revocations().await;

    let resp = client_credentials(&app, PERMANENT, USER, PASSWORD).await;
    oauth_error(resp, 401, "invalid_client").await;
    assert_eq!(
        app.validate_status("Bearer", field(&permanent, "access_token"))
            .await,
        401,
        "a permanent token dies with its user's disable"
    );
}
