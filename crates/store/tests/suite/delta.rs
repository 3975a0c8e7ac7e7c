//! The change-log reads delta queries rely on: bounds, per-type reads, update details and
//! retention.

use cerulean_store::*;
use serde_json::json;
use uuid::Uuid;

use super::*;

fn types(t: &[&str]) -> Vec<String> {
    t.iter().map(|s| s.to_string()).collect()
}

pub async fn change_log_bounds_and_types(store: &dyn Store) {
    let t = new_tenant(store, "Delta").await;
    assert_eq!(store.change_log_bounds(t).await.expect("bounds"), ChangeLogBounds { pruned_through: 0, last: 0 });
    assert!(matches!(store.change_log_bounds(Uuid::new_v4()).await, Err(StoreError::NotFound(_))));

    let u = insert(store, t, "user", json!({ "displayName": "A", "city": "Oslo" }), &[]).await; // 1
    let g = insert(store, t, "group", json!({ "displayName": "G" }), &[]).await; // 2
    let v = version(store, t, u).await;
    let update = Op::Update {
        id: u,
        expected_version: v,
        doc: doc(json!({ "displayName": "B", "city": "Oslo", "jobTitle": "x" })),
        unique: vec![],
    };
    apply_ok(store, t, vec![update, add_edge(EdgeKind::Member, g, u)]).await; // 3, 4
    assert_eq!(store.change_log_bounds(t).await.expect("bounds").last, 4);

    let users = store.changes_of_types(t, &types(&["user"]), 0, 100).await.expect("user changes");
    assert_eq!(
        users.iter().map(|e| (e.seq, e.kind.as_str())).collect::<Vec<_>>(),
        vec![(1, "created"), (3, "updated")]
    );
    assert_eq!(users[1].detail, json!({ "changed": ["displayName", "jobTitle"] }), "updates name what changed");
    let groups = store.changes_of_types(t, &types(&["group"]), 2, 100).await.expect("group changes");
    assert_eq!(groups.iter().map(|e| (e.seq, e.kind.as_str())).collect::<Vec<_>>(), vec![(4, "edge_added")]);
    let both = store.changes_of_types(t, &types(&["group", "user"]), 1, 2).await.expect("both");
    assert_eq!(both.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![2, 3], "merged in order, limited");
    assert!(store.changes_of_types(t, &types(&["device"]), 0, 10).await.expect("none").is_empty());
}

pub async fn change_log_retention(store: &dyn Store) {
    let t = new_tenant(store, "Retention").await;
    let other = new_tenant(store, "Other").await;
    for i in 0..5 {
        insert(store, t, "user", user(&format!("U{i}")), &[]).await;
    }
    insert(store, other, "user", user("O"), &[]).await;

    // Nothing is older than a past instant.
    assert_eq!(store.prune_changes(t, "2000-01-01T00:00:00Z", 100).await.expect("prune"), 0);
    assert_eq!(store.change_log_bounds(t).await.expect("bounds").pruned_through, 0);

    // Everything is older than a future instant; batches are bounded by `limit`.
    let future = "2999-01-01T00:00:00Z";
    assert_eq!(store.prune_changes(t, future, 2).await.expect("prune"), 2);
    assert_eq!(store.change_log_bounds(t).await.expect("bounds"), ChangeLogBounds { pruned_through: 2, last: 5 });
    let rest = store.changes_since(t, 0, 100).await.expect("log");
    assert_eq!(rest.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![3, 4, 5]);
    assert_eq!(store.prune_changes(t, future, 100).await.expect("prune"), 3);
    assert_eq!(store.change_log_bounds(t).await.expect("bounds"), ChangeLogBounds { pruned_through: 5, last: 5 });
    assert_eq!(store.prune_changes(t, future, 100).await.expect("prune"), 0, "an empty log stays pruned");
    assert_eq!(store.change_log_bounds(t).await.expect("bounds").pruned_through, 5, "the watermark never drops");

    // The sequence continues after pruning, and other tenants are untouched.
    assert_eq!(insert_seq(store, t).await, 6);
    assert_eq!(store.changes_since(other, 0, 10).await.expect("log").len(), 1);
    assert_eq!(store.change_log_bounds(other).await.expect("bounds").pruned_through, 0);
    assert!(matches!(store.prune_changes(Uuid::new_v4(), future, 10).await, Err(StoreError::NotFound(_))));
}

async fn insert_seq(store: &dyn Store, t: Uuid) -> u64 {
    apply_ok(store, t, vec![Op::Insert { object: record("user", user("Later")), unique: vec![] }]).await
}
