//! `GET /{set}/{id}` without query options answers a body kept per node when the store
//! confirms the object's row is unchanged (crates/graph/src/rendered.rs). Whatever changes the
//! object, on this node or another one sharing the store, is seen by the very next read; the
//! kept body never crosses tenants, types, API versions or query options.

use axum::http::{Method, StatusCode};
use cerulean::app::App;
use serde_json::{Value, json};

use crate::harness::{Harness, PUBLIC_URL, id_of, via};

#[tokio::test]
async fn every_change_is_seen_by_the_next_read() {
    let h = Harness::new().await;
    let id = id_of(&h.user("kept", "Kept").await);
    let path = format!("/v1.0/users/{id}");
    let first = h.get(&path).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    let again = h.get(&path).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.text, first.text, "a repeated read answers the same body");
    assert_eq!(again.headers.get("content-type"), first.headers.get("content-type"));
    assert_eq!(again.json["@odata.context"], json!(format!("{PUBLIC_URL}/v1.0/$metadata#users/$entity")));

    // Two updates in a row (two versions), each seen at once.
    let r = h.patch(&path, json!({"displayName": "Kept 2"})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(h.get(&path).await.json["displayName"], "Kept 2");
    let r = h.patch(&path, json!({"jobTitle": "Engineer"})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let now = h.get(&path).await;
    assert_eq!((&now.json["displayName"], &now.json["jobTitle"]), (&json!("Kept 2"), &json!("Engineer")));

    // Query options are honoured while a default body is kept.
    let r = h.get(&format!("{path}?$select=displayName")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["displayName"], "Kept 2");
    assert!(r.json.get("jobTitle").is_none(), "{}", r.text);
    assert!(r.json["@odata.context"].as_str().expect("context").ends_with("users(displayName)/$entity"));
    // The principal name finds the same (current) object.
    let upn = now.json["userPrincipalName"].as_str().expect("upn").to_string();
    assert_eq!(h.get(&format!("/v1.0/users/{upn}")).await.json["jobTitle"], "Engineer");

    // Deleted: gone at once; restored: back, with what it had.
    assert_eq!(h.delete(&path).await.status, StatusCode::NO_CONTENT);
    let r = h.get(&path).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    assert_eq!(h.get(&path).await.status, StatusCode::NOT_FOUND);
    let r = h.post(&format!("/v1.0/directory/deletedItems/{id}/restore"), json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let back = h.get(&path).await;
    assert_eq!(back.status, StatusCode::OK, "{}", back.text);
    assert_eq!(back.json["displayName"], "Kept 2");
    assert!(back.json.get("deletedDateTime").is_none_or(Value::is_null), "{}", back.text);
}

#[tokio::test]
async fn a_write_on_another_node_is_seen_by_the_next_read() {
    let h = Harness::new().await;
    let other = App::new(h.other_store().await, PUBLIC_URL);
    other.set_ready();
    let id = id_of(&h.user("shared", "Shared").await);
    let path = format!("/v1.0/users/{id}");
    // Both nodes keep the body.
    for _ in 0..2 {
        assert_eq!(h.get(&path).await.json["displayName"], "Shared");
        assert_eq!(via(&other, &h.token, Method::GET, &path, None).await.1["displayName"], "Shared");
    }

    // An update on the other node; this node's very next read sees it, and the other way round.
    let (status, body) = via(&other, &h.token, Method::PATCH, &path, Some(json!({"displayName": "There"}))).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(h.get(&path).await.json["displayName"], "There");
    assert_eq!(h.patch(&path, json!({"displayName": "Here"})).await.status, StatusCode::NO_CONTENT);
    assert_eq!(via(&other, &h.token, Method::GET, &path, None).await.1["displayName"], "Here");

    // A deletion on the other node.
    let (status, _) = via(&other, &h.token, Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(h.get(&path).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_kept_body_stays_with_its_set_version_and_tenant() {
    let h = Harness::new().await;
    let user = id_of(&h.user("one", "One").await);
    let group = id_of(&h.group("grp", "Grp").await);
    // Kept under users and groups; neither is found through the other set.
    assert_eq!(h.get(&format!("/v1.0/users/{user}")).await.status, StatusCode::OK);
    let g = h.get(&format!("/v1.0/groups/{group}")).await;
    assert_eq!(g.status, StatusCode::OK, "{}", g.text);
    assert_eq!(h.get(&format!("/v1.0/groups/{group}")).await.text, g.text);
    assert_eq!(h.get(&format!("/v1.0/users/{group}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(h.get(&format!("/v1.0/groups/{user}")).await.status, StatusCode::NOT_FOUND);
    // beta has its own context.
    let beta = h.get(&format!("/beta/users/{user}")).await;
    assert_eq!(beta.status, StatusCode::OK, "{}", beta.text);
    assert_eq!(beta.json["@odata.context"], json!(format!("{PUBLIC_URL}/beta/$metadata#users/$entity")));
    let v1 = h.get(&format!("/v1.0/users/{user}")).await;
    assert_eq!(v1.json["@odata.context"], json!(format!("{PUBLIC_URL}/v1.0/$metadata#users/$entity")));

    // Another tenant on the same node does not see the kept body.
    let other = h
        .app
        .directory
        .bootstrap_tenant(cerulean_directory::BootstrapRequest {
            tenant_domain: "woodgrove.onmicrosoft.com".into(),
            tenant_display_name: "Woodgrove".into(),
            admin_password: "xWwvJ]6NMw+bWH-d".into(),
            client_secret_hash: cerulean_identity::secrets::hash_secret("woodgrove-secret-value-with-enough-length"),
            client_secret_hint: "woo".into(),
            app_permissions: vec!["User.ReadWrite.All".into(), "Directory.ReadWrite.All".into()],
        })
        .await
        .expect("second tenant");
    let r = h
        .form(
            &format!("/{}/oauth2/v2.0/token", other.tenant.id),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &other.client_id.to_string()),
                ("client_secret", "woodgrove-secret-value-with-enough-length"),
                ("scope", "https://graph.microsoft.com/.default"),
            ],
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let token_b = r.json["access_token"].as_str().expect("token").to_string();
    let r = h.graph_with(Method::GET, &format!("/v1.0/users/{user}"), None, &token_b, &[]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    assert_eq!(h.get(&format!("/v1.0/users/{user}")).await.json["displayName"], "One");
}
