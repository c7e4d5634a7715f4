//! Registered clients (issue 15): the registry through the CLI and the management API,
//! each client authenticating with its own method, their sign-in with their own redirect
//! URIs, standard client_credentials, and removal revoking their tokens.
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::lifecycle_helpers::{basic, oauth_error, post_token};
use crate::helpers::pat_helpers::{add_user_as, issue_pat, with_bearer};
use crate::helpers::{
    jwt_parts, location, pkce_pair, query_param, spawn_app, AppBuilder, TestApp, SECRET,
};

const REPORTS_CB: &str = "https://reports.example.com/cb";

/// Registers a client straight through the domain (like the CLI does); returns its
/// (client_id, secret).
async fn register(app: &TestApp, id: &str, metadata: Value) -> (String, Option<String>) {
    let draft = serde_json::from_value(metadata).unwrap();
    let (client, secret) = authserver::domain::clients::create(
        &app.state.store,
        &app.state.settings,
        Some(id),
        draft,
        false,
        app.clock_now(),
    )
    .await
    .unwrap();
    (client.client_id, secret.map(|s| s.expose().to_string()))
}

/// `client_credentials` as a registered client with client_secret_basic.
async fn service_token(app: &TestApp, id: &str, secret: &str) -> reqwest::Response {
    post_token(
        app,
        &[("Authorization", &basic(id, secret))],
        &[("grant_type", "client_credentials")],
    )
    .await
}

