//! The token endpoint's per-tenant caches and the sign-in log's group commit (issue 8).
//!
//! What a client-credentials token is made of (the application and its secrets, its service
//! principal, the app roles it holds, Conditional Access and token lifetime policies) is kept
//! while the tenant's change log has not moved; every change must show in the very next token.
//! Concurrent sign-ins are committed together, and each is in the log before its token is
//! returned.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::app_role_claims::assign;
use crate::harness::{Harness, Reply, id_of};
use crate::token_versions::{DATA_READ_ROLE, claims, confidential_client, web_api};

fn token_request(h: &Harness, client_id: &str, secret: &str, scope: &str, correlation: &str) -> Request<Body> {
    Request::builder()
        .method(Method::POST)
        .uri(format!("/{}/oauth2/v2.0/token", h.boot.tenant_id))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("client-request-id", correlation)
        .body(Body::from(
            serde_urlencoded::to_string([
                ("grant_type", "client_credentials"),
                ("client_id", client_id),
                ("client_secret", secret),
                ("scope", scope),
            ])
            .expect("form"),
        ))
        .expect("request")
}

async fn token(h: &Harness, client_id: &str, secret: &str, scope: &str, correlation: &str) -> Reply {
    h.send(token_request(h, client_id, secret, scope, correlation)).await
}

fn roles_of(r: &Reply) -> Value {
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    claims(r.json["access_token"].as_str().expect("access_token"), 1)["roles"].clone()
}

#[tokio::test]
async fn concurrent_token_requests_each_commit_their_sign_in_before_answering() {
    let h = Harness::new().await;
    let scope = "https://graph.microsoft.com/.default";
    let (id, secret) = (h.boot.client_id.as_str(), h.boot.client_secret.as_str());
    let correlations: Vec<String> = (0..40).map(|i| format!("group-commit-{i}")).collect();
    // Sent at once: their sign-ins queue for the writer together.
    let mut requests = tokio::task::JoinSet::new();
    for c in &correlations {
        let (app, req) = (h.app.clone(), token_request(&h, id, secret, scope, c));
        requests.spawn(async move { app.service::<Body>().oneshot(req).await.expect("infallible").status() });
    }
    while let Some(status) = requests.join_next().await {
        assert_eq!(status.expect("request task"), StatusCode::OK);
    }
    // Every token answered has its sign-in in the log already, exactly once.
    for c in &correlations {
        // App sign-ins are listed by their event type (beta).
        let filter = format!("signInEventTypes/any(t: t eq 'servicePrincipal') and correlationId eq '{c}'")
            .replace(' ', "%20")
            .replace('\'', "%27");
        let r = h.get(&format!("/beta/auditLogs/signIns?$filter={filter}")).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let items = r.json["value"].as_array().expect("value");
        assert_eq!(items.len(), 1, "{c}: {}", r.text);
        assert_eq!(items[0]["appId"], id);
        assert_eq!(items[0]["status"]["errorCode"], 0);
    }
}

#[tokio::test]
async fn a_removed_app_role_assignment_is_gone_from_the_next_token() {
    let h = Harness::new().await;
    let (api_app_id, _, api_sp) = web_api(&h, Some(2)).await;
    let (client_id, secret, client_sp) = confidential_client(&h, "Orders worker").await;
    let scope = format!("api://{api_app_id}/.default");
    let assignment = assign(&h, "servicePrincipals", &client_sp, &api_sp, DATA_READ_ROLE).await;
    assert_eq!(roles_of(&token(&h, &client_id, &secret, &scope, "a").await), json!(["Data.Read"]));
    // Served again while nothing changed.
    assert_eq!(roles_of(&token(&h, &client_id, &secret, &scope, "b").await), json!(["Data.Read"]));

    let r = h.delete(&format!("/v1.0/servicePrincipals/{client_sp}/appRoleAssignments/{assignment}")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = token(&h, &client_id, &secret, &scope, "c").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let roles = claims(r.json["access_token"].as_str().expect("access_token"), 1)["roles"].clone();
    assert!(roles.is_null() || roles == json!([]), "{roles}");
}

#[tokio::test]
async fn a_removed_secret_or_a_disabled_service_principal_refuses_the_next_token() {
    let h = Harness::new().await;
    let scope = "https://graph.microsoft.com/.default";
    let (client_id, secret, client_sp) = confidential_client(&h, "Nightly export").await;
    let app = h.get(&format!("/v1.0/applications(appId='{client_id}')")).await;
    let app_oid = id_of(&app.json);
    let second = h.post(&format!("/v1.0/applications/{app_oid}/addPassword"), json!({})).await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.text);
    let second_secret = second.json["secretText"].as_str().expect("secret").to_string();
    assert_eq!(token(&h, &client_id, &secret, scope, "a").await.status, StatusCode::OK);
    assert_eq!(token(&h, &client_id, &second_secret, scope, "b").await.status, StatusCode::OK);

    // The first secret removed: refused at once; the other still works.
    let key_id = h.get(&format!("/v1.0/applications/{app_oid}")).await.json["passwordCredentials"]
        .as_array()
        .expect("passwordCredentials")
        .iter()
        .find(|c| c["keyId"] != second.json["keyId"])
        .map(|c| c["keyId"].clone())
        .expect("the first secret");
    let r = h.post(&format!("/v1.0/applications/{app_oid}/removePassword"), json!({"keyId": key_id})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = token(&h, &client_id, &secret, scope, "c").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    assert!(r.json["error_description"].as_str().is_some_and(|d| d.starts_with("AADSTS7000215")), "{}", r.text);
    assert_eq!(token(&h, &client_id, &second_secret, scope, "d").await.status, StatusCode::OK);

    // The service principal disabled: AADSTS7000112 at once.
    let r = h.patch(&format!("/v1.0/servicePrincipals/{client_sp}"), json!({"accountEnabled": false})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = token(&h, &client_id, &second_secret, scope, "e").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.json["error_description"].as_str().is_some_and(|d| d.starts_with("AADSTS7000112")), "{}", r.text);
}

/// Sends `req` to another node's app (its own directory and caches over the same store).
async fn token_on(app: &cerulean::app::App, req: Request<Body>) -> Reply {
    let res = app.service::<Body>().oneshot(req).await.expect("infallible");
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 20).await.expect("body");
    let text = String::from_utf8_lossy(&bytes).to_string();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Reply { status, headers, text, json }
}

