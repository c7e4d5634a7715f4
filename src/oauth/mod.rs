//! The OpenID Connect / OAuth 2.0 endpoints, one file each.
use axum::Router;

use crate::state::AppState;

pub mod account;
pub mod account_service;
pub mod authorize;
pub mod certificate;
pub mod clients;
pub mod consent;
pub mod device;
pub mod device_cookie;
pub mod discovery;
pub mod introspect;
pub mod jwks;
pub mod management;
pub mod registration;
pub mod respond;
pub mod roles;
pub mod saml;
pub mod saml_pages;
pub mod service_accounts;
pub mod signout;
pub mod token;
pub mod upstream;
pub mod upstream_pages;
pub mod userinfo;

/// Every route under `/authentication` but the static documents (discovery, JWKS), which
/// `startup::router` serves ahead of the middleware.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(authorize::router())
        .merge(certificate::router())
        .merge(token::router())
        .merge(device::router())
        .merge(introspect::router())
        .merge(userinfo::router())
        .merge(signout::router())
        .merge(account::router())
        .merge(account_service::router())
        .merge(management::router())
        .merge(roles::router())
        .merge(service_accounts::router())
        .merge(clients::router())
        .merge(consent::router())
        .merge(registration::router())
        .merge(upstream::router())
        .merge(saml::router())
        .merge(crate::web::router())
}
