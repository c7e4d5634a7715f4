//! The token endpoint's `authorization_code` grant when something is wrong: client
//! authentication, code bindings, PKCE, expiry, replay and races, malformed requests.
use base64::Engine;

use crate::helpers::*;

/// Form fields or headers as name/value pairs.
type Form<'a> = Vec<(&'a str, &'a str)>;

// the token endpoint with extra headers and no cookies: the lifecycle tests' helper
use crate::helpers::lifecycle_helpers::post_token as token_request;

/// The standard exchange form for `code` and `verifier`.
fn exchange_form<'a>(code: &'a str, verifier: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("client_id", CLIENT),
        ("code_verifier", verifier),
    ]
}

/// Asserts an RFC 6749 §5.2 error: status, JSON with `error` and `error_description`,
/// `Cache-Control: no-store`; returns the JSON.
async fn assert_token_error(
    resp: reqwest::Response,
    status: u16,
    error: &str,
) -> serde_json::Value {
    assert_eq!(resp.status(), status, "expected {status} {error}");
    let h = resp.headers().clone();
    assert!(
        h["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json"),
        "JSON error body"
    );
    assert!(
        h["cache-control"].to_str().unwrap().contains("no-store"),
        "Cache-Control: no-store"
    );
    if error == "invalid_client" {
        assert!(
            h.get("www-authenticate").is_some(),
            "invalid_client carries WWW-Authenticate"
        );
    }
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"], error, "{body}");
    assert!(
        !body["error_description"]
            .as_str()
            .expect("error_description is a string")
            .is_empty(),
        "{body}"
    );
    body
}

/// Another code for the signed-in browser, straight from its SSO session.
async fn code_from_the_session(app: &TestApp) -> (String, String) {
    let (verifier, challenge) = pkce_pair();
    let resp = app.get(&app.authorize_url(&challenge, &[])).await;
    assert_eq!(resp.status(), 302, "the SSO session answers at once");
    (query_param(&location(&resp), "code").unwrap(), verifier)
}

fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

#[tokio::test]
async fn a_code_exchange_without_client_credentials_is_401_invalid_client_with_www_authenticate() {
    let app = spawn_app().await;
    app.add_user("alice", "alice-password-1").await;
    let (code, verifier) = app.sign_in("alice", "alice-password-1").await;
    let resp = token_request(&app, &[], &exchange_form(&code, &verifier)).await;
    assert_token_error(resp, 401, "invalid_client").await;
}

#[tokio::test]
async fn a_wrong_client_secret_gets_the_same_invalid_client_answer_as_a_missing_one() {
    let app = spawn_app().await;
    app.add_user("alice", "alice-password-1").await;
    let (code, verifier) = app.sign_in("alice", "alice-password-1").await;
    let form = exchange_form(&code, &verifier);
    let missing =
        assert_token_error(token_request(&app, &[], &form).await, 401, "invalid_client").await;
    let wrong_header = assert_token_error(
        token_request(&app, &[("X-Auth-Secret", "wrong-secret")], &form).await,
        401,
        "invalid_client",
    )
    .await;
    let wrong_basic = assert_token_error(
        token_request(
            &app,
            &[("Authorization", basic(CLIENT, "wrong-secret").as_str())],
            &form,
        )
        .await,
        401,
        "invalid_client",
    )
    .await;
    let mut post = form.clone();
    post.push(("client_secret", "wrong-secret"));
    let wrong_post =
        assert_token_error(token_request(&app, &[], &post).await, 401, "invalid_client").await;
    for (what, body) in [
        ("wrong X-Auth-Secret", &wrong_header),
        ("wrong Basic", &wrong_basic),
        ("wrong client_secret", &wrong_post),
    ] {
        assert_eq!(
            body["error_description"], missing["error_description"],
            "{what}: one description for every credential failure"
        );
    }
}

#[tokio::test]
async fn client_secret_basic_authenticates_the_code_exchange() {
    let app = spawn_app().await;
    app.add_user("alice", "alice-password-1").await;
    let (code, verifier) = app.sign_in("alice", "alice-password-1").await;
    let resp = token_request(
        &app,
        &[("Authorization", basic(CLIENT, SECRET).as_str())],
        &[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier.as_str()),
        ],
    )
    .await;
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.unwrap();
    let (_, claims) = jwt_parts(body["id_token"].as_str().unwrap());
    assert_eq!(claims["aud"], CLIENT);
}

