//! `$batch`: JSON batching, each inner request through the full stack with the outer token.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{Harness, PUBLIC_URL, Reply, id_of, user_body};

fn create(id: &str, alias: &str) -> Value {
    json!({
        "id": id, "method": "POST", "url": "/users",
        "headers": {"Content-Type": "application/json"},
        "body": user_body(alias, alias),
    })
}

/// The response entry with `id`.
fn response<'a>(r: &'a Reply, id: &str) -> &'a Value {
    r.json["responses"]
        .as_array()
        .and_then(|a| a.iter().find(|e| e["id"] == id))
        .unwrap_or_else(|| panic!("no response {id}: {}", r.text))
}

fn status(r: &Reply, id: &str) -> u64 {
    response(r, id)["status"].as_u64().unwrap_or_default()
}

#[tokio::test]
async fn creates_reads_and_orders_by_depends_on() {
    let h = Harness::new().await;
    let r = h
        .post(
            "/v1.0/$batch",
            json!({"requests": [
                create("1", "batch1"),
                {"id": "2", "dependsOn": ["1"], "method": "GET", "url": "/users/batch1@contoso.onmicrosoft.com?$select=id,displayName"},
                {"id": "3", "dependsOn": ["2"], "method": "GET", "url": "users?$filter=startswith(displayName,'batch')&$select=displayName"},
                {"id": "4", "dependsOn": ["3"], "method": "GET", "url": "/users/$count", "headers": {"ConsistencyLevel": "eventual"}},
            ]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let created = response(&r, "1");
    assert_eq!(created["status"], 201, "{}", r.text);
    let id = id_of(&created["body"]);
    assert_eq!(created["headers"]["Location"], format!("{PUBLIC_URL}/v1.0/users/{id}").as_str());
    assert!(created["headers"]["Content-Type"].as_str().is_some_and(|c| c.starts_with("application/json")));
    let got = response(&r, "2");
    assert_eq!(got["status"], 200, "{}", r.text);
    assert_eq!(got["body"]["id"], id.as_str());
    assert_eq!(
        got["body"]["@odata.context"],
        format!("{PUBLIC_URL}/v1.0/$metadata#users(id,displayName)/$entity"),
        "inner requests run under the batch's version"
    );
    assert_eq!(status(&r, "3"), 200, "{}", r.text);
    assert_eq!(response(&r, "3")["body"]["value"][0]["displayName"], "batch1");
    // A non-JSON answer is a string body.
    assert_eq!(status(&r, "4"), 200, "{}", r.text);
    assert!(response(&r, "4")["body"].is_string(), "{}", r.text);
    // The user exists afterwards, outside the batch too.
    assert_eq!(h.get(&format!("/v1.0/users/{id}")).await.status, StatusCode::OK);
}

#[tokio::test]
async fn beta_batch_runs_under_beta_and_paths_are_normalised() {
    let h = Harness::new().await;
    let u = h.user("adele", "Adele Vance").await;
    let r = h
        .post(
            "/beta/$batch",
            json!({"requests": [
                {"id": "a", "method": "GET", "url": format!("/Users/{}", id_of(&u))},
                {"id": "b", "method": "get", "url": "users('adele@contoso.onmicrosoft.com')/memberOf"},
            ]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(status(&r, "a"), 200, "{}", r.text);
    assert!(response(&r, "a")["body"]["@odata.context"].as_str().is_some_and(|c| c.contains("/beta/")));
    assert_eq!(status(&r, "b"), 200, "{}", r.text);
    // Responses come back in request order.
    let ids: Vec<&str> =
        r.json["responses"].as_array().into_iter().flatten().filter_map(|e| e["id"].as_str()).collect();
    assert_eq!(ids, ["a", "b"]);
}

#[tokio::test]
async fn failed_dependency_cascades_as_424() {
    let h = Harness::new().await;
    h.user("taken", "Taken").await;
    let r = h
        .post(
            "/v1.0/$batch",
            json!({"requests": [
                create("1", "taken"),
                {"id": "2", "dependsOn": ["1"], "method": "GET", "url": "/users/taken@contoso.onmicrosoft.com"},
                {"id": "3", "dependsOn": ["2"], "method": "DELETE", "url": "/users/taken@contoso.onmicrosoft.com"},
            ]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let dup = response(&r, "1");
    assert_eq!(dup["status"], 400, "{}", r.text);
    assert_eq!(dup["body"]["error"]["code"], "Request_BadRequest", "{}", r.text);
    assert!(dup["body"]["error"]["innerError"]["request-id"].is_string(), "Graph's error shape: {}", r.text);
    for id in ["2", "3"] {
        let e = response(&r, id);
        assert_eq!(e["status"], 424, "{id}: {}", r.text);
        assert_eq!(e["body"]["error"]["code"], "FailedDependency");
        assert!(e["body"]["error"]["innerError"]["date"].is_string());
    }
    // The dependant never ran: the user was not deleted.
    assert_eq!(h.get("/v1.0/users/taken@contoso.onmicrosoft.com").await.status, StatusCode::OK);
}

#[tokio::test]
async fn inner_errors_keep_graphs_shape() {
    let h = Harness::new().await;
    let r = h
        .post(
            "/v1.0/$batch",
            json!({"requests": [
                {"id": "1", "method": "GET", "url": "/users/nobody@contoso.onmicrosoft.com"},
                {"id": "2", "method": "GET", "url": "/nothing/here"},
                {"id": "3", "method": "PUT", "url": "/users"},
                {"id": "4", "method": "POST", "url": "/users", "body": user_body("noct", "No CT")},
            ]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let e = response(&r, "1");
    assert_eq!(e["status"], 404);
    assert_eq!(e["body"]["error"]["code"], "Request_ResourceNotFound");
    assert!(e["body"]["error"]["innerError"]["client-request-id"].is_string());
    assert_eq!(status(&r, "2"), 400);
    assert_eq!(response(&r, "2")["body"]["error"]["code"], "BadRequest");
    assert_eq!(status(&r, "3"), 405);
    // A body without a Content-Type header is refused for that request only.
    assert_eq!(status(&r, "4"), 400, "{}", r.text);
    assert_eq!(h.get("/v1.0/users/noct@contoso.onmicrosoft.com").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn inner_requests_are_authorized_one_by_one() {
    let h = Harness::new().await;
    let reader = h.sign(h.claims(&["User.Read.All"])).await;
    let body = json!({"requests": [
        {"id": "read", "method": "GET", "url": "/users"},
        create("write", "readonly"),
        // An inner Authorization header cannot replace the outer token.
        {"id": "sneak", "method": "POST", "url": "/users", "headers": {"Content-Type": "application/json", "Authorization": format!("Bearer {}", h.token)}, "body": user_body("sneak", "Sneak")},
    ]});
    let r = h.graph_with(Method::POST, "/v1.0/$batch", Some(body), &reader, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(status(&r, "read"), 200, "{}", r.text);
    for id in ["write", "sneak"] {
        let e = response(&r, id);
        assert_eq!(e["status"], 403, "{id}: {}", r.text);
        assert_eq!(e["body"]["error"]["code"], "Authorization_RequestDenied");
    }
}

#[tokio::test]
async fn outer_request_needs_a_token() {
    let h = Harness::new().await;
    let body = json!({"requests": [{"id": "1", "method": "GET", "url": "/users"}]});
    let r = h.graph_with(Method::POST, "/v1.0/$batch", Some(body.clone()), "", &[]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    assert_eq!(r.code(), "InvalidAuthenticationToken");
    assert!(r.headers.contains_key("www-authenticate"));
    let r = h.graph_with(Method::POST, "/v1.0/$batch", Some(body), "not-a-token", &[]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
}

#[tokio::test]
async fn malformed_batches_are_refused_whole() {
    let h = Harness::new().await;
    let get = |id: &str| json!({"id": id, "method": "GET", "url": "/users"});

    let too_many: Vec<Value> = (1..=21).map(|i| get(&i.to_string())).collect();
    let r = h.post("/v1.0/$batch", json!({ "requests": too_many })).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.code(), "BadRequest");
    let twenty: Vec<Value> = (1..=20).map(|i| get(&i.to_string())).collect();
    assert_eq!(h.post("/v1.0/$batch", json!({ "requests": twenty })).await.status, StatusCode::OK);

    let r = h.post("/v1.0/$batch", json!({"requests": [get("a"), get("A")]})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "ids are compared without case: {}", r.text);
    assert_eq!(r.message(), "Request Id A has to be unique in a batch.");

    let r = h
        .post(
            "/v1.0/$batch",
            json!({"requests": [{"id": "1", "method": "GET", "url": "https://graph.microsoft.com/v1.0/users"}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "absolute url: {}", r.text);
    assert_eq!(r.message(), "Invalid batch payload format.");

    let mut dependant = get("2");
    dependant["dependsOn"] = json!(["9"]);
    let r = h.post("/v1.0/$batch", json!({"requests": [get("1"), dependant]})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.message().starts_with("Invalid dependency for request Id 2"), "{}", r.text);

    // A dependency must come earlier, which also rules out cycles.
    let mut a = get("a");
    a["dependsOn"] = json!(["b"]);
    let mut b = get("b");
    b["dependsOn"] = json!(["a"]);
    let r = h.post("/v1.0/$batch", json!({"requests": [a, b]})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "cycle: {}", r.text);

    for bad in [
        json!({}),
        json!({"requests": {}}),
        json!({"requests": [{"method": "GET", "url": "/users"}]}),
        json!({"requests": [{"id": "", "method": "GET", "url": "/users"}]}),
        json!({"requests": [{"id": "1", "url": "/users"}]}),
        json!({"requests": [{"id": "1", "method": "GET"}]}),
        json!({"requests": [{"id": "1", "method": "HEAD", "url": "/users"}]}),
        json!({"requests": [{"id": "1", "method": "GET", "url": "/users", "headers": ["x"]}]}),
    ] {
        let r = h.post("/v1.0/$batch", bad.clone()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.text);
        assert_eq!(r.code(), "BadRequest", "{bad}");
        assert!(r.json["error"]["innerError"]["request-id"].is_string(), "{}", r.text);
    }
    let req = axum::http::Request::builder()
        .method(Method::POST)
        .uri("/v1.0/$batch")
        .header("authorization", format!("Bearer {}", h.token))
        .header("content-type", "application/json")
        .body(axum::body::Body::from("{not json"))
        .expect("request");
    let r = h.send(req).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.message(), "Invalid batch payload format.");
}

#[tokio::test]
async fn nested_batches_are_refused() {
    let h = Harness::new().await;
    let inner = json!({"requests": [{"id": "x", "method": "GET", "url": "/users"}]});
    let r = h
        .post(
            "/v1.0/$batch",
            json!({"requests": [
                {"id": "1", "method": "POST", "url": "/$batch", "headers": {"Content-Type": "application/json"}, "body": inner},
                {"id": "2", "method": "POST", "url": "%24batch", "headers": {"Content-Type": "application/json"}, "body": inner},
                {"id": "3", "method": "GET", "url": "/users"},
            ]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    for id in ["1", "2"] {
        assert_eq!(status(&r, id), 400, "{id}: {}", r.text);
        assert_eq!(response(&r, id)["body"]["error"]["code"], "BadRequest");
    }
    assert_eq!(status(&r, "3"), 200);
}

#[tokio::test]
async fn payload_over_four_megabytes_is_refused() {
    let h = Harness::new().await;
    let filler = "x".repeat(4 * 1024 * 1024);
    let r = h
        .post("/v1.0/$batch", json!({"requests": [{"id": "1", "method": "GET", "url": "/users"}], "pad": filler}))
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", &r.text[..r.text.len().min(300)]);
    assert!(r.json["error"]["code"].is_string());
}
