//! Device authorization requests (RFC 8628): created by the device endpoint, decided on the
//! verification page, polled and consumed at the token endpoint. Only hashes of the
//! device code and of the user code are stored.
use super::{Store, StoreError};

/// The extra seconds each `slow_down` adds to a request's polling interval (RFC 8628 §3.5).
pub const SLOW_DOWN_STEP: i64 = 5;

/// A new device authorization request.
#[derive(Debug, Clone)]
pub struct NewDeviceRequest<'a> {
    /// SHA-256 of the device code.
    pub device_code_hash: &'a [u8],
    /// SHA-256 of the normalised user code.
    pub user_code_hash: &'a [u8],
    /// The client that asked.
    pub client_id: &'a str,
    /// Requested scope.
    pub scope: &'a str,
    /// Polling interval, seconds.
    pub interval: i64,
    /// Creation time.
    pub now: i64,
    /// Expiry.
    pub expires_at: i64,
}

/// A pending request as the verification page and the CLI show it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PendingDevice {
    /// The client that asked.
    pub client_id: String,
    /// Requested scope.
    pub scope: String,
    /// Creation time.
    pub created_at: i64,
    /// Expiry.
    pub expires_at: i64,
}

/// What one poll found (the poll itself is recorded).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DevicePoll {
    /// The client the request belongs to.
    pub client_id: String,
    /// `pending`, `approved` or `denied`.
    pub status: String,
    /// The interval now in force (raised if this poll came too early).
    pub poll_interval: i64,
    /// This poll came before the interval had passed (and raised it).
    pub too_fast: bool,
    /// Expiry.
    pub expires_at: i64,
}

/// An approved request, consumed.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeviceGrant {
    /// The client it was approved for.
    pub client_id: String,
    /// Granted scope.
    pub scope: String,
    /// The user who approved.
    pub user_id: Option<i64>,
    /// When that user authenticated.
    pub auth_time: Option<i64>,
    /// The user's generation at approval.
    pub generation: Option<i64>,
}

impl Store {
    /// Stores a new request. A user code already in use is a [`StoreError::Conflict`] (the
    /// caller draws another).
    pub async fn create_device_request(&self, r: NewDeviceRequest<'_>) -> Result<(), StoreError> {
        with_db!(&self.db, |w, _r, _pg| sqlx::query(
            "INSERT INTO device_requests (device_code_hash, user_code_hash, client_id, scope,
                 poll_interval, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(r.device_code_hash)
        .bind(r.user_code_hash)
        .bind(r.client_id)
        .bind(r.scope)
        .bind(r.interval)
        .bind(r.now)
        .bind(r.expires_at)
        .execute(w)
        .await
        .map_err(|e| StoreError::on_unique(e, "user code"))?
        .rows_affected());
        Ok(())
    }

    /// The pending, unexpired request with this user code.
    pub async fn pending_device(
        &self,
        user_code_hash: &[u8],
        now: i64,
    ) -> Result<Option<PendingDevice>, StoreError> {
        Ok(with_db!(&self.db, |_w, r, _pg| sqlx::query_as::<
            _,
            PendingDevice,
        >(
            "SELECT client_id, scope, created_at, expires_at FROM device_requests
             WHERE user_code_hash = $1 AND status = 'pending' AND expires_at > $2",
        )
        .bind(user_code_hash)
        .bind(now)
        .fetch_optional(r)
        .await?))
    }

    /// Every pending, unexpired request, oldest first (for the CLI).
    pub async fn pending_devices(&self, now: i64) -> Result<Vec<PendingDevice>, StoreError> {
        Ok(with_db!(&self.db, |_w, r, _pg| sqlx::query_as::<
            _,
            PendingDevice,
        >(
            "SELECT client_id, scope, created_at, expires_at FROM device_requests
             WHERE status = 'pending' AND expires_at > $1 ORDER BY created_at",
        )
        .bind(now)
        .fetch_all(r)
        .await?))
    }

    /// Approves (with the user) or denies a pending, unexpired request; `false` if it is no
    /// longer pending (decided meanwhile, or expired).
    pub async fn decide_device(
        &self,
        user_code_hash: &[u8],
        approve: bool,
        user: (i64, i64, i64),
        now: i64,
    ) -> Result<bool, StoreError> {
        let (user_id, auth_time, generation) = user;
        let status = if approve { "approved" } else { "denied" };
        let changed = with_db!(&self.db, |w, _r, _pg| {
            sqlx::query(
            "UPDATE device_requests SET status = $1, user_id = $2, auth_time = $3, generation = $4
             WHERE user_code_hash = $5 AND status = 'pending' AND expires_at > $6",
        )
        .bind(status)
        .bind(user_id)
        .bind(auth_time)
        .bind(generation)
        .bind(user_code_hash)
        .bind(now)
        .execute(w)
        .await?
        .rows_affected()
        });
        Ok(changed > 0)
    }

    /// Records a poll of an unconsumed request in one statement and returns what it found:
    /// a poll of a pending request that comes less than the interval after the previous
    /// one raises the interval by [`SLOW_DOWN_STEP`]. `unsaved`: seconds of raises this
    /// process answered from memory since (added to the interval). `None`: unknown or
    /// already used.
    pub async fn poll_device(
        &self,
        device_code_hash: &[u8],
        unsaved: i64,
        now: i64,
    ) -> Result<Option<DevicePoll>, StoreError> {
        // the right-hand sides all read the row as it was before this statement
        Ok(with_db!(&self.db, |w, _r, _pg| sqlx::query_as::<
            _,
            DevicePoll,
        >(
            "UPDATE device_requests SET
                 too_fast = (status = 'pending' AND last_poll_at IS NOT NULL
                             AND $1 - last_poll_at < poll_interval),
                 poll_interval = CASE WHEN status = 'pending' AND last_poll_at IS NOT NULL
                                           AND $1 - last_poll_at < poll_interval
                                      THEN poll_interval + $3 ELSE poll_interval END + $4,
                 last_poll_at = $1
             WHERE device_code_hash = $2 AND consumed_at IS NULL
             RETURNING client_id, status, poll_interval, too_fast, expires_at",
        )
        .bind(now)
        .bind(device_code_hash)
        .bind(SLOW_DOWN_STEP)
        .bind(unsaved)
        .fetch_optional(w)
        .await?))
    }

    /// Consumes an approved, unexpired request atomically: of two concurrent calls exactly
    /// one gets it.
    pub async fn consume_device(
        &self,
        device_code_hash: &[u8],
        now: i64,
    ) -> Result<Option<DeviceGrant>, StoreError> {
        Ok(with_db!(&self.db, |w, _r, _pg| sqlx::query_as::<
            _,
            DeviceGrant,
        >(
            "UPDATE device_requests SET consumed_at = $1
             WHERE device_code_hash = $2 AND status = 'approved' AND consumed_at IS NULL
               AND expires_at > $1
             RETURNING client_id, scope, user_id, auth_time, generation",
        )
        .bind(now)
        .bind(device_code_hash)
        .fetch_optional(w)
        .await?))
    }
}
