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
use crate::domain::clients::model::ClientMetadata;
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

/// RFC 6749 §2.3.1: client_secret_basic credentials are form-urlencoded (Appendix B:
/// `+` for a space, percent-encoding) before base64. Decoded as one value, never split at
/// `&` or `=`; `None` if the result is not UTF-8.
fn form_value_decode(s: &str) -> Option<String> {
    let plus_as_space = s.replace('+', " ");
    percent_encoding::percent_decode_str(&plus_as_space)
        .decode_utf8()
        .ok()
        .map(|d| d.into_owned())
}

/// Whether a Basic password is the secret, as sent or decoded: many clients do not encode,
/// and a secret with `+`, `/` or `=` (base64) must work either way. Both comparisons are
/// constant-time and both always run.
fn basic_secret_ok(settings: &Settings, password: &str) -> bool {
    let secret = &settings.auth.client_secret;
    let decoded = form_value_decode(password).unwrap_or_default();
    let raw_ok = secret.ct_eq(password.as_bytes());
    let decoded_ok = secret.ct_eq(decoded.as_bytes());
    raw_ok | decoded_ok
}

/// The client a Basic user names: as sent if that is an allowed client, else decoded.
fn basic_client_id(settings: &Settings, user: &str) -> String {
    if settings.is_allowed_client(user) {
        return user.to_string();
    }
    form_value_decode(user).unwrap_or_else(|| user.to_string())
}

/// How the request authenticated the client.
#[derive(Debug, Clone)]
pub struct AuthenticatedClient {
    /// The client ID (allowed by `authentication.client.ids`); empty for a resource server
    /// that authenticated with the shared secret alone at introspection or revocation.
    pub client_id: String,
    /// The metadata of a registered client (none for a properties-file client).
    pub registered: Option<std::sync::Arc<ClientMetadata>>,
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
            // `get`, not indexing: a non-ASCII header must not split a character
            Some(h)
                if h.trim_start()
                    .get(..6)
                    .is_some_and(|p| p.eq_ignore_ascii_case("basic ")) =>
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
        ok &= basic_secret_ok(settings, &b.password);
        basic_client = Some(basic_client_id(settings, &b.user));
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
                registered: None,
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
    Ok(AuthenticatedClient {
        client_id,
        registered: None,
    })
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

#[cfg(test)]
mod basic_secret {
    use std::path::Path;

    use super::*;

    fn settings(secret: &str) -> Settings {
        let text = format!(
            "authentication.client.ids = webApplicationPlatform, a+b\n\
             authentication.redirect.uri.whitelist = https://app.example.com/cb\n\
             authentication.client.secret = {secret}\n"
        );
        Settings::from_str(&text, Path::new("authserver.properties"), &[])
            .unwrap()
            .settings
    }

    fn basic_ok(settings: &Settings, user: &str, password: &str) -> Result<String, AppError> {
        let header = format!("Basic {}", STANDARD.encode(format!("{user}:{password}")));
        authenticate(
            settings,
            None,
            Some(&header),
            &Params::parse(b""),
            false,
            ClientId::Required,
        )
        .map(|c| c.client_id)
    }

    #[test]
    fn a_secret_is_accepted_as_sent_or_percent_decoded_but_never_split() {
        let s = settings("s3cret");
        let client = "webApplicationPlatform";
        assert_eq!(basic_ok(&s, client, "s3cret").unwrap(), client);
        assert_eq!(basic_ok(&s, client, "s3%63ret").unwrap(), client);
        assert_eq!(
            basic_ok(&s, "webApplication%50latform", "s3cret").unwrap(),
            client
        );
        for wrong in [
            "s3cret=",
            "s3cret&",
            "&s3cret",
            "s3&cret",
            "s3=cret",
            "s3cret&junk",
            "s3cre",
        ] {
            assert!(basic_ok(&s, client, wrong).is_err(), "{wrong:?}");
        }
        assert!(basic_ok(&s, "webApplicationPlatform=", "s3cret").is_err());
        assert!(basic_ok(&s, "webApplication&Platform", "s3cret").is_err());
    }

    #[test]
    fn a_base64_secret_works_raw_and_form_encoded() {
        let secret = "q+/Zm2Yb0V/x+3kT9Lr=Ae==";
        let s = settings(secret);
        let encoded: String = form_urlencoded::byte_serialize(secret.as_bytes()).collect();
        assert!(basic_ok(&s, "webApplicationPlatform", secret).is_ok());
        assert!(basic_ok(&s, "webApplicationPlatform", &encoded).is_ok());
        assert!(basic_ok(&s, "webApplicationPlatform", &secret.replace('+', " ")).is_err());
        assert!(basic_ok(&s, "webApplicationPlatform", &secret.replace('+', "%20")).is_err());
    }

