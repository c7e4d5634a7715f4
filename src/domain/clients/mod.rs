//! Clients registered in the database (issue 15), beside the properties-file clients.
//!
//! A registered client has its own secrets (256 random bits, shown once, stored as
//! SHA-256), its own redirect URIs and rules ([`ClientMetadata`]). Removing one revokes
//! every token it was issued (a `client` revocation event).
pub mod auth;
pub mod cache;
pub mod grants;
pub mod jwks_fetch;
pub mod model;
pub mod registration;
#[cfg(test)]
mod tests;

pub use model::{AuthMethod, ClientMetadata, MetadataDraft, MetadataError};

use crate::config::{Settings, SigningAlgorithm};
use crate::crypto::{random_id, random_token, token_hash};
use crate::store::{ClientRow, Store, StoreError};

/// Prefix of generated client secrets (recognisable in a leaked-secret scan).
pub const SECRET_PREFIX: &str = "acs_";
/// Default overlap of a rotation: how long the old secret keeps working (seconds).
pub const DEFAULT_OVERLAP: i64 = 86_400;

/// A registered client as the domain sees it.
#[derive(Debug, Clone)]
pub struct RegisteredClient {
    /// Client ID.
    pub client_id: String,
    /// Validated metadata.
    pub metadata: ClientMetadata,
    /// Registered through RFC 7591.
    pub dynamic: bool,
    /// Creation time.
    pub created_at: i64,
    /// Last change.
    pub updated_at: i64,
}

impl RegisteredClient {
    /// From a stored row (`None` if its metadata no longer parses).
    pub fn from_row(row: ClientRow) -> Option<RegisteredClient> {
        let metadata = ClientMetadata::from_stored(&row.metadata)?;
        Some(RegisteredClient {
            client_id: row.client_id,
            metadata,
            dynamic: row.dynamic,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }

    /// The client as the CLI and the management API show it (never a secret).
    pub fn to_json(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(&self.metadata).unwrap_or_default();
        if let Some(o) = v.as_object_mut() {
            o.insert("client_id".into(), self.client_id.clone().into());
            o.insert("dynamic".into(), self.dynamic.into());
            o.insert("created_at".into(), self.created_at.into());
            o.insert("updated_at".into(), self.updated_at.into());
        }
        v
    }
}

/// A client secret in clear text: only ever returned once, never logged.
pub struct NewSecret(String);

impl NewSecret {
    /// The secret.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for NewSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewSecret(…)")
    }
}

/// Why a registry operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Bad metadata.
    #[error(transparent)]
    Metadata(#[from] MetadataError),
    /// Bad client ID.
    #[error("client_id: {0}")]
    ClientId(String),
    /// The client ID is taken (by a registered or a properties-file client).
    #[error("client {0:?} already exists")]
    Exists(String),
    /// No such registered client.
    #[error("client {0:?} not found")]
    NotFound(String),
    /// The database failed.
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for ClientError {
    fn from(e: StoreError) -> Self {
        ClientError::Store(e)
    }
}

/// Checks a client ID chosen by an administrator.
pub fn check_client_id(id: &str) -> Result<(), ClientError> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || "-._~".contains(c);
    if id.is_empty() || id.len() > 128 || !id.chars().all(ok_char) {
        return Err(ClientError::ClientId(
            "1 to 128 characters of A-Z a-z 0-9 - . _ ~".into(),
        ));
    }
    Ok(())
}

/// The algorithms the server can sign ID tokens with: the configured one, and RS256
/// (kept beside ES256/EdDSA keys for RS256-only relying parties).
pub fn available_algorithms(settings: &Settings) -> Vec<SigningAlgorithm> {
    let configured = settings.auth.signing_algorithm;
    let mut algs = vec![configured];
    if !configured.is_rsa() {
        algs.push(SigningAlgorithm::RS256);
    }
    algs
}

async fn new_secret(store: &Store, client_id: &str, now: i64) -> Result<NewSecret, StoreError> {
    let secret = NewSecret(format!("{SECRET_PREFIX}{}", random_token()));
    store
        .add_client_secret(&random_id(), client_id, &token_hash(secret.expose()), now)
        .await?;
    Ok(secret)
}

/// Registers a client; returns it and its first secret (for secret-based auth methods).
pub async fn create(
    store: &Store,
    settings: &Settings,
    client_id: Option<&str>,
    draft: MetadataDraft,
    dynamic: bool,
    now: i64,
) -> Result<(RegisteredClient, Option<NewSecret>), ClientError> {
    let metadata = ClientMetadata::new(draft, &available_algorithms(settings))?;
    let client_id = match client_id {
        Some(id) => {
            check_client_id(id)?;
            id.to_string()
        }
        None => random_id(),
    };
    if settings.is_allowed_client(&client_id) {
        return Err(ClientError::Exists(client_id));
    }
    let json = serde_json::to_string(&metadata)
        .map_err(|e| ClientError::Store(StoreError::Conflict(e.to_string())))?;
    store
        .create_client(&client_id, &metadata.client_name, &json, dynamic, now)
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => ClientError::Exists(client_id.clone()),
            other => ClientError::Store(other),
        })?;
    let secret = if metadata.token_endpoint_auth_method.uses_secret() {
        Some(new_secret(store, &client_id, now).await?)
    } else {
        None
    };
    let client = RegisteredClient {
        client_id,
        metadata,
        dynamic,
        created_at: now,
        updated_at: now,
    };
    Ok((client, secret))
}

