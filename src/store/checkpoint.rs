//! WAL checkpoints of a SQLite database, off the writer.
//!
//! By default SQLite checkpoints on the connection whose commit takes the WAL past 1,000
//! pages: that commit copies the WAL's pages into the database file and syncs it before it
//! returns, and on our single writer every write queued behind it (a batch of refresh
//! rotations, a purge statement) waits as long. Measured on a million-family database,
//! those were the writer's stalls of 50–150 ms. Here a task checkpoints from a reader
//! connection every [`INTERVAL`] in `PASSIVE` mode, which copies what it can without taking
//! the write lock, so the writer only appends; the WAL starts over from its beginning at
//! the first write after a checkpoint that copied everything. The writer keeps an automatic
//! checkpoint at [`WRITER_AUTOCHECKPOINT_PAGES`] as a backstop, should this task fall
//! behind (a reader holding an old snapshot for long, say).
use std::time::Duration;

use sqlx::SqlitePool;
use tokio::sync::mpsc;

/// How often the WAL is checkpointed.
pub(super) const INTERVAL: Duration = Duration::from_millis(250);

/// The writer's own automatic checkpoint (pages of WAL): far above what accumulates
/// between two of this task's checkpoints under load (a few hundred pages).
pub(super) const WRITER_AUTOCHECKPOINT_PAGES: &str = "16384";

/// Starts the task; it ends when the pool is closed or the returned sender (which is
/// never sent on) and all its clones are dropped.
pub(super) fn start(reader: SqlitePool) -> mpsc::Sender<()> {
    let (alive, mut dropped) = mpsc::channel::<()>(1);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = dropped.recv() => return,
            }
            if reader.is_closed() {
                return;
            }
            // (busy, frames in the WAL, frames copied into the database)
            let result: Result<(i64, i64, i64), sqlx::Error> =
                sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
                    .fetch_one(&reader)
                    .await;
            match result {
                Ok(_) => {}
                Err(sqlx::Error::PoolClosed) => return,
                Err(e) => tracing::debug!(error = %e, "WAL checkpoint failed"),
            }
        }
    });
    alive
}
