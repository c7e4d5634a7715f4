//! The integration suite of `tests/api` against PostgreSQL: the same modules, compiled into
//! a second binary whose crate name (`postgres`) makes the harness give every test server a
//! fresh PostgreSQL database (see `helpers::backend_is_postgres`).
//!
//! Built only when `AUTHSERVER_TEST_POSTGRES_URL` is set at build time (build.rs then sets
//! `cfg(authserver_pg_tests)`); e.g. with the throwaway server of `.ci/postgres.sh`:
//!
//! ```sh
//! export AUTHSERVER_TEST_POSTGRES_URL="$(.ci/postgres.sh start /tmp/authserver-pg)"
//! cargo test --test postgres
//! .ci/postgres.sh stop /tmp/authserver-pg
//! ```
#[cfg(authserver_pg_tests)]
#[path = "../api/account.rs"]
mod account;
#[cfg(authserver_pg_tests)]
#[path = "../api/apache.rs"]
mod apache;
#[cfg(authserver_pg_tests)]
#[path = "../api/authorize_errors.rs"]
mod authorize_errors;
#[cfg(authserver_pg_tests)]
#[path = "../api/browser.rs"]
mod browser;
#[cfg(authserver_pg_tests)]
#[path = "../api/browser_account.rs"]
mod browser_account;
#[cfg(authserver_pg_tests)]
#[path = "../api/browser_card.rs"]
mod browser_card;
#[cfg(authserver_pg_tests)]
#[path = "../api/browser_dcr.rs"]
mod browser_dcr;
#[cfg(authserver_pg_tests)]
#[path = "../api/browser_device.rs"]
mod browser_device;
#[cfg(authserver_pg_tests)]
#[path = "../api/browser_implicit.rs"]
mod browser_implicit;
#[cfg(authserver_pg_tests)]
#[path = "../api/browser_upstream.rs"]
mod browser_upstream;
#[cfg(authserver_pg_tests)]
#[path = "../api/cli.rs"]
mod cli;
#[cfg(authserver_pg_tests)]
#[path = "../api/client_credentials.rs"]
mod client_credentials;
#[cfg(authserver_pg_tests)]
#[path = "../api/client_secret_basic.rs"]
mod client_secret_basic;
#[cfg(authserver_pg_tests)]
#[path = "../api/code_exchange.rs"]
mod code_exchange;
#[cfg(authserver_pg_tests)]
#[path = "../api/config_errors.rs"]
mod config_errors;
#[cfg(authserver_pg_tests)]
#[path = "../api/consent.rs"]
mod consent;
#[cfg(authserver_pg_tests)]
#[path = "../api/device.rs"]
mod device;
#[cfg(authserver_pg_tests)]
#[path = "../api/discovery.rs"]
mod discovery;
#[cfg(authserver_pg_tests)]
#[path = "../api/durability.rs"]
mod durability;
#[cfg(authserver_pg_tests)]
#[path = "../api/external_users.rs"]
mod external_users;
#[cfg(authserver_pg_tests)]
#[path = "../api/helpers/mod.rs"]
mod helpers;
#[cfg(authserver_pg_tests)]
#[path = "../api/hostile.rs"]
mod hostile;
#[cfg(authserver_pg_tests)]
#[path = "../api/implicit.rs"]
mod implicit;
#[cfg(authserver_pg_tests)]
#[path = "../api/issued_pairs.rs"]
mod issued_pairs;
#[cfg(authserver_pg_tests)]
#[path = "../api/key_import.rs"]
mod key_import;
#[cfg(authserver_pg_tests)]
#[path = "../api/keys.rs"]
mod keys;
#[cfg(authserver_pg_tests)]
#[path = "../api/known_sources.rs"]
mod known_sources;
#[cfg(authserver_pg_tests)]
#[path = "../api/ldap.rs"]
mod ldap;
#[cfg(authserver_pg_tests)]
#[path = "../api/lifecycle/mod.rs"]
mod lifecycle;
#[cfg(authserver_pg_tests)]
#[path = "../api/lockout.rs"]
mod lockout;
#[cfg(authserver_pg_tests)]
#[path = "../api/logging.rs"]
mod logging;
#[cfg(authserver_pg_tests)]
#[path = "../api/management.rs"]
mod management;
#[cfg(authserver_pg_tests)]
#[path = "../api/mod_auth_openidc.rs"]
mod mod_auth_openidc;
#[cfg(authserver_pg_tests)]
#[path = "../api/multi_instance.rs"]
mod multi_instance;
#[cfg(authserver_pg_tests)]
#[path = "../api/native_apps.rs"]
mod native_apps;

