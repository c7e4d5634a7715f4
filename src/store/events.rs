//! The revocation event log that keeps every process's caches in step.
use super::{Store, StoreError};

/// One change caches must apply.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RevocationEvent {
    /// Position in the log.
    pub seq: i64,
    /// `family`, `jti`, `user` or `pat`.
    pub kind: String,
    /// What it is about.
    pub subject: String,
    /// When it happened.
    pub at: i64,
    /// When it stops mattering.
    pub expires_at: i64,
}

impl Store {
    /// Appends an event.
    pub async fn add_event(
        &self,
        kind: &str,
        subject: &str,
        at: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        with_db!(&self.db, |w, _r, pg| {
            let mut tx = w.begin().await?;
            lock_event_log!(tx, pg);
            sqlx::query(
                "INSERT INTO revocation_events (kind, subject, at, expires_at)
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(kind)
            .bind(subject)
            .bind(at)
            .bind(expires_at)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Events after `seq` that still matter at `now`, oldest first (at most `limit`).
    pub async fn events_after(
        &self,
        seq: i64,
        now: i64,
        limit: i64,
    ) -> Result<Vec<RevocationEvent>, StoreError> {
        Ok(with_db!(&self.db, |_w, r, _pg| sqlx::query_as::<
            _,
            RevocationEvent,
        >(
            "SELECT seq, kind, subject, at, expires_at FROM revocation_events
             WHERE seq > $1 AND expires_at > $2 ORDER BY seq LIMIT $3",
        )
        .bind(seq)
        .bind(now)
        .bind(limit)
        .fetch_all(r)
        .await?))
    }

    /// The highest seq in the log (0 when empty).
    pub async fn last_event_seq(&self) -> Result<i64, StoreError> {
        let row: (Option<i64>,) = with_db!(&self.db, |_w, r, _pg| sqlx::query_as(
            "SELECT MAX(seq) FROM revocation_events"
        )
        .fetch_one(r)
        .await?);
        Ok(row.0.unwrap_or(0))
    }
}

impl Store {
    /// Deletes up to `batch` expired rows from each table; returns how many went.
    /// Spent refresh tokens stay until they expire (reuse detection needs them); a family
    /// goes once it has no tokens left and its access tokens have expired.
    pub async fn purge_expired_batch(&self, now: i64, batch: i64) -> Result<u64, StoreError> {
        // by primary key, in batches of `batch` rows: each statement is short, so writers
        // never wait long behind housekeeping
        let statements = [
            "DELETE FROM authorization_codes WHERE code_hash IN
               (SELECT code_hash FROM authorization_codes WHERE expires_at < $1 - 3600 LIMIT $2)",
            "DELETE FROM device_requests WHERE device_code_hash IN
               (SELECT device_code_hash FROM device_requests WHERE expires_at < $1 - 3600 LIMIT $2)",
            "DELETE FROM refresh_tokens WHERE token_hash IN
               (SELECT token_hash FROM refresh_tokens WHERE expires_at < $1 LIMIT $2)",
            "DELETE FROM sso_sessions WHERE id_hash IN
               (SELECT id_hash FROM sso_sessions
                WHERE expires_at < $1 OR ended_at < $1 - 86400 LIMIT $2)",
            "DELETE FROM login_throttle WHERE key IN
               (SELECT key FROM login_throttle
                WHERE last < $1 - 86400 AND locked_until < $1 AND known_until < $1 LIMIT $2)",
            "DELETE FROM client_assertion_jtis WHERE expires_at < $1 AND jti IN
               (SELECT jti FROM client_assertion_jtis WHERE expires_at < $1 LIMIT $2)",
            "DELETE FROM upstream_logins WHERE state_hash IN
               (SELECT state_hash FROM upstream_logins WHERE expires_at < $1 LIMIT $2)",
            "DELETE FROM revocation_events WHERE seq IN
               (SELECT seq FROM revocation_events WHERE expires_at < $1 LIMIT $2)",
            "DELETE FROM refresh_families WHERE id IN
               (SELECT f.id FROM refresh_families f WHERE f.created_at < $1 - $3
                  AND NOT EXISTS (SELECT 1 FROM refresh_tokens r WHERE r.family_id = f.id)
                  AND NOT EXISTS (SELECT 1 FROM authorization_codes c WHERE c.family_id = f.id)
                LIMIT $2)",
        ];
        let mut total = 0;
        for sql in statements {
            total += with_db!(&self.db, |w, _r, _pg| sqlx::query(sql)
                .bind(now)
                .bind(batch)
                .bind(self.family_event_ttl)
                .execute(w)
                .await?
                .rows_affected());
        }
        Ok(total)
    }
}
