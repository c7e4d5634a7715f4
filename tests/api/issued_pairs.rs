//! Repeated `client_credentials` calls are answered with the pair issued earlier while it
//! has at least 90 % of its lifetime left, and never after an event that ends it.
use serde_json::Value;

use crate::helpers::lifecycle_helpers::*;
use crate::helpers::pat_helpers::*;
use crate::helpers::*;

const USER: &str = "svc";
const PASSWORD: &str = "svc-password-1";
/// The permanent client of the test configuration.
const PERMANENT: &str = "twc-rest-api";
/// `authentication.token.expiry` of the test configuration (the default).
const LIFETIME: i64 = 900;

async fn app_with_user() -> TestApp {
    let app = spawn_app().await;
    app.add_user(USER, PASSWORD).await;
    app
}

fn same_pair(a: &Value, b: &Value) -> bool {
    a["access_token"] == b["access_token"] && a["id_token"] == b["id_token"]
}

fn expires_in(tokens: &Value) -> i64 {
    tokens["expires_in"].as_i64().unwrap()
}

#[tokio::test]
async fn a_second_call_gets_the_same_pair_with_a_smaller_expires_in() {
    let app = app_with_user().await;
    let first = client_credentials_ok(&app, CLIENT, USER, PASSWORD).await;
    assert_eq!(expires_in(&first), LIFETIME);
    app.clock.advance(30);
    let second = client_credentials_ok(&app, CLIENT, USER, PASSWORD).await;
    assert!(same_pair(&first, &second), "{first} / {second}");
    assert_eq!(expires_in(&second), LIFETIME - 30);
    assert_eq!(second["scope"], first["scope"]);
    assert!(second.get("refresh_token").is_none());
    assert_eq!(
        app.validate_status("Bearer", field(&second, "access_token"))
            .await,
        200
    );
}

#[tokio::test]
async fn a_permanent_clients_pair_is_reused_too() {
    let app = app_with_user().await;
    let first = client_credentials_ok(&app, PERMANENT, USER, PASSWORD).await;
    let lifetime = expires_in(&first);
    assert!(lifetime > LIFETIME, "the permanent lifetime: {first}");
    app.clock.advance(3600);
    let second = client_credentials_ok(&app, PERMANENT, USER, PASSWORD).await;
    assert!(same_pair(&first, &second));
    assert_eq!(expires_in(&second), lifetime - 3600);
}

#[tokio::test]
async fn a_pair_is_reused_until_less_than_ninety_percent_of_its_lifetime_is_left() {
    let app = app_with_user().await;
    let first = client_credentials_ok(&app, CLIENT, USER, PASSWORD).await;
    app.clock.advance(LIFETIME / 10);
    let at_the_limit = client_credentials_ok(&app, CLIENT, USER, PASSWORD).await;
    assert!(same_pair(&first, &at_the_limit), "exactly 90 % left");
    app.clock.advance(1);
    let fresh = client_credentials_ok(&app, CLIENT, USER, PASSWORD).await;
    assert!(!same_pair(&first, &fresh), "less than 90 % left");
    assert_eq!(expires_in(&fresh), LIFETIME);
    // the new pair is the one reused from now on
    let again = client_credentials_ok(&app, CLIENT, USER, PASSWORD).await;
    assert!(same_pair(&fresh, &again));
}

