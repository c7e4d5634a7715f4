//! Throttling of failed password checks (SPEC "Throttling").
//!
//! Keys are a user name or a client address. Every attempt is counted *before* its hash
//! runs (so concurrent attempts cannot slip past the limit) and undone on success. From
//! the [`LIMIT`]th consecutive failure on, the key is locked for 1, 2, 4, … seconds, capped
//! at [`MAX_LOCK`]; once a lock expires one attempt is let through, and only its failure
//! locks again, so a victim is never locked out for longer than the cap by a past attack.
//! A success resets the user's count.
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// Failures before locking.
pub const LIMIT: u32 = 10;
/// Longest lock, seconds (15 minutes).
pub const MAX_LOCK: i64 = 900;
/// Slots idle this long are forgotten.
const IDLE: i64 = 86_400;
const MAX_SLOTS: usize = 200_000;

#[derive(Debug, Clone, Default)]
struct Slot {
    failures: u32,
    locked_until: i64,
    last: i64,
}

/// The throttle of one process.
#[derive(Debug, Default)]
pub struct Throttle {
    slots: Mutex<HashMap<String, Slot>>,
}

/// An admitted attempt: report its outcome with [`Throttle::succeeded`].
#[derive(Debug)]
pub struct Attempt {
    keys: Vec<String>,
}

fn lock_secs(failures: u32) -> i64 {
    let n = failures.saturating_sub(LIMIT).min(20);
    (1i64 << n).min(MAX_LOCK)
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
    /// Admits an attempt for all `keys`, or says how many seconds to wait.
    pub fn begin(&self, keys: Vec<String>, now: i64) -> Result<Attempt, u64> {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        let wait = keys
            .iter()
            .filter_map(|k| slots.get(k))
            .map(|s| s.locked_until.saturating_sub(now))
            .max()
            .unwrap_or(0);
        if wait > 0 {
            return Err(wait as u64);
        }
        if slots.len() >= MAX_SLOTS {
            slots.retain(|_, s| s.failures >= LIMIT || now.saturating_sub(s.last) < 60);
        }
        for k in &keys {
            let slot = slots.entry(k.clone()).or_default();
            slot.failures = slot.failures.saturating_add(1);
            slot.last = now;
            if slot.failures >= LIMIT {
                slot.locked_until = now.saturating_add(lock_secs(slot.failures));
            }
        }
        Ok(Attempt { keys })
    }

    /// The attempt's password was right: undo its count, reset the user's.
    pub fn succeeded(&self, attempt: Attempt) {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        for k in attempt.keys {
            if k.starts_with("u:") {
                slots.remove(&k);
            } else if let Some(slot) = slots.get_mut(&k) {
                slot.failures = slot.failures.saturating_sub(1);
                if slot.failures < LIMIT {
                    slot.locked_until = 0;
                }
            }
        }
    }

    /// Seconds a key is still locked (0 if not).
    pub fn locked_for(&self, key: &str, now: i64) -> i64 {
        let slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        slots
            .get(key)
            .map(|s| s.locked_until.saturating_sub(now).max(0))
            .unwrap_or(0)
    }

    /// Forgets idle slots.
    pub fn purge(&self, now: i64) {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        slots.retain(|_, s| now.saturating_sub(s.last) < IDLE || s.locked_until > now);
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

    #[test]
    fn ten_failures_lock_with_bounded_exponential_backoff() {
        let t = Throttle::default();
        let keys = || vec![user_key("alice")];
        for _ in 0..9 {
            t.begin(keys(), 1000).unwrap();
        }
        // the 10th attempt is admitted and locks the key before its hash runs
        t.begin(keys(), 1000).unwrap();
        assert_eq!(t.begin(keys(), 1000).unwrap_err(), 1);
        // after the lock one attempt gets through; its failure doubles the lock
        t.begin(keys(), 1001).unwrap();
        assert_eq!(t.begin(keys(), 1001).unwrap_err(), 2);
        let mut now = 1003;
        for _ in 0..30 {
            t.begin(keys(), now).unwrap();
            now += t.locked_for(&user_key("alice"), now);
        }
        assert_eq!(t.locked_for(&user_key("alice"), now - MAX_LOCK), MAX_LOCK);
        // a success resets the user
        let a = t.begin(keys(), now).unwrap();
        t.succeeded(a);
        assert_eq!(t.locked_for(&user_key("alice"), now), 0);
        t.begin(keys(), now).unwrap();
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
