//! Known sources (SPEC "Throttling", docs/security.md "Throttling"): failures from
//! elsewhere do not lock a user out of a source that recently signed them in (the same
//! client address, or a browser holding the user's device cookie); unknown sources still
//! meet the back-off, and a known source keeps its own failure count.
use std::time::{Duration, Instant};

use crate::helpers::lifecycle_helpers::{basic, post_token};
use crate::helpers::{
    bare_client, cookie_attributes, cookie_value, hidden_field, pkce_pair, set_cookie_header,
    TestApp, CLIENT, SECRET,
};
use crate::lockout::app_behind_proxy;

const DEVICE_COOKIE: &str = "authserver_device";

/// A fresh browser (no cookies but the device cookie `device`) signs `user` in from `from`
/// (an `X-Forwarded-For` address). Returns the status of the login POST and the device
/// cookie it set, if any.
async fn browser_sign_in(
    app: &TestApp,
    user: &str,
    password: &str,
    from: &str,
    device: Option<&str>,
) -> (u16, Option<String>) {
    let client = bare_client();
    let (_, challenge) = pkce_pair();
    let resp = client
        .get(app.authorize_url(&challenge, &[]))
        .header("X-Forwarded-For", from)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "expected the login page");
    let csrf = cookie_value(&set_cookie_header(&resp, "authserver_csrf").unwrap());
    let page = resp.text().await.unwrap();
    let mut cookies = format!("authserver_csrf={csrf}");
    if let Some(d) = device {
        cookies.push_str(&format!("; {DEVICE_COOKIE}={d}"));
    }
    let resp = client
        .post(app.url("/login"))
        .header("Cookie", cookies)
        .header("X-Forwarded-For", from)
        .form(&[
            ("rid", hidden_field(&page, "rid").unwrap()),
            ("csrf", hidden_field(&page, "csrf").unwrap()),
            ("username", user.to_string()),
            ("password", password.to_string()),
        ])
        .send()
        .await
        .unwrap();
    let set = set_cookie_header(&resp, DEVICE_COOKIE).map(|c| cookie_value(&c));
    (resp.status().as_u16(), set)
}

/// `client_credentials` for `user` as if from `from`.
async fn client_credentials_from(
    app: &TestApp,
    user: &str,
    password: &str,
    from: &str,
) -> reqwest::Response {
    post_token(
        app,
        &[
            ("X-Auth-Secret", SECRET),
            ("Authorization", basic(user, password).as_str()),
            ("X-Forwarded-For", from),
        ],
        &[("grant_type", "client_credentials"), ("client_id", CLIENT)],
    )
    .await
}

/// Wrong passwords for `user`, each from another address, until the user key is locked
/// for unknown sources for the longest lock (15 minutes).
async fn lock_from_elsewhere(app: &TestApp, user: &str) {
    for i in 0..60 {
        let resp = client_credentials_from(app, user, "wrong", &format!("198.18.0.{i}")).await;
        match resp.status().as_u16() {
            401 => {}
            429 => {
                let wait: i64 = resp.headers()["retry-after"]
                    .to_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                if wait >= authserver::throttle::MAX_LOCK {
                    return;
                }
                app.clock.advance(wait);
            }
            other => panic!("unexpected status {other}"),
        }
    }
    panic!(
        "{user} was not locked for {} s",
        authserver::throttle::MAX_LOCK
    );
}

#[tokio::test]
async fn a_browser_holding_the_users_device_cookie_signs_in_while_the_user_is_locked_elsewhere() {
    let app = app_behind_proxy().await;
    app.add_user("alice", "alice-password").await;
    let (status, device) =
        browser_sign_in(&app, "alice", "alice-password", "192.0.2.1", None).await;
    assert_eq!(status, 303);
    let device = device.expect("a successful sign-in sets the device cookie");
    lock_from_elsewhere(&app, "alice").await;
    // from a new address (a laptop on the road) the device cookie is enough
    let (status, again) =
        browser_sign_in(&app, "alice", "alice-password", "192.0.2.77", Some(&device)).await;
    assert_eq!(status, 303, "the device cookie admits alice");
    assert_eq!(
        again.as_deref(),
        Some(device.as_str()),
        "the cookie is kept"
    );
    // a browser without it, or with a cookie that is not alice's, meets the back-off
    let (status, _) = browser_sign_in(&app, "alice", "alice-password", "192.0.2.78", None).await;
    assert_eq!(status, 429);
    let forged = authserver::crypto::random_token();
    let (status, _) =
        browser_sign_in(&app, "alice", "alice-password", "192.0.2.78", Some(&forged)).await;
    assert_eq!(status, 429);
    // the cookie is bound to alice: bob's sign-in with it does not make it bob's source
    app.add_user("bob", "bob-password").await;
    lock_from_elsewhere(&app, "bob").await;
    let (status, _) =
        browser_sign_in(&app, "bob", "bob-password", "192.0.2.79", Some(&device)).await;
    assert_eq!(status, 429);
}

