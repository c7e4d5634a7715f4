//! Load driver for grants with one-time inputs (authorization codes, refresh tokens), which
//! plain load tools cannot replay. Used by `bench/run.sh`.
//!
//! `cargo run --release --example loadgen -- <issuer> <refresh|code> <connections> <seconds> <secret> <user> <password>`
//! `cargo run --release --example loadgen -- <issuer> <mint-refresh|mint-codes> <count> 0 <secret> <user> <password>`
//!
//! With `TARGETS=http://127.0.0.1:8081,http://127.0.0.1:8082` the measured refresh loop of
//! connection i talks to target i mod n (several instances behind one issuer); sign-ins
//! and code exchanges still go to the issuer.
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::redirect::Policy;

#[path = "support/raw_http.rs"]
mod raw_http;
use raw_http::RawConn;

const CLIENT: &str = "webApplicationPlatform";
const REDIRECT: &str = "http://localhost:8080/callback";

fn field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).map(|i| i + marker.len()).unwrap_or(0);
    let end = html[start..].find('"').map(|i| i + start).unwrap_or(start);
    html[start..end].to_string()
}

fn code_of(location: &str) -> Option<String> {
    url::Url::parse(location)
        .ok()?
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
}

fn authorize_url(issuer: &str) -> String {
    format!(
        "{issuer}/authorize?response_type=code&client_id={CLIENT}&redirect_uri={}&scope=openid%20profile&state=s",
        url::form_urlencoded::byte_serialize(REDIRECT.as_bytes()).collect::<String>()
    )
}

/// Signs in through the login form; returns a client holding the SSO cookie and a code.
async fn sign_in(issuer: &str, user: &str, password: &str) -> (reqwest::Client, String) {
    let client = reqwest::Client::builder()
        .redirect(Policy::none())
        .cookie_store(true)
        .pool_max_idle_per_host(1)
        .build()
        .expect("client");
    let page = client
        .get(authorize_url(issuer))
        .send()
        .await
        .expect("authorize")
        .text()
        .await
        .expect("page");
    let resp = client
        .post(format!("{issuer}/login"))
        .form(&[
            ("rid", field(&page, "rid")),
            ("csrf", field(&page, "csrf")),
            ("username", user.to_string()),
            ("password", password.to_string()),
        ])
        .send()
        .await
        .expect("login");
    let location = resp
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let code = code_of(&location)
        .unwrap_or_else(|| panic!("sign-in failed: {} {location}", resp.status()));
    (client, code)
}

async fn next_code(client: &reqwest::Client, issuer: &str) -> String {
    let resp = client
        .get(authorize_url(issuer))
        .send()
        .await
        .expect("authorize");
    let location = resp
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    code_of(location).expect("SSO code")
}

async fn exchange(
    client: &reqwest::Client,
    issuer: &str,
    secret: &str,
    code: &str,
) -> reqwest::Response {
    client
        .post(format!("{issuer}/api/token"))
        .header("X-Auth-Secret", secret)
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("client_id", CLIENT),
        ])
        .send()
        .await
        .expect("token")
}

/// The string value of `"key":"…"` in a flat JSON object (our token response).
fn json_string(json: &str, key: &str) -> Option<String> {
    let marker = format!("\"{key}\":\"");
    let start = json.find(&marker)? + marker.len();
    let end = json[start..].find('"')? + start;
    Some(json[start..end].to_string())
}

struct Stats {
    /// the second (from the start) in which each request finished
    finished_in_second: Vec<u64>,
    latencies_us: Vec<u64>,
    errors: u64,
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 8 {
        eprintln!("usage: loadgen <issuer> <refresh|code> <connections> <seconds> <secret> <user> <password>");
        std::process::exit(2);
    }
    let issuer = Arc::new(args[1].clone());
    let mode = args[2].clone();
    let connections: usize = args[3].parse().expect("connections");
    let seconds: u64 = args[4].parse().expect("seconds");
    let secret = Arc::new(args[5].clone());
    let user = args[6].clone();
    let password = args[7].clone();

