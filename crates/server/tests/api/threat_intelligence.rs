//! The administrator-raised `investigationsThreatIntelligence` detection for users
//! (`POST /cerulean/admin/identityProtection/threatIntelligence`, Cerulean's own route): the
//! detection it creates, the risky user it raises, its audit record, its refusals and who may
//! call it.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{Harness, id_of};

const ROUTE: &str = "/cerulean/admin/identityProtection/threatIntelligence";

fn enc(s: &str) -> String {
    s.replace(' ', "%20").replace('\'', "%27")
}

async fn raise(h: &Harness, body: Value) -> crate::harness::Reply {
    h.graph_with(Method::POST, ROUTE, Some(body), &h.token, &[("client-request-id", "ti-1")]).await
}

#[tokio::test]
async fn an_administrator_raises_threat_intelligence_for_a_user() {
    let h = Harness::new().await;
    let user = id_of(&h.user("adele", "Adele Vance").await);

    let r =
        raise(&h, json!({"userId": user, "reason": "Credentials seen on a phishing kit", "riskLevel": "medium"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let d = &r.json;
    assert_eq!(d["riskEventType"], "investigationsThreatIntelligence");
    assert_eq!(d["detectionTimingType"], "offline");
    assert_eq!(d["activity"], "user");
    assert_eq!(d["source"], "IdentityProtection");
    assert_eq!(
        (&d["riskLevel"], &d["riskState"], &d["riskDetail"]),
        (&json!("medium"), &json!("atRisk"), &json!("none"))
    );
    assert_eq!((&d["userId"], &d["userDisplayName"]), (&json!(user), &json!("Adele Vance")));
    assert_eq!(d["requestId"], Value::Null);
    assert_eq!(d["correlationId"], "ti-1");
    let info: Value = serde_json::from_str(d["additionalInfo"].as_str().expect("additionalInfo")).expect("json");
    let pair = |k: &str| info.as_array().expect("pairs").iter().find(|p| p["Key"] == k).map(|p| p["Value"].clone());
    assert_eq!(pair("reason"), Some(json!("Credentials seen on a phishing kit")));
    assert!(pair("raisedBy").is_some_and(|v| v.is_string()), "{info}");

    // Served by Graph like any detection, and the user is at risk at its level.
    let id = d["id"].as_str().expect("id");
    let got = h.get(&format!("/v1.0/identityProtection/riskDetections/{id}")).await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    assert_eq!(got.json["riskEventType"], "investigationsThreatIntelligence");
    let risky = h.get(&format!("/v1.0/identityProtection/riskyUsers/{user}")).await;
    assert_eq!(risky.status, StatusCode::OK, "{}", risky.text);
    assert_eq!((&risky.json["riskState"], &risky.json["riskLevel"]), (&json!("atRisk"), &json!("medium")));
    let history = h.get(&format!("/beta/identityProtection/riskyUsers/{user}/history")).await;
    let items = history.json["value"].as_array().expect("history").clone();
    assert_eq!(items.len(), 1, "{}", history.text);
    assert_eq!(items[0]["activity"]["eventTypes"], json!(["investigationsThreatIntelligence"]));

    // A second one at high raises the user to high (the highest open detection).
    let r = raise(&h, json!({"userId": user, "reason": "Seen in an incident report"})).await;
    assert_eq!((r.status, &r.json["riskLevel"]), (StatusCode::CREATED, &json!("high")), "{}", r.text);
    let risky = h.get(&format!("/v1.0/identityProtection/riskyUsers/{user}")).await;
    assert_eq!(risky.json["riskLevel"], "high");

    // Audited, naming the user and the detection.
    let filter = enc("activityDisplayName eq 'Raise threat intelligence risk detection'");
    let audits = h.get(&format!("/v1.0/auditLogs/directoryAudits?$filter={filter}")).await;
    assert_eq!(audits.status, StatusCode::OK, "{}", audits.text);
    let audits = audits.json["value"].as_array().expect("audits").clone();
    assert_eq!(audits.len(), 2, "{audits:?}");
    assert_eq!(audits[0]["category"], "IdentityProtection");
    assert_eq!(audits[0]["targetResources"][0]["id"], user.as_str());
    let text = audits.iter().map(Value::to_string).collect::<String>();
    assert!(text.contains(id), "the audit names the detection: {text}");
}

#[tokio::test]
async fn a_confirmed_compromised_user_stays_confirmed() {
    let h = Harness::new().await;
    let user = id_of(&h.user("megan", "Megan Bowen").await);
    let r = h.post("/v1.0/identityProtection/riskyUsers/confirmCompromised", json!({"userIds": [user]})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = raise(&h, json!({"userId": user, "reason": "More evidence", "riskLevel": "low"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let risky = h.get(&format!("/v1.0/identityProtection/riskyUsers/{user}")).await;
    assert_eq!((&risky.json["riskState"], &risky.json["riskLevel"]), (&json!("confirmedCompromised"), &json!("high")));
}

#[tokio::test]
async fn bad_requests_and_callers_are_refused() {
    let h = Harness::new().await;
    let user = id_of(&h.user("lynne", "Lynne Robbins").await);
    let group = id_of(&h.group("ops", "Ops").await);
    let cases = [
        (json!({"reason": "x"}), StatusCode::BAD_REQUEST),
        (json!({"userId": user}), StatusCode::BAD_REQUEST),
        (json!({"userId": user, "reason": "   "}), StatusCode::BAD_REQUEST),
        (json!({"userId": user, "reason": "x".repeat(1001)}), StatusCode::BAD_REQUEST),
        (json!({"userId": user, "reason": "x", "riskLevel": "none"}), StatusCode::BAD_REQUEST),
        (json!({"userId": user, "reason": "x", "riskLevel": 3}), StatusCode::BAD_REQUEST),
        (json!({"userId": "not-a-guid", "reason": "x"}), StatusCode::NOT_FOUND),
        (json!({"userId": group, "reason": "x"}), StatusCode::NOT_FOUND),
        (json!({"userId": uuid::Uuid::new_v4(), "reason": "x"}), StatusCode::NOT_FOUND),
    ];
    for (body, status) in cases {
        let r = raise(&h, body.clone()).await;
        assert_eq!(r.status, status, "{body}: {}", r.text);
        assert!(r.json["error"]["code"].is_string(), "{}", r.text);
    }
    // Nothing was recorded by the refusals.
    let all = h.get("/v1.0/identityProtection/riskDetections").await;
    assert_eq!(all.json["value"], json!([]), "{}", all.text);

    // Only administrators: an app without Directory.ReadWrite.All, and no token at all.
    let reader = h.sign(h.claims(&["IdentityRiskyUser.ReadWrite.All"])).await;
    let body = json!({"userId": user, "reason": "x"});
    let r = h.graph_with(Method::POST, ROUTE, Some(body.clone()), &reader, &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r = h.graph_with(Method::POST, ROUTE, Some(body), "", &[]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
}
