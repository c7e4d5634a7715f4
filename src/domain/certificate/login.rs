//! A certificate sign-in: verify, read the names, provision the just-in-time user.
use crate::domain::external::{self, ExternalIdentity, ExternalRefusal};
use crate::domain::services::Services;
use crate::error::AppError;
use crate::store::User;

use super::{CertificateRefusal, Presented};

/// The `source` of users made by certificate sign-ins.
pub const SOURCE: &str = "certificate";

/// Why a certificate sign-in did not sign anyone in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// The certificate itself.
    Certificate(CertificateRefusal),
    /// The user it names (disabled, name taken…).
    User(ExternalRefusal),
}

impl Refused {
    /// The explanation for the person signing in.
    pub fn message(&self) -> String {
        match self {
            Refused::Certificate(c) => c.message(),
            Refused::User(u) => u.message(),
        }
    }
}

/// Verifies the presented certificate and signs its user in: a user of source
/// `certificate` whose external id is the user name the certificate gives (so a renewed
/// card with the same names is the same user), created at the first sign-in, its display
/// name and e-mail updated at each. A certificate says nothing about administrators: a
/// new user is not one, and an existing user keeps the flag an administrator gave it.
pub async fn sign_in(
    services: &Services,
    presented: &Presented,
) -> Result<Result<User, Refused>, AppError> {
    let Some(auth) = services.certificates.as_deref() else {
        return Ok(Err(Refused::Certificate(CertificateRefusal::NotPresented)));
    };
    let names = match auth.verify(presented, services.now()) {
        Ok(names) => names,
        Err(refusal) => {
            crate::metrics::login_failed("certificate");
            tracing::info!(target: "authserver::audit", reason = refusal.kind(), "certificate sign-in refused");
            return Ok(Err(Refused::Certificate(refusal)));
        }
    };
    let admin = services
        .store
        .user_by_external(SOURCE, &names.username)
        .await?
        .is_some_and(|u| u.admin);
    let identity = ExternalIdentity {
        source: SOURCE.to_string(),
        external_id: names.username.clone(),
        username: names.username,
        name: Some(names.display_name),
        email: names.email,
        admin,
        groups: Vec::new(),
    };
    Ok(external::provision(services, &identity)
        .await?
        .map_err(Refused::User))
}
