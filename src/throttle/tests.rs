//! Unit tests of the throttle rules (on SQLite; the PostgreSQL suite runs the API tests).
use super::*;
use std::net::IpAddr;

#[tokio::test]
async fn ten_failures_lock_with_bounded_exponential_backoff() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let t = Throttle::new(Store::open(&url, 2).await.unwrap());
    let keys = || vec![user_key("alice")];
    let admit = |r: Result<Result<Attempt, u64>, StoreError>| r.unwrap().unwrap();
    let refuse = |r: Result<Result<Attempt, u64>, StoreError>| r.unwrap().unwrap_err();
    for _ in 0..9 {
        admit(t.begin(keys(), 1000).await);
    }
    // the 10th attempt is admitted and locks the key before its hash runs
    admit(t.begin(keys(), 1000).await);
    assert_eq!(refuse(t.begin(keys(), 1000).await), 1);
    // after the lock one attempt gets through; its failure doubles the lock
    admit(t.begin(keys(), 1001).await);
    assert_eq!(refuse(t.begin(keys(), 1001).await), 2);
    let mut now = 1003;
    for _ in 0..30 {
        admit(t.begin(keys(), now).await);
        now += t.locked_for(&user_key("alice"), now).await.unwrap();
    }
    assert_eq!(
        t.locked_for(&user_key("alice"), now - MAX_LOCK)
            .await
            .unwrap(),
        MAX_LOCK
    );
    // a success resets the user
    let a = admit(t.begin(keys(), now).await);
    t.succeeded(a).await.unwrap();
    assert_eq!(t.locked_for(&user_key("alice"), now).await.unwrap(), 0);
    admit(t.begin(keys(), now).await);
    // a second process on the same database sees the same counts
    let other = Throttle::new(Store::open(&url, 2).await.unwrap());
    for _ in 0..8 {
        admit(t.begin(vec![user_key("bob")], now).await);
    }
    admit(other.begin(vec![user_key("bob")], now).await);
    admit(other.begin(vec![user_key("bob")], now).await);
    assert_eq!(refuse(t.begin(vec![user_key("bob")], now).await), 1);
}

#[test]
fn forwarded_for_is_only_believed_from_trusted_proxies() {
    let trusted: Vec<ipnet::IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
    let peer: IpAddr = "10.0.0.5".parse().unwrap();
    let outside: IpAddr = "203.0.113.9".parse().unwrap();
    assert_eq!(client_ip(outside, Some("1.2.3.4"), &trusted), outside);
    assert_eq!(
        client_ip(peer, Some("1.2.3.4, 203.0.113.7"), &trusted),
        "203.0.113.7".parse::<IpAddr>().unwrap()
    );
    assert_eq!(
        client_ip(peer, Some("1.2.3.4, 10.0.0.9"), &trusted),
        "1.2.3.4".parse::<IpAddr>().unwrap()
    );
    assert_eq!(client_ip(peer, Some("garbage"), &trusted), peer);
    assert_eq!(client_ip(peer, None, &trusted), peer);
}

#[test]
fn forwarded_for_hops_written_with_a_port_are_parsed() {
    let trusted: Vec<ipnet::IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
    let peer: IpAddr = "10.0.0.5".parse().unwrap();
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    assert_eq!(
        client_ip(peer, Some("198.51.100.9:4711"), &trusted),
        ip("198.51.100.9")
    );
    assert_eq!(
        client_ip(peer, Some("[2001:db8::1]:443"), &trusted),
        ip("2001:db8::1")
    );
    assert_eq!(
        client_ip(peer, Some("[2001:db8::2]"), &trusted),
        ip("2001:db8::2")
    );
    // a trusted hop with a port is skipped like one without
    assert_eq!(
        client_ip(peer, Some("203.0.113.4, 10.0.0.9:8080"), &trusted),
        ip("203.0.113.4")
    );
    assert_eq!(client_ip(peer, Some("198.51.100.9:port"), &trusted), peer);
}

async fn throttle_on(dir: &tempfile::TempDir) -> Throttle {
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    Throttle::new(Store::open(&url, 2).await.unwrap())
}

fn admitted(r: Result<Result<Attempt, u64>, StoreError>) -> Attempt {
    r.unwrap().unwrap()
}

fn refused(r: Result<Result<Attempt, u64>, StoreError>) -> u64 {
    r.unwrap().unwrap_err()
}

