//! Delegated writes on Azure AD Graph 1.6 are bounded by the signed-in user's directory roles,
//! by the same rules as Graph v1.0 (`cerulean_directory::delegated`): a consented
//! `Directory.AccessAsUser.All` token lets an app do only what the user may.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::aadgraph::code;
use crate::aadgraph_queries::{me, user_token};
use crate::harness::{Harness, id_of};

const USER_ADMINISTRATOR: &str = "fe930be7-5e62-47db-91af-98c3a49a38b1";

#[tokio::test]
async fn a_member_token_cannot_administer_the_directory() {
    let h = Harness::new().await;
    let user = id_of(&h.user("dm-member", "Member").await);
    let other = id_of(&h.user("dm-other", "Other").await);
    let (t, _) = user_token(&h, "dm-member@contoso.onmicrosoft.com", "Directory.AccessAsUser.All").await;
    let tenant = h.boot.tenant_id.to_string();
    let new_user = json!({
        "accountEnabled": true,
        "displayName": "Made by a member",
        "mailNickname": "dm-made",
        "userPrincipalName": "dm-made@contoso.onmicrosoft.com",
        "passwordProfile": {"password": "Xw-Pass!2345xy", "forceChangePasswordNextLogin": false}
    });
    let denied = [
        (Method::POST, "myorganization/users".to_string(), Some(new_user.clone())),
        (Method::DELETE, format!("myorganization/users/{other}"), None),
        (Method::POST, "myorganization/domains".to_string(), Some(json!({"name": "member.example.com"}))),
        (
            Method::PATCH,
            format!("myorganization/tenantDetails/{tenant}"),
            Some(json!({"marketingNotificationEmails": ["x@example.com"]})),
        ),
        (
            Method::POST,
            format!("myorganization/users/{other}/assignLicense"),
            Some(json!({"addLicenses": [], "removeLicenses": []})),
        ),
        (Method::PATCH, format!("myorganization/users/{other}"), Some(json!({"jobTitle": "Changed"}))),
    ];
    for (method, path, body) in denied {
        let r = me(&h, &t, method.clone(), &path, body).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{method} {path}: {}", r.text);
        assert_eq!(code(&r), "Authorization_RequestDenied", "{}", r.text);
        assert_eq!(r.json["odata.error"]["message"]["lang"], "en", "1.6 error shape: {}", r.text);
    }
    // Nothing happened.
    assert_eq!(h.get(&format!("/v1.0/users/{other}")).await.status, StatusCode::OK);
    assert_eq!(h.get("/v1.0/users/dm-made@contoso.onmicrosoft.com").await.status, StatusCode::NOT_FOUND);

    // The member may still edit their own profile, as on Graph v1.0, but not set their manager.
    let r = me(&h, &t, Method::PATCH, "me", Some(json!({"jobTitle": "Own title"}))).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(h.get(&format!("/v1.0/users/{user}")).await.json["jobTitle"], "Own title");
    let link = json!({"url": format!("https://graph.windows.net/myorganization/directoryObjects/{other}")});
    let r = me(&h, &t, Method::PUT, "me/$links/manager", Some(link)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "users/manager/update is an administrator's: {}", r.text);
    // Own password changes stay open: `me/changePassword` needs no role.
    let r =
        me(&h, &t, Method::POST, "me/changePassword", Some(json!({"currentPassword": "wrong", "newPassword": "x"})))
            .await;
    assert_ne!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    // Reading functions are every member's.
    let r = me(&h, &t, Method::POST, "me/getMemberGroups", Some(json!({"securityEnabledOnly": false}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

#[tokio::test]
async fn a_user_administrator_token_may_create_users() {
    let h = Harness::new().await;
    let admin = id_of(&h.user("dm-admin", "User Admin").await);
    let r = h
        .post(
            "/v1.0/roleManagement/directory/roleAssignments",
            json!({"principalId": admin, "roleDefinitionId": USER_ADMINISTRATOR, "directoryScopeId": "/"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let (t, _) = user_token(&h, "dm-admin@contoso.onmicrosoft.com", "Directory.AccessAsUser.All").await;
    let body = json!({
        "accountEnabled": true,
        "displayName": "Made by an admin",
        "mailNickname": "dm-made",
        "userPrincipalName": "dm-made@contoso.onmicrosoft.com",
        "passwordProfile": {"password": "Xw-Pass!2345xy", "forceChangePasswordNextLogin": false}
    });
    let r = me(&h, &t, Method::POST, "myorganization/users", Some(body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    // ... but a User Administrator adds no domains.
    let r = me(&h, &t, Method::POST, "myorganization/domains", Some(json!({"name": "admin.example.com"}))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    // The role is read live: removed, it stops working at once.
    let list =
        h.get(&format!("/v1.0/roleManagement/directory/roleAssignments?$filter=principalId%20eq%20'{admin}'")).await;
    let assignment = list.json["value"][0]["id"].as_str().expect("assignment").to_string();
    let r = h.delete(&format!("/v1.0/roleManagement/directory/roleAssignments/{assignment}")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = me(&h, &t, Method::DELETE, "myorganization/users/dm-made@contoso.onmicrosoft.com", None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
}

#[tokio::test]
async fn user_read_covers_the_own_profile() {
    let h = Harness::new().await;
    let user = id_of(&h.user("dm-self", "Self").await);
    let (read, _) = user_token(&h, "dm-self@contoso.onmicrosoft.com", "User.Read").await;
    let r = me(&h, &read, Method::GET, "me", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["objectId"], user);
    let r = me(&h, &read, Method::GET, "myorganization/users", None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert_eq!(code(&r), "Authorization_RequestDenied");
    let r = me(&h, &read, Method::PATCH, "me", Some(json!({"jobTitle": "Nope"}))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "User.Read does not write: {}", r.text);
    // Azure AD Graph has no `User.ReadWrite`: its own-profile writes act as the user.
    let (write, _) = user_token(&h, "dm-self@contoso.onmicrosoft.com", "Directory.AccessAsUser.All").await;
    let r = me(&h, &write, Method::PATCH, "me", Some(json!({"jobTitle": "Written"}))).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(h.get(&format!("/v1.0/users/{user}")).await.json["jobTitle"], "Written");
}
