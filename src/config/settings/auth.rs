//! `authentication.*`: clients, redirect whitelist, the shared secret, lifetimes,
//! signing keys and the login page.

use std::path::PathBuf;

use crate::config::reader::Reader;
use crate::config::values::{
    check_redirect_entry, parse_algorithm, parse_registration_mode, url_without_trailing_slash,
    RegistrationMode, Secret, SigningAlgorithm,
};
use crate::config::ConfigError;

use super::ServerSettings;

/// The `authentication.client.secret` of the checked-in `authserver.properties`: good for
/// the quick start on loopback, refused wherever others can reach the server.
pub(crate) const DEVELOPMENT_SECRET: &str = "dev-secret-change-before-production";

/// Why these server settings are reachable by others (so no place for the development
/// secret): a bind address off loopback, or an https public URL.
fn public_deployment(server: &ServerSettings) -> Option<String> {
    if !server.address.is_loopback() {
        return Some(format!(
            "server.address is {}, not a loopback address",
            server.address
        ));
    }
    if server.public_url.scheme() == "https" {
        return Some(format!(
            "server.public.url is {}",
            url_without_trailing_slash(&server.public_url)
        ));
    }
    None
}

/// `authentication.*` settings; durations are in seconds.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// Allowed client IDs (`authentication.client.ids`), never empty.
    pub client_ids: Vec<String>,
    /// Allowed redirect URIs or their beginnings, all absolute http(s) URLs.
    pub redirect_whitelist: Vec<String>,
    /// Shared secret sent as `X-Auth-Secret` (`authentication.client.secret`).
    pub client_secret: Secret,
    /// ID/access token lifetime (`authentication.token.expiry`).
    pub token_expiry: u64,
    /// Clients whose tokens get the permanent lifetime (`authentication.client.permanent`).
    pub permanent_clients: Vec<String>,
    /// Their token lifetime (`authentication.permanent.token.expiry`).
    pub permanent_token_expiry: u64,
    /// Clients allowed the password grant (`authentication.client.password`).
    pub password_clients: Vec<String>,
    /// Clients whose script logins may get a refresh token (`authentication.client.offline`).
    pub offline_clients: Vec<String>,
    /// Their refresh token lifetime (`authentication.offline.token.expiry`).
    pub offline_token_expiry: u64,
    /// Basic credentials at `/api/validate` (`authentication.validate.basic`).
    pub validate_basic: bool,
    /// Authorization code lifetime (`authentication.code.expiry`).
    pub code_expiry: u64,
    /// Refresh token lifetime (`authentication.refresh.token.expiry`).
    pub refresh_token_expiry: u64,
    /// Browser SSO session lifetime (`authentication.sso.session.expiry`).
    pub sso_session_expiry: u64,
    /// Refresh token reuse grace window (`authentication.refresh.token.reuse.grace`).
    pub refresh_reuse_grace: u64,
    /// ID token signing algorithm (`authentication.signing.algorithm`).
    pub signing_algorithm: SigningAlgorithm,
    /// PEM private key to sign with (`authentication.signing.key`).
    pub signing_key: Option<PathBuf>,
    /// `kid` for that key (`authentication.signing.kid`).
    pub signing_kid: Option<String>,
    /// Java key store holding the signing key (`authentication.server.key-store`).
    pub key_store: Option<PathBuf>,
    /// Its password (`authentication.server.key-store-password`).
    pub key_store_password: Option<Secret>,
    /// The key's alias in it (`authentication.server.key-alias`).
    pub key_alias: Option<String>,
    /// Text shown on the login page (`authentication.login.banner.text`).
    pub login_banner_text: Option<String>,
    /// Clients allowed the implicit and hybrid sign-in (`authentication.client.implicit`).
    pub implicit_clients: Vec<String>,
    /// Lifetime of front-channel tokens (`authentication.implicit.token.expiry`).
    pub implicit_token_expiry: u64,
    /// Clients whose login page hides "Stay signed in"
    /// (`authentication.remember.me.hidden.client.ids`).
    pub remember_me_hidden_clients: Vec<String>,
    /// Dynamic client registration (`authentication.registration.mode`).
    pub registration_mode: RegistrationMode,
    /// Whether an external sign-in may take over the local user of the same name
    /// (`authentication.external.link.local`).
    pub link_local_users: bool,
    /// Local passwords are not accepted (`authentication.disable.credentials`); only allowed
    /// beside another identity source (checked in `Settings::read`).
    pub disable_credentials: bool,
}

