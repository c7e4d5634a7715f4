//! Test harness: the real server on a random port with a database of its own.
//!
//! The same modules are compiled into two test binaries: `api` runs them against SQLite (a
//! temporary file per test), `postgres` (`tests/postgres/main.rs`) against PostgreSQL (a
//! fresh database per test on the server named by `AUTHSERVER_TEST_POSTGRES_URL`). Tests
//! stay backend-neutral by getting database URLs from [`TestDb`] / [`fresh_database_url`]
//! and reading or writing rows through [`Sql`] (`$1` placeholders, `TRUE`/`FALSE`).
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use authserver::clock::ManualClock;
use authserver::config::Settings;
use authserver::startup::Application;
use authserver::state::AppState;
use sqlx::{ConnectOptions, Connection, Row};
use tempfile::TempDir;

/// The client secret every test configuration uses.
pub const SECRET: &str = "test-secret-0123456789";

/// The variable naming the PostgreSQL server of the `postgres` suite, e.g.
/// `postgres://authserver@127.0.0.1:55432/postgres`; its user creates a database per test.
pub const POSTGRES_URL_ENV: &str = "AUTHSERVER_TEST_POSTGRES_URL";

/// The pre-generated RSA key the tests sign with (one key for all tests: no key generation
/// per test).
pub fn test_key_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/signing-key.pem")
}

/// Whether this binary runs the suite against PostgreSQL (the `postgres` test binary) rather
/// than SQLite (the `api` test binary).
pub fn backend_is_postgres() -> bool {
    env!("CARGO_CRATE_NAME") == "postgres"
}

/// Whether `url` names a SQLite database (as opposed to a PostgreSQL one).
pub fn is_sqlite_url(url: &str) -> bool {
    url.starts_with("sqlite:")
}

/// A `database.url` for a new, empty database: `sqlite://<dir>/auth.db` with SQLite, a
/// freshly created PostgreSQL database with PostgreSQL (never dropped: use [`TestDb`] for
/// one that is).
pub async fn fresh_database_url(dir: &Path) -> String {
    if backend_is_postgres() {
        create_postgres_database().await
    } else {
        sqlite_url(dir)
    }
}

/// [`fresh_database_url`] for synchronous tests (not to be called from async code).
pub fn fresh_database_url_blocking(dir: &Path) -> String {
    if backend_is_postgres() {
        std::thread::spawn(|| block_on(create_postgres_database()))
            .join()
            .expect("database creation")
    } else {
        sqlite_url(dir)
    }
}

fn sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("auth.db").display())
}

/// Runs `fut` on a runtime of its own (for synchronous code and `Drop`).
fn block_on<F: std::future::Future>(fut: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(fut)
}

/// The server URL from [`POSTGRES_URL_ENV`].
fn postgres_server_url() -> String {
    match std::env::var(POSTGRES_URL_ENV) {
        Ok(url) if !url.is_empty() => url,
        _ => panic!(
            "the PostgreSQL suite needs {POSTGRES_URL_ENV}=postgres://user@host:port/db \
             at run time too (it was set when this binary was built)"
        ),
    }
}

/// `url` with its database replaced by `name` (the path, and any `dbname` parameter);
/// other parameters are kept.
fn with_database(url: &str, name: &str) -> String {
    let mut parsed =
        url::Url::parse(url).unwrap_or_else(|e| panic!("{POSTGRES_URL_ENV}={url}: {e}"));
    parsed.set_path(&format!("/{name}"));
    let query: Vec<(String, String)> = parsed
        .query_pairs()
        .filter(|(k, _)| k != "dbname")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    parsed.set_query(None);
    if !query.is_empty() {
        parsed.query_pairs_mut().extend_pairs(query);
    }
    parsed.to_string()
}

/// A connection to the server of [`POSTGRES_URL_ENV`] (its own database).
async fn postgres_admin_connection() -> sqlx::PgConnection {
    let url = postgres_server_url();
    sqlx::PgConnection::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to {POSTGRES_URL_ENV}={url}: {e}"))
}

