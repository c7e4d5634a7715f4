//! Teamwork Cloud 2024x's endpoint names: the same discovery document, authorization
//! endpoint and token endpoint under the 2024x paths, so a client configured for either
//! lane works unchanged.
use base64::Engine;
use serde_json::Value;

use crate::helpers::*;

const DISCOVERY_ALIASES: [&str; 3] = [
    "/authentication/.well-known/oidc-configuration",
    "/authentication/.well-known/oauth2.0-configuration",
    "/.well-known/oauth2.0-configuration",
];

async fn get_json(url: &str) -> (reqwest::header::HeaderMap, Value) {
    let resp = bare_client().get(url).send().await.unwrap();
    assert_eq!(resp.status(), 200, "{url}");
    let headers = resp.headers().clone();
    (headers, resp.json().await.unwrap())
}

#[tokio::test]
async fn every_2024x_discovery_path_serves_the_same_document_with_the_same_issuer() {
    let app = spawn_app().await;
    let (_, canonical) = get_json(&app.url("/.well-known/openid-configuration")).await;
    assert_eq!(canonical["issuer"], app.issuer.as_str());
    for path in DISCOVERY_ALIASES {
        let (headers, doc) = get_json(&format!("{}{path}", app.address)).await;
        assert_eq!(headers["content-type"], "application/json", "{path}");
        assert_eq!(doc, canonical, "{path}");
    }
}

#[tokio::test]
async fn a_code_sign_in_through_the_2024x_authorize_and_token_paths_with_client_secret_basic() {
    let app = spawn_app().await;
    app.add_user("dave", "dave-password-1").await;
    let (verifier, challenge) = pkce_pair();
    let url = app.authorize_url(&challenge, &[]).replace(
        "/authentication/authorize?",
        "/authentication/oidc/authorize?",
    );
    assert!(url.contains("/oidc/authorize?"));
    let page = app.login_page(&url).await;
    let resp = app
        .submit_login(&page, "dave", "dave-password-1", false)
        .await;
    assert_eq!(resp.status(), 303);
    let loc = location(&resp);
    assert!(loc.starts_with(REDIRECT), "{loc}");
    assert_eq!(
        query_param(&loc, "iss").as_deref(),
        Some(app.issuer.as_str())
    );
    let code = query_param(&loc, "code").unwrap();

    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT}:{SECRET}"));
    let resp = bare_client()
        .post(app.url("/api/oidc/token"))
        .header("Authorization", format!("Basic {basic}"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let body: Value = resp.json().await.unwrap();
    let (_, claims) = jwt_parts(body["id_token"].as_str().unwrap());
    assert_eq!(claims["iss"], app.issuer.as_str());
    assert_eq!(claims["sub"], "dave");

    // and the refresh at the 2024x token path
    let resp = bare_client()
        .post(app.url("/api/oidc/token"))
        .header("Authorization", format!("Basic {basic}"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", body["refresh_token"].as_str().unwrap()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn the_2024x_paths_answer_errors_as_the_legacy_ones_do() {
    let app = spawn_app().await;
    let legacy = bare_client()
        .post(app.url("/api/token"))
        .form(&[("grant_type", "authorization_code"), ("client_id", CLIENT)])
        .send()
        .await
        .unwrap();
    let alias = bare_client()
        .post(app.url("/api/oidc/token"))
        .form(&[("grant_type", "authorization_code"), ("client_id", CLIENT)])
        .send()
        .await
        .unwrap();
    assert_eq!(legacy.status(), alias.status());
    assert_eq!(
        legacy.headers().get("www-authenticate"),
        alias.headers().get("www-authenticate")
    );
    assert_eq!(
        legacy.json::<Value>().await.unwrap(),
        alias.json::<Value>().await.unwrap()
    );

    let unknown = "/authentication/oidc/authorize?response_type=code&client_id=nobody&redirect_uri=http%3A%2F%2Flocalhost%3A8080%2Fcallback";
    let resp = bare_client()
        .get(format!("{}{unknown}", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert!(resp.text().await.unwrap().contains("<html"));
}

#[tokio::test]
async fn requests_to_the_2024x_paths_are_counted_under_the_endpoint_they_serve() {
    let app = spawn_app().await;
    for path in DISCOVERY_ALIASES {
        get_json(&format!("{}{path}", app.address)).await;
    }
    let metrics = bare_client()
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !metrics.contains("oidc-configuration") && !metrics.contains("oauth2.0-configuration"),
        "aliases have no label of their own"
    );
    assert!(metrics.contains("route=\"/authentication/.well-known/openid-configuration\""));
}
