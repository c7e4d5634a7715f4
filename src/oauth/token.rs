//! `POST /api/token` (and its Teamwork Cloud 2024x name `/api/oidc/token`): the token
//! endpoint.
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};

use crate::domain::client_auth;
use crate::domain::grants;
use crate::domain::params::Params;
use crate::domain::password_grant;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::extract::{header_str, require_form, ClientIp};

/// Routes of this endpoint.
pub fn router() -> Router<AppState> {
    // `/api/oidc/token`: Teamwork Cloud 2024x's name for the same endpoint
    Router::new()
        .route("/api/token", post(token))
        .route("/api/oidc/token", post(token))
}

async fn token(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Result<Response, AppError> {
    require_form(&headers)?;
    let mut params = Params::parse(&body);
    // Teamwork Cloud's client_credentials example puts these in the query string; secrets,
    // codes and tokens are never read from there.
    params.fill_from(
        &Params::parse(query.unwrap_or_default().as_bytes()),
        &["grant_type", "client_id", "scope"],
    );
    let grant_type = params.require("grant_type")?.to_string();
    let basic_is_user = grant_type == "client_credentials";
    let client = client_auth::authenticate(
        &state.settings,
        header_str(&headers, "x-auth-secret"),
        header_str(&headers, header::AUTHORIZATION.as_str()),
        &params,
        basic_is_user,
        client_auth::ClientId::Required,
    )?;
    let (grant, result) = match grant_type.as_str() {
        "authorization_code" => (
            "authorization_code",
            grants::authorization_code(&state, &client, &params).await,
        ),
        "refresh_token" => (
            "refresh_token",
            grants::refresh_token(&state, &client, &params).await,
        ),
        "client_credentials" => {
            let authorization = header_str(&headers, header::AUTHORIZATION.as_str());
            (
                "client_credentials",
                grants::client_credentials(&state, &client, &params, authorization, ip).await,
            )
        }
        "password" => (
            "password",
            password_grant::password(&state, &client, &params, ip).await,
        ),
        _ => {
            return Err(AppError::UnsupportedGrantType(format!(
                "grant_type {grant_type:?} is not supported"
            )))
        }
    };
    let response = match result {
        Ok(r) => {
            crate::metrics::token_issued(grant);
            r
        }
        Err(e) => {
            match &e {
                AppError::Throttled(_) => crate::metrics::throttled(grant),
                AppError::InvalidClient(_) if grant == "client_credentials" => {
                    crate::metrics::login_failed(grant)
                }
                AppError::InvalidGrant(_) if grant == "password" => {
                    crate::metrics::login_failed(grant)
                }
                _ => {}
            }
            return Err(e);
        }
    };
    let mut response = Json(response).into_response();
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    Ok(response)
}
