//! `/servicePrincipals`, app role assignments, delegated permission grants, and the token
//! endpoint with credentials made through Graph.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::harness::{Harness, id_of};

const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";
const AAD_GRAPH_APP_ID: &str = "00000002-0000-0000-c000-000000000000";
/// Microsoft Graph's `User.Read.All` app role.
const USER_READ_ALL_ROLE: &str = "df021288-bdef-4463-88db-98f22de89214";

fn claims_of(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("payload");
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).expect("b64"))
        .expect("json")
}

async fn token_for(h: &Harness, client_id: &str, secret: &str, scope: &str) -> crate::harness::Reply {
    h.form(
        &format!("/{}/oauth2/v2.0/token", h.boot.tenant_id),
        &[("grant_type", "client_credentials"), ("client_id", client_id), ("client_secret", secret), ("scope", scope)],
        None,
    )
    .await
}

#[tokio::test]
async fn new_app_gets_a_token_with_its_assigned_role_and_loses_it_with_the_secret() {
    let h = Harness::new().await;
    let app = h.post("/v1.0/applications", json!({"displayName": "Worker"})).await.json;
    let (app_oid, app_id) = (id_of(&app), app["appId"].as_str().expect("appId").to_string());
    let r = h.post("/v1.0/servicePrincipals", json!({"appId": app_id})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let sp = r.json;
    assert_eq!(sp["appDisplayName"], "Worker");
    assert_eq!(sp["servicePrincipalType"], "Application");
    assert_eq!(sp["appOwnerOrganizationId"], h.boot.tenant_id.as_str());
    let sp_id = id_of(&sp);

    let pw = h.post(&format!("/v1.0/applications/{app_oid}/addPassword"), json!({})).await;
    assert_eq!(pw.status, StatusCode::OK, "{}", pw.text);
    let secret = pw.json["secretText"].as_str().expect("secret").to_string();
    let key_id = pw.json["keyId"].as_str().expect("keyId").to_string();

    let graph = h.get(&format!("/v1.0/servicePrincipals(appId='{GRAPH_APP_ID}')")).await;
    assert_eq!(graph.status, StatusCode::OK, "{}", graph.text);
    let graph_id = id_of(&graph.json);
    let roles = graph.json["appRoles"].as_array().expect("appRoles");
    assert!(roles.iter().any(|r| r["id"] == USER_READ_ALL_ROLE && r["value"] == "User.Read.All"));

    let r = h
        .post(
            &format!("/v1.0/servicePrincipals/{graph_id}/appRoleAssignedTo"),
            json!({"principalId": sp_id, "resourceId": graph_id, "appRoleId": USER_READ_ALL_ROLE}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.json["principalType"], "ServicePrincipal");
    assert_eq!(r.json["resourceDisplayName"], "Microsoft Graph");
    let assignment = id_of(&r.json);
    // The same role twice.
    let r = h
        .post(
            &format!("/v1.0/servicePrincipals/{graph_id}/appRoleAssignedTo"),
            json!({"principalId": sp_id, "resourceId": graph_id, "appRoleId": USER_READ_ALL_ROLE}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.message(), "Permission being assigned already exists on the object");
    // A role the resource does not have.
    let r = h
        .post(
            &format!("/v1.0/servicePrincipals/{graph_id}/appRoleAssignedTo"),
            json!({"principalId": sp_id, "resourceId": graph_id, "appRoleId": "11111111-1111-1111-1111-111111111111"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);

    // Listed from both ends.
    let r = h.get(&format!("/v1.0/servicePrincipals/{sp_id}/appRoleAssignments")).await;
    assert_eq!(r.json["value"].as_array().map(Vec::len), Some(1), "{}", r.text);
    let r = h
        .get(&format!("/v1.0/servicePrincipals/{graph_id}/appRoleAssignedTo?$filter=principalId%20eq%20{sp_id}"))
        .await;
    assert_eq!(r.json["value"][0]["id"], assignment.as_str(), "{}", r.text);

    // The new secret works at the token endpoint and the token carries the role.
    let r = token_for(&h, &app_id, &secret, "https://graph.microsoft.com/.default").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let token = r.json["access_token"].as_str().expect("token").to_string();
    assert_eq!(claims_of(&token)["roles"], json!(["User.Read.All"]));
    assert_eq!(claims_of(&token)["appid"], app_id.as_str());
    let r = h.graph_with(axum::http::Method::GET, "/v1.0/users", None, &token, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    // Removing the assignment removes the role from new tokens.
    let r = h.delete(&format!("/v1.0/servicePrincipals/{graph_id}/appRoleAssignedTo/{assignment}")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = token_for(&h, &app_id, &secret, "https://graph.microsoft.com/.default").await;
    assert!(claims_of(r.json["access_token"].as_str().expect("token")).get("roles").is_none_or(|r| r == &json!([])));

    // removePassword: the secret stops working.
    let r = h.post(&format!("/v1.0/applications/{app_oid}/removePassword"), json!({"keyId": key_id})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = token_for(&h, &app_id, &secret, "https://graph.microsoft.com/.default").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    assert_eq!(r.json["error"], "invalid_client");
}

#[tokio::test]
async fn service_principal_rules() {
    let h = Harness::new().await;
    let r = h.post("/v1.0/servicePrincipals", json!({"appId": "5c3b6f36-1a0b-4c55-a4f4-000000000000"})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(
        r.message(),
        "The appId '5c3b6f36-1a0b-4c55-a4f4-000000000000' of the service principal does not reference a valid application object."
    );
    let r = h.post("/v1.0/servicePrincipals", json!({"appId": GRAPH_APP_ID})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.message().contains("already in use"));
    let r = h.post("/v1.0/servicePrincipals", json!({})).await;
    assert_eq!(r.message(), "Property appId value is required but is empty or missing.");

    let app = h.post("/v1.0/applications", json!({"displayName": "Tagged"})).await.json;
    let app_id = app["appId"].as_str().expect("appId").to_string();
    let sp = h
        .post("/v1.0/servicePrincipals", json!({"appId": app_id, "tags": ["WindowsAzureActiveDirectoryIntegratedApp"]}))
        .await;
    assert_eq!(sp.status, StatusCode::CREATED, "{}", sp.text);
    assert_eq!(sp.json["tags"], json!(["WindowsAzureActiveDirectoryIntegratedApp"]));
    let sp_id = id_of(&sp.json);
    assert_eq!(sp.json["servicePrincipalNames"], json!([app_id]));
    let r = h
        .patch(&format!("/v1.0/servicePrincipals(appId='{app_id}')"), json!({"appRoleAssignmentRequired": true}))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = h.patch(&format!("/v1.0/servicePrincipals/{sp_id}"), json!({"appId": "other"})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);

    // App roles defined on the application appear on its service principal.
    let role = json!({"id": "0566419e-bb95-4d9d-a4f8-ed9a0f147fa6", "value": "Things.Read.All", "displayName": "Read things",
        "description": "Read things", "allowedMemberTypes": ["User"], "isEnabled": true});
    let r = h.patch(&format!("/v1.0/applications/{}", id_of(&app)), json!({"appRoles": [role]})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = h.get(&format!("/v1.0/servicePrincipals/{sp_id}?$select=appRoles,appRoleAssignmentRequired")).await;
    assert_eq!(r.json["appRoles"][0]["value"], "Things.Read.All", "{}", r.text);
    assert_eq!(r.json["appRoleAssignmentRequired"], true);

    // Assigning that role to a user and a group; a user-only role is refused for an app.
    let user = id_of(&h.user("worker", "Worker").await);
    let group = id_of(&h.group("workers", "Workers").await);
    let r = h
        .post(
            &format!("/v1.0/users/{user}/appRoleAssignments"),
            json!({"principalId": user, "resourceId": sp_id, "appRoleId": "0566419e-bb95-4d9d-a4f8-ed9a0f147fa6"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.json["principalType"], "User");
    let user_assignment = id_of(&r.json);
    let r = h
        .post(
            &format!("/v1.0/groups/{group}/appRoleAssignments"),
            json!({"principalId": group, "resourceId": sp_id, "appRoleId": "00000000-0000-0000-0000-000000000000"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let bootstrap_sp = h.get(&format!("/v1.0/servicePrincipals(appId='{}')", h.boot.client_id)).await;
    let r = h
        .post(
            &format!("/v1.0/servicePrincipals/{sp_id}/appRoleAssignedTo"),
            json!({"principalId": id_of(&bootstrap_sp.json), "resourceId": sp_id, "appRoleId": "0566419e-bb95-4d9d-a4f8-ed9a0f147fa6"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = h.get(&format!("/v1.0/users/{user}/appRoleAssignments")).await;
    assert_eq!(r.json["value"].as_array().map(Vec::len), Some(1), "{}", r.text);
    let r = h.get(&format!("/v1.0/servicePrincipals/{sp_id}/appRoleAssignedTo")).await;
    assert_eq!(r.json["value"].as_array().map(Vec::len), Some(2), "{}", r.text);
    // An assignment is reached only through its own principal.
    let r = h.delete(&format!("/v1.0/groups/{group}/appRoleAssignments/{user_assignment}")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let r = h.delete(&format!("/v1.0/users/{user}/appRoleAssignments/{user_assignment}")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);

    // The first-party resource service principals stay.
    let graph = h.get(&format!("/v1.0/servicePrincipals(appId='{GRAPH_APP_ID}')")).await;
    assert_eq!(
        h.delete(&format!("/v1.0/servicePrincipals/{}", id_of(&graph.json))).await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn delegated_permission_grants() {
    let h = Harness::new().await;
    let app = h.post("/v1.0/applications", json!({"displayName": "Delegating"})).await.json;
    let sp = h.post("/v1.0/servicePrincipals", json!({"appId": app["appId"]})).await.json;
    let graph = h.get(&format!("/v1.0/servicePrincipals(appId='{GRAPH_APP_ID}')")).await.json;
    let body = json!({"clientId": id_of(&sp), "consentType": "AllPrincipals", "resourceId": id_of(&graph), "scope": "User.Read  openid"});
    let r = h.post("/v1.0/oauth2PermissionGrants", body.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.json["scope"], "User.Read openid");
    let gid = id_of(&r.json);
    let r = h.post("/v1.0/oauth2PermissionGrants", body).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.message(), "Permission entry already exists.");
    let r = h
        .post(
            "/v1.0/oauth2PermissionGrants",
            json!({"clientId": id_of(&sp), "consentType": "Principal", "resourceId": id_of(&graph)}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = h.patch(&format!("/v1.0/oauth2PermissionGrants/{gid}"), json!({"scope": "User.Read"})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = h.get(&format!("/v1.0/oauth2PermissionGrants?$filter=clientId%20eq%20'{}'", id_of(&sp))).await;
    assert_eq!(r.json["value"][0]["scope"], "User.Read", "{}", r.text);
    assert_eq!(h.delete(&format!("/v1.0/oauth2PermissionGrants/{gid}")).await.status, StatusCode::NO_CONTENT);
    assert_eq!(h.get(&format!("/v1.0/oauth2PermissionGrants/{gid}")).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn azure_ad_graph_resource_exists_and_issues_tokens() {
    let h = Harness::new().await;
    let r = h.get(&format!("/v1.0/servicePrincipals(appId='{AAD_GRAPH_APP_ID}')")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["displayName"], "Windows Azure Active Directory");
    let scopes = r.json["oauth2PermissionScopes"].as_array().expect("scopes");
    assert!(scopes.iter().any(|s| s["value"] == "User.Read" && s["id"] == "311a71cc-e848-46a1-bdf8-97ff7156d8e6"));
    let r = token_for(&h, &h.boot.client_id, &h.boot.client_secret, "https://graph.windows.net/.default").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let claims = claims_of(r.json["access_token"].as_str().expect("token"));
    assert_eq!(claims["aud"], "https://graph.windows.net");
    assert_eq!(claims["roles"], json!(["Directory.ReadWrite.All"]));
}

/// A service principal in nested groups: direct and transitive `memberOf` (with `/$count` and the
/// group cast) and the four membership actions, on `/servicePrincipals/{id}` and on
/// `/directoryObjects/{id}`.
#[tokio::test]
async fn service_principals_are_group_members_directly_and_transitively() {
    let h = Harness::new().await;
    let app = h.post("/v1.0/applications", json!({"displayName": "Nightly"})).await.json;
    let r = h.post("/v1.0/servicePrincipals", json!({"appId": app["appId"]})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let sp = id_of(&r.json);
    let inner = id_of(&h.group("robots", "Robots").await);
    let outer = id_of(&h.group("automation", "Automation").await);
    let user = id_of(&h.user("adele", "Adele Vance").await);
    for (g, m) in [(&inner, &sp), (&outer, &inner)] {
        let body = json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{m}")});
        let r = h.post(&format!("/v1.0/groups/{g}/members/$ref"), body).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    }
    let ids = |r: &crate::harness::Reply| -> Vec<String> {
        let mut v: Vec<String> = r.json["value"].as_array().map(|a| a.iter().map(id_of).collect()).unwrap_or_default();
        v.sort();
        v
    };
    let mut both = vec![inner.clone(), outer.clone()];
    both.sort();

    let r = h.get(&format!("/v1.0/servicePrincipals/{sp}/memberOf")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(ids(&r), vec![inner.clone()], "{}", r.text);
    // The group's members cast to service principals: the principal, not the other types.
    let body = json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{user}")});
    let r = h.post(&format!("/v1.0/groups/{inner}/members/$ref"), body).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = h.get(&format!("/v1.0/groups/{inner}/members/microsoft.graph.servicePrincipal")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(ids(&r), vec![sp.clone()], "{}", r.text);
    assert_eq!(r.json["@odata.context"], "https://cerulean.test/v1.0/$metadata#servicePrincipals", "{}", r.text);
    let r = h.get_eventual(&format!("/v1.0/servicePrincipals/{sp}/memberOf/$count")).await;
    assert_eq!(r.text, "1");
    let r = h.get(&format!("/v1.0/servicePrincipals/{sp}/memberOf/microsoft.graph.group")).await;
    assert_eq!(ids(&r), vec![inner.clone()], "{}", r.text);
    assert_eq!(r.json["@odata.context"], "https://cerulean.test/v1.0/$metadata#groups");
    let r = h.get(&format!("/v1.0/servicePrincipals/{sp}/transitiveMemberOf")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(ids(&r), both, "{}", r.text);
    let r = h.get_eventual(&format!("/v1.0/servicePrincipals/{sp}/transitiveMemberOf/$count")).await;
    assert_eq!(r.text, "2");
    let path = format!(
        "/v1.0/servicePrincipals/{sp}/transitiveMemberOf/microsoft.graph.group?$filter=displayName%20eq%20'Automation'"
    );
    let r = h.get(&path).await;
    assert_eq!(ids(&r), vec![outer.clone()], "{}", r.text);
    let path = format!("/v1.0/servicePrincipals/{sp}/transitiveMemberOf/microsoft.graph.group/$count");
    assert_eq!(h.get_eventual(&path).await.text, "2");
    let r = h.get(&format!("/v1.0/groups/{outer}/transitiveMembers")).await;
    assert!(ids(&r).contains(&sp), "{}", r.text);

    for set in ["servicePrincipals", "directoryObjects"] {
        let r = h.post(&format!("/v1.0/{set}/{sp}/checkMemberGroups"), json!({"groupIds": [outer, user]})).await;
        assert_eq!(r.status, StatusCode::OK, "{set}: {}", r.text);
        assert_eq!(r.json["value"], json!([outer]), "{set}: {}", r.text);
        let r = h.post(&format!("/v1.0/{set}/{sp}/getMemberGroups"), json!({"securityEnabledOnly": true})).await;
        let mut got: Vec<String> = serde_json::from_value(r.json["value"].clone()).expect("ids");
        got.sort();
        assert_eq!(got, both, "{set}: {}", r.text);
        let r = h.post(&format!("/v1.0/{set}/{sp}/checkMemberObjects"), json!({"ids": [inner, user]})).await;
        assert_eq!(r.json["value"], json!([inner]), "{set}: {}", r.text);
        let r = h.post(&format!("/v1.0/{set}/{sp}/getMemberObjects"), json!({"securityEnabledOnly": false})).await;
        let mut got: Vec<String> = serde_json::from_value(r.json["value"].clone()).expect("ids");
        got.sort();
        assert_eq!(got, both, "{set}: {}", r.text);
        let r = h.post(&format!("/v1.0/{set}/{sp}/checkMemberGroups"), json!({})).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{set}: {}", r.text);
        let r = h.post(&format!("/v1.0/{set}/{sp}/getMemberGroups"), json!({"securityEnabledOnly": "yes"})).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{set}: {}", r.text);
    }
    // A user is not a service principal.
    let r = h.post(&format!("/v1.0/servicePrincipals/{user}/getMemberGroups"), json!({})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let r = h.get(&format!("/v1.0/servicePrincipals/{user}/transitiveMemberOf")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);

    // Leaving the inner group takes the outer one with it.
    let r = h.delete(&format!("/v1.0/groups/{inner}/members/{sp}/$ref")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = h.get(&format!("/v1.0/servicePrincipals/{sp}/transitiveMemberOf")).await;
    assert_eq!(ids(&r), Vec::<String>::new(), "{}", r.text);
    let r = h.post(&format!("/v1.0/servicePrincipals/{sp}/getMemberObjects"), json!({})).await;
    assert_eq!(r.json["value"], json!([]), "{}", r.text);
}
