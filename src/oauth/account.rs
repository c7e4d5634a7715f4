//! `/account`: the signed-in user's self-service page. It lists their personal access
//! tokens (never the tokens themselves), creates one (shown once, on the response page),
//! revokes one, and changes the password.
//!
//! The page rides on the browser's SSO session (`authserver_sso`). Without one it shows
//! its own sign-in form, which starts a session exactly like the login page does
//! (same throttle, same cookie) and comes back to `/account`, so users need no relying
//! party to reach it. Every form is CSRF-protected with the `authserver_csrf`
//! double-submit cookie of the login page, and the session cookie is `SameSite=Lax`, so
//! other sites cannot post to these forms with the user's session.
use std::net::IpAddr;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::crypto::{ct_eq, random_token, token_hash};
use crate::domain::consent;
use crate::domain::login::{
    check_password, confirm_current_password, CurrentPassword, PasswordCheck,
};
use crate::domain::params::Params;
use crate::domain::pat::{self, PatError, PatRequest, PatScope};
use crate::domain::service_accounts;
use crate::error::AppError;
use crate::oauth::device_cookie;
use crate::password;
use crate::state::AppState;
use crate::store::{User, ADMIN_ROLE};
use crate::throttle;
use crate::web::consent::GrantLine;
use crate::web::extract::ClientIp;
use crate::web::{
    self, display_time, AccountLoginView, AccountView, PasswordChangedView, PatCreatedView,
    PatDraft, PatLine, ServiceAccountLine,
};
use crate::web::{LOGIN_FAILED, SSO_COOKIE};

/// Routes of the account page.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/account", get(account))
        // time cockpit's address of its PAT page: the account page's token section
        .route("/pat", get(pat_section))
        .route("/account/login", post(login))
        .route("/account/pats", post(create_pat))
        .route("/account/pats/revoke", post(revoke_pat))
        .route("/account/password", post(change_password))
}

/// The CSRF token of this browser: the cookie's, or a new one the response must set.
struct Csrf {
    token: String,
    is_new: bool,
}

impl Csrf {
    fn of(state: &AppState, headers: &HeaderMap) -> Csrf {
        match web::csrf_cookie(headers, state.secure_cookies).filter(|c| c.len() == 43) {
            Some(c) => Csrf {
                token: c.to_string(),
                is_new: false,
            },
            None => Csrf {
                token: random_token(),
                is_new: true,
            },
        }
    }

    fn set_on(&self, state: &AppState, response: &mut Response) {
        if self.is_new {
            set_cookie(
                response,
                &web::set_csrf_cookie(&self.token, &state.base_path, state.secure_cookies),
            );
        }
    }
}

fn set_cookie(response: &mut Response, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// Whether the form echoes the CSRF cookie.
fn csrf_ok(state: &AppState, headers: &HeaderMap, form: &Params) -> bool {
    let sent = form.get("csrf").ok().flatten().unwrap_or("");
    match web::csrf_cookie(headers, state.secure_cookies) {
        Some(cookie) => !sent.is_empty() && ct_eq(cookie.as_bytes(), sent.as_bytes()),
        None => false,
    }
}

fn csrf_page(state: &AppState) -> Response {
    web::error_page(
        &state.base_path,
        StatusCode::FORBIDDEN,
        "This form has expired",
        "The form was not submitted from this browser's account page (cookies may be blocked). Reload the page and try again.",
    )
}

pub(super) fn internal_page(state: &AppState, e: AppError) -> Response {
    tracing::error!(error = %e, "account page failed");
    web::error_page(
        &state.base_path,
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "The server could not complete the request.",
    )
}

pub(super) fn throttled_page(state: &AppState, wait: u64) -> Response {
    let wait = wait.max(1);
    let mut r = web::error_page(
        &state.base_path,
        StatusCode::TOO_MANY_REQUESTS,
        "Please wait",
        &format!("Too many failed attempts. Try again in {wait} seconds."),
    );
    if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

pub(super) fn see_other(state: &AppState) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("{}/account", state.base_path)) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// The user of the browser's live SSO session.
async fn signed_in(state: &AppState, headers: &HeaderMap) -> Result<Option<User>, AppError> {
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
        .filter(|u| !u.disabled))
}

/// The `then` value (query of `/account`, field of the sign-in form) that opens the token
/// section after signing in.
const THEN_TOKENS: &str = "tokens";

