//! List queries: filters, ordering, keyset paging, counts and the related scope.

use std::collections::HashSet;

use cerulean_store::*;
use serde_json::json;
use uuid::Uuid;

use super::*;

const SKU_A: &str = "6fd2c87f-b296-42f0-b197-1e91e994b900";
const SKU_B: &str = "c7df2760-2c81-4ef7-b578-5b5392b571df";

fn cmp(path: &str, kind: ValueKind, op: CmpOp, value: Scalar) -> Filter {
    Filter::Compare { path: PropPath::of(path), kind, op, value }
}
fn s(v: &str) -> Scalar {
    Scalar::Str(v.into())
}
fn not(f: Filter) -> Filter {
    Filter::Not(Box::new(f))
}

/// Four users exercising strings, nulls, numbers, booleans, dates and collections.
struct People {
    tenant: Uuid,
    adele: Uuid,
    alex: Uuid,
    megan: Uuid,
    diego: Uuid,
}

async fn people(store: &dyn Store) -> People {
    let tenant = new_tenant(store, "Q").await;
    let adele = insert(
        store,
        tenant,
        "user",
        json!({
            "displayName": "Adele Vance", "mail": "adele@contoso.com", "accountEnabled": true, "age": 30,
            "createdDateTime": "2024-01-01T00:00:00Z", "tags": "50%_off",
            "proxyAddresses": ["SMTP:adele@contoso.com", "smtp:av@contoso.com"],
            "assignedLicenses": [{ "skuId": SKU_A }],
            "passwordProfile": { "forceChangePasswordNextSignIn": true }
        }),
        &[],
    )
    .await;
    let alex = insert(
        store,
        tenant,
        "user",
        json!({
            "displayName": "alex wilber", "accountEnabled": false, "age": 25,
            "createdDateTime": "2023-06-01T00:00:00Z",
            "proxyAddresses": [], "assignedLicenses": [{ "skuId": SKU_B }, { "skuId": SKU_A }],
            "passwordProfile": { "forceChangePasswordNextSignIn": false }
        }),
        &[],
    )
    .await;
    let megan = insert(
        store,
        tenant,
        "user",
        json!({ "displayName": "Megan Bowen", "accountEnabled": true, "age": 41.5, "tags": "500 off",
                "createdDateTime": "2024-03-01T00:00:00Z" }),
        &[],
    )
    .await;
    let diego = insert(
        store,
        tenant,
        "user",
        json!({ "displayName": "Diego 100%", "mail": null, "assignedLicenses": [] }),
        &[],
    )
    .await;
    // Another type that must never show up in user queries.
    insert(store, tenant, "group", json!({ "displayName": "Adele Vance", "age": 30 }), &[]).await;
    People { tenant, adele, alex, megan, diego }
}

async fn matching(store: &dyn Store, p: &People, f: Filter) -> Vec<Uuid> {
    let mut q = ListQuery::new(&["user"], Scope::Live);
    q.filter = Some(f);
    sorted(list_ids(store, p.tenant, &q).await)
}

