//! Small protocol agreements: managed identity endpoints never answer a caller that names an
//! identity with another one (unknown or empty selectors are 400s; `resource_id`/`msi_res_id`
//! are read as the resource id); a federated identity credential's `name` cannot change; and
//! the discovery documents publish every `response_type` the authorize endpoint serves.

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use cerulean::app::AppOptions;
use serde_json::{Value, json};

use crate::browser::*;
use crate::harness::{Harness, Reply, id_of};

const GRAPH_RESOURCE: &str = "https://graph.microsoft.com";

async fn create_identity(h: &Harness, body: Value) -> Value {
    let r = h.post("/cerulean/admin/managedIdentities", body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.json
}

async fn imds(h: &Harness, query: &str) -> Reply {
    let req = Request::get(format!("/metadata/identity/oauth2/token?{query}"))
        .header("Metadata", "true")
        .body(Body::empty())
        .expect("request");
    h.send(req).await
}

/// The App Service endpoint of the host at `path`, for Graph, with `query` added.
async fn app_service(h: &Harness, path: &str, secret: &str, query: &str) -> Reply {
    let uri = format!("{path}?resource={GRAPH_RESOURCE}&api-version=2019-08-01&{query}");
    h.graph_with(Method::GET, &uri, None, "", &[("X-IDENTITY-HEADER", secret)]).await
}

#[tokio::test]
async fn managed_identity_selectors_never_fall_back_to_the_system_identity() {
    let options = AppOptions { imds_host: Some("vm1".into()), ..AppOptions::default() };
    let h = Harness::with_options("contoso.onmicrosoft.com", options).await;
    let system = create_identity(&h, json!({"name": "vm1", "type": "SystemAssigned"})).await;
    let user = create_identity(&h, json!({"name": "vm-uami"})).await;
    let res_id = user["alternativeNames"][1].as_str().expect("resource id").to_string();
    let host = h
        .post(
            "/cerulean/admin/managedIdentityHosts",
            json!({"name": "vm1", "identities": [id_of(&system), id_of(&user)]}),
        )
        .await;
    assert_eq!(host.status, StatusCode::CREATED, "{}", host.text);
    let secret = host.json["identityHeader"].as_str().expect("secret").to_string();
    let url = host.json["environment"]["IDENTITY_ENDPOINT"].as_str().expect("endpoint");
    let path = url.strip_prefix(crate::harness::PUBLIC_URL).expect("public url").to_string();
    let user_app = user["appId"].as_str().expect("appId").to_string();

    // The resource id under the other service's name, or azure-identity's key: the UAMI.
    for selector in [format!("resource_id={res_id}"), format!("msi_res_id={res_id}")] {
        let r = app_service(&h, &path, &secret, &selector).await;
        assert_eq!(r.status, StatusCode::OK, "{selector}: {}", r.text);
        assert_eq!(r.json["client_id"], user_app.as_str(), "{selector}");
    }
    for selector in [format!("resource_id={res_id}"), format!("mi_res_id={res_id}")] {
        let r = imds(&h, &format!("api-version=2018-02-01&resource={GRAPH_RESOURCE}&{selector}")).await;
        assert_eq!(r.status, StatusCode::OK, "IMDS {selector}: {}", r.text);
        assert_eq!(r.json["client_id"], user_app.as_str(), "IMDS {selector}");
    }
    // A misspelt or unknown selector, or an empty one: refused, never the system identity.
    for selector in [
        format!("clientid={user_app}"),
        format!("identity_id={user_app}"),
        "client_id=".to_string(),
        format!("Principal-Id={}", id_of(&user)),
    ] {
        let r = app_service(&h, &path, &secret, &selector).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{selector}: {}", r.text);
        assert!(r.json["statusCode"] == 400 && r.json["message"].is_string(), "{selector}: {}", r.text);
        let r = imds(&h, &format!("api-version=2018-02-01&resource={GRAPH_RESOURCE}&{selector}")).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "IMDS {selector}: {}", r.text);
        assert_eq!(r.json["error"], "invalid_request", "IMDS {selector}");
    }
    // principal_id is App Service's; IMDS does not know it.
    let r = imds(&h, &format!("api-version=2018-02-01&resource={GRAPH_RESOURCE}&principal_id={}", id_of(&user))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.json["error_description"].as_str().expect("description").contains("principal_id"), "{}", r.text);
    // Without a selector: the system-assigned identity, as before.
    let r = app_service(&h, &path, &secret, "").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["client_id"], system["appId"]);
}

