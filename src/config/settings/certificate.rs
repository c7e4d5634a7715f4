//! `authentication.certificate.*`: smart-card (CAC/PIV) client-certificate login, with
//! Teamwork Cloud's key spellings: where the user name and display name come from (the
//! subject DN or a subject alternative name, through a template such as `(O)-(CN)`), the
//! trust anchors, the revocation lists and the proxy header.

use std::path::PathBuf;

use url::Url;

use crate::config::reader::Reader;
use crate::config::values::display_path;
use crate::config::ConfigError;

use super::ServerSettings;

/// Distinguished-name attributes a template may name, with their OIDs (RFC 4514 names
/// and the usual others). Matching is case-insensitive.
pub const DN_ATTRIBUTES: &[(&str, &str)] = &[
    ("CN", "2.5.4.3"),
    ("SN", "2.5.4.4"),
    ("SERIALNUMBER", "2.5.4.5"),
    ("C", "2.5.4.6"),
    ("L", "2.5.4.7"),
    ("ST", "2.5.4.8"),
    ("STREET", "2.5.4.9"),
    ("O", "2.5.4.10"),
    ("OU", "2.5.4.11"),
    ("T", "2.5.4.12"),
    ("TITLE", "2.5.4.12"),
    ("GN", "2.5.4.42"),
    ("GIVENNAME", "2.5.4.42"),
    ("INITIALS", "2.5.4.43"),
    ("GENERATIONQUALIFIER", "2.5.4.44"),
    ("DNQUALIFIER", "2.5.4.46"),
    ("PSEUDONYM", "2.5.4.65"),
    ("DC", "0.9.2342.19200300.100.1.25"),
    ("UID", "0.9.2342.19200300.100.1.1"),
    ("E", "1.2.840.113549.1.9.1"),
    ("EMAILADDRESS", "1.2.840.113549.1.9.1"),
];

/// The Microsoft user principal name, the usual `otherName` of smart-card certificates.
pub const UPN_OID: &str = "1.3.6.1.4.1.311.20.2.3";

/// One piece of a name template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplatePiece {
    /// Literal text.
    Text(String),
    /// The value of a DN attribute: its name as written (`CN`) and its OID.
    Attribute {
        /// The name in the template, upper-cased.
        name: String,
        /// Its OID, dotted.
        oid: &'static str,
    },
}

/// A name template: `(O)-(CN)` is the O value, a dash and the CN value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// As written in the file.
    pub source: String,
    /// Literal text and attribute placeholders, in order.
    pub pieces: Vec<TemplatePiece>,
}

impl Template {
    /// Parses `(ATTR)` placeholders and literal text; an unknown attribute or an
    /// unbalanced parenthesis is refused with what was expected.
    pub fn parse(text: &str) -> Result<Template, String> {
        let mut pieces = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            match rest.find(['(', ')']) {
                Some(i) if rest.as_bytes()[i] == b')' => {
                    return Err("a template whose parentheses enclose attribute names, \
                                such as (CN) or (O)-(CN): a ')' has no '('"
                        .into())
                }
                Some(i) => {
                    if i > 0 {
                        pieces.push(TemplatePiece::Text(rest[..i].to_string()));
                    }
                    let after = &rest[i + 1..];
                    let Some(end) = after.find(')') else {
                        return Err(
                            "a template such as (CN) or (O)-(CN): a '(' is not closed".into()
                        );
                    };
                    let name = after[..end].trim().to_ascii_uppercase();
                    let Some((_, oid)) = DN_ATTRIBUTES.iter().find(|(n, _)| *n == name) else {
                        return Err(format!(
                            "a template whose placeholders are DN attribute names ({}); \
                             ({}) is not one",
                            DN_ATTRIBUTES
                                .iter()
                                .map(|(n, _)| *n)
                                .collect::<Vec<_>>()
                                .join(", "),
                            &after[..end]
                        ));
                    };
                    pieces.push(TemplatePiece::Attribute { name, oid });
                    rest = &after[end + 1..];
                }
                None => {
                    pieces.push(TemplatePiece::Text(rest.to_string()));
                    rest = "";
                }
            }
        }
        if !pieces
            .iter()
            .any(|p| matches!(p, TemplatePiece::Attribute { .. }))
        {
            return Err("a template with at least one attribute placeholder, such as (CN)".into());
        }
        Ok(Template {
            source: text.to_string(),
            pieces,
        })
    }
}

