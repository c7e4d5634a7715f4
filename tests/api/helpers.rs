//! Test harness: the real server on a random port with a temporary SQLite database.
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

use authserver::clock::ManualClock;
use authserver::config::Settings;
use authserver::startup::Application;
use authserver::state::AppState;
use tempfile::TempDir;

/// The client secret every test configuration uses.
pub const SECRET: &str = "test-secret-0123456789";

/// The pre-generated RSA key the tests sign with (one key for all tests: no key generation
/// per test).
pub fn test_key_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/signing-key.pem")
}

/// A running server.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`
    pub address: String,
    /// The bound port.
    pub port: u16,
    /// Issuer URL.
    pub issuer: String,
    /// HTTP client: keeps cookies, never follows redirects.
    pub client: reqwest::Client,
    /// The server's state (store, keys, settings).
    pub state: AppState,
    /// The clock the server reads.
    pub clock: ManualClock,
    /// The properties file the server was configured from.
    pub config_path: PathBuf,
    /// Temporary directory holding the database (deleted on drop).
    pub dir: Arc<TempDir>,
}

/// Builder for a test server's configuration.
pub struct AppBuilder {
    lines: Vec<(String, String)>,
    dir: Option<Arc<TempDir>>,
    signing_key: bool,
}

impl Default for AppBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl AppBuilder {
    /// The standard test configuration.
    pub fn new() -> Self {
        AppBuilder { lines: Vec::new(), dir: None, signing_key: true }
    }
    /// Adds or overrides a property.
    pub fn set(mut self, key: &str, value: &str) -> Self {
        self.lines.push((key.to_string(), value.to_string()));
        self
    }
    /// Shares the database directory of another app.
    pub fn same_database_as(mut self, other: &TestApp) -> Self {
        self.dir = Some(other.dir.clone());
        self
    }
    /// Lets the server generate and store its own key instead of the fixture key.
    pub fn generated_keys(mut self) -> Self {
        self.signing_key = false;
        self
    }
    /// Starts the server.
    pub async fn spawn(self) -> TestApp {
        let dir = self
            .dir
            .unwrap_or_else(|| Arc::new(tempfile::tempdir().expect("temp dir")));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().unwrap().port();
        let mut text = base_properties(dir.path(), port);
        if self.signing_key {
            text.push_str(&format!(
                "authentication.signing.key = {}\n",
                test_key_path().display()
            ));
        }
        for (k, v) in &self.lines {
            text.push_str(&format!("{k} = {v}\n"));
        }
        let config_path = dir.path().join(format!("authserver-{port}.properties"));
        std::fs::write(&config_path, &text).expect("write config");
        let loaded = Settings::from_str(&text, &config_path, &[]).expect("valid test config");
        let clock = ManualClock::new();
        let app = Application::build_on(loaded.settings, Arc::new(clock.clone()), Some(listener))
            .await
            .expect("server builds");
        let state = app.state().clone();
        tokio::spawn(app.run_until(std::future::pending()));
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_store(true)
            .build()
            .unwrap();
        let address = format!("http://127.0.0.1:{port}");
        TestApp {
            issuer: format!("{address}/authentication"),
            address,
            port,
            client,
            state,
            clock,
            config_path,
            dir,
        }
    }
}

fn base_properties(dir: &Path, port: u16) -> String {
    format!(
        "server.address = 127.0.0.1\n\
         server.port = {port}\n\
         server.public.url = http://127.0.0.1:{port}\n\
         database.url = sqlite://{db}\n\
         authentication.client.ids = webApplicationPlatform, MAGICDRAW, twc-rest-api\n\
         authentication.redirect.uri.whitelist = http://localhost:8080/callback, https://app.example.com/cb, http://127.0.0.1/native\n\
         authentication.client.secret = {SECRET}\n\
         authentication.client.permanent = twc-rest-api\n\
         logging.level = warn\n",
        db = dir.join("auth.db").display()
    )
}

/// Starts a server with the standard test configuration.
pub async fn spawn_app() -> TestApp {
    AppBuilder::new().spawn().await
}

impl TestApp {
    /// Absolute URL of a path under `/authentication`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.issuer, path)
    }

    /// Runs the `authserver` binary against this server's configuration.
    pub fn cli(&self, args: &[&str], stdin: Option<&str>) -> Output {
        run_cli(&self.config_path, args, stdin)
    }

    /// The published JWKS key ids.
    pub async fn jwks_kids(&self) -> Vec<String> {
        let jwks: serde_json::Value = self
            .client
            .get(self.url("/jwks.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_string())
            .collect()
    }
}

/// Runs the `authserver` binary with `--config path`.
pub fn run_cli(config: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_authserver"));
    cmd.arg("--config").arg(config).args(args);
    cmd.env_remove("AUTHSERVER_CONFIG");
    for (k, _) in std::env::vars() {
        if k.starts_with("AUTHSERVER_") {
            cmd.env_remove(k);
        }
    }
    cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn authserver");
    if let Some(input) = stdin {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    }
    child.wait_with_output().expect("authserver runs")
}
