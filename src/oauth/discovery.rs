//! `GET /.well-known/openid-configuration` (OpenID Connect Discovery 1.0, RFC 8414), and
//! the same document under Teamwork Cloud 2024x's names: `/.well-known/oidc-configuration`
//! and `/.well-known/oauth2.0-configuration` under `/authentication`, and
//! `/.well-known/oauth2.0-configuration` at the server root. One issuer, one JSON: a client
//! configured for either lane finds the same endpoints.
use std::sync::Arc;

use axum::http::Method;
use axum::routing::{get, MethodRouter};
use bytes::Bytes;
use serde::Serialize;

use crate::config::{Settings, SigningAlgorithm};
use crate::web::static_doc::StaticDoc;

/// Full path of the discovery document (also the metrics route of every alias).
pub const PATH: &str = "/authentication/.well-known/openid-configuration";

/// Every full path the document is served at: ours, then Teamwork Cloud 2024x's names.
pub const PATHS: [&str; 4] = [
    PATH,
    "/authentication/.well-known/oidc-configuration",
    "/authentication/.well-known/oauth2.0-configuration",
    "/.well-known/oauth2.0-configuration",
];

/// The route of the discovery document (serialised once at start-up) at `path` (one of
/// [`PATHS`]), served ahead of the middleware stack (see [`crate::web::static_doc`]).
pub fn route(path: &'static str, document: Bytes) -> MethodRouter {
    let doc = Arc::new((StaticDoc::new(path, PATH, "application/json"), document));
    get(move |method: Method| {
        let response = doc.0.respond(&method, doc.1.clone());
        std::future::ready(response)
    })
}

/// The provider metadata document.
#[derive(Debug, Serialize)]
pub struct ProviderMetadata {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    userinfo_endpoint: String,
    jwks_uri: String,
    end_session_endpoint: String,
    signout_endpoint: String,
    validation_endpoint: String,
    introspection_endpoint: String,
    revocation_endpoint: String,
    device_authorization_endpoint: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    registration_endpoint: Option<String>,
    response_types_supported: Vec<&'static str>,
    response_modes_supported: Vec<&'static str>,
    grant_types_supported: Vec<&'static str>,
    subject_types_supported: Vec<&'static str>,
    id_token_signing_alg_values_supported: Vec<&'static str>,
    scopes_supported: Vec<&'static str>,
    claims_supported: Vec<&'static str>,
    claim_types_supported: Vec<&'static str>,
    code_challenge_methods_supported: Vec<&'static str>,
    token_endpoint_auth_methods_supported: Vec<&'static str>,
    token_endpoint_auth_signing_alg_values_supported: Vec<&'static str>,
    introspection_endpoint_auth_methods_supported: Vec<&'static str>,
    revocation_endpoint_auth_methods_supported: Vec<&'static str>,
    prompt_values_supported: Vec<&'static str>,
    display_values_supported: Vec<&'static str>,
    request_parameter_supported: bool,
    request_uri_parameter_supported: bool,
    require_request_uri_registration: bool,
    claims_parameter_supported: bool,
    authorization_response_iss_parameter_supported: bool,
    frontchannel_logout_supported: bool,
    backchannel_logout_supported: bool,
}

impl ProviderMetadata {
    /// The document for these settings.
    pub fn new(settings: &Settings) -> ProviderMetadata {
        let issuer = settings.issuer();
        let at = |path: &str| format!("{issuer}{path}");
        let mut algs = vec![match settings.auth.signing_algorithm {
            SigningAlgorithm::RS256 => "RS256",
            SigningAlgorithm::PS256 => "PS256",
            SigningAlgorithm::ES256 => "ES256",
            SigningAlgorithm::EdDSA => "EdDSA",
        }];
        if algs[0] != "RS256" {
            algs.push("RS256");
        }
        // private_key_jwt and none: registered clients (docs/clients.md)
        let auth_methods = vec![
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
            "none",
        ];
        ProviderMetadata {
            authorization_endpoint: at("/authorize"),
            token_endpoint: at("/api/token"),
            userinfo_endpoint: at("/api/userinfo"),
            jwks_uri: at("/jwks.json"),
            end_session_endpoint: at("/api/signout"),
            signout_endpoint: at("/api/signout"),
            validation_endpoint: at("/api/validate"),
            introspection_endpoint: at("/api/introspect"),
            revocation_endpoint: at("/api/revoke"),
            device_authorization_endpoint: at(crate::oauth::device::DEVICE_ENDPOINT),
            registration_endpoint: (settings.auth.registration_mode
                != crate::config::RegistrationMode::Off)
                .then(|| at(crate::oauth::registration::REGISTER_PATH)),
            issuer,
            // the front-channel types only exist for authentication.client.implicit
            response_types_supported: if settings.auth.implicit_clients.is_empty() {
                vec!["code"]
            } else {
                vec![
                    "code",
                    "token",
                    "id_token",
                    "id_token token",
                    "code id_token",
                ]
            },
            response_modes_supported: if settings.auth.implicit_clients.is_empty() {
                vec!["query"]
            } else {
                vec!["query", "fragment", "form_post"]
            },
            grant_types_supported: {
                let mut grants = vec![
                    "authorization_code",
                    "refresh_token",
                    "client_credentials",
                    crate::domain::device::GRANT_TYPE,
                ];
                if !settings.auth.password_clients.is_empty() {
                    grants.push("password");
                }
                grants
            },
            subject_types_supported: vec!["public"],
            id_token_signing_alg_values_supported: algs,
            scopes_supported: vec!["openid", "profile", "email", "offline_access"],
            claims_supported: vec![
                "sub",
                "iss",
                "aud",
                "exp",
                "iat",
                "auth_time",
                "nonce",
                "at_hash",
                "c_hash",
                "jti",
                "preferred_username",
                "name",
                "email",
            ],
            claim_types_supported: vec!["normal"],
            code_challenge_methods_supported: vec!["S256"],
            token_endpoint_auth_methods_supported: auth_methods.clone(),
            token_endpoint_auth_signing_alg_values_supported:
                crate::domain::clients::auth::ASSERTION_ALGS.to_vec(),
            introspection_endpoint_auth_methods_supported: auth_methods.clone(),
            revocation_endpoint_auth_methods_supported: auth_methods,
            prompt_values_supported: vec!["none", "login", "consent", "select_account"],
            display_values_supported: vec!["page"],
            request_parameter_supported: false,
            request_uri_parameter_supported: false,
            require_request_uri_registration: false,
            claims_parameter_supported: false,
            authorization_response_iss_parameter_supported: true,
            frontchannel_logout_supported: false,
            backchannel_logout_supported: false,
        }
    }
}
