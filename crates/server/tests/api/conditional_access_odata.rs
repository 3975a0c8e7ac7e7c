//! OData on the Conditional Access collections (issue 7): `$filter` (with `isof` on the derived
//! named-location types), `$select` across base and derived types, `$top` paging, `$count`,
//! `$orderby`, and their types in `$metadata`.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{Harness, Reply, id_of};

const LOCATIONS: &str = "/v1.0/identity/conditionalAccess/namedLocations";
const POLICIES: &str = "/v1.0/identity/conditionalAccess/policies";
const EVENTUAL: &[(&str, &str)] = &[("ConsistencyLevel", "eventual")];

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

    async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        self.h.graph_with(Method::GET, path, None, &self.token, headers).await
    }

    async fn get(&self, path: &str) -> Reply {
        self.get_with(path, &[]).await
    }

    async fn post(&self, path: &str, body: Value) -> String {
        let r = self.h.graph_with(Method::POST, path, Some(body), &self.token, &[]).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        id_of(&r.json)
    }
}

fn ip(name: &str, trusted: bool) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.ipNamedLocation",
        "displayName": name,
        "isTrusted": trusted,
        "ipRanges": [{ "@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": "203.0.113.0/24" }]
    })
}

fn country(name: &str) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.countryNamedLocation",
        "displayName": name,
        "countriesAndRegions": ["NO", "SE"]
    })
}

fn policy(name: &str, state: &str) -> Value {
    json!({
        "displayName": name,
        "state": state,
        "conditions": {
            "users": { "includeUsers": ["All"] },
            "applications": { "includeApplications": ["All"] }
        },
        "grantControls": { "operator": "OR", "builtInControls": ["mfa"] }
    })
}

fn q(s: &str) -> String {
    s.replace(' ', "%20").replace('\'', "%27")
}

fn values(r: &Reply) -> Vec<Value> {
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.json["value"].as_array().cloned().unwrap_or_else(|| panic!("no value: {}", r.text))
}

fn names(r: &Reply) -> Vec<String> {
    let mut n: Vec<String> = values(r).iter().filter_map(|v| v["displayName"].as_str().map(str::to_string)).collect();
    n.sort();
    n
}

fn assert_bad(r: &Reply, needle: &str) {
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.message().contains(needle), "expected '{needle}' in {}", r.text);
}

async fn three_locations(ca: &Ca) -> (String, String, String) {
    let hq = ca.post(LOCATIONS, ip("HQ", true)).await;
    let branch = ca.post(LOCATIONS, ip("Branch", false)).await;
    let nordics = ca.post(LOCATIONS, country("Nordics")).await;
    (hq, branch, nordics)
}

