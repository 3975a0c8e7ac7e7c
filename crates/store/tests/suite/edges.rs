//! Whole-tenant edge reads (what an in-memory membership graph loads) and the `Among` scope
//! (how a computed id set is filtered, ordered, paged and counted).

use cerulean_store::*;
use serde_json::json;
use uuid::Uuid;

use super::*;

pub async fn edges_of_kind_lists_live_edges_with_types(store: &dyn Store) {
    let t = new_tenant(store, "EdgesOfKind").await;
    let other = new_tenant(store, "EdgesOther").await;
    let g1 = insert(store, t, "group", json!({ "displayName": "G1" }), &[]).await;
    let g2 = insert(store, t, "group", json!({ "displayName": "G2" }), &[]).await;
    let u = insert(store, t, "user", user("U"), &[]).await;
    let gone = insert(store, t, "user", user("Gone"), &[]).await;
    apply_ok(
        store,
        t,
        vec![
            add_edge(EdgeKind::Member, g1, g2),
            add_edge(EdgeKind::Member, g2, u),
            add_edge(EdgeKind::Member, g1, gone),
            add_edge(EdgeKind::Owner, g1, u),
        ],
    )
    .await;
    apply_ok(store, t, vec![Op::SoftDelete { id: gone, at: "2024-01-01T00:00:00Z".into() }]).await;
    let og = insert(store, other, "group", json!({ "displayName": "Other" }), &[]).await;
    let ou = insert(store, other, "user", user("OU"), &[]).await;
    apply_ok(store, other, vec![add_edge(EdgeKind::Member, og, ou)]).await;

    let mut edges = store.edges_of_kind(t, EdgeKind::Member).await.expect("edges_of_kind");
    edges.sort_by_key(|e| (e.source, e.target));
    let mut want = vec![
        EdgeRecord { source: g1, source_type: "group".into(), target: g2, target_type: "group".into() },
        EdgeRecord { source: g2, source_type: "group".into(), target: u, target_type: "user".into() },
    ];
    want.sort_by_key(|e| (e.source, e.target));
    assert_eq!(edges, want, "only Member edges of this tenant with both ends live");
    let owners = store.edges_of_kind(t, EdgeKind::Owner).await.expect("edges_of_kind");
    assert_eq!(owners.len(), 1);
    assert!(store.edges_of_kind(Uuid::new_v4(), EdgeKind::Member).await.expect("unknown tenant").is_empty());
}

pub async fn among_scope(store: &dyn Store) {
    let t = new_tenant(store, "Among").await;
    let mut ids = Vec::new();
    for name in ["Ann", "Bob", "Cid", "Dee", "Eve"] {
        ids.push(insert(store, t, "user", user(name), &[]).await);
    }
    let g = insert(store, t, "group", json!({ "displayName": "Grp" }), &[]).await;
    apply_ok(store, t, vec![Op::SoftDelete { id: ids[4], at: "2024-01-01T00:00:00Z".into() }]).await;
    let wanted = vec![ids[0], ids[1], ids[3], ids[4], g, Uuid::new_v4(), ids[0]];

    let q = ListQuery::new(&[], Scope::Among(wanted.clone()));
    let got = sorted(list_ids(store, t, &q).await);
    assert_eq!(got, sorted(vec![ids[0], ids[1], ids[3], g]), "live objects among the ids, once each");

    let mut q = ListQuery::new(&["user"], Scope::Among(wanted.clone()));
    q.top = 1;
    q.count = true;
    let page = store.list(t, &q).await.expect("list");
    assert_eq!(page.count, Some(3));
    assert_eq!(sorted(all_pages(store, t, q).await), sorted(vec![ids[0], ids[1], ids[3]]));

    let mut q = ListQuery::new(&["user"], Scope::Among(wanted));
    q.filter = Some(Filter::StartsWith { path: PropPath::of("displayName"), prefix: "b".into() });
    assert_eq!(list_ids(store, t, &q).await, vec![ids[1]]);

    let q = ListQuery::new(&[], Scope::Among(Vec::new()));
    assert!(list_ids(store, t, &q).await.is_empty(), "an empty set matches nothing");
}
