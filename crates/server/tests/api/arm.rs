//! Azure Resource Manager's tenant discovery (`/subscriptions`, `/tenants`), what `az login`
//! needs: tokens for the ARM resource, its service principal, and ARM's errors.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine;
use serde_json::{Value, json};

use crate::harness::{Harness, PUBLIC_URL, Reply};

const ARM_APP_ID: &str = "797f4846-ba00-4fd7-ba43-dac1f8f63013";
const API: &str = "api-version=2022-12-01";
const SECRET: &str = "woodgrove-secret-value-with-enough-length";

fn claims_of(token: &str) -> Value {
    let part = token.split('.').nth(1).expect("jwt payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).expect("base64url");
    serde_json::from_slice(&bytes).expect("json")
}

async fn arm_get(h: &Harness, path: &str, authorization: Option<&str>) -> Reply {
    let mut b = Request::get(path);
    if let Some(a) = authorization {
        b = b.header("authorization", a);
    }
    h.send(b.body(Body::empty()).expect("request")).await
}

/// A client-credentials token for `scope` (v2) from `tenant`'s token endpoint.
async fn token_for(h: &Harness, tenant: &str, client_id: &str, secret: &str, scope: &str) -> Reply {
    h.form(
        &format!("/{tenant}/oauth2/v2.0/token"),
        &[("grant_type", "client_credentials"), ("client_id", client_id), ("client_secret", secret), ("scope", scope)],
        None,
    )
    .await
}

async fn arm_token(h: &Harness) -> String {
    let r = token_for(
        h,
        &h.boot.tenant_id,
        &h.boot.client_id,
        &h.boot.client_secret,
        "https://management.core.windows.net//.default",
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.json["access_token"].as_str().expect("access_token").to_string()
}

#[tokio::test]
async fn tokens_for_resource_manager_carry_its_audience() {
    let h = Harness::new().await;
    let token = arm_token(&h).await;
    let c = claims_of(&token);
    // As Entra: the identifier as asked, trailing slash included, in a v1 token.
    assert_eq!(c["aud"], "https://management.core.windows.net/");
    assert_eq!(c["iss"], format!("{PUBLIC_URL}/{}/", h.boot.tenant_id));
    assert_eq!(c["appid"], h.boot.client_id);
    assert_eq!(c["idtyp"], "app");
    assert!(c.get("roles").is_none(), "ARM grants through RBAC, not app roles: {c}");

    let v2 = token_for(
        &h,
        &h.boot.tenant_id,
        &h.boot.client_id,
        &h.boot.client_secret,
        "https://management.azure.com/.default",
    )
    .await;
    assert_eq!(v2.status, StatusCode::OK, "{}", v2.text);
    assert_eq!(claims_of(v2.json["access_token"].as_str().expect("token"))["aud"], "https://management.azure.com");

    let v1 = h
        .form(
            &format!("/{}/oauth2/token", h.boot.tenant_id),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &h.boot.client_id),
                ("client_secret", &h.boot.client_secret),
                ("resource", "https://management.azure.com/"),
            ],
            None,
        )
        .await;
    assert_eq!(v1.status, StatusCode::OK, "{}", v1.text);
    assert_eq!(v1.json["resource"], "https://management.azure.com/");

    // A Resource Manager token is not a Graph token.
    let r = h.graph_with(axum::http::Method::GET, "/v1.0/users", None, &token, &[]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
}

#[tokio::test]
async fn resource_manager_service_principal_is_in_every_tenant() {
    let h = Harness::new().await;
    let r = h.get(&format!("/v1.0/servicePrincipals(appId='{ARM_APP_ID}')")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["displayName"], "Windows Azure Service Management API");
    assert_eq!(r.json["appOwnerOrganizationId"], "f8cdef31-a31e-4b4a-93e4-5f571e91255a");
    assert_eq!(r.json["appRoles"], json!([]));
    let scopes = r.json["oauth2PermissionScopes"].as_array().expect("scopes");
    assert_eq!(scopes.len(), 1);
    assert_eq!(scopes[0]["value"], "user_impersonation");
    assert_eq!(scopes[0]["id"], "41094075-9dad-400e-a0bd-54e686782033");

    // Tokens for it depend on it: it cannot be deleted.
    let id = r.json["id"].as_str().expect("id");
    let d = h.delete(&format!("/v1.0/servicePrincipals/{id}")).await;
    assert_eq!(d.status, StatusCode::FORBIDDEN, "{}", d.text);
}

#[tokio::test]
async fn subscriptions_list_is_empty() {
    let h = Harness::new().await;
    let bearer = format!("Bearer {}", arm_token(&h).await);
    let r = arm_get(&h, &format!("/subscriptions?{API}"), Some(&bearer)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json, json!({"value": [], "count": {"type": "Total", "value": 0}}));

    let id = "00000000-1111-2222-3333-444444444444";
    let r = arm_get(&h, &format!("/subscriptions/{id}?{API}"), Some(&bearer)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    assert_eq!(r.code(), "SubscriptionNotFound");
    assert_eq!(r.message(), format!("The subscription '{id}' could not be found."));
}

#[tokio::test]
async fn tenants_list_is_the_callers_own_tenant() {
    let h = Harness::new().await;
    let other = h
        .app
        .directory
        .bootstrap_tenant(cerulean_directory::BootstrapRequest {
            tenant_domain: "woodgrove.onmicrosoft.com".into(),
            tenant_display_name: "Woodgrove".into(),
            admin_password: "xWwvJ]6NMw+bWH-d".into(),
            client_secret_hash: cerulean_identity::secrets::hash_secret(SECRET),
            client_secret_hint: "woo".into(),
            app_permissions: vec!["User.ReadWrite.All".into()],
        })
        .await
        .expect("second tenant");

    let bearer = format!("Bearer {}", arm_token(&h).await);
    let r = arm_get(&h, &format!("/tenants?{API}"), Some(&bearer)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let tid = &h.boot.tenant_id;
    assert_eq!(r.json["count"], json!({"type": "Total", "value": 1}));
    let value = r.json["value"].as_array().expect("value");
    assert_eq!(value.len(), 1, "{}", r.text);
    assert_eq!(value[0]["id"], format!("/tenants/{tid}"));
    assert_eq!(value[0]["tenantId"], *tid);
    assert_eq!(value[0]["tenantCategory"], "Home");
    assert_eq!(value[0]["defaultDomain"], "contoso.onmicrosoft.com");
    assert_eq!(value[0]["domains"], json!(["contoso.onmicrosoft.com"]));
    assert_eq!(value[0]["tenantType"], "AAD");

    // The second tenant's app sees only its own tenant.
    let t = token_for(
        &h,
        &other.tenant.id.to_string(),
        &other.client_id.to_string(),
        SECRET,
        "https://management.core.windows.net//.default",
    )
    .await;
    assert_eq!(t.status, StatusCode::OK, "{}", t.text);
    let bearer = format!("Bearer {}", t.json["access_token"].as_str().expect("token"));
    let r = arm_get(&h, &format!("/tenants?{API}"), Some(&bearer)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["value"][0]["tenantId"], other.tenant.id.to_string());
    assert_eq!(r.json["value"][0]["displayName"], "Woodgrove");
    assert_eq!(r.json["value"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn missing_or_malformed_authorization_is_refused() {
    let h = Harness::new().await;
    for path in ["/subscriptions", "/tenants", "/subscriptions/00000000-1111-2222-3333-444444444444"] {
        let r = arm_get(&h, &format!("{path}?{API}"), None).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{path}: {}", r.text);
        assert_eq!(r.code(), "AuthenticationFailed");
        assert_eq!(r.message(), "Authentication failed. The 'Authorization' header is missing.");
        let challenge = r.headers.get("www-authenticate").and_then(|v| v.to_str().ok()).unwrap_or_default();
        assert!(challenge.starts_with("Bearer ") && challenge.contains("error=\"invalid_token\""), "{challenge}");
    }
    for header in ["Basic dXNlcjpwYXNz", "Bearer", "Bearer    "] {
        let r = arm_get(&h, &format!("/subscriptions?{API}"), Some(header)).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{header}: {}", r.text);
        assert_eq!(r.code(), "AuthenticationFailedInvalidHeader", "{header}");
    }
    let r = arm_get(&h, &format!("/subscriptions?{API}"), Some("Bearer not.a.token")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    assert_eq!(r.code(), "InvalidAuthenticationToken");
    assert_eq!(r.message(), "The access token is invalid.");
}

#[tokio::test]
async fn a_token_for_another_resource_is_refused_with_its_audience() {
    let h = Harness::new().await;
    // The harness's token is for Microsoft Graph.
    let r = arm_get(&h, &format!("/subscriptions?{API}"), Some(&format!("Bearer {}", h.token))).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    assert_eq!(r.code(), "InvalidAuthenticationTokenAudience");
    assert_eq!(
        r.message(),
        "The access token has been obtained for wrong audience or resource 'https://graph.microsoft.com'. It should exactly match with one of the allowed audiences 'https://management.core.windows.net/','https://management.core.windows.net','https://management.azure.com/','https://management.azure.com'."
    );
}

#[tokio::test]
async fn expired_forged_and_foreign_tokens_are_refused() {
    let h = Harness::new().await;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let mut claims = h.claims(&[]);
    claims["aud"] = json!("https://management.core.windows.net/");
    claims["iat"] = json!(now - 7200);
    claims["nbf"] = json!(now - 7200);
    claims["exp"] = json!(now - 3600);
    let expired = h.sign(claims.clone()).await;
    let r = arm_get(&h, &format!("/tenants?{API}"), Some(&format!("Bearer {expired}"))).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    assert_eq!(r.code(), "ExpiredAuthenticationToken");

    // A valid signature from this tenant's key but another issuer.
    claims["exp"] = json!(now + 3600);
    claims["iss"] = json!("https://sts.windows.net/somewhere-else/");
    let foreign_issuer = h.sign(claims.clone()).await;
    let r = arm_get(&h, &format!("/tenants?{API}"), Some(&format!("Bearer {foreign_issuer}"))).await;
    assert_eq!(r.code(), "InvalidAuthenticationToken", "{}", r.text);

    // A token whose signature was tampered with.
    let good = arm_token(&h).await;
    let mut parts: Vec<String> = good.split('.').map(str::to_string).collect();
    let mut payload = claims_of(&good);
    payload["tid"] = json!(h.boot.tenant_id);
    payload["appid"] = json!("00000000-0000-0000-0000-000000000001");
    parts[1] = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(payload.to_string());
    let r = arm_get(&h, &format!("/tenants?{API}"), Some(&format!("Bearer {}", parts.join(".")))).await;
    assert_eq!(r.code(), "InvalidAuthenticationToken", "{}", r.text);

    // A token of another server's tenant (unknown here).
    let other = Harness::with_domain("fabrikam.onmicrosoft.com").await;
    let theirs = arm_token(&other).await;
    let r = arm_get(&h, &format!("/tenants?{API}"), Some(&format!("Bearer {theirs}"))).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    assert_eq!(r.code(), "InvalidAuthenticationToken");
}

#[tokio::test]
async fn api_version_is_required_and_checked() {
    let h = Harness::new().await;
    let bearer = format!("Bearer {}", arm_token(&h).await);
    for path in ["/subscriptions", "/tenants", "/subscriptions/00000000-1111-2222-3333-444444444444"] {
        let r = arm_get(&h, path, Some(&bearer)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{path}: {}", r.text);
        assert_eq!(r.code(), "MissingApiVersionParameter");
        assert_eq!(r.message(), "The api-version query parameter (?api-version=) is required for all requests.");
    }
    for bad in ["latest", "2022-1-01", "2022-12-01x", "2022-12-01-", "20221201"] {
        let r = arm_get(&h, &format!("/subscriptions?api-version={bad}"), Some(&bearer)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.text);
        assert_eq!(r.code(), "InvalidApiVersionParameter", "{bad}");
        assert!(r.message().starts_with(&format!("The api-version '{bad}' is invalid.")), "{}", r.message());
    }
    let r = arm_get(&h, "/subscriptions?api-version=2016-06-01-preview", Some(&bearer)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

#[tokio::test]
async fn a_tenant_without_the_resource_manager_principal_gets_it_through_graph() {
    use cerulean_store::{Actor, AuditRecord, Change, Op};
    let h = Harness::new().await;
    // A tenant bootstrapped before Resource Manager was part of the bootstrap: purge its
    // service principal under the API, as if it had never been created.
    let sp = h.get(&format!("/v1.0/servicePrincipals(appId='{ARM_APP_ID}')")).await;
    let sp_id: uuid::Uuid = sp.json["id"].as_str().expect("id").parse().expect("uuid");
    let audit = AuditRecord {
        id: uuid::Uuid::new_v4(),
        at: "2026-01-01T00:00:00Z".into(),
        activity: "Remove service principal".into(),
        category: "ApplicationManagement".into(),
        operation_type: "Delete".into(),
        actor: Actor { kind: "system".into(), id: None, display_name: None },
        targets: Vec::new(),
        correlation_id: None,
        result: "success".into(),
    };
    h.store.apply(h.tenant(), Change { ops: vec![Op::Purge { id: sp_id }], audit }).await.expect("purge");

    let scope = "https://management.core.windows.net//.default";
    let r = token_for(&h, &h.boot.tenant_id, &h.boot.client_id, &h.boot.client_secret, scope).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.json["error"], "invalid_resource");
    assert_eq!(r.json["error_codes"][0], 500011);

    let created = h.post("/v1.0/servicePrincipals", json!({"appId": ARM_APP_ID})).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    assert_eq!(created.json["displayName"], "Windows Azure Service Management API");
    assert_eq!(created.json["oauth2PermissionScopes"][0]["value"], "user_impersonation");

    let r = token_for(&h, &h.boot.tenant_id, &h.boot.client_id, &h.boot.client_secret, scope).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let again = h.post("/v1.0/servicePrincipals", json!({"appId": ARM_APP_ID})).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST, "{}", again.text);
    assert_eq!(again.code(), "Request_MultipleObjectsWithSameKeyValue");
}
