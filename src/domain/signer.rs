//! A fixed pool of threads that make the slow (RSA) signatures.
//!
//! An RSA-2048 signature costs about 0.3 ms of a core, and an RS256 grant makes two. On
//! the async workers a signature would hold up every other request of that worker. Through
//! `spawn_blocking` behind a semaphore (the previous design) each grant paid a hand-off
//! from the permit to a blocking thread: with one permit per core the cores idled in
//! those gaps, with more permits than cores the signers preempted one another in the
//! middle of a signature. Here one thread per core pulls jobs from a single
//! first-in-first-out queue: under load a signer takes the next job without sleeping, no
//! more signatures run at once than there are cores, and grants are served in the order
//! they asked (`bench/run.sh`, RS256 refresh grant, 2 cores: ~1,850/s → ~2,200/s, p99
//! ~25 ms → ~21 ms). A job whose caller has gone (timed out, disconnected) is skipped.
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::OnceLock;

use crate::error::AppError;

type Job = Box<dyn FnOnce() + Send + 'static>;

fn queue() -> &'static flume::Sender<Job> {
    static QUEUE: OnceLock<flume::Sender<Job>> = OnceLock::new();
    QUEUE.get_or_init(|| {
        let (tx, rx) = flume::unbounded::<Job>();
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        for i in 0..threads {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("signer-{i}"))
                .spawn(move || {
                    while let Ok(job) = rx.recv() {
                        // a panicking job loses its answer (its caller gets an error),
                        // not the thread
                        let _ = catch_unwind(AssertUnwindSafe(job));
                    }
                });
            // with no thread at all the queue has no receiver left, and every signature
            // fails with an error instead of waiting forever
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a signer thread");
            }
        }
        tx
    })
}

/// Runs `work` on the signer pool and waits for its result.
pub async fn run<T, F>(work: F) -> Result<T, AppError>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let (tx, rx) = tokio::sync::oneshot::channel();
    queue()
        .send(Box::new(move || {
            if !tx.is_closed() {
                let _ = tx.send(work());
            }
        }))
        .map_err(|_| AppError::Internal("signer pool stopped".into()))?;
    rx.await
        .map_err(|_| AppError::Internal("signing failed".into()))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use super::*;

    #[tokio::test]
    async fn runs_jobs_in_order_and_survives_a_panicking_one() {
        assert_eq!(run(|| 6 * 7).await.unwrap(), 42);
        let failed = run(|| -> u32 { panic!("boom") }).await;
        assert!(matches!(failed, Err(AppError::Internal(_))));
        // more jobs than threads, all at once: every one answers with its own result
        let answers = futures::future::join_all((0..64u32).map(|i| run(move || i * 2))).await;
        let answers: Vec<u32> = answers.into_iter().map(Result::unwrap).collect();
        assert_eq!(answers, (0..64u32).map(|i| i * 2).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn skips_a_job_whose_caller_has_gone() {
        let ran = Arc::new(AtomicUsize::new(0));
        // occupy every signer so the next job waits in the queue
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        let (release, gate) = std::sync::mpsc::channel::<()>();
        let gate = Arc::new(std::sync::Mutex::new(gate));
        let (started_tx, mut started) = tokio::sync::mpsc::unbounded_channel();
        let blockers: Vec<_> = (0..threads)
            .map(|_| {
                let gate = gate.clone();
                let started_tx = started_tx.clone();
                tokio::spawn(run(move || {
                    let _ = started_tx.send(());
                    let _ = gate.lock().unwrap().recv();
                }))
            })
            .collect();
        for _ in 0..threads {
            started.recv().await.unwrap();
        }
        let counted = ran.clone();
        // polled once (which queues the job), then dropped: its caller is gone
        let abandoned = run(move || {
            counted.fetch_add(1, Ordering::SeqCst);
        });
        assert!(futures::FutureExt::now_or_never(abandoned).is_none());
        for _ in 0..threads {
            release.send(()).unwrap();
        }
        for b in blockers {
            b.await.unwrap().unwrap();
        }
        // a job queued after the abandoned one runs, so the abandoned one was reached
        let counted = ran.clone();
        run(move || counted.fetch_add(10, Ordering::SeqCst))
            .await
            .unwrap();
        assert_eq!(ran.load(Ordering::SeqCst), 10);
    }
}
