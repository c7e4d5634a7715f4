//! Smart-card (CAC/PIV) sign-in with a client certificate.
//!
//! The certificate comes from the TLS handshake (the server asks for one without requiring
//! it, see [`verifier`]) or, behind a TLS-terminating proxy, from a header, believed only
//! from `server.trusted.proxies`. Either way authserver checks it itself before reading a
//! name from it: the chain up to a trust anchor, validity dates, key usage for client
//! authentication, and revocation against the CRLs in force (`WebPkiClientVerifier`,
//! rustls' verifier over `webpki`). A revocation list past its `nextUpdate` makes every
//! certificate sign-in fail until a fresh list is loaded (fail closed).
pub mod crl;
pub mod identity;
mod login;
pub mod verifier;

use std::net::IpAddr;
use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use base64::Engine;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, UnixTime};
use rustls::server::danger::ClientCertVerifier;
use rustls::server::WebPkiClientVerifier;
use rustls::{CertificateError, RootCertStore};

use crate::config::CertificateSettings;

pub use identity::Names;
pub use login::{sign_in, Refused, SOURCE};

/// The largest certificate chain read from a header.
const MAX_HEADER_BYTES: usize = 32 * 1024;

/// Why a certificate does not sign anyone in; [`CertificateRefusal::message`] is shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertificateRefusal {
    /// No certificate came with the request.
    NotPresented,
    /// Not issued by a trusted CA (or the chain cannot be built).
    Untrusted,
    /// Past its validity.
    Expired,
    /// Before its validity.
    NotYetValid,
    /// On a revocation list.
    Revoked,
    /// The revocation list is past its `nextUpdate`, or does not cover the issuer.
    RevocationUnknown,
    /// Otherwise unusable (bad encoding, signature, key usage…): why.
    Invalid(String),
    /// Valid, but without the name the configuration asks for: why.
    NoName(String),
}

impl CertificateRefusal {
    /// The explanation for the person signing in.
    pub fn message(&self) -> String {
        match self {
            CertificateRefusal::NotPresented => "No certificate was presented. Insert your \
                smart card, make sure the browser offers its certificate to this site (it may \
                remember an earlier choice until it is restarted), and try again."
                .into(),
            CertificateRefusal::Untrusted => "Your certificate was not issued by a certificate \
                authority this server trusts."
                .into(),
            CertificateRefusal::Expired => "Your certificate has expired.".into(),
            CertificateRefusal::NotYetValid => "Your certificate is not valid yet.".into(),
            CertificateRefusal::Revoked => "Your certificate has been revoked.".into(),
            CertificateRefusal::RevocationUnknown => "The server cannot tell whether your \
                certificate has been revoked (its revocation list is out of date), so \
                certificate sign-in is unavailable. Try again later or contact your \
                administrator."
                .into(),
            CertificateRefusal::Invalid(why) => {
                format!("Your certificate cannot be used to sign in: {why}.")
            }
            CertificateRefusal::NoName(why) => {
                format!("Your certificate does not name a user here ({why}).")
            }
        }
    }

    /// A short name for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            CertificateRefusal::NotPresented => "not_presented",
            CertificateRefusal::Untrusted => "untrusted",
            CertificateRefusal::Expired => "expired",
            CertificateRefusal::NotYetValid => "not_yet_valid",
            CertificateRefusal::Revoked => "revoked",
            CertificateRefusal::RevocationUnknown => "revocation_unknown",
            CertificateRefusal::Invalid(_) => "invalid",
            CertificateRefusal::NoName(_) => "no_name",
        }
    }
}

fn refusal(error: rustls::Error) -> CertificateRefusal {
    match error {
        rustls::Error::InvalidCertificate(e) => match e {
            CertificateError::UnknownIssuer => CertificateRefusal::Untrusted,
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                CertificateRefusal::Expired
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                CertificateRefusal::NotYetValid
            }
            CertificateError::Revoked => CertificateRefusal::Revoked,
            CertificateError::UnknownRevocationStatus
            | CertificateError::ExpiredRevocationList
            | CertificateError::ExpiredRevocationListContext { .. } => {
                CertificateRefusal::RevocationUnknown
            }
            CertificateError::BadSignature => {
                CertificateRefusal::Invalid("its signature does not verify".into())
            }
            CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
                CertificateRefusal::Invalid("it is not meant for client authentication".into())
            }
            other => CertificateRefusal::Invalid(format!("{other:?}")),
        },
        other => CertificateRefusal::Invalid(other.to_string()),
    }
}

