//! The refresh_token grant: a rotation returns a new pair of the same family and spends
//! the token; it belongs to its client and needs the client's secret; `scope` may narrow,
//! never widen; an expired token is refused.
use serde_json::{json, Value};

use crate::helpers::lifecycle_helpers::{
    claims, field, introspect, oauth_error, post_token, refresh, refresh_ok,
};
use crate::helpers::{jwt_parts, CLIENT};

use super::{app_with_tokens, family, userinfo, REFRESH_TTL, USER};

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
