//! Tenants, objects, claims, versions, soft delete, purge, edges, secrets, keys and logs.

use cerulean_store::*;
use serde_json::json;
use uuid::Uuid;

use super::*;

/// `PutDomain` and `DeleteDomain`: upsert by name with the document, appended after the
/// tenant's other domains, unique across tenants; only verified domains name their tenant.
pub async fn domain_ops(store: &dyn Store) {
    let a = new_tenant(store, "Alpha").await;
    let b = new_tenant(store, "Beta").await;
    let name = format!("alpha-{}.example", Uuid::new_v4().simple());
    let mut d = DomainRecord {
        name: name.clone(),
        is_initial: false,
        is_default: false,
        is_verified: false,
        doc: doc(json!({"supportedServices": ["Email"]})),
    };
    store.apply(a, change(vec![Op::PutDomain(d.clone())])).await.expect("add");
    let t = store.tenant(a).await.expect("tenant").expect("exists");
    assert_eq!(t.domains.len(), 2);
    assert_eq!(t.domains[1], d, "a new domain goes last, with its document");
    assert!(store.tenant_by_domain(&name).await.expect("lookup").is_none(), "unverified names no tenant");
    d.is_verified = true;
    store.apply(a, change(vec![Op::PutDomain(d.clone())])).await.expect("update");
    assert_eq!(store.tenant(a).await.expect("tenant").expect("exists").domains[1], d);
    assert_eq!(store.tenant_by_domain(&name).await.expect("lookup").map(|t| t.id), Some(a));
    match store.apply(b, change(vec![Op::PutDomain(d.clone())])).await {
        Err(StoreError::Conflict { namespace, holder, .. }) => assert_eq!((namespace.as_str(), holder), ("domain", a)),
        other => panic!("expected a domain conflict, got {other:?}"),
    }
    assert!(matches!(
        store.apply(b, change(vec![Op::DeleteDomain { name: name.clone() }])).await,
        Err(StoreError::NotFound(_))
    ));
    store.apply(a, change(vec![Op::DeleteDomain { name: name.clone() }])).await.expect("delete");
    assert_eq!(store.tenant(a).await.expect("tenant").expect("exists").domains.len(), 1);
    assert!(store.tenant_by_domain(&name).await.expect("lookup").is_none());
}

pub async fn tenants_and_domains(store: &dyn Store) {
    let t = TenantRecord {
        id: Uuid::new_v4(),
        display_name: "Contoso".into(),
        domains: vec![
            DomainRecord {
                name: "contoso.onmicrosoft.com".into(),
                is_initial: true,
                is_default: false,
                is_verified: true,
                doc: Default::default(),
            },
            DomainRecord {
                name: "Contoso.COM".into(),
                is_initial: false,
                is_default: true,
                is_verified: true,
                doc: Default::default(),
            },
        ],
        created_at: "2024-01-01T00:00:00Z".into(),
    };
    store.create_tenant(&t).await.expect("create");
    let got = store.tenant(t.id).await.expect("tenant").expect("exists");
    assert_eq!(got.display_name, "Contoso");
    assert_eq!(got.domains.len(), 2);
    assert_eq!(got.domains[1].name, "contoso.com", "domain names are stored lower-case");
    assert!(got.domains[1].is_default && !got.domains[1].is_initial);

    let by = store.tenant_by_domain("CONTOSO.com").await.expect("lookup").expect("found");
    assert_eq!(by.id, t.id);
    assert!(store.tenant_by_domain("fabrikam.com").await.expect("lookup").is_none());
    assert!(store.tenant(Uuid::new_v4()).await.expect("tenant").is_none());

    // Domains are unique across the server.
    let clash = TenantRecord {
        id: Uuid::new_v4(),
        display_name: "Other".into(),
        domains: vec![DomainRecord {
            name: "contoso.com".into(),
            is_initial: true,
            is_default: true,
            is_verified: true,
            doc: Default::default(),
        }],
        created_at: "2024-01-02T00:00:00Z".into(),
    };
    match store.create_tenant(&clash).await {
        Err(StoreError::Conflict { namespace, holder, .. }) => {
            assert_eq!(namespace, "domain");
            assert_eq!(holder, t.id);
        }
        other => panic!("expected a domain conflict, got {other:?}"),
    }
    assert!(store.tenant(clash.id).await.expect("tenant").is_none(), "a failed create leaves nothing");
    assert!(matches!(store.create_tenant(&t).await, Err(StoreError::Conflict { .. })));

    let second = new_tenant(store, "Fabrikam").await;
    let all: Vec<Uuid> = store.tenants().await.expect("tenants").into_iter().map(|t| t.id).collect();
    assert_eq!(all, vec![t.id, second]);

    assert_eq!(store.meta("bootstrap").await.expect("meta"), None);
    store.set_meta("bootstrap", "one").await.expect("set");
    store.set_meta("bootstrap", "two").await.expect("set again");
    assert_eq!(store.meta("bootstrap").await.expect("meta").as_deref(), Some("two"));
}

