//! Crafted and hostile SAML 2.0 responses for the service-provider tests: a
//! [`ResponseSpec`] renders a Response with one Assertion, which the real `xmlsec1` CLI
//! signs ([`sign`]) and encrypts for the SP ([`encrypt_assertion`]) (both in `saml_xmlsec`,
//! re-exported here); [`wrap_assertion_as`] builds XML signature wrapping attacks. Nothing
//! writes XML-DSig by hand: a template with empty values goes in, `xmlsec1` fills it.
//!
//! Also the HTTP bindings' encodings: [`form_body`] for HTTP-POST, [`authn_request_redirect`]
//! and [`request_id_from_redirect`] for HTTP-Redirect.
//!
//! Needs `xmlsec1` and `openssl` (`.ci/run` installs them): [`xmlsec1_available`] skips, or
//! fails in CI, without them.
use std::io::{Read, Write};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::saml_xml::{element_span, escape, first_attr, iso8601, random_id, unix_now};
pub use crate::saml_xmlsec::{
    decrypt, encrypt_assertion, encrypt_assertion_with, key_pair, sign, verify, xmlsec1_available,
    Cipher, Sign, Signed,
};

/// The SAML 2.0 assertion namespace.
pub const NS_ASSERTION: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
/// The SAML 2.0 protocol namespace.
pub const NS_PROTOCOL: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
/// NameID format `unspecified`.
pub const NAMEID_UNSPECIFIED: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified";
/// NameID format `emailAddress`.
pub const NAMEID_EMAIL: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";
/// NameID format `persistent`.
pub const NAMEID_PERSISTENT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent";
/// NameID format `transient`.
pub const NAMEID_TRANSIENT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient";
/// Attribute NameFormat `basic`.
pub const ATTRNAME_BASIC: &str = "urn:oasis:names:tc:SAML:2.0:attrname-format:basic";

/// What goes into a crafted Response (and its one Assertion).
#[derive(Clone, Debug)]
pub struct ResponseSpec {
    /// The Issuer of the Response and of the Assertion.
    pub issuer: String,
    /// The Response's Destination (the ACS URL).
    pub destination: Option<String>,
    /// The AuthnRequest ID, in the Response and in the SubjectConfirmationData.
    pub in_response_to: Option<String>,
    /// The one Audience of the AudienceRestriction (none: no restriction at all).
    pub audience: Option<String>,
    /// The SubjectConfirmationData's Recipient.
    pub recipient: Option<String>,
    /// The NameID's value.
    pub name_id: String,
    /// The NameID's Format ([`NAMEID_UNSPECIFIED`] by default).
    pub name_id_format: String,
    /// Attributes (basic name format), each with its values.
    pub attributes: Vec<(String, Vec<String>)>,
    /// Conditions NotBefore (unix seconds).
    pub not_before: i64,
    /// Conditions and SubjectConfirmationData NotOnOrAfter (unix seconds).
    pub not_on_or_after: i64,
    /// The Assertion's ID.
    pub assertion_id: String,
    /// The Response's ID.
    pub response_id: String,
    /// IssueInstant of both, and the AuthnInstant (unix seconds).
    pub issue_instant: i64,
    /// The AuthnStatement's SessionIndex.
    pub session_index: String,
    /// Status `Success`; when false, `Responder` (the Assertion stays in: an SP must not
    /// accept it from a failed Response).
    pub status_success: bool,
}

impl ResponseSpec {
    /// A valid response as an IdP would send it: valid from 30 s ago for 5 minutes, fresh
    /// IDs, the ACS URL as Destination and Recipient, no attributes.
    pub fn new(
        issuer: &str,
        acs_url: &str,
        audience: &str,
        in_response_to: Option<&str>,
        name_id: &str,
    ) -> Self {
        let now = unix_now();
        ResponseSpec {
            issuer: issuer.to_string(),
            destination: Some(acs_url.to_string()),
            in_response_to: in_response_to.map(str::to_string),
            audience: Some(audience.to_string()),
            recipient: Some(acs_url.to_string()),
            name_id: name_id.to_string(),
            name_id_format: NAMEID_UNSPECIFIED.to_string(),
            attributes: Vec::new(),
            not_before: now - 30,
            not_on_or_after: now + 300,
            assertion_id: random_id(),
            response_id: random_id(),
            issue_instant: now,
            session_index: random_id(),
            status_success: true,
        }
    }

