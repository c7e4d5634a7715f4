use std::time::{Duration, Instant};

use crate::helpers::AppBuilder;

#[tokio::test]
async fn two_servers_on_one_database_publish_the_same_generated_kid() {
    let first = AppBuilder::new().generated_keys().spawn().await;
    let second = AppBuilder::new()
        .generated_keys()
        .same_database_as(&first)
        .spawn()
        .await;
    let a = first.jwks_kids().await;
    let b = second.jwks_kids().await;
    assert_eq!(a.len(), 1);
    assert_eq!(a, b);
    assert_eq!(
        first.state.keys.ring().active().unwrap().kid,
        second.state.keys.ring().active().unwrap().kid
    );
}

#[tokio::test]
async fn a_generated_key_survives_a_restart() {
    let first = AppBuilder::new().generated_keys().spawn().await;
    let kid = first.jwks_kids().await;
    first.state.store.close().await;
    let again = AppBuilder::new()
        .generated_keys()
        .same_database_as(&first)
        .spawn()
        .await;
    assert_eq!(again.jwks_kids().await, kid);
}

#[tokio::test]
async fn keys_rotate_adds_an_active_key_and_keeps_the_old_one_in_the_jwks() {
    let app = AppBuilder::new().generated_keys().spawn().await;
    let before = app.jwks_kids().await;
    assert_eq!(before.len(), 1);
    let out = app.cli(&["keys", "rotate"], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let new_kid = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert_ne!(new_kid, before[0]);
    // the running server picks the rotation up by itself within its reload interval
    let deadline = Instant::now() + Duration::from_secs(6);
    loop {
        let kids = app.jwks_kids().await;
        if kids.len() == 2 {
            assert!(kids.contains(&before[0]), "old key still published");
            assert!(kids.contains(&new_kid), "new key published");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "rotation not picked up within 6 s: {kids:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(app.state.keys.ring().active().unwrap().kid, new_kid);
}

#[tokio::test]
async fn a_configured_key_wins_over_database_keys() {
    let app = AppBuilder::new().spawn().await;
    let kids = app.jwks_kids().await;
    assert_eq!(kids.len(), 1);
    let generated = AppBuilder::new()
        .generated_keys()
        .same_database_as(&app)
        .spawn()
        .await;
    // the configured-key server stored nothing, so the second one generated its own
    let gen_kids = generated.jwks_kids().await;
    assert_ne!(gen_kids, kids);
}

#[tokio::test]
async fn tokens_signed_with_our_key_verify_and_tampered_ones_do_not() {
    let app = AppBuilder::new().spawn().await;
    let ring = app.state.keys.ring();
    let key = ring.active().unwrap();
    let token = key
        .sign("JWT", &serde_json::json!({"sub": "alice"}))
        .unwrap();
    let (typ, claims): (Option<String>, serde_json::Value) = ring.verify(&token).unwrap();
    assert_eq!(typ.as_deref(), Some("JWT"));
    assert_eq!(claims["sub"], "alice");
    // flip one character of the payload
    let mut parts: Vec<String> = token.split('.').map(String::from).collect();
    parts[1] = parts[1].replacen('e', "f", 1);
    let forged = parts.join(".");
    assert!(ring.verify::<serde_json::Value>(&forged).is_err());
    // alg none
    use base64::Engine;
    let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    let none = format!(
        "{}.{}.",
        b64(&format!(r#"{{"alg":"none","kid":"{}"}}"#, key.kid)),
        b64(r#"{"sub":"alice"}"#)
    );
    assert!(ring.verify::<serde_json::Value>(&none).is_err());
    // HS256 with the public modulus as secret (key-confusion attack)
    let hs = format!(
        "{}.{}.AAAA",
        b64(&format!(r#"{{"alg":"HS256","kid":"{}"}}"#, key.kid)),
        b64(r#"{"sub":"alice"}"#)
    );
    assert!(ring.verify::<serde_json::Value>(&hs).is_err());
    // unknown kid
    let other = format!(
        "{}.{}.{}",
        b64(r#"{"alg":"RS256","kid":"nope"}"#),
        parts[1],
        parts[2]
    );
    assert!(ring.verify::<serde_json::Value>(&other).is_err());
}
