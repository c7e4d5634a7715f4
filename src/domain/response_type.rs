//! What an authorization response carries (`response_type`) and how it travels
//! (`response_mode`): OAuth 2.0 Multiple Response Type Encoding Practices, OAuth 2.0 Form
//! Post Response Mode, OIDC Core §3.2 (implicit) and §3.3 (hybrid).
//!
//! `code` in the query is the flow for everyone. The front-channel types (`token`,
//! `id_token`, `id_token token`, `code id_token`) are only for the clients listed in
//! `authentication.client.implicit`, and their responses travel in the fragment or a
//! self-submitting form, never in the query.
use serde::{Deserialize, Serialize};

use crate::domain::redirect::RedirectUri;

/// A supported `response_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum ResponseType {
    /// `code`: the authorization-code flow.
    #[default]
    Code,
    /// `token`: an access token in the redirect (RFC 6749 §4.2).
    Token,
    /// `id_token`: an ID token only (OIDC Core §3.2).
    IdToken,
    /// `id_token token`: both (OIDC Core §3.2).
    IdTokenToken,
    /// `code id_token`: a code and an ID token (OIDC Core §3.3).
    CodeIdToken,
}

/// Why a `response_type` value is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseTypeError {
    /// Well-formed but not offered (to this client).
    Unsupported,
    /// Repeated or unknown values.
    Invalid,
}

impl ResponseType {
    /// Parses a `response_type` (space-separated values, in any order).
    /// `front_channel` says whether the client may use the types other than `code`.
    pub fn parse(raw: &str, front_channel: bool) -> Result<ResponseType, ResponseTypeError> {
        let mut values: Vec<&str> = raw.split(' ').filter(|v| !v.is_empty()).collect();
        let count = values.len();
        values.sort_unstable();
        values.dedup();
        if values.len() != count {
            return Err(ResponseTypeError::Invalid);
        }
        if values
            .iter()
            .any(|v| !matches!(*v, "code" | "token" | "id_token" | "none"))
        {
            return Err(ResponseTypeError::Invalid);
        }
        let parsed = match values.as_slice() {
            ["code"] => ResponseType::Code,
            ["token"] => ResponseType::Token,
            ["id_token"] => ResponseType::IdToken,
            ["id_token", "token"] => ResponseType::IdTokenToken,
            ["code", "id_token"] => ResponseType::CodeIdToken,
            _ => return Err(ResponseTypeError::Unsupported),
        };
        if parsed != ResponseType::Code && !front_channel {
            return Err(ResponseTypeError::Unsupported);
        }
        Ok(parsed)
    }

    /// Whether the response holds an authorization code.
    pub fn has_code(self) -> bool {
        matches!(self, ResponseType::Code | ResponseType::CodeIdToken)
    }
    /// Whether the response holds an access token.
    pub fn has_access_token(self) -> bool {
        matches!(self, ResponseType::Token | ResponseType::IdTokenToken)
    }
    /// Whether the response holds an ID token.
    pub fn has_id_token(self) -> bool {
        matches!(
            self,
            ResponseType::IdToken | ResponseType::IdTokenToken | ResponseType::CodeIdToken
        )
    }
    /// Whether anything travels in the front channel besides a code.
    pub fn is_front_channel(self) -> bool {
        self != ResponseType::Code
    }
}

/// How the response reaches the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum ResponseMode {
    /// Query parameters of the redirect URI (only for `code`).
    #[default]
    Query,
    /// The fragment of the redirect URI (the default of the front-channel types).
    Fragment,
    /// A self-submitting HTML form that POSTs to the redirect URI.
    FormPost,
}

impl ResponseMode {
    /// Parses `response_mode` for `response_type`; `Err` names why it is refused.
    pub fn parse(raw: Option<&str>, response_type: ResponseType) -> Result<ResponseMode, String> {
        let front = response_type.is_front_channel();
        match (raw, front) {
            (None, false) | (Some("query"), false) => Ok(ResponseMode::Query),
            (None, true) | (Some("fragment"), true) => Ok(ResponseMode::Fragment),
            (Some("form_post"), true) => Ok(ResponseMode::FormPost),
            (Some("query"), true) => Err(
                "response_mode=query is refused for this response_type: tokens must not travel in \
                 the query"
                    .into(),
            ),
            (Some(_), false) => Err("only response_mode=query is supported for code".into()),
            (Some(_), true) => Err("response_mode must be fragment or form_post".into()),
        }
    }

