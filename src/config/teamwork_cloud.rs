//! Keys of a Teamwork Cloud `authserver.properties` that authserver does not read.
//!
//! A site moving from Teamwork Cloud's authentication server copies its properties file
//! as it is. Some of its keys configure Teamwork Cloud's own deployment (its Cassandra
//! database, the Java server's logging and key store formats): they have no meaning here,
//! and a "did you mean" for them would point at an unrelated key. Those are named once, in
//! one warning that says why they are ignored. Others name Teamwork Cloud features that
//! authserver does not have yet: each gets a warning naming the issue, again without a
//! suggestion. Keys authserver knows (the table) are never looked up here.

/// A key (`name`) or a family of keys (`prefix.*`) and why authserver ignores it.
#[derive(Debug)]
pub(super) struct ForeignKey {
    /// `cassandra.*` (every key under `cassandra.`) or an exact key.
    pub(super) pattern: &'static str,
    /// Why it does not apply, or what it is waiting for.
    pub(super) reason: &'static str,
}

impl ForeignKey {
    /// Whether `key` is this key or in this family.
    pub(super) fn matches(&self, key: &str) -> bool {
        match self.pattern.strip_suffix('*') {
            Some(prefix) => key.starts_with(prefix),
            None => key == self.pattern,
        }
    }
}

const fn foreign(pattern: &'static str, reason: &'static str) -> ForeignKey {
    ForeignKey { pattern, reason }
}

/// Keys of Teamwork Cloud's own deployment: ignored, with the reason.
pub(super) const DEPLOYMENT: &[ForeignKey] = &[
    foreign(
        "cassandra.*",
        "Teamwork Cloud's Cassandra database; authserver keeps its users and tokens in \
         database.url",
    ),
    foreign(
        "logging.config",
        "the Java server's Logback file; authserver logs as logging.format and logging.level say",
    ),
    foreign(
        "authentication.server.key-store-type",
        "authserver reads PKCS#12 key stores only (convert a JKS store with keytool), so there \
         is nothing to choose",
    ),
    foreign(
        "server.ssl.key-store*",
        "the Java server's TLS key store; authserver serves TLS from PEM files \
         (server.ssl.certificate, server.ssl.key)",
    ),
    foreign(
        "server.ssl.key-alias",
        "the Java server's TLS key store; authserver serves TLS from PEM files \
         (server.ssl.certificate, server.ssl.key)",
    ),
    foreign(
        "server.ssl.key-password",
        "the Java server's TLS key store; authserver serves TLS from PEM files \
         (server.ssl.certificate, server.ssl.key)",
    ),
    foreign(
        "server.ssl.trust-store*",
        "the Java server's trust store; authserver reads the CA certificates of smart-card \
         login from a PEM file (authentication.certificate.trust.anchors)",
    ),
    foreign(
        "server.ssl.client-auth",
        "authserver asks for a client certificate (Teamwork Cloud's want) whenever \
         authentication.certificate.enabled, and never requires one",
    ),
];

/// Teamwork Cloud features authserver does not support yet: ignored, naming the issue.
pub(super) const NOT_YET: &[ForeignKey] = &[];

/// The deployment entry `key` falls under, if any.
pub(super) fn deployment_key(key: &str) -> Option<&'static ForeignKey> {
    DEPLOYMENT.iter().find(|k| k.matches(key))
}

/// The not-yet-supported entry `key` falls under, if any.
pub(super) fn not_yet_key(key: &str) -> Option<&'static ForeignKey> {
    NOT_YET.iter().find(|k| k.matches(key))
}
