//! Persistence: SQLite through sqlx. Every query lives here; callers get typed rows.
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

mod events;
mod flows;
mod keys;
mod pats;
mod tokens;
mod users;

pub use events::RevocationEvent;
pub use flows::{CodeGrant, CodeUse, NewCode, SsoSession};
pub use keys::StoredKey;
pub use pats::{NewPat, PatRow};
pub use tokens::{NewRefresh, RefreshInfo, Rotation};
pub use users::{NewUser, User};

/// Storage failures.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint was violated (duplicate user name, …).
    #[error("{0} already exists")]
    Conflict(String),
    /// The row the operation needs does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// The database URL cannot be used.
    #[error("database.url {0:?}: {1}")]
    BadUrl(String, String),
    /// Applying the migrations failed.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Any other database error.
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
}

impl StoreError {
    fn on_unique(err: sqlx::Error, what: &str) -> StoreError {
        match &err {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::Conflict(what.to_string())
            }
            _ => StoreError::Db(err),
        }
    }
}

/// Handle to the database (cheap to clone).
#[derive(Clone, Debug)]
pub struct Store {
    /// the one connection that writes: SQLite has one writer at a time, and queueing
    /// writers here (fairly, without sleeping) beats letting them spin on SQLITE_BUSY
    pool: SqlitePool,
    /// connections for reads (WAL readers never block the writer)
    reader: SqlitePool,
    /// how long a family revocation must stay in the event log: the longest life of an
    /// access token minted from a family
    family_event_ttl: i64,
}

impl Store {
    /// Opens (creating if absent) the database at `url` and applies the migrations.
    ///
    /// SQLite runs in WAL mode with `synchronous=NORMAL`: a crash of the process loses
    /// nothing committed, and readers never block the writer.
    pub async fn open(url: &str, max_connections: u32) -> Result<Store, StoreError> {
        if !url.starts_with("sqlite:") {
            return Err(StoreError::BadUrl(
                url.to_string(),
                "only sqlite:// URLs are supported by this build".into(),
            ));
        }
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::BadUrl(url.to_string(), e.to_string()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            // 1 MiB of page cache per connection (SQLite's default is 2 MiB): the hot
            // data is small, and the OS page cache is shared
            .pragma("cache_size", "-1024");
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(max_connections.max(1))
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await?;
        Ok(Store {
            pool,
            reader,
            family_event_ttl: 86_400,
        })
    }

    /// Sets how long family revocations stay in the event log (the access-token lifetime).
    pub fn with_token_lifetime(mut self, secs: u64) -> Store {
        self.family_event_ttl = i64::try_from(secs).unwrap_or(i64::MAX).saturating_add(60);
        self
    }

    /// Applies pending migrations from `migrations/`.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        sqlx::migrate!("./migrations").run(&self.pool).await?;
        Ok(())
    }

    /// Whether the database answers a trivial query.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.reader).await.is_ok()
    }

    /// The underlying pool (for metrics and tests).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// (pool, open connections, idle connections) of the writer and the readers.
    pub fn pool_usage(&self) -> [(&'static str, u32, usize); 2] {
        [
            ("writer", self.pool.size(), self.pool.num_idle()),
            ("reader", self.reader.size(), self.reader.num_idle()),
        ]
    }

    /// Closes every connection (checkpointing the WAL).
    pub async fn close(&self) {
        self.reader.close().await;
        self.pool.close().await;
    }
}
