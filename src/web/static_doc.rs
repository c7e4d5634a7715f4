//! The static documents (discovery, JWKS): pre-serialised bytes served ahead of the
//! middleware stack (see `startup::router`), so a request pays for routing, one `Bytes`
//! clone, two static headers and one atomic counter increment, and is logged only when
//! the request log is on. No timeout or body limit applies (nothing is read from the
//! request), and no duration histogram is kept (the time is the network's).
use std::time::Instant;

use axum::body::Body;
use axum::http::{header, HeaderValue, Method};
use axum::response::Response;
use bytes::Bytes;

use crate::metrics::static_request_counter;
use crate::telemetry;

/// `Cache-Control` of the static documents.
const CACHE_CONTROL: &str = "public, max-age=300";

/// One static document's route, content type and request counters.
#[derive(Debug)]
pub struct StaticDoc {
    path: &'static str,
    content_type: &'static str,
    get: metrics::Counter,
    head: metrics::Counter,
}

impl StaticDoc {
    /// The document served at `path` (the full path), counted under the metrics route
    /// `route` (the path itself, or the canonical path of an alias).
    pub fn new(path: &'static str, route: &'static str, content_type: &'static str) -> StaticDoc {
        StaticDoc {
            path,
            content_type,
            get: static_request_counter(route, "GET"),
            head: static_request_counter(route, "HEAD"),
        }
    }

    /// The full path.
    pub fn path(&self) -> &'static str {
        self.path
    }

    /// The 200 response with `body` (axum drops the body of a `HEAD` answer).
    pub fn respond(&self, method: &Method, body: Bytes) -> Response {
        let start = telemetry::request_log_enabled().then(Instant::now);
        let mut response = Response::new(Body::from(body));
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(self.content_type),
        );
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(CACHE_CONTROL),
        );
        if *method == Method::HEAD {
            self.head.increment(1);
        } else {
            self.get.increment(1);
        }
        if let Some(start) = start {
            telemetry::log_line(method, self.path, 200, start);
        }
        response
    }
}
