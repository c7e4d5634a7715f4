//! Password hashing with argon2id (OWASP parameters: 12 MiB, t=3, p=1), always run off
//! the async runtime and behind a limit of concurrent hashes.
use std::sync::OnceLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use crate::crypto::random_bytes;

/// Shortest password accepted for new passwords.
pub const MIN_PASSWORD_LEN: usize = 8;

/// OWASP's argon2id configuration "m=12 MiB, t=3, p=1" (equivalent in strength to its
/// 19 MiB, t=2 one, with a third less memory per concurrent verification). Hashes made
/// with other parameters still verify: the PHC string carries them.
fn argon2() -> Argon2<'static> {
    let params = Params::new(12 * 1024, 3, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password into a PHC string.
pub fn hash(password: &str) -> Result<String, String> {
    let salt = SaltString::encode_b64(&random_bytes::<16>()).map_err(|e| e.to_string())?;
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// A hash of a random password, verified against when the user does not exist so that
/// unknown and known users cost the same.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash(&crate::crypto::random_token()).unwrap_or_default())
}

/// Verifies `password` against `phc` (or against a dummy hash when `phc` is `None`).
/// Blocking: call through [`verify_async`] from async code.
pub fn verify(password: &str, phc: Option<&str>) -> bool {
    let (phc, real) = match phc {
        Some(p) => (p, true),
        None => (dummy_hash(), false),
    };
    let ok = match PasswordHash::new(phc) {
        Ok(parsed) => argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    };
    ok && real
}

fn limiter() -> &'static Semaphore {
    static LIMIT: OnceLock<Semaphore> = OnceLock::new();
    LIMIT.get_or_init(|| {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        Semaphore::new(cores)
    })
}

/// Verifies on the blocking pool, at most one hash per core at a time.
pub async fn verify_async(password: String, phc: Option<String>) -> bool {
    let Ok(_permit) = limiter().acquire().await else {
        return false;
    };
    tokio::task::spawn_blocking(move || verify(&password, phc.as_deref()))
        .await
        .unwrap_or(false)
}

/// Hashes on the blocking pool, behind the same limit.
pub async fn hash_async(password: String) -> Result<String, String> {
    let Ok(_permit) = limiter().acquire().await else {
        return Err("hashing is shutting down".into());
    };
    tokio::task::spawn_blocking(move || hash(&password))
        .await
        .map_err(|e| e.to_string())?
}

/// Checks a new password against the policy; the message is shown to the user.
pub fn check_policy(password: &str) -> Result<(), String> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(format!(
            "the password must have at least {MIN_PASSWORD_LEN} characters"
        ));
    }
    if password.len() > 1024 {
        return Err("the password must have at most 1024 bytes".into());
    }
    Ok(())
}

/// Checks a user name: 1–128 characters, no `:` (Basic auth splits there), no spaces or
/// control characters.
pub fn check_username(name: &str) -> Result<(), String> {
    if name.is_empty() || name.chars().count() > 128 {
        return Err("the user name must have 1 to 128 characters".into());
    }
    if name
        .chars()
        .any(|c| c == ':' || c.is_whitespace() || c.is_control())
    {
        return Err("the user name must not contain ':', spaces or control characters".into());
    }
    Ok(())
}
