//! `authentication.ldap.*`: off unless a URL is set; every error names its key.

use super::*;

const LDAP: &str = "authentication.ldap.url = ldap://127.0.0.1:3890, ldap://10.0.0.2\n\
                    authentication.ldap.base.dn = ou=people,dc=example,dc=org\n";

#[test]
fn without_a_url_there_is_no_directory() {
    assert!(settings("").ldap.is_none());
    assert!(settings("authentication.ldap.url =\n").ldap.is_none());
}

#[test]
fn the_defaults_fit_openldap() {
    let s = settings(LDAP).ldap.unwrap();
    assert_eq!(s.urls.len(), 2);
    assert_eq!(s.base_dn, "ou=people,dc=example,dc=org");
    assert_eq!(s.user_filter, "(&(objectClass=person)(uid={username}))");
    assert_eq!(
        (
            s.attr_username.as_str(),
            s.attr_name.as_str(),
            s.attr_email.as_str(),
            s.attr_id.as_str(),
            s.attr_groups.as_str()
        ),
        ("uid", "cn", "mail", "entryUUID", "memberOf")
    );
    assert!(!s.starttls && s.ca_file.is_none() && s.bind_dn.is_none());
    assert!(s.group_filter.is_none() && s.admin_group.is_none());
    assert_eq!((s.timeout_seconds, s.pool_size), (5, 8));
}

#[test]
fn the_bind_password_comes_from_the_environment_and_is_never_shown() {
    let loaded = load_env(
        &format!("{LDAP}authentication.ldap.bind.dn = cn=reader,dc=example,dc=org\n"),
        &[(
            "AUTHSERVER_AUTHENTICATION_LDAP_BIND_PASSWORD",
            "hunter2-ldap",
        )],
    );
    let s = loaded.settings;
    assert_eq!(
        s.ldap
            .as_ref()
            .unwrap()
            .bind_password
            .as_ref()
            .unwrap()
            .expose(),
        "hunter2-ldap"
    );
    let report = s.report();
    assert!(!report.contains("hunter2-ldap"), "{report}");
    assert!(
        report.contains("authentication.ldap.bind.dn = cn=reader"),
        "{report}"
    );
    assert!(!format!("{s:?}").contains("hunter2-ldap"));
}

#[test]
fn bad_values_are_refused_naming_the_key() {
    for (extra, key) in [
        (
            "authentication.ldap.url = http://dc.example\n",
            "authentication.ldap.url",
        ),
        (
            "authentication.ldap.url = ldap://dc.example\n",
            "authentication.ldap.base.dn",
        ),
        (
            &format!("{LDAP}authentication.ldap.user.filter = (uid=alice)\n") as &str,
            "authentication.ldap.user.filter",
        ),
        (
            &format!("{LDAP}authentication.ldap.user.filter = uid={{username}}\n"),
            "authentication.ldap.user.filter",
        ),
        (
            &format!("{LDAP}authentication.ldap.group.filter = (member=x)\n"),
            "authentication.ldap.group.filter",
        ),
        (
            &format!("{LDAP}authentication.ldap.bind.dn = cn=reader,dc=example,dc=org\n"),
            "authentication.ldap.bind.password",
        ),
        (
            &format!("{LDAP}authentication.ldap.starttls = true\nauthentication.ldap.url = ldaps://dc.example\n"),
            "authentication.ldap.url",
        ),
        (
            &format!("{LDAP}authentication.ldap.timeout.seconds = 0\n"),
            "authentication.ldap.timeout.seconds",
        ),
        (
            &format!("{LDAP}authentication.ldap.pool.size = 0\n"),
            "authentication.ldap.pool.size",
        ),
    ] {
        let message = error(extra);
        assert!(message.contains(key), "{extra:?}: {message}");
    }
}

#[test]
fn disabling_local_passwords_is_accepted_beside_a_directory() {
    let s = settings(&format!(
        "{LDAP}authentication.disable.credentials = true\n"
    ));
    assert!(s.auth.disable_credentials);
    assert!(s
        .report()
        .contains("authentication.disable.credentials = true"));
}
