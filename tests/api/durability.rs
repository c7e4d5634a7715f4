//! Durability: the real binary is killed with SIGKILL in the middle of a load of sign-ins,
//! code exchanges and refresh rotations, restarted on the same database, and every token a
//! client received must still work, with nothing half-written. A refresh in flight at the
//! kill may have committed without its answer reaching the client: the client's retry of
//! its last refresh token comes within the default reuse grace (30 s) and must succeed.
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helpers::lifecycle_helpers::field;
use crate::helpers::{
    authserver_command, fresh_database_url, hidden_field, is_sqlite_url, jwt_parts, location,
    pkce_pair, query_param, test_key_path, Sql, CLIENT, REDIRECT, SECRET,
};

const USER: &str = "durable";
const PASSWORD: &str = "durable-password-1";
/// Concurrent clients.
const CLIENTS: usize = 8;
/// How long the load runs before the kill.
const LOAD: Duration = Duration::from_secs(3);
/// Refresh rotations per chain before the client signs in again.
const ROTATIONS: usize = 4;

/// The server process; killed when dropped, so a failing test leaves no server behind.
struct Server {
    child: Child,
}

impl Server {
    /// Starts `authserver serve` and waits until `/healthz` answers.
    async fn start(config: &Path, dir: &Path, base: &str) -> Server {
        for attempt in 0..20 {
            let log = std::fs::File::create(dir.join(format!("server-{attempt}.log"))).unwrap();
            let mut cmd = authserver_command();
            cmd.arg("--config").arg(config).arg("serve");
            let child = cmd
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .expect("spawn authserver");
            let mut server = Server { child };
            let deadline = Instant::now() + Duration::from_secs(15);
            while Instant::now() < deadline {
                if let Some(status) = server.child.try_wait().unwrap() {
                    // most likely the port is not free yet: try again
                    eprintln!("authserver exited with {status} (attempt {attempt}); retrying");
                    break;
                }
                let up = reqwest::get(format!("{base}/healthz"))
                    .await
                    .is_ok_and(|r| r.status() == 200);
                if up {
                    return server;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        panic!(
            "authserver did not start; see the logs in {}",
            dir.display()
        );
    }

    /// SIGKILL: no shutdown, no checkpoint, no flush.
    fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM, then wait for the graceful exit.
    fn stop(&mut self) {
        // SAFETY: sending a signal to our own child process.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.child.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "authserver ignored SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free port: bind port 0, note the port, release it.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn write_config(dir: &Path, port: u16, database_url: &str) -> PathBuf {
    let text = format!(
        "server.address = 127.0.0.1\n\
         server.port = {port}\n\
         server.public.url = http://127.0.0.1:{port}\n\
         database.url = {database_url}\n\
         authentication.client.ids = webApplicationPlatform, MAGICDRAW, twc-rest-api\n\
         authentication.redirect.uri.whitelist = {REDIRECT}\n\
         authentication.client.secret = {SECRET}\n\
         authentication.signing.key = {key}\n\
         logging.level = warn\n",
        key = test_key_path().display(),
    );
    let config = dir.join("authserver.properties");
    std::fs::write(&config, text).unwrap();
    config
}

/// One sign-in and the refresh rotations that followed it.
#[derive(Debug, Default)]
struct Chain {
    /// the refresh family (from the access token's `fam` claim)
    family: String,
    access_tokens: Vec<String>,
    id_tokens: Vec<String>,
    /// the last refresh token received: the only one that may still be live
    refresh_token: String,
    /// a refresh of this chain was on the wire when the server died: it may have committed
    /// (then `refresh_token` is spent) or not
    in_flight: bool,
}

/// What one client saw.
#[derive(Debug, Default)]
struct Seen {
    chains: Vec<Chain>,
    logins: usize,
    exchanges: usize,
    refreshes: usize,
    /// requests that reached the server and got no answer (a sign-in or exchange in flight
    /// leaves no chain behind: its tokens were never received)
    unanswered: usize,
}

/// Why a request ended without an answer.
enum Failure {
    /// the connection was refused: the request never reached the server
    NotSent,
    /// sent, no answer: it may or may not have been carried out
    Unknown,
}

fn failure(e: reqwest::Error) -> Failure {
    if e.is_connect() {
        Failure::NotSent
    } else {
        Failure::Unknown
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// Browser sign-in; returns (code, verifier).
async fn sign_in(base: &str) -> Result<(String, String), Failure> {
    let http = client();
    let (verifier, challenge) = pkce_pair();
    let mut url = url::Url::parse(&format!("{base}/authentication/authorize")).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", CLIENT)
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("scope", "openid profile offline_access")
        .append_pair("state", "s")
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    let page = http.get(url).send().await.map_err(failure)?;
    assert_eq!(page.status(), 200, "the login page");
    let html = page.text().await.map_err(failure)?;
    let form = [
        ("rid", hidden_field(&html, "rid").unwrap()),
        ("csrf", hidden_field(&html, "csrf").unwrap()),
        ("username", USER.to_string()),
        ("password", PASSWORD.to_string()),
    ];
    let resp = http
        .post(format!("{base}/authentication/login"))
        .form(&form)
        .send()
        .await
        .map_err(failure)?;
    assert_eq!(resp.status(), 303, "sign-in");
    let code = query_param(&location(&resp), "code").unwrap();
    Ok((code, verifier))
}

/// POSTs to the token endpoint; a received answer must be a 200 token response.
async fn token_request(base: &str, form: &[(&str, &str)]) -> Result<Value, Failure> {
    let resp = client()
        .post(format!("{base}/authentication/api/token"))
        .header("X-Auth-Secret", SECRET)
        .form(form)
        .send()
        .await
        .map_err(failure)?;
    let status = resp.status();
    let body: Value = resp.json().await.map_err(failure)?;
    assert_eq!(status, 200, "a token request during the load: {body}");
    Ok(body)
}

/// Notes the tokens of a token response.
fn record(chain: &mut Chain, tokens: &Value) {
    chain
        .access_tokens
        .push(field(tokens, "access_token").into());
    chain.id_tokens.push(field(tokens, "id_token").into());
    chain.refresh_token = field(tokens, "refresh_token").into();
}

/// One client: sign in, exchange, rotate, again, until told to stop or the server dies.
async fn load(base: String, stop: Arc<AtomicBool>) -> Seen {
    let mut seen = Seen::default();
    'chains: while !stop.load(Ordering::SeqCst) {
        let (code, verifier) = match sign_in(&base).await {
            Ok(pair) => pair,
            Err(Failure::NotSent) => break,
            Err(Failure::Unknown) => {
                seen.unanswered += 1;
                break;
            }
        };
        seen.logins += 1;
        let tokens = match token_request(
            &base,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("client_id", CLIENT),
                ("code_verifier", &verifier),
            ],
        )
        .await
        {
            Ok(t) => t,
            Err(Failure::NotSent) => break,
            Err(Failure::Unknown) => {
                seen.unanswered += 1;
                break;
            }
        };
        seen.exchanges += 1;
        let mut chain = Chain {
            family: jwt_parts(field(&tokens, "access_token")).1["fam"]
                .as_str()
                .expect("the access token names its refresh family")
                .to_string(),
            ..Chain::default()
        };
        record(&mut chain, &tokens);
        for _ in 0..ROTATIONS {
            if stop.load(Ordering::SeqCst) {
                break;
            }
            let refresh_token = chain.refresh_token.clone();
            match token_request(
                &base,
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", &refresh_token),
                    ("client_id", CLIENT),
                ],
            )
            .await
            {
                Ok(tokens) => {
                    seen.refreshes += 1;
                    record(&mut chain, &tokens);
                }
                Err(failure) => {
                    if matches!(failure, Failure::Unknown) {
                        chain.in_flight = true;
                        seen.unanswered += 1;
                    }
                    seen.chains.push(chain);
                    break 'chains;
                }
            }
        }
        seen.chains.push(chain);
    }
    seen
}

/// Structural checks of the database: with SQLite, its own integrity check of the file and
/// the foreign keys (PostgreSQL enforces them on every statement); on both, the invariants
/// of rotation (each live family has exactly one unspent refresh token; every successor's
/// parent exists and is spent; every exchanged code's family exists).
async fn assert_consistent(database_url: &str, when: &str) {
    if is_sqlite_url(database_url) {
        let integrity = Sql::new(database_url, "PRAGMA integrity_check")
            .strings()
            .await;
        assert_eq!(integrity, ["ok"], "{when}: PRAGMA integrity_check");
        let fk = Sql::new(database_url, "PRAGMA foreign_key_check")
            .strings()
            .await;
        assert!(fk.is_empty(), "{when}: foreign key violations in {fk:?}");
    }
    let checks = [
        (
            "refresh tokens whose family is missing",
            "SELECT COUNT(*) FROM refresh_tokens r
             LEFT JOIN refresh_families f ON f.id = r.family_id WHERE f.id IS NULL",
        ),
        (
            "live families without exactly one unspent refresh token",
            "SELECT COUNT(*) FROM refresh_families f WHERE f.revoked_at IS NULL AND
             (SELECT COUNT(*) FROM refresh_tokens r
              WHERE r.family_id = f.id AND r.spent_at IS NULL) != 1",
        ),
        (
            "rotated refresh tokens whose parent is missing or unspent",
            "SELECT COUNT(*) FROM refresh_tokens r WHERE r.parent_hash IS NOT NULL AND NOT EXISTS
             (SELECT 1 FROM refresh_tokens p WHERE p.token_hash = r.parent_hash
              AND p.spent_at IS NOT NULL AND p.family_id = r.family_id)",
        ),
        (
            "exchanged codes whose family is missing",
            "SELECT COUNT(*) FROM authorization_codes c WHERE c.family_id IS NOT NULL AND
             NOT EXISTS (SELECT 1 FROM refresh_families f WHERE f.id = c.family_id)",
        ),
    ];
    for (what, sql) in checks {
        let n = Sql::new(database_url, sql).i64().await;
        assert_eq!(n, 0, "{when}: {what}");
    }
}

/// The state of one refresh token in the database: "<live|revoked> family, <unspent|spent>",
/// or `None` when the row does not exist.
async fn refresh_row(database_url: &str, token: &str) -> Option<String> {
    Sql::new(
        database_url,
        "SELECT CASE WHEN f.revoked_at IS NULL THEN 'live' ELSE 'revoked' END || ' family, '
             || CASE WHEN r.spent_at IS NULL THEN 'unspent' ELSE 'spent' END
         FROM refresh_tokens r JOIN refresh_families f ON f.id = r.family_id
         WHERE r.token_hash = $1",
    )
    .bind(authserver::crypto::token_hash(token))
    .strings()
    .await
    .pop()
}

async fn validate_status(base: &str, token: &str) -> u16 {
    client()
        .get(format!("{base}/authentication/api/validate"))
        .header("Authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_issued_before_a_sigkill_survive_the_restart() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let database_url = fresh_database_url(dir.path()).await;
    let config = write_config(dir.path(), port, &database_url);
    let out = crate::helpers::run_cli(
        &config,
        &["user", "add", USER, "--password-stdin"],
        Some(&format!("{PASSWORD}\n")),
    );
    assert!(out.status.success(), "user add: {out:?}");

    let mut server = Server::start(&config, dir.path(), &base).await;
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| tokio::spawn(load(base.clone(), stop.clone())))
        .collect();
    tokio::time::sleep(LOAD).await;
    // the kill lands while the clients are busy; they notice by themselves
    server.kill();
    stop.store(true, Ordering::SeqCst);
    let mut seen = Vec::new();
    for c in clients {
        seen.push(c.await.unwrap());
    }
    let chains: Vec<&Chain> = seen.iter().flat_map(|s| &s.chains).collect();
    let logins: usize = seen.iter().map(|s| s.logins).sum();
    let exchanges: usize = seen.iter().map(|s| s.exchanges).sum();
    let refreshes: usize = seen.iter().map(|s| s.refreshes).sum();
    let unanswered: usize = seen.iter().map(|s| s.unanswered).sum();
    assert!(
        exchanges >= CLIENTS && refreshes >= CLIENTS,
        "too little load to prove anything: {exchanges} exchanges, {refreshes} refreshes"
    );

    // the database as the crash left it
    assert_consistent(&database_url, "after SIGKILL").await;
    // every family the clients were told about is there, live; every last refresh token of a
    // chain without a refresh in flight is there, unspent
    let mut losses = Vec::new();
    // the chains whose in-flight refresh committed before the kill
    let mut committed = std::collections::HashSet::new();
    for chain in &chains {
        match refresh_row(&database_url, &chain.refresh_token)
            .await
            .as_deref()
        {
            Some("live family, unspent") => {}
            Some("live family, spent") if chain.in_flight => {
                committed.insert(chain.family.clone());
            }
            other => losses.push(format!(
                "family {}: last refresh token in the database: {other:?} (in flight: {})",
                chain.family, chain.in_flight
            )),
        }
    }

    let mut server = Server::start(&config, dir.path(), &base).await;
    // first every access and ID token (nothing presented yet can have revoked anything)
    let mut verified = 0;
    for chain in &chains {
        for token in chain.access_tokens.iter().chain(&chain.id_tokens) {
            let status = validate_status(&base, token).await;
            if status == 200 {
                verified += 1;
            } else {
                losses.push(format!(
                    "family {}: a token validates {status}",
                    chain.family
                ));
            }
        }
    }
    // then the last refresh token of each chain, once: a chain whose refresh was in flight
    // retries it (within the reuse grace, so a committed rotation it never saw does not
    // end its session)
    let mut in_flight_rotated = 0;
    let mut in_flight_not_committed = 0;
    for chain in &chains {
        let resp = client()
            .post(format!("{base}/authentication/api/token"))
            .header("X-Auth-Secret", SECRET)
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", chain.refresh_token.as_str()),
                ("client_id", CLIENT),
            ])
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.unwrap();
        match (status, chain.in_flight) {
            (200, _) => {
                verified += 1;
                let fresh = field(&body, "access_token");
                if validate_status(&base, fresh).await != 200 {
                    losses.push(format!("family {}: a fresh token fails", chain.family));
                }
                if committed.contains(&chain.family) {
                    in_flight_rotated += 1;
                } else if chain.in_flight {
                    in_flight_not_committed += 1;
                }
            }
            _ => losses.push(format!(
                "family {}: the last refresh token answers {status} {body} (in flight: {})",
                chain.family, chain.in_flight
            )),
        }
    }
    server.stop();
    assert_consistent(&database_url, "after the restart").await;

    let tokens_seen: usize = chains
        .iter()
        .map(|c| c.access_tokens.len() + c.id_tokens.len() + 1)
        .sum();
    println!(
        "durability: before the SIGKILL {logins} sign-ins, {exchanges} code exchanges, \
         {refreshes} refresh rotations by {CLIENTS} clients in {LOAD:?}; {unanswered} requests \
         unanswered at the kill ({} refreshes in flight: {in_flight_rotated} had committed, \
         {in_flight_not_committed} had not; every retry succeeded within the reuse grace)",
        chains.iter().filter(|c| c.in_flight).count()
    );
    println!(
        "durability: after the restart {verified} of {tokens_seen} received tokens verified \
         ({} chains); losses: {}",
        chains.len(),
        losses.len()
    );
    assert!(losses.is_empty(), "lost after SIGKILL: {losses:#?}");
    assert_eq!(verified, tokens_seen);
}
