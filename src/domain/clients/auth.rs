//! Client authentication of registered clients: each authenticates only with its own
//! method (`client_secret_basic`, `client_secret_post`, `private_key_jwt`, `none`); the
//! shared secret of the properties-file clients never authenticates one.
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use std::sync::Arc;

use super::cache::CachedClient;
use super::{find, AuthMethod, RegisteredClient};
use crate::domain::client_auth::{
    self, parse_basic, AuthenticatedClient, BasicCredentials, ClientId, CLIENT_AUTH_FAILED,
};
use crate::domain::params::Params;
use crate::domain::services::Services;
use crate::error::AppError;
use crate::store::StoreError;

/// RFC 7523 §2.2 assertion type.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Algorithms accepted for client assertions (never `none` or HS*).
pub const ASSERTION_ALGS: [&str; 4] = ["RS256", "PS256", "ES256", "EdDSA"];
/// Longest accepted remaining life of an assertion (seconds).
pub const MAX_ASSERTION_LIFE: i64 = 600;

fn fail() -> AppError {
    AppError::InvalidClient(CLIENT_AUTH_FAILED.into())
}

fn form_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(&s.replace('+', " "))
        .decode_utf8()
        .map(|d| d.into_owned())
        .unwrap_or_else(|_| s.to_string())
}

/// Authenticates the client of a token/introspection/revocation request: a registered
/// client by its own method, any other by the shared secret (`client_auth::authenticate`).
pub async fn authenticate_request(
    state: &Services,
    x_auth_secret: Option<&str>,
    authorization: Option<&str>,
    params: &Params,
    basic_is_user: bool,
    need: ClientId,
) -> Result<AuthenticatedClient, AppError> {
    let Some(client) = named_client(state, authorization, params, basic_is_user).await? else {
        return client_auth::authenticate(
            &state.settings,
            x_auth_secret,
            authorization,
            params,
            basic_is_user,
            need,
        );
    };
    let basic = match authorization {
        Some(h)
            if h.trim_start()
                .get(..6)
                .is_some_and(|p| p.eq_ignore_ascii_case("basic ")) =>
        {
            Some(parse_basic(h).ok_or_else(fail)?)
        }
        _ => None,
    };
    let presented = Presented {
        x_auth_secret,
        basic,
        params,
    };
    authenticate(state, &client, &presented).await?;
    Ok(AuthenticatedClient {
        client_id: client.client.client_id.clone(),
        registered: Some(Arc::new(client.client.metadata.clone())),
    })
}

/// What the request presents, for a registered client.
pub struct Presented<'a> {
    /// `X-Auth-Secret` (the shared secret's header: always refused for a registered client).
    pub x_auth_secret: Option<&'a str>,
    /// Decoded `Authorization: Basic`, if any.
    pub basic: Option<BasicCredentials>,
    /// The form parameters.
    pub params: &'a Params,
}

/// The registered client a request names, if it names one: the Basic user (when the
/// header carries client credentials), else the form `client_id`, else the assertion's
/// issuer. `None` for a properties-file client or an unknown ID.
pub async fn named_client(
    state: &Services,
    authorization: Option<&str>,
    params: &Params,
    basic_is_user: bool,
) -> Result<Option<Arc<CachedClient>>, AppError> {
    let form_client = params.get("client_id").ok().flatten();
    // the Teamwork Cloud client_credentials variant: a properties-file client in the form,
    // a user in the Basic header
    if basic_is_user && form_client.is_some_and(|c| state.settings.is_allowed_client(c)) {
        return Ok(None);
    }
    let basic_user = authorization
        .filter(|h| {
            h.trim_start()
                .get(..6)
                .is_some_and(|p| p.eq_ignore_ascii_case("basic "))
        })
        .and_then(parse_basic)
        .map(|b| form_decode(&b.user));
    let assertion_iss = params
        .get("client_assertion")
        .ok()
        .flatten()
        .and_then(|a| jsonwebtoken::dangerous::insecure_decode::<IssOnly>(a).ok())
        .map(|d| d.claims.iss);
    for candidate in [basic_user.as_deref(), form_client, assertion_iss.as_deref()]
        .into_iter()
        .flatten()
    {
        if state.settings.is_allowed_client(candidate) || candidate.len() > 128 {
            continue;
        }
        if let Some(client) = cached(state, candidate, false).await? {
            return Ok(Some(client));
        }
    }
    Ok(None)
}

#[derive(Deserialize)]
struct IssOnly {
    iss: String,
}

