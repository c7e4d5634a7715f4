//! Reading merged values: each getter parses one key and turns a bad value into an error
//! naming the key as written, where it came from and what was expected.

use std::path::Path;

use ipnet::IpNet;

use super::sources::{Layer, Provided, Sources};
use super::table::{env_var_name, key_spec, KeySpec};
use super::values::{one_line, parse_bool, parse_duration, parse_network, split_list};
use super::{ConfigError, MASK};

/// A merged value with where it came from (`None`: built-in default).
pub(super) struct Raw<'a> {
    pub(super) value: String,
    pub(super) provided: Option<&'a Provided>,
}

impl Raw<'_> {
    pub(super) fn trimmed(&self) -> &str {
        self.value.trim()
    }
}

/// Reads merged values and turns bad ones into errors naming key, file and expectation.
pub(super) struct Reader<'a> {
    pub(super) path: &'a Path,
    merged: &'a config::Config,
    /// Highest precedence first.
    layers: [&'a Layer; 2],
}

impl<'a> Reader<'a> {
    /// Reads from `sources`, loaded from the file at `path`.
    pub(super) fn new(path: &'a Path, sources: &'a Sources) -> Self {
        Reader {
            path,
            merged: &sources.merged,
            layers: [&sources.env, &sources.file],
        }
    }

    pub(super) fn get(&self, key: &'static str) -> Result<Option<Raw<'a>>, ConfigError> {
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

    pub(super) fn location(&self, key: &'static str, raw: &Raw<'_>) -> (String, String) {
        match raw.provided {
            Some(provided) => (provided.location.clone(), provided.via.to_owned()),
            None => (
                format!("{} (built-in default)", self.path.display()),
                key.to_owned(),
            ),
        }
    }

    pub(super) fn invalid(
        &self,
        key: &'static str,
        raw: &Raw<'_>,
        expected: impl Into<String>,
    ) -> ConfigError {
        let (location, name) = self.location(key, raw);
        let value = if key_spec(key).is_some_and(KeySpec::is_secret) {
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

    pub(super) fn invalid_entry(
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

    pub(super) fn missing(&self, key: &'static str, expected: &str) -> ConfigError {
        ConfigError::Missing {
            path: self.path.to_path_buf(),
            key,
            expected: expected.to_owned(),
        }
    }

    /// Parses a set value; `parse` returns what was expected on failure.
    pub(super) fn parse<T>(
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
    pub(super) fn defaulted<T>(
        &self,
        key: &'static str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<T, ConfigError> {
        self.parse(key, parse)?.ok_or_else(|| ConfigError::Merge {
            path: self.path.to_path_buf(),
            message: format!("{key}: the built-in default is missing"),
        })
    }

    pub(super) fn duration(&self, key: &'static str) -> Result<u64, ConfigError> {
        self.defaulted(key, parse_duration)
    }

    pub(super) fn boolean(&self, key: &'static str) -> Result<bool, ConfigError> {
        self.defaulted(key, parse_bool)
    }

    /// A trimmed string; empty counts as unset.
    pub(super) fn optional(&self, key: &'static str) -> Result<Option<String>, ConfigError> {
        Ok(self
            .get(key)?
            .map(|raw| raw.trimmed().to_owned())
            .filter(|value| !value.is_empty()))
    }

    pub(super) fn list(&self, key: &'static str) -> Result<Vec<String>, ConfigError> {
        Ok(self
            .get(key)?
            .map(|raw| split_list(&raw.value))
            .unwrap_or_default())
    }

    pub(super) fn required_list(
        &self,
        key: &'static str,
        expected: &str,
    ) -> Result<Vec<String>, ConfigError> {
        let list = self.list(key)?;
        if list.is_empty() {
            return Err(self.missing(key, expected));
        }
        Ok(list)
    }

    pub(super) fn networks(&self, key: &'static str) -> Result<Vec<IpNet>, ConfigError> {
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

    /// A per-name key (`authentication.oidc.provider.<name>.issuer`) for `name`: the
    /// environment variable of the concrete key, else the file's entry, else the table's
    /// default. Returns the concrete key (for messages) and the value.
    pub(super) fn named(
        &self,
        template: &'static str,
        name: &str,
    ) -> Result<(String, Option<Raw<'a>>), ConfigError> {
        let spec = key_spec(template).ok_or_else(|| ConfigError::Merge {
            path: self.path.to_path_buf(),
            message: format!("{template}: not in the key table"),
        })?;
        let key = spec.for_name(name);
        let provided = self.layers[0]
            .named
            .get(&env_var_name(&key))
            .or_else(|| self.layers[1].named.get(&key));
        let raw = match provided {
            Some(p) => Some(Raw {
                value: p.value.clone(),
                provided: Some(p),
            }),
            None => spec.default_value().map(|value| Raw {
                value: value.to_owned(),
                provided: None,
            }),
        };
        Ok((key, raw))
    }

    /// A bad per-name value: the concrete `key`, where it came from, what was expected.
    pub(super) fn invalid_named(
        &self,
        template: &'static str,
        key: &str,
        raw: &Raw<'_>,
        expected: impl Into<String>,
    ) -> ConfigError {
        let location = raw.provided.map_or_else(
            || format!("{} (built-in default)", self.path.display()),
            |p| p.location.clone(),
        );
        let value = if key_spec(template).is_some_and(KeySpec::is_secret) {
            MASK.to_owned()
        } else {
            one_line(&raw.value)
        };
        ConfigError::Invalid {
            location,
            key: key.to_owned(),
            value,
            expected: expected.into(),
        }
    }

    /// A required per-name key that is not set.
    pub(super) fn missing_named(&self, key: &str, expected: &str) -> ConfigError {
        ConfigError::Inconsistent {
            path: self.path.to_path_buf(),
            message: format!("{key} is missing or empty: expected {expected}"),
        }
    }

    /// Per-name keys set for a name that is not in `listed` (probably a typo).
    pub(super) fn unlisted_names(&self, prefix: &str, listed: &[String]) -> Vec<String> {
        self.layers[1]
            .named
            .values()
            .filter(|p| {
                p.name
                    .strip_prefix(prefix)
                    .and_then(|rest| rest.split('.').next())
                    .is_some_and(|name| !listed.iter().any(|l| l == name))
            })
            .map(|p| {
                format!(
                    "{}: {} is ignored: its name is not listed",
                    p.location, p.name
                )
            })
            .collect()
    }
}