/// Creates `authserver_t_<pid>_<counter>_<random>` on the PostgreSQL server; returns its URL.
async fn create_postgres_database() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let random = {
        use std::hash::BuildHasher;
        std::collections::hash_map::RandomState::new().hash_one((n, std::time::SystemTime::now()))
    };
    let name = format!(
        "authserver_t_{}_{n}_{:08x}",
        std::process::id(),
        random as u32
    );
    let mut conn = postgres_admin_connection().await;
    sqlx::query(&format!("CREATE DATABASE \"{name}\""))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
    let _ = conn.close().await;
    with_database(&postgres_server_url(), &name)
}

/// Drops the PostgreSQL database of `url`, closing its connections; best effort.
async fn drop_postgres_database(url: &str) {
    let Some(name) = url::Url::parse(url)
        .ok()
        .map(|u| u.path().trim_start_matches('/').to_string())
        .filter(|n| n.starts_with("authserver_t_"))
    else {
        return;
    };
    let drop = async {
        let mut conn = sqlx::PgConnection::connect(&postgres_server_url()).await?;
        sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .execute(&mut conn)
            .await?;
        conn.close().await
    };
    if let Ok(Err(e)) = tokio::time::timeout(Duration::from_secs(10), drop).await {
        eprintln!("(could not drop the test database {name}: {e})");
    }
}

/// A test's database: a temporary directory (deleted on drop; the SQLite file lives there,
/// and tests write other files there too) and the URL servers are configured with. Servers
/// started with [`AppBuilder::same_database_as`] share it. A PostgreSQL database is dropped
/// with the last reference, unless the test failed (to look at it).
pub struct TestDb {
    dir: TempDir,
    url: String,
}

impl TestDb {
    /// A new, empty database.
    pub async fn new() -> Arc<TestDb> {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = fresh_database_url(dir.path()).await;
        Arc::new(TestDb { dir, url })
    }
    /// The temporary directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
    /// The `database.url`.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if is_sqlite_url(&self.url) || std::thread::panicking() {
            return;
        }
        let url = self.url.clone();
        // a thread of its own: this may run inside the test's runtime
        let _ = std::thread::spawn(move || block_on(drop_postgres_database(&url))).join();
    }
}

/// A value for a `$N` placeholder of [`Sql`].
#[derive(Clone, Debug)]
pub enum SqlArg {
    /// INTEGER / BIGINT
    Int(i64),
    /// INTEGER 0/1 / BOOLEAN
    Bool(bool),
    /// TEXT
    Text(String),
    /// BLOB / BYTEA
    Bytes(Vec<u8>),
}

impl From<i64> for SqlArg {
    fn from(v: i64) -> Self {
        SqlArg::Int(v)
    }
}
impl From<bool> for SqlArg {
    fn from(v: bool) -> Self {
        SqlArg::Bool(v)
    }
}
impl From<&str> for SqlArg {
    fn from(v: &str) -> Self {
        SqlArg::Text(v.to_string())
    }
}
impl From<String> for SqlArg {
    fn from(v: String) -> Self {
        SqlArg::Text(v)
    }
}
impl From<Vec<u8>> for SqlArg {
    fn from(v: Vec<u8>) -> Self {
        SqlArg::Bytes(v)
    }
}
impl From<&[u8]> for SqlArg {
    fn from(v: &[u8]) -> Self {
        SqlArg::Bytes(v.to_vec())
    }
}

/// One SQL statement on the database at a URL, run on a short-lived connection of the
/// driver the URL names (SQLite or PostgreSQL), apart from the server's pool. The SQL must
/// suit both: `$1` placeholders, `TRUE`/`FALSE`, and BIGINT wherever an integer is read
/// (`COUNT(*)` is one; cast literals and 32-bit expressions: `CAST(1 AS BIGINT)`).
///
/// ```ignore
/// let admins = app.sql("SELECT COUNT(*) FROM users WHERE admin = $1").bind(true).i64().await;
/// ```
#[must_use = "the statement runs when exec, i64, i64s or strings is awaited"]
pub struct Sql {
    url: String,
    sql: String,
    args: Vec<SqlArg>,
}

