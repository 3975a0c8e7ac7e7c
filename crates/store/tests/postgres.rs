//! Runs the engine-neutral suite against the PostgreSQL engine, plus the checks only PostgreSQL
//! has: concurrent writers from several pools, racing migrations, reconnecting and query plans.
//!
//! The server is `CERULEAN_TEST_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`);
//! every test creates its own database there and drops it afterwards, so tests run in parallel.
//! An unreachable server fails the tests, unless `CERULEAN_SKIP_POSTGRES=1` says to skip them.

#[macro_use]
mod suite;

use std::collections::HashSet;
use std::sync::Arc;

use cerulean_store::*;
use serde_json::json;
use uuid::Uuid;

use cerulean_store::testing::TestDatabase as TestDb;

macro_rules! suite_tests {
    ($($module:ident :: $name:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                let Some(db) = TestDb::create().await else { return };
                let store = db.store(&suite::index_specs()).await;
                suite::$module::$name(&store).await;
            }
        )*
    };
}

all_suite_tests!(suite_tests);

/// Several pools ("processes") and several tasks each update one object and insert others on
/// one tenant: every returned sequence is unique, each task sees its own increase, the log is
/// gap-free, and no update is lost (a stale version is a `VersionMismatch`).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_keep_sequences_and_versions() {
    let Some(db) = TestDb::create().await else { return };
    concurrent_writers(&db, 6, 15).await;
}

/// The same under SERIALIZABLE, where colliding writers fail with serialization errors
/// (SQLSTATE 40001) instead of waiting: the store's retries absorb them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_under_serializable_isolation() {
    let Some(db) = TestDb::create().await else { return };
    db.client()
        .await
        .batch_execute(&format!("ALTER DATABASE {} SET default_transaction_isolation = 'serializable'", db.name))
        .await
        .expect("set isolation");
    concurrent_writers(&db, 3, 10).await;
}

async fn concurrent_writers(db: &TestDb, writers: usize, rounds: usize) {
    let stores: Vec<Arc<PostgresStore>> =
        vec![Arc::new(db.store(&suite::index_specs()).await), Arc::new(db.store(&suite::index_specs()).await)];
    let t = suite::new_tenant(&*stores[0], "Busy").await;
    let shared = suite::insert(&*stores[0], t, "user", json!({ "displayName": "Shared", "n": 0 }), &[]).await;

    let mut tasks = Vec::new();
    for w in 0..writers {
        let store = stores[w % stores.len()].clone();
        tasks.push(tokio::spawn(async move {
            let (mut seqs, mut updated, mut mismatched) = (Vec::new(), 0u64, 0u64);
            for i in 0..rounds {
                let current = store.get(t, shared).await.expect("get").expect("exists");
                let n = current.doc["n"].as_i64().unwrap_or(0);
                let update = Op::Update {
                    id: shared,
                    expected_version: current.version,
                    doc: suite::doc(json!({ "displayName": "Shared", "n": n + 1 })),
                    unique: vec![],
                };
                match store.apply(t, suite::change(vec![update])).await {
                    Ok(seq) => {
                        seqs.push(seq);
                        updated += 1;
                    }
                    Err(StoreError::VersionMismatch(id)) => {
                        assert_eq!(id, shared);
                        mismatched += 1;
                    }
                    Err(e) => panic!("unexpected error: {e}"),
                }
                let o = suite::record("user", json!({ "displayName": format!("w{w} {i}") }));
                let unique = vec![("upn".to_string(), format!("w{w}-{i}@x"))];
                let seq = store.apply(t, suite::change(vec![Op::Insert { object: o, unique }])).await.expect("insert");
                seqs.push(seq);
            }
            (seqs, updated, mismatched)
        }));
    }
    let (mut all, mut updated, mut mismatched) = (Vec::new(), 0, 0);
    for task in tasks {
        let (seqs, u, m) = task.await.expect("task");
        assert!(seqs.windows(2).all(|p| p[0] < p[1]), "a task's sequences increase: {seqs:?}");
        all.extend(seqs);
        updated += u;
        mismatched += m;
    }
    let attempts = (writers * rounds) as u64;
    assert_eq!(updated + mismatched, attempts);
    assert!(updated > 0);
    let unique: HashSet<u64> = all.iter().copied().collect();
    assert_eq!(unique.len(), all.len(), "no sequence is handed out twice");

    let final_obj = stores[1].get(t, shared).await.expect("get").expect("exists");
    assert_eq!(final_obj.version, 1 + updated as i64, "every successful update counted once");
    assert_eq!(final_obj.doc["n"], json!(updated), "no update was lost");

    // Each change above logs one entry: the log is 1..=N without gaps, N = changes made.
    let total = 1 + updated + attempts;
    let log = stores[0].changes_since(t, 0, 10_000).await.expect("log");
    assert_eq!(log.iter().map(|e| e.seq).collect::<Vec<_>>(), (1..=total).collect::<Vec<_>>());
    assert_eq!(log.iter().filter(|e| e.kind == "updated").count() as u64, updated);
    assert_eq!(stores[0].audit_records(t, 10_000).await.expect("audit").len() as u64, total);
}

