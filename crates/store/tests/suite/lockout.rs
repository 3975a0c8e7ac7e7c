//! Smart-lockout state: counters per (user, scope) written by compare-and-set, familiar IPs
//! remembered and trimmed, tenants isolated.

use cerulean_store::*;
use uuid::Uuid;

use super::new_tenant;

fn counter(user: Uuid, scope: &str, failures: i64) -> LockoutRecord {
    LockoutRecord {
        user_id: user,
        scope: scope.into(),
        failures,
        lockouts: 0,
        locked_until: None,
        recent: vec!["f1".into()],
        updated_at: "2024-05-01T10:00:00Z".into(),
        version: 0,
    }
}

pub async fn lockout_counters_compare_and_set(store: &dyn Store) {
    let t = new_tenant(store, "Lockout").await;
    let other = new_tenant(store, "Other").await;
    let user = Uuid::new_v4();
    assert_eq!(store.lockout(t, user, "familiar").await.expect("read"), None);

    // The first write inserts at version 1; a second insert loses the race.
    assert!(store.put_lockout(t, &counter(user, "familiar", 1), None).await.expect("insert"));
    assert!(!store.put_lockout(t, &counter(user, "familiar", 9), None).await.expect("insert again"));
    let got = store.lockout(t, user, "familiar").await.expect("read").expect("found");
    assert_eq!((got.failures, got.version, got.recent.clone()), (1, 1, vec!["f1".to_string()]));

    // An update at the read version wins once; a stale one is refused.
    let mut next = got.clone();
    next.failures = 2;
    next.lockouts = 1;
    next.locked_until = Some("2024-05-01T10:01:00Z".into());
    next.recent = vec!["f1".into(), "f2".into()];
    assert!(store.put_lockout(t, &next, Some(1)).await.expect("update"));
    assert!(!store.put_lockout(t, &next, Some(1)).await.expect("stale update"));
    let got = store.lockout(t, user, "familiar").await.expect("read").expect("found");
    assert_eq!(got.version, 2);
    assert_eq!(got.failures, 2);
    assert_eq!(got.lockouts, 1);
    assert_eq!(got.locked_until.as_deref(), Some("2024-05-01T10:01:00Z"));
    assert_eq!(got.recent, vec!["f1".to_string(), "f2".to_string()]);

    // Scopes and tenants are apart.
    assert_eq!(store.lockout(t, user, "unfamiliar").await.expect("read"), None);
    assert_eq!(store.lockout(other, user, "familiar").await.expect("read"), None);
}

pub async fn familiar_ips_are_remembered_and_trimmed(store: &dyn Store) {
    let t = new_tenant(store, "Familiar").await;
    let other = new_tenant(store, "Other").await;
    let user = Uuid::new_v4();
    assert!(!store.is_familiar_ip(t, user, "192.0.2.1").await.expect("read"));
    store.remember_ip(t, user, "192.0.2.1", "2024-05-01T10:00:00Z", 2).await.expect("remember");
    assert!(store.is_familiar_ip(t, user, "192.0.2.1").await.expect("read"));
    assert!(!store.is_familiar_ip(other, user, "192.0.2.1").await.expect("read"), "tenants are isolated");
    assert!(!store.is_familiar_ip(t, Uuid::new_v4(), "192.0.2.1").await.expect("read"), "users are apart");

    // Seen again later, then two newer addresses: only the two most recent are kept.
    store.remember_ip(t, user, "192.0.2.1", "2024-05-01T10:03:00Z", 2).await.expect("remember");
    store.remember_ip(t, user, "192.0.2.2", "2024-05-01T10:01:00Z", 2).await.expect("remember");
    assert!(store.is_familiar_ip(t, user, "192.0.2.2").await.expect("read"));
    store.remember_ip(t, user, "192.0.2.3", "2024-05-01T10:04:00Z", 2).await.expect("remember");
    assert!(store.is_familiar_ip(t, user, "192.0.2.1").await.expect("read"));
    assert!(store.is_familiar_ip(t, user, "192.0.2.3").await.expect("read"));
    assert!(!store.is_familiar_ip(t, user, "192.0.2.2").await.expect("read"), "the oldest is forgotten");
}
