//! Just-in-time users (`domain::external`): created at the first sign-in of an account of
//! another identity source, updated at every sign-in, refused when disabled, never merged
//! silently with a local user of the same name, disabled with their tokens when the
//! source says the account is gone.
use authserver::domain::external::{deprovision, provision, ExternalIdentity, ExternalRefusal};
use authserver::store::User;
use reqwest::Method;

use crate::helpers::lifecycle_helpers::{client_credentials, oauth_error};
use crate::helpers::pat_helpers::{add_user_as, issue_pat, pat_login, with_bearer};
use crate::helpers::{spawn_app, AppBuilder, TestApp, CLIENT};

fn identity(username: &str, external_id: &str) -> ExternalIdentity {
    ExternalIdentity {
        source: "ldap".into(),
        external_id: external_id.into(),
        username: username.into(),
        name: Some(format!("{username} Directory")),
        email: Some(format!("{username}@corp.example")),
        admin: false,
        groups: vec![],
    }
}

async fn provisioned(app: &TestApp, id: &ExternalIdentity) -> User {
    provision(&app.state, id)
        .await
        .unwrap()
        .unwrap_or_else(|refusal| panic!("provision refused: {refusal}"))
}

async fn refusal(app: &TestApp, id: &ExternalIdentity) -> ExternalRefusal {
    match provision(&app.state, id).await.unwrap() {
        Ok(user) => panic!("provision should refuse, made {user:?}"),
        Err(refusal) => refusal,
    }
}

#[tokio::test]
async fn a_first_sign_in_creates_an_external_user_without_a_usable_local_password() {
    let app = spawn_app().await;
    let user = provisioned(&app, &identity("dora", "uuid-dora")).await;
    assert_eq!(user.username, "dora");
    assert_eq!(user.source.as_deref(), Some("ldap"));
    assert_eq!(user.external_id.as_deref(), Some("uuid-dora"));
    assert_eq!(user.name.as_deref(), Some("dora Directory"));
    assert_eq!(user.email.as_deref(), Some("dora@corp.example"));
    assert!(!user.admin && !user.disabled);
    let stored = app.state.store.user_by_name("dora").await.unwrap().unwrap();
    assert_eq!(stored.id, user.id);

    // no local password verifies: not the stored marker, not an empty one
    for password in [authserver::store::EXTERNAL_PASSWORD_MARKER, "", "dora"] {
        let resp = client_credentials(&app, CLIENT, "dora", password).await;
        oauth_error(resp, 401, "invalid_client").await;
    }
    let (_, challenge) = crate::helpers::pkce_pair();
    let page = app.login_page(&app.authorize_url(&challenge, &[])).await;
    let resp = app
        .submit_login(
            &page,
            "dora",
            authserver::store::EXTERNAL_PASSWORD_MARKER,
            false,
        )
        .await;
    assert_eq!(resp.status(), 401, "the login page again, not a redirect");
    // and the CLI cannot give it one
    let out = app.cli(
        &["user", "passwd", "dora", "--password-stdin"],
        Some("new-password-1\n"),
    );
    assert!(
        !out.status.success(),
        "user passwd on an external user must fail"
    );
}

