//! `authentication.saml.*`: the SAML 2.0 service provider (single sign-on through a SAML
//! identity provider), with Teamwork Cloud's key spellings and our own where those are not
//! enough (the service provider's key pair, the attribute mapping, the administrators'
//! group, the clock skew).

use std::path::PathBuf;

use url::Url;

use crate::config::reader::Reader;
use crate::config::values::{display_path, parse_duration};
use crate::config::ConfigError;

/// The NameID formats, by their short names and URIs.
const NAME_ID_FORMATS: &[(&str, &str)] = &[
    (
        "unspecified",
        "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
    ),
    (
        "emailAddress",
        "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
    ),
    (
        "persistent",
        "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
    ),
    (
        "transient",
        "urn:oasis:names:tc:SAML:2.0:nameid-format:transient",
    ),
    (
        "X509SubjectName",
        "urn:oasis:names:tc:SAML:1.1:nameid-format:X509SubjectName",
    ),
    (
        "WindowsDomainQualifiedName",
        "urn:oasis:names:tc:SAML:1.1:nameid-format:WindowsDomainQualifiedName",
    ),
    (
        "kerberos",
        "urn:oasis:names:tc:SAML:2.0:nameid-format:kerberos",
    ),
    ("entity", "urn:oasis:names:tc:SAML:2.0:nameid-format:entity"),
];

/// The transient NameID format: a new value at every sign-in.
pub const TRANSIENT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient";

/// The one algorithm requests are signed with (HTTP-Redirect binding): RSA with SHA-256,
/// or ECDSA with SHA-256 for an EC key.
pub const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";

/// Every key, in table order (the report of a disabled service provider).
const KEYS: &[&str] = &[
    "authentication.saml.enabled",
    "authentication.saml.entity.id",
    "authentication.saml.idp.metadata.url",
    "authentication.saml.idp.metadata.file",
    "authentication.saml.name.id.format",
    "authentication.saml.name.id.attribute",
    "authentication.saml.name.id.allow.create",
    "authentication.saml.signature.algorithm",
    "authentication.saml.authn.contexts",
    "authentication.saml.authn.context.comparison.type",
    "authentication.saml.disable.force.authentication",
    "authentication.saml.link",
    "authentication.saml.error.visible",
    "authentication.saml.sp.key",
    "authentication.saml.sp.certificate",
    "authentication.saml.attribute.name",
    "authentication.saml.attribute.email",
    "authentication.saml.attribute.groups",
    "authentication.saml.admin.group",
    "authentication.saml.clock.skew",
];

/// Largest clock difference accepted with the identity provider, seconds.
const MAX_SKEW: u64 = 300;

/// How the authentication context classes of a request compare
/// (`authn.context.comparison.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    /// One of the classes exactly.
    Exact,
    /// At least as strong as one of them.
    Minimum,
    /// At most as strong.
    Maximum,
    /// Stronger than all of them.
    Better,
}

impl Comparison {
    /// Its spelling in an `AuthnRequest`.
    pub fn as_str(self) -> &'static str {
        match self {
            Comparison::Exact => "exact",
            Comparison::Minimum => "minimum",
            Comparison::Maximum => "maximum",
            Comparison::Better => "better",
        }
    }
}

/// Where the identity provider's metadata is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdpMetadata {
    /// Fetched over http(s) at start and every hour.
    Url(Url),
    /// Read from a file at start.
    File(PathBuf),
}

/// `authentication.saml.*` settings (`None` in [`super::Settings`] unless enabled).
#[derive(Debug, Clone)]
pub struct SamlSettings {
    /// Our entity ID (`entity.id`); none: the SP metadata URL.
    pub entity_id: Option<String>,
    /// The identity provider's metadata.
    pub idp_metadata: IdpMetadata,
    /// NameID format asked for, as a URI.
    pub name_id_format: String,
    /// Attribute whose value is the user name instead of the NameID.
    pub name_id_attribute: Option<String>,
    /// `AllowCreate` of the NameID policy.
    pub name_id_allow_create: bool,
    /// Authentication context classes asked for (none: no `RequestedAuthnContext`).
    pub authn_contexts: Vec<String>,
    /// How they compare.
    pub authn_comparison: Comparison,
    /// Whether `ForceAuthn` is left out (Teamwork Cloud sends it unless disabled).
    pub force_authn: bool,
    /// The login page's button text.
    pub link: String,
    /// Whether the failure page names the reason (it is always logged).
    pub error_visible: bool,
    /// Our private key (PEM): signs requests, decrypts encrypted assertions.
    pub sp_key: Option<PathBuf>,
    /// Our certificate (PEM), published in our metadata.
    pub sp_certificate: Option<PathBuf>,
    /// Attribute holding the display name.
    pub attr_name: String,
    /// Attribute holding the e-mail address.
    pub attr_email: String,
    /// Attribute listing the user's groups.
    pub attr_groups: Option<String>,
    /// The group whose members are administrators.
    pub admin_group: Option<String>,
    /// Clock difference tolerated on the assertion's times, seconds.
    pub clock_skew: u64,
}

