//! Native-app sign-in (RFC 8252): loopback redirects on any port when the whitelist has
//! the loopback IP entry without a port (`http://127.0.0.1/native`, `http://[::1]/native6`),
//! never for `localhost`; private-use URI schemes (`com.example.app:/oauth2redirect`) only
//! when whitelisted, exactly. The whole flow once more with `openid-client` (Node) as the
//! app and headless Chromium as the system browser, discovering through the 2024x path.

use serde_json::Value;

use crate::browser::run_node_script;
use crate::browser::{browser_available, browser_dir, in_ci};
use crate::helpers::*;

const USER: &str = "erin";
const PASSWORD: &str = "erin-password-1";
const PRIVATE_USE: &str = "com.example.app:/oauth2redirect";

/// A server whose whitelist has the IPv4 and IPv6 loopback entries and a private-use URI.
async fn app() -> TestApp {
    let app = AppBuilder::new()
        .set(
            "authentication.redirect.uri.whitelist",
            &format!(
                "{REDIRECT}, http://127.0.0.1/native, http://[::1]/native6, http://localhost/plain, \
                 {PRIVATE_USE}"
            ),
        )
        .spawn()
        .await;
    app.add_user(USER, PASSWORD).await;
    app
}

/// The authorize URL for `redirect_uri` (PKCE, state `st4te`).
fn authorize_url(app: &TestApp, redirect_uri: &str, challenge: &str) -> String {
    let mut url = url::Url::parse(&app.url("/authorize")).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", CLIENT)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("scope", "openid")
        .append_pair("state", "st4te")
        .append_pair("code_challenge", challenge)
        .append_pair("code_challenge_method", "S256");
    url.to_string()
}

/// Signs in through `redirect_uri`, checks the login page's CSP lets the form redirect
/// there, exchanges the code; returns the redirect location.
async fn sign_in_through(app: &TestApp, redirect_uri: &str, csp_source: &str) -> String {
    let (verifier, challenge) = pkce_pair();
    let resp = app
        .client
        .get(authorize_url(app, redirect_uri, &challenge))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{redirect_uri}: the login page");
    let csp = resp.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains(&format!("form-action 'self' {csp_source};")),
        "{csp}"
    );
    let page = resp.text().await.unwrap();
    let resp = app.submit_login(&page, USER, PASSWORD, false).await;
    assert_eq!(resp.status(), 303);
    let loc = location(&resp);
    assert!(loc.starts_with(&format!("{redirect_uri}?")), "{loc}");
    let code = loc
        .split_once('?')
        .map(|(_, q)| {
            url::form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == "code")
                .map(|(_, v)| v.into_owned())
                .unwrap()
        })
        .unwrap();
    let resp = app
        .client
        .post(app.url("/api/token"))
        .header("X-Auth-Secret", SECRET)
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", CLIENT),
            ("code", code.as_str()),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{redirect_uri}: the code is exchanged");
    loc
}

/// The status and body of `/authorize` for `redirect_uri` (expected: the error page).
async fn refused(app: &TestApp, redirect_uri: &str) {
    let (_, challenge) = pkce_pair();
    let resp = bare_client()
        .get(authorize_url(app, redirect_uri, &challenge))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400, "{redirect_uri} is refused");
    assert!(resp.headers().get("location").is_none(), "{redirect_uri}");
}

#[tokio::test]
async fn a_loopback_ip_entry_admits_the_apps_redirect_on_any_port_v4_and_v6() {
    // a fresh server (and browser) each: the first sign-in's SSO session would skip the form
    for port in [1024, 51234, 65535] {
        let uri = format!("http://127.0.0.1:{port}/native");
        sign_in_through(&app().await, &uri, &format!("http://127.0.0.1:{port}")).await;
    }
    let app = app().await;
    sign_in_through(&app, "http://[::1]:4000/native6", "http://[::1]:4000").await;
    // the path still has to match
    refused(&app, "http://127.0.0.1:51234/other").await;
    refused(&app, "http://[::1]:4000/native").await;
    refused(&app, "https://127.0.0.1:51234/native").await;
}

