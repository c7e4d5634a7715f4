//! Redirect URI whitelist matching.
//!
//! Teamwork Cloud's whitelist holds "full URLs or their beginnings". A plain string prefix
//! would let `https://app.example.com` admit `https://app.example.com.evil.net/` or
//! `https://app.example.com@evil.net/`, so a beginning only matches on a URL boundary:
//! same scheme, host and port, and the path continues at `/` or `?`. Redirect URIs that
//! are not in canonical form are refused rather than normalised, and the server redirects
//! to exactly the string it checked.
//!
//! Native apps (RFC 8252): a loopback IP literal entry without a port
//! (`http://127.0.0.1/cb`, `http://[::1]/cb`) admits any port, the path matching as for
//! any other entry (§7.3); `localhost` is an ordinary host name and its port must match
//! (§8.3 asks for the IP literal). A private-use URI scheme (`com.example.app:/cb`, §7.1)
//! is admitted only when the whitelist holds exactly that string, and only for a
//! reverse-domain scheme (one with a dot), so `javascript:`, `data:`, `file:` and the like
//! can never be whitelisted.
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
    /// Its query holds a parameter of the authorization response (`code`, `state`, `iss`, …)
    /// that the whitelist entry does not: the client would read the caller's value.
    #[error("redirect_uri carries a parameter of the authorization response in its query")]
    ReservedParameter,
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
    /// Puts parameters in the fragment (whitelisted URIs never have one of their own).
    pub fn with_fragment(&self, params: &[(&str, &str)]) -> String {
        let mut ser = form_urlencoded::Serializer::new(String::new());
        for (k, v) in params {
            ser.append_pair(k, v);
        }
        format!("{}#{}", self.0, ser.finish())
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

    /// Checks `candidate` against the entries as full URIs only: it must be in canonical
    /// form and equal an entry character for character (no beginnings, no loopback port
    /// freedom). For clients whose tokens travel in the redirect itself.
    pub fn check_exact(&self, candidate: &str) -> Result<RedirectUri, RedirectError> {
        // a native app's private-use URI is only ever matched exactly (see `check`)
        if !is_private_use_uri(candidate) {
            canonical(candidate)?;
        }
        if self.entries.iter().any(|entry| entry.raw == candidate) {
            return Ok(RedirectUri(candidate.to_string()));
        }
        Err(RedirectError::NotWhitelisted)
    }

    /// Checks `candidate`; on success returns it unchanged.
    pub fn check(&self, candidate: &str) -> Result<RedirectUri, RedirectError> {
        if is_private_use_uri(candidate) {
            // exact match only: no prefixes, no normalisation
            return if self.entries.iter().any(|e| e.raw == candidate) {
                Ok(RedirectUri(candidate.to_string()))
            } else {
                Err(RedirectError::NotWhitelisted)
            };
        }
        let url = canonical(candidate)?;
        let mut planted = false;
        for entry in &self.entries {
            if entry.raw == candidate {
                return Ok(RedirectUri(candidate.to_string()));
            }
            match entry.admits(&url) {
                Admits::Yes => return Ok(RedirectUri(candidate.to_string())),
                Admits::PlantedParameter => planted = true,
                Admits::No => {}
            }
        }
        Err(if planted {
            RedirectError::ReservedParameter
        } else {
            RedirectError::NotWhitelisted
        })
    }
}

/// Whether one entry admits a candidate.
enum Admits {
    Yes,
    No,
    /// On the entry's boundary, but the query adds a response parameter.
    PlantedParameter,
}

impl Entry {
    fn admits(&self, url: &Url) -> Admits {
        if self.url.scheme() != url.scheme() || self.url.host_str() != url.host_str() {
            return Admits::No;
        }
        if !self.any_port && self.url.port() != url.port() {
            return Admits::No;
        }
        let prefix = rest(&self.url);
        let candidate = rest(url);
        let Some(tail) = candidate.strip_prefix(prefix.as_str()) else {
            return Admits::No;
        };
        let on_boundary = tail.is_empty()
            || prefix.ends_with('/')
            || prefix.ends_with('?')
            || tail.starts_with('/')
            || tail.starts_with('?');
        if !on_boundary {
            return Admits::No;
        }
        let own = response_parameter_counts(self.url.query());
        let sent = response_parameter_counts(url.query());
        if sent.iter().zip(own).any(|(sent, own)| *sent > own) {
            return Admits::PlantedParameter;
        }
        Admits::Yes
    }
}

fn is_private_use_uri(raw: &str) -> bool {
    crate::config::private_use_scheme(raw).is_some()
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

/// Whether a segment of the raw path is `.` or `..` once percent-decoded (repeatedly: a
/// proxy in front may decode once more; a slash that appears only then also ends a
/// segment) and cut at its first `;`. Tomcat and Jetty strip `;` parameters before
/// resolving dot-segments, so `..;` climbs out of `/webapp/` there.
fn raw_path_has_dot_segment(raw: &str) -> bool {
    let after = raw.split_once("://").map(|(_, r)| r).unwrap_or(raw);
    let path = match after.find('/') {
        Some(i) => &after[i..],
        None => return false,
    };
    let path = path.split('?').next().unwrap_or(path);
    path.split('/').any(|seg| {
        let decoded = fully_decoded(seg.as_bytes());
        decoded.split(|&b| b == b'/' || b == b'\\').any(|part| {
            let name = part.split(|&b| b == b';').next().unwrap_or(part);
            is_dot_name(name)
        })
    })
}

/// `.` or `..`, also with a dot written as overlong UTF-8 (`%c0%ae`, `%e0%80%ae`), which
/// old servlet containers decoded to a dot.
fn is_dot_name(name: &[u8]) -> bool {
    let mut dots = 0;
    let mut rest = name;
    while !rest.is_empty() {
        rest = if let Some(r) = rest.strip_prefix(b".") {
            r
        } else if let Some(r) = rest.strip_prefix(&[0xc0, 0xae]) {
            r
        } else if let Some(r) = rest.strip_prefix(&[0xe0, 0x80, 0xae]) {
            r
        } else {
            return false;
        };
        dots += 1;
    }
    dots == 1 || dots == 2
}

/// Percent-decodes until nothing changes (bounded: each round shortens the input).
fn fully_decoded(bytes: &[u8]) -> Vec<u8> {
    let mut current = bytes.to_vec();
    loop {
        let next: Vec<u8> = percent_encoding::percent_decode(&current).collect();
        if next == current {
            return current;
        }
        current = next;
    }
}

/// Parameters the authorization response (and its error form) adds to the redirect URI,
/// and OpenID Connect Session Management's `session_state`. A redirect URI that carries
/// them already would hand the client the caller's values first.
const RESPONSE_PARAMETERS: &[&str] = &[
    "code",
    "state",
    "iss",
    "error",
    "error_description",
    "error_uri",
    "session_state",
];

/// How often each response parameter names a key of `query`. Keys are decoded as a form
/// would, compared without case, and `;` counts as a separator too (some frameworks
/// split on it).
fn response_parameter_counts(query: Option<&str>) -> [usize; RESPONSE_PARAMETERS.len()] {
    let mut counts = [0; RESPONSE_PARAMETERS.len()];
    let Some(query) = query else {
        return counts;
    };
    for piece in query.split(['&', ';']) {
        for (key, _) in form_urlencoded::parse(piece.as_bytes()) {
            let key = key.trim().to_ascii_lowercase();
            if let Some(i) = RESPONSE_PARAMETERS.iter().position(|p| *p == key) {
                counts[i] += 1;
            }
        }
    }
    counts
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod fuzz;
