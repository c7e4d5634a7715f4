//! A stored refresh token as a rotation or a lookup returns it (shared by the single path
//! in `tokens` and the group commit in `batch`, so neither imports the other), and the
//! personal access token a family was started from (the secret-key login with
//! `offline_access`).

/// A stored refresh token.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RefreshInfo {
    /// Family.
    pub family_id: String,
    /// Client it is bound to.
    pub client_id: String,
    /// Owner.
    pub user_id: i64,
    /// Owner's name.
    pub username: String,
    /// Granted scope.
    pub scope: String,
    /// Original authentication time.
    pub auth_time: i64,
    /// Issued at.
    pub created_at: i64,
    /// Expiry.
    pub expires_at: i64,
    /// When it was used (rotated).
    pub spent_at: Option<i64>,
    /// When its family was revoked.
    pub revoked_at: Option<i64>,
}

impl super::Store {
    /// Notes the personal access token a refresh family was started from.
    pub async fn set_family_pat(
        &self,
        family_id: &str,
        pat_id: &str,
    ) -> Result<(), super::StoreError> {
        with_db!(&self.db, |w, _r, _pg| sqlx::query(
            "UPDATE refresh_families SET pat_id = $1 WHERE id = $2"
        )
        .bind(pat_id)
        .bind(family_id)
        .execute(w)
        .await
        .map(|_| ())?);
        Ok(())
    }

    /// The personal access token a refresh family was started from, if any.
    pub async fn family_pat(&self, family_id: &str) -> Result<Option<String>, super::StoreError> {
        let row: Option<(Option<String>,)> = with_db!(&self.db, |_w, r, _pg| sqlx::query_as(
            "SELECT pat_id FROM refresh_families WHERE id = $1"
        )
        .bind(family_id)
        .fetch_optional(r)
        .await?);
        Ok(row.and_then(|(p,)| p))
    }
}
