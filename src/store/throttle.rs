//! Counters of failed password checks, shared by every process on the database.
use super::{Store, StoreError};

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
    /// From the `limit`th failure on the key locks for 1, 2, 4, … seconds (at most
    /// `max_lock`). Returns (failures, locked_until). One statement: concurrent attempts
    /// on any number of processes are serialised by the row's lock.
    pub async fn throttle_count(
        &self,
        key: &str,
        now: i64,
        limit: i64,
        max_lock: i64,
    ) -> Result<Option<(i64, i64)>, StoreError> {
        Ok(with_db!(&self.db, |w, _r, _pg| sqlx::query_as(
            "INSERT INTO login_throttle (key, failures, locked_until, last) VALUES ($1, 1, 0, $2)
             ON CONFLICT (key) DO UPDATE SET
                 failures = login_throttle.failures + 1,
                 last = $2,
                 locked_until = CASE
                     WHEN login_throttle.failures + 1 < $3 THEN login_throttle.locked_until
                     WHEN login_throttle.failures + 1 - $3 >= 10 THEN $2 + $4
                     ELSE $2 + (1 << CAST(login_throttle.failures + 1 - $3 AS INTEGER))
                 END
             WHERE login_throttle.locked_until <= $2
             RETURNING failures, locked_until",
        )
        .bind(key)
        .bind(now)
        .bind(limit)
        .bind(max_lock)
        .fetch_optional(w)
        .await?))
    }

    /// Takes back one counted attempt (its password was right); the key unlocks once it is
    /// under `limit` again.
    pub async fn throttle_undo(&self, key: &str, limit: i64) -> Result<(), StoreError> {
        with_db!(&self.db, |w, _r, _pg| sqlx::query(
            "UPDATE login_throttle SET
                 failures = CASE WHEN failures > 0 THEN failures - 1 ELSE 0 END,
                 locked_until = CASE WHEN failures - 1 < $2 THEN 0 ELSE locked_until END
             WHERE key = $1",
        )
        .bind(key)
        .bind(limit)
        .execute(w)
        .await?
        .rows_affected());
        Ok(())
    }

    /// Forgets a key (a user who got their password right).
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
}
