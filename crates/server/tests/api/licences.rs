//! Licences: the tenant's subscribed SKUs, `assignLicense` on users (with Entra's errors) and
//! on groups (inherited by direct members only), `licenseDetails`, units, dynamic groups on
//! `assignedPlans`, and the permissions of each route.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{Harness, Reply, id_of};

const E3: &str = "6fd2c87f-b296-42f0-b197-1e91e994b900";
const P2: &str = "84a661c4-e949-4bd2-a560-ed7766fcaf2b";
const EXCHANGE: &str = "efb87545-963c-4e0d-99df-69c6916d9eb0";
const SWAY: &str = "a23b959c-7ce8-4e57-9140-b90eb88a9e97";
const AAD_P2_PLAN: &str = "eec0eb4f-6444-4f95-aba0-50c24d67f998";
const MFA: &str = "8a256a2b-b617-496d-b51b-e76466e88db0";
/// A SKU of the test fixture with a single unit.
const ONE_UNIT: &str = "0b5e7c2a-9a43-4b1c-8d35-1f4e2a6c7d01";
const ONE_UNIT_PLAN: &str = "5c1b8a11-6c2e-4f0a-9d77-3a2b1c0d9e8f";

async fn user_in(h: &Harness, alias: &str, location: Option<&str>) -> String {
    let user = h.user(alias, alias).await;
    let id = id_of(&user);
    if let Some(l) = location {
        let r = h.patch(&format!("/v1.0/users/{id}"), json!({"usageLocation": l})).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    }
    id
}

async fn assign(h: &Harness, user: &str, add: Value, remove: Value) -> Reply {
    h.post(&format!("/v1.0/users/{user}/assignLicense"), json!({"addLicenses": add, "removeLicenses": remove})).await
}

async fn licences_of(h: &Harness, user: &str) -> Value {
    let r = h
        .get(&format!(
            "/v1.0/users/{user}?$select=assignedLicenses,assignedPlans,provisionedPlans,licenseAssignmentStates"
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.json
}

fn skus_of(user: &Value) -> Vec<String> {
    let mut v: Vec<String> = user["assignedLicenses"]
        .as_array()
        .expect("assignedLicenses")
        .iter()
        .map(|l| l["skuId"].as_str().expect("skuId").to_string())
        .collect();
    v.sort();
    v
}

fn plan<'a>(user: &'a Value, id: &str) -> Option<&'a Value> {
    user["assignedPlans"].as_array()?.iter().find(|p| p["servicePlanId"] == json!(id))
}

