//! Validating an authorization request (OIDC Core §3.1.2.1, RFC 6749 §4.1.1, RFC 7636).
use serde::{Deserialize, Serialize};

use crate::config::Settings;
use crate::domain::clients::model::{AuthMethod, ClientMetadata};
use crate::domain::params::Params;
use crate::domain::pkce::CodeChallenge;
use crate::domain::redirect::{RedirectError, RedirectUri, Whitelist};
use crate::domain::response_type::{FrontResponse, ResponseMode, ResponseType, ResponseTypeError};
use crate::domain::scope::Scope;

/// A validated authorization request. While the user signs in it travels sealed in the
/// login form (`domain::pending`), without the two hints (used only to show the page).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthRequest {
    /// Allowed client.
    pub client_id: String,
    /// A registered client's display name (the login page shows it instead of the ID).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_name: Option<String>,
    /// Whitelisted redirect URI, exactly as sent.
    pub redirect_uri: String,
    /// Granted scope.
    pub scope: String,
    /// Client state, returned as is.
    pub state: Option<String>,
    /// What the response carries (`code` unless the client is allowed the front channel).
    #[serde(default)]
    pub response_type: ResponseType,
    /// How the response travels.
    #[serde(default)]
    pub response_mode: ResponseMode,
    /// OIDC nonce.
    pub nonce: Option<String>,
    /// PKCE S256 challenge.
    pub code_challenge: Option<String>,
    /// `prompt=none`.
    pub prompt_none: bool,
    /// `prompt=login` (or `max_age=0`): the user must enter the password.
    pub prompt_login: bool,
    /// `prompt=consent`: a third-party client asks again even if the user allowed it.
    #[serde(default)]
    pub prompt_consent: bool,
    /// `max_age` in seconds.
    pub max_age: Option<i64>,
    /// `login_hint`.
    #[serde(skip)]
    pub login_hint: Option<String>,
    /// `id_token_hint` as sent (verified by the caller: `domain::hint`).
    #[serde(skip)]
    pub id_token_hint: Option<String>,
}

impl AuthRequest {
    /// The redirect URI as a checked value.
    pub fn redirect(&self) -> RedirectUri {
        RedirectUri::trusted(self.redirect_uri.clone())
    }

    /// An error to report to the client, the way its response would have travelled.
    pub fn error(&self, error: &'static str, description: &str) -> AuthorizeError {
        AuthorizeError::Redirect {
            redirect_uri: self.redirect(),
            mode: self.response_mode,
            error,
            description: description.to_string(),
            state: self.state.clone(),
        }
    }
}

/// Why an authorization request fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeError {
    /// Client or redirect URI cannot be trusted: show a page, never redirect.
    Page(String),
    /// Report to the client at its redirect URI (RFC 6749 §4.1.2.1, §4.2.2.1).
    Redirect {
        /// Where.
        redirect_uri: RedirectUri,
        /// How (the query for `code`, else the fragment or a form post).
        mode: ResponseMode,
        /// Error code.
        error: &'static str,
        /// Human-readable description.
        description: String,
        /// The client's state.
        state: Option<String>,
    },
}

impl AuthorizeError {
    /// The error response to deliver, with `iss` (RFC 9207); `None` for a page.
    pub fn response(&self, issuer: &str) -> Option<FrontResponse> {
        match self {
            AuthorizeError::Page(_) => None,
            AuthorizeError::Redirect {
                redirect_uri,
                mode,
                error,
                description,
                state,
            } => {
                let mut params: Vec<(String, String)> = vec![
                    ("error".into(), (*error).to_string()),
                    ("error_description".into(), description.clone()),
                ];
                if let Some(s) = state {
                    params.push(("state".into(), s.clone()));
                }
                params.push(("iss".into(), issuer.to_string()));
                Some(FrontResponse {
                    redirect_uri: redirect_uri.clone(),
                    mode: *mode,
                    params,
                })
            }
        }
    }
}

fn page_param<'a>(params: &'a Params, name: &str) -> Result<Option<&'a str>, AuthorizeError> {
    params
        .get(name)
        .map_err(|_| AuthorizeError::Page(format!("The parameter {name} was sent more than once.")))
}

