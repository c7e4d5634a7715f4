//! Reading a SAML response the way a security reviewer expects: the XML signatures are
//! checked by `bergshamra` (XML-DSig and XML-Enc, with its SAML hardening: only the
//! identity provider's keys from its metadata, never a key the document carries, and
//! references only to the signature's own element), and then only the signed element is
//! read: the assertion is canonicalised (exclusive C14N, no comments — the very bytes the
//! digest covered) and that text alone is parsed into `samael`'s `Assertion`. An unsigned
//! assertion, a second assertion beside the signed one (signature wrapping), SHA-1, a DTD
//! or RSA 1.5 key transport are refused before anything is read.
use bergshamra::c14n::exclusive;
use bergshamra::keys::loader;
use bergshamra::xml::uppsala::{self, Document, NodeId};
use bergshamra::xml::NodeSet;
use bergshamra::{DsigContext, EncContext, KeysManager, VerifyResult};
use samael::schema::Assertion;

/// The SAML protocol namespace (`Response`).
const PROTOCOL: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
/// The SAML assertion namespace (`Assertion`, `EncryptedAssertion`, `Issuer`).
const ASSERTION: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
const DSIG: &str = "http://www.w3.org/2000/09/xmldsig#";
const XMLENC: &str = "http://www.w3.org/2001/04/xmlenc#";
/// The `Status` a successful response carries.
pub const SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";

/// Why a response is refused before its content is looked at.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unverified {
    /// Not well-formed XML, a DTD, or not a SAML `Response`.
    #[error("not a SAML response: {0}")]
    Malformed(String),
    /// No valid signature of the identity provider covers the assertion.
    #[error("the assertion is not signed by the identity provider{0}")]
    Unsigned(String),
    /// More than one assertion, or the assertion outside its place (signature wrapping).
    #[error("the response has {0}")]
    Wrapped(String),
    /// A signature or digest uses a refused algorithm.
    #[error("refused algorithm {0}")]
    Algorithm(String),
    /// An encrypted assertion that cannot be opened.
    #[error("the encrypted assertion cannot be decrypted: {0}")]
    Encrypted(String),
}

/// What a response says outside its assertion (checked against what we expect, but not
/// trusted for anything else).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Envelope {
    /// `Destination`.
    pub destination: Option<String>,
    /// `InResponseTo`.
    pub in_response_to: Option<String>,
    /// The response's `Issuer`, if it has one.
    pub issuer: Option<String>,
    /// The top-level status code.
    pub status: Option<String>,
    /// Whether the identity provider's signature covers the whole response.
    pub signed: bool,
}

/// A response whose assertion the identity provider signed.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The response around the assertion.
    pub envelope: Envelope,
    /// The assertion, parsed from its signed bytes only.
    pub assertion: Assertion,
    /// Whether the assertion arrived encrypted.
    pub was_encrypted: bool,
}

/// Signature and digest algorithms that are refused (SHA-1, MD5 and their kin).
fn refused_algorithm(uri: &str) -> bool {
    let lower = uri.to_ascii_lowercase();
    ["sha1", "md5", "ripemd"].iter().any(|weak| {
        lower.ends_with(&format!("#{weak}"))
            || lower.ends_with(&format!("-{weak}"))
            || lower.contains(&format!("{weak}-"))
    })
}

fn keys_of(certs: &[Vec<u8>]) -> Result<KeysManager, Unverified> {
    let mut keys = KeysManager::new();
    for der in certs {
        let key = loader::load_x509_cert_der(der).map_err(|e| {
            Unverified::Unsigned(format!(" (its metadata certificate is unusable: {e})"))
        })?;
        keys.add_key(key);
    }
    Ok(keys)
}

fn element_is(doc: &Document<'_>, id: NodeId, ns: &str, local: &str) -> bool {
    doc.element(id)
        .is_some_and(|e| e.matches_name_ns(ns, local))
}

/// The algorithms a signature names (its `SignatureMethod` and `DigestMethod`s).
fn signature_algorithms(doc: &Document<'_>, signature: NodeId) -> Vec<String> {
    let mut found = Vec::new();
    for id in doc.descendants(signature) {
        if element_is(doc, id, DSIG, "SignatureMethod") || element_is(doc, id, DSIG, "DigestMethod")
        {
            if let Some(alg) = doc.get_attribute(id, "Algorithm") {
                found.push(alg.to_owned());
            }
        }
    }
    found
}

