//! Registered clients kept in memory for client authentication, so that a registered
//! client's token or introspection call costs no database read in the common case.
//!
//! An entry is dropped when the `revocation_events` log says the client changed (`client`:
//! removed; `client_changed`: metadata updated or secret rotated), which every process
//! applies after its own writes and polls for the others'. A presented secret that matches
//! no cached one is checked once more against the database (a secret rotated a moment ago
//! by another process works at once).
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use super::RegisteredClient;
use crate::crypto::{ct_eq, token_hash};

/// Most clients kept; beyond it the cache starts over.
const MAX_CLIENTS: usize = 100_000;

/// A registered client with the hashes of its secrets and their expiries.
#[derive(Debug)]
pub struct CachedClient {
    /// The client.
    pub client: RegisteredClient,
    /// (SHA-256 of a secret, expiry).
    pub secrets: Vec<(Vec<u8>, Option<i64>)>,
}

impl CachedClient {
    /// Whether any of `candidates` is a secret live at `now` (every comparison runs, each
    /// constant-time).
    pub fn secret_matches(&self, candidates: &[&str], now: i64) -> bool {
        let presented: Vec<Vec<u8>> = candidates.iter().map(|c| token_hash(c)).collect();
        let mut ok = false;
        for (hash, expires_at) in &self.secrets {
            let live = expires_at.is_none_or(|e| e > now);
            for p in &presented {
                ok |= ct_eq(hash, p) & live;
            }
        }
        ok
    }
}

/// The cache of one process.
#[derive(Debug, Default)]
pub struct ClientCache {
    map: RwLock<HashMap<String, Arc<CachedClient>>>,
}

impl ClientCache {
    /// The cached entry.
    pub fn get(&self, client_id: &str) -> Option<Arc<CachedClient>> {
        self.map
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(client_id)
            .cloned()
    }

    /// Keeps an entry.
    pub fn insert(&self, entry: Arc<CachedClient>) {
        let mut map = self.map.write().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_CLIENTS {
            map.clear();
        }
        map.insert(entry.client.client_id.clone(), entry);
    }

    /// Drops an entry (the client changed or was removed).
    pub fn forget(&self, client_id: &str) {
        self.map
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(client_id);
    }
}