#[tokio::test]
async fn client_secret_post_authenticates_the_code_exchange() {
    let app = spawn_app().await;
    app.add_user("alice", "alice-password-1").await;
    let (code, verifier) = app.sign_in("alice", "alice-password-1").await;
    let mut form = exchange_form(&code, &verifier);
    form.push(("client_secret", SECRET));
    let resp = token_request(&app, &[], &form).await;
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert!(body["access_token"].as_str().is_some());
}

#[tokio::test]
async fn an_unknown_client_id_is_401_invalid_client() {
    let app = spawn_app().await;
    app.add_user("alice", "alice-password-1").await;
    let (code, verifier) = app.sign_in("alice", "alice-password-1").await;
    let missing = assert_token_error(
        token_request(&app, &[], &exchange_form(&code, &verifier)).await,
        401,
        "invalid_client",
    )
    .await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("client_id", "evilClient"),
        ("code_verifier", verifier.as_str()),
    ];
    let body = assert_token_error(
        token_request(&app, &[("X-Auth-Secret", SECRET)], &form).await,
        401,
        "invalid_client",
    )
    .await;
    assert_eq!(body["error_description"], missing["error_description"]);
    let body = assert_token_error(
        token_request(
            &app,
            &[("Authorization", basic("evilClient", SECRET).as_str())],
            &form,
        )
        .await,
        401,
        "invalid_client",
    )
    .await;
    assert_eq!(body["error_description"], missing["error_description"]);
}

#[tokio::test]
async fn a_different_redirect_uri_is_invalid_grant() {
    let app = spawn_app().await;
    app.add_user("alice", "alice-password-1").await;
    let (code, verifier) = app.sign_in("alice", "alice-password-1").await;
    let resp = token_request(
        &app,
        &[("X-Auth-Secret", SECRET)],
        &[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            // whitelisted, but not the one the code was issued for
            ("redirect_uri", "https://app.example.com/cb"),
            ("client_id", CLIENT),
            ("code_verifier", verifier.as_str()),
        ],
    )
    .await;
    assert_token_error(resp, 400, "invalid_grant").await;

    let (code, verifier) = code_from_the_session(&app).await;
    let other = format!("{REDIRECT}/");
    let resp = token_request(
        &app,
        &[("X-Auth-Secret", SECRET)],
        &[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", other.as_str()),
            ("client_id", CLIENT),
            ("code_verifier", verifier.as_str()),
        ],
    )
    .await;
    assert_token_error(resp, 400, "invalid_grant").await;
}

#[tokio::test]
async fn a_code_issued_to_another_client_is_invalid_grant() {
    let app = spawn_app().await;
    app.add_user("alice", "alice-password-1").await;
    let (code, verifier) = app.sign_in("alice", "alice-password-1").await;
    let resp = token_request(
        &app,
        &[("X-Auth-Secret", SECRET)],
        &[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("client_id", "MAGICDRAW"),
            ("code_verifier", verifier.as_str()),
        ],
    )
    .await;
    assert_token_error(resp, 400, "invalid_grant").await;
}

#[tokio::test]
async fn a_wrong_code_verifier_is_invalid_grant() {
    let app = spawn_app().await;
    app.add_user("alice", "alice-password-1").await;
    let (code, _) = app.sign_in("alice", "alice-password-1").await;
    let (other_verifier, _) = pkce_pair();
    let resp = app.exchange(&code, &other_verifier).await;
    assert_token_error(resp, 400, "invalid_grant").await;
}

#[tokio::test]
async fn a_missing_code_verifier_is_invalid_grant_when_a_challenge_was_sent() {
    let app = spawn_app().await;
    app.add_user("alice", "alice-password-1").await;
    let (code, _) = app.sign_in("alice", "alice-password-1").await;
    let resp = token_request(
        &app,
        &[("X-Auth-Secret", SECRET)],
        &[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("client_id", CLIENT),
        ],
    )
    .await;
    assert_token_error(resp, 400, "invalid_grant").await;
}

