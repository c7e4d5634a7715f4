//! Background purge of what has expired, in small batches so requests never wait long for
//! the database's write lock.
use std::time::Duration;

use crate::domain::services::Services;
use crate::store::StoreError;

/// Rows deleted per statement.
pub const BATCH: i64 = 500;
/// Pause between rounds.
pub const INTERVAL: Duration = Duration::from_secs(60);

/// Runs forever (aborted at shutdown).
pub async fn run(state: Services) {
    let mut tick = tokio::time::interval(INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match purge_once(&state).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(rows = n, "housekeeping purged expired rows"),
            Err(e) => tracing::warn!(error = %e, "housekeeping failed"),
        }
    }
}

/// One full purge round; returns the number of rows deleted.
pub async fn purge_once(state: &Services) -> Result<u64, StoreError> {
    let now = state.now();
    let mut total = 0;
    loop {
        let n = state.store.purge_expired_batch(now, BATCH).await?;
        total += n;
        if n == 0 {
            break;
        }
        tokio::task::yield_now().await;
    }
    // last uses of personal access tokens: once per round, so at most once a minute each
    crate::domain::pat::flush_usage(&state.store, &state.revocations).await?;
    state.revocations.purge(now);
    state.credentials.purge(now);
    state.device_polls.purge(now);
    state.throttle.purge(now);
    Ok(total)
}
