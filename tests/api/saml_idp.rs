//! A real SAML 2.0 identity provider for the SAML tests: Debian's SimpleSAMLphp (1.19),
//! run unprivileged by PHP's built-in web server (`php -S 127.0.0.1:<free port>`, document
//! root `/usr/share/simplesamlphp/www`), with its own configuration (`SIMPLESAMLPHP_CONFIG_DIR`),
//! metadata, key pair (made with `openssl` at start), PHP session files, log and temporary
//! files in a temporary directory; killed (with its worker processes) when dropped.
//!
//! # The IdP
//!
//! - Entity ID and metadata URL: `http://127.0.0.1:<port>/saml2/idp/metadata.php`; single
//!   sign-on (HTTP-Redirect binding): `http://127.0.0.1:<port>/saml2/idp/SSOService.php`.
//! - Users (`exampleauth:UserPass`): `alice` / `alice-password` (uid=alice,
//!   mail=alice@example.org, displayName="Alice Liddell", groups=[staff, twc-admins]) and
//!   `bob` / `bob-password` (uid=bob, mail=bob@example.org, displayName="Bob Builder",
//!   groups=[staff]). Attributes go out with those names and the `basic` NameFormat
//!   (`xsi:type="xs:string"` values).
//! - Responses: HTTP-POST binding to the SP's registered ACS URL; the Assertion is signed,
//!   then the Response around it (RSA-SHA256, SHA-256 digests, exc-c14n, the IdP's
//!   certificate in `KeyInfo`). With [`SpForIdp::encryption_cert_pem`] the Assertion is
//!   encrypted (before the Response is signed): `EncryptedAssertion` with AES-128-CBC, the
//!   key RSA-OAEP-MGF1P encrypted (SimpleSAMLphp's choice). Assertions are valid from 30 s
//!   before to 300 s after issue; AudienceRestriction = the SP's entity ID.
//! - NameID, by the AuthnRequest's `NameIDPolicy Format`: `unspecified` (and no policy, and
//!   any format it does not know) → the uid (`alice`); `emailAddress` → the mail;
//!   `persistent` → an opaque, stable per-SP hash of the uid (40 hex digits); `transient` →
//!   a new random ID each time. Each carries `SPNameQualifier` = the SP's entity ID.
//! - AuthnRequests need not be signed; their `AssertionConsumerServiceURL`, if any, must be
//!   the registered one.
//!
//! # What a browser sees
//!
//! 1. `GET SSOService.php?SAMLRequest=…&RelayState=…` answers `302` to
//!    `/module.php/core/loginuserpass.php?AuthState=…` (a session cookie `SimpleSAML` is set).
//! 2. The login page (title "Enter your username and password"): a form `name="f"`,
//!    `method="post"`, `action="?"`, with `<input id="username" name="username">`,
//!    `<input id="password" name="password" type="password">`, a hidden `AuthState`, and
//!    `<button id="submit_button" type="submit">Login</button>`. A wrong password shows the
//!    same form again (with an error box), status 200.
//! 3. The answer to the login POST is the auto-POST page (status 200, title "POST data"):
//!    `<form method="post" action="<ACS URL>">` with hidden `SAMLResponse` and `RelayState`
//!    inputs, a submit `<input type="submit" id="postLoginSubmitButton"/>` (and a
//!    `<button>Submit</button>` in `<noscript>`); `/resources/post.js` clicks
//!    `postLoginSubmitButton` on load, so the browser POSTs to the SP by itself.
//! 4. Later sign-ins in the same browser session skip step 2: `SSOService.php` answers the
//!    auto-POST page directly (after the same redirect dance).
//!
//! [`SamlIdp::sign_in`] walks these pages with `reqwest`. Headless Chromium (playwright-core,
//! `tests/browser/launch.mjs`) was checked to do the whole round trip: `page.goto(<SP's
//! redirect>)`, `fill('#username')`, `fill('#password')`, `click('#submit_button')`, then
//! `waitForURL(<ACS URL>)`: the browser posts `SAMLResponse` and `RelayState` by itself.
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::browser::in_ci;
use crate::saml_forge::{key_pair, NAMEID_EMAIL, NAMEID_UNSPECIFIED};
use crate::saml_idp_config::{
    config_php, idp_hosted_php, pem_body, sp_remote_entry, AUTHSOURCES_PHP,
};
use crate::saml_xml::{elements, first_attr, first_attr_where, AutoPost};

