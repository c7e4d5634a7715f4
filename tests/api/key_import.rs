//! Importing an existing deployment's signing key: PEM (`authentication.signing.key`) and
//! PKCS#12 key stores (`authentication.server.key-store`), with every algorithm; the JWKS,
//! discovery and real tokens follow; bad configurations stop `authserver serve` with one
//! clear line.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::helpers::{
    authserver_command, fresh_database_url, fresh_database_url_blocking, jwt_parts, AppBuilder,
    TestApp,
};

// RFC 7638 thumbprints of the fixture keys, computed with Python's `cryptography`
// (independently of the server); see tests/fixtures/keys/generate.sh.
const RSA_PKCS1_KID: &str = "YmzEBYPRbuk-Kz-Gq-ysEbxvtJyVlQsOG_a0eudDJm0";
const EC_P256_KID: &str = "sUthaI2NFFEzhkzH5HMRGotATVim-GfXizQPn2HTM5I";
const ED25519_KID: &str = "O1jAmkZiU4zS4xi2wDR5HhCO9bi-6xOyc7iRwA6RVKU";
const P12_RSA_KID: &str = "GSCZ8CHhrDZ3a_uYsyHjC5jrdx3j52I-QmS6v0f1l5k";
const P12_EC_KID: &str = "jK2RYHzL_y4TRj9HNwg7b2LPjWkNJF0M5tAYlfGbPLE";

const PEM_KEY: &str = "authentication.signing.key";
const KEY_STORE: &str = "authentication.server.key-store";
const KEY_STORE_PASSWORD: &str = "authentication.server.key-store-password";
const KEY_ALIAS: &str = "authentication.server.key-alias";
const ALGORITHM: &str = "authentication.signing.algorithm";
const KID: &str = "authentication.signing.kid";

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/keys")
        .join(name)
        .display()
        .to_string()
}

