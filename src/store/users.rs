use super::{Store, StoreError};

/// A user account.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct User {
    /// Row id.
    pub id: i64,
    /// Login name; the `sub` of every token.
    pub username: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Display name (`name` claim).
    pub name: Option<String>,
    /// E-mail address (`email` claim).
    pub email: Option<String>,
    /// May use the management API.
    pub admin: bool,
    /// Disabled users cannot sign in and their tokens are dead.
    pub disabled: bool,
    /// Time of the last password change or disable.
    pub not_before: i64,
    /// Security stamp: bumped on password change and disable; tokens, codes and sessions
    /// issued under another generation are dead.
    pub generation: i64,
    /// Creation time.
    pub created_at: i64,
    /// Last change.
    pub updated_at: i64,
}

/// What `user add` and the management API need to create a user.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Login name.
    pub username: String,
    /// argon2id PHC string (already hashed).
    pub password_hash: String,
    /// Display name.
    pub name: Option<String>,
    /// E-mail.
    pub email: Option<String>,
    /// Administrator flag.
    pub admin: bool,
}

const USER_COLUMNS: &str =
    "id, username, password_hash, name, email, admin, disabled, not_before, generation, created_at, updated_at";

impl Store {
    /// Inserts a user; a duplicate name is [`StoreError::Conflict`].
    pub async fn create_user(&self, new: &NewUser, now: i64) -> Result<User, StoreError> {
        let sql = format!(
            "INSERT INTO users (username, password_hash, name, email, admin, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING {USER_COLUMNS}"
        );
        with_db!(&self.db, |w, _r, _pg| sqlx::query_as::<_, User>(&sql)
            .bind(&new.username)
            .bind(&new.password_hash)
            .bind(&new.name)
            .bind(&new.email)
            .bind(new.admin)
            .bind(now)
            .fetch_one(w)
            .await)
        .map_err(|e| StoreError::on_unique(e, &format!("user {:?}", new.username)))
    }

    /// The user with this name, if any.
    pub async fn user_by_name(&self, username: &str) -> Result<Option<User>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE username = $1");
        Ok(with_db!(&self.db, |_w, r, _pg| sqlx::query_as::<_, User>(
            &sql
        )
        .bind(username)
        .fetch_optional(r)
        .await?))
    }

    /// The user with this id, if any.
    pub async fn user_by_id(&self, id: i64) -> Result<Option<User>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        Ok(with_db!(&self.db, |_w, r, _pg| sqlx::query_as::<_, User>(
            &sql
        )
        .bind(id)
        .fetch_optional(r)
        .await?))
    }

    /// All users, by name.
    pub async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY username");
        Ok(with_db!(&self.db, |_w, r, _pg| sqlx::query_as::<_, User>(
            &sql
        )
        .fetch_all(r)
        .await?))
    }

    /// Replaces a user's password hash and kills every token issued before `now`.
    pub async fn set_password(
        &self,
        username: &str,
        password_hash: &str,
        now: i64,
    ) -> Result<User, StoreError> {
        let sql = format!(
            "UPDATE users SET password_hash = $1, not_before = $2, generation = generation + 1,
                 updated_at = $2
             WHERE username = $3 RETURNING {USER_COLUMNS}"
        );
        let user = with_db!(&self.db, |w, _r, _pg| sqlx::query_as::<_, User>(&sql)
            .bind(password_hash)
            .bind(now)
            .bind(username)
            .fetch_optional(w)
            .await?)
        .ok_or_else(|| StoreError::NotFound(format!("user {username:?}")))?;
        self.end_user_grants(user.id, now).await?;
        Ok(user)
    }

    /// Disables or enables a user. Disabling kills every token and session of the user.
    pub async fn set_disabled(
        &self,
        username: &str,
        disabled: bool,
        now: i64,
    ) -> Result<User, StoreError> {
        let sql = if disabled {
            format!("UPDATE users SET disabled = TRUE, not_before = $1, generation = generation + 1, updated_at = $1 WHERE username = $2 RETURNING {USER_COLUMNS}")
        } else {
            format!("UPDATE users SET disabled = FALSE, updated_at = $1 WHERE username = $2 RETURNING {USER_COLUMNS}")
        };
        let user = with_db!(&self.db, |w, _r, _pg| sqlx::query_as::<_, User>(&sql)
            .bind(now)
            .bind(username)
            .fetch_optional(w)
            .await?)
        .ok_or_else(|| StoreError::NotFound(format!("user {username:?}")))?;
        if disabled {
            self.end_user_grants(user.id, now).await?;
            // a disabled user's personal access tokens die for good (enabling the user
            // again does not bring them back), like their other tokens
            self.revoke_user_pats(user.id, now).await?;
        } else {
            self.add_event("user", &user.username, now, now + 86_400)
                .await?;
        }
        Ok(user)
    }

    /// Revokes every refresh family and ends every SSO session of a user, and tells every
    /// process's user cache.
    async fn end_user_grants(&self, user_id: i64, now: i64) -> Result<(), StoreError> {
        with_db!(&self.db, |w, _r, pg| {
            let mut tx = w.begin().await?;
            lock_event_log!(tx, pg);
            sqlx::query(
                "INSERT INTO revocation_events (kind, subject, at, expires_at)
                 SELECT 'user', username, $1, $1 + 86400 FROM users WHERE id = $2",
            )
            .bind(now)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE refresh_families SET revoked_at = $1
                 WHERE user_id = $2 AND revoked_at IS NULL",
            )
            .bind(now)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE sso_sessions SET ended_at = $1 WHERE user_id = $2 AND ended_at IS NULL",
            )
            .bind(now)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        });
        Ok(())
    }
}
