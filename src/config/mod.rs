//! Typed, validated settings from `authserver.properties` and `AUTHSERVER_*` variables.
//!
//! Layers, merged by the `config` crate, last wins: built-in defaults, the properties
//! file, the environment. Aliases (the `*.expirity` / `*.ttl` spellings of Teamwork
//! Cloud) are renamed to their canonical key inside each layer, so an environment alias
//! still beats the file's canonical key; within one layer the canonical key beats its
//! aliases (with a warning). Everything is validated once, here: the rest of the crate
//! only sees [`Settings`].

pub mod properties;

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use ipnet::IpNet;
use url::Url;

pub use properties::PropertiesFormat;

/// Prefix of the environment variables that override keys.
pub const ENV_PREFIX: &str = "AUTHSERVER_";
/// The variable that chooses the properties file (not a setting itself).
pub const CONFIG_ENV: &str = "AUTHSERVER_CONFIG";
/// What a secret looks like in logs, reports and error messages.
pub const MASK: &str = "********";

/// Longest accepted duration: 100 years, so `now + duration` never overflows anywhere.
const MAX_DURATION: u64 = 100 * 365 * 86_400;
const DURATION_EXPECTED: &str = "a duration in seconds (or 15m, 12h, 7d)";

/// One known key: its canonical name, accepted aliases, built-in default.
struct KeySpec {
    key: &'static str,
    aliases: &'static [&'static str],
    default: Option<&'static str>,
    secret: bool,
}

const fn spec(key: &'static str, default: Option<&'static str>) -> KeySpec {
    KeySpec {
        key,
        aliases: &[],
        default,
        secret: false,
    }
}

const fn aliased(
    key: &'static str,
    aliases: &'static [&'static str],
    default: Option<&'static str>,
) -> KeySpec {
    KeySpec {
        key,
        aliases,
        default,
        secret: false,
    }
}

const fn secret(key: &'static str) -> KeySpec {
    KeySpec {
        key,
        aliases: &[],
        default: None,
        secret: true,
    }
}

/// Every key the product knows, in report order.
const KEYS: &[KeySpec] = &[
    spec("server.address", Some("127.0.0.1")),
    spec("server.port", Some("8555")),
    aliased("server.public.url", &["server.public.host"], None),
    spec("server.ssl.enabled", Some("false")),
    spec("server.ssl.certificate", None),
    spec("server.ssl.key", None),
    spec("server.trusted.proxies", Some("")),
    spec("server.metrics.allow", Some("127.0.0.0/8, ::1/128")),
    spec("database.url", Some("sqlite://authserver.db")),
    spec("database.pool.size", Some("8")),
    spec("authentication.client.ids", None),
    spec("authentication.redirect.uri.whitelist", None),
    secret("authentication.client.secret"),
    aliased(
        "authentication.token.expiry",
        &["authentication.token.expirity", "authentication.token.ttl"],
        Some("900"),
    ),
    aliased(
        "authentication.client.permanent",
        &["authentication.client.unlimited"],
        Some(""),
    ),
    aliased(
        "authentication.permanent.token.expiry",
        &[
            "authentication.unlimited.token.expirity",
            "authentication.unlimited.token.ttl",
        ],
        Some("630720000"),
    ),
    aliased(
        "authentication.code.expiry",
        &[
            "authentication.code.token.expirity",
            "authentication.code.token.ttl",
        ],
        Some("60"),
    ),
    aliased(
        "authentication.refresh.token.expiry",
        &[
            "authentication.refresh.token.expirity",
            "authentication.refresh.token.ttl",
        ],
        Some("1209600"),
    ),
    aliased(
        "authentication.sso.session.expiry",
        &["authentication.sso.token.expirity"],
        Some("604800"),
    ),
    spec("authentication.refresh.token.reuse.grace", Some("30")),
    spec("authentication.signing.algorithm", Some("RS256")),
    spec("authentication.signing.key", None),
    spec("authentication.signing.kid", None),
    spec("authentication.server.key-store", None),
    secret("authentication.server.key-store-password"),
    spec("authentication.server.key-alias", None),
    aliased(
        "authentication.login.banner.text",
        &["classification.loginbannertext"],
        None,
    ),
    spec("logging.format", Some("text")),
    spec("logging.level", Some("info")),
];

/// The key whose value is a bare host (`server.public.url` alias with its own meaning).
const PUBLIC_HOST_ALIAS: &str = "server.public.host";

fn key_spec(key: &str) -> Option<&'static KeySpec> {
    KEYS.iter().find(|spec| spec.key == key)
}

/// The `AUTHSERVER_*` variable that overrides `key`.
pub fn env_var_name(key: &str) -> String {
    let mut name = String::from(ENV_PREFIX);
    name.extend(key.chars().map(|c| match c {
        '.' | '-' => '_',
        c => c.to_ascii_uppercase(),
    }));
    name
}

/// Every accepted spelling (canonical key first, then aliases) with its spec and rank.
fn all_names() -> impl Iterator<Item = (&'static str, &'static KeySpec, usize)> {
    KEYS.iter().flat_map(|spec| {
        std::iter::once(spec.key)
            .chain(spec.aliases.iter().copied())
            .enumerate()
            .map(move |(rank, name)| (name, spec, rank))
    })
}

/// The nearest known name to `name`, if it is near enough to be a likely typo.
fn suggest<'a>(name: &str, candidates: impl Iterator<Item = (String, &'a str)>) -> Option<&'a str> {
    let name = name.to_ascii_lowercase();
    candidates
        .map(|(candidate, suggestion)| {
            let score =
                strsim::normalized_damerau_levenshtein(&name, &candidate.to_ascii_lowercase());
            (score, suggestion)
        })
        .filter(|(score, _)| *score >= 0.7)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, suggestion)| suggestion)
}

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

/// All settings, validated.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The properties file the settings were read from.
    pub source: PathBuf,
    /// `server.*`.
    pub server: ServerSettings,
    /// `database.*`.
    pub database: DatabaseSettings,
    /// `authentication.*`.
    pub auth: AuthSettings,
    /// `logging.*`.
    pub logging: LoggingSettings,
}

/// `server.*` settings.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// Bind address (`server.address`).
    pub address: IpAddr,
    /// Bind port (`server.port`; 0 picks a free port).
    pub port: u16,
    /// External base URL: http(s), no query or fragment, path without trailing slash
    /// (the bare root still renders as `/`; use [`Settings::issuer`]).
    pub public_url: Url,
    /// `server.ssl.*`.
    pub ssl: SslSettings,
    /// Reverse proxies whose `X-Forwarded-For` is believed (`server.trusted.proxies`).
    pub trusted_proxies: Vec<IpNet>,
    /// Networks allowed to read `/metrics` (`server.metrics.allow`).
    pub metrics_allow: Vec<IpNet>,
}

/// `server.ssl.*` settings; when enabled, both files are set.
#[derive(Debug, Clone, Default)]
pub struct SslSettings {
    /// Serve HTTPS (`server.ssl.enabled`).
    pub enabled: bool,
    /// PEM certificate chain (`server.ssl.certificate`).
    pub certificate: Option<PathBuf>,
    /// PEM private key (`server.ssl.key`).
    pub key: Option<PathBuf>,
}

/// `database.*` settings.
#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    /// Connection URL (`database.url`), `sqlite:` or `postgres(ql)://`.
    pub url: String,
    /// Pool size (`database.pool.size`), at least 1.
    pub max_connections: u32,
}

/// `authentication.*` settings; durations are in seconds.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// Allowed client IDs (`authentication.client.ids`), never empty.
    pub client_ids: Vec<String>,
    /// Allowed redirect URIs or their beginnings, all absolute http(s) URLs.
    pub redirect_whitelist: Vec<String>,
    /// Shared secret sent as `X-Auth-Secret` (`authentication.client.secret`).
    pub client_secret: Secret,
    /// ID/access token lifetime (`authentication.token.expiry`).
    pub token_expiry: u64,
    /// Clients whose tokens get the permanent lifetime (`authentication.client.permanent`).
    pub permanent_clients: Vec<String>,
    /// Their token lifetime (`authentication.permanent.token.expiry`).
    pub permanent_token_expiry: u64,
    /// Authorization code lifetime (`authentication.code.expiry`).
    pub code_expiry: u64,
    /// Refresh token lifetime (`authentication.refresh.token.expiry`).
    pub refresh_token_expiry: u64,
    /// Browser SSO session lifetime (`authentication.sso.session.expiry`).
    pub sso_session_expiry: u64,
    /// Refresh token reuse grace window (`authentication.refresh.token.reuse.grace`).
    pub refresh_reuse_grace: u64,
    /// ID token signing algorithm (`authentication.signing.algorithm`).
    pub signing_algorithm: SigningAlgorithm,
    /// PEM private key to sign with (`authentication.signing.key`).
    pub signing_key: Option<PathBuf>,
    /// `kid` for that key (`authentication.signing.kid`).
    pub signing_kid: Option<String>,
    /// Java key store holding the signing key (`authentication.server.key-store`).
    pub key_store: Option<PathBuf>,
    /// Its password (`authentication.server.key-store-password`).
    pub key_store_password: Option<Secret>,
    /// The key's alias in it (`authentication.server.key-alias`).
    pub key_alias: Option<String>,
    /// Text shown on the login page (`authentication.login.banner.text`).
    pub login_banner_text: Option<String>,
}

