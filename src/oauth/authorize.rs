//! `GET/POST /authorize` and `POST /login`: the browser sign-in.
use axum::body::Bytes;
use std::net::IpAddr;

use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;

use crate::crypto::{ct_eq, random_token, token_hash};
use crate::domain::authorize::{self, AuthRequest, AuthorizeError};
use crate::domain::clients::{self, ClientMetadata};
use crate::domain::consent;
use crate::domain::hint;
use crate::domain::login::{check_password, PasswordCheck};
use crate::domain::params::Params;
use crate::domain::pending::PendingError;
use crate::error::AppError;
use crate::oauth::consent::consent_page;
use crate::oauth::device_cookie;
use crate::oauth::respond::{bad_request_page, deliver, internal_page, respond};
use crate::state::AppState;
use crate::store::User;
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
    match authorize_valid(&state, &headers, request, registered.as_ref(), status).await {
        Ok(r) => r,
        Err(e) => internal_page(&state, e),
    }
}

async fn authorize_valid(
    state: &AppState,
    headers: &HeaderMap,
    request: AuthRequest,
    registered: Option<&ClientMetadata>,
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
                if let Some(client) = registered {
                    if consent::must_ask(state, registered, &request, user.id).await? {
                        if request.prompt_none {
                            let e = request.error(
                                "consent_required",
                                "the user has not allowed this application yet",
                            );
                            return Ok(deliver(state, status, e.response(&state.issuer())));
                        }
                        return Ok(consent_page(state, headers, &request, &user, client));
                    }
                }
                let response = respond(state, &request, &user, session.auth_time).await?;
                return Ok(deliver(state, status, Some(response)));
            }
        }
    }
    if request.prompt_none {
        let e = request.error("login_required", "the user must sign in");
        return Ok(deliver(state, status, e.response(&state.issuer())));
    }
    // no password form and one other way to sign in: straight to it, without our page
    if !state.settings.password_form() && state.certificates.is_none() {
        match (&*state.upstream_buttons, state.saml.is_some()) {
            ([only], false) => {
                return Ok(straight_upstream(state, headers, &request, &only.name).await)
            }
            ([], true) => return Ok(straight_saml(state, headers, &request).await),
            _ => {}
        }
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

/// Sends the browser straight to the SAML identity provider (the login page would show
/// nothing but its button), as [`straight_upstream`] does.
async fn straight_saml(state: &AppState, headers: &HeaderMap, request: &AuthRequest) -> Response {
    let existing = web::csrf_cookie(headers, state.secure_cookies).filter(|c| c.len() == 43);
    let csrf = existing.map(str::to_string).unwrap_or_else(random_token);
    let Some(rid) = state.pending.seal(request, &csrf, state.now()) else {
        return internal_page(
            state,
            AppError::Internal("the pending request cannot be sealed".into()),
        );
    };
    let mut response = crate::oauth::saml_pages::begin(state, headers, &rid, &csrf).await;
    if existing.is_none() {
        set_cookie(
            &mut response,
            &web::set_csrf_cookie(&csrf, &state.base_path, state.secure_cookies),
        );
    }
    response
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
        client_name: request.client_name.as_deref().unwrap_or(&request.client_id),
        banner: state.settings.auth.login_banner_text.as_deref(),
        error,
        rid: &rid,
        csrf: &csrf,
        username,
        remember_me: state.settings.offers_remember_me(&request.client_id),
        smart_card: state.certificates.is_some(),
        providers: &state.upstream_buttons,
        saml_link: state.saml.as_ref().map(|sp| sp.settings.link.as_str()),
        password_form: state.settings.password_form(),
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

/// A sign-in link of the login page (`/upstream/<name>/start`, `/saml2/login`): this
/// browser's CSRF cookie must open the pending request `rid` the link carries. Returns the
/// cookie's token, or the page to show instead.
pub(crate) fn open_link<'h>(
    state: &AppState,
    headers: &'h HeaderMap,
    rid: &str,
) -> Result<&'h str, Box<Response>> {
    let Some(csrf) = web::csrf_cookie(headers, state.secure_cookies) else {
        return Err(Box::new(web::error_page(
            &state.base_path,
            StatusCode::FORBIDDEN,
            "Your sign-in page has expired",
            "The sign-in did not start from this browser's sign-in page (cookies may be blocked).",
        )));
    };
    match state.pending.open(rid, csrf, state.now()) {
        Ok(_) => Ok(csrf),
        Err(e) => {
            let message = match e {
                PendingError::Expired => {
                    "This sign-in request has expired. Go back to the application and sign in \
                     again."
                }
                PendingError::Invalid => {
                    "This sign-in link was altered or started in another browser. Go back to \
                     the application and sign in again."
                }
            };
            Err(Box::new(web::error_page(
                &state.base_path,
                StatusCode::BAD_REQUEST,
                "This sign-in request cannot be completed",
                message,
            )))
        }
    }
}

