//! `/identityProtection`: the risk detections found at real sign-ins (scripted ROPC sign-ins
//! from addresses given through a trusted proxy, located by a small ranges file) kept as
//! `riskDetection`s; the users at risk aggregated from them, with their history; the
//! administrator's `confirmCompromised` and `dismiss`; remediation by a password change; the
//! permissions of each route.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode};
use cerulean::app::AppOptions;
use serde_json::{Value, json};

use crate::harness::{Harness, PUBLIC_URL, Reply, id_of};

const PASSWORD: &str = "xWwvJ]6NMw+bWH-d";
const GLOBAL_ADMIN: &str = "62e90394-69f5-4237-9190-012177145e10";
const PASSWORD_METHOD: &str = "28c10230-6103-485e-b985-444c60001490";
const READ_EVENTS: &str = "IdentityRiskEvent.Read.All";
const READ_USERS: &str = "IdentityRiskyUser.Read.All";
const WRITE_USERS: &str = "IdentityRiskyUser.ReadWrite.All";

fn enc(s: &str) -> String {
    s.replace(' ', "%20").replace('\'', "%27")
}

/// A harness whose server trusts 10.0.0.0/8 as a proxy, locates two ranges (Oslo, Tokyo) and
/// lists 192.0.2.0/24 as anonymizers.
async fn harness() -> Harness {
    use cerulean_identity::risk::{RiskConfig, parse_ip_list};
    let risk = RiskConfig { anonymizers: parse_ip_list("192.0.2.0/24").expect("list"), ..RiskConfig::default() };
    proxied_harness(risk).await
}

/// A harness whose server trusts 10.0.0.0/8 as a proxy, locates two ranges (198.51.100.0/24
/// in Oslo, 203.0.113.0/24 in Tokyo) and detects risk with `risk`.
pub(crate) async fn proxied_harness(risk: cerulean_identity::risk::RiskConfig) -> Harness {
    Harness::with_options("contoso.onmicrosoft.com", proxied_options(risk)).await
}

