//! Consent (issue 15): third-party registered clients ask the user after sign-in;
//! first-party and properties-file clients do not. The decision is remembered, a new
//! scope asks again, `prompt=none` without consent is `consent_required`, and withdrawing
//! on the account page revokes the client's tokens for the user.
use serde_json::{json, Value};

use crate::helpers::lifecycle_helpers::{basic, introspect, oauth_error, post_token};
use crate::helpers::pat_helpers::element_text;
use crate::helpers::{hidden_field, location, query_param, spawn_app, TestApp};
use crate::registered_clients::register;

const RP_CB: &str = "https://rp.example.org/cb";

async fn third_party(app: &TestApp) -> (String, String) {
    let (id, secret) = register(
        app,
        "gallery",
        json!({"client_name": "Photo Gallery", "redirect_uris": [RP_CB]}),
    )
    .await;
    (id, secret.unwrap())
}

fn authorize_url(app: &TestApp, client_id: &str, scope: &str, extra: &[(&str, &str)]) -> String {
    let mut url = url::Url::parse(&app.url("/authorize")).unwrap();
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("response_type", "code")
            .append_pair("client_id", client_id)
            .append_pair("redirect_uri", RP_CB)
            .append_pair("scope", scope)
            .append_pair("state", "st4te")
            .append_pair("nonce", "n0nce");
        for (k, v) in extra {
            q.append_pair(k, v);
        }
    }
    url.to_string()
}

/// Signs in through the login page of `url`; returns the login POST's response.
async fn sign_in_at(app: &TestApp, url: &str) -> reqwest::Response {
    let page = app.login_page(url).await;
    assert!(
        page.contains("<strong>Photo Gallery</strong>")
            || page.contains("<strong>Intranet</strong>"),
        "the login page names the registered client: {page}"
    );
    app.submit_login(&page, "alice", "alice-password", false)
        .await
}

/// Posts the consent page's form with `decision`.
async fn decide(app: &TestApp, page: &str, decision: &str) -> reqwest::Response {
    let rid = hidden_field(page, "rid").expect("rid");
    let csrf = hidden_field(page, "csrf").expect("csrf");
    app.client
        .post(app.url("/consent"))
        .form(&[
            ("rid", rid.as_str()),
            ("csrf", csrf.as_str()),
            ("decision", decision),
        ])
        .send()
        .await
        .unwrap()
}

async fn consent_page(resp: reqwest::Response) -> String {
    assert_eq!(resp.status(), 200, "expected the consent page");
    let html = resp.text().await.unwrap();
    assert!(html.contains("Allow access?"), "{html}");
    html
}

fn code_of(resp: &reqwest::Response) -> String {
    let loc = location(resp);
    assert!(loc.starts_with(RP_CB), "{loc}");
    assert_eq!(query_param(&loc, "state").as_deref(), Some("st4te"));
    query_param(&loc, "code").unwrap_or_else(|| panic!("a code in {loc}"))
}

async fn exchange(app: &TestApp, id: &str, secret: &str, code: &str) -> Value {
    let resp = post_token(
        app,
        &[("Authorization", &basic(id, secret))],
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", RP_CB),
        ],
    )
    .await;
    let status = resp.status();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test]
async fn a_third_party_client_asks_for_consent_and_allow_issues_a_code_that_works() {
    let app = spawn_app().await;
    app.add_user("alice", "alice-password").await;
    let (id, secret) = third_party(&app).await;
    let resp = sign_in_at(&app, &authorize_url(&app, &id, "openid profile email", &[])).await;
    let csp = resp.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("form-action"), "{csp}");
    assert_eq!(resp.headers()["x-frame-options"], "DENY");
    let page = consent_page(resp).await;
    assert_eq!(
        element_text(&page, "consent-client").as_deref(),
        Some("Photo Gallery")
    );
    assert_eq!(
        element_text(&page, "consent-host").as_deref(),
        Some("rp.example.org")
    );
    assert!(page.contains("See your e-mail address"), "{page}");
    assert!(page.contains("See your name"), "{page}");
    // the decision needs this browser's form: another browser cannot post it
    let other = app.another_browser();
    let forged = decide(&other, &page, "allow").await;
    assert!(matches!(forged.status().as_u16(), 400 | 403));
    let allowed = decide(&app, &page, "allow").await;
    assert_eq!(allowed.status(), 303);
    let tokens = exchange(&app, &id, &secret, &code_of(&allowed)).await;
    assert!(tokens["id_token"].is_string());
}

