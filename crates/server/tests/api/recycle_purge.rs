//! The recycle bin's 30 days: objects deleted 30 days ago are deleted for good, as Entra does,
//! driven by the server's clock (the emulator's clock control moves it). A read of the object,
//! a restore, and a list of deleted items all see it gone; moving the clock back does not bring
//! it back (it was purged, not hidden).

use axum::http::{Method, StatusCode};
use cerulean::app::AppOptions;
use serde_json::{Value, json};

use crate::harness::{Harness, Reply, id_of};

const DAY: i64 = 86_400;

async fn with_clock() -> Harness {
    Harness::with_options("contoso.onmicrosoft.com", AppOptions { emulator_aids: true, ..AppOptions::default() }).await
}

/// The harness with a token of the bootstrap app issued at the server's current time (the
/// clock moves by weeks here; a token from before is expired, or not yet valid).
struct Clocked {
    h: Harness,
    token: String,
}

impl Clocked {
    async fn clock(&mut self, action: &str, body: Value) {
        let path = format!("/cerulean/emulator/clock/{action}");
        let r = self.h.graph_with(Method::POST, &path, Some(body), &self.token, &[]).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        self.token = self.h.app_token(&self.h.boot.client_id, &self.h.boot.client_secret).await;
    }

    async fn advance(&mut self, seconds: i64) {
        self.clock("advance", json!({ "seconds": seconds })).await;
    }

    async fn send(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        self.h.graph_with(method, path, body, &self.token, &[]).await
    }

    async fn get(&self, path: &str) -> Reply {
        self.send(Method::GET, path, None).await
    }
}

fn ids(list: &Value) -> Vec<String> {
    list["value"].as_array().expect("value").iter().filter_map(|o| o["id"].as_str()).map(str::to_string).collect()
}

fn assert_gone(r: &Reply, id: &str) {
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    assert_eq!(r.json["error"]["code"], "Request_ResourceNotFound", "{}", r.text);
    assert_eq!(
        r.json["error"]["message"],
        format!("Resource '{id}' does not exist or one of its queried reference-property objects are not present."),
        "{}",
        r.text
    );
}

#[tokio::test]
async fn deleted_objects_are_purged_thirty_days_after_deletion() {
    let h = with_clock().await;
    let ben = id_of(&h.user("ben", "Ben Walters").await);
    let group = h
        .post(
            "/v1.0/groups",
            json!({"displayName": "Project M", "mailEnabled": true, "mailNickname": "project-m", "securityEnabled": false, "groupTypes": ["Unified"]}),
        )
        .await;
    assert_eq!(group.status, StatusCode::CREATED, "{}", group.text);
    let group = id_of(&group.json);
    let app = h.post("/v1.0/applications", json!({"displayName": "Old app"})).await;
    assert_eq!(app.status, StatusCode::CREATED, "{}", app.text);
    let app = id_of(&app.json);
    for path in [format!("/v1.0/users/{ben}"), format!("/v1.0/groups/{group}"), format!("/v1.0/applications/{app}")] {
        let r = h.delete(&path).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{path}: {}", r.text);
    }

    let mut c = Clocked { token: h.token.clone(), h };
    // Day 29: still in the recycle bin. Cara is deleted now.
    c.advance(29 * DAY).await;
    let r = c.get(&format!("/v1.0/directory/deletedItems/{ben}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let listed = c.get("/v1.0/directory/deletedItems/microsoft.graph.user").await;
    assert_eq!(ids(&listed.json), vec![ben.clone()], "{}", listed.text);
    let cara = c.send(Method::POST, "/v1.0/users", Some(crate::harness::user_body("cara", "Cara Coleman"))).await;
    assert_eq!(cara.status, StatusCode::CREATED, "{}", cara.text);
    let cara = id_of(&cara.json);
    assert_eq!(c.send(Method::DELETE, &format!("/v1.0/users/{cara}"), None).await.status, StatusCode::NO_CONTENT);

    // Day 31: Ben, the group and the application are gone for good; Cara (two days) is not.
    c.advance(2 * DAY).await;
    let listed = c.get("/v1.0/directory/deletedItems/microsoft.graph.user").await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    assert_eq!(ids(&listed.json), vec![cara.clone()], "{}", listed.text);
    let groups = c.get("/v1.0/directory/deletedItems/microsoft.graph.group").await;
    assert_eq!(ids(&groups.json), Vec::<String>::new(), "{}", groups.text);
    assert_gone(&c.get(&format!("/v1.0/directory/deletedItems/{ben}")).await, &ben);
    assert_gone(
        &c.send(Method::POST, &format!("/v1.0/directory/deletedItems/{ben}/restore"), Some(json!({}))).await,
        &ben,
    );
    assert_gone(&c.get(&format!("/v1.0/directory/deletedItems/{app}")).await, &app);
    assert_gone(&c.send(Method::DELETE, &format!("/v1.0/directory/deletedItems/{group}"), None).await, &group);
    let r = c.get(&format!("/v1.0/directory/deletedItems/{cara}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    // The purges are in the audit log, by the service itself.
    let audits =
        c.get("/v1.0/auditLogs/directoryAudits?$filter=activityDisplayName%20eq%20%27Hard%20delete%20user%27").await;
    assert_eq!(audits.status, StatusCode::OK, "{}", audits.text);
    let rows = audits.json["value"].as_array().expect("value");
    assert_eq!(rows.len(), 1, "{}", audits.text);
    assert_eq!(rows[0]["targetResources"][0]["id"], ben, "{}", audits.text);

    // Purged, not hidden: back at the real time, Ben is still gone (Cara is in the bin).
    c.clock("reset", json!({})).await;
    assert_gone(&c.get(&format!("/v1.0/directory/deletedItems/{ben}")).await, &ben);
    let listed = c.get("/v1.0/directory/deletedItems/microsoft.graph.user").await;
    assert_eq!(ids(&listed.json), vec![cara.clone()], "{}", listed.text);
    // Cara (deleted on day 29 of the clock) is restored on her 28th day; a restored object is
    // not purged later.
    c.advance(57 * DAY).await;
    let r = c.send(Method::POST, &format!("/v1.0/directory/deletedItems/{cara}/restore"), Some(json!({}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    c.advance(5 * DAY).await;
    let r = c.get(&format!("/v1.0/users/{cara}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}
