//! Keys from files: PEM (PKCS#8, PKCS#1, SEC1), PKCS#12 key stores, and the signing key
//! configured in the properties file.
use aws_lc_rs::rsa::KeyPair as RsaKeyPair;
use aws_lc_rs::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};

use super::kind::{ec_kind, pkcs8_kind, sec1_curve, KeyKind, DER_SEQUENCE};
use super::signing::rsa_rejected;
use super::{KeyError, SigningKey};
use crate::config::{Settings, SigningAlgorithm};

/// What `alg` needs, for error messages.
fn key_needed_for(alg: SigningAlgorithm) -> &'static str {
    match alg {
        SigningAlgorithm::RS256 | SigningAlgorithm::PS256 => "an RSA key",
        SigningAlgorithm::ES256 => "a P-256 EC key",
        SigningAlgorithm::EdDSA => "an Ed25519 key",
    }
}

/// A private key read from a PEM file or a PKCS#12 key store.
#[derive(Clone)]
pub struct ImportedKey {
    /// What kind of key it is.
    pub kind: KeyKind,
    /// The key as PKCS#8 DER (what [`SigningKey::from_pkcs8`] takes).
    pub pkcs8: Vec<u8>,
}

impl std::fmt::Debug for ImportedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportedKey")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl ImportedKey {
    /// The signing key for `alg`, or why this key cannot be one (no file named: the
    /// caller adds that).
    pub fn signing_key(
        &self,
        alg: SigningAlgorithm,
        kid: Option<String>,
    ) -> Result<SigningKey, String> {
        if !self.kind.fits(alg) {
            let hint = match self.kind.algorithms() {
                Some(fitting) => format!(
                    "; set authentication.signing.algorithm = {fitting}, or configure {}",
                    key_needed_for(alg)
                ),
                None => String::new(),
            };
            return Err(format!(
                "holds {}, but authentication.signing.algorithm = {alg} needs {}{hint}",
                self.kind.describe(),
                key_needed_for(alg)
            ));
        }
        SigningKey::from_pkcs8(&self.pkcs8, alg, kid).map_err(|e| match e {
            KeyError::Invalid(why) => format!("the key cannot be used: {why}"),
            other => other.to_string(),
        })
    }
}

/// Imports a PKCS#8 private key (as found in a `PRIVATE KEY` block or a PKCS#12 bag).
pub fn import_pkcs8(der: &[u8]) -> Result<ImportedKey, String> {
    let kind = pkcs8_kind(der)?;
    Ok(ImportedKey {
        kind,
        pkcs8: der.to_vec(),
    })
}

const DECRYPT_HINT: &str = "decrypt it first (openssl pkey -in KEY.pem -out plain.pem) and \
                            protect the plain file with file permissions instead";

