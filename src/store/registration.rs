//! Dynamic client registration (RFC 7591/7592): initial access tokens and the clients'
//! registration access tokens, only as SHA-256 hashes.
use super::{Store, StoreError};

/// An initial access token as stored (never the token).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RegistrationTokenRow {
    /// Its ID (shown by `list`, used by `revoke`).
    pub id: String,
    /// What the administrator noted.
    pub description: String,
    /// Creation time.
    pub created_at: i64,
    /// Expiry (none: never).
    pub expires_at: Option<i64>,
    /// Registrations left (none: unlimited).
    pub uses_left: Option<i64>,
}

impl Store {
    /// Stores a new initial access token.
    pub async fn create_registration_token(
        &self,
        row: &RegistrationTokenRow,
        token_hash: &[u8],
    ) -> Result<(), StoreError> {
        with_db!(&self.db, |w, _r, _pg| sqlx::query(
            "INSERT INTO registration_tokens
               (id, token_hash, description, created_at, expires_at, uses_left)
             VALUES ($1, $2, $3, $4, $5, $6)"
        )
        .bind(&row.id)
        .bind(token_hash)
        .bind(&row.description)
        .bind(row.created_at)
        .bind(row.expires_at)
        .bind(row.uses_left)
        .execute(w)
        .await?
        .rows_affected());
        Ok(())
    }

    /// Every initial access token, oldest first.
    pub async fn list_registration_tokens(&self) -> Result<Vec<RegistrationTokenRow>, StoreError> {
        Ok(with_db!(&self.db, |_w, r, _pg| sqlx::query_as::<
            _,
            RegistrationTokenRow,
        >(
            "SELECT id, description, created_at, expires_at, uses_left
             FROM registration_tokens ORDER BY created_at, id"
        )
        .fetch_all(r)
        .await?))
    }

    /// Deletes an initial access token; `false` if there was none.
    pub async fn revoke_registration_token(&self, id: &str) -> Result<bool, StoreError> {
        let n = with_db!(&self.db, |w, _r, _pg| sqlx::query(
            "DELETE FROM registration_tokens WHERE id = $1"
        )
        .bind(id)
        .execute(w)
        .await?
        .rows_affected());
        Ok(n > 0)
    }

    /// Whether an initial access token with this hash is usable at `now`.
    pub async fn registration_token_usable(
        &self,
        token_hash: &[u8],
        now: i64,
    ) -> Result<bool, StoreError> {
        let row: Option<(String,)> = with_db!(&self.db, |_w, r, _pg| sqlx::query_as(
            "SELECT id FROM registration_tokens WHERE token_hash = $1
               AND (expires_at IS NULL OR expires_at > $2)
               AND (uses_left IS NULL OR uses_left > 0)"
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(r)
        .await?);
        Ok(row.is_some())
    }

    /// Spends one use of an initial access token, atomically (two registrations racing
    /// for the last use cannot both win); `false` if it is unknown, expired or used up.
    pub async fn use_registration_token(
        &self,
        token_hash: &[u8],
        now: i64,
    ) -> Result<bool, StoreError> {
        let row: Option<(String,)> = with_db!(&self.db, |w, _r, _pg| sqlx::query_as(
            "UPDATE registration_tokens
             SET uses_left = CASE WHEN uses_left IS NULL THEN NULL ELSE uses_left - 1 END
             WHERE token_hash = $1
               AND (expires_at IS NULL OR expires_at > $2)
               AND (uses_left IS NULL OR uses_left > 0)
             RETURNING id"
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(w)
        .await?);
        Ok(row.is_some())
    }

    /// Sets the hash of a client's registration access token (RFC 7592).
    pub async fn set_client_registration_token(
        &self,
        client_id: &str,
        token_hash: &[u8],
    ) -> Result<(), StoreError> {
        with_db!(&self.db, |w, _r, _pg| sqlx::query(
            "UPDATE oauth_clients SET registration_token_hash = $2 WHERE client_id = $1"
        )
        .bind(client_id)
        .bind(token_hash)
        .execute(w)
        .await?
        .rows_affected());
        Ok(())
    }

    /// The hash of a client's registration access token, if it has one.
    pub async fn client_registration_token(
        &self,
        client_id: &str,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        if client_id.contains('\0') {
            return Ok(None);
        }
        let row: Option<(Option<Vec<u8>>,)> = with_db!(&self.db, |_w, r, _pg| sqlx::query_as(
            "SELECT registration_token_hash FROM oauth_clients WHERE client_id = $1"
        )
        .bind(client_id)
        .fetch_optional(r)
        .await?);
        Ok(row.and_then(|(h,)| h))
    }
}
