//! Smart-card (CAC/PIV) sign-in with a client certificate, against a PKI made with the
//! `openssl` command in each test: a CA, a user certificate, a revoked one (CRL from
//! `openssl ca -gencrl`), an expired one and one from another CA. Native TLS is exercised
//! with `curl --cert` (a real TLS client presenting the certificate), the proxy header
//! path with reqwest over plain HTTP.
//!
//! Needs `openssl` and `curl` (`.ci/run` installs them); without them the tests are
//! skipped, unless `CI` is set, in which case they fail. curl blocks its thread, so the
//! tests run on two (the server answers on the other).
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use authserver::config::Settings;

use crate::browser::in_ci;
use crate::helpers::{
    exchange_code, hidden_field, jwt_parts, pkce_pair, query_param, AppBuilder, TestApp,
};

fn tls_fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tls")
        .join(name)
}

/// Whether `openssl` and `curl` run here: `false` (after saying so) on a developer's
/// machine, a panic in CI.
fn tools_available(test: &str) -> bool {
    let runs = |(tool, arg): (&str, &str)| {
        Command::new(tool)
            .arg(arg)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let missing: Vec<&str> = [("openssl", "version"), ("curl", "--version")]
        .into_iter()
        .filter(|t| !runs(*t))
        .map(|(tool, _)| tool)
        .collect();
    if missing.is_empty() {
        return true;
    }
    if in_ci() {
        panic!("CI is set, so {test} must run, but this machine lacks: {missing:?}");
    }
    println!("skipped: {test}: missing {missing:?}");
    false
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A certificate authority run by `openssl ca` in a directory of its own.
struct Ca {
    dir: PathBuf,
}

/// A user certificate and its key (PEM files).
struct UserCert {
    cert: PathBuf,
    key: PathBuf,
}

impl UserCert {
    /// The certificate as nginx's `$ssl_client_escaped_cert` passes it.
    fn escaped_pem(&self) -> String {
        let pem = std::fs::read_to_string(&self.cert).unwrap();
        let start = pem.find("-----BEGIN CERTIFICATE-----").unwrap();
        percent_encoding::utf8_percent_encode(&pem[start..], percent_encoding::NON_ALPHANUMERIC)
            .to_string()
    }
}

impl Ca {
    fn new(parent: &Path, name: &str) -> Ca {
        let dir = parent.join(name);
        std::fs::create_dir_all(dir.join("issued")).unwrap();
        std::fs::write(dir.join("index.txt"), "").unwrap();
        std::fs::write(dir.join("serial"), "1000\n").unwrap();
        std::fs::write(dir.join("crlnumber"), "1000\n").unwrap();
        std::fs::write(
            dir.join("ca.cnf"),
            format!(
                "[ca]\ndefault_ca = this\n[this]\ndir = {dir}\ndatabase = $dir/index.txt\n\
                 new_certs_dir = $dir/issued\ncertificate = $dir/ca.pem\n\
                 private_key = $dir/ca.key\nserial = $dir/serial\ncrlnumber = $dir/crlnumber\n\
                 default_md = sha256\ndefault_days = 365\ndefault_crl_days = 30\n\
                 policy = any\npreserve = yes\nunique_subject = no\n\
                 [any]\ncountryName = optional\norganizationName = optional\n\
                 organizationalUnitName = optional\ncommonName = supplied\n\
                 emailAddress = optional\n",
                dir = dir.display()
            ),
        )
        .unwrap();
        openssl(
            &dir,
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "3650",
                "-subj",
                &format!("/O=Test PKI/CN={name}"),
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
        );
        let ca = Ca { dir };
        ca.write_crl();
        ca
    }

    fn cert(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    fn crl(&self) -> PathBuf {
        self.dir.join("crl.pem")
    }

    /// Issues a client-authentication certificate for `subject`, with an extra
    /// `subjectAltName` and explicit validity dates (`YYYYMMDDHHMMSSZ`) if given.
    fn issue(
        &self,
        name: &str,
        subject: &str,
        san: Option<&str>,
        dates: Option<(&str, &str)>,
    ) -> UserCert {
        let key = self.dir.join(format!("{name}.key"));
        let csr = self.dir.join(format!("{name}.csr"));
        let cert = self.dir.join(format!("{name}.pem"));
        let ext = self.dir.join(format!("{name}.ext"));
        let mut extensions = String::from(
            "[usr]\nbasicConstraints = CA:FALSE\nkeyUsage = critical, digitalSignature\n\
             extendedKeyUsage = clientAuth\n",
        );
        if let Some(san) = san {
            extensions.push_str(&format!("subjectAltName = {san}\n"));
        }
        std::fs::write(&ext, extensions).unwrap();
        openssl(
            &self.dir,
            &[
                "req",
                "-new",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                key.to_str().unwrap(),
                "-out",
                csr.to_str().unwrap(),
                "-subj",
                subject,
            ],
        );
        let mut args = vec![
            "ca",
            "-batch",
            "-config",
            "ca.cnf",
            "-in",
            csr.to_str().unwrap(),
            "-out",
            cert.to_str().unwrap(),
            "-extfile",
            ext.to_str().unwrap(),
            "-extensions",
            "usr",
            "-notext",
        ];
        if let Some((start, end)) = dates {
            args.extend(["-startdate", start, "-enddate", end]);
        }
        openssl(&self.dir, &args);
        UserCert { cert, key }
    }

    /// Revokes `user` and writes a new CRL.
    fn revoke(&self, user: &UserCert) {
        openssl(
            &self.dir,
            &[
                "ca",
                "-config",
                "ca.cnf",
                "-revoke",
                user.cert.to_str().unwrap(),
            ],
        );
        self.write_crl();
    }

    fn write_crl(&self) {
        openssl(
            &self.dir,
            &["ca", "-config", "ca.cnf", "-gencrl", "-out", "crl.pem"],
        );
    }
}

/// A test PKI: our CA with a good, a revoked and an expired user, another CA with a user.
struct Pki {
    _dir: tempfile::TempDir,
    ca: Ca,
    john: UserCert,
    fay: UserCert,
    revoked: UserCert,
    expired: UserCert,
    stranger: UserCert,
}

fn pki() -> Pki {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new(dir.path(), "Test Smart Card CA");
    let john = ca.issue(
        "john",
        "/C=GB/O=MyCompany/CN=JohnDoe",
        Some("email:john.doe@example.com, otherName:1.3.6.1.4.1.311.20.2.3;UTF8:jdoe@corp.example"),
        None,
    );
    let fay = ca.issue("fay", "/C=GB/O=MyCompany/CN=FayFresh", None, None);
    let revoked = ca.issue("revoked", "/C=GB/O=MyCompany/CN=RevokedRita", None, None);
    let expired = ca.issue(
        "expired",
        "/C=GB/O=MyCompany/CN=ExpiredEd",
        None,
        Some(("20200101000000Z", "20210101000000Z")),
    );
    ca.revoke(&revoked);
    let other = Ca::new(dir.path(), "Another CA");
    let stranger = other.issue("stranger", "/C=GB/O=MyCompany/CN=JohnDoe", None, None);
    Pki {
        _dir: dir,
        ca,
        john,
        fay,
        revoked,
        expired,
        stranger,
    }
}

/// A server with native TLS asking for client certificates of `pki`'s CA.
async fn tls_app(pki: &Pki, extra: &[(&str, &str)]) -> TestApp {
    let mut builder = AppBuilder::new()
        .set("server.ssl.enabled", "true")
        .set(
            "server.ssl.certificate",
            tls_fixture("server1.pem").to_str().unwrap(),
        )
        .set(
            "server.ssl.key",
            tls_fixture("server1.key").to_str().unwrap(),
        )
        .set("authentication.certificate.enabled", "true")
        .set(
            "authentication.certificate.trust.anchors",
            pki.ca.cert().to_str().unwrap(),
        )
        .set(
            "authentication.certificate.revocation.list.file",
            pki.ca.crl().to_str().unwrap(),
        )
        .set("authentication.certificate.username.template", "(O)-(CN)");
    for (k, v) in extra {
        builder = builder.set(k, v);
    }
    builder.spawn().await
}

fn https(url: &str) -> String {
    url.replacen("http://", "https://", 1)
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