enum SqlConnection {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

/// `sqlx::query(sql)` with `args` bound, for either driver.
macro_rules! bound_query {
    ($sql:expr, $args:expr) => {
        $args
            .iter()
            .fold(sqlx::query($sql), |query, arg| match arg {
                SqlArg::Int(v) => query.bind(*v),
                SqlArg::Bool(v) => query.bind(*v),
                SqlArg::Text(v) => query.bind(v.as_str()),
                SqlArg::Bytes(v) => query.bind(v.as_slice()),
            })
    };
}

impl Sql {
    /// `sql` on the database at `url`.
    pub fn new(url: &str, sql: &str) -> Sql {
        Sql {
            url: url.to_string(),
            sql: sql.to_string(),
            args: Vec::new(),
        }
    }

    /// Binds the next `$N` placeholder.
    pub fn bind(mut self, value: impl Into<SqlArg>) -> Sql {
        self.args.push(value.into());
        self
    }

    async fn connect(&self) -> SqlConnection {
        let connected = if is_sqlite_url(&self.url) {
            use std::str::FromStr;
            match sqlx::sqlite::SqliteConnectOptions::from_str(&self.url) {
                Ok(options) => options
                    .create_if_missing(false)
                    .busy_timeout(Duration::from_secs(10))
                    .connect()
                    .await
                    .map(SqlConnection::Sqlite),
                Err(e) => Err(e),
            }
        } else {
            sqlx::PgConnection::connect(&self.url)
                .await
                .map(SqlConnection::Postgres)
        };
        connected.unwrap_or_else(|e| panic!("cannot connect to {}: {e}", self.url))
    }

    /// Runs the statement; returns the number of rows it changed.
    pub async fn exec(self) -> u64 {
        let result = match self.connect().await {
            SqlConnection::Sqlite(mut conn) => {
                let done = bound_query!(&self.sql, self.args)
                    .execute(&mut conn)
                    .await
                    .map(|r| r.rows_affected());
                let _ = conn.close().await;
                done
            }
            SqlConnection::Postgres(mut conn) => {
                let done = bound_query!(&self.sql, self.args)
                    .execute(&mut conn)
                    .await
                    .map(|r| r.rows_affected());
                let _ = conn.close().await;
                done
            }
        };
        result.unwrap_or_else(|e| panic!("{}: {e}", self.sql))
    }

    /// The first column of every row.
    async fn column<T>(self) -> Vec<T>
    where
        T: for<'r> sqlx::Decode<'r, sqlx::Sqlite>
            + sqlx::Type<sqlx::Sqlite>
            + for<'r> sqlx::Decode<'r, sqlx::Postgres>
            + sqlx::Type<sqlx::Postgres>,
    {
        let values = match self.connect().await {
            SqlConnection::Sqlite(mut conn) => {
                let rows = bound_query!(&self.sql, self.args)
                    .fetch_all(&mut conn)
                    .await;
                let _ = conn.close().await;
                rows.and_then(|rows| rows.iter().map(|row| row.try_get::<T, _>(0)).collect())
            }
            SqlConnection::Postgres(mut conn) => {
                let rows = bound_query!(&self.sql, self.args)
                    .fetch_all(&mut conn)
                    .await;
                let _ = conn.close().await;
                rows.and_then(|rows| rows.iter().map(|row| row.try_get::<T, _>(0)).collect())
            }
        };
        values.unwrap_or_else(|e| panic!("{}: {e}", self.sql))
    }

    /// The integer of the one row the query returns.
    pub async fn i64(self) -> i64 {
        let sql = self.sql.clone();
        match self.column::<i64>().await[..] {
            [n] => n,
            ref other => panic!("{sql}: {} rows, expected one", other.len()),
        }
    }

