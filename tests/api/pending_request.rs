//! The pending sign-in between `GET /authorize` and `POST /login`: it costs the server no
//! storage (it travels MAC-protected in the login form, bound to the browser's CSRF
//! cookie), parameter sizes are capped, and an `id_token_hint` must be a real ID token.
use base64::Engine;

use crate::helpers::*;

/// Rows in every table of the app's database (migrations bookkeeping included).
async fn total_rows(app: &TestApp) -> i64 {
    let tables = if backend_is_postgres() {
        app.sql_strings(
            "SELECT table_name::TEXT FROM information_schema.tables
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
        )
        .await
    } else {
        app.sql_strings(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
        )
        .await
    };
    let mut total = 0;
    for table in tables {
        total += app.sql_i64(&format!("SELECT COUNT(*) FROM {table}")).await;
    }
    total
}

/// Asserts a readable HTML 400 page (no redirect) whose text contains `needle`.
async fn assert_400_page(resp: reqwest::Response, needle: &str, what: &str) {
    assert_eq!(resp.status(), 400, "{what}");
    assert!(resp.headers().get("location").is_none(), "{what}");
    let ct = resp.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ct.starts_with("text/html"), "{what}: {ct}");
    let body = html_unescape(&resp.text().await.unwrap());
    assert!(body.contains(needle), "{what}: {body}");
}

/// Asserts a redirect to the client carrying `error=invalid_request`.
fn assert_invalid_request(resp: &reqwest::Response, what: &str) {
    assert_eq!(resp.status(), 302, "{what}");
    let loc = location(resp);
    assert!(loc.starts_with(&format!("{REDIRECT}?")), "{what}: {loc}");
    assert_eq!(
        query_param(&loc, "error").as_deref(),
        Some("invalid_request"),
        "{what}: {loc}"
    );
    assert!(query_param(&loc, "code").is_none(), "{what}: {loc}");
}

#[tokio::test]
async fn showing_the_login_page_stores_nothing_in_the_database() {
    let app = spawn_app().await;
    let before = total_rows(&app).await;
    for i in 0..50 {
        let (_, challenge) = pkce_pair();
        let state = format!("{i}-{}", "s".repeat(2000));
        let url = app.authorize_url_without(&challenge, &["state"], &[("state", &state)]);
        // a new browser each time, as an attacker's requests would be
        let resp = bare_client().get(&url).send().await.unwrap();
        assert_eq!(resp.status(), 200, "the login page");
    }
    assert_eq!(
        total_rows(&app).await,
        before,
        "a login page shown to nobody in particular leaves no row behind"
    );
}