async fn members(h: &Harness, group: &str) -> Vec<String> {
    let r = h.get(&format!("/v1.0/groups/{group}/members")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.json["value"].as_array().expect("value").iter().map(id_of).collect()
}

async fn consumed(h: &Harness, sku: &str) -> i64 {
    let r = h.get(&format!("/v1.0/subscribedSkus/{}_{sku}", h.tenant())).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.json["consumedUnits"].as_i64().expect("consumedUnits")
}

async fn import(h: &Harness, fixture: &Value) {
    cerulean::fixture::import_into(&h.app, h.store.as_ref(), &h.dir, fixture, None, "contoso.onmicrosoft.com")
        .await
        .expect("import");
}

/// A fixture SKU with one unit, for exhaustion.
fn one_unit_fixture() -> Value {
    json!({"subscribedSkus": [
        {"skuId": ONE_UNIT, "skuPartNumber": "CERULEAN_TEST_SKU", "prepaidUnits": {"enabled": 1},
         "servicePlans": [{"servicePlanId": ONE_UNIT_PLAN, "servicePlanName": "TEST_PLAN", "service": "CeruleanTest"}]},
        {"skuPartNumber": "ENTERPRISEPACK"}
    ]})
}

#[tokio::test]
async fn a_fresh_tenant_subscribes_to_real_skus() {
    let h = Harness::new().await;
    let r = h.get("/v1.0/subscribedSkus").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.json["@odata.context"].as_str().unwrap().ends_with("/v1.0/$metadata#subscribedSkus"));
    let skus = r.json["value"].as_array().expect("value");
    let e3 = skus.iter().find(|s| s["skuPartNumber"] == json!("ENTERPRISEPACK")).expect("E3");
    assert_eq!(e3["id"], json!(format!("{}_{E3}", h.tenant())));
    assert_eq!(e3["skuId"], json!(E3));
    assert_eq!(e3["capabilityStatus"], json!("Enabled"));
    assert_eq!(e3["appliesTo"], json!("User"));
    assert_eq!(e3["consumedUnits"], json!(0));
    assert_eq!(e3["prepaidUnits"], json!({"enabled": 25, "suspended": 0, "warning": 0, "lockedOut": 0}));
    assert_eq!(e3["accountId"], json!(h.tenant().to_string()));
    let plans = e3["servicePlans"].as_array().expect("servicePlans");
    assert!(plans.len() >= 6);
    let exchange = plans.iter().find(|p| p["servicePlanId"] == json!(EXCHANGE)).expect("exchange");
    assert_eq!(
        exchange,
        &json!({"servicePlanId": EXCHANGE, "servicePlanName": "EXCHANGE_S_ENTERPRISE", "provisioningStatus": "Success", "appliesTo": "User"})
    );
    assert!(e3.get("planServices").is_none() && e3.get("createdDateTime").is_none());
    assert!(skus.iter().any(|s| s["skuPartNumber"] == json!("AAD_PREMIUM_P2") && s["skuId"] == json!(P2)));

    // One SKU, by `{tenantId}_{skuId}`, with `$select`.
    let one = h.get(&format!("/v1.0/subscribedSkus/{}_{P2}?$select=skuPartNumber,consumedUnits", h.tenant())).await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.text);
    assert_eq!(one.json["skuPartNumber"], json!("AAD_PREMIUM_P2"));
    assert!(one.json.get("servicePlans").is_none());
    assert!(one.json["@odata.context"].as_str().unwrap().contains("subscribedSkus(skuPartNumber,consumedUnits)"));

    // Another tenant's id, an unknown SKU, garbage: not found.
    for key in
        [format!("{}_{E3}", uuid::Uuid::new_v4()), format!("{}_{}", h.tenant(), uuid::Uuid::new_v4()), "x".into()]
    {
        let r = h.get(&format!("/v1.0/subscribedSkus/{key}")).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{key}: {}", r.text);
        assert_eq!(r.code(), "Request_ResourceNotFound");
    }
    // Stored as an object, but not a directory object.
    let r = h.get(&format!("/v1.0/directoryObjects/{E3}")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let bad = h.get("/v1.0/subscribedSkus?$select=nope").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text);
}

#[tokio::test]
async fn assign_license_refuses_what_entra_refuses() {
    let h = Harness::new().await;
    let nowhere = user_in(&h, "nowhere", None).await;
    let user = user_in(&h, "adele", Some("US")).await;

    // Both parameters are required.
    let r = h.post(&format!("/v1.0/users/{user}/assignLicense"), json!({"removeLicenses": []})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.code(), "Request_BadRequest");
    assert_eq!(
        r.message(),
        "One or more parameters of the operation 'assignLicense' are missing from the request payload. The missing parameters are: addLicenses."
    );
    // A usage location is required to assign.
    let r = assign(&h, &nowhere, json!([{"skuId": E3, "disabledPlans": []}]), json!([])).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.message(), "License assignment cannot be done for user with invalid usage location.");
    // A SKU the tenant does not subscribe to, to add or to remove.
    let unknown = uuid::Uuid::new_v4();
    for (add, remove) in [(json!([{"skuId": unknown}]), json!([])), (json!([]), json!([unknown]))] {
        let r = assign(&h, &user, add, remove).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
        assert_eq!(r.message(), format!("License {unknown} does not correspond to a valid company License."));
    }
    // A disabled plan that is not a plan of the SKU.
    let r = assign(&h, &user, json!([{"skuId": E3, "disabledPlans": [AAD_P2_PLAN]}]), json!([])).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.message().contains(AAD_P2_PLAN), "{}", r.text);
    // Not GUIDs.
    let r = assign(&h, &user, json!([{"skuId": "E3"}]), json!([])).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    // Removing a licence the user does not hold.
    let r = assign(&h, &user, json!([]), json!([E3])).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.message().starts_with("User does not have a corresponding license"), "{}", r.text);
    // Unknown user.
    let r = assign(&h, &uuid::Uuid::new_v4().to_string(), json!([]), json!([])).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    // Nothing was assigned on the way.
    assert_eq!(skus_of(&licences_of(&h, &user).await), Vec::<String>::new());
    assert_eq!(consumed(&h, E3).await, 0);
}

