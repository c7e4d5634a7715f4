//! `GET/POST /authorize` and `POST /login`: the browser sign-in.
use axum::body::Bytes;
use std::net::IpAddr;

use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::crypto::{ct_eq, random_token, token_hash};
use crate::domain::authorize::{self, AuthRequest, AuthorizeError};
use crate::domain::clients;
use crate::domain::hint;
use crate::domain::implicit;
use crate::domain::login::{check_password, PasswordCheck};
use crate::domain::params::Params;
use crate::domain::pending::PendingError;
use crate::domain::response_type::{FrontResponse, ResponseMode};
use crate::error::AppError;
use crate::oauth::device_cookie;
use crate::state::AppState;
use crate::store::{CodeGrant, NewCode, User};
use crate::web::extract::ClientIp;
use crate::web::{self, LoginView};

pub use crate::web::{CSRF_COOKIE, CSRF_HOST_COOKIE, LOGIN_FAILED, SSO_COOKIE};

/// Routes of the browser sign-in.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/authorize", get(authorize_get).post(authorize_post))
        // Teamwork Cloud 2024x's name for the same endpoint
        .route("/oidc/authorize", get(authorize_get).post(authorize_post))
        .route("/login", post(login))
}

async fn authorize_get(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::parse(query.unwrap_or_default().as_bytes());
    authorize(state, headers, params, StatusCode::FOUND).await
}

async fn authorize_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = Params::parse(&body);
    authorize(state, headers, params, StatusCode::SEE_OTHER).await
}

