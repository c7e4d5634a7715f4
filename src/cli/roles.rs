//! `role …`, `user roles …` and `service-account …`.
use clap::Subcommand;

use super::{open_store, Failure};
use crate::clock::{Clock, SystemClock};
use crate::config::Settings;
use crate::domain::{roles, service_accounts};
use crate::error::AppError;
use crate::store::Store;

/// `role …`
#[derive(Debug, Subcommand)]
pub enum RoleCommand {
    /// Define a role (beside the built-in admin, user and api-user).
    Add {
        /// Its name: a-z, 0-9, '.', '_', '-'.
        name: String,
        /// What it is for.
        #[arg(long, default_value = "")]
        description: String,
    },
    /// List the roles, one per line: name, built-in or defined, description.
    List,
    /// Remove a defined role; its holders lose it (their tokens end).
    Remove {
        /// Its name.
        name: String,
    },
}

/// `service-account …`
#[derive(Debug, Subcommand)]
pub enum ServiceAccountCommand {
    /// Create a service account (no password, role api-user) and print its key (once).
    Add {
        /// Its login name.
        name: String,
        /// Display name (e.g. the connected system).
        #[arg(long = "name")]
        display_name: Option<String>,
    },
    /// List the service accounts, one per line: name, display name, roles, key id.
    List,
    /// Replace the key: the old one and its tokens are revoked; prints the new key (once).
    Rotate {
        /// Its login name.
        name: String,
    },
    /// Remove a service account: its key and tokens are revoked.
    Remove {
        /// Its login name.
        name: String,
    },
}

fn failed(e: AppError) -> Failure {
    match e {
        AppError::InvalidField(_, m) | AppError::InvalidRequest(m) => Failure::usage(m),
        AppError::NotFound(m) => Failure::other(format!("{m} not found")),
        AppError::Conflict(m) => Failure::other(m),
        other => Failure::other(other.to_string()),
    }
}

async fn with_store<F, Fut>(settings: &Settings, f: F) -> Result<(), Failure>
where
    F: FnOnce(Store) -> Fut,
    Fut: std::future::Future<Output = (Store, Result<(), Failure>)>,
{
    let store = open_store(settings).await?;
    let (store, result) = f(store).await;
    store.close().await;
    result
}

/// Runs `role …`.
pub async fn role(settings: &Settings, cmd: RoleCommand) -> Result<(), Failure> {
    let now = SystemClock.now();
    with_store(settings, |store| async move {
        let result = match cmd {
            RoleCommand::Add { name, description } => {
                roles::define(&store, &name, &description, now)
                    .await
                    .map(|r| println!("defined role {}", r.name))
            }
            RoleCommand::List => roles::list(&store).await.map(|all| {
                for r in all {
                    let kind = if roles::BUILT_IN.contains(&r.name.as_str()) {
                        "built-in"
                    } else {
                        "defined"
                    };
                    println!("{}\t{kind}\t{}", r.name, r.description);
                }
            }),
            RoleCommand::Remove { name } => roles::remove(&store, &name, now)
                .await
                .map(|holders| println!("removed role {name} (held by {} users)", holders.len())),
        };
        (store, result.map_err(failed))
    })
    .await
}

/// Runs `user roles NAME [--add R]… [--remove R]…`: prints the user's roles after.
pub async fn user_roles(
    settings: &Settings,
    name: String,
    add: Vec<String>,
    remove: Vec<String>,
) -> Result<(), Failure> {
    let now = SystemClock.now();
    with_store(settings, |store| async move {
        let result = roles::change(&store, &name, &add, &remove, now)
            .await
            .map(|u| println!("{}\t{}", u.username, u.roles.join(",")));
        (store, result.map_err(failed))
    })
    .await
}

/// Runs `service-account …`.
pub async fn service_account(
    settings: &Settings,
    cmd: ServiceAccountCommand,
) -> Result<(), Failure> {
    let now = SystemClock.now();
    with_store(settings, |store| async move {
        let result = match cmd {
            // stdout gets the key alone, so that `KEY=$(authserver service-account add …)` works
            ServiceAccountCommand::Add { name, display_name } => {
                service_accounts::create(&store, &name, display_name.as_deref(), now)
                    .await
                    .map(|(_, key)| println!("{}", key.token.expose()))
            }
            ServiceAccountCommand::Rotate { name } => service_accounts::rotate(&store, &name, now)
                .await
                .map(|key| println!("{}", key.token.expose())),
            ServiceAccountCommand::List => service_accounts::list(&store, now).await.map(|all| {
                for a in all {
                    println!(
                        "{}\t{}\t{}\t{}{}",
                        a.user.username,
                        a.user.name.as_deref().unwrap_or("-"),
                        a.user.roles.join(","),
                        a.key.as_ref().map_or("no-key", |k| k.id.as_str()),
                        if a.user.disabled { "\tdisabled" } else { "" },
                    );
                }
            }),
            ServiceAccountCommand::Remove { name } => service_accounts::remove(&store, &name, now)
                .await
                .map(|u| println!("removed {}; its key and tokens are revoked", u.username)),
        };
        (store, result.map_err(failed))
    })
    .await
}