#[tokio::test]
async fn assign_license_sets_licences_plans_and_details() {
    let h = Harness::new().await;
    let user = user_in(&h, "adele", Some("GB")).await;
    let r = assign(&h, &user, json!([{"skuId": E3, "disabledPlans": [SWAY]}, {"skuId": P2}]), json!([])).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["id"], json!(user));
    assert!(r.json["@odata.context"].as_str().unwrap().ends_with("$metadata#users/$entity"));

    let u = licences_of(&h, &user).await;
    assert_eq!(skus_of(&u), {
        let mut v = vec![E3.to_string(), P2.to_string()];
        v.sort();
        v
    });
    let e3 = u["assignedLicenses"].as_array().unwrap().iter().find(|l| l["skuId"] == json!(E3)).unwrap();
    assert_eq!(e3["disabledPlans"], json!([SWAY]));
    let exchange = plan(&u, EXCHANGE).expect("exchange plan");
    assert_eq!(exchange["capabilityStatus"], json!("Enabled"));
    assert_eq!(exchange["service"], json!("exchange"));
    assert!(exchange["assignedDateTime"].as_str().unwrap().ends_with('Z'));
    assert!(plan(&u, SWAY).is_none(), "a disabled plan is not assigned");
    assert!(plan(&u, AAD_P2_PLAN).is_some());
    let provisioned = u["provisionedPlans"].as_array().unwrap();
    assert!(
        provisioned.iter().any(|p| p
            == &json!({"capabilityStatus": "Enabled", "provisioningStatus": "Success", "service": "MicrosoftOffice"}))
    );
    let states = u["licenseAssignmentStates"].as_array().unwrap();
    assert_eq!(states.len(), 2);
    assert!(states.iter().all(|s| s["assignedByGroup"].is_null() && s["state"] == json!("Active")));
    assert_eq!(consumed(&h, E3).await, 1);
    // `$filter` on the licences, as Graph allows.
    let r = h.get(&format!("/v1.0/users?$filter=assignedLicenses/any(x:x/skuId%20eq%20{E3})")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["value"].as_array().unwrap().len(), 1);

    // licenseDetails: one per SKU, the disabled plan `Disabled`.
    let r = h.get(&format!("/v1.0/users/{user}/licenseDetails")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.json["@odata.context"].as_str().unwrap().contains("licenseDetails"));
    let details = r.json["value"].as_array().unwrap();
    assert_eq!(details.len(), 2);
    let d = details.iter().find(|d| d["skuId"] == json!(E3)).unwrap();
    assert_eq!(d["skuPartNumber"], json!("ENTERPRISEPACK"));
    let status = |id: &str| {
        d["servicePlans"].as_array().unwrap().iter().find(|p| p["servicePlanId"] == json!(id)).unwrap()
            ["provisioningStatus"]
            .clone()
    };
    assert_eq!(status(SWAY), json!("Disabled"));
    assert_eq!(status(EXCHANGE), json!("Success"));
    let detail_id = d["id"].as_str().unwrap();
    let one = h.get(&format!("/v1.0/users/{user}/licenseDetails/{detail_id}")).await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.text);
    assert_eq!(one.json["skuId"], json!(E3));
    let missing = h.get(&format!("/v1.0/users/{user}/licenseDetails/nope")).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND, "{}", missing.text);

    // Re-adding replaces the disabled plans; removing leaves the plans `Deleted`.
    let r = assign(&h, &user, json!([{"skuId": E3, "disabledPlans": []}]), json!([P2])).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let u = licences_of(&h, &user).await;
    assert_eq!(skus_of(&u), vec![E3.to_string()]);
    assert_eq!(plan(&u, SWAY).unwrap()["capabilityStatus"], json!("Enabled"));
    assert_eq!(plan(&u, AAD_P2_PLAN).unwrap()["capabilityStatus"], json!("Deleted"));
    assert_eq!(plan(&u, EXCHANGE).unwrap()["assignedDateTime"], exchange["assignedDateTime"]);
    assert_eq!(consumed(&h, P2).await, 0);
    // Removing needs no usage location.
    let r = h.patch(&format!("/v1.0/users/{user}"), json!({"usageLocation": null})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = assign(&h, &user, json!([]), json!([E3])).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(consumed(&h, E3).await, 0);
    // A deleted user frees its units.
    let other = user_in(&h, "megan", Some("US")).await;
    assert_eq!(assign(&h, &other, json!([{"skuId": E3}]), json!([])).await.status, StatusCode::OK);
    assert_eq!(consumed(&h, E3).await, 1);
    assert_eq!(h.delete(&format!("/v1.0/users/{other}")).await.status, StatusCode::NO_CONTENT);
    assert_eq!(consumed(&h, E3).await, 0);
}

