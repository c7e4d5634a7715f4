//! A stored refresh token as a rotation or a lookup returns it (shared by the single path
//! in `tokens` and the group commit in `batch`, so neither imports the other).

/// A stored refresh token.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RefreshInfo {
    /// Family.
    pub family_id: String,
    /// Client it is bound to.
    pub client_id: String,
    /// Owner.
    pub user_id: i64,
    /// Owner's name.
    pub username: String,
    /// Granted scope.
    pub scope: String,
    /// Original authentication time.
    pub auth_time: i64,
    /// Issued at.
    pub created_at: i64,
    /// Expiry.
    pub expires_at: i64,
    /// When it was used (rotated).
    pub spent_at: Option<i64>,
    /// When its family was revoked.
    pub revoked_at: Option<i64>,
}