    #[test]
    fn a_secret_with_a_space_works_form_encoded_with_a_plus() {
        let s = settings("two words");
        assert!(basic_ok(&s, "webApplicationPlatform", "two+words").is_ok());
        assert!(basic_ok(&s, "webApplicationPlatform", "two%20words").is_ok());
        assert!(basic_ok(&s, "webApplicationPlatform", "two words").is_ok());
        // a client ID with a `+`, sent unencoded, is still that client
        assert_eq!(basic_ok(&s, "a+b", "two words").unwrap(), "a+b");
        assert_eq!(basic_ok(&s, "a%2Bb", "two words").unwrap(), "a+b");
    }
}

/// Property tests: `Basic` credentials round-trip, any header parses without a panic, and
/// client authentication never succeeds with a wrong secret or a client that is not allowed.
///
/// 5,000 cases per property by default: about 6 s for the six in a debug build; set
/// `PROPTEST_CASES` to run longer.
#[cfg(test)]
mod fuzz {
    use std::path::Path;
    use std::sync::OnceLock;

    use proptest::prelude::*;

    use super::*;

    const CASES: u32 = 5_000;
    /// A secret with every character form-encoding treats specially.
    const SECRET: &str = "s3cr&t=+%/ é:x";
    const CLIENTS: &[&str] = &["webApplicationPlatform", "MAGICDRAW"];

    fn config() -> ProptestConfig {
        ProptestConfig {
            cases: CASES,
            ..ProptestConfig::default()
        }
    }

    fn settings() -> &'static Settings {
        static SETTINGS: OnceLock<Settings> = OnceLock::new();
        SETTINGS.get_or_init(|| {
            let text = format!(
                "authentication.client.ids = {}\n\
                 authentication.redirect.uri.whitelist = https://app.example.com/cb\n\
                 authentication.client.secret = {SECRET}\n",
                CLIENTS.join(", ")
            );
            Settings::from_str(&text, Path::new("authserver.properties"), &[])
                .unwrap()
                .settings
        })
    }

    fn b64(s: impl AsRef<[u8]>) -> String {
        STANDARD.encode(s)
    }

    fn form_encode(s: &str) -> String {
        form_urlencoded::byte_serialize(s.as_bytes()).collect()
    }

