//! The checked-in development secret works on loopback only.

use super::*;

const DEV: &str = "dev-secret-change-before-production";

/// The required keys with the development secret, then `extra`.
fn with_dev_secret(extra: &str, env: &[(&str, &str)]) -> Result<Loaded, ConfigError> {
    try_load_env(
        &format!(
            "authentication.client.ids = app\n\
             authentication.redirect.uri.whitelist = https://app.example.com/cb\n\
             authentication.client.secret = {DEV}\n{extra}"
        ),
        env,
    )
}

#[test]
fn the_development_secret_is_accepted_on_loopback_addresses() {
    for address in ["127.0.0.1", "localhost", "::1", "127.0.0.2"] {
        let loaded = with_dev_secret(&format!("server.address = {address}\n"), &[]).unwrap();
        assert_eq!(loaded.settings.auth.client_secret.expose(), DEV);
    }
    // An http public URL on a loopback bind (a local proxy, a test setup) is fine too.
    with_dev_secret("server.public.url = http://auth.internal:8080\n", &[]).unwrap();
}

#[test]
fn the_development_secret_is_refused_on_a_non_loopback_address() {
    for address in ["0.0.0.0", "::", "192.0.2.10"] {
        let message = with_dev_secret(&format!("server.address = {address}\n"), &[])
            .unwrap_err()
            .to_string();
        assert!(!message.contains('\n'), "{message}");
        assert!(
            message.starts_with(
                "authserver.properties:3: authentication.client.secret is the development value"
            ),
            "{message}"
        );
        assert!(
            message.contains(&format!("server.address is {address}")),
            "{message}"
        );
        assert!(
            message.contains("AUTHSERVER_AUTHENTICATION_CLIENT_SECRET"),
            "{message}"
        );
        assert!(
            !message.contains(DEV),
            "the secret is not echoed: {message}"
        );
    }
}

#[test]
fn the_development_secret_is_refused_behind_an_https_public_url() {
    let message = with_dev_secret("server.public.url = https://auth.example.com\n", &[])
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("authentication.client.secret"),
        "{message}"
    );
    assert!(
        message.contains("server.public.url is https://auth.example.com"),
        "{message}"
    );

    // Native TLS makes the default public URL https as well.
    let message = with_dev_secret(
        "server.ssl.enabled = true\nserver.ssl.certificate = c.pem\nserver.ssl.key = k.pem\n",
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(
        message.contains("server.public.url is https://localhost:8555"),
        "{message}"
    );
}

#[test]
fn the_development_secret_from_the_environment_names_the_variable() {
    let message = try_load_env(
        &format!("{BASE}server.address = 0.0.0.0\n"),
        &[("AUTHSERVER_AUTHENTICATION_CLIENT_SECRET", DEV)],
    )
    .unwrap_err()
    .to_string();
    assert!(
        message.starts_with("environment variable AUTHSERVER_AUTHENTICATION_CLIENT_SECRET"),
        "{message}"
    );
}

#[test]
fn a_real_secret_from_the_environment_overrides_the_development_value_anywhere() {
    let loaded = with_dev_secret(
        "server.address = 0.0.0.0\nserver.public.url = https://auth.example.com\n",
        &[("AUTHSERVER_AUTHENTICATION_CLIENT_SECRET", "a-real-secret")],
    )
    .unwrap();
    assert_eq!(loaded.settings.auth.client_secret.expose(), "a-real-secret");
}

#[test]
fn the_shipped_file_holds_the_development_value_the_check_knows() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("authserver.properties");
    let loaded = Settings::load(&path, &[]).unwrap();
    assert_eq!(loaded.settings.auth.client_secret.expose(), DEV);
    let env = env_vec(&[("AUTHSERVER_SERVER_ADDRESS", "0.0.0.0")]);
    assert!(Settings::load(&path, &env).is_err());
}
