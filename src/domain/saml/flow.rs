//! The browser's three visits of a SAML sign-in:
//!
//! 1. [`begin`]: our `AuthnRequest` (a fresh ID) goes to the identity provider by the
//!    HTTP-Redirect binding with a random `RelayState`; the pending request is stored
//!    under the RelayState's hash, sealed with a key only this browser's cookie gives.
//! 2. [`consume`]: the identity provider's page posts the response to our assertion
//!    consumer. That cross-site POST may come without our cookies (SameSite), so this
//!    step needs none: it takes the stored sign-in by the RelayState (single use),
//!    verifies the response, checks it answers that request ID, records the assertion ID
//!    (a replay is refused), provisions the user, and stores the outcome under the hash of
//!    a new one-time handle.
//! 3. [`finish`]: the browser follows our redirect to the handle (a top-level GET, so its
//!    cookie is sent); the sealed request opens only with this browser's cookie, so a
//!    response posted through someone else's browser signs nobody in there.
use base64::Engine as _;
use chrono::Utc;
use samael::schema::{
    AuthnContextClassRef, AuthnContextComparison, AuthnRequest, Issuer, NameIdPolicy,
    RequestedAuthnContext,
};
use serde::{Deserialize, Serialize};

use super::checks::{self, Expected, Refusal};
use super::identity::{self, NoUser};
use super::verify::{self, Unverified};
use super::SamlSp;
use crate::config::saml::Comparison;
use crate::crypto::{random_token, token_hash};
use crate::domain::browser_seal;
use crate::domain::external::{self, ExternalRefusal};
use crate::domain::services::Services;
use crate::error::AppError;
use crate::store::{SamlLogin, StoreError, User};

/// Cookie holding the browser's key to its SAML sign-ins in progress.
pub const BROWSER_COOKIE: &str = "authserver_saml";
/// How long a sign-in sent to the identity provider waits for its response, seconds.
pub const LOGIN_TTL: i64 = 600;
/// How long the handle of a verified response waits for the browser, seconds.
const HANDLE_TTL: i64 = 120;
/// Largest decoded response accepted.
const MAX_RESPONSE: usize = 256 * 1024;
/// Domain separation of the sealed payload.
const CONTEXT: &[u8] = b"authserver saml sign-in v1\0";

/// What the browser's cookie must open at the end.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Payload {
    rid: String,
    csrf: String,
}

