//! WAL checkpoints of a SQLite database, on a connection of their own, so that the one
//! writing connection never syncs the disk.
//!
//! By default SQLite checkpoints on the connection whose commit takes the WAL past 1,000
//! pages: that commit syncs the WAL, copies its pages into the database file and syncs
//! that too before it returns, and on our single writer every write queued behind it
//! waits as long (50–450 ms per sync, measured on a million-family database on a virtual
//! disk). Here a task does that work beside the writer, every [`POLICY`]'s interval:
//!
//! 1. **Copy** (`PASSIVE`): the WAL's pages go into the database file without the write
//!    lock, and the task then syncs the database file itself. SQLite syncs it only when a
//!    copy reaches the end of the WAL, which under steady writes it never does; the
//!    unsynced pages would pile up for the restart below to sync, with the writer held.
//! 2. **Restart**, once the WAL holds [`POLICY`]'s `restart_pages` and the copy has caught up: the
//!    WAL must start over from its beginning, or it grows for as long as writes never
//!    pause (SQLite restarts it only at a write that finds it wholly copied, and with
//!    writes arriving during every copy none does). The task pauses housekeeping's
//!    deletes (`bulk`), copies again (now only the requests' writes of a few
//!    milliseconds are new), takes the writing connection for a moment (so no write
//!    waits on SQLite's lock, which retries by sleeping) and runs a `RESTART` checkpoint:
//!    it copies and syncs that small rest, waits for the readers still on the old WAL (at
//!    most [`BUSY_TIMEOUT`]) and starts the WAL over. Measured under a refresh load with
//!    housekeeping deleting 400,000 rows: the writer was held 11 ms at the median and
//!    33 ms at most (`authserver_db_writer_hold_seconds{by="wal_restart"}`).
//!
//! The writer keeps an automatic checkpoint at [`WRITER_AUTOCHECKPOINT_PAGES`] as a
//! backstop, should this task fall behind (a reader holding an old snapshot for long,
//! say). A reader connection could do this work too, but a request waiting for that
//! connection would then wait for the syncs; hence a connection of its own.
use std::fs::File;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::SqlitePool;
use tokio::sync::{mpsc, RwLock};

/// When the task works.
#[derive(Debug, Clone, Copy)]
pub(super) struct Policy {
    /// how often the WAL is copied into the database
    pub interval: Duration,
    /// the WAL size (pages) from which it is restarted
    pub restart_pages: i64,
}

/// The server's: a copy every 250 ms, a restart from 64 MiB of WAL (at SQLite's 4 KiB
/// pages; under a steady refresh load a few times a minute).
pub(super) const POLICY: Policy = Policy {
    interval: Duration::from_millis(250),
    restart_pages: 16384,
};

/// The checkpoint connection's busy timeout: how long a restart waits for readers of the
/// old WAL (which take a millisecond or two) before it leaves the restart to the next one.
pub(super) const BUSY_TIMEOUT: Duration = Duration::from_millis(20);

/// The writer's own automatic checkpoint (pages of WAL, 256 MiB): far above what
/// accumulates between two restarts.
pub(super) const WRITER_AUTOCHECKPOINT_PAGES: &str = "65536";

/// Starts the task on `pool` (one connection, for checkpoints alone, with
/// [`BUSY_TIMEOUT`]); `writer` is the writing pool, `bulk` the lock housekeeping's deletes
/// hold shared, and `path` the database file. It ends when the pool is closed, or when
/// the returned sender (which is never sent on) and all its clones are dropped.
pub(super) fn start(
    pool: SqlitePool,
    writer: SqlitePool,
    bulk: Arc<RwLock<()>>,
    path: &Path,
    policy: Policy,
) -> mpsc::Sender<()> {
    let mut wal = Checkpointer {
        policy,
        pool,
        writer,
        bulk,
        // (an in-memory database has no file to sync)
        file: File::open(path).ok().map(Arc::new),
        synced: (0, 0),
    };
    let (alive, mut dropped) = mpsc::channel::<()>(1);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(policy.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = dropped.recv() => break,
            }
            if wal.pool.is_closed() {
                break;
            }
            match wal.round().await {
                Ok(()) => {}
                Err(sqlx::Error::PoolClosed) => break,
                Err(e) => tracing::debug!(error = %e, "WAL checkpoint failed"),
            }
        }
        wal.pool.close().await;
    });
    alive
}

/// The task's state.
struct Checkpointer {
    policy: Policy,
    pool: SqlitePool,
    writer: SqlitePool,
    bulk: Arc<RwLock<()>>,
    file: Option<Arc<File>>,
    /// (pages in the WAL, pages copied) at the last sync of the database file
    synced: (i64, i64),
}

impl Checkpointer {
    /// Copies, and restarts the WAL when it is due.
    async fn round(&mut self) -> Result<(), sqlx::Error> {
        let (wal, copied) = self.copy().await?;
        // (a reader on an old snapshot keeps the copy behind: a restart would wait for it)
        if wal < self.policy.restart_pages || copied < wal * 9 / 10 {
            return Ok(());
        }
        let bulk = self.bulk.clone();
        let _bulk_paused = bulk.write().await;
        self.copy().await?;
        let _writer_held = self.writer.acquire().await?;
        let started = Instant::now();
        // (busy, pages in the WAL, pages copied)
        let (busy, wal, _): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(RESTART)")
            .fetch_one(&self.pool)
            .await?;
        let held = started.elapsed();
        crate::metrics::writer_held("wal_restart", held);
        tracing::debug!(
            pages = wal,
            restarted = busy == 0,
            held_ms = held.as_millis() as u64,
            "WAL restart"
        );
        Ok(())
    }

    /// A `PASSIVE` checkpoint, then a sync of the database file if it copied anything new.
    /// Returns the pages in the WAL and the pages copied from it so far.
    async fn copy(&mut self) -> Result<(i64, i64), sqlx::Error> {
        let (_busy, wal, copied): (i64, i64, i64) =
            sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
                .fetch_one(&self.pool)
                .await?;
        tracing::trace!(wal, copied, "WAL copied");
        if copied > 0 && (wal, copied) != self.synced {
            if let Some(file) = self.file.clone() {
                match tokio::task::spawn_blocking(move || file.sync_data()).await {
                    Ok(Ok(())) => self.synced = (wal, copied),
                    Ok(Err(e)) => tracing::warn!(error = %e, "database file sync failed"),
                    Err(e) => tracing::warn!(error = %e, "database file sync did not run"),
                }
            }
        }
        Ok((wal, copied))
    }
}

#[cfg(test)]
mod tests;
