//! One stored property, two wire names: each 1.6 user property that Graph v1.0 calls otherwise
//! is written through one API and read through the other; a full round trip (create 1.6, read
//! v1.0, patch v1.0, read 1.6) field for field; the key order ODataLib readers expect; owners
//! through `$links`; a deleted group in a differential round.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::aadgraph::{aad, aad_token, code};
use crate::harness::{Harness, Reply};

const PASSWORD: &str = "Test1234-ab!Cd";
const E3: &str = "6fd2c87f-b296-42f0-b197-1e91e994b900";

/// 1.6 name → v1.0 name of the user properties mapped one to one.
const RENAMED: &[(&str, &str)] = &[
    ("immutableId", "onPremisesImmutableId"),
    ("mobile", "mobilePhone"),
    ("facsimileTelephoneNumber", "faxNumber"),
    ("physicalDeliveryOfficeName", "officeLocation"),
    ("otherMails", "otherMails"),
    ("dirSyncEnabled", "onPremisesSyncEnabled"),
    ("lastDirSyncTime", "onPremisesLastSyncDateTime"),
    ("provisionedPlans", "provisionedPlans"),
];

async fn v1_user(h: &Harness, id: &str) -> Value {
    let select = "id,displayName,givenName,surname,jobTitle,department,city,country,usageLocation,mailNickname,\
                  userPrincipalName,onPremisesImmutableId,mobilePhone,businessPhones,faxNumber,officeLocation,\
                  otherMails,onPremisesSyncEnabled,onPremisesLastSyncDateTime,provisionedPlans,imAddresses,\
                  accountEnabled";
    let r = h.get(&format!("/v1.0/users/{id}?$select={select}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.json
}

/// The stored `forceChangePasswordNextSignIn` of the user's password.
async fn must_change_password(h: &Harness, id: &str) -> bool {
    let id = id.parse().expect("guid");
    let secrets = h.store.secrets(h.tenant(), id).await.expect("secrets");
    let password = secrets.iter().find(|s| s.kind == "password").expect("a password");
    password.meta["forceChangePasswordNextSignIn"].as_bool().expect("flag")
}

/// Every mapped property of the 1.6 user equals the v1.0 user's value under its v1.0 name.
fn assert_same(aad: &Value, v1: &Value) {
    assert_eq!(aad["objectId"], v1["id"]);
    for (old, new) in RENAMED {
        assert_eq!(aad[old], v1[new], "1.6 {old} vs v1.0 {new}");
    }
    assert_eq!(aad["telephoneNumber"], v1["businessPhones"][0]);
    assert_eq!(aad["sipProxyAddress"], v1["imAddresses"][0]);
    for same in [
        "displayName",
        "givenName",
        "surname",
        "jobTitle",
        "department",
        "city",
        "country",
        "usageLocation",
        "mailNickname",
        "userPrincipalName",
        "accountEnabled",
    ] {
        assert_eq!(aad[same], v1[same], "{same}");
    }
}

#[tokio::test]
async fn create_through_1_6_patch_through_v1_read_back_field_for_field() {
    let h = Harness::new().await;
    let t = aad_token(&h).await;
    let body = json!({
        "accountEnabled": true,
        "displayName": "Garth Fort",
        "givenName": "Garth",
        "surname": "Fort",
        "jobTitle": "Sales Manager",
        "department": "Sales & Marketing",
        "city": "Tulsa",
        "country": "United States",
        "usageLocation": "US",
        "mailNickname": "garthf",
        "userPrincipalName": "garthf@contoso.onmicrosoft.com",
        "immutableId": "AAAAAAAAAAAAAAAAAAAAAA==",
        "mobile": "+1 918 555 0101",
        "telephoneNumber": "+1 918 555 0102",
        "facsimileTelephoneNumber": "+1 918 555 0103",
        "physicalDeliveryOfficeName": "Tulsa/1",
        "otherMails": ["garth@fabrikam.example"],
        "passwordProfile": {"password": PASSWORD, "forceChangePasswordNextLogin": true},
    });
    let r = aad(&h, &t, Method::POST, "users", Some(body.clone())).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.json["objectId"].as_str().expect("objectId").to_string();
    for (k, v) in body.as_object().expect("object") {
        if k != "passwordProfile" {
            assert_eq!(&r.json[k], v, "the create response echoes {k}");
        }
    }

    // Read through v1.0: the same stored values under v1.0 names.
    let v1 = v1_user(&h, &id).await;
    assert_eq!(v1["onPremisesImmutableId"], "AAAAAAAAAAAAAAAAAAAAAA==");
    assert_eq!(v1["mobilePhone"], "+1 918 555 0101");
    assert_eq!(v1["businessPhones"], json!(["+1 918 555 0102"]));
    assert_eq!(v1["faxNumber"], "+1 918 555 0103");
    assert_eq!(v1["officeLocation"], "Tulsa/1");
    assert_eq!(v1["otherMails"], json!(["garth@fabrikam.example"]));
    assert_same(&r.json, &v1);
    // forceChangePasswordNextLogin is v1.0's forceChangePasswordNextSignIn (write-only on both
    // APIs: v1.0 reads `passwordProfile` as null, so the stored flag is checked).
    assert!(must_change_password(&h, &id).await);

    // Patch through v1.0, read through 1.6.
    let r = h
        .patch(
            &format!("/v1.0/users/{id}"),
            json!({
                "onPremisesImmutableId": "BBBBBBBBBBBBBBBBBBBBBB==",
                "mobilePhone": "+1 918 555 0201",
                "businessPhones": ["+1 918 555 0202"],
                "faxNumber": "+1 918 555 0203",
                "officeLocation": "Tulsa/2",
                "otherMails": ["g@fabrikam.example", "garth.fort@fabrikam.example"],
                "jobTitle": "Head of Sales",
                "passwordProfile": {"password": "Test9012-ab!Cd", "forceChangePasswordNextSignIn": false},
            }),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let a = aad(&h, &t, Method::GET, &format!("users/{id}"), None).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.json["immutableId"], "BBBBBBBBBBBBBBBBBBBBBB==");
    assert_eq!(a.json["mobile"], "+1 918 555 0201");
    assert_eq!(a.json["telephoneNumber"], "+1 918 555 0202");
    assert_eq!(a.json["facsimileTelephoneNumber"], "+1 918 555 0203");
    assert_eq!(a.json["physicalDeliveryOfficeName"], "Tulsa/2");
    assert_eq!(a.json["otherMails"], json!(["g@fabrikam.example", "garth.fort@fabrikam.example"]));
    assert_eq!(a.json["jobTitle"], "Head of Sales");
    assert_same(&a.json, &v1_user(&h, &id).await);
    assert!(!must_change_password(&h, &id).await);

    // 1.6 writes forceChangePasswordNextLogin into the same flag.
    let r = aad(
        &h,
        &t,
        Method::PATCH,
        &format!("users/{id}"),
        Some(json!({"passwordProfile": {"password": "Test5678-ab!Cd", "forceChangePasswordNextLogin": true}})),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert!(must_change_password(&h, &id).await);

    // Properties the directory's synchronisation owns are read-only on both surfaces.
    for (body, name) in [
        (json!({"dirSyncEnabled": true}), "dirSyncEnabled"),
        (json!({"lastDirSyncTime": "2014-10-14T02:54:04Z"}), "lastDirSyncTime"),
        (json!({"sipProxyAddress": "sip:garthf@contoso.onmicrosoft.com"}), "sipProxyAddress"),
        (json!({"provisionedPlans": []}), "provisionedPlans"),
    ] {
        let r = aad(&h, &t, Method::PATCH, &format!("users/{id}"), Some(body)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{name}: {}", r.text);
        assert_eq!(code(&r), "Request_BadRequest", "{name}");
        assert!(r.text.contains(name), "{name}: {}", r.text);
    }
}

/// `dirSyncEnabled`, `lastDirSyncTime` and `sipProxyAddress` are written by synchronisation
/// (here: a fixture, as a synchronised tenant's export would hold them); `provisionedPlans` by
/// licence assignment. Both APIs read the same values.
#[tokio::test]
async fn synchronised_and_licensed_properties_read_the_same_through_both() {
    let h = Harness::new().await;
    let t = aad_token(&h).await;
    let fixture = json!({"users": [{
        "displayName": "Synced Sam", "mailNickname": "sam", "accountEnabled": true,
        "userPrincipalName": "sam@contoso.onmicrosoft.com", "usageLocation": "US",
        "onPremisesSyncEnabled": true, "onPremisesLastSyncDateTime": "2014-10-14T02:54:04Z",
        "onPremisesImmutableId": "c2FtQGNvbnRvc28=", "imAddresses": ["sip:sam@contoso.onmicrosoft.com"],
    }]});
    cerulean::fixture::import_into(&h.app, h.store.as_ref(), &h.dir, &fixture, None, "contoso.onmicrosoft.com")
        .await
        .expect("import");
    // Synchronised values are checked for type like the API's.
    let bad = json!({"users": [{"displayName": "Bad", "mailNickname": "bad", "accountEnabled": true,
        "userPrincipalName": "bad@contoso.onmicrosoft.com", "imAddresses": "sip:bad@contoso.onmicrosoft.com"}]});
    let err = cerulean::fixture::import_into(&h.app, h.store.as_ref(), &h.dir, &bad, None, "contoso.onmicrosoft.com")
        .await
        .expect_err("a string is not a list")
        .to_string();
    assert!(err.contains("imAddresses"), "{err}");
    let r = aad(&h, &t, Method::GET, "users/sam@contoso.onmicrosoft.com", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let id = r.json["objectId"].as_str().expect("objectId").to_string();
    assert_eq!(r.json["dirSyncEnabled"], true);
    assert_eq!(r.json["lastDirSyncTime"], "2014-10-14T02:54:04Z");
    assert_eq!(r.json["sipProxyAddress"], "sip:sam@contoso.onmicrosoft.com");
    assert_eq!(r.json["immutableId"], "c2FtQGNvbnRvc28=");
    assert_same(&r.json, &v1_user(&h, &id).await);

    // A licence assigned through v1.0 provisions plans that 1.6 lists under the same name.
    let r = h
        .post(
            &format!("/v1.0/users/{id}/assignLicense"),
            json!({"addLicenses": [{"skuId": E3, "disabledPlans": []}], "removeLicenses": []}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let a = aad(&h, &t, Method::GET, &format!("users/{id}"), None).await;
    let plans = a.json["provisionedPlans"].as_array().expect("provisionedPlans");
    assert!(!plans.is_empty(), "{}", a.text);
    assert!(plans.iter().all(|p| p.get("capabilityStatus").is_some() && p.get("service").is_some()), "{}", a.text);
    assert_same(&a.json, &v1_user(&h, &id).await);
    // `$filter` in 1.6 names reaches the same stored values.
    let r = aad(&h, &t, Method::GET, "users?$filter=dirSyncEnabled eq true", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let ids: Vec<&str> =
        r.json["value"].as_array().expect("value").iter().filter_map(|u| u["objectId"].as_str()).collect();
    assert_eq!(ids, vec![id.as_str()]);
}

/// The keys of a JSON object in the order the body text lists them (the parsed JSON is sorted).
pub(crate) fn keys_in_order(text: &str) -> Vec<String> {
    // Top-level keys only: a small scanner over the text, tracking depth.
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let (mut depth, mut i) = (0usize, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth = depth.saturating_sub(1),
            b'"' => {
                let start = i + 1;
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    if bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                let s = &text[start..i];
                let mut j = i + 1;
                while j < bytes.len() && bytes[j] == b' ' {
                    j += 1;
                }
                if depth == 1 && j < bytes.len() && bytes[j] == b':' {
                    out.push(s.to_string());
                }
            }
            _ => {}
        }
        i += 1;
    }
    out
}

fn first_keys(r: &Reply, n: usize) -> Vec<String> {
    keys_in_order(&r.text).into_iter().take(n).collect()
}

/// The first entity of a collection body, as text.
fn first_entity_text(r: &Reply) -> String {
    let first = &r.json["value"][0];
    let id = first["objectId"].as_str().or_else(|| first["url"].as_str()).expect("an entry");
    // The entry's text: from the `{` before its first key to its matching `}`.
    let at = r.text.find(id).expect("entry in text");
    let start = r.text[..at].rfind('{').expect("entry start");
    let mut depth = 0;
    for (i, c) in r.text[start..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return r.text[start..=start + i].to_string();
                }
            }
            _ => {}
        }
    }
    panic!("unterminated entry: {}", r.text)
}

#[tokio::test]
async fn odata_metadata_leads_payloads_and_odata_type_leads_entities() {
    let h = Harness::new().await;
    let t = aad_token(&h).await;
    let user = h.user("kim", "Kim Akers").await;
    let uid = user["id"].as_str().expect("id").to_string();
    let group = h.group("g1", "G1").await;
    let gid = group["id"].as_str().expect("id").to_string();
    let r = h
        .post(
            &format!("/v1.0/groups/{gid}/members/$ref"),
            json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{uid}")}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let identity = ["odata.metadata", "odata.type", "objectType", "objectId", "deletionTimestamp"];

    // A single entity.
    let r = aad(&h, &t, Method::GET, &format!("users/{uid}"), None).await;
    assert_eq!(first_keys(&r, 5), identity, "{}", r.text);
    // Properties after the identity, by name, as the reference lists them.
    let rest: Vec<String> = keys_in_order(&r.text).into_iter().skip(5).collect();
    let mut sorted = rest.clone();
    sorted.sort();
    assert_eq!(rest, sorted);

    // A collection, with a next link after the entries; each entity starts with odata.type.
    let r = aad(&h, &t, Method::GET, "users?$top=1", None).await;
    assert_eq!(keys_in_order(&r.text), ["odata.metadata", "value", "odata.nextLink"], "{}", r.text);
    assert_eq!(keys_in_order(&first_entity_text(&r))[..4], identity[1..], "{}", r.text);

    // $links.
    let r = aad(&h, &t, Method::GET, &format!("groups/{gid}/$links/members"), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(first_keys(&r, 2), ["odata.metadata", "value"], "{}", r.text);

    // An error.
    let r = aad(&h, &t, Method::GET, "users/00000000-0000-0000-0000-00000000dead", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(
        r.text.starts_with(r#"{"odata.error":{"code":"Request_ResourceNotFound","message":{"lang":"en","value":"#),
        "{}",
        r.text
    );
}

#[tokio::test]
async fn owners_through_links_on_groups_applications_and_service_principals() {
    let h = Harness::new().await;
    let t = aad_token(&h).await;
    let owner = h.user("owner", "Owner").await["id"].as_str().expect("id").to_string();
    let group = h.group("owned", "Owned").await["id"].as_str().expect("id").to_string();
    let r = h.post("/v1.0/applications", json!({"displayName": "Owned app"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let app = r.json["id"].as_str().expect("id").to_string();
    let app_id = r.json["appId"].as_str().expect("appId").to_string();
    let r = h.post("/v1.0/servicePrincipals", json!({"appId": app_id})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let sp = r.json["id"].as_str().expect("id").to_string();
    let link = json!({"url": format!("https://graph.windows.net/{}/directoryObjects/{owner}", h.boot.tenant_id)});

    for (set, id) in [("groups", &group), ("applications", &app), ("servicePrincipals", &sp)] {
        let r = aad(&h, &t, Method::POST, &format!("{set}/{id}/$links/owners"), Some(link.clone())).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{set}: {}", r.text);
        // Navigation and $links read it back.
        let r = aad(&h, &t, Method::GET, &format!("{set}/{id}/owners"), None).await;
        assert_eq!(r.status, StatusCode::OK, "{set}: {}", r.text);
        assert_eq!(r.json["value"][0]["objectId"], json!(owner), "{set}: {}", r.text);
        assert_eq!(r.json["value"][0]["odata.type"], "Microsoft.DirectoryServices.User");
        let r = aad(&h, &t, Method::GET, &format!("{set}/{id}/$links/owners"), None).await;
        assert!(r.json["value"][0]["url"].as_str().expect("url").contains(&owner), "{set}: {}", r.text);
        // Graph v1.0 sees the same owner.
        let v1 = h.get(&format!("/v1.0/{set}/{id}/owners")).await;
        assert_eq!(v1.json["value"][0]["id"], json!(owner), "{set}: {}", v1.text);
        // Twice is a conflict of the directory's rules.
        let r = aad(&h, &t, Method::POST, &format!("{set}/{id}/$links/owners"), Some(link.clone())).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{set}: {}", r.text);
    }
    // The owner's ownedObjects lists all three.
    let r = aad(&h, &t, Method::GET, &format!("users/{owner}/ownedObjects"), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let mut owned: Vec<&str> =
        r.json["value"].as_array().expect("value").iter().filter_map(|o| o["objectId"].as_str()).collect();
    owned.sort_unstable();
    let mut want = vec![group.as_str(), app.as_str(), sp.as_str()];
    want.sort_unstable();
    assert_eq!(owned, want, "{}", r.text);
    // An application cannot own an application (Entra: users and service principals).
    let bad = json!({"url": format!("https://graph.windows.net/{}/directoryObjects/{group}", h.boot.tenant_id)});
    let r = aad(&h, &t, Method::POST, &format!("applications/{app}/$links/owners"), Some(bad)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);

    // Removing through $links empties the navigation.
    for (set, id) in [("groups", &group), ("applications", &app), ("servicePrincipals", &sp)] {
        let r = aad(&h, &t, Method::DELETE, &format!("{set}/{id}/$links/owners/{owner}"), None).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{set}: {}", r.text);
        let r = aad(&h, &t, Method::GET, &format!("{set}/{id}/owners"), None).await;
        assert_eq!(r.json["value"], json!([]), "{set}: {}", r.text);
    }
    let r = aad(&h, &t, Method::DELETE, &format!("applications/{app}/$links/owners/not-a-guid"), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
}

#[tokio::test]
async fn a_deleted_group_shows_in_the_next_differential_round() {
    let h = Harness::new().await;
    let t = aad_token(&h).await;
    let gid = h.group("gone", "Gone").await["id"].as_str().expect("id").to_string();
    let r = aad(&h, &t, Method::GET, "groups?deltaLink=", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let link = r.json["aad.deltaLink"].as_str().unwrap_or_else(|| panic!("one page, then a deltaLink: {}", r.text));
    assert_eq!(h.delete(&format!("/v1.0/groups/{gid}")).await.status, StatusCode::NO_CONTENT);
    let path = link.strip_prefix("https://cerulean.test").unwrap_or_else(|| panic!("absolute link: {link}"));
    let r = h.graph_with(Method::GET, &format!("{path}&api-version=1.6"), None, &t, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let gone = r.json["value"]
        .as_array()
        .expect("value")
        .iter()
        .find(|o| o["objectId"] == json!(gid))
        .unwrap_or_else(|| panic!("the deleted group: {}", r.text));
    assert_eq!(gone["aad.isDeleted"], true);
    assert_eq!(gone["objectType"], "Group");
    assert_eq!(gone["odata.type"], "Microsoft.DirectoryServices.Group");
    // The group itself is gone from the 1.6 collection.
    let r = aad(&h, &t, Method::GET, &format!("groups/{gid}"), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
}
