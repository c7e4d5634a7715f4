//! Redirect URIs built to slip past the whitelist (issue 12): servlet path parameters
//! that hide dot-segments, and queries that plant the authorization response's own
//! parameters. `/authorize` shows an error page and never redirects there, with or without
//! a session; sign-out refuses them as `post_logout_redirect_uri` (see `sso.rs`).
use crate::authorize_errors::{assert_error_page, authorize_with};
use crate::helpers::*;

#[tokio::test]
async fn redirect_uris_with_servlet_dot_segments_or_planted_response_parameters_get_a_400_page() {
    let app = spawn_app().await;
    for (bad, why) in [
        // Tomcat and Jetty drop `;` parameters, then resolve `..` outside the whitelisted path
        ("http://localhost:8080/callback/..;/evil", "dot-segments"),
        (
            "http://localhost:8080/callback/%2e%2e;/evil",
            "dot-segments",
        ),
        (
            "http://localhost:8080/callback/%2E%2e;jsessionid=1/evil",
            "dot-segments",
        ),
        ("http://localhost:8080/callback/.;/evil", "dot-segments"),
        ("http://localhost:8080/callback/..%3B/evil", "dot-segments"),
        // the client would read the caller's code, state or issuer before ours
        (
            "http://localhost:8080/callback?code=INJECTED&iss=https%3A%2F%2Fevil.example.com",
            "parameter of the authorization response",
        ),
        (
            "http://localhost:8080/callback?state=x",
            "parameter of the authorization response",
        ),
        (
            "http://localhost:8080/callback?x=1&%65rror=x",
            "parameter of the authorization response",
        ),
        (
            "http://localhost:8080/callback/sub?session_state=x",
            "parameter of the authorization response",
        ),
        (
            "http://localhost:8080/callback?error_uri=x",
            "parameter of the authorization response",
        ),
    ] {
        let resp = authorize_with(&app, &["redirect_uri"], &[("redirect_uri", bad)]).await;
        let body = assert_error_page(resp, 400, bad).await;
        assert!(body.contains(why), "{bad}: the page says why\n{body}");
        assert!(!body.contains("name=\"password\""), "{bad}: no login form");
    }
    // what the callback may legitimately carry still passes
    let resp = authorize_with(
        &app,
        &["redirect_uri"],
        &[(
            "redirect_uri",
            "http://localhost:8080/callback/page;jsessionid=1?tab=code",
        )],
    )
    .await;
    assert_eq!(resp.status(), 200, "the login page");
}

#[tokio::test]
async fn a_signed_in_user_is_never_sent_a_code_to_a_servlet_dot_segment_or_a_planted_code() {
    let app = spawn_app().await;
    app.add_user("alice", "alice-password-1").await;
    // a session, so a whitelisted redirect_uri would get a code at once
    app.sign_in("alice", "alice-password-1").await;
    let (_, challenge) = pkce_pair();
    let resp = app.get(&app.authorize_url(&challenge, &[])).await;
    assert_eq!(resp.status(), 302, "the session answers at once");
    for bad in [
        "http://localhost:8080/callback/..;/evil",
        "http://localhost:8080/callback/%2e%2e;/evil",
        "http://localhost:8080/callback?code=INJECTED&iss=https%3A%2F%2Fevil.example.com",
    ] {
        let resp = authorize_with(&app, &["redirect_uri"], &[("redirect_uri", bad)]).await;
        assert_error_page(resp, 400, bad).await;
        let resp = authorize_with(
            &app,
            &["redirect_uri", "prompt"],
            &[("redirect_uri", bad), ("prompt", "none")],
        )
        .await;
        assert_error_page(resp, 400, bad).await;
    }
}