    // `mint-refresh N` / `mint-codes N`: print N one-time inputs for an external load tool
    // (wrk with bench/*.lua): N refresh tokens of N families, or N fresh codes
    if mode == "mint-refresh" || mode == "mint-codes" {
        let (client, first) = sign_in(&issuer, &user, &password).await;
        let mut code = first;
        for i in 0..connections {
            if i > 0 {
                code = next_code(&client, &issuer).await;
            }
            if mode == "mint-codes" {
                println!("{code}");
                continue;
            }
            let r = exchange(&client, &issuer, &secret, &code).await;
            let body: serde_json::Value = r.json().await.expect("tokens");
            println!("{}", body["refresh_token"].as_str().expect("refresh token"));
        }
        return;
    }
    // `REFRESH_TOKENS=<file>` (refresh mode): rotate the chains of refresh tokens minted
    // earlier (`mint-refresh`, one a line, one chain per connection) from the first
    // moment, with no sign-in first (`bench/scale.sh` starts it as the server starts)
    let minted: Option<Vec<String>> = std::env::var("REFRESH_TOKENS").ok().map(|file| {
        std::fs::read_to_string(&file)
            .expect("REFRESH_TOKENS file")
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| l.trim().to_string())
            .take(connections)
            .collect()
    });
    // set-up (measured apart): one sign-in per connection, one after the other, so each
    // login POST shows the cost of one argon2id verification on an idle server
    let mut setups = Vec::new();
    let mut logins = Vec::new();
    let sign_ins = if minted.is_some() { 0 } else { connections };
    for _ in 0..sign_ins {
        let t = Instant::now();
        setups.push(sign_in(&issuer, &user, &password).await);
        logins.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    logins.sort_by(|a, b| a.total_cmp(b));
    if !logins.is_empty() {
        println!(
        "sign-in (authorize + login form with argon2id), sequential: n={}, p50 {:.1} ms, max {:.1} ms",
        logins.len(),
        logins[logins.len() / 2],
            logins[logins.len() - 1]
        );
    }
    // for the code grant, mint the codes up front through the SSO session (no argon2)
    // (enough for 3,000 exchanges a second, all connections minting at once)
    let per_conn_codes = if mode == "code" {
        3_000 * seconds as usize / connections.max(1) + 1
    } else {
        0
    };
    let prepared = futures::future::join_all(setups.into_iter().map(|(client, first_code)| {
        let issuer = issuer.clone();
        async move {
            let mut codes = vec![first_code];
            for _ in 1..per_conn_codes {
                codes.push(next_code(&client, &issuer).await);
            }
            (client, codes)
        }
    }))
    .await;
    // with minted tokens: one chain per token, no client library (the set-up above was
    // skipped); the first rotation is the first measured request
    let prepared: Vec<(Option<reqwest::Client>, Vec<String>)> = match minted {
        Some(tokens) => tokens.into_iter().map(|t| (None, vec![t])).collect(),
        None => prepared
            .into_iter()
            .map(|(client, codes)| (Some(client), codes))
            .collect(),
    };

    // (bench/cores.sh waits for this line to profile the measured phase only)
    println!("measuring: {} connections for {seconds} s", prepared.len());
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let start = Instant::now();
    let targets: Vec<String> = std::env::var("TARGETS")
        .unwrap_or_default()
        .split(',')
        .map(|t| t.trim().trim_end_matches('/').to_string())
        .filter(|t| !t.is_empty())
        .collect();
    let mut tasks = Vec::new();
    for (i, (client, codes)) in prepared.into_iter().enumerate() {
        let target = targets.get(i % targets.len().max(1)).cloned();
        let issuer = issuer.clone();
        let secret = secret.clone();
        let mode = mode.clone();
        tasks.push(tokio::spawn(async move {
            let mut stats = Stats {
                finished_in_second: Vec::new(),
                latencies_us: Vec::new(),
                errors: 0,
            };
            // the measured loops speak HTTP/1.1 over one kept-alive socket by hand: a
            // full client library costs the machine's second core as much as the
            // server's work does
            let url = url::Url::parse(&issuer).expect("issuer URL");
            let base = match &target {
                Some(t) => url::Url::parse(t).expect("target URL"),
                None => url.clone(),
            };
            let host = format!(
                "{}:{}",
                base.host_str().unwrap_or("127.0.0.1"),
                base.port_or_known_default().unwrap_or(80)
            );
            let path = format!("{}/api/token", url.path().trim_end_matches('/'));
            let token_request = |body: String| {
                format!(
                    "POST {path} HTTP/1.1\r\nHost: {host}\r\nX-Auth-Secret: {secret}\r\n\
                     Content-Type: application/x-www-form-urlencoded\r\n\
                     Content-Length: {}\r\n\r\n{body}",
                    body.len(),
                    secret = secret.as_str()
                )
            };
            if mode == "code" {
                let redirect: String =
                    url::form_urlencoded::byte_serialize(REDIRECT.as_bytes()).collect();
                let mut conn = RawConn::connect(&host).await;
                for code in codes {
                    if Instant::now() >= deadline {
                        break;
                    }
                    let t = Instant::now();
                    let request = token_request(format!(
                        "grant_type=authorization_code&code={code}&redirect_uri={redirect}&client_id={CLIENT}"
                    ));
                    let (status, _) = conn.round_trip(request.as_bytes()).await;
                    stats.latencies_us.push(t.elapsed().as_micros() as u64);
                    stats.finished_in_second.push(start.elapsed().as_secs());
                    if status != 200 {
                        stats.errors += 1;
                    }
                }
            } else {
                let mut refresh = match &client {
                    Some(client) => {
                        let r = exchange(client, &issuer, &secret, &codes[0]).await;
                        let body: serde_json::Value = r.json().await.expect("tokens");
                        body["refresh_token"]
                            .as_str()
                            .expect("refresh token")
                            .to_string()
                    }
                    None => codes[0].clone(),
                };
                let mut conn = RawConn::connect(&host).await;
                while Instant::now() < deadline {
                    let t = Instant::now();
                    let request = token_request(format!(
                        "grant_type=refresh_token&client_id={CLIENT}&refresh_token={refresh}"
                    ));
                    let (status, response) = conn.round_trip(request.as_bytes()).await;
                    stats.latencies_us.push(t.elapsed().as_micros() as u64);
                    stats.finished_in_second.push(start.elapsed().as_secs());
                    match json_string(&response, "refresh_token") {
                        Some(next) if status == 200 => refresh = next,
                        _ => {
                            stats.errors += 1;
                            break;
                        }
                    }
                }
            }
            stats
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    let mut per_second = vec![0u64; seconds as usize];
    for t in tasks {
        let s = t.await.expect("task");
        for second in &s.finished_in_second {
            if let Some(count) = per_second.get_mut(*second as usize) {
                *count += 1;
            }
        }
        all.extend(s.latencies_us);
        errors += s.errors;
    }
    let elapsed = start.elapsed().as_secs_f64();
    all.sort_unstable();
    let pct = |p: f64| {
        all.get(((all.len() as f64 - 1.0) * p) as usize)
            .copied()
            .unwrap_or(0) as f64
            / 1000.0
    };
    // `DETAIL=1`: the tail, and how steady the rate was from one second to the next (on a
    // CPU-bound run the p99 follows the slowest seconds)
    if std::env::var("DETAIL").is_ok() {
        println!(
            "  p90 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms; requests per second: min {}, max {}",
            pct(0.9),
            pct(0.999),
            pct(1.0),
            per_second.iter().min().unwrap_or(&0),
            per_second.iter().max().unwrap_or(&0)
        );
    }
    println!(
        "{mode}: {} requests in {elapsed:.2} s = {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, errors {errors}",
        all.len(),
        all.len() as f64 / elapsed,
        pct(0.50),
        pct(0.99)
    );
}