#[tokio::test]
async fn an_integration_keeps_signing_in_from_its_address_after_its_cache_entry_expires_while_the_user_is_locked(
) {
    let app = app_behind_proxy().await;
    app.add_user("worker", "worker-password").await;
    let integration = "192.0.2.10";
    let resp = client_credentials_from(&app, "worker", "worker-password", integration).await;
    assert_eq!(resp.status(), 200);
    lock_from_elsewhere(&app, "worker").await;
    // the verified-credential cache has expired: the call pays argon2 behind the throttle
    app.clock
        .advance(authserver::domain::credentials::CREDENTIAL_TTL + 1);
    let resp = client_credentials_from(&app, "worker", "worker-password", integration).await;
    assert_eq!(resp.status(), 200, "the integration's own address is known");
    // another address with the right password is an unknown source: it waits
    app.clock
        .advance(authserver::domain::credentials::CREDENTIAL_TTL + 1);
    let resp = client_credentials_from(&app, "worker", "worker-password", "192.0.2.11").await;
    assert_eq!(resp.status(), 429);
    // and guessing goes on being throttled from everywhere else
    let resp = client_credentials_from(&app, "worker", "guess", "198.18.2.2").await;
    assert_eq!(resp.status(), 429);
}

#[tokio::test]
async fn a_known_source_keeps_its_own_failure_count() {
    let app = app_behind_proxy().await;
    app.add_user("alice", "alice-password").await;
    let home = "192.0.2.20";
    let (status, device) = browser_sign_in(&app, "alice", "alice-password", home, None).await;
    assert_eq!(status, 303);
    let device = device.unwrap();
    // someone at alice's address (or holding her device cookie) guesses: ten failures
    // lock that source too
    for i in 0..10 {
        let (status, _) = browser_sign_in(&app, "alice", "guess", home, None).await;
        assert_eq!(status, 401, "guess {} from the known address", i + 1);
    }
    let (status, _) = browser_sign_in(&app, "alice", "alice-password", home, None).await;
    assert_eq!(
        status, 429,
        "the known address is locked by its own failures"
    );
    for i in 0..10 {
        let (status, _) =
            browser_sign_in(&app, "alice", "guess", "192.0.2.21", Some(&device)).await;
        assert_eq!(status, 401, "guess {} with the device cookie", i + 1);
    }
    let (status, _) =
        browser_sign_in(&app, "alice", "alice-password", "192.0.2.21", Some(&device)).await;
    assert_eq!(status, 429, "the device is locked by its own failures");
}

