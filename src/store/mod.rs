//! Persistence: SQLite (the embedded default) or PostgreSQL (several instances on one
//! database), through sqlx. Every query lives here; callers get typed rows.
//!
//! Each query is written once with `$N` placeholders (which sqlx's SQLite driver accepts
//! too) and portable SQL; `with_db!` type-checks and runs it against whichever backend
//! the store holds. The few statements that differ (refresh rotation, batch updates) pick
//! their text by backend. The guarantees are the same on both: a code is consumed once
//! and a refresh token rotated once across every process on the database, by conditional
//! `UPDATE … RETURNING` statements (row locks in PostgreSQL, the single writer in SQLite),
//! never by in-process locks.
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

/// Runs `$body` against the store's backend. In the body `$w` is the pool that writes,
/// `$r` the pool that reads (the same pool on PostgreSQL) and `$pg` whether the backend is
/// PostgreSQL. The body is compiled once per backend, so the query code is written once.
macro_rules! with_db {
    ($db:expr, |$w:ident, $r:ident, $pg:ident| $body:expr) => {
        match $db {
            $crate::store::Db::Sqlite {
                writer: $w,
                reader: $r,
                ..
            } => {
                #[allow(unused_variables)]
                let $pg = false;
                $body
            }
            $crate::store::Db::Postgres($w) => {
                #[allow(unused_variables)]
                let $r = $w;
                #[allow(unused_variables)]
                let $pg = true;
                $body
            }
        }
    };
}

/// Serialises appends to `revocation_events` until the transaction ends (PostgreSQL only;
/// SQLite has one writer): pollers read "seq > last seen", so rows must become visible in
/// seq order. Take it before any row lock in the transaction (one lock order: no
/// deadlocks).
macro_rules! lock_event_log {
    ($tx:expr, $pg:expr) => {
        if $pg {
            // and wake the other instances' listeners when the transaction commits
            sqlx::query(
                "SELECT pg_advisory_xact_lock(7261123), pg_notify('authserver_changes', 'events')",
            )
            .execute(&mut *$tx)
            .await?;
        }
    };
}

/// Revokes a family inside transaction `$tx` and logs the event (the event-log lock is
/// taken first: see `lock_event_log!`).
macro_rules! revoke_family_in {
    ($tx:expr, $pg:expr, $family_id:expr, $now:expr, $ttl:expr) => {{
        lock_event_log!($tx, $pg);
        let changed = sqlx::query(
            "UPDATE refresh_families SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
        )
        .bind($now)
        .bind($family_id)
        .execute(&mut *$tx)
        .await?
        .rows_affected();
        if changed > 0 {
            sqlx::query(
                "INSERT INTO revocation_events (kind, subject, at, expires_at)
                 VALUES ('family', $1, $2, $3)",
            )
            .bind($family_id)
            .bind($now)
            .bind($now.saturating_add($ttl))
            .execute(&mut *$tx)
            .await?;
        }
    }};
}

mod batch;
mod checkpoint;
mod clients;
mod code_batch;
mod consent;
mod device;
mod events;
mod external;
mod family_batch;
mod flows;
mod keys;
mod pats;
mod purge;
mod refresh;
mod registration;
mod roles;
mod saml;
mod secrets;
mod throttle;
mod tokens;
mod upstream;
mod users;

pub use clients::ClientRow;
pub use code_batch::CodeGrant;
pub use consent::ConsentRow;
pub use device::{DeviceGrant, DevicePoll, NewDeviceRequest, PendingDevice, SLOW_DOWN_STEP};
pub use events::RevocationEvent;
pub use external::ExternalProfile;
pub use flows::{CodeUse, NewCode, SsoSession};
pub use keys::StoredKey;
pub use pats::{NewPat, PatRow};
pub use refresh::RefreshInfo;
pub use registration::RegistrationTokenRow;
pub use roles::RoleRow;
pub use saml::SamlLogin;
pub use tokens::{NewRefresh, Rotation};
pub use upstream::UpstreamLogin;
pub use users::{NewUser, User, ADMIN_ROLE, EXTERNAL_PASSWORD_MARKER, NO_PASSWORD};

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
    /// A batched statement failed as a whole; the operation should run on its own.
    #[error("batched statement failed")]
    BatchFailed,
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