/// The RFC 7638 thumbprint of a public JWK: SHA-256 of its required members, sorted,
/// without whitespace.
fn thumbprint(jwk: &Value) -> String {
    let required: &[&str] = match jwk["kty"].as_str().unwrap() {
        "RSA" => &["e", "kty", "n"],
        "EC" => &["crv", "kty", "x", "y"],
        "OKP" => &["crv", "kty", "x"],
        other => panic!("unexpected kty {other}"),
    };
    let members: BTreeMap<&str, &str> = required
        .iter()
        .map(|m| (*m, jwk[*m].as_str().unwrap()))
        .collect();
    let canonical = serde_json::to_string(&members).unwrap();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

async fn get_json(app: &TestApp, path: &str) -> Value {
    let resp = app.client.get(app.url(path)).send().await.unwrap();
    assert_eq!(resp.status(), 200, "{path}");
    resp.json().await.unwrap()
}

/// What a started server must show for an imported key.
struct Expect {
    alg: &'static str,
    kty: &'static str,
    crv: Option<&'static str>,
    /// the thumbprint of the imported key
    thumbprint: &'static str,
    /// the kid published (the thumbprint unless `authentication.signing.kid` is set)
    kid: &'static str,
}

/// Checks the JWKS, discovery and a token minted through the real sign-in flow; returns
/// the JWKS.
async fn assert_signs_with(app: &TestApp, want: &Expect) -> Value {
    let jwks = get_json(app, "/jwks.json").await;
    let keys = jwks["keys"].as_array().unwrap();
    let key = keys
        .iter()
        .find(|k| k["kid"] == want.kid)
        .unwrap_or_else(|| panic!("kid {} not in the JWKS: {jwks}", want.kid));
    assert_eq!(key["kty"], want.kty, "{key}");
    assert_eq!(key["alg"], want.alg, "{key}");
    assert_eq!(key["use"], "sig", "{key}");
    match want.crv {
        Some(crv) => assert_eq!(key["crv"], crv, "{key}"),
        None => assert!(key.get("crv").is_none(), "{key}"),
    }
    assert!(key.get("d").is_none(), "no private part published: {key}");
    assert_eq!(
        thumbprint(key),
        want.thumbprint,
        "the imported key is published"
    );
    // SPEC: an RSA key is always kept, whatever the configured algorithm
    assert!(
        keys.iter().any(|k| k["kty"] == "RSA"
            && (k["alg"] == "RS256" || (k["alg"] == "PS256" && want.alg == "PS256"))),
        "an RSA key is published too: {jwks}"
    );
    if want.kty != "RSA" {
        assert!(
            keys.iter()
                .any(|k| k["kty"] == "RSA" && k["alg"] == "RS256"),
            "an RS256 key is published beside a non-RSA key: {jwks}"
        );
    }
    for k in keys.iter().filter(|k| k["kid"] != want.kid) {
        assert_eq!(
            k["kid"],
            thumbprint(k),
            "database keys carry their thumbprint: {k}"
        );
    }

    let discovery = get_json(app, "/.well-known/openid-configuration").await;
    let algs = discovery["id_token_signing_alg_values_supported"]
        .as_array()
        .unwrap();
    assert!(algs.contains(&Value::from(want.alg)), "{algs:?}");
    assert!(algs.contains(&Value::from("RS256")), "{algs:?}");

    app.add_user("alice", "alice-password-1").await;
    let tokens = app.tokens_for("alice", "alice-password-1").await;
    let jwk: Jwk = serde_json::from_value(key.clone()).unwrap();
    let decoding = DecodingKey::from_jwk(&jwk).unwrap();
    let alg: Algorithm = want.alg.parse().unwrap();
    let mut validation = Validation::new(alg);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let mut checked = 0;
    for name in ["id_token", "access_token"] {
        let Some(token) = tokens[name].as_str() else {
            continue;
        };
        if token.split('.').count() != 3 {
            continue;
        }
        let (header, _) = jwt_parts(token);
        assert_eq!(header["alg"], want.alg, "{name} header {header}");
        assert_eq!(header["kid"], want.kid, "{name} header {header}");
        let data = jsonwebtoken::decode::<Value>(token, &decoding, &validation)
            .unwrap_or_else(|e| panic!("{name} does not verify against the JWKS key: {e}"));
        assert_eq!(data.claims["iss"], app.issuer, "{name}");
        checked += 1;
    }
    assert!(checked >= 1, "no JWT in {tokens}");
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(app.validate_status("Bearer", access).await, 200);
    jwks
}

#[tokio::test]
async fn an_rsa_pkcs1_pem_signs_rs256() {
    let app = AppBuilder::new()
        .generated_keys()
        .set(PEM_KEY, &fixture("rsa-pkcs1.pem"))
        .set(ALGORITHM, "RS256")
        .spawn()
        .await;
    let jwks = assert_signs_with(
        &app,
        &Expect {
            alg: "RS256",
            kty: "RSA",
            crv: None,
            thumbprint: RSA_PKCS1_KID,
            kid: RSA_PKCS1_KID,
        },
    )
    .await;
    // an RSA key configured: nothing generated beside it
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1, "{jwks}");
}

#[tokio::test]
async fn the_algorithm_defaults_to_rs256() {
    let app = AppBuilder::new()
        .generated_keys()
        .set(PEM_KEY, &fixture("rsa-pkcs1.pem"))
        .spawn()
        .await;
    let ring = app.state.keys.ring();
    let active = ring.active().unwrap();
    assert_eq!(active.kid, RSA_PKCS1_KID);
    assert_eq!(active.jwk["alg"], "RS256");
}

#[tokio::test]
async fn an_rsa_pem_signs_ps256() {
    let app = AppBuilder::new()
        .generated_keys()
        .set(PEM_KEY, &fixture("rsa-pkcs1.pem"))
        .set(ALGORITHM, "PS256")
        .spawn()
        .await;
    assert_signs_with(
        &app,
        &Expect {
            alg: "PS256",
            kty: "RSA",
            crv: None,
            thumbprint: RSA_PKCS1_KID,
            kid: RSA_PKCS1_KID,
        },
    )
    .await;
}

