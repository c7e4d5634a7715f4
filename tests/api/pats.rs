//! Personal access tokens: format, storage, validation wherever an access token is
//! accepted, secret-key login, revocation, expiry, the CLI.
use std::sync::{Arc, Mutex};

use authserver::domain::pat;
use reqwest::Method;

use crate::helpers::lifecycle_helpers::{claims, field, introspect, oauth_error};
use crate::helpers::pat_helpers::{
    add_user_as, issue_pat, pat_login, wait_for_validate, with_bearer,
};
use crate::helpers::{spawn_app, stderr, stdout, TestApp, CLIENT};

/// `pat create` through the CLI; returns the token (its whole standard output).
fn cli_create(app: &TestApp, args: &[&str]) -> String {
    let mut all = vec!["pat", "create"];
    all.extend_from_slice(args);
    let out = app.cli(&all, None);
    assert!(out.status.success(), "pat create failed: {}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 1, "one line: {text:?}");
    text.trim_end_matches('\n').to_string()
}

/// The id of the only PAT of `user` in `pat list` output.
fn cli_id_of(app: &TestApp, user: &str) -> String {
    let out = app.cli(&["pat", "list", user], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 1, "{text}");
    text.split('\t').next().unwrap().to_string()
}

async fn status_of(req: reqwest::RequestBuilder) -> u16 {
    req.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn a_pat_from_the_cli_has_the_documented_format_and_is_stored_only_as_a_hash() {
    let app = spawn_app().await;
    app.add_user("alice", "alice-password").await;
    let token = cli_create(&app, &["alice", "--description", "nightly export"]);
    assert!(pat::looks_like_pat(&token), "{token:?}");
    assert!(token.starts_with("asp_") && token.len() == 47, "{token}");
    assert!(!token.contains(char::is_whitespace));

    // only the SHA-256 is in the database, nowhere the token
    assert_eq!(
        app.sql_i64("SELECT COUNT(*) FROM personal_access_tokens")
            .await,
        1
    );
    let id = app
        .sql("SELECT id FROM personal_access_tokens WHERE token_hash = $1")
        .bind(authserver::crypto::token_hash(&token))
        .strings()
        .await
        .pop()
        .expect("the row holds the token's SHA-256");
    let dump = app
        .sql_strings(
            "SELECT id || description || scope || CAST(created_at AS TEXT)
                 || COALESCE(CAST(expires_at AS TEXT), '')
             FROM personal_access_tokens",
        )
        .await;
    assert!(dump.iter().all(|row| !row.contains(&token[4..])));
    assert_eq!(id.len(), 16);
    assert!(id.bytes().all(|b| b.is_ascii_alphanumeric()), "{id}");

    // the listing starts with the id and never shows the token
    let out = app.cli(&["pat", "list"], None);
    assert!(out.status.success());
    let listing = stdout(&out);
    assert!(
        listing.starts_with(&format!("{id}\talice\tdata\tactive\t")),
        "{listing}"
    );
    assert!(listing.contains("expires=never"), "{listing}");
    assert!(listing.contains("nightly export"), "{listing}");
    assert!(!listing.contains(&token[4..]));
}

#[tokio::test]
async fn a_pat_is_accepted_wherever_an_access_token_is() {
    let app = spawn_app().await;
    let alice = app.add_user("alice", "alice-password").await;
    let (_, token) = issue_pat(&app, &alice, "data", None).await;

    for scheme in ["Bearer", "Token", "bearer"] {
        assert_eq!(app.validate_status(scheme, &token).await, 200, "{scheme}");
    }
    let v: serde_json::Value = with_bearer(&app, Method::GET, "/api/validate", &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["active"], true);
    assert_eq!(v["token_type"], "pat");
    assert_eq!(v["scope"], "data");
    assert_eq!(v["sub"], "alice");
    assert_eq!(v["username"], "alice");
    assert!(
        v.get("exp").is_none(),
        "a PAT without expiry has no exp: {v}"
    );

    let info: serde_json::Value = with_bearer(&app, Method::GET, "/api/userinfo", &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["sub"], "alice");
    assert_eq!(info["email"], "alice@example.com");
    assert_eq!(
        status_of(with_bearer(&app, Method::POST, "/api/userinfo", &token)).await,
        200
    );

    let i = introspect(&app, &token).await;
    assert_eq!(i["active"], true, "{i}");
    assert_eq!(i["token_type"], "pat");
    assert_eq!(i["scope"], "data");
    assert_eq!(i["username"], "alice");

    let admin = add_user_as(&app, "root", "root-password", true).await;
    let (_, mgmt) = issue_pat(&app, &admin, "management", Some(30)).await;
    let i = introspect(&app, &mgmt).await;
    assert_eq!(i["scope"], "management");
    assert_eq!(i["exp"], app.clock_now() + 30 * 86_400);
}

#[tokio::test]
async fn secret_key_login_returns_tokens_for_the_owner_that_carry_the_pat() {
    let app = spawn_app().await;
    let alice = app.add_user("alice", "alice-password").await;
    let (id, token) = issue_pat(&app, &alice, "data", None).await;

    let resp = pat_login(&app, CLIENT, &token).await;
    assert_eq!(resp.status(), 200);
    let tokens: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["scope"], "openid pat:data");
    assert!(tokens.get("refresh_token").is_none(), "{tokens}");
    assert_eq!(tokens["expires_in"], 900);
    let access = claims(&tokens, "access_token");
    assert_eq!(access["sub"], "alice");
    assert_eq!(access["pat"], id.as_str());
    assert_eq!(access["scope"], "openid pat:data");
    assert_eq!(claims(&tokens, "id_token")["pat"], id.as_str());

    assert_eq!(
        app.validate_status("Bearer", field(&tokens, "access_token"))
            .await,
        200
    );
    assert_eq!(
        status_of(with_bearer(
            &app,
            Method::GET,
            "/api/userinfo",
            field(&tokens, "access_token")
        ))
        .await,
        200
    );

    // profile and email may be asked for; offline_access never yields a refresh token
    let resp = crate::helpers::lifecycle_helpers::post_token(
        &app,
        &[
            ("X-Auth-Secret", crate::helpers::SECRET),
            (
                "Authorization",
                crate::helpers::lifecycle_helpers::basic(&token, "").as_str(),
            ),
        ],
        &[
            ("grant_type", "client_credentials"),
            ("client_id", CLIENT),
            ("scope", "openid email offline_access"),
        ],
    )
    .await;
    let tokens: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(tokens["scope"], "email openid pat:data");
    assert!(tokens.get("refresh_token").is_none());

    // the PAT does not replace the client secret
    let resp = crate::helpers::lifecycle_helpers::post_token(
        &app,
        &[(
            "Authorization",
            crate::helpers::lifecycle_helpers::basic(&token, "").as_str(),
        )],
        &[("grant_type", "client_credentials"), ("client_id", CLIENT)],
    )
    .await;
    oauth_error(resp, 401, "invalid_client").await;

    // a PAT with a password is not a PAT login (and not a valid password either)
    let resp =
        crate::helpers::lifecycle_helpers::client_credentials(&app, CLIENT, &token, "x").await;
    oauth_error(resp, 401, "invalid_client").await;
}

#[tokio::test]
async fn tokens_minted_from_a_pat_never_outlive_it() {
    let app = spawn_app().await;
    let alice = app.add_user("alice", "alice-password").await;
    let (_, token) = issue_pat(&app, &alice, "data", Some(1)).await;
    let pat_expiry = app.clock_now() + 86_400;
    // twc-rest-api gets the permanent lifetime (20 years) for password logins
    let resp = pat_login(&app, "twc-rest-api", &token).await;
    let tokens: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(tokens["expires_in"], 86_400, "{tokens}");
    assert!(claims(&tokens, "access_token")["exp"].as_i64().unwrap() <= pat_expiry);
    assert!(claims(&tokens, "id_token")["exp"].as_i64().unwrap() <= pat_expiry);

    // an hour before the PAT expires, that hour is all a new token gets
    app.clock.advance(86_400 - 3_600);
    let tokens: serde_json::Value = pat_login(&app, "twc-rest-api", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(tokens["expires_in"], 3_600);
    let tokens: serde_json::Value = pat_login(&app, CLIENT, &token).await.json().await.unwrap();
    assert_eq!(tokens["expires_in"], 900);
}

/// Every way of using `token` (and the JWTs in `minted`) fails.
async fn assert_dead_everywhere(app: &TestApp, token: &str, minted: &serde_json::Value) {
    assert_eq!(app.validate_status("Bearer", token).await, 401);
    assert_eq!(app.validate_status("Token", token).await, 401);
    let resp = with_bearer(app, Method::GET, "/api/validate", token)
        .send()
        .await
        .unwrap();
    let www = resp.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(www.contains("invalid_token"), "{www}");
    let body = oauth_error(resp, 401, "invalid_token").await;
    assert!(!body.to_string().contains(&token[4..]));
    let resp = with_bearer(app, Method::GET, "/api/userinfo", token)
        .send()
        .await
        .unwrap();
    oauth_error(resp, 401, "invalid_token").await;
    assert_eq!(
        introspect(app, token).await,
        serde_json::json!({"active": false})
    );
    oauth_error(pat_login(app, CLIENT, token).await, 401, "invalid_client").await;
    for name in ["access_token", "id_token"] {
        let jwt = field(minted, name);
        assert_eq!(app.validate_status("Bearer", jwt).await, 401, "{name}");
        assert_eq!(introspect(app, jwt).await["active"], false, "{name}");
    }
    let resp = with_bearer(
        app,
        Method::GET,
        "/api/userinfo",
        field(minted, "access_token"),
    )
    .send()
    .await
    .unwrap();
    oauth_error(resp, 401, "invalid_token").await;
}

#[tokio::test]
async fn a_pat_revoked_by_the_cli_fails_everywhere_within_seconds_with_its_tokens() {
    let app = spawn_app().await;
    app.add_user("alice", "alice-password").await;
    let token = cli_create(&app, &["alice", "--description", "ci"]);
    let minted: serde_json::Value = pat_login(&app, CLIENT, &token).await.json().await.unwrap();
    assert_eq!(app.validate_status("Bearer", &token).await, 200);
    assert_eq!(
        app.validate_status("Bearer", field(&minted, "access_token"))
            .await,
        200
    );

    let id = cli_id_of(&app, "alice");
    let out = app.cli(&["pat", "revoke", &id], None);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), format!("revoked {id}"));
    // the CLI is another process: the server learns of it from the event log
    wait_for_validate(&app, &token, 401, 5).await;
    assert_dead_everywhere(&app, &token, &minted).await;

    let out = app.cli(&["pat", "list", "alice"], None);
    assert!(stdout(&out).contains("\trevoked\t"), "{}", stdout(&out));
    // revoking again is harmless; an unknown id is an error
    assert!(app.cli(&["pat", "revoke", &id], None).status.success());
    let out = app.cli(&["pat", "revoke", "NoSuchPatId00000"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("NoSuchPatId00000"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test]
async fn an_expired_pat_fails_everywhere() {
    let app = spawn_app().await;
    let alice = app.add_user("alice", "alice-password").await;
    let (_, token) = issue_pat(&app, &alice, "data", Some(1)).await;
    let minted: serde_json::Value = pat_login(&app, CLIENT, &token).await.json().await.unwrap();
    app.clock.advance(86_399);
    assert_eq!(app.validate_status("Bearer", &token).await, 200);
    app.clock.advance(1);
    assert_dead_everywhere(&app, &token, &minted).await;
}

#[tokio::test]
async fn disabling_a_user_kills_their_pats_for_good() {
    let app = spawn_app().await;
    let alice = app.add_user("alice", "alice-password").await;
    let (_, token) = issue_pat(&app, &alice, "data", None).await;
    let minted: serde_json::Value = pat_login(&app, CLIENT, &token).await.json().await.unwrap();
    assert_eq!(app.validate_status("Bearer", &token).await, 200);

    let out = app.cli(&["user", "disable", "alice"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    wait_for_validate(&app, &token, 401, 5).await;
    assert_dead_everywhere(&app, &token, &minted).await;

    // enabling the user again does not bring the PAT back
    assert!(app.cli(&["user", "enable", "alice"], None).status.success());
    tokio::time::sleep(std::time::Duration::from_millis(2_500)).await;
    app.state.sync_revocations().await;
    assert_eq!(app.validate_status("Bearer", &token).await, 401);
    assert!(stdout(&app.cli(&["pat", "list", "alice"], None)).contains("\trevoked\t"));
}

#[tokio::test]
async fn a_password_change_keeps_pats_but_ends_tokens_minted_before_it() {
    let app = spawn_app().await;
    let alice = app.add_user("alice", "alice-password").await;
    let (_, token) = issue_pat(&app, &alice, "data", None).await;
    let minted: serde_json::Value = pat_login(&app, CLIENT, &token).await.json().await.unwrap();

    let out = app.cli(
        &["user", "passwd", "alice", "--password-stdin"],
        Some("a brand new password\n"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    wait_for_validate(&app, field(&minted, "access_token"), 401, 5).await;
    assert_eq!(app.validate_status("Bearer", &token).await, 200);
    let fresh: serde_json::Value = pat_login(&app, CLIENT, &token).await.json().await.unwrap();
    assert_eq!(
        app.validate_status("Bearer", field(&fresh, "access_token"))
            .await,
        200
    );
}

#[tokio::test]
async fn unknown_and_malformed_pats_are_refused_with_invalid_token() {
    let app = spawn_app().await;
    app.add_user("alice", "alice-password").await;
    let unknown = format!("asp_{}", authserver::crypto::random_token());
    let minted = serde_json::json!({"access_token": "x.y.z", "id_token": "x.y.z"});
    // twice: the second answer comes from the negative cache
    assert_dead_everywhere(&app, &unknown, &minted).await;
    assert_dead_everywhere(&app, &unknown, &minted).await;
    for bad in [
        "asp_",
        "asp_short",
        &format!("{unknown}x"),
        &unknown.replace("asp_", "asx_"),
    ] {
        assert_eq!(app.validate_status("Bearer", bad).await, 401, "{bad}");
    }
}

#[tokio::test]
async fn a_cached_pat_validates_without_the_database() {
    let app = spawn_app().await;
    let alice = app.add_user("alice", "alice-password").await;
    let (_, token) = issue_pat(&app, &alice, "data", None).await;
    assert_eq!(app.validate_status("Bearer", &token).await, 200);
    // with the database gone the hot path still answers from memory
    app.state.store.close().await;
    for _ in 0..20 {
        assert_eq!(app.validate_status("Bearer", &token).await, 200);
    }
    let info = with_bearer(&app, Method::GET, "/api/userinfo", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(info.status(), 200);
}

async fn last_used(app: &TestApp, id: &str) -> Option<i64> {
    app.state
        .store
        .pat_by_id(id)
        .await
        .unwrap()
        .unwrap()
        .last_used_at
}

#[tokio::test]
async fn last_use_is_kept_in_memory_and_written_by_housekeeping() {
    // (that validation never touches the database is shown by
    // `a_cached_pat_validates_without_the_database`; that each use is written once by
    // the flush, by the unit tests of `domain::pat`)
    let app = spawn_app().await;
    let alice = app.add_user("alice", "alice-password").await;
    let (id, token) = issue_pat(&app, &alice, "data", None).await;
    assert_eq!(last_used(&app, &id).await, None);
    for _ in 0..5 {
        assert_eq!(app.validate_status("Bearer", &token).await, 200);
    }
    app.clock.advance(30);
    assert_eq!(app.validate_status("Bearer", &token).await, 200);
    // housekeeping (once a minute) writes the latest use; the start-up round may be
    // writing too, so allow it a moment
    authserver::housekeeping::purge_once(&app.state)
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while last_used(&app, &id).await != Some(app.clock_now()) {
        assert!(
            std::time::Instant::now() < deadline,
            "last_used_at = {:?}",
            last_used(&app, &id).await
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        pat::flush_usage(&app.state.store, &app.state.revocations)
            .await
            .unwrap();
    }
    // nothing new since: nothing to write
    assert_eq!(
        pat::flush_usage(&app.state.store, &app.state.revocations)
            .await
            .unwrap(),
        0
    );
    let out = app.cli(&["pat", "list", "alice"], None);
    assert!(
        stdout(&out).contains(&format!(
            "last_used={}",
            authserver::clock::rfc3339(app.clock_now())
        )),
        "{}",
        stdout(&out)
    );
}

#[tokio::test]
async fn the_cli_refuses_management_pats_for_non_admins_and_bad_input() {
    let app = spawn_app().await;
    app.add_user("alice", "alice-password").await;
    add_user_as(&app, "root", "root-password", true).await;
    let refused = |args: &[&str], code: i32| {
        let mut all = vec!["pat", "create"];
        all.extend_from_slice(args);
        let out = app.cli(&all, None);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {}", stderr(&out));
        assert!(stdout(&out).is_empty(), "{args:?} printed {}", stdout(&out));
        stderr(&out)
    };
    let err = refused(
        &["alice", "--description", "admin", "--scope", "management"],
        2,
    );
    assert!(
        err.contains("alice") && err.contains("administrator"),
        "{err}"
    );
    // (clap's own usage errors come with a hint line; ours are one line)
    refused(&["alice", "--description", "x", "--scope", "root"], 2);
    for args in [
        &["alice", "--description", "x", "--expires-in-days", "0"][..],
        &["alice", "--description", "   "][..],
        &["nobody", "--description", "x"][..],
    ] {
        let mut all = vec!["pat", "create"];
        all.extend_from_slice(args);
        let err = stderr(&app.cli(&all, None));
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    }
    refused(
        &["alice", "--description", "x", "--expires-in-days", "0"],
        2,
    );
    refused(&["alice", "--description", "   "], 2);
    refused(&["alice"], 2);
    let err = refused(&["nobody", "--description", "x"], 1);
    assert!(err.contains("nobody"), "{err}");

    let token = cli_create(
        &app,
        &[
            "root",
            "--description",
            "user provisioning",
            "--scope",
            "management",
            "--expires-in-days",
            "90",
        ],
    );
    let v: serde_json::Value = with_bearer(&app, Method::GET, "/api/validate", &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["scope"], "management");
    let listing = stdout(&app.cli(&["pat", "list", "root"], None));
    assert!(
        listing.contains("\troot\tmanagement\tactive\t"),
        "{listing}"
    );
    let out = app.cli(&["pat", "list", "nobody"], None);
    assert_eq!(out.status.code(), Some(1));
}

/// A `Write` that appends to a shared buffer (for capturing log output).
#[derive(Clone)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_pat_ever_reaches_the_log() {
    // a current-thread runtime: the server's tasks run on this thread, under this
    // thread's subscriber, so everything it logs at any level is captured
    let buffer = Arc::new(Mutex::new(Vec::new()));
    let writer = Capture(buffer.clone());
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    // With a single registered dispatcher, tracing computes a new callsite's interest from
    // the default of whichever thread hits it first (another test's: "never"). A second
    // live dispatcher makes it ask every registered one, ours included.
    let _second = tracing::Dispatch::new(tracing_subscriber::registry());
    tracing::callsite::rebuild_interest_cache();

    let app = spawn_app().await;
    let root = add_user_as(&app, "root", "root-password", true).await;
    let (id, token) = issue_pat(&app, &root, "management", None).await;
    assert_eq!(app.validate_status("Token", &token).await, 200);
    introspect(&app, &token).await;
    with_bearer(&app, Method::GET, "/api/userinfo", &token)
        .send()
        .await
        .unwrap();
    with_bearer(&app, Method::GET, "/api/users", &token)
        .send()
        .await
        .unwrap();
    let minted: serde_json::Value = pat_login(&app, CLIENT, &token).await.json().await.unwrap();
    with_bearer(
        &app,
        Method::DELETE,
        &format!("/api/users/root/pats/{id}"),
        &token,
    )
    .send()
    .await
    .unwrap();
    assert_dead_everywhere(&app, &token, &minted).await;
    pat::flush_usage(&app.state.store, &app.state.revocations)
        .await
        .unwrap();

    let log = String::from_utf8(buffer.lock().unwrap().clone()).unwrap();
    assert!(log.contains("/api/validate"), "the log was captured: {log}");
    assert!(log.contains(&id), "PAT ids are logged (audit): {log}");
    assert!(!log.contains(&token[4..]), "the PAT leaked into the log");
    let hash_b64 = authserver::crypto::b64url(&authserver::crypto::token_hash(&token));
    assert!(!log.contains(&hash_b64));
}
