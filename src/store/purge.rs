//! Housekeeping's deletes of what has expired, in short statements so that requests never
//! wait long for the database's write lock.
//!
//! On SQLite every write waits for the one writing connection, so what counts is how long
//! a purge statement holds it. On a database larger than the memory the OS keeps for it
//! (or on a host that pages out what was not touched for a minute), most of that time went
//! to *reading*: expired rows sit on pages nobody has read for a while, and their index
//! entries on others, and each of those reads (up to a second each, measured) was made
//! while the writer was held. So on SQLite a purge statement is prefetched:
//!
//! 1. a reader connection chooses the rows (their rowids) by the purge condition;
//! 2. it reads every page their deletion will touch: the table's own pages, each index's
//!    entries for those rows (one covering lookup per index), and whatever the condition
//!    reads (a family's tokens, say, which also serve the cascade);
//! 3. only then does the writer delete exactly those rows, re-checking the condition (a
//!    row that changed meanwhile stays), from pages that are now in the OS cache.
//!
//! PostgreSQL has no single writer (row locks and MVCC: a delete blocks nobody who does
//! not touch the same rows), so there a statement deletes directly.
use std::time::{Duration, Instant};

use sqlx::sqlite::SqliteConnection;
use sqlx::SqlitePool;
use tokio::sync::RwLock;

use super::{Db, Store, StoreError};

/// A table housekeeping empties of what has expired: `cond` (with `$1` = now) chooses the
/// rows; `key` is the primary key, by which PostgreSQL deletes them.
struct Expiring {
    table: &'static str,
    key: &'static str,
    cond: &'static str,
}

/// Every table with rows that expire, in the order a batch purges them. Spent refresh
/// tokens stay until they expire (reuse detection needs them); families go by window (see
/// [`Store::purge_families_window`]).
const EXPIRING: [Expiring; 12] = [
    Expiring {
        table: "authorization_codes",
        key: "code_hash",
        cond: "expires_at < $1 - 3600",
    },
    Expiring {
        table: "device_requests",
        key: "device_code_hash",
        cond: "expires_at < $1 - 3600",
    },
    Expiring {
        table: "refresh_tokens",
        key: "token_hash",
        cond: "expires_at < $1",
    },
    Expiring {
        table: "sso_sessions",
        key: "id_hash",
        cond: "expires_at < $1 OR ended_at < $1 - 86400",
    },
    Expiring {
        table: "login_throttle",
        key: "key",
        cond: "last < $1 - 86400 AND locked_until < $1 AND known_until < $1",
    },
    Expiring {
        table: "client_assertion_jtis",
        key: "jti",
        cond: "expires_at < $1",
    },
    Expiring {
        table: "client_secrets",
        key: "id",
        cond: "expires_at < $1",
    },
    Expiring {
        table: "registration_tokens",
        key: "id",
        cond: "expires_at < $1",
    },
    Expiring {
        table: "upstream_logins",
        key: "state_hash",
        cond: "expires_at < $1",
    },
    Expiring {
        table: "saml_logins",
        key: "key_hash",
        cond: "expires_at < $1",
    },
    Expiring {
        table: "saml_assertions",
        key: "id_hash",
        cond: "expires_at < $1",
    },
    Expiring {
        table: "revocation_events",
        key: "seq",
        cond: "expires_at < $1",
    },
];

/// The families among `$1 < id <= $2` that can go: older than `$3 - $4` (now less the
/// longest access-token life) with no refresh token and no authorization code left.
const PURGEABLE_FAMILY: &str = "refresh_families.id > $1 AND refresh_families.id <= $2
    AND refresh_families.created_at < $3 - $4
    AND NOT EXISTS (SELECT 1 FROM refresh_tokens r WHERE r.family_id = refresh_families.id)
    AND NOT EXISTS (SELECT 1 FROM authorization_codes c WHERE c.family_id = refresh_families.id)";

/// A value bound to a purge condition's placeholder.
#[derive(Clone, Copy)]
enum Arg<'a> {
    Int(i64),
    Text(&'a str),
}

macro_rules! bind_args {
    ($query:expr, $args:expr) => {{
        let mut q = $query;
        for arg in $args {
            q = match *arg {
                Arg::Int(v) => q.bind(v),
                Arg::Text(v) => q.bind(v),
            };
        }
        q
    }};
}

