//! Cache of verified `client_credentials` user credentials.
//!
//! Server-to-server callers send the same user name and password all day. Running argon2
//! on every call would cap the server at a few dozen calls per second per core and hand
//! attackers a cheap denial of service, so after one successful argon2 verification the
//! pair is remembered for [`CREDENTIAL_TTL`] seconds under an HMAC-SHA256 of the pair
//! keyed with a random per-process key (the password itself is never kept). A hit is only
//! honoured while the user is enabled and has not changed password since (the user's
//! generation must be unchanged), so a password change or disable ends it at once.
//! Misses (including every wrong password) still pay argon2 (or a directory round trip) and
//! go through the throttle.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_lc_rs::hmac;

use crate::crypto::random_bytes;
use crate::store::User;

/// How long a verified pair is trusted without argon2.
pub const CREDENTIAL_TTL: i64 = 300;
const MAX_ENTRIES: usize = 50_000;

#[derive(Debug, Clone)]
struct Entry {
    user_id: i64,
    generation: i64,
    verified_at: i64,
}

/// The outcome of one verification, shared by the concurrent identical requests.
#[derive(Debug, Clone)]
pub enum Verification {
    /// Right password: the user (a directory user may have been created or updated).
    Verified(Arc<User>),
    /// Wrong password, unknown or disabled user.
    Refused,
    /// Too many failures: retry after this many seconds.
    Throttled(u64),
    /// The directory that checks the password did not answer.
    Unavailable,
}

/// A verification in progress that concurrent identical requests wait for.
pub type Pending = Arc<tokio::sync::OnceCell<Verification>>;

/// The cache.
pub struct CredentialCache {
    key: hmac::Key,
    entries: Mutex<HashMap<[u8; 32], Entry>>,
    /// single flight: concurrent misses for the same pair share one argon2 run (and one
    /// throttle attempt), so a burst of identical first calls does not look like an attack
    inflight: Mutex<HashMap<[u8; 32], Pending>>,
}

impl std::fmt::Debug for CredentialCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialCache").finish_non_exhaustive()
    }
}

impl Default for CredentialCache {
    fn default() -> Self {
        Self::new()
    }
}

impl CredentialCache {
    /// An empty cache with a fresh random key.
    pub fn new() -> CredentialCache {
        CredentialCache {
            key: hmac::Key::new(hmac::HMAC_SHA256, &random_bytes::<32>()),
            entries: Mutex::new(HashMap::new()),
            inflight: Mutex::new(HashMap::new()),
        }
    }

    /// The verification of this pair in progress (or a new one to run).
    pub fn pending(&self, fingerprint: &[u8; 32]) -> Pending {
        let mut inflight = self.inflight.lock().unwrap_or_else(|p| p.into_inner());
        inflight.entry(*fingerprint).or_default().clone()
    }

    /// Ends a verification in progress.
    pub fn finished(&self, fingerprint: &[u8; 32], pending: &Pending) {
        let mut inflight = self.inflight.lock().unwrap_or_else(|p| p.into_inner());
        if inflight
            .get(fingerprint)
            .is_some_and(|p| Arc::ptr_eq(p, pending))
        {
            inflight.remove(fingerprint);
        }
    }

    /// Keyed fingerprint of a (user name, password) pair.
    pub fn fingerprint(&self, username: &str, password: &str) -> [u8; 32] {
        let mut ctx = hmac::Context::with_key(&self.key);
        ctx.update(&(username.len() as u64).to_be_bytes());
        ctx.update(username.as_bytes());
        ctx.update(password.as_bytes());
        let tag = ctx.sign();
        let mut out = [0u8; 32];
        out.copy_from_slice(tag.as_ref());
        out
    }

    /// Whether this pair was verified for this user recently and the user is unchanged.
    pub fn hit(&self, fingerprint: &[u8; 32], user: &User, now: i64) -> bool {
        if user.disabled {
            return false;
        }
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.get(fingerprint).is_some_and(|e| {
            e.user_id == user.id
                && e.generation == user.generation
                && now.saturating_sub(e.verified_at) < CREDENTIAL_TTL
                && now >= e.verified_at
        })
    }

    /// Remembers a pair argon2 just verified.
    pub fn insert(&self, fingerprint: [u8; 32], user: &User, now: i64) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, e| now.saturating_sub(e.verified_at) < CREDENTIAL_TTL);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(
            fingerprint,
            Entry {
                user_id: user.id,
                generation: user.generation,
                verified_at: now,
            },
        );
    }

    /// Drops expired entries.
    pub fn purge(&self, now: i64) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.retain(|_, e| now.saturating_sub(e.verified_at) < CREDENTIAL_TTL);
    }
}
