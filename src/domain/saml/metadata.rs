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

#[cfg(test)]
mod tests {
    use super::*;

    const CERT: &str = include_str!("../../../tests/fixtures/tls/ca.pem");

    fn cert_b64() -> String {
        CERT.lines().filter(|l| !l.starts_with("-----")).collect()
    }

    fn idp_metadata(key_use: &str, binding: &str) -> String {
        format!(
            r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.example.com/saml">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor{key_use}><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>
{}
</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:SingleSignOnService Binding="{binding}" Location="https://idp.example.com/sso"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>"#,
            cert_b64()
        )
    }

    #[test]
    fn idp_metadata_gives_the_entity_the_redirect_url_and_the_signing_certificates() {
        for key_use in [r#" use="signing""#, ""] {
            let info = parse_idp(&idp_metadata(key_use, HTTP_REDIRECT_BINDING)).unwrap();
            assert_eq!(info.entity_id, "https://idp.example.com/saml");
            assert_eq!(info.sso_url, "https://idp.example.com/sso");
            assert_eq!(info.certs.len(), 1);
            x509_parser::parse_x509_certificate(&info.certs[0]).unwrap();
        }
    }

    #[test]
    fn incomplete_or_hostile_metadata_is_refused_saying_what_is_missing() {
        let post_only = idp_metadata("", "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST");
        assert!(parse_idp(&post_only).unwrap_err().contains("HTTP-Redirect"));
        let encryption_only = idp_metadata(r#" use="encryption""#, HTTP_REDIRECT_BINDING);
        assert!(parse_idp(&encryption_only)
            .unwrap_err()
            .contains("no signing certificate"));
        let dtd = format!(
            "<!DOCTYPE x [<!ENTITY a \"b\">]>{}",
            idp_metadata("", HTTP_REDIRECT_BINDING)
        );
        assert!(parse_idp(&dtd).unwrap_err().contains("DTD"));
        assert!(parse_idp("<html/>").is_err());
        let bad_cert =
            idp_metadata("", HTTP_REDIRECT_BINDING).replace(&cert_b64(), "bm90IGEgY2VydA==");
        assert!(parse_idp(&bad_cert).unwrap_err().contains("not X.509"));
    }

    #[test]
    fn our_metadata_names_the_consumer_the_format_and_our_certificate() {
        let der = x509_parser::pem::parse_x509_pem(CERT.as_bytes())
            .unwrap()
            .1
            .contents;
        let xml = sp_metadata(
            "urn:example:sp",
            "https://sp.example.com/authentication/saml2/acs",
            "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
            Some(&der),
        )
        .unwrap();
        assert!(xml.contains(r#"entityID="urn:example:sp""#), "{xml}");
        assert!(
            xml.contains("https://sp.example.com/authentication/saml2/acs"),
            "{xml}"
        );
        assert!(xml.contains("HTTP-POST"), "{xml}");
        assert!(xml.contains(r#"use="encryption""#), "{xml}");
        assert!(xml.contains(r#"AuthnRequestsSigned="true""#), "{xml}");
        // it reads back as metadata
        let parsed: EntityDescriptor = xml.parse().unwrap();
        assert_eq!(parsed.entity_id.as_deref(), Some("urn:example:sp"));
    }
}
