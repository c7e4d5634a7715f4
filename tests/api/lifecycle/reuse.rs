//! Reuse detection: a spent refresh token presented again revokes its whole family, past
//! the reuse grace (within it, a repeated refresh gets a sibling pair); under concurrency
//! a token rotates exactly once.
use std::sync::Arc;

use serde_json::{json, Value};

use crate::helpers::lifecycle_helpers::{field, introspect, oauth_error, refresh, refresh_ok};
use crate::helpers::{AppBuilder, TestApp, CLIENT};

use super::{app_with_tokens, assert_refresh_refused, family, signed_in, PASSWORD, USER};

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
