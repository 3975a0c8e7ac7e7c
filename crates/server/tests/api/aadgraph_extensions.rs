//! Directory extensions on Azure AD Graph 1.6: `applications/{id}/extensionProperties`,
//! `getAvailableExtensionProperties`, and extension values on 1.6 users and groups (read,
//! write, `$filter`) — the same definitions and stored values as Graph v1.0.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::aadgraph::{aad, aad_token, code};
use crate::harness::{Harness, id_of};

#[tokio::test]
async fn extension_properties_and_values_on_1_6() {
    let h = Harness::new().await;
    let t = aad_token(&h).await;
    let app = h.post("/v1.0/applications", json!({"displayName": "Skype directory"})).await;
    assert_eq!(app.status, StatusCode::CREATED, "{}", app.text);
    let app_obj = id_of(&app.json);
    let app_id = app.json["appId"].as_str().expect("appId").replace('-', "");
    let name = format!("extension_{app_id}_skypeId");

    // Create and list in the 1.6 shape.
    let r = aad(
        &h,
        &t,
        Method::POST,
        &format!("applications/{app_obj}/extensionProperties"),
        Some(json!({"name": "skypeId", "dataType": "String", "targetObjects": ["User"]})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.json["odata.type"], "Microsoft.DirectoryServices.ExtensionProperty");
    assert_eq!(r.json["objectType"], "ExtensionProperty");
    assert_eq!(r.json["name"], name);
    assert_eq!(r.json["appDisplayName"], "Skype directory");
    assert!(r.json["odata.metadata"].as_str().is_some_and(|m| m.ends_with("ExtensionProperty/@Element")), "{}", r.text);
    let ext_id = r.json["objectId"].as_str().expect("objectId").to_string();
    let list = aad(&h, &t, Method::GET, &format!("applications/{app_obj}/extensionProperties"), None).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    assert_eq!(list.json["value"][0]["objectId"], ext_id.as_str());
    let one = aad(&h, &t, Method::GET, &format!("applications/{app_obj}/extensionProperties/{ext_id}"), None).await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.text);
    // The same definition on v1.0.
    let v1 = h.get(&format!("/v1.0/applications/{app_obj}/extensionProperties")).await;
    assert_eq!(v1.json["value"][0]["id"], ext_id.as_str());

    let avail =
        aad(&h, &t, Method::POST, "getAvailableExtensionProperties", Some(json!({"isSyncedFromOnPremises": false})))
            .await;
    assert_eq!(avail.status, StatusCode::OK, "{}", avail.text);
    assert_eq!(avail.json["value"].as_array().map(Vec::len), Some(1));
    let bad =
        aad(&h, &t, Method::POST, "getAvailableExtensionProperties", Some(json!({"isSyncedFromOnPremises": 1}))).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text);
    let r = aad(&h, &t, Method::GET, "getAvailableExtensionProperties", None).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{}", r.text);

    // Errors in the 1.6 wire shape.
    let r = aad(
        &h,
        &t,
        Method::POST,
        &format!("applications/{app_obj}/extensionProperties"),
        Some(json!({"name": "x", "dataType": "Float", "targetObjects": ["User"]})),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(code(&r), "Request_BadRequest");
    let r =
        aad(&h, &t, Method::GET, &format!("applications/{app_obj}/extensionProperties/{}", uuid::Uuid::new_v4()), None)
            .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    assert_eq!(code(&r), "Request_ResourceNotFound");

    // Values: written through 1.6, read through both; written through v1.0, read through 1.6.
    let adele = id_of(&h.user("adele", "Adele Vance").await);
    let alex = id_of(&h.user("alex", "Alex Wilber").await);
    let r = aad(&h, &t, Method::PATCH, &format!("users/{adele}"), Some(json!({name.clone(): "adele.skype"}))).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let u = aad(&h, &t, Method::GET, &format!("users/{adele}"), None).await;
    assert_eq!(u.json[&name], "adele.skype", "{}", u.text);
    let v = h.get(&format!("/v1.0/users/{adele}?$select={name}")).await;
    assert_eq!(v.json[&name], "adele.skype");
    let r = h.patch(&format!("/v1.0/users/{alex}"), json!({name.clone(): "alex.skype"})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let u = aad(&h, &t, Method::GET, &format!("users/{alex}"), None).await;
    assert_eq!(u.json[&name], "alex.skype");
    let r = aad(&h, &t, Method::PATCH, &format!("users/{adele}"), Some(json!({name.clone(): 5}))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r =
        aad(&h, &t, Method::PATCH, &format!("users/{adele}"), Some(json!({format!("extension_{app_id}_nope"): "x"})))
            .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let group = id_of(&h.group("g1", "G1").await);
    let r = aad(&h, &t, Method::PATCH, &format!("groups/{group}"), Some(json!({name.clone(): "x"}))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);

    // $filter on 1.6.
    let f = aad(&h, &t, Method::GET, &format!("users?$filter={name} eq 'alex.skype'"), None).await;
    assert_eq!(f.status, StatusCode::OK, "{}", f.text);
    let ids: Vec<&str> =
        f.json["value"].as_array().into_iter().flatten().filter_map(|v| v["objectId"].as_str()).collect();
    assert_eq!(ids, vec![alex.as_str()]);
    let f = aad(&h, &t, Method::GET, &format!("users?$filter=extension_{app_id}_nope eq 'x'"), None).await;
    assert_eq!(f.status, StatusCode::BAD_REQUEST, "{}", f.text);

    // Created with a value through 1.6.
    let mut body = crate::harness::user_body("megan", "Megan Bowen");
    body["passwordProfile"] = json!({"password": "xWwvJ]6NMw+bWH-d", "forceChangePasswordNextLogin": false});
    body[&name] = json!("megan.skype");
    let r = aad(&h, &t, Method::POST, "users", Some(body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.json[&name], "megan.skype", "{}", r.text);

    // Deleting the definition removes the values everywhere.
    let r = aad(&h, &t, Method::DELETE, &format!("applications/{app_obj}/extensionProperties/{ext_id}"), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let u = aad(&h, &t, Method::GET, &format!("users/{adele}"), None).await;
    assert!(u.json.get(&name).is_none(), "{}", u.text);
    let list = aad(&h, &t, Method::GET, &format!("applications/{app_obj}/extensionProperties"), None).await;
    assert_eq!(list.json["value"], json!([]));
}
