//! `/authorize` and `/login` when something is wrong: error pages for requests that cannot
//! be trusted, error redirects for the rest, the login page's hardening, failed sign-ins.
use authserver::oauth::authorize::{CSRF_COOKIE, LOGIN_FAILED};

use crate::helpers::*;

/// Asserts an HTML error page with `status` and no redirect; returns the body.
pub(crate) async fn assert_error_page(resp: reqwest::Response, status: u16, what: &str) -> String {
    assert_eq!(resp.status(), status, "{what}");
    assert!(
        resp.headers().get("location").is_none(),
        "{what}: an error page never redirects"
    );
    let ct = resp.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ct.starts_with("text/html"), "{what}: {ct}");
    let body = resp.text().await.unwrap();
    assert!(body.contains("<html"), "{what}: an HTML page");
    body
}

/// Asserts a redirect (`status`) to the client's callback carrying `error`, a description,
/// the state and our issuer.
fn assert_redirect_error(app: &TestApp, resp: &reqwest::Response, status: u16, error: &str) {
    assert_eq!(
        resp.status(),
        status,
        "expected a {status} carrying {error}"
    );
    let loc = location(resp);
    assert!(loc.starts_with(&format!("{REDIRECT}?")), "{loc}");
    assert_eq!(query_param(&loc, "error").as_deref(), Some(error), "{loc}");
    assert!(
        !query_param(&loc, "error_description")
            .unwrap_or_default()
            .is_empty(),
        "{loc}: error_description"
    );
    assert_eq!(
        query_param(&loc, "state").as_deref(),
        Some("st4te"),
        "{loc}"
    );
    assert_eq!(
        query_param(&loc, "iss").as_deref(),
        Some(app.issuer.as_str()),
        "{loc}"
    );
    assert!(query_param(&loc, "code").is_none(), "{loc}: no code");
}

/// GETs an authorize URL built from the standard parameters with `omit` left out and
/// `extra` added.
pub(crate) async fn authorize_with(
    app: &TestApp,
    omit: &[&str],
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let (_, challenge) = pkce_pair();
    app.get(&app.authorize_url_without(&challenge, omit, extra))
        .await
}

// ---- requests that cannot be trusted: an HTML page, never a redirect ----

#[tokio::test]
async fn an_unknown_client_id_gets_a_400_html_page_and_no_location() {
    let app = spawn_app().await;
    let resp = authorize_with(&app, &["client_id"], &[("client_id", "evilClient")]).await;
    let body = assert_error_page(resp, 400, "unknown client").await;
    assert!(!body.contains("name=\"password\""), "no login form");
}

#[tokio::test]
async fn a_missing_client_id_gets_a_400_html_page() {
    let app = spawn_app().await;
    let resp = authorize_with(&app, &["client_id"], &[]).await;
    assert_error_page(resp, 400, "missing client_id").await;
}

#[tokio::test]
async fn a_missing_redirect_uri_gets_a_400_html_page() {
    let app = spawn_app().await;
    let resp = authorize_with(&app, &["redirect_uri"], &[]).await;
    assert_error_page(resp, 400, "missing redirect_uri").await;
}

#[tokio::test]
async fn redirect_uris_outside_the_whitelist_get_a_400_page_and_are_never_redirected_to() {
    let app = spawn_app().await;
    for bad in [
        "http://localhost:8080/callback.evil.net",
        "http://localhost:8080@evil.net/callback",
        "http://localhost:8080/callback/../x",
        "http://localhost:8080/callback/%2e%2e/x",
        "http://LOCALHOST:8080/callback",
        "HTTP://localhost:8080/callback",
        "http://user@localhost:8080/callback",
        "http://localhost:8080/callback#fragment",
        "http://localhost:8080/callback%2Fx",
        "http://localhost:8081/callback",
        "https://localhost:8080/callback",
        "https://app.example.com:443/cb",
        "https://app.example.com.evil.net/cb",
        "https://evil.example.com/cb",
        "javascript:alert(1)",
        "/callback",
    ] {
        let resp = authorize_with(&app, &["redirect_uri"], &[("redirect_uri", bad)]).await;
        assert_error_page(resp, 400, bad).await;
        // an error that would otherwise be redirected is not sent there either
        let resp = authorize_with(
            &app,
            &["redirect_uri", "response_type"],
            &[("redirect_uri", bad), ("response_type", "token")],
        )
        .await;
        assert_error_page(resp, 400, bad).await;
    }
}