/// `logging.*` settings.
#[derive(Debug, Clone)]
pub struct LoggingSettings {
    /// Output format (`logging.format`).
    pub format: LogFormat,
    /// Filter directive (`logging.level`), e.g. `info` or `info,sqlx=warn`.
    pub level: String,
}

/// Settings plus the warnings found while loading them (unknown keys, ignored aliases…).
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The validated settings.
    pub settings: Settings,
    /// One line each, ready to print.
    pub warnings: Vec<String>,
}

/// Why the settings could not be loaded; `Display` is one line naming file and key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The properties file could not be read.
    #[error("cannot read config file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid `.properties` syntax.
    #[error("{}:{line}: {message}", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A required key is not set, or set to nothing.
    #[error("{}: {key} is missing or empty: expected {expected}", path.display())]
    Missing {
        /// The file.
        path: PathBuf,
        /// The canonical key.
        key: &'static str,
        /// What should be there.
        expected: String,
    },
    /// A value does not have the expected form.
    #[error("{location}: {key} = \"{value}\": expected {expected}")]
    Invalid {
        /// `file:line`, or the environment variable (and the file it overrides).
        location: String,
        /// The key as written (canonical or alias).
        key: String,
        /// The offending value (masked for secrets).
        value: String,
        /// What should be there.
        expected: String,
    },
    /// One entry of a list is not valid.
    #[error("{location}: {key}: entry \"{entry}\": expected {expected}")]
    InvalidEntry {
        /// `file:line`, or the environment variable (and the file it overrides).
        location: String,
        /// The key as written (canonical or alias).
        key: String,
        /// The offending list entry.
        entry: String,
        /// What should be there.
        expected: String,
    },
    /// Values that are valid alone but not together.
    #[error("{}: {message}", path.display())]
    Inconsistent {
        /// The file.
        path: PathBuf,
        /// What does not fit.
        message: String,
    },
    /// The `config` crate failed to merge the layers.
    #[error("{}: {message}", path.display())]
    Merge {
        /// The file.
        path: PathBuf,
        /// The `config` crate's message.
        message: String,
    },
}

/// A value as provided by the file or the environment, renamed to its canonical key.
#[derive(Debug, Clone)]
struct Provided {
    value: String,
    /// The spelling it was given under (canonical key or alias).
    via: &'static str,
    /// The name as written: the file's key, or the environment variable.
    name: String,
    /// `file:line` or `environment variable X (overrides file)`.
    location: String,
    /// Order within its layer (later wins among aliases).
    position: usize,
}

/// One layer (file or environment), keyed by canonical key.
#[derive(Debug, Clone, Default)]
struct Layer {
    values: BTreeMap<&'static str, Provided>,
}

impl config::Source for Layer {
    fn clone_into_box(&self) -> Box<dyn config::Source + Send + Sync> {
        Box::new(self.clone())
    }

    fn collect(&self) -> Result<config::Map<String, config::Value>, config::ConfigError> {
        Ok(self
            .values
            .iter()
            .map(|(key, provided)| {
                let value = config::Value::new(
                    Some(&provided.location),
                    config::ValueKind::String(provided.value.clone()),
                );
                ((*key).to_owned(), value)
            })
            .collect())
    }
}

impl Layer {
    /// Builds a layer; among several spellings of one key the canonical one wins, then the
    /// later alias. Returns `(position, conflict(loser, winner))` for every ignored one.
    fn build(
        candidates: Vec<(&'static KeySpec, usize, Provided)>,
        conflict: impl Fn(&Provided, &Provided) -> String,
    ) -> (Self, Vec<(usize, String)>) {
        let mut grouped: BTreeMap<&'static str, Vec<(usize, Provided)>> = BTreeMap::new();
        for (spec, rank, provided) in candidates {
            grouped.entry(spec.key).or_default().push((rank, provided));
        }
        let mut layer = Layer::default();
        let mut warnings = Vec::new();
        for (key, mut group) in grouped {
            // Canonical (rank 0) first, then the latest position.
            group
                .sort_by_key(|(rank, provided)| (*rank != 0, std::cmp::Reverse(provided.position)));
            let mut group = group.into_iter().map(|(_, provided)| provided);
            let Some(winner) = group.next() else {
                continue;
            };
            for loser in group {
                warnings.push((loser.position, conflict(&loser, &winner)));
            }
            layer.values.insert(key, winner);
        }
        (layer, warnings)
    }
}

/// The file layer, with warnings for duplicates, unknown keys and shadowed aliases.
fn file_layer(entries: &[properties::Entry], file: &str) -> (Layer, Vec<String>) {
    let mut warnings: Vec<(usize, String)> = Vec::new();
    let mut last: BTreeMap<&str, &properties::Entry> = BTreeMap::new();
    for entry in entries {
        if let Some(previous) = last.insert(&entry.key, entry) {
            warnings.push((
                entry.line,
                format!(
                    "{file}:{}: duplicate key \"{}\" overrides line {}",
                    entry.line, entry.key, previous.line
                ),
            ));
        }
    }

    let mut candidates = Vec::new();
    for entry in last.values() {
        match all_names().find(|(name, _, _)| *name == entry.key) {
            Some((via, spec, rank)) => candidates.push((
                spec,
                rank,
                Provided {
                    value: entry.value.clone(),
                    via,
                    name: entry.key.clone(),
                    location: format!("{file}:{}", entry.line),
                    position: entry.line,
                },
            )),
            None => {
                let hint = suggest(
                    &entry.key,
                    all_names().map(|(name, spec, _)| (name.to_owned(), spec.key)),
                )
                .map(|s| format!(" (did you mean \"{s}\"?)"))
                .unwrap_or_default();
                warnings.push((
                    entry.line,
                    format!("{file}:{}: unknown key \"{}\"{hint}", entry.line, entry.key),
                ));
            }
        }
    }
    let (layer, shadowed) = Layer::build(candidates, |loser, winner| {
        format!(
            "{}: {} is ignored: {} is also set (line {}) and takes precedence",
            loser.location, loser.name, winner.name, winner.position
        )
    });
    warnings.extend(shadowed);
    warnings.sort_by_key(|(line, _)| *line);
    (layer, warnings.into_iter().map(|(_, w)| w).collect())
}

/// The environment layer, with warnings for unknown `AUTHSERVER_*` variables.
fn env_layer(env: &[(String, String)], file: &str) -> (Layer, Vec<String>) {
    let names: BTreeMap<String, (&'static str, &'static KeySpec, usize)> = all_names()
        .map(|(name, spec, rank)| (env_var_name(name), (name, spec, rank)))
        .collect();
    let mut vars: Vec<(usize, &String, &String)> = env
        .iter()
        .enumerate()
        .filter(|(_, (var, _))| var.starts_with(ENV_PREFIX) && var != CONFIG_ENV)
        .map(|(position, (var, value))| (position, var, value))
        .collect();
    vars.sort_by(|a, b| a.1.cmp(b.1));

    let mut warnings = Vec::new();
    let mut candidates = Vec::new();
    for (position, var, value) in vars {
        match names.get(var.as_str()) {
            Some(&(via, spec, rank)) => candidates.push((
                spec,
                rank,
                Provided {
                    value: value.clone(),
                    via,
                    name: var.clone(),
                    location: format!("environment variable {var} (overrides {file})"),
                    position,
                },
            )),
            None => {
                let hint = suggest(
                    var,
                    names
                        .keys()
                        .map(|env_name| (env_name.clone(), env_name.as_str())),
                )
                .map(|s| {
                    // Suggest the canonical key's variable, not an alias's.
                    let canonical = names
                        .get(s)
                        .map_or(s.to_owned(), |(_, spec, _)| env_var_name(spec.key));
                    format!(" (did you mean \"{canonical}\"?)")
                })
                .unwrap_or_default();
                warnings.push(format!("unknown environment variable \"{var}\"{hint}"));
            }
        }
    }
    let (layer, shadowed) = Layer::build(candidates, |loser, winner| {
        format!(
            "environment variable {} is ignored: {} is also set and takes precedence",
            loser.name, winner.name
        )
    });
    warnings.extend(shadowed.into_iter().map(|(_, w)| w));
    (layer, warnings)
}

/// A merged value with where it came from (`None`: built-in default).
struct Raw<'a> {
    value: String,
    provided: Option<&'a Provided>,
}

impl Raw<'_> {
    fn trimmed(&self) -> &str {
        self.value.trim()
    }
}

/// Reads merged values and turns bad ones into errors naming key, file and expectation.
struct Reader<'a> {
    path: &'a Path,
    merged: config::Config,
    /// Highest precedence first.
    layers: [&'a Layer; 2],
}

