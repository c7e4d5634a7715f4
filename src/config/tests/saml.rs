//! `authentication.saml.*`: Teamwork Cloud's spellings load, and inconsistent sets are
//! refused with the key and the file.
use super::*;
use crate::config::saml::{Comparison, IdpMetadata};

/// A Teamwork Cloud site's SAML block, as its documentation spells it.
const TWC_SAML: &str = "authentication.saml.enabled = true\n\
     authentication.saml.entity.id = https://twc.example.com/authentication\n\
     authentication.saml.idp.metadata.url = https://idp.example.com/metadata\n\
     authentication.saml.name.id.format = urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress\n\
     authentication.saml.name.id.attribute = uid\n\
     authentication.saml.name.id.allow.create = false\n\
     authentication.saml.signature.algorithm = http://www.w3.org/2001/04/xmldsig-more#rsa-sha256\n\
     authentication.saml.authn.contexts = urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport\n\
     authentication.saml.authn.context.comparison.type = minimum\n\
     authentication.saml.disable.force.authentication = true\n\
     authentication.saml.link = Company sign-in\n\
     authentication.saml.error.visible = true\n";

#[test]
fn teamwork_cloud_saml_keys_load_without_warnings() {
    let loaded = load(TWC_SAML);
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let saml = loaded.settings.saml.expect("enabled");
    assert_eq!(
        saml.entity_id.as_deref(),
        Some("https://twc.example.com/authentication")
    );
    assert_eq!(
        saml.idp_metadata,
        IdpMetadata::Url(url::Url::parse("https://idp.example.com/metadata").unwrap())
    );
    assert_eq!(
        saml.name_id_format,
        "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
    );
    assert_eq!(saml.name_id_attribute.as_deref(), Some("uid"));
    assert!(!saml.name_id_allow_create);
    assert_eq!(
        saml.authn_contexts,
        vec!["urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"]
    );
    assert_eq!(saml.authn_comparison, Comparison::Minimum);
    assert!(!saml.force_authn);
    assert_eq!(saml.link, "Company sign-in");
    assert!(saml.error_visible);
    assert_eq!(saml.clock_skew, 60);
    let report = settings(TWC_SAML).report();
    assert!(
        report.contains("authentication.saml.name.id.attribute = uid\n"),
        "{report}"
    );
}

#[test]
fn saml_is_off_by_default_and_its_keys_still_report() {
    let s = settings("");
    assert!(s.saml.is_none());
    assert!(s.report().contains("authentication.saml.enabled = false\n"));
}

#[test]
fn short_name_id_formats_and_sha1_are_accepted_with_what_happens() {
    let loaded = load(
        "authentication.saml.enabled = true\n\
         authentication.saml.idp.metadata.file = /etc/authserver/idp.xml\n\
         authentication.saml.name.id.format = persistent\n\
         authentication.saml.signature.algorithm = http://www.w3.org/2000/09/xmldsig#rsa-sha1\n",
    );
    let saml = loaded.settings.saml.unwrap();
    assert_eq!(
        saml.name_id_format,
        "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
    );
    assert_eq!(
        saml.idp_metadata,
        IdpMetadata::File("/etc/authserver/idp.xml".into())
    );
    assert_eq!(loaded.warnings.len(), 1, "{:?}", loaded.warnings);
    assert!(
        loaded.warnings[0].contains("SHA-1 is not used for signatures any more"),
        "{:?}",
        loaded.warnings
    );
}

#[test]
fn inconsistent_saml_settings_are_refused_naming_the_keys() {
    let e = error("authentication.saml.enabled = true\n");
    assert!(e.contains("authentication.saml.idp.metadata.url"), "{e}");
    assert!(e.contains("authserver.properties"), "{e}");
    let e = error(
        "authentication.saml.enabled = true\n\
         authentication.saml.idp.metadata.url = https://idp.example.com/md\n\
         authentication.saml.idp.metadata.file = /tmp/md.xml\n",
    );
    assert!(e.contains("set only one"), "{e}");
    let e = error(
        "authentication.saml.enabled = true\n\
         authentication.saml.idp.metadata.file = /tmp/md.xml\n\
         authentication.saml.sp.key = /tmp/sp.key\n",
    );
    assert!(e.contains("authentication.saml.sp.certificate"), "{e}");
    let e = error(
        "authentication.saml.enabled = true\n\
         authentication.saml.idp.metadata.file = /tmp/md.xml\n\
         authentication.saml.admin.group = admins\n",
    );
    assert!(e.contains("authentication.saml.attribute.groups"), "{e}");
    let e = error("authentication.saml.name.id.format = fancy\n");
    assert!(e.contains("authentication.saml.name.id.format"), "{e}");
    assert!(e.contains("short name"), "{e}");
    let e = error("authentication.saml.clock.skew = 3600\n");
    assert!(e.contains("at most 300 seconds"), "{e}");
    let e = error("authentication.saml.idp.metadata.url = ftp://idp/md\n");
    assert!(e.contains("http(s) URL"), "{e}");
}
