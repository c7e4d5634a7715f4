//! Helpers of the personal-access-token, account-page and management-API tests.
use authserver::domain::pat::{self, PatRequest, PatScope};
use authserver::store::User;

use super::lifecycle_helpers::{basic, post_token};
use super::{bare_client, hidden_field, html_unescape, location, TestApp, SECRET};

/// Creates a user, administrator or not, straight in the store.
pub async fn add_user_as(app: &TestApp, name: &str, password: &str, admin: bool) -> User {
    let user = app.add_user(name, password).await;
    if admin {
        app.sql("UPDATE users SET admin = TRUE WHERE id = $1")
            .bind(user.id)
            .exec()
            .await;
        app.state.revocations.forget_user(name);
    }
    app.state.store.user_by_name(name).await.unwrap().unwrap()
}

/// Issues a PAT through the domain layer; returns (id, token).
pub async fn issue_pat(
    app: &TestApp,
    user: &User,
    scope: &str,
    expires_in_days: Option<u32>,
) -> (String, String) {
    let issued = pat::issue(
        &app.state.store,
        user,
        &PatRequest {
            description: "test token",
            scope: PatScope::parse(scope).unwrap(),
            expires_in_days,
        },
        app.clock_now(),
    )
    .await
    .unwrap();
    (issued.id.clone(), issued.token.expose().to_string())
}

/// Creates the administrator `name` straight in the store and issues them a management
/// PAT that never expires; returns the user and the token (what the management-API tests
/// call with).
pub async fn add_admin_with_management_pat(
    app: &TestApp,
    name: &str,
    password: &str,
) -> (User, String) {
    let admin = add_user_as(app, name, password, true).await;
    let (_, token) = issue_pat(app, &admin, "management", None).await;
    (admin, token)
}

/// `method path` with `Authorization: Bearer <token>` and no cookies.
pub fn with_bearer(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
) -> reqwest::RequestBuilder {
    bare_client()
        .request(method, app.url(path))
        .header("Authorization", format!("Bearer {token}"))
}

/// `client_credentials` with `Basic base64(<pat>:)` and `X-Auth-Secret` for `client_id`.
pub async fn pat_login(app: &TestApp, client_id: &str, pat: &str) -> reqwest::Response {
    post_token(
        app,
        &[
            ("X-Auth-Secret", SECRET),
            ("Authorization", basic(pat, "").as_str()),
        ],
        &[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
        ],
    )
    .await
}

/// Polls `/api/validate` with `token` until it answers `status` (the running server
/// picks up other processes' changes within seconds); panics after `secs` seconds.
pub async fn wait_for_validate(app: &TestApp, token: &str, status: u16, secs: u64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        let got = app.validate_status("Bearer", token).await;
        if got == status {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "/api/validate still answers {got}, expected {status} within {secs} s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Signs in on the account page with the app's client (which keeps the SSO cookie);
/// returns the sign-in POST's response.
pub async fn account_sign_in(app: &TestApp, user: &str, password: &str) -> reqwest::Response {
    let page = app.get(&app.url("/account")).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("/account/login"), "the sign-in form: {html}");
    let csrf = hidden_field(&html, "csrf").expect("csrf field");
    app.client
        .post(app.url("/account/login"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", user),
            ("password", password),
        ])
        .send()
        .await
        .unwrap()
}

/// Signs in on the account page and returns the account page's HTML.
pub async fn account_page_after_sign_in(app: &TestApp, user: &str, password: &str) -> String {
    let resp = account_sign_in(app, user, password).await;
    assert_eq!(resp.status(), 303, "{:?}", resp.text().await);
    assert!(location(&resp).ends_with("/authentication/account"));
    let page = app.get(&app.url("/account")).await;
    assert_eq!(page.status(), 200);
    page.text().await.unwrap()
}

/// Submits the create-token form of the account page `html`, confirming with the
/// current `password`; returns the response.
pub async fn create_pat_on_page(
    app: &TestApp,
    html: &str,
    password: &str,
    description: &str,
    validity: &str,
    scope: &str,
) -> reqwest::Response {
    let csrf = hidden_field(html, "csrf").expect("csrf field");
    app.client
        .post(app.url("/account/pats"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("description", description),
            ("expires_in_days", validity),
            ("scope", scope),
            ("current_password", password),
        ])
        .send()
        .await
        .unwrap()
}

/// The text of the element with `id` (up to the next `<`), HTML-unescaped.
pub fn element_text(html: &str, id: &str) -> Option<String> {
    let marker = format!("id=\"{id}\"");
    let start = html.find(&marker)?;
    let open_end = html[start..].find('>')? + start + 1;
    let close = html[open_end..].find('<')? + open_end;
    Some(html_unescape(&html[open_end..close]))
}

/// A `data-…` attribute value of the element with `id`.
pub fn element_attr(html: &str, id: &str, attr: &str) -> Option<String> {
    let marker = format!("id=\"{id}\"");
    let start = html.find(&marker)?;
    let tag_end = html[start..].find('>')? + start;
    let tag = &html[start..tag_end];
    let a = format!("{attr}=\"");
    let s = tag.find(&a)? + a.len();
    let e = tag[s..].find('"')? + s;
    Some(tag[s..e].to_string())
}
