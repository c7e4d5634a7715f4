//! The configuration as the admin meets it: `authserver check-config` on real files.
use std::path::PathBuf;
use std::process::{Output, Stdio};

use tempfile::TempDir;

use crate::helpers::{authserver_command, stderr, stdout};

const GOOD: &str = "authentication.client.ids = webApplicationPlatform, MAGICDRAW\n\
authentication.redirect.uri.whitelist = http://localhost:8080/callback\n\
authentication.client.secret = s3cret-value-for-tests\n";

fn write(dir: &TempDir, text: &str) -> PathBuf {
    let path = dir.path().join("authserver.properties");
    std::fs::write(&path, text).unwrap();
    path
}

fn check(path: &std::path::Path, env: &[(&str, &str)]) -> Output {
    let mut cmd = authserver_command();
    cmd.arg("--config").arg(path).arg("check-config");
    cmd.envs(env.iter().copied());
    cmd.stdin(Stdio::null());
    cmd.output().unwrap()
}

/// Asserts exit code 2 and one stderr line naming all of `needles`.
fn assert_config_error(o: &Output, needles: &[&str]) {
    assert_eq!(o.status.code(), Some(2), "stderr: {}", stderr(o));
    let err = stderr(o);
    let line = err
        .lines()
        .find(|l| !l.contains("warning"))
        .unwrap_or_else(|| panic!("no error line in {err:?}"));
    for n in needles {
        assert!(line.contains(n), "{line:?} should mention {n:?}");
    }
}

#[test]
fn the_repository_sample_configuration_is_valid() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("authserver.properties");
    let o = check(&path, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("authentication.client.ids = webApplicationPlatform,MAGICDRAW,twc-rest-api")
            || out.contains(
                "authentication.client.ids = webApplicationPlatform, MAGICDRAW, twc-rest-api"
            ),
        "{out}"
    );
    assert!(
        !out.contains("dev-secret-change-before-production"),
        "secret masked: {out}"
    );
    assert!(!stderr(&o).contains("dev-secret-change-before-production"));
}

#[test]
fn a_missing_required_key_names_the_key_and_the_file() {
    let dir = TempDir::new().unwrap();
    let path = write(&dir, "authentication.client.ids = a\nauthentication.redirect.uri.whitelist = http://localhost/cb\n");
    let o = check(&path, &[]);
    assert_config_error(
        &o,
        &["authentication.client.secret", "authserver.properties"],
    );
}

#[test]
fn a_malformed_whitelist_url_is_an_error_naming_the_entry() {
    let dir = TempDir::new().unwrap();
    let path = write(
        &dir,
        "authentication.client.ids = a\nauthentication.redirect.uri.whitelist = http://localhost/cb, not a url\nauthentication.client.secret = abcdefgh\n",
    );
    let o = check(&path, &[]);
    assert_config_error(
        &o,
        &[
            "authentication.redirect.uri.whitelist",
            "not a url",
            "authserver.properties",
        ],
    );
}

#[test]
fn a_non_numeric_duration_is_an_error() {
    let dir = TempDir::new().unwrap();
    let path = write(&dir, &format!("{GOOD}authentication.token.expiry = soon\n"));
    let o = check(&path, &[]);
    assert_config_error(
        &o,
        &[
            "authentication.token.expiry",
            "soon",
            "authserver.properties",
        ],
    );
}

#[test]
fn an_unreadable_file_is_an_error_naming_the_file() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("missing.properties");
    let o = check(&path, &[]);
    assert_config_error(&o, &["missing.properties"]);
}

#[test]
fn the_placeholder_secret_is_refused() {
    let dir = TempDir::new().unwrap();
    let path = write(&dir, "authentication.client.ids = a\nauthentication.redirect.uri.whitelist = http://localhost/cb\nauthentication.client.secret = CHANGE_ME\n");
    let o = check(&path, &[]);
    assert_config_error(&o, &["authentication.client.secret"]);
}

#[test]
fn an_unknown_key_warns_with_a_suggestion_but_starts() {
    let dir = TempDir::new().unwrap();
    let path = write(&dir, &format!("{GOOD}authentication.token.expiri = 60\n"));
    let o = check(&path, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("authentication.token.expiri"), "{err}");
    assert!(err.contains("did you mean"), "{err}");
    assert!(err.contains("authentication.token.expiry"), "{err}");
}

