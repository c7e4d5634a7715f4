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
                    .map_err(|e| KeyError::Invalid(format!("not an RSA private key: {e}")))?;
                if pair.public_modulus_len() < 256 {
                    return Err(KeyError::Invalid(
                        "RSA keys must have at least 2048 bits".into(),
                    ));
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
}

type VerifiedEntry = (String, Option<String>, Arc<[u8]>);

/// Most tokens remembered as verified.
const MAX_VERIFIED: usize = 20_000;

impl std::fmt::Debug for KeyManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyManager").finish_non_exhaustive()
    }
}

/// Reads a PEM (PKCS#8 `PRIVATE KEY` or PKCS#1 `RSA PRIVATE KEY`) key file.
pub fn read_pem_key(path: &std::path::Path) -> Result<Vec<u8>, KeyError> {
    let text = std::fs::read(path).map_err(|err| KeyError::Unreadable {
        key: "authentication.signing.key",
        path: path.display().to_string(),
        err,
    })?;
    let block = pem::parse(&text).map_err(|e| {
        KeyError::Invalid(format!(
            "authentication.signing.key: {} is not a PEM file: {e}",
            path.display()
        ))
    })?;
    match block.tag() {
        "PRIVATE KEY" | "RSA PRIVATE KEY" => Ok(block.contents().to_vec()),
        other => Err(KeyError::Invalid(format!(
            "authentication.signing.key: {} holds a {other:?} block, expected PRIVATE KEY",
            path.display()
        ))),
    }
}

impl KeyManager {
    /// Loads the configured key (if any), makes sure the database has an active key,
    /// and builds the ring.
    pub async fn load(store: Store, settings: &Settings, now: i64) -> Result<KeyManager, KeyError> {
        let algorithm = settings.auth.signing_algorithm;
        let configured = match &settings.auth.signing_key {
            Some(path) => {
                let der = read_pem_key(path)?;
                Some(Arc::new(SigningKey::from_pkcs8(
                    &der,
                    algorithm,
                    settings.auth.signing_kid.clone(),
                )?))
            }
            None => None,
        };
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
        };
        if manager.configured.is_none() {
            manager.ensure_active_key(now).await?;
        }
        let ring = manager.build_ring(now).await?;
        manager.ring = RwLock::new(Arc::new(ring));
        Ok(manager)
    }

    async fn ensure_active_key(&self, now: i64) -> Result<(), KeyError> {
        // an RSA key is always kept as well, for relying parties that only know RS256
        let mut wanted = vec![self.algorithm];
        if !matches!(
            self.algorithm,
            SigningAlgorithm::RS256 | SigningAlgorithm::PS256
        ) {
            wanted.push(SigningAlgorithm::RS256);
        }
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
        let alg = jws_alg_name(self.algorithm);
        let mut keys: Vec<Arc<SigningKey>> = Vec::new();
        let mut active = self.configured.clone();
        if let Some(k) = &self.configured {
            keys.push(k.clone());
        }
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
            key.active = row.active && self.configured.is_none();
            key.retired_at = row.retired_at;
            let key = Arc::new(key);
            if active.is_none() && key.active && row.alg == alg {
                active = Some(key.clone());
            }
            keys.push(key);
        }
        let Some(active) = active else {
            // the active key was deleted by hand or another algorithm was configured
            self.ensure_active_key(now).await?;
            return Box::pin(self.build_ring(now)).await;
        };
        let published: Vec<&serde_json::Value> = keys.iter().map(|k| &k.jwk).collect();
        let jwks = Bytes::from(serde_json::to_vec(&json!({ "keys": published }))?);
        Ok(KeyRing {
            keys,
            active: Some(active),
            jwks,
        })
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
}
