//! Checking a user name and password typed into a form (login page, account page),
//! behind the throttle; and one sent by a program (`client_credentials`, the password
//! grant), behind the same throttle and the verified-credential cache. The password is
//! checked by argon2id against the local user, or by the directory (see
//! `domain::directory_login` for which one decides).
use std::net::IpAddr;
use std::sync::Arc;

use crate::domain::credentials::Verification;
use crate::domain::directory_login::{self, directory_for, DirectoryLogin};
use crate::domain::services::Services;
use crate::error::AppError;
use crate::password;
use crate::store::User;
use crate::throttle;

/// The outcome of a password check.
// a short-lived return value: boxing the user would cost an allocation per check
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum PasswordCheck {
    /// Right password, enabled user.
    Verified(User),
    /// Unknown user, wrong password or disabled user (never said which).
    Refused,
    /// Too many failures: retry after this many seconds.
    Throttled(u64),
    /// The directory that checks this user's password did not answer (the attempt is not
    /// counted against the throttle).
    Unavailable,
}

/// The local password hash to verify against: none (the dummy hash, same cost) for an
/// unknown user, for a user of another identity source (no local password) and for every
/// user when local passwords are turned off (`authentication.disable.credentials`).
fn local_hash(state: &Services, user: Option<&User>) -> Option<String> {
    if state.settings.auth.disable_credentials {
        return None;
    }
    user.filter(|u| !u.is_external())
        .map(|u| u.password_hash.clone())
}

/// Whether the input can be a credential at all (longer ones are refused unread).
fn plausible(username: &str, password: &str) -> bool {
    !username.is_empty() && username.len() <= 256 && password.len() <= 1024
}

/// Verifies one attempt the throttle admitted: by the directory, or by argon2id (a dummy
/// hash for unknown users, so both cost the same).
async fn verify(
    state: &Services,
    user: Option<&User>,
    username: &str,
    password: &str,
) -> Result<Verification, AppError> {
    if plausible(username, password) {
        if let Some(dir) = directory_for(state, user) {
            return Ok(
                match directory_login::check(state, dir, username, password).await? {
                    DirectoryLogin::Verified(u) => Verification::Verified(Arc::new(u)),
                    DirectoryLogin::Refused => Verification::Refused,
                    DirectoryLogin::Unavailable => Verification::Unavailable,
                },
            );
        }
    }
    let ok = password::verify_async(password.to_string(), local_hash(state, user)).await;
    Ok(match user {
        Some(u) if ok && !u.disabled && !u.is_external() => {
            Verification::Verified(Arc::new(u.clone()))
        }
        _ => Verification::Refused,
    })
}

/// Counts the attempt against the throttle keys of its source (the client address and the
/// browser's device cookie, see `crate::throttle`), verifies it (argon2id off the runtime,
/// or the directory) and on success takes the count back and marks the address and the
/// device known for the user. A directory that does not answer takes the count back too.
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
    let user = if plausible(username, password) {
        state.store.user_by_name(username).await?
    } else {
        None
    }
    // a service account has no password and never signs in: checked like an unknown user
    .filter(|u| !u.service_account);
    match verify(state, user.as_ref(), username, password).await? {
        Verification::Verified(u) => {
            state.throttle.succeeded(attempt).await?;
            Ok(PasswordCheck::Verified(User::clone(&u)))
        }
        Verification::Unavailable => {
            state.throttle.undecided(attempt).await?;
            Ok(PasswordCheck::Unavailable)
        }
        Verification::Refused | Verification::Throttled(_) => {
            crate::metrics::login_failed("login");
            Ok(PasswordCheck::Refused)
        }
    }
}

/// The outcome of confirming a signed-in user's current password, asked again before
/// something that outlives the session (a personal access token, a service account's key).
#[derive(Debug, PartialEq, Eq)]
pub enum CurrentPassword {
    /// The password is the user's.
    Confirmed,
    /// None was entered (nothing was checked, nothing counted against the throttle).
    Missing,
    /// Not the user's password.
    Wrong,
    /// Too many failures: retry after this many seconds.
    Throttled(u64),
    /// The directory that checks the user's password did not answer.
    Unavailable,
}

/// Confirms that `password` is the current password of the signed-in `user`: a
/// [`check_password`] of their user name (throttled like a sign-in) that must verify this
/// very user; an empty password is [`CurrentPassword::Missing`], unchecked.
pub async fn confirm_current_password(
    state: &Services,
    user: &User,
    password: &str,
    ip: IpAddr,
    device: Option<&str>,
) -> Result<CurrentPassword, AppError> {
    if password.is_empty() {
        return Ok(CurrentPassword::Missing);
    }
    Ok(
        match check_password(state, &user.username, password, ip, device).await? {
            PasswordCheck::Verified(u) if u.id == user.id => CurrentPassword::Confirmed,
            PasswordCheck::Verified(_) | PasswordCheck::Refused => CurrentPassword::Wrong,
            PasswordCheck::Throttled(wait) => CurrentPassword::Throttled(wait),
            PasswordCheck::Unavailable => CurrentPassword::Unavailable,
        },
    )
}

/// Checks a user name and password a program sends on every call (`client_credentials`'
/// Basic user, the password grant's `username`/`password`): a pair verified in the last
/// [`crate::domain::credentials::CREDENTIAL_TTL`] seconds is served from the cache;
/// anything else pays argon2 (or a directory round trip) behind the throttle (concurrent
/// identical misses share one run). Unknown user, wrong password, disabled user and service
/// account all come back as `Refused`.
#[tracing::instrument(skip_all)]
pub async fn check_cached_password(
    state: &Services,
    username: &str,
    password: &str,
    ip: IpAddr,
) -> Result<PasswordCheck, AppError> {
    let now = state.now();
    let user = if plausible(username, password) {
        state.revocations.user(&state.store, username).await?
    } else {
        None
    }
    // a service account has no password and never signs in: checked like an unknown user
    .filter(|u| !u.service_account);
    let fingerprint = state.credentials.fingerprint(username, password);
    if let Some(u) = &user {
        if state.credentials.hit(&fingerprint, u, now) {
            return Ok(PasswordCheck::Verified(User::clone(u)));
        }
    }
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
                Err(wait) => return Ok::<_, AppError>(Verification::Throttled(wait)),
            };
            let verification = verify(state, user.as_deref(), username, password).await?;
            match &verification {
                Verification::Verified(u) => {
                    state.throttle.succeeded(attempt).await?;
                    state.credentials.insert(fingerprint, u, now);
                }
                Verification::Unavailable => state.throttle.undecided(attempt).await?,
                Verification::Refused | Verification::Throttled(_) => {}
            }
            Ok(verification)
        })
        .await
        .cloned();
    state.credentials.finished(&fingerprint, &pending);
    Ok(match outcome? {
        Verification::Verified(u) => PasswordCheck::Verified(User::clone(&u)),
        Verification::Refused => PasswordCheck::Refused,
        Verification::Throttled(wait) => PasswordCheck::Throttled(wait),
        Verification::Unavailable => PasswordCheck::Unavailable,
    })
}
