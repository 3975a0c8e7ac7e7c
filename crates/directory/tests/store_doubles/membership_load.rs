//! Loading a tenant's membership graph is single-flight (issue 4): requests arriving while a
//! load is in progress wait for it, and a load whose request is dropped (client gone) still
//! lands, rather than leaving its edge read running in the database while the next request
//! starts another full load beside it.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use cerulean_directory::Directory;
use cerulean_directory::membership::Direction;
use cerulean_identity::PasswordHasherPool;
use uuid::Uuid;

use super::{Double, id};

/// Waits (a bounded while) until `done` holds.
async fn eventually(what: &str, done: impl Fn() -> bool) {
    for _ in 0..500 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{what} did not happen within 5 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_first_request_still_loads_the_graph_once_for_everyone() {
    let store = Arc::new(Double::new());
    let directory = Arc::new(Directory::new(store.clone(), Arc::new(PasswordHasherPool::new(1))));
    let tenant = Uuid::new_v4();
    let query = |directory: Arc<Directory>| async move {
        directory.transitive_ids(tenant, id(100), Direction::MemberOf, &[]).await
    };

    // The first request starts the load, and goes away while the edge read is in progress.
    let started = store.started.notified();
    let first = tokio::spawn(query(directory.clone()));
    started.await;
    // Requests arriving during the load, before and after the first one is dropped.
    let mut waiting: Vec<_> = (0..8).map(|_| tokio::spawn(query(directory.clone()))).collect();
    first.abort();
    assert!(first.await.expect_err("aborted").is_cancelled());
    waiting.extend((0..8).map(|_| tokio::spawn(query(directory.clone()))));
    tokio::time::sleep(Duration::from_millis(50)).await;
    store.open();

    for request in waiting {
        let ids = request.await.expect("task").expect("answered");
        assert_eq!(ids, vec![id(1), id(2)], "both groups, through nesting");
    }
    assert_eq!(store.reads.load(Ordering::SeqCst), 1, "one edge read served every request");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_load_whose_request_is_dropped_lands_without_another_request() {
    let store = Arc::new(Double::new());
    let directory = Arc::new(Directory::new(store.clone(), Arc::new(PasswordHasherPool::new(1))));
    let tenant = Uuid::new_v4();

    let started = store.started.notified();
    let d = directory.clone();
    let first = tokio::spawn(async move { d.check_member_of(tenant, id(100), &[id(1)], true).await });
    started.await;
    first.abort();
    assert!(first.await.expect_err("aborted").is_cancelled());
    assert!(!directory.membership_graph_loaded(tenant));
    store.open();

    eventually("the load of the dropped request landing", || directory.membership_graph_loaded(tenant)).await;
    let found = directory.check_member_of(tenant, id(100), &[id(1), id(3)], true).await.expect("answered");
    assert_eq!(found, vec![id(1)]);
    assert_eq!(store.reads.load(Ordering::SeqCst), 1, "the next request found the graph loaded");
}
