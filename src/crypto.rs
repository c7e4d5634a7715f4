//! Small cryptographic helpers: random tokens, token hashes, constant-time comparison.
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// `n` random bytes from the operating system's CSPRNG.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    // aws-lc's RNG only fails if the OS entropy source is gone; there is no safe fallback.
    if aws_lc_rs::rand::fill(&mut buf).is_err() {
        std::process::abort();
    }
    buf
}

/// A fresh 256-bit random token, base64url without padding (43 characters).
pub fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<32>())
}

/// A random identifier (128 bits, base64url), for jti and family ids.
pub fn random_id() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<16>())
}

/// A random identifier that sorts by creation time, for refresh-family ids: the wall
/// clock's milliseconds since 1970 as 12 hex digits, then 80 random bits (base64url). New
/// rows land at the right edge of the table's primary-key index instead of on a random page of
/// it, which keeps the code exchange's inserts cheap as the table grows. Not a secret (it
/// travels in tokens); unique by its random part.
pub fn ordered_id() -> String {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    format!(
        "{:012x}{}",
        now_ms & 0xffff_ffff_ffff,
        URL_SAFE_NO_PAD.encode(random_bytes::<10>())
    )
}

/// SHA-256 of a high-entropy token: what the database stores instead of the token.
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Constant-time equality of two byte strings (the length is not hidden).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// base64url without padding.
pub fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::ordered_id;

    #[test]
    fn ordered_ids_sort_by_creation_and_differ_within_a_millisecond() {
        let first = ordered_id();
        let same_ms = ordered_id();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let later = ordered_id();
        assert_ne!(first, same_ms);
        assert!(
            later > first && later > same_ms,
            "{first} {same_ms} {later}"
        );
        assert_eq!(first.len(), 12 + 14);
        assert!(first
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    }
}
