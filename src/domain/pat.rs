//! Personal access tokens (PATs): long-lived, individually revocable credentials a user
//! creates for automation, used as `Authorization: Bearer <pat>` (or `Token <pat>`)
//! wherever an access token is accepted, or exchanged at the token endpoint for JWTs
//! (`client_credentials` with `Basic base64(<pat>:)`, primaTime's "secret key" login).
//!
//! Format: `asp_` + 43 base64url characters (256 random bits). Only the SHA-256 of the
//! token is stored; the token is shown once, when it is created.
//!
//! Validation is an in-memory affair in the common case: records are cached by token
//! hash (and id) in [`PatCache`], which lives in [`crate::revocation::Revocations`] and is
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
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use crate::crypto::{random_bytes, random_token, token_hash};
use crate::error::AppError;
use crate::state::AppState;
use crate::store::{NewPat, PatRow, Store, StoreError, User};

/// Every PAT starts with this.
pub const PREFIX: &str = "asp_";
/// Length of a PAT: the prefix and 43 base64url characters.
pub const TOKEN_LEN: usize = PREFIX.len() + 43;
/// Length of a PAT id.
pub const ID_LEN: usize = 16;
/// Longest description.
pub const MAX_DESCRIPTION: usize = 200;
/// Longest validity, days (100 years; "never" is the way to say forever).
pub const MAX_DAYS: u32 = 36_500;

/// Most records cached; beyond it the cache starts over.
const MAX_CACHED: usize = 100_000;
/// Most unknown hashes remembered.
const MAX_UNKNOWN: usize = 10_000;
/// How long an unknown hash is remembered, seconds.
const UNKNOWN_TTL: i64 = 60;

/// What a PAT may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatScope {
    /// Act as the user (resource requests, token endpoint).
    Data,
    /// The user-administration API (admins only).
    Management,
}

impl PatScope {
    /// `data` or `management`.
    pub fn as_str(self) -> &'static str {
        match self {
            PatScope::Data => "data",
            PatScope::Management => "management",
        }
    }

    /// Parses `data` or `management`.
    pub fn parse(s: &str) -> Option<PatScope> {
        match s {
            "data" => Some(PatScope::Data),
            "management" => Some(PatScope::Management),
            _ => None,
        }
    }

    /// The value added to the `scope` claim of JWTs minted from a PAT of this scope.
    pub fn claim(self) -> &'static str {
        match self {
            PatScope::Data => "pat:data",
            PatScope::Management => "pat:management",
        }
    }
}

/// A freshly generated token: shown once, never stored, never logged (`Debug` is
/// redacted).
pub struct PatSecret(String);

impl PatSecret {
    /// The token itself, for showing it to its owner.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for PatSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PatSecret(redacted)")
    }
}

/// Whether `s` has the shape of a PAT (so it is not mistaken for a JWT or a password).
pub fn looks_like_pat(s: &str) -> bool {
    s.len() == TOKEN_LEN
        && s.starts_with(PREFIX)
        && s[PREFIX.len()..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A random id of [`ID_LEN`] letters and digits (about 95 bits). No `-` or `_`, so an id
/// can never be mistaken for a command-line option.
fn new_id() -> String {
    const ALPHABET: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut id = String::with_capacity(ID_LEN);
    while id.len() < ID_LEN {
        for b in random_bytes::<32>() {
            // 248 = 4 × 62: rejecting the rest keeps every character equally likely
            if b < 248 && id.len() < ID_LEN {
                id.push(char::from(ALPHABET[usize::from(b % 62)]));
            }
        }
    }
    id
}

/// Why a PAT cannot be created.
#[derive(Debug, thiserror::Error)]
pub enum PatError {
    /// Empty, too long or with control characters.
    #[error(
        "the description must have 1 to {MAX_DESCRIPTION} characters and no control characters"
    )]
    Description,
    /// Not a whole number of days in range.
    #[error("the validity must be a whole number of days from 1 to {MAX_DAYS}, or never")]
    Validity,
    /// Neither `data` nor `management`.
    #[error("the scope must be data or management")]
    Scope,
    /// A management PAT for a user who is not an administrator.
    #[error("only administrators can have management tokens")]
    NotAdmin,
    /// The owner is disabled.
    #[error("the user is disabled")]
    Disabled,
    /// Storage failure.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl PatError {
    /// The request field the error is about.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            PatError::Description => Some("description"),
            PatError::Validity => Some("expires_in_days"),
            PatError::Scope | PatError::NotAdmin => Some("scope"),
            PatError::Disabled | PatError::Store(_) => None,
        }
    }
}

