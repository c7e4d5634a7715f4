//! The self-service account page: sign-in, personal access tokens, password change.
use crate::helpers::lifecycle_helpers::{client_credentials, client_credentials_ok, refresh};
use crate::helpers::pat_helpers::{
    account_page_after_sign_in, account_sign_in, add_user_as, create_pat_on_page, element_attr,
    element_text,
};
use crate::helpers::{
    cookie_attributes, hidden_field, location, set_cookie_header, spawn_app, TestApp, CLIENT,
};

fn assert_secure_page(resp: &reqwest::Response) {
    let h = resp.headers();
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(csp.contains("form-action 'self'"), "{csp}");
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["cache-control"], "no-store");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert!(h["content-type"].to_str().unwrap().starts_with("text/html"));
}

/// Creates a PAT on the page (confirmed with `password`) and returns (id, token, the result
/// page's HTML).
async fn create_on_page(
    app: &TestApp,
    password: &str,
    description: &str,
    scope: &str,
) -> (String, String, String) {
    let page = app.get(&app.url("/account")).await.text().await.unwrap();
    let resp = create_pat_on_page(app, &page, password, description, "30", scope).await;
    assert_eq!(resp.status(), 200);
    assert_secure_page(&resp);
    let html = resp.text().await.unwrap();
    let token = element_text(&html, "new-token").expect("the token on the page");
    let id = element_attr(&html, "new-token", "data-pat-id").expect("its id");
    (id, token, html)
}

#[tokio::test]
async fn without_a_session_the_account_page_offers_a_sign_in_that_returns_to_it() {
    let app = spawn_app().await;
    app.add_user("alice", "alice-password").await;
    let resp = app.get(&app.url("/account")).await;
    assert_eq!(resp.status(), 200);
    assert_secure_page(&resp);
    assert!(set_cookie_header(&resp, "authserver_csrf").is_some());
    let html = resp.text().await.unwrap();
    assert!(
        html.contains("action=\"/authentication/account/login\""),
        "{html}"
    );
    assert!(!html.contains("Signed in as"));

    // a wrong password: the form again, with the one message
    let resp = account_sign_in(&app, "alice", "wrong-password").await;
    assert_eq!(resp.status(), 401);
    let html = resp.text().await.unwrap();
    assert!(html.contains("Invalid username or password."), "{html}");

    let resp = account_sign_in(&app, "alice", "alice-password").await;
    assert_eq!(resp.status(), 303);
    assert_eq!(location(&resp), "/authentication/account");
    let sso = set_cookie_header(&resp, "authserver_sso").expect("an SSO session cookie");
    let attrs = cookie_attributes(&sso);
    assert!(attrs.contains(&("httponly".into(), String::new())), "{sso}");
    assert!(attrs.contains(&("samesite".into(), "Lax".into())), "{sso}");
    let resp = app.get(&app.url("/account")).await;
    assert_eq!(resp.status(), 200);
    assert_secure_page(&resp);
    let html = resp.text().await.unwrap();
    assert!(
        html.contains("Signed in as <strong>alice</strong>"),
        "{html}"
    );
    assert!(html.contains("You have no personal access tokens."));

    // the session is the SSO session: the login page of an application skips the form
    let (_, challenge) = crate::helpers::pkce_pair();
    let resp = app.get(&app.authorize_url(&challenge, &[])).await;
    assert_eq!(resp.status(), 302, "signed in by the account page");
}

