//! Login lockout (SPEC "Throttling"): after 10 failed password checks for one user name or
//! one client address, 429 with Retry-After, and argon2 is not reached any more.
use std::time::{Duration, Instant};

use crate::helpers::lifecycle_helpers::{client_credentials, client_credentials_ok};
use crate::helpers::{bare_client, hidden_field, spawn_app, AppBuilder, TestApp, CLIENT};

/// A login page (its `rid` and `csrf` stay valid until a sign-in succeeds; after a
/// success the browser holds an SSO session, so ask with `app.another_browser()`).
pub(crate) async fn login_page(app: &TestApp) -> String {
    let (_, challenge) = crate::helpers::pkce_pair();
    app.login_page(&app.authorize_url(&challenge, &[])).await
}

/// Submits the login form of `page` as if from `from` (an `X-Forwarded-For` address).
pub(crate) async fn login_from(
    app: &TestApp,
    page: &str,
    user: &str,
    password: &str,
    from: Option<&str>,
) -> reqwest::Response {
    let mut req = app.client.post(app.url("/login")).form(&[
        ("rid", hidden_field(page, "rid").unwrap()),
        ("csrf", hidden_field(page, "csrf").unwrap()),
        ("username", user.to_string()),
        ("password", password.to_string()),
    ]);
    if let Some(ip) = from {
        req = req.header("X-Forwarded-For", ip);
    }
    req.send().await.unwrap()
}

pub(crate) async fn assert_throttled_page(resp: reqwest::Response) {
    assert_eq!(resp.status(), 429);
    let retry: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&retry), "{retry}");
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = resp.text().await.unwrap();
    assert!(html.contains("Too many failed sign-in attempts"), "{html}");
}

/// A server that believes `X-Forwarded-For` from the tests (so each test can play several
/// client addresses).
pub(crate) async fn app_behind_proxy() -> TestApp {
    AppBuilder::new()
        .set("server.trusted.proxies", "127.0.0.1/32")
        .spawn()
        .await
}

#[tokio::test]
async fn ten_wrong_passwords_on_the_login_form_lock_the_user_with_429_and_retry_after() {
    let app = app_behind_proxy().await;
    app.add_user("alice", "alice-password").await;
    let page = login_page(&app).await;
    for i in 0..10 {
        // every attempt from another address: only the user's count can lock
        let ip = format!("198.51.100.{i}");
        let resp = login_from(&app, &page, "alice", "wrong-password", Some(&ip)).await;
        assert_eq!(resp.status(), 401, "attempt {}", i + 1);
    }
    let resp = login_from(
        &app,
        &page,
        "alice",
        "alice-password",
        Some("198.51.100.99"),
    )
    .await;
    assert_throttled_page(resp).await;
    // the lock is on the name, whatever its case
    let resp = login_from(
        &app,
        &page,
        "ALICE",
        "alice-password",
        Some("198.51.100.98"),
    )
    .await;
    assert_eq!(resp.status(), 429);
    // another user is not affected
    app.add_user("bob", "bob-password").await;
    let resp = login_from(&app, &page, "bob", "bob-password", Some("198.51.100.97")).await;
    assert_eq!(resp.status(), 303);

    // after the lock (1 s at the 10th failure) one attempt goes through again
    app.clock.advance(2);
    let app = app.another_browser();
    let page = login_page(&app).await;
    let resp = login_from(
        &app,
        &page,
        "alice",
        "alice-password",
        Some("198.51.100.96"),
    )
    .await;
    assert_eq!(resp.status(), 303);
}

#[tokio::test]
async fn ten_unknown_user_names_from_one_address_lock_that_address() {
    let app = app_behind_proxy().await;
    app.add_user("alice", "alice-password").await;
    let page = login_page(&app).await;
    let attacker = Some("203.0.113.7");
    for i in 0..10 {
        let resp = login_from(&app, &page, &format!("nobody{i}"), "guess", attacker).await;
        assert_eq!(resp.status(), 401, "attempt {}", i + 1);
    }
    // from that address even the right password is turned away without a hash
    assert_throttled_page(login_from(&app, &page, "alice", "alice-password", attacker).await).await;
    assert_throttled_page(login_from(&app, &page, "nobody99", "guess", attacker).await).await;
    // alice from her own address is fine
    let resp = login_from(&app, &page, "alice", "alice-password", Some("192.0.2.1")).await;
    assert_eq!(resp.status(), 303);
}

