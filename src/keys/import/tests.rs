//! Import of PEM files and PKCS#12 key stores, against the fixtures in
//! `tests/fixtures/keys` (see `generate.sh` there).
use super::*;
use std::sync::Arc;

use bytes::Bytes;
use serde_json::json;

use crate::keys::kind::{dotted_oid, DER_OID, OID_ED25519, OID_P256, OID_P384, OID_RSA};
use crate::keys::signing::jws_alg_name;
use crate::keys::KeyRing;

fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/keys")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

// RFC 7638 thumbprints of the fixture keys, computed with Python's `cryptography`
// (independently of this code); see tests/fixtures/keys/generate.sh.
const RSA_PKCS1_KID: &str = "YmzEBYPRbuk-Kz-Gq-ysEbxvtJyVlQsOG_a0eudDJm0";
const EC_P256_KID: &str = "sUthaI2NFFEzhkzH5HMRGotATVim-GfXizQPn2HTM5I";
const ED25519_KID: &str = "O1jAmkZiU4zS4xi2wDR5HhCO9bi-6xOyc7iRwA6RVKU";
const P12_RSA_KID: &str = "GSCZ8CHhrDZ3a_uYsyHjC5jrdx3j52I-QmS6v0f1l5k";
const P12_EC_KID: &str = "jK2RYHzL_y4TRj9HNwg7b2LPjWkNJF0M5tAYlfGbPLE";

#[test]
fn every_pem_format_imports_with_its_thumbprint_kid() {
    for (file, kind, alg, kid) in [
        (
            "rsa-pkcs1.pem",
            KeyKind::Rsa,
            SigningAlgorithm::RS256,
            RSA_PKCS1_KID,
        ),
        (
            "rsa-pkcs1.pem",
            KeyKind::Rsa,
            SigningAlgorithm::PS256,
            RSA_PKCS1_KID,
        ),
        (
            "rsa-in-p12.pem",
            KeyKind::Rsa,
            SigningAlgorithm::RS256,
            P12_RSA_KID,
        ),
        (
            "ec-p256-sec1.pem",
            KeyKind::P256,
            SigningAlgorithm::ES256,
            EC_P256_KID,
        ),
        (
            "ec-p256-pkcs8.pem",
            KeyKind::P256,
            SigningAlgorithm::ES256,
            EC_P256_KID,
        ),
        (
            "ed25519-pkcs8.pem",
            KeyKind::Ed25519,
            SigningAlgorithm::EdDSA,
            ED25519_KID,
        ),
    ] {
        let imported = parse_pem_private_key(&fixture(file)).unwrap();
        assert_eq!(imported.kind, kind, "{file}");
        // always handed on as PKCS#8
        assert!(pkcs8_kind(&imported.pkcs8).is_ok(), "{file}");
        let key = imported.signing_key(alg, None).unwrap();
        assert_eq!(key.kid, kid, "{file} {alg}");
        assert_eq!(key.alg, alg);
        assert_eq!(key.jwk["alg"], jws_alg_name(alg));
        let ring = KeyRing {
            keys: vec![Arc::new(key)],
            active: None,
            jwks: Bytes::new(),
        };
        let token = ring.keys[0].sign("JWT", &json!({"sub": "x"})).unwrap();
        let (_, claims): (_, serde_json::Value) = ring.verify(&token).unwrap();
        assert_eq!(claims["sub"], "x");
    }
}

#[test]
fn a_configured_kid_overrides_the_thumbprint() {
    let imported = parse_pem_private_key(&fixture("ec-p256-sec1.pem")).unwrap();
    let key = imported
        .signing_key(SigningAlgorithm::ES256, Some("legacy-kid".into()))
        .unwrap();
    assert_eq!(key.kid, "legacy-kid");
    assert_eq!(key.jwk["kid"], "legacy-kid");
}

