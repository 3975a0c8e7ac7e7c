//! `/identity/conditionalAccess/namedLocations` and `/policies`: create, read, update and
//! delete; the validation of each (and Graph's errors); a named location in use; permissions.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{Harness, Reply, id_of};

const LOCATIONS: &str = "/v1.0/identity/conditionalAccess/namedLocations";
const POLICIES: &str = "/v1.0/identity/conditionalAccess/policies";
const WRITE: &str = "Policy.ReadWrite.ConditionalAccess";
const READ: &str = "Policy.Read.All";

struct Ca {
    h: Harness,
    token: String,
}

impl Ca {
    async fn new() -> Ca {
        let h = Harness::new().await;
        let token = h.sign(h.claims(&[WRITE, READ])).await;
        Ca { h, token }
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        self.h.graph_with(method, path, body, &self.token, &[]).await
    }

    async fn post(&self, path: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(body)).await
    }

    async fn patch(&self, path: &str, body: Value) -> Reply {
        self.call(Method::PATCH, path, Some(body)).await
    }

    async fn get(&self, path: &str) -> Reply {
        self.call(Method::GET, path, None).await
    }

    async fn delete(&self, path: &str) -> Reply {
        self.call(Method::DELETE, path, None).await
    }
}

fn ip_location(name: &str, trusted: bool) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.ipNamedLocation",
        "displayName": name,
        "isTrusted": trusted,
        "ipRanges": [
            { "@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": "198.51.100.0/24" },
            { "@odata.type": "#microsoft.graph.iPv6CidrRange", "cidrAddress": "2001:db8::/32" }
        ]
    })
}

fn policy(name: &str) -> Value {
    json!({
        "displayName": name,
        "state": "enabledForReportingButNotEnforced",
        "conditions": {
            "users": { "includeUsers": ["All"], "excludeUsers": [] },
            "applications": { "includeApplications": ["All"] },
            "clientAppTypes": ["all"],
            "signInRiskLevels": ["medium", "high"]
        },
        "grantControls": { "operator": "OR", "builtInControls": ["mfa"] }
    })
}

