//! Loading settings: defaults, every key, aliases, layering, values and the table.

mod aliases;
mod certificate;
mod development_secret;
mod ldap;
mod login_keys;
mod reference;
mod saml;
mod settings;
mod sources;
mod table;
mod teamwork_cloud;
mod upstream;
mod values;

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use ipnet::IpNet;

use super::table::{all_names, env_var_name, keys};
use super::values::{parse_bool, parse_duration, split_list};
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
