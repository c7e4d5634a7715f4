//! Personal access tokens. Only the SHA-256 of a token is stored; no query here ever
//! returns it.
use super::{Store, StoreError};

/// How long a `pat` revocation event stays in the log. The row's `revoked_at` is the
/// truth; the event only has to reach every running process (which poll every few
/// seconds) so that they drop the PAT from their caches.
const PAT_EVENT_TTL: i64 = 86_400;

/// A personal access token as stored (never the token itself).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PatRow {
    /// Short random id (what the CLI, the account page and the API refer to).
    pub id: String,
    /// Owner.
    pub user_id: i64,
    /// Owner's user name.
    pub username: String,
    /// What the owner wrote about it.
    pub description: String,
    /// `data` or `management`.
    pub scope: String,
    /// Creation time.
    pub created_at: i64,
    /// Expiry; `None` = never.
    pub expires_at: Option<i64>,
    /// Last use as last written (at most once a minute).
    pub last_used_at: Option<i64>,
    /// When it was revoked.
    pub revoked_at: Option<i64>,
}

/// A new personal access token.
#[derive(Debug, Clone)]
pub struct NewPat<'a> {
    /// Its id.
    pub id: &'a str,
    /// SHA-256 of the token.
    pub token_hash: &'a [u8],
    /// Owner.
    pub user_id: i64,
    /// Description.
    pub description: &'a str,
    /// `data` or `management`.
    pub scope: &'a str,
    /// Creation time.
    pub created_at: i64,
    /// Expiry; `None` = never.
    pub expires_at: Option<i64>,
}

const PAT_COLUMNS: &str = "p.id, p.user_id, u.username, p.description, p.scope, p.created_at, \
     p.expires_at, p.last_used_at, p.revoked_at";

