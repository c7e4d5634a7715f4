//! `private_key_jwt` (RFC 7523) with a real relying party: openid-client registered through
//! the CLI with its public key, doing client_credentials, a user's sign-in (code + PKCE in
//! headless Chromium), a refresh and userinfo, each token request authenticated with an
//! assertion it signed (`tests/browser/private_key_jwt.mjs`); a key the server does not
//! hold is refused with `invalid_client`.
//!
//! Skipped without chromium/node_modules on a developer's machine, a failure in CI (see
//! `browser.rs`).
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Value};

use crate::apache::free_port;
use crate::browser::{browser_available, run_node_script};
use crate::helpers::lifecycle_helpers::field;
use crate::helpers::{jwt_parts, spawn_app};

const USER: &str = "pkjwt-user";
const PASSWORD: &str = "pkjwt-password-1";
const CLIENT_ID: &str = "pkjwt-app";

/// A P-256 key: its public JWK (with `kid`) and the PKCS#8 DER of the private key.
fn p256_key() -> (Value, String, Vec<u8>) {
    use authserver::config::SigningAlgorithm;
    use authserver::keys::SigningKey;
    let stored = SigningKey::generate(SigningAlgorithm::ES256, 0).unwrap();
    let key = SigningKey::from_pkcs8(&stored.private_pkcs8, SigningAlgorithm::ES256, None).unwrap();
    (
        key.jwk.clone(),
        key.kid.clone(),
        stored.private_pkcs8.clone(),
    )
}

#[tokio::test]
async fn openid_client_authenticates_with_private_key_jwt_for_every_grant_and_a_wrong_key_is_refused(
) {
    if !browser_available(
        "openid_client_authenticates_with_private_key_jwt_for_every_grant_and_a_wrong_key_is_refused",
    ) {
        return;
    }
    let app = spawn_app().await;
    app.add_user(USER, PASSWORD).await;
    let (jwk, kid, pkcs8) = p256_key();
    let (_, _, wrong_pkcs8) = p256_key();
    let jwks_file = app.dir().join("pkjwt-app.jwks.json");
    std::fs::write(&jwks_file, json!({ "keys": [jwk] }).to_string()).unwrap();
    let port = free_port();
    let redirect = format!("http://127.0.0.1:{port}/cb");
    let added = app.cli(
        &[
            "client",
            "add",
            "--client-id",
            CLIENT_ID,
            "--name",
            "openid-client with a key",
            "--auth-method",
            "private_key_jwt",
            "--jwks-file",
            jwks_file.to_str().unwrap(),
            "--redirect-uri",
            &redirect,
            "--grant-type",
            "authorization_code",
            "--grant-type",
            "refresh_token",
            "--grant-type",
            "client_credentials",
            "--first-party",
            "true",
        ],
        None,
    );
    assert!(
        added.status.success(),
        "client add: {}",
        String::from_utf8_lossy(&added.stderr)
    );
    assert!(
        !String::from_utf8_lossy(&added.stdout).contains("client_secret"),
        "a private_key_jwt client gets no secret"
    );

    let key = STANDARD.encode(&pkcs8);
    let wrong = STANDARD.encode(&wrong_pkcs8);
    let port = port.to_string();
    let (stdout, _) = run_node_script(
        "private_key_jwt.mjs",
        &[
            app.issuer.as_str(),
            CLIENT_ID,
            &key,
            &kid,
            &wrong,
            &port,
            USER,
            PASSWORD,
        ],
        120,
    )
    .await;
    let result: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!("private_key_jwt.mjs did not print one JSON line ({e}):\n{stdout}")
    });

    // client_credentials: the client is its own subject
    let service = &result["client_credentials"];
    let (_, claims) = jwt_parts(field(service, "access_token"));
    assert_eq!(claims["sub"], CLIENT_ID, "{claims}");
    assert_eq!(claims["client_id"], CLIENT_ID, "{claims}");
    assert_eq!(service["scope"], "profile");
    assert_eq!(service["has_refresh_token"], false);

    // the user's sign-in, checked by openid-client (signature, nonce, audience)
    let sign_in = &result["sign_in"];
    assert_eq!(sign_in["claims"]["sub"], USER);
    assert_eq!(sign_in["claims"]["aud"], CLIENT_ID);
    assert_eq!(sign_in["claims"]["iss"], app.issuer);
    assert_eq!(
        app.validate_status("Bearer", field(sign_in, "access_token"))
            .await,
        200
    );

    // the refresh rotated the refresh token and gave a working access token
    let refreshed = &result["refreshed"];
    assert_ne!(refreshed["refresh_token"], sign_in["refresh_token"]);
    assert!(refreshed["refresh_token"].is_string(), "{refreshed}");
    assert_eq!(refreshed["sub"], USER);
    assert_eq!(
        app.validate_status("Bearer", field(refreshed, "access_token"))
            .await,
        200
    );
    let userinfo = &result["userinfo"];
    assert_eq!(userinfo["sub"], USER, "{userinfo}");
    assert_eq!(userinfo["email"], format!("{USER}@example.com"));

    // three token requests, each with an assertion used once
    let used = app
        .sql("SELECT COUNT(*) FROM client_assertion_jtis WHERE client_id = $1")
        .bind(CLIENT_ID)
        .i64()
        .await;
    assert_eq!(
        used, 3,
        "client_credentials, the code exchange and the refresh"
    );

    let refused = &result["wrong_key"];
    assert_eq!(refused["error"], "invalid_client", "{result}");
    assert_eq!(refused["status"], 401, "{refused}");
}
