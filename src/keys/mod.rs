//! Signing keys: generation, import, rotation, the JWKS, and signing/verifying JWTs.
//!
//! Signing uses aws-lc-rs directly with the parsed key pair kept in memory (parsing the
//! key costs more than the signature itself); verification goes through `jsonwebtoken`.
//!
//! One concern per file:
//! - [`signing`]: a key pair ([`SigningKey`]) built from PKCS#8 and the compact JWS it signs;
//! - [`generate`]: fresh keys for `keys rotate` and first start;
//! - [`kind`] and [`import`]: what a key file holds (DER, PEM, PKCS#12) and the key
//!   configured in the properties file;
//! - [`ring`]: the set of keys in force ([`KeyRing`], with the JWKS) and the
//!   [`KeyManager`] that loads, reloads and rotates it;
//! - [`verify`]: JWT verification against the ring, with the verified-token cache.
use crate::store::StoreError;

pub mod generate;
pub mod import;
pub mod kind;
pub mod ring;
pub mod signing;
pub mod verify;

pub use import::{
    configured_key, import_pkcs8, parse_pem_private_key, parse_pkcs12, read_pem_key, ImportedKey,
};
pub use kind::KeyKind;
pub use ring::{KeyManager, KeyRing};
pub use signing::SigningKey;
pub use verify::VerifyError;

/// Key handling failures.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The key material cannot be parsed or used.
    #[error("signing key: {0}")]
    Invalid(String),
    /// The configured key cannot be used: a complete one-line message naming the
    /// properties file, the key and the file it points at.
    #[error("{0}")]
    Config(String),
    /// The configured key file cannot be read.
    #[error("{key}: cannot read {path}: {err}")]
    Unreadable {
        /// properties key naming the file
        key: &'static str,
        /// the path
        path: String,
        /// the I/O error
        err: std::io::Error,
    },
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A JSON serialisation failed.
    #[error("serialising a token: {0}")]
    Json(#[from] serde_json::Error),
}