    /// The mode errors of a request use before (or without) its `response_type` being
    /// valid: query for `code` and for clients without the front channel; for a listed
    /// client asking for anything else, the fragment (RFC 6749 §4.2.2.1) or the form post
    /// it asked for, never the query.
    pub fn for_errors(
        front_channel: bool,
        raw_type: Option<&str>,
        raw_mode: Option<&str>,
    ) -> ResponseMode {
        if !front_channel || raw_type.map(str::trim) == Some("code") {
            return ResponseMode::Query;
        }
        match raw_mode {
            Some("form_post") => ResponseMode::FormPost,
            _ => ResponseMode::Fragment,
        }
    }
}

/// An authorization response (success or error) ready to be delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrontResponse {
    /// The checked redirect URI.
    pub redirect_uri: RedirectUri,
    /// How it travels.
    pub mode: ResponseMode,
    /// The response parameters, in order.
    pub params: Vec<(String, String)>,
}

impl FrontResponse {
    /// The `Location` for the query and fragment modes; `None` for the form post.
    pub fn location(&self) -> Option<String> {
        let pairs: Vec<(&str, &str)> = self
            .params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        match self.mode {
            ResponseMode::Query => Some(self.redirect_uri.with_params(&pairs)),
            ResponseMode::Fragment => Some(self.redirect_uri.with_fragment(&pairs)),
            ResponseMode::FormPost => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_front_channel_types_parse_in_any_order_only_for_listed_clients() {
        use ResponseType::*;
        for (raw, want) in [
            ("code", Code),
            ("token", Token),
            ("id_token", IdToken),
            ("id_token token", IdTokenToken),
            ("token id_token", IdTokenToken),
            ("code id_token", CodeIdToken),
            ("id_token  code", CodeIdToken),
        ] {
            assert_eq!(ResponseType::parse(raw, true), Ok(want), "{raw}");
        }
        assert_eq!(ResponseType::parse("code", false), Ok(Code));
        for raw in ["token", "id_token", "id_token token", "code id_token"] {
            assert_eq!(
                ResponseType::parse(raw, false),
                Err(ResponseTypeError::Unsupported),
                "{raw}"
            );
        }
        for raw in ["code token", "code id_token token", "none"] {
            assert_eq!(
                ResponseType::parse(raw, true),
                Err(ResponseTypeError::Unsupported),
                "{raw}"
            );
        }
        for raw in ["code code", "tokens", "id_token id_token", "Code"] {
            assert_eq!(
                ResponseType::parse(raw, true),
                Err(ResponseTypeError::Invalid),
                "{raw}"
            );
        }
    }

    #[test]
    fn tokens_never_travel_in_the_query() {
        use ResponseMode::*;
        assert_eq!(ResponseMode::parse(None, ResponseType::Code), Ok(Query));
        assert!(ResponseMode::parse(Some("fragment"), ResponseType::Code).is_err());
        assert_eq!(
            ResponseMode::parse(None, ResponseType::IdTokenToken),
            Ok(Fragment)
        );
        assert_eq!(
            ResponseMode::parse(Some("form_post"), ResponseType::Token),
            Ok(FormPost)
        );
        assert!(ResponseMode::parse(Some("query"), ResponseType::Token).is_err());
        assert!(ResponseMode::parse(Some("query"), ResponseType::CodeIdToken).is_err());
        assert_eq!(
            ResponseMode::for_errors(true, Some("token"), None),
            Fragment
        );
        assert_eq!(
            ResponseMode::for_errors(true, Some("token"), Some("query")),
            Fragment
        );
        assert_eq!(ResponseMode::for_errors(true, None, None), Fragment);
        assert_eq!(ResponseMode::for_errors(true, Some("code"), None), Query);
        assert_eq!(
            ResponseMode::for_errors(true, Some("id_token"), Some("form_post")),
            FormPost
        );
        assert_eq!(ResponseMode::for_errors(false, Some("token"), None), Query);
    }

    #[test]
    fn a_fragment_response_puts_every_parameter_after_the_hash() {
        let r = FrontResponse {
            redirect_uri: RedirectUri::trusted("https://md_redirect".into()),
            mode: ResponseMode::Fragment,
            params: vec![
                ("access_token".into(), "a b".into()),
                ("state".into(), "s&t".into()),
            ],
        };
        assert_eq!(
            r.location().unwrap(),
            "https://md_redirect#access_token=a+b&state=s%26t"
        );
    }
}
