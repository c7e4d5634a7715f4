//! Implicit and hybrid sign-in for the clients of `authentication.client.implicit` (issue
//! 14 item 1), and the login-page keys `authentication.remember.me.hidden.client.ids` and
//! `authentication.disable.credentials`. The ID tokens are checked by the `openidconnect`
//! crate against the server's JWKS.
use openidconnect::core::{CoreClient, CoreIdToken, CoreProviderMetadata, CoreResponseType};
use openidconnect::{
    AccessToken, AccessTokenHash, AuthenticationFlow, AuthorizationCode, AuthorizationCodeHash,
    ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, RedirectUrl,
};

use authserver::oauth::authorize::SSO_COOKIE;

use crate::helpers::*;

/// The desktop modeling client of Teamwork Cloud.
pub(crate) const DESKTOP: &str = "MAGICDRAW";
/// Its non-web redirect URI.
pub(crate) const MD_REDIRECT: &str = "https://md_redirect";
const USER: &str = "modeler";
const PASSWORD: &str = "modeler-password-1";

/// A server with `MAGICDRAW` allowed the implicit sign-in and without "Stay signed in".
pub(crate) async fn implicit_app() -> TestApp {
    implicit_app_with(AppBuilder::new()).await
}

/// [`implicit_app`] signing with `alg` (with a key the server generates).
async fn implicit_app_signing(alg: &str) -> TestApp {
    implicit_app_with(
        AppBuilder::new()
            .generated_keys()
            .set("authentication.signing.algorithm", alg),
    )
    .await
}

async fn implicit_app_with(builder: AppBuilder) -> TestApp {
    let app = builder
        .set(
            "authentication.redirect.uri.whitelist",
            "http://localhost:8080/callback, https://app.example.com/cb, \
             http://127.0.0.1/native, https://md_redirect",
        )
        .set("authentication.client.implicit", DESKTOP)
        .set("authentication.remember.me.hidden.client.ids", DESKTOP)
        .spawn()
        .await;
    app.add_user(USER, PASSWORD).await;
    app
}

/// An authorization request of the desktop client.
fn desktop_url(app: &TestApp, params: &[(&str, &str)]) -> String {
    let mut url = url::Url::parse(&app.url("/authorize")).unwrap();
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in params {
            q.append_pair(k, v);
        }
    }
    url.to_string()
}

fn standard<'a>(response_type: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut p = vec![
        ("response_type", response_type),
        ("client_id", DESKTOP),
        ("redirect_uri", MD_REDIRECT),
        ("scope", "openid profile"),
        ("state", "st4te"),
        ("nonce", "n0nce"),
    ];
    p.extend_from_slice(extra);
    p
}

