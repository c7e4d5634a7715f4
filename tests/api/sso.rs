//! The browser's SSO session: reuse across requests and clients, `prompt`, `max_age`, the
//! cookie's attributes, sign-out, and what ends a session. `TestApp::client` keeps cookies
//! like a browser; `bare_client()` is a browser without them.
use authserver::oauth::authorize::{CSRF_COOKIE, CSRF_HOST_COOKIE, SSO_COOKIE};

use crate::helpers::*;

const ALICE: &str = "alice";
const ALICE_PW: &str = "alice-password-1";

/// Signs alice in through the login form; returns the 303 response of `/login`.
async fn browser_sign_in(app: &TestApp, remember: bool) -> reqwest::Response {
    let (_, challenge) = pkce_pair();
    let page = app.login_page(&app.authorize_url(&challenge, &[])).await;
    let resp = app.submit_login(&page, ALICE, ALICE_PW, remember).await;
    assert_eq!(resp.status(), 303, "signed in");
    resp
}

/// Spawns an app with alice and signs her in; returns the app and the SSO cookie value.
async fn signed_in_app() -> (TestApp, String) {
    let app = spawn_app().await;
    app.add_user(ALICE, ALICE_PW).await;
    let resp = browser_sign_in(&app, false).await;
    let cookie = set_cookie_header(&resp, SSO_COOKIE).expect("an SSO cookie");
    (app, cookie_value(&cookie))
}

/// Asserts a redirect (`status`) to the callback with a code, the state and `iss`;
/// returns the code.
fn assert_code_redirect(resp: &reqwest::Response, status: u16, issuer: &str) -> String {
    assert_eq!(resp.status(), status, "a redirect with a code");
    let loc = location(resp);
    assert!(loc.starts_with(&format!("{REDIRECT}?")), "{loc}");
    assert!(query_param(&loc, "error").is_none(), "{loc}");
    assert_eq!(
        query_param(&loc, "state").as_deref(),
        Some("st4te"),
        "{loc}"
    );
    assert_eq!(query_param(&loc, "iss").as_deref(), Some(issuer), "{loc}");
    query_param(&loc, "code").expect("a code")
}

/// Exchanges a code for `client_id` at `REDIRECT`; returns the token response.
async fn exchange_for(
    app: &TestApp,
    client_id: &str,
    code: &str,
    verifier: &str,
) -> serde_json::Value {
    let resp = bare_client()
        .post(app.url("/api/token"))
        .header("X-Auth-Secret", SECRET)
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("client_id", client_id),
            ("code_verifier", verifier),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "the code is exchanged");
    resp.json().await.unwrap()
}

/// The claims of the ID token in a token response.
fn id_claims(tokens: &serde_json::Value) -> serde_json::Value {
    jwt_parts(tokens["id_token"].as_str().unwrap()).1
}

/// Whether the browser `client` (with `cookie` as its SSO cookie, if given) still has a
/// session: a plain authorization request answers with a code (true) or the login page
/// (false).
async fn has_session(app: &TestApp, client: &reqwest::Client, cookie: Option<&str>) -> bool {
    let (_, challenge) = pkce_pair();
    let mut req = client.get(app.authorize_url(&challenge, &[]));
    if let Some(c) = cookie {
        req = req.header("Cookie", format!("{SSO_COOKIE}={c}"));
    }
    let resp = req.send().await.unwrap();
    match resp.status().as_u16() {
        302 => {
            assert!(query_param(&location(&resp), "code").is_some());
            true
        }
        200 => {
            let page = resp.text().await.unwrap();
            assert!(hidden_field(&page, "rid").is_some(), "the login page");
            false
        }
        other => panic!("unexpected status {other}"),
    }
}

/// Signs in fresh and returns a valid ID token for alice (the browser keeps its session).
async fn id_token_for_alice(app: &TestApp) -> String {
    let (verifier, challenge) = pkce_pair();
    let resp = app.get(&app.authorize_url(&challenge, &[])).await;
    let code = assert_code_redirect(&resp, 302, &app.issuer);
    let tokens = exchange_for(app, CLIENT, &code, &verifier).await;
    tokens["id_token"].as_str().unwrap().to_string()
}

// ---- reusing the session ----