/// Debian's SimpleSAMLphp web root.
const WWW: &str = "/usr/share/simplesamlphp/www";
const PHP: &str = "php";

/// Whether SimpleSAMLphp, PHP (with DOM), `xmlsec1` and `openssl` are here (a panic in CI
/// when not).
pub fn simplesamlphp_available(test: &str) -> bool {
    let mut missing = Vec::new();
    if !Path::new(WWW).join("_include.php").exists() {
        missing.push("SimpleSAMLphp (apt-get install simplesamlphp)");
    }
    let php_with_dom = Command::new(PHP)
        .args(["-r", "exit(extension_loaded('dom') ? 0 : 1);"])
        .stdin(Stdio::null())
        .output()
        .is_ok_and(|o| o.status.success());
    if !php_with_dom {
        missing.push("php with DOM (apt-get install php8.2-cli php8.2-xml)");
    }
    for cmd in ["xmlsec1", "openssl"] {
        if !Command::new(cmd)
            .arg("version")
            .output()
            .is_ok_and(|o| o.status.success())
        {
            missing.push(cmd);
        }
    }
    if missing.is_empty() {
        return true;
    }
    if in_ci() {
        panic!(
            "CI is set, so {test} must run, but this machine lacks {}",
            missing.join(", ")
        );
    }
    println!("skipped: {test}: missing {}", missing.join(", "));
    false
}

/// A service provider the IdP knows.
pub struct SpForIdp<'a> {
    /// The SP's entity ID (the Audience of its assertions).
    pub entity_id: &'a str,
    /// Its assertion consumer service (HTTP-POST binding).
    pub acs_url: &'a str,
    /// the SP's certificate (PEM): when Some, the IdP encrypts the assertion for it
    pub encryption_cert_pem: Option<&'a str>,
    /// the SP's signing certificate (PEM): when Some, the IdP requires its AuthnRequests to
    /// be signed with its key (`validate.authnrequest`) and refuses them otherwise
    pub requests_signed_with: Option<&'a str>,
}

/// A running SimpleSAMLphp identity provider.
pub struct SamlIdp {
    /// `http://127.0.0.1:<port>/` (or another host name: [`SamlIdp::start_as`]).
    pub base_url: String,
    /// The IdP's entity ID (its metadata URL).
    pub entity_id: String,
    /// The IdP's SAML 2.0 metadata, served by SimpleSAMLphp.
    pub metadata_url: String,
    /// The same metadata, saved to a file.
    pub metadata_file: PathBuf,
    /// Single sign-on service, HTTP-Redirect binding.
    pub sso_url: String,
    /// The IdP's signing certificate (PEM).
    pub signing_cert_pem: String,
    /// The IdP's private key (PEM).
    pub signing_key_path: PathBuf,
    dir: tempfile::TempDir,
    child: Child,
    sps: Mutex<BTreeMap<String, String>>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A plain HTTP/1.0 GET (no client library needed before the tests' async runtime): the
/// status and body.
fn http_get(port: u16, path: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(20)))?;
    // in one write: `php -S` calls a request that arrives in pieces malformed
    let request = format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n");
    stream.write_all(request.as_bytes())?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

impl SamlIdp {
    /// Configures and starts SimpleSAMLphp for `sp`, waits until it serves its metadata
    /// (saved to [`SamlIdp::metadata_file`]).
    pub fn start(sp: &SpForIdp<'_>) -> SamlIdp {
        SamlIdp::start_as(sp, "127.0.0.1")
    }