pub async fn filter_comparisons(store: &dyn Store) {
    let p = people(store).await;
    let (adele, alex, megan, diego) = (p.adele, p.alex, p.megan, p.diego);
    let cases: Vec<(Filter, Vec<Uuid>)> = vec![
        // Strings compare case-insensitively.
        (cmp("displayName", ValueKind::String, CmpOp::Eq, s("ADELE vance")), vec![adele]),
        (cmp("displayName", ValueKind::String, CmpOp::Ne, s("adele VANCE")), vec![alex, megan, diego]),
        (cmp("displayName", ValueKind::String, CmpOp::Gt, s("B")), vec![megan, diego]),
        (cmp("displayName", ValueKind::String, CmpOp::Le, s("alex wilber")), vec![adele, alex]),
        // Null semantics: eq null = missing or JSON null; ne v holds for missing values.
        (cmp("mail", ValueKind::String, CmpOp::Eq, Scalar::Null), vec![alex, megan, diego]),
        (cmp("mail", ValueKind::String, CmpOp::Ne, Scalar::Null), vec![adele]),
        (cmp("mail", ValueKind::String, CmpOp::Ne, s("x@y")), vec![adele, alex, megan, diego]),
        (cmp("mail", ValueKind::String, CmpOp::Gt, Scalar::Null), vec![]),
        (not(cmp("mail", ValueKind::String, CmpOp::Eq, s("ADELE@contoso.com"))), vec![alex, megan, diego]),
        (not(cmp("mail", ValueKind::String, CmpOp::Ne, s("adele@contoso.com"))), vec![adele]),
        (not(cmp("mail", ValueKind::String, CmpOp::Eq, Scalar::Null)), vec![adele]),
        // Numbers, integers and doubles alike.
        (cmp("age", ValueKind::Number, CmpOp::Gt, Scalar::Int(26)), vec![adele, megan]),
        (cmp("age", ValueKind::Number, CmpOp::Ge, Scalar::Int(30)), vec![adele, megan]),
        (cmp("age", ValueKind::Number, CmpOp::Lt, Scalar::Float(30.5)), vec![adele, alex]),
        (cmp("age", ValueKind::Number, CmpOp::Le, Scalar::Int(25)), vec![alex]),
        (cmp("age", ValueKind::Number, CmpOp::Eq, Scalar::Float(41.5)), vec![megan]),
        (not(cmp("age", ValueKind::Number, CmpOp::Gt, Scalar::Int(26))), vec![alex, diego]),
        // Booleans.
        (cmp("accountEnabled", ValueKind::Bool, CmpOp::Eq, Scalar::Bool(true)), vec![adele, megan]),
        (cmp("accountEnabled", ValueKind::Bool, CmpOp::Eq, Scalar::Bool(false)), vec![alex]),
        (cmp("accountEnabled", ValueKind::Bool, CmpOp::Ne, Scalar::Bool(true)), vec![alex, diego]),
        // Nested paths.
        (
            Filter::Compare {
                path: PropPath(vec!["passwordProfile".into(), "forceChangePasswordNextSignIn".into()]),
                kind: ValueKind::Bool,
                op: CmpOp::Eq,
                value: Scalar::Bool(true),
            },
            vec![adele],
        ),
        // Date-times order as normalised text.
        (cmp("createdDateTime", ValueKind::DateTime, CmpOp::Ge, s("2024-01-01T00:00:00Z")), vec![adele, megan]),
        (cmp("createdDateTime", ValueKind::DateTime, CmpOp::Lt, s("2024-01-01T00:00:00Z")), vec![alex]),
        // The id is a record field.
        (
            Filter::Compare {
                path: PropPath::id(),
                kind: ValueKind::Guid,
                op: CmpOp::Eq,
                value: s(&alex.to_string().to_uppercase()),
            },
            vec![alex],
        ),
        // In, with and without null.
        (
            Filter::In {
                path: PropPath::of("displayName"),
                kind: ValueKind::String,
                values: vec![s("adele vance"), s("MEGAN BOWEN")],
            },
            vec![adele, megan],
        ),
        (
            Filter::In {
                path: PropPath::of("mail"),
                kind: ValueKind::String,
                values: vec![Scalar::Null, s("ADELE@contoso.com")],
            },
            vec![adele, alex, megan, diego],
        ),
        (Filter::In { path: PropPath::of("mail"), kind: ValueKind::String, values: vec![] }, vec![]),
        (
            not(Filter::In {
                path: PropPath::of("age"),
                kind: ValueKind::Number,
                values: vec![Scalar::Int(30), Scalar::Int(25)],
            }),
            vec![megan, diego],
        ),
        // Boolean structure.
        (
            Filter::And(vec![
                cmp("accountEnabled", ValueKind::Bool, CmpOp::Eq, Scalar::Bool(true)),
                cmp("age", ValueKind::Number, CmpOp::Lt, Scalar::Int(35)),
            ]),
            vec![adele],
        ),
        (
            Filter::Or(vec![
                cmp("displayName", ValueKind::String, CmpOp::Eq, s("megan bowen")),
                cmp("age", ValueKind::Number, CmpOp::Eq, Scalar::Int(25)),
            ]),
            vec![alex, megan],
        ),
        (
            not(Filter::And(vec![
                cmp("accountEnabled", ValueKind::Bool, CmpOp::Eq, Scalar::Bool(true)),
                cmp("age", ValueKind::Number, CmpOp::Gt, Scalar::Int(35)),
            ])),
            vec![adele, alex, diego],
        ),
        (
            not(Filter::Or(vec![
                cmp("mail", ValueKind::String, CmpOp::Ne, Scalar::Null),
                cmp("age", ValueKind::Number, CmpOp::Ne, Scalar::Null),
            ])),
            vec![diego],
        ),
    ];
    for (f, want) in cases {
        assert_eq!(matching(store, &p, f.clone()).await, sorted(want), "filter {f:?}");
    }
}

