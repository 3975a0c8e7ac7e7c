//! Profile photos: stored and replaced per object, only for live objects, deleted explicitly
//! or with a purge of their object, tenants isolated.

use cerulean_store::*;
use serde_json::json;
use uuid::Uuid;

use super::{apply_ok, insert, new_tenant, user};

fn photo(object: Uuid, etag: &str, bytes: &[u8]) -> PhotoRecord {
    PhotoRecord {
        object_id: object,
        content_type: "image/png".into(),
        width: 48,
        height: 32,
        etag: etag.into(),
        updated_at: "2024-05-01T10:00:00Z".into(),
        bytes: bytes.to_vec(),
    }
}

pub async fn photos_are_stored_replaced_and_purged(store: &dyn Store) {
    let t = new_tenant(store, "Photos").await;
    let other = new_tenant(store, "Other").await;
    let u = insert(store, t, "user", user("U"), &[]).await;
    let g = insert(store, t, "group", json!({ "displayName": "G" }), &[]).await;
    assert_eq!(store.photo(t, u).await.expect("read"), None);

    // Binary content survives as is (NUL bytes, high bytes).
    let bytes: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    store.put_photo(t, &photo(u, "e1", &bytes)).await.expect("put");
    let got = store.photo(t, u).await.expect("read").expect("stored");
    assert_eq!(got, photo(u, "e1", &bytes));

    // A second upload replaces the first.
    let mut next = photo(u, "e2", b"\x89PNG-second");
    next.content_type = "image/jpeg".into();
    next.width = 640;
    store.put_photo(t, &next).await.expect("replace");
    assert_eq!(store.photo(t, u).await.expect("read"), Some(next.clone()));

    // Another tenant sees nothing and cannot write to the object.
    assert_eq!(store.photo(other, u).await.expect("read other"), None);
    assert!(matches!(store.put_photo(other, &photo(u, "x", b"x")).await, Err(StoreError::NotFound(_))));
    // Unknown and deleted objects take no photo.
    assert!(matches!(store.put_photo(t, &photo(Uuid::new_v4(), "x", b"x")).await, Err(StoreError::NotFound(_))));
    apply_ok(store, t, vec![Op::SoftDelete { id: g, at: "2024-05-02T00:00:00Z".into() }]).await;
    assert!(matches!(store.put_photo(t, &photo(g, "x", b"x")).await, Err(StoreError::NotFound(_))));

    // Delete answers whether there was one.
    assert!(store.delete_photo(t, u).await.expect("delete"));
    assert!(!store.delete_photo(t, u).await.expect("delete again"));
    assert_eq!(store.photo(t, u).await.expect("read"), None);

    // Purging the object removes its photo.
    store.put_photo(t, &photo(u, "e3", b"abc")).await.expect("put again");
    apply_ok(store, t, vec![Op::SoftDelete { id: u, at: "2024-05-02T00:00:00Z".into() }]).await;
    apply_ok(store, t, vec![Op::Purge { id: u }]).await;
    assert_eq!(store.photo(t, u).await.expect("read after purge"), None);
}
