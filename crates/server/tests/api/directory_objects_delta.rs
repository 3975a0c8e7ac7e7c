//! `GET /directoryObjects/delta` ("directoryObject: delta"): one round over several types,
//! `isof` and `id eq` filters, `@odata.type` on every item, removals, paging across types,
//! `$select` over several types, permissions per tracked type, and the filter errors.

use std::collections::BTreeMap;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{Harness, PUBLIC_URL, Reply, id_of};

fn path_of(link: &str) -> String {
    link.strip_prefix(PUBLIC_URL).unwrap_or_else(|| panic!("link {link} is not absolute on {PUBLIC_URL}")).to_string()
}

async fn get_paged(h: &Harness, path: &str, page: usize, token: &str) -> Reply {
    let prefer = format!("odata.maxpagesize={page}");
    h.graph_with(Method::GET, path, None, token, &[("Prefer", &prefer)]).await
}

/// Follows a round to its end: items by id (a later one replaces an earlier one), the number
/// of pages and the deltaLink path.
async fn round(h: &Harness, start: &str, page: usize) -> (BTreeMap<String, Value>, usize, String) {
    let mut items = BTreeMap::new();
    let mut path = start.to_string();
    for pages in 1..200 {
        let r = get_paged(h, &path, page, &h.token).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
        assert_eq!(r.json["@odata.context"].as_str().map(|c| c.contains("$metadata#directoryObjects")), Some(true));
        let value = r.json["value"].as_array().expect("value").clone();
        assert!(value.len() <= page, "a page holds at most the preferred size");
        for item in value {
            assert!(item["@odata.type"].is_string(), "every item says its type: {item}");
            items.insert(id_of(&item), item);
        }
        let next = r.json["@odata.nextLink"].as_str();
        let delta = r.json["@odata.deltaLink"].as_str();
        assert!(next.is_some() != delta.is_some(), "exactly one of nextLink and deltaLink: {}", r.text);
        match (next, delta) {
            (Some(n), _) => {
                assert!(n.starts_with(&format!("{PUBLIC_URL}/v1.0/directoryObjects/delta?$skiptoken=")), "{n}");
                path = path_of(n);
            }
            (_, Some(d)) => {
                assert!(d.starts_with(&format!("{PUBLIC_URL}/v1.0/directoryObjects/delta?$deltatoken=")), "{d}");
                return (items, pages, path_of(d));
            }
            _ => unreachable!(),
        }
    }
    panic!("the round did not end");
}

fn odata_type(items: &BTreeMap<String, Value>, id: &str) -> Option<String> {
    items.get(id).and_then(|i| i["@odata.type"].as_str()).map(str::to_string)
}

fn encode(filter: &str) -> String {
    filter.replace(' ', "%20").replace('\'', "%27")
}

async fn device(h: &Harness, name: &str) -> String {
    let admin = crate::devices::admin_delegated(h).await;
    let r = h
        .graph_with(Method::POST, "/v1.0/devices", Some(crate::devices::device_body(name, "Linux")), &admin, &[])
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    id_of(&r.json)
}

