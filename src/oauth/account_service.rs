//! The service-account section of an administrator's account page: create one (its key
//! shown once, on the response page) and remove one. Like creating a personal access
//! token, creating a service account asks for the administrator's password again (a key
//! outlives the session and never expires); both forms are CSRF-protected like every
//! account form.
use std::net::IpAddr;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::post;
use axum::Router;

use super::account::{account_view, capitalised, form_of_user, internal_page, throttled_page};
use crate::domain::login::{confirm_current_password, CurrentPassword};
use crate::domain::service_accounts;
use crate::error::AppError;
use crate::oauth::device_cookie;
use crate::state::AppState;
use crate::store::ADMIN_ROLE;
use crate::web::extract::ClientIp;
use crate::web::{self, PatDraft, ServiceAccountCreatedView};

/// Routes of this section.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/account/service-accounts", post(create))
        .route("/account/service-accounts/remove", post(remove))
}

async fn create(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    create_inner(&state, &headers, &body, ip)
        .await
        .unwrap_or_else(|e| internal_page(&state, e))
}

async fn create_inner(
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
    let user = &user;
    let refuse = |status: StatusCode, message: String| async move {
        account_view(
            state,
            headers,
            user,
            status,
            None,
            Some(&message),
            PatDraft::default(),
        )
        .await
    };
    if !user.has_role(ADMIN_ROLE) {
        return refuse(
            StatusCode::FORBIDDEN,
            "Only administrators create service accounts.".into(),
        )
        .await;
    }
    let current = field("current_password");
    let device = device_cookie::presented(headers);
    match confirm_current_password(state, user, current, ip, device).await? {
        CurrentPassword::Confirmed => {}
        CurrentPassword::Missing => {
            return refuse(
                StatusCode::BAD_REQUEST,
                "Enter your current password to create a service account.".into(),
            )
            .await;
        }
        CurrentPassword::Throttled(wait) => return Ok(throttled_page(state, wait)),
        CurrentPassword::Unavailable => {
            return refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "The directory that checks your password is unavailable; try again later.".into(),
            )
            .await;
        }
        CurrentPassword::Wrong => {
            return refuse(
                StatusCode::BAD_REQUEST,
                "The current password is wrong; no service account was created.".into(),
            )
            .await;
        }
    }
    let name = Some(field("name").trim()).filter(|n| !n.is_empty());
    let username = field("username").trim();
    let (account, key) =
        match service_accounts::create(&state.store, username, name, state.now()).await {
            Ok(created) => created,
            Err(AppError::InvalidField(_, m)) => {
                return refuse(StatusCode::BAD_REQUEST, capitalised(&m)).await
            }
            Err(AppError::Conflict(_)) => {
                return refuse(
                    StatusCode::CONFLICT,
                    format!("The name {username:?} is taken."),
                )
                .await
            }
            Err(e) => return Err(e),
        };
    tracing::info!(target: "authserver::audit", admin = %user.username, user = %account.username, "service account created on the account page");
    let view = ServiceAccountCreatedView {
        base: &state.base_path,
        username: &account.username,
        id: &key.id,
        token: key.token.expose(),
    };
    Ok(web::html(StatusCode::OK, &view, None))
}

async fn remove(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    remove_inner(&state, &headers, &body)
        .await
        .unwrap_or_else(|e| internal_page(&state, e))
}

async fn remove_inner(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, AppError> {
    let (user, form) = match form_of_user(state, headers, body).await? {
        Ok(f) => f,
        Err(response) => return Ok(response),
    };
    let username = form.get("username").ok().flatten().unwrap_or("");
    let (status, notice, error) = if !user.has_role(ADMIN_ROLE) {
        (
            StatusCode::FORBIDDEN,
            None,
            Some("Only administrators remove service accounts.".to_string()),
        )
    } else {
        match service_accounts::remove(&state.store, username, state.now()).await {
            Ok(removed) => {
                state.sync_revocations().await;
                tracing::info!(target: "authserver::audit", admin = %user.username, user = %removed.username, "service account removed on the account page");
                (
                    StatusCode::OK,
                    Some(format!(
                        "Service account {} removed; its key and tokens are revoked.",
                        removed.username
                    )),
                    None,
                )
            }
            Err(AppError::NotFound(_)) => (
                StatusCode::NOT_FOUND,
                None,
                Some(format!("There is no service account {username:?}.")),
            ),
            Err(e) => return Err(e),
        }
    };
    account_view(
        state,
        headers,
        &user,
        status,
        notice.as_deref(),
        error.as_deref(),
        PatDraft::default(),
    )
    .await
}