    /// [`SamlIdp::start`] with `host` in the IdP's URLs (it still listens on 127.0.0.1):
    /// with `localhost`, the IdP is another site than an SP at `127.0.0.1`, so a browser
    /// treats its auto-POST as a real IdP's, cross-site (`SameSite=Lax` cookies of the SP
    /// stay home), where at `127.0.0.1` (another port, same site) they would go along.
    pub fn start_as(sp: &SpForIdp<'_>, host: &str) -> SamlIdp {
        let dir = tempfile::tempdir().unwrap();
        for sub in [
            "config", "metadata", "cert", "sessions", "tmp", "data", "log",
        ] {
            std::fs::create_dir(dir.path().join(sub)).unwrap();
        }
        let (key, cert_pem) = key_pair(&dir.path().join("cert"), "SimpleSAMLphp test IdP");
        let signing_key_path = dir.path().join("cert/idp.key");
        std::fs::rename(&key, &signing_key_path).unwrap();
        std::fs::write(dir.path().join("cert/idp.pem"), &cert_pem).unwrap();

        let port = free_port();
        let base_url = format!("http://{host}:{port}/");
        let entity_id = format!("{base_url}saml2/idp/metadata.php");
        let config = dir.path().join("config");
        std::fs::write(config.join("config.php"), config_php(dir.path(), &base_url)).unwrap();
        std::fs::write(config.join("authsources.php"), AUTHSOURCES_PHP).unwrap();
        std::fs::write(
            dir.path().join("metadata/saml20-idp-hosted.php"),
            idp_hosted_php(&entity_id),
        )
        .unwrap();
        let server_log = std::fs::File::create(dir.path().join("log/php-server.log")).unwrap();
        let child = Command::new(PHP)
            // SimpleSAMLphp 1.19 calls strftime(), deprecated in PHP 8.1: its error handler
            // would turn the notice into an exception, so deprecations stay unreported
            .args(["-d", "error_reporting=22527", "-d", "display_errors=0"])
            .arg("-S")
            .arg(format!("127.0.0.1:{port}"))
            .args(["-t", WWW])
            .env("SIMPLESAMLPHP_CONFIG_DIR", &config)
            // several workers: a browser's idle preconnected socket must not stall the rest
            .env("PHP_CLI_SERVER_WORKERS", "4")
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(server_log.try_clone().unwrap())
            .stderr(server_log)
            // its own process group, so that drop kills the workers too
            .process_group(0)
            .spawn()
            .expect("php runs");
        let mut idp = SamlIdp {
            metadata_url: entity_id.clone(),
            metadata_file: dir.path().join("idp-metadata.xml"),
            sso_url: format!("{base_url}saml2/idp/SSOService.php"),
            base_url,
            entity_id,
            signing_cert_pem: cert_pem,
            signing_key_path,
            dir,
            child,
            sps: Mutex::new(BTreeMap::new()),
        };
        idp.add_sp(sp);
        let metadata = idp.wait_for_metadata(port);
        std::fs::write(&idp.metadata_file, metadata).unwrap();
        idp
    }

