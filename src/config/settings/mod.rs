//! The typed settings: one file per group of keys (`server.*`, `database.*`,
//! `authentication.*`, `logging.*`), each reading its keys and listing its report rows;
//! this file assembles them and checks what spans groups.

mod auth;
mod certificate;
mod database;
mod ldap;
mod logging;
mod saml;
mod server;
mod upstream;

use std::path::{Path, PathBuf};

pub use auth::AuthSettings;
pub use certificate::{
    CertificateSettings, NameRule, SanKind, Template, TemplatePiece, DN_ATTRIBUTES, UPN_OID,
};
pub use database::DatabaseSettings;
pub use ldap::{LdapSettings, DN_PLACEHOLDER, USERNAME_PLACEHOLDER};
pub use logging::LoggingSettings;
pub use saml::{
    Comparison as SamlComparison, IdpMetadata, SamlSettings, TRANSIENT as SAML_TRANSIENT,
};
pub use server::{ServerSettings, SslSettings};
pub use upstream::{UpstreamProvider, UpstreamSettings};

use super::reader::Reader;
use super::sources::layered;
use super::values::{one_line, url_without_trailing_slash};
use super::{properties, ConfigError};

/// All settings, validated.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The properties file the settings were read from.
    pub source: PathBuf,
    /// `server.*`.
    pub server: ServerSettings,
    /// `database.*`.
    pub database: DatabaseSettings,
    /// `authentication.*`.
    pub auth: AuthSettings,
    /// `authentication.ldap.*`: the directory, if one is configured.
    pub ldap: Option<LdapSettings>,
    /// `authentication.certificate.*` (smart-card login).
    pub certificate: CertificateSettings,
    /// `logging.*`.
    pub logging: LoggingSettings,
    /// `authentication.oidc.*`: upstream OpenID Connect providers.
    pub upstream: UpstreamSettings,
    /// `authentication.saml.*`: the SAML service provider, when enabled.
    pub saml: Option<SamlSettings>,
}

/// `authentication.disable.credentials=true` turns the local passwords off, which locks
/// everyone out unless another identity source signs people in: refused at start without
/// one.
fn check_credentials_source(
    r: &Reader<'_>,
    auth: &AuthSettings,
    ldap: Option<&LdapSettings>,
    certificate: &CertificateSettings,
    upstream: &UpstreamSettings,
    saml: bool,
) -> Result<(), ConfigError> {
    const KEY: &str = "authentication.disable.credentials";
    if auth.disable_credentials
        && ldap.is_none()
        && !certificate.enabled
        && upstream.providers.is_empty()
        && !saml
    {
        if let Some(raw) = r.get(KEY)? {
            return Err(r.invalid(
                KEY,
                &raw,
                "false, unless another identity source is configured \
                 (authentication.ldap.url, authentication.certificate.enabled, \
                 authentication.oidc.providers or authentication.saml.enabled): without one, turning local passwords off \
                 would lock every user out",
            ));
        }
    }
    Ok(())
}

/// Settings plus the warnings found while loading them (unknown keys, ignored aliases…).
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The validated settings.
    pub settings: Settings,
    /// One line each, ready to print.
    pub warnings: Vec<String>,
}
impl Settings {
    /// Reads and validates the properties file at `path`, then applies `env` overrides.
    pub fn load(path: &Path, env: &[(String, String)]) -> Result<Loaded, ConfigError> {
        let bytes = std::fs::read(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_str(&properties::decode(&bytes), path, env)
    }

    /// Validates properties `text` (`path` only names it in messages), then `env` overrides.
    pub fn from_str(
        text: &str,
        path: &Path,
        env: &[(String, String)],
    ) -> Result<Loaded, ConfigError> {
        let (sources, mut warnings) = layered(text, path, env)?;
        let reader = Reader::new(path, &sources);
        let settings = Self::read(&reader, &mut warnings)?;
        Ok(Loaded { settings, warnings })
    }

    fn read(r: &Reader<'_>, warnings: &mut Vec<String>) -> Result<Self, ConfigError> {
        let server = ServerSettings::read(r, warnings)?;
        let database = DatabaseSettings::read(r)?;
        let auth = AuthSettings::read(r, &server, warnings)?;
        let ldap = LdapSettings::read(r)?;
        let certificate = CertificateSettings::read(r, &server, warnings)?;
        let upstream = UpstreamSettings::read(r, warnings)?;
        let saml = SamlSettings::read(r, warnings)?;
        check_credentials_source(
            r,
            &auth,
            ldap.as_ref(),
            &certificate,
            &upstream,
            saml.is_some(),
        )?;
        let logging = LoggingSettings::read(r)?;
        Ok(Settings {
            source: r.path.to_path_buf(),
            server,
            database,
            auth,
            ldap,
            certificate,
            logging,
            upstream,
            saml,
        })
    }

    /// The OpenID issuer: the public URL + `/authentication`, no trailing slash.
    pub fn issuer(&self) -> String {
        format!(
            "{}/authentication",
            url_without_trailing_slash(&self.server.public_url)
        )
    }

    /// Whether `client_id` gets the permanent token lifetime.
    pub fn is_permanent_client(&self, client_id: &str) -> bool {
        self.auth.permanent_clients.iter().any(|c| c == client_id)
    }

    /// Whether `client_id` may use the password grant (`authentication.client.password`).
    pub fn is_password_client(&self, client_id: &str) -> bool {
        self.auth.password_clients.iter().any(|c| c == client_id)
    }

    /// Whether `client_id`'s script logins may get a refresh token
    /// (`authentication.client.offline`).
    pub fn is_offline_client(&self, client_id: &str) -> bool {
        self.auth.offline_clients.iter().any(|c| c == client_id)
    }

    /// Whether `client_id` is one of `authentication.client.ids`.
    pub fn is_allowed_client(&self, client_id: &str) -> bool {
        self.auth.client_ids.iter().any(|c| c == client_id)
    }

    /// Whether `client_id` may use the implicit and hybrid sign-in.
    pub fn is_implicit_client(&self, client_id: &str) -> bool {
        self.auth.implicit_clients.iter().any(|c| c == client_id)
    }

    /// Whether the login page has the user name and password form: not when
    /// `authentication.disable.credentials` leaves no password to check there (no
    /// directory, smart-card login only).
    pub fn password_form(&self) -> bool {
        !self.auth.disable_credentials || self.ldap.is_some()
    }

    /// Whether the login page for `client_id` offers "Stay signed in".
    pub fn offers_remember_me(&self, client_id: &str) -> bool {
        !self
            .auth
            .remember_me_hidden_clients
            .iter()
            .any(|c| c == client_id)
    }

    /// Every effective setting as `key = value` lines (canonical keys, secrets masked).
    pub fn report(&self) -> String {
        let fixed = [
            self.server.effective(),
            self.database.effective(),
            self.auth.effective(),
            LdapSettings::effective(self.ldap.as_ref()),
            self.certificate.effective(),
        ]
        .concat()
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value));
        let logging = self
            .logging
            .effective()
            .into_iter()
            .map(|(key, value)| (key.to_owned(), value));
        let saml = SamlSettings::effective(self.saml.as_ref())
            .into_iter()
            .map(|(key, value)| (key.to_owned(), value));
        fixed
            .chain(self.upstream.effective())
            .chain(saml)
            .chain(logging)
            .map(|(key, value)| format!("{key} = {}\n", one_line(&value)))
            .collect()
    }
}
