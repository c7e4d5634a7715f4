//! The sign-in through an upstream provider: [`begin`] sends the browser to the
//! provider's authorization endpoint, [`finish`] takes the callback, exchanges the code,
//! verifies the ID token, reads userinfo and provisions the user.
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreGenderClaim, CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm, CoreProviderMetadata,
};
use openidconnect::{
    AdditionalClaims, AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret,
    CsrfToken, IdToken, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, Scope, SignatureVerificationError, TokenResponse, UserInfoClaims,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::claims::{identity_from_claims, ClaimsError};
use super::seal::{self, Payload};
use super::{error_chain, DiscoveryFailure};
use crate::config::UpstreamProvider;
use crate::crypto::{random_token, token_hash};
use crate::domain::external::{self, ExternalRefusal};
use crate::domain::params::Params;
use crate::domain::services::Services;
use crate::error::AppError;
use crate::store::{StoreError, User};

/// Cookie holding the browser's key to its sign-ins in progress upstream.
pub const BROWSER_COOKIE: &str = "authserver_upstream";
/// How long a sign-in sent upstream waits for the callback, seconds.
pub const LOGIN_TTL: i64 = 600;
/// Tolerated clock difference with a provider (`exp`, `iat`), seconds.
const SKEW: i64 = 60;
/// Oldest `iat` accepted: the ID token was just minted for this code.
const MAX_AGE: i64 = 600;

/// Every claim of a token, kept to read the configured claims by name.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct AllClaims {
    #[serde(flatten)]
    claims: Map<String, Value>,
}
impl AdditionalClaims for AllClaims {}

type UpstreamIdToken =
    IdToken<AllClaims, CoreGenderClaim, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm>;

