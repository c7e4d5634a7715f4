//! The configuration reference, generated from the key table: `authserver config
//! reference` prints it and `docs/configuration.md` is its output.

use std::fmt::Write;

use super::table::{keys, DefaultValue, KeySpec, Kind};
use super::{CONFIG_ENV, ENV_PREFIX};

/// The command that regenerates `docs/configuration.md`.
pub const REGENERATE: &str = "cargo run -- config reference > docs/configuration.md";

impl Kind {
    /// How values of this type are written, for the types section.
    fn syntax(self) -> &'static str {
        match self {
            Kind::Address => "`127.0.0.1`, `0.0.0.0`, `::` or `localhost`.",
            Kind::Port => "`0` to `65535`.",
            Kind::Url => "an absolute `http` or `https` URL.",
            Kind::Boolean => "`true`/`false`, `yes`/`no` or `1`/`0`, in any case.",
            Kind::Path => "a file name, relative to the working directory or absolute.",
            Kind::Networks => {
                "comma-separated CIDR networks (`10.0.0.0/8`) or plain addresses (`::1`)."
            }
            Kind::DatabaseUrl => "`sqlite:` or `postgres://` (also `postgresql://`).",
            Kind::Count => "a whole number, at least 1.",
            Kind::List => "comma-separated; blanks around items are trimmed, empty items dropped.",
            Kind::UrlList => "a list of absolute `http` or `https` URLs (or private-use URIs such as `com.example.app:/cb`).",
            Kind::Secret => {
                "text kept exactly, surrounding blanks included; never printed or logged."
            }
            Kind::Duration => {
                "seconds (`900`), or a number with `s`, `m`, `h` or `d` (`15m`, `12h`, `7d`); at \
                 most 100 years. A lifetime of `0` gives a warning."
            }
            Kind::Algorithm => "case-sensitive JOSE names.",
            Kind::Text => "any text; `\\uXXXX` and `\\t`-style escapes work.",
            Kind::LogFormat => "case-insensitive.",
            Kind::LogLevel => "a `tracing` filter directive.",
            Kind::RegistrationMode => "case-insensitive.",
        }
    }
}

/// A duration in words, when it reads better than seconds (`1209600` → `14 days`).
fn in_words(seconds: u64) -> Option<String> {
    const UNITS: [(u64, &str); 4] = [
        (365 * 86_400, "year"),
        (86_400, "day"),
        (3600, "hour"),
        (60, "minute"),
    ];
    let (size, unit) = UNITS
        .into_iter()
        .find(|(size, _)| seconds >= *size && seconds.is_multiple_of(*size))?;
    let n = seconds / size;
    Some(format!("{n} {unit}{}", if n == 1 { "" } else { "s" }))
}

fn default_cell(spec: &KeySpec) -> String {
    match spec.default {
        DefaultValue::Required => "required".to_owned(),
        DefaultValue::Unset(meaning) => meaning.to_owned(),
        DefaultValue::Value("") => "empty".to_owned(),
        DefaultValue::Value(value) => {
            let words = (spec.kind == Kind::Duration)
                .then(|| value.parse().ok().and_then(in_words))
                .flatten();
            match words {
                Some(words) => format!("`{value}` ({words})"),
                None => format!("`{value}`"),
            }
        }
    }
}

/// Markdown table cells: no line breaks, `|` escaped.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

fn code_list(names: &[&str]) -> String {
    names
        .iter()
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The whole reference as Markdown.
pub fn reference() -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "# Configuration reference\n\n\
         <!-- Generated from the key table (src/config/table.rs) by `authserver config \
         reference`; do not edit. Regenerate with: {REGENERATE} -->\n\n\
         authserver reads `authserver.properties` in the working directory (another file with \
         `--config PATH` or `{CONFIG_ENV}`), in Java `.properties` syntax. Every key can be set \
         from the environment too: `{ENV_PREFIX}` followed by the key upper-cased, with `.` and \
         `-` as `_` (e.g. `{}`). The environment beats the file. Aliases are the spellings of \
         Teamwork Cloud's authentication server; they work in the file and the environment, \
         and within one of them the canonical key beats its aliases, with a warning. \
         `authserver check-config` prints the effective settings, secrets masked. A missing \
         required key or a bad value stops the program with exit code 2 and one line naming \
         the file, the key and what was expected.\n",
        super::env_var_name("authentication.client.secret"),
    );

    let mut group = "";
    for spec in keys() {
        let prefix = spec.key.split('.').next().unwrap_or(spec.key);
        if prefix != group {
            group = prefix;
            let _ = write!(
                out,
                "\n## `{group}.*`\n\n\
                 | key | type | default | aliases | meaning |\n\
                 |---|---|---|---|---|\n"
            );
        }
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} |",
            spec.key,
            cell(spec.kind.name()),
            cell(&default_cell(spec)),
            cell(&code_list(spec.aliases)),
            cell(spec.about),
        );
    }

    out.push_str("\n## Types\n\n");
    let mut seen: Vec<Kind> = Vec::new();
    for spec in keys() {
        if !seen.contains(&spec.kind) {
            seen.push(spec.kind);
            let _ = writeln!(out, "- **{}**: {}", spec.kind.name(), spec.kind.syntax());
        }
    }
    out
}
