//! Property tests: whatever the whitelist admits is canonical and on a whitelisted origin
//! (a private-use URI: exactly a whitelist entry), host-confusion suffixes never pass, and
//! no input panics.
//!
//! 6,000 cases per property by default: about 3 s for the four in a debug build; set
//! `PROPTEST_CASES` to run longer.
use proptest::prelude::*;

use super::*;

const CASES: u32 = 6_000;

const ENTRIES: &[&str] = &[
    "https://app.example.com",
    "https://web.example.com/webapp/",
    "https://cb.example.com/cb",
    "http://localhost:8080/callback",
    "http://127.0.0.1/native",
    "http://[::1]/v6",
    "https://q.example.com/cb?tenant=1",
    "com.example.app:/native",
];

/// The parameters an authorization response adds, which a redirect URI may not carry
/// (written out here, independently of the product's own list).
const RESPONSE_KEYS: &[&str] = &[
    "code",
    "state",
    "iss",
    "error",
    "error_description",
    "error_uri",
    "session_state",
];

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: CASES,
        ..ProptestConfig::default()
    }
}

fn whitelist() -> Whitelist {
    Whitelist::new(ENTRIES)
}

/// `key=value` with a key that is none of [`RESPONSE_KEYS`] (a redirect URI that carries
/// one is refused, which another property checks).
fn plain_query() -> impl Strategy<Value = String> {
    let key = "[a-z]{1,5}".prop_filter("a response parameter", |k| {
        !RESPONSE_KEYS.contains(&k.as_str())
    });
    (key, "[a-z0-9]{0,5}").prop_map(|(k, v)| format!("{k}={v}"))
}

/// A path/query piece from an alphabet heavy in the characters that confuse parsers.
fn piece() -> impl Strategy<Value = String> {
    let atom = prop::sample::select(vec![
        "/", "/", "?", "&", "=", ".", "..", "%2e", "%2E", "%2f", "%2F", "%5c", "%5C", "\\", "#",
        "@", ":", "%", "%zz", "%40", "%00", "a", "b", "cb", "native", "callback", "webapp", "v6",
        "tenant=1", " ", "é", "\u{0}", "\t", ";", "~", "+", "%20", "..;", ".;", "%2e%2e;", "%3b",
        "%3B", "%252e", "code=", "state=", "iss=", "%63ode", "Error=",
    ]);
    prop::collection::vec(atom, 0..8).prop_map(|v| v.concat())
}

fn authority() -> impl Strategy<Value = String> {
    let host = prop::sample::select(vec![
        "app.example.com",
        "web.example.com",
        "cb.example.com",
        "q.example.com",
        "localhost",
        "127.0.0.1",
        "[::1]",
        "[0:0:0:0:0:0:0:1]",
        "127.1",
        "2130706433",
        "0x7f.0.0.1",
        "APP.example.com",
        "app.example.com.",
        "app.example.com.evil.net",
        "evil.net",
        "xn--app-example-com",
        "app。example.com",
        "",
    ]);
    let userinfo = prop::sample::select(vec!["", "", "", "user@", "user:pw@", "@", ":@"]);
    let port = prop::sample::select(vec![
        "", "", "", ":", ":80", ":443", ":8080", ":08080", ":0", ":65535", ":65536", ":1",
    ]);
    (userinfo, host, port).prop_map(|(u, h, p)| format!("{u}{h}{p}"))
}

fn structured_uri() -> impl Strategy<Value = String> {
    let scheme = prop::sample::select(vec![
        "https://",
        "http://",
        "HTTPS://",
        "hTTp://",
        "https:/",
        "https:",
        "javascript:",
        "com.example.app:",
        "com.example.app:/",
        "data:",
        "//",
        "",
    ]);
    (scheme, authority(), piece()).prop_map(|(s, a, p)| format!("{s}{a}{p}"))
}

fn entry_plus_tail() -> impl Strategy<Value = String> {
    (prop::sample::select(ENTRIES.to_vec()), piece()).prop_map(|(e, p)| format!("{e}{p}"))
}

fn candidate() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => structured_uri(),
        3 => entry_plus_tail(),
        1 => any::<String>(),
    ]
}

