//! Housekeeping: the purge of expired codes, refresh tokens and sessions.
use crate::helpers::lifecycle_helpers::{field, refresh_ok};
use crate::helpers::TestApp;

use super::{app_with_tokens, PASSWORD, REFRESH_TTL, USER};

/// Rows in a table.
async fn count(app: &TestApp, sql: &str) -> i64 {
    app.sql_i64(sql).await
}

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

#[tokio::test]
async fn a_round_without_the_family_walk_purges_the_rest_and_leaves_empty_families_to_the_next_walk(
) {
    let (app, old) = app_with_tokens().await;
    refresh_ok(&app, field(&old, "refresh_token")).await;
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM refresh_families").await,
        1
    );
    app.clock.advance(REFRESH_TTL + 1);

    let deleted = authserver::housekeeping::purge_round(&app.state, false)
        .await
        .unwrap();
    assert!(
        deleted >= 3,
        "the code and both refresh tokens went: {deleted}"
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM refresh_tokens").await, 0);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM refresh_families").await,
        1,
        "a round without the walk leaves the empty family"
    );

    let deleted = authserver::housekeeping::purge_round(&app.state, true)
        .await
        .unwrap();
    assert_eq!(
        deleted, 1,
        "the walk deletes the family and nothing else is left"
    );
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM refresh_families").await,
        0
    );
}