#[tokio::test]
async fn without_trusted_proxies_forwarded_for_is_ignored() {
    let app = spawn_app().await;
    app.add_user("alice", "alice-password").await;
    let page = login_page(&app).await;
    for i in 0..10 {
        // a forged X-Forwarded-For does not buy fresh addresses
        let ip = format!("198.51.100.{i}");
        let resp = login_from(&app, &page, &format!("nobody{i}"), "guess", Some(&ip)).await;
        assert_eq!(resp.status(), 401);
    }
    let resp = login_from(&app, &page, "nobody-else", "guess", Some("198.51.100.200")).await;
    assert_eq!(resp.status(), 429);
}

#[tokio::test]
async fn a_successful_sign_in_resets_the_users_count() {
    let app = app_behind_proxy().await;
    app.add_user("alice", "alice-password").await;
    let page = login_page(&app).await;
    for _ in 0..9 {
        let resp = login_from(&app, &page, "alice", "wrong", Some("198.51.100.1")).await;
        assert_eq!(resp.status(), 401);
    }
    let resp = login_from(&app, &page, "alice", "alice-password", Some("198.51.100.2")).await;
    assert_eq!(resp.status(), 303);
    // nine more failures (from a third address) do not reach the limit of ten
    let app = app.another_browser();
    let page = login_page(&app).await;
    for i in 0..9 {
        let resp = login_from(&app, &page, "alice", "wrong", Some("198.51.100.3")).await;
        assert_eq!(resp.status(), 401, "failure {} after the reset", i + 1);
    }
    let resp = login_from(&app, &page, "alice", "alice-password", Some("198.51.100.4")).await;
    assert_eq!(resp.status(), 303);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_concurrent_wrong_passwords_reach_argon2_about_ten_times_and_the_server_keeps_serving(
) {
    let app = spawn_app().await;
    app.add_user("victim", "victim-password").await;
    app.add_user("worker", "worker-password").await;
    // a server integration that signed in before the attack: its credentials are cached
    client_credentials_ok(&app, CLIENT, "worker", "worker-password").await;

    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watcher = {
        let url = format!("{}/.well-known/openid-configuration", app.issuer);
        let stop = stop.clone();
        tokio::spawn(async move {
            let client = bare_client();
            let mut checks = 0u32;
            let mut slowest = Duration::ZERO;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let start = Instant::now();
                let resp = client.get(&url).send().await.unwrap();
                assert_eq!(resp.status(), 200, "discovery failed during the attack");
                slowest = slowest.max(start.elapsed());
                checks += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            (checks, slowest)
        })
    };

    let started = Instant::now();
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let app_url = app.url("/api/token");
            tokio::spawn(async move {
                let client = bare_client();
                let (mut unauthorized, mut throttled) = (0u32, 0u32);
                for _ in 0..20 {
                    // every guess differs: identical concurrent requests would share one
                    // verification, which would hide how many reached argon2
                    let guess = format!("wrong-guess-{}", authserver::crypto::random_id());
                    let resp = client
                        .post(&app_url)
                        .header("X-Auth-Secret", crate::helpers::SECRET)
                        .header(
                            "Authorization",
                            crate::helpers::lifecycle_helpers::basic("victim", &guess),
                        )
                        .form(&[("grant_type", "client_credentials"), ("client_id", CLIENT)])
                        .send()
                        .await
                        .unwrap();
                    match resp.status().as_u16() {
                        401 => unauthorized += 1,
                        429 => {
                            assert!(resp.headers().get("retry-after").is_some());
                            let body: serde_json::Value = resp.json().await.unwrap();
                            assert_eq!(body["error"], "temporarily_unavailable");
                            throttled += 1;
                        }
                        other => panic!("unexpected status {other}"),
                    }
                }
                (unauthorized, throttled)
            })
        })
        .collect();
    // meanwhile the cached integration keeps working
    for _ in 0..5 {
        client_credentials_ok(&app, CLIENT, "worker", "worker-password").await;
    }
    let (mut unauthorized, mut throttled) = (0, 0);
    for t in tasks {
        let (u, t) = t.await.unwrap();
        unauthorized += u;
        throttled += t;
    }
    let elapsed = started.elapsed();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (checks, slowest) = watcher.await.unwrap();

    println!(
        "1,000 wrong passwords: {unauthorized} reached argon2 (401), {throttled} got 429, \
         in {elapsed:?}; discovery checked {checks} times, slowest {slowest:?}"
    );
    assert_eq!(unauthorized + throttled, 1000);
    // each 401 is one argon2 verification; the throttle admits 10 before it locks
    assert!(
        unauthorized <= 15,
        "{unauthorized} attempts reached argon2 (expected about 10)"
    );
    assert!(throttled >= 985, "{throttled} throttled");
    assert!(checks >= 1, "discovery was checked during the attack");
    assert!(
        slowest < Duration::from_secs(2),
        "discovery took {slowest:?} during the attack"
    );
    assert!(
        elapsed < Duration::from_secs(30),
        "the attack took {elapsed:?}"
    );
    // the victim is locked out (even with the right password) until the lock expires
    assert_eq!(
        client_credentials(&app, CLIENT, "victim", "victim-password")
            .await
            .status(),
        429
    );
    client_credentials_ok(&app, CLIENT, "worker", "worker-password").await;
}

