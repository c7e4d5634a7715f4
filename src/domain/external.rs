//! TEMPORARY STUB (not committed): replaced by the ldap branch's module.
use crate::domain::services::Services;
use crate::error::AppError;
use crate::store::User;

/// Who a source says signed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalIdentity {
    /// Source.
    pub source: String,
    /// Id.
    pub external_id: String,
    /// Name.
    pub username: String,
    /// Display name.
    pub name: Option<String>,
    /// Email.
    pub email: Option<String>,
    /// Admin.
    pub admin: bool,
    /// Groups.
    pub groups: Vec<String>,
}

/// Refusal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExternalRefusal {
    /// Disabled.
    Disabled,
}
impl std::fmt::Display for ExternalRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("disabled")
    }
}

/// Provision.
pub async fn provision(
    services: &Services,
    id: &ExternalIdentity,
) -> Result<Result<User, ExternalRefusal>, AppError> {
    Ok(services
        .store
        .user_by_name(&id.username)
        .await?
        .ok_or(ExternalRefusal::Disabled))
}
