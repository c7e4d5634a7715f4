//! Users from another identity source (just-in-time users): found by (source, external id),
//! created at their first sign-in, updated at each, disabled when the source says the
//! account is gone. The rules live in `crate::domain::external`.
use super::users::{User, UserRow, EXTERNAL_PASSWORD_MARKER, USER_COLUMNS};
use super::{Store, StoreError};

/// What the source says about an account at a sign-in.
#[derive(Debug, Clone)]
pub struct ExternalProfile<'a> {
    /// Source name (`ldap`, `oidc:<name>`).
    pub source: &'a str,
    /// Stable id in the source.
    pub external_id: &'a str,
    /// Login name.
    pub username: &'a str,
    /// Display name.
    pub name: Option<&'a str>,
    /// E-mail.
    pub email: Option<&'a str>,
    /// Administrator flag.
    pub admin: bool,
}

impl Store {
    /// The user of (source, external id), if any.
    pub async fn user_by_external(
        &self,
        source: &str,
        external_id: &str,
    ) -> Result<Option<User>, StoreError> {
        let sql =
            format!("SELECT {USER_COLUMNS} FROM users WHERE source = $1 AND external_id = $2");
        let row = with_db!(&self.db, |_w, r, _pg| sqlx::query_as::<_, UserRow>(&sql)
            .bind(source)
            .bind(external_id)
            .fetch_optional(r)
            .await?);
        Ok(row.map(User::from))
    }

    /// Creates the user of a first sign-in; a taken name or (source, id) is
    /// [`StoreError::Conflict`].
    pub async fn create_external_user(
        &self,
        p: &ExternalProfile<'_>,
        now: i64,
    ) -> Result<User, StoreError> {
        let sql = format!(
            "INSERT INTO users (username, password_hash, name, email, admin, source, external_id,
                 created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING {USER_COLUMNS}"
        );
        with_db!(&self.db, |w, _r, _pg| sqlx::query_as::<_, UserRow>(&sql)
            .bind(p.username)
            .bind(EXTERNAL_PASSWORD_MARKER)
            .bind(p.name)
            .bind(p.email)
            .bind(p.admin)
            .bind(p.source)
            .bind(p.external_id)
            .bind(now)
            .fetch_one(w)
            .await)
        .map(User::from)
        .map_err(|e| StoreError::on_unique(e, &format!("user {:?}", p.username)))
    }

    /// Writes what the source says about user `id` (name, e-mail, administrator flag, and
    /// the user name if it was renamed there; a disable by the source is lifted), makes the
    /// row the source's (`source`, `external_id`, no local password: used to link a local
    /// user), and tells every process's user cache, under the old and the new name. A name
    /// another user holds is [`StoreError::Conflict`].
    pub async fn update_external_user(
        &self,
        id: i64,
        old_username: &str,
        p: &ExternalProfile<'_>,
        now: i64,
    ) -> Result<User, StoreError> {
        let sql = format!(
            "UPDATE users SET username = $1, name = $2, email = $3, admin = $4, source = $5,
                 external_id = $6, password_hash = $7, disabled = FALSE, source_disabled = FALSE,
                 updated_at = $8
             WHERE id = $9 AND (disabled = FALSE OR source_disabled = TRUE)
             RETURNING {USER_COLUMNS}"
        );
        let result: Result<Option<User>, sqlx::Error> = with_db!(&self.db, |w, _r, pg| {
            async {
                let mut tx = w.begin().await?;
                lock_event_log!(tx, pg);
                let user = sqlx::query_as::<_, UserRow>(&sql)
                    .bind(p.username)
                    .bind(p.name)
                    .bind(p.email)
                    .bind(p.admin)
                    .bind(p.source)
                    .bind(p.external_id)
                    .bind(EXTERNAL_PASSWORD_MARKER)
                    .bind(now)
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?;
                for name in [old_username, p.username] {
                    sqlx::query(
                        "INSERT INTO revocation_events (kind, subject, at, expires_at)
                         VALUES ('user', $1, $2, $3)",
                    )
                    .bind(name)
                    .bind(now)
                    .bind(now + 86_400)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok::<_, sqlx::Error>(user.map(User::from))
            }
            .await
        });
        result
            .map_err(|e| StoreError::on_unique(e, &format!("user {:?}", p.username)))?
            .ok_or_else(|| StoreError::NotFound(format!("enabled user {old_username:?}")))
    }

    /// Disables the user of (source, external id) because the source says the account is
    /// gone, and kills its tokens, sessions and personal access tokens as an administrator's
    /// disable does. The user, or `None` when there is none (or it was already disabled).
    pub async fn deprovision_external(
        &self,
        source: &str,
        external_id: &str,
        now: i64,
    ) -> Result<Option<User>, StoreError> {
        let sql = format!(
            "UPDATE users SET disabled = TRUE, source_disabled = TRUE, not_before = $1,
                 generation = generation + 1, updated_at = $1
             WHERE source = $2 AND external_id = $3 AND disabled = FALSE
             RETURNING {USER_COLUMNS}"
        );
        let user = with_db!(&self.db, |w, _r, _pg| sqlx::query_as::<_, UserRow>(&sql)
            .bind(now)
            .bind(source)
            .bind(external_id)
            .fetch_optional(w)
            .await?)
        .map(User::from);
        if let Some(user) = &user {
            self.end_user_grants(user.id, now).await?;
            self.revoke_user_pats(user.id, now).await?;
        }
        Ok(user)
    }
}
