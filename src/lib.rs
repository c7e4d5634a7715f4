//! authserver: a self-hosted OpenID Connect authorization server, drop-in compatible with
//! Teamwork Cloud's authentication server (`authserver.properties`, `X-Auth-Secret`, the
//! `/authentication` paths).
//!
//! # Map
//!
//! Dependencies point down this list, never up (a test, `layout_tests`, fails on an
//! import that points up or closes a cycle):
//!
//! 1. [`startup`] and [`cli`]: build the server (or run a command) from the pieces below.
//! 2. HTTP: [`oauth`] (the endpoints, one file each: thin handlers over the domain) and
//!    [`web`] (pages and their headers, the request extractors in [`web::extract`], the
//!    `/metrics` endpoint); both work on [`state::AppState`], the shared state, which is
//!    the domain's [`domain::services::Services`] plus what only the web layer needs.
//! 3. [`domain`]: protocol logic without HTTP: grants, token minting and validation,
//!    sign-in, personal access tokens, redirect and scope rules, the revocation caches;
//!    [`housekeeping`] purges what expired. [`error`] maps their failures to OAuth errors.
//! 4. Below the domain: [`store`] (every SQL query, SQLite or PostgreSQL), [`keys`] (signing
//!    keys: generation, import, the JWKS, signing and verification), [`directory`] (the
//!    LDAP / Active Directory password check), [`throttle`]
//!    (failed-password lockout), [`password`] (argon2id), [`metrics`] (the counters),
//!    [`telemetry`] (logging).
//! 5. At the bottom, depending on nothing of ours: [`config`] (typed settings), [`clock`]
//!    and [`crypto`].
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod cli;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod directory;
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

#[cfg(test)]
mod layout_tests;