#[tokio::test]
async fn a_federated_credentials_name_is_immutable() {
    let h = Harness::new().await;
    let app = h.post("/v1.0/applications", json!({"displayName": "Deployer"})).await.json;
    let oid = id_of(&app);
    let base = format!("/v1.0/applications/{oid}/federatedIdentityCredentials");
    let body = json!({"name": "main-branch", "issuer": "https://token.actions.githubusercontent.com", "subject": "repo:contoso/orders:ref:refs/heads/main", "audiences": ["api://AzureADTokenExchange"]});
    assert_eq!(h.post(&base, body).await.status, StatusCode::CREATED);
    // Graph: "immutable once it's created". The schema declares it create-only.
    for name in ["other", "main-branch"] {
        let r = h.patch(&format!("{base}/main-branch"), json!({"name": name, "description": "CI"})).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{name}: {}", r.text);
        assert!(r.message().contains("'name' cannot be updated"), "{}", r.message());
    }
    assert_eq!(h.get(&format!("{base}/other")).await.status, StatusCode::NOT_FOUND);
    let r = h.get(&format!("{base}/main-branch")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.json["description"].is_null(), "a refused PATCH changes nothing: {}", r.text);
    assert_eq!(
        h.patch(&format!("{base}/main-branch"), json!({"description": "CI"})).await.status,
        StatusCode::NO_CONTENT
    );
}

/// A response type as its set of words (`id_token token` = `token id_token`).
fn words(t: &str) -> BTreeSet<String> {
    t.split(' ').filter(|w| !w.is_empty()).map(str::to_string).collect()
}

#[tokio::test]
async fn discovery_publishes_every_response_type_authorize_serves() {
    let h = Harness::new().await;
    let (app_id, object_id) = registered_app(&h, Some("User.Read")).await;
    let implicit = json!({"web": {"redirectUris": [WEB_REDIRECT], "implicitGrantSettings": {"enableIdTokenIssuance": true, "enableAccessTokenIssuance": true}}});
    assert_eq!(h.patch(&format!("/v1.0/applications/{object_id}"), implicit).await.status, StatusCode::NO_CONTENT);
    // Every combination of code, id_token and token.
    let all: BTreeSet<BTreeSet<String>> =
        ["code", "id_token", "token", "code id_token", "code token", "id_token token", "code id_token token"]
            .iter()
            .map(|t| words(t))
            .collect();
    for path in ["v2.0/.well-known/openid-configuration", ".well-known/openid-configuration"] {
        let r = h.get(&format!("/{}/{path}", h.boot.tenant_id)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let listed = r.json["response_types_supported"].as_array().expect("response_types_supported");
        let published: BTreeSet<BTreeSet<String>> = listed.iter().filter_map(Value::as_str).map(words).collect();
        assert_eq!(published, all, "{path}: {listed:?}");
        if path.starts_with("v2.0") {
            // Entra's own list comes first, in its order.
            assert_eq!(
                listed[..4],
                [json!("code"), json!("id_token"), json!("code id_token"), json!("id_token token")]
            );
        }
    }
    // ... and the authorize endpoint serves each (the sign-in page, not an error).
    let challenge = s256("a-verifier-with-plenty-of-entropy-0123456789-abcdefghijkl");
    for t in ["code", "id_token", "token", "code id_token", "code token", "id_token token", "code id_token token"] {
        let q = serde_urlencoded::to_string([
            ("client_id", app_id.as_str()),
            ("response_type", t),
            ("redirect_uri", NATIVE_REDIRECT),
            ("scope", "openid profile User.Read"),
            ("nonce", "n-1"),
            ("state", "s-1"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ])
        .expect("query");
        let r = h.send(get_request(&format!("/{}/oauth2/v2.0/authorize?{q}", h.boot.tenant_id))).await;
        assert_eq!(r.status, StatusCode::OK, "{t}: {:?} {}", r.headers.get("location"), r.text);
    }
}

fn get_request(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).expect("request")
}