pub async fn filter_strings(store: &dyn Store) {
    let p = people(store).await;
    let (adele, alex, megan, diego) = (p.adele, p.alex, p.megan, p.diego);
    let sw = |path: &str, v: &str| Filter::StartsWith { path: PropPath::of(path), prefix: v.into() };
    let ew = |path: &str, v: &str| Filter::EndsWith { path: PropPath::of(path), suffix: v.into() };
    let wp = |v: &str| Filter::WordPrefix { path: PropPath::of("displayName"), term: v.into() };
    let cases: Vec<(Filter, Vec<Uuid>)> = vec![
        (sw("displayName", "A"), vec![adele, alex]),
        (sw("displayName", "ADE"), vec![adele]),
        (sw("displayName", ""), vec![adele, alex, megan, diego]),
        // The prefix is an index range `p <= x < succ(p)`: its ends are exact, and LIKE
        // metacharacters are plain characters.
        (sw("displayName", "adele vance"), vec![adele]),
        (sw("displayName", "Adele Vancf"), vec![]),
        (sw("displayName", "Adele Vanc"), vec![adele]),
        (sw("displayName", "Ade_e"), vec![]),
        (sw("displayName", "%"), vec![]),
        (sw("mail", "adele"), vec![adele]),
        (not(sw("displayName", "a")), vec![megan, diego]),
        (not(sw("mail", "adele")), vec![alex, megan, diego]),
        // `%` and `_` are literal characters, not wildcards.
        (sw("tags", "50%"), vec![adele]),
        (sw("tags", "5_"), vec![]),
        (ew("tags", "_off"), vec![adele]),
        (ew("displayName", "100%"), vec![diego]),
        (ew("displayName", "%"), vec![diego]),
        (ew("displayName", "BOWEN"), vec![megan]),
        (not(ew("displayName", "bowen")), vec![adele, alex, diego]),
        // Word prefixes: the start of the string or of any later word.
        (wp("wil"), vec![alex]),
        (wp("VAN"), vec![adele]),
        (wp("a"), vec![adele, alex]),
        (wp("ance"), vec![]),
        (wp("100%"), vec![diego]),
        (wp("10_"), vec![]),
    ];
    for (f, want) in cases {
        assert_eq!(matching(store, &p, f.clone()).await, sorted(want), "filter {f:?}");
    }
}

pub async fn filter_lambdas(store: &dyn Store) {
    let p = people(store).await;
    let (adele, alex, megan, diego) = (p.adele, p.alex, p.megan, p.diego);
    let any = |path: &str, el: Option<Filter>| Filter::Any { path: PropPath::of(path), element: el.map(Box::new) };
    let all = |path: &str, el: Filter| Filter::All { path: PropPath::of(path), element: Box::new(el) };
    let sku =
        |v: &str| Filter::Compare { path: PropPath::of("skuId"), kind: ValueKind::Guid, op: CmpOp::Eq, value: s(v) };
    let elem_eq =
        |v: &str| Filter::Compare { path: PropPath::element(), kind: ValueKind::String, op: CmpOp::Eq, value: s(v) };
    let cases: Vec<(Filter, Vec<Uuid>)> = vec![
        // A collection of strings: elements compare case-insensitively.
        (any("proxyAddresses", Some(elem_eq("smtp:ADELE@contoso.com"))), vec![adele]),
        (
            any("proxyAddresses", Some(Filter::StartsWith { path: PropPath::element(), prefix: "SMTP:AV".into() })),
            vec![adele],
        ),
        (any("proxyAddresses", None), vec![adele]),
        (not(any("proxyAddresses", None)), vec![alex, megan, diego]),
        // A collection of complex values (assignedLicenses/any(x:x/skuId eq guid)).
        (any("assignedLicenses", Some(sku(SKU_A))), vec![adele, alex]),
        (any("assignedLicenses", Some(sku(&SKU_B.to_uppercase()))), vec![alex]),
        (not(any("assignedLicenses", Some(sku(SKU_A)))), vec![megan, diego]),
        // All: true for empty or missing collections.
        (all("assignedLicenses", sku(SKU_A)), vec![adele, megan, diego]),
        (not(all("assignedLicenses", sku(SKU_A))), vec![alex]),
        (
            all("proxyAddresses", Filter::EndsWith { path: PropPath::element(), suffix: "@contoso.com".into() }),
            vec![adele, alex, megan, diego],
        ),
        (
            all("proxyAddresses", Filter::StartsWith { path: PropPath::element(), prefix: "smtp:a".into() }),
            vec![adele, alex, megan, diego],
        ),
        (
            all("proxyAddresses", Filter::StartsWith { path: PropPath::element(), prefix: "smtp:ad".into() }),
            vec![alex, megan, diego],
        ),
        // Lambdas combine with other conditions.
        (
            Filter::And(vec![
                any("assignedLicenses", Some(sku(SKU_A))),
                cmp("accountEnabled", ValueKind::Bool, CmpOp::Eq, Scalar::Bool(false)),
            ]),
            vec![alex],
        ),
    ];
    for (f, want) in cases {
        assert_eq!(matching(store, &p, f.clone()).await, sorted(want), "filter {f:?}");
    }
}

