//! Directory extensions (`/applications/{id}/extensionProperties`,
//! `getAvailableExtensionProperties`) and their values on users and groups: typed writes,
//! returned only when `$select`ed, `$filter`, gone with their definition.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::harness::{Harness, id_of};

/// Creates an application and returns (object id, appId without dashes).
async fn app(h: &Harness, name: &str) -> (String, String) {
    let r = h.post("/v1.0/applications", json!({"displayName": name})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let app_id = r.json["appId"].as_str().expect("appId").replace('-', "");
    (id_of(&r.json), app_id)
}

async fn define(h: &Harness, app: &str, body: Value) -> Value {
    let r = h.post(&format!("/v1.0/applications/{app}/extensionProperties"), body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.json
}

fn q(s: &str) -> String {
    s.replace(' ', "%20").replace('\'', "%27")
}

#[tokio::test]
async fn definitions_are_created_listed_and_deleted() {
    let h = Harness::new().await;
    let (app_obj, app_id) = app(&h, "HR sync").await;
    let def =
        define(&h, &app_obj, json!({"name": "costCenter", "dataType": "String", "targetObjects": ["User"]})).await;
    assert_eq!(def["name"], format!("extension_{app_id}_costCenter"));
    assert_eq!(def["dataType"], "String");
    assert_eq!(def["isMultiValued"], false);
    assert_eq!(def["isSyncedFromOnPremises"], false);
    assert_eq!(def["appDisplayName"], "HR sync");
    assert_eq!(def["targetObjects"], json!(["User"]));

    let list = h.get(&format!("/v1.0/applications/{app_obj}/extensionProperties")).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    assert_eq!(list.json["value"].as_array().map(Vec::len), Some(1));
    let one = h.get(&format!("/v1.0/applications/{app_obj}/extensionProperties/{}", id_of(&def))).await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.text);
    assert_eq!(one.json["name"], def["name"]);

    // Another application's definitions are not this one's.
    let (other, _) = app(&h, "Other").await;
    let list = h.get(&format!("/v1.0/applications/{other}/extensionProperties")).await;
    assert_eq!(list.json["value"], json!([]));
    let r = h.get(&format!("/v1.0/applications/{other}/extensionProperties/{}", id_of(&def))).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    let avail = h.post("/v1.0/directoryObjects/getAvailableExtensionProperties", json!({})).await;
    assert_eq!(avail.status, StatusCode::OK, "{}", avail.text);
    let names: Vec<&str> =
        avail.json["value"].as_array().into_iter().flatten().filter_map(|v| v["name"].as_str()).collect();
    assert!(names.contains(&def["name"].as_str().unwrap_or_default()), "{names:?}");
    let synced =
        h.post("/v1.0/directoryObjects/getAvailableExtensionProperties", json!({"isSyncedFromOnPremises": true})).await;
    assert_eq!(synced.json["value"], json!([]));
    let bad = h
        .post("/v1.0/directoryObjects/getAvailableExtensionProperties", json!({"isSyncedFromOnPremises": "yes"}))
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);

    let del = h.delete(&format!("/v1.0/applications/{app_obj}/extensionProperties/{}", id_of(&def))).await;
    assert_eq!(del.status, StatusCode::NO_CONTENT, "{}", del.text);
    let list = h.get(&format!("/v1.0/applications/{app_obj}/extensionProperties")).await;
    assert_eq!(list.json["value"], json!([]));
    let again = h.delete(&format!("/v1.0/applications/{app_obj}/extensionProperties/{}", id_of(&def))).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn definitions_are_validated() {
    let h = Harness::new().await;
    let (app_obj, _) = app(&h, "Validator").await;
    let path = format!("/v1.0/applications/{app_obj}/extensionProperties");
    for (body, needle) in [
        (json!({"dataType": "String", "targetObjects": ["User"]}), "name"),
        (json!({"name": "x", "targetObjects": ["User"]}), "dataType"),
        (json!({"name": "x", "dataType": "String"}), "targetObjects"),
        (json!({"name": "x", "dataType": "Float", "targetObjects": ["User"]}), "dataType"),
        (json!({"name": "x", "dataType": "String", "targetObjects": ["Printer"]}), "targetObjects"),
        (json!({"name": "bad-name", "dataType": "String", "targetObjects": ["User"]}), "name"),
        (json!({"name": "x", "dataType": "String", "targetObjects": ["User"], "isMultiValued": "no"}), "isMultiValued"),
        (json!({"name": "x", "dataType": "String", "targetObjects": ["User"], "colour": "red"}), "colour"),
        (json!({"name": "x", "dataType": "String", "targetObjects": ["User"], "appDisplayName": "y"}), "read-only"),
    ] {
        let r = h.post(&path, body.clone()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {}", r.text);
        assert!(r.message().contains(needle), "{body}: {}", r.text);
    }
    define(&h, &app_obj, json!({"name": "dup", "dataType": "String", "targetObjects": ["User"]})).await;
    let r = h.post(&path, json!({"name": "dup", "dataType": "Integer", "targetObjects": ["Group"]})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = h
        .post(
            "/v1.0/applications/00000000-0000-0000-0000-000000000001/extensionProperties",
            json!({"name": "x", "dataType": "String", "targetObjects": ["User"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn values_are_typed_selected_filtered_and_go_with_their_definition() {
    let h = Harness::new().await;
    let (app_obj, app_id) = app(&h, "Profile").await;
    let cost = format!("extension_{app_id}_costCenter");
    let level = format!("extension_{app_id}_level");
    let tags = format!("extension_{app_id}_tags");
    let hired = format!("extension_{app_id}_hired");
    define(&h, &app_obj, json!({"name": "costCenter", "dataType": "String", "targetObjects": ["User", "Group"]})).await;
    define(&h, &app_obj, json!({"name": "level", "dataType": "Integer", "targetObjects": ["User"]})).await;
    define(
        &h,
        &app_obj,
        json!({"name": "tags", "dataType": "String", "isMultiValued": true, "targetObjects": ["User"]}),
    )
    .await;
    let hired_def =
        define(&h, &app_obj, json!({"name": "hired", "dataType": "DateTime", "targetObjects": ["User"]})).await;

    let adele = id_of(&h.user("adele", "Adele Vance").await);
    let alex = id_of(&h.user("alex", "Alex Wilber").await);
    let r = h
        .patch(
            &format!("/v1.0/users/{adele}"),
            json!({cost.clone(): "CC-100", level.clone(): 3, tags.clone(): ["a", "b"], hired.clone(): "2024-01-02T03:04:05.123+01:00", "jobTitle": "Engineer"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = h.patch(&format!("/v1.0/users/{alex}"), json!({cost.clone(): "CC-200", level.clone(): 5})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);

    // Not returned by default; returned when selected.
    let plain = h.get(&format!("/v1.0/users/{adele}")).await;
    assert!(plain.json.get(&cost).is_none(), "{}", plain.text);
    assert_eq!(plain.json["jobTitle"], "Engineer");
    let sel = h.get(&format!("/v1.0/users/{adele}?$select=id,{cost},{level},{tags},{hired}")).await;
    assert_eq!(sel.status, StatusCode::OK, "{}", sel.text);
    assert_eq!(sel.json[&cost], "CC-100");
    assert_eq!(sel.json[&level], 3);
    assert_eq!(sel.json[&tags], json!(["a", "b"]));
    assert_eq!(sel.json[&hired], "2024-01-02T02:04:05Z");

    // $filter through the OData engine, on lists.
    let f = h.get(&format!("/v1.0/users?$filter={}&$select=id,{cost}", q(&format!("{cost} eq 'CC-200'")))).await;
    assert_eq!(f.status, StatusCode::OK, "{}", f.text);
    let ids: Vec<&str> = f.json["value"].as_array().into_iter().flatten().filter_map(|v| v["id"].as_str()).collect();
    assert_eq!(ids, vec![alex.as_str()]);
    assert_eq!(f.json["value"][0][&cost], "CC-200");
    let f = h.get(&format!("/v1.0/users?$filter={}", q(&format!("{level} ge 4")))).await;
    assert_eq!(f.status, StatusCode::OK, "{}", f.text);
    let ids: Vec<&str> = f.json["value"].as_array().into_iter().flatten().filter_map(|v| v["id"].as_str()).collect();
    assert_eq!(ids, vec![alex.as_str()]);
    let f = h.get(&format!("/v1.0/users?$filter={}", q(&format!("{tags}/any(t:t eq 'b')")))).await;
    assert_eq!(f.status, StatusCode::OK, "{}", f.text);
    let ids: Vec<&str> = f.json["value"].as_array().into_iter().flatten().filter_map(|v| v["id"].as_str()).collect();
    assert_eq!(ids, vec![adele.as_str()]);
    let f = h.get(&format!("/v1.0/users?$filter={}", q(&format!("{level} eq 'high'")))).await;
    assert_eq!(f.status, StatusCode::BAD_REQUEST, "{}", f.text);
    let f = h.get(&format!("/v1.0/users?$filter={}", q(&format!("extension_{app_id}_nothing eq 'x'")))).await;
    assert_eq!(f.status, StatusCode::BAD_REQUEST, "{}", f.text);
    let f = h.get(&format!("/v1.0/users?$select=extension_{app_id}_nothing")).await;
    assert_eq!(f.status, StatusCode::BAD_REQUEST, "{}", f.text);

    // Type-checked writes; unknown names and targets refused; nothing written on refusal.
    for body in [
        json!({level.clone(): "three"}),
        json!({level.clone(): 4_294_967_296_i64}),
        json!({tags.clone(): "not-a-list"}),
        json!({cost.clone(): ["a"]}),
        json!({hired.clone(): "yesterday"}),
        json!({cost.clone(): "x".repeat(257)}),
        json!({format!("extension_{app_id}_unknown"): "x"}),
        json!({"jobTitle": "Changed", level.clone(): "three"}),
    ] {
        let r = h.patch(&format!("/v1.0/users/{adele}"), body.clone()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {}", r.text);
    }
    let r = h.patch(&format!("/v1.0/users/{adele}"), json!({format!("extension_{app_id}_unknown"): "x"})).await;
    assert!(r.message().contains("does not exist as a declared property or extension property"), "{}", r.text);
    let after = h.get(&format!("/v1.0/users/{adele}?$select=jobTitle,{level}")).await;
    assert_eq!(after.json["jobTitle"], "Engineer");
    assert_eq!(after.json[&level], 3);
    // `level` targets users only.
    let group = id_of(&h.group("finance", "Finance").await);
    let r = h.patch(&format!("/v1.0/groups/{group}"), json!({level.clone(): 1})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = h.patch(&format!("/v1.0/groups/{group}"), json!({cost.clone(): "CC-300"})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let g = h.get(&format!("/v1.0/groups/{group}?$select=displayName,{cost}")).await;
    assert_eq!(g.json[&cost], "CC-300");

    // Set on create too.
    let mut body = crate::harness::user_body("megan", "Megan Bowen");
    body[&cost] = json!("CC-900");
    let r = h.post("/v1.0/users", body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let megan = id_of(&r.json);
    let m = h.get(&format!("/v1.0/users/{megan}?$select={cost}")).await;
    assert_eq!(m.json[&cost], "CC-900");

    // null clears a value.
    let r = h.patch(&format!("/v1.0/users/{alex}"), json!({level.clone(): null})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let a = h.get(&format!("/v1.0/users/{alex}?$select={level}")).await;
    assert!(a.json.get(&level).is_none(), "{}", a.text);

    // Deleting the definition makes its values disappear.
    let del = h.delete(&format!("/v1.0/applications/{app_obj}/extensionProperties/{}", id_of(&hired_def))).await;
    assert_eq!(del.status, StatusCode::NO_CONTENT);
    let gone = h.get(&format!("/v1.0/users/{adele}?$select={hired}")).await;
    assert_eq!(gone.status, StatusCode::BAD_REQUEST, "{}", gone.text);
    let f = h.get(&format!("/v1.0/users?$filter={}", q(&format!("{hired} eq 2024-01-02T02:04:05Z")))).await;
    assert_eq!(f.status, StatusCode::BAD_REQUEST, "{}", f.text);
}

const OPEN: &str = "#microsoft.graph.openTypeExtension";

#[tokio::test]
async fn open_extensions_on_users_and_groups() {
    let h = Harness::new().await;
    let adele = id_of(&h.user("adele", "Adele Vance").await);
    let base = format!("/v1.0/users/{adele}/extensions");
    let r = h
        .post(
            &base,
            json!({"@odata.type": OPEN, "extensionName": "com.contoso.roamingSettings", "theme": "dark", "color": "purple", "lang": "Japanese", "sizes": [1, 2]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.json["@odata.type"], OPEN);
    assert_eq!(r.json["id"], "com.contoso.roamingSettings");
    assert_eq!(r.json["extensionName"], "com.contoso.roamingSettings");
    assert_eq!(r.json["theme"], "dark");
    assert_eq!(r.json["sizes"], json!([1, 2]));

    let list = h.get(&base).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    assert_eq!(list.json["value"].as_array().map(Vec::len), Some(1));
    let one = h.get(&format!("{base}/com.contoso.roamingSettings")).await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.text);
    assert_eq!(one.json["color"], "purple");

    // PATCH merges; null removes a property.
    let r = h
        .patch(
            &format!("{base}/com.contoso.roamingSettings"),
            json!({"@odata.type": OPEN, "theme": "light", "lang": null}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let one = h.get(&format!("{base}/com.contoso.roamingSettings")).await;
    assert_eq!(one.json["theme"], "light");
    assert_eq!(one.json["color"], "purple");
    assert!(one.json.get("lang").is_none(), "{}", one.text);

    // $expand=extensions on the user, single and in a list.
    let u = h.get(&format!("/v1.0/users/{adele}?$expand=extensions")).await;
    assert_eq!(u.status, StatusCode::OK, "{}", u.text);
    assert_eq!(u.json["extensions"][0]["id"], "com.contoso.roamingSettings");
    assert_eq!(u.json["extensions"][0]["theme"], "light");
    let l = h.get("/v1.0/users?$expand=extensions").await;
    assert_eq!(l.status, StatusCode::OK, "{}", l.text);
    let mine = l.json["value"].as_array().into_iter().flatten().find(|v| v["id"] == adele.as_str()).cloned();
    assert_eq!(mine.map(|m| m["extensions"].as_array().map(Vec::len)), Some(Some(1)));
    // Not returned without $expand.
    assert!(h.get(&format!("/v1.0/users/{adele}")).await.json.get("extensions").is_none());

    // Errors.
    for body in [
        json!({"extensionName": "x.y", "a": 1}),
        json!({"@odata.type": "#microsoft.graph.user", "extensionName": "x.y"}),
        json!({"@odata.type": OPEN, "a": 1}),
        json!({"@odata.type": OPEN, "extensionName": "x.y", "nested": {"a": 1}}),
        json!({"@odata.type": OPEN, "extensionName": "x.y", "big": "x".repeat(3000)}),
    ] {
        let r = h.post(&base, body.clone()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {}", r.text);
    }
    let dup = h.post(&base, json!({"@odata.type": OPEN, "extensionName": "COM.contoso.roamingSettings"})).await;
    assert_eq!(dup.status, StatusCode::CONFLICT, "{}", dup.text);
    let r = h.post(&base, json!({"@odata.type": OPEN, "extensionName": "second"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let third = h.post(&base, json!({"@odata.type": OPEN, "extensionName": "third"})).await;
    assert_eq!(third.status, StatusCode::BAD_REQUEST, "{}", third.text);
    let r = h.patch(&format!("{base}/second"), json!({"extensionName": "renamed"})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = h.get(&format!("{base}/nothing")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let r = h.get(&format!("/v1.0/users/{}/extensions", uuid::Uuid::new_v4())).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);

    // Delete.
    let r = h.delete(&format!("{base}/second")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(h.get(&format!("{base}/second")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(h.delete(&format!("{base}/second")).await.status, StatusCode::NOT_FOUND);

    // Groups have them too; names are per object.
    let group = id_of(&h.group("sales", "Sales").await);
    let gbase = format!("/v1.0/groups/{group}/extensions");
    let r = h
        .post(&gbase, json!({"@odata.type": OPEN, "extensionName": "com.contoso.roamingSettings", "region": "EU"}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let g = h.get(&format!("/v1.0/groups/{group}?$expand=extensions")).await;
    assert_eq!(g.json["extensions"][0]["region"], "EU", "{}", g.text);

    // A token without a user permission cannot read them.
    let token = h.sign(h.claims(&["Group.Read.All"])).await;
    let r = h.graph_with(axum::http::Method::GET, &base, None, &token, &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
}

#[tokio::test]
async fn schema_extensions_lifecycle_values_and_filter() {
    let h = Harness::new().await;
    let body = json!({
        "id": "courses",
        "description": "Training courses",
        "targetTypes": ["User"],
        "properties": [
            {"name": "courseId", "type": "Integer"},
            {"name": "courseName", "type": "String"},
            {"name": "courseType", "type": "String"}
        ]
    });
    let r = h.post("/v1.0/schemaExtensions", body.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.json["id"].as_str().expect("id").to_string();
    assert!(id.starts_with("ext") && id.ends_with("_courses") && id.len() == "ext12345678_courses".len(), "{id}");
    assert_eq!(r.json["status"], "InDevelopment");
    assert_eq!(r.json["owner"], h.boot.client_id.to_ascii_lowercase());
    assert_eq!(r.json["targetTypes"], json!(["User"]));

    let one = h.get(&format!("/v1.0/schemaExtensions/{id}")).await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.text);
    assert_eq!(one.json["properties"][1]["name"], "courseName");
    let f = h.get(&format!("/v1.0/schemaExtensions?$filter=id%20eq%20%27{id}%27")).await;
    assert_eq!(f.status, StatusCode::OK, "{}", f.text);
    assert_eq!(f.json["value"].as_array().map(Vec::len), Some(1));
    let f = h.get("/v1.0/schemaExtensions?$filter=status%20eq%20%27Available%27").await;
    assert_eq!(f.json["value"], json!([]));
    let f = h.get("/v1.0/schemaExtensions?$filter=startswith(id,%27ext%27)").await;
    assert_eq!(f.status, StatusCode::BAD_REQUEST, "{}", f.text);

    // Values on a user: a complex property named by the id, typed, returned when selected.
    let adele = id_of(&h.user("adele", "Adele Vance").await);
    let alex = id_of(&h.user("alex", "Alex Wilber").await);
    let r = h
        .patch(
            &format!("/v1.0/users/{adele}"),
            json!({id.clone(): {"courseId": 101, "courseName": "Rust", "courseType": "Developer"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r =
        h.patch(&format!("/v1.0/users/{alex}"), json!({id.clone(): {"courseId": 102, "courseType": "Admin"}})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let u = h.get(&format!("/v1.0/users/{adele}?$select=displayName,{id}")).await;
    assert_eq!(u.status, StatusCode::OK, "{}", u.text);
    assert_eq!(u.json[&id], json!({"courseId": 101, "courseName": "Rust", "courseType": "Developer"}));
    assert!(h.get(&format!("/v1.0/users/{adele}")).await.json.get(&id).is_none());
    // Members merge.
    let r = h.patch(&format!("/v1.0/users/{adele}"), json!({id.clone(): {"courseName": "Rust 2"}})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let u = h.get(&format!("/v1.0/users/{adele}?$select={id}")).await;
    assert_eq!(u.json[&id]["courseName"], "Rust 2");
    assert_eq!(u.json[&id]["courseId"], 101);
    let f = h.get(&format!("/v1.0/users?$filter={}&$select=id", q(&format!("{id}/courseType eq 'Developer'")))).await;
    assert_eq!(f.status, StatusCode::OK, "{}", f.text);
    let ids: Vec<&str> = f.json["value"].as_array().into_iter().flatten().filter_map(|v| v["id"].as_str()).collect();
    assert_eq!(ids, vec![adele.as_str()]);
    let f = h.get(&format!("/v1.0/users?$filter={}", q(&format!("{id}/nothing eq 'x'")))).await;
    assert_eq!(f.status, StatusCode::BAD_REQUEST, "{}", f.text);
    for bad in [
        json!({id.clone(): {"courseId": "x"}}),
        json!({id.clone(): {"unknown": 1}}),
        json!({id.clone(): "flat"}),
        json!({"extnothing_courses": {"courseId": 1}}),
    ] {
        let r = h.patch(&format!("/v1.0/users/{adele}"), bad.clone()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.text);
    }
    // Groups are not a target.
    let group = id_of(&h.group("g", "G").await);
    let r = h.patch(&format!("/v1.0/groups/{group}"), json!({id.clone(): {"courseId": 1}})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);

    // Updates: additive only, status forward only.
    let r = h
        .patch(
            &format!("/v1.0/schemaExtensions/{id}"),
            json!({"properties": [{"name": "courseId", "type": "Integer"}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let mut props = body["properties"].as_array().cloned().unwrap_or_default();
    props.push(json!({"name": "hours", "type": "Integer"}));
    let r = h
        .patch(&format!("/v1.0/schemaExtensions/{id}"), json!({"properties": props, "targetTypes": ["User", "Group"]}))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = h.patch(&format!("/v1.0/groups/{group}"), json!({id.clone(): {"hours": 3}})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = h.patch(&format!("/v1.0/schemaExtensions/{id}"), json!({"targetTypes": ["Group"]})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = h.patch(&format!("/v1.0/schemaExtensions/{id}"), json!({"status": "Available"})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = h.patch(&format!("/v1.0/schemaExtensions/{id}"), json!({"status": "InDevelopment"})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = h.patch(&format!("/v1.0/schemaExtensions/{id}"), json!({"status": "Retired"})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    // Not deletable once Available.
    let r = h.delete(&format!("/v1.0/schemaExtensions/{id}")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = h.patch(&format!("/v1.0/schemaExtensions/{id}"), json!({"status": "Deprecated"})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    // Deprecated: values stay readable, cannot be written.
    let r = h.patch(&format!("/v1.0/users/{alex}"), json!({id.clone(): {"courseId": 5}})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let u = h.get(&format!("/v1.0/users/{alex}?$select={id}")).await;
    assert_eq!(u.json[&id]["courseId"], 102);

    // Only the owner app updates or deletes.
    let other = h
        .post(
            "/v1.0/schemaExtensions",
            json!({"id": "draft", "targetTypes": ["User"], "properties": [{"name": "a", "type": "String"}]}),
        )
        .await;
    assert_eq!(other.status, StatusCode::CREATED, "{}", other.text);
    let draft = other.json["id"].as_str().expect("id").to_string();
    let mut claims = h.claims(&["Application.ReadWrite.All"]);
    claims["appid"] = json!(uuid::Uuid::new_v4().to_string());
    let stranger = h.sign(claims).await;
    let r = h
        .graph_with(axum::http::Method::DELETE, &format!("/v1.0/schemaExtensions/{draft}"), None, &stranger, &[])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r = h.delete(&format!("/v1.0/schemaExtensions/{draft}")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(h.get(&format!("/v1.0/schemaExtensions/{draft}")).await.status, StatusCode::NOT_FOUND);

    // Create errors.
    for bad in [
        json!({"targetTypes": ["User"], "properties": []}),
        json!({"id": "bad-name", "targetTypes": ["User"], "properties": []}),
        json!({"id": "x", "properties": []}),
        json!({"id": "x", "targetTypes": ["Message"], "properties": []}),
        json!({"id": "x", "targetTypes": ["User"]}),
        json!({"id": "x", "targetTypes": ["User"], "properties": [{"name": "a", "type": "Float"}]}),
        json!({"id": "x", "targetTypes": ["User"], "properties": [{"name": "a", "type": "String"}, {"name": "A", "type": "String"}]}),
        json!({"id": "x", "targetTypes": ["User"], "properties": [], "status": "Available"}),
        json!({"id": "x", "targetTypes": ["User"], "properties": [], "owner": uuid::Uuid::new_v4().to_string()}),
    ] {
        let r = h.post("/v1.0/schemaExtensions", bad.clone()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.text);
    }
}
