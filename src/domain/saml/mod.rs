//! The SAML 2.0 service provider: single sign-on through a SAML identity provider
//! (Teamwork Cloud's `authentication.saml.*`).
//!
//! - `samael` writes our `AuthnRequest` (HTTP-Redirect binding, signed with our key when
//!   one is configured) and reads metadata and the assertion's schema;
//! - `bergshamra` checks the XML signatures and opens encrypted assertions
//!   (`verify`), and only the signed assertion is read;
//! - `checks` applies the Web SSO profile's rules, `identity` maps the assertion to a
//!   just-in-time user (`domain::external`), and `flow` ties the browser's three visits
//!   together (to the identity provider, back to the assertion consumer, on to the
//!   sign-in's end).
//!
//! The identity provider's metadata comes from a file (read at start: a bad file stops
//! the start) or a URL (read in the background, then every [`REFRESH`]; a sign-in before
//! it answers gets a page saying so).
mod checks;
mod flow;
mod identity;
mod metadata;
mod verify;

use std::sync::{Arc, RwLock};
use std::time::Duration;

use crate::config::saml::IdpMetadata;
use crate::config::{SamlSettings, Settings};

pub use checks::{Expected, Refusal};
pub use flow::{begin, consume, finish, Begun, Finished, SamlError, BROWSER_COOKIE, LOGIN_TTL};
pub use identity::SOURCE;
pub use metadata::{parse_idp, sp_metadata, IdpInfo};
pub use verify::{verify_response, Unverified, Verified};

/// How often metadata from a URL is read again.
pub const REFRESH: Duration = Duration::from_secs(3600);
/// Fewest seconds between two reads of the metadata URL made for a waiting sign-in.
const ON_DEMAND_MIN_INTERVAL: Duration = Duration::from_secs(5);
const RETRY_FIRST: Duration = Duration::from_secs(2);
const RETRY_MAX: Duration = Duration::from_secs(300);
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest metadata document read.
const MAX_METADATA: usize = 1 << 20;

/// Our service provider: its settings, keys, URLs, and the identity provider as last read.
pub struct SamlSp {
    /// `authentication.saml.*`.
    pub settings: SamlSettings,
    /// Our entity ID.
    pub entity_id: String,
    /// Our assertion consumer (HTTP-POST).
    pub acs_url: String,
    /// Our metadata document.
    pub metadata_xml: String,
    /// Our private key (PEM), to decrypt assertions.
    sp_key_pem: Option<Vec<u8>>,
    /// The same key, to sign requests.
    signing_key: Option<openssl::pkey::PKey<openssl::pkey::Private>>,
    idp: RwLock<Option<Arc<IdpInfo>>>,
    last_error: RwLock<Option<String>>,
    /// When the metadata URL was last read for a waiting sign-in.
    last_on_demand: std::sync::Mutex<Option<std::time::Instant>>,
    http: reqwest::Client,
}

impl std::fmt::Debug for SamlSp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SamlSp")
            .field("entity_id", &self.entity_id)
            .field("acs_url", &self.acs_url)
            .field("has_key", &self.sp_key_pem.is_some())
            .finish_non_exhaustive()
    }
}

fn read_file(path: &std::path::Path, what: &str) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| anyhow::anyhow!("{what} {}: {e}", path.display()))
}

fn pem_certificate_der(pem: &[u8], path: &std::path::Path) -> anyhow::Result<Vec<u8>> {
    let (_, parsed) = x509_parser::pem::parse_x509_pem(pem).map_err(|e| {
        anyhow::anyhow!(
            "authentication.saml.sp.certificate {}: not a PEM certificate: {e}",
            path.display()
        )
    })?;
    parsed.parse_x509().map_err(|e| {
        anyhow::anyhow!(
            "authentication.saml.sp.certificate {}: not an X.509 certificate: {e}",
            path.display()
        )
    })?;
    Ok(parsed.contents)
}

fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl SamlSp {
    /// Our service provider when `authentication.saml.enabled`; reads our key and
    /// certificate, and the identity provider's metadata when it is a file. Every failure
    /// names the key and the file.
    pub fn load(settings: &Settings) -> anyhow::Result<Option<Arc<SamlSp>>> {
        let Some(saml) = settings.saml.clone() else {
            return Ok(None);
        };
        let issuer = settings.issuer();
        let metadata_url = format!("{issuer}/saml2/metadata");
        let entity_id = saml.entity_id.clone().unwrap_or(metadata_url);
        let acs_url = format!("{issuer}/saml2/acs");
        let (sp_key_pem, signing_key, cert_der) = match (&saml.sp_key, &saml.sp_certificate) {
            (Some(key_path), Some(cert_path)) => {
                let pem = read_file(key_path, "authentication.saml.sp.key")?;
                let key = openssl::pkey::PKey::private_key_from_pem(&pem).map_err(|e| {
                    anyhow::anyhow!(
                        "authentication.saml.sp.key {}: not a PEM private key: {e}",
                        key_path.display()
                    )
                })?;
                if key.rsa().is_err() && key.ec_key().is_err() {
                    anyhow::bail!(
                        "authentication.saml.sp.key {}: an RSA or EC key is needed",
                        key_path.display()
                    );
                }
                let cert_pem = read_file(cert_path, "authentication.saml.sp.certificate")?;
                let der = pem_certificate_der(&cert_pem, cert_path)?;
                (Some(pem), Some(key), Some(der))
            }
            _ => (None, None, None),
        };
        let metadata_xml = sp_metadata(
            &entity_id,
            &acs_url,
            &saml.name_id_format,
            cert_der.as_deref(),
        )
        .map_err(|e| anyhow::anyhow!(e))?;
        let idp = match &saml.idp_metadata {
            IdpMetadata::File(path) => {
                let bytes = read_file(path, "authentication.saml.idp.metadata.file")?;
                let text = String::from_utf8(bytes).map_err(|_| {
                    anyhow::anyhow!(
                        "authentication.saml.idp.metadata.file {}: not UTF-8",
                        path.display()
                    )
                })?;
                let info = parse_idp(&text).map_err(|e| {
                    anyhow::anyhow!(
                        "authentication.saml.idp.metadata.file {}: {e}",
                        path.display()
                    )
                })?;
                Some(Arc::new(info))
            }
            IdpMetadata::Url(_) => None,
        };
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::limited(3))
            .timeout(HTTP_TIMEOUT)
            .build()?;
        Ok(Some(Arc::new(SamlSp {
            settings: saml,
            entity_id,
            acs_url,
            metadata_xml,
            sp_key_pem,
            signing_key,
            idp: RwLock::new(idp),
            last_error: RwLock::new(None),
            last_on_demand: std::sync::Mutex::new(None),
            http,
        })))
    }

    /// The identity provider as last read, or why there is none yet.
    pub fn idp(&self) -> Result<Arc<IdpInfo>, String> {
        read(&self.idp).clone().ok_or_else(|| {
            read(&self.last_error)
                .clone()
                .unwrap_or_else(|| "its metadata has not been read yet".to_owned())
        })
    }

    /// The identity provider; when its metadata URL has not answered yet, it is read now
    /// (at most every [`ON_DEMAND_MIN_INTERVAL`], so a provider that is down is not
    /// hammered by sign-ins).
    pub async fn current_idp(&self) -> Result<Arc<IdpInfo>, String> {
        if let Ok(idp) = self.idp() {
            return Ok(idp);
        }
        let due = {
            let mut last = self
                .last_on_demand
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let due = last.is_none_or(|at| at.elapsed() >= ON_DEMAND_MIN_INTERVAL);
            if due {
                *last = Some(std::time::Instant::now());
            }
            due
        };
        if due {
            self.refresh().await?;
        }
        self.idp()
    }

    /// Our private key (PEM), if configured.
    pub(crate) fn sp_key_pem(&self) -> Option<&[u8]> {
        self.sp_key_pem.as_deref()
    }

    /// The key requests are signed with, if configured.
    pub(crate) fn signing_key(&self) -> Option<&openssl::pkey::PKey<openssl::pkey::Private>> {
        self.signing_key.as_ref()
    }

    async fn fetch(&self, url: &url::Url) -> Result<IdpInfo, String> {
        let response = self
            .http
            .get(url.clone())
            .send()
            .await
            .map_err(|e| crate::domain::upstream::error_chain(&e))?;
        if !response.status().is_success() {
            return Err(format!("the metadata URL answered {}", response.status()));
        }
        let body = response
            .bytes()
            .await
            .map_err(|e| crate::domain::upstream::error_chain(&e))?;
        if body.len() > MAX_METADATA {
            return Err("the metadata is larger than 1 MiB".into());
        }
        let text = std::str::from_utf8(&body).map_err(|_| "the metadata is not UTF-8")?;
        parse_idp(text)
    }

    /// Reads the metadata URL now; keeps the last good metadata on failure.
    pub async fn refresh(&self) -> Result<(), String> {
        let IdpMetadata::Url(url) = &self.settings.idp_metadata else {
            return Ok(());
        };
        match self.fetch(url).await {
            Ok(info) => {
                let changed = read(&self.idp).as_deref() != Some(&info);
                *write(&self.idp) = Some(Arc::new(info));
                if write(&self.last_error).take().is_some() || changed {
                    tracing::info!(url = %url, "SAML identity provider metadata loaded");
                }
                Ok(())
            }
            Err(reason) => {
                tracing::warn!(url = %url, error = %reason, "SAML identity provider metadata cannot be read");
                *write(&self.last_error) = Some(reason.clone());
                Err(reason)
            }
        }
    }

    /// Reads metadata from a URL at start, retries with backoff, and again every
    /// [`REFRESH`]. Runs until aborted; returns at once for metadata from a file.
    pub async fn run(self: Arc<Self>) {
        if !matches!(self.settings.idp_metadata, IdpMetadata::Url(_)) {
            return;
        }
        let mut retry = RETRY_FIRST;
        loop {
            let wait = match self.refresh().await {
                Ok(()) => {
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