    fn wait_for_metadata(&mut self, port: u16) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("php -S exited ({status}): {}", self.log());
            }
            match http_get(port, "/saml2/idp/metadata.php") {
                Ok((200, body)) if body.contains("IDPSSODescriptor") => return body,
                Ok((status, body)) => panic!(
                    "SimpleSAMLphp's metadata: status {status}: {body}\n{}",
                    self.log()
                ),
                Err(_) => {}
            }
            assert!(
                Instant::now() < deadline,
                "SimpleSAMLphp did not start: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Registers another SP, or replaces the one with the same entity ID (SimpleSAMLphp reads
    /// its metadata files on every request: no restart).
    pub fn add_sp(&self, sp: &SpForIdp<'_>) {
        let mut sps = self.sps.lock().unwrap();
        sps.insert(sp.entity_id.to_string(), sp_remote_entry(sp));
        let file: String = std::iter::once("<?php\n".to_string())
            .chain(sps.values().cloned())
            .collect();
        // written aside and renamed: a request in flight reads the old file or the new one
        let metadata = self.dir.path().join("metadata");
        std::fs::write(metadata.join("sp-remote.next"), file).unwrap();
        std::fs::rename(
            metadata.join("sp-remote.next"),
            metadata.join("saml20-sp-remote.php"),
        )
        .unwrap();
    }

    /// SimpleSAMLphp's log and PHP's request log, for failure messages.
    pub fn log(&self) -> String {
        let read = |name: &str| {
            std::fs::read_to_string(self.dir.path().join("log").join(name)).unwrap_or_default()
        };
        format!(
            "--- simplesamlphp.log\n{}\n--- php -S\n{}",
            read("simplesamlphp.log"),
            read("php-server.log")
        )
    }

    /// Walks the IdP's pages with `client` (which must keep cookies; redirects are followed
    /// here either way) from `sso_redirect` (an HTTP-Redirect binding URL, e.g. an SP's
    /// `Location`): the login form, if the IdP has no session yet, gets `user` and
    /// `password`; returns the auto-POST form the browser would submit to the SP.
    pub async fn sign_in(
        &self,
        client: &reqwest::Client,
        sso_redirect: &str,
        user: &str,
        password: &str,
    ) -> AutoPost {
        let (url, page) = self.follow(client, client.get(sso_redirect)).await;
        if let Some(post) = AutoPost::parse(&page) {
            return post;
        }
        let auth_state = first_attr_where(&page, "input", "name", "AuthState", "value")
            .unwrap_or_else(|| panic!("not the login page ({url}): {page}\n{}", self.log()));
        let action = url.join("?").unwrap();
        let form = client.post(action).form(&[
            ("username", user),
            ("password", password),
            ("AuthState", &auth_state),
        ]);
        let (url, page) = self.follow(client, form).await;
        AutoPost::parse(&page).unwrap_or_else(|| {
            panic!(
                "no auto-POST page after signing in as {user} ({url}): {page}\n{}",
                self.log()
            )
        })
    }

    /// Sends `request`, then follows redirects: the final URL and page.
    async fn follow(
        &self,
        client: &reqwest::Client,
        request: reqwest::RequestBuilder,
    ) -> (reqwest::Url, String) {
        let mut response = request.send().await.unwrap();
        for _ in 0..10 {
            if !response.status().is_redirection() {
                break;
            }
            let location = response.headers()["location"].to_str().unwrap();
            let next = response.url().join(location).unwrap();
            response = client.get(next).send().await.unwrap();
        }
        let url = response.url().clone();
        let status = response.status();
        let page = response.text().await.unwrap();
        assert!(
            status.is_success(),
            "SimpleSAMLphp answered {status} at {url}: {page}\n{}",
            self.log()
        );
        (url, page)
    }
}

impl Drop for SamlIdp {
    fn drop(&mut self) {
        // SIGKILL to the whole group: `php -S` and its workers
        unsafe {
            libc::kill(-(self.child.id() as i32), libc::SIGKILL);
        }
        let _ = self.child.wait();
    }
}

/// The self-tests run in the SQLite suite only: they need no database.
fn self_test_runs(test: &str) -> bool {
    if crate::helpers::backend_is_postgres() {
        println!("skipped: {test}: a self-test of the SAML test tools, run by the api suite");
        return false;
    }
    simplesamlphp_available(test)
}

/// A made-up SP on a port nothing listens on (the tests never post to it).
fn made_up_sp() -> (String, String) {
    let entity_id = format!("http://127.0.0.1:{}/authentication", free_port());
    let acs_url = format!("{entity_id}/saml2/acs");
    (entity_id, acs_url)
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn simplesamlphp_signs_alice_in_with_a_signed_response_and_assertion() {
    use crate::saml_forge::{
        authn_request_redirect, form_body, request_id_from_redirect, verify, Signed,
    };
    use crate::saml_xml::{attribute_values, first_text};
    let test = "simplesamlphp_signs_alice_in_with_a_signed_response_and_assertion";
    if !self_test_runs(test) {
        return;
    }
    let (sp, acs) = made_up_sp();
    let started = Instant::now();
    let idp = SamlIdp::start(&SpForIdp {
        entity_id: &sp,
        acs_url: &acs,
        encryption_cert_pem: None,
        requests_signed_with: None,
    });
    let start_time = started.elapsed();

    // its metadata: an IdP with its signing certificate, the same served and saved
    let served = reqwest::get(&idp.metadata_url)
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let saved = std::fs::read_to_string(&idp.metadata_file).unwrap();
    assert_eq!(served, saved);
    assert!(idp.metadata_url.starts_with(&idp.base_url));
    assert_eq!(
        first_attr(&saved, "EntityDescriptor", "entityID"),
        Some(idp.entity_id.clone())
    );
    let descriptor = elements(&saved, "IDPSSODescriptor");
    assert_eq!(descriptor.len(), 1, "{saved}");
    assert!(descriptor[0].contains(&pem_body(&idp.signing_cert_pem)));
    assert!(descriptor[0].contains(&format!("Location=\"{}\"", idp.sso_url)));

    // an SP-initiated sign-in, as the HTTP-Redirect binding sends it
    let (url, request_id) = authn_request_redirect(
        &idp.sso_url,
        &sp,
        &acs,
        Some(NAMEID_UNSPECIFIED),
        Some("relay-123"),
    );
    assert_eq!(
        request_id_from_redirect(&url),
        (request_id.clone(), Some("relay-123".to_string()))
    );
    let started = Instant::now();
    let post = idp
        .sign_in(&client(), &url, "alice", "alice-password")
        .await;
    let round_trip = started.elapsed();
    println!("SimpleSAMLphp start: {start_time:?}, sign-in round trip: {round_trip:?}");
    assert_eq!(post.action, acs);
    assert_eq!(post.relay_state.as_deref(), Some("relay-123"));
    let xml = post.response_xml();
    assert_eq!(post.form_body(), form_body(&xml, "relay-123"));

    let cert = &idp.signing_cert_pem;
    verify(&xml, cert, Signed::Response).unwrap();
    verify(&xml, cert, Signed::Assertion).unwrap();
    let other = crate::saml_forge::key_pair(idp.dir.path(), "not the IdP").1;
    assert!(verify(&xml, &other, Signed::Response).is_err());
    assert!(verify(&xml, &other, Signed::Assertion).is_err());
    assert!(xml.contains("xmldsig-more#rsa-sha256"));
    // the IdP's own key signs crafted responses the SP cannot tell from the IdP's
    let crafted = crate::saml_forge::ResponseSpec::new(&idp.entity_id, &acs, &sp, None, "bob");
    let crafted = crate::saml_forge::sign(
        &crafted.to_xml(),
        crate::saml_forge::Sign::Both,
        &idp.signing_key_path,
        cert,
    );
    verify(&crafted, cert, Signed::Assertion).unwrap();

    assert_eq!(
        first_attr(&xml, "Response", "InResponseTo"),
        Some(request_id.clone())
    );
    assert_eq!(
        first_attr(&xml, "Response", "Destination"),
        Some(acs.clone())
    );
    assert_eq!(first_text(&xml, "Issuer"), Some(idp.entity_id.clone()));
    assert!(xml.contains("urn:oasis:names:tc:SAML:2.0:status:Success"));
    assert_eq!(first_text(&xml, "NameID").as_deref(), Some("alice"));
    assert_eq!(
        first_attr(&xml, "NameID", "Format").as_deref(),
        Some(NAMEID_UNSPECIFIED)
    );
    let confirmation = "SubjectConfirmationData";
    assert_eq!(
        first_attr(&xml, confirmation, "Recipient"),
        Some(acs.clone())
    );
    assert_eq!(
        first_attr(&xml, confirmation, "InResponseTo"),
        Some(request_id)
    );
    assert_eq!(first_text(&xml, "Audience"), Some(sp.clone()));
    assert_eq!(attribute_values(&xml, "uid"), ["alice"]);
    assert_eq!(attribute_values(&xml, "mail"), ["alice@example.org"]);
    assert_eq!(attribute_values(&xml, "displayName"), ["Alice Liddell"]);
    assert_eq!(attribute_values(&xml, "groups"), ["staff", "twc-admins"]);
    assert_eq!(
        first_attr(&xml, "Attribute", "NameFormat").as_deref(),
        Some(crate::saml_forge::ATTRNAME_BASIC)
    );
}

/// Signs bob in at `url` (with `browser`'s IdP session, if any): his NameID's format and value.
async fn bob_name_id(idp: &SamlIdp, browser: &reqwest::Client, url: String) -> (String, String) {
    use crate::saml_xml::{attribute_values, first_text};
    let xml = idp
        .sign_in(browser, &url, "bob", "bob-password")
        .await
        .response_xml();
    assert_eq!(attribute_values(&xml, "groups"), ["staff"]);
    let format = first_attr(&xml, "NameID", "Format").unwrap();
    (format, first_text(&xml, "NameID").unwrap())
}

#[tokio::test]
async fn simplesamlphp_answers_each_name_id_format_and_remembers_the_session() {
    use crate::saml_forge::{authn_request_redirect, NAMEID_PERSISTENT, NAMEID_TRANSIENT};
    let test = "simplesamlphp_answers_each_name_id_format_and_remembers_the_session";
    if !self_test_runs(test) {
        return;
    }
    let (sp, acs) = made_up_sp();
    let idp = SamlIdp::start(&SpForIdp {
        entity_id: &sp,
        acs_url: &acs,
        encryption_cert_pem: None,
        requests_signed_with: None,
    });
    // one browser: bob signs in once, the later requests ride on the IdP's session
    let browser = client();
    let name_id = |format: Option<&'static str>| {
        let (url, _) = authn_request_redirect(&idp.sso_url, &sp, &acs, format, None);
        bob_name_id(&idp, &browser, url)
    };
    let unspecified = (NAMEID_UNSPECIFIED.to_string(), "bob".to_string());
    assert_eq!(name_id(None).await, unspecified);
    assert_eq!(name_id(Some(NAMEID_UNSPECIFIED)).await, unspecified);
    let kerberos = "urn:oasis:names:tc:SAML:2.0:nameid-format:kerberos";
    assert_eq!(name_id(Some(kerberos)).await, unspecified);
    assert_eq!(
        name_id(Some(NAMEID_EMAIL)).await,
        (NAMEID_EMAIL.to_string(), "bob@example.org".to_string())
    );
    let (format, persistent) = name_id(Some(NAMEID_PERSISTENT)).await;
    assert_eq!(format, NAMEID_PERSISTENT);
    assert!(persistent.len() == 40 && persistent.chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(name_id(Some(NAMEID_PERSISTENT)).await.1, persistent);
    let (format, transient) = name_id(Some(NAMEID_TRANSIENT)).await;
    assert_eq!(format, NAMEID_TRANSIENT);
    assert!(transient.starts_with('_'));
    assert_ne!(name_id(Some(NAMEID_TRANSIENT)).await.1, transient);
}

#[tokio::test]
async fn simplesamlphp_encrypts_the_assertion_for_an_sp_with_a_certificate() {
    use crate::saml_forge::{authn_request_redirect, decrypt, key_pair, verify, Signed};
    let test = "simplesamlphp_encrypts_the_assertion_for_an_sp_with_a_certificate";
    if !self_test_runs(test) {
        return;
    }
    let (plain_sp, plain_acs) = made_up_sp();
    let idp = SamlIdp::start_as(
        &SpForIdp {
            entity_id: &plain_sp,
            acs_url: &plain_acs,
            encryption_cert_pem: None,
            requests_signed_with: None,
        },
        "localhost",
    );
    assert!(idp.sso_url.starts_with("http://localhost:"));
    // a second SP, with an encryption certificate, registered while the IdP runs
    let keys = tempfile::tempdir().unwrap();
    let (sp_key, sp_cert) = key_pair(keys.path(), "test SP");
    let (other_key, _) = key_pair(keys.path(), "not the SP");
    let (sp, acs) = made_up_sp();
    idp.add_sp(&SpForIdp {
        entity_id: &sp,
        acs_url: &acs,
        encryption_cert_pem: Some(&sp_cert),
        requests_signed_with: None,
    });
    let (url, request_id) = authn_request_redirect(&idp.sso_url, &sp, &acs, None, None);
    let post = idp
        .sign_in(&client(), &url, "alice", "alice-password")
        .await;
    assert_eq!(post.action, acs);
    let xml = post.response_xml();
    assert_eq!(elements(&xml, "EncryptedAssertion").len(), 1, "{xml}");
    assert!(elements(&xml, "Assertion").is_empty() && !xml.contains("alice"));
    assert_eq!(
        first_attr(&xml, "Response", "InResponseTo"),
        Some(request_id)
    );
    // the Response signature covers the encrypted assertion
    verify(&xml, &idp.signing_cert_pem, Signed::Response).unwrap();
    assert!(decrypt(&xml, &other_key).is_err());
    let clear = decrypt(&xml, &sp_key).unwrap();
    verify(&clear, &idp.signing_cert_pem, Signed::Assertion).unwrap();
    assert!(clear.contains(">alice</saml:NameID>"), "{clear}");
}
