//! The device authorization grant end to end with real clients: `openid-client` (Node)
//! starts and polls, a user approves in headless Chromium (`tests/browser/device.mjs`).
//! Skipped without chromium/node_modules on a developer's machine, a failure in CI (see
//! `browser.rs`).
use std::time::Duration;

use crate::browser::{browser_available, run_node_script};
use crate::helpers::{spawn_app, SECRET};

const USER: &str = "device-browser-user";
const PASSWORD: &str = "device-browser-password-1";

#[tokio::test]
async fn openid_client_gets_tokens_after_a_user_approves_the_device_in_a_real_browser() {
    if !browser_available(
        "openid_client_gets_tokens_after_a_user_approves_the_device_in_a_real_browser",
    ) {
        return;
    }
    let app = spawn_app().await;
    app.add_user(USER, PASSWORD).await;
    // the test clock follows real time while the client polls (it waits out the interval)
    let clock = app.clock.clone();
    let ticker = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.tick().await;
        loop {
            tick.tick().await;
            clock.advance(1);
        }
    });
    let (stdout, _stderr) = run_node_script(
        "device.mjs",
        &[
            app.issuer.as_str(),
            "webApplicationPlatform",
            SECRET,
            USER,
            PASSWORD,
        ],
        120,
    )
    .await;
    ticker.abort();
    let result: serde_json::Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("device.mjs did not print one JSON line ({e}):\n{stdout}"));
    let user_code = result["user_code"].as_str().unwrap();
    assert_eq!(
        result["filled_code"], user_code,
        "the page filled in the code"
    );
    let confirm = result["confirm_text"].as_str().unwrap();
    assert!(confirm.contains("webApplicationPlatform"), "{confirm}");
    assert!(confirm.contains(user_code), "{confirm}");
    assert!(confirm.contains("Your e-mail address"), "{confirm}");
    assert_eq!(result["done_title"], "Device connected");
    let claims = &result["claims"];
    assert_eq!(claims["iss"], app.issuer);
    assert_eq!(claims["sub"], USER);
    assert_eq!(claims["aud"], "webApplicationPlatform");
    assert_eq!(claims["email"], format!("{USER}@example.com"));
    assert_eq!(claims["name"], format!("{USER} Example"));
    assert_eq!(result["scope"], "email openid profile");
    assert_eq!(result["has_access_token"], true);
    assert_eq!(result["has_refresh_token"], true);
}
