//! The Identity Protection tables: rows written and replaced by id, read newest first with
//! filters on their indexed columns, keyset pages, single reads, tenants isolated.

use cerulean_store::*;
use serde_json::json;
use uuid::Uuid;

use super::new_tenant;

fn detection(at: &str, user: Uuid, kind: &str, level: &str) -> RiskRecord {
    let mut doc = serde_json::Map::new();
    doc.insert("riskEventType".into(), json!(kind));
    RiskRecord {
        id: Uuid::new_v4(),
        at: at.into(),
        user_id: user,
        user_principal_name: Some("Ada@Example.com".into()),
        risk_event_type: Some(kind.into()),
        risk_level: level.into(),
        risk_state: "atRisk".into(),
        ip_address: Some("203.0.113.7".into()),
        correlation_id: Some("corr-1".into()),
        doc,
    }
}

pub async fn risk_tables_page_filter_and_replace(store: &dyn Store) {
    let t = new_tenant(store, "Risk").await;
    let other = new_tenant(store, "Other").await;
    let (ada, bob) = (Uuid::new_v4(), Uuid::new_v4());
    let rows = vec![
        detection("2024-05-01T10:00:00Z", ada, "unfamiliarFeatures", "medium"),
        detection("2024-05-01T10:00:00Z", ada, "anonymizedIPAddress", "medium"),
        detection("2024-05-02T10:00:00Z", bob, "passwordSpray", "high"),
    ];
    store.put_risk_records(t, RiskTable::Detections, &rows).await.expect("put");
    let page = |q: LogQuery| async move { store.risk_page(t, RiskTable::Detections, &q).await.expect("page") };
    let ids: Vec<Uuid> = page(LogQuery { limit: 10, ..Default::default() }).await.iter().map(|(_, r)| r.id).collect();
    assert_eq!(ids, vec![rows[2].id, rows[1].id, rows[0].id], "newest first, ties by insertion");

    // Keyset pages of one give the same order.
    let first = page(LogQuery { limit: 1, ..Default::default() }).await;
    let second = page(LogQuery { limit: 1, after: Some(first[0].0.clone()), ..Default::default() }).await;
    assert_eq!(second[0].1.id, rows[1].id);

    // Indexed equality filters, UPN case-insensitively; a malformed user id matches nothing.
    let only =
        |c: LogColumn, v: &str| LogQuery { equals: vec![(c, vec![v.to_string()])], limit: 10, ..Default::default() };
    assert_eq!(page(only(LogColumn::UserId, &ada.to_string())).await.len(), 2);
    assert_eq!(page(only(LogColumn::UserId, "not-a-guid")).await.len(), 0);
    assert_eq!(page(only(LogColumn::UserPrincipalName, "ADA@example.COM")).await.len(), 3);
    assert_eq!(page(only(LogColumn::RiskEventType, "passwordSpray")).await[0].1.id, rows[2].id);
    assert_eq!(page(only(LogColumn::RiskLevel, "medium")).await.len(), 2);
    assert_eq!(page(only(LogColumn::IpAddress, "203.0.113.7")).await.len(), 3);
    let window = LogQuery { from: Some("2024-05-02T00:00:00Z".into()), limit: 10, ..Default::default() };
    assert_eq!(page(window).await.len(), 1);
    // A column the tables do not have is refused.
    let bad = store.risk_page(t, RiskTable::Detections, &only(LogColumn::AppId, "x")).await;
    assert!(matches!(bad, Err(StoreError::Invalid(_))), "{bad:?}");

    // Replacing a row by id changes its state in place.
    let mut dismissed = rows[0].clone();
    dismissed.risk_state = "dismissed".into();
    dismissed.doc.insert("riskState".into(), json!("dismissed"));
    store.put_risk_records(t, RiskTable::Detections, std::slice::from_ref(&dismissed)).await.expect("replace");
    assert_eq!(page(only(LogColumn::RiskState, "atRisk")).await.len(), 2);
    let got = store.risk_record(t, RiskTable::Detections, rows[0].id).await.expect("get").expect("row");
    assert_eq!(got, dismissed);
    assert_eq!(page(LogQuery { limit: 10, ..Default::default() }).await.len(), 3, "replaced, not added");

    // The tables are separate, and tenants isolated.
    let user_row = RiskRecord { id: ada, risk_event_type: None, ..rows[0].clone() };
    store.put_risk_records(t, RiskTable::RiskyUsers, std::slice::from_ref(&user_row)).await.expect("put user");
    assert_eq!(store.risk_record(t, RiskTable::RiskyUsers, ada).await.expect("get"), Some(user_row));
    assert_eq!(store.risk_record(t, RiskTable::History, ada).await.expect("get"), None);
    assert_eq!(store.risk_record(other, RiskTable::RiskyUsers, ada).await.expect("get"), None);
    let theirs = store.risk_page(other, RiskTable::Detections, &LogQuery { limit: 10, ..Default::default() }).await;
    assert!(theirs.expect("page").is_empty());
}

