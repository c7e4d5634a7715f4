//! The configuration `saml_idp` writes for SimpleSAMLphp: `config.php`, the
//! `exampleauth:UserPass` users, the hosted IdP (keys, signing, NameID filters) and the
//! remote SPs.
use std::path::Path;

use crate::saml_forge::{NAMEID_EMAIL, NAMEID_UNSPECIFIED};
use crate::saml_idp::SpForIdp;

/// A PHP single-quoted string literal.
pub fn php(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// The base64 DER of a PEM certificate.
pub fn pem_body(pem: &str) -> String {
    pem.lines().filter(|l| !l.starts_with("-----")).collect()
}

/// `config.php`: everything under `dir`, served at `base_url`, sessions in PHP files.
pub fn config_php(dir: &Path, base_url: &str) -> String {
    let d = |sub: &str| php(&format!("{}/{sub}/", dir.display()));
    format!(
        "<?php
$config = [
    'baseurlpath' => {base},
    'certdir' => {cert},
    'loggingdir' => {log},
    'datadir' => {data},
    'tempdir' => {tmp},
    'metadatadir' => {metadata},
    'secretsalt' => 'authserver-tests-salt-{salt}',
    'auth.adminpassword' => 'authserver-tests-admin-{salt}',
    'technicalcontact_name' => 'authserver tests',
    'technicalcontact_email' => 'tests@example.org',
    'timezone' => 'UTC',
    'admin.protectindexpage' => false,
    'admin.protectmetadata' => false,
    'admin.checkforupdates' => false,
    'enable.saml20-idp' => true,
    'module.enable' => ['exampleauth' => true, 'core' => true, 'saml' => true],
    'showerrors' => true,
    'errorreporting' => false,
    'logging.level' => SimpleSAML\\Logger::DEBUG,
    'logging.handler' => 'file',
    'logging.logfile' => 'simplesamlphp.log',
    'statistics.out' => [],
    'store.type' => 'phpsession',
    'session.cookie.secure' => false,
    'session.cookie.samesite' => null,
    'session.phpsession.cookiename' => 'SimpleSAML',
    'session.phpsession.savepath' => {sessions},
    'language.cookie.secure' => false,
    'language.cookie.samesite' => null,
    'production' => true,
];
",
        base = php(base_url),
        cert = d("cert"),
        log = d("log"),
        data = d("data"),
        tmp = php(&format!("{}/tmp", dir.display())),
        metadata = d("metadata"),
        sessions = php(&format!("{}/sessions", dir.display())),
        salt = crate::saml_xml::random_id(),
    )
}

/// `authsources.php`: alice and bob.
pub const AUTHSOURCES_PHP: &str = "<?php
$config = [
    'example-userpass' => [
        'exampleauth:UserPass',
        'alice:alice-password' => [
            'uid' => ['alice'],
            'mail' => ['alice@example.org'],
            'displayName' => ['Alice Liddell'],
            'groups' => ['staff', 'twc-admins'],
        ],
        'bob:bob-password' => [
            'uid' => ['bob'],
            'mail' => ['bob@example.org'],
            'displayName' => ['Bob Builder'],
            'groups' => ['staff'],
        ],
    ],
];
";

/// `saml20-idp-hosted.php`: the IdP `entity_id`, its key pair, what it signs, its NameIDs.
pub fn idp_hosted_php(entity_id: &str) -> String {
    format!(
        "<?php
$metadata[{entity_id}] = [
    'host' => '__DEFAULT__',
    'privatekey' => 'idp.key',
    'certificate' => 'idp.pem',
    'auth' => 'example-userpass',
    'userid.attribute' => 'uid',
    'saml20.sign.response' => true,
    'saml20.sign.assertion' => true,
    'signature.algorithm' => 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
    'attributes.NameFormat' => 'urn:oasis:names:tc:SAML:2.0:attrname-format:basic',
    'NameIDFormat' => [
        '{NAMEID_UNSPECIFIED}',
        '{NAMEID_EMAIL}',
        'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
        'urn:oasis:names:tc:SAML:2.0:nameid-format:transient',
    ],
    // one NameID per format; the request's NameIDPolicy picks (see the module doc)
    'authproc' => [
        10 => ['class' => 'saml:AttributeNameID', 'attribute' => 'uid', 'Format' => '{NAMEID_UNSPECIFIED}'],
        11 => ['class' => 'saml:AttributeNameID', 'attribute' => 'mail', 'Format' => '{NAMEID_EMAIL}'],
        12 => ['class' => 'saml:PersistentNameID', 'attribute' => 'uid'],
        13 => ['class' => 'saml:TransientNameID'],
    ],
];
",
        entity_id = php(entity_id)
    )
}

/// One SP's entry in `saml20-sp-remote.php`.
pub fn sp_remote_entry(sp: &SpForIdp<'_>) -> String {
    let mut entry = format!(
        "$metadata[{entity_id}] = [
    'AssertionConsumerService' => [[
        'Binding' => 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST',
        'Location' => {acs},
        'index' => 0,
    ]],
    // without a NameIDPolicy (or with one SimpleSAMLphp has no NameID for): the uid
    'NameIDFormat' => '{NAMEID_UNSPECIFIED}',
    'attributes.NameFormat' => 'urn:oasis:names:tc:SAML:2.0:attrname-format:basic',
",
        entity_id = php(sp.entity_id),
        acs = php(sp.acs_url),
    );
    if sp.encryption_cert_pem.is_some() {
        entry.push_str("    'assertion.encryption' => true,\n");
    }
    let mut keys = Vec::new();
    if let Some(cert) = sp.encryption_cert_pem {
        keys.push(format!(
            "['encryption' => true, 'signing' => false, 'type' => 'X509Certificate', \
             'X509Certificate' => {}]",
            php(&pem_body(cert))
        ));
    }
    if let Some(cert) = sp.requests_signed_with {
        entry.push_str("    'validate.authnrequest' => true,\n");
        keys.push(format!(
            "['encryption' => false, 'signing' => true, 'type' => 'X509Certificate', \
             'X509Certificate' => {}]",
            php(&pem_body(cert))
        ));
    }
    if !keys.is_empty() {
        entry.push_str(&format!("    'keys' => [{}],\n", keys.join(", ")));
    }
    entry.push_str("];\n");
    entry
}