impl<'a> Reader<'a> {
    fn get(&self, key: &'static str) -> Result<Option<Raw<'a>>, ConfigError> {
        match self.merged.get_string(key) {
            Ok(value) => Ok(Some(Raw {
                value,
                provided: self.layers.iter().find_map(|layer| layer.values.get(key)),
            })),
            Err(config::ConfigError::NotFound(_)) => Ok(None),
            Err(err) => Err(ConfigError::Merge {
                path: self.path.to_path_buf(),
                message: format!("{key}: {err}"),
            }),
        }
    }

    fn location(&self, key: &'static str, raw: &Raw<'_>) -> (String, String) {
        match raw.provided {
            Some(provided) => (provided.location.clone(), provided.via.to_owned()),
            None => (
                format!("{} (built-in default)", self.path.display()),
                key.to_owned(),
            ),
        }
    }

    fn invalid(
        &self,
        key: &'static str,
        raw: &Raw<'_>,
        expected: impl Into<String>,
    ) -> ConfigError {
        let (location, name) = self.location(key, raw);
        let value = if key_spec(key).is_some_and(|spec| spec.secret) {
            MASK.to_owned()
        } else {
            one_line(&raw.value)
        };
        ConfigError::Invalid {
            location,
            key: name,
            value,
            expected: expected.into(),
        }
    }

    fn invalid_entry(
        &self,
        key: &'static str,
        raw: &Raw<'_>,
        entry: &str,
        expected: impl Into<String>,
    ) -> ConfigError {
        let (location, name) = self.location(key, raw);
        ConfigError::InvalidEntry {
            location,
            key: name,
            entry: one_line(entry),
            expected: expected.into(),
        }
    }

    fn missing(&self, key: &'static str, expected: &str) -> ConfigError {
        ConfigError::Missing {
            path: self.path.to_path_buf(),
            key,
            expected: expected.to_owned(),
        }
    }

    /// Parses a set value; `parse` returns what was expected on failure.
    fn parse<T>(
        &self,
        key: &'static str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<Option<T>, ConfigError> {
        match self.get(key)? {
            None => Ok(None),
            Some(raw) => parse(raw.trimmed())
                .map(Some)
                .map_err(|expected| self.invalid(key, &raw, expected)),
        }
    }

    /// Like `parse`, for keys that always have a built-in default.
    fn defaulted<T>(
        &self,
        key: &'static str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<T, ConfigError> {
        self.parse(key, parse)?.ok_or_else(|| ConfigError::Merge {
            path: self.path.to_path_buf(),
            message: format!("{key}: the built-in default is missing"),
        })
    }

    fn duration(&self, key: &'static str) -> Result<u64, ConfigError> {
        self.defaulted(key, parse_duration)
    }

    fn boolean(&self, key: &'static str) -> Result<bool, ConfigError> {
        self.defaulted(key, parse_bool)
    }

    /// A trimmed string; empty counts as unset.
    fn optional(&self, key: &'static str) -> Result<Option<String>, ConfigError> {
        Ok(self
            .get(key)?
            .map(|raw| raw.trimmed().to_owned())
            .filter(|value| !value.is_empty()))
    }

    fn list(&self, key: &'static str) -> Result<Vec<String>, ConfigError> {
        Ok(self
            .get(key)?
            .map(|raw| split_list(&raw.value))
            .unwrap_or_default())
    }

    fn required_list(&self, key: &'static str, expected: &str) -> Result<Vec<String>, ConfigError> {
        let list = self.list(key)?;
        if list.is_empty() {
            return Err(self.missing(key, expected));
        }
        Ok(list)
    }

    fn networks(&self, key: &'static str) -> Result<Vec<IpNet>, ConfigError> {
        let Some(raw) = self.get(key)? else {
            return Ok(Vec::new());
        };
        split_list(&raw.value)
            .iter()
            .map(|entry| {
                parse_network(entry).ok_or_else(|| {
                    self.invalid_entry(
                        key,
                        &raw,
                        entry,
                        "an IP address or CIDR network such as 10.0.0.0/8 or ::1",
                    )
                })
            })
            .collect()
    }
}

/// Non-negative seconds, or a number with suffix `s`, `m`, `h` or `d`.
fn parse_duration(value: &str) -> Result<u64, String> {
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
fn parse_bool(value: &str) -> Result<bool, String> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" => Ok(true),
        "false" | "no" | "0" => Ok(false),
        _ => Err("true or false (also yes/no, 1/0)".to_owned()),
    }
}

/// Comma-separated, blanks trimmed, empty items dropped.
fn split_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A CIDR network, or a plain address as a single-host network.
fn parse_network(value: &str) -> Option<IpNet> {
    if let Ok(net) = value.parse::<IpNet>() {
        return Some(net.trunc());
    }
    let address = value.trim_start_matches('[').trim_end_matches(']');
    address.parse::<IpAddr>().ok().map(IpNet::from)
}

