//! Introspection (RFC 7662).
use serde_json::{json, Value};

use crate::helpers::lifecycle_helpers::{
    basic, claims, field, introspect, oauth_error, refresh_ok,
};
use crate::helpers::{bare_client, spawn_app, CLIENT, SECRET};

use super::{app_with_tokens, REFRESH_TTL, USER};

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
