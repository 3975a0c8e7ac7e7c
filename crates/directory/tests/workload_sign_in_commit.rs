//! A service principal's sign-in without risk findings goes through the sign-in log's group
//! commit (issue 8): the client-credentials token endpoint writes one of these per token, and
//! written alone each held the store's writer for a transaction of its own.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use cerulean_directory::Directory;
use cerulean_directory::workload_risk::workload_names;
use cerulean_identity::PasswordHasherPool;
use cerulean_store::{
    AuditRecord, Change, ChangeLogEntry, EdgeKind, ListQuery, ObjectRecord, Page, SecretRecord, SignInRecord,
    SigningKeyRecord, Store, StoreError, StoreResult, TenantRecord,
};
use serde_json::Map;
use uuid::Uuid;

/// A store that keeps sign-ins written in batches and refuses single writes: the group commit
/// writes through `put_sign_ins`, a direct write through `put_sign_in`.
#[derive(Default)]
struct SignInLog {
    batches: Mutex<Vec<Vec<Uuid>>>,
}

fn unused<T>() -> StoreResult<T> {
    Err(StoreError::Backend("not used by this test".into()))
}

#[async_trait]
impl Store for SignInLog {
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
    async fn put_sign_in(&self, _: Uuid, _: &SignInRecord) -> StoreResult<()> {
        Err(StoreError::Backend("a sign-in written outside the group commit".into()))
    }
    async fn put_sign_ins(&self, rows: &[(Uuid, SignInRecord)]) -> StoreResult<()> {
        self.batches.lock().unwrap_or_else(|p| p.into_inner()).push(rows.iter().map(|(_, r)| r.id).collect());
        Ok(())
    }
}

fn workload_sign_in() -> SignInRecord {
    SignInRecord {
        id: Uuid::new_v4(),
        at: "2026-11-22T21:00:00Z".into(),
        user_id: None,
        user_principal_name: None,
        app_id: Some(Uuid::new_v4().to_string()),
        ip_address: "192.0.2.10".into(),
        error_code: 0,
        event_type: "servicePrincipal".into(),
        correlation_id: None,
        doc: Map::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_workload_sign_ins_without_findings_are_committed_by_the_group_commit() {
    let store = Arc::new(SignInLog::default());
    let directory = Arc::new(Directory::new(store.clone(), Arc::new(PasswordHasherPool::new(1))));
    let tenant = Uuid::new_v4();
    let mut writes = tokio::task::JoinSet::new();
    let mut ids = Vec::new();
    for _ in 0..32 {
        let record = workload_sign_in();
        ids.push(record.id);
        let directory = directory.clone();
        writes.spawn(async move {
            let sp = workload_names(Uuid::new_v4(), &Map::new());
            directory.record_workload_sign_in_with_risk(tenant, &record, &sp, &[]).await
        });
    }
    while let Some(written) = writes.join_next().await {
        written.expect("task").expect("each sign-in is committed before its call returns");
    }
    let mut committed: Vec<Uuid> =
        store.batches.lock().unwrap_or_else(|p| p.into_inner()).iter().flatten().copied().collect();
    committed.sort();
    ids.sort();
    assert_eq!(committed, ids, "every row committed once, through put_sign_ins");
}
