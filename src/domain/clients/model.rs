//! A registered client's metadata, validated once (parse, don't validate): a
//! [`ClientMetadata`] only exists if every rule of issue 15 holds, and the store keeps it
//! as that validated JSON.
use serde::{Deserialize, Serialize};

use crate::config::SigningAlgorithm;
use crate::domain::redirect::Whitelist;

/// Grant types a registered client may hold.
pub const GRANT_TYPES: [&str; 4] = [
    "authorization_code",
    "refresh_token",
    "client_credentials",
    DEVICE_CODE,
];
/// The device authorization grant (RFC 8628).
pub const DEVICE_CODE: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// Token endpoint authentication methods.
pub const AUTH_METHODS: [&str; 4] = [
    "client_secret_basic",
    "client_secret_post",
    "private_key_jwt",
    "none",
];
/// Scopes a registered client may be allowed.
pub const SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];
/// Longest token lifetime an administrator may give a client (one year).
pub const MAX_LIFETIME: u64 = 366 * 86_400;

/// How a client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    /// `Authorization: Basic base64(client_id:secret)`.
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body.
    ClientSecretPost,
    /// RFC 7523 assertion signed by the client's key.
    PrivateKeyJwt,
    /// A public client: no secret, PKCE required.
    None,
}

impl AuthMethod {
    /// Parses the RFC 7591 name.
    pub fn parse(s: &str) -> Option<AuthMethod> {
        Some(match s {
            "client_secret_basic" => AuthMethod::ClientSecretBasic,
            "client_secret_post" => AuthMethod::ClientSecretPost,
            "private_key_jwt" => AuthMethod::PrivateKeyJwt,
            "none" => AuthMethod::None,
            _ => return None,
        })
    }
    /// The RFC 7591 name.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
            AuthMethod::PrivateKeyJwt => "private_key_jwt",
            AuthMethod::None => "none",
        }
    }
    /// Whether the client holds secrets.
    pub fn uses_secret(self) -> bool {
        matches!(
            self,
            AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost
        )
    }
}

/// Metadata as an administrator (or later RFC 7591) sends it: every field optional.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MetadataDraft {
    /// Display name.
    pub client_name: Option<String>,
    /// Redirect URIs.
    pub redirect_uris: Option<Vec<String>>,
    /// Whether a redirect URI may continue one of `redirect_uris` (on a URL boundary).
    pub redirect_uri_prefix_match: Option<bool>,
    /// Post-logout redirect URIs.
    pub post_logout_redirect_uris: Option<Vec<String>>,
    /// Grant types.
    pub grant_types: Option<Vec<String>>,
    /// Response types.
    pub response_types: Option<Vec<String>>,
    /// Token endpoint auth method.
    pub token_endpoint_auth_method: Option<String>,
    /// The client's public keys (a JWK Set).
    pub jwks: Option<serde_json::Value>,
    /// Where the client publishes its JWK Set.
    pub jwks_uri: Option<String>,
    /// Allowed scopes, space-separated.
    pub scope: Option<String>,
    /// Access and ID token lifetime, seconds.
    pub access_token_lifetime: Option<u64>,
    /// Refresh token lifetime, seconds.
    pub refresh_token_lifetime: Option<u64>,
    /// ID token signing algorithm.
    pub id_token_signed_response_alg: Option<String>,
    /// First-party: no consent screen.
    pub first_party: Option<bool>,
}

impl MetadataDraft {
    /// `self` with the fields `patch` sets replaced (a PATCH of the management API).
    pub fn merged(mut self, patch: MetadataDraft) -> MetadataDraft {
        macro_rules! take {
            ($($f:ident),*) => { $( if patch.$f.is_some() { self.$f = patch.$f; } )* };
        }
        take!(
            client_name,
            redirect_uris,
            redirect_uri_prefix_match,
            post_logout_redirect_uris,
            grant_types,
            response_types,
            token_endpoint_auth_method,
            jwks,
            jwks_uri,
            scope,
            access_token_lifetime,
            refresh_token_lifetime,
            id_token_signed_response_alg,
            first_party
        );
        self
    }
}

