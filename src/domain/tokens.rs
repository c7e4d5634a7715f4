//! Token minting (ID and access JWTs, refresh tokens) and checking presented tokens.
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256, Sha512};

use crate::config::SigningAlgorithm;
use crate::crypto::{b64url, random_id, random_token, token_hash};
use crate::domain::pat;
use crate::domain::scope::Scope;
use crate::domain::services::Services;
use crate::error::AppError;
use crate::keys::VerifyError;
use crate::store::{NewRefresh, User};

/// JWT `typ` of access tokens (RFC 9068).
pub const ACCESS_TYP: &str = "at+jwt";
/// JWT `typ` of ID tokens.
pub const ID_TYP: &str = "JWT";

/// Claims of an ID token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdClaims {
    /// Issuer.
    pub iss: String,
    /// User name.
    pub sub: String,
    /// Client ID.
    pub aud: String,
    /// Expiry.
    pub exp: i64,
    /// Issued at.
    pub iat: i64,
    /// Token id.
    pub jti: String,
    /// When the user authenticated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    /// Nonce from the authorization request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// Left half of SHA-256 of the access token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at_hash: Option<String>,
    /// Left half of SHA-256 of the authorization code (hybrid responses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub c_hash: Option<String>,
    /// The user name again (for clients that read this claim).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    /// Display name (`profile` scope).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// E-mail (`email` scope).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Refresh family this token descends from (for revocation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fam: Option<String>,
    /// Personal access token this token descends from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pat: Option<String>,
    /// The user's roles at issue (a role change moves the user to a new generation, so a
    /// token whose `gen` is current carries the current roles).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// The user's generation (security stamp) at issue.
    pub gen: i64,
}

/// Claims of an access token (RFC 9068 profile).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    /// Issuer.
    pub iss: String,
    /// User name.
    pub sub: String,
    /// Client ID.
    pub aud: String,
    /// Client ID.
    pub client_id: String,
    /// Granted scope.
    pub scope: String,
    /// Issued at.
    pub iat: i64,
    /// Expiry.
    pub exp: i64,
    /// Token id.
    pub jti: String,
    /// When the user authenticated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    /// Refresh family this token descends from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fam: Option<String>,
    /// Personal access token this token descends from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pat: Option<String>,
    /// The user's roles at issue (a role change moves the user to a new generation, so a
    /// token whose `gen` is current carries the current roles).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// The user's generation (security stamp) at issue.
    pub gen: i64,
}

/// What a grant produced, ready for the token response.
#[derive(Debug, Clone, Serialize)]
pub struct TokenResponse {
    /// JWT access token.
    pub access_token: String,
    /// Always "Bearer".
    pub token_type: &'static str,
    /// Lifetime of the access and ID token, seconds.
    pub expires_in: i64,
    /// JWT ID token (only when the scope of the response holds `openid`: a refresh
    /// narrowed to other scopes gets none, OIDC Core §12.2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    /// Granted scope.
    pub scope: String,
    /// One-time refresh token (code and refresh grants).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

/// Everything needed to mint a token pair.
#[derive(Debug, Clone)]
pub struct Mint<'a> {
    /// The user.
    pub user: &'a User,
    /// The client.
    pub client_id: &'a str,
    /// Granted scope.
    pub scope: &'a Scope,
    /// Authentication time.
    pub auth_time: Option<i64>,
    /// Nonce.
    pub nonce: Option<&'a str>,
    /// Lifetime in seconds.
    pub lifetime: i64,
    /// Refresh family.
    pub family: Option<&'a str>,
    /// PAT id.
    pub pat: Option<&'a str>,
}

/// `at_hash` and `c_hash` of an ID token signed with `alg` (OpenID Connect Core 3.3.2.11):
/// base64url of the left half of the hash of `value`, with the hash of the ID token's JWS
/// algorithm: SHA-256 for RS256, PS256 and ES256, SHA-512 for EdDSA over Ed25519 (as the
/// specification's errata and the certified relying-party libraries define it).
pub fn id_token_hash(value: &str, alg: SigningAlgorithm) -> String {
    match alg {
        SigningAlgorithm::RS256 | SigningAlgorithm::PS256 | SigningAlgorithm::ES256 => {
            b64url(&Sha256::digest(value.as_bytes())[..16])
        }
        SigningAlgorithm::EdDSA => b64url(&Sha512::digest(value.as_bytes())[..32]),
    }
}

/// Signs an access token and, when `m.scope` holds `openid`, an ID token for `m`.
///
/// RSA signatures (about 0.3 ms each) run on the signer pool (`domain::signer`), so the
/// async workers stay free to move requests and database results along; the cheap EC and
/// Ed25519 signatures run in place.
pub async fn mint_pair(
    state: &Services,
    m: &Mint<'_>,
) -> Result<(String, Option<String>), AppError> {
    mint_pair_signed(state, m, None).await
}