#[tokio::test]
async fn a_sec1_p256_pem_signs_es256_and_an_rsa_key_is_kept() {
    let app = AppBuilder::new()
        .generated_keys()
        .set(PEM_KEY, &fixture("ec-p256-sec1.pem"))
        .set(ALGORITHM, "ES256")
        .spawn()
        .await;
    let jwks = assert_signs_with(
        &app,
        &Expect {
            alg: "ES256",
            kty: "EC",
            crv: Some("P-256"),
            thumbprint: EC_P256_KID,
            kid: EC_P256_KID,
        },
    )
    .await;
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2, "the EC key and one RSA key: {jwks}");
    let rsa_kid = keys
        .iter()
        .find(|k| k["kty"] == "RSA")
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .unwrap();
    assert_eq!(app.state.keys.ring().active().unwrap().kid, EC_P256_KID);

    // the RSA key is stored once, not regenerated on every start
    app.state.store.close().await;
    let again = AppBuilder::new()
        .generated_keys()
        .same_database_as(&app)
        .set(PEM_KEY, &fixture("ec-p256-sec1.pem"))
        .set(ALGORITHM, "ES256")
        .spawn()
        .await;
    let mut kids = again.jwks_kids().await;
    kids.sort();
    let mut want = vec![EC_P256_KID.to_string(), rsa_kid];
    want.sort();
    assert_eq!(kids, want);
}

#[tokio::test]
async fn a_pkcs8_p256_pem_signs_es256() {
    let app = AppBuilder::new()
        .generated_keys()
        .set(PEM_KEY, &fixture("ec-p256-pkcs8.pem"))
        .set(ALGORITHM, "ES256")
        .spawn()
        .await;
    assert_signs_with(
        &app,
        &Expect {
            alg: "ES256",
            kty: "EC",
            crv: Some("P-256"),
            thumbprint: EC_P256_KID,
            kid: EC_P256_KID,
        },
    )
    .await;
}

#[tokio::test]
async fn an_ed25519_pem_signs_eddsa() {
    let app = AppBuilder::new()
        .generated_keys()
        .set(PEM_KEY, &fixture("ed25519-pkcs8.pem"))
        .set(ALGORITHM, "EdDSA")
        .spawn()
        .await;
    assert_signs_with(
        &app,
        &Expect {
            alg: "EdDSA",
            kty: "OKP",
            crv: Some("Ed25519"),
            thumbprint: ED25519_KID,
            kid: ED25519_KID,
        },
    )
    .await;
}

#[tokio::test]
async fn a_configured_kid_is_kept_for_a_pem_key() {
    let app = AppBuilder::new()
        .generated_keys()
        .set(PEM_KEY, &fixture("ec-p256-pkcs8.pem"))
        .set(ALGORITHM, "ES256")
        .set(KID, "legacy-ec-kid")
        .spawn()
        .await;
    assert_signs_with(
        &app,
        &Expect {
            alg: "ES256",
            kty: "EC",
            crv: Some("P-256"),
            thumbprint: EC_P256_KID,
            kid: "legacy-ec-kid",
        },
    )
    .await;
}

#[tokio::test]
async fn a_pkcs12_store_with_modern_encryption_signs_rs256_with_its_kid() {
    let app = AppBuilder::new()
        .generated_keys()
        .set(KEY_STORE, &fixture("rsa-aes.p12"))
        .set(KEY_STORE_PASSWORD, "changeit")
        .set(KEY_ALIAS, "authserver")
        .set(KID, "twc-signing-key")
        .spawn()
        .await;
    assert_signs_with(
        &app,
        &Expect {
            alg: "RS256",
            kty: "RSA",
            crv: None,
            thumbprint: P12_RSA_KID,
            kid: "twc-signing-key",
        },
    )
    .await;
}

#[tokio::test]
async fn a_legacy_pkcs12_store_without_an_alias_signs_ps256() {
    // openssl -legacy: RC2-40 certificate bag, 3DES key bag, SHA-1 MAC; its only key entry
    // is used when no alias is configured
    let app = AppBuilder::new()
        .generated_keys()
        .set(KEY_STORE, &fixture("rsa-legacy.p12"))
        .set(KEY_STORE_PASSWORD, "changeit")
        .set(ALGORITHM, "PS256")
        .spawn()
        .await;
    assert_signs_with(
        &app,
        &Expect {
            alg: "PS256",
            kty: "RSA",
            crv: None,
            thumbprint: P12_RSA_KID,
            kid: P12_RSA_KID,
        },
    )
    .await;
}