impl Store {
    /// Deletes up to `batch` expired rows from each table; returns how many went, how long
    /// the slowest statement held the writing connection (on SQLite, the longest a request's
    /// write waited behind it) and the table it deleted from. Spent refresh tokens stay
    /// until they expire (reuse detection needs them). Families go in
    /// [`Store::purge_families_window`].
    pub async fn purge_expired_batch(
        &self,
        now: i64,
        batch: i64,
    ) -> Result<(u64, Duration, &'static str), StoreError> {
        let mut total = 0;
        let mut slowest = (Duration::ZERO, "");
        for t in &EXPIRING {
            let (rows, took) = match &self.db {
                Db::Sqlite {
                    writer,
                    reader,
                    bulk,
                    ..
                } => {
                    let pools = (writer, reader, &**bulk);
                    prefetched_delete(pools, t.table, t.cond, &[Arg::Int(now)], batch).await?
                }
                Db::Postgres(pool) => {
                    let sql = format!(
                        "DELETE FROM {table} WHERE {key} IN
                           (SELECT {key} FROM {table} WHERE {cond} LIMIT $2)",
                        table = t.table,
                        key = t.key,
                        cond = t.cond
                    );
                    let started = Instant::now();
                    let rows = sqlx::query(&sql)
                        .bind(now)
                        .bind(batch)
                        .execute(pool)
                        .await?
                        .rows_affected();
                    (rows, started.elapsed())
                }
            };
            total += rows;
            if took > slowest.0 {
                slowest = (took, t.table);
            }
        }
        Ok((total, slowest.0, slowest.1))
    }

    /// Deletes the purgeable refresh families among the next `window` families in id order
    /// after `after` ("" to start): those older than the longest access-token life with no
    /// refresh token and no authorization code left. Returns how many went, the last id
    /// looked at (`None` at the end of the table) and how long the delete held the writing
    /// connection (on PostgreSQL, how long it ran). A window is a bounded index walk, so a
    /// table of millions of live families never holds the write lock for long, which one
    /// statement over the whole table did.
    pub async fn purge_families_window(
        &self,
        now: i64,
        after: &str,
        window: i64,
    ) -> Result<(u64, Option<String>, Duration), StoreError> {
        let last: Option<String> = with_db!(&self.db, |_w, r, _pg| {
            sqlx::query_scalar(
            "SELECT MAX(id) FROM (SELECT id FROM refresh_families WHERE id > $1 ORDER BY id LIMIT $2) AS w"
        )
        .bind(after)
        .bind(window)
        .fetch_one(r)
        .await?
        });
        let Some(last) = last else {
            return Ok((0, None, Duration::ZERO));
        };
        let args = [
            Arg::Text(after),
            Arg::Text(&last),
            Arg::Int(now),
            Arg::Int(self.family_event_ttl),
        ];
        let (deleted, took) = match &self.db {
            Db::Sqlite {
                writer,
                reader,
                bulk,
                ..
            } => {
                prefetched_delete(
                    (writer, reader, &**bulk),
                    "refresh_families",
                    PURGEABLE_FAMILY,
                    &args,
                    window,
                )
                .await?
            }
            Db::Postgres(pool) => {
                let sql = format!("DELETE FROM refresh_families WHERE {PURGEABLE_FAMILY}");
                let started = Instant::now();
                let rows = bind_args!(sqlx::query(&sql), &args)
                    .execute(pool)
                    .await?
                    .rows_affected();
                (rows, started.elapsed())
            }
        };
        Ok((deleted, Some(last), took))
    }
}

