//! The device authorization grant (RFC 8628): the device endpoint's request, user codes,
//! the decision on the verification page and the token endpoint's polls.
//!
//! The device code is a 256-bit random token; the user code is 8 characters from a
//! 20-letter alphabet without vowels (no words, no look-alikes), shown as `XXXX-XXXX` and
//! accepted in any case, with or without the dash. Only SHA-256 hashes of both are stored.
//! Failed user-code entries count against the address (`crate::throttle`, key `c:`), as
//! failed passwords do, so guessing one of ~2.6·10¹⁰ codes is hopeless.
use serde::Serialize;

use crate::crypto::{random_bytes, random_token, token_hash};
use crate::domain::client_auth::AuthenticatedClient;
use crate::domain::grants::sign_in_tokens;
use crate::domain::params::Params;
use crate::domain::poll_gate::Gate;
use crate::domain::scope::Scope;
use crate::domain::services::Services;
use crate::domain::tokens::TokenResponse;
use crate::error::AppError;
use crate::store::{NewDeviceRequest, PendingDevice, StoreError, User};
use crate::throttle;

/// The grant type at the token endpoint.
pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// The user-code alphabet: consonants only, no look-alikes (20 letters).
pub const USER_CODE_ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";
/// Characters in a user code (without the dash).
pub const USER_CODE_LEN: usize = 8;
/// How long a device code lives, seconds.
pub const DEVICE_CODE_TTL: i64 = 600;
/// The polling interval a new request starts with, seconds.
pub const INTERVAL: i64 = 5;

const BAD_DEVICE_CODE: &str = "the device code is invalid or was already used";

/// A fresh user code, `XXXX-XXXX` (uniform over the alphabet: bytes ≥ 240 are redrawn).
pub fn generate_user_code() -> String {
    let mut code = String::with_capacity(USER_CODE_LEN + 1);
    while code.len() < USER_CODE_LEN + 1 {
        for b in random_bytes::<16>() {
            if b >= 240 || code.len() == USER_CODE_LEN + 1 {
                continue;
            }
            if code.len() == 4 {
                code.push('-');
            }
            code.push(char::from(USER_CODE_ALPHABET[usize::from(b % 20)]));
        }
    }
    code
}

/// A user code as typed, normalised (upper case, dashes and spaces dropped); `None` if it
/// cannot be one of ours.
pub fn normalize_user_code(typed: &str) -> Option<String> {
    if typed.len() > 64 {
        return None;
    }
    let code: String = typed
        .chars()
        .filter(|c| !matches!(c, '-' | ' ' | '\t'))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let ours = code.len() == USER_CODE_LEN && code.bytes().all(|b| USER_CODE_ALPHABET.contains(&b));
    ours.then_some(code)
}

/// The hash a (normalised) user code is stored under.
fn user_code_hash(normalized: &str) -> Vec<u8> {
    token_hash(&format!("user-code:{normalized}"))
}

/// The device endpoint's answer (RFC 8628 §3.2).
#[derive(Debug, Clone, Serialize)]
pub struct DeviceAuthorization {
    /// The device code (polled with at the token endpoint).
    pub device_code: String,
    /// The code the user types.
    pub user_code: String,
    /// Where the user goes.
    pub verification_uri: String,
    /// The same with the user code in it.
    pub verification_uri_complete: String,
    /// Seconds the codes live.
    pub expires_in: i64,
    /// Seconds between polls.
    pub interval: i64,
}

