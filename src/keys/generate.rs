//! Fresh signing keys (first start, `keys rotate`, a newly configured algorithm).
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize};
use aws_lc_rs::signature::{EcdsaKeyPair, Ed25519KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};

use super::signing::jws_alg_name;
use super::{KeyError, SigningKey};
use crate::config::SigningAlgorithm;
use crate::store::StoredKey;

impl SigningKey {
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
}
