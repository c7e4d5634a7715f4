//! Answering a `client_credentials` call from the cache of issued pairs, or signing one.
use crate::domain::issued::{Credential, Pair};
use crate::domain::services::Services;
use crate::domain::tokens::{mint_pair, Mint, TokenResponse};
use crate::error::AppError;

/// The `client_credentials` response for `m`: the pair issued earlier for the same
/// credential, client and scope while it is fresh, else a newly signed one (remembered).
pub async fn reuse_or_mint(
    state: &Services,
    credential: Credential<'_>,
    m: &Mint<'_>,
) -> Result<TokenResponse, AppError> {
    let scope = m.scope.to_string();
    let cache = &state.issued;
    let key = cache.key(credential, m.client_id, &scope);
    let now = state.now();
    let ring = state.keys.ring();
    let active_kid = &ring.active()?.kid;
    if let Some(pair) = cache.get(&key, m.user, &state.revocations, active_kid, now) {
        return Ok(response(pair));
    }
    let (access_token, id_token) = mint_pair(state, m).await?;
    let pair = Pair {
        access_token,
        id_token,
        scope,
        expires_in: m.lifetime,
    };
    cache.insert(key, &pair, m.user, m.pat, now);
    Ok(response(pair))
}

fn response(pair: Pair) -> TokenResponse {
    TokenResponse {
        access_token: pair.access_token,
        token_type: "Bearer",
        expires_in: pair.expires_in,
        id_token: pair.id_token,
        scope: pair.scope,
        refresh_token: None,
    }
}
