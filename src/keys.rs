//! Signing keys: generation, import, rotation, the JWKS, and signing/verifying JWTs.
//!
//! Signing uses aws-lc-rs directly with the parsed key pair kept in memory (parsing the
//! key costs more than the signature itself); verification goes through `jsonwebtoken`.
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize};
use aws_lc_rs::signature::{
    EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, ECDSA_P256_SHA256_FIXED_SIGNING, RSA_PKCS1_SHA256,
    RSA_PSS_SHA256,
};
use bytes::Bytes;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::config::{Settings, SigningAlgorithm};
use crate::crypto::b64url;
use crate::store::{Store, StoreError, StoredKey};

/// Key handling failures.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The key material cannot be parsed or used.
    #[error("signing key: {0}")]
    Invalid(String),
    /// The configured key cannot be used: a complete one-line message naming the
    /// properties file, the key and the file it points at.
    #[error("{0}")]
    Config(String),
    /// The configured key file cannot be read.
    #[error("{key}: cannot read {path}: {err}")]
    Unreadable {
        /// properties key naming the file
        key: &'static str,
        /// the path
        path: String,
        /// the I/O error
        err: std::io::Error,
    },
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A JSON serialisation failed.
    #[error("serialising a token: {0}")]
    Json(#[from] serde_json::Error),
}

/// Why a presented JWT is not accepted.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    /// Not a JWT, bad base64, bad JSON.
    #[error("the token is malformed")]
    Malformed,
    /// `alg` is none, HMAC, or not the algorithm of the key named by `kid`.
    #[error("the token's algorithm is not accepted")]
    BadAlgorithm,
    /// No key of ours has this `kid`.
    #[error("the token was not signed by this server")]
    UnknownKey,
    /// The signature does not verify.
    #[error("the token's signature is invalid")]
    BadSignature,
}

/// The private key of one of the supported types.
enum Pair {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
}

/// One signing key pair with its public JWK.
pub struct SigningKey {
    /// Key id published in the JWKS and the JWT header.
    pub kid: String,
    /// The JWS algorithm this key signs with.
    pub alg: SigningAlgorithm,
    pair: Pair,
    /// Public JWK (with `kid`, `alg`, `use`).
    pub jwk: serde_json::Value,
    decoding: DecodingKey,
    /// Signs new tokens (else only verifies old ones).
    pub active: bool,
    /// When it stopped signing.
    pub retired_at: Option<i64>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("active", &self.active)
            .finish_non_exhaustive()
    }
}

fn jws_alg_name(alg: SigningAlgorithm) -> &'static str {
    match alg {
        SigningAlgorithm::RS256 => "RS256",
        SigningAlgorithm::PS256 => "PS256",
        SigningAlgorithm::ES256 => "ES256",
        SigningAlgorithm::EdDSA => "EdDSA",
    }
}

fn parse_alg(name: &str) -> Option<SigningAlgorithm> {
    match name {
        "RS256" => Some(SigningAlgorithm::RS256),
        "PS256" => Some(SigningAlgorithm::PS256),
        "ES256" => Some(SigningAlgorithm::ES256),
        "EdDSA" => Some(SigningAlgorithm::EdDSA),
        _ => None,
    }
}