#[tokio::test]
async fn a_session_from_an_applications_sign_in_opens_the_account_page() {
    let app = spawn_app().await;
    app.add_user("alice", "alice-password").await;
    app.sign_in("alice", "alice-password").await;
    let html = app.get(&app.url("/account")).await.text().await.unwrap();
    assert!(
        html.contains("Signed in as <strong>alice</strong>"),
        "{html}"
    );
    // another browser has no session
    let other = app.another_browser();
    let html = other
        .get(&other.url("/account"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("/account/login"));
}

#[tokio::test]
async fn a_user_creates_a_pat_sees_it_once_and_revokes_it() {
    let app = spawn_app().await;
    app.add_user("alice", "alice-password").await;
    account_page_after_sign_in(&app, "alice", "alice-password").await;
    let (id, token, html) =
        create_on_page(&app, "alice-password", "backup <script> job", "data").await;
    assert!(authserver::domain::pat::looks_like_pat(&token), "{token}");
    assert_eq!(html.matches(&token).count(), 1, "shown exactly once");
    assert!(
        html.contains("backup &#60;script&#62; job") || html.contains("backup &lt;script&gt; job"),
        "{html}"
    );
    assert_eq!(app.validate_status("Bearer", &token).await, 200);

    // the account page lists it, without the token, and shows when it was used
    let resp = app.get(&app.url("/account")).await;
    let html = resp.text().await.unwrap();
    assert!(html.contains(&format!("data-pat-id=\"{id}\"")), "{html}");
    assert!(
        !html.contains(&token[4..]),
        "the token is never shown again"
    );
    assert!(html.contains("backup"));
    let today = authserver::web::display_time(app.clock_now());
    // created today and (the validation above) last used today, even before the flush
    assert!(html.matches(&today).count() >= 2, "{today}: {html}");
    // and nowhere in the database in clear
    let rows = app
        .sql_strings("SELECT id || description || scope FROM personal_access_tokens")
        .await;
    assert!(!rows.is_empty() && rows.iter().all(|r| !r.contains(&token[4..])));

    // revoke it
    let csrf = hidden_field(&html, "csrf").unwrap();
    let resp = app
        .client
        .post(app.url("/account/pats/revoke"))
        .form(&[("csrf", csrf.as_str()), ("id", id.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    assert_eq!(location(&resp), "/authentication/account");
    assert_eq!(app.validate_status("Bearer", &token).await, 401);
    let html = app.get(&app.url("/account")).await.text().await.unwrap();
    assert!(!html.contains(&id), "{html}");

    // nobody revokes another user's PAT through their own page
    let bob = app.add_user("bob", "bob-password").await;
    let (bob_pat, bob_token) =
        crate::helpers::pat_helpers::issue_pat(&app, &bob, "data", None).await;
    let resp = app
        .client
        .post(app.url("/account/pats/revoke"))
        .form(&[("csrf", csrf.as_str()), ("id", bob_pat.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    assert_eq!(app.validate_status("Bearer", &bob_token).await, 200);
}

#[tokio::test]
async fn management_tokens_are_offered_to_administrators_only() {
    let app = spawn_app().await;
    app.add_user("alice", "alice-password").await;
    add_user_as(&app, "root", "root-password", true).await;

    let html = account_page_after_sign_in(&app, "alice", "alice-password").await;
    assert!(!html.contains("value=\"management\""), "{html}");
    let resp =
        create_pat_on_page(&app, &html, "alice-password", "sneaky", "30", "management").await;
    assert_eq!(resp.status(), 400);
    let text = resp.text().await.unwrap();
    assert!(text.contains("administrators"), "{text}");
    assert!(app.state.store.list_pats(None).await.unwrap().is_empty());

    let admin = app.another_browser();
    let html = account_page_after_sign_in(&admin, "root", "root-password").await;
    assert!(html.contains("value=\"management\""), "{html}");
    let (_, token, _) = create_on_page(&admin, "root-password", "provisioning", "management").await;
    let resp = crate::helpers::pat_helpers::with_bearer(
        &admin,
        reqwest::Method::GET,
        "/api/users",
        &token,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn creating_a_pat_asks_for_the_current_password_again_through_the_login_throttle() {
    let app = spawn_app().await;
    app.add_user("alice", "alice-password").await;
    let html = account_page_after_sign_in(&app, "alice", "alice-password").await;
    let create_form = html
        .split("id=\"create-pat\"")
        .nth(1)
        .and_then(|rest| rest.split("</form>").next())
        .expect("the create form");
    assert!(
        create_form.contains("name=\"current_password\" type=\"password\""),
        "the create form asks for the password: {create_form}"
    );
    // the SSO cookie alone creates nothing
    for (password, message) in [
        ("", "Enter your current password"),
        ("wrong-password", "current password is wrong"),
        ("alice-password ", "current password is wrong"),
    ] {
        let resp = create_pat_on_page(
            &app,
            &html,
            password,
            "stolen <b>cookie</b>",
            "never",
            "data",
        )
        .await;
        assert_eq!(resp.status(), 400, "{password:?}");
        assert_secure_page(&resp);
        let text = resp.text().await.unwrap();
        assert!(text.contains(message), "{password:?}: {text}");
        assert!(text.contains("class=\"error\""), "{text}");
        // the form comes back with what was typed (escaped), the password field empty
        assert!(
            text.contains("value=\"stolen &#60;b&#62;cookie&#60;/b&#62;\"")
                || text.contains("value=\"stolen &lt;b&gt;cookie&lt;/b&gt;\""),
            "{text}"
        );
        assert!(text.contains("<option value=\"never\" selected>"), "{text}");
        assert!(!text.contains("alice-password"), "{text}");
    }
    assert!(app.state.store.list_pats(None).await.unwrap().is_empty());

    // wrong passwords count like the login form's (through the same throttle): 10 failures
    // from this browser lock it, even for the right password
    for _ in 0..8 {
        let resp = create_pat_on_page(&app, &html, "wrong-password", "x", "30", "data").await;
        assert_eq!(resp.status(), 400);
    }
    let resp = create_pat_on_page(&app, &html, "alice-password", "x", "30", "data").await;
    assert_eq!(resp.status(), 429, "throttled even with the right password");
    assert!(resp.headers().get("retry-after").is_some());
    assert!(resp.text().await.unwrap().contains("Try again in"));
    // the failures counted against this browser's device cookie: another browser from the
    // user's known address is not locked out by them (the throttle's known sources)
    assert_eq!(
        account_sign_in(&app.another_browser(), "alice", "alice-password")
            .await
            .status(),
        303,
        "a known source of alice's is not locked out by this device's failures"
    );
    assert!(app.state.store.list_pats(None).await.unwrap().is_empty());
}

#[tokio::test]
async fn bad_input_on_the_create_form_is_explained() {
    let app = spawn_app().await;
    app.add_user("alice", "alice-password").await;
    let html = account_page_after_sign_in(&app, "alice", "alice-password").await;
    for (description, validity, scope, message) in [
        ("", "30", "data", "description"),
        ("ok", "0", "data", "validity"),
        ("ok", "soon", "data", "validity"),
        ("ok", "30", "everything", "scope"),
    ] {
        let resp =
            create_pat_on_page(&app, &html, "alice-password", description, validity, scope).await;
        assert_eq!(resp.status(), 400, "{description:?} {validity:?} {scope:?}");
        let text = resp.text().await.unwrap();
        assert!(text.contains("class=\"error\""), "{text}");
        assert!(text.to_lowercase().contains(message), "{message}: {text}");
    }
    assert!(app.state.store.list_pats(None).await.unwrap().is_empty());
    // "never" is a validity
    let resp = create_pat_on_page(&app, &html, "alice-password", "forever", "never", "data").await;
    assert_eq!(resp.status(), 200);
    assert!(resp.text().await.unwrap().contains("expires never"));
}

#[tokio::test]
async fn account_forms_refuse_a_missing_or_wrong_csrf_token_and_need_a_session() {
    let app = spawn_app().await;
    app.add_user("alice", "alice-password").await;
    let html = account_page_after_sign_in(&app, "alice", "alice-password").await;
    let csrf = hidden_field(&html, "csrf").unwrap();
    for form in [
        vec![("description", "x"), ("expires_in_days", "30")],
        vec![
            ("csrf", "wrong"),
            ("description", "x"),
            ("expires_in_days", "30"),
        ],
    ] {
        let resp = app
            .client
            .post(app.url("/account/pats"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 403);
    }
    for path in [
        "/account/password",
        "/account/pats/revoke",
        "/account/login",
    ] {
        let resp = app
            .client
            .post(app.url(path))
            .form(&[("csrf", "wrong")])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 403, "{path}");
    }
    assert!(app.state.store.list_pats(None).await.unwrap().is_empty());

    // a right CSRF pair without a session goes back to the page (its sign-in form)
    let stranger = crate::helpers::bare_client();
    let resp = stranger
        .post(app.url("/account/pats"))
        .header("cookie", format!("authserver_csrf={csrf}"))
        .form(&[("csrf", csrf.as_str()), ("description", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    assert_eq!(location(&resp), "/authentication/account");
    assert!(app.state.store.list_pats(None).await.unwrap().is_empty());
}

#[tokio::test]
async fn changing_the_password_ends_sessions_and_refresh_tokens_but_keeps_pats() {
    let app = spawn_app().await;
    app.add_user("alice", "alice-password").await;
    // an application's sign-in with a refresh token, and a PAT
    let (verifier, challenge) = crate::helpers::pkce_pair();
    let login = app.login_page(&app.authorize_url(&challenge, &[])).await;
    let resp = app
        .submit_login(&login, "alice", "alice-password", true)
        .await;
    assert_eq!(resp.status(), 303);
    let sid = crate::helpers::cookie_value(&set_cookie_header(&resp, "authserver_sso").unwrap());
    let code = crate::helpers::query_param(&location(&resp), "code").unwrap();
    let tokens: serde_json::Value = app.exchange(&code, &verifier).await.json().await.unwrap();
    let refresh_token = tokens["refresh_token"].as_str().unwrap().to_string();
    let (_, pat, _) = create_on_page(&app, "alice-password", "ci", "data").await;
    let html = app.get(&app.url("/account")).await.text().await.unwrap();
    let csrf = hidden_field(&html, "csrf").unwrap();
    let change = |current: &'static str, new: &'static str, again: &'static str| {
        let csrf = csrf.clone();
        let app = &app;
        async move {
            app.client
                .post(app.url("/account/password"))
                .form(&[
                    ("csrf", csrf.as_str()),
                    ("current_password", current),
                    ("new_password", new),
                    ("new_password_again", again),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    for (current, new, again, message) in [
        (
            "alice-password",
            "new-password-1",
            "new-password-2",
            "do not match",
        ),
        ("alice-password", "short", "short", "at least 8"),
        (
            "wrong-password",
            "new-password-1",
            "new-password-1",
            "current password is wrong",
        ),
    ] {
        let resp = change(current, new, again).await;
        assert_eq!(resp.status(), 400, "{message}");
        let text = resp.text().await.unwrap();
        assert!(text.contains(message), "{message}: {text}");
    }
    client_credentials_ok(&app, CLIENT, "alice", "alice-password").await;

    let resp = change("alice-password", "new-password-1", "new-password-1").await;
    assert_eq!(resp.status(), 200);
    assert_secure_page(&resp);
    let cleared = set_cookie_header(&resp, "authserver_sso").expect("the SSO cookie is cleared");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    assert!(resp.text().await.unwrap().contains("Sign in again"));

    // signed out: the page asks for a sign-in, and so does every application
    let html = app.get(&app.url("/account")).await.text().await.unwrap();
    assert!(html.contains("/account/login"), "{html}");
    let resp = crate::helpers::bare_client()
        .get(app.authorize_url(&challenge, &[]))
        .header("cookie", format!("authserver_sso={sid}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        200,
        "the old session no longer signs in silently"
    );
    let resp = refresh(&app, CLIENT, &refresh_token, &[]).await;
    assert_eq!(resp.status(), 400, "the refresh family is ended");
    assert_eq!(
        client_credentials(&app, CLIENT, "alice", "alice-password")
            .await
            .status(),
        401
    );
    client_credentials_ok(&app, CLIENT, "alice", "new-password-1").await;
    // the documented choice: PATs survive a password change
    assert_eq!(app.validate_status("Bearer", &pat).await, 200);
    let user = app
        .state
        .store
        .user_by_name("alice")
        .await
        .unwrap()
        .unwrap();
    assert!(user.password_hash.starts_with("$argon2id$"));
}

#[tokio::test]
async fn the_account_sign_in_is_throttled_like_the_login_page() {
    let app = spawn_app().await;
    app.add_user("alice", "alice-password").await;
    for _ in 0..10 {
        assert_eq!(
            account_sign_in(&app, "alice", "wrong-password")
                .await
                .status(),
            401
        );
    }
    let resp = account_sign_in(&app, "alice", "alice-password").await;
    assert_eq!(resp.status(), 429);
    assert!(resp.headers().get("retry-after").is_some());
}
