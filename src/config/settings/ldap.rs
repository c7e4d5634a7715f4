//! `authentication.ldap.*`: the LDAP / Active Directory password check (off unless
//! `authentication.ldap.url` is set).

use std::path::PathBuf;

use url::Url;

use crate::config::reader::Reader;
use crate::config::values::{display_path, parse_pool_size, split_list, Secret};
use crate::config::ConfigError;

/// The placeholder of the user filter that the (escaped) user name replaces.
pub const USERNAME_PLACEHOLDER: &str = "{username}";
/// The placeholder of the group filter that the user's (escaped) DN replaces.
pub const DN_PLACEHOLDER: &str = "{dn}";

/// `authentication.ldap.*` settings.
#[derive(Debug, Clone)]
pub struct LdapSettings {
    /// Servers to try in order (`authentication.ldap.url`), `ldap://` or `ldaps://`.
    pub urls: Vec<Url>,
    /// Upgrade `ldap://` connections with StartTLS (`authentication.ldap.starttls`).
    pub starttls: bool,
    /// PEM file of the certificate authorities to trust (`authentication.ldap.ca.file`);
    /// none: the system's.
    pub ca_file: Option<PathBuf>,
    /// DN to search as (`authentication.ldap.bind.dn`); none: anonymous search.
    pub bind_dn: Option<String>,
    /// Its password (`authentication.ldap.bind.password`).
    pub bind_password: Option<Secret>,
    /// Where users (and groups) are searched (`authentication.ldap.base.dn`).
    pub base_dn: String,
    /// Filter finding one user, with `{username}` (`authentication.ldap.user.filter`).
    pub user_filter: String,
    /// Attribute holding the user name (`authentication.ldap.attribute.username`).
    pub attr_username: String,
    /// Attribute holding the display name (`authentication.ldap.attribute.name`).
    pub attr_name: String,
    /// Attribute holding the e-mail address (`authentication.ldap.attribute.email`).
    pub attr_email: String,
    /// Attribute holding the stable id (`authentication.ldap.attribute.id`); absent: the DN.
    pub attr_id: String,
    /// Attribute of the user entry listing its groups (`authentication.ldap.attribute.groups`).
    pub attr_groups: String,
    /// Filter finding the user's groups, with `{dn}` and `{username}`
    /// (`authentication.ldap.group.filter`); none: the groups attribute.
    pub group_filter: Option<String>,
    /// DN of the group whose members are administrators (`authentication.ldap.admin.group`).
    pub admin_group: Option<String>,
    /// Limit of one directory operation, connecting included (`authentication.ldap.timeout.seconds`).
    pub timeout_seconds: u64,
    /// Most directory operations at once (`authentication.ldap.pool.size`).
    pub pool_size: u32,
}

fn parse_ldap_url(entry: &str) -> Result<Url, String> {
    const EXPECTED: &str = "an ldap:// or ldaps:// URL with a host and no path, e.g. \
                            ldaps://ldap.example.com:636";
    let url = Url::parse(entry).map_err(|_| EXPECTED.to_string())?;
    let ok = matches!(url.scheme(), "ldap" | "ldaps")
        && url.host_str().is_some_and(|h| !h.is_empty())
        && matches!(url.path(), "" | "/")
        && url.query().is_none()
        && url.fragment().is_none()
        && url.username().is_empty()
        && url.password().is_none();
    if ok {
        Ok(url)
    } else {
        Err(EXPECTED.into())
    }
}

/// Whether a filter is balanced in parentheses and wrapped in one pair.
fn filter_shape_ok(filter: &str) -> bool {
    let mut depth = 0i32;
    for (i, c) in filter.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth < 0 || (depth == 0 && i + 1 != filter.len()) {
                    return false;
                }
            }
            _ if depth == 0 => return false,
            _ => {}
        }
    }
    depth == 0 && !filter.is_empty()
}