/// Authenticates `client` by its own method.
pub async fn authenticate(
    state: &Services,
    cached_client: &Arc<CachedClient>,
    presented: &Presented<'_>,
) -> Result<(), AppError> {
    let client = &cached_client.client;
    // a secret that matches none in the cache is checked once more against the database
    // (it may have been issued a moment ago by another process)
    let secret_ok = |candidates: Vec<String>| async move {
        let refs: Vec<&str> = candidates.iter().map(String::as_str).collect();
        let now = state.now();
        if cached_client.secret_matches(&refs, now) {
            return Ok::<bool, StoreError>(true);
        }
        Ok(cached(state, &client.client_id, true)
            .await?
            .is_some_and(|fresh| fresh.secret_matches(&refs, now)))
    };
    let params = presented.params;
    let form_client = params.get("client_id")?;
    let form_secret = params.get("client_secret")?;
    let assertion = params.get("client_assertion")?;
    let assertion_type = params.get("client_assertion_type")?;
    if presented.x_auth_secret.is_some() {
        return Err(fail());
    }
    if form_client.is_some_and(|c| c != client.client_id) {
        return Err(AppError::InvalidRequest(
            "client_id differs from the authenticated client".into(),
        ));
    }
    let method = client.metadata.token_endpoint_auth_method;
    let ok = match method {
        AuthMethod::ClientSecretBasic => {
            let Some(b) = &presented.basic else {
                return Err(fail());
            };
            if form_secret.is_some()
                || assertion.is_some()
                || form_decode(&b.user) != client.client_id
            {
                return Err(fail());
            }
            // as sent, or form-decoded (RFC 6749 §2.3.1): both compared, both always run
            secret_ok(vec![b.password.clone(), form_decode(&b.password)]).await?
        }
        AuthMethod::ClientSecretPost => {
            let (Some(_), Some(secret)) = (form_client, form_secret) else {
                return Err(fail());
            };
            if presented.basic.is_some() || assertion.is_some() {
                return Err(fail());
            }
            secret_ok(vec![secret.to_string()]).await?
        }
        AuthMethod::None => {
            form_client.is_some()
                && presented.basic.is_none()
                && form_secret.is_none()
                && assertion.is_none()
        }
        AuthMethod::PrivateKeyJwt => {
            if presented.basic.is_some() || form_secret.is_some() {
                return Err(fail());
            }
            match (assertion, assertion_type) {
                (Some(a), Some(JWT_BEARER)) => verify_assertion(state, client, a).await?,
                _ => false,
            }
        }
    };
    if !ok {
        tracing::info!(target: "authserver::audit", client = %client.client_id, method = method.as_str(), "client authentication failed");
        return Err(fail());
    }
    Ok(())
}

#[derive(Deserialize)]
struct AssertionClaims {
    iss: String,
    sub: String,
    exp: i64,
    jti: String,
}

fn algorithm(name: &str) -> Option<Algorithm> {
    Some(match name {
        "RS256" => Algorithm::RS256,
        "PS256" => Algorithm::PS256,
        "ES256" => Algorithm::ES256,
        "EdDSA" => Algorithm::EdDSA,
        _ => return None,
    })
}

/// RFC 7523 §3: signed by one of the client's keys with an allowed algorithm,
/// `iss` = `sub` = client ID, `aud` our token endpoint or issuer, short `exp`, `jti`
/// used once.
async fn verify_assertion(
    state: &Services,
    client: &RegisteredClient,
    assertion: &str,
) -> Result<bool, AppError> {
    if assertion.len() > 8192 {
        return Ok(false);
    }
    let Ok(header) = jsonwebtoken::decode_header(assertion) else {
        return Ok(false);
    };
    let alg_name = format!("{:?}", header.alg);
    let Some(alg) = ASSERTION_ALGS
        .contains(&alg_name.as_str())
        .then(|| algorithm(&alg_name))
        .flatten()
    else {
        return Ok(false);
    };
    let jwks = match &client.metadata.jwks {
        Some(v) => serde_json::from_value::<JwkSet>(v.clone()).ok(),
        None => match &client.metadata.jwks_uri {
            Some(uri) => super::jwks_fetch::jwks(uri, state.now()).await,
            None => None,
        },
    };
    let Some(jwks) = jwks else {
        return Ok(false);
    };
    let candidates: Vec<_> = match &header.kid {
        Some(kid) => jwks.find(kid).into_iter().collect(),
        None => jwks.keys.iter().collect(),
    };
    let issuer = state.issuer();
    let audiences = [format!("{issuer}/api/token"), issuer];
    let mut validation = Validation::new(alg);
    validation.set_audience(&audiences);
    validation.set_issuer(&[client.client_id.as_str()]);
    validation.set_required_spec_claims(&["exp", "aud", "iss", "sub"]);
    // expiry against the server's clock (below), not the library's
    validation.validate_exp = false;
    let mut claims = None;
    for jwk in candidates {
        let Ok(key) = DecodingKey::from_jwk(jwk) else {
            continue;
        };
        if let Ok(data) = jsonwebtoken::decode::<AssertionClaims>(assertion, &key, &validation) {
            claims = Some(data.claims);
            break;
        }
    }
    let Some(claims) = claims else {
        return Ok(false);
    };
    let now = state.now();
    if claims.iss != client.client_id
        || claims.sub != client.client_id
        || claims.exp <= now
        || claims.exp > now + MAX_ASSERTION_LIFE
        || claims.jti.is_empty()
        || claims.jti.len() > 256
        || claims.jti.contains('\0')
    {
        return Ok(false);
    }
    // one-time: a replay within the assertion's life is refused (on every instance)
    Ok(state
        .store
        .use_assertion_jti(&client.client_id, &claims.jti, claims.exp)
        .await?)
}

/// A registered client with its secrets, from the process's cache or (then cached) the
/// database; `fresh` skips the cache.
pub async fn cached(
    state: &Services,
    client_id: &str,
    fresh: bool,
) -> Result<Option<Arc<CachedClient>>, StoreError> {
    let (store, revocations, now) = (&state.store, &state.revocations, state.now());
    if !fresh {
        if let Some(hit) = revocations.clients().get(client_id) {
            return Ok(Some(hit));
        }
    }
    let seq_before = revocations.seq();
    let Some(client) = find(store, client_id).await? else {
        revocations.clients().forget(client_id);
        return Ok(None);
    };
    let secrets = store.client_secrets_with_expiry(client_id, now).await?;
    let entry = Arc::new(CachedClient { client, secrets });
    // only cache if no event slipped in while we read (it might concern this client)
    if revocations.seq() == seq_before {
        revocations.clients().insert(entry.clone());
    }
    Ok(Some(entry))
}
