//! Refresh families and refresh tokens.
use super::refresh::RefreshInfo;
use super::{Store, StoreError};

/// A new refresh token.
#[derive(Debug, Clone)]
pub struct NewRefresh<'a> {
    /// SHA-256 of the token.
    pub token_hash: &'a [u8],
    /// Family.
    pub family_id: &'a str,
    /// Client it is bound to.
    pub client_id: &'a str,
    /// Owner.
    pub user_id: i64,
    /// Granted scope.
    pub scope: &'a str,
    /// Original authentication time.
    pub auth_time: i64,
    /// Creation.
    pub now: i64,
    /// Expiry.
    pub expires_at: i64,
}

/// Outcome of presenting a refresh token.
#[derive(Debug)]
pub enum Rotation {
    /// Spent and replaced (or, within the reuse grace, given a sibling).
    Rotated(RefreshInfo),
    /// A spent token came back: its family is now revoked.
    Reused {
        /// The revoked family.
        family_id: String,
    },
    /// Unknown, expired, revoked, or bound to another client.
    Invalid,
}

const REFRESH_COLUMNS: &str =
    "r.family_id, r.client_id, r.user_id, u.username, r.scope, r.auth_time,
    r.created_at, r.expires_at, r.spent_at, f.revoked_at";

/// Inserts a refresh token (no parent) inside transaction `$tx`.
macro_rules! insert_refresh {
    ($tx:expr, $r:expr) => {{
        let r: &NewRefresh<'_> = $r;
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, family_id, client_id, user_id, scope,
                 auth_time, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(r.token_hash)
        .bind(r.family_id)
        .bind(r.client_id)
        .bind(r.user_id)
        .bind(r.scope)
        .bind(r.auth_time)
        .bind(r.now)
        .bind(r.expires_at)
        .execute(&mut *$tx)
        .await?;
    }};
}

/// The rotation fast path on SQLite, one statement: the successor is inserted only if its
/// parent is live (its family not revoked and granted under the user's current
/// generation), and the trigger `refresh_tokens_spend_parent` spends the parent in the
/// same statement (statements are atomic, and there is one writer).
const ROTATE_SQLITE: &str = "INSERT INTO refresh_tokens (token_hash, family_id, client_id,
         user_id, scope, auth_time, created_at, expires_at, parent_hash)
     SELECT $1, r.family_id, r.client_id, r.user_id, r.scope, r.auth_time, $2, $3,
         r.token_hash
     FROM refresh_tokens r JOIN refresh_families f ON f.id = r.family_id
         JOIN users u ON u.id = f.user_id
     WHERE r.token_hash = $4 AND r.spent_at IS NULL AND r.client_id = $5
       AND r.expires_at > $2 AND f.revoked_at IS NULL AND f.generation = u.generation
     RETURNING family_id, client_id, user_id,
         (SELECT username FROM users WHERE users.id = user_id) AS username,
         scope, auth_time, created_at, expires_at, NULL AS spent_at, NULL AS revoked_at";

/// The rotation fast path on PostgreSQL, one statement: the row-locking UPDATE spends the
/// parent only if it is live (as on SQLite: the family's generation is checked in the
/// same statement), and the INSERT adds the successor only for a parent it
/// spent. Under READ COMMITTED a concurrent second UPDATE of the same row waits for the
/// first to commit, re-reads the row, finds it spent and inserts nothing: exactly one
/// winner, on any number of instances.
const ROTATE_POSTGRES: &str = "WITH parent AS (
         UPDATE refresh_tokens r SET spent_at = $2
         WHERE r.token_hash = $4 AND r.spent_at IS NULL AND r.client_id = $5
           AND r.expires_at > $2
           AND EXISTS (SELECT 1 FROM refresh_families f JOIN users u ON u.id = f.user_id
                       WHERE f.id = r.family_id AND f.revoked_at IS NULL
                         AND f.generation = u.generation)
         RETURNING r.token_hash, r.family_id, r.client_id, r.user_id, r.scope, r.auth_time)
     INSERT INTO refresh_tokens (token_hash, family_id, client_id, user_id, scope, auth_time,
         created_at, expires_at, parent_hash)
     SELECT $1, family_id, client_id, user_id, scope, auth_time, $2, $3, token_hash FROM parent
     RETURNING family_id, client_id, user_id,
         (SELECT username FROM users WHERE users.id = refresh_tokens.user_id) AS username,
         scope, auth_time, created_at, expires_at, CAST(NULL AS BIGINT) AS spent_at,
         CAST(NULL AS BIGINT) AS revoked_at";