fn key(path: &str, kind: ValueKind, descending: bool) -> OrderKey {
    OrderKey { path: PropPath::of(path), kind, descending }
}

pub async fn ordering(store: &dyn Store) {
    let t = new_tenant(store, "O").await;
    let b = insert(store, t, "user", json!({ "displayName": "bravo", "city": "Oslo", "age": 3 }), &[]).await;
    let a = insert(store, t, "user", json!({ "displayName": "Alpha", "city": "oslo", "age": 10 }), &[]).await;
    let c = insert(store, t, "user", json!({ "displayName": "Charlie", "city": "Bergen", "age": 2.5 }), &[]).await;
    let n = insert(store, t, "user", json!({ "city": null }), &[]).await;

    let run = |order: Vec<OrderKey>| {
        let mut q = ListQuery::new(&["user"], Scope::Live);
        q.order = order;
        q
    };
    // Case-insensitive text order; nulls first ascending, last descending.
    assert_eq!(list_ids(store, t, &run(vec![key("displayName", ValueKind::String, false)])).await, vec![n, a, b, c]);
    assert_eq!(list_ids(store, t, &run(vec![key("displayName", ValueKind::String, true)])).await, vec![c, b, a, n]);
    // Numbers order numerically (not as text).
    assert_eq!(list_ids(store, t, &run(vec![key("age", ValueKind::Number, false)])).await, vec![n, c, b, a]);
    // Multi-key, mixed directions: city asc (Oslo == oslo), then displayName desc.
    let q = run(vec![key("city", ValueKind::String, false), key("displayName", ValueKind::String, true)]);
    assert_eq!(list_ids(store, t, &q).await, vec![n, c, b, a]);
    // Ties fall back to the id.
    let x = insert(store, t, "user", json!({ "displayName": "same" }), &[]).await;
    let y = insert(store, t, "user", json!({ "displayName": "SAME" }), &[]).await;
    let q = run(vec![key("displayName", ValueKind::String, true)]);
    let got = list_ids(store, t, &q).await;
    let (lo, hi) = if x < y { (x, y) } else { (y, x) };
    assert_eq!(&got[..2], &[lo, hi]);
    // No order: by id.
    let all = list_ids(store, t, &run(vec![])).await;
    assert_eq!(all, sorted(all.clone()));
}

/// Follows pages of several sort orders and checks they equal one big page.
pub async fn keyset_paging(store: &dyn Store) {
    let t = new_tenant(store, "P").await;
    for i in 0..23 {
        let mut d = json!({ "displayName": format!("User {:02}", i % 7), "n": i });
        if i % 3 == 0 {
            d["rank"] = json!(i % 4);
        }
        if i % 5 == 0 {
            d["displayName"] = json!(null);
        }
        insert(store, t, "user", d, &[]).await;
    }
    let orders = vec![
        vec![],
        vec![key("displayName", ValueKind::String, false)],
        vec![key("displayName", ValueKind::String, true)],
        vec![key("rank", ValueKind::Number, true), key("displayName", ValueKind::String, false)],
        vec![key("rank", ValueKind::Number, false), key("displayName", ValueKind::String, true)],
        vec![key("rank", ValueKind::Number, true), key("displayName", ValueKind::String, true)],
    ];
    for order in orders {
        for top in [1, 4, 7, 100] {
            let mut q = ListQuery::new(&["user"], Scope::Live);
            q.order = order.clone();
            q.top = 1000;
            let full = list_ids(store, t, &q).await;
            assert_eq!(full.len(), 23);
            q.top = top;
            assert_eq!(all_pages(store, t, q).await, full, "order {order:?}, top {top}");
            // Backward from the end: the same items, closest first, page by page.
            let mut back = ListQuery::new(&["user"], Scope::Live);
            back.order = order.clone();
            back.top = top;
            back.backward = true;
            let mut seen = Vec::new();
            loop {
                let page = store.list(t, &back).await.expect("list backward");
                assert!(page.items.len() <= top);
                seen.extend(page.items.iter().map(|r| r.id));
                match page.next {
                    Some(c) => back.after = Some(c),
                    None => break,
                }
            }
            seen.reverse();
            assert_eq!(seen, full, "backward: order {order:?}, top {top}");
        }
    }
    // The last page carries no cursor.
    let mut q = ListQuery::new(&["user"], Scope::Live);
    q.top = 23;
    assert!(store.list(t, &q).await.expect("list").next.is_none());
    q.top = 22;
    assert!(store.list(t, &q).await.expect("list").next.is_some());
    // A cursor that does not fit the order is invalid.
    q.after = Some(Cursor { values: vec![Scalar::Int(1)], id: Uuid::new_v4() });
    assert!(matches!(store.list(t, &q).await, Err(StoreError::Invalid(_))));
}

