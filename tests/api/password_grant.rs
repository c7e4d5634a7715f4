//! `grant_type=password` (RFC 6749 §4.3) for the clients in `authentication.client.password`,
//! driven by the `openidconnect` crate's `exchange_password` where a real client fits.
use base64::Engine;
use openidconnect::core::{CoreClient, CoreErrorResponseType, CoreProviderMetadata};
use openidconnect::{
    ClientId, ClientSecret, IssuerUrl, Nonce, OAuth2TokenResponse, RequestTokenError,
    ResourceOwnerPassword, ResourceOwnerUsername, Scope, TokenResponse,
};
use serde_json::Value;

use crate::helpers::*;

const USER: &str = "carol";
const PASSWORD: &str = "carol-password-1";

/// A server where `CLIENT` may use the password grant (and get a refresh token with
/// `offline_access`), with one user.
async fn app() -> TestApp {
    let app = AppBuilder::new()
        .set("authentication.client.password", CLIENT)
        .set("authentication.client.offline", CLIENT)
        .spawn()
        .await;
    app.add_user(USER, PASSWORD).await;
    app
}

fn http() -> openidconnect::reqwest::Client {
    openidconnect::reqwest::Client::builder()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A password grant request by hand: client secret in Basic (`client_secret_basic`).
async fn password_grant(
    app: &TestApp,
    path: &str,
    client: &str,
    username: &str,
    password: &str,
) -> reqwest::Response {
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{client}:{SECRET}"));
    bare_client()
        .post(app.url(path))
        .header("Authorization", format!("Basic {basic}"))
        .form(&[
            ("grant_type", "password"),
            ("username", username),
            ("password", password),
            ("scope", "openid profile"),
        ])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_openidconnect_client_signs_in_with_the_password_grant_and_refreshes() {
    let app = app().await;
    let http = http();
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(app.issuer.clone()).unwrap(), &http)
            .await
            .unwrap();
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(CLIENT.into()),
        Some(ClientSecret::new(SECRET.into())),
    );
    let username = ResourceOwnerUsername::new(USER.into());
    let password = ResourceOwnerPassword::new(PASSWORD.into());
    let tokens = client
        .exchange_password(&username, &password)
        .unwrap()
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("offline_access".into()))
        .request_async(&http)
        .await
        .expect("password grant");
    let id_token = tokens.id_token().expect("an ID token");
    let claims = id_token
        .claims(&client.id_token_verifier(), |_: Option<&Nonce>| Ok(()))
        .expect("the ID token verifies with the JWKS");
    assert_eq!(claims.subject().as_str(), USER);
    assert_eq!(claims.audiences()[0].as_str(), CLIENT);
    assert!(claims.auth_time().is_some());
    assert_eq!(
        tokens.expires_in().map(|d| d.as_secs()),
        Some(900),
        "the lifetime of a code sign-in"
    );
    let scopes: Vec<String> = tokens
        .scopes()
        .unwrap()
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(scopes, vec!["offline_access", "openid", "profile"]);

    // asked for offline_access by a client in authentication.client.offline, it starts a
    // refresh family
    let refresh = tokens.refresh_token().expect("a refresh token");
    let refreshed = client
        .exchange_refresh_token(refresh)
        .unwrap()
        .request_async(&http)
        .await
        .expect("refresh");
    assert!(refreshed.refresh_token().is_some());
    assert_ne!(
        refreshed.refresh_token().unwrap().secret(),
        refresh.secret()
    );
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_user_get_the_same_invalid_grant() {
    let app = app().await;
    let http = http();
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(app.issuer.clone()).unwrap(), &http)
            .await
            .unwrap();
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(CLIENT.into()),
        Some(ClientSecret::new(SECRET.into())),
    );
    let username = ResourceOwnerUsername::new(USER.into());
    let wrong = ResourceOwnerPassword::new("not-the-password".into());
    match client
        .exchange_password(&username, &wrong)
        .unwrap()
        .request_async(&http)
        .await
    {
        Err(RequestTokenError::ServerResponse(e)) => {
            assert_eq!(*e.error(), CoreErrorResponseType::InvalidGrant)
        }
        other => panic!("expected invalid_grant, got {other:?}"),
    }

    let wrong = password_grant(&app, "/api/token", CLIENT, USER, "not-the-password").await;
    let unknown = password_grant(&app, "/api/token", CLIENT, "nobody", "not-the-password").await;
    assert_eq!(wrong.status(), 400);
    assert_eq!(unknown.status(), 400);
    let wrong: Value = wrong.json().await.unwrap();
    let unknown: Value = unknown.json().await.unwrap();
    assert_eq!(wrong["error"], "invalid_grant");
    assert_eq!(wrong, unknown);

    // a disabled user too
    app.state
        .store
        .set_disabled(USER, true, app.clock_now())
        .await
        .unwrap();
    app.state.sync_revocations().await;
    let disabled: Value = password_grant(&app, "/api/token", CLIENT, USER, PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(disabled, unknown);
}