#[tokio::test]
async fn a_pkcs12_store_with_an_ec_key_signs_es256() {
    let app = AppBuilder::new()
        .generated_keys()
        .set(KEY_STORE, &fixture("ec-p256.p12"))
        .set(KEY_STORE_PASSWORD, "changeit")
        .set(KEY_ALIAS, "authserver")
        .set(ALGORITHM, "ES256")
        .spawn()
        .await;
    assert_signs_with(
        &app,
        &Expect {
            alg: "ES256",
            kty: "EC",
            crv: Some("P-256"),
            thumbprint: P12_EC_KID,
            kid: P12_EC_KID,
        },
    )
    .await;
}

#[tokio::test]
async fn an_imported_key_takes_over_and_the_database_key_stays_published() {
    let first = AppBuilder::new().generated_keys().spawn().await;
    let generated = first.jwks_kids().await;
    assert_eq!(generated.len(), 1);
    first.state.store.close().await;
    let app = AppBuilder::new()
        .generated_keys()
        .same_database_as(&first)
        .set(PEM_KEY, &fixture("ed25519-pkcs8.pem"))
        .set(ALGORITHM, "EdDSA")
        .spawn()
        .await;
    let kids = app.jwks_kids().await;
    assert_eq!(kids.len(), 2, "{kids:?}");
    assert!(kids.contains(&ED25519_KID.to_string()));
    assert!(
        kids.contains(&generated[0]),
        "the RSA key already in the database is the one kept: {kids:?}"
    );
    assert_eq!(app.state.keys.ring().active().unwrap().kid, ED25519_KID);
}

// ---- errors: `authserver serve` stops at start with one line naming key and file ----

struct Failed {
    config: PathBuf,
    code: Option<i32>,
    line: String,
}

/// Runs `authserver serve` with a minimal configuration plus `extra`; it must exit
/// (within 30 s) and print an error line.
fn serve_fails(extra: &[(&str, &str)]) -> Failed {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut text = format!(
        "server.address = 127.0.0.1\n\
         server.port = {port}\n\
         database.url = {db}\n\
         authentication.client.ids = webApplicationPlatform\n\
         authentication.redirect.uri.whitelist = http://localhost:8080/callback\n\
         authentication.client.secret = s3cret-value-for-tests\n\
         logging.level = warn\n",
        db = fresh_database_url_blocking(dir.path())
    );
    for (k, v) in extra {
        text.push_str(&format!("{k} = {v}\n"));
    }
    let config = dir.path().join("authserver.properties");
    std::fs::write(&config, text).unwrap();
    let mut cmd = authserver_command();
    cmd.arg("--config").arg(&config).arg("serve");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            let out = child.wait_with_output().unwrap();
            panic!(
                "serve kept running with {extra:?}; stderr: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out: Output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let line = stderr
        .lines()
        .find(|l| l.starts_with("authserver: ") && !l.contains("warning"))
        .unwrap_or_else(|| panic!("no error line in {stderr:?}"))
        .to_string();
    Failed {
        config,
        code: out.status.code(),
        line,
    }
}

/// Exit code 1 and one line naming the properties file, the key, the file it points at
/// and each of `needles`.
fn assert_start_error(failed: &Failed, key: &str, file: &str, needles: &[&str]) {
    assert_eq!(failed.code, Some(1), "{}", failed.line);
    let line = &failed.line;
    assert!(
        line.contains(&failed.config.display().to_string()),
        "{line:?} names the properties file"
    );
    assert!(line.contains(key), "{line:?} names {key}");
    assert!(line.contains(file), "{line:?} names {file}");
    for n in needles {
        assert!(line.contains(n), "{line:?} should mention {n:?}");
    }
}

#[test]
fn a_wrong_key_store_password_stops_the_start() {
    let store = fixture("rsa-aes.p12");
    let failed = serve_fails(&[
        (KEY_STORE, &store),
        (KEY_STORE_PASSWORD, "not-the-password"),
        (KEY_ALIAS, "authserver"),
    ]);
    assert_start_error(
        &failed,
        KEY_STORE,
        &store,
        &["wrong password or corrupt file"],
    );
    assert!(
        !failed.line.contains("not-the-password"),
        "the password is never printed"
    );
}

#[test]
fn an_unknown_key_alias_stops_the_start_and_lists_the_aliases() {
    let store = fixture("rsa-legacy.p12");
    let failed = serve_fails(&[
        (KEY_STORE, &store),
        (KEY_STORE_PASSWORD, "changeit"),
        (KEY_ALIAS, "tomcat"),
    ]);
    assert_start_error(
        &failed,
        KEY_STORE,
        &store,
        &["\"tomcat\"", KEY_ALIAS, "\"authserver\""],
    );
}

#[test]
fn an_ec_key_with_rs256_stops_the_start() {
    let key = fixture("ec-p256-sec1.pem");
    let failed = serve_fails(&[(PEM_KEY, &key), (ALGORITHM, "RS256")]);
    assert_start_error(
        &failed,
        PEM_KEY,
        &key,
        &[
            "a P-256 EC key",
            "authentication.signing.algorithm = RS256",
            "RSA",
        ],
    );
}

#[test]
fn an_rsa_key_store_with_es256_stops_the_start() {
    let store = fixture("rsa-aes.p12");
    let failed = serve_fails(&[
        (KEY_STORE, &store),
        (KEY_STORE_PASSWORD, "changeit"),
        (ALGORITHM, "ES256"),
    ]);
    assert_start_error(
        &failed,
        KEY_STORE,
        &store,
        &["\"authserver\"", "an RSA key", "ES256", "P-256"],
    );
}

#[test]
fn a_missing_key_file_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-key.pem").display().to_string();
    let failed = serve_fails(&[(PEM_KEY, &missing)]);
    assert_start_error(&failed, PEM_KEY, &missing, &["cannot read"]);

    let missing_store = dir.path().join("no-such-store.p12").display().to_string();
    let failed = serve_fails(&[(KEY_STORE, &missing_store), (KEY_STORE_PASSWORD, "x")]);
    assert_start_error(&failed, KEY_STORE, &missing_store, &["cannot read"]);
}