/// The properties every admitted redirect URI has, checked without the matcher's code.
fn assert_admissible(uri: &str) -> Result<(), TestCaseError> {
    let url = Url::parse(uri).map_err(|e| TestCaseError::fail(format!("{uri}: {e}")))?;
    prop_assert!(
        url.as_str() == uri || url.as_str() == format!("{uri}/"),
        "{} is not canonical ({})",
        uri,
        url.as_str()
    );
    prop_assert!(
        url.username().is_empty() && url.password().is_none(),
        "{}",
        uri
    );
    prop_assert!(url.fragment().is_none() && !uri.contains('#'), "{}", uri);
    prop_assert!(!uri.contains('\\'), "{}", uri);
    let path = url.path().to_ascii_lowercase();
    prop_assert!(!path.contains("%2f") && !path.contains("%5c"), "{}", uri);
    // as Tomcat sees a segment: decoded (a proxy may decode once more), `;` parameters off
    let as_servlet_sees = |segment: &str| {
        let mut s = segment.to_string();
        for _ in 0..8 {
            s = s
                .replace("%25", "%")
                .replace("%2e", ".")
                .replace("%3b", ";");
        }
        s.split(';').next().unwrap_or("").to_string()
    };
    prop_assert!(
        path.split('/')
            .map(as_servlet_sees)
            .all(|s| s != "." && s != ".."),
        "{} has a dot-segment",
        uri
    );
    if let Some(query) = url.query() {
        for (key, _) in form_urlencoded::parse(query.replace(';', "&").as_bytes()) {
            let key = key.trim().to_ascii_lowercase();
            prop_assert!(
                !RESPONSE_KEYS.contains(&key.as_str()),
                "{} plants {}",
                uri,
                key
            );
        }
    }
    let same_origin = ENTRIES.iter().any(|raw| {
        let Ok(entry) = Url::parse(raw) else {
            return false;
        };
        let loopback_any_port = matches!(
            entry.host(),
            Some(url::Host::Ipv4(ip)) if ip.is_loopback()
        ) || matches!(
            entry.host(),
            Some(url::Host::Ipv6(ip)) if ip.is_loopback()
        );
        entry.scheme() == url.scheme()
            && entry.host_str() == url.host_str()
            && (entry.port() == url.port() || loopback_any_port)
    });
    prop_assert!(same_origin, "{} is on no whitelisted origin", uri);
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn whatever_is_admitted_is_canonical_and_on_a_whitelisted_origin(uri in candidate()) {
        if let Ok(admitted) = whitelist().check(&uri) {
            prop_assert_eq!(admitted.as_str(), uri.as_str());
            assert_admissible(&uri)?;
            // adding parameters keeps the origin
            let with = admitted.with_params(&[("code", "c"), ("state", "s#@/")]);
            let parsed = Url::parse(&with).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let original = Url::parse(&uri).map_err(|e| TestCaseError::fail(e.to_string()))?;
            if original.origin().is_tuple() {
                prop_assert_eq!(parsed.origin(), original.origin());
            } else {
                // a private-use URI (opaque origin): only ever a whitelist entry, verbatim
                prop_assert!(ENTRIES.contains(&uri.as_str()), "{} is no entry", uri);
                prop_assert_eq!(parsed.scheme(), original.scheme());
            }
            prop_assert!(parsed.fragment().is_none());
        }
    }

    #[test]
    fn host_confusion_suffixes_never_pass(
        entry in prop::sample::select(ENTRIES.to_vec()),
        confusion in prop::sample::select(vec![
            ".evil.net", "@evil.net", "%2F..", "%2f%2e%2e", ".evil.net/", "@evil.net/",
            ":@evil.net", ":password@evil.net", "\\@evil.net", "\\.evil.net", "%40evil.net",
            "%2Eevil.net", "#@evil.net", "%23@evil.net", "/../", "/%2e%2e/", "/%2E./",
            "/.%2E/", "/./", "%5C..", "x", "-evil", "evil.net", "%00", ":443", ":8443",
        ]),
        tail in piece(),
    ) {
        // (a dot-segment confusion ends in '/': "/.." followed by more characters is a
        // legitimate segment name such as "..@")
        let uri = format!("{entry}{confusion}{tail}");
        let result = whitelist().check(&uri);
        // A boundary ('/' or '?') ends the entries written with one: what follows is
        // a legitimate path or query on the same origin, checked by the general property.
        // So is the entry with a query: SPEC lets '/' and '?' continue any entry, and
        // in a query they end no parameter, so `?tenant=1/x` passes (on the same origin,
        // as the general property checks) while `?tenant=10` does not.
        let continues_query = entry.contains('?') && confusion.starts_with(['/', '?']);
        if !entry.ends_with('/') && !continues_query {
            prop_assert!(result.is_err(), "{} passed", uri);
        } else if result.is_ok() {
            assert_admissible(&uri)?;
        }
    }

    #[test]
    fn entries_admit_plain_subpaths(
        entry in prop::sample::select(
            ENTRIES
                .iter()
                .copied()
                .filter(|e| !e.contains('?') && e.contains("://"))
                .collect::<Vec<_>>(),
        ),
        segments in prop::collection::vec("[a-z0-9_-]{1,8}", 0..4),
        query in prop::option::of(plain_query()),
    ) {
        let mut uri = entry.trim_end_matches('/').to_string();
        for s in &segments {
            uri.push('/');
            uri.push_str(s);
        }
        if segments.is_empty() && entry.ends_with('/') {
            uri.push('/');
        }
        if let Some(q) = &query {
            if segments.is_empty() && !uri.ends_with('/') && Url::parse(&uri).is_ok_and(|u| u.path() == "/") {
                uri.push('/');
            }
            uri.push('?');
            uri.push_str(q);
        }
        prop_assert!(whitelist().check(&uri).is_ok(), "{} refused", uri);
    }

    #[test]
    fn arbitrary_whitelists_and_candidates_never_panic(
        entries in prop::collection::vec(candidate(), 0..4),
        uri in candidate(),
    ) {
        let _ = Whitelist::new(&entries).check(&uri);
    }
}
