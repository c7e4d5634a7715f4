//! Cache of issued `client_credentials` token pairs.
//!
//! Scripts and integrations often ask for a token on every call. When the same credential
//! (a user's name and password, or a PAT), the same client and the same scope ask again
//! while an earlier pair still has at least [`REUSE_NUMERATOR`]/[`REUSE_DENOMINATOR`]
//! (90 %) of its lifetime left, that pair is answered again with the remaining
//! `expires_in` instead of signing two new JWTs. A share of the lifetime rather than a
//! fixed window: it scales with `authentication.token.expiry` and the permanent lifetime
//! alike, and a caller always gets a token with at least 90 % of the lifetime it would get
//! from a fresh grant, so nobody's refresh logic is surprised by a short-lived token.
//!
//! The key is an HMAC-SHA256, under a random per-process key, of the credential's keyed
//! fingerprint (a password is never kept; see [`crate::domain::credentials`]) or of the
//! PAT, the client id and the granted scope: it cannot be derived without the credential.
//!
//! A hit is only served while nothing that would make the pair invalid (or a fresh pair
//! different) has happened since it was issued, checked against the same state token
//! validation reads, so the events that reach every instance drop it there at once:
//! - the user's generation is unchanged and the user is enabled (a password change or a
//!   disable bumps the generation),
//! - neither token's `jti` is revoked and the PAT it came from is not revoked,
//! - the key that signed it is still the active signing key (a rotation drops it).
//!
//! Memory is bounded by [`MAX_ENTRIES`]; a full cache first forgets pairs past their
//! reuse window, then the pairs that expire first.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_lc_rs::hmac;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::crypto::random_bytes;
use crate::domain::revocation::Revocations;
use crate::store::User;

pub mod reuse;

/// A pair is reused while at least `REUSE_NUMERATOR / REUSE_DENOMINATOR` of its lifetime
/// is left.
pub const REUSE_NUMERATOR: i64 = 9;
/// See [`REUSE_NUMERATOR`].
pub const REUSE_DENOMINATOR: i64 = 10;
/// Most pairs kept (a pair is about 2 KiB with RSA signatures: some 8 MiB at most).
pub const MAX_ENTRIES: usize = 4096;

/// The credential a `client_credentials` call authenticated with.
#[derive(Debug, Clone, Copy)]
pub enum Credential<'a> {
    /// The keyed fingerprint of a user name and password.
    Password(&'a [u8; 32]),
    /// A personal access token (the token itself).
    Pat(&'a str),
}

/// Cache key of a (credential, client, scope).
pub type PairKey = [u8; 32];

/// An issued pair as the token response carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair {
    /// The access token.
    pub access_token: String,
    /// The ID token (when the scope holds `openid`).
    pub id_token: Option<String>,
    /// The granted scope.
    pub scope: String,
    /// Seconds left.
    pub expires_in: i64,
}

#[derive(Debug)]
struct Entry {
    pair: Pair,
    user_id: i64,
    generation: i64,
    kid: String,
    jtis: Vec<String>,
    pat: Option<String>,
    iat: i64,
    exp: i64,
}

impl Entry {
    /// Whether at least 90 % of the lifetime is left at `now`.
    fn fresh(&self, now: i64) -> bool {
        let lifetime = self.exp.saturating_sub(self.iat);
        let left = self.exp.saturating_sub(now);
        now >= self.iat
            && left > 0
            && left.saturating_mul(REUSE_DENOMINATOR) >= lifetime.saturating_mul(REUSE_NUMERATOR)
    }
}

/// The cache.
pub struct IssuedPairs {
    key: hmac::Key,
    entries: Mutex<HashMap<PairKey, Arc<Entry>>>,
}

impl std::fmt::Debug for IssuedPairs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedPairs").finish_non_exhaustive()
    }
}

impl Default for IssuedPairs {
    fn default() -> Self {
        Self::new()
    }
}

/// The parts of a minted JWT the cache checks: header `kid`, payload `jti`, `iat`, `exp`.
#[derive(serde::Deserialize)]
struct Header {
    kid: String,
}
#[derive(serde::Deserialize)]
struct Payload {
    jti: String,
    iat: i64,
    exp: i64,
}

fn segment<T: serde::de::DeserializeOwned>(jwt: &str, index: usize) -> Option<T> {
    let part = jwt.split('.').nth(index)?;
    let bytes = URL_SAFE_NO_PAD.decode(part).ok()?;
    serde_json::from_slice(&bytes).ok()
}

impl IssuedPairs {
    /// An empty cache with a fresh random key.
    pub fn new() -> IssuedPairs {
        IssuedPairs {
            key: hmac::Key::new(hmac::HMAC_SHA256, &random_bytes::<32>()),
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The cache key of this credential, client and granted scope.
    pub fn key(&self, credential: Credential<'_>, client_id: &str, scope: &str) -> PairKey {
        let mut ctx = hmac::Context::with_key(&self.key);
        let (tag, bytes): (u8, &[u8]) = match credential {
            Credential::Password(fingerprint) => (b'p', fingerprint),
            Credential::Pat(token) => (b't', token.as_bytes()),
        };
        ctx.update(&[tag]);
        for part in [bytes, client_id.as_bytes(), scope.as_bytes()] {
            ctx.update(&(part.len() as u64).to_be_bytes());
            ctx.update(part);
        }
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.sign().as_ref());
        out
    }

    /// The pair issued earlier under `key`, with the remaining `expires_in`, if it still has
    /// 90 % of its lifetime and nothing has invalidated it (see the module documentation).
    /// A pair that may no longer be served is forgotten.
    pub fn get(
        &self,
        key: &PairKey,
        user: &User,
        revocations: &Revocations,
        active_kid: &str,
        now: i64,
    ) -> Option<Pair> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let entry = entries.get(key)?.clone();
        let usable = entry.fresh(now)
            && !user.disabled
            && entry.user_id == user.id
            && entry.generation == user.generation
            && entry.kid == active_kid
            && !entry.jtis.iter().any(|j| revocations.jti_revoked(j))
            && !entry
                .pat
                .as_deref()
                .is_some_and(|p| revocations.pat_revoked(p));
        if !usable {
            entries.remove(key);
            return None;
        }
        drop(entries);
        let mut pair = entry.pair.clone();
        pair.expires_in = entry.exp.saturating_sub(now);
        Some(pair)
    }