/// Why metadata is refused: the field and a sentence for the administrator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct MetadataError {
    /// The offending field.
    pub field: &'static str,
    /// What is wrong with it.
    pub message: String,
}

impl MetadataError {
    fn new(field: &'static str, message: impl Into<String>) -> MetadataError {
        MetadataError {
            field,
            message: message.into(),
        }
    }
    /// The RFC 7591 error code: `invalid_redirect_uri` or `invalid_client_metadata`.
    pub fn code(&self) -> &'static str {
        if self.field == "redirect_uris" || self.field == "post_logout_redirect_uris" {
            "invalid_redirect_uri"
        } else {
            "invalid_client_metadata"
        }
    }
}

/// Validated metadata of a registered client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientMetadata {
    /// Display name.
    pub client_name: String,
    /// Redirect URIs (canonical http(s); http only on loopback hosts).
    pub redirect_uris: Vec<String>,
    /// Explicit opt-in for prefix matching of redirect URIs.
    pub redirect_uri_prefix_match: bool,
    /// Post-logout redirect URIs.
    pub post_logout_redirect_uris: Vec<String>,
    /// Grant types (a subset of [`GRANT_TYPES`]).
    pub grant_types: Vec<String>,
    /// Response types (`code`, or none for a client_credentials-only client).
    pub response_types: Vec<String>,
    /// Token endpoint auth method.
    pub token_endpoint_auth_method: AuthMethod,
    /// The client's JWK Set (`private_key_jwt`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks: Option<serde_json::Value>,
    /// Where the client publishes its JWK Set (`private_key_jwt`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// Allowed scopes, space-separated.
    pub scope: String,
    /// Access and ID token lifetime (none: the server's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_lifetime: Option<u64>,
    /// Refresh token lifetime (none: the server's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token_lifetime: Option<u64>,
    /// ID token signing algorithm (none: the server's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token_signed_response_alg: Option<String>,
    /// First-party: no consent screen.
    pub first_party: bool,
}

fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

fn redirect_uri_ok(uri: &str) -> Result<(), String> {
    Whitelist::new(&[uri])
        .check_exact(uri)
        .map_err(|e| format!("{uri:?}: {e}"))?;
    let url = url::Url::parse(uri).map_err(|e| format!("{uri:?}: {e}"))?;
    if url.scheme() == "http" && !is_loopback(&url) {
        return Err(format!(
            "{uri:?}: plain http is only allowed for loopback hosts (RFC 8252); use https"
        ));
    }
    Ok(())
}

fn uris(field: &'static str, list: Option<Vec<String>>) -> Result<Vec<String>, MetadataError> {
    let list = list.unwrap_or_default();
    if list.len() > 50 {
        return Err(MetadataError::new(field, "at most 50 URIs"));
    }
    for uri in &list {
        redirect_uri_ok(uri).map_err(|m| MetadataError::new(field, m))?;
    }
    let mut seen = std::collections::HashSet::new();
    if !list.iter().all(|u| seen.insert(u)) {
        return Err(MetadataError::new(field, "a URI is listed twice"));
    }
    Ok(list)
}

fn lifetime(field: &'static str, v: Option<u64>) -> Result<Option<u64>, MetadataError> {
    match v {
        Some(s) if s == 0 || s > MAX_LIFETIME => Err(MetadataError::new(
            field,
            format!("must be from 1 to {MAX_LIFETIME} seconds"),
        )),
        other => Ok(other),
    }
}