/// Longest accepted value of each parameter, bytes (after percent-decoding). Longer is a
/// 400 page, before anything else is looked at: the values end up in the login form and
/// some are echoed to the client, so their size is bounded whoever sends them.
pub const MAX_LENGTHS: &[(&str, usize)] = &[
    ("client_id", 256),
    ("redirect_uri", 2048),
    ("state", 2048),
    ("nonce", 512),
    ("scope", 1024),
    ("login_hint", 256),
    ("id_token_hint", 8192),
    ("code_challenge", 128),
    ("code_challenge_method", 16),
    ("response_type", 64),
    ("response_mode", 64),
    ("prompt", 64),
    ("max_age", 20),
];

fn check_lengths(params: &Params) -> Result<(), AuthorizeError> {
    for (name, max) in MAX_LENGTHS {
        if params.longest(name) > *max {
            return Err(AuthorizeError::Page(format!(
                "The parameter {name} is longer than {max} bytes."
            )));
        }
    }
    Ok(())
}

/// Validates the request parameters. Unknown parameters (and `display`, `ui_locales`,
/// `claims_locales`, `acr_values`) are accepted and ignored.
pub fn validate(
    params: &Params,
    settings: &Settings,
    whitelist: &Whitelist,
) -> Result<AuthRequest, AuthorizeError> {
    validate_for(params, settings, whitelist, None)
}

/// The client ID of an authorization request, if it has exactly one.
pub fn requested_client(params: &Params) -> Option<&str> {
    params.get("client_id").ok().flatten()
}

