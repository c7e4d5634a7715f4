//! What the domain logic works with: the settings, the database, the signing keys, the
//! clock, and the in-memory caches every request shares. The web layer's
//! [`AppState`](crate::state::AppState) holds one of these (and dereferences to it), so a
//! handler passes `&state` to a domain function that takes `&Services`.
use std::sync::Arc;

use crate::clock::SharedClock;
use crate::config::Settings;
use crate::directory::Directory;
use crate::domain::credentials::CredentialCache;
use crate::domain::issued::IssuedPairs;
use crate::domain::revocation::Revocations;
use crate::domain::upstream::Upstreams;
use crate::keys::KeyManager;
use crate::store::Store;
use crate::throttle::Throttle;

/// The shared services of the domain layer (cheap to clone).
#[derive(Clone)]
pub struct Services {
    /// Validated settings.
    pub settings: Arc<Settings>,
    /// Database.
    pub store: Store,
    /// Signing keys.
    pub keys: Arc<KeyManager>,
    /// Time source.
    pub clock: SharedClock,
    /// Revocation state and user cache.
    pub revocations: Arc<Revocations>,
    /// Verified client_credentials cache.
    pub credentials: Arc<CredentialCache>,
    /// Device-code polls answered from memory while too early.
    pub device_polls: Arc<crate::domain::poll_gate::PollGate>,
    /// Issued client_credentials pairs, answered again while fresh.
    pub issued: Arc<IssuedPairs>,
    /// Failed-password throttle.
    pub throttle: Arc<Throttle>,
    /// Smart-card sign-in: trust anchors and revocation lists (`None`: off).
    pub certificates: Option<Arc<crate::domain::certificate::CertificateAuth>>,
    /// The LDAP / Active Directory directory, if one is configured.
    pub directory: Option<Arc<Directory>>,
    /// Upstream OpenID Connect providers and their discovery documents.
    pub upstreams: Arc<Upstreams>,
    /// The SAML service provider (`None`: off).
    pub saml: Option<Arc<crate::domain::saml::SamlSp>>,
}

impl Services {
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
