//! The state every handler shares: the domain's [`Services`] plus what only the web layer
//! needs (the discovery document, the redirect whitelist, cookie path and flags).
use std::ops::Deref;
use std::sync::Arc;

use bytes::Bytes;

use crate::domain::clients::registration::RateLimiter;
use crate::domain::pending::PendingSeal;
use crate::domain::redirect::Whitelist;
use crate::domain::services::Services;
use crate::domain::upstream::ProviderButton;

/// Shared application state: one reference-counted pointer, so the copy axum hands each
/// request costs one counter update (a clone of every field's own pointer cost 5–8 % of a
/// `client_credentials` request's CPU). Dereferences to [`WebState`] and on to
/// [`Services`], so `state.discovery`, `state.store`, `state.now()` all work and `&state`
/// is accepted where a domain function takes `&Services`.
#[derive(Clone)]
pub struct AppState(Arc<WebState>);

impl AppState {
    /// Wraps the state.
    pub fn new(state: WebState) -> AppState {
        AppState(Arc::new(state))
    }
}

impl Deref for AppState {
    type Target = WebState;

    fn deref(&self) -> &WebState {
        &self.0
    }
}

/// What [`AppState`] holds.
pub struct WebState {
    /// Settings, database, keys, clock and caches.
    pub services: Services,
    /// The discovery document, serialised once.
    pub discovery: Bytes,
    /// The redirect URI whitelist, parsed once.
    pub whitelist: Arc<Whitelist>,
    /// Path of the issuer URL (`/authentication`), for links and cookie paths.
    pub base_path: Arc<str>,
    /// Whether cookies get `Secure` (the issuer is https).
    pub secure_cookies: bool,
    /// Seals the pending sign-in into the login form (key shared through the database).
    pub pending: PendingSeal,
    /// Registrations per address in `authentication.registration.mode=open`.
    pub registration_limits: Arc<RateLimiter>,
    /// The login page's "Sign in with …" buttons.
    pub upstream_buttons: Arc<[ProviderButton]>,
}

impl Deref for WebState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.services
    }
}
