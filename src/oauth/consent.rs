//! `POST /consent`: the user's decision on the consent page, and
//! `POST /account/grants/withdraw`: withdrawing a remembered grant on the account page.
//!
//! The consent page carries the pending request sealed like the login form
//! (`domain::pending`), but bound to the browser's CSRF token *and* the signed-in user:
//! the decision cannot be altered, replayed from another browser, or applied to another
//! account.
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::post;
use axum::Router;

use crate::crypto::{ct_eq, random_token, token_hash};
use crate::domain::authorize::AuthRequest;
use crate::domain::clients::{self, ClientMetadata};
use crate::domain::consent;
use crate::domain::params::Params;
use crate::domain::pending::PendingError;
use crate::error::AppError;
use crate::oauth::account;
use crate::oauth::respond::{bad_request_page, deliver, internal_page, respond};
use crate::state::AppState;
use crate::store::User;
use crate::web::consent::ConsentView;
use crate::web::{self, PatDraft, SSO_COOKIE};

/// Routes of the consent decision and the withdrawal.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/consent", post(decide))
        .route("/account/grants/withdraw", post(withdraw))
}

/// What the consent form's seal is bound to: the browser's CSRF token and the user.
fn binding(csrf: &str, user_id: i64) -> String {
    format!("consent\0{user_id}\0{csrf}")
}

/// Where the answer goes, as the page shows it: the redirect URI's host, or its scheme
/// for a native app's private-use URI.
fn redirect_host(uri: &str) -> String {
    match url::Url::parse(uri) {
        Ok(u) => match u.host_str() {
            Some(h) => h.to_string(),
            None => format!("{}:", u.scheme()),
        },
        Err(_) => uri.to_string(),
    }
}

fn set_cookie(response: &mut Response, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// The consent page for `request` of the signed-in `user`, asked by `client`.
pub(super) fn consent_page(
    state: &AppState,
    headers: &HeaderMap,
    request: &AuthRequest,
    user: &User,
    client: &ClientMetadata,
) -> Response {
    let existing = web::csrf_cookie(headers, state.secure_cookies).filter(|c| c.len() == 43);
    let csrf = existing.map(str::to_string).unwrap_or_else(random_token);
    let Some(rid) = state
        .pending
        .seal(request, &binding(&csrf, user.id), state.now())
    else {
        return internal_page(
            state,
            AppError::Internal("the pending request cannot be sealed".into()),
        );
    };
    let host = redirect_host(&request.redirect_uri);
    let view = ConsentView {
        base: &state.base_path,
        csrf: &csrf,
        rid: &rid,
        client_name: &client.client_name,
        client_id: &request.client_id,
        redirect_host: &host,
        username: &user.username,
        scopes: request
            .scope
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(consent::describe)
            .collect(),
    };
    // the decision's 303 goes to the client
    let origin = web::form_target(&request.redirect_uri);
    let mut response = web::html(StatusCode::OK, &view, origin.as_deref());
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if existing.is_none() {
        set_cookie(
            &mut response,
            &web::set_csrf_cookie(&csrf, &state.base_path, state.secure_cookies),
        );
    }
    response
}

async fn decide(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    decide_inner(&state, &headers, &body)
        .await
        .unwrap_or_else(|e| internal_page(&state, e))
}

async fn decide_inner(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, AppError> {
    let form = Params::parse(body);
    let field = |name: &str| form.get(name).ok().flatten().unwrap_or("");
    let cookie = web::csrf_cookie(headers, state.secure_cookies);
    let csrf = match cookie {
        Some(c) if !field("csrf").is_empty() && ct_eq(c.as_bytes(), field("csrf").as_bytes()) => c,
        _ => return Ok(web::error_page(
            &state.base_path,
            StatusCode::FORBIDDEN,
            "This form has expired",
            "The form was not submitted from this browser's consent page (cookies may be blocked).",
        )),
    };
    let now = state.now();
    let session = match web::cookie(headers, SSO_COOKIE) {
        Some(sid) => state.store.live_session(&token_hash(sid), now).await?,
        None => None,
    };
    let user = match &session {
        Some(s) => state.store.user_by_id(s.user_id).await?,
        None => None,
    };
    let (Some(session), Some(user)) = (session, user.filter(|u| !u.disabled)) else {
        return Ok(bad_request_page(
            state,
            "You are no longer signed in. Go back to the application and sign in again.",
        ));
    };
    let request = match state
        .pending
        .open(field("rid"), &binding(csrf, user.id), now)
    {
        Ok(r) => r,
        Err(PendingError::Expired) => {
            return Ok(bad_request_page(
                state,
                "This request has expired. Go back to the application and sign in again.",
            ))
        }
        Err(PendingError::Invalid) => {
            tracing::info!(target: "authserver::audit", user = %user.username, "consent form altered, from another browser or another user");
            return Ok(bad_request_page(
                state,
                "This form was altered, or started in another browser or by another user. Go back to the application and sign in again.",
            ));
        }
    };
    if clients::find(&state.store, &request.client_id)
        .await?
        .is_none()
    {
        return Ok(bad_request_page(
            state,
            "This application is no longer registered with this server.",
        ));
    }
    match field("decision") {
        "allow" => {
            consent::remember(state, user.id, &request.client_id, &request.scope).await?;
            tracing::info!(target: "authserver::audit", user = %user.username, client = %request.client_id, scope = %request.scope, "consent given");
            let front = respond(state, &request, &user, session.auth_time).await?;
            Ok(deliver(state, StatusCode::SEE_OTHER, Some(front)))
        }
        "deny" => {
            tracing::info!(target: "authserver::audit", user = %user.username, client = %request.client_id, "consent denied");
            let e = request.error("access_denied", "the user denied the request");
            Ok(deliver(
                state,
                StatusCode::SEE_OTHER,
                e.response(&state.issuer()),
            ))
        }
        _ => Ok(bad_request_page(state, "Choose Allow or Deny.")),
    }
}

async fn withdraw(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    withdraw_inner(&state, &headers, &body)
        .await
        .unwrap_or_else(|e| account::internal_page(&state, e))
}

async fn withdraw_inner(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, AppError> {
    let (user, form) = match account::form_of_user(state, headers, body).await? {
        Ok(f) => f,
        Err(response) => return Ok(response),
    };
    let client_id = form.get("client_id").ok().flatten().unwrap_or("");
    if !consent::withdraw(state, user.id, client_id).await? {
        return account::account_view(
            state,
            headers,
            &user,
            StatusCode::NOT_FOUND,
            None,
            Some("You have not allowed that application."),
            PatDraft::default(),
        )
        .await;
    }
    state.sync_revocations().await;
    tracing::info!(target: "authserver::audit", user = %user.username, client = %client_id, "consent withdrawn; the client's tokens for the user are revoked");
    Ok(account::see_other(state))
}
