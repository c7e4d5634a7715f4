//! Dynamic client registration (RFC 7591) and its management protocol (RFC 7592).
//!
//! A registration request carries RFC 7591 metadata; the fields this server knows are
//! validated by the one client model ([`ClientMetadata::new`]), the administrator-only
//! ones (`first_party`, lifetimes, prefix matching) are never taken from it, and unknown
//! ones are ignored (RFC 7591 §2). A dynamically registered client is never first-party.
//! Initial access tokens (mode `token`) and registration access tokens are 256-bit random
//! tokens stored only as SHA-256.
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use serde_json::{Map, Value};

use super::model::{ClientMetadata, MetadataDraft, MetadataError};
use super::{ClientError, NewSecret, RegisteredClient};
use crate::config::Settings;
use crate::crypto::{ct_eq, random_id, random_token, token_hash};
use crate::store::{RegistrationTokenRow, Store, StoreError};

/// Prefix of initial access tokens (recognisable in a leaked-secret scan).
pub const IAT_PREFIX: &str = "aiat_";
/// Prefix of registration access tokens.
pub const RAT_PREFIX: &str = "arat_";
/// Largest registration request body accepted, bytes.
pub const MAX_BODY: usize = 16 * 1024;
/// Registrations one address may make per [`RATE_WINDOW`] in `open` mode.
pub const RATE_LIMIT: usize = 10;
/// The window of [`RATE_LIMIT`], seconds.
pub const RATE_WINDOW: i64 = 3600;

/// Why a registration request is refused.
#[derive(Debug, thiserror::Error)]
pub enum RegistrationError {
    /// Bad metadata (`invalid_redirect_uri` or `invalid_client_metadata`, 400).
    #[error(transparent)]
    Metadata(#[from] MetadataError),
    /// The initial or registration access token is missing or wrong (401).
    #[error("the access token is missing, invalid, expired or used up")]
    Token,
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<ClientError> for RegistrationError {
    fn from(e: ClientError) -> Self {
        match e {
            ClientError::Metadata(m) => RegistrationError::Metadata(m),
            ClientError::Store(s) => RegistrationError::Store(s),
            // a random client ID never clashes in practice; an update of a client removed
            // meanwhile is a client the token no longer manages
            ClientError::ClientId(_) | ClientError::Exists(_) | ClientError::NotFound(_) => {
                RegistrationError::Token
            }
        }
    }
}

fn field_error(field: &'static str, expected: &str) -> MetadataError {
    MetadataError {
        field,
        message: format!("must be {expected}"),
    }
}

fn take<T: serde::de::DeserializeOwned>(
    obj: &Map<String, Value>,
    field: &'static str,
    expected: &str,
) -> Result<Option<T>, MetadataError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => serde_json::from_value(v.clone())
            .map(Some)
            .map_err(|_| field_error(field, expected)),
    }
}

/// The draft an RFC 7591 request describes: known fields only, never first-party.
pub fn draft_from_request(obj: &Map<String, Value>) -> Result<MetadataDraft, MetadataError> {
    let strings = "an array of strings";
    let redirect_uris: Option<Vec<String>> = take(obj, "redirect_uris", strings)?;
    let client_name = take::<String>(obj, "client_name", "a string")?.or_else(|| {
        // RFC 7591 makes the name optional; the consent page needs one
        let first = redirect_uris.as_ref()?.first()?;
        let url = url::Url::parse(first).ok()?;
        Some(url.host_str().unwrap_or(url.scheme()).to_string())
    });
    Ok(MetadataDraft {
        client_name,
        redirect_uris,
        redirect_uri_prefix_match: None,
        post_logout_redirect_uris: take(obj, "post_logout_redirect_uris", strings)?,
        grant_types: take(obj, "grant_types", strings)?,
        response_types: take(obj, "response_types", strings)?,
        token_endpoint_auth_method: take(obj, "token_endpoint_auth_method", "a string")?,
        jwks: take::<Value>(obj, "jwks", "a JWK Set")?,
        jwks_uri: take(obj, "jwks_uri", "a string")?,
        scope: take(obj, "scope", "a space-separated string")?,
        access_token_lifetime: None,
        refresh_token_lifetime: None,
        id_token_signed_response_alg: take(obj, "id_token_signed_response_alg", "a string")?,
        first_party: Some(false),
    })
}

