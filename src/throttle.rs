//! Throttling of failed password checks (SPEC "Throttling").
//!
//! Keys are a user name or a client address. Every attempt is counted *before* its hash
//! runs (so concurrent attempts cannot slip past the limit) and undone on success. From
//! the [`LIMIT`]th consecutive failure on, the key is locked for 1, 2, 4, … seconds, capped
//! at [`MAX_LOCK`]; once a lock expires one attempt is let through, and only its failure
//! locks again, so a victim is never locked out for longer than the cap by a past attack.
//! A success resets the user's count.
//!
//! The counters live in the database (`login_throttle`), so every instance on one
//! database sees the same counts and locks: an attacker gains nothing by spreading
//! guesses over instances. Each process keeps the locks it has seen in memory, so a flood
//! against a locked key is refused without touching the database.
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use crate::store::{Store, StoreError};

/// Failures before locking.
pub const LIMIT: u32 = 10;
/// Longest lock, seconds (15 minutes).
pub const MAX_LOCK: i64 = 900;
/// Most locks remembered in memory (beyond it, expired ones are dropped).
const MAX_SLOTS: usize = 200_000;

/// The failed-password throttle (shared through the database).
#[derive(Debug)]
pub struct Throttle {
    store: Store,
    /// key → locked until (the locks this process has seen)
    locks: Mutex<HashMap<String, i64>>,
}

/// An admitted attempt: report its outcome with [`Throttle::succeeded`].
#[derive(Debug)]
pub struct Attempt {
    keys: Vec<String>,
}

/// Throttle key of a user name.
pub fn user_key(username: &str) -> String {
    format!("u:{}", username.to_lowercase())
}

/// Throttle key of a client address.
pub fn ip_key(ip: IpAddr) -> String {
    format!("a:{ip}")
}

impl Throttle {
    /// A throttle counting in `store`.
    pub fn new(store: Store) -> Throttle {
        Throttle {
            store,
            locks: Mutex::new(HashMap::new()),
        }
    }

    fn remembered_wait(&self, keys: &[String], now: i64) -> i64 {
        let locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
        keys.iter()
            .filter_map(|k| locks.get(k))
            .map(|until| until.saturating_sub(now))
            .max()
            .unwrap_or(0)
    }

    fn remember(&self, key: &str, until: i64, now: i64) {
        if until <= now {
            return;
        }
        let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
        if locks.len() >= MAX_SLOTS {
            locks.retain(|_, u| *u > now);
        }
        locks.insert(key.to_string(), until);
    }

    /// Admits an attempt for all `keys` (`Ok(Ok(_))`), or says how many seconds to wait
    /// (`Ok(Err(secs))`).
    pub async fn begin(
        &self,
        keys: Vec<String>,
        now: i64,
    ) -> Result<Result<Attempt, u64>, StoreError> {
        let wait = self.remembered_wait(&keys, now);
        if wait > 0 {
            return Ok(Err(wait as u64));
        }
        let wait = self.store.throttle_wait(&keys, now).await?;
        if wait > 0 {
            return Ok(Err(wait as u64));
        }
        let mut counted: Vec<&String> = Vec::with_capacity(keys.len());
        for key in &keys {
            match self
                .store
                .throttle_count(key, now, i64::from(LIMIT), MAX_LOCK)
                .await?
            {
                Some((_, until)) => {
                    self.remember(key, until, now);
                    counted.push(key);
                }
                None => {
                    // locked by a concurrent attempt since the check: take back ours
                    for k in counted {
                        self.store.throttle_undo(k, i64::from(LIMIT)).await?;
                    }
                    let wait = self.store.throttle_wait(&keys, now).await?.max(1);
                    return Ok(Err(wait as u64));
                }
            }
        }
        Ok(Ok(Attempt { keys }))
    }

