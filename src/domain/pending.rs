//! The pending sign-in between the login page and the login POST, carried by the browser.
//!
//! Showing the login page stores nothing: the validated [`AuthRequest`] travels in the
//! form, sealed as `base64url(json) "." base64url(HMAC-SHA256)`. The MAC covers the
//! request, its expiry and the browser's CSRF token (the CSRF cookie), so the form can be
//! neither altered nor posted from another browser. The key is a secret every instance
//! on the database shares (`server_secrets`), so the POST may land on any instance.
use aws_lc_rs::hmac;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::crypto::random_bytes;
use crate::domain::authorize::AuthRequest;

/// How long a pending sign-in waits for the user, seconds.
pub const PENDING_TTL: i64 = 1800;
/// Name of the shared secret in `server_secrets`.
pub const SECRET_NAME: &str = "pending_request_mac";
/// Longest sealed value accepted (the size caps on the request keep real ones far below).
const MAX_SEALED: usize = 32 * 1024;
/// Domain separation of the MAC input.
const CONTEXT: &[u8] = b"authserver pending sign-in v1\0";

/// Why a sealed pending request is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PendingError {
    /// Malformed, altered, or sealed for another browser or another key.
    Invalid,
    /// Older than [`PENDING_TTL`].
    Expired,
}

#[derive(Serialize, Deserialize)]
struct Sealed {
    /// Expiry (seconds).
    exp: i64,
    /// The request.
    req: AuthRequest,
}

/// Seals and opens pending requests with the shared key.
#[derive(Clone)]
pub struct PendingSeal {
    key: hmac::Key,
}

impl std::fmt::Debug for PendingSeal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PendingSeal(..)")
    }
}

impl PendingSeal {
    /// A seal keyed with `secret` (at least 32 bytes from `server_secrets`).
    pub fn new(secret: &[u8]) -> PendingSeal {
        PendingSeal {
            key: hmac::Key::new(hmac::HMAC_SHA256, secret),
        }
    }

    /// A fresh random secret for [`PendingSeal::new`] (stored if no instance has one).
    pub fn generate_secret() -> [u8; 32] {
        random_bytes::<32>()
    }

    /// What the MAC covers: a context label, the browser's CSRF token, the payload.
    fn mac_input(csrf: &str, payload: &str) -> Vec<u8> {
        let mut data = Vec::with_capacity(CONTEXT.len() + csrf.len() + 1 + payload.len());
        data.extend_from_slice(CONTEXT);
        data.extend_from_slice(csrf.as_bytes());
        data.push(0);
        data.extend_from_slice(payload.as_bytes());
        data
    }

    /// Seals `request` for the browser holding CSRF token `csrf`, valid for
    /// [`PENDING_TTL`] from `now`. `None` only if the request cannot be serialised.
    pub fn seal(&self, request: &AuthRequest, csrf: &str, now: i64) -> Option<String> {
        let sealed = Sealed {
            exp: now.saturating_add(PENDING_TTL),
            req: request.clone(),
        };
        let json = serde_json::to_vec(&sealed).ok()?;
        let payload = URL_SAFE_NO_PAD.encode(json);
        let tag = hmac::sign(&self.key, &Self::mac_input(csrf, &payload));
        Some(format!(
            "{payload}.{}",
            URL_SAFE_NO_PAD.encode(tag.as_ref())
        ))
    }

    /// Opens a sealed request posted with CSRF token `csrf` (the browser's cookie); the
    /// MAC is checked in constant time before anything in it is read.
    pub fn open(&self, sealed: &str, csrf: &str, now: i64) -> Result<AuthRequest, PendingError> {
        if sealed.len() > MAX_SEALED {
            return Err(PendingError::Invalid);
        }
        let (payload, tag) = sealed.split_once('.').ok_or(PendingError::Invalid)?;
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| PendingError::Invalid)?;
        // constant time (aws-lc's verify)
        hmac::verify(&self.key, &Self::mac_input(csrf, payload), &tag)
            .map_err(|_| PendingError::Invalid)?;
        let json = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| PendingError::Invalid)?;
        let sealed: Sealed = serde_json::from_slice(&json).map_err(|_| PendingError::Invalid)?;
        if sealed.exp <= now {
            return Err(PendingError::Expired);
        }
        Ok(sealed.req)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> AuthRequest {
        AuthRequest {
            client_id: "webApplicationPlatform".into(),
            client_name: None,
            redirect_uri: "http://localhost:8080/callback".into(),
            scope: "openid".into(),
            state: Some("st4te".into()),
            response_type: Default::default(),
            response_mode: Default::default(),
            nonce: Some("n0nce".into()),
            code_challenge: None,
            prompt_none: false,
            prompt_login: false,
            prompt_consent: false,
            max_age: None,
            login_hint: Some("hinted".into()),
            id_token_hint: Some("x.y.z".into()),
        }
    }

    const CSRF: &str = "a-csrf-token-of-this-browser";

    #[test]
    fn a_sealed_request_opens_with_the_same_key_and_csrf_token_until_it_expires() {
        let seal = PendingSeal::new(&[7; 32]);
        let sealed = seal.seal(&request(), CSRF, 1000).unwrap();
        let opened = seal.open(&sealed, CSRF, 1000 + PENDING_TTL - 1).unwrap();
        assert_eq!(opened.state.as_deref(), Some("st4te"));
        assert_eq!(opened.redirect_uri, "http://localhost:8080/callback");
        assert_eq!(opened.id_token_hint, None, "the hints are not carried");
        assert_eq!(opened.login_hint, None, "the hints are not carried");
        // another instance with the same secret
        assert!(PendingSeal::new(&[7; 32]).open(&sealed, CSRF, 1001).is_ok());
        assert_eq!(
            seal.open(&sealed, CSRF, 1000 + PENDING_TTL).unwrap_err(),
            PendingError::Expired
        );
    }

    #[test]
    fn another_key_another_browser_or_any_change_is_refused() {
        let seal = PendingSeal::new(&[7; 32]);
        let sealed = seal.seal(&request(), CSRF, 1000).unwrap();
        let invalid = Err(PendingError::Invalid);
        assert_eq!(
            PendingSeal::new(&[8; 32])
                .open(&sealed, CSRF, 1000)
                .map(|_| ()),
            invalid
        );
        assert_eq!(seal.open(&sealed, "another", 1000).map(|_| ()), invalid);
        // a longer expiry written into the payload
        let (payload, tag) = sealed.split_once('.').unwrap();
        let mut json: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        json["exp"] = (i64::MAX / 2).into();
        let forged = format!(
            "{}.{tag}",
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&json).unwrap())
        );
        assert_eq!(seal.open(&forged, CSRF, 1000).map(|_| ()), invalid);
        for junk in [
            "",
            ".",
            "x",
            "x.y",
            &format!("{payload}."),
            &"A".repeat(40_000),
        ] {
            assert_eq!(
                seal.open(junk, CSRF, 1000).map(|_| ()),
                invalid,
                "{junk:.20}"
            );
        }
    }
}
