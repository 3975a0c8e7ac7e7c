//! The engine-neutral store suite: every function takes a fresh, empty `&dyn Store` opened with
//! [`index_specs`], so each engine (SQLite and PostgreSQL) runs exactly the same checks.

/// Every engine-neutral test, listed once. Each engine's test file defines its own
/// `suite_tests!` (how to open a fresh store) and calls `all_suite_tests!(suite_tests)`, so a
/// test added here runs on every engine and none can be missed by one of them.
macro_rules! all_suite_tests {
    ($run:ident) => {
        $run!(
            delta::change_log_bounds_and_types,
            delta::change_log_retention,
            edges::edges_of_kind_lists_live_edges_with_types,
            edges::among_scope,
            writes::tenants_and_domains,
            writes::domain_ops,
            writes::insert_get_get_many,
            writes::claims_conflicts_roll_back,
            writes::version_mismatch,
            writes::soft_delete_and_restore,
            writes::purge,
            writes::get_unless_revalidates_a_stamp,
            writes::edge_errors,
            writes::secrets_and_keys,
            sessions::refresh_tokens_rotate_and_replays_revoke_the_family,
            flows::sign_in_flows_are_single_use_and_isolated,
            flows::refresh_family_is_revoked_alone,
            lockout::lockout_counters_compare_and_set,
            lockout::familiar_ips_are_remembered_and_trimmed,
            photos::photos_are_stored_replaced_and_purged,
            logs::logs_page_filter_and_prune,
            risk::risk_tables_page_filter_and_replace,
            risk::sign_in_with_risk_is_all_or_nothing,
            risk::service_principal_risk_tables,
            writes::change_log,
            writes::audit_written,
            writes::tenant_isolation,
            writes::apply_all_is_all_or_nothing,
            query::filter_comparisons,
            query::filter_strings,
            query::filter_lambdas,
            query::ordering,
            query::keyset_paging,
            query::paging_under_changes,
            query::count,
            query::related_scope,
            query::several_types,
            query::counted_pages_in_id_order,
            query::prefix_count_with_deleted_and_case_variants,
        );
    };
}

pub mod delta;
pub mod edges;
pub mod flows;
pub mod lockout;
pub mod logs;
pub mod photos;
pub mod query;
pub mod risk;
pub mod sessions;
pub mod writes;

use cerulean_store::*;
use serde_json::{Map, Value, json};
use uuid::Uuid;

/// The index specs the suite's stores are opened with (what a schema layer would derive).
pub fn index_specs() -> Vec<IndexSpec> {
    let spec = |path: &str, kind| IndexSpec { object_type: "user".into(), path: PropPath::of(path), kind };
    vec![
        spec("displayName", ValueKind::String),
        spec("userPrincipalName", ValueKind::String),
        spec("accountEnabled", ValueKind::Bool),
        spec("age", ValueKind::Number),
        // The same path for another type shares the index.
        IndexSpec { object_type: "group".into(), path: PropPath::of("displayName"), kind: ValueKind::String },
    ]
}

pub fn audit(activity: &str) -> AuditRecord {
    AuditRecord {
        id: Uuid::new_v4(),
        at: "2024-05-01T10:00:00Z".into(),
        activity: activity.into(),
        category: "UserManagement".into(),
        operation_type: "Add".into(),
        actor: Actor { kind: "system".into(), id: None, display_name: None },
        targets: Vec::new(),
        correlation_id: Some(Uuid::new_v4().to_string()),
        result: "success".into(),
    }
}

pub fn change(ops: Vec<Op>) -> Change {
    Change { ops, audit: audit("Test change") }
}

pub fn doc(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        other => panic!("test documents are objects, got {other}"),
    }
}

pub fn record(object_type: &str, v: Value) -> ObjectRecord {
    ObjectRecord { id: Uuid::new_v4(), object_type: object_type.into(), version: 1, doc: doc(v), deleted_at: None }
}

pub async fn new_tenant(store: &dyn Store, name: &str) -> Uuid {
    let t = TenantRecord {
        id: Uuid::new_v4(),
        display_name: name.into(),
        domains: vec![DomainRecord {
            name: format!("{}-{}.onmicrosoft.com", name.to_lowercase(), Uuid::new_v4().simple()),
            is_initial: true,
            is_default: true,
            is_verified: true,
            doc: Default::default(),
        }],
        created_at: "2024-01-01T00:00:00Z".into(),
    };
    store.create_tenant(&t).await.expect("create tenant");
    t.id
}

/// Inserts one object with its claims and returns its id.
pub async fn insert(store: &dyn Store, tenant: Uuid, object_type: &str, v: Value, unique: &[(&str, &str)]) -> Uuid {
    let o = record(object_type, v);
    let id = o.id;
    let unique = unique.iter().map(|(n, k)| (n.to_string(), k.to_string())).collect();
    store.apply(tenant, change(vec![Op::Insert { object: o, unique }])).await.expect("insert");
    id
}

pub async fn apply_ok(store: &dyn Store, tenant: Uuid, ops: Vec<Op>) -> u64 {
    store.apply(tenant, change(ops)).await.expect("apply")
}

pub fn add_edge(kind: EdgeKind, source: Uuid, target: Uuid) -> Op {
    Op::AddEdge { kind, source, target }
}

pub async fn version(store: &dyn Store, tenant: Uuid, id: Uuid) -> i64 {
    store.get(tenant, id).await.expect("get").expect("object exists").version
}

/// Every page of `q`, followed through `next` cursors, as ids.
pub async fn all_pages(store: &dyn Store, tenant: Uuid, mut q: ListQuery) -> Vec<Uuid> {
    let mut out = Vec::new();
    for _ in 0..1000 {
        let page = store.list(tenant, &q).await.expect("list");
        assert!(page.items.len() <= q.top, "a page never exceeds top");
        out.extend(page.items.iter().map(|o| o.id));
        match page.next {
            Some(c) => q.after = Some(c),
            None => return out,
        }
    }
    panic!("paging did not terminate");
}

pub async fn list_ids(store: &dyn Store, tenant: Uuid, q: &ListQuery) -> Vec<Uuid> {
    store.list(tenant, q).await.expect("list").items.into_iter().map(|o| o.id).collect()
}

pub fn sorted(mut v: Vec<Uuid>) -> Vec<Uuid> {
    v.sort();
    v
}

/// `json!` shorthand for a user document.
pub fn user(name: &str) -> Value {
    json!({ "displayName": name })
}
