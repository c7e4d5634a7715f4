//! The TLS client configuration of `ldaps://` and StartTLS when a CA file is configured:
//! only the authorities of that file are trusted.
use std::path::Path;

use rustls::pki_types::CertificateDer;
use rustls::RootCertStore;

/// A client configuration trusting the certificates of the PEM file at `path`.
pub(super) fn client_config(path: &Path) -> Result<rustls::ClientConfig, String> {
    let key = "authentication.ldap.ca.file";
    let text = std::fs::read(path)
        .map_err(|e| format!("{key} {}: cannot read it: {e}", path.display()))?;
    let blocks = pem::parse_many(&text)
        .map_err(|e| format!("{key} {}: not a PEM file: {e}", path.display()))?;
    let mut roots = RootCertStore::empty();
    for block in blocks.iter().filter(|b| b.tag() == "CERTIFICATE") {
        roots
            .add(CertificateDer::from(block.contents().to_vec()))
            .map_err(|e| format!("{key} {}: a certificate is unusable: {e}", path.display()))?;
    }
    if roots.is_empty() {
        return Err(format!(
            "{key} {}: holds no CERTIFICATE block",
            path.display()
        ));
    }
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("{key}: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}
