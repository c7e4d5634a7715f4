//! Integration tests: one binary, the real server over real HTTP, on SQLite. The same
//! modules make up `tests/postgres`, the suite on PostgreSQL: a new module goes into both.
mod account;
mod apache;
mod authorize_errors;
mod browser;
mod browser_account;
mod browser_card;
mod browser_dcr;
mod browser_device;
mod browser_implicit;
mod browser_upstream;
mod cli;
mod client_credentials;
mod client_secret_basic;
mod code_exchange;
mod config_errors;
mod consent;
mod device;
mod discovery;
mod durability;
mod external_users;
mod helpers;
mod hostile;
mod implicit;
mod issued_pairs;
mod key_import;
mod keys;
mod known_sources;
mod ldap;
mod lifecycle;
mod lockout;
mod logging;
mod management;
mod mod_auth_openidc;
mod multi_instance;
mod native_apps;
mod operations;
mod password_grant;
mod pats;
mod pending_request;
mod private_key_jwt_rp;
mod redirect_whitelist;
mod refresh_family;
mod registered_clients;
mod registered_clients_rp;
mod registration;
mod roles;
mod saml;
mod saml_forge;
mod saml_hostile;
mod saml_idp;
mod saml_idp_config;
mod saml_xml;
mod saml_xmlsec;
mod script_refresh;
mod service_accounts;
mod signin;
mod slapd;
mod smartcard;
mod smartcard_pki;
mod sso;
mod tls;
mod twc_2024x_lane;
mod upstream;
mod validate_basic;

/// `tests/postgres/main.rs` compiles every module of this suite: each file `x.rs` and each
/// directory module `x/mod.rs` of `tests/api`.
#[test]
fn the_postgres_suite_has_every_module() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let postgres = std::fs::read_to_string(dir.join("postgres/main.rs")).unwrap();
    for entry in std::fs::read_dir(dir.join("api")).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        let (module, file) = if entry.file_type().unwrap().is_dir() {
            if !entry.path().join("mod.rs").is_file() {
                continue;
            }
            (name.clone(), format!("{name}/mod.rs"))
        } else if let Some(module) = name.strip_suffix(".rs").filter(|m| *m != "main") {
            (module.to_string(), name.clone())
        } else {
            continue;
        };
        let declared = format!("#[path = \"../api/{file}\"]");
        assert!(
            postgres.contains(&declared),
            "tests/postgres/main.rs lacks `{declared} mod {module};`"
        );
    }
}