/// Which subject alternative name a name comes from (`*.san.type`, Teamwork Cloud's
/// numbers: the GeneralName tags of RFC 5280).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SanKind {
    /// `0`: an `otherName` of this OID (`*.san.id`; the UPN by default).
    OtherName(String),
    /// `1`: an RFC 822 name (e-mail address).
    Rfc822,
    /// `2`: a DNS name.
    Dns,
    /// `4`: a directory name, through the template.
    DirectoryName,
}

/// Where a name (the user name, the display name) comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameRule {
    /// `dn` (`None`: the subject DN) or `san` (this kind of SAN).
    pub san: Option<SanKind>,
    /// Applied to the subject DN, or to a directory-name SAN.
    pub template: Template,
}

impl NameRule {
    fn read(r: &Reader<'_>, keys: &NameKeys) -> Result<NameRule, ConfigError> {
        let template = r.defaulted(keys.template, Template::parse)?;
        let source = r.defaulted(keys.source, |v| match v.to_ascii_lowercase().as_str() {
            "dn" => Ok(false),
            "san" => Ok(true),
            _ => Err(
                "dn (the subject distinguished name) or san (a subject alternative name)"
                    .to_string(),
            ),
        })?;
        if !source {
            return Ok(NameRule {
                san: None,
                template,
            });
        }
        let oid = r.defaulted(keys.san_id, |v| {
            let ok = !v.is_empty()
                && v.split('.').count() >= 2
                && v.split('.')
                    .all(|arc| !arc.is_empty() && arc.bytes().all(|b| b.is_ascii_digit()));
            if ok {
                Ok(v.to_string())
            } else {
                Err(format!(
                    "a dotted object identifier such as {UPN_OID} (the user principal name)"
                ))
            }
        })?;
        let kind = r.defaulted(keys.san_type, |v| match v {
            "0" => Ok(SanKind::OtherName(oid.clone())),
            "1" => Ok(SanKind::Rfc822),
            "2" => Ok(SanKind::Dns),
            "4" => Ok(SanKind::DirectoryName),
            _ => Err(
                "0 (other name), 1 (RFC 822 name), 2 (DNS name) or 4 (directory name)".to_string(),
            ),
        })?;
        Ok(NameRule {
            san: Some(kind),
            template,
        })
    }

    fn effective(&self, keys: &NameKeys) -> Vec<(&'static str, String)> {
        let (source, san_type, san_id) = match &self.san {
            None => ("dn", "4".to_string(), UPN_OID.to_string()),
            Some(SanKind::OtherName(oid)) => ("san", "0".to_string(), oid.clone()),
            Some(SanKind::Rfc822) => ("san", "1".to_string(), UPN_OID.to_string()),
            Some(SanKind::Dns) => ("san", "2".to_string(), UPN_OID.to_string()),
            Some(SanKind::DirectoryName) => ("san", "4".to_string(), UPN_OID.to_string()),
        };
        vec![
            (keys.source, source.to_string()),
            (keys.san_type, san_type),
            (keys.san_id, san_id),
            (keys.template, self.template.source.clone()),
        ]
    }
}

struct NameKeys {
    source: &'static str,
    san_type: &'static str,
    san_id: &'static str,
    template: &'static str,
}

const USERNAME: NameKeys = NameKeys {
    source: "authentication.certificate.username.source",
    san_type: "authentication.certificate.username.san.type",
    san_id: "authentication.certificate.username.san.id",
    template: "authentication.certificate.username.template",
};

const DISPLAY_NAME: NameKeys = NameKeys {
    source: "authentication.certificate.displayname.source",
    san_type: "authentication.certificate.displayname.san.type",
    san_id: "authentication.certificate.displayname.san.id",
    template: "authentication.certificate.displayname.template",
};

/// `authentication.certificate.*` settings.
#[derive(Debug, Clone)]
pub struct CertificateSettings {
    /// Client-certificate login on (`authentication.certificate.enabled`).
    pub enabled: bool,
    /// PEM file of the CA certificates user certificates must chain to
    /// (`authentication.certificate.trust.anchors`); set when enabled.
    pub trust_anchors: Option<PathBuf>,
    /// Where the user name comes from.
    pub username: NameRule,
    /// Where the display name comes from.
    pub display_name: NameRule,
    /// CRL file, PEM or DER (`authentication.certificate.revocation.list.file`).
    pub crl_file: Option<PathBuf>,
    /// CRL URL (`authentication.certificate.revocation.list.url`).
    pub crl_url: Option<Url>,
    /// Seconds between re-reads of the CRL file and URL
    /// (`authentication.certificate.revocation.list.refresh`).
    pub crl_refresh: u64,
    /// Whether a trusted proxy may pass the certificate in a header
    /// (`authentication.certificate.headers.enabled`).
    pub headers_enabled: bool,
    /// That header, lower-case (`authentication.certificate.header`).
    pub header: String,
}

