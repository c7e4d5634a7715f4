//! `application/x-www-form-urlencoded` parameters (query strings and form bodies) with the
//! OAuth rules: a parameter sent twice is an error (RFC 6749 §3.1), an empty value counts
//! as absent, unknown parameters are ignored.
use crate::error::AppError;

/// Decoded parameters, in order.
#[derive(Debug, Clone, Default)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// Decodes a query string or form body (invalid UTF-8 is replaced, never a panic).
    pub fn parse(raw: &[u8]) -> Params {
        Params {
            pairs: form_urlencoded::parse(raw)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        }
    }

    /// The value of `name`; `None` when absent or empty; an error when repeated.
    pub fn get(&self, name: &str) -> Result<Option<&str>, AppError> {
        let mut found: Option<&str> = None;
        let mut count = 0;
        for (k, v) in &self.pairs {
            if k == name {
                count += 1;
                if !v.is_empty() {
                    found = Some(v.as_str());
                }
            }
        }
        if count > 1 {
            return Err(AppError::InvalidRequest(format!(
                "the parameter {name} was sent more than once"
            )));
        }
        Ok(found)
    }

    /// Like [`Params::get`] but required.
    pub fn require(&self, name: &str) -> Result<&str, AppError> {
        self.get(name)?
            .ok_or_else(|| AppError::InvalidRequest(format!("the parameter {name} is missing")))
    }

    /// Adds `names` from `other` where this set lacks them (the body wins over the query).
    pub fn fill_from(&mut self, other: &Params, names: &[&str]) {
        for name in names {
            if !self.pairs.iter().any(|(k, _)| k == name) {
                for (k, v) in &other.pairs {
                    if k == name {
                        self.pairs.push((k.clone(), v.clone()));
                    }
                }
            }
        }
    }

    /// Whether no parameter at all was sent.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_are_errors_and_empty_values_are_absent() {
        let p = Params::parse(b"a=1&b=&c=x%20y&a=2");
        assert!(p.get("a").is_err());
        assert_eq!(p.get("b").unwrap(), None);
        assert_eq!(p.get("c").unwrap(), Some("x y"));
        assert_eq!(p.get("zzz").unwrap(), None);
        assert!(p.require("b").is_err());
    }

    #[test]
    fn the_body_wins_over_the_query() {
        let mut body = Params::parse(b"grant_type=client_credentials");
        let query = Params::parse(b"grant_type=x&client_id=c&code=secret");
        body.fill_from(&query, &["grant_type", "client_id", "scope"]);
        assert_eq!(body.get("grant_type").unwrap(), Some("client_credentials"));
        assert_eq!(body.get("client_id").unwrap(), Some("c"));
        assert_eq!(
            body.get("code").unwrap(),
            None,
            "codes never come from the query"
        );
    }

    #[test]
    fn garbage_never_panics() {
        let p = Params::parse(b"%ff%fe=%&&==&\xff\xfe=1");
        let _ = p.get("x");
    }
}
