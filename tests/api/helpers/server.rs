//! Starting the real server for a test: the standard configuration, [`AppBuilder`] for
//! the rest, and [`TestApp`], the running server with its client, state and clock.
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;

use authserver::clock::ManualClock;
use authserver::config::Settings;
use authserver::startup::Application;
use authserver::state::AppState;

use super::cli::run_cli;
use super::database::TestDb;
use super::oauth::jwks_kids_at;
use super::sql::Sql;

/// The client secret every test configuration uses.
pub const SECRET: &str = "test-secret-0123456789";
/// Redirect URI the tests' client uses.
pub const REDIRECT: &str = "http://localhost:8080/callback";
/// Client the tests use.
pub const CLIENT: &str = "webApplicationPlatform";

/// The pre-generated RSA key the tests sign with (one key for all tests: no key generation
/// per test).
pub fn test_key_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/signing-key.pem")
}

/// A running server.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`
    pub address: String,
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
    /// The database and temporary directory (shared with apps started
    /// [`AppBuilder::same_database_as`] this one).
    pub db: Arc<TestDb>,
}

/// Builder for a test server's configuration.
pub struct AppBuilder {
    lines: Vec<(String, String)>,
    db: Option<Arc<TestDb>>,
    signing_key: bool,
    listener: Option<std::net::TcpListener>,
}

impl Default for AppBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl AppBuilder {
    /// The standard test configuration.
    pub fn new() -> Self {
        AppBuilder {
            lines: Vec::new(),
            db: None,
            signing_key: true,
            listener: None,
        }
    }
    /// Adds or overrides a property.
    pub fn set(mut self, key: &str, value: &str) -> Self {
        self.lines.push((key.to_string(), value.to_string()));
        self
    }
    /// Shares the database (and temporary directory) of another app.
    pub fn same_database_as(mut self, other: &TestApp) -> Self {
        self.db = Some(other.db.clone());
        self
    }
    /// Uses this database (and temporary directory), e.g. one prepared before any server
    /// starts on it.
    pub fn on_database(mut self, db: Arc<TestDb>) -> Self {
        self.db = Some(db);
        self
    }
    /// Lets the server generate and store its own key instead of the fixture key.
    pub fn generated_keys(mut self) -> Self {
        self.signing_key = false;
        self
    }
    /// Serves on this already bound listener (when another party must know the port first).
    pub fn listener(mut self, listener: std::net::TcpListener) -> Self {
        self.listener = Some(listener);
        self
    }
    /// Starts the server.
    pub async fn spawn(self) -> TestApp {
        let db = match self.db {
            Some(db) => db,
            None => TestDb::new().await,
        };
        let listener = match self.listener {
            Some(l) => l,
            None => std::net::TcpListener::bind("127.0.0.1:0").expect("bind"),
        };
        let port = listener.local_addr().unwrap().port();
        let mut text = base_properties(db.url(), port);
        if self.signing_key {
            text.push_str(&format!(
                "authentication.signing.key = {}\n",
                test_key_path().display()
            ));
        }
        for (k, v) in &self.lines {
            text.push_str(&format!("{k} = {v}\n"));
        }
        let config_path = db.dir().join(format!("authserver-{port}.properties"));
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
            client,
            state,
            clock,
            config_path,
            db,
        }
    }
}

fn base_properties(database_url: &str, port: u16) -> String {
    format!(
        "server.address = 127.0.0.1\n\
         server.port = {port}\n\
         server.public.url = http://127.0.0.1:{port}\n\
         database.url = {database_url}\n\
         authentication.client.ids = webApplicationPlatform, MAGICDRAW, twc-rest-api\n\
         authentication.redirect.uri.whitelist = http://localhost:8080/callback, https://app.example.com/cb, http://127.0.0.1/native\n\
         authentication.client.secret = {SECRET}\n\
         authentication.client.permanent = twc-rest-api\n\
         logging.level = warn\n"
    )
}

/// Starts a server with the standard test configuration.
pub async fn spawn_app() -> TestApp {
    AppBuilder::new().spawn().await
}

impl TestApp {
    /// The temporary directory (deleted with the last app sharing it).
    pub fn dir(&self) -> &Path {
        self.db.dir()
    }

    /// The server's `database.url`.
    pub fn database_url(&self) -> &str {
        self.db.url()
    }

    /// A statement on the server's database (see [`Sql`]).
    pub fn sql(&self, sql: &str) -> Sql {
        Sql::new(self.database_url(), sql)
    }

    /// Runs a statement on the server's database; returns the number of rows it changed.
    pub async fn sql_exec(&self, sql: &str) -> u64 {
        self.sql(sql).exec().await
    }

    /// The integer of the one row a query on the server's database returns.
    pub async fn sql_i64(&self, sql: &str) -> i64 {
        self.sql(sql).i64().await
    }

    /// The first column, text, of every row a query on the server's database returns.
    pub async fn sql_strings(&self, sql: &str) -> Vec<String> {
        self.sql(sql).strings().await
    }

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
        jwks_kids_at(&self.client, &self.url("/jwks.json")).await
    }

    /// Creates a user straight in the store.
    pub async fn add_user(&self, name: &str, password: &str) -> authserver::store::User {
        let hash = authserver::password::hash(password).unwrap();
        self.state
            .store
            .create_user(
                &authserver::store::NewUser {
                    username: name.to_string(),
                    password_hash: hash,
                    name: Some(format!("{name} Example")),
                    email: Some(format!("{name}@example.com")),
                    admin: false,
                },
                self.clock_now(),
            )
            .await
            .unwrap()
    }

    /// The server's current time.
    pub fn clock_now(&self) -> i64 {
        use authserver::clock::Clock;
        self.clock.now()
    }

    /// The same server seen from another browser: a fresh cookie jar.
    pub fn another_browser(&self) -> TestApp {
        TestApp {
            address: self.address.clone(),
            issuer: self.issuer.clone(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .cookie_store(true)
                .build()
                .unwrap(),
            state: self.state.clone(),
            clock: self.clock.clone(),
            config_path: self.config_path.clone(),
            db: self.db.clone(),
        }
    }
}
