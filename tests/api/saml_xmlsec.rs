//! The `xmlsec1` and `openssl` CLIs for the SAML tests: key pairs, XML-DSig signatures
//! (enveloped, exc-c14n, RSA-SHA256, SHA-256 digests, the certificate in `KeyInfo`) from
//! templates with empty values, their verification against one trusted certificate, and XML
//! Encryption of assertions (RSA-OAEP-MGF1P key transport; AES-256-CBC or AES-128-GCM).
//! `saml_forge` re-exports what the SP tests need.
//!
//! Needs `xmlsec1` and `openssl` (`apt-get install xmlsec1 openssl`; `.ci/run` installs
//! them): [`xmlsec1_available`] skips, or fails in CI, without them.
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::browser::in_ci;
use crate::saml_forge::{NS_ASSERTION, NS_PROTOCOL};
use crate::saml_xml::{element_span, first_attr};

const XMLSEC1: &str = "xmlsec1";
const OPENSSL: &str = "openssl";

/// Whether `xmlsec1` and `openssl` run here (a panic in CI when not).
pub fn xmlsec1_available(test: &str) -> bool {
    let missing: Vec<&str> = [XMLSEC1, OPENSSL]
        .into_iter()
        .filter(|cmd| {
            !Command::new(cmd)
                .arg("version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .collect();
    if missing.is_empty() {
        return true;
    }
    if in_ci() {
        panic!(
            "CI is set, so {test} must run, but this machine lacks {} (apt-get install xmlsec1 openssl)",
            missing.join(", ")
        );
    }
    println!("skipped: {test}: missing {}", missing.join(", "));
    false
}

fn run(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A fresh RSA-2048 key and a self-signed certificate for `CN=<cn>`, made with `openssl`:
/// `<dir>/<cn>.key` (its path is returned) and `<dir>/<cn>.pem` (its PEM is returned).
pub fn key_pair(dir: &Path, cn: &str) -> (PathBuf, String) {
    let stem: String = cn
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let key = dir.join(format!("{stem}.key"));
    let cert = dir.join(format!("{stem}.pem"));
    run(Command::new(OPENSSL)
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .arg("-subj")
        .arg(format!("/CN={cn}"))
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert));
    (key, std::fs::read_to_string(cert).unwrap())
}

/// What [`sign`] signs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sign {
    /// The Assertion only.
    Assertion,
    /// The Response only.
    Response,
    /// The Assertion, then the Response around it (as SimpleSAMLphp does).
    Both,
    /// Nothing: the XML comes back unchanged.
    Nothing,
}

/// The `xmlsec1` options that make `ID` an ID attribute of Responses and Assertions.
fn id_attrs(cmd: &mut Command) -> &mut Command {
    cmd.arg("--id-attr:ID")
        .arg(format!("{NS_PROTOCOL}:Response"))
        .arg("--id-attr:ID")
        .arg(format!("{NS_ASSERTION}:Assertion"))
}

fn signature_template(id: &str) -> String {
    format!(
        r##"<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/><ds:Reference URI="#{id}"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/><ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue></ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue></ds:SignatureValue><ds:KeyInfo><ds:X509Data/></ds:KeyInfo></ds:Signature>"##
    )
}

/// Signs the first `local_name` element (Response or Assertion): a signature template right
/// after its Issuer, filled by `xmlsec1 --sign`.
fn sign_element(xml: &str, local_name: &str, key: &Path, cert_pem: &str) -> String {
    let (start, end) = element_span(xml, local_name)
        .unwrap_or_else(|| panic!("no {local_name} element to sign in {xml}"));
    let element = &xml[start..end];
    let id = first_attr(element, local_name, "ID").expect("the element to sign has an ID");
    let issuer_end = start
        + element_span(element, "Issuer")
            .unwrap_or_else(|| panic!("no Issuer in the {local_name} to sign"))
            .1;
    let template = format!(
        "{}{}{}",
        &xml[..issuer_end],
        signature_template(&id),
        &xml[issuer_end..]
    );
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("template.xml");
    std::fs::write(&input, template).unwrap();
    let cert = dir.path().join("cert.pem");
    std::fs::write(&cert, cert_pem).unwrap();
    let mut key_and_cert = key.as_os_str().to_owned();
    key_and_cert.push(",");
    key_and_cert.push(&cert);
    let out = run(id_attrs(Command::new(XMLSEC1).arg("--sign"))
        .arg("--privkey-pem")
        .arg(key_and_cert)
        // the template just inserted: the one signature without a value yet
        .arg("--node-xpath")
        .arg("(//*[local-name()='SignatureValue' and not(normalize-space())])[1]/..")
        .arg(&input));
    strip_declaration(&String::from_utf8(out).unwrap())
}

fn strip_declaration(xml: &str) -> String {
    let xml = xml.trim();
    match xml.strip_prefix("<?xml") {
        Some(rest) => rest[rest.find("?>").unwrap() + 2..]
            .trim_start()
            .to_string(),
        None => xml.to_string(),
    }
}

/// Signs the Response and/or its Assertion with `key` (whose certificate `cert_pem` goes
/// into `KeyInfo`), with `xmlsec1`.
pub fn sign(xml: &str, what: Sign, key: &Path, cert_pem: &str) -> String {
    match what {
        Sign::Nothing => xml.to_string(),
        Sign::Assertion => sign_element(xml, "Assertion", key, cert_pem),
        Sign::Response => sign_element(xml, "Response", key, cert_pem),
        Sign::Both => {
            let inner = sign_element(xml, "Assertion", key, cert_pem);
            sign_element(&inner, "Response", key, cert_pem)
        }
    }
}

/// Which signature [`verify`] checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signed {
    /// The Response's own signature (a child of the root).
    Response,
    /// The signature inside the first Assertion (in document order).
    Assertion,
    /// The first signature in the document, wherever it is.
    First,
}

/// `xmlsec1 --verify` of one signature against `cert_pem` (and nothing else: a certificate
/// in `KeyInfo` is not trusted); `Err` with `xmlsec1`'s output when it fails.
pub fn verify(xml: &str, cert_pem: &str, which: Signed) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("signed.xml");
    std::fs::write(&input, xml).unwrap();
    let cert = dir.path().join("cert.pem");
    std::fs::write(&cert, cert_pem).unwrap();
    let xpath = match which {
        Signed::Response => "/*[local-name()='Response']/*[local-name()='Signature']",
        Signed::Assertion => "(//*[local-name()='Assertion']/*[local-name()='Signature'])[1]",
        Signed::First => "(//*[local-name()='Signature'])[1]",
    };
    let out = id_attrs(Command::new(XMLSEC1).arg("--verify"))
        .arg("--pubkey-cert-pem")
        .arg(&cert)
        .arg("--node-xpath")
        .arg(xpath)
        .arg(&input)
        .output()
        .unwrap();
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// The content encryption of an EncryptedAssertion (the key is always RSA-OAEP-MGF1P
/// encrypted for the SP's certificate).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cipher {
    /// `http://www.w3.org/2001/04/xmlenc#aes256-cbc`.
    Aes256Cbc,
    /// `http://www.w3.org/2009/xmlenc11#aes128-gcm`.
    Aes128Gcm,
}