/// Inserts and deletes between pages: nothing already seen repeats, nothing that stayed is
/// skipped.
pub async fn paging_under_changes(store: &dyn Store) {
    let t = new_tenant(store, "C").await;
    let mut initial = Vec::new();
    for i in 0..12 {
        initial.push(insert(store, t, "user", json!({ "displayName": format!("m{:02}", i * 2) }), &[]).await);
    }
    let mut q = ListQuery::new(&["user"], Scope::Live);
    q.order = vec![key("displayName", ValueKind::String, true)];
    q.top = 5;
    let mut seen = Vec::new();
    let mut deleted = HashSet::new();
    let mut round = 0;
    loop {
        let page = store.list(t, &q).await.expect("list");
        seen.extend(page.items.iter().map(|o| o.id));
        let Some(next) = page.next else { break };
        q.after = Some(next);
        // Between pages: add an item before the cursor and one after it, delete one not yet seen.
        round += 1;
        insert(store, t, "user", json!({ "displayName": format!("z{round}") }), &[]).await;
        insert(store, t, "user", json!({ "displayName": format!("a{round}") }), &[]).await;
        if let Some(victim) = initial.iter().find(|id| !seen.contains(id) && !deleted.contains(*id)) {
            apply_ok(store, t, vec![Op::SoftDelete { id: *victim, at: "2024-01-01T00:00:00Z".into() }]).await;
            deleted.insert(*victim);
        }
    }
    let unique: HashSet<Uuid> = seen.iter().copied().collect();
    assert_eq!(unique.len(), seen.len(), "no item repeats");
    for id in &initial {
        assert!(seen.contains(id) != deleted.contains(id), "every surviving item is seen exactly when not deleted");
    }
    // Items inserted after the cursor (the `a*` names sort last descending) are seen.
    assert!(seen.len() > initial.len() - deleted.len());
}

pub async fn count(store: &dyn Store) {
    let t = new_tenant(store, "N").await;
    for i in 0..9 {
        insert(store, t, "user", json!({ "displayName": format!("u{i}"), "even": i % 2 == 0 }), &[]).await;
    }
    insert(store, t, "group", json!({ "displayName": "g" }), &[]).await;
    let mut q = ListQuery::new(&["user"], Scope::Live);
    q.count = true;
    q.top = 2;
    q.filter = Some(cmp("even", ValueKind::Bool, CmpOp::Eq, Scalar::Bool(true)));
    let page = store.list(t, &q).await.expect("list");
    assert_eq!(page.items.len(), 2);
    assert_eq!(page.count, Some(5));
    q.after = page.next;
    assert_eq!(store.list(t, &q).await.expect("list").count, Some(5), "count ignores the cursor");
    q.count = false;
    assert_eq!(store.list(t, &q).await.expect("list").count, None);

    let mut any = ListQuery::new(&[], Scope::Live);
    any.count = true;
    assert_eq!(store.list(t, &any).await.expect("list").count, Some(10), "empty types mean every type");
    let mut two = ListQuery::new(&["user", "group"], Scope::Live);
    two.count = true;
    two.top = 1;
    assert_eq!(store.list(t, &two).await.expect("list").count, Some(10));
}

