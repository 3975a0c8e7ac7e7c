//! Conditional Access writes as SDK users make them: a policy or named location read with GET
//! and written back whole (declared properties Cerulean returns as `null` included), Graph's
//! "Use all conditions and controls" example (conditionalaccessroot-post-policies, Example 3)
//! minus what Cerulean cannot enforce, `null` for optional named-location members, and ipRange
//! `@odata.type` in any case.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{Harness, Reply, id_of};

const LOCATIONS: &str = "/v1.0/identity/conditionalAccess/namedLocations";
const POLICIES: &str = "/v1.0/identity/conditionalAccess/policies";

struct Ca {
    h: Harness,
    token: String,
}

impl Ca {
    async fn new() -> Ca {
        let h = Harness::new().await;
        let token = h.sign(h.claims(&["Policy.ReadWrite.ConditionalAccess", "Policy.Read.All"])).await;
        Ca { h, token }
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        self.h.graph_with(method, path, body, &self.token, &[]).await
    }
}

fn office() -> Value {
    json!({
        "@odata.type": "#microsoft.graph.ipNamedLocation",
        "displayName": "Office",
        "isTrusted": true,
        "ipRanges": [{ "@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": "198.51.100.0/24" }]
    })
}

/// Graph's Example 3 body, with `location` for the example's named location and without
/// `termsOfUse` and `cloudAppSecurity` (refused: Cerulean enforces neither).
fn all_conditions(location: &str) -> Value {
    json!({
        "displayName": "Demo app for documentation",
        "state": "disabled",
        "conditions": {
            "signInRiskLevels": ["high", "medium"],
            "clientAppTypes": ["mobileAppsAndDesktopClients", "exchangeActiveSync", "other"],
            "applications": {
                "includeApplications": ["All"],
                "excludeApplications": [
                    "499b84ac-1321-427f-aa17-267ca6975798",
                    "00000007-0000-0000-c000-000000000000",
                    "de8bc8b5-d9f9-48b1-a8ad-b748da725064",
                    "00000012-0000-0000-c000-000000000000",
                    "797f4846-ba00-4fd7-ba43-dac1f8f63013",
                    "05a65629-4c1b-48c1-a78b-804c4abdd4af",
                    "7df0a125-d3be-4c96-aa54-591f83ff541c"
                ],
                "includeUserActions": []
            },
            "users": {
                "includeUsers": ["a702a13d-a437-4a07-8a7e-8c052de62dfd"],
                "excludeUsers": ["124c5b6a-ffa5-483a-9b88-04c3fce5574a", "GuestsOrExternalUsers"],
                "includeGroups": [],
                "excludeGroups": [],
                "includeRoles": [
                    "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
                    "cf1c38e5-3621-4004-a7cb-879624dced7c",
                    "c4e39bd9-1100-46d3-8c65-fb160da0071f"
                ],
                "excludeRoles": ["b0f54661-2d74-4c50-afa3-1ec803f12efe"]
            },
            "platforms": { "includePlatforms": ["all"], "excludePlatforms": ["iOS", "windowsPhone"] },
            "locations": {
                "includeLocations": ["AllTrusted"],
                "excludeLocations": ["00000000-0000-0000-0000-000000000000", location]
            }
        },
        "grantControls": {
            "operator": "OR",
            "builtInControls": ["mfa", "compliantDevice", "domainJoinedDevice", "approvedApplication", "compliantApplication"],
            "customAuthenticationFactors": []
        },
        "sessionControls": {
            "applicationEnforcedRestrictions": null,
            "persistentBrowser": null,
            "signInFrequency": { "value": 4, "type": "hours", "isEnabled": true }
        }
    })
}

