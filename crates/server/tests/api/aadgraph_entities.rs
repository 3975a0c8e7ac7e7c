//! Azure AD Graph (api-version 1.6) over the directory's devices, organizational contacts,
//! directory roles and role templates: the 1.6 shape and names, navigation, `$metadata`, the
//! 1.6 errors — and the same objects read and written through both APIs.

use axum::http::{Method, StatusCode};
use cerulean_directory::Caller;
use serde_json::{Value, json};

use crate::aadgraph::{aad, aad_token, code};
use crate::devices::{admin_delegated, device, get};
use crate::harness::{Harness, id_of};

const GLOBAL_ADMIN: &str = "62e90394-69f5-4237-9190-012177145e10";

async fn import_contact(h: &Harness, body: Value) -> String {
    let body = body.as_object().cloned().expect("object body");
    h.app.directory.import_contact(&Caller::system(h.tenant()), &body).await.expect("import").id.to_string()
}

fn value_ids(r: &crate::harness::Reply) -> Vec<String> {
    r.json["value"]
        .as_array()
        .unwrap_or_else(|| panic!("no value: {}", r.text))
        .iter()
        .map(|o| o["objectId"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn a_device_registered_on_v1_is_read_identically_through_1_6() {
    let h = Harness::new().await;
    let admin = admin_delegated(&h).await;
    let created = device(&h, &admin, "Kiosk 7", "Windows").await;
    let id = id_of(&created);
    let t = aad_token(&h).await;

    let r = aad(&h, &t, Method::GET, &format!("devices/{id}"), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let d = &r.json;
    assert_eq!(
        d["odata.metadata"],
        format!(
            "https://cerulean.test/{}/$metadata#directoryObjects/Microsoft.DirectoryServices.Device/@Element",
            h.boot.tenant_id
        )
    );
    assert_eq!(d["odata.type"], "Microsoft.DirectoryServices.Device");
    assert_eq!(d["objectType"], "Device");
    assert_eq!(d["objectId"], id);
    assert_eq!(d["deletionTimestamp"], Value::Null);
    // The v1.0 values under their 1.6 names.
    assert_eq!(d["displayName"], created["displayName"]);
    assert_eq!(d["deviceId"], created["deviceId"]);
    assert_eq!(d["accountEnabled"], created["accountEnabled"]);
    assert_eq!(d["deviceOSType"], created["operatingSystem"]);
    assert_eq!(d["deviceOSVersion"], created["operatingSystemVersion"]);
    assert_eq!(d["alternativeSecurityIds"], created["alternativeSecurityIds"]);
    assert_eq!(d["devicePhysicalIds"], json!([]));
    assert_eq!(d["approximateLastLogonTimestamp"], created["approximateLastSignInDateTime"]);
    assert!(d.get("operatingSystem").is_none() && d.get("id").is_none(), "{}", r.text);

    // Collection, $filter on a 1.6 name.
    let r = aad(&h, &t, Method::GET, "devices?$filter=deviceOSType eq 'Windows'", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(value_ids(&r), vec![id.clone()]);
    assert!(
        r.json["odata.metadata"]
            .as_str()
            .unwrap_or_default()
            .ends_with("#directoryObjects/Microsoft.DirectoryServices.Device")
    );
    let r = aad(&h, &t, Method::GET, "devices?$filter=deviceOSType eq 'iOS'", None).await;
    assert_eq!(value_ids(&r), Vec::<String>::new());

    // An update through 1.6 with a 1.6 name, read back on v1.0.
    let r = aad(&h, &t, Method::PATCH, &format!("devices/{id}"), Some(json!({"deviceOSVersion": "11.0"}))).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(get(&h, &format!("/v1.0/devices/{id}")).await.json["operatingSystemVersion"], "11.0");
    // The v1.0 name is not a 1.6 property.
    let r = aad(&h, &t, Method::PATCH, &format!("devices/{id}"), Some(json!({"operatingSystem": "x"}))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);

    // Registered owners and users.
    let me = get(&h, &format!("/v1.0/users/{}", h.boot.admin_user_principal_name)).await;
    let me = id_of(&me.json);
    let reference = json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{me}")});
    for nav in ["registeredOwners", "registeredUsers"] {
        let r = h
            .graph_with(Method::POST, &format!("/v1.0/devices/{id}/{nav}/$ref"), Some(reference.clone()), &admin, &[])
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
        let r = aad(&h, &t, Method::GET, &format!("devices/{id}/{nav}"), None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(value_ids(&r), vec![me.clone()]);
        assert_eq!(r.json["value"][0]["objectType"], "User");
        let r = aad(&h, &t, Method::GET, &format!("devices/{id}/$links/{nav}"), None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert!(r.json["value"][0]["url"].as_str().unwrap_or_default().contains(&me), "{}", r.text);
    }
    let r = aad(&h, &t, Method::GET, &format!("devices/{id}/memberOf"), None).await;
    assert_eq!(value_ids(&r), Vec::<String>::new(), "{}", r.text);
    let r = aad(&h, &t, Method::GET, &format!("devices/{id}/owners"), None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);

    // Delete through 1.6: gone on both.
    let r = aad(&h, &t, Method::DELETE, &format!("devices/{id}"), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(get(&h, &format!("/v1.0/devices/{id}")).await.status, StatusCode::NOT_FOUND);
    let r = aad(&h, &t, Method::GET, &format!("devices/{id}"), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    assert_eq!(code(&r), "Request_ResourceNotFound");
}

#[tokio::test]
async fn contacts_are_served_with_1_6_names_and_rules() {
    let h = Harness::new().await;
    let dana = import_contact(
        &h,
        json!({"displayName": "Dana", "companyName": "Fabrikam", "mail": "dana@fabrikam.com",
               "phones": [{"type": "mobile", "number": "+1 555 0100"}, {"type": "business", "number": "+1 555 0101"}],
               "addresses": [{"city": "Seattle", "countryOrRegion": "US", "street": "1 Main St", "postalCode": "98101",
                              "state": "WA", "officeLocation": "B/1"}]}),
    )
    .await;
    let synced = import_contact(&h, json!({"displayName": "Sam", "onPremisesSyncEnabled": true})).await;
    let t = aad_token(&h).await;

    let r = aad(&h, &t, Method::GET, &format!("contacts/{dana}"), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let c = &r.json;
    assert_eq!(c["odata.type"], "Microsoft.DirectoryServices.Contact");
    assert_eq!(c["objectType"], "Contact");
    assert_eq!(c["objectId"], dana);
    assert_eq!(c["deletionTimestamp"], Value::Null);
    assert_eq!(c["mobile"], "+1 555 0100");
    assert_eq!(c["telephoneNumber"], "+1 555 0101");
    assert_eq!(c["facsimileTelephoneNumber"], Value::Null);
    assert_eq!(c["city"], "Seattle");
    assert_eq!(c["country"], "US");
    assert_eq!(c["streetAddress"], "1 Main St");
    assert_eq!(c["physicalDeliveryOfficeName"], "B/1");
    assert_eq!(c["dirSyncEnabled"], Value::Null);
    assert_eq!(c["provisioningErrors"], json!([]));
    let r = aad(&h, &t, Method::GET, &format!("contacts/{synced}"), None).await;
    assert_eq!(r.json["dirSyncEnabled"], true, "{}", r.text);

    let r = aad(&h, &t, Method::GET, "contacts?$filter=dirSyncEnabled eq true", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(value_ids(&r), vec![synced.clone()]);

    // Updated through 1.6, read back on v1.0.
    let r =
        aad(&h, &t, Method::PATCH, &format!("contacts/{dana}"), Some(json!({"jobTitle": "Buyer", "surname": "Ray"})))
            .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let v1 = get(&h, &format!("/v1.0/contacts/{dana}")).await;
    assert_eq!(
        (v1.json["jobTitle"].clone(), v1.json["surname"].clone()),
        (json!("Buyer"), json!("Ray")),
        "{}",
        v1.text
    );

    // "You cannot create organizational contacts with the Graph API."
    let r = aad(&h, &t, Method::POST, "contacts", Some(json!({"displayName": "New"}))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(code(&r), "Request_BadRequest");
    // "You cannot update or delete contacts for which the dirSyncEnabled property is true."
    let r = aad(&h, &t, Method::PATCH, &format!("contacts/{synced}"), Some(json!({"jobTitle": "x"}))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = aad(&h, &t, Method::DELETE, &format!("contacts/{synced}"), None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    // The flattened phones and address are written too: see `aadgraph_contacts.rs`.

    // memberOf (a group on v1.0) and directReports (a contact reporting to her).
    let r = h
        .post(
            "/v1.0/groups",
            json!({"displayName": "Suppliers", "mailEnabled": false, "mailNickname": "suppliers", "securityEnabled": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let group = id_of(&r.json);
    let reference = json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{dana}")});
    let r = h.post(&format!("/v1.0/groups/{group}/members/$ref"), reference).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = aad(&h, &t, Method::GET, &format!("contacts/{dana}/memberOf"), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(value_ids(&r), vec![group.clone()]);
    assert_eq!(r.json["value"][0]["objectType"], "Group");
    let report = import_contact(
        &h,
        json!({"displayName": "Report", "manager@odata.bind": format!("https://graph.microsoft.com/v1.0/directoryObjects/{dana}")}),
    )
    .await;
    let r = aad(&h, &t, Method::GET, &format!("contacts/{dana}/directReports"), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(value_ids(&r), vec![report.clone()]);
    assert_eq!(r.json["value"][0]["objectType"], "Contact");
    let r = aad(&h, &t, Method::GET, &format!("contacts/{dana}/registeredOwners"), None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);

    let r = aad(&h, &t, Method::DELETE, &format!("contacts/{dana}"), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = aad(&h, &t, Method::GET, &format!("contacts/{dana}"), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    assert_eq!(code(&r), "Request_ResourceNotFound");
}

#[tokio::test]
async fn directory_roles_and_templates() {
    let h = Harness::new().await;
    let t = aad_token(&h).await;

    let r = aad(&h, &t, Method::GET, "directoryRoleTemplates", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let all = r.json["value"].as_array().expect("value");
    let ga = all.iter().find(|x| x["objectId"] == GLOBAL_ADMIN).expect("global administrator template");
    assert_eq!(ga["odata.type"], "Microsoft.DirectoryServices.DirectoryRoleTemplate");
    assert_eq!(ga["objectType"], "RoleTemplate");
    assert_eq!(ga["displayName"], "Global Administrator");
    let v1 = get(&h, &format!("/v1.0/directoryRoleTemplates/{GLOBAL_ADMIN}")).await;
    assert_eq!(ga["description"], v1.json["description"]);

    let r = aad(&h, &t, Method::GET, &format!("directoryRoleTemplates/{GLOBAL_ADMIN}"), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["displayName"], "Global Administrator");
    let missing = uuid::Uuid::new_v4();
    let r = aad(&h, &t, Method::GET, &format!("directoryRoleTemplates/{missing}"), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    assert_eq!(code(&r), "Request_ResourceNotFound");
    let r = aad(&h, &t, Method::POST, "directoryRoleTemplates", Some(json!({}))).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{}", r.text);
    let r = aad(&h, &t, Method::GET, "directoryRoleTemplates?$top=1", None).await;
    assert_eq!(code(&r), "Request_UnsupportedQuery", "{}", r.text);

    // The activated Global Administrator role, its template and members.
    let r = aad(&h, &t, Method::GET, "directoryRoles", None).await;
    let role = r.json["value"]
        .as_array()
        .and_then(|v| v.iter().find(|x| x["roleTemplateId"] == GLOBAL_ADMIN))
        .cloned()
        .unwrap_or_else(|| panic!("no global admin role: {}", r.text));
    let role_id = role["objectId"].as_str().expect("id");
    let r = aad(&h, &t, Method::GET, &format!("directoryRoles/{role_id}"), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["odata.type"], "Microsoft.DirectoryServices.DirectoryRole");
    let r = aad(&h, &t, Method::GET, &format!("directoryRoles/{role_id}/members"), None).await;
    assert_eq!(r.json["value"][0]["userPrincipalName"], h.boot.admin_user_principal_name, "{}", r.text);
    let r = aad(&h, &t, Method::GET, &format!("directoryRoles/{}", uuid::Uuid::new_v4()), None).await;
    assert_eq!(code(&r), "Request_ResourceNotFound", "{}", r.text);
}

#[tokio::test]
async fn metadata_declares_the_new_types() {
    let h = Harness::new().await;
    let r = h.get(&format!("/{}/$metadata?api-version=1.6", h.boot.tenant_id)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    for needle in [
        "<EntityType Name=\"Device\" BaseType=\"Microsoft.DirectoryServices.DirectoryObject\"",
        "<Property Name=\"deviceOSType\" Type=\"Edm.String\" />",
        "<Property Name=\"approximateLastLogonTimestamp\" Type=\"Edm.DateTime\" />",
        "<Property Name=\"alternativeSecurityIds\" Type=\"Collection(Microsoft.DirectoryServices.AlternativeSecurityId)\" />",
        "<EntityType Name=\"Contact\" BaseType=\"Microsoft.DirectoryServices.DirectoryObject\"",
        "<Property Name=\"dirSyncEnabled\" Type=\"Edm.Boolean\" />",
        "<EntityType Name=\"DirectoryRoleTemplate\" BaseType=\"Microsoft.DirectoryServices.DirectoryObject\"",
        "<Property Name=\"thumbnailPhoto\" Type=\"Edm.Stream\" Nullable=\"false\" />",
        "<EntityType Name=\"ExtensionProperty\" BaseType=\"Microsoft.DirectoryServices.DirectoryObject\"",
        "<EntitySet Name=\"subscribedSkus\" EntityType=\"Microsoft.DirectoryServices.SubscribedSku\" />",
        "<ComplexType Name=\"AssignedLicense\">",
        "<FunctionImport Name=\"getAvailableExtensionProperties\"",
        "<FunctionImport Name=\"assignLicense\"",
        "<FunctionImport Name=\"changePassword\"",
    ] {
        assert!(r.text.contains(needle), "missing {needle}");
    }
    assert!(!r.text.contains("\"operatingSystem\""));
    // The one XML document: asked for as XML (as OData clients ask), it is served, not refused.
    let path = format!("/{}/$metadata?api-version=1.6", h.boot.tenant_id);
    let xml = h.graph_with(Method::GET, &path, None, "", &[("accept", "application/xml")]).await;
    assert_eq!(xml.status, StatusCode::OK, "{}", xml.text);
    assert!(xml.text.starts_with("<?xml"), "{}", xml.text);
}
