//! Helpers of the token-lifecycle tests (refresh, client_credentials, introspection,
//! revocation), in their own module so their names cannot clash with other helpers.
use base64::Engine;

use super::{bare_client, jwt_parts, TestApp, CLIENT, SECRET};

/// `Basic base64(user:password)`.
pub fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// POSTs `form` to `/api/token` with `headers` only (no cookies, no secret added).
pub async fn post_token(
    app: &TestApp,
    headers: &[(&str, &str)],
    form: &[(&str, &str)],
) -> reqwest::Response {
    let mut req = bare_client().post(app.url("/api/token")).form(form);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap()
}

/// `grant_type=refresh_token` as `client_id` with `X-Auth-Secret`, plus `extra` fields.
pub async fn refresh(
    app: &TestApp,
    client_id: &str,
    refresh_token: &str,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let mut form = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
        ("client_id", client_id),
    ];
    form.extend_from_slice(extra);
    post_token(app, &[("X-Auth-Secret", SECRET)], &form).await
}

/// `refresh` as [`CLIENT`] that must succeed; returns the token response.
pub async fn refresh_ok(app: &TestApp, refresh_token: &str) -> serde_json::Value {
    let resp = refresh(app, CLIENT, refresh_token, &[]).await;
    let status = resp.status();
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(status, 200, "the refresh should succeed: {body}");
    body
}

/// `grant_type=client_credentials` for `client_id` with the user's Basic credentials
/// and `X-Auth-Secret`.
pub async fn client_credentials(
    app: &TestApp,
    client_id: &str,
    user: &str,
    password: &str,
) -> reqwest::Response {
    post_token(
        app,
        &[
            ("X-Auth-Secret", SECRET),
            ("Authorization", basic(user, password).as_str()),
        ],
        &[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
        ],
    )
    .await
}

/// `client_credentials` that must succeed; returns the token response.
pub async fn client_credentials_ok(
    app: &TestApp,
    client_id: &str,
    user: &str,
    password: &str,
) -> serde_json::Value {
    let resp = client_credentials(app, client_id, user, password).await;
    let status = resp.status();
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(status, 200, "client_credentials should succeed: {body}");
    body
}

/// Asserts an RFC 6749 §5.2 error (status, JSON `error`, a non-empty
/// `error_description`, `Cache-Control: no-store`, `WWW-Authenticate` on 401); returns
/// the body.
pub async fn oauth_error(resp: reqwest::Response, status: u16, error: &str) -> serde_json::Value {
    let got = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    assert_eq!(got, status, "expected {status} {error}, got {got}: {text}");
    let body: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("a JSON error body: {text}"));
    assert_eq!(body["error"], error, "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|d| !d.is_empty()),
        "a non-empty error_description: {body}"
    );
    assert!(
        headers
            .get("cache-control")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("no-store")),
        "Cache-Control: no-store"
    );
    if status == 401 {
        assert!(
            headers.get("www-authenticate").is_some(),
            "a 401 carries WWW-Authenticate"
        );
    }
    body
}

/// POSTs to `/api/introspect` as [`CLIENT`] with `X-Auth-Secret`; returns the JSON of
/// the (required) 200 answer.
pub async fn introspect(app: &TestApp, token: &str) -> serde_json::Value {
    let resp = bare_client()
        .post(app.url("/api/introspect"))
        .header("X-Auth-Secret", SECRET)
        .form(&[("token", token), ("client_id", CLIENT)])
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    assert_eq!(status, 200, "introspection answers 200: {text}");
    serde_json::from_str(&text).unwrap()
}

/// POSTs `token` to `/api/revoke` as `client_id` with `X-Auth-Secret`.
pub async fn revoke(app: &TestApp, client_id: &str, token: &str) -> reqwest::Response {
    bare_client()
        .post(app.url("/api/revoke"))
        .header("X-Auth-Secret", SECRET)
        .form(&[("token", token), ("client_id", client_id)])
        .send()
        .await
        .unwrap()
}

/// A string field of a token response.
pub fn field<'a>(tokens: &'a serde_json::Value, name: &str) -> &'a str {
    tokens[name]
        .as_str()
        .unwrap_or_else(|| panic!("{name} in {tokens}"))
}

/// The payload of a JWT field of a token response.
pub fn claims(tokens: &serde_json::Value, name: &str) -> serde_json::Value {
    jwt_parts(field(tokens, name)).1
}
