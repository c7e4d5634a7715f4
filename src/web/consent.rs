//! The consent page: a third-party client asks for the signed-in user's permission.
use askama::Template;

/// Asks the signed-in user to allow or deny a client's authorization request.
#[derive(Template)]
#[template(path = "consent.html")]
pub struct ConsentView<'a> {
    /// Path prefix.
    pub base: &'a str,
    /// CSRF token (equals the CSRF cookie).
    pub csrf: &'a str,
    /// The pending request, sealed for this browser and user.
    pub rid: &'a str,
    /// The client's display name.
    pub client_name: &'a str,
    /// The client's ID.
    pub client_id: &'a str,
    /// The host (or scheme, for a native app) the answer goes to.
    pub redirect_host: &'a str,
    /// Who is signed in.
    pub username: &'a str,
    /// What the client asks for, in plain words.
    pub scopes: Vec<String>,
}

/// One remembered grant as the account page lists it.
#[derive(Debug, Clone)]
pub struct GrantLine {
    /// The client's ID.
    pub client_id: String,
    /// Its display name.
    pub client_name: String,
    /// The granted scopes, space-separated.
    pub scope: String,
    /// When it was granted, formatted.
    pub granted: String,
}
