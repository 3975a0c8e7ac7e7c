//! Azure AD Graph differential query over HTTP: `deltaLink` rounds on users, groups and
//! directoryObjects, `aad.nextLink` / `aad.deltaLink`, `aad.isDeleted`, `DirectoryLinkChange`
//! entries, "sync from now", and the errors — fed by the same change log as Graph delta.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::aadgraph::{aad, aad_token, code};
use crate::harness::{Harness, Reply, id_of};

/// Follows an absolute `aad.nextLink` / `aad.deltaLink` (the client appends `api-version`).
async fn follow(h: &Harness, t: &str, link: &str, headers: &[(&str, &str)]) -> Reply {
    let path = link.strip_prefix("https://cerulean.test").unwrap_or_else(|| panic!("absolute link: {link}"));
    h.graph_with(Method::GET, &format!("{path}&api-version=1.6"), None, t, headers).await
}

fn values(r: &Reply) -> Vec<Value> {
    r.json["value"].as_array().cloned().unwrap_or_default()
}

fn object<'a>(items: &'a [Value], id: &str) -> Option<&'a Value> {
    items.iter().find(|v| v["objectId"] == id)
}

fn link_changes(items: &[Value]) -> Vec<&Value> {
    items.iter().filter(|v| v["objectType"] == "DirectoryLinkChange").collect()
}

