//! Unit tests of the whitelist matcher.
use super::*;

fn wl() -> Whitelist {
    Whitelist::new(&[
        "https://app.example.com",
        "https://web.example.com/webapp/",
        "https://cb.example.com/cb",
        "http://localhost:8080/callback",
        "http://127.0.0.1/native",
        "http://[::1]/v6",
        "https://q.example.com/cb?tenant=1",
        "com.example.app:/oauth2redirect",
    ])
}

fn ok(uri: &str) {
    assert_eq!(
        wl().check(uri).map(|r| r.0),
        Ok(uri.to_string()),
        "{uri} should pass"
    );
}
fn refused(uri: &str) {
    assert!(wl().check(uri).is_err(), "{uri} should be refused");
}

#[test]
fn exact_entries_and_boundary_prefixes_match() {
    ok("https://app.example.com");
    ok("https://app.example.com/");
    ok("https://app.example.com/anything/below?x=1");
    ok("https://web.example.com/webapp/");
    ok("https://web.example.com/webapp/page");
    ok("https://cb.example.com/cb");
    ok("https://cb.example.com/cb/deeper");
    ok("https://cb.example.com/cb?tab=x");
    ok("http://localhost:8080/callback");
    ok("https://q.example.com/cb?tenant=1");
}

#[test]
fn prefixes_that_do_not_end_on_a_boundary_are_refused() {
    refused("https://app.example.com.evil.net/");
    refused("https://app.example.com.evil.net");
    refused("https://app.example.com@evil.net/");
    refused("https://cb.example.com/cbevil");
    refused("https://web.example.com/webappx");
    refused("https://web.example.com/webapp");
    refused("https://q.example.com/cb?tenant=10");
    refused("http://localhost:8080/callbackx");
}

#[test]
fn scheme_host_and_port_must_match_exactly() {
    refused("http://app.example.com/");
    refused("https://app.example.com:8443/");
    refused("http://localhost:8081/callback");
    refused("http://localhost/callback");
    refused("https://evil.net/?https://app.example.com");
}

#[test]
fn non_canonical_uris_are_refused_not_normalised() {
    refused("https://user@app.example.com/");
    refused("https://user:pw@app.example.com/");
    refused("https://app.example.com/#frag");
    refused("https://app.example.com/a/../b");
    refused("https://app.example.com/./b");
    refused("https://app.example.com/%2e%2e/b");
    refused("https://app.example.com/.%2E/b");
    refused("https://app.example.com/a%2Fb");
    refused("https://app.example.com/a%5cb");
    refused("https://app.example.com\\@evil.net/");
    refused("https://app.example.com/a\\b");
    refused("HTTPS://app.example.com/");
    refused("https://APP.example.com/");
    refused("https://app.example.com:443/");
    refused("http://localhost:8080/callback with space");
    refused("javascript:alert(1)");
    refused("not a url");
    refused("");
    refused("https://app.example.com/\u{0}");
}

#[test]
fn segments_that_are_dot_segments_once_their_parameters_are_removed_are_refused() {
    // Tomcat and Jetty drop `;` parameters before resolving dot-segments
    for uri in [
        "https://web.example.com/webapp/..;/evil",
        "https://web.example.com/webapp/..;jsessionid=1/evil",
        "https://web.example.com/webapp/.;/evil",
        "https://web.example.com/webapp/.;x=y",
        "https://web.example.com/webapp/%2e%2e;/evil",
        "https://web.example.com/webapp/%2E%2e;/evil",
        "https://web.example.com/webapp/.%2E;a;b/evil",
        "https://web.example.com/webapp/%2e;/evil",
        "https://web.example.com/webapp/..%3b/evil",
        "https://web.example.com/webapp/..%3B/evil",
        "https://web.example.com/webapp/%252e%252e;/evil",
        "https://web.example.com/webapp/%25252e%25252e%25253b/evil",
        "https://app.example.com/..;",
        "https://cb.example.com/cb/..;/x?y=1",
        "https://web.example.com/webapp/%c0%ae%c0%ae;/evil",
        "https://web.example.com/webapp/%C0%AE%e0%80%ae/evil",
        "https://web.example.com/webapp/x%252f..%252fevil",
        "https://web.example.com/webapp/x%255c..;%255cevil",
    ] {
        refused(uri);
        assert_eq!(
            wl().check(uri),
            Err(RedirectError::NotCanonical("has dot-segments")),
            "{uri}"
        );
    }
    ok("https://web.example.com/webapp/page;jsessionid=1");
    ok("https://web.example.com/webapp/..a/page");
    ok("https://web.example.com/webapp/...;/page");
    ok("https://web.example.com/webapp/a;..");
    ok("https://web.example.com/webapp/page?next=..;/x");
}