/// The fragment parameters of a location; panics if it has a query part after the URI.
fn fragment(location: &str) -> Vec<(String, String)> {
    let (before, after) = location
        .split_once('#')
        .unwrap_or_else(|| panic!("no fragment in {location}"));
    assert!(!before.contains('?'), "nothing in the query: {location}");
    url::form_urlencoded::parse(after.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Signs in on the login page of `url`; returns the response to the form POST.
async fn sign_in_at(app: &TestApp, url: &str) -> reqwest::Response {
    let page = app.login_page(url).await;
    app.submit_login(&page, USER, PASSWORD, false).await
}

/// Signs in and returns the fragment parameters the browser is sent to.
async fn fragment_after_sign_in(app: &TestApp, url: &str) -> Vec<(String, String)> {
    let resp = sign_in_at(app, url).await;
    assert_eq!(resp.status(), 303, "{:?}", resp.text().await);
    let loc = location(&resp);
    assert!(loc.starts_with(&format!("{MD_REDIRECT}#")), "{loc}");
    fragment(&loc)
}

fn http() -> openidconnect::reqwest::Client {
    openidconnect::reqwest::Client::builder()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The desktop client as the `openidconnect` crate holds it.
type DesktopRp = CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

/// The desktop client as an `openidconnect` relying party.
async fn relying_party(app: &TestApp) -> DesktopRp {
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(app.issuer.clone()).unwrap(), &http())
            .await
            .unwrap();
    CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(DESKTOP.into()),
        Some(ClientSecret::new(SECRET.into())),
    )
    .set_redirect_uri(RedirectUrl::new(MD_REDIRECT.into()).unwrap())
}

/// The desktop client's authorization URL for `id_token token` (`hybrid` false) or
/// `code id_token` (`hybrid` true), with the nonce it carries.
fn flow_url(client: &DesktopRp, hybrid: bool) -> (url::Url, Nonce) {
    let flow = if hybrid {
        AuthenticationFlow::<CoreResponseType>::Hybrid(vec![
            CoreResponseType::Code,
            CoreResponseType::IdToken,
        ])
    } else {
        AuthenticationFlow::<CoreResponseType>::Implicit(true)
    };
    let (url, _csrf, nonce) = client
        .authorize_url(flow, CsrfToken::new_random, Nonce::new_random)
        .url();
    (url, nonce)
}

/// The back channel: the desktop client's code for its exact redirect URI, with the
/// client secret.
async fn exchange_desktop_code(app: &TestApp, code: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/token"))
        .header("X-Auth-Secret", SECRET)
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", MD_REDIRECT),
            ("client_id", DESKTOP),
        ])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_desktop_client_gets_an_access_token_in_the_fragment_with_the_implicit_lifetime_and_no_refresh_token(
) {
    let app = implicit_app().await;
    let mut params = standard("token", &[]);
    params.retain(|(k, _)| *k != "scope");
    params.push(("scope", "openid offline_access profile"));
    let url = desktop_url(&app, &params);
    let page = app.login_page(&url).await;
    assert!(page.contains(DESKTOP), "the login page names the client");
    let f = fragment_after_sign_in(&app, &url).await;
    let token = param(&f, "access_token").expect("an access token");
    assert_eq!(param(&f, "token_type"), Some("Bearer"));
    assert_eq!(param(&f, "expires_in"), Some("86400"));
    assert_eq!(param(&f, "state"), Some("st4te"));
    assert_eq!(param(&f, "iss"), Some(app.issuer.as_str()));
    assert_eq!(param(&f, "refresh_token"), None, "never a refresh token");
    assert_eq!(
        param(&f, "scope"),
        Some("openid profile"),
        "offline_access is not granted without a refresh token"
    );
    assert_eq!(param(&f, "code"), None);
    assert_eq!(param(&f, "id_token"), None, "token alone: no ID token");
    let (header, claims) = jwt_parts(token);
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(claims["client_id"], DESKTOP);
    assert_eq!(claims["sub"], USER);
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        86400
    );
    assert_eq!(app.validate_status("Bearer", token).await, 200);
}

