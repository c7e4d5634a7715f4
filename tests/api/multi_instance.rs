//! Several `authserver serve` processes on one database (PostgreSQL in the postgres suite,
//! one SQLite file in the api suite), as behind a load balancer: atomic grants across
//! processes, and caches that follow each other's changes within the documented bound.
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use authserver::oauth::authorize::SSO_COOKIE;

use crate::helpers::lifecycle_helpers::basic;
use crate::helpers::{
    authserver_command, bare_client, cookie_value, exchange_code, fresh_database_url, hidden_field,
    hidden_fields, jwks_kids_at, jwt_parts, location, pkce_pair, query_param, run_cli,
    set_cookie_header, test_key_path, CLIENT, REDIRECT, SECRET,
};

/// How long a change on one instance may take to reach the others (docs/operations.md "Running
/// several instances"). PostgreSQL: the other instances `LISTEN` and apply a change as soon
/// as it commits (the bound leaves room for a loaded CI machine). SQLite: the 2 s poll,
/// plus slack.
fn sync_bound() -> Duration {
    if crate::helpers::backend_is_postgres() {
        Duration::from_millis(1000)
    } else {
        Duration::from_secs(4)
    }
}

struct Instance {
    child: Child,
    base: String,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Instance {
    fn url(&self, path: &str) -> String {
        format!("{}/authentication{path}", self.base)
    }
}

/// `n` server processes on one database; the first one's address is everyone's public
/// URL (the issuer), as with a load balancer in front.
struct Cluster {
    dir: tempfile::TempDir,
    config: PathBuf,
    nodes: Vec<Instance>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn properties(db: &str, port: u16, public_port: u16, fixture_key: bool) -> String {
    let mut text = format!(
        "server.address = 127.0.0.1\n\
         server.port = {port}\n\
         server.public.url = http://127.0.0.1:{public_port}\n\
         database.url = {db}\n\
         database.pool.size = 4\n\
         authentication.client.ids = webApplicationPlatform, MAGICDRAW, twc-rest-api\n\
         authentication.redirect.uri.whitelist = {REDIRECT}\n\
         authentication.client.secret = {SECRET}\n\
         logging.level = warn\n\
         authentication.refresh.token.reuse.grace = 0\n"
    );
    // (strict one-time use: the races of these tests count every reuse as one)
    if fixture_key {
        text.push_str(&format!(
            "authentication.signing.key = {}\n",
            test_key_path().display()
        ));
    }
    text
}

async fn start(config: &Path, dir: &Path, port: u16, index: usize) -> Instance {
    let log = std::fs::File::create(dir.join(format!("node-{index}.log"))).unwrap();
    let child = authserver_command()
        .arg("--config")
        .arg(config)
        .arg("serve")
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("spawn authserver");
    let mut node = Instance {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = node.child.try_wait().unwrap() {
            let log = std::fs::read_to_string(dir.join(format!("node-{index}.log")));
            panic!("instance {index} exited with {status}: {log:?}");
        }
        let up = bare_client()
            .get(format!("{}/healthz", node.base))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200);
        if up {
            return node;
        }
        assert!(Instant::now() < deadline, "instance {index} did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

impl Cluster {
    async fn start(n: usize, fixture_key: bool) -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let db = fresh_database_url(dir.path()).await;
        let ports: Vec<u16> = (0..n).map(|_| free_port()).collect();
        let mut nodes = Vec::new();
        let mut config = PathBuf::new();
        for (i, port) in ports.iter().enumerate() {
            let path = dir.path().join(format!("node-{i}.properties"));
            std::fs::write(&path, properties(&db, *port, ports[0], fixture_key)).unwrap();
            if i == 0 {
                config = path.clone();
            }
            nodes.push(start(&path, dir.path(), *port, i).await);
        }
        Cluster { dir, config, nodes }
    }

    fn cli(&self, args: &[&str], stdin: Option<&str>) -> String {
        let out = run_cli(&self.config, args, stdin);
        assert!(
            out.status.success(),
            "authserver {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn add_user(&self, name: &str, password: &str) {
        self.cli(
            &["user", "add", name, "--password-stdin"],
            Some(&format!("{password}\n")),
        );
    }
}

/// A browser: keeps cookies (for every port of 127.0.0.1), never follows redirects.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .unwrap()
}

fn authorize_url(node: &Instance, challenge: &str, extra: &[(&str, &str)]) -> String {
    let mut url = url::Url::parse(&node.url("/authorize")).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", CLIENT)
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("scope", "openid profile")
        .append_pair("state", "st4te")
        .append_pair("code_challenge", challenge)
        .append_pair("code_challenge_method", "S256")
        .extend_pairs(extra);
    url.to_string()
}

/// Signs in on `node` with the login form; returns (code, verifier, SSO cookie value).
async fn sign_in(
    browser: &reqwest::Client,
    node: &Instance,
    user: &str,
    password: &str,
) -> (String, String, String) {
    let (verifier, challenge) = pkce_pair();
    let page = browser
        .get(authorize_url(node, &challenge, &[]))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200, "login page");
    let page = page.text().await.unwrap();
    let resp = browser
        .post(node.url("/login"))
        .form(&[
            ("rid", hidden_field(&page, "rid").unwrap()),
            ("csrf", hidden_field(&page, "csrf").unwrap()),
            ("username", user.to_string()),
            ("password", password.to_string()),
        ])
        .send()
        .await
        .unwrap();
    let sid = set_cookie_header(&resp, SSO_COOKIE)
        .map(|c| cookie_value(&c))
        .unwrap_or_default();
    assert_eq!(resp.status(), 303, "{:?}", resp.text().await);
    let loc = location(&resp);
    (query_param(&loc, "code").expect("code"), verifier, sid)
}

/// Whether `cookie` is a live SSO session at `node` (prompt=none gets a code).
async fn has_session(node: &Instance, cookie: &str) -> bool {
    let (_, challenge) = pkce_pair();
    let resp = bare_client()
        .get(authorize_url(node, &challenge, &[("prompt", "none")]))
        .header("Cookie", format!("{SSO_COOKIE}={cookie}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 302);
    let loc = location(&resp);
    match query_param(&loc, "error").as_deref() {
        None => query_param(&loc, "code").is_some(),
        Some("login_required") => false,
        Some(other) => panic!("unexpected error {other}"),
    }
}

async fn exchange(node: &Instance, code: &str, verifier: &str) -> reqwest::Response {
    exchange_code(&bare_client(), &node.url("/api/token"), code, verifier).await
}

async fn refresh(base: &str, refresh_token: &str) -> reqwest::Response {
    bare_client()
        .post(format!("{base}/authentication/api/token"))
        .header("X-Auth-Secret", SECRET)
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", CLIENT),
        ])
        .send()
        .await
        .unwrap()
}

async fn client_credentials(node: &Instance, user: &str, password: &str) -> u16 {
    bare_client()
        .post(node.url("/api/token"))
        .header("X-Auth-Secret", SECRET)
        .header("Authorization", basic(user, password))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "twc-rest-api"),
        ])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn validate(node: &Instance, token: &str) -> u16 {
    bare_client()
        .get(node.url("/api/validate"))
        .header("Authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn tokens(node: &Instance, user: &str, password: &str) -> serde_json::Value {
    let (code, verifier, _) = sign_in(&browser(), node, user, password).await;
    let resp = exchange(node, &code, &verifier).await;
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

fn field(tokens: &serde_json::Value, name: &str) -> String {
    tokens[name].as_str().unwrap_or_default().to_string()
}

/// Polls `check` until it holds; returns how long that took (panics after `bound`).
async fn time_until<F, Fut>(what: &str, bound: Duration, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    loop {
        if check().await {
            let took = started.elapsed();
            eprintln!("{what}: {} ms", took.as_millis());
            return took;
        }
        assert!(
            started.elapsed() < bound,
            "{what}: not within {} ms",
            bound.as_millis()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refresh_token_raced_across_three_instances_rotates_exactly_once() {
    let cluster = Cluster::start(3, true).await;
    cluster.add_user("alice", "alice-password-1");
    for round in 0..3 {
        let t = tokens(&cluster.nodes[round % 3], "alice", "alice-password-1").await;
        let rt = field(&t, "refresh_token");
        let mut tasks = Vec::new();
        for i in 0..24 {
            let base = cluster.nodes[i % 3].base.clone();
            let rt = rt.clone();
            tasks.push(tokio::spawn(async move {
                let resp = refresh(&base, &rt).await;
                let status = resp.status().as_u16();
                let body: serde_json::Value = resp.json().await.unwrap();
                (status, body)
            }));
        }
        let mut wins = Vec::new();
        for task in tasks {
            let (status, body) = task.await.unwrap();
            match status {
                200 => wins.push(body),
                400 => assert_eq!(body["error"], "invalid_grant", "{body}"),
                other => panic!("unexpected {other}: {body}"),
            }
        }
        assert_eq!(wins.len(), 1, "round {round}: exactly one rotation wins");
        // the losers were reuse: the family is revoked everywhere, the winner's new
        // refresh token included
        let winner = field(&wins[0], "refresh_token");
        for node in &cluster.nodes {
            let resp = refresh(&node.base, &winner).await;
            assert_eq!(resp.status(), 400, "the family is revoked");
        }
    }
}

#[tokio::test]
async fn a_code_issued_by_one_instance_is_exchanged_at_another_once() {
    let cluster = Cluster::start(3, true).await;
    cluster.add_user("bob", "bob-password-12");
    let (code, verifier, _) =
        sign_in(&browser(), &cluster.nodes[0], "bob", "bob-password-12").await;
    let resp = exchange(&cluster.nodes[1], &code, &verifier).await;
    assert_eq!(resp.status(), 200);
    let t: serde_json::Value = resp.json().await.unwrap();
    let (_, claims) = jwt_parts(&field(&t, "id_token"));
    assert_eq!(claims["sub"], "bob");
    // every instance accepts the tokens
    for node in &cluster.nodes {
        assert_eq!(validate(node, &field(&t, "access_token")).await, 200);
    }
    // a replay at a third instance fails and revokes what the code started, everywhere
    let replay = exchange(&cluster.nodes[2], &code, &verifier).await;
    assert_eq!(replay.status(), 400);
    let access = field(&t, "access_token");
    for node in &cluster.nodes {
        time_until("code replay revokes the family", sync_bound(), || async {
            validate(node, &access).await == 401
        })
        .await;
    }
}

#[tokio::test]
async fn signing_out_on_one_instance_ends_the_session_on_all() {
    let cluster = Cluster::start(3, true).await;
    cluster.add_user("carol", "carol-password-1");
    let b = browser();
    let (_, _, sid) = sign_in(&b, &cluster.nodes[0], "carol", "carol-password-1").await;
    assert!(!sid.is_empty(), "the sign-in set the SSO cookie");
    // the session works at every instance
    for node in &cluster.nodes {
        assert!(has_session(node, &sid).await, "session at {}", node.base);
    }
    // sign out at instance 1 (the confirmation form)
    let page = b
        .get(cluster.nodes[1].url("/api/signout"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let resp = b
        .post(cluster.nodes[1].url("/api/signout"))
        .form(&hidden_fields(&page))
        .send()
        .await
        .unwrap();
    assert!(resp.status() == 200 || resp.status() == 303, "{resp:?}");
    // the same cookie (a second tab, or a stolen copy) is dead at every instance at
    // once: sessions live in the database, not in an instance's memory
    for node in &cluster.nodes {
        assert!(
            !has_session(node, &sid).await,
            "signed out at {}",
            node.base
        );
    }
}

#[tokio::test]
async fn a_key_rotated_through_one_database_is_published_and_used_by_all_instances() {
    let cluster = Cluster::start(3, false).await;
    cluster.add_user("dave", "dave-password-12");
    let kids = |node: &Instance| {
        let url = node.url("/jwks.json");
        async move { jwks_kids_at(&bare_client(), &url).await }
    };
    // instances racing on first start agreed on one key
    let first = kids(&cluster.nodes[0]).await;
    assert_eq!(first.len(), 1);
    for node in &cluster.nodes {
        assert_eq!(kids(node).await, first);
    }
    let new_kid = cluster.cli(&["keys", "rotate"], None).trim().to_string();
    for node in &cluster.nodes {
        time_until("rotated key published", sync_bound(), || async {
            kids(node).await.contains(&new_kid)
        })
        .await;
        let t = tokens(node, "dave", "dave-password-12").await;
        let (header, _) = jwt_parts(&field(&t, "id_token"));
        assert_eq!(header["kid"], new_kid.as_str(), "signs with the new key");
        // tokens of every instance verify at every other one
        for other in &cluster.nodes {
            assert_eq!(validate(other, &field(&t, "access_token")).await, 200);
        }
    }
}

#[tokio::test]
async fn revocation_password_change_and_disable_reach_every_instance_within_the_bound() {
    let cluster = Cluster::start(2, true).await;
    let (a, b) = (&cluster.nodes[0], &cluster.nodes[1]);
    cluster.add_user("erin", "erin-password-12");
    // an access token revoked at A stops working at B
    let t = tokens(a, "erin", "erin-password-12").await;
    let access = field(&t, "access_token");
    assert_eq!(validate(b, &access).await, 200);
    let resp = bare_client()
        .post(a.url("/api/revoke"))
        .header("X-Auth-Secret", SECRET)
        .form(&[("token", access.as_str()), ("client_id", CLIENT)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    time_until(
        "revoked access token refused at B",
        sync_bound(),
        || async { validate(b, &access).await == 401 },
    )
    .await;
    // a password changed through A's database: B's verified-credential cache drops the
    // old password
    assert_eq!(client_credentials(b, "erin", "erin-password-12").await, 200);
    let t = tokens(b, "erin", "erin-password-12").await;
    cluster.cli(
        &["user", "passwd", "erin", "--password-stdin"],
        Some("erin-password-34\n"),
    );
    time_until("old password refused at B", sync_bound(), || async {
        client_credentials(b, "erin", "erin-password-12").await != 200
    })
    .await;
    assert_eq!(client_credentials(a, "erin", "erin-password-34").await, 200);
    assert_eq!(client_credentials(b, "erin", "erin-password-34").await, 200);
    // the password change ended the refresh family started at B, on both
    assert_eq!(
        refresh(&a.base, &field(&t, "refresh_token")).await.status(),
        400
    );
    // a personal access token revoked through the shared database stops working at both
    let pat = cluster
        .cli(&["pat", "create", "erin", "--description", "ci"], None)
        .trim()
        .to_string();
    let pat_id = cluster
        .cli(&["pat", "list", "erin"], None)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    for node in &cluster.nodes {
        assert_eq!(validate(node, &pat).await, 200, "the PAT is cached");
    }
    cluster.cli(&["pat", "revoke", &pat_id], None);
    for node in &cluster.nodes {
        time_until("revoked PAT refused", sync_bound(), || async {
            validate(node, &pat).await == 401
        })
        .await;
    }
    // disabling the user kills their access tokens at every instance
    let t = tokens(a, "erin", "erin-password-34").await;
    let access = field(&t, "access_token");
    assert_eq!(validate(b, &access).await, 200);
    cluster.cli(&["user", "disable", "erin"], None);
    for node in &cluster.nodes {
        time_until("disabled user's token refused", sync_bound(), || async {
            validate(node, &access).await == 401
        })
        .await;
    }
}

#[tokio::test]
async fn failed_passwords_count_against_one_shared_limit() {
    let cluster = Cluster::start(3, true).await;
    cluster.add_user("frank", "frank-password-1");
    // ten wrong passwords spread over three instances lock the user everywhere
    for i in 0..10 {
        let status = client_credentials(&cluster.nodes[i % 3], "frank", "wrong-password").await;
        assert_eq!(status, 401, "attempt {i}");
    }
    // The 10th failure locked the user for 1 s (before its hash ran), the next admitted
    // failures lock for 2 s, then 4 s: two more make the lock long enough to see it at
    // every instance even on a loaded machine (real processes, real clock).
    let (mut admitted, mut refused, mut i) = (0, 0, 0);
    while admitted < 2 {
        match client_credentials(&cluster.nodes[i % 3], "frank", "wrong-password").await {
            401 => admitted += 1,
            429 => {
                refused += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            other => panic!("attempt {i} after the limit: {other}"),
        }
        i += 1;
    }
    assert!(refused > 0, "the 10th failure locked the user");
    for node in &cluster.nodes {
        assert_eq!(
            client_credentials(node, "frank", "wrong-password").await,
            429,
            "locked at {}",
            node.base
        );
    }
    // keep the temporary directory (logs) alive to the end
    assert!(cluster.dir.path().exists());
}