pub async fn related_scope(store: &dyn Store) {
    let t = new_tenant(store, "R").await;
    let g1 = insert(store, t, "group", json!({ "displayName": "G1" }), &[]).await;
    let g2 = insert(store, t, "group", json!({ "displayName": "G2" }), &[]).await;
    let g3 = insert(store, t, "group", json!({ "displayName": "G3" }), &[]).await;
    let u1 = insert(store, t, "user", json!({ "displayName": "Zed" }), &[]).await;
    let u2 = insert(store, t, "user", json!({ "displayName": "Amy" }), &[]).await;
    apply_ok(
        store,
        t,
        vec![
            add_edge(EdgeKind::Member, g1, u1),
            add_edge(EdgeKind::Member, g1, u2),
            add_edge(EdgeKind::Member, g1, g2),
            add_edge(EdgeKind::Member, g3, u1),
            add_edge(EdgeKind::Owner, g1, u2),
        ],
    )
    .await;
    let related =
        |id, reverse, types: &[&str]| ListQuery::new(types, Scope::Related { kind: EdgeKind::Member, id, reverse });

    assert_eq!(sorted(list_ids(store, t, &related(g1, false, &[])).await), sorted(vec![u1, u2, g2]));
    assert_eq!(sorted(list_ids(store, t, &related(g1, false, &["user"])).await), sorted(vec![u1, u2]));
    assert_eq!(sorted(list_ids(store, t, &related(u1, true, &[])).await), sorted(vec![g1, g3]));
    assert_eq!(sorted(store.edge_ids(t, EdgeKind::Member, u1, true).await.expect("edges")), sorted(vec![g1, g3]));
    assert_eq!(store.edge_ids(t, EdgeKind::Owner, g1, false).await.expect("edges"), vec![u2]);

    // Filter, order and count apply within the scope.
    let mut q = related(g1, false, &["user"]);
    q.order = vec![key("displayName", ValueKind::String, false)];
    q.count = true;
    let page = store.list(t, &q).await.expect("list");
    assert_eq!(page.items.iter().map(|o| o.id).collect::<Vec<_>>(), vec![u2, u1]);
    assert_eq!(page.count, Some(2));
    q.filter = Some(Filter::StartsWith { path: PropPath::of("displayName"), prefix: "z".into() });
    assert_eq!(list_ids(store, t, &q).await, vec![u1]);
    q.filter = None;
    q.top = 1;
    assert_eq!(all_pages(store, t, q).await, vec![u2, u1]);

    // Deleted ends are hidden in both directions.
    apply_ok(store, t, vec![Op::SoftDelete { id: u2, at: "2024-01-01T00:00:00Z".into() }]).await;
    apply_ok(store, t, vec![Op::SoftDelete { id: g3, at: "2024-01-01T00:00:00Z".into() }]).await;
    assert_eq!(sorted(list_ids(store, t, &related(g1, false, &[])).await), sorted(vec![u1, g2]));
    assert_eq!(list_ids(store, t, &related(u1, true, &[])).await, vec![g1]);
    assert_eq!(store.edge_ids(t, EdgeKind::Member, u1, true).await.expect("edges"), vec![g1]);
}