#[tokio::test]
async fn id_token_token_verifies_with_the_jwks_and_binds_nonce_at_hash_and_the_implicit_lifetime() {
    let app = implicit_app().await;
    let client = relying_party(&app).await;
    let (auth_url, csrf, nonce) = client
        .authorize_url(
            AuthenticationFlow::<CoreResponseType>::Implicit(true),
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .url();
    assert!(
        auth_url.as_str().contains("response_type=id_token+token"),
        "{auth_url}"
    );
    let f = fragment_after_sign_in(&app, auth_url.as_str()).await;
    assert_eq!(param(&f, "state"), Some(csrf.secret().as_str()));
    let access = AccessToken::new(param(&f, "access_token").expect("access_token").into());
    let id_token: CoreIdToken = param(&f, "id_token").expect("id_token").parse().unwrap();
    let verifier = client.id_token_verifier();
    let claims = id_token
        .claims(&verifier, &nonce)
        .expect("the ID token verifies: signature, issuer, audience, nonce");
    assert_eq!(claims.subject().as_str(), USER);
    let expected = AccessTokenHash::from_token(
        &access,
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(claims.access_token_hash(), Some(&expected), "at_hash");
    assert_eq!(
        (claims.expiration() - claims.issue_time()).num_seconds(),
        86400,
        "exp is the implicit lifetime"
    );
    assert!(claims.auth_time().is_some());
    // a different nonce is refused by the relying party
    assert!(id_token
        .claims(&verifier, &Nonce::new("another".into()))
        .is_err());
}

#[tokio::test]
async fn code_id_token_carries_c_hash_and_the_code_is_exchanged_once_at_the_token_endpoint() {
    let app = implicit_app().await;
    let client = relying_party(&app).await;
    let (auth_url, nonce) = flow_url(&client, true);
    let f = fragment_after_sign_in(&app, auth_url.as_str()).await;
    assert_eq!(
        param(&f, "access_token"),
        None,
        "code id_token: no access token"
    );
    let code = param(&f, "code").expect("a code").to_string();
    let id_token: CoreIdToken = param(&f, "id_token").expect("id_token").parse().unwrap();
    let verifier = client.id_token_verifier();
    let claims = id_token.claims(&verifier, &nonce).expect("verifies");
    let expected = AuthorizationCodeHash::from_code(
        &AuthorizationCode::new(code.clone()),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(claims.code_hash(), Some(&expected), "c_hash");
    assert_eq!(claims.access_token_hash(), None);
    assert_eq!(
        (claims.expiration() - claims.issue_time()).num_seconds(),
        86400
    );

    let resp = exchange_desktop_code(&app, &code).await;
    assert_eq!(resp.status(), 200);
    let tokens: serde_json::Value = resp.json().await.unwrap();
    let (_, id) = jwt_parts(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["nonce"], nonce.secret().as_str());
    assert_eq!(
        exchange_desktop_code(&app, &code).await.status(),
        400,
        "one use only"
    );
}

#[tokio::test]
async fn id_token_alone_carries_the_profile_claims_and_no_access_token() {
    let app = implicit_app().await;
    let url = desktop_url(&app, &standard("id_token", &[]));
    let f = fragment_after_sign_in(&app, &url).await;
    assert_eq!(param(&f, "access_token"), None);
    assert_eq!(param(&f, "expires_in"), None);
    let (_, c) = jwt_parts(param(&f, "id_token").expect("id_token"));
    assert_eq!(c["nonce"], "n0nce");
    assert_eq!(c["aud"], DESKTOP);
    assert_eq!(c["name"], format!("{USER} Example"));
    assert!(
        c.get("at_hash").is_none() && c.get("c_hash").is_none(),
        "{c}"
    );
}

#[tokio::test]
async fn the_implicit_lifetime_follows_the_teamwork_cloud_key() {
    let app = AppBuilder::new()
        .set(
            "authentication.redirect.uri.whitelist",
            "http://localhost:8080/callback, https://md_redirect",
        )
        .set("authentication.client.implicit", DESKTOP)
        .set("authentication.implicit.token.expirity", "600")
        .spawn()
        .await;
    app.add_user(USER, PASSWORD).await;
    let f =
        fragment_after_sign_in(&app, &desktop_url(&app, &standard("id_token token", &[]))).await;
    assert_eq!(param(&f, "expires_in"), Some("600"));
    let (_, c) = jwt_parts(param(&f, "id_token").unwrap());
    assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 600);
}

#[tokio::test]
async fn form_post_renders_a_self_submitting_form_to_the_exact_redirect_uri() {
    let app = implicit_app().await;
    let url = desktop_url(
        &app,
        &standard("id_token token", &[("response_mode", "form_post")]),
    );
    let resp = sign_in_at(&app, &url).await;
    assert_eq!(resp.status(), 200, "a page, not a redirect");
    assert!(resp.headers().get("location").is_none());
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let csp = resp.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    // a CSP host source cannot hold "_": the scheme is the narrowest source browsers take
    assert!(csp.contains("form-action 'self' https:;"), "{csp}");
    assert!(
        csp.contains(&format!(
            "script-src {}",
            authserver::web::form_post::script_hash()
        )),
        "only the page's own script runs: {csp}"
    );
    assert!(resp.headers().get("set-cookie").is_some(), "the SSO cookie");
    let html = resp.text().await.unwrap();
    assert!(
        html.contains(&format!("<form method=\"post\" action=\"{MD_REDIRECT}\">")),
        "posts to exactly the redirect URI: {html}"
    );
    assert!(html.contains(authserver::web::form_post::SCRIPT), "{html}");
    let fields = hidden_fields(&html);
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    assert!(
        field("access_token").is_some_and(|t| !t.is_empty()),
        "{html}"
    );
    assert!(field("id_token").is_some_and(|t| !t.is_empty()), "{html}");
    assert_eq!(field("state"), Some("st4te"));
    assert_eq!(field("expires_in"), Some("86400"));
    assert_eq!(field("refresh_token"), None);
}

#[tokio::test]
async fn every_other_client_keeps_getting_unsupported_response_type_in_the_query() {
    let app = implicit_app().await;
    let (_, challenge) = pkce_pair();
    for response_type in ["token", "id_token", "id_token token", "code id_token"] {
        let url = app.authorize_url_without(
            &challenge,
            &["response_type"],
            &[("response_type", response_type)],
        );
        let resp = app.get(&url).await;
        assert_eq!(resp.status(), 302, "{response_type}");
        let loc = location(&resp);
        assert!(loc.starts_with(&format!("{REDIRECT}?")), "{loc}");
        assert!(!loc.contains('#'), "{loc}");
        assert_eq!(
            query_param(&loc, "error").as_deref(),
            Some("unsupported_response_type"),
            "{response_type}: {loc}"
        );
    }
    // discovery offers the front-channel types since a client has them
    let doc: serde_json::Value = app
        .get(&app.url("/.well-known/openid-configuration"))
        .await
        .json()
        .await
        .unwrap();
    let types: Vec<&str> = doc["response_types_supported"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "code",
            "token",
            "id_token",
            "id_token token",
            "code id_token"
        ]
    );
    assert!(doc["response_modes_supported"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m == "form_post"));
    // and a server without such clients does not
    let plain = spawn_app().await;
    let doc: serde_json::Value = plain
        .get(&plain.url("/.well-known/openid-configuration"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(doc["response_types_supported"], serde_json::json!(["code"]));
    assert_eq!(
        doc["response_modes_supported"],
        serde_json::json!(["query"])
    );
}

#[tokio::test]
async fn errors_for_the_desktop_client_go_in_the_fragment_never_in_the_query() {
    let app = implicit_app().await;
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            standard("token", &[])
                .into_iter()
                .filter(|(k, _)| *k != "nonce")
                .collect(),
            "invalid_request",
        ),
        (
            standard("id_token", &[])
                .into_iter()
                .filter(|(k, _)| *k != "nonce")
                .collect(),
            "invalid_request",
        ),
        (
            standard("token", &[("response_mode", "query")]),
            "invalid_request",
        ),
        (standard("code token", &[]), "unsupported_response_type"),
        (standard("token token", &[]), "invalid_request"),
        (standard("token", &[("prompt", "none")]), "login_required"),
        (
            standard("token", &[("request", "x.y.z")]),
            "request_not_supported",
        ),
        (
            standard("id_token token", &[("scope", "profile")])
                .into_iter()
                .filter(|(k, v)| !(*k == "scope" && *v == "openid profile"))
                .collect(),
            "invalid_scope",
        ),
    ];
    for (params, error) in cases {
        let resp = app.get(&desktop_url(&app, &params)).await;
        assert_eq!(resp.status(), 302, "{params:?}");
        let loc = location(&resp);
        assert!(
            loc.starts_with(&format!("{MD_REDIRECT}#")),
            "{params:?}: {loc}"
        );
        let f = fragment(&loc);
        assert_eq!(param(&f, "error"), Some(error), "{params:?}: {loc}");
        assert_eq!(param(&f, "state"), Some("st4te"), "{loc}");
        assert_eq!(param(&f, "iss"), Some(app.issuer.as_str()), "{loc}");
    }
    // response_type=code stays the code flow for the desktop client too: errors in the query
    let resp = app
        .get(&desktop_url(&app, &standard("code", &[("prompt", "none")])))
        .await;
    let loc = location(&resp);
    assert!(loc.starts_with(&format!("{MD_REDIRECT}?")), "{loc}");
    assert_eq!(
        query_param(&loc, "error").as_deref(),
        Some("login_required")
    );
    // form_post errors are posted, not put in a URL
    let resp = app
        .get(&desktop_url(
            &app,
            &standard(
                "token",
                &[("response_mode", "form_post"), ("prompt", "none")],
            ),
        ))
        .await;
    assert_eq!(resp.status(), 200);
    let html = resp.text().await.unwrap();
    let fields = hidden_fields(&html);
    assert!(
        fields.contains(&("error".to_string(), "login_required".to_string())),
        "{html}"
    );
}

#[tokio::test]
async fn the_desktop_client_needs_an_exact_whitelist_match_where_others_get_prefix_matching() {
    let app = implicit_app().await;
    for redirect in [
        "https://app.example.com/cb/more",
        "https://app.example.com/cb?x=1",
        "https://md_redirect/",
        "https://md_redirect/evil",
        "http://127.0.0.1:5555/native",
    ] {
        let mut params = standard("token", &[]);
        params.retain(|(k, _)| *k != "redirect_uri");
        params.push(("redirect_uri", redirect));
        let resp = app.get(&desktop_url(&app, &params)).await;
        assert_eq!(resp.status(), 400, "{redirect}: never redirected to");
        assert!(resp.headers().get("location").is_none());
        let page = resp.text().await.unwrap();
        assert!(page.contains("exactly"), "{redirect}: {page}");
    }
    // the same beginning admits the address for a code-flow client
    let (_, challenge) = pkce_pair();
    let url = app.authorize_url_without(
        &challenge,
        &["redirect_uri"],
        &[("redirect_uri", "https://app.example.com/cb/more")],
    );
    assert_eq!(app.get(&url).await.status(), 200, "the login page");
    // and an exact entry admits the desktop client
    let mut params = standard("token", &[]);
    params.retain(|(k, _)| *k != "redirect_uri");
    params.push(("redirect_uri", "https://app.example.com/cb"));
    assert_eq!(app.get(&desktop_url(&app, &params)).await.status(), 200);
}

#[tokio::test]
async fn an_sso_session_signs_the_desktop_client_in_without_the_form() {
    let app = implicit_app().await;
    // signed in once (by the web client's code flow)
    let (_code, _verifier) = app.sign_in(USER, PASSWORD).await;
    let resp = app
        .get(&desktop_url(&app, &standard("id_token token", &[])))
        .await;
    assert_eq!(resp.status(), 302, "no login page");
    let f = fragment(&location(&resp));
    assert!(param(&f, "access_token").is_some());
    let (_, c) = jwt_parts(param(&f, "id_token").unwrap());
    assert_eq!(c["sub"], USER);
    assert_eq!(c["nonce"], "n0nce");
    // prompt=none works the same with the session
    let resp = app
        .get(&desktop_url(
            &app,
            &standard("token", &[("prompt", "none")]),
        ))
        .await;
    let f = fragment(&location(&resp));
    assert!(param(&f, "access_token").is_some(), "{f:?}");
    // without a session prompt=none is login_required, in the fragment
    let other = app.another_browser();
    let resp = other
        .get(&desktop_url(
            &app,
            &standard("token", &[("prompt", "none")]),
        ))
        .await;
    let f = fragment(&location(&resp));
    assert_eq!(param(&f, "error"), Some("login_required"));
}

#[tokio::test]
async fn the_login_page_of_a_listed_client_has_no_stay_signed_in_and_ignores_a_forged_one() {
    let app = implicit_app().await;
    let mut params = standard("token", &[]);
    params.retain(|(k, _)| *k != "scope");
    params.push(("scope", "openid offline_access profile"));
    let url = desktop_url(&app, &params);
    let page = app.login_page(&url).await;
    assert!(!page.contains("name=\"remember\""), "{page}");
    assert!(!page.contains("Stay signed in"), "{page}");
    // a forged remember field: the session cookie stays a browser-session cookie
    let resp = app.submit_login(&page, USER, PASSWORD, true).await;
    assert_eq!(resp.status(), 303);
    let cookie = set_cookie_header(&resp, SSO_COOKIE).expect("an SSO cookie");
    let attrs = cookie_attributes(&cookie);
    assert!(
        !attrs.iter().any(|(k, _)| k == "max-age" || k == "expires"),
        "no persistent cookie: {cookie}"
    );
    let remembered = app
        .sql("SELECT COUNT(*) FROM sso_sessions WHERE persistent = TRUE")
        .i64()
        .await;
    assert_eq!(remembered, 0, "the session is not remembered");

    // other clients keep the box, and it works
    let other = app.another_browser();
    let (_, challenge) = pkce_pair();
    let page = other
        .login_page(&other.authorize_url(&challenge, &[]))
        .await;
    assert!(page.contains("name=\"remember\""), "{page}");
    let resp = other.submit_login(&page, USER, PASSWORD, true).await;
    let cookie = set_cookie_header(&resp, SSO_COOKIE).expect("an SSO cookie");
    assert!(
        cookie_attributes(&cookie)
            .iter()
            .any(|(k, _)| k == "max-age"),
        "{cookie}"
    );
}

#[test]
fn disabling_credentials_stops_the_server_from_starting_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("authserver.properties");
    std::fs::write(
        &config,
        format!(
            "authentication.client.ids = webApplicationPlatform\n\
             authentication.redirect.uri.whitelist = http://localhost:8080/callback\n\
             authentication.client.secret = {SECRET}\n\
             database.url = sqlite://{}/auth.db\n\
             authentication.disable.credentials = true\n",
            dir.path().display()
        ),
    )
    .unwrap();
    let out = run_cli(&config, &["check-config"], None);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("authserver.properties:5")
            && stderr.contains("authentication.disable.credentials"),
        "names the file, line and key: {stderr}"
    );
    assert!(stderr.contains("another identity source"), "{stderr}");
}

