//! The roles an administrator defined (the built-in `admin`, `user` and `api-user` are
//! not stored), and the users that hold them.
use super::{Store, StoreError};

/// A defined role.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RoleRow {
    /// Its name.
    pub name: String,
    /// What it is for.
    pub description: String,
    /// Creation time.
    pub created_at: i64,
}

impl Store {
    /// Defines a role; an existing name is [`StoreError::Conflict`].
    pub async fn add_role(
        &self,
        name: &str,
        description: &str,
        now: i64,
    ) -> Result<RoleRow, StoreError> {
        with_db!(&self.db, |w, _r, _pg| sqlx::query_as::<_, RoleRow>(
            "INSERT INTO roles (name, description, created_at) VALUES ($1, $2, $3)
             RETURNING name, description, created_at"
        )
        .bind(name)
        .bind(description)
        .bind(now)
        .fetch_one(w)
        .await)
        .map_err(|e| StoreError::on_unique(e, &format!("role {name:?}")))
    }

    /// The defined roles, by name.
    pub async fn list_roles(&self) -> Result<Vec<RoleRow>, StoreError> {
        Ok(with_db!(&self.db, |_w, r, _pg| {
            sqlx::query_as::<_, RoleRow>(
                "SELECT name, description, created_at FROM roles ORDER BY name",
            )
            .fetch_all(r)
            .await?
        }))
    }

    /// The defined role of this name, if any.
    pub async fn role(&self, name: &str) -> Result<Option<RoleRow>, StoreError> {
        Ok(with_db!(&self.db, |_w, r, _pg| {
            sqlx::query_as::<_, RoleRow>(
                "SELECT name, description, created_at FROM roles WHERE name = $1",
            )
            .bind(name)
            .fetch_optional(r)
            .await?
        }))
    }

    /// Removes a defined role (its holders lose it first: see
    /// `crate::domain::roles::remove`); whether it existed.
    pub async fn remove_role(&self, name: &str) -> Result<bool, StoreError> {
        let done = with_db!(&self.db, |w, _r, _pg| sqlx::query(
            "DELETE FROM roles WHERE name = $1"
        )
        .bind(name)
        .execute(w)
        .await?
        .rows_affected());
        Ok(done > 0)
    }
}