/// A registered client by ID.
pub async fn find(store: &Store, client_id: &str) -> Result<Option<RegisteredClient>, StoreError> {
    Ok(store
        .client_by_id(client_id)
        .await?
        .and_then(RegisteredClient::from_row))
}

/// Every registered client.
pub async fn list(store: &Store) -> Result<Vec<RegisteredClient>, StoreError> {
    Ok(store
        .list_clients()
        .await?
        .into_iter()
        .filter_map(RegisteredClient::from_row)
        .collect())
}

/// Changes the fields `patch` sets. A client moving to a secret-based method without a
/// live secret gets one (returned once).
pub async fn update(
    store: &Store,
    settings: &Settings,
    client_id: &str,
    patch: MetadataDraft,
    now: i64,
) -> Result<(RegisteredClient, Option<NewSecret>), ClientError> {
    let client = find(store, client_id)
        .await?
        .ok_or_else(|| ClientError::NotFound(client_id.to_string()))?;
    let draft = client.metadata.to_draft().merged(patch);
    save(store, settings, client, draft, now).await
}

/// Replaces the metadata with `draft` (RFC 7592 update: left-out fields get defaults).
pub async fn replace(
    store: &Store,
    settings: &Settings,
    client_id: &str,
    draft: MetadataDraft,
    now: i64,
) -> Result<(RegisteredClient, Option<NewSecret>), ClientError> {
    let client = find(store, client_id)
        .await?
        .ok_or_else(|| ClientError::NotFound(client_id.to_string()))?;
    save(store, settings, client, draft, now).await
}

async fn save(
    store: &Store,
    settings: &Settings,
    mut client: RegisteredClient,
    draft: MetadataDraft,
    now: i64,
) -> Result<(RegisteredClient, Option<NewSecret>), ClientError> {
    let client_id = client.client_id.clone();
    let metadata = ClientMetadata::new(draft, &available_algorithms(settings))?;
    if client.dynamic && metadata.first_party {
        return Err(ClientError::Metadata(MetadataError {
            field: "first_party",
            message: "a dynamically registered client is never first-party".into(),
        }));
    }
    let json = serde_json::to_string(&metadata)
        .map_err(|e| ClientError::Store(StoreError::Conflict(e.to_string())))?;
    if !store
        .update_client(&client_id, &metadata.client_name, &json, now)
        .await?
    {
        return Err(ClientError::NotFound(client_id));
    }
    let secret = if metadata.token_endpoint_auth_method.uses_secret()
        && store.live_client_secrets(&client_id, now).await?.is_empty()
    {
        Some(new_secret(store, &client_id, now).await?)
    } else {
        None
    };
    client.metadata = metadata;
    client.updated_at = now;
    changed(store, &client_id, now).await?;
    Ok((client, secret))
}

/// Issues a new secret; the live ones keep working for `overlap` seconds more.
pub async fn rotate_secret(
    store: &Store,
    client_id: &str,
    overlap: i64,
    now: i64,
) -> Result<NewSecret, ClientError> {
    let client = find(store, client_id)
        .await?
        .ok_or_else(|| ClientError::NotFound(client_id.to_string()))?;
    if !client.metadata.token_endpoint_auth_method.uses_secret() {
        return Err(ClientError::ClientId(format!(
            "client {client_id:?} authenticates with {} and has no secret",
            client.metadata.token_endpoint_auth_method.as_str()
        )));
    }
    store
        .expire_client_secrets(client_id, now.saturating_add(overlap.max(0)), now)
        .await?;
    let secret = new_secret(store, client_id, now).await?;
    changed(store, client_id, now).await?;
    Ok(secret)
}

/// Tells every process to drop its cached copy of the client (`client_changed` event;
/// it only has to outlive the poll interval).
async fn changed(store: &Store, client_id: &str, now: i64) -> Result<(), StoreError> {
    store
        .add_event("client_changed", client_id, now, now.saturating_add(3600))
        .await
}

/// Removes a client and revokes every token it was issued; `false` if there was none.
pub async fn remove(
    store: &Store,
    settings: &Settings,
    client_id: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let longest = settings
        .auth
        .token_expiry
        .max(settings.auth.permanent_token_expiry)
        .max(model::MAX_LIFETIME);
    let ttl = i64::try_from(longest).unwrap_or(i64::MAX);
    store.delete_client(client_id, now, ttl).await
}
