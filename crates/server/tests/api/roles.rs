//! Directory roles: role templates, activated directory roles and their members, the unified
//! RBAC API (role definitions, role assignments), and delegated authorization by role.

use axum::http::{Method, StatusCode};
use base64::Engine;
use cerulean_store::{Actor, AuditRecord, Change, EdgeKind, ObjectRecord, Op};
use serde_json::{Value, json};

use crate::harness::{Harness, PUBLIC_URL, id_of};

const PASSWORD: &str = "xWwvJ]6NMw+bWH-d";
const GLOBAL_ADMIN: &str = "62e90394-69f5-4237-9190-012177145e10";
const USER_ADMIN: &str = "fe930be7-5e62-47db-91af-98c3a49a38b1";
const GROUPS_ADMIN: &str = "fdd7a751-b60b-444a-984c-02652fe8fa1c";
const GLOBAL_READER: &str = "f2ef992c-3afb-46b9-b7cf-a126ee74c451";
const PRIVILEGED_ROLE_ADMIN: &str = "e8611ab8-c189-46e8-94e1-60213ab1f814";
const APPLICATION_ADMIN: &str = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3";
const DEFINITIONS: &str = "/v1.0/roleManagement/directory/roleDefinitions";
const ASSIGNMENTS: &str = "/v1.0/roleManagement/directory/roleAssignments";

fn ids(v: &Value) -> Vec<String> {
    v["value"].as_array().into_iter().flatten().filter_map(|o| o["id"].as_str().map(str::to_string)).collect()
}