#[tokio::test]
async fn at_hash_and_c_hash_use_the_hash_of_each_signing_algorithm_as_the_relying_party_checks_them(
) {
    // SHA-256 for RS256, PS256 and ES256; SHA-512 for EdDSA (Ed25519)
    for alg in ["RS256", "PS256", "ES256", "EdDSA"] {
        let app = implicit_app_signing(alg).await;
        let client = relying_party(&app).await;
        let verifier = client.id_token_verifier().allow_any_alg();

        // id_token token: at_hash
        let (auth_url, nonce) = flow_url(&client, false);
        let f = fragment_after_sign_in(&app, auth_url.as_str()).await;
        let access = AccessToken::new(param(&f, "access_token").expect("access_token").into());
        let id_token: CoreIdToken = param(&f, "id_token").expect("id_token").parse().unwrap();
        let claims = id_token.claims(&verifier, &nonce).expect(alg);
        let signed_with = id_token.signing_alg().unwrap();
        assert_eq!(
            serde_json::to_value(signed_with).unwrap(),
            alg,
            "signed with {alg}"
        );
        let key = id_token.signing_key(&verifier).unwrap();
        let expected = AccessTokenHash::from_token(&access, signed_with, key).unwrap();
        assert_eq!(
            claims.access_token_hash(),
            Some(&expected),
            "{alg}: at_hash"
        );

        // code id_token: c_hash, then the exchange's own ID token with its at_hash
        let (auth_url, nonce) = flow_url(&client, true);
        // (signed in already: the SSO session answers at once)
        let resp = app.get(auth_url.as_str()).await;
        assert_eq!(resp.status(), 302, "{alg}: no login page");
        let f = fragment(&location(&resp));
        let code = AuthorizationCode::new(param(&f, "code").expect("a code").into());
        let id_token: CoreIdToken = param(&f, "id_token").expect("id_token").parse().unwrap();
        let claims = id_token.claims(&verifier, &nonce).expect(alg);
        let key = id_token.signing_key(&verifier).unwrap();
        let expected =
            AuthorizationCodeHash::from_code(&code, id_token.signing_alg().unwrap(), key).unwrap();
        assert_eq!(claims.code_hash(), Some(&expected), "{alg}: c_hash");

        let resp = exchange_desktop_code(&app, code.secret()).await;
        assert_eq!(resp.status(), 200, "{alg}");
        let tokens: serde_json::Value = resp.json().await.unwrap();
        let access = AccessToken::new(tokens["access_token"].as_str().unwrap().into());
        let id_token: CoreIdToken = tokens["id_token"].as_str().unwrap().parse().unwrap();
        let claims = id_token.claims(&verifier, &nonce).expect(alg);
        let key = id_token.signing_key(&verifier).unwrap();
        let expected =
            AccessTokenHash::from_token(&access, id_token.signing_alg().unwrap(), key).unwrap();
        assert_eq!(
            claims.access_token_hash(),
            Some(&expected),
            "{alg}: the token endpoint's at_hash"
        );
    }
}
