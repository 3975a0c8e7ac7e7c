//! The full Microsoft Graph permission catalogue on the "Microsoft Graph" service principal:
//! an app registration naming any public permission (here `Mail.Read`, as a scope and as an
//! app role) is consented to and gets it in `scp` / `roles`; a tenant bootstrapped with a
//! shorter catalogue is brought up to date, once.

use axum::http::StatusCode;
use base64::Engine;
use serde_json::{Value, json};

use crate::browser::*;
use crate::harness::{Harness, id_of};

const MAIL_READ_ROLE: &str = "810c84a8-4a9e-49e6-bf7d-12d183f40d01";
const MAIL_READ_SCOPE: &str = "570282fd-fa5c-430d-a7fd-fc8dc98a9dca";

fn claims(token: &str) -> Value {
    let part = token.split('.').nth(1).expect("jwt payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).expect("base64url");
    serde_json::from_slice(&bytes).expect("json")
}

fn find<'a>(list: &'a Value, id: &str) -> &'a Value {
    list.as_array().expect("array").iter().find(|e| e["id"] == id).unwrap_or(&Value::Null)
}

#[tokio::test]
async fn the_graph_service_principal_carries_the_full_catalogue() {
    let h = Harness::new().await;
    let graph = h.get(&format!("/v1.0/servicePrincipals(appId='{GRAPH}')")).await;
    assert_eq!(graph.status, StatusCode::OK, "{}", graph.text);
    let roles = &graph.json["appRoles"];
    let scopes = &graph.json["oauth2PermissionScopes"];
    assert!(roles.as_array().expect("appRoles").len() > 850, "{} app roles", roles.as_array().map_or(0, Vec::len));
    assert!(scopes.as_array().expect("scopes").len() > 850);
    let role = find(roles, MAIL_READ_ROLE);
    assert_eq!(role["value"], "Mail.Read");
    assert_eq!(role["displayName"], "Read mail in all mailboxes");
    assert_eq!(role["allowedMemberTypes"], json!(["Application"]));
    assert_eq!(role["isEnabled"], true);
    let scope = find(scopes, MAIL_READ_SCOPE);
    assert_eq!(scope["value"], "Mail.Read");
    assert_eq!(scope["type"], "User");
    assert_eq!(scope["userConsentDescription"], "Allows the app to read email in your mailbox. ");
}