#[tokio::test]
async fn oversized_parameters_get_a_400_page_naming_the_parameter() {
    let app = spawn_app().await;
    let long_redirect = format!("{REDIRECT}?x={}", "r".repeat(2100));
    let cases: [(&str, String); 7] = [
        ("state", "s".repeat(2049)),
        ("nonce", "n".repeat(513)),
        ("login_hint", "l".repeat(257)),
        ("id_token_hint", "i".repeat(8193)),
        ("scope", format!("openid {}", "p".repeat(1100))),
        ("redirect_uri", long_redirect),
        ("client_id", "c".repeat(300)),
    ];
    for (name, value) in &cases {
        let (_, challenge) = pkce_pair();
        let url = app.authorize_url_without(&challenge, &[name], &[(name, value)]);
        let resp = bare_client().get(&url).send().await.unwrap();
        assert_400_page(resp, name, &format!("an oversized {name}")).await;
    }
    // at the limit is fine
    let (_, challenge) = pkce_pair();
    let url = app.authorize_url_without(
        &challenge,
        &["state", "nonce"],
        &[("state", &"s".repeat(2048)), ("nonce", &"n".repeat(512))],
    );
    assert_eq!(bare_client().get(&url).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn an_id_token_hint_that_is_not_our_id_token_is_refused_with_invalid_request() {
    let app = spawn_app().await;
    app.add_user("hana", "hana-password-1").await;
    let tokens = app
        .another_browser()
        .tokens_for("hana", "hana-password-1")
        .await;
    let access_token = tokens["access_token"].as_str().unwrap().to_string();
    let id_token = tokens["id_token"].as_str().unwrap().to_string();
    // an ID token whose signature no longer matches its claims
    let (header, payload, _) = {
        let mut it = id_token.split('.');
        (
            it.next().unwrap().to_string(),
            it.next().unwrap().to_string(),
            it.next().unwrap().to_string(),
        )
    };
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut claims: serde_json::Value =
        serde_json::from_slice(&b64.decode(&payload).unwrap()).unwrap();
    claims["sub"] = "admin".into();
    let forged = format!(
        "{header}.{}.{}",
        b64.encode(serde_json::to_vec(&claims).unwrap()),
        id_token.rsplit('.').next().unwrap()
    );
    for (what, hint) in [
        ("garbage", "not.a.jwt".to_string()),
        ("an access token", access_token),
        ("a forged ID token", forged),
    ] {
        let (_, challenge) = pkce_pair();
        let url = app.authorize_url(&challenge, &[("id_token_hint", &hint)]);
        let resp = bare_client().get(&url).send().await.unwrap();
        assert_invalid_request(&resp, what);
    }
    // the real ID token (expired ones too) still leads to the login page, prefilled
    app.clock.advance(7200);
    let (_, challenge) = pkce_pair();
    let url = app.authorize_url(&challenge, &[("id_token_hint", &id_token)]);
    let resp = bare_client().get(&url).send().await.unwrap();
    assert_eq!(resp.status(), 200, "a valid (expired) ID token as hint");
    let page = resp.text().await.unwrap();
    assert!(
        page.contains("value=\"hana\""),
        "the user name is prefilled"
    );
}

/// A login page in `app`'s browser; returns (page, verifier).
async fn login_page(app: &TestApp) -> (String, String) {
    let (verifier, challenge) = pkce_pair();
    (
        app.login_page(&app.authorize_url(&challenge, &[])).await,
        verifier,
    )
}

/// POSTs the login form `page` with its `rid` replaced.
async fn submit_with_rid(
    app: &TestApp,
    page: &str,
    rid: &str,
    user: &str,
    pw: &str,
) -> reqwest::Response {
    app.client
        .post(app.url("/login"))
        .form(&[
            ("rid", rid),
            ("csrf", &hidden_field(page, "csrf").unwrap()),
            ("username", user),
            ("password", pw),
        ])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_tampered_pending_request_gets_a_400_page_and_no_code() {
    let app = spawn_app().await;
    app.add_user("tess", "tess-password-1").await;
    let (page, verifier) = login_page(&app).await;
    let rid = hidden_field(&page, "rid").unwrap();
    // flip one character in each half (request and MAC), and cut it short
    let flip = |s: &str, at: usize| {
        let mut b = s.as_bytes().to_vec();
        b[at] = if b[at] == b'A' { b'B' } else { b'A' };
        String::from_utf8(b).unwrap()
    };
    let dot = rid.find('.').unwrap_or(rid.len() / 2);
    for (what, bad) in [
        ("the request changed", flip(&rid, dot / 2)),
        ("the MAC changed", flip(&rid, rid.len() - 3)),
        ("cut short", rid[..rid.len() - 5].to_string()),
        ("junk", "x.y".to_string()),
        ("huge", "A".repeat(40_000)),
    ] {
        let resp = submit_with_rid(&app, &page, &bad, "tess", "tess-password-1").await;
        assert_400_page(resp, "sign-in", what).await;
    }
    // the untouched form still works
    let resp = app
        .submit_login(&page, "tess", "tess-password-1", false)
        .await;
    assert_eq!(resp.status(), 303);
    let code = query_param(&location(&resp), "code").unwrap();
    assert_eq!(app.exchange(&code, &verifier).await.status(), 200);
}

#[tokio::test]
async fn a_pending_request_cannot_be_replayed_from_another_browser() {
    let app = spawn_app().await;
    app.add_user("vic", "vic-password-12").await;
    app.add_user("eve", "eve-password-12").await;
    let (victims_page, _) = login_page(&app).await;
    // the attacker has a CSRF pair of their own and the victim's pending request
    let attacker = app.another_browser();
    let (attackers_page, _) = login_page(&attacker).await;
    let resp = submit_with_rid(
        &attacker,
        &attackers_page,
        &hidden_field(&victims_page, "rid").unwrap(),
        "eve",
        "eve-password-12",
    )
    .await;
    assert_400_page(resp, "sign-in", "another browser's pending request").await;
    // each browser finishes its own
    let resp = app
        .submit_login(&victims_page, "vic", "vic-password-12", false)
        .await;
    assert_eq!(resp.status(), 303);
    let resp = attacker
        .submit_login(&attackers_page, "eve", "eve-password-12", false)
        .await;
    assert_eq!(resp.status(), 303);
}

#[tokio::test]
async fn a_login_page_from_one_instance_completes_on_another_sharing_the_database() {
    let first = spawn_app().await;
    first.add_user("ines", "ines-password-1").await;
    let second = AppBuilder::new().same_database_as(&first).spawn().await;
    let (page, verifier) = login_page(&first).await;
    // the same browser (cookie jar), the POST lands on the other instance
    let resp = first
        .client
        .post(second.url("/login"))
        .form(&[
            ("rid", hidden_field(&page, "rid").unwrap()),
            ("csrf", hidden_field(&page, "csrf").unwrap()),
            ("username", "ines".to_string()),
            ("password", "ines-password-1".to_string()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303, "{:?}", resp.text().await);
    let code = query_param(&location(&resp), "code").unwrap();
    assert_eq!(second.exchange(&code, &verifier).await.status(), 200);
}

#[tokio::test]
async fn a_used_login_form_still_needs_the_password_and_this_browser() {
    // the pending request lives in the form, not on the server: resubmitting it is
    // signing in again, so it needs the password again and this browser's CSRF cookie
    let app = spawn_app().await;
    app.add_user("reed", "reed-password").await;
    let (page, _) = login_page(&app).await;
    let resp = app
        .submit_login(&page, "reed", "reed-password", false)
        .await;
    assert_eq!(resp.status(), 303);
    let resp = app
        .submit_login(&page, "reed", "wrong-password", false)
        .await;
    assert_eq!(resp.status(), 401, "no sign-in without the password");
    assert!(resp.headers().get("location").is_none());
    let resp = app
        .another_browser()
        .submit_login(&page, "reed", "reed-password", false)
        .await;
    assert_eq!(resp.status(), 403, "not from another browser");
    assert!(resp.headers().get("location").is_none());
}