    /// Adds an attribute.
    pub fn attribute(mut self, name: &str, values: &[&str]) -> Self {
        let values = values.iter().map(|v| v.to_string()).collect();
        self.attributes.push((name.to_string(), values));
        self
    }

    /// The unsigned Response.
    pub fn to_xml(&self) -> String {
        let mut x = format!(
            r#"<samlp:Response xmlns:samlp="{NS_PROTOCOL}" xmlns:saml="{NS_ASSERTION}" ID="{}" Version="2.0" IssueInstant="{}""#,
            escape(&self.response_id),
            iso8601(self.issue_instant)
        );
        if let Some(d) = &self.destination {
            x.push_str(&format!(r#" Destination="{}""#, escape(d)));
        }
        if let Some(r) = &self.in_response_to {
            x.push_str(&format!(r#" InResponseTo="{}""#, escape(r)));
        }
        let status = if self.status_success {
            "Success"
        } else {
            "Responder"
        };
        x.push_str(&format!(
            r#"><saml:Issuer>{}</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:{status}"/></samlp:Status>"#,
            escape(&self.issuer)
        ));
        x.push_str(&self.assertion_xml());
        x.push_str("</samlp:Response>");
        x
    }

    /// The unsigned Assertion alone (it declares its namespaces itself, so it stays
    /// well-formed when moved, encrypted or decrypted on its own).
    pub fn assertion_xml(&self) -> String {
        let mut x = format!(
            r#"<saml:Assertion xmlns:saml="{NS_ASSERTION}" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ID="{}" Version="2.0" IssueInstant="{}"><saml:Issuer>{}</saml:Issuer>"#,
            escape(&self.assertion_id),
            iso8601(self.issue_instant),
            escape(&self.issuer)
        );
        x.push_str(&format!(
            r#"<saml:Subject><saml:NameID Format="{}">{}</saml:NameID><saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="{}""#,
            escape(&self.name_id_format),
            escape(&self.name_id),
            iso8601(self.not_on_or_after)
        ));
        if let Some(r) = &self.recipient {
            x.push_str(&format!(r#" Recipient="{}""#, escape(r)));
        }
        if let Some(r) = &self.in_response_to {
            x.push_str(&format!(r#" InResponseTo="{}""#, escape(r)));
        }
        x.push_str(&format!(
            r#"/></saml:SubjectConfirmation></saml:Subject><saml:Conditions NotBefore="{}" NotOnOrAfter="{}">"#,
            iso8601(self.not_before),
            iso8601(self.not_on_or_after)
        ));
        if let Some(a) = &self.audience {
            x.push_str(&format!(
                "<saml:AudienceRestriction><saml:Audience>{}</saml:Audience></saml:AudienceRestriction>",
                escape(a)
            ));
        }
        x.push_str(&format!(
            r#"</saml:Conditions><saml:AuthnStatement AuthnInstant="{}" SessionIndex="{}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:Password</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>"#,
            iso8601(self.issue_instant),
            escape(&self.session_index)
        ));
        if !self.attributes.is_empty() {
            x.push_str("<saml:AttributeStatement>");
            for (name, values) in &self.attributes {
                x.push_str(&format!(
                    r#"<saml:Attribute Name="{}" NameFormat="{ATTRNAME_BASIC}">"#,
                    escape(name)
                ));
                for v in values {
                    x.push_str(&format!(
                        r#"<saml:AttributeValue xsi:type="xs:string">{}</saml:AttributeValue>"#,
                        escape(v)
                    ));
                }
                x.push_str("</saml:Attribute>");
            }
            x.push_str("</saml:AttributeStatement>");
        }
        x.push_str("</saml:Assertion>");
        x
    }
}

/// The XML signature wrapping attacks of [`wrap_assertion_as`]: each keeps the signed
/// Assertion intact (so its signature, found by ID, still verifies) and puts an unsigned
/// evil Assertion where an SP that reads "the assertion" without tying it to the verified
/// reference picks it up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wrap {
    /// The evil Assertion first, the signed one after it, both children of the Response
    /// (XSW3 of "On Breaking SAML", Somorovsky et al., USENIX Security 2012).
    EvilFirst,
    /// The signed Assertion moved into the Response's `samlp:Extensions`, the evil one in
    /// its place as the Response's only Assertion child.
    SignedInExtensions,
    /// The signed Assertion moved inside the evil one, as its last child (XSW4).
    SignedInsideEvil,
}

/// [`wrap_assertion_as`] with [`Wrap::EvilFirst`].
pub fn wrap_assertion(signed_xml: &str, evil: &ResponseSpec) -> String {
    wrap_assertion_as(signed_xml, evil, Wrap::EvilFirst)
}

/// An XML signature wrapping of the signed Assertion in `signed_xml` with the (unsigned)
/// Assertion of `evil` (give it an `assertion_id` of its own: `ResponseSpec::new` does). The
/// Response element, and a Response signature if any, are left as they are (a Response
/// signature then no longer verifies).
pub fn wrap_assertion_as(signed_xml: &str, evil: &ResponseSpec, how: Wrap) -> String {
    let (start, end) = element_span(signed_xml, "Assertion").expect("an Assertion to wrap");
    let signed = &signed_xml[start..end];
    let evil = evil.assertion_xml();
    let (before, after) = (&signed_xml[..start], &signed_xml[end..]);
    match how {
        Wrap::EvilFirst => format!("{before}{evil}{signed}{after}"),
        Wrap::SignedInsideEvil => {
            let close = evil.rfind("</saml:Assertion>").unwrap();
            format!(
                "{before}{}{signed}{}{after}",
                &evil[..close],
                &evil[close..]
            )
        }
        Wrap::SignedInExtensions => {
            // Extensions come right after the Response's Issuer (and Signature, if any)
            let without = format!("{before}{evil}{after}");
            let status = element_span(&without, "Status").expect("a Status").0;
            format!(
                "{}<samlp:Extensions xmlns:samlp=\"{NS_PROTOCOL}\">{signed}</samlp:Extensions>{}",
                &without[..status],
                &without[status..]
            )
        }
    }
}

/// The HTTP-POST binding's form: `SAMLResponse` (base64 of the XML) and `RelayState`,
/// `application/x-www-form-urlencoded`.
pub fn form_body(response_xml: &str, relay_state: &str) -> String {
    form_urlencoded::Serializer::new(String::new())
        .append_pair("SAMLResponse", &STANDARD.encode(response_xml))
        .append_pair("RelayState", relay_state)
        .finish()
}

/// An AuthnRequest from `sp_entity_id` (ACS `acs_url`, HTTP-POST) as the HTTP-Redirect
/// binding sends it to `sso_url` (deflated, base64, in `SAMLRequest`; unsigned): the URL
/// and the request's ID.
pub fn authn_request_redirect(
    sso_url: &str,
    sp_entity_id: &str,
    acs_url: &str,
    name_id_format: Option<&str>,
    relay_state: Option<&str>,
) -> (String, String) {
    let id = random_id();
    let mut xml = format!(
        r#"<samlp:AuthnRequest xmlns:samlp="{NS_PROTOCOL}" xmlns:saml="{NS_ASSERTION}" ID="{id}" Version="2.0" IssueInstant="{}" Destination="{}" AssertionConsumerServiceURL="{}" ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"><saml:Issuer>{}</saml:Issuer>"#,
        iso8601(unix_now()),
        escape(sso_url),
        escape(acs_url),
        escape(sp_entity_id)
    );
    if let Some(format) = name_id_format {
        xml.push_str(&format!(
            r#"<samlp:NameIDPolicy Format="{}" AllowCreate="true"/>"#,
            escape(format)
        ));
    }
    xml.push_str("</samlp:AuthnRequest>");
    let mut deflater = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    deflater.write_all(xml.as_bytes()).unwrap();
    let encoded = STANDARD.encode(deflater.finish().unwrap());
    let mut url = url::Url::parse(sso_url).unwrap();
    url.query_pairs_mut().append_pair("SAMLRequest", &encoded);
    if let Some(relay_state) = relay_state {
        url.query_pairs_mut().append_pair("RelayState", relay_state);
    }
    (url.into(), id)
}

/// The AuthnRequest carried by an HTTP-Redirect binding URL (an SP's `Location`), inflated.
pub fn authn_request_from_redirect(location: &str) -> String {
    let url = url::Url::parse(location).expect("an absolute redirect URL");
    let request = url
        .query_pairs()
        .find(|(k, _)| k == "SAMLRequest")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("no SAMLRequest in {location}"));
    let deflated = STANDARD.decode(request).expect("SAMLRequest is base64");
    let mut xml = String::new();
    flate2::read::DeflateDecoder::new(&deflated[..])
        .read_to_string(&mut xml)
        .expect("SAMLRequest is raw DEFLATE of UTF-8");
    xml
}

/// The AuthnRequest ID and the RelayState of an HTTP-Redirect binding URL.
pub fn request_id_from_redirect(location: &str) -> (String, Option<String>) {
    let xml = authn_request_from_redirect(location);
    let id = first_attr(&xml, "AuthnRequest", "ID")
        .unwrap_or_else(|| panic!("no AuthnRequest ID in {xml}"));
    let relay_state = url::Url::parse(location)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "RelayState")
        .map(|(_, v)| v.into_owned());
    (id, relay_state)
}

/// The self-tests run in the SQLite suite only: they need no database.
fn self_test_runs(test: &str) -> bool {
    if crate::helpers::backend_is_postgres() {
        println!("skipped: {test}: a self-test of the SAML test tools, run by the api suite");
        return false;
    }
    xmlsec1_available(test)
}

const IDP: &str = "https://idp.example.org/metadata";
const SP: &str = "http://127.0.0.1:9/authentication";
const ACS: &str = "http://127.0.0.1:9/authentication/saml2/acs";

fn alice() -> ResponseSpec {
    ResponseSpec::new(IDP, ACS, SP, Some("_request-1"), "alice")
        .attribute("mail", &["alice@example.org"])
        .attribute("groups", &["staff", "twc-admins"])
}

#[test]
fn forged_responses_carry_what_their_spec_says() {
    use crate::saml_xml::{attribute_values, first_text};
    let spec = alice();
    let xml = spec.to_xml();
    assert_eq!(
        first_attr(&xml, "Response", "ID"),
        Some(spec.response_id.clone())
    );
    assert_eq!(
        first_attr(&xml, "Response", "Destination").as_deref(),
        Some(ACS)
    );
    assert_eq!(
        first_attr(&xml, "Response", "InResponseTo").as_deref(),
        Some("_request-1")
    );
    assert_eq!(
        first_attr(&xml, "Assertion", "ID"),
        Some(spec.assertion_id.clone())
    );
    assert!(spec.assertion_id.starts_with('_') && spec.response_id.starts_with('_'));
    assert_ne!(spec.assertion_id, spec.response_id);
    assert_eq!(first_text(&xml, "NameID").as_deref(), Some("alice"));
    assert_eq!(
        first_attr(&xml, "NameID", "Format").as_deref(),
        Some(NAMEID_UNSPECIFIED)
    );
    assert_eq!(first_text(&xml, "Audience").as_deref(), Some(SP));
    let confirmation = "SubjectConfirmationData";
    assert_eq!(
        first_attr(&xml, confirmation, "Recipient").as_deref(),
        Some(ACS)
    );
    assert_eq!(
        first_attr(&xml, "Conditions", "NotBefore"),
        Some(iso8601(spec.not_before))
    );
    assert_eq!(attribute_values(&xml, "groups"), ["staff", "twc-admins"]);
    assert_eq!(
        first_attr(&xml, "Attribute", "NameFormat").as_deref(),
        Some(ATTRNAME_BASIC)
    );
    assert!(xml.contains("status:Success"));

    let failed = ResponseSpec {
        status_success: false,
        audience: None,
        ..spec
    }
    .to_xml();
    assert!(failed.contains("status:Responder") && !failed.contains("status:Success"));
    assert!(!failed.contains("Audience"));
}

#[test]
fn xmlsec1_signs_forged_responses_in_each_variant_and_refuses_another_key() {
    if !self_test_runs("xmlsec1_signs_forged_responses_in_each_variant_and_refuses_another_key") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (key, cert) = key_pair(dir.path(), "test IdP");
    let (other_key, other_cert) = key_pair(dir.path(), "another IdP");
    let xml = alice().to_xml();
    for (what, response_signed, assertion_signed) in [
        (Sign::Assertion, false, true),
        (Sign::Response, true, false),
        (Sign::Both, true, true),
        (Sign::Nothing, false, false),
    ] {
        let signed = sign(&xml, what, &key, &cert);
        let response = verify(&signed, &cert, Signed::Response);
        let assertion = verify(&signed, &cert, Signed::Assertion);
        assert_eq!(response.is_ok(), response_signed, "{what:?}: {response:?}");
        assert_eq!(
            assertion.is_ok(),
            assertion_signed,
            "{what:?}: {assertion:?}"
        );
        // the signature sits right after the Issuer, as the schema orders it
        if assertion_signed {
            let (s, e) = element_span(&signed, "Assertion").unwrap();
            let assertion = &signed[s..e];
            let issuer_end = element_span(assertion, "Issuer").unwrap().1;
            assert!(assertion[issuer_end..].starts_with("<ds:Signature"));
            assert!(assertion.contains("xmldsig-more#rsa-sha256"));
        }
        // whoever edits a signed message breaks the signature
        if what != Sign::Nothing {
            let edited = signed.replace(">alice<", ">mallory<");
            assert!(verify(&edited, &cert, Signed::First).is_err(), "{what:?}");
        }
    }
    // signed by another key (its certificate in KeyInfo): not the IdP's signature
    let forged = sign(&xml, Sign::Both, &other_key, &other_cert);
    assert!(forged.contains(&other_cert.lines().nth(1).unwrap()[..40]));
    assert!(verify(&forged, &cert, Signed::Response).is_err());
    assert!(verify(&forged, &cert, Signed::Assertion).is_err());
    assert!(verify(&forged, &other_cert, Signed::Response).is_ok());
}

#[test]
fn wrapped_assertions_keep_the_signed_one_verifiable_beside_the_evil_one() {
    if !self_test_runs("wrapped_assertions_keep_the_signed_one_verifiable_beside_the_evil_one") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (key, cert) = key_pair(dir.path(), "test IdP");
    let signed = sign(&alice().to_xml(), Sign::Assertion, &key, &cert);
    let evil = ResponseSpec::new(IDP, ACS, SP, Some("_request-1"), "mallory")
        .attribute("groups", &["twc-admins"]);
    assert_eq!(
        wrap_assertion(&signed, &evil),
        wrap_assertion_as(&signed, &evil, Wrap::EvilFirst)
    );
    for how in [
        Wrap::EvilFirst,
        Wrap::SignedInExtensions,
        Wrap::SignedInsideEvil,
    ] {
        let wrapped = wrap_assertion_as(&signed, &evil, how);
        // the signed assertion is intact: its signature (the only one) still verifies
        verify(&wrapped, &cert, Signed::First).unwrap_or_else(|e| panic!("{how:?}: {e}"));
        assert_eq!(
            crate::saml_xml::elements(&wrapped, "Signature").len(),
            1,
            "{how:?}"
        );
        assert!(wrapped.contains(&format!("ID=\"{}\"", evil.assertion_id)));
        assert!(wrapped.contains(">alice<") && wrapped.contains(">mallory<"));
        // and the evil assertion is where a naive SP looks
        let (s, e) = element_span(&wrapped, "Response").unwrap();
        let response = &wrapped[s..e];
        let direct_child = match how {
            // the first Assertion in document order
            Wrap::EvilFirst | Wrap::SignedInsideEvil => element_span(response, "Assertion"),
            // the Response's Assertion child (the signed one hides in Extensions)
            Wrap::SignedInExtensions => {
                let ext = element_span(response, "Extensions").unwrap();
                crate::saml_xml::elements(&response[ext.1..], "Assertion")
                    .first()
                    .map(|a| {
                        let start = response.find(a).unwrap();
                        (start, start + a.len())
                    })
            }
        }
        .unwrap();
        let naive = &response[direct_child.0..direct_child.1];
        assert_eq!(
            first_attr(naive, "Assertion", "ID"),
            Some(evil.assertion_id.clone()),
            "{how:?}"
        );
    }
}

#[test]
fn encrypted_assertions_open_with_the_sp_key_only() {
    if !self_test_runs("encrypted_assertions_open_with_the_sp_key_only") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (key, cert) = key_pair(dir.path(), "test IdP");
    let (sp_key, sp_cert) = key_pair(dir.path(), "test SP");
    let (other_key, _) = key_pair(dir.path(), "someone else");
    let signed = sign(&alice().to_xml(), Sign::Assertion, &key, &cert);
    for (encrypted, algorithm) in [
        (encrypt_assertion(&signed, &sp_cert), "xmlenc#aes256-cbc"),
        (
            encrypt_assertion_with(&signed, &sp_cert, Cipher::Aes128Gcm),
            "xmlenc11#aes128-gcm",
        ),
    ] {
        assert!(encrypted.contains("<saml:EncryptedAssertion"));
        assert!(encrypted.contains(algorithm) && encrypted.contains("rsa-oaep-mgf1p"));
        assert!(!encrypted.contains("alice") && element_span(&encrypted, "Assertion").is_none());
        let clear = decrypt(&encrypted, &sp_key).unwrap();
        assert!(clear.contains(">alice<"));
        verify(&clear, &cert, Signed::Assertion).unwrap();
        assert!(decrypt(&encrypted, &other_key).is_err());
    }
    // signing the Response after encrypting covers the EncryptedAssertion
    let both = sign(
        &encrypt_assertion(&signed, &sp_cert),
        Sign::Response,
        &key,
        &cert,
    );
    verify(&both, &cert, Signed::Response).unwrap();
}

#[test]
fn the_bindings_encode_and_decode_requests_and_responses() {
    let (url, id) = authn_request_redirect(
        "http://127.0.0.1:9/sso?x=1",
        SP,
        ACS,
        Some(NAMEID_PERSISTENT),
        Some("relay & state"),
    );
    assert!(url.starts_with("http://127.0.0.1:9/sso?x=1&SAMLRequest="));
    assert_eq!(
        request_id_from_redirect(&url),
        (id.clone(), Some("relay & state".to_string()))
    );
    let request = authn_request_from_redirect(&url);
    assert_eq!(
        first_attr(&request, "NameIDPolicy", "Format").as_deref(),
        Some(NAMEID_PERSISTENT)
    );
    assert_eq!(
        first_attr(&request, "AuthnRequest", "AssertionConsumerServiceURL").as_deref(),
        Some(ACS)
    );
    let (without, _) = authn_request_redirect("http://127.0.0.1:9/sso", SP, ACS, None, None);
    assert_eq!(request_id_from_redirect(&without).1, None);
    assert!(!authn_request_from_redirect(&without).contains("NameIDPolicy"));

    let xml = alice().to_xml();
    let body = form_body(&xml, "relay-1");
    let fields: std::collections::HashMap<String, String> = form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    assert_eq!(fields["RelayState"], "relay-1");
    assert_eq!(
        STANDARD.decode(&fields["SAMLResponse"]).unwrap(),
        xml.as_bytes()
    );
}
