//! The test's database: a temporary SQLite file with the `api` binary, a fresh PostgreSQL
//! database with the `postgres` binary.
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sqlx::Connection;
use tempfile::TempDir;

/// The variable naming the PostgreSQL server of the `postgres` suite, e.g.
/// `postgres://authserver@127.0.0.1:55432/postgres`; its user creates a database per test.
pub const POSTGRES_URL_ENV: &str = "AUTHSERVER_TEST_POSTGRES_URL";

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