/// The keys of the group, in report order.
const LDAP_KEYS: [&str; 16] = [
    "authentication.ldap.url",
    "authentication.ldap.starttls",
    "authentication.ldap.ca.file",
    "authentication.ldap.bind.dn",
    "authentication.ldap.bind.password",
    "authentication.ldap.base.dn",
    "authentication.ldap.user.filter",
    "authentication.ldap.attribute.username",
    "authentication.ldap.attribute.name",
    "authentication.ldap.attribute.email",
    "authentication.ldap.attribute.id",
    "authentication.ldap.attribute.groups",
    "authentication.ldap.group.filter",
    "authentication.ldap.admin.group",
    "authentication.ldap.timeout.seconds",
    "authentication.ldap.pool.size",
];

impl LdapSettings {
    /// Reads `authentication.ldap.*`: `None` when `authentication.ldap.url` is not set.
    pub(super) fn read(r: &Reader<'_>) -> Result<Option<Self>, ConfigError> {
        const URL: &str = "authentication.ldap.url";
        let Some(raw) = r.get(URL)?.filter(|raw| !raw.trimmed().is_empty()) else {
            return Ok(None);
        };
        let mut urls = Vec::new();
        for entry in split_list(&raw.value) {
            urls.push(
                parse_ldap_url(&entry)
                    .map_err(|expected| r.invalid_entry(URL, &raw, &entry, expected))?,
            );
        }
        let starttls = r.boolean("authentication.ldap.starttls")?;
        if starttls {
            if let Some(url) = urls.iter().find(|u| u.scheme() == "ldaps") {
                return Err(r.invalid_entry(
                    URL,
                    &raw,
                    url.as_str(),
                    "ldap:// URLs only when authentication.ldap.starttls is true (ldaps:// is \
                     TLS from the start)",
                ));
            }
        }
        let ca_file = r
            .optional("authentication.ldap.ca.file")?
            .map(PathBuf::from);
        let bind_dn = r.optional("authentication.ldap.bind.dn")?;
        const BIND_PASSWORD: &str = "authentication.ldap.bind.password";
        let bind_password = r
            .get(BIND_PASSWORD)?
            .filter(|raw| !raw.value.is_empty())
            .map(|raw| Secret::new(raw.value));
        if bind_dn.is_some() && bind_password.is_none() {
            return Err(r.missing(
                BIND_PASSWORD,
                "the password of authentication.ldap.bind.dn (or leave both unset to search \
                 anonymously)",
            ));
        }
        const BASE: &str = "authentication.ldap.base.dn";
        let base_dn = r.optional(BASE)?.ok_or_else(|| {
            r.missing(
                BASE,
                "the DN under which users are searched, e.g. ou=people,dc=example,dc=com",
            )
        })?;
        const FILTER: &str = "authentication.ldap.user.filter";
        let user_filter = r.optional(FILTER)?.unwrap_or_default();
        if !user_filter.contains(USERNAME_PLACEHOLDER) || !filter_shape_ok(&user_filter) {
            if let Some(raw) = r.get(FILTER)? {
                return Err(r.invalid(
                    FILTER,
                    &raw,
                    "an LDAP filter in parentheses containing {username}, e.g. \
                     (&(objectClass=person)(uid={username}))",
                ));
            }
        }
        const GROUP_FILTER: &str = "authentication.ldap.group.filter";
        let group_filter = r.optional(GROUP_FILTER)?;
        if let Some(filter) = &group_filter {
            if !filter_shape_ok(filter)
                || !(filter.contains(DN_PLACEHOLDER) || filter.contains(USERNAME_PLACEHOLDER))
            {
                if let Some(raw) = r.get(GROUP_FILTER)? {
                    return Err(r.invalid(
                        GROUP_FILTER,
                        &raw,
                        "an LDAP filter in parentheses containing {dn} or {username}, e.g. \
                         (&(objectClass=groupOfNames)(member={dn}))",
                    ));
                }
            }
        }
        let attr = |key: &'static str| -> Result<String, ConfigError> {
            Ok(r.optional(key)?.unwrap_or_default())
        };
        let timeout_seconds = r.duration("authentication.ldap.timeout.seconds")?;
        if timeout_seconds == 0 {
            if let Some(raw) = r.get("authentication.ldap.timeout.seconds")? {
                return Err(r.invalid(
                    "authentication.ldap.timeout.seconds",
                    &raw,
                    "at least 1 second",
                ));
            }
        }
        Ok(Some(LdapSettings {
            urls,
            starttls,
            ca_file,
            bind_dn,
            bind_password,
            base_dn,
            user_filter,
            attr_username: attr("authentication.ldap.attribute.username")?,
            attr_name: attr("authentication.ldap.attribute.name")?,
            attr_email: attr("authentication.ldap.attribute.email")?,
            attr_id: attr("authentication.ldap.attribute.id")?,
            attr_groups: attr("authentication.ldap.attribute.groups")?,
            group_filter,
            admin_group: r.optional("authentication.ldap.admin.group")?,
            timeout_seconds,
            pool_size: r.defaulted("authentication.ldap.pool.size", parse_pool_size)?,
        }))
    }

    /// The `authentication.ldap.*` rows of the report (password masked).
    pub(super) fn effective(this: Option<&Self>) -> Vec<(&'static str, String)> {
        let Some(s) = this else {
            // no directory: the other keys are not in force
            return LDAP_KEYS.iter().map(|k| (*k, String::new())).collect();
        };
        vec![
            (
                "authentication.ldap.url",
                s.urls
                    .iter()
                    .map(|u| u.as_str().trim_end_matches('/').to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            ("authentication.ldap.starttls", s.starttls.to_string()),
            (
                "authentication.ldap.ca.file",
                display_path(s.ca_file.as_ref()),
            ),
            (
                "authentication.ldap.bind.dn",
                s.bind_dn.clone().unwrap_or_default(),
            ),
            (
                "authentication.ldap.bind.password",
                s.bind_password
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
            ),
            ("authentication.ldap.base.dn", s.base_dn.clone()),
            ("authentication.ldap.user.filter", s.user_filter.clone()),
            (
                "authentication.ldap.attribute.username",
                s.attr_username.clone(),
            ),
            ("authentication.ldap.attribute.name", s.attr_name.clone()),
            ("authentication.ldap.attribute.email", s.attr_email.clone()),
            ("authentication.ldap.attribute.id", s.attr_id.clone()),
            (
                "authentication.ldap.attribute.groups",
                s.attr_groups.clone(),
            ),
            (
                "authentication.ldap.group.filter",
                s.group_filter.clone().unwrap_or_default(),
            ),
            (
                "authentication.ldap.admin.group",
                s.admin_group.clone().unwrap_or_default(),
            ),
            (
                "authentication.ldap.timeout.seconds",
                s.timeout_seconds.to_string(),
            ),
            ("authentication.ldap.pool.size", s.pool_size.to_string()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_must_be_one_balanced_parenthesised_expression() {
        assert!(filter_shape_ok("(uid={username})"));
        assert!(filter_shape_ok("(&(objectClass=person)(uid={username}))"));
        assert!(!filter_shape_ok("uid={username}"));
        assert!(!filter_shape_ok("(uid={username})(cn=x)"));
        assert!(!filter_shape_ok("((uid={username})"));
        assert!(!filter_shape_ok("(uid={username}))"));
        assert!(!filter_shape_ok(""));
    }

    #[test]
    fn only_ldap_and_ldaps_urls_with_a_host() {
        assert!(parse_ldap_url("ldap://127.0.0.1:389").is_ok());
        assert!(parse_ldap_url("ldaps://dc1.corp.example").is_ok());
        assert!(parse_ldap_url("ldaps://dc1.corp.example/").is_ok());
        assert!(parse_ldap_url("http://dc1.corp.example").is_err());
        assert!(parse_ldap_url("ldap:///").is_err());
        assert!(parse_ldap_url("ldap://host/dc=example").is_err());
        assert!(parse_ldap_url("ldap://user:pw@host").is_err());
    }
}