#[tokio::test]
async fn directory_objects_delta_spans_types_with_their_odata_type() {
    let h = Harness::new().await;
    let mut users = vec![];
    for i in 0..4 {
        users.push(id_of(&h.user(&format!("do{i}"), &format!("Do {i}")).await));
    }
    let mut groups = vec![];
    for i in 0..3 {
        groups.push(id_of(&h.group(&format!("dg{i}"), &format!("Dg {i}")).await));
    }
    let dev = device(&h, "laptop").await;

    // Users and groups in one round, paged across both types.
    let filter = encode("isof('microsoft.graph.user') or isof('microsoft.graph.group')");
    let start = format!("/v1.0/directoryObjects/delta?$filter={filter}");
    let (items, pages, delta) = round(&h, &start, 2).await;
    assert!(pages >= 4, "five users and three groups in pages of two");
    for u in &users {
        assert_eq!(odata_type(&items, u).as_deref(), Some("#microsoft.graph.user"));
        assert!(items[u]["userPrincipalName"].is_string(), "a user in its default shape");
    }
    for g in &groups {
        assert_eq!(odata_type(&items, g).as_deref(), Some("#microsoft.graph.group"));
        assert!(items[g]["mailNickname"].is_string());
    }
    assert!(!items.contains_key(&dev), "devices are not tracked by this round");
    assert_eq!(items.len(), 8, "four users, the administrator, three groups");

    // Nothing changed: an empty later round.
    let r = h.get(&delta).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["value"], json!([]));

    // Changes of both types, removals with their type and reason; a device change is not ours.
    assert_eq!(
        h.patch(&format!("/v1.0/users/{}", users[0]), json!({"displayName": "Renamed"})).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(h.delete(&format!("/v1.0/users/{}", users[1])).await.status, StatusCode::NO_CONTENT);
    // A security group is deleted for good (only Microsoft 365 groups go to the recycle bin).
    assert_eq!(h.delete(&format!("/v1.0/groups/{}", groups[0])).await.status, StatusCode::NO_CONTENT);
    assert_eq!(
        h.patch(&format!("/v1.0/groups/{}", groups[1]), json!({"description": "changed"})).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        h.patch(&format!("/v1.0/devices/{dev}"), json!({"displayName": "desktop"})).await.status,
        StatusCode::NO_CONTENT
    );
    let (changes, _, next_delta) = round(&h, &delta, 100).await;
    assert_eq!(changes.len(), 4, "{changes:?}");
    assert_eq!(changes[&users[0]]["displayName"], "Renamed");
    assert_eq!(changes[&users[0]]["@odata.type"], "#microsoft.graph.user");
    assert_eq!(
        changes[&users[1]],
        json!({"@odata.type": "#microsoft.graph.user", "id": users[1], "@removed": {"reason": "changed"}})
    );
    assert_eq!(
        changes[&groups[0]],
        json!({"@odata.type": "#microsoft.graph.group", "id": groups[0], "@removed": {"reason": "deleted"}})
    );
    assert_eq!(changes[&groups[1]]["description"], "changed");
    let r = h.get(&next_delta).await;
    assert_eq!(r.json["value"], json!([]), "{}", r.text);

    // One type; the SDK's function-call forms and /beta answer too.
    let filter = encode("isof('microsoft.graph.device')");
    for path in [
        format!("/v1.0/directoryObjects/delta?$filter={filter}"),
        format!("/v1.0/directoryObjects/microsoft.graph.delta()?$filter={filter}"),
        format!("/beta/directoryObjects/delta()?$filter={filter}"),
    ] {
        let r = h.get(&path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
        let value = r.json["value"].as_array().expect("value");
        assert_eq!(value.len(), 1, "{}", r.text);
        assert_eq!(value[0]["@odata.type"], "#microsoft.graph.device");
        assert_eq!(value[0]["displayName"], "desktop");
    }
}

#[tokio::test]
async fn directory_objects_delta_by_id_and_select() {
    let h = Harness::new().await;
    let a = id_of(&h.user("ida", "Id A").await);
    let b = id_of(&h.user("idb", "Id B").await);
    let g = id_of(&h.group("idg", "Id G").await);

    // Ids alone: any tracked type.
    let filter = encode(&format!("id eq '{a}' or id eq '{g}'"));
    let (items, _, delta) =
        round(&h, &format!("/v1.0/directoryObjects/delta?$filter={filter}&$select=displayName,mailNickname"), 10).await;
    assert_eq!(items.keys().cloned().collect::<Vec<_>>().len(), 2);
    assert_eq!(
        items[&a],
        json!({"@odata.type": "#microsoft.graph.user", "id": a, "displayName": "Id A", "mailNickname": "ida"})
    );
    assert_eq!(items[&g]["@odata.type"], "#microsoft.graph.group");
    assert_eq!(items[&g]["displayName"], "Id G");
    assert!(items[&g].get("userPrincipalName").is_none(), "$select limits the properties");

    // Changes to objects outside the filter, or to unselected properties, are not reported.
    h.patch(&format!("/v1.0/users/{b}"), json!({"displayName": "Other"})).await;
    h.patch(&format!("/v1.0/users/{a}"), json!({"jobTitle": "Unselected"})).await;
    h.patch(&format!("/v1.0/groups/{g}"), json!({"displayName": "Renamed G"})).await;
    let (changes, _, _) = round(&h, &delta, 10).await;
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[&g]["displayName"], "Renamed G");

    // isof and id combined: the objects of that type among the ids.
    let filter = encode(&format!("isof('microsoft.graph.user') or id eq '{a}' or id eq '{g}'"));
    let (items, _, _) = round(&h, &format!("/v1.0/directoryObjects/delta?$filter={filter}"), 10).await;
    assert_eq!(items.len(), 1, "{items:?}");
    assert!(items.contains_key(&a));

    // $deltatoken=latest: only a deltaLink; then the changes from now on.
    let filter = encode("isof('microsoft.graph.group')");
    let r = h.get(&format!("/v1.0/directoryObjects/delta?$filter={filter}&$deltatoken=latest")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["value"], json!([]));
    let latest = path_of(r.json["@odata.deltaLink"].as_str().expect("deltaLink"));
    let fresh = id_of(&h.group("fresh", "Fresh").await);
    let (changes, _, _) = round(&h, &latest, 10).await;
    assert_eq!(changes.keys().cloned().collect::<Vec<_>>(), vec![fresh]);
}

