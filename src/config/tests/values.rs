//! Values: required keys, bad values and their messages, parsers.

use super::*;

#[test]
fn missing_required_keys_are_errors() {
    let only = |skip: usize| -> String {
        BASE.lines()
            .enumerate()
            .filter(|(i, _)| *i != skip)
            .map(|(_, l)| format!("{l}\n"))
            .collect()
    };
    assert_eq!(
        error_text(&only(0)),
        "authserver.properties: authentication.client.ids is missing or empty: expected a comma-separated list of allowed client IDs"
    );
    assert!(error_text(&only(1)).starts_with(
        "authserver.properties: authentication.redirect.uri.whitelist is missing or empty"
    ));
    assert!(error_text(&only(2))
        .starts_with("authserver.properties: authentication.client.secret is missing or empty"));
    // Set but empty (blanks and commas only) is just as missing.
    assert!(error("authentication.client.ids = , ,\n")
        .starts_with("authserver.properties: authentication.client.ids is missing or empty"));
    assert!(error("authentication.client.secret =\n")
        .starts_with("authserver.properties: authentication.client.secret is missing or empty"));
}

#[test]
fn malformed_whitelist_entry_is_an_error_naming_it() {
    let message =
        error("authentication.redirect.uri.whitelist = https://ok.example/cb, /relative/cb\n");
    assert!(
        message.starts_with(
            "authserver.properties:4: authentication.redirect.uri.whitelist: entry \"/relative/cb\": expected an absolute http or https URL"
        ),
        "{message}"
    );
    for bad in [
        "ftp://files.example.com/",
        "javascript:alert(1)",
        "https://u:p@x.example/",
        "https://x.example/#f",
    ] {
        let message = error(&format!("authentication.redirect.uri.whitelist = {bad}\n"));
        assert!(message.contains(&format!("entry \"{bad}\"")), "{message}");
    }
}

#[test]
fn whitelist_accepts_url_beginnings() {
    let s = settings(
        "authentication.redirect.uri.whitelist = https://app.example.com, \\\n  http://127.0.0.1/cb,http://localhost:8080/x?\n",
    );
    assert_eq!(s.auth.redirect_whitelist.len(), 3);
}

#[test]
fn whitelist_accepts_private_use_uris_of_reverse_domain_schemes_only() {
    let s =
        settings("authentication.redirect.uri.whitelist = com.example.app:/cb, http://[::1]/cb\n");
    assert_eq!(
        s.auth.redirect_whitelist,
        vec!["com.example.app:/cb", "http://[::1]/cb"]
    );
    for bad in ["myapp:/cb", "data:text/html;x", "com.example.app:/cb#f"] {
        let message = error(&format!("authentication.redirect.uri.whitelist = {bad}\n"));
        assert!(message.contains(&format!("entry \"{bad}\"")), "{message}");
    }
}

#[test]
fn non_numeric_duration_is_an_error_naming_key_and_file() {
    assert_eq!(
        error("authentication.token.expiry = abc\n"),
        "authserver.properties:4: authentication.token.expiry = \"abc\": expected a duration in seconds (or 15m, 12h, 7d)"
    );
    // Through an alias, the alias is named.
    assert!(error("authentication.token.ttl = 5x\n").starts_with(
        "authserver.properties:4: authentication.token.ttl = \"5x\": expected a duration"
    ));
}

#[test]
fn durations_accept_seconds_and_suffixes_only() {
    for (text, seconds) in [
        ("0", 0),
        ("45", 45),
        ("30s", 30),
        ("15m", 900),
        ("12h", 43_200),
        ("7d", 604_800),
        ("  60  ", 60),
    ] {
        assert_eq!(parse_duration(text.trim()), Ok(seconds), "{text}");
    }
    for bad in [
        "",
        "-1",
        "1.5",
        "15M",
        "m",
        "1 m",
        "1e3",
        "+5",
        "99999999999999999999",
        "40000d",
    ] {
        assert!(parse_duration(bad).is_err(), "{bad}");
    }
    assert!(error("authentication.code.expiry = 40000d\n").contains("at most 3153600000 seconds"));
}