/// Why a sign-in through a provider failed; each is a page for the user and a log line.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// Unknown provider, or one whose discovery cannot be read.
    #[error(transparent)]
    Discovery(#[from] DiscoveryFailure),
    /// The provider answered the authorization request with an error.
    #[error("the provider answered {error}: {description}")]
    Denied {
        /// Its `error`.
        error: String,
        /// Its `error_description`.
        description: String,
    },
    /// No waiting sign-in has this `state`: expired, already used, or forged.
    #[error("unknown, expired or already used state")]
    UnknownState,
    /// The sign-in was started by another browser (or the cookie is gone).
    #[error("the state belongs to another browser")]
    OtherBrowser,
    /// The callback is for another provider than the state was sent to.
    #[error("the state was sent to another provider")]
    OtherProvider,
    /// The callback lacks the code, or repeats a parameter.
    #[error("malformed callback: {0}")]
    Malformed(String),
    /// The token endpoint refused the code or did not answer.
    #[error("code exchange failed: {0}")]
    Exchange(String),
    /// The ID token is missing or fails verification.
    #[error("ID token refused: {0}")]
    IdToken(String),
    /// Userinfo could not be read.
    #[error("userinfo failed: {0}")]
    UserInfo(String),
    /// The claims do not make an identity.
    #[error(transparent)]
    Claims(#[from] ClaimsError),
    /// The user may not sign in (disabled, a local user of the same name…).
    #[error("refused: {0}")]
    Refused(String),
    /// Our own failure.
    #[error(transparent)]
    Internal(#[from] AppError),
}

impl From<StoreError> for UpstreamError {
    fn from(e: StoreError) -> Self {
        UpstreamError::Internal(e.into())
    }
}

impl UpstreamError {
    /// The HTTP status of the error page.
    pub fn status(&self) -> u16 {
        match self {
            UpstreamError::Discovery(DiscoveryFailure::Unknown(_)) => 404,
            UpstreamError::Discovery(DiscoveryFailure::Unavailable { .. }) => 503,
            UpstreamError::Exchange(_) | UpstreamError::UserInfo(_) => 502,
            UpstreamError::Denied { .. } | UpstreamError::Refused(_) => 403,
            UpstreamError::Internal(_) => 500,
            _ => 400,
        }
    }

    /// What the error page tells the user (never a secret, never a token).
    pub fn message(&self, display_name: &str) -> String {
        match self {
            UpstreamError::Discovery(DiscoveryFailure::Unknown(_)) => {
                "This sign-in method is not configured.".into()
            }
            UpstreamError::Discovery(DiscoveryFailure::Unavailable { .. }) => format!(
                "{display_name} cannot be reached right now. Try again in a moment, or sign in \
                 another way."
            ),
            UpstreamError::Denied { error, .. } if error == "access_denied" => {
                format!("{display_name} did not let you sign in (access denied).")
            }
            UpstreamError::Denied { error, .. } => {
                format!("{display_name} could not sign you in ({error}).")
            }
            UpstreamError::UnknownState => "This sign-in has expired or was already \
                 completed. Go back to the application and sign in again."
                .into(),
            UpstreamError::OtherBrowser | UpstreamError::OtherProvider => {
                "This sign-in was started in another browser or for another provider. Go \
                 back to the application and sign in again."
                    .into()
            }
            UpstreamError::Malformed(_) => format!("The answer from {display_name} is incomplete."),
            UpstreamError::Exchange(_) | UpstreamError::UserInfo(_) => {
                format!("{display_name} did not complete the sign-in. Try again in a moment.")
            }
            UpstreamError::IdToken(_) | UpstreamError::Claims(_) => {
                format!("The answer from {display_name} could not be verified, so you are not signed in.")
            }
            UpstreamError::Refused(reason) => reason.clone(),
            UpstreamError::Internal(_) => "The server could not complete the sign-in.".into(),
        }
    }
}

/// Where [`begin`] sends the browser.
#[derive(Debug)]
pub struct Begun {
    /// The provider's authorization URL with our request.
    pub location: String,
    /// The browser's key ([`BROWSER_COOKIE`]) to set (its own, or a new one).
    pub browser_key: String,
}

/// A completed upstream sign-in: our pending request (still sealed) and the user.
#[derive(Debug)]
pub struct Finished {
    /// Our pending authorization request, sealed for `csrf`.
    pub rid: String,
    /// The CSRF token `rid` is sealed for.
    pub csrf: String,
    /// The provisioned user.
    pub user: User,
}

/// Our callback URL for provider `name`.
fn callback(services: &Services, name: &str) -> String {
    format!("{}/upstream/{name}/callback", services.issuer())
}

fn client(
    provider: &UpstreamProvider,
    metadata: &CoreProviderMetadata,
    redirect: &str,
) -> Result<
    CoreClient<
        openidconnect::EndpointSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointMaybeSet,
        openidconnect::EndpointMaybeSet,
    >,
    UpstreamError,
> {
    let redirect = RedirectUrl::new(redirect.to_owned())
        .map_err(|e| UpstreamError::Internal(AppError::Internal(e.to_string())))?;
    // client_secret_basic is the crate's default
    Ok(CoreClient::from_provider_metadata(
        metadata.clone(),
        ClientId::new(provider.client_id.clone()),
        Some(ClientSecret::new(
            provider.client_secret.expose().to_owned(),
        )),
    )
    .set_redirect_uri(redirect))
}

/// Starts a sign-in at provider `name` for our pending request `rid` (sealed for `csrf`,
/// already checked by the caller). `browser` is the browser's [`BROWSER_COOKIE`].
pub async fn begin(
    services: &Services,
    name: &str,
    rid: &str,
    csrf: &str,
    browser: Option<&str>,
) -> Result<Begun, UpstreamError> {
    let (provider, metadata) = services.upstreams.metadata(name).await?;
    let client = client(provider, &metadata, &callback(services, name))?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let state = random_token();
    let nonce = random_token();
    let (state_for_url, nonce_for_url) = (state.clone(), nonce.clone());
    let mut request = client.authorize_url(
        CoreAuthenticationFlow::AuthorizationCode,
        move || CsrfToken::new(state_for_url),
        move || Nonce::new(nonce_for_url),
    );
    for scope in provider.scopes.iter().filter(|s| *s != "openid") {
        request = request.add_scope(Scope::new(scope.clone()));
    }
    let (url, _, _) = request.set_pkce_challenge(challenge).url();

    let browser = match browser.filter(|b| b.len() == 43) {
        Some(b) => b.to_owned(),
        None => random_token(),
    };
    let state_hash = token_hash(&state);
    let payload = Payload {
        provider: name.to_owned(),
        nonce,
        verifier: verifier.secret().clone(),
        rid: rid.to_owned(),
        csrf: csrf.to_owned(),
    };
    let sealed = seal::seal(&payload, &browser, &state_hash).ok_or_else(|| {
        UpstreamError::Internal(AppError::Internal("sealing an upstream sign-in".into()))
    })?;
    let now = services.now();
    services
        .store
        .create_upstream_login(&state_hash, name, &sealed, now.saturating_add(LOGIN_TTL))
        .await?;
    Ok(Begun {
        location: url.to_string(),
        browser_key: browser,
    })
}

fn param<'a>(params: &'a Params, name: &str) -> Result<Option<&'a str>, UpstreamError> {
    params
        .get(name)
        .map_err(|_| UpstreamError::Malformed(format!("{name} is repeated")))
}

