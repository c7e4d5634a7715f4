//! Revocation (RFC 7009).
use serde_json::json;

use crate::helpers::lifecycle_helpers::{
    basic, claims, client_credentials_ok, field, introspect, oauth_error, post_token, refresh_ok,
    revoke,
};
use crate::helpers::{bare_client, spawn_app, CLIENT, SECRET};

use super::{app_with_tokens, assert_refresh_refused, PASSWORD, USER};

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
