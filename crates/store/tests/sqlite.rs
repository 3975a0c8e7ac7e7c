//! Runs the engine-neutral suite against the SQLite engine, plus the checks only SQLite has:
//! reopening a file, migrations on restart and query plans.

#[macro_use]
mod suite;

use std::path::{Path, PathBuf};

use cerulean_store::*;
use serde_json::json;
use uuid::Uuid;

/// A unique directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let dir = std::env::temp_dir().join(format!("cerulean-store-{}", Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    fn db(&self) -> PathBuf {
        self.0.join("nested").join("cerulean.db")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn open(path: &Path) -> SqliteStore {
    SqliteStore::open(path, &suite::index_specs()).expect("open store")
}

macro_rules! suite_tests {
    ($($module:ident :: $name:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                let dir = TempDir::new();
                let store = open(&dir.db());
                suite::$module::$name(&store).await;
            }
        )*
    };
}

all_suite_tests!(suite_tests);

#[tokio::test]
async fn reopen_persists_everything() {
    let dir = TempDir::new();
    let path = dir.db();
    let (tenant, user, group, seq) = {
        let store = open(&path);
        let tenant = suite::new_tenant(&store, "Persist").await;
        let user = suite::insert(&store, tenant, "user", json!({ "displayName": "Kept" }), &[("upn", "kept@x")]).await;
        let group = suite::insert(&store, tenant, "group", json!({ "displayName": "G" }), &[]).await;
        let seq = suite::apply_ok(
            &store,
            tenant,
            vec![
                suite::add_edge(EdgeKind::Member, group, user),
                Op::PutSecret(SecretRecord {
                    owner: user,
                    kind: "password".into(),
                    key_id: Uuid::new_v4(),
                    hash: "$argon2id$x".into(),
                    meta: json!({}),
                }),
                Op::PutSigningKey(SigningKeyRecord {
                    kid: "kid".into(),
                    private_pkcs8: vec![9, 8, 7],
                    created_at: "2024-01-01T00:00:00Z".into(),
                    status: "active".into(),
                    retired_at: None,
                }),
            ],
        )
        .await;
        store.set_meta("bootstrapped", "yes").await.expect("meta");
        (tenant, user, group, seq)
    };
    // Reopen with a grown spec list: new indexes are added, nothing is lost.
    let mut specs = suite::index_specs();
    specs.push(IndexSpec { object_type: "user".into(), path: PropPath::of("city"), kind: ValueKind::String });
    let store = SqliteStore::open(&path, &specs).expect("reopen");
    assert_eq!(store.tenant(tenant).await.expect("tenant").expect("kept").display_name, "Persist");
    assert_eq!(store.get(tenant, user).await.expect("get").expect("kept").doc["displayName"], "Kept");
    assert_eq!(store.find_unique(tenant, "upn", "kept@x").await.expect("find"), Some(user));
    assert!(store.has_edge(tenant, EdgeKind::Member, group, user).await.expect("edge"));
    assert_eq!(store.secrets(tenant, user).await.expect("secrets").len(), 1);
    assert_eq!(store.signing_keys(tenant).await.expect("keys")[0].private_pkcs8, vec![9, 8, 7]);
    assert_eq!(store.meta("bootstrapped").await.expect("meta").as_deref(), Some("yes"));
    assert_eq!(store.changes_since(tenant, 0, 100).await.expect("log").len() as u64, seq);
    assert_eq!(store.audit_records(tenant, 100).await.expect("audit").len(), 3);
    // The sequence continues where it stopped.
    let next =
        suite::apply_ok(&store, tenant, vec![Op::SoftDelete { id: user, at: "2024-01-01T00:00:00Z".into() }]).await;
    assert_eq!(next, seq + 1);
    drop(store);
    // A third open (same specs) is a no-op for migrations and indexes.
    let store = SqliteStore::open(&path, &specs).expect("third open");
    assert!(store.get(tenant, user).await.expect("get").expect("kept").deleted_at.is_some());
}

fn plan(store: &SqliteStore, tenant: Uuid, q: &ListQuery) -> String {
    store.explain_list(tenant, q).expect("explain").join("\n")
}

#[tokio::test]
async fn query_plans_use_indexes() {
    let dir = TempDir::new();
    let store = open(&dir.db());
    let t = suite::new_tenant(&store, "Plan").await;
    for i in 0..50 {
        suite::insert(&store, t, "user", json!({ "displayName": format!("User {i}"), "age": i }), &[]).await;
    }
    let dn = PropPath::of("displayName");
    let mut q = ListQuery::new(&["user"], Scope::Live);

    q.filter = Some(Filter::StartsWith { path: dn.clone(), prefix: "use".into() });
    let p = plan(&store, t, &q);
    assert!(p.contains("USING INDEX ix_"), "startswith seeks the expression index:\n{p}");

    q.filter = Some(Filter::Compare {
        path: dn.clone(),
        kind: ValueKind::String,
        op: CmpOp::Eq,
        value: Scalar::Str("User 7".into()),
    });
    let p = plan(&store, t, &q);
    assert!(p.contains("USING INDEX ix_"), "eq seeks the expression index:\n{p}");

    q.filter = None;
    q.order = vec![OrderKey { path: dn.clone(), kind: ValueKind::String, descending: false }];
    let p = plan(&store, t, &q);
    assert!(p.contains("USING INDEX ix_") && !p.contains("TEMP B-TREE"), "order by walks the index:\n{p}");

    // An ascending cursor seeks into the index instead of scanning up to it.
    q.after = Some(Cursor { values: vec![Scalar::Str("user 3".into())], id: Uuid::new_v4() });
    let p = plan(&store, t, &q);
    assert!(p.contains("USING INDEX ix_") && p.contains(">?") && !p.contains("TEMP B-TREE"), "asc keyset seeks:\n{p}");

    // Descending walks the same index backwards. The id tie-breaker stays ascending (the
    // contract), so SQLite sorts runs of equal values only ("LAST TERM"), never the whole set.
    q.order[0].descending = true;
    let p = plan(&store, t, &q);
    assert!(p.contains("USING INDEX ix_"), "desc keyset walks the index:\n{p}");
    assert!(!p.contains("TEMP B-TREE FOR ORDER BY"), "no full sort:\n{p}");

    // Unfiltered paging and counting use the type index.
    let mut q = ListQuery::new(&["user"], Scope::Live);
    q.count = true;
    q.after = Some(Cursor { values: vec![], id: Uuid::new_v4() });
    let p = plan(&store, t, &q);
    assert!(!p.contains("SCAN objects\n") && !p.ends_with("SCAN objects") && !p.contains("TEMP B-TREE"), "{p}");

    // Numbers too.
    let mut q = ListQuery::new(&["user"], Scope::Live);
    q.filter = Some(Filter::Compare {
        path: PropPath::of("age"),
        kind: ValueKind::Number,
        op: CmpOp::Gt,
        value: Scalar::Int(40),
    });
    let p = plan(&store, t, &q);
    assert!(p.contains("USING INDEX ix_"), "number range uses its index:\n{p}");
}