/// Completes a sign-in at provider `name` from its callback `params`; `browser` is the
/// browser's [`BROWSER_COOKIE`]. The waiting sign-in is used up whatever the outcome.
pub async fn finish(
    services: &Services,
    name: &str,
    params: &Params,
    browser: Option<&str>,
) -> Result<Finished, UpstreamError> {
    let state = param(params, "state")?.unwrap_or_default();
    let state_hash = token_hash(state);
    // taken first: an error answer or a failure below still uses the state up
    let waiting = match state.is_empty() {
        true => None,
        false => {
            services
                .store
                .take_upstream_login(&state_hash, services.now())
                .await?
        }
    };
    if let Some(error) = param(params, "error")? {
        return Err(UpstreamError::Denied {
            error: error.chars().take(64).collect(),
            description: param(params, "error_description")?
                .unwrap_or_default()
                .chars()
                .take(200)
                .collect(),
        });
    }
    let waiting = waiting.ok_or(UpstreamError::UnknownState)?;
    let payload = browser
        .and_then(|b| seal::open(&waiting.sealed, b, &state_hash))
        .ok_or(UpstreamError::OtherBrowser)?;
    if waiting.provider != name || payload.provider != name {
        return Err(UpstreamError::OtherProvider);
    }
    // RFC 9207: a provider that names itself must be the one the state was sent to
    let (provider, metadata) = services.upstreams.metadata(name).await?;
    if param(params, "iss")?.is_some_and(|iss| iss != provider.issuer) {
        return Err(UpstreamError::OtherProvider);
    }
    let code = param(params, "code")?
        .filter(|c| !c.is_empty())
        .ok_or_else(|| UpstreamError::Malformed("no code".into()))?;
    let client = client(provider, &metadata, &callback(services, name))?;
    let http = services.upstreams.http();
    let response = client
        .exchange_code(AuthorizationCode::new(code.to_owned()))
        .map_err(|e| UpstreamError::Exchange(e.to_string()))?
        .set_pkce_verifier(PkceCodeVerifier::new(payload.verifier))
        .request_async(http)
        .await
        .map_err(|e| UpstreamError::Exchange(error_chain(&e)))?;
    let raw = response
        .id_token()
        .and_then(|t| serde_json::to_value(t).ok())
        .and_then(|v| v.as_str().map(str::to_owned))
        .ok_or_else(|| UpstreamError::IdToken("the token response has no ID token".into()))?;
    let nonce = Nonce::new(payload.nonce);
    // the provider's tokens are stamped with real time, whatever our clock says
    let now = crate::clock::Clock::now(&crate::clock::SystemClock);
    let mut claims = match verify(provider, &metadata, &raw, &nonce, now) {
        Err(Retry::UnknownKey) => {
            // a key the cached JWKS lacks: the provider may have rotated
            match services.upstreams.refresh_jwks(name).await {
                Some(fresh) => verify(provider, &fresh, &raw, &nonce, now),
                None => Err(Retry::UnknownKey),
            }
        }
        other => other,
    }
    .map_err(|e| match e {
        Retry::UnknownKey => UpstreamError::IdToken("signed with an unknown key".into()),
        Retry::Refused(reason) => UpstreamError::IdToken(reason),
    })?;

    if metadata.userinfo_endpoint().is_some() {
        let sub = claims
            .get("sub")
            .and_then(Value::as_str)
            .map(|s| openidconnect::SubjectIdentifier::new(s.to_owned()));
        let info: UserInfoClaims<AllClaims, CoreGenderClaim> = client
            .user_info(response.access_token().clone(), sub)
            .map_err(|e| UpstreamError::UserInfo(e.to_string()))?
            .request_async(http)
            .await
            .map_err(|e| UpstreamError::UserInfo(error_chain(&e)))?;
        if let Ok(Value::Object(info)) = serde_json::to_value(&info) {
            merge_userinfo(&mut claims, info);
        }
    }

    let identity = identity_from_claims(provider, &claims)?;
    let user = match external::provision(services, &identity).await? {
        Ok(user) => user,
        Err(refusal) => return Err(UpstreamError::Refused(refusal_message(&refusal))),
    };
    Ok(Finished {
        rid: payload.rid,
        csrf: payload.csrf,
        user,
    })
}