/// The options of [`proxied_harness`], for another node on its store.
pub(crate) fn proxied_options(risk: cerulean_identity::risk::RiskConfig) -> AppOptions {
    use cerulean_identity::location::{Locator, LocatorConfig};

    let dir = std::env::temp_dir().join(format!("cerulean-ipx-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("dir");
    let ranges = dir.join("ranges.csv");
    std::fs::write(
        &ranges,
        "198.51.100.0/24,NO,Oslo,Oslo,59.91,10.75,64500,Oslo Net\n203.0.113.0/24,JP,Tokyo,Tokyo,35.68,139.69,64999,Tokyo Net\n",
    )
    .expect("ranges");
    let locator = Locator::load(&LocatorConfig { ranges: Some(ranges), ..LocatorConfig::default() }).expect("locator");
    AppOptions {
        trusted_proxies: vec!["10.0.0.0/8".parse().expect("cidr")],
        locator: Some(std::sync::Arc::new(locator)),
        risk: Some(std::sync::Arc::new(risk)),
        ..AppOptions::default()
    }
}

/// A ROPC sign-in of `user` from `client` (via the trusted proxy) with a correlation id.
pub(crate) async fn sign_in(h: &Harness, client: &str, user: &str, password: &str, correlation: &str) -> StatusCode {
    let fields = [
        ("grant_type", "password"),
        ("client_id", h.boot.client_id.as_str()),
        ("client_secret", h.boot.client_secret.as_str()),
        ("username", user),
        ("password", password),
        ("scope", "https://graph.microsoft.com/.default"),
    ];
    let mut req = Request::builder()
        .method(Method::POST)
        .uri(format!("/{}/oauth2/v2.0/token", h.boot.tenant_id))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-forwarded-for", client)
        .header("client-request-id", correlation)
        .body(Body::from(serde_urlencoded::to_string(fields).expect("form")))
        .expect("request");
    let peer: SocketAddr = "10.0.0.1:443".parse().expect("peer");
    req.extensions_mut().insert(ConnectInfo(peer));
    h.send(req).await.status
}

/// An app token holding `roles`.
async fn app(h: &Harness, roles: &[&str]) -> String {
    h.sign(h.claims(roles)).await
}

/// A delegated token of `user` with `scopes` and directory roles `wids`.
async fn delegated(h: &Harness, user: &str, scopes: &str, wids: &[&str]) -> String {
    let mut claims = h.claims(&[]);
    let m = claims.as_object_mut().expect("claims");
    m.remove("roles");
    m.insert("oid".into(), json!(user));
    m.insert("idtyp".into(), json!("user"));
    m.insert("scp".into(), json!(scopes));
    m.insert("wids".into(), json!(wids));
    h.sign(claims).await
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

/// Sign-ins that raise detections: the administrator five times at home, then from Tokyo
/// (unfamiliar, impossible travel), then from an anonymizer; and a spray over five accounts
/// from one address (flagged on the fifth). Returns (admin id, the fifth victim's id).
async fn scripted_sign_ins(h: &Harness) -> (String, String) {
    let admin = h.boot.admin_user_principal_name.clone();
    let password = h.boot.admin_password.clone();
    for _ in 0..5 {
        assert_eq!(sign_in(h, "198.51.100.7", &admin, &password, "home").await, StatusCode::OK);
    }
    assert_eq!(sign_in(h, "203.0.113.9", &admin, &password, "tokyo").await, StatusCode::OK);
    assert_eq!(sign_in(h, "192.0.2.5", &admin, &password, "tor").await, StatusCode::OK);
    let mut victims = Vec::new();
    for i in 0..5 {
        victims.push(id_of(&h.user(&format!("victim{i}"), &format!("Victim {i}")).await));
        let upn = format!("victim{i}@contoso.onmicrosoft.com");
        assert_eq!(sign_in(h, "198.51.100.66", &upn, "Spring2026!", "spray").await, StatusCode::BAD_REQUEST);
    }
    let me = h.get(&format!("/v1.0/users/{admin}")).await;
    (id_of(&me.json), victims[4].clone())
}

#[tokio::test]
async fn sign_in_detections_are_recorded_and_filtered() {
    let h = harness().await;
    let (admin_id, victim) = scripted_sign_ins(&h).await;
    let token = app(&h, &[READ_EVENTS]).await;
    let list = |filter: &str| {
        let (h, token) = (&h, &token);
        let path = format!("/v1.0/identityProtection/riskDetections?$filter={}", enc(filter));
        async move { values(&get(h, &path, token).await) }
    };

    // The anonymizer sign-in's detection, in Graph's riskDetection shape, linked to the sign-in.
    let tor = list("riskEventType eq 'anonymizedIPAddress'").await;
    assert_eq!(tor.len(), 1, "{tor:?}");
    let d = &tor[0];
    let sign_ins = h.get(&format!("/v1.0/auditLogs/signIns?$filter={}", enc("correlationId eq 'tor'"))).await;
    let sign_in_row = &sign_ins.json["value"][0];
    assert_eq!(d["requestId"], sign_in_row["id"], "{d}");
    assert_eq!(d["correlationId"], "tor");
    assert_eq!(d["riskLevel"], "medium");
    assert_eq!(d["riskState"], "atRisk");
    assert_eq!(d["riskDetail"], "none");
    assert_eq!(d["detectionTimingType"], "realtime");
    assert_eq!(d["activity"], "signin");
    assert_eq!(d["source"], "IdentityProtection");
    assert_eq!(d["tokenIssuerType"], "AzureAD");
    assert_eq!(d["ipAddress"], "192.0.2.5");
    assert_eq!(d["userId"], admin_id.as_str());
    assert_eq!(d["userPrincipalName"], h.boot.admin_user_principal_name.as_str());
    assert!(d["userDisplayName"].is_string(), "{d}");
    assert_eq!(d["activityDateTime"], sign_in_row["createdDateTime"]);
    assert_eq!(d["detectedDateTime"], sign_in_row["createdDateTime"]);
    assert!(d["lastUpdatedDateTime"].is_string());
    assert_eq!(d["location"], sign_in_row["location"]);
    let info: Value = serde_json::from_str(d["additionalInfo"].as_str().expect("additionalInfo")).expect("json");
    assert_eq!(info[0]["Key"], "reason", "{info}");

    // By id (v1.0 and beta); an unknown or malformed id is a 404.
    let id = d["id"].as_str().expect("id");
    let one = get(&h, &format!("/v1.0/identityProtection/riskDetections/{id}"), &token).await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.text);
    assert_eq!(one.json["riskEventType"], "anonymizedIPAddress");
    assert!(
        one.json["@odata.context"].as_str().expect("context").ends_with("#identityProtection/riskDetections/$entity")
    );
    let beta = get(&h, &format!("/beta/identityProtection/riskDetections/{id}"), &token).await;
    assert_eq!(beta.status, StatusCode::OK, "{}", beta.text);
    for missing in [uuid::Uuid::new_v4().to_string(), "nope".to_string()] {
        let r = get(&h, &format!("/v1.0/identityProtection/riskDetections/{missing}"), &token).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    }

    // Tokyo: two detections of one sign-in; the spray: one, high, on the fifth account.
    let tokyo = list("ipAddress eq '203.0.113.9'").await;
    let mut kinds: Vec<&str> = tokyo.iter().map(|d| d["riskEventType"].as_str().expect("type")).collect();
    kinds.sort_unstable();
    assert_eq!(kinds, ["impossibleTravel", "unfamiliarFeatures"]);
    assert_eq!(tokyo[0]["detectionTimingType"], "offline", "impossible travel is offline: {tokyo:?}");
    let high = list("riskLevel eq 'high'").await;
    assert_eq!(high.len(), 1, "{high:?}");
    assert_eq!(high[0]["riskEventType"], "passwordSpray");
    assert_eq!(high[0]["userId"], victim.as_str());
    assert_eq!(list("userPrincipalName eq 'VICTIM4@contoso.onmicrosoft.com'").await.len(), 1);
    assert_eq!(list(&format!("userId eq '{admin_id}'")).await.len(), 3);
    assert_eq!(list("riskState eq 'atRisk'").await.len(), 4);
    assert_eq!(list("riskState eq 'dismissed'").await.len(), 0);
    assert_eq!(list("riskEventType in ('passwordSpray', 'impossibleTravel')").await.len(), 2);
    assert_eq!(list("startswith(userPrincipalName, 'victim')").await.len(), 1, "evaluated on the JSON");
    assert_eq!(
        list("detectedDateTime ge 2000-01-01T00:00:00Z and detectedDateTime le 2999-01-01T00:00:00Z").await.len(),
        4
    );
    assert_eq!(list("detectedDateTime ge 2999-01-01T00:00:00Z").await.len(), 0);
    let bad =
        get(&h, &format!("/v1.0/identityProtection/riskDetections?$filter={}", enc("colour eq 'red'")), &token).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text);

    // Pages of $top, newest first, joined by absolute next links.
    let mut seen = Vec::new();
    let mut path = "/v1.0/identityProtection/riskDetections?$top=3".to_string();
    loop {
        let r = get(&h, &path, &token).await;
        let page = values(&r);
        assert!(page.len() <= 3);
        seen.extend(page.iter().map(|d| d["id"].as_str().expect("id").to_string()));
        match r.json["@odata.nextLink"].as_str() {
            Some(link) => path = link.strip_prefix(PUBLIC_URL).expect("absolute").to_string(),
            None => break,
        }
    }
    let all = values(&get(&h, "/beta/identityProtection/riskDetections", &token).await);
    assert_eq!(seen.len(), 4);
    assert_eq!(seen, all.iter().map(|d| d["id"].as_str().expect("id").to_string()).collect::<Vec<_>>());
    let times: Vec<&str> = all.iter().map(|d| d["detectedDateTime"].as_str().expect("time")).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first: {times:?}");
}

#[tokio::test]
async fn risky_users_aggregate_and_move_through_their_states() {
    let h = harness().await;
    let (admin_id, victim) = scripted_sign_ins(&h).await;
    let reader = app(&h, &[READ_USERS]).await;
    let writer = app(&h, &[WRITE_USERS]).await;
    let events = app(&h, &[READ_EVENTS]).await;
    let user = |id: String| {
        let (h, reader) = (&h, &reader);
        async move {
            let r = get(h, &format!("/v1.0/identityProtection/riskyUsers/{id}"), reader).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            r.json
        }
    };
    let users = |filter: &str| {
        let (h, reader) = (&h, &reader);
        let path = format!("/v1.0/identityProtection/riskyUsers?$filter={}", enc(filter));
        async move { values(&get(h, &path, reader).await) }
    };

    // Each user's risk is the highest of their open detections.
    let all = values(&get(&h, "/v1.0/identityProtection/riskyUsers", &reader).await);
    assert_eq!(all.len(), 2, "{all:?}");
    let a = user(admin_id.clone()).await;
    assert_eq!(
        (&a["riskState"], &a["riskLevel"], &a["riskDetail"]),
        (&json!("atRisk"), &json!("medium"), &json!("none"))
    );
    assert_eq!((&a["isDeleted"], &a["isProcessing"]), (&json!(false), &json!(false)));
    assert_eq!(a["userPrincipalName"], h.boot.admin_user_principal_name.as_str());
    assert!(a["riskLastUpdatedDateTime"].is_string() && a["userDisplayName"].is_string(), "{a}");
    let v = user(victim.clone()).await;
    assert_eq!((&v["riskLevel"], &v["userDisplayName"]), (&json!("high"), &json!("Victim 4")));
    assert_eq!(users("riskLevel eq 'high'").await.len(), 1);
    assert_eq!(users("riskState eq 'atRisk'").await.len(), 2);
    let missing = get(&h, &format!("/v1.0/identityProtection/riskyUsers/{}", uuid::Uuid::new_v4()), &reader).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND, "{}", missing.text);

    // Confirmed compromised: high, with an adminConfirmedUserCompromised detection; unknown
    // and malformed ids are ignored.
    let body = json!({"userIds": [admin_id, uuid::Uuid::new_v4().to_string(), "junk"]});
    let r = post(&h, "/v1.0/identityProtection/riskyUsers/confirmCompromised", body, &writer).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let a = user(admin_id.clone()).await;
    assert_eq!(
        (&a["riskState"], &a["riskLevel"], &a["riskDetail"]),
        (&json!("confirmedCompromised"), &json!("high"), &json!("adminConfirmedUserCompromised"))
    );
    let filter = enc("riskEventType eq 'adminConfirmedUserCompromised'");
    let confirmed =
        values(&get(&h, &format!("/v1.0/identityProtection/riskDetections?$filter={filter}"), &events).await);
    assert_eq!(confirmed.len(), 1);
    assert_eq!((&confirmed[0]["userId"], &confirmed[0]["riskLevel"]), (&json!(admin_id), &json!("high")));
    assert_eq!(confirmed[0]["activity"], "user");
    assert_eq!(users("riskState eq 'atRisk'").await.len(), 1, "only the victim is still merely at risk");

    // The history says who did what; v1.0 shows riskEventTypes, beta also eventTypes.
    let history_path = format!("/v1.0/identityProtection/riskyUsers/{admin_id}/history");
    let history = values(&get(&h, &history_path, &reader).await);
    assert!(history.len() >= 2, "{history:?}");
    let last = &history[0];
    assert_eq!(last["riskState"], "confirmedCompromised");
    assert_eq!(last["userId"], admin_id.as_str());
    assert_eq!(last["activity"]["detail"], "adminConfirmedUserCompromised");
    assert_eq!(last["activity"]["riskEventTypes"], json!(["adminConfirmedUserCompromised"]));
    assert!(last["activity"].get("eventTypes").is_none(), "{last}");
    assert!(last["initiatedBy"].is_string(), "{last}");
    assert_eq!(history.last().expect("first")["riskState"], "atRisk");
    assert!(history.last().expect("first")["initiatedBy"].is_null());
    let beta = values(&get(&h, &format!("/beta/identityProtection/riskyUsers/{admin_id}/history"), &reader).await);
    assert_eq!(beta[0]["activity"]["eventTypes"], json!(["adminConfirmedUserCompromised"]));
    let filter = enc("riskState eq 'atRisk'");
    let at_risk = values(&get(&h, &format!("{history_path}?$filter={filter}"), &reader).await);
    assert!(!at_risk.is_empty() && at_risk.iter().all(|i| i["riskState"] == "atRisk"));
    let r = get(&h, &format!("/v1.0/identityProtection/riskyUsers/{}/history", uuid::Uuid::new_v4()), &reader).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    // One item by id, under its own user only.
    let item_id = last["id"].as_str().expect("item id");
    let one = get(&h, &format!("{history_path}/{item_id}"), &reader).await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.text);
    assert_eq!(one.json["riskState"], "confirmedCompromised");
    let elsewhere = format!("/v1.0/identityProtection/riskyUsers/{victim}/history/{item_id}");
    assert_eq!(get(&h, &elsewhere, &reader).await.status, StatusCode::NOT_FOUND);
    assert_eq!(get(&h, &format!("{history_path}/nope"), &reader).await.status, StatusCode::NOT_FOUND);

    // Dismissed: level none, and the user's open detections dismissed with it.
    let r = post(&h, "/v1.0/identityProtection/riskyUsers/dismiss", json!({"userIds": [victim]}), &writer).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let v = user(victim.clone()).await;
    assert_eq!(
        (&v["riskState"], &v["riskLevel"], &v["riskDetail"]),
        (&json!("dismissed"), &json!("none"), &json!("adminDismissedAllRiskForUser"))
    );
    let filter = enc(&format!("userId eq '{victim}'"));
    let theirs = values(&get(&h, &format!("/v1.0/identityProtection/riskDetections?$filter={filter}"), &events).await);
    assert!(!theirs.is_empty() && theirs.iter().all(|d| d["riskState"] == "dismissed"), "{theirs:?}");
    assert_eq!(users("riskState eq 'dismissed'").await.len(), 1);
    // A deleted user's risk stays, marked deleted.
    assert_eq!(h.delete(&format!("/v1.0/users/{victim}")).await.status, StatusCode::NO_CONTENT);
    assert_eq!(user(victim.clone()).await["isDeleted"], true);
    // Dismissing a user who was never at risk records nothing.
    let clean = id_of(&h.user("clean", "Clean User").await);
    let r = post(&h, "/beta/identityProtection/riskyUsers/dismiss", json!({"userIds": [clean]}), &writer).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = get(&h, &format!("/v1.0/identityProtection/riskyUsers/{clean}"), &reader).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
}

