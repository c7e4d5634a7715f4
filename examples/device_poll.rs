//! What one pending device code can cost the server (RFC 8628 polling with `slow_down` in
//! force): starts one device authorization, then `<connections>` loops poll its device
//! code back to back for `<seconds>` (a client that ignores the interval), and reports
//! the answers, the rate, the latency and, given the server's PID, the server's CPU time
//! and bytes written per poll (from `/proc`). Used by `bench/device_poll.sh`.
//!
//! `cargo run --release --example device_poll -- <issuer> <secret> <connections> <seconds> [server_pid] [early|db]`
//!
//! `early` (the default) is the client that ignores the interval. `db` polls as another
//! client (`MAGICDRAW`, which must be allowed), so that every poll reaches the database
//! and records itself there (an `UPDATE` of the row, answered `invalid_grant`): the cost
//! of a poll that the in-memory gate cannot answer.
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

const CLIENT: &str = "webApplicationPlatform";
const GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// (CPU seconds, bytes written to storage) of a process so far.
fn process_cost(pid: Option<u32>) -> Option<(f64, u64)> {
    let pid = pid?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // fields after the command name's closing parenthesis; utime and stime are 14 and 15
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    let io = std::fs::read_to_string(format!("/proc/{pid}/io")).ok()?;
    let wchar = io
        .lines()
        .find_map(|l| l.strip_prefix("write_bytes: "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    // USER_HZ is 100 on Linux
    Some((ticks / 100.0, wchar))
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 5 {
        eprintln!("usage: device_poll <issuer> <secret> <connections> <seconds> [server_pid]");
        std::process::exit(64);
    }
    let issuer = args[1].clone();
    let secret = args[2].clone();
    let connections: usize = args[3].parse().expect("connections");
    let seconds: u64 = args[4].parse().expect("seconds");
    let pid: Option<u32> = args.get(5).and_then(|p| p.parse().ok());
    let poller = match args.get(6).map(String::as_str) {
        None | Some("early") => CLIENT,
        Some("db") => "MAGICDRAW",
        Some(other) => panic!("unknown mode {other}"),
    };
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .build()
        .expect("client");
    let started: serde_json::Value = client
        .post(format!("{issuer}/api/oidc/device_code"))
        .basic_auth(CLIENT, Some(&secret))
        .form(&[("scope", "openid")])
        .send()
        .await
        .expect("device authorization")
        .json()
        .await
        .expect("json");
    let device_code = Arc::new(
        started["device_code"]
            .as_str()
            .expect("device_code")
            .to_string(),
    );
    let before = process_cost(pid);
    let begin = Instant::now();
    let deadline = begin + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let client = client.clone();
        let issuer = issuer.clone();
        let secret = secret.clone();
        let device_code = device_code.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut answers: BTreeMap<String, u64> = BTreeMap::new();
            let mut last_interval = 0;
            while Instant::now() < deadline {
                let t = Instant::now();
                let resp = client
                    .post(format!("{issuer}/api/token"))
                    .basic_auth(poller, Some(&secret))
                    .form(&[("grant_type", GRANT), ("device_code", device_code.as_str())])
                    .send()
                    .await;
                let answer = match resp {
                    Ok(r) => {
                        let status = r.status().as_u16();
                        let body: serde_json::Value = r.json().await.unwrap_or_default();
                        if let Some(i) = body["interval"].as_i64() {
                            last_interval = last_interval.max(i);
                        }
                        format!("{status} {}", body["error"].as_str().unwrap_or("ok"))
                    }
                    Err(_) => "connection error".to_string(),
                };
                latencies.push(t.elapsed());
                *answers.entry(answer).or_default() += 1;
            }
            (latencies, answers, last_interval)
        }));
    }
    let mut latencies = Vec::new();
    let mut answers: BTreeMap<String, u64> = BTreeMap::new();
    let mut interval = 0;
    for t in tasks {
        let (l, a, i) = t.await.expect("task");
        latencies.extend(l);
        for (k, v) in a {
            *answers.entry(k).or_default() += v;
        }
        interval = interval.max(i);
    }
    let elapsed = begin.elapsed().as_secs_f64();
    let after = process_cost(pid);
    latencies.sort();
    let n = latencies.len();
    let pct = |p: f64| latencies[((n as f64 * p) as usize).min(n.saturating_sub(1))];
    println!(
        "{n} polls in {elapsed:.1} s: {:.0} polls/s, p50 {:.2} ms, p99 {:.2} ms",
        n as f64 / elapsed,
        pct(0.50).as_secs_f64() * 1000.0,
        pct(0.99).as_secs_f64() * 1000.0
    );
    println!("answers: {answers:?}; interval reached: {interval} s");
    if let (Some((cpu0, w0)), Some((cpu1, w1))) = (before, after) {
        println!(
            "server: {:.2} CPU s ({:.0} % of one core), {:.1} µs CPU and {:.1} bytes written to storage per poll",
            cpu1 - cpu0,
            (cpu1 - cpu0) / elapsed * 100.0,
            (cpu1 - cpu0) / n as f64 * 1e6,
            (w1 - w0) as f64 / n as f64
        );
    }
}