#[tokio::test]
async fn a_correct_password_from_a_busy_address_neither_creates_nor_extends_its_lock() {
    let app = app_behind_proxy().await;
    app.add_user("alice", "alice-password").await;
    app.add_user("bob", "bob-password").await;
    let page = login_page(&app).await;
    // one office behind one NAT: ten typos of unknown names lock the address for 1 s
    let office = Some("203.0.113.20");
    for i in 0..10 {
        let resp = login_from(&app, &page, &format!("nobody{i}"), "typo", office).await;
        assert_eq!(resp.status(), 401, "attempt {}", i + 1);
    }
    assert_throttled_page(login_from(&app, &page, "alice", "alice-password", office).await).await;
    app.clock.advance(2);
    // once the lock is over, right passwords from the office go through, one after the
    // other in the same second: a success never locks the address
    for (user, password) in [("alice", "alice-password"), ("bob", "bob-password")] {
        let browser = app.another_browser();
        let page = login_page(&browser).await;
        let resp = login_from(&browser, &page, user, password, office).await;
        assert_eq!(resp.status(), 303, "{user} from the office");
    }
    let browser = app.another_browser();
    let page = login_page(&browser).await;
    let resp = login_from(&browser, &page, "alice", "alice-password", office).await;
    assert_eq!(resp.status(), 303, "alice again from the office");
}

#[tokio::test]
async fn failures_counted_against_an_address_are_forgotten_over_time() {
    let app = app_behind_proxy().await;
    let page = login_page(&app).await;
    let office = Some("203.0.113.21");
    for i in 0..10 {
        let resp = login_from(&app, &page, &format!("nobody{i}"), "typo", office).await;
        assert_eq!(resp.status(), 401, "attempt {}", i + 1);
    }
    assert_eq!(
        login_from(&app, &page, "nobody", "typo", office)
            .await
            .status(),
        429
    );
    // one failure is forgotten every ADDRESS_DECAY seconds: after ten of them the address
    // has a clean record and nine typos in a row are answered, not throttled
    app.clock.advance(10 * authserver::throttle::ADDRESS_DECAY);
    let page = login_page(&app).await;
    for i in 0..9 {
        let resp = login_from(&app, &page, &format!("later{i}"), "typo", office).await;
        assert_eq!(resp.status(), 401, "attempt {} after the decay", i + 1);
    }
}

#[tokio::test]
async fn a_success_from_an_address_does_not_wipe_its_failures() {
    let app = app_behind_proxy().await;
    app.add_user("mallory", "mallory-password").await;
    let page = login_page(&app).await;
    let attacker = Some("203.0.113.22");
    for i in 0..9 {
        let resp = login_from(&app, &page, &format!("victim{i}"), "guess", attacker).await;
        assert_eq!(resp.status(), 401, "attempt {}", i + 1);
    }
    // signing in to their own account between guesses does not buy the attacker more
    let browser = app.another_browser();
    let own = login_page(&browser).await;
    let resp = login_from(&browser, &own, "mallory", "mallory-password", attacker).await;
    assert_eq!(resp.status(), 303);
    let resp = login_from(&app, &page, "victim9", "guess", attacker).await;
    assert_eq!(resp.status(), 401);
    assert_throttled_page(login_from(&app, &page, "victim10", "guess", attacker).await).await;
}
