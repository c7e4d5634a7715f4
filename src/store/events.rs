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