/// The nodes covered by a valid identity-provider signature that is a child of the node
/// it covers (an enveloped signature of that element, the only kind SAML uses).
fn signed_nodes(doc: &Document<'_>, keys: KeysManager) -> Result<Vec<NodeId>, Unverified> {
    // `ID` is among bergshamra's ID attributes already
    let ctx = DsigContext::new(keys);
    let results = match bergshamra::dsig::verify::verify_all_document(&ctx, doc) {
        Ok(r) => r,
        // no Signature element at all
        Err(bergshamra::Error::MissingElement(_)) => return Ok(Vec::new()),
        Err(e) => return Err(Unverified::Unsigned(format!(" ({e})"))),
    };
    let mut covered = Vec::new();
    for result in results {
        let VerifyResult::Valid {
            signature_node,
            references,
            ..
        } = result
        else {
            continue;
        };
        if let Some(weak) = signature_algorithms(doc, signature_node)
            .into_iter()
            .find(|a| refused_algorithm(a))
        {
            return Err(Unverified::Algorithm(weak));
        }
        if !references.iter().all(|r| r.digest_verified) {
            continue;
        }
        let parent = doc.parent(signature_node);
        for reference in references {
            if let Some(node) = reference.resolved_node {
                if Some(node) == parent {
                    covered.push(node);
                }
            }
        }
    }
    Ok(covered)
}

/// Exclusive canonical XML (no comments) of the subtree at `node`.
fn canonical(doc: &Document<'_>, node: NodeId) -> Result<String, Unverified> {
    let set = NodeSet::tree_without_comments(node, doc);
    let bytes = exclusive::canonicalize(doc, false, Some(&set), &[] as &[&str])
        .map_err(|e| Unverified::Malformed(format!("canonicalisation failed: {e}")))?;
    String::from_utf8(bytes).map_err(|_| Unverified::Malformed("not UTF-8".into()))
}

fn envelope(doc: &Document<'_>, root: NodeId) -> Envelope {
    let attr = |name: &str| doc.get_attribute(root, name).map(str::to_owned);
    let issuer = doc
        .first_child_element_by_name_ns(root, ASSERTION, "Issuer")
        .and_then(|i| doc.element_text(i))
        .map(|t| t.trim().to_owned());
    let status = doc
        .first_child_element_by_name_ns(root, PROTOCOL, "Status")
        .and_then(|s| doc.first_child_element_by_name_ns(s, PROTOCOL, "StatusCode"))
        .and_then(|c| doc.get_attribute(c, "Value"))
        .map(str::to_owned);
    Envelope {
        destination: attr("Destination"),
        in_response_to: attr("InResponseTo"),
        issuer,
        status,
        signed: false,
    }
}

fn parse(xml: &str) -> Result<Document<'_>, Unverified> {
    uppsala::parse(xml).map_err(|e| Unverified::Malformed(e.to_string()))
}

/// The `Response` element of a parsed document.
fn response_root(doc: &Document<'_>) -> Result<NodeId, Unverified> {
    doc.document_element()
        .filter(|&r| element_is(doc, r, PROTOCOL, "Response"))
        .ok_or_else(|| Unverified::Malformed("the document is not a samlp:Response".into()))
}

/// Refuses RSA 1.5 key transport (Bleichenbacher's attack) before decrypting.
fn check_key_transport(doc: &Document<'_>) -> Result<(), Unverified> {
    for id in doc.get_elements_by_tag_name_ns(XMLENC, "EncryptionMethod") {
        if let Some(alg) = doc.get_attribute(id, "Algorithm") {
            if alg.ends_with("#rsa-1_5") {
                return Err(Unverified::Algorithm(alg.to_owned()));
            }
        }
    }
    Ok(())
}

fn decrypt(xml: &str, sp_key_pem: Option<&[u8]>) -> Result<String, Unverified> {
    let Some(pem) = sp_key_pem else {
        return Err(Unverified::Encrypted(
            "no service-provider key is configured (authentication.saml.sp.key)".into(),
        ));
    };
    let key = loader::load_pem_auto(pem, None)
        .map_err(|e| Unverified::Encrypted(format!("our key cannot be read: {e}")))?;
    let mut keys = KeysManager::new();
    keys.add_key(key);
    let ctx = EncContext::new(keys).with_disable_cipher_reference(true);
    bergshamra::decrypt(&ctx, xml).map_err(|e| Unverified::Encrypted(e.to_string()))
}

