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

    /// Length in bytes of the longest value sent for `name` (0 when absent).
    pub fn longest(&self, name: &str) -> usize {
        self.pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.len())
            .max()
            .unwrap_or(0)
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
    fn longest_measures_every_value_sent_for_a_name() {
        let p = Params::parse(b"a=12&b=&a=12345&c=x%20y");
        assert_eq!(p.longest("a"), 5, "repeats count too");
        assert_eq!(p.longest("b"), 0);
        assert_eq!(p.longest("c"), 3, "decoded bytes");
        assert_eq!(p.longest("zzz"), 0);
    }

    #[test]
    fn garbage_never_panics() {
        let p = Params::parse(b"%ff%fe=%&&==&\xff\xfe=1");
        let _ = p.get("x");
    }
}

/// Property tests: any bytes decode without a panic, encoded maps round-trip, and a
/// repeated parameter is always refused.
///
/// 1,000 cases per property by default: about 5 s for the four in a debug build; set
/// `PROPTEST_CASES` to run longer.
#[cfg(test)]
mod fuzz {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;

    const CASES: u32 = 1_000;

    fn config() -> ProptestConfig {
        ProptestConfig {
            cases: CASES,
            ..ProptestConfig::default()
        }
    }

    /// Bytes dense in what form decoding cares about.
    fn hostile_bytes() -> impl Strategy<Value = Vec<u8>> {
        let special = prop::sample::select(vec![
            b'%', b'&', b'=', b'+', b';', b'2', b'f', b'F', b'z', b'a', b'\xff', b'\xc3', b'\0',
        ]);
        let byte = prop_oneof![3 => special, 1 => any::<u8>()];
        prop::collection::vec(byte, 0..300)
    }

    /// Percent-encodes every byte, hex digits in either case (`+` for some spaces).
    fn encode_fully(s: &str, upper: bool, plus: bool) -> String {
        s.bytes()
            .map(|b| match b {
                b' ' if plus => "+".to_string(),
                _ if upper => format!("%{b:02X}"),
                _ => format!("%{b:02x}"),
            })
            .collect()
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn any_bytes_decode_without_a_panic(
            raw in hostile_bytes(),
            other in hostile_bytes(),
            name in prop::sample::select(vec!["", "a", "client_id", "code", "%", "\u{fffd}"]),
        ) {
            let mut params = Params::parse(&raw);
            let _ = params.get(name);
            let _ = params.require(name);
            // only '&' separates pairs; empty ones are skipped
            prop_assert_eq!(params.is_empty(), raw.split(|b| *b == b'&').all(<[u8]>::is_empty));
            params.fill_from(&Params::parse(&other), &[name, "grant_type"]);
            let _ = params.get(name);
        }

        #[test]
        fn an_encoded_map_round_trips(map in prop::collection::btree_map(any::<String>(), any::<String>(), 0..8)) {
            let mut ser = form_urlencoded::Serializer::new(String::new());
            for (k, v) in &map {
                ser.append_pair(k, v);
            }
            let params = Params::parse(ser.finish().as_bytes());
            for (k, v) in &map {
                let want = (!v.is_empty()).then_some(v.as_str());
                prop_assert_eq!(params.get(k).map_err(|e| TestCaseError::fail(e.to_string()))?, want);
            }
        }

        #[test]
        fn fully_percent_encoded_pairs_round_trip(
            map in prop::collection::btree_map(any::<String>(), any::<String>(), 1..6),
            upper in any::<bool>(),
            plus in any::<bool>(),
        ) {
            let raw: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{}={}", encode_fully(k, upper, plus), encode_fully(v, upper, plus)))
                .collect();
            let params = Params::parse(raw.join("&").as_bytes());
            let decoded: BTreeMap<String, String> = params.pairs.iter().cloned().collect();
            prop_assert_eq!(decoded, map);
        }

        #[test]
        fn a_repeated_parameter_is_always_refused(
            map in prop::collection::btree_map("[a-z_]{1,10}", any::<String>(), 1..6),
            pick in any::<prop::sample::Index>(),
            again in any::<String>(),
        ) {
            let (name, _) = pick.get(&map.iter().collect::<Vec<_>>()).to_owned();
            let mut ser = form_urlencoded::Serializer::new(String::new());
            for (k, v) in &map {
                ser.append_pair(k, v);
            }
            ser.append_pair(name, &again);
            let params = Params::parse(ser.finish().as_bytes());
            prop_assert!(params.get(name).is_err());
            prop_assert!(params.require(name).is_err());
        }
    }
}