// ---- other errors: a redirect to the client with error, description, state and iss ----

#[tokio::test]
async fn response_type_token_is_redirected_as_unsupported_response_type() {
    let app = spawn_app().await;
    let resp = authorize_with(&app, &["response_type"], &[("response_type", "token")]).await;
    assert_redirect_error(&app, &resp, 302, "unsupported_response_type");
    let resp = authorize_with(
        &app,
        &["response_type"],
        &[("response_type", "code id_token")],
    )
    .await;
    assert_redirect_error(&app, &resp, 302, "unsupported_response_type");
}

#[tokio::test]
async fn a_missing_response_type_is_redirected_as_invalid_request() {
    let app = spawn_app().await;
    let resp = authorize_with(&app, &["response_type"], &[]).await;
    assert_redirect_error(&app, &resp, 302, "invalid_request");
}

#[tokio::test]
async fn a_scope_without_openid_is_redirected_as_invalid_scope() {
    let app = spawn_app().await;
    let resp = authorize_with(&app, &["scope"], &[("scope", "profile email")]).await;
    assert_redirect_error(&app, &resp, 302, "invalid_scope");
}

#[tokio::test]
async fn pkce_method_plain_is_redirected_as_invalid_request() {
    let app = spawn_app().await;
    let verifier = authserver::crypto::random_token();
    let resp = authorize_with(
        &app,
        &["code_challenge", "code_challenge_method"],
        &[
            ("code_challenge", verifier.as_str()),
            ("code_challenge_method", "plain"),
        ],
    )
    .await;
    assert_redirect_error(&app, &resp, 302, "invalid_request");
}

#[tokio::test]
async fn a_code_challenge_without_a_method_is_redirected_as_invalid_request() {
    let app = spawn_app().await;
    let resp = authorize_with(&app, &["code_challenge_method"], &[]).await;
    assert_redirect_error(&app, &resp, 302, "invalid_request");
}

#[tokio::test]
async fn a_request_object_is_redirected_as_request_not_supported() {
    let app = spawn_app().await;
    let resp = authorize_with(
        &app,
        &[],
        &[("request", "eyJhbGciOiJub25lIn0.eyJzY29wZSI6Im9wZW5pZCJ9.")],
    )
    .await;
    assert_redirect_error(&app, &resp, 302, "request_not_supported");
}

#[tokio::test]
async fn a_request_uri_is_redirected_as_request_uri_not_supported() {
    let app = spawn_app().await;
    let resp = authorize_with(
        &app,
        &[],
        &[("request_uri", "https://app.example.com/request.jwt")],
    )
    .await;
    assert_redirect_error(&app, &resp, 302, "request_uri_not_supported");
}

#[tokio::test]
async fn a_parameter_sent_twice_is_redirected_as_invalid_request() {
    let app = spawn_app().await;
    // the standard URL already has a scope; this adds a second one
    let resp = authorize_with(&app, &[], &[("scope", "openid")]).await;
    assert_redirect_error(&app, &resp, 302, "invalid_request");
    let resp = authorize_with(&app, &[], &[("nonce", "other")]).await;
    assert_redirect_error(&app, &resp, 302, "invalid_request");
}

#[tokio::test]
async fn prompt_none_without_a_session_is_redirected_as_login_required() {
    let app = spawn_app().await;
    let resp = authorize_with(&app, &[], &[("prompt", "none")]).await;
    assert_redirect_error(&app, &resp, 302, "login_required");
}

#[tokio::test]
async fn a_negative_max_age_is_redirected_as_invalid_request() {
    let app = spawn_app().await;
    let resp = authorize_with(&app, &[], &[("max_age", "-1")]).await;
    assert_redirect_error(&app, &resp, 302, "invalid_request");
}

#[tokio::test]
async fn unknown_parameters_and_display_locales_and_acr_values_are_ignored() {
    let app = spawn_app().await;
    let resp = authorize_with(
        &app,
        &[],
        &[
            ("display", "popup"),
            ("ui_locales", "de-CH fr"),
            ("claims_locales", "de"),
            ("acr_values", "urn:mace:incommon:iap:silver"),
            ("x_vendor_extension", "whatever"),
            ("utm_source", "newsletter"),
        ],
    )
    .await;
    assert_eq!(resp.status(), 200, "the login page");
    let page = resp.text().await.unwrap();
    assert!(hidden_field(&page, "rid").is_some(), "a login form");
}

