//! Apache's mod_auth_openidc, a relying party nobody here wrote, against the real server
//! (issue 15): a browser asks Apache for a protected page, signs in on the server's login
//! page, comes back through Apache's redirect URI and sees the page with the user's claims;
//! Apache refreshes its tokens and signs out through the server's end-session endpoint.
//! As a properties-file client (the shared secret), as a registered client with
//! `private_key_jwt`, and as a registered `client_secret_basic` client with the user in
//! headless Chromium (`tests/browser/rp_sign_in.mjs`); a wrong secret opens no session.
//! The other walks use a reqwest "browser" that follows each redirect by hand.
//!
//! Skipped without apache2 and mod_auth_openidc (and, for the Chromium walk, chromium and
//! node_modules) on a developer's machine, a failure in CI (see `apache.rs`, `browser.rs`).
use serde_json::{json, Value};

use crate::apache::{
    apache_available, free_port, Apache, Browser, RpAuth, RpConfig, ENV_PATH, LOGGED_OUT_PATH,
    REDIRECT_PATH,
};
use crate::browser::{browser_available, run_node_script};
use crate::helpers::{query_param, AppBuilder, TestApp, CLIENT, SECRET};
use crate::registered_clients::register;

const USER: &str = "apache-user";
const PASSWORD: &str = "apache-password-1";

/// The server, with Apache's redirect and post-logout URIs on the shared whitelist.
async fn server_for(apache_port: u16) -> TestApp {
    server_with(apache_port, AppBuilder::new()).await
}

async fn server_with(apache_port: u16, builder: AppBuilder) -> TestApp {
    let app = builder
        .set(
            "authentication.redirect.uri.whitelist",
            &format!(
                "http://localhost:8080/callback, http://127.0.0.1:{apache_port}{REDIRECT_PATH}, \
                 http://127.0.0.1:{apache_port}{LOGGED_OUT_PATH}"
            ),
        )
        .spawn()
        .await;
    app.add_user(USER, PASSWORD).await;
    app
}

/// The lines `KEY=value` of the protected page (the CGI prints the environment).
fn env_of(body: &str) -> Vec<(String, String)> {
    body.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn env_var<'a>(env: &'a [(String, String)], name: &str) -> Option<&'a str> {
    env.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// Walks to the protected page, signs in on the server, and expects the page back.
async fn sign_in_through_apache(
    app: &TestApp,
    apache: &Apache,
    browser: &Browser,
    client_id: &str,
) {
    let login = browser.visit(&apache.url(ENV_PATH)).await;
    assert_eq!(
        query_param(&login.url, "client_id").as_deref(),
        Some(client_id),
        "Apache sends the browser to the server's /authorize as {client_id}: {login:?}"
    );
    assert_eq!(
        query_param(&login.url, "redirect_uri"),
        Some(apache.redirect_uri()),
        "{login:?}"
    );
    assert_eq!(
        query_param(&login.url, "code_challenge_method").as_deref(),
        Some("S256")
    );
    let page = browser.sign_in(&app.issuer, &login, USER, PASSWORD).await;
    assert_eq!(
        (page.status, page.url.as_str()),
        (200, apache.url(ENV_PATH).as_str()),
        "back on the protected page through {}: {}\nhops: {:#?}\n{}",
        apache.redirect_uri(),
        page.body,
        page.hops,
        apache.logs()
    );
    assert!(
        page.hops
            .iter()
            .any(|h| h.starts_with(&apache.redirect_uri())),
        "the way back passes Apache's redirect URI: {:#?}",
        page.hops
    );
    let env = env_of(&page.body);
    assert_eq!(env_var(&env, "REMOTE_USER"), Some(USER), "{}", page.body);
    assert_eq!(env_var(&env, "OIDC_CLAIM_sub"), Some(USER));
    assert_eq!(
        env_var(&env, "OIDC_CLAIM_email"),
        Some(format!("{USER}@example.com").as_str())
    );
    assert_eq!(
        env_var(&env, "OIDC_CLAIM_name"),
        Some(format!("{USER} Example").as_str())
    );
    assert_eq!(env_var(&env, "OIDC_CLAIM_iss"), Some(app.issuer.as_str()));
    assert_eq!(env_var(&env, "OIDC_CLAIM_aud"), Some(client_id));
}