impl SigningKey {
    /// Builds a key from PKCS#8 DER (RSA keys also from PKCS#1).
    pub fn from_pkcs8(
        der: &[u8],
        alg: SigningAlgorithm,
        kid: Option<String>,
    ) -> Result<SigningKey, KeyError> {
        let alg_name = jws_alg_name(alg);
        let (pair, thumbprint_input, mut jwk, decoding) = match alg {
            SigningAlgorithm::RS256 | SigningAlgorithm::PS256 => {
                let pair = RsaKeyPair::from_pkcs8(der)
                    .or_else(|_| RsaKeyPair::from_der(der))
                    .map_err(|e| KeyError::Invalid(rsa_rejected("not an RSA private key", &e)))?;
                if pair.public_modulus_len() < 256 {
                    return Err(KeyError::Invalid(RSA_TOO_SMALL.into()));
                }
                let public = pair.public_key();
                let n_raw = public.modulus().big_endian_without_leading_zero().to_vec();
                let e_raw = public.exponent().big_endian_without_leading_zero().to_vec();
                let (n, e) = (b64url(&n_raw), b64url(&e_raw));
                let thumb = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
                let jwk = json!({"kty": "RSA", "n": n, "e": e});
                let decoding = DecodingKey::from_rsa_raw_components(&n_raw, &e_raw);
                (Pair::Rsa(pair), thumb, jwk, decoding)
            }
            SigningAlgorithm::ES256 => {
                let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
                    .map_err(|e| KeyError::Invalid(format!("not a P-256 private key: {e}")))?;
                let point = pair.public_key().as_ref().to_vec();
                if point.len() != 65 || point[0] != 4 {
                    return Err(KeyError::Invalid("unexpected P-256 public key".into()));
                }
                let (x, y) = (b64url(&point[1..33]), b64url(&point[33..65]));
                let thumb = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
                let decoding = DecodingKey::from_ec_components(&x, &y)
                    .map_err(|e| KeyError::Invalid(e.to_string()))?;
                let jwk = json!({"kty": "EC", "crv": "P-256", "x": x, "y": y});
                (Pair::Ec(pair), thumb, jwk, decoding)
            }
            SigningAlgorithm::EdDSA => {
                let pair = Ed25519KeyPair::from_pkcs8(der)
                    .map_err(|e| KeyError::Invalid(format!("not an Ed25519 private key: {e}")))?;
                let x = b64url(pair.public_key().as_ref());
                let thumb = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
                let decoding = DecodingKey::from_ed_components(&x)
                    .map_err(|e| KeyError::Invalid(e.to_string()))?;
                let jwk = json!({"kty": "OKP", "crv": "Ed25519", "x": x});
                (Pair::Ed(pair), thumb, jwk, decoding)
            }
        };
        let kid = kid.unwrap_or_else(|| b64url(&Sha256::digest(thumbprint_input.as_bytes())));
        if let Some(obj) = jwk.as_object_mut() {
            obj.insert("use".into(), json!("sig"));
            obj.insert("alg".into(), json!(alg_name));
            obj.insert("kid".into(), json!(kid));
        }
        Ok(SigningKey {
            kid,
            alg,
            pair,
            jwk,
            decoding,
            active: true,
            retired_at: None,
        })
    }

    /// A fresh key for `alg` (RSA-2048, P-256 or Ed25519), as it will be stored.
    pub fn generate(alg: SigningAlgorithm, now: i64) -> Result<StoredKey, KeyError> {
        use aws_lc_rs::encoding::AsDer;
        let failed = |what: &str| KeyError::Invalid(format!("{what} key generation failed"));
        let der: Vec<u8> = match alg {
            SigningAlgorithm::RS256 | SigningAlgorithm::PS256 => {
                let pair = RsaKeyPair::generate(KeySize::Rsa2048).map_err(|_| failed("RSA"))?;
                pair.as_der().map_err(|_| failed("RSA"))?.as_ref().to_vec()
            }
            SigningAlgorithm::ES256 => {
                let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
                    .map_err(|_| failed("P-256"))?;
                pair.to_pkcs8v1()
                    .map_err(|_| failed("P-256"))?
                    .as_ref()
                    .to_vec()
            }
            SigningAlgorithm::EdDSA => {
                let pair = Ed25519KeyPair::generate().map_err(|_| failed("Ed25519"))?;
                pair.to_pkcs8()
                    .map_err(|_| failed("Ed25519"))?
                    .as_ref()
                    .to_vec()
            }
        };
        let key = SigningKey::from_pkcs8(&der, alg, None)?;
        Ok(StoredKey {
            kid: key.kid,
            alg: jws_alg_name(alg).to_string(),
            private_pkcs8: der,
            active: true,
            created_at: now,
            retired_at: None,
        })
    }

    fn jwt_alg(&self) -> Algorithm {
        match self.alg {
            SigningAlgorithm::RS256 => Algorithm::RS256,
            SigningAlgorithm::PS256 => Algorithm::PS256,
            SigningAlgorithm::ES256 => Algorithm::ES256,
            SigningAlgorithm::EdDSA => Algorithm::EdDSA,
        }
    }

    /// Whether this is an RSA key (slow to sign with).
    pub fn is_rsa(&self) -> bool {
        matches!(self.pair, Pair::Rsa(_))
    }

    /// Signs `claims` as a compact JWS with header `{alg, kid, typ}`.
    pub fn sign<T: Serialize>(&self, typ: &str, claims: &T) -> Result<String, KeyError> {
        let header = json!({"alg": jws_alg_name(self.alg), "kid": self.kid, "typ": typ});
        let mut out = b64url(&serde_json::to_vec(&header)?);
        out.push('.');
        out.push_str(&b64url(&serde_json::to_vec(claims)?));
        let failed = |_| KeyError::Invalid("signing failed".into());
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let sig = match &self.pair {
            Pair::Rsa(pair) => {
                let padding = match self.alg {
                    SigningAlgorithm::PS256 => &RSA_PSS_SHA256,
                    _ => &RSA_PKCS1_SHA256,
                };
                let mut sig = vec![0u8; pair.public_modulus_len()];
                pair.sign(padding, &rng, out.as_bytes(), &mut sig)
                    .map_err(failed)?;
                sig
            }
            Pair::Ec(pair) => pair
                .sign(&rng, out.as_bytes())
                .map_err(failed)?
                .as_ref()
                .to_vec(),
            Pair::Ed(pair) => pair.sign(out.as_bytes()).as_ref().to_vec(),
        };
        out.push('.');
        out.push_str(&b64url(&sig));
        Ok(out)
    }
}

