//! Graph-style throttling: resource-unit costs per route and query option, a budget per app and
//! tenant, 429 with Graph's headers and body, recovery after `Retry-After`, `$batch` inner
//! requests charged one by one, and no throttling unless switched on.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::http::{Method, StatusCode};
use cerulean::app::AppOptions;
use cerulean_graph::throttle::{Throttle, ThrottleConfig};
use serde_json::{Value, json};

use crate::harness::{Harness, Reply, id_of};

/// A harness throttled at `resource_units` per 10 seconds on a clock the test moves (ms).
async fn throttled(resource_units: u32) -> (Harness, Arc<AtomicU64>) {
    let millis = Arc::new(AtomicU64::new(0));
    let m = millis.clone();
    let throttle = Throttle::with_clock(
        ThrottleConfig::per_10_seconds(resource_units),
        Arc::new(move || Duration::from_millis(m.load(Ordering::SeqCst))),
    );
    let options = AppOptions { throttle: Some(Arc::new(throttle)), ..AppOptions::default() };
    (Harness::with_options("contoso.onmicrosoft.com", options).await, millis)
}

fn header<'a>(r: &'a Reply, name: &str) -> Option<&'a str> {
    r.headers.get(name).and_then(|v| v.to_str().ok())
}

fn units(r: &Reply) -> Option<u32> {
    header(r, "x-ms-resource-unit").and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn off_by_default() {
    let h = Harness::new().await;
    for _ in 0..30 {
        let r = h.get("/v1.0/users").await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(units(&r), None, "no throttling headers when throttling is off");
    }
}

#[tokio::test]
async fn charges_the_published_cost_of_each_route_and_option() {
    let (h, _clock) = throttled(10_000).await;
    let user = h.user("ru1", "RU One").await;
    let group = h.group("rugroup", "RU Group").await;
    let (uid, gid) = (id_of(&user), id_of(&group));
    let cases: &[(&str, u32)] = &[
        ("/v1.0/users", 2),
        ("/v1.0/users?$select=id,displayName", 1),
        ("/v1.0/users?select=id", 1),
        ("/v1.0/users?$top=5", 1),
        ("/v1.0/users?$top=50", 2),
        ("/v1.0/users?$expand=memberOf", 3),
        ("/beta/users", 2),
        (&format!("/v1.0/users/{uid}"), 1),
        (&format!("/v1.0/users/{uid}/memberOf"), 2),
        (&format!("/v1.0/groups/{gid}/members"), 3),
        (&format!("/v1.0/groups/{gid}/members/microsoft.graph.user"), 3),
        (&format!("/v1.0/groups/{gid}/members?$select=id&$top=10"), 1),
        (&format!("/v1.0/groups/{gid}/owners"), 1),
        ("/v1.0/groups", 1),
    ];
    for (path, cost) in cases {
        let r = h.get(path).await;
        assert_eq!(units(&r), Some(*cost), "{path}: {} {}", r.status, r.text);
    }
    let r = h.patch(&format!("/v1.0/users/{uid}"), json!({"jobTitle": "x"})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(units(&r), Some(1), "writes cost 1");
    // A request refused before the charge (bad token) costs nothing and says nothing.
    let r = h.graph_with(Method::GET, "/v1.0/users", None, "not-a-token", &[]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(units(&r), None);
}

#[tokio::test]
async fn answers_429_with_graph_headers_and_body_once_the_budget_is_spent() {
    let (h, _clock) = throttled(6).await;
    let first = h.get("/v1.0/users").await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    assert_eq!(header(&first, "x-ms-throttle-limit-percentage"), None, "under 0.8 of the budget");
    let second = h.get("/v1.0/users").await;
    assert_eq!(second.status, StatusCode::OK);
    assert_eq!(header(&second, "x-ms-throttle-limit-percentage"), None, "0.67 of the budget");
    // The two versions share one budget.
    let third = h.get("/beta/users").await;
    assert_eq!(third.status, StatusCode::OK);
    assert_eq!(header(&third, "x-ms-throttle-limit-percentage"), Some("1.00"));

    let r = h.get("/v1.0/users").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
    // 6 RU per 10 s refill 0.6 RU/s: the 2 RU missing take 3.33 s, announced as 4.
    assert_eq!(header(&r, "retry-after"), Some("4"));
    let scope = format!("Tenant_Application/ReadWrite/{}/{}", h.boot.client_id, h.boot.tenant_id);
    assert_eq!(header(&r, "x-ms-throttle-scope"), Some(scope.as_str()));
    assert_eq!(header(&r, "x-ms-throttle-information"), Some("ResourceUnitLimitExceeded"));
    assert_eq!(r.code(), "TooManyRequests");
    assert_eq!(r.message(), "Please retry again later.");
    assert!(r.json["error"]["innerError"]["request-id"].is_string(), "{}", r.text);
    assert!(r.json["error"]["innerError"]["date"].is_string(), "{}", r.text);
    // A cheaper request still fits nothing: the bucket is empty.
    let r = h.get(&format!("/v1.0/users/{}", h.boot.client_id)).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn budgets_are_per_app() {
    let (h, _clock) = throttled(4).await;
    for _ in 0..2 {
        assert_eq!(h.get("/v1.0/users").await.status, StatusCode::OK);
    }
    assert_eq!(h.get("/v1.0/users").await.status, StatusCode::TOO_MANY_REQUESTS);
    let mut claims = h.claims(&["User.Read.All"]);
    let other_app = claims["appid"].as_str().map(str::to_string).unwrap_or_default();
    let token = h.sign(claims.clone()).await;
    let r = h.graph_with(Method::GET, "/v1.0/users", None, &token, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "another app has its own budget: {}", r.text);
    assert_eq!(units(&r), Some(2));
    // A second token of that app shares its budget (the pair is app + tenant, not token).
    claims["oid"] = Value::String(uuid::Uuid::new_v4().to_string());
    let token2 = h.sign(claims).await;
    assert_eq!(h.graph_with(Method::GET, "/v1.0/users", None, &token2, &[]).await.status, StatusCode::OK);
    let r = h.graph_with(Method::GET, "/v1.0/users", None, &token, &[]).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    let scope = format!("Tenant_Application/ReadWrite/{other_app}/{}", h.boot.tenant_id);
    assert_eq!(header(&r, "x-ms-throttle-scope"), Some(scope.as_str()));
}

/// What the Graph SDKs' retry handlers do: on 429 wait `Retry-After` seconds, then retry.
#[tokio::test]
async fn refills_over_time_and_a_client_honouring_retry_after_recovers() {
    let (h, clock) = throttled(6).await;
    for _ in 0..3 {
        assert_eq!(h.get("/v1.0/users").await.status, StatusCode::OK);
    }
    let mut attempts = 0;
    let r = loop {
        attempts += 1;
        let r = h.get("/v1.0/users").await;
        if r.status != StatusCode::TOO_MANY_REQUESTS || attempts > 3 {
            break r;
        }
        let wait: u64 = header(&r, "retry-after").and_then(|v| v.parse().ok()).expect("Retry-After");
        clock.fetch_add(wait * 1000, Ordering::SeqCst);
    };
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(attempts, 2, "one wait of Retry-After is enough");
    // A full window later the whole budget is back, and no more.
    clock.fetch_add(60_000, Ordering::SeqCst);
    for _ in 0..3 {
        assert_eq!(h.get("/v1.0/users").await.status, StatusCode::OK);
    }
    assert_eq!(h.get("/v1.0/users").await.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn batch_inner_requests_are_charged_and_refused_one_by_one() {
    let (h, _clock) = throttled(5).await;
    let get = |id: &str| json!({"id": id, "method": "GET", "url": "/users"});
    let r = h.post("/v1.0/$batch", json!({"requests": [get("1"), get("2"), get("3"), get("4")]})).await;
    assert_eq!(r.status, StatusCode::OK, "the batch itself is not throttled: {}", r.text);
    let responses = r.json["responses"].as_array().cloned().unwrap_or_default();
    let by_id = |id: &str| responses.iter().find(|e| e["id"] == id).cloned().unwrap_or(Value::Null);
    let inner_header = |e: &Value, name: &str| {
        e["headers"]
            .as_object()
            .and_then(|m| m.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)))
            .and_then(|(_, v)| v.as_str().map(str::to_string))
    };
    for id in ["1", "2"] {
        let e = by_id(id);
        assert_eq!(e["status"], 200, "{}", r.text);
        assert_eq!(inner_header(&e, "x-ms-resource-unit").as_deref(), Some("2"), "{}", r.text);
    }
    for id in ["3", "4"] {
        let e = by_id(id);
        assert_eq!(e["status"], 429, "{}", r.text);
        assert_eq!(e["body"]["error"]["code"], "TooManyRequests", "{}", r.text);
        assert!(inner_header(&e, "retry-after").is_some(), "{}", r.text);
        assert_eq!(inner_header(&e, "x-ms-throttle-information").as_deref(), Some("ResourceUnitLimitExceeded"));
    }
}
