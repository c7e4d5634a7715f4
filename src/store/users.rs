use super::{Store, StoreError};

/// The role every administrator has; `users.admin` always equals "has this role".
pub const ADMIN_ROLE: &str = "admin";
/// `users.kind` of a service account.
const SERVICE_KIND: &str = "service";
/// The password hash of an account without a password: not a PHC string, so no password
/// ever verifies against it.
pub const NO_PASSWORD: &str = "!";

/// A user account.
#[derive(Debug, Clone, Default)]
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
    /// The identity source of a just-in-time user (`ldap`, `oidc:<name>`, ...); `None` for
    /// a local user (see `crate::domain::external`).
    pub source: Option<String>,
    /// The account's stable id in its source (LDAP entryUUID or DN, upstream `sub`).
    pub external_id: Option<String>,
    /// Disabled because the source said the account is gone, not by an administrator: the
    /// source vouching for the account again enables it.
    pub source_disabled: bool,
    /// Roles, sorted (`admin` exactly when [`User::admin`]).
    pub roles: Vec<String>,
    /// A service account: no password, never signs in interactively, acts through its
    /// personal access token (its key).
    pub service_account: bool,
}

/// The `password_hash` of a user from another identity source: not a PHC string, so no
/// password ever verifies against it.
pub const EXTERNAL_PASSWORD_MARKER: &str = "!external";

impl User {
    /// Whether the user comes from another identity source (and has no local password).
    pub fn is_external(&self) -> bool {
        self.source.is_some()
    }

    /// Whether the user has this role.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }
}

/// A `users` row as stored.
#[derive(sqlx::FromRow)]
pub(super) struct UserRow {
    id: i64,
    username: String,
    password_hash: String,
    name: Option<String>,
    email: Option<String>,
    admin: bool,
    disabled: bool,
    not_before: i64,
    generation: i64,
    created_at: i64,
    updated_at: i64,
    roles: String,
    kind: String,
    source: Option<String>,
    external_id: Option<String>,
    source_disabled: bool,
}

impl From<UserRow> for User {
    fn from(r: UserRow) -> User {
        // the admin flag decides the admin role (so code that sets only the flag, such as
        // a directory provisioning, keeps meaning "has role admin")
        let mut roles = parse_roles(&r.roles);
        roles.retain(|role| role != ADMIN_ROLE);
        if r.admin {
            roles.push(ADMIN_ROLE.to_string());
            roles.sort();
        }
        User {
            id: r.id,
            username: r.username,
            password_hash: r.password_hash,
            name: r.name,
            email: r.email,
            admin: r.admin,
            disabled: r.disabled,
            not_before: r.not_before,
            generation: r.generation,
            created_at: r.created_at,
            updated_at: r.updated_at,
            roles,
            service_account: r.kind == SERVICE_KIND,
            source: r.source,
            external_id: r.external_id,
            source_disabled: r.source_disabled,
        }
    }
}

/// The stored roles text as a sorted list without duplicates.
fn parse_roles(text: &str) -> Vec<String> {
    let mut roles: Vec<String> = text.split_whitespace().map(str::to_string).collect();
    roles.sort();
    roles.dedup();
    roles
}

