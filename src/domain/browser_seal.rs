//! What a sign-in sent to another identity provider must remember until it comes back
//! (the pending request, a nonce…), encrypted under a key that only the browser's cookie
//! gives: the database row alone reveals nothing, and another browser cannot complete the
//! sign-in. Each user of it names its own context (domain separation of the key and the
//! associated data).
use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use serde::de::DeserializeOwned;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::crypto::random_bytes;

fn key(context: &[u8], browser: &str) -> Option<LessSafeKey> {
    let mut h = Sha256::new();
    h.update(context);
    h.update(browser.as_bytes());
    let unbound = UnboundKey::new(&AES_256_GCM, &h.finalize()).ok()?;
    Some(LessSafeKey::new(unbound))
}

/// Encrypts `payload` for the browser whose cookie holds `browser`, bound to `aad`;
/// `None` only on an internal failure.
pub fn seal<T: Serialize>(
    context: &[u8],
    payload: &T,
    browser: &str,
    aad: &[u8],
) -> Option<Vec<u8>> {
    let key = key(context, browser)?;
    let nonce_bytes = random_bytes::<NONCE_LEN>();
    let mut data = serde_json::to_vec(payload).ok()?;
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce_bytes),
        Aad::from(aad),
        &mut data,
    )
    .ok()?;
    let mut out = nonce_bytes.to_vec();
    out.extend_from_slice(&data);
    Some(out)
}

/// Decrypts a sealed payload with the browser's cookie value; `None` if another
/// browser's, altered, sealed in another context or bound to other `aad`.
pub fn open<T: DeserializeOwned>(
    context: &[u8],
    sealed: &[u8],
    browser: &str,
    aad: &[u8],
) -> Option<T> {
    let key = key(context, browser)?;
    if sealed.len() < NONCE_LEN {
        return None;
    }
    let (nonce, data) = sealed.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
    let mut data = data.to_vec();
    let plain = key.open_in_place(nonce, Aad::from(aad), &mut data).ok()?;
    serde_json::from_slice(plain).ok()
}
