//! Typed, validated settings from `authserver.properties` and `AUTHSERVER_*` variables.
//!
//! Layers, merged by the `config` crate, last wins: built-in defaults, the properties
//! file, the environment. Aliases (the `*.expirity` / `*.ttl` spellings of Teamwork
//! Cloud) are renamed to their canonical key inside each layer, so an environment alias
//! still beats the file's canonical key; within one layer the canonical key beats its
//! aliases (with a warning). Everything is validated once, here: the rest of the crate
//! only sees [`Settings`].
//!
//! One concern per file:
//! - `table`: every key with its type, default, aliases and meaning;
//! - `properties`: the Java `.properties` format;
//! - `sources`: the file and environment layers and their merge;
//! - `reader` and `values`: reading merged values, the value types and their parsers;
//! - `settings`: the typed settings, one file per group of keys;
//! - `reference`: the configuration reference generated from the table;
//! - `teamwork_cloud`: Teamwork Cloud keys authserver does not read, and why.
//!
//! A new group of keys is rows in `table` plus one file in `settings`.

mod error;
pub mod properties;
mod reader;
mod reference;
mod settings;
mod sources;
mod table;
mod teamwork_cloud;
mod values;

pub use error::ConfigError;
pub use properties::PropertiesFormat;
pub use reference::reference;
pub use settings::{
    AuthSettings, CertificateSettings, DatabaseSettings, LdapSettings, Loaded, LoggingSettings,
    NameRule, SamlComparison, SamlSettings, SanKind, ServerSettings, Settings, SslSettings,
    Template, TemplatePiece, UpstreamProvider, UpstreamSettings, DN_ATTRIBUTES, DN_PLACEHOLDER,
    UPN_OID, USERNAME_PLACEHOLDER,
};
/// The SAML service provider's settings and constants.
pub mod saml {
    pub use super::settings::{
        IdpMetadata, SamlComparison as Comparison, SAML_TRANSIENT as TRANSIENT,
    };
}
pub use table::env_var_name;
pub use values::{
    parse_duration, private_use_scheme, LogFormat, RegistrationMode, Secret, SigningAlgorithm,
};

/// Prefix of the environment variables that override keys.
pub const ENV_PREFIX: &str = "AUTHSERVER_";
/// The variable that chooses the properties file (not a setting itself).
pub const CONFIG_ENV: &str = "AUTHSERVER_CONFIG";
/// Prefix of the test suite's own variables (`AUTHSERVER_TEST_POSTGRES_URL`), which a
/// server started beside the tests or a benchmark inherits: not settings, and not worth
/// a warning (no key starts with `test.`).
pub const TEST_ENV_PREFIX: &str = "AUTHSERVER_TEST_";
/// What a secret looks like in logs, reports and error messages.
pub const MASK: &str = "********";

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests;