/// [`mint_pair`] with the ID token signed by an active key of `id_alg` (a registered
/// client's `id_token_signed_response_alg`) when it differs from the active key's.
pub async fn mint_pair_signed(
    state: &Services,
    m: &Mint<'_>,
    id_alg: Option<crate::config::SigningAlgorithm>,
) -> Result<(String, Option<String>), AppError> {
    let ring = state.keys.ring();
    let key = ring.active()?.clone();
    let id_key = match id_alg {
        Some(alg) if alg != key.alg => ring
            .keys()
            .iter()
            .find(|k| k.active && k.alg == alg)
            .cloned()
            .ok_or_else(|| {
                AppError::Internal(format!("no active {alg} key for the client's ID tokens"))
            })?,
        _ => key.clone(),
    };
    let rsa = key.is_rsa() || id_key.is_rsa();
    let (access, mut id) = claims_for(state, m);
    let openid = m.scope.contains("openid");
    let mut sign_both = move || -> Result<(String, Option<String>), AppError> {
        let access_token = key.sign(ACCESS_TYP, &access)?;
        if !openid {
            return Ok((access_token, None));
        }
        id.at_hash = Some(id_token_hash(&access_token, id_key.alg));
        let id_token = id_key.sign(ID_TYP, &id)?;
        Ok((access_token, Some(id_token)))
    };
    if !rsa {
        return sign_both();
    }
    crate::domain::signer::run(sign_both).await?
}

/// The claims of the access token and the ID token for `m`, issued now (the ID token's
/// hashes left for the caller to fill in).
pub fn claims_for(state: &Services, m: &Mint<'_>) -> (AccessClaims, IdClaims) {
    let now = state.now();
    let issuer = state.issuer();
    let exp = now.saturating_add(m.lifetime);
    let access = AccessClaims {
        iss: issuer.clone(),
        sub: m.user.username.clone(),
        aud: m.client_id.to_string(),
        client_id: m.client_id.to_string(),
        scope: m.scope.to_string(),
        iat: now,
        exp,
        jti: random_id(),
        auth_time: m.auth_time,
        fam: m.family.map(str::to_string),
        pat: m.pat.map(str::to_string),
        roles: m.user.roles.clone(),
        gen: m.user.generation,
    };
    let id = IdClaims {
        iss: issuer,
        sub: m.user.username.clone(),
        aud: m.client_id.to_string(),
        exp,
        iat: now,
        jti: random_id(),
        auth_time: m.auth_time,
        nonce: m.nonce.map(str::to_string),
        at_hash: None,
        c_hash: None,
        preferred_username: Some(m.user.username.clone()),
        name: if m.scope.contains("profile") {
            m.user.name.clone()
        } else {
            None
        },
        email: if m.scope.contains("email") {
            m.user.email.clone()
        } else {
            None
        },
        fam: m.family.map(str::to_string),
        pat: m.pat.map(str::to_string),
        roles: m.user.roles.clone(),
        gen: m.user.generation,
    };
    (access, id)
}

/// What a new refresh family starts from.
pub struct FamilyStart<'a> {
    /// the family's id: a fresh [`random_id`], which the caller may already have put in
    /// tokens it signs meanwhile
    pub family: &'a str,
    /// the user, as the grant was checked (its generation is recorded)
    pub user: &'a User,
    /// the client
    pub client_id: &'a str,
    /// the granted scope
    pub scope: &'a Scope,
    /// when the user signed in
    pub auth_time: i64,
    /// the hash of the authorization code it is exchanged for, if any
    pub code_hash: Option<&'a [u8]>,
    /// how long its refresh tokens live (the server's or a registered client's own)
    pub lifetime: i64,
}

/// Issues a new refresh family with its first refresh token; returns the token.
pub async fn start_family_lasting(
    state: &Services,
    start: &FamilyStart<'_>,
) -> Result<String, AppError> {
    let FamilyStart {
        family,
        user,
        client_id,
        scope,
        auth_time,
        code_hash,
        lifetime,
    } = *start;
    let now = state.now();
    let token = random_token();
    let hash = token_hash(&token);
    let scope = scope.to_string();
    let live = state
        .store
        .create_family(
            family,
            // the generation the grant was checked under (the caller's copy of the user)
            user.generation,
            &NewRefresh {
                token_hash: &hash,
                family_id: family,
                client_id,
                user_id: user.id,
                scope: &scope,
                auth_time,
                now,
                expires_at: now.saturating_add(lifetime),
            },
            code_hash,
        )
        .await?;
    if !live {
        // the code was replayed while this exchange ran: it still wins the race (one
        // exchange always does), but its family is born revoked
        state.sync_revocations().await;
    }
    Ok(token)
}

/// The kind of a presented token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// JWT access token.
    Access,
    /// JWT ID token.
    Id,
    /// Personal access token.
    Pat,
    /// A user name and password sent as `Authorization: Basic` (`/api/validate`).
    Basic,
}

impl TokenKind {
    /// Name used in introspection responses.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Access => "access_token",
            TokenKind::Id => "id_token",
            TokenKind::Pat => "pat",
            TokenKind::Basic => "basic",
        }
    }
}

