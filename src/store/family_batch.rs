//! Group commit of new refresh families (the authorization-code exchange).
//!
//! A new family is three writes in one transaction: the family, its first refresh token,
//! and the code's link to the family (which a replay of the code follows to revoke it).
//! Alone, that is five round trips to SQLite's single writer per exchange, and the writer,
//! not the cores, set the pace of the code grant. The batcher takes every family waiting
//! when the previous batch is done and writes them all in one transaction of three
//! multi-row statements. A code replayed while its exchange ran still gets its family,
//! born revoked, exactly as on the single path (`Store::create_family`). If the
//! transaction fails as a whole, nothing was written and every caller retries on its own.
use tokio::sync::{mpsc, oneshot};

use super::{Db, StoreError};

/// Most families in one transaction (8 parameters per row in the widest statement).
const MAX_BATCH: usize = 64;

/// One new family waiting for the writer.
pub(crate) struct FamilyRequest {
    pub(crate) family_id: String,
    pub(crate) token_hash: Vec<u8>,
    pub(crate) client_id: String,
    pub(crate) user_id: i64,
    /// the user's generation the grant was checked under
    pub(crate) generation: i64,
    pub(crate) scope: String,
    pub(crate) auth_time: i64,
    pub(crate) now: i64,
    pub(crate) expires_at: i64,
    pub(crate) code_hash: Vec<u8>,
    /// how long a revocation event of this family must be kept
    pub(crate) event_ttl: i64,
    /// `Ok(true)`: created live; `Ok(false)`: created revoked (its code was replayed)
    pub(crate) reply: oneshot::Sender<Result<bool, StoreError>>,
}

/// Starts the batcher; new families go through the returned sender.
pub(crate) fn start(db: Db) -> mpsc::Sender<FamilyRequest> {
    let (tx, rx) = mpsc::channel(4096);
    tokio::spawn(run(db, rx));
    tx
}

async fn run(db: Db, mut rx: mpsc::Receiver<FamilyRequest>) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(req) => batch.push(req),
                Err(_) => break,
            }
        }
        match write(&db, &batch).await {
            Ok(revoked) => {
                for req in batch {
                    let live = !revoked.contains(&req.family_id);
                    let _ = req.reply.send(Ok(live));
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, size = batch.len(), "batched family creation failed");
                for req in batch {
                    let _ = req.reply.send(Err(StoreError::BatchFailed));
                }
            }
        }
    }
}

/// `($1, $2, …), ($k+1, …), …`: `rows` tuples of `width` placeholders.
fn placeholders(rows: usize, width: usize) -> String {
    (0..rows)
        .map(|i| {
            let cells = (1..=width)
                .map(|j| format!("${}", i * width + j))
                .collect::<Vec<_>>()
                .join(", ");
            format!("({cells})")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Writes the batch in one transaction; returns the families created revoked.
async fn write(db: &Db, batch: &[FamilyRequest]) -> Result<Vec<String>, StoreError> {
    let families_sql = format!(
        "INSERT INTO refresh_families (id, user_id, client_id, created_at, generation)
         VALUES {}",
        placeholders(batch.len(), 5)
    );
    let tokens_sql = format!(
        "INSERT INTO refresh_tokens (token_hash, family_id, client_id, user_id, scope,
             auth_time, created_at, expires_at) VALUES {}",
        placeholders(batch.len(), 8)
    );
    // the code rows' locks (PostgreSQL) or the single writer (SQLite) order this against
    // a concurrent replay of a code (see `Store::consume_code`)
    let link_sql = format!(
        "WITH v (code_hash, family_id) AS (VALUES {})
         UPDATE authorization_codes SET family_id = v.family_id FROM v
         WHERE authorization_codes.code_hash = v.code_hash
         RETURNING authorization_codes.family_id, authorization_codes.replayed_at",
        placeholders(batch.len(), 2)
    );
    with_db!(db, |w, _r, pg| {
        let mut tx = w.begin().await?;
        let mut families = sqlx::query(&families_sql);
        for r in batch {
            families = families
                .bind(r.family_id.as_str())
                .bind(r.user_id)
                .bind(r.client_id.as_str())
                .bind(r.now)
                .bind(r.generation);
        }
        families.execute(&mut *tx).await?;
        let mut tokens = sqlx::query(&tokens_sql);
        for r in batch {
            tokens = tokens
                .bind(r.token_hash.as_slice())
                .bind(r.family_id.as_str())
                .bind(r.client_id.as_str())
                .bind(r.user_id)
                .bind(r.scope.as_str())
                .bind(r.auth_time)
                .bind(r.now)
                .bind(r.expires_at);
        }
        tokens.execute(&mut *tx).await?;
        let mut link = sqlx::query_as::<_, (Option<String>, Option<i64>)>(&link_sql);
        for r in batch {
            link = link.bind(r.code_hash.as_slice()).bind(r.family_id.as_str());
        }
        let linked = link.fetch_all(&mut *tx).await?;
        let mut revoked = Vec::new();
        for (family, replayed_at) in linked {
            let (Some(family), Some(_)) = (family, replayed_at) else {
                continue;
            };
            let Some(req) = batch.iter().find(|r| r.family_id == family) else {
                continue;
            };
            revoke_family_in!(tx, pg, family.as_str(), req.now, req.event_ttl);
            revoked.push(family);
        }
        tx.commit().await?;
        Ok(revoked)
    })
}

#[cfg(test)]
mod tests {
    use super::placeholders;

    #[test]
    fn numbers_placeholders_row_by_row() {
        assert_eq!(placeholders(1, 2), "($1, $2)");
        assert_eq!(placeholders(2, 3), "($1, $2, $3), ($4, $5, $6)");
    }
}
