//! The end of a user's tokens: disabling the user (in the store or by the CLI) and a
//! password change end their refresh families and older access tokens.
use std::time::{Duration, Instant};

use crate::helpers::lifecycle_helpers::{field, refresh_ok};

use super::{app_with_tokens, assert_refresh_refused, PASSWORD, USER};

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
