//! Hostile SAML responses at the assertion consumer, each refused: wrapped (three XML
//! signature wrapping layouts), replayed (the same POST again, and the same assertion ID
//! in a new response), expired, not yet valid, for another audience, to another
//! recipient, answering another request, unsolicited, unsigned, signed by another key,
//! a failed status; and the controls that must pass (a signed assertion, a signed
//! response, an encrypted assertion). The responses are written by `saml_forge` and
//! signed and encrypted by the real `xmlsec1`; the identity provider's metadata names
//! the forger's certificate, as a real one would name its own.
//!
//! Needs `xmlsec1` and `openssl` (`.ci/run` installs them); skipped without them, failed
//! with `CI=true`.
use std::path::PathBuf;

use crate::helpers::{
    html_unescape, location, pkce_pair, query_param, AppBuilder, TestApp, REDIRECT,
};
use crate::saml_forge::{
    encrypt_assertion, form_body, key_pair, request_id_from_redirect, sign, wrap_assertion_as,
    xmlsec1_available, ResponseSpec, Sign, Wrap,
};
use crate::saml_xml::unix_now;

const IDP: &str = "https://idp.example.test/saml";
const SSO: &str = "https://idp.example.test/saml/sso";

/// A server whose identity provider is the forger (its metadata names the forger's
/// certificate), and the forger's keys.
struct Fixture {
    app: TestApp,
    idp_key: PathBuf,
    idp_cert: String,
    sp_cert: String,
    entity_id: String,
    acs: String,
    _keys: tempfile::TempDir,
}

fn metadata(cert_pem: &str) -> String {
    let b64: String = cert_pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    format!(
        r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{IDP}">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing">
      <ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>{b64}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>
    </md:KeyDescriptor>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="{SSO}"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>"#
    )
}

async fn fixture(test: &str) -> Option<Fixture> {
    if !xmlsec1_available(test) {
        return None;
    }
    let keys = tempfile::tempdir().unwrap();
    let (idp_key, idp_cert) = key_pair(keys.path(), "forged test IdP");
    let (sp_key, sp_cert) = key_pair(keys.path(), "authserver SP");
    let md = keys.path().join("idp.xml");
    std::fs::write(&md, metadata(&idp_cert)).unwrap();
    let sp_cert_path = keys.path().join("sp.pem");
    std::fs::write(&sp_cert_path, &sp_cert).unwrap();
    let app = AppBuilder::new()
        .set("authentication.saml.enabled", "true")
        .set(
            "authentication.saml.idp.metadata.file",
            &md.display().to_string(),
        )
        .set("authentication.saml.sp.key", &sp_key.display().to_string())
        .set(
            "authentication.saml.sp.certificate",
            &sp_cert_path.display().to_string(),
        )
        // the refusal page names the reason, so each test can tell which check refused
        .set("authentication.saml.error.visible", "true")
        .spawn()
        .await;
    let entity_id = format!("{}/saml2/metadata", app.issuer);
    let acs = format!("{}/saml2/acs", app.issuer);
    Some(Fixture {
        app,
        idp_key,
        idp_cert,
        sp_cert,
        entity_id,
        acs,
        _keys: keys,
    })
}

