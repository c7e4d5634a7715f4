//! Aliases (the Teamwork Cloud spellings) and the public URL.

use super::*;

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
        ("authentication.implicit.token.expirity", "120", |s| {
            s.auth.implicit_token_expiry.to_string()
        }),
        ("authentication.implicit.token.ttl", "120", |s| {
            s.auth.implicit_token_expiry.to_string()
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
    let table_aliases: Vec<&str> = keys().flat_map(|s| s.aliases.iter().copied()).collect();
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
    let loaded = load(
        "server.public.host = other.example.com\nserver.public.url = https://auth.example.com\n",
    );
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