/// mod_auth_openidc's info hook (`<redirect_uri>?info=json…`): the session's tokens and
/// claims, or `None` when there is no session.
async fn session_info(apache: &Apache, browser: &Browser, extra: &str) -> Option<Value> {
    let resp = browser
        .get(&format!("{}?info=json{extra}", apache.redirect_uri()))
        .await;
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    match status {
        200 => Some(serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))),
        401 => None,
        other => panic!("info hook answered {other}: {text}\n{}", apache.logs()),
    }
}

/// Signs out through Apache (`<redirect_uri>?logout=<page>`), which sends the browser to
/// the server's end-session endpoint and back; then Apache has no session and the server
/// asks for the password again.
async fn sign_out_through_apache(app: &TestApp, apache: &Apache, browser: &Browser) {
    let back_to = apache.url(LOGGED_OUT_PATH);
    let logout = format!(
        "{}?logout={}",
        apache.redirect_uri(),
        url::form_urlencoded::byte_serialize(back_to.as_bytes()).collect::<String>()
    );
    let page = browser.visit(&logout).await;
    let end_session = page
        .hops
        .iter()
        .find(|h| h.starts_with(&app.url("/api/signout")))
        .unwrap_or_else(|| panic!("Apache goes through end_session_endpoint: {page:?}"));
    assert!(
        query_param(end_session, "id_token_hint").is_some(),
        "{end_session}"
    );
    assert_eq!(
        query_param(end_session, "post_logout_redirect_uri").as_deref(),
        Some(back_to.as_str())
    );
    assert_eq!(
        (page.status, page.url.as_str()),
        (200, back_to.as_str()),
        "{page:?}"
    );
    assert!(page.body.contains("signed out of the Apache app"));
    assert!(
        session_info(apache, browser, "").await.is_none(),
        "Apache's session has ended"
    );
    let again = browser.visit(&apache.url(ENV_PATH)).await;
    assert!(
        again.url.starts_with(&app.url("/authorize")) && again.body.contains("name=\"password\""),
        "the server's session has ended too: the login form again, {again:?}"
    );
}

#[tokio::test]
async fn apache_signs_in_and_out_as_a_properties_file_client_with_the_shared_secret() {
    if !apache_available(
        "apache_signs_in_and_out_as_a_properties_file_client_with_the_shared_secret",
    ) {
        return;
    }
    let port = free_port();
    // access tokens live 20 s, less than OIDCRefreshAccessTokenBeforeExpiry (30 s): Apache
    // renews them on every request to a protected page
    let app = server_with(
        port,
        AppBuilder::new().set("authentication.token.expiry", "20"),
    )
    .await;
    let rp = RpConfig {
        issuer: &app.issuer,
        client_id: CLIENT,
        auth: RpAuth::Secret(SECRET.to_string()),
    };
    let apache = Apache::start(port, &rp).await;
    let browser = Browser::new();
    sign_in_through_apache(&app, &apache, &browser, CLIENT).await;
    let info = session_info(&apache, &browser, "")
        .await
        .expect("a session");
    assert_eq!(info["id_token"]["sub"], USER, "{info}");
    assert_eq!(info["userinfo"]["email"], format!("{USER}@example.com"));
    let access = info["access_token"].as_str().expect("an access token");
    assert_eq!(app.validate_status("Bearer", access).await, 200);
    assert!(info["refresh_token"].is_string(), "{info}");

    let page = browser.visit(&apache.url(ENV_PATH)).await;
    assert_eq!(page.status, 200, "{page:?}");
    let renewed = session_info(&apache, &browser, "")
        .await
        .expect("a session");
    assert_ne!(
        renewed["access_token"],
        info["access_token"],
        "Apache refreshed the access token before it expired: {}",
        apache.logs()
    );
    assert_ne!(
        renewed["refresh_token"], info["refresh_token"],
        "and rotated the refresh token"
    );
    let renewed_access = renewed["access_token"].as_str().unwrap();
    assert_eq!(app.validate_status("Bearer", renewed_access).await, 200);
    sign_out_through_apache(&app, &apache, &browser).await;
}

