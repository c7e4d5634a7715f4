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
    /// Deletes up to `batch` expired rows from each table; returns how many went, how long
    /// the slowest statement held the writing connection (on SQLite, the longest a request's
    /// write waited behind it) and
    /// the table it deleted from.
    /// Spent refresh tokens stay until they expire (reuse detection needs them). Families
    /// go in [`Store::purge_families_window`].
    pub async fn purge_expired_batch(
        &self,
        now: i64,
        batch: i64,
    ) -> Result<(u64, std::time::Duration, &'static str), StoreError> {
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
            "DELETE FROM client_secrets WHERE expires_at < $1 AND id IN
               (SELECT id FROM client_secrets WHERE expires_at < $1 LIMIT $2)",
            "DELETE FROM registration_tokens WHERE expires_at < $1 AND id IN
               (SELECT id FROM registration_tokens WHERE expires_at < $1 LIMIT $2)",
            "DELETE FROM upstream_logins WHERE state_hash IN
               (SELECT state_hash FROM upstream_logins WHERE expires_at < $1 LIMIT $2)",
            "DELETE FROM saml_logins WHERE key_hash IN
               (SELECT key_hash FROM saml_logins WHERE expires_at < $1 LIMIT $2)",
            "DELETE FROM saml_assertions WHERE id_hash IN
               (SELECT id_hash FROM saml_assertions WHERE expires_at < $1 LIMIT $2)",
            "DELETE FROM revocation_events WHERE seq IN
               (SELECT seq FROM revocation_events WHERE expires_at < $1 LIMIT $2)",
        ];
        let mut total = 0;
        let mut slowest = (std::time::Duration::ZERO, "");
        for sql in statements {
            // timed from when the statement has the writing connection: the wait for it
            // (behind the requests' own writes) holds up nobody
            let (rows, took) = with_db!(&self.db, |w, _r, _pg| {
                let mut conn = w.acquire().await?;
                let started = std::time::Instant::now();
                let rows = sqlx::query(sql)
                    .bind(now)
                    .bind(batch)
                    .execute(&mut *conn)
                    .await?
                    .rows_affected();
                (rows, started.elapsed())
            });
            total += rows;
            if took > slowest.0 {
                // "DELETE FROM <table> WHERE …"
                slowest = (took, sql.split_whitespace().nth(2).unwrap_or(""));
            }
        }
        Ok((total, slowest.0, slowest.1))
    }

    /// Deletes the purgeable refresh families among the next `window` families in id order
    /// after `after` ("" to start): those older than the longest access-token life with no
    /// refresh token and no authorization code left. Returns how many went, the last id
    /// looked at (`None` at the end of the table) and how long the delete held the writing
    /// connection. A window is a bounded index walk, so a
    /// table of millions of live families never holds the write lock for long, which one
    /// statement over the whole table did.
    pub async fn purge_families_window(
        &self,
        now: i64,
        after: &str,
        window: i64,
    ) -> Result<(u64, Option<String>, std::time::Duration), StoreError> {
        let last: Option<String> = with_db!(&self.db, |_w, r, _pg| {
            sqlx::query_scalar(
            "SELECT MAX(id) FROM (SELECT id FROM refresh_families WHERE id > $1 ORDER BY id LIMIT $2) AS w"
        )
        .bind(after)
        .bind(window)
        .fetch_one(r)
        .await?
        });
        let Some(last) = last else {
            return Ok((0, None, std::time::Duration::ZERO));
        };
        let (deleted, took) = with_db!(&self.db, |w, _r, _pg| {
            let mut conn = w.acquire().await?;
            let started = std::time::Instant::now();
            let deleted = sqlx::query(
            "DELETE FROM refresh_families AS f WHERE f.id > $1 AND f.id <= $2 AND f.created_at < $3 - $4
               AND NOT EXISTS (SELECT 1 FROM refresh_tokens r WHERE r.family_id = f.id)
               AND NOT EXISTS (SELECT 1 FROM authorization_codes c WHERE c.family_id = f.id)"
        )
        .bind(after)
        .bind(&last)
        .bind(now)
        .bind(self.family_event_ttl)
        .execute(&mut *conn)
        .await?
        .rows_affected();
            (deleted, started.elapsed())
        });
        Ok((deleted, Some(last), took))
    }
}