/// `GET /pat`: the account page's token section (`#tokens`), through its sign-in form
/// when the browser has no session.
async fn pat_section(State(state): State<AppState>) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    let to = format!("{}/account?then={THEN_TOKENS}#tokens", state.base_path);
    if let Ok(v) = HeaderValue::from_str(&to) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

fn login_view(
    state: &AppState,
    headers: &HeaderMap,
    username: &str,
    error: Option<&str>,
    status: StatusCode,
    then_tokens: bool,
) -> Response {
    let csrf = Csrf::of(state, headers);
    let view = AccountLoginView {
        base: &state.base_path,
        csrf: &csrf.token,
        username,
        error,
        then_tokens,
    };
    let mut r = web::html(status, &view, None);
    csrf.set_on(state, &mut r);
    r
}

/// The account page of `user`.
pub(super) async fn account_view(
    state: &AppState,
    headers: &HeaderMap,
    user: &User,
    status: StatusCode,
    notice: Option<&str>,
    error: Option<&str>,
    draft: PatDraft<'_>,
) -> Result<Response, AppError> {
    let now = state.now();
    let cache = state.revocations.pats();
    let lines: Vec<PatLine> = state
        .store
        .list_pats(Some(user.id))
        .await?
        .into_iter()
        .filter(|p| p.revoked_at.is_none())
        .map(|p| {
            // this process's unwritten last use is newer than the row's
            let last_used = cache
                .by_id(&p.id)
                .and_then(|r| r.last_used())
                .max(p.last_used_at);
            PatLine {
                expires: match p.expires_at {
                    None => "never".into(),
                    Some(e) if e <= now => format!("{} (expired)", display_time(e)),
                    Some(e) => display_time(e),
                },
                last_used: last_used.map_or_else(|| "never".into(), display_time),
                created: display_time(p.created_at),
                id: p.id,
                description: p.description,
                scope: p.scope,
            }
        })
        .collect();
    let grants: Vec<GrantLine> = consent::list(state, user.id)
        .await?
        .into_iter()
        .map(|g| GrantLine {
            client_id: g.client_id,
            client_name: g.client_name,
            scope: g.scope,
            granted: display_time(g.granted_at),
        })
        .collect();
    let service_accounts: Vec<ServiceAccountLine> = if user.has_role(ADMIN_ROLE) {
        service_accounts::list(&state.store, now)
            .await?
            .into_iter()
            .map(|a| ServiceAccountLine {
                key_id: a.key.map_or_else(|| "none".into(), |k| k.id),
                name: a.user.name.unwrap_or_default(),
                username: a.user.username,
            })
            .collect()
    } else {
        Vec::new()
    };
    let csrf = Csrf::of(state, headers);
    let view = AccountView {
        base: &state.base_path,
        csrf: &csrf.token,
        username: &user.username,
        admin: user.has_role(ADMIN_ROLE),
        external_source: user.source.as_deref(),
        pats: &lines,
        grants: &grants,
        service_accounts: &service_accounts,
        notice,
        error,
        draft,
    };
    let mut r = web::html(status, &view, None);
    csrf.set_on(state, &mut r);
    Ok(r)
}

async fn account(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let then_tokens = Params::parse(query.unwrap_or_default().as_bytes())
        .get("then")
        .ok()
        .flatten()
        == Some(THEN_TOKENS);
    let result = match signed_in(&state, &headers).await {
        Ok(Some(user)) => {
            account_view(
                &state,
                &headers,
                &user,
                StatusCode::OK,
                None,
                None,
                PatDraft::default(),
            )
            .await
        }
        Ok(None) => Ok(login_view(
            &state,
            &headers,
            "",
            None,
            StatusCode::OK,
            then_tokens,
        )),
        Err(e) => Err(e),
    };
    result.unwrap_or_else(|e| internal_page(&state, e))
}

async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    login_inner(&state, &headers, &body, ip)
        .await
        .unwrap_or_else(|e| internal_page(&state, e))
}

