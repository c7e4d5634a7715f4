//! Remembered consent: which scopes a user granted a third-party registered client.
use super::{Store, StoreError};

/// A remembered grant, with the client's display name (for the account page).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ConsentRow {
    /// The client.
    pub client_id: String,
    /// Its display name (the ID if the client row is gone).
    pub client_name: String,
    /// Granted scopes, space-separated.
    pub scope: String,
    /// When it was (last) granted.
    pub granted_at: i64,
}

impl Store {
    /// The scopes `user_id` granted `client_id`, if any.
    pub async fn consent(
        &self,
        user_id: i64,
        client_id: &str,
    ) -> Result<Option<String>, StoreError> {
        let row: Option<(String,)> = with_db!(&self.db, |_w, r, _pg| sqlx::query_as(
            "SELECT scope FROM consent_grants WHERE user_id = $1 AND client_id = $2"
        )
        .bind(user_id)
        .bind(client_id)
        .fetch_optional(r)
        .await?);
        Ok(row.map(|(s,)| s))
    }

    /// Records (or replaces) the scopes `user_id` granted `client_id`.
    pub async fn save_consent(
        &self,
        user_id: i64,
        client_id: &str,
        scope: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        with_db!(&self.db, |w, _r, _pg| sqlx::query(
            "INSERT INTO consent_grants (user_id, client_id, scope, granted_at)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (user_id, client_id) DO UPDATE SET scope = $3, granted_at = $4"
        )
        .bind(user_id)
        .bind(client_id)
        .bind(scope)
        .bind(now)
        .execute(w)
        .await?
        .rows_affected());
        Ok(())
    }

    /// The user's remembered grants, newest first.
    pub async fn consents_of(&self, user_id: i64) -> Result<Vec<ConsentRow>, StoreError> {
        Ok(with_db!(&self.db, |_w, r, _pg| sqlx::query_as::<
            _,
            ConsentRow,
        >(
            "SELECT g.client_id, COALESCE(c.name, g.client_id) AS client_name, g.scope,
                    g.granted_at
             FROM consent_grants g LEFT JOIN oauth_clients c ON c.client_id = g.client_id
             WHERE g.user_id = $1 ORDER BY g.granted_at DESC, g.client_id"
        )
        .bind(user_id)
        .fetch_all(r)
        .await?))
    }

    /// Withdraws a grant in one transaction: the grant goes, the user's unused codes for
    /// the client go, and every live refresh family of the user and client is revoked
    /// with a `family` event (so their access tokens fail everywhere). `false` if there
    /// was no grant.
    pub async fn withdraw_consent(
        &self,
        user_id: i64,
        client_id: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let ttl = self.family_event_ttl;
        let deleted = with_db!(&self.db, |w, _r, pg| {
            let mut tx = w.begin().await?;
            lock_event_log!(tx, pg);
            let deleted =
                sqlx::query("DELETE FROM consent_grants WHERE user_id = $1 AND client_id = $2")
                    .bind(user_id)
                    .bind(client_id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
            sqlx::query(
                "DELETE FROM authorization_codes
                 WHERE user_id = $1 AND client_id = $2 AND family_id IS NULL",
            )
            .bind(user_id)
            .bind(client_id)
            .execute(&mut *tx)
            .await?;
            let families: Vec<(String,)> = sqlx::query_as(
                "UPDATE refresh_families SET revoked_at = $1
                 WHERE user_id = $2 AND client_id = $3 AND revoked_at IS NULL
                 RETURNING id",
            )
            .bind(now)
            .bind(user_id)
            .bind(client_id)
            .fetch_all(&mut *tx)
            .await?;
            for (family,) in families {
                sqlx::query(
                    "INSERT INTO revocation_events (kind, subject, at, expires_at)
                     VALUES ('family', $1, $2, $3)",
                )
                .bind(family)
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
}
