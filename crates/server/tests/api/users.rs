//! `/users`: create, read, update, delete, restore, with Entra's validation.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::harness::{Harness, PUBLIC_URL, id_of, user_body};

#[tokio::test]
async fn create_returns_201_with_location_and_default_shape() {
    let h = Harness::new().await;
    let r = h.post("/v1.0/users", user_body("adele", "Adele Vance")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = id_of(&r.json);
    assert_eq!(r.headers["location"], format!("{PUBLIC_URL}/v1.0/users/{id}").as_str());
    assert_eq!(r.json["@odata.context"], format!("{PUBLIC_URL}/v1.0/$metadata#users/$entity"));
    assert!(r.json.get("passwordProfile").is_none());
    let mut keys: Vec<&str> = r.json.as_object().expect("object").keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        vec![
            "@odata.context",
            "businessPhones",
            "displayName",
            "givenName",
            "id",
            "jobTitle",
            "mail",
            "mobilePhone",
            "officeLocation",
            "preferredLanguage",
            "surname",
            "userPrincipalName"
        ]
    );
}

#[tokio::test]
async fn get_by_id_upn_and_encoded_upn() {
    let h = Harness::new().await;
    let u = h.user("megan", "Megan Bowen").await;
    let id = id_of(&u);
    for path in [
        format!("/v1.0/users/{id}"),
        "/v1.0/users/megan@contoso.onmicrosoft.com".to_string(),
        "/v1.0/users/MEGAN@Contoso.onmicrosoft.com".to_string(),
        "/v1.0/users/megan%40contoso.onmicrosoft.com".to_string(),
    ] {
        let r = h.get(&path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
        assert_eq!(r.json["id"], id.as_str());
    }
    let r = h.get(&format!("/v1.0/users/{id}?$select=displayName,accountEnabled,createdDateTime")).await;
    assert_eq!(
        r.json["@odata.context"],
        format!("{PUBLIC_URL}/v1.0/$metadata#users(displayName,accountEnabled,createdDateTime)/$entity")
    );
    assert_eq!(r.json["accountEnabled"], true);
    assert!(r.json["createdDateTime"].as_str().is_some_and(|s| s.ends_with('Z')));
    assert!(r.json.get("userPrincipalName").is_none());
    let r = h.get(&format!("/v1.0/users/{id}?$select=passwordProfile")).await;
    assert_eq!(r.json["passwordProfile"], Value::Null, "passwordProfile is never returned: {}", r.text);
    let r = h.get("/v1.0/users('megan@contoso.onmicrosoft.com')").await;
    assert_eq!(r.json["id"], id.as_str(), "key-in-parentheses addressing: {}", r.text);
    let r = h.get("/v1.0/users/nobody@contoso.onmicrosoft.com").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.code(), "Request_ResourceNotFound");
    let r = h.get(&format!("/v1.0/users/{}", uuid::Uuid::new_v4())).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn create_validation() {
    let h = Harness::new().await;
    for field in ["accountEnabled", "displayName", "mailNickname", "userPrincipalName", "passwordProfile"] {
        let mut body = user_body("req", "Required");
        body.as_object_mut().expect("obj").remove(field);
        let r = h.post("/v1.0/users", body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{field}");
        assert_eq!(r.code(), "Request_BadRequest", "{field}");
        assert!(r.message().contains(field), "{field}: {}", r.message());
    }
    let mut body = user_body("dom", "Domain");
    body["userPrincipalName"] = json!("dom@fabrikam.com");
    let r = h.post("/v1.0/users", body).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.message().contains("verified domain"), "{}", r.message());

    for bad in ["no-at-sign", ".lead@contoso.onmicrosoft.com", "sp ace@contoso.onmicrosoft.com"] {
        let mut body = user_body("bad", "Bad");
        body["userPrincipalName"] = json!(bad);
        let r = h.post("/v1.0/users", body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}");
    }

    let mut body = user_body("weak", "Weak");
    body["passwordProfile"]["password"] = json!("password");
    let r = h.post("/v1.0/users", body).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.message().contains("password complexity"), "{}", r.message());

    let mut body = user_body("unknown", "Unknown");
    body["favouriteColour"] = json!("blue");
    let r = h.post("/v1.0/users", body).await;
    assert_eq!(r.code(), "Request_BadRequest");
    assert!(r.message().contains("'favouriteColour'"), "{}", r.message());

    let mut body = user_body("ro", "Read Only");
    body["createdDateTime"] = json!("2020-01-01T00:00:00Z");
    let r = h.post("/v1.0/users", body).await;
    assert_eq!(r.code(), "Request_BadRequest");
    assert!(r.message().contains("createdDateTime"), "{}", r.message());

    for (field, value) in [
        ("accountEnabled", json!("yes")),
        ("displayName", json!("x".repeat(257))),
        ("businessPhones", json!(["+1 555 0100", "+1 555 0101"])),
        ("usageLocation", json!("ZZZ")),
        ("otherMails", json!(["a".repeat(5000)])),
    ] {
        let mut body = user_body("typed", "Typed");
        body[field] = value;
        let r = h.post("/v1.0/users", body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{field}");
        assert!(r.message().contains(field), "{field}: {}", r.message());
    }

    let r = h.graph(axum::http::Method::POST, "/v1.0/users", None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = h
        .send(
            axum::http::Request::post("/v1.0/users")
                .header("authorization", format!("Bearer {}", h.token))
                .header("content-type", "application/json")
                .body(axum::body::Body::from("{not json"))
                .expect("req"),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    // Nothing of the refused requests was created.
    let all = h.get("/v1.0/users?$top=999").await;
    assert_eq!(all.json["value"].as_array().expect("value").len(), 1, "only the admin");
}

#[tokio::test]
async fn upn_is_unique_case_insensitively() {
    let h = Harness::new().await;
    h.user("dup", "Dup").await;
    let mut body = user_body("dup2", "Dup 2");
    body["userPrincipalName"] = json!("DUP@contoso.onmicrosoft.com");
    let r = h.post("/v1.0/users", body).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.message(), "Another object with the same value for property userPrincipalName already exists.");
    assert_eq!(r.json["error"]["details"], json!([{"target": "userPrincipalName", "code": "ObjectConflict"}]));
}

#[tokio::test]
async fn update_and_read_back() {
    let h = Harness::new().await;
    let u = h.user("patch", "Patch Me").await;
    let id = id_of(&u);
    let r = h
        .patch(
            &format!("/v1.0/users/{id}"),
            json!({"jobTitle": "Engineer", "displayName": "Patched", "businessPhones": ["+1 555 0100"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = h.get(&format!("/v1.0/users/{id}")).await;
    assert_eq!(r.json["jobTitle"], "Engineer");
    assert_eq!(r.json["displayName"], "Patched");
    assert_eq!(r.json["businessPhones"], json!(["+1 555 0100"]));
    // null clears.
    let r = h.patch(&format!("/v1.0/users/{id}"), json!({"jobTitle": null})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(h.get(&format!("/v1.0/users/{id}")).await.json["jobTitle"], Value::Null);
    // UPN change is checked and re-claimed.
    h.user("taken", "Taken").await;
    let r = h.patch(&format!("/v1.0/users/{id}"), json!({"userPrincipalName": "taken@contoso.onmicrosoft.com"})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r =
        h.patch(&format!("/v1.0/users/{id}"), json!({"userPrincipalName": "renamed@contoso.onmicrosoft.com"})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(h.get("/v1.0/users/renamed@contoso.onmicrosoft.com").await.status, StatusCode::OK);
    assert_eq!(h.get("/v1.0/users/patch@contoso.onmicrosoft.com").await.status, StatusCode::NOT_FOUND);
    // Validation on PATCH too.
    let r = h.patch(&format!("/v1.0/users/{id}"), json!({"id": "x"})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = h.patch(&format!("/v1.0/users/{id}"), json!({"displayName": ""})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = h.patch(&format!("/v1.0/users/{id}"), json!({"passwordProfile": {"password": "short"}})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = h.patch(&format!("/v1.0/users/{id}"), json!({"passwordProfile": {"password": "N3w-Passw0rd!!"}})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let verified = h
        .app
        .directory
        .verify_user_password(h.tenant(), "renamed@contoso.onmicrosoft.com", "N3w-Passw0rd!!")
        .await
        .expect("verify");
    assert!(verified.is_some(), "the new password is the one that works");
    let old = h
        .app
        .directory
        .verify_user_password(h.tenant(), "renamed@contoso.onmicrosoft.com", "xWwvJ]6NMw+bWH-d")
        .await
        .expect("verify");
    assert!(old.is_none(), "the old password no longer works");
    let r = h.patch(&format!("/v1.0/users/{}", uuid::Uuid::new_v4()), json!({"jobTitle": "x"})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn soft_delete_restore_and_purge() {
    let h = Harness::new().await;
    let u = h.user("gone", "Gone Soon").await;
    let id = id_of(&u);
    let g = h.group("keepers", "Keepers").await;
    let gid = id_of(&g);
    let add = h
        .post(
            &format!("/v1.0/groups/{gid}/members/$ref"),
            json!({"@odata.id": format!("{PUBLIC_URL}/v1.0/directoryObjects/{id}")}),
        )
        .await;
    assert_eq!(add.status, StatusCode::NO_CONTENT);

    assert_eq!(h.delete(&format!("/v1.0/users/{id}")).await.status, StatusCode::NO_CONTENT);
    assert_eq!(h.get(&format!("/v1.0/users/{id}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(h.delete(&format!("/v1.0/users/{id}")).await.status, StatusCode::NOT_FOUND);
    let members = h.get(&format!("/v1.0/groups/{gid}/members")).await;
    assert_eq!(members.json["value"].as_array().expect("value").len(), 0, "a deleted member is hidden");

    let deleted = h.get("/v1.0/directory/deletedItems/microsoft.graph.user").await;
    assert_eq!(deleted.status, StatusCode::OK);
    let item = deleted.json["value"]
        .as_array()
        .expect("value")
        .iter()
        .find(|u| u["id"] == id.as_str())
        .cloned()
        .expect("listed");
    assert!(item["deletedDateTime"].is_string());
    let one = h.get(&format!("/v1.0/directory/deletedItems/{id}")).await;
    assert_eq!(one.json["@odata.type"], "#microsoft.graph.user");

    // The UPN is free while the user is deleted; taking it blocks the restore.
    let squatter = h.user("gone", "Squatter").await;
    let r = h.post(&format!("/v1.0/directory/deletedItems/{id}/restore"), json!({})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = h
        .post(
            &format!("/v1.0/directory/deletedItems/{id}/restore"),
            json!({"newUserPrincipalName": "gone@fabrikam.com"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "the new UPN must be in a verified domain");
    assert_eq!(h.delete(&format!("/v1.0/users/{}", id_of(&squatter))).await.status, StatusCode::NO_CONTENT);
    let r = h.post(&format!("/v1.0/directory/deletedItems/{id}/restore"), json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["id"], id.as_str());
    assert_eq!(h.get(&format!("/v1.0/users/{id}")).await.status, StatusCode::OK);
    let members = h.get(&format!("/v1.0/groups/{gid}/members")).await;
    assert_eq!(members.json["value"][0]["id"], id.as_str(), "membership comes back with the restore");

    // Restoring under a new UPN.
    assert_eq!(h.delete(&format!("/v1.0/users/{id}")).await.status, StatusCode::NO_CONTENT);
    let taker = h.user("gone", "Taker").await;
    let r = h
        .post(
            &format!("/v1.0/directory/deletedItems/{id}/restore"),
            json!({"newUserPrincipalName": "gone2@contoso.onmicrosoft.com", "autoReconcileProxyConflict": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(h.get("/v1.0/users/gone2@contoso.onmicrosoft.com").await.json["id"], id.as_str());
    assert_eq!(h.get("/v1.0/users/gone@contoso.onmicrosoft.com").await.json["id"], taker["id"]);

    // Purge.
    assert_eq!(h.delete(&format!("/v1.0/users/{id}")).await.status, StatusCode::NO_CONTENT);
    assert_eq!(h.delete(&format!("/v1.0/directory/deletedItems/{id}")).await.status, StatusCode::NO_CONTENT);
    assert_eq!(h.get(&format!("/v1.0/directory/deletedItems/{id}")).await.status, StatusCode::NOT_FOUND);
    let r = h.post(&format!("/v1.0/directory/deletedItems/{id}/restore"), json!({})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn writes_are_audited_and_logged() {
    let h = Harness::new().await;
    let before = h.store.changes_since(h.tenant(), 0, 10_000).await.expect("changes").len();
    let r = h
        .graph_with(
            axum::http::Method::POST,
            "/v1.0/users",
            Some(user_body("audited", "Audited")),
            &h.token,
            &[("client-request-id", "corr-audit-1")],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let id = id_of(&r.json);
    let after = h.store.changes_since(h.tenant(), 0, 10_000).await.expect("changes");
    assert!(after.len() > before);
    assert!(after.iter().any(|c| c.object_id.to_string() == id && c.kind == "created"));
    let audits = h.store.audit_records(h.tenant(), 10).await.expect("audit");
    let rec = audits.iter().find(|a| a.activity == "Add user").expect("audited");
    assert_eq!(rec.correlation_id.as_deref(), Some("corr-audit-1"));
    assert_eq!(rec.actor.kind, "app");
    assert_eq!(rec.targets[0].id.to_string(), id);
    let text = serde_json::to_string(rec).expect("json");
    assert!(!text.contains("xWwvJ]6NMw+bWH-d"), "no password in the audit log");
    assert!(rec.targets[0].modified.iter().any(|m| m.name == "displayName" && m.new_value == "Audited"));

    h.patch(&format!("/v1.0/users/{id}"), json!({"displayName": "Renamed"})).await;
    let audits = h.store.audit_records(h.tenant(), 10).await.expect("audit");
    let upd = audits.iter().find(|a| a.activity == "Update user").expect("update audited");
    let m = upd.targets[0].modified.iter().find(|m| m.name == "displayName").expect("modified");
    assert_eq!((m.old_value.clone(), m.new_value.clone()), (json!("Audited"), json!("Renamed")));
}
