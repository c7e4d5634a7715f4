//! Value types and their parsers: secrets, the enumerations, durations, booleans, lists,
//! networks, addresses and URLs. Parsers return what was expected on failure; the
//! [`Reader`](super::reader::Reader) adds the key and where the value came from.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use ipnet::IpNet;
use url::Url;

use super::MASK;

/// Longest accepted duration: 100 years, so `now + duration` never overflows anywhere.
const MAX_DURATION: u64 = 100 * 365 * 86_400;
const DURATION_EXPECTED: &str = "a duration in seconds (or 15m, 12h, 7d)";

/// A secret string: never printed, compared in constant time.
#[derive(Clone, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the few places that must use it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Constant-time comparison (only the length can leak).
    pub fn ct_eq(&self, other: &[u8]) -> bool {
        subtle::ConstantTimeEq::ct_eq(self.0.as_bytes(), other).into()
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

/// ID token signing algorithm (`authentication.signing.algorithm`), names as in JOSE.
#[allow(clippy::upper_case_acronyms)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SigningAlgorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    #[default]
    RS256,
    /// RSASSA-PSS with SHA-256.
    PS256,
    /// ECDSA P-256 with SHA-256.
    ES256,
    /// Ed25519.
    EdDSA,
}

impl SigningAlgorithm {
    /// All algorithms, in the order the SPEC lists them.
    pub const ALL: [SigningAlgorithm; 4] = [Self::RS256, Self::PS256, Self::ES256, Self::EdDSA];

    /// The JOSE `alg` name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RS256 => "RS256",
            Self::PS256 => "PS256",
            Self::ES256 => "ES256",
            Self::EdDSA => "EdDSA",
        }
    }

    /// Parses a JOSE `alg` name, case-sensitively.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|alg| alg.as_str() == name)
    }

    /// Whether the algorithm uses an RSA key.
    pub fn is_rsa(self) -> bool {
        matches!(self, Self::RS256 | Self::PS256)
    }
}

impl fmt::Display for SigningAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who may register clients dynamically (`authentication.registration.mode`, RFC 7591).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RegistrationMode {
    /// No registration endpoint.
    #[default]
    Off,
    /// Only with an initial access token an administrator created.
    Token,
    /// Anyone (rate-limited per address).
    Open,
}

impl RegistrationMode {
    /// The name used in the properties file.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Token => "token",
            Self::Open => "open",
        }
    }
}

pub(super) fn parse_registration_mode(value: &str) -> Result<RegistrationMode, String> {
    match value.to_ascii_lowercase().as_str() {
        "off" => Ok(RegistrationMode::Off),
        "token" => Ok(RegistrationMode::Token),
        "open" => Ok(RegistrationMode::Open),
        _ => Err("off, token or open".to_owned()),
    }
}

/// Log output format (`logging.format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

impl LogFormat {
    /// The name used in the properties file.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Json => "json",
        }
    }
}

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Non-negative seconds, or a number with suffix `s`, `m`, `h` or `d`.
pub fn parse_duration(value: &str) -> Result<u64, String> {
    let (digits, unit) = match value.char_indices().last() {
        Some((i, 's')) => (&value[..i], 1),
        Some((i, 'm')) => (&value[..i], 60),
        Some((i, 'h')) => (&value[..i], 3600),
        Some((i, 'd')) => (&value[..i], 86_400),
        _ => (value, 1),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DURATION_EXPECTED.to_owned());
    }
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(unit))
        .filter(|&seconds| seconds <= MAX_DURATION)
        .ok_or_else(|| format!("{DURATION_EXPECTED} of at most {MAX_DURATION} seconds (100 years)"))
}

/// `true`/`false`, `yes`/`no`, `1`/`0`, case-insensitively.
pub(super) fn parse_bool(value: &str) -> Result<bool, String> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" => Ok(true),
        "false" | "no" | "0" => Ok(false),
        _ => Err("true or false (also yes/no, 1/0)".to_owned()),
    }
}

/// Comma-separated, blanks trimmed, empty items dropped.
pub(super) fn split_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A CIDR network, or a plain address as a single-host network.
pub(super) fn parse_network(value: &str) -> Option<IpNet> {
    if let Ok(net) = value.parse::<IpNet>() {
        return Some(net.trunc());
    }
    let address = value.trim_start_matches('[').trim_end_matches(']');
    address.parse::<IpAddr>().ok().map(IpNet::from)
}

pub(super) fn parse_address(value: &str) -> Result<IpAddr, String> {
    if value.eq_ignore_ascii_case("localhost") {
        return Ok(IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
    value
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .map_err(|_| "an IP address such as 127.0.0.1, 0.0.0.0 or ::".to_owned())
}

/// Validates `server.public.url`: absolute http(s), no credentials, query or fragment.
pub(super) fn parse_public_url(value: &str) -> Result<Url, String> {
    const EXPECTED: &str =
        "an absolute http or https URL such as https://auth.example.com (no query or fragment)";
    let mut url = Url::parse(value).map_err(|_| EXPECTED.to_owned())?;
    if !matches!(url.scheme(), "http" | "https")
        || url.host_str().is_none_or(str::is_empty)
        || !url.username().is_empty()
        || url.password().is_some()
        || url.query().is_some()
        || url.fragment().is_some()
    {
        return Err(EXPECTED.to_owned());
    }
    let path = url.path().trim_end_matches('/').to_owned();
    url.set_path(&path);
    Ok(url)
}

/// Builds the public URL from `server.public.host` (`host[:port]`).
pub(super) fn parse_public_host(value: &str, https: bool) -> Result<Url, String> {
    const EXPECTED: &str =
        "a host name with an optional port, such as auth.example.com or auth.example.com:8443";
    if value.is_empty()
        || value
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '/' | '?' | '#' | '@' | '\\'))
    {
        return Err(EXPECTED.to_owned());
    }
    let scheme = if https { "https" } else { "http" };
    let url = Url::parse(&format!("{scheme}://{value}")).map_err(|_| EXPECTED.to_owned())?;
    if url.host_str().is_none_or(str::is_empty) {
        return Err(EXPECTED.to_owned());
    }
    Ok(url)
}

