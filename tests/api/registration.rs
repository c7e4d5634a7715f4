//! Dynamic client registration (RFC 7591) and its management (RFC 7592), in the three
//! `authentication.registration.mode`s: off, token (initial access tokens made with the
//! CLI) and open (rate-limited per address).
use serde_json::{json, Value};

use crate::helpers::lifecycle_helpers::{basic, oauth_error, post_token};
use crate::helpers::{bare_client, AppBuilder, TestApp};

const MODE: &str = "authentication.registration.mode";
const CB: &str = "https://rp.example.org/cb";

async fn register_with(app: &TestApp, bearer: Option<&str>, body: &Value) -> reqwest::Response {
    let mut req = bare_client().post(app.url("/api/oidc/register")).json(body);
    if let Some(t) = bearer {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap()
}

async fn json_of(resp: reqwest::Response, status: u16) -> Value {
    let got = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    assert_eq!(got, status, "{text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

fn cli_field(out: &std::process::Output, name: &str) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}\t")))
        .unwrap_or_else(|| panic!("no {name} in {text}"))
        .to_string()
}

async fn discovery(app: &TestApp) -> Value {
    bare_client()
        .get(app.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn web_client() -> Value {
    json!({"client_name": "Photo Gallery", "redirect_uris": [CB]})
}

#[tokio::test]
async fn registration_is_off_by_default_404_and_absent_from_discovery() {
    let app = AppBuilder::new().spawn().await;
    let doc = discovery(&app).await;
    assert!(doc.get("registration_endpoint").is_none(), "{doc}");
    let prompts = doc["prompt_values_supported"].as_array().unwrap();
    assert!(prompts.contains(&json!("consent")), "{doc}");
    let resp = register_with(&app, None, &web_client()).await;
    assert_eq!(resp.status(), 404);
    let read = bare_client()
        .get(app.url("/api/oidc/register/anything"))
        .bearer_auth("arat_x")
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 404);
}

#[tokio::test]
async fn token_mode_refuses_missing_bad_expired_and_used_up_initial_access_tokens() {
    let app = AppBuilder::new().set(MODE, "token").spawn().await;
    let doc = discovery(&app).await;
    assert_eq!(
        doc["registration_endpoint"],
        format!("{}/api/oidc/register", app.issuer)
    );
    let once = cli_field(
        &app.cli(
            &[
                "client",
                "registration-token",
                "create",
                "--uses",
                "1",
                "--description",
                "gallery team",
            ],
            None,
        ),
        "token",
    );
    let short = cli_field(
        &app.cli(
            &["client", "registration-token", "create", "--expires", "10m"],
            None,
        ),
        "token",
    );
    assert!(once.starts_with("aiat_"));
    // only hashes are stored
    let stored = app
        .sql_i64("SELECT COUNT(*) FROM registration_tokens")
        .await;
    assert_eq!(stored, 2);
    for (bearer, what) in [(None, "none"), (Some("aiat_wrong"), "wrong")] {
        let resp = register_with(&app, bearer, &web_client()).await;
        assert_eq!(resp.status(), 401, "{what}");
        assert!(resp.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer"));
    }
    // refused metadata does not spend the one use
    let bad = register_with(
        &app,
        Some(&once),
        &json!({"redirect_uris": ["http://rp.example.org/cb"]}),
    )
    .await;
    assert_eq!(json_of(bad, 400).await["error"], "invalid_redirect_uri");
    let ok = json_of(register_with(&app, Some(&once), &web_client()).await, 201).await;
    assert!(ok["client_id"].is_string(), "{ok}");
    let used_up = register_with(&app, Some(&once), &web_client()).await;
    assert_eq!(used_up.status(), 401);
    // the expiring token works until it expires
    json_of(register_with(&app, Some(&short), &web_client()).await, 201).await;
    // the CLI, another process, dated it by the wall clock, which has moved on from the
    // server's test clock by the time the CLI ran: one second past the stored expiry
    let expires = app
        .sql_i64("SELECT MAX(expires_at) FROM registration_tokens")
        .await;
    app.clock.set(expires + 1);
    let expired = register_with(&app, Some(&short), &web_client()).await;
    assert_eq!(expired.status(), 401);
    // list shows the tokens (never the token), revoke deletes one
    let list = app.cli(&["client", "registration-token", "list"], None);
    let text = String::from_utf8_lossy(&list.stdout).to_string();
    assert!(text.contains("gallery team"), "{text}");
    assert!(!text.contains(&once), "{text}");
    let id = text
        .lines()
        .next()
        .unwrap()
        .split('\t')
        .next()
        .unwrap()
        .to_string();
    let revoked = app.cli(&["client", "registration-token", "revoke", &id], None);
    assert!(
        revoked.status.success(),
        "revoke {id} from the list:\n{text}\n{}",
        String::from_utf8_lossy(&revoked.stderr)
    );
    assert_eq!(
        app.sql_i64("SELECT COUNT(*) FROM registration_tokens")
            .await,
        1
    );
}

#[tokio::test]
async fn open_mode_refuses_each_class_of_bad_metadata() {
    let app = AppBuilder::new().set(MODE, "open").spawn().await;
    let cases = [
        (
            json!({"redirect_uris": ["http://rp.example.org/cb"]}),
            "invalid_redirect_uri",
        ),
        (
            json!({"redirect_uris": ["https://rp.example.org/cb#frag"]}),
            "invalid_redirect_uri",
        ),
        (
            json!({"redirect_uris": ["javascript:alert(1)"]}),
            "invalid_redirect_uri",
        ),
        (
            json!({"redirect_uris": "https://rp.example.org/cb"}),
            "invalid_redirect_uri",
        ),
        (
            json!({"redirect_uris": [CB], "token_endpoint_auth_method": "client_secret_jwt"}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": [CB], "grant_types": ["client_credentials"], "response_types": ["code"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": [CB], "response_types": ["id_token"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": [CB], "token_endpoint_auth_method": "private_key_jwt",
                "jwks": {"keys": [{"kty": "EC"}]}, "jwks_uri": "https://rp.example.org/jwks"}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": [CB], "id_token_signed_response_alg": "HS256"}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": [CB], "scope": "openid admin"}),
            "invalid_client_metadata",
        ),
    ];
    for (body, code) in cases {
        let resp = register_with(&app, None, &body).await;
        let err = json_of(resp, 400).await;
        assert_eq!(err["error"], code, "{body}: {err}");
        assert!(err["error_description"].is_string(), "{err}");
    }
    // not JSON
    let resp = bare_client()
        .post(app.url("/api/oidc/register"))
        .header("Content-Type", "application/json")
        .body("redirect_uris=x")
        .send()
        .await
        .unwrap();
    assert_eq!(json_of(resp, 400).await["error"], "invalid_client_metadata");
    assert_eq!(app.sql_i64("SELECT COUNT(*) FROM oauth_clients").await, 0);
    // native apps: a private-use scheme and a loopback http URI are fine
    let native = json!({"client_name": "Desktop", "token_endpoint_auth_method": "none",
                        "redirect_uris": ["org.example.desktop:/cb", "http://127.0.0.1/cb"]});
    let ok = json_of(register_with(&app, None, &native).await, 201).await;
    assert!(ok.get("client_secret").is_none(), "{ok}");
    // and it can sign in at its private-use redirect URI (PKCE: a public client)
    let (_, challenge) = crate::helpers::pkce_pair();
    let mut url = url::Url::parse(&app.url("/authorize")).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", ok["client_id"].as_str().unwrap())
        .append_pair("redirect_uri", "org.example.desktop:/cb")
        .append_pair("scope", "openid")
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    let page = bare_client().get(url.as_str()).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("name=\"rid\""));
}

#[tokio::test]
async fn open_mode_registers_a_third_party_client_that_manages_itself_with_its_access_token() {
    let app = AppBuilder::new().set(MODE, "open").spawn().await;
    let body = json!({
        "client_name": "Photo Gallery",
        "redirect_uris": [CB],
        "first_party": true,
        "logo_uri": "https://rp.example.org/logo.png",
    });
    let reg = json_of(register_with(&app, None, &body).await, 201).await;
    let id = reg["client_id"].as_str().unwrap().to_string();
    let secret = reg["client_secret"].as_str().unwrap().to_string();
    let rat = reg["registration_access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let uri = reg["registration_client_uri"].as_str().unwrap().to_string();
    assert_eq!(uri, format!("{}/api/oidc/register/{id}", app.issuer));
    assert_eq!(reg["token_endpoint_auth_method"], "client_secret_basic");
    assert_eq!(
        reg["grant_types"],
        json!(["authorization_code", "refresh_token"])
    );
    assert_eq!(reg["client_secret_expires_at"], 0);
    // never first-party, and only hashes are stored
    let stored = authserver::domain::clients::find(&app.state.store, &id)
        .await
        .unwrap()
        .unwrap();
    assert!(!stored.metadata.first_party);
    assert!(stored.dynamic);
    let plain = app
        .sql_i64(&format!(
            "SELECT COUNT(*) FROM oauth_clients WHERE metadata LIKE '%{rat}%'"
        ))
        .await;
    assert_eq!(plain, 0);

    // read
    let read = |token: String| {
        let uri = uri.clone();
        async move {
            bare_client()
                .get(&uri)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
        }
    };
    let got = json_of(read(rat.clone()).await, 200).await;
    assert_eq!(got["client_name"], "Photo Gallery");
    assert!(got.get("client_secret").is_none());
    assert_eq!(read("arat_wrong".into()).await.status(), 401);
    // another client's token does not manage this one
    let other = json_of(register_with(&app, None, &web_client()).await, 201).await;
    let other_rat = other["registration_access_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(read(other_rat).await.status(), 401);

    // update (a full replacement): a new name and scope; bad metadata refused
    let update = |token: String, body: Value| {
        let uri = uri.clone();
        async move {
            bare_client()
                .put(&uri)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let updated = json_of(
        update(
            rat.clone(),
            json!({"client_id": id, "client_name": "Gallery 2", "redirect_uris": [CB], "scope": "openid profile"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(updated["client_name"], "Gallery 2");
    assert_eq!(updated["scope"], "openid profile");
    let bad = update(
        rat.clone(),
        json!({"redirect_uris": ["http://evil.example/cb"]}),
    )
    .await;
    assert_eq!(json_of(bad, 400).await["error"], "invalid_redirect_uri");
    let wrong = update("arat_wrong".into(), json!({"redirect_uris": [CB]})).await;
    assert_eq!(wrong.status(), 401);
    let other_id = update(
        rat.clone(),
        json!({"client_id": "someone-else", "redirect_uris": [CB]}),
    )
    .await;
    assert_eq!(
        json_of(other_id, 400).await["error"],
        "invalid_client_metadata"
    );

    // delete: wrong token refused; then the client cannot get tokens and the token is dead
    let delete = |token: String| {
        let uri = uri.clone();
        async move {
            bare_client()
                .delete(&uri)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(delete("arat_wrong".into()).await.status(), 401);
    assert_eq!(delete(rat.clone()).await.status(), 204);
    assert_eq!(read(rat.clone()).await.status(), 401);
    let refused = post_token(
        &app,
        &[("Authorization", &basic(&id, &secret))],
        &[("grant_type", "refresh_token"), ("refresh_token", "x")],
    )
    .await;
    oauth_error(refused, 401, "invalid_client").await;
}

#[tokio::test]
async fn a_deleted_service_client_loses_its_tokens() {
    let app = AppBuilder::new().set(MODE, "open").spawn().await;
    let reg = json_of(
        register_with(
            &app,
            None,
            &json!({"client_name": "Reports", "grant_types": ["client_credentials"], "scope": "profile"}),
        )
        .await,
        201,
    )
    .await;
    let id = reg["client_id"].as_str().unwrap().to_string();
    let secret = reg["client_secret"].as_str().unwrap().to_string();
    let rat = reg["registration_access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let auth = basic(&id, &secret);
    let headers = [("Authorization", auth.as_str())];
    let cc = || post_token(&app, &headers, &[("grant_type", "client_credentials")]);
    let tokens = json_of(cc().await, 200).await;
    let access = tokens["access_token"].as_str().unwrap().to_string();
    assert_eq!(app.validate_status("Bearer", &access).await, 200);
    let deleted = bare_client()
        .delete(reg["registration_client_uri"].as_str().unwrap())
        .bearer_auth(&rat)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    oauth_error(cc().await, 401, "invalid_client").await;
    assert_eq!(app.validate_status("Bearer", &access).await, 401);
}

#[tokio::test]
async fn open_mode_limits_registrations_per_address_and_body_size() {
    let app = AppBuilder::new().set(MODE, "open").spawn().await;
    let limit = authserver::domain::clients::registration::RATE_LIMIT;
    for _ in 0..limit {
        json_of(register_with(&app, None, &web_client()).await, 201).await;
    }
    let refused = register_with(&app, None, &web_client()).await;
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().get("retry-after").is_some());
    app.clock
        .advance(authserver::domain::clients::registration::RATE_WINDOW);
    let big = json!({"client_name": "x".repeat(20_000), "redirect_uris": [CB]});
    let resp = register_with(&app, None, &big).await;
    assert_eq!(json_of(resp, 400).await["error"], "invalid_client_metadata");
    json_of(register_with(&app, None, &web_client()).await, 201).await;
}

#[tokio::test]
async fn housekeeping_purges_expired_initial_access_tokens_and_rotated_out_secrets() {
    let app = AppBuilder::new().set(MODE, "token").spawn().await;
    let now = app.clock_now();
    let store = &app.state.store;
    use authserver::domain::clients::registration::create_initial_token;
    create_initial_token(store, "short", Some(now + 60), None, now)
        .await
        .unwrap();
    create_initial_token(store, "forever", None, Some(3), now)
        .await
        .unwrap();
    let (id, _) = crate::registered_clients::register(
        &app,
        "reports",
        json!({"client_name": "Reports", "grant_types": ["client_credentials"]}),
    )
    .await;
    authserver::domain::clients::rotate_secret(store, &id, 60, now)
        .await
        .unwrap();
    let secrets = "SELECT COUNT(*) FROM client_secrets";
    let tokens = "SELECT COUNT(*) FROM registration_tokens";
    assert_eq!(app.sql_i64(secrets).await, 2);
    authserver::housekeeping::purge_once(&app.state)
        .await
        .unwrap();
    assert_eq!(app.sql_i64(secrets).await, 2);
    assert_eq!(app.sql_i64(tokens).await, 2);
    app.clock.advance(61);
    authserver::housekeeping::purge_once(&app.state)
        .await
        .unwrap();
    assert_eq!(app.sql_i64(secrets).await, 1, "the rotated-out secret goes");
    assert_eq!(app.sql_i64(tokens).await, 1, "the expired token goes");
}