/// [`validate`], for a registered client when `registered` is its metadata: its own
/// redirect URIs (exact unless it opted into prefixes), response types and scopes, and
/// PKCE when it is public.
pub fn validate_for(
    params: &Params,
    settings: &Settings,
    whitelist: &Whitelist,
    registered: Option<&ClientMetadata>,
) -> Result<AuthRequest, AuthorizeError> {
    check_lengths(params)?;
    let client_id = page_param(params, "client_id")?
        .ok_or_else(|| AuthorizeError::Page("The request has no client_id.".into()))?;
    if registered.is_none() && !settings.is_allowed_client(client_id) {
        return Err(AuthorizeError::Page(format!(
            "The application {client_id:?} is not registered with this server."
        )));
    }
    let raw_redirect = page_param(params, "redirect_uri")?
        .ok_or_else(|| AuthorizeError::Page("The request has no redirect_uri.".into()))?;
    // tokens in a redirect must land exactly where the administrator said: no beginnings
    let front_channel = registered.is_none() && settings.is_implicit_client(client_id);
    let checked = match registered {
        Some(m) if m.redirect_uri_prefix_match => m.redirect_whitelist().check(raw_redirect),
        Some(m) => m.redirect_whitelist().check_exact(raw_redirect),
        None if front_channel => whitelist.check_exact(raw_redirect),
        None => whitelist.check(raw_redirect),
    };
    let redirect_uri = checked.map_err(|e| {
        let exact = if front_channel {
            " (this application's redirect address must equal a whitelist entry exactly)"
        } else {
            ""
        };
        match (registered, e) {
            (Some(_), RedirectError::NotWhitelisted) => AuthorizeError::Page(
                "The redirect address is not allowed: it is not one of this application's \
                 registered redirect URIs."
                    .into(),
            ),
            (_, e) => {
                AuthorizeError::Page(format!("The redirect address is not allowed: {e}{exact}."))
            }
        }
    })?;
    let state = params.get("state").ok().flatten().map(str::to_string);
    let mode = ResponseMode::for_errors(
        front_channel,
        params.get("response_type").ok().flatten(),
        params.get("response_mode").ok().flatten(),
    );
    let fail =
        |mode: ResponseMode, error: &'static str, description: &str| AuthorizeError::Redirect {
            redirect_uri: redirect_uri.clone(),
            mode,
            error,
            description: description.to_string(),
            state: state.clone(),
        };
    let get = |name: &str| {
        params.get(name).map_err(|_| {
            fail(
                mode,
                "invalid_request",
                &format!("the parameter {name} was sent more than once"),
            )
        })
    };
    get("state")?;
    if get("request")?.is_some() {
        return Err(fail(
            mode,
            "request_not_supported",
            "request objects are not supported",
        ));
    }
    if get("request_uri")?.is_some() {
        return Err(fail(
            mode,
            "request_uri_not_supported",
            "request_uri is not supported",
        ));
    }
    let response_type = match get("response_type")? {
        None => {
            return Err(fail(
                mode,
                "invalid_request",
                "the parameter response_type is missing",
            ))
        }
        Some(raw) => match ResponseType::parse(raw, front_channel) {
            Ok(t) => t,
            Err(ResponseTypeError::Unsupported) if front_channel => {
                return Err(fail(
                    mode,
                    "unsupported_response_type",
                    "supported: code, token, id_token, id_token token and code id_token",
                ))
            }
            Err(ResponseTypeError::Unsupported) => {
                return Err(fail(
                    mode,
                    "unsupported_response_type",
                    "only response_type=code is supported",
                ))
            }
            Err(ResponseTypeError::Invalid) => {
                return Err(fail(
                    mode,
                    "invalid_request",
                    "response_type has a repeated or unknown value",
                ))
            }
        },
    };
    let response_mode = ResponseMode::parse(get("response_mode")?, response_type)
        .map_err(|e| fail(mode, "invalid_request", &e))?;
    let mode = response_mode;
    let fail = |error: &'static str, description: &str| fail(mode, error, description);
    let get = |name: &str| {
        params.get(name).map_err(|_| {
            fail(
                "invalid_request",
                &format!("the parameter {name} was sent more than once"),
            )
        })
    };
    let scope = Scope::parse_requested(get("scope")?.unwrap_or(""))
        .map_err(|e| fail("invalid_scope", &e))?;
    if let Some(m) = registered {
        if !m.response_types.iter().any(|t| t == "code") {
            return Err(fail(
                "unauthorized_client",
                "this client may not use response_type=code",
            ));
        }
        let asked = scope.to_string();
        if let Some(s) = asked
            .split(' ')
            .find(|s| !s.is_empty() && !m.allows_scope(s))
        {
            return Err(fail(
                "invalid_scope",
                &format!("the scope {s} is not allowed for this client"),
            ));
        }
        let public = m.token_endpoint_auth_method == AuthMethod::None;
        if public && get("code_challenge")?.is_none() {
            return Err(fail(
                "invalid_request",
                "a public client must use PKCE (code_challenge with S256)",
            ));
        }
    }
    let code_challenge = match (get("code_challenge")?, get("code_challenge_method")?) {
        (None, None) => None,
        (None, Some(_)) => {
            return Err(fail(
                "invalid_request",
                "code_challenge_method without code_challenge",
            ))
        }
        (Some(c), method) => Some(
            CodeChallenge::parse(c, method)
                .map_err(|e| fail("invalid_request", &e))?
                .as_str()
                .to_string(),
        ),
    };
    let nonce = get("nonce")?;
    // OIDC Core §3.2.2.1, §3.3.2.11: what travels in the front channel is bound to the
    // request that asked for it
    if response_type.is_front_channel() && nonce.is_none() {
        return Err(fail(
            "invalid_request",
            "nonce is required for this response_type",
        ));
    }
    let mut prompt_none = false;
    let mut prompt_login = false;
    let mut prompt_consent = false;
    if let Some(prompt) = get("prompt")? {
        for value in prompt.split(' ').filter(|v| !v.is_empty()) {
            match value {
                "none" => prompt_none = true,
                "login" => prompt_login = true,
                "consent" => prompt_consent = true,
                "select_account" => {}
                _ => return Err(fail("invalid_request", "prompt has an unknown value")),
            }
        }
        if prompt_none && prompt.split(' ').filter(|v| !v.is_empty()).count() > 1 {
            return Err(fail(
                "invalid_request",
                "prompt=none cannot be combined with other values",
            ));
        }
    }
    let max_age =
        match get("max_age")? {
            None => None,
            Some(v) => Some(v.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
                fail("invalid_request", "max_age must be a non-negative integer")
            })?),
        };
    if max_age == Some(0) {
        prompt_login = true;
    }
    let login_hint = get("login_hint")?.map(str::to_string);
    let id_token_hint = get("id_token_hint")?.map(str::to_string);
    Ok(AuthRequest {
        client_id: client_id.to_string(),
        client_name: registered.map(|m| m.client_name.clone()),
        redirect_uri: redirect_uri.as_str().to_string(),
        scope: scope.to_string(),
        state,
        response_type,
        response_mode,
        nonce: nonce.map(str::to_string),
        code_challenge,
        prompt_none,
        prompt_login,
        prompt_consent,
        max_age,
        login_hint,
        id_token_hint,
    })
}

/// Whether an existing authentication at `auth_time` is good enough for `request` now.
pub fn session_satisfies(request: &AuthRequest, auth_time: i64, now: i64) -> bool {
    if request.prompt_login {
        return false;
    }
    match request.max_age {
        Some(max_age) => now.saturating_sub(auth_time) <= max_age,
        None => true,
    }
}
