//! Start-up of several nodes at once on one store: exactly one bootstraps, the others wait
//! for it and serve the same tenant with the same keys.

use std::sync::Arc;

use cerulean::app::App;
use cerulean::bootstrap;
use cerulean_store::testing::TestDatabase;
use cerulean_store::{SqliteStore, Store};

use crate::harness::PUBLIC_URL;

/// Several independent handles on one store, as separate processes would hold them: pools on
/// one PostgreSQL database, or connections to one SQLite file.
async fn stores(n: usize, dir: &std::path::Path) -> (Vec<Arc<dyn Store>>, Option<TestDatabase>) {
    let specs = cerulean_directory::index_specs();
    if std::env::var("CERULEAN_TEST_ENGINE").as_deref() == Ok("postgres") {
        let db = TestDatabase::create().await.expect("PostgreSQL tests are not skipped here");
        let mut out: Vec<Arc<dyn Store>> = Vec::new();
        for _ in 0..n {
            out.push(Arc::new(db.store(&specs).await));
        }
        (out, Some(db))
    } else {
        let out = (0..n)
            .map(|_| Arc::new(SqliteStore::open(&dir.join("cerulean.db"), &specs).expect("store")) as Arc<dyn Store>)
            .collect();
        (out, None)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 3)]
async fn simultaneous_starts_bootstrap_once() {
    let root = std::env::temp_dir().join(format!("cerulean-startup-{}", uuid::Uuid::new_v4()));
    let (stores, _db) = stores(3, &root).await;
    let mut tasks = Vec::new();
    for (i, store) in stores.iter().enumerate() {
        let store = store.clone();
        let dir = root.join(format!("node{i}"));
        std::fs::create_dir_all(&dir).expect("node dir");
        tasks.push(tokio::spawn(async move {
            let app = App::new(store.clone(), PUBLIC_URL);
            let (file, created) = bootstrap::ensure(
                &app.directory,
                &app.tokens,
                store.as_ref(),
                &dir,
                "contoso.onmicrosoft.com",
                PUBLIC_URL,
                None,
            )
            .await
            .expect("every node starts");
            let tenants = app.directory.tenants().await.expect("tenants");
            // As serve does: load the keys, never create them on a node that did not bootstrap.
            let keys = app.tokens.load_keys(tenants[0].id).await.expect("keys").expect("the bootstrap made a key");
            let kids: Vec<String> =
                keys.jwks(None)["keys"].as_array().expect("keys").iter().map(|k| k["kid"].to_string()).collect();
            (file, created, (tenants, kids))
        }));
    }
    let mut created = 0;
    let mut files = Vec::new();
    let mut tenant_ids = Vec::new();
    let mut key_sets = Vec::new();
    for t in tasks {
        let (file, was_created, (tenants, kids)) = t.await.expect("task");
        assert_eq!(kids.len(), 1, "one signing key, the same on every node");
        key_sets.push(kids);
        created += usize::from(was_created);
        assert_eq!(tenants.len(), 1, "one tenant in the store");
        tenant_ids.push(tenants[0].id);
        files.extend(file);
    }
    assert_eq!(created, 1, "exactly one node bootstraps");
    assert_eq!(files.len(), 1, "only that node has the credentials");
    assert!(tenant_ids.windows(2).all(|w| w[0] == w[1]));
    assert!(key_sets.windows(2).all(|w| w[0] == w[1]), "{key_sets:?}");
    assert_eq!(files[0].tenant_id, tenant_ids[0].to_string());

    // A later start of a node without the credentials file starts too.
    let app = App::new(stores[1].clone(), PUBLIC_URL);
    let (file, created) = bootstrap::ensure(
        &app.directory,
        &app.tokens,
        stores[1].as_ref(),
        &root.join("node-late"),
        "contoso.onmicrosoft.com",
        PUBLIC_URL,
        None,
    )
    .await
    .expect("late start");
    assert!(!created);
    assert!(file.is_none());
    let _ = std::fs::remove_dir_all(&root);
}
