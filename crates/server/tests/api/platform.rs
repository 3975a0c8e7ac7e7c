//! Discovery, JWKS and the client-credentials token endpoint.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine;
use serde_json::Value;

use crate::harness::{Harness, PUBLIC_URL};

fn decode_part(token: &str, i: usize) -> Value {
    let part = token.split('.').nth(i).expect("jwt part");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).expect("base64url");
    serde_json::from_slice(&bytes).expect("json")
}

async fn get(h: &Harness, path: &str) -> crate::harness::Reply {
    h.send(Request::get(path).body(Body::empty()).expect("req")).await
}

#[tokio::test]
async fn discovery_by_guid_and_domain() {
    let h = Harness::new().await;
    for tenant in [h.boot.tenant_id.clone(), "contoso.onmicrosoft.com".into(), "CONTOSO.onmicrosoft.com".into()] {
        let r = get(&h, &format!("/{tenant}/v2.0/.well-known/openid-configuration")).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let base = format!("{PUBLIC_URL}/{}", h.boot.tenant_id);
        assert_eq!(r.json["issuer"], format!("{base}/v2.0"));
        assert_eq!(r.json["token_endpoint"], format!("{base}/oauth2/v2.0/token"));
        assert_eq!(r.json["jwks_uri"], format!("{base}/discovery/v2.0/keys"));
        for field in ["authorization_endpoint", "device_authorization_endpoint", "end_session_endpoint"] {
            assert!(r.json[field].as_str().is_some_and(|u| u.starts_with(&base)), "{field}");
        }
    }
    let v1 = get(&h, &format!("/{}/.well-known/openid-configuration", h.boot.tenant_id)).await;
    assert_eq!(v1.json["issuer"], format!("{PUBLIC_URL}/{}/", h.boot.tenant_id));
    let common = get(&h, "/common/v2.0/.well-known/openid-configuration").await;
    assert_eq!(common.json["issuer"], format!("{PUBLIC_URL}/{{tenantid}}/v2.0"));
    let unknown = get(&h, "/fabrikam.example/v2.0/.well-known/openid-configuration").await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert_eq!(unknown.json["error_codes"][0], 90002);
}

#[tokio::test]
async fn jwks_publishes_the_signing_key() {
    let h = Harness::new().await;
    let header = decode_part(&h.token, 0);
    assert_eq!(header["alg"], "RS256");
    let kid = header["kid"].as_str().expect("kid");
    for path in [
        format!("/{}/discovery/v2.0/keys", h.boot.tenant_id),
        format!("/{}/discovery/keys", h.boot.tenant_id),
        "/discovery/keys".to_string(),
    ] {
        let r = get(&h, &path).await;
        assert_eq!(r.status, StatusCode::OK);
        let keys = r.json["keys"].as_array().expect("keys");
        let key = keys.iter().find(|k| k["kid"] == kid).expect("token kid is published");
        assert_eq!(key["kty"], "RSA");
        assert_eq!(key["use"], "sig");
        assert!(key["n"].as_str().is_some_and(|n| n.len() > 300));
        assert!(key.get("d").is_none(), "no private parts");
    }
}

#[tokio::test]
async fn app_token_is_shaped_like_entra() {
    let h = Harness::new().await;
    let claims = decode_part(&h.token, 1);
    assert_eq!(claims["aud"], "https://graph.microsoft.com");
    assert_eq!(claims["iss"], format!("{PUBLIC_URL}/{}/", h.boot.tenant_id));
    assert_eq!(claims["tid"], h.boot.tenant_id);
    assert_eq!(claims["appid"], h.boot.client_id);
    assert_eq!(claims["idtyp"], "app");
    assert_eq!(claims["ver"], "1.0");
    assert_eq!(claims["oid"], claims["sub"]);
    for c in ["iat", "nbf", "exp", "uti"] {
        assert!(claims.get(c).is_some(), "{c}");
    }
    let roles: Vec<&str> = claims["roles"].as_array().expect("roles").iter().filter_map(Value::as_str).collect();
    for r in ["Directory.ReadWrite.All", "User.ReadWrite.All", "Group.ReadWrite.All"] {
        assert!(roles.contains(&r), "{r} in {roles:?}");
    }
}

#[tokio::test]
async fn token_response_fields_and_basic_auth() {
    let h = Harness::new().await;
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", h.boot.client_id, h.boot.client_secret));
    let r = h
        .form(
            &format!("/{}/oauth2/v2.0/token", h.boot.tenant_domain),
            &[("grant_type", "client_credentials"), ("scope", "00000003-0000-0000-c000-000000000000/.default")],
            Some(&format!("Basic {basic}")),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["token_type"], "Bearer");
    assert!(r.json["expires_in"].as_i64().is_some_and(|n| n > 3000));
    assert!(r.json["ext_expires_in"].is_number());
    assert_eq!(r.headers["cache-control"], "no-store, no-cache");
    let token = r.json["access_token"].as_str().expect("token");
    assert_eq!(decode_part(token, 1)["aud"], "00000003-0000-0000-c000-000000000000");
    // The Graph routes accept it.
    let users = h.graph_with(axum::http::Method::GET, "/v1.0/users", None, token, &[]).await;
    assert_eq!(users.status, StatusCode::OK);
}