/// Deletes up to `limit` rows of `table` that match `cond` (whose placeholders `args`
/// bind), prefetched as the module's documentation describes. Returns how many went and
/// how long the delete held the writing connection.
async fn prefetched_delete(
    (writer, reader, bulk): (&SqlitePool, &SqlitePool, &RwLock<()>),
    table: &str,
    cond: &str,
    args: &[Arg<'_>],
    limit: i64,
) -> Result<(u64, Duration), StoreError> {
    match choose(reader, table, cond, args, limit).await? {
        Some(rowids) => delete_chosen((writer, bulk), table, cond, args, &rowids).await,
        None => Ok((0, Duration::ZERO)),
    }
}

/// Steps 1 and 2 on a reader connection: the rowids (a JSON array) of up to `limit` rows
/// of `table` that match `cond`, with the pages their deletion will touch read; `None` if
/// no row matches.
async fn choose(
    reader: &SqlitePool,
    table: &str,
    cond: &str,
    args: &[Arg<'_>],
    limit: i64,
) -> Result<Option<String>, StoreError> {
    let mut conn = reader.acquire().await?;
    let choose = format!(
        "SELECT count(*), json_group_array(rowid)
         FROM (SELECT rowid FROM {table} WHERE {cond} LIMIT ${})",
        args.len() + 1
    );
    let (count, rowids): (i64, String) = bind_args!(sqlx::query_as(&choose), args)
        .bind(limit)
        .fetch_one(&mut *conn)
        .await?;
    if count == 0 {
        return Ok(None);
    }
    prefetch(&mut conn, table, &rowids).await?;
    Ok(Some(rowids))
}

/// Step 3 on the writer: deletes the rows `rowids` (from [`choose`]) that still match
/// `cond`. Returns how many went and how long the delete held the writing connection
/// (timed from when it had the connection: the wait for it, behind the requests' own
/// writes, holds up nobody).
async fn delete_chosen(
    (writer, bulk): (&SqlitePool, &RwLock<()>),
    table: &str,
    cond: &str,
    args: &[Arg<'_>],
    rowids: &str,
) -> Result<(u64, Duration), StoreError> {
    // NOT INDEXED: the rows are found by rowid (which it still allows), never by a scan
    // of the condition's index over every expired row
    let delete = format!(
        "DELETE FROM {table} NOT INDEXED
         WHERE rowid IN (SELECT value FROM json_each(${})) AND ({cond})",
        args.len() + 1
    );
    let _shared = bulk.read().await;
    let mut conn = writer.acquire().await?;
    let started = Instant::now();
    let rows = bind_args!(sqlx::query(&delete), args)
        .bind(rowids)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    let held = started.elapsed();
    crate::metrics::writer_held("purge", held);
    Ok((rows, held))
}

/// Reads, on a reader connection, the pages that deleting the rows `rowids` (a JSON array)
/// of `table` will write: the table's own, then each index's entries for them (a covering
/// lookup of each row's own entry per index, which reads the index alone). Partial indexes
/// are left out (their lookups would need their condition); no purged table has one.
async fn prefetch(
    conn: &mut SqliteConnection,
    table: &str,
    rowids: &str,
) -> Result<(), StoreError> {
    let table_pages = format!(
        "SELECT count(*) FROM {table} NOT INDEXED WHERE rowid IN (SELECT value FROM json_each($1))"
    );
    sqlx::query_scalar::<_, i64>(&table_pages)
        .bind(rowids)
        .fetch_one(&mut *conn)
        .await?;
    for (index, columns) in indexes_of(conn, table).await? {
        // the rowid too: it ends every index entry, so the lookup lands on the row's own
        // entry even where many rows share the indexed value (every family of one client)
        let columns = columns.join(", ") + ", rowid";
        let entries = format!(
            "SELECT count(*) FROM {table} INDEXED BY {index}
             WHERE ({columns}) IN (SELECT {columns} FROM {table} NOT INDEXED
                                   WHERE rowid IN (SELECT value FROM json_each($1)))"
        );
        sqlx::query_scalar::<_, i64>(&entries)
            .bind(rowids)
            .fetch_one(&mut *conn)
            .await?;
    }
    Ok(())
}

/// The indexes of `table` (but partial and expression indexes) with their columns in
/// order, from SQLite's own catalogue.
async fn indexes_of(
    conn: &mut SqliteConnection,
    table: &str,
) -> Result<Vec<(String, Vec<String>)>, StoreError> {
    let rows: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT il.name, ii.name FROM pragma_index_list($1) AS il, pragma_index_info(il.name) AS ii
         WHERE il.partial = 0 ORDER BY il.name, ii.seqno",
    )
    .bind(table)
    .fetch_all(&mut *conn)
    .await?;
    let mut indexes: Vec<(String, Vec<String>)> = Vec::new();
    let mut expression = Vec::new();
    for (index, column) in rows {
        let Some(column) = column else {
            expression.push(index);
            continue;
        };
        match indexes.last_mut() {
            Some((name, columns)) if *name == index => columns.push(column),
            _ => indexes.push((index, vec![column])),
        }
    }
    indexes.retain(|(name, _)| !expression.contains(name));
    Ok(indexes)
}

#[cfg(test)]
mod tests;
