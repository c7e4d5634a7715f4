//! Registered clients driven by real relying-party code: the `openidconnect` crate as an
//! RS256-only client of a server that signs ES256, and `private_key_jwt` with the
//! client's keys published at a `jwks_uri`.
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use openidconnect::core::{CoreClient, CoreProviderMetadata};
use openidconnect::{
    AccessTokenHash, AuthenticationFlow, AuthorizationCode, ClientId, ClientSecret, CsrfToken,
    IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};
use serde_json::{json, Value};

use crate::helpers::lifecycle_helpers::{oauth_error, post_token};
use crate::helpers::{
    jwt_parts, location, pkce_pair, query_param, spawn_app, AppBuilder, TestApp, SECRET,
};
use crate::registered_clients::{
    json_ok, register as register_client, service_metadata, sign_in_for, REPORTS_CB,
};

const CB: &str = "https://rp.example.com/cb";

fn http() -> openidconnect::reqwest::Client {
    openidconnect::reqwest::Client::builder()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn register(app: &TestApp, id: &str, metadata: Value) -> Option<String> {
    let draft = serde_json::from_value(metadata).unwrap();
    let (_, secret) = authserver::domain::clients::create(
        &app.state.store,
        &app.state.settings,
        Some(id),
        draft,
        false,
        app.clock_now(),
    )
    .await
    .unwrap();
    secret.map(|s| s.expose().to_string())
}

#[tokio::test]
async fn the_openidconnect_crate_signs_in_as_an_rs256_only_registered_client_of_an_es256_server() {
    let app = AppBuilder::new()
        .generated_keys()
        .set("authentication.signing.algorithm", "ES256")
        .spawn()
        .await;
    app.add_user("alice", "alice-password-1").await;
    let secret = register(
        &app,
        "legacy-rp",
        json!({
            "client_name": "Legacy RP",
            "redirect_uris": [CB],
            "id_token_signed_response_alg": "RS256",
            "first_party": true,
        }),
    )
    .await
    .unwrap();
    let http = http();
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(app.issuer.clone()).unwrap(), &http)
            .await
            .unwrap();
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new("legacy-rp".into()),
        Some(ClientSecret::new(secret)),
    )
    .set_redirect_uri(RedirectUrl::new(CB.into()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, _csrf, nonce) = client
        .authorize_url(
            AuthenticationFlow::<openidconnect::core::CoreResponseType>::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .set_pkce_challenge(challenge)
        .url();
    let page = app.login_page(auth_url.as_str()).await;
    let resp = app
        .submit_login(&page, "alice", "alice-password-1", false)
        .await;
    assert_eq!(resp.status(), 303);
    let loc = location(&resp);
    assert!(loc.starts_with(CB), "{loc}");
    let code = query_param(&loc, "code").unwrap();
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("token exchange with the client's own secret");
    let id_token = tokens.id_token().expect("an ID token");
    // the crate's default verifier accepts RS256 only
    let id_verifier = client.id_token_verifier();
    let claims = id_token
        .claims(&id_verifier, &nonce)
        .expect("the RS256 ID token verifies with the JWKS");
    assert_eq!(claims.subject().as_str(), "alice");
    assert_eq!(claims.audiences()[0].as_str(), "legacy-rp");
    let expected_hash = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&id_verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(claims.access_token_hash(), Some(&expected_hash));
    // everyone else still gets ES256
    let (access_header, _) = jwt_parts(tokens.access_token().secret());
    assert_eq!(access_header["alg"], "ES256");
    assert!(tokens.refresh_token().is_some());
}

/// Serves `jwks` at `http://127.0.0.1:PORT/jwks`; returns the URL and a fetch counter.
async fn serve_jwks(jwks: Value) -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let router = axum::Router::new().route(
        "/jwks",
        axum::routing::get(move || {
            let counter = counter.clone();
            let jwks = jwks.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                axum::Json(jwks)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, router).await });
    (format!("http://127.0.0.1:{port}/jwks"), hits)
}

