//! The JWK Sets that `private_key_jwt` clients publish at their `jwks_uri`: fetched with a
//! timeout and a size limit, cached for [`CACHE_SECS`] (a failed fetch is cached too, for
//! [`FAILURE_SECS`], so a dead URI cannot slow every token request down).
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use jsonwebtoken::jwk::JwkSet;

/// How long a fetched set is used.
pub const CACHE_SECS: i64 = 300;
/// How long a failed fetch is remembered.
pub const FAILURE_SECS: i64 = 30;
/// Largest accepted document.
const MAX_BYTES: usize = 64 * 1024;
/// Most URIs cached.
const MAX_ENTRIES: usize = 10_000;

type Cache = Mutex<HashMap<String, (i64, Option<JwkSet>)>>;

fn cache() -> &'static Cache {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

fn client() -> Option<&'static reqwest::Client> {
    static CLIENT: OnceLock<Option<reqwest::Client>> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .connect_timeout(Duration::from_secs(3))
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .ok()
        })
        .as_ref()
}

async fn fetch(uri: &str) -> Option<JwkSet> {
    let response = client()?.get(uri).send().await.ok()?;
    if !response.status().is_success() {
        return None;
    }
    if response
        .content_length()
        .is_some_and(|n| n > MAX_BYTES as u64)
    {
        return None;
    }
    let body = response.bytes().await.ok()?;
    if body.len() > MAX_BYTES {
        return None;
    }
    serde_json::from_slice(&body).ok()
}

/// The set at `uri`, from the cache or fetched now.
pub async fn jwks(uri: &str, now: i64) -> Option<JwkSet> {
    if let Some((until, set)) = cache().lock().unwrap_or_else(|p| p.into_inner()).get(uri) {
        if *until > now {
            return set.clone();
        }
    }
    let set = fetch(uri).await;
    if set.is_none() {
        tracing::warn!(jwks_uri = %uri, "fetching a client's jwks_uri failed");
    }
    let until = now
        + if set.is_some() {
            CACHE_SECS
        } else {
            FAILURE_SECS
        };
    let mut c = cache().lock().unwrap_or_else(|p| p.into_inner());
    if c.len() >= MAX_ENTRIES {
        c.clear();
    }
    c.insert(uri.to_string(), (until, set.clone()));
    set
}