/// Verifies `xml` (a decoded `SAMLResponse`) against the identity provider's signing
/// certificates (DER) and returns its assertion, read from signed bytes only.
pub fn verify_response(
    xml: &str,
    idp_certs: &[Vec<u8>],
    sp_key_pem: Option<&[u8]>,
) -> Result<Verified, Unverified> {
    if xml.to_ascii_uppercase().contains("<!DOCTYPE") {
        return Err(Unverified::Malformed("a DTD is not allowed".into()));
    }
    let original = parse(xml)?;
    let root = response_root(&original)?;
    let mut env = envelope(&original, root);
    let response_signed = signed_nodes(&original, keys_of(idp_certs)?)?.contains(&root);
    env.signed = response_signed;

    let encrypted = original.get_elements_by_tag_name_ns(ASSERTION, "EncryptedAssertion");
    let plain = original.get_elements_by_tag_name_ns(ASSERTION, "Assertion");
    match (encrypted.len(), plain.len()) {
        (0, 1) | (1, 0) => {}
        (0, 0) => return Err(Unverified::Wrapped("no assertion".into())),
        (e, p) => {
            return Err(Unverified::Wrapped(format!(
                "{} assertions where one is allowed",
                e + p
            )))
        }
    }
    // the encrypted assertion's plain text replaces it in a second document
    let decrypted;
    let (doc, was_encrypted) = if encrypted.is_empty() {
        (&original, false)
    } else {
        if original.parent(encrypted[0]) != Some(root) {
            return Err(Unverified::Wrapped(
                "the encrypted assertion outside the response".into(),
            ));
        }
        check_key_transport(&original)?;
        decrypted = decrypt(xml, sp_key_pem)?;
        (&parse(&decrypted)?, true)
    };
    let doc_root = response_root(doc)?;
    let assertions = doc.get_elements_by_tag_name_ns(ASSERTION, "Assertion");
    let [assertion] = assertions[..] else {
        return Err(Unverified::Wrapped(format!(
            "{} assertions where one is allowed",
            assertions.len()
        )));
    };
    // its place: a child of the response, or of the EncryptedAssertion there
    let parent = doc.parent(assertion);
    let in_place = parent == Some(doc_root)
        || parent.is_some_and(|p| {
            element_is(doc, p, ASSERTION, "EncryptedAssertion") && doc.parent(p) == Some(doc_root)
        });
    if !in_place {
        return Err(Unverified::Wrapped(
            "the assertion outside its place in the response".into(),
        ));
    }
    let assertion_signed = signed_nodes(doc, keys_of(idp_certs)?)?.contains(&assertion);
    if !assertion_signed && !response_signed {
        return Err(Unverified::Unsigned(String::new()));
    }
    let text = canonical(doc, assertion)?;
    let parsed: Assertion = text
        .parse()
        .map_err(|e| Unverified::Malformed(format!("the assertion cannot be read: {e}")))?;
    Ok(Verified {
        envelope: env,
        assertion: parsed,
        was_encrypted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_algorithms_are_recognised() {
        for weak in [
            "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
            "http://www.w3.org/2000/09/xmldsig#sha1",
            "http://www.w3.org/2001/04/xmldsig-more#rsa-md5",
            "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha1",
        ] {
            assert!(refused_algorithm(weak), "{weak}");
        }
        for strong in [
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
            "http://www.w3.org/2001/04/xmlenc#sha256",
            "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384",
            "http://www.w3.org/2001/10/xml-exc-c14n#",
        ] {
            assert!(!refused_algorithm(strong), "{strong}");
        }
    }

    #[test]
    fn a_dtd_or_another_document_is_refused_before_anything_is_read() {
        let dtd = "<!DOCTYPE r [<!ENTITY a \"x\">]><samlp:Response \
                   xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\"/>";
        assert!(matches!(
            verify_response(dtd, &[], None),
            Err(Unverified::Malformed(_))
        ));
        assert!(matches!(
            verify_response("<a/>", &[], None),
            Err(Unverified::Malformed(_))
        ));
        assert!(matches!(
            verify_response("not xml", &[], None),
            Err(Unverified::Malformed(_))
        ));
        // deep nesting is refused by the parser's depth limit, not by a stack overflow
        let deep = format!(
            "<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\">{}{}\
             </samlp:Response>",
            "<a>".repeat(20_000),
            "</a>".repeat(20_000)
        );
        assert!(matches!(
            verify_response(&deep, &[], None),
            Err(Unverified::Malformed(_))
        ));
    }

    #[test]
    fn an_unsigned_response_is_refused() {
        let xml = "<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" \
                   xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"_r\">\
                   <saml:Assertion ID=\"_a\" Version=\"2.0\" IssueInstant=\"2026-01-01T00:00:00Z\">\
                   <saml:Issuer>idp</saml:Issuer></saml:Assertion></samlp:Response>";
        assert_eq!(
            verify_response(xml, &[], None).unwrap_err(),
            Unverified::Unsigned(String::new())
        );
    }
}
