//! `authentication.oidc.*`: per-name keys for the upstream providers.

use super::*;

const CORP: &str = "authentication.oidc.providers = corp, google\n\
     authentication.oidc.provider.corp.issuer = https://login.corp.example/realms/main\n\
     authentication.oidc.provider.corp.client.id = authserver\n\
     authentication.oidc.provider.corp.client.secret = corp-s3cret\n\
     authentication.oidc.provider.corp.display.name = Corp SSO\n\
     authentication.oidc.provider.corp.admin.claim = groups\n\
     authentication.oidc.provider.corp.admin.value = twc-admins\n\
     authentication.oidc.provider.google.issuer = https://accounts.google.com\n\
     authentication.oidc.provider.google.client.id = 123.apps\n\
     authentication.oidc.provider.google.client.secret = g-s3cret\n\
     authentication.oidc.provider.google.scopes = email, profile\n\
     authentication.oidc.provider.google.username.claim = email\n";

#[test]
fn each_listed_provider_is_read_from_its_own_keys_with_the_defaults() {
    let loaded = load(CORP);
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let up = &loaded.settings.upstream;
    let names: Vec<&str> = up.providers.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["corp", "google"]);
    let corp = up.provider("corp").unwrap();
    assert_eq!(corp.issuer, "https://login.corp.example/realms/main");
    assert_eq!(corp.client_id, "authserver");
    assert!(corp.client_secret.ct_eq(b"corp-s3cret"));
    assert_eq!(corp.scopes, ["openid", "profile", "email"]);
    assert_eq!(corp.username_claim, "preferred_username");
    assert_eq!(corp.display_name, "Corp SSO");
    assert!(corp.require_verified_email);
    assert_eq!(
        corp.admin,
        Some(("groups".to_owned(), "twc-admins".to_owned()))
    );
    let google = up.provider("google").unwrap();
    assert_eq!(google.scopes, ["openid", "email", "profile"]);
    assert_eq!(google.username_claim, "email");
    assert_eq!(google.display_name, "google");
    assert_eq!(google.admin, None);
    // the report names every concrete key, secrets masked
    let report = loaded.settings.report();
    assert!(report.contains("authentication.oidc.providers = corp, google\n"));
    assert!(report.contains("authentication.oidc.provider.corp.client.secret = ********\n"));
    assert!(!report.contains("corp-s3cret") && !report.contains("g-s3cret"));
    assert!(!format!("{:?}", loaded.settings).contains("s3cret"));
}

#[test]
fn the_environment_overrides_a_provider_key_by_its_variable() {
    let loaded = load_env(
        CORP,
        &[
            (
                "AUTHSERVER_AUTHENTICATION_OIDC_PROVIDER_CORP_CLIENT_SECRET",
                "from-env",
            ),
            (
                "AUTHSERVER_AUTHENTICATION_OIDC_PROVIDER_GOOGLE_REQUIRE_VERIFIED_EMAIL",
                "no",
            ),
        ],
    );
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let up = &loaded.settings.upstream;
    assert!(up
        .provider("corp")
        .unwrap()
        .client_secret
        .ct_eq(b"from-env"));
    assert!(!up.provider("google").unwrap().require_verified_email);
}

#[test]
fn a_missing_or_bad_provider_key_is_an_error_naming_the_concrete_key() {
    let message = error("authentication.oidc.providers = corp\n");
    assert!(
        message.contains("authentication.oidc.provider.corp.issuer is missing"),
        "{message}"
    );
    let message = error(
        "authentication.oidc.providers = corp\n\
         authentication.oidc.provider.corp.issuer = ftp://idp\n",
    );
    assert!(
        message.contains("authserver.properties:5: authentication.oidc.provider.corp.issuer"),
        "{message}"
    );
    let message = error(
        "authentication.oidc.providers = corp\n\
         authentication.oidc.provider.corp.issuer = https://idp\n\
         authentication.oidc.provider.corp.client.id = a\n",
    );
    assert!(
        message.contains("authentication.oidc.provider.corp.client.secret is missing"),
        "{message}"
    );
    let message = error(
        "authentication.oidc.providers = corp\n\
         authentication.oidc.provider.corp.issuer = https://idp\n\
         authentication.oidc.provider.corp.client.id = a\n\
         authentication.oidc.provider.corp.client.secret = b\n\
         authentication.oidc.provider.corp.require.verified.email = maybe\n",
    );
    assert!(
        message.contains("authentication.oidc.provider.corp.require.verified.email = \"maybe\""),
        "{message}"
    );
    let message = error("authentication.oidc.providers = corp, corp.x\n");
    assert!(message.contains("entry \"corp.x\""), "{message}");
}

#[test]
fn keys_of_an_unlisted_provider_are_a_warning_not_an_unknown_key() {
    let loaded = load("authentication.oidc.provider.okta.issuer = https://okta.example\n");
    assert!(loaded.settings.upstream.providers.is_empty());
    assert_eq!(loaded.warnings.len(), 1, "{:?}", loaded.warnings);
    assert!(
        loaded.warnings[0].contains("authentication.oidc.provider.okta.issuer is ignored"),
        "{:?}",
        loaded.warnings
    );
}
