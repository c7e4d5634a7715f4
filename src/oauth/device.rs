//! Device authorization (RFC 8628): `POST /api/oidc/device_code` (Teamwork Cloud 2024x's
//! path; `/api/device_authorization` too), and the verification page `GET/POST /device`
//! where the user enters the code, signs in (or uses the SSO session) and allows or denies.
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

use crate::crypto::{ct_eq, random_token, token_hash};
use crate::domain::client_auth;
use crate::domain::clients;
use crate::domain::consent;
use crate::domain::device::{self, CodeLookup, EnteredCode};
use crate::domain::login::{check_password, PasswordCheck};
use crate::domain::params::Params;
use crate::error::AppError;
use crate::oauth::device_cookie;
use crate::state::AppState;
use crate::store::User;
use crate::web::device::{describe_scope, DeviceConfirmView, DeviceDoneView, DeviceEntryView};
use crate::web::extract::{header_str, require_form, ClientIp};
use crate::web::{self, LOGIN_FAILED, SSO_COOKIE};

/// The device authorization endpoint discovery names.
pub const DEVICE_ENDPOINT: &str = "/api/oidc/device_code";
/// The verification page.
pub const VERIFICATION_PATH: &str = "/device";

/// Routes of this endpoint.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(DEVICE_ENDPOINT, post(device_authorization))
        .route("/api/device_authorization", post(device_authorization))
        .route(VERIFICATION_PATH, get(verify_get).post(verify_post))
}

async fn device_authorization(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    require_form(&headers)?;
    let params = Params::parse(&body);
    // a registered client authenticates with its own method (`none` for a public one)
    let client = clients::auth::authenticate_request(
        &state,
        header_str(&headers, "x-auth-secret"),
        header_str(&headers, header::AUTHORIZATION.as_str()),
        &params,
        false,
        client_auth::ClientId::Required,
    )
    .await?;
    clients::grants::require_grant(&client, device::GRANT_TYPE)?;
    let verification_uri = format!("{}{VERIFICATION_PATH}", state.issuer());
    let answer = device::start(&state, &client, &params, &verification_uri).await?;
    let mut response = Json(answer).into_response();
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    Ok(response)
}