/// A certificate chain as it came with a request, not verified yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presented {
    /// End entity first, then any intermediates, DER.
    Chain(Vec<CertificateDer<'static>>),
    /// Nothing usable came.
    Nothing,
    /// A header that cannot be read as a certificate (from a trusted proxy).
    Unreadable,
}

/// The revocation lists from each place, as last read.
#[derive(Default)]
struct Lists {
    file: Option<crl::Crls>,
    url: Option<crl::Crls>,
}

impl Lists {
    fn all(&self) -> Vec<CertificateRevocationListDer<'static>> {
        self.file
            .iter()
            .chain(self.url.iter())
            .flat_map(|c| c.lists.iter().cloned())
            .collect()
    }

    fn next_update(&self) -> Option<i64> {
        self.file
            .iter()
            .chain(self.url.iter())
            .filter_map(|c| c.next_update)
            .min()
    }
}

struct Current {
    verifier: Arc<dyn ClientCertVerifier>,
    lists: Lists,
}

/// Client-certificate sign-in: the trust anchors, the revocation lists in force and the
/// name rules.
pub struct CertificateAuth {
    settings: CertificateSettings,
    roots: Arc<RootCertStore>,
    provider: Arc<CryptoProvider>,
    current: RwLock<Current>,
}

impl std::fmt::Debug for CertificateAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateAuth")
            .field("anchors", &self.roots.len())
            .finish_non_exhaustive()
    }
}

fn read_anchors(path: &Path) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    let certs =
        CertificateDer::pem_file_iter(path).map_err(|e| format!("{}: {e}", path.display()))?;
    for cert in certs {
        let cert = cert.map_err(|e| format!("{}: {e}", path.display()))?;
        roots.add(cert).map_err(|e| {
            format!(
                "{}: a certificate cannot be used as a trust anchor: {e}",
                path.display()
            )
        })?;
    }
    if roots.is_empty() {
        return Err(format!("{}: no PEM certificate in it", path.display()));
    }
    Ok(roots)
}

impl CertificateAuth {
    /// Reads the trust anchors and the revocation lists (file and URL); an error names the
    /// key whose file or URL failed. `None` when certificate login is off.
    pub async fn load(settings: &CertificateSettings) -> Result<Option<CertificateAuth>, String> {
        if !settings.enabled {
            return Ok(None);
        }
        let Some(anchors) = &settings.trust_anchors else {
            return Err("authentication.certificate.trust.anchors is not set".into());
        };
        let roots = Arc::new(
            read_anchors(anchors)
                .map_err(|e| format!("authentication.certificate.trust.anchors: {e}"))?,
        );
        let mut lists = Lists::default();
        if let Some(path) = &settings.crl_file {
            lists.file =
                Some(crl::read_file(path).await.map_err(|e| {
                    format!("authentication.certificate.revocation.list.file: {e}")
                })?);
        }
        if let Some(url) = &settings.crl_url {
            lists.url = Some(
                crl::fetch(url)
                    .await
                    .map_err(|e| format!("authentication.certificate.revocation.list.url: {e}"))?,
            );
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let verifier = build(&roots, &provider, &lists)
            .map_err(|e| format!("authentication.certificate.revocation.list.file / .url: {e}"))?;
        Ok(Some(CertificateAuth {
            settings: settings.clone(),
            roots,
            provider,
            current: RwLock::new(Current { verifier, lists }),
        }))
    }

    /// The verifier for the TLS server's handshake (see [`verifier`]).
    pub fn handshake_verifier(&self) -> Arc<dyn ClientCertVerifier> {
        Arc::new(verifier::AskingVerifier::new(
            self.roots.subjects(),
            self.provider.clone(),
        ))
    }

    /// How often the revocation lists are read again.
    pub fn refresh_interval(&self) -> Duration {
        Duration::from_secs(self.settings.crl_refresh.max(1))
    }

    /// The earliest `nextUpdate` of the lists in force.
    pub fn next_update(&self) -> Option<i64> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .lists
            .next_update()
    }

