//! App roles assigned to users and groups: the `roles` claim of user access tokens (the
//! resource's roles) and ID tokens (the client's), directly and through groups, transitively;
//! and `appRoleAssignmentRequired`, which blocks users without an assignment from every way of
//! signing in (AADSTS50105).

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::browser::{Browser, NATIVE_REDIRECT, PASSWORD, assert_oauth, hidden, registered_app, s256};
use crate::harness::{Harness, Reply, id_of};
use crate::token_versions::{claims, confidential_client, grant, web_api};

const ADMIN_ROLE: &str = "4d2f9b6e-1c3a-4e5f-8a7b-9c0d1e2f3a4b";
const READER_ROLE: &str = "5e3a0c7f-2d4b-4f6a-9b8c-0d1e2f3a4b5c";
const CLIENT_ROLE: &str = "6f4b1d8a-3e5c-4a7b-8c9d-1e2f3a4b5c6d";
const DEFAULT_ACCESS: &str = "00000000-0000-0000-0000-000000000000";
const UPN: &str = "adele@contoso.onmicrosoft.com";

fn role(id: &str, value: &str, types: &[&str]) -> Value {
    json!({"id": id, "value": value, "allowedMemberTypes": types, "isEnabled": true,
        "displayName": value, "description": value})
}

fn reference(id: &str) -> Value {
    json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{id}")})
}

