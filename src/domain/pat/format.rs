//! What a PAT looks like: its format, id, scope and validity, and why one cannot be made.
use crate::crypto::random_bytes;
use crate::store::StoreError;

/// Every PAT starts with this.
pub const PREFIX: &str = "asp_";
/// Length of a PAT: the prefix and 43 base64url characters.
pub const TOKEN_LEN: usize = PREFIX.len() + 43;
/// Length of a PAT id.
pub const ID_LEN: usize = 16;
/// Longest description.
pub const MAX_DESCRIPTION: usize = 200;
/// Longest validity, days (100 years; "never" is the way to say forever).
pub const MAX_DAYS: u32 = 36_500;

/// What a PAT may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatScope {
    /// Act as the user (resource requests, token endpoint).
    Data,
    /// The user-administration API (admins only).
    Management,
}

impl PatScope {
    /// `data` or `management`.
    pub fn as_str(self) -> &'static str {
        match self {
            PatScope::Data => "data",
            PatScope::Management => "management",
        }
    }

    /// Parses `data` or `management`.
    pub fn parse(s: &str) -> Option<PatScope> {
        match s {
            "data" => Some(PatScope::Data),
            "management" => Some(PatScope::Management),
            _ => None,
        }
    }

    /// The value added to the `scope` claim of JWTs minted from a PAT of this scope.
    pub fn claim(self) -> &'static str {
        match self {
            PatScope::Data => "pat:data",
            PatScope::Management => "pat:management",
        }
    }
}

/// A freshly generated token: shown once, never stored, never logged (`Debug` is
/// redacted).
pub struct PatSecret(pub(super) String);

impl PatSecret {
    /// The token itself, for showing it to its owner.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for PatSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PatSecret(redacted)")
    }
}

/// Whether `s` has the shape of a PAT (so it is not mistaken for a JWT or a password).
pub fn looks_like_pat(s: &str) -> bool {
    s.len() == TOKEN_LEN
        && s.starts_with(PREFIX)
        && s[PREFIX.len()..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A random id of [`ID_LEN`] letters and digits (about 95 bits). No `-` or `_`, so an id
/// can never be mistaken for a command-line option.
pub(super) fn new_id() -> String {
    const ALPHABET: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut id = String::with_capacity(ID_LEN);
    while id.len() < ID_LEN {
        for b in random_bytes::<32>() {
            // 248 = 4 × 62: rejecting the rest keeps every character equally likely
            if b < 248 && id.len() < ID_LEN {
                id.push(char::from(ALPHABET[usize::from(b % 62)]));
            }
        }
    }
    id
}

/// Why a PAT cannot be created.
#[derive(Debug, thiserror::Error)]
pub enum PatError {
    /// Empty, too long or with control characters.
    #[error(
        "the description must have 1 to {MAX_DESCRIPTION} characters and no control characters"
    )]
    Description,
    /// Not a whole number of days in range.
    #[error("the validity must be a whole number of days from 1 to {MAX_DAYS}, or never")]
    Validity,
    /// Neither `data` nor `management`.
    #[error("the scope must be data or management")]
    Scope,
    /// A management PAT for a user who is not an administrator.
    #[error("only administrators can have management tokens")]
    NotAdmin,
    /// The owner is disabled.
    #[error("the user is disabled")]
    Disabled,
    /// Storage failure.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl PatError {
    /// The request field the error is about.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            PatError::Description => Some("description"),
            PatError::Validity => Some("expires_in_days"),
            PatError::Scope | PatError::NotAdmin => Some("scope"),
            PatError::Disabled | PatError::Store(_) => None,
        }
    }
}

/// Parses a validity: `never` or empty for none, else whole days.
pub fn parse_validity(raw: &str) -> Result<Option<u32>, PatError> {
    let raw = raw.trim();
    if raw.is_empty() || raw.eq_ignore_ascii_case("never") {
        return Ok(None);
    }
    match raw.parse::<u32>() {
        Ok(days) if (1..=MAX_DAYS).contains(&days) => Ok(Some(days)),
        _ => Err(PatError::Validity),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::random_token;

    #[test]
    fn pats_have_the_documented_shape() {
        let token = format!("{PREFIX}{}", random_token());
        assert!(looks_like_pat(&token), "{token}");
        assert_eq!(token.len(), 47);
        assert!(!looks_like_pat(&token[..46]));
        assert!(!looks_like_pat(&format!("{token}x")));
        assert!(!looks_like_pat(&token.replace(PREFIX, "asx_")));
        assert!(!looks_like_pat(&format!("{PREFIX}{}", "=".repeat(43))));
        assert!(!looks_like_pat("eyJhbGciOi.eyJzdWIiOi.c2ln"));
    }

    #[test]
    fn ids_are_alphanumeric_and_distinct() {
        let a = new_id();
        let b = new_id();
        assert_eq!(a.len(), ID_LEN);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric()), "{a}");
        assert_ne!(a, b);
    }

    #[test]
    fn validity_is_never_or_whole_days_in_range() {
        assert_eq!(parse_validity("").unwrap(), None);
        assert_eq!(parse_validity("never").unwrap(), None);
        assert_eq!(parse_validity(" 30 ").unwrap(), Some(30));
        for bad in ["0", "-1", "1.5", "36501", "soon"] {
            assert!(parse_validity(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn secrets_are_redacted_in_debug_output() {
        let s = PatSecret("asp_secret".into());
        assert!(!format!("{s:?}").contains("secret\""));
        assert!(!format!("{s:?}").contains("asp_"));
    }
}
