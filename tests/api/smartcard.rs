//! Smart-card (CAC/PIV) sign-in with a client certificate, against a PKI made with the
//! `openssl` command in each test (`smartcard_pki`): a CA, a user certificate, a revoked
//! one (CRL from `openssl ca -gencrl`), an expired one and one from another CA. Native TLS
//! is exercised with `curl --cert` (a real TLS client presenting the certificate), the
//! proxy header path with reqwest over plain HTTP; Chromium in `browser_card`.
//!
//! Needs `openssl` and `curl` (`.ci/run` installs them); without them the tests are
//! skipped, unless `CI` is set, in which case they fail. curl blocks its thread, so the
//! tests run on two (the server answers on the other).
use std::path::Path;
use std::process::{Command, Stdio};

use authserver::config::Settings;

use crate::helpers::{
    exchange_code, hidden_field, jwt_parts, pkce_pair, query_param, AppBuilder, TestApp,
};
use crate::smartcard_pki::{https, pki, tls_app, tls_fixture, Pki, UserCert};

/// Whether `openssl` and `curl` run here (see `smartcard_pki::tools_available`).
fn tools_available(test: &str) -> bool {
    crate::smartcard_pki::tools_available(test, &[("openssl", "version"), ("curl", "--version")])
}

/// What curl got.
struct Curl {
    status: u16,
    location: Option<String>,
    body: String,
}

/// One curl request against `app` over TLS, keeping cookies in `jar`, presenting `cert`.
fn curl(url: &str, jar: &Path, cert: Option<&UserCert>, form: Option<&[(&str, String)]>) -> Curl {
    let dir = jar.parent().unwrap();
    let body_file = dir.join("curl-body");
    let mut cmd = Command::new("curl");
    cmd.args(["-s", "--max-time", "30", "--cacert"])
        .arg(tls_fixture("ca.pem"))
        .arg("-c")
        .arg(jar)
        .arg("-b")
        .arg(jar)
        .arg("-o")
        .arg(&body_file)
        .args(["-w", "%{http_code} %{redirect_url}"]);
    if let Some(cert) = cert {
        cmd.arg("--cert")
            .arg(&cert.cert)
            .arg("--key")
            .arg(&cert.key);
    }
    for (name, value) in form.unwrap_or_default() {
        cmd.arg("--data-urlencode").arg(format!("{name}={value}"));
    }
    let out = cmd
        .arg(url)
        .stdin(Stdio::null())
        .output()
        .expect("curl runs");
    assert!(
        out.status.success(),
        "curl {url}: exit {:?} {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = String::from_utf8_lossy(&out.stdout).to_string();
    let (status, location) = summary.split_once(' ').unwrap_or((&summary, ""));
    Curl {
        status: status.parse().unwrap(),
        location: Some(location.trim().to_string()).filter(|l| !l.is_empty()),
        body: std::fs::read_to_string(&body_file).unwrap_or_default(),
    }
}

/// Opens the login page with curl (presenting `cert`) and presses "Sign in with your smart
/// card"; returns the answer to that POST and the PKCE verifier.
fn curl_smart_card_sign_in(
    app: &TestApp,
    jar_dir: &Path,
    cert: Option<&UserCert>,
) -> (Curl, String) {
    let jar = jar_dir.join("cookies");
    let _ = std::fs::remove_file(&jar);
    let (verifier, challenge) = pkce_pair();
    let page = curl(
        &https(&app.authorize_url(&challenge, &[])),
        &jar,
        cert,
        None,
    );
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("Sign in with your smart card"),
        "the login page offers the smart card: {}",
        page.body
    );
    let form = [
        ("rid", hidden_field(&page.body, "rid").unwrap()),
        ("csrf", hidden_field(&page.body, "csrf").unwrap()),
    ];
    let answer = curl(
        &https(&app.url("/login/certificate")),
        &jar,
        cert,
        Some(&form),
    );
    (answer, verifier)
}

