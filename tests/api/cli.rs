//! The admin's command line against a live server's database.
use crate::helpers::{spawn_app, stderr};

#[tokio::test]
async fn user_add_hashes_the_password_with_argon2id_and_list_shows_the_user() {
    let app = spawn_app().await;
    let out = app.cli(
        &[
            "user",
            "add",
            "alice",
            "--email",
            "alice@example.com",
            "--name",
            "Alice A",
            "--admin",
            "--password-stdin",
        ],
        Some("correct horse battery\n"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let user = app
        .state
        .store
        .user_by_name("alice")
        .await
        .unwrap()
        .unwrap();
    assert!(
        user.password_hash.starts_with("$argon2id$"),
        "{}",
        user.password_hash
    );
    assert!(!user.password_hash.contains("correct horse"));
    assert!(authserver::password::verify(
        "correct horse battery",
        Some(&user.password_hash)
    ));
    assert!(user.admin);
    assert_eq!(user.email.as_deref(), Some("alice@example.com"));

    let out = app.cli(&["user", "list"], None);
    assert!(out.status.success());
    let listing = String::from_utf8(out.stdout).unwrap();
    let first = listing.lines().next().unwrap();
    assert!(first.starts_with("alice"), "{listing}");

    // duplicates are refused with exit 1 and a message
    let out = app.cli(
        &["user", "add", "alice", "--password-stdin"],
        Some("another password\n"),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("alice"));
}

#[tokio::test]
async fn passwd_disable_and_enable_change_the_stored_user() {
    let app = spawn_app().await;
    assert!(app
        .cli(
            &["user", "add", "bob", "--password-stdin"],
            Some("first password\n")
        )
        .status
        .success());
    let out = app.cli(
        &["user", "passwd", "bob", "--password-stdin"],
        Some("second password\r\n"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bob = app.state.store.user_by_name("bob").await.unwrap().unwrap();
    assert!(authserver::password::verify(
        "second password",
        Some(&bob.password_hash)
    ));
    assert!(!authserver::password::verify(
        "first password",
        Some(&bob.password_hash)
    ));

    assert!(app.cli(&["user", "disable", "bob"], None).status.success());
    assert!(
        app.state
            .store
            .user_by_name("bob")
            .await
            .unwrap()
            .unwrap()
            .disabled
    );
    let listing = String::from_utf8(app.cli(&["user", "list"], None).stdout).unwrap();
    assert!(listing.contains("disabled"), "{listing}");
    assert!(app.cli(&["user", "enable", "bob"], None).status.success());
    assert!(
        !app.state
            .store
            .user_by_name("bob")
            .await
            .unwrap()
            .unwrap()
            .disabled
    );
}

#[tokio::test]
async fn user_commands_report_bad_input_clearly() {
    let app = spawn_app().await;
    // no --password-stdin: usage error
    let out = app.cli(&["user", "add", "carol"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--password-stdin"));
    // a too-short password
    let out = app.cli(
        &["user", "add", "carol", "--password-stdin"],
        Some("short\n"),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least"));
    // a name with a colon (Basic auth splits there)
    let out = app.cli(
        &["user", "add", "ca:rol", "--password-stdin"],
        Some("long enough password\n"),
    );
    assert_eq!(out.status.code(), Some(2));
    // unknown user
    let out = app.cli(&["user", "disable", "nobody"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nobody"));
    // unknown command: clap's usage error
    let out = app.cli(&["frobnicate"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(app
        .state
        .store
        .user_by_name("carol")
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn version_is_printed() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_authserver"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("authserver "));
}

#[test]
fn config_reference_needs_no_properties_file_and_is_the_checked_in_docs_page() {
    let dir = tempfile::tempdir().unwrap();
    let out = crate::helpers::authserver_command()
        .current_dir(dir.path())
        .args(["config", "reference"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8(out.stdout).unwrap();
    assert!(printed.contains("| `authentication.token.expiry` | duration | `900` (15 minutes) | `authentication.token.expirity`, `authentication.token.ttl` |"));
    let docs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/configuration.md");
    assert!(
        std::fs::read_to_string(&docs).unwrap_or_default() == printed,
        "{} is out of date; regenerate it with: \
         cargo run -- config reference > docs/configuration.md",
        docs.display()
    );
}

#[test]
fn an_unreachable_postgresql_names_the_key_and_the_cause_without_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // nothing listens on that port any more
    let config = dir.path().join("authserver.properties");
    std::fs::write(
        &config,
        format!(
            "database.url = postgres://authserver:hunter2-secret@127.0.0.1:{port}/authserver\n\
             authentication.client.ids = webApplicationPlatform\n\
             authentication.redirect.uri.whitelist = http://localhost:8080/callback\n\
             authentication.client.secret = test-secret-0123456789\n"
        ),
    )
    .unwrap();
    let out = crate::helpers::run_cli(&config, &["user", "list"], None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("database.url"), "{stderr}");
    // the cause itself, not the pool's "timed out" after 30 s
    assert!(stderr.contains("cannot connect"), "{stderr}");
    assert!(stderr.contains("refused"), "{stderr}");
    assert!(
        !stderr.contains("hunter2"),
        "the password is masked: {stderr}"
    );
}

#[tokio::test]
async fn ids_that_begin_with_a_hyphen_are_taken_as_ids() {
    // generated ids are base64url, so one in 64 begins with '-'; `list` prints it that way
    // and the admin pastes it back
    let app = spawn_app().await;
    let created = app.cli(
        &[
            "client",
            "registration-token",
            "create",
            "--description",
            "x",
        ],
        None,
    );
    assert!(created.status.success(), "{}", stderr(&created));
    app.sql_exec("UPDATE registration_tokens SET id = '-Leading0Hyphen'")
        .await;
    let out = app.cli(
        &["client", "registration-token", "revoke", "-Leading0Hyphen"],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        app.sql_i64("SELECT COUNT(*) FROM registration_tokens")
            .await,
        0
    );
    // not a usage error (2) but the command's own answer (1), naming the id
    for args in [
        &["pat", "revoke", "-NoSuchId"][..],
        &["client", "show", "-NoSuchId"][..],
        &["client", "remove", "-NoSuchId"][..],
    ] {
        let out = app.cli(args, None);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(
            stderr(&out).contains("-NoSuchId"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
}