#[tokio::test]
async fn post_to_authorize_with_a_form_body_shows_the_login_page_like_get() {
    let app = spawn_app().await;
    app.add_user("paula", "paula-password").await;
    let (verifier, challenge) = pkce_pair();
    let resp = app
        .client
        .post(app.url("/authorize"))
        .form(&[
            ("response_type", "code"),
            ("client_id", CLIENT),
            ("redirect_uri", REDIRECT),
            ("scope", "openid profile"),
            ("state", "st4te"),
            ("nonce", "n0nce"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let page = resp.text().await.unwrap();
    let resp = app
        .submit_login(&page, "paula", "paula-password", false)
        .await;
    assert_eq!(resp.status(), 303);
    let loc = location(&resp);
    assert_eq!(query_param(&loc, "state").as_deref(), Some("st4te"));
    let code = query_param(&loc, "code").expect("a code");
    assert_eq!(app.exchange(&code, &verifier).await.status(), 200);
}

#[tokio::test]
async fn redirect_errors_of_a_post_to_authorize_answer_303() {
    let app = spawn_app().await;
    let (_, challenge) = pkce_pair();
    let base = [
        ("client_id", CLIENT),
        ("redirect_uri", REDIRECT),
        ("scope", "openid"),
        ("state", "st4te"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let mut form = base.to_vec();
    form.push(("response_type", "token"));
    let resp = app
        .client
        .post(app.url("/authorize"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_redirect_error(&app, &resp, 303, "unsupported_response_type");

    let mut form = base.to_vec();
    form.extend([("response_type", "code"), ("prompt", "none")]);
    let resp = app
        .client
        .post(app.url("/authorize"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_redirect_error(&app, &resp, 303, "login_required");
}

// ---- the login page ----

#[tokio::test]
async fn the_login_page_is_not_cached_not_framed_has_a_strict_csp_no_script_and_an_httponly_csrf_cookie(
) {
    let app = spawn_app().await;
    let (_, challenge) = pkce_pair();
    let resp = app.get(&app.authorize_url(&challenge, &[])).await;
    assert_eq!(resp.status(), 200);
    let h = resp.headers();
    assert!(h["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(h["cache-control"].to_str().unwrap().contains("no-store"));
    assert_eq!(
        h["x-frame-options"].to_str().unwrap().to_uppercase(),
        "DENY"
    );
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    let referrer = h["referrer-policy"].to_str().unwrap();
    assert!(
        ["no-referrer", "same-origin", "strict-origin", "origin"].contains(&referrer),
        "the page URL (state, nonce) must not leak through Referer: {referrer}"
    );
    let csrf = set_cookie_header(&resp, CSRF_COOKIE).expect("the CSRF cookie is set");
    let attrs = cookie_attributes(&csrf);
    assert!(attrs.iter().any(|(k, _)| k == "httponly"), "{csrf}");
    let page = resp.text().await.unwrap();
    assert!(
        !page.to_ascii_lowercase().contains("<script"),
        "no script on the login page"
    );
    assert_eq!(
        hidden_field(&page, "csrf").as_deref(),
        Some(cookie_value(&csrf).as_str()),
        "the form echoes the cookie"
    );
}

#[tokio::test]
async fn login_hint_prefills_the_username_field() {
    let app = spawn_app().await;
    let resp = authorize_with(&app, &[], &[("login_hint", "hinted.user")]).await;
    assert_eq!(resp.status(), 200);
    let page = resp.text().await.unwrap();
    let start = page.find("name=\"username\"").expect("a username field");
    let tag_end = page[start..].find('>').unwrap() + start;
    assert!(
        page[start..tag_end].contains("value=\"hinted.user\""),
        "{}",
        &page[start..tag_end]
    );
    // a hint cannot break out of the attribute
    let resp = authorize_with(&app, &[], &[("login_hint", "x\"><img src=y>")]).await;
    assert_eq!(resp.status(), 200);
    let page = resp.text().await.unwrap();
    assert!(!page.contains("<img src=y>"), "the hint is escaped");
}

#[tokio::test]
async fn the_login_banner_is_shown_html_escaped() {
    let app = AppBuilder::new()
        .set(
            "authentication.login.banner.text",
            "Authorized use only <b>x</b>",
        )
        .spawn()
        .await;
    let (_, challenge) = pkce_pair();
    let page = app.login_page(&app.authorize_url(&challenge, &[])).await;
    assert!(page.contains("Authorized use only"), "the banner is shown");
    assert!(!page.contains("<b>"), "never as markup: {page}");
    // escaped (`&lt;b&gt;` or an equivalent character reference), so it reads as typed
    let escaped = [
        "&lt;b&gt;x&lt;/b&gt;",
        "&#60;b&#62;x&#60;/b&#62;",
        "&#x3c;b&#x3e;x&#x3c;/b&#x3e;",
    ];
    assert!(
        escaped
            .iter()
            .any(|e| page.to_ascii_lowercase().contains(e)),
        "escaped: {page}"
    );
    assert!(html_unescape(&page).contains("Authorized use only <b>x</b>"));
}

// ---- failed sign-ins ----

/// A fresh login page for the standard request; returns (page, verifier).
async fn fresh_login_page(app: &TestApp) -> (String, String) {
    let (verifier, challenge) = pkce_pair();
    let page = app.login_page(&app.authorize_url(&challenge, &[])).await;
    (page, verifier)
}

#[tokio::test]
async fn a_wrong_password_gets_401_and_the_same_pending_request_then_succeeds() {
    let app = spawn_app().await;
    app.add_user("wanda", "wanda-password").await;
    let (page, verifier) = fresh_login_page(&app).await;
    let resp = app
        .submit_login(&page, "wanda", "not-her-password", false)
        .await;
    assert_eq!(resp.status(), 401);
    assert!(resp.headers().get("location").is_none());
    assert!(set_cookie_header(&resp, authserver::oauth::authorize::SSO_COOKIE).is_none());
    let again = resp.text().await.unwrap();
    assert!(again.contains(LOGIN_FAILED), "{again}");
    assert!(again.contains("Invalid username or password"));
    assert_eq!(
        hidden_field(&again, "rid"),
        hidden_field(&page, "rid"),
        "the same pending request"
    );
    assert!(
        !again.contains("not-her-password"),
        "the password is not echoed"
    );

    let resp = app
        .submit_login(&again, "wanda", "wanda-password", false)
        .await;
    assert_eq!(resp.status(), 303);
    let loc = location(&resp);
    assert_eq!(query_param(&loc, "state").as_deref(), Some("st4te"));
    let code = query_param(&loc, "code").expect("a code");
    assert_eq!(app.exchange(&code, &verifier).await.status(), 200);
}

#[tokio::test]
async fn an_unknown_user_gets_the_same_status_and_message_as_a_wrong_password() {
    let app = spawn_app().await;
    app.add_user("uma", "uma-password-1").await;
    let (page, _) = fresh_login_page(&app).await;
    let wrong = app.submit_login(&page, "uma", "bad-password", false).await;
    let wrong_status = wrong.status();
    let wrong_body = wrong.text().await.unwrap();
    let unknown = app
        .submit_login(&page, "nobody", "bad-password", false)
        .await;
    assert_eq!(unknown.status(), wrong_status);
    assert_eq!(unknown.status(), 401);
    let unknown_body = unknown.text().await.unwrap();
    assert!(unknown_body.contains(LOGIN_FAILED));
    assert_eq!(
        unknown_body.replace("value=\"nobody\"", "value=\"USER\""),
        wrong_body.replace("value=\"uma\"", "value=\"USER\""),
        "the pages differ only in the echoed user name"
    );
}

#[tokio::test]
async fn a_disabled_user_with_the_right_password_gets_the_same_401() {
    let app = spawn_app().await;
    app.add_user("dora", "dora-password").await;
    app.state
        .store
        .set_disabled("dora", true, app.clock_now())
        .await
        .unwrap();
    let (page, _) = fresh_login_page(&app).await;
    let resp = app
        .submit_login(&page, "dora", "dora-password", false)
        .await;
    assert_eq!(resp.status(), 401);
    assert!(resp.headers().get("location").is_none());
    let body = resp.text().await.unwrap();
    assert!(body.contains(LOGIN_FAILED), "{body}");
    assert!(!body.to_lowercase().contains("disabled"), "no hint why");
}

/// POSTs the login form fields with `client`.
async fn post_login(
    app: &TestApp,
    client: &reqwest::Client,
    form: &[(&str, &str)],
) -> reqwest::Response {
    client
        .post(app.url("/login"))
        .form(form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_login_post_without_the_csrf_cookie_is_403_and_issues_no_code() {
    let app = spawn_app().await;
    app.add_user("carl", "carl-password").await;
    let (page, verifier) = fresh_login_page(&app).await;
    let rid = hidden_field(&page, "rid").unwrap();
    let csrf = hidden_field(&page, "csrf").unwrap();
    // another browser (no cookies) posts the right fields
    let resp = post_login(
        &app,
        &bare_client(),
        &[
            ("rid", &rid),
            ("csrf", &csrf),
            ("username", "carl"),
            ("password", "carl-password"),
        ],
    )
    .await;
    assert_eq!(resp.status(), 403);
    assert!(resp.headers().get("location").is_none(), "no code");
    assert!(set_cookie_header(&resp, authserver::oauth::authorize::SSO_COOKIE).is_none());
    assert!(!resp.text().await.unwrap().contains("code="));
    // the real browser can still finish
    let resp = app
        .submit_login(&page, "carl", "carl-password", false)
        .await;
    assert_eq!(resp.status(), 303);
    let code = query_param(&location(&resp), "code").unwrap();
    assert_eq!(app.exchange(&code, &verifier).await.status(), 200);
}

#[tokio::test]
async fn a_login_post_without_the_csrf_field_is_403() {
    let app = spawn_app().await;
    app.add_user("cleo", "cleo-password").await;
    let (page, _) = fresh_login_page(&app).await;
    let rid = hidden_field(&page, "rid").unwrap();
    let resp = post_login(
        &app,
        &app.client,
        &[
            ("rid", &rid),
            ("username", "cleo"),
            ("password", "cleo-password"),
        ],
    )
    .await;
    assert_eq!(resp.status(), 403);
    assert!(resp.headers().get("location").is_none(), "no code");
    let resp = post_login(
        &app,
        &app.client,
        &[
            ("rid", &rid),
            ("csrf", ""),
            ("username", "cleo"),
            ("password", "cleo-password"),
        ],
    )
    .await;
    assert_eq!(resp.status(), 403, "an empty csrf field");
    assert!(resp.headers().get("location").is_none(), "no code");
}

#[tokio::test]
async fn a_login_post_with_a_mismatching_csrf_is_403() {
    let app = spawn_app().await;
    app.add_user("cora", "cora-password").await;
    let (page, _) = fresh_login_page(&app).await;
    let rid = hidden_field(&page, "rid").unwrap();
    let forged = authserver::crypto::random_token();
    let resp = post_login(
        &app,
        &app.client,
        &[
            ("rid", &rid),
            ("csrf", &forged),
            ("username", "cora"),
            ("password", "cora-password"),
        ],
    )
    .await;
    assert_eq!(resp.status(), 403);
    assert!(resp.headers().get("location").is_none(), "no code");
}

#[tokio::test]
async fn an_unknown_rid_gets_a_400_page() {
    let app = spawn_app().await;
    app.add_user("rita", "rita-password").await;
    let (page, _) = fresh_login_page(&app).await;
    let csrf = hidden_field(&page, "csrf").unwrap();
    let unknown = authserver::crypto::random_token();
    let resp = post_login(
        &app,
        &app.client,
        &[
            ("rid", &unknown),
            ("csrf", &csrf),
            ("username", "rita"),
            ("password", "rita-password"),
        ],
    )
    .await;
    assert_error_page(resp, 400, "unknown rid").await;
}

#[tokio::test]
async fn an_expired_rid_gets_a_400_page() {
    let app = spawn_app().await;
    app.add_user("eric", "eric-password").await;
    let (page, _) = fresh_login_page(&app).await;
    app.clock.advance(1801);
    let resp = app
        .submit_login(&page, "eric", "eric-password", false)
        .await;
    assert_error_page(resp, 400, "expired rid").await;
}
