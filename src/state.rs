//! The state every handler shares.
use std::sync::Arc;

use bytes::Bytes;

use crate::clock::SharedClock;
use crate::config::Settings;
use crate::domain::credentials::CredentialCache;
use crate::domain::pending::PendingSeal;
use crate::domain::redirect::Whitelist;
use crate::keys::KeyManager;
use crate::revocation::Revocations;
use crate::store::Store;
use crate::throttle::Throttle;

/// Shared application state (cheap to clone).
#[derive(Clone)]
pub struct AppState {
    /// Validated settings.
    pub settings: Arc<Settings>,
    /// Database.
    pub store: Store,
    /// Signing keys.
    pub keys: Arc<KeyManager>,
    /// Time source.
    pub clock: SharedClock,
    /// The discovery document, serialised once.
    pub discovery: Bytes,
    /// The redirect URI whitelist, parsed once.
    pub whitelist: Arc<Whitelist>,
    /// Path of the issuer URL (`/authentication`), for links and cookie paths.
    pub base_path: Arc<str>,
    /// Whether cookies get `Secure` (the issuer is https).
    pub secure_cookies: bool,
    /// Revocation state and user cache.
    pub revocations: Arc<Revocations>,
    /// Verified client_credentials cache.
    pub credentials: Arc<CredentialCache>,
    /// Failed-password throttle.
    pub throttle: Arc<Throttle>,
    /// Seals the pending sign-in into the login form (key shared through the database).
    pub pending: PendingSeal,
}

impl AppState {
    /// Current time in seconds.
    pub fn now(&self) -> i64 {
        self.clock.now()
    }
    /// Applies new revocation events (right after this process wrote some).
    pub async fn sync_revocations(&self) {
        if let Err(e) = self.revocations.poll(&self.store, self.now()).await {
            tracing::warn!(error = %e, "reading revocation events failed");
        }
    }
    /// The issuer identifier.
    pub fn issuer(&self) -> String {
        self.settings.issuer()
    }
}