impl AuthSettings {
    /// Reads `authentication.*`; `server` decides whether the development secret may serve.
    pub(super) fn read(
        r: &Reader<'_>,
        server: &ServerSettings,
        warnings: &mut Vec<String>,
    ) -> Result<Self, ConfigError> {
        let file = r.path.display().to_string();
        let client_ids = r.required_list(
            "authentication.client.ids",
            "a comma-separated list of allowed client IDs",
        )?;

        const WHITELIST: &str = "authentication.redirect.uri.whitelist";
        let redirect_whitelist = r.required_list(
            WHITELIST,
            "a comma-separated list of allowed redirect URLs (or their beginnings)",
        )?;
        if let Some(raw) = r.get(WHITELIST)? {
            for entry in &redirect_whitelist {
                check_redirect_entry(entry)
                    .map_err(|expected| r.invalid_entry(WHITELIST, &raw, entry, expected))?;
            }
        }

        const SECRET: &str = "authentication.client.secret";
        let secret_expected = "the shared secret clients send as X-Auth-Secret";
        let client_secret = match r.get(SECRET)? {
            Some(raw) if raw.trimmed().is_empty() => return Err(r.missing(SECRET, secret_expected)),
            Some(raw) if raw.trimmed().eq_ignore_ascii_case("CHANGE_ME") => {
                let (location, key) = r.location(SECRET, &raw);
                return Err(ConfigError::Invalid {
                    location,
                    key,
                    value: raw.trimmed().to_owned(),
                    expected: format!("{secret_expected}, not the placeholder CHANGE_ME"),
                });
            }
            Some(raw) => {
                if raw.trimmed() == DEVELOPMENT_SECRET {
                    if let Some(reason) = public_deployment(server) {
                        let (location, key) = r.location(SECRET, &raw);
                        return Err(ConfigError::DevelopmentSecret {
                            location,
                            key,
                            reason,
                        });
                    }
                }
                if raw.trimmed() != raw.value {
                    let (location, key) = r.location(SECRET, &raw);
                    warnings.push(format!(
                        "{location}: {key} has leading or trailing whitespace, which is part \
                         of the secret"
                    ));
                }
                Secret::new(raw.value)
            }
            None => return Err(r.missing(SECRET, secret_expected)),
        };

        let permanent_clients = r.list("authentication.client.permanent")?;
        for client in &permanent_clients {
            if !client_ids.contains(client) {
                warnings.push(format!(
                    "{file}: authentication.client.permanent lists \"{client}\", which is not \
                     in authentication.client.ids, so it cannot get tokens"
                ));
            }
        }

        let password_clients = r.list("authentication.client.password")?;
        for client in &password_clients {
            if !client_ids.contains(client) {
                warnings.push(format!(
                    "{file}: authentication.client.password lists \"{client}\", which is not \
                     in authentication.client.ids, so it cannot get tokens"
                ));
            }
        }
        let offline_clients = r.list("authentication.client.offline")?;
        for client in &offline_clients {
            if !client_ids.contains(client) {
                warnings.push(format!(
                    "{file}: authentication.client.offline lists \"{client}\", which is not \
                     in authentication.client.ids, so it cannot get tokens"
                ));
            }
        }
        let implicit_clients = r.list("authentication.client.implicit")?;
        for client in &implicit_clients {
            if !client_ids.contains(client) {
                warnings.push(format!(
                    "{file}: authentication.client.implicit lists \"{client}\", which is not \
                     in authentication.client.ids, so it cannot sign in"
                ));
            }
        }

        let auth = AuthSettings {
            client_ids,
            redirect_whitelist,
            client_secret,
            token_expiry: r.duration("authentication.token.expiry")?,
            permanent_clients,
            permanent_token_expiry: r.duration("authentication.permanent.token.expiry")?,
            password_clients,
            offline_clients,
            offline_token_expiry: r.duration("authentication.offline.token.expiry")?,
            validate_basic: r.boolean("authentication.validate.basic")?,
            code_expiry: r.duration("authentication.code.expiry")?,
            refresh_token_expiry: r.duration("authentication.refresh.token.expiry")?,
            sso_session_expiry: r.duration("authentication.sso.session.expiry")?,
            refresh_reuse_grace: r.duration("authentication.refresh.token.reuse.grace")?,
            signing_algorithm: r.defaulted("authentication.signing.algorithm", parse_algorithm)?,
            signing_key: r.optional("authentication.signing.key")?.map(PathBuf::from),
            signing_kid: r.optional("authentication.signing.kid")?,
            key_store: r
                .optional("authentication.server.key-store")?
                .map(PathBuf::from),
            key_store_password: r
                .get("authentication.server.key-store-password")?
                .filter(|raw| !raw.value.is_empty())
                .map(|raw| Secret::new(raw.value)),
            key_alias: r.optional("authentication.server.key-alias")?,
            login_banner_text: r.optional("authentication.login.banner.text")?,
            implicit_clients,
            implicit_token_expiry: r.duration("authentication.implicit.token.expiry")?,
            remember_me_hidden_clients: r.list("authentication.remember.me.hidden.client.ids")?,
            registration_mode: r
                .defaulted("authentication.registration.mode", parse_registration_mode)?,
            link_local_users: r.boolean("authentication.external.link.local")?,
            disable_credentials: r.boolean("authentication.disable.credentials")?,
        };
        for (key, seconds) in [
            ("authentication.token.expiry", auth.token_expiry),
            (
                "authentication.permanent.token.expiry",
                auth.permanent_token_expiry,
            ),
            ("authentication.code.expiry", auth.code_expiry),
            (
                "authentication.offline.token.expiry",
                auth.offline_token_expiry,
            ),
            (
                "authentication.refresh.token.expiry",
                auth.refresh_token_expiry,
            ),
            ("authentication.sso.session.expiry", auth.sso_session_expiry),
            (
                "authentication.implicit.token.expiry",
                auth.implicit_token_expiry,
            ),
        ] {
            if seconds == 0 {
                warnings.push(format!(
                    "{file}: {key} is 0: everything it governs expires immediately"
                ));
            }
        }
        Ok(auth)
    }