#[tokio::test]
async fn private_key_jwt_with_a_jwks_uri_fetches_the_keys_once_and_caches_them() {
    use authserver::config::SigningAlgorithm;
    use authserver::keys::SigningKey;
    let app = AppBuilder::new().spawn().await;
    let stored = SigningKey::generate(SigningAlgorithm::EdDSA, 0).unwrap();
    let key = SigningKey::from_pkcs8(&stored.private_pkcs8, SigningAlgorithm::EdDSA, None).unwrap();
    let (uri, hits) = serve_jwks(json!({"keys": [key.jwk]})).await;
    register(
        &app,
        "signer",
        json!({
            "client_name": "Signer",
            "grant_types": ["client_credentials"],
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks_uri": uri,
            "scope": "profile",
        }),
    )
    .await;
    let encoding = jsonwebtoken::EncodingKey::from_ed_der(&stored.private_pkcs8);
    let token_endpoint = app.url("/api/token");
    for jti in ["a", "b", "c"] {
        let now = app.clock_now();
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
        header.kid = Some(key.kid.clone());
        let assertion = jsonwebtoken::encode(
            &header,
            &json!({"iss": "signer", "sub": "signer", "aud": token_endpoint, "exp": now + 60, "jti": jti}),
            &encoding,
        )
        .unwrap();
        let resp = post_token(
            &app,
            &[],
            &[
                ("grant_type", "client_credentials"),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ),
                ("client_assertion", &assertion),
            ],
        )
        .await;
        assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    }
    assert_eq!(hits.load(Ordering::SeqCst), 1, "the JWK Set is cached");
}

#[tokio::test]
async fn a_public_client_needs_pkce_and_no_secret() {
    let app = spawn_app().await;
    let (id, secret) = register_client(
        &app,
        "spa",
        json!({"client_name": "SPA", "redirect_uris": [REPORTS_CB], "token_endpoint_auth_method": "none"}),
    )
    .await;
    assert!(secret.is_none());
    // without PKCE the request goes back to the client with an error
    let mut url = url::Url::parse(&app.url("/authorize")).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &id)
        .append_pair("redirect_uri", REPORTS_CB)
        .append_pair("scope", "openid")
        .append_pair("state", "s");
    let resp = app.client.get(url.as_str()).send().await.unwrap();
    assert_eq!(resp.status(), 302);
    let loc = location(&resp);
    assert!(loc.starts_with(REPORTS_CB), "{loc}");
    assert_eq!(
        query_param(&loc, "error").as_deref(),
        Some("invalid_request")
    );

    let (verifier, challenge) = pkce_pair();
    let code = sign_in_for(&app, &id, Some(&challenge)).await;
    let form = |verifier: &str| {
        vec![
            ("grant_type", "authorization_code".to_string()),
            ("code", code.clone()),
            ("redirect_uri", REPORTS_CB.to_string()),
            ("client_id", id.clone()),
            ("code_verifier", verifier.to_string()),
        ]
    };
    // a secret (even the shared one) is refused for a public client
    let with_secret = crate::helpers::bare_client()
        .post(app.url("/api/token"))
        .header("X-Auth-Secret", SECRET)
        .form(&form(&verifier))
        .send()
        .await
        .unwrap();
    oauth_error(with_secret, 401, "invalid_client").await;
    let tokens = crate::helpers::bare_client()
        .post(app.url("/api/token"))
        .form(&form(&verifier))
        .send()
        .await
        .unwrap();
    let tokens = json_ok(tokens, 200).await;
    assert!(tokens["access_token"].is_string());
}

/// A client key pair: the public JWK Set to register, and the key to sign assertions.
fn client_key() -> (Value, jsonwebtoken::EncodingKey, String) {
    use authserver::config::SigningAlgorithm;
    use authserver::keys::SigningKey;
    let stored = SigningKey::generate(SigningAlgorithm::ES256, 0).unwrap();
    let key = SigningKey::from_pkcs8(&stored.private_pkcs8, SigningAlgorithm::ES256, None).unwrap();
    let kid = key.kid.clone();
    (
        json!({"keys": [key.jwk]}),
        jsonwebtoken::EncodingKey::from_ec_der(&stored.private_pkcs8),
        kid,
    )
}

