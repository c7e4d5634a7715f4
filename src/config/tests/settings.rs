//! Defaults and every key read into the typed settings.

use super::*;

#[test]
fn defaults_apply_when_only_required_keys_are_set() {
    let loaded = load("");
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let s = loaded.settings;
    assert_eq!(s.source, PathBuf::from("authserver.properties"));
    assert_eq!(s.server.address, IpAddr::V4(Ipv4Addr::LOCALHOST));
    assert_eq!(s.server.port, 8555);
    assert_eq!(s.server.public_url.as_str(), "http://localhost:8555/");
    assert_eq!(s.issuer(), "http://localhost:8555/authentication");
    assert!(!s.server.ssl.enabled);
    assert_eq!(s.server.ssl.certificate, None);
    assert_eq!(s.server.ssl.key, None);
    assert!(s.server.trusted_proxies.is_empty());
    assert_eq!(
        s.server.metrics_allow,
        vec![
            "127.0.0.0/8".parse::<IpNet>().unwrap(),
            "::1/128".parse().unwrap()
        ]
    );
    assert_eq!(s.database.url, "sqlite://authserver.db");
    assert_eq!(s.database.max_connections, 8);
    let a = &s.auth;
    assert_eq!(a.client_ids, vec!["app", "cli"]);
    assert_eq!(a.redirect_whitelist, vec!["https://app.example.com/cb"]);
    assert_eq!(a.client_secret.expose(), "s3cret");
    assert_eq!(a.token_expiry, 900);
    assert!(a.permanent_clients.is_empty());
    assert_eq!(a.permanent_token_expiry, 630_720_000);
    assert_eq!(a.code_expiry, 60);
    assert_eq!(a.refresh_token_expiry, 1_209_600);
    assert_eq!(a.sso_session_expiry, 604_800);
    assert_eq!(a.refresh_reuse_grace, 30);
    assert_eq!(a.signing_algorithm, SigningAlgorithm::RS256);
    assert_eq!(a.signing_key, None);
    assert_eq!(a.signing_kid, None);
    assert_eq!(a.key_store, None);
    assert!(a.key_store_password.is_none());
    assert_eq!(a.key_alias, None);
    assert_eq!(a.login_banner_text, None);
    assert_eq!(s.logging.format, LogFormat::Text);
    assert_eq!(s.logging.level, "info");
}

#[test]
fn every_key_is_read_from_the_file() {
    let s = settings(
        "server.address = 0.0.0.0\n\
         server.port = 9443\n\
         server.public.url = https://auth.example.com/base/\n\
         server.ssl.enabled = true\n\
         server.ssl.certificate = /tls/cert.pem\n\
         server.ssl.key = /tls/key.pem\n\
         server.trusted.proxies = 10.0.0.0/8, 192.168.1.7\n\
         server.metrics.allow = 10.1.0.0/16\n\
         database.url = sqlite:///var/lib/authserver/db.sqlite\n\
         database.pool.size = 16\n\
         authentication.client.permanent = cli\n\
         authentication.token.expiry = 15m\n\
         authentication.permanent.token.expiry = 3650d\n\
         authentication.code.expiry = 30s\n\
         authentication.refresh.token.expiry = 14d\n\
         authentication.sso.session.expiry = 12h\n\
         authentication.refresh.token.reuse.grace = 5\n\
         authentication.signing.algorithm = EdDSA\n\
         authentication.signing.key = /keys/signing.pem\n\
         authentication.signing.kid = legacy-kid\n\
         authentication.server.key-store = /keys/store.p12\n\
         authentication.server.key-store-password = storepass\n\
         authentication.server.key-alias = twc\n\
         authentication.login.banner.text = Authorized use only.\n\
         logging.format = json\n\
         logging.level = debug,sqlx=warn\n",
    );
    assert_eq!(s.server.address, "0.0.0.0".parse::<IpAddr>().unwrap());
    assert_eq!(s.server.port, 9443);
    assert_eq!(
        s.server.public_url.as_str(),
        "https://auth.example.com/base"
    );
    assert_eq!(s.issuer(), "https://auth.example.com/base/authentication");
    assert!(s.server.ssl.enabled);
    assert_eq!(
        s.server.ssl.certificate,
        Some(PathBuf::from("/tls/cert.pem"))
    );
    assert_eq!(s.server.ssl.key, Some(PathBuf::from("/tls/key.pem")));
    assert_eq!(
        s.server.trusted_proxies,
        vec![
            "10.0.0.0/8".parse::<IpNet>().unwrap(),
            "192.168.1.7/32".parse().unwrap()
        ]
    );
    assert_eq!(s.server.metrics_allow, vec!["10.1.0.0/16".parse().unwrap()]);
    assert_eq!(s.database.url, "sqlite:///var/lib/authserver/db.sqlite");
    assert_eq!(s.database.max_connections, 16);
    let a = &s.auth;
    assert_eq!(a.permanent_clients, vec!["cli"]);
    assert_eq!(a.token_expiry, 900);
    assert_eq!(a.permanent_token_expiry, 3650 * 86_400);
    assert_eq!(a.code_expiry, 30);
    assert_eq!(a.refresh_token_expiry, 14 * 86_400);
    assert_eq!(a.sso_session_expiry, 12 * 3600);
    assert_eq!(a.refresh_reuse_grace, 5);
    assert_eq!(a.signing_algorithm, SigningAlgorithm::EdDSA);
    assert_eq!(a.signing_key, Some(PathBuf::from("/keys/signing.pem")));
    assert_eq!(a.signing_kid.as_deref(), Some("legacy-kid"));
    assert_eq!(a.key_store, Some(PathBuf::from("/keys/store.p12")));
    assert_eq!(
        a.key_store_password.as_ref().map(Secret::expose),
        Some("storepass")
    );
    assert_eq!(a.key_alias.as_deref(), Some("twc"));
    assert_eq!(a.login_banner_text.as_deref(), Some("Authorized use only."));
    assert_eq!(s.logging.format, LogFormat::Json);
    assert_eq!(s.logging.level, "debug,sqlx=warn");
    assert!(s.is_permanent_client("cli"));
    assert!(!s.is_permanent_client("app"));
    assert!(s.is_allowed_client("app"));
    assert!(!s.is_allowed_client("App"));
}

#[test]
fn the_shipped_development_file_loads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("authserver.properties");
    if path.exists() {
        let loaded = Settings::load(&path, &[]).unwrap();
        assert!(!loaded.settings.auth.client_ids.is_empty());
    }
}

#[test]
fn full_java_syntax_reaches_the_settings() {
    let text = "! Teamwork Cloud style\r\n\
                authentication.client.ids : app,\\\r\n      cli , \r\n\
                authentication.redirect.uri.whitelist https://app.example.com/cb\r\n\
                authentication.client.secret=s3\\u0063ret\r\n\
                authentication.login.banner.text = Caf\\u00e9\\tcrew\n";
    let s = try_load_env(text, &[]).unwrap().settings;
    assert_eq!(s.auth.client_ids, vec!["app", "cli"]);
    assert_eq!(s.auth.client_secret.expose(), "s3cret");
    assert_eq!(s.auth.login_banner_text.as_deref(), Some("Café\tcrew"));
}
