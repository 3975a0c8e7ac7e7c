//! Identity Protection for workload identities: client-credentials sign-ins of the bootstrap
//! application (addresses given through a trusted proxy, located by a small ranges file)
//! assessed against the service principal's own history; the detections kept as
//! `servicePrincipalRiskDetection`s, the service principal at risk as a
//! `riskyServicePrincipal` with its history; the administrator's `confirmCompromised` and
//! `dismiss`; a Conditional Access policy on `servicePrincipalRiskLevels` blocking a
//! compromised service principal at the token endpoint; the permissions of each route.

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode};
use serde_json::{Value, json};

use crate::harness::{Harness, Reply, id_of};
use crate::identity_protection::{proxied_harness, proxied_options};

const READ_EVENTS: &str = "IdentityRiskEvent.Read.All";
const READ_SPS: &str = "IdentityRiskyServicePrincipal.Read.All";
const WRITE_SPS: &str = "IdentityRiskyServicePrincipal.ReadWrite.All";
const READ_USERS: &str = "IdentityRiskyUser.Read.All";
const DETECTIONS: &str = "/v1.0/identityProtection/servicePrincipalRiskDetections";
const RISKY: &str = "/v1.0/identityProtection/riskyServicePrincipals";

fn enc(s: &str) -> String {
    s.replace(' ', "%20").replace('\'', "%27")
}

/// A harness that trusts 10.0.0.0/8 as a proxy, locates Oslo (198.51.100.0/24) and Tokyo
/// (203.0.113.0/24), and lists 192.0.2.66 as malicious.
async fn harness() -> Harness {
    use cerulean_identity::risk::{RiskConfig, parse_ip_list};
    proxied_harness(RiskConfig { malicious: parse_ip_list("192.0.2.66").expect("list"), ..RiskConfig::default() }).await
}

/// A client-credentials request of the bootstrap application from `client` (via the proxy).
async fn app_sign_in(h: &Harness, client: &str, user_agent: &str, correlation: &str) -> Reply {
    h.send(app_sign_in_request(h, client, user_agent, correlation)).await
}

fn app_sign_in_request(h: &Harness, client: &str, user_agent: &str, correlation: &str) -> Request<Body> {
    let fields = [
        ("grant_type", "client_credentials"),
        ("client_id", h.boot.client_id.as_str()),
        ("client_secret", h.boot.client_secret.as_str()),
        ("scope", "https://graph.microsoft.com/.default"),
    ];
    let mut req = Request::builder()
        .method(Method::POST)
        .uri(format!("/{}/oauth2/v2.0/token", h.boot.tenant_id))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-forwarded-for", client)
        .header("user-agent", user_agent)
        .header("client-request-id", correlation)
        .body(Body::from(serde_urlencoded::to_string(fields).expect("form")))
        .expect("request");
    let peer: std::net::SocketAddr = "10.0.0.1:443".parse().expect("peer");
    req.extensions_mut().insert(ConnectInfo(peer));
    req
}

async fn token(h: &Harness, roles: &[&str]) -> String {
    h.sign(h.claims(roles)).await
}

async fn get(h: &Harness, path: &str, token: &str) -> Reply {
    h.graph_with(Method::GET, path, None, token, &[]).await
}

async fn post(h: &Harness, path: &str, body: Value, token: &str) -> Reply {
    h.graph_with(Method::POST, path, Some(body), token, &[]).await
}

fn values(r: &Reply) -> Vec<Value> {
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.json["value"].as_array().expect("value").clone()
}

/// The bootstrap application's service principal id.
async fn bootstrap_sp(h: &Harness) -> String {
    let sps = h.get(&format!("/v1.0/servicePrincipals?$filter=appId%20eq%20%27{}%27", h.boot.client_id)).await;
    sps.json["value"][0]["id"].as_str().expect("service principal").to_string()
}

