//! `client registration-token create|list|revoke`: initial access tokens for dynamic
//! client registration (RFC 7591 §3, `authentication.registration.mode=token`).
use clap::Subcommand;

use super::Failure;
use crate::config::parse_duration;
use crate::domain::clients::registration;
use crate::store::Store;

/// `client registration-token …`
#[derive(Debug, Subcommand)]
pub enum RegistrationTokenCommand {
    /// Create a token and print it (once).
    Create {
        /// How long it is valid: seconds, or with s, m, h or d (default: until revoked).
        #[arg(long)]
        expires: Option<String>,
        /// How many registrations it allows (default: unlimited until it expires).
        #[arg(long)]
        uses: Option<u32>,
        /// A note for the list (who it is for).
        #[arg(long, default_value = "")]
        description: String,
    },
    /// List the tokens (never the tokens themselves): id, expiry, uses left, description.
    List,
    /// Revoke a token by its id.
    Revoke {
        /// The id `list` shows (it may begin with `-`).
        #[arg(allow_hyphen_values = true)]
        id: String,
    },
}

/// Runs a `client registration-token` command.
pub async fn run(store: &Store, cmd: RegistrationTokenCommand, now: i64) -> Result<(), Failure> {
    let failed = |e: crate::store::StoreError| Failure::other(e.to_string());
    match cmd {
        RegistrationTokenCommand::Create {
            expires,
            uses,
            description,
        } => {
            let expires_at = match expires {
                None => None,
                Some(text) => {
                    let secs = parse_duration(text.trim())
                        .map_err(|e| Failure::usage(format!("--expires: expected {e}")))?;
                    if secs == 0 {
                        return Err(Failure::usage("--expires: must be more than 0"));
                    }
                    Some(now.saturating_add(i64::try_from(secs).unwrap_or(i64::MAX)))
                }
            };
            if uses == Some(0) {
                return Err(Failure::usage("--uses: must be at least 1"));
            }
            if description.chars().any(char::is_control) || description.len() > 200 {
                return Err(Failure::usage(
                    "--description: at most 200 characters, no control characters",
                ));
            }
            let (row, token) = registration::create_initial_token(
                store,
                &description,
                expires_at,
                uses.map(i64::from),
                now,
            )
            .await
            .map_err(failed)?;
            println!("id\t{}", row.id);
            println!("token\t{}", token.expose());
            eprintln!(
                "authserver: the token is shown this once; hand it to the client's developer"
            );
            Ok(())
        }
        RegistrationTokenCommand::List => {
            for t in store.list_registration_tokens().await.map_err(failed)? {
                let expires = match t.expires_at {
                    None => "never".to_string(),
                    Some(e) if e <= now => format!("{e} (expired)"),
                    Some(e) => e.to_string(),
                };
                let uses = t
                    .uses_left
                    .map_or_else(|| "unlimited".to_string(), |n| n.to_string());
                println!("{}\t{expires}\t{uses}\t{}", t.id, t.description);
            }
            Ok(())
        }
        RegistrationTokenCommand::Revoke { id } => {
            if store.revoke_registration_token(&id).await.map_err(failed)? {
                println!("revoked {id}");
                Ok(())
            } else {
                Err(Failure::other(format!(
                    "registration token {id:?} not found"
                )))
            }
        }
    }
}
