//! The key table: secrets masked, report order, variable names.

use super::*;

#[test]
fn secrets_never_print() {
    let secret = Secret::new("hunter2");
    assert_eq!(format!("{secret}"), MASK);
    assert_eq!(format!("{secret:?}"), MASK);
    assert!(secret.ct_eq(b"hunter2"));
    assert!(!secret.ct_eq(b"hunter3"));
    assert!(!secret.ct_eq(b"hunter"));
    let s = settings(
        "authentication.server.key-store-password = storepass\n\
         database.url = postgres://user:dbpass@db/auth\n",
    );
    let debug = format!("{s:?}");
    assert!(
        !debug.contains("s3cret") && !debug.contains("storepass"),
        "{debug}"
    );
    let report = s.report();
    assert!(
        !report.contains("s3cret") && !report.contains("storepass") && !report.contains("dbpass"),
        "{report}"
    );
    assert!(report.contains("authentication.client.secret = ********\n"));
    assert!(
        report.contains("database.url = postgres://user:********@db/auth\n"),
        "{report}"
    );
}

#[test]
fn report_lists_every_canonical_key_once() {
    let report = settings("authentication.login.banner.text = Line\\nTwo\n").report();
    let listed: Vec<&str> = report
        .lines()
        .map(|l| l.split(" = ").next().unwrap())
        .collect();
    let expected: Vec<&str> = keys().filter(|s| !s.is_per_name()).map(|s| s.key).collect();
    assert_eq!(listed, expected);
    assert!(report.lines().all(|l| l.contains(" = ")));
    assert!(report.contains("server.public.url = http://localhost:8555\n"));
    assert!(report.contains("server.metrics.allow = 127.0.0.0/8, ::1/128\n"));
    assert!(report.contains("authentication.login.banner.text = Line\\nTwo\n"));
    assert!(report.contains("authentication.token.expiry = 900\n"));
}

#[test]
fn env_var_names_follow_the_spec() {
    assert_eq!(
        env_var_name("authentication.client.secret"),
        "AUTHSERVER_AUTHENTICATION_CLIENT_SECRET"
    );
    assert_eq!(
        env_var_name("authentication.server.key-store-password"),
        "AUTHSERVER_AUTHENTICATION_SERVER_KEY_STORE_PASSWORD"
    );
    // No two spellings share a variable.
    let mut names: Vec<String> = all_names().map(|(n, _, _)| env_var_name(n)).collect();
    let count = names.len();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), count);
}

#[test]
fn no_known_key_is_a_path_prefix_of_another() {
    // `config` nests dotted keys; a key that is also a table would clobber one of them.
    for a in keys() {
        for b in keys() {
            assert!(
                !b.key.starts_with(&format!("{}.", a.key)),
                "{} / {}",
                a.key,
                b.key
            );
        }
    }
}