/// The connection pools of one backend.
#[derive(Clone, Debug)]
pub(crate) enum Db {
    /// SQLite in WAL mode.
    Sqlite {
        /// the one connection that writes: SQLite has one writer at a time, and queueing
        /// writers here (fairly, without sleeping) beats letting them spin on SQLITE_BUSY
        writer: SqlitePool,
        /// connections for reads (WAL readers never block the writer)
        reader: SqlitePool,
        /// the connection that checkpoints the WAL (see `checkpoint`)
        checkpointer: SqlitePool,
        /// held shared by housekeeping's deletes and exclusively by a WAL restart, which
        /// so has only the requests' writes to catch up with (see `checkpoint`)
        bulk: std::sync::Arc<tokio::sync::RwLock<()>>,
    },
    /// PostgreSQL: one pool for reads and writes (row locks make writers safe).
    Postgres(PgPool),
}

/// What a change notification is about (PostgreSQL `LISTEN authserver_changes`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// New rows in `revocation_events`.
    Events,
    /// The signing keys changed.
    Keys,
}

/// Change notifications from the other processes on a PostgreSQL database.
#[derive(Debug)]
pub struct ChangeListener(sqlx::postgres::PgListener);

impl ChangeListener {
    /// The next notification. The listener reconnects by itself after a lost connection
    /// (notifications sent meanwhile are lost; the periodic poll covers them).
    pub async fn recv(&mut self) -> Result<Change, StoreError> {
        let n = self.0.recv().await?;
        Ok(if n.payload() == "keys" {
            Change::Keys
        } else {
            Change::Events
        })
    }
}

/// Which database a store talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Backend {
    /// `sqlite:` URLs.
    Sqlite,
    /// `postgres://` and `postgresql://` URLs.
    Postgres,
}

/// Handle to the database (cheap to clone).
#[derive(Clone, Debug)]
pub struct Store {
    db: Db,
    /// refresh rotations are group-committed (see `batch`)
    rotations: Option<tokio::sync::mpsc::Sender<batch::RotateRequest>>,
    /// new families of code exchanges are group-committed (see `family_batch`)
    families: Option<tokio::sync::mpsc::Sender<family_batch::FamilyRequest>>,
    /// the codes of code exchanges are spent group-committed (see `code_batch`)
    codes: Option<tokio::sync::mpsc::Sender<code_batch::ConsumeRequest>>,
    /// SQLite's WAL checkpoints (see `checkpoint`): held only so that the task ends with
    /// the last handle, like the batchers
    _checkpoints: Option<tokio::sync::mpsc::Sender<()>>,
    /// how long a family revocation must stay in the event log: the longest life of an
    /// access token minted from a family
    family_event_ttl: i64,
}

impl Store {
    /// Opens the database at `url` (`sqlite:` or `postgres://`), creating a SQLite file if
    /// absent, and applies the migrations.
    ///
    /// SQLite runs in WAL mode with `synchronous=NORMAL`: a crash of the process loses
    /// nothing committed, and readers never block the writer. PostgreSQL gets a pool of
    /// `max_connections` connections shared by reads and writes.
    pub async fn open(url: &str, max_connections: u32) -> Result<Store, StoreError> {
        let db = match Store::backend_of(url) {
            Some(Backend::Sqlite) => open_sqlite(url, max_connections).await?,
            Some(Backend::Postgres) => open_postgres(url, max_connections).await?,
            None => {
                return Err(StoreError::BadUrl(
                    url.to_string(),
                    "expected sqlite:… or postgres://…".into(),
                ))
            }
        };
        let rotations = Some(batch::start(db.clone()));
        let families = Some(family_batch::start(db.clone()));
        let codes = Some(code_batch::start(db.clone()));
        let checkpoints = match &db {
            Db::Sqlite {
                checkpointer,
                writer,
                bulk,
                ..
            } => Some(checkpoint::start(
                checkpointer.clone(),
                writer.clone(),
                bulk.clone(),
                checkpointer.connect_options().get_filename(),
                checkpoint::POLICY,
            )),
            Db::Postgres(_) => None,
        };
        let store = Store {
            db,
            rotations,
            families,
            codes,
            _checkpoints: checkpoints,
            family_event_ttl: 86_400,
        };
        store.migrate().await?;
        Ok(store)
    }

    /// The backend a URL selects, if any.
    fn backend_of(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }

    /// Listens for other processes' changes (PostgreSQL only: SQLite has no notifications,
    /// and its processes rely on the periodic poll).
    pub async fn listen_changes(&self) -> Result<Option<ChangeListener>, StoreError> {
        match &self.db {
            Db::Sqlite { .. } => Ok(None),
            Db::Postgres(pool) => {
                let mut listener = sqlx::postgres::PgListener::connect_with(pool).await?;
                listener.listen("authserver_changes").await?;
                Ok(Some(ChangeListener(listener)))
            }
        }
    }

    /// Sets how long family revocations stay in the event log (the access-token lifetime).
    pub fn with_token_lifetime(mut self, secs: u64) -> Store {
        self.family_event_ttl = i64::try_from(secs).unwrap_or(i64::MAX).saturating_add(60);
        self
    }

    /// Applies pending migrations (`migrations/sqlite/` or `migrations/postgres/`, compiled
    /// into the binary). Safe with several instances starting at once: sqlx serialises
    /// migrators (an advisory lock on PostgreSQL, the write lock on SQLite).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match &self.db {
            Db::Sqlite { writer, .. } => sqlx::migrate!("./migrations/sqlite").run(writer).await?,
            Db::Postgres(pool) => sqlx::migrate!("./migrations/postgres").run(pool).await?,
        }
        Ok(())
    }

    /// Whether the database answers a trivial query.
    pub async fn ping(&self) -> bool {
        with_db!(&self.db, |_w, r, _pg| sqlx::query("SELECT 1")
            .execute(r)
            .await
            .is_ok())
    }

    /// (pool, open connections, idle connections) of each pool.
    pub fn pool_usage(&self) -> Vec<(&'static str, u32, usize)> {
        match &self.db {
            Db::Sqlite {
                writer,
                reader,
                checkpointer,
                ..
            } => vec![
                ("writer", writer.size(), writer.num_idle()),
                ("reader", reader.size(), reader.num_idle()),
                ("checkpointer", checkpointer.size(), checkpointer.num_idle()),
            ],
            Db::Postgres(pool) => vec![("postgres", pool.size(), pool.num_idle())],
        }
    }

    /// Closes every connection (checkpointing the WAL).
    pub async fn close(&self) {
        match &self.db {
            Db::Sqlite {
                writer,
                reader,
                checkpointer,
                ..
            } => {
                checkpointer.close().await;
                reader.close().await;
                writer.close().await;
            }
            Db::Postgres(pool) => pool.close().await,
        }
    }
}

async fn open_sqlite(url: &str, max_connections: u32) -> Result<Db, StoreError> {
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
    // the one writer gets 8 MiB: every write walks the indexes of the big tables
    // (refresh tokens, families) from the root, and with a million families their
    // interior pages alone outgrow 1 MiB, so each write would re-read them from the OS
    let writer = SqlitePoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(30))
        .connect_with(
            options
                .clone()
                .pragma("cache_size", "-8192")
                // checkpoints run on a connection of their own (see `checkpoint`); this
                // is the backstop
                .pragma(
                    "wal_autocheckpoint",
                    checkpoint::WRITER_AUTOCHECKPOINT_PAGES,
                ),
        )
        .await?;
    // the schema must exist before readers open (a reader's first query could otherwise
    // race the migration)
    sqlx::migrate!("./migrations/sqlite").run(&writer).await?;
    let checkpointer = SqlitePoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        .connect_with(options.clone().busy_timeout(checkpoint::BUSY_TIMEOUT))
        .await?;
    let reader = SqlitePoolOptions::new()
        .max_connections(max_connections.max(1))
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(30))
        .connect_with(options)
        .await?;
    Ok(Db::Sqlite {
        writer,
        reader,
        checkpointer,
        bulk: Default::default(),
    })
}

/// `url` without its password (for error messages).
fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("********"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

async fn open_postgres(url: &str, max_connections: u32) -> Result<Db, StoreError> {
    let options = PgConnectOptions::from_str(url)
        .map_err(|e| StoreError::BadUrl(redact_url(url), e.to_string()))?
        .application_name("authserver");
    // one direct connection first: the pool would retry until its timeout and then report
    // only that it timed out, hiding "connection refused" or "password authentication failed"
    let probe = sqlx::ConnectOptions::connect(&options)
        .await
        .map_err(|e| StoreError::BadUrl(redact_url(url), format!("cannot connect: {e}")))?;
    let _ = sqlx::Connection::close(probe).await;
    let pool = PgPoolOptions::new()
        .max_connections(max_connections.max(2))
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(30))
        .connect_with(options)
        .await?;
    Ok(Db::Postgres(pool))
}