/// Parses a validity: `never` or empty for none, else whole days.
pub fn parse_validity(raw: &str) -> Result<Option<u32>, PatError> {
    let raw = raw.trim();
    if raw.is_empty() || raw.eq_ignore_ascii_case("never") {
        return Ok(None);
    }
    match raw.parse::<u32>() {
        Ok(days) if (1..=MAX_DAYS).contains(&days) => Ok(Some(days)),
        _ => Err(PatError::Validity),
    }
}

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

/// A PAT as the validation path sees it.
#[derive(Debug)]
pub struct PatRecord {
    /// Its id.
    pub id: String,
    /// Owner.
    pub user_id: i64,
    /// Owner's user name.
    pub username: String,
    /// Its scope.
    pub scope: PatScope,
    /// Creation time.
    pub created_at: i64,
    /// Expiry; `None` = never.
    pub expires_at: Option<i64>,
    /// Revoked when it was read.
    pub revoked: bool,
    /// Last use seen by this process (0: none since start).
    last_used: AtomicI64,
    /// Last use written to the database by this process.
    flushed: AtomicI64,
}

impl PatRecord {
    /// `None` for a row with a scope this build does not know (fail closed).
    fn from_row(row: PatRow) -> Option<PatRecord> {
        Some(PatRecord {
            scope: PatScope::parse(&row.scope)?,
            id: row.id,
            user_id: row.user_id,
            username: row.username,
            created_at: row.created_at,
            expires_at: row.expires_at,
            revoked: row.revoked_at.is_some(),
            last_used: AtomicI64::new(0),
            flushed: AtomicI64::new(0),
        })
    }

    /// Not revoked and not expired at `now`.
    pub fn live(&self, now: i64) -> bool {
        !self.revoked && self.expires_at.is_none_or(|e| e > now)
    }

    /// Notes a use (in memory; housekeeping writes it out).
    pub fn touch(&self, now: i64) {
        // a load first: most calls in a second find the time already set and write nothing
        if self.last_used.load(Ordering::Relaxed) < now {
            self.last_used.fetch_max(now, Ordering::Relaxed);
        }
    }

    /// The last use this process has seen, if any.
    pub fn last_used(&self) -> Option<i64> {
        Some(self.last_used.load(Ordering::Relaxed)).filter(|t| *t > 0)
    }
}

#[derive(Debug, Default)]
struct CacheInner {
    by_hash: HashMap<[u8; 32], Arc<PatRecord>>,
    by_id: HashMap<String, Arc<PatRecord>>,
    hash_of: HashMap<String, [u8; 32]>,
}

/// In-memory PAT records of one process (see the module documentation).
#[derive(Debug, Default)]
pub struct PatCache {
    inner: RwLock<CacheInner>,
    unknown: RwLock<HashMap<[u8; 32], i64>>,
    /// last uses of records dropped from the cache before they were written
    orphans: Mutex<Vec<(String, i64)>>,
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|p| p.into_inner())
}
fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|p| p.into_inner())
}

fn pending_use(record: &PatRecord) -> Option<(String, i64)> {
    let used = record.last_used.load(Ordering::Relaxed);
    let flushed = record.flushed.swap(used, Ordering::Relaxed);
    (used > flushed).then(|| (record.id.clone(), used))
}

impl PatCache {
    /// The cached record of a token hash.
    pub fn by_hash(&self, hash: &[u8; 32]) -> Option<Arc<PatRecord>> {
        read(&self.inner).by_hash.get(hash).cloned()
    }

    /// The cached record of a PAT id.
    pub fn by_id(&self, id: &str) -> Option<Arc<PatRecord>> {
        read(&self.inner).by_id.get(id).cloned()
    }

