//! Group commit of refresh rotations.
//!
//! SQLite has one writer, and every statement is a hand-off to its connection's thread
//! plus a commit (a WAL append of every page it touched); on PostgreSQL every rotation is
//! a transaction with its own WAL flush. Under load, rotations queue anyway; the batcher
//! takes every rotation waiting when the previous batch is done and runs them as one
//! statement over a `VALUES` list: one hand-off and one commit for the whole batch, and no
//! waiting when there is no queue (a lone request is a batch of one). A rotation the batch
//! did not perform (its parent was not live) is answered `None`, and its caller takes the
//! single-request slow path (reuse, grace, invalid). If the statement fails as a whole
//! (on PostgreSQL, say, a deadlock with another instance's batch over the same tokens),
//! nothing was written and every caller retries on its own.
use tokio::sync::{mpsc, oneshot};

use super::refresh::RefreshInfo;
use super::{Db, StoreError};

/// Most rotations in one statement (5 parameters each; far under SQLite's limit).
const MAX_BATCH: usize = 64;

/// One rotation waiting for the writer.
pub(crate) struct RotateRequest {
    pub(crate) old_hash: Vec<u8>,
    pub(crate) client_id: String,
    pub(crate) new_hash: Vec<u8>,
    pub(crate) now: i64,
    pub(crate) expires_at: i64,
    pub(crate) reply: oneshot::Sender<Result<Option<RefreshInfo>, StoreError>>,
}

/// Starts the batcher; rotations go through the returned sender.
pub(crate) fn start(db: Db) -> mpsc::Sender<RotateRequest> {
    let (tx, rx) = mpsc::channel(4096);
    tokio::spawn(run(db, rx));
    tx
}

async fn run(writer: Db, mut rx: mpsc::Receiver<RotateRequest>) {
    // a second presentation of a token already in the batch waits for the next batch
    // (one statement must not see its own parent twice)
    let mut deferred: Vec<RotateRequest> = Vec::new();
    loop {
        let mut waiting = std::mem::take(&mut deferred);
        if waiting.is_empty() {
            match rx.recv().await {
                Some(first) => waiting.push(first),
                None => return,
            }
        }
        while waiting.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(req) => waiting.push(req),
                Err(_) => break,
            }
        }
        let mut batch: Vec<RotateRequest> = Vec::with_capacity(waiting.len());
        for req in waiting {
            if batch.iter().any(|b| b.old_hash == req.old_hash) {
                deferred.push(req);
            } else {
                batch.push(req);
            }
        }
        execute(&writer, batch).await;
    }
}

async fn execute(db: &Db, batch: Vec<RotateRequest>) {
    let values = (0..batch.len())
        .map(|i| {
            let p = i * 5;
            format!(
                "(${}, ${}, ${}, ${}, ${})",
                p + 1,
                p + 2,
                p + 3,
                p + 4,
                p + 5
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    let result = with_db!(db, |w, _r, pg| {
        let sql = if pg {
            postgres_sql(&values)
        } else {
            sqlite_sql(&values)
        };
        let mut query = sqlx::query_as::<_, BatchRow>(&sql);
        for r in &batch {
            query = query
                .bind(r.new_hash.as_slice())
                .bind(r.now)
                .bind(r.expires_at)
                .bind(r.old_hash.as_slice())
                .bind(r.client_id.as_str());
        }
        query.fetch_all(w).await
    });
    match result {
        Ok(rows) => {
            let mut rows: Vec<Option<BatchRow>> = rows.into_iter().map(Some).collect();
            for req in batch {
                let row = rows
                    .iter_mut()
                    .find(|r| r.as_ref().is_some_and(|r| r.parent_hash == req.old_hash))
                    .and_then(Option::take);
                let _ = req.reply.send(Ok(row.map(|r| r.info)));
            }
        }
        Err(e) => {
            // the statement as a whole failed (nothing was written): every caller
            // retries on its own
            tracing::warn!(error = %e, size = batch.len(), "batched refresh rotation failed");
            for req in batch {
                let _ = req.reply.send(Err(StoreError::BatchFailed));
            }
        }
    }
}

/// SQLite: the successor is inserted only for a live parent (family not revoked, granted
/// under the user's current generation); the trigger
/// `refresh_tokens_spend_parent` spends the parent in the same statement.
fn sqlite_sql(values: &str) -> String {
    format!(
        "WITH q (new_hash, now, expires_at, old_hash, client_id) AS (VALUES {values})
         INSERT INTO refresh_tokens (token_hash, family_id, client_id, user_id, scope,
             auth_time, created_at, expires_at, parent_hash)
         SELECT q.new_hash, r.family_id, r.client_id, r.user_id, r.scope, r.auth_time, q.now,
             q.expires_at, r.token_hash
         FROM q JOIN refresh_tokens r ON r.token_hash = q.old_hash
             JOIN refresh_families f ON f.id = r.family_id JOIN users u ON u.id = f.user_id
         WHERE r.spent_at IS NULL AND r.client_id = q.client_id AND r.expires_at > q.now
           AND f.revoked_at IS NULL AND f.generation = u.generation
         RETURNING parent_hash, family_id, client_id, user_id,
             (SELECT username FROM users WHERE users.id = user_id) AS username,
             scope, auth_time, created_at, expires_at, NULL AS spent_at, NULL AS revoked_at"
    )
}

/// PostgreSQL: the row-locking UPDATE spends each live parent (a concurrent rotation of
/// the same token on another instance waits for the lock, re-reads the row and finds it
/// spent), and the INSERT adds a successor for each parent it spent.
fn postgres_sql(values: &str) -> String {
    format!(
        "WITH q (new_hash, now, expires_at, old_hash, client_id) AS (VALUES {values}),
         parent AS (
             UPDATE refresh_tokens r SET spent_at = q.now FROM q
             WHERE r.token_hash = q.old_hash AND r.spent_at IS NULL
               AND r.client_id = q.client_id AND r.expires_at > q.now
               AND EXISTS (SELECT 1 FROM refresh_families f JOIN users u ON u.id = f.user_id
                           WHERE f.id = r.family_id AND f.revoked_at IS NULL
                             AND f.generation = u.generation)
             RETURNING r.token_hash, r.family_id, r.client_id, r.user_id, r.scope,
                 r.auth_time, q.new_hash, q.now, q.expires_at)
         INSERT INTO refresh_tokens (token_hash, family_id, client_id, user_id, scope,
             auth_time, created_at, expires_at, parent_hash)
         SELECT new_hash, family_id, client_id, user_id, scope, auth_time, now, expires_at,
             token_hash
         FROM parent
         RETURNING parent_hash, family_id, client_id, user_id,
             (SELECT username FROM users WHERE users.id = refresh_tokens.user_id) AS username,
             scope, auth_time, created_at, expires_at, CAST(NULL AS BIGINT) AS spent_at,
             CAST(NULL AS BIGINT) AS revoked_at"
    )
}

#[derive(sqlx::FromRow)]
struct BatchRow {
    parent_hash: Vec<u8>,
    #[sqlx(flatten)]
    info: RefreshInfo,
}