/// An RSA key pair for mod_auth_openidc (it signs its assertions RS256): the JWK Set to
/// register, the key's `kid` and its PKCS#8 DER.
fn rsa_client_key() -> (Value, String, Vec<u8>) {
    use authserver::config::SigningAlgorithm;
    use authserver::keys::SigningKey;
    let stored = SigningKey::generate(SigningAlgorithm::RS256, 0).unwrap();
    let key = SigningKey::from_pkcs8(&stored.private_pkcs8, SigningAlgorithm::RS256, None).unwrap();
    (
        json!({"keys": [key.jwk]}),
        key.kid.clone(),
        stored.private_pkcs8.clone(),
    )
}

#[tokio::test]
async fn apache_as_a_registered_private_key_jwt_client_signs_in_refreshes_and_signs_out() {
    if !apache_available(
        "apache_as_a_registered_private_key_jwt_client_signs_in_refreshes_and_signs_out",
    ) {
        return;
    }
    let port = free_port();
    let app = server_for(port).await;
    let (jwks, kid, pkcs8) = rsa_client_key();
    let (client_id, _) = register(
        &app,
        "apache-rp",
        json!({
            "client_name": "Apache intranet",
            "redirect_uris": [format!("http://127.0.0.1:{port}{REDIRECT_PATH}")],
            "post_logout_redirect_uris": [format!("http://127.0.0.1:{port}{LOGGED_OUT_PATH}")],
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks": jwks,
            "first_party": true,
        }),
    )
    .await;
    let rp = RpConfig {
        issuer: &app.issuer,
        client_id: &client_id,
        auth: RpAuth::PrivateKey { kid, pkcs8 },
    };
    let apache = Apache::start(port, &rp).await;
    let browser = Browser::new();
    sign_in_through_apache(&app, &apache, &browser, &client_id).await;
    let used_assertions = || {
        app.sql("SELECT COUNT(*) FROM client_assertion_jtis WHERE client_id = $1")
            .bind(client_id.as_str())
            .i64()
    };
    assert_eq!(
        used_assertions().await,
        1,
        "the code was exchanged with an assertion"
    );

    let first = session_info(&apache, &browser, "")
        .await
        .expect("a session");
    // the info hook refreshes when the access token is older than the interval given
    let second = session_info(&apache, &browser, "&access_token_refresh_interval=0")
        .await
        .expect("a session");
    assert_ne!(
        first["access_token"],
        second["access_token"],
        "{}",
        apache.logs()
    );
    assert_ne!(
        first["refresh_token"], second["refresh_token"],
        "the refresh token rotated"
    );
    assert_eq!(
        used_assertions().await,
        2,
        "the refresh authenticated with an assertion"
    );
    let refreshed = second["access_token"].as_str().unwrap();
    assert_eq!(app.validate_status("Bearer", refreshed).await, 200);
    let page = browser.visit(&apache.url(ENV_PATH)).await;
    assert_eq!(
        page.status, 200,
        "still signed in after the refresh: {page:?}"
    );

    sign_out_through_apache(&app, &apache, &browser).await;
}