#[tokio::test]
async fn users_and_groups_rounds_report_changes_links_and_deletions() {
    let h = Harness::new().await;
    let t = aad_token(&h).await;
    let alice = id_of(&h.user("dq-alice", "DQ Alice").await);
    let bob = id_of(&h.user("dq-bob", "DQ Bob").await);
    let group = id_of(&h.group("dq-group", "DQ Group").await);
    let r = h
        .post(
            &format!("/v1.0/groups/{group}/members/$ref"),
            json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{alice}")}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = h
        .graph(
            Method::PUT,
            &format!("/v1.0/users/{bob}/manager/$ref"),
            Some(json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/users/{alice}")})),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);

    // Initial round on users: the current state, then a deltaLink.
    let r = aad(&h, &t, Method::GET, "users?deltaLink=", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.json.get("aad.nextLink").is_none(), "{}", r.text);
    assert!(r.json["odata.metadata"].as_str().expect("md").ends_with("$metadata#users"), "{}", r.text);
    let users_link = r.json["aad.deltaLink"].as_str().expect("deltaLink").to_string();
    assert!(users_link.starts_with(&format!("https://cerulean.test/{}/users?deltaLink=", h.boot.tenant_id)));
    let items = values(&r);
    let a = object(&items, &alice).expect("alice");
    assert_eq!(a["odata.type"], "Microsoft.DirectoryServices.User");
    assert_eq!(a["displayName"], "DQ Alice");
    // Bob's manager link.
    let manager = link_changes(&items);
    assert_eq!(manager.len(), 1, "{}", r.text);
    assert_eq!(manager[0]["associationType"], "Manager");
    assert_eq!(manager[0]["sourceObjectId"], bob);
    assert_eq!(manager[0]["targetObjectId"], alice);
    assert_eq!(manager[0]["targetObjectType"], "User");

    // Initial round on groups: the group and its member link.
    let r = aad(&h, &t, Method::GET, "groups?deltaLink=", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let groups_link = r.json["aad.deltaLink"].as_str().expect("deltaLink").to_string();
    let items = values(&r);
    assert_eq!(object(&items, &group).expect("group")["objectType"], "Group");
    let links = link_changes(&items);
    assert_eq!(links.len(), 1, "{}", r.text);
    let l = links[0];
    assert_eq!(l["odata.type"], "Microsoft.DirectoryServices.DirectoryLinkChange");
    assert_eq!(l["objectId"], "00000000-0000-0000-0000-000000000000");
    assert_eq!(l["associationType"], "Member");
    assert_eq!(l["sourceObjectId"], group);
    assert_eq!(l["sourceObjectType"], "Group");
    assert_eq!(l["sourceObjectUri"], format!("https://cerulean.test/{}/groups/{group}", h.boot.tenant_id));
    assert_eq!(l["targetObjectId"], alice);
    assert_eq!(l["targetObjectUri"], format!("https://cerulean.test/{}/users/{alice}", h.boot.tenant_id));
    assert!(l.get("aad.isDeleted").is_none());

    // Nothing changed: an empty page and a deltaLink again.
    let r = follow(&h, &t, &users_link, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(values(&r).len(), 0, "{}", r.text);
    let users_link = r.json["aad.deltaLink"].as_str().expect("deltaLink").to_string();

    // Changes through v1.0: an update, a deletion, a removed member link.
    assert_eq!(
        h.patch(&format!("/v1.0/users/{alice}"), json!({"jobTitle": "Boss"})).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(h.delete(&format!("/v1.0/users/{bob}")).await.status, StatusCode::NO_CONTENT);
    let r = h.delete(&format!("/v1.0/groups/{group}/members/{alice}/$ref")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);

    let r = follow(&h, &t, &users_link, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let items = values(&r);
    assert_eq!(object(&items, &alice).expect("alice")["jobTitle"], "Boss");
    let gone = object(&items, &bob).expect("bob");
    assert_eq!(gone["aad.isDeleted"], true, "{}", r.text);
    assert_eq!(gone["objectType"], "User");
    assert!(r.json.get("aad.deltaLink").is_some());

    let r = follow(&h, &t, &groups_link, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let items = values(&r);
    let links = link_changes(&items);
    assert_eq!(links.len(), 1, "{}", r.text);
    assert_eq!(links[0]["targetObjectId"], alice);
    assert_eq!(links[0]["aad.isDeleted"], true);

    // The same tokens through v1.0 delta are a different API: the 1.6 token is not a Graph token.
    let r = h.get(&format!("/v1.0/users/delta?$deltatoken={}", users_link.rsplit('=').next().expect("token"))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
}

#[tokio::test]
async fn directory_objects_rounds_page_type_by_type() {
    let h = Harness::new().await;
    let t = aad_token(&h).await;
    let user = id_of(&h.user("dq-objects", "DQ Objects").await);
    let group = id_of(&h.group("dq-objects-group", "DQ Objects Group").await);

    let filter = "isof('Microsoft.DirectoryServices.User') or isof('Microsoft.DirectoryServices.Group') or isof('Microsoft.DirectoryServices.Contact')";
    let r = aad(&h, &t, Method::GET, &format!("directoryObjects?$filter={filter}&deltaLink="), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.json["odata.metadata"].as_str().expect("md").ends_with("$metadata#directoryObjects"));
    assert!(object(&values(&r), &user).is_some(), "{}", r.text);
    assert!(object(&values(&r), &group).is_none(), "{}", r.text);
    let next = r.json["aad.nextLink"].as_str().expect("nextLink: the groups follow").to_string();
    assert!(r.json.get("aad.deltaLink").is_none());
    let r = follow(&h, &t, &next, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(object(&values(&r), &group).is_some(), "{}", r.text);
    let delta = r.json["aad.deltaLink"].as_str().expect("deltaLink").to_string();
    assert!(delta.contains("/directoryObjects?deltaLink="), "{delta}");

    // Later changes of both types come through the one token.
    assert_eq!(
        h.patch(&format!("/v1.0/groups/{group}"), json!({"description": "changed"})).await.status,
        StatusCode::NO_CONTENT
    );
    let mut seen = Vec::new();
    let mut link = delta;
    loop {
        let r = follow(&h, &t, &link, &[]).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        seen.extend(values(&r));
        match (r.json["aad.nextLink"].as_str(), r.json["aad.deltaLink"].as_str()) {
            (Some(n), None) => link = n.to_string(),
            (None, Some(_)) => break,
            _ => panic!("exactly one link: {}", r.text),
        }
    }
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0]["objectId"], group);
    assert_eq!(seen[0]["description"], "changed");

    // One type only; qualified $select.
    let r = aad(
        &h,
        &t,
        Method::GET,
        "directoryObjects?$filter=isof('Microsoft.DirectoryServices.Group')&$select=Group/displayName&deltaLink=",
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.json.get("aad.deltaLink").is_some(), "{}", r.text);
    let g = object(&values(&r), &group).cloned().expect("group");
    assert_eq!(g["displayName"], "DQ Objects Group");
    assert!(g.get("description").is_none(), "{g}");
    assert!(values(&r).iter().all(|v| v["objectType"] != "User"));
}

#[tokio::test]
async fn select_sync_from_now_and_errors() {
    let h = Harness::new().await;
    let t = aad_token(&h).await;
    let user = id_of(&h.user("dq-select", "DQ Select").await);

    // $select with 1.6 names.
    let r = aad(&h, &t, Method::GET, "users?$select=displayName,mobile&deltaLink=", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let u = object(&values(&r), &user).cloned().expect("user");
    let mut keys: Vec<&str> = u.as_object().expect("object").keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, vec!["deletionTimestamp", "displayName", "mobile", "objectId", "objectType", "odata.type"]);

    // Sync from now: only a deltaLink, then only later changes.
    let now = [("ocp-aad-dq-include-only-delta-token", "true")];
    let r = h.graph_with(Method::GET, &crate::aadgraph::url(&h, "users?deltaLink="), None, &t, &now).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(values(&r).len(), 0, "{}", r.text);
    let link = r.json["aad.deltaLink"].as_str().expect("deltaLink").to_string();
    let later = id_of(&h.user("dq-later", "DQ Later").await);
    let r = follow(&h, &t, &link, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let items = values(&r);
    assert_eq!(items.len(), 1, "{}", r.text);
    assert_eq!(items[0]["objectId"], later);

    // Errors.
    let r = aad(&h, &t, Method::GET, "users?deltaLink=AQ-not-a-token", None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(code(&r), "Request_BadRequest");
    let token = link.rsplit("deltaLink=").next().expect("token");
    let r = aad(&h, &t, Method::GET, &format!("groups?deltaLink={token}"), None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "a users token is not a groups token: {}", r.text);
    let r = aad(&h, &t, Method::GET, "users?$top=5&deltaLink=", None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(code(&r), "Request_UnsupportedQuery");
    let r =
        aad(&h, &t, Method::GET, "directoryObjects?$filter=isof('Microsoft.DirectoryServices.Nope')&deltaLink=", None)
            .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = aad(&h, &t, Method::GET, "directoryObjects?$filter=displayName eq 'x'&deltaLink=", None).await;
    assert_eq!(code(&r), "Request_UnsupportedQuery", "{}", r.text);
    let r = aad(&h, &t, Method::GET, "directoryObjects?$select=displayName&deltaLink=", None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "unqualified on directoryObjects: {}", r.text);
    let r = aad(&h, &t, Method::GET, "applications?deltaLink=", None).await;
    assert_eq!(code(&r), "Request_UnsupportedQuery", "{}", r.text);
    // Permissions: a groups-only token reads group changes, not user changes.
    let mut claims = h.claims(&["Group.Read.All"]);
    claims["aud"] = json!("https://graph.windows.net");
    let groups_only = h.sign(claims).await;
    assert_eq!(aad(&h, &groups_only, Method::GET, "groups?deltaLink=", None).await.status, StatusCode::OK);
    assert_eq!(aad(&h, &groups_only, Method::GET, "users?deltaLink=", None).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_large_round_pages_with_next_links() {
    let h = Harness::new().await;
    let t = aad_token(&h).await;
    let mut created = Vec::new();
    for i in 0..205 {
        created.push(id_of(&h.group(&format!("dq-page-{i}"), &format!("DQ Page {i}")).await));
    }
    let r = aad(&h, &t, Method::GET, "groups?deltaLink=", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // At most 200 objects per page ("Zero to 200 DirectoryObject entities").
    assert_eq!(values(&r).len(), 200);
    assert!(r.json.get("aad.deltaLink").is_none());
    let next = r.json["aad.nextLink"].as_str().expect("nextLink").to_string();
    let mut seen: Vec<String> = values(&r).iter().filter_map(|v| v["objectId"].as_str().map(str::to_string)).collect();
    let r = follow(&h, &t, &next, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.json["aad.deltaLink"].is_string(), "{}", r.text);
    seen.extend(values(&r).iter().filter_map(|v| v["objectId"].as_str().map(str::to_string)));
    for id in &created {
        assert!(seen.contains(id), "{id} missing");
    }
}

#[tokio::test]
async fn only_changed_properties_on_request() {
    let h = Harness::new().await;
    let t = aad_token(&h).await;
    let user = id_of(&h.user("dq-changed", "DQ Changed").await);
    let r = aad(&h, &t, Method::GET, "users?deltaLink=", None).await;
    let link = r.json["aad.deltaLink"].as_str().expect("deltaLink").to_string();
    let body = json!({"jobTitle": "Changed", "mobilePhone": "+1 555", "businessPhones": ["+1 444"]});
    assert_eq!(h.patch(&format!("/v1.0/users/{user}"), body).await.status, StatusCode::NO_CONTENT);
    let newcomer = id_of(&h.user("dq-new", "DQ New").await);
    let only = [("ocp-aad-dq-include-only-changed-properties", "true")];
    let r = follow(&h, &t, &link, &only).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let items = values(&r);
    let changed = object(&items, &user).expect("changed user");
    let mut keys: Vec<&str> = changed.as_object().expect("object").keys().map(String::as_str).collect();
    keys.sort_unstable();
    // 1.6 names of what changed: `mobile` over mobilePhone, `telephoneNumber` over businessPhones.
    assert_eq!(
        keys,
        vec!["jobTitle", "mobile", "objectId", "objectType", "odata.type", "telephoneNumber"],
        "{changed}"
    );
    assert_eq!(changed["telephoneNumber"], "+1 444");
    // A new object is reported whole.
    assert_eq!(object(&items, &newcomer).expect("new")["displayName"], "DQ New");
    // Without the header, the whole object.
    let r = follow(&h, &t, &link, &[]).await;
    assert_eq!(object(&values(&r), &user).expect("user")["displayName"], "DQ Changed");
}