async fn add_member(h: &Harness, group: &str, member: &str) {
    let r = h.post(&format!("/v1.0/groups/{group}/members/$ref"), reference(member)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
}

/// Assigns `role` of the service principal `resource` to the user or group `principal`
/// (`kind` is `users`, `groups` or `servicePrincipals`); returns the assignment's id.
pub(crate) async fn assign(h: &Harness, kind: &str, principal: &str, resource: &str, role: &str) -> String {
    let r = h
        .post(
            &format!("/v1.0/{kind}/{principal}/appRoleAssignments"),
            json!({"principalId": principal, "resourceId": resource, "appRoleId": role}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    id_of(&r.json)
}

async fn ropc(h: &Harness, client_id: &str, secret: Option<&str>, scope: &str) -> Reply {
    let mut fields = vec![
        ("grant_type", "password"),
        ("client_id", client_id),
        ("username", UPN),
        ("password", PASSWORD),
        ("scope", scope),
    ];
    if let Some(secret) = secret {
        fields.push(("client_secret", secret));
    }
    h.form(&format!("/{}/oauth2/v2.0/token", h.boot.tenant_id), &fields, None).await
}

#[tokio::test]
async fn roles_come_from_direct_and_group_assignments() {
    let h = Harness::new().await;
    let user = id_of(&h.user("adele", "Adele Vance").await);
    let (api_app_id, api_oid, api_sp) = web_api(&h, Some(2)).await;
    let r = h
        .patch(
            &format!("/v1.0/applications/{api_oid}"),
            json!({"appRoles": [
                role("6a5a8b44-1f2b-4c7e-9b4f-3f1c2d3e4a5b", "Data.Read", &["Application"]),
                role(ADMIN_ROLE, "Orders.Admin", &["User"]),
                role(READER_ROLE, "Orders.Reader", &["User", "Application"]),
            ]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let (client_id, secret, client_sp) = confidential_client(&h, "Web app").await;
    let client_app = h.get(&format!("/v1.0/applications(appId='{client_id}')")).await;
    let r = h
        .patch(
            &format!("/v1.0/applications/{}", id_of(&client_app.json)),
            json!({"appRoles": [role(CLIENT_ROLE, "Client.User", &["User"])]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    grant(&h, &client_sp, &api_sp, "access_as_user").await;
    let scope = format!("api://{api_app_id}/access_as_user openid");

    // No assignment: no `roles` claim at all.
    let r = ropc(&h, &client_id, Some(&secret), &scope).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(claims(r.json["access_token"].as_str().expect("at"), 1).get("roles").is_none(), "{}", r.text);
    assert!(claims(r.json["id_token"].as_str().expect("id"), 1).get("roles").is_none());

    // Directly: Orders.Admin; through a group nested in an assigned group: Orders.Reader; the
    // client's own role lands in the ID token only.
    assign(&h, "users", &user, &api_sp, ADMIN_ROLE).await;
    let readers = id_of(&h.group("readers", "Order readers").await);
    let team = id_of(&h.group("team", "Team").await);
    add_member(&h, &readers, &team).await;
    add_member(&h, &team, &user).await;
    let group_assignment = assign(&h, "groups", &readers, &api_sp, READER_ROLE).await;
    assign(&h, "users", &user, &client_sp, CLIENT_ROLE).await;
    // An assignment to a group the user is not in changes nothing.
    let others = id_of(&h.group("others", "Others").await);
    assign(&h, "groups", &others, &api_sp, DEFAULT_ACCESS).await;

    let r = ropc(&h, &client_id, Some(&secret), &scope).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let at = claims(r.json["access_token"].as_str().expect("at"), 1);
    assert_eq!(at["roles"], json!(["Orders.Admin", "Orders.Reader"]), "{at}");
    assert_eq!(at["scp"], "access_as_user");
    let id = claims(r.json["id_token"].as_str().expect("id"), 1);
    assert_eq!(id["roles"], json!(["Client.User"]), "{id}");

    // Removing the group's assignment removes its role.
    let r = h.delete(&format!("/v1.0/groups/{readers}/appRoleAssignments/{group_assignment}")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = ropc(&h, &client_id, Some(&secret), &scope).await;
    assert_eq!(claims(r.json["access_token"].as_str().expect("at"), 1)["roles"], json!(["Orders.Admin"]));
}

async fn require_assignment(h: &Harness, app_id: &str) {
    let r = h
        .patch(&format!("/v1.0/servicePrincipals(appId='{app_id}')"), json!({"appRoleAssignmentRequired": true}))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
}

fn authorize_url(h: &Harness, client_id: &str) -> String {
    let challenge = s256("a-verifier-long-enough-for-pkce-0123456789-abcdefghijklmnop");
    let p = [
        ("client_id", client_id),
        ("response_type", "code"),
        ("redirect_uri", NATIVE_REDIRECT),
        ("scope", "openid offline_access User.Read"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    format!("/{}/oauth2/v2.0/authorize?{}", h.boot.tenant_id, serde_urlencoded::to_string(p).expect("query"))
}

#[tokio::test]
async fn assignment_required_blocks_unassigned_users_everywhere() {
    let h = Harness::new().await;
    let user = id_of(&h.user("adele", "Adele Vance").await);
    let (app_id, _) = registered_app(&h, Some("User.Read")).await;
    let sp = id_of(&h.get(&format!("/v1.0/servicePrincipals(appId='{app_id}')")).await.json);
    let scope = "https://graph.microsoft.com/User.Read openid offline_access";

    // Before assignment is required: a refresh token to present later.
    let r = ropc(&h, &app_id, None, scope).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let rt = r.json["refresh_token"].as_str().expect("rt").to_string();
    require_assignment(&h, &app_id).await;

    // Password grant.
    let r = ropc(&h, &app_id, None, scope).await;
    assert_oauth(&r, 400, "invalid_grant", 50105);
    assert!(r.json["error_description"].as_str().is_some_and(|d| d.contains(UPN)), "{}", r.text);

    // Refresh.
    let refresh = |rt: String| {
        let h = &h;
        let app_id = app_id.clone();
        async move {
            h.form(
                &format!("/{}/oauth2/v2.0/token", h.boot.tenant_id),
                &[("grant_type", "refresh_token"), ("client_id", &app_id), ("refresh_token", &rt), ("scope", scope)],
                None,
            )
            .await
        }
    };
    assert_oauth(&refresh(rt.clone()).await, 400, "invalid_grant", 50105);

    // Authorize: the error is on the page, not sent to the application.
    let mut b = Browser::default();
    let page = b.get(&h, &authorize_url(&h, &app_id)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    let r = b.sign_in(&h, &page, UPN, PASSWORD).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.text.contains("AADSTS50105"), "{}", r.text);
    assert!(r.headers.get("location").is_none());

    // Device code: the poll that would issue the tokens is refused.
    let d = h
        .form(
            &format!("/{}/oauth2/v2.0/devicecode", h.boot.tenant_id),
            &[("client_id", &app_id), ("scope", scope)],
            None,
        )
        .await;
    assert_eq!(d.status, StatusCode::OK, "{}", d.text);
    let uri = d.json["verification_uri"].as_str().expect("uri");
    let path = uri.strip_prefix(crate::harness::PUBLIC_URL).expect("public url").to_string();
    let mut b = Browser::default();
    let entry = b.get(&h, &path).await;
    let csrf = hidden(&entry.text, "csrf");
    let form = b.post(&h, &path, &[("csrf", &csrf), ("otc", d.json["user_code"].as_str().expect("code"))]).await;
    b.sign_in(&h, &form, UPN, PASSWORD).await;
    let r = h
        .form(
            &format!("/{}/oauth2/v2.0/token", h.boot.tenant_id),
            &[
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("client_id", &app_id),
                ("device_code", d.json["device_code"].as_str().expect("device_code")),
            ],
            None,
        )
        .await;
    assert_oauth(&r, 400, "invalid_grant", 50105);

    // Assigned through a group (default access, no role value): every grant works again, and
    // the token has no `roles`.
    let group = id_of(&h.group("app-users", "App users").await);
    add_member(&h, &group, &user).await;
    assign(&h, "groups", &group, &sp, DEFAULT_ACCESS).await;
    let r = ropc(&h, &app_id, None, scope).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(claims(r.json["id_token"].as_str().expect("id"), 1).get("roles").is_none());
    let r = refresh(r.json["refresh_token"].as_str().expect("rt").to_string()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let mut b = Browser::default();
    let page = b.get(&h, &authorize_url(&h, &app_id)).await;
    let r = b.sign_in(&h, &page, UPN, PASSWORD).await;
    let loc = crate::browser::location(&r);
    assert!(loc.starts_with(NATIVE_REDIRECT) && loc.contains("code="), "{loc}");
}