#[tokio::test]
async fn v1_endpoint_takes_resource() {
    let h = Harness::new().await;
    let r = h
        .form(
            &format!("/{}/oauth2/token", h.boot.tenant_id),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &h.boot.client_id),
                ("client_secret", &h.boot.client_secret),
                ("resource", "https://graph.microsoft.com"),
            ],
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["resource"], "https://graph.microsoft.com");
    assert!(r.json["expires_on"].is_string());
}

async fn token_error(h: &Harness, tenant: &str, fields: &[(&str, &str)]) -> crate::harness::Reply {
    h.form(&format!("/{tenant}/oauth2/v2.0/token"), fields, None).await
}

fn assert_oauth_error(r: &crate::harness::Reply, status: u16, error: &str, code: u64) {
    assert_eq!(r.status.as_u16(), status, "{}", r.text);
    assert_eq!(r.json["error"], error, "{}", r.text);
    assert_eq!(r.json["error_codes"][0], code, "{}", r.text);
    let description = r.json["error_description"].as_str().expect("description");
    assert!(description.starts_with(&format!("AADSTS{code}: ")), "{description}");
    for f in ["timestamp", "trace_id", "correlation_id"] {
        assert!(r.json[f].is_string(), "{f}");
    }
}

#[tokio::test]
async fn token_errors_follow_entra() {
    let h = Harness::new().await;
    let t = h.boot.tenant_id.clone();
    let id = h.boot.client_id.clone();
    let scope = "https://graph.microsoft.com/.default";

    let r = token_error(
        &h,
        &t,
        &[("grant_type", "client_credentials"), ("client_id", &id), ("client_secret", "wrong"), ("scope", scope)],
    )
    .await;
    assert_oauth_error(&r, 401, "invalid_client", 7000215);
    assert!(!r.text.contains(&h.boot.client_secret), "the real secret never appears");

    let r = token_error(&h, &t, &[("grant_type", "client_credentials"), ("client_id", &id), ("scope", scope)]).await;
    assert_oauth_error(&r, 401, "invalid_client", 7000218);

    let unknown = uuid::Uuid::new_v4().to_string();
    let r = token_error(
        &h,
        &t,
        &[("grant_type", "client_credentials"), ("client_id", &unknown), ("client_secret", "x"), ("scope", scope)],
    )
    .await;
    assert_oauth_error(&r, 400, "unauthorized_client", 700016);

    let r = token_error(
        &h,
        "nowhere.example",
        &[("grant_type", "client_credentials"), ("client_id", &id), ("client_secret", "x"), ("scope", scope)],
    )
    .await;
    assert_oauth_error(&r, 400, "invalid_request", 90002);

    let r = token_error(&h, &t, &[("client_id", &id)]).await;
    assert_oauth_error(&r, 400, "invalid_request", 900144);

    let r = token_error(&h, &t, &[("grant_type", "magic"), ("client_id", &id)]).await;
    assert_oauth_error(&r, 400, "unsupported_grant_type", 70003);

    let r = token_error(
        &h,
        &t,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &h.boot.client_secret),
            ("scope", "User.Read"),
        ],
    )
    .await;
    assert_oauth_error(&r, 400, "invalid_scope", 1002012);

    let r = token_error(
        &h,
        &t,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &h.boot.client_secret),
            ("scope", "https://unknown.example/.default"),
        ],
    )
    .await;
    assert_oauth_error(&r, 400, "invalid_resource", 500011);

    let r = token_error(&h, &t, &[("grant_type", "client_credentials"), ("client_id", &id)]).await;
    assert_oauth_error(&r, 400, "invalid_request", 900144);

    let r = token_error(
        &h,
        "common",
        &[("grant_type", "client_credentials"), ("client_id", &id), ("client_secret", "x"), ("scope", scope)],
    )
    .await;
    assert_oauth_error(&r, 400, "invalid_request", 50059);

    let r = h.send(Request::get(format!("/{t}/oauth2/v2.0/token")).body(Body::empty()).expect("req")).await;
    assert_oauth_error(&r, 400, "invalid_request", 900561);

    let r = h
        .send(
            Request::post(format!("/{t}/oauth2/v2.0/token"))
                .header("content-type", "application/x-www-form-urlencoded")
                .header("client-request-id", "corr-123")
                .body(Body::from("grant_type=client_credentials&grant_type=client_credentials"))
                .expect("req"),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json["correlation_id"], "corr-123");
}

