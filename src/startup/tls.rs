//! Native HTTPS: the rustls server configuration, asking for a client certificate when
//! smart-card login is on (see [`crate::domain::certificate::verifier`]), and its reload
//! on SIGHUP.
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum_server::tls_rustls::RustlsConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::danger::ClientCertVerifier;
use rustls::ServerConfig;

use crate::config::Settings;

/// Native HTTPS: the rustls configuration and where it reloads from on SIGHUP.
pub(super) struct Tls {
    pub(super) config: RustlsConfig,
    certificate: PathBuf,
    key: PathBuf,
    client_auth: Option<Arc<dyn ClientCertVerifier>>,
}

/// A server configuration from PEM files, with HTTP/2 and HTTP/1.1 (ALPN), asking for a
/// client certificate through `client_auth` if given.
fn server_config(
    certificate: &Path,
    key: &Path,
    client_auth: Option<Arc<dyn ClientCertVerifier>>,
) -> Result<ServerConfig, String> {
    let chain = CertificateDer::pem_file_iter(certificate)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| e.to_string())?;
    if chain.is_empty() {
        return Err("no PEM certificate in the certificate file".into());
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| e.to_string())?;
    let builder = ServerConfig::builder();
    let builder = match client_auth {
        Some(verifier) => builder.with_client_cert_verifier(verifier),
        None => builder.with_no_client_auth(),
    };
    let mut config = builder
        .with_single_cert(chain, key)
        .map_err(|e| e.to_string())?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// Reads the certificate and key when `server.ssl.enabled`; `client_auth` asks for client
/// certificates (smart-card login).
pub(super) async fn load(
    settings: &Settings,
    client_auth: Option<Arc<dyn ClientCertVerifier>>,
) -> anyhow::Result<Option<Tls>> {
    let ssl = &settings.server.ssl;
    if !ssl.enabled {
        return Ok(None);
    }
    // several crypto back-ends may be linked in (tests); use aws-lc-rs, as for signing
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let (Some(certificate), Some(key)) = (ssl.certificate.clone(), ssl.key.clone()) else {
        anyhow::bail!(
            "{}: server.ssl.enabled = true needs server.ssl.certificate and server.ssl.key",
            settings.source.display()
        );
    };
    let config = server_config(&certificate, &key, client_auth.clone()).map_err(|e| {
        anyhow::anyhow!(
            "{}: server.ssl.certificate {} / server.ssl.key {}: {e}",
            settings.source.display(),
            certificate.display(),
            key.display()
        )
    })?;
    Ok(Some(Tls {
        config: RustlsConfig::from_config(Arc::new(config)),
        certificate,
        key,
        client_auth,
    }))
}

/// Re-reads the certificate and key on SIGHUP; connections in progress keep theirs.
pub(super) async fn reload_on_sighup(tls: Tls) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let Ok(mut hup) = signal(SignalKind::hangup()) else {
            tracing::warn!("cannot listen for SIGHUP; certificate reload disabled");
            return;
        };
        while hup.recv().await.is_some() {
            let (certificate, key, client_auth) = (
                tls.certificate.clone(),
                tls.key.clone(),
                tls.client_auth.clone(),
            );
            let built =
                tokio::task::spawn_blocking(move || server_config(&certificate, &key, client_auth))
                    .await
                    .map_err(|e| e.to_string())
                    .and_then(|r| r);
            match built {
                Ok(config) => {
                    tls.config.reload_from_config(Arc::new(config));
                    tracing::info!(certificate = %tls.certificate.display(), "TLS certificate reloaded")
                }
                Err(e) => {
                    tracing::error!(error = %e, "TLS certificate reload failed; keeping the old one")
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tls;
    }
}
