//! Revocable access tokens at the resource endpoints: `/api/validate`, `/api/userinfo`
//! and `/api/introspect` reject unexpired tokens of a revoked family or a disabled user.
use serde_json::{json, Value};

use crate::helpers::lifecycle_helpers::{field, introspect, oauth_error, refresh, refresh_ok};
use crate::helpers::{bare_client, TestApp, CLIENT};

use super::{app_with_tokens, userinfo, USER};

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