impl ClientMetadata {
    /// Validates a draft. `available_algs`: the algorithms the server holds a key for.
    pub fn new(
        draft: MetadataDraft,
        available_algs: &[SigningAlgorithm],
    ) -> Result<ClientMetadata, MetadataError> {
        let client_name = draft.client_name.unwrap_or_default().trim().to_string();
        if client_name.is_empty() || client_name.len() > 200 {
            return Err(MetadataError::new(
                "client_name",
                "a display name of 1 to 200 characters is required",
            ));
        }
        if client_name.chars().any(char::is_control) {
            return Err(MetadataError::new(
                "client_name",
                "must not contain control characters",
            ));
        }
        let method_name = draft
            .token_endpoint_auth_method
            .unwrap_or_else(|| "client_secret_basic".into());
        let method = AuthMethod::parse(&method_name).ok_or_else(|| {
            MetadataError::new(
                "token_endpoint_auth_method",
                format!("{method_name:?} is not one of {}", AUTH_METHODS.join(", ")),
            )
        })?;
        let grant_types = draft
            .grant_types
            .unwrap_or_else(|| vec!["authorization_code".into(), "refresh_token".into()]);
        for g in &grant_types {
            if !GRANT_TYPES.contains(&g.as_str()) {
                return Err(MetadataError::new(
                    "grant_types",
                    format!("{g:?} is not one of {}", GRANT_TYPES.join(", ")),
                ));
            }
        }
        if grant_types.is_empty() {
            return Err(MetadataError::new("grant_types", "at least one grant type"));
        }
        let has = |g: &str| grant_types.iter().any(|x| x == g);
        let code = has("authorization_code");
        let response_types = draft.response_types.unwrap_or_else(|| {
            if code {
                vec!["code".into()]
            } else {
                Vec::new()
            }
        });
        for r in &response_types {
            if r != "code" {
                return Err(MetadataError::new(
                    "response_types",
                    format!("{r:?} is not supported (only code)"),
                ));
            }
        }
        if code != response_types.iter().any(|r| r == "code") {
            return Err(MetadataError::new(
                "response_types",
                "response type code goes with grant type authorization_code, and only with it",
            ));
        }
        if has("refresh_token") && !code && !has(DEVICE_CODE) {
            return Err(MetadataError::new(
                "grant_types",
                "refresh_token needs authorization_code or the device code grant",
            ));
        }
        if method == AuthMethod::None && has("client_credentials") {
            return Err(MetadataError::new(
                "grant_types",
                "a public client (token_endpoint_auth_method none) cannot use client_credentials",
            ));
        }
        let redirect_uris = uris("redirect_uris", draft.redirect_uris)?;
        if code && redirect_uris.is_empty() {
            return Err(MetadataError::new(
                "redirect_uris",
                "authorization_code needs at least one redirect URI",
            ));
        }
        let post_logout_redirect_uris =
            uris("post_logout_redirect_uris", draft.post_logout_redirect_uris)?;
        let (jwks, jwks_uri) = match (method, draft.jwks, draft.jwks_uri) {
            (AuthMethod::PrivateKeyJwt, Some(_), Some(_)) => {
                return Err(MetadataError::new(
                    "jwks",
                    "send jwks or jwks_uri, not both",
                ))
            }
            (AuthMethod::PrivateKeyJwt, None, None) => {
                return Err(MetadataError::new(
                    "jwks",
                    "private_key_jwt needs the client's jwks or jwks_uri",
                ))
            }
            (AuthMethod::PrivateKeyJwt, Some(jwks), None) => {
                let keys = jwks.get("keys").and_then(|k| k.as_array());
                if keys.is_none_or(|k| k.is_empty()) {
                    return Err(MetadataError::new(
                        "jwks",
                        "must be a JWK Set with at least one key",
                    ));
                }
                (Some(jwks), None)
            }
            (AuthMethod::PrivateKeyJwt, None, Some(uri)) => {
                let ok = url::Url::parse(&uri).is_ok_and(|u| {
                    u.scheme() == "https" || (u.scheme() == "http" && is_loopback(&u))
                });
                if !ok {
                    return Err(MetadataError::new(
                        "jwks_uri",
                        "must be an https URL (http only on a loopback host)",
                    ));
                }
                (None, Some(uri))
            }
            (_, None, None) => (None, None),
            _ => {
                return Err(MetadataError::new(
                    "jwks",
                    "jwks and jwks_uri are only for private_key_jwt",
                ))
            }
        };
        let scope_text = draft
            .scope
            .unwrap_or_else(|| "openid profile email offline_access".into());
        let mut scopes: Vec<&str> = Vec::new();
        for s in scope_text.split(' ').filter(|s| !s.is_empty()) {
            if !SCOPES.contains(&s) {
                return Err(MetadataError::new(
                    "scope",
                    format!("{s:?} is not one of {}", SCOPES.join(" ")),
                ));
            }
            if !scopes.contains(&s) {
                scopes.push(s);
            }
        }
        let id_token_signed_response_alg = match draft.id_token_signed_response_alg {
            None => None,
            Some(name) => {
                let alg = SigningAlgorithm::from_name(&name).ok_or_else(|| {
                    MetadataError::new(
                        "id_token_signed_response_alg",
                        format!("{name:?} is not one of RS256, PS256, ES256, EdDSA"),
                    )
                })?;
                if !available_algs.contains(&alg) {
                    return Err(MetadataError::new(
                        "id_token_signed_response_alg",
                        format!("the server holds no {name} signing key"),
                    ));
                }
                Some(name)
            }
        };
        Ok(ClientMetadata {
            client_name,
            redirect_uris,
            redirect_uri_prefix_match: draft.redirect_uri_prefix_match.unwrap_or(false),
            post_logout_redirect_uris,
            grant_types,
            response_types,
            token_endpoint_auth_method: method,
            jwks,
            jwks_uri,
            scope: scopes.join(" "),
            access_token_lifetime: lifetime("access_token_lifetime", draft.access_token_lifetime)?,
            refresh_token_lifetime: lifetime(
                "refresh_token_lifetime",
                draft.refresh_token_lifetime,
            )?,
            id_token_signed_response_alg,
            first_party: draft.first_party.unwrap_or(false),
        })
    }