impl Store {
    /// Starts a family and stores its first refresh token, in one transaction. When the
    /// family comes from a code that was replayed meanwhile, it is born revoked (and
    /// `false` is returned). `generation` is the user's generation the grant was checked
    /// under: the family's refresh tokens rotate only while the user still has it (a
    /// password change that ran while this exchange was under way ends the family at its
    /// first refresh).
    pub async fn create_family(
        &self,
        family_id: &str,
        generation: i64,
        first: &NewRefresh<'_>,
        code_hash: Option<&[u8]>,
    ) -> Result<bool, StoreError> {
        let ttl = self.family_event_ttl;
        // fast path: group-committed with the other families waiting (see `family_batch`)
        if let (Some(families), Some(code_hash)) = (&self.families, code_hash) {
            let (reply, answer) = tokio::sync::oneshot::channel();
            let request = super::family_batch::FamilyRequest {
                family_id: family_id.to_string(),
                token_hash: first.token_hash.to_vec(),
                client_id: first.client_id.to_string(),
                user_id: first.user_id,
                generation,
                scope: first.scope.to_string(),
                auth_time: first.auth_time,
                now: first.now,
                expires_at: first.expires_at,
                code_hash: code_hash.to_vec(),
                event_ttl: ttl,
                reply,
            };
            if families.send(request).await.is_ok() {
                match answer.await {
                    Ok(Ok(live)) => return Ok(live),
                    // the batch wrote nothing: write this family on its own
                    Ok(Err(StoreError::BatchFailed)) | Err(_) => {}
                    Ok(Err(e)) => return Err(e),
                }
            }
        }
        with_db!(&self.db, |w, _r, pg| {
            let mut live = true;
            let mut tx = w.begin().await?;
            sqlx::query(
                "INSERT INTO refresh_families (id, user_id, client_id, created_at, generation)
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(family_id)
            .bind(first.user_id)
            .bind(first.client_id)
            .bind(first.now)
            .bind(generation)
            .execute(&mut *tx)
            .await?;
            insert_refresh!(tx, first);
            if let Some(code_hash) = code_hash {
                // the code's row lock (PostgreSQL) or the single writer (SQLite) orders
                // this against a concurrent replay of the code (see `consume_code`)
                let replayed: Option<(Option<i64>,)> = sqlx::query_as(
                    "UPDATE authorization_codes SET family_id = $1 WHERE code_hash = $2
                     RETURNING replayed_at",
                )
                .bind(family_id)
                .bind(code_hash)
                .fetch_optional(&mut *tx)
                .await?;
                if let Some((Some(_),)) = replayed {
                    revoke_family_in!(tx, pg, family_id, first.now, ttl);
                    live = false;
                }
            }
            tx.commit().await?;
            Ok(live)
        })
    }

    /// Revokes a family: its refresh tokens stop working, and its access tokens fail
    /// validation (through the event log).
    pub async fn revoke_family(&self, family_id: &str, now: i64) -> Result<(), StoreError> {
        let ttl = self.family_event_ttl;
        with_db!(&self.db, |w, _r, pg| {
            let mut tx = w.begin().await?;
            revoke_family_in!(tx, pg, family_id, now, ttl);
            tx.commit().await?;
        });
        Ok(())
    }

    /// Whether a family is revoked (unknown families count as revoked).
    pub async fn family_revoked(&self, family_id: &str) -> Result<bool, StoreError> {
        let row: Option<(Option<i64>,)> = with_db!(&self.db, |_w, r, _pg| sqlx::query_as(
            "SELECT revoked_at FROM refresh_families WHERE id = $1"
        )
        .bind(family_id)
        .fetch_optional(r)
        .await?);
        Ok(!matches!(row, Some((None,))))
    }

    /// A refresh token by hash.
    pub async fn refresh_info(&self, token_hash: &[u8]) -> Result<Option<RefreshInfo>, StoreError> {
        let sql = format!(
            "SELECT {REFRESH_COLUMNS} FROM refresh_tokens r
             JOIN refresh_families f ON f.id = r.family_id JOIN users u ON u.id = r.user_id
             WHERE r.token_hash = $1"
        );
        Ok(with_db!(&self.db, |_w, r, _pg| sqlx::query_as::<
            _,
            RefreshInfo,
        >(&sql)
        .bind(token_hash)
        .fetch_optional(r)
        .await?))
    }

    /// Rotates a refresh token atomically: of concurrent presentations of one live token
    /// exactly one wins, across every process on the database; the others see a spent
    /// token (reuse, or within `grace` a sibling that replaces the family's live token).
    /// A family granted under another generation of its user than the current one does
    /// not rotate (checked in the rotating statement itself).
    pub async fn rotate_refresh(
        &self,
        old_hash: &[u8],
        client_id: &str,
        new_hash: &[u8],
        now: i64,
        grace: i64,
        lifetime: i64,
    ) -> Result<Rotation, StoreError> {
        let ttl = self.family_event_ttl;
        let select = format!(
            "SELECT {REFRESH_COLUMNS} FROM refresh_tokens r
             JOIN refresh_families f ON f.id = r.family_id JOIN users u ON u.id = r.user_id
             WHERE r.token_hash = $1"
        );
        // fast path: group-committed with the other rotations waiting (see `batch`)
        let mut batched = false;
        if let Some(rotations) = &self.rotations {
            let (reply, answer) = tokio::sync::oneshot::channel();
            let request = super::batch::RotateRequest {
                old_hash: old_hash.to_vec(),
                client_id: client_id.to_string(),
                new_hash: new_hash.to_vec(),
                now,
                expires_at: now.saturating_add(lifetime),
                reply,
            };
            if rotations.send(request).await.is_ok() {
                match answer.await {
                    Ok(Ok(Some(info))) => return Ok(Rotation::Rotated(info)),
                    Ok(Ok(None)) => batched = true,
                    Ok(Err(StoreError::BatchFailed)) | Err(_) => {}
                    Ok(Err(e)) => return Err(e),
                }
            }
        }
        with_db!(&self.db, |w, _r, pg| {
            if !batched {
                let rotated = sqlx::query_as::<_, RefreshInfo>(if pg {
                    ROTATE_POSTGRES
                } else {
                    ROTATE_SQLITE
                })
                .bind(new_hash)
                .bind(now)
                .bind(now.saturating_add(lifetime))
                .bind(old_hash)
                .bind(client_id)
                .fetch_optional(w)
                .await?;
                if let Some(info) = rotated {
                    return Ok(Rotation::Rotated(info));
                }
            }
            // slow path: unknown, expired, other client, revoked, or spent (reuse or grace)
            let mut tx = w.begin().await?;
            // the UPDATE takes SQLite's write lock (PostgreSQL: the row's lock) first, so
            // everything after it in this transaction sees the latest state
            let spent = sqlx::query(
                "UPDATE refresh_tokens SET spent_at = $1
                 WHERE token_hash = $2 AND spent_at IS NULL AND client_id = $3
                   AND expires_at > $1",
            )
            .bind(now)
            .bind(old_hash)
            .bind(client_id)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            let Some(info) = sqlx::query_as::<_, RefreshInfo>(&select)
                .bind(old_hash)
                .fetch_optional(&mut *tx)
                .await?
            else {
                return Ok(Rotation::Invalid);
            };
            // the family must have been granted under the user's current generation (a
            // password change or disable since, even one the family escaped, ends it)
            let current: Option<(i64,)> = sqlx::query_as(
                "SELECT f.generation FROM refresh_families f JOIN users u ON u.id = f.user_id
                 WHERE f.id = $1 AND f.generation = u.generation",
            )
            .bind(&info.family_id)
            .fetch_optional(&mut *tx)
            .await?;
            if info.revoked_at.is_some()
                || info.client_id != client_id
                || info.expires_at <= now
                || current.is_none()
            {
                tx.commit().await?;
                return Ok(Rotation::Invalid);
            }
            if !spent {
                let spent_at = info.spent_at.unwrap_or(now);
                if grace <= 0 || now.saturating_sub(spent_at) > grace {
                    revoke_family_in!(tx, pg, &info.family_id, now, ttl);
                    tx.commit().await?;
                    return Ok(Rotation::Reused {
                        family_id: info.family_id,
                    });
                }
                // within the grace (a client retrying a refresh whose answer it never got,
                // or two tabs refreshing at once): the new token replaces every live token
                // of the family, so a family never has two live chains. Whoever holds a
                // replaced token meets reuse detection with it after the grace: a thief
                // racing the client cannot keep a second chain. PostgreSQL: the family's
                // row lock orders concurrent presentations (the later one then sees and
                // spends the earlier one's token); SQLite has one writer. NO KEY UPDATE,
                // not FOR UPDATE: a plain rotation, holding the row of the token it spent,
                // takes KEY SHARE on the family's row for its insert's foreign key, while
                // this transaction's next statement may wait for that token's row; FOR
                // UPDATE would block the KEY SHARE, a deadlock (PostgreSQL aborts one).
                if pg {
                    sqlx::query("SELECT id FROM refresh_families WHERE id = $1 FOR NO KEY UPDATE")
                        .bind(&info.family_id)
                        .execute(&mut *tx)
                        .await?;
                }
                // A live family has one live token. Finding none means (PostgreSQL) that a
                // rotation of it committed while this statement waited for its row lock,
                // and its successor is visible only to the next statement: look again.
                for _ in 0..3 {
                    let replaced = sqlx::query(
                        "UPDATE refresh_tokens SET spent_at = $1
                         WHERE family_id = $2 AND spent_at IS NULL",
                    )
                    .bind(now)
                    .bind(&info.family_id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    if replaced > 0 {
                        break;
                    }
                }
            }
            insert_refresh!(
                tx,
                &NewRefresh {
                    token_hash: new_hash,
                    family_id: &info.family_id,
                    client_id,
                    user_id: info.user_id,
                    scope: &info.scope,
                    auth_time: info.auth_time,
                    now,
                    expires_at: now.saturating_add(lifetime),
                }
            );
            tx.commit().await?;
            Ok(Rotation::Rotated(info))
        })
    }
}
