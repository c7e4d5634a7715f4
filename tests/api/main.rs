//! Integration tests: one binary, the real server over real HTTP.
mod account;
mod authorize_errors;
mod browser;
mod cli;
mod client_credentials;
mod code_exchange;
mod config_errors;
mod discovery;
mod helpers;
mod keys;
mod lifecycle;
mod lockout;
mod management;
mod pats;
mod signin;
mod sso;