/// A client-credentials request reads the tenant's change-log position once and keys every
/// cached lookup of the request on it (the tenant, the application and its secrets, the app
/// roles, Conditional Access, token policies). Tokens asked of one node whose caches are
/// warm must still show each change made on another node in the very next token.
#[tokio::test]
async fn a_change_on_another_node_shows_in_the_next_token_of_this_one() {
    let h = Harness::new().await;
    let other = cerulean::app::App::new(h.other_store().await, crate::harness::PUBLIC_URL);
    other.set_ready();
    let (api_app_id, _, api_sp) = web_api(&h, Some(2)).await;
    let (client_id, secret, client_sp) = confidential_client(&h, "Ledger sync").await;
    let scope = format!("api://{api_app_id}/.default");
    let assignment = assign(&h, "servicePrincipals", &client_sp, &api_sp, DATA_READ_ROLE).await;
    let app_oid = id_of(&h.get(&format!("/v1.0/applications(appId='{client_id}')")).await.json);
    let second = h.post(&format!("/v1.0/applications/{app_oid}/addPassword"), json!({})).await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.text);
    let second_secret = second.json["secretText"].as_str().expect("secret").to_string();
    let ask = |secret: &str, correlation: &str| token_request(&h, &client_id, secret, &scope, correlation);

    // The other node's caches warm up, and serve again while nothing changed.
    assert_eq!(roles_of(&token_on(&other, ask(&secret, "n1")).await), json!(["Data.Read"]));
    assert_eq!(roles_of(&token_on(&other, ask(&secret, "n2")).await), json!(["Data.Read"]));

    // The assignment removed here: gone from the other node's next token.
    let r = h.delete(&format!("/v1.0/servicePrincipals/{client_sp}/appRoleAssignments/{assignment}")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = token_on(&other, ask(&secret, "n3")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let roles = claims(r.json["access_token"].as_str().expect("access_token"), 1)["roles"].clone();
    assert!(roles.is_null() || roles == json!([]), "{roles}");

    // The first secret removed here: refused there at once; the other secret still works.
    let key_id = h.get(&format!("/v1.0/applications/{app_oid}")).await.json["passwordCredentials"]
        .as_array()
        .expect("passwordCredentials")
        .iter()
        .find(|c| c["keyId"] != second.json["keyId"])
        .map(|c| c["keyId"].clone())
        .expect("the first secret");
    let r = h.post(&format!("/v1.0/applications/{app_oid}/removePassword"), json!({"keyId": key_id})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = token_on(&other, ask(&secret, "n4")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    assert_eq!(token_on(&other, ask(&second_secret, "n5")).await.status, StatusCode::OK);

    // The service principal disabled here: AADSTS7000112 there at once.
    let r = h.patch(&format!("/v1.0/servicePrincipals/{client_sp}"), json!({"accountEnabled": false})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = token_on(&other, ask(&second_secret, "n6")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.json["error_description"].as_str().is_some_and(|d| d.starts_with("AADSTS7000112")), "{}", r.text);
}

/// A tenant resolved by its id is kept while its change log has not moved (a client
/// credentials request resolves it with the same read of the position its other lookups
/// reuse): a domain added on another node is in the very next resolution, pinned or not.
#[tokio::test]
async fn a_tenant_resolved_by_id_shows_a_domain_added_on_another_node() {
    let h = Harness::new().await;
    let node = cerulean_directory::Directory::new(
        h.other_store().await,
        std::sync::Arc::new(cerulean_identity::PasswordHasherPool::new(1)),
    );
    let tenant = h.boot.tenant_id.as_str();
    let names = |t: Option<cerulean_store::TenantRecord>| -> Vec<String> {
        t.expect("the tenant").domains.into_iter().map(|d| d.name).collect()
    };
    let before = names(node.resolve_tenant(tenant).await.expect("resolve"));
    assert!(!before.contains(&"fabrikam.example".to_string()), "{before:?}");
    // Served from the cache while nothing changed.
    assert_eq!(names(node.resolve_tenant(tenant).await.expect("resolve")), before);
    let pinned = node.pinned();
    assert_eq!(names(pinned.resolve_tenant(tenant).await.expect("resolve")), before);

    let r = h.post("/v1.0/domains", json!({"id": "fabrikam.example"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert!(names(node.resolve_tenant(tenant).await.expect("resolve")).contains(&"fabrikam.example".to_string()));
    // A new request (a new pin) sees it too.
    let next = node.pinned();
    assert!(names(next.resolve_tenant(tenant).await.expect("resolve")).contains(&"fabrikam.example".to_string()));
    // An unknown tenant id is no tenant, and nothing is kept for it.
    let unknown = uuid::Uuid::new_v4().to_string();
    assert!(node.resolve_tenant(&unknown).await.expect("resolve").is_none());
}
