//! The `groups` claim of ID and access tokens per `groupMembershipClaims` (the client's for
//! ID tokens, the resource's for access tokens), transitive, and the overage claim past 200.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{Harness, PUBLIC_URL, id_of};
use crate::token_versions::{claims, confidential_client, grant, web_api};

const GLOBAL_ADMIN: &str = "62e90394-69f5-4237-9190-012177145e10";

fn reference(id: &str) -> Value {
    json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{id}")})
}

async fn add_member(h: &Harness, group: &str, member: &str) {
    let r = h.post(&format!("/v1.0/groups/{group}/members/$ref"), reference(member)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
}

async fn set_claims(h: &Harness, app_oid: &str, value: &str) {
    let r = h.patch(&format!("/v1.0/applications/{app_oid}"), json!({"groupMembershipClaims": value})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
}

/// ROPC as the bootstrap Global Administrator; (access token claims, ID token claims).
async fn sign_in(h: &Harness, client_id: &str, secret: &str, scope: &str) -> (Value, Value) {
    let r = h
        .form(
            &format!("/{}/oauth2/v2.0/token", h.boot.tenant_id),
            &[
                ("grant_type", "password"),
                ("client_id", client_id),
                ("client_secret", secret),
                ("username", &h.boot.admin_user_principal_name),
                ("password", &h.boot.admin_password),
                ("scope", scope),
            ],
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    (claims(r.json["access_token"].as_str().expect("at"), 1), claims(r.json["id_token"].as_str().expect("id_token"), 1))
}

fn sorted(v: &[&str]) -> Value {
    let mut v: Vec<String> = v.iter().map(|s| s.to_string()).collect();
    v.sort();
    json!(v)
}

#[tokio::test]
async fn groups_claim_follows_group_membership_claims() {
    let h = Harness::new().await;
    let admin = h.get(&format!("/v1.0/users/{}", h.boot.admin_user_principal_name)).await;
    let admin_id = id_of(&admin.json);
    // Security groups A (direct) and B (through A), and a Microsoft 365 group M.
    let a = id_of(&h.group("team-a", "Team A").await);
    let b = id_of(&h.group("team-b", "Team B").await);
    let r = h
        .post(
            "/v1.0/groups",
            json!({"displayName": "Project M", "mailEnabled": true, "mailNickname": "project-m", "securityEnabled": false, "groupTypes": ["Unified"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let m = id_of(&r.json);
    add_member(&h, &a, &admin_id).await;
    add_member(&h, &b, &a).await;
    add_member(&h, &m, &admin_id).await;

    let (api_app_id, api_oid, api_sp) = web_api(&h, Some(2)).await;
    let (client_id, secret, client_sp) = confidential_client(&h, "Groups app").await;
    let client_oid = id_of(&h.get(&format!("/v1.0/applications(appId='{client_id}')")).await.json);
    grant(&h, &client_sp, &api_sp, "access_as_user").await;
    let scope = format!("api://{api_app_id}/access_as_user openid");

    // Nobody asks: no claim.
    let (at, id) = sign_in(&h, &client_id, &secret, &scope).await;
    assert!(at.get("groups").is_none() && id.get("groups").is_none(), "{at} {id}");

    // The client's SecurityGroup shapes the ID token; the resource's All the access token.
    set_claims(&h, &client_oid, "SecurityGroup").await;
    set_claims(&h, &api_oid, "All").await;
    let (at, id) = sign_in(&h, &client_id, &secret, &scope).await;
    assert_eq!(id["groups"], sorted(&[&a, &b, GLOBAL_ADMIN]), "{id}");
    assert_eq!(at["groups"], sorted(&[&a, &b, &m, GLOBAL_ADMIN]), "{at}");

    // DirectoryRole: the roles only; ApplicationGroup: groups assigned to the app.
    set_claims(&h, &client_oid, "DirectoryRole").await;
    set_claims(&h, &api_oid, "ApplicationGroup").await;
    let r = h
        .post(
            &format!("/v1.0/servicePrincipals/{api_sp}/appRoleAssignedTo"),
            json!({"principalId": b, "resourceId": api_sp, "appRoleId": "00000000-0000-0000-0000-000000000000"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let (at, id) = sign_in(&h, &client_id, &secret, &scope).await;
    assert_eq!(id["groups"], json!([GLOBAL_ADMIN]), "{id}");
    assert_eq!(at["groups"], json!([b]), "{at}");

    // None turns it off; Microsoft Graph tokens never carry groups.
    set_claims(&h, &client_oid, "None").await;
    let (_, id) = sign_in(&h, &client_id, &secret, &scope).await;
    assert!(id.get("groups").is_none(), "{id}");
    let graph = h.get("/v1.0/servicePrincipals(appId='00000003-0000-0000-c000-000000000000')").await;
    grant(&h, &client_sp, &id_of(&graph.json), "User.Read").await;
    set_claims(&h, &client_oid, "All").await;
    let (at, id) = sign_in(&h, &client_id, &secret, "https://graph.microsoft.com/User.Read openid").await;
    assert!(at.get("groups").is_none(), "{at}");
    assert!(id["groups"].as_array().is_some_and(|g| g.len() == 4), "{id}");
}

#[tokio::test]
async fn more_than_200_groups_become_an_overage_claim() {
    let h = Harness::new().await;
    let admin = h.get(&format!("/v1.0/users/{}", h.boot.admin_user_principal_name)).await;
    let admin_id = id_of(&admin.json);
    let (client_id, secret, _) = confidential_client(&h, "Overage app").await;
    let client_oid = id_of(&h.get(&format!("/v1.0/applications(appId='{client_id}')")).await.json);
    let graph = h.get("/v1.0/servicePrincipals(appId='00000003-0000-0000-c000-000000000000')").await;
    let client_sp = id_of(&h.get(&format!("/v1.0/servicePrincipals(appId='{client_id}')")).await.json);
    grant(&h, &client_sp, &id_of(&graph.json), "User.Read").await;
    set_claims(&h, &client_oid, "SecurityGroup").await;
    let scope = "https://graph.microsoft.com/User.Read openid";

    // 199 groups + the Global Administrator role = 200: still listed.
    for i in 0..199 {
        let g = id_of(&h.group(&format!("g{i}"), &format!("Group {i}")).await);
        add_member(&h, &g, &admin_id).await;
    }
    let (_, id) = sign_in(&h, &client_id, &secret, scope).await;
    assert_eq!(id["groups"].as_array().map(Vec::len), Some(200), "{id}");
    assert!(id.get("_claim_names").is_none());

    // One more: the claim is replaced by a pointer to the user's memberships.
    let g = id_of(&h.group("g199", "Group 199").await);
    add_member(&h, &g, &admin_id).await;
    let (_, id) = sign_in(&h, &client_id, &secret, scope).await;
    assert!(id.get("groups").is_none(), "{id}");
    assert_eq!(id["_claim_names"], json!({"groups": "src1"}));
    let endpoint = format!("{PUBLIC_URL}/v1.0/users/{admin_id}/getMemberObjects");
    assert_eq!(id["_claim_sources"]["src1"]["endpoint"], endpoint.as_str());
    // The endpoint answers with the memberships.
    let path = endpoint.strip_prefix(PUBLIC_URL).expect("local");
    let r = h.graph(Method::POST, path, Some(json!({"securityEnabledOnly": true}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.json["value"].as_array().is_some_and(|v| v.len() >= 200), "{}", r.text);
}