/// A list of several types seeks each type's index and merges the arms in page order. With
/// `object_type IN (...) ORDER BY id`, SQLite walked the tenant's primary key in id order (every
/// object of every type, its document read) to find a page of a rare type.
#[tokio::test]
async fn several_types_seek_each_type() {
    let dir = TempDir::new();
    let store = open(&dir.db());
    let t = suite::new_tenant(&store, "Types").await;
    for i in 0..300 {
        suite::insert(&store, t, "user", json!({ "displayName": format!("User {i}") }), &[]).await;
    }
    for i in 0..3 {
        suite::insert(&store, t, "group", json!({ "displayName": format!("Group {i}") }), &[]).await;
        suite::insert(&store, t, "device", json!({ "displayName": format!("Device {i}") }), &[]).await;
    }
    // Reopen, as a server start does (it refreshes the planner's statistics).
    drop(store);
    let store = open(&dir.db());
    let full_walk = |p: &str| p.contains("sqlite_autoindex_objects_1 (tenant_id=?)") || p.contains("SCAN objects");
    let mut q = ListQuery::new(&["group", "device"], Scope::Live);
    q.count = true;
    let p = plan(&store, t, &q);
    assert!(!full_walk(&p), "no walk of the tenant's objects:\n{p}");
    assert!(p.contains("MERGE (UNION ALL)") && p.contains("objects_by_type"), "one seek per type, merged:\n{p}");
    assert!(!p.contains("TEMP B-TREE"), "the merge needs no sort:\n{p}");
    // With a cursor, a sort key and backward too.
    q.after = Some(Cursor { values: vec![], id: Uuid::new_v4() });
    let p = plan(&store, t, &q);
    assert!(!full_walk(&p) && p.contains("MERGE (UNION ALL)"), "{p}");
    q.order = vec![OrderKey { path: PropPath::of("displayName"), kind: ValueKind::String, descending: false }];
    q.after = Some(Cursor { values: vec![Scalar::Str("group 1".into())], id: Uuid::new_v4() });
    q.backward = true;
    let p = plan(&store, t, &q);
    assert!(!full_walk(&p) && p.contains("MERGE (UNION ALL)") && p.contains("USING INDEX ix_"), "{p}");
    // The merged page is the right one.
    let page = store.list(t, &ListQuery::new(&["group", "device"], Scope::Live)).await.expect("list");
    assert_eq!(page.items.len(), 6);
    assert!(page.items.windows(2).all(|w| w[0].id < w[1].id), "in id order across the types");
}

#[tokio::test]
async fn unsafe_property_names_are_refused() {
    let dir = TempDir::new();
    let store = open(&dir.db());
    let t = suite::new_tenant(&store, "Safe").await;
    let mut q = ListQuery::new(&["user"], Scope::Live);
    q.filter = Some(Filter::Compare {
        path: PropPath::of("x') OR 1=1 --"),
        kind: ValueKind::String,
        op: CmpOp::Eq,
        value: Scalar::Str("a".into()),
    });
    assert!(matches!(store.list(t, &q).await, Err(StoreError::Invalid(_))));
    let bad = IndexSpec { object_type: "user".into(), path: PropPath::of("a\"b"), kind: ValueKind::String };
    assert!(SqliteStore::open(&dir.0.join("other.db"), &[bad]).is_err());
}

#[tokio::test]
async fn concurrent_reads_and_writes() {
    let dir = TempDir::new();
    let store = std::sync::Arc::new(open(&dir.db()));
    let t = suite::new_tenant(&*store, "Busy").await;
    let mut tasks = Vec::new();
    for w in 0..4 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..25 {
                let id = suite::insert(&*store, t, "user", json!({ "displayName": format!("w{w} {i}") }), &[]).await;
                assert!(store.get(t, id).await.expect("get").is_some());
            }
        }));
    }
    for task in tasks {
        task.await.expect("task");
    }
    let mut q = ListQuery::new(&["user"], Scope::Live);
    q.count = true;
    assert_eq!(store.list(t, &q).await.expect("list").count, Some(100));
    assert_eq!(store.changes_since(t, 0, 1000).await.expect("log").len(), 100);
}
