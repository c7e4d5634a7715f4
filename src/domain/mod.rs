//! Protocol logic with no HTTP in it: redirect matching, PKCE, scopes, token claims.
pub mod authorize;
pub mod client_auth;
pub mod credentials;
pub mod device;
pub mod grants;
pub mod hint;
pub mod login;
pub mod params;
pub mod pat;
pub mod pending;
pub mod pkce;
pub mod redirect;
pub mod revocation;
pub mod scope;
pub mod services;
pub mod signer;
pub mod tokens;
