//! The request log as an operator reads it: JSON lines, no secrets, no query strings.
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::helpers::{authserver_command, fresh_database_url, test_key_path, SECRET};

#[tokio::test]
async fn json_logs_have_one_line_per_request_and_never_a_secret_or_query_string() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = dir.path().join("authserver.properties");
    let database_url = fresh_database_url(dir.path()).await;
    std::fs::write(
        &config,
        format!(
            "server.port = {port}\ndatabase.url = {database_url}\n\
             authentication.client.ids = webApplicationPlatform\n\
             authentication.redirect.uri.whitelist = http://localhost:8080/callback\n\
             authentication.client.secret = {SECRET}\n\
             authentication.signing.key = {}\n\
             logging.format = json\nlogging.level = info\n",
            test_key_path().display()
        ),
    )
    .unwrap();
    let add = authserver_command()
        .args([
            "--config",
            config.to_str().unwrap(),
            "user",
            "add",
            "logger",
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(b"logger-password-1\n")?;
            c.wait()
        })
        .unwrap();
    assert!(add.success());
    let mut child = authserver_command()
        .args(["--config", config.to_str().unwrap(), "serve"])
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while client.get(format!("{base}/healthz")).send().await.is_err() {
        assert!(Instant::now() < deadline, "server did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // a call full of secrets: client secret, user password, a query string
    let resp = client
        .post(format!("{base}/authentication/api/token?grant_type=client_credentials&client_id=webApplicationPlatform&marker=QUERYMARK"))
        .header("X-Auth-Secret", SECRET)
        .basic_auth("logger", Some("logger-password-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.unwrap();
    let token = body["access_token"].as_str().unwrap().to_string();
    let r = client
        .get(format!("{base}/authentication/api/validate"))
        .header("Authorization", format!("Token {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // SIGTERM: graceful shutdown flushes the log
    // SAFETY: signalling our own child.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
    }
    let stderr = child.stderr.take().unwrap();
    let lines: Vec<String> = BufReader::new(stderr)
        .lines()
        .map_while(Result::ok)
        .collect();
    let status = child.wait().unwrap();
    assert!(status.success(), "graceful exit on SIGTERM");
    let all = lines.join("\n");
    for secret in [SECRET, "logger-password-1", token.as_str(), "QUERYMARK"] {
        assert!(!all.contains(secret), "the log contains {secret:?}:\n{all}");
    }
    let requests: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l)
                .unwrap_or_else(|e| panic!("not JSON ({e}): {l}"))
        })
        .filter(|v| v["message"] == "request")
        .collect();
    let token_line = requests
        .iter()
        .find(|v| v["path"] == "/authentication/api/token")
        .unwrap_or_else(|| panic!("no request line for the token call:\n{all}"));
    assert_eq!(token_line["method"], "POST");
    assert_eq!(token_line["status"], 200);
    assert!(token_line["latency_us"].as_u64().is_some());
    assert!(requests
        .iter()
        .any(|v| v["path"] == "/authentication/api/validate"));
}
