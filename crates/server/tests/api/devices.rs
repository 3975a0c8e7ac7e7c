//! Devices: registration (delegated only) with Entra's validation, OData reads, the `deviceId`
//! alternate key, updates, hard delete, registered owners and users, group membership
//! (direct, transitive, the membership actions, the `microsoft.graph.device` cast) and dynamic
//! device groups following device changes.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{Harness, Reply, id_of};

const GLOBAL_ADMIN: &str = "62e90394-69f5-4237-9190-012177145e10";

/// A delegated token of the tenant's Global Administrator with `Directory.AccessAsUser.All`,
/// the only permission that registers devices.
pub async fn admin_delegated(h: &Harness) -> String {
    let admin = get(h, &format!("/v1.0/users/{}", h.boot.admin_user_principal_name)).await;
    assert_eq!(admin.status, StatusCode::OK, "{}", admin.text);
    let mut claims = h.claims(&[]);
    let c = claims.as_object_mut().expect("claims");
    c.remove("roles");
    c.insert("idtyp".into(), json!("user"));
    c.insert("oid".into(), json!(id_of(&admin.json)));
    c.insert("scp".into(), json!("Directory.AccessAsUser.All Directory.ReadWrite.All"));
    c.insert("wids".into(), json!([GLOBAL_ADMIN]));
    h.sign(claims).await
}

pub fn device_body(name: &str, os: &str) -> Value {
    json!({
        "accountEnabled": true,
        "alternativeSecurityIds": [{"type": 2, "key": "Y3YxN2E1MWFlYw=="}],
        "deviceId": uuid::Uuid::new_v4().to_string(),
        "displayName": name,
        "operatingSystem": os,
        "operatingSystemVersion": "10.0.22631",
    })
}

async fn as_admin(h: &Harness, token: &str, method: Method, path: &str, body: Option<Value>) -> Reply {
    h.graph_with(method, path, body, token, &[]).await
}

