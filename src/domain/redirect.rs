//! Redirect URI whitelist matching.
//!
//! Teamwork Cloud's whitelist holds "full URLs or their beginnings". A plain string prefix
//! would let `https://app.example.com` admit `https://app.example.com.evil.net/` or
//! `https://app.example.com@evil.net/`, so a beginning only matches on a URL boundary:
//! same scheme, host and port, and the path continues at `/` or `?`. Redirect URIs that
//! are not in canonical form are refused rather than normalised, and the server redirects
//! to exactly the string it checked.
use std::net::IpAddr;

use url::Url;

/// Why a redirect URI is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedirectError {
    /// Not an absolute http(s) URL.
    #[error("redirect_uri is not an absolute http(s) URL")]
    NotAUrl,
    /// Parses, but is not in canonical form (userinfo, fragment, dot-segments, …).
    #[error("redirect_uri is not in canonical form: {0}")]
    NotCanonical(&'static str),
    /// Canonical, but no whitelist entry admits it.
    #[error("redirect_uri is not in authentication.redirect.uri.whitelist")]
    NotWhitelisted,
}

/// A redirect URI that passed the whitelist: the exact string the client sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectUri(String);

impl RedirectUri {
    /// Wraps a URI that was checked earlier (a stored authorization request).
    pub fn trusted(uri: String) -> RedirectUri {
        RedirectUri(uri)
    }
    /// The URI as sent (and as it will be redirected to).
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// Appends query parameters, keeping any the URI already has.
    pub fn with_params(&self, params: &[(&str, &str)]) -> String {
        let mut out = self.0.clone();
        let mut ser = form_urlencoded::Serializer::new(String::new());
        for (k, v) in params {
            ser.append_pair(k, v);
        }
        let query = ser.finish();
        if query.is_empty() {
            return out;
        }
        out.push(if self.0.contains('?') { '&' } else { '?' });
        out.push_str(&query);
        out
    }
}

/// One whitelist entry, parsed once at start.
#[derive(Debug, Clone)]
struct Entry {
    raw: String,
    url: Url,
    /// a loopback IP literal without a port admits any port (RFC 8252 §7.3)
    any_port: bool,
}

/// The parsed `authentication.redirect.uri.whitelist`.
#[derive(Debug, Clone, Default)]
pub struct Whitelist {
    entries: Vec<Entry>,
}

fn is_loopback_host(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        _ => false,
    }
}

/// `path?query` of a parsed URL.
fn rest(url: &Url) -> String {
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    }
}

fn has_explicit_port(raw: &str) -> bool {
    let after_scheme = raw.split_once("://").map(|(_, r)| r).unwrap_or(raw);
    let authority = after_scheme
        .split(['/', '?', '#'])
        .next()
        .unwrap_or(after_scheme);
    // [v6]:port or host:port
    match authority.rfind(']') {
        Some(i) => authority[i..].contains(':'),
        None => authority.contains(':'),
    }
}

impl Whitelist {
    /// Builds the matcher from the configured entries (already validated as URLs).
    pub fn new<S: AsRef<str>>(entries: &[S]) -> Whitelist {
        let entries = entries
            .iter()
            .filter_map(|raw| {
                let raw = raw.as_ref().trim();
                let url = Url::parse(raw).ok()?;
                let any_port = is_loopback_host(&url) && !has_explicit_port(raw);
                Some(Entry {
                    raw: raw.to_string(),
                    url,
                    any_port,
                })
            })
            .collect();
        Whitelist { entries }
    }

    /// Checks `candidate`; on success returns it unchanged.
    pub fn check(&self, candidate: &str) -> Result<RedirectUri, RedirectError> {
        let url = canonical(candidate)?;
        if self
            .entries
            .iter()
            .any(|e| e.raw == candidate || e.admits(&url))
        {
            Ok(RedirectUri(candidate.to_string()))
        } else {
            Err(RedirectError::NotWhitelisted)
        }
    }
}

impl Entry {
    fn admits(&self, url: &Url) -> bool {
        if self.url.scheme() != url.scheme() || self.url.host_str() != url.host_str() {
            return false;
        }
        if !self.any_port && self.url.port() != url.port() {
            return false;
        }
        let prefix = rest(&self.url);
        let candidate = rest(url);
        let Some(tail) = candidate.strip_prefix(prefix.as_str()) else {
            return false;
        };
        tail.is_empty()
            || prefix.ends_with('/')
            || prefix.ends_with('?')
            || tail.starts_with('/')
            || tail.starts_with('?')
    }
}

