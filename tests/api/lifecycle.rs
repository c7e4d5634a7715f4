//! The token lifecycle after sign-in: refresh rotation and reuse detection, the end of a
//! user's tokens (disable, password change), introspection (RFC 7662), revocation
//! (RFC 7009) and the purge of expired rows.
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::lifecycle_helpers::*;
use crate::helpers::*;

const USER: &str = "alice";
const PASSWORD: &str = "alice-password-1";
/// The default refresh token lifetime.
const REFRESH_TTL: i64 = 1_209_600;

/// Starts the standard server with alice and signs her in; returns the token response.
async fn app_with_tokens() -> (TestApp, Value) {
    let app = spawn_app().await;
    let tokens = signed_in(&app).await;
    (app, tokens)
}

/// Creates alice and signs her in (scope "openid profile email").
async fn signed_in(app: &TestApp) -> Value {
    app.add_user(USER, PASSWORD).await;
    app.tokens_for(USER, PASSWORD).await
}

/// A server whose refresh reuse grace is 30 s (the default, set explicitly), with alice
/// signed in.
async fn app_with_grace() -> (TestApp, Value) {
    let app = grace("30").await;
    let tokens = signed_in(&app).await;
    (app, tokens)
}

/// A server with reuse grace `secs` ("0": strict one-time use).
async fn grace(secs: &str) -> TestApp {
    let key = "authentication.refresh.token.reuse.grace";
    AppBuilder::new().set(key, secs).spawn().await
}

/// The refresh family an access (or ID) token of a token response descends from.
fn family(tokens: &Value, name: &str) -> String {
    claims(tokens, name)["fam"]
        .as_str()
        .unwrap_or_else(|| panic!("{name} carries fam: {tokens}"))
        .to_string()
}

/// Presents a refresh token as `CLIENT` and expects `invalid_grant`.
async fn assert_refresh_refused(app: &TestApp, refresh_token: &str, why: &str) {
    let resp = refresh(app, CLIENT, refresh_token, &[]).await;
    let status = resp.status();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(status, 400, "{why}: {body}");
    assert_eq!(body["error"], "invalid_grant", "{why}: {body}");
}