#[tokio::test]
async fn units_run_out() {
    let h = Harness::new().await;
    import(&h, &one_unit_fixture()).await;
    // Importing again changes nothing.
    import(&h, &one_unit_fixture()).await;
    let r = h.get("/v1.0/subscribedSkus").await;
    let skus = r.json["value"].as_array().unwrap();
    assert_eq!(skus.iter().filter(|s| s["skuPartNumber"] == json!("ENTERPRISEPACK")).count(), 1);
    let test = skus.iter().find(|s| s["skuId"] == json!(ONE_UNIT)).expect("fixture SKU");
    assert_eq!(test["prepaidUnits"]["enabled"], json!(1));
    assert_eq!(test["servicePlans"][0]["servicePlanName"], json!("TEST_PLAN"));

    let first = user_in(&h, "first", Some("US")).await;
    let second = user_in(&h, "second", Some("US")).await;
    assert_eq!(assign(&h, &first, json!([{"skuId": ONE_UNIT}]), json!([])).await.status, StatusCode::OK);
    assert_eq!(plan(&licences_of(&h, &first).await, ONE_UNIT_PLAN).unwrap()["service"], json!("CeruleanTest"));
    let r = assign(&h, &second, json!([{"skuId": ONE_UNIT}]), json!([])).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.code(), "Request_BadRequest");
    assert_eq!(r.message(), format!("Subscription with SKU {ONE_UNIT} does not have any available licenses."));
    // The holder may re-assign (different disabled plans) without a second unit.
    let r = assign(&h, &first, json!([{"skuId": ONE_UNIT, "disabledPlans": [ONE_UNIT_PLAN]}]), json!([])).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(consumed(&h, ONE_UNIT).await, 1);

    // Through a group, the exhausted licence is an error state on the member, not a failure.
    let group = id_of(&h.group("licensed", "Licensed").await);
    let r = h
        .post(
            &format!("/v1.0/groups/{group}/assignLicense"),
            json!({"addLicenses": [{"skuId": ONE_UNIT}], "removeLicenses": []}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let add = h
        .post(
            &format!("/v1.0/groups/{group}/members/$ref"),
            json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{second}")}),
        )
        .await;
    assert_eq!(add.status, StatusCode::NO_CONTENT, "{}", add.text);
    let u = licences_of(&h, &second).await;
    assert!(skus_of(&u).is_empty());
    let s = &u["licenseAssignmentStates"][0];
    assert_eq!(s["state"], json!("Error"));
    assert_eq!(s["error"], json!("CountViolation"));
    assert_eq!(s["assignedByGroup"], json!(group));
    assert_eq!(consumed(&h, ONE_UNIT).await, 1);
}

#[tokio::test]
async fn group_licences_follow_direct_membership() {
    let h = Harness::new().await;
    let group = id_of(&h.group("e5-users", "P2 users").await);
    let nested = id_of(&h.group("nested", "Nested").await);
    // No usage location needed for inherited licences.
    let member = user_in(&h, "member", None).await;
    let deep = user_in(&h, "deep", None).await;
    let bind = |id: &str| json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{id}")});
    for (g, m) in [(&group, &member), (&group, &nested), (&nested, &deep)] {
        let r = h.post(&format!("/v1.0/groups/{g}/members/$ref"), bind(m)).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    }
    let r = h
        .post(
            &format!("/v1.0/groups/{group}/assignLicense"),
            json!({"addLicenses": [{"skuId": P2, "disabledPlans": [MFA]}], "removeLicenses": []}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    assert_eq!(r.json["id"], json!(group));
    let g = h.get(&format!("/v1.0/groups/{group}?$select=assignedLicenses")).await;
    assert_eq!(g.json["assignedLicenses"], json!([{"disabledPlans": [MFA], "skuId": P2}]));

    let u = licences_of(&h, &member).await;
    assert_eq!(skus_of(&u), vec![P2.to_string()]);
    assert!(plan(&u, MFA).is_none());
    let s = &u["licenseAssignmentStates"][0];
    assert_eq!((s["assignedByGroup"].clone(), s["state"].clone()), (json!(group), json!("Active")));
    // Nested groups' members do not inherit ("group-based licensing": direct members only).
    assert!(skus_of(&licences_of(&h, &deep).await).is_empty());
    assert_eq!(consumed(&h, P2).await, 1);
    // An inherited licence cannot be removed from the user directly.
    let r = assign(&h, &member, json!([]), json!([P2])).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(
        r.message(),
        "User license is inherited from a group membership and it cannot be removed directly from the user."
    );
    // A direct assignment alongside: the plans disabled by both sources only.
    let r = h.patch(&format!("/v1.0/users/{member}"), json!({"usageLocation": "FR"})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(assign(&h, &member, json!([{"skuId": P2}]), json!([])).await.status, StatusCode::OK);
    let u = licences_of(&h, &member).await;
    assert_eq!(u["assignedLicenses"], json!([{"disabledPlans": [], "skuId": P2}]));
    assert_eq!(plan(&u, MFA).unwrap()["capabilityStatus"], json!("Enabled"));
    assert_eq!(consumed(&h, P2).await, 1);
    assert_eq!(assign(&h, &member, json!([]), json!([P2])).await.status, StatusCode::OK);

    // Leaving the group takes the licence away; joining gives it.
    let r = h.delete(&format!("/v1.0/groups/{group}/members/{member}/$ref")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let u = licences_of(&h, &member).await;
    assert!(skus_of(&u).is_empty());
    assert_eq!(u["licenseAssignmentStates"], json!([]));
    assert_eq!(plan(&u, AAD_P2_PLAN).unwrap()["capabilityStatus"], json!("Deleted"));
    let r = h.post(&format!("/v1.0/groups/{group}/members/$ref"), bind(&member)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(skus_of(&licences_of(&h, &member).await), vec![P2.to_string()]);

    // Errors: removing a licence the group lacks, an unknown SKU, a non-security group.
    let r = h
        .post(&format!("/v1.0/groups/{group}/assignLicense"), json!({"addLicenses": [], "removeLicenses": [E3]}))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let unknown = uuid::Uuid::new_v4();
    let r = h
        .post(
            &format!("/v1.0/groups/{group}/assignLicense"),
            json!({"addLicenses": [{"skuId": unknown}], "removeLicenses": []}),
        )
        .await;
    assert_eq!(r.message(), format!("License {unknown} does not correspond to a valid company License."));
    let r = h.post(&format!("/v1.0/groups/{group}/assignLicense"), json!({"addLicenses": []})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let unified = h
        .post(
            "/v1.0/groups",
            json!({"displayName": "Team", "mailEnabled": true, "mailNickname": "team", "securityEnabled": false, "groupTypes": ["Unified"]}),
        )
        .await;
    assert_eq!(unified.status, StatusCode::CREATED, "{}", unified.text);
    let r = h
        .post(
            &format!("/v1.0/groups/{}/assignLicense", id_of(&unified.json)),
            json!({"addLicenses": [{"skuId": P2}], "removeLicenses": []}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);

    // Removing the group's licence, then deleting the group: members lose what it gave.
    let other = id_of(&h.group("other", "Other").await);
    let r = h
        .post(
            &format!("/v1.0/groups/{other}/assignLicense"),
            json!({"addLicenses": [{"skuId": E3}], "removeLicenses": []}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert_eq!(
        h.post(&format!("/v1.0/groups/{other}/members/$ref"), bind(&member)).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(skus_of(&licences_of(&h, &member).await).len(), 2);
    let r = h
        .post(&format!("/v1.0/groups/{group}/assignLicense"), json!({"addLicenses": [], "removeLicenses": [P2]}))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    assert_eq!(skus_of(&licences_of(&h, &member).await), vec![E3.to_string()]);
    assert_eq!(h.delete(&format!("/v1.0/groups/{other}")).await.status, StatusCode::NO_CONTENT);
    assert!(skus_of(&licences_of(&h, &member).await).is_empty());
    assert_eq!(consumed(&h, E3).await, 0);
}

#[tokio::test]
async fn dynamic_groups_see_the_assigned_plans() {
    let h = Harness::new().await;
    let rule = format!(
        "user.assignedPlans -any (assignedPlan.servicePlanId -eq \"{AAD_P2_PLAN}\" -and assignedPlan.capabilityStatus -eq \"Enabled\")"
    );
    let r = h
        .post(
            "/v1.0/groups",
            json!({"displayName": "P2 holders", "mailEnabled": false, "mailNickname": "p2holders", "securityEnabled": true,
                   "groupTypes": ["DynamicMembership"], "membershipRule": rule, "membershipRuleProcessingState": "On"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let dynamic = id_of(&r.json);
    let user = user_in(&h, "adele", Some("US")).await;
    assert!(members(&h, &dynamic).await.is_empty());
    assert_eq!(assign(&h, &user, json!([{"skuId": P2}]), json!([])).await.status, StatusCode::OK);
    assert_eq!(members(&h, &dynamic).await, vec![user.clone()]);
    // Disabling the plan is not holding it.
    assert_eq!(
        assign(&h, &user, json!([{"skuId": P2, "disabledPlans": [AAD_P2_PLAN]}]), json!([])).await.status,
        StatusCode::OK
    );
    assert!(members(&h, &dynamic).await.is_empty());

    // Through a group's licence too.
    let group = id_of(&h.group("licensed", "Licensed").await);
    let r = h
        .post(
            &format!("/v1.0/groups/{group}/assignLicense"),
            json!({"addLicenses": [{"skuId": P2}], "removeLicenses": []}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let other = user_in(&h, "megan", None).await;
    let bind = json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{other}")});
    assert_eq!(h.post(&format!("/v1.0/groups/{group}/members/$ref"), bind).await.status, StatusCode::NO_CONTENT);
    assert_eq!(members(&h, &dynamic).await, vec![other]);
}

#[tokio::test]
async fn licence_routes_need_their_permissions() {
    let h = Harness::new().await;
    let user = user_in(&h, "adele", Some("US")).await;
    let token = |roles: &'static [&'static str]| {
        let h = &h;
        async move { h.sign(h.claims(roles)).await }
    };
    let body = json!({"addLicenses": [{"skuId": E3}], "removeLicenses": []});
    let call = |t: String, m: Method, p: String, b: Option<Value>| {
        let h = &h;
        async move { h.graph_with(m, &p, b, &t, &[]).await }
    };
    let reader = token(&["User.Read.All"]).await;
    let r = call(reader.clone(), Method::POST, format!("/v1.0/users/{user}/assignLicense"), Some(body.clone())).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r = call(reader.clone(), Method::GET, "/v1.0/subscribedSkus".into(), None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    // User.Read.All reads licence details.
    let r = call(reader, Method::GET, format!("/v1.0/users/{user}/licenseDetails"), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    let licensing = token(&["LicenseAssignment.ReadWrite.All"]).await;
    let r = call(licensing, Method::POST, format!("/v1.0/users/{user}/assignLicense"), Some(body)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let org = token(&["Organization.Read.All"]).await;
    let r = call(org.clone(), Method::GET, "/v1.0/subscribedSkus".into(), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        r.json["value"].as_array().unwrap().iter().find(|s| s["skuId"] == json!(E3)).unwrap()["consumedUnits"],
        json!(1)
    );
    let r = call(org, Method::GET, format!("/v1.0/users/{user}/licenseDetails"), None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
}

#[tokio::test]
async fn me_license_details() {
    let h = Harness::new().await;
    let token = crate::devices::admin_delegated(&h).await;
    let admin = h.get(&format!("/v1.0/users/{}", h.boot.admin_user_principal_name)).await;
    let admin = id_of(&admin.json);
    let r = h.patch(&format!("/v1.0/users/{admin}"), json!({"usageLocation": "US"})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(assign(&h, &admin, json!([{"skuId": P2}]), json!([])).await.status, StatusCode::OK);
    let r = h.graph_with(Method::GET, "/v1.0/me/licenseDetails", None, &token, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let value = r.json["value"].as_array().unwrap();
    assert_eq!(value.len(), 1);
    assert_eq!(value[0]["skuPartNumber"], json!("AAD_PREMIUM_P2"));
    // App tokens have no `/me`.
    let r = h.get("/v1.0/me/licenseDetails").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
}

#[tokio::test]
async fn azure_ad_graph_serves_skus_and_assign_license() {
    use crate::aadgraph::{aad, aad_token, code};
    let h = Harness::new().await;
    let token = aad_token(&h).await;
    let r = aad(&h, &token, Method::GET, "subscribedSkus", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.json["odata.metadata"].as_str().unwrap().ends_with("$metadata#subscribedSkus"), "{}", r.text);
    let e3 = r.json["value"].as_array().unwrap().iter().find(|s| s["skuId"] == json!(E3)).cloned().expect("E3");
    assert_eq!(e3["odata.type"], json!("Microsoft.DirectoryServices.SubscribedSku"));
    assert_eq!(e3["objectId"], json!(format!("{}_{E3}", h.tenant())));
    assert_eq!(e3["skuPartNumber"], json!("ENTERPRISEPACK"));
    assert_eq!(e3["consumedUnits"], json!(0));
    assert_eq!(e3["prepaidUnits"]["enabled"], json!(25));
    assert!(e3.get("objectType").is_none());
    let one = aad(&h, &token, Method::GET, &format!("subscribedSkus/{}_{E3}", h.tenant()), None).await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.text);
    assert!(one.json["odata.metadata"].as_str().unwrap().ends_with("subscribedSkus/@Element"));
    let missing =
        aad(&h, &token, Method::GET, &format!("subscribedSkus/{}_{}", h.tenant(), uuid::Uuid::new_v4()), None).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND, "{}", missing.text);
    assert_eq!(code(&missing), "Request_ResourceNotFound");
    let r = aad(&h, &token, Method::POST, "subscribedSkus", Some(json!({}))).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{}", r.text);

    // assignLicense in the seed's shape; the answer is the user, 1.6 names.
    let user = user_in(&h, "garthf", None).await;
    let body = json!({"addLicenses": [{"disabledPlans": [], "skuId": E3}], "removeLicenses": []});
    let r = aad(&h, &token, Method::POST, &format!("users/{user}/assignLicense"), Some(body.clone())).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(code(&r), "Request_BadRequest");
    assert_eq!(
        r.json["odata.error"]["message"]["value"],
        json!("License assignment cannot be done for user with invalid usage location.")
    );
    let r = aad(&h, &token, Method::PATCH, &format!("users/{user}"), Some(json!({"usageLocation": "US"}))).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = aad(&h, &token, Method::POST, &format!("users/{user}/assignLicense"), Some(body)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["odata.type"], json!("Microsoft.DirectoryServices.User"));
    assert_eq!(r.json["assignedLicenses"], json!([{"disabledPlans": [], "skuId": E3}]));
    let exchange = r.json["assignedPlans"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["servicePlanId"] == json!(EXCHANGE))
        .cloned()
        .expect("exchange");
    assert_eq!(exchange["service"], json!("exchange"));
    assert_eq!(exchange["capabilityStatus"], json!("Enabled"));
    assert!(exchange["assignedTimestamp"].is_string() && exchange.get("assignedDateTime").is_none());
    assert!(r.json["provisionedPlans"].as_array().unwrap().iter().any(|p| p["service"] == json!("MicrosoftOffice")));
    // The same licence on v1.0, and counted.
    assert_eq!(skus_of(&licences_of(&h, &user).await), vec![E3.to_string()]);
    assert_eq!(consumed(&h, E3).await, 1);
    let r = aad(&h, &token, Method::GET, "subscribedSkus", None).await;
    let e3 = r.json["value"].as_array().unwrap().iter().find(|s| s["skuId"] == json!(E3)).cloned().expect("E3");
    assert_eq!(e3["consumedUnits"], json!(1));
    // Errors in the 1.6 shape; assignLicense is for users only.
    let unknown = uuid::Uuid::new_v4();
    let r = aad(
        &h,
        &token,
        Method::POST,
        &format!("users/{user}/assignLicense"),
        Some(json!({"addLicenses": [{"skuId": unknown}], "removeLicenses": []})),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(
        r.json["odata.error"]["message"]["value"],
        json!(format!("License {unknown} does not correspond to a valid company License."))
    );
    let group = id_of(&h.group("aadgroup", "AAD group").await);
    let r = aad(&h, &token, Method::POST, &format!("groups/{group}/assignLicense"), Some(json!({}))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    // $metadata declares the type.
    let r = h.get(&format!("/{}/$metadata?api-version=1.6", h.boot.tenant_id)).await;
    assert!(r.text.contains("<EntityType Name=\"SubscribedSku\">"), "{}", &r.text[..200.min(r.text.len())]);
    assert!(r.text.contains("<ComplexType Name=\"ServicePlanInfo\">"));
}

#[tokio::test]
async fn the_tenant_holds_the_plans_of_its_skus() {
    // `Directory::tenant_assigned_plans`, what `organization.assignedPlans` shows.
    let h = Harness::new().await;
    let plans = h.app.directory.tenant_assigned_plans(h.tenant()).await.expect("plans");
    let ids: Vec<&str> = plans.iter().map(|p| p["servicePlanId"].as_str().expect("servicePlanId")).collect();
    for id in [EXCHANGE, SWAY, AAD_P2_PLAN, MFA] {
        assert!(ids.contains(&id), "{id} missing from {ids:?}");
    }
    let mut unique = ids.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "one entry per plan");
    let exchange = plans.iter().find(|p| p["servicePlanId"] == json!(EXCHANGE)).unwrap();
    assert_eq!(exchange["service"], json!("exchange"));
    assert_eq!(exchange["capabilityStatus"], json!("Enabled"));
    assert!(exchange["assignedDateTime"].as_str().is_some_and(|t| t.ends_with('Z')));
    // A SKU added by a fixture brings its plans.
    import(&h, &one_unit_fixture()).await;
    let plans = h.app.directory.tenant_assigned_plans(h.tenant()).await.expect("plans");
    assert!(plans.iter().any(|p| p["servicePlanId"] == json!(ONE_UNIT_PLAN) && p["service"] == json!("CeruleanTest")));
}

#[tokio::test]
async fn a_tenant_created_by_a_fixture_has_licences_too() {
    let h = Harness::new().await;
    let listed = uuid::Uuid::new_v4();
    let bare = uuid::Uuid::new_v4();
    let with_skus = json!({"tenant": {"id": listed, "domains": ["fabrikam.onmicrosoft.com"]},
                           "subscribedSkus": [{"skuPartNumber": "AAD_PREMIUM_P2", "prepaidUnits": {"enabled": 3}}]});
    let without = json!({"tenant": {"id": bare, "domains": ["tailspin.onmicrosoft.com"]}});
    for f in [&with_skus, &without] {
        cerulean::fixture::import_into(&h.app, h.store.as_ref(), &h.dir, f, None, "contoso.onmicrosoft.com")
            .await
            .expect("import");
    }
    let names = |skus: Vec<cerulean_store::ObjectRecord>| {
        skus.iter().map(|s| s.doc["skuPartNumber"].as_str().unwrap_or_default().to_string()).collect::<Vec<_>>()
    };
    let skus = h.app.directory.subscribed_skus(listed).await.expect("skus");
    assert_eq!(names(skus.clone()), vec!["AAD_PREMIUM_P2".to_string()]);
    assert_eq!(skus[0].doc["prepaidUnits"]["enabled"], json!(3));
    let skus = h.app.directory.subscribed_skus(bare).await.expect("skus");
    assert_eq!(names(skus), vec!["AAD_PREMIUM_P2".to_string(), "ENTERPRISEPACK".to_string()]);
}

#[tokio::test]
async fn a_licensed_dynamic_group_feeds_assigned_plans_rules() {
    let h = Harness::new().await;
    let dynamic = |name: &str, rule: String| {
        json!({"displayName": name, "mailEnabled": false, "mailNickname": name, "securityEnabled": true,
               "groupTypes": ["DynamicMembership"], "membershipRule": rule, "membershipRuleProcessingState": "On"})
    };
    let sales = h.post("/v1.0/groups", dynamic("sales", "user.department -eq \"Sales\"".into())).await;
    assert_eq!(sales.status, StatusCode::CREATED, "{}", sales.text);
    let sales = id_of(&sales.json);
    let r = h
        .post(
            &format!("/v1.0/groups/{sales}/assignLicense"),
            json!({"addLicenses": [{"skuId": P2}], "removeLicenses": []}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let rule = format!(
        "user.assignedPlans -any (assignedPlan.servicePlanId -eq \"{AAD_P2_PLAN}\" -and assignedPlan.capabilityStatus -eq \"Enabled\")"
    );
    let holders = h.post("/v1.0/groups", dynamic("holders", rule)).await;
    assert_eq!(holders.status, StatusCode::CREATED, "{}", holders.text);
    let holders = id_of(&holders.json);

    // Joining the licensed dynamic group gives the plan, which the other rule sees.
    let user = user_in(&h, "adele", None).await;
    let r = h.patch(&format!("/v1.0/users/{user}"), json!({"department": "Sales"})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(members(&h, &sales).await, vec![user.clone()]);
    assert_eq!(skus_of(&licences_of(&h, &user).await), vec![P2.to_string()]);
    assert_eq!(members(&h, &holders).await, vec![user.clone()]);
    // Leaving it takes both away.
    let r = h.patch(&format!("/v1.0/users/{user}"), json!({"department": "Legal"})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert!(members(&h, &sales).await.is_empty());
    assert!(skus_of(&licences_of(&h, &user).await).is_empty());
    assert!(members(&h, &holders).await.is_empty());
}
