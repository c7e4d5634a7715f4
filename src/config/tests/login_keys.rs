//! The Teamwork Cloud keys of the login page and the implicit sign-in.

use super::*;

#[test]
fn the_implicit_keys_default_to_no_client_and_a_day() {
    let s = settings("");
    assert!(s.auth.implicit_clients.is_empty());
    assert_eq!(s.auth.implicit_token_expiry, 86400);
    assert!(s.auth.remember_me_hidden_clients.is_empty());
    assert!(!s.is_implicit_client("app"));
    assert!(s.offers_remember_me("app"));
}

#[test]
fn listed_clients_get_the_implicit_sign_in_and_lose_stay_signed_in() {
    let loaded = load(
        "authentication.client.implicit = app\n\
         authentication.implicit.token.expirity = 3600\n\
         authentication.remember.me.hidden.client.ids = app\n",
    );
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let s = loaded.settings;
    assert!(s.is_implicit_client("app"));
    assert!(!s.is_implicit_client("cli"));
    assert_eq!(s.auth.implicit_token_expiry, 3600);
    assert!(!s.offers_remember_me("app"));
    assert!(s.offers_remember_me("cli"));
}

#[test]
fn an_implicit_client_missing_from_the_client_ids_is_a_warning() {
    let loaded = load("authentication.client.implicit = MAGICDRAW\n");
    assert_eq!(loaded.warnings.len(), 1, "{:?}", loaded.warnings);
    assert!(
        loaded.warnings[0].contains("authentication.client.implicit lists \"MAGICDRAW\""),
        "{:?}",
        loaded.warnings
    );
}

#[test]
fn disabling_credentials_is_refused_without_another_identity_source() {
    let message = error("authentication.disable.credentials = true\n");
    assert!(message.contains("authserver.properties:4"), "{message}");
    assert!(
        message.contains("authentication.disable.credentials"),
        "{message}"
    );
    assert!(message.contains("another identity source"), "{message}");
    let s = settings("authentication.disable.credentials = false\n");
    assert!(s.offers_remember_me("app"), "false is accepted");
}
