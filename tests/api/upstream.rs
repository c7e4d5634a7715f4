//! Sign-in through an upstream OpenID Connect provider, against a small fake provider
//! written here (axum on a random loopback port: discovery, JWKS, token endpoint) that can
//! misbehave on purpose: a bad signature, a wrong `nonce`, another issuer, another
//! audience, a rotated key. The browser's side is played by the test's HTTP client (the
//! real provider with Chromium is `browser_upstream.rs`).
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use authserver::config::SigningAlgorithm;
use authserver::keys::SigningKey;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::helpers::{
    html_unescape, jwt_parts, location, pkce_pair, query_param, set_cookie_header, AppBuilder,
    TestApp, REDIRECT,
};

const CLIENT_ID: &str = "authserver-at-fake";
const CLIENT_SECRET: &str = "fake-client-secret";
const CODE: &str = "fake-code";

/// How the fake provider mints its next ID token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Good,
    BadSignature,
    WrongNonce,
    OtherIssuer,
    WrongAudience,
}

pub struct Fake {
    pub issuer: String,
    key: SigningKey,
    /// Signs with another key under the good key's `kid`.
    impostor: SigningKey,
    /// A second key the provider rotates to.
    next: SigningKey,
    rotated: AtomicBool,
    pub mode: Mutex<Mode>,
    /// The nonce and PKCE challenge authserver sent (read from its redirect by the test).
    sent: Mutex<Option<(String, String)>>,
    pub name: Mutex<String>,
    pub token_requests: AtomicUsize,
    pub jwks_requests: AtomicUsize,
}

fn rsa_key(kid: &str) -> SigningKey {
    let stored = SigningKey::generate(SigningAlgorithm::RS256, 0).unwrap();
    SigningKey::from_pkcs8(
        &stored.private_pkcs8,
        SigningAlgorithm::RS256,
        Some(kid.into()),
    )
    .unwrap()
}

impl Fake {
    /// Starts a fake provider on `listener` (or a fresh port).
    pub async fn start_on(listener: Option<std::net::TcpListener>) -> Arc<Fake> {
        let listener = match listener {
            Some(l) => l,
            None => std::net::TcpListener::bind("127.0.0.1:0").unwrap(),
        };
        listener.set_nonblocking(true).unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let fake = Arc::new(Fake {
            issuer,
            key: rsa_key("k1"),
            impostor: rsa_key("k1"),
            next: rsa_key("k2"),
            rotated: AtomicBool::new(false),
            mode: Mutex::new(Mode::Good),
            sent: Mutex::new(None),
            name: Mutex::new("Fiona Upstream".into()),
            token_requests: AtomicUsize::new(0),
            jwks_requests: AtomicUsize::new(0),
        });
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .route("/token", post(token))
            .with_state(fake.clone());
        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        fake
    }

    pub async fn start() -> Arc<Fake> {
        Fake::start_on(None).await
    }

    pub fn set_mode(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    /// Switches to a new signing key (published in the JWKS from now on).
    pub fn rotate(&self) {
        self.rotated.store(true, Ordering::SeqCst);
    }

    fn signing_key(&self) -> &SigningKey {
        if self.rotated.load(Ordering::SeqCst) {
            &self.next
        } else {
            &self.key
        }
    }
}

async fn discovery(State(f): State<Arc<Fake>>) -> Json<Value> {
    let i = &f.issuer;
    Json(json!({
        "issuer": i,
        "authorization_endpoint": format!("{i}/authorize"),
        "token_endpoint": format!("{i}/token"),
        "jwks_uri": format!("{i}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "HS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        "code_challenge_methods_supported": ["S256"],
    }))
}

async fn jwks(State(f): State<Arc<Fake>>) -> Json<Value> {
    f.jwks_requests.fetch_add(1, Ordering::SeqCst);
    Json(json!({ "keys": [f.signing_key().jwk.clone()] }))
}

async fn token(
    State(f): State<Arc<Fake>>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    f.token_requests.fetch_add(1, Ordering::SeqCst);
    let field = |n: &str| {
        form.iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    // client_secret_basic, as configured
    let basic = format!(
        "Basic {}",
        STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    );
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(basic.as_str()) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "invalid_client"})),
        )
            .into_response();
    }
    let Some((nonce, challenge)) = f.sent.lock().unwrap().clone() else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid_grant"})),
        )
            .into_response();
    };
    let verifier = field("code_verifier");
    let pkce_ok = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) == challenge;
    if field("grant_type") != "authorization_code" || field("code") != CODE || !pkce_ok {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid_grant"})),
        )
            .into_response();
    }
    let now = authserver::clock::Clock::now(&authserver::clock::SystemClock);
    let mode = *f.mode.lock().unwrap();
    let claims = json!({
        "iss": if mode == Mode::OtherIssuer { "https://evil.example".to_string() } else { f.issuer.clone() },
        "sub": "fake-sub-1",
        "aud": if mode == Mode::WrongAudience { "someone-else" } else { CLIENT_ID },
        "exp": now + 300,
        "iat": now,
        "nonce": if mode == Mode::WrongNonce { "not-the-nonce".to_string() } else { nonce },
        "preferred_username": "fiona",
        "name": f.name.lock().unwrap().clone(),
        "email": "fiona@upstream.test",
        "email_verified": true,
    });
    let key = if mode == Mode::BadSignature {
        &f.impostor
    } else {
        f.signing_key()
    };
    let id_token = key.sign("JWT", &claims).unwrap();
    Json(json!({
        "access_token": "fake-access-token",
        "token_type": "Bearer",
        "expires_in": 300,
        "id_token": id_token,
    }))
    .into_response()
}

