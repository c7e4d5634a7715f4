//! A real browser signs in: Debian's headless `chromium`, driven by `tests/browser/login.mjs`
//! (playwright-core), fills the login page, and the code it lands with is exchanged for tokens.
//!
//! Needs `/usr/bin/chromium`, `node` and `tests/browser/node_modules/playwright-core`
//! (`.ci/run` installs them). Without them the tests are skipped, unless `CI` is set, in
//! which case they fail: CI must run them.
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::helpers::{spawn_app, TestApp, SECRET};

pub(crate) const CHROMIUM: &str = "/usr/bin/chromium";
const CLIENT_ID: &str = "webApplicationPlatform";
const REDIRECT_URI: &str = "http://localhost:8080/callback";
const USER: &str = "browser-user";
const PASSWORD: &str = "browser-password-1";

pub(crate) fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

/// `CI` is set (CI runs `.ci/run` with `CI=true`).
pub(crate) fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// Whether the browser, node and playwright-core are here. Without them: `false` (after
/// printing "skipped: ...") on a developer's machine, a panic in CI.
pub(crate) fn browser_available(test: &str) -> bool {
    let mut missing = Vec::new();
    if !Path::new(CHROMIUM).exists() {
        missing.push(format!("{CHROMIUM} (apt-get install chromium)"));
    }
    let node_runs = Command::new("node")
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !node_runs {
        missing.push("node".to_string());
    }
    if !browser_dir().join("node_modules/playwright-core").is_dir() {
        missing.push(
            "tests/browser/node_modules/playwright-core (cd tests/browser && npm ci)".to_string(),
        );
    }
    if missing.is_empty() {
        return true;
    }
    let missing = missing.join(", ");
    if in_ci() {
        panic!("CI is set, so {test} must run, but this machine lacks: {missing}");
    }
    println!("skipped: {test}: missing {missing}");
    false
}

/// What `login.mjs` reports.
#[derive(Debug)]
struct BrowserLogin {
    /// Where the browser ended up after submitting the form.
    url: String,
    /// Title of the login page.
    title: String,
    /// Status of the response to the form's POST.
    status: u64,
    /// Text of the page's `.error` element, if any.
    error_text: Option<String>,
}

/// Runs `node tests/browser/login.mjs <authorize_url> <user> <password> [extra...]`.
async fn browser_login(
    authorize_url: &str,
    user: &str,
    password: &str,
    extra: &[String],
) -> BrowserLogin {
    let mut args = vec![authorize_url, user, password];
    args.extend(extra.iter().map(String::as_str));
    let (stdout, stderr) = run_node_script("login.mjs", &args, 90).await;
    let json: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!("login.mjs did not print one JSON line ({e}):\n{stdout}\nstderr: {stderr}")
    });
    BrowserLogin {
        url: json["url"]
            .as_str()
            .unwrap_or_else(|| panic!("no url in {json}"))
            .to_string(),
        title: json["title"]
            .as_str()
            .unwrap_or_else(|| panic!("no title in {json}"))
            .to_string(),
        status: json["status"]
            .as_u64()
            .unwrap_or_else(|| panic!("no status in {json}")),
        error_text: json["error_text"].as_str().map(str::to_string),
    }
}

/// A fresh PKCE pair: (verifier, S256 challenge).
fn pkce() -> (String, String) {
    let verifier = authserver::crypto::random_token();
    assert!(verifier.len() >= 43, "RFC 7636: at least 43 characters");
    let challenge = authserver::domain::pkce::challenge_for(&verifier);
    // the challenge is exactly what a client computes on its own
    assert_eq!(
        challenge,
        URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
    );
    (verifier, challenge)
}

/// The authorization request a web application sends the browser to.
fn authorize_url(app: &TestApp, state: &str, nonce: &str, challenge: &str) -> String {
    // state, nonce and challenge are base64url: nothing to escape
    format!(
        "{}?response_type=code&client_id={CLIENT_ID}\
         &redirect_uri=http%3A%2F%2Flocalhost%3A8080%2Fcallback&scope=openid%20profile\
         &state={state}&nonce={nonce}&code_challenge={challenge}&code_challenge_method=S256",
        app.url("/authorize")
    )
}