/// Several processes starting at once on an empty database all connect; each migration is
/// recorded (and so applied) once, and the expression indexes exist.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_connects_migrate_once() {
    for _round in 0..2 {
        let Some(db) = TestDb::create().await else { return };
        let url = Arc::new(db.url.clone());
        let connects: Vec<_> = (0..4)
            .map(|_| {
                let url = url.clone();
                tokio::spawn(async move { PostgresStore::connect(&url, &suite::index_specs()).await })
            })
            .collect();
        let mut stores = Vec::new();
        for c in connects {
            stores.push(c.await.expect("task").expect("every racing connect succeeds"));
        }
        let raw = db.client().await;
        let versions: Vec<i32> = raw
            .query("SELECT version FROM cerulean_migrations ORDER BY version", &[])
            .await
            .expect("read migrations")
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert!(!versions.is_empty());
        assert_eq!(versions, (1..=versions.len() as i32).collect::<Vec<_>>(), "each version once, in order");
        let indexes: i64 = raw
            .query_one("SELECT count(*) FROM pg_indexes WHERE tablename = 'objects' AND indexname LIKE 'ix\\_%'", &[])
            .await
            .expect("count indexes")
            .get(0);
        assert_eq!(indexes, 4, "one index per distinct (path, kind) of the suite's specs");
        // Every racer works against the same schema.
        let t = suite::new_tenant(&stores[0], "Race").await;
        let id = suite::insert(&stores[1], t, "user", json!({ "displayName": "x" }), &[]).await;
        assert!(stores[3].get(t, id).await.expect("get").is_some());
        drop(stores);
    }
}

#[tokio::test]
async fn reconnect_persists_everything() {
    let Some(db) = TestDb::create().await else { return };
    let (tenant, user, seq) = {
        let store = db.store(&suite::index_specs()).await;
        let tenant = suite::new_tenant(&store, "Persist").await;
        let user = suite::insert(&store, tenant, "user", json!({ "displayName": "Kept" }), &[("upn", "kept@x")]).await;
        let seq = suite::apply_ok(
            &store,
            tenant,
            vec![Op::PutSigningKey(SigningKeyRecord {
                kid: "kid".into(),
                private_pkcs8: vec![9, 8, 7],
                created_at: "2024-01-01T00:00:00Z".into(),
                status: "active".into(),
                retired_at: None,
            })],
        )
        .await;
        store.set_meta("bootstrapped", "yes").await.expect("meta");
        (tenant, user, seq)
    };
    // Reconnect with a grown spec list: the new index is added, nothing is lost.
    let mut specs = suite::index_specs();
    specs.push(IndexSpec { object_type: "user".into(), path: PropPath::of("city"), kind: ValueKind::String });
    let store = PostgresStore::connect(&db.url, &specs).await.expect("reconnect");
    assert_eq!(store.get(tenant, user).await.expect("get").expect("kept").doc["displayName"], "Kept");
    assert_eq!(store.find_unique(tenant, "upn", "kept@x").await.expect("find"), Some(user));
    assert_eq!(store.signing_keys(tenant).await.expect("keys")[0].private_pkcs8, vec![9, 8, 7]);
    assert_eq!(store.meta("bootstrapped").await.expect("meta").as_deref(), Some("yes"));
    let next =
        suite::apply_ok(&store, tenant, vec![Op::SoftDelete { id: user, at: "2024-01-01T00:00:00Z".into() }]).await;
    assert_eq!(next, seq + 1, "the sequence continues where it stopped");
    let indexes: i64 = db
        .client()
        .await
        .query_one("SELECT count(*) FROM pg_indexes WHERE tablename = 'objects' AND indexname LIKE 'ix\\_%'", &[])
        .await
        .expect("count indexes")
        .get(0);
    assert_eq!(indexes, 5);
}