#[tokio::test]
async fn named_locations_filter_by_property_and_by_type() {
    let ca = Ca::new().await;
    let (hq, _, _) = three_locations(&ca).await;

    let r = ca.get(&format!("{LOCATIONS}?$filter={}", q("displayName eq 'HQ'"))).await;
    let v = values(&r);
    assert_eq!(v.len(), 1, "{}", r.text);
    assert_eq!(v[0]["id"], hq.as_str());
    assert_eq!(v[0]["@odata.type"], "#microsoft.graph.ipNamedLocation");
    assert_eq!(v[0]["isTrusted"], true, "derived properties are returned: {}", r.text);
    assert_eq!(names(&ca.get(&format!("{LOCATIONS}?$filter={}", q("startswith(displayName,'B')"))).await), ["Branch"]);

    // isof narrows to one derived type, alone or joined with `and` (either side).
    let r = ca.get(&format!("{LOCATIONS}?$filter={}", q("isof('microsoft.graph.ipNamedLocation')"))).await;
    assert_eq!(names(&r), ["Branch", "HQ"]);
    assert!(values(&r).iter().all(|v| v["@odata.type"] == "#microsoft.graph.ipNamedLocation"), "{}", r.text);
    let r = ca.get(&format!("{LOCATIONS}?$filter={}", q("isof('microsoft.graph.countryNamedLocation')"))).await;
    assert_eq!(names(&r), ["Nordics"]);
    assert_eq!(values(&r)[0]["countriesAndRegions"], json!(["NO", "SE"]));
    let both = q("isof('microsoft.graph.ipNamedLocation') and displayName eq 'Branch'");
    assert_eq!(names(&ca.get(&format!("{LOCATIONS}?$filter={both}")).await), ["Branch"]);
    let both = q("displayName eq 'Nordics' and isof('microsoft.graph.ipNamedLocation')");
    assert_eq!(names(&ca.get(&format!("{LOCATIONS}?$filter={both}")).await), Vec::<String>::new());
    // Narrowed by isof, the filter may name that type's own properties; without it, not.
    let trusted = q("isof('microsoft.graph.ipNamedLocation') and isTrusted eq true");
    assert_eq!(names(&ca.get(&format!("{LOCATIONS}?$filter={trusted}")).await), ["HQ"]);
    let r = ca.get(&format!("{LOCATIONS}?$filter={}", q("isTrusted eq true"))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);

    // Errors: a type outside the set, isof under `or`, an undeclared property.
    let r = ca.get(&format!("{LOCATIONS}?$filter={}", q("isof('microsoft.graph.user')"))).await;
    assert_bad(&r, "'user' is not a type of the items");
    let r = ca
        .get(&format!("{LOCATIONS}?$filter={}", q("isof('microsoft.graph.ipNamedLocation') or displayName eq 'x'")))
        .await;
    assert_bad(&r, "isof() is supported alone");
    let r = ca.get(&format!("{LOCATIONS}?$filter={}", q("nope eq 'x'"))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
}

#[tokio::test]
async fn named_locations_select_top_count_and_order() {
    let ca = Ca::new().await;
    let (hq, _, nordics) = three_locations(&ca).await;

    // $select names base and derived properties; each item keeps its @odata.type.
    let r = ca.get(&format!("{LOCATIONS}?$select=displayName,isTrusted,countriesAndRegions")).await;
    let v = values(&r);
    assert_eq!(v.len(), 3);
    for item in &v {
        assert!(item.get("ipRanges").is_none() && item.get("createdDateTime").is_none(), "{}", r.text);
        match item["@odata.type"].as_str() {
            Some("#microsoft.graph.ipNamedLocation") => {
                assert!(item["isTrusted"].is_boolean() && item.get("countriesAndRegions").is_none(), "{item}")
            }
            Some("#microsoft.graph.countryNamedLocation") => {
                assert!(item.get("isTrusted").is_none() && item["countriesAndRegions"].is_array(), "{item}")
            }
            other => panic!("unexpected type {other:?}: {item}"),
        }
    }
    assert!(r.json["@odata.context"].as_str().unwrap_or_default().contains("namedLocations(displayName"), "{}", r.text);
    assert_bad(&ca.get(&format!("{LOCATIONS}?$select=nope")).await, "nope");

    // $select on one location, derived property included.
    let one = ca.get(&format!("{LOCATIONS}/{hq}?$select=isTrusted")).await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.text);
    assert_eq!(one.json["isTrusted"], true);
    assert_eq!(one.json["@odata.type"], "#microsoft.graph.ipNamedLocation");
    assert!(one.json.get("displayName").is_none(), "{}", one.text);
    let one = ca.get(&format!("{LOCATIONS}/{nordics}")).await;
    assert_eq!(one.json["@odata.type"], "#microsoft.graph.countryNamedLocation");
    assert_eq!(one.json["countryLookupMethod"], "clientIpAddress");

    // $top pages with an absolute next link; the pages cover the set once.
    let first = ca.get(&format!("{LOCATIONS}?$top=2")).await;
    assert_eq!(values(&first).len(), 2);
    let next = first.json["@odata.nextLink"].as_str().expect("next link").to_string();
    assert!(next.starts_with("http"), "{next}");
    let path = &next[next.find("/v1.0/").expect("path")..];
    let second = ca.get(path).await;
    assert_eq!(values(&second).len(), 1, "{}", second.text);
    assert!(second.json.get("@odata.nextLink").is_none());
    let mut all: Vec<Value> = values(&first).into_iter().chain(values(&second)).map(|v| v["id"].clone()).collect();
    all.sort_by_key(|v| v.to_string());
    all.dedup();
    assert_eq!(all.len(), 3);

    // $count (as on every collection, with ConsistencyLevel: eventual), and /$count.
    let r = ca.get_with(&format!("{LOCATIONS}?$count=true&$top=1"), EVENTUAL).await;
    assert_eq!(r.json["@odata.count"], 3, "{}", r.text);
    let r = ca.get_with(&format!("{LOCATIONS}/$count"), EVENTUAL).await;
    assert_eq!((r.status, r.text.as_str()), (StatusCode::OK, "3"));
    let filter = q("isof('microsoft.graph.countryNamedLocation')");
    let r = ca.get_with(&format!("{LOCATIONS}/$count?$filter={filter}"), EVENTUAL).await;
    assert_eq!(r.text, "1");

    // $orderby on a sortable base property.
    let r = ca.get(&format!("{LOCATIONS}?$orderby=displayName%20desc")).await;
    let order: Vec<&str> =
        r.json["value"].as_array().expect("value").iter().filter_map(|v| v["displayName"].as_str()).collect();
    assert_eq!(order, ["Nordics", "HQ", "Branch"], "{}", r.text);
}