fn name_id_format(value: &str) -> Result<String, String> {
    NAME_ID_FORMATS
        .iter()
        .find(|(short, uri)| value == *uri || value.eq_ignore_ascii_case(short))
        .map(|(_, uri)| (*uri).to_owned())
        .ok_or_else(|| {
            "a NameID format URI such as urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified, \
             or its short name (unspecified, emailAddress, persistent, transient)"
                .to_owned()
        })
}

fn comparison(value: &str) -> Result<Comparison, String> {
    match value.to_ascii_lowercase().as_str() {
        "exact" => Ok(Comparison::Exact),
        "minimum" => Ok(Comparison::Minimum),
        "maximum" => Ok(Comparison::Maximum),
        "better" => Ok(Comparison::Better),
        _ => Err("exact, minimum, maximum or better".to_owned()),
    }
}

/// The request-signing algorithm: SHA-256 is what is used; SHA-1 (Teamwork Cloud's old
/// default) and the longer SHA-2 digests are accepted with a warning.
fn signature_algorithm(value: &str) -> Result<Option<&'static str>, String> {
    let lower = value.to_ascii_lowercase();
    let short = lower.rsplit(['#', '/']).next().unwrap_or(&lower);
    match short.replace('_', "-").as_str() {
        "rsa-sha256" | "ecdsa-sha256" => Ok(None),
        "rsa-sha1" | "ecdsa-sha1" => Ok(Some(
            "SHA-1 is not used for signatures any more: requests are signed with SHA-256",
        )),
        "rsa-sha384" | "rsa-sha512" | "ecdsa-sha384" | "ecdsa-sha512" => Ok(Some(
            "requests are signed with SHA-256 (RSA-SHA256, or ECDSA-SHA256 for an EC key)",
        )),
        _ => Err(format!(
            "a signature algorithm such as {RSA_SHA256} (or rsa-sha256)"
        )),
    }
}

fn metadata_url(value: &str) -> Result<Url, String> {
    match Url::parse(value) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => Ok(url),
        _ => Err("an absolute http(s) URL of the identity provider's metadata".into()),
    }
}