/// The service principal sign-in row of a correlation id (beta: v1.0 lists user sign-ins).
async fn sign_in_row(h: &Harness, correlation: &str) -> Value {
    let filter = format!("signInEventTypes/any(t:t eq 'servicePrincipal') and correlationId eq '{correlation}'");
    let r = h.get(&format!("/beta/auditLogs/signIns?$filter={}", enc(&filter))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.json["value"][0].clone()
}

/// Five sign-ins from the usual host teach the history.
async fn learn(h: &Harness) {
    for i in 0..5 {
        let r = app_sign_in(h, "198.51.100.7", "azsdk-python-identity/1.15", &format!("home-{i}")).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
}

#[tokio::test]
async fn sign_ins_from_unusual_sources_make_the_service_principal_risky() {
    let h = harness().await;
    let sp = bootstrap_sp(&h).await;
    let read = token(&h, &[READ_EVENTS, READ_SPS]).await;
    // While learning nothing is suspicious, and a familiar sign-in never is.
    learn(&h).await;
    assert!(values(&get(&h, DETECTIONS, &read).await).is_empty());
    assert_eq!(
        app_sign_in(&h, "198.51.100.7", "azsdk-python-identity/1.15", "home-again").await.status,
        StatusCode::OK
    );
    assert!(values(&get(&h, DETECTIONS, &read).await).is_empty());
    assert_eq!(get(&h, &format!("{RISKY}/{sp}"), &read).await.status, StatusCode::NOT_FOUND);

    // From Tokyo with another client: new address, network, country and client.
    assert_eq!(app_sign_in(&h, "203.0.113.9", "curl/8.4.0", "tokyo").await.status, StatusCode::OK);
    let found = values(&get(&h, DETECTIONS, &read).await);
    assert_eq!(found.len(), 1, "{found:?}");
    let d = &found[0];
    let row = sign_in_row(&h, "tokyo").await;
    assert_eq!(d["riskEventType"], "suspiciousSignins", "{d}");
    assert_eq!(d["riskLevel"], "medium", "four of five properties unseen: {d}");
    assert_eq!(d["riskState"], "atRisk");
    assert_eq!(d["riskDetail"], "none");
    assert_eq!(d["detectionTimingType"], "offline");
    assert_eq!(d["activity"], "signin");
    assert_eq!(d["source"], "IdentityProtection");
    assert_eq!(d["tokenIssuerType"], "AzureAD");
    assert_eq!(d["requestId"], row["id"], "linked to the sign-in: {d}");
    assert_eq!(d["correlationId"], "tokyo");
    assert_eq!(d["ipAddress"], "203.0.113.9");
    assert_eq!(d["location"], row["location"]);
    assert_eq!(d["location"]["countryOrRegion"], "JP");
    assert_eq!(d["appId"], h.boot.client_id.as_str());
    assert_eq!(d["servicePrincipalId"], sp.as_str());
    assert!(d["servicePrincipalDisplayName"].is_string(), "{d}");
    // The key of the secret the sign-in proved (issue 7: keyIds).
    assert_eq!(d["keyIds"], json!([row["servicePrincipalCredentialKeyId"]]), "{d}");
    assert!(row["servicePrincipalCredentialKeyId"].is_string(), "{row}");
    assert_eq!(d["activityDateTime"], row["createdDateTime"]);
    assert!(d["lastUpdatedDateTime"].is_string());
    let info: Value = serde_json::from_str(d["additionalInfo"].as_str().expect("additionalInfo")).expect("json");
    let reasons: Vec<&str> = info.as_array().expect("pairs").iter().filter_map(|p| p["Value"].as_str()).collect();
    assert!(reasons.iter().any(|r| r.contains("country JP")), "{reasons:?}");
    assert!(reasons.iter().any(|r| r.contains("curl")), "{reasons:?}");
    // The sign-in log row says what was found.
    assert_eq!(row["riskLevelDuringSignIn"], "medium", "{row}");
    assert_eq!(row["riskEventTypes_v2"], json!(["suspiciousSignins"]), "{row}");
    // Not a user detection.
    let users = token(&h, &[READ_EVENTS]).await;
    assert!(values(&get(&h, "/v1.0/identityProtection/riskDetections", &users).await).is_empty());

    // The risky service principal and its history.
    let risky = get(&h, &format!("{RISKY}/{sp}"), &read).await;
    assert_eq!(risky.status, StatusCode::OK, "{}", risky.text);
    let r = &risky.json;
    assert!(
        r["@odata.context"].as_str().expect("context").ends_with("#identityProtection/riskyServicePrincipals/$entity")
    );
    assert_eq!(r["id"], sp.as_str());
    assert_eq!(r["appId"], h.boot.client_id.as_str());
    assert!(r["displayName"].is_string(), "{r}");
    assert_eq!(r["isEnabled"], true);
    assert_eq!(r["isProcessing"], false);
    assert_eq!(r["riskLevel"], "medium");
    assert_eq!(r["riskState"], "atRisk");
    assert_eq!(r["riskDetail"], "none");
    assert_eq!(r["riskLastUpdatedDateTime"], d["detectedDateTime"]);
    assert!(r.get("servicePrincipalType").is_some(), "{r}");
    let history = values(&get(&h, &format!("{RISKY}/{sp}/history"), &read).await);
    assert_eq!(history.len(), 1, "{history:?}");
    assert_eq!(history[0]["activity"], json!({"detail": "none", "riskEventTypes": ["suspiciousSignins"]}));
    assert_eq!(history[0]["riskState"], "atRisk");
    assert!(history[0]["initiatedBy"].is_null());

    // From a malicious address: threat intelligence, high; the service principal's risk rises.
    assert_eq!(app_sign_in(&h, "192.0.2.66", "azsdk-python-identity/1.15", "bad").await.status, StatusCode::OK);
    let list = |filter: &str| {
        let (h, read) = (&h, &read);
        let path = format!("{DETECTIONS}?$filter={}", enc(filter));
        async move { values(&get(h, &path, read).await) }
    };
    let high = list("riskLevel eq 'high'").await;
    assert_eq!(high.len(), 1, "{high:?}");
    assert_eq!(high[0]["riskEventType"], "investigationsThreatIntelligence");
    assert_eq!(list(&format!("servicePrincipalId eq '{sp}'")).await.len(), 2);
    assert_eq!(list(&format!("appId eq '{}'", h.boot.client_id.to_uppercase())).await.len(), 2);
    assert_eq!(list("riskEventType eq 'suspiciousSignins' and ipAddress eq '203.0.113.9'").await.len(), 1);
    assert_eq!(list(&format!("servicePrincipalId eq '{}'", uuid::Uuid::new_v4())).await.len(), 0);
    let bad = get(&h, &format!("{DETECTIONS}?$filter={}", enc("userId eq 'x'")), &read).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "not a property: {}", bad.text);
    let paged = get(&h, &format!("{DETECTIONS}?$top=1"), &read).await;
    assert_eq!(values(&paged).len(), 1);
    let next = paged.json["@odata.nextLink"].as_str().expect("nextLink");
    assert_eq!(values(&get(&h, next.trim_start_matches(crate::harness::PUBLIC_URL), &read).await).len(), 1);
    let one = get(&h, &format!("{DETECTIONS}/{}", high[0]["id"].as_str().expect("id")), &read).await;
    assert_eq!(one.json["riskEventType"], "investigationsThreatIntelligence", "{}", one.text);
    for missing in [uuid::Uuid::new_v4().to_string(), "nope".into()] {
        assert_eq!(get(&h, &format!("{DETECTIONS}/{missing}"), &read).await.status, StatusCode::NOT_FOUND);
        assert_eq!(get(&h, &format!("{RISKY}/{missing}"), &read).await.status, StatusCode::NOT_FOUND);
        assert_eq!(get(&h, &format!("{RISKY}/{missing}/history"), &read).await.status, StatusCode::NOT_FOUND);
    }
    let risky = values(&get(&h, &format!("{RISKY}?$filter={}", enc("riskLevel eq 'high'")), &read).await);
    assert_eq!(risky.len(), 1, "{risky:?}");
    assert_eq!(values(&get(&h, &format!("{RISKY}/{sp}/history"), &read).await).len(), 2);
    // The select option (the id always comes along, as in Graph).
    let selected = get(&h, &format!("{RISKY}?$select=riskLevel"), &read).await;
    assert_eq!(values(&selected)[0], json!({"id": sp, "riskLevel": "high"}), "{}", selected.text);
}

#[tokio::test]
async fn confirmed_compromised_service_principals_are_blocked_by_risk_policies() {
    let h = harness().await;
    let sp = bootstrap_sp(&h).await;
    let write = token(&h, &[WRITE_SPS, READ_EVENTS]).await;
    let policy = json!({
        "displayName": "Block risky workloads",
        "state": "enabled",
        "conditions": {
            "users": { "includeUsers": ["None"] },
            "applications": { "includeApplications": ["All"] },
            "clientApplications": { "includeServicePrincipals": ["ServicePrincipalsInMyTenant"] },
            "servicePrincipalRiskLevels": ["high"],
        },
        "grantControls": { "operator": "OR", "builtInControls": ["block"] }
    });
    let ca = token(&h, &["Policy.ReadWrite.ConditionalAccess", "Policy.Read.All"]).await;
    let created = post(&h, "/v1.0/identity/conditionalAccess/policies", policy, &ca).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let policy_id = id_of(&created.json);

    // No risk yet: the policy does not apply.
    assert_eq!(app_sign_in(&h, "198.51.100.7", "azsdk", "before").await.status, StatusCode::OK);
    let row = sign_in_row(&h, "before").await;
    assert_eq!(row["appliedConditionalAccessPolicies"][0]["result"], "notApplied", "{row}");

    // Confirmed compromised: high, with the administrator's detection and a history item.
    let user = id_of(&h.user("ada", "Ada").await);
    let body = json!({"servicePrincipalIds": [sp, user, "not-a-guid", uuid::Uuid::new_v4()]});
    let r = post(&h, &format!("{RISKY}/confirmCompromised"), body, &write).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let risky = get(&h, &format!("{RISKY}/{sp}"), &write).await;
    assert_eq!(risky.json["riskState"], "confirmedCompromised", "{}", risky.text);
    assert_eq!(risky.json["riskLevel"], "high");
    assert_eq!(risky.json["riskDetail"], "adminConfirmedServicePrincipalCompromised");
    assert_eq!(values(&get(&h, RISKY, &write).await).len(), 1, "other ids are ignored");
    let found = values(&get(&h, DETECTIONS, &write).await);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["riskEventType"], "adminConfirmedServicePrincipalCompromised");
    assert_eq!(found[0]["riskState"], "confirmedCompromised");
    assert_eq!(found[0]["activity"], "servicePrincipal");
    assert!(found[0]["requestId"].is_null());
    let history = values(&get(&h, &format!("{RISKY}/{sp}/history"), &write).await);
    assert_eq!(history[0]["activity"]["detail"], "adminConfirmedServicePrincipalCompromised");
    assert!(history[0]["initiatedBy"].is_string(), "{:?}", history[0]);

    // The token endpoint refuses it under the policy (AADSTS53003), and the log says why.
    let blocked = app_sign_in(&h, "198.51.100.7", "azsdk", "blocked").await;
    assert_eq!(blocked.status, StatusCode::BAD_REQUEST, "{}", blocked.text);
    assert_eq!(blocked.json["error_codes"][0], 53003, "{}", blocked.text);
    let row = sign_in_row(&h, "blocked").await;
    assert_eq!(row["status"]["errorCode"], 53003, "{row}");
    assert_eq!(row["appliedConditionalAccessPolicies"][0]["id"], policy_id.as_str(), "{row}");
    assert_eq!(row["appliedConditionalAccessPolicies"][0]["result"], "failure", "{row}");

    // Dismissed: no risk, detections dismissed, tokens again.
    let r = post(&h, &format!("{RISKY}/dismiss"), json!({"servicePrincipalIds": [sp]}), &write).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let risky = get(&h, &format!("{RISKY}/{sp}"), &write).await;
    assert_eq!((&risky.json["riskState"], &risky.json["riskLevel"]), (&json!("dismissed"), &json!("none")));
    assert_eq!(risky.json["riskDetail"], "adminDismissedAllRiskForServicePrincipal");
    let found = values(&get(&h, DETECTIONS, &write).await);
    assert_eq!(found[0]["riskState"], "dismissed", "{found:?}");
    assert_eq!(found[0]["riskDetail"], "adminDismissedAllRiskForServicePrincipal");
    assert_eq!(values(&get(&h, &format!("{RISKY}/{sp}/history"), &write).await).len(), 2);
    assert_eq!(app_sign_in(&h, "198.51.100.7", "azsdk", "after").await.status, StatusCode::OK);
    // Dismissing a service principal without risk changes nothing.
    let other = h.post("/v1.0/applications", json!({"displayName": "Other"})).await;
    let other_sp = h.post("/v1.0/servicePrincipals", json!({"appId": other.json["appId"]})).await;
    assert_eq!(other_sp.status, StatusCode::CREATED, "{}", other_sp.text);
    let other_sp = id_of(&other_sp.json);
    let r = post(&h, &format!("{RISKY}/dismiss"), json!({"servicePrincipalIds": [other_sp]}), &write).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(get(&h, &format!("{RISKY}/{other_sp}"), &write).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn actions_validate_their_body_and_routes_their_permissions() {
    let h = harness().await;
    let sp = bootstrap_sp(&h).await;
    let write = token(&h, &[WRITE_SPS]).await;
    for body in
        [json!({}), json!({"servicePrincipalIds": "x"}), json!({"servicePrincipalIds": [1]}), json!({"userIds": [sp]})]
    {
        for action in ["confirmCompromised", "dismiss"] {
            let r = post(&h, &format!("{RISKY}/{action}"), body.clone(), &write).await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {}", r.text);
            assert!(r.text.contains("servicePrincipalIds"), "{}", r.text);
        }
    }
    let many: Vec<String> = (0..61).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    let r = post(&h, &format!("{RISKY}/confirmCompromised"), json!({"servicePrincipalIds": many}), &write).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.text.contains("60"), "{}", r.text);

    // Reading takes the risky service principal permissions (read or read-write), the
    // detections IdentityRiskEvent.Read.All, the actions read-write.
    let users_only = token(&h, &[READ_USERS, READ_EVENTS]).await;
    assert_eq!(get(&h, RISKY, &users_only).await.status, StatusCode::FORBIDDEN);
    assert_eq!(get(&h, DETECTIONS, &users_only).await.status, StatusCode::OK);
    assert_eq!(get(&h, RISKY, &write).await.status, StatusCode::OK);
    assert_eq!(get(&h, DETECTIONS, &write).await.status, StatusCode::FORBIDDEN);
    let read = token(&h, &[READ_SPS]).await;
    assert_eq!(get(&h, RISKY, &read).await.status, StatusCode::OK);
    let body = json!({"servicePrincipalIds": [sp]});
    let r = post(&h, &format!("{RISKY}/confirmCompromised"), body.clone(), &read).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert_eq!(post(&h, &format!("{RISKY}/dismiss"), body, &read).await.status, StatusCode::FORBIDDEN);
    // Graph segment names are case-insensitive.
    let r = get(&h, "/v1.0/IdentityProtection/RiskyServicePrincipals", &read).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

/// Single sign-on at the authorize endpoint: a browser holding an SSO session is signed in
/// without typing anything; the sign-in is logged as interactive with its authentication
/// "Previously satisfied", and assessed for risk — the session used from Tokyo minutes after
/// Oslo is impossible travel.
#[tokio::test]
async fn single_sign_on_is_logged_as_an_interactive_sign_in_and_assessed() {
    use crate::browser::{Browser, NATIVE_REDIRECT, PASSWORD, redirect_params, registered_app, s256};
    let h = harness().await;
    let adele = id_of(&h.user("adele", "Adele Vance").await);
    let (client, _) = registered_app(&h, Some("User.Read")).await;
    let challenge = s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-single-sign-on");
    let q = serde_urlencoded::to_string([
        ("client_id", client.as_str()),
        ("response_type", "code"),
        ("redirect_uri", NATIVE_REDIRECT),
        ("scope", "openid User.Read"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ])
    .expect("query");
    let url = format!("/{}/oauth2/v2.0/authorize?{q}", h.boot.tenant_id);
    let rows = |filter: String| {
        let h = &h;
        async move {
            let r = h.get(&format!("/beta/auditLogs/signIns?$filter={}", enc(&filter))).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            r.json["value"].as_array().expect("value").clone()
        }
    };

    // The password on the page at home starts the session.
    let mut b = Browser { forwarded_for: Some("198.51.100.7".into()), ..Browser::default() };
    let page = b.get(&h, &url).await;
    let r = b.sign_in(&h, &page, "adele@contoso.onmicrosoft.com", PASSWORD).await;
    assert_eq!(r.status, StatusCode::FOUND, "{}", r.text);
    let first = rows(format!("userId eq '{adele}'")).await;
    assert_eq!(first.len(), 1);
    assert_eq!(first[0]["authenticationDetails"][0]["authenticationMethod"], "Password", "{}", first[0]);

    // The session signs her in again: a code, no form, one more interactive sign-in.
    let r = b.get(&h, &url).await;
    assert_eq!(r.status, StatusCode::FOUND, "single sign-on answers at once: {}", r.text);
    let loc = r.headers.get("location").and_then(|v| v.to_str().ok()).expect("location");
    assert!(redirect_params(loc).contains_key("code"), "{loc}");
    let all = rows(format!("userId eq '{adele}'")).await;
    assert_eq!(all.len(), 2, "{all:?}");
    let sso = &all[0];
    assert_eq!(sso["isInteractive"], true, "{sso}");
    assert_eq!(sso["signInEventTypes"], json!(["interactiveUser"]));
    assert_eq!(sso["status"]["errorCode"], 0);
    assert_eq!(sso["appId"], client.as_str());
    assert_eq!(sso["ipAddress"], "198.51.100.7");
    assert_eq!(sso["authenticationRequirement"], "singleFactorAuthentication");
    let details = sso["authenticationDetails"].as_array().expect("authenticationDetails");
    assert_eq!(details[0]["authenticationMethod"], "Previously satisfied", "{sso}");
    assert_eq!(details[0]["succeeded"], true);
    assert!(details[0]["authenticationStepDateTime"].is_string(), "{sso}");
    assert_eq!(sso["riskLevelDuringSignIn"], "none");
    // v1.0 lists it too (an interactive user sign-in), without beta's properties.
    let v1 = h.get(&format!("/v1.0/auditLogs/signIns?$filter={}", enc(&format!("userId eq '{adele}'")))).await;
    assert_eq!(v1.json["value"].as_array().map(Vec::len), Some(2), "{}", v1.text);
    assert!(v1.json["value"][0].get("authenticationDetails").is_none(), "{}", v1.text);

    // The same session cookie from Tokyo minutes later: impossible travel, on the SSO row.
    b.forwarded_for = Some("203.0.113.9".into());
    let r = b.get(&h, &url).await;
    assert_eq!(r.status, StatusCode::FOUND, "{}", r.text);
    let tokyo = rows(format!("userId eq '{adele}' and ipAddress eq '203.0.113.9'")).await;
    assert_eq!(tokyo.len(), 1);
    assert_eq!(tokyo[0]["authenticationDetails"][0]["authenticationMethod"], "Previously satisfied");
    assert_eq!(tokyo[0]["riskEventTypes_v2"], json!(["impossibleTravel"]), "{}", tokyo[0]);
    let events = token(&h, &[READ_EVENTS]).await;
    let path = format!("/v1.0/identityProtection/riskDetections?$filter={}", enc(&format!("userId eq '{adele}'")));
    let found = values(&get(&h, &path, &events).await);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["riskEventType"], "impossibleTravel");
    assert_eq!(found[0]["requestId"], tokyo[0]["id"]);
}

/// Each node keeps a service principal's recent sign-ins in memory for a second (issue 8): its
/// own sign-ins at once, another node's once the history it read is a second old. Five
/// sign-ins committed by another node teach this node's history, so a sign-in from a new
/// place here is then assessed against them.
#[tokio::test]
async fn another_nodes_sign_ins_join_the_history_within_a_second() {
    use tower::ServiceExt;
    let h = harness().await;
    let read = token(&h, &[READ_EVENTS, READ_SPS]).await;
    // This node reads the history now: one sign-in, too few to learn from.
    let r = app_sign_in(&h, "198.51.100.7", "azsdk-python-identity/1.15", "here-0").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // Another node on the same store teaches the history.
    let risk = cerulean_identity::risk::RiskConfig {
        malicious: cerulean_identity::risk::parse_ip_list("192.0.2.66").expect("list"),
        ..cerulean_identity::risk::RiskConfig::default()
    };
    let other =
        cerulean::app::App::with_options(h.other_store().await, crate::harness::PUBLIC_URL, proxied_options(risk));
    other.set_ready();
    for i in 0..5 {
        let req = app_sign_in_request(&h, "198.51.100.7", "azsdk-python-identity/1.15", &format!("there-{i}"));
        let res = other.service::<Body>().oneshot(req).await.expect("infallible");
        assert_eq!(res.status(), StatusCode::OK);
    }
    assert!(values(&get(&h, DETECTIONS, &read).await).is_empty());
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    // From Tokyo with another client, here: unfamiliar against the six sign-ins.
    let r = app_sign_in(&h, "203.0.113.9", "curl/8.4.0", "tokyo-here").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let found = values(&get(&h, DETECTIONS, &read).await);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["correlationId"], "tokyo-here");
}