#[tokio::test]
async fn first_party_and_properties_file_clients_sign_in_without_consent() {
    let app = spawn_app().await;
    app.add_user("alice", "alice-password").await;
    // a properties-file client: the code comes with the login POST
    let (_code, _verifier) = app.sign_in("alice", "alice-password").await;
    let (id, _) = register(
        &app,
        "intranet",
        json!({"client_name": "Intranet", "redirect_uris": [RP_CB], "first_party": true}),
    )
    .await;
    let fresh = app.another_browser();
    let resp = sign_in_at(&fresh, &authorize_url(&fresh, &id, "openid", &[])).await;
    assert_eq!(resp.status(), 303);
    code_of(&resp);
    // prompt=consent does not make a first-party client ask
    let again = fresh
        .get(&authorize_url(
            &fresh,
            &id,
            "openid",
            &[("prompt", "consent")],
        ))
        .await;
    assert_eq!(again.status(), 302);
    code_of(&again);
}

#[tokio::test]
async fn deny_sends_access_denied_with_the_state_and_remembers_nothing() {
    let app = spawn_app().await;
    app.add_user("alice", "alice-password").await;
    let (id, _) = third_party(&app).await;
    let page = consent_page(sign_in_at(&app, &authorize_url(&app, &id, "openid", &[])).await).await;
    let denied = decide(&app, &page, "deny").await;
    assert_eq!(denied.status(), 303);
    let loc = location(&denied);
    assert!(loc.starts_with(RP_CB), "{loc}");
    assert_eq!(query_param(&loc, "error").as_deref(), Some("access_denied"));
    assert_eq!(query_param(&loc, "state").as_deref(), Some("st4te"));
    assert_eq!(query_param(&loc, "code"), None);
    // asked again next time
    consent_page(app.get(&authorize_url(&app, &id, "openid", &[])).await).await;
}

#[tokio::test]
async fn consent_is_remembered_a_new_scope_asks_again_and_prompt_consent_always_asks() {
    let app = spawn_app().await;
    app.add_user("alice", "alice-password").await;
    let (id, _) = third_party(&app).await;
    let page =
        consent_page(sign_in_at(&app, &authorize_url(&app, &id, "openid profile", &[])).await)
            .await;
    code_of(&decide(&app, &page, "allow").await);
    // remembered: the session answers at once, for the same or fewer scopes
    for scope in ["openid profile", "openid"] {
        let resp = app.get(&authorize_url(&app, &id, scope, &[])).await;
        assert_eq!(resp.status(), 302, "{scope}");
        code_of(&resp);
    }
    // one more scope: asked again, and only the new set is remembered once allowed
    let page = consent_page(
        app.get(&authorize_url(&app, &id, "openid profile email", &[]))
            .await,
    )
    .await;
    assert!(page.contains("See your e-mail address"));
    code_of(&decide(&app, &page, "allow").await);
    let resp = app
        .get(&authorize_url(&app, &id, "openid email", &[]))
        .await;
    assert_eq!(resp.status(), 302);
    // prompt=consent always asks
    consent_page(
        app.get(&authorize_url(
            &app,
            &id,
            "openid",
            &[("prompt", "consent")],
        ))
        .await,
    )
    .await;
}

