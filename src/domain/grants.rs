//! The grants of the token endpoint.
use crate::crypto::{ordered_id, token_hash};
use crate::domain::client_auth::AuthenticatedClient;
use crate::domain::client_auth::{parse_basic, CLIENT_AUTH_FAILED};
use crate::domain::clients::grants as registered;
use crate::domain::issued;
use crate::domain::login::{check_cached_password, PasswordCheck};
use crate::domain::params::Params;
use crate::domain::pat;
use crate::domain::pkce::CodeChallenge;
use crate::domain::scope::Scope;
use crate::domain::services::Services;
use crate::domain::tokens::{
    mint_pair_signed, start_family_lasting, FamilyStart, Mint, TokenResponse,
};
use crate::error::AppError;
use crate::store::{CodeUse, Rotation, User};

const BAD_CODE: &str = "the authorization code is invalid, expired or was already used";

/// `grant_type=authorization_code` (RFC 6749 §4.1.3, RFC 7636 §4.6).
pub async fn authorization_code(
    state: &Services,
    client: &AuthenticatedClient,
    params: &Params,
) -> Result<TokenResponse, AppError> {
    let code = params.require("code")?;
    let redirect_uri = params.require("redirect_uri")?;
    let verifier = params.get("code_verifier")?;
    let now = state.now();
    let hash = token_hash(code);
    let grant = match state.store.consume_code(&hash, now).await? {
        CodeUse::Fresh(g) => g,
        CodeUse::Replayed => {
            state.sync_revocations().await;
            tracing::warn!(target: "authserver::audit", client = %client.client_id, "authorization code replayed; its tokens are revoked");
            return Err(AppError::InvalidGrant(BAD_CODE.into()));
        }
        CodeUse::Invalid => return Err(AppError::InvalidGrant(BAD_CODE.into())),
    };
    if grant.client_id != client.client_id {
        return Err(AppError::InvalidGrant(
            "the authorization code was issued to another client".into(),
        ));
    }
    if grant.redirect_uri != redirect_uri {
        return Err(AppError::InvalidGrant(
            "redirect_uri differs from the one of the authorization request".into(),
        ));
    }
    crate::domain::clients::grants::check_code_exchange(client, grant.code_challenge.is_some())?;
    match (&grant.code_challenge, verifier) {
        (Some(challenge), Some(v)) => {
            if !CodeChallenge::from_stored(challenge.clone()).verify(v) {
                return Err(AppError::InvalidGrant(
                    "code_verifier does not match the code_challenge".into(),
                ));
            }
        }
        (Some(_), None) => return Err(AppError::InvalidGrant("code_verifier is missing".into())),
        (None, Some(_)) => {
            return Err(AppError::InvalidGrant(
                "code_verifier sent for a code issued without code_challenge".into(),
            ))
        }
        (None, None) => {}
    }
    // the cached user when it is the one the code was issued to (as fresh as the event
    // log, like the refresh grant's); any other answer is checked against the database,
    // so a cache another instance has not yet told of a new generation refuses nothing
    let usable = |u: &User| !u.disabled && u.generation == grant.generation;
    let user = match state
        .revocations
        .user_by_id(&state.store, grant.user_id)
        .await?
    {
        Some(u) if usable(&u) => u,
        _ => std::sync::Arc::new(
            state
                .store
                .user_by_id(grant.user_id)
                .await?
                .filter(usable)
                .ok_or_else(|| AppError::InvalidGrant(BAD_CODE.into()))?,
        ),
    };
    let scope = Scope::from_stored(&grant.scope);
    let response = sign_in_tokens(
        state,
        client,
        &user,
        &scope,
        grant.auth_time,
        grant.nonce.as_deref(),
        Some(&hash),
    )
    .await?;
    tracing::info!(target: "authserver::audit", user = %user.username, client = %client.client_id, "code exchanged");
    Ok(response)
}

