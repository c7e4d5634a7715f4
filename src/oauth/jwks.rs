//! `GET /jwks.json`: the public signing keys, served ahead of the middleware stack
//! (see [`crate::web::static_doc`]).
use std::sync::Arc;

use axum::http::Method;
use axum::routing::{get, MethodRouter};

use crate::keys::KeyManager;
use crate::web::static_doc::StaticDoc;

/// Full path of the JWKS.
pub const PATH: &str = "/authentication/jwks.json";

/// The route of the JWKS (the ring's pre-serialised document, so a key rotation shows at
/// once).
pub fn route(keys: Arc<KeyManager>) -> MethodRouter {
    let doc = Arc::new((StaticDoc::new(PATH, PATH, "application/jwk-set+json"), keys));
    get(move |method: Method| {
        let response = doc.0.respond(&method, doc.1.ring().jwks_json());
        std::future::ready(response)
    })
}