/// An authorization-code request (PKCE) of `client` for User.Read, with `prompt` if any.
fn authorize_url(h: &Harness, client: &str, prompt: Option<&str>) -> String {
    let challenge = crate::browser::s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-plus-some-more-entropy");
    let mut q = vec![
        ("client_id", client),
        ("response_type", "code"),
        ("redirect_uri", crate::browser::NATIVE_REDIRECT),
        ("scope", "openid User.Read"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    if let Some(p) = prompt {
        q.push(("prompt", p));
    }
    format!("/{}/oauth2/v2.0/authorize?{}", h.boot.tenant_id, serde_urlencoded::to_string(q).expect("query"))
}

fn assert_bad(r: &Reply, needle: &str) {
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.message().contains(needle), "expected '{needle}' in {}", r.text);
}

#[tokio::test]
async fn named_locations_round_trip() {
    let ca = Ca::new().await;
    let created = ca.post(LOCATIONS, ip_location("Head office", true)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let j = &created.json;
    assert_eq!(j["@odata.type"], "#microsoft.graph.ipNamedLocation");
    assert_eq!(j["displayName"], "Head office");
    assert_eq!(j["isTrusted"], true);
    assert_eq!(j["ipRanges"][1]["@odata.type"], "#microsoft.graph.iPv6CidrRange");
    assert_eq!(j["ipRanges"][0]["cidrAddress"], "198.51.100.0/24");
    assert!(j["createdDateTime"].is_string() && j["modifiedDateTime"].is_string(), "{j}");
    assert!(
        j["@odata.context"].as_str().unwrap_or_default().ends_with("identity/conditionalAccess/namedLocations/$entity")
    );
    let ip_id = id_of(j);
    assert!(created.headers.get("location").is_some());

    let country = ca
        .post(
            LOCATIONS,
            json!({
                "@odata.type": "#microsoft.graph.countryNamedLocation",
                "displayName": "Nordics",
                "countriesAndRegions": ["no", "SE"],
            }),
        )
        .await;
    assert_eq!(country.status, StatusCode::CREATED, "{}", country.text);
    assert_eq!(country.json["countriesAndRegions"], json!(["NO", "SE"]));
    assert_eq!(country.json["includeUnknownCountriesAndRegions"], false);
    assert_eq!(country.json["countryLookupMethod"], "clientIpAddress");
    let country_id = id_of(&country.json);

    let list = ca.get(LOCATIONS).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    let mut types: Vec<&str> =
        list.json["value"].as_array().expect("value").iter().filter_map(|v| v["@odata.type"].as_str()).collect();
    types.sort_unstable();
    assert_eq!(types, ["#microsoft.graph.countryNamedLocation", "#microsoft.graph.ipNamedLocation"]);
    let sel = ca.get(&format!("{LOCATIONS}?$select=displayName")).await;
    let names = sel.json["value"].as_array().expect("value");
    assert!(names.iter().any(|v| v["displayName"] == "Head office"), "{}", sel.text);
    assert!(
        names.iter().all(|v| v.get("ipRanges").is_none() && v.get("countriesAndRegions").is_none()),
        "{}",
        sel.text
    );

    // PATCH names the type; the change shows and modifiedDateTime moves.
    let r = ca
        .patch(
            &format!("{LOCATIONS}/{ip_id}"),
            json!({ "@odata.type": "#microsoft.graph.ipNamedLocation", "isTrusted": false, "displayName": "HQ" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let one = ca.get(&format!("{LOCATIONS}/{ip_id}")).await;
    assert_eq!(one.json["isTrusted"], false);
    assert_eq!(one.json["displayName"], "HQ");
    assert_eq!(one.json["ipRanges"].as_array().map(Vec::len), Some(2), "ranges kept");
    let wrong_type = ca
        .patch(
            &format!("{LOCATIONS}/{ip_id}"),
            json!({ "@odata.type": "#microsoft.graph.countryNamedLocation", "displayName": "x" }),
        )
        .await;
    assert_bad(&wrong_type, "cannot change");
    assert_bad(&ca.patch(&format!("{LOCATIONS}/{ip_id}"), json!({ "displayName": "x" })).await, "@odata.type");

    // Not a directory object.
    assert_eq!(ca.h.get(&format!("/v1.0/directoryObjects/{ip_id}")).await.status, StatusCode::NOT_FOUND);

    assert_eq!(ca.delete(&format!("{LOCATIONS}/{country_id}")).await.status, StatusCode::NO_CONTENT);
    assert_eq!(ca.get(&format!("{LOCATIONS}/{country_id}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(ca.delete(&format!("{LOCATIONS}/{country_id}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(ca.get(&format!("{LOCATIONS}/not-a-guid")).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn named_location_validation() {
    let ca = Ca::new().await;
    let mut no_type = ip_location("x", false);
    no_type.as_object_mut().expect("obj").remove("@odata.type");
    assert_bad(&ca.post(LOCATIONS, no_type).await, "@odata.type");
    let mut no_name = ip_location("x", false);
    no_name.as_object_mut().expect("obj").remove("displayName");
    assert_bad(&ca.post(LOCATIONS, no_name).await, "displayName");
    for (family, cidr) in [
        ("iPv4CidrRange", "10.0.0.0/33"),
        ("iPv4CidrRange", "2001:db8::/32"),
        ("iPv6CidrRange", "10.0.0.0/8"),
        ("iPv4CidrRange", "10.0.0.1"),
    ] {
        let body = json!({
            "@odata.type": "#microsoft.graph.ipNamedLocation",
            "displayName": "bad",
            "ipRanges": [{ "@odata.type": format!("#microsoft.graph.{family}"), "cidrAddress": cidr }]
        });
        assert_bad(&ca.post(LOCATIONS, body).await, "cidrAddress");
    }
    let untyped = json!({ "@odata.type": "#microsoft.graph.ipNamedLocation", "displayName": "bad", "ipRanges": [{ "cidrAddress": "10.0.0.0/8" }] });
    assert_bad(&ca.post(LOCATIONS, untyped).await, "iPv4CidrRange");
    let empty = json!({ "@odata.type": "#microsoft.graph.ipNamedLocation", "displayName": "bad", "ipRanges": [] });
    assert_bad(&ca.post(LOCATIONS, empty).await, "ipRanges");
    let country = |extra: Value| {
        let mut b = json!({ "@odata.type": "#microsoft.graph.countryNamedLocation", "displayName": "c" });
        for (k, v) in extra.as_object().cloned().unwrap_or_default() {
            b[k] = v;
        }
        b
    };
    assert_bad(&ca.post(LOCATIONS, country(json!({ "countriesAndRegions": ["NOR"] }))).await, "countriesAndRegions");
    assert_bad(&ca.post(LOCATIONS, country(json!({ "countriesAndRegions": [] }))).await, "countriesAndRegions");
    assert_bad(
        &ca.post(LOCATIONS, country(json!({ "countriesAndRegions": ["NO"], "countryLookupMethod": "gps" }))).await,
        "countryLookupMethod",
    );
    assert_bad(
        &ca.post(LOCATIONS, country(json!({ "countriesAndRegions": ["NO"], "isTrusted": true }))).await,
        "isTrusted",
    );
    let unknown_only = ca
        .post(LOCATIONS, country(json!({ "countriesAndRegions": [], "includeUnknownCountriesAndRegions": true })))
        .await;
    assert_eq!(unknown_only.status, StatusCode::CREATED, "{}", unknown_only.text);
}

#[tokio::test]
async fn policies_round_trip() {
    let ca = Ca::new().await;
    let loc = id_of(&ca.post(LOCATIONS, ip_location("Office", true)).await.json);
    let group = id_of(&ca.h.group("ca-excluded", "CA excluded").await);
    let mut body = policy("Require MFA for risky sign-ins");
    body["conditions"]["users"]["excludeGroups"] = json!([group]);
    body["conditions"]["locations"] = json!({ "includeLocations": ["All"], "excludeLocations": ["AllTrusted", loc] });
    body["conditions"]["platforms"] = json!({ "includePlatforms": ["all"], "excludePlatforms": ["iOS"] });
    body["sessionControls"] = json!({ "signInFrequency": { "isEnabled": true, "value": 4, "type": "hours" } });
    let created = ca.post(POLICIES, body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let p = &created.json;
    assert!(p.get("@odata.type").is_none());
    assert_eq!(p["state"], "enabledForReportingButNotEnforced");
    assert_eq!(p["conditions"]["users"]["excludeGroups"], json!([group]));
    assert_eq!(p["conditions"]["users"]["includeRoles"], json!([]));
    assert_eq!(p["conditions"]["locations"]["excludeLocations"], json!(["AllTrusted", loc]));
    assert_eq!(p["conditions"]["userRiskLevels"], json!([]));
    assert_eq!(p["conditions"]["signInRiskLevels"], json!(["medium", "high"]));
    assert_eq!(
        p["grantControls"],
        json!({ "operator": "OR", "builtInControls": ["mfa"], "customAuthenticationFactors": [], "termsOfUse": [] })
    );
    assert_eq!(p["sessionControls"]["signInFrequency"]["value"], 4);
    assert_eq!(p["sessionControls"]["signInFrequency"]["frequencyInterval"], "timeBased");
    assert!(p["createdDateTime"].is_string());
    let id = id_of(p);

    let r = ca.patch(&format!("{POLICIES}/{id}"), json!({ "state": "enabled" })).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let one = ca.get(&format!("{POLICIES}/{id}")).await;
    assert_eq!(one.json["state"], "enabled");
    assert_eq!(one.json["grantControls"]["builtInControls"], json!(["mfa"]), "kept");
    assert!(one.json["modifiedDateTime"].is_string());
    let list = ca.get(POLICIES).await;
    assert_eq!(list.json["value"].as_array().map(Vec::len), Some(1), "{}", list.text);

    // A location in use cannot go; once the policy is gone it can.
    assert_bad(&ca.delete(&format!("{LOCATIONS}/{loc}")).await, "1049");
    assert_eq!(ca.delete(&format!("{POLICIES}/{id}")).await.status, StatusCode::NO_CONTENT);
    assert_eq!(ca.get(&format!("{POLICIES}/{id}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(ca.delete(&format!("{LOCATIONS}/{loc}")).await.status, StatusCode::NO_CONTENT);

    // The audit log has the writes.
    let audits = ca.h.get("/v1.0/auditLogs/directoryAudits?$filter=category%20eq%20%27Policy%27").await;
    let activities: Vec<&str> = audits.json["value"]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v["activityDisplayName"].as_str()).collect())
        .unwrap_or_default();
    assert!(activities.contains(&"Add conditional access policy"), "{}", audits.text);
    assert!(activities.contains(&"Delete named location"), "{}", audits.text);
}

#[tokio::test]
async fn policy_validation() {
    let ca = Ca::new().await;
    let with = |path: &[&str], v: Value| {
        let mut b = policy("p");
        let mut cur = &mut b;
        for (i, seg) in path.iter().enumerate() {
            if i + 1 == path.len() {
                cur[*seg] = v.clone();
            } else {
                cur = &mut cur[*seg];
            }
        }
        b
    };
    let cases: Vec<(Value, &str)> = vec![
        (with(&["state"], json!("on")), "state"),
        (with(&["displayName"], json!("")), "displayName"),
        (with(&["conditions"], Value::Null), "conditions"),
        (with(&["conditions", "users"], json!({ "includeUsers": [] })), "includes no users"),
        (with(&["conditions", "users", "includeUsers"], json!(["someone"])), "includeUsers"),
        (with(&["conditions", "applications"], json!({ "includeApplications": [] })), "includes no applications"),
        (with(&["conditions", "clientAppTypes"], json!(["fax"])), "clientAppTypes"),
        (with(&["conditions", "signInRiskLevels"], json!(["extreme"])), "signInRiskLevels"),
        (with(&["conditions", "platforms"], json!({ "includePlatforms": ["amiga"] })), "includePlatforms"),
        (with(&["conditions", "users", "bogus"], json!([])), "bogus"),
        (with(&["conditions", "locations"], json!({ "includeLocations": [uuid::Uuid::new_v4().to_string()] })), "1040"),
        (with(&["grantControls", "builtInControls"], json!(["block", "mfa"])), "block"),
        (with(&["grantControls", "builtInControls"], json!(["teleport"])), "builtInControls"),
        (with(&["grantControls", "operator"], json!("XOR")), "operator"),
        (with(&["grantControls"], Value::Null), "no controls"),
        (with(&["grantControls", "builtInControls"], json!(["passwordChange"])), "passwordChange"),
        (
            with(
                &["sessionControls"],
                json!({ "signInFrequency": { "isEnabled": true, "value": 25, "type": "hours" } }),
            ),
            "value",
        ),
    ];
    for (body, needle) in cases {
        assert_bad(&ca.post(POLICIES, body).await, needle);
    }
    // passwordChange: with mfa, AND, user risk and all applications it is accepted.
    let mut ok = with(&["grantControls"], json!({ "operator": "AND", "builtInControls": ["mfa", "passwordChange"] }));
    ok["conditions"]["userRiskLevels"] = json!(["high"]);
    let r = ca.post(POLICIES, ok).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    // A PATCH is validated against the merged policy.
    let id = id_of(&r.json);
    assert_bad(
        &ca.patch(&format!("{POLICIES}/{id}"), json!({ "conditions": policy("x")["conditions"] })).await,
        "passwordChange",
    );
    assert_bad(&ca.patch(&format!("{POLICIES}/{id}"), json!({ "state": "sometimes" })).await, "state");
    assert_eq!(
        ca.patch(&format!("{POLICIES}/{}", uuid::Uuid::new_v4()), json!({ "state": "enabled" })).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn permissions() {
    let ca = Ca::new().await;
    let reader = ca.h.sign(ca.h.claims(&[READ])).await;
    let none = ca.h.sign(ca.h.claims(&["User.Read.All"])).await;
    for path in [LOCATIONS, POLICIES] {
        assert_eq!(ca.h.graph_with(Method::GET, path, None, &reader, &[]).await.status, StatusCode::OK);
        assert_eq!(ca.h.graph_with(Method::GET, path, None, &none, &[]).await.status, StatusCode::FORBIDDEN);
        let r = ca.h.graph_with(Method::POST, path, Some(json!({})), &none, &[]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    }
    // Graph's SDKs may send the segments in any case.
    let r = ca.get("/v1.0/identity/conditionalaccess/namedlocations").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

/// A harness trusting 10.0.0.0/8 as a proxy and locating 198.51.100.0/24 in Norway.
async fn proxied() -> Ca {
    use cerulean_identity::location::{Locator, LocatorConfig};
    let dir = std::env::temp_dir().join(format!("cerulean-ca-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("dir");
    let ranges = dir.join("ranges.csv");
    std::fs::write(&ranges, "198.51.100.0/24,NO,Oslo,Oslo,59.91,10.75,64500,Oslo Net\n").expect("ranges");
    let locator = Locator::load(&LocatorConfig { ranges: Some(ranges), ..LocatorConfig::default() }).expect("locator");
    let risk = cerulean_identity::risk::RiskConfig {
        anonymizers: cerulean_identity::risk::parse_ip_list("192.0.2.0/24").expect("list"),
        ..cerulean_identity::risk::RiskConfig::default()
    };
    let options = cerulean::app::AppOptions {
        trusted_proxies: vec!["10.0.0.0/8".parse().expect("cidr")],
        locator: Some(std::sync::Arc::new(locator)),
        risk: Some(std::sync::Arc::new(risk)),
        ..cerulean::app::AppOptions::default()
    };
    let h = Harness::with_options("contoso.onmicrosoft.com", options).await;
    let token = h.sign(h.claims(&[WRITE, READ])).await;
    Ca { h, token }
}

/// A ROPC sign-in of the bootstrap administrator from `client` (via the trusted proxy).
async fn ropc(ca: &Ca, client: &str) -> Reply {
    ropc_as(ca, client, "ca-test").await
}

/// [`ropc`] with a `client-request-id` (the sign-in log's `correlationId`).
async fn ropc_as(ca: &Ca, client: &str, correlation: &str) -> Reply {
    ropc_from(ca, client, correlation, "").await
}

/// [`ropc_as`] with a `User-Agent`.
async fn ropc_from(ca: &Ca, client: &str, correlation: &str, user_agent: &str) -> Reply {
    let h = &ca.h;
    let fields = [
        ("grant_type", "password"),
        ("client_id", h.boot.client_id.as_str()),
        ("client_secret", h.boot.client_secret.as_str()),
        ("username", h.boot.admin_user_principal_name.as_str()),
        ("password", h.boot.admin_password.as_str()),
        ("scope", "https://graph.microsoft.com/.default"),
    ];
    token_via_proxy(ca, &fields, client, correlation, user_agent).await
}

/// A token request from `client` through the trusted proxy.
async fn token_via_proxy(ca: &Ca, fields: &[(&str, &str)], client: &str, correlation: &str, user_agent: &str) -> Reply {
    use axum::body::Body;
    use axum::extract::ConnectInfo;
    use axum::http::Request;
    let h = &ca.h;
    let mut b = Request::builder()
        .method(Method::POST)
        .uri(format!("/{}/oauth2/v2.0/token", h.boot.tenant_id))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-forwarded-for", client)
        .header("client-request-id", correlation);
    if !user_agent.is_empty() {
        b = b.header("user-agent", user_agent);
    }
    let mut req = b.body(Body::from(serde_urlencoded::to_string(fields).expect("form"))).expect("request");
    let peer: std::net::SocketAddr = "10.0.0.1:443".parse().expect("peer");
    req.extensions_mut().insert(ConnectInfo(peer));
    h.send(req).await
}

/// The sign-in log row of a correlation id.
async fn sign_in_row(ca: &Ca, correlation: &str) -> Value {
    let r = ca.h.get(&format!("/v1.0/auditLogs/signIns?$filter=correlationId%20eq%20%27{correlation}%27")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.json["value"][0].clone()
}

fn aadsts(r: &Reply) -> i64 {
    r.json["error_codes"][0].as_i64().unwrap_or_default()
}

#[tokio::test]
async fn password_grant_enforces_policies() {
    let ca = proxied().await;
    assert_eq!(ropc(&ca, "198.51.100.7").await.status, StatusCode::OK, "no policy yet");

    // Report-only block: recorded, not enforced.
    let mut block = policy("Block everyone");
    block["grantControls"] = json!({ "operator": "OR", "builtInControls": ["block"] });
    block["conditions"]["signInRiskLevels"] = json!([]);
    let id = id_of(&ca.post(POLICIES, block).await.json);
    assert_eq!(ropc_as(&ca, "198.51.100.7", "report-only").await.status, StatusCode::OK, "report-only");
    let row = sign_in_row(&ca, "report-only").await;
    assert_eq!(row["conditionalAccessStatus"], "notApplied", "{row}");
    assert_eq!(row["appliedConditionalAccessPolicies"][0]["id"], id.as_str(), "{row}");
    assert_eq!(row["appliedConditionalAccessPolicies"][0]["result"], "reportOnlyFailure", "{row}");
    assert_eq!(row["appliedConditionalAccessPolicies"][0]["enforcedGrantControls"], json!(["block"]), "{row}");

    // Enabled, but the medium+ sign-in risk condition does not hold for a clean sign-in.
    assert_eq!(
        ca.patch(&format!("{POLICIES}/{id}"), json!({ "state": "enabled" })).await.status,
        StatusCode::NO_CONTENT
    );
    let r = ropc_as(&ca, "198.51.100.7", "blocked").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(aadsts(&r), 53003, "{}", r.text);
    assert!(r.json["error_description"].as_str().unwrap_or_default().starts_with("AADSTS53003"), "{}", r.text);
    let row = sign_in_row(&ca, "blocked").await;
    assert_eq!(row["status"]["errorCode"], 53003, "{row}");
    assert_eq!(row["conditionalAccessStatus"], "failure", "{row}");
    assert_eq!(row["appliedConditionalAccessPolicies"][0]["result"], "failure", "{row}");
    assert_eq!(row["appliedConditionalAccessPolicies"][0]["displayName"], "Block everyone", "{row}");
    // A wrong password fails before any policy: Entra reports the policies as not applied.
    let h = &ca.h;
    let wrong = [
        ("grant_type", "password"),
        ("client_id", h.boot.client_id.as_str()),
        ("client_secret", h.boot.client_secret.as_str()),
        ("username", h.boot.admin_user_principal_name.as_str()),
        ("password", "not-the-password"),
        ("scope", "https://graph.microsoft.com/.default"),
    ];
    let r = token_via_proxy(&ca, &wrong, "198.51.100.7", "wrong-password", "").await;
    assert_eq!(aadsts(&r), 50126, "{}", r.text);
    let row = sign_in_row(&ca, "wrong-password").await;
    assert_eq!(row["conditionalAccessStatus"], "notApplied", "{row}");
    assert_eq!(row["appliedConditionalAccessPolicies"], json!([]), "{row}");

    // Excluding a group the administrator is in lifts the block.
    let group = ca.h.group("ca-break-glass", "Break glass").await;
    let gid = id_of(&group);
    let me = ca.h.get(&format!("/v1.0/users/{}", ca.h.boot.admin_user_principal_name)).await;
    let add =
        ca.h.post(
            &format!("/v1.0/groups/{gid}/members/$ref"),
            json!({ "@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{}", id_of(&me.json)) }),
        )
        .await;
    assert_eq!(add.status, StatusCode::NO_CONTENT, "{}", add.text);
    let excluded = json!({
        "users": { "includeUsers": ["All"], "excludeGroups": [gid] },
        "applications": { "includeApplications": ["All"] },
    });
    assert_eq!(
        ca.patch(&format!("{POLICIES}/{id}"), json!({ "conditions": excluded })).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(ropc(&ca, "198.51.100.7").await.status, StatusCode::OK, "excluded group");

    // A trusted named location excluded: blocked outside it only.
    let office = id_of(&ca.post(LOCATIONS, ip_location("Office", true)).await.json);
    let outside = json!({
        "users": { "includeUsers": ["All"] },
        "applications": { "includeApplications": ["All"] },
        "locations": { "includeLocations": ["All"], "excludeLocations": ["AllTrusted"] },
    });
    assert_eq!(
        ca.patch(&format!("{POLICIES}/{id}"), json!({ "conditions": outside })).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(ropc(&ca, "198.51.100.7").await.status, StatusCode::OK, "inside the trusted office");
    assert_eq!(aadsts(&ropc(&ca, "203.0.113.9").await), 53003, "outside");
    let _ = office;

    // MFA instead of block: this grant cannot do MFA (50076); a device control is 53000.
    assert_eq!(
        ca.patch(&format!("{POLICIES}/{id}"), json!({ "grantControls": { "builtInControls": ["mfa"] } })).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(aadsts(&ropc(&ca, "203.0.113.9").await), 50076);
    assert_eq!(
        ca.patch(&format!("{POLICIES}/{id}"), json!({ "grantControls": { "builtInControls": ["compliantDevice"] } }))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(aadsts(&ropc(&ca, "203.0.113.9").await), 53000);
    // Disabled: nothing applies.
    assert_eq!(
        ca.patch(&format!("{POLICIES}/{id}"), json!({ "state": "disabled" })).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(ropc(&ca, "203.0.113.9").await.status, StatusCode::OK);
}

#[tokio::test]
async fn mfa_at_medium_sign_in_risk() {
    let ca = proxied().await;
    let created = ca
        .post(POLICIES, {
            let mut p = policy("MFA for medium+ sign-in risk");
            p["state"] = json!("enabled");
            p
        })
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    // A clean sign-in from home: the policy does not apply, the log says so.
    assert_eq!(ropc_as(&ca, "198.51.100.7", "clean").await.status, StatusCode::OK);
    let row = sign_in_row(&ca, "clean").await;
    assert_eq!(row["conditionalAccessStatus"], "notApplied", "{row}");
    assert_eq!(row["appliedConditionalAccessPolicies"][0]["result"], "notApplied", "{row}");
    // From an anonymizer (medium sign-in risk): MFA is required, which this grant cannot give.
    let r = ropc_as(&ca, "192.0.2.5", "risky").await;
    assert_eq!(aadsts(&r), 50076, "{}", r.text);
    let row = sign_in_row(&ca, "risky").await;
    assert_eq!(row["riskLevelDuringSignIn"], "medium", "{row}");
    assert_eq!(row["conditionalAccessStatus"], "failure", "{row}");
    assert_eq!(row["appliedConditionalAccessPolicies"][0]["enforcedGrantControls"], json!(["mfa"]), "{row}");
}

#[tokio::test]
async fn refresh_token_is_refused_once_a_policy_blocks() {
    let ca = Ca::new().await;
    let h = &ca.h;
    let token_path = format!("/{}/oauth2/v2.0/token", h.boot.tenant_id);
    let first = h
        .form(
            &token_path,
            &[
                ("grant_type", "password"),
                ("client_id", h.boot.client_id.as_str()),
                ("client_secret", h.boot.client_secret.as_str()),
                ("username", h.boot.admin_user_principal_name.as_str()),
                ("password", h.boot.admin_password.as_str()),
                ("scope", "https://graph.microsoft.com/.default offline_access"),
            ],
            None,
        )
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    let refresh = first.json["refresh_token"].as_str().expect("refresh token").to_string();
    let mut block = policy("Block");
    block["state"] = json!("enabled");
    block["conditions"]["signInRiskLevels"] = json!([]);
    block["grantControls"] = json!({ "operator": "OR", "builtInControls": ["block"] });
    assert_eq!(ca.post(POLICIES, block).await.status, StatusCode::CREATED);
    let again = h
        .form(
            &token_path,
            &[
                ("grant_type", "refresh_token"),
                ("client_id", h.boot.client_id.as_str()),
                ("client_secret", h.boot.client_secret.as_str()),
                ("refresh_token", refresh.as_str()),
                ("scope", "https://graph.microsoft.com/.default offline_access"),
            ],
            None,
        )
        .await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST, "{}", again.text);
    assert_eq!(aadsts(&again), 53003, "{}", again.text);
    // Logged as the user's non-interactive sign-in (the request names no user: the evaluation
    // that refused it does), with the policy that refused.
    let filter = "signInEventTypes/any(t:t%20eq%20%27nonInteractiveUser%27)%20and%20status/errorCode%20eq%2053003";
    let rows = h.get(&format!("/beta/auditLogs/signIns?$filter={filter}")).await;
    let row = &rows.json["value"][0];
    let upn = row["userPrincipalName"].as_str().unwrap_or_default();
    assert!(upn.eq_ignore_ascii_case(&h.boot.admin_user_principal_name), "{}", rows.text);
    assert_eq!(row["appliedConditionalAccessPolicies"][0]["result"], "failure", "{}", rows.text);
}

#[tokio::test]
async fn sign_in_pages_block_or_ask_for_mfa() {
    use crate::browser::{Browser, PASSWORD, registered_app};
    let ca = Ca::new().await;
    let h = &ca.h;
    h.user("adele", "Adele Vance").await;
    let (client, _) = registered_app(h, Some("User.Read")).await;
    let url = authorize_url(h, &client, Some("login"));
    let sign_in = || async {
        let mut b = Browser::default();
        let page = b.get(h, &url).await;
        b.sign_in(h, &page, "adele@contoso.onmicrosoft.com", PASSWORD).await
    };

    // MFA required by an enabled policy: the user without a method registers an app.
    let mut mfa = policy("MFA for everyone");
    mfa["state"] = json!("enabled");
    mfa["conditions"]["signInRiskLevels"] = json!([]);
    let id = id_of(&ca.post(POLICIES, mfa).await.json);
    let page = sign_in().await;
    assert!(page.text.contains("otpauth://totp/"), "{}", page.text);

    // Block: the error page with the code.
    let r = ca.patch(&format!("{POLICIES}/{id}"), json!({ "grantControls": { "builtInControls": ["block"] } })).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let page = sign_in().await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.text);
    assert!(page.text.contains("53003"), "{}", page.text);

    // Report-only: the sign-in goes through to the application.
    let r = ca.patch(&format!("{POLICIES}/{id}"), json!({ "state": "enabledForReportingButNotEnforced" })).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let page = sign_in().await;
    assert_eq!(page.status, StatusCode::FOUND, "{}", page.text);
}

#[tokio::test]
async fn high_user_risk_without_a_method_is_blocked_not_enrolled() {
    use crate::browser::{Browser, PASSWORD, registered_app};
    let ca = Ca::new().await;
    let h = &ca.h;
    let adele = id_of(&h.user("adele", "Adele Vance").await);
    let (client, _) = registered_app(h, Some("User.Read")).await;
    // An administrator confirms the account compromised: high user risk.
    let risk = h.sign(h.claims(&["IdentityRiskyUser.ReadWrite.All"])).await;
    let r = h
        .graph_with(
            Method::POST,
            "/v1.0/identityProtection/riskyUsers/confirmCompromised",
            Some(json!({ "userIds": [adele] })),
            &risk,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let mut body = policy("Password change for high user risk");
    body["state"] = json!("enabled");
    body["conditions"]["signInRiskLevels"] = json!([]);
    body["conditions"]["userRiskLevels"] = json!(["high"]);
    body["grantControls"] = json!({ "operator": "AND", "builtInControls": ["mfa", "passwordChange"] });
    assert_eq!(ca.post(POLICIES, body).await.status, StatusCode::CREATED);

    // Adele has no second factor to make the change secure with: blocked (AADSTS53004), and no
    // authenticator registration is offered to whoever typed her password.
    let mut b = Browser::default();
    let page = b.get(h, &authorize_url(h, &client, Some("login"))).await;
    let page = b.sign_in(h, &page, "adele@contoso.onmicrosoft.com", PASSWORD).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.text);
    assert!(page.text.contains("53004"), "{}", page.text);
    assert!(!page.text.contains("otpauth://"), "{}", page.text);
    assert!(!page.text.contains("Update your password"), "{}", page.text);
    let reader = h.sign(h.claims(&["IdentityRiskyUser.Read.All"])).await;
    let risky =
        h.graph_with(Method::GET, &format!("/v1.0/identityProtection/riskyUsers/{adele}"), None, &reader, &[]).await;
    assert_eq!(risky.json["riskState"], "confirmedCompromised", "{}", risky.text);
}

const ANDROID: &str =
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36";
const WINDOWS: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36";
const IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
const UBUNTU: &str = "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0";

/// An enabled policy blocking everyone on `platforms`.
fn block_on_platforms(platforms: Value) -> Value {
    let mut p = policy("Block by platform");
    p["state"] = json!("enabled");
    p["conditions"]["signInRiskLevels"] = json!([]);
    p["conditions"]["platforms"] = platforms;
    p["grantControls"] = json!({ "operator": "OR", "builtInControls": ["block"] });
    p
}

#[tokio::test]
async fn platform_condition_reads_the_user_agent_at_the_token_endpoint() {
    let ca = proxied().await;
    let created = ca.post(POLICIES, block_on_platforms(json!({ "includePlatforms": ["android", "iOS"] }))).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let id = id_of(&created.json);
    let r = ropc_from(&ca, "198.51.100.7", "android", ANDROID).await;
    assert_eq!(aadsts(&r), 53003, "{}", r.text);
    let row = sign_in_row(&ca, "android").await;
    assert_eq!(row["deviceDetail"]["operatingSystem"], "Android", "{row}");
    assert_eq!(row["appliedConditionalAccessPolicies"][0]["result"], "failure", "{row}");
    let r = ropc_from(&ca, "198.51.100.7", "windows", WINDOWS).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(sign_in_row(&ca, "windows").await["appliedConditionalAccessPolicies"][0]["result"], "notApplied");
    // No User-Agent: an unknown platform, matched only by `all`.
    assert_eq!(ropc(&ca, "198.51.100.7").await.status, StatusCode::OK, "unknown platform");

    // All platforms but Windows: Linux is blocked, Windows is not, an unknown one is.
    let r = ca
        .patch(
            &format!("{POLICIES}/{id}"),
            json!({ "conditions": {
                "users": { "includeUsers": ["All"] },
                "applications": { "includeApplications": ["All"] },
                "platforms": { "includePlatforms": ["all"], "excludePlatforms": ["windows"] },
            } }),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(aadsts(&ropc_from(&ca, "198.51.100.7", "linux", UBUNTU).await), 53003);
    assert_eq!(ropc_from(&ca, "198.51.100.7", "windows-2", WINDOWS).await.status, StatusCode::OK);
    assert_eq!(aadsts(&ropc(&ca, "198.51.100.7").await), 53003, "unknown platform under 'all'");

    // An unknown platform name is refused on write.
    let bad = ca.post(POLICIES, block_on_platforms(json!({ "includePlatforms": ["beos"] }))).await;
    assert_bad(&bad, "includePlatforms");
}

#[tokio::test]
async fn platform_condition_at_the_sign_in_page() {
    use crate::browser::{Browser, PASSWORD, registered_app};
    let ca = Ca::new().await;
    let h = &ca.h;
    h.user("adele", "Adele Vance").await;
    let (client, _) = registered_app(h, Some("User.Read")).await;
    let created = ca.post(POLICIES, block_on_platforms(json!({ "includePlatforms": ["iOS"] }))).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let url = authorize_url(h, &client, Some("login"));
    let sign_in = |ua: &'static str| {
        let url = url.clone();
        async move {
            let mut b = Browser { user_agent: Some(ua.into()), ..Browser::default() };
            let page = b.get(h, &url).await;
            b.sign_in(h, &page, "adele@contoso.onmicrosoft.com", PASSWORD).await
        }
    };
    let page = sign_in(IPHONE).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.text);
    assert!(page.text.contains("53003"), "{}", page.text);
    let page = sign_in(WINDOWS).await;
    assert_eq!(page.status, StatusCode::FOUND, "{}", page.text);
}

/// The service principal sign-in of a correlation id (beta: v1.0 lists interactive ones only).
async fn sp_sign_in_row(ca: &Ca, correlation: &str) -> Value {
    let filter = format!(
        "signInEventTypes/any(t:t%20eq%20%27servicePrincipal%27)%20and%20correlationId%20eq%20%27{correlation}%27"
    );
    let r = ca.h.get(&format!("/beta/auditLogs/signIns?$filter={filter}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.json["value"][0].clone()
}

/// A client-credentials request of the bootstrap application from `client`.
async fn app_token(ca: &Ca, client: &str, correlation: &str) -> Reply {
    let h = &ca.h;
    let fields = [
        ("grant_type", "client_credentials"),
        ("client_id", h.boot.client_id.as_str()),
        ("client_secret", h.boot.client_secret.as_str()),
        ("scope", "https://graph.microsoft.com/.default"),
    ];
    token_via_proxy(ca, &fields, client, correlation, "").await
}

/// A policy for workload identities: block the service principals of `include` everywhere but
/// the locations of `exclude`.
fn workload_policy(include: Value, exclude_locations: Value) -> Value {
    json!({
        "displayName": "Block workloads outside the office",
        "state": "enabled",
        "conditions": {
            "users": { "includeUsers": ["None"] },
            "applications": { "includeApplications": ["All"] },
            "clientApplications": { "includeServicePrincipals": include },
            "locations": { "includeLocations": ["All"], "excludeLocations": exclude_locations },
        },
        "grantControls": { "operator": "OR", "builtInControls": ["block"] }
    })
}

#[tokio::test]
async fn workload_identity_policies_validate_as_entra() {
    let ca = Ca::new().await;
    let base = workload_policy(json!(["ServicePrincipalsInMyTenant"]), json!([]));
    let ok = ca.post(POLICIES, base.clone()).await;
    assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.text);
    assert_eq!(
        ok.json["conditions"]["clientApplications"]["includeServicePrincipals"],
        json!(["ServicePrincipalsInMyTenant"]),
        "{}",
        ok.text
    );
    // A user policy says `clientApplications: null`.
    let users = ca.post(POLICIES, policy("Users")).await;
    assert!(users.json["conditions"]["clientApplications"].is_null(), "{}", users.text);

    let mut with_users = base.clone();
    with_users["conditions"]["users"] = json!({ "includeUsers": ["All"] });
    assert_bad(&ca.post(POLICIES, with_users).await, "cannot target users");
    let mut mfa = base.clone();
    mfa["grantControls"] = json!({ "operator": "OR", "builtInControls": ["mfa"] });
    assert_bad(&ca.post(POLICIES, mfa).await, "can only block");
    let mut session = base.clone();
    session["sessionControls"] = json!({ "signInFrequency": { "isEnabled": true, "type": "hours", "value": 1 } });
    assert_bad(&ca.post(POLICIES, session).await, "session controls");
    let mut platforms = base.clone();
    platforms["conditions"]["platforms"] = json!({ "includePlatforms": ["all"] });
    assert_bad(&ca.post(POLICIES, platforms).await, "workload identities supports only");
    let mut risk = base.clone();
    risk["conditions"]["signInRiskLevels"] = json!(["high"]);
    assert_bad(&ca.post(POLICIES, risk).await, "workload identities supports only");
    let mut filter = base.clone();
    filter["conditions"]["clientApplications"]["servicePrincipalFilter"] =
        json!({ "mode": "include", "rule": "CustomSecurityAttribute.x -eq \"y\"" });
    assert_bad(&ca.post(POLICIES, filter).await, "servicePrincipalFilter");
    let mut not_an_id = base.clone();
    not_an_id["conditions"]["clientApplications"]["includeServicePrincipals"] = json!(["everyone"]);
    assert_bad(&ca.post(POLICIES, not_an_id).await, "includeServicePrincipals");
    let mut only_excluded = base;
    only_excluded["conditions"]["clientApplications"] =
        json!({ "includeServicePrincipals": [], "excludeServicePrincipals": [uuid::Uuid::new_v4()] });
    assert_bad(&ca.post(POLICIES, only_excluded).await, "includeServicePrincipals");
}

#[tokio::test]
async fn workload_identity_policies_block_client_credentials_by_location() {
    let ca = proxied().await;
    let office = id_of(&ca.post(LOCATIONS, ip_location("Office", true)).await.json);
    let created = ca.post(POLICIES, workload_policy(json!(["ServicePrincipalsInMyTenant"]), json!([office]))).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let id = id_of(&created.json);

    // From the office: allowed; the log shows the policy did not apply.
    let r = app_token(&ca, "198.51.100.7", "sp-office").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let row = sp_sign_in_row(&ca, "sp-office").await;
    assert_eq!(row["appliedConditionalAccessPolicies"][0]["result"], "notApplied", "{row}");
    // Elsewhere: AADSTS53003, and the service principal sign-in says which policy failed.
    let r = app_token(&ca, "203.0.113.9", "sp-away").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(aadsts(&r), 53003, "{}", r.text);
    let row = sp_sign_in_row(&ca, "sp-away").await;
    assert_eq!(row["status"]["errorCode"], 53003, "{row}");
    assert_eq!(row["conditionalAccessStatus"], "failure", "{row}");
    assert_eq!(row["appliedConditionalAccessPolicies"][0]["id"], id.as_str(), "{row}");
    assert_eq!(row["appliedConditionalAccessPolicies"][0]["result"], "failure", "{row}");
    // A user signing in from the same place is not a workload: not blocked.
    assert_eq!(ropc(&ca, "203.0.113.9").await.status, StatusCode::OK, "users are out of scope");

    // Excluding the bootstrap application's service principal by id lifts the block.
    let sps = ca.h.get(&format!("/v1.0/servicePrincipals?$filter=appId%20eq%20%27{}%27", ca.h.boot.client_id)).await;
    let sp = sps.json["value"][0]["id"].as_str().expect("service principal").to_string();
    let r = ca
        .patch(
            &format!("{POLICIES}/{id}"),
            json!({ "conditions": {
                "users": { "includeUsers": ["None"] },
                "applications": { "includeApplications": ["All"] },
                "clientApplications": { "includeServicePrincipals": ["ServicePrincipalsInMyTenant"], "excludeServicePrincipals": [sp] },
                "locations": { "includeLocations": ["All"], "excludeLocations": [office] },
            } }),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(app_token(&ca, "203.0.113.9", "sp-excluded").await.status, StatusCode::OK);
    // Naming it instead blocks it again; report-only only records.
    let r = ca
        .patch(
            &format!("{POLICIES}/{id}"),
            json!({ "state": "enabledForReportingButNotEnforced", "conditions": {
                "users": { "includeUsers": ["None"] },
                "applications": { "includeApplications": ["All"] },
                "clientApplications": { "includeServicePrincipals": [sp] },
                "locations": { "includeLocations": ["All"], "excludeLocations": [office] },
            } }),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(app_token(&ca, "203.0.113.9", "sp-report").await.status, StatusCode::OK);
    let row = sp_sign_in_row(&ca, "sp-report").await;
    assert_eq!(row["appliedConditionalAccessPolicies"][0]["result"], "reportOnlyFailure", "{row}");
    let r = ca.patch(&format!("{POLICIES}/{id}"), json!({ "state": "enabled" })).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(aadsts(&app_token(&ca, "203.0.113.9", "sp-named").await), 53003);
}

/// An enabled policy for everyone with only a `signInFrequency` session control.
fn sign_in_frequency(frequency: Value) -> Value {
    json!({
        "displayName": "Sign in again every hour",
        "state": "enabled",
        "conditions": {
            "users": { "includeUsers": ["All"] },
            "applications": { "includeApplications": ["All"] },
        },
        "sessionControls": { "signInFrequency": frequency }
    })
}

/// Moves a user's `signInSessionsValidFromDateTime` back `days` days, as if the account were
/// that old: sign-ins dated earlier today are then not revoked by it (only the sign-in
/// frequency is tested).
async fn sessions_valid_since_days_ago(h: &Harness, user: uuid::Uuid, days: i64) {
    use cerulean_store::{Actor, AuditRecord, Change, Op};
    let tenant = h.tenant();
    let o = h.store.get(tenant, user).await.expect("get").expect("user");
    let mut doc = o.doc.clone();
    let then = time::OffsetDateTime::now_utc() - time::Duration::days(days);
    doc.insert("signInSessionsValidFromDateTime".into(), json!(cerulean_directory::validate::format_datetime(then)));
    let upn = doc.get("userPrincipalName").and_then(Value::as_str).unwrap_or_default().to_lowercase();
    let audit = AuditRecord {
        id: uuid::Uuid::new_v4(),
        at: "2026-01-01T00:00:00Z".into(),
        activity: "Update user".into(),
        category: "UserManagement".into(),
        operation_type: "Update".into(),
        actor: Actor { kind: "system".into(), id: None, display_name: None },
        targets: Vec::new(),
        correlation_id: None,
        result: "success".into(),
    };
    let op = Op::Update { id: user, expected_version: o.version, doc, unique: vec![("upn".into(), upn)] };
    h.store.apply(tenant, Change { ops: vec![op], audit }).await.expect("update");
}

/// Stores a refresh token of the bootstrap administrator for the bootstrap application whose
/// sign-in happened `age` seconds ago (the store's record, as the token endpoint writes it).
async fn aged_refresh_token(h: &Harness, age: i64) -> String {
    let tenant = uuid::Uuid::parse_str(&h.boot.tenant_id).expect("tenant");
    let me = h.get(&format!("/v1.0/users/{}", h.boot.admin_user_principal_name)).await;
    let user = uuid::Uuid::parse_str(&id_of(&me.json)).expect("user");
    let token = cerulean_identity::user_tokens::new_refresh_token(tenant).expect("token");
    let now = time::OffsetDateTime::now_utc();
    let record = cerulean_store::RefreshTokenRecord {
        hash: cerulean_identity::user_tokens::refresh_token_hash(&token),
        family_id: uuid::Uuid::new_v4(),
        user_id: user,
        client_id: h.boot.client_id.clone(),
        scopes: "https://graph.microsoft.com/.default offline_access".into(),
        data: json!({ "auth_time": now.unix_timestamp() - age, "amr": ["pwd"] }),
        created_at: cerulean_directory::validate::format_datetime(now - time::Duration::seconds(age)),
        expires_at: cerulean_directory::validate::format_datetime(now + time::Duration::days(1)),
        used_at: None,
        revoked_at: None,
    };
    h.store.put_refresh_token(tenant, &record).await.expect("put");
    token
}

async fn redeem(h: &Harness, token: &str) -> Reply {
    h.form(
        &format!("/{}/oauth2/v2.0/token", h.boot.tenant_id),
        &[
            ("grant_type", "refresh_token"),
            ("client_id", h.boot.client_id.as_str()),
            ("client_secret", h.boot.client_secret.as_str()),
            ("refresh_token", token),
            ("scope", "https://graph.microsoft.com/.default offline_access"),
        ],
        None,
    )
    .await
}

#[tokio::test]
async fn sign_in_frequency_limits_refresh_tokens() {
    let ca = Ca::new().await;
    let h = &ca.h;
    let hourly = json!({ "isEnabled": true, "type": "hours", "value": 1, "frequencyInterval": "timeBased" });
    let created = ca.post(POLICIES, sign_in_frequency(hourly)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let id = id_of(&created.json);
    let me = h.get(&format!("/v1.0/users/{}", h.boot.admin_user_principal_name)).await;
    sessions_valid_since_days_ago(h, uuid::Uuid::parse_str(&id_of(&me.json)).expect("id"), 5).await;
    // Signed in two hours ago: AADSTS70043.
    let r = redeem(h, &aged_refresh_token(h, 2 * 3600).await).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.json["error"], "invalid_grant", "{}", r.text);
    assert_eq!(aadsts(&r), 70043, "{}", r.text);
    // Ten minutes ago: fine, and the new refresh token keeps the original sign-in time.
    let r = redeem(h, &aged_refresh_token(h, 600).await).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // Every time: five minutes of clock skew are tolerated, ten are not.
    let every = json!({ "isEnabled": true, "frequencyInterval": "everyTime" });
    let r = ca.patch(&format!("{POLICIES}/{id}"), json!({ "sessionControls": { "signInFrequency": every } })).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(aadsts(&redeem(h, &aged_refresh_token(h, 600).await).await), 70043);
    assert_eq!(redeem(h, &aged_refresh_token(h, 60).await).await.status, StatusCode::OK);
    // Report-only: recorded, never enforced.
    let r = ca.patch(&format!("{POLICIES}/{id}"), json!({ "state": "enabledForReportingButNotEnforced" })).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(redeem(h, &aged_refresh_token(h, 3 * 86_400).await).await.status, StatusCode::OK);
    // Validation: hours are 1 to 24, and a time-based frequency needs its unit.
    let bad = json!({ "isEnabled": true, "type": "hours", "value": 25, "frequencyInterval": "timeBased" });
    assert_bad(&ca.post(POLICIES, sign_in_frequency(bad)).await, "value");
    let bad = json!({ "isEnabled": true, "value": 2, "frequencyInterval": "timeBased" });
    assert_bad(&ca.post(POLICIES, sign_in_frequency(bad)).await, "type");
}

#[tokio::test]
async fn sign_in_frequency_renews_the_sso_session_at_authorize() {
    use crate::browser::{Browser, PASSWORD, registered_app};
    let ca = Ca::new().await;
    let h = &ca.h;
    let adele = id_of(&h.user("adele", "Adele Vance").await);
    sessions_valid_since_days_ago(h, uuid::Uuid::parse_str(&adele).expect("id"), 1).await;
    let (client, _) = registered_app(h, Some("User.Read")).await;
    let hourly = json!({ "isEnabled": true, "type": "hours", "value": 1, "frequencyInterval": "timeBased" });
    assert_eq!(ca.post(POLICIES, sign_in_frequency(hourly)).await.status, StatusCode::CREATED);
    let url = |prompt: Option<&str>| authorize_url(h, &client, prompt);
    let mut b = Browser::default();
    let page = b.get(h, &url(None)).await;
    let done = b.sign_in(h, &page, "adele@contoso.onmicrosoft.com", PASSWORD).await;
    assert_eq!(done.status, StatusCode::FOUND, "{}", done.text);
    // A fresh session is reused silently.
    let again = b.get(h, &url(Some("none"))).await;
    assert_eq!(again.status, StatusCode::FOUND, "{}", again.text);
    let location = again.headers.get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    assert!(location.contains("code="), "{location}");

    // The session's sign-in was two hours ago.
    let tenant = uuid::Uuid::parse_str(&h.boot.tenant_id).expect("tenant");
    let cookie = b.cookies.get(&format!("cerulean_sso_{}", tenant.simple())).expect("sso cookie").clone();
    let key = cerulean_identity::user_tokens::refresh_token_hash(&cookie);
    let record = h.store.flow(tenant, "session", &key).await.expect("flow").expect("session");
    let mut data = record.data.clone();
    data["auth_time"] = json!(time::OffsetDateTime::now_utc().unix_timestamp() - 2 * 3600);
    assert!(h.store.update_flow(tenant, "session", &key, &data).await.expect("update"));

    // Silent: interaction_required (AADSTS70044) to the application.
    let silent = b.get(h, &url(Some("none"))).await;
    assert_eq!(silent.status, StatusCode::FOUND, "{}", silent.text);
    let location = silent.headers.get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    assert!(location.contains("error=interaction_required"), "{location}");
    assert!(location.contains("AADSTS70044"), "{location}");
    // Logged as Adele's failed sign-in from the session, with the policy's session control.
    let filter = format!("userId eq '{adele}' and status/errorCode eq 70044").replace(' ', "%20").replace('\'', "%27");
    let rows = h.get(&format!("/beta/auditLogs/signIns?$filter={filter}")).await;
    let row = &rows.json["value"][0];
    assert_eq!(row["authenticationDetails"][0]["authenticationMethod"], "Previously satisfied", "{}", rows.text);
    assert_eq!(row["appliedConditionalAccessPolicies"][0]["enforcedSessionControls"], json!(["SignInFrequency"]));
    // Interactive: the sign-in form again, not a code.
    let page = b.get(h, &url(None)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(page.text.contains("name=\"password\""), "{}", page.text);
    let done = b.sign_in(h, &page, "adele@contoso.onmicrosoft.com", PASSWORD).await;
    assert_eq!(done.status, StatusCode::FOUND, "{}", done.text);
}
