//! What token validation needs to know without asking the database: revoked families,
//! revoked token ids, revoked PATs, and the users (disabled flag, `not_before`).
//!
//! Every change is written to the `revocation_events` log in the same transaction as the
//! change itself; each process applies the log to its caches right after its own writes
//! and polls it every [`crate::startup::RELOAD_INTERVAL`] for other processes' writes (the
//! CLI, other instances), so a revocation anywhere takes effect everywhere within that
//! interval.
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};

use tokio::sync::Mutex as AsyncMutex;

use crate::domain::clients::cache::ClientCache;
use crate::domain::pat::cache::PatCache;
use crate::store::{RevocationEvent, Store, StoreError, User};

#[derive(Debug, Default)]
struct Revoked {
    /// family id → when the entry may be forgotten
    families: HashMap<String, i64>,
    /// jti → when the entry may be forgotten
    jtis: HashMap<String, i64>,
    /// PAT id → when the entry may be forgotten
    pats: HashMap<String, i64>,
    /// removed registered client → (when it was removed, when the entry may be forgotten)
    clients: HashMap<String, (i64, i64)>,
}

/// The in-memory revocation state of one process.
#[derive(Debug)]
pub struct Revocations {
    revoked: RwLock<Revoked>,
    users: RwLock<HashMap<String, Arc<User>>>,
    /// user id → name, for look-ups by id (the code exchange); the entry is only a hint,
    /// checked against the id of the user it leads to
    user_names: RwLock<HashMap<i64, String>>,
    /// personal access tokens by hash and id (see `domain::pat`)
    pats: PatCache,
    /// registered clients with their secrets (see `domain::clients::cache`)
    clients: ClientCache,
    last_seq: AtomicI64,
    /// serialises polls so events are applied in order
    poll_lock: AsyncMutex<()>,
}

/// Clock skew between instances allowed for when a removed client's tokens are refused.
pub const CLIENT_REMOVAL_SKEW: i64 = 30;

/// Most users kept in the cache; beyond it the cache starts over (users are re-read).
const MAX_CACHED_USERS: usize = 100_000;

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|p| p.into_inner())
}
fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|p| p.into_inner())
}

impl Revocations {
    /// Loads every event that still matters.
    pub async fn load(store: &Store, now: i64) -> Result<Revocations, StoreError> {
        let r = Revocations {
            revoked: RwLock::new(Revoked::default()),
            users: RwLock::new(HashMap::new()),
            user_names: RwLock::new(HashMap::new()),
            pats: PatCache::default(),
            clients: ClientCache::default(),
            last_seq: AtomicI64::new(0),
            poll_lock: AsyncMutex::new(()),
        };
        r.poll(store, now).await?;
        Ok(r)
    }

    /// Applies new events from the log.
    pub async fn poll(&self, store: &Store, now: i64) -> Result<usize, StoreError> {
        let _guard = self.poll_lock.lock().await;
        let mut applied = 0;
        loop {
            let after = self.last_seq.load(Ordering::SeqCst);
            let events = store.events_after(after, now, 1000).await?;
            if events.is_empty() {
                return Ok(applied);
            }
            for e in &events {
                self.apply(e);
            }
            applied += events.len();
            if let Some(last) = events.last() {
                self.last_seq.store(last.seq, Ordering::SeqCst);
            }
        }
    }

    fn apply(&self, e: &RevocationEvent) {
        match e.kind.as_str() {
            "family" => {
                write(&self.revoked)
                    .families
                    .insert(e.subject.clone(), e.expires_at);
            }
            "jti" => {
                write(&self.revoked)
                    .jtis
                    .insert(e.subject.clone(), e.expires_at);
            }
            "pat" => {
                write(&self.revoked)
                    .pats
                    .insert(e.subject.clone(), e.expires_at);
                self.pats.forget(&e.subject);
            }
            "user" => {
                write(&self.users).remove(&e.subject);
            }
            "client" => {
                write(&self.revoked)
                    .clients
                    .insert(e.subject.clone(), (e.at, e.expires_at));
                self.clients.forget(&e.subject);
            }
            "client_changed" => self.clients.forget(&e.subject),
            other => tracing::warn!(kind = other, "unknown revocation event"),
        }
    }

    /// Whether the family is revoked.
    pub fn family_revoked(&self, family: &str) -> bool {
        read(&self.revoked).families.contains_key(family)
    }

    /// Whether the token id is revoked.
    pub fn jti_revoked(&self, jti: &str) -> bool {
        read(&self.revoked).jtis.contains_key(jti)
    }

    /// Whether a token of `client_id` issued at `iat` died with the removal of its
    /// registered client. Tokens issued up to [`CLIENT_REMOVAL_SKEW`] seconds after the
    /// removal die too (an instance whose clock runs a little ahead); a client registered
    /// again later under the same ID keeps its new tokens.
    pub fn client_revoked(&self, client_id: &str, iat: i64) -> bool {
        read(&self.revoked)
            .clients
            .get(client_id)
            .is_some_and(|(at, _)| iat <= at.saturating_add(CLIENT_REMOVAL_SKEW))
    }

    /// Whether the PAT is revoked.
    pub fn pat_revoked(&self, id: &str) -> bool {
        read(&self.revoked).pats.contains_key(id)
    }

