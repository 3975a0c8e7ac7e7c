//! Sign-in flows: stored by key, found by lookup, redeemed once, updated only while unused,
//! deleted, expired records purged, tenants isolated; a refresh-token family revoked alone.

use cerulean_store::*;
use serde_json::json;
use uuid::Uuid;

use super::new_tenant;

fn flow(kind: &str, key: &str, lookup: Option<&str>, expires_at: &str) -> FlowRecord {
    FlowRecord {
        kind: kind.into(),
        key: key.into(),
        lookup: lookup.map(str::to_string),
        data: json!({"client_id": "c", "status": "pending"}),
        created_at: "2024-05-01T10:00:00Z".into(),
        expires_at: expires_at.into(),
        used_at: None,
    }
}

const LATER: &str = "2099-01-01T00:00:00Z";
const NOW: &str = "2024-05-01T10:05:00Z";

pub async fn sign_in_flows_are_single_use_and_isolated(store: &dyn Store) {
    let t = new_tenant(store, "Flows").await;
    let other = new_tenant(store, "Other").await;
    store.put_flow(t, &flow("code", "k1", None, LATER), NOW).await.expect("put code");
    store.put_flow(t, &flow("device", "d1", Some("ABCD-EFGH"), LATER), NOW).await.expect("put device");

    assert_eq!(store.flow(other, "code", "k1").await.expect("read"), None, "tenants are isolated");
    assert_eq!(store.flow(t, "device", "k1").await.expect("read"), None, "kinds are apart");
    let got = store.flow(t, "code", "k1").await.expect("read").expect("found");
    assert_eq!(got.data["client_id"], "c");
    let by = store.flow_by_lookup(t, "device", "ABCD-EFGH").await.expect("lookup").expect("found");
    assert_eq!(by.key, "d1");
    assert_eq!(store.flow_by_lookup(other, "device", "ABCD-EFGH").await.expect("lookup"), None);

    // Updated while unused.
    assert!(store.update_flow(t, "device", "d1", &json!({"status": "approved"})).await.expect("update"));
    assert_eq!(store.flow(t, "device", "d1").await.expect("read").expect("found").data["status"], "approved");

    // Redeemed exactly once; afterwards a replay, and no longer updatable.
    assert_eq!(store.redeem_flow(other, "code", "k1", NOW).await.expect("redeem"), FlowRedemption::Unknown);
    let FlowRedemption::Redeemed(r) = store.redeem_flow(t, "code", "k1", NOW).await.expect("redeem") else {
        panic!("an unused code is redeemed");
    };
    assert_eq!(r.used_at.as_deref(), Some(NOW));
    assert!(matches!(store.redeem_flow(t, "code", "k1", NOW).await.expect("redeem"), FlowRedemption::AlreadyUsed(_)));
    assert!(!store.update_flow(t, "code", "k1", &json!({})).await.expect("update"));

    // Deleted.
    assert!(store.delete_flow(t, "device", "d1").await.expect("delete"));
    assert!(!store.delete_flow(t, "device", "d1").await.expect("delete again"));

    // Expired records of the kind are purged by the next put.
    store.put_flow(t, &flow("session", "old", None, "2024-05-01T10:01:00Z"), NOW).await.expect("put old");
    assert!(store.flow(t, "session", "old").await.expect("read").is_some());
    store.put_flow(t, &flow("session", "new", None, LATER), NOW).await.expect("put new");
    assert_eq!(store.flow(t, "session", "old").await.expect("read"), None);
    assert!(store.flow(t, "session", "new").await.expect("read").is_some());
    // A duplicate key is refused.
    assert!(store.put_flow(t, &flow("session", "new", None, LATER), NOW).await.is_err());
}

pub async fn refresh_family_is_revoked_alone(store: &dyn Store) {
    let t = new_tenant(store, "Families").await;
    let user = Uuid::new_v4();
    let (f1, f2) = (Uuid::new_v4(), Uuid::new_v4());
    let token = |hash: &str, family: Uuid| RefreshTokenRecord {
        hash: hash.into(),
        family_id: family,
        user_id: user,
        client_id: "client".into(),
        scopes: "openid offline_access".into(),
        data: json!({}),
        created_at: "2024-05-01T10:00:00Z".into(),
        expires_at: LATER.into(),
        used_at: None,
        revoked_at: None,
    };
    store.put_refresh_token(t, &token("a", f1)).await.expect("put a");
    store.put_refresh_token(t, &token("b", f2)).await.expect("put b");
    assert_eq!(store.revoke_refresh_family(t, f1, NOW).await.expect("revoke"), 1);
    assert_eq!(store.revoke_refresh_family(t, f1, NOW).await.expect("revoke again"), 0);
}