#[test]
fn a_key_that_does_not_fit_the_algorithm_is_refused_with_both_named() {
    let ec = parse_pem_private_key(&fixture("ec-p256-sec1.pem")).unwrap();
    let err = ec.signing_key(SigningAlgorithm::RS256, None).unwrap_err();
    assert!(
        err.contains("a P-256 EC key")
            && err.contains("authentication.signing.algorithm = RS256")
            && err.contains("needs an RSA key")
            && err.contains("ES256"),
        "{err}"
    );
    let rsa = parse_pem_private_key(&fixture("rsa-pkcs1.pem")).unwrap();
    let err = rsa.signing_key(SigningAlgorithm::EdDSA, None).unwrap_err();
    assert!(
        err.contains("an RSA key") && err.contains("needs an Ed25519 key"),
        "{err}"
    );
    let ed = parse_pem_private_key(&fixture("ed25519-pkcs8.pem")).unwrap();
    let err = ed.signing_key(SigningAlgorithm::ES256, None).unwrap_err();
    assert!(
        err.contains("an Ed25519 key") && err.contains("needs a P-256 EC key"),
        "{err}"
    );
    for alg in [SigningAlgorithm::RS256, SigningAlgorithm::PS256] {
        assert!(KeyKind::Rsa.fits(alg));
        assert!(!KeyKind::P256.fits(alg));
        assert!(!KeyKind::Ed25519.fits(alg));
    }
    assert!(KeyKind::P256.fits(SigningAlgorithm::ES256));
    assert!(KeyKind::Ed25519.fits(SigningAlgorithm::EdDSA));
    assert!(!KeyKind::Unsupported("x".into()).fits(SigningAlgorithm::ES256));
}

#[test]
fn unsupported_and_malformed_pem_files_are_explained() {
    let p384 = parse_pem_private_key(&fixture("ec-p384-pkcs8.pem")).unwrap();
    assert!(matches!(&p384.kind, KeyKind::Unsupported(d) if d.contains("P-384")));
    let err = p384.signing_key(SigningAlgorithm::ES256, None).unwrap_err();
    assert!(err.contains("P-384") && err.contains("only P-256"), "{err}");

    let err = parse_pem_private_key(&fixture("encrypted-pkcs8.pem")).unwrap_err();
    assert!(
        err.contains("encrypted") && err.contains("decrypt"),
        "{err}"
    );

    let legacy_encrypted = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\
        DEK-Info: AES-128-CBC,00000000000000000000000000000000\n\nAAAA\n\
        -----END RSA PRIVATE KEY-----\n";
    let err = parse_pem_private_key(legacy_encrypted.as_bytes()).unwrap_err();
    assert!(err.contains("encrypted"), "{err}");

    let cert_only = pem::encode(&pem::Pem::new("CERTIFICATE", vec![0x30, 0x00]));
    let err = parse_pem_private_key(cert_only.as_bytes()).unwrap_err();
    assert!(
        err.contains("no private key") && err.contains("CERTIFICATE"),
        "{err}"
    );

    let mut two = String::from_utf8(fixture("ec-p256-sec1.pem")).unwrap();
    two.push_str(&String::from_utf8(fixture("ed25519-pkcs8.pem")).unwrap());
    let err = parse_pem_private_key(two.as_bytes()).unwrap_err();
    assert!(err.contains("2 private keys"), "{err}");

    let err = parse_pem_private_key(b"hello").unwrap_err();
    assert!(err.contains("not a PEM file"), "{err}");
    let err = parse_pem_private_key(&fixture("rsa-aes.p12")).unwrap_err();
    assert!(err.contains("authentication.server.key-store"), "{err}");

    let garbage = pem::encode(&pem::Pem::new("PRIVATE KEY", vec![1, 2, 3]));
    let err = parse_pem_private_key(garbage.as_bytes()).unwrap_err();
    assert!(err.contains("PKCS#8"), "{err}");

    // `openssl ecparam -genkey` writes EC PARAMETERS before the key: skipped
    let mut with_params = pem::encode(&pem::Pem::new(
        "EC PARAMETERS",
        OID_P256.iter().fold(vec![DER_OID, 8], |mut v, b| {
            v.push(*b);
            v
        }),
    ));
    with_params.push_str(&String::from_utf8(fixture("ec-p256-sec1.pem")).unwrap());
    let key = parse_pem_private_key(with_params.as_bytes()).unwrap();
    assert_eq!(key.kind, KeyKind::P256);
}

#[test]
fn a_short_rsa_key_is_refused() {
    let err = parse_pem_private_key(&fixture("rsa-1024.pem")).unwrap_err();
    assert_eq!(err, "RSA keys must have at least 2048 bits");
    // the same key handed straight to SigningKey (PKCS#1 DER is accepted there too)
    let imported = ImportedKey {
        kind: KeyKind::Rsa,
        pkcs8: pem::parse(fixture("rsa-1024.pem")).unwrap().into_contents(),
    };
    let err = imported
        .signing_key(SigningAlgorithm::RS256, None)
        .unwrap_err();
    assert_eq!(
        err,
        "the key cannot be used: RSA keys must have at least 2048 bits"
    );
}