#[tokio::test]
async fn policies_filter_select_top_count() {
    let ca = Ca::new().await;
    let on = ca.post(POLICIES, policy("MFA for all", "enabled")).await;
    ca.post(POLICIES, policy("Report only", "enabledForReportingButNotEnforced")).await;
    ca.post(POLICIES, policy("Off", "disabled")).await;

    let r = ca.get(&format!("{POLICIES}?$filter={}", q("state eq 'enabled'"))).await;
    let v = values(&r);
    assert_eq!(v.len(), 1, "{}", r.text);
    assert_eq!(v[0]["id"], on.as_str());
    assert!(v[0].get("@odata.type").is_none(), "policies are not polymorphic: {}", r.text);
    assert_eq!(v[0]["grantControls"]["builtInControls"], json!(["mfa"]));
    assert_eq!(names(&ca.get(&format!("{POLICIES}?$filter={}", q("displayName eq 'Off'"))).await), ["Off"]);
    assert_eq!(
        names(
            &ca.get(&format!("{POLICIES}?$filter={}", q("state in ('disabled', 'enabledForReportingButNotEnforced')")))
                .await
        ),
        ["Off", "Report only"]
    );
    // `ne` is an advanced query here as on every collection of the directory.
    let ne = format!("{POLICIES}?$count=true&$filter={}", q("state ne 'enabled'"));
    assert_eq!(ca.get(&ne).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(names(&ca.get_with(&ne, EVENTUAL).await), ["Off", "Report only"]);
    // An enum literal that is not a member is refused.
    assert_eq!(
        ca.get(&format!("{POLICIES}?$filter={}", q("state eq 'sometimes'"))).await.status,
        StatusCode::BAD_REQUEST
    );
    // isof means nothing on a set of one type.
    assert_eq!(
        ca.get(&format!("{POLICIES}?$filter={}", q("isof('microsoft.graph.conditionalAccessPolicy')"))).await.status,
        StatusCode::BAD_REQUEST
    );

    let r = ca.get(&format!("{POLICIES}?$select=displayName,state")).await;
    for item in values(&r) {
        let keys: Vec<&String> = item.as_object().expect("object").keys().collect();
        assert_eq!(keys.len(), 2, "displayName, state: {item}");
        assert!(item["state"].is_string() && item.get("conditions").is_none());
    }
    assert_bad(&ca.get(&format!("{POLICIES}?$select=isTrusted")).await, "isTrusted");

    let first = ca.get(&format!("{POLICIES}?$top=1")).await;
    assert_eq!(values(&first).len(), 1);
    assert!(first.json["@odata.nextLink"].is_string(), "{}", first.text);
    let r = ca.get_with(&format!("{POLICIES}?$count=true&$filter={}", q("state eq 'disabled'")), EVENTUAL).await;
    assert_eq!(r.json["@odata.count"], 1, "{}", r.text);
    let r = ca.get_with(&format!("{POLICIES}/$count"), EVENTUAL).await;
    assert_eq!(r.text, "3");
    let r = ca.get(&format!("{POLICIES}?$top=0")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
}

#[tokio::test]
async fn metadata_lists_the_conditional_access_types() {
    let ca = Ca::new().await;
    let r = ca.h.get("/v1.0/$metadata").await;
    assert_eq!(r.status, StatusCode::OK);
    for needle in [
        "<EntityType Name=\"policyDeletableItem\" Abstract=\"true\">",
        "<EntityType Name=\"namedLocation\" BaseType=\"graph.policyDeletableItem\">",
        "<EntityType Name=\"ipNamedLocation\" BaseType=\"graph.namedLocation\">",
        "<EntityType Name=\"countryNamedLocation\" BaseType=\"graph.namedLocation\">",
        "<EntityType Name=\"conditionalAccessPolicy\" BaseType=\"graph.policyDeletableItem\">",
        "<ComplexType Name=\"ipRange\" Abstract=\"true\" />",
        "<ComplexType Name=\"iPv4CidrRange\" BaseType=\"graph.ipRange\">",
        "<ComplexType Name=\"conditionalAccessConditionSet\">",
        "<ComplexType Name=\"signInFrequencySessionControl\" BaseType=\"graph.conditionalAccessSessionControl\">",
        "<EnumType Name=\"conditionalAccessPolicyState\">",
        "<Property Name=\"state\" Type=\"microsoft.graph.conditionalAccessPolicyState\" Nullable=\"false\" />",
    ] {
        assert!(r.text.contains(needle), "{needle} is not in $metadata");
    }
}