pub async fn insert_get_get_many(store: &dyn Store) {
    let t = new_tenant(store, "T").await;
    let mut o = record("user", json!({ "displayName": "Adele", "nested": { "x": [1, 2] } }));
    o.version = 7; // ignored: versions start at 1
    let id = o.id;
    apply_ok(store, t, vec![Op::Insert { object: o.clone(), unique: vec![("upn".into(), "adele@x".into())] }]).await;
    let got = store.get(t, id).await.expect("get").expect("exists");
    assert_eq!(got.object_type, "user");
    assert_eq!(got.version, 1);
    assert_eq!(got.doc, o.doc);
    assert_eq!(got.deleted_at, None);
    assert_eq!(store.find_unique(t, "upn", "adele@x").await.expect("find"), Some(id));
    assert_eq!(store.find_unique(t, "upn", "ADELE@x").await.expect("find"), None, "claim keys compare exactly");

    let b = insert(store, t, "group", json!({ "displayName": "G" }), &[]).await;
    let many = store.get_many(t, &[b, Uuid::new_v4(), id]).await.expect("get_many");
    assert_eq!(many.iter().map(|o| o.id).collect::<Vec<_>>(), vec![b, id], "missing skipped, order kept");
    assert!(store.get(t, Uuid::new_v4()).await.expect("get").is_none());

    // Inserting an existing id is a conflict.
    let dup = ObjectRecord { id, ..record("user", json!({})) };
    assert!(matches!(
        store.apply(t, change(vec![Op::Insert { object: dup, unique: vec![] }])).await,
        Err(StoreError::Conflict { .. })
    ));
}

pub async fn claims_conflicts_roll_back(store: &dyn Store) {
    let t = new_tenant(store, "T").await;
    let a = insert(store, t, "user", user("A"), &[("upn", "a@x")]).await;
    let b = insert(store, t, "user", user("B"), &[("upn", "b@x")]).await;
    let seq = store.changes_since(t, 0, 100).await.expect("log").len() as u64;

    // Insert: the second op conflicts, so the first is rolled back too.
    let c = record("user", user("C"));
    let c_id = c.id;
    let d = record("user", user("D"));
    let res = store
        .apply(
            t,
            change(vec![
                Op::Insert { object: c, unique: vec![("upn".into(), "c@x".into())] },
                Op::Insert { object: d, unique: vec![("upn".into(), "a@x".into())] },
            ]),
        )
        .await;
    match res {
        Err(StoreError::Conflict { namespace, key, holder }) => {
            assert_eq!((namespace.as_str(), key.as_str(), holder), ("upn", "a@x", a));
        }
        other => panic!("expected conflict, got {other:?}"),
    }
    assert!(store.get(t, c_id).await.expect("get").is_none(), "whole change rolled back");
    assert_eq!(store.find_unique(t, "upn", "c@x").await.expect("find"), None);
    assert_eq!(store.changes_since(t, 0, 100).await.expect("log").len() as u64, seq, "no log entries");

    // Update: claiming a held key fails and keeps the old claims and version.
    let res = store
        .apply(
            t,
            change(vec![Op::Update {
                id: b,
                expected_version: 1,
                doc: doc(user("B2")),
                unique: vec![("upn".into(), "a@x".into())],
            }]),
        )
        .await;
    assert!(matches!(res, Err(StoreError::Conflict { holder, .. }) if holder == a));
    assert_eq!(store.find_unique(t, "upn", "b@x").await.expect("find"), Some(b));
    assert_eq!(version(store, t, b).await, 1);

    // Update replaces the claims: the old key is released.
    apply_ok(
        store,
        t,
        vec![Op::Update {
            id: b,
            expected_version: 1,
            doc: doc(user("B2")),
            unique: vec![("upn".into(), "b2@x".into())],
        }],
    )
    .await;
    assert_eq!(store.find_unique(t, "upn", "b@x").await.expect("find"), None);
    assert_eq!(store.find_unique(t, "upn", "b2@x").await.expect("find"), Some(b));

    // Restore: the key was taken while the object was deleted.
    apply_ok(store, t, vec![Op::SoftDelete { id: a, at: "2024-05-01T00:00:00Z".into() }]).await;
    assert_eq!(store.find_unique(t, "upn", "a@x").await.expect("find"), None, "soft delete releases claims");
    let newcomer = insert(store, t, "user", user("A again"), &[("upn", "a@x")]).await;
    let e = record("user", user("E"));
    let e_id = e.id;
    let res = store
        .apply(
            t,
            change(vec![
                Op::Insert { object: e, unique: vec![] },
                Op::Restore { id: a, unique: vec![("upn".into(), "a@x".into())] },
            ]),
        )
        .await;
    assert!(matches!(res, Err(StoreError::Conflict { holder, .. }) if holder == newcomer));
    assert!(store.get(t, e_id).await.expect("get").is_none());
    assert!(store.get(t, a).await.expect("get").expect("kept").deleted_at.is_some(), "still deleted");
}

