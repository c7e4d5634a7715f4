//! Certificate revocation lists: read from a file or fetched from a URL, PEM or DER, with
//! their `nextUpdate`. Their signatures are checked by the verifier (against the CA that
//! issued them) when a certificate is checked, not here.
use std::path::Path;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateRevocationListDer;

/// Largest CRL accepted from a URL (large CAs publish lists of tens of megabytes).
const MAX_URL_BYTES: usize = 128 * 1024 * 1024;

/// The lists read from one place, with the earliest `nextUpdate` among them.
#[derive(Debug, Clone)]
pub struct Crls {
    /// The lists, DER.
    pub lists: Vec<CertificateRevocationListDer<'static>>,
    /// The earliest `nextUpdate` (seconds since the epoch), if any list has one.
    pub next_update: Option<i64>,
}

/// Parses one or more CRLs: PEM (`X509 CRL` blocks) or a single DER list.
pub fn parse(bytes: &[u8]) -> Result<Crls, String> {
    let lists: Vec<CertificateRevocationListDer<'static>> = if bytes.starts_with(b"-----") {
        CertificateRevocationListDer::pem_slice_iter(bytes)
            .collect::<Result<_, _>>()
            .map_err(|e| format!("not a PEM certificate revocation list: {e}"))?
    } else {
        vec![CertificateRevocationListDer::from(bytes.to_vec())]
    };
    if lists.is_empty() {
        return Err("no certificate revocation list in it".into());
    }
    let mut next_update: Option<i64> = None;
    for list in &lists {
        let (_, crl) = x509_parser::parse_x509_crl(list.as_ref())
            .map_err(|e| format!("not a certificate revocation list: {e}"))?;
        if let Some(next) = crl.next_update() {
            let t = next.timestamp();
            next_update = Some(next_update.map_or(t, |n| n.min(t)));
        }
    }
    Ok(Crls { lists, next_update })
}

/// Reads the lists in `path`.
pub async fn read_file(path: &Path) -> Result<Crls, String> {
    let bytes = tokio::fs::read(path)
        .await
        .map_err(|e| format!("{}: {e}", path.display()))?;
    parse(&bytes).map_err(|e| format!("{}: {e}", path.display()))
}

/// Fetches the list at `url` (a timeout, a size limit, no redirects to other schemes).
pub async fn fetch(url: &url::Url) -> Result<Crls, String> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .connect_timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::limited(3))
        .build()
        .map_err(|e| format!("{url}: {e}"))?;
    let response = client
        .get(url.clone())
        .send()
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    if !response.status().is_success() {
        return Err(format!("{url}: HTTP {}", response.status()));
    }
    if response
        .content_length()
        .is_some_and(|n| n > MAX_URL_BYTES as u64)
    {
        return Err(format!("{url}: larger than {MAX_URL_BYTES} bytes"));
    }
    let body = response.bytes().await.map_err(|e| format!("{url}: {e}"))?;
    if body.len() > MAX_URL_BYTES {
        return Err(format!("{url}: larger than {MAX_URL_BYTES} bytes"));
    }
    parse(&body).map_err(|e| format!("{url}: {e}"))
}
