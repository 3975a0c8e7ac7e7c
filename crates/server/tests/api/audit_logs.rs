//! `/auditLogs`: directory audits written by every write (modified properties, correlation
//! ids, filters, paging) and the sign-in log written by every token request (codes, client IP
//! and the trusted-proxy rule, device details), with no secret in either.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode};
use cerulean::app::AppOptions;
use serde_json::{Value, json};

use crate::harness::{Harness, PUBLIC_URL, Reply, id_of, user_body};

const USER_PASSWORD: &str = "xWwvJ]6NMw+bWH-d";
const CHROME: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";

/// A Graph request with the harness's token and a `client-request-id`.
async fn graph_correlated(h: &Harness, method: Method, path: &str, body: Option<Value>, correlation: &str) -> Reply {
    let mut b = Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {}", h.token))
        .header("client-request-id", correlation);
    let body = match body {
        Some(v) => {
            b = b.header("content-type", "application/json");
            Body::from(v.to_string())
        }
        None => Body::empty(),
    };
    h.send(b.body(body).expect("request")).await
}

/// A token request as a client on `peer` would send it, with extra headers.
async fn token_request(h: &Harness, fields: &[(&str, &str)], peer: Option<&str>, headers: &[(&str, &str)]) -> Reply {
    let mut b = Request::builder()
        .method(Method::POST)
        .uri(format!("/{}/oauth2/v2.0/token", h.boot.tenant_id))
        .header("content-type", "application/x-www-form-urlencoded");
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let mut req = b.body(Body::from(serde_urlencoded::to_string(fields).expect("form"))).expect("request");
    if let Some(p) = peer {
        let addr: SocketAddr = p.parse().expect("peer");
        req.extensions_mut().insert(ConnectInfo(addr));
    }
    h.send(req).await
}

fn ropc<'a>(h: &'a Harness, password: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("grant_type", "password"),
        ("client_id", h.boot.client_id.as_str()),
        ("client_secret", h.boot.client_secret.as_str()),
        ("username", h.boot.admin_user_principal_name.as_str()),
        ("password", password),
        ("scope", "https://graph.microsoft.com/.default"),
    ]
}

fn path_of(link: &str) -> String {
    link.strip_prefix(PUBLIC_URL).expect("absolute next link").to_string()
}

fn enc(s: &str) -> String {
    s.replace(' ', "%20").replace('\'', "%27")
}

#[tokio::test]
async fn writes_are_audited_with_modified_properties_and_correlation_ids() {
    let h = Harness::new().await;
    let created =
        graph_correlated(&h, Method::POST, "/v1.0/users", Some(user_body("adele", "Adele")), "corr-create").await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let id = id_of(&created.json);
    let patched = graph_correlated(
        &h,
        Method::PATCH,
        &format!("/v1.0/users/{id}"),
        Some(json!({"displayName": "Adele Vance", "passwordProfile": {"password": "N3w-Secret!pw", "forceChangePasswordNextSignIn": false}})),
        "corr-update",
    )
    .await;
    assert_eq!(patched.status, StatusCode::NO_CONTENT, "{}", patched.text);

    let r = h.get(&format!("/v1.0/auditLogs/directoryAudits?$filter={}", enc("correlationId eq 'corr-update'"))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.json["@odata.context"].as_str().expect("context").ends_with("/v1.0/$metadata#auditLogs/directoryAudits"));
    let items = r.json["value"].as_array().expect("value");
    assert_eq!(items.len(), 1, "{}", r.text);
    let audit = &items[0];
    assert_eq!(audit["activityDisplayName"], "Update user");
    assert_eq!(audit["category"], "UserManagement");
    assert_eq!(audit["operationType"], "Update");
    assert_eq!(audit["result"], "success");
    assert_eq!(audit["loggedByService"], "Core Directory");
    assert_eq!(audit["correlationId"], "corr-update");
    assert_eq!(audit["initiatedBy"]["app"]["appId"], h.boot.client_id.as_str());
    assert!(audit["initiatedBy"]["user"].is_null());
    let target = &audit["targetResources"][0];
    assert_eq!(target["id"], id.as_str());
    assert_eq!(target["type"], "User");
    assert_eq!(target["userPrincipalName"], "adele@contoso.onmicrosoft.com");
    let props = target["modifiedProperties"].as_array().expect("modifiedProperties");
    let name = props.iter().find(|p| p["displayName"] == "displayName").expect("displayName changed");
    assert_eq!(name["oldValue"], "[\"Adele\"]");
    assert_eq!(name["newValue"], "[\"Adele Vance\"]");
    // No password in the log, in any form.
    let all = h.get("/v1.0/auditLogs/directoryAudits").await;
    assert!(!all.text.contains("N3w-Secret!pw") && !all.text.contains(USER_PASSWORD), "a password leaked");

    // One entry by id; an unknown id is a 404.
    let one = h.get(&format!("/v1.0/auditLogs/directoryAudits/{}", audit["id"].as_str().expect("id"))).await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.text);
    assert_eq!(one.json["correlationId"], "corr-update");
    let missing = h.get(&format!("/v1.0/auditLogs/directoryAudits/{}", uuid::Uuid::new_v4())).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    // The creation has its own correlation id; beta serves the same log.
    let r = h.get(&format!("/beta/auditLogs/directoryAudits?$filter={}", enc("correlationId eq 'corr-create'"))).await;
    assert_eq!(r.json["value"][0]["activityDisplayName"], "Add user", "{}", r.text);
}

