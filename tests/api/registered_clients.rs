//! Registered clients (issue 15): the registry through the CLI and the management API,
//! each client authenticating with its own method, their sign-in with their own redirect
//! URIs, standard client_credentials, and removal revoking their tokens.
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::lifecycle_helpers::{basic, oauth_error, post_token};
use crate::helpers::pat_helpers::{
    add_admin_with_management_pat, add_user_as, issue_pat, with_bearer,
};
use crate::helpers::{jwt_parts, location, pkce_pair, query_param, spawn_app, TestApp, SECRET};

pub const REPORTS_CB: &str = "https://reports.example.com/cb";

/// Registers a client straight through the domain (like the CLI does); returns its
/// (client_id, secret).
pub async fn register(app: &TestApp, id: &str, metadata: Value) -> (String, Option<String>) {
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

pub async fn json_ok(resp: reqwest::Response, status: u16) -> Value {
    let got = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    assert_eq!(got, status, "{text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

pub fn service_metadata(method: &str) -> Value {
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
    let (root, pat) = add_admin_with_management_pat(&app, "root", "root-password").await;
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
    // and revocation, with the client's own secret only
    let revoke = |auth: String| {
        let app = &app;
        let access = access.to_string();
        async move {
            crate::helpers::bare_client()
                .post(app.url("/api/revoke"))
                .header("Authorization", auth)
                .form(&[("token", access)])
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(revoke(basic(&id, SECRET)).await.status(), 401);
    assert_eq!(app.validate_status("Bearer", access).await, 200);
    assert_eq!(revoke(basic(&id, &secret)).await.status(), 200);
    assert_eq!(app.validate_status("Bearer", access).await, 401);
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
pub async fn sign_in_for(app: &TestApp, client_id: &str, challenge: Option<&str>) -> String {
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
    let mut resp = app
        .submit_login(&page, "alice", "alice-password", false)
        .await;
    if resp.status() == 200 {
        // a third-party client: allow it on the consent page
        let consent = resp.text().await.unwrap();
        let field = |name: &str| crate::helpers::hidden_field(&consent, name).unwrap();
        resp = app
            .client
            .post(app.url("/consent"))
            .form(&[
                ("rid", field("rid")),
                ("csrf", field("csrf")),
                ("decision", "allow".to_string()),
            ])
            .send()
            .await
            .unwrap();
    }
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
