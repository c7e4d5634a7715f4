//! What several handlers read from a request the same way: header values, the client's
//! address ([`ClientIp`], an extractor), the client certificate it presents
//! ([`PresentedCertificate`], not verified yet), and the form-encoding check of POST bodies.
use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use axum::http::{header, HeaderMap};

use crate::error::AppError;
use crate::state::AppState;

/// Header values as `&str` (non-UTF-8 counts as absent).
pub fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The client's address for throttling: the TCP peer, or the forwarded one when the peer
/// is a trusted proxy (an extractor, so every handler derives it the same way).
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub IpAddr);

impl axum::extract::FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
        Ok(ClientIp(crate::throttle::client_ip(
            peer,
            header_str(&parts.headers, "x-forwarded-for"),
            &state.settings.server.trusted_proxies,
        )))
    }
}

/// The client certificate a request presents (smart-card login), not verified yet: the
/// TLS peer's chain, or the certificate header when the TCP peer is a trusted proxy (see
/// [`crate::domain::certificate::CertificateAuth::presented`]). `Nothing` when certificate
/// login is off.
#[derive(Debug, Clone)]
pub struct PresentedCertificate(pub crate::domain::certificate::Presented);

impl axum::extract::FromRequestParts<AppState> for PresentedCertificate {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        use crate::domain::certificate::Presented;
        let Some(auth) = state.certificates.as_deref() else {
            return Ok(PresentedCertificate(Presented::Nothing));
        };
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
        let tls = parts
            .extensions
            .get::<std::sync::Arc<axum_server::tls::TlsInfo>>()
            .map(|info| info.peer_certificates.as_slice());
        Ok(PresentedCertificate(auth.presented(
            tls,
            header_str(&parts.headers, auth.header()),
            peer,
            &state.settings.server.trusted_proxies,
        )))
    }
}

/// Refuses bodies that are not form-encoded (JSON at the token endpoint is a client bug).
pub fn require_form(headers: &HeaderMap) -> Result<(), AppError> {
    match header_str(headers, header::CONTENT_TYPE.as_str()) {
        None => Ok(()),
        Some(ct)
            if ct
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded") =>
        {
            Ok(())
        }
        Some(_) => Err(AppError::InvalidRequest(
            "the request body must be application/x-www-form-urlencoded".into(),
        )),
    }
}
