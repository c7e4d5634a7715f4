//! Upstream OpenID Connect providers ("Sign in with …"): their discovery documents and
//! keys, kept fresh in memory, and the sign-in through them (`flow`).
//!
//! The `openidconnect` crate is the client: it reads discovery, builds the authorization
//! request (code flow, PKCE S256, `state`, `nonce`), exchanges the code with
//! `client_secret_basic` and verifies the ID token against the provider's JWKS.
//!
//! Discovery is read in the background from start (a provider that does not answer
//! does not stop the server: it is retried with backoff, and a sign-in through it is
//! refused with a page until it answers), then again every [`REFRESH`]. An ID token signed
//! with a key the cached JWKS lacks triggers one JWKS fetch, at most every
//! [`JWKS_MIN_INTERVAL`] per provider.
mod claims;
mod flow;
mod seal;

use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use openidconnect::core::CoreProviderMetadata;
use openidconnect::{IssuerUrl, JsonWebKeySet};

use crate::config::{Settings, UpstreamProvider};

pub use claims::{identity_from_claims, ClaimsError};
pub use flow::{begin, finish, Begun, Finished, UpstreamError, BROWSER_COOKIE, LOGIN_TTL};

/// How often discovery (and with it the JWKS) is read again.
pub const REFRESH: Duration = Duration::from_secs(3600);
/// Fewest seconds between two JWKS fetches of one provider for an unknown `kid`.
pub const JWKS_MIN_INTERVAL: Duration = Duration::from_secs(60);
/// Fewest seconds between two discovery attempts made for a waiting sign-in.
const ON_DEMAND_MIN_INTERVAL: Duration = Duration::from_secs(5);
/// First and longest wait before discovery is retried after a failure.
const RETRY_FIRST: Duration = Duration::from_secs(2);
const RETRY_MAX: Duration = Duration::from_secs(300);
/// Timeout of every request to a provider.
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// One provider: its settings and what was last read from it.
#[derive(Debug)]
struct Provider {
    config: UpstreamProvider,
    metadata: RwLock<Option<Arc<CoreProviderMetadata>>>,
    /// Why the last discovery failed (shown in logs), cleared on success.
    last_error: RwLock<Option<String>>,
    /// When discovery or the JWKS were last attempted (the rate limits).
    last_discovery: Mutex<Option<Instant>>,
    /// Held while discovery runs: a sign-in waits for the one in flight.
    discovering: tokio::sync::Mutex<()>,
    last_jwks: Mutex<Option<Instant>>,
}

/// The configured upstream providers with their cached discovery documents.
#[derive(Debug)]
pub struct Upstreams {
    http: reqwest::Client,
    providers: Vec<Provider>,
}

/// A provider as the login page shows it.
#[derive(Debug, Clone)]
pub struct ProviderButton {
    /// Its name (in the URLs).
    pub name: String,
    /// Button text after "Sign in with".
    pub display_name: String,
}