#[tokio::test]
async fn a_second_authorize_with_a_live_session_redirects_straight_to_the_callback_with_a_code() {
    let (app, _) = signed_in_app().await;
    let (verifier, challenge) = pkce_pair();
    let resp = app.get(&app.authorize_url(&challenge, &[])).await;
    let code = assert_code_redirect(&resp, 302, &app.issuer);
    assert!(
        !resp.text().await.unwrap().contains("name=\"password\""),
        "no login form"
    );
    let tokens = exchange_for(&app, CLIENT, &code, &verifier).await;
    let claims = id_claims(&tokens);
    assert_eq!(claims["sub"], ALICE);
    assert_eq!(claims["aud"], CLIENT);
    assert_eq!(claims["nonce"], "n0nce");
}

#[tokio::test]
async fn the_session_also_signs_the_user_in_to_another_allowed_client() {
    let (app, _) = signed_in_app().await;
    let (verifier, challenge) = pkce_pair();
    let url = app.authorize_url_without(&challenge, &["client_id"], &[("client_id", "MAGICDRAW")]);
    let resp = app.get(&url).await;
    let code = assert_code_redirect(&resp, 302, &app.issuer);
    let tokens = exchange_for(&app, "MAGICDRAW", &code, &verifier).await;
    let claims = id_claims(&tokens);
    assert_eq!(claims["sub"], ALICE);
    assert_eq!(claims["aud"], "MAGICDRAW");
}

#[tokio::test]
async fn prompt_none_with_a_session_redirects_with_a_code() {
    let (app, _) = signed_in_app().await;
    let (verifier, challenge) = pkce_pair();
    let resp = app
        .get(&app.authorize_url(&challenge, &[("prompt", "none")]))
        .await;
    let code = assert_code_redirect(&resp, 302, &app.issuer);
    let tokens = exchange_for(&app, CLIENT, &code, &verifier).await;
    assert_eq!(id_claims(&tokens)["sub"], ALICE);
}

#[tokio::test]
async fn prompt_login_with_a_session_shows_the_login_page_and_a_new_auth_time() {
    let (app, _) = signed_in_app().await;
    app.clock.advance(10);
    let (verifier, challenge) = pkce_pair();
    let page = app
        .login_page(&app.authorize_url(&challenge, &[("prompt", "login")]))
        .await;
    let resp = app.submit_login(&page, ALICE, ALICE_PW, false).await;
    let code = assert_code_redirect(&resp, 303, &app.issuer);
    let tokens = exchange_for(&app, CLIENT, &code, &verifier).await;
    assert_eq!(id_claims(&tokens)["auth_time"], app.clock_now());
}

#[tokio::test]
async fn an_exceeded_max_age_shows_the_login_page_and_the_new_id_token_has_the_new_auth_time() {
    let app = spawn_app().await;
    app.add_user(ALICE, ALICE_PW).await;
    let first_login = app.clock_now();
    browser_sign_in(&app, false).await;
    app.clock.advance(120);
    let (verifier, challenge) = pkce_pair();
    let page = app
        .login_page(&app.authorize_url(&challenge, &[("max_age", "60")]))
        .await;
    let second_login = app.clock_now();
    assert_eq!(second_login, first_login + 120);
    let resp = app.submit_login(&page, ALICE, ALICE_PW, false).await;
    let code = assert_code_redirect(&resp, 303, &app.issuer);
    let tokens = exchange_for(&app, CLIENT, &code, &verifier).await;
    assert_eq!(id_claims(&tokens)["auth_time"], second_login);
}

#[tokio::test]
async fn a_max_age_not_yet_exceeded_reuses_the_session_and_keeps_the_original_auth_time() {
    let app = spawn_app().await;
    app.add_user(ALICE, ALICE_PW).await;
    let login_time = app.clock_now();
    browser_sign_in(&app, false).await;
    app.clock.advance(30);
    let (verifier, challenge) = pkce_pair();
    let resp = app
        .get(&app.authorize_url(&challenge, &[("max_age", "60")]))
        .await;
    let code = assert_code_redirect(&resp, 302, &app.issuer);
    let tokens = exchange_for(&app, CLIENT, &code, &verifier).await;
    let claims = id_claims(&tokens);
    assert_eq!(claims["auth_time"], login_time);
    assert_eq!(claims["iat"], login_time + 30);
}

#[tokio::test]
async fn prompt_none_with_an_exceeded_max_age_is_login_required() {
    let (app, _) = signed_in_app().await;
    app.clock.advance(120);
    let (_, challenge) = pkce_pair();
    let resp = app
        .get(&app.authorize_url(&challenge, &[("prompt", "none"), ("max_age", "60")]))
        .await;
    assert_eq!(resp.status(), 302);
    let loc = location(&resp);
    assert_eq!(
        query_param(&loc, "error").as_deref(),
        Some("login_required")
    );
    assert!(query_param(&loc, "code").is_none());
    assert_eq!(query_param(&loc, "state").as_deref(), Some("st4te"));
}

