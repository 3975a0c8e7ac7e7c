//! Custom security attributes: attribute sets, definitions and predefined values with Entra's
//! validation; values assigned on users and service principals (types and predefined values
//! enforced, merged, returned only when selected and only to attribute readers, filterable);
//! and the attribute roles, which Global Administrator does not hold.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{Harness, Reply, id_of};

const DEF_WRITE: &str = "CustomSecAttributeDefinition.ReadWrite.All";
const DEF_READ: &str = "CustomSecAttributeDefinition.Read.All";
const ASSIGN_WRITE: &str = "CustomSecAttributeAssignment.ReadWrite.All";
const ASSIGN_READ: &str = "CustomSecAttributeAssignment.Read.All";
const GLOBAL_ADMIN: &str = "62e90394-69f5-4237-9190-012177145e10";
const DEFINITION_ADMIN: &str = "8424c6f0-a189-499e-bbd0-26c1753c96d4";
const ASSIGNMENT_READER: &str = "ffd52fa5-98dc-465c-991d-fc073eb59f8f";

async fn app(h: &Harness, roles: &[&str]) -> String {
    h.sign(h.claims(roles)).await
}

/// A delegated token of `user` with `scopes` and directory roles `wids`.
async fn delegated(h: &Harness, user: &str, scopes: &str, wids: &[&str]) -> String {
    let mut claims = h.claims(&[]);
    let m = claims.as_object_mut().expect("claims");
    m.remove("roles");
    m.insert("oid".into(), json!(user));
    m.insert("idtyp".into(), json!("user"));
    m.insert("scp".into(), json!(scopes));
    m.insert("wids".into(), json!(wids));
    h.sign(claims).await
}

async fn call(h: &Harness, method: Method, path: &str, body: Option<Value>, token: &str) -> Reply {
    h.graph_with(method, path, body, token, &[]).await
}

fn created(r: &Reply) -> &Value {
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    &r.json
}

/// The Engineering set with Project (multi-valued, predefined only), CostCenter (Integer) and
/// Certified (Boolean), and Legacy (deprecated).
async fn engineering(h: &Harness, token: &str) {
    let post = |path: &'static str, body: Value| call(h, Method::POST, path, Some(body), token);
    created(
        &post(
            "/v1.0/directory/attributeSets",
            json!({"id": "Engineering", "description": "Engineering", "maxAttributesPerSet": 10}),
        )
        .await,
    );
    let defs = "/v1.0/directory/customSecurityAttributeDefinitions";
    let r = post(
        defs,
        json!({
            "attributeSet": "Engineering", "name": "Project", "description": "Active projects",
            "type": "String", "isCollection": true, "isSearchable": true, "status": "Available",
            "usePreDefinedValuesOnly": true,
            "allowedValues": [{"id": "Alpine", "isActive": true}, {"id": "Baker", "isActive": true}]
        }),
    )
    .await;
    assert_eq!(created(&r)["id"], "Engineering_Project");
    for body in [
        json!({"attributeSet": "engineering", "name": "CostCenter", "type": "Integer", "isCollection": false, "isSearchable": true, "status": "Available", "usePreDefinedValuesOnly": false}),
        json!({"attributeSet": "Engineering", "name": "Certified", "type": "Boolean", "isCollection": false, "isSearchable": false, "status": "Available", "usePreDefinedValuesOnly": false}),
        json!({"attributeSet": "Engineering", "name": "Legacy", "type": "String", "isCollection": false, "isSearchable": false, "status": "Deprecated", "usePreDefinedValuesOnly": false}),
    ] {
        created(&post(defs, body).await);
    }
}

