//! Background purge of what has expired, in small batches so requests never wait long for
//! the database's write lock.
use std::time::Duration;

use crate::domain::services::Services;
use crate::store::StoreError;

/// Rows deleted per statement, at most (the round starts there; see [`Pace`]).
pub const BATCH: i64 = 500;
/// Refresh families looked at per statement, at most (see `Store::purge_families_window`).
pub const FAMILY_WINDOW: i64 = 2_000;
/// Pause between rounds.
pub const INTERVAL: Duration = Duration::from_secs(60);
/// The background task walks the refresh families once in this many rounds (the first
/// round at start included). A walk reads every family, which at a million families took
/// 2.6–12 s of a reader connection's time; the other tables' purges find their rows by an
/// index and cost nothing when nothing has expired. A family left without tokens waits at
/// most this many rounds (15 minutes) longer for its delete, and nothing reads it meanwhile.
pub const FAMILY_WALK_EVERY: u32 = 15;
/// How long one purge statement should hold the database's write lock: a request that
/// arrives meanwhile waits at most about this long (measured: with a million families a
/// 500-row statement took 80–100 ms on a busy 2-core machine).
pub const STATEMENT_TARGET: Duration = Duration::from_millis(10);

/// The size of the next purge statement, halved after a statement that took more than
/// twice [`STATEMENT_TARGET`] and doubled after one that took less than half of it, within
/// `min..=max`: the statements stay short on a slow or busy machine and few on a fast one.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    size: i64,
    min: i64,
    max: i64,
}

impl Pace {
    /// Starts at `max`.
    pub fn new(min: i64, max: i64) -> Pace {
        Pace {
            size: max,
            min,
            max,
        }
    }

    /// The size of the next statement.
    pub fn size(&self) -> i64 {
        self.size
    }

    /// Adjusts the size after a statement that took `took`.
    pub fn record(&mut self, took: Duration) {
        if took > STATEMENT_TARGET * 2 {
            self.size = (self.size / 2).max(self.min);
        } else if took < STATEMENT_TARGET / 2 {
            self.size = (self.size * 2).min(self.max);
        }
    }
}

/// Which rounds walk the refresh families: the first, then one in [`FAMILY_WALK_EVERY`].
#[derive(Debug, Default)]
pub struct FamilyWalks {
    rounds: u32,
}

impl FamilyWalks {
    /// Whether the next round walks the families.
    pub fn next_round(&mut self) -> bool {
        let walk = self.rounds == 0;
        self.rounds = (self.rounds + 1) % FAMILY_WALK_EVERY;
        walk
    }
}

/// Runs forever (aborted at shutdown).
pub async fn run(state: Services) {
    let mut tick = tokio::time::interval(INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut walks = FamilyWalks::default();
    loop {
        tick.tick().await;
        if let Err(e) = purge_round(&state, walks.next_round()).await {
            tracing::warn!(error = %e, "housekeeping failed");
        }
    }
}

/// One full purge round, the refresh families included; returns the number of rows
/// deleted.
pub async fn purge_once(state: &Services) -> Result<u64, StoreError> {
    purge_round(state, true).await
}

/// One purge round, walking the refresh families if `families`; returns the number of
/// rows deleted. Logs (at debug) how long the round and its slowest statement took: the
/// slowest statement is the longest a writer waited behind housekeeping on SQLite
/// (`bench/scale.sh` reads it).
pub async fn purge_round(state: &Services, families: bool) -> Result<u64, StoreError> {
    let now = state.now();
    let started = std::time::Instant::now();
    let mut total = 0;
    // the slowest statement, and the table it deleted from
    let mut slowest = (Duration::ZERO, "");
    let mut pace = Pace::new(20, BATCH);
    loop {
        let (n, batch_slowest, table) = state.store.purge_expired_batch(now, pace.size()).await?;
        total += n;
        if batch_slowest > slowest.0 {
            slowest = (batch_slowest, table);
        }
        pace.record(batch_slowest);
        if n == 0 {
            break;
        }
        tokio::task::yield_now().await;
    }
    // families: the whole table in bounded windows, so no statement holds the write lock
    // for long however many families there are
    if families {
        let mut after = String::new();
        let mut pace = Pace::new(100, FAMILY_WINDOW);
        loop {
            let (n, last, took) = state
                .store
                .purge_families_window(now, &after, pace.size())
                .await?;
            total += n;
            if took > slowest.0 {
                slowest = (took, "refresh_families");
            }
            pace.record(took);
            match last {
                Some(last) => after = last,
                None => break,
            }
            tokio::task::yield_now().await;
        }
    }
    tracing::debug!(
        rows = total,
        families,
        elapsed_ms = started.elapsed().as_millis() as u64,
        slowest_statement_ms = slowest.0.as_millis() as u64,
        slowest_table = slowest.1,
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

#[cfg(test)]
mod tests {
    use super::{FamilyWalks, Pace, FAMILY_WALK_EVERY, STATEMENT_TARGET};
    use std::time::Duration;

    #[test]
    fn the_first_round_walks_the_families_then_one_round_in_family_walk_every() {
        let mut walks = FamilyWalks::default();
        let rounds: Vec<bool> = (0..FAMILY_WALK_EVERY * 3 + 1)
            .map(|_| walks.next_round())
            .collect();
        let walked: Vec<usize> = (0..rounds.len()).filter(|&i| rounds[i]).collect();
        let every = FAMILY_WALK_EVERY as usize;
        assert_eq!(walked, vec![0, every, 2 * every, 3 * every]);
    }

    #[test]
    fn pace_halves_after_a_slow_statement_and_doubles_after_a_quick_one_within_bounds() {
        let mut pace = Pace::new(20, 500);
        assert_eq!(pace.size(), 500);
        pace.record(STATEMENT_TARGET * 3);
        assert_eq!(pace.size(), 250);
        pace.record(STATEMENT_TARGET); // on target: unchanged
        assert_eq!(pace.size(), 250);
        for _ in 0..10 {
            pace.record(Duration::from_millis(500));
        }
        assert_eq!(pace.size(), 20);
        pace.record(Duration::ZERO);
        assert_eq!(pace.size(), 40);
        for _ in 0..10 {
            pace.record(Duration::ZERO);
        }
        assert_eq!(pace.size(), 500);
    }
}