pub async fn version_mismatch(store: &dyn Store) {
    let t = new_tenant(store, "T").await;
    let id = insert(store, t, "user", user("A"), &[]).await;
    let res =
        store.apply(t, change(vec![Op::Update { id, expected_version: 2, doc: doc(user("B")), unique: vec![] }])).await;
    assert!(matches!(res, Err(StoreError::VersionMismatch(x)) if x == id));
    apply_ok(store, t, vec![Op::Update { id, expected_version: 1, doc: doc(json!({ "other": 1 })), unique: vec![] }])
        .await;
    let got = store.get(t, id).await.expect("get").expect("exists");
    assert_eq!(got.version, 2);
    assert_eq!(got.doc, doc(json!({ "other": 1 })), "the document is replaced, not merged");
    let missing = Uuid::new_v4();
    let res = store
        .apply(t, change(vec![Op::Update { id: missing, expected_version: 1, doc: doc(json!({})), unique: vec![] }]))
        .await;
    assert!(matches!(res, Err(StoreError::NotFound(_))));
}

pub async fn soft_delete_and_restore(store: &dyn Store) {
    let t = new_tenant(store, "T").await;
    let g = insert(store, t, "group", json!({ "displayName": "G" }), &[]).await;
    let u = insert(store, t, "user", user("U"), &[("upn", "u@x")]).await;
    let other = insert(store, t, "user", user("V"), &[]).await;
    apply_ok(store, t, vec![add_edge(EdgeKind::Member, g, u), add_edge(EdgeKind::Manager, u, other)]).await;

    apply_ok(store, t, vec![Op::SoftDelete { id: u, at: "2024-05-02T00:00:00Z".into() }]).await;
    let got = store.get(t, u).await.expect("get").expect("still stored");
    assert_eq!(got.deleted_at.as_deref(), Some("2024-05-02T00:00:00Z"));
    let live = ListQuery::new(&["user"], Scope::Live);
    assert_eq!(list_ids(store, t, &live).await, vec![other]);
    assert_eq!(list_ids(store, t, &ListQuery::new(&["user"], Scope::Deleted)).await, vec![u]);
    assert!(!store.has_edge(t, EdgeKind::Member, g, u).await.expect("has_edge"), "edges to deleted ends are hidden");
    assert!(store.edge_ids(t, EdgeKind::Member, g, false).await.expect("edges").is_empty());
    assert!(store.edge_ids(t, EdgeKind::Manager, other, true).await.expect("edges").is_empty());
    let members = ListQuery::new(&[], Scope::Related { kind: EdgeKind::Member, id: g, reverse: false });
    assert!(list_ids(store, t, &members).await.is_empty());

    // Deleting twice, or restoring a live object, is NotFound.
    assert!(matches!(
        store.apply(t, change(vec![Op::SoftDelete { id: u, at: "x".into() }])).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.apply(t, change(vec![Op::Restore { id: other, unique: vec![] }])).await,
        Err(StoreError::NotFound(_))
    ));
    // A deleted object cannot be updated or linked.
    let v = version(store, t, u).await;
    assert!(matches!(
        store
            .apply(t, change(vec![Op::Update { id: u, expected_version: v, doc: doc(json!({})), unique: vec![] }]))
            .await,
        Err(StoreError::NotFound(_))
    ));

    apply_ok(store, t, vec![Op::Restore { id: u, unique: vec![("upn".into(), "u@x".into())] }]).await;
    assert_eq!(store.get(t, u).await.expect("get").expect("exists").deleted_at, None);
    assert_eq!(store.find_unique(t, "upn", "u@x").await.expect("find"), Some(u));
    assert!(store.has_edge(t, EdgeKind::Member, g, u).await.expect("has_edge"), "restore brings memberships back");
    assert_eq!(list_ids(store, t, &members).await, vec![u]);
    assert_eq!(store.edge_ids(t, EdgeKind::Manager, other, true).await.expect("edges"), vec![u]);
    assert!(list_ids(store, t, &ListQuery::new(&["user"], Scope::Deleted)).await.is_empty());
}

