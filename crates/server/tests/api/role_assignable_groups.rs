//! Role-assignable groups (`isAssignableToRole: true`) are a privilege boundary: they carry
//! directory roles to their members, so only Privileged Role Administrator and Global
//! Administrator (and apps that also hold `RoleManagement.ReadWrite.Directory`) edit them, on
//! Graph v1.0 and Azure AD Graph 1.6 alike; and Entra's invariants for them are enforced.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{Harness, Reply, id_of};
use crate::roles::user_token;

const GLOBAL_ADMIN: &str = "62e90394-69f5-4237-9190-012177145e10";
const GROUPS_ADMIN: &str = "fdd7a751-b60b-444a-984c-02652fe8fa1c";
const PRIVILEGED_ROLE_ADMIN: &str = "e8611ab8-c189-46e8-94e1-60213ab1f814";
const ASSIGNMENTS: &str = "/v1.0/roleManagement/directory/roleAssignments";

fn group_body(nickname: &str, assignable: bool) -> Value {
    json!({
        "displayName": nickname,
        "mailEnabled": false,
        "mailNickname": nickname,
        "securityEnabled": true,
        "isAssignableToRole": assignable,
    })
}

async fn create(h: &Harness, body: Value) -> Reply {
    h.post("/v1.0/groups", body).await
}