    /// The attempt's password was right: undo its count, reset the user's.
    pub async fn succeeded(&self, attempt: Attempt) -> Result<(), StoreError> {
        for k in &attempt.keys {
            if k.starts_with("u:") {
                self.store.throttle_reset(k).await?;
            } else {
                self.store.throttle_undo(k, i64::from(LIMIT)).await?;
            }
        }
        let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
        for k in &attempt.keys {
            locks.remove(k);
        }
        Ok(())
    }

    /// Seconds a key is still locked (0 if not).
    pub async fn locked_for(&self, key: &str, now: i64) -> Result<i64, StoreError> {
        self.store.throttle_wait(&[key.to_string()], now).await
    }

    /// Forgets expired locks (the database rows go with the housekeeping batches).
    pub fn purge(&self, now: i64) {
        let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
        locks.retain(|_, until| *until > now);
    }
}

/// The client address: the TCP peer, or the right-most `X-Forwarded-For` hop that is not
/// a trusted proxy when the peer is one.
pub fn client_ip(peer: IpAddr, forwarded_for: Option<&str>, trusted: &[ipnet::IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let Some(header) = forwarded_for else {
        return peer;
    };
    let mut last = peer;
    for hop in header.rsplit(',') {
        match hop.trim().parse::<IpAddr>() {
            Ok(ip) if is_trusted(&ip) => last = ip,
            Ok(ip) => return ip,
            Err(_) => return last,
        }
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn ten_failures_lock_with_bounded_exponential_backoff() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let t = Throttle::new(Store::open(&url, 2).await.unwrap());
        let keys = || vec![user_key("alice")];
        let admit = |r: Result<Result<Attempt, u64>, StoreError>| r.unwrap().unwrap();
        let refuse = |r: Result<Result<Attempt, u64>, StoreError>| r.unwrap().unwrap_err();
        for _ in 0..9 {
            admit(t.begin(keys(), 1000).await);
        }
        // the 10th attempt is admitted and locks the key before its hash runs
        admit(t.begin(keys(), 1000).await);
        assert_eq!(refuse(t.begin(keys(), 1000).await), 1);
        // after the lock one attempt gets through; its failure doubles the lock
        admit(t.begin(keys(), 1001).await);
        assert_eq!(refuse(t.begin(keys(), 1001).await), 2);
        let mut now = 1003;
        for _ in 0..30 {
            admit(t.begin(keys(), now).await);
            now += t.locked_for(&user_key("alice"), now).await.unwrap();
        }
        assert_eq!(
            t.locked_for(&user_key("alice"), now - MAX_LOCK)
                .await
                .unwrap(),
            MAX_LOCK
        );
        // a success resets the user
        let a = admit(t.begin(keys(), now).await);
        t.succeeded(a).await.unwrap();
        assert_eq!(t.locked_for(&user_key("alice"), now).await.unwrap(), 0);
        admit(t.begin(keys(), now).await);
        // a second process on the same database sees the same counts
        let other = Throttle::new(Store::open(&url, 2).await.unwrap());
        for _ in 0..8 {
            admit(t.begin(vec![user_key("bob")], now).await);
        }
        admit(other.begin(vec![user_key("bob")], now).await);
        admit(other.begin(vec![user_key("bob")], now).await);
        assert_eq!(refuse(t.begin(vec![user_key("bob")], now).await), 1);
    }

    #[test]
    fn forwarded_for_is_only_believed_from_trusted_proxies() {
        let trusted: Vec<ipnet::IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let peer: IpAddr = "10.0.0.5".parse().unwrap();
        let outside: IpAddr = "203.0.113.9".parse().unwrap();
        assert_eq!(client_ip(outside, Some("1.2.3.4"), &trusted), outside);
        assert_eq!(
            client_ip(peer, Some("1.2.3.4, 203.0.113.7"), &trusted),
            "203.0.113.7".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            client_ip(peer, Some("1.2.3.4, 10.0.0.9"), &trusted),
            "1.2.3.4".parse::<IpAddr>().unwrap()
        );
        assert_eq!(client_ip(peer, Some("garbage"), &trusted), peer);
        assert_eq!(client_ip(peer, None, &trusted), peer);
    }
}
