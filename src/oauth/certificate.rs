//! `POST /login/certificate`: "Sign in with your smart card" on the login page. The
//! certificate the browser presented (or a trusted proxy passed on) is verified, its user
//! provisioned, and the pending authorization request continues exactly as after a
//! password sign-in.
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;

use crate::domain::certificate::{self, Refused};
use crate::domain::params::Params;
use crate::oauth::authorize;
use crate::oauth::device_cookie;
use crate::oauth::respond;
use crate::state::AppState;
use crate::web::{self, extract::PresentedCertificate};

/// The smart-card sign-in route.
pub fn router() -> Router<AppState> {
    Router::new().route("/login/certificate", post(login))
}

async fn login(
    State(state): State<AppState>,
    PresentedCertificate(presented): PresentedCertificate,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if state.certificates.is_none() {
        return StatusCode::NOT_FOUND.into_response();
    }
    let form = Params::parse(&body);
    let request = match authorize::open_form(&state, &headers, &form) {
        Ok(request) => request,
        Err(page) => return *page,
    };
    let user = match certificate::sign_in(&state, &presented).await {
        Ok(Ok(user)) => user,
        Ok(Err(refused)) => {
            let status = match refused {
                Refused::Certificate(_) => StatusCode::UNAUTHORIZED,
                Refused::User(_) => StatusCode::FORBIDDEN,
            };
            return web::error_page(
                &state.base_path,
                status,
                "Smart-card sign-in failed",
                &refused.message(),
            );
        }
        Err(e) => return respond::internal_page(&state, e),
    };
    let device = device_cookie::presented_or_new(&headers);
    // no "Stay signed in" here: the card is at hand for the next sign-in
    match authorize::complete_sign_in(&state, &headers, &request, &user, false, &device).await {
        Ok(response) => response,
        Err(e) => respond::internal_page(&state, e),
    }
}