    /// Reads the revocation lists again; a place that fails keeps its last list (logged).
    pub async fn refresh(&self) {
        let (mut file, mut url) = {
            let current = self.current.read().unwrap_or_else(|p| p.into_inner());
            (current.lists.file.clone(), current.lists.url.clone())
        };
        if let Some(path) = &self.settings.crl_file {
            match crl::read_file(path).await {
                Ok(lists) => file = Some(lists),
                Err(e) => {
                    tracing::warn!(error = %e, "re-reading the certificate revocation list file failed; keeping the last one")
                }
            }
        }
        if let Some(location) = &self.settings.crl_url {
            match crl::fetch(location).await {
                Ok(lists) => url = Some(lists),
                Err(e) => {
                    tracing::warn!(error = %e, "fetching the certificate revocation list failed; keeping the last one")
                }
            }
        }
        let lists = Lists { file, url };
        match build(&self.roots, &self.provider, &lists) {
            Ok(verifier) => {
                let mut current = self.current.write().unwrap_or_else(|p| p.into_inner());
                *current = Current { verifier, lists };
            }
            Err(e) => {
                tracing::warn!(error = %e, "the new certificate revocation lists are unusable; keeping the last ones")
            }
        }
    }

    /// Which certificate a request presents: the `header` from a trusted proxy when
    /// `authentication.certificate.headers.enabled` (never the proxy's own TLS
    /// certificate), else the TLS peer's chain. A header from anyone else is ignored.
    pub fn presented(
        &self,
        tls_chain: Option<&[Vec<u8>]>,
        header: Option<&str>,
        peer: IpAddr,
        trusted_proxies: &[ipnet::IpNet],
    ) -> Presented {
        let from_proxy = trusted_proxies.iter().any(|n| n.contains(&peer));
        if self.settings.headers_enabled && from_proxy {
            return match header {
                Some(value) => parse_header(value),
                None => Presented::Nothing,
            };
        }
        if header.is_some() {
            tracing::warn!(%peer, "a client certificate header from an address that is not a trusted proxy was ignored");
        }
        match tls_chain {
            Some(chain) if !chain.is_empty() => Presented::Chain(
                chain
                    .iter()
                    .map(|c| CertificateDer::from(c.clone()))
                    .collect(),
            ),
            _ => Presented::Nothing,
        }
    }

    /// The header name a trusted proxy passes the certificate in (lower case).
    pub fn header(&self) -> &str {
        &self.settings.header
    }

    /// Verifies `presented` at `now` (chain, dates, purpose, revocation) and reads its names.
    pub fn verify(&self, presented: &Presented, now: i64) -> Result<Names, CertificateRefusal> {
        let chain = match presented {
            Presented::Chain(chain) if !chain.is_empty() => chain,
            Presented::Unreadable => {
                return Err(CertificateRefusal::Invalid(
                    "the certificate passed on by the proxy cannot be read".into(),
                ))
            }
            _ => return Err(CertificateRefusal::NotPresented),
        };
        let verifier = self
            .current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .verifier
            .clone();
        let at = UnixTime::since_unix_epoch(Duration::from_secs(u64::try_from(now).unwrap_or(0)));
        verifier
            .verify_client_cert(&chain[0], &chain[1..], at)
            .map_err(refusal)?;
        identity::names(
            chain[0].as_ref(),
            &self.settings.username,
            &self.settings.display_name,
        )
        .map_err(CertificateRefusal::NoName)
    }
}

fn build(
    roots: &Arc<RootCertStore>,
    provider: &Arc<CryptoProvider>,
    lists: &Lists,
) -> Result<Arc<dyn ClientCertVerifier>, String> {
    WebPkiClientVerifier::builder_with_provider(roots.clone(), provider.clone())
        .with_crls(lists.all())
        .allow_unauthenticated()
        .enforce_revocation_expiration()
        .build()
        .map_err(|e| e.to_string())
}

/// A certificate header: URL-encoded PEM (nginx's `$ssl_client_escaped_cert`), plain PEM,
/// or base64 DER; more than one PEM block is the chain, end entity first.
fn parse_header(value: &str) -> Presented {
    if value.is_empty() || value.len() > MAX_HEADER_BYTES {
        return Presented::Unreadable;
    }
    let decoded = percent_encoding::percent_decode_str(value).decode_utf8_lossy();
    let text = decoded.trim();
    if text.contains("-----BEGIN") {
        return match CertificateDer::pem_slice_iter(text.as_bytes()).collect::<Result<Vec<_>, _>>()
        {
            Ok(chain) if !chain.is_empty() => Presented::Chain(chain),
            _ => Presented::Unreadable,
        };
    }
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    match base64::engine::general_purpose::STANDARD.decode(compact) {
        Ok(der) if !der.is_empty() => Presented::Chain(vec![CertificateDer::from(der)]),
        _ => Presented::Unreadable,
    }
}