/// Checks a sign-in form's CSRF token against the cookie and opens its sealed pending
/// request; `Err` is the page to show instead. Every sign-in form posts through this.
pub(crate) fn open_form(
    state: &AppState,
    headers: &HeaderMap,
    form: &Params,
) -> Result<AuthRequest, Box<Response>> {
    let field = |name: &str| form.get(name).ok().flatten().unwrap_or("");
    let cookie = web::csrf_cookie(headers, state.secure_cookies);
    let csrf_ok = match cookie {
        Some(cookie) => {
            !field("csrf").is_empty() && ct_eq(cookie.as_bytes(), field("csrf").as_bytes())
        }
        None => false,
    };
    let (true, Some(csrf)) = (csrf_ok, cookie) else {
        return Err(Box::new(web::error_page(
            &state.base_path,
            StatusCode::FORBIDDEN,
            "Your sign-in form has expired",
            "The form was not submitted from this browser's sign-in page (cookies may be blocked).",
        )));
    };
    match state.pending.open(field("rid"), csrf, state.now()) {
        Ok(r) => Ok(r),
        Err(PendingError::Expired) => Err(Box::new(bad_request_page(
            state,
            "This sign-in request has expired. Go back to the application and sign in again.",
        ))),
        Err(PendingError::Invalid) => {
            tracing::info!(target: "authserver::audit", "sign-in form altered or from another browser");
            Err(Box::new(bad_request_page(
                state,
                "This sign-in form was altered or started in another browser. Go back to the application and sign in again.",
            )))
        }
    }
}

/// Whether the login form asked for a persistent session (a client that hides "Stay
/// signed in" gets none, whatever is posted).
pub(crate) fn remember_requested(state: &AppState, request: &AuthRequest, form: &Params) -> bool {
    state.settings.offers_remember_me(&request.client_id)
        && !form.get("remember").ok().flatten().unwrap_or("").is_empty()
}

async fn login_inner(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
    ip: IpAddr,
) -> Result<Response, AppError> {
    let form = Params::parse(body);
    let field = |name: &str| form.get(name).ok().flatten().unwrap_or("");
    let request = match open_form(state, headers, &form) {
        Ok(request) => request,
        Err(page) => return Ok(*page),
    };
    if !state.settings.password_form() {
        return Ok(web::error_page(
            &state.base_path,
            StatusCode::FORBIDDEN,
            "Password sign-in is turned off",
            "Use one of the other ways to sign in offered on the sign-in page.",
        ));
    }
    let rid = field("rid");
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
        PasswordCheck::Unavailable => {
            return Ok(web::directory_unavailable_page(&state.base_path));
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
    let remember = remember_requested(state, &request, &form);
    complete_sign_in(state, headers, &request, &user, remember, &device).await
}

/// Signs `user` in for `request`: a new SSO session (replacing the browser's previous
/// one), the authorization response, the session and device cookies. Every sign-in method
/// (password, smart card, upstream provider) ends here.
pub(crate) async fn complete_sign_in(
    state: &AppState,
    headers: &HeaderMap,
    request: &AuthRequest,
    user: &User,
    remember: bool,
    device: &str,
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
    tracing::info!(target: "authserver::audit", user = %user.username, client = %request.client_id, "signed in");
    // a third-party registered client asks for consent first (the session is already
    // started: the consent page's decision rides on it)
    let registered = if state.settings.is_allowed_client(&request.client_id) {
        None
    } else {
        match clients::find(&state.store, &request.client_id).await? {
            Some(c) => Some(c.metadata),
            None => {
                return Ok(bad_request_page(
                    state,
                    "This application is no longer registered with this server.",
                ))
            }
        }
    };
    let mut response = match registered.as_ref() {
        Some(client) if consent::must_ask(state, registered.as_ref(), request, user.id).await? => {
            consent_page(state, headers, request, user, client)
        }
        _ => {
            let front = respond(state, request, user, now).await?;
            deliver(state, StatusCode::SEE_OTHER, Some(front))
        }
    };
    let cookie = web::set_cookie(
        SSO_COOKIE,
        &sid,
        &state.base_path,
        state.secure_cookies,
        "Lax",
        remember.then_some(ttl),
    );
    set_cookie(&mut response, &cookie);
    device_cookie::set(state, &mut response, device);
    Ok(response)
}