    /// The first column of every row, integers.
    pub async fn i64s(self) -> Vec<i64> {
        self.column().await
    }

    /// The first column of every row, text.
    pub async fn strings(self) -> Vec<String> {
        self.column().await
    }
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
}

/// A command running the `authserver` binary without the test's `AUTHSERVER_*` variables
/// (the server would read them as settings, and warns about unknown ones such as
/// [`POSTGRES_URL_ENV`]).
pub fn authserver_command() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_authserver"));
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("AUTHSERVER_") {
            cmd.env_remove(k);
        }
    }
    cmd
}

/// The key ids of the JWKS at `url`.
pub async fn jwks_kids_at(client: &reqwest::Client, url: &str) -> Vec<String> {
    let jwks: serde_json::Value = client.get(url).send().await.unwrap().json().await.unwrap();
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .collect()
}

/// Exchanges a code as [`CLIENT`] at `token_url` with `X-Auth-Secret`.
pub async fn exchange_code(
    client: &reqwest::Client,
    token_url: &str,
    code: &str,
    verifier: &str,
) -> reqwest::Response {
    client
        .post(token_url)
        .header("X-Auth-Secret", SECRET)
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("client_id", CLIENT),
            ("code_verifier", verifier),
        ])
        .send()
        .await
        .unwrap()
}

/// Runs the `authserver` binary with `--config path`.
pub fn run_cli(config: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = authserver_command();
    cmd.arg("--config").arg(config).args(args);
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn authserver");
    if let Some(input) = stdin {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    child.wait_with_output().expect("authserver runs")
}

/// Redirect URI the tests' client uses.
pub const REDIRECT: &str = "http://localhost:8080/callback";
/// Client the tests use.
pub const CLIENT: &str = "webApplicationPlatform";

/// A PKCE verifier and its S256 challenge.
pub fn pkce_pair() -> (String, String) {
    let verifier = authserver::crypto::random_token();
    let challenge = authserver::domain::pkce::challenge_for(&verifier);
    (verifier, challenge)
}

/// Value of a hidden input in an HTML page.
pub fn hidden_field(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_string())
}

/// Query parameter of a URL.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    let found = parsed
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned());
    found
}

/// The `Location` header of a response.
pub fn location(resp: &reqwest::Response) -> String {
    resp.headers()
        .get("location")
        .expect("a Location header")
        .to_str()
        .unwrap()
        .to_string()
}

impl TestApp {
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

