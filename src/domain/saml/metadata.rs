//! SAML metadata: the identity provider's, read into what the sign-in needs (its entity
//! ID, its HTTP-Redirect sign-on URL, its signing certificates), and ours, published at
//! `/saml2/metadata`. Both go through `samael`'s metadata types.
use base64::Engine as _;
use samael::key_info::{KeyInfo, X509Data};
use samael::metadata::{
    EncryptionMethod, EntityDescriptor, IndexedEndpoint, KeyDescriptor, SpSsoDescriptor,
    HTTP_POST_BINDING,
};
use samael::traits::ToXml;

/// The HTTP-Redirect binding (our requests go this way).
pub const HTTP_REDIRECT_BINDING: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
const PROTOCOL: &str = "urn:oasis:names:tc:SAML:2.0:protocol";

/// What the sign-in needs of the identity provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdpInfo {
    /// Its entity ID (the `Issuer` of its responses).
    pub entity_id: String,
    /// Its single sign-on URL for the HTTP-Redirect binding.
    pub sso_url: String,
    /// Its signing certificates, DER.
    pub certs: Vec<Vec<u8>>,
}

fn certificates(descriptor: &KeyDescriptor) -> Result<Vec<Vec<u8>>, String> {
    let Some(data) = &descriptor.key_info.x509_data else {
        return Ok(Vec::new());
    };
    data.certificates
        .iter()
        .map(|b64| {
            let compact: String = b64.chars().filter(|c| !c.is_whitespace()).collect();
            let der = base64::engine::general_purpose::STANDARD
                .decode(compact)
                .map_err(|_| "a signing certificate is not base64".to_owned())?;
            x509_parser::parse_x509_certificate(&der)
                .map_err(|e| format!("a signing certificate is not X.509: {e}"))?;
            Ok(der)
        })
        .collect()
}

/// Reads an identity provider's metadata (an `EntityDescriptor` with an
/// `IDPSSODescriptor`); says what is missing otherwise.
pub fn parse_idp(xml: &str) -> Result<IdpInfo, String> {
    if xml.to_ascii_uppercase().contains("<!DOCTYPE") {
        return Err("a DTD is not allowed in metadata".into());
    }
    let entity: EntityDescriptor = xml
        .parse()
        .map_err(|e| format!("not SAML metadata (an EntityDescriptor): {e}"))?;
    let entity_id = entity
        .entity_id
        .clone()
        .filter(|e| !e.trim().is_empty())
        .ok_or("the EntityDescriptor has no entityID")?;
    let descriptor = entity
        .idp_sso_descriptors
        .iter()
        .flatten()
        .find(|d| {
            d.protocol_support_enumeration
                .as_deref()
                .is_some_and(|p| p.split_whitespace().any(|p| p == PROTOCOL))
        })
        .ok_or("the metadata has no SAML 2.0 IDPSSODescriptor")?;
    let sso_url = descriptor
        .single_sign_on_services
        .iter()
        .find(|s| s.binding == HTTP_REDIRECT_BINDING)
        .map(|s| s.location.clone())
        .ok_or("the identity provider has no SingleSignOnService for HTTP-Redirect")?;
    let mut certs = Vec::new();
    for d in &descriptor.key_descriptors {
        if d.key_use
            .as_deref()
            .is_none_or(|u| u.is_empty() || u == "signing")
        {
            certs.extend(certificates(d)?);
        }
    }
    if certs.is_empty() {
        return Err("the identity provider's metadata has no signing certificate".into());
    }
    Ok(IdpInfo {
        entity_id,
        sso_url,
        certs,
    })
}

/// Our metadata: entity ID, the assertion consumer (HTTP-POST), the NameID format, and
/// our certificate for signing and encryption when we have one.
pub fn sp_metadata(
    entity_id: &str,
    acs_url: &str,
    name_id_format: &str,
    certificate_der: Option<&[u8]>,
) -> Result<String, String> {
    let key_descriptors = certificate_der.map(|der| {
        let info = || KeyInfo {
            id: None,
            x509_data: Some(X509Data {
                certificates: vec![base64::engine::general_purpose::STANDARD.encode(der)],
            }),
        };
        vec![
            KeyDescriptor {
                key_use: Some("signing".into()),
                key_info: info(),
                encryption_methods: None,
            },
            KeyDescriptor {
                key_use: Some("encryption".into()),
                key_info: info(),
                encryption_methods: Some(
                    [
                        "http://www.w3.org/2009/xmlenc11#aes256-gcm",
                        "http://www.w3.org/2009/xmlenc11#aes128-gcm",
                        "http://www.w3.org/2001/04/xmlenc#aes256-cbc",
                        "http://www.w3.org/2001/04/xmlenc#aes128-cbc",
                        "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p",
                        "http://www.w3.org/2009/xmlenc11#rsa-oaep",
                    ]
                    .into_iter()
                    .map(|a| EncryptionMethod {
                        algorithm: a.to_owned(),
                    })
                    .collect(),
                ),
            },
        ]
    });
    let descriptor = SpSsoDescriptor {
        protocol_support_enumeration: Some(PROTOCOL.to_owned()),
        authn_requests_signed: Some(certificate_der.is_some()),
        want_assertions_signed: Some(true),
        key_descriptors,
        name_id_formats: Some(vec![name_id_format.to_owned()]),
        assertion_consumer_services: vec![IndexedEndpoint {
            binding: HTTP_POST_BINDING.to_owned(),
            location: acs_url.to_owned(),
            response_location: None,
            index: 0,
            is_default: Some(true),
        }],
        ..SpSsoDescriptor::default()
    };
    let entity = EntityDescriptor {
        entity_id: Some(entity_id.to_owned()),
        sp_sso_descriptors: Some(vec![descriptor]),
        ..EntityDescriptor::default()
    };
    entity
        .to_string()
        .map_err(|e| format!("our metadata cannot be written: {e:?}"))
}