/// The set of keys in force: one active signer and every key still published.
#[derive(Debug, Default)]
pub struct KeyRing {
    keys: Vec<Arc<SigningKey>>,
    active: Option<Arc<SigningKey>>,
    jwks: Bytes,
}

impl KeyRing {
    /// The key that signs new tokens.
    pub fn active(&self) -> Result<&Arc<SigningKey>, KeyError> {
        self.active
            .as_ref()
            .ok_or_else(|| KeyError::Invalid("no active signing key".into()))
    }
    /// All published keys.
    pub fn keys(&self) -> &[Arc<SigningKey>] {
        &self.keys
    }
    /// The JWKS document, pre-serialised.
    pub fn jwks_json(&self) -> Bytes {
        self.jwks.clone()
    }
    /// The key with this `kid`.
    pub fn find(&self, kid: &str) -> Option<&Arc<SigningKey>> {
        self.keys.iter().find(|k| k.kid == kid)
    }

    /// Verifies a JWT signed by one of our keys; returns its header `typ` and claims.
    /// Expiry and audience are the caller's business (it owns the clock).
    pub fn verify<T: DeserializeOwned>(
        &self,
        token: &str,
    ) -> Result<(Option<String>, T), VerifyError> {
        let header = jsonwebtoken::decode_header(token).map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::InvalidAlgorithmName => VerifyError::BadAlgorithm,
            _ => VerifyError::Malformed,
        })?;
        let kid = header.kid.as_deref().ok_or(VerifyError::UnknownKey)?;
        let key = self.find(kid).ok_or(VerifyError::UnknownKey)?;
        if header.alg != key.jwt_alg() {
            return Err(VerifyError::BadAlgorithm);
        }
        let mut validation = Validation::new(key.jwt_alg());
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        let data = jsonwebtoken::decode::<T>(token, &key.decoding, &validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            match e.kind() {
                ErrorKind::InvalidSignature => VerifyError::BadSignature,
                ErrorKind::InvalidAlgorithm => VerifyError::BadAlgorithm,
                _ => VerifyError::Malformed,
            }
        })?;
        Ok((header.typ, data.claims))
    }
}

/// Owns the key ring and reloads it from the database.
pub struct KeyManager {
    store: Store,
    configured: Option<Arc<SigningKey>>,
    algorithm: SigningAlgorithm,
    /// retired keys stay published this long after retirement
    retention: i64,
    ring: RwLock<Arc<KeyRing>>,
    /// tokens whose signature verified: SHA-256 of the token → (kid, typ, payload JSON).
    /// Resource servers present the same token over and over; this skips the signature
    /// check (not the expiry or revocation checks) for a token already verified with a
    /// key that is still in the ring.
    verified: RwLock<HashMap<[u8; 32], VerifiedEntry>>,
    /// when a token with an unknown kid last made this process re-read the keys
    unknown_kid_reload: tokio::sync::Mutex<Option<std::time::Instant>>,
}

type VerifiedEntry = (String, Option<String>, Arc<[u8]>);

/// Most tokens remembered as verified.
const MAX_VERIFIED: usize = 20_000;

impl std::fmt::Debug for KeyManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyManager").finish_non_exhaustive()
    }
}

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
    fn algorithms(&self) -> Option<&'static str> {
        match self {
            KeyKind::Rsa => Some("RS256 or PS256"),
            KeyKind::P256 => Some("ES256"),
            KeyKind::Ed25519 => Some("EdDSA"),
            KeyKind::Unsupported(_) => None,
        }
    }
}

/// What `alg` needs, for error messages.
fn key_needed_for(alg: SigningAlgorithm) -> &'static str {
    match alg {
        SigningAlgorithm::RS256 | SigningAlgorithm::PS256 => "an RSA key",
        SigningAlgorithm::ES256 => "a P-256 EC key",
        SigningAlgorithm::EdDSA => "an Ed25519 key",
    }
}

/// Why aws-lc-rs refused an RSA key, in words.
fn rsa_rejected(what: &str, e: &aws_lc_rs::error::KeyRejected) -> String {
    match e.description_() {
        "TooSmall" => RSA_TOO_SMALL.to_string(),
        other => format!("{what}: {other}"),
    }
}

const RSA_TOO_SMALL: &str = "RSA keys must have at least 2048 bits";

fn is_rsa(alg: SigningAlgorithm) -> bool {
    matches!(alg, SigningAlgorithm::RS256 | SigningAlgorithm::PS256)
}