#[tokio::test]
async fn apache_with_a_wrong_client_secret_shows_an_error_and_opens_no_session() {
    if !apache_available("apache_with_a_wrong_client_secret_shows_an_error_and_opens_no_session") {
        return;
    }
    let port = free_port();
    let app = server_for(port).await;
    let (client_id, secret) = register(
        &app,
        "apache-basic",
        json!({
            "client_name": "Apache with a wrong secret",
            "redirect_uris": [format!("http://127.0.0.1:{port}{REDIRECT_PATH}")],
            "first_party": true,
        }),
    )
    .await;
    let wrong = format!("{}x", secret.expect("a secret"));
    let rp = RpConfig {
        issuer: &app.issuer,
        client_id: &client_id,
        auth: RpAuth::Secret(wrong),
    };
    let apache = Apache::start(port, &rp).await;
    let browser = Browser::new();
    let login = browser.visit(&apache.url(ENV_PATH)).await;
    let page = browser.sign_in(&app.issuer, &login, USER, PASSWORD).await;
    // mod_auth_openidc answers its redirect URI with an error page (status 200)
    assert!(
        page.url.starts_with(&apache.redirect_uri())
            && page.body.contains("<title>Error</title>")
            && !page.body.contains("OIDC_CLAIM_sub"),
        "Apache shows an error where the code exchange failed: {page:?}"
    );
    assert!(
        apache.logs().contains("invalid_client"),
        "the server refused the secret: {}",
        apache.logs()
    );
    assert!(
        session_info(&apache, &browser, "").await.is_none(),
        "no session at Apache"
    );
    let families = app
        .sql("SELECT COUNT(*) FROM refresh_families WHERE client_id = $1")
        .bind(client_id.as_str())
        .i64()
        .await;
    assert_eq!(families, 0, "the server issued no tokens");
    let again = browser.get(&apache.url(ENV_PATH)).await;
    assert_eq!(again.status(), 302, "the protected page is still closed");
}

#[tokio::test]
async fn a_user_in_chromium_signs_in_and_out_of_apache_as_a_registered_client_secret_basic_client()
{
    let test =
        "a_user_in_chromium_signs_in_and_out_of_apache_as_a_registered_client_secret_basic_client";
    if !apache_available(test) || !browser_available(test) {
        return;
    }
    let port = free_port();
    let app = server_for(port).await;
    let (client_id, secret) = register(
        &app,
        "apache-chromium",
        json!({
            "client_name": "Apache intranet",
            "redirect_uris": [format!("http://127.0.0.1:{port}{REDIRECT_PATH}")],
            "post_logout_redirect_uris": [format!("http://127.0.0.1:{port}{LOGGED_OUT_PATH}")],
            "first_party": true,
        }),
    )
    .await;
    let rp = RpConfig {
        issuer: &app.issuer,
        client_id: &client_id,
        auth: RpAuth::Secret(secret.expect("a secret")),
    };
    let apache = Apache::start(port, &rp).await;
    let protected = apache.url(ENV_PATH);
    let back_to = apache.url(LOGGED_OUT_PATH);
    let logout = format!(
        "{}?logout={}",
        apache.redirect_uri(),
        url::form_urlencoded::byte_serialize(back_to.as_bytes()).collect::<String>()
    );
    let (stdout, _) = run_node_script(
        "rp_sign_in.mjs",
        &[protected.as_str(), USER, PASSWORD, logout.as_str()],
        90,
    )
    .await;
    let result: Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("rp_sign_in.mjs did not print one JSON line ({e}):\n{stdout}"));
    let login_url = result["login_url"].as_str().unwrap();
    assert!(login_url.starts_with(&app.url("/authorize")), "{result}");
    assert_eq!(query_param(login_url, "client_id"), Some(client_id.clone()));
    assert_eq!(
        result["landed_url"],
        protected,
        "{result}\n{}",
        apache.logs()
    );
    let env = env_of(result["protected_text"].as_str().unwrap());
    assert_eq!(env_var(&env, "REMOTE_USER"), Some(USER), "{result}");
    assert_eq!(
        env_var(&env, "OIDC_CLAIM_email"),
        Some(format!("{USER}@example.com").as_str())
    );
    assert_eq!(env_var(&env, "OIDC_CLAIM_aud"), Some(client_id.as_str()));
    assert_eq!(result["after_logout_url"], back_to, "{result}");
    assert!(result["after_logout_text"]
        .as_str()
        .unwrap()
        .contains("signed out of the Apache app"));
    assert!(
        result["again_url"]
            .as_str()
            .unwrap()
            .starts_with(&app.url("/authorize")),
        "signed out of both: the login page again, {result}"
    );
}