    /// `/authorize` URL with the standard parameters plus `extra`.
    pub fn authorize_url(&self, challenge: &str, extra: &[(&str, &str)]) -> String {
        let mut url = url::Url::parse(&self.url("/authorize")).unwrap();
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("response_type", "code");
            q.append_pair("client_id", CLIENT);
            q.append_pair("redirect_uri", REDIRECT);
            q.append_pair("scope", "openid profile email");
            q.append_pair("state", "st4te");
            q.append_pair("nonce", "n0nce");
            q.append_pair("code_challenge", challenge);
            q.append_pair("code_challenge_method", "S256");
            for (k, v) in extra {
                q.append_pair(k, v);
            }
        }
        url.to_string()
    }

    /// GETs an authorize URL and expects the login page; returns its HTML.
    pub async fn login_page(&self, authorize_url: &str) -> String {
        let resp = self.client.get(authorize_url).send().await.unwrap();
        assert_eq!(resp.status(), 200, "expected the login page");
        resp.text().await.unwrap()
    }

    /// Submits the login form of `page`.
    pub async fn submit_login(
        &self,
        page: &str,
        user: &str,
        password: &str,
        remember: bool,
    ) -> reqwest::Response {
        let rid = hidden_field(page, "rid").expect("rid field");
        let csrf = hidden_field(page, "csrf").expect("csrf field");
        let mut form = vec![
            ("rid", rid),
            ("csrf", csrf),
            ("username", user.to_string()),
            ("password", password.to_string()),
        ];
        if remember {
            form.push(("remember", "1".to_string()));
        }
        self.client
            .post(self.url("/login"))
            .form(&form)
            .send()
            .await
            .unwrap()
    }

    /// Full browser sign-in; returns (code, verifier).
    pub async fn sign_in(&self, user: &str, password: &str) -> (String, String) {
        let (verifier, challenge) = pkce_pair();
        let page = self.login_page(&self.authorize_url(&challenge, &[])).await;
        let resp = self.submit_login(&page, user, password, false).await;
        assert_eq!(resp.status(), 303, "{:?}", resp.text().await);
        let loc = location(&resp);
        assert!(loc.starts_with(REDIRECT), "{loc}");
        (query_param(&loc, "code").expect("code"), verifier)
    }

    /// Exchanges a code at the token endpoint with `X-Auth-Secret`.
    pub async fn exchange(&self, code: &str, verifier: &str) -> reqwest::Response {
        exchange_code(&self.client, &self.url("/api/token"), code, verifier).await
    }

    /// Signs in and exchanges the code; returns the token response JSON.
    pub async fn tokens_for(&self, user: &str, password: &str) -> serde_json::Value {
        let (code, verifier) = self.sign_in(user, password).await;
        let resp = self.exchange(&code, &verifier).await;
        assert_eq!(resp.status(), 200);
        resp.json().await.unwrap()
    }

    /// GETs `/api/validate` with `Authorization: <scheme> <token>`; returns the status.
    pub async fn validate_status(&self, scheme: &str, token: &str) -> u16 {
        self.client
            .get(self.url("/api/validate"))
            .header("Authorization", format!("{scheme} {token}"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }
}

/// Decodes a JWT's header and payload without verifying (tests inspect claims).
pub fn jwt_parts(token: &str) -> (serde_json::Value, serde_json::Value) {
    use base64::Engine;
    let mut it = token.split('.');
    let dec = |s: &str| {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s)
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    };
    (dec(it.next().unwrap()), dec(it.next().unwrap()))
}

/// A client without a cookie store that never follows redirects (a different browser, or
/// a request that must not carry the test client's cookies).
pub fn bare_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The `Set-Cookie` header of a response that sets cookie `name`.
pub fn set_cookie_header(resp: &reqwest::Response, name: &str) -> Option<String> {
    let prefix = format!("{name}=");
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&prefix))
        .map(str::to_string)
}

/// The value of a `Set-Cookie` header (`name=value; attrs` → `value`).
pub fn cookie_value(set_cookie: &str) -> String {
    let pair = set_cookie.split(';').next().unwrap_or_default();
    pair.split_once('=')
        .map(|(_, v)| v)
        .unwrap_or_default()
        .to_string()
}

/// The attributes of a `Set-Cookie` header, lower-cased names, e.g. `("samesite", "Lax")`.
pub fn cookie_attributes(set_cookie: &str) -> Vec<(String, String)> {
    set_cookie
        .split(';')
        .skip(1)
        .map(|a| {
            let a = a.trim();
            match a.split_once('=') {
                Some((k, v)) => (k.trim().to_ascii_lowercase(), v.trim().to_string()),
                None => (a.to_ascii_lowercase(), String::new()),
            }
        })
        .collect()
}

