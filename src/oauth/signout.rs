//! `GET/POST /api/signout` (OIDC RP-Initiated Logout 1.0; Teamwork Cloud's signout).
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::crypto::{ct_eq, random_token, token_hash};
use crate::domain::hint;
use crate::domain::params::Params;
use crate::domain::redirect::RedirectUri;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::SSO_COOKIE;
use crate::web::{self, SignedOutView, SignoutView};

/// Routes of this endpoint.
pub fn router() -> Router<AppState> {
    Router::new().route("/api/signout", get(signout).post(signout))
}

async fn signout(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let params = if method == Method::POST {
        Params::parse(&body)
    } else {
        Params::parse(query.unwrap_or_default().as_bytes())
    };
    match signout_inner(&state, method, &headers, &params).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "signout failed");
            web::error_page(
                &state.base_path,
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "The server could not sign you out.",
            )
        }
    }
}

async fn signout_inner(
    state: &AppState,
    method: Method,
    headers: &HeaderMap,
    params: &Params,
) -> Result<Response, AppError> {
    let bad = |m: &str| {
        web::error_page(
            &state.base_path,
            StatusCode::BAD_REQUEST,
            "Sign-out request refused",
            m,
        )
    };
    let Ok(post_logout) = params.get("post_logout_redirect_uri") else {
        return Ok(bad("post_logout_redirect_uri was sent more than once."));
    };
    let target: Option<RedirectUri> = match post_logout {
        Some(uri) => match state.whitelist.check(uri) {
            Ok(r) => Some(r),
            Err(e) => {
                return Ok(bad(&format!(
                    "The address to return to is not allowed: {e}."
                )))
            }
        },
        None => None,
    };
    let client_state = params
        .get("state")
        .ok()
        .flatten()
        .filter(|s| s.len() <= 2048);
    let now = state.now();
    let sid = web::cookie(headers, SSO_COOKIE);
    let session = match sid {
        Some(sid) => state.store.live_session(&token_hash(sid), now).await?,
        None => None,
    };
    let session_user = match &session {
        Some(s) => state.store.user_by_id(s.user_id).await?.map(|u| u.username),
        None => None,
    };
    // a valid id_token_hint (expired is fine) of the signed-in user proves the request
    // comes from the relying party: sign out at once. Only an ID token (issued to the
    // client, never handed to resource servers) counts; an access token does not.
    let hint_ok = match params.get("id_token_hint").ok().flatten() {
        Some(token) => {
            let verified = state.keys.verify_fresh(token, now).await;
            hint::id_token_claims(verified, &state.issuer(), &state.settings)
                .is_ok_and(|c| session_user.as_deref().is_none_or(|u| u == c.sub))
        }
        None => false,
    };
    let confirmed = method == Method::POST
        && params.get("confirm").ok().flatten().is_some()
        && match (
            web::csrf_cookie(headers, state.secure_cookies),
            params.get("csrf").ok().flatten(),
        ) {
            (Some(cookie), Some(field)) => ct_eq(cookie.as_bytes(), field.as_bytes()),
            _ => false,
        };
    if session.is_some() && !hint_ok && !confirmed {
        let existing = web::csrf_cookie(headers, state.secure_cookies).filter(|c| c.len() == 43);
        let csrf = existing.map(str::to_string).unwrap_or_else(random_token);
        let view = SignoutView {
            base: &state.base_path,
            csrf: &csrf,
            username: session_user.as_deref(),
            post_logout_redirect_uri: target.as_ref().map(|t| t.as_str()),
            state: client_state,
        };
        let origin = target.as_ref().and_then(|t| web::form_target(t.as_str()));
        let mut response = web::html(StatusCode::OK, &view, origin.as_deref());
        if existing.is_none() {
            append_cookie(
                &mut response,
                &web::set_csrf_cookie(&csrf, &state.base_path, state.secure_cookies),
            );
        }
        return Ok(response);
    }
    if let Some(sid) = sid {
        state.store.end_session(&token_hash(sid), now).await?;
    }
    let mut response = match target {
        Some(t) => {
            let mut p: Vec<(&str, &str)> = Vec::new();
            if let Some(s) = client_state {
                p.push(("state", s));
            }
            let status = if method == Method::POST {
                StatusCode::SEE_OTHER
            } else {
                StatusCode::FOUND
            };
            let mut r = status.into_response();
            if let Ok(v) = HeaderValue::from_str(&t.with_params(&p)) {
                r.headers_mut().insert(header::LOCATION, v);
            }
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        None => web::html(
            StatusCode::OK,
            &SignedOutView {
                base: &state.base_path,
            },
            None,
        ),
    };
    append_cookie(
        &mut response,
        &web::set_cookie(
            SSO_COOKIE,
            "",
            &state.base_path,
            state.secure_cookies,
            "Lax",
            Some(0),
        ),
    );
    Ok(response)
}

fn append_cookie(response: &mut Response, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
}
