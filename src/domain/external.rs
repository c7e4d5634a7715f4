//! Just-in-time users: an account of another identity source (an LDAP directory, an
//! upstream OpenID Connect provider) gets a user row at its first sign-in, marked with its
//! source and its stable id there, and has its name, e-mail and administrator flag written
//! again at every sign-in. It has no local password; PATs, sessions, refresh families and
//! revocation work for it as for a local user.
//!
//! The rules:
//! - the row is found by (source, external id), never by name, so a renamed account keeps
//!   its row (and takes the new name if it is free);
//! - a user an administrator disabled stays refused; one its source disabled
//!   ([`deprovision`]) is enabled again when the source vouches for it at a sign-in;
//! - a local user and an external one never merge silently: a first sign-in whose name
//!   belongs to a local user is refused ([`ExternalRefusal::NameTaken`]) unless
//!   `authentication.external.link.local=true`, which links the two: the local row becomes
//!   the source's (its local password stops working, its PATs and history stay). A name
//!   held by a user of another source (or of the same source under another id) is always
//!   refused.
use crate::domain::services::Services;
use crate::error::AppError;
use crate::password;
use crate::store::{ExternalProfile, StoreError, User};

/// Who a source says signed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalIdentity {
    /// Source name: `ldap`, `oidc:<name>`, ...
    pub source: String,
    /// The account's stable id in the source (LDAP entryUUID/objectGUID or DN, `sub`).
    pub external_id: String,
    /// Login name (the `sub` of our tokens).
    pub username: String,
    /// Display name.
    pub name: Option<String>,
    /// E-mail address.
    pub email: Option<String>,
    /// Whether the source makes the user an administrator.
    pub admin: bool,
    /// The source's groups of the user (informational).
    pub groups: Vec<String>,
}

/// Why an external sign-in is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExternalRefusal {
    /// An administrator disabled the user.
    Disabled,
    /// The name belongs to another user (local, or of another source).
    NameTaken,
    /// The source's user name is not a valid user name here (why).
    InvalidName(String),
}

impl ExternalRefusal {
    /// The message shown to the person signing in.
    pub fn message(&self) -> String {
        match self {
            ExternalRefusal::Disabled => "This account is disabled.".into(),
            ExternalRefusal::NameTaken => "This user name belongs to another account here; \
                 ask an administrator to resolve it."
                .into(),
            ExternalRefusal::InvalidName(why) => {
                format!("This account's user name cannot be used here: {why}.")
            }
        }
    }
}

impl std::fmt::Display for ExternalRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())
    }
}

fn profile(id: &ExternalIdentity) -> ExternalProfile<'_> {
    ExternalProfile {
        source: &id.source,
        external_id: &id.external_id,
        username: &id.username,
        name: id.name.as_deref(),
        email: id.email.as_deref(),
        admin: id.admin,
    }
}

/// Whether the row already says what the source says.
fn unchanged(user: &User, id: &ExternalIdentity) -> bool {
    !user.disabled
        && user.username == id.username
        && user.name == id.name
        && user.email == id.email
        && user.admin == id.admin
}

/// Creates the user on first sign-in, updates name, email and admin at every sign-in,
/// refuses a disabled one, and resolves a name clash with a local user by the documented
/// rule. Returns the user to sign in, or why not.
#[tracing::instrument(skip_all, fields(source = %id.source, user = %id.username))]
pub async fn provision(
    services: &Services,
    id: &ExternalIdentity,
) -> Result<Result<User, ExternalRefusal>, AppError> {
    if let Err(why) = password::check_username(&id.username) {
        return Ok(Err(ExternalRefusal::InvalidName(why)));
    }
    // two first sign-ins of one account may race: the loser finds the winner's row
    for _ in 0..3 {
        match provision_once(services, id).await? {
            Attempt::Done(outcome) => return Ok(outcome),
            Attempt::Raced => continue,
        }
    }
    Ok(Err(ExternalRefusal::NameTaken))
}

// a short-lived return value: boxing the user would cost an allocation per check
#[allow(clippy::large_enum_variant)]
enum Attempt {
    Done(Result<User, ExternalRefusal>),
    Raced,
}

async fn provision_once(services: &Services, id: &ExternalIdentity) -> Result<Attempt, AppError> {
    let store = &services.store;
    let now = services.now();
    let found = store.user_by_external(&id.source, &id.external_id).await?;
    let row = match found {
        Some(user) if user.disabled && !user.source_disabled => {
            return Ok(Attempt::Done(Err(ExternalRefusal::Disabled)))
        }
        Some(user) if unchanged(&user, id) => return Ok(Attempt::Done(Ok(user))),
        Some(user) => user,
        None => match store.user_by_name(&id.username).await? {
            Some(local) if local.source.is_none() && services.settings.auth.link_local_users => {
                if local.disabled {
                    return Ok(Attempt::Done(Err(ExternalRefusal::Disabled)));
                }
                tracing::info!(target: "authserver::audit", user = %local.username,
                    source = %id.source, "local user linked to its external account");
                local
            }
            // this very account, created by a concurrent first sign-in since we looked
            Some(other)
                if other.source.as_deref() == Some(id.source.as_str())
                    && other.external_id.as_deref() == Some(id.external_id.as_str()) =>
            {
                return Ok(Attempt::Raced)
            }
            Some(_) => return Ok(Attempt::Done(Err(ExternalRefusal::NameTaken))),
            None => match store.create_external_user(&profile(id), now).await {
                Ok(user) => {
                    tracing::info!(target: "authserver::audit", user = %user.username,
                        source = %id.source, "external user created at first sign-in");
                    return Ok(Attempt::Done(Ok(user)));
                }
                Err(StoreError::Conflict(_)) => return Ok(Attempt::Raced),
                Err(e) => return Err(e.into()),
            },
        },
    };
    match store
        .update_external_user(row.id, &row.username, &profile(id), now)
        .await
    {
        Ok(user) => {
            services.revocations.forget_user(&row.username);
            services.sync_revocations().await;
            if row.admin != user.admin || row.disabled {
                tracing::info!(target: "authserver::audit", user = %user.username,
                    source = %id.source, admin = user.admin, "external user updated by its source");
            }
            Ok(Attempt::Done(Ok(user)))
        }
        // the new name is another user's
        Err(StoreError::Conflict(_)) => Ok(Attempt::Done(Err(ExternalRefusal::NameTaken))),
        // an administrator disabled it in the meantime
        Err(StoreError::NotFound(_)) => Ok(Attempt::Done(Err(ExternalRefusal::Disabled))),
        Err(e) => Err(e.into()),
    }
}

/// Marks the user of (source, external_id) disabled (the source says it is gone),
/// revoking its tokens like a disable does.
#[tracing::instrument(skip_all, fields(source = %source))]
pub async fn deprovision(
    services: &Services,
    source: &str,
    external_id: &str,
) -> Result<(), AppError> {
    if let Some(user) = services
        .store
        .deprovision_external(source, external_id, services.now())
        .await?
    {
        services.revocations.forget_user(&user.username);
        services.sync_revocations().await;
        tracing::info!(target: "authserver::audit", user = %user.username, source = %source,
            "external user disabled: its source no longer has the account");
    }
    Ok(())
}