impl CertificateSettings {
    pub(super) fn read(
        r: &Reader<'_>,
        server: &ServerSettings,
        warnings: &mut Vec<String>,
    ) -> Result<Self, ConfigError> {
        let file = r.path.display().to_string();
        let enabled = r.boolean("authentication.certificate.enabled")?;
        let crl_url =
            r.parse(
                "authentication.certificate.revocation.list.url",
                |v| match Url::parse(v) {
                    Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => {
                        Ok(url)
                    }
                    _ => Err("an absolute http(s) URL of a certificate revocation list".into()),
                },
            )?;
        let header = r.defaulted("authentication.certificate.header", |v| {
            let ok = !v.is_empty()
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if ok {
                Ok(v.to_ascii_lowercase())
            } else {
                Err("an HTTP header name such as X-SSL-Client-Cert".into())
            }
        })?;
        let settings = CertificateSettings {
            enabled,
            trust_anchors: r
                .optional("authentication.certificate.trust.anchors")?
                .map(PathBuf::from),
            username: NameRule::read(r, &USERNAME)?,
            display_name: NameRule::read(r, &DISPLAY_NAME)?,
            crl_file: r
                .optional("authentication.certificate.revocation.list.file")?
                .map(PathBuf::from),
            crl_url,
            crl_refresh: r.duration("authentication.certificate.revocation.list.refresh")?,
            headers_enabled: r.boolean("authentication.certificate.headers.enabled")?,
            header,
        };
        if !enabled {
            return Ok(settings);
        }
        let inconsistent = |message: &str| ConfigError::Inconsistent {
            path: r.path.to_path_buf(),
            message: message.to_string(),
        };
        if settings.trust_anchors.is_none() {
            return Err(inconsistent(
                "authentication.certificate.enabled = true requires \
                 authentication.certificate.trust.anchors (a PEM file of the CA certificates \
                 that issue the users' certificates)",
            ));
        }
        if !server.ssl.enabled && !settings.headers_enabled {
            return Err(inconsistent(
                "authentication.certificate.enabled = true requires server.ssl.enabled = true \
                 (the server asks for the certificate itself) or \
                 authentication.certificate.headers.enabled = true (a TLS proxy in \
                 server.trusted.proxies passes it on)",
            ));
        }
        if settings.headers_enabled && server.trusted_proxies.is_empty() {
            return Err(inconsistent(
                "authentication.certificate.headers.enabled = true requires \
                 server.trusted.proxies: the certificate header is believed only from them",
            ));
        }
        if settings.crl_file.is_none() && settings.crl_url.is_none() {
            warnings.push(format!(
                "{file}: authentication.certificate.enabled = true without \
                 authentication.certificate.revocation.list.file or .url: revoked \
                 certificates are not detected"
            ));
        }
        if settings.crl_refresh == 0 {
            return Err(inconsistent(
                "authentication.certificate.revocation.list.refresh must be at least 1 second",
            ));
        }
        Ok(settings)
    }

    /// The `authentication.certificate.*` rows of the report, in table order.
    pub(super) fn effective(&self) -> Vec<(&'static str, String)> {
        let mut rows = vec![
            (
                "authentication.certificate.enabled",
                self.enabled.to_string(),
            ),
            (
                "authentication.certificate.trust.anchors",
                display_path(self.trust_anchors.as_ref()),
            ),
        ];
        rows.extend(self.username.effective(&USERNAME));
        rows.extend(self.display_name.effective(&DISPLAY_NAME));
        rows.extend([
            (
                "authentication.certificate.revocation.list.file",
                display_path(self.crl_file.as_ref()),
            ),
            (
                "authentication.certificate.revocation.list.url",
                self.crl_url
                    .as_ref()
                    .map(|u| u.as_str().to_string())
                    .unwrap_or_default(),
            ),
            (
                "authentication.certificate.revocation.list.refresh",
                self.crl_refresh.to_string(),
            ),
            (
                "authentication.certificate.headers.enabled",
                self.headers_enabled.to_string(),
            ),
            ("authentication.certificate.header", self.header.clone()),
        ]);
        rows
    }
}
