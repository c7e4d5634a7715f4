//! The checkpoint task against a real SQLite file: writes that never pause, reads beside
//! them, and what happens to the WAL with and without the task.
use std::path::Path;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

use super::{start, Policy, BUSY_TIMEOUT};

/// Rows written, each about one 4 KiB page.
const ROWS: i64 = 3_000;
const ROW_BYTES: i64 = 3_000;

/// A policy that works often, on a small WAL, so the test needs few writes.
const QUICK: Policy = Policy {
    interval: Duration::from_millis(10),
    restart_pages: 64,
};

fn options(path: &Path) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
}

async fn pool(options: SqliteConnectOptions, size: u32) -> SqlitePool {
    SqlitePoolOptions::new()
        .max_connections(size)
        .min_connections(1)
        .connect_with(options)
        .await
        .unwrap()
}

/// Writes `ROWS` rows in one transaction each, one after another, while a reader counts
/// them in a loop; returns the WAL file's size at the end and the rows the database holds.
async fn write_without_pause(path: &Path, with_task: bool) -> (u64, i64) {
    // no automatic checkpoint on the writer: only the task (if any) checkpoints
    let writer = pool(options(path).pragma("wal_autocheckpoint", "0"), 1).await;
    sqlx::query("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB NOT NULL)")
        .execute(&writer)
        .await
        .unwrap();
    let reader = pool(options(path), 2).await;
    let alive = if with_task {
        let checkpointer = pool(options(path).busy_timeout(BUSY_TIMEOUT), 1).await;
        Some(start(
            checkpointer,
            writer.clone(),
            Default::default(),
            path,
            QUICK,
        ))
    } else {
        None
    };
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reads = tokio::spawn({
        let (reader, done) = (reader.clone(), done.clone());
        async move {
            let mut last = 0;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                let n: i64 = sqlx::query_scalar("SELECT count(*) FROM t")
                    .fetch_one(&reader)
                    .await
                    .unwrap();
                assert!(n >= last, "a reader saw {n} rows after {last}");
                last = n;
            }
        }
    });
    for _ in 0..ROWS {
        sqlx::query("INSERT INTO t (v) VALUES (randomblob($1))")
            .bind(ROW_BYTES)
            .execute(&writer)
            .await
            .unwrap();
        // let the checkpoint task's wake-ups through on the test's runtime
        tokio::task::yield_now().await;
    }
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    reads.await.unwrap();
    let wal = std::fs::metadata(path.with_extension("db-wal"))
        .unwrap()
        .len();
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM t")
        .fetch_one(&reader)
        .await
        .unwrap();
    drop(alive);
    (wal, rows)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_task_restarts_a_wal_that_writes_never_let_rest() {
    let dir = tempfile::tempdir().unwrap();
    let written = (ROWS * ROW_BYTES) as u64;

    // without the task nothing is copied, and the WAL holds every write
    let (alone, rows) = write_without_pause(&dir.path().join("alone.db"), false).await;
    assert_eq!(rows, ROWS);
    assert!(
        alone >= written,
        "WAL of {alone} bytes for {written} written"
    );

    // with it the WAL starts over again and again (measured: a twentieth of the size)
    let (wal, rows) = write_without_pause(&dir.path().join("task.db"), true).await;
    assert_eq!(rows, ROWS);
    assert!(
        wal < alone / 4,
        "WAL of {wal} bytes, {alone} without the task: not restarted"
    );
}