#[tokio::test]
async fn the_device_cookie_is_random_http_only_same_site_lax_and_long_lived() {
    let app = app_behind_proxy().await;
    app.add_user("alice", "alice-password").await;
    let (_, challenge) = pkce_pair();
    let page = app.login_page(&app.authorize_url(&challenge, &[])).await;
    let resp = app
        .submit_login(&page, "alice", "alice-password", false)
        .await;
    assert_eq!(resp.status(), 303);
    let header = set_cookie_header(&resp, DEVICE_COOKIE).expect("device cookie");
    let value = cookie_value(&header);
    assert_eq!(value.len(), 43, "256 random bits, base64url");
    let attributes = cookie_attributes(&header);
    assert!(attributes.iter().any(|(k, _)| k == "httponly"), "{header}");
    assert!(
        attributes
            .iter()
            .any(|(k, v)| k == "samesite" && v == "Lax"),
        "{header}"
    );
    let max_age: i64 = attributes
        .iter()
        .find(|(k, _)| k == "max-age")
        .map(|(_, v)| v.parse().unwrap())
        .expect("Max-Age");
    assert!(max_age >= 30 * 86400, "{header}");
    // only a hash is stored, never the cookie
    let stored = app
        .sql_strings("SELECT key FROM login_throttle WHERE key LIKE 'd:%'")
        .await;
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert!(!stored[0].contains(&value));
    // a failed sign-in sets no device cookie
    let other = app.another_browser();
    let page = other
        .login_page(&other.authorize_url(&challenge, &[]))
        .await;
    let resp = other.submit_login(&page, "alice", "wrong", false).await;
    assert_eq!(resp.status(), 401);
    assert!(set_cookie_header(&resp, DEVICE_COOKIE).is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_wrong_passwords_from_many_addresses_do_not_keep_the_users_known_sources_out() {
    let app = app_behind_proxy().await;
    app.add_user("victim", "victim-password").await;
    // the victim's browser (device cookie) and the victim's office address sign in first
    let (status, device) =
        browser_sign_in(&app, "victim", "victim-password", "192.0.2.30", None).await;
    assert_eq!(status, 303);
    let device = device.unwrap();
    let office = "192.0.2.31";
    assert_eq!(
        browser_sign_in(&app, "victim", "victim-password", office, None)
            .await
            .0,
        303
    );

    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // two known sources sign in over and over during the attack: the victim's browser
    // (device cookie) from roaming addresses, and the victim's office address
    let known: Vec<_> = [true, false]
        .into_iter()
        .map(|with_device| {
            let app = app.another_browser();
            let stop = stop.clone();
            let device = device.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut refused = 0u32;
                let mut n = 0u32;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    n += 1;
                    let start = Instant::now();
                    let (status, _) = if with_device {
                        let from = format!("192.0.2.{}", 100 + n % 100);
                        browser_sign_in(&app, "victim", "victim-password", &from, Some(&device))
                            .await
                    } else {
                        browser_sign_in(&app, "victim", "victim-password", office, None).await
                    };
                    latencies.push(start.elapsed());
                    if status != 303 {
                        refused += 1;
                    }
                }
                (latencies, refused)
            })
        })
        .collect();

    let started = Instant::now();
    let tasks: Vec<_> = (0..50u32)
        .map(|t| {
            let app_url = app.url("/api/token");
            tokio::spawn(async move {
                let client = bare_client();
                let (mut unauthorized, mut throttled) = (0u32, 0u32);
                for i in 0..20u32 {
                    let n = t * 20 + i;
                    let from = format!("198.18.{}.{}", n / 250, n % 250 + 1);
                    let guess = format!("wrong-guess-{}", authserver::crypto::random_id());
                    let resp = client
                        .post(&app_url)
                        .header("X-Auth-Secret", SECRET)
                        .header("X-Forwarded-For", from)
                        .header("Authorization", basic("victim", &guess))
                        .form(&[("grant_type", "client_credentials"), ("client_id", CLIENT)])
                        .send()
                        .await
                        .unwrap();
                    match resp.status().as_u16() {
                        401 => unauthorized += 1,
                        429 => throttled += 1,
                        other => panic!("unexpected status {other}"),
                    }
                    // paced, so the attack lasts a few seconds (the test server's clock
                    // stands still: the user name stays locked throughout)
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                (unauthorized, throttled)
            })
        })
        .collect();
    let (mut unauthorized, mut throttled) = (0, 0);
    for t in tasks {
        let (u, t) = t.await.unwrap();
        unauthorized += u;
        throttled += t;
    }
    let elapsed = started.elapsed();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (mut latencies, mut refused) = (Vec::new(), 0);
    for k in known {
        let (l, r) = k.await.unwrap();
        latencies.extend(l);
        refused += r;
    }
    latencies.sort();
    let signins = latencies.len();
    let median = latencies[signins / 2];
    let slowest = latencies[signins - 1];
    println!(
        "1,000 wrong passwords from 1,000 addresses: {unauthorized} reached argon2 (401), \
         {throttled} got 429, in {elapsed:?}; the victim's known sources signed in \
         {} of {signins} times (median {median:?}, slowest {slowest:?})",
        signins as u32 - refused
    );
    assert_eq!(unauthorized + throttled, 1000);
    assert!(
        unauthorized <= 15,
        "{unauthorized} attempts reached argon2 (expected about 10)"
    );
    assert!(
        signins >= 2,
        "the known sources signed in during the attack"
    );
    assert_eq!(refused, 0, "a known source was refused during the attack");
    assert!(slowest < Duration::from_secs(5), "{slowest:?}");
    // an unknown source is still locked out
    assert_eq!(
        client_credentials_from(&app, "victim", "victim-password", "198.51.100.1")
            .await
            .status(),
        429
    );
}

#[tokio::test]
async fn housekeeping_keeps_a_known_source_until_it_expires() {
    let app = app_behind_proxy().await;
    app.add_user("alice", "alice-password").await;
    let (status, device) =
        browser_sign_in(&app, "alice", "alice-password", "192.0.2.40", None).await;
    assert_eq!(status, 303);
    let device = device.unwrap();
    let sources = "SELECT COUNT(*) FROM login_throttle WHERE key LIKE 'k:%' OR key LIKE 'd:%'";
    assert_eq!(app.sql_i64(sources).await, 2);
    // a week later the address and the device are still known
    app.clock.advance(7 * 86_400);
    authserver::housekeeping::purge_once(&app.state)
        .await
        .unwrap();
    assert_eq!(app.sql_i64(sources).await, 2);
    lock_from_elsewhere(&app, "alice").await;
    let (status, _) =
        browser_sign_in(&app, "alice", "alice-password", "192.0.2.41", Some(&device)).await;
    assert_eq!(status, 303);
    // past a year without a sign-in both are gone
    app.clock
        .advance(authserver::throttle::DEVICE_TTL + 2 * 86_400);
    authserver::housekeeping::purge_once(&app.state)
        .await
        .unwrap();
    assert_eq!(app.sql_i64(sources).await, 0);
}