/// Several types in one list (`memberOf`, directory objects, named locations): one merged
/// order across the types, paging forward and backward, filters, counts and related scopes as
/// with one type, and objects of other types or deleted ones never appear.
pub async fn several_types(store: &dyn Store) {
    let t = new_tenant(store, "S").await;
    let mut expected: Vec<(Option<String>, Uuid)> = Vec::new();
    for i in 0..17 {
        let ty = if i % 3 == 0 { "group" } else { "user" };
        let mut d = json!({ "displayName": format!("Name {:02}", i % 5), "n": i });
        if i % 4 == 0 {
            d["rank"] = json!(i % 3);
        }
        if i % 7 == 0 {
            d["displayName"] = json!(null);
        }
        let name = d["displayName"].as_str().map(str::to_lowercase);
        expected.push((name, insert(store, t, ty, d, &[]).await));
    }
    // Neither another type nor a deleted object of a listed type is part of the list.
    insert(store, t, "device", json!({ "displayName": "Name 01" }), &[]).await;
    let gone = insert(store, t, "group", json!({ "displayName": "Name 02" }), &[]).await;
    apply_ok(store, t, vec![Op::SoftDelete { id: gone, at: "2024-01-01T00:00:00Z".into() }]).await;

    let types = ["user", "group"];
    let mut q = ListQuery::new(&types, Scope::Live);
    q.top = 1000;
    let by_id = sorted(expected.iter().map(|e| e.1).collect());
    assert_eq!(list_ids(store, t, &q).await, by_id, "no order: by id across both types");
    q.order = vec![key("displayName", ValueKind::String, false)];
    let mut by_name = expected.clone();
    by_name.sort();
    assert_eq!(list_ids(store, t, &q).await, by_name.iter().map(|e| e.1).collect::<Vec<_>>(), "by name, then id");

    let orders = vec![
        vec![],
        vec![key("displayName", ValueKind::String, false)],
        vec![key("displayName", ValueKind::String, true)],
        vec![key("rank", ValueKind::Number, true), key("displayName", ValueKind::String, false)],
        vec![key("rank", ValueKind::Number, false), key("displayName", ValueKind::String, true)],
    ];
    for order in orders {
        let mut q = ListQuery::new(&types, Scope::Live);
        q.order = order.clone();
        q.top = 1000;
        let full = list_ids(store, t, &q).await;
        assert_eq!(sorted(full.clone()), by_id, "order {order:?}: every listed object once");
        for top in [1, 4, 100] {
            q.top = top;
            assert_eq!(all_pages(store, t, q.clone()).await, full, "order {order:?}, top {top}");
            let mut back = ListQuery::new(&types, Scope::Live);
            back.order = order.clone();
            back.top = top;
            back.backward = true;
            let mut seen = Vec::new();
            loop {
                let page = store.list(t, &back).await.expect("list backward");
                assert!(page.items.len() <= top);
                seen.extend(page.items.iter().map(|r| r.id));
                match page.next {
                    Some(c) => back.after = Some(c),
                    None => break,
                }
            }
            seen.reverse();
            assert_eq!(seen, full, "backward: order {order:?}, top {top}");
        }
    }

    // A filter and the count apply to every type.
    let mut q = ListQuery::new(&types, Scope::Live);
    q.filter = Some(Filter::StartsWith { path: PropPath::of("displayName"), prefix: "name 0".into() });
    q.count = true;
    q.top = 3;
    let named: Vec<Uuid> =
        by_id.iter().copied().filter(|id| expected.iter().any(|e| e.1 == *id && e.0.is_some())).collect();
    let page = store.list(t, &q).await.expect("list");
    assert_eq!(page.count, Some(named.len() as u64));
    assert_eq!(page.items.iter().map(|o| o.id).collect::<Vec<_>>(), named[..3].to_vec());
    assert!(page.items.iter().all(|o| o.object_type == "user" || o.object_type == "group"));
    assert_eq!(all_pages(store, t, q).await, named);

    // Within a related scope.
    let owner = insert(store, t, "group", json!({ "displayName": "Owner" }), &[]).await;
    let members: Vec<Uuid> = expected.iter().step_by(2).map(|e| e.1).collect();
    apply_ok(store, t, members.iter().map(|m| add_edge(EdgeKind::Member, owner, *m)).collect()).await;
    let mut q = ListQuery::new(&types, Scope::Related { kind: EdgeKind::Member, id: owner, reverse: false });
    q.top = 2;
    assert_eq!(all_pages(store, t, q).await, sorted(members));
}

/// Counted pages in id order (the engines may count and page in one pass): every page holds
/// the next ids after the cursor, the count stays the number of all matches, and the last page
/// has no cursor.
pub async fn counted_pages_in_id_order(store: &dyn Store) {
    let t = new_tenant(store, "C").await;
    let mut matching = Vec::new();
    for i in 0..40 {
        let name = if i % 3 == 0 { format!("Adele {i}") } else { format!("Bob {i}") };
        let id = insert(store, t, "user", json!({ "displayName": name }), &[]).await;
        if i % 3 == 0 {
            matching.push(id);
        }
    }
    insert(store, t, "group", json!({ "displayName": "Adele's group" }), &[]).await;
    let gone = insert(store, t, "user", json!({ "displayName": "Adele gone" }), &[]).await;
    apply_ok(store, t, vec![Op::SoftDelete { id: gone, at: "2024-01-01T00:00:00Z".into() }]).await;
    let matching = sorted(matching);
    for top in [1, 5, 14, 100] {
        let mut q = ListQuery::new(&["user"], Scope::Live);
        q.filter = Some(Filter::StartsWith { path: PropPath::of("displayName"), prefix: "adele".into() });
        q.count = true;
        q.top = top;
        let mut seen = Vec::new();
        loop {
            let page = store.list(t, &q).await.expect("list");
            assert_eq!(page.count, Some(matching.len() as u64), "top {top}: the count ignores the cursor");
            assert!(page.items.len() <= top);
            seen.extend(page.items.iter().map(|o| o.id));
            match page.next {
                Some(c) => {
                    assert_eq!(c.id, *seen.last().expect("a page before a cursor"), "the cursor is the last item");
                    q.after = Some(c);
                }
                None => break,
            }
        }
        assert_eq!(seen, matching, "top {top}");
    }
    // Nothing matches: an empty page, a zero count.
    let mut q = ListQuery::new(&["user"], Scope::Live);
    q.filter = Some(Filter::StartsWith { path: PropPath::of("displayName"), prefix: "zed".into() });
    q.count = true;
    let page = store.list(t, &q).await.expect("list");
    assert!(page.items.is_empty() && page.next.is_none());
    assert_eq!(page.count, Some(0));
}