/// Undoes HTML escaping: the named entities askama and others use, and numeric ones
/// (`&#60;`, `&#x3c;`).
pub fn html_unescape(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let decoded = rest.find(';').and_then(|end| {
            let entity = &rest[1..end];
            let c = match entity {
                "lt" => Some('<'),
                "gt" => Some('>'),
                "amp" => Some('&'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ => {
                    let num = entity.strip_prefix('#')?;
                    let code = match num.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                        None => num.parse().ok()?,
                    };
                    char::from_u32(code)
                }
            }?;
            Some((c, end + 1))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Every hidden input of a page as (name, value), values HTML-unescaped: what a browser
/// would submit with the form.
pub fn hidden_fields(html: &str) -> Vec<(String, String)> {
    html.split("<input")
        .skip(1)
        .filter(|tag| tag.contains("type=\"hidden\""))
        .filter_map(|tag| {
            let attr = |name: &str| {
                let marker = format!("{name}=\"");
                let start = tag.find(&marker)? + marker.len();
                let end = tag[start..].find('"')? + start;
                Some(html_unescape(&tag[start..end]))
            };
            Some((attr("name")?, attr("value")?))
        })
        .collect()
}

impl TestApp {
    /// `/authorize` URL with the standard parameters except those named in `omit`, plus
    /// `extra` (to replace a standard parameter, omit it and pass it in `extra`).
    pub fn authorize_url_without(
        &self,
        challenge: &str,
        omit: &[&str],
        extra: &[(&str, &str)],
    ) -> String {
        let standard = [
            ("response_type", "code"),
            ("client_id", CLIENT),
            ("redirect_uri", REDIRECT),
            ("scope", "openid profile email"),
            ("state", "st4te"),
            ("nonce", "n0nce"),
            ("code_challenge", challenge),
            ("code_challenge_method", "S256"),
        ];
        let mut url = url::Url::parse(&self.url("/authorize")).unwrap();
        {
            let mut q = url.query_pairs_mut();
            for (k, v) in standard.iter().filter(|(k, _)| !omit.contains(k)) {
                q.append_pair(k, v);
            }
            for (k, v) in extra {
                q.append_pair(k, v);
            }
        }
        url.to_string()
    }

    /// GETs `url` with the test client (cookies kept, redirects not followed).
    pub async fn get(&self, url: &str) -> reqwest::Response {
        self.client.get(url).send().await.unwrap()
    }
}

impl TestApp {
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

// lifecycle helpers
/// Helpers of the token-lifecycle tests (refresh, client_credentials, introspection,
/// revocation), in their own module so their names cannot clash with other helpers.
pub mod lifecycle_helpers {
    use base64::Engine;

    use super::{bare_client, jwt_parts, TestApp, CLIENT, SECRET};

    /// `Basic base64(user:password)`.
    pub fn basic(user: &str, password: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        )
    }

    /// POSTs `form` to `/api/token` with `headers` only (no cookies, no secret added).
    pub async fn post_token(
        app: &TestApp,
        headers: &[(&str, &str)],
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut req = bare_client().post(app.url("/api/token")).form(form);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        req.send().await.unwrap()
    }

    /// `grant_type=refresh_token` as `client_id` with `X-Auth-Secret`, plus `extra` fields.
    pub async fn refresh(
        app: &TestApp,
        client_id: &str,
        refresh_token: &str,
        extra: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut form = vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", client_id),
        ];
        form.extend_from_slice(extra);
        post_token(app, &[("X-Auth-Secret", SECRET)], &form).await
    }

    /// `refresh` as [`CLIENT`] that must succeed; returns the token response.
    pub async fn refresh_ok(app: &TestApp, refresh_token: &str) -> serde_json::Value {
        let resp = refresh(app, CLIENT, refresh_token, &[]).await;
        let status = resp.status();
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(status, 200, "the refresh should succeed: {body}");
        body
    }

    /// `grant_type=client_credentials` for `client_id` with the user's Basic credentials
    /// and `X-Auth-Secret`.
    pub async fn client_credentials(
        app: &TestApp,
        client_id: &str,
        user: &str,
        password: &str,
    ) -> reqwest::Response {
        post_token(
            app,
            &[
                ("X-Auth-Secret", SECRET),
                ("Authorization", basic(user, password).as_str()),
            ],
            &[
                ("grant_type", "client_credentials"),
                ("client_id", client_id),
            ],
        )
        .await
    }

    /// `client_credentials` that must succeed; returns the token response.
    pub async fn client_credentials_ok(
        app: &TestApp,
        client_id: &str,
        user: &str,
        password: &str,
    ) -> serde_json::Value {
        let resp = client_credentials(app, client_id, user, password).await;
        let status = resp.status();
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(status, 200, "client_credentials should succeed: {body}");
        body
    }

    /// Asserts an RFC 6749 §5.2 error (status, JSON `error`, a non-empty
    /// `error_description`, `Cache-Control: no-store`, `WWW-Authenticate` on 401); returns
    /// the body.
    pub async fn oauth_error(
        resp: reqwest::Response,
        status: u16,
        error: &str,
    ) -> serde_json::Value {
        let got = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        assert_eq!(got, status, "expected {status} {error}, got {got}: {text}");
        let body: serde_json::Value =
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("a JSON error body: {text}"));
        assert_eq!(body["error"], error, "{body}");
        assert!(
            body["error_description"]
                .as_str()
                .is_some_and(|d| !d.is_empty()),
            "a non-empty error_description: {body}"
        );
        assert!(
            headers
                .get("cache-control")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.contains("no-store")),
            "Cache-Control: no-store"
        );
        if status == 401 {
            assert!(
                headers.get("www-authenticate").is_some(),
                "a 401 carries WWW-Authenticate"
            );
        }
        body
    }

    /// POSTs to `/api/introspect` as [`CLIENT`] with `X-Auth-Secret`; returns the JSON of
    /// the (required) 200 answer.
    pub async fn introspect(app: &TestApp, token: &str) -> serde_json::Value {
        let resp = bare_client()
            .post(app.url("/api/introspect"))
            .header("X-Auth-Secret", SECRET)
            .form(&[("token", token), ("client_id", CLIENT)])
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        assert_eq!(status, 200, "introspection answers 200: {text}");
        serde_json::from_str(&text).unwrap()
    }

    /// POSTs `token` to `/api/revoke` as `client_id` with `X-Auth-Secret`.
    pub async fn revoke(app: &TestApp, client_id: &str, token: &str) -> reqwest::Response {
        bare_client()
            .post(app.url("/api/revoke"))
            .header("X-Auth-Secret", SECRET)
            .form(&[("token", token), ("client_id", client_id)])
            .send()
            .await
            .unwrap()
    }

    /// A string field of a token response.
    pub fn field<'a>(tokens: &'a serde_json::Value, name: &str) -> &'a str {
        tokens[name]
            .as_str()
            .unwrap_or_else(|| panic!("{name} in {tokens}"))
    }

    /// The payload of a JWT field of a token response.
    pub fn claims(tokens: &serde_json::Value, name: &str) -> serde_json::Value {
        jwt_parts(field(tokens, name)).1
    }
}