#[test]
fn an_encrypted_pem_key_stops_the_start() {
    let key = fixture("encrypted-pkcs8.pem");
    let failed = serve_fails(&[(PEM_KEY, &key), (ALGORITHM, "ES256")]);
    assert_start_error(&failed, PEM_KEY, &key, &["encrypted", "decrypt"]);
}

#[test]
fn a_pem_key_and_a_key_store_together_stop_the_start() {
    let key = fixture("rsa-pkcs1.pem");
    let store = fixture("rsa-aes.p12");
    let failed = serve_fails(&[
        (PEM_KEY, &key),
        (KEY_STORE, &store),
        (KEY_STORE_PASSWORD, "changeit"),
    ]);
    assert_start_error(&failed, PEM_KEY, &key, &[KEY_STORE, &store, "both"]);
}

#[tokio::test]
async fn application_build_reports_the_same_error() {
    let dir = tempfile::tempdir().unwrap();
    let key = fixture("ed25519-pkcs8.pem");
    let text = format!(
        "server.address = 127.0.0.1\n\
         server.port = 0\n\
         database.url = {db}\n\
         authentication.client.ids = webApplicationPlatform\n\
         authentication.redirect.uri.whitelist = http://localhost:8080/callback\n\
         authentication.client.secret = s3cret-value-for-tests\n\
         {PEM_KEY} = {key}\n\
         {ALGORITHM} = PS256\n",
        db = fresh_database_url(dir.path()).await
    );
    let path = dir.path().join("authserver.properties");
    let loaded = authserver::config::Settings::from_str(&text, &path, &[]).unwrap();
    let err = match authserver::startup::Application::build(loaded.settings).await {
        Ok(_) => panic!("an Ed25519 key with PS256 must not start"),
        Err(e) => format!("{e:#}"),
    };
    assert!(!err.contains('\n'), "one line: {err}");
    for needle in [
        path.display().to_string().as_str(),
        PEM_KEY,
        key.as_str(),
        "an Ed25519 key",
        "PS256",
        "EdDSA",
    ] {
        assert!(err.contains(needle), "{err:?} should mention {needle:?}");
    }
}