#[tokio::test]
async fn localhost_is_not_treated_as_loopback_on_any_port() {
    let app = app().await;
    sign_in_through(&app, "http://localhost/plain", "http://localhost").await;
    refused(&app, "http://localhost:51234/plain").await;
}

#[tokio::test]
async fn a_whitelisted_private_use_uri_gets_the_code_and_nothing_else_does() {
    let app = app().await;
    let loc = sign_in_through(&app, PRIVATE_USE, "com.example.app:").await;
    assert!(loc.contains("state=st4te"), "{loc}");
    for uri in [
        "com.example.app:/oauth2redirect/deeper",
        "com.example.app:/oauth2redirectx",
        "com.example.app:/oauth2redirect?code=planted",
        "com.example.evil:/oauth2redirect",
        "javascript:alert(1)",
        "data:text/html;base64,PHA+",
        "file:///etc/passwd",
    ] {
        refused(&app, uri).await;
    }
}

/// `node` can run the openid-client script (and Chromium is here); skips or, in CI, fails.
fn openid_client_available(test: &str) -> bool {
    if !browser_available(test) {
        return false;
    }
    if browser_dir().join("node_modules/openid-client").is_dir() {
        return true;
    }
    let missing = "tests/browser/node_modules/openid-client (cd tests/browser && npm ci)";
    if in_ci() {
        panic!("CI is set, so {test} must run, but this machine lacks: {missing}");
    }
    println!("skipped: {test}: missing {missing}");
    false
}

#[tokio::test]
async fn openid_client_signs_a_native_app_in_on_a_random_loopback_port_with_pkce() {
    let test = "openid_client_signs_a_native_app_in_on_a_random_loopback_port_with_pkce";
    if !openid_client_available(test) {
        return;
    }
    let app = app().await;
    let discovery = format!("{}/.well-known/oauth2.0-configuration", app.address);
    let (stdout, stderr) = run_node_script(
        "native_app.mjs",
        &[discovery.as_str(), CLIENT, SECRET, USER, PASSWORD],
        90,
    )
    .await;
    let report: Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("not one JSON line ({e}): {stdout}\nstderr: {stderr}"));
    let port = report["port"].as_u64().expect("a port");
    assert!(port > 0, "{report}");
    assert_eq!(
        report["redirect_uri"],
        format!("http://127.0.0.1:{port}/native"),
        "{report}"
    );
    assert_eq!(report["issuer"], app.issuer.as_str());
    assert_eq!(report["token_endpoint"], app.url("/api/token"));
    assert_eq!(report["sub"], USER);
    assert_eq!(report["scope"], "openid profile");
    assert_eq!(report["has_refresh_token"], true);
    assert_eq!(
        report["callback_query_keys"],
        serde_json::json!(["code", "iss", "state"])
    );
}

#[tokio::test]
async fn openid_client_discovers_through_every_2024x_discovery_path() {
    let test = "openid_client_discovers_through_every_2024x_discovery_path";
    if !openid_client_available(test) {
        return;
    }
    let app = spawn_app().await;
    let urls: Vec<String> = [
        "/authentication/.well-known/oidc-configuration",
        "/authentication/.well-known/oauth2.0-configuration",
        "/.well-known/oauth2.0-configuration",
        "/authentication/.well-known/openid-configuration",
    ]
    .iter()
    .map(|p| format!("{}{p}", app.address))
    .collect();
    let mut args = vec![CLIENT, SECRET];
    args.extend(urls.iter().map(String::as_str));
    let (stdout, _stderr) = run_node_script("discover.mjs", &args, 60).await;
    let found: Vec<Value> = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(found.len(), urls.len());
    for doc in found {
        assert_eq!(doc["issuer"], app.issuer.as_str(), "{doc}");
        assert_eq!(
            doc["authorization_endpoint"],
            app.url("/authorize"),
            "{doc}"
        );
        assert_eq!(doc["token_endpoint"], app.url("/api/token"), "{doc}");
    }
}