pub async fn purge(store: &dyn Store) {
    let t = new_tenant(store, "T").await;
    let g = insert(store, t, "group", json!({ "displayName": "G" }), &[]).await;
    let u = insert(store, t, "user", user("U"), &[("upn", "u@x")]).await;
    let m = insert(store, t, "user", user("M"), &[]).await;
    let key_id = Uuid::new_v4();
    apply_ok(
        store,
        t,
        vec![
            add_edge(EdgeKind::Member, g, u),
            add_edge(EdgeKind::Manager, u, m),
            add_edge(EdgeKind::Owner, g, u),
            Op::PutSecret(SecretRecord {
                owner: u,
                kind: "password".into(),
                key_id,
                hash: "h".into(),
                meta: json!({}),
            }),
        ],
    )
    .await;
    apply_ok(store, t, vec![Op::SoftDelete { id: u, at: "2024-05-02T00:00:00Z".into() }]).await;
    apply_ok(store, t, vec![Op::Purge { id: u }]).await;
    assert!(store.get(t, u).await.expect("get").is_none());
    assert!(store.secrets(t, u).await.expect("secrets").is_empty());
    assert_eq!(store.find_unique(t, "upn", "u@x").await.expect("find"), None);
    // Edges in both directions are gone: re-creating an object with the same id finds none.
    let again = ObjectRecord { id: u, ..record("user", user("U again")) };
    apply_ok(store, t, vec![Op::Insert { object: again, unique: vec![("upn".into(), "u@x".into())] }]).await;
    assert!(!store.has_edge(t, EdgeKind::Member, g, u).await.expect("has_edge"));
    assert!(!store.has_edge(t, EdgeKind::Owner, g, u).await.expect("has_edge"));
    assert!(!store.has_edge(t, EdgeKind::Manager, u, m).await.expect("has_edge"));
    assert!(store.secrets(t, u).await.expect("secrets").is_empty());
    // A live object can be purged directly; a missing one is NotFound.
    apply_ok(store, t, vec![Op::Purge { id: m }]).await;
    assert!(matches!(
        store.apply(t, change(vec![Op::Purge { id: Uuid::new_v4() }])).await,
        Err(StoreError::NotFound(_))
    ));
}