    /// The `authentication.*` rows of the report, in table order, secrets masked.
    pub(super) fn effective(&self) -> Vec<(&'static str, String)> {
        let secret = |s: Option<&Secret>| s.map(ToString::to_string).unwrap_or_default();
        let path = |p: Option<&PathBuf>| crate::config::values::display_path(p);
        vec![
            ("authentication.client.ids", self.client_ids.join(", ")),
            (
                "authentication.redirect.uri.whitelist",
                self.redirect_whitelist.join(", "),
            ),
            (
                "authentication.client.secret",
                self.client_secret.to_string(),
            ),
            ("authentication.token.expiry", self.token_expiry.to_string()),
            (
                "authentication.client.permanent",
                self.permanent_clients.join(", "),
            ),
            (
                "authentication.permanent.token.expiry",
                self.permanent_token_expiry.to_string(),
            ),
            (
                "authentication.client.password",
                self.password_clients.join(", "),
            ),
            (
                "authentication.client.offline",
                self.offline_clients.join(", "),
            ),
            (
                "authentication.offline.token.expiry",
                self.offline_token_expiry.to_string(),
            ),
            (
                "authentication.validate.basic",
                self.validate_basic.to_string(),
            ),
            ("authentication.code.expiry", self.code_expiry.to_string()),
            (
                "authentication.refresh.token.expiry",
                self.refresh_token_expiry.to_string(),
            ),
            (
                "authentication.sso.session.expiry",
                self.sso_session_expiry.to_string(),
            ),
            (
                "authentication.refresh.token.reuse.grace",
                self.refresh_reuse_grace.to_string(),
            ),
            (
                "authentication.signing.algorithm",
                self.signing_algorithm.to_string(),
            ),
            (
                "authentication.signing.key",
                path(self.signing_key.as_ref()),
            ),
            (
                "authentication.signing.kid",
                self.signing_kid.clone().unwrap_or_default(),
            ),
            (
                "authentication.server.key-store",
                path(self.key_store.as_ref()),
            ),
            (
                "authentication.server.key-store-password",
                secret(self.key_store_password.as_ref()),
            ),
            (
                "authentication.server.key-alias",
                self.key_alias.clone().unwrap_or_default(),
            ),
            (
                "authentication.client.implicit",
                self.implicit_clients.join(", "),
            ),
            (
                "authentication.implicit.token.expiry",
                self.implicit_token_expiry.to_string(),
            ),
            (
                "authentication.registration.mode",
                self.registration_mode.as_str().to_string(),
            ),
            (
                "authentication.remember.me.hidden.client.ids",
                self.remember_me_hidden_clients.join(", "),
            ),
            (
                "authentication.disable.credentials",
                self.disable_credentials.to_string(),
            ),
            (
                "authentication.external.link.local",
                self.link_local_users.to_string(),
            ),
            (
                "authentication.login.banner.text",
                self.login_banner_text.clone().unwrap_or_default(),
            ),
        ]
    }
}
