//! Sign-in through a real upstream OpenID Connect provider in a real browser: panva's
//! `oidc-provider` (Node, `tests/browser/upstream_idp.mjs`) is the provider, headless
//! Chromium (`tests/browser/upstream_login.mjs`) goes from our authorization request to our
//! login page, clicks "Sign in with …", signs in on the provider's own login and consent
//! pages, and lands back at the client with our code.
//!
//! Needs what the browser tests need plus `tests/browser/node_modules/oidc-provider`
//! (`npm ci` in `tests/browser`); skipped without them, failed with `CI=true`.
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::browser::{browser_available, browser_dir, in_ci, run_node_script};
use crate::helpers::{jwt_parts, pkce_pair, query_param, AppBuilder, TestApp, REDIRECT};

const CLIENT_ID: &str = "authserver";
const CLIENT_SECRET: &str = "upstream-client-secret-for-tests";
const BUTTON: &str = "Sign in with Upstream IdP";

/// The provider process, stopped when dropped.
struct Idp {
    child: Child,
    issuer: String,
}

impl Drop for Idp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn idp_available(test: &str) -> bool {
    if !browser_available(test) {
        return false;
    }
    if browser_dir().join("node_modules/oidc-provider").is_dir() {
        return true;
    }
    let missing = "tests/browser/node_modules/oidc-provider (cd tests/browser && npm ci)";
    if in_ci() {
        panic!("CI is set, so {test} must run, but this machine lacks: {missing}");
    }
    println!("skipped: {test}: missing {missing}");
    false
}

/// Starts the provider with authserver (on `port`) registered as its client.
fn start_idp(port: u16, claims_file: &std::path::Path) -> Idp {
    let redirect = format!("http://127.0.0.1:{port}/authentication/upstream/idp/callback");
    let mut child = Command::new("node")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("tests/browser/upstream_idp.mjs")
        .args([CLIENT_ID, CLIENT_SECRET, &redirect])
        .arg(claims_file)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("node starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("the provider prints its issuer");
    let json: Value = serde_json::from_str(line.trim())
        .unwrap_or_else(|e| panic!("upstream_idp.mjs printed {line:?}: {e}"));
    Idp {
        issuer: json["issuer"].as_str().expect("issuer").to_owned(),
        child,
    }
}

/// One sign-in in a fresh browser; returns (our code, our PKCE verifier, ms it took).
async fn sign_in(app: &TestApp, account: &str) -> (String, String, u64) {
    let (verifier, challenge) = pkce_pair();
    let url = app.authorize_url(&challenge, &[]);
    let (stdout, stderr) =
        run_node_script("upstream_login.mjs", &[&url, BUTTON, account], 90).await;
    let json: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!("upstream_login.mjs printed ({e}):\n{stdout}\nstderr: {stderr}")
    });
    let landed = json["url"].as_str().unwrap();
    assert!(
        landed.starts_with(REDIRECT),
        "the browser ended at {landed} ({}: {}), pages: {}",
        json["title"],
        json["error_text"],
        json["pages"]
    );
    assert_eq!(query_param(landed, "state").as_deref(), Some("st4te"));
    let pages = json["pages"].to_string();
    assert!(
        pages.contains("/interaction/"),
        "the provider's own pages: {pages}"
    );
    (
        query_param(landed, "code").expect("our code"),
        verifier,
        json["ms"].as_u64().unwrap_or_default(),
    )
}

#[tokio::test]
async fn a_browser_signs_in_through_a_real_upstream_provider_and_a_second_sign_in_updates_the_name()
{
    let test = "browser_upstream::a_browser_signs_in_through_a_real_upstream_provider";
    if !idp_available(test) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let claims = dir.path().join("claims.json");
    std::fs::write(
        &claims,
        r#"{"carol": {"name": "Carol Example", "email": "carol@corp.test"}}"#,
    )
    .unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let idp = start_idp(listener.local_addr().unwrap().port(), &claims);
    let app = AppBuilder::new()
        .listener(listener)
        .set("authentication.oidc.providers", "idp")
        .set("authentication.oidc.provider.idp.issuer", &idp.issuer)
        .set("authentication.oidc.provider.idp.client.id", CLIENT_ID)
        .set(
            "authentication.oidc.provider.idp.client.secret",
            CLIENT_SECRET,
        )
        .set(
            "authentication.oidc.provider.idp.display.name",
            "Upstream IdP",
        )
        .spawn()
        .await;

    let (code, verifier, first_ms) = sign_in(&app, "carol").await;
    let resp = app.exchange(&code, &verifier).await;
    assert_eq!(resp.status(), 200);
    let tokens: Value = resp.json().await.unwrap();
    let (_, id) = jwt_parts(tokens["id_token"].as_str().unwrap());
    // the name, the user name and the email come from the provider (its userinfo)
    assert_eq!(id["sub"], "carol");
    assert_eq!(id["name"], "Carol Example");
    assert_eq!(id["email"], "carol@corp.test");
    assert_eq!(id["iss"], app.issuer.as_str(), "our own token");

    // the provider renames her: the next sign-in brings the new name
    std::fs::write(
        &claims,
        r#"{"carol": {"name": "Carol Renamed", "email": "carol@corp.test"}}"#,
    )
    .unwrap();
    let (code, verifier, second_ms) = sign_in(&app, "carol").await;
    let tokens: Value = app.exchange(&code, &verifier).await.json().await.unwrap();
    let (_, id) = jwt_parts(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["sub"], "carol");
    assert_eq!(id["name"], "Carol Renamed");
    let rows = app
        .sql("SELECT COUNT(*) FROM users WHERE username = $1")
        .bind("carol")
        .i64()
        .await;
    assert_eq!(rows, 1);
    // figures for bench/upstream_signin.sh (not asserted)
    println!("upstream sign-in through Chromium: first {first_ms} ms, second {second_ms} ms");
}
