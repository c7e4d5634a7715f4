//! What a sign-in sent upstream must remember until the callback (nonce, PKCE verifier,
//! the pending request), encrypted under a key that only the browser's cookie gives: the
//! database row alone reveals nothing, and another browser cannot complete the sign-in.
use serde::{Deserialize, Serialize};

use crate::domain::browser_seal;

/// Domain separation of the key derivation and the associated data.
const CONTEXT: &[u8] = b"authserver upstream sign-in v1\0";

/// The remembered part of a sign-in sent upstream.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Payload {
    /// The provider it was sent to.
    pub(super) provider: String,
    /// The `nonce` sent upstream.
    pub(super) nonce: String,
    /// The PKCE verifier.
    pub(super) verifier: String,
    /// Our own pending authorization request, sealed (`domain::pending`).
    pub(super) rid: String,
    /// The CSRF token `rid` is sealed for.
    pub(super) csrf: String,
}

/// Encrypts `payload` for the browser whose cookie holds `browser`; `None` only on an
/// internal failure.
pub(super) fn seal(payload: &Payload, browser: &str, state_hash: &[u8]) -> Option<Vec<u8>> {
    browser_seal::seal(CONTEXT, payload, browser, state_hash)
}

/// Decrypts a sealed payload with the browser's cookie value; `None` if another
/// browser's, altered, or stored under another state.
pub(super) fn open(sealed: &[u8], browser: &str, state_hash: &[u8]) -> Option<Payload> {
    browser_seal::open(CONTEXT, sealed, browser, state_hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload() -> Payload {
        Payload {
            provider: "corp".into(),
            nonce: "n".into(),
            verifier: "v".into(),
            rid: "r".into(),
            csrf: "c".into(),
        }
    }

    #[test]
    fn a_payload_opens_only_with_the_same_browser_cookie_and_state() {
        let sealed = seal(&payload(), "browser-a", b"state-1").unwrap();
        let opened = open(&sealed, "browser-a", b"state-1").unwrap();
        assert_eq!(opened.verifier, "v");
        assert!(open(&sealed, "browser-b", b"state-1").is_none());
        assert!(open(&sealed, "browser-a", b"state-2").is_none());
        let mut altered = sealed.clone();
        let last = altered.len() - 1;
        altered[last] ^= 1;
        assert!(open(&altered, "browser-a", b"state-1").is_none());
        assert!(open(&[1, 2, 3], "browser-a", b"state-1").is_none());
    }
}