// PAT helpers
/// Helpers of the personal-access-token, account-page and management-API tests.
pub mod pat_helpers {
    use authserver::domain::pat::{self, PatRequest, PatScope};
    use authserver::store::User;

    use super::lifecycle_helpers::{basic, post_token};
    use super::{bare_client, hidden_field, html_unescape, location, TestApp, SECRET};

    /// Creates a user, administrator or not, straight in the store.
    pub async fn add_user_as(app: &TestApp, name: &str, password: &str, admin: bool) -> User {
        let user = app.add_user(name, password).await;
        if admin {
            app.sql("UPDATE users SET admin = TRUE WHERE id = $1")
                .bind(user.id)
                .exec()
                .await;
            app.state.revocations.forget_user(name);
        }
        app.state.store.user_by_name(name).await.unwrap().unwrap()
    }

    /// Issues a PAT through the domain layer; returns (id, token).
    pub async fn issue_pat(
        app: &TestApp,
        user: &User,
        scope: &str,
        expires_in_days: Option<u32>,
    ) -> (String, String) {
        let issued = pat::issue(
            &app.state.store,
            user,
            &PatRequest {
                description: "test token",
                scope: PatScope::parse(scope).unwrap(),
                expires_in_days,
            },
            app.clock_now(),
        )
        .await
        .unwrap();
        (issued.id.clone(), issued.token.expose().to_string())
    }

