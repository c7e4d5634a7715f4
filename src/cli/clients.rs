//! `client add|list|show|update|rotate-secret|remove`: the registered OAuth clients.
use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::Failure;
use crate::config::Settings;
use crate::domain::clients::{self, ClientError, MetadataDraft};
use crate::store::Store;

/// `client …`
#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register a client and print its ID and (once) its secret.
    Add {
        /// The client ID (default: a random one).
        #[arg(long)]
        client_id: Option<String>,
        /// Its metadata.
        #[command(flatten)]
        metadata: MetadataArgs,
    },
    /// List the registered clients, one per line (never a secret).
    List,
    /// Print a client's metadata as JSON (never a secret).
    Show {
        /// Client ID.
        #[arg(allow_hyphen_values = true)]
        client_id: String,
    },
    /// Change a client's metadata (only the options given).
    Update {
        /// Client ID.
        #[arg(allow_hyphen_values = true)]
        client_id: String,
        /// What to change.
        #[command(flatten)]
        metadata: MetadataArgs,
    },
    /// Issue a new secret and print it (once); the old ones keep working for the overlap.
    RotateSecret {
        /// Client ID.
        #[arg(allow_hyphen_values = true)]
        client_id: String,
        /// How long the old secret keeps working, seconds.
        #[arg(long, default_value_t = clients::DEFAULT_OVERLAP)]
        overlap_seconds: i64,
    },
    /// Remove a client and revoke every token it was issued.
    Remove {
        /// Client ID.
        #[arg(allow_hyphen_values = true)]
        client_id: String,
    },
    /// Initial access tokens for dynamic registration (`authentication.registration.mode=token`).
    #[command(subcommand)]
    RegistrationToken(super::registration::RegistrationTokenCommand),
}

/// Metadata options shared by `add` and `update`.
#[derive(Debug, Args)]
pub struct MetadataArgs {
    /// Display name.
    #[arg(long)]
    name: Option<String>,
    /// A redirect URI (repeat for several).
    #[arg(long = "redirect-uri")]
    redirect_uris: Vec<String>,
    /// Let a redirect URI continue a registered one (on a URL boundary).
    #[arg(long)]
    prefix_match: Option<bool>,
    /// A post-logout redirect URI (repeat for several).
    #[arg(long = "post-logout-redirect-uri")]
    post_logout_redirect_uris: Vec<String>,
    /// A grant type: authorization_code, refresh_token, client_credentials (repeat).
    #[arg(long = "grant-type")]
    grant_types: Vec<String>,
    /// A response type: code (repeat).
    #[arg(long = "response-type")]
    response_types: Vec<String>,
    /// client_secret_basic (default), client_secret_post, private_key_jwt or none.
    #[arg(long)]
    auth_method: Option<String>,
    /// File holding the client's JWK Set (private_key_jwt).
    #[arg(long)]
    jwks_file: Option<PathBuf>,
    /// URL of the client's JWK Set (private_key_jwt).
    #[arg(long)]
    jwks_uri: Option<String>,
    /// Allowed scopes, space-separated.
    #[arg(long)]
    scope: Option<String>,
    /// Access and ID token lifetime, seconds (default: the server's).
    #[arg(long)]
    access_token_lifetime: Option<u64>,
    /// Refresh token lifetime, seconds (default: the server's).
    #[arg(long)]
    refresh_token_lifetime: Option<u64>,
    /// ID token signing algorithm (default: the server's).
    #[arg(long)]
    id_token_alg: Option<String>,
    /// First-party: no consent screen.
    #[arg(long)]
    first_party: Option<bool>,
}

impl MetadataArgs {
    fn draft(self) -> Result<MetadataDraft, Failure> {
        let list = |v: Vec<String>| (!v.is_empty()).then_some(v);
        let jwks = match self.jwks_file {
            None => None,
            Some(path) => {
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| Failure::usage(format!("--jwks-file {}: {e}", path.display())))?;
                Some(serde_json::from_str(&text).map_err(|e| {
                    Failure::usage(format!("--jwks-file {}: not JSON: {e}", path.display()))
                })?)
            }
        };
        Ok(MetadataDraft {
            client_name: self.name,
            redirect_uris: list(self.redirect_uris),
            redirect_uri_prefix_match: self.prefix_match,
            post_logout_redirect_uris: list(self.post_logout_redirect_uris),
            grant_types: list(self.grant_types),
            response_types: list(self.response_types),
            token_endpoint_auth_method: self.auth_method,
            jwks,
            jwks_uri: self.jwks_uri,
            scope: self.scope,
            access_token_lifetime: self.access_token_lifetime,
            refresh_token_lifetime: self.refresh_token_lifetime,
            id_token_signed_response_alg: self.id_token_alg,
            first_party: self.first_party,
        })
    }
}

fn failure(e: ClientError) -> Failure {
    match e {
        ClientError::Store(e) => Failure::other(e.to_string()),
        ClientError::NotFound(_) => Failure::other(e.to_string()),
        other => Failure::usage(other.to_string()),
    }
}

/// Runs a `client` command.
pub async fn run(
    settings: &Settings,
    store: &Store,
    cmd: ClientCommand,
    now: i64,
) -> Result<(), Failure> {
    let failed = |e: crate::store::StoreError| Failure::other(e.to_string());
    match cmd {
        ClientCommand::Add {
            client_id,
            metadata,
        } => {
            let draft = metadata.draft()?;
            let (client, secret) =
                clients::create(store, settings, client_id.as_deref(), draft, false, now)
                    .await
                    .map_err(failure)?;
            println!("client_id\t{}", client.client_id);
            if let Some(secret) = secret {
                println!("client_secret\t{}", secret.expose());
                eprintln!("authserver: the secret is shown this once; store it now");
            }
            Ok(())
        }
        ClientCommand::List => {
            for c in clients::list(store).await.map_err(failed)? {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    c.client_id,
                    c.metadata.token_endpoint_auth_method.as_str(),
                    c.metadata.grant_types.join(","),
                    if c.metadata.first_party {
                        "first-party"
                    } else {
                        "third-party"
                    },
                    c.metadata.client_name.replace(['\t', '\n', '\r'], " "),
                );
            }
            Ok(())
        }
        ClientCommand::Show { client_id } => {
            let c = clients::find(store, &client_id)
                .await
                .map_err(failed)?
                .ok_or_else(|| Failure::other(format!("client {client_id:?} not found")))?;
            let text = serde_json::to_string_pretty(&c.to_json())
                .map_err(|e| Failure::other(e.to_string()))?;
            println!("{text}");
            Ok(())
        }
        ClientCommand::Update {
            client_id,
            metadata,
        } => {
            let patch = metadata.draft()?;
            let (_, secret) = clients::update(store, settings, &client_id, patch, now)
                .await
                .map_err(failure)?;
            println!("updated {client_id}");
            if let Some(secret) = secret {
                println!("client_secret\t{}", secret.expose());
            }
            Ok(())
        }
        ClientCommand::RotateSecret {
            client_id,
            overlap_seconds,
        } => {
            let secret = clients::rotate_secret(store, &client_id, overlap_seconds, now)
                .await
                .map_err(failure)?;
            println!("client_secret\t{}", secret.expose());
            Ok(())
        }
        ClientCommand::RegistrationToken(cmd) => super::registration::run(store, cmd, now).await,
        ClientCommand::Remove { client_id } => {
            if clients::remove(store, settings, &client_id, now)
                .await
                .map_err(failed)?
            {
                println!("removed {client_id}; its tokens are revoked");
                Ok(())
            } else {
                Err(Failure::other(format!("client {client_id:?} not found")))
            }
        }
    }
}