async fn json_ok(resp: reqwest::Response, status: u16) -> Value {
    let got = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    assert_eq!(got, status, "{text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

fn service_metadata(method: &str) -> Value {
    json!({
        "client_name": "Nightly reports",
        "grant_types": ["client_credentials"],
        "token_endpoint_auth_method": method,
        "scope": "profile email",
    })
}

fn stdout(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn field(text: &str, name: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}\t")))
        .unwrap_or_else(|| panic!("no {name} in {text:?}"))
        .to_string()
}

#[tokio::test]
async fn the_cli_registers_a_client_shows_its_secret_once_rotates_with_overlap_and_removes_it() {
    let app = spawn_app().await;
    let added = stdout(&app.cli(
        &[
            "client",
            "add",
            "--client-id",
            "reports",
            "--name",
            "Nightly reports",
            "--grant-type",
            "client_credentials",
            "--scope",
            "profile",
            "--access-token-lifetime",
            "7200",
        ],
        None,
    ));
    assert_eq!(field(&added, "client_id"), "reports");
    let first = field(&added, "client_secret");
    assert!(first.starts_with("acs_") && first.len() > 40, "{first}");
    // the database holds only its hash
    let stored = app
        .sql_strings("SELECT client_id FROM client_secrets")
        .await;
    assert_eq!(stored, ["reports"]);

    let listed = stdout(&app.cli(&["client", "list"], None));
    assert!(
        listed.contains("reports\tclient_secret_basic\tclient_credentials"),
        "{listed}"
    );
    assert!(!listed.contains(&first));
    let shown = stdout(&app.cli(&["client", "show", "reports"], None));
    let shown: Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(shown["client_name"], "Nightly reports");
    assert!(!shown.to_string().contains(&first));

    // a properties-file client ID cannot be taken; bad metadata names its field
    let taken = app.cli(
        &[
            "client",
            "add",
            "--client-id",
            "MAGICDRAW",
            "--name",
            "x",
            "--grant-type",
            "client_credentials",
        ],
        None,
    );
    assert_eq!(taken.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&taken.stderr).contains("already exists"));
    let bad = app.cli(
        &[
            "client",
            "add",
            "--name",
            "x",
            "--redirect-uri",
            "http://evil.example.com/cb",
        ],
        None,
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("redirect_uris"));

    assert_eq!(service_token(&app, "reports", &first).await.status(), 200);
    let rotated = stdout(&app.cli(
        &[
            "client",
            "rotate-secret",
            "reports",
            "--overlap-seconds",
            "600",
        ],
        None,
    ));
    let second = field(&rotated, "client_secret");
    assert_ne!(first, second);
    // during the overlap both work
    assert_eq!(service_token(&app, "reports", &first).await.status(), 200);
    assert_eq!(service_token(&app, "reports", &second).await.status(), 200);
    // (the CLI reads the wall clock, the server the test clock, which started a few
    // seconds earlier)
    // a token minted now (before the test clock runs ahead of the CLI's wall clock)
    let token = json_ok(service_token(&app, "reports", &second).await, 200).await;
    let access = token["access_token"].as_str().unwrap().to_string();
    assert_eq!(token["expires_in"], 7200);
    app.clock.advance(900);
    oauth_error(
        service_token(&app, "reports", &first).await,
        401,
        "invalid_client",
    )
    .await;
    assert_eq!(service_token(&app, "reports", &second).await.status(), 200);
    assert_eq!(app.validate_status("Bearer", &access).await, 200);

    let removed = stdout(&app.cli(&["client", "remove", "reports"], None));
    assert!(removed.contains("removed reports"));
    app.state.sync_revocations().await;
    assert_eq!(app.validate_status("Bearer", &access).await, 401);
    oauth_error(
        service_token(&app, "reports", &second).await,
        401,
        "invalid_client",
    )
    .await;
    assert!(!stdout(&app.cli(&["client", "list"], None)).contains("reports"));
    assert_eq!(
        app.cli(&["client", "show", "reports"], None).status.code(),
        Some(1)
    );
}

#[tokio::test]
async fn the_management_api_creates_lists_updates_rotates_and_deletes_clients() {
    let app = spawn_app().await;
    let root = add_user_as(&app, "root", "root-password", true).await;
    let (_, pat) = issue_pat(&app, &root, "management", None).await;
    let call = |method: Method, path: &str| with_bearer(&app, method, path, &pat);

    let created = json_ok(
        call(Method::POST, "/api/clients")
            .json(&json!({
                "client_id": "reports",
                "client_name": "Nightly reports",
                "grant_types": ["client_credentials"],
                "token_endpoint_auth_method": "client_secret_post",
                "scope": "profile",
            }))
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    assert_eq!(created["client_id"], "reports");
    let first = created["client_secret"].as_str().unwrap().to_string();

    let post_cc = |secret: String| {
        let app = &app;
        async move {
            post_token(
                app,
                &[],
                &[
                    ("grant_type", "client_credentials"),
                    ("client_id", "reports"),
                    ("client_secret", &secret),
                ],
            )
            .await
        }
    };
    assert_eq!(post_cc(first.clone()).await.status(), 200);

    let list = json_ok(call(Method::GET, "/api/clients").send().await.unwrap(), 200).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert!(!list.to_string().contains(&first));
    assert!(list[0].get("client_secret").is_none());

    let patched = json_ok(
        call(Method::PATCH, "/api/clients/reports")
            .json(&json!({"client_name": "Reports"}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(patched["client_name"], "Reports");
    assert_eq!(patched["token_endpoint_auth_method"], "client_secret_post");
    let one = json_ok(
        call(Method::GET, "/api/clients/reports")
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(one["client_name"], "Reports");

    // bad metadata: 400 naming the field; taken ID: 409; unknown: 404
    let bad = json_ok(
        call(Method::POST, "/api/clients")
            .json(&json!({"client_name": "x", "redirect_uris": ["http://evil.example.com/cb"]}))
            .send()
            .await
            .unwrap(),
        400,
    )
    .await;
    assert_eq!(bad["field"], "redirect_uris", "{bad}");
    let taken = call(Method::POST, "/api/clients")
        .json(&json!({"client_id": "reports", "client_name": "x", "grant_types": ["client_credentials"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(taken.status(), 409);
    let missing = call(Method::GET, "/api/clients/nope").send().await.unwrap();
    assert_eq!(missing.status(), 404);

    let rotated = json_ok(
        call(Method::POST, "/api/clients/reports/secrets")
            .json(&json!({"overlap_seconds": 60}))
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    let second = rotated["client_secret"].as_str().unwrap().to_string();
    assert_eq!(post_cc(first.clone()).await.status(), 200);
    assert_eq!(post_cc(second.clone()).await.status(), 200);
    app.clock.advance(61);
    assert_eq!(post_cc(first.clone()).await.status(), 401);
    let token = json_ok(post_cc(second.clone()).await, 200).await;
    let access = token["access_token"].as_str().unwrap().to_string();

    let deleted = call(Method::DELETE, "/api/clients/reports")
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    assert_eq!(app.validate_status("Bearer", &access).await, 401);
    assert_eq!(post_cc(second).await.status(), 401);
    assert_eq!(
        call(Method::DELETE, "/api/clients/reports")
            .send()
            .await
            .unwrap()
            .status(),
        404
    );

    // a data PAT, or a management PAT of a non-administrator, is refused
    let user = add_user_as(&app, "alice", "alice-password", false).await;
    let (_, data) = issue_pat(&app, &root, "data", None).await;
    let (_, alices) = issue_pat(&app, &user, "data", None).await;
    for token in [&data, &alices] {
        let r = with_bearer(&app, Method::GET, "/api/clients", token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);
    }
    let anonymous = crate::helpers::bare_client()
        .get(app.url("/api/clients"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}

#[tokio::test]
async fn a_registered_client_authenticates_only_with_its_own_secret_and_method() {
    let app = spawn_app().await;
    let (id, secret) = register(&app, "reports", service_metadata("client_secret_basic")).await;
    let secret = secret.unwrap();
    let token = json_ok(service_token(&app, &id, &secret).await, 200).await;
    assert!(token.get("refresh_token").is_none() && token.get("id_token").is_none());

    // the shared secret never authenticates a registered client, in any form
    oauth_error(
        service_token(&app, &id, SECRET).await,
        401,
        "invalid_client",
    )
    .await;
    let x_auth = post_token(
        &app,
        &[("X-Auth-Secret", SECRET)],
        &[("grant_type", "client_credentials"), ("client_id", &id)],
    )
    .await;
    oauth_error(x_auth, 401, "invalid_client").await;
    // its own secret, but by another method than its own
    let posted = post_token(
        &app,
        &[],
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &secret),
        ],
    )
    .await;
    oauth_error(posted, 401, "invalid_client").await;
    oauth_error(
        service_token(&app, &id, "acs_wrong").await,
        401,
        "invalid_client",
    )
    .await;
    // …and the secret is the client's own: it does not open a properties-file client
    let other = post_token(
        &app,
        &[("Authorization", &basic("webApplicationPlatform", &secret))],
        &[("grant_type", "refresh_token"), ("refresh_token", "x")],
    )
    .await;
    oauth_error(other, 401, "invalid_client").await;

    // introspection authenticated with the registered client's secret
    let access = token["access_token"].as_str().unwrap();
    let intro = crate::helpers::bare_client()
        .post(app.url("/api/introspect"))
        .header("Authorization", basic(&id, &secret))
        .form(&[("token", access)])
        .send()
        .await
        .unwrap();
    let intro = json_ok(intro, 200).await;
    assert_eq!(intro["active"], true);
}

#[tokio::test]
async fn standard_client_credentials_makes_the_client_its_own_subject() {
    let app = spawn_app().await;
    let (id, secret) = register(&app, "reports", service_metadata("client_secret_post")).await;
    let secret = secret.unwrap();
    let form = |scope: &'static str| {
        vec![
            ("grant_type", "client_credentials"),
            ("client_id", "reports"),
            ("client_secret", secret.as_str()),
            ("scope", scope),
        ]
    };
    let token = json_ok(post_token(&app, &[], &form("profile")).await, 200).await;
    assert_eq!(token["scope"], "profile");
    assert!(token.get("refresh_token").is_none() && token.get("id_token").is_none());
    let access = token["access_token"].as_str().unwrap();
    let (_, claims) = jwt_parts(access);
    assert_eq!(claims["sub"], id);
    assert_eq!(claims["client_id"], id);
    // a scope the administrator did not allow
    oauth_error(
        post_token(&app, &[], &form("openid offline_access")).await,
        400,
        "invalid_scope",
    )
    .await;

    let intro = crate::helpers::bare_client()
        .post(app.url("/api/introspect"))
        .header("X-Auth-Secret", SECRET)
        .form(&[("token", access)])
        .send()
        .await
        .unwrap();
    let intro = json_ok(intro, 200).await;
    assert_eq!(intro["active"], true);
    assert_eq!(intro["sub"], id);
    assert_eq!(intro["client_id"], id);
    assert!(intro.get("username").is_none(), "{intro}");
    assert_eq!(app.validate_status("Bearer", access).await, 200);
    let userinfo = crate::helpers::bare_client()
        .get(app.url("/api/userinfo"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(userinfo.status(), 403);

    // a client without the grant cannot use it; nor the Teamwork Cloud user variant
    let (_, web_secret) = register(
        &app,
        "web",
        json!({"client_name": "Web", "redirect_uris": [REPORTS_CB]}),
    )
    .await;
    app.add_user("alice", "alice-password").await;
    let refused = service_token(&app, "web", &web_secret.unwrap()).await;
    oauth_error(refused, 400, "unauthorized_client").await;
}

/// Signs in through `/authorize` for a registered client; returns the code.
async fn sign_in_for(app: &TestApp, client_id: &str, challenge: Option<&str>) -> String {
    app.add_user("alice", "alice-password").await;
    let mut url = url::Url::parse(&app.url("/authorize")).unwrap();
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("response_type", "code")
            .append_pair("client_id", client_id)
            .append_pair("redirect_uri", REPORTS_CB)
            .append_pair("scope", "openid profile offline_access")
            .append_pair("state", "s")
            .append_pair("nonce", "n");
        if let Some(c) = challenge {
            q.append_pair("code_challenge", c)
                .append_pair("code_challenge_method", "S256");
        }
    }
    let page = app.login_page(url.as_str()).await;
    let resp = app
        .submit_login(&page, "alice", "alice-password", false)
        .await;
    assert_eq!(resp.status(), 303);
    let loc = location(&resp);
    assert!(loc.starts_with(REPORTS_CB), "{loc}");
    query_param(&loc, "code").unwrap()
}

#[tokio::test]
async fn a_registered_client_signs_in_with_its_own_redirect_uris_and_removal_revokes_its_tokens() {
    let app = spawn_app().await;
    let (id, secret) = register(
        &app,
        "reports",
        json!({"client_name": "Reports", "redirect_uris": [REPORTS_CB], "first_party": true}),
    )
    .await;
    let secret = secret.unwrap();
    // the shared whitelist is not this client's
    let (_, challenge) = pkce_pair();
    let foreign = app
        .client
        .get(
            app.authorize_url(&challenge, &[])
                .replace("webApplicationPlatform", "reports"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 400);
    assert!(foreign
        .text()
        .await
        .unwrap()
        .contains("registered redirect URIs"));
    // a prefix of its own URI is not its URI unless it opted in
    let longer = app
        .client
        .get(
            app.authorize_url(&challenge, &[])
                .replace("webApplicationPlatform", "reports")
                .replace(
                    &urlencode(crate::helpers::REDIRECT),
                    &urlencode(&format!("{REPORTS_CB}/more")),
                ),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(longer.status(), 400);

    let (verifier, challenge) = pkce_pair();
    let code = sign_in_for(&app, &id, Some(&challenge)).await;
    let exchange = |auth: String| {
        let (app, code, verifier) = (&app, code.clone(), verifier.clone());
        async move {
            post_token(
                app,
                &[("Authorization", &auth)],
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", REPORTS_CB),
                    ("code_verifier", &verifier),
                ],
            )
            .await
        }
    };
    // the shared secret does not redeem its code
    oauth_error(exchange(basic(&id, SECRET)).await, 401, "invalid_client").await;
    let tokens = json_ok(exchange(basic(&id, &secret)).await, 200).await;
    let (_, id_claims) = jwt_parts(tokens["id_token"].as_str().unwrap());
    assert_eq!(id_claims["aud"], id);
    let refresh = tokens["refresh_token"].as_str().unwrap().to_string();
    let refreshed = post_token(
        &app,
        &[("Authorization", &basic(&id, &secret))],
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    let refreshed = json_ok(refreshed, 200).await;
    let access = refreshed["access_token"].as_str().unwrap().to_string();
    let refresh = refreshed["refresh_token"].as_str().unwrap().to_string();
    assert_eq!(app.validate_status("Bearer", &access).await, 200);

    assert!(authserver::domain::clients::remove(
        &app.state.store,
        &app.state.settings,
        &id,
        app.clock_now()
    )
    .await
    .unwrap());
    app.state.sync_revocations().await;
    assert_eq!(app.validate_status("Bearer", &access).await, 401);
    let families = app
        .sql_i64("SELECT COUNT(*) FROM refresh_families WHERE client_id = 'reports' AND revoked_at IS NULL")
        .await;
    assert_eq!(families, 0);
    // registered again under the same ID: the old refresh token stays dead
    let (_, secret2) = register(
        &app,
        "reports",
        json!({"client_name": "Reports", "redirect_uris": [REPORTS_CB]}),
    )
    .await;
    let again = post_token(
        &app,
        &[("Authorization", &basic(&id, &secret2.unwrap()))],
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    oauth_error(again, 400, "invalid_grant").await;
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn a_public_client_needs_pkce_and_no_secret() {
    let app = spawn_app().await;
    let (id, secret) = register(
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

#[tokio::test]
async fn an_rs256_only_client_gets_rs256_id_tokens_while_the_server_signs_es256() {
    let app = AppBuilder::new()
        .generated_keys()
        .set("authentication.signing.algorithm", "ES256")
        .spawn()
        .await;
    let (id, secret) = register(
        &app,
        "legacy-rp",
        json!({"client_name": "Legacy", "redirect_uris": [REPORTS_CB], "id_token_signed_response_alg": "RS256"}),
    )
    .await;
    let (verifier, challenge) = pkce_pair();
    let code = sign_in_for(&app, &id, Some(&challenge)).await;
    let tokens = post_token(
        &app,
        &[("Authorization", &basic(&id, &secret.unwrap()))],
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REPORTS_CB),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    let tokens = json_ok(tokens, 200).await;
    let (id_header, _) = jwt_parts(tokens["id_token"].as_str().unwrap());
    let (access_header, _) = jwt_parts(tokens["access_token"].as_str().unwrap());
    assert_eq!(id_header["alg"], "RS256");
    assert_eq!(access_header["alg"], "ES256");
    // the ID token verifies with the published RS256 key
    let kid = id_header["kid"].as_str().unwrap();
    assert!(app.jwks_kids().await.iter().any(|k| k == kid));
    assert_eq!(
        app.validate_status("Bearer", tokens["id_token"].as_str().unwrap())
            .await,
        200
    );
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
    let (id, secret) = register(&app, "signer", metadata).await;
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
