//! The OpenID Connect / OAuth 2.0 endpoints, one file each.
use axum::Router;

use crate::state::AppState;

pub mod discovery;
pub mod jwks;

/// Every route under `/authentication`.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(discovery::router())
        .merge(jwks::router())
}
