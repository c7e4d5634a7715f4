//! `authentication.certificate.*`: Teamwork Cloud's smart-card keys, the templates and
//! what must go together.

use super::super::settings::{SanKind, Template, TemplatePiece, UPN_OID};
use super::*;

#[test]
fn templates_mix_text_and_attribute_names() {
    let t = Template::parse("CERT_(o)-(CN)").unwrap();
    assert_eq!(
        t.pieces,
        vec![
            TemplatePiece::Text("CERT_".into()),
            TemplatePiece::Attribute {
                name: "O".into(),
                oid: "2.5.4.10"
            },
            TemplatePiece::Text("-".into()),
            TemplatePiece::Attribute {
                name: "CN".into(),
                oid: "2.5.4.3"
            },
        ]
    );
    for bad in ["(CN", "CN)", "(XYZ)", "plain text", ""] {
        assert!(Template::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn certificate_login_is_off_by_default_with_teamwork_cloud_defaults() {
    let c = settings("").certificate;
    assert!(!c.enabled && !c.headers_enabled);
    assert_eq!(c.username.san, None);
    assert_eq!(c.username.template.source, "(CN)");
    assert_eq!(c.display_name.template.source, "(CN)");
    assert_eq!(c.crl_refresh, 3600);
    assert_eq!(c.header, "x-ssl-client-cert");
}

#[test]
fn the_user_name_may_come_from_a_san() {
    let c = settings(
        "authentication.certificate.username.source = san\n\
         authentication.certificate.username.san.type = 0\n\
         authentication.certificate.displayname.source = SAN\n\
         authentication.certificate.displayname.san.type = 1\n",
    )
    .certificate;
    assert_eq!(c.username.san, Some(SanKind::OtherName(UPN_OID.into())));
    assert_eq!(c.display_name.san, Some(SanKind::Rfc822));
}

#[test]
fn bad_certificate_values_name_the_key() {
    for (line, key) in [
        (
            "authentication.certificate.username.template = (NOPE)",
            "authentication.certificate.username.template",
        ),
        (
            "authentication.certificate.username.source = subject",
            "authentication.certificate.username.source",
        ),
        (
            "authentication.certificate.username.source = san\n\
             authentication.certificate.username.san.type = 3",
            "authentication.certificate.username.san.type",
        ),
        (
            "authentication.certificate.revocation.list.url = ftp://x/crl",
            "authentication.certificate.revocation.list.url",
        ),
    ] {
        let message = error(&format!("{line}\n"));
        assert!(message.contains(key), "{key}: {message}");
    }
}

#[test]
fn certificate_login_needs_anchors_and_tls_or_a_trusted_proxy() {
    let message = error("authentication.certificate.enabled = true\n");
    assert!(
        message.contains("authentication.certificate.trust.anchors"),
        "{message}"
    );
    let message = error(
        "authentication.certificate.enabled = true\n\
         authentication.certificate.trust.anchors = cas.pem\n",
    );
    assert!(message.contains("server.ssl.enabled"), "{message}");
    let message = error(
        "authentication.certificate.enabled = true\n\
         authentication.certificate.trust.anchors = cas.pem\n\
         authentication.certificate.headers.enabled = true\n",
    );
    assert!(message.contains("server.trusted.proxies"), "{message}");
    let loaded = load(
        "authentication.certificate.enabled = true\n\
         authentication.certificate.trust.anchors = cas.pem\n\
         authentication.certificate.headers.enabled = true\n\
         server.trusted.proxies = 127.0.0.1\n",
    );
    assert!(
        loaded
            .warnings
            .iter()
            .any(|w| w.contains("revoked certificates are not detected")),
        "{:?}",
        loaded.warnings
    );
}

#[test]
fn teamwork_cloud_trust_store_keys_are_ignored_with_the_reason() {
    let loaded = load(
        "server.ssl.trust-store = config/truststore.jks\n\
         server.ssl.trust-store-password = secret\n\
         server.ssl.client-auth = want\n",
    );
    assert_eq!(loaded.warnings.len(), 1, "{:?}", loaded.warnings);
    assert!(
        loaded.warnings[0].contains("authentication.certificate.trust.anchors"),
        "{:?}",
        loaded.warnings
    );
}
