//! Client authentication at the token, introspection and revocation endpoints.
//!
//! All clients share `authentication.client.secret`, accepted as Teamwork Cloud's
//! `X-Auth-Secret` header, as `Authorization: Basic base64(client_id:secret)`
//! (client_secret_basic) or as `client_secret` in the body (client_secret_post). In the
//! client_credentials grant `Authorization: Basic` carries the *user's* credentials, so the
//! secret must then come another way.
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::config::Settings;
use crate::domain::params::Params;
use crate::error::AppError;

/// The one description for every client-credential failure (never which part was wrong).
pub const CLIENT_AUTH_FAILED: &str = "client authentication failed";

/// Credentials decoded from an `Authorization: Basic` header.
#[derive(Clone, PartialEq, Eq)]
pub struct BasicCredentials {
    /// The part before the first `:`.
    pub user: String,
    /// The part after it.
    pub password: String,
}

impl std::fmt::Debug for BasicCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BasicCredentials")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// Parses `Basic base64(user:password)` (UTF-8, split at the first `:`). `None` for
/// anything malformed: another scheme, bad base64, no colon, invalid UTF-8, control
/// characters, an empty user.
pub fn parse_basic(header: &str) -> Option<BasicCredentials> {
    let (scheme, rest) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let rest = rest.trim();
    if rest.is_empty() || rest.len() > 4096 {
        return None;
    }
    let bytes = STANDARD.decode(rest).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (user, password) = text.split_once(':')?;
    if user.is_empty() || text.chars().any(|c| c.is_control()) {
        return None;
    }
    Some(BasicCredentials {
        user: user.to_string(),
        password: password.to_string(),
    })
}

/// RFC 6749 §2.3.1: client_secret_basic credentials are form-urlencoded before base64.
fn form_decode(s: &str) -> String {
    let mut out = String::new();
    for (k, v) in form_urlencoded::parse(s.as_bytes()) {
        out.push_str(&k);
        if !v.is_empty() {
            out.push('=');
            out.push_str(&v);
        }
    }
    out
}

/// How the request authenticated the client.
#[derive(Debug, Clone)]
pub struct AuthenticatedClient {
    /// The client ID (allowed by `authentication.client.ids`); empty for a resource server
    /// that authenticated with the shared secret alone at introspection or revocation.
    pub client_id: String,
}

/// Whether the request must name its client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientId {
    /// Token endpoint: `client_id` is required (SPEC).
    Required,
    /// Introspection and revocation: a resource server may send the secret alone.
    Optional,
}

/// Authenticates the client of a token/introspection/revocation request.
///
/// `basic_is_user`: in the client_credentials grant the Basic header holds the user.
pub fn authenticate(
    settings: &Settings,
    x_auth_secret: Option<&str>,
    authorization: Option<&str>,
    params: &Params,
    basic_is_user: bool,
    need: ClientId,
) -> Result<AuthenticatedClient, AppError> {
    let fail = || AppError::InvalidClient(CLIENT_AUTH_FAILED.into());
    let form_client = params.get("client_id")?;
    let form_secret = params.get("client_secret")?;
    let basic = if basic_is_user {
        None
    } else {
        match authorization {
            Some(h)
                if h.trim_start().len() >= 6
                    && h.trim_start()[..6].eq_ignore_ascii_case("basic ") =>
            {
                Some(parse_basic(h).ok_or_else(fail)?)
            }
            _ => None,
        }
    };
    let secret_ok = |s: &str| settings.auth.client_secret.ct_eq(s.as_bytes());
    let mut presented = 0;
    let mut ok = true;
    if let Some(s) = x_auth_secret {
        presented += 1;
        ok &= secret_ok(s);
    }
    let mut basic_client = None;
    if let Some(b) = &basic {
        presented += 1;
        ok &= secret_ok(&form_decode(&b.password));
        basic_client = Some(form_decode(&b.user));
    }
    if let Some(s) = form_secret {
        presented += 1;
        ok &= secret_ok(s);
    }
    if presented == 0 || !ok {
        return Err(fail());
    }
    let client_id = match (basic_client, form_client) {
        (Some(b), Some(f)) if b != f => {
            return Err(AppError::InvalidRequest(
                "client_id differs from the client authenticated by the Authorization header"
                    .into(),
            ))
        }
        (Some(b), _) => b,
        (None, Some(f)) => f.to_string(),
        (None, None) if need == ClientId::Optional => {
            return Ok(AuthenticatedClient {
                client_id: String::new(),
            })
        }
        (None, None) => {
            return Err(AppError::InvalidRequest(
                "the parameter client_id is missing".into(),
            ))
        }
    };
    if !settings.is_allowed_client(&client_id) {
        return Err(fail());
    }
    Ok(AuthenticatedClient { client_id })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &[u8]) -> String {
        STANDARD.encode(s)
    }

    #[test]
    fn basic_headers_are_parsed_strictly() {
        let ok = parse_basic(&format!("Basic {}", b64(b"alice:pa:ss"))).unwrap();
        assert_eq!(ok.user, "alice");
        assert_eq!(ok.password, "pa:ss");
        assert_eq!(
            parse_basic(&format!("basic {}", b64(b"a:")))
                .unwrap()
                .password,
            ""
        );
        for bad in [
            "".to_string(),
            "Basic".to_string(),
            "Basic ".to_string(),
            "Bearer abc".to_string(),
            "Basic !!!notbase64".to_string(),
            format!("Basic {}", b64(b"nocolon")),
            format!("Basic {}", b64(b":password")),
            format!("Basic {}", b64(b"\xff\xfe:x")),
            format!("Basic {}", b64(b"al\nice:x")),
            format!("Basic {}", &b64(b"alice:pw")[1..]),
            format!("Basic {}", "A".repeat(5000)),
        ] {
            assert!(parse_basic(&bad).is_none(), "{bad:?} should be refused");
        }
    }
}
