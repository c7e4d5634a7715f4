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
        sqlx::query(
            "INSERT INTO revocation_events (kind, subject, at, expires_at) VALUES (?, ?, ?, ?)",
        )
        .bind(kind)
        .bind(subject)
        .bind(at)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Events after `seq` that still matter at `now`, oldest first (at most `limit`).
    pub async fn events_after(
        &self,
        seq: i64,
        now: i64,
        limit: i64,
    ) -> Result<Vec<RevocationEvent>, StoreError> {
        Ok(sqlx::query_as::<_, RevocationEvent>(
            "SELECT seq, kind, subject, at, expires_at FROM revocation_events
             WHERE seq > ? AND expires_at > ? ORDER BY seq LIMIT ?",
        )
        .bind(seq)
        .bind(now)
        .bind(limit)
        .fetch_all(&self.reader)
        .await?)
    }

    /// The highest seq in the log (0 when empty).
    pub async fn last_event_seq(&self) -> Result<i64, StoreError> {
        let row: (Option<i64>,) = sqlx::query_as("SELECT MAX(seq) FROM revocation_events")
            .fetch_one(&self.reader)
            .await?;
        Ok(row.0.unwrap_or(0))
    }
}

impl Store {
    /// Deletes up to `batch` expired rows from each table; returns how many went.
    /// Spent refresh tokens stay until they expire (reuse detection needs them); a family
    /// goes once it has no tokens left and its access tokens have expired.
    pub async fn purge_expired_batch(&self, now: i64, batch: i64) -> Result<u64, StoreError> {
        let statements = [
            "DELETE FROM authorization_codes WHERE rowid IN
               (SELECT rowid FROM authorization_codes WHERE expires_at < ?1 - 3600 LIMIT ?2)",
            "DELETE FROM authorization_requests WHERE rowid IN
               (SELECT rowid FROM authorization_requests WHERE expires_at < ?1 LIMIT ?2)",
            "DELETE FROM refresh_tokens WHERE rowid IN
               (SELECT rowid FROM refresh_tokens WHERE expires_at < ?1 LIMIT ?2)",
            "DELETE FROM sso_sessions WHERE rowid IN
               (SELECT rowid FROM sso_sessions WHERE expires_at < ?1 OR ended_at < ?1 - 86400 LIMIT ?2)",
            "DELETE FROM revocation_events WHERE seq IN
               (SELECT seq FROM revocation_events WHERE expires_at < ?1 LIMIT ?2)",
            "DELETE FROM refresh_families WHERE id IN
               (SELECT f.id FROM refresh_families f WHERE f.created_at < ?1 - ?3
                  AND NOT EXISTS (SELECT 1 FROM refresh_tokens r WHERE r.family_id = f.id)
                  AND NOT EXISTS (SELECT 1 FROM authorization_codes c WHERE c.family_id = f.id)
                LIMIT ?2)",
        ];
        let mut total = 0;
        for sql in statements {
            total += sqlx::query(sql)
                .bind(now)
                .bind(batch)
                .bind(self.family_event_ttl)
                .execute(&self.pool)
                .await?
                .rows_affected();
        }
        Ok(total)
    }
}
