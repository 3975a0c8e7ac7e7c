//! Group commit of the sign-in log (issue 8).
//!
//! Every token request writes one sign-in record. Written one transaction each, a busy token
//! endpoint paid a commit per token — with SQLite, a WAL append of every index page the row
//! touched (the log has eight indexes) and a checkpoint every hundred or so tokens. Here
//! concurrent sign-ins are queued to one writer task, which takes whatever has queued (up to
//! [`MAX_BATCH`]) and writes it in one transaction, then acknowledges each row.
//!
//! Durability is unchanged: a request waits for the commit of its row before answering, so a
//! token is never returned for a sign-in that is not in the store, and a graceful stop (which
//! lets requests in flight finish) loses nothing. Under no concurrency a batch is one row and
//! the cost is one task hand-off. A failed batch is retried row by row, so one bad row fails
//! only its own request.

use std::sync::{Arc, Mutex};

use cerulean_store::{SignInRecord, Store, StoreError, StoreResult};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

/// Most rows written in one transaction.
pub(crate) const MAX_BATCH: usize = 256;
/// Rows queued before writers wait for room (backpressure on the token endpoint).
const QUEUE: usize = 4096;

struct Pending {
    tenant: Uuid,
    record: SignInRecord,
    done: oneshot::Sender<StoreResult<()>>,
}

/// The queue to the writer task, started on first use in the caller's runtime.
#[derive(Default)]
pub(crate) struct SignInWriter {
    queue: Mutex<Option<mpsc::Sender<Pending>>>,
}

impl SignInWriter {
    /// Writes one sign-in record through the group commit; returns once it is committed.
    pub(crate) async fn put(&self, store: &Arc<dyn Store>, tenant: Uuid, record: SignInRecord) -> StoreResult<()> {
        let queue = self.queue(store);
        let (done, committed) = oneshot::channel();
        match queue.send(Pending { tenant, record, done }).await {
            Ok(()) => committed.await.unwrap_or_else(|_| Err(StoreError::Backend("the sign-in writer stopped".into()))),
            // The writer is gone (the runtime it ran on has ended): write directly; the next
            // call starts a new writer.
            Err(mpsc::error::SendError(p)) => {
                self.queue.lock().unwrap_or_else(|e| e.into_inner()).take();
                store.put_sign_in(p.tenant, &p.record).await
            }
        }
    }

    fn queue(&self, store: &Arc<dyn Store>) -> mpsc::Sender<Pending> {
        let mut slot = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(queue) = slot.as_ref().filter(|q| !q.is_closed()) {
            return queue.clone();
        }
        let (queue, rows) = mpsc::channel(QUEUE);
        tokio::spawn(write_batches(store.clone(), rows));
        *slot = Some(queue.clone());
        queue
    }
}

/// The writer task: one transaction per batch of whatever has queued. Ends when every
/// sender is gone (the directory was dropped).
async fn write_batches(store: Arc<dyn Store>, mut queue: mpsc::Receiver<Pending>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (rows, done): (Vec<(Uuid, SignInRecord)>, Vec<_>) =
            batch.drain(..).map(|p| ((p.tenant, p.record), p.done)).unzip();
        match store.put_sign_ins(&rows).await {
            Ok(()) => {
                for d in done {
                    let _ = d.send(Ok(()));
                }
            }
            Err(e) if rows.len() == 1 => {
                if let Some(d) = done.into_iter().next() {
                    let _ = d.send(Err(e));
                }
            }
            // One bad row must not fail the others: write them one by one.
            Err(e) => {
                tracing::debug!(error = %e, rows = rows.len(), "a sign-in batch failed; writing its rows one by one");
                for ((tenant, record), d) in rows.iter().zip(done) {
                    let _ = d.send(store.put_sign_in(*tenant, record).await);
                }
            }
        }
    }
}
