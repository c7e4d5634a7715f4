//! Roles: the built-in `admin` (the management API), `user` (a person) and `api-user` (a
//! service account), and the roles an administrator defines. A user holds any number of
//! them; tokens carry them in the `roles` claim and `/api/validate` and introspection
//! return them, so a resource server decides what each role may do.
//!
//! A role change moves the user to a new generation (like a password change): every
//! token, code, refresh family and session issued under the old roles dies, and every
//! process re-reads the user. So a token that validates always carries the user's
//! current roles.
use crate::error::AppError;
use crate::store::{RoleRow, Store, User, ADMIN_ROLE};

/// A person's role (everyone who is not an administrator, when created).
pub const USER_ROLE: &str = "user";
/// A service account's role.
pub const API_USER_ROLE: &str = "api-user";
/// The roles that always exist.
pub const BUILT_IN: [&str; 3] = [ADMIN_ROLE, USER_ROLE, API_USER_ROLE];
/// Longest role name.
pub const MAX_NAME: usize = 64;

/// A role name: 1 to 64 of `a-z`, `0-9`, `.`, `_`, `-`, starting with a letter or digit
/// (so it fits a claim, a command line and a URL path unchanged).
pub fn check_name(name: &str) -> Result<(), String> {
    let ok_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || ".-_".contains(c);
    let first_ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if name.len() > MAX_NAME || !first_ok || !name.chars().all(ok_char) {
        return Err(format!(
            "a role name has 1 to {MAX_NAME} characters a-z, 0-9, '.', '_' or '-' and starts \
             with a letter or digit"
        ));
    }
    Ok(())
}

/// Whether the role exists (built in or defined).
pub async fn exists(store: &Store, name: &str) -> Result<bool, AppError> {
    Ok(BUILT_IN.contains(&name) || store.role(name).await?.is_some())
}

/// Every role: the built-in ones (with an empty creation time) and the defined ones.
pub async fn list(store: &Store) -> Result<Vec<RoleRow>, AppError> {
    let mut roles: Vec<RoleRow> = BUILT_IN
        .iter()
        .map(|name| RoleRow {
            name: (*name).to_string(),
            description: built_in_description(name).to_string(),
            created_at: 0,
        })
        .collect();
    roles.extend(store.list_roles().await?);
    Ok(roles)
}

fn built_in_description(name: &str) -> &'static str {
    match name {
        ADMIN_ROLE => "built in: administrators (the management API)",
        USER_ROLE => "built in: people",
        _ => "built in: service accounts (API keys)",
    }
}

/// Defines a role.
pub async fn define(
    store: &Store,
    name: &str,
    description: &str,
    now: i64,
) -> Result<RoleRow, AppError> {
    check_name(name).map_err(|e| AppError::InvalidField("name".into(), e))?;
    let description = description.trim();
    if description.chars().count() > 200 || description.chars().any(char::is_control) {
        return Err(AppError::InvalidField(
            "description".into(),
            "the description must have at most 200 characters and no control characters".into(),
        ));
    }
    if BUILT_IN.contains(&name) {
        return Err(AppError::Conflict(format!("role {name:?} is built in")));
    }
    Ok(store.add_role(name, description, now).await?)
}

/// Removes a defined role: its holders lose it first (each moves to a new generation).
/// Returns the users who held it.
pub async fn remove(store: &Store, name: &str, now: i64) -> Result<Vec<String>, AppError> {
    if BUILT_IN.contains(&name) {
        return Err(AppError::InvalidRequest(format!(
            "role {name:?} is built in and cannot be removed"
        )));
    }
    if store.role(name).await?.is_none() {
        return Err(AppError::NotFound(format!("role {name:?}")));
    }
    let mut holders = Vec::new();
    for user in store.users_with_role(name).await? {
        let kept: Vec<String> = user.roles.iter().filter(|r| *r != name).cloned().collect();
        store.set_roles(&user.username, &kept, now).await?;
        holders.push(user.username);
    }
    store.remove_role(name).await?;
    Ok(holders)
}

/// Adds and removes roles of a user; unknown roles are refused, and nothing changes (no
/// new generation) when the roles stay the same.
pub async fn change(
    store: &Store,
    username: &str,
    add: &[String],
    remove: &[String],
    now: i64,
) -> Result<User, AppError> {
    let user = store
        .user_by_name(username)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("user {username:?}")))?;
    let mut roles = user.roles.clone();
    roles.retain(|r| !remove.contains(r));
    for role in add {
        roles.push(role.clone());
    }
    set(store, &user, roles, now).await
}

/// Gives `user` exactly these roles.
pub async fn set(
    store: &Store,
    user: &User,
    mut roles: Vec<String>,
    now: i64,
) -> Result<User, AppError> {
    roles.sort();
    roles.dedup();
    for role in &roles {
        if !exists(store, role).await? {
            return Err(AppError::InvalidField(
                "roles".into(),
                format!("there is no role {role:?} (define it first)"),
            ));
        }
    }
    if roles == user.roles {
        return Ok(user.clone());
    }
    let changed = store.set_roles(&user.username, &roles, now).await?;
    tracing::info!(target: "authserver::audit", user = %changed.username, roles = %changed.roles.join(" "), "roles changed");
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_are_plain_lowercase_words() {
        for ok in ["admin", "manager", "odata.reader", "team-7", "a_b", "0day"] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        let long = "a".repeat(MAX_NAME + 1);
        for bad in ["", "Admin", "-x", "a b", "a:b", "a/b", "é", long.as_str()] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }
}
