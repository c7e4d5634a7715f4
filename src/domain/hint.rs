//! `id_token_hint` (OIDC Core §3.1.2.1, RP-Initiated Logout §2): only an ID token this
//! server issued to one of its clients counts, expired or not.
//!
//! An access token is signed by the same key and carries `iss`, `sub`, `aud` (the client)
//! and `exp` too; what sets an ID token apart here is its header `typ` (`JWT`, access
//! tokens are `at+jwt`, RFC 9068) and the claims only access tokens have (`client_id`,
//! `scope`).
use crate::config::Settings;
use crate::domain::tokens::{IdClaims, ID_TYP};
use crate::keys::VerifyError;

/// Why a hint is refused (the text goes into `error_description`).
pub const INVALID_HINT: &str = "id_token_hint is not an ID token issued by this server";

/// The claims of a hint, given the result of verifying its signature with our keys
/// (`KeyManager::verify_fresh` as a JSON value). Expiry is not checked: a hint may be an
/// old ID token. Its audience must be a properties-file client.
pub fn id_token_claims(
    verified: Result<(Option<String>, serde_json::Value), VerifyError>,
    issuer: &str,
    settings: &Settings,
) -> Result<IdClaims, &'static str> {
    id_token_claims_for(verified, issuer, |aud| settings.is_allowed_client(aud))
}

/// [`id_token_claims`] with the audiences `is_client` admits (e.g. a registered client
/// the caller has looked up).
pub fn id_token_claims_for(
    verified: Result<(Option<String>, serde_json::Value), VerifyError>,
    issuer: &str,
    is_client: impl Fn(&str) -> bool,
) -> Result<IdClaims, &'static str> {
    let (typ, claims) = verified.map_err(|_| INVALID_HINT)?;
    if typ.as_deref() != Some(ID_TYP) {
        return Err(INVALID_HINT);
    }
    if claims.get("client_id").is_some() || claims.get("scope").is_some() {
        return Err(INVALID_HINT);
    }
    let claims: IdClaims = serde_json::from_value(claims).map_err(|_| INVALID_HINT)?;
    if claims.iss != issuer || !is_client(&claims.aud) {
        return Err(INVALID_HINT);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const ISSUER: &str = "http://127.0.0.1:8111/authentication";

    fn settings() -> Settings {
        let text = "authentication.client.ids = app\n\
                    authentication.redirect.uri.whitelist = http://localhost/cb\n\
                    authentication.client.secret = 0123456789abcdef0123456789abcdef\n";
        Settings::from_str(text, std::path::Path::new("test.properties"), &[])
            .map(|l| l.settings)
            .unwrap()
    }

    fn id_claims() -> serde_json::Value {
        json!({"iss": ISSUER, "sub": "alice", "aud": "app", "exp": 1, "iat": 0,
               "jti": "j", "gen": 0})
    }

    #[test]
    fn an_id_token_of_ours_is_accepted_even_expired() {
        let claims = id_token_claims(Ok((Some("JWT".into()), id_claims())), ISSUER, &settings());
        assert_eq!(claims.unwrap().sub, "alice");
    }

    #[test]
    fn access_tokens_foreign_issuers_and_unknown_clients_are_refused() {
        let s = settings();
        let mut access = id_claims();
        access["client_id"] = "app".into();
        access["scope"] = "openid".into();
        let mut foreign = id_claims();
        foreign["iss"] = "https://elsewhere".into();
        let mut other_client = id_claims();
        other_client["aud"] = "nobody".into();
        let mut scoped = id_claims();
        scoped["scope"] = "openid".into();
        for (what, typ, claims) in [
            ("access typ", Some("at+jwt"), id_claims()),
            ("no typ", None, id_claims()),
            ("access claims", Some("JWT"), access),
            ("a scope claim", Some("JWT"), scoped),
            ("foreign issuer", Some("JWT"), foreign),
            ("unknown client", Some("JWT"), other_client),
            ("not ID claims", Some("JWT"), json!({"iss": ISSUER})),
        ] {
            let got = id_token_claims(Ok((typ.map(str::to_string), claims)), ISSUER, &s);
            assert!(got.is_err(), "{what}");
        }
        assert!(id_token_claims(Err(VerifyError::BadSignature), ISSUER, &s).is_err());
    }
}
