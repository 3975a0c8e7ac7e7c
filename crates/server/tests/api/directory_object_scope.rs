//! What counts as a directory object: `getByIds`, `GET /directoryObjects/{id}` and 1.6's
//! `getObjectsByObjectIds` return users, groups, applications... but never the other records
//! Cerulean stores as objects (Conditional Access policies, named locations, subscribed SKUs),
//! whose ids appear in logs and whose own routes ask for more than `Directory.Read.All`.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::aadgraph::{aad, aad_token};
use crate::harness::{Harness, id_of};

/// A CA policy, a named location and a subscribed SKU's id (the SKU is stored under its skuId).
async fn policy_records(h: &Harness) -> Vec<String> {
    let admin = h.sign(h.claims(&["Policy.ReadWrite.ConditionalAccess", "Policy.Read.All"])).await;
    let location = json!({
        "@odata.type": "#microsoft.graph.ipNamedLocation",
        "displayName": "Office",
        "isTrusted": true,
        "ipRanges": [{ "@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": "198.51.100.0/24" }]
    });
    let r = h
        .graph_with(Method::POST, "/v1.0/identity/conditionalAccess/namedLocations", Some(location), &admin, &[])
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let location = id_of(&r.json);
    let policy = json!({
        "displayName": "MFA for all",
        "state": "enabledForReportingButNotEnforced",
        "conditions": {
            "users": { "includeUsers": ["All"] },
            "applications": { "includeApplications": ["All"] },
            "clientAppTypes": ["all"]
        },
        "grantControls": { "operator": "OR", "builtInControls": ["mfa"] }
    });
    let r = h.graph_with(Method::POST, "/v1.0/identity/conditionalAccess/policies", Some(policy), &admin, &[]).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let policy = id_of(&r.json);
    let r = h.get("/v1.0/subscribedSkus").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let sku = r.json["value"][0]["skuId"].as_str().expect("skuId").to_string();
    vec![policy, location, sku]
}

fn ids(r: &Value) -> Vec<String> {
    r["value"].as_array().expect("value").iter().map(|v| v["id"].as_str().unwrap_or_default().to_string()).collect()
}

#[tokio::test]
async fn get_by_ids_returns_directory_objects_only() {
    let h = Harness::new().await;
    let user = id_of(&h.user("scopeuser", "Scope user").await);
    let others = policy_records(&h).await;
    let reader = h.sign(h.claims(&["Directory.Read.All"])).await;

    let mut asked = others.clone();
    asked.push(user.clone());
    let r = h
        .graph_with(Method::POST, "/v1.0/directoryObjects/getByIds", Some(json!({ "ids": asked })), &reader, &[])
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(ids(&r.json), vec![user.clone()], "{}", r.text);
    // Asking for `directoryObject` explicitly changes nothing.
    let body = json!({ "ids": others, "types": ["directoryObject"] });
    let r = h.graph_with(Method::POST, "/v1.0/directoryObjects/getByIds", Some(body), &reader, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(ids(&r.json), Vec::<String>::new(), "{}", r.text);
}

#[tokio::test]
async fn directory_objects_by_id_does_not_serve_policies() {
    let h = Harness::new().await;
    let user = id_of(&h.user("scopeone", "Scope one").await);
    let reader = h.sign(h.claims(&["Directory.Read.All"])).await;
    let r = h.graph_with(Method::GET, &format!("/v1.0/directoryObjects/{user}"), None, &reader, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    for id in policy_records(&h).await {
        let r = h.graph_with(Method::GET, &format!("/v1.0/directoryObjects/{id}"), None, &reader, &[]).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{id}: {}", r.text);
    }
}

#[tokio::test]
async fn azure_ad_graph_get_objects_by_object_ids_returns_directory_objects_only() {
    let h = Harness::new().await;
    let user = id_of(&h.user("scopeaad", "Scope aad").await);
    let mut asked = policy_records(&h).await;
    asked.push(user.clone());
    let t = aad_token(&h).await;
    let r = aad(&h, &t, Method::POST, "getObjectsByObjectIds", Some(json!({ "objectIds": asked }))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let found: Vec<&str> =
        r.json["value"].as_array().expect("value").iter().filter_map(|v| v["objectId"].as_str()).collect();
    assert_eq!(found, vec![user.as_str()], "{}", r.text);
}
