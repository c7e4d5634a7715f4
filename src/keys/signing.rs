//! One signing key pair: built from PKCS#8 (or PKCS#1) DER, with its public JWK and RFC 7638
//! thumbprint kid, and the compact JWS it signs.
use aws_lc_rs::rsa::KeyPair as RsaKeyPair;
use aws_lc_rs::signature::{
    EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, ECDSA_P256_SHA256_FIXED_SIGNING, RSA_PKCS1_SHA256,
    RSA_PSS_SHA256,
};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::KeyError;
use crate::config::SigningAlgorithm;
use crate::crypto::b64url;

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
    pub(super) decoding: DecodingKey,
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

pub(super) fn jws_alg_name(alg: SigningAlgorithm) -> &'static str {
    match alg {
        SigningAlgorithm::RS256 => "RS256",
        SigningAlgorithm::PS256 => "PS256",
        SigningAlgorithm::ES256 => "ES256",
        SigningAlgorithm::EdDSA => "EdDSA",
    }
}

pub(super) fn parse_alg(name: &str) -> Option<SigningAlgorithm> {
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

    pub(super) fn jwt_alg(&self) -> Algorithm {
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

/// Whether `alg` signs with an RSA key.
pub(super) fn is_rsa(alg: SigningAlgorithm) -> bool {
    matches!(alg, SigningAlgorithm::RS256 | SigningAlgorithm::PS256)
}

/// Why aws-lc-rs refused an RSA key, in words.
pub(super) fn rsa_rejected(what: &str, e: &aws_lc_rs::error::KeyRejected) -> String {
    match e.description_() {
        "TooSmall" => RSA_TOO_SMALL.to_string(),
        other => format!("{what}: {other}"),
    }
}

pub(super) const RSA_TOO_SMALL: &str = "RSA keys must have at least 2048 bits";
