//! Registered OAuth clients and their secrets (only SHA-256 hashes of secrets are stored;
//! no query here returns more than the hash).
use super::{Store, StoreError};

/// A registered client as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClientRow {
    /// Client ID.
    pub client_id: String,
    /// Display name.
    pub name: String,
    /// Validated metadata (JSON).
    pub metadata: String,
    /// Registered through RFC 7591.
    pub dynamic: bool,
    /// Creation time.
    pub created_at: i64,
    /// Last change.
    pub updated_at: i64,
}

const COLUMNS: &str = "client_id, name, metadata, dynamic, created_at, updated_at";

impl Store {
    /// Inserts a client (`Conflict` if the ID is taken).
    pub async fn create_client(
        &self,
        client_id: &str,
        name: &str,
        metadata: &str,
        dynamic: bool,
        now: i64,
    ) -> Result<(), StoreError> {
        with_db!(&self.db, |w, _r, _pg| sqlx::query(
            "INSERT INTO oauth_clients (client_id, name, metadata, dynamic, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $5)"
        )
        .bind(client_id)
        .bind(name)
        .bind(metadata)
        .bind(dynamic)
        .bind(now)
        .execute(w)
        .await
        .map_err(|e| StoreError::on_unique(e, "client"))?
        .rows_affected());
        Ok(())
    }

    /// One client.
    pub async fn client_by_id(&self, client_id: &str) -> Result<Option<ClientRow>, StoreError> {
        // PostgreSQL refuses text with NUL (an error, not "no row"); no client ID holds one
        if client_id.contains('\0') {
            return Ok(None);
        }
        let sql = format!("SELECT {COLUMNS} FROM oauth_clients WHERE client_id = $1");
        Ok(with_db!(&self.db, |_w, r, _pg| sqlx::query_as::<
            _,
            ClientRow,
        >(&sql)
        .bind(client_id)
        .fetch_optional(r)
        .await?))
    }

    /// Every client, by ID.
    pub async fn list_clients(&self) -> Result<Vec<ClientRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM oauth_clients ORDER BY client_id");
        Ok(with_db!(&self.db, |_w, r, _pg| sqlx::query_as::<
            _,
            ClientRow,
        >(&sql)
        .fetch_all(r)
        .await?))
    }

    /// Replaces a client's metadata; `false` if it does not exist.
    pub async fn update_client(
        &self,
        client_id: &str,
        name: &str,
        metadata: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let changed = with_db!(&self.db, |w, _r, _pg| sqlx::query(
            "UPDATE oauth_clients SET name = $2, metadata = $3, updated_at = $4
             WHERE client_id = $1"
        )
        .bind(client_id)
        .bind(name)
        .bind(metadata)
        .bind(now)
        .execute(w)
        .await?
        .rows_affected());
        Ok(changed > 0)
    }

    /// Adds a secret (its SHA-256).
    pub async fn add_client_secret(
        &self,
        id: &str,
        client_id: &str,
        secret_hash: &[u8],
        now: i64,
    ) -> Result<(), StoreError> {
        with_db!(&self.db, |w, _r, _pg| sqlx::query(
            "INSERT INTO client_secrets (id, client_id, secret_hash, created_at, expires_at)
             VALUES ($1, $2, $3, $4, NULL)"
        )
        .bind(id)
        .bind(client_id)
        .bind(secret_hash)
        .bind(now)
        .execute(w)
        .await?
        .rows_affected());
        Ok(())
    }

    /// Gives every live secret of the client an expiry of `at` at the latest (rotation),
    /// and deletes the ones already expired at `now`.
    pub async fn expire_client_secrets(
        &self,
        client_id: &str,
        at: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        with_db!(&self.db, |w, _r, _pg| {
            let mut tx = w.begin().await?;
            sqlx::query("DELETE FROM client_secrets WHERE client_id = $1 AND expires_at <= $2")
                .bind(client_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "UPDATE client_secrets SET expires_at = $2
                 WHERE client_id = $1 AND (expires_at IS NULL OR expires_at > $2)",
            )
            .bind(client_id)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Hashes of the client's secrets that have not expired at `now`.
    pub async fn live_client_secrets(
        &self,
        client_id: &str,
        now: i64,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        let rows: Vec<(Vec<u8>,)> = with_db!(&self.db, |_w, r, _pg| sqlx::query_as(
            "SELECT secret_hash FROM client_secrets
             WHERE client_id = $1 AND (expires_at IS NULL OR expires_at > $2)"
        )
        .bind(client_id)
        .bind(now)
        .fetch_all(r)
        .await?);
        Ok(rows.into_iter().map(|(h,)| h).collect())
    }

    /// Deletes a client with its secrets, revokes its refresh families and logs a `client`
    /// event (its access and ID tokens issued until `now` are refused everywhere, for
    /// `ttl` seconds: the longest life of such a token). `false` if it did not exist.
    pub async fn delete_client(
        &self,
        client_id: &str,
        now: i64,
        ttl: i64,
    ) -> Result<bool, StoreError> {
        let deleted = with_db!(&self.db, |w, _r, pg| {
            let mut tx = w.begin().await?;
            lock_event_log!(tx, pg);
            let deleted = sqlx::query("DELETE FROM oauth_clients WHERE client_id = $1")
                .bind(client_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if deleted > 0 {
                sqlx::query("DELETE FROM client_secrets WHERE client_id = $1")
                    .bind(client_id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("DELETE FROM consent_grants WHERE client_id = $1")
                    .bind(client_id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "UPDATE refresh_families SET revoked_at = $1
                     WHERE client_id = $2 AND revoked_at IS NULL",
                )
                .bind(now)
                .bind(client_id)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "INSERT INTO revocation_events (kind, subject, at, expires_at)
                     VALUES ('client', $1, $2, $3)",
                )
                .bind(client_id)
                .bind(now)
                .bind(now.saturating_add(ttl))
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            deleted
        });
        Ok(deleted > 0)
    }

    /// Records a client assertion's `jti`; `false` if it was already used.
    pub async fn use_assertion_jti(
        &self,
        client_id: &str,
        jti: &str,
        expires_at: i64,
    ) -> Result<bool, StoreError> {
        let result = with_db!(&self.db, |w, _r, _pg| {
            sqlx::query(
            "INSERT INTO client_assertion_jtis (client_id, jti, expires_at) VALUES ($1, $2, $3)"
        )
        .bind(client_id)
        .bind(jti)
        .bind(expires_at)
        .execute(w)
        .await
        .map(|r| r.rows_affected())
        .map_err(|e| StoreError::on_unique(e, "jti"))
        });
        match result {
            Ok(_) => Ok(true),
            Err(StoreError::Conflict(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The client's secrets not expired at `now`, with their expiries.
    pub async fn client_secrets_with_expiry(
        &self,
        client_id: &str,
        now: i64,
    ) -> Result<Vec<(Vec<u8>, Option<i64>)>, StoreError> {
        Ok(with_db!(&self.db, |_w, r, _pg| sqlx::query_as(
            "SELECT secret_hash, expires_at FROM client_secrets
             WHERE client_id = $1 AND (expires_at IS NULL OR expires_at > $2)"
        )
        .bind(client_id)
        .bind(now)
        .fetch_all(r)
        .await?))
    }
}
