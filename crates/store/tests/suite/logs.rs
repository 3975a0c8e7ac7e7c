//! The audit and sign-in logs: newest first, filters on the indexed columns, keyset pages
//! without gaps or repeats, single reads by id, retention, tenants isolated.

use cerulean_store::*;
use serde_json::json;
use uuid::Uuid;

use super::{audit, change, new_tenant, record};

fn sign_in(at: &str, user: Option<Uuid>, upn: &str, code: i64, kind: &str) -> SignInRecord {
    SignInRecord {
        id: Uuid::new_v4(),
        at: at.into(),
        user_id: user,
        user_principal_name: Some(upn.into()),
        app_id: Some("app-1".into()),
        ip_address: "10.0.0.1".into(),
        error_code: code,
        event_type: kind.into(),
        correlation_id: Some(Uuid::new_v4().to_string()),
        doc: serde_json::Map::new(),
    }
}

pub async fn logs_page_filter_and_prune(store: &dyn Store) {
    let t = new_tenant(store, "Logs").await;
    let other = new_tenant(store, "Other").await;
    let actor = Uuid::new_v4();
    // Five audited writes: three in one second (the insertion order breaks the tie), two later.
    let mut ids = Vec::new();
    for (i, at) in [
        "2024-05-01T10:00:00Z",
        "2024-05-01T10:00:00Z",
        "2024-05-01T10:00:00Z",
        "2024-05-02T10:00:00Z",
        "2024-05-03T10:00:00Z",
    ]
    .iter()
    .enumerate()
    {
        let mut c = change(vec![Op::Insert { object: record("user", json!({"n": i})), unique: vec![] }]);
        c.audit = AuditRecord {
            at: (*at).into(),
            category: if i % 2 == 0 { "UserManagement".into() } else { "GroupManagement".into() },
            actor: Actor { kind: "app".into(), id: (i == 4).then_some(actor), display_name: None },
            ..audit(&format!("Activity {i}"))
        };
        ids.push(c.audit.id);
        store.apply(t, c).await.expect("apply");
    }
    let all = |q: LogQuery| async move { store.audit_page(t, &q).await.expect("page") };
    let newest: Vec<Uuid> = all(LogQuery { limit: 10, ..Default::default() }).await.iter().map(|(_, r)| r.id).collect();
    assert_eq!(newest, ids.iter().rev().copied().collect::<Vec<_>>(), "newest first, ties by insertion");

    // Pages of two, following the cursor, give the same order without gaps.
    let mut paged = Vec::new();
    let mut after = None;
    loop {
        let page = all(LogQuery { limit: 2, after: after.clone(), ..Default::default() }).await;
        paged.extend(page.iter().map(|(_, r)| r.id));
        if page.len() < 2 {
            break;
        }
        after = page.last().map(|(c, _)| c.clone());
    }
    assert_eq!(paged, newest);

    let by = |column, value: &str| LogQuery {
        equals: vec![(column, vec![value.to_string()])],
        limit: 10,
        ..Default::default()
    };
    assert_eq!(all(by(LogColumn::Category, "GroupManagement")).await.len(), 2);
    assert_eq!(all(by(LogColumn::Activity, "Activity 3")).await[0].1.id, ids[3]);
    assert_eq!(all(by(LogColumn::ActorId, &actor.to_string())).await[0].1.id, ids[4]);
    assert!(all(by(LogColumn::ActorId, "not-a-guid")).await.is_empty());
    let corr = all(by(LogColumn::CorrelationId, &newest_correlation(store, t).await)).await;
    assert_eq!(corr.len(), 1);
    let window = LogQuery {
        from: Some("2024-05-01T10:00:00Z".into()),
        to: Some("2024-05-02T10:00:00Z".into()),
        limit: 10,
        ..Default::default()
    };
    assert_eq!(all(window).await.len(), 4);
    assert!(matches!(store.audit_page(t, &by(LogColumn::UserId, "x")).await, Err(StoreError::Invalid(_))));
    assert_eq!(store.audit_record(t, ids[2]).await.expect("one").map(|r| r.id), Some(ids[2]));
    assert_eq!(store.audit_record(other, ids[2]).await.expect("one"), None, "tenants are isolated");
    assert!(store.audit_page(other, &LogQuery { limit: 10, ..Default::default() }).await.expect("page").is_empty());

    // Sign-ins.
    let user = Uuid::new_v4();
    let mut a = sign_in("2024-05-01T10:00:00Z", Some(user), "Adele@Contoso.com", 50126, "interactiveUser");
    a.doc = serde_json::json!({
        "location": {"city": "Oslo", "geoCoordinates": {"latitude": 59.9}},
        "deviceDetail": {"browser": "Chrome 120.0"},
        "appliedConditionalAccessPolicies": [{"id": "p", "result": "notApplied"}],
        "status": {"errorCode": 50126, "failureReason": "Invalid \"password\"."},
    })
    .as_object()
    .cloned()
    .expect("object");
    let b = sign_in("2024-05-02T10:00:00Z", Some(user), "adele@contoso.com", 0, "interactiveUser");
    let c = sign_in("2024-05-03T10:00:00Z", None, "app", 0, "servicePrincipal");
    for s in [&a, &b, &c] {
        store.put_sign_in(t, s).await.expect("put sign-in");
    }
    let si = |q: LogQuery| async move { store.sign_in_page(t, &q).await.expect("page") };
    let order: Vec<Uuid> = si(LogQuery { limit: 10, ..Default::default() }).await.iter().map(|(_, r)| r.id).collect();
    assert_eq!(order, vec![c.id, b.id, a.id]);
    assert_eq!(si(by(LogColumn::UserPrincipalName, "ADELE@contoso.com")).await.len(), 2, "UPN ignores case");
    assert_eq!(si(by(LogColumn::ErrorCode, "50126")).await[0].1, a);
    assert_eq!(si(by(LogColumn::UserId, &user.to_string())).await.len(), 2);
    let kinds = LogQuery {
        equals: vec![(LogColumn::EventType, vec!["servicePrincipal".into(), "nonInteractiveUser".into()])],
        limit: 10,
        ..Default::default()
    };
    assert_eq!(si(kinds).await.len(), 1);
    assert_eq!(store.sign_in(t, b.id).await.expect("one"), Some(b.clone()));
    // A projected page: the same records, their documents cut to the properties asked for.
    let keep = ["location", "deviceDetail", "absent"];
    let projected = store.sign_in_page_projected(t, &by(LogColumn::ErrorCode, "50126"), &keep).await.expect("page");
    let mut cut = a.clone();
    cut.doc.retain(|k, _| k == "location" || k == "deviceDetail");
    assert_eq!(projected.len(), 1);
    assert_eq!(projected[0].1, cut);
    assert_eq!(projected[0].0, si(by(LogColumn::ErrorCode, "50126")).await[0].0, "same position");
    assert_eq!(store.sign_in(other, b.id).await.expect("one"), None);

    // Retention: everything before 2024-05-02 goes (three audit records, one sign-in).
    let mut pruned = 0;
    loop {
        let n = store.prune_logs(t, "2024-05-02T00:00:00Z", 2).await.expect("prune");
        pruned += n;
        if n < 2 {
            break;
        }
    }
    assert_eq!(pruned, 4);
    assert_eq!(all(LogQuery { limit: 10, ..Default::default() }).await.len(), 2);
    assert_eq!(si(LogQuery { limit: 10, ..Default::default() }).await.len(), 2);
}

async fn newest_correlation(store: &dyn Store, t: Uuid) -> String {
    let page = store.audit_page(t, &LogQuery { limit: 1, ..Default::default() }).await.expect("page");
    page[0].1.correlation_id.clone().expect("correlation id")
}