impl Fixture {
    /// Starts a sign-in like the login page's button: returns our request ID, the
    /// RelayState and the PKCE verifier.
    async fn begin(&self) -> (String, String, String) {
        let (verifier, challenge) = pkce_pair();
        // prompt=login: the login page even when an earlier case left an SSO session
        let url = self.app.authorize_url(&challenge, &[("prompt", "login")]);
        let page = self.app.login_page(&url).await;
        let start = page.find("/saml2/login?rid=").expect("the SSO button");
        let href = &page[start..];
        let href = html_unescape(&href[..href.find('"').unwrap()]);
        let resp = self
            .app
            .client
            .get(self.app.url(&href))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 302);
        let to = location(&resp);
        assert!(to.starts_with(SSO), "{to}");
        let (id, relay) = request_id_from_redirect(&to);
        (id, relay.expect("RelayState"), verifier)
    }

    /// A valid response for request `id`, naming `user`.
    fn spec(&self, id: &str, user: &str) -> ResponseSpec {
        ResponseSpec::new(IDP, &self.acs, &self.entity_id, Some(id), user)
            .attribute("displayName", &["Forged Test User"])
            .attribute("mail", &[&format!("{user}@example.test")])
    }

    fn signed(&self, spec: &ResponseSpec, what: Sign) -> String {
        sign(&spec.to_xml(), what, &self.idp_key, &self.idp_cert)
    }

    /// Posts a response to the assertion consumer.
    async fn post(&self, xml: &str, relay: &str) -> reqwest::Response {
        self.app
            .client
            .post(self.app.url("/saml2/acs"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(form_body(xml, relay))
            .send()
            .await
            .unwrap()
    }

    /// Posts `xml` for a fresh sign-in and expects a refusal page naming `reason`.
    async fn refused(&self, case: &str, xml: &str, relay: &str, reason: &str) {
        let resp = self.post(xml, relay).await;
        let status = resp.status();
        let body = html_unescape(&resp.text().await.unwrap());
        assert_eq!(status, 400, "{case}: {body}");
        assert!(
            body.contains(reason),
            "{case}: expected {reason:?} in {body}"
        );
        let shown = body
            .split("Reason: ")
            .nth(1)
            .and_then(|r| r.split('<').next())
            .unwrap_or(reason);
        println!("hostile SAML {case}: HTTP {status}, \"{shown}\"");
    }

    /// Follows an accepted response to the client; returns the code.
    async fn accepted(&self, resp: reqwest::Response) -> String {
        let status = resp.status();
        let to = location(&resp);
        assert_eq!(status, 303, "{:?}", resp.text().await);
        assert!(to.contains("/saml2/continue?handle="), "{to}");
        let resp = self
            .app
            .client
            .get(format!("{}{to}", self.app.address))
            .send()
            .await
            .unwrap();
        let end = location(&resp);
        assert!(end.starts_with(REDIRECT), "{end}");
        query_param(&end, "code").expect("code")
    }

    async fn users_named(&self, name: &str) -> i64 {
        self.app
            .sql("SELECT COUNT(*) FROM users WHERE username = $1")
            .bind(name)
            .i64()
            .await
    }
}

#[tokio::test]
async fn signed_assertions_signed_responses_and_encrypted_assertions_sign_in() {
    let Some(f) = fixture("saml_hostile::signed_assertions_sign_in").await else {
        return;
    };
    for (case, what, encrypted) in [
        ("signed assertion", Sign::Assertion, false),
        ("signed response", Sign::Response, false),
        ("both signed", Sign::Both, false),
        ("encrypted signed assertion", Sign::Assertion, true),
    ] {
        let (id, relay, verifier) = f.begin().await;
        let mut xml = f.signed(&f.spec(&id, "carol"), what);
        if encrypted {
            xml = encrypt_assertion(&xml, &f.sp_cert);
            assert!(xml.contains("EncryptedAssertion"), "{case}");
        }
        let started = std::time::Instant::now();
        let resp = f.post(&xml, &relay).await;
        // figures for the note (not asserted): the assertion consumer's answer time
        println!(
            "SAML assertion consumer, {case}: {} ms ({} bytes of XML)",
            started.elapsed().as_millis(),
            xml.len()
        );
        let code = f.accepted(resp).await;
        let resp = f.app.exchange(&code, &verifier).await;
        assert_eq!(resp.status(), 200, "{case}");
        let tokens: serde_json::Value = resp.json().await.unwrap();
        let (_, claims) = crate::helpers::jwt_parts(tokens["id_token"].as_str().unwrap());
        assert_eq!(claims["sub"], "carol", "{case}");
        assert_eq!(claims["name"], "Forged Test User", "{case}");
    }
    assert_eq!(f.users_named("carol").await, 1);
}

#[tokio::test]
async fn unsigned_and_foreign_signed_responses_are_refused() {
    let Some(f) = fixture("saml_hostile::unsigned_and_foreign_signed_responses_are_refused").await
    else {
        return;
    };
    let (id, relay, _) = f.begin().await;
    let unsigned = f.spec(&id, "mallory").to_xml();
    f.refused(
        "unsigned",
        &unsigned,
        &relay,
        "not signed by the identity provider",
    )
    .await;

    // a validly signed response, altered afterwards (the user name changed)
    let (id, relay, _) = f.begin().await;
    let signed = f.signed(&f.spec(&id, "carol"), Sign::Both);
    let tampered = signed.replace(">carol<", ">mallory<");
    assert_ne!(signed, tampered);
    f.refused(
        "altered after signing",
        &tampered,
        &relay,
        "not signed by the identity provider",
    )
    .await;

    let keys = tempfile::tempdir().unwrap();
    let (other_key, other_cert) = key_pair(keys.path(), "someone else");
    let (id, relay, _) = f.begin().await;
    let foreign = sign(
        &f.spec(&id, "mallory").to_xml(),
        Sign::Both,
        &other_key,
        &other_cert,
    );
    f.refused(
        "signed by another key",
        &foreign,
        &relay,
        "not signed by the identity provider",
    )
    .await;
    assert_eq!(f.users_named("mallory").await, 0);
}

#[tokio::test]
async fn wrapped_assertions_are_refused() {
    let Some(f) = fixture("saml_hostile::wrapped_assertions_are_refused").await else {
        return;
    };
    for (case, how) in [
        (
            "wrapped: evil assertion before the signed one",
            Wrap::EvilFirst,
        ),
        (
            "wrapped: signed assertion in Extensions",
            Wrap::SignedInExtensions,
        ),
        (
            "wrapped: signed assertion inside the evil one",
            Wrap::SignedInsideEvil,
        ),
    ] {
        let (id, relay, _) = f.begin().await;
        let signed = f.signed(&f.spec(&id, "carol"), Sign::Assertion);
        let evil = f.spec(&id, "mallory");
        let wrapped = wrap_assertion_as(&signed, &evil, how);
        f.refused(case, &wrapped, &relay, "assertions where one is allowed")
            .await;
    }
    assert_eq!(f.users_named("mallory").await, 0);
    assert_eq!(f.users_named("carol").await, 0);
}

#[tokio::test]
async fn replayed_responses_and_assertions_are_refused() {
    let Some(f) = fixture("saml_hostile::replayed_responses_and_assertions_are_refused").await
    else {
        return;
    };
    let (id, relay, _) = f.begin().await;
    let spec = f.spec(&id, "carol");
    let xml = f.signed(&spec, Sign::Assertion);
    f.accepted(f.post(&xml, &relay).await).await;
    // the same POST again: its RelayState was used up
    f.refused(
        "replayed: the same POST again",
        &xml,
        &relay,
        "expired or was already completed",
    )
    .await;
    // the same assertion (ID) in a response to a new request, validly signed
    let (id2, relay2, _) = f.begin().await;
    let mut again = f.spec(&id2, "carol");
    again.assertion_id = spec.assertion_id.clone();
    let xml = f.signed(&again, Sign::Assertion);
    f.refused(
        "replayed: the same assertion ID for a new request",
        &xml,
        &relay2,
        "already used (replay)",
    )
    .await;
}

#[tokio::test]
async fn expired_early_foreign_and_misdirected_assertions_are_refused() {
    let Some(f) = fixture("saml_hostile::expired_early_foreign_and_misdirected").await else {
        return;
    };
    let now = unix_now();
    type Change = Box<dyn Fn(&mut ResponseSpec)>;
    let cases: Vec<(&str, Change, &str)> = vec![
        (
            "expired",
            Box::new(move |s: &mut ResponseSpec| {
                // issued 200 s ago, valid for 100 s: past its NotOnOrAfter and the skew
                s.issue_instant = now - 200;
                s.not_before = now - 200;
                s.not_on_or_after = now - 100;
            }),
            "",
        ),
        (
            "not yet valid",
            Box::new(move |s: &mut ResponseSpec| {
                s.not_before = now + 3600;
            }),
            "not valid before",
        ),
        (
            "wrong audience",
            Box::new(|s: &mut ResponseSpec| {
                s.audience = Some("https://other-sp.example.test/metadata".into());
            }),
            "for audience",
        ),
        (
            "no audience",
            Box::new(|s: &mut ResponseSpec| s.audience = None),
            "no AudienceRestriction",
        ),
        (
            "wrong recipient and destination",
            Box::new(|s: &mut ResponseSpec| {
                s.destination = Some("https://evil.example.test/acs".into());
                s.recipient = Some("https://evil.example.test/acs".into());
            }),
            "not to our assertion consumer",
        ),
        (
            "answers another request",
            Box::new(|s: &mut ResponseSpec| s.in_response_to = Some("_another-request".into())),
            "not an answer to our request",
        ),
        (
            "unsolicited",
            Box::new(|s: &mut ResponseSpec| s.in_response_to = None),
            "not an answer to our request",
        ),
        (
            "another issuer",
            Box::new(|s: &mut ResponseSpec| s.issuer = "https://evil.example.test/idp".into()),
            "not by the configured identity provider",
        ),
        (
            "failed status",
            Box::new(|s: &mut ResponseSpec| s.status_success = false),
            "the identity provider answered",
        ),
    ];
    for (case, change, reason) in cases {
        let (id, relay, _) = f.begin().await;
        let mut spec = f.spec(&id, "mallory");
        change(&mut spec);
        let xml = f.signed(&spec, Sign::Both);
        let reason = if reason.is_empty() { "expired" } else { reason };
        f.refused(case, &xml, &relay, reason).await;
    }
    assert_eq!(f.users_named("mallory").await, 0);
}

#[tokio::test]
async fn an_accepted_response_finishes_only_in_the_browser_that_started_it() {
    let Some(f) = fixture("saml_hostile::an_accepted_response_finishes_only_in_its_browser").await
    else {
        return;
    };
    let (id, relay, _) = f.begin().await;
    let xml = f.signed(&f.spec(&id, "carol"), Sign::Assertion);
    let resp = f.post(&xml, &relay).await;
    assert_eq!(resp.status(), 303);
    let to = location(&resp);
    // another browser (no cookies) follows the handle: nobody is signed in there
    let other = crate::helpers::bare_client();
    let resp = other
        .get(format!("{}{to}", f.app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body = resp.text().await.unwrap();
    assert!(body.contains("started in another browser"), "{body}");
    println!("hostile SAML continue in another browser: HTTP 400, \"started in another browser\"");
}

#[tokio::test]
async fn unreadable_metadata_or_keys_stop_the_start_naming_the_key_and_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let not_metadata = dir.path().join("idp.xml");
    std::fs::write(&not_metadata, "<html><body>login</body></html>").unwrap();
    let missing = dir.path().join("missing.pem");
    for (extra, needles) in [
        (
            format!(
                "authentication.saml.idp.metadata.file = {}\n",
                not_metadata.display()
            ),
            vec!["authentication.saml.idp.metadata.file", "idp.xml"],
        ),
        (
            format!(
                "authentication.saml.idp.metadata.file = {}\n",
                missing.display()
            ),
            vec!["authentication.saml.idp.metadata.file", "missing.pem"],
        ),
        (
            format!(
                "authentication.saml.idp.metadata.url = http://127.0.0.1:9/md\n\
                 authentication.saml.sp.key = {0}\n\
                 authentication.saml.sp.certificate = {0}\n",
                not_metadata.display()
            ),
            vec!["authentication.saml.sp.key", "not a PEM private key"],
        ),
    ] {
        let text = format!(
            "authentication.client.ids = app\n\
             authentication.redirect.uri.whitelist = https://app.example.com/cb\n\
             authentication.client.secret = test-secret-0123456789\n\
             database.url = sqlite://{}\n\
             authentication.saml.enabled = true\n{extra}",
            dir.path().join("auth.db").display()
        );
        let settings = authserver::config::Settings::from_str(
            &text,
            std::path::Path::new("authserver.properties"),
            &[],
        )
        .unwrap()
        .settings;
        let err = match authserver::startup::Application::build(settings).await {
            Ok(_) => panic!("started with {extra}"),
            Err(e) => e.to_string(),
        };
        for needle in needles {
            assert!(err.contains(needle), "{needle} in {err}");
        }
        assert!(err.contains("authserver.properties"), "{err}");
    }
}