fn plan(lines: StoreResult<Vec<String>>) -> String {
    lines.expect("explain").join("\n")
}

/// Filters and orderings on indexed properties use the expression indexes. Sequential and
/// bitmap scans are disabled for the test database so that the tiny table does not make a scan,
/// or fetching a handful of rows and sorting them, the cheaper plan.
#[tokio::test]
async fn query_plans_use_expression_indexes() {
    let Some(db) = TestDb::create().await else { return };
    db.client()
        .await
        .batch_execute(&format!(
            "ALTER DATABASE {0} SET enable_seqscan = off; ALTER DATABASE {0} SET enable_bitmapscan = off",
            db.name
        ))
        .await
        .expect("disable scans");
    let store = db.store(&suite::index_specs()).await;
    let t = suite::new_tenant(&store, "Plan").await;
    for i in 0..60 {
        suite::insert(&store, t, "user", json!({ "displayName": format!("User {i}"), "age": i }), &[]).await;
    }
    db.client().await.batch_execute("ANALYZE objects").await.expect("analyze");

    let dn = PropPath::of("displayName");
    let mut q = ListQuery::new(&["user"], Scope::Live);
    q.filter = Some(Filter::Compare {
        path: dn.clone(),
        kind: ValueKind::String,
        op: CmpOp::Eq,
        value: Scalar::Str("User 7".into()),
    });
    let p = plan(store.explain_list(t, &q).await);
    assert!(p.contains(" ix_translatedocdisplayname"), "eq uses the expression index:\n{p}");

    q.filter = Some(Filter::StartsWith { path: dn.clone(), prefix: "use".into() });
    let p = plan(store.explain_list(t, &q).await);
    assert!(p.contains(" ix_translatedocdisplayname"), "startswith seeks the expression index:\n{p}");

    q.filter = None;
    q.order = vec![OrderKey { path: dn.clone(), kind: ValueKind::String, descending: false }];
    q.after = Some(Cursor { values: vec![Scalar::Str("user 3".into())], id: Uuid::new_v4() });
    let p = plan(store.explain_list(t, &q).await);
    // The candidates come from the index in order, unsorted; only the page's own rows (at most
    // `top + 1`, the outer query's `p.` columns, joined to their documents) may be sorted again.
    let candidate_sorts =
        p.lines().filter(|l| l.contains("Sort Key:") && (l.contains("translate") || l.contains("objects_"))).count();
    assert!(p.contains(" ix_translatedocdisplayname") && candidate_sorts == 0, "asc keyset walks the index:\n{p}");

    // Descending walks the same index backwards (built NULLS FIRST, it yields DESC NULLS LAST).
    // The id tie-breaker stays ascending (the contract), so runs of equal values are re-sorted
    // on top; whether incrementally or in one small sort is the planner's cost call.
    q.order[0].descending = true;
    let p = plan(store.explain_list(t, &q).await);
    assert!(p.contains("Index Scan Backward using ix_translatedocdisplayname"), "desc walks the index:\n{p}");

    let mut q = ListQuery::new(&["user"], Scope::Live);
    q.filter = Some(Filter::Compare {
        path: PropPath::of("age"),
        kind: ValueKind::Number,
        op: CmpOp::Gt,
        value: Scalar::Int(40),
    });
    let p = plan(store.explain_list(t, &q).await);
    assert!(p.contains(" ix_casewhenjsonb_typeofdocage"), "a number range uses its index:\n{p}");

    // Several types (`IN`, planned from per-type statistics): a page of rare types seeks the
    // type index instead of walking the tenant's primary key past the many users (SQLite did).
    let many = (0..3000)
        .map(|i| Op::Insert {
            object: suite::record("user", json!({ "displayName": format!("M {i}") })),
            unique: vec![],
        })
        .collect();
    suite::apply_ok(&store, t, many).await;
    suite::insert(&store, t, "group", json!({ "displayName": "G" }), &[]).await;
    db.client().await.batch_execute("ANALYZE objects").await.expect("analyze");
    let mut q = ListQuery::new(&["group", "device"], Scope::Live);
    q.count = true;
    let p = plan(store.explain_list(t, &q).await);
    // The primary key is only used to fetch the page's documents one id at a time (each use is
    // followed by its `id = ` lookup condition), never walked past the many users.
    let lines: Vec<&str> = p.lines().collect();
    let walks = (0..lines.len())
        .filter(|&i| lines[i].contains("objects_pkey"))
        .filter(|&i| !lines.get(i + 1).is_some_and(|next| next.contains("(id = objects_")))
        .count();
    assert!(p.contains("object_type = ANY") && p.contains("Index Cond") && walks == 0, "{p}");
}

