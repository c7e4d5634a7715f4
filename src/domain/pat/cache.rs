//! The in-memory PAT records of one process (see the [module documentation](super)):
//! by token hash and by id, with a short memory of unknown hashes and the last-use times
//! housekeeping writes out. It lives in [`Revocations`](crate::domain::revocation::Revocations),
//! whose `pat` events invalidate it.
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use super::format::PatScope;
use crate::store::PatRow;

/// Most records cached; beyond it the cache starts over.
const MAX_CACHED: usize = 100_000;
/// Most unknown hashes remembered.
const MAX_UNKNOWN: usize = 10_000;
/// How long an unknown hash is remembered, seconds.
const UNKNOWN_TTL: i64 = 60;

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
    pub(super) fn from_row(row: PatRow) -> Option<PatRecord> {
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
    pub(super) fn insert(&self, hash: Option<[u8; 32]>, record: PatRecord) -> Arc<PatRecord> {
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

    pub(super) fn is_unknown(&self, hash: &[u8; 32], now: i64) -> bool {
        read(&self.unknown)
            .get(hash)
            .is_some_and(|until| *until > now)
    }

    pub(super) fn remember_unknown(&self, hash: [u8; 32], now: i64) {
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

#[cfg(test)]
mod tests {
    use super::*;

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