/// The answer of a sign-in grant (code exchange, password, device code): a new refresh
/// family, an access token and, when the scope holds `openid`, an ID token, with the
/// client's lifetimes and ID-token algorithm (a registered client's own, else the
/// server's). `code_hash` links the family to the code it was exchanged for.
pub(crate) async fn sign_in_tokens(
    state: &Services,
    client: &AuthenticatedClient,
    user: &User,
    scope: &Scope,
    auth_time: i64,
    nonce: Option<&str>,
    code_hash: Option<&[u8]>,
) -> Result<TokenResponse, AppError> {
    let family = ordered_id();
    let lifetime = registered::access_lifetime(state, client);
    let mint = Mint {
        user,
        client_id: &client.client_id,
        scope,
        auth_time: Some(auth_time),
        nonce,
        lifetime,
        family: Some(&family),
        pat: None,
    };
    // the family is written while its tokens are signed: the writer and the signers work
    // at once, and the grant waits for the slower of the two instead of both in turn. If
    // the write fails, the signed tokens are dropped unseen; a family born revoked (its
    // code replayed meanwhile) makes them dead on arrival, as before.
    let start = FamilyStart {
        family: &family,
        user,
        client_id: &client.client_id,
        scope,
        auth_time,
        code_hash,
        lifetime: registered::refresh_lifetime(state, client),
    };
    let (refresh, (access_token, id_token)) = tokio::try_join!(
        start_family_lasting(state, &start),
        mint_pair_signed(state, &mint, registered::id_token_alg(client)),
    )?;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: lifetime,
        id_token,
        scope: scope.to_string(),
        refresh_token: Some(refresh),
    })
}

const BAD_REFRESH: &str = "the refresh token is invalid, expired or revoked";

/// `grant_type=refresh_token` (RFC 6749 §6) with one-time rotation and reuse detection.
pub async fn refresh_token(
    state: &Services,
    client: &AuthenticatedClient,
    params: &Params,
) -> Result<TokenResponse, AppError> {
    registered::require_grant(client, "refresh_token")?;
    let presented = params.require("refresh_token")?;
    let old_hash = token_hash(presented);
    // narrowing is checked before the token is spent, so a bad scope costs nothing
    let requested = params.get("scope")?;
    // (only for a live token of this client: anything else goes on to the rotation, where
    // a spent token is detected as reuse)
    if let Some(requested) = requested {
        if let Some(info) = state.store.refresh_info(&old_hash).await? {
            let live = info.spent_at.is_none()
                && info.revoked_at.is_none()
                && info.client_id == client.client_id
                && info.expires_at > state.now();
            if live {
                Scope::from_stored(&info.scope)
                    .narrow(requested)
                    .map_err(AppError::InvalidScope)?;
            }
        }
    }
    let now = state.now();
    let new_token = crate::crypto::random_token();
    let grace = i64::try_from(state.settings.auth.refresh_reuse_grace).unwrap_or(0);
    let lifetime = registered::refresh_lifetime(state, client);
    let info = match state
        .store
        .rotate_refresh(
            &old_hash,
            &client.client_id,
            &token_hash(&new_token),
            now,
            grace,
            lifetime,
        )
        .await?
    {
        Rotation::Rotated(info) => info,
        Rotation::Reused { family_id } => {
            crate::metrics::refresh_reuse();
            state.sync_revocations().await;
            tracing::warn!(target: "authserver::audit", client = %client.client_id, family = %family_id,
                "spent refresh token reused; its family is revoked");
            return Err(AppError::InvalidGrant(BAD_REFRESH.into()));
        }
        Rotation::Invalid => return Err(AppError::InvalidGrant(BAD_REFRESH.into())),
    };
    let user = state
        .revocations
        .user(&state.store, &info.username)
        .await?
        .filter(|u| !u.disabled)
        .ok_or_else(|| AppError::InvalidGrant(BAD_REFRESH.into()))?;
    let granted = Scope::from_stored(&info.scope);
    // a family started by a secret-key login lives only as long as its PAT
    let family_pat = if granted.contains(pat::PatScope::Data.claim())
        || granted.contains(pat::PatScope::Management.claim())
    {
        let id = state.store.family_pat(&info.family_id).await?;
        match id {
            Some(id) if pat::id_live(&state.store, &state.revocations, &id, now).await? => Some(id),
            Some(_) => return Err(AppError::InvalidGrant(BAD_REFRESH.into())),
            None => None,
        }
    } else {
        None
    };
    let scope = match requested {
        Some(r) => granted.narrow(r).map_err(AppError::InvalidScope)?,
        None => granted,
    };
    let lifetime = registered::access_lifetime(state, client);
    let (access_token, id_token) = mint_pair_signed(
        state,
        &Mint {
            user: &user,
            client_id: &client.client_id,
            scope: &scope,
            auth_time: Some(info.auth_time),
            nonce: None,
            lifetime,
            family: Some(&info.family_id),
            pat: family_pat.as_deref(),
        },
        registered::id_token_alg(client),
    )
    .await?;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: lifetime,
        id_token,
        scope: scope.to_string(),
        refresh_token: Some(new_token),
    })
}