/// The scheme of a private-use URI (RFC 8252 §7.1), if `raw` is one: a reverse-domain
/// scheme (lower-case letters, digits, `+`, `-` and at least one `.`, such as
/// `com.example.app`), followed by `:` and a path, with nothing a browser or the client
/// might read differently (no fragment, user information, spaces, control characters or
/// backslashes). Such a scheme never names a browser-handled one (`javascript`, `data`,
/// `file`, `http`, …): none of those has a dot.
pub fn private_use_scheme(raw: &str) -> Option<&str> {
    let (scheme, rest) = raw.split_once(':')?;
    let first = scheme.chars().next()?;
    let well_formed = first.is_ascii_lowercase()
        && scheme.contains('.')
        && !scheme.starts_with('.')
        && !scheme.ends_with('.')
        && !scheme.contains("..")
        && scheme
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '+' | '-'));
    let clean_rest = !rest.is_empty()
        && raw.len() <= 2048
        && !rest
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || matches!(c, '#' | '\\' | '@'));
    (well_formed && clean_rest).then_some(scheme)
}

/// An absolute http(s) URL (or a private-use URI) for the redirect whitelist; `Err` says why not.
pub(super) fn check_redirect_entry(entry: &str) -> Result<(), String> {
    const EXPECTED: &str =
        "an absolute http or https URL such as https://app.example.com/callback, \
         or a native app's private-use URI such as com.example.app:/callback";
    if private_use_scheme(entry).is_some() {
        return Ok(());
    }
    let url = Url::parse(entry).map_err(|err| format!("{EXPECTED} ({err})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "{EXPECTED} (scheme \"{}\" is not allowed)",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("{EXPECTED} (no host)"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!("{EXPECTED} without a user name or password"));
    }
    if url.fragment().is_some() {
        return Err(format!("{EXPECTED} without a #fragment"));
    }
    Ok(())
}

pub(super) fn parse_database_url(value: &str) -> Result<String, String> {
    let ok = ["sqlite:", "postgres://", "postgresql://"]
        .iter()
        .any(|prefix| {
            value
                .strip_prefix(prefix)
                .is_some_and(|rest| !rest.is_empty())
        });
    if ok {
        Ok(value.to_owned())
    } else {
        Err("a database URL such as sqlite://authserver.db (sqlite: or postgres://)".to_owned())
    }
}

pub(super) fn parse_pool_size(value: &str) -> Result<u32, String> {
    value
        .parse::<u32>()
        .ok()
        .filter(|&n| n >= 1)
        .ok_or_else(|| "a number of connections, at least 1".to_owned())
}

pub(super) fn parse_algorithm(value: &str) -> Result<SigningAlgorithm, String> {
    SigningAlgorithm::from_name(value).ok_or_else(|| {
        let hint = SigningAlgorithm::ALL
            .into_iter()
            .find(|alg| alg.as_str().eq_ignore_ascii_case(value))
            .map(|alg| format!(" (names are case-sensitive: {alg})"))
            .unwrap_or_default();
        format!("one of RS256, PS256, ES256, EdDSA{hint}")
    })
}

pub(super) fn parse_log_format(value: &str) -> Result<LogFormat, String> {
    match value.to_ascii_lowercase().as_str() {
        "text" => Ok(LogFormat::Text),
        "json" => Ok(LogFormat::Json),
        _ => Err("text or json".to_owned()),
    }
}

pub(super) fn parse_level(value: &str) -> Result<String, String> {
    if value.is_empty() {
        Err("a log level such as info, debug or info,sqlx=warn".to_owned())
    } else {
        Ok(value.to_owned())
    }
}

/// The public URL rendered without the trailing slash `Url` puts on a bare root.
pub(super) fn url_without_trailing_slash(url: &Url) -> &str {
    url.as_str().trim_end_matches('/')
}

/// The database URL with any password masked.
pub(super) fn masked_database_url(raw: &str) -> String {
    match Url::parse(raw) {
        Ok(mut url) if url.password().is_some() => {
            if url.set_password(Some(MASK)).is_ok() {
                url.to_string()
            } else {
                raw.to_owned()
            }
        }
        _ => raw.to_owned(),
    }
}

/// Control characters (from `\n`-style escapes) made visible, so messages stay one line.
pub(super) fn one_line(value: &str) -> String {
    value
        .chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

pub(super) fn join<T: fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn display_path(path: Option<&PathBuf>) -> String {
    path.map(|p| p.display().to_string()).unwrap_or_default()
}