#[tokio::test]
async fn attribute_sets_and_definitions_follow_entras_rules() {
    let h = Harness::new().await;
    let admin = app(&h, &[DEF_WRITE]).await;
    engineering(&h, &admin).await;
    let post = |path: &'static str, body: Value| call(&h, Method::POST, path, Some(body), &admin);

    // Sets: id rules, uniqueness (case-insensitive), limits, no id change.
    for (body, status, what) in [
        (json!({"id": "Has Space"}), 400, "letters or digits"),
        (json!({"id": "A".repeat(33)}), 400, "1 to 32"),
        (json!({"id": "Marketing", "maxAttributesPerSet": 501}), 400, "maxAttributesPerSet"),
        (json!({"id": "Marketing", "description": "d".repeat(129)}), 400, "description"),
        (json!({"description": "no id"}), 400, "id"),
        (json!({"id": "ENGINEERING"}), 409, "exists already"),
    ] {
        let r = post("/v1.0/directory/attributeSets", body).await;
        assert_eq!(r.status.as_u16(), status, "{}", r.text);
        assert!(r.message().contains(what), "{what}: {}", r.message());
    }
    let r = call(&h, Method::GET, "/v1.0/directory/attributeSets/engineering", None, &admin).await;
    assert_eq!(r.json["id"], "Engineering", "{}", r.text);
    assert_eq!(r.json["maxAttributesPerSet"], 10);
    let r = call(
        &h,
        Method::PATCH,
        "/v1.0/directory/attributeSets/Engineering",
        Some(json!({"maxAttributesPerSet": 3})),
        &admin,
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.message().contains("4 attributes"), "{}", r.message());
    let r = call(
        &h,
        Method::PATCH,
        "/v1.0/directory/attributeSets/Engineering",
        Some(json!({"description": "Eng", "maxAttributesPerSet": 20})),
        &admin,
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = call(&h, Method::PATCH, "/v1.0/directory/attributeSets/Engineering", Some(json!({"id": "Other"})), &admin)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = call(&h, Method::GET, "/v1.0/directory/attributeSets?$filter=id%20eq%20'engineering'", None, &admin).await;
    assert_eq!(r.json["value"].as_array().map(Vec::len), Some(1), "{}", r.text);
    assert_eq!(r.json["value"][0]["description"], "Eng");

    // Definitions.
    let defs = "/v1.0/directory/customSecurityAttributeDefinitions";
    let base = json!({"attributeSet": "Engineering", "name": "Level", "type": "String", "isCollection": false, "isSearchable": true, "status": "Available", "usePreDefinedValuesOnly": false});
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        if v.is_null() {
            b.as_object_mut().expect("o").remove(k);
        } else {
            b[k] = v;
        }
        b
    };
    for (body, status, what) in [
        (with("attributeSet", json!("Nope")), 400, "'Nope' does not exist"),
        (with("name", json!("Bad_Name")), 400, "letters or digits"),
        (with("type", json!("Double")), 400, "type"),
        (with("isCollection", Value::Null), 400, "isCollection"),
        (with("status", json!("Retired")), 400, "status"),
        (
            json!({"attributeSet": "Engineering", "name": "Flag", "type": "Boolean", "isCollection": true, "isSearchable": false, "status": "Available", "usePreDefinedValuesOnly": false}),
            400,
            "Boolean",
        ),
        (with("allowedValues", json!([{"id": "x".repeat(65), "isActive": true}])), 400, "AllowedValue"),
        (with("name", json!("project")), 409, "exists already"),
        (with("colour", json!("red")), 400, "colour"),
    ] {
        let r = post(defs, body).await;
        assert_eq!(r.status.as_u16(), status, "{}", r.text);
        assert!(r.message().contains(what), "{what}: {}", r.message());
    }
    let r = call(&h, Method::GET, &format!("{defs}/engineering_project"), None, &admin).await;
    assert_eq!(r.json["id"], "Engineering_Project", "{}", r.text);
    assert_eq!(r.json["isCollection"], true);
    assert_eq!(r.json["usePreDefinedValuesOnly"], true);
    let r =
        call(&h, Method::PATCH, &format!("{defs}/Engineering_Project"), Some(json!({"type": "Integer"})), &admin).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.message().contains("cannot be changed"), "{}", r.message());
    let r = call(
        &h,
        Method::PATCH,
        &format!("{defs}/Engineering_Certified"),
        Some(json!({"usePreDefinedValuesOnly": true})),
        &admin,
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = call(&h, Method::GET, &format!("{defs}?$filter=status%20eq%20'Deprecated'"), None, &admin).await;
    let ids: Vec<&str> = r.json["value"].as_array().expect("value").iter().filter_map(|d| d["id"].as_str()).collect();
    assert_eq!(ids, ["Engineering_Legacy"], "{}", r.text);

    // Predefined values: added, deactivated, never duplicated; none on a Boolean.
    let values = format!("{defs}/Engineering_Project/allowedValues");
    created(&call(&h, Method::POST, &values, Some(json!({"id": "Cascade", "isActive": true})), &admin).await);
    let r = call(&h, Method::POST, &values, Some(json!({"id": "Cascade", "isActive": true})), &admin).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    let r = call(&h, Method::POST, &values, Some(json!({"id": "Denali"})), &admin).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = call(&h, Method::PATCH, &format!("{values}/Cascade"), Some(json!({"isActive": false})), &admin).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = call(&h, Method::GET, &format!("{values}/Cascade"), None, &admin).await;
    assert_eq!(r.json["isActive"], false, "{}", r.text);
    assert_eq!(call(&h, Method::GET, &format!("{values}/cascade"), None, &admin).await.status, StatusCode::NOT_FOUND);
    let r = call(&h, Method::GET, &format!("{values}?$filter=isActive%20eq%20true"), None, &admin).await;
    assert_eq!(r.json["value"].as_array().map(Vec::len), Some(2), "{}", r.text);
    let r = call(
        &h,
        Method::POST,
        &format!("{defs}/Engineering_Certified/allowedValues"),
        Some(json!({"id": "true", "isActive": true})),
        &admin,
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
}

#[tokio::test]
async fn definitions_need_the_attribute_roles_not_global_administrator() {
    let h = Harness::new().await;
    // App permissions: reading needs a definition permission; writing its ReadWrite form.
    let reader = app(&h, &[DEF_READ]).await;
    let nothing = app(&h, &["Directory.ReadWrite.All"]).await;
    let writer = app(&h, &[DEF_WRITE]).await;
    let body = json!({"id": "Finance"});
    assert_eq!(
        call(&h, Method::POST, "/v1.0/directory/attributeSets", Some(body.clone()), &reader).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        call(&h, Method::GET, "/v1.0/directory/attributeSets", None, &nothing).await.status,
        StatusCode::FORBIDDEN
    );
    created(&call(&h, Method::POST, "/v1.0/directory/attributeSets", Some(body), &writer).await);
    assert_eq!(
        call(&h, Method::GET, "/v1.0/directory/attributeSets/Finance", None, &reader).await.status,
        StatusCode::OK
    );

    // Delegated: a Global Administrator is refused; an Attribute Definition Administrator
    // (a real role assignment) may define.
    let admin_id = id_of(&h.get(&format!("/v1.0/users/{}", h.boot.admin_user_principal_name)).await.json);
    let global = delegated(&h, &admin_id, &format!("{DEF_WRITE} {ASSIGN_WRITE}"), &[GLOBAL_ADMIN]).await;
    let r = call(&h, Method::GET, "/v1.0/directory/attributeSets", None, &global).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert_eq!(r.code(), "Authorization_RequestDenied");
    let r = call(&h, Method::POST, "/v1.0/directory/attributeSets", Some(json!({"id": "Sales"})), &global).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let definer = id_of(&h.user("definer", "Definer").await);
    let assign = json!({"principalId": definer, "roleDefinitionId": DEFINITION_ADMIN, "directoryScopeId": "/"});
    created(&h.post("/v1.0/roleManagement/directory/roleAssignments", assign).await);
    let token = delegated(&h, &definer, DEF_WRITE, &[DEFINITION_ADMIN]).await;
    created(&call(&h, Method::POST, "/v1.0/directory/attributeSets", Some(json!({"id": "Sales"})), &token).await);
    assert_eq!(call(&h, Method::GET, "/v1.0/directory/attributeSets/Sales", None, &token).await.status, StatusCode::OK);
}

#[tokio::test]
async fn values_are_checked_merged_selected_and_filtered() {
    let h = Harness::new().await;
    let definer = app(&h, &[DEF_WRITE]).await;
    engineering(&h, &definer).await;
    let assigner = app(&h, &["User.ReadWrite.All", "Application.ReadWrite.All", ASSIGN_WRITE]).await;
    let reader = app(&h, &["User.Read.All", ASSIGN_READ]).await;
    let blind = app(&h, &["User.Read.All"]).await;
    let user = id_of(&h.user("adele", "Adele").await);
    let other = id_of(&h.user("bianca", "Bianca").await);
    let path = format!("/v1.0/users/{user}");
    let patch = |token: &str, value: Value| {
        let (h, path, token) = (&h, path.clone(), token.to_string());
        async move { call(h, Method::PATCH, &path, Some(json!({"customSecurityAttributes": value})), &token).await }
    };
    let good = json!({"Engineering": {
        "@odata.type": "#Microsoft.DirectoryServices.CustomSecurityAttributeValue",
        "Project@odata.type": "#Collection(String)", "Project": ["Baker", "Alpine"],
        "CostCenter@odata.type": "#Int32", "CostCenter": 1001,
        "Certified": true
    }});
    // Assigning needs the assignment permission, even with User.ReadWrite.All.
    let r = patch(&app(&h, &["User.ReadWrite.All"]).await, good.clone()).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    for (value, what) in [
        (json!({"Marketing": {"Project": ["Baker"]}}), "'Marketing' does not exist"),
        (json!({"Engineering": {"Budget": 1}}), "Engineering_Budget' does not exist"),
        (json!({"Engineering": {"Project": ["Everest"]}}), "not an active predefined value"),
        (json!({"Engineering": {"Project": "Baker"}}), "multi-valued"),
        (json!({"Engineering": {"Project": ["Baker", "Baker"]}}), "twice"),
        (json!({"Engineering": {"Project@odata.type": "#Collection(Int32)", "Project": ["Baker"]}}), "annotation"),
        (json!({"Engineering": {"CostCenter": "1001"}}), "type Integer"),
        (json!({"Engineering": {"CostCenter": 3_000_000_000_i64}}), "type Integer"),
        (json!({"Engineering": {"Certified": "yes"}}), "type Boolean"),
        (json!({"Engineering": {"Legacy": "x"}}), "deprecated"),
    ] {
        let r = patch(&assigner, value).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{what}: {}", r.text);
        assert!(r.message().contains(what), "{what}: {}", r.message());
    }
    assert_eq!(patch(&assigner, good).await.status, StatusCode::NO_CONTENT);

    // Returned only when selected, and to attribute readers only (null to others).
    let r = call(&h, Method::GET, &path, None, &reader).await;
    assert!(r.json.get("customSecurityAttributes").is_none(), "{}", r.text);
    let selected = format!("{path}?$select=id,customSecurityAttributes");
    let r = call(&h, Method::GET, &selected, None, &reader).await;
    let eng = &r.json["customSecurityAttributes"]["Engineering"];
    assert_eq!(eng["Project"], json!(["Baker", "Alpine"]), "{}", r.text);
    assert_eq!(eng["Project@odata.type"], "#Collection(String)");
    assert_eq!(eng["CostCenter"], 1001);
    assert_eq!(eng["CostCenter@odata.type"], "#Int32");
    assert_eq!(eng["Certified"], true);
    assert_eq!(eng["@odata.type"], "#microsoft.graph.customSecurityAttributeValue");
    let r = call(&h, Method::GET, &selected, None, &blind).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["customSecurityAttributes"], Value::Null, "{}", r.text);
    // The Global Administrator's delegated token does not see them either.
    let admin_id = id_of(&h.get(&format!("/v1.0/users/{}", h.boot.admin_user_principal_name)).await.json);
    let global = delegated(&h, &admin_id, &format!("User.Read.All {ASSIGN_READ}"), &[GLOBAL_ADMIN]).await;
    assert_eq!(call(&h, Method::GET, &selected, None, &global).await.json["customSecurityAttributes"], Value::Null);
    let attribute_reader =
        delegated(&h, &admin_id, &format!("User.Read.All {ASSIGN_READ}"), &[ASSIGNMENT_READER]).await;
    assert_eq!(
        call(&h, Method::GET, &selected, None, &attribute_reader).await.json["customSecurityAttributes"]["Engineering"]
            ["CostCenter"],
        1001
    );

    // Merged attribute by attribute; null removes one.
    let r = patch(&assigner, json!({"Engineering": {"CostCenter": null, "Project@odata.type": "#Collection(String)", "Project": ["Alpine"]}})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = call(&h, Method::GET, &selected, None, &reader).await;
    let eng = &r.json["customSecurityAttributes"]["Engineering"];
    assert_eq!(eng["Project"], json!(["Alpine"]), "{}", r.text);
    assert!(eng.get("CostCenter").is_none() && eng.get("CostCenter@odata.type").is_none(), "{}", r.text);
    assert_eq!(eng["Certified"], true);
    let other_path = format!("/v1.0/users/{other}");
    let r = call(&h, Method::PATCH, &other_path, Some(json!({"displayName": "Bianca P", "customSecurityAttributes": {"Engineering": {"Project@odata.type": "#Collection(String)", "Project": ["Baker"], "CostCenter": 7}}})), &assigner).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(h.get(&other_path).await.json["displayName"], "Bianca P");

    // Filtered, as an advanced query, by readers only; a collection matches on any value.
    let eventual = [("ConsistencyLevel", "eventual")];
    let filter = |f: &str| format!("/v1.0/users?$count=true&$select=id&$filter={}", f.replace(' ', "%20"));
    let ids = |r: &Reply| -> Vec<String> {
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        r.json["value"].as_array().expect("value").iter().map(id_of).collect()
    };
    let r = h
        .graph_with(
            Method::GET,
            &filter("customSecurityAttributes/Engineering/Project eq 'Baker'"),
            None,
            &reader,
            &eventual,
        )
        .await;
    assert_eq!(ids(&r), std::slice::from_ref(&other));
    let r = h
        .graph_with(
            Method::GET,
            &filter("customSecurityAttributes/engineering/costcenter eq 7"),
            None,
            &reader,
            &eventual,
        )
        .await;
    assert_eq!(ids(&r), std::slice::from_ref(&other));
    let r = h
        .graph_with(
            Method::GET,
            &filter("customSecurityAttributes/Engineering/Project eq 'Alpine'"),
            None,
            &reader,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "needs an advanced query: {}", r.text);
    let r = h
        .graph_with(
            Method::GET,
            &filter("customSecurityAttributes/Engineering/Certified eq true"),
            None,
            &reader,
            &eventual,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "not searchable: {}", r.text);
    let r = h
        .graph_with(
            Method::GET,
            &filter("customSecurityAttributes/Engineering/Project eq 'Baker'"),
            None,
            &blind,
            &eventual,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);

    // Service principals take them too.
    let sp = h.get("/v1.0/servicePrincipals?$top=1").await.json["value"][0]["id"].as_str().expect("sp").to_string();
    let sp_path = format!("/v1.0/servicePrincipals/{sp}");
    let r = call(
        &h,
        Method::PATCH,
        &sp_path,
        Some(json!({"customSecurityAttributes": {"Engineering": {"Certified": false}}})),
        &assigner,
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let reader_sp = app(&h, &["Application.Read.All", ASSIGN_READ]).await;
    let r = call(&h, Method::GET, &format!("{sp_path}?$select=customSecurityAttributes"), None, &reader_sp).await;
    assert_eq!(r.json["customSecurityAttributes"]["Engineering"]["Certified"], false, "{}", r.text);
}

#[tokio::test]
async fn values_stay_hidden_on_every_read_path_and_out_of_the_audit_log() {
    let h = Harness::new().await;
    let definer = app(&h, &[DEF_WRITE]).await;
    engineering(&h, &definer).await;
    let assigner = app(&h, &["User.ReadWrite.All", ASSIGN_WRITE]).await;
    let reader = app(&h, &["User.Read.All", ASSIGN_READ]).await;
    let blind = app(&h, &["User.Read.All", "AuditLog.Read.All", "Directory.Read.All"]).await;
    let boss = id_of(&h.user("boss", "Boss").await);
    let worker = id_of(&h.user("worker", "Worker").await);
    let value = json!({"Engineering": {"CostCenter@odata.type": "#Int32", "CostCenter": 4242}});
    let r = call(
        &h,
        Method::PATCH,
        &format!("/v1.0/users/{boss}"),
        Some(json!({"customSecurityAttributes": value})),
        &assigner,
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = h
        .graph(
            Method::PUT,
            &format!("/v1.0/users/{worker}/manager/$ref"),
            Some(json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/users/{boss}")})),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);

    let paths = [
        format!("/v1.0/users/{worker}/manager?$select=id,customSecurityAttributes"),
        format!("/v1.0/users/{worker}?$expand=manager($select=id,customSecurityAttributes)"),
        "/v1.0/users/delta?$select=id,customSecurityAttributes".to_string(),
    ];
    for path in &paths {
        let seen = call(&h, Method::GET, path, None, &reader).await;
        assert_eq!(seen.status, StatusCode::OK, "{path}: {}", seen.text);
        assert!(seen.text.contains("4242"), "{path}: a reader sees the value: {}", seen.text);
        let hidden = call(&h, Method::GET, path, None, &blind).await;
        assert_eq!(hidden.status, StatusCode::OK, "{path}: {}", hidden.text);
        assert!(!hidden.text.contains("4242"), "{path} leaks the value: {}", hidden.text);
    }

    // The directory audit log records that the attributes changed, never their values.
    let audits = call(&h, Method::GET, "/v1.0/auditLogs/directoryAudits", None, &blind).await;
    assert_eq!(audits.status, StatusCode::OK, "{}", audits.text);
    assert!(audits.text.contains("customSecurityAttributes"), "{}", audits.text);
    assert!(!audits.text.contains("4242"), "the audit log leaks the value: {}", audits.text);
}
