//! Loading a tenant's membership graph is single-flight (issue 4): requests arriving while a
//! load is in progress wait for it, and a load whose request is dropped (client gone) still
//! lands, rather than leaving its edge read running in the database while the next request
//! starts another full load beside it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use cerulean_directory::Directory;
use cerulean_directory::membership::Direction;
use cerulean_identity::PasswordHasherPool;
use cerulean_store::{
    AuditRecord, Change, ChangeLogBounds, ChangeLogEntry, EdgeKind, EdgeRecord, ListQuery, ObjectRecord, Page,
    SecretRecord, SigningKeyRecord, Store, StoreError, StoreResult, TenantRecord,
};
use tokio::sync::{Notify, Semaphore};
use uuid::Uuid;

/// A tenant whose change log stands at 1 and whose `Member` edges are a chain group 1 ⊃ group 2
/// ⊃ user 100. The edge read counts itself, says when it started, and then waits until the test
/// opens the gate: a load the test can hold in progress.
struct GatedEdges {
    reads: AtomicUsize,
    started: Notify,
    gate: Semaphore,
}

impl GatedEdges {
    fn new() -> Self {
        GatedEdges { reads: AtomicUsize::new(0), started: Notify::new(), gate: Semaphore::new(0) }
    }

    fn open(&self) {
        self.gate.add_permits(Semaphore::MAX_PERMITS / 2);
    }
}

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn unused<T>() -> StoreResult<T> {
    Err(StoreError::Backend("not used by this test".into()))
}

#[async_trait]
impl Store for GatedEdges {
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

/// Waits (a bounded while) until `done` holds.
async fn eventually(what: &str, done: impl Fn() -> bool) {
    for _ in 0..500 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{what} did not happen within 5 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_first_request_still_loads_the_graph_once_for_everyone() {
    let store = Arc::new(GatedEdges::new());
    let directory = Arc::new(Directory::new(store.clone(), Arc::new(PasswordHasherPool::new(1))));
    let tenant = Uuid::new_v4();
    let query = |directory: Arc<Directory>| async move {
        directory.transitive_ids(tenant, id(100), Direction::MemberOf, &[]).await
    };

    // The first request starts the load, and goes away while the edge read is in progress.
    let started = store.started.notified();
    let first = tokio::spawn(query(directory.clone()));
    started.await;
    // Requests arriving during the load, before and after the first one is dropped.
    let mut waiting: Vec<_> = (0..8).map(|_| tokio::spawn(query(directory.clone()))).collect();
    first.abort();
    assert!(first.await.expect_err("aborted").is_cancelled());
    waiting.extend((0..8).map(|_| tokio::spawn(query(directory.clone()))));
    tokio::time::sleep(Duration::from_millis(50)).await;
    store.open();

    for request in waiting {
        let ids = request.await.expect("task").expect("answered");
        assert_eq!(ids, vec![id(1), id(2)], "both groups, through nesting");
    }
    assert_eq!(store.reads.load(Ordering::SeqCst), 1, "one edge read served every request");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_load_whose_request_is_dropped_lands_without_another_request() {
    let store = Arc::new(GatedEdges::new());
    let directory = Arc::new(Directory::new(store.clone(), Arc::new(PasswordHasherPool::new(1))));
    let tenant = Uuid::new_v4();

    let started = store.started.notified();
    let d = directory.clone();
    let first = tokio::spawn(async move { d.check_member_of(tenant, id(100), &[id(1)], true).await });
    started.await;
    first.abort();
    assert!(first.await.expect_err("aborted").is_cancelled());
    assert!(!directory.membership_graph_loaded(tenant));
    store.open();

    eventually("the load of the dropped request landing", || directory.membership_graph_loaded(tenant)).await;
    let found = directory.check_member_of(tenant, id(100), &[id(1), id(3)], true).await.expect("answered");
    assert_eq!(found, vec![id(1)]);
    assert_eq!(store.reads.load(Ordering::SeqCst), 1, "the next request found the graph loaded");
}
