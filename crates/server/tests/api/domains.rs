//! Domains: add, read, DNS records, verification (administrative, and by a TXT lookup against a
//! fake DNS server on loopback), default domain, UPNs on verified domains only, tenant
//! resolution by verified domain, delete and forceDelete, and the permission rules.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::net::UdpSocket;

use crate::harness::{Harness, user_body};

fn user_on(alias: &str, domain: &str) -> Value {
    let mut b = user_body(alias, alias);
    b["userPrincipalName"] = json!(format!("{alias}@{domain}"));
    b
}

async fn add(h: &Harness, name: &str) -> Value {
    let r = h.post("/v1.0/domains", json!({"id": name})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.json
}

async fn domain(h: &Harness, name: &str) -> Value {
    let r = h.get(&format!("/v1.0/domains/{name}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.json
}

async fn verification_text(h: &Harness, name: &str) -> String {
    let r = h.get(&format!("/v1.0/domains/{name}/verificationDnsRecords")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let txt = r.json["value"]
        .as_array()
        .expect("value")
        .iter()
        .find(|r| r["recordType"] == "Txt")
        .expect("a TXT record")
        .clone();
    txt["text"].as_str().expect("text").to_string()
}

#[tokio::test]
async fn initial_domain_is_listed_verified_and_undeletable() {
    let h = Harness::new().await;
    let r = h.get("/v1.0/domains").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.json["@odata.context"].as_str().expect("context").ends_with("/v1.0/$metadata#domains"));
    let list = r.json["value"].as_array().expect("value");
    assert_eq!(list.len(), 1);
    let d = &list[0];
    assert_eq!(d["id"], "contoso.onmicrosoft.com");
    for flag in ["isInitial", "isDefault", "isVerified", "isRoot", "isAdminManaged"] {
        assert_eq!(d[flag], true, "{flag}");
    }
    assert_eq!(d["authenticationType"], "Managed");
    assert_eq!(d["supportedServices"], json!(["Email", "OfficeCommunicationsOnline"]));

    let r = h.delete("/v1.0/domains/contoso.onmicrosoft.com").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.message().contains("initial domain"), "{}", r.message());
    let r = h.post("/v1.0/domains/contoso.onmicrosoft.com/forceDelete", json!({})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = h.get("/v1.0/domains/nowhere.example").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    assert_eq!(r.code(), "Request_ResourceNotFound");
}

#[tokio::test]
async fn add_verify_and_use_a_domain() {
    let h = Harness::new().await;
    let created = h.post("/v1.0/domains", json!({"id": "Contoso.com"})).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    assert_eq!(created.json["id"], "contoso.com");
    assert_eq!(created.json["isVerified"], false);
    assert_eq!(created.json["isDefault"], false);
    assert_eq!(created.json["isRoot"], true);
    assert!(created.headers["location"].to_str().expect("location").ends_with("/v1.0/domains/contoso.com"));

    // Refused bodies.
    for (body, what) in [
        (json!({"id": "contoso.com"}), "ObjectConflict"),
        (json!({"id": "not a domain"}), "id"),
        (json!({"id": "nodot"}), "id"),
        (json!({}), "id"),
        (json!({"id": "x.example", "isVerified": true}), "read-only"),
        (json!({"id": "x.example", "supportedServices": ["Bogus"]}), "supportedServices"),
    ] {
        let r = h.post("/v1.0/domains", body.clone()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {}", r.text);
        assert_eq!(r.code(), "Request_BadRequest", "{body}");
        assert!(r.text.contains(what), "{body}: {}", r.text);
    }

    // The ownership proof.
    let text = verification_text(&h, "contoso.com").await;
    assert!(text.starts_with("MS=ms") && text.len() == 13, "{text}");
    let r = h.get("/v1.0/domains/contoso.com/verificationDnsRecords").await;
    let mx = r.json["value"].as_array().expect("value").iter().find(|r| r["recordType"] == "Mx").cloned().expect("mx");
    assert_eq!(mx["@odata.type"], "#microsoft.graph.domainDnsMxRecord");
    assert!(mx["mailExchange"].as_str().expect("mx").ends_with(".msv1.invalid"));

    // Unverified: no user may sign in with it, and it names no tenant.
    let r = h.post("/v1.0/users", user_on("adele", "contoso.com")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.message().contains("verified domain names"), "{}", r.message());
    let discovery = h.get("/contoso.com/v2.0/.well-known/openid-configuration").await;
    assert_ne!(discovery.status, StatusCode::OK, "an unverified domain names no tenant");
    let r = h.patch("/v1.0/domains/contoso.com", json!({"isDefault": true})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.message().contains("verified"), "{}", r.message());

    // No resolver configured: an administrative verification.
    let r = h.post("/v1.0/domains/contoso.com/verify", json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["isVerified"], true);
    assert_eq!(r.json["state"]["operation"], "Verify");
    let again = h.post("/v1.0/domains/contoso.com/verify", json!({})).await;
    assert_eq!(again.status, StatusCode::OK, "verifying a verified domain is harmless: {}", again.text);

    let discovery = h.get("/contoso.com/v2.0/.well-known/openid-configuration").await;
    assert_eq!(discovery.status, StatusCode::OK, "{}", discovery.text);
    assert!(discovery.text.contains(&h.boot.tenant_id));
    let r = h.post("/v1.0/users", user_on("adele", "contoso.com")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let adele = r.json["id"].as_str().expect("id").to_string();
    // An update to an unverified domain is refused too.
    add(&h, "fabrikam.com").await;
    let r = h.patch(&format!("/v1.0/users/{adele}"), json!({"userPrincipalName": "adele@fabrikam.com"})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);

    // The organization lists it.
    let org = h.get("/v1.0/organization").await;
    let names: Vec<&str> = org.json["value"][0]["verifiedDomains"]
        .as_array()
        .expect("domains")
        .iter()
        .filter_map(|d| d["name"].as_str())
        .collect();
    assert_eq!(names, vec!["contoso.onmicrosoft.com", "contoso.com"]);

    // A subdomain of a verified domain is verified as it is added.
    let sub = add(&h, "sales.contoso.com").await;
    assert_eq!(sub["isVerified"], true);
    assert_eq!(sub["isRoot"], false);
}

#[tokio::test]
async fn default_domain_and_updates() {
    let h = Harness::new().await;
    add(&h, "contoso.com").await;
    let r = h.post("/v1.0/domains/contoso.com/verify", json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = h.patch("/v1.0/domains/contoso.com", json!({"isDefault": true})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(domain(&h, "contoso.com").await["isDefault"], true);
    assert_eq!(domain(&h, "contoso.onmicrosoft.com").await["isDefault"], false, "one default at a time");

    // A Microsoft 365 group's address is on the default domain.
    let r = h
        .post(
            "/v1.0/groups",
            json!({"displayName": "Sales", "mailNickname": "sales", "mailEnabled": true, "securityEnabled": false, "groupTypes": ["Unified"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.json["mail"], "sales@contoso.com");

    let r = h.patch("/v1.0/domains/contoso.com", json!({"isDefault": false})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = h.delete("/v1.0/domains/contoso.com").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.message().contains("default domain"), "{}", r.message());

    for body in [
        json!({"isVerified": true}),
        json!({"isInitial": true}),
        json!({"authenticationType": "Federated"}),
        json!({"id": "other.com"}),
        json!({"supportedServices": ["Email", "Email"]}),
        json!({"passwordValidityPeriodInDays": 5}),
        json!({"passwordNotificationWindowInDays": 31}),
    ] {
        let r = h.patch("/v1.0/domains/contoso.com", body.clone()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {}", r.text);
    }
    let r = h
        .patch(
            "/v1.0/domains/contoso.com",
            json!({"supportedServices": ["Email", "Intune"], "passwordValidityPeriodInDays": 90, "passwordNotificationWindowInDays": 7}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let d = domain(&h, "contoso.com").await;
    assert_eq!(d["supportedServices"], json!(["Email", "Intune"]));
    assert_eq!(d["passwordValidityPeriodInDays"], 90);
    let sel = h.get("/v1.0/domains/contoso.com?$select=id,isDefault").await;
    assert_eq!(sel.status, StatusCode::OK, "{}", sel.text);
    assert_eq!(sel.json["id"], "contoso.com");
    assert!(sel.json.get("supportedServices").is_none());

    let r = h.get("/v1.0/domains/contoso.com/serviceConfigurationRecords").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let records = r.json["value"].as_array().expect("value");
    assert!(
        records
            .iter()
            .any(|r| r["recordType"] == "Mx" && r["mailExchange"] == "contoso-com.mail.protection.outlook.com")
    );
    assert!(records.iter().any(|r| r["label"] == "enterpriseregistration.contoso.com"
        && r["canonicalName"] == "enterpriseregistration.windows.net"
        && r["supportedService"] == "Intune"));
    assert!(!records.iter().any(|r| r["supportedService"] == "OfficeCommunicationsOnline"));

    // Back to the initial domain as default; then contoso.com may go.
    let r = h.patch("/v1.0/domains/contoso.onmicrosoft.com", json!({"isDefault": true})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = h.delete("/v1.0/domains/contoso.com").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "the group's mail still uses it: {}", r.text);
}

#[tokio::test]
async fn delete_and_force_delete() {
    let h = Harness::new().await;
    // An unreferenced, unverified domain goes.
    add(&h, "unused.example").await;
    let r = h.delete("/v1.0/domains/unused.example").await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = h.get("/v1.0/domains/unused.example").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);

    add(&h, "contoso.com").await;
    h.post("/v1.0/domains/contoso.com/verify", json!({})).await;
    let r = h.post("/v1.0/users", user_on("megan", "contoso.com")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let megan = r.json["id"].as_str().expect("id").to_string();
    let r = h
        .post("/v1.0/applications", json!({"displayName": "API", "identifierUris": ["https://api.contoso.com/orders"]}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let app = r.json["id"].as_str().expect("id").to_string();

    let refs = h.get("/v1.0/domains/contoso.com/domainNameReferences").await;
    assert_eq!(refs.status, StatusCode::OK, "{}", refs.text);
    let mut types: Vec<&str> =
        refs.json["value"].as_array().expect("value").iter().filter_map(|o| o["@odata.type"].as_str()).collect();
    types.sort();
    assert_eq!(types, vec!["#microsoft.graph.application", "#microsoft.graph.user"]);

    let r = h.delete("/v1.0/domains/contoso.com").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.message().contains("domainNameReferences"), "{}", r.message());
    let r = h.post("/v1.0/domains/contoso.com/forceDelete", json!({"disableUserAccounts": "yes"})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = h.post("/v1.0/domains/contoso.com/forceDelete", json!({"other": true})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);

    let r = h.post("/v1.0/domains/contoso.com/forceDelete", json!({"disableUserAccounts": true})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = h.get("/v1.0/domains/contoso.com").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let user = h.get(&format!("/v1.0/users/{megan}?$select=userPrincipalName,accountEnabled")).await;
    assert_eq!(user.json["userPrincipalName"], "megan@contoso.onmicrosoft.com");
    assert_eq!(user.json["accountEnabled"], false);
    let app = h.get(&format!("/v1.0/applications/{app}?$select=identifierUris")).await;
    assert_eq!(app.json["identifierUris"], json!(["https://api.contoso.onmicrosoft.com/orders"]));
    let found = h.get("/v1.0/users/megan@contoso.onmicrosoft.com").await;
    assert_eq!(found.status, StatusCode::OK, "the renamed UPN is the user's key: {}", found.text);
}

#[tokio::test]
async fn domain_permissions() {
    let h = Harness::new().await;
    let reader = h.sign(h.claims(&["Domain.Read.All"])).await;
    let r = h.graph_with(Method::GET, "/v1.0/domains", None, &reader, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = h.graph_with(Method::POST, "/v1.0/domains", Some(json!({"id": "a.example"})), &reader, &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let directory_reader = h.sign(h.claims(&["Directory.Read.All"])).await;
    let r = h.graph_with(Method::GET, "/v1.0/domains/contoso.onmicrosoft.com", None, &directory_reader, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = h
        .graph_with(
            Method::GET,
            "/v1.0/domains/contoso.onmicrosoft.com/verificationDnsRecords",
            None,
            &directory_reader,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "the reference lists Domain.* only: {}", r.text);
}

// ---- verification against a DNS server ----

/// A DNS server on loopback answering TXT questions from a table; names listed in `fail`
/// get SERVFAIL.
struct FakeDns {
    addr: std::net::SocketAddr,
    records: Arc<Mutex<HashMap<String, Vec<String>>>>,
    fail: Arc<Mutex<Vec<String>>>,
}

impl FakeDns {
    async fn start() -> FakeDns {
        let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        let addr = socket.local_addr().expect("addr");
        let records: Arc<Mutex<HashMap<String, Vec<String>>>> = Arc::default();
        let fail: Arc<Mutex<Vec<String>>> = Arc::default();
        let (r, f) = (records.clone(), fail.clone());
        tokio::spawn(async move {
            let mut buf = [0u8; 512];
            while let Ok((n, peer)) = socket.recv_from(&mut buf).await {
                let Some(answer) = answer(&buf[..n], &r, &f) else { continue };
                let _ = socket.send_to(&answer, peer).await;
            }
        });
        FakeDns { addr, records, fail }
    }

    fn publish(&self, name: &str, text: &str) {
        self.records.lock().expect("lock").entry(name.to_string()).or_default().push(text.to_string());
    }
}

/// The answer to one query: its question echoed, then the name's TXT records.
fn answer(q: &[u8], records: &Mutex<HashMap<String, Vec<String>>>, fail: &Mutex<Vec<String>>) -> Option<Vec<u8>> {
    let mut at = 12;
    let mut labels = Vec::new();
    loop {
        let len = usize::from(*q.get(at)?);
        if len == 0 {
            break;
        }
        labels.push(String::from_utf8_lossy(q.get(at + 1..at + 1 + len)?).to_string());
        at += 1 + len;
    }
    let question_end = at + 5;
    let name = labels.join(".");
    let texts = records.lock().ok()?.get(&name).cloned().unwrap_or_default();
    let rcode = if fail.lock().ok()?.contains(&name) { 2 } else { 0 };
    let mut m = Vec::new();
    m.extend_from_slice(q.get(0..2)?);
    m.extend_from_slice(&[0x81, 0x80 | rcode, 0, 1]);
    m.extend_from_slice(&(texts.len() as u16).to_be_bytes());
    m.extend_from_slice(&[0, 0, 0, 0]);
    m.extend_from_slice(q.get(12..question_end)?);
    for t in texts {
        m.extend_from_slice(&[0xc0, 12, 0, 16, 0, 1, 0, 0, 0x0e, 0x10]);
        m.extend_from_slice(&((t.len() + 1) as u16).to_be_bytes());
        m.push(t.len() as u8);
        m.extend_from_slice(t.as_bytes());
    }
    Some(m)
}

#[tokio::test]
async fn verify_looks_up_the_txt_record() {
    let dns = FakeDns::start().await;
    let options = cerulean::app::AppOptions { dns_resolver: Some(dns.addr), ..Default::default() };
    let h = Harness::with_options("contoso.onmicrosoft.com", options).await;
    add(&h, "contoso.com").await;
    let expected = verification_text(&h, "contoso.com").await;

    // No record yet (and an unrelated one): refused, still unverified.
    dns.publish("contoso.com", "v=spf1 -all");
    let r = h.post("/v1.0/domains/contoso.com/verify", json!({})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.code(), "Request_BadRequest");
    assert!(r.message().contains("verification failed") && r.message().contains(&expected), "{}", r.message());
    assert_eq!(domain(&h, "contoso.com").await["isVerified"], false);

    // A lookup failure is a verification failure too.
    add(&h, "broken.example").await;
    dns.fail.lock().expect("lock").push("broken.example".into());
    let r = h.post("/v1.0/domains/broken.example/verify", json!({})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.message().contains("DNS lookup"), "{}", r.message());

    // Published: verified.
    dns.publish("contoso.com", &expected);
    let r = h.post("/v1.0/domains/contoso.com/verify", json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["isVerified"], true);
    let r = h.post("/v1.0/users", user_on("adele", "contoso.com")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
}

#[tokio::test]
async fn fixture_import_adds_its_domains_once() {
    let h = Harness::new().await;
    let fixture = json!({
        "tenant": {"domains": [
            "contoso.onmicrosoft.com",
            {"name": "contoso.com", "isDefault": true},
            {"name": "pending.example", "isVerified": false},
        ]},
        "users": [{"displayName": "Lee", "mailNickname": "lee", "accountEnabled": true,
                   "userPrincipalName": "lee@contoso.com"}],
    });
    let (_, report) =
        cerulean::fixture::import_into(&h.app, h.store.as_ref(), &h.dir, &fixture, None, "x").await.expect("import");
    assert_eq!(report.created.get("domains"), Some(&2), "{report:?}");
    assert_eq!(report.created.get("users"), Some(&1), "{report:?}");
    let d = domain(&h, "contoso.com").await;
    assert_eq!(
        (d["isVerified"].clone(), d["isDefault"].clone(), d["isInitial"].clone()),
        (json!(true), json!(true), json!(false))
    );
    assert_eq!(domain(&h, "pending.example").await["isVerified"], false);
    assert_eq!(domain(&h, "contoso.onmicrosoft.com").await["isDefault"], false);
    let r = h.get("/v1.0/users/lee@contoso.com").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    let (_, again) =
        cerulean::fixture::import_into(&h.app, h.store.as_ref(), &h.dir, &fixture, None, "x").await.expect("re-import");
    assert_eq!(again.total_created(), 0, "{again:?}");
    let r = h.get("/v1.0/domains").await;
    assert_eq!(r.json["value"].as_array().expect("value").len(), 3);
}

#[tokio::test]
async fn delegated_domain_writes_need_a_domain_role() {
    let h = Harness::new().await;
    let me = h.get(&format!("/v1.0/users/{}", h.boot.admin_user_principal_name)).await;
    let mut claims = h.claims(&[]);
    let c = claims.as_object_mut().expect("claims");
    c.remove("roles");
    c.insert("idtyp".into(), json!("user"));
    c.insert("oid".into(), me.json["id"].clone());
    c.insert("scp".into(), json!("Domain.ReadWrite.All"));
    c.insert("wids".into(), json!(["62e90394-69f5-4237-9190-012177145e10"]));
    let admin = h.sign(claims).await;
    let r = h.graph_with(Method::POST, "/v1.0/domains", Some(json!({"id": "contoso.com"})), &admin, &[]).await;
    assert_eq!(r.status, StatusCode::CREATED, "a Global Administrator may: {}", r.text);

    // A member without a role, with the scope: reads yes, writes no.
    let r = h.post("/v1.0/users", user_body("pat", "Pat")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let mut claims = h.claims(&[]);
    let c = claims.as_object_mut().expect("claims");
    c.remove("roles");
    c.insert("idtyp".into(), json!("user"));
    c.insert("oid".into(), r.json["id"].clone());
    c.insert("scp".into(), json!("Domain.ReadWrite.All Organization.ReadWrite.All"));
    let member = h.sign(claims).await;
    let r = h.graph_with(Method::GET, "/v1.0/domains", None, &member, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = h.graph_with(Method::POST, "/v1.0/domains/contoso.com/verify", None, &member, &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let path = format!("/v1.0/organization/{}", h.boot.tenant_id);
    let r = h.graph_with(Method::PATCH, &path, Some(json!({"city": "X"})), &member, &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
}
