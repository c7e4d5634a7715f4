//! A Teamwork Cloud `authserver.properties`: its spellings of our settings, the keys of its
//! own deployment (ignored once, with the reason) and the features not supported yet.

use super::super::teamwork_cloud::{deployment_key, not_yet_key, DEPLOYMENT, NOT_YET};
use super::*;

#[test]
fn teamwork_cloud_lifetime_and_client_spellings_set_the_right_settings() {
    let loaded = load(
        "authentication.code.token.expirity = 45\n\
         authentication.refresh.token.expirity = 3600\n\
         authentication.unlimited.token.expirity = 86400\n\
         authentication.client.unlimited = cli\n\
         authentication.sso.token.expirity = 7200\n\
         authentication.token.expirity = 600\n",
    );
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let a = &loaded.settings.auth;
    assert_eq!(a.code_expiry, 45, "authorization code lifetime");
    assert_eq!(a.refresh_token_expiry, 3600, "refresh token lifetime");
    assert_eq!(a.permanent_token_expiry, 86400, "permanent token lifetime");
    assert_eq!(a.permanent_clients, vec!["cli"], "permanent clients");
    assert_eq!(a.sso_session_expiry, 7200, "SSO session lifetime");
    assert_eq!(a.token_expiry, 600, "ID and access token lifetime");
}

#[test]
fn deployment_keys_are_named_once_with_the_reason_and_without_a_suggestion() {
    let loaded = load(
        "cassandra.contactPoints = 10.0.0.1\n\
         cassandra.port = 9042\n\
         logging.config = /opt/twc/logback.xml\n\
         authentication.server.key-store-type = PKCS12\n\
         server.ssl.key-store = keystore.p12\n\
         server.ssl.key-store-password = x\n",
    );
    assert_eq!(loaded.warnings.len(), 1, "{:?}", loaded.warnings);
    let warning = &loaded.warnings[0];
    assert!(
        warning.starts_with(
            "authserver.properties: keys of Teamwork Cloud's own deployment are ignored"
        ),
        "{warning}"
    );
    for needle in [
        "cassandra.contactPoints (line 4), cassandra.port (line 5) [Teamwork Cloud's Cassandra",
        "logging.config (line 6) [the Java server's Logback file",
        "authentication.server.key-store-type (line 7) [authserver reads PKCS#12",
        "server.ssl.key-store (line 8), server.ssl.key-store-password (line 9) [the Java server's TLS key store",
    ] {
        assert!(warning.contains(needle), "{needle} in {warning}");
    }
    assert!(!warning.contains("did you mean"), "{warning}");
    assert!(!warning.contains("unknown key"), "{warning}");
}

#[test]
fn typos_of_known_keys_still_get_a_suggestion() {
    let loaded = load("authentication.client.passwords = app\ncassandra = x\n");
    assert_eq!(loaded.warnings.len(), 2, "{:?}", loaded.warnings);
    assert!(
        loaded.warnings[0].contains("(did you mean \"authentication.client.password\"?)"),
        "{:?}",
        loaded.warnings
    );
    // `cassandra.*` is the family, not the bare word
    assert!(loaded.warnings[1].contains("unknown key \"cassandra\""));
}

#[test]
fn no_known_key_or_alias_is_on_the_ignored_lists() {
    for (name, _, _) in all_names() {
        assert!(deployment_key(name).is_none(), "{name}");
        assert!(not_yet_key(name).is_none(), "{name}");
    }
    for foreign in DEPLOYMENT.iter().chain(NOT_YET) {
        assert!(!foreign.reason.is_empty(), "{}", foreign.pattern);
    }
}
