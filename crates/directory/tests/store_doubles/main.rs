//! The directory's tests that need the store to behave in a way no real engine can be made to
//! (hold a read open while requests come and go, refuse one write path so that another is
//! proven): one test double of [`Store`] for all of them, configured per test, every method a
//! test does not configure answering "not used by this test".

mod membership_load;
mod workload_sign_in_commit;

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use cerulean_store::{
    AuditRecord, Change, ChangeLogBounds, ChangeLogEntry, EdgeKind, EdgeRecord, ListQuery, ObjectRecord, Page,
    SecretRecord, SignInRecord, SigningKeyRecord, Store, StoreError, StoreResult, TenantRecord,
};
use tokio::sync::{Notify, Semaphore};
use uuid::Uuid;

/// The store double. Its tenant's change log stands at 1 and its `Member` edges are a chain
/// group 1 ⊃ group 2 ⊃ user 100; the edge read counts itself, says when it started, then waits
/// until the test opens the gate (a load the test can hold in progress). Sign-ins are kept in the
/// batches the group commit writes (`put_sign_ins`); a single write (`put_sign_in`) is refused.
pub(crate) struct Double {
    pub reads: AtomicUsize,
    pub started: Notify,
    gate: Semaphore,
    pub batches: Mutex<Vec<Vec<Uuid>>>,
}

impl Double {
    pub fn new() -> Self {
        Double {
            reads: AtomicUsize::new(0),
            started: Notify::new(),
            gate: Semaphore::new(0),
            batches: Mutex::default(),
        }
    }

    /// Lets every edge read, waiting or to come, proceed.
    pub fn open(&self) {
        self.gate.add_permits(Semaphore::MAX_PERMITS / 2);
    }
}

pub(crate) fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn unused<T>() -> StoreResult<T> {
    Err(StoreError::Backend("not used by this test".into()))
}

#[async_trait]
impl Store for Double {
    async fn change_log_bounds(&self, _: Uuid) -> StoreResult<ChangeLogBounds> {
        Ok(ChangeLogBounds { pruned_through: 0, last: 1 })
    }
    async fn edges_of_kind(&self, _: Uuid, kind: EdgeKind) -> StoreResult<Vec<EdgeRecord>> {
        assert_eq!(kind, EdgeKind::Member);
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.started.notify_one();
        let _permit = self.gate.acquire().await.map_err(|e| StoreError::Backend(e.to_string()))?;
        let edge = |source: u128, target: u128, target_type: &str| EdgeRecord {
            source: id(source),
            source_type: "group".into(),
            target: id(target),
            target_type: target_type.into(),
        };
        Ok(vec![edge(1, 2, "group"), edge(2, 100, "user")])
    }
    async fn put_sign_in(&self, _: Uuid, _: &SignInRecord) -> StoreResult<()> {
        Err(StoreError::Backend("a sign-in written outside the group commit".into()))
    }
    async fn put_sign_ins(&self, rows: &[(Uuid, SignInRecord)]) -> StoreResult<()> {
        self.batches.lock().unwrap_or_else(|p| p.into_inner()).push(rows.iter().map(|(_, r)| r.id).collect());
        Ok(())
    }
    async fn create_tenant(&self, _: &TenantRecord) -> StoreResult<()> {
        unused()
    }
    async fn tenant(&self, _: Uuid) -> StoreResult<Option<TenantRecord>> {
        unused()
    }
    async fn tenant_by_domain(&self, _: &str) -> StoreResult<Option<TenantRecord>> {
        unused()
    }
    async fn tenants(&self) -> StoreResult<Vec<TenantRecord>> {
        unused()
    }
    async fn meta(&self, _: &str) -> StoreResult<Option<String>> {
        unused()
    }
    async fn set_meta(&self, _: &str, _: &str) -> StoreResult<()> {
        unused()
    }
    async fn get(&self, _: Uuid, _: Uuid) -> StoreResult<Option<ObjectRecord>> {
        unused()
    }
    async fn get_many(&self, _: Uuid, _: &[Uuid]) -> StoreResult<Vec<ObjectRecord>> {
        unused()
    }
    async fn find_unique(&self, _: Uuid, _: &str, _: &str) -> StoreResult<Option<Uuid>> {
        unused()
    }
    async fn list(&self, _: Uuid, _: &ListQuery) -> StoreResult<Page> {
        unused()
    }
    async fn has_edge(&self, _: Uuid, _: EdgeKind, _: Uuid, _: Uuid) -> StoreResult<bool> {
        unused()
    }
    async fn edge_ids(&self, _: Uuid, _: EdgeKind, _: Uuid, _: bool) -> StoreResult<Vec<Uuid>> {
        unused()
    }
    async fn secrets(&self, _: Uuid, _: Uuid) -> StoreResult<Vec<SecretRecord>> {
        unused()
    }
    async fn signing_keys(&self, _: Uuid) -> StoreResult<Vec<SigningKeyRecord>> {
        unused()
    }
    async fn apply(&self, _: Uuid, _: Change) -> StoreResult<u64> {
        unused()
    }
    async fn apply_all(&self, _: Uuid, _: Vec<Change>) -> StoreResult<u64> {
        unused()
    }
    async fn changes_since(&self, _: Uuid, _: u64, _: usize) -> StoreResult<Vec<ChangeLogEntry>> {
        unused()
    }
    async fn audit_records(&self, _: Uuid, _: usize) -> StoreResult<Vec<AuditRecord>> {
        unused()
    }
}
