//! Integration tests: one binary, the real server over real HTTP.
mod cli;
mod config_errors;
mod discovery;
mod helpers;
mod keys;
mod signin;
