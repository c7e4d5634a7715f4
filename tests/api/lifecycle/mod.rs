//! The token lifecycle after sign-in: refresh rotation and reuse detection, the end of a
//! user's tokens (disable, password change), introspection (RFC 7662), revocation
//! (RFC 7009) and the purge of expired rows.
//!
//! One module per stage: [`refresh`] and [`reuse`] of refresh tokens, [`user_changes`]
//! that end a user's tokens and what [`resource_endpoints`] then answer,
//! [`introspection`], [`revocation`], [`housekeeping`]. The helpers they share are here.
mod housekeeping;
mod introspection;
mod refresh;
mod resource_endpoints;
mod reuse;
mod revocation;
mod user_changes;

use serde_json::Value;

use crate::helpers::lifecycle_helpers::{claims, refresh};
use crate::helpers::{bare_client, spawn_app, TestApp, CLIENT};

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