#[tokio::test]
async fn another_scope_another_client_or_another_password_gets_another_pair() {
    let app = app_with_user().await;
    let plain = client_credentials_ok(&app, CLIENT, USER, PASSWORD).await;
    let resp = post_token(
        &app,
        &[
            ("X-Auth-Secret", SECRET),
            ("Authorization", basic(USER, PASSWORD).as_str()),
        ],
        &[
            ("grant_type", "client_credentials"),
            ("client_id", CLIENT),
            ("scope", "email"),
        ],
    )
    .await;
    assert_eq!(resp.status(), 200);
    let with_email: Value = resp.json().await.unwrap();
    assert!(!same_pair(&plain, &with_email));
    let scope = with_email["scope"].as_str().unwrap();
    assert!(scope.split(' ').any(|s| s == "email"), "{scope}");
    let other_client = client_credentials_ok(&app, "MAGICDRAW", USER, PASSWORD).await;
    assert!(!same_pair(&plain, &other_client));
    assert!(!same_pair(&with_email, &other_client));
    assert_eq!(
        claims(&other_client, "access_token")["client_id"],
        "MAGICDRAW"
    );
    // each is reused for its own (credential, client, scope)
    let plain_again = client_credentials_ok(&app, CLIENT, USER, PASSWORD).await;
    assert!(same_pair(&plain, &plain_again));
    // a second user's pair is their own
    app.add_user("other", "other-password").await;
    let other_user = client_credentials_ok(&app, CLIENT, "other", "other-password").await;
    assert_eq!(claims(&other_user, "access_token")["sub"], "other");
}

#[tokio::test]
async fn revoking_the_access_token_gives_a_fresh_pair_next_time() {
    let app = app_with_user().await;
    let first = client_credentials_ok(&app, CLIENT, USER, PASSWORD).await;
    assert_eq!(
        revoke(&app, CLIENT, field(&first, "access_token"))
            .await
            .status(),
        200
    );
    assert_eq!(
        app.validate_status("Bearer", field(&first, "access_token"))
            .await,
        401
    );
    let next = client_credentials_ok(&app, CLIENT, USER, PASSWORD).await;
    assert!(!same_pair(&first, &next));
    assert_eq!(
        app.validate_status("Bearer", field(&next, "access_token"))
            .await,
        200
    );
}

#[tokio::test]
async fn revoking_the_id_token_gives_a_fresh_pair_next_time() {
    let app = app_with_user().await;
    let first = client_credentials_ok(&app, PERMANENT, USER, PASSWORD).await;
    revoke(&app, PERMANENT, field(&first, "id_token")).await;
    assert_eq!(
        app.validate_status("Bearer", field(&first, "id_token"))
            .await,
        401
    );
    let next = client_credentials_ok(&app, PERMANENT, USER, PASSWORD).await;
    assert!(!same_pair(&first, &next));
}

#[tokio::test]
async fn a_password_change_gives_a_fresh_pair_and_the_old_one_is_refused() {
    let app = app_with_user().await;
    let first = client_credentials_ok(&app, CLIENT, USER, PASSWORD).await;
    let new_hash = authserver::password::hash("svc-password-2").unwrap();
    app.state
        .store
        .set_password(USER, &new_hash, app.clock_now())
        .await
        .unwrap();
    app.state.sync_revocations().await;
    oauth_error(
        client_credentials(&app, CLIENT, USER, PASSWORD).await,
        401,
        "invalid_client",
    )
    .await;
    let next = client_credentials_ok(&app, CLIENT, USER, "svc-password-2").await;
    assert!(!same_pair(&first, &next));
    assert_eq!(
        app.validate_status("Bearer", field(&first, "access_token"))
            .await,
        401
    );
    assert_eq!(
        app.validate_status("Bearer", field(&next, "access_token"))
            .await,
        200
    );
}

#[tokio::test]
async fn a_disable_drops_the_pair_and_after_re_enabling_a_fresh_one_is_signed() {
    let app = app_with_user().await;
    let first = client_credentials_ok(&app, CLIENT, USER, PASSWORD).await;
    let store = &app.state.store;
    store
        .set_disabled(USER, true, app.clock_now())
        .await
        .unwrap();
    app.state.sync_revocations().await;
    oauth_error(
        client_credentials(&app, CLIENT, USER, PASSWORD).await,
        401,
        "invalid_client",
    )
    .await;
    store
        .set_disabled(USER, false, app.clock_now())
        .await
        .unwrap();
    app.state.sync_revocations().await;
    let next = client_credentials_ok(&app, CLIENT, USER, PASSWORD).await;
    assert!(!same_pair(&first, &next));
    assert_eq!(
        app.validate_status("Bearer", field(&first, "access_token"))
            .await,
        401,
        "tokens from before the disable stay dead"
    );
    assert_eq!(
        app.validate_status("Bearer", field(&next, "access_token"))
            .await,
        200
    );
}

