use openidconnect::core::CoreProviderMetadata;
use openidconnect::{IssuerUrl, JsonWebKey};

use crate::helpers::{bare_client, spawn_app, AppBuilder};

#[tokio::test]
async fn the_openidconnect_crate_accepts_our_discovery_document_and_jwks() {
    let app = spawn_app().await;
    let http = openidconnect::reqwest::Client::builder()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(app.issuer.clone()).unwrap(), &http)
            .await
            .expect("discovery accepted by openidconnect");
    assert_eq!(metadata.issuer().as_str(), app.issuer);
    assert_eq!(
        metadata.token_endpoint().unwrap().as_str(),
        app.url("/api/token")
    );
    assert_eq!(
        metadata.authorization_endpoint().as_str(),
        app.url("/authorize")
    );
    let keys = metadata.jwks().keys();
    assert_eq!(keys.len(), 1);
    let kid = keys[0].key_id().unwrap().as_str().to_string();
    assert_eq!(kid, app.state.keys.ring().active().unwrap().kid);
}

#[tokio::test]
async fn discovery_lists_every_field_the_spec_requires() {
    let app = spawn_app().await;
    let resp = app
        .client
        .get(app.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let doc: serde_json::Value = resp.json().await.unwrap();
    let i = &app.issuer;
    assert_eq!(doc["issuer"], *i);
    assert_eq!(doc["authorization_endpoint"], format!("{i}/authorize"));
    assert_eq!(doc["token_endpoint"], format!("{i}/api/token"));
    assert_eq!(doc["userinfo_endpoint"], format!("{i}/api/userinfo"));
    assert_eq!(doc["jwks_uri"], format!("{i}/jwks.json"));
    assert_eq!(doc["end_session_endpoint"], format!("{i}/api/signout"));
    assert_eq!(doc["signout_endpoint"], doc["end_session_endpoint"]);
    assert_eq!(doc["validation_endpoint"], format!("{i}/api/validate"));
    assert_eq!(doc["introspection_endpoint"], format!("{i}/api/introspect"));
    assert_eq!(doc["revocation_endpoint"], format!("{i}/api/revoke"));
    assert_eq!(doc["response_types_supported"], serde_json::json!(["code"]));
    assert_eq!(
        doc["response_modes_supported"],
        serde_json::json!(["query"])
    );
    assert_eq!(
        doc["grant_types_supported"],
        serde_json::json!([
            "authorization_code",
            "refresh_token",
            "client_credentials",
            "urn:ietf:params:oauth:grant-type:device_code"
        ])
    );
    assert_eq!(
        doc["device_authorization_endpoint"],
        format!("{i}/api/oidc/device_code")
    );
    assert_eq!(
        doc["subject_types_supported"],
        serde_json::json!(["public"])
    );
    assert_eq!(
        doc["id_token_signing_alg_values_supported"],
        serde_json::json!(["RS256"])
    );
    assert_eq!(
        doc["scopes_supported"],
        serde_json::json!(["openid", "profile", "email", "offline_access"])
    );
    assert_eq!(
        doc["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    for field in [
        "token_endpoint_auth_methods_supported",
        "introspection_endpoint_auth_methods_supported",
        "revocation_endpoint_auth_methods_supported",
    ] {
        assert_eq!(
            doc[field],
            serde_json::json!([
                "client_secret_basic",
                "client_secret_post",
                "private_key_jwt",
                "none"
            ]),
            "{field}"
        );
    }
    assert_eq!(
        doc["token_endpoint_auth_signing_alg_values_supported"],
        serde_json::json!(["RS256", "PS256", "ES256", "EdDSA"])
    );
    for field in [
        "request_parameter_supported",
        "request_uri_parameter_supported",
        "claims_parameter_supported",
    ] {
        assert_eq!(doc[field], false, "{field}");
    }
    assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
    let claims = doc["claims_supported"].as_array().unwrap();
    for c in [
        "sub",
        "iss",
        "aud",
        "exp",
        "iat",
        "auth_time",
        "nonce",
        "preferred_username",
        "name",
        "email",
    ] {
        assert!(claims.iter().any(|v| v == c), "claims_supported lacks {c}");
    }
}

#[tokio::test]
async fn the_issuer_follows_server_public_url() {
    let app = AppBuilder::new()
        .set("server.public.url", "https://auth.example.com")
        .spawn()
        .await;
    let doc: serde_json::Value = app
        .client
        .get(app.url("/.well-known/openid-configuration"))
        .header("Host", "evil.example.net")
        .header("X-Forwarded-Host", "evil.example.net")
        .header("X-Forwarded-Proto", "http")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["issuer"], "https://auth.example.com/authentication");
    assert_eq!(
        doc["jwks_uri"],
        "https://auth.example.com/authentication/jwks.json"
    );
}

#[tokio::test]
async fn jwks_publishes_rsa_signing_keys_with_kid_alg_and_use() {
    let app = spawn_app().await;
    let resp = app.client.get(app.url("/jwks.json")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let jwks: serde_json::Value = resp.json().await.unwrap();
    let key = &jwks["keys"][0];
    assert_eq!(key["kty"], "RSA");
    assert_eq!(key["alg"], "RS256");
    assert_eq!(key["use"], "sig");
    assert!(key["n"].as_str().unwrap().len() >= 342, "2048-bit modulus");
    assert_eq!(key["e"], "AQAB");
    assert!(key.get("d").is_none(), "no private parts in the JWKS");
    // RFC 7638 thumbprint of the public key
    use base64::Engine;
    use sha2::Digest;
    let canonical = format!(
        r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
        key["e"].as_str().unwrap(),
        key["n"].as_str().unwrap()
    );
    let thumb = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(canonical.as_bytes()));
    assert_eq!(key["kid"], thumb);
}

#[tokio::test]
async fn healthz_answers_when_the_database_does() {
    let app = spawn_app().await;
    let resp = app
        .client
        .get(format!("{}/healthz", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.unwrap(), "ok");
    app.state.store.close().await;
    let resp = app
        .client
        .get(format!("{}/healthz", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 503);
}

#[tokio::test]
async fn unknown_paths_are_404() {
    let app = spawn_app().await;
    let resp = app.client.get(app.url("/nope")).send().await.unwrap();
    assert_eq!(resp.status(), 404);
}

#[tokio::test]
async fn the_static_documents_keep_their_headers_answer_head_refuse_post_and_are_counted() {
    let app = spawn_app().await;
    for (path, content_type) in [
        ("/.well-known/openid-configuration", "application/json"),
        ("/jwks.json", "application/jwk-set+json"),
    ] {
        let resp = bare_client().get(app.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        assert_eq!(resp.headers()["content-type"], content_type, "{path}");
        assert_eq!(
            resp.headers()["cache-control"],
            "public, max-age=300",
            "{path}"
        );
        let body = resp.bytes().await.unwrap();
        let head = bare_client().head(app.url(path)).send().await.unwrap();
        assert_eq!(head.status(), 200, "{path}");
        assert_eq!(head.headers()["content-type"], content_type, "{path}");
        assert!(head.bytes().await.unwrap().is_empty(), "{path}");
        let again = bare_client().get(app.url(path)).send().await.unwrap();
        assert_eq!(again.bytes().await.unwrap(), body, "the same bytes");
        let post = bare_client().post(app.url(path)).send().await.unwrap();
        assert_eq!(post.status(), 405, "{path}");
    }
    // a near miss goes through the ordinary routes
    let resp = bare_client()
        .get(app.url("/jwks.json/extra"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    let metrics = bare_client()
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for route in [
        "/authentication/.well-known/openid-configuration",
        "/authentication/jwks.json",
    ] {
        for method in ["GET", "HEAD"] {
            assert!(
                metrics
                    .lines()
                    .any(|l| l.starts_with("authserver_http_requests_total")
                        && l.contains(&format!("route=\"{route}\""))
                        && l.contains(&format!("method=\"{method}\""))
                        && l.contains("status=\"200\"")),
                "{route} {method} counted:\n{metrics}"
            );
        }
    }
}