/// A private key read from a PEM file or a PKCS#12 key store.
#[derive(Clone)]
pub struct ImportedKey {
    /// What kind of key it is.
    pub kind: KeyKind,
    /// The key as PKCS#8 DER (what [`SigningKey::from_pkcs8`] takes).
    pub pkcs8: Vec<u8>,
}

impl std::fmt::Debug for ImportedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportedKey")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl ImportedKey {
    /// The signing key for `alg`, or why this key cannot be one (no file named: the
    /// caller adds that).
    pub fn signing_key(
        &self,
        alg: SigningAlgorithm,
        kid: Option<String>,
    ) -> Result<SigningKey, String> {
        if !self.kind.fits(alg) {
            let hint = match self.kind.algorithms() {
                Some(fitting) => format!(
                    "; set authentication.signing.algorithm = {fitting}, or configure {}",
                    key_needed_for(alg)
                ),
                None => String::new(),
            };
            return Err(format!(
                "holds {}, but authentication.signing.algorithm = {alg} needs {}{hint}",
                self.kind.describe(),
                key_needed_for(alg)
            ));
        }
        SigningKey::from_pkcs8(&self.pkcs8, alg, kid).map_err(|e| match e {
            KeyError::Invalid(why) => format!("the key cannot be used: {why}"),
            other => other.to_string(),
        })
    }
}

/// One DER element: (tag, contents, what follows).
fn der_element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
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

const DER_SEQUENCE: u8 = 0x30;
const DER_INTEGER: u8 = 0x02;
const DER_OCTET_STRING: u8 = 0x04;
const DER_OID: u8 = 0x06;

const OID_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const OID_RSA_PSS: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a];
const OID_EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_DSA: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x38, 0x04, 0x01];
const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];
const OID_ED448: &[u8] = &[0x2b, 0x65, 0x71];
const OID_X25519: &[u8] = &[0x2b, 0x65, 0x6e];
const OID_X448: &[u8] = &[0x2b, 0x65, 0x6f];
const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const OID_P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
const OID_P521: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x23];
const OID_SECP256K1: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x0a];