#[tokio::test]
async fn password_changes_remediate_user_risk() {
    let h = harness().await;
    let reader = app(&h, &[READ_USERS]).await;
    let ada = id_of(&h.user("ada", "Ada Lovelace").await);
    let bob = id_of(&h.user("bob", "Bob Kelly").await);
    let cy = id_of(&h.user("cy", "Cy Lee").await);
    for upn in ["ada@contoso.onmicrosoft.com", "bob@contoso.onmicrosoft.com", "cy@contoso.onmicrosoft.com"] {
        assert_eq!(sign_in(&h, "192.0.2.9", upn, PASSWORD, "tor").await, StatusCode::OK);
    }
    let state = |id: String| {
        let (h, reader) = (&h, &reader);
        async move {
            let r = get(h, &format!("/v1.0/identityProtection/riskyUsers/{id}"), reader).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            (r.json["riskState"].clone(), r.json["riskLevel"].clone(), r.json["riskDetail"].clone())
        }
    };
    assert_eq!(state(ada.clone()).await.0, "atRisk");

    // The user changes their own password: remediated.
    let own = delegated(&h, &ada, "Directory.AccessAsUser.All", &[]).await;
    let body = json!({"currentPassword": PASSWORD, "newPassword": "Fresh-Pa55word!"});
    let r = post(&h, "/v1.0/me/changePassword", body, &own).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(
        state(ada.clone()).await,
        (json!("remediated"), json!("none"), json!("userPerformedSecuredPasswordChange"))
    );
    let history = values(&get(&h, &format!("/v1.0/identityProtection/riskyUsers/{ada}/history"), &reader).await);
    assert_eq!(history[0]["initiatedBy"], ada.as_str());

    // An administrator resets a password: remediated with a temporary password.
    let admin = h.get(&format!("/v1.0/users/{}", h.boot.admin_user_principal_name)).await;
    let admin_token =
        delegated(&h, &id_of(&admin.json), "UserAuthenticationMethod.ReadWrite.All", &[GLOBAL_ADMIN]).await;
    let reset = format!("/v1.0/users/{bob}/authentication/methods/{PASSWORD_METHOD}/resetPassword");
    let r = post(&h, &reset, json!({"newPassword": "Reset-Pa55word!"}), &admin_token).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    assert_eq!(
        state(bob.clone()).await,
        (json!("remediated"), json!("none"), json!("adminGeneratedTemporaryPassword"))
    );

    // So does an administrator setting the password through the user's passwordProfile.
    let profile = json!({"passwordProfile": {"password": "Admin-Set-Pa55!", "forceChangePasswordNextSignIn": true}});
    let r = h.patch(&format!("/v1.0/users/{cy}"), profile).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(state(cy.clone()).await, (json!("remediated"), json!("none"), json!("adminGeneratedTemporaryPassword")));

    // New risk after remediation puts the user at risk again.
    assert_eq!(
        sign_in(&h, "192.0.2.9", "ada@contoso.onmicrosoft.com", "Fresh-Pa55word!", "again").await,
        StatusCode::OK
    );
    assert_eq!(state(ada).await, (json!("atRisk"), json!("medium"), json!("none")));
}