#[test]
fn oids_print_dotted() {
    assert_eq!(dotted_oid(OID_RSA), "1.2.840.113549.1.1.1");
    assert_eq!(dotted_oid(OID_P384), "1.3.132.0.34");
    assert_eq!(dotted_oid(OID_ED25519), "1.3.101.112");
}

#[test]
fn pkcs12_stores_import_their_key_by_alias_or_alone() {
    for file in ["rsa-aes.p12", "rsa-legacy.p12"] {
        let data = fixture(file);
        for alias in [Some("authserver"), Some("AuthServer"), None] {
            let (name, key) = parse_pkcs12(&data, "changeit", alias).unwrap();
            assert_eq!(name, "authserver", "{file}");
            assert_eq!(key.kind, KeyKind::Rsa);
            for alg in [SigningAlgorithm::RS256, SigningAlgorithm::PS256] {
                assert_eq!(key.signing_key(alg, None).unwrap().kid, P12_RSA_KID);
            }
        }
    }
    let (_, ec) = parse_pkcs12(&fixture("ec-p256.p12"), "changeit", None).unwrap();
    assert_eq!(ec.kind, KeyKind::P256);
    let key = ec.signing_key(SigningAlgorithm::ES256, None).unwrap();
    assert_eq!(key.kid, P12_EC_KID);
    let err = ec.signing_key(SigningAlgorithm::RS256, None).unwrap_err();
    assert!(err.contains("a P-256 EC key"), "{err}");
}

#[test]
fn pkcs12_errors_are_explained() {
    let data = fixture("rsa-aes.p12");
    for file in ["rsa-aes.p12", "rsa-legacy.p12"] {
        let err = parse_pkcs12(&fixture(file), "wrong", None).unwrap_err();
        assert_eq!(err, "wrong password or corrupt file", "{file}");
    }
    let mut corrupt = data.clone();
    if let Some(b) = corrupt.get_mut(data.len() / 2) {
        *b ^= 0xff;
    }
    assert!(parse_pkcs12(&corrupt, "changeit", None).is_err());

    let err = parse_pkcs12(&data, "changeit", Some("nope")).unwrap_err();
    assert!(
        err.contains("no entry \"nope\"") && err.contains("\"authserver\""),
        "{err}"
    );
    let err = parse_pkcs12(b"\xfe\xed\xfe\xed\0\0\0\x02", "changeit", None).unwrap_err();
    assert!(err.contains("JKS") && err.contains("keytool"), "{err}");
    let err = parse_pkcs12(&fixture("rsa-pkcs1.pem"), "changeit", None).unwrap_err();
    assert!(err.contains("PEM"), "{err}");
    let err = parse_pkcs12(b"\x30\x03\x02\x01\x03", "changeit", None).unwrap_err();
    assert!(err.contains("not a PKCS#12"), "{err}");
}

#[test]
fn a_store_with_several_keys_needs_an_alias() {
    use p12_keystore::{KeyStore, KeyStoreEntry, PrivateKey, PrivateKeyChain};
    let rsa = parse_pem_private_key(&fixture("rsa-pkcs1.pem")).unwrap();
    let ec = parse_pem_private_key(&fixture("ec-p256-sec1.pem")).unwrap();
    let mut store = KeyStore::new();
    for (alias, id, key) in [("first", "1", &rsa), ("second", "2", &ec)] {
        let chain = PrivateKeyChain::new(id, PrivateKey::from_der(&key.pkcs8).unwrap(), []);
        store.add_entry(alias, KeyStoreEntry::PrivateKeyChain(chain));
    }
    let data = store.writer("pw").write().unwrap();
    let err = parse_pkcs12(&data, "pw", None).unwrap_err();
    assert!(
        err.contains("2 private keys")
            && err.contains("\"first\", \"second\"")
            && err.contains("authentication.server.key-alias"),
        "{err}"
    );
    let (name, key) = parse_pkcs12(&data, "pw", Some("second")).unwrap();
    assert_eq!((name.as_str(), &key.kind), ("second", &KeyKind::P256));
    assert_eq!(
        key.signing_key(SigningAlgorithm::ES256, None).unwrap().kid,
        EC_P256_KID
    );
}
