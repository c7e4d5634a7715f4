//! The set of keys in force ([`KeyRing`], with the JWKS document) and the [`KeyManager`]
//! that loads it from the configured key and the database, reloads and rotates it.
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use bytes::Bytes;
use serde_json::json;

use super::import::configured_key;
use super::signing::{is_rsa, jws_alg_name, parse_alg};
use super::{KeyError, SigningKey};
use crate::config::{Settings, SigningAlgorithm};
use crate::store::Store;

/// The set of keys in force: one active signer and every key still published.
#[derive(Debug, Default)]
pub struct KeyRing {
    pub(super) keys: Vec<Arc<SigningKey>>,
    pub(super) active: Option<Arc<SigningKey>>,
    pub(super) jwks: Bytes,
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
    pub(super) verified: RwLock<HashMap<[u8; 32], VerifiedEntry>>,
    /// when a token with an unknown kid last made this process re-read the keys
    unknown_kid_reload: tokio::sync::Mutex<Option<std::time::Instant>>,
}

/// A verified token: its kid, header `typ` and payload JSON.
pub(super) type VerifiedEntry = (String, Option<String>, Arc<[u8]>);

impl std::fmt::Debug for KeyManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyManager").finish_non_exhaustive()
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
