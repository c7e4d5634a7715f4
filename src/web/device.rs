//! The pages of the device verification flow (RFC 8628 §3.3).
use askama::Template;

/// Code entry, with the sign-in fields when there is no SSO session.
#[derive(Template)]
#[template(path = "device.html")]
pub struct DeviceEntryView<'a> {
    /// Path prefix.
    pub base: &'a str,
    /// CSRF token (equals the CSRF cookie).
    pub csrf: &'a str,
    /// The code as given (from `verification_uri_complete` or the previous POST).
    pub user_code: &'a str,
    /// Who is signed in (no sign-in fields then).
    pub signed_in: Option<&'a str>,
    /// Pre-filled user name.
    pub username: &'a str,
    /// Error shown above the form.
    pub error: Option<&'a str>,
}

/// Asks the signed-in user to allow or deny the client's request.
#[derive(Template)]
#[template(path = "device_confirm.html")]
pub struct DeviceConfirmView<'a> {
    /// Path prefix.
    pub base: &'a str,
    /// CSRF token.
    pub csrf: &'a str,
    /// The code, `XXXX-XXXX`.
    pub user_code: &'a str,
    /// The client that asks.
    pub client_name: &'a str,
    /// Who is signed in.
    pub username: &'a str,
    /// What the client asks for, described.
    pub scopes: Vec<&'static str>,
}

/// After the decision.
#[derive(Template)]
#[template(path = "device_done.html")]
pub struct DeviceDoneView<'a> {
    /// Path prefix.
    pub base: &'a str,
    /// Heading.
    pub title: &'a str,
    /// Explanation.
    pub message: &'a str,
}

/// What a scope lets the client do, for the confirmation page.
pub fn describe_scope(scope: &str) -> Option<&'static str> {
    match scope {
        "openid" => Some("Your identity (user name)"),
        "profile" => Some("Your name"),
        "email" => Some("Your e-mail address"),
        "offline_access" => Some("Stay signed in on the device"),
        _ => None,
    }
}
