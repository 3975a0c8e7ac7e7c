//! Administrative units (`/directory/administrativeUnits`): CRUD with Entra's checks, the
//! recycle bin, members (users, groups, devices; `$ref`, casts, `$count`, one member), units in
//! `memberOf` and the membership actions, dynamic units, and the unit permissions.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::devices::{admin_delegated, device, get, get_eventual};
use crate::harness::{Harness, Reply, id_of};

const UNITS: &str = "/v1.0/directory/administrativeUnits";

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

async fn unit(h: &Harness, name: &str) -> String {
    let r = h.post(UNITS, json!({"displayName": name, "description": format!("{name} unit")})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    id_of(&r.json)
}

#[tokio::test]
async fn units_are_created_read_updated_and_recycled() {
    let h = Harness::new().await;
    let r = h.post(UNITS, json!({"displayName": "Seattle", "visibility": "HiddenMembership"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let seattle = id_of(&r.json);
    assert_eq!(r.json["@odata.context"], "https://cerulean.test/v1.0/$metadata#directory/administrativeUnits/$entity");
    assert_eq!(
        r.headers.get("location").and_then(|v| v.to_str().ok()),
        Some(format!("https://cerulean.test{UNITS}/{seattle}").as_str())
    );
    assert_eq!(r.json["visibility"], "HiddenMembership");
    let paris = unit(&h, "Paris").await;

    // Entra's checks.
    let r = h.post(UNITS, json!({"description": "no name"})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.message(), "Property displayName value is required but is empty or missing.");
    let r = h.post(UNITS, json!({"displayName": "X", "visibility": "Secret"})).await;
    assert_eq!(r.message(), "Invalid value specified for property 'visibility' of resource 'AdministrativeUnit'.");
    let r = h.post(UNITS, json!({"displayName": "X", "membershipType": "Sometimes"})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = h.post(UNITS, json!({"displayName": "X", "membershipRule": "user.city -eq \"Oslo\""})).await;
    assert_eq!(r.message(), "Invalid value specified for property 'membershipRule' of resource 'AdministrativeUnit'.");

    // Reads.
    let r = get(&h, &format!("{UNITS}?$filter=displayName eq 'Paris'")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(ids(&r), vec![paris.clone()]);
    assert_eq!(r.json["@odata.context"], "https://cerulean.test/v1.0/$metadata#directory/administrativeUnits");
    let r = get_eventual(&h, &format!("{UNITS}/$count")).await;
    assert_eq!(r.text, "2");
    let r = get(&h, &format!("{UNITS}/{paris}?$select=description")).await;
    assert_eq!(r.json["description"], "Paris unit", "{}", r.text);
    assert_eq!(get(&h, &format!("{UNITS}/{}", uuid::Uuid::new_v4())).await.status, StatusCode::NOT_FOUND);

    // Updates: visibility is fixed at creation.
    let r = h.patch(&format!("{UNITS}/{paris}"), json!({"description": "City of light"})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(get(&h, &format!("{UNITS}/{paris}")).await.json["description"], "City of light");
    let r = h.patch(&format!("{UNITS}/{paris}"), json!({"visibility": "HiddenMembership"})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.message(), "Property 'visibility' cannot be updated.");

    // Deleted units go to the recycle bin and come back.
    let r = h.delete(&format!("{UNITS}/{seattle}")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(get(&h, &format!("{UNITS}/{seattle}")).await.status, StatusCode::NOT_FOUND);
    let r = get(&h, &format!("/v1.0/directory/deletedItems/{seattle}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["@odata.type"], "#microsoft.graph.administrativeUnit");
    let r = get(&h, "/v1.0/directory/deletedItems/microsoft.graph.administrativeUnit").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(ids(&r), vec![seattle.clone()]);
    assert_eq!(r.json["@odata.context"], "https://cerulean.test/v1.0/$metadata#administrativeUnits");
    let r = get_eventual(&h, "/v1.0/directory/deletedItems/microsoft.graph.administrativeUnit/$count").await;
    assert_eq!(r.text, "1");
    // The unit permission restores it.
    let writer = h.sign(h.claims(&["AdministrativeUnit.ReadWrite.All"])).await;
    let restore = format!("/v1.0/directory/deletedItems/{seattle}/restore");
    let r = h.graph_with(Method::POST, &restore, Some(json!({})), &writer, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(get(&h, &format!("{UNITS}/{seattle}")).await.status, StatusCode::OK);
}

#[tokio::test]
async fn unit_permissions_follow_the_reference() {
    let h = Harness::new().await;
    let paris = unit(&h, "Paris").await;
    // Directory.ReadWrite.All reads units but does not create them (AdministrativeUnit.ReadWrite.All does).
    let directory = h.sign(h.claims(&["Directory.ReadWrite.All"])).await;
    let r = h.graph_with(Method::POST, UNITS, Some(json!({"displayName": "X"})), &directory, &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r = h.graph_with(Method::GET, UNITS, None, &directory, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let reader = h.sign(h.claims(&["AdministrativeUnit.Read.All"])).await;
    let r = h.graph_with(Method::GET, &format!("{UNITS}/{paris}/members"), None, &reader, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r =
        h.graph_with(Method::PATCH, &format!("{UNITS}/{paris}"), Some(json!({"description": "x"})), &reader, &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let writer = h.sign(h.claims(&["AdministrativeUnit.ReadWrite.All"])).await;
    let r = h.graph_with(Method::POST, UNITS, Some(json!({"displayName": "Lyon"})), &writer, &[]).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
}

#[tokio::test]
async fn members_are_users_groups_and_devices() {
    let h = Harness::new().await;
    let admin = admin_delegated(&h).await;
    let paris = unit(&h, "Paris").await;
    let adele = id_of(&h.user("adele", "Adele Vance").await);
    let megan = id_of(&h.user("megan", "Megan Bowen").await);
    let group = id_of(&h.group("paris-staff", "Paris staff").await);
    let laptop = id_of(&device(&h, &admin, "Paris-Laptop", "Windows").await);
    let r = h.post(&format!("/v1.0/groups/{group}/members/$ref"), reference(&megan)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);

    let add = format!("{UNITS}/{paris}/members/$ref");
    for m in [&adele, &group, &laptop] {
        let r = h.post(&add, reference(m)).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    }
    let r = h.post(&add, reference(&adele)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(
        r.message(),
        "One or more added object references already exist for the following modified properties: 'members'."
    );
    let r = h.post(&add, reference(&uuid::Uuid::new_v4().to_string())).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let other_unit = unit(&h, "Lyon").await;
    let r = h.post(&add, reference(&other_unit)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "a unit holds no unit: {}", r.text);
    let r = h.post(&add, json!({})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = h.post(&format!("{UNITS}/{}/members/$ref", uuid::Uuid::new_v4()), reference(&adele)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);

    // Lists, casts, counts, one member.
    let r = get(&h, &format!("{UNITS}/{paris}/members")).await;
    assert_eq!(ids(&r), sorted(&[&adele, &group, &laptop]), "{}", r.text);
    for (cast, want) in [("user", &adele), ("group", &group), ("device", &laptop)] {
        let r = get(&h, &format!("{UNITS}/{paris}/members/microsoft.graph.{cast}")).await;
        assert_eq!(ids(&r), vec![want.clone()], "{cast}: {}", r.text);
        let r = get_eventual(&h, &format!("{UNITS}/{paris}/members/microsoft.graph.{cast}/$count")).await;
        assert_eq!(r.text, "1", "{cast}");
    }
    let r = get_eventual(&h, &format!("{UNITS}/{paris}/members/$count")).await;
    assert_eq!(r.text, "3");
    let r = get(&h, &format!("{UNITS}/{paris}/members/{adele}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["@odata.type"], "#microsoft.graph.user");
    assert_eq!(get(&h, &format!("{UNITS}/{paris}/members/{megan}")).await.status, StatusCode::NOT_FOUND);

    // Units appear in memberOf (direct membership only), as Graph returns them.
    let r = get(&h, &format!("/v1.0/users/{adele}/memberOf")).await;
    assert_eq!(ids(&r), vec![paris.clone()], "{}", r.text);
    assert_eq!(r.json["value"][0]["@odata.type"], "#microsoft.graph.administrativeUnit");
    let r = get(&h, &format!("/v1.0/devices/{laptop}/memberOf")).await;
    assert_eq!(ids(&r), vec![paris.clone()], "{}", r.text);
    for path in [
        format!("/v1.0/users/{adele}/memberOf/microsoft.graph.administrativeUnit"),
        format!("/v1.0/groups/{group}/memberOf/microsoft.graph.administrativeUnit"),
        format!("/v1.0/devices/{laptop}/memberOf/microsoft.graph.administrativeUnit?$select=id,displayName"),
    ] {
        let r = get(&h, &path).await;
        assert_eq!(ids(&r), vec![paris.clone()], "{path}: {}", r.text);
    }
    let r = get(&h, &format!("/v1.0/users/{megan}/memberOf/microsoft.graph.administrativeUnit")).await;
    assert_eq!(ids(&r), Vec::<String>::new(), "{}", r.text);
    let r = get(&h, &format!("/v1.0/groups/{group}/memberOf")).await;
    assert_eq!(ids(&r), vec![paris.clone()], "{}", r.text);
    let r = get(&h, &format!("/v1.0/users/{adele}/transitiveMemberOf")).await;
    assert_eq!(ids(&r), vec![paris.clone()], "{}", r.text);
    // Megan is in the group, the group in the unit: unit membership is not inherited.
    let r = get(&h, &format!("/v1.0/users/{megan}/transitiveMemberOf")).await;
    assert_eq!(ids(&r), vec![group.clone()], "{}", r.text);
    let r = h.post(&format!("/v1.0/users/{adele}/getMemberObjects"), json!({})).await;
    assert_eq!(r.json["value"], json!([paris]), "{}", r.text);
    let r = h.post(&format!("/v1.0/users/{adele}/getMemberGroups"), json!({})).await;
    assert_eq!(r.json["value"], json!([]), "a unit is not a group: {}", r.text);
    let r = h.post(&format!("/v1.0/users/{adele}/checkMemberObjects"), json!({"ids": [paris]})).await;
    assert_eq!(r.json["value"], json!([paris]), "{}", r.text);

    // Removal.
    let remove = format!("{UNITS}/{paris}/members/{adele}/$ref");
    assert_eq!(h.delete(&remove).await.status, StatusCode::NO_CONTENT);
    assert_eq!(h.delete(&remove).await.status, StatusCode::NOT_FOUND);
    let r = get(&h, &format!("/v1.0/users/{adele}/transitiveMemberOf")).await;
    assert_eq!(ids(&r), Vec::<String>::new(), "{}", r.text);
    assert_eq!(h.delete(&format!("{UNITS}/{paris}/members/nope/$ref")).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn dynamic_units_follow_their_rule() {
    let h = Harness::new().await;
    let mut body = crate::harness::user_body("adele", "Adele Vance");
    body["city"] = json!("Oslo");
    let r = h.post("/v1.0/users", body).await;
    let adele = id_of(&r.json);
    let bob = id_of(&h.user("bob", "Bob").await);

    let r = h.post(UNITS, json!({"displayName": "Oslo", "membershipType": "Dynamic"})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.message(), "Property membershipRule value is required but is empty or missing.");
    let r = h
        .post(UNITS, json!({"displayName": "Oslo", "membershipType": "Dynamic", "membershipRule": "user.city -eq"}))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = h
        .post(
            UNITS,
            json!({"displayName": "Oslo", "membershipType": "Dynamic", "membershipRule": "user.city -eq \"Oslo\""}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.json["membershipRuleProcessingState"], "On");
    let oslo = id_of(&r.json);
    let members = format!("{UNITS}/{oslo}/members");
    assert_eq!(ids(&get(&h, &members).await), vec![adele.clone()]);

    // Members follow user changes; they cannot be written by hand.
    let r = h.patch(&format!("/v1.0/users/{bob}"), json!({"city": "Oslo"})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(ids(&get(&h, &members).await), sorted(&[&adele, &bob]));
    let r = h.post(&format!("{members}/$ref"), reference(&bob)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.message(), "Members of an administrative unit with dynamic membership cannot be added or removed.");

    // Back to assigned: the rule goes, the members stay.
    let r = h.patch(&format!("{UNITS}/{oslo}"), json!({"membershipType": "Assigned"})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = get(&h, &format!("{UNITS}/{oslo}")).await;
    assert!(r.json["membershipRule"].is_null(), "{}", r.text);
    let r = h.delete(&format!("{members}/{bob}/$ref")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
}

#[tokio::test]
async fn unit_permissions_reach_deleted_units_only() {
    let h = Harness::new().await;
    let user = id_of(&h.user("gone", "Gone").await);
    assert_eq!(h.delete(&format!("/v1.0/users/{user}")).await.status, StatusCode::NO_CONTENT);
    let oslo = unit(&h, "Oslo").await;
    assert_eq!(h.delete(&format!("{UNITS}/{oslo}")).await.status, StatusCode::NO_CONTENT);
    let writer = h.sign(h.claims(&["AdministrativeUnit.ReadWrite.All"])).await;
    // The deleted user is out of reach of the unit permission, whatever the operation.
    for (method, path) in [
        (Method::GET, format!("/v1.0/directory/deletedItems/{user}")),
        (Method::POST, format!("/v1.0/directory/deletedItems/{user}/restore")),
        (Method::DELETE, format!("/v1.0/directory/deletedItems/{user}")),
    ] {
        let r = h.graph_with(method.clone(), &path, None, &writer, &[]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{method} {path}: {}", r.text);
        assert_eq!(r.code(), "Authorization_RequestDenied");
    }
    // The deleted unit is within it; a user permission in turn does not reach the unit.
    let r = h.graph_with(Method::GET, &format!("/v1.0/directory/deletedItems/{oslo}"), None, &writer, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let users_only = h.sign(h.claims(&["User.ReadWrite.All"])).await;
    let r = h.graph_with(Method::DELETE, &format!("/v1.0/directory/deletedItems/{oslo}"), None, &users_only, &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r =
        h.graph_with(Method::POST, &format!("/v1.0/directory/deletedItems/{oslo}/restore"), None, &writer, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = h.graph_with(Method::DELETE, &format!("/v1.0/directory/deletedItems/{user}"), None, &users_only, &[]).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
}

const USER_ADMINISTRATOR: &str = "fe930be7-5e62-47db-91af-98c3a49a38b1";
const GLOBAL_READER: &str = "f2ef992c-3afb-46b9-b7cf-a126ee74c451";
const PRIVILEGED_ROLE_ADMINISTRATOR: &str = "e8611ab8-c189-46e8-94e1-60213ab1f814";
const ASSIGNMENTS: &str = "/v1.0/roleManagement/directory/roleAssignments";

/// A delegated token for `user` with the given scopes (no directory role claim: the roles the
/// server consults are the user's role assignments).
async fn delegated(h: &Harness, user: &str, scopes: &str) -> String {
    let mut claims = h.claims(&[]);
    let c = claims.as_object_mut().expect("claims");
    c.remove("roles");
    c.insert("idtyp".into(), json!("user"));
    c.insert("oid".into(), json!(user));
    c.insert("scp".into(), json!(scopes));
    h.sign(claims).await
}

#[tokio::test]
async fn scoped_role_members_and_role_assignments_are_one_state() {
    let h = Harness::new().await;
    let paris = unit(&h, "Paris").await;
    let lyon = unit(&h, "Lyon").await;
    let adele = h.user("adele", "Adele Vance").await;
    let adele_id = id_of(&adele);
    let megan = id_of(&h.user("megan", "Megan Bowen").await);
    let scoped = format!("{UNITS}/{paris}/scopedRoleMembers");

    // Through the unit's view, with a role definition (template) id.
    let r = h.post(&scoped, json!({"roleId": USER_ADMINISTRATOR, "roleMemberInfo": {"id": adele_id}})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.json["@odata.context"], "https://cerulean.test/v1.0/$metadata#scopedRoleMemberships/$entity");
    assert_eq!(r.json["administrativeUnitId"], paris.as_str());
    assert_eq!(r.json["roleMemberInfo"]["id"], adele_id.as_str());
    assert_eq!(r.json["roleMemberInfo"]["displayName"], "Adele Vance");
    let membership = id_of(&r.json);

    // ... it is a role assignment with the unit's scope, listed and filterable as one.
    let r = h.get(&format!("{ASSIGNMENTS}/{membership}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["directoryScopeId"], format!("/administrativeUnits/{paris}"));
    assert_eq!(r.json["roleDefinitionId"], USER_ADMINISTRATOR);
    assert_eq!(r.json["principalId"], adele_id.as_str());
    let r = h.get(&format!("{ASSIGNMENTS}?$filter=directoryScopeId%20eq%20'/administrativeUnits/{paris}'")).await;
    assert_eq!(ids(&r), vec![membership.clone()], "{}", r.text);

    // Through roleAssignments, seen by the unit's view and by the user's scopedRoleMemberOf.
    let r = h
        .post(
            ASSIGNMENTS,
            json!({"principalId": megan, "roleDefinitionId": USER_ADMINISTRATOR, "directoryScopeId": format!("/administrativeUnits/{paris}")}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let megans = id_of(&r.json);
    let r = get(&h, &scoped).await;
    assert_eq!(ids(&r), sorted(&[&membership, &megans]), "{}", r.text);
    assert_eq!(
        r.json["@odata.context"],
        format!("https://cerulean.test/v1.0/$metadata#directory/administrativeUnits('{paris}')/scopedRoleMembers")
    );
    let r = get(&h, &format!("/v1.0/users/{megan}/scopedRoleMemberOf")).await;
    assert_eq!(ids(&r), vec![megans.clone()], "{}", r.text);
    assert_eq!(r.json["value"][0]["administrativeUnitId"], paris.as_str());
    let r = get(&h, &format!("{scoped}/{megans}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // A membership of one unit is not found under another.
    assert_eq!(get(&h, &format!("{UNITS}/{lyon}/scopedRoleMembers/{megans}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(ids(&get(&h, &format!("{UNITS}/{lyon}/scopedRoleMembers")).await), Vec::<String>::new());

    // The roleId of an activated directory role is accepted too.
    let r = h.post("/v1.0/directoryRoles", json!({"roleTemplateId": USER_ADMINISTRATOR})).await;
    let role = match r.status {
        StatusCode::CREATED => id_of(&r.json),
        _ => {
            let r = get(&h, &format!("/v1.0/directoryRoles(roleTemplateId='{USER_ADMINISTRATOR}')")).await;
            id_of(&r.json)
        }
    };
    let r = h
        .post(&format!("{UNITS}/{lyon}/scopedRoleMembers"), json!({"roleId": role, "roleMemberInfo": {"id": megan}}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.json["roleId"], role.as_str());

    // Errors: a role Entra does not allow at unit scope (both views), a duplicate, missing or
    // unknown fields, unknown units, roles and members.
    let r = h.post(&scoped, json!({"roleId": GLOBAL_READER, "roleMemberInfo": {"id": megan}})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.message().contains("cannot be assigned at administrative unit scope"), "{}", r.text);
    let r = h
        .post(
            ASSIGNMENTS,
            json!({"principalId": megan, "roleDefinitionId": GLOBAL_READER, "directoryScopeId": format!("/administrativeUnits/{paris}")}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = h.post(&scoped, json!({"roleId": USER_ADMINISTRATOR, "roleMemberInfo": {"id": adele_id}})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "a duplicate: {}", r.text);
    let r = h.post(&scoped, json!({"roleMemberInfo": {"id": adele_id}})).await;
    assert_eq!(r.message(), "Property roleId value is required but is empty or missing.");
    let r = h.post(&scoped, json!({"roleId": USER_ADMINISTRATOR})).await;
    assert_eq!(r.message(), "Property roleMemberInfo value is required but is empty or missing.");
    let r =
        h.post(&scoped, json!({"roleId": USER_ADMINISTRATOR, "roleMemberInfo": {"id": adele_id}, "colour": 1})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r =
        h.post(&scoped, json!({"roleId": uuid::Uuid::new_v4().to_string(), "roleMemberInfo": {"id": adele_id}})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let r = h
        .post(
            &scoped,
            json!({"roleId": USER_ADMINISTRATOR, "roleMemberInfo": {"id": uuid::Uuid::new_v4().to_string()}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let r = h
        .post(
            &format!("{UNITS}/{}/scopedRoleMembers", uuid::Uuid::new_v4()),
            json!({"roleId": USER_ADMINISTRATOR, "roleMemberInfo": {"id": megan}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);

    // Permissions per the reference: RoleManagement.ReadWrite.Directory writes,
    // RoleManagement.Read.Directory (or Directory.Read.All) reads.
    let reader = h.sign(h.claims(&["RoleManagement.Read.Directory"])).await;
    assert_eq!(h.graph_with(Method::GET, &scoped, None, &reader, &[]).await.status, StatusCode::OK);
    let r = h
        .graph_with(
            Method::POST,
            &scoped,
            Some(json!({"roleId": USER_ADMINISTRATOR, "roleMemberInfo": {"id": megan}})),
            &reader,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);

    // Removing through the unit's view removes the assignment.
    let r = h.delete(&format!("{scoped}/{membership}")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(h.get(&format!("{ASSIGNMENTS}/{membership}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(h.delete(&format!("{UNITS}/{lyon}/scopedRoleMembers/{megans}")).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_unit_scoped_user_administrator_manages_only_the_units_members() {
    let h = Harness::new().await;
    let paris = unit(&h, "Paris").await;
    let helper = id_of(&h.user("helper", "Paris Helpdesk").await);
    let inside = id_of(&h.user("inside", "Inside Paris").await);
    let outside = id_of(&h.user("outside", "Outside Paris").await);
    let r = h.post(&format!("{UNITS}/{paris}/members/$ref"), reference(&inside)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    // A Privileged Role Administrator (delegated) makes the helper a User Administrator of Paris.
    let roles_admin = id_of(&h.user("roles", "Roles Admin").await);
    let r = h
        .post(ASSIGNMENTS, json!({"principalId": roles_admin, "roleDefinitionId": PRIVILEGED_ROLE_ADMINISTRATOR, "directoryScopeId": "/"}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let pra = delegated(&h, &roles_admin, "RoleManagement.ReadWrite.Directory").await;
    let body = json!({"roleId": USER_ADMINISTRATOR, "roleMemberInfo": {"id": helper}});
    let r =
        h.graph_with(Method::POST, &format!("{UNITS}/{paris}/scopedRoleMembers"), Some(body.clone()), &pra, &[]).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let token = delegated(&h, &helper, "User.ReadWrite.All Directory.AccessAsUser.All").await;
    // The helper cannot hand out roles, not even in their own unit.
    let me_too = delegated(&h, &helper, "RoleManagement.ReadWrite.Directory").await;
    let body = json!({"roleId": USER_ADMINISTRATOR, "roleMemberInfo": {"id": inside}});
    let r = h.graph_with(Method::POST, &format!("{UNITS}/{paris}/scopedRoleMembers"), Some(body), &me_too, &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);

    // A user in the unit: updated, disabled, given a new password.
    let r = h
        .graph_with(Method::PATCH, &format!("/v1.0/users/{inside}"), Some(json!({"jobTitle": "Manager"})), &token, &[])
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = h
        .graph_with(
            Method::PATCH,
            &format!("/v1.0/users/{inside}"),
            Some(json!({"accountEnabled": false})),
            &token,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(h.get(&format!("/v1.0/users/{inside}?$select=jobTitle")).await.json["jobTitle"], "Manager");
    // A user outside it: refused, with Graph's error, and unchanged.
    let r = h
        .graph_with(Method::PATCH, &format!("/v1.0/users/{outside}"), Some(json!({"jobTitle": "Manager"})), &token, &[])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert_eq!(r.code(), "Authorization_RequestDenied");
    assert_eq!(r.message(), "Insufficient privileges to complete the operation.");
    assert_eq!(h.get(&format!("/v1.0/users/{outside}?$select=jobTitle")).await.json["jobTitle"], json!(null));
    let r = h.graph_with(Method::DELETE, &format!("/v1.0/users/{outside}"), None, &token, &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    // Tenant-wide operations stay out of reach.
    let r = h
        .graph_with(Method::POST, "/v1.0/users", Some(crate::harness::user_body("newbie", "Newbie")), &token, &[])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);

    // Adding the outsider to the unit brings them in reach; removing the role takes it away.
    let r = h.post(&format!("{UNITS}/{paris}/members/$ref"), reference(&outside)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = h
        .graph_with(Method::PATCH, &format!("/v1.0/users/{outside}"), Some(json!({"jobTitle": "Clerk"})), &token, &[])
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = get(&h, &format!("/v1.0/users/{helper}/scopedRoleMemberOf")).await;
    let membership = r.json["value"][0]["id"].as_str().expect("membership").to_string();
    let r = h.delete(&format!("{UNITS}/{paris}/scopedRoleMembers/{membership}")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = h
        .graph_with(Method::PATCH, &format!("/v1.0/users/{inside}"), Some(json!({"jobTitle": "Again"})), &token, &[])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    // The signed-in user's own scoped roles through /me.
    let me = delegated(&h, &helper, "Directory.Read.All").await;
    let r = h.graph_with(Method::GET, "/v1.0/me/scopedRoleMemberOf", None, &me, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["value"], json!([]));
}