/// Why a SAML sign-in failed; each is a page for the user and a log line.
#[derive(Debug, thiserror::Error)]
pub enum SamlError {
    /// The identity provider's metadata cannot be read (yet).
    #[error("the identity provider's metadata is unavailable: {0}")]
    Unavailable(String),
    /// No waiting sign-in has this RelayState or handle: expired, used, or forged.
    #[error("unknown, expired or already used RelayState")]
    UnknownState,
    /// The sign-in was started by another browser (or the cookie is gone).
    #[error("the sign-in belongs to another browser")]
    OtherBrowser,
    /// The POST lacks the response, or it is not base64 or too large.
    #[error("malformed response: {0}")]
    Malformed(String),
    /// The response failed verification.
    #[error(transparent)]
    Unverified(#[from] Unverified),
    /// The verified response does not sign anyone in.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// The assertion was already used.
    #[error("the assertion was already used (replay)")]
    Replayed,
    /// The assertion names no user.
    #[error(transparent)]
    NoUser(#[from] NoUser),
    /// The user may not sign in here (disabled, a local user's name…).
    #[error("refused: {0}")]
    Account(ExternalRefusal),
    /// Our own failure.
    #[error(transparent)]
    Internal(#[from] AppError),
}

impl From<StoreError> for SamlError {
    fn from(e: StoreError) -> Self {
        SamlError::Internal(e.into())
    }
}

impl SamlError {
    /// The HTTP status of the error page.
    pub fn status(&self) -> u16 {
        match self {
            SamlError::Unavailable(_) => 503,
            SamlError::Account(_) => 403,
            SamlError::Internal(_) => 500,
            _ => 400,
        }
    }

    /// What the error page tells the user; `detailed` (`authentication.saml.error.visible`)
    /// adds why a response was refused.
    pub fn message(&self, detailed: bool) -> String {
        let reason = match self {
            SamlError::Unavailable(_) => {
                return "Single sign-on is not available right now. Try again in a moment, or \
                        sign in another way."
                    .into()
            }
            SamlError::UnknownState => {
                return "This sign-in has expired or was already completed. Go back to the \
                        application and sign in again."
                    .into()
            }
            SamlError::OtherBrowser => {
                return "This sign-in was started in another browser. Go back to the \
                        application and sign in again."
                    .into()
            }
            SamlError::Account(refusal) => return refusal.message(),
            SamlError::Internal(_) => return "The server could not complete the sign-in.".into(),
            other => other.to_string(),
        };
        let base = "The answer from the single sign-on service could not be accepted, so you \
                    are not signed in.";
        if detailed {
            format!("{base} Reason: {reason}.")
        } else {
            base.to_owned()
        }
    }
}

/// Where [`begin`] sends the browser.
#[derive(Debug)]
pub struct Begun {
    /// The identity provider's sign-on URL with our request.
    pub location: String,
    /// The browser's key ([`BROWSER_COOKIE`]) to set (its own, or a new one).
    pub browser_key: String,
}

/// A completed SAML sign-in: our pending request (still sealed) and the user.
#[derive(Debug)]
pub struct Finished {
    /// Our pending authorization request, sealed for `csrf`.
    pub rid: String,
    /// The CSRF token `rid` is sealed for.
    pub csrf: String,
    /// The signed-in user.
    pub user: User,
}

fn comparison(c: Comparison) -> AuthnContextComparison {
    match c {
        Comparison::Exact => AuthnContextComparison::Exact,
        Comparison::Minimum => AuthnContextComparison::Minimum,
        Comparison::Maximum => AuthnContextComparison::Maximum,
        Comparison::Better => AuthnContextComparison::Better,
    }
}

fn request(sp: &SamlSp, id: &str, destination: &str) -> AuthnRequest {
    let s = &sp.settings;
    let requested_authn_context = (!s.authn_contexts.is_empty()).then(|| RequestedAuthnContext {
        authn_context_class_refs: Some(
            s.authn_contexts
                .iter()
                .map(|c| AuthnContextClassRef {
                    value: Some(c.clone()),
                })
                .collect(),
        ),
        authn_context_decl_refs: None,
        comparison: Some(comparison(s.authn_comparison)),
    });
    AuthnRequest {
        id: id.to_owned(),
        version: "2.0".to_owned(),
        issue_instant: Utc::now(),
        destination: Some(destination.to_owned()),
        issuer: Some(Issuer {
            value: Some(sp.entity_id.clone()),
            ..Issuer::default()
        }),
        name_id_policy: Some(NameIdPolicy {
            format: Some(s.name_id_format.clone()),
            allow_create: Some(s.name_id_allow_create),
            ..NameIdPolicy::default()
        }),
        requested_authn_context,
        force_authn: s.force_authn.then_some(true),
        assertion_consumer_service_url: Some(sp.acs_url.clone()),
        protocol_binding: Some(samael::metadata::HTTP_POST_BINDING.to_owned()),
        ..AuthnRequest::default()
    }
}

fn internal(what: &str) -> SamlError {
    SamlError::Internal(AppError::Internal(what.to_owned()))
}

/// Starts a sign-in for our pending request `rid` (sealed for `csrf`, already checked by
/// the caller). `browser` is the browser's [`BROWSER_COOKIE`].
pub async fn begin(
    services: &Services,
    sp: &SamlSp,
    rid: &str,
    csrf: &str,
    browser: Option<&str>,
) -> Result<Begun, SamlError> {
    let idp = sp.current_idp().await.map_err(SamlError::Unavailable)?;
    // an ID is an NCName: it may not start with a digit
    let id = format!("_{}", random_token());
    let relay_state = random_token();
    let authn = request(sp, &id, &idp.sso_url);
    let url = authn
        .redirect(&relay_state)
        .map_err(|e| internal(&format!("writing the AuthnRequest: {e}")))?
        .ok_or_else(|| internal("the AuthnRequest has no destination"))?;
    let url = match sp.signing_key() {
        Some(key) => samael::crypto::sign_url(url, key)
            .map_err(|e| internal(&format!("signing the AuthnRequest: {e}")))?,
        None => url,
    };
    let browser = match browser.filter(|b| b.len() == 43) {
        Some(b) => b.to_owned(),
        None => random_token(),
    };
    let payload = Payload {
        rid: rid.to_owned(),
        csrf: csrf.to_owned(),
    };
    let sealed = browser_seal::seal(CONTEXT, &payload, &browser, id.as_bytes())
        .ok_or_else(|| internal("sealing a SAML sign-in"))?;
    let login = SamlLogin {
        request_id: id,
        sealed,
        user_id: None,
        expires_at: services.now().saturating_add(LOGIN_TTL),
    };
    services
        .store
        .create_saml_login(&token_hash(&relay_state), &login)
        .await?;
    Ok(Begun {
        location: url.to_string(),
        browser_key: browser,
    })
}

/// The assertion consumer: checks `saml_response` (the form's base64 `SAMLResponse`) for
/// the sign-in of `relay_state`, provisions the user and returns the handle the browser
/// finishes with. The waiting sign-in is used up whatever the outcome.
pub async fn consume(
    services: &Services,
    sp: &SamlSp,
    saml_response: &str,
    relay_state: &str,
) -> Result<String, SamlError> {
    let now = services.now();
    let waiting = match relay_state.is_empty() {
        true => None,
        false => {
            services
                .store
                .take_saml_login(&token_hash(relay_state), now)
                .await?
        }
    };
    let waiting = waiting
        .filter(|w| w.user_id.is_none())
        .ok_or(SamlError::UnknownState)?;
    let compact: String = saml_response
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    if compact.len() > MAX_RESPONSE * 4 / 3 + 4 {
        return Err(SamlError::Malformed("the response is too large".into()));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(compact)
        .map_err(|_| SamlError::Malformed("SAMLResponse is not base64".into()))?;
    let xml = String::from_utf8(bytes).map_err(|_| SamlError::Malformed("not UTF-8".into()))?;
    let idp = sp.current_idp().await.map_err(SamlError::Unavailable)?;
    // signature checks and decryption are CPU work: off the async threads
    let key = sp.sp_key_pem().map(<[u8]>::to_vec);
    let certs = idp.certs.clone();
    let verified =
        tokio::task::spawn_blocking(move || verify::verify_response(&xml, &certs, key.as_deref()))
            .await
            .map_err(|e| internal(&format!("verifying a SAML response: {e}")))??;
    let expected = Expected {
        idp: &idp.entity_id,
        audience: &sp.entity_id,
        acs: &sp.acs_url,
        request_id: &waiting.request_id,
        now,
        skew: i64::try_from(sp.settings.clock_skew).unwrap_or(60),
    };
    let remember_until = checks::check(&verified, &expected)?;
    let id_hash = token_hash(&format!("{}\0{}", idp.entity_id, verified.assertion.id));
    if !services
        .store
        .first_use_of_assertion(&id_hash, remember_until)
        .await?
    {
        return Err(SamlError::Replayed);
    }
    let identity = identity::identity(&sp.settings, &verified.assertion)?;
    let user = match external::provision(services, &identity).await? {
        Ok(user) => user,
        Err(refusal) => return Err(SamlError::Account(refusal)),
    };
    tracing::info!(
        target: "authserver::audit",
        user = %user.username,
        encrypted = verified.was_encrypted,
        "SAML assertion accepted"
    );
    let handle = random_token();
    let done = SamlLogin {
        request_id: waiting.request_id,
        sealed: waiting.sealed,
        user_id: Some(user.id),
        expires_at: now.saturating_add(HANDLE_TTL),
    };
    services
        .store
        .create_saml_login(&token_hash(&handle), &done)
        .await?;
    Ok(handle)
}

/// Ends a sign-in whose response was accepted: `handle` from [`consume`], `browser` the
/// browser's [`BROWSER_COOKIE`].
pub async fn finish(
    services: &Services,
    handle: &str,
    browser: Option<&str>,
) -> Result<Finished, SamlError> {
    let now = services.now();
    let done = match handle.is_empty() {
        true => None,
        false => {
            services
                .store
                .take_saml_login(&token_hash(handle), now)
                .await?
        }
    };
    let done = done.ok_or(SamlError::UnknownState)?;
    let user_id = done.user_id.ok_or(SamlError::UnknownState)?;
    let payload: Payload = browser
        .and_then(|b| browser_seal::open(CONTEXT, &done.sealed, b, done.request_id.as_bytes()))
        .ok_or(SamlError::OtherBrowser)?;
    let user = services
        .store
        .user_by_id(user_id)
        .await?
        .filter(|u| !u.disabled)
        .ok_or(SamlError::Account(ExternalRefusal::Disabled))?;
    Ok(Finished {
        rid: payload.rid,
        csrf: payload.csrf,
        user,
    })
}