/// `GET /api/userinfo` with a Bearer token; returns status and JSON body.
async fn userinfo(app: &TestApp, token: &str) -> (u16, reqwest::header::HeaderMap, Value) {
    let resp = bare_client()
        .get(app.url("/api/userinfo"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.json().await.unwrap_or(Value::Null))
}

/// Asserts that `/api/validate`, `/api/userinfo` and `/api/introspect` all reject the
/// access token (and `/api/validate` the ID token) of `tokens`.
async fn assert_rejected_everywhere(app: &TestApp, tokens: &Value, why: &str) {
    let access = field(tokens, "access_token");
    let resp = bare_client()
        .get(app.url("/api/validate"))
        .header("Authorization", format!("Token {access}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401, "{why}: /api/validate");
    let challenge = resp
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    assert!(
        challenge.starts_with("Bearer") && challenge.contains(r#"error="invalid_token""#),
        "{why}: WWW-Authenticate of /api/validate: {challenge:?}"
    );
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "invalid_token", "{why}: {body}");
    assert_eq!(
        app.validate_status("Bearer", field(tokens, "id_token"))
            .await,
        401,
        "{why}: the ID token at /api/validate"
    );
    let (status, headers, body) = userinfo(app, access).await;
    assert_eq!(status, 401, "{why}: /api/userinfo: {body}");
    assert!(
        headers
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains(r#"error="invalid_token""#)),
        "{why}: WWW-Authenticate of /api/userinfo"
    );
    assert_eq!(
        introspect(app, access).await,
        json!({"active": false}),
        "{why}: /api/introspect"
    );
}

/// Rows in a table.
async fn count(app: &TestApp, sql: &str) -> i64 {
    app.sql_i64(sql).await
}

// ---------------------------------------------------------------------------------------
// refresh_token grant
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_refresh_token_returns_new_id_access_and_refresh_tokens_of_the_same_family_and_is_spent()
{
    let (app, first) = app_with_tokens().await;
    let old_refresh = field(&first, "refresh_token");
    let resp = refresh(&app, CLIENT, old_refresh, &[]).await;
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("no-store"),
        "token responses are not cached"
    );
    let second: Value = resp.json().await.unwrap();
    assert_eq!(second["token_type"], "Bearer", "{second}");
    assert_eq!(second["expires_in"], 900, "{second}");
    assert_eq!(second["scope"], first["scope"], "{second}");
    for name in ["access_token", "id_token", "refresh_token"] {
        assert_ne!(field(&second, name), field(&first, name), "a new {name}");
    }

    let (header, access) = jwt_parts(field(&second, "access_token"));
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(access["sub"], USER);
    assert_eq!(access["client_id"], CLIENT);
    assert_eq!(
        family(&second, "access_token"),
        family(&first, "access_token"),
        "the refreshed access token belongs to the family of the sign-in"
    );
    let id = claims(&second, "id_token");
    let first_id = claims(&first, "id_token");
    assert_eq!(id["iss"], app.issuer);
    assert_eq!(id["sub"], USER);
    assert_eq!(id["aud"], CLIENT);
    assert_eq!(
        id["auth_time"], first_id["auth_time"],
        "auth_time stays the time of the original authentication"
    );
    assert_eq!(
        id["exp"].as_i64().unwrap() - id["iat"].as_i64().unwrap(),
        900
    );

    assert_eq!(
        app.validate_status("Bearer", field(&second, "access_token"))
            .await,
        200
    );
    assert_eq!(
        introspect(&app, old_refresh).await,
        json!({"active": false}),
        "the presented refresh token is spent"
    );
    let new_refresh = introspect(&app, field(&second, "refresh_token")).await;
    assert_eq!(new_refresh["active"], true, "{new_refresh}");
    // the new one works in turn
    let third = refresh_ok(&app, field(&second, "refresh_token")).await;
    assert_eq!(
        family(&third, "access_token"),
        family(&first, "access_token")
    );
}

#[tokio::test]
async fn reusing_a_spent_refresh_token_is_invalid_grant_and_revokes_the_whole_family() {
    let (app, first) = app_with_tokens().await;
    let second = refresh_ok(&app, field(&first, "refresh_token")).await;
    app.clock.advance(31); // past the default reuse grace
    let resp = refresh(&app, CLIENT, field(&first, "refresh_token"), &[]).await;
    oauth_error(resp, 400, "invalid_grant").await;

    assert_refresh_refused(
        &app,
        field(&second, "refresh_token"),
        "the newest refresh token of a family revoked by reuse",
    )
    .await;
    for (what, tokens) in [("first", &first), ("second", &second)] {
        for name in ["access_token", "id_token"] {
            assert_eq!(
                app.validate_status("Bearer", field(tokens, name)).await,
                401,
                "the {what} {name} of the revoked family"
            );
        }
    }
    assert_eq!(
        introspect(&app, field(&second, "access_token")).await,
        json!({"active": false})
    );
    assert_eq!(
        introspect(&app, field(&second, "refresh_token")).await,
        json!({"active": false})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_refresh_token_presented_by_16_concurrent_requests_succeeds_exactly_once_and_the_reuse_revokes_the_family(
) {
    let app = grace("0").await;
    let tokens = signed_in(&app).await;
    let app = Arc::new(app);
    let refresh_token = field(&tokens, "refresh_token").to_string();
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let app = app.clone();
            let refresh_token = refresh_token.clone();
            tokio::spawn(async move {
                let resp = refresh(&app, CLIENT, &refresh_token, &[]).await;
                let status = resp.status().as_u16();
                let body: Value = resp.json().await.unwrap_or(Value::Null);
                (status, body)
            })
        })
        .collect();
    let results: Vec<(u16, Value)> = futures::future::join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    let winners: Vec<&Value> = results
        .iter()
        .filter(|(s, _)| *s == 200)
        .map(|(_, b)| b)
        .collect();
    assert_eq!(winners.len(), 1, "exactly one rotation wins: {results:?}");
    for (status, body) in results.iter().filter(|(s, _)| *s != 200) {
        assert_eq!(*status, 400, "{body}");
        assert_eq!(body["error"], "invalid_grant", "{body}");
    }
    let winner = winners[0];
    assert_refresh_refused(
        &app,
        field(winner, "refresh_token"),
        "the losers were reuses: the winner's new refresh token is revoked with its family",
    )
    .await;
    assert_eq!(
        app.validate_status("Bearer", field(winner, "access_token"))
            .await,
        401
    );
}

/// Concurrent rotations of different families are group-committed on SQLite (one
/// statement for all rotations waiting for the writer): each must get its own successor,
/// and a token presented three times in the same burst must still rotate exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_rotations_of_many_families_each_rotate_once_in_a_burst() {
    let app = grace("0").await;
    app.add_user(USER, PASSWORD).await;
    let mut families = Vec::new();
    for _ in 0..12 {
        let browser = app.another_browser();
        families
            .push(field(&browser.tokens_for(USER, PASSWORD).await, "refresh_token").to_string());
    }
    let app = Arc::new(app);
    // twelve families, the first one presented three times
    let mut presented: Vec<(usize, String)> = families.iter().cloned().enumerate().collect();
    presented.push((0, families[0].clone()));
    presented.push((0, families[0].clone()));
    let tasks: Vec<_> = presented
        .into_iter()
        .map(|(family, token)| {
            let app = app.clone();
            tokio::spawn(async move {
                let resp = refresh(&app, CLIENT, &token, &[]).await;
                let status = resp.status().as_u16();
                let body: Value = resp.json().await.unwrap_or(Value::Null);
                (family, status, body)
            })
        })
        .collect();
    let results: Vec<(usize, u16, Value)> = futures::future::join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    for family in 0..12 {
        let wins: Vec<&Value> = results
            .iter()
            .filter(|(f, s, _)| *f == family && *s == 200)
            .map(|(_, _, b)| b)
            .collect();
        assert_eq!(wins.len(), 1, "family {family}: {results:?}");
        let next = field(wins[0], "refresh_token");
        if family == 0 {
            // the two extra presentations were reuse: the family is revoked
            assert_refresh_refused(&app, next, "family 0 was reused").await;
        } else {
            // every other family rotated once and lives on
            refresh_ok(&app, next).await;
        }
    }
    let distinct: std::collections::HashSet<&str> = results
        .iter()
        .filter(|(_, s, _)| *s == 200)
        .map(|(_, _, b)| field(b, "refresh_token"))
        .collect();
    assert_eq!(distinct.len(), 12, "every winner got its own refresh token");
}

#[tokio::test]
async fn within_the_reuse_grace_a_repeated_refresh_gets_a_sibling_pair_and_the_family_lives_on() {
    let (app, first) = app_with_grace().await;
    let old = field(&first, "refresh_token");
    let second = refresh_ok(&app, old).await;
    app.clock.advance(29);
    let sibling = refresh_ok(&app, old).await;
    assert_eq!(
        family(&sibling, "access_token"),
        family(&first, "access_token"),
        "the sibling pair is of the same family"
    );
    assert_ne!(
        field(&sibling, "refresh_token"),
        field(&second, "refresh_token"),
        "a fresh refresh token"
    );
    assert_ne!(
        field(&sibling, "access_token"),
        field(&second, "access_token")
    );
    for tokens in [&first, &second, &sibling] {
        assert_eq!(
            app.validate_status("Bearer", field(tokens, "access_token"))
                .await,
            200,
            "the family is not revoked"
        );
    }
    // the sibling replaced `second` as the family's live token (within the grace `second`
    // still gets a pair: see refresh_family.rs for what happens after it)
    refresh_ok(&app, field(&sibling, "refresh_token")).await;
    refresh_ok(&app, field(&second, "refresh_token")).await;
}

#[tokio::test]
async fn after_the_reuse_grace_a_repeated_refresh_revokes_the_family() {
    let (app, first) = app_with_grace().await;
    let old = field(&first, "refresh_token");
    let second = refresh_ok(&app, old).await;
    app.clock.advance(31);
    let resp = refresh(&app, CLIENT, old, &[]).await;
    oauth_error(resp, 400, "invalid_grant").await;
    assert_refresh_refused(
        &app,
        field(&second, "refresh_token"),
        "the family was revoked by the late reuse",
    )
    .await;
    assert_eq!(
        app.validate_status("Bearer", field(&second, "access_token"))
            .await,
        401
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn within_the_reuse_grace_16_concurrent_presentations_all_get_pairs_of_the_same_family() {
    let (app, first) = app_with_grace().await;
    let app = Arc::new(app);
    let refresh_token = field(&first, "refresh_token").to_string();
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let app = app.clone();
            let refresh_token = refresh_token.clone();
            tokio::spawn(async move {
                let resp = refresh(&app, CLIENT, &refresh_token, &[]).await;
                let status = resp.status().as_u16();
                (status, resp.json::<Value>().await.unwrap_or(Value::Null))
            })
        })
        .collect();
    let results: Vec<(u16, Value)> = futures::future::join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    assert!(
        results.iter().all(|(s, _)| *s == 200),
        "parallel tabs within the grace all succeed: {results:?}"
    );
    let fam = family(&first, "access_token");
    let mut refresh_tokens: Vec<&str> = results
        .iter()
        .map(|(_, b)| {
            assert_eq!(family(b, "access_token"), fam);
            field(b, "refresh_token")
        })
        .collect();
    refresh_tokens.sort_unstable();
    refresh_tokens.dedup();
    assert_eq!(
        refresh_tokens.len(),
        16,
        "every tab gets its own refresh token"
    );
    assert_eq!(
        app.validate_status("Bearer", field(&results[0].1, "access_token"))
            .await,
        200,
        "the family lives on"
    );
}

#[tokio::test]
async fn a_refresh_token_presented_by_another_client_is_invalid_grant_and_still_works_for_its_own_client(
) {
    let (app, first) = app_with_tokens().await;
    let resp = refresh(&app, "MAGICDRAW", field(&first, "refresh_token"), &[]).await;
    oauth_error(resp, 400, "invalid_grant").await;
    assert_eq!(
        app.validate_status("Bearer", field(&first, "access_token"))
            .await,
        200,
        "another client's attempt does not revoke the family"
    );
    let second = refresh_ok(&app, field(&first, "refresh_token")).await;
    assert_eq!(claims(&second, "access_token")["client_id"], CLIENT);
    assert_eq!(claims(&second, "id_token")["aud"], CLIENT);
}

#[tokio::test]
async fn a_refresh_without_the_client_secret_is_invalid_client_and_does_not_spend_the_token() {
    let (app, first) = app_with_tokens().await;
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", field(&first, "refresh_token")),
        ("client_id", CLIENT),
    ];
    oauth_error(post_token(&app, &[], &form).await, 401, "invalid_client").await;
    oauth_error(
        post_token(&app, &[("X-Auth-Secret", "wrong-secret")], &form).await,
        401,
        "invalid_client",
    )
    .await;
    refresh_ok(&app, field(&first, "refresh_token")).await;
}

#[tokio::test]
async fn scope_openid_narrows_the_refreshed_tokens_and_the_refresh_token_keeps_the_granted_scope() {
    let (app, first) = app_with_tokens().await;
    assert_eq!(first["scope"], "email openid profile", "{first}");
    let resp = refresh(
        &app,
        CLIENT,
        field(&first, "refresh_token"),
        &[("scope", "openid")],
    )
    .await;
    assert_eq!(resp.status(), 200);
    let narrowed: Value = resp.json().await.unwrap();
    assert_eq!(narrowed["scope"], "openid", "{narrowed}");
    assert_eq!(claims(&narrowed, "access_token")["scope"], "openid");
    let id = claims(&narrowed, "id_token");
    assert!(
        id.get("email").is_none() && id.get("name").is_none(),
        "no profile or email claims for scope openid: {id}"
    );
    let (status, _, info) = userinfo(&app, field(&narrowed, "access_token")).await;
    assert_eq!(status, 200);
    assert_eq!(info["sub"], USER);
    assert!(info.get("email").is_none(), "{info}");
    // RFC 6749 §6: the new refresh token has the scope of the one presented
    let full = refresh_ok(&app, field(&narrowed, "refresh_token")).await;
    assert_eq!(full["scope"], "email openid profile", "{full}");
}

#[tokio::test]
async fn a_refresh_scope_beyond_the_granted_one_is_invalid_scope_and_does_not_spend_the_token() {
    let (app, first) = app_with_tokens().await;
    let resp = refresh(
        &app,
        CLIENT,
        field(&first, "refresh_token"),
        &[("scope", "openid offline_access")],
    )
    .await;
    oauth_error(resp, 400, "invalid_scope").await;
    assert_eq!(
        introspect(&app, field(&first, "refresh_token")).await["active"],
        true,
        "the token was not spent"
    );
    let second = refresh_ok(&app, field(&first, "refresh_token")).await;
    assert_eq!(
        app.validate_status("Bearer", field(&second, "access_token"))
            .await,
        200,
        "and its family was not revoked"
    );
}

#[tokio::test]
async fn a_spent_refresh_token_reused_with_an_over_broad_scope_still_revokes_the_family() {
    let (app, first) = app_with_tokens().await;
    let second = refresh_ok(&app, field(&first, "refresh_token")).await;
    app.clock.advance(31); // past the default reuse grace
                           // a reuse is a reuse, whatever else the request says: the token is checked first
    let resp = refresh(
        &app,
        CLIENT,
        field(&first, "refresh_token"),
        &[("scope", "openid offline_access")],
    )
    .await;
    oauth_error(resp, 400, "invalid_grant").await;
    assert_refresh_refused(
        &app,
        field(&second, "refresh_token"),
        "the family of a reused refresh token is revoked",
    )
    .await;
    assert_eq!(
        app.validate_status("Bearer", field(&second, "access_token"))
            .await,
        401
    );
}

#[tokio::test]
async fn an_expired_refresh_token_is_invalid_grant() {
    let (app, first) = app_with_tokens().await;
    app.clock.advance(REFRESH_TTL + 1);
    let resp = refresh(&app, CLIENT, field(&first, "refresh_token"), &[]).await;
    oauth_error(resp, 400, "invalid_grant").await;
    assert_eq!(
        introspect(&app, field(&first, "refresh_token")).await,
        json!({"active": false})
    );
}

#[tokio::test]
async fn disabling_a_user_in_the_store_ends_all_their_refresh_families_and_access_tokens() {
    let (app, first) = app_with_tokens().await;
    let other_browser = app.another_browser();
    let second_sign_in = other_browser.tokens_for(USER, PASSWORD).await;
    app.state
        .store
        .set_disabled(USER, true, app.clock_now())
        .await
        .unwrap();
    app.state.sync_revocations().await;
    for tokens in [&first, &second_sign_in] {
        assert_refresh_refused(&app, field(tokens, "refresh_token"), "a disabled user").await;
        assert_eq!(
            app.validate_status("Token", field(tokens, "access_token"))
                .await,
            401,
            "the access token of a disabled user"
        );
    }
}

#[tokio::test]
async fn tokens_ended_by_a_disable_stay_dead_after_the_user_is_enabled_again() {
    let (app, first) = app_with_tokens().await;
    app.clock.advance(1);
    let now = app.clock_now();
    app.state.store.set_disabled(USER, true, now).await.unwrap();
    app.state.sync_revocations().await;
    app.clock.advance(1);
    app.state
        .store
        .set_disabled(USER, false, app.clock_now())
        .await
        .unwrap();
    app.state.sync_revocations().await;
    assert_eq!(
        app.validate_status("Bearer", field(&first, "access_token"))
            .await,
        401,
        "an access token from before the disable"
    );
    assert_refresh_refused(
        &app,
        field(&first, "refresh_token"),
        "a family ended by a disable",
    )
    .await;
    let fresh = app.another_browser().tokens_for(USER, PASSWORD).await;
    assert_eq!(
        app.validate_status("Bearer", field(&fresh, "access_token"))
            .await,
        200,
        "the enabled user signs in again"
    );
}

#[tokio::test]
async fn a_password_change_in_the_store_ends_the_users_refresh_families_and_older_access_tokens() {
    let (app, first) = app_with_tokens().await;
    app.clock.advance(1);
    let new_hash = authserver::password::hash("alice-password-2").unwrap();
    app.state
        .store
        .set_password(USER, &new_hash, app.clock_now())
        .await
        .unwrap();
    app.state.sync_revocations().await;
    app.clock.advance(1);
    assert_refresh_refused(
        &app,
        field(&first, "refresh_token"),
        "after a password change",
    )
    .await;
    for name in ["access_token", "id_token"] {
        assert_eq!(
            app.validate_status("Bearer", field(&first, name)).await,
            401,
            "the {name} issued before the password change"
        );
    }
    // a sign-in with the new password gets working tokens
    let fresh = app
        .another_browser()
        .tokens_for(USER, "alice-password-2")
        .await;
    assert_eq!(
        app.validate_status("Bearer", field(&fresh, "access_token"))
            .await,
        200
    );
    refresh_ok(&app, field(&fresh, "refresh_token")).await;
}

#[tokio::test]
async fn access_tokens_issued_in_the_same_second_as_a_password_change_die_with_it() {
    // the manual clock does not move between the sign-in and the change: the tokens were
    // issued before the change, in the same second
    let (app, first) = app_with_tokens().await;
    let new_hash = authserver::password::hash("alice-password-2").unwrap();
    app.state
        .store
        .set_password(USER, &new_hash, app.clock_now())
        .await
        .unwrap();
    app.state.sync_revocations().await;
    app.clock.advance(1);
    assert_refresh_refused(
        &app,
        field(&first, "refresh_token"),
        "after a password change",
    )
    .await;
    for name in ["access_token", "id_token"] {
        assert_eq!(
            app.validate_status("Bearer", field(&first, name)).await,
            401,
            "the {name} issued (in the same second) before the password change"
        );
    }
}

#[tokio::test]
async fn user_disable_by_the_cli_reaches_the_running_server_within_5_seconds() {
    let (app, first) = app_with_tokens().await;
    let access = field(&first, "access_token");
    assert_eq!(app.validate_status("Bearer", access).await, 200);
    let out = app.cli(&["user", "disable", USER], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let changed = Instant::now();
    let mut status = app.validate_status("Bearer", access).await;
    while status != 401 && changed.elapsed() < Duration::from_secs(6) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        status = app.validate_status("Bearer", access).await;
    }
    assert_eq!(
        status,
        401,
        "the disabled user's access token still validates {:?} after the CLI disabled them",
        changed.elapsed()
    );
    assert!(
        changed.elapsed() <= Duration::from_secs(5),
        "SPEC: a CLI change takes effect within 5 seconds; this one took {:?}",
        changed.elapsed()
    );
    assert_refresh_refused(
        &app,
        field(&first, "refresh_token"),
        "a user disabled by the CLI",
    )
    .await;
}

// ---------------------------------------------------------------------------------------
// revocable access tokens at the resource endpoints
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn validate_userinfo_and_introspect_reject_unexpired_tokens_of_a_revoked_family() {
    let (app, first) = app_with_tokens().await;
    let (status, _, info) = userinfo(&app, field(&first, "access_token")).await;
    assert_eq!(status, 200, "{info}");
    refresh_ok(&app, field(&first, "refresh_token")).await;
    app.clock.advance(31);
    // reuse of the spent token (past the grace) revokes the family
    let resp = refresh(&app, CLIENT, field(&first, "refresh_token"), &[]).await;
    oauth_error(resp, 400, "invalid_grant").await;
    assert_rejected_everywhere(&app, &first, "a revoked family").await;
}

#[tokio::test]
async fn validate_userinfo_and_introspect_reject_unexpired_tokens_of_a_disabled_user() {
    let (app, first) = app_with_tokens().await;
    assert_eq!(
        introspect(&app, field(&first, "access_token")).await["active"],
        true
    );
    app.state
        .store
        .set_disabled(USER, true, app.clock_now())
        .await
        .unwrap();
    app.state.sync_revocations().await;
    assert_rejected_everywhere(&app, &first, "a disabled user").await;
    assert_eq!(
        introspect(&app, field(&first, "refresh_token")).await,
        json!({"active": false}),
        "the refresh token of a disabled user"
    );
}

// ---------------------------------------------------------------------------------------
// introspection (RFC 7662)
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn introspecting_an_access_token_as_in_rfc_7662_returns_active_and_its_claims() {
    let (app, first) = app_with_tokens().await;
    let access = field(&first, "access_token");
    // RFC 7662 §2.1: Basic client authentication, token and token_type_hint in the form
    let resp = bare_client()
        .post(app.url("/api/introspect"))
        .header("Accept", "application/json")
        .header("Authorization", basic(CLIENT, SECRET))
        .form(&[("token", access), ("token_type_hint", "access_token")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let h = resp.headers().clone();
    assert!(h["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    assert!(h["cache-control"].to_str().unwrap().contains("no-store"));
    let body: Value = resp.json().await.unwrap();
    let jwt = claims(&first, "access_token");
    assert_eq!(body["active"], true, "{body}");
    assert_eq!(body["sub"], USER, "{body}");
    assert_eq!(body["client_id"], CLIENT, "{body}");
    assert_eq!(body["scope"], "email openid profile", "{body}");
    assert_eq!(body["token_type"], "access_token", "{body}");
    assert_eq!(body["iat"], jwt["iat"], "{body}");
    assert_eq!(body["exp"], jwt["exp"], "{body}");
    assert_eq!(
        body["exp"].as_i64().unwrap() - body["iat"].as_i64().unwrap(),
        900
    );
}

#[tokio::test]
async fn introspection_reports_id_tokens_and_refresh_tokens_as_active_with_their_type() {
    let (app, first) = app_with_tokens().await;
    let id = introspect(&app, field(&first, "id_token")).await;
    assert_eq!(id["active"], true, "{id}");
    assert_eq!(id["token_type"], "id_token", "{id}");
    assert_eq!(id["sub"], USER, "{id}");
    assert_eq!(id["client_id"], CLIENT, "{id}");
    assert!(id["iat"].is_i64() && id["exp"].is_i64(), "{id}");

    let refresh_token = introspect(&app, field(&first, "refresh_token")).await;
    assert_eq!(refresh_token["active"], true, "{refresh_token}");
    assert_eq!(refresh_token["token_type"], "refresh_token");
    assert_eq!(refresh_token["sub"], USER);
    assert_eq!(refresh_token["client_id"], CLIENT);
    assert_eq!(refresh_token["scope"], "email openid profile");
    assert_eq!(
        refresh_token["exp"].as_i64().unwrap() - refresh_token["iat"].as_i64().unwrap(),
        REFRESH_TTL
    );
}

#[tokio::test]
async fn introspection_accepts_x_auth_secret_client_secret_basic_and_client_secret_post() {
    let (app, first) = app_with_tokens().await;
    let access = field(&first, "access_token");
    let requests = [
        (
            "X-Auth-Secret",
            bare_client()
                .post(app.url("/api/introspect"))
                .header("X-Auth-Secret", SECRET)
                .form(&[("token", access), ("client_id", CLIENT)]),
        ),
        (
            "client_secret_basic",
            bare_client()
                .post(app.url("/api/introspect"))
                .header("Authorization", basic(CLIENT, SECRET))
                .form(&[("token", access)]),
        ),
        (
            "client_secret_post",
            bare_client().post(app.url("/api/introspect")).form(&[
                ("token", access),
                ("client_id", CLIENT),
                ("client_secret", SECRET),
            ]),
        ),
    ];
    for (how, req) in requests {
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 200, "{how}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["active"], true, "{how}: {body}");
        assert_eq!(body["sub"], USER, "{how}: {body}");
    }
}

#[tokio::test]
async fn introspection_of_garbage_a_spent_refresh_token_or_expired_tokens_is_inactive() {
    let (app, first) = app_with_tokens().await;
    let inactive = json!({"active": false});
    for garbage in [
        "garbage",
        "a.b.c",
        "eyJhbGciOiJub25lIn0.e30.",
        &"x".repeat(9000),
    ] {
        assert_eq!(introspect(&app, garbage).await, inactive, "{garbage:.20}");
    }
    let second = refresh_ok(&app, field(&first, "refresh_token")).await;
    assert_eq!(
        introspect(&app, field(&first, "refresh_token")).await,
        inactive,
        "a spent refresh token"
    );
    app.clock.advance(901);
    for name in ["access_token", "id_token"] {
        assert_eq!(
            introspect(&app, field(&second, name)).await,
            inactive,
            "an expired {name}"
        );
    }
    assert_eq!(
        introspect(&app, field(&second, "refresh_token")).await["active"],
        true,
        "the refresh token lives longer"
    );
    app.clock.advance(REFRESH_TTL);
    assert_eq!(
        introspect(&app, field(&second, "refresh_token")).await,
        inactive,
        "an expired refresh token"
    );
}

#[tokio::test]
async fn introspection_without_client_authentication_is_401_invalid_client() {
    let (app, first) = app_with_tokens().await;
    let access = field(&first, "access_token");
    let unauthenticated = bare_client()
        .post(app.url("/api/introspect"))
        .form(&[("token", access), ("client_id", CLIENT)])
        .send()
        .await
        .unwrap();
    oauth_error(unauthenticated, 401, "invalid_client").await;
    let wrong = bare_client()
        .post(app.url("/api/introspect"))
        .header("X-Auth-Secret", "wrong-secret")
        .form(&[("token", access), ("client_id", CLIENT)])
        .send()
        .await
        .unwrap();
    oauth_error(wrong, 401, "invalid_client").await;
}

#[tokio::test]
async fn introspection_without_a_token_is_400_invalid_request() {
    let app = spawn_app().await;
    let resp = bare_client()
        .post(app.url("/api/introspect"))
        .header("X-Auth-Secret", SECRET)
        .form(&[("client_id", CLIENT), ("token_type_hint", "access_token")])
        .send()
        .await
        .unwrap();
    oauth_error(resp, 400, "invalid_request").await;
}

// ---------------------------------------------------------------------------------------
// revocation (RFC 7009)
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn revoking_a_refresh_token_as_in_rfc_7009_revokes_its_family() {
    let (app, first) = app_with_tokens().await;
    // RFC 7009 §2.1: Basic client authentication, token and token_type_hint in the form
    let resp = bare_client()
        .post(app.url("/api/revoke"))
        .header("Authorization", basic(CLIENT, SECRET))
        .form(&[
            ("token", field(&first, "refresh_token")),
            ("token_type_hint", "refresh_token"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    for name in ["access_token", "id_token"] {
        assert_eq!(
            app.validate_status("Bearer", field(&first, name)).await,
            401,
            "the {name} of the revoked family"
        );
    }
    assert_refresh_refused(
        &app,
        field(&first, "refresh_token"),
        "a revoked refresh token",
    )
    .await;
    assert_eq!(
        introspect(&app, field(&first, "refresh_token")).await,
        json!({"active": false})
    );
}

#[tokio::test]
async fn revoking_an_access_token_of_a_family_revokes_the_family() {
    let (app, first) = app_with_tokens().await;
    let second = refresh_ok(&app, field(&first, "refresh_token")).await;
    let resp = revoke(&app, CLIENT, field(&first, "access_token")).await;
    assert_eq!(resp.status(), 200);
    for tokens in [&first, &second] {
        assert_eq!(
            app.validate_status("Bearer", field(tokens, "access_token"))
                .await,
            401
        );
    }
    assert_refresh_refused(
        &app,
        field(&second, "refresh_token"),
        "the live refresh token of a family revoked through its access token",
    )
    .await;
}

#[tokio::test]
async fn revoking_a_client_credentials_access_token_revokes_that_token_only() {
    let app = spawn_app().await;
    app.add_user(USER, PASSWORD).await;
    let one = client_credentials_ok(&app, CLIENT, USER, PASSWORD).await;
    // another scope: the same one would be answered with the same pair (see issued_pairs)
    let other: serde_json::Value = post_token(
        &app,
        &[
            ("X-Auth-Secret", SECRET),
            ("Authorization", basic(USER, PASSWORD).as_str()),
        ],
        &[
            ("grant_type", "client_credentials"),
            ("client_id", CLIENT),
            ("scope", "email"),
        ],
    )
    .await
    .json()
    .await
    .unwrap();
    assert_ne!(one["access_token"], other["access_token"]);
    assert!(
        claims(&one, "access_token").get("fam").is_none(),
        "client_credentials tokens have no family"
    );
    let resp = revoke(&app, CLIENT, field(&one, "access_token")).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        app.validate_status("Bearer", field(&one, "access_token"))
            .await,
        401,
        "the revoked token"
    );
    assert_eq!(
        introspect(&app, field(&one, "access_token")).await,
        json!({"active": false})
    );
    assert_eq!(
        app.validate_status("Bearer", field(&other, "access_token"))
            .await,
        200,
        "another client_credentials token of the same user"
    );
}

#[tokio::test]
async fn revoking_an_unknown_token_is_200() {
    let app = spawn_app().await;
    for token in ["garbage", "a.b.c", &authserver::crypto::random_token()] {
        let resp = revoke(&app, CLIENT, token).await;
        assert_eq!(resp.status(), 200, "{token}");
    }
}

#[tokio::test]
async fn revocation_without_client_authentication_is_401_and_revokes_nothing() {
    let (app, first) = app_with_tokens().await;
    for (what, headers) in [
        ("no secret", vec![]),
        ("a wrong secret", vec![("X-Auth-Secret", "wrong-secret")]),
    ] {
        let mut req = bare_client().post(app.url("/api/revoke")).form(&[
            ("token", field(&first, "refresh_token")),
            ("client_id", CLIENT),
        ]);
        for (k, v) in headers {
            req = req.header(k, v);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 401, "{what}");
        oauth_error(resp, 401, "invalid_client").await;
    }
    assert_eq!(
        app.validate_status("Bearer", field(&first, "access_token"))
            .await,
        200
    );
    refresh_ok(&app, field(&first, "refresh_token")).await;
}

#[tokio::test]
async fn revoking_a_token_of_another_client_is_400_unauthorized_client_and_the_token_keeps_working()
{
    let (app, first) = app_with_tokens().await;
    for name in ["access_token", "refresh_token"] {
        let resp = revoke(&app, "MAGICDRAW", field(&first, name)).await;
        oauth_error(resp, 400, "unauthorized_client").await;
    }
    assert_eq!(
        app.validate_status("Bearer", field(&first, "access_token"))
            .await,
        200
    );
    refresh_ok(&app, field(&first, "refresh_token")).await;
}

// ---------------------------------------------------------------------------------------
// housekeeping
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn housekeeping_purges_expired_codes_refresh_tokens_and_sessions_and_keeps_live_ones() {
    let (app, old) = app_with_tokens().await;
    refresh_ok(&app, field(&old, "refresh_token")).await;
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM authorization_codes").await,
        1
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM refresh_tokens").await, 2);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM sso_sessions").await, 1);

    app.clock.advance(REFRESH_TTL + 1);
    // a new sign-in: its session, code and refresh tokens are live (one of them spent)
    let browser = app.another_browser();
    let fresh = browser.tokens_for(USER, PASSWORD).await;
    let fresh2 = refresh_ok(&app, field(&fresh, "refresh_token")).await;
    // and a code not exchanged yet (from a third browser)
    let (pending_code, pending_verifier) = app.another_browser().sign_in(USER, PASSWORD).await;

    authserver::housekeeping::purge_once(&app.state)
        .await
        .unwrap();

    let now = app.clock_now();
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM authorization_codes").await,
        2,
        "only the new codes are left"
    );
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM refresh_tokens").await,
        2,
        "the expired refresh tokens are gone, the new spent and live ones stay"
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM refresh_tokens WHERE spent_at IS NOT NULL"
        )
        .await,
        1,
        "a spent refresh token stays until it expires (reuse detection)"
    );
    let sessions = app.sql("SELECT expires_at FROM sso_sessions").i64s().await;
    assert!(
        !sessions.is_empty() && sessions.iter().all(|e| *e > now),
        "only live sessions are left: {sessions:?} (now {now})"
    );
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM refresh_families").await,
        1,
        "the expired family without tokens is gone"
    );

    // what was kept still works
    refresh_ok(&app, field(&fresh2, "refresh_token")).await;
    let resp = browser.exchange(&pending_code, &pending_verifier).await;
    assert_eq!(resp.status(), 200, "the pending code was kept");
}