    /// Caches a record (under its hash too, when known); returns the record to use (an
    /// already cached one for the same id wins, so last-use times stay in one place).
    fn insert(&self, hash: Option<[u8; 32]>, record: PatRecord) -> Arc<PatRecord> {
        let mut inner = write(&self.inner);
        if inner.by_id.len() >= MAX_CACHED {
            let dropped: Vec<_> = inner
                .by_id
                .values()
                .filter_map(|r| pending_use(r))
                .collect();
            self.orphan(dropped);
            *inner = CacheInner::default();
        }
        let record = match inner.by_id.get(&record.id) {
            Some(existing) => existing.clone(),
            None => {
                let r = Arc::new(record);
                inner.by_id.insert(r.id.clone(), r.clone());
                r
            }
        };
        if let Some(h) = hash {
            inner.by_hash.insert(h, record.clone());
            inner.hash_of.insert(record.id.clone(), h);
        }
        record
    }

    /// Drops a PAT (it was revoked somewhere); the next use reads the database.
    pub fn forget(&self, id: &str) {
        let mut inner = write(&self.inner);
        if let Some(r) = inner.by_id.remove(id) {
            if let Some(u) = pending_use(&r) {
                self.orphan(vec![u]);
            }
        }
        if let Some(h) = inner.hash_of.remove(id) {
            inner.by_hash.remove(&h);
        }
    }

    fn orphan(&self, uses: Vec<(String, i64)>) {
        if !uses.is_empty() {
            self.orphans
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .extend(uses);
        }
    }

    fn is_unknown(&self, hash: &[u8; 32], now: i64) -> bool {
        read(&self.unknown)
            .get(hash)
            .is_some_and(|until| *until > now)
    }

    fn remember_unknown(&self, hash: [u8; 32], now: i64) {
        let mut unknown = write(&self.unknown);
        if unknown.len() >= MAX_UNKNOWN {
            unknown.retain(|_, until| *until > now);
            if unknown.len() >= MAX_UNKNOWN {
                unknown.clear();
            }
        }
        unknown.insert(hash, now.saturating_add(UNKNOWN_TTL));
    }

    /// Last uses not yet written, (id, time); marks them written.
    pub fn take_pending_uses(&self) -> Vec<(String, i64)> {
        let mut uses: Vec<_> =
            std::mem::take(&mut *self.orphans.lock().unwrap_or_else(|p| p.into_inner()));
        uses.extend(
            read(&self.inner)
                .by_id
                .values()
                .filter_map(|r| pending_use(r)),
        );
        uses
    }

    /// Forgets expired negative entries and records of PATs expired for a day.
    pub fn purge(&self, now: i64) {
        write(&self.unknown).retain(|_, until| *until > now);
        let stale: Vec<String> = read(&self.inner)
            .by_id
            .values()
            .filter(|r| r.expires_at.is_some_and(|e| e < now.saturating_sub(86_400)))
            .map(|r| r.id.clone())
            .collect();
        for id in stale {
            self.forget(&id);
        }
    }

