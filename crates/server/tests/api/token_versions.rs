//! v1 and v2 access tokens: the resource's `api.requestedAccessTokenVersion`
//! (`accessTokenAcceptedVersion`) picks the format, for app and user tokens alike; Microsoft
//! Graph always gets v1 tokens.

use axum::http::StatusCode;
use base64::Engine;
use serde_json::{Value, json};

use crate::harness::{Harness, PUBLIC_URL, Reply, id_of};

pub(crate) const PASSWORD: &str = "xWwvJ]6NMw+bWH-d";
pub(crate) const DATA_READ_ROLE: &str = "6a5a8b44-1f2b-4c7e-9b4f-3f1c2d3e4a5b";
const ACCESS_AS_USER: &str = "0f3f5b0a-8a6e-4a0e-9a4a-7c3e2b1d0c9f";

pub(crate) fn claims(token: &str, i: usize) -> Value {
    let part = token.split('.').nth(i).expect("jwt part");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).expect("base64url");
    serde_json::from_slice(&bytes).expect("json")
}

/// A web API registered in the tenant: `api://{appId}`, one delegated scope
/// (`access_as_user`), one app role (`Data.Read`), its service principal, and the given
/// token version. Returns (appId, application object id, service principal id).
pub(crate) async fn web_api(h: &Harness, version: Option<i64>) -> (String, String, String) {
    let r = h.post("/v1.0/applications", json!({"displayName": "Orders API"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let app_id = r.json["appId"].as_str().expect("appId").to_string();
    let oid = id_of(&r.json);
    let patch = json!({
        "identifierUris": [format!("api://{app_id}")],
        "api": {
            "requestedAccessTokenVersion": version,
            "oauth2PermissionScopes": [{
                "id": ACCESS_AS_USER, "value": "access_as_user", "type": "User", "isEnabled": true,
                "adminConsentDisplayName": "Access Orders API", "adminConsentDescription": "Lets the app call the Orders API as the signed-in user.",
                "userConsentDisplayName": "Access Orders API", "userConsentDescription": "Lets the app call the Orders API as you."
            }]
        },
        "appRoles": [{
            "id": DATA_READ_ROLE, "value": "Data.Read", "allowedMemberTypes": ["Application"], "isEnabled": true,
            "displayName": "Read data", "description": "Read all data."
        }]
    });
    let r = h.patch(&format!("/v1.0/applications/{oid}"), patch).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let sp = h.post("/v1.0/servicePrincipals", json!({"appId": app_id})).await;
    assert_eq!(sp.status, StatusCode::CREATED, "{}", sp.text);
    (app_id, oid, id_of(&sp.json))
}

/// A confidential client with a secret and its service principal: (appId, secret, sp id).
pub(crate) async fn confidential_client(h: &Harness, name: &str) -> (String, String, String) {
    let r = h.post("/v1.0/applications", json!({"displayName": name})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let app_id = r.json["appId"].as_str().expect("appId").to_string();
    let pw = h.post(&format!("/v1.0/applications/{}/addPassword", id_of(&r.json)), json!({})).await;
    assert_eq!(pw.status, StatusCode::OK, "{}", pw.text);
    let sp = h.post("/v1.0/servicePrincipals", json!({"appId": app_id})).await;
    assert_eq!(sp.status, StatusCode::CREATED, "{}", sp.text);
    (app_id, pw.json["secretText"].as_str().expect("secret").to_string(), id_of(&sp.json))
}

/// A tenant-wide delegated grant of `scope` to `client_sp` on `resource_sp`.
pub(crate) async fn grant(h: &Harness, client_sp: &str, resource_sp: &str, scope: &str) {
    let r = h
        .post(
            "/v1.0/oauth2PermissionGrants",
            json!({"clientId": client_sp, "consentType": "AllPrincipals", "resourceId": resource_sp, "scope": scope}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
}

async fn client_credentials(h: &Harness, client_id: &str, secret: &str, scope: &str) -> Reply {
    h.form(
        &format!("/{}/oauth2/v2.0/token", h.boot.tenant_id),
        &[("grant_type", "client_credentials"), ("client_id", client_id), ("client_secret", secret), ("scope", scope)],
        None,
    )
    .await
}

pub(crate) async fn ropc(h: &Harness, client_id: &str, secret: &str, upn: &str, scope: &str) -> Reply {
    h.form(
        &format!("/{}/oauth2/v2.0/token", h.boot.tenant_id),
        &[
            ("grant_type", "password"),
            ("client_id", client_id),
            ("client_secret", secret),
            ("username", upn),
            ("password", PASSWORD),
            ("scope", scope),
        ],
        None,
    )
    .await
}

#[tokio::test]
async fn app_tokens_follow_the_resources_accepted_version() {
    let h = Harness::new().await;
    let (api_app_id, api_oid, api_sp) = web_api(&h, Some(2)).await;
    let (client_id, secret, client_sp) = confidential_client(&h, "Worker").await;
    let r = h
        .post(
            &format!("/v1.0/servicePrincipals/{api_sp}/appRoleAssignedTo"),
            json!({"principalId": client_sp, "resourceId": api_sp, "appRoleId": DATA_READ_ROLE}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let tenant = &h.boot.tenant_id;

    // v2: iss .../v2.0, aud the API's appId (whatever identifier was asked), azp/azpacr.
    let r = client_credentials(&h, &client_id, &secret, &format!("api://{api_app_id}/.default")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let token = r.json["access_token"].as_str().expect("at");
    let (header, c) = (claims(token, 0), claims(token, 1));
    assert_eq!(c["ver"], "2.0");
    assert_eq!(c["iss"], format!("{PUBLIC_URL}/{tenant}/v2.0"));
    assert_eq!(c["aud"], api_app_id.as_str());
    assert_eq!(c["azp"], client_id.as_str());
    assert_eq!(c["azpacr"], "1");
    assert_eq!(c["roles"], json!(["Data.Read"]));
    assert!(c.get("appid").is_none() && c.get("appidacr").is_none(), "{c}");
    assert!(header.get("x5t").is_none(), "{header}");

    // Back to v1 (null means 1): iss .../{tid}/, aud as asked, appid/appidacr, x5t header.
    let r =
        h.patch(&format!("/v1.0/applications/{api_oid}"), json!({"api": {"requestedAccessTokenVersion": null}})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = client_credentials(&h, &client_id, &secret, &format!("api://{api_app_id}/.default")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let token = r.json["access_token"].as_str().expect("at");
    let (header, c) = (claims(token, 0), claims(token, 1));
    assert_eq!(c["ver"], "1.0");
    assert_eq!(c["iss"], format!("{PUBLIC_URL}/{tenant}/"));
    assert_eq!(c["aud"], format!("api://{api_app_id}"));
    assert_eq!(c["appid"], client_id.as_str());
    assert_eq!(c["appidacr"], "1");
    assert!(c.get("azp").is_none());
    assert!(header.get("x5t").is_some(), "{header}");
    // By appId too; the v1 endpoint with resource=.
    let r = client_credentials(&h, &client_id, &secret, &format!("{api_app_id}/.default")).await;
    assert_eq!(claims(r.json["access_token"].as_str().expect("at"), 1)["aud"], api_app_id.as_str());
    let r = h
        .form(
            &format!("/{tenant}/oauth2/token"),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &client_id),
                ("client_secret", &secret),
                ("resource", &format!("api://{api_app_id}")),
            ],
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["resource"], format!("api://{api_app_id}"));

    // Graph stays v1 whatever the endpoint; an identifier no app holds is AADSTS500011.
    let r = client_credentials(&h, &client_id, &secret, "https://graph.microsoft.com/.default").await;
    assert_eq!(claims(r.json["access_token"].as_str().expect("at"), 1)["ver"], "1.0");
    let r = client_credentials(&h, &client_id, &secret, "api://nobody-holds-this/.default").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.json["error"], "invalid_resource");
    assert_eq!(r.json["error_codes"][0], 500011);
}

#[tokio::test]
async fn user_tokens_follow_the_resources_accepted_version() {
    let h = Harness::new().await;
    let (api_app_id, _, api_sp) = web_api(&h, Some(2)).await;
    let (client_id, secret, client_sp) = confidential_client(&h, "Web app").await;
    grant(&h, &client_sp, &api_sp, "access_as_user").await;
    let graph = h.get("/v1.0/servicePrincipals(appId='00000003-0000-0000-c000-000000000000')").await;
    grant(&h, &client_sp, &id_of(&graph.json), "User.Read").await;
    let user = h.user("adele", "Adele Vance").await;
    let upn = "adele@contoso.onmicrosoft.com";
    let tenant = &h.boot.tenant_id;

    let r = ropc(&h, &client_id, &secret, upn, &format!("api://{api_app_id}/access_as_user openid")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["scope"], format!("api://{api_app_id}/access_as_user openid"));
    let c = claims(r.json["access_token"].as_str().expect("at"), 1);
    assert_eq!(c["ver"], "2.0");
    assert_eq!(c["iss"], format!("{PUBLIC_URL}/{tenant}/v2.0"));
    assert_eq!(c["aud"], api_app_id.as_str());
    assert_eq!(c["azp"], client_id.as_str());
    assert_eq!(c["azpacr"], "1");
    assert_eq!(c["preferred_username"], upn);
    assert_eq!(c["scp"], "access_as_user");
    assert_eq!(c["oid"], id_of(&user).as_str());
    for absent in ["appid", "appidacr", "upn", "unique_name", "amr", "app_displayname"] {
        assert!(c.get(absent).is_none(), "{absent}: {c}");
    }

    // The same user and client for Graph: a v1 token.
    let r = ropc(&h, &client_id, &secret, upn, "https://graph.microsoft.com/User.Read").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let c = claims(r.json["access_token"].as_str().expect("at"), 1);
    assert_eq!(c["ver"], "1.0");
    assert_eq!(c["iss"], format!("{PUBLIC_URL}/{tenant}/"));
    assert_eq!(c["appid"], client_id.as_str());
    assert_eq!(c["upn"], upn);
    assert_eq!(c["unique_name"], upn);
    assert!(c.get("azp").is_none() && c.get("preferred_username").is_none(), "{c}");

    // A scope the API does not define, and a resource with two different identifiers.
    let r = ropc(&h, &client_id, &secret, upn, &format!("api://{api_app_id}/nope")).await;
    assert_eq!(r.json["error_codes"][0], 650053, "{}", r.text);
    let r = ropc(&h, &client_id, &secret, upn, &format!("api://{api_app_id}/access_as_user User.Read")).await;
    assert_eq!(r.json["error_codes"][0], 28000, "{}", r.text);
}
