//! `logging.*`: line format and filter.

use crate::config::reader::Reader;
use crate::config::values::{parse_level, parse_log_format, LogFormat};
use crate::config::ConfigError;

/// `logging.*` settings.
#[derive(Debug, Clone)]
pub struct LoggingSettings {
    /// Output format (`logging.format`).
    pub format: LogFormat,
    /// Filter directive (`logging.level`), e.g. `info` or `info,sqlx=warn`.
    pub level: String,
}

impl LoggingSettings {
    pub(super) fn read(r: &Reader<'_>) -> Result<Self, ConfigError> {
        Ok(LoggingSettings {
            format: r.defaulted("logging.format", parse_log_format)?,
            level: r.defaulted("logging.level", parse_level)?,
        })
    }

    /// The `logging.*` rows of the report.
    pub(super) fn effective(&self) -> Vec<(&'static str, String)> {
        vec![
            ("logging.format", self.format.to_string()),
            ("logging.level", self.level.clone()),
        ]
    }
}