impl Store {
    /// Inserts a PAT.
    pub async fn create_pat(&self, new: &NewPat<'_>) -> Result<(), StoreError> {
        with_db!(&self.db, |w, _r, _pg| sqlx::query(
            "INSERT INTO personal_access_tokens
                 (id, token_hash, user_id, description, scope, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(new.id)
        .bind(new.token_hash)
        .bind(new.user_id)
        .bind(new.description)
        .bind(new.scope)
        .bind(new.created_at)
        .bind(new.expires_at)
        .execute(w)
        .await
        .map(|done| done.rows_affected()))
        .map_err(|e| StoreError::on_unique(e, "personal access token"))?;
        Ok(())
    }

    /// The PAT whose token hashes to `token_hash` (revoked and expired ones included).
    pub async fn pat_by_hash(&self, token_hash: &[u8]) -> Result<Option<PatRow>, StoreError> {
        let sql = format!(
            "SELECT {PAT_COLUMNS} FROM personal_access_tokens p JOIN users u ON u.id = p.user_id
             WHERE p.token_hash = $1"
        );
        Ok(with_db!(&self.db, |_w, r, _pg| {
            sqlx::query_as::<_, PatRow>(&sql)
                .bind(token_hash)
                .fetch_optional(r)
                .await?
        }))
    }

    /// The PAT with this id (revoked and expired ones included).
    pub async fn pat_by_id(&self, id: &str) -> Result<Option<PatRow>, StoreError> {
        let sql = format!(
            "SELECT {PAT_COLUMNS} FROM personal_access_tokens p JOIN users u ON u.id = p.user_id
             WHERE p.id = $1"
        );
        Ok(with_db!(&self.db, |_w, r, _pg| {
            sqlx::query_as::<_, PatRow>(&sql)
                .bind(id)
                .fetch_optional(r)
                .await?
        }))
    }

    /// PATs of one user (or of everyone), by owner then creation time.
    pub async fn list_pats(&self, user_id: Option<i64>) -> Result<Vec<PatRow>, StoreError> {
        let sql = format!(
            "SELECT {PAT_COLUMNS} FROM personal_access_tokens p JOIN users u ON u.id = p.user_id
             WHERE $1 IS NULL OR p.user_id = $1
             ORDER BY u.username, p.created_at, p.id"
        );
        Ok(with_db!(&self.db, |_w, r, _pg| {
            sqlx::query_as::<_, PatRow>(&sql)
                .bind(user_id)
                .fetch_all(r)
                .await?
        }))
    }

    /// Revokes a PAT (of `owner` only, when given) and tells every process. Returns the
    /// row, or `None` when there is no such PAT (of that owner). Revoking twice is
    /// harmless: the first revocation time stays.
    pub async fn revoke_pat(
        &self,
        id: &str,
        owner: Option<i64>,
        now: i64,
    ) -> Result<Option<PatRow>, StoreError> {
        with_db!(&self.db, |w, _r, pg| {
            let mut tx = w.begin().await?;
            lock_event_log!(tx, pg);
            let done = sqlx::query(
                "UPDATE personal_access_tokens SET revoked_at = $1
                 WHERE id = $2 AND ($3 IS NULL OR user_id = $3) AND revoked_at IS NULL",
            )
            .bind(now)
            .bind(id)
            .bind(owner)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() > 0 {
                sqlx::query(
                    "INSERT INTO revocation_events (kind, subject, at, expires_at)
                     VALUES ('pat', $1, $2, $3)",
                )
                .bind(id)
                .bind(now)
                .bind(now.saturating_add(PAT_EVENT_TTL))
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        });
        let row = self.pat_by_id(id).await?;
        Ok(row.filter(|r| owner.is_none_or(|o| o == r.user_id)))
    }

    /// Revokes every live PAT of a user (when the user is disabled) and tells every
    /// process; returns how many were revoked.
    pub async fn revoke_user_pats(&self, user_id: i64, now: i64) -> Result<u64, StoreError> {
        with_db!(&self.db, |w, _r, pg| {
            let mut tx = w.begin().await?;
            lock_event_log!(tx, pg);
            sqlx::query(
                "INSERT INTO revocation_events (kind, subject, at, expires_at)
                 SELECT 'pat', id, $1, $2 FROM personal_access_tokens
                 WHERE user_id = $3 AND revoked_at IS NULL",
            )
            .bind(now)
            .bind(now.saturating_add(PAT_EVENT_TTL))
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
            let done = sqlx::query(
                "UPDATE personal_access_tokens SET revoked_at = $1
                 WHERE user_id = $2 AND revoked_at IS NULL",
            )
            .bind(now)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(done.rows_affected())
        })
    }

    /// Writes last-use times (id, time); a time never moves back. One statement per 500
    /// PATs (no transaction held open across awaits, so a busy runtime cannot keep the
    /// database locked for other processes).
    pub async fn record_pat_use(&self, uses: &[(String, i64)]) -> Result<(), StoreError> {
        for chunk in uses.chunks(500) {
            let json = serde_json::to_string(chunk)
                .map_err(|e| StoreError::Db(sqlx::Error::Protocol(e.to_string())))?;
            with_db!(&self.db, |w, _r, pg| sqlx::query(if pg {
                "UPDATE personal_access_tokens AS p SET last_used_at = u.at
                 FROM (SELECT e ->> 0 AS id, CAST(e ->> 1 AS BIGINT) AS at
                       FROM json_array_elements(CAST($1 AS json)) AS e) AS u
                 WHERE p.id = u.id AND (p.last_used_at IS NULL OR p.last_used_at < u.at)"
            } else {
                "UPDATE personal_access_tokens AS p SET last_used_at = u.at
                 FROM (SELECT value ->> 0 AS id, value ->> 1 AS at FROM json_each($1)) AS u
                 WHERE p.id = u.id AND (p.last_used_at IS NULL OR p.last_used_at < u.at)"
            })
            .bind(json)
            .execute(w)
            .await?
            .rows_affected());
        }
        Ok(())
    }
}
