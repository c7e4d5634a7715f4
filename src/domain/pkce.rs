//! PKCE (RFC 7636), `S256` only: `plain` would hand the verifier to anyone who sees the
//! authorization request.
use sha2::{Digest, Sha256};

use crate::crypto::{b64url, ct_eq};

fn is_unreserved_43_to_128(s: &str) -> bool {
    (43..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// A validated `code_challenge` (S256).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeChallenge(String);

impl CodeChallenge {
    /// Validates `code_challenge` and `code_challenge_method` from an authorization request.
    pub fn parse(challenge: &str, method: Option<&str>) -> Result<CodeChallenge, String> {
        match method {
            Some("S256") => {}
            Some("plain") | None => {
                return Err("code_challenge_method must be S256 (plain is not supported)".into())
            }
            Some(_) => return Err("code_challenge_method must be S256".into()),
        }
        // an S256 challenge is base64url(SHA-256) = 43 characters
        if challenge.len() != 43 || !is_unreserved_43_to_128(challenge) {
            return Err("code_challenge is not a base64url SHA-256 value".into());
        }
        Ok(CodeChallenge(challenge.to_string()))
    }

    /// Rebuilds a stored challenge.
    pub fn from_stored(s: String) -> CodeChallenge {
        CodeChallenge(s)
    }

    /// The challenge string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `verifier` (RFC 7636 §4.1 syntax) hashes to this challenge.
    pub fn verify(&self, verifier: &str) -> bool {
        if !is_unreserved_43_to_128(verifier) {
            return false;
        }
        let computed = b64url(&Sha256::digest(verifier.as_bytes()));
        ct_eq(computed.as_bytes(), self.0.as_bytes())
    }
}

/// The S256 challenge of a verifier (for clients and tests).
pub fn challenge_for(verifier: &str) -> String {
    b64url(&Sha256::digest(verifier.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b_example_verifies() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let c = CodeChallenge::parse("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", Some("S256"))
            .unwrap();
        assert!(c.verify(verifier));
        assert!(!c.verify("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXK"));
        assert!(!c.verify("short"));
    }

    #[test]
    fn plain_and_missing_methods_are_refused() {
        let ch = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(CodeChallenge::parse(ch, Some("plain")).is_err());
        assert!(CodeChallenge::parse(ch, None).is_err());
        assert!(CodeChallenge::parse(ch, Some("S512")).is_err());
        assert!(CodeChallenge::parse("abc", Some("S256")).is_err());
        assert!(CodeChallenge::parse(&"a".repeat(43).replace('a', "+"), Some("S256")).is_err());
    }
}
