//! Who a (verified) certificate names: the user name and the display name, each from the
//! subject DN or a subject alternative name through the configured rule, and an e-mail
//! address. The certificate is parsed with `x509-parser`.
use x509_parser::asn1_rs::{Any, FromDer};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;
use x509_parser::x509::X509Name;

use crate::config::{NameRule, SanKind, Template, TemplatePiece};

/// The names a certificate gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    /// The user name (from `username.*`).
    pub username: String,
    /// The display name (from `displayname.*`).
    pub display_name: String,
    /// An RFC 822 SAN, else the DN's `emailAddress`.
    pub email: Option<String>,
}

/// The names in `der` by the two rules; `Err` says what the certificate lacks.
pub fn names(der: &[u8], username: &NameRule, display: &NameRule) -> Result<Names, String> {
    let (_, cert) =
        X509Certificate::from_der(der).map_err(|_| "the certificate cannot be read".to_string())?;
    let user = apply(&cert, username).map_err(|why| format!("no user name: {why}"))?;
    let display_name = apply(&cert, display).map_err(|why| format!("no display name: {why}"))?;
    Ok(Names {
        username: user,
        display_name,
        email: email(&cert),
    })
}

fn sans<'a>(cert: &'a X509Certificate<'a>) -> Vec<&'a GeneralName<'a>> {
    match cert.subject_alternative_name() {
        Ok(Some(ext)) => ext.value.general_names.iter().collect(),
        _ => Vec::new(),
    }
}

fn apply(cert: &X509Certificate<'_>, rule: &NameRule) -> Result<String, String> {
    let Some(kind) = &rule.san else {
        return fill(cert.subject(), &rule.template);
    };
    let all = sans(cert);
    let found = all.iter().find_map(|name| match (kind, name) {
        (SanKind::OtherName(want), GeneralName::OtherName(oid, value))
            if oid.to_id_string() == *want =>
        {
            Some(other_name_text(value))
        }
        (SanKind::Rfc822, GeneralName::RFC822Name(v)) => Some(Some(v.to_string())),
        (SanKind::Dns, GeneralName::DNSName(v)) => Some(Some(v.to_string())),
        (SanKind::DirectoryName, GeneralName::DirectoryName(dn)) => {
            fill(dn, &rule.template).ok().map(Some)
        }
        _ => None,
    });
    match found {
        Some(Some(value)) if !value.trim().is_empty() => Ok(value.trim().to_string()),
        Some(_) => Err("the subject alternative name is not readable text".into()),
        None => Err(match kind {
            SanKind::OtherName(oid) => format!("the certificate has no other name {oid}"),
            SanKind::Rfc822 => "the certificate has no e-mail subject alternative name".into(),
            SanKind::Dns => "the certificate has no DNS subject alternative name".into(),
            SanKind::DirectoryName => format!(
                "the certificate has no directory-name subject alternative name with {}",
                rule.template.source
            ),
        }),
    }
}

/// An `otherName` value: `[0] EXPLICIT` around a string (the UPN is a UTF8String).
fn other_name_text(value: &[u8]) -> Option<String> {
    let (_, explicit) = Any::from_der(value).ok()?;
    let (_, inner) = Any::from_der(explicit.data).ok()?;
    std::str::from_utf8(inner.data).ok().map(str::to_string)
}

/// The template with each `(ATTR)` replaced by the attribute's value in `dn`: the first in
/// the DN's written order (RFC 4514: the most specific) when it occurs more than once.
fn fill(dn: &X509Name<'_>, template: &Template) -> Result<String, String> {
    let mut out = String::new();
    for piece in &template.pieces {
        match piece {
            TemplatePiece::Text(text) => out.push_str(text),
            TemplatePiece::Attribute { name, oid } => {
                let value = dn
                    .iter_attributes()
                    .filter(|a| a.attr_type().to_id_string() == *oid)
                    .filter_map(|a| a.as_str().ok())
                    .last()
                    .ok_or_else(|| format!("the certificate's name has no {name}"))?;
                out.push_str(value);
            }
        }
    }
    Ok(out)
}

fn email(cert: &X509Certificate<'_>) -> Option<String> {
    sans(cert)
        .into_iter()
        .find_map(|name| match name {
            GeneralName::RFC822Name(v) => Some(v.to_string()),
            _ => None,
        })
        .or_else(|| {
            cert.subject()
                .iter_email()
                .filter_map(|a| a.as_str().ok())
                .next()
                .map(str::to_string)
        })
        .filter(|e| e.contains('@') && e.len() <= 320)
}
