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
