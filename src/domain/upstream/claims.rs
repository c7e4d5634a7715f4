//! From a provider's verified claims (ID token, then userinfo) to the
//! [`ExternalIdentity`] that is provisioned: which claim is the user name, whether the
//! email may be taken, who is an administrator.
use serde_json::{Map, Value};

use crate::config::UpstreamProvider;
use crate::domain::external::ExternalIdentity;

/// Why verified claims do not make an identity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimsError {
    /// No `sub` (the crate checks it is present; kept for claims merged by hand).
    #[error("the claims have no subject")]
    NoSubject,
}

/// The `source` of identities from provider `name`.
pub fn source(name: &str) -> String {
    format!("oidc:{name}")
}

fn text<'a>(claims: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    claims
        .get(name)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// `email_verified` is a boolean, but some providers send the string.
fn email_verified(claims: &Map<String, Value>) -> bool {
    match claims.get("email_verified") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

/// A claim as a list of strings (a JSON array of strings, or one string).
fn values(claims: &Map<String, Value>, name: &str) -> Vec<String> {
    match claims.get(name) {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

/// The identity `claims` describe at `provider`.
///
/// - user name: the configured claim; else the email (when it may be taken); else `sub`;
/// - email: only when `email_verified` is true, if the provider requires verified emails;
/// - name: `name`, else `given_name family_name`;
/// - admin: `admin.claim` equals or contains `admin.value`.
pub fn identity_from_claims(
    provider: &UpstreamProvider,
    claims: &Map<String, Value>,
) -> Result<ExternalIdentity, ClaimsError> {
    let sub = text(claims, "sub").ok_or(ClaimsError::NoSubject)?;
    let email = text(claims, "email")
        .filter(|_| !provider.require_verified_email || email_verified(claims))
        .map(str::to_owned);
    let configured = if provider.username_claim == "email" {
        email.clone()
    } else {
        text(claims, &provider.username_claim).map(str::to_owned)
    };
    let username = configured
        .or_else(|| email.clone())
        .unwrap_or_else(|| sub.to_owned());
    let name = text(claims, "name").map(str::to_owned).or_else(|| {
        let parts: Vec<&str> = ["given_name", "family_name"]
            .iter()
            .filter_map(|c| text(claims, c))
            .collect();
        (!parts.is_empty()).then(|| parts.join(" "))
    });
    let admin = provider
        .admin
        .as_ref()
        .is_some_and(|(claim, value)| values(claims, claim).iter().any(|v| v == value));
    let groups = provider
        .groups_claim
        .as_deref()
        .map(|claim| values(claims, claim))
        .unwrap_or_default();
    Ok(ExternalIdentity {
        source: source(&provider.name),
        external_id: sub.to_owned(),
        username,
        name,
        email,
        admin,
        groups,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;
    use serde_json::json;

    fn provider() -> UpstreamProvider {
        UpstreamProvider {
            name: "corp".into(),
            issuer: "https://idp.example.com".into(),
            client_id: "authserver".into(),
            client_secret: Secret::new("s"),
            scopes: vec!["openid".into()],
            username_claim: "preferred_username".into(),
            display_name: "Corp".into(),
            require_verified_email: true,
            admin: Some(("groups".into(), "admins".into())),
            groups_claim: Some("groups".into()),
        }
    }

    fn claims(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn the_configured_claim_names_the_user_and_a_verified_email_is_kept() {
        let id = identity_from_claims(
            &provider(),
            &claims(json!({"sub": "u-1", "preferred_username": "alice",
                "email": "a@example.com", "email_verified": true,
                "given_name": "Alice", "family_name": "Liddell",
                "groups": ["staff", "admins"]})),
        )
        .unwrap();
        assert_eq!(id.source, "oidc:corp");
        assert_eq!(id.external_id, "u-1");
        assert_eq!(id.username, "alice");
        assert_eq!(id.email.as_deref(), Some("a@example.com"));
        assert_eq!(id.name.as_deref(), Some("Alice Liddell"));
        assert!(id.admin);
        assert_eq!(id.groups, ["staff", "admins"]);
    }

    #[test]
    fn an_unverified_email_is_dropped_and_never_becomes_the_user_name() {
        let id = identity_from_claims(
            &provider(),
            &claims(
                json!({"sub": "u-2", "email": "b@example.com", "email_verified": false,
                "groups": "staff"}),
            ),
        )
        .unwrap();
        assert_eq!(id.email, None);
        assert_eq!(id.username, "u-2", "falls back to sub");
        assert!(!id.admin);
        let mut lenient = provider();
        lenient.require_verified_email = false;
        let id = identity_from_claims(
            &lenient,
            &claims(json!({"sub": "u-2", "email": "b@example.com"})),
        )
        .unwrap();
        assert_eq!(id.username, "b@example.com");
        assert_eq!(id.email.as_deref(), Some("b@example.com"));
        assert!(identity_from_claims(&lenient, &claims(json!({"name": "x"}))).is_err());
    }
}