    /// Remembers a pair just minted for `user` (from the PAT `pat`, if any).
    pub fn insert(&self, key: PairKey, response: &Pair, user: &User, pat: Option<&str>, now: i64) {
        let Some(header) = segment::<Header>(&response.access_token, 0) else {
            return;
        };
        let Some(access) = segment::<Payload>(&response.access_token, 1) else {
            return;
        };
        let mut jtis = vec![access.jti];
        if let Some(id_token) = &response.id_token {
            match segment::<Payload>(id_token, 1) {
                Some(id) => jtis.push(id.jti),
                None => return,
            }
        }
        let entry = Arc::new(Entry {
            pair: response.clone(),
            user_id: user.id,
            generation: user.generation,
            kid: header.kid,
            jtis,
            pat: pat.map(str::to_string),
            iat: access.iat,
            exp: access.exp,
        });
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_ENTRIES && !entries.contains_key(&key) {
            entries.retain(|_, e| e.fresh(now));
            while entries.len() >= MAX_ENTRIES {
                let Some(first) = entries.iter().min_by_key(|(_, e)| e.exp).map(|(k, _)| *k) else {
                    break;
                };
                entries.remove(&first);
            }
        }
        entries.insert(key, entry);
    }

    /// Forgets every pair (tests, and anything that wants a clean slate).
    pub fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    /// How many pairs are kept.
    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Whether no pair is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(iat: i64, exp: i64) -> Entry {
        Entry {
            pair: Pair {
                access_token: String::new(),
                expires_in: exp - iat,
                id_token: None,
                scope: "openid".into(),
            },
            user_id: 1,
            generation: 0,
            kid: "k".into(),
            jtis: Vec::new(),
            pat: None,
            iat,
            exp,
        }
    }

    #[test]
    fn a_pair_is_fresh_while_at_least_ninety_percent_of_its_lifetime_is_left() {
        let e = entry(1000, 1900);
        assert!(e.fresh(1000));
        assert!(e.fresh(1090), "exactly 90 % left");
        assert!(!e.fresh(1091));
        assert!(!e.fresh(999), "not before it was issued");
    }

    #[test]
    fn the_key_depends_on_the_credential_the_client_and_the_scope_and_on_the_process() {
        let a = IssuedPairs::new();
        let fp = [7u8; 32];
        let k = a.key(Credential::Password(&fp), "c", "openid");
        assert_eq!(k, a.key(Credential::Password(&fp), "c", "openid"));
        assert_ne!(k, a.key(Credential::Password(&[8u8; 32]), "c", "openid"));
        assert_ne!(k, a.key(Credential::Password(&fp), "d", "openid"));
        assert_ne!(k, a.key(Credential::Password(&fp), "c", "openid email"));
        assert_ne!(k, a.key(Credential::Pat("c"), "c", "openid"));
        assert_ne!(
            k,
            IssuedPairs::new().key(Credential::Password(&fp), "c", "openid")
        );
    }

    #[test]
    fn a_full_cache_evicts_stale_pairs_then_those_expiring_first() {
        let cache = IssuedPairs::new();
        {
            let mut entries = cache.entries.lock().unwrap();
            for i in 0..MAX_ENTRIES {
                let mut k = [0u8; 32];
                k[..8].copy_from_slice(&(i as u64).to_be_bytes());
                entries.insert(k, Arc::new(entry(1000, 2000 + i as i64)));
            }
        }
        let mut evicted = [0u8; 32];
        evicted[..8].copy_from_slice(&0u64.to_be_bytes());
        let mut entries = cache.entries.lock().unwrap();
        // the same eviction insert() runs
        entries.retain(|_, e| e.fresh(1000));
        assert_eq!(entries.len(), MAX_ENTRIES, "all are fresh at 1000");
        drop(entries);
        // insert() needs a real JWT; drive the eviction through a minimal one
        let header = URL_SAFE_NO_PAD.encode(br#"{"kid":"k"}"#);
        let payload = URL_SAFE_NO_PAD.encode(br#"{"jti":"j","iat":1000,"exp":1900}"#);
        let mut response = entry(1000, 1900).pair;
        response.access_token = format!("{header}.{payload}.sig");
        let user = User {
            id: 1,
            username: "u".into(),
            password_hash: String::new(),
            name: None,
            email: None,
            admin: false,
            disabled: false,
            not_before: 0,
            generation: 0,
            created_at: 0,
            updated_at: 0,
            ..User::default()
        };
        cache.insert([9u8; 32], &response, &user, None, 1000);
        assert_eq!(cache.len(), MAX_ENTRIES);
        assert!(!cache.entries.lock().unwrap().contains_key(&evicted));
    }
}