/// The client as RFC 7591 §3.2.1 / RFC 7592 §3 answer it (never a stored secret).
pub fn response(
    client: &RegisteredClient,
    registration_client_uri: &str,
    secret: Option<&NewSecret>,
    access_token: Option<&NewSecret>,
) -> Value {
    let m = &client.metadata;
    let mut o = Map::new();
    o.insert("client_id".into(), client.client_id.clone().into());
    o.insert("client_id_issued_at".into(), client.created_at.into());
    if let Some(s) = secret {
        o.insert("client_secret".into(), s.expose().into());
    }
    if m.token_endpoint_auth_method.uses_secret() {
        // secrets do not expire unless rotated
        o.insert("client_secret_expires_at".into(), 0.into());
    }
    if let Some(t) = access_token {
        o.insert("registration_access_token".into(), t.expose().into());
    }
    o.insert(
        "registration_client_uri".into(),
        registration_client_uri.into(),
    );
    o.insert("client_name".into(), m.client_name.clone().into());
    o.insert("redirect_uris".into(), m.redirect_uris.clone().into());
    if !m.post_logout_redirect_uris.is_empty() {
        o.insert(
            "post_logout_redirect_uris".into(),
            m.post_logout_redirect_uris.clone().into(),
        );
    }
    o.insert("grant_types".into(), m.grant_types.clone().into());
    o.insert("response_types".into(), m.response_types.clone().into());
    o.insert(
        "token_endpoint_auth_method".into(),
        m.token_endpoint_auth_method.as_str().into(),
    );
    if let Some(j) = &m.jwks {
        o.insert("jwks".into(), j.clone());
    }
    if let Some(u) = &m.jwks_uri {
        o.insert("jwks_uri".into(), u.clone().into());
    }
    o.insert("scope".into(), m.scope.clone().into());
    if let Some(a) = &m.id_token_signed_response_alg {
        o.insert("id_token_signed_response_alg".into(), a.clone().into());
    }
    Value::Object(o)
}

fn new_token(prefix: &str) -> NewSecret {
    NewSecret(format!("{prefix}{}", random_token()))
}

/// Registers a client from an RFC 7591 request. In `token` mode `initial_token` is the
/// bearer's initial access token: one of its uses is spent only once the metadata is
/// valid. Returns the client, its secret (if it uses one) and its registration access
/// token.
pub async fn register(
    store: &Store,
    settings: &Settings,
    obj: &Map<String, Value>,
    initial_token: Option<&str>,
    now: i64,
) -> Result<(RegisteredClient, Option<NewSecret>, NewSecret), RegistrationError> {
    if let Some(token) = initial_token {
        if !store
            .registration_token_usable(&token_hash(token), now)
            .await?
        {
            return Err(RegistrationError::Token);
        }
    }
    let draft = draft_from_request(obj)?;
    // validated before a use is spent (and again by `create`, the one model)
    ClientMetadata::new(draft.clone(), &super::available_algorithms(settings))?;
    if let Some(token) = initial_token {
        if !store
            .use_registration_token(&token_hash(token), now)
            .await?
        {
            return Err(RegistrationError::Token);
        }
    }
    let (client, secret) = super::create(store, settings, None, draft, true, now).await?;
    let access_token = new_token(RAT_PREFIX);
    store
        .set_client_registration_token(&client.client_id, &token_hash(access_token.expose()))
        .await?;
    tracing::info!(target: "authserver::audit", client = %client.client_id, name = %client.metadata.client_name, "client registered dynamically");
    Ok((client, secret, access_token))
}

/// The dynamically registered client `client_id` if `access_token` is its registration
/// access token (constant-time comparison); else [`RegistrationError::Token`], whether
/// the client exists or not.
pub async fn managed_client(
    store: &Store,
    client_id: &str,
    access_token: &str,
) -> Result<RegisteredClient, RegistrationError> {
    let presented = token_hash(access_token);
    let stored = store.client_registration_token(client_id).await?;
    let matches = stored.is_some_and(|h| ct_eq(&h, &presented));
    if !matches {
        return Err(RegistrationError::Token);
    }
    super::find(store, client_id)
        .await?
        .filter(|c| c.dynamic)
        .ok_or(RegistrationError::Token)
}

