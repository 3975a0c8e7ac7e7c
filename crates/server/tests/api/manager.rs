//! Manager and direct reports: `manager/$ref`, `manager`, `directReports`, and their `$expand`.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::harness::{Harness, PUBLIC_URL, id_of};

async fn set_manager(h: &Harness, user: &str, manager: &str) -> crate::harness::Reply {
    h.graph(
        Method::PUT,
        &format!("/v1.0/users/{user}/manager/$ref"),
        Some(json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/users/{manager}")})),
    )
    .await
}

#[tokio::test]
async fn set_get_replace_and_remove_a_manager() {
    let h = Harness::new().await;
    let adele = id_of(&h.user("adele", "Adele").await);
    let boss = id_of(&h.user("boss", "Boss").await);
    let other = id_of(&h.user("other", "Other").await);

    let r = h.get(&format!("/v1.0/users/{adele}/manager")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.code(), "Request_ResourceNotFound");
    assert_eq!(
        r.message(),
        "Resource 'manager' does not exist or one of its queried reference-property objects are not present."
    );

    let r = set_manager(&h, &adele, &boss).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = h.get(&format!("/v1.0/users/{adele}/manager")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["@odata.context"], json!(format!("{PUBLIC_URL}/v1.0/$metadata#directoryObjects/$entity")));
    assert_eq!(r.json["@odata.type"], "#microsoft.graph.user");
    assert_eq!(r.json["id"], json!(boss));
    let r = h.get("/v1.0/users/adele@contoso.onmicrosoft.com/manager?$select=displayName").await;
    assert_eq!(r.json["displayName"], "Boss");
    assert!(r.json.get("userPrincipalName").is_none());

    // Setting the same manager again is accepted; another one replaces it.
    assert_eq!(set_manager(&h, &adele, &boss).await.status, StatusCode::NO_CONTENT);
    assert_eq!(set_manager(&h, &adele, &other).await.status, StatusCode::NO_CONTENT);
    let r = h.get(&format!("/v1.0/users/{adele}/manager")).await;
    assert_eq!(r.json["id"], json!(other));
    let r = h.get(&format!("/v1.0/users/{boss}/directReports")).await;
    assert_eq!(r.json["value"], json!([]));

    let r = h.delete(&format!("/v1.0/users/{adele}/manager/$ref")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(h.get(&format!("/v1.0/users/{adele}/manager")).await.status, StatusCode::NOT_FOUND);
    let r = h.delete(&format!("/v1.0/users/{adele}/manager/$ref")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn invalid_managers_are_refused() {
    let h = Harness::new().await;
    let adele = id_of(&h.user("adele", "Adele").await);
    let group = id_of(&h.group("grp", "Grp").await);

    let r = set_manager(&h, &adele, &adele).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = set_manager(&h, &adele, &group).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "a group cannot manage: {}", r.text);
    let r = set_manager(&h, &adele, &uuid::Uuid::new_v4().to_string()).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = h.graph(Method::PUT, &format!("/v1.0/users/{adele}/manager/$ref"), Some(json!({}))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = set_manager(&h, &uuid::Uuid::new_v4().to_string(), &adele).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn direct_reports_and_expand() {
    let h = Harness::new().await;
    let boss = id_of(&h.user("boss", "Boss").await);
    let a = id_of(&h.user("ra", "Report A").await);
    let b = id_of(&h.user("rb", "Report B").await);
    for u in [&a, &b] {
        assert_eq!(set_manager(&h, u, &boss).await.status, StatusCode::NO_CONTENT);
    }
    // A loop higher up (the boss reports to A) is accepted and does not hang readers.
    assert_eq!(set_manager(&h, &boss, &a).await.status, StatusCode::NO_CONTENT);

    let r = h.get(&format!("/v1.0/users/{boss}/directReports")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["@odata.context"], json!(format!("{PUBLIC_URL}/v1.0/$metadata#directoryObjects")));
    let mut got: Vec<String> =
        r.json["value"].as_array().expect("value").iter().map(|v| v["id"].as_str().expect("id").to_string()).collect();
    got.sort();
    let mut want = vec![a.clone(), b.clone()];
    want.sort();
    assert_eq!(got, want);

    let r = h.get(&format!("/v1.0/users/{a}?$expand=manager($select=displayName)")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["manager"]["displayName"], "Boss");
    assert_eq!(r.json["manager"]["@odata.type"], "#microsoft.graph.user");
    assert!(r.json["manager"].get("userPrincipalName").is_none());

    let r = h.get(&format!("/v1.0/users/{boss}?$expand=directReports($select=id,displayName)")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["directReports"].as_array().expect("reports").len(), 2);

    let r = h.get(&format!("/v1.0/users?$filter=id%20eq%20'{b}'&$expand=manager")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["value"][0]["manager"]["id"], json!(boss));

    // Without a manager the expanded property is absent; a deleted manager is not shown.
    let loner = id_of(&h.user("loner", "Loner").await);
    let r = h.get(&format!("/v1.0/users/{loner}?$expand=manager")).await;
    assert!(r.json.get("manager").is_none(), "{}", r.text);
    assert_eq!(h.delete(&format!("/v1.0/users/{boss}")).await.status, StatusCode::NO_CONTENT);
    assert_eq!(h.get(&format!("/v1.0/users/{b}/manager")).await.status, StatusCode::NOT_FOUND);
}
