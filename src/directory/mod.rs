//! The LDAP / Active Directory password check: find the one entry of the user name (as
//! the service account, or anonymously), bind as that entry with the password, read its
//! attributes and groups. A password is never compared here and no hash is ever read: the
//! directory decides by accepting or refusing the bind.
//!
//! Every check opens its own connection (the user bind changes the connection's identity),
//! at most `authentication.ldap.pool.size` at once: further checks wait for a free slot,
//! up to `authentication.ldap.timeout.seconds`, and each server gets that long for the
//! whole exchange before the next URL is tried. A directory that cannot answer is
//! [`DirectoryError::Unavailable`], never a verdict.
mod entry;
mod tls;

use std::sync::Arc;
use std::time::Duration;

use ldap3::{ldap_escape, Ldap, LdapConnAsync, LdapConnSettings, LdapError, Scope, SearchEntry};
use tokio::sync::Semaphore;
use url::Url;

use crate::config::{LdapSettings, DN_PLACEHOLDER, USERNAME_PLACEHOLDER};

pub use entry::DirectoryAccount;

/// The source name of directory users (`users.source`).
pub const SOURCE: &str = "ldap";

/// LDAP result code of a refused bind (RFC 4511 `invalidCredentials`).
const INVALID_CREDENTIALS: u32 = 49;
/// LDAP result code of a search that found more entries than asked for.
const SIZE_LIMIT_EXCEEDED: u32 = 4;

/// What the directory says about a user name and password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The bind succeeded: the account and what the directory says about it.
    Verified(DirectoryAccount),
    /// The account exists and is enabled, but the bind was refused (wrong password).
    WrongPassword,
    /// The password is empty: refused without asking (an empty simple bind is an
    /// unauthenticated bind, which "succeeds").
    EmptyPassword,
    /// No entry matches the user name.
    NotFound,
    /// The entry is a disabled Active Directory account (userAccountControl bit 2); its
    /// stable id.
    Disabled(String),
    /// More than one entry matches: the filter is too wide; refused.
    Ambiguous,
}

/// Why the directory could not decide.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    /// Every server is down, too slow, or refused the service account (logged with the
    /// cause; the person signing in sees only that the directory is unavailable).
    #[error("the directory is unavailable: {0}")]
    Unavailable(String),
}

/// The configured directory.
pub struct Directory {
    settings: LdapSettings,
    tls: Option<Arc<rustls::ClientConfig>>,
    slots: Semaphore,
    timeout: Duration,
}

impl std::fmt::Debug for Directory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Directory")
            .field("urls", &self.settings.urls)
            .finish_non_exhaustive()
    }
}

/// One server's failure: worth trying the next URL.
#[derive(Debug)]
struct ServerDown(String);

impl From<LdapError> for ServerDown {
    fn from(e: LdapError) -> Self {
        ServerDown(e.to_string())
    }
}

impl Directory {
    /// The directory of `settings` (reads the CA file: an unreadable one is an error naming
    /// the key).
    pub fn new(settings: &LdapSettings) -> Result<Directory, String> {
        let tls = match &settings.ca_file {
            Some(path) => Some(Arc::new(tls::client_config(path)?)),
            None => None,
        };
        Ok(Directory {
            settings: settings.clone(),
            tls,
            slots: Semaphore::new(usize::try_from(settings.pool_size).unwrap_or(1).max(1)),
            timeout: Duration::from_secs(settings.timeout_seconds.max(1)),
        })
    }

    /// Checks `username` and `password` against the directory.
    #[tracing::instrument(skip_all)]
    pub async fn check(&self, username: &str, password: &str) -> Result<Verdict, DirectoryError> {
        if password.is_empty() {
            return Ok(Verdict::EmptyPassword);
        }
        let _slot = match tokio::time::timeout(self.timeout, self.slots.acquire()).await {
            Ok(Ok(slot)) => slot,
            Ok(Err(_)) => return Err(DirectoryError::Unavailable("shutting down".into())),
            Err(_) => {
                let why = format!(
                    "all {} directory connections stayed busy for {} s",
                    self.settings.pool_size,
                    self.timeout.as_secs()
                );
                tracing::warn!(reason = %why, "directory unavailable");
                crate::metrics::directory_unavailable();
                return Err(DirectoryError::Unavailable(why));
            }
        };
        let mut failures = Vec::new();
        for url in &self.settings.urls {
            match tokio::time::timeout(self.timeout, self.check_on(url, username, password)).await {
                Ok(Ok(verdict)) => return Ok(verdict),
                Ok(Err(ServerDown(why))) => {
                    tracing::warn!(server = %url, reason = %why, "directory server failed");
                    failures.push(format!("{url}: {why}"));
                }
                Err(_) => {
                    tracing::warn!(server = %url, timeout_s = self.timeout.as_secs(),
                        "directory server did not answer in time");
                    failures.push(format!("{url}: no answer in {} s", self.timeout.as_secs()));
                }
            }
        }
        crate::metrics::directory_unavailable();
        tracing::warn!(
            servers = self.settings.urls.len(),
            "directory unavailable: every server failed"
        );
        Err(DirectoryError::Unavailable(failures.join("; ")))
    }