/// A role list as stored: sorted, space-separated.
fn roles_text(roles: &[String]) -> String {
    parse_roles(&roles.join(" ")).join(" ")
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

pub(super) const USER_COLUMNS: &str = "id, username, password_hash, name, email, admin, disabled, \
     not_before, generation, created_at, updated_at, roles, kind, source, external_id, source_disabled";

impl Store {
    /// Inserts a user; a duplicate name is [`StoreError::Conflict`].
    pub async fn create_user(&self, new: &NewUser, now: i64) -> Result<User, StoreError> {
        let sql = format!(
            "INSERT INTO users (username, password_hash, name, email, admin, created_at, updated_at,
                 roles)
             VALUES ($1, $2, $3, $4, $5, $6, $6, $7) RETURNING {USER_COLUMNS}"
        );
        let roles = if new.admin { ADMIN_ROLE } else { "user" };
        with_db!(&self.db, |w, _r, _pg| sqlx::query_as::<_, UserRow>(&sql)
            .bind(&new.username)
            .bind(&new.password_hash)
            .bind(&new.name)
            .bind(&new.email)
            .bind(new.admin)
            .bind(now)
            .bind(roles)
            .fetch_one(w)
            .await)
        .map(User::from)
        .map_err(|e| StoreError::on_unique(e, &format!("user {:?}", new.username)))
    }

    /// Inserts a service account: no password, the role `api-user` (or `roles`).
    pub async fn create_service_account(
        &self,
        username: &str,
        name: Option<&str>,
        roles: &[String],
        now: i64,
    ) -> Result<User, StoreError> {
        let sql = format!(
            "INSERT INTO users (username, password_hash, name, admin, created_at, updated_at,
                 roles, kind)
             VALUES ($1, $2, $3, $4, $5, $5, $6, $7) RETURNING {USER_COLUMNS}"
        );
        let admin = roles.iter().any(|r| r == ADMIN_ROLE);
        with_db!(&self.db, |w, _r, _pg| sqlx::query_as::<_, UserRow>(&sql)
            .bind(username)
            .bind(NO_PASSWORD)
            .bind(name)
            .bind(admin)
            .bind(now)
            .bind(roles_text(roles))
            .bind(SERVICE_KIND)
            .fetch_one(w)
            .await)
        .map(User::from)
        .map_err(|e| StoreError::on_unique(e, &format!("user {username:?}")))
    }

    /// Replaces a user's roles (and the admin flag with them). Like a password change it
    /// moves the user to a new generation: tokens, codes and sessions issued under the old
    /// roles die, and every process re-reads the user.
    pub async fn set_roles(
        &self,
        username: &str,
        roles: &[String],
        now: i64,
    ) -> Result<User, StoreError> {
        let sql = format!(
            "UPDATE users SET roles = $1, admin = $2, generation = generation + 1,
                 not_before = $3, updated_at = $3
             WHERE username = $4 RETURNING {USER_COLUMNS}"
        );
        let admin = roles.iter().any(|r| r == ADMIN_ROLE);
        let user: User = with_db!(&self.db, |w, _r, _pg| sqlx::query_as::<_, UserRow>(&sql)
            .bind(roles_text(roles))
            .bind(admin)
            .bind(now)
            .bind(username)
            .fetch_optional(w)
            .await?)
        .map(User::from)
        .ok_or_else(|| StoreError::NotFound(format!("user {username:?}")))?;
        self.end_user_grants(user.id, now).await?;
        Ok(user)
    }

    /// Deletes a user for good (a service account): disables it first, which revokes its
    /// personal access tokens, refresh families and sessions and tells every process,
    /// then removes the row (and with it everything that referred to it).
    pub async fn delete_user(&self, username: &str, now: i64) -> Result<User, StoreError> {
        let user = self.set_disabled(username, true, now).await?;
        with_db!(&self.db, |w, _r, _pg| sqlx::query(
            "DELETE FROM users WHERE id = $1"
        )
        .bind(user.id)
        .execute(w)
        .await
        .map(|_| ())?);
        Ok(user)
    }

    /// The users holding a role.
    pub async fn users_with_role(&self, role: &str) -> Result<Vec<User>, StoreError> {
        Ok(self
            .list_users()
            .await?
            .into_iter()
            .filter(|u| u.has_role(role))
            .collect())
    }

    /// The user with this name, if any.
    pub async fn user_by_name(&self, username: &str) -> Result<Option<User>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE username = $1");
        Ok(
            with_db!(&self.db, |_w, r, _pg| sqlx::query_as::<_, UserRow>(&sql)
                .bind(username)
                .fetch_optional(r)
                .await?)
            .map(User::from),
        )
    }

    /// The user with this id, if any.
    pub async fn user_by_id(&self, id: i64) -> Result<Option<User>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        Ok(
            with_db!(&self.db, |_w, r, _pg| sqlx::query_as::<_, UserRow>(&sql)
                .bind(id)
                .fetch_optional(r)
                .await?)
            .map(User::from),
        )
    }

    /// All users, by name.
    pub async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY username");
        Ok(
            with_db!(&self.db, |_w, r, _pg| sqlx::query_as::<_, UserRow>(&sql)
                .fetch_all(r)
                .await?)
            .into_iter()
            .map(User::from)
            .collect(),
        )
    }

    /// Replaces a local user's password hash and kills every token issued before `now`. A
    /// user from another identity source has no local password: [`StoreError::NotFound`].
    pub async fn set_password(
        &self,
        username: &str,
        password_hash: &str,
        now: i64,
    ) -> Result<User, StoreError> {
        let sql = format!(
            "UPDATE users SET password_hash = $1, not_before = $2, generation = generation + 1,
                 updated_at = $2
             WHERE username = $3 AND source IS NULL RETURNING {USER_COLUMNS}"
        );
        let user = with_db!(&self.db, |w, _r, _pg| sqlx::query_as::<_, UserRow>(&sql)
            .bind(password_hash)
            .bind(now)
            .bind(username)
            .fetch_optional(w)
            .await?)
        .map(User::from)
        .ok_or_else(|| StoreError::NotFound(format!("local user {username:?}")))?;
        self.end_user_grants(user.id, now).await?;
        Ok(user)
    }

    /// Disables or enables a user (an administrator's decision: a disable by the user's
    /// source is `deprovision_external`). Disabling kills every token and session of the user.
    pub async fn set_disabled(
        &self,
        username: &str,
        disabled: bool,
        now: i64,
    ) -> Result<User, StoreError> {
        let sql = if disabled {
            format!("UPDATE users SET disabled = TRUE, source_disabled = FALSE, not_before = $1, generation = generation + 1, updated_at = $1 WHERE username = $2 RETURNING {USER_COLUMNS}")
        } else {
            format!("UPDATE users SET disabled = FALSE, source_disabled = FALSE, updated_at = $1 WHERE username = $2 RETURNING {USER_COLUMNS}")
        };
        let user = with_db!(&self.db, |w, _r, _pg| sqlx::query_as::<_, UserRow>(&sql)
            .bind(now)
            .bind(username)
            .fetch_optional(w)
            .await?)
        .map(User::from)
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
    pub(super) async fn end_user_grants(&self, user_id: i64, now: i64) -> Result<(), StoreError> {
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