#[tokio::test]
async fn audit_filters_and_paging() {
    let h = Harness::new().await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(id_of(&h.user(&format!("u{i}"), &format!("User {i}")).await));
    }
    h.group("team", "Team").await;
    let get = |q: String| {
        let h = &h;
        async move {
            let r = h.get(&format!("/v1.0/auditLogs/directoryAudits?{q}")).await;
            assert_eq!(r.status, StatusCode::OK, "{q}: {}", r.text);
            r.json["value"].as_array().expect("value").clone()
        }
    };
    let filter = |f: &str| format!("$filter={}", enc(f));

    let groups = get(filter("category eq 'GroupManagement'")).await;
    assert!(!groups.is_empty() && groups.iter().all(|a| a["category"] == "GroupManagement"));
    let adds = get(filter("activityDisplayName eq 'Add user'")).await;
    assert!(adds.len() >= 5, "{adds:?}");
    let about = get(filter(&format!("targetResources/any(t: t/id eq '{}')", ids[2]))).await;
    assert_eq!(about.len(), 1);
    assert_eq!(about[0]["targetResources"][0]["displayName"], "User 2");
    let by_app = get(filter(&format!("initiatedBy/app/appId eq '{}'", h.boot.client_id))).await;
    assert!(by_app.len() >= 6);
    let future = get(filter("activityDateTime ge 2999-01-01T00:00:00Z")).await;
    assert!(future.is_empty());
    let past =
        get(filter("activityDateTime ge 2000-01-01T00:00:00Z and activityDateTime le 2999-01-01T00:00:00Z")).await;
    let everything = get("$top=999".into()).await;
    assert_eq!(past.len(), everything.len());
    let bad = h.get(&format!("/v1.0/auditLogs/directoryAudits?{}", filter("nosuch eq 1"))).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);

    // Pages of two follow absolute next links, newest first, without gaps or repeats.
    let mut seen: Vec<Value> = Vec::new();
    let mut next = Some("/v1.0/auditLogs/directoryAudits?$top=2".to_string());
    while let Some(path) = next {
        let r = h.get(&path).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let page = r.json["value"].as_array().expect("value");
        assert!(page.len() <= 2);
        seen.extend(page.iter().cloned());
        next = r.json["@odata.nextLink"].as_str().map(path_of);
    }
    let ids_of = |v: &[Value]| v.iter().map(|a| a["id"].as_str().expect("id").to_string()).collect::<Vec<_>>();
    assert_eq!(ids_of(&seen), ids_of(&everything));
    let times: Vec<&str> = seen.iter().map(|a| a["activityDateTime"].as_str().expect("time")).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first");
    // A filtered list pages too, and a skiptoken of another query is refused.
    let first =
        h.get(&format!("/v1.0/auditLogs/directoryAudits?$top=2&{}", filter("activityDisplayName eq 'Add user'"))).await;
    let link = first.json["@odata.nextLink"].as_str().expect("next link");
    assert!(link.contains("$filter="));
    let token = link.split("$skiptoken=").nth(1).expect("skiptoken");
    let other = h.get(&format!("/v1.0/auditLogs/directoryAudits?$skiptoken={token}")).await;
    assert_eq!(other.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn token_requests_are_logged_as_sign_ins() {
    let h = Harness::new().await;
    let fail = token_request(
        &h,
        &ropc(&h, "Wrong-Password-1!"),
        None,
        &[("user-agent", CHROME), ("client-request-id", "si-fail")],
    )
    .await;
    assert_eq!(fail.status, StatusCode::BAD_REQUEST, "{}", fail.text);
    let code = fail.json["error_codes"][0].as_u64().expect("code");
    let ok = token_request(&h, &ropc(&h, &h.boot.admin_password), None, &[("client-request-id", "si-ok")]).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);

    let upn = &h.boot.admin_user_principal_name;
    let r = h.get(&format!("/v1.0/auditLogs/signIns?$filter={}", enc(&format!("userPrincipalName eq '{upn}'")))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let items = r.json["value"].as_array().expect("value");
    assert_eq!(items.len(), 2, "{}", r.text);
    let (success, failure) = (&items[0], &items[1]);
    assert_eq!(success["status"]["errorCode"], 0);
    assert_eq!(success["correlationId"], "si-ok");
    assert_eq!(success["appId"], h.boot.client_id.as_str());
    assert_eq!(success["resourceDisplayName"], "Microsoft Graph");
    assert_eq!(success["resourceId"], "00000003-0000-0000-c000-000000000000");
    assert_eq!(success["isInteractive"], true);
    assert_eq!(success["conditionalAccessStatus"], "notApplied");
    assert_eq!(success["riskLevelDuringSignIn"], "none");
    assert_eq!(success["ipAddress"], "127.0.0.1");
    assert!(success["userId"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(success.get("signInEventTypes").is_none(), "a beta property on v1.0");
    assert_eq!(failure["status"]["errorCode"].as_u64(), Some(code));
    assert!(failure["status"]["failureReason"].as_str().is_some_and(|s| !s.is_empty() && !s.contains("AADSTS")));
    assert_eq!(failure["correlationId"], "si-fail");
    assert_eq!(failure["userAgent"], CHROME);
    assert_eq!(failure["deviceDetail"]["browser"], "Chrome 120.0.0.0");
    assert_eq!(failure["deviceDetail"]["operatingSystem"], "Windows 10");
    assert_eq!(failure["userPrincipalName"].as_str().map(str::to_lowercase), Some(upn.to_lowercase()));

    // Filters on the status and the id; one entry by id.
    let failed =
        h.get(&format!("/v1.0/auditLogs/signIns?$filter={}", enc(&format!("status/errorCode eq {code}")))).await;
    assert_eq!(failed.json["value"].as_array().map(Vec::len), Some(1), "{}", failed.text);
    let failures = h.get(&format!("/v1.0/auditLogs/signIns?$filter={}", enc("status/errorCode ne 0"))).await;
    assert_eq!(failures.json["value"].as_array().map(Vec::len), Some(1), "{}", failures.text);
    let one = h.get(&format!("/v1.0/auditLogs/signIns/{}", success["id"].as_str().expect("id"))).await;
    assert_eq!(one.status, StatusCode::OK);
    assert_eq!(one.json["correlationId"], "si-ok");

    // App sign-ins (every client-credentials request, the harness's own included) are not
    // user sign-ins: beta lists them by event type.
    let v1 = h.get("/v1.0/auditLogs/signIns").await;
    assert!(v1.json["value"].as_array().expect("value").iter().all(|s| s["isInteractive"] == true));
    let sp = h
        .get(&format!("/beta/auditLogs/signIns?$filter={}", enc("signInEventTypes/any(t: t eq 'servicePrincipal')")))
        .await;
    assert_eq!(sp.status, StatusCode::OK, "{}", sp.text);
    let sp_items = sp.json["value"].as_array().expect("value");
    assert!(!sp_items.is_empty());
    assert_eq!(sp_items[0]["servicePrincipalName"], sp_items[0]["appDisplayName"]);
    assert_eq!(sp_items[0]["signInEventTypes"], json!(["servicePrincipal"]));
    let v1_types = h
        .get(&format!("/v1.0/auditLogs/signIns?$filter={}", enc("signInEventTypes/any(t: t eq 'servicePrincipal')")))
        .await;
    assert_eq!(v1_types.status, StatusCode::BAD_REQUEST, "beta only");

    // Neither log holds a password or a client secret.
    for path in [
        "/beta/auditLogs/signIns?$filter=signInEventTypes/any(t:%20t%20eq%20%27servicePrincipal%27%20or%20t%20eq%20%27interactiveUser%27)",
        "/beta/auditLogs/directoryAudits",
    ] {
        let r = h.get(path).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        for secret in [h.boot.client_secret.as_str(), h.boot.admin_password.as_str(), "Wrong-Password-1!"] {
            assert!(!r.text.contains(secret), "{path} leaks a secret");
        }
    }
}

#[tokio::test]
async fn forwarded_for_is_trusted_only_from_configured_proxies() {
    let options = AppOptions { trusted_proxies: vec!["10.0.0.0/8".parse().expect("cidr")], ..AppOptions::default() };
    let h = Harness::with_options("contoso.onmicrosoft.com", options).await;
    let xff = [("x-forwarded-for", "198.51.100.7, 10.0.0.9")];
    for (peer, correlation) in [("10.1.2.3:5000", "via-proxy"), ("203.0.113.5:5000", "stranger")] {
        let mut headers = xff.to_vec();
        headers.push(("client-request-id", correlation));
        let r = token_request(&h, &ropc(&h, &h.boot.admin_password), Some(peer), &headers).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    let ip_of = |correlation: &str| {
        let h = &h;
        let correlation = correlation.to_string();
        async move {
            let r = h
                .get(&format!("/v1.0/auditLogs/signIns?$filter={}", enc(&format!("correlationId eq '{correlation}'"))))
                .await;
            r.json["value"][0]["ipAddress"].as_str().expect("ipAddress").to_string()
        }
    };
    assert_eq!(ip_of("via-proxy").await, "198.51.100.7");
    assert_eq!(ip_of("stranger").await, "203.0.113.5");
    let by_ip = h.get(&format!("/v1.0/auditLogs/signIns?$filter={}", enc("ipAddress eq '198.51.100.7'"))).await;
    assert_eq!(by_ip.json["value"].as_array().map(Vec::len), Some(1), "{}", by_ip.text);

    // A client that writes its own X-Forwarded-For through the proxy does not choose its
    // address: the proxy appended the peer it saw, and that right-most untrusted hop counts.
    let spoofed = [("x-forwarded-for", "203.0.113.66, 198.51.100.9, 10.0.0.9"), ("client-request-id", "spoofed")];
    let r = token_request(&h, &ropc(&h, &h.boot.admin_password), Some("10.1.2.3:5000"), &spoofed).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(ip_of("spoofed").await, "198.51.100.9");

    // Without a trusted proxy configured the header is ignored whatever the peer.
    let plain = Harness::new().await;
    let mut headers = xff.to_vec();
    headers.push(("client-request-id", "untrusted"));
    token_request(&plain, &ropc(&plain, &plain.boot.admin_password), Some("10.1.2.3:5000"), &headers).await;
    let r = plain.get(&format!("/v1.0/auditLogs/signIns?$filter={}", enc("correlationId eq 'untrusted'"))).await;
    assert_eq!(r.json["value"][0]["ipAddress"], "10.1.2.3", "{}", r.text);
}

#[tokio::test]
async fn reading_the_logs_needs_the_reference_permissions() {
    let h = Harness::new().await;
    let as_roles = |roles: &[&str]| {
        let h = &h;
        let roles: Vec<String> = roles.iter().map(|r| r.to_string()).collect();
        async move {
            let refs: Vec<&str> = roles.iter().map(String::as_str).collect();
            h.sign(h.claims(&refs)).await
        }
    };
    let get = |token: String, path: &'static str| {
        let h = &h;
        async move {
            let req = Request::builder()
                .uri(path)
                .header("authorization", format!("Bearer {token}"))
                .body(Body::empty())
                .expect("request");
            h.send(req).await.status
        }
    };
    let directory_reader = as_roles(&["Directory.Read.All"]).await;
    assert_eq!(get(directory_reader.clone(), "/v1.0/auditLogs/directoryAudits").await, StatusCode::OK);
    assert_eq!(get(directory_reader, "/v1.0/auditLogs/signIns").await, StatusCode::FORBIDDEN);
    let user_reader = as_roles(&["User.Read.All"]).await;
    assert_eq!(get(user_reader, "/v1.0/auditLogs/directoryAudits").await, StatusCode::FORBIDDEN);
    let auditor = as_roles(&["AuditLog.Read.All"]).await;
    assert_eq!(get(auditor.clone(), "/v1.0/auditLogs/signIns").await, StatusCode::OK);
    assert_eq!(get(auditor, "/beta/auditLogs/directoryAudits").await, StatusCode::OK);
}

#[tokio::test]
async fn sign_ins_are_located_from_the_configured_database_and_ranges() {
    use cerulean_identity::location::mmdb_writer::{MmdbWriter, Value as Mmdb};
    use cerulean_identity::location::{Location, Locator, LocatorConfig};

    let dir = std::env::temp_dir().join(format!("cerulean-locations-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("dir");
    let mut db = MmdbWriter::new("GeoLite2-City");
    db.insert(
        "198.51.100.0/24".parse().expect("net"),
        Mmdb::map([
            ("city", Mmdb::map([("names", Mmdb::map([("en", Mmdb::from("Lisbon"))]))])),
            ("country", Mmdb::map([("iso_code", Mmdb::from("PT"))])),
            ("subdivisions", Mmdb::Array(vec![Mmdb::map([("names", Mmdb::map([("en", Mmdb::from("Lisboa"))]))])])),
            ("location", Mmdb::map([("latitude", Mmdb::Double(38.72)), ("longitude", Mmdb::Double(-9.14))])),
            ("autonomous_system_number", Mmdb::U32(64496)),
        ]),
    );
    let db_path = dir.join("city.mmdb");
    std::fs::write(&db_path, db.to_bytes()).expect("write db");
    let ranges = dir.join("ranges.csv");
    std::fs::write(&ranges, "203.0.113.0/24,JP,Tokyo,Tokyo,35.68,139.69,64497,Example\n").expect("write ranges");
    let locator = Locator::load(&LocatorConfig {
        databases: vec![db_path],
        ranges: Some(ranges),
        corporate: Location {
            city: Some("Head office".into()),
            country_or_region: Some("NO".into()),
            ..Location::default()
        },
    })
    .expect("locator");
    let options = AppOptions {
        trusted_proxies: vec!["10.0.0.0/8".parse().expect("cidr")],
        locator: Some(std::sync::Arc::new(locator)),
        ..AppOptions::default()
    };
    let h = Harness::with_options("contoso.onmicrosoft.com", options).await;
    for (client, correlation) in
        [("198.51.100.7", "lisbon"), ("203.0.113.9", "tokyo"), ("10.2.3.4", "office"), ("192.0.2.1", "nowhere")]
    {
        let headers = [("x-forwarded-for", client), ("client-request-id", correlation)];
        let r = token_request(&h, &ropc(&h, &h.boot.admin_password), Some("10.0.0.1:443"), &headers).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    let sign_in = |version: &'static str, correlation: &'static str| {
        let h = &h;
        async move {
            let filter = enc(&format!("correlationId eq '{correlation}'"));
            let r = h.get(&format!("/{version}/auditLogs/signIns?$filter={filter}")).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            r.json["value"][0].clone()
        }
    };
    let lisbon = sign_in("v1.0", "lisbon").await;
    assert_eq!(
        lisbon["location"],
        json!({"city": "Lisbon", "state": "Lisboa", "countryOrRegion": "PT",
               "geoCoordinates": {"altitude": null, "latitude": 38.72, "longitude": -9.14}}),
        "{lisbon}"
    );
    assert!(lisbon.get("autonomousSystemNumber").is_none(), "a beta property on v1.0: {lisbon}");
    assert_eq!(sign_in("beta", "lisbon").await["autonomousSystemNumber"], 64496);
    // The ranges file wins over the database; private addresses are the corporate network.
    let tokyo = sign_in("beta", "tokyo").await;
    assert_eq!((&tokyo["location"]["city"], &tokyo["autonomousSystemNumber"]), (&json!("Tokyo"), &json!(64497)));
    let office = sign_in("v1.0", "office").await;
    assert_eq!(
        (&office["location"]["city"], &office["location"]["countryOrRegion"]),
        (&json!("Head office"), &json!("NO"))
    );
    // An address no source knows has Entra's empty location.
    let nowhere = sign_in("v1.0", "nowhere").await;
    assert_eq!(nowhere["location"]["city"], Value::Null, "{nowhere}");
    assert_eq!(nowhere["location"]["geoCoordinates"], Value::Null, "{nowhere}");
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn sign_ins_carry_the_risk_the_detections_found() {
    use cerulean_identity::location::{Locator, LocatorConfig};
    use cerulean_identity::risk::{RiskConfig, parse_ip_list};

    let dir = std::env::temp_dir().join(format!("cerulean-risk-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("dir");
    let ranges = dir.join("ranges.csv");
    std::fs::write(
        &ranges,
        "198.51.100.0/24,NO,Oslo,Oslo,59.91,10.75,64500,Oslo Net\n203.0.113.0/24,JP,Tokyo,Tokyo,35.68,139.69,64999,Tokyo Net\n",
    )
    .expect("ranges");
    let locator = Locator::load(&LocatorConfig { ranges: Some(ranges), ..LocatorConfig::default() }).expect("locator");
    let risk = RiskConfig { anonymizers: parse_ip_list("192.0.2.0/24").expect("list"), ..RiskConfig::default() };
    let options = AppOptions {
        trusted_proxies: vec!["10.0.0.0/8".parse().expect("cidr")],
        locator: Some(std::sync::Arc::new(locator)),
        risk: Some(std::sync::Arc::new(risk)),
        ..AppOptions::default()
    };
    let h = Harness::with_options("contoso.onmicrosoft.com", options).await;
    let sign_in = |client: &'static str, user: String, password: String, correlation: &'static str| {
        let h = &h;
        async move {
            let mut fields = ropc(h, &password);
            fields[3] = ("username", user.as_str());
            let headers = [("x-forwarded-for", client), ("client-request-id", correlation)];
            token_request(h, &fields, Some("10.0.0.1:443"), &headers).await.status
        }
    };
    let risk_of = |correlation: &'static str| {
        let h = &h;
        async move {
            let filter = enc(&format!("correlationId eq '{correlation}'"));
            let r = h.get(&format!("/v1.0/auditLogs/signIns?$filter={filter}")).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            r.json["value"][0].clone()
        }
    };
    let admin = h.boot.admin_user_principal_name.clone();
    let password = h.boot.admin_password.clone();
    // Five sign-ins at home: the history the detections learn from, none of them risky.
    for _ in 0..5 {
        assert_eq!(sign_in("198.51.100.7", admin.clone(), password.clone(), "home").await, StatusCode::OK);
    }
    let home = risk_of("home").await;
    assert_eq!((&home["riskState"], &home["riskLevelDuringSignIn"]), (&json!("none"), &json!("none")), "{home}");
    assert_eq!(home["riskEventTypes_v2"], json!([]));

    // Minutes later from Tokyo: too far to have travelled, and new address, network, country.
    assert_eq!(sign_in("203.0.113.9", admin.clone(), password.clone(), "tokyo").await, StatusCode::OK);
    let tokyo = risk_of("tokyo").await;
    assert_eq!(tokyo["riskState"], "atRisk", "{tokyo}");
    assert_eq!(tokyo["riskLevelDuringSignIn"], "medium", "{tokyo}");
    assert_eq!(tokyo["riskEventTypes_v2"], json!(["unfamiliarFeatures", "impossibleTravel"]), "{tokyo}");
    assert_eq!(tokyo["riskEventTypes"], json!(["unfamiliarFeatures", "mcasImpossibleTravel"]), "{tokyo}");

    // An anonymizer's address.
    assert_eq!(sign_in("192.0.2.5", admin.clone(), password.clone(), "tor").await, StatusCode::OK);
    assert!(
        risk_of("tor").await["riskEventTypes_v2"].as_array().expect("types").contains(&json!("anonymizedIPAddress"))
    );

    // One address trying wrong passwords on five accounts is a spray, flagged on each attempt
    // from it, the failed ones included.
    let mut victims = Vec::new();
    for i in 0..5 {
        victims.push(id_of(&h.user(&format!("victim{i}"), &format!("Victim {i}")).await));
    }
    for i in 0..4 {
        let upn = format!("victim{i}@contoso.onmicrosoft.com");
        assert_eq!(sign_in("198.51.100.66", upn, "Spring2026!".into(), "spray-early").await, StatusCode::BAD_REQUEST);
    }
    let early = risk_of("spray-early").await;
    assert_eq!(early["riskState"], "none", "four accounts are under the threshold: {early}");
    let upn = "victim4@contoso.onmicrosoft.com".to_string();
    assert_eq!(sign_in("198.51.100.66", upn, "Spring2026!".into(), "spray").await, StatusCode::BAD_REQUEST);
    let spray = risk_of("spray").await;
    assert_eq!(spray["riskEventTypes_v2"], json!(["passwordSpray"]), "{spray}");
    assert_eq!(spray["riskLevelDuringSignIn"], "high", "{spray}");
    assert_eq!(spray["status"]["errorCode"], 50126, "{spray}");
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn a_sign_in_with_a_leaked_password_is_a_leaked_credentials_detection() {
    use cerulean_identity::risk::{RiskConfig, leaked_digest};

    // The users made here sign in with USER_PASSWORD, which the list names (as a digest).
    let risk = RiskConfig {
        leaked_passwords: [leaked_digest(USER_PASSWORD), leaked_digest("Spring2026!")].into(),
        ..RiskConfig::default()
    };
    let options = AppOptions { risk: Some(std::sync::Arc::new(risk)), ..AppOptions::default() };
    let h = Harness::with_options("contoso.onmicrosoft.com", options).await;
    h.post("/v1.0/users", user_body("leaky", "Leaky")).await;
    let upn = "leaky@contoso.onmicrosoft.com";
    let sign_in = |password: &'static str, correlation: &'static str| {
        let h = &h;
        async move {
            let mut fields = ropc(h, password);
            fields[3] = ("username", upn);
            token_request(h, &fields, None, &[("client-request-id", correlation)]).await.status
        }
    };
    // A leaked password that is not the user's says nothing about the account.
    assert_eq!(sign_in("Spring2026!", "wrong-but-leaked").await, StatusCode::BAD_REQUEST);
    assert_eq!(sign_in(USER_PASSWORD, "leaked").await, StatusCode::OK);
    let logged = |correlation: &'static str| {
        let h = &h;
        async move {
            let r = h
                .get(&format!("/v1.0/auditLogs/signIns?$filter={}", enc(&format!("correlationId eq '{correlation}'"))))
                .await;
            r.json["value"][0].clone()
        }
    };
    assert_eq!(logged("wrong-but-leaked").await["riskEventTypes_v2"], json!([]));
    let leaked = logged("leaked").await;
    assert_eq!(leaked["riskEventTypes_v2"], json!(["leakedCredentials"]), "{leaked}");
    assert_eq!(leaked["riskLevelDuringSignIn"], "high", "{leaked}");
    // Kept as a detection of the user, and the user is at risk.
    let r = h
        .get(&format!(
            "/v1.0/identityProtection/riskDetections?$filter={}",
            enc("riskEventType eq 'leakedCredentials'")
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let detections = r.json["value"].as_array().expect("value");
    assert_eq!(detections.len(), 1, "{}", r.text);
    assert_eq!(detections[0]["userPrincipalName"], upn);
    assert_eq!(detections[0]["riskLevel"], "high");
    // The clear password appears nowhere.
    assert!(!r.text.contains(USER_PASSWORD) && !leaked.to_string().contains(USER_PASSWORD));
}
