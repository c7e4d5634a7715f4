use super::{Store, StoreError};

/// A signing key as stored (private key in PKCS#8 DER).
#[derive(Clone, sqlx::FromRow)]
pub struct StoredKey {
    /// RFC 7638 thumbprint (or configured kid).
    pub kid: String,
    /// JWS algorithm name.
    pub alg: String,
    /// PKCS#8 DER of the private key.
    pub private_pkcs8: Vec<u8>,
    /// Whether this key signs new tokens.
    pub active: bool,
    /// Creation time.
    pub created_at: i64,
    /// When it stopped signing.
    pub retired_at: Option<i64>,
}

impl std::fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("active", &self.active)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Every signing key, newest first.
    pub async fn signing_keys(&self) -> Result<Vec<StoredKey>, StoreError> {
        Ok(with_db!(&self.db, |_w, r, _pg| sqlx::query_as::<
            _,
            StoredKey,
        >(
            "SELECT kid, alg, private_pkcs8, active, created_at, retired_at
             FROM signing_keys ORDER BY created_at DESC, kid",
        )
        .fetch_all(r)
        .await?))
    }

    /// Whether an active key for `alg` exists.
    pub async fn has_active_key(&self, alg: &str) -> Result<bool, StoreError> {
        let row: Option<(String,)> = with_db!(&self.db, |_w, r, _pg| sqlx::query_as(
            "SELECT kid FROM signing_keys WHERE alg = $1 AND active = TRUE"
        )
        .bind(alg)
        .fetch_optional(r)
        .await?);
        Ok(row.is_some())
    }

    /// Inserts `key` as the active key for its algorithm unless one exists already
    /// (instances racing on first start: the first insert wins, the others adopt it).
    pub async fn insert_key_if_no_active(&self, key: &StoredKey) -> Result<bool, StoreError> {
        let done = with_db!(&self.db, |w, _r, _pg| sqlx::query(
            "INSERT INTO signing_keys (kid, alg, private_pkcs8, active, created_at)
             VALUES ($1, $2, $3, TRUE, $4) ON CONFLICT DO NOTHING",
        )
        .bind(&key.kid)
        .bind(&key.alg)
        .bind(&key.private_pkcs8)
        .bind(key.created_at)
        .execute(w)
        .await?
        .rows_affected());
        Ok(done == 1)
    }

    /// Retires the active key of `key.alg` and makes `key` the active one, atomically.
    pub async fn rotate_key(&self, key: &StoredKey, now: i64) -> Result<(), StoreError> {
        with_db!(&self.db, |w, _r, pg| {
            let mut tx = w.begin().await?;
            sqlx::query(
                "UPDATE signing_keys SET active = FALSE, retired_at = $1
                 WHERE alg = $2 AND active = TRUE",
            )
            .bind(now)
            .bind(&key.alg)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO signing_keys (kid, alg, private_pkcs8, active, created_at)
                 VALUES ($1, $2, $3, TRUE, $4)",
            )
            .bind(&key.kid)
            .bind(&key.alg)
            .bind(&key.private_pkcs8)
            .bind(key.created_at)
            .execute(&mut *tx)
            .await
            .map_err(|e| StoreError::on_unique(e, &format!("key {}", key.kid)))?;
            if pg {
                sqlx::query("SELECT pg_notify('authserver_changes', 'keys')")
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }
}