#[tokio::test]
async fn mail_read_as_scope_and_role_is_consented_and_issued() {
    let h = Harness::new().await;
    h.user("adele", "Adele Vance").await;
    let r = h
        .post(
            "/v1.0/applications",
            json!({
                "displayName": "Mail reader",
                "web": {"redirectUris": [WEB_REDIRECT]},
                "requiredResourceAccess": [{"resourceAppId": GRAPH, "resourceAccess": [
                    {"id": MAIL_READ_SCOPE, "type": "Scope"}, {"id": MAIL_READ_ROLE, "type": "Role"}]}],
            }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let (app_id, object_id) = (r.json["appId"].as_str().expect("appId").to_string(), id_of(&r.json));
    let sp = h.post("/v1.0/servicePrincipals", json!({"appId": app_id})).await;
    assert_eq!(sp.status, StatusCode::CREATED, "{}", sp.text);
    let secret = h
        .post(
            &format!("/v1.0/applications/{object_id}/addPassword"),
            json!({"passwordCredential": {"displayName": "t"}}),
        )
        .await;
    let secret = secret.json["secretText"].as_str().expect("secretText").to_string();

    // Before consent: no Mail.Read role in an app token.
    let before = client_credentials(&h, &app_id, &secret).await;
    assert_eq!(before.status, StatusCode::OK, "{}", before.text);
    let before = claims(before.json["access_token"].as_str().expect("token"));
    assert!(!before["roles"].as_array().is_some_and(|r| r.contains(&json!("Mail.Read"))), "{before}");

    // Admin consent lists the permission with its official admin texts, and grants it.
    let url = format!(
        "/{}/adminconsent?{}",
        h.boot.tenant_id,
        serde_urlencoded::to_string([("client_id", app_id.as_str()), ("redirect_uri", WEB_REDIRECT), ("state", "s")])
            .expect("query")
    );
    let mut admin = Browser::default();
    let page = admin.get(&h, &url).await;
    let consent = admin.sign_in(&h, &page, &h.boot.admin_user_principal_name, &h.boot.admin_password).await;
    assert!(consent.text.contains("Read mail in all mailboxes"), "{}", consent.text);
    assert!(consent.text.contains("Read user mail"), "{}", consent.text);
    let action_url = format!("/{}/oauth2/v2.0/consent", h.boot.tenant_id);
    let (flow, csrf) = (hidden(&consent.text, "flow"), hidden(&consent.text, "csrf"));
    let r = admin.post(&h, &action_url, &[("flow", &flow), ("csrf", &csrf), ("action", "accept")]).await;
    assert_eq!(redirect_params(&location(&r))["admin_consent"], "True", "{}", r.text);

    // The app role reaches `roles` of an app token...
    let app = client_credentials(&h, &app_id, &secret).await;
    assert_eq!(app.status, StatusCode::OK, "{}", app.text);
    let app = claims(app.json["access_token"].as_str().expect("token"));
    assert!(app["roles"].as_array().is_some_and(|r| r.contains(&json!("Mail.Read"))), "{app}");

    // ...and the delegated scope `scp` of a user token.
    let user = h
        .form(
            &format!("/{}/oauth2/v2.0/token", h.boot.tenant_id),
            &[
                ("grant_type", "password"),
                ("client_id", &app_id),
                ("client_secret", &secret),
                ("username", "adele@contoso.onmicrosoft.com"),
                ("password", PASSWORD),
                ("scope", "https://graph.microsoft.com/Mail.Read"),
            ],
            None,
        )
        .await;
    assert_eq!(user.status, StatusCode::OK, "{}", user.text);
    let user = claims(user.json["access_token"].as_str().expect("token"));
    let scp = user["scp"].as_str().expect("scp");
    assert!(scp.split(' ').any(|s| s == "Mail.Read"), "{user}");
}

async fn client_credentials(h: &Harness, app_id: &str, secret: &str) -> crate::harness::Reply {
    h.form(
        &format!("/{}/oauth2/v2.0/token", h.boot.tenant_id),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", app_id),
            ("client_secret", secret),
            ("scope", "https://graph.microsoft.com/.default"),
        ],
        None,
    )
    .await
}

#[tokio::test]
async fn an_older_tenant_gets_the_full_catalogue_once() {
    let h = Harness::new().await;
    let graph = h.get(&format!("/v1.0/servicePrincipals(appId='{GRAPH}')")).await;
    let full_roles = graph.json["appRoles"].as_array().expect("appRoles").len();
    let full_scopes = graph.json["oauth2PermissionScopes"].as_array().expect("scopes").len();
    // An older build's Graph service principal: a handful of permissions, no Mail.Read.
    let short = |key: &str| {
        Value::Array(
            graph.json[key]
                .as_array()
                .expect("list")
                .iter()
                .filter(|p| p["value"] != "Mail.Read")
                .take(5)
                .cloned()
                .collect(),
        )
    };
    let r = h
        .patch(
            &format!("/v1.0/servicePrincipals/{}", id_of(&graph.json)),
            json!({"appRoles": short("appRoles"), "oauth2PermissionScopes": short("oauth2PermissionScopes")}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let old = h.get(&format!("/v1.0/servicePrincipals(appId='{GRAPH}')")).await;
    assert_eq!(old.json["appRoles"].as_array().map(Vec::len), Some(5));

    // Start-up refreshes it; a second start writes nothing.
    assert_eq!(h.app.directory.refresh_first_party_service_principals(h.tenant()).await.expect("refresh"), 1);
    assert_eq!(h.app.directory.refresh_first_party_service_principals(h.tenant()).await.expect("refresh"), 0);
    let new = h.get(&format!("/v1.0/servicePrincipals(appId='{GRAPH}')")).await;
    assert_eq!(new.json["appRoles"].as_array().map(Vec::len), Some(full_roles));
    assert_eq!(new.json["oauth2PermissionScopes"].as_array().map(Vec::len), Some(full_scopes));
    assert_eq!(find(&new.json["appRoles"], MAIL_READ_ROLE)["value"], "Mail.Read");
    assert_eq!(new.json["id"], graph.json["id"], "the same object, updated in place");
}
