//! Transitive membership over HTTP: `transitiveMemberOf`, `transitiveMembers`, the membership
//! actions, `getByIds`, `validateProperties`, on nested groups, cycles, deletions and across
//! two nodes sharing one store.

use std::collections::BTreeSet;

use axum::http::{Method, StatusCode};
use cerulean::app::App;
use serde_json::{Value, json};

use crate::harness::{Harness, PUBLIC_URL, id_of, via};

async fn add_member(h: &Harness, group: &str, member: &str) {
    let r = h
        .post(
            &format!("/v1.0/groups/{group}/members/$ref"),
            json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{member}")}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
}

fn ids(r: &Value) -> BTreeSet<String> {
    r["value"].as_array().expect("value").iter().map(|v| v["id"].as_str().expect("id").to_string()).collect()
}

fn strings(r: &Value) -> BTreeSet<String> {
    r["value"].as_array().expect("value").iter().map(|v| v.as_str().expect("string").to_string()).collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// A chain of `depth` nested groups, outermost first, with `user` in the innermost.
async fn chain(h: &Harness, prefix: &str, depth: usize, user: &str) -> Vec<String> {
    let mut groups = Vec::new();
    for i in 0..depth {
        groups.push(id_of(&h.group(&format!("{prefix}{i}"), &format!("{prefix} {i}")).await));
    }
    for w in groups.windows(2) {
        add_member(h, &w[0], &w[1]).await;
    }
    add_member(h, &groups[depth - 1], user).await;
    groups
}

#[tokio::test]
async fn nesting_depth_six_both_directions() {
    let h = Harness::new().await;
    let user = id_of(&h.user("adele", "Adele").await);
    let groups = chain(&h, "nest", 6, &user).await;
    let other = id_of(&h.group("unrelated", "Unrelated").await);

    let r = h.get(&format!("/v1.0/users/{user}/transitiveMemberOf")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["@odata.context"], json!(format!("{PUBLIC_URL}/v1.0/$metadata#directoryObjects")));
    assert_eq!(ids(&r.json), groups.iter().cloned().collect::<BTreeSet<_>>());
    assert!(!ids(&r.json).contains(&other));
    assert!(r.json["value"].as_array().expect("value").iter().all(|v| v["@odata.type"] == "#microsoft.graph.group"));

    let r = h.get(&format!("/v1.0/users/{user}/transitiveMemberOf/microsoft.graph.group?$select=displayName")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["@odata.context"], json!(format!("{PUBLIC_URL}/v1.0/$metadata#groups(displayName)")));
    assert_eq!(r.json["value"].as_array().expect("value").len(), 6);

    let r = h.get(&format!("/v1.0/groups/{}/transitiveMembers", groups[0])).await;
    let mut want: BTreeSet<String> = groups[1..].iter().cloned().collect();
    want.insert(user.clone());
    assert_eq!(ids(&r.json), want);
    let r = h.get(&format!("/v1.0/groups/{}/transitiveMembers/microsoft.graph.user", groups[0])).await;
    assert_eq!(ids(&r.json), set(&[&user]));
    assert_eq!(r.json["@odata.context"], json!(format!("{PUBLIC_URL}/v1.0/$metadata#users")));
    let r = h.get(&format!("/v1.0/groups/{}/transitiveMembers/microsoft.graph.group", groups[0])).await;
    assert_eq!(ids(&r.json).len(), 5);
    let r = h.get(&format!("/v1.0/groups/{}/transitiveMemberOf", groups[5])).await;
    assert_eq!(ids(&r.json), groups[..5].iter().cloned().collect::<BTreeSet<_>>());

    // `$count` segments need ConsistencyLevel: eventual, like every directory count.
    let r = h.get(&format!("/v1.0/groups/{}/transitiveMembers/$count", groups[0])).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = h.get_eventual(&format!("/v1.0/groups/{}/transitiveMembers/$count", groups[0])).await;
    assert_eq!(r.text, "6");
    let r = h.get_eventual(&format!("/v1.0/users/{user}/transitiveMemberOf/$count")).await;
    assert_eq!(r.text, "6");

    // Paging with $top follows next links until every group was seen once.
    let mut seen = BTreeSet::new();
    let mut next = Some(format!("/v1.0/users/{user}/transitiveMemberOf?$top=4"));
    while let Some(url) = next.take() {
        let r = h.get(&url).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert!(r.json["value"].as_array().expect("value").len() <= 4);
        for id in ids(&r.json) {
            assert!(seen.insert(id), "no item twice");
        }
        next = r.json["@odata.nextLink"].as_str().map(|l| l.trim_start_matches(PUBLIC_URL).to_string());
    }
    assert_eq!(seen.len(), 6);

    // $filter applies to the transitive set.
    let r = h
        .get_eventual(&format!(
            "/v1.0/users/{user}/transitiveMemberOf/microsoft.graph.group?$filter=displayName%20eq%20'nest%203'&$count=true"
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(ids(&r.json), set(&[&groups[3]]));
    assert_eq!(r.json["@odata.count"], json!(1));
}

#[tokio::test]
async fn member_actions_on_users_groups_and_directory_objects() {
    let h = Harness::new().await;
    let user = id_of(&h.user("megan", "Megan").await);
    let groups = chain(&h, "act", 3, &user).await;
    let unified = h
        .post(
            "/v1.0/groups",
            json!({"displayName": "M365", "mailEnabled": true, "mailNickname": "m365", "securityEnabled": false, "groupTypes": ["Unified"]}),
        )
        .await;
    assert_eq!(unified.status, StatusCode::CREATED, "{}", unified.text);
    let unified = id_of(&unified.json);
    add_member(&h, &unified, &user).await;
    let stranger = id_of(&h.group("stranger", "Stranger").await);

    for base in [format!("/v1.0/users/{user}"), format!("/v1.0/directoryObjects/{user}")] {
        let r = h
            .post(
                &format!("{base}/checkMemberGroups"),
                json!({"groupIds": [groups[0], stranger, groups[2], unified, groups[0]]}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.json["@odata.context"], json!(format!("{PUBLIC_URL}/v1.0/$metadata#Collection(Edm.String)")));
        assert_eq!(r.json["value"], json!([groups[0], groups[2], unified]), "in the order asked, each once");

        let r = h.post(&format!("{base}/getMemberGroups"), json!({"securityEnabledOnly": false})).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let mut all: BTreeSet<String> = groups.iter().cloned().collect();
        all.insert(unified.clone());
        assert_eq!(strings(&r.json), all);
        let r = h.post(&format!("{base}/getMemberGroups"), json!({"securityEnabledOnly": true})).await;
        assert_eq!(strings(&r.json), groups.iter().cloned().collect::<BTreeSet<_>>(), "the M365 group is not security");

        let r = h.post(&format!("{base}/getMemberObjects"), json!({"securityEnabledOnly": false})).await;
        assert_eq!(strings(&r.json), all);
        let r = h.post(&format!("{base}/checkMemberObjects"), json!({"ids": [stranger, groups[1]]})).await;
        assert_eq!(r.json["value"], json!([groups[1]]));
    }

    let r = h.post(&format!("/v1.0/groups/{}/checkMemberGroups", groups[2]), json!({"groupIds": [groups[0]]})).await;
    assert_eq!(r.json["value"], json!([groups[0]]));
    let r = h.post(&format!("/v1.0/groups/{}/getMemberGroups", groups[0]), json!({"securityEnabledOnly": false})).await;
    assert_eq!(r.json["value"], json!([]));

    // Limits and malformed bodies.
    let many: Vec<String> = (0..21).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    let r = h.post(&format!("/v1.0/users/{user}/checkMemberGroups"), json!({"groupIds": many})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = h.post(&format!("/v1.0/users/{user}/checkMemberGroups"), json!({"groupIds": ["not-a-guid"]})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = h.post(&format!("/v1.0/users/{user}/checkMemberGroups"), json!({})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = h.post(&format!("/v1.0/users/{user}/getMemberGroups"), json!({"securityEnabledOnly": "yes"})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // A user key on the groups set is not found, as the object is not a group.
    let r = h.post(&format!("/v1.0/groups/{user}/getMemberGroups"), json!({"securityEnabledOnly": false})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.code(), "Request_ResourceNotFound");
}

#[tokio::test]
async fn cycles_terminate() {
    let h = Harness::new().await;
    let user = id_of(&h.user("cyc", "Cyc").await);
    let a = id_of(&h.group("cyca", "A").await);
    let b = id_of(&h.group("cycb", "B").await);
    let c = id_of(&h.group("cycc", "C").await);
    add_member(&h, &a, &b).await;
    add_member(&h, &b, &c).await;
    add_member(&h, &c, &a).await;
    add_member(&h, &c, &user).await;

    let r = h.get(&format!("/v1.0/users/{user}/transitiveMemberOf")).await;
    assert_eq!(ids(&r.json), set(&[&a, &b, &c]));
    let r = h.get(&format!("/v1.0/groups/{a}/transitiveMembers")).await;
    assert_eq!(ids(&r.json), set(&[&b, &c, &user]), "a group in a cycle is not its own member");
    let r = h.get(&format!("/v1.0/groups/{a}/transitiveMemberOf")).await;
    assert_eq!(ids(&r.json), set(&[&b, &c]));
    let r = h.post(&format!("/v1.0/groups/{a}/checkMemberGroups"), json!({"groupIds": [a, b]})).await;
    assert_eq!(r.json["value"], json!([b]));
}

#[tokio::test]
async fn deleted_objects_drop_out_and_restore_returns() {
    let h = Harness::new().await;
    let user = id_of(&h.user("del", "Del").await);
    let groups = chain(&h, "dl", 3, &user).await;
    let m365 = h
        .post(
            "/v1.0/groups",
            json!({"displayName": "Team", "mailEnabled": true, "mailNickname": "team", "securityEnabled": false, "groupTypes": ["Unified"]}),
        )
        .await;
    assert_eq!(m365.status, StatusCode::CREATED, "{}", m365.text);
    let m365 = id_of(&m365.json);
    add_member(&h, &m365, &user).await;

    // A deleted Microsoft 365 group (recycle bin) drops out; its restore brings it back.
    assert_eq!(h.delete(&format!("/v1.0/groups/{m365}")).await.status, StatusCode::NO_CONTENT);
    let r = h.get(&format!("/v1.0/users/{user}/transitiveMemberOf")).await;
    assert_eq!(ids(&r.json), groups.iter().cloned().collect::<BTreeSet<_>>());
    let r = h.post(&format!("/v1.0/directory/deletedItems/{m365}/restore"), json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = h.post(&format!("/v1.0/users/{user}/checkMemberGroups"), json!({"groupIds": [m365]})).await;
    assert_eq!(r.json["value"], json!([m365]), "restore brings the membership back");

    // A deleted user leaves every transitive member list, and comes back restored.
    assert_eq!(h.delete(&format!("/v1.0/users/{user}")).await.status, StatusCode::NO_CONTENT);
    let r = h.get(&format!("/v1.0/groups/{}/transitiveMembers", groups[0])).await;
    assert_eq!(ids(&r.json), set(&[&groups[1], &groups[2]]));
    let r = h.post(&format!("/v1.0/directory/deletedItems/{user}/restore"), json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = h.get(&format!("/v1.0/groups/{}/transitiveMembers/microsoft.graph.user", groups[0])).await;
    assert_eq!(ids(&r.json), set(&[&user]));

    // A deleted security group is gone for good, and so is the nesting through it.
    assert_eq!(h.delete(&format!("/v1.0/groups/{}", groups[1])).await.status, StatusCode::NO_CONTENT);
    let r = h.get(&format!("/v1.0/users/{user}/transitiveMemberOf")).await;
    assert_eq!(ids(&r.json), set(&[&groups[2], &m365]));
    let r = h.post(&format!("/v1.0/users/{user}/checkMemberGroups"), json!({"groupIds": [groups[0], groups[1]]})).await;
    assert_eq!(r.json["value"], json!([]));

    let r = h.delete(&format!("/v1.0/groups/{}/members/{user}/$ref", groups[2])).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = h.get(&format!("/v1.0/users/{user}/transitiveMemberOf")).await;
    assert_eq!(ids(&r.json), set(&[&m365]));
}

#[tokio::test]
async fn a_write_on_one_node_is_seen_by_the_next_read_on_another() {
    let h = Harness::new().await;
    let other = App::new(h.other_store().await, PUBLIC_URL);
    other.set_ready();
    let user = id_of(&h.user("fresh", "Fresh").await);
    let outer = id_of(&h.group("outer", "Outer").await);
    let inner = id_of(&h.group("inner", "Inner").await);
    add_member(&h, &outer, &inner).await;

    // The second node loads its graph now, before the user is a member.
    let path = format!("/v1.0/users/{user}/checkMemberGroups");
    let (status, body) = via(&other, &h.token, Method::POST, &path, Some(json!({"groupIds": [outer]}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["value"], json!([]));

    // A write on the first node; the second node's very next read sees it.
    add_member(&h, &inner, &user).await;
    let (_, body) = via(&other, &h.token, Method::POST, &path, Some(json!({"groupIds": [outer]}))).await;
    assert_eq!(body["value"], json!([outer]));

    // And the other way round: a removal on the second node, read on the first.
    let (status, _) =
        via(&other, &h.token, Method::DELETE, &format!("/v1.0/groups/{outer}/members/{inner}/$ref"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let r = h.post(&path, json!({"groupIds": [outer, inner]})).await;
    assert_eq!(r.json["value"], json!([inner]));
    let (_, body) = via(&other, &h.token, Method::GET, &format!("/v1.0/users/{user}/transitiveMemberOf"), None).await;
    assert_eq!(ids(&body), set(&[&inner]));
}

#[tokio::test]
async fn wide_membership_is_answered_from_memory() {
    // Not a benchmark: enough objects that a per-request walk of the store would show as many
    // round trips; the answer must be exact.
    let h = Harness::new().await;
    let top = id_of(&h.group("wide", "Wide").await);
    let mut users = BTreeSet::new();
    for i in 0..4 {
        let g = id_of(&h.group(&format!("wide{i}"), &format!("Wide {i}")).await);
        add_member(&h, &top, &g).await;
        for j in 0..5 {
            let u = id_of(&h.user(&format!("w{i}x{j}"), &format!("W {i} {j}")).await);
            add_member(&h, &g, &u).await;
            users.insert(u);
        }
    }
    let r = h
        .get_eventual(&format!("/v1.0/groups/{top}/transitiveMembers/microsoft.graph.user?$count=true&$top=999"))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["@odata.count"], json!(20));
    assert_eq!(ids(&r.json), users);
}

#[tokio::test]
async fn get_by_ids_and_validate_properties() {
    let h = Harness::new().await;
    let user = id_of(&h.user("gbi", "Gbi").await);
    let group = id_of(&h.group("gbigroup", "Gbi group").await);
    let gone = id_of(&h.user("gbigone", "Gone").await);
    assert_eq!(h.delete(&format!("/v1.0/users/{gone}")).await.status, StatusCode::NO_CONTENT);
    let missing = uuid::Uuid::new_v4().to_string();

    let r = h.post("/v1.0/directoryObjects/getByIds", json!({"ids": [group, user, gone, missing, user]})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["@odata.context"], json!(format!("{PUBLIC_URL}/v1.0/$metadata#directoryObjects")));
    let value = r.json["value"].as_array().expect("value");
    assert_eq!(value.len(), 2);
    assert_eq!(value[0]["@odata.type"], "#microsoft.graph.group");
    assert_eq!(value[1]["@odata.type"], "#microsoft.graph.user");
    assert_eq!(value[1]["displayName"], "Gbi");

    let r = h.post("/v1.0/directoryObjects/getByIds", json!({"ids": [group, user], "types": ["User"]})).await;
    assert_eq!(ids(&r.json), set(&[&user]));
    let r = h.post("/v1.0/directoryObjects/getByIds", json!({"ids": [group], "types": ["nonsense"]})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let many: Vec<String> = (0..1001).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    let r = h.post("/v1.0/directoryObjects/getByIds", json!({"ids": many})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    let r = h
        .post(
            "/v1.0/directoryObjects/validateProperties",
            json!({"entityType": "Group", "displayName": "Fine", "mailNickname": "fine"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = h
        .post(
            "/v1.0/groups",
            json!({"displayName": "Taken", "mailEnabled": true, "mailNickname": "taken", "securityEnabled": false, "groupTypes": ["Unified"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = h
        .post("/v1.0/directoryObjects/validateProperties", json!({"entityType": "Group", "mailNickname": "Taken"}))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.code(), "Request_UnprocessableEntity");
    assert_eq!(r.json["error"]["details"][0]["target"], "mailNickname");
    let r = h.post("/v1.0/directoryObjects/validateProperties", json!({"entityType": "Group"})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r =
        h.post("/v1.0/directoryObjects/validateProperties", json!({"entityType": "User", "displayName": "x"})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

/// The type casts beyond `user` and `group` (issue 4): roles and units a user or a nested
/// group's member is in, each member type of a group, and their `/$count`; devices and contacts
/// count their groups through the cast.
#[tokio::test]
async fn every_documented_type_cast_filters_the_reach() {
    let h = Harness::new().await;
    let user = id_of(&h.user("casty", "Casty").await);
    let outer = id_of(&h.group("outer", "Outer").await);
    let inner = id_of(&h.group("inner", "Inner").await);
    add_member(&h, &outer, &inner).await;
    add_member(&h, &inner, &user).await;
    let admin = crate::devices::admin_delegated(&h).await;
    let device = id_of(&crate::devices::device(&h, &admin, "Laptop", "Windows").await);
    add_member(&h, &inner, &device).await;
    // Contacts are not creatable through Graph: they come in through the directory.
    let body = json!({"displayName": "Dana"}).as_object().cloned().expect("object");
    let contact = h
        .app
        .directory
        .import_contact(&cerulean_directory::Caller::system(h.tenant()), &body)
        .await
        .expect("import")
        .id
        .to_string();
    add_member(&h, &inner, &contact).await;
    let unit = id_of(&h.post("/v1.0/directory/administrativeUnits", json!({"displayName": "Oslo"})).await.json);
    let r = h.post("/v1.0/applications", json!({"displayName": "Casted app"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let app_id = r.json["appId"].as_str().expect("appId").to_string();
    let r = h.post("/v1.0/servicePrincipals", json!({"appId": app_id})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let sp = id_of(&r.json);
    add_member(&h, &inner, &sp).await;
    for member in [&inner, &user] {
        let reference = json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{member}")});
        let r = h.post(&format!("/v1.0/directory/administrativeUnits/{unit}/members/$ref"), reference).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    }
    let reference = json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{user}")});
    let r = h.post("/v1.0/directoryRoles", json!({"roleTemplateId": "fe930be7-5e62-47db-91af-98c3a49a38b1"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let role = id_of(&r.json);
    let r = h.post(&format!("/v1.0/directoryRoles/{role}/members/$ref"), reference).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);

    let one = |id: &str| BTreeSet::from([id.to_string()]);
    let cases = [
        (
            format!("/v1.0/users/{user}/transitiveMemberOf/microsoft.graph.administrativeUnit"),
            one(&unit),
            "administrativeUnits",
        ),
        (format!("/v1.0/users/{user}/transitiveMemberOf/microsoft.graph.directoryRole"), one(&role), "directoryRoles"),
        (format!("/v1.0/groups/{outer}/transitiveMembers/microsoft.graph.device"), one(&device), "devices"),
        (format!("/v1.0/groups/{outer}/transitiveMembers/microsoft.graph.orgContact"), one(&contact), "contacts"),
        (
            format!("/v1.0/groups/{outer}/transitiveMembers/microsoft.graph.servicePrincipal"),
            one(&sp),
            "servicePrincipals",
        ),
        (
            format!("/v1.0/groups/{inner}/transitiveMemberOf/microsoft.graph.administrativeUnit"),
            one(&unit),
            "administrativeUnits",
        ),
        (
            format!("/v1.0/groups/{inner}/transitiveMemberOf/microsoft.graph.directoryRole"),
            BTreeSet::new(),
            "directoryRoles",
        ),
    ];
    for (path, want, context) in cases {
        let r = h.get(&path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
        assert_eq!(ids(&r.json), want, "{path}: {}", r.text);
        let ctx = r.json["@odata.context"].as_str().unwrap_or_default();
        assert!(ctx.ends_with(&format!("$metadata#{context}")), "{path}: {ctx}");
        let r = h.get_eventual(&format!("{path}/$count")).await;
        assert_eq!(r.status, StatusCode::OK, "{path}/$count: {}", r.text);
        assert_eq!(r.text, want.len().to_string(), "{path}/$count");
    }
    for (set, id) in [("devices", &device), ("contacts", &contact)] {
        let r = h.get_eventual(&format!("/v1.0/{set}/{id}/transitiveMemberOf/microsoft.graph.group/$count")).await;
        assert_eq!(r.status, StatusCode::OK, "{set}: {}", r.text);
        assert_eq!(r.text, "2", "{set}: inner and, through nesting, outer (not the unit)");
    }
}

#[tokio::test]
async fn membership_graphs_load_ahead_of_the_first_query() {
    let h = Harness::new().await;
    let user = id_of(&h.user("early", "Early").await);
    let groups = chain(&h, "early", 3, &user).await;
    // A second node, as a restarted server: nothing loaded until asked.
    let other = App::new(h.other_store().await, PUBLIC_URL);
    other.set_ready();
    assert!(!other.directory.membership_graph_loaded(h.tenant()));
    // The background load `serve` starts once ready, and a query arriving meanwhile: the query
    // waits for the same build and answers exactly.
    let path = format!("/v1.0/users/{user}/transitiveMemberOf");
    let (loaded, (status, body)) =
        tokio::join!(other.directory.load_membership_graphs(), via(&other, &h.token, Method::GET, &path, None));
    assert_eq!(loaded.expect("load"), 1, "one tenant");
    assert!(other.directory.membership_graph_loaded(h.tenant()));
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(ids(&body), groups.iter().cloned().collect::<BTreeSet<String>>());
    // A write after the load is replayed into the loaded graph by the next query.
    let extra = id_of(&h.group("late", "Late").await);
    add_member(&h, &extra, &groups[0]).await;
    let (_, body) = via(&other, &h.token, Method::GET, &path, None).await;
    assert!(ids(&body).contains(&extra), "{body}");
    assert_eq!(ids(&body).len(), 4);
}

#[tokio::test]
async fn member_of_by_id_upn_and_of_missing_or_deleted_users() {
    let h = Harness::new().await;
    let user = h.user("direct", "Direct").await;
    let (id, upn) = (id_of(&user), user["userPrincipalName"].as_str().expect("upn").to_string());
    let g = id_of(&h.group("directg", "Direct G").await);
    add_member(&h, &g, &id).await;
    for key in [&id, &upn] {
        let r = h.get(&format!("/v1.0/users/{key}/memberOf")).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(ids(&r.json), set(&[&g]));
    }
    // A user with no membership at all is not in the graph: still found, with an empty list.
    let lonely = id_of(&h.user("lonely", "Lonely").await);
    let r = h.get(&format!("/v1.0/users/{lonely}/memberOf")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["value"], json!([]));
    // Unknown, deleted, and a group's id under /users: 404 as every user route answers.
    let unknown = uuid::Uuid::new_v4().to_string();
    assert_eq!(h.get(&format!("/v1.0/users/{unknown}/memberOf")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(h.get(&format!("/v1.0/users/{g}/memberOf")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(h.delete(&format!("/v1.0/users/{id}")).await.status, StatusCode::NO_CONTENT);
    let r = h.get(&format!("/v1.0/users/{id}/memberOf")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    assert_eq!(r.code(), "Request_ResourceNotFound");
}

/// Follows `@odata.nextLink` from `first`, returning every page's body.
async fn pages(h: &Harness, first: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut next = Some(first.to_string());
    while let Some(path) = next {
        let r = h.get_eventual(&path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
        next = r.json["@odata.nextLink"].as_str().map(|l| l.trim_start_matches(PUBLIC_URL).to_string());
        out.push(r.json);
        assert!(out.len() < 20, "paging does not end");
    }
    out
}

#[tokio::test]
async fn transitive_pages_match_the_general_list_and_follow_changes() {
    let h = Harness::new().await;
    let user = id_of(&h.user("paged", "Paged").await);
    let groups = chain(&h, "paged", 5, &user).await;
    // The answers cut from the graph (no query options) equal the store's general list of the
    // same objects, page by page, item for item: a user's `transitiveMemberOf` and `memberOf`
    // (both from the graph) against a group's `memberOf` (the store's list of its edges), the
    // user and the group each directly in every group of the chain.
    let direct = id_of(&h.user("pageddirect", "Paged Direct").await);
    let nested = id_of(&h.group("pagednested", "Paged Nested").await);
    for g in &groups {
        add_member(&h, g, &direct).await;
        add_member(&h, g, &nested).await;
    }
    let fast = pages(&h, &format!("/v1.0/users/{direct}/transitiveMemberOf?$top=2&$count=true")).await;
    let direct_fast = pages(&h, &format!("/v1.0/users/{direct}/memberOf?$top=2&$count=true")).await;
    let general = pages(&h, &format!("/v1.0/groups/{nested}/memberOf?$top=2&$count=true")).await;
    assert_eq!(general.len(), 3);
    assert_eq!(fast.len(), 3, "5 groups, 2 a page");
    assert_eq!(direct_fast.len(), 3);
    for (f, g) in fast.iter().chain(&direct_fast).zip(general.iter().cycle()) {
        assert_eq!(f["value"], g["value"]);
        assert_eq!(f["@odata.count"], json!(5));
        assert_eq!(f["@odata.context"], g["@odata.context"]);
        assert_eq!(f.get("@odata.nextLink").is_some(), g.get("@odata.nextLink").is_some());
    }
    let all: BTreeSet<String> = fast.iter().flat_map(ids).collect();
    assert_eq!(all, groups.iter().cloned().collect());
    let item = fast[0]["value"][0].clone();
    assert_eq!(item["@odata.type"], json!("#microsoft.graph.group"));
    assert!(item["displayName"].is_string() && item["securityEnabled"].is_boolean(), "{item}");

    // A rendering served before is not served after its object changes: on this node, and on
    // another node that had served it too (its graph replays the change first).
    let other = App::new(h.other_store().await, PUBLIC_URL);
    other.set_ready();
    let path = format!("/v1.0/users/{user}/transitiveMemberOf");
    let (_, before) = via(&other, &h.token, Method::GET, &path, None).await;
    assert_eq!(ids(&before).len(), 5);
    let renamed = &groups[2];
    let r = h.patch(&format!("/v1.0/groups/{renamed}"), json!({"displayName": "Renamed", "description": "new"})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let name_of = |body: &Value| -> Value {
        body["value"]
            .as_array()
            .expect("value")
            .iter()
            .find(|v| v["id"] == json!(renamed))
            .expect("still there")
            .clone()
    };
    let here = h.get(&path).await;
    assert_eq!(name_of(&here.json)["displayName"], json!("Renamed"));
    assert_eq!(name_of(&here.json)["description"], json!("new"));
    let (_, there) = via(&other, &h.token, Method::GET, &path, None).await;
    assert_eq!(name_of(&there)["displayName"], json!("Renamed"));

    // A deleted group leaves the reach, and its rendering is not served.
    assert_eq!(h.delete(&format!("/v1.0/groups/{renamed}")).await.status, StatusCode::NO_CONTENT);
    let (_, there) = via(&other, &h.token, Method::GET, &path, None).await;
    assert!(!ids(&there).contains(renamed.as_str()), "{there}");
    assert!(!ids(&h.get(&path).await.json).contains(renamed.as_str()));
}

/// `memberOf` is answered from the membership graph and the renderings it keeps (issue 4), with
/// the graph's consistency: on a node that served a page before, the next read after a write on
/// another node shows the write (a new membership, a removed one, a renamed or deleted group).
#[tokio::test]
async fn member_of_follows_writes_on_another_node() {
    let h = Harness::new().await;
    let user = id_of(&h.user("direct2", "Direct Two").await);
    let first = id_of(&h.group("dfirst", "First").await);
    let second = id_of(&h.group("dsecond", "Second").await);
    let outer = id_of(&h.group("douter", "Outer").await);
    add_member(&h, &outer, &first).await;
    add_member(&h, &first, &user).await;
    let other = App::new(h.other_store().await, PUBLIC_URL);
    other.set_ready();
    let path = format!("/v1.0/users/{user}/memberOf");
    let (status, body) = via(&other, &h.token, Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(ids(&body), set(&[&first]), "direct groups only, not the nested outer group");
    assert_eq!(body["value"][0]["displayName"], json!("First"));

    add_member(&h, &second, &user).await;
    let r = h.patch(&format!("/v1.0/groups/{first}"), json!({"displayName": "First renamed"})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let (_, body) = via(&other, &h.token, Method::GET, &path, None).await;
    assert_eq!(ids(&body), set(&[&first, &second]));
    let renamed = body["value"].as_array().expect("value").iter().find(|v| v["id"] == json!(first)).cloned();
    assert_eq!(renamed.expect("first")["displayName"], json!("First renamed"));
    let (_, cast) =
        via(&other, &h.token, Method::GET, &format!("{path}/microsoft.graph.group?$select=displayName"), None).await;
    assert_eq!(cast["value"].as_array().expect("value").len(), 2, "{cast}");

    let r = h.delete(&format!("/v1.0/groups/{first}/members/{user}/$ref")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let (_, body) = via(&other, &h.token, Method::GET, &path, None).await;
    assert_eq!(ids(&body), set(&[&second]));
    assert_eq!(h.delete(&format!("/v1.0/groups/{second}")).await.status, StatusCode::NO_CONTENT);
    let (status, body) = via(&other, &h.token, Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["value"], json!([]));
}
