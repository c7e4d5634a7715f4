//! The state every handler shares.
use std::sync::Arc;

use bytes::Bytes;

use crate::clock::SharedClock;
use crate::config::Settings;
use crate::domain::redirect::Whitelist;
use crate::keys::KeyManager;
use crate::store::Store;

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
}

impl AppState {
    /// Current time in seconds.
    pub fn now(&self) -> i64 {
        self.clock.now()
    }
    /// The issuer identifier.
    pub fn issuer(&self) -> String {
        self.settings.issuer()
    }
}