#[tokio::test]
async fn clients_not_listed_get_unauthorized_client_even_with_the_right_password() {
    let app = app().await;
    let resp = password_grant(&app, "/api/token", "MAGICDRAW", USER, PASSWORD).await;
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "unauthorized_client");
    assert!(body.get("access_token").is_none());

    // and without the key, nobody may
    let plain = spawn_app().await;
    plain.add_user(USER, PASSWORD).await;
    let body: Value = password_grant(&plain, "/api/token", CLIENT, USER, PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["error"], "unauthorized_client");
}

#[tokio::test]
async fn the_client_secret_is_checked_before_the_password_grant() {
    let app = app().await;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT}:wrong"));
    let resp = bare_client()
        .post(app.url("/api/token"))
        .header("Authorization", format!("Basic {basic}"))
        .form(&[
            ("grant_type", "password"),
            ("username", USER),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");
}

#[tokio::test]
async fn wrong_passwords_are_throttled_with_429_and_retry_after_at_either_token_path() {
    let app = app().await;
    let mut throttled = None;
    for i in 0..15 {
        let path = if i % 2 == 0 {
            "/api/token"
        } else {
            "/api/oidc/token"
        };
        let resp = password_grant(&app, path, CLIENT, USER, "wrong-password").await;
        if resp.status() == 429 {
            throttled = Some(resp);
            break;
        }
        assert_eq!(resp.status(), 400);
    }
    let resp = throttled.expect("throttled after repeated failures");
    let retry: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 0);
    // the right password from the same address waits too
    let resp = password_grant(&app, "/api/oidc/token", CLIENT, USER, PASSWORD).await;
    assert_eq!(resp.status(), 429);
}

#[tokio::test]
async fn a_verified_password_is_served_from_the_credential_cache() {
    let app = app().await;
    let resp = password_grant(&app, "/api/token", CLIENT, USER, PASSWORD).await;
    assert_eq!(resp.status(), 200);
    let user = app.state.store.user_by_name(USER).await.unwrap().unwrap();
    let credentials = &app.state.credentials;
    assert!(credentials.hit(
        &credentials.fingerprint(USER, PASSWORD),
        &user,
        app.clock_now()
    ));
    let resp = password_grant(&app, "/api/oidc/token", CLIENT, USER, PASSWORD).await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    // no offline_access asked: no refresh token
    assert!(body.get("refresh_token").is_none(), "{body}");
    assert_eq!(body["scope"], "openid profile");
}

#[tokio::test]
async fn discovery_lists_the_password_grant_only_when_a_client_may_use_it() {
    let with: Value = bare_client()
        .get(app().await.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(with["grant_types_supported"]
        .as_array()
        .unwrap()
        .contains(&Value::from("password")));
    let without: Value = bare_client()
        .get(spawn_app().await.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(!without["grant_types_supported"]
        .as_array()
        .unwrap()
        .contains(&Value::from("password")));
}