/// A sign-in and the risk rows it raised are one transaction: a batch whose sign-in cannot be
/// written (its id is taken) leaves none of its risk rows behind; a good batch writes all.
pub async fn sign_in_with_risk_is_all_or_nothing(store: &dyn Store) {
    let t = new_tenant(store, "Atomic").await;
    let ada = Uuid::new_v4();
    let sign_in = SignInRecord {
        id: Uuid::new_v4(),
        at: "2024-05-01T10:00:00Z".into(),
        user_id: Some(ada),
        user_principal_name: Some("ada@example.com".into()),
        app_id: Some("app-1".into()),
        ip_address: "203.0.113.7".into(),
        error_code: 0,
        event_type: "interactiveUser".into(),
        correlation_id: None,
        doc: serde_json::Map::new(),
    };
    let first = detection("2024-05-01T10:00:00Z", ada, "unfamiliarFeatures", "medium");
    let mut user_row = detection("2024-05-01T10:00:00Z", ada, "unfamiliarFeatures", "medium");
    user_row.id = ada;
    let batch = vec![(RiskTable::Detections, vec![first.clone()]), (RiskTable::RiskyUsers, vec![user_row])];
    store.put_sign_in_with_risk(t, &sign_in, &batch).await.expect("batch");
    assert!(store.sign_in(t, sign_in.id).await.expect("read").is_some());
    assert!(store.risk_record(t, RiskTable::Detections, first.id).await.expect("read").is_some());
    assert!(store.risk_record(t, RiskTable::RiskyUsers, ada).await.expect("read").is_some());

    // The same sign-in id again: refused, and the new detection is rolled back with it.
    let second = detection("2024-05-01T11:00:00Z", ada, "impossibleTravel", "medium");
    let batch = vec![(RiskTable::Detections, vec![second.clone()])];
    assert!(store.put_sign_in_with_risk(t, &sign_in, &batch).await.is_err());
    assert!(store.risk_record(t, RiskTable::Detections, second.id).await.expect("read").is_none());
    let q = LogQuery { limit: 10, ..Default::default() };
    assert_eq!(store.sign_in_page(t, &q).await.expect("page").len(), 1);
}

/// The service-principal tables: the subject is the service principal (filtered by its id and
/// `appId`, not by user columns), written beside a service principal's sign-in in one
/// transaction, apart from the user tables.
pub async fn service_principal_risk_tables(store: &dyn Store) {
    let t = new_tenant(store, "Workload").await;
    let (sp, other_sp) = (Uuid::new_v4(), Uuid::new_v4());
    let app = "3F2504E0-4F89-11D3-9A0C-0305E82C3301";
    let mut rows = [
        detection("2024-05-01T10:00:00Z", sp, "suspiciousSignins", "medium"),
        detection("2024-05-02T10:00:00Z", other_sp, "investigationsThreatIntelligence", "high"),
    ];
    rows[0].user_principal_name = Some(app.into());
    rows[1].user_principal_name = Some("other-app".into());
    let sign_in = SignInRecord {
        id: Uuid::new_v4(),
        at: "2024-05-01T10:00:00Z".into(),
        user_id: None,
        user_principal_name: None,
        app_id: Some(app.to_lowercase()),
        ip_address: "203.0.113.7".into(),
        error_code: 0,
        event_type: "servicePrincipal".into(),
        correlation_id: None,
        doc: serde_json::Map::new(),
    };
    let mut risky = rows[0].clone();
    risky.id = sp;
    let batch = vec![
        (RiskTable::ServicePrincipalDetections, vec![rows[0].clone()]),
        (RiskTable::RiskyServicePrincipals, vec![risky.clone()]),
    ];
    store.put_sign_in_with_risk(t, &sign_in, &batch).await.expect("batch");
    store.put_risk_records(t, RiskTable::ServicePrincipalDetections, &rows[1..]).await.expect("put");
    let page =
        |q: LogQuery| async move { store.risk_page(t, RiskTable::ServicePrincipalDetections, &q).await.expect("page") };
    let only =
        |c: LogColumn, v: &str| LogQuery { equals: vec![(c, vec![v.to_string()])], limit: 10, ..Default::default() };
    assert_eq!(page(LogQuery { limit: 10, ..Default::default() }).await.len(), 2);
    let mine = page(only(LogColumn::ServicePrincipalId, &sp.to_string())).await;
    assert_eq!(mine.iter().map(|(_, r)| r.id).collect::<Vec<_>>(), vec![rows[0].id]);
    // appId compared case-insensitively (GUIDs are written either way).
    assert_eq!(page(only(LogColumn::AppId, app)).await.len(), 1);
    assert_eq!(page(only(LogColumn::AppId, &app.to_lowercase())).await.len(), 1);
    assert_eq!(page(only(LogColumn::RiskLevel, "high")).await[0].1.id, rows[1].id);
    // User columns do not exist here, nor service-principal columns in the user tables.
    let bad =
        store.risk_page(t, RiskTable::ServicePrincipalDetections, &only(LogColumn::UserId, &sp.to_string())).await;
    assert!(matches!(bad, Err(StoreError::Invalid(_))), "{bad:?}");
    let bad = store.risk_page(t, RiskTable::Detections, &only(LogColumn::ServicePrincipalId, &sp.to_string())).await;
    assert!(matches!(bad, Err(StoreError::Invalid(_))), "{bad:?}");
    // One risky service principal, apart from the risky users.
    assert_eq!(store.risk_record(t, RiskTable::RiskyServicePrincipals, sp).await.expect("get"), Some(risky));
    assert_eq!(store.risk_record(t, RiskTable::RiskyUsers, sp).await.expect("get"), None);
    let all = LogQuery { limit: 10, ..Default::default() };
    let history = store.risk_page(t, RiskTable::ServicePrincipalHistory, &all).await.expect("page");
    assert!(history.is_empty());
}