fn parse_address(value: &str) -> Result<IpAddr, String> {
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
fn parse_public_url(value: &str) -> Result<Url, String> {
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
fn parse_public_host(value: &str, https: bool) -> Result<Url, String> {
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

/// An absolute http(s) URL for the redirect whitelist; `Err` says why not.
fn check_redirect_entry(entry: &str) -> Result<(), String> {
    const EXPECTED: &str = "an absolute http or https URL such as https://app.example.com/callback";
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

fn parse_database_url(value: &str) -> Result<String, String> {
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

fn parse_pool_size(value: &str) -> Result<u32, String> {
    value
        .parse::<u32>()
        .ok()
        .filter(|&n| n >= 1)
        .ok_or_else(|| "a number of connections, at least 1".to_owned())
}

fn parse_algorithm(value: &str) -> Result<SigningAlgorithm, String> {
    SigningAlgorithm::from_name(value).ok_or_else(|| {
        let hint = SigningAlgorithm::ALL
            .into_iter()
            .find(|alg| alg.as_str().eq_ignore_ascii_case(value))
            .map(|alg| format!(" (names are case-sensitive: {alg})"))
            .unwrap_or_default();
        format!("one of RS256, PS256, ES256, EdDSA{hint}")
    })
}

fn parse_log_format(value: &str) -> Result<LogFormat, String> {
    match value.to_ascii_lowercase().as_str() {
        "text" => Ok(LogFormat::Text),
        "json" => Ok(LogFormat::Json),
        _ => Err("text or json".to_owned()),
    }
}

fn parse_level(value: &str) -> Result<String, String> {
    if value.is_empty() {
        Err("a log level such as info, debug or info,sqlx=warn".to_owned())
    } else {
        Ok(value.to_owned())
    }
}

/// The public URL rendered without the trailing slash `Url` puts on a bare root.
fn url_without_trailing_slash(url: &Url) -> &str {
    url.as_str().trim_end_matches('/')
}

/// The database URL with any password masked.
fn masked_database_url(raw: &str) -> String {
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
fn one_line(value: &str) -> String {
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

fn join<T: fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn display_path(path: Option<&PathBuf>) -> String {
    path.map(|p| p.display().to_string()).unwrap_or_default()
}

impl Settings {
    /// Reads and validates the properties file at `path`, then applies `env` overrides.
    pub fn load(path: &Path, env: &[(String, String)]) -> Result<Loaded, ConfigError> {
        let bytes = std::fs::read(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_str(&properties::decode(&bytes), path, env)
    }

    /// Validates properties `text` (`path` only names it in messages), then `env` overrides.
    pub fn from_str(
        text: &str,
        path: &Path,
        env: &[(String, String)],
    ) -> Result<Loaded, ConfigError> {
        let file = path.display().to_string();
        let entries = properties::parse(text).map_err(|err| ConfigError::Syntax {
            path: path.to_path_buf(),
            line: err.line,
            message: err.message,
        })?;
        let (file_layer, mut warnings) = file_layer(&entries, &file);
        let (env_layer, env_warnings) = env_layer(env, &file);
        warnings.extend(env_warnings);

        let merge_error = |err: config::ConfigError| ConfigError::Merge {
            path: path.to_path_buf(),
            message: err.to_string(),
        };
        let mut builder = config::Config::builder();
        for spec in KEYS {
            if let Some(default) = spec.default {
                builder = builder
                    .set_default(spec.key, default)
                    .map_err(merge_error)?;
            }
        }
        let merged = builder
            .add_source(file_layer.clone())
            .add_source(env_layer.clone())
            .build()
            .map_err(merge_error)?;

        let reader = Reader {
            path,
            merged,
            layers: [&env_layer, &file_layer],
        };
        let settings = Self::read(&reader, &mut warnings)?;
        Ok(Loaded { settings, warnings })
    }

    fn read(r: &Reader<'_>, warnings: &mut Vec<String>) -> Result<Self, ConfigError> {
        let file = r.path.display().to_string();

        let ssl = SslSettings {
            enabled: r.boolean("server.ssl.enabled")?,
            certificate: r.optional("server.ssl.certificate")?.map(PathBuf::from),
            key: r.optional("server.ssl.key")?.map(PathBuf::from),
        };
        if ssl.enabled {
            let missing: Vec<&str> = [
                ("server.ssl.certificate", ssl.certificate.is_none()),
                ("server.ssl.key", ssl.key.is_none()),
            ]
            .into_iter()
            .filter_map(|(key, missing)| missing.then_some(key))
            .collect();
            if !missing.is_empty() {
                return Err(ConfigError::Inconsistent {
                    path: r.path.to_path_buf(),
                    message: format!(
                        "server.ssl.enabled = true requires server.ssl.certificate and \
                         server.ssl.key (PEM files), but {} not set",
                        if missing.len() == 1 {
                            format!("{} is", missing.join(""))
                        } else {
                            format!("{} are", missing.join(" and "))
                        }
                    ),
                });
            }
        }

        let port = r.defaulted("server.port", |v| {
            v.parse::<u16>()
                .map_err(|_| "a port number from 0 to 65535".to_owned())
        })?;
        let public_url = match r.get("server.public.url")? {
            Some(raw) if raw.provided.is_some_and(|p| p.via == PUBLIC_HOST_ALIAS) => {
                parse_public_host(raw.trimmed(), ssl.enabled)
                    .map_err(|expected| r.invalid("server.public.url", &raw, expected))?
            }
            Some(raw) if !raw.trimmed().is_empty() => parse_public_url(raw.trimmed())
                .map_err(|expected| r.invalid("server.public.url", &raw, expected))?,
            _ => {
                let scheme = if ssl.enabled { "https" } else { "http" };
                Url::parse(&format!("{scheme}://localhost:{port}")).map_err(|err| {
                    ConfigError::Merge {
                        path: r.path.to_path_buf(),
                        message: format!("server.public.url: default: {err}"),
                    }
                })?
            }
        };
        if public_url.path().ends_with("/authentication") {
            warnings.push(format!(
                "{file}: server.public.url = \"{}\" ends with /authentication, which the \
                 issuer adds itself (issuer: {}/authentication)",
                url_without_trailing_slash(&public_url),
                url_without_trailing_slash(&public_url)
            ));
        }

        let server = ServerSettings {
            address: r.defaulted("server.address", parse_address)?,
            port,
            public_url,
            ssl,
            trusted_proxies: r.networks("server.trusted.proxies")?,
            metrics_allow: r.networks("server.metrics.allow")?,
        };

        let database = DatabaseSettings {
            url: r.defaulted("database.url", parse_database_url)?,
            max_connections: r.defaulted("database.pool.size", parse_pool_size)?,
        };

        let auth = Self::read_auth(r, warnings)?;

        let logging = LoggingSettings {
            format: r.defaulted("logging.format", parse_log_format)?,
            level: r.defaulted("logging.level", parse_level)?,
        };

        Ok(Settings {
            source: r.path.to_path_buf(),
            server,
            database,
            auth,
            logging,
        })
    }

    fn read_auth(r: &Reader<'_>, warnings: &mut Vec<String>) -> Result<AuthSettings, ConfigError> {
        let file = r.path.display().to_string();
        let client_ids = r.required_list(
            "authentication.client.ids",
            "a comma-separated list of allowed client IDs",
        )?;

        const WHITELIST: &str = "authentication.redirect.uri.whitelist";
        let redirect_whitelist = r.required_list(
            WHITELIST,
            "a comma-separated list of allowed redirect URLs (or their beginnings)",
        )?;
        if let Some(raw) = r.get(WHITELIST)? {
            for entry in &redirect_whitelist {
                check_redirect_entry(entry)
                    .map_err(|expected| r.invalid_entry(WHITELIST, &raw, entry, expected))?;
            }
        }

        const SECRET: &str = "authentication.client.secret";
        let secret_expected = "the shared secret clients send as X-Auth-Secret";
        let client_secret = match r.get(SECRET)? {
            Some(raw) if raw.trimmed().is_empty() => return Err(r.missing(SECRET, secret_expected)),
            Some(raw) if raw.trimmed().eq_ignore_ascii_case("CHANGE_ME") => {
                let (location, key) = r.location(SECRET, &raw);
                return Err(ConfigError::Invalid {
                    location,
                    key,
                    value: raw.trimmed().to_owned(),
                    expected: format!("{secret_expected}, not the placeholder CHANGE_ME"),
                });
            }
            Some(raw) => {
                if raw.trimmed() != raw.value {
                    let (location, key) = r.location(SECRET, &raw);
                    warnings.push(format!(
                        "{location}: {key} has leading or trailing whitespace, which is part \
                         of the secret"
                    ));
                }
                Secret::new(raw.value)
            }
            None => return Err(r.missing(SECRET, secret_expected)),
        };

        let permanent_clients = r.list("authentication.client.permanent")?;
        for client in &permanent_clients {
            if !client_ids.contains(client) {
                warnings.push(format!(
                    "{file}: authentication.client.permanent lists \"{client}\", which is not \
                     in authentication.client.ids, so it cannot get tokens"
                ));
            }
        }

        let auth = AuthSettings {
            client_ids,
            redirect_whitelist,
            client_secret,
            token_expiry: r.duration("authentication.token.expiry")?,
            permanent_clients,
            permanent_token_expiry: r.duration("authentication.permanent.token.expiry")?,
            code_expiry: r.duration("authentication.code.expiry")?,
            refresh_token_expiry: r.duration("authentication.refresh.token.expiry")?,
            sso_session_expiry: r.duration("authentication.sso.session.expiry")?,
            refresh_reuse_grace: r.duration("authentication.refresh.token.reuse.grace")?,
            signing_algorithm: r.defaulted("authentication.signing.algorithm", parse_algorithm)?,
            signing_key: r.optional("authentication.signing.key")?.map(PathBuf::from),
            signing_kid: r.optional("authentication.signing.kid")?,
            key_store: r
                .optional("authentication.server.key-store")?
                .map(PathBuf::from),
            key_store_password: r
                .get("authentication.server.key-store-password")?
                .filter(|raw| !raw.value.is_empty())
                .map(|raw| Secret::new(raw.value)),
            key_alias: r.optional("authentication.server.key-alias")?,
            login_banner_text: r.optional("authentication.login.banner.text")?,
        };
        for (key, seconds) in [
            ("authentication.token.expiry", auth.token_expiry),
            (
                "authentication.permanent.token.expiry",
                auth.permanent_token_expiry,
            ),
            ("authentication.code.expiry", auth.code_expiry),
            (
                "authentication.refresh.token.expiry",
                auth.refresh_token_expiry,
            ),
            ("authentication.sso.session.expiry", auth.sso_session_expiry),
        ] {
            if seconds == 0 {
                warnings.push(format!(
                    "{file}: {key} is 0: everything it governs expires immediately"
                ));
            }
        }
        Ok(auth)
    }

    /// The OpenID issuer: the public URL + `/authentication`, no trailing slash.
    pub fn issuer(&self) -> String {
        format!(
            "{}/authentication",
            url_without_trailing_slash(&self.server.public_url)
        )
    }

    /// Whether `client_id` gets the permanent token lifetime.
    pub fn is_permanent_client(&self, client_id: &str) -> bool {
        self.auth.permanent_clients.iter().any(|c| c == client_id)
    }

    /// Whether `client_id` is one of `authentication.client.ids`.
    pub fn is_allowed_client(&self, client_id: &str) -> bool {
        self.auth.client_ids.iter().any(|c| c == client_id)
    }

    /// Every effective setting, canonical key first, secrets masked.
    fn effective(&self) -> Vec<(&'static str, String)> {
        let (server, auth) = (&self.server, &self.auth);
        let secret = |s: Option<&Secret>| s.map(ToString::to_string).unwrap_or_default();
        vec![
            ("server.address", server.address.to_string()),
            ("server.port", server.port.to_string()),
            (
                "server.public.url",
                url_without_trailing_slash(&server.public_url).to_owned(),
            ),
            ("server.ssl.enabled", server.ssl.enabled.to_string()),
            (
                "server.ssl.certificate",
                display_path(server.ssl.certificate.as_ref()),
            ),
            ("server.ssl.key", display_path(server.ssl.key.as_ref())),
            ("server.trusted.proxies", join(&server.trusted_proxies)),
            ("server.metrics.allow", join(&server.metrics_allow)),
            ("database.url", masked_database_url(&self.database.url)),
            (
                "database.pool.size",
                self.database.max_connections.to_string(),
            ),
            ("authentication.client.ids", auth.client_ids.join(", ")),
            (
                "authentication.redirect.uri.whitelist",
                auth.redirect_whitelist.join(", "),
            ),
            (
                "authentication.client.secret",
                auth.client_secret.to_string(),
            ),
            ("authentication.token.expiry", auth.token_expiry.to_string()),
            (
                "authentication.client.permanent",
                auth.permanent_clients.join(", "),
            ),
            (
                "authentication.permanent.token.expiry",
                auth.permanent_token_expiry.to_string(),
            ),
            ("authentication.code.expiry", auth.code_expiry.to_string()),
            (
                "authentication.refresh.token.expiry",
                auth.refresh_token_expiry.to_string(),
            ),
            (
                "authentication.sso.session.expiry",
                auth.sso_session_expiry.to_string(),
            ),
            (
                "authentication.refresh.token.reuse.grace",
                auth.refresh_reuse_grace.to_string(),
            ),
            (
                "authentication.signing.algorithm",
                auth.signing_algorithm.to_string(),
            ),
            (
                "authentication.signing.key",
                display_path(auth.signing_key.as_ref()),
            ),
            (
                "authentication.signing.kid",
                auth.signing_kid.clone().unwrap_or_default(),
            ),
            (
                "authentication.server.key-store",
                display_path(auth.key_store.as_ref()),
            ),
            (
                "authentication.server.key-store-password",
                secret(auth.key_store_password.as_ref()),
            ),
            (
                "authentication.server.key-alias",
                auth.key_alias.clone().unwrap_or_default(),
            ),
            (
                "authentication.login.banner.text",
                auth.login_banner_text.clone().unwrap_or_default(),
            ),
            ("logging.format", self.logging.format.to_string()),
            ("logging.level", self.logging.level.clone()),
        ]
    }

    /// Every effective setting as `key = value` lines (canonical keys, secrets masked).
    pub fn report(&self) -> String {
        self.effective()
            .into_iter()
            .map(|(key, value)| format!("{key} = {}\n", one_line(&value)))
            .collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    /// The three required keys, on lines 1-3.
    const BASE: &str = "authentication.client.ids = app, cli\n\
                        authentication.redirect.uri.whitelist = https://app.example.com/cb\n\
                        authentication.client.secret = s3cret\n";

    fn path() -> &'static Path {
        Path::new("authserver.properties")
    }

    fn env_vec(env: &[(&str, &str)]) -> Vec<(String, String)> {
        env.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn try_load_env(text: &str, env: &[(&str, &str)]) -> Result<Loaded, ConfigError> {
        Settings::from_str(text, path(), &env_vec(env))
    }

    /// BASE + `extra` (which starts on line 4).
    fn load(extra: &str) -> Loaded {
        try_load_env(&format!("{BASE}{extra}"), &[]).unwrap()
    }

    fn settings(extra: &str) -> Settings {
        load(extra).settings
    }

    fn load_env(extra: &str, env: &[(&str, &str)]) -> Loaded {
        try_load_env(&format!("{BASE}{extra}"), env).unwrap()
    }

    fn error(extra: &str) -> String {
        error_text(&format!("{BASE}{extra}"))
    }

    fn error_text(text: &str) -> String {
        let err = try_load_env(text, &[]).unwrap_err();
        let message = err.to_string();
        assert!(!message.contains('\n'), "not one line: {message}");
        message
    }

    #[test]
    fn defaults_apply_when_only_required_keys_are_set() {
        let loaded = load("");
        assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
        let s = loaded.settings;
        assert_eq!(s.source, PathBuf::from("authserver.properties"));
        assert_eq!(s.server.address, IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(s.server.port, 8555);
        assert_eq!(s.server.public_url.as_str(), "http://localhost:8555/");
        assert_eq!(s.issuer(), "http://localhost:8555/authentication");
        assert!(!s.server.ssl.enabled);
        assert_eq!(s.server.ssl.certificate, None);
        assert_eq!(s.server.ssl.key, None);
        assert!(s.server.trusted_proxies.is_empty());
        assert_eq!(
            s.server.metrics_allow,
            vec![
                "127.0.0.0/8".parse::<IpNet>().unwrap(),
                "::1/128".parse().unwrap()
            ]
        );
        assert_eq!(s.database.url, "sqlite://authserver.db");
        assert_eq!(s.database.max_connections, 8);
        let a = &s.auth;
        assert_eq!(a.client_ids, vec!["app", "cli"]);
        assert_eq!(a.redirect_whitelist, vec!["https://app.example.com/cb"]);
        assert_eq!(a.client_secret.expose(), "s3cret");
        assert_eq!(a.token_expiry, 900);
        assert!(a.permanent_clients.is_empty());
        assert_eq!(a.permanent_token_expiry, 630_720_000);
        assert_eq!(a.code_expiry, 60);
        assert_eq!(a.refresh_token_expiry, 1_209_600);
        assert_eq!(a.sso_session_expiry, 604_800);
        assert_eq!(a.refresh_reuse_grace, 30);
        assert_eq!(a.signing_algorithm, SigningAlgorithm::RS256);
        assert_eq!(a.signing_key, None);
        assert_eq!(a.signing_kid, None);
        assert_eq!(a.key_store, None);
        assert!(a.key_store_password.is_none());
        assert_eq!(a.key_alias, None);
        assert_eq!(a.login_banner_text, None);
        assert_eq!(s.logging.format, LogFormat::Text);
        assert_eq!(s.logging.level, "info");
    }

    #[test]
    fn every_key_is_read_from_the_file() {
        let s = settings(
            "server.address = 0.0.0.0\n\
             server.port = 9443\n\
             server.public.url = https://auth.example.com/base/\n\
             server.ssl.enabled = true\n\
             server.ssl.certificate = /tls/cert.pem\n\
             server.ssl.key = /tls/key.pem\n\
             server.trusted.proxies = 10.0.0.0/8, 192.168.1.7\n\
             server.metrics.allow = 10.1.0.0/16\n\
             database.url = sqlite:///var/lib/authserver/db.sqlite\n\
             database.pool.size = 16\n\
             authentication.client.permanent = cli\n\
             authentication.token.expiry = 15m\n\
             authentication.permanent.token.expiry = 3650d\n\
             authentication.code.expiry = 30s\n\
             authentication.refresh.token.expiry = 14d\n\
             authentication.sso.session.expiry = 12h\n\
             authentication.refresh.token.reuse.grace = 5\n\
             authentication.signing.algorithm = EdDSA\n\
             authentication.signing.key = /keys/signing.pem\n\
             authentication.signing.kid = legacy-kid\n\
             authentication.server.key-store = /keys/store.p12\n\
             authentication.server.key-store-password = storepass\n\
             authentication.server.key-alias = twc\n\
             authentication.login.banner.text = Authorized use only.\n\
             logging.format = json\n\
             logging.level = debug,sqlx=warn\n",
        );
        assert_eq!(s.server.address, "0.0.0.0".parse::<IpAddr>().unwrap());
        assert_eq!(s.server.port, 9443);
        assert_eq!(
            s.server.public_url.as_str(),
            "https://auth.example.com/base"
        );
        assert_eq!(s.issuer(), "https://auth.example.com/base/authentication");
        assert!(s.server.ssl.enabled);
        assert_eq!(
            s.server.ssl.certificate,
            Some(PathBuf::from("/tls/cert.pem"))
        );
        assert_eq!(s.server.ssl.key, Some(PathBuf::from("/tls/key.pem")));
        assert_eq!(
            s.server.trusted_proxies,
            vec![
                "10.0.0.0/8".parse::<IpNet>().unwrap(),
                "192.168.1.7/32".parse().unwrap()
            ]
        );
        assert_eq!(s.server.metrics_allow, vec!["10.1.0.0/16".parse().unwrap()]);
        assert_eq!(s.database.url, "sqlite:///var/lib/authserver/db.sqlite");
        assert_eq!(s.database.max_connections, 16);
        let a = &s.auth;
        assert_eq!(a.permanent_clients, vec!["cli"]);
        assert_eq!(a.token_expiry, 900);
        assert_eq!(a.permanent_token_expiry, 3650 * 86_400);
        assert_eq!(a.code_expiry, 30);
        assert_eq!(a.refresh_token_expiry, 14 * 86_400);
        assert_eq!(a.sso_session_expiry, 12 * 3600);
        assert_eq!(a.refresh_reuse_grace, 5);
        assert_eq!(a.signing_algorithm, SigningAlgorithm::EdDSA);
        assert_eq!(a.signing_key, Some(PathBuf::from("/keys/signing.pem")));
        assert_eq!(a.signing_kid.as_deref(), Some("legacy-kid"));
        assert_eq!(a.key_store, Some(PathBuf::from("/keys/store.p12")));
        assert_eq!(
            a.key_store_password.as_ref().map(Secret::expose),
            Some("storepass")
        );
        assert_eq!(a.key_alias.as_deref(), Some("twc"));
        assert_eq!(a.login_banner_text.as_deref(), Some("Authorized use only."));
        assert_eq!(s.logging.format, LogFormat::Json);
        assert_eq!(s.logging.level, "debug,sqlx=warn");
        assert!(s.is_permanent_client("cli"));
        assert!(!s.is_permanent_client("app"));
        assert!(s.is_allowed_client("app"));
        assert!(!s.is_allowed_client("App"));
    }

    #[test]
    fn the_shipped_development_file_loads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("authserver.properties");
        if path.exists() {
            let loaded = Settings::load(&path, &[]).unwrap();
            assert!(!loaded.settings.auth.client_ids.is_empty());
        }
    }

    #[test]
    fn full_java_syntax_reaches_the_settings() {
        let text = "! Teamwork Cloud style\r\n\
                    authentication.client.ids : app,\\\r\n      cli , \r\n\
                    authentication.redirect.uri.whitelist https://app.example.com/cb\r\n\
                    authentication.client.secret=s3\\u0063ret\r\n\
                    authentication.login.banner.text = Caf\\u00e9\\tcrew\n";
        let s = try_load_env(text, &[]).unwrap().settings;
        assert_eq!(s.auth.client_ids, vec!["app", "cli"]);
        assert_eq!(s.auth.client_secret.expose(), "s3cret");
        assert_eq!(s.auth.login_banner_text.as_deref(), Some("Café\tcrew"));
    }

    /// (alias, value, how to read the canonical field back).
    type AliasCase = (&'static str, &'static str, fn(&Settings) -> String);

    fn alias_cases() -> Vec<AliasCase> {
        vec![
            ("authentication.token.expirity", "120", |s| {
                s.auth.token_expiry.to_string()
            }),
            ("authentication.token.ttl", "120", |s| {
                s.auth.token_expiry.to_string()
            }),
            ("authentication.client.unlimited", "cli", |s| {
                s.auth.permanent_clients.join(",")
            }),
            ("authentication.unlimited.token.expirity", "120", |s| {
                s.auth.permanent_token_expiry.to_string()
            }),
            ("authentication.unlimited.token.ttl", "120", |s| {
                s.auth.permanent_token_expiry.to_string()
            }),
            ("authentication.code.token.expirity", "120", |s| {
                s.auth.code_expiry.to_string()
            }),
            ("authentication.code.token.ttl", "120", |s| {
                s.auth.code_expiry.to_string()
            }),
            ("authentication.refresh.token.expirity", "120", |s| {
                s.auth.refresh_token_expiry.to_string()
            }),
            ("authentication.refresh.token.ttl", "120", |s| {
                s.auth.refresh_token_expiry.to_string()
            }),
            ("authentication.sso.token.expirity", "120", |s| {
                s.auth.sso_session_expiry.to_string()
            }),
            ("classification.loginbannertext", "cli", |s| {
                s.auth.login_banner_text.clone().unwrap_or_default()
            }),
            ("server.public.host", "cli", |s| {
                s.server
                    .public_url
                    .host_str()
                    .unwrap_or_default()
                    .to_owned()
            }),
        ]
    }

    #[test]
    fn every_alias_sets_its_canonical_key() {
        let cases = alias_cases();
        let table_aliases: Vec<&str> = KEYS
            .iter()
            .flat_map(|s| s.aliases.iter().copied())
            .collect();
        assert_eq!(cases.len(), table_aliases.len());
        for (alias, value, read) in cases {
            assert!(table_aliases.contains(&alias), "{alias}");
            let loaded = load(&format!("{alias} = {value}\n"));
            assert!(loaded.warnings.is_empty(), "{alias}: {:?}", loaded.warnings);
            assert_eq!(read(&loaded.settings), value, "{alias}");
        }
    }

    #[test]
    fn every_alias_works_from_the_environment() {
        for (alias, value, read) in alias_cases() {
            let var = env_var_name(alias);
            let loaded = load_env("", &[(var.as_str(), value)]);
            assert!(loaded.warnings.is_empty(), "{alias}: {:?}", loaded.warnings);
            assert_eq!(read(&loaded.settings), value, "{var}");
        }
    }

    #[test]
    fn canonical_key_beats_its_alias_with_a_warning() {
        let loaded = load(
            "authentication.token.ttl = 60\n\
             authentication.token.expiry = 300\n\
             authentication.token.expirity = 120\n",
        );
        assert_eq!(loaded.settings.auth.token_expiry, 300);
        assert_eq!(loaded.warnings.len(), 2, "{:?}", loaded.warnings);
        assert!(loaded.warnings[0]
            .starts_with("authserver.properties:4: authentication.token.ttl is ignored"));
        assert!(loaded.warnings[0].contains("authentication.token.expiry"));
        assert!(loaded.warnings[1]
            .starts_with("authserver.properties:6: authentication.token.expirity is ignored"));
    }

    #[test]
    fn of_two_aliases_the_later_one_wins_with_a_warning() {
        let loaded = load("authentication.token.ttl = 60\nauthentication.token.expirity = 120\n");
        assert_eq!(loaded.settings.auth.token_expiry, 120);
        assert_eq!(loaded.warnings.len(), 1);
        assert!(loaded.warnings[0].contains(":4: authentication.token.ttl is ignored"));
    }

    #[test]
    fn canonical_public_url_beats_public_host() {
        let loaded = load("server.public.host = other.example.com\nserver.public.url = https://auth.example.com\n");
        assert_eq!(
            loaded.settings.issuer(),
            "https://auth.example.com/authentication"
        );
        assert_eq!(loaded.warnings.len(), 1);
        assert!(loaded.warnings[0].contains("server.public.host is ignored"));
    }

    #[test]
    fn public_host_takes_its_scheme_from_ssl() {
        let s = settings("server.public.host = auth.example.com:8443\n");
        assert_eq!(s.issuer(), "http://auth.example.com:8443/authentication");
        let s = settings(
            "server.public.host = auth.example.com\nserver.ssl.enabled = true\n\
             server.ssl.certificate = c.pem\nserver.ssl.key = k.pem\n",
        );
        assert_eq!(s.issuer(), "https://auth.example.com/authentication");
        let s = settings("server.public.host = [::1]:9000\n");
        assert_eq!(s.issuer(), "http://[::1]:9000/authentication");
    }

    #[test]
    fn public_host_refuses_a_url() {
        let message = error("server.public.host = https://auth.example.com/x\n");
        assert!(message.starts_with("authserver.properties:4: server.public.host = \"https://auth.example.com/x\": expected a host name"), "{message}");
    }

    #[test]
    fn default_public_url_follows_port_and_ssl() {
        let s = settings("server.port = 9000\n");
        assert_eq!(s.issuer(), "http://localhost:9000/authentication");
        let s = settings(
            "server.port = 9443\nserver.ssl.enabled = yes\nserver.ssl.certificate = c.pem\n\
             server.ssl.key = k.pem\n",
        );
        assert_eq!(s.issuer(), "https://localhost:9443/authentication");
    }

    #[test]
    fn public_url_loses_trailing_slashes_and_refuses_query_fragment_and_other_schemes() {
        let s = settings("server.public.url = https://auth.example.com/\n");
        assert_eq!(s.issuer(), "https://auth.example.com/authentication");
        let s = settings("server.public.url = https://auth.example.com/idp//\n");
        assert_eq!(s.server.public_url.as_str(), "https://auth.example.com/idp");
        for bad in [
            "https://auth.example.com/?x=1",
            "https://auth.example.com/#top",
            "ftp://auth.example.com",
            "auth.example.com",
            "https://user:pw@auth.example.com",
        ] {
            let message = error(&format!("server.public.url = {bad}\n"));
            assert!(
                message.starts_with(&format!(
                    "authserver.properties:4: server.public.url = \"{bad}\": expected an absolute http or https URL"
                )),
                "{message}"
            );
        }
    }

    #[test]
    fn public_url_ending_in_authentication_warns() {
        let loaded = load("server.public.url = https://x.example.com/authentication\n");
        assert_eq!(loaded.warnings.len(), 1);
        assert!(loaded.warnings[0].contains("ends with /authentication"));
    }

    #[test]
    fn environment_overrides_the_file() {
        let loaded = load_env(
            "server.port = 9000\nauthentication.token.expiry = 100\n",
            &[
                ("AUTHSERVER_SERVER_PORT", "9100"),
                ("AUTHSERVER_AUTHENTICATION_CLIENT_SECRET", "from-env"),
                ("AUTHSERVER_AUTHENTICATION_CLIENT_IDS", "x,y"),
                (
                    "AUTHSERVER_AUTHENTICATION_SERVER_KEY_STORE",
                    "/env/store.p12",
                ),
                ("AUTHSERVER_AUTHENTICATION_SERVER_KEY_STORE_PASSWORD", "pw"),
                ("AUTHSERVER_CONFIG", "/etc/authserver.properties"),
                ("HOME", "/root"),
                ("PATH", "/bin"),
            ],
        );
        assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
        let s = loaded.settings;
        assert_eq!(s.server.port, 9100);
        assert_eq!(s.auth.token_expiry, 100);
        assert_eq!(s.auth.client_secret.expose(), "from-env");
        assert_eq!(s.auth.client_ids, vec!["x", "y"]);
        assert_eq!(s.auth.key_store, Some(PathBuf::from("/env/store.p12")));
        assert_eq!(
            s.auth.key_store_password.as_ref().map(Secret::expose),
            Some("pw")
        );
    }

    #[test]
    fn an_environment_alias_beats_the_files_canonical_key() {
        let loaded = load_env(
            "authentication.token.expiry = 100\n",
            &[("AUTHSERVER_AUTHENTICATION_TOKEN_TTL", "200")],
        );
        assert_eq!(loaded.settings.auth.token_expiry, 200);
    }

    #[test]
    fn environment_canonical_beats_environment_alias() {
        let loaded = load_env(
            "",
            &[
                ("AUTHSERVER_AUTHENTICATION_TOKEN_TTL", "200"),
                ("AUTHSERVER_AUTHENTICATION_TOKEN_EXPIRY", "300"),
            ],
        );
        assert_eq!(loaded.settings.auth.token_expiry, 300);
        assert_eq!(loaded.warnings.len(), 1);
        assert!(
            loaded.warnings[0].starts_with(
                "environment variable AUTHSERVER_AUTHENTICATION_TOKEN_TTL is ignored: \
             AUTHSERVER_AUTHENTICATION_TOKEN_EXPIRY is also set and takes precedence"
            ),
            "{:?}",
            loaded.warnings
        );
    }

    #[test]
    fn environment_supplies_required_keys_missing_from_the_file() {
        let loaded = try_load_env(
            "",
            &[
                ("AUTHSERVER_AUTHENTICATION_CLIENT_IDS", "a"),
                (
                    "AUTHSERVER_AUTHENTICATION_REDIRECT_URI_WHITELIST",
                    "https://a.example/",
                ),
                ("AUTHSERVER_AUTHENTICATION_CLIENT_SECRET", "x"),
            ],
        )
        .unwrap();
        assert_eq!(loaded.settings.auth.client_ids, vec!["a"]);
    }

    #[test]
    fn bad_environment_value_names_the_variable_key_and_file() {
        let err =
            try_load_env(BASE, &[("AUTHSERVER_AUTHENTICATION_TOKEN_EXPIRY", "abc")]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "environment variable AUTHSERVER_AUTHENTICATION_TOKEN_EXPIRY (overrides authserver.properties): \
             authentication.token.expiry = \"abc\": expected a duration in seconds (or 15m, 12h, 7d)"
        );
    }

    #[test]
    fn unknown_key_warns_with_line_and_suggestion() {
        let loaded = load("\n\n# x\nauthentication.client.id = a\nfoo.bar = 1\n");
        assert_eq!(
            loaded.warnings,
            vec![
                "authserver.properties:7: unknown key \"authentication.client.id\" (did you mean \"authentication.client.ids\"?)",
                "authserver.properties:8: unknown key \"foo.bar\"",
            ]
        );
    }

    #[test]
    fn misspelled_alias_suggests_the_canonical_key() {
        let loaded = load("authentication.token.expirty = 5\nServer.Port = 1\n");
        assert_eq!(
            loaded.warnings,
            vec![
                "authserver.properties:4: unknown key \"authentication.token.expirty\" (did you mean \"authentication.token.expiry\"?)",
                "authserver.properties:5: unknown key \"Server.Port\" (did you mean \"server.port\"?)",
            ]
        );
    }

    #[test]
    fn unknown_environment_variable_warns_with_suggestion() {
        let loaded = load_env(
            "",
            &[
                ("AUTHSERVER_AUTHENTICATION_CLIENT_ID", "a"),
                ("AUTHSERVER_ZZZ", "1"),
                ("AUTHSERVER_CONFIG", "x"),
            ],
        );
        assert_eq!(
            loaded.warnings,
            vec![
                "unknown environment variable \"AUTHSERVER_AUTHENTICATION_CLIENT_ID\" (did you mean \"AUTHSERVER_AUTHENTICATION_CLIENT_IDS\"?)",
                "unknown environment variable \"AUTHSERVER_ZZZ\"",
            ]
        );
    }

    #[test]
    fn duplicate_key_later_wins_with_a_warning() {
        let loaded = load("server.port = 1\nserver.port = 2\n");
        assert_eq!(loaded.settings.server.port, 2);
        assert_eq!(
            loaded.warnings,
            vec!["authserver.properties:5: duplicate key \"server.port\" overrides line 4"]
        );
    }

    #[test]
    fn missing_required_keys_are_errors() {
        let only = |skip: usize| -> String {
            BASE.lines()
                .enumerate()
                .filter(|(i, _)| *i != skip)
                .map(|(_, l)| format!("{l}\n"))
                .collect()
        };
        assert_eq!(
            error_text(&only(0)),
            "authserver.properties: authentication.client.ids is missing or empty: expected a comma-separated list of allowed client IDs"
        );
        assert!(error_text(&only(1)).starts_with(
            "authserver.properties: authentication.redirect.uri.whitelist is missing or empty"
        ));
        assert!(error_text(&only(2)).starts_with(
            "authserver.properties: authentication.client.secret is missing or empty"
        ));
        // Set but empty (blanks and commas only) is just as missing.
        assert!(error("authentication.client.ids = , ,\n")
            .starts_with("authserver.properties: authentication.client.ids is missing or empty"));
        assert!(error("authentication.client.secret =\n").starts_with(
            "authserver.properties: authentication.client.secret is missing or empty"
        ));
    }

    #[test]
    fn malformed_whitelist_entry_is_an_error_naming_it() {
        let message =
            error("authentication.redirect.uri.whitelist = https://ok.example/cb, /relative/cb\n");
        assert!(
            message.starts_with(
                "authserver.properties:4: authentication.redirect.uri.whitelist: entry \"/relative/cb\": expected an absolute http or https URL"
            ),
            "{message}"
        );
        for bad in [
            "ftp://files.example.com/",
            "javascript:alert(1)",
            "https://u:p@x.example/",
            "https://x.example/#f",
        ] {
            let message = error(&format!("authentication.redirect.uri.whitelist = {bad}\n"));
            assert!(message.contains(&format!("entry \"{bad}\"")), "{message}");
        }
    }

    #[test]
    fn whitelist_accepts_url_beginnings() {
        let s = settings(
            "authentication.redirect.uri.whitelist = https://app.example.com, \\\n  http://127.0.0.1/cb,http://localhost:8080/x?\n",
        );
        assert_eq!(s.auth.redirect_whitelist.len(), 3);
    }

    #[test]
    fn non_numeric_duration_is_an_error_naming_key_and_file() {
        assert_eq!(
            error("authentication.token.expiry = abc\n"),
            "authserver.properties:4: authentication.token.expiry = \"abc\": expected a duration in seconds (or 15m, 12h, 7d)"
        );
        // Through an alias, the alias is named.
        assert!(error("authentication.token.ttl = 5x\n").starts_with(
            "authserver.properties:4: authentication.token.ttl = \"5x\": expected a duration"
        ));
    }

    #[test]
    fn durations_accept_seconds_and_suffixes_only() {
        for (text, seconds) in [
            ("0", 0),
            ("45", 45),
            ("30s", 30),
            ("15m", 900),
            ("12h", 43_200),
            ("7d", 604_800),
            ("  60  ", 60),
        ] {
            assert_eq!(parse_duration(text.trim()), Ok(seconds), "{text}");
        }
        for bad in [
            "",
            "-1",
            "1.5",
            "15M",
            "m",
            "1 m",
            "1e3",
            "+5",
            "99999999999999999999",
            "40000d",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert!(
            error("authentication.code.expiry = 40000d\n").contains("at most 3153600000 seconds")
        );
    }

    #[test]
    fn zero_lifetime_warns() {
        let loaded = load("authentication.code.expiry = 0\n");
        assert_eq!(loaded.settings.auth.code_expiry, 0);
        assert_eq!(loaded.warnings.len(), 1);
        assert!(loaded.warnings[0].contains("authentication.code.expiry is 0"));
    }

    #[test]
    fn bad_port_is_an_error() {
        for bad in ["70000", "abc", "-1", ""] {
            assert_eq!(
                error(&format!("server.port = {bad}\n")),
                format!("authserver.properties:4: server.port = \"{bad}\": expected a port number from 0 to 65535")
            );
        }
        assert_eq!(settings("server.port = 0\n").server.port, 0);
    }

    #[test]
    fn booleans_accept_true_false_yes_no_one_zero() {
        for (text, value) in [
            ("true", true),
            ("TRUE", true),
            ("Yes", true),
            ("1", true),
            ("false", false),
            ("no", false),
            ("0", false),
        ] {
            assert_eq!(parse_bool(text), Ok(value), "{text}");
        }
        assert_eq!(
            error("server.ssl.enabled = maybe\n"),
            "authserver.properties:4: server.ssl.enabled = \"maybe\": expected true or false (also yes/no, 1/0)"
        );
    }

    #[test]
    fn change_me_secret_is_refused() {
        assert_eq!(
            error("authentication.client.secret = CHANGE_ME\n"),
            "authserver.properties:4: authentication.client.secret = \"CHANGE_ME\": expected the shared secret clients send as X-Auth-Secret, not the placeholder CHANGE_ME"
        );
        let err = try_load_env(
            BASE,
            &[("AUTHSERVER_AUTHENTICATION_CLIENT_SECRET", "CHANGE_ME")],
        )
        .unwrap_err();
        assert!(err
            .to_string()
            .starts_with("environment variable AUTHSERVER_AUTHENTICATION_CLIENT_SECRET"));
    }

    #[test]
    fn secret_whitespace_is_kept_with_a_warning() {
        let text = BASE.replace("= s3cret", "= abc  ");
        let loaded = try_load_env(&text, &[]).unwrap();
        assert_eq!(loaded.settings.auth.client_secret.expose(), "abc  ");
        assert_eq!(loaded.warnings.len(), 1, "{:?}", loaded.warnings);
        assert!(!loaded.warnings[0].contains("abc"));
    }

    #[test]
    fn ssl_enabled_without_certificate_or_key_is_an_error() {
        assert_eq!(
            error("server.ssl.enabled = true\n"),
            "authserver.properties: server.ssl.enabled = true requires server.ssl.certificate and server.ssl.key (PEM files), but server.ssl.certificate and server.ssl.key are not set"
        );
        assert!(error("server.ssl.enabled = true\nserver.ssl.key = k.pem\n")
            .ends_with("but server.ssl.certificate is not set"));
        assert!(
            error("server.ssl.enabled = true\nserver.ssl.certificate = c.pem\n")
                .ends_with("but server.ssl.key is not set")
        );
        // Files without enabling ssl are fine (kept, unused).
        let s = settings("server.ssl.certificate = c.pem\n");
        assert!(!s.server.ssl.enabled);
    }

    #[test]
    fn bad_address_networks_database_and_enums_are_errors() {
        assert!(error("server.address = example.com\n").starts_with(
            "authserver.properties:4: server.address = \"example.com\": expected an IP address"
        ));
        assert_eq!(
            settings("server.address = ::\n").server.address,
            "::".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            settings("server.address = [::1]\n").server.address,
            "::1".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            error("server.trusted.proxies = 10.0.0.0/8, 10.0.0.0/33\n"),
            "authserver.properties:4: server.trusted.proxies: entry \"10.0.0.0/33\": expected an IP address or CIDR network such as 10.0.0.0/8 or ::1"
        );
        assert!(error("server.metrics.allow = localhost\n").contains("entry \"localhost\""));
        assert!(error("database.url = mysql://x/y\n").starts_with(
            "authserver.properties:4: database.url = \"mysql://x/y\": expected a database URL"
        ));
        assert!(error("database.url = sqlite:\n").contains("expected a database URL"));
        assert_eq!(
            settings("database.url = postgres://u@h/db\n").database.url,
            "postgres://u@h/db"
        );
        assert_eq!(
            settings("database.url = sqlite::memory:\n").database.url,
            "sqlite::memory:"
        );
        assert!(error("database.pool.size = 0\n").contains("expected a number of connections"));
        assert_eq!(
            error("authentication.signing.algorithm = HS256\n"),
            "authserver.properties:4: authentication.signing.algorithm = \"HS256\": expected one of RS256, PS256, ES256, EdDSA"
        );
        assert!(error("authentication.signing.algorithm = eddsa\n")
            .ends_with("(names are case-sensitive: EdDSA)"));
        assert!(error("logging.format = xml\n").ends_with("expected text or json"));
        assert!(error("logging.level =\n").contains("expected a log level"));
    }

    #[test]
    fn every_signing_algorithm_parses() {
        for alg in SigningAlgorithm::ALL {
            let s = settings(&format!("authentication.signing.algorithm = {alg}\n"));
            assert_eq!(s.auth.signing_algorithm, alg);
        }
        assert!(SigningAlgorithm::PS256.is_rsa());
        assert!(!SigningAlgorithm::ES256.is_rsa());
    }

    #[test]
    fn networks_accept_plain_addresses_and_an_empty_list() {
        let s = settings("server.metrics.allow =\nserver.trusted.proxies = ::1, 10.1.2.3/8 ,\n");
        assert!(s.server.metrics_allow.is_empty());
        assert_eq!(
            s.server.trusted_proxies,
            vec![
                "::1/128".parse::<IpNet>().unwrap(),
                "10.0.0.0/8".parse().unwrap()
            ]
        );
    }

    #[test]
    fn lists_trim_blanks_and_drop_empty_items() {
        assert_eq!(split_list(" a ,b,, ,\tc\t, "), vec!["a", "b", "c"]);
        assert!(split_list("").is_empty());
    }

    #[test]
    fn permanent_client_not_allowed_warns() {
        let loaded = load("authentication.client.permanent = cli, ghost\n");
        assert_eq!(loaded.settings.auth.permanent_clients, vec!["cli", "ghost"]);
        assert_eq!(loaded.warnings.len(), 1);
        assert!(loaded.warnings[0].contains("\"ghost\""));
    }

    #[test]
    fn empty_optional_values_are_none() {
        let s = settings(
            "authentication.login.banner.text =   \nauthentication.signing.kid =\n\
             authentication.server.key-store-password =\n",
        );
        assert_eq!(s.auth.login_banner_text, None);
        assert_eq!(s.auth.signing_kid, None);
        assert!(s.auth.key_store_password.is_none());
    }

    #[test]
    fn syntax_error_names_file_and_line() {
        assert_eq!(
            error("a = 1\nauthentication.login.banner.text = \\u00zz\n"),
            "authserver.properties:5: malformed \\uXXXX escape \"\\u00zz\": expected 4 hexadecimal digits"
        );
    }

    #[test]
    fn unreadable_file_error() {
        let err = Settings::load(Path::new("./does-not-exist.properties"), &[]).unwrap_err();
        assert!(matches!(err, ConfigError::Read { .. }));
        assert!(err
            .to_string()
            .starts_with("cannot read config file ./does-not-exist.properties: "));
    }

    #[test]
    fn load_reads_latin1_files() {
        let dir =
            std::env::temp_dir().join(format!("authserver-config-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("latin1.properties");
        let mut bytes = BASE.as_bytes().to_vec();
        bytes.extend_from_slice(b"authentication.login.banner.text = Caf\xE9\n");
        std::fs::write(&file, bytes).unwrap();
        let loaded = Settings::load(&file, &[]).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            loaded.settings.auth.login_banner_text.as_deref(),
            Some("Café")
        );
        assert_eq!(loaded.settings.source, file);
    }

    #[test]
    fn secrets_never_print() {
        let secret = Secret::new("hunter2");
        assert_eq!(format!("{secret}"), MASK);
        assert_eq!(format!("{secret:?}"), MASK);
        assert!(secret.ct_eq(b"hunter2"));
        assert!(!secret.ct_eq(b"hunter3"));
        assert!(!secret.ct_eq(b"hunter"));
        let s = settings(
            "authentication.server.key-store-password = storepass\n\
             database.url = postgres://user:dbpass@db/auth\n",
        );
        let debug = format!("{s:?}");
        assert!(
            !debug.contains("s3cret") && !debug.contains("storepass"),
            "{debug}"
        );
        let report = s.report();
        assert!(
            !report.contains("s3cret")
                && !report.contains("storepass")
                && !report.contains("dbpass"),
            "{report}"
        );
        assert!(report.contains("authentication.client.secret = ********\n"));
        assert!(
            report.contains("database.url = postgres://user:********@db/auth\n"),
            "{report}"
        );
    }

    #[test]
    fn report_lists_every_canonical_key_once() {
        let report = settings("authentication.login.banner.text = Line\\nTwo\n").report();
        let keys: Vec<&str> = report
            .lines()
            .map(|l| l.split(" = ").next().unwrap())
            .collect();
        let expected: Vec<&str> = KEYS.iter().map(|s| s.key).collect();
        assert_eq!(keys, expected);
        assert!(report.lines().all(|l| l.contains(" = ")));
        assert!(report.contains("server.public.url = http://localhost:8555\n"));
        assert!(report.contains("server.metrics.allow = 127.0.0.0/8, ::1/128\n"));
        assert!(report.contains("authentication.login.banner.text = Line\\nTwo\n"));
        assert!(report.contains("authentication.token.expiry = 900\n"));
    }

    #[test]
    fn env_var_names_follow_the_spec() {
        assert_eq!(
            env_var_name("authentication.client.secret"),
            "AUTHSERVER_AUTHENTICATION_CLIENT_SECRET"
        );
        assert_eq!(
            env_var_name("authentication.server.key-store-password"),
            "AUTHSERVER_AUTHENTICATION_SERVER_KEY_STORE_PASSWORD"
        );
        // No two spellings share a variable.
        let mut names: Vec<String> = all_names().map(|(n, _, _)| env_var_name(n)).collect();
        let count = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), count);
    }

    #[test]
    fn no_known_key_is_a_path_prefix_of_another() {
        // `config` nests dotted keys; a key that is also a table would clobber one of them.
        for a in KEYS {
            for b in KEYS {
                assert!(
                    !b.key.starts_with(&format!("{}.", a.key)),
                    "{} / {}",
                    a.key,
                    b.key
                );
            }
        }
    }
}