#[test]
fn a_teamwork_cloud_file_starts_naming_its_deployment_keys_once_without_suggestions() {
    let dir = TempDir::new().unwrap();
    let path = write(
        &dir,
        &format!(
            "{GOOD}cassandra.contactPoints = 10.0.0.1\ncassandra.keyspace = twc\n\
             logging.config = logback.xml\nauthentication.server.key-store-type = PKCS12\n\
             authentication.code.token.expirity = 45\nauthentication.client.password = MAGICDRAW\n"
        ),
    );
    let o = check(&path, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    assert_eq!(
        err.matches("keys of Teamwork Cloud's own deployment are ignored")
            .count(),
        1,
        "{err}"
    );
    for key in [
        "cassandra.contactPoints",
        "cassandra.keyspace",
        "logging.config",
    ] {
        assert!(err.contains(key), "{key}: {err}");
    }
    assert!(!err.contains("did you mean"), "{err}");
    assert!(!err.contains("unknown key"), "{err}");
    let out = stdout(&o);
    assert!(out.contains("authentication.code.expiry"), "{out}");
    assert!(out.contains("45"), "{out}");
}

#[test]
fn an_environment_variable_overrides_the_file() {
    let dir = TempDir::new().unwrap();
    let path = write(&dir, &format!("{GOOD}authentication.token.expiry = 60\n"));
    let o = check(&path, &[("AUTHSERVER_AUTHENTICATION_TOKEN_EXPIRY", "120")]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("authentication.token.expiry = 120"),
        "{}",
        stdout(&o)
    );
    // a bad value from the environment names the variable
    let o = check(
        &path,
        &[("AUTHSERVER_AUTHENTICATION_TOKEN_EXPIRY", "later")],
    );
    assert_config_error(&o, &["AUTHSERVER_AUTHENTICATION_TOKEN_EXPIRY"]);
}

#[test]
fn the_config_file_can_be_chosen_with_authserver_config() {
    let dir = TempDir::new().unwrap();
    let path = write(&dir, &format!("{GOOD}authentication.code.expiry = 45\n"));
    let o = authserver_command()
        .arg("check-config")
        .env("AUTHSERVER_CONFIG", &path)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("authentication.code.expiry = 45"));
}

#[test]
fn java_properties_syntax_and_teamwork_cloud_aliases_are_understood() {
    let dir = TempDir::new().unwrap();
    let text = "# comment\n\
! another comment\n\
   \n\
authentication.client.ids: webApplicationPlatform, \\\n\
        MAGICDRAW\n\
authentication.redirect.uri.whitelist   http://localhost:8080/callback\n\
authentication.client.secret = caf\\u00e9-secret-value\n\
authentication.token.expirity = 15m\n\
authentication.unlimited.token.ttl = 7d\n\
authentication.client.unlimited = MAGICDRAW\n\
authentication.code.token.expirity = 30\n\
authentication.refresh.token.ttl = 12h\n\
authentication.sso.token.expirity = 3600\n\
classification.loginbannertext = Authorized\\ use only\n";
    let path = write(&dir, text);
    let o = check(&path, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    for expected in [
        "authentication.token.expiry = 900",
        "authentication.permanent.token.expiry = 604800",
        "authentication.code.expiry = 30",
        "authentication.refresh.token.expiry = 43200",
        "authentication.sso.session.expiry = 3600",
        "authentication.login.banner.text = Authorized use only",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in\n{out}");
    }
    assert!(out.contains("MAGICDRAW"), "{out}");
    assert!(!out.contains("café-secret-value"), "secret masked");
}

/// Runs `authserver serve` with the shipped properties file and `env`; kills it (and
/// fails) if it is still running after 20 s, i.e. if it started instead of refusing.
fn serve_shipped_file(env: &[(&str, &str)]) -> Output {
    let dir = TempDir::new().unwrap();
    let shipped = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("authserver.properties");
    let db = format!("sqlite://{}", dir.path().join("db.sqlite").display());
    let mut cmd = authserver_command();
    cmd.current_dir(dir.path())
        .arg("--config")
        .arg(&shipped)
        .arg("serve")
        .env("AUTHSERVER_SERVER_PORT", "0")
        .env("AUTHSERVER_DATABASE_URL", &db)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            let o = child.wait_with_output().unwrap();
            panic!("the server started: {}", stderr(&o));
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn the_development_secret_refuses_to_serve_on_a_non_loopback_address() {
    let o = serve_shipped_file(&[("AUTHSERVER_SERVER_ADDRESS", "0.0.0.0")]);
    assert_config_error(
        &o,
        &[
            "authentication.client.secret",
            "development value",
            "server.address is 0.0.0.0",
            "AUTHSERVER_AUTHENTICATION_CLIENT_SECRET",
        ],
    );
    assert!(!stderr(&o).contains("dev-secret-change-before-production"));
}

#[test]
fn the_development_secret_refuses_to_serve_behind_an_https_public_url() {
    let o = serve_shipped_file(&[("AUTHSERVER_SERVER_PUBLIC_URL", "https://auth.example.com")]);
    assert_config_error(
        &o,
        &[
            "authentication.client.secret",
            "server.public.url is https://auth.example.com",
            "AUTHSERVER_AUTHENTICATION_CLIENT_SECRET",
        ],
    );
}

#[test]
fn a_secret_from_the_environment_lets_the_shipped_file_run_anywhere() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("authserver.properties");
    let o = check(
        &path,
        &[
            ("AUTHSERVER_SERVER_ADDRESS", "0.0.0.0"),
            ("AUTHSERVER_SERVER_PUBLIC_URL", "https://auth.example.com"),
            (
                "AUTHSERVER_AUTHENTICATION_CLIENT_SECRET",
                "a-real-secret-for-tests",
            ),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}