/// Replaces the (signed) Assertion with an EncryptedAssertion for `sp_cert_pem`:
/// AES-256-CBC, the key RSA-OAEP encrypted, by `xmlsec1 --encrypt`.
pub fn encrypt_assertion(signed_xml: &str, sp_cert_pem: &str) -> String {
    encrypt_assertion_with(signed_xml, sp_cert_pem, Cipher::Aes256Cbc)
}

/// [`encrypt_assertion`] with the given content encryption.
pub fn encrypt_assertion_with(signed_xml: &str, sp_cert_pem: &str, cipher: Cipher) -> String {
    let (algorithm, session_key) = match cipher {
        Cipher::Aes256Cbc => ("http://www.w3.org/2001/04/xmlenc#aes256-cbc", "aes-256"),
        Cipher::Aes128Gcm => ("http://www.w3.org/2009/xmlenc11#aes128-gcm", "aes-128"),
    };
    let template = format!(
        r#"<xenc:EncryptedData xmlns:xenc="http://www.w3.org/2001/04/xmlenc#" Type="http://www.w3.org/2001/04/xmlenc#Element"><xenc:EncryptionMethod Algorithm="{algorithm}"/><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><xenc:EncryptedKey><xenc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"><ds:DigestMethod Algorithm="http://www.w3.org/2000/09/xmldsig#sha1"/></xenc:EncryptionMethod><xenc:CipherData><xenc:CipherValue/></xenc:CipherData></xenc:EncryptedKey></ds:KeyInfo><xenc:CipherData><xenc:CipherValue/></xenc:CipherData></xenc:EncryptedData>"#
    );
    let dir = tempfile::tempdir().unwrap();
    let (data, tmpl, cert) = (
        dir.path().join("data.xml"),
        dir.path().join("template.xml"),
        dir.path().join("sp.pem"),
    );
    std::fs::write(&data, signed_xml).unwrap();
    std::fs::write(&tmpl, template).unwrap();
    std::fs::write(&cert, sp_cert_pem).unwrap();
    let out = run(Command::new(XMLSEC1)
        .arg("--encrypt")
        .arg("--pubkey-cert-pem")
        .arg(&cert)
        .args(["--session-key", session_key])
        .arg("--xml-data")
        .arg(&data)
        .args(["--node-xpath", "(//*[local-name()='Assertion'])[1]"])
        .arg(&tmpl));
    let out = strip_declaration(&String::from_utf8(out).unwrap());
    let (start, end) = element_span(&out, "EncryptedData").expect("xmlsec1 wrote EncryptedData");
    format!(
        r#"{}<saml:EncryptedAssertion xmlns:saml="{NS_ASSERTION}">{}</saml:EncryptedAssertion>{}"#,
        &out[..start],
        &out[start..end],
        &out[end..]
    )
}

/// `xmlsec1 --decrypt` of the first EncryptedData with the SP's key: the Response with the
/// Assertion in clear inside its EncryptedAssertion element.
pub fn decrypt(xml: &str, sp_key: &Path) -> Result<String, String> {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("encrypted.xml");
    std::fs::write(&input, xml).unwrap();
    let out = Command::new(XMLSEC1)
        .arg("--decrypt")
        .arg("--privkey-pem")
        .arg(sp_key)
        .arg(&input)
        .output()
        .unwrap();
    if out.status.success() {
        Ok(strip_declaration(&String::from_utf8(out.stdout).unwrap()))
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}
