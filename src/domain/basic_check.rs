//! `Authorization: Basic` at the resource server's check (`/api/validate`, when
//! `authentication.validate.basic` is on): time cockpit's Basic for tools that can send
//! nothing else (Excel's OData connector behind a reverse proxy). The password may be the
//! user's password or one of the user's personal access tokens (as GitHub and Azure DevOps
//! accept a PAT as the password).
//!
//! A password goes through exactly the check of the password grant: the verified-
//! credential cache, else argon2id behind the throttle, so a failure counts toward the
//! lockout like a failed sign-in. A PAT is checked in memory; the user name must be its
//! owner's. Service accounts have no password, so only their key works.
use std::net::IpAddr;
use std::sync::Arc;

use crate::domain::login::{check_cached_password, PasswordCheck};
use crate::domain::pat;
use crate::domain::services::Services;
use crate::domain::tokens::{TokenKind, ValidToken};
use crate::error::AppError;

/// The one answer for every refused Basic credential.
pub const BAD_BASIC: &str = "the user name or password is wrong";

/// Checks a Basic user name and password (or PAT) and describes the caller like a token.
#[tracing::instrument(skip_all)]
pub async fn check(
    state: &Services,
    username: &str,
    secret: &str,
    ip: IpAddr,
) -> Result<ValidToken, AppError> {
    if pat::looks_like_pat(secret) {
        if let Ok(valid) =
            pat::validate(&state.store, &state.revocations, secret, state.now()).await
        {
            if valid.user.username == username {
                return Ok(ValidToken {
                    jti: None,
                    family: None,
                    pat: Some(valid.record.id.clone()),
                    kind: TokenKind::Pat,
                    client_id: None,
                    scope: valid.record.scope.as_str().to_string(),
                    iat: valid.record.created_at,
                    exp: valid.record.expires_at,
                    user: valid.user,
                    service: false,
                });
            }
        }
        // not a live PAT of this user: it may still be the password (checked as such)
    }
    match check_cached_password(state, username, secret, ip).await? {
        PasswordCheck::Verified(user) => Ok(ValidToken {
            jti: None,
            family: None,
            pat: None,
            kind: TokenKind::Basic,
            client_id: None,
            scope: String::new(),
            iat: state.now(),
            exp: None,
            user: Arc::new(user),
            service: false,
        }),
        PasswordCheck::Refused => {
            crate::metrics::login_failed("validate");
            tracing::info!(target: "authserver::audit", "Basic check at /api/validate failed");
            Err(AppError::InvalidToken(BAD_BASIC.into()))
        }
        PasswordCheck::Throttled(wait) => {
            crate::metrics::throttled("validate");
            Err(AppError::Throttled(wait))
        }
        PasswordCheck::Unavailable => Err(AppError::Unavailable(
            "the directory that checks this password is unavailable".into(),
        )),
    }
}