/// A presented token that is valid right now.
#[derive(Debug, Clone)]
pub struct ValidToken {
    /// Token id.
    pub jti: Option<String>,
    /// Refresh family it descends from.
    pub family: Option<String>,
    /// The PAT it is (kind `Pat`) or descends from.
    pub pat: Option<String>,
    /// Access, ID or personal access token.
    pub kind: TokenKind,
    /// The user (from the user cache).
    pub user: std::sync::Arc<User>,
    /// The client it was issued to (none for a PAT).
    pub client_id: Option<String>,
    /// Scope (`data` or `management` for a PAT).
    pub scope: String,
    /// Issued at (a PAT: created at).
    pub iat: i64,
    /// Expiry (none for a PAT that never expires).
    pub exp: Option<i64>,
    /// A registered client's own token: `user` is only a stand-in named after the client
    /// (no user is behind it: no `username`, no userinfo).
    pub service: bool,
}

/// Checks a presented access token, ID token or PAT (whichever its shape says it is).
pub async fn validate_token(state: &Services, token: &str) -> Result<ValidToken, AppError> {
    if !pat::looks_like_pat(token) {
        return validate_jwt(state, token).await;
    }
    let valid = pat::validate(&state.store, &state.revocations, token, state.now()).await?;
    Ok(ValidToken {
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
    })
}

/// Minimal claims common to both kinds, for checking.
#[derive(Debug, Deserialize)]
struct AnyClaims {
    iss: String,
    sub: String,
    aud: serde_json::Value,
    exp: i64,
    iat: i64,
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    fam: Option<String>,
    #[serde(default)]
    jti: Option<String>,
    #[serde(default)]
    pat: Option<String>,
    #[serde(default)]
    gen: i64,
    /// a registered client's own token (`client_credentials`): no user behind it
    #[serde(default)]
    svc: bool,
}

/// Checks a presented JWT: our signature, our issuer, not expired, user enabled and not
/// reset since, family or PAT it descends from not revoked.
pub async fn validate_jwt(state: &Services, token: &str) -> Result<ValidToken, AppError> {
    let verified = match state.keys.verify_cached(token) {
        // another instance may have rotated the key a moment ago
        Err(VerifyError::UnknownKey) if state.keys.reload_for_unknown_kid(state.now()).await => {
            state.keys.verify_cached(token)
        }
        other => other,
    };
    let (typ, claims): (Option<String>, AnyClaims) = verified.map_err(|e| {
        AppError::InvalidToken(match e {
            VerifyError::Malformed => "the token is malformed".into(),
            other => other.to_string(),
        })
    })?;
    let kind = match typ.as_deref() {
        Some(ACCESS_TYP) => TokenKind::Access,
        _ => TokenKind::Id,
    };
    let now = state.now();
    if claims.iss != state.issuer() {
        return Err(AppError::InvalidToken(
            "the token was issued by another issuer".into(),
        ));
    }
    if claims.exp <= now {
        return Err(AppError::InvalidToken("the token has expired".into()));
    }
    let client_id = match (&claims.client_id, &claims.aud) {
        (Some(c), _) => c.clone(),
        (None, serde_json::Value::String(a)) => a.clone(),
        (None, serde_json::Value::Array(a)) => a
            .first()
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string(),
        _ => String::new(),
    };
    let revoked = || AppError::InvalidToken("the token has been revoked".into());
    if claims
        .fam
        .as_deref()
        .is_some_and(|f| state.revocations.family_revoked(f))
        || claims
            .jti
            .as_deref()
            .is_some_and(|j| state.revocations.jti_revoked(j))
        || state.revocations.client_revoked(&client_id, claims.iat)
    {
        return Err(revoked());
    }
    // minted from a PAT: dies with it (revoked, or the owner disabled, which revokes it)
    if let Some(id) = claims.pat.as_deref() {
        if !pat::id_live(&state.store, &state.revocations, id, now).await? {
            return Err(revoked());
        }
    }
    if claims.svc && kind == TokenKind::Access {
        return Ok(ValidToken {
            jti: claims.jti,
            family: None,
            pat: None,
            kind,
            user: std::sync::Arc::new(service_identity(&claims.sub)),
            client_id: Some(client_id),
            scope: claims.scope.unwrap_or_default(),
            iat: claims.iat,
            exp: Some(claims.exp),
            service: true,
        });
    }
    let user = state
        .revocations
        .user(&state.store, &claims.sub)
        .await?
        .ok_or_else(|| AppError::InvalidToken("the token's user does not exist".into()))?;
    if user.disabled || claims.gen != user.generation {
        return Err(revoked());
    }
    Ok(ValidToken {
        jti: claims.jti,
        family: claims.fam,
        pat: claims.pat,
        kind,
        user,
        client_id: Some(client_id),
        scope: claims.scope.unwrap_or_else(|| "openid".into()),
        iat: claims.iat,
        exp: Some(claims.exp),
        service: false,
    })
}

/// The stand-in user of a service token: named after the client, no rights.
fn service_identity(client_id: &str) -> User {
    User {
        id: 0,
        username: client_id.to_string(),
        password_hash: String::new(),
        name: None,
        email: None,
        admin: false,
        disabled: false,
        not_before: 0,
        generation: 0,
        created_at: 0,
        updated_at: 0,
        ..User::default()
    }
}