#[tokio::test]
async fn identity_protection_permissions_and_bodies() {
    let h = harness().await;
    let detections = "/v1.0/identityProtection/riskDetections";
    let users = "/v1.0/identityProtection/riskyUsers";
    let someone = uuid::Uuid::new_v4();
    let history = format!("{users}/{someone}/history");
    let dismiss = format!("{users}/dismiss");
    let confirm = format!("{users}/confirmCompromised");
    let body = json!({"userIds": [someone.to_string()]});

    // Each route wants exactly the reference's permissions.
    let audit = app(&h, &["AuditLog.Read.All", "Directory.ReadWrite.All"]).await;
    let events = app(&h, &[READ_EVENTS]).await;
    let reader = app(&h, &[READ_USERS]).await;
    let writer = app(&h, &[WRITE_USERS]).await;
    assert_eq!(get(&h, detections, &audit).await.status, StatusCode::FORBIDDEN);
    assert_eq!(get(&h, detections, &reader).await.status, StatusCode::FORBIDDEN);
    assert_eq!(get(&h, detections, &events).await.status, StatusCode::OK);
    assert_eq!(get(&h, users, &events).await.status, StatusCode::FORBIDDEN);
    assert_eq!(get(&h, users, &writer).await.status, StatusCode::OK, "ReadWrite includes Read");
    assert_eq!(get(&h, users, &reader).await.status, StatusCode::OK);
    assert_eq!(get(&h, &history, &events).await.status, StatusCode::FORBIDDEN);
    assert_eq!(get(&h, &history, &writer).await.status, StatusCode::NOT_FOUND, "allowed, and nobody's there");
    let item = format!("{history}/{}", uuid::Uuid::new_v4());
    assert_eq!(get(&h, &item, &events).await.status, StatusCode::FORBIDDEN);
    assert_eq!(get(&h, &item, &reader).await.status, StatusCode::NOT_FOUND, "allowed, and nothing there");
    for path in [&dismiss, &confirm] {
        assert_eq!(post(&h, path, body.clone(), &reader).await.status, StatusCode::FORBIDDEN);
        assert_eq!(post(&h, path, body.clone(), &audit).await.status, StatusCode::FORBIDDEN);
        assert_eq!(post(&h, path, body.clone(), &writer).await.status, StatusCode::NO_CONTENT);
    }

    // Delegated: the user's directory role (their role assignments) must allow it too.
    let assign = |principal: String, role: &'static str| {
        let h = &h;
        async move {
            let body = json!({"principalId": principal, "roleDefinitionId": role, "directoryScopeId": "/"});
            let r = h.post("/v1.0/roleManagement/directory/roleAssignments", body).await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        }
    };
    let me = id_of(&h.user("riskmember", "Risk Member").await);
    let member = delegated(&h, &me, READ_EVENTS, &[]).await;
    assert_eq!(get(&h, detections, &member).await.status, StatusCode::FORBIDDEN);
    let reader_id = id_of(&h.user("securityreader", "Security Reader").await);
    assign(reader_id.clone(), "5d6b6bb7-de71-4623-b4af-96380a352509").await;
    let security_reader = delegated(&h, &reader_id, &format!("{READ_EVENTS} {WRITE_USERS}"), &[]).await;
    assert_eq!(get(&h, detections, &security_reader).await.status, StatusCode::OK);
    assert_eq!(post(&h, &dismiss, body.clone(), &security_reader).await.status, StatusCode::FORBIDDEN);
    let admin_id = id_of(&h.user("securityadmin", "Security Admin").await);
    assign(admin_id.clone(), "194ae4cb-b126-40b2-bd5b-6091b380977d").await;
    let security_admin = delegated(&h, &admin_id, WRITE_USERS, &[]).await;
    assert_eq!(post(&h, &dismiss, body.clone(), &security_admin).await.status, StatusCode::NO_CONTENT);

    // Bodies: userIds is required, a collection of strings, at most 60.
    for bad in [json!({}), json!({"userIds": "x"}), json!({"userIds": [1, 2]})] {
        let r = post(&h, &dismiss, bad.clone(), &writer).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.text);
    }
    let many: Vec<String> = (0..61).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    let r = post(&h, &confirm, json!({"userIds": many}), &writer).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = post(&h, &dismiss, json!({"userIds": many[..60]}), &writer).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
}
