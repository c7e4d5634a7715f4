//! Layering: the environment over the file, unknown names, duplicates.

use super::*;

#[test]
fn environment_overrides_the_file() {
    let loaded = load_env(
        "server.port = 9000\nauthentication.token.expiry = 100\n",
        &[
            ("AUTHSERVER_SERVER_PORT", "9100"),
            ("AUTHSERVER_AUTHENTICATION_CLIENT_SECRET", "from-env"),
            ("AUTHSERVER_AUTHENTICATION_CLIENT_IDS", "x,y"),
            (
                "AUTHSERVER_AUTHENTICATION_SERVER_KEY_STORE",
                "/env/store.p12",
            ),
            ("AUTHSERVER_AUTHENTICATION_SERVER_KEY_STORE_PASSWORD", "pw"),
            ("AUTHSERVER_CONFIG", "/etc/authserver.properties"),
            ("HOME", "/root"),
            ("PATH", "/bin"),
        ],
    );
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let s = loaded.settings;
    assert_eq!(s.server.port, 9100);
    assert_eq!(s.auth.token_expiry, 100);
    assert_eq!(s.auth.client_secret.expose(), "from-env");
    assert_eq!(s.auth.client_ids, vec!["x", "y"]);
    assert_eq!(s.auth.key_store, Some(PathBuf::from("/env/store.p12")));
    assert_eq!(
        s.auth.key_store_password.as_ref().map(Secret::expose),
        Some("pw")
    );
}

#[test]
fn an_environment_alias_beats_the_files_canonical_key() {
    let loaded = load_env(
        "authentication.token.expiry = 100\n",
        &[("AUTHSERVER_AUTHENTICATION_TOKEN_TTL", "200")],
    );
    assert_eq!(loaded.settings.auth.token_expiry, 200);
}

#[test]
fn environment_canonical_beats_environment_alias() {
    let loaded = load_env(
        "",
        &[
            ("AUTHSERVER_AUTHENTICATION_TOKEN_TTL", "200"),
            ("AUTHSERVER_AUTHENTICATION_TOKEN_EXPIRY", "300"),
        ],
    );
    assert_eq!(loaded.settings.auth.token_expiry, 300);
    assert_eq!(loaded.warnings.len(), 1);
    assert!(
        loaded.warnings[0].starts_with(
            "environment variable AUTHSERVER_AUTHENTICATION_TOKEN_TTL is ignored: \
         AUTHSERVER_AUTHENTICATION_TOKEN_EXPIRY is also set and takes precedence"
        ),
        "{:?}",
        loaded.warnings
    );
}

#[test]
fn environment_supplies_required_keys_missing_from_the_file() {
    let loaded = try_load_env(
        "",
        &[
            ("AUTHSERVER_AUTHENTICATION_CLIENT_IDS", "a"),
            (
                "AUTHSERVER_AUTHENTICATION_REDIRECT_URI_WHITELIST",
                "https://a.example/",
            ),
            ("AUTHSERVER_AUTHENTICATION_CLIENT_SECRET", "x"),
        ],
    )
    .unwrap();
    assert_eq!(loaded.settings.auth.client_ids, vec!["a"]);
}

#[test]
fn bad_environment_value_names_the_variable_key_and_file() {
    let err = try_load_env(BASE, &[("AUTHSERVER_AUTHENTICATION_TOKEN_EXPIRY", "abc")]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "environment variable AUTHSERVER_AUTHENTICATION_TOKEN_EXPIRY (overrides authserver.properties): \
         authentication.token.expiry = \"abc\": expected a duration in seconds (or 15m, 12h, 7d)"
    );
}

#[test]
fn unknown_key_warns_with_line_and_suggestion() {
    let loaded = load("\n\n# x\nauthentication.client.id = a\nfoo.bar = 1\n");
    assert_eq!(
        loaded.warnings,
        vec![
            "authserver.properties:7: unknown key \"authentication.client.id\" (did you mean \"authentication.client.ids\"?)",
            "authserver.properties:8: unknown key \"foo.bar\"",
        ]
    );
}

#[test]
fn misspelled_alias_suggests_the_canonical_key() {
    let loaded = load("authentication.token.expirty = 5\nServer.Port = 1\n");
    assert_eq!(
        loaded.warnings,
        vec![
            "authserver.properties:4: unknown key \"authentication.token.expirty\" (did you mean \"authentication.token.expiry\"?)",
            "authserver.properties:5: unknown key \"Server.Port\" (did you mean \"server.port\"?)",
        ]
    );
}

#[test]
fn unknown_environment_variable_warns_with_suggestion() {
    let loaded = load_env(
        "",
        &[
            ("AUTHSERVER_AUTHENTICATION_CLIENT_ID", "a"),
            ("AUTHSERVER_ZZZ", "1"),
            ("AUTHSERVER_CONFIG", "x"),
            // the test suite's own, inherited by servers it or a benchmark starts
            (
                "AUTHSERVER_TEST_POSTGRES_URL",
                "postgres://127.0.0.1:55432/postgres",
            ),
        ],
    );
    assert_eq!(
        loaded.warnings,
        vec![
            "unknown environment variable \"AUTHSERVER_AUTHENTICATION_CLIENT_ID\" (did you mean \"AUTHSERVER_AUTHENTICATION_CLIENT_IDS\"?)",
            "unknown environment variable \"AUTHSERVER_ZZZ\"",
        ]
    );
}

#[test]
fn duplicate_key_later_wins_with_a_warning() {
    let loaded = load("server.port = 1\nserver.port = 2\n");
    assert_eq!(loaded.settings.server.port, 2);
    assert_eq!(
        loaded.warnings,
        vec!["authserver.properties:5: duplicate key \"server.port\" overrides line 4"]
    );
}