/// Starts a device authorization for an authenticated client (`scope` defaults to
/// `openid`, and must hold it as at the authorization endpoint).
pub async fn start(
    state: &Services,
    client: &AuthenticatedClient,
    params: &Params,
    verification_uri: &str,
) -> Result<DeviceAuthorization, AppError> {
    let scope = Scope::parse_requested(params.get("scope")?.unwrap_or("openid"))
        .map_err(AppError::InvalidScope)?
        .to_string();
    let device_code = random_token();
    let now = state.now();
    // a clash of user codes is rare (live requests / 2.6·10¹⁰); redraw a few times
    for _ in 0..5 {
        let user_code = generate_user_code();
        let normalized = normalize_user_code(&user_code).unwrap_or_default();
        let created = state
            .store
            .create_device_request(NewDeviceRequest {
                device_code_hash: &token_hash(&device_code),
                user_code_hash: &user_code_hash(&normalized),
                client_id: &client.client_id,
                scope: &scope,
                interval: INTERVAL,
                now,
                expires_at: now.saturating_add(DEVICE_CODE_TTL),
            })
            .await;
        match created {
            Ok(()) => {
                tracing::info!(target: "authserver::audit", client = %client.client_id, "device authorization started");
                let complete = url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("user_code", &user_code)
                    .finish();
                return Ok(DeviceAuthorization {
                    device_code,
                    verification_uri_complete: format!("{verification_uri}?{complete}"),
                    verification_uri: verification_uri.to_string(),
                    user_code,
                    expires_in: DEVICE_CODE_TTL,
                    interval: INTERVAL,
                });
            }
            Err(StoreError::Conflict(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(AppError::Internal("no free user code".into()))
}

/// A user code entered on the verification page, found.
#[derive(Debug, Clone)]
pub struct EnteredCode {
    /// The code in its display form, `XXXX-XXXX`.
    pub display: String,
    /// Its stored hash.
    hash: Vec<u8>,
    /// The pending request.
    pub request: PendingDevice,
}

/// What looking up an entered user code gave.
#[derive(Debug, Clone)]
pub enum CodeLookup {
    /// A pending request.
    Found(EnteredCode),
    /// No pending request has this code (counted as a failure against the address).
    Unknown,
    /// Too many failures from this address: retry after this many seconds.
    Throttled(u64),
}

/// Looks up a typed user code behind the address's throttle: a code that finds no pending
/// request counts as a failure, one that does is taken back.
pub async fn find_user_code(
    state: &Services,
    typed: &str,
    ip: std::net::IpAddr,
) -> Result<CodeLookup, AppError> {
    let now = state.now();
    let attempt = match state
        .throttle
        .begin(vec![throttle::user_code_key(ip)], now)
        .await?
    {
        Ok(a) => a,
        Err(wait) => {
            crate::metrics::throttled("device");
            return Ok(CodeLookup::Throttled(wait));
        }
    };
    let Some(normalized) = normalize_user_code(typed) else {
        return Ok(CodeLookup::Unknown);
    };
    let hash = user_code_hash(&normalized);
    match state.store.pending_device(&hash, now).await? {
        Some(request) => {
            state.throttle.succeeded(attempt).await?;
            let display = format!(
                "{}-{}",
                normalized.get(..4).unwrap_or_default(),
                normalized.get(4..).unwrap_or_default()
            );
            Ok(CodeLookup::Found(EnteredCode {
                display,
                hash,
                request,
            }))
        }
        None => {
            tracing::info!(target: "authserver::audit", "unknown user code entered");
            Ok(CodeLookup::Unknown)
        }
    }
}

/// Records the user's decision on a found request; `false` if it was decided meanwhile
/// or expired.
pub async fn decide(
    state: &Services,
    code: &EnteredCode,
    user: &User,
    auth_time: i64,
    approve: bool,
) -> Result<bool, AppError> {
    let done = state
        .store
        .decide_device(
            &code.hash,
            approve,
            (user.id, auth_time, user.generation),
            state.now(),
        )
        .await?;
    if done {
        let decision = if approve { "approved" } else { "denied" };
        tracing::info!(target: "authserver::audit", user = %user.username, client = %code.request.client_id, decision, "device authorization decided");
    }
    Ok(done)
}

/// `grant_type=urn:ietf:params:oauth:grant-type:device_code` (RFC 8628 §3.4, §3.5).
///
/// A pending request polled before its interval passed answers `slow_down` and its
/// interval grows by 5 s: from memory when this process saw the previous poll
/// (`domain::poll_gate`), else by the one conditional `UPDATE` that records every poll
/// reaching the database.
pub async fn grant(
    state: &Services,
    client: &AuthenticatedClient,
    params: &Params,
) -> Result<TokenResponse, AppError> {
    crate::domain::clients::grants::require_grant(client, GRANT_TYPE)?;
    let device_code = params.require("device_code")?;
    if device_code.len() > 256 {
        return Err(AppError::InvalidGrant(BAD_DEVICE_CODE.into()));
    }
    let hash = token_hash(device_code);
    let now = state.now();
    let unsaved = match state.device_polls.check(&hash, &client.client_id, now) {
        Gate::SlowDown(interval) => return Err(AppError::SlowDown(interval)),
        Gate::Ask { unsaved } => unsaved,
    };
    let poll = state
        .store
        .poll_device(&hash, unsaved, now)
        .await?
        .ok_or_else(|| AppError::InvalidGrant(BAD_DEVICE_CODE.into()))?;
    state.device_polls.record(&hash, &poll, now);
    if poll.client_id != client.client_id {
        return Err(AppError::InvalidGrant(
            "the device code was issued to another client".into(),
        ));
    }
    if poll.expires_at <= now {
        return Err(AppError::ExpiredToken);
    }
    match poll.status.as_str() {
        "approved" => {}
        "denied" => return Err(AppError::AccessDenied),
        _ if poll.too_fast => return Err(AppError::SlowDown(poll.poll_interval)),
        _ => return Err(AppError::AuthorizationPending),
    }
    let grant = state
        .store
        .consume_device(&hash, now)
        .await?
        .ok_or_else(|| AppError::InvalidGrant(BAD_DEVICE_CODE.into()))?;
    let (Some(user_id), Some(auth_time), Some(generation)) =
        (grant.user_id, grant.auth_time, grant.generation)
    else {
        return Err(AppError::InvalidGrant(BAD_DEVICE_CODE.into()));
    };
    let user = state
        .store
        .user_by_id(user_id)
        .await?
        .filter(|u| !u.disabled && u.generation == generation)
        .ok_or_else(|| AppError::InvalidGrant(BAD_DEVICE_CODE.into()))?;
    let scope = Scope::from_stored(&grant.scope);
    let response = sign_in_tokens(state, client, &user, &scope, auth_time, None, None).await?;
    tracing::info!(target: "authserver::audit", user = %user.username, client = %client.client_id, "device code exchanged");
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_codes_are_eight_letters_of_the_alphabet_shown_with_a_dash() {
        for _ in 0..200 {
            let code = generate_user_code();
            assert_eq!(code.len(), 9, "{code}");
            assert_eq!(&code[4..5], "-");
            assert!(code
                .bytes()
                .filter(|b| *b != b'-')
                .all(|b| USER_CODE_ALPHABET.contains(&b)));
        }
    }

    #[test]
    fn typed_user_codes_are_accepted_in_any_case_with_or_without_the_dash() {
        for typed in [
            "BCDF-GHJK",
            "bcdfghjk",
            "bcdf-ghjk",
            " BcDf GhJk ",
            "BCDFGHJK",
        ] {
            assert_eq!(normalize_user_code(typed).as_deref(), Some("BCDFGHJK"));
        }
        for bad in [
            "",
            "BCDF-GHJ",
            "BCDF-GHJKL",
            "ABCD-EFGH",
            "BCDF-GHJ1",
            "ÄCDF-GHJK",
        ] {
            assert_eq!(normalize_user_code(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_same_code_typed_differently_has_one_hash() {
        let a = user_code_hash(&normalize_user_code("wxzb-cdfg").unwrap());
        let b = user_code_hash(&normalize_user_code("WXZBCDFG").unwrap());
        assert_eq!(a, b);
    }
}
