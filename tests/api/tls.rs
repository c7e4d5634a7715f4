//! Native HTTPS (rustls) and certificate reload on SIGHUP, against the real binary.
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::{authserver_command, fresh_database_url, test_key_path, AppBuilder, SECRET};

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tls")
        .join(name)
}

fn https_client() -> reqwest::Client {
    let ca = reqwest::Certificate::from_pem(&std::fs::read(fixture("ca.pem")).unwrap()).unwrap();
    reqwest::Client::builder()
        .add_root_certificate(ca)
        .tls_info(true)
        .build()
        .unwrap()
}

fn peer_cert(resp: &reqwest::Response) -> Vec<u8> {
    resp.extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|i| i.peer_certificate())
        .expect("TLS info")
        .to_vec()
}

fn pem_der(name: &str) -> Vec<u8> {
    let text = std::fs::read(fixture(name)).unwrap();
    pem::parse(text).unwrap().contents().to_vec()
}

#[tokio::test]
async fn the_server_speaks_https_itself_when_ssl_is_enabled() {
    let app = AppBuilder::new()
        .set("server.ssl.enabled", "true")
        .set(
            "server.ssl.certificate",
            &fixture("server1.pem").display().to_string(),
        )
        .set(
            "server.ssl.key",
            &fixture("server1.key").display().to_string(),
        )
        .spawn()
        .await;
    let port = app.address.rsplit(':').next().unwrap().to_string();
    let client = https_client();
    let resp = client
        .get(format!(
            "https://127.0.0.1:{port}/authentication/.well-known/openid-configuration"
        ))
        .send()
        .await
        .expect("TLS handshake with the fixture CA");
    assert_eq!(resp.status(), 200);
    assert_eq!(peer_cert(&resp), pem_der("server1.pem"));
    // plain HTTP on the TLS port gets nowhere
    let plain = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .timeout(Duration::from_secs(5))
        .send()
        .await;
    assert!(plain.map(|r| r.status() != 200).unwrap_or(true));
}

#[tokio::test]
async fn unreadable_certificate_files_stop_the_start_with_a_message_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("authserver.properties");
    let database_url = fresh_database_url(dir.path()).await;
    std::fs::write(
        &config,
        format!(
            "server.port = 0\ndatabase.url = {database_url}\nauthentication.client.ids = a\n\
             authentication.redirect.uri.whitelist = https://app.example.com/cb\n\
             authentication.client.secret = {SECRET}\nserver.ssl.enabled = true\n\
             server.ssl.certificate = {dir}/missing.pem\nserver.ssl.key = {dir}/missing.key\n",
            dir = dir.path().display()
        ),
    )
    .unwrap();
    let out = authserver_command()
        .arg("--config")
        .arg(&config)
        .arg("serve")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("server.ssl.certificate") && err.contains("missing.pem"),
        "{err}"
    );
}

struct Server(Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn sighup_reloads_the_certificate_without_dropping_connections() {
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    std::fs::copy(fixture("server1.pem"), &cert).unwrap();
    std::fs::copy(fixture("server1.key"), &key).unwrap();
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
             authentication.client.ids = a\n\
             authentication.redirect.uri.whitelist = https://app.example.com/cb\n\
             authentication.client.secret = {SECRET}\n\
             authentication.signing.key = {}\n\
             server.ssl.enabled = true\nserver.ssl.certificate = {}\nserver.ssl.key = {}\n\
             logging.level = warn\n",
            test_key_path().display(),
            cert.display(),
            key.display()
        ),
    )
    .unwrap();
    let child = authserver_command()
        .arg("--config")
        .arg(&config)
        .arg("serve")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server(child);
    let url = format!("https://127.0.0.1:{port}/healthz");
    let kept = https_client();
    let deadline = Instant::now() + Duration::from_secs(10);
    let first = loop {
        match kept.get(&url).send().await {
            Ok(r) => break r,
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await
            }
            Err(e) => panic!("server did not start: {e}"),
        }
    };
    assert_eq!(peer_cert(&first), pem_der("server1.pem"));

    std::fs::copy(fixture("server2.pem"), &cert).unwrap();
    std::fs::copy(fixture("server2.key"), &key).unwrap();
    // SAFETY: sending a signal to our own child process.
    unsafe {
        libc::kill(server.0.id() as libc::pid_t, libc::SIGHUP);
    }
    // new connections get the new certificate
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let fresh = https_client().get(&url).send().await.unwrap();
        if peer_cert(&fresh) == pem_der("server2.pem") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "certificate not reloaded within 5 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // the connection opened before the reload still works (same client, pooled)
    let again = kept.get(&url).send().await.unwrap();
    assert_eq!(again.status(), 200);
    assert_eq!(
        peer_cert(&again),
        pem_der("server1.pem"),
        "kept-alive connection survived"
    );
}