/// RFC 7592 §2.2: replaces the client's metadata with the request's (fields left out
/// return to their defaults). A new secret is returned if the client newly needs one.
pub async fn replace(
    store: &Store,
    settings: &Settings,
    client: &RegisteredClient,
    obj: &Map<String, Value>,
    now: i64,
) -> Result<(RegisteredClient, Option<NewSecret>), RegistrationError> {
    if let Some(id) = obj.get("client_id") {
        if id.as_str() != Some(client.client_id.as_str()) {
            return Err(field_error("client_id", "the client's own ID").into());
        }
    }
    let draft = draft_from_request(obj)?;
    let (client, secret) = super::replace(store, settings, &client.client_id, draft, now).await?;
    Ok((client, secret))
}

/// Creates an initial access token; returns its stored row and the token (shown once).
pub async fn create_initial_token(
    store: &Store,
    description: &str,
    expires_at: Option<i64>,
    uses: Option<i64>,
    now: i64,
) -> Result<(RegistrationTokenRow, NewSecret), StoreError> {
    let token = new_token(IAT_PREFIX);
    let row = RegistrationTokenRow {
        id: random_id(),
        description: description.to_string(),
        created_at: now,
        expires_at,
        uses_left: uses,
    };
    store
        .create_registration_token(&row, &token_hash(token.expose()))
        .await?;
    Ok((row, token))
}

/// Counts registrations per address in `open` mode (per process).
#[derive(Debug, Default)]
pub struct RateLimiter {
    seen: Mutex<HashMap<IpAddr, Vec<i64>>>,
}

impl RateLimiter {
    /// `Err(wait)` (seconds) if `ip` made [`RATE_LIMIT`] registrations in the last
    /// [`RATE_WINDOW`] before `now`. Refused requests are not counted (they write nothing).
    pub fn check(&self, ip: IpAddr, now: i64) -> Result<(), u64> {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let Some(times) = seen.get_mut(&ip) else {
            return Ok(());
        };
        times.retain(|t| *t > now - RATE_WINDOW);
        if times.len() >= RATE_LIMIT {
            let oldest = times.first().copied().unwrap_or(now);
            let wait = oldest
                .saturating_add(RATE_WINDOW)
                .saturating_sub(now)
                .max(1);
            return Err(u64::try_from(wait).unwrap_or(1));
        }
        Ok(())
    }

    /// Counts a registration by `ip` at `now`.
    pub fn record(&self, ip: IpAddr, now: i64) {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.len() > 100_000 {
            seen.retain(|_, times| times.iter().any(|t| *t > now - RATE_WINDOW));
        }
        seen.entry(ip).or_default().push(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_never_makes_a_first_party_client_and_ignores_unknown_fields() {
        let obj = serde_json::json!({
            "redirect_uris": ["https://rp.example/cb"],
            "first_party": true,
            "access_token_lifetime": 99999,
            "logo_uri": "https://rp.example/logo.png",
        });
        let draft = draft_from_request(obj.as_object().unwrap()).unwrap();
        assert_eq!(draft.first_party, Some(false));
        assert_eq!(draft.access_token_lifetime, None);
        assert_eq!(draft.client_name.as_deref(), Some("rp.example"));
    }

    #[test]
    fn a_mistyped_field_is_invalid_client_metadata() {
        let obj = serde_json::json!({"redirect_uris": "https://rp.example/cb"});
        let e = draft_from_request(obj.as_object().unwrap()).unwrap_err();
        assert_eq!(e.code(), "invalid_redirect_uri");
        let obj = serde_json::json!({"grant_types": [1]});
        let e = draft_from_request(obj.as_object().unwrap()).unwrap_err();
        assert_eq!(e.code(), "invalid_client_metadata");
    }

    #[test]
    fn an_address_gets_the_limit_per_window() {
        let limiter = RateLimiter::default();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..RATE_LIMIT {
            assert!(limiter.check(ip, 1000).is_ok());
            limiter.record(ip, 1000);
        }
        assert!(limiter.check(ip, 1000).is_err());
        assert!(limiter.check("192.0.2.2".parse().unwrap(), 1000).is_ok());
        assert!(limiter.check(ip, 1000 + RATE_WINDOW).is_ok());
    }
}