fn assertion(key: &jsonwebtoken::EncodingKey, kid: &str, claims: &Value) -> String {
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some(kid.to_string());
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

async fn with_assertion(app: &TestApp, client_id: &str, assertion: &str) -> reqwest::Response {
    post_token(
        app,
        &[],
        &[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", assertion),
        ],
    )
    .await
}

#[tokio::test]
async fn private_key_jwt_accepts_a_fresh_assertion_once_and_refuses_bad_ones() {
    use base64::Engine;
    let app = spawn_app().await;
    let (jwks, key, kid) = client_key();
    let mut metadata = service_metadata("private_key_jwt");
    metadata["jwks"] = jwks;
    let (id, secret) = register_client(&app, "signer", metadata).await;
    assert!(secret.is_none());
    let now = app.clock_now();
    let claims = |aud: &str, exp: i64, jti: &str| json!({"iss": id, "sub": id, "aud": aud, "exp": exp, "iat": now, "jti": jti});
    let token_endpoint = app.url("/api/token");

    let good = assertion(&key, &kid, &claims(&token_endpoint, now + 60, "one"));
    let token = json_ok(with_assertion(&app, &id, &good).await, 200).await;
    let (_, access) = jwt_parts(token["access_token"].as_str().unwrap());
    assert_eq!(access["sub"], id);
    // replayed jti
    oauth_error(
        with_assertion(&app, &id, &good).await,
        401,
        "invalid_client",
    )
    .await;
    // the issuer is an audience too
    let to_issuer = assertion(&key, &kid, &claims(&app.issuer, now + 60, "two"));
    assert_eq!(with_assertion(&app, &id, &to_issuer).await.status(), 200);

    let refused = [
        (
            "wrong aud",
            assertion(
                &key,
                &kid,
                &claims("https://elsewhere.example/token", now + 60, "3"),
            ),
        ),
        (
            "expired",
            assertion(&key, &kid, &claims(&token_endpoint, now - 1, "4")),
        ),
        (
            "too long-lived",
            assertion(&key, &kid, &claims(&token_endpoint, now + 86_400, "5")),
        ),
        ("another key", {
            let (_, other, other_kid) = client_key();
            assertion(&other, &other_kid, &claims(&token_endpoint, now + 60, "6"))
        }),
        ("HS256", {
            let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
            jsonwebtoken::encode(
                &header,
                &claims(&token_endpoint, now + 60, "7"),
                &jsonwebtoken::EncodingKey::from_secret(b"anything"),
            )
            .unwrap()
        }),
        ("alg none", {
            let b64 =
                |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
            format!(
                "{}.{}.",
                b64(&json!({"alg": "none", "typ": "JWT"})),
                b64(&claims(&token_endpoint, now + 60, "8"))
            )
        }),
    ];
    for (what, a) in refused {
        let resp = with_assertion(&app, &id, &a).await;
        assert_eq!(resp.status(), 401, "{what}");
    }
    // the shared secret does not authenticate it either
    let shared = post_token(
        &app,
        &[("X-Auth-Secret", SECRET)],
        &[("grant_type", "client_credentials"), ("client_id", &id)],
    )
    .await;
    assert_eq!(shared.status(), 401);
}

#[tokio::test]
async fn a_registered_clients_own_token_lifetimes_apply() {
    let app = spawn_app().await;
    let secret = register_client(
        &app,
        "short",
        json!({
            "client_name": "Short-lived",
            "redirect_uris": [REPORTS_CB],
            "access_token_lifetime": 60,
            "refresh_token_lifetime": 120,
        }),
    )
    .await
    .1
    .unwrap();
    let (verifier, challenge) = pkce_pair();
    let code = sign_in_for(&app, "short", Some(&challenge)).await;
    let auth = crate::helpers::lifecycle_helpers::basic("short", &secret);
    let tokens = post_token(
        &app,
        &[("Authorization", &auth)],
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REPORTS_CB),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    let tokens = json_ok(tokens, 200).await;
    assert_eq!(tokens["expires_in"], 60);
    let (_, claims) = jwt_parts(tokens["access_token"].as_str().unwrap());
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        60
    );
    app.clock.advance(121);
    let refresh = post_token(
        &app,
        &[("Authorization", &auth)],
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ],
    )
    .await;
    oauth_error(refresh, 400, "invalid_grant").await;
}