/// `grant_type=client_credentials`, Teamwork Cloud style: `Authorization: Basic` carries a
/// user's `username:password`. Repeated valid calls are served from the verified-
/// credential cache; everything else pays argon2 behind the throttle.
pub async fn client_credentials(
    state: &Services,
    client: &AuthenticatedClient,
    params: &Params,
    authorization: Option<&str>,
    client_ip: std::net::IpAddr,
) -> Result<TokenResponse, AppError> {
    // a registered client is its own subject; the user variant is never offered to one
    if client.registered.is_some() {
        return registered::client_credentials(state, client, params).await;
    }
    let fail = || AppError::InvalidClient(CLIENT_AUTH_FAILED.into());
    let basic = authorization.and_then(parse_basic).ok_or_else(fail)?;
    if basic.password.is_empty() && pat::looks_like_pat(&basic.user) {
        return secret_key_login(state, client, params, &basic.user).await;
    }
    let now = state.now();
    let user = match check_cached_password(state, &basic.user, &basic.password, client_ip).await? {
        PasswordCheck::Verified(user) => user,
        PasswordCheck::Refused => {
            tracing::info!(target: "authserver::audit", client = %client.client_id, "client_credentials sign-in failed");
            return Err(fail());
        }
        PasswordCheck::Throttled(wait) => return Err(AppError::Throttled(wait)),
        PasswordCheck::Unavailable => {
            return Err(AppError::Unavailable(
                "the directory that checks this user's password is unavailable; retry later".into(),
            ))
        }
    };
    let mut scope =
        Scope::parse_requested(&format!("openid {}", params.get("scope")?.unwrap_or("")))
            .map_err(AppError::InvalidScope)?;
    scope.remove("offline_access");
    let lifetime = if state.settings.is_permanent_client(&client.client_id) {
        state.settings.auth.permanent_token_expiry
    } else {
        state.settings.auth.token_expiry
    };
    let lifetime = i64::try_from(lifetime).unwrap_or(i64::MAX);
    // the verified pair's keyed fingerprint (never the password) keys the issued pair
    let fingerprint = state.credentials.fingerprint(&basic.user, &basic.password);
    issued::reuse::reuse_or_mint(
        state,
        issued::Credential::Password(&fingerprint),
        &Mint {
            user: &user,
            client_id: &client.client_id,
            scope: &scope,
            auth_time: Some(now),
            nonce: None,
            lifetime,
            family: None,
            pat: None,
        },
    )
    .await
}

