//! A password checked by the LDAP / Active Directory directory, and what follows from the
//! answer for the user table: a verified account is provisioned (created or updated, see
//! `domain::external`); an account the directory no longer has, or has disabled, loses its
//! user here (deprovisioned: disabled, its tokens dead).
//!
//! Which check a user name gets (the resolution rule): a **local** user (one with a local
//! password) is checked against its local password and the directory is not asked, unless
//! `authentication.disable.credentials=true`, which turns local passwords off; then, and
//! for every name that is not a local user, the directory decides. A user of another
//! source (an upstream provider) has no password here at all.
use crate::directory::{self, Directory, DirectoryError, Verdict};
use crate::domain::external::{deprovision, provision, ExternalIdentity};
use crate::domain::services::Services;
use crate::error::AppError;
use crate::store::User;

/// The directory's decision, once applied to the user table.
// a short-lived return value: boxing the user would cost an allocation per check
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum DirectoryLogin {
    /// Right password: the (created or updated) user.
    Verified(User),
    /// Wrong or empty password, unknown, disabled or clashing account.
    Refused,
    /// No directory server answered.
    Unavailable,
}

/// The directory that checks `user`'s password, if the directory decides for it (see the
/// module docs); `None`: the local password decides.
pub fn directory_for<'a>(services: &'a Services, user: Option<&User>) -> Option<&'a Directory> {
    let dir = services.directory.as_deref()?;
    match user {
        None => Some(dir),
        Some(u) => match u.source.as_deref() {
            Some(source) if source == directory::SOURCE => Some(dir),
            // another source's user: no password here
            Some(_) => None,
            None if services.settings.auth.disable_credentials => Some(dir),
            None => None,
        },
    }
}

/// Asks the directory and applies its answer.
#[tracing::instrument(skip_all)]
pub async fn check(
    services: &Services,
    dir: &Directory,
    username: &str,
    password: &str,
) -> Result<DirectoryLogin, AppError> {
    let verdict = match dir.check(username, password).await {
        Ok(verdict) => verdict,
        Err(DirectoryError::Unavailable(_)) => return Ok(DirectoryLogin::Unavailable),
    };
    let outcome = match verdict {
        Verdict::Verified(account) => {
            let identity = ExternalIdentity {
                source: directory::SOURCE.to_string(),
                external_id: account.external_id,
                username: account.username,
                name: account.name,
                email: account.email,
                admin: account.admin,
                groups: account.groups,
            };
            match provision(services, &identity).await? {
                Ok(user) => DirectoryLogin::Verified(user),
                Err(refusal) => {
                    tracing::info!(target: "authserver::audit", user = %identity.username,
                        reason = %refusal, "directory sign-in refused");
                    DirectoryLogin::Refused
                }
            }
        }
        Verdict::NotFound => {
            // the directory no longer has the account: its user here goes too
            if let Some(user) = services.store.user_by_name(username).await? {
                if let (Some(directory::SOURCE), Some(id)) =
                    (user.source.as_deref(), user.external_id.as_deref())
                {
                    deprovision(services, directory::SOURCE, id).await?;
                }
            }
            DirectoryLogin::Refused
        }
        Verdict::Disabled(external_id) => {
            deprovision(services, directory::SOURCE, &external_id).await?;
            DirectoryLogin::Refused
        }
        Verdict::WrongPassword | Verdict::EmptyPassword | Verdict::Ambiguous => {
            DirectoryLogin::Refused
        }
    };
    crate::metrics::directory_check(match outcome {
        DirectoryLogin::Verified(_) => "verified",
        _ => "refused",
    });
    Ok(outcome)
}
