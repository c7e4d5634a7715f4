//! Background purge of what has expired, in small batches so requests never wait long for
//! the database's write lock.
use std::time::Duration;

use crate::domain::services::Services;
use crate::store::StoreError;

/// Rows deleted per statement.
pub const BATCH: i64 = 500;
/// Refresh families looked at per statement (see `Store::purge_families_window`).
pub const FAMILY_WINDOW: i64 = 2_000;
/// Pause between rounds.
pub const INTERVAL: Duration = Duration::from_secs(60);

/// Runs forever (aborted at shutdown).
pub async fn run(state: Services) {
    let mut tick = tokio::time::interval(INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = purge_once(&state).await {
            tracing::warn!(error = %e, "housekeeping failed");
        }
    }
}

/// One full purge round; returns the number of rows deleted. Logs (at debug) how long the
/// round and its slowest statement took: the slowest statement is the longest a writer
/// waited behind housekeeping on SQLite (`bench/scale.sh` reads it).
pub async fn purge_once(state: &Services) -> Result<u64, StoreError> {
    let now = state.now();
    let started = std::time::Instant::now();
    let mut total = 0;
    let mut slowest = Duration::ZERO;
    loop {
        let (n, batch_slowest) = state.store.purge_expired_batch(now, BATCH).await?;
        total += n;
        slowest = slowest.max(batch_slowest);
        if n == 0 {
            break;
        }
        tokio::task::yield_now().await;
    }
    // families: the whole table in bounded windows, so no statement holds the write lock
    // for long however many families there are
    let mut after = String::new();
    loop {
        let window_started = std::time::Instant::now();
        let (n, last) = state
            .store
            .purge_families_window(now, &after, FAMILY_WINDOW)
            .await?;
        total += n;
        slowest = slowest.max(window_started.elapsed());
        match last {
            Some(last) => after = last,
            None => break,
        }
        tokio::task::yield_now().await;
    }
    tracing::debug!(
        rows = total,
        elapsed_ms = started.elapsed().as_millis() as u64,
        slowest_statement_ms = slowest.as_millis() as u64,
        "housekeeping round"
    );
    // last uses of personal access tokens: once per round, so at most once a minute each
    crate::domain::pat::flush_usage(&state.store, &state.revocations).await?;
    state.revocations.purge(now);
    state.credentials.purge(now);
    state.device_polls.purge(now);
    state.throttle.purge(now);
    Ok(total)
}
