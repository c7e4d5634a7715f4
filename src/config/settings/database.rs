//! `database.*`: the connection URL and pool size.

use crate::config::reader::Reader;
use crate::config::values::{masked_database_url, parse_database_url, parse_pool_size};
use crate::config::ConfigError;

/// `database.*` settings.
#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    /// Connection URL (`database.url`), `sqlite:` or `postgres(ql)://`.
    pub url: String,
    /// Pool size (`database.pool.size`), at least 1.
    pub max_connections: u32,
}

impl DatabaseSettings {
    pub(super) fn read(r: &Reader<'_>) -> Result<Self, ConfigError> {
        Ok(DatabaseSettings {
            url: r.defaulted("database.url", parse_database_url)?,
            max_connections: r.defaulted("database.pool.size", parse_pool_size)?,
        })
    }

    /// The `database.*` rows of the report (password masked).
    pub(super) fn effective(&self) -> Vec<(&'static str, String)> {
        vec![
            ("database.url", masked_database_url(&self.url)),
            ("database.pool.size", self.max_connections.to_string()),
        ]
    }
}
