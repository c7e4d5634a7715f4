//! Dynamic registration and consent end to end with real clients: `openid-client` (Node)
//! registers itself with an initial access token, a user signs in and allows it on the
//! consent page in headless Chromium, and openid-client exchanges the code and reads
//! userinfo (`tests/browser/dcr_consent.mjs`). Skipped without chromium/node_modules on a
//! developer's machine, a failure in CI (see `browser.rs`).
use crate::browser::{browser_available, run_node_script};
use crate::helpers::AppBuilder;

const USER: &str = "dcr-browser-user";
const PASSWORD: &str = "dcr-browser-password-1";

#[tokio::test]
async fn openid_client_registers_itself_and_a_user_allows_it_on_the_consent_page() {
    if !browser_available("openid_client_registers_itself_and_a_user_allows_it_on_the_consent_page")
    {
        return;
    }
    let app = AppBuilder::new()
        .set("authentication.registration.mode", "token")
        .spawn()
        .await;
    app.add_user(USER, PASSWORD).await;
    let out = app.cli(
        &["client", "registration-token", "create", "--uses", "1"],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let token = stdout
        .lines()
        .find_map(|l| l.strip_prefix("token\t"))
        .expect("a token line")
        .to_string();
    let (stdout, _stderr) = run_node_script(
        "dcr_consent.mjs",
        &[app.issuer.as_str(), &token, USER, PASSWORD],
        120,
    )
    .await;
    let result: serde_json::Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("dcr_consent.mjs did not print one JSON line ({e}):\n{stdout}"));
    let client_id = result["client_id"].as_str().unwrap();
    assert_eq!(
        result["registration_client_uri"],
        format!("{}/api/oidc/register/{client_id}", app.issuer)
    );
    assert_eq!(result["consent_title"], "Allow access?");
    let consent = result["consent_text"].as_str().unwrap();
    assert!(consent.contains("Node Relying Party"), "{consent}");
    assert!(consent.contains("localhost"), "{consent}");
    assert!(consent.contains("See your e-mail address"), "{consent}");
    let claims = &result["claims"];
    assert_eq!(claims["iss"], app.issuer);
    assert_eq!(claims["sub"], USER);
    assert_eq!(claims["aud"], client_id);
    assert_eq!(result["userinfo"]["email"], format!("{USER}@example.com"));
    // the client is stored as dynamic and third-party; the grant is remembered
    let stored = authserver::domain::clients::find(&app.state.store, client_id)
        .await
        .unwrap()
        .unwrap();
    assert!(stored.dynamic && !stored.metadata.first_party);
    let user = app.state.store.user_by_name(USER).await.unwrap().unwrap();
    let granted = app.state.store.consent(user.id, client_id).await.unwrap();
    assert_eq!(granted.as_deref(), Some("email openid profile"));
    // the initial access token had one use
    assert_eq!(
        app.sql_i64("SELECT uses_left FROM registration_tokens")
            .await,
        0
    );
}
