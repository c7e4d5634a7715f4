//! SAML sign-ins in progress (`saml_logins`) and the assertion IDs already accepted
//! (`saml_assertions`).
use super::{Store, StoreError};

/// A sign-in sent to the identity provider, as the assertion consumer takes it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SamlLogin {
    /// The AuthnRequest ID.
    pub request_id: String,
    /// The sealed pending request (opened with the browser's cookie).
    pub sealed: Vec<u8>,
    /// The verified user, once the assertion consumer has checked the response.
    pub user_id: Option<i64>,
    /// Expiry.
    pub expires_at: i64,
}

impl Store {
    /// Stores a sign-in under the hash of its key (the RelayState, or later the handle).
    pub async fn create_saml_login(
        &self,
        key_hash: &[u8],
        login: &SamlLogin,
    ) -> Result<(), StoreError> {
        with_db!(&self.db, |w, _r, _pg| sqlx::query(
            "INSERT INTO saml_logins (key_hash, request_id, sealed, user_id, expires_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(key_hash)
        .bind(&login.request_id)
        .bind(&login.sealed)
        .bind(login.user_id)
        .bind(login.expires_at)
        .execute(w)
        .await
        .map_err(|e| StoreError::on_unique(e, "SAML sign-in key"))?
        .rows_affected());
        Ok(())
    }

    /// Removes and returns the unexpired sign-in under this key hash: only one caller ever
    /// gets it (the delete is the single use).
    pub async fn take_saml_login(
        &self,
        key_hash: &[u8],
        now: i64,
    ) -> Result<Option<SamlLogin>, StoreError> {
        let row = with_db!(&self.db, |w, _r, _pg| sqlx::query_as::<_, SamlLogin>(
            "DELETE FROM saml_logins WHERE key_hash = $1
             RETURNING request_id, sealed, user_id, expires_at",
        )
        .bind(key_hash)
        .fetch_optional(w)
        .await?);
        Ok(row.filter(|r| r.expires_at > now))
    }

    /// Records an accepted assertion until `expires_at`; `false` if it was accepted before
    /// (a replay).
    pub async fn first_use_of_assertion(
        &self,
        id_hash: &[u8],
        expires_at: i64,
    ) -> Result<bool, StoreError> {
        let inserted = with_db!(&self.db, |w, _r, _pg| sqlx::query(
            "INSERT INTO saml_assertions (id_hash, expires_at) VALUES ($1, $2)
             ON CONFLICT (id_hash) DO NOTHING",
        )
        .bind(id_hash)
        .bind(expires_at)
        .execute(w)
        .await?
        .rows_affected());
        Ok(inserted == 1)
    }
}
