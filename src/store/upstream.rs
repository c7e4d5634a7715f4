//! Sign-ins waiting for an upstream OpenID Connect provider's callback
//! (`upstream_logins`): stored when the browser is sent upstream, taken once by the
//! callback.
use super::{Store, StoreError};

/// A waiting sign-in, as the callback takes it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UpstreamLogin {
    /// The provider it was sent to.
    pub provider: String,
    /// The sealed payload (opened with the browser's cookie).
    pub sealed: Vec<u8>,
    /// Expiry.
    pub expires_at: i64,
}

impl Store {
    /// Stores a sign-in sent upstream under the hash of its `state`.
    pub async fn create_upstream_login(
        &self,
        state_hash: &[u8],
        provider: &str,
        sealed: &[u8],
        expires_at: i64,
    ) -> Result<(), StoreError> {
        with_db!(&self.db, |w, _r, _pg| sqlx::query(
            "INSERT INTO upstream_logins (state_hash, provider, sealed, expires_at)
             VALUES ($1, $2, $3, $4)",
        )
        .bind(state_hash)
        .bind(provider)
        .bind(sealed)
        .bind(expires_at)
        .execute(w)
        .await
        .map_err(|e| StoreError::on_unique(e, "upstream state"))?
        .rows_affected());
        Ok(())
    }

    /// Removes and returns the unexpired sign-in with this `state` hash: only one caller
    /// ever gets it (the delete is the single use).
    pub async fn take_upstream_login(
        &self,
        state_hash: &[u8],
        now: i64,
    ) -> Result<Option<UpstreamLogin>, StoreError> {
        let row = with_db!(&self.db, |w, _r, _pg| sqlx::query_as::<_, UpstreamLogin>(
            "DELETE FROM upstream_logins WHERE state_hash = $1
             RETURNING provider, sealed, expires_at",
        )
        .bind(state_hash)
        .fetch_optional(w)
        .await?);
        Ok(row.filter(|r| r.expires_at > now))
    }
}