#[tokio::test]
async fn a_code_verifier_for_a_code_issued_without_a_challenge_is_invalid_grant() {
    let app = spawn_app().await;
    app.add_user("alice", "alice-password-1").await;
    let url = app.authorize_url_without("", &["code_challenge", "code_challenge_method"], &[]);
    assert!(!url.contains("code_challenge"), "{url}");
    let page = app.login_page(&url).await;
    let resp = app
        .submit_login(&page, "alice", "alice-password-1", false)
        .await;
    assert_eq!(resp.status(), 303);
    let code = query_param(&location(&resp), "code").unwrap();
    let (verifier, _) = pkce_pair();
    let resp = app.exchange(&code, &verifier).await;
    assert_token_error(resp, 400, "invalid_grant").await;

    // such a code is exchanged without a verifier
    let resp = app.get(&url).await;
    assert_eq!(resp.status(), 302, "the SSO session answers at once");
    let code = query_param(&location(&resp), "code").unwrap();
    let resp = token_request(
        &app,
        &[("X-Auth-Secret", SECRET)],
        &[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("client_id", CLIENT),
        ],
    )
    .await;
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn an_expired_code_is_invalid_grant() {
    let app = spawn_app().await;
    app.add_user("alice", "alice-password-1").await;
    let (code, verifier) = app.sign_in("alice", "alice-password-1").await;
    // a second code from the same moment, through the SSO session
    let (code2, verifier2) = code_from_the_session(&app).await;

    app.clock.advance(59);
    assert_eq!(
        app.exchange(&code2, &verifier2).await.status(),
        200,
        "still within the 60 s lifetime"
    );
    app.clock.advance(2);
    let resp = app.exchange(&code, &verifier).await;
    assert_token_error(resp, 400, "invalid_grant").await;
}

#[tokio::test]
async fn a_replayed_code_is_invalid_grant_and_revokes_the_tokens_of_the_first_exchange() {
    let app = spawn_app().await;
    app.add_user("alice", "alice-password-1").await;
    let (code, verifier) = app.sign_in("alice", "alice-password-1").await;
    let first = app.exchange(&code, &verifier).await;
    assert_eq!(first.status(), 200);
    let first: serde_json::Value = first.json().await.unwrap();
    let access = first["access_token"].as_str().unwrap();
    assert_eq!(app.validate_status("Bearer", access).await, 200);

    let resp = app.exchange(&code, &verifier).await;
    assert_token_error(resp, 400, "invalid_grant").await;
    assert_eq!(
        app.validate_status("Bearer", access).await,
        401,
        "the replay revoked the first exchange's access token"
    );
    let resp = app
        .client
        .get(app.url("/api/userinfo"))
        .header("Authorization", format!("Bearer {access}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401, "userinfo refuses it too");
}

#[tokio::test]
async fn one_code_exchanged_by_16_concurrent_requests_succeeds_exactly_once() {
    let app = spawn_app().await;
    app.add_user("alice", "alice-password-1").await;
    let (code, verifier) = app.sign_in("alice", "alice-password-1").await;
    let url = app.url("/api/token");
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let client = bare_client();
            let url = url.clone();
            let code = code.clone();
            let verifier = verifier.clone();
            tokio::spawn(async move {
                let resp = client
                    .post(url)
                    .header("X-Auth-Secret", SECRET)
                    .form(&exchange_form(&code, &verifier))
                    .send()
                    .await
                    .unwrap();
                let status = resp.status().as_u16();
                let body: serde_json::Value = resp.json().await.unwrap();
                (status, body)
            })
        })
        .collect();
    let results: Vec<(u16, serde_json::Value)> = futures::future::join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    let winners: Vec<_> = results.iter().filter(|(s, _)| *s == 200).collect();
    assert_eq!(winners.len(), 1, "exactly one exchange wins: {results:?}");
    for (status, body) in results.iter().filter(|(s, _)| *s != 200) {
        assert_eq!(*status, 400, "{body}");
        assert_eq!(body["error"], "invalid_grant", "{body}");
    }
    // the losers were replays of a spent code: the winner's family is revoked too
    let access = winners[0].1["access_token"].as_str().unwrap();
    assert_eq!(
        app.validate_status("Bearer", access).await,
        401,
        "the replays revoked the winner's family"
    );
}

#[tokio::test]
async fn a_missing_grant_type_is_invalid_request() {
    let app = spawn_app().await;
    app.add_user("alice", "alice-password-1").await;
    let (code, verifier) = app.sign_in("alice", "alice-password-1").await;
    let form: Vec<_> = exchange_form(&code, &verifier)
        .into_iter()
        .filter(|(k, _)| *k != "grant_type")
        .collect();
    let resp = token_request(&app, &[("X-Auth-Secret", SECRET)], &form).await;
    assert_token_error(resp, 400, "invalid_request").await;
    // the code was not spent by the malformed request
    assert_eq!(app.exchange(&code, &verifier).await.status(), 200);
}

#[tokio::test]
async fn an_unknown_grant_type_is_unsupported_grant_type() {
    let app = spawn_app().await;
    // (`password` is a grant now, refused with unauthorized_client to unlisted clients: see
    // password_grant.rs)
    for grant in ["implicit", "urn:example:custom"] {
        let resp = token_request(
            &app,
            &[("X-Auth-Secret", SECRET)],
            &[("grant_type", grant), ("client_id", CLIENT)],
        )
        .await;
        assert_token_error(resp, 400, "unsupported_grant_type").await;
    }
}

#[tokio::test]
async fn missing_code_or_redirect_uri_and_repeated_parameters_are_invalid_request() {
    let app = spawn_app().await;
    app.add_user("alice", "alice-password-1").await;
    let (code, verifier) = app.sign_in("alice", "alice-password-1").await;
    for omit in ["code", "redirect_uri"] {
        let form: Vec<_> = exchange_form(&code, &verifier)
            .into_iter()
            .filter(|(k, _)| *k != omit)
            .collect();
        let resp = token_request(&app, &[("X-Auth-Secret", SECRET)], &form).await;
        assert_token_error(resp, 400, "invalid_request").await;
    }
    let mut form = exchange_form(&code, &verifier);
    form.push(("code", "another"));
    let resp = token_request(&app, &[("X-Auth-Secret", SECRET)], &form).await;
    assert_token_error(resp, 400, "invalid_request").await;
}

#[tokio::test]
async fn a_code_or_secret_in_the_query_string_is_not_read() {
    let app = spawn_app().await;
    app.add_user("alice", "alice-password-1").await;
    let (code, verifier) = app.sign_in("alice", "alice-password-1").await;
    let mut url = url::Url::parse(&app.url("/api/token")).unwrap();
    url.query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("code_verifier", &verifier)
        .append_pair("redirect_uri", REDIRECT);
    let resp = bare_client()
        .post(url.as_str())
        .header("X-Auth-Secret", SECRET)
        .form(&[("grant_type", "authorization_code"), ("client_id", CLIENT)])
        .send()
        .await
        .unwrap();
    assert_token_error(resp, 400, "invalid_request").await;

    let mut url = url::Url::parse(&app.url("/api/token")).unwrap();
    url.query_pairs_mut().append_pair("client_secret", SECRET);
    let resp = bare_client()
        .post(url.as_str())
        .form(&exchange_form(&code, &verifier))
        .send()
        .await
        .unwrap();
    assert_token_error(resp, 401, "invalid_client").await;
    assert_eq!(app.exchange(&code, &verifier).await.status(), 200);
}

#[tokio::test]
async fn a_json_body_is_400_invalid_request() {
    let app = spawn_app().await;
    app.add_user("alice", "alice-password-1").await;
    let (code, verifier) = app.sign_in("alice", "alice-password-1").await;
    let resp = bare_client()
        .post(app.url("/api/token"))
        .header("X-Auth-Secret", SECRET)
        .json(&serde_json::json!({
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "client_id": CLIENT,
            "code_verifier": verifier,
        }))
        .send()
        .await
        .unwrap();
    assert_token_error(resp, 400, "invalid_request").await;
}

#[tokio::test]
async fn token_endpoint_errors_are_json_with_string_error_and_error_description() {
    let app = spawn_app().await;
    app.add_user("alice", "alice-password-1").await;
    let (code, _) = app.sign_in("alice", "alice-password-1").await;
    let cases: Vec<(&str, Form, Form, u16)> = vec![
        ("invalid_client", vec![], exchange_form(&code, "x"), 401),
        (
            "invalid_grant",
            vec![("X-Auth-Secret", SECRET)],
            exchange_form("no-such-code", "x"),
            400,
        ),
        (
            "invalid_request",
            vec![("X-Auth-Secret", SECRET)],
            vec![("client_id", CLIENT)],
            400,
        ),
        (
            "unsupported_grant_type",
            vec![("X-Auth-Secret", SECRET)],
            vec![("grant_type", "implicit"), ("client_id", CLIENT)],
            400,
        ),
        (
            "unauthorized_client",
            vec![("X-Auth-Secret", SECRET)],
            vec![("grant_type", "password"), ("client_id", CLIENT)],
            400,
        ),
    ];
    for (error, headers, form, status) in cases {
        let body =
            assert_token_error(token_request(&app, &headers, &form).await, status, error).await;
        let obj = body.as_object().unwrap();
        for (k, v) in obj {
            assert!(v.is_string(), "{error}: {k} is a string: {body}");
        }
        assert!(
            !body.to_string().contains(SECRET),
            "{error}: the secret is never echoed"
        );
        assert!(
            !body.to_string().contains(&code),
            "{error}: the code is never echoed"
        );
    }
}
