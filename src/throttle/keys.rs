//! Throttle keys: what a password attempt is counted against.
//!
//! - `u:<name>`: the user name (lower-cased), for attempts from unknown sources;
//! - `a:<address>`: the client address;
//! - `k:<address> <name>`: an address that signed the user in (a known address);
//! - `c:<address>`: failed user-code entries on the device verification page, per address;
//! - `d:<hash>`: a device cookie bound to a user: SHA-256 of the cookie and the user name,
//!   so the database never holds the cookie, and the cookie is known for that user only.
use std::net::IpAddr;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

/// Throttle key of a user name.
pub fn user_key(username: &str) -> String {
    format!("u:{}", username.to_lowercase())
}

/// Throttle key of a client address.
pub fn ip_key(ip: IpAddr) -> String {
    format!("a:{ip}")
}

/// Throttle key of a client address's user-code entries (device verification page).
pub fn user_code_key(ip: IpAddr) -> String {
    format!("c:{ip}")
}

/// Throttle key of a client address as a source of `username`'s sign-ins.
pub fn address_source_key(ip: IpAddr, username: &str) -> String {
    format!("k:{ip} {}", username.to_lowercase())
}

/// Throttle key of a device cookie as a source of `username`'s sign-ins.
pub fn device_key(token: &str, username: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(token.as_bytes());
    hash.update([0]);
    hash.update(username.to_lowercase().as_bytes());
    format!("d:{}", URL_SAFE_NO_PAD.encode(hash.finalize()))
}

/// How fast a key's failures are forgotten: one every this many seconds (never for a
/// user name: its count is of consecutive failures).
pub fn decay(key: &str) -> i64 {
    if key.starts_with("u:") {
        i64::MAX
    } else {
        super::ADDRESS_DECAY
    }
}