#[test]
fn zero_lifetime_warns() {
    let loaded = load("authentication.code.expiry = 0\n");
    assert_eq!(loaded.settings.auth.code_expiry, 0);
    assert_eq!(loaded.warnings.len(), 1);
    assert!(loaded.warnings[0].contains("authentication.code.expiry is 0"));
}

#[test]
fn bad_port_is_an_error() {
    for bad in ["70000", "abc", "-1", ""] {
        assert_eq!(
            error(&format!("server.port = {bad}\n")),
            format!("authserver.properties:4: server.port = \"{bad}\": expected a port number from 0 to 65535")
        );
    }
    assert_eq!(settings("server.port = 0\n").server.port, 0);
}

#[test]
fn booleans_accept_true_false_yes_no_one_zero() {
    for (text, value) in [
        ("true", true),
        ("TRUE", true),
        ("Yes", true),
        ("1", true),
        ("false", false),
        ("no", false),
        ("0", false),
    ] {
        assert_eq!(parse_bool(text), Ok(value), "{text}");
    }
    assert_eq!(
        error("server.ssl.enabled = maybe\n"),
        "authserver.properties:4: server.ssl.enabled = \"maybe\": expected true or false (also yes/no, 1/0)"
    );
}

#[test]
fn change_me_secret_is_refused() {
    assert_eq!(
        error("authentication.client.secret = CHANGE_ME\n"),
        "authserver.properties:4: authentication.client.secret = \"CHANGE_ME\": expected the shared secret clients send as X-Auth-Secret, not the placeholder CHANGE_ME"
    );
    let err = try_load_env(
        BASE,
        &[("AUTHSERVER_AUTHENTICATION_CLIENT_SECRET", "CHANGE_ME")],
    )
    .unwrap_err();
    assert!(err
        .to_string()
        .starts_with("environment variable AUTHSERVER_AUTHENTICATION_CLIENT_SECRET"));
}

#[test]
fn secret_whitespace_is_kept_with_a_warning() {
    let text = BASE.replace("= s3cret", "= abc  ");
    let loaded = try_load_env(&text, &[]).unwrap();
    assert_eq!(loaded.settings.auth.client_secret.expose(), "abc  ");
    assert_eq!(loaded.warnings.len(), 1, "{:?}", loaded.warnings);
    assert!(!loaded.warnings[0].contains("abc"));
}

#[test]
fn ssl_enabled_without_certificate_or_key_is_an_error() {
    assert_eq!(
        error("server.ssl.enabled = true\n"),
        "authserver.properties: server.ssl.enabled = true requires server.ssl.certificate and server.ssl.key (PEM files), but server.ssl.certificate and server.ssl.key are not set"
    );
    assert!(error("server.ssl.enabled = true\nserver.ssl.key = k.pem\n")
        .ends_with("but server.ssl.certificate is not set"));
    assert!(
        error("server.ssl.enabled = true\nserver.ssl.certificate = c.pem\n")
            .ends_with("but server.ssl.key is not set")
    );
    // Files without enabling ssl are fine (kept, unused).
    let s = settings("server.ssl.certificate = c.pem\n");
    assert!(!s.server.ssl.enabled);
}

