//! Throttling of failed password checks (SPEC "Throttling"; `docs/security.md`
//! "Throttling" and `docs/server-to-server.md` "Lockout").
//!
//! Every password attempt comes from a *source*: a client address, and on the sign-in
//! forms a browser's device cookie. Which counters an attempt meets depends on whether the
//! source is *known* for that user, i.e. signed that user in successfully recently (an
//! address for [`KNOWN_ADDRESS_TTL`], a device cookie for [`DEVICE_TTL`], both renewed by
//! every success):
//!
//! - a device cookie known for the user: only that device's own count (`d:`);
//! - an address known for the user: that address's own count for the user (`k:`) and the
//!   address's count (`a:`);
//! - anything else (an unknown source): the user name's count (`u:`) and the address's
//!   count (`a:`).
//!
//! So failures from elsewhere, however many, lock the user name for unknown sources only:
//! the user's browsers and integrations keep signing in, and an attacker who guesses from
//! a known source meets that source's own count.
//!
//! Every attempt is counted *before* its hash runs (so concurrent attempts cannot slip
//! past the limit). From the [`LIMIT`]th failure on, a key is locked for 1, 2, 4, …
//! seconds, capped at [`MAX_LOCK`]; once a lock expires one attempt is let through, and
//! only its failure locks again, so a victim is never locked out for longer than the cap by
//! a past attack. When the password is right the attempt is taken back: its count is
//! undone and a lock it set is lifted, so a success never creates or extends a lock. A
//! success from an unknown source also resets the user name's count (a success from a
//! known source leaves it, or the user's own sign-ins would hand an attacker fresh
//! guesses). Failures against an address, a known address or a device are forgotten one
//! every [`ADDRESS_DECAY`] seconds; a success never wipes them (or an attacker could reset
//! an address between guesses by signing in to their own account). The user name's count
//! does not decay: it counts consecutive failures.
//!
//! The counters live in the database (`login_throttle`), so every instance on one
//! database sees the same counts, locks and known sources: an attacker gains nothing by
//! spreading guesses over instances. Each process keeps the locks it has seen in memory,
//! so a flood against a locked key is refused without touching the database.
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use crate::store::{Store, StoreError};

mod client_ip;
mod keys;

pub use client_ip::client_ip;
pub use keys::{address_source_key, device_key, ip_key, user_code_key, user_key};

/// Failures before locking.
pub const LIMIT: u32 = 10;
/// Longest lock, seconds (15 minutes).
pub const MAX_LOCK: i64 = 900;
/// One failure counted against an address, a known address or a device is forgotten every
/// this many seconds (5 minutes).
pub const ADDRESS_DECAY: i64 = 300;
/// How long an address stays known for a user after it signed them in (30 days).
pub const KNOWN_ADDRESS_TTL: i64 = 30 * 86_400;
/// How long a device cookie stays known for a user after it signed them in, and its
/// `Max-Age` (one year).
pub const DEVICE_TTL: i64 = 365 * 86_400;
/// Most locks remembered in memory (beyond it, expired ones are dropped).
const MAX_SLOTS: usize = 200_000;

/// The failed-password throttle (shared through the database).
#[derive(Debug)]
pub struct Throttle {
    store: Store,
    /// key → locked until (the locks this process has seen)
    locks: Mutex<HashMap<String, i64>>,
}

/// Where a password attempt comes from.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    /// The user name tried.
    pub username: &'a str,
    /// The client address ([`client_ip`]).
    pub ip: IpAddr,
    /// The browser's device cookie, on the sign-in forms.
    pub device: Option<&'a str>,
}

/// An admitted attempt: report a right password with [`Throttle::succeeded`] (a wrong one
/// needs nothing: it stays counted).
#[derive(Debug)]
pub struct Attempt {
    /// The keys counted, each with the lock its count left.
    counted: Vec<(String, i64)>,
    /// Source keys to mark known (until when) on success.
    known: Vec<(String, i64)>,
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

    /// Admits a password attempt from `source` (`Ok(Ok(_))`), or says how many seconds to
    /// wait (`Ok(Err(secs))`). The keys counted depend on whether the source is known for
    /// the user (see the module docs).
    pub async fn begin_password(
        &self,
        source: &Source<'_>,
        now: i64,
    ) -> Result<Result<Attempt, u64>, StoreError> {
        let from_address = address_source_key(source.ip, source.username);
        let device = source.device.map(|t| device_key(t, source.username));
        let device_known = match &device {
            Some(d) => self.store.throttle_known_until(d).await? > now,
            None => false,
        };
        let keys = match &device {
            Some(d) if device_known => vec![d.clone()],
            _ if self.store.throttle_known_until(&from_address).await? > now => {
                vec![from_address.clone(), ip_key(source.ip)]
            }
            _ => vec![user_key(source.username), ip_key(source.ip)],
        };
        let mut attempt = match self.begin(keys, now).await? {
            Ok(a) => a,
            Err(wait) => return Ok(Err(wait)),
        };
        attempt.known.push((from_address, now + KNOWN_ADDRESS_TTL));
        if let Some(d) = device {
            attempt.known.push((d, now + DEVICE_TTL));
        }
        Ok(Ok(attempt))
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
        let mut counted: Vec<(String, i64)> = Vec::with_capacity(keys.len());
        for key in &keys {
            match self
                .store
                .throttle_count(key, now, i64::from(LIMIT), MAX_LOCK, keys::decay(key))
                .await?
            {
                Some((_, until)) => {
                    self.remember(key, until, now);
                    counted.push((key.clone(), until));
                }
                None => {
                    // locked by a concurrent attempt since the check: take back ours
                    self.take_back(&counted).await?;
                    let wait = self.store.throttle_wait(&keys, now).await?.max(1);
                    return Ok(Err(wait as u64));
                }
            }
        }
        Ok(Ok(Attempt {
            counted,
            known: Vec::new(),
        }))
    }

    /// Undoes counts and lifts the locks they set (the attempt did not fail).
    async fn take_back(&self, counted: &[(String, i64)]) -> Result<(), StoreError> {
        for (key, until) in counted {
            self.store.throttle_undo(key, *until).await?;
        }
        let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
        for (key, until) in counted {
            if locks.get(key) == Some(until) {
                locks.remove(key);
            }
        }
        Ok(())
    }

    /// The attempt's password was right: take its count back (and any lock it set), reset
    /// the user name's count if it was counted (an unknown source), and mark the source
    /// known for the user.
    pub async fn succeeded(&self, attempt: Attempt) -> Result<(), StoreError> {
        for (key, _) in attempt.counted.iter().filter(|(k, _)| k.starts_with("u:")) {
            self.store.throttle_reset(key).await?;
        }
        let others: Vec<(String, i64)> = attempt
            .counted
            .iter()
            .filter(|(k, _)| !k.starts_with("u:"))
            .cloned()
            .collect();
        self.take_back(&others).await?;
        {
            let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
            for (key, _) in attempt.counted.iter().filter(|(k, _)| k.starts_with("u:")) {
                locks.remove(key);
            }
        }
        for (key, until) in &attempt.known {
            self.store.throttle_mark_known(key, *until).await?;
        }
        Ok(())
    }

    /// The attempt could not be decided (the directory that checks the password did not
    /// answer): take its count back, as if it never happened.
    pub async fn undecided(&self, attempt: Attempt) -> Result<(), StoreError> {
        self.take_back(&attempt.counted).await
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

#[cfg(test)]
mod tests;