#[tokio::test]
async fn sign_out_honours_a_registered_clients_id_token_hint_and_its_own_post_logout_uris() {
    let app = spawn_app().await;
    let back = "https://reports.example.com/bye";
    let secret = register_client(
        &app,
        "portal",
        json!({
            "client_name": "Portal",
            "redirect_uris": [REPORTS_CB],
            "post_logout_redirect_uris": [back],
        }),
    )
    .await
    .1
    .unwrap();
    let (verifier, challenge) = pkce_pair();
    let code = sign_in_for(&app, "portal", Some(&challenge)).await;
    let tokens = post_token(
        &app,
        &[(
            "Authorization",
            &crate::helpers::lifecycle_helpers::basic("portal", &secret),
        )],
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REPORTS_CB),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    let tokens = json_ok(tokens, 200).await;
    let id_token = tokens["id_token"].as_str().unwrap();
    let signout = |query: Vec<(&'static str, String)>| {
        let app = &app;
        async move {
            let mut url = url::Url::parse(&app.url("/api/signout")).unwrap();
            for (k, v) in &query {
                url.query_pairs_mut().append_pair(k, v);
            }
            app.client.get(url.as_str()).send().await.unwrap()
        }
    };
    // the shared whitelist's address is not this client's
    let foreign = signout(vec![
        ("id_token_hint", id_token.to_string()),
        ("post_logout_redirect_uri", REPORTS_CB.to_string()),
    ])
    .await;
    assert_eq!(foreign.status(), 400);
    let ok = signout(vec![
        ("id_token_hint", id_token.to_string()),
        ("post_logout_redirect_uri", back.to_string()),
        ("state", "bye".to_string()),
    ])
    .await;
    assert!(ok.status().is_redirection(), "{}", ok.status());
    let loc = location(&ok);
    assert!(loc.starts_with(back), "{loc}");
    assert_eq!(query_param(&loc, "state").as_deref(), Some("bye"));
    // without a hint, client_id names the client whose URIs apply
    let by_id = signout(vec![
        ("client_id", "portal".to_string()),
        ("post_logout_redirect_uri", back.to_string()),
    ])
    .await;
    assert!(by_id.status().is_redirection(), "{}", by_id.status());
    assert!(location(&by_id).starts_with(back));
}

#[tokio::test]
async fn a_cached_client_follows_its_updates_and_rotations_at_once() {
    let app = spawn_app().await;
    let secret = register_client(&app, "svc", service_metadata("client_secret_basic"))
        .await
        .1
        .unwrap();
    let auth = |s: &str| crate::helpers::lifecycle_helpers::basic("svc", s);
    let cc = |auth: String, scope: &'static str| {
        let app = &app;
        async move {
            post_token(
                app,
                &[("Authorization", &auth)],
                &[("grant_type", "client_credentials"), ("scope", scope)],
            )
            .await
        }
    };
    // cached by its first use
    assert_eq!(cc(auth(&secret), "profile").await.status(), 200);
    let now = app.clock_now();
    authserver::domain::clients::update(
        &app.state.store,
        &app.state.settings,
        "svc",
        serde_json::from_value(json!({"scope": "email"})).unwrap(),
        now,
    )
    .await
    .unwrap();
    app.state.sync_revocations().await;
    oauth_error(cc(auth(&secret), "profile").await, 400, "invalid_scope").await;
    assert_eq!(cc(auth(&secret), "email").await.status(), 200);
    // a rotation without overlap: the old secret stops at once, the new one works
    let new = authserver::domain::clients::rotate_secret(&app.state.store, "svc", 0, now)
        .await
        .unwrap();
    app.state.sync_revocations().await;
    oauth_error(cc(auth(&secret), "email").await, 401, "invalid_client").await;
    assert_eq!(cc(auth(new.expose()), "email").await.status(), 200);
}
