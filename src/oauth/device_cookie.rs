//! The device cookie of the sign-in forms (OWASP "device cookies"): a random 256-bit value
//! a browser gets when it signs a user in. While the database knows it for that user (as
//! a hash bound to the user name, see `crate::throttle`), failures from elsewhere do not
//! lock the user out of this browser. HttpOnly, `Secure` over https, `SameSite=Lax`, kept
//! for [`DEVICE_TTL`] and renewed by every sign-in.
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::Response;

use crate::crypto::random_token;
use crate::state::AppState;
use crate::throttle::DEVICE_TTL;
use crate::web;

/// The cookie's name.
pub const DEVICE_COOKIE: &str = "authserver_device";

/// The browser's device cookie, if it holds a well-formed one.
pub fn presented(headers: &HeaderMap) -> Option<&str> {
    web::cookie(headers, DEVICE_COOKIE).filter(|c| {
        c.len() == 43
            && c.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

/// The browser's device cookie, or a new one to set if the sign-in succeeds.
pub fn presented_or_new(headers: &HeaderMap) -> String {
    presented(headers).map_or_else(random_token, str::to_string)
}

/// Sets (or renews) the device cookie on a successful sign-in's response.
pub fn set(state: &AppState, response: &mut Response, token: &str) {
    let cookie = web::set_cookie(
        DEVICE_COOKIE,
        token,
        &state.base_path,
        state.secure_cookies,
        "Lax",
        Some(DEVICE_TTL),
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
}