    async fn connect(&self, url: &Url) -> Result<Ldap, ServerDown> {
        let mut conn_settings = LdapConnSettings::new()
            .set_conn_timeout(self.timeout)
            .set_starttls(self.settings.starttls && url.scheme() == "ldap");
        if let Some(tls) = &self.tls {
            conn_settings = conn_settings.set_config(tls.clone());
        }
        let (conn, ldap) = LdapConnAsync::from_url_with_settings(conn_settings, url).await?;
        tokio::spawn(async move {
            if let Err(e) = conn.drive().await {
                tracing::debug!(error = %e, "directory connection ended");
            }
        });
        Ok(ldap)
    }

    async fn check_on(
        &self,
        url: &Url,
        username: &str,
        password: &str,
    ) -> Result<Verdict, ServerDown> {
        let s = &self.settings;
        let mut ldap = self.connect(url).await?;
        if let (Some(dn), Some(pw)) = (&s.bind_dn, &s.bind_password) {
            let bound = ldap.simple_bind(dn, pw.expose()).await?;
            if bound.rc != 0 {
                // a misconfigured or locked service account: this server cannot help
                return Err(ServerDown(format!(
                    "the service account {dn:?} could not bind (result code {}: {})",
                    bound.rc, bound.text
                )));
            }
        }
        let filter = s
            .user_filter
            .replace(USERNAME_PLACEHOLDER, &ldap_escape(username));
        let attrs = entry::wanted_attributes(s);
        let found = ldap
            .with_search_options(ldap3::SearchOptions::new().sizelimit(2))
            .search(&s.base_dn, Scope::Subtree, &filter, attrs)
            .await?;
        let (entries, result) = (found.0, found.1);
        if result.rc == SIZE_LIMIT_EXCEEDED || entries.len() > 1 {
            tracing::warn!(
                "directory: the user filter matches more than one entry for a user name; refused"
            );
            let _ = ldap.unbind().await;
            return Ok(Verdict::Ambiguous);
        }
        if result.rc != 0 {
            return Err(ServerDown(format!(
                "the user search failed (result code {}: {})",
                result.rc, result.text
            )));
        }
        let Some(raw) = entries.into_iter().next() else {
            let _ = ldap.unbind().await;
            return Ok(Verdict::NotFound);
        };
        let found = SearchEntry::construct(raw);
        let account = entry::account(s, &found, username);
        if entry::ad_disabled(&found) {
            let _ = ldap.unbind().await;
            return Ok(Verdict::Disabled(account.external_id));
        }
        // groups are read as the service account, before the bind changes who we are
        let groups = match &s.group_filter {
            Some(filter) => {
                let filter = filter
                    .replace(DN_PLACEHOLDER, &ldap_escape(&account.dn))
                    .replace(USERNAME_PLACEHOLDER, &ldap_escape(username));
                let (entries, _) = ldap
                    .search(&s.base_dn, Scope::Subtree, &filter, vec!["1.1"])
                    .await?
                    .success()
                    .map_err(|e| ServerDown(format!("the group search failed: {e}")))?;
                entries
                    .into_iter()
                    .map(|e| SearchEntry::construct(e).dn)
                    .collect()
            }
            None => entry::values(&found, &s.attr_groups),
        };
        let bound = ldap.simple_bind(&account.dn, password).await?;
        let _ = ldap.unbind().await;
        match bound.rc {
            0 => Ok(Verdict::Verified(DirectoryAccount {
                admin: entry::is_admin(s, &groups),
                groups,
                ..account
            })),
            INVALID_CREDENTIALS => Ok(Verdict::WrongPassword),
            // busy, unavailable, unwilling (e.g. a password that must be changed first,
            // an expired account): the person cannot sign in; not a server fault
            rc @ (51 | 52) => Err(ServerDown(format!(
                "the user bind failed (result code {rc})"
            ))),
            rc => {
                tracing::info!(result_code = rc, "directory refused the user bind");
                Ok(Verdict::WrongPassword)
            }
        }
    }
}
