//! Integration tests: one binary, the real server over real HTTP.
mod authorize_errors;
mod cli;
mod code_exchange;
mod config_errors;
mod discovery;
mod helpers;
mod keys;
mod signin;
mod sso;
