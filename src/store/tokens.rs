//! Refresh families and refresh tokens.
use super::{Store, StoreError};

/// A new refresh token.
#[derive(Debug, Clone)]
pub struct NewRefresh<'a> {
    /// SHA-256 of the token.
    pub token_hash: &'a [u8],
    /// Family.
    pub family_id: &'a str,
    /// Client it is bound to.
    pub client_id: &'a str,
    /// Owner.
    pub user_id: i64,
    /// Granted scope.
    pub scope: &'a str,
    /// Original authentication time.
    pub auth_time: i64,
    /// Creation.
    pub now: i64,
    /// Expiry.
    pub expires_at: i64,
}

impl Store {
    /// Starts a family and stores its first refresh token, in one transaction.
    pub async fn create_family(
        &self,
        family_id: &str,
        first: &NewRefresh<'_>,
        code_hash: Option<&[u8]>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO refresh_families (id, user_id, client_id, created_at) VALUES (?, ?, ?, ?)",
        )
        .bind(family_id)
        .bind(first.user_id)
        .bind(first.client_id)
        .bind(first.now)
        .execute(&mut *tx)
        .await?;
        insert_refresh(&mut tx, first).await?;
        if let Some(code_hash) = code_hash {
            let replayed: Option<(Option<i64>,)> = sqlx::query_as(
                "UPDATE authorization_codes SET family_id = ? WHERE code_hash = ? RETURNING replayed_at",
            )
            .bind(family_id)
            .bind(code_hash)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some((Some(_),)) = replayed {
                sqlx::query("UPDATE refresh_families SET revoked_at = ? WHERE id = ?")
                    .bind(first.now)
                    .bind(family_id)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Revokes a family: its refresh tokens stop working, and its access tokens fail
    /// validation.
    pub async fn revoke_family(&self, family_id: &str, now: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE refresh_families SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(family_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// When a family was revoked (`None`: live; unknown families count as revoked at 0).
    pub async fn family_revoked_at(&self, family_id: &str) -> Result<Option<i64>, StoreError> {
        let row: Option<(Option<i64>,)> =
            sqlx::query_as("SELECT revoked_at FROM refresh_families WHERE id = ?")
                .bind(family_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(match row {
            Some((revoked,)) => revoked,
            None => Some(0),
        })
    }
}

async fn insert_refresh(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    r: &NewRefresh<'_>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO refresh_tokens (token_hash, family_id, client_id, user_id, scope, auth_time,
             created_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(r.token_hash)
    .bind(r.family_id)
    .bind(r.client_id)
    .bind(r.user_id)
    .bind(r.scope)
    .bind(r.auth_time)
    .bind(r.now)
    .bind(r.expires_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
