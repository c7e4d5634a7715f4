//! `client_secret_basic` (issue 12): the client ID and secret in `Authorization: Basic`
//! are percent-decoded as one value each (RFC 6749 §2.3.1), never split like a form, and
//! the secret also counts as sent, for the many clients that do not encode it.
use crate::helpers::lifecycle_helpers::basic;
use crate::helpers::*;

// the token endpoint with extra headers and no cookies: the lifecycle tests' helper
use crate::helpers::lifecycle_helpers::post_token as token_request;

/// The status of an introspection request whose client authenticates with `Basic
/// base64(user:password)` exactly as given.
async fn introspect_as(app: &TestApp, user: &str, password: &str) -> u16 {
    bare_client()
        .post(app.url("/api/introspect"))
        .header("Authorization", basic(user, password))
        .form(&[("token", "not-a-token")])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_basic_client_secret_is_percent_decoded_as_one_value_and_never_split_at_ampersand_or_equals(
) {
    let app = spawn_app().await;
    for (user, secret) in [
        (CLIENT.to_string(), format!("{SECRET}=")),
        (CLIENT.to_string(), format!("{SECRET}&")),
        (CLIENT.to_string(), format!("&{SECRET}")),
        (CLIENT.to_string(), format!("{SECRET}&junk")),
        (CLIENT.to_string(), SECRET.replacen('-', "&-", 1)),
        (CLIENT.to_string(), SECRET.replacen('-', "=-", 1)),
        (format!("{CLIENT}="), SECRET.to_string()),
        (CLIENT.replacen('P', "&P", 1), SECRET.to_string()),
    ] {
        assert_eq!(
            introspect_as(&app, &user, &secret).await,
            401,
            "{user:?}:{secret:?} must not authenticate"
        );
    }
    assert_eq!(introspect_as(&app, CLIENT, SECRET).await, 200);
    // RFC 6749 §2.3.1: encoded (here the client ID and the secret's dashes)
    let encoded_client = CLIENT.replacen('P', "%50", 1);
    let encoded_secret = SECRET.replace('-', "%2D");
    assert_eq!(
        introspect_as(&app, &encoded_client, &encoded_secret).await,
        200
    );
}

#[tokio::test]
async fn a_base64_client_secret_authenticates_with_basic_sent_raw_or_form_encoded() {
    // what `openssl rand -base64 24` produces, as the properties file suggests
    let secret = "q+/Zm2Yb0V/x+3kT9Lr=Ae==";
    let app = AppBuilder::new()
        .set("authentication.client.secret", secret)
        .spawn()
        .await;
    let encoded: String = form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    assert_eq!(introspect_as(&app, CLIENT, secret).await, 200, "raw");
    assert_eq!(introspect_as(&app, CLIENT, &encoded).await, 200, "encoded");
    for wrong in [
        secret.replace('+', " "),
        secret.replace('+', "%20"),
        secret.trim_end_matches('=').to_string(),
        format!("{secret}="),
    ] {
        assert_eq!(introspect_as(&app, CLIENT, &wrong).await, 401, "{wrong:?}");
    }

    app.add_user("alice", "alice-password-1").await;
    let (code, verifier) = app.sign_in("alice", "alice-password-1").await;
    let resp = token_request(
        &app,
        &[("Authorization", basic(CLIENT, secret).as_str())],
        &[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier.as_str()),
        ],
    )
    .await;
    assert_eq!(resp.status(), 200, "the code exchange with the raw secret");
}