async fn assign(h: &Harness, principal: &str, role: &str) {
    let body = json!({"principalId": principal, "roleDefinitionId": role, "directoryScopeId": "/"});
    let r = h.post(ASSIGNMENTS, body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
}

fn reference(id: &str) -> Value {
    json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{id}")})
}

/// A role-assignable group holding Global Administrator, and an ordinary group.
async fn groups(h: &Harness) -> (String, String) {
    let r = create(h, group_body("admins", true)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let admins = id_of(&r.json);
    assign(h, &admins, GLOBAL_ADMIN).await;
    let r = create(h, group_body("plain", false)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    (admins, id_of(&r.json))
}

fn denied(r: &Reply, what: &str) {
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{what}: {}", r.text);
    assert_eq!(r.code(), "Authorization_RequestDenied", "{what}: {}", r.text);
}

#[tokio::test]
async fn a_groups_administrator_cannot_edit_a_role_assignable_group() {
    let h = Harness::new().await;
    let (admins, plain) = groups(&h).await;
    let me = id_of(&h.user("gadmin", "Groups admin").await);
    let bystander = id_of(&h.user("bystander", "Bystander").await);
    let r = h.post(&format!("/v1.0/groups/{admins}/members/$ref"), reference(&bystander)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assign(&h, &me, GROUPS_ADMIN).await;
    let t = user_token(&h, "gadmin@contoso.onmicrosoft.com").await;

    let attempts = [
        (Method::POST, format!("/v1.0/groups/{admins}/members/$ref"), Some(reference(&me))),
        (Method::DELETE, format!("/v1.0/groups/{admins}/members/{bystander}/$ref"), None),
        (Method::POST, format!("/v1.0/groups/{admins}/owners/$ref"), Some(reference(&me))),
        (Method::PATCH, format!("/v1.0/groups/{admins}"), Some(json!({"description": "mine now"}))),
        (Method::DELETE, format!("/v1.0/groups/{admins}"), None),
    ];
    for (method, path, body) in attempts {
        let r = h.graph_with(method.clone(), &path, body, &t, &[]).await;
        denied(&r, &format!("{method} {path}"));
    }
    // The escalation did not happen: no Global Administrator in the token, the group unchanged.
    let members = h.get(&format!("/v1.0/groups/{admins}/members")).await;
    let ids: Vec<&str> =
        members.json["value"].as_array().into_iter().flatten().filter_map(|m| m["id"].as_str()).collect();
    assert_eq!(ids, vec![bystander.as_str()], "{}", members.text);
    let r = h.graph_with(Method::POST, "/v1.0/users", Some(crate::harness::user_body("esc", "Esc")), &t, &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);

    // An ordinary group stays the Groups Administrator's.
    let r =
        h.graph_with(Method::POST, &format!("/v1.0/groups/{plain}/members/$ref"), Some(reference(&me)), &t, &[]).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
}

#[tokio::test]
async fn a_privileged_role_administrator_edits_a_role_assignable_group() {
    let h = Harness::new().await;
    let (admins, _) = groups(&h).await;
    let pra = id_of(&h.user("pra", "Privileged role admin").await);
    let member = id_of(&h.user("member", "Member").await);
    assign(&h, &pra, PRIVILEGED_ROLE_ADMIN).await;
    let t = user_token(&h, "pra@contoso.onmicrosoft.com").await;
    let r = h
        .graph_with(Method::POST, &format!("/v1.0/groups/{admins}/members/$ref"), Some(reference(&member)), &t, &[])
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = h.graph_with(Method::DELETE, &format!("/v1.0/groups/{admins}/members/{member}/$ref"), None, &t, &[]).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = h
        .graph_with(Method::PATCH, &format!("/v1.0/groups/{admins}"), Some(json!({"description": "ok"})), &t, &[])
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
}

#[tokio::test]
async fn an_app_needs_role_management_to_edit_a_role_assignable_group() {
    let h = Harness::new().await;
    let (admins, plain) = groups(&h).await;
    let user = id_of(&h.user("appadded", "App added").await);
    let members_only = h.sign(h.claims(&["GroupMember.ReadWrite.All"])).await;
    let add = |group: &str| format!("/v1.0/groups/{group}/members/$ref");
    let r = h.graph_with(Method::POST, &add(&admins), Some(reference(&user)), &members_only, &[]).await;
    denied(&r, "GroupMember.ReadWrite.All alone");
    let r = h.graph_with(Method::POST, &add(&plain), Some(reference(&user)), &members_only, &[]).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let group_rw = h.sign(h.claims(&["Group.ReadWrite.All"])).await;
    let r = h
        .graph_with(Method::PATCH, &format!("/v1.0/groups/{admins}"), Some(json!({"description": "x"})), &group_rw, &[])
        .await;
    denied(&r, "Group.ReadWrite.All alone");

    let both = h.sign(h.claims(&["GroupMember.ReadWrite.All", "RoleManagement.ReadWrite.Directory"])).await;
    let r = h.graph_with(Method::POST, &add(&admins), Some(reference(&user)), &both, &[]).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
}

#[tokio::test]
async fn azure_ad_graph_applies_the_same_rule() {
    let h = Harness::new().await;
    let (admins, _) = groups(&h).await;
    let me = id_of(&h.user("legacy", "Legacy groups admin").await);
    assign(&h, &me, GROUPS_ADMIN).await;
    let (t, _) =
        crate::aadgraph_queries::user_token(&h, "legacy@contoso.onmicrosoft.com", "Directory.AccessAsUser.All").await;
    let link = json!({"url": format!("https://graph.windows.net/myorganization/directoryObjects/{me}")});
    let path = format!("myorganization/groups/{admins}/$links/members");
    let r = crate::aadgraph_queries::me(&h, &t, Method::POST, &path, Some(link)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert_eq!(crate::aadgraph::code(&r), "Authorization_RequestDenied", "{}", r.text);
}

#[tokio::test]
async fn role_assignable_groups_keep_entras_invariants() {
    let h = Harness::new().await;
    let mut body = group_body("notsecure", true);
    body["securityEnabled"] = json!(false);
    let r = create(&h, body).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.message().contains("securityEnabled"), "{}", r.text);

    let mut body = group_body("dynamic", true);
    body["groupTypes"] = json!(["DynamicMembership"]);
    body["membershipRule"] = json!("user.department -eq \"Sales\"");
    body["membershipRuleProcessingState"] = json!("On");
    let r = create(&h, body).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.message().contains("dynamic membership"), "{}", r.text);

    let (admins, plain) = groups(&h).await;
    // The flag is set at creation only, both ways.
    let r = h.patch(&format!("/v1.0/groups/{admins}"), json!({"isAssignableToRole": false})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = h.patch(&format!("/v1.0/groups/{plain}"), json!({"isAssignableToRole": true})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(h.get(&format!("/v1.0/groups/{plain}")).await.json["isAssignableToRole"], json!(false));

    // No nesting: not by `$ref`, not by `members@odata.bind` on create or update.
    let r = h.post(&format!("/v1.0/groups/{admins}/members/$ref"), reference(&plain)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.message().contains("role-assignable"), "{}", r.text);
    let bind = json!([format!("https://graph.microsoft.com/v1.0/groups/{plain}")]);
    let mut body = group_body("nested", true);
    body["members@odata.bind"] = bind.clone();
    let r = create(&h, body).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = h.patch(&format!("/v1.0/groups/{admins}"), json!({"members@odata.bind": bind})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = h.get(&format!("/v1.0/groups/{admins}/members")).await;
    assert_eq!(r.json["value"], json!([]), "{}", r.text);
    // A role-assignable group may still be nested in an ordinary one, and take users.
    let r = h.post(&format!("/v1.0/groups/{plain}/members/$ref"), reference(&admins)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
}