#[test]
fn bad_address_networks_database_and_enums_are_errors() {
    assert!(error("server.address = example.com\n").starts_with(
        "authserver.properties:4: server.address = \"example.com\": expected an IP address"
    ));
    assert_eq!(
        settings("server.address = ::\n").server.address,
        "::".parse::<IpAddr>().unwrap()
    );
    assert_eq!(
        settings("server.address = [::1]\n").server.address,
        "::1".parse::<IpAddr>().unwrap()
    );
    assert_eq!(
        error("server.trusted.proxies = 10.0.0.0/8, 10.0.0.0/33\n"),
        "authserver.properties:4: server.trusted.proxies: entry \"10.0.0.0/33\": expected an IP address or CIDR network such as 10.0.0.0/8 or ::1"
    );
    assert!(error("server.metrics.allow = localhost\n").contains("entry \"localhost\""));
    assert!(error("database.url = mysql://x/y\n").starts_with(
        "authserver.properties:4: database.url = \"mysql://x/y\": expected a database URL"
    ));
    assert!(error("database.url = sqlite:\n").contains("expected a database URL"));
    assert_eq!(
        settings("database.url = postgres://u@h/db\n").database.url,
        "postgres://u@h/db"
    );
    assert_eq!(
        settings("database.url = sqlite::memory:\n").database.url,
        "sqlite::memory:"
    );
    assert!(error("database.pool.size = 0\n").contains("expected a number of connections"));
    assert_eq!(
        error("authentication.signing.algorithm = HS256\n"),
        "authserver.properties:4: authentication.signing.algorithm = \"HS256\": expected one of RS256, PS256, ES256, EdDSA"
    );
    assert!(error("authentication.signing.algorithm = eddsa\n")
        .ends_with("(names are case-sensitive: EdDSA)"));
    assert!(error("logging.format = xml\n").ends_with("expected text or json"));
    assert!(error("logging.level =\n").contains("expected a log level"));
}

#[test]
fn every_signing_algorithm_parses() {
    for alg in SigningAlgorithm::ALL {
        let s = settings(&format!("authentication.signing.algorithm = {alg}\n"));
        assert_eq!(s.auth.signing_algorithm, alg);
    }
    assert!(SigningAlgorithm::PS256.is_rsa());
    assert!(!SigningAlgorithm::ES256.is_rsa());
}

#[test]
fn networks_accept_plain_addresses_and_an_empty_list() {
    let s = settings("server.metrics.allow =\nserver.trusted.proxies = ::1, 10.1.2.3/8 ,\n");
    assert!(s.server.metrics_allow.is_empty());
    assert_eq!(
        s.server.trusted_proxies,
        vec![
            "::1/128".parse::<IpNet>().unwrap(),
            "10.0.0.0/8".parse().unwrap()
        ]
    );
}

#[test]
fn lists_trim_blanks_and_drop_empty_items() {
    assert_eq!(split_list(" a ,b,, ,\tc\t, "), vec!["a", "b", "c"]);
    assert!(split_list("").is_empty());
}

#[test]
fn permanent_client_not_allowed_warns() {
    let loaded = load("authentication.client.permanent = cli, ghost\n");
    assert_eq!(loaded.settings.auth.permanent_clients, vec!["cli", "ghost"]);
    assert_eq!(loaded.warnings.len(), 1);
    assert!(loaded.warnings[0].contains("\"ghost\""));
}

#[test]
fn empty_optional_values_are_none() {
    let s = settings(
        "authentication.login.banner.text =   \nauthentication.signing.kid =\n\
         authentication.server.key-store-password =\n",
    );
    assert_eq!(s.auth.login_banner_text, None);
    assert_eq!(s.auth.signing_kid, None);
    assert!(s.auth.key_store_password.is_none());
}

#[test]
fn syntax_error_names_file_and_line() {
    assert_eq!(
        error("a = 1\nauthentication.login.banner.text = \\u00zz\n"),
        "authserver.properties:5: malformed \\uXXXX escape \"\\u00zz\": expected 4 hexadecimal digits"
    );
}

#[test]
fn unreadable_file_error() {
    let err = Settings::load(Path::new("./does-not-exist.properties"), &[]).unwrap_err();
    assert!(matches!(err, ConfigError::Read { .. }));
    assert!(err
        .to_string()
        .starts_with("cannot read config file ./does-not-exist.properties: "));
}

#[test]
fn load_reads_latin1_files() {
    let dir = std::env::temp_dir().join(format!("authserver-config-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("latin1.properties");
    let mut bytes = BASE.as_bytes().to_vec();
    bytes.extend_from_slice(b"authentication.login.banner.text = Caf\xE9\n");
    std::fs::write(&file, bytes).unwrap();
    let loaded = Settings::load(&file, &[]).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(
        loaded.settings.auth.login_banner_text.as_deref(),
        Some("Café")
    );
    assert_eq!(loaded.settings.source, file);
}