/// Why a provider cannot be used right now.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryFailure {
    /// No provider has this name.
    #[error("no upstream provider is called {0:?}")]
    Unknown(String),
    /// Its discovery document could not be read (yet).
    #[error("the discovery document of {name} cannot be read: {reason}")]
    Unavailable {
        /// The provider.
        name: String,
        /// Why.
        reason: String,
    },
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Upstreams {
    /// The providers of `settings` (nothing is fetched yet: see [`Upstreams::run`]).
    pub fn new(settings: &Settings) -> anyhow::Result<Upstreams> {
        // the openidconnect crate's advice: no redirects, so a provider cannot point our
        // requests (carrying the client secret or a code) elsewhere
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(HTTP_TIMEOUT)
            .build()?;
        let providers = settings
            .upstream
            .providers
            .iter()
            .map(|config| Provider {
                config: config.clone(),
                metadata: RwLock::new(None),
                last_error: RwLock::new(None),
                last_discovery: Mutex::new(None),
                discovering: tokio::sync::Mutex::new(()),
                last_jwks: Mutex::new(None),
            })
            .collect();
        Ok(Upstreams { http, providers })
    }

    /// Whether any provider is configured.
    pub fn is_empty(&self) -> bool {
        self.providers.is_empty()
    }

    /// The buttons of the login page, in configuration order.
    pub fn buttons(&self) -> Vec<ProviderButton> {
        self.providers
            .iter()
            .map(|p| ProviderButton {
                name: p.config.name.clone(),
                display_name: p.config.display_name.clone(),
            })
            .collect()
    }

    fn provider(&self, name: &str) -> Result<&Provider, DiscoveryFailure> {
        self.providers
            .iter()
            .find(|p| p.config.name == name)
            .ok_or_else(|| DiscoveryFailure::Unknown(name.to_owned()))
    }

    /// The HTTP client for requests to providers.
    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Reads the discovery document (and JWKS) of `provider` and caches it.
    async fn discover(&self, provider: &Provider) -> Result<Arc<CoreProviderMetadata>, String> {
        let _running = provider.discovering.lock().await;
        *lock(&provider.last_discovery) = Some(Instant::now());
        let issuer = IssuerUrl::new(provider.config.issuer.clone()).map_err(|e| e.to_string())?;
        // the crate checks that the document's issuer is exactly the configured one
        let result = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(|e| error_chain(&e));
        match result {
            Ok(metadata) => {
                let metadata = Arc::new(metadata);
                *write(&provider.metadata) = Some(metadata.clone());
                if write(&provider.last_error).take().is_some() {
                    tracing::info!(provider = %provider.config.name, "upstream provider reachable again");
                }
                Ok(metadata)
            }
            Err(reason) => {
                tracing::warn!(
                    provider = %provider.config.name,
                    issuer = %provider.config.issuer,
                    error = %reason,
                    "upstream discovery failed"
                );
                *write(&provider.last_error) = Some(reason.clone());
                Err(reason)
            }
        }
    }

    /// The provider's settings and discovery document; reads the document now if there is
    /// none yet (at most every few seconds, so a provider that is down is not hammered).
    pub(crate) async fn metadata(
        &self,
        name: &str,
    ) -> Result<(&UpstreamProvider, Arc<CoreProviderMetadata>), DiscoveryFailure> {
        let provider = self.provider(name)?;
        if let Some(m) = read(&provider.metadata).clone() {
            return Ok((&provider.config, m));
        }
        let unavailable = |reason: String| DiscoveryFailure::Unavailable {
            name: name.to_owned(),
            reason,
        };
        {
            // wait for a discovery in flight (the one at start, a retry), then look again
            let _running = provider.discovering.lock().await;
            if let Some(m) = read(&provider.metadata).clone() {
                return Ok((&provider.config, m));
            }
            let recent = lock(&provider.last_discovery)
                .is_some_and(|at| at.elapsed() < ON_DEMAND_MIN_INTERVAL);
            if recent {
                let reason = read(&provider.last_error)
                    .clone()
                    .unwrap_or_else(|| "not read yet".to_owned());
                return Err(unavailable(reason));
            }
        }
        let m = self.discover(provider).await.map_err(unavailable)?;
        Ok((&provider.config, m))
    }

    /// Fetches the provider's JWKS again (an ID token named a key we do not have), unless
    /// that was done less than [`JWKS_MIN_INTERVAL`] ago. Returns the refreshed document.
    pub(crate) async fn refresh_jwks(&self, name: &str) -> Option<Arc<CoreProviderMetadata>> {
        let provider = self.provider(name).ok()?;
        {
            let mut last = lock(&provider.last_jwks);
            if last.is_some_and(|at| at.elapsed() < JWKS_MIN_INTERVAL) {
                return None;
            }
            *last = Some(Instant::now());
        }
        let current = read(&provider.metadata).clone()?;
        match JsonWebKeySet::fetch_async(current.jwks_uri(), &self.http).await {
            Ok(jwks) => {
                let updated = Arc::new((*current).clone().set_jwks(jwks));
                *write(&provider.metadata) = Some(updated.clone());
                tracing::info!(provider = %name, "upstream JWKS refreshed for an unknown key");
                Some(updated)
            }
            Err(e) => {
                tracing::warn!(provider = %name, error = %error_chain(&e), "upstream JWKS refresh failed");
                None
            }
        }
    }

    /// Reads every provider's discovery now, retries the ones that fail with backoff, and
    /// reads them all again every [`REFRESH`]. Runs until aborted.
    pub async fn run(self: Arc<Self>) {
        // a JoinSet aborts its tasks when dropped, so aborting this aborts them all
        let mut loops = tokio::task::JoinSet::new();
        for i in 0..self.providers.len() {
            let this = self.clone();
            loops.spawn(async move { this.keep_fresh(i).await });
        }
        while loops.join_next().await.is_some() {}
    }

    async fn keep_fresh(&self, index: usize) {
        let Some(provider) = self.providers.get(index) else {
            return;
        };
        let mut retry = RETRY_FIRST;
        loop {
            let wait = match self.discover(provider).await {
                Ok(_) => {
                    retry = RETRY_FIRST;
                    REFRESH
                }
                Err(_) => {
                    let wait = retry;
                    retry = (retry * 2).min(RETRY_MAX);
                    wait
                }
            };
            tokio::time::sleep(wait).await;
        }
    }
}

fn read<T: Clone>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// An error with its sources, on one line.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
