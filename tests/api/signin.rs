//! The browser sign-in, driven by the `openidconnect` crate as a real relying party.
use openidconnect::core::{CoreClient, CoreProviderMetadata, CoreUserInfoClaims};
use openidconnect::{
    AccessTokenHash, AuthenticationFlow, AuthorizationCode, ClientId, ClientSecret, CsrfToken,
    IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};

use crate::helpers::*;

fn http() -> openidconnect::reqwest::Client {
    openidconnect::reqwest::Client::builder()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn the_openidconnect_relying_party_completes_the_code_flow_with_pkce_and_nonce() {
    let app = spawn_app().await;
    app.add_user("alice", "alice-password-1").await;
    let http = http();
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(app.issuer.clone()).unwrap(), &http)
            .await
            .unwrap();
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(CLIENT.into()),
        Some(ClientSecret::new(SECRET.into())),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, csrf, nonce) = client
        .authorize_url(
            AuthenticationFlow::<openidconnect::core::CoreResponseType>::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .set_pkce_challenge(challenge)
        .url();

    // the browser part: login page, form post, 303 to the callback
    let page = app.login_page(auth_url.as_str()).await;
    assert!(page.contains(CLIENT), "the login page names the client");
    let resp = app
        .submit_login(&page, "alice", "alice-password-1", false)
        .await;
    assert_eq!(resp.status(), 303);
    let loc = location(&resp);
    assert!(loc.starts_with(&format!("{REDIRECT}?")), "{loc}");
    assert_eq!(
        query_param(&loc, "state").as_deref(),
        Some(csrf.secret().as_str())
    );
    assert_eq!(
        query_param(&loc, "iss").as_deref(),
        Some(app.issuer.as_str())
    );
    let code = query_param(&loc, "code").unwrap();

    // the relying party exchanges the code (client_secret_basic) and verifies the ID token
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("token exchange");
    let id_token = tokens.id_token().expect("an ID token");
    let verifier = client.id_token_verifier();
    let claims = id_token
        .claims(&verifier, &nonce)
        .expect("ID token verifies with the JWKS");
    assert_eq!(claims.subject().as_str(), "alice");
    assert_eq!(claims.audiences()[0].as_str(), CLIENT);
    assert!(claims.auth_time().is_some());
    let expected_hash = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(claims.access_token_hash(), Some(&expected_hash));
    assert!(tokens.refresh_token().is_some());

    // userinfo through the library
    let info: CoreUserInfoClaims = client
        .user_info(tokens.access_token().clone(), None)
        .unwrap()
        .request_async(&http)
        .await
        .expect("userinfo");
    assert_eq!(info.subject().as_str(), "alice");
    assert_eq!(info.email().unwrap().as_str(), "alice@example.com");
}

#[tokio::test]
async fn the_token_response_and_both_jwts_carry_what_the_spec_lists() {
    let app = spawn_app().await;
    app.add_user("bob", "bob-password-12").await;
    let (code, verifier) = app.sign_in("bob", "bob-password-12").await;
    let resp = app.exchange(&code, &verifier).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert_eq!(body["scope"], "email openid profile");
    assert!(body["refresh_token"].as_str().unwrap().len() >= 43);

    let (h, c) = jwt_parts(body["id_token"].as_str().unwrap());
    assert_eq!(h["alg"], "RS256");
    assert_eq!(
        h["kid"],
        app.state.keys.ring().active().unwrap().kid.as_str()
    );
    assert_eq!(c["iss"], app.issuer.as_str());
    assert_eq!(c["sub"], "bob");
    assert_eq!(c["aud"], CLIENT);
    assert_eq!(c["nonce"], "n0nce");
    assert_eq!(c["preferred_username"], "bob");
    assert_eq!(c["name"], "bob Example");
    assert_eq!(c["email"], "bob@example.com");
    assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 900);
    assert!(c["auth_time"].as_i64().is_some());
    assert!(c["jti"].as_str().is_some());
    assert_eq!(
        c["at_hash"],
        authserver::domain::tokens::id_token_hash(
            body["access_token"].as_str().unwrap(),
            authserver::config::SigningAlgorithm::RS256
        )
        .as_str()
    );

    let (h, c) = jwt_parts(body["access_token"].as_str().unwrap());
    assert_eq!(h["typ"], "at+jwt");
    assert_eq!(c["client_id"], CLIENT);
    assert_eq!(c["aud"], CLIENT);
    assert_eq!(c["sub"], "bob");
    assert_eq!(c["scope"], "email openid profile");
    assert!(
        c["fam"].as_str().is_some(),
        "access token names its refresh family"
    );
}

