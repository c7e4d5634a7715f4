//! From a checked assertion to the [`ExternalIdentity`] that is provisioned: the user name
//! is the NameID (or the `name.id.attribute` attribute), the stable id the NameID unless it
//! is transient, and name, e-mail, groups and the administrator flag come from the
//! configured attributes.
use samael::schema::Assertion;

use crate::config::saml::TRANSIENT;
use crate::config::SamlSettings;
use crate::domain::external::ExternalIdentity;

/// The `source` of users who sign in through SAML.
pub const SOURCE: &str = "saml";

/// Why an assertion does not name a user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoUser {
    /// Neither a NameID nor the configured attribute.
    #[error("the assertion names no user ({0})")]
    Missing(String),
}

/// Every value of the attribute called `name` (by `Name` or `FriendlyName`).
fn values(a: &Assertion, name: &str) -> Vec<String> {
    a.attribute_statements
        .iter()
        .flatten()
        .flat_map(|s| &s.attributes)
        .filter(|attr| {
            attr.name.as_deref() == Some(name) || attr.friendly_name.as_deref() == Some(name)
        })
        .flat_map(|attr| &attr.values)
        .filter_map(|v| v.value.as_deref())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .collect()
}

fn first(a: &Assertion, name: &str) -> Option<String> {
    values(a, name).into_iter().next()
}

/// The identity a checked assertion describes.
pub fn identity(settings: &SamlSettings, a: &Assertion) -> Result<ExternalIdentity, NoUser> {
    let name_id = a
        .subject
        .as_ref()
        .and_then(|s| s.name_id.as_ref())
        .map(|n| (n.value.trim().to_owned(), n.format.clone()))
        .filter(|(v, _)| !v.is_empty());
    let username = match &settings.name_id_attribute {
        Some(attr) => first(a, attr)
            .ok_or_else(|| NoUser::Missing(format!("no value of attribute {attr:?}")))?,
        None => name_id
            .as_ref()
            .map(|(v, _)| v.clone())
            .ok_or_else(|| NoUser::Missing("no NameID".into()))?,
    };
    // a transient NameID changes at every sign-in: the user name is the stable id then
    let external_id = match &name_id {
        Some((value, format)) if format.as_deref() != Some(TRANSIENT) => value.clone(),
        _ => username.clone(),
    };
    let groups = settings
        .attr_groups
        .as_deref()
        .map(|g| values(a, g))
        .unwrap_or_default();
    let admin = settings
        .admin_group
        .as_ref()
        .is_some_and(|admin| groups.iter().any(|g| g == admin));
    Ok(ExternalIdentity {
        source: SOURCE.to_owned(),
        external_id,
        username,
        name: first(a, &settings.attr_name),
        email: first(a, &settings.attr_email),
        admin,
        groups,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;

    fn settings(extra: &str) -> SamlSettings {
        let text = format!(
            "authentication.client.ids = app\n\
             authentication.redirect.uri.whitelist = https://app.example.com/cb\n\
             authentication.client.secret = s3cret\n\
             authentication.saml.enabled = true\n\
             authentication.saml.idp.metadata.file = /tmp/idp.xml\n{extra}"
        );
        Settings::from_str(&text, std::path::Path::new("t.properties"), &[])
            .unwrap()
            .settings
            .saml
            .unwrap()
    }

    fn assertion(name_id_format: &str) -> Assertion {
        format!(
            r#"<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_a" Version="2.0" IssueInstant="2026-01-01T00:00:00Z">
<saml:Issuer>idp</saml:Issuer>
<saml:Subject><saml:NameID Format="{name_id_format}">_3f1e</saml:NameID></saml:Subject>
<saml:AttributeStatement>
<saml:Attribute Name="uid"><saml:AttributeValue>alice</saml:AttributeValue></saml:Attribute>
<saml:Attribute Name="urn:oid:0.9.2342.19200300.100.1.3" FriendlyName="mail"><saml:AttributeValue>alice@example.org</saml:AttributeValue></saml:Attribute>
<saml:Attribute Name="displayName"><saml:AttributeValue> Alice Liddell </saml:AttributeValue></saml:Attribute>
<saml:Attribute Name="groups"><saml:AttributeValue>staff</saml:AttributeValue><saml:AttributeValue>twc-admins</saml:AttributeValue></saml:Attribute>
</saml:AttributeStatement>
</saml:Assertion>"#
        )
        .parse()
        .unwrap()
    }

    #[test]
    fn the_name_id_is_the_user_and_the_attributes_fill_in_the_rest() {
        let s = settings(
            "authentication.saml.attribute.groups = groups\n\
             authentication.saml.admin.group = twc-admins\n",
        );
        let id = identity(
            &s,
            &assertion("urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"),
        )
        .unwrap();
        assert_eq!(id.source, SOURCE);
        assert_eq!(id.username, "_3f1e");
        assert_eq!(id.external_id, "_3f1e");
        assert_eq!(id.name.as_deref(), Some("Alice Liddell"));
        // by FriendlyName too
        assert_eq!(id.email.as_deref(), Some("alice@example.org"));
        assert_eq!(id.groups, vec!["staff", "twc-admins"]);
        assert!(id.admin);
    }

    #[test]
    fn with_name_id_attribute_the_user_name_comes_from_it_and_a_transient_id_is_not_kept() {
        let s = settings("authentication.saml.name.id.attribute = uid\n");
        let persistent = identity(
            &s,
            &assertion("urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"),
        )
        .unwrap();
        assert_eq!(persistent.username, "alice");
        assert_eq!(persistent.external_id, "_3f1e");
        assert!(!persistent.admin);
        let transient = identity(&s, &assertion(TRANSIENT)).unwrap();
        assert_eq!(transient.username, "alice");
        assert_eq!(transient.external_id, "alice");
        let missing = settings("authentication.saml.name.id.attribute = employeeNumber\n");
        assert!(identity(&missing, &assertion(TRANSIENT)).is_err());
    }
}