#[tokio::test]
async fn prompt_none_without_consent_answers_consent_required() {
    let app = spawn_app().await;
    app.add_user("alice", "alice-password").await;
    let (id, _) = third_party(&app).await;
    // a session from a properties-file client's sign-in
    app.sign_in("alice", "alice-password").await;
    let resp = app
        .get(&authorize_url(&app, &id, "openid", &[("prompt", "none")]))
        .await;
    assert_eq!(resp.status(), 302);
    let loc = location(&resp);
    assert!(loc.starts_with(RP_CB), "{loc}");
    assert_eq!(
        query_param(&loc, "error").as_deref(),
        Some("consent_required")
    );
    assert_eq!(query_param(&loc, "state").as_deref(), Some("st4te"));
    // once allowed, prompt=none answers with a code
    let page = consent_page(app.get(&authorize_url(&app, &id, "openid", &[])).await).await;
    code_of(&decide(&app, &page, "allow").await);
    let resp = app
        .get(&authorize_url(&app, &id, "openid", &[("prompt", "none")]))
        .await;
    code_of(&resp);
}

#[tokio::test]
async fn withdrawing_on_the_account_page_revokes_the_clients_tokens_for_the_user() {
    let app = spawn_app().await;
    app.add_user("alice", "alice-password").await;
    let (id, secret) = third_party(&app).await;
    let page = consent_page(
        sign_in_at(
            &app,
            &authorize_url(&app, &id, "openid profile offline_access", &[]),
        )
        .await,
    )
    .await;
    assert!(page.contains("Keep access while you are not signed in"));
    let tokens = exchange(
        &app,
        &id,
        &secret,
        &code_of(&decide(&app, &page, "allow").await),
    )
    .await;
    let access = tokens["access_token"].as_str().unwrap().to_string();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_string();
    assert_eq!(app.validate_status("Bearer", &access).await, 200);
    assert_eq!(introspect(&app, &access).await["active"], true);

    let account = app.get(&app.url("/account")).await.text().await.unwrap();
    assert!(account.contains("Photo Gallery"), "{account}");
    assert!(account.contains("offline_access"), "{account}");
    assert!(account.contains(&format!("data-client-id=\"{id}\"")));
    let csrf = hidden_field(&account, "csrf").unwrap();
    // a forged form (no CSRF token) withdraws nothing
    let forged = app
        .client
        .post(app.url("/account/grants/withdraw"))
        .form(&[("client_id", id.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    assert_eq!(app.validate_status("Bearer", &access).await, 200);
    let withdrawn = app
        .client
        .post(app.url("/account/grants/withdraw"))
        .form(&[("csrf", csrf.as_str()), ("client_id", id.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(withdrawn.status(), 303);

    assert_eq!(app.validate_status("Bearer", &access).await, 401);
    assert_eq!(introspect(&app, &access).await["active"], false);
    let refreshed = post_token(
        &app,
        &[("Authorization", &basic(&id, &secret))],
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    oauth_error(refreshed, 400, "invalid_grant").await;
    let account = app.get(&app.url("/account")).await.text().await.unwrap();
    assert!(!account.contains("Photo Gallery"), "{account}");
    // and the client must ask again
    consent_page(app.get(&authorize_url(&app, &id, "openid", &[])).await).await;
}

#[tokio::test]
async fn removing_a_client_removes_its_remembered_grants() {
    let app = spawn_app().await;
    app.add_user("alice", "alice-password").await;
    let (id, _) = third_party(&app).await;
    let page = consent_page(sign_in_at(&app, &authorize_url(&app, &id, "openid", &[])).await).await;
    code_of(&decide(&app, &page, "allow").await);
    let count = "SELECT COUNT(*) FROM consent_grants";
    assert_eq!(app.sql_i64(count).await, 1);
    let out = app.cli(&["client", "remove", &id], None);
    assert!(out.status.success());
    assert_eq!(app.sql_i64(count).await, 0);
}

#[tokio::test]
async fn the_device_endpoint_takes_a_registered_clients_own_authentication() {
    let app = spawn_app().await;
    let device_grant = "urn:ietf:params:oauth:grant-type:device_code";
    let (tv, tv_secret) = register(
        &app,
        "tv",
        json!({"client_name": "TV", "grant_types": [device_grant, "refresh_token"]}),
    )
    .await;
    let (public_tv, _) = register(
        &app,
        "public-tv",
        json!({"client_name": "Public TV", "grant_types": [device_grant],
               "token_endpoint_auth_method": "none"}),
    )
    .await;
    let (web, web_secret) = third_party(&app).await;
    let device = |headers: Vec<(&'static str, String)>, form: Vec<(&'static str, String)>| {
        let app = &app;
        async move {
            let mut req = crate::helpers::bare_client()
                .post(app.url("/api/oidc/device_code"))
                .form(&form);
            for (k, v) in headers {
                req = req.header(k, v);
            }
            req.send().await.unwrap()
        }
    };
    let ok = device(
        vec![("Authorization", basic(&tv, tv_secret.as_deref().unwrap()))],
        vec![("scope", "openid".into())],
    )
    .await;
    assert_eq!(ok.status(), 200, "{:?}", ok.text().await);
    let public = device(vec![], vec![("client_id", public_tv.clone())]).await;
    assert_eq!(public.status(), 200, "{:?}", public.text().await);
    // the shared secret never authenticates a registered client
    let shared = device(
        vec![("X-Auth-Secret", crate::helpers::SECRET.into())],
        vec![("client_id", tv.clone())],
    )
    .await;
    oauth_error(shared, 401, "invalid_client").await;
    // a wrong secret
    let wrong = device(vec![("Authorization", basic(&tv, "acs_wrong"))], vec![]).await;
    oauth_error(wrong, 401, "invalid_client").await;
    // a client without the device grant
    let refused = device(vec![("Authorization", basic(&web, &web_secret))], vec![]).await;
    oauth_error(refused, 400, "unauthorized_client").await;
}

#[tokio::test]
async fn approving_a_third_party_device_request_names_the_client_and_is_remembered() {
    let app = spawn_app().await;
    app.add_user("alice", "alice-password").await;
    let device_grant = "urn:ietf:params:oauth:grant-type:device_code";
    let (tv, secret) = register(
        &app,
        "tv",
        json!({"client_name": "Living Room TV", "grant_types": [device_grant, "refresh_token"]}),
    )
    .await;
    let auth = basic(&tv, secret.as_deref().unwrap());
    let started: Value = crate::helpers::bare_client()
        .post(app.url("/api/oidc/device_code"))
        .header("Authorization", &auth)
        .form(&[("scope", "openid email")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let user_code = started["user_code"].as_str().unwrap();
    let entry = app
        .get(started["verification_uri_complete"].as_str().unwrap())
        .await
        .text()
        .await
        .unwrap();
    let csrf = hidden_field(&entry, "csrf").unwrap();
    let confirm = app
        .client
        .post(app.url("/device"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("user_code", user_code),
            ("username", "alice"),
            ("password", "alice-password"),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(confirm.contains("Living Room TV"), "{confirm}");
    let csrf = hidden_field(&confirm, "csrf").unwrap();
    let done = app
        .client
        .post(app.url("/device"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("user_code", user_code),
            ("decision", "approve"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200);
    let tokens = post_token(
        &app,
        &[("Authorization", &auth)],
        &[
            ("grant_type", device_grant),
            ("device_code", started["device_code"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(tokens.status(), 200);
    // remembered like a browser consent: listed on the account page
    let account = app.get(&app.url("/account")).await.text().await.unwrap();
    assert!(account.contains("Living Room TV"), "{account}");
    assert!(account.contains(&format!("data-client-id=\"{tv}\"")));
}
