//! Secret material shared by every instance on the database.
use super::{Store, StoreError};

impl Store {
    /// The shared secret `name`: `candidate` if no instance has stored one yet (it is then
    /// stored), else the one already there. Concurrent first starts agree on one value.
    pub async fn shared_secret(
        &self,
        name: &str,
        candidate: &[u8],
        now: i64,
    ) -> Result<Vec<u8>, StoreError> {
        with_db!(&self.db, |w, _r, _pg| sqlx::query(
            "INSERT INTO server_secrets (name, secret, created_at) VALUES ($1, $2, $3)
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(candidate)
        .bind(now)
        .execute(w)
        .await?
        .rows_affected());
        // read on the writer: the row may have been written a moment ago
        let row: (Vec<u8>,) = with_db!(&self.db, |w, _r, _pg| sqlx::query_as(
            "SELECT secret FROM server_secrets WHERE name = $1"
        )
        .bind(name)
        .fetch_one(w)
        .await?);
        Ok(row.0)
    }
}
