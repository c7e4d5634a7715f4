//! A real browser uses the account page: headless `chromium` driven by
//! `tests/browser/account.mjs` signs in, creates a personal access token and later revokes
//! it; the token is checked over HTTP in between.
//!
//! Same rule as `browser.rs`: needs `/usr/bin/chromium`, `node` and
//! `tests/browser/node_modules/playwright-core`; without them the test is skipped, unless
//! `CI` is set, in which case it fails.

use crate::browser::{browser_available, run_node_script};
use crate::helpers::spawn_app;

/// Runs `node tests/browser/account.mjs <args…>` off the runtime (the server runs on this
/// test's runtime and must keep answering the browser); returns its JSON line.
async fn account_mjs(args: Vec<String>) -> serde_json::Value {
    let (stdout, stderr) = run_node_script(
        "account.mjs",
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
        90,
    )
    .await;
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!("account.mjs did not print one JSON line ({e}):\n{stdout}\nstderr: {stderr}")
    })
}

#[tokio::test]
async fn a_browser_creates_a_pat_on_the_account_page_that_works_until_revoked() {
    if !browser_available("a_browser_creates_a_pat_on_the_account_page_that_works_until_revoked") {
        return;
    }
    let app = spawn_app().await;
    app.add_user("browser-user", "browser-password-1").await;
    let base = vec![
        app.url("/account"),
        "browser-user".to_string(),
        "browser-password-1".to_string(),
    ];

    let created = account_mjs(base.clone()).await;
    let token = created["token"].as_str().expect("a token").to_string();
    let id = created["id"].as_str().expect("an id").to_string();
    assert!(authserver::domain::pat::looks_like_pat(&token), "{created}");
    assert_eq!(created["listed"], true, "{created}");
    assert_eq!(created["shown_again"], false, "{created}");

    let resp = reqwest::Client::new()
        .get(app.url("/api/validate"))
        .header("Authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["token_type"], "pat");
    assert_eq!(body["username"], "browser-user");
    assert_eq!(body["scope"], "data");

    let mut revoke = base.clone();
    revoke.push(format!("--revoke={id}"));
    let revoked = account_mjs(revoke).await;
    assert_eq!(revoked["revoked"], id.as_str(), "{revoked}");
    assert_eq!(revoked["listed"], false, "{revoked}");

    let resp = reqwest::Client::new()
        .get(app.url("/api/validate"))
        .header("Authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
}