    /// The draft this metadata came from (to merge an update into).
    pub fn to_draft(&self) -> MetadataDraft {
        MetadataDraft {
            client_name: Some(self.client_name.clone()),
            redirect_uris: Some(self.redirect_uris.clone()),
            redirect_uri_prefix_match: Some(self.redirect_uri_prefix_match),
            post_logout_redirect_uris: Some(self.post_logout_redirect_uris.clone()),
            grant_types: Some(self.grant_types.clone()),
            response_types: Some(self.response_types.clone()),
            token_endpoint_auth_method: Some(self.token_endpoint_auth_method.as_str().into()),
            jwks: self.jwks.clone(),
            jwks_uri: self.jwks_uri.clone(),
            scope: Some(self.scope.clone()),
            access_token_lifetime: self.access_token_lifetime,
            refresh_token_lifetime: self.refresh_token_lifetime,
            id_token_signed_response_alg: self.id_token_signed_response_alg.clone(),
            first_party: Some(self.first_party),
        }
    }

    /// Metadata read back from the store (validated when it was written).
    pub fn from_stored(json: &str) -> Option<ClientMetadata> {
        serde_json::from_str(json).ok()
    }

    /// Whether the client holds the grant type.
    pub fn has_grant(&self, grant: &str) -> bool {
        self.grant_types.iter().any(|g| g == grant)
    }

    /// Whether the client may be given the scope.
    pub fn allows_scope(&self, scope: &str) -> bool {
        self.scope.split(' ').any(|s| s == scope)
    }

    /// The redirect matcher of this client (exact unless it opted into prefixes).
    pub fn redirect_whitelist(&self) -> Whitelist {
        Whitelist::new(&self.redirect_uris)
    }
}