/// `get_unless`: the row's stamp, `Unchanged` (without the document) while the row keeps it,
/// and the row again after any write to it (update, soft delete, restore), a purge (`Missing`)
/// and a purge followed by an insert under the same id (whose version restarts at 1).
pub async fn get_unless_revalidates_a_stamp(store: &dyn Store) {
    let t = new_tenant(store, "T").await;
    let u = insert(store, t, "user", user("U"), &[]).await;
    let changed = |r: Revalidated| match r {
        Revalidated::Changed(o, Some(stamp)) => (o, stamp),
        other => panic!("expected the object with a stamp, got {other:?}"),
    };
    let (first, stamp) = changed(store.get_unless(t, u, None).await.expect("get_unless"));
    assert_eq!(first, store.get(t, u).await.expect("get").expect("exists"));
    assert_eq!(stamp.version, 1);
    assert_eq!(store.get_unless(t, u, Some(&stamp)).await.expect("get_unless"), Revalidated::Unchanged);
    // Another tenant's object of that id is not this one.
    let other = new_tenant(store, "Other").await;
    assert_eq!(store.get_unless(other, u, Some(&stamp)).await.expect("get_unless"), Revalidated::Missing);

    apply_ok(store, t, vec![Op::Update { id: u, expected_version: 1, doc: doc(user("U2")), unique: vec![] }]).await;
    let (updated, stamp2) = changed(store.get_unless(t, u, Some(&stamp)).await.expect("get_unless"));
    assert_eq!(updated.doc, doc(user("U2")));
    assert_eq!(stamp2.version, 2);
    assert_eq!(store.get_unless(t, u, Some(&stamp2)).await.expect("get_unless"), Revalidated::Unchanged);

    apply_ok(store, t, vec![Op::SoftDelete { id: u, at: "2024-05-02T00:00:00Z".into() }]).await;
    let (deleted, stamp3) = changed(store.get_unless(t, u, Some(&stamp2)).await.expect("get_unless"));
    assert_eq!(deleted.deleted_at.as_deref(), Some("2024-05-02T00:00:00Z"));
    apply_ok(store, t, vec![Op::Restore { id: u, unique: vec![] }]).await;
    let (restored, _) = changed(store.get_unless(t, u, Some(&stamp3)).await.expect("get_unless"));
    assert_eq!(restored.deleted_at, None);

    apply_ok(store, t, vec![Op::Purge { id: u }]).await;
    assert_eq!(store.get_unless(t, u, Some(&stamp)).await.expect("get_unless"), Revalidated::Missing);
    let again = ObjectRecord { id: u, ..record("user", user("U again")) };
    apply_ok(store, t, vec![Op::Insert { object: again, unique: vec![] }]).await;
    let (reborn, stamp4) = changed(store.get_unless(t, u, Some(&stamp)).await.expect("get_unless"));
    assert_eq!(stamp4.version, 1, "a new row starts again at version 1");
    assert_eq!(reborn.doc, doc(user("U again")), "and is told from the old one by its write time");
}

pub async fn edge_errors(store: &dyn Store) {
    let t = new_tenant(store, "T").await;
    let g = insert(store, t, "group", json!({}), &[]).await;
    let u = insert(store, t, "user", user("U"), &[]).await;
    let gone = insert(store, t, "user", user("Gone"), &[]).await;
    apply_ok(store, t, vec![Op::SoftDelete { id: gone, at: "2024-01-01T00:00:00Z".into() }]).await;

    apply_ok(store, t, vec![add_edge(EdgeKind::Member, g, u)]).await;
    assert!(store.has_edge(t, EdgeKind::Member, g, u).await.expect("has_edge"));
    assert!(!store.has_edge(t, EdgeKind::Owner, g, u).await.expect("has_edge"), "kinds are distinct");
    assert!(!store.has_edge(t, EdgeKind::Member, u, g).await.expect("has_edge"), "edges are directed");
    assert!(matches!(
        store.apply(t, change(vec![add_edge(EdgeKind::Member, g, u)])).await,
        Err(StoreError::EdgeExists(_))
    ));
    assert!(matches!(
        store.apply(t, change(vec![add_edge(EdgeKind::Member, g, Uuid::new_v4())])).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.apply(t, change(vec![add_edge(EdgeKind::Member, Uuid::new_v4(), u)])).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.apply(t, change(vec![add_edge(EdgeKind::Member, g, gone)])).await,
        Err(StoreError::NotFound(_))
    ));
    let remove = |s, d| Op::RemoveEdge { kind: EdgeKind::Member, source: s, target: d };
    assert!(matches!(store.apply(t, change(vec![remove(u, g)])).await, Err(StoreError::NotFound(_))));
    apply_ok(store, t, vec![remove(g, u)]).await;
    assert!(!store.has_edge(t, EdgeKind::Member, g, u).await.expect("has_edge"));
    assert!(matches!(store.apply(t, change(vec![remove(g, u)])).await, Err(StoreError::NotFound(_))));
}

