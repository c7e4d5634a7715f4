//! The tokens of the implicit and hybrid sign-in (OIDC Core §3.2.2.5, §3.3.2.5), for the
//! clients listed in `authentication.client.implicit`.
//!
//! What travels in the redirect lives `authentication.implicit.token.expiry` and never
//! comes with a refresh token: a token in a fragment has been through the browser's
//! history and any script on the landing page, so it is not worth more than one session.
//! The ID token binds the rest of the response: `nonce` (required), `at_hash` for an
//! access token beside it, `c_hash` for a code beside it.
use crate::domain::authorize::AuthRequest;
use crate::domain::response_type::FrontResponse;
use crate::domain::scope::Scope;
use crate::domain::services::Services;
use crate::domain::tokens::{claims_for, id_token_hash, Mint, ACCESS_TYP, ID_TYP};
use crate::error::AppError;
use crate::store::User;

/// The lifetime of front-channel tokens, seconds.
pub fn lifetime(state: &Services) -> i64 {
    i64::try_from(state.settings.auth.implicit_token_expiry).unwrap_or(i64::MAX)
}

/// Mints what `request.response_type` asks for and returns the response to deliver.
/// `code` is the authorization code already stored for a hybrid response.
pub async fn respond(
    state: &Services,
    request: &AuthRequest,
    user: &User,
    auth_time: i64,
    code: Option<&str>,
) -> Result<FrontResponse, AppError> {
    let response_type = request.response_type;
    let mut scope = Scope::from_stored(&request.scope);
    // no refresh token travels here, so the front-channel tokens do not claim one
    scope.remove("offline_access");
    let lifetime = lifetime(state);
    let mint = Mint {
        user,
        client_id: &request.client_id,
        scope: &scope,
        auth_time: Some(auth_time),
        nonce: request.nonce.as_deref(),
        lifetime,
        family: None,
        pat: None,
    };
    let (access, mut id) = claims_for(state, &mint);
    let want_access = response_type.has_access_token();
    let want_id = response_type.has_id_token();
    let ring = state.keys.ring();
    let key = ring.active()?.clone();
    let alg = key.alg;
    let code_hash = code.map(|c| id_token_hash(c, alg));
    let rsa = key.is_rsa();
    let sign = move || -> Result<(Option<String>, Option<String>), AppError> {
        let access_token = if want_access {
            Some(key.sign(ACCESS_TYP, &access)?)
        } else {
            None
        };
        let id_token = if want_id {
            id.at_hash = access_token.as_deref().map(|t| id_token_hash(t, alg));
            id.c_hash = code_hash;
            Some(key.sign(ID_TYP, &id)?)
        } else {
            None
        };
        Ok((access_token, id_token))
    };
    let (access_token, id_token) = if rsa {
        crate::domain::signer::run(sign).await??
    } else {
        sign()?
    };

    let mut params: Vec<(String, String)> = Vec::new();
    if let Some(code) = code {
        params.push(("code".into(), code.to_string()));
    }
    if let Some(token) = access_token {
        params.push(("access_token".into(), token));
        params.push(("token_type".into(), "Bearer".into()));
        params.push(("expires_in".into(), lifetime.to_string()));
        params.push(("scope".into(), scope.to_string()));
    }
    if let Some(token) = id_token {
        params.push(("id_token".into(), token));
    }
    if let Some(s) = &request.state {
        params.push(("state".into(), s.clone()));
    }
    params.push(("iss".into(), state.issuer()));
    tracing::info!(
        target: "authserver::audit",
        user = %user.username,
        client = %request.client_id,
        response_type = ?response_type,
        "front-channel tokens issued"
    );
    Ok(FrontResponse {
        redirect_uri: request.redirect(),
        mode: request.response_mode,
        params,
    })
}