#[tokio::test]
async fn a_pat_login_is_reused_until_the_pat_is_revoked() {
    let app = spawn_app().await;
    let alice = app.add_user("alice", "alice-password").await;
    let (id, token) = issue_pat(&app, &alice, "data", None).await;
    let first: Value = pat_login(&app, CLIENT, &token).await.json().await.unwrap();
    app.clock.advance(5);
    let second: Value = pat_login(&app, CLIENT, &token).await.json().await.unwrap();
    assert!(same_pair(&first, &second), "{first} / {second}");
    assert_eq!(expires_in(&second), LIFETIME - 5);
    let other_client: Value = pat_login(&app, "MAGICDRAW", &token)
        .await
        .json()
        .await
        .unwrap();
    assert!(!same_pair(&first, &other_client));

    app.state
        .store
        .revoke_pat(&id, None, app.clock_now())
        .await
        .unwrap()
        .expect("the PAT exists");
    app.state.sync_revocations().await;
    let resp = pat_login(&app, CLIENT, &token).await;
    oauth_error(resp, 401, "invalid_client").await;
    assert_eq!(
        app.validate_status("Bearer", field(&first, "access_token"))
            .await,
        401
    );
    // another PAT of the same user gets its own pair
    let (_, token2) = issue_pat(&app, &alice, "data", None).await;
    let other: Value = pat_login(&app, CLIENT, &token2).await.json().await.unwrap();
    assert!(!same_pair(&first, &other));
}

#[tokio::test]
async fn a_key_rotation_gives_a_pair_signed_with_the_new_key() {
    let app = AppBuilder::new().generated_keys().spawn().await;
    app.add_user(USER, PASSWORD).await;
    let first = client_credentials_ok(&app, CLIENT, USER, PASSWORD).await;
    let old_kid = jwt_parts(field(&first, "access_token")).0["kid"].clone();
    let new_kid = authserver::keys::KeyManager::rotate(
        &app.state.store,
        authserver::config::SigningAlgorithm::RS256,
        app.clock_now(),
    )
    .await
    .unwrap();
    app.state.keys.reload(app.clock_now()).await.unwrap();
    let next = client_credentials_ok(&app, CLIENT, USER, PASSWORD).await;
    assert!(!same_pair(&first, &next));
    assert_eq!(jwt_parts(field(&next, "access_token")).0["kid"], new_kid);
    assert_eq!(jwt_parts(field(&next, "id_token")).0["kid"], new_kid);
    assert_ne!(old_kid, new_kid);
    // the old pair stays valid (its key is still published), it is just not handed out
    assert_eq!(
        app.validate_status("Bearer", field(&first, "access_token"))
            .await,
        200
    );
}

#[tokio::test]
async fn an_instance_drops_its_pair_when_another_instance_revokes_the_token() {
    let a = app_with_user().await;
    let b = AppBuilder::new().same_database_as(&a).spawn().await;
    let first = client_credentials_ok(&a, CLIENT, USER, PASSWORD).await;
    let on_b = client_credentials_ok(&b, CLIENT, USER, PASSWORD).await;
    assert!(!same_pair(&first, &on_b), "each instance keeps its own");
    // what a revocation on B writes to the shared event log
    let access = claims(&first, "access_token");
    b.state
        .store
        .add_event(
            "jti",
            access["jti"].as_str().unwrap(),
            b.clock_now(),
            access["exp"].as_i64().unwrap(),
        )
        .await
        .unwrap();
    // instance A learns of it from the event log (its reload loop, or right now)
    a.state.sync_revocations().await;
    let next = client_credentials_ok(&a, CLIENT, USER, PASSWORD).await;
    assert!(!same_pair(&first, &next));
}