async fn login_inner(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
    ip: IpAddr,
) -> Result<Response, AppError> {
    let form = Params::parse(body);
    if !csrf_ok(state, headers, &form) {
        return Ok(csrf_page(state));
    }
    let field = |name: &str| form.get(name).ok().flatten().unwrap_or("");
    let username = field("username").trim();
    let password = field("password");
    let then_tokens = field("then") == THEN_TOKENS;
    let now = state.now();
    let device = device_cookie::presented_or_new(headers);
    let user = match check_password(state, username, password, ip, Some(&device)).await? {
        PasswordCheck::Verified(u) => u,
        PasswordCheck::Throttled(wait) => {
            tracing::info!(target: "authserver::audit", "account sign-in throttled");
            return Ok(throttled_page(state, wait));
        }
        PasswordCheck::Unavailable => return Ok(web::directory_unavailable_page(&state.base_path)),
        PasswordCheck::Refused => {
            tracing::info!(target: "authserver::audit", "account sign-in failed");
            return Ok(login_view(
                state,
                headers,
                username,
                Some(LOGIN_FAILED),
                StatusCode::UNAUTHORIZED,
                then_tokens,
            ));
        }
    };
    let sid = random_token();
    let ttl = i64::try_from(state.settings.auth.sso_session_expiry).unwrap_or(i64::MAX);
    if let Some(old) = web::cookie(headers, SSO_COOKIE) {
        state.store.end_session(&token_hash(old), now).await?;
    }
    state
        .store
        .create_session(&token_hash(&sid), user.id, false, now, ttl)
        .await?;
    tracing::info!(target: "authserver::audit", user = %user.username, "signed in to the account page");
    let mut r = see_other(state);
    if then_tokens {
        if let Ok(v) = HeaderValue::from_str(&format!("{}/account#tokens", state.base_path)) {
            r.headers_mut().insert(header::LOCATION, v);
        }
    }
    let cookie = web::set_cookie(
        SSO_COOKIE,
        &sid,
        &state.base_path,
        state.secure_cookies,
        "Lax",
        None,
    );
    set_cookie(&mut r, &cookie);
    device_cookie::set(state, &mut r, &device);
    Ok(r)
}

/// What every account form handler starts with: a CSRF-checked form of a signed-in user,
/// or the response to give instead.
pub(super) async fn form_of_user(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Result<(User, Params), Response>, AppError> {
    let form = Params::parse(body);
    if !csrf_ok(state, headers, &form) {
        return Ok(Err(csrf_page(state)));
    }
    match signed_in(state, headers).await? {
        Some(user) => Ok(Ok((user, form))),
        None => Ok(Err(see_other(state))),
    }
}

async fn create_pat(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    create_pat_inner(&state, &headers, &body, ip)
        .await
        .unwrap_or_else(|e| internal_page(&state, e))
}

/// Creates a PAT. An SSO cookie alone is not enough ("sudo mode"): a token outlives the
/// session and may never expire, so the current password is checked again, through the
/// login form's throttle and argon2 verification.
async fn create_pat_inner(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
    ip: IpAddr,
) -> Result<Response, AppError> {
    let (user, form) = match form_of_user(state, headers, body).await? {
        Ok(f) => f,
        Err(response) => return Ok(response),
    };
    let field = |name: &str| form.get(name).ok().flatten().unwrap_or("");
    let draft = PatDraft {
        description: field("description"),
        validity: field("expires_in_days"),
        scope: field("scope"),
    };
    let user = &user;
    let refuse = |status: StatusCode, message: String| async move {
        account_view(state, headers, user, status, None, Some(&message), draft).await
    };
    let request = pat::parse_validity(field("expires_in_days")).and_then(|expires_in_days| {
        let scope = match field("scope") {
            "" => PatScope::Data,
            s => PatScope::parse(s).ok_or(PatError::Scope)?,
        };
        Ok((expires_in_days, scope))
    });
    let (expires_in_days, scope) = match request {
        Ok(r) => r,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, capitalised(&e.to_string())).await,
    };
    let current = field("current_password");
    let device = device_cookie::presented(headers);
    match confirm_current_password(state, user, current, ip, device).await? {
        CurrentPassword::Confirmed => {}
        CurrentPassword::Missing => {
            return refuse(
                StatusCode::BAD_REQUEST,
                "Enter your current password to create a token.".into(),
            )
            .await;
        }
        CurrentPassword::Throttled(wait) => {
            tracing::info!(target: "authserver::audit", user = %user.username, "token creation throttled");
            return Ok(throttled_page(state, wait));
        }
        CurrentPassword::Unavailable => {
            return Ok(web::directory_unavailable_page(&state.base_path))
        }
        CurrentPassword::Wrong => {
            tracing::info!(target: "authserver::audit", user = %user.username, "token creation refused: wrong current password");
            return refuse(
                StatusCode::BAD_REQUEST,
                "The current password is wrong; no token was created.".into(),
            )
            .await;
        }
    }
    let request = PatRequest {
        description: field("description"),
        scope,
        expires_in_days,
    };
    let issued = match pat::issue(&state.store, user, &request, state.now()).await {
        Ok(i) => i,
        Err(PatError::Store(e)) => return Err(e.into()),
        Err(e) => return refuse(StatusCode::BAD_REQUEST, capitalised(&e.to_string())).await,
    };
    let expires = issued
        .expires_at
        .map_or_else(|| "never".to_string(), display_time);
    let view = PatCreatedView {
        base: &state.base_path,
        id: &issued.id,
        token: issued.token.expose(),
        description: &issued.description,
        scope: issued.scope.as_str(),
        expires: &expires,
    };
    Ok(web::html(StatusCode::OK, &view, None))
}