async fn assign(h: &Harness, principal: &str, role: &str, scope: &str) -> Value {
    let body = json!({"principalId": principal, "roleDefinitionId": role, "directoryScopeId": scope});
    let r = h.post(ASSIGNMENTS, body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.json
}

/// A delegated token of `upn` through the bootstrap app (consented tenant-wide).
pub(crate) async fn user_token(h: &Harness, upn: &str) -> String {
    let r = h
        .form(
            &format!("/{}/oauth2/v2.0/token", h.boot.tenant_id),
            &[
                ("grant_type", "password"),
                ("client_id", &h.boot.client_id),
                ("client_secret", &h.boot.client_secret),
                ("username", upn),
                ("password", PASSWORD),
                ("scope", "https://graph.microsoft.com/.default"),
            ],
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.json["access_token"].as_str().expect("access_token").to_string()
}

fn wids(token: &str) -> Value {
    let part = token.split('.').nth(1).expect("payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).expect("base64url");
    serde_json::from_slice::<Value>(&bytes).expect("json")["wids"].clone()
}

#[tokio::test]
async fn templates_list_the_built_in_roles() {
    let h = Harness::new().await;
    let r = h.get("/v1.0/directoryRoleTemplates").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.json["@odata.context"].as_str().is_some_and(|c| c.ends_with("$metadata#directoryRoleTemplates")));
    let all = ids(&r.json);
    for id in [GLOBAL_ADMIN, USER_ADMIN, GROUPS_ADMIN, GLOBAL_READER, PRIVILEGED_ROLE_ADMIN, APPLICATION_ADMIN] {
        assert!(all.contains(&id.to_string()), "{id} missing: {}", r.text);
    }
    let r = h.get(&format!("/v1.0/directoryRoleTemplates/{USER_ADMIN}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["displayName"], "User Administrator");
    assert!(r.json["description"].as_str().is_some_and(|d| d.starts_with("Can manage all aspects of users")));
    let r = h.get(&format!("/v1.0/directoryRoleTemplates/{APPLICATION_ADMIN}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["displayName"], "Application Administrator", "{}", r.text);
    let metadata = h.get("/v1.0/$metadata").await;
    for t in ["directoryRoleTemplate", "unifiedRoleDefinition", "unifiedRoleAssignment", "unifiedRolePermission"] {
        assert!(metadata.text.contains(&format!("Name=\"{t}\"")), "{t} is not in $metadata");
    }
    let r = h.get(&format!("/v1.0/directoryRoleTemplates/{}", uuid::Uuid::new_v4())).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    assert_eq!(r.code(), "Request_ResourceNotFound");
}

#[tokio::test]
async fn global_administrator_is_active_and_held_by_the_bootstrap_admin() {
    let h = Harness::new().await;
    let admin = h.get(&format!("/v1.0/users/{}", h.boot.admin_user_principal_name)).await;
    let admin_id = id_of(&admin.json);
    let r = h.get("/v1.0/directoryRoles").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let roles = r.json["value"].as_array().cloned().unwrap_or_default();
    let ga = roles.iter().find(|r| r["roleTemplateId"] == GLOBAL_ADMIN).expect("Global Administrator is active");
    assert_eq!(ga["displayName"], "Global Administrator");
    let by_template = h.get(&format!("/v1.0/directoryRoles(roleTemplateId='{GLOBAL_ADMIN}')")).await;
    assert_eq!(by_template.status, StatusCode::OK, "{}", by_template.text);
    assert_eq!(by_template.json["id"], ga["id"]);
    let members = h.get(&format!("/v1.0/directoryRoles/{}/members", ga["id"].as_str().unwrap_or_default())).await;
    assert_eq!(ids(&members.json), vec![admin_id.clone()], "{}", members.text);
    let member_of = h.get(&format!("/v1.0/users/{admin_id}/memberOf")).await;
    let role = member_of.json["value"].as_array().and_then(|v| v.first().cloned()).unwrap_or_default();
    assert_eq!(role["@odata.type"], "#microsoft.graph.directoryRole", "{}", member_of.text);
    assert_eq!(role["roleTemplateId"], GLOBAL_ADMIN);
    // The cast scripts use to find a user's admin roles, and its count; a group in a role-free
    // tenant position has none.
    let cast = h.get(&format!("/v1.0/users/{admin_id}/memberOf/microsoft.graph.directoryRole")).await;
    assert_eq!(cast.status, StatusCode::OK, "{}", cast.text);
    assert_eq!(ids(&cast.json), vec![ga["id"].as_str().unwrap_or_default().to_string()], "{}", cast.text);
    assert_eq!(cast.json["@odata.context"], format!("{PUBLIC_URL}/v1.0/$metadata#directoryRoles"), "{}", cast.text);
    let count = h
        .graph_with(
            Method::GET,
            &format!("/v1.0/users/{admin_id}/memberOf/microsoft.graph.directoryRole/$count"),
            None,
            &h.token,
            &[("ConsistencyLevel", "eventual")],
        )
        .await;
    assert_eq!(count.text, "1", "{}", count.text);
    let group = id_of(
        &h.post(
            "/v1.0/groups",
            json!({"displayName": "No roles", "mailEnabled": false,
        "mailNickname": "noroles", "securityEnabled": true}),
        )
        .await
        .json,
    );
    let none = h.get(&format!("/v1.0/groups/{group}/memberOf/microsoft.graph.directoryRole")).await;
    assert_eq!(none.status, StatusCode::OK, "{}", none.text);
    assert!(ids(&none.json).is_empty(), "{}", none.text);
    // A service principal made a role member shows the role through the same cast.
    let app = h.post("/v1.0/applications", json!({"displayName": "Role holder"})).await.json;
    let sp = id_of(&h.post("/v1.0/servicePrincipals", json!({"appId": app["appId"]})).await.json);
    let ga_id = ga["id"].as_str().unwrap_or_default().to_string();
    let body = json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{sp}")});
    let r = h.post(&format!("/v1.0/directoryRoles/{ga_id}/members/$ref"), body).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let cast = h.get(&format!("/v1.0/servicePrincipals/{sp}/memberOf/microsoft.graph.directoryRole")).await;
    assert_eq!(ids(&cast.json), vec![ga_id], "{}", cast.text);
    let r = h.get(&format!("{ASSIGNMENTS}?$filter=principalId%20eq%20'{admin_id}'")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["value"][0]["roleDefinitionId"], GLOBAL_ADMIN, "{}", r.text);
    assert_eq!(r.json["value"][0]["directoryScopeId"], "/");
    let r = h.get(&format!("/v1.0/directoryRoles(roleTemplateId='{USER_ADMIN}')")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "not activated yet: {}", r.text);
}

#[tokio::test]
async fn activation_and_members_are_role_assignments() {
    let h = Harness::new().await;
    let user = id_of(&h.user("adele", "Adele").await);
    let r = h.post("/v1.0/directoryRoles", json!({"roleTemplateId": USER_ADMIN})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.json["displayName"], "User Administrator");
    assert_eq!(r.json["roleTemplateId"], USER_ADMIN);
    let role = id_of(&r.json);
    let again = h.post("/v1.0/directoryRoles", json!({"roleTemplateId": USER_ADMIN})).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST, "{}", again.text);
    assert_eq!(again.code(), "Request_BadRequest");
    let unknown = h.post("/v1.0/directoryRoles", json!({"roleTemplateId": uuid::Uuid::new_v4().to_string()})).await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST, "{}", unknown.text);
    assert!(unknown.message().contains("roleTemplateId"), "{}", unknown.text);
    let missing = h.post("/v1.0/directoryRoles", json!({})).await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST, "{}", missing.text);

    let reference = json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{user}")});
    let r = h.post(&format!("/v1.0/directoryRoles/{role}/members/$ref"), reference.clone()).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let dup = h.post(&format!("/v1.0/directoryRoles/{role}/members/$ref"), reference).await;
    assert_eq!(dup.status, StatusCode::BAD_REQUEST, "{}", dup.text);
    assert!(dup.message().contains("already exist"), "{}", dup.text);
    let members = h.get(&format!("/v1.0/directoryRoles/{role}/members")).await;
    assert_eq!(ids(&members.json), vec![user.clone()], "{}", members.text);
    // The same data through the unified API.
    let r = h.get(&format!("{ASSIGNMENTS}?$filter=principalId%20eq%20'{user}'")).await;
    assert_eq!(r.json["value"].as_array().map(Vec::len), Some(1), "{}", r.text);
    assert_eq!(r.json["value"][0]["roleDefinitionId"], USER_ADMIN);

    let r = h.delete(&format!("/v1.0/directoryRoles/{role}/members/{user}/$ref")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = h.get(&format!("{ASSIGNMENTS}?$filter=principalId%20eq%20'{user}'")).await;
    assert_eq!(ids(&r.json), Vec::<String>::new(), "{}", r.text);
    let r = h.delete(&format!("/v1.0/directoryRoles/{role}/members/{user}/$ref")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let r = h.get(&format!("/v1.0/directoryRoles/{}/members", uuid::Uuid::new_v4())).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
}

#[tokio::test]
async fn role_assignments_create_list_expand_and_delete() {
    let h = Harness::new().await;
    let user = id_of(&h.user("megan", "Megan").await);
    let created = assign(&h, &user, GROUPS_ADMIN, "/").await;
    let id = id_of(&created);
    assert_eq!(created["principalId"], user);
    assert_eq!(created["roleDefinitionId"], GROUPS_ADMIN);
    assert_eq!(created["directoryScopeId"], "/");
    // Assigning a built-in role over the directory activates its directory role.
    let role = h.get(&format!("/v1.0/directoryRoles(roleTemplateId='{GROUPS_ADMIN}')")).await;
    assert_eq!(role.status, StatusCode::OK, "{}", role.text);
    let members = h.get(&format!("/v1.0/directoryRoles/{}/members", id_of(&role.json))).await;
    assert_eq!(ids(&members.json), vec![user.clone()], "{}", members.text);

    let r = h
        .get(&format!(
            "{ASSIGNMENTS}?$filter=roleDefinitionId%20eq%20'{GROUPS_ADMIN}'&$expand=principal,roleDefinition"
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let item = &r.json["value"][0];
    assert_eq!(item["principal"]["@odata.type"], "#microsoft.graph.user", "{}", r.text);
    assert_eq!(item["principal"]["id"], user);
    assert_eq!(item["roleDefinition"]["displayName"], "Groups Administrator");
    let r = h.get(&format!("{ASSIGNMENTS}/{id}?$expand=principal")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["principal"]["displayName"], "Megan");

    let body = json!({"principalId": user, "roleDefinitionId": GROUPS_ADMIN, "directoryScopeId": "/"});
    let dup = h.post(ASSIGNMENTS, body).await;
    assert_eq!(dup.status, StatusCode::BAD_REQUEST, "{}", dup.text);
    assert_eq!(dup.code(), "Request_BadRequest");
    let nobody = uuid::Uuid::new_v4().to_string();
    let r = h
        .post(ASSIGNMENTS, json!({"principalId": nobody, "roleDefinitionId": GROUPS_ADMIN, "directoryScopeId": "/"}))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let r =
        h.post(ASSIGNMENTS, json!({"principalId": user, "roleDefinitionId": nobody, "directoryScopeId": "/"})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let scope = format!("/administrativeUnits/{nobody}");
    let r = h
        .post(ASSIGNMENTS, json!({"principalId": user, "roleDefinitionId": USER_ADMIN, "directoryScopeId": scope}))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.message().contains("directoryScopeId"), "{}", r.text);
    let r = h.post(ASSIGNMENTS, json!({"roleDefinitionId": USER_ADMIN, "directoryScopeId": "/"})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = h.post(ASSIGNMENTS, json!({"principalId": user, "roleDefinitionId": USER_ADMIN, "appScopeId": "/"})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);

    // Only role-assignable groups hold roles; their members then act with the role.
    let plain = id_of(&h.group("plain", "Plain").await);
    let r = h
        .post(ASSIGNMENTS, json!({"principalId": plain, "roleDefinitionId": USER_ADMIN, "directoryScopeId": "/"}))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.message(), "Groups without IsAssignableToRole property set cannot be assigned to roles.");

    let r = h.delete(&format!("{ASSIGNMENTS}/{id}")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    // Both writes are audited under RoleManagement.
    for activity in ["Add member to role", "Remove member from role"] {
        let filter = format!("activityDisplayName eq '{activity}'").replace(' ', "%20");
        let r = h.get(&format!("/v1.0/auditLogs/directoryAudits?$filter={filter}")).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let first = &r.json["value"][0];
        assert_eq!(first["category"], "RoleManagement", "{activity}: {}", r.text);
    }
    let members = h.get(&format!("/v1.0/directoryRoles/{}/members", id_of(&role.json))).await;
    assert_eq!(ids(&members.json), Vec::<String>::new(), "{}", members.text);
    let member_of = h.get(&format!("/v1.0/users/{user}/memberOf")).await;
    assert_eq!(ids(&member_of.json), Vec::<String>::new(), "{}", member_of.text);
    assert_eq!(h.get(&format!("{ASSIGNMENTS}/{id}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(h.delete(&format!("{ASSIGNMENTS}/{id}")).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn built_in_role_definitions_carry_their_actions_and_are_immutable() {
    let h = Harness::new().await;
    let r = h.get(&format!("{DEFINITIONS}?$filter=displayName%20eq%20'User%20Administrator'")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let ua = &r.json["value"][0];
    assert_eq!(ua["id"], USER_ADMIN, "{}", r.text);
    assert_eq!(ua["templateId"], USER_ADMIN);
    assert_eq!(ua["isBuiltIn"], true);
    assert_eq!(ua["isEnabled"], true);
    let actions = ua["rolePermissions"][0]["allowedResourceActions"].as_array().cloned().unwrap_or_default();
    assert!(actions.contains(&json!("microsoft.directory/users/create")), "{}", r.text);
    assert!(!actions.iter().any(|a| a.as_str().is_some_and(|a| a.contains("roleAssignments"))));
    let r = h.get(&format!("{DEFINITIONS}/{PRIVILEGED_ROLE_ADMIN}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.text.contains("microsoft.directory/roleAssignments/allProperties/allTasks"), "{}", r.text);
    let r = h.get(&format!("{DEFINITIONS}?$filter=isBuiltIn%20eq%20false")).await;
    assert_eq!(ids(&r.json), Vec::<String>::new(), "{}", r.text);

    let r = h.patch(&format!("{DEFINITIONS}/{GLOBAL_ADMIN}"), json!({"description": "mine"})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = h.delete(&format!("{DEFINITIONS}/{GLOBAL_ADMIN}")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = h.get(&format!("{DEFINITIONS}/{}", uuid::Uuid::new_v4())).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
}

fn custom(name: &str, actions: &[&str]) -> Value {
    json!({
        "displayName": name,
        "description": "Helpdesk for names",
        "isEnabled": true,
        "rolePermissions": [{"allowedResourceActions": actions}],
    })
}

#[tokio::test]
async fn custom_role_definitions_are_validated_and_managed() {
    let h = Harness::new().await;
    let r = h.post(DEFINITIONS, custom("Name editors", &["microsoft.directory/users/basic/update"])).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = id_of(&r.json);
    assert_eq!(r.json["isBuiltIn"], false);
    assert_eq!(r.json["templateId"], id);
    assert_eq!(r.json["resourceScopes"], json!(["/"]));

    let dup = h.post(DEFINITIONS, custom("NAME EDITORS", &["microsoft.directory/users/basic/update"])).await;
    assert_eq!(dup.status, StatusCode::BAD_REQUEST, "{}", dup.text);
    let taken = h.post(DEFINITIONS, custom("Global Administrator", &["microsoft.directory/users/basic/update"])).await;
    assert_eq!(taken.status, StatusCode::BAD_REQUEST, "{}", taken.text);
    let r = h
        .post(DEFINITIONS, custom("Role admins", &["microsoft.directory/roleAssignments/allProperties/allTasks"]))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(
        r.message(),
        "Action 'microsoft.directory/roleAssignments/allProperties/allTasks' is not supported for Custom Role creation"
    );
    let r =
        h.post(DEFINITIONS, custom("Network", &["microsoft.office365.network/performance/allProperties/read"])).await;
    assert_eq!(r.message(), "Resource category 'microsoft.office365.network' is not supported.", "{}", r.text);
    let r = h.post(DEFINITIONS, json!({"displayName": "Empty", "isEnabled": true, "rolePermissions": []})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = h.post(DEFINITIONS, json!({"displayName": "No flag", "rolePermissions": [{"allowedResourceActions": ["microsoft.directory/users/basic/update"]}]})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = h.post(DEFINITIONS, json!({"displayName": "Built", "isBuiltIn": true, "isEnabled": true, "rolePermissions": [{"allowedResourceActions": ["microsoft.directory/users/basic/update"]}]})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);

    let r = h.patch(&format!("{DEFINITIONS}/{id}"), json!({"description": "Edits display names"})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = h.get(&format!("{DEFINITIONS}/{id}?$select=description,displayName")).await;
    assert_eq!(r.json["description"], "Edits display names", "{}", r.text);
    let r = h.patch(&format!("{DEFINITIONS}/{id}"), json!({"rolePermissions": [{"allowedResourceActions": ["microsoft.directory/domains/allProperties/allTasks"]}]})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = h.get(&format!("{DEFINITIONS}?$filter=isBuiltIn%20eq%20false")).await;
    assert_eq!(ids(&r.json), vec![id.clone()], "{}", r.text);

    // A custom role is assignable; its definition cannot go while assigned.
    let user = id_of(&h.user("editor", "Editor").await);
    let assignment = id_of(&assign(&h, &user, &id, "/").await);
    let r = h.delete(&format!("{DEFINITIONS}/{id}")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    // A custom role is not a directory role: no membership, no `wids`.
    let member_of = h.get(&format!("/v1.0/users/{user}/memberOf")).await;
    assert_eq!(ids(&member_of.json), Vec::<String>::new(), "{}", member_of.text);
    let token = user_token(&h, "editor@contoso.onmicrosoft.com").await;
    assert_eq!(wids(&token), json!(["b79fbf4d-3ef9-4689-8143-76b194e85509"]));
    assert_eq!(h.delete(&format!("{ASSIGNMENTS}/{assignment}")).await.status, StatusCode::NO_CONTENT);
    assert_eq!(h.delete(&format!("{DEFINITIONS}/{id}")).await.status, StatusCode::NO_CONTENT);
    assert_eq!(h.get(&format!("{DEFINITIONS}/{id}")).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn delegated_writes_follow_the_users_role_assignments() {
    let h = Harness::new().await;
    let victim = id_of(&h.user("victim", "Victim").await);
    let ua = id_of(&h.user("useradmin", "User Admin").await);
    let reader = id_of(&h.user("reader", "Reader").await);
    let pra = id_of(&h.user("pra", "Role Admin").await);
    let ua_assignment = id_of(&assign(&h, &ua, USER_ADMIN, "/").await);
    assign(&h, &reader, GLOBAL_READER, "/").await;
    assign(&h, &pra, PRIVILEGED_ROLE_ADMIN, "/").await;
    let victim_path = format!("/v1.0/users/{victim}");

    // User Administrator: writes users, cannot hand out roles (Global Administrator included).
    let t = user_token(&h, "useradmin@contoso.onmicrosoft.com").await;
    let w = wids(&t);
    assert!(w.as_array().is_some_and(|w| w.contains(&json!(USER_ADMIN))), "{w}");
    let r = h.graph_with(Method::PATCH, &victim_path, Some(json!({"jobTitle": "Edited"})), &t, &[]).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let body = crate::harness::user_body("made", "Made by UA");
    let r = h.graph_with(Method::POST, "/v1.0/users", Some(body), &t, &[]).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let grab = json!({"principalId": ua, "roleDefinitionId": GLOBAL_ADMIN, "directoryScopeId": "/"});
    let r = h.graph_with(Method::POST, ASSIGNMENTS, Some(grab.clone()), &t, &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert_eq!(r.code(), "Authorization_RequestDenied");
    let r = h
        .graph_with(
            Method::POST,
            DEFINITIONS,
            Some(custom("Mine", &["microsoft.directory/users/basic/update"])),
            &t,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    // ... nor touch a user holding a privileged role ("who can perform sensitive actions"),
    // while limited administrators stay in reach.
    let admin_path = format!("/v1.0/users/{}", h.boot.admin_user_principal_name);
    let r = h.graph_with(Method::PATCH, &admin_path, Some(json!({"jobTitle": "Demoted"})), &t, &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r =
        h.graph_with(Method::PATCH, &format!("/v1.0/users/{reader}"), Some(json!({"jobTitle": "No"})), &t, &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "a Global Reader is privileged: {}", r.text);
    let helpdesk = id_of(&h.user("helpdesk", "Helpdesk").await);
    assign(&h, &helpdesk, "729827e3-9c14-49f7-bb1b-9608f156bbb8", "/").await;
    let r =
        h.graph_with(Method::PATCH, &format!("/v1.0/users/{helpdesk}"), Some(json!({"jobTitle": "Ok"})), &t, &[]).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);

    // Global Reader: reads, never writes.
    let t = user_token(&h, "reader@contoso.onmicrosoft.com").await;
    assert_eq!(h.graph_with(Method::GET, &victim_path, None, &t, &[]).await.status, StatusCode::OK);
    assert_eq!(h.graph_with(Method::GET, ASSIGNMENTS, None, &t, &[]).await.status, StatusCode::OK);
    assert_eq!(
        h.graph_with(Method::GET, "/v1.0/auditLogs/directoryAudits", None, &t, &[]).await.status,
        StatusCode::OK
    );
    let r = h.graph_with(Method::PATCH, &victim_path, Some(json!({"jobTitle": "Nope"})), &t, &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);

    // Privileged Role Administrator: manages role assignments, not users.
    let t = user_token(&h, "pra@contoso.onmicrosoft.com").await;
    let r = h
        .graph_with(
            Method::POST,
            ASSIGNMENTS,
            Some(json!({"principalId": victim, "roleDefinitionId": GLOBAL_ADMIN, "directoryScopeId": "/"})),
            &t,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = h.graph_with(Method::DELETE, &format!("{ASSIGNMENTS}/{}", id_of(&r.json)), None, &t, &[]).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = h.graph_with(Method::PATCH, &victim_path, Some(json!({"jobTitle": "Nope"})), &t, &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);

    // Roles are read live: once the assignment is gone, the same token no longer writes.
    let t = user_token(&h, "useradmin@contoso.onmicrosoft.com").await;
    assert_eq!(h.delete(&format!("{ASSIGNMENTS}/{ua_assignment}")).await.status, StatusCode::NO_CONTENT);
    let r = h.graph_with(Method::PATCH, &victim_path, Some(json!({"jobTitle": "Again"})), &t, &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
}

#[tokio::test]
async fn a_custom_role_grants_exactly_its_actions() {
    let h = Harness::new().await;
    let victim = id_of(&h.user("victim", "Victim").await);
    let editor = id_of(&h.user("editor", "Editor").await);
    let r = h.post(DEFINITIONS, custom("Name editors", &["microsoft.directory/users/basic/update"])).await;
    assign(&h, &editor, &id_of(&r.json), "/").await;
    let t = user_token(&h, "editor@contoso.onmicrosoft.com").await;
    let r = h
        .graph_with(Method::PATCH, &format!("/v1.0/users/{victim}"), Some(json!({"jobTitle": "Renamed"})), &t, &[])
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = h.graph_with(Method::DELETE, &format!("/v1.0/users/{victim}"), None, &t, &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
}

/// An administrative unit written straight to the store (the administrative-unit API is not
/// part of this module), with `members` as direct members.
async fn administrative_unit(h: &Harness, members: &[&str]) -> String {
    let unit = ObjectRecord {
        id: uuid::Uuid::new_v4(),
        object_type: "administrativeUnit".into(),
        version: 1,
        doc: json!({"displayName": "Seattle"}).as_object().cloned().unwrap_or_default(),
        deleted_at: None,
    };
    let mut ops = vec![Op::Insert { object: unit.clone(), unique: Vec::new() }];
    for m in members {
        ops.push(Op::AddEdge { kind: EdgeKind::Member, source: unit.id, target: m.parse().expect("uuid") });
    }
    let audit = AuditRecord {
        id: uuid::Uuid::new_v4(),
        at: "2026-01-01T00:00:00Z".into(),
        activity: "Add administrative unit".into(),
        category: "AdministrativeUnit".into(),
        operation_type: "Add".into(),
        actor: Actor { kind: "system".into(), id: None, display_name: None },
        targets: Vec::new(),
        correlation_id: None,
        result: "success".into(),
    };
    h.store.apply(h.tenant(), Change { ops, audit }).await.expect("administrative unit");
    unit.id.to_string()
}

#[tokio::test]
async fn an_administrative_unit_scoped_role_reaches_only_the_units_members() {
    let h = Harness::new().await;
    let inside = id_of(&h.user("inside", "Inside").await);
    let outside = id_of(&h.user("outside", "Outside").await);
    let admin = id_of(&h.user("scoped", "Scoped Admin").await);
    let unit = administrative_unit(&h, &[&inside]).await;
    let created = assign(&h, &admin, USER_ADMIN, &format!("/administrativeUnits/{unit}")).await;
    assert_eq!(created["directoryScopeId"], format!("/administrativeUnits/{unit}"));
    // A scoped assignment is no directory role membership and no `wids` entry.
    let member_of = h.get(&format!("/v1.0/users/{admin}/memberOf")).await;
    assert_eq!(ids(&member_of.json), Vec::<String>::new(), "{}", member_of.text);
    let t = user_token(&h, "scoped@contoso.onmicrosoft.com").await;
    assert!(!wids(&t).as_array().is_some_and(|w| w.contains(&json!(USER_ADMIN))));

    let r =
        h.graph_with(Method::PATCH, &format!("/v1.0/users/{inside}"), Some(json!({"jobTitle": "Ok"})), &t, &[]).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = h
        .graph_with(
            Method::PATCH,
            "/v1.0/users/inside@contoso.onmicrosoft.com",
            Some(json!({"jobTitle": "Ok"})),
            &t,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r =
        h.graph_with(Method::PATCH, &format!("/v1.0/users/{outside}"), Some(json!({"jobTitle": "No"})), &t, &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let body = crate::harness::user_body("new", "New");
    let r = h.graph_with(Method::POST, "/v1.0/users", Some(body), &t, &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
}

#[tokio::test]
async fn a_role_assignable_group_carries_its_roles_to_its_members() {
    let h = Harness::new().await;
    let user = id_of(&h.user("grouped", "Grouped").await);
    let body = json!({
        "displayName": "User admins",
        "mailEnabled": false,
        "mailNickname": "useradmins",
        "securityEnabled": true,
        "isAssignableToRole": true,
    });
    let r = h.post("/v1.0/groups", body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let group = id_of(&r.json);
    let reference = json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{user}")});
    let r = h.post(&format!("/v1.0/groups/{group}/members/$ref"), reference).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assign(&h, &group, USER_ADMIN, "/").await;

    let t = user_token(&h, "grouped@contoso.onmicrosoft.com").await;
    assert!(wids(&t).as_array().is_some_and(|w| w.contains(&json!(USER_ADMIN))), "{}", wids(&t));
    let body = crate::harness::user_body("viagroup", "Via group");
    let r = h.graph_with(Method::POST, "/v1.0/users", Some(body), &t, &[]).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);

    // A security group is deleted for good, and its role assignments with it.
    assert_eq!(h.delete(&format!("/v1.0/groups/{group}")).await.status, StatusCode::NO_CONTENT);
    let r = h.get(&format!("{ASSIGNMENTS}?$filter=principalId%20eq%20'{group}'")).await;
    assert_eq!(ids(&r.json), Vec::<String>::new(), "{}", r.text);
    let body = crate::harness::user_body("nogroup", "No group");
    let r = h.graph_with(Method::POST, "/v1.0/users", Some(body), &t, &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
}

#[tokio::test]
async fn a_user_update_needs_the_actions_of_the_properties_it_sets() {
    let h = Harness::new().await;
    let victim = id_of(&h.user("victim", "Victim").await);
    let editor = id_of(&h.user("editor", "Editor").await);
    let helpdesk = id_of(&h.user("helpdesk", "Helpdesk").await);
    let r = h.post(DEFINITIONS, custom("Name editors", &["microsoft.directory/users/basic/update"])).await;
    assign(&h, &editor, &id_of(&r.json), "/").await;
    assign(&h, &helpdesk, "729827e3-9c14-49f7-bb1b-9608f156bbb8", "/").await;
    let path = format!("/v1.0/users/{victim}");
    let reset = json!({"passwordProfile": {"password": "Reset-Pa55word!", "forceChangePasswordNextSignIn": true}});

    // Basic properties only: a password reset or disabling needs its own action.
    let t = user_token(&h, "editor@contoso.onmicrosoft.com").await;
    let r = h.graph_with(Method::PATCH, &path, Some(json!({"department": "Sales"})), &t, &[]).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = h.graph_with(Method::PATCH, &path, Some(reset.clone()), &t, &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r = h.graph_with(Method::PATCH, &path, Some(json!({"accountEnabled": false})), &t, &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);

    // Helpdesk Administrator: resets passwords, edits nothing else.
    let t = user_token(&h, "helpdesk@contoso.onmicrosoft.com").await;
    let r = h.graph_with(Method::PATCH, &path, Some(reset), &t, &[]).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = h.graph_with(Method::PATCH, &path, Some(json!({"department": "Sales"})), &t, &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);

    // A member edits their own profile, not their own password or enablement.
    let t = user_token(&h, "editor@contoso.onmicrosoft.com").await;
    let r = h.graph_with(Method::PATCH, "/v1.0/me", Some(json!({"officeLocation": "B1"})), &t, &[]).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = h.graph_with(Method::PATCH, "/v1.0/me", Some(json!({"accountEnabled": false})), &t, &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let own = format!("/v1.0/users/{editor}");
    let r = h
        .graph_with(Method::PATCH, &own, Some(json!({"passwordProfile": {"password": "Self-Pa55word!"}})), &t, &[])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
}

#[tokio::test]
async fn purging_a_user_removes_their_role_assignments() {
    let h = Harness::new().await;
    let user = id_of(&h.user("leaver", "Leaver").await);
    assign(&h, &user, GLOBAL_READER, "/").await;
    let filter = format!("{ASSIGNMENTS}?$filter=principalId%20eq%20'{user}'");
    assert_eq!(h.delete(&format!("/v1.0/users/{user}")).await.status, StatusCode::NO_CONTENT);
    // In the recycle bin the assignment is kept, for a restore.
    assert_eq!(ids(&h.get(&filter).await.json).len(), 1);
    let r = h.delete(&format!("/v1.0/directory/deletedItems/{user}")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(ids(&h.get(&filter).await.json), Vec::<String>::new());
}