    /// Number of cached records, for metrics and tests.
    pub fn len(&self) -> usize {
        read(&self.inner).by_id.len()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
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
pub async fn validate(state: &AppState, token: &str) -> Result<ValidPat, AppError> {
    let invalid = || AppError::InvalidToken(PAT_INVALID.into());
    if !looks_like_pat(token) {
        return Err(invalid());
    }
    let now = state.now();
    let hash = hash_array(token);
    let cache = state.revocations.pats();
    let record = match cache.by_hash(&hash) {
        Some(r) => r,
        None => {
            if cache.is_unknown(&hash, now) {
                return Err(invalid());
            }
            let seq = state.revocations.seq();
            let Some(row) = state.store.pat_by_hash(&hash).await? else {
                cache.remember_unknown(hash, now);
                return Err(invalid());
            };
            let record = PatRecord::from_row(row).ok_or_else(invalid)?;
            // cache only if no event slipped in while we read (it might revoke this PAT)
            if state.revocations.seq() == seq {
                cache.insert(Some(hash), record)
            } else {
                Arc::new(record)
            }
        }
    };
    if !record.live(now) || state.revocations.pat_revoked(&record.id) {
        return Err(invalid());
    }
    let user = state
        .revocations
        .user(&state.store, &record.username)
        .await?
        .filter(|u| u.id == record.user_id && !u.disabled)
        .ok_or_else(invalid)?;
    record.touch(now);
    Ok(ValidPat { record, user })
}

/// Whether the PAT with this id is live (for JWTs minted from it).
pub async fn id_live(state: &AppState, id: &str, now: i64) -> Result<bool, AppError> {
    if state.revocations.pat_revoked(id) {
        return Ok(false);
    }
    let cache = state.revocations.pats();
    let record = match cache.by_id(id) {
        Some(r) => r,
        None => {
            let seq = state.revocations.seq();
            let Some(record) = state
                .store
                .pat_by_id(id)
                .await?
                .and_then(PatRecord::from_row)
            else {
                return Ok(false);
            };
            if state.revocations.seq() == seq {
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
pub async fn flush_usage(state: &AppState) -> Result<usize, StoreError> {
    let uses = state.revocations.pats().take_pending_uses();
    state.store.record_pat_use(&uses).await?;
    Ok(uses.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pats_have_the_documented_shape() {
        let token = format!("{PREFIX}{}", random_token());
        assert!(looks_like_pat(&token), "{token}");
        assert_eq!(token.len(), 47);
        assert!(!looks_like_pat(&token[..46]));
        assert!(!looks_like_pat(&format!("{token}x")));
        assert!(!looks_like_pat(&token.replace(PREFIX, "asx_")));
        assert!(!looks_like_pat(&format!("{PREFIX}{}", "=".repeat(43))));
        assert!(!looks_like_pat("eyJhbGciOi.eyJzdWIiOi.c2ln"));
    }

    #[test]
    fn ids_are_alphanumeric_and_distinct() {
        let a = new_id();
        let b = new_id();
        assert_eq!(a.len(), ID_LEN);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric()), "{a}");
        assert_ne!(a, b);
    }

    #[test]
    fn validity_is_never_or_whole_days_in_range() {
        assert_eq!(parse_validity("").unwrap(), None);
        assert_eq!(parse_validity("never").unwrap(), None);
        assert_eq!(parse_validity(" 30 ").unwrap(), Some(30));
        for bad in ["0", "-1", "1.5", "36501", "soon"] {
            assert!(parse_validity(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn secrets_are_redacted_in_debug_output() {
        let s = PatSecret("asp_secret".into());
        assert!(!format!("{s:?}").contains("secret\""));
        assert!(!format!("{s:?}").contains("asp_"));
    }

    fn record(id: &str) -> PatRecord {
        PatRecord::from_row(PatRow {
            id: id.into(),
            user_id: 1,
            username: "alice".into(),
            description: "d".into(),
            scope: "data".into(),
            created_at: 0,
            expires_at: Some(100),
            last_used_at: None,
            revoked_at: None,
        })
        .unwrap()
    }

    #[test]
    fn the_cache_keeps_one_record_per_id_and_flushes_each_use_once() {
        let cache = PatCache::default();
        let by_id = cache.insert(None, record("p1"));
        let by_hash = cache.insert(Some([7; 32]), record("p1"));
        assert!(Arc::ptr_eq(&by_id, &by_hash));
        by_hash.touch(50);
        by_hash.touch(40);
        assert_eq!(cache.take_pending_uses(), vec![("p1".to_string(), 50)]);
        assert!(cache.take_pending_uses().is_empty());
        by_hash.touch(60);
        cache.forget("p1");
        assert!(cache.by_hash(&[7; 32]).is_none());
        assert!(cache.by_id("p1").is_none());
        // a use noted just before the PAT left the cache is still written
        assert_eq!(cache.take_pending_uses(), vec![("p1".to_string(), 60)]);
        assert!(by_hash.live(99));
        assert!(!by_hash.live(100));
    }

    #[test]
    fn unknown_hashes_are_remembered_briefly() {
        let cache = PatCache::default();
        cache.remember_unknown([1; 32], 1000);
        assert!(cache.is_unknown(&[1; 32], 1000 + UNKNOWN_TTL - 1));
        assert!(!cache.is_unknown(&[1; 32], 1000 + UNKNOWN_TTL));
        cache.purge(1000 + UNKNOWN_TTL);
        assert!(!cache.is_unknown(&[1; 32], 1000));
    }
}