#[test]
fn response_parameters_planted_in_the_query_are_refused() {
    for uri in [
        "http://localhost:8080/callback?code=INJECTED",
        "http://localhost:8080/callback?code=INJECTED&iss=https%3A%2F%2Fevil",
        "http://localhost:8080/callback?x=1&state=s",
        "http://localhost:8080/callback?iss=x",
        "http://localhost:8080/callback?error=access_denied",
        "http://localhost:8080/callback?error_description=x",
        "http://localhost:8080/callback?error_uri=x",
        "http://localhost:8080/callback?session_state=x",
        "http://localhost:8080/callback?code",
        "http://localhost:8080/callback?%63ode=x",
        "http://localhost:8080/callback?CODE=x",
        "http://localhost:8080/callback?x=1;code=x",
        "http://localhost:8080/callback/deeper?code=x",
        "https://app.example.com/?state=x",
        "https://q.example.com/cb?tenant=1/x&code=x",
    ] {
        assert_eq!(
            wl().check(uri),
            Err(RedirectError::ReservedParameter),
            "{uri}"
        );
    }
    ok("http://localhost:8080/callback?codes=1");
    ok("http://localhost:8080/callback?x=code&y=state");
    ok("https://q.example.com/cb?tenant=1/x&tab=2");
}

#[test]
fn a_whitelist_entry_keeps_its_own_response_parameters() {
    let wl = Whitelist::new(&[
        "https://s.example.com/cb?state=fixed",
        "https://t.example.com/cb?",
    ]);
    assert!(wl.check("https://s.example.com/cb?state=fixed").is_ok());
    assert!(wl.check("https://s.example.com/cb?state=fixed/x").is_ok());
    assert!(wl.check("https://t.example.com/cb?x=1").is_ok());
    for planted in [
        "https://s.example.com/cb?state=fixed/x&state=evil",
        "https://s.example.com/cb?state=fixed/x&code=evil",
        "https://t.example.com/cb?code=evil",
    ] {
        assert_eq!(
            wl.check(planted),
            Err(RedirectError::ReservedParameter),
            "{planted}"
        );
    }
}

#[test]
fn a_loopback_entry_without_port_admits_any_port() {
    ok("http://127.0.0.1/native");
    ok("http://127.0.0.1:51234/native");
    ok("http://127.0.0.1:1/native/cb");
    ok("http://[::1]:4000/v6");
    refused("http://127.0.0.1:51234/other");
    refused("https://127.0.0.1:51234/native");
    refused("http://localhost:51234/native");
}

#[test]
fn params_are_appended_to_the_exact_uri() {
    let r = wl().check("https://cb.example.com/cb?tab=x").unwrap();
    assert_eq!(
        r.with_params(&[("code", "a b"), ("iss", "https://i/x")]),
        "https://cb.example.com/cb?tab=x&code=a+b&iss=https%3A%2F%2Fi%2Fx"
    );
    let r = wl().check("https://cb.example.com/cb").unwrap();
    assert_eq!(
        r.with_params(&[("code", "c")]),
        "https://cb.example.com/cb?code=c"
    );
}

#[test]
fn a_private_use_scheme_entry_admits_exactly_itself() {
    ok("com.example.app:/oauth2redirect");
    refused("com.example.app:/oauth2redirect/deeper");
    refused("com.example.app:/oauth2redirect?x=1");
    refused("com.example.app:/oauth2redirectx");
    refused("com.example.app:/oauth2redirect#f");
    refused("com.example.evil:/oauth2redirect");
    refused("COM.example.app:/oauth2redirect");
    refused("com.example.app://oauth2redirect");
}

#[test]
fn browser_schemes_are_never_private_use_schemes() {
    for raw in [
        "javascript:alert(1)",
        "data:text/html,x",
        "file:///etc/passwd",
        "vbscript:x",
        "blob:https://x.example/1",
        "about:blank",
        "http:/x",
        "myapp:/cb",
        ".com.example:/cb",
        "com..example:/cb",
        "com.example.app:",
        "com.example.app:/a b",
        "com.example.app:/a\\b",
        "com.example.app:/@evil",
    ] {
        assert_eq!(crate::config::private_use_scheme(raw), None, "{raw}");
    }
    assert_eq!(
        crate::config::private_use_scheme("com.example.app:/cb"),
        Some("com.example.app")
    );
    let wl = Whitelist::new(&["javascript:alert(1)", "data:text/html,x"]);
    assert!(wl.check("javascript:alert(1)").is_err());
    assert!(wl.check("data:text/html,x").is_err());
}

#[test]
fn localhost_is_not_a_loopback_any_port_entry() {
    let wl = Whitelist::new(&["http://localhost/cb"]);
    assert!(wl.check("http://localhost/cb").is_ok());
    assert!(wl.check("http://localhost:51234/cb").is_err());
}
