//! Verifying our own JWTs: the signature and algorithm against the key named by `kid`,
//! re-reading the keys for an unknown kid, and a cache of tokens already verified.
use std::sync::Arc;

use jsonwebtoken::Validation;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use super::{KeyManager, KeyRing};

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

/// Most tokens remembered as verified.
pub(super) const MAX_VERIFIED: usize = 20_000;

impl KeyRing {
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

impl KeyManager {
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
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use serde_json::json;

    use super::*;
    use crate::config::SigningAlgorithm;
    use crate::keys::signing::jws_alg_name;
    use crate::keys::SigningKey;

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
