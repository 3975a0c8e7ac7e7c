//! The emulator aids (`--emulator-aids`): token forge, clock control and fault injection, each
//! refused when the aids are off. The clock is process-wide; nextest runs every test in a
//! process of its own, so moving it here moves it for this test's server only.

use std::time::Instant;

use axum::http::{Method, StatusCode};
use cerulean::app::AppOptions;
use serde_json::{Value, json};

use crate::harness::{Harness, Reply};

async fn aids() -> Harness {
    Harness::with_options("contoso.onmicrosoft.com", AppOptions { emulator_aids: true, ..AppOptions::default() }).await
}

async fn forge(h: &Harness, body: Value) -> String {
    let r = h.post("/cerulean/emulator/tokens", body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.json["token"].as_str().expect("token").to_string()
}

async fn users_with(h: &Harness, token: &str) -> Reply {
    h.graph_with(Method::GET, "/v1.0/users", None, token, &[]).await
}

#[tokio::test]
async fn every_aid_refuses_when_the_aids_are_off() {
    let h = Harness::new().await;
    for (method, path) in [
        (Method::POST, "/cerulean/emulator/tokens"),
        (Method::GET, "/cerulean/emulator/clock"),
        (Method::POST, "/cerulean/emulator/clock/advance"),
        (Method::POST, "/cerulean/emulator/clock/freeze"),
        (Method::GET, "/cerulean/emulator/faults"),
        (Method::POST, "/cerulean/emulator/faults"),
        (Method::DELETE, "/cerulean/emulator/faults"),
    ] {
        let r =
            h.graph(method.clone(), path, Some(json!({"seconds": 86400, "path": "/v1.0/users", "status": 500}))).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{method} {path}: {}", r.text);
        assert_eq!(r.code(), "Request_ResourceNotFound");
        assert!(r.message().contains("--emulator-aids"), "{}", r.message());
    }
    // Nothing moved: the bootstrap token is still valid and nothing is faulted.
    assert_eq!(h.get("/v1.0/users").await.status, StatusCode::OK);
}

#[tokio::test]
async fn aids_require_an_administrator() {
    let h = aids().await;
    let reader = h.sign(h.claims(&["User.Read.All"])).await;
    let r = h.graph_with(Method::GET, "/cerulean/emulator/clock", None, &reader, &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert_eq!(r.code(), "Authorization_RequestDenied");
    let r = h.graph_with(Method::POST, "/cerulean/emulator/tokens", Some(json!({})), "", &[]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
}

#[tokio::test]
async fn forged_tokens_are_valid_expired_or_badly_signed_as_asked() {
    let h = aids().await;
    // A valid forged token with the claims asked for: its signature verifies (the refusal is
    // for being forged, not for the signature), and Cerulean itself never accepts it.
    let good = forge(&h, json!({"claims": {"roles": ["User.Read.All"], "idtyp": "app", "appid": "11111111-2222-3333-4444-555555555555"}})).await;
    let r = users_with(&h, &good).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.message().contains("forge"), "{}", r.message());
    let r = h
        .post("/cerulean/emulator/tokens", json!({"claims": {"custom": {"a": 1}, "ver": null}, "lifetimeSeconds": 60}))
        .await;
    assert_eq!(r.json["claims"]["custom"], json!({"a": 1}));
    assert!(r.json["claims"].get("ver").is_none(), "a null claim removes the default");
    assert_eq!(r.json["claims"]["exp"].as_i64().unwrap() - r.json["claims"]["iat"].as_i64().unwrap(), 60);
    assert_eq!(r.json["claims"]["tid"], json!(h.boot.tenant_id));

    let expired = forge(&h, json!({"expired": true, "claims": {"roles": ["User.Read.All"]}})).await;
    let r = users_with(&h, &expired).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.message().contains("expired"), "{}", r.message());

    for signature in ["wrongKey", "corrupted"] {
        let bad = forge(&h, json!({"signature": signature, "claims": {"roles": ["User.Read.All"]}})).await;
        let r = users_with(&h, &bad).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{signature}");
        assert!(r.message().contains("Invalid signature"), "{signature}: {}", r.message());
        // The header names the tenant's real key, so only the signature is wrong.
        assert_eq!(header(&bad)["kid"], header(&good)["kid"]);
    }
    let none = forge(&h, json!({"signature": "none", "claims": {"roles": ["User.Read.All"]}})).await;
    assert_eq!(header(&none)["alg"], "none");
    assert!(none.ends_with('.'), "an unsecured JWT has an empty signature");
    assert_eq!(users_with(&h, &none).await.status, StatusCode::UNAUTHORIZED);

    for (body, what) in [
        (json!({"signature": "sloppy"}), "Unknown signature"),
        (json!({"lifetimeSeconds": 0}), "lifetimeSeconds"),
        (json!({"claims": "x"}), "claims"),
        (json!({"tenantId": "nope"}), "tenantId"),
        (json!({"expired": "yes"}), "expired"),
    ] {
        let r = h.post("/cerulean/emulator/tokens", body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
        assert!(r.message().contains(what), "{}", r.message());
    }
}

fn header(token: &str) -> Value {
    use base64::Engine;
    let seg = token.split('.').next().expect("header");
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(seg).expect("b64")).expect("json")
}

#[tokio::test]
async fn the_clock_freezes_advances_and_resets_for_the_whole_server() {
    let h = aids().await;
    let r = h.post("/cerulean/emulator/clock/freeze", json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["frozen"], true);
    let frozen_at = r.json["now"].clone();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(h.get("/cerulean/emulator/clock").await.json["now"], frozen_at, "time stands still");

    let r = h.post("/cerulean/emulator/clock/advance", json!({"seconds": 10 * 86400})).await;
    // Frozen, the distance to the system clock shrinks as real time passes.
    let offset = r.json["offsetSeconds"].as_i64().expect("offsetSeconds");
    assert!(offset > 10 * 86400 - 60 && offset <= 10 * 86400, "{}", r.text);
    // Ten days on, the bootstrap app's token has expired, everywhere.
    let r = h.get("/v1.0/users").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    assert!(r.message().contains("expired"), "{}", r.message());
    // A token issued now (server time) works, and objects are stamped with the server's time.
    let fresh = h.app_token(&h.boot.client_id, &h.boot.client_secret).await;
    let r = h
        .graph_with(Method::POST, "/v1.0/users", Some(crate::harness::user_body("future", "Future")), &fresh, &[])
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let path = format!("/v1.0/users/{}?$select=createdDateTime", r.json["id"].as_str().expect("id"));
    let r = h.graph_with(Method::GET, &path, None, &fresh, &[]).await;
    let created = time::OffsetDateTime::parse(
        r.json["createdDateTime"].as_str().expect("createdDateTime"),
        &time::format_description::well_known::Rfc3339,
    )
    .expect("rfc3339");
    assert!(created - time::OffsetDateTime::now_utc() > time::Duration::days(9), "{created}");
    let r = h.graph_with(Method::POST, "/cerulean/emulator/clock/reset", None, &fresh, &[]).await;
    assert_eq!(r.json["frozen"], false);
    assert_eq!(r.json["offsetSeconds"], 0);
    assert_eq!(h.get("/v1.0/users").await.status, StatusCode::OK);

    let r = h.post("/cerulean/emulator/clock/advance", json!({"seconds": "soon"})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = h.post("/cerulean/emulator/clock/rewind", json!({})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    assert!(r.message().contains("rewind"), "{}", r.message());
}

#[tokio::test]
async fn faults_answer_matching_requests_until_cleared() {
    let h = aids().await;
    let r = h
        .post("/cerulean/emulator/faults", json!({"method": "GET", "path": "/v1.0/users", "status": 503, "count": 1}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let first = r.json["id"].as_str().expect("id").to_string();
    // Other methods and paths pass; the matching request is answered once, with Retry-After.
    assert_eq!(h.get("/v1.0/groups").await.status, StatusCode::OK);
    let r = h.get("/v1.0/USERS").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text);
    assert_eq!(r.headers["retry-after"], "1");
    assert!(r.message().contains("Fault injected"), "{}", r.message());
    assert!(r.headers.contains_key("request-id"));
    assert_eq!(h.get("/v1.0/users").await.status, StatusCode::OK, "count 1 fires once");

    // Latency alone delays and passes the request on.
    let r = h.post("/cerulean/emulator/faults", json!({"path": "/v1.0/groups/**", "latencyMs": 300})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let started = Instant::now();
    assert_eq!(h.get("/v1.0/groups").await.status, StatusCode::OK);
    assert!(started.elapsed().as_millis() >= 300);

    let r = h.post("/cerulean/emulator/faults", json!({"path": "/v1.0/users/*", "status": 500})).await;
    let third = r.json["id"].as_str().expect("id").to_string();
    let r = h.get("/v1.0/users/00000000-0000-0000-0000-000000000000").await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{}", r.text);
    let list = h.get("/cerulean/emulator/faults").await;
    assert_eq!(list.json["value"].as_array().expect("value").len(), 3);
    assert_eq!(list.json["value"][0]["id"], json!(first));
    assert_eq!(list.json["value"][0]["remaining"], 0);

    assert_eq!(h.delete(&format!("/cerulean/emulator/faults/{third}")).await.status, StatusCode::NO_CONTENT);
    assert_eq!(h.get("/v1.0/users/00000000-0000-0000-0000-000000000000").await.status, StatusCode::NOT_FOUND);
    let r = h.delete(&format!("/cerulean/emulator/faults/{third}")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    assert_eq!(h.delete("/cerulean/emulator/faults").await.status, StatusCode::NO_CONTENT);
    assert_eq!(h.get("/cerulean/emulator/faults").await.json["value"], json!([]));

    for (body, what) in [
        (json!({"status": 500}), "path"),
        (json!({"path": "/v1.0/users"}), "status, a latencyMs"),
        (json!({"path": "/v1.0/users", "status": 200}), "status"),
        (json!({"path": "/v1.0/users", "status": 500, "probability": 1.5}), "probability"),
        (json!({"path": "/v1.0/users", "latencyMs": 600000}), "latencyMs"),
        (json!({"path": "/v1.0/users", "status": 500, "colour": "red"}), "colour"),
    ] {
        let r = h.post("/cerulean/emulator/faults", body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
        assert!(r.message().contains(what), "{what}: {}", r.message());
    }
}

#[tokio::test]
async fn the_forge_signs_only_for_the_callers_own_tenant() {
    let h = aids().await;
    let other = cerulean_store::TenantRecord {
        id: uuid::Uuid::new_v4(),
        display_name: "Fabrikam".into(),
        domains: vec![cerulean_store::DomainRecord {
            name: "fabrikam.onmicrosoft.com".into(),
            is_initial: true,
            is_default: true,
            is_verified: true,
            doc: Default::default(),
        }],
        created_at: "2024-01-01T00:00:00Z".into(),
    };
    h.store.create_tenant(&other).await.expect("tenant B");
    for tenant in [other.id, uuid::Uuid::new_v4()] {
        let r = h.post("/cerulean/emulator/tokens", json!({"tenantId": tenant.to_string()})).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
        assert_eq!(r.code(), "Authorization_RequestDenied");
    }
    // Naming its own tenant is allowed (the token is for clients: Cerulean refuses it).
    let own = forge(&h, json!({"tenantId": h.tenant().to_string(), "claims": {"roles": ["User.Read.All"]}})).await;
    assert!(users_with(&h, &own).await.message().contains("forge"));
}