/// After a bulk load (`cerulean import`) the loaded rows are settled by a `VACUUM`: every page
/// is marked all-visible (with autovacuum off, nothing else would do it before the first
/// readers pay for it).
#[tokio::test]
async fn refresh_statistics_marks_loaded_pages_all_visible() {
    let Some(db) = TestDb::create().await else { return };
    let store = db.store(&suite::index_specs()).await;
    let t = suite::new_tenant(&store, "Loaded").await;
    let many = (0..500)
        .map(|i| Op::Insert {
            object: suite::record("user", json!({ "displayName": format!("Adele {i}"), "pad": "x".repeat(200) })),
            unique: vec![],
        })
        .collect();
    suite::apply_ok(&store, t, many).await;
    let client = db.client().await;
    let visibility = || async {
        let row = client
            .query_one("SELECT relpages, relallvisible FROM pg_class WHERE relname = 'objects'", &[])
            .await
            .expect("pg_class");
        (row.get::<_, i32>(0), row.get::<_, i32>(1))
    };
    store.refresh_statistics().await.expect("refresh");
    let (pages, visible) = visibility().await;
    assert!(pages > 1, "the table spans several pages ({pages})");
    assert_eq!(visible, pages, "every loaded page is all-visible");
}

#[tokio::test]
async fn unsafe_names_and_malformed_ids_are_refused() {
    let Some(db) = TestDb::create().await else { return };
    let store = db.store(&suite::index_specs()).await;
    let t = suite::new_tenant(&store, "Safe").await;
    let mut q = ListQuery::new(&["user"], Scope::Live);
    q.filter = Some(Filter::Compare {
        path: PropPath::of("x') OR 1=1 --"),
        kind: ValueKind::String,
        op: CmpOp::Eq,
        value: Scalar::Str("a".into()),
    });
    assert!(matches!(store.list(t, &q).await, Err(StoreError::Invalid(_))));
    q.filter = Some(Filter::Compare {
        path: PropPath::id(),
        kind: ValueKind::Guid,
        op: CmpOp::Eq,
        value: Scalar::Str("not-a-guid".into()),
    });
    assert!(matches!(store.list(t, &q).await, Err(StoreError::Invalid(_))), "an id literal must be a GUID");
    let bad = IndexSpec { object_type: "user".into(), path: PropPath::of("a\"b"), kind: ValueKind::String };
    assert!(PostgresStore::connect(&db.url, &[bad]).await.is_err());
}

#[tokio::test]
async fn unreachable_server_is_a_backend_error() {
    if std::env::var("CERULEAN_SKIP_POSTGRES").is_ok_and(|v| v == "1") {
        eprintln!("skipped: CERULEAN_SKIP_POSTGRES=1");
        return;
    }
    let res = PostgresStore::connect("postgres://postgres@127.0.0.1:1/nothing", &[]).await;
    assert!(matches!(res, Err(StoreError::Backend(_))), "{res:?}");
    assert!(matches!(PostgresStore::connect("postgres://[bad", &[]).await, Err(StoreError::Backend(_))));
}

/// After a bulk load the planner's statistics are refreshed (`cerulean import` calls this):
/// the tables show an `ANALYZE` and the planner's row estimate for `edges` is the loaded size,
/// not the empty table's.
#[tokio::test]
async fn refresh_statistics_analyzes_the_tables() {
    let Some(db) = TestDb::create().await else { return };
    let store = db.store(&suite::index_specs()).await;
    let client = db.client().await;
    let analyzed = || async {
        client
            .query_one("SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables WHERE relname = 'objects'", &[])
            .await
            .expect("stats")
            .get::<_, bool>(0)
    };
    assert!(!analyzed().await, "a fresh database has not been analyzed");
    store.refresh_statistics().await.expect("analyze");
    assert!(analyzed().await, "objects was analyzed");
}
