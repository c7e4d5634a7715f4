//! What a key file holds: the key type of a PKCS#8 or SEC1 structure, read from its DER.
use crate::config::SigningAlgorithm;

/// The type of a private key found in a key file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyKind {
    /// RSA (PKCS#1 or PKCS#8 `rsaEncryption`).
    Rsa,
    /// EC on P-256 (secp256r1 / prime256v1).
    P256,
    /// Ed25519.
    Ed25519,
    /// Anything else, described for error messages ("a P-384 EC key").
    Unsupported(String),
}

impl KeyKind {
    /// "an RSA key", "a P-256 EC key", …
    pub fn describe(&self) -> String {
        match self {
            KeyKind::Rsa => "an RSA key".into(),
            KeyKind::P256 => "a P-256 EC key".into(),
            KeyKind::Ed25519 => "an Ed25519 key".into(),
            KeyKind::Unsupported(what) => what.clone(),
        }
    }

    /// Whether this key can sign with `alg`.
    pub fn fits(&self, alg: SigningAlgorithm) -> bool {
        matches!(
            (self, alg),
            (
                KeyKind::Rsa,
                SigningAlgorithm::RS256 | SigningAlgorithm::PS256
            ) | (KeyKind::P256, SigningAlgorithm::ES256)
                | (KeyKind::Ed25519, SigningAlgorithm::EdDSA)
        )
    }

    /// The algorithms this key could sign with, for the hint in a mismatch message.
    pub(super) fn algorithms(&self) -> Option<&'static str> {
        match self {
            KeyKind::Rsa => Some("RS256 or PS256"),
            KeyKind::P256 => Some("ES256"),
            KeyKind::Ed25519 => Some("EdDSA"),
            KeyKind::Unsupported(_) => None,
        }
    }
}
/// One DER element: (tag, contents, what follows).
pub(super) fn der_element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 {
            return None;
        }
        let (len_bytes, rest) = rest.split_at_checked(count)?;
        let len = len_bytes
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, rest)
    };
    let (contents, rest) = rest.split_at_checked(len)?;
    Some((tag, contents, rest))
}

pub(super) const DER_SEQUENCE: u8 = 0x30;
pub(super) const DER_INTEGER: u8 = 0x02;
pub(super) const DER_OCTET_STRING: u8 = 0x04;
pub(super) const DER_OID: u8 = 0x06;

pub(super) const OID_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
pub(super) const OID_RSA_PSS: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a];
pub(super) const OID_EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
pub(super) const OID_DSA: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x38, 0x04, 0x01];
pub(super) const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];
pub(super) const OID_ED448: &[u8] = &[0x2b, 0x65, 0x71];
pub(super) const OID_X25519: &[u8] = &[0x2b, 0x65, 0x6e];
pub(super) const OID_X448: &[u8] = &[0x2b, 0x65, 0x6f];
pub(super) const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
pub(super) const OID_P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
pub(super) const OID_P521: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x23];
pub(super) const OID_SECP256K1: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x0a];

/// An OID in dotted form, for messages.
pub(super) fn dotted_oid(oid: &[u8]) -> String {
    let mut arcs: Vec<u64> = Vec::new();
    let mut value: u64 = 0;
    for &b in oid {
        value = (value << 7) | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            if arcs.is_empty() {
                let first = (value / 40).min(2);
                arcs.push(first);
                arcs.push(value - first * 40);
            } else {
                arcs.push(value);
            }
            value = 0;
        }
    }
    arcs.iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

pub(super) fn ec_kind(curve: Option<&[u8]>) -> KeyKind {
    match curve {
        Some(OID_P256) => KeyKind::P256,
        Some(OID_P384) => KeyKind::Unsupported("a P-384 EC key (only P-256 is supported)".into()),
        Some(OID_P521) => KeyKind::Unsupported("a P-521 EC key (only P-256 is supported)".into()),
        Some(OID_SECP256K1) => {
            KeyKind::Unsupported("a secp256k1 EC key (only P-256 is supported)".into())
        }
        Some(other) => KeyKind::Unsupported(format!(
            "an EC key on curve {} (only P-256 is supported)",
            dotted_oid(other)
        )),
        None => KeyKind::Unsupported(
            "an EC key with explicit curve parameters (only the named curve P-256 is supported)"
                .into(),
        ),
    }
}

/// The key type of a PKCS#8 `PrivateKeyInfo`, from its algorithm identifier.
pub(super) fn pkcs8_kind(der: &[u8]) -> Result<KeyKind, String> {
    let malformed = || "not a valid PKCS#8 private key".to_string();
    let (DER_SEQUENCE, info, _) = der_element(der).ok_or_else(malformed)? else {
        return Err(malformed());
    };
    let (DER_INTEGER, _version, rest) = der_element(info).ok_or_else(malformed)? else {
        return Err(malformed());
    };
    let (DER_SEQUENCE, algorithm, rest) = der_element(rest).ok_or_else(malformed)? else {
        return Err(malformed());
    };
    if !matches!(der_element(rest), Some((DER_OCTET_STRING, _, _))) {
        return Err(malformed());
    }
    let (DER_OID, oid, params) = der_element(algorithm).ok_or_else(malformed)? else {
        return Err(malformed());
    };
    Ok(match oid {
        OID_RSA => KeyKind::Rsa,
        OID_EC_PUBLIC_KEY => ec_kind(match der_element(params) {
            Some((DER_OID, curve, _)) => Some(curve),
            _ => None,
        }),
        OID_ED25519 => KeyKind::Ed25519,
        OID_RSA_PSS => KeyKind::Unsupported(
            "an RSA-PSS-restricted key (use a plain RSA key; PS256 signs with it)".into(),
        ),
        OID_ED448 => KeyKind::Unsupported("an Ed448 key (only Ed25519 is supported)".into()),
        OID_X25519 | OID_X448 => {
            KeyKind::Unsupported("a Diffie-Hellman (X25519/X448) key, which cannot sign".into())
        }
        OID_DSA => KeyKind::Unsupported("a DSA key".into()),
        other => KeyKind::Unsupported(format!(
            "a key of an unsupported type (algorithm {})",
            dotted_oid(other)
        )),
    })
}

/// The named curve of a SEC1 `ECPrivateKey` (RFC 5915), if it names one.
pub(super) fn sec1_curve(der: &[u8]) -> Option<&[u8]> {
    let (DER_SEQUENCE, key, _) = der_element(der)? else {
        return None;
    };
    let (DER_INTEGER, _version, rest) = der_element(key)? else {
        return None;
    };
    let (DER_OCTET_STRING, _private, mut rest) = der_element(rest)? else {
        return None;
    };
    while let Some((tag, contents, next)) = der_element(rest) {
        if tag == 0xa0 {
            return match der_element(contents) {
                Some((DER_OID, curve, _)) => Some(curve),
                _ => None,
            };
        }
        rest = next;
    }
    None
}