fn add_browser_user(app: &TestApp) {
    let out = app.cli(
        &["user", "add", USER, "--password-stdin"],
        Some(&format!("{PASSWORD}\n")),
    );
    assert!(
        out.status.success(),
        "user add failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The claims of a JWT (not verified: other tests do that).
fn jwt_claims(token: &str) -> serde_json::Value {
    let payload = token
        .split('.')
        .nth(1)
        .unwrap_or_else(|| panic!("not a JWT: {token}"));
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url payload"))
        .expect("JSON claims")
}

#[tokio::test]
async fn a_real_browser_signs_in_and_lands_on_the_callback_with_a_code() {
    if !browser_available("a_real_browser_signs_in_and_lands_on_the_callback_with_a_code") {
        return;
    }
    let app = spawn_app().await;
    add_browser_user(&app);
    let (verifier, challenge) = pkce();
    let state = authserver::crypto::random_id();
    let nonce = authserver::crypto::random_id();
    let screenshot = app.dir().join("login-page.png");

    let login = browser_login(
        &authorize_url(&app, &state, &nonce, &challenge),
        USER,
        PASSWORD,
        &[format!("--screenshot={}", screenshot.display())],
    )
    .await;

    assert!(
        !login.title.trim().is_empty(),
        "the login page has a title: {login:?}"
    );
    let png = std::fs::read(&screenshot).expect("login.mjs saved a screenshot");
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n"),
        "the screenshot is a PNG"
    );
    assert_eq!(
        login.status, 303,
        "the form POST answers 303 See Other: {login:?}"
    );
    assert!(
        login.url.starts_with(&format!("{REDIRECT_URI}?")),
        "the browser lands on the client's callback: {login:?}"
    );
    let landed = url::Url::parse(&login.url).expect("a URL");
    let param = |name: &str| {
        landed
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    assert_eq!(param("error"), None, "{login:?}");
    assert_eq!(
        param("state").as_deref(),
        Some(state.as_str()),
        "state comes back: {login:?}"
    );
    assert_eq!(
        param("iss").as_deref(),
        Some(app.issuer.as_str()),
        "RFC 9207 iss: {login:?}"
    );
    let code = param("code")
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| panic!("a code: {login:?}"));

    let resp = app
        .client
        .post(app.url("/api/token"))
        .header("X-Auth-Secret", SECRET)
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT_URI),
            ("client_id", CLIENT_ID),
            ("code_verifier", verifier.as_str()),
        ])
        .send()
        .await
        .expect("token request");
    let status = resp.status();
    let body = resp.text().await.expect("token response body");
    assert_eq!(status, 200, "the browser's code is exchanged: {body}");
    let tokens: serde_json::Value = serde_json::from_str(&body).expect("JSON token response");
    for field in ["id_token", "access_token", "refresh_token"] {
        assert!(
            tokens[field].as_str().is_some_and(|t| !t.is_empty()),
            "{field} in the token response: {tokens}"
        );
    }
    let id = jwt_claims(tokens["id_token"].as_str().unwrap_or_default());
    assert_eq!(id["iss"], app.issuer.as_str(), "{id}");
    assert_eq!(
        id["nonce"],
        nonce.as_str(),
        "the nonce the browser's request carried: {id}"
    );
    let aud_has_client = match &id["aud"] {
        serde_json::Value::String(a) => a == CLIENT_ID,
        serde_json::Value::Array(a) => a.iter().any(|v| v == CLIENT_ID),
        _ => false,
    };
    assert!(aud_has_client, "the id_token is for {CLIENT_ID}: {id}");
}

#[tokio::test]
async fn a_wrong_password_in_the_browser_shows_the_generic_error() {
    if !browser_available("a_wrong_password_in_the_browser_shows_the_generic_error") {
        return;
    }
    let app = spawn_app().await;
    add_browser_user(&app);
    let (_verifier, challenge) = pkce();
    let state = authserver::crypto::random_id();
    let nonce = authserver::crypto::random_id();

    let login = browser_login(
        &authorize_url(&app, &state, &nonce, &challenge),
        USER,
        "not-the-password",
        &[],
    )
    .await;

    assert_eq!(login.status, 401, "a wrong password is 401: {login:?}");
    assert!(
        login.url.starts_with(&format!("{}/", app.address)),
        "the browser stays on the server: {login:?}"
    );
    assert!(
        !login.url.starts_with(REDIRECT_URI),
        "no redirect to the client: {login:?}"
    );
    assert!(
        login
            .error_text
            .as_deref()
            .is_some_and(|t| t.contains("Invalid username or password")),
        "the page shows the generic error: {login:?}"
    );
}

/// Runs `node tests/browser/{script} args…` on the blocking pool (the server runs on this
/// test's runtime and must keep answering meanwhile), at most `limit` seconds, asserts it
/// succeeded and returns its (stdout, stderr).
pub(crate) async fn run_node_script(script: &str, args: &[&str], limit: u64) -> (String, String) {
    let mut cmd = Command::new("node");
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg(format!("tests/browser/{script}"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let output = tokio::time::timeout(
        Duration::from_secs(limit),
        tokio::task::spawn_blocking(move || cmd.output()),
    )
    .await
    .unwrap_or_else(|_| panic!("{script} finished within {limit} s"))
    .expect("the blocking task ran")
    .expect("node starts");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        output.status.success(),
        "{script} failed ({}):\nstderr: {stderr}\nstdout: {stdout}",
        output.status
    );
    (stdout, stderr)
}
