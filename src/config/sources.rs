//! Sources and layering: the properties file and the `AUTHSERVER_*` environment, each
//! turned into a [`Layer`] keyed by canonical key (aliases renamed inside their layer,
//! with warnings for duplicates, unknown names and shadowed spellings), then merged by
//! the `config` crate over the built-in defaults.

use std::collections::BTreeMap;
use std::path::Path;

use super::properties;
use super::table::{all_names, env_var_name, keys, per_name_env_spec, per_name_spec, KeySpec};
use super::teamwork_cloud::{deployment_key, not_yet_key, ForeignKey};
use super::{ConfigError, CONFIG_ENV, ENV_PREFIX, TEST_ENV_PREFIX};

/// The nearest known name to `name`, if it is near enough to be a likely typo.
pub(super) fn suggest<'a>(
    name: &str,
    candidates: impl Iterator<Item = (String, &'a str)>,
) -> Option<&'a str> {
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

/// A value as provided by the file or the environment, renamed to its canonical key.
#[derive(Debug, Clone)]
pub(super) struct Provided {
    pub(super) value: String,
    /// The spelling it was given under (canonical key or alias).
    pub(super) via: &'static str,
    /// The name as written: the file's key, or the environment variable.
    pub(super) name: String,
    /// `file:line` or `environment variable X (overrides file)`.
    pub(super) location: String,
    /// Order within its layer (later wins among aliases).
    pub(super) position: usize,
}

/// One layer (file or environment), keyed by canonical key.
#[derive(Debug, Clone, Default)]
pub(super) struct Layer {
    pub(super) values: BTreeMap<&'static str, Provided>,
    /// Per-name keys (`authentication.oidc.provider.<name>.*`), outside the merge: by
    /// concrete key in the file layer, by variable name in the environment layer.
    pub(super) named: BTreeMap<String, Provided>,
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
pub(super) fn file_layer(entries: &[properties::Entry], file: &str) -> (Layer, Vec<String>) {
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
    let mut named = Vec::new();
    // Teamwork Cloud deployment keys: one warning for all, by reason
    let mut deployment: Vec<(&'static ForeignKey, Vec<(&str, usize)>)> = Vec::new();
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
            None if per_name_spec(&entry.key).is_some() => {
                if let Some((spec, _)) = per_name_spec(&entry.key) {
                    named.push(Provided {
                        value: entry.value.clone(),
                        via: spec.key,
                        name: entry.key.clone(),
                        location: format!("{file}:{}", entry.line),
                        position: entry.line,
                    });
                }
            }
            None if deployment_key(&entry.key).is_some() => {
                if let Some(foreign) = deployment_key(&entry.key) {
                    match deployment
                        .iter_mut()
                        .find(|(f, _)| std::ptr::eq(*f, foreign))
                    {
                        Some((_, keys)) => keys.push((&entry.key, entry.line)),
                        None => deployment.push((foreign, vec![(&entry.key, entry.line)])),
                    }
                }
            }
            None if not_yet_key(&entry.key).is_some() => {
                let reason = not_yet_key(&entry.key).map_or("", |f| f.reason);
                warnings.push((
                    entry.line,
                    format!(
                        "{file}:{}: \"{}\" is ignored: {reason}",
                        entry.line, entry.key
                    ),
                ));
            }
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
    let (mut layer, shadowed) = Layer::build(candidates, |loser, winner| {
        format!(
            "{}: {} is ignored: {} is also set (line {}) and takes precedence",
            loser.location, loser.name, winner.name, winner.position
        )
    });
    layer.named = named.into_iter().map(|p| (p.name.clone(), p)).collect();
    warnings.extend(shadowed);
    if let Some(first) = deployment
        .iter()
        .flat_map(|(_, keys)| keys.iter().map(|(_, line)| *line))
        .min()
    {
        for (_, keys) in &mut deployment {
            keys.sort_by_key(|(_, line)| *line);
        }
        deployment.sort_by_key(|(_, keys)| keys.first().map(|(_, line)| *line));
        let groups: Vec<String> = deployment
            .iter()
            .map(|(foreign, keys)| {
                let keys: Vec<String> = keys
                    .iter()
                    .map(|(key, line)| format!("{key} (line {line})"))
                    .collect();
                format!("{} [{}]", keys.join(", "), foreign.reason)
            })
            .collect();
        warnings.push((
            first,
            format!(
                "{file}: keys of Teamwork Cloud's own deployment are ignored, as they do not \
                 configure authserver: {}",
                groups.join("; ")
            ),
        ));
    }
    warnings.sort_by_key(|(line, _)| *line);
    (layer, warnings.into_iter().map(|(_, w)| w).collect())
}

/// The environment layer, with warnings for unknown `AUTHSERVER_*` variables.
pub(super) fn env_layer(env: &[(String, String)], file: &str) -> (Layer, Vec<String>) {
    let names: BTreeMap<String, (&'static str, &'static KeySpec, usize)> = all_names()
        .map(|(name, spec, rank)| (env_var_name(name), (name, spec, rank)))
        .collect();
    let mut vars: Vec<(usize, &String, &String)> = env
        .iter()
        .enumerate()
        .filter(|(_, (var, _))| {
            var.starts_with(ENV_PREFIX) && var != CONFIG_ENV && !var.starts_with(TEST_ENV_PREFIX)
        })
        .map(|(position, (var, value))| (position, var, value))
        .collect();
    vars.sort_by(|a, b| a.1.cmp(b.1));

    let mut warnings = Vec::new();
    let mut candidates = Vec::new();
    let mut named = BTreeMap::new();
    for (position, var, value) in vars {
        if let (None, Some(spec)) = (names.get(var.as_str()), per_name_env_spec(var)) {
            let provided = Provided {
                value: value.clone(),
                via: spec.key,
                name: var.clone(),
                location: format!("environment variable {var} (overrides {file})"),
                position,
            };
            named.insert(var.clone(), provided);
            continue;
        }
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
    let (mut layer, shadowed) = Layer::build(candidates, |loser, winner| {
        format!(
            "environment variable {} is ignored: {} is also set and takes precedence",
            loser.name, winner.name
        )
    });
    layer.named = named;
    warnings.extend(shadowed.into_iter().map(|(_, w)| w));
    (layer, warnings)
}

/// The merged layers, highest precedence last: defaults, file, environment.
pub(super) struct Sources {
    pub(super) merged: config::Config,
    pub(super) file: Layer,
    pub(super) env: Layer,
}

/// Parses `text` (the file named `path`) and `env` into layers and merges them over the
/// built-in defaults; returns the warnings found on the way.
pub(super) fn layered(
    text: &str,
    path: &Path,
    env: &[(String, String)],
) -> Result<(Sources, Vec<String>), ConfigError> {
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
    for spec in keys().filter(|s| !s.is_per_name()) {
        if let Some(default) = spec.default_value() {
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
    Ok((
        Sources {
            merged,
            file: file_layer,
            env: env_layer,
        },
        warnings,
    ))
}
