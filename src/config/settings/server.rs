//! `server.*`: where to listen, the public URL, TLS, proxies and metrics access.

use std::net::IpAddr;
use std::path::PathBuf;

use ipnet::IpNet;
use url::Url;

use crate::config::reader::Reader;
use crate::config::table::PUBLIC_HOST_ALIAS;
use crate::config::values::{
    display_path, join, parse_address, parse_public_host, parse_public_url,
    url_without_trailing_slash,
};
use crate::config::ConfigError;

/// `server.*` settings.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// Bind address (`server.address`).
    pub address: IpAddr,
    /// Bind port (`server.port`; 0 picks a free port).
    pub port: u16,
    /// External base URL: http(s), no query or fragment, path without trailing slash
    /// (the bare root still renders as `/`; use [`Settings::issuer`](super::Settings::issuer)).
    pub public_url: Url,
    /// `server.ssl.*`.
    pub ssl: SslSettings,
    /// Reverse proxies whose `X-Forwarded-For` is believed (`server.trusted.proxies`).
    pub trusted_proxies: Vec<IpNet>,
    /// Networks allowed to read `/metrics` (`server.metrics.allow`).
    pub metrics_allow: Vec<IpNet>,
}

/// `server.ssl.*` settings; when enabled, both files are set.
#[derive(Debug, Clone, Default)]
pub struct SslSettings {
    /// Serve HTTPS (`server.ssl.enabled`).
    pub enabled: bool,
    /// PEM certificate chain (`server.ssl.certificate`).
    pub certificate: Option<PathBuf>,
    /// PEM private key (`server.ssl.key`).
    pub key: Option<PathBuf>,
}

impl ServerSettings {
    pub(super) fn read(r: &Reader<'_>, warnings: &mut Vec<String>) -> Result<Self, ConfigError> {
        let file = r.path.display().to_string();

        let ssl = SslSettings {
            enabled: r.boolean("server.ssl.enabled")?,
            certificate: r.optional("server.ssl.certificate")?.map(PathBuf::from),
            key: r.optional("server.ssl.key")?.map(PathBuf::from),
        };
        if ssl.enabled {
            let missing: Vec<&str> = [
                ("server.ssl.certificate", ssl.certificate.is_none()),
                ("server.ssl.key", ssl.key.is_none()),
            ]
            .into_iter()
            .filter_map(|(key, missing)| missing.then_some(key))
            .collect();
            if !missing.is_empty() {
                return Err(ConfigError::Inconsistent {
                    path: r.path.to_path_buf(),
                    message: format!(
                        "server.ssl.enabled = true requires server.ssl.certificate and \
                         server.ssl.key (PEM files), but {} not set",
                        if missing.len() == 1 {
                            format!("{} is", missing.join(""))
                        } else {
                            format!("{} are", missing.join(" and "))
                        }
                    ),
                });
            }
        }

        let port = r.defaulted("server.port", |v| {
            v.parse::<u16>()
                .map_err(|_| "a port number from 0 to 65535".to_owned())
        })?;
        let public_url = match r.get("server.public.url")? {
            Some(raw) if raw.provided.is_some_and(|p| p.via == PUBLIC_HOST_ALIAS) => {
                parse_public_host(raw.trimmed(), ssl.enabled)
                    .map_err(|expected| r.invalid("server.public.url", &raw, expected))?
            }
            Some(raw) if !raw.trimmed().is_empty() => parse_public_url(raw.trimmed())
                .map_err(|expected| r.invalid("server.public.url", &raw, expected))?,
            _ => {
                let scheme = if ssl.enabled { "https" } else { "http" };
                Url::parse(&format!("{scheme}://localhost:{port}")).map_err(|err| {
                    ConfigError::Merge {
                        path: r.path.to_path_buf(),
                        message: format!("server.public.url: default: {err}"),
                    }
                })?
            }
        };
        if public_url.path().ends_with("/authentication") {
            warnings.push(format!(
                "{file}: server.public.url = \"{}\" ends with /authentication, which the \
                 issuer adds itself (issuer: {}/authentication)",
                url_without_trailing_slash(&public_url),
                url_without_trailing_slash(&public_url)
            ));
        }

        Ok(ServerSettings {
            address: r.defaulted("server.address", parse_address)?,
            port,
            public_url,
            ssl,
            trusted_proxies: r.networks("server.trusted.proxies")?,
            metrics_allow: r.networks("server.metrics.allow")?,
        })
    }

    /// The `server.*` rows of the report, in table order.
    pub(super) fn effective(&self) -> Vec<(&'static str, String)> {
        vec![
            ("server.address", self.address.to_string()),
            ("server.port", self.port.to_string()),
            (
                "server.public.url",
                url_without_trailing_slash(&self.public_url).to_owned(),
            ),
            ("server.ssl.enabled", self.ssl.enabled.to_string()),
            (
                "server.ssl.certificate",
                display_path(self.ssl.certificate.as_ref()),
            ),
            ("server.ssl.key", display_path(self.ssl.key.as_ref())),
            ("server.trusted.proxies", join(&self.trusted_proxies)),
            ("server.metrics.allow", join(&self.metrics_allow)),
        ]
    }
}