#[cfg(authserver_pg_tests)]
#[path = "../api/operations.rs"]
mod operations;
#[cfg(authserver_pg_tests)]
#[path = "../api/password_grant.rs"]
mod password_grant;
#[cfg(authserver_pg_tests)]
#[path = "../api/pats.rs"]
mod pats;
#[cfg(authserver_pg_tests)]
#[path = "../api/pending_request.rs"]
mod pending_request;
#[cfg(authserver_pg_tests)]
#[path = "../api/private_key_jwt_rp.rs"]
mod private_key_jwt_rp;
#[cfg(authserver_pg_tests)]
#[path = "../api/redirect_whitelist.rs"]
mod redirect_whitelist;
#[cfg(authserver_pg_tests)]
#[path = "../api/refresh_family.rs"]
mod refresh_family;
#[cfg(authserver_pg_tests)]
#[path = "../api/registered_clients.rs"]
mod registered_clients;
#[cfg(authserver_pg_tests)]
#[path = "../api/registered_clients_rp.rs"]
mod registered_clients_rp;
#[cfg(authserver_pg_tests)]
#[path = "../api/registration.rs"]
mod registration;
#[cfg(authserver_pg_tests)]
#[path = "../api/roles.rs"]
mod roles;
#[cfg(authserver_pg_tests)]
#[path = "../api/saml.rs"]
mod saml;
#[cfg(authserver_pg_tests)]
#[path = "../api/saml_forge.rs"]
mod saml_forge;
#[cfg(authserver_pg_tests)]
#[path = "../api/saml_hostile.rs"]
mod saml_hostile;
#[cfg(authserver_pg_tests)]
#[path = "../api/saml_idp.rs"]
mod saml_idp;
#[cfg(authserver_pg_tests)]
#[path = "../api/saml_idp_config.rs"]
mod saml_idp_config;
#[cfg(authserver_pg_tests)]
#[path = "../api/saml_xml.rs"]
mod saml_xml;
#[cfg(authserver_pg_tests)]
#[path = "../api/saml_xmlsec.rs"]
mod saml_xmlsec;
#[cfg(authserver_pg_tests)]
#[path = "../api/script_refresh.rs"]
mod script_refresh;
#[cfg(authserver_pg_tests)]
#[path = "../api/service_accounts.rs"]
mod service_accounts;
#[cfg(authserver_pg_tests)]
#[path = "../api/signin.rs"]
mod signin;
#[cfg(authserver_pg_tests)]
#[path = "../api/slapd.rs"]
mod slapd;
#[cfg(authserver_pg_tests)]
#[path = "../api/smartcard.rs"]
mod smartcard;
#[cfg(authserver_pg_tests)]
#[path = "../api/smartcard_pki.rs"]
mod smartcard_pki;
#[cfg(authserver_pg_tests)]
#[path = "../api/sso.rs"]
mod sso;
#[cfg(authserver_pg_tests)]
#[path = "../api/tls.rs"]
mod tls;
#[cfg(authserver_pg_tests)]
#[path = "../api/twc_2024x_lane.rs"]
mod twc_2024x_lane;
#[cfg(authserver_pg_tests)]
#[path = "../api/upstream.rs"]
mod upstream;
#[cfg(authserver_pg_tests)]
#[path = "../api/validate_basic.rs"]
mod validate_basic;

/// Without a server to test against, the suite is one test that says how to run it.
#[cfg(not(authserver_pg_tests))]
#[test]
fn postgresql_suite_skipped() {
    use std::io::Write;
    // straight to stderr, not through eprintln!, which the test harness captures
    let _ = writeln!(
        std::io::stderr(),
        "PostgreSQL suite skipped: set AUTHSERVER_TEST_POSTGRES_URL=postgres://user@host:port/db \
         to run it (the user must be allowed to CREATE DATABASE; `.ci/postgres.sh start` \
         starts a throwaway server and prints such a URL)"
    );
}