    fn scheme() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec!["Basic", "basic", "BASIC", "bAsIc"])
    }

    /// A secret as a client might send it: right, nearly right, or anything.
    fn secret() -> impl Strategy<Value = String> {
        prop_oneof![
            3 => Just(SECRET.to_string()),
            1 => Just(String::new()),
            1 => Just(format!("{SECRET} ")),
            1 => Just(SECRET.to_uppercase()),
            1 => Just(SECRET[..SECRET.len() - 1].to_string()),
            1 => Just(form_encode(SECRET)),
            2 => any::<String>(),
        ]
    }

    fn client() -> impl Strategy<Value = String> {
        prop_oneof![
            3 => prop::sample::select(CLIENTS.to_vec()).prop_map(str::to_string),
            1 => Just(String::new()),
            1 => Just("webapplicationplatform".to_string()),
            1 => any::<String>(),
        ]
    }

    fn authorization() -> impl Strategy<Value = Option<String>> {
        prop::option::of(prop_oneof![
            3 => (scheme(), client(), secret(), any::<bool>()).prop_map(|(s, c, p, enc)| {
                if enc {
                    format!("{s} {}", b64(format!("{}:{}", form_encode(&c), form_encode(&p))))
                } else {
                    format!("{s} {}", b64(format!("{c}:{p}")))
                }
            }),
            1 => "Basic [A-Za-z0-9+/=!*]{0,40}",
            1 => "Bearer [a-z.]{0,20}",
            1 => any::<String>(),
        ])
    }

    fn body() -> impl Strategy<Value = Vec<u8>> {
        let field = prop_oneof![
            (Just("client_id"), client()),
            (Just("client_secret"), secret()),
            (Just("grant_type"), Just("client_credentials".to_string())),
        ];
        prop_oneof![
            4 => prop::collection::vec(field, 0..4).prop_map(|fields| {
                let mut ser = form_urlencoded::Serializer::new(String::new());
                for (k, v) in fields {
                    ser.append_pair(k, &v);
                }
                ser.finish().into_bytes()
            }),
            1 => prop::collection::vec(any::<u8>(), 0..100),
        ]
    }

    /// An `Authorization` value whose sixth byte falls inside a multi-byte character (only
    /// ASCII reaches this over HTTP today, but the domain layer takes any `&str`).
    #[test]
    fn a_non_ascii_authorization_value_is_refused_without_a_panic() {
        let params = Params::parse(b"client_id=webApplicationPlatform");
        for header in ["00\u{3a3}\u{18b0}", "Basi\u{e9} abc", "\u{1f600}\u{1f600}"] {
            let result = authenticate(
                settings(),
                Some(SECRET),
                Some(header),
                &params,
                false,
                ClientId::Required,
            );
            assert!(
                result.is_ok(),
                "{header:?}: not Basic, so the X-Auth-Secret decides"
            );
        }
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn basic_credentials_round_trip(
            scheme in scheme(),
            // `char::is_control` is exactly the Unicode category Cc
            user in "[^:\\p{Cc}]{1,40}",
            password in "[^\\p{Cc}]{0,80}",
            pad_before in " {0,3}",
            pad_between in " {1,3}",
            pad_after in " {0,3}",
        ) {
            let header =
                format!("{pad_before}{scheme}{pad_between}{}{pad_after}", b64(format!("{user}:{password}")));
            let parsed = parse_basic(&header);
            prop_assert_eq!(parsed, Some(BasicCredentials { user, password }));
        }

        #[test]
        fn basic_parses_exactly_the_well_formed_texts(text in any::<String>()) {
            let want = text
                .split_once(':')
                .filter(|(user, _)| !user.is_empty() && !text.chars().any(char::is_control))
                .map(|(user, password)| BasicCredentials {
                    user: user.to_string(),
                    password: password.to_string(),
                });
            prop_assert_eq!(parse_basic(&format!("Basic {}", b64(&text))), want);
        }

        #[test]
        fn basic_refuses_bytes_that_are_not_utf8(
            bytes in prop::collection::vec(any::<u8>(), 0..200),
        ) {
            let parsed = parse_basic(&format!("Basic {}", b64(&bytes)));
            if parsed.is_some() {
                prop_assert!(std::str::from_utf8(&bytes).is_ok());
            }
        }

        #[test]
        fn parse_basic_never_panics_on_any_header(
            header in prop_oneof![
                any::<String>(),
                "(Basic|basic|Bearer|) {0,2}[A-Za-z0-9+/=_ .:-]{0,64}",
            ],
        ) {
            if let Some(c) = parse_basic(&header) {
                prop_assert!(!c.user.is_empty() && !c.user.contains(':'));
            }
        }

        #[test]
        fn authentication_never_admits_a_wrong_secret_or_client(
            x_auth in prop::option::of(secret()),
            authorization in authorization(),
            body in body(),
            basic_is_user in any::<bool>(),
            optional in any::<bool>(),
        ) {
            let need = if optional { ClientId::Optional } else { ClientId::Required };
            let params = Params::parse(&body);
            let result = authenticate(
                settings(),
                x_auth.as_deref(),
                authorization.as_deref(),
                &params,
                basic_is_user,
                need,
            );
            let Ok(client) = result else { return Ok(()) };
            let form_secret = params.get("client_secret").ok().flatten();
            let form_client = params.get("client_id").ok().flatten();
            let basic = authorization
                .as_deref()
                .filter(|h| !basic_is_user && h.trim_start().to_ascii_lowercase().starts_with("basic "))
                .map(|h| parse_basic(h).ok_or_else(|| TestCaseError::fail("bad Basic header admitted")))
                .transpose()?;
            prop_assert!(x_auth.is_some() || form_secret.is_some() || basic.is_some());
            if let Some(s) = &x_auth {
                prop_assert_eq!(s.as_str(), SECRET);
            }
            if let Some(s) = form_secret {
                prop_assert_eq!(s, SECRET);
            }
            if let Some(b) = &basic {
                prop_assert!(
                    b.password == SECRET || form_value_decode(&b.password).as_deref() == Some(SECRET),
                    "{:?}",
                    b
                );
                prop_assert!(
                    b.user == client.client_id
                        || form_value_decode(&b.user).as_deref() == Some(client.client_id.as_str()),
                    "{:?}",
                    client
                );
            } else if let Some(c) = form_client {
                prop_assert_eq!(c, client.client_id.as_str());
            }
            if client.client_id.is_empty() {
                prop_assert_eq!(need, ClientId::Optional);
                prop_assert!(basic.is_none() && form_client.is_none());
            } else {
                prop_assert!(CLIENTS.contains(&client.client_id.as_str()), "{:?}", client);
            }
        }

        #[test]
        fn rfc6749_encoded_and_unencoded_basic_credentials_authenticate(
            client in prop::sample::select(CLIENTS.to_vec()),
            scheme in scheme(),
            wrong in any::<String>(),
        ) {
            let header = |secret: &str| {
                format!("{scheme} {}", b64(format!("{}:{}", form_encode(client), form_encode(secret))))
            };
            let params = Params::parse(b"");
            let ok = authenticate(settings(), None, Some(&header(SECRET)), &params, false, ClientId::Required)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(ok.client_id.as_str(), client);
            // many clients do not encode: the secret as it is works too
            let unencoded = format!("{scheme} {}", b64(format!("{client}:{SECRET}")));
            let ok = authenticate(settings(), None, Some(&unencoded), &params, false, ClientId::Required)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(ok.client_id.as_str(), client);
            if wrong != SECRET {
                let refused =
                    authenticate(settings(), None, Some(&header(&wrong)), &params, false, ClientId::Required);
                prop_assert!(matches!(refused, Err(AppError::InvalidClient(_))));
            }
        }
    }
}
