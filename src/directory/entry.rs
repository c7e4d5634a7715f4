//! Reading a user entry: the attributes asked for, the account it describes, the Active
//! Directory disabled flag, the administrator group.
use ldap3::SearchEntry;

use crate::config::LdapSettings;

/// What the directory says about an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryAccount {
    /// The entry's DN.
    pub dn: String,
    /// Its stable id: the id attribute (a binary one such as objectGUID in hex), or the DN.
    pub external_id: String,
    /// Its user name (the username attribute, or the name typed when the entry has none).
    pub username: String,
    /// Display name.
    pub name: Option<String>,
    /// E-mail address.
    pub email: Option<String>,
    /// DNs of its groups.
    pub groups: Vec<String>,
    /// Member of the administrator group.
    pub admin: bool,
}

/// Active Directory's userAccountControl flag of a disabled account (ACCOUNTDISABLE).
const ACCOUNT_DISABLE: u32 = 0x2;

/// The attributes a user search asks for.
pub(super) fn wanted_attributes(s: &LdapSettings) -> Vec<String> {
    let mut attrs = vec![
        s.attr_username.clone(),
        s.attr_name.clone(),
        s.attr_email.clone(),
        s.attr_id.clone(),
        "userAccountControl".to_string(),
    ];
    if s.group_filter.is_none() {
        attrs.push(s.attr_groups.clone());
    }
    attrs.retain(|a| !a.is_empty());
    attrs
}

/// The values of an attribute (names compare case-insensitively, as in LDAP).
pub(super) fn values(entry: &SearchEntry, attr: &str) -> Vec<String> {
    entry
        .attrs
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case(attr))
        .flat_map(|(_, v)| v.iter().cloned())
        .collect()
}

fn first(entry: &SearchEntry, attr: &str) -> Option<String> {
    values(entry, attr)
        .into_iter()
        .map(|v| v.trim().to_string())
        .find(|v| !v.is_empty())
}

/// The stable id: a text attribute as it is, a binary one (objectGUID) in lowercase hex,
/// none: the DN.
fn external_id(entry: &SearchEntry, attr: &str) -> String {
    if let Some(text) = first(entry, attr) {
        return text;
    }
    entry
        .bin_attrs
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(attr))
        .and_then(|(_, v)| v.first())
        .filter(|bytes| !bytes.is_empty())
        .map(hex::encode)
        .unwrap_or_else(|| entry.dn.clone())
}

/// The account an entry describes (groups and admin flag filled in later).
pub(super) fn account(s: &LdapSettings, entry: &SearchEntry, typed: &str) -> DirectoryAccount {
    DirectoryAccount {
        dn: entry.dn.clone(),
        external_id: external_id(entry, &s.attr_id),
        username: first(entry, &s.attr_username).unwrap_or_else(|| typed.to_string()),
        name: first(entry, &s.attr_name),
        email: first(entry, &s.attr_email),
        groups: Vec::new(),
        admin: false,
    }
}

/// Whether the entry is a disabled Active Directory account.
pub(super) fn ad_disabled(entry: &SearchEntry) -> bool {
    first(entry, "userAccountControl")
        .and_then(|v| v.parse::<i64>().ok())
        .is_some_and(|flags| (flags as u32) & ACCOUNT_DISABLE != 0)
}

/// A DN compared loosely: case and the spaces around separators do not matter.
fn normalised_dn(dn: &str) -> String {
    dn.split(',')
        .map(|rdn| {
            rdn.split('=')
                .map(|p| p.trim().to_lowercase())
                .collect::<Vec<_>>()
                .join("=")
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Whether one of `groups` is the administrator group.
pub(super) fn is_admin(s: &LdapSettings, groups: &[String]) -> bool {
    let Some(admin) = &s.admin_group else {
        return false;
    };
    let admin = normalised_dn(admin);
    groups.iter().any(|g| normalised_dn(g) == admin)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn entry(attrs: &[(&str, &[&str])]) -> SearchEntry {
        SearchEntry {
            dn: "uid=a,ou=people,dc=example,dc=org".into(),
            attrs: attrs
                .iter()
                .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
                .collect(),
            bin_attrs: HashMap::new(),
        }
    }

    #[test]
    fn the_account_disable_bit_of_user_account_control_disables() {
        assert!(ad_disabled(&entry(&[("userAccountControl", &["514"])])));
        assert!(ad_disabled(&entry(&[("useraccountcontrol", &["2"])])));
        assert!(!ad_disabled(&entry(&[("userAccountControl", &["512"])])));
        assert!(!ad_disabled(&entry(&[("userAccountControl", &["66048"])])));
        assert!(!ad_disabled(&entry(&[])));
    }

    #[test]
    fn group_dns_compare_without_case_or_spaces() {
        assert_eq!(
            normalised_dn("CN=Admins, OU=Groups,dc=Example,DC=org"),
            "cn=admins,ou=groups,dc=example,dc=org"
        );
    }

    #[test]
    fn the_stable_id_is_the_id_attribute_or_else_the_dn() {
        let with = entry(&[("entryUUID", &["0b8a-11"])]);
        assert_eq!(external_id(&with, "entryuuid"), "0b8a-11");
        let mut binary = entry(&[]);
        binary
            .bin_attrs
            .insert("objectGUID".into(), vec![vec![0xde, 0xad, 0x01]]);
        assert_eq!(external_id(&binary, "objectGUID"), "dead01");
        assert_eq!(
            external_id(&entry(&[]), "entryUUID"),
            "uid=a,ou=people,dc=example,dc=org"
        );
    }
}
