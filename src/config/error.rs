//! Why the settings could not be loaded.

use std::path::PathBuf;

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
    /// The checked-in development secret where others can reach the server.
    #[error(
        "{location}: {key} is the development value from the checked-in \
         authserver.properties, refused because {reason}: set your own secret (for example \
         the output of `openssl rand -base64 32`) as authentication.client.secret in the \
         file, or in the environment variable AUTHSERVER_AUTHENTICATION_CLIENT_SECRET"
    )]
    DevelopmentSecret {
        /// `file:line`, or the environment variable (and the file it overrides).
        location: String,
        /// The key as written.
        key: String,
        /// What makes the deployment public.
        reason: String,
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