/// Parses `raw` and refuses anything that is not exactly in canonical form.
fn canonical(raw: &str) -> Result<Url, RedirectError> {
    if raw.len() > 2048 {
        return Err(RedirectError::NotCanonical("longer than 2048 bytes"));
    }
    if raw.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(RedirectError::NotCanonical(
            "contains spaces or control characters",
        ));
    }
    if raw.contains('#') {
        return Err(RedirectError::NotCanonical("has a fragment"));
    }
    if raw.contains('\\') {
        return Err(RedirectError::NotCanonical("contains a backslash"));
    }
    if !(raw.starts_with("http://") || raw.starts_with("https://")) {
        return match Url::parse(raw) {
            Ok(u) if u.scheme() == "http" || u.scheme() == "https" => {
                Err(RedirectError::NotCanonical("the scheme is not lower-case"))
            }
            _ => Err(RedirectError::NotAUrl),
        };
    }
    let url = Url::parse(raw).map_err(|_| RedirectError::NotAUrl)?;
    if !url.username().is_empty() || url.password().is_some() || authority(raw).contains('@') {
        return Err(RedirectError::NotCanonical("has user information"));
    }
    let path = url.path().to_ascii_lowercase();
    if path.contains("%2f") || path.contains("%5c") {
        return Err(RedirectError::NotCanonical(
            "has an encoded slash or backslash in the path",
        ));
    }
    if raw_path_has_dot_segment(raw) {
        return Err(RedirectError::NotCanonical("has dot-segments"));
    }
    // what is left to differ: upper-case host, default port, percent-encoding, IDN
    let serialised = url.as_str();
    let same = serialised == raw
        || (url.path() == "/"
            && url.query().is_none()
            && serialised.strip_suffix('/') == Some(raw));
    if !same {
        if authority(raw) != authority(serialised) {
            return Err(RedirectError::NotCanonical(
                "the host is not lower-case or the port is the scheme's default",
            ));
        }
        return Err(RedirectError::NotCanonical("is not normalised"));
    }
    Ok(url)
}

fn authority(raw: &str) -> &str {
    let after = raw.split_once("://").map(|(_, r)| r).unwrap_or(raw);
    after.split(['/', '?', '#']).next().unwrap_or(after)
}

fn raw_path_has_dot_segment(raw: &str) -> bool {
    let after = raw.split_once("://").map(|(_, r)| r).unwrap_or(raw);
    let path = match after.find('/') {
        Some(i) => &after[i..],
        None => return false,
    };
    let path = path.split('?').next().unwrap_or(path);
    path.split('/').any(|seg| {
        let s = seg.to_ascii_lowercase().replace("%2e", ".");
        s == "." || s == ".."
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wl() -> Whitelist {
        Whitelist::new(&[
            "https://app.example.com",
            "https://web.example.com/webapp/",
            "https://cb.example.com/cb",
            "http://localhost:8080/callback",
            "http://127.0.0.1/native",
            "http://[::1]/v6",
            "https://q.example.com/cb?tenant=1",
        ])
    }

    fn ok(uri: &str) {
        assert_eq!(
            wl().check(uri).map(|r| r.0),
            Ok(uri.to_string()),
            "{uri} should pass"
        );
    }
    fn refused(uri: &str) {
        assert!(wl().check(uri).is_err(), "{uri} should be refused");
    }

    #[test]
    fn exact_entries_and_boundary_prefixes_match() {
        ok("https://app.example.com");
        ok("https://app.example.com/");
        ok("https://app.example.com/anything/below?x=1");
        ok("https://web.example.com/webapp/");
        ok("https://web.example.com/webapp/page");
        ok("https://cb.example.com/cb");
        ok("https://cb.example.com/cb/deeper");
        ok("https://cb.example.com/cb?state=x");
        ok("http://localhost:8080/callback");
        ok("https://q.example.com/cb?tenant=1");
    }

    #[test]
    fn prefixes_that_do_not_end_on_a_boundary_are_refused() {
        refused("https://app.example.com.evil.net/");
        refused("https://app.example.com.evil.net");
        refused("https://app.example.com@evil.net/");
        refused("https://cb.example.com/cbevil");
        refused("https://web.example.com/webappx");
        refused("https://web.example.com/webapp");
        refused("https://q.example.com/cb?tenant=10");
        refused("http://localhost:8080/callbackx");
    }

    #[test]
    fn scheme_host_and_port_must_match_exactly() {
        refused("http://app.example.com/");
        refused("https://app.example.com:8443/");
        refused("http://localhost:8081/callback");
        refused("http://localhost/callback");
        refused("https://evil.net/?https://app.example.com");
    }

    #[test]
    fn non_canonical_uris_are_refused_not_normalised() {
        refused("https://user@app.example.com/");
        refused("https://user:pw@app.example.com/");
        refused("https://app.example.com/#frag");
        refused("https://app.example.com/a/../b");
        refused("https://app.example.com/./b");
        refused("https://app.example.com/%2e%2e/b");
        refused("https://app.example.com/.%2E/b");
        refused("https://app.example.com/a%2Fb");
        refused("https://app.example.com/a%5cb");
        refused("https://app.example.com\\@evil.net/");
        refused("https://app.example.com/a\\b");
        refused("HTTPS://app.example.com/");
        refused("https://APP.example.com/");
        refused("https://app.example.com:443/");
        refused("http://localhost:8080/callback with space");
        refused("javascript:alert(1)");
        refused("not a url");
        refused("");
        refused("https://app.example.com/\u{0}");
    }

    #[test]
    fn a_loopback_entry_without_port_admits_any_port() {
        ok("http://127.0.0.1/native");
        ok("http://127.0.0.1:51234/native");
        ok("http://127.0.0.1:1/native/cb");
        ok("http://[::1]:4000/v6");
        refused("http://127.0.0.1:51234/other");
        refused("https://127.0.0.1:51234/native");
        refused("http://localhost:51234/native");
    }

    #[test]
    fn params_are_appended_to_the_exact_uri() {
        let r = wl().check("https://cb.example.com/cb?state=x").unwrap();
        assert_eq!(
            r.with_params(&[("code", "a b"), ("iss", "https://i/x")]),
            "https://cb.example.com/cb?state=x&code=a+b&iss=https%3A%2F%2Fi%2Fx"
        );
        let r = wl().check("https://cb.example.com/cb").unwrap();
        assert_eq!(
            r.with_params(&[("code", "c")]),
            "https://cb.example.com/cb?code=c"
        );
    }
}
