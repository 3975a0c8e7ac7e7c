//! The wire shape common to every response.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};

use crate::harness::Harness;

#[tokio::test]
async fn request_ids_and_error_body() {
    let h = Harness::new().await;
    let r = h
        .graph_with(
            Method::GET,
            &format!("/v1.0/users/{}", uuid::Uuid::new_v4()),
            None,
            &h.token,
            &[("client-request-id", "abc-123")],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let request_id = r.headers["request-id"].to_str().expect("ascii").to_string();
    assert!(uuid::Uuid::parse_str(&request_id).is_ok());
    assert_eq!(r.headers["client-request-id"], "abc-123");
    let inner = &r.json["error"]["innerError"];
    assert_eq!(inner["request-id"], request_id.as_str());
    assert_eq!(inner["client-request-id"], "abc-123");
    assert!(inner["date"].is_string());
    assert_eq!(r.code(), "Request_ResourceNotFound");
    assert!(r.message().starts_with("Resource '"));

    for path in ["/healthz", "/readyz", "/v1.0/$metadata"] {
        let r = h.send(Request::get(path).body(Body::empty()).expect("req")).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        assert!(r.headers.contains_key("request-id"), "{path}");
    }
    let r = h.graph(Method::PUT, "/v1.0/users", None).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.code(), "Request_BadRequest");
    let r = h.get("/v1.0/me").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.message(), "/me request is only valid with delegated authentication flow.");
    let r = h.graph_with(Method::GET, "/v1.0/me", None, "", &[]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = h.graph(Method::GET, "/v1.0/users", None).await;
    assert!(r.headers.contains_key("client-request-id"), "generated when the client sent none");
    let r = h.get("/v1.0/nothingHere").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.json["error"]["innerError"]["request-id"].is_string());
    assert_eq!(r.message(), "Resource not found for the segment 'nothingHere'.");
}

#[tokio::test]
async fn metadata_is_csdl_for_declared_types() {
    let h = Harness::new().await;
    let r = h.send(Request::get("/v1.0/$metadata").body(Body::empty()).expect("req")).await;
    assert!(r.headers["content-type"].to_str().expect("ascii").starts_with("application/xml"));
    for needle in [
        "<EntityType Name=\"user\"",
        "<EntityType Name=\"group\"",
        "Name=\"userPrincipalName\"",
        "<EntitySet Name=\"users\"",
    ] {
        assert!(r.text.contains(needle), "{needle}");
    }
}

#[tokio::test]
async fn segment_names_are_case_insensitive() {
    let h = Harness::new().await;
    let u = h.user("casey", "Casey").await;
    let id = u["id"].as_str().expect("id");
    assert_eq!(h.get(&format!("/v1.0/Users/{id}/MemberOf")).await.status, StatusCode::OK);
    assert_eq!(h.get("/v1.0/USERS").await.status, StatusCode::OK);
}