#[tokio::test]
async fn instance_discovery_names_ceruleans_own_origin() {
    let h = Harness::new().await;
    let host = PUBLIC_URL.trim_start_matches("https://");
    let tenant = &h.boot.tenant_id;
    for (endpoint, discovery) in [
        (
            format!("{PUBLIC_URL}/{tenant}/oauth2/v2.0/authorize"),
            format!("{PUBLIC_URL}/{tenant}/v2.0/.well-known/openid-configuration"),
        ),
        (
            format!("{PUBLIC_URL}/organizations/oauth2/authorize"),
            format!("{PUBLIC_URL}/organizations/.well-known/openid-configuration"),
        ),
    ] {
        let q = serde_urlencoded::to_string([("api-version", "1.1"), ("authorization_endpoint", endpoint.as_str())])
            .expect("query");
        let r = get(&h, &format!("/common/discovery/instance?{q}")).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.json["tenant_discovery_endpoint"], discovery);
        assert_eq!(r.json["api-version"], "1.1");
        let meta = &r.json["metadata"][0];
        assert_eq!(meta["preferred_network"], host);
        assert_eq!(meta["preferred_cache"], host);
        assert_eq!(meta["aliases"], serde_json::json!([host]));
        // The document it points at exists and names the same cloud.
        let doc = get(&h, discovery.trim_start_matches(PUBLIC_URL)).await;
        assert_eq!(doc.status, StatusCode::OK, "{}", doc.text);
        assert_eq!(doc.json["cloud_instance_name"], host);
        assert_eq!(doc.json["msgraph_host"], host);
        assert_eq!(doc.json["rbac_url"], PUBLIC_URL);
        if discovery.contains("v2.0") {
            assert_eq!(doc.json["request_uri_parameter_supported"], true, "request objects by reference");
        }
    }
    // Another cloud, a missing endpoint, or a path that is no authorize endpoint: unknown.
    for q in [
        "api-version=1.1&authorization_endpoint=https%3A%2F%2Flogin.microsoftonline.com%2Fcommon%2Foauth2%2Fv2.0%2Fauthorize",
        "api-version=1.1",
        "api-version=1.1&authorization_endpoint=https%3A%2F%2Fcerulean.test%2Fcommon%2Fdiscovery%2Fkeys",
        "api-version=1.1&authorization_endpoint=https%3A%2F%2Fcerulean.test.evil.example%2Fcommon%2Foauth2%2Fauthorize",
    ] {
        let r = get(&h, &format!("/common/discovery/instance?{q}")).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{q}: {}", r.text);
        assert_eq!(r.json["error"], "invalid_instance");
        assert_eq!(r.json["error_codes"][0], 50049);
    }
}

/// MSAL Python asks about its authority's authorize endpoint without the port (it keeps only the
/// host name), so a server on another port than 443 must know itself without one.
#[tokio::test]
async fn instance_discovery_knows_its_own_host_without_the_port() {
    use axum::body::Body;
    use tower::ServiceExt;
    let h = Harness::new().await;
    let public = "https://cerulean.test:8443";
    let app = cerulean::app::App::with_options(h.other_store().await, public, cerulean::app::AppOptions::default());
    let tenant = &h.boot.tenant_id;
    let ask = async |endpoint: &str| {
        let q = serde_urlencoded::to_string([("api-version", "1.0"), ("authorization_endpoint", endpoint)]).expect("q");
        let req = axum::http::Request::builder()
            .uri(format!("/common/discovery/instance?{q}"))
            .body(Body::empty())
            .expect("request");
        let res = app.service::<Body>().oneshot(req).await.expect("infallible");
        let status = res.status();
        let bytes = axum::body::to_bytes(res.into_body(), 1 << 20).await.expect("body");
        (status, serde_json::from_slice::<serde_json::Value>(&bytes).unwrap_or_default())
    };
    let discovery = format!("{public}/{tenant}/v2.0/.well-known/openid-configuration");
    for endpoint in [
        format!("https://cerulean.test/{tenant}/oauth2/v2.0/authorize"),
        format!("{public}/{tenant}/oauth2/v2.0/authorize"),
    ] {
        let (status, json) = ask(&endpoint).await;
        assert_eq!(status, StatusCode::OK, "{endpoint}: {json}");
        assert_eq!(json["tenant_discovery_endpoint"], discovery, "{json}");
    }
    let (status, json) = ask(&format!("https://cerulean.test:9443/{tenant}/oauth2/v2.0/authorize")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{json}");
    assert_eq!(json["error"], "invalid_instance", "{json}");
}