pub async fn secrets_and_keys(store: &dyn Store) {
    let t = new_tenant(store, "T").await;
    let app = insert(store, t, "application", json!({ "displayName": "App" }), &[]).await;
    let (k1, k2) = (Uuid::new_v4(), Uuid::new_v4());
    let secret = |key_id, hash: &str| SecretRecord {
        owner: app,
        kind: "client_secret".into(),
        key_id,
        hash: hash.into(),
        meta: json!({ "hint": "abc", "keyId": key_id }),
    };
    apply_ok(store, t, vec![Op::PutSecret(secret(k1, "sha256:one")), Op::PutSecret(secret(k2, "sha256:two"))]).await;
    apply_ok(store, t, vec![Op::PutSecret(secret(k1, "sha256:uno"))]).await;
    let got = store.secrets(t, app).await.expect("secrets");
    assert_eq!(got.len(), 2);
    assert_eq!(got[0], secret(k1, "sha256:uno"), "upsert by key id keeps one row");
    assert_eq!(got[1].hash, "sha256:two");
    apply_ok(store, t, vec![Op::DeleteSecret { owner: app, key_id: k2 }]).await;
    assert_eq!(store.secrets(t, app).await.expect("secrets").len(), 1);
    assert!(matches!(
        store.apply(t, change(vec![Op::DeleteSecret { owner: app, key_id: k2 }])).await,
        Err(StoreError::NotFound(_))
    ));
    let orphan = SecretRecord { owner: Uuid::new_v4(), ..secret(k2, "x") };
    assert!(matches!(store.apply(t, change(vec![Op::PutSecret(orphan)])).await, Err(StoreError::NotFound(_))));

    let key = |kid: &str, status: &str| SigningKeyRecord {
        kid: kid.into(),
        private_pkcs8: vec![0x30, 0x82, 1, 2, 3],
        created_at: format!("2024-01-0{}T00:00:00Z", kid.len()),
        status: status.into(),
        retired_at: None,
    };
    apply_ok(store, t, vec![Op::PutSigningKey(key("k1", "active")), Op::PutSigningKey(key("k22", "next"))]).await;
    apply_ok(store, t, vec![Op::PutSigningKey(key("k1", "retired"))]).await;
    let keys = store.signing_keys(t).await.expect("keys");
    assert_eq!(keys, vec![key("k1", "retired"), key("k22", "next")]);
    // Retirement time round-trips; a deleted key is gone; deleting it again is NotFound.
    let retired = SigningKeyRecord { retired_at: Some("2024-02-01T00:00:00Z".into()), ..key("k1", "retired") };
    apply_ok(store, t, vec![Op::PutSigningKey(retired.clone())]).await;
    assert_eq!(store.signing_keys(t).await.expect("keys"), vec![retired, key("k22", "next")]);
    apply_ok(store, t, vec![Op::DeleteSigningKey { kid: "k1".into() }]).await;
    assert_eq!(store.signing_keys(t).await.expect("keys"), vec![key("k22", "next")]);
    assert!(matches!(
        store.apply(t, change(vec![Op::DeleteSigningKey { kid: "k1".into() }])).await,
        Err(StoreError::NotFound(_))
    ));
}

