//! Protocol logic with no HTTP in it: redirect matching, PKCE, scopes, token claims.
pub mod pkce;
pub mod redirect;
pub mod scope;
