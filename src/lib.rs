//! authserver: a self-hosted OpenID Connect authorization server, drop-in compatible with
//! Teamwork Cloud's authentication server (`authserver.properties`, `X-Auth-Secret`, the
//! `/authentication` paths).
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod cli;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod domain;
pub mod error;
pub mod housekeeping;
pub mod keys;
pub mod metrics;
pub mod oauth;
pub mod password;
pub mod startup;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod throttle;
pub mod web;
