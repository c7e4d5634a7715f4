//! Personal access tokens (PATs): long-lived, individually revocable credentials a user
//! creates for automation, used as `Authorization: Bearer <pat>` (or `Token <pat>`)
//! wherever an access token is accepted, or exchanged at the token endpoint for JWTs
//! (`client_credentials` with `Basic base64(<pat>:)`, primaTime's "secret key" login).
//!
//! Format: `asp_` + 43 base64url characters (256 random bits). Only the SHA-256 of the
//! token is stored; the token is shown once, when it is created.
//!
//! Validation is an in-memory affair in the common case: records are cached by token
//! hash (and id) in [`PatCache`], which lives in [`crate::domain::revocation::Revocations`] and is
//! invalidated by `pat` events from the revocation log (a revocation by the CLI or another
//! instance reaches this process within [`crate::startup::RELOAD_INTERVAL`]). The owner is
//! checked through the user cache, so disabling a user stops their PATs at once.
//! Unknown tokens are looked up in the database once and then remembered as unknown for a
//! minute (nobody can guess a 256-bit token, so a negative entry never hides a real one).
//! The last-use time is kept in the cached record and written to the database by
//! housekeeping at most once a minute per PAT.
//!
//! A password change does not end a user's PATs (as with GitHub's and time cockpit's
//! personal tokens): they are separate credentials, listed on the account page, each
//! revocable on its own. JWTs minted from a PAT before a password change do die with it,
//! like every other token issued before the change. Disabling a user revokes their PATs
//! for good (see [`crate::store::Store::set_disabled`]).
use std::sync::Arc;

use crate::crypto::{random_token, token_hash};
use crate::domain::revocation::Revocations;
use crate::error::AppError;
use crate::store::{NewPat, Store, StoreError, User};

pub mod cache;
pub mod format;

pub use cache::{PatCache, PatRecord};
use format::new_id;
pub use format::{
    looks_like_pat, parse_validity, PatError, PatScope, PatSecret, ID_LEN, MAX_DAYS,
    MAX_DESCRIPTION, PREFIX, TOKEN_LEN,
};

/// What the owner asks for.
#[derive(Debug, Clone)]
pub struct PatRequest<'a> {
    /// What the token is for.
    pub description: &'a str,
    /// Its scope.
    pub scope: PatScope,
    /// Validity in days; `None` = never expires.
    pub expires_in_days: Option<u32>,
}

/// A PAT just created.
#[derive(Debug)]
pub struct IssuedPat {
    /// Its id.
    pub id: String,
    /// The token (shown once).
    pub token: PatSecret,
    /// Its scope.
    pub scope: PatScope,
    /// Description as stored.
    pub description: String,
    /// Expiry; `None` = never.
    pub expires_at: Option<i64>,
}

/// Creates a PAT for `user`.
pub async fn issue(
    store: &Store,
    user: &User,
    request: &PatRequest<'_>,
    now: i64,
) -> Result<IssuedPat, PatError> {
    let description = request.description.trim();
    if description.is_empty()
        || description.chars().count() > MAX_DESCRIPTION
        || description.chars().any(char::is_control)
    {
        return Err(PatError::Description);
    }
    if request.scope == PatScope::Management && !user.admin {
        return Err(PatError::NotAdmin);
    }
    if user.disabled {
        return Err(PatError::Disabled);
    }
    let expires_at = match request.expires_in_days {
        None => None,
        Some(days) if (1..=MAX_DAYS).contains(&days) => {
            Some(now.saturating_add(i64::from(days) * 86_400))
        }
        Some(_) => return Err(PatError::Validity),
    };
    let token = PatSecret(format!("{PREFIX}{}", random_token()));
    let id = new_id();
    store
        .create_pat(&NewPat {
            id: &id,
            token_hash: &token_hash(token.expose()),
            user_id: user.id,
            description,
            scope: request.scope.as_str(),
            created_at: now,
            expires_at,
        })
        .await?;
    tracing::info!(target: "authserver::audit", user = %user.username, pat = %id, scope = request.scope.as_str(), "personal access token created");
    Ok(IssuedPat {
        id,
        token,
        scope: request.scope,
        description: description.to_string(),
        expires_at,
    })
}
fn hash_array(token: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    let digest = token_hash(token);
    let n = digest.len().min(32);
    out[..n].copy_from_slice(&digest[..n]);
    out
}

/// The one description for every PAT that is not accepted.
pub const PAT_INVALID: &str = "the personal access token is invalid, expired or revoked";

/// A PAT that is valid right now, with its owner.
#[derive(Debug, Clone)]
pub struct ValidPat {
    /// The PAT.
    pub record: Arc<PatRecord>,
    /// Its owner (from the user cache).
    pub user: Arc<User>,
}

/// Checks a presented PAT: known, not revoked, not expired, owner enabled. Notes the use.
/// Every failure is `invalid_token` with the same description.
pub async fn validate(
    store: &Store,
    revocations: &Revocations,
    token: &str,
    now: i64,
) -> Result<ValidPat, AppError> {
    let invalid = || AppError::InvalidToken(PAT_INVALID.into());
    if !looks_like_pat(token) {
        return Err(invalid());
    }
    let hash = hash_array(token);
    let cache = revocations.pats();
    let record = match cache.by_hash(&hash) {
        Some(r) => r,
        None => {
            if cache.is_unknown(&hash, now) {
                return Err(invalid());
            }
            let seq = revocations.seq();
            let Some(row) = store.pat_by_hash(&hash).await? else {
                cache.remember_unknown(hash, now);
                return Err(invalid());
            };
            let record = PatRecord::from_row(row).ok_or_else(invalid)?;
            // cache only if no event slipped in while we read (it might revoke this PAT)
            if revocations.seq() == seq {
                cache.insert(Some(hash), record)
            } else {
                Arc::new(record)
            }
        }
    };
    if !record.live(now) || revocations.pat_revoked(&record.id) {
        return Err(invalid());
    }
    let user = revocations
        .user(store, &record.username)
        .await?
        .filter(|u| u.id == record.user_id && !u.disabled)
        .ok_or_else(invalid)?;
    record.touch(now);
    Ok(ValidPat { record, user })
}

/// Whether the PAT with this id is live (for JWTs minted from it).
pub async fn id_live(
    store: &Store,
    revocations: &Revocations,
    id: &str,
    now: i64,
) -> Result<bool, AppError> {
    if revocations.pat_revoked(id) {
        return Ok(false);
    }
    let cache = revocations.pats();
    let record = match cache.by_id(id) {
        Some(r) => r,
        None => {
            let seq = revocations.seq();
            let Some(record) = store.pat_by_id(id).await?.and_then(PatRecord::from_row) else {
                return Ok(false);
            };
            if revocations.seq() == seq {
                cache.insert(None, record)
            } else {
                Arc::new(record)
            }
        }
    };
    Ok(record.live(now))
}

/// Writes the last-use times noted since the previous call (housekeeping calls this once
/// a minute, so each PAT's row is written at most once a minute).
pub async fn flush_usage(store: &Store, revocations: &Revocations) -> Result<usize, StoreError> {
    let uses = revocations.pats().take_pending_uses();
    store.record_pat_use(&uses).await?;
    Ok(uses.len())
}