pub async fn change_log(store: &dyn Store) {
    let a = new_tenant(store, "A").await;
    let b = new_tenant(store, "B").await;
    let g = insert(store, a, "group", json!({}), &[]).await;
    let u = insert(store, a, "user", user("U"), &[]).await;
    let s2 = apply_ok(
        store,
        a,
        vec![add_edge(EdgeKind::Member, g, u), Op::SoftDelete { id: u, at: "2024-01-01T00:00:00Z".into() }],
    )
    .await;
    assert_eq!(s2, 4, "one entry per op, the returned seq is the last one");
    let s3 = apply_ok(store, a, vec![Op::Restore { id: u, unique: vec![] }]).await;
    assert_eq!(s3, 5);
    let bu = insert(store, b, "user", user("BU"), &[]).await;
    assert_eq!(apply_ok(store, b, vec![Op::Purge { id: bu }]).await, 2, "sequences are per tenant");

    let log = store.changes_since(a, 0, 100).await.expect("log");
    let seqs: Vec<u64> = log.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, vec![1, 2, 3, 4, 5]);
    let kinds: Vec<&str> = log.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, vec!["created", "created", "edge_added", "deleted", "restored"]);
    assert_eq!(log[0].object_id, g);
    assert_eq!(log[0].object_type, "group");
    assert_eq!((log[2].object_id, log[2].object_type.as_str()), (g, "group"));
    assert_eq!(log[2].detail, json!({ "kind": "member", "target": u }));
    assert_eq!(log[3].object_id, u);
    assert!(!log[0].at.is_empty());

    let tail = store.changes_since(a, 3, 1).await.expect("log");
    assert_eq!(tail.len(), 1);
    assert_eq!(tail[0].seq, 4);
    assert!(store.changes_since(a, 5, 10).await.expect("log").is_empty());
    let blog = store.changes_since(b, 0, 10).await.expect("log");
    assert_eq!(blog.iter().map(|e| (e.seq, e.kind.as_str())).collect::<Vec<_>>(), vec![(1, "created"), (2, "purged")]);

    // A change without ops still returns the current sequence.
    assert_eq!(apply_ok(store, a, vec![]).await, 5);
    // A change to an unknown tenant fails.
    assert!(matches!(store.apply(Uuid::new_v4(), change(vec![])).await, Err(StoreError::NotFound(_))));
}

pub async fn audit_written(store: &dyn Store) {
    let t = new_tenant(store, "T").await;
    let mut first = change(vec![Op::Insert { object: record("user", user("A")), unique: vec![] }]);
    first.audit.activity = "Add user".into();
    first.audit.at = "2024-05-01T10:00:00Z".into();
    first.audit.actor = Actor { kind: "user".into(), id: Some(Uuid::new_v4()), display_name: Some("Admin".into()) };
    first.audit.targets = vec![AuditTarget {
        id: Uuid::new_v4(),
        object_type: "user".into(),
        display_name: Some("A".into()),
        modified: vec![ModifiedProperty { name: "displayName".into(), old_value: json!(null), new_value: json!("A") }],
    }];
    store.apply(t, first.clone()).await.expect("apply");
    let mut second = change(vec![]);
    second.audit.activity = "Update user".into();
    second.audit.at = "2024-05-01T11:00:00Z".into();
    store.apply(t, second.clone()).await.expect("apply");
    // A failed change writes no audit record.
    let mut failed = change(vec![Op::Purge { id: Uuid::new_v4() }]);
    failed.audit.at = "2024-05-01T12:00:00Z".into();
    assert!(store.apply(t, failed).await.is_err());

    let records = store.audit_records(t, 10).await.expect("audit");
    assert_eq!(records, vec![second.audit.clone(), first.audit.clone()], "newest first, stored whole");
    assert_eq!(store.audit_records(t, 1).await.expect("audit"), vec![second.audit]);
}

