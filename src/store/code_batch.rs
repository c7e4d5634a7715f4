//! Group commit of authorization-code consumption (the first write of a code exchange).
//!
//! Alone, spending a code is one conditional `UPDATE … RETURNING` and one commit on the
//! writer per exchange, ahead of the family the exchange then creates (itself
//! group-committed: `family_batch`). The batcher takes every consumption waiting when the
//! previous batch is done and spends them all in one statement over a `VALUES` list: the
//! same condition (not consumed, not expired) row by row, so a code is still spent once —
//! SQLite's single writer, or PostgreSQL's row lock, orders the batch against any other
//! statement on the same code. A code sent twice in one batch is given to the first caller;
//! the others are told it was not fresh and take the replay path, as a loser of a race does
//! on the single path (`Store::consume_code`). If the statement fails as a whole, nothing
//! was spent and every caller runs the single statement.
use tokio::sync::{mpsc, oneshot};

use super::{Db, StoreError};

/// What an authorization code is bound to.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CodeGrant {
    /// Client it was issued to.
    pub client_id: String,
    /// Exact redirect URI of the request.
    pub redirect_uri: String,
    /// The user who signed in.
    pub user_id: i64,
    /// Granted scope.
    pub scope: String,
    /// OIDC nonce.
    pub nonce: Option<String>,
    /// PKCE S256 challenge.
    pub code_challenge: Option<String>,
    /// When the user authenticated.
    pub auth_time: i64,
    /// The user's generation when the code was issued.
    pub generation: i64,
    /// Expiry.
    pub expires_at: i64,
}

/// Most codes in one statement (2 parameters per row).
const MAX_BATCH: usize = 64;

/// One code to spend.
pub(crate) struct ConsumeRequest {
    pub(crate) code_hash: Vec<u8>,
    pub(crate) now: i64,
    /// `Ok(Some(_))`: spent now, by this caller; `Ok(None)`: not fresh (unknown, expired,
    /// already spent, or spent by an earlier caller in the same batch)
    pub(crate) reply: oneshot::Sender<Result<Option<CodeGrant>, StoreError>>,
}

/// Starts the batcher; codes to spend go through the returned sender.
pub(crate) fn start(db: Db) -> mpsc::Sender<ConsumeRequest> {
    let (tx, rx) = mpsc::channel(4096);
    tokio::spawn(run(db, rx));
    tx
}

async fn run(db: Db, mut rx: mpsc::Receiver<ConsumeRequest>) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(req) => batch.push(req),
                Err(_) => break,
            }
        }
        match write(&db, &batch).await {
            Ok(mut spent) => {
                for req in batch {
                    // the first caller of each spent code takes it; the grant is gone
                    // from the map for any later caller with the same code
                    let grant = spent
                        .iter()
                        .position(|(hash, _)| *hash == req.code_hash)
                        .map(|i| spent.swap_remove(i).1);
                    let _ = req.reply.send(Ok(grant));
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, size = batch.len(), "batched code consumption failed");
                for req in batch {
                    let _ = req.reply.send(Err(StoreError::BatchFailed));
                }
            }
        }
    }
}

/// A spent code's hash and what it was bound to.
#[derive(sqlx::FromRow)]
struct SpentRow {
    code_hash: Vec<u8>,
    #[sqlx(flatten)]
    grant: CodeGrant,
}

/// Spends the batch's codes in one statement; returns the codes spent with their grants.
async fn write(db: &Db, batch: &[ConsumeRequest]) -> Result<Vec<(Vec<u8>, CodeGrant)>, StoreError> {
    let values = (0..batch.len())
        .map(|i| format!("(${}, ${})", 2 * i + 1, 2 * i + 2))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "WITH v (code_hash, now) AS (VALUES {values})
         UPDATE authorization_codes SET consumed_at = v.now FROM v
         WHERE authorization_codes.code_hash = v.code_hash
           AND authorization_codes.consumed_at IS NULL
           AND authorization_codes.expires_at > v.now
         RETURNING authorization_codes.code_hash, authorization_codes.client_id,
             authorization_codes.redirect_uri, authorization_codes.user_id,
             authorization_codes.scope, authorization_codes.nonce,
             authorization_codes.code_challenge, authorization_codes.auth_time,
             authorization_codes.generation, authorization_codes.expires_at"
    );
    let rows: Vec<SpentRow> = with_db!(db, |w, _r, _pg| {
        let mut query = sqlx::query_as::<_, SpentRow>(&sql);
        for r in batch {
            query = query.bind(r.code_hash.as_slice()).bind(r.now);
        }
        query.fetch_all(w).await?
    });
    Ok(rows.into_iter().map(|r| (r.code_hash, r.grant)).collect())
}
