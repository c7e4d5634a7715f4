//! [`Sql`]: a statement on a test database, for either driver.
use std::time::Duration;

use sqlx::{ConnectOptions, Connection, Row};

use super::database::is_sqlite_url;

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
