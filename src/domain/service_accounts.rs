//! Service accounts (Patchworks' API keys): a user of kind `service` with no password and
//! the role `api-user`, acting only through one non-expiring personal access token of
//! scope `data`, its key. The key is shown once; rotating it revokes the old one; removing
//! the account revokes its key and every token and deletes it. A service account never
//! signs in interactively: the login forms, the password grant and `client_credentials`
//! with a user name and password treat it as an unknown user
//! (see [`crate::domain::login`]).
use crate::domain::pat::{self, IssuedPat, PatError, PatRequest, PatScope};
use crate::domain::roles::API_USER_ROLE;
use crate::error::AppError;
use crate::password;
use crate::store::{PatRow, Store, User};

/// The description of a service account's key.
pub const KEY_DESCRIPTION: &str = "service account key";

/// A service account with its live key (none after the key was revoked).
#[derive(Debug)]
pub struct Listed {
    /// The account.
    pub user: User,
    /// Its live key.
    pub key: Option<PatRow>,
}

fn pat_error(e: PatError) -> AppError {
    match e {
        PatError::Store(e) => e.into(),
        other => AppError::InvalidRequest(other.to_string()),
    }
}

async fn issue_key(store: &Store, user: &User, now: i64) -> Result<IssuedPat, AppError> {
    let request = PatRequest {
        description: KEY_DESCRIPTION,
        scope: PatScope::Data,
        expires_in_days: None,
    };
    pat::issue(store, user, &request, now)
        .await
        .map_err(pat_error)
}

/// Creates a service account and its key.
pub async fn create(
    store: &Store,
    username: &str,
    display_name: Option<&str>,
    now: i64,
) -> Result<(User, IssuedPat), AppError> {
    password::check_username(username).map_err(|e| AppError::InvalidField("username".into(), e))?;
    if let Some(name) = display_name {
        if name.chars().count() > 200 || name.chars().any(char::is_control) {
            return Err(AppError::InvalidField(
                "name".into(),
                "the name must have at most 200 characters and no control characters".into(),
            ));
        }
    }
    let user = store
        .create_service_account(username, display_name, &[API_USER_ROLE.to_string()], now)
        .await?;
    let key = issue_key(store, &user, now).await?;
    tracing::info!(target: "authserver::audit", user = %user.username, pat = %key.id, "service account created");
    Ok((user, key))
}

/// The service account of this name (a person is not one).
pub async fn find(store: &Store, username: &str) -> Result<User, AppError> {
    store
        .user_by_name(username)
        .await?
        .filter(|u| u.service_account)
        .ok_or_else(|| AppError::NotFound(format!("service account {username:?}")))
}

/// Every service account with its live key, by name.
pub async fn list(store: &Store, now: i64) -> Result<Vec<Listed>, AppError> {
    let mut out = Vec::new();
    for user in store
        .list_users()
        .await?
        .into_iter()
        .filter(|u| u.service_account)
    {
        let key = store
            .list_pats(Some(user.id))
            .await?
            .into_iter()
            .find(|p| p.revoked_at.is_none() && p.expires_at.is_none_or(|e| e > now));
        out.push(Listed { user, key });
    }
    Ok(out)
}

/// Replaces the key: the old one (and every token minted from it) is revoked, a new one
/// is returned (shown once).
pub async fn rotate(store: &Store, username: &str, now: i64) -> Result<IssuedPat, AppError> {
    let user = find(store, username).await?;
    if user.disabled {
        return Err(AppError::InvalidRequest(format!(
            "service account {username:?} is disabled"
        )));
    }
    store.revoke_user_pats(user.id, now).await?;
    let key = issue_key(store, &user, now).await?;
    tracing::info!(target: "authserver::audit", user = %user.username, pat = %key.id, "service account key rotated");
    Ok(key)
}

/// Removes a service account: its key and every token die, then the row is deleted.
pub async fn remove(store: &Store, username: &str, now: i64) -> Result<User, AppError> {
    find(store, username).await?;
    let user = store.delete_user(username, now).await?;
    tracing::info!(target: "authserver::audit", user = %user.username, "service account removed; its key and tokens are revoked");
    Ok(user)
}