async fn users_named(app: &TestApp, name: &str) -> i64 {
    app.sql("SELECT COUNT(*) FROM users WHERE username = $1")
        .bind(name)
        .i64()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_smart_card_signs_in_over_native_tls_with_curl_and_gets_tokens() {
    if !tools_available("a_smart_card_signs_in_over_native_tls_with_curl_and_gets_tokens") {
        return;
    }
    let pki = pki();
    let app = tls_app(&pki, &[]).await;
    let (answer, verifier) = curl_smart_card_sign_in(&app, app.dir(), Some(&pki.john));
    assert_eq!(answer.status, 303, "{}", answer.body);
    let location = answer.location.expect("a redirect to the client");
    assert!(
        location.starts_with("http://localhost:8080/callback?"),
        "{location}"
    );
    assert_eq!(query_param(&location, "state").as_deref(), Some("st4te"));
    let code = query_param(&location, "code").expect("a code");

    let client = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(&std::fs::read(tls_fixture("ca.pem")).unwrap()).unwrap(),
        )
        .build()
        .unwrap();
    let tokens: serde_json::Value =
        exchange_code(&client, &https(&app.url("/api/token")), &code, &verifier)
            .await
            .json()
            .await
            .unwrap();
    let id_token = tokens["id_token"].as_str().expect("an ID token");
    let (_, claims) = jwt_parts(id_token);
    // username.template = (O)-(CN) over CN=JohnDoe,O=MyCompany,C=GB
    assert_eq!(claims["sub"], "MyCompany-JohnDoe");
    assert_eq!(claims["name"], "JohnDoe", "display name from (CN)");
    assert_eq!(
        claims["email"], "john.doe@example.com",
        "e-mail from the SAN"
    );
    assert_eq!(
        app.sql("SELECT source FROM users WHERE username = $1")
            .bind("MyCompany-JohnDoe")
            .strings()
            .await,
        vec!["certificate".to_string()],
        "a just-in-time user of source certificate"
    );

    // the same card again: the same user, no second row
    let (again, _) = curl_smart_card_sign_in(&app, app.dir(), Some(&pki.john));
    assert_eq!(again.status, 303, "{}", again.body);
    assert_eq!(users_named(&app, "MyCompany-JohnDoe").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_expired_and_foreign_certificates_get_a_readable_page_and_no_user() {
    if !tools_available("revoked_expired_and_foreign_certificates_get_a_readable_page_and_no_user")
    {
        return;
    }
    let pki = pki();
    let app = tls_app(&pki, &[]).await;
    for (cert, expected, who) in [
        (&pki.revoked, "has been revoked", "MyCompany-RevokedRita"),
        (&pki.expired, "has expired", "MyCompany-ExpiredEd"),
        (
            &pki.stranger,
            "not issued by a certificate authority this server trusts",
            "MyCompany-JohnDoe",
        ),
    ] {
        let (answer, _) = curl_smart_card_sign_in(&app, app.dir(), Some(cert));
        assert_eq!(answer.status, 401, "{who}: {}", answer.body);
        assert!(answer.location.is_none(), "{who}");
        assert!(
            answer.body.contains("Smart-card sign-in failed") && answer.body.contains(expected),
            "{who}: {}",
            answer.body
        );
        assert_eq!(users_named(&app, who).await, 0, "{who} was not created");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_user_signs_in_on_the_same_port_without_a_certificate() {
    if !tools_available("a_password_user_signs_in_on_the_same_port_without_a_certificate") {
        return;
    }
    let pki = pki();
    let app = tls_app(&pki, &[]).await;
    app.add_user("alice", "alice-password-1").await;
    let jar = app.dir().join("password-cookies");
    let (_, challenge) = pkce_pair();
    let page = curl(
        &https(&app.authorize_url(&challenge, &[])),
        &jar,
        None,
        None,
    );
    assert_eq!(page.status, 200);
    let form = [
        ("rid", hidden_field(&page.body, "rid").unwrap()),
        ("csrf", hidden_field(&page.body, "csrf").unwrap()),
        ("username", "alice".to_string()),
        ("password", "alice-password-1".to_string()),
    ];
    let answer = curl(&https(&app.url("/login")), &jar, None, Some(&form));
    assert_eq!(answer.status, 303, "{}", answer.body);
    assert!(query_param(&answer.location.unwrap(), "code").is_some());

    // the smart-card button without a card explains what is missing
    let (answer, _) = curl_smart_card_sign_in(&app, app.dir(), None);
    assert_eq!(answer.status, 401);
    assert!(
        answer.body.contains("No certificate was presented"),
        "{}",
        answer.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_user_name_can_come_from_the_upn_subject_alternative_name() {
    if !tools_available("the_user_name_can_come_from_the_upn_subject_alternative_name") {
        return;
    }
    let pki = pki();
    let app = tls_app(
        &pki,
        &[
            ("authentication.certificate.username.source", "san"),
            ("authentication.certificate.username.san.type", "0"),
            (
                "authentication.certificate.displayname.template",
                "(CN) of (O)",
            ),
        ],
    )
    .await;
    let (answer, _) = curl_smart_card_sign_in(&app, app.dir(), Some(&pki.john));
    assert_eq!(answer.status, 303, "{}", answer.body);
    assert_eq!(
        app.sql("SELECT name FROM users WHERE username = $1")
            .bind("jdoe@corp.example")
            .strings()
            .await,
        vec!["JohnDoe of MyCompany".to_string()]
    );
}

/// A server behind a TLS proxy: plain HTTP, the certificate in `X-SSL-Client-Cert` from
/// `proxies`.
async fn proxied_app(pki: &Pki, proxies: &str) -> TestApp {
    AppBuilder::new()
        .set("server.trusted.proxies", proxies)
        .set("authentication.certificate.enabled", "true")
        .set("authentication.certificate.headers.enabled", "true")
        .set(
            "authentication.certificate.trust.anchors",
            pki.ca.cert().to_str().unwrap(),
        )
        .set(
            "authentication.certificate.revocation.list.file",
            pki.ca.crl().to_str().unwrap(),
        )
        .spawn()
        .await
}

/// Opens the login page and posts the smart-card form with `header` as the certificate.
async fn header_sign_in(app: &TestApp, header: Option<String>) -> reqwest::Response {
    let (_, challenge) = pkce_pair();
    // prompt=login: the browser may be signed in already from an earlier sign-in
    let page = app
        .login_page(&app.authorize_url(&challenge, &[("prompt", "login")]))
        .await;
    let mut request = app.client.post(app.url("/login/certificate")).form(&[
        ("rid", hidden_field(&page, "rid").unwrap()),
        ("csrf", hidden_field(&page, "csrf").unwrap()),
    ]);
    if let Some(value) = header {
        request = request.header("X-SSL-Client-Cert", value);
    }
    request.send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_certificate_header_is_believed_from_a_trusted_proxy_and_verified_there() {
    if !tools_available(
        "the_certificate_header_is_believed_from_a_trusted_proxy_and_verified_there",
    ) {
        return;
    }
    let pki = pki();
    let app = proxied_app(&pki, "127.0.0.1/32").await;
    let resp = header_sign_in(&app, Some(pki.john.escaped_pem())).await;
    assert_eq!(resp.status(), 303);
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    assert!(query_param(&location, "code").is_some(), "{location}");
    assert_eq!(users_named(&app, "JohnDoe").await, 1);

    // the proxy's word is not enough: authserver checks the certificate itself
    for (cert, expected) in [
        (&pki.revoked, "has been revoked"),
        (&pki.expired, "has expired"),
        (
            &pki.stranger,
            "not issued by a certificate authority this server trusts",
        ),
    ] {
        let resp = header_sign_in(&app, Some(cert.escaped_pem())).await;
        assert_eq!(resp.status(), 401);
        let body = resp.text().await.unwrap();
        assert!(body.contains(expected), "{expected}: {body}");
    }
    let resp = header_sign_in(&app, Some("not%20a%20certificate".into())).await;
    assert_eq!(resp.status(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_certificate_header_from_an_untrusted_address_is_ignored() {
    if !tools_available("the_certificate_header_from_an_untrusted_address_is_ignored") {
        return;
    }
    let pki = pki();
    // the test client connects from 127.0.0.1, which is not in the list
    let app = proxied_app(&pki, "10.0.0.0/8").await;
    let resp = header_sign_in(&app, Some(pki.john.escaped_pem())).await;
    assert_eq!(resp.status(), 401);
    let body = resp.text().await.unwrap();
    assert!(body.contains("No certificate was presented"), "{body}");
    assert_eq!(users_named(&app, "JohnDoe").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refreshed_revocation_list_refuses_a_newly_revoked_card_and_a_stale_one_refuses_all() {
    if !tools_available(
        "a_refreshed_revocation_list_refuses_a_newly_revoked_card_and_a_stale_one_refuses_all",
    ) {
        return;
    }
    let pki = pki();
    let app = proxied_app(&pki, "127.0.0.1/32").await;
    assert_eq!(
        header_sign_in(&app, Some(pki.john.escaped_pem()))
            .await
            .status(),
        303
    );

    // revoked at the CA; the server notices at its next read of the list
    pki.ca.revoke(&pki.john);
    let certificates = app
        .state
        .certificates
        .clone()
        .expect("certificate login on");
    certificates.refresh().await;
    let resp = header_sign_in(&app, Some(pki.john.escaped_pem())).await;
    assert_eq!(resp.status(), 401);
    assert!(resp.text().await.unwrap().contains("has been revoked"));

    // a list past its nextUpdate (default_crl_days = 30): every certificate is refused
    let fresh = &pki.fay;
    assert_eq!(
        header_sign_in(&app, Some(fresh.escaped_pem()))
            .await
            .status(),
        303
    );
    app.clock.advance(31 * 24 * 3600);
    let resp = header_sign_in(&app, Some(fresh.escaped_pem())).await;
    assert_eq!(resp.status(), 401);
    assert!(resp
        .text()
        .await
        .unwrap()
        .contains("revocation list is out of date"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_list_that_cannot_be_loaded_stops_the_start_naming_the_key() {
    if !tools_available("a_revocation_list_that_cannot_be_loaded_stops_the_start_naming_the_key") {
        return;
    }
    let pki = pki();
    let garbage = pki.ca.dir.join("garbage.crl");
    std::fs::write(
        &garbage,
        "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n",
    )
    .unwrap();
    for crl in [pki.ca.dir.join("missing.crl"), garbage] {
        let text = format!(
            "server.port = 0\nauthentication.client.ids = a\n\
             authentication.redirect.uri.whitelist = https://app.example.com/cb\n\
             authentication.client.secret = test-secret-0123456789\n\
             server.trusted.proxies = 127.0.0.1/32\n\
             database.url = sqlite://{}\n\
             authentication.certificate.enabled = true\n\
             authentication.certificate.headers.enabled = true\n\
             authentication.certificate.trust.anchors = {}\n\
             authentication.certificate.revocation.list.file = {}\n",
            pki.ca.dir.join("auth.db").display(),
            pki.ca.cert().display(),
            crl.display()
        );
        let settings = Settings::from_str(&text, Path::new("authserver.properties"), &[])
            .unwrap()
            .settings;
        let err = match authserver::startup::Application::build(settings).await {
            Ok(_) => panic!("started with an unreadable CRL {}", crl.display()),
            Err(e) => e.to_string(),
        };
        assert!(
            err.contains("authentication.certificate.revocation.list.file"),
            "{err}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_password_login_turned_off_the_login_page_offers_only_the_smart_card() {
    if !tools_available("with_password_login_turned_off_the_login_page_offers_only_the_smart_card")
    {
        return;
    }
    let pki = pki();
    let app = AppBuilder::new()
        .set("server.trusted.proxies", "127.0.0.1/32")
        .set("authentication.disable.credentials", "true")
        .set("authentication.certificate.enabled", "true")
        .set("authentication.certificate.headers.enabled", "true")
        .set(
            "authentication.certificate.trust.anchors",
            pki.ca.cert().to_str().unwrap(),
        )
        .spawn()
        .await;
    app.add_user("alice", "alice-password-1").await;
    let (_, challenge) = pkce_pair();
    let page = app.login_page(&app.authorize_url(&challenge, &[])).await;
    assert!(!page.contains("name=\"password\""), "{page}");
    assert!(page.contains("Sign in with your smart card"), "{page}");
    let resp = app
        .submit_login(&page, "alice", "alice-password-1", false)
        .await;
    assert_eq!(resp.status(), 403);
    let resp = header_sign_in(&app, Some(pki.john.escaped_pem())).await;
    assert_eq!(resp.status(), 303);
}
