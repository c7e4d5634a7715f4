//! Test harness: the real server on a random port with a database of its own.
//!
//! The same modules are compiled into two test binaries: `api` runs them against SQLite (a
//! temporary file per test), `postgres` (`tests/postgres/main.rs`) against PostgreSQL (a
//! fresh database per test on the server named by `AUTHSERVER_TEST_POSTGRES_URL`). Tests
//! stay backend-neutral by getting database URLs from [`TestDb`] / [`fresh_database_url`]
//! and reading or writing rows through [`Sql`] (`$1` placeholders, `TRUE`/`FALSE`).
//!
//! By concern: [`server`] starts a [`TestApp`] (the standard configuration, [`AppBuilder`]),
//! [`database`] gives it a [`TestDb`], [`sql`] reads and writes that database, [`oauth`]
//! drives the standard client's flows, [`http`] reads responses, pages and cookies, and
//! [`cli`] runs the `authserver` binary. The token-lifecycle and PAT helpers keep modules
//! of their own ([`lifecycle_helpers`], [`pat_helpers`]). Tests import everything from
//! here: `use crate::helpers::*;`.
mod cli;
mod database;
mod http;
pub mod lifecycle_helpers;
mod oauth;
pub mod pat_helpers;
mod server;
mod sql;

pub use cli::{authserver_command, run_cli, stderr, stdout};
pub use database::{
    backend_is_postgres, fresh_database_url, fresh_database_url_blocking, is_sqlite_url, TestDb,
};
pub use http::{
    bare_client, cookie_attributes, cookie_value, hidden_field, hidden_fields, html_unescape,
    location, query_param, set_cookie_header,
};
pub use oauth::{exchange_code, jwks_kids_at, jwt_parts, pkce_pair};
pub use server::{spawn_app, test_key_path, AppBuilder, TestApp, CLIENT, REDIRECT, SECRET};
pub use sql::Sql;