fn redirect(status: StatusCode, location: &str) -> Response {
    let mut response = status.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Delivers an authorization response: a redirect (`status`) for the query and fragment
/// modes, the self-submitting form for `form_post`.
fn deliver(state: &AppState, status: StatusCode, response: Option<FrontResponse>) -> Response {
    let Some(response) = response else {
        return internal_page(
            state,
            AppError::Internal("an authorization response without a destination".into()),
        );
    };
    match response.location() {
        Some(location) => redirect(status, &location),
        None => web::form_post::page(&state.base_path, &response),
    }
}

fn bad_request_page(state: &AppState, message: &str) -> Response {
    web::error_page(
        &state.base_path,
        StatusCode::BAD_REQUEST,
        "This sign-in request cannot be completed",
        message,
    )
}

fn internal_page(state: &AppState, e: AppError) -> Response {
    tracing::error!(error = %e, "sign-in failed");
    web::error_page(
        &state.base_path,
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "The server could not complete the sign-in.",
    )
}

async fn authorize(
    state: AppState,
    headers: HeaderMap,
    params: Params,
    status: StatusCode,
) -> Response {
    let issuer = state.issuer();
    // a client ID that is not a properties-file client may be a registered one
    let registered = match authorize::requested_client(&params) {
        Some(id) if !state.settings.is_allowed_client(id) && id.len() <= 128 => {
            match clients::find(&state.store, id).await {
                Ok(found) => found.map(|c| c.metadata),
                Err(e) => return internal_page(&state, e.into()),
            }
        }
        _ => None,
    };
    let request = match authorize::validate_for(
        &params,
        &state.settings,
        &state.whitelist,
        registered.as_ref(),
    ) {
        Ok(r) => r,
        Err(AuthorizeError::Page(message)) => return bad_request_page(&state, &message),
        Err(e) => return deliver(&state, status, e.response(&issuer)),
    };
    match authorize_valid(&state, &headers, request, status).await {
        Ok(r) => r,
        Err(e) => internal_page(&state, e),
    }
}

async fn authorize_valid(
    state: &AppState,
    headers: &HeaderMap,
    request: AuthRequest,
    status: StatusCode,
) -> Result<Response, AppError> {
    let now = state.now();
    let session = match web::cookie(headers, SSO_COOKIE) {
        Some(sid) => state.store.live_session(&token_hash(sid), now).await?,
        None => None,
    };
    // a hint must be one of our ID tokens; anything else is refused, never kept
    let hinted_sub = match request.id_token_hint.as_deref() {
        None => None,
        Some(token) => {
            let verified = state.keys.verify_fresh(token, now).await;
            // the requesting client (a registered one included) may send its own ID token
            let is_client =
                |aud: &str| aud == request.client_id || state.settings.is_allowed_client(aud);
            match hint::id_token_claims_for(verified, &state.issuer(), is_client) {
                Ok(claims) => Some(claims.sub),
                Err(description) => {
                    let e = request.error("invalid_request", description);
                    return Ok(deliver(state, status, e.response(&state.issuer())));
                }
            }
        }
    };
    if let Some(session) = session {
        let user = state.store.user_by_id(session.user_id).await?;
        if let Some(user) = user {
            let hint_matches = hinted_sub.as_deref().is_none_or(|s| s == user.username);
            if hint_matches && authorize::session_satisfies(&request, session.auth_time, now) {
                let response = respond(state, &request, &user, session.auth_time).await?;
                return Ok(deliver(state, status, Some(response)));
            }
        }
    }
    if request.prompt_none {
        let e = request.error("login_required", "the user must sign in");
        return Ok(deliver(state, status, e.response(&state.issuer())));
    }
    // no password form and one provider: straight to it, without our login page
    if let (false, [only]) = (state.password_form, &*state.upstream_buttons) {
        return Ok(straight_upstream(state, headers, &request, &only.name).await);
    }
    let username = request
        .login_hint
        .clone()
        .or(hinted_sub)
        .unwrap_or_default();
    Ok(login_page(
        state,
        headers,
        &request,
        None,
        &username,
        None,
        StatusCode::OK,
    ))
}

/// Sends the browser straight to the only upstream provider (the login page would show
/// nothing but its button): the pending request is sealed for this browser's CSRF token
/// as the page would have, and carried through the provider to the callback.
async fn straight_upstream(
    state: &AppState,
    headers: &HeaderMap,
    request: &AuthRequest,
    provider: &str,
) -> Response {
    let existing = web::csrf_cookie(headers, state.secure_cookies).filter(|c| c.len() == 43);
    let csrf = existing.map(str::to_string).unwrap_or_else(random_token);
    let Some(rid) = state.pending.seal(request, &csrf, state.now()) else {
        return internal_page(
            state,
            AppError::Internal("the pending request cannot be sealed".into()),
        );
    };
    let browser = web::cookie(headers, crate::domain::upstream::BROWSER_COOKIE);
    match crate::domain::upstream::begin(state, provider, &rid, &csrf, browser).await {
        Ok(begun) => {
            let mut response = crate::oauth::upstream_pages::to_provider(state, &begun);
            if existing.is_none() {
                set_cookie(
                    &mut response,
                    &web::set_csrf_cookie(&csrf, &state.base_path, state.secure_cookies),
                );
            }
            response
        }
        Err(e) => crate::oauth::upstream_pages::failure(state, provider, &e),
    }
}

/// Renders the login form for a pending request (setting the CSRF cookie if needed).
/// `sealed` is the request as the form posted it (a failed sign-in shows it again as is,
/// so its expiry stays); `None` seals `request` for this browser now.
fn login_page(
    state: &AppState,
    headers: &HeaderMap,
    request: &AuthRequest,
    sealed: Option<&str>,
    username: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let existing = web::csrf_cookie(headers, state.secure_cookies).filter(|c| c.len() == 43);
    let csrf = existing.map(str::to_string).unwrap_or_else(random_token);
    let rid = match sealed {
        Some(s) => s.to_string(),
        None => match state.pending.seal(request, &csrf, state.now()) {
            Some(s) => s,
            None => {
                return internal_page(
                    state,
                    AppError::Internal("the pending request cannot be sealed".into()),
                )
            }
        },
    };
    let view = LoginView {
        base: &state.base_path,
        client_name: &request.client_id,
        banner: state.settings.auth.login_banner_text.as_deref(),
        error,
        rid: &rid,
        csrf: &csrf,
        username,
        remember_me: state.settings.offers_remember_me(&request.client_id),
        providers: &state.upstream_buttons,
        password_form: state.password_form,
    };
    let origin = web::form_target(&request.redirect_uri);
    let mut response = web::html(status, &view, origin.as_deref());
    if existing.is_none() {
        set_cookie(
            &mut response,
            &web::set_csrf_cookie(&csrf, &state.base_path, state.secure_cookies),
        );
    }
    response
}

fn set_cookie(response: &mut Response, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// The authorization response for a signed-in user: a code in the query, or what the
/// front-channel `response_type` asks for (`domain::implicit`).
async fn respond(
    state: &AppState,
    request: &AuthRequest,
    user: &User,
    auth_time: i64,
) -> Result<FrontResponse, AppError> {
    let code = if request.response_type.has_code() {
        Some(store_code(state, request, user, auth_time).await?)
    } else {
        None
    };
    if request.response_type.is_front_channel() {
        return implicit::respond(state, request, user, auth_time, code.as_deref()).await;
    }
    let mut params: Vec<(String, String)> = Vec::new();
    if let Some(code) = code {
        params.push(("code".into(), code));
    }
    if let Some(s) = &request.state {
        params.push(("state".into(), s.clone()));
    }
    params.push(("iss".into(), state.issuer()));
    Ok(FrontResponse {
        redirect_uri: request.redirect(),
        mode: ResponseMode::Query,
        params,
    })
}

/// Stores a one-time code for `request` (only its hash) and returns it.
async fn store_code(
    state: &AppState,
    request: &AuthRequest,
    user: &User,
    auth_time: i64,
) -> Result<String, AppError> {
    let now = state.now();
    let code = random_token();
    let hash = token_hash(&code);
    let lifetime = i64::try_from(state.settings.auth.code_expiry).unwrap_or(i64::MAX);
    let grant = CodeGrant {
        client_id: request.client_id.clone(),
        redirect_uri: request.redirect_uri.clone(),
        user_id: user.id,
        scope: request.scope.clone(),
        nonce: request.nonce.clone(),
        code_challenge: request.code_challenge.clone(),
        auth_time,
        generation: user.generation,
        expires_at: now.saturating_add(lifetime),
    };
    state
        .store
        .create_code(NewCode {
            code_hash: &hash,
            grant: &grant,
            now,
        })
        .await?;
    Ok(code)
}

async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match login_inner(&state, &headers, &body, ip).await {
        Ok(r) => r,
        Err(e) => internal_page(&state, e),
    }
}

async fn login_inner(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
    ip: IpAddr,
) -> Result<Response, AppError> {
    if !state.password_form {
        // authentication.disable.credentials with providers only: no password is checked
        return Ok(web::error_page(
            &state.base_path,
            StatusCode::FORBIDDEN,
            "Password sign-in is turned off",
            "Sign in with one of the providers on the sign-in page.",
        ));
    }
    let form = Params::parse(body);
    let field = |name: &str| form.get(name).ok().flatten().unwrap_or("");
    let rid = field("rid");
    let cookie = web::csrf_cookie(headers, state.secure_cookies);
    let csrf_ok = match cookie {
        Some(cookie) => {
            !field("csrf").is_empty() && ct_eq(cookie.as_bytes(), field("csrf").as_bytes())
        }
        None => false,
    };
    let (true, Some(csrf)) = (csrf_ok, cookie) else {
        return Ok(web::error_page(
            &state.base_path,
            StatusCode::FORBIDDEN,
            "Your sign-in form has expired",
            "The form was not submitted from this browser's sign-in page (cookies may be blocked).",
        ));
    };
    let now = state.now();
    let request = match state.pending.open(rid, csrf, now) {
        Ok(r) => r,
        Err(PendingError::Expired) => {
            return Ok(bad_request_page(
                state,
                "This sign-in request has expired. Go back to the application and sign in again.",
            ))
        }
        Err(PendingError::Invalid) => {
            tracing::info!(target: "authserver::audit", "sign-in form altered or from another browser");
            return Ok(bad_request_page(
                state,
                "This sign-in form was altered or started in another browser. Go back to the application and sign in again.",
            ));
        }
    };
    let username = field("username").trim();
    let password = field("password");
    let device = device_cookie::presented_or_new(headers);
    let user = match check_password(state, username, password, ip, Some(&device)).await? {
        PasswordCheck::Verified(u) => u,
        PasswordCheck::Throttled(wait) => {
            tracing::info!(target: "authserver::audit", "sign-in throttled");
            let message = format!(
                "Too many failed sign-in attempts. Try again in {} seconds.",
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
            return Ok(r);
        }
        PasswordCheck::Refused => {
            tracing::info!(target: "authserver::audit", "sign-in failed");
            return Ok(login_page(
                state,
                headers,
                &request,
                Some(rid),
                username,
                Some(LOGIN_FAILED),
                StatusCode::UNAUTHORIZED,
            ));
        }
    };
    // a client that hides "Stay signed in" gets no persistent session, whatever is posted
    let remember =
        state.settings.offers_remember_me(&request.client_id) && !field("remember").is_empty();
    let mut response = complete_sign_in(state, headers, &request, &user, remember).await?;
    device_cookie::set(state, &mut response, &device);
    Ok(response)
}

/// The end of every browser sign-in (password or upstream provider): a new SSO session
/// for `user` replacing the browser's previous one, and the authorization response to
/// `request`, with the session cookie.
pub(crate) async fn complete_sign_in(
    state: &AppState,
    headers: &HeaderMap,
    request: &AuthRequest,
    user: &User,
    remember: bool,
) -> Result<Response, AppError> {
    let now = state.now();
    let sid = random_token();
    let ttl = i64::try_from(state.settings.auth.sso_session_expiry).unwrap_or(i64::MAX);
    // a new sign-in replaces the browser's previous session
    if let Some(old) = web::cookie(headers, SSO_COOKIE) {
        state.store.end_session(&token_hash(old), now).await?;
    }
    state
        .store
        .create_session(&token_hash(&sid), user.id, remember, now, ttl)
        .await?;
    let front = respond(state, request, user, now).await?;
    tracing::info!(target: "authserver::audit", user = %user.username, client = %request.client_id, "signed in");
    let mut response = deliver(state, StatusCode::SEE_OTHER, Some(front));
    let cookie = web::set_cookie(
        SSO_COOKIE,
        &sid,
        &state.base_path,
        state.secure_cookies,
        "Lax",
        remember.then_some(ttl),
    );
    set_cookie(&mut response, &cookie);
    Ok(response)
}