#[tokio::test]
async fn directory_objects_delta_filter_errors() {
    let h = Harness::new().await;
    // The filter is required.
    let r = h.get("/v1.0/directoryObjects/delta").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.code(), "Request_UnsupportedQuery");
    // Not isof or id eq.
    let r = h.get(&format!("/v1.0/directoryObjects/delta?$filter={}", encode("displayName eq 'x'"))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.code(), "Request_UnsupportedQuery");
    let r = h
        .get(&format!(
            "/v1.0/directoryObjects/delta?$filter={}",
            encode("isof('microsoft.graph.user') and isof('microsoft.graph.group')")
        ))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.code(), "Request_UnsupportedQuery");
    // A type that is not a directory object type.
    let r = h.get(&format!("/v1.0/directoryObjects/delta?$filter={}", encode("isof('microsoft.graph.nope')"))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.code(), "Request_BadRequest");
    assert!(r.message().contains("microsoft.graph.nope"), "{}", r.text);
    // A directory type Cerulean does not track.
    let r = h
        .get(&format!("/v1.0/directoryObjects/delta?$filter={}", encode("isof('microsoft.graph.directoryRole')")))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.code(), "Request_UnsupportedQuery");
    // A malformed id.
    let r = h.get(&format!("/v1.0/directoryObjects/delta?$filter={}", encode("id eq 'nope'"))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.code(), "Request_BadRequest");
    // More than 50 ids.
    let many: Vec<String> = (0..51).map(|i| format!("id eq '{}'", uuid::Uuid::from_u128(i + 1))).collect();
    let r = h.get(&format!("/v1.0/directoryObjects/delta?$filter={}", encode(&many.join(" or ")))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    // An unknown $select property, and an unsupported option.
    let user = encode("isof('microsoft.graph.user')");
    let r = h.get(&format!("/v1.0/directoryObjects/delta?$filter={user}&$select=nope")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = h.get(&format!("/v1.0/directoryObjects/delta?$filter={user}&$top=5")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.code(), "Request_UnsupportedQuery");
    // A token of another route, and garbage.
    let r = h.get("/v1.0/users/delta").await;
    let users_delta = path_of(r.json["@odata.deltaLink"].as_str().expect("deltaLink"));
    let token = users_delta.split("$deltatoken=").nth(1).expect("token");
    let r = h.get(&format!("/v1.0/directoryObjects/delta?$deltatoken={token}")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = h.get("/v1.0/directoryObjects/delta?$skiptoken=garbage").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
}

#[tokio::test]
async fn directory_objects_delta_needs_the_permission_of_each_type() {
    let h = Harness::new().await;
    let u = id_of(&h.user("perm", "Perm").await);
    let g = id_of(&h.group("permg", "Perm G").await);
    let user_reader = h.sign(h.claims(&["User.Read.All"])).await;
    let users = encode("isof('microsoft.graph.user')");
    let both = encode("isof('microsoft.graph.user') or isof('microsoft.graph.group')");

    let r = h.graph(Method::GET, &format!("/v1.0/directoryObjects/delta?$filter={users}"), None).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = get_paged(&h, &format!("/v1.0/directoryObjects/delta?$filter={users}"), 100, &user_reader).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = get_paged(&h, &format!("/v1.0/directoryObjects/delta?$filter={both}"), 100, &user_reader).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert_eq!(r.code(), "Authorization_RequestDenied");
    // Ids alone track the types the caller may read: the group is not among them.
    let ids = encode(&format!("id eq '{u}' or id eq '{g}'"));
    let r = get_paged(&h, &format!("/v1.0/directoryObjects/delta?$filter={ids}"), 100, &user_reader).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let got: Vec<&str> = r.json["value"].as_array().expect("value").iter().filter_map(|i| i["id"].as_str()).collect();
    assert_eq!(got, vec![u.as_str()]);
    // A token obtained by a caller who may read groups is refused to one who may not.
    let r = h.get(&format!("/v1.0/directoryObjects/delta?$filter={both}")).await;
    let link = path_of(r.json["@odata.deltaLink"].as_str().expect("deltaLink"));
    let r = get_paged(&h, &link, 100, &user_reader).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    // No permission of any tracked type.
    let nobody = h.sign(h.claims(&["AuditLog.Read.All"])).await;
    let r = get_paged(&h, &format!("/v1.0/directoryObjects/delta?$filter={users}"), 100, &nobody).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
}
