//! The `roles` of a client-credentials token follow the resource's app roles as they are now:
//! the token endpoint caches a resource service principal's app roles (issue 8), and a change
//! of the resource (a new app role, the service principal deleted) must show in the very next
//! token.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::app_role_claims::assign;
use crate::harness::{Harness, Reply};
use crate::token_versions::{DATA_READ_ROLE, claims, confidential_client, web_api};

const DATA_WRITE_ROLE: &str = "7b6c9d55-2a3c-4d8f-8c5a-4a2d3e4f5b6c";

async fn token(h: &Harness, client_id: &str, secret: &str, api_app_id: &str) -> Reply {
    let scope = format!("api://{api_app_id}/.default");
    h.form(
        &format!("/{}/oauth2/v2.0/token", h.boot.tenant_id),
        &[("grant_type", "client_credentials"), ("client_id", client_id), ("client_secret", secret), ("scope", &scope)],
        None,
    )
    .await
}

async fn roles(h: &Harness, client_id: &str, secret: &str, api_app_id: &str) -> Value {
    let r = token(h, client_id, secret, api_app_id).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    claims(r.json["access_token"].as_str().expect("access_token"), 1)["roles"].clone()
}

#[tokio::test]
async fn a_new_app_role_of_the_resource_shows_in_the_next_token() {
    let h = Harness::new().await;
    let (api_app_id, api_oid, api_sp) = web_api(&h, Some(2)).await;
    let (client_id, secret, client_sp) = confidential_client(&h, "Orders worker").await;
    assign(&h, "servicePrincipals", &client_sp, &api_sp, DATA_READ_ROLE).await;
    assert_eq!(roles(&h, &client_id, &secret, &api_app_id).await, json!(["Data.Read"]));

    // The resource gains an app role after its roles were read for a token.
    let app_roles = json!([
        {"id": DATA_READ_ROLE, "value": "Data.Read", "allowedMemberTypes": ["Application"], "isEnabled": true,
         "displayName": "Read data", "description": "Read all data."},
        {"id": DATA_WRITE_ROLE, "value": "Data.Write", "allowedMemberTypes": ["Application"], "isEnabled": true,
         "displayName": "Write data", "description": "Write all data."}
    ]);
    let r = h.patch(&format!("/v1.0/applications/{api_oid}"), json!({"appRoles": app_roles})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assign(&h, "servicePrincipals", &client_sp, &api_sp, DATA_WRITE_ROLE).await;
    assert_eq!(roles(&h, &client_id, &secret, &api_app_id).await, json!(["Data.Read", "Data.Write"]));
}

#[tokio::test]
async fn a_deleted_resource_service_principal_is_not_served_from_the_cache() {
    let h = Harness::new().await;
    let (api_app_id, _, api_sp) = web_api(&h, Some(2)).await;
    let (client_id, secret, client_sp) = confidential_client(&h, "Orders worker").await;
    assign(&h, "servicePrincipals", &client_sp, &api_sp, DATA_READ_ROLE).await;
    assert_eq!(roles(&h, &client_id, &secret, &api_app_id).await, json!(["Data.Read"]));

    let r = h.delete(&format!("/v1.0/servicePrincipals/{api_sp}")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = token(&h, &client_id, &secret, &api_app_id).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.json["error"], "invalid_resource", "{}", r.text);
    assert!(r.json["error_description"].as_str().is_some_and(|d| d.starts_with("AADSTS500011")), "{}", r.text);
}