// ---- the cookie ----

#[tokio::test]
async fn the_sso_cookie_is_httponly_samesite_lax_not_secure_over_http_and_ends_with_the_browser() {
    let app = spawn_app().await;
    app.add_user(ALICE, ALICE_PW).await;
    let resp = browser_sign_in(&app, false).await;
    let cookie = set_cookie_header(&resp, SSO_COOKIE).expect("an SSO cookie");
    let attrs = cookie_attributes(&cookie);
    let has = |name: &str| attrs.iter().any(|(k, _)| k == name);
    let value = |name: &str| {
        attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    assert!(has("httponly"), "{cookie}");
    assert_eq!(value("samesite").as_deref(), Some("Lax"), "{cookie}");
    assert!(!has("secure"), "plain http: no Secure ({cookie})");
    assert!(
        !has("max-age") && !has("expires"),
        "a session cookie without \"remember\": {cookie}"
    );
    assert!(cookie_value(&cookie).len() >= 43, "a random id: {cookie}");
}

#[tokio::test]
async fn ticking_stay_signed_in_gives_the_sso_cookie_the_session_lifetime_as_max_age() {
    let app = spawn_app().await;
    app.add_user(ALICE, ALICE_PW).await;
    let resp = browser_sign_in(&app, true).await;
    let cookie = set_cookie_header(&resp, SSO_COOKIE).expect("an SSO cookie");
    let attrs = cookie_attributes(&cookie);
    let max_age = attrs
        .iter()
        .find(|(k, _)| k == "max-age")
        .map(|(_, v)| v.clone());
    assert_eq!(max_age.as_deref(), Some("604800"), "{cookie}");
    assert!(attrs.iter().any(|(k, _)| k == "httponly"), "{cookie}");
    assert!(
        attrs
            .iter()
            .any(|(k, v)| k == "samesite" && v.as_str() == "Lax"),
        "{cookie}"
    );
}

#[tokio::test]
async fn with_an_https_public_url_the_sso_and_csrf_cookies_are_secure_and_csrf_is_a_host_cookie() {
    let app = AppBuilder::new()
        .set("server.public.url", "https://auth.example.com")
        .spawn()
        .await;
    let issuer = "https://auth.example.com/authentication";
    app.add_user(ALICE, ALICE_PW).await;
    let (verifier, challenge) = pkce_pair();
    // the test still talks to 127.0.0.1 over http; only the advertised URLs change
    let resp = app.get(&app.authorize_url(&challenge, &[])).await;
    assert_eq!(resp.status(), 200);
    assert!(
        set_cookie_header(&resp, CSRF_COOKIE).is_none(),
        "no plain name"
    );
    let csrf = set_cookie_header(&resp, CSRF_HOST_COOKIE).expect("a __Host- CSRF cookie");
    let attrs = cookie_attributes(&csrf);
    assert!(attrs.iter().any(|(k, _)| k == "secure"), "{csrf}");
    assert!(attrs.contains(&("path".into(), "/".into())), "{csrf}");
    assert!(!attrs.iter().any(|(k, _)| k == "domain"), "{csrf}");
    let page = resp.text().await.unwrap();
    let resp = app.submit_login(&page, ALICE, ALICE_PW, false).await;
    let sso = set_cookie_header(&resp, SSO_COOKIE).expect("an SSO cookie");
    let attrs = cookie_attributes(&sso);
    assert!(attrs.iter().any(|(k, _)| k == "secure"), "{sso}");
    assert!(attrs.iter().any(|(k, _)| k == "httponly"), "{sso}");
    let code = assert_code_redirect(&resp, 303, issuer);
    let tokens = exchange_for(&app, CLIENT, &code, &verifier).await;
    assert_eq!(id_claims(&tokens)["iss"], issuer);
}

// ---- sign-out ----

/// GETs `/api/signout` with the test client and the given parameters.
async fn signout_get(app: &TestApp, params: &[(&str, &str)]) -> reqwest::Response {
    let mut url = url::Url::parse(&app.url("/api/signout")).unwrap();
    if !params.is_empty() {
        url.query_pairs_mut().extend_pairs(params);
    }
    app.get(url.as_str()).await
}

#[tokio::test]
async fn signout_with_a_valid_id_token_hint_ends_the_session_at_once_and_redirects_with_state() {
    let (app, sid) = signed_in_app().await;
    let id_token = id_token_for_alice(&app).await;
    let resp = signout_get(
        &app,
        &[
            ("id_token_hint", &id_token),
            ("post_logout_redirect_uri", "https://app.example.com/cb"),
            ("state", "bye-123"),
        ],
    )
    .await;
    assert_eq!(resp.status(), 302, "no confirmation with a valid hint");
    let loc = location(&resp);
    assert!(loc.starts_with("https://app.example.com/cb?"), "{loc}");
    assert_eq!(query_param(&loc, "state").as_deref(), Some("bye-123"));
    let cleared = set_cookie_header(&resp, SSO_COOKIE).expect("the SSO cookie is cleared");
    assert!(
        cookie_attributes(&cleared)
            .iter()
            .any(|(k, v)| k == "max-age" && v.as_str() == "0"),
        "{cleared}"
    );
    assert!(!has_session(&app, &app.client, None).await, "signed out");
    assert!(
        !has_session(&app, &bare_client(), Some(&sid)).await,
        "the session is ended on the server, not only in the browser"
    );
}

#[tokio::test]
async fn signout_to_a_post_logout_redirect_uri_outside_the_whitelist_is_a_400_page() {
    let (app, _) = signed_in_app().await;
    let id_token = id_token_for_alice(&app).await;
    for target in [
        "https://evil.example.com/",
        "http://localhost:8080/callback.evil.net",
        "http://localhost:8080@evil.net/callback",
        "http://localhost:8080/callback/..;/evil",
        "http://localhost:8080/callback/%2e%2e;/evil",
        "http://localhost:8080/callback?state=planted",
        "http://localhost:8080/callback?iss=https%3A%2F%2Fevil.example.com",
    ] {
        let resp = signout_get(
            &app,
            &[
                ("id_token_hint", &id_token),
                ("post_logout_redirect_uri", target),
                ("state", "s"),
            ],
        )
        .await;
        assert_eq!(resp.status(), 400, "{target}");
        assert!(resp.headers().get("location").is_none(), "{target}");
        assert!(resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
    }
    assert!(
        has_session(&app, &app.client, None).await,
        "a refused sign-out changes nothing"
    );
}

#[tokio::test]
async fn signout_without_id_token_hint_shows_a_confirmation_page_and_keeps_the_session() {
    let (app, _) = signed_in_app().await;
    let resp = signout_get(&app, &[]).await;
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().get("location").is_none());
    assert_eq!(
        resp.headers()["x-frame-options"]
            .to_str()
            .unwrap()
            .to_uppercase(),
        "DENY",
        "the sign-out button cannot be clickjacked"
    );
    assert!(resp.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("frame-ancestors 'none'"));
    assert!(resp.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("no-store"));
    let page = resp.text().await.unwrap();
    assert!(page.contains("<form"), "{page}");
    assert!(page.to_lowercase().contains("method=\"post\""), "{page}");
    assert!(hidden_field(&page, "csrf").is_some(), "{page}");
    assert!(
        has_session(&app, &app.client, None).await,
        "not yet signed out"
    );
}

#[tokio::test]
async fn signout_with_an_invalid_or_foreign_id_token_hint_asks_for_confirmation() {
    let (app, _) = signed_in_app().await;
    // bob's valid ID token, from another browser
    app.add_user("bob", "bob-password-12").await;
    let other = app.another_browser();
    let bobs = other.tokens_for("bob", "bob-password-12").await;
    let bobs_id_token = bobs["id_token"].as_str().unwrap();
    // alice's own access token: signed by us, her `sub`, the client as audience, but no
    // ID token
    let alices = app.another_browser().tokens_for(ALICE, ALICE_PW).await;
    let alices_access_token = alices["access_token"].as_str().unwrap();
    for (what, hint) in [
        ("another user's ID token", bobs_id_token),
        ("garbage", "not.a.jwt"),
        ("her access token", alices_access_token),
    ] {
        let resp = signout_get(
            &app,
            &[
                ("id_token_hint", hint),
                ("post_logout_redirect_uri", REDIRECT),
            ],
        )
        .await;
        assert_eq!(resp.status(), 200, "{what}: a confirmation page");
        assert!(resp.headers().get("location").is_none(), "{what}");
        assert!(resp.text().await.unwrap().contains("<form"), "{what}");
        assert!(
            has_session(&app, &app.client, None).await,
            "{what}: alice is still signed in"
        );
    }
}

#[tokio::test]
async fn confirming_the_signout_form_ends_the_session() {
    let (app, sid) = signed_in_app().await;
    let page = signout_get(&app, &[]).await.text().await.unwrap();
    let mut form = hidden_fields(&page);
    assert!(form.iter().any(|(k, _)| k == "csrf"), "{form:?}");
    if !form.iter().any(|(k, _)| k == "confirm") {
        form.push(("confirm".into(), "1".into()));
    }
    let resp = app
        .client
        .post(app.url("/api/signout"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert!(resp.status() == 200 || resp.status() == 303, "{resp:?}");
    assert!(!has_session(&app, &app.client, None).await, "signed out");
    assert!(
        !has_session(&app, &bare_client(), Some(&sid)).await,
        "ended on the server"
    );
}

#[tokio::test]
async fn the_confirmation_form_returns_to_the_post_logout_redirect_uri_with_state() {
    let (app, _) = signed_in_app().await;
    let page = signout_get(
        &app,
        &[("post_logout_redirect_uri", REDIRECT), ("state", "bye&x=1")],
    )
    .await
    .text()
    .await
    .unwrap();
    let form = hidden_fields(&page);
    let resp = app
        .client
        .post(app.url("/api/signout"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303, "{form:?}");
    let loc = location(&resp);
    assert!(loc.starts_with(&format!("{REDIRECT}?")), "{loc}");
    assert_eq!(query_param(&loc, "state").as_deref(), Some("bye&x=1"));
    assert!(!has_session(&app, &app.client, None).await, "signed out");
}

#[tokio::test]
async fn a_signout_post_without_the_csrf_does_not_end_the_session() {
    let (app, sid) = signed_in_app().await;
    // the browser has the CSRF cookie from its login page
    let forged = authserver::crypto::random_token();
    for (what, form) in [
        ("no csrf field", vec![("confirm", "1")]),
        (
            "a wrong csrf",
            vec![("confirm", "1"), ("csrf", forged.as_str())],
        ),
        ("an empty csrf", vec![("confirm", "1"), ("csrf", "")]),
    ] {
        let resp = app
            .client
            .post(app.url("/api/signout"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert!(resp.headers().get("location").is_none(), "{what}");
        assert!(
            has_session(&app, &app.client, None).await,
            "{what}: still signed in"
        );
    }
    // a browser that sends only the SSO cookie (no CSRF cookie) with a made-up field
    let resp = bare_client()
        .post(app.url("/api/signout"))
        .header("Cookie", format!("{SSO_COOKIE}={sid}"))
        .form(&[("confirm", "1"), ("csrf", forged.as_str())])
        .send()
        .await
        .unwrap();
    assert!(resp.headers().get("location").is_none());
    assert!(
        has_session(&app, &app.client, None).await,
        "still signed in"
    );
}

// ---- what else ends a session ----

#[tokio::test]
async fn changing_the_password_ends_the_session_and_the_new_password_works_at_once() {
    let (app, sid) = signed_in_app().await;
    let hash = authserver::password::hash("alice-new-password").unwrap();
    app.state
        .store
        .set_password(ALICE, &hash, app.clock_now())
        .await
        .unwrap();
    assert!(
        !has_session(&app, &bare_client(), Some(&sid)).await,
        "the old session is gone"
    );
    let (verifier, challenge) = pkce_pair();
    let page = app.login_page(&app.authorize_url(&challenge, &[])).await;
    let resp = app
        .submit_login(&page, ALICE, "alice-new-password", false)
        .await;
    let code = assert_code_redirect(&resp, 303, &app.issuer);
    let tokens = exchange_for(&app, CLIENT, &code, &verifier).await;
    assert_eq!(
        app.validate_status("Bearer", tokens["access_token"].as_str().unwrap())
            .await,
        200,
        "tokens of a sign-in in the same second as the change are valid"
    );
    assert!(
        has_session(&app, &app.client, None).await,
        "the new session works"
    );
}

#[tokio::test]
async fn disabling_the_user_ends_the_session_for_good() {
    let (app, sid) = signed_in_app().await;
    app.state
        .store
        .set_disabled(ALICE, true, app.clock_now())
        .await
        .unwrap();
    assert!(!has_session(&app, &app.client, None).await);
    let (_, challenge) = pkce_pair();
    let resp = app
        .get(&app.authorize_url(&challenge, &[("prompt", "none")]))
        .await;
    assert_eq!(resp.status(), 302);
    assert_eq!(
        query_param(&location(&resp), "error").as_deref(),
        Some("login_required")
    );
    // enabling the user again does not bring the old session back
    app.clock.advance(1);
    app.state
        .store
        .set_disabled(ALICE, false, app.clock_now())
        .await
        .unwrap();
    assert!(!has_session(&app, &bare_client(), Some(&sid)).await);
}
