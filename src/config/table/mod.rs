//! The key table: every key the product knows, with its type, default, aliases and
//! meaning. Loading, `check-config` and the generated reference (`docs/configuration.md`)
//! all read this one table; a new group of keys is new rows here plus its typed settings.

/// What a key's value is, as the reference names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Address,
    Port,
    Url,
    Boolean,
    Path,
    Networks,
    DatabaseUrl,
    Count,
    List,
    UrlList,
    Secret,
    Duration,
    Algorithm,
    Text,
    LogFormat,
    LogLevel,
    RegistrationMode,
}

impl Kind {
    /// The type column of the reference.
    pub(super) fn name(self) -> &'static str {
        match self {
            Kind::Address => "IP address",
            Kind::Port => "port",
            Kind::Url => "URL",
            Kind::Boolean => "boolean",
            Kind::Path => "file path",
            Kind::Networks => "network list",
            Kind::DatabaseUrl => "database URL",
            Kind::Count => "number",
            Kind::List => "list",
            Kind::UrlList => "URL list",
            Kind::Secret => "secret",
            Kind::Duration => "duration",
            Kind::Algorithm => "`RS256`, `PS256`, `ES256` or `EdDSA`",
            Kind::Text => "text",
            Kind::LogFormat => "`text` or `json`",
            Kind::LogLevel => "log filter",
            Kind::RegistrationMode => "`off`, `token` or `open`",
        }
    }
}

/// What applies when a key is not set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DefaultValue {
    /// This value, fed to the merge as the lowest layer.
    Value(&'static str),
    /// Loading fails without it.
    Required,
    /// No value; the text says what happens instead.
    Unset(&'static str),
}

/// One known key: canonical name, accepted aliases, type, default and meaning.
#[derive(Debug)]
pub(super) struct KeySpec {
    pub(super) key: &'static str,
    pub(super) aliases: &'static [&'static str],
    pub(super) kind: Kind,
    pub(super) default: DefaultValue,
    /// One line of meaning for the reference.
    pub(super) about: &'static str,
}

impl KeySpec {
    pub(super) const fn new(key: &'static str, kind: Kind, about: &'static str) -> Self {
        KeySpec {
            key,
            aliases: &[],
            kind,
            default: DefaultValue::Unset("none"),
            about,
        }
    }

    pub(super) const fn default(mut self, value: &'static str) -> Self {
        self.default = DefaultValue::Value(value);
        self
    }

    pub(super) const fn required(mut self) -> Self {
        self.default = DefaultValue::Required;
        self
    }

    pub(super) const fn unset(mut self, meaning: &'static str) -> Self {
        self.default = DefaultValue::Unset(meaning);
        self
    }

    pub(super) const fn aliases(mut self, aliases: &'static [&'static str]) -> Self {
        self.aliases = aliases;
        self
    }

    /// The built-in default fed to the merge, if any.
    pub(super) fn default_value(&self) -> Option<&'static str> {
        match self.default {
            DefaultValue::Value(value) => Some(value),
            DefaultValue::Required | DefaultValue::Unset(_) => None,
        }
    }

    /// Whether the value is masked in messages and reports.
    pub(super) fn is_secret(&self) -> bool {
        self.kind == Kind::Secret
    }
}

mod core;
mod sources;

/// The groups of keys, in report order.
const GROUPS: &[&[KeySpec]] = &[core::KEYS, sources::KEYS, core::LOGGING];

/// Every key the product knows, in report order.
pub(super) fn keys() -> impl Iterator<Item = &'static KeySpec> {
    GROUPS.iter().flat_map(|group| group.iter())
}

/// The placeholder for a provider's name in per-name keys
/// (`authentication.oidc.provider.<name>.issuer`).
pub(super) const NAME_PLACEHOLDER: &str = "<name>";

impl KeySpec {
    /// Whether this is a per-name key (one value per configured name).
    pub(super) fn is_per_name(&self) -> bool {
        self.key.contains(NAME_PLACEHOLDER)
    }

    /// The concrete key for `name` (`…provider.corp.issuer`).
    pub(super) fn for_name(&self, name: &str) -> String {
        self.key.replacen(NAME_PLACEHOLDER, name, 1)
    }
}

/// Whether `name` may fill a `<name>` placeholder: letters, digits, `-` and `_`, at most
/// 64, so the concrete key stays one dotted path segment.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// The per-name spec and the name a concrete key such as
/// `authentication.oidc.provider.corp.issuer` stands for.
pub(super) fn per_name_spec(key: &str) -> Option<(&'static KeySpec, &str)> {
    keys().filter(|s| s.is_per_name()).find_map(|spec| {
        let (before, after) = spec.key.split_once(NAME_PLACEHOLDER)?;
        let name = key.strip_prefix(before)?.strip_suffix(after)?;
        valid_name(name).then_some((spec, name))
    })
}

/// The per-name spec an `AUTHSERVER_*` variable may stand for (the name cannot be read
/// back from the variable, as `-` and `.` both become `_`: the reader looks the variable
/// up by the configured names instead).
pub(super) fn per_name_env_spec(var: &str) -> Option<&'static KeySpec> {
    keys().filter(|s| s.is_per_name()).find(|spec| {
        let Some((before, after)) = spec.key.split_once(NAME_PLACEHOLDER) else {
            return false;
        };
        let (before, after) = (env_var_name(before), env_var_name(after));
        let after = after.trim_start_matches(super::ENV_PREFIX);
        var.len() > before.len() + after.len() && var.starts_with(&before) && var.ends_with(after)
    })
}

/// The key whose value is a bare host (`server.public.url` alias with its own meaning).
pub(super) const PUBLIC_HOST_ALIAS: &str = "server.public.host";

pub(super) fn key_spec(key: &str) -> Option<&'static KeySpec> {
    keys().find(|spec| spec.key == key)
}

/// The `AUTHSERVER_*` variable that overrides `key`.
pub fn env_var_name(key: &str) -> String {
    let mut name = String::from(super::ENV_PREFIX);
    name.extend(key.chars().map(|c| match c {
        '.' | '-' => '_',
        c => c.to_ascii_uppercase(),
    }));
    name
}

/// Every accepted spelling (canonical key first, then aliases) with its spec and rank;
/// per-name keys are not among them (see [`per_name_spec`]).
pub(super) fn all_names() -> impl Iterator<Item = (&'static str, &'static KeySpec, usize)> {
    keys().filter(|s| !s.is_per_name()).flat_map(|spec| {
        std::iter::once(spec.key)
            .chain(spec.aliases.iter().copied())
            .enumerate()
            .map(move |(rank, name)| (name, spec, rank))
    })
}