fn refusal_message(refusal: &ExternalRefusal) -> String {
    refusal.to_string()
}

/// Userinfo's profile claims over the ID token's (userinfo is the fresher source); the
/// token's own claims stay.
fn merge_userinfo(claims: &mut Map<String, Value>, info: Map<String, Value>) {
    const KEEP: [&str; 9] = [
        "iss",
        "sub",
        "aud",
        "exp",
        "iat",
        "nonce",
        "azp",
        "auth_time",
        "at_hash",
    ];
    for (k, v) in info {
        if !KEEP.contains(&k.as_str()) && !v.is_null() {
            claims.insert(k, v);
        }
    }
}

enum Retry {
    /// No key of the cached JWKS matches the token's `kid`/`alg`.
    UnknownKey,
    /// Refused for good.
    Refused(String),
}

/// Verifies the ID token with the crate: signature (asymmetric algorithms only) against
/// the provider's JWKS, `iss` exactly the configured issuer, `aud` containing our client
/// ID and no other, `exp` and `iat` within [`SKEW`], the `nonce`; then `azp`.
fn verify(
    provider: &UpstreamProvider,
    metadata: &CoreProviderMetadata,
    raw: &str,
    nonce: &Nonce,
    now: i64,
) -> Result<Map<String, Value>, Retry> {
    use CoreJwsSigningAlgorithm as A;
    let token: UpstreamIdToken = raw
        .parse()
        .map_err(|e: serde_json::Error| Retry::Refused(format!("malformed: {e}")))?;
    // the configured issuer, which discovery has checked the document states exactly
    if metadata.issuer().as_str() != provider.issuer {
        return Err(Retry::Refused("the discovery issuer differs".into()));
    }
    let client = CoreClient::from_provider_metadata(
        metadata.clone(),
        ClientId::new(provider.client_id.clone()),
        Some(ClientSecret::new(
            provider.client_secret.expose().to_owned(),
        )),
    );
    let lenient_now =
        chrono::DateTime::from_timestamp(now.saturating_sub(SKEW), 0).unwrap_or_default();
    let verifier = client
        .id_token_verifier()
        // never a MAC keyed with our client secret, never `none`
        .set_allowed_algs([
            A::RsaSsaPkcs1V15Sha256,
            A::RsaSsaPkcs1V15Sha384,
            A::RsaSsaPkcs1V15Sha512,
            A::RsaSsaPssSha256,
            A::RsaSsaPssSha384,
            A::RsaSsaPssSha512,
            A::EcdsaP256Sha256,
            A::EcdsaP384Sha384,
            A::EdDsa,
        ])
        .set_time_fn(move || lenient_now)
        .set_issue_time_verifier_fn(move |iat| {
            let iat = iat.timestamp();
            if iat > now.saturating_add(SKEW) {
                Err(format!("issued in the future ({iat})"))
            } else if iat < now.saturating_sub(MAX_AGE) {
                Err(format!("issued too long ago ({iat})"))
            } else {
                Ok(())
            }
        });
    let claims = match token.claims(&verifier, nonce) {
        Ok(c) => c,
        Err(ClaimsVerificationError::SignatureVerification(
            SignatureVerificationError::NoMatchingKey,
        )) => return Err(Retry::UnknownKey),
        Err(e) => return Err(Retry::Refused(e.to_string())),
    };
    let azp = claims.authorized_party().map(|a| a.as_str());
    if azp.is_some_and(|a| a != provider.client_id)
        || (claims.audiences().len() > 1 && azp.is_none())
    {
        return Err(Retry::Refused("azp is not our client ID".into()));
    }
    match serde_json::to_value(claims) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(Retry::Refused("claims cannot be read".into())),
    }
}
