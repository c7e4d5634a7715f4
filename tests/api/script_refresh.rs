//! One-time refresh for script logins (issue 18, primaTime): the password grant and the
//! secret-key login (`Basic <PAT>:`) return a refresh token only when the client asks for
//! `offline_access` and is listed in `authentication.client.offline`; it lives
//! `authentication.offline.token.expiry` (7 days by default), rotates once and a reuse
//! revokes its family.
use serde_json::Value;

use crate::helpers::lifecycle_helpers::{basic, claims, field, post_token, refresh};
use crate::helpers::pat_helpers::{issue_pat, pat_login};
use crate::helpers::*;

const SCRIPT: &str = "twc-rest-api";

async fn app(offline: &str) -> TestApp {
    let app = AppBuilder::new()
        .set(
            "authentication.client.password",
            &format!("{CLIENT}, {SCRIPT}"),
        )
        .set("authentication.client.offline", offline)
        .spawn()
        .await;
    app.add_user("carol", "carol-password-1").await;
    app
}

async fn password_grant(app: &TestApp, client: &str, scope: &str) -> Value {
    let resp = post_token(
        app,
        &[("Authorization", basic(client, SECRET).as_str())],
        &[
            ("grant_type", "password"),
            ("username", "carol"),
            ("password", "carol-password-1"),
            ("scope", scope),
        ],
    )
    .await;
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

/// The lifetime of the refresh token `token` as stored.
async fn stored_lifetime(app: &TestApp, token: &str) -> i64 {
    app.sql("SELECT expires_at - created_at FROM refresh_tokens WHERE token_hash = $1")
        .bind(authserver::crypto::token_hash(token))
        .i64()
        .await
}

#[tokio::test]
async fn the_password_grant_returns_a_refresh_token_only_when_asked_and_allowed() {
    let app = app(SCRIPT).await;
    // not asked
    let tokens = password_grant(&app, SCRIPT, "openid profile").await;
    assert!(tokens.get("refresh_token").is_none(), "{tokens}");
    // asked, but the client is not allowed: no refresh token, offline_access not granted
    let tokens = password_grant(&app, CLIENT, "openid offline_access").await;
    assert!(tokens.get("refresh_token").is_none(), "{tokens}");
    assert_eq!(tokens["scope"], "openid");
    // asked and allowed: one, of the script-login lifetime (7 days)
    let tokens = password_grant(&app, SCRIPT, "openid offline_access").await;
    let first = field(&tokens, "refresh_token").to_string();
    assert_eq!(stored_lifetime(&app, &first).await, 7 * 86_400);
    assert!(claims(&tokens, "access_token")["fam"].is_string());

    // one-time rotation: the new token lives 7 days from its own issue
    app.clock.advance(3600);
    let resp = refresh(&app, SCRIPT, &first, &[]).await;
    assert_eq!(resp.status(), 200);
    let rotated: Value = resp.json().await.unwrap();
    let second = field(&rotated, "refresh_token").to_string();
    assert_ne!(second, first);
    assert_eq!(stored_lifetime(&app, &second).await, 7 * 86_400);
    // reuse of the spent token (after the grace) revokes the family
    app.clock.advance(120);
    let resp = refresh(&app, SCRIPT, &first, &[]).await;
    assert_eq!(resp.status(), 400);
    let resp = refresh(&app, SCRIPT, &second, &[]).await;
    assert_eq!(resp.status(), 400, "the family died with the reuse");
    assert_eq!(
        app.validate_status("Bearer", field(&rotated, "access_token"))
            .await,
        401
    );
}

#[tokio::test]
async fn the_script_refresh_lifetime_is_a_key() {
    let app = AppBuilder::new()
        .set("authentication.client.password", SCRIPT)
        .set("authentication.client.offline", SCRIPT)
        .set("authentication.offline.token.expiry", "3600")
        .spawn()
        .await;
    app.add_user("carol", "carol-password-1").await;
    let tokens = password_grant(&app, SCRIPT, "openid offline_access").await;
    let token = field(&tokens, "refresh_token").to_string();
    assert_eq!(stored_lifetime(&app, &token).await, 3600);
    app.clock.advance(3601);
    assert_eq!(refresh(&app, SCRIPT, &token, &[]).await.status(), 400);
}

/// The secret-key login with `scope`.
async fn secret_key_login(app: &TestApp, client: &str, pat: &str, scope: &str) -> Value {
    let resp = post_token(
        app,
        &[
            ("X-Auth-Secret", SECRET),
            ("Authorization", basic(pat, "").as_str()),
        ],
        &[
            ("grant_type", "client_credentials"),
            ("client_id", client),
            ("scope", scope),
        ],
    )
    .await;
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

#[tokio::test]
async fn the_secret_key_login_returns_a_refresh_token_that_dies_with_its_pat() {
    let app = app(SCRIPT).await;
    let carol = app
        .state
        .store
        .user_by_name("carol")
        .await
        .unwrap()
        .unwrap();
    let (pat_id, pat) = issue_pat(&app, &carol, "data", None).await;
    // without offline_access (or for another client): as before, no refresh token
    let plain: Value = pat_login(&app, SCRIPT, &pat).await.json().await.unwrap();
    assert!(plain.get("refresh_token").is_none());
    let other = secret_key_login(&app, CLIENT, &pat, "offline_access").await;
    assert!(other.get("refresh_token").is_none(), "{other}");

    let tokens = secret_key_login(&app, SCRIPT, &pat, "offline_access").await;
    let first = field(&tokens, "refresh_token").to_string();
    assert_eq!(stored_lifetime(&app, &first).await, 7 * 86_400);
    assert_eq!(claims(&tokens, "access_token")["pat"], pat_id.as_str());
    let resp = refresh(&app, SCRIPT, &first, &[]).await;
    assert_eq!(resp.status(), 200);
    let rotated: Value = resp.json().await.unwrap();
    let access = field(&rotated, "access_token").to_string();
    assert_eq!(claims(&rotated, "access_token")["pat"], pat_id.as_str());
    assert!(field(&rotated, "scope").contains("pat:data"));
    assert_eq!(app.validate_status("Bearer", &access).await, 200);

    // the PAT is revoked: the refreshed token dies, and the family refreshes no more
    app.state
        .store
        .revoke_pat(&pat_id, None, app.clock_now())
        .await
        .unwrap();
    app.state.sync_revocations().await;
    assert_eq!(app.validate_status("Bearer", &access).await, 401);
    let resp = refresh(&app, SCRIPT, field(&rotated, "refresh_token"), &[]).await;
    assert_eq!(resp.status(), 400);
}

#[tokio::test]
async fn a_reused_secret_key_refresh_token_revokes_its_family() {
    let app = app(SCRIPT).await;
    let carol = app
        .state
        .store
        .user_by_name("carol")
        .await
        .unwrap()
        .unwrap();
    let (_, pat) = issue_pat(&app, &carol, "data", None).await;
    let tokens = secret_key_login(&app, SCRIPT, &pat, "openid offline_access").await;
    let first = field(&tokens, "refresh_token").to_string();
    let rotated: Value = refresh(&app, SCRIPT, &first, &[])
        .await
        .json()
        .await
        .unwrap();
    app.clock.advance(120);
    assert_eq!(refresh(&app, SCRIPT, &first, &[]).await.status(), 400);
    assert_eq!(
        refresh(&app, SCRIPT, field(&rotated, "refresh_token"), &[])
            .await
            .status(),
        400
    );
    // the PAT itself is untouched: a new login works
    assert_eq!(app.validate_status("Bearer", &pat).await, 200);
}
