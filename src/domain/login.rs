//! Checking a user name and password typed into a form (login page, account page),
//! behind the throttle; and one sent by a program (`client_credentials`, the password
//! grant), behind the same throttle and the verified-credential cache.
use std::net::IpAddr;

use crate::domain::services::Services;
use crate::error::AppError;
use crate::password;
use crate::store::User;
use crate::throttle;

/// The outcome of a password check.
#[derive(Debug)]
pub enum PasswordCheck {
    /// Right password, enabled user.
    Verified(User),
    /// Unknown user, wrong password or disabled user (never said which).
    Refused,
    /// Too many failures: retry after this many seconds.
    Throttled(u64),
}

/// Counts the attempt against the throttle keys of its source (the client address and the
/// browser's device cookie, see `crate::throttle`), verifies with argon2id off the runtime
/// (a dummy hash for unknown users, so both cost the same) and on success takes the count
/// back and marks the address and the device known for the user.
pub async fn check_password(
    state: &Services,
    username: &str,
    password: &str,
    ip: IpAddr,
    device: Option<&str>,
) -> Result<PasswordCheck, AppError> {
    let source = throttle::Source {
        username,
        ip,
        device,
    };
    let attempt = match state.throttle.begin_password(&source, state.now()).await? {
        Ok(a) => a,
        Err(wait) => {
            crate::metrics::throttled("login");
            return Ok(PasswordCheck::Throttled(wait));
        }
    };
    let user = if username.is_empty() || username.len() > 256 || password.len() > 1024 {
        None
    } else {
        state.store.user_by_name(username).await?
    }
    // a service account has no password and never signs in: checked like an unknown user
    .filter(|u| !u.service_account);
    let verified = password::verify_async(
        password.to_string(),
        user.as_ref().map(|u| u.password_hash.clone()),
    )
    .await;
    match user {
        Some(u) if verified && !u.disabled => {
            state.throttle.succeeded(attempt).await?;
            Ok(PasswordCheck::Verified(u))
        }
        _ => {
            crate::metrics::login_failed("login");
            Ok(PasswordCheck::Refused)
        }
    }
}

/// Checks a user name and password a program sends on every call (`client_credentials`'
/// Basic user, the password grant's `username`/`password`): a pair verified in the last
/// [`crate::domain::credentials::CREDENTIAL_TTL`] seconds is served from the cache;
/// anything else pays argon2 behind the throttle (concurrent identical misses share one
/// run). Unknown user, wrong password, disabled user and service account all come back
/// as `Refused`.
#[tracing::instrument(skip_all)]
pub async fn check_cached_password(
    state: &Services,
    username: &str,
    password: &str,
    ip: IpAddr,
) -> Result<PasswordCheck, AppError> {
    let now = state.now();
    let user = if username.is_empty() || username.len() > 256 || password.len() > 1024 {
        None
    } else {
        state.revocations.user(&state.store, username).await?
    }
    // a service account has no password and never signs in: checked like an unknown user
    .filter(|u| !u.service_account);
    let fingerprint = state.credentials.fingerprint(username, password);
    let cached = user
        .as_ref()
        .is_some_and(|u| state.credentials.hit(&fingerprint, u, now));
    if !cached {
        let pending = state.credentials.pending(&fingerprint);
        let outcome = pending
            .get_or_try_init(|| async {
                let source = throttle::Source {
                    username,
                    ip,
                    device: None,
                };
                let attempt = match state.throttle.begin_password(&source, now).await? {
                    Ok(attempt) => attempt,
                    Err(wait) => return Ok::<_, crate::store::StoreError>(Err(wait)),
                };
                let ok = password::verify_async(
                    password.to_string(),
                    user.as_ref().map(|u| u.password_hash.clone()),
                )
                .await;
                match &user {
                    Some(u) if ok && !u.disabled => {
                        state.throttle.succeeded(attempt).await?;
                        state.credentials.insert(fingerprint, u, now);
                        Ok(Ok(true))
                    }
                    _ => Ok(Ok(false)),
                }
            })
            .await
            .copied();
        state.credentials.finished(&fingerprint, &pending);
        match outcome? {
            Ok(true) => {}
            Ok(false) => return Ok(PasswordCheck::Refused),
            Err(wait) => return Ok(PasswordCheck::Throttled(wait)),
        }
    }
    Ok(match user {
        Some(u) => PasswordCheck::Verified(User::clone(&u)),
        None => PasswordCheck::Refused,
    })
}
