//! Scopes: space-separated, de-duplicated, only the ones this server knows are granted.
use std::collections::BTreeSet;

/// Scopes this server understands.
pub const SUPPORTED: [&str; 4] = ["openid", "profile", "email", "offline_access"];

/// A set of granted scopes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scope(BTreeSet<String>);

impl Scope {
    /// Parses a requested `scope`, keeping the supported values (unknown ones are
    /// dropped, as RFC 6749 §3.3 allows). Errors if `openid` is missing.
    pub fn parse_requested(raw: &str) -> Result<Scope, String> {
        if raw.len() > 1024 {
            return Err("scope is too long".into());
        }
        let set: BTreeSet<String> = raw
            .split(' ')
            .filter(|s| SUPPORTED.contains(s))
            .map(str::to_string)
            .collect();
        if !set.contains("openid") {
            return Err("scope must contain openid".into());
        }
        Ok(Scope(set))
    }

    /// Rebuilds a stored scope string.
    pub fn from_stored(raw: &str) -> Scope {
        Scope(
            raw.split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
        )
    }

    /// Whether the scope contains `s`.
    pub fn contains(&self, s: &str) -> bool {
        self.0.contains(s)
    }

    /// Narrows to `requested` (which must be a subset).
    pub fn narrow(&self, requested: &str) -> Result<Scope, String> {
        let wanted: BTreeSet<String> = requested
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        if wanted.is_empty() {
            return Ok(self.clone());
        }
        if !wanted.is_subset(&self.0) {
            return Err("the requested scope exceeds the scope originally granted".into());
        }
        Ok(Scope(wanted))
    }

    /// Removes one scope value.
    pub fn remove(&mut self, s: &str) {
        self.0.remove(s);
    }

    /// Space-separated form.
    pub fn to_string_lossy(&self) -> String {
        self.0
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(" ")
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_string_lossy())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openid_is_required_and_unknown_scopes_are_dropped() {
        assert!(Scope::parse_requested("profile").is_err());
        let s = Scope::parse_requested("openid  email foo").unwrap();
        assert_eq!(s.to_string(), "email openid");
    }

    #[test]
    fn narrowing_only_narrows() {
        let s = Scope::from_stored("openid profile email");
        assert_eq!(
            s.narrow("openid email").unwrap().to_string(),
            "email openid"
        );
        assert!(s.narrow("openid offline_access").is_err());
        assert_eq!(s.narrow("").unwrap(), s);
    }
}
