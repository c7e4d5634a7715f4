//! Sign-in state: SSO sessions, authorization codes.
use super::code_batch::CodeGrant;
use super::{Store, StoreError};

/// An SSO session row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SsoSession {
    /// Owner.
    pub user_id: i64,
    /// When the user last entered their password.
    pub auth_time: i64,
    /// "Stay signed in" was ticked.
    pub persistent: bool,
    /// Expiry.
    pub expires_at: i64,
}

/// A new authorization code.
#[derive(Debug, Clone)]
pub struct NewCode<'a> {
    /// SHA-256 of the code.
    pub code_hash: &'a [u8],
    /// Bindings.
    pub grant: &'a CodeGrant,
    /// Creation time.
    pub now: i64,
}

/// Result of trying to consume a code.
#[derive(Debug)]
pub enum CodeUse {
    /// First use: here are its bindings.
    Fresh(CodeGrant),
    /// Already used: the family it started (if any) has just been revoked.
    Replayed,
    /// Expired or unknown.
    Invalid,
}

impl Store {
    /// Starts an SSO session.
    pub async fn create_session(
        &self,
        id_hash: &[u8],
        user_id: i64,
        persistent: bool,
        now: i64,
        ttl: i64,
    ) -> Result<(), StoreError> {
        with_db!(&self.db, |w, _r, _pg| sqlx::query(
            "INSERT INTO sso_sessions (id_hash, user_id, auth_time, generation, persistent,
                 created_at, expires_at)
             VALUES ($1, $2, $3, (SELECT generation FROM users WHERE id = $2), $4, $3, $5)",
        )
        .bind(id_hash)
        .bind(user_id)
        .bind(now)
        .bind(persistent)
        .bind(now.saturating_add(ttl))
        .execute(w)
        .await?
        .rows_affected());
        Ok(())
    }

    /// A live SSO session (not ended, not expired, user enabled, not older than the
    /// user's last password change).
    pub async fn live_session(
        &self,
        id_hash: &[u8],
        now: i64,
    ) -> Result<Option<SsoSession>, StoreError> {
        Ok(with_db!(&self.db, |_w, r, _pg| sqlx::query_as::<
            _,
            SsoSession,
        >(
            "SELECT s.user_id, s.auth_time, s.persistent, s.expires_at
             FROM sso_sessions s JOIN users u ON u.id = s.user_id
             WHERE s.id_hash = $1 AND s.ended_at IS NULL AND s.expires_at > $2
               AND u.disabled = FALSE AND s.generation = u.generation",
        )
        .bind(id_hash)
        .bind(now)
        .fetch_optional(r)
        .await?))
    }

    /// Ends an SSO session.
    pub async fn end_session(&self, id_hash: &[u8], now: i64) -> Result<bool, StoreError> {
        let done = with_db!(&self.db, |w, _r, _pg| sqlx::query(
            "UPDATE sso_sessions SET ended_at = $1 WHERE id_hash = $2 AND ended_at IS NULL",
        )
        .bind(now)
        .bind(id_hash)
        .execute(w)
        .await?
        .rows_affected());
        Ok(done > 0)
    }

    /// Stores a new authorization code.
    pub async fn create_code(&self, code: NewCode<'_>) -> Result<(), StoreError> {
        let g = code.grant;
        with_db!(&self.db, |w, _r, _pg| sqlx::query(
            "INSERT INTO authorization_codes (code_hash, client_id, redirect_uri, user_id, scope,
                 nonce, code_challenge, auth_time, generation, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(code.code_hash)
        .bind(&g.client_id)
        .bind(&g.redirect_uri)
        .bind(g.user_id)
        .bind(&g.scope)
        .bind(&g.nonce)
        .bind(&g.code_challenge)
        .bind(g.auth_time)
        .bind(g.generation)
        .bind(code.now)
        .bind(g.expires_at)
        .execute(w)
        .await?
        .rows_affected());
        Ok(())
    }

    /// Consumes a code atomically: of two concurrent calls exactly one gets
    /// [`CodeUse::Fresh`]. A replay revokes the family the first exchange started.
    pub async fn consume_code(&self, code_hash: &[u8], now: i64) -> Result<CodeUse, StoreError> {
        // fast path: spent group-committed with the other codes waiting (see `code_batch`)
        let mut batched = None;
        if let Some(codes) = &self.codes {
            let (reply, answer) = tokio::sync::oneshot::channel();
            let request = super::code_batch::ConsumeRequest {
                code_hash: code_hash.to_vec(),
                now,
                reply,
            };
            if codes.send(request).await.is_ok() {
                match answer.await {
                    Ok(Ok(grant)) => batched = Some(grant),
                    // the batch spent nothing: spend this code on its own
                    Ok(Err(StoreError::BatchFailed)) | Err(_) => {}
                    Ok(Err(e)) => return Err(e),
                }
            }
        }
        let fresh = match batched {
            Some(grant) => grant,
            // a conditional UPDATE: SQLite's single writer, or PostgreSQL's row lock (a
            // concurrent second UPDATE waits, re-reads the row and finds it consumed)
            None => with_db!(&self.db, |w, _r, _pg| sqlx::query_as::<_, CodeGrant>(
                "UPDATE authorization_codes SET consumed_at = $1
                 WHERE code_hash = $2 AND consumed_at IS NULL AND expires_at > $1
                 RETURNING client_id, redirect_uri, user_id, scope, nonce, code_challenge,
                     auth_time, generation, expires_at",
            )
            .bind(now)
            .bind(code_hash)
            .fetch_optional(w)
            .await?),
        };
        if let Some(grant) = fresh {
            return Ok(CodeUse::Fresh(grant));
        }
        // mark the replay first: an exchange still creating its family sees the mark and
        // creates the family revoked (see `create_family`)
        let used: Option<(Option<String>,)> = with_db!(&self.db, |w, _r, _pg| sqlx::query_as(
            "UPDATE authorization_codes SET replayed_at = $1
             WHERE code_hash = $2 AND consumed_at IS NOT NULL RETURNING family_id",
        )
        .bind(now)
        .bind(code_hash)
        .fetch_optional(w)
        .await?);
        match used {
            Some((family,)) => {
                if let Some(family) = family {
                    self.revoke_family(&family, now).await?;
                }
                Ok(CodeUse::Replayed)
            }
            None => Ok(CodeUse::Invalid),
        }
    }
}