    /// `method path` with `Authorization: Bearer <token>` and no cookies.
    pub fn with_bearer(
        app: &TestApp,
        method: reqwest::Method,
        path: &str,
        token: &str,
    ) -> reqwest::RequestBuilder {
        bare_client()
            .request(method, app.url(path))
            .header("Authorization", format!("Bearer {token}"))
    }

    /// `client_credentials` with `Basic base64(<pat>:)` and `X-Auth-Secret` for `client_id`.
    pub async fn pat_login(app: &TestApp, client_id: &str, pat: &str) -> reqwest::Response {
        post_token(
            app,
            &[
                ("X-Auth-Secret", SECRET),
                ("Authorization", basic(pat, "").as_str()),
            ],
            &[
                ("grant_type", "client_credentials"),
                ("client_id", client_id),
            ],
        )
        .await
    }

    /// Polls `/api/validate` with `token` until it answers `status` (the running server
    /// picks up other processes' changes within seconds); panics after `secs` seconds.
    pub async fn wait_for_validate(app: &TestApp, token: &str, status: u16, secs: u64) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            let got = app.validate_status("Bearer", token).await;
            if got == status {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "/api/validate still answers {got}, expected {status} within {secs} s"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    /// Signs in on the account page with the app's client (which keeps the SSO cookie);
    /// returns the sign-in POST's response.
    pub async fn account_sign_in(app: &TestApp, user: &str, password: &str) -> reqwest::Response {
        let page = app.get(&app.url("/account")).await;
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        assert!(html.contains("/account/login"), "the sign-in form: {html}");
        let csrf = hidden_field(&html, "csrf").expect("csrf field");
        app.client
            .post(app.url("/account/login"))
            .form(&[
                ("csrf", csrf.as_str()),
                ("username", user),
                ("password", password),
            ])
            .send()
            .await
            .unwrap()
    }

    /// Signs in on the account page and returns the account page's HTML.
    pub async fn account_page_after_sign_in(app: &TestApp, user: &str, password: &str) -> String {
        let resp = account_sign_in(app, user, password).await;
        assert_eq!(resp.status(), 303, "{:?}", resp.text().await);
        assert!(location(&resp).ends_with("/authentication/account"));
        let page = app.get(&app.url("/account")).await;
        assert_eq!(page.status(), 200);
        page.text().await.unwrap()
    }

    /// Submits the create-token form of the account page `html`, confirming with the
    /// current `password`; returns the response.
    pub async fn create_pat_on_page(
        app: &TestApp,
        html: &str,
        password: &str,
        description: &str,
        validity: &str,
        scope: &str,
    ) -> reqwest::Response {
        let csrf = hidden_field(html, "csrf").expect("csrf field");
        app.client
            .post(app.url("/account/pats"))
            .form(&[
                ("csrf", csrf.as_str()),
                ("description", description),
                ("expires_in_days", validity),
                ("scope", scope),
                ("current_password", password),
            ])
            .send()
            .await
            .unwrap()
    }

    /// The text of the element with `id` (up to the next `<`), HTML-unescaped.
    pub fn element_text(html: &str, id: &str) -> Option<String> {
        let marker = format!("id=\"{id}\"");
        let start = html.find(&marker)?;
        let open_end = html[start..].find('>')? + start + 1;
        let close = html[open_end..].find('<')? + open_end;
        Some(html_unescape(&html[open_end..close]))
    }

    /// A `data-…` attribute value of the element with `id`.
    pub fn element_attr(html: &str, id: &str, attr: &str) -> Option<String> {
        let marker = format!("id=\"{id}\"");
        let start = html.find(&marker)?;
        let tag_end = html[start..].find('>')? + start;
        let tag = &html[start..tag_end];
        let a = format!("{attr}=\"");
        let s = tag.find(&a)? + a.len();
        let e = tag[s..].find('"')? + s;
        Some(tag[s..e].to_string())
    }
}
