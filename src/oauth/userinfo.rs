//! `GET/POST /api/userinfo` and Teamwork Cloud's `GET/POST /api/validate` (which also
//! takes `Authorization: Basic` when `authentication.validate.basic` is on).
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Map, Value};

use crate::domain::basic_check::{self, BAD_BASIC};
use crate::domain::client_auth::parse_basic;
use crate::domain::params::Params;
use crate::domain::scope::Scope;
use crate::domain::tokens::{validate_token, TokenKind, ValidToken};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::extract::{header_str, ClientIp};

/// Routes of these endpoints.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/userinfo", get(userinfo).post(userinfo))
        .route("/api/validate", get(validate).post(validate))
}

/// The token in `Authorization: Bearer …` or Teamwork Cloud's `Authorization: Token …`.
pub fn token_from_header(headers: &HeaderMap) -> Result<Option<&str>, AppError> {
    let Some(value) = header_str(headers, header::AUTHORIZATION.as_str()) else {
        return Ok(None);
    };
    let (scheme, token) = value.trim().split_once(' ').unwrap_or((value, ""));
    if scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("token") {
        let token = token.trim();
        if token.is_empty() {
            return Err(AppError::InvalidToken(
                "the Authorization header has no token".into(),
            ));
        }
        Ok(Some(token))
    } else {
        Err(AppError::InvalidToken(
            "use the Bearer or Token authorization scheme".into(),
        ))
    }
}

/// Authenticates a resource request: header token, or (userinfo) `access_token` in a
/// form body (RFC 6750 §2.2). Never from the query string.
async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<ValidToken, AppError> {
    let form = Params::parse(body);
    let body_token = form.get("access_token").ok().flatten();
    let token = match (token_from_header(headers)?, body_token) {
        (Some(_), Some(_)) => {
            return Err(AppError::InvalidRequest(
                "send the token in one place only".into(),
            ))
        }
        (Some(t), None) | (None, Some(t)) => t,
        (None, None) => return Err(AppError::InvalidToken("no access token was sent".into())),
    };
    validate_token(state, token).await
}

async fn userinfo(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    let token = authenticate(&state, &headers, &body).await?;
    if token.service {
        return Err(AppError::InsufficientScope(
            "this token was issued to a client for itself: there is no user".into(),
        ));
    }
    let scope = Scope::from_stored(&token.scope);
    // a PAT stands for its owner, who may see their own profile
    let whole_profile = token.kind == TokenKind::Pat;
    let mut claims = Map::new();
    claims.insert("sub".into(), Value::String(token.user.username.clone()));
    claims.insert(
        "preferred_username".into(),
        Value::String(token.user.username.clone()),
    );
    if whole_profile || scope.contains("profile") {
        if let Some(name) = &token.user.name {
            claims.insert("name".into(), Value::String(name.clone()));
        }
    }
    if whole_profile || scope.contains("email") {
        if let Some(email) = &token.user.email {
            claims.insert("email".into(), Value::String(email.clone()));
        }
    }
    Ok(no_store(Json(Value::Object(claims)).into_response()))
}

/// The introspection JSON of a valid token (SPEC "Introspection / validation JSON").
/// A PAT has no client, and no `exp` when it never expires: those members are left out.
pub fn introspection_json(token: &ValidToken) -> Value {
    let mut v = json!({
        "active": true,
        "sub": token.user.username,
        "username": token.user.username,
        "scope": token.scope,
        "iat": token.iat,
        "token_type": token.kind.as_str(),
    });
    if let Some(client_id) = &token.client_id {
        v["client_id"] = json!(client_id);
        v["aud"] = json!(client_id);
    }
    if let Some(exp) = token.exp {
        v["exp"] = json!(exp);
    }
    if token.service {
        // the subject is the client itself: there is no user name
        if let Some(o) = v.as_object_mut() {
            o.remove("username");
        }
    } else {
        // the user's current roles: a token of an older generation was refused above
        v["roles"] = json!(token.user.roles);
    }
    v
}

async fn validate(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    if state.settings.auth.validate_basic {
        let basic = header_str(&headers, header::AUTHORIZATION.as_str())
            .filter(|v| {
                v.trim_start()
                    .get(..6)
                    .is_some_and(|s| s.eq_ignore_ascii_case("basic "))
            })
            .map(|v| parse_basic(v).ok_or_else(|| AppError::InvalidToken(BAD_BASIC.into())));
        if let Some(basic) = basic {
            let basic = basic?;
            let valid = basic_check::check(&state, &basic.user, &basic.password, ip).await?;
            return Ok(validated(&valid));
        }
    }
    let token = token_from_header(&headers)?
        .ok_or_else(|| AppError::InvalidToken("no token was sent".into()))?;
    let valid = validate_token(&state, token).await?;
    Ok(validated(&valid))
}

/// The 200 of `/api/validate`: the introspection JSON, and the user and roles also as
/// headers (`X-Authserver-User`, `X-Authserver-Roles`), which a reverse proxy's
/// `auth_request` can pass on without reading the body.
fn validated(valid: &ValidToken) -> Response {
    let mut response = no_store(Json(introspection_json(valid)).into_response());
    if !valid.service {
        let h = response.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&valid.user.username) {
            h.insert("x-authserver-user", v);
        }
        if let Ok(v) = HeaderValue::from_str(&valid.user.roles.join(",")) {
            h.insert("x-authserver-roles", v);
        }
    }
    response
}

fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
