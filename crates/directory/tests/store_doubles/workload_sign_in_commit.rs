//! A service principal's sign-in without risk findings goes through the sign-in log's group
//! commit (issue 8): the client-credentials token endpoint writes one of these per token, and
//! written alone each held the store's writer for a transaction of its own.

use std::sync::Arc;

use cerulean_directory::Directory;
use cerulean_directory::workload_risk::workload_names;
use cerulean_identity::PasswordHasherPool;
use cerulean_store::SignInRecord;
use serde_json::Map;
use uuid::Uuid;

use super::Double;

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
    let store = Arc::new(Double::new());
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