    /// The user, from the cache or (once) from the database.
    pub async fn user(
        &self,
        store: &Store,
        username: &str,
    ) -> Result<Option<Arc<User>>, StoreError> {
        if let Some(u) = read(&self.users).get(username) {
            return Ok(Some(u.clone()));
        }
        let seq_before = self.last_seq.load(Ordering::SeqCst);
        let Some(user) = store.user_by_name(username).await? else {
            return Ok(None);
        };
        Ok(Some(self.remember(user, seq_before)))
    }

    /// The user with this id, from the cache or (once) from the database. Like
    /// [`Revocations::user`], as fresh as the event log: a caller that needs the user's
    /// current generation and finds another one asks the database.
    pub async fn user_by_id(
        &self,
        store: &Store,
        id: i64,
    ) -> Result<Option<Arc<User>>, StoreError> {
        let name = read(&self.user_names).get(&id).cloned();
        if let Some(name) = name {
            // a renamed user's old name may now belong to someone else: the id decides
            if let Some(u) = read(&self.users).get(&name).filter(|u| u.id == id) {
                return Ok(Some(u.clone()));
            }
        }
        let seq_before = self.last_seq.load(Ordering::SeqCst);
        let Some(user) = store.user_by_id(id).await? else {
            return Ok(None);
        };
        Ok(Some(self.remember(user, seq_before)))
    }

    /// Caches a user read from the database, unless an event was applied since
    /// `seq_before` (it might concern this user, and the row read may be older than it).
    fn remember(&self, user: User, seq_before: i64) -> Arc<User> {
        let user = Arc::new(user);
        if self.last_seq.load(Ordering::SeqCst) == seq_before {
            let mut users = write(&self.users);
            let mut names = write(&self.user_names);
            if users.len() >= MAX_CACHED_USERS || names.len() >= MAX_CACHED_USERS {
                users.clear();
                names.clear();
            }
            users.insert(user.username.clone(), user.clone());
            names.insert(user.id, user.username.clone());
        }
        user
    }

    /// The PAT cache.
    pub fn pats(&self) -> &PatCache {
        &self.pats
    }

    /// The registered-client cache.
    pub fn clients(&self) -> &ClientCache {
        &self.clients
    }

    /// The last event applied (reads that race with a poll compare it before caching).
    pub fn seq(&self) -> i64 {
        self.last_seq.load(Ordering::SeqCst)
    }

    /// Drops a user from the cache (after this process changed it).
    pub fn forget_user(&self, username: &str) {
        write(&self.users).remove(username);
    }

    /// Forgets entries whose tokens have all expired.
    pub fn purge(&self, now: i64) {
        let mut r = write(&self.revoked);
        r.families.retain(|_, exp| *exp > now);
        r.jtis.retain(|_, exp| *exp > now);
        r.clients.retain(|_, (_, exp)| *exp > now);
        // a PAT leaving the revoked set leaves the PAT cache too, so that a record cached
        // by a read that raced with the revocation cannot outlive the set
        let mut expired_pats = Vec::new();
        r.pats.retain(|id, exp| {
            let keep = *exp > now;
            if !keep {
                expired_pats.push(id.clone());
            }
            keep
        });
        drop(r);
        for id in expired_pats {
            self.pats.forget(&id);
        }
        self.pats.purge(now);
    }

    /// Sizes of the revocation sets (families, jtis, pats), for metrics and tests.
    pub fn sizes(&self) -> (usize, usize, usize) {
        let r = read(&self.revoked);
        (r.families.len(), r.jtis.len(), r.pats.len())
    }
}

#[cfg(test)]
mod tests {
    use super::Revocations;
    use crate::store::{ExternalProfile, NewUser, Store};

    fn new_user(name: &str) -> NewUser {
        NewUser {
            username: name.into(),
            password_hash: "x".into(),
            name: None,
            email: None,
            admin: false,
        }
    }

    #[tokio::test]
    async fn a_user_looked_up_by_id_is_the_one_with_that_id_after_a_rename() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("r.db").display());
        let store = Store::open(&url, 2).await.unwrap();
        let r = Revocations::load(&store, 1000).await.unwrap();
        let first = store.create_user(&new_user("alice"), 1000).await.unwrap();
        let cached = r.user_by_id(&store, first.id).await.unwrap().unwrap();
        assert_eq!(cached.username, "alice");
        // the source renames alice to bob, and a new alice appears
        let renamed = ExternalProfile {
            source: "ldap",
            external_id: "uuid-1",
            username: "bob",
            name: None,
            email: None,
            admin: false,
        };
        store
            .update_external_user(first.id, "alice", &renamed, 1001)
            .await
            .unwrap();
        r.poll(&store, 1001).await.unwrap();
        let second = store.create_user(&new_user("alice"), 1002).await.unwrap();
        // the name cache now holds the new alice, whom the old id hint leads to
        assert_eq!(
            r.user(&store, "alice").await.unwrap().unwrap().id,
            second.id
        );
        let by_id = r.user_by_id(&store, first.id).await.unwrap().unwrap();
        assert_eq!((by_id.id, by_id.username.as_str()), (first.id, "bob"));
        assert_eq!(
            r.user_by_id(&store, second.id)
                .await
                .unwrap()
                .unwrap()
                .username,
            "alice"
        );
        assert!(r.user_by_id(&store, 9999).await.unwrap().is_none());
    }
}