#[tokio::test]
async fn graphs_all_conditions_example_is_accepted() {
    let ca = Ca::new().await;
    let loc = ca.call(Method::POST, LOCATIONS, Some(office())).await;
    assert_eq!(loc.status, StatusCode::CREATED, "{}", loc.text);
    let loc = id_of(&loc.json);
    let r = ca.call(Method::POST, POLICIES, Some(all_conditions(&loc))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(
        r.json["conditions"]["locations"]["excludeLocations"],
        json!(["00000000-0000-0000-0000-000000000000", loc])
    );
    assert_eq!(r.json["sessionControls"]["persistentBrowser"], Value::Null);

    // What Cerulean does not enforce stays refused, clearly.
    let mut body = all_conditions(&loc);
    body["sessionControls"]["cloudAppSecurity"] =
        json!({ "cloudAppSecurityType": "blockDownloads", "isEnabled": true });
    let r = ca.call(Method::POST, POLICIES, Some(body)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.message().contains("'cloudAppSecurity' is not supported"), "{}", r.text);
    let mut body = all_conditions(&loc);
    body["conditions"]["devices"] =
        json!({ "deviceFilter": { "mode": "include", "rule": "device.isCompliant -eq True" } });
    let r = ca.call(Method::POST, POLICIES, Some(body)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.message().contains("'devices' is not supported"), "{}", r.text);
    // A property no type declares is still Graph's unknown-property error, even as null.
    let mut body = all_conditions(&loc);
    body["sessionControls"]["teleport"] = Value::Null;
    let r = ca.call(Method::POST, POLICIES, Some(body)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.message().contains("'teleport' does not exist"), "{}", r.text);
    // Only the all-zero id is a built-in location; another unknown id is still 1040.
    let mut body = all_conditions(&loc);
    body["conditions"]["locations"]["excludeLocations"] = json!([uuid::Uuid::new_v4().to_string()]);
    let r = ca.call(Method::POST, POLICIES, Some(body)).await;
    assert!(r.message().contains("1040"), "{}", r.text);
}

#[tokio::test]
async fn a_policy_read_with_get_can_be_written_back() {
    let ca = Ca::new().await;
    let loc = id_of(&ca.call(Method::POST, LOCATIONS, Some(office())).await.json);
    let created = ca.call(Method::POST, POLICIES, Some(all_conditions(&loc))).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let id = id_of(&created.json);
    let got = ca.call(Method::GET, &format!("{POLICIES}/{id}"), None).await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    // The GET body names the declared properties Cerulean keeps empty.
    for path in [
        &["conditions", "devices"][..],
        &["conditions", "users", "includeGuestsOrExternalUsers"],
        &["conditions", "applications", "applicationFilter"],
        &["sessionControls", "cloudAppSecurity"],
        &["sessionControls", "secureSignInSession"],
    ] {
        let v = path.iter().fold(&got.json, |v, k| &v[*k]);
        assert!(v.is_null(), "{path:?}");
        let parent = path[..path.len() - 1].iter().fold(&got.json, |v, k| &v[*k]);
        assert!(parent.as_object().is_some_and(|o| o.contains_key(path[path.len() - 1])), "{path:?}: {}", got.text);
    }

    // PATCH the whole GET body back, with one change.
    let mut body = got.json.clone();
    body["state"] = json!("enabledForReportingButNotEnforced");
    let r = ca.call(Method::PATCH, &format!("{POLICIES}/{id}"), Some(body)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let again = ca.call(Method::GET, &format!("{POLICIES}/{id}"), None).await;
    assert_eq!(again.json["state"], "enabledForReportingButNotEnforced");
    assert_eq!(again.json["conditions"], got.json["conditions"]);

    // POST a copy of it (without id and dates).
    let mut copy = got.json.clone();
    let o = copy.as_object_mut().expect("object");
    for k in ["@odata.context", "id", "createdDateTime", "modifiedDateTime"] {
        o.remove(k);
    }
    o.insert("displayName".into(), json!("Copy"));
    let r = ca.call(Method::POST, POLICIES, Some(copy)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.json["conditions"], got.json["conditions"]);
}

#[tokio::test]
async fn named_locations_take_nulls_and_any_case_ip_range_types() {
    let ca = Ca::new().await;
    let ip = json!({
        "@odata.type": "#microsoft.graph.ipNamedLocation",
        "displayName": "Any case",
        "isTrusted": null,
        "ipRanges": [
            { "@odata.type": "#microsoft.graph.IPv4CidrRange", "cidrAddress": "198.51.100.0/24" },
            { "@odata.type": "#Microsoft.Graph.ipv6cidrrange", "cidrAddress": "2001:db8::/32" }
        ]
    });
    let r = ca.call(Method::POST, LOCATIONS, Some(ip)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.json["isTrusted"], false);
    assert_eq!(r.json["ipRanges"][0]["@odata.type"], "#microsoft.graph.iPv4CidrRange");
    assert_eq!(r.json["ipRanges"][1]["@odata.type"], "#microsoft.graph.iPv6CidrRange");
    let id = id_of(&r.json);
    // The GET body PATCHed back.
    let got = ca.call(Method::GET, &format!("{LOCATIONS}/{id}"), None).await;
    let r = ca.call(Method::PATCH, &format!("{LOCATIONS}/{id}"), Some(got.json.clone())).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);

    let country = json!({
        "@odata.type": "#microsoft.graph.countryNamedLocation",
        "displayName": "Nordics",
        "countriesAndRegions": ["NO", "SE"],
        "includeUnknownCountriesAndRegions": null,
        "countryLookupMethod": null
    });
    let r = ca.call(Method::POST, LOCATIONS, Some(country)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.json["includeUnknownCountriesAndRegions"], false);
    assert_eq!(r.json["countryLookupMethod"], "clientIpAddress");
    let id = id_of(&r.json);
    let got = ca.call(Method::GET, &format!("{LOCATIONS}/{id}"), None).await;
    let r = ca.call(Method::PATCH, &format!("{LOCATIONS}/{id}"), Some(got.json.clone())).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
}