#[tokio::test]
async fn userinfo_and_validate_accept_bearer_and_token_schemes_and_a_post_body() {
    let app = spawn_app().await;
    app.add_user("carol", "carol-password").await;
    let t = app.tokens_for("carol", "carol-password").await;
    let access = t["access_token"].as_str().unwrap();
    let id = t["id_token"].as_str().unwrap();
    for scheme in ["Bearer", "Token", "bearer"] {
        let r = app
            .client
            .get(app.url("/api/userinfo"))
            .header("Authorization", format!("{scheme} {access}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{scheme}");
        let j: serde_json::Value = r.json().await.unwrap();
        assert_eq!(j["sub"], "carol");
        assert_eq!(j["email"], "carol@example.com");
    }
    let r = app
        .client
        .post(app.url("/api/userinfo"))
        .header("Authorization", format!("Bearer {access}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = app
        .client
        .post(app.url("/api/userinfo"))
        .form(&[("access_token", access)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // never from the query string
    let r = app
        .client
        .get(format!(
            "{}?access_token={access}",
            app.url("/api/userinfo")
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // TWC validation with the ID token and the access token
    let r = app
        .client
        .get(app.url("/api/validate"))
        .header("Authorization", format!("Token {id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let j: serde_json::Value = r.json().await.unwrap();
    assert_eq!(j["active"], true);
    assert_eq!(j["token_type"], "id_token");
    assert_eq!(j["sub"], "carol");
    assert_eq!(j["username"], "carol");
    assert_eq!(j["client_id"], CLIENT);
    let r = app
        .client
        .post(app.url("/api/validate"))
        .header("Authorization", format!("Bearer {access}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let j: serde_json::Value = r.json().await.unwrap();
    assert_eq!(j["token_type"], "access_token");
}

#[tokio::test]
async fn expired_forged_wrongly_signed_and_alg_none_tokens_are_invalid_token() {
    let app = spawn_app().await;
    app.add_user("dave", "dave-password").await;
    let t = app.tokens_for("dave", "dave-password").await;
    let access = t["access_token"].as_str().unwrap().to_string();
    use base64::Engine;
    let b64 = |s: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    let parts: Vec<&str> = access.split('.').collect();
    let (_, mut claims) = jwt_parts(&access);
    claims["sub"] = "admin".into();
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        b64(claims.to_string().as_bytes()),
        parts[2]
    );
    let none = format!("{}.{}.", b64(br#"{"alg":"none","typ":"at+jwt"}"#), parts[1]);
    // signed by a key that is not ours
    let other =
        authserver::keys::SigningKey::generate(authserver::config::SigningAlgorithm::RS256, 0)
            .unwrap();
    let other = authserver::keys::SigningKey::from_pkcs8(
        &other.private_pkcs8,
        authserver::config::SigningAlgorithm::RS256,
        Some(app.state.keys.ring().active().unwrap().kid.clone()),
    )
    .unwrap();
    let (_, claims) = jwt_parts(&access);
    let wrong_key = other.sign("at+jwt", &claims).unwrap();
    for (what, token) in [
        ("forged", forged.as_str()),
        ("alg none", none.as_str()),
        ("wrong key", wrong_key.as_str()),
        ("garbage", "not.a.jwt"),
        ("truncated", &access[..access.len() - 10]),
    ] {
        for path in ["/api/userinfo", "/api/validate"] {
            let r = app
                .client
                .get(app.url(path))
                .header("Authorization", format!("Bearer {token}"))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 401, "{what} at {path}");
            assert!(r.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .contains("invalid_token"));
            let j: serde_json::Value = r.json().await.unwrap();
            assert_eq!(j["error"], "invalid_token");
        }
    }
    assert_eq!(app.validate_status("Bearer", &access).await, 200);
    app.clock.advance(901);
    assert_eq!(app.validate_status("Bearer", &access).await, 401, "expired");
    let r = app
        .client
        .get(app.url("/api/userinfo"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "no token at all");
}