/// An OID in dotted form, for messages.
fn dotted_oid(oid: &[u8]) -> String {
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

fn ec_kind(curve: Option<&[u8]>) -> KeyKind {
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
fn pkcs8_kind(der: &[u8]) -> Result<KeyKind, String> {
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
fn sec1_curve(der: &[u8]) -> Option<&[u8]> {
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

/// Imports a PKCS#8 private key (as found in a `PRIVATE KEY` block or a PKCS#12 bag).
pub fn import_pkcs8(der: &[u8]) -> Result<ImportedKey, String> {
    let kind = pkcs8_kind(der)?;
    Ok(ImportedKey {
        kind,
        pkcs8: der.to_vec(),
    })
}

const DECRYPT_HINT: &str = "decrypt it first (openssl pkey -in KEY.pem -out plain.pem) and \
                            protect the plain file with file permissions instead";

/// Parses the text of a PEM key file: `PRIVATE KEY` (PKCS#8: RSA, P-256, Ed25519),
/// `RSA PRIVATE KEY` (PKCS#1) or `EC PRIVATE KEY` (SEC1). Other blocks (certificates,
/// `EC PARAMETERS`) are skipped; exactly one private key must be present. The error is
/// the reason only (the caller names the file).
pub fn parse_pem_private_key(text: &[u8]) -> Result<ImportedKey, String> {
    let blocks = pem::parse_many(text).map_err(|e| format!("not a valid PEM file: {e}"))?;
    if blocks.is_empty() {
        return Err(if text.first() == Some(&DER_SEQUENCE) {
            "not a PEM file (binary DER; a PKCS#12 key store belongs in \
             authentication.server.key-store)"
                .into()
        } else {
            "not a PEM file (no -----BEGIN line)".into()
        });
    }
    let mut keys = Vec::new();
    for block in &blocks {
        match block.tag() {
            "ENCRYPTED PRIVATE KEY" => {
                return Err(format!(
                    "the key is encrypted (ENCRYPTED PRIVATE KEY), which is not supported; \
                     {DECRYPT_HINT}"
                ))
            }
            "PRIVATE KEY" | "RSA PRIVATE KEY" | "EC PRIVATE KEY" => {
                if block
                    .headers()
                    .get("Proc-Type")
                    .is_some_and(|v| v.contains("ENCRYPTED"))
                {
                    return Err(format!(
                        "the key is encrypted (Proc-Type: 4,ENCRYPTED), which is not \
                         supported; {DECRYPT_HINT}"
                    ));
                }
                keys.push(block);
            }
            _ => {}
        }
    }
    let block = match keys.as_slice() {
        [one] => *one,
        [] => {
            let tags: Vec<&str> = blocks.iter().map(pem::Pem::tag).collect();
            return Err(format!(
                "holds no private key (found {}); expected PRIVATE KEY, RSA PRIVATE KEY or \
                 EC PRIVATE KEY",
                tags.join(", ")
            ));
        }
        many => {
            return Err(format!(
                "holds {} private keys; put only the signing key in the file",
                many.len()
            ))
        }
    };
    let der = block.contents();
    match block.tag() {
        "RSA PRIVATE KEY" => {
            use aws_lc_rs::encoding::AsDer;
            let pair = RsaKeyPair::from_der(der)
                .map_err(|e| rsa_rejected("not a valid PKCS#1 RSA private key", &e))?;
            let pkcs8 = pair
                .as_der()
                .map_err(|_| "cannot re-encode the RSA key as PKCS#8".to_string())?;
            Ok(ImportedKey {
                kind: KeyKind::Rsa,
                pkcs8: pkcs8.as_ref().to_vec(),
            })
        }
        "EC PRIVATE KEY" => {
            let kind = match sec1_curve(der) {
                Some(curve) => ec_kind(Some(curve)),
                // no named curve: accept it if it parses as P-256
                None => KeyKind::P256,
            };
            if kind != KeyKind::P256 {
                // an unsupported curve: reported (with the configured algorithm) by
                // `signing_key`, which never gets to the empty key material
                return Ok(ImportedKey {
                    kind,
                    pkcs8: Vec::new(),
                });
            }
            let pair = EcdsaKeyPair::from_private_key_der(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
                .map_err(|e| format!("not a valid P-256 EC PRIVATE KEY: {e}"))?;
            let pkcs8 = pair
                .to_pkcs8v1()
                .map_err(|_| "cannot re-encode the EC key as PKCS#8".to_string())?;
            Ok(ImportedKey {
                kind,
                pkcs8: pkcs8.as_ref().to_vec(),
            })
        }
        _ => import_pkcs8(der),
    }
}

/// Reads the private key from a PKCS#12 (`.p12`/`.pfx`) key store: the entry `alias`, or
/// the only private key entry when `alias` is `None`. Returns the alias used and the
/// key. The error is the reason only (the caller names the file).
pub fn parse_pkcs12(
    data: &[u8],
    password: &str,
    alias: Option<&str>,
) -> Result<(String, ImportedKey), String> {
    use p12_keystore::error::Error as P12Error;
    use p12_keystore::{KeyStore, KeyStoreEntry, Pkcs12ImportPolicy};
    match data.get(..4) {
        Some([0xfe, 0xed, 0xfe, 0xed]) | Some([0xce, 0xce, 0xce, 0xce]) => {
            return Err(
                "is a Java JKS/JCEKS key store, not PKCS#12; convert it with \
                        keytool -importkeystore -srckeystore FILE -destkeystore FILE.p12 \
                        -deststoretype PKCS12"
                    .into(),
            )
        }
        _ => {}
    }
    if data.first() == Some(&b'-') {
        return Err(
            "is a PEM file, not a PKCS#12 key store (a PEM key belongs in \
                    authentication.signing.key)"
                .into(),
        );
    }
    let store = KeyStore::from_pkcs12(data, password, Pkcs12ImportPolicy::Relaxed).map_err(
        |e| match e {
            P12Error::MacError(_)
            | P12Error::UnpadError
            | P12Error::Pkcs5Error(_)
            | P12Error::InvalidData
            | P12Error::InvalidLength => "wrong password or corrupt file".to_string(),
            P12Error::DerError(_) | P12Error::InvalidVersion | P12Error::UnsupportedContentType => {
                format!("not a PKCS#12 key store ({e})")
            }
            P12Error::UnsupportedEncryptionScheme | P12Error::UnsupportedMacAlgorithm => {
                format!("the key store uses an unsupported protection scheme ({e})")
            }
            other => format!("cannot read the key store: {other}"),
        },
    )?;
    let with_keys: Vec<(&String, &p12_keystore::PrivateKeyChain)> = store
        .entries()
        .filter_map(|(name, entry)| match entry {
            KeyStoreEntry::PrivateKeyChain(chain) => Some((name, chain)),
            _ => None,
        })
        .collect();
    let quoted = |names: &mut dyn Iterator<Item = &String>| {
        let list: Vec<String> = names.map(|n| format!("\"{n}\"")).collect();
        if list.is_empty() {
            "none".to_string()
        } else {
            list.join(", ")
        }
    };
    let (name, chain) = match alias {
        Some(wanted) => {
            let exact = with_keys.iter().find(|(name, _)| name.as_str() == wanted);
            // Java treats key store aliases case-insensitively
            let found = exact.or_else(|| {
                let mut similar = with_keys
                    .iter()
                    .filter(|(name, _)| name.eq_ignore_ascii_case(wanted));
                match (similar.next(), similar.next()) {
                    (Some(one), None) => Some(one),
                    _ => None,
                }
            });
            match found {
                Some(&(name, chain)) => (name.clone(), chain),
                None if store.entry(wanted).is_some() => {
                    return Err(format!(
                        "entry \"{wanted}\" (authentication.server.key-alias) holds no \
                         private key; entries with a private key: {}",
                        quoted(&mut with_keys.iter().map(|(n, _)| *n))
                    ))
                }
                None => {
                    return Err(format!(
                        "no entry \"{wanted}\" (authentication.server.key-alias); entries \
                         with a private key: {}",
                        quoted(&mut with_keys.iter().map(|(n, _)| *n))
                    ))
                }
            }
        }
        None => match with_keys.as_slice() {
            [(name, chain)] => ((*name).clone(), *chain),
            [] => {
                return Err(format!(
                    "holds no private key (entries: {})",
                    quoted(&mut store.entries().map(|(n, _)| n))
                ))
            }
            many => {
                return Err(format!(
                    "holds {} private keys ({}); choose one with \
                     authentication.server.key-alias",
                    many.len(),
                    quoted(&mut many.iter().map(|(n, _)| *n))
                ))
            }
        },
    };
    let key = import_pkcs8(chain.key().as_der()).map_err(|e| format!("entry \"{name}\": {e}"))?;
    Ok((name, key))
}

/// Reads a PEM key file and returns the key as PKCS#8 DER.
pub fn read_pem_key(path: &std::path::Path) -> Result<Vec<u8>, KeyError> {
    let text = std::fs::read(path).map_err(|err| KeyError::Unreadable {
        key: "authentication.signing.key",
        path: path.display().to_string(),
        err,
    })?;
    parse_pem_private_key(&text)
        .map(|k| k.pkcs8)
        .map_err(|why| {
            KeyError::Invalid(format!(
                "authentication.signing.key: {}: {why}",
                path.display()
            ))
        })
}

/// The signing key configured in the properties file (`authentication.signing.key` or
/// `authentication.server.key-store`), if any. Errors are one line naming the properties
/// file, the key and the file it points at.
pub fn configured_key(settings: &Settings) -> Result<Option<SigningKey>, KeyError> {
    let auth = &settings.auth;
    let source = settings.source.display();
    let alg = auth.signing_algorithm;
    let kid = auth.signing_kid.clone();
    let read = |key: &str, path: &std::path::Path| {
        std::fs::read(path).map_err(|err| {
            KeyError::Config(format!(
                "{source}: {key} {}: cannot read the file: {err}",
                path.display()
            ))
        })
    };
    match (&auth.signing_key, &auth.key_store) {
        (Some(pem_path), Some(store_path)) => Err(KeyError::Config(format!(
            "{source}: authentication.signing.key {} and authentication.server.key-store {} \
             are both set; configure only one signing key",
            pem_path.display(),
            store_path.display()
        ))),
        (Some(path), None) => {
            const KEY: &str = "authentication.signing.key";
            let failed = |why: String| {
                KeyError::Config(format!("{source}: {KEY} {}: {why}", path.display()))
            };
            let imported = parse_pem_private_key(&read(KEY, path)?).map_err(failed)?;
            let key = imported.signing_key(alg, kid).map_err(failed)?;
            tracing::info!(kid = %key.kid, alg = %alg, file = %path.display(), "using the configured signing key");
            Ok(Some(key))
        }
        (None, Some(path)) => {
            const KEY: &str = "authentication.server.key-store";
            let failed = |why: String| {
                KeyError::Config(format!("{source}: {KEY} {}: {why}", path.display()))
            };
            let password = auth
                .key_store_password
                .as_ref()
                .map(|p| p.expose())
                .unwrap_or_default();
            let (alias, imported) =
                parse_pkcs12(&read(KEY, path)?, password, auth.key_alias.as_deref())
                    .map_err(failed)?;
            let key = imported
                .signing_key(alg, kid)
                .map_err(|why| failed(format!("entry \"{alias}\" {why}")))?;
            tracing::info!(kid = %key.kid, alg = %alg, file = %path.display(), alias = %alias, "using the signing key from the key store");
            Ok(Some(key))
        }
        (None, None) => {
            if auth.signing_kid.is_some() {
                tracing::warn!(
                    "authentication.signing.kid is ignored: it names the kid of an imported \
                     key (authentication.signing.key or authentication.server.key-store)"
                );
            }
            Ok(None)
        }
    }
}

impl KeyManager {
    /// Loads the configured key (if any), makes sure the database has an active key,
    /// and builds the ring.
    pub async fn load(store: Store, settings: &Settings, now: i64) -> Result<KeyManager, KeyError> {
        let algorithm = settings.auth.signing_algorithm;
        let configured = configured_key(settings)?.map(Arc::new);
        let mut retention = settings
            .auth
            .token_expiry
            .max(settings.auth.refresh_token_expiry);
        if !settings.auth.permanent_clients.is_empty() {
            retention = retention.max(settings.auth.permanent_token_expiry);
        }
        let mut manager = KeyManager {
            store,
            configured,
            algorithm,
            retention: i64::try_from(retention).unwrap_or(i64::MAX),
            ring: RwLock::new(Arc::new(KeyRing::default())),
            verified: RwLock::new(HashMap::new()),
            unknown_kid_reload: tokio::sync::Mutex::new(None),
        };
        manager.ensure_active_key(now).await?;
        let ring = manager.build_ring(now).await?;
        manager.ring = RwLock::new(Arc::new(ring));
        Ok(manager)
    }

    /// The algorithms for which the database must hold an active key: the configured
    /// algorithm unless a key is configured in the properties file, and RS256 whenever
    /// the configured algorithm is not RSA (an RSA key is always kept, for relying
    /// parties that only know RS256).
    fn wanted_in_database(&self) -> Vec<SigningAlgorithm> {
        let mut wanted = Vec::new();
        if self.configured.is_none() {
            wanted.push(self.algorithm);
        }
        if !is_rsa(self.algorithm) {
            wanted.push(SigningAlgorithm::RS256);
        }
        wanted
    }

    async fn ensure_active_key(&self, now: i64) -> Result<(), KeyError> {
        let wanted = self.wanted_in_database();
        for alg in wanted {
            let name = jws_alg_name(alg);
            if !self.store.has_active_key(name).await? {
                let key = SigningKey::generate(alg, now)?;
                if self.store.insert_key_if_no_active(&key).await? {
                    tracing::info!(kid = %key.kid, alg = name, "generated a new signing key");
                }
            }
        }
        Ok(())
    }

    /// Re-reads the keys from the database (after `keys rotate`, possibly by another
    /// process).
    pub async fn reload(&self, now: i64) -> Result<(), KeyError> {
        let ring = Arc::new(self.build_ring(now).await?);
        match self.ring.write() {
            Ok(mut guard) => *guard = ring,
            Err(poisoned) => *poisoned.into_inner() = ring,
        }
        Ok(())
    }

    async fn build_ring(&self, now: i64) -> Result<KeyRing, KeyError> {
        if let Some(ring) = self.try_build_ring(now).await? {
            return Ok(ring);
        }
        // the active key was deleted by hand or another algorithm was configured
        self.ensure_active_key(now).await?;
        self.try_build_ring(now).await?.ok_or_else(|| {
            KeyError::Invalid("no active signing key in the database after generating one".into())
        })
    }

    /// The ring from the configured key and the database, or `None` when the database
    /// lacks an active key it should have (see [`KeyManager::wanted_in_database`]).
    async fn try_build_ring(&self, now: i64) -> Result<Option<KeyRing>, KeyError> {
        let alg = jws_alg_name(self.algorithm);
        let mut keys: Vec<Arc<SigningKey>> = Vec::new();
        let mut active = self.configured.clone();
        if let Some(k) = &self.configured {
            keys.push(k.clone());
        }
        let mut active_rsa = self.configured.as_ref().is_some_and(|k| is_rsa(k.alg));
        for row in self.store.signing_keys().await? {
            if keys.iter().any(|k| k.kid == row.kid) {
                continue;
            }
            let Some(row_alg) = parse_alg(&row.alg) else {
                continue;
            };
            if let (false, Some(retired)) = (row.active, row.retired_at) {
                if retired.saturating_add(self.retention) < now {
                    continue;
                }
            }
            let mut key =
                match SigningKey::from_pkcs8(&row.private_pkcs8, row_alg, Some(row.kid.clone())) {
                    Ok(k) => k,
                    Err(e) => {
                        tracing::warn!(kid = %row.kid, error = %e, "skipping unusable signing key");
                        continue;
                    }
                };
            // a configured key wins; the database's RSA key stays in force beside a
            // configured non-RSA key
            let rsa_companion = !is_rsa(self.algorithm) && row_alg == SigningAlgorithm::RS256;
            key.active = row.active && (self.configured.is_none() || rsa_companion);
            key.retired_at = row.retired_at;
            let key = Arc::new(key);
            if active.is_none() && key.active && row.alg == alg {
                active = Some(key.clone());
            }
            if key.active && is_rsa(key.alg) {
                active_rsa = true;
            }
            keys.push(key);
        }
        let Some(active) = active else {
            return Ok(None);
        };
        if !active_rsa && !is_rsa(self.algorithm) {
            return Ok(None);
        }
        let published: Vec<&serde_json::Value> = keys.iter().map(|k| &k.jwk).collect();
        let jwks = Bytes::from(serde_json::to_vec(&json!({ "keys": published }))?);
        Ok(Some(KeyRing {
            keys,
            active: Some(active),
            jwks,
        }))
    }

    /// A token signed with a kid this process does not know may come from another
    /// instance that has just rotated its key (`keys rotate` on a shared database): re-read
    /// the keys before refusing it. At most one re-read a second, so tokens with made-up
    /// kids cannot turn into database load. Returns whether the caller should verify
    /// again (the ring was re-read now or within the last second).
    pub async fn reload_for_unknown_kid(&self, now: i64) -> bool {
        let mut last = self.unknown_kid_reload.lock().await;
        if last.is_some_and(|t| t.elapsed() < std::time::Duration::from_secs(1)) {
            return true;
        }
        *last = Some(std::time::Instant::now());
        match self.reload(now).await {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(error = %e, "re-reading the signing keys failed");
                false
            }
        }
    }

    /// [`KeyRing::verify`] against the current ring, re-reading the keys once when the
    /// token names a kid this process does not know (see
    /// [`KeyManager::reload_for_unknown_kid`]).
    pub async fn verify_fresh<T: DeserializeOwned>(
        &self,
        token: &str,
        now: i64,
    ) -> Result<(Option<String>, T), VerifyError> {
        match self.ring().verify(token) {
            Err(VerifyError::UnknownKey) if self.reload_for_unknown_kid(now).await => {
                self.ring().verify(token)
            }
            other => other,
        }
    }

    /// Verifies like [`KeyRing::verify`], remembering tokens that verified.
    pub fn verify_cached<T: DeserializeOwned>(
        &self,
        token: &str,
    ) -> Result<(Option<String>, T), VerifyError> {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let ring = self.ring();
        let hit = self
            .verified
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&digest)
            .cloned();
        if let Some((kid, typ, payload)) = hit {
            if ring.find(&kid).is_some() {
                let claims =
                    serde_json::from_slice(&payload).map_err(|_| VerifyError::Malformed)?;
                return Ok((typ, claims));
            }
        }
        let (typ, claims) = ring.verify::<serde_json::Value>(token)?;
        let kid = jsonwebtoken::decode_header(token)
            .ok()
            .and_then(|h| h.kid)
            .ok_or(VerifyError::Malformed)?;
        let payload: Arc<[u8]> = serde_json::to_vec(&claims)
            .map_err(|_| VerifyError::Malformed)?
            .into();
        let parsed = serde_json::from_slice(&payload).map_err(|_| VerifyError::Malformed)?;
        let mut verified = self.verified.write().unwrap_or_else(|p| p.into_inner());
        if verified.len() >= MAX_VERIFIED {
            verified.clear();
        }
        verified.insert(digest, (kid, typ.clone(), payload));
        Ok((typ, parsed))
    }

    /// The current ring.
    pub fn ring(&self) -> Arc<KeyRing> {
        match self.ring.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Generates a new active key and retires the current one (`keys rotate`).
    pub async fn rotate(
        store: &Store,
        alg: SigningAlgorithm,
        now: i64,
    ) -> Result<String, KeyError> {
        let alg = match alg {
            SigningAlgorithm::PS256 => SigningAlgorithm::PS256,
            _ => SigningAlgorithm::RS256,
        };
        let key = SigningKey::generate(alg, now)?;
        store.rotate_key(&key, now).await?;
        Ok(key.kid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_algorithm_signs_and_verifies_and_rejects_tampering() {
        for alg in [
            SigningAlgorithm::RS256,
            SigningAlgorithm::PS256,
            SigningAlgorithm::ES256,
            SigningAlgorithm::EdDSA,
        ] {
            let stored = SigningKey::generate(alg, 0).unwrap();
            let key = Arc::new(SigningKey::from_pkcs8(&stored.private_pkcs8, alg, None).unwrap());
            assert_eq!(
                key.kid, stored.kid,
                "kid is the thumbprint, stable across parses"
            );
            assert_eq!(key.jwk["alg"], jws_alg_name(alg));
            let ring = KeyRing {
                keys: vec![key.clone()],
                active: Some(key.clone()),
                jwks: Bytes::new(),
            };
            let token = key.sign("JWT", &json!({"sub": "x"})).unwrap();
            let (_, claims): (_, serde_json::Value) = ring.verify(&token).unwrap();
            assert_eq!(claims["sub"], "x", "{alg:?}");
            let mut bad = token.clone();
            bad.pop();
            bad.push(if token.ends_with('A') { 'B' } else { 'A' });
            assert!(ring.verify::<serde_json::Value>(&bad).is_err(), "{alg:?}");
        }
    }

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
}