#[tokio::test]
async fn every_sign_in_writes_name_email_and_admin_flag_from_the_source() {
    let app = spawn_app().await;
    let mut erin = identity("erin", "uuid-erin");
    erin.admin = true;
    let first = provisioned(&app, &erin).await;
    assert!(first.admin);
    let (_, pat) = issue_pat(&app, &first, "management", None).await;
    let list_users = || async {
        with_bearer(&app, Method::GET, "/api/users", &pat)
            .send()
            .await
            .unwrap()
            .status()
    };
    assert_eq!(list_users().await, 200);

    let mut changed = erin.clone();
    changed.name = Some("Erin Renamed".into());
    changed.email = Some("erin.new@corp.example".into());
    changed.admin = false;
    let second = provisioned(&app, &changed).await;
    assert_eq!(second.id, first.id, "the same row");
    assert_eq!(second.name.as_deref(), Some("Erin Renamed"));
    assert_eq!(second.email.as_deref(), Some("erin.new@corp.example"));
    assert!(!second.admin);
    assert_eq!(
        list_users().await,
        403,
        "the lost admin flag took effect at once"
    );

    changed.admin = true;
    let third = provisioned(&app, &changed).await;
    assert!(third.admin);
    assert_eq!(list_users().await, 200, "and so does a new one");

    // a rename in the source (same stable id) renames the row
    let mut renamed = changed.clone();
    renamed.username = "erin2".into();
    let fourth = provisioned(&app, &renamed).await;
    assert_eq!(fourth.id, first.id);
    assert_eq!(fourth.username, "erin2");
    assert!(app
        .state
        .store
        .user_by_name("erin")
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn a_user_an_administrator_disabled_is_refused_and_stays_disabled() {
    let app = spawn_app().await;
    provisioned(&app, &identity("fay", "uuid-fay")).await;
    app.state
        .store
        .set_disabled("fay", true, app.clock_now())
        .await
        .unwrap();
    assert_eq!(
        refusal(&app, &identity("fay", "uuid-fay")).await,
        ExternalRefusal::Disabled
    );
    let row = app.state.store.user_by_name("fay").await.unwrap().unwrap();
    assert!(
        row.disabled,
        "a sign-in does not lift an administrator's disable"
    );
    assert!(!ExternalRefusal::Disabled.message().is_empty());
}

#[tokio::test]
async fn deprovision_disables_the_user_kills_its_tokens_and_the_source_can_enable_it_again() {
    let app = spawn_app().await;
    let user = provisioned(&app, &identity("gus", "uuid-gus")).await;
    let (_, pat) = issue_pat(&app, &user, "data", None).await;
    let resp = pat_login(&app, CLIENT, &pat).await;
    assert_eq!(resp.status(), 200, "a PAT of an external user works");
    let tokens: serde_json::Value = resp.json().await.unwrap();
    let access = tokens["access_token"].as_str().unwrap().to_string();
    assert_eq!(app.validate_status("Bearer", &access).await, 200);

    deprovision(&app.state, "ldap", "uuid-gus").await.unwrap();
    let row = app.state.store.user_by_name("gus").await.unwrap().unwrap();
    assert!(row.disabled && row.source_disabled);
    assert_eq!(app.validate_status("Bearer", &access).await, 401);
    oauth_error(pat_login(&app, CLIENT, &pat).await, 401, "invalid_client").await;
    // unknown accounts are no error
    deprovision(&app.state, "ldap", "uuid-nobody")
        .await
        .unwrap();

    // the source vouches for the account again (a successful directory sign-in)
    let back = provisioned(&app, &identity("gus", "uuid-gus")).await;
    assert!(!back.disabled && !back.source_disabled);
    // its old PAT stays dead
    oauth_error(pat_login(&app, CLIENT, &pat).await, 401, "invalid_client").await;
}

#[tokio::test]
async fn a_name_of_a_local_user_or_of_another_account_is_refused_not_merged() {
    let app = spawn_app().await;
    let local = add_user_as(&app, "hal", "local-password", false).await;
    assert_eq!(
        refusal(&app, &identity("hal", "uuid-hal")).await,
        ExternalRefusal::NameTaken
    );
    let row = app.state.store.user_by_name("hal").await.unwrap().unwrap();
    assert_eq!(row.id, local.id);
    assert!(row.source.is_none(), "the local user is untouched");
    assert_eq!(row.password_hash, local.password_hash);

    // another account of the same source with the name of an existing external user
    provisioned(&app, &identity("ivy", "uuid-ivy-1")).await;
    assert_eq!(
        refusal(&app, &identity("ivy", "uuid-ivy-2")).await,
        ExternalRefusal::NameTaken
    );
    // the same name from another source
    let mut upstream = identity("ivy", "sub-ivy");
    upstream.source = "oidc:corp".into();
    assert_eq!(refusal(&app, &upstream).await, ExternalRefusal::NameTaken);
    // a rename onto a taken name
    provisioned(&app, &identity("jo", "uuid-jo")).await;
    assert_eq!(
        refusal(&app, &identity("hal", "uuid-jo")).await,
        ExternalRefusal::NameTaken
    );
    // a name that is not a valid user name here
    assert!(matches!(
        refusal(&app, &identity("a:b", "uuid-colon")).await,
        ExternalRefusal::InvalidName(_)
    ));
}

#[tokio::test]
async fn with_link_local_a_local_user_becomes_the_sources_and_loses_its_local_password() {
    let app = AppBuilder::new()
        .set("authentication.external.link.local", "true")
        .spawn()
        .await;
    let local = add_user_as(&app, "kim", "local-password", false).await;
    let (_, pat) = issue_pat(&app, &local, "data", None).await;
    let linked = provisioned(&app, &identity("kim", "uuid-kim")).await;
    assert_eq!(linked.id, local.id);
    assert_eq!(linked.source.as_deref(), Some("ldap"));
    assert_eq!(linked.name.as_deref(), Some("kim Directory"));
    oauth_error(
        client_credentials(&app, CLIENT, "kim", "local-password").await,
        401,
        "invalid_client",
    )
    .await;
    assert_eq!(
        pat_login(&app, CLIENT, &pat).await.status(),
        200,
        "its PATs stay"
    );

    // a disabled local user is not linked
    add_user_as(&app, "lee", "local-password", false).await;
    app.state
        .store
        .set_disabled("lee", true, app.clock_now())
        .await
        .unwrap();
    assert_eq!(
        refusal(&app, &identity("lee", "uuid-lee")).await,
        ExternalRefusal::Disabled
    );
}

#[tokio::test]
async fn concurrent_first_sign_ins_of_one_account_make_one_user() {
    let app = spawn_app().await;
    let id = identity("max", "uuid-max");
    let results = futures::future::join_all((0..8).map(|_| provision(&app.state, &id))).await;
    let ids: Vec<i64> = results
        .into_iter()
        .map(|r| r.unwrap().unwrap().id)
        .collect();
    assert!(ids.iter().all(|i| *i == ids[0]), "{ids:?}");
}
