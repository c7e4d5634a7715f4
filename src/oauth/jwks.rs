//! `GET /jwks.json`: the public signing keys.
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::state::AppState;

/// Routes of this endpoint.
pub fn router() -> Router<AppState> {
    Router::new().route("/jwks.json", get(jwks))
}

async fn jwks(State(state): State<AppState>) -> Response {
    let body = state.keys.ring().jwks_json();
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/jwk-set+json"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=300"),
            ),
        ],
        body,
    )
        .into_response()
}