/// Registers a device and returns its JSON.
pub async fn device(h: &Harness, token: &str, name: &str, os: &str) -> Value {
    let r = as_admin(h, token, Method::POST, "/v1.0/devices", Some(device_body(name, os))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.json
}

/// Spaces and quotes of OData options, percent-encoded as clients send them.
fn encode(path: &str) -> String {
    path.replace(' ', "%20").replace('\'', "%27")
}

pub async fn get(h: &Harness, path: &str) -> Reply {
    h.get(&encode(path)).await
}

pub async fn get_eventual(h: &Harness, path: &str) -> Reply {
    h.get_eventual(&encode(path)).await
}

fn reference(id: &str) -> Value {
    json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{id}")})
}

fn ids(r: &Reply) -> Vec<String> {
    let mut v: Vec<String> = r.json["value"]
        .as_array()
        .unwrap_or_else(|| panic!("no value: {}", r.text))
        .iter()
        .map(|o| o["id"].as_str().unwrap_or_default().to_string())
        .collect();
    v.sort();
    v
}

fn sorted(items: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = items.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

#[tokio::test]
async fn registration_is_validated_as_entra_does() {
    let h = Harness::new().await;
    let admin = admin_delegated(&h).await;

    // Applications cannot register devices (application permissions: not supported).
    let r = h.post("/v1.0/devices", device_body("Laptop", "Windows")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert_eq!(r.code(), "Authorization_RequestDenied");

    for missing in [
        "accountEnabled",
        "alternativeSecurityIds",
        "deviceId",
        "displayName",
        "operatingSystem",
        "operatingSystemVersion",
    ] {
        let mut body = device_body("Laptop", "Windows");
        body.as_object_mut().expect("body").remove(missing);
        let r = as_admin(&h, &admin, Method::POST, "/v1.0/devices", Some(body)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{missing}: {}", r.text);
        assert_eq!(r.code(), "Request_BadRequest");
        assert_eq!(r.message(), format!("Property {missing} value is required but is empty or missing."));
    }
    let invalid = |prop: &str| format!("Invalid value specified for property '{prop}' of resource 'Device'.");
    for (prop, value, message) in [
        ("deviceId", json!("not-a-guid"), invalid("deviceId")),
        ("alternativeSecurityIds", json!([{"type": 2, "key": "***"}]), invalid("alternativeSecurityIds")),
        ("alternativeSecurityIds", json!([{"key": "Y3YxN2E1MWFlYw=="}]), invalid("alternativeSecurityIds")),
        ("accountEnabled", json!("yes"), invalid("accountEnabled")),
        (
            "registrationDateTime",
            json!("2024-01-01T00:00:00Z"),
            "Property 'registrationDateTime' is read-only and cannot be set.".to_string(),
        ),
        (
            "colour",
            json!("blue"),
            "The property 'colour' does not exist on type 'microsoft.graph.device'. Make sure to only use property names that are defined by the type or mark the type as open type.".to_string(),
        ),
    ] {
        let mut body = device_body("Laptop", "Windows");
        body[prop] = value;
        let r = as_admin(&h, &admin, Method::POST, "/v1.0/devices", Some(body)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{prop}: {}", r.text);
        assert_eq!(r.message(), message);
    }

    let body = device_body("Laptop", "Windows");
    let r = as_admin(&h, &admin, Method::POST, "/v1.0/devices", Some(body.clone())).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = id_of(&r.json);
    assert_eq!(r.json["@odata.context"], "https://cerulean.test/v1.0/$metadata#devices/$entity");
    assert_eq!(
        r.headers.get("location").and_then(|v| v.to_str().ok()),
        Some(format!("https://cerulean.test/v1.0/devices/{id}").as_str())
    );
    assert_eq!(r.json["deviceId"], body["deviceId"]);
    assert_eq!(r.json["alternativeSecurityIds"], body["alternativeSecurityIds"]);
    assert_eq!(r.json["profileType"], "RegisteredDevice");
    assert!(r.json["registrationDateTime"].is_string(), "{}", r.text);
    assert_eq!(r.json["physicalIds"], json!([]));

    // deviceId is unique in the tenant.
    let mut again = device_body("Other", "Windows");
    again["deviceId"] = body["deviceId"].clone();
    let r = as_admin(&h, &admin, Method::POST, "/v1.0/devices", Some(again)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.message(), "Another object with the same value for property deviceId already exists.");
}

#[tokio::test]
async fn devices_are_read_updated_and_hard_deleted() {
    let h = Harness::new().await;
    let admin = admin_delegated(&h).await;
    let win = device(&h, &admin, "Contoso-Win", "Windows").await;
    let mac = device(&h, &admin, "Contoso-Mac", "MacMDM").await;
    let win_id = id_of(&win);

    // OData reads with the app token (Device.ReadWrite.All).
    let r = get(&h, "/v1.0/devices?$filter=operatingSystem eq 'Windows'&$select=id,displayName").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(ids(&r), vec![win_id.clone()]);
    assert_eq!(r.json["@odata.context"], "https://cerulean.test/v1.0/$metadata#devices(id,displayName)");
    let r = get(&h, "/v1.0/devices?$orderby=displayName desc").await;
    assert_eq!(r.json["value"][0]["displayName"], "Contoso-Win", "{}", r.text);
    let r = get_eventual(&h, "/v1.0/devices/$count").await;
    assert_eq!(r.text, "2");
    let r =
        get(&h, &format!("/v1.0/devices?$filter=startswith(deviceId,'{}')", win["deviceId"].as_str().unwrap())).await;
    assert_eq!(ids(&r), vec![win_id.clone()], "{}", r.text);

    // The deviceId alternate key addresses the same object.
    let r = get(&h, &format!("/v1.0/devices(deviceId='{}')", mac["deviceId"].as_str().unwrap())).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["id"], mac["id"]);
    let r = get(&h, &format!("/v1.0/devices(deviceId='{}')", uuid::Uuid::new_v4())).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    assert_eq!(r.code(), "Request_ResourceNotFound");

    // The alternate key works for writes too.
    let by_key = format!("/v1.0/devices(deviceId='{}')", mac["deviceId"].as_str().unwrap()).replace('\'', "%27");
    let r = h.patch(&by_key, json!({"model": "MacBook Pro"})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(get(&h, &format!("/v1.0/devices/{}", id_of(&mac))).await.json["model"], "MacBook Pro");

    // Updates: compliance and management as Intune would write them; deviceId is fixed.
    let path = format!("/v1.0/devices/{win_id}");
    let r = h.patch(&path, json!({"isCompliant": true, "isManaged": true, "trustType": "AzureAd"})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = get(&h, &format!("{path}?$select=isCompliant,isManaged,trustType")).await;
    assert_eq!((r.json["isCompliant"].clone(), r.json["trustType"].clone()), (json!(true), json!("AzureAd")));
    let r = get(&h, "/v1.0/devices?$filter=isCompliant eq true").await;
    assert_eq!(ids(&r), vec![win_id.clone()], "{}", r.text);
    let r = h.patch(&path, json!({"deviceId": uuid::Uuid::new_v4().to_string()})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.message(), "Property 'deviceId' cannot be updated.");
    let r = h.patch(&path, json!({"displayName": ""})).await;
    assert_eq!(r.message(), "Property displayName value is required but is empty or missing.", "{}", r.text);
    let r = h.patch(&format!("/v1.0/devices/{}", uuid::Uuid::new_v4()), json!({"isManaged": false})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);

    // A token without a device permission is refused.
    let weak = h.sign(h.claims(&["User.Read.All"])).await;
    let r = h.graph_with(Method::GET, "/v1.0/devices", None, &weak, &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);

    // Deleting is for good: no recycle bin for devices.
    let r = h.delete(&path).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(get(&h, &path).await.status, StatusCode::NOT_FOUND);
    let r = get(&h, &format!("/v1.0/directory/deletedItems/{win_id}")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    assert_eq!(h.delete(&path).await.status, StatusCode::NOT_FOUND);
    let r = get_eventual(&h, "/v1.0/devices/$count").await;
    assert_eq!(r.text, "1");
}

#[tokio::test]
async fn registered_owners_and_users() {
    let h = Harness::new().await;
    let admin = admin_delegated(&h).await;
    let d = id_of(&device(&h, &admin, "Phone", "iOS").await);
    let adele = id_of(&h.user("adele", "Adele Vance").await);
    let megan = id_of(&h.user("megan", "Megan Bowen").await);
    let group = id_of(&h.group("fleet", "Fleet").await);

    for rel in ["registeredOwners", "registeredUsers"] {
        let add = format!("/v1.0/devices/{d}/{rel}/$ref");
        // Delegated only (application permissions: not supported).
        let r = h.post(&add, reference(&adele)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{rel}: {}", r.text);
        let r = as_admin(&h, &admin, Method::POST, &add, Some(reference(&adele))).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{rel}: {}", r.text);
        let r = as_admin(&h, &admin, Method::POST, &add, Some(reference(&adele))).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{rel}: {}", r.text);
        assert_eq!(
            r.message(),
            format!(
                "One or more added object references already exist for the following modified properties: '{rel}'."
            )
        );
        let r = as_admin(&h, &admin, Method::POST, &add, Some(reference(&group))).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{rel}: {}", r.text);
        let r = as_admin(&h, &admin, Method::POST, &add, Some(reference(&uuid::Uuid::new_v4().to_string()))).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{rel}: {}", r.text);
        let r = as_admin(&h, &admin, Method::POST, &add, Some(json!({"id": adele}))).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{rel}: {}", r.text);
        let r = as_admin(&h, &admin, Method::POST, &add, Some(reference(&megan))).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{rel}: {}", r.text);

        let r = get(&h, &format!("/v1.0/devices/{d}/{rel}")).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(ids(&r), sorted(&[&adele, &megan]));
        assert_eq!(r.json["value"][0]["@odata.type"], "#microsoft.graph.user");
        let r = get(&h, &format!("/v1.0/devices/{d}/{rel}/microsoft.graph.user?$filter=displayName eq 'Megan Bowen'"))
            .await;
        assert_eq!(ids(&r), vec![megan.clone()], "{}", r.text);
        let r = get_eventual(&h, &format!("/v1.0/devices/{d}/{rel}/$count")).await;
        assert_eq!(r.text, "2");

        let remove = format!("/v1.0/devices/{d}/{rel}/{megan}/$ref");
        let r = as_admin(&h, &admin, Method::DELETE, &remove, None).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
        let r = as_admin(&h, &admin, Method::DELETE, &remove, None).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
        let r = as_admin(&h, &admin, Method::DELETE, &format!("/v1.0/devices/{d}/{rel}/nope/$ref"), None).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    }

    // The user side: registeredDevices and ownedDevices hold devices only.
    let r = h.post(&format!("/v1.0/groups/{group}/owners/$ref"), reference(&adele)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    for rel in ["registeredDevices", "ownedDevices"] {
        let r = get(&h, &format!("/v1.0/users/{adele}/{rel}")).await;
        assert_eq!(r.status, StatusCode::OK, "{rel}: {}", r.text);
        assert_eq!(ids(&r), vec![d.clone()], "{rel}");
        assert_eq!(r.json["value"][0]["@odata.type"], "#microsoft.graph.device");
        let r = get(&h, &format!("/v1.0/users/{megan}/{rel}")).await;
        assert_eq!(ids(&r), Vec::<String>::new(), "{rel}");
    }
}

#[tokio::test]
async fn devices_are_group_members_directly_and_transitively() {
    let h = Harness::new().await;
    let admin = admin_delegated(&h).await;
    let d = id_of(&device(&h, &admin, "Kiosk", "Windows").await);
    let inner = id_of(&h.group("kiosks", "Kiosks").await);
    let outer = id_of(&h.group("fleet", "Fleet").await);
    let user = id_of(&h.user("adele", "Adele Vance").await);
    for (g, m) in [(&inner, &d), (&outer, &inner), (&inner, &user)] {
        let r = h.post(&format!("/v1.0/groups/{g}/members/$ref"), reference(m)).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    }

    // Microsoft 365 groups take users only.
    let r = h
        .post(
            "/v1.0/groups",
            json!({"displayName": "Team", "mailEnabled": true, "mailNickname": "team", "securityEnabled": false,
                   "groupTypes": ["Unified"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = h.post(&format!("/v1.0/groups/{}/members/$ref", id_of(&r.json)), reference(&d)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);

    let r = get(&h, &format!("/v1.0/groups/{inner}/members/microsoft.graph.device")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(ids(&r), vec![d.clone()]);
    assert_eq!(r.json["@odata.context"], "https://cerulean.test/v1.0/$metadata#devices");
    let r = get(&h, &format!("/v1.0/groups/{inner}/members/microsoft.graph.device?$select=operatingSystem")).await;
    assert_eq!(r.json["value"][0]["operatingSystem"], "Windows", "{}", r.text);
    let r = get(&h, &format!("/v1.0/groups/{inner}/members?$select=id,operatingSystem")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    let r = get(&h, &format!("/v1.0/devices/{d}/memberOf")).await;
    assert_eq!(ids(&r), vec![inner.clone()], "{}", r.text);
    let r = get_eventual(&h, &format!("/v1.0/devices/{d}/memberOf/$count")).await;
    assert_eq!(r.text, "1");
    let r = get(&h, &format!("/v1.0/devices/{d}/transitiveMemberOf")).await;
    assert_eq!(ids(&r), sorted(&[&inner, &outer]), "{}", r.text);
    let r = get(&h, &format!("/v1.0/devices/{d}/memberOf/microsoft.graph.group")).await;
    assert_eq!(ids(&r), vec![inner.clone()], "{}", r.text);
    let r = get_eventual(&h, &format!("/v1.0/devices/{d}/transitiveMemberOf/$count")).await;
    assert_eq!(r.text, "2");
    let path = format!("/v1.0/devices/{d}/transitiveMemberOf/microsoft.graph.group?$filter=displayName eq 'Fleet'");
    let r = get(&h, &path).await;
    assert_eq!(ids(&r), vec![outer.clone()], "{}", r.text);
    let r = get(&h, &format!("/v1.0/groups/{outer}/transitiveMembers/microsoft.graph.user")).await;
    assert_eq!(ids(&r), vec![user.clone()], "{}", r.text);

    let r = h.post(&format!("/v1.0/devices/{d}/checkMemberGroups"), json!({"groupIds": [outer, user]})).await;
    assert_eq!(r.json["value"], json!([outer]), "{}", r.text);
    let r = h.post(&format!("/v1.0/devices/{d}/getMemberGroups"), json!({"securityEnabledOnly": true})).await;
    let mut got: Vec<String> = serde_json::from_value(r.json["value"].clone()).expect("ids");
    got.sort();
    assert_eq!(got, sorted(&[&inner, &outer]), "{}", r.text);
    let r = h.post(&format!("/v1.0/devices/{d}/checkMemberObjects"), json!({"ids": [inner]})).await;
    assert_eq!(r.json["value"], json!([inner]), "{}", r.text);
    let r = h.post(&format!("/v1.0/devices/{d}/getMemberObjects"), json!({})).await;
    assert_eq!(r.json["value"].as_array().map(Vec::len), Some(2), "{}", r.text);
    let r = h.post(&format!("/v1.0/devices/{d}/checkMemberGroups"), json!({})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = h.post(&format!("/v1.0/devices/{user}/getMemberGroups"), json!({})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "a user is not a device: {}", r.text);

    // Removing the device from the group, then deleting it, leaves no membership behind.
    let r = h.delete(&format!("/v1.0/groups/{inner}/members/{d}/$ref")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = get(&h, &format!("/v1.0/devices/{d}/transitiveMemberOf")).await;
    assert_eq!(ids(&r), Vec::<String>::new());
    let r = h.post(&format!("/v1.0/groups/{inner}/members/$ref"), reference(&d)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(h.delete(&format!("/v1.0/devices/{d}")).await.status, StatusCode::NO_CONTENT);
    let r = get(&h, &format!("/v1.0/groups/{inner}/members/microsoft.graph.device")).await;
    assert_eq!(ids(&r), Vec::<String>::new());
    let r = get(&h, &format!("/v1.0/groups/{outer}/transitiveMembers")).await;
    assert_eq!(ids(&r), sorted(&[&inner, &user]), "{}", r.text);
}

#[tokio::test]
async fn dynamic_device_groups_follow_device_changes() {
    let h = Harness::new().await;
    let admin = admin_delegated(&h).await;
    let before = id_of(&device(&h, &admin, "Old-Win", "Windows").await);
    let r = h
        .post(
            "/v1.0/groups",
            json!({
                "displayName": "Windows devices", "mailEnabled": false, "mailNickname": "windevices",
                "securityEnabled": true, "groupTypes": ["DynamicMembership"],
                "membershipRule": "(device.deviceOSType -eq \"Windows\") -and (device.accountEnabled -eq true)",
            }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let g = id_of(&r.json);
    let path = format!("/v1.0/groups/{g}/members/microsoft.graph.device");
    // Computed over existing devices when the rule is set...
    assert_eq!(ids(&get(&h, &path).await), vec![before.clone()]);
    // ...and for devices registered later.
    let after = id_of(&device(&h, &admin, "New-Win", "Windows").await);
    let linux = id_of(&device(&h, &admin, "Build-Box", "Linux").await);
    assert_eq!(ids(&get(&h, &path).await), sorted(&[&before, &after]));
    // A device that changes leaves or joins.
    let r = h.patch(&format!("/v1.0/devices/{before}"), json!({"accountEnabled": false})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = h.patch(&format!("/v1.0/devices/{linux}"), json!({"operatingSystem": "Windows"})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(ids(&get(&h, &path).await), sorted(&[&after, &linux]));
    let r = get(&h, &format!("/v1.0/devices/{linux}/memberOf")).await;
    assert_eq!(ids(&r), vec![g.clone()]);
    // Members of a dynamic group are the rule's.
    let r = h.post(&format!("/v1.0/groups/{g}/members/$ref"), reference(&before)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
}

/// `approximateLastSignInDateTime` is written by the sign-in service in Entra and through Graph
/// here: PATCH sets it, GET returns it, `$filter` compares it.
#[tokio::test]
async fn approximate_last_sign_in_is_written_read_and_filtered() {
    let h = Harness::new().await;
    let admin = admin_delegated(&h).await;
    let old = id_of(&device(&h, &admin, "Old-Laptop", "Windows").await);
    let new = id_of(&device(&h, &admin, "New-Laptop", "Windows").await);
    for (id, when) in [(&old, "2024-01-15T08:00:00Z"), (&new, "2026-11-01T08:00:00Z")] {
        let body = json!({"approximateLastSignInDateTime": when});
        let r = as_admin(&h, &admin, Method::PATCH, &format!("/v1.0/devices/{id}"), Some(body)).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    }
    let r = get(&h, &format!("/v1.0/devices/{old}?$select=approximateLastSignInDateTime")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["approximateLastSignInDateTime"], "2024-01-15T08:00:00Z", "{}", r.text);
    let r = get(&h, "/v1.0/devices?$filter=approximateLastSignInDateTime le 2025-01-01T00:00:00Z").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(ids(&r), vec![old.clone()], "{}", r.text);
    let r = get(&h, "/v1.0/devices?$filter=approximateLastSignInDateTime ge 2025-01-01T00:00:00Z").await;
    assert_eq!(ids(&r), vec![new.clone()], "{}", r.text);
    let body = json!({"approximateLastSignInDateTime": "last tuesday"});
    let r = as_admin(&h, &admin, Method::PATCH, &format!("/v1.0/devices/{old}"), Some(body)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
}