/// Parses the text of a PEM key file: `PRIVATE KEY` (PKCS#8: RSA, P-256, Ed25519),
/// `RSA PRIVATE KEY` (PKCS#1) or `EC PRIVATE KEY` (SEC1). Other blocks (certificates,
/// `EC PARAMETERS`) are skipped; exactly one private key must be present. The error is
/// the reason only (the caller names the file).
pub fn parse_pem_private_key(text: &[u8]) -> Result<ImportedKey, String> {
    let blocks = pem::parse_many(text).map_err(|e| format!("not a valid PEM file: {e}"))?;
    if blocks.is_empty() {
        return Err(if text.first() == Some(&DER_SEQUENCE) {
            "not a PEM file (binary DER; a PKCS#12 key store belongs in \
             authentication.server.key-store)"
                .into()
        } else {
            "not a PEM file (no -----BEGIN line)".into()
        });
    }
    let mut keys = Vec::new();
    for block in &blocks {
        match block.tag() {
            "ENCRYPTED PRIVATE KEY" => {
                return Err(format!(
                    "the key is encrypted (ENCRYPTED PRIVATE KEY), which is not supported; \
                     {DECRYPT_HINT}"
                ))
            }
            "PRIVATE KEY" | "RSA PRIVATE KEY" | "EC PRIVATE KEY" => {
                if block
                    .headers()
                    .get("Proc-Type")
                    .is_some_and(|v| v.contains("ENCRYPTED"))
                {
                    return Err(format!(
                        "the key is encrypted (Proc-Type: 4,ENCRYPTED), which is not \
                         supported; {DECRYPT_HINT}"
                    ));
                }
                keys.push(block);
            }
            _ => {}
        }
    }
    let block = match keys.as_slice() {
        [one] => *one,
        [] => {
            let tags: Vec<&str> = blocks.iter().map(pem::Pem::tag).collect();
            return Err(format!(
                "holds no private key (found {}); expected PRIVATE KEY, RSA PRIVATE KEY or \
                 EC PRIVATE KEY",
                tags.join(", ")
            ));
        }
        many => {
            return Err(format!(
                "holds {} private keys; put only the signing key in the file",
                many.len()
            ))
        }
    };
    let der = block.contents();
    match block.tag() {
        "RSA PRIVATE KEY" => {
            use aws_lc_rs::encoding::AsDer;
            let pair = RsaKeyPair::from_der(der)
                .map_err(|e| rsa_rejected("not a valid PKCS#1 RSA private key", &e))?;
            let pkcs8 = pair
                .as_der()
                .map_err(|_| "cannot re-encode the RSA key as PKCS#8".to_string())?;
            Ok(ImportedKey {
                kind: KeyKind::Rsa,
                pkcs8: pkcs8.as_ref().to_vec(),
            })
        }
        "EC PRIVATE KEY" => {
            let kind = match sec1_curve(der) {
                Some(curve) => ec_kind(Some(curve)),
                // no named curve: accept it if it parses as P-256
                None => KeyKind::P256,
            };
            if kind != KeyKind::P256 {
                // an unsupported curve: reported (with the configured algorithm) by
                // `signing_key`, which never gets to the empty key material
                return Ok(ImportedKey {
                    kind,
                    pkcs8: Vec::new(),
                });
            }
            let pair = EcdsaKeyPair::from_private_key_der(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
                .map_err(|e| format!("not a valid P-256 EC PRIVATE KEY: {e}"))?;
            let pkcs8 = pair
                .to_pkcs8v1()
                .map_err(|_| "cannot re-encode the EC key as PKCS#8".to_string())?;
            Ok(ImportedKey {
                kind,
                pkcs8: pkcs8.as_ref().to_vec(),
            })
        }
        _ => import_pkcs8(der),
    }
}

/// Reads the private key from a PKCS#12 (`.p12`/`.pfx`) key store: the entry `alias`, or
/// the only private key entry when `alias` is `None`. Returns the alias used and the
/// key. The error is the reason only (the caller names the file).
pub fn parse_pkcs12(
    data: &[u8],
    password: &str,
    alias: Option<&str>,
) -> Result<(String, ImportedKey), String> {
    use p12_keystore::error::Error as P12Error;
    use p12_keystore::{KeyStore, KeyStoreEntry, Pkcs12ImportPolicy};
    match data.get(..4) {
        Some([0xfe, 0xed, 0xfe, 0xed]) | Some([0xce, 0xce, 0xce, 0xce]) => {
            return Err(
                "is a Java JKS/JCEKS key store, not PKCS#12; convert it with \
                        keytool -importkeystore -srckeystore FILE -destkeystore FILE.p12 \
                        -deststoretype PKCS12"
                    .into(),
            )
        }
        _ => {}
    }
    if data.first() == Some(&b'-') {
        return Err(
            "is a PEM file, not a PKCS#12 key store (a PEM key belongs in \
                    authentication.signing.key)"
                .into(),
        );
    }
    let store = KeyStore::from_pkcs12(data, password, Pkcs12ImportPolicy::Relaxed).map_err(
        |e| match e {
            P12Error::MacError(_)
            | P12Error::UnpadError
            | P12Error::Pkcs5Error(_)
            | P12Error::InvalidData
            | P12Error::InvalidLength => "wrong password or corrupt file".to_string(),
            P12Error::DerError(_) | P12Error::InvalidVersion | P12Error::UnsupportedContentType => {
                format!("not a PKCS#12 key store ({e})")
            }
            P12Error::UnsupportedEncryptionScheme | P12Error::UnsupportedMacAlgorithm => {
                format!("the key store uses an unsupported protection scheme ({e})")
            }
            other => format!("cannot read the key store: {other}"),
        },
    )?;
    let with_keys: Vec<(&String, &p12_keystore::PrivateKeyChain)> = store
        .entries()
        .filter_map(|(name, entry)| match entry {
            KeyStoreEntry::PrivateKeyChain(chain) => Some((name, chain)),
            _ => None,
        })
        .collect();
    let quoted = |names: &mut dyn Iterator<Item = &String>| {
        let list: Vec<String> = names.map(|n| format!("\"{n}\"")).collect();
        if list.is_empty() {
            "none".to_string()
        } else {
            list.join(", ")
        }
    };
    let (name, chain) = match alias {
        Some(wanted) => {
            let exact = with_keys.iter().find(|(name, _)| name.as_str() == wanted);
            // Java treats key store aliases case-insensitively
            let found = exact.or_else(|| {
                let mut similar = with_keys
                    .iter()
                    .filter(|(name, _)| name.eq_ignore_ascii_case(wanted));
                match (similar.next(), similar.next()) {
                    (Some(one), None) => Some(one),
                    _ => None,
                }
            });
            match found {
                Some(&(name, chain)) => (name.clone(), chain),
                None if store.entry(wanted).is_some() => {
                    return Err(format!(
                        "entry \"{wanted}\" (authentication.server.key-alias) holds no \
                         private key; entries with a private key: {}",
                        quoted(&mut with_keys.iter().map(|(n, _)| *n))
                    ))
                }
                None => {
                    return Err(format!(
                        "no entry \"{wanted}\" (authentication.server.key-alias); entries \
                         with a private key: {}",
                        quoted(&mut with_keys.iter().map(|(n, _)| *n))
                    ))
                }
            }
        }
        None => match with_keys.as_slice() {
            [(name, chain)] => ((*name).clone(), *chain),
            [] => {
                return Err(format!(
                    "holds no private key (entries: {})",
                    quoted(&mut store.entries().map(|(n, _)| n))
                ))
            }
            many => {
                return Err(format!(
                    "holds {} private keys ({}); choose one with \
                     authentication.server.key-alias",
                    many.len(),
                    quoted(&mut many.iter().map(|(n, _)| *n))
                ))
            }
        },
    };
    let key = import_pkcs8(chain.key().as_der()).map_err(|e| format!("entry \"{name}\": {e}"))?;
    Ok((name, key))
}

/// Reads a PEM key file and returns the key as PKCS#8 DER.
pub fn read_pem_key(path: &std::path::Path) -> Result<Vec<u8>, KeyError> {
    let text = std::fs::read(path).map_err(|err| KeyError::Unreadable {
        key: "authentication.signing.key",
        path: path.display().to_string(),
        err,
    })?;
    parse_pem_private_key(&text)
        .map(|k| k.pkcs8)
        .map_err(|why| {
            KeyError::Invalid(format!(
                "authentication.signing.key: {}: {why}",
                path.display()
            ))
        })
}

/// The signing key configured in the properties file (`authentication.signing.key` or
/// `authentication.server.key-store`), if any. Errors are one line naming the properties
/// file, the key and the file it points at.
pub fn configured_key(settings: &Settings) -> Result<Option<SigningKey>, KeyError> {
    let auth = &settings.auth;
    let source = settings.source.display();
    let alg = auth.signing_algorithm;
    let kid = auth.signing_kid.clone();
    let read = |key: &str, path: &std::path::Path| {
        std::fs::read(path).map_err(|err| {
            KeyError::Config(format!(
                "{source}: {key} {}: cannot read the file: {err}",
                path.display()
            ))
        })
    };
    match (&auth.signing_key, &auth.key_store) {
        (Some(pem_path), Some(store_path)) => Err(KeyError::Config(format!(
            "{source}: authentication.signing.key {} and authentication.server.key-store {} \
             are both set; configure only one signing key",
            pem_path.display(),
            store_path.display()
        ))),
        (Some(path), None) => {
            const KEY: &str = "authentication.signing.key";
            let failed = |why: String| {
                KeyError::Config(format!("{source}: {KEY} {}: {why}", path.display()))
            };
            let imported = parse_pem_private_key(&read(KEY, path)?).map_err(failed)?;
            let key = imported.signing_key(alg, kid).map_err(failed)?;
            tracing::info!(kid = %key.kid, alg = %alg, file = %path.display(), "using the configured signing key");
            Ok(Some(key))
        }
        (None, Some(path)) => {
            const KEY: &str = "authentication.server.key-store";
            let failed = |why: String| {
                KeyError::Config(format!("{source}: {KEY} {}: {why}", path.display()))
            };
            let password = auth
                .key_store_password
                .as_ref()
                .map(|p| p.expose())
                .unwrap_or_default();
            let (alias, imported) =
                parse_pkcs12(&read(KEY, path)?, password, auth.key_alias.as_deref())
                    .map_err(failed)?;
            let key = imported
                .signing_key(alg, kid)
                .map_err(|why| failed(format!("entry \"{alias}\" {why}")))?;
            tracing::info!(kid = %key.kid, alg = %alg, file = %path.display(), alias = %alias, "using the signing key from the key store");
            Ok(Some(key))
        }
        (None, None) => {
            if auth.signing_kid.is_some() {
                tracing::warn!(
                    "authentication.signing.kid is ignored: it names the kid of an imported \
                     key (authentication.signing.key or authentication.server.key-store)"
                );
            }
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests;
