//! Query options on the log sets: OData enum literals in `$filter`
//! (`riskLevel eq microsoft.graph.riskLevel'high'`, Graph's riskyUser list example), equality on
//! an indexed column answering the same whether or not it is pushed down to the store, and
//! `$select` of an unknown property being a 400 as in Graph.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{Harness, Reply, id_of};

fn enc(s: &str) -> String {
    s.replace(' ', "%20").replace('\'', "%27")
}

async fn get(h: &Harness, path: &str, token: &str) -> Reply {
    h.graph_with(Method::GET, path, None, token, &[]).await
}

fn ids(r: &Reply) -> Vec<String> {
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.json["value"]
        .as_array()
        .expect("value")
        .iter()
        .map(|v| v["id"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn identity_protection_filters_take_enum_literals() {
    let h = Harness::new().await;
    let user = id_of(&h.user("enumrisk", "Enum risk").await);
    let writer = h.sign(h.claims(&["IdentityRiskyUser.ReadWrite.All"])).await;
    let r = h
        .graph_with(
            Method::POST,
            "/v1.0/identityProtection/riskyUsers/confirmCompromised",
            Some(json!({ "userIds": [user] })),
            &writer,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);

    let reader = h.sign(h.claims(&["IdentityRiskyUser.Read.All"])).await;
    let users = |filter: &str| format!("/v1.0/identityProtection/riskyUsers?$filter={}", enc(filter));
    let high = get(&h, &users("riskLevel eq microsoft.graph.riskLevel'high'"), &reader).await;
    assert_eq!(ids(&high), vec![user.clone()], "{}", high.text);
    let low = get(&h, &users("riskLevel eq microsoft.graph.riskLevel'low'"), &reader).await;
    assert!(ids(&low).is_empty(), "{}", low.text);
    let state = get(&h, &users("riskState eq microsoft.graph.riskState'confirmedCompromised'"), &reader).await;
    assert_eq!(ids(&state), vec![user.clone()], "{}", state.text);
    let listed =
        get(&h, &users("riskLevel in (microsoft.graph.riskLevel'medium', microsoft.graph.riskLevel'high')"), &reader)
            .await;
    assert_eq!(ids(&listed), vec![user.clone()], "{}", listed.text);

    let events = h.sign(h.claims(&["IdentityRiskEvent.Read.All"])).await;
    let path = format!(
        "/v1.0/identityProtection/riskDetections?$filter={}",
        enc("riskLevel eq microsoft.graph.riskLevel'high'")
    );
    let r = get(&h, &path, &events).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let found = r.json["value"].as_array().expect("value");
    assert!(!found.is_empty() && found.iter().all(|d| d["riskLevel"] == "high"), "{}", r.text);
    assert!(found.iter().any(|d| d["userId"] == json!(user)), "{}", r.text);
}

#[tokio::test]
async fn audit_equality_answers_the_same_pushed_down_or_not() {
    let h = Harness::new().await;
    h.user("caseaudit", "Case audit").await;
    let list = |filter: &str| {
        let h = &h;
        let path = format!("/v1.0/auditLogs/directoryAudits?$filter={}", enc(filter));
        async move {
            let r = h.get(&path).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            r.json["value"].as_array().expect("value").clone()
        }
    };
    assert!(!list("category eq 'UserManagement'").await.is_empty());
    // Alone, the condition is pushed down to the store, which compares as written; inside an
    // `or` it is evaluated on the JSON: both answers agree.
    assert!(list("category eq 'usermanagement'").await.is_empty());
    assert!(list("category eq 'usermanagement' or category eq 'Nothing'").await.is_empty());
    assert!(list("activityDisplayName eq 'add user' or category eq 'Nothing'").await.is_empty());
    let both = list("category eq 'UserManagement' or category eq 'Nothing'").await;
    assert!(!both.is_empty() && both.iter().all(|a| a["category"] == "UserManagement"));
    // Functions still ignore case.
    assert!(!list("startswith(category, 'usermanagement')").await.is_empty());
}

#[tokio::test]
async fn log_sets_refuse_unknown_select_names() {
    let h = Harness::new().await;
    h.user("selectlog", "Select log").await;
    for path in ["/v1.0/auditLogs/signIns", "/v1.0/auditLogs/directoryAudits"] {
        let r = h.get(&format!("{path}?$select=nope")).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{path}: {}", r.text);
        assert!(r.message().contains("Could not find a property named 'nope'"), "{}", r.text);
    }
    let r = h.get("/v1.0/auditLogs/directoryAudits?$select=category,activityDisplayName").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let first: &Value = &r.json["value"][0];
    assert!(first["category"].is_string() && first.get("result").is_none(), "{}", r.text);
    let r = h.get("/v1.0/auditLogs/signIns?$select=id,userPrincipalName,createdDateTime").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let reader = h.sign(h.claims(&["IdentityRiskyUser.Read.All"])).await;
    let r = get(&h, "/v1.0/identityProtection/riskyUsers?$select=riskLevel,nope", &reader).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
}