pub(super) fn capitalised(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str()),
        None => String::new(),
    }
}

async fn revoke_pat(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    revoke_pat_inner(&state, &headers, &body)
        .await
        .unwrap_or_else(|e| internal_page(&state, e))
}

async fn revoke_pat_inner(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, AppError> {
    let (user, form) = match form_of_user(state, headers, body).await? {
        Ok(f) => f,
        Err(response) => return Ok(response),
    };
    let id = form.get("id").ok().flatten().unwrap_or("");
    if state
        .store
        .revoke_pat(id, Some(user.id), state.now())
        .await?
        .is_none()
    {
        return account_view(
            state,
            headers,
            &user,
            StatusCode::NOT_FOUND,
            None,
            Some("You have no such token."),
            PatDraft::default(),
        )
        .await;
    }
    state.sync_revocations().await;
    tracing::info!(target: "authserver::audit", user = %user.username, pat = %id, "personal access token revoked by its owner");
    Ok(see_other(state))
}

async fn change_password(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    change_password_inner(&state, &headers, &body, ip)
        .await
        .unwrap_or_else(|e| internal_page(&state, e))
}

async fn change_password_inner(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
    ip: IpAddr,
) -> Result<Response, AppError> {
    let (user, form) = match form_of_user(state, headers, body).await? {
        Ok(f) => f,
        Err(response) => return Ok(response),
    };
    let field = |name: &str| form.get(name).ok().flatten().unwrap_or("");
    let (current, new, again) = (
        field("current_password"),
        field("new_password"),
        field("new_password_again"),
    );
    let user = &user;
    let refuse = |message: String| async move {
        account_view(
            state,
            headers,
            user,
            StatusCode::BAD_REQUEST,
            None,
            Some(&message),
            PatDraft::default(),
        )
        .await
    };
    if let Some(source) = &user.source {
        return refuse(format!(
            "Your password is not kept here: your account comes from {source}; change it there."
        ))
        .await;
    }
    if new != again {
        return refuse("The new passwords do not match.".into()).await;
    }
    if let Err(e) = password::check_policy(new) {
        return refuse(capitalised(&e)).await;
    }
    // the current password is a password check like any other: throttled
    let source = throttle::Source {
        username: &user.username,
        ip,
        device: device_cookie::presented(headers),
    };
    let attempt = match state.throttle.begin_password(&source, state.now()).await? {
        Ok(a) => a,
        Err(wait) => return Ok(throttled_page(state, wait)),
    };
    if current.len() > 1024
        || !password::verify_async(current.to_string(), Some(user.password_hash.clone())).await
    {
        tracing::info!(target: "authserver::audit", user = %user.username, "password change refused: wrong current password");
        return refuse("The current password is wrong.".into()).await;
    }
    state.throttle.succeeded(attempt).await?;
    let hash = password::hash_async(new.to_string())
        .await
        .map_err(AppError::Internal)?;
    // ends the user's refresh families and SSO sessions (this browser's included)
    state
        .store
        .set_password(&user.username, &hash, state.now())
        .await?;
    state.sync_revocations().await;
    tracing::info!(target: "authserver::audit", user = %user.username, "password changed on the account page");
    let mut r = web::html(
        StatusCode::OK,
        &PasswordChangedView {
            base: &state.base_path,
        },
        None,
    );
    set_cookie(
        &mut r,
        &web::set_cookie(
            SSO_COOKIE,
            "",
            &state.base_path,
            state.secure_cookies,
            "Lax",
            Some(0),
        ),
    );
    Ok(r)
}
