//! What keeps a refresh family from outliving what it was granted under: the user's
//! generation stored on the family and checked by every rotation, the reuse grace that
//! replaces (never doubles) the family's live token, and a refresh narrowed to a scope
//! without `openid` (no ID token).
use std::sync::Arc;

use serde_json::Value;

use crate::helpers::lifecycle_helpers::*;
use crate::helpers::*;

const USER: &str = "alice";
const PASSWORD: &str = "alice-password-1";

/// The default server with alice signed in; returns the token response.
async fn signed_in() -> (TestApp, Value) {
    let app = spawn_app().await;
    app.add_user(USER, PASSWORD).await;
    let tokens = app.tokens_for(USER, PASSWORD).await;
    (app, tokens)
}

/// The refresh family of a token response.
fn family(tokens: &Value) -> String {
    claims(tokens, "access_token")["fam"]
        .as_str()
        .unwrap_or_else(|| panic!("the access token carries fam: {tokens}"))
        .to_string()
}

/// Presents a refresh token and expects `invalid_grant`.
async fn assert_refused(app: &TestApp, refresh_token: &str, why: &str) {
    let resp = refresh(app, CLIENT, refresh_token, &[]).await;
    let status = resp.status();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(status, 400, "{why}: {body}");
    assert_eq!(body["error"], "invalid_grant", "{why}: {body}");
}

/// Unspent refresh tokens of a family.
async fn live_tokens(app: &TestApp, family: &str) -> i64 {
    app.sql("SELECT COUNT(*) FROM refresh_tokens WHERE family_id = $1 AND spent_at IS NULL")
        .bind(family)
        .i64()
        .await
}

/// Writes a family for alice the way a code exchange does, with the generation the
/// exchange checked; `code_hash` picks the batched path (`Some`) or the single one.
async fn create_family(app: &TestApp, generation: i64, code_hash: Option<&[u8]>) -> String {
    let user = app.state.store.user_by_name(USER).await.unwrap().unwrap();
    let family = authserver::crypto::random_id();
    let token = authserver::crypto::random_token();
    let hash = authserver::crypto::token_hash(&token);
    let now = app.clock_now();
    let live = app
        .state
        .store
        .create_family(
            &family,
            generation,
            &authserver::store::NewRefresh {
                token_hash: &hash,
                family_id: &family,
                client_id: CLIENT,
                user_id: user.id,
                scope: "openid profile email",
                auth_time: now,
                now,
                expires_at: now + 3600,
            },
            code_hash,
        )
        .await
        .unwrap();
    assert!(live, "the family is created live");
    token
}

#[tokio::test]
async fn a_code_exchanged_while_a_password_change_ran_gives_a_family_whose_refresh_is_refused() {
    let (app, _) = signed_in().await;
    let before = app.state.store.user_by_name(USER).await.unwrap().unwrap();
    // a code granted under the old password was checked by its exchange (generation
    // `before`), then the password change ran and swept the user's families, then the
    // exchange wrote its family: both write paths, the batched one (with a code) and the
    // single one
    let new_hash = authserver::password::hash("alice-password-2").unwrap();
    app.clock.advance(1);
    app.state
        .store
        .set_password(USER, &new_hash, app.clock_now())
        .await
        .unwrap();
    app.state.sync_revocations().await;
    let batched = create_family(
        &app,
        before.generation,
        Some(&authserver::crypto::token_hash("a code")),
    )
    .await;
    let single = create_family(&app, before.generation, None).await;
    app.clock.advance(1);
    assert_refused(&app, &batched, "a family of the batched path").await;
    assert_refused(&app, &single, "a family of the single path").await;
    // a family granted under the new generation rotates
    let current = app.state.store.user_by_name(USER).await.unwrap().unwrap();
    let fresh = create_family(&app, current.generation, None).await;
    refresh_ok(&app, &fresh).await;
}

