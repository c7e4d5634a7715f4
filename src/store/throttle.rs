//! Counters of failed password checks, shared by every process on the database (see
//! `src/throttle/mod.rs` for the rules).
use super::{Store, StoreError};

/// The failures still counted on the row being updated: `failures`, less one for every
/// whole `$5` seconds since `leak_from`.
const EFFECTIVE: &str = "(CASE WHEN login_throttle.failures > ($2 - login_throttle.leak_from) / $5
      THEN login_throttle.failures - ($2 - login_throttle.leak_from) / $5 ELSE 0 END)";

impl Store {
    /// Seconds the most locked of `keys` stays locked (0 when none is).
    pub async fn throttle_wait(&self, keys: &[String], now: i64) -> Result<i64, StoreError> {
        let mut wait = 0;
        for key in keys {
            let row: Option<(i64,)> = with_db!(&self.db, |_w, r, _pg| sqlx::query_as(
                "SELECT locked_until FROM login_throttle WHERE key = $1"
            )
            .bind(key)
            .fetch_optional(r)
            .await?);
            if let Some((until,)) = row {
                wait = wait.max(until.saturating_sub(now));
            }
        }
        Ok(wait)
    }

    /// Counts one attempt against `key`, unless the key is locked at `now` (then `None`).
    /// Earlier failures leak away, one every `decay` seconds (`i64::MAX`: never). From the
    /// `limit`th failure on the key locks for 1, 2, 4, … seconds (at most `max_lock`).
    /// Returns (failures, locked_until). One statement: concurrent attempts on any number
    /// of processes are serialised by the row's lock.
    pub async fn throttle_count(
        &self,
        key: &str,
        now: i64,
        limit: i64,
        max_lock: i64,
        decay: i64,
    ) -> Result<Option<(i64, i64)>, StoreError> {
        let sql = format!(
            "INSERT INTO login_throttle (key, failures, locked_until, last, leak_from, known_until)
             VALUES ($1, 1, 0, $2, $2, 0)
             ON CONFLICT (key) DO UPDATE SET
                 failures = {e} + 1,
                 last = $2,
                 leak_from = CASE WHEN {e} = 0 THEN $2
                     ELSE login_throttle.leak_from
                          + (($2 - login_throttle.leak_from) / $5) * $5 END,
                 locked_until = CASE
                     WHEN {e} + 1 < $3 THEN login_throttle.locked_until
                     WHEN {e} + 1 - $3 >= 10 THEN $2 + $4
                     ELSE $2 + (1 << CAST({e} + 1 - $3 AS INTEGER))
                 END
             WHERE login_throttle.locked_until <= $2
             RETURNING failures, locked_until",
            e = EFFECTIVE
        );
        Ok(with_db!(&self.db, |w, _r, _pg| sqlx::query_as(&sql)
            .bind(key)
            .bind(now)
            .bind(limit)
            .bind(max_lock)
            .bind(decay.max(1))
            .fetch_optional(w)
            .await?))
    }

    /// Takes back one counted attempt whose password was right: one failure less, and the
    /// lock its count set (`locked_until`, as [`Store::throttle_count`] returned it) is
    /// lifted, unless a later attempt has locked the key since.
    pub async fn throttle_undo(&self, key: &str, locked_until: i64) -> Result<(), StoreError> {
        with_db!(&self.db, |w, _r, _pg| sqlx::query(
            "UPDATE login_throttle SET
                 failures = CASE WHEN failures > 0 THEN failures - 1 ELSE 0 END,
                 locked_until = CASE WHEN locked_until = $2 THEN 0 ELSE locked_until END
             WHERE key = $1",
        )
        .bind(key)
        .bind(locked_until)
        .execute(w)
        .await?
        .rows_affected());
        Ok(())
    }

    /// Forgets a key (a user name whose password was right).
    pub async fn throttle_reset(&self, key: &str) -> Result<(), StoreError> {
        with_db!(&self.db, |w, _r, _pg| sqlx::query(
            "DELETE FROM login_throttle WHERE key = $1"
        )
        .bind(key)
        .execute(w)
        .await?
        .rows_affected());
        Ok(())
    }

    /// Until when a source key is known for its user (0 when it never was).
    pub async fn throttle_known_until(&self, key: &str) -> Result<i64, StoreError> {
        let row: Option<(i64,)> = with_db!(&self.db, |_w, r, _pg| sqlx::query_as(
            "SELECT known_until FROM login_throttle WHERE key = $1"
        )
        .bind(key)
        .fetch_optional(r)
        .await?);
        Ok(row.map_or(0, |(until,)| until))
    }

    /// Marks a source key known for its user until `until` (its failures stay counted).
    pub async fn throttle_mark_known(&self, key: &str, until: i64) -> Result<(), StoreError> {
        with_db!(&self.db, |w, _r, _pg| sqlx::query(
            "INSERT INTO login_throttle (key, failures, locked_until, last, leak_from, known_until)
             VALUES ($1, 0, 0, 0, 0, $2)
             ON CONFLICT (key) DO UPDATE SET known_until = $2",
        )
        .bind(key)
        .bind(until)
        .execute(w)
        .await?
        .rows_affected());
        Ok(())
    }
}
