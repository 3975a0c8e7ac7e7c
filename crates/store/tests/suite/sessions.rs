//! Refresh tokens: stored by hash, rotated once, a replay revokes the family, revocation by
//! user, tenants isolated.

use cerulean_store::*;
use serde_json::json;
use uuid::Uuid;

use super::new_tenant;

fn token(hash: &str, family: Uuid, user: Uuid, expires_at: &str) -> RefreshTokenRecord {
    RefreshTokenRecord {
        hash: hash.into(),
        family_id: family,
        user_id: user,
        client_id: "client".into(),
        scopes: "openid offline_access".into(),
        data: json!({"auth_time": 1}),
        created_at: "2024-05-01T10:00:00Z".into(),
        expires_at: expires_at.into(),
        used_at: None,
        revoked_at: None,
    }
}

const LATER: &str = "2099-01-01T00:00:00Z";
const NOW: &str = "2024-05-01T11:00:00Z";

pub async fn refresh_tokens_rotate_and_replays_revoke_the_family(store: &dyn Store) {
    let t = new_tenant(store, "Sessions").await;
    let other = new_tenant(store, "Other").await;
    let (user, family) = (Uuid::new_v4(), Uuid::new_v4());
    store.put_refresh_token(t, &token("a", family, user, LATER)).await.expect("put a");
    // Another tenant never sees it.
    assert_eq!(
        store.redeem_refresh_token(other, "a", "client", NOW).await.expect("redeem"),
        RefreshRedemption::Unknown
    );
    assert_eq!(store.redeem_refresh_token(t, "nope", "client", NOW).await.expect("redeem"), RefreshRedemption::Unknown);
    // Another client's presentation is refused and spends nothing.
    assert_eq!(
        store.redeem_refresh_token(t, "a", "intruder", NOW).await.expect("redeem"),
        RefreshRedemption::OtherClient
    );

    let RefreshRedemption::Redeemed(a) = store.redeem_refresh_token(t, "a", "client", NOW).await.expect("redeem")
    else {
        panic!("a live token is redeemed");
    };
    assert_eq!((a.family_id, a.user_id, a.used_at.as_deref()), (family, user, Some(NOW)));
    assert_eq!(a.data["auth_time"], 1);
    store.put_refresh_token(t, &token("b", family, user, LATER)).await.expect("put b");
    // A second, unrelated session of the same user.
    store.put_refresh_token(t, &token("c", Uuid::new_v4(), user, LATER)).await.expect("put c");

    // Replaying `a` revokes `b` (same family) but not `c`.
    assert!(matches!(
        store.redeem_refresh_token(t, "a", "client", NOW).await.expect("replay"),
        RefreshRedemption::Replayed(_)
    ));
    assert!(matches!(
        store.redeem_refresh_token(t, "b", "client", NOW).await.expect("b"),
        RefreshRedemption::Revoked(_)
    ));
    let RefreshRedemption::Redeemed(c) = store.redeem_refresh_token(t, "c", "client", NOW).await.expect("c") else {
        panic!("another family is untouched");
    };
    store.put_refresh_token(t, &token("d", c.family_id, user, LATER)).await.expect("put d");

    // Revocation by user; the other tenant's count is zero.
    assert_eq!(store.revoke_refresh_tokens(other, user, NOW).await.expect("revoke other"), 0);
    assert!(store.revoke_refresh_tokens(t, user, NOW).await.expect("revoke") >= 1);
    assert!(matches!(
        store.redeem_refresh_token(t, "d", "client", NOW).await.expect("d"),
        RefreshRedemption::Revoked(_)
    ));

    // Storing a token deletes the user's expired ones.
    store.put_refresh_token(t, &token("old", Uuid::new_v4(), user, "2024-01-01T00:00:00Z")).await.expect("old");
    store.put_refresh_token(t, &token("new", Uuid::new_v4(), user, LATER)).await.expect("new");
    assert_eq!(store.redeem_refresh_token(t, "old", "client", NOW).await.expect("old"), RefreshRedemption::Unknown);
}