/// The signed-in user of the browser's SSO session, with their authentication time.
async fn session_user(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<(User, i64)>, AppError> {
    let Some(sid) = web::cookie(headers, SSO_COOKIE) else {
        return Ok(None);
    };
    let Some(session) = state
        .store
        .live_session(&token_hash(sid), state.now())
        .await?
    else {
        return Ok(None);
    };
    Ok(state
        .store
        .user_by_id(session.user_id)
        .await?
        .filter(|u| !u.disabled)
        .map(|u| (u, session.auth_time)))
}

fn set_cookie(response: &mut Response, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// The browser's CSRF token, or a new one (and whether it is new).
fn csrf_token(state: &AppState, headers: &HeaderMap) -> (String, bool) {
    match web::csrf_cookie(headers, state.secure_cookies).filter(|c| c.len() == 43) {
        Some(c) => (c.to_string(), false),
        None => (random_token(), true),
    }
}

/// Renders the code entry form.
fn entry_page(
    state: &AppState,
    headers: &HeaderMap,
    user_code: &str,
    signed_in: Option<&str>,
    username: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let (csrf, new) = csrf_token(state, headers);
    // echo at most what a code can be (the field's own limit), printable only
    let shown: String = user_code
        .chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .take(20)
        .collect();
    let view = DeviceEntryView {
        base: &state.base_path,
        csrf: &csrf,
        user_code: &shown,
        signed_in,
        username,
        error,
    };
    let mut response = web::html(status, &view, None);
    if new {
        set_cookie(
            &mut response,
            &web::set_csrf_cookie(&csrf, &state.base_path, state.secure_cookies),
        );
    }
    response
}

fn internal_page(state: &AppState, e: AppError) -> Response {
    tracing::error!(error = %e, "device verification failed");
    web::error_page(
        &state.base_path,
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "The server could not complete the request.",
    )
}

fn throttled_page(state: &AppState, wait: u64) -> Response {
    let message = format!(
        "Too many failed attempts. Try again in {} seconds.",
        wait.max(1)
    );
    let mut r = web::error_page(
        &state.base_path,
        StatusCode::TOO_MANY_REQUESTS,
        "Please wait",
        &message,
    );
    if let Ok(v) = HeaderValue::from_str(&wait.max(1).to_string()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

async fn verify_get(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::parse(query.unwrap_or_default().as_bytes());
    let user_code = params.get("user_code").ok().flatten().unwrap_or("");
    match session_user(&state, &headers).await {
        Ok(user) => entry_page(
            &state,
            &headers,
            user_code,
            user.as_ref().map(|(u, _)| u.username.as_str()),
            "",
            None,
            StatusCode::OK,
        ),
        Err(e) => internal_page(&state, e),
    }
}

async fn verify_post(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match verify_inner(&state, &headers, &body, ip).await {
        Ok(r) => r,
        Err(e) => internal_page(&state, e),
    }
}

async fn verify_inner(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
    ip: std::net::IpAddr,
) -> Result<Response, AppError> {
    let form = Params::parse(body);
    let field = |name: &str| form.get(name).ok().flatten().unwrap_or("");
    let csrf_ok = web::csrf_cookie(headers, state.secure_cookies).is_some_and(|cookie| {
        !field("csrf").is_empty() && ct_eq(cookie.as_bytes(), field("csrf").as_bytes())
    });
    if !csrf_ok {
        return Ok(web::error_page(
            &state.base_path,
            StatusCode::FORBIDDEN,
            "Your form has expired",
            "The form was not submitted from this browser's device page (cookies may be blocked).",
        ));
    }
    let typed = field("user_code");
    let username = field("username").trim();
    let session = session_user(state, headers).await?;
    let signed_in = session.as_ref().map(|(u, _)| u.username.as_str());
    let code = match device::find_user_code(state, typed, ip).await? {
        CodeLookup::Found(code) => code,
        CodeLookup::Throttled(wait) => return Ok(throttled_page(state, wait)),
        CodeLookup::Unknown => {
            return Ok(entry_page(
                state,
                headers,
                typed,
                signed_in,
                username,
                Some("That code is not valid or has expired. Check it and try again."),
                StatusCode::BAD_REQUEST,
            ))
        }
    };
    if let Some((user, auth_time)) = &session {
        return Ok(match field("decision") {
            "approve" | "deny" => {
                decision_page(
                    state,
                    &code,
                    user,
                    *auth_time,
                    field("decision") == "approve",
                )
                .await?
            }
            _ => {
                let name = client_name(state, &code.request.client_id).await?;
                confirm_page(state, headers, &code, user, &name)
            }
        });
    }
    // no session: the form carried the sign-in fields
    if username.is_empty() {
        return Ok(entry_page(
            state,
            headers,
            &code.display,
            None,
            "",
            Some("Sign in to continue."),
            StatusCode::UNAUTHORIZED,
        ));
    }
    let device = device_cookie::presented_or_new(headers);
    let user = match check_password(state, username, field("password"), ip, Some(&device)).await? {
        PasswordCheck::Verified(u) => u,
        PasswordCheck::Throttled(wait) => return Ok(throttled_page(state, wait)),
        PasswordCheck::Unavailable => {
            return Ok(crate::web::directory_unavailable_page(&state.base_path))
        }
        PasswordCheck::Refused => {
            tracing::info!(target: "authserver::audit", "device page sign-in failed");
            return Ok(entry_page(
                state,
                headers,
                &code.display,
                None,
                username,
                Some(LOGIN_FAILED),
                StatusCode::UNAUTHORIZED,
            ));
        }
    };
    let now = state.now();
    let sid = random_token();
    let ttl = i64::try_from(state.settings.auth.sso_session_expiry).unwrap_or(i64::MAX);
    if let Some(old) = web::cookie(headers, SSO_COOKIE) {
        state.store.end_session(&token_hash(old), now).await?;
    }
    state
        .store
        .create_session(&token_hash(&sid), user.id, false, now, ttl)
        .await?;
    tracing::info!(target: "authserver::audit", user = %user.username, "signed in on the device page");
    let name = client_name(state, &code.request.client_id).await?;
    let mut response = confirm_page(state, headers, &code, &user, &name);
    set_cookie(
        &mut response,
        &web::set_cookie(
            SSO_COOKIE,
            &sid,
            &state.base_path,
            state.secure_cookies,
            "Lax",
            None,
        ),
    );
    device_cookie::set(state, &mut response, &device);
    Ok(response)
}

/// What the confirmation page calls the client: a registered client's display name, else
/// its ID.
async fn client_name(state: &AppState, client_id: &str) -> Result<String, AppError> {
    if state.settings.is_allowed_client(client_id) {
        return Ok(client_id.to_string());
    }
    Ok(clients::find(&state.store, client_id)
        .await?
        .map_or_else(|| client_id.to_string(), |c| c.metadata.client_name))
}

fn confirm_page(
    state: &AppState,
    headers: &HeaderMap,
    code: &EnteredCode,
    user: &User,
    client_name: &str,
) -> Response {
    let (csrf, new) = csrf_token(state, headers);
    let view = DeviceConfirmView {
        base: &state.base_path,
        csrf: &csrf,
        user_code: &code.display,
        client_name,
        username: &user.username,
        scopes: code
            .request
            .scope
            .split(' ')
            .filter_map(describe_scope)
            .collect(),
    };
    let mut response = web::html(StatusCode::OK, &view, None);
    if new {
        set_cookie(
            &mut response,
            &web::set_csrf_cookie(&csrf, &state.base_path, state.secure_cookies),
        );
    }
    response
}

async fn decision_page(
    state: &AppState,
    code: &EnteredCode,
    user: &User,
    auth_time: i64,
    approve: bool,
) -> Result<Response, AppError> {
    if !device::decide(state, code, user, auth_time, approve).await? {
        return Ok(web::error_page(
            &state.base_path,
            StatusCode::BAD_REQUEST,
            "This request is no longer pending",
            "It was already decided or has expired. Start again on your device.",
        ));
    }
    // the verification page is the device flow's consent page: a third-party client's
    // approval is remembered like the browser flow's (and listed on the account page)
    let client_id = &code.request.client_id;
    if approve && !state.settings.is_allowed_client(client_id) {
        let client = clients::find(&state.store, client_id).await?;
        if consent::required(client.as_ref().map(|c| &c.metadata)) {
            consent::remember(state, user.id, client_id, &code.request.scope).await?;
        }
    }
    let (title, message) = if approve {
        (
            "Device connected",
            "You may close this page and return to your device.",
        )
    } else {
        (
            "Request denied",
            "The device was not given access. You may close this page.",
        )
    };
    Ok(web::html(
        StatusCode::OK,
        &DeviceDoneView {
            base: &state.base_path,
            title,
            message,
        },
        None,
    ))
}