/// `client_credentials` with `Basic base64(<pat>:)` (primaTime's "secret key" login): tokens
/// for the PAT's owner without argon2 (the PAT is checked in memory, so no throttle is
/// needed either: a 256-bit token cannot be guessed).
///
/// The `scope` claim is `openid` (plus `profile`/`email` when requested) and `pat:data` or
/// `pat:management`, so resource servers can tell such tokens apart; the tokens carry the
/// `pat` claim, never outlive the PAT and fail validation once it is revoked. With
/// `offline_access`, a client in `authentication.client.offline` also gets a refresh
/// token (see [`pat_family`]).
async fn secret_key_login(
    state: &Services,
    client: &AuthenticatedClient,
    params: &Params,
    token: &str,
) -> Result<TokenResponse, AppError> {
    let valid = pat::validate(&state.store, &state.revocations, token, state.now())
        .await
        .map_err(|e| match e {
            AppError::InvalidToken(_) => AppError::InvalidClient(CLIENT_AUTH_FAILED.into()),
            other => other,
        })?;
    let now = state.now();
    let mut scope =
        Scope::parse_requested(&format!("openid {}", params.get("scope")?.unwrap_or("")))
            .map_err(AppError::InvalidScope)?;
    let offline = registered::script_refresh(state, client, &scope);
    if !offline {
        scope.remove("offline_access");
    }
    let scope = Scope::from_stored(&format!("{scope} {}", valid.record.scope.claim()));
    let normal = if state.settings.is_permanent_client(&client.client_id) {
        state.settings.auth.permanent_token_expiry
    } else {
        state.settings.auth.token_expiry
    };
    let normal = i64::try_from(normal).unwrap_or(i64::MAX);
    let lifetime = match valid.record.expires_at {
        Some(expires_at) => normal.min(expires_at.saturating_sub(now)),
        None => normal,
    };
    if offline {
        return pat_family(state, client, &valid, &scope, lifetime).await;
    }
    let response = issued::reuse::reuse_or_mint(
        state,
        issued::Credential::Pat(token),
        &Mint {
            user: &valid.user,
            client_id: &client.client_id,
            scope: &scope,
            auth_time: Some(now),
            nonce: None,
            lifetime,
            family: None,
            pat: Some(&valid.record.id),
        },
    )
    .await?;
    tracing::debug!(target: "authserver::audit", user = %valid.user.username, pat = %valid.record.id, client = %client.client_id, "signed in with a personal access token");
    Ok(response)
}

/// A secret-key login with `offline_access` for a client in
/// `authentication.client.offline`: a new refresh family tied to the PAT (its refreshes
/// fail, and the tokens they mint die, once the PAT is revoked or expires), and an access
/// token (and ID token) minted in it.
async fn pat_family(
    state: &Services,
    client: &AuthenticatedClient,
    valid: &pat::ValidPat,
    scope: &Scope,
    lifetime: i64,
) -> Result<TokenResponse, AppError> {
    let now = state.now();
    let family = ordered_id();
    let refresh = start_family_lasting(
        state,
        &FamilyStart {
            family: &family,
            user: &valid.user,
            client_id: &client.client_id,
            scope,
            auth_time: now,
            code_hash: None,
            lifetime: registered::refresh_lifetime(state, client),
        },
    )
    .await?;
    state
        .store
        .set_family_pat(&family, &valid.record.id)
        .await?;
    let (access_token, id_token) = mint_pair_signed(
        state,
        &Mint {
            user: &valid.user,
            client_id: &client.client_id,
            scope,
            auth_time: Some(now),
            nonce: None,
            lifetime,
            family: Some(&family),
            pat: Some(&valid.record.id),
        },
        registered::id_token_alg(client),
    )
    .await?;
    tracing::info!(target: "authserver::audit", user = %valid.user.username, pat = %valid.record.id, client = %client.client_id, "signed in with a personal access token, with a refresh token");
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: lifetime,
        id_token,
        scope: scope.to_string(),
        refresh_token: Some(refresh),
    })
}