impl SamlSettings {
    /// `None` unless `authentication.saml.enabled`.
    pub(super) fn read(
        r: &Reader<'_>,
        warnings: &mut Vec<String>,
    ) -> Result<Option<Self>, ConfigError> {
        let file = r.path.display().to_string();
        let enabled = r.boolean("authentication.saml.enabled")?;
        // parsed even when off, so a typo is reported before it matters
        let url = r.parse("authentication.saml.idp.metadata.url", metadata_url)?;
        let path = r.optional("authentication.saml.idp.metadata.file")?;
        let name_id_format = r.defaulted("authentication.saml.name.id.format", name_id_format)?;
        let authn_comparison = r.defaulted(
            "authentication.saml.authn.context.comparison.type",
            comparison,
        )?;
        let algorithm_note = r.defaulted(
            "authentication.saml.signature.algorithm",
            signature_algorithm,
        )?;
        let clock_skew = r.defaulted("authentication.saml.clock.skew", |v| {
            parse_duration(v).and_then(|s| {
                if s <= MAX_SKEW {
                    Ok(s)
                } else {
                    Err(format!("at most {MAX_SKEW} seconds"))
                }
            })
        })?;
        if !enabled {
            return Ok(None);
        }
        let inconsistent = |message: String| ConfigError::Inconsistent {
            path: r.path.to_path_buf(),
            message,
        };
        let idp_metadata = match (url, path) {
            (Some(url), None) => IdpMetadata::Url(url),
            (None, Some(path)) => IdpMetadata::File(PathBuf::from(path)),
            (None, None) => {
                return Err(inconsistent(
                    "authentication.saml.enabled = true requires the identity provider's \
                     metadata: authentication.saml.idp.metadata.url or \
                     authentication.saml.idp.metadata.file"
                        .into(),
                ))
            }
            (Some(_), Some(_)) => {
                return Err(inconsistent(
                    "set only one of authentication.saml.idp.metadata.url and \
                     authentication.saml.idp.metadata.file"
                        .into(),
                ))
            }
        };
        let sp_key = r.optional("authentication.saml.sp.key")?.map(PathBuf::from);
        let sp_certificate = r
            .optional("authentication.saml.sp.certificate")?
            .map(PathBuf::from);
        if sp_key.is_some() != sp_certificate.is_some() {
            return Err(inconsistent(
                "authentication.saml.sp.key and authentication.saml.sp.certificate go \
                 together: the key signs requests and decrypts assertions, the certificate \
                 tells the identity provider its public half"
                    .into(),
            ));
        }
        if let Some(note) = algorithm_note {
            warnings.push(format!(
                "{file}: authentication.saml.signature.algorithm: {note}"
            ));
        }
        let attr_groups = r.optional("authentication.saml.attribute.groups")?;
        let admin_group = r.optional("authentication.saml.admin.group")?;
        if admin_group.is_some() && attr_groups.is_none() {
            return Err(inconsistent(
                "authentication.saml.admin.group requires authentication.saml.attribute.groups \
                 (the attribute the group is looked for in)"
                    .into(),
            ));
        }
        Ok(Some(SamlSettings {
            entity_id: r.optional("authentication.saml.entity.id")?,
            idp_metadata,
            name_id_format,
            name_id_attribute: r.optional("authentication.saml.name.id.attribute")?,
            name_id_allow_create: r.boolean("authentication.saml.name.id.allow.create")?,
            authn_contexts: r.list("authentication.saml.authn.contexts")?,
            authn_comparison,
            force_authn: !r.boolean("authentication.saml.disable.force.authentication")?,
            link: r
                .optional("authentication.saml.link")?
                .unwrap_or_else(|| "Sign in with single sign-on".to_owned()),
            error_visible: r.boolean("authentication.saml.error.visible")?,
            sp_key,
            sp_certificate,
            attr_name: r
                .optional("authentication.saml.attribute.name")?
                .unwrap_or_else(|| "displayName".to_owned()),
            attr_email: r
                .optional("authentication.saml.attribute.email")?
                .unwrap_or_else(|| "mail".to_owned()),
            attr_groups,
            admin_group,
            clock_skew,
        }))
    }

    /// The `authentication.saml.*` rows of the report, in table order.
    pub(super) fn effective(this: Option<&Self>) -> Vec<(&'static str, String)> {
        let Some(s) = this else {
            // off: the other keys are not in force
            return KEYS
                .iter()
                .map(|k| (*k, String::new()))
                .map(|(k, v)| match k {
                    "authentication.saml.enabled" => (k, "false".to_owned()),
                    _ => (k, v),
                })
                .collect();
        };
        let (url, file) = match &s.idp_metadata {
            IdpMetadata::Url(u) => (u.to_string(), String::new()),
            IdpMetadata::File(p) => (String::new(), p.display().to_string()),
        };
        vec![
            ("authentication.saml.enabled", "true".to_owned()),
            (
                "authentication.saml.entity.id",
                s.entity_id.clone().unwrap_or_default(),
            ),
            ("authentication.saml.idp.metadata.url", url),
            ("authentication.saml.idp.metadata.file", file),
            (
                "authentication.saml.name.id.format",
                s.name_id_format.clone(),
            ),
            (
                "authentication.saml.name.id.attribute",
                s.name_id_attribute.clone().unwrap_or_default(),
            ),
            (
                "authentication.saml.name.id.allow.create",
                s.name_id_allow_create.to_string(),
            ),
            ("authentication.saml.signature.algorithm", RSA_SHA256.into()),
            (
                "authentication.saml.authn.contexts",
                s.authn_contexts.join(", "),
            ),
            (
                "authentication.saml.authn.context.comparison.type",
                s.authn_comparison.as_str().into(),
            ),
            (
                "authentication.saml.disable.force.authentication",
                (!s.force_authn).to_string(),
            ),
            ("authentication.saml.link", s.link.clone()),
            (
                "authentication.saml.error.visible",
                s.error_visible.to_string(),
            ),
            (
                "authentication.saml.sp.key",
                display_path(s.sp_key.as_ref()),
            ),
            (
                "authentication.saml.sp.certificate",
                display_path(s.sp_certificate.as_ref()),
            ),
            ("authentication.saml.attribute.name", s.attr_name.clone()),
            ("authentication.saml.attribute.email", s.attr_email.clone()),
            (
                "authentication.saml.attribute.groups",
                s.attr_groups.clone().unwrap_or_default(),
            ),
            (
                "authentication.saml.admin.group",
                s.admin_group.clone().unwrap_or_default(),
            ),
            ("authentication.saml.clock.skew", s.clock_skew.to_string()),
        ]
    }
}