#[tokio::test]
async fn a_success_takes_back_its_count_and_its_lock_but_not_the_failures_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let t = throttle_on(&dir).await;
    let office: IpAddr = "203.0.113.1".parse().unwrap();
    let keys = || vec![ip_key(office)];
    for _ in 0..10 {
        admitted(t.begin(keys(), 1000).await);
    }
    assert_eq!(refused(t.begin(keys(), 1000).await), 1);
    // the lock is over: a right password is counted (and locks while argon2 runs) ...
    let a = admitted(t.begin(keys(), 1002).await);
    assert_eq!(refused(t.begin(keys(), 1002).await), 2);
    // ... and taken back with its lock when it succeeds
    t.succeeded(a).await.unwrap();
    assert_eq!(t.locked_for(&ip_key(office), 1002).await.unwrap(), 0);
    let a = admitted(t.begin(keys(), 1002).await);
    t.succeeded(a).await.unwrap();
    // the ten failures before it still count: the next failure locks for 2 s
    let _failed = admitted(t.begin(keys(), 1002).await);
    assert_eq!(refused(t.begin(keys(), 1002).await), 2);
}

#[tokio::test]
async fn address_failures_leak_away_one_every_decay_period_and_user_failures_do_not() {
    let dir = tempfile::tempdir().unwrap();
    let t = throttle_on(&dir).await;
    let ip: IpAddr = "203.0.113.2".parse().unwrap();
    for _ in 0..10 {
        admitted(t.begin(vec![ip_key(ip)], 1000).await);
        admitted(t.begin(vec![user_key("carol")], 1000).await);
    }
    // three decay periods later the address has seven failures: two more do not lock
    let now = 1000 + 3 * ADDRESS_DECAY;
    admitted(t.begin(vec![ip_key(ip)], now).await);
    admitted(t.begin(vec![ip_key(ip)], now).await);
    assert_eq!(t.locked_for(&ip_key(ip), now).await.unwrap(), 0);
    admitted(t.begin(vec![ip_key(ip)], now).await);
    assert_eq!(t.locked_for(&ip_key(ip), now).await.unwrap(), 1);
    // the user name's eleventh consecutive failure doubles its lock whenever it comes
    admitted(t.begin(vec![user_key("carol")], now).await);
    assert_eq!(t.locked_for(&user_key("carol"), now).await.unwrap(), 2);
}

#[tokio::test]
async fn a_known_source_is_admitted_while_the_user_is_locked_on_every_instance_and_keeps_its_own_count(
) {
    let dir = tempfile::tempdir().unwrap();
    let t = throttle_on(&dir).await;
    let other = throttle_on(&dir).await;
    let home: IpAddr = "192.0.2.1".parse().unwrap();
    let road: IpAddr = "192.0.2.2".parse().unwrap();
    let source = |ip, device| Source {
        username: "Alice",
        ip,
        device,
    };
    let now = 1000;
    let a = admitted(t.begin_password(&source(home, Some("cookie")), now).await);
    t.succeeded(a).await.unwrap();
    // ten failures from elsewhere lock the user name for unknown sources
    for i in 0..10u8 {
        let ip = IpAddr::from([198, 18, 0, i]);
        admitted(t.begin_password(&source(ip, None), now).await);
    }
    assert_eq!(
        refused(other.begin_password(&source(road, None), now).await),
        1
    );
    assert_eq!(
        refused(
            other
                .begin_password(&source(road, Some("other")), now)
                .await
        ),
        1
    );
    // the known address and the known device are admitted, on the other instance too
    let a = admitted(other.begin_password(&source(home, None), now).await);
    other.succeeded(a).await.unwrap();
    let a = admitted(
        other
            .begin_password(&source(road, Some("cookie")), now)
            .await,
    );
    other.succeeded(a).await.unwrap();
    // the device is bound to alice
    let bob = Source {
        username: "bob",
        ip: road,
        device: Some("cookie"),
    };
    for _ in 0..10 {
        admitted(t.begin(vec![user_key("bob")], now).await);
    }
    assert_eq!(refused(t.begin_password(&bob, now).await), 1);
    // ten failures from the known device lock that device (for alice) only
    for _ in 0..10 {
        admitted(t.begin_password(&source(road, Some("cookie")), now).await);
    }
    assert_eq!(
        refused(
            other
                .begin_password(&source(road, Some("cookie")), now)
                .await
        ),
        1
    );
    let a = admitted(t.begin_password(&source(home, None), now).await);
    t.succeeded(a).await.unwrap();
}