#[tokio::test]
async fn a_live_family_of_an_older_generation_is_refused_at_its_next_refresh() {
    let (app, tokens) = signed_in().await;
    // the family escaped the sweep of a password change: only the generation moved on
    app.sql("UPDATE users SET generation = generation + 1 WHERE username = $1")
        .bind(USER)
        .exec()
        .await;
    assert!(!app
        .state
        .store
        .family_revoked(&family(&tokens))
        .await
        .unwrap());
    assert_refused(
        &app,
        field(&tokens, "refresh_token"),
        "the user's generation changed",
    )
    .await;
}

#[tokio::test]
async fn by_default_a_client_that_lost_a_refresh_answer_retries_and_the_lost_token_dies() {
    // a crash (or a dropped connection) after the rotation committed: the client never
    // saw `lost` and presents its old token again, within the default grace
    let (app, first) = signed_in().await;
    let old = field(&first, "refresh_token");
    let lost = refresh_ok(&app, old).await;
    app.clock.advance(10);
    let retried = refresh_ok(&app, old).await;
    let fam = family(&first);
    assert_eq!(family(&retried), fam, "the same family lives on");
    assert_eq!(
        live_tokens(&app, &fam).await,
        1,
        "the retry's token replaced the lost one: one live chain"
    );
    let next = refresh_ok(&app, field(&retried, "refresh_token")).await;
    // whoever holds the replaced token (a thief who raced the client) meets reuse
    // detection after the grace, and the whole family ends
    app.clock.advance(31);
    assert_refused(&app, field(&lost, "refresh_token"), "the replaced token").await;
    assert_refused(
        &app,
        field(&next, "refresh_token"),
        "the family was revoked by the reuse",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_concurrent_presentations_within_the_grace_leave_one_live_token() {
    let (app, first) = signed_in().await;
    let app = Arc::new(app);
    let old = field(&first, "refresh_token").to_string();
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (app, old) = (app.clone(), old.clone());
            tokio::spawn(async move { refresh(&app, CLIENT, &old, &[]).await.status() })
        })
        .collect();
    for status in futures::future::join_all(tasks).await {
        assert_eq!(status.unwrap(), 200, "every presentation within the grace");
    }
    assert_eq!(live_tokens(&app, &family(&first)).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn grace_retries_racing_rotations_of_the_live_token_leave_one_live_token() {
    let (app, first) = signed_in().await;
    let app = Arc::new(app);
    let fam = family(&first);
    let mut old = field(&first, "refresh_token").to_string();
    for round in 0..5 {
        // the client's retry of `old` races rotations of the family's live token
        let live = field(&refresh_ok(&app, &old).await, "refresh_token").to_string();
        let tasks: Vec<_> = (0..12)
            .map(|i| {
                let app = app.clone();
                let token = if i % 2 == 0 {
                    old.clone()
                } else {
                    live.clone()
                };
                tokio::spawn(async move {
                    let resp = refresh(&app, CLIENT, &token, &[]).await;
                    let status = resp.status();
                    (status, resp.json::<Value>().await.unwrap())
                })
            })
            .collect();
        let mut last = None;
        for task in futures::future::join_all(tasks).await {
            let (status, body) = task.unwrap();
            assert_eq!(
                status, 200,
                "round {round}: every presentation within the grace"
            );
            last = Some(body);
        }
        assert_eq!(live_tokens(&app, &fam).await, 1, "round {round}");
        old = field(&last.unwrap(), "refresh_token").to_string();
        app.clock.advance(1);
    }
}

#[tokio::test]
async fn a_refresh_narrowed_to_a_scope_without_openid_returns_no_id_token() {
    let (app, first) = signed_in().await;
    let resp = refresh(
        &app,
        CLIENT,
        field(&first, "refresh_token"),
        &[("scope", "profile")],
    )
    .await;
    let status = resp.status();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scope"], "profile", "{body}");
    assert!(body.get("id_token").is_none(), "no ID token: {body}");
    assert_eq!(
        app.validate_status("Bearer", field(&body, "access_token"))
            .await,
        200
    );
    // the refresh token keeps the granted scope: a full refresh has an ID token again
    let full = refresh_ok(&app, field(&body, "refresh_token")).await;
    assert!(full.get("id_token").is_some(), "{full}");
}