/// A server with the fake provider configured as `corp` ("Corp SSO").
pub async fn app_with(fake_issuer: &str) -> TestApp {
    AppBuilder::new()
        .set("authentication.oidc.providers", "corp")
        .set("authentication.oidc.provider.corp.issuer", fake_issuer)
        .set("authentication.oidc.provider.corp.client.id", CLIENT_ID)
        .set(
            "authentication.oidc.provider.corp.client.secret",
            CLIENT_SECRET,
        )
        .set("authentication.oidc.provider.corp.display.name", "Corp SSO")
        .spawn()
        .await
}

/// The "Sign in with …" link of provider `name` on a login page.
pub fn start_link(page: &str, name: &str) -> Option<String> {
    let marker = format!("/upstream/{name}/start?rid=");
    let at = page.find(&marker)?;
    let begin = page[..at].rfind('"')? + 1;
    let end = at + page[at..].find('"')?;
    Some(html_unescape(&page[begin..end]))
}

/// Our authorization request → login page → the provider's button → the redirect to the
/// provider, checked; the fake learns the nonce and challenge. Returns (state, our PKCE
/// verifier).
async fn send_upstream(app: &TestApp, fake: &Fake) -> (String, String) {
    let (verifier, challenge) = pkce_pair();
    let page = app.login_page(&app.authorize_url(&challenge, &[])).await;
    assert!(page.contains("Sign in with Corp SSO"), "{page}");
    let link = start_link(&page, "corp").expect("the provider's button");
    let resp = app.get(&format!("{}{link}", app.address)).await;
    assert_eq!(resp.status(), 302, "{:?}", resp.text().await);
    let cookie = set_cookie_header(&resp, "authserver_upstream").expect("browser key cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let to = location(&resp);
    assert!(
        to.starts_with(&format!("{}/authorize?", fake.issuer)),
        "{to}"
    );
    assert_eq!(query_param(&to, "response_type").as_deref(), Some("code"));
    assert_eq!(query_param(&to, "client_id").as_deref(), Some(CLIENT_ID));
    assert_eq!(
        query_param(&to, "redirect_uri"),
        Some(format!("{}/upstream/corp/callback", app.issuer))
    );
    assert_eq!(
        query_param(&to, "code_challenge_method").as_deref(),
        Some("S256")
    );
    let scope = query_param(&to, "scope").unwrap();
    assert!(scope.split(' ').any(|s| s == "openid"), "{scope}");
    let state = query_param(&to, "state").unwrap();
    let nonce = query_param(&to, "nonce").unwrap();
    assert!(state.len() >= 32 && nonce.len() >= 32 && state != nonce);
    let challenge = query_param(&to, "code_challenge").unwrap();
    *fake.sent.lock().unwrap() = Some((nonce, challenge));
    (state, verifier)
}

async fn come_back(app: &TestApp, state: &str) -> reqwest::Response {
    app.get(&format!(
        "{}/upstream/corp/callback?code={CODE}&state={state}",
        app.issuer
    ))
    .await
}

async fn sessions(app: &TestApp) -> i64 {
    app.sql_i64("SELECT COUNT(*) FROM sso_sessions").await
}

/// A refused callback: the error page with `message`, no session cookie, no session row.
async fn assert_refused(app: &TestApp, resp: reqwest::Response, status: u16, message: &str) {
    assert_eq!(resp.status(), status);
    assert!(set_cookie_header(&resp, "authserver_sso").is_none());
    let page = html_unescape(&resp.text().await.unwrap());
    assert!(page.contains("You are not signed in"), "{page}");
    assert!(page.contains(message), "{page}");
    assert_eq!(sessions(app).await, 0);
}

#[tokio::test]
async fn a_provider_sign_in_continues_our_authorization_request_and_makes_the_user() {
    let fake = Fake::start().await;
    let app = app_with(&fake.issuer).await;
    let (state, verifier) = send_upstream(&app, &fake).await;
    let resp = come_back(&app, &state).await;
    assert_eq!(resp.status(), 303, "{:?}", resp.text().await);
    assert!(set_cookie_header(&resp, "authserver_sso").is_some());
    let to = location(&resp);
    assert!(to.starts_with(REDIRECT), "{to}");
    assert_eq!(query_param(&to, "state").as_deref(), Some("st4te"));
    let code = query_param(&to, "code").unwrap();
    let tokens: Value = app.exchange(&code, &verifier).await.json().await.unwrap();
    let (_, claims) = jwt_parts(tokens["id_token"].as_str().unwrap());
    assert_eq!(claims["sub"], "fiona");
    assert_eq!(claims["name"], "Fiona Upstream");
    assert_eq!(claims["email"], "fiona@upstream.test");
    assert_eq!(claims["nonce"], "n0nce", "our own client's nonce");
    assert_eq!(sessions(&app).await, 1);
    // the user row is the provider's: marked external, with its source
    let source = app
        .sql("SELECT source FROM users WHERE username = $1")
        .bind("fiona")
        .strings()
        .await;
    assert_eq!(source, ["oidc:corp"]);

    // the same state again (a replayed callback) is refused, the first use stands
    let replay = come_back(&app, &state).await;
    assert_eq!(replay.status(), 400);
    assert!(set_cookie_header(&replay, "authserver_sso").is_none());
    let page = html_unescape(&replay.text().await.unwrap());
    assert!(page.contains("expired or was already completed"), "{page}");
    assert_eq!(
        fake.token_requests.load(Ordering::SeqCst),
        1,
        "no second exchange"
    );

    // the SSO session now answers our next authorization request without a login page
    let (_, challenge) = pkce_pair();
    let resp = app.get(&app.authorize_url(&challenge, &[])).await;
    assert_eq!(resp.status(), 302);
    assert!(location(&resp).starts_with(REDIRECT));
}

#[tokio::test]
async fn a_second_sign_in_updates_the_name_from_the_provider() {
    let fake = Fake::start().await;
    let app = app_with(&fake.issuer).await;
    let (state, _) = send_upstream(&app, &fake).await;
    assert_eq!(come_back(&app, &state).await.status(), 303);
    *fake.name.lock().unwrap() = "Fiona Renamed".into();
    let browser = app.another_browser();
    let (state, verifier) = send_upstream(&browser, &fake).await;
    let resp = come_back(&browser, &state).await;
    assert_eq!(resp.status(), 303);
    let code = query_param(&location(&resp), "code").unwrap();
    let tokens: Value = browser
        .exchange(&code, &verifier)
        .await
        .json()
        .await
        .unwrap();
    let (_, claims) = jwt_parts(tokens["id_token"].as_str().unwrap());
    assert_eq!(claims["name"], "Fiona Renamed");
    let users = app.sql_i64("SELECT COUNT(*) FROM users").await;
    assert_eq!(users, 1, "the same user, updated");
}

#[tokio::test]
async fn an_id_token_with_a_bad_signature_is_refused() {
    let fake = Fake::start().await;
    let app = app_with(&fake.issuer).await;
    fake.set_mode(Mode::BadSignature);
    let (state, _) = send_upstream(&app, &fake).await;
    let resp = come_back(&app, &state).await;
    assert_refused(&app, resp, 400, "could not be verified").await;
}

#[tokio::test]
async fn an_id_token_with_a_wrong_nonce_is_refused() {
    let fake = Fake::start().await;
    let app = app_with(&fake.issuer).await;
    fake.set_mode(Mode::WrongNonce);
    let (state, _) = send_upstream(&app, &fake).await;
    let resp = come_back(&app, &state).await;
    assert_refused(&app, resp, 400, "could not be verified").await;
}

#[tokio::test]
async fn an_id_token_from_an_unknown_issuer_is_refused() {
    let fake = Fake::start().await;
    let app = app_with(&fake.issuer).await;
    fake.set_mode(Mode::OtherIssuer);
    let (state, _) = send_upstream(&app, &fake).await;
    let resp = come_back(&app, &state).await;
    assert_refused(&app, resp, 400, "could not be verified").await;
}

#[tokio::test]
async fn an_id_token_for_another_audience_is_refused() {
    let fake = Fake::start().await;
    let app = app_with(&fake.issuer).await;
    fake.set_mode(Mode::WrongAudience);
    let (state, _) = send_upstream(&app, &fake).await;
    let resp = come_back(&app, &state).await;
    assert_refused(&app, resp, 400, "could not be verified").await;
}

#[tokio::test]
async fn a_callback_in_another_browser_or_with_a_forged_state_is_refused() {
    let fake = Fake::start().await;
    let app = app_with(&fake.issuer).await;
    let (state, _) = send_upstream(&app, &fake).await;
    let other = app.another_browser();
    let resp = come_back(&other, &state).await;
    assert_refused(&app, resp, 400, "started in another browser").await;
    // the state is used up by that attempt: the right browser cannot use it either
    let resp = come_back(&app, &state).await;
    assert_refused(&app, resp, 400, "already completed").await;
    let resp = come_back(&app, "forged-state").await;
    assert_refused(&app, resp, 400, "already completed").await;
    assert_eq!(fake.token_requests.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn the_providers_access_denied_is_a_page_and_no_session() {
    let fake = Fake::start().await;
    let app = app_with(&fake.issuer).await;
    let (state, _) = send_upstream(&app, &fake).await;
    let resp = app
        .get(&format!(
            "{}/upstream/corp/callback?error=access_denied&error_description=no&state={state}",
            app.issuer
        ))
        .await;
    assert_refused(&app, resp, 403, "Corp SSO did not let you sign in").await;
    // and the state is gone
    let resp = come_back(&app, &state).await;
    assert_refused(&app, resp, 400, "already completed").await;
}

#[tokio::test]
async fn a_rotated_provider_key_is_fetched_once_and_accepted() {
    let fake = Fake::start().await;
    let app = app_with(&fake.issuer).await;
    let (state, _) = send_upstream(&app, &fake).await;
    assert_eq!(come_back(&app, &state).await.status(), 303);
    let fetched = fake.jwks_requests.load(Ordering::SeqCst);
    fake.rotate();
    let browser = app.another_browser();
    let (state, _) = send_upstream(&browser, &fake).await;
    let resp = come_back(&browser, &state).await;
    assert_eq!(resp.status(), 303, "{:?}", resp.text().await);
    assert_eq!(fake.jwks_requests.load(Ordering::SeqCst), fetched + 1);
}

#[tokio::test]
async fn a_provider_that_is_down_gives_an_error_page_until_it_answers() {
    // a port nobody listens on yet
    let reserved = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = reserved.local_addr().unwrap();
    drop(reserved);
    let app = app_with(&format!("http://{addr}")).await;
    let (_, challenge) = pkce_pair();
    let page = app.login_page(&app.authorize_url(&challenge, &[])).await;
    let link = start_link(&page, "corp").expect("the button is shown");
    let resp = app.get(&format!("{}{link}", app.address)).await;
    assert_eq!(resp.status(), 503);
    let page = html_unescape(&resp.text().await.unwrap());
    assert!(
        page.contains("Corp SSO cannot be reached right now"),
        "{page}"
    );

    // the provider comes up: the button works again (retried in the background and on
    // demand), without a restart
    let fake = Fake::start_on(Some(std::net::TcpListener::bind(addr).unwrap())).await;
    let mut status = 0;
    for _ in 0..40 {
        let resp = app.get(&format!("{}{link}", app.address)).await;
        status = resp.status().as_u16();
        if status == 302 {
            assert!(location(&resp).starts_with(&fake.issuer));
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    assert_eq!(status, 302, "the provider was discovered once it answered");
}

#[tokio::test]
async fn the_start_link_needs_the_login_pages_browser() {
    let fake = Fake::start().await;
    let app = app_with(&fake.issuer).await;
    let (_, challenge) = pkce_pair();
    let page = app.login_page(&app.authorize_url(&challenge, &[])).await;
    let link = start_link(&page, "corp").unwrap();
    let other = app.another_browser();
    let resp = other.get(&format!("{}{link}", app.address)).await;
    assert_eq!(resp.status(), 403);
    let resp = app
        .get(&format!("{}/upstream/nobody/start?rid=x", app.issuer))
        .await;
    assert_eq!(resp.status(), 400, "an altered rid");
}

#[tokio::test]
async fn a_callback_naming_another_issuer_is_refused() {
    // RFC 9207 mix-up defence: the `iss` of the authorization response must be ours
    let fake = Fake::start().await;
    let app = app_with(&fake.issuer).await;
    let (state, _) = send_upstream(&app, &fake).await;
    let resp = app
        .get(&format!(
            "{}/upstream/corp/callback?code={CODE}&state={state}&iss=https%3A%2F%2Fevil.example",
            app.issuer
        ))
        .await;
    assert_refused(&app, resp, 400, "another provider").await;
    assert_eq!(fake.token_requests.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn with_local_passwords_off_the_login_page_shows_only_the_provider_buttons() {
    let fake = Fake::start().await;
    let app = AppBuilder::new()
        .set("authentication.disable.credentials", "true")
        .set("authentication.oidc.providers", "corp, backup")
        .set("authentication.oidc.provider.corp.issuer", &fake.issuer)
        .set("authentication.oidc.provider.corp.client.id", CLIENT_ID)
        .set(
            "authentication.oidc.provider.corp.client.secret",
            CLIENT_SECRET,
        )
        .set("authentication.oidc.provider.backup.issuer", &fake.issuer)
        .set("authentication.oidc.provider.backup.client.id", CLIENT_ID)
        .set(
            "authentication.oidc.provider.backup.client.secret",
            CLIENT_SECRET,
        )
        .set(
            "authentication.oidc.provider.backup.display.name",
            "Backup IdP",
        )
        .spawn()
        .await;
    app.add_user("local-user", "local-password-1").await;
    let (_, challenge) = pkce_pair();
    let page = app.login_page(&app.authorize_url(&challenge, &[])).await;
    assert!(!page.contains("name=\"password\""), "{page}");
    assert!(page.contains("Sign in with corp") && page.contains("Sign in with Backup IdP"));
    assert!(start_link(&page, "corp").is_some() && start_link(&page, "backup").is_some());
    // a password posted anyway is not checked
    let resp = app
        .client
        .post(app.url("/login"))
        .form(&[("username", "local-user"), ("password", "local-password-1")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    assert!(set_cookie_header(&resp, "authserver_sso").is_none());
}

#[tokio::test]
async fn with_local_passwords_off_and_one_provider_the_browser_goes_straight_to_it() {
    let fake = Fake::start().await;
    let app = AppBuilder::new()
        .set("authentication.disable.credentials", "true")
        .set("authentication.oidc.providers", "corp")
        .set("authentication.oidc.provider.corp.issuer", &fake.issuer)
        .set("authentication.oidc.provider.corp.client.id", CLIENT_ID)
        .set(
            "authentication.oidc.provider.corp.client.secret",
            CLIENT_SECRET,
        )
        .spawn()
        .await;
    let (verifier, challenge) = pkce_pair();
    let resp = app.get(&app.authorize_url(&challenge, &[])).await;
    assert_eq!(resp.status(), 302, "no login page of ours");
    let to = location(&resp);
    assert!(
        to.starts_with(&format!("{}/authorize?", fake.issuer)),
        "{to}"
    );
    let state = query_param(&to, "state").unwrap();
    *fake.sent.lock().unwrap() = Some((
        query_param(&to, "nonce").unwrap(),
        query_param(&to, "code_challenge").unwrap(),
    ));
    let resp = come_back(&app, &state).await;
    assert_eq!(resp.status(), 303, "{:?}", resp.text().await);
    let code = query_param(&location(&resp), "code").unwrap();
    let tokens: Value = app.exchange(&code, &verifier).await.json().await.unwrap();
    let (_, claims) = jwt_parts(tokens["id_token"].as_str().unwrap());
    assert_eq!(claims["sub"], "fiona");
}