/// A prefix filter with a count, the list the benchmark measures (`startswith(displayName,
/// 'Adele')&$count=true`): the page and the count agree on every edge of the index range. Case
/// variants match (ASCII folding), the next prefix up does not, soft-deleted users leave both
/// the count and the page and come back when restored, an update moves a user in or out, other
/// types and tenants never count, and a page past the last match is empty but still counted.
pub async fn prefix_count_with_deleted_and_case_variants(store: &dyn Store) {
    let t = new_tenant(store, "P").await;
    let other = new_tenant(store, "P2").await;
    let mut matching = Vec::new();
    for name in ["Adele Vance", "ADELE", "adele", "aDeLe x", "Adele", "Adelex"] {
        matching.push(insert(store, t, "user", user(name), &[]).await);
    }
    // Just outside the range on each side, and values that are no string.
    for name in ["Adel", "Adeld zzz", "Adelf", "Adelé", "Ádele", " Adele", "Bob"] {
        insert(store, t, "user", user(name), &[]).await;
    }
    insert(store, t, "user", json!({ "givenName": "Adele" }), &[]).await;
    insert(store, t, "user", json!({ "displayName": null }), &[]).await;
    insert(store, t, "group", user("Adele's group"), &[]).await;
    insert(store, other, "user", user("Adele elsewhere"), &[]).await;
    let gone = insert(store, t, "user", user("Adele gone"), &[]).await;
    let back = insert(store, t, "user", user("Adele back"), &[]).await;
    let renamed = insert(store, t, "user", user("Adele renamed"), &[]).await;
    let joined = insert(store, t, "user", user("Someone"), &[]).await;
    let at = "2024-01-01T00:00:00Z".to_string();
    apply_ok(store, t, vec![Op::SoftDelete { id: gone, at: at.clone() }, Op::SoftDelete { id: back, at }]).await;
    apply_ok(store, t, vec![Op::Restore { id: back, unique: Vec::new() }]).await;
    let rename =
        |id: Uuid, name: &str| Op::Update { id, expected_version: 1, doc: doc(user(name)), unique: Vec::new() };
    apply_ok(store, t, vec![rename(renamed, "Renamed Adele"), rename(joined, "adele joined")]).await;
    matching.extend([back, joined]);
    let matching = sorted(matching);

    let mut q = ListQuery::new(&["user"], Scope::Live);
    q.filter = Some(Filter::StartsWith { path: PropPath::of("displayName"), prefix: "Adele".into() });
    q.count = true;
    q.top = 100;
    let page = store.list(t, &q).await.expect("list");
    assert_eq!(page.count, Some(matching.len() as u64), "the count is every live match");
    assert_eq!(page.items.iter().map(|o| o.id).collect::<Vec<_>>(), matching, "the page is every match, in id order");
    assert!(page.next.is_none());
    assert!(page.items.iter().all(|o| o.doc.get("displayName").is_some() && o.deleted_at.is_none()));

    // Pages of three: each counted in full.
    q.top = 3;
    let first = store.list(t, &q).await.expect("list");
    assert_eq!(first.count, Some(matching.len() as u64));
    assert_eq!(first.items.iter().map(|o| o.id).collect::<Vec<_>>(), matching[..3].to_vec());
    assert_eq!(all_pages(store, t, q.clone()).await, matching);

    // Past the last match: no item, no cursor, the same count.
    q.after = Some(Cursor { values: Vec::new(), id: Uuid::max() });
    let past = store.list(t, &q).await.expect("list");
    assert!(past.items.is_empty() && past.next.is_none());
    assert_eq!(past.count, Some(matching.len() as u64), "an empty page still carries the count");

    // The recycle bin holds the deleted one alone.
    let mut bin = ListQuery::new(&["user"], Scope::Deleted);
    bin.filter = q.filter.clone();
    bin.count = true;
    let page = store.list(t, &bin).await.expect("list");
    assert_eq!(page.count, Some(1));
    assert_eq!(page.items.iter().map(|o| o.id).collect::<Vec<_>>(), vec![gone]);

    // Without a count the page is the same.
    let mut plain = ListQuery::new(&["user"], Scope::Live);
    plain.filter = q.filter.clone();
    plain.top = 100;
    let page = store.list(t, &plain).await.expect("list");
    assert_eq!(page.count, None);
    assert_eq!(page.items.iter().map(|o| o.id).collect::<Vec<_>>(), matching);
}