pub async fn tenant_isolation(store: &dyn Store) {
    let a = new_tenant(store, "A").await;
    let b = new_tenant(store, "B").await;
    let g = insert(store, a, "group", json!({ "displayName": "G" }), &[]).await;
    let u = insert(store, a, "user", user("U"), &[("upn", "u@x")]).await;
    apply_ok(
        store,
        a,
        vec![
            add_edge(EdgeKind::Member, g, u),
            Op::PutSecret(SecretRecord {
                owner: u,
                kind: "password".into(),
                key_id: Uuid::new_v4(),
                hash: "h".into(),
                meta: json!({}),
            }),
            Op::PutSigningKey(SigningKeyRecord {
                kid: "k".into(),
                private_pkcs8: vec![1],
                created_at: "t".into(),
                status: "active".into(),
                retired_at: None,
            }),
        ],
    )
    .await;

    assert!(store.get(b, u).await.expect("get").is_none());
    assert!(store.get_many(b, &[u, g]).await.expect("get_many").is_empty());
    assert!(list_ids(store, b, &ListQuery::new(&[], Scope::Live)).await.is_empty());
    let related = ListQuery::new(&[], Scope::Related { kind: EdgeKind::Member, id: g, reverse: false });
    assert!(list_ids(store, b, &related).await.is_empty());
    assert!(!store.has_edge(b, EdgeKind::Member, g, u).await.expect("has_edge"));
    assert!(store.edge_ids(b, EdgeKind::Member, g, false).await.expect("edges").is_empty());
    assert!(store.secrets(b, u).await.expect("secrets").is_empty());
    assert!(store.signing_keys(b).await.expect("keys").is_empty());
    assert_eq!(store.find_unique(b, "upn", "u@x").await.expect("find"), None);
    assert!(store.changes_since(b, 0, 100).await.expect("log").is_empty());
    assert!(store.audit_records(b, 100).await.expect("audit").is_empty());

    // B cannot touch A's objects, and claims are per tenant.
    for op in [
        add_edge(EdgeKind::Member, g, u),
        Op::SoftDelete { id: u, at: "t".into() },
        Op::Purge { id: u },
        Op::Update { id: u, expected_version: 1, doc: doc(json!({})), unique: vec![] },
        Op::RemoveEdge { kind: EdgeKind::Member, source: g, target: u },
    ] {
        assert!(matches!(store.apply(b, change(vec![op])).await, Err(StoreError::NotFound(_))));
    }
    insert(store, b, "user", user("Other U"), &[("upn", "u@x")]).await;
    // The same id may exist in two tenants.
    let twin = ObjectRecord { id: u, ..record("user", user("Twin")) };
    apply_ok(store, b, vec![Op::Insert { object: twin, unique: vec![] }]).await;
    assert_eq!(store.get(a, u).await.expect("get").expect("a's").doc, doc(user("U")));
    assert_eq!(store.get(b, u).await.expect("get").expect("b's").doc, doc(user("Twin")));
    assert!(store.has_edge(a, EdgeKind::Member, g, u).await.expect("has_edge"));
}

/// Several changes in one transaction: all applied (each with its log entries and audit
/// record), or, when one fails, none of them.
pub async fn apply_all_is_all_or_nothing(store: &dyn Store) {
    let t = new_tenant(store, "All").await;
    let g = insert(store, t, "group", json!({}), &[]).await;
    let u = insert(store, t, "user", user("U"), &[]).await;
    let v = insert(store, t, "user", user("V"), &[]).await;
    let before = store.change_log_bounds(t).await.expect("bounds").last;
    let audits = store.audit_records(t, 100).await.expect("audit").len();

    // The second change fails (the edge exists already): the first one's update and edge are gone.
    apply_ok(store, t, vec![add_edge(EdgeKind::Member, g, v)]).await;
    let seq = store.change_log_bounds(t).await.expect("bounds").last;
    let version = version(store, t, u).await;
    let first = change(vec![
        Op::Update { id: u, expected_version: version, doc: doc(user("Renamed")), unique: vec![] },
        add_edge(EdgeKind::Member, g, u),
    ]);
    let second = change(vec![add_edge(EdgeKind::Member, g, v)]);
    assert!(matches!(store.apply_all(t, vec![first, second]).await, Err(StoreError::EdgeExists(_))));
    let got = store.get(t, u).await.expect("get").expect("user");
    assert_eq!(got.doc.get("displayName"), user("U").get("displayName"), "the update was rolled back");
    assert!(!store.has_edge(t, EdgeKind::Member, g, u).await.expect("edge"), "the edge was rolled back");
    assert_eq!(store.change_log_bounds(t).await.expect("bounds").last, seq, "no log entry stays");
    assert_eq!(store.audit_records(t, 100).await.expect("audit").len(), audits + 1, "no audit record stays");

    // Both succeed: each change's entries and audit record, in order.
    let first =
        change(vec![Op::Update { id: u, expected_version: version, doc: doc(user("Renamed")), unique: vec![] }]);
    let second = change(vec![add_edge(EdgeKind::Member, g, u)]);
    let last = store.apply_all(t, vec![first, second]).await.expect("apply all");
    assert_eq!(last, seq + 2);
    let kinds: Vec<String> = store.changes_since(t, seq, 10).await.expect("log").into_iter().map(|e| e.kind).collect();
    assert_eq!(kinds, vec!["updated", "edge_added"]);
    assert_eq!(store.audit_records(t, 100).await.expect("audit").len(), audits + 3);
    assert!(store.has_edge(t, EdgeKind::Member, g, u).await.expect("edge"));
    assert!(before < seq);
}
