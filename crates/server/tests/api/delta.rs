//! Delta queries (`/users/delta`, `/groups/delta`, `/applications/delta`,
//! `/servicePrincipals/delta`, `/devices/delta`, `/directory/administrativeUnits/delta`): paging the first round, later rounds of
//! changes, `$select`, `$filter=id eq`, `$deltatoken=latest`, `members@delta`, token errors.

use std::collections::BTreeMap;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{Harness, PUBLIC_URL, Reply, id_of};

/// A link of ours as a request path.
fn path_of(link: &str) -> String {
    link.strip_prefix(PUBLIC_URL).unwrap_or_else(|| panic!("link {link} is not absolute on {PUBLIC_URL}")).to_string()
}

async fn get_paged(h: &Harness, path: &str, page: usize) -> Reply {
    let prefer = format!("odata.maxpagesize={page}");
    h.graph_with(Method::GET, path, None, &h.token, &[("Prefer", &prefer)]).await
}

/// Follows a round to its end: every item by id (a later item replaces an earlier one), the
/// number of pages and the deltaLink path.
async fn round(h: &Harness, start: &str, page: usize) -> (BTreeMap<String, Value>, usize, String) {
    let mut items = BTreeMap::new();
    let mut path = start.to_string();
    for pages in 1..100 {
        let r = get_paged(h, &path, page).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
        let value = r.json["value"].as_array().expect("value").clone();
        assert!(value.len() <= page, "a page holds at most the preferred size");
        for item in value {
            items.insert(id_of(&item), item);
        }
        let next = r.json["@odata.nextLink"].as_str();
        let delta = r.json["@odata.deltaLink"].as_str();
        assert!(next.is_some() != delta.is_some(), "exactly one of nextLink and deltaLink: {}", r.text);
        match (next, delta) {
            (Some(n), _) => {
                assert!(n.contains("$skiptoken="), "{n}");
                path = path_of(n);
            }
            (_, Some(d)) => {
                assert!(d.contains("$deltatoken="), "{d}");
                return (items, pages, path_of(d));
            }
            _ => unreachable!(),
        }
    }
    panic!("the round did not end");
}

fn ids(items: &BTreeMap<String, Value>) -> Vec<String> {
    items.keys().cloned().collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[tokio::test]
async fn delta_first_round_pages_then_delta_link() {
    let h = Harness::new().await;
    let mut expected = vec![];
    for i in 0..5 {
        expected.push(id_of(&h.user(&format!("u{i}"), &format!("User {i}")).await));
    }
    let r = get_paged(&h, "/v1.0/users/delta", 2).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["@odata.context"], format!("{PUBLIC_URL}/v1.0/$metadata#users"));
    assert_eq!(r.json["value"].as_array().map(Vec::len), Some(2));
    assert!(
        r.json["@odata.nextLink"]
            .as_str()
            .is_some_and(|l| l.starts_with(&format!("{PUBLIC_URL}/v1.0/users/delta?$skiptoken=")))
    );
    assert_eq!(r.headers.get("preference-applied").and_then(|v| v.to_str().ok()), Some("odata.maxpagesize=2"));
    // Default properties of a user.
    assert!(r.json["value"][0]["userPrincipalName"].is_string());

    let (items, pages, delta) = round(&h, "/v1.0/users/delta", 2).await;
    assert!(pages >= 3, "six users in pages of two");
    for id in &expected {
        assert!(items.contains_key(id), "user {id} is in the first round");
    }
    assert_eq!(items.len(), 6, "the five users and the administrator");
    // Nothing changed: an empty round with a new deltaLink.
    let r = h.get(&delta).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["value"], json!([]));
    assert!(r.json["@odata.deltaLink"].is_string());

    // The SDKs' function-call forms and /beta answer too.
    for path in ["/v1.0/users/delta()", "/v1.0/users/microsoft.graph.delta()", "/beta/users/delta"] {
        let r = h.get(path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
    }
}

#[tokio::test]
async fn delta_later_round_reports_exactly_the_changes() {
    let h = Harness::new().await;
    let u: Vec<String> = {
        let mut v = vec![];
        for i in 0..5 {
            v.push(id_of(&h.user(&format!("c{i}"), &format!("Changed {i}")).await));
        }
        v
    };
    let (_, _, delta) = round(&h, "/v1.0/users/delta", 100).await;

    let created = id_of(&h.user("fresh", "Fresh").await);
    assert_eq!(
        h.patch(&format!("/v1.0/users/{}", u[0]), json!({"displayName": "Renamed"})).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(h.delete(&format!("/v1.0/users/{}", u[1])).await.status, StatusCode::NO_CONTENT);
    assert_eq!(h.delete(&format!("/v1.0/users/{}", u[2])).await.status, StatusCode::NO_CONTENT);
    assert_eq!(h.delete(&format!("/v1.0/directory/deletedItems/{}", u[2])).await.status, StatusCode::NO_CONTENT);
    assert_eq!(h.delete(&format!("/v1.0/users/{}", u[3])).await.status, StatusCode::NO_CONTENT);
    let r = h.post(&format!("/v1.0/directory/deletedItems/{}/restore", u[3]), json!({})).await;
    assert!(r.status.is_success(), "{}", r.text);

    let (items, _, next) = round(&h, &delta, 100).await;
    assert_eq!(ids(&items), sorted(vec![created.clone(), u[0].clone(), u[1].clone(), u[2].clone(), u[3].clone()]));
    assert_eq!(items[&created]["displayName"], "Fresh");
    assert_eq!(items[&u[0]]["displayName"], "Renamed", "updated objects carry their current values");
    assert!(items[&u[0]]["userPrincipalName"].is_string(), "and the rest of the tracked properties");
    assert_eq!(items[&u[1]], json!({"id": u[1], "@removed": {"reason": "changed"}}), "soft-deleted: restorable");
    assert_eq!(items[&u[2]], json!({"id": u[2], "@removed": {"reason": "deleted"}}), "purged: gone for good");
    assert_eq!(items[&u[3]]["displayName"], "Changed 3", "restored: present again");
    assert!(!items.contains_key(&u[4]));

    // Small pages split a round of changes too.
    for i in 0..3 {
        h.patch(&format!("/v1.0/users/{}", u[4]), json!({"jobTitle": format!("t{i}")})).await;
        h.user(&format!("late{i}"), "Late").await;
    }
    let (items, pages, _) = round(&h, &next, 1).await;
    assert_eq!(items.len(), 4);
    assert!(pages >= 4);
    assert_eq!(items[&u[4]]["jobTitle"], "t2");
}

#[tokio::test]
async fn delta_select_limits_tracked_and_returned_properties() {
    let h = Harness::new().await;
    let id = id_of(&h.user("sel", "Selected").await);
    let r = h.get("/v1.0/users/delta?$select=displayName,jobTitle").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["@odata.context"], format!("{PUBLIC_URL}/v1.0/$metadata#users(displayName,jobTitle)"));
    let mine = r.json["value"].as_array().expect("value").iter().find(|v| id_of(v) == id).cloned().expect("mine");
    assert_eq!(mine, json!({"id": id, "displayName": "Selected", "jobTitle": null}));
    let delta = path_of(r.json["@odata.deltaLink"].as_str().expect("one page"));

    // A change to an unselected property is not tracked.
    h.patch(&format!("/v1.0/users/{id}"), json!({"officeLocation": "B1"})).await;
    let r = h.get(&delta).await;
    assert_eq!(r.json["value"], json!([]), "{}", r.text);
    // A selected one is, with the same property set (the token carries $select).
    h.patch(&format!("/v1.0/users/{id}"), json!({"jobTitle": "Lead"})).await;
    let r = h.get(&delta).await;
    assert_eq!(r.json["value"], json!([{"id": id, "displayName": "Selected", "jobTitle": "Lead"}]), "{}", r.text);
    assert_eq!(r.json["@odata.context"], format!("{PUBLIC_URL}/v1.0/$metadata#users(displayName,jobTitle)"));

    let r = h.get("/v1.0/users/delta?$select=nope").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = h.get("/v1.0/users/delta?$top=5").await;
    assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "Request_UnsupportedQuery"));
}

#[tokio::test]
async fn delta_latest_starts_from_now() {
    let h = Harness::new().await;
    h.user("before", "Before").await;
    let r = h.get("/v1.0/users/delta?$deltaToken=latest").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["value"], json!([]));
    assert!(r.json.get("@odata.nextLink").is_none());
    let delta = path_of(r.json["@odata.deltaLink"].as_str().expect("deltaLink"));
    let after = id_of(&h.user("after", "After").await);
    let (items, _, _) = round(&h, &delta, 100).await;
    assert_eq!(ids(&items), vec![after]);
}

#[tokio::test]
async fn delta_groups_report_membership_changes() {
    let h = Harness::new().await;
    let g = id_of(&h.group("team", "Team").await);
    let empty = id_of(&h.group("empty", "Empty").await);
    let a = id_of(&h.user("ma", "Member A").await);
    let b = id_of(&h.user("mb", "Member B").await);
    let add = |m: &str| json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{m}")});
    assert_eq!(h.post(&format!("/v1.0/groups/{g}/members/$ref"), add(&a)).await.status, StatusCode::NO_CONTENT);

    let (items, _, delta) = round(&h, "/v1.0/groups/delta", 100).await;
    assert_eq!(h.get("/v1.0/groups/delta").await.json["@odata.context"], format!("{PUBLIC_URL}/v1.0/$metadata#groups"));
    assert_eq!(items[&g]["displayName"], "Team");
    assert_eq!(items[&g]["members@delta"], json!([{"@odata.type": "#microsoft.graph.user", "id": a}]));
    assert!(items[&empty].get("members@delta").is_none());
    let (_, _, names_only) = round(&h, "/v1.0/groups/delta?$select=displayName", 100).await;

    assert_eq!(h.post(&format!("/v1.0/groups/{g}/members/$ref"), add(&b)).await.status, StatusCode::NO_CONTENT);
    assert_eq!(h.delete(&format!("/v1.0/groups/{g}/members/{a}/$ref")).await.status, StatusCode::NO_CONTENT);
    let (items, _, _) = round(&h, &delta, 100).await;
    assert_eq!(ids(&items), vec![g.clone()]);
    let mut members = items[&g]["members@delta"].as_array().expect("members@delta").clone();
    members.sort_by_key(|m| m["id"].as_str().map(str::to_string));
    let mut want = vec![
        json!({"@odata.type": "#microsoft.graph.user", "id": b}),
        json!({"@odata.type": "#microsoft.graph.user", "id": a, "@removed": {"reason": "deleted"}}),
    ];
    want.sort_by_key(|m| m["id"].as_str().map(str::to_string));
    assert_eq!(members, want);

    // Membership is not tracked without `members` in $select.
    let r = h.get(&names_only).await;
    assert_eq!(r.json["value"], json!([]), "{}", r.text);
    // With it, it is, and only the selected properties come along.
    let r = h.get("/v1.0/groups/delta?$select=displayName,members").await;
    let team = r.json["value"].as_array().expect("value").iter().find(|v| id_of(v) == g).cloned().expect("team");
    assert_eq!(team["members@delta"], json!([{"@odata.type": "#microsoft.graph.user", "id": b}]));
    assert!(team.get("description").is_none());
    // A deleted security group is gone for good.
    let delta = path_of(r.json["@odata.deltaLink"].as_str().expect("deltaLink"));
    h.delete(&format!("/v1.0/groups/{empty}")).await;
    let r = h.get(&delta).await;
    assert_eq!(r.json["value"], json!([{"id": empty, "@removed": {"reason": "deleted"}}]), "{}", r.text);
}

#[tokio::test]
async fn delta_filter_by_id() {
    let h = Harness::new().await;
    let a = id_of(&h.user("fa", "Filtered A").await);
    let b = id_of(&h.user("fb", "Filtered B").await);
    let c = id_of(&h.user("fc", "Filtered C").await);
    let (items, _, delta) =
        round(&h, &format!("/v1.0/users/delta?$filter=id%20eq%20'{a}'%20or%20id%20eq%20'{b}'"), 100).await;
    assert_eq!(ids(&items), sorted(vec![a.clone(), b.clone()]));
    for id in [&a, &c] {
        h.patch(&format!("/v1.0/users/{id}"), json!({"jobTitle": "x"})).await;
    }
    let (items, _, _) = round(&h, &delta, 100).await;
    assert_eq!(ids(&items), vec![a.clone()], "the token keeps the filter");

    for bad in ["displayName eq 'x'", "id ne 'x'", "id eq 'not-a-guid'"] {
        let r = h.get(&format!("/v1.0/users/delta?$filter={}", bad.replace(' ', "%20"))).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.text);
    }
}

#[tokio::test]
async fn delta_token_errors_and_expiry() {
    let h = Harness::new().await;
    h.user("tok", "Token").await;
    let r = h.get("/v1.0/users/delta?$deltatoken=garbage").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = h.get("/v1.0/users/delta?$skiptoken=AQ").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);

    let (_, _, groups_delta) = round(&h, "/v1.0/groups/delta", 100).await;
    let token = groups_delta.split("$deltatoken=").nth(1).expect("token");
    let r = h.get(&format!("/v1.0/users/delta?$deltatoken={token}")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "a groups token is not a users token: {}", r.text);

    // Pruning the change log past a token expires it, with Graph's error.
    let (_, _, delta) = round(&h, "/v1.0/users/delta", 100).await;
    h.user("later", "Later").await;
    let pruned = h.store.prune_changes(h.tenant(), "2999-01-01T00:00:00Z", 100_000).await.expect("prune");
    assert!(pruned > 0);
    let r = h.get(&delta).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.code(), "syncStateNotFound");
    assert_eq!(
        r.message(),
        "The sync state generation is not found. The delta token is expired and data must be synchronized again."
    );
    // The client starts over with a full round.
    let (items, _, delta) = round(&h, "/v1.0/users/delta", 100).await;
    assert_eq!(items.len(), 3);
    assert_eq!(h.get(&delta).await.json["value"], json!([]));
}

#[tokio::test]
async fn delta_groups_see_deleted_members_leave_and_restored_ones_return() {
    let h = Harness::new().await;
    let g = id_of(&h.group("leavers", "Leavers").await);
    let u = id_of(&h.user("leaver", "Leaver").await);
    let add = json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{u}")});
    assert_eq!(h.post(&format!("/v1.0/groups/{g}/members/$ref"), add).await.status, StatusCode::NO_CONTENT);
    let (_, _, delta) = round(&h, "/v1.0/groups/delta", 100).await;

    assert_eq!(h.delete(&format!("/v1.0/users/{u}")).await.status, StatusCode::NO_CONTENT);
    let r = h.get(&delta).await;
    let group =
        r.json["value"].as_array().expect("value").iter().find(|v| id_of(v) == g).cloned().expect("group changed");
    assert_eq!(
        group["members@delta"],
        json!([{"@odata.type": "#microsoft.graph.user", "id": u, "@removed": {"reason": "deleted"}}]),
        "{}",
        r.text
    );

    let delta = path_of(r.json["@odata.deltaLink"].as_str().expect("deltaLink"));
    let r = h.post(&format!("/v1.0/directory/deletedItems/{u}/restore"), json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = h.get(&delta).await;
    let group =
        r.json["value"].as_array().expect("value").iter().find(|v| id_of(v) == g).cloned().expect("group changed");
    assert_eq!(group["members@delta"], json!([{"@odata.type": "#microsoft.graph.user", "id": u}]), "{}", r.text);
    // And the transitive view agrees.
    let r = h.get(&format!("/v1.0/groups/{g}/members")).await;
    assert_eq!(r.json["value"][0]["id"], u.as_str());
}

async fn application(h: &Harness, name: &str) -> (String, String) {
    let r = h.post("/v1.0/applications", json!({"displayName": name})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let app_id = r.json["appId"].as_str().expect("appId").to_string();
    (id_of(&r.json), app_id)
}

#[tokio::test]
async fn delta_applications_and_service_principals_report_exactly_the_changes() {
    let h = Harness::new().await;
    let (kept, _) = application(&h, "Kept").await;
    let (renamed, renamed_app_id) = application(&h, "Renamed").await;
    let (deleted, deleted_app_id) = application(&h, "Deleted").await;
    for app_id in [&renamed_app_id, &deleted_app_id] {
        let r = h.post("/v1.0/servicePrincipals", json!({"appId": app_id})).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    }
    // First rounds: the current state, paged (the bootstrap app and service principals too).
    let (apps, pages, apps_delta) = round(&h, "/v1.0/applications/delta", 2).await;
    assert_eq!(apps.len(), 4, "{apps:?}");
    assert!(pages >= 2);
    assert!(apps.contains_key(&kept) && apps[&kept]["displayName"] == "Kept");
    let r = h.get("/v1.0/applications/delta").await;
    assert_eq!(r.json["@odata.context"], format!("{PUBLIC_URL}/v1.0/$metadata#applications"));
    let (sps, _, sps_delta) = round(&h, "/v1.0/servicePrincipals/delta", 100).await;
    let renamed_sp = sps.values().find(|s| s["appId"] == renamed_app_id.as_str()).map(id_of).expect("sp");
    let deleted_sp = sps.values().find(|s| s["appId"] == deleted_app_id.as_str()).map(id_of).expect("sp");

    // Changes: one new app, one renamed, one deleted (its service principal goes with it).
    let (added, added_app_id) = application(&h, "Added").await;
    let r = h.patch(&format!("/v1.0/applications/{renamed}"), json!({"displayName": "Renamed again"})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = h.delete(&format!("/v1.0/applications/{deleted}")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = h.post("/v1.0/servicePrincipals", json!({"appId": added_app_id})).await;
    let added_sp = id_of(&r.json);

    let (apps, _, apps_delta) = round(&h, &apps_delta, 100).await;
    assert_eq!(ids(&apps), sorted(vec![added.clone(), renamed.clone(), deleted.clone()]));
    assert_eq!(apps[&added]["displayName"], "Added");
    assert_eq!(apps[&renamed]["displayName"], "Renamed again");
    assert_eq!(apps[&deleted]["@removed"], json!({"reason": "changed"}));
    // The renamed app's service principal follows it (`appDisplayName`): a change to it too.
    let (sps, _, _) = round(&h, &sps_delta, 100).await;
    assert_eq!(ids(&sps), sorted(vec![added_sp, renamed_sp.clone(), deleted_sp.clone()]));
    assert_eq!(sps[&deleted_sp]["@removed"], json!({"reason": "changed"}));
    assert!(sps[&renamed_sp].get("@removed").is_none());
    // Nothing since: an empty round.
    let r = h.get(&apps_delta).await;
    assert_eq!(r.json["value"], json!([]), "{}", r.text);
}

#[tokio::test]
async fn delta_applications_select_tracks_owners_and_refuses_unknown_properties() {
    let h = Harness::new().await;
    let (app, _) = application(&h, "Owned").await;
    let owner = h.user("owner", "Owner").await;
    let (items, _, delta) = round(&h, "/v1.0/applications/delta?$select=displayName,owners", 100).await;
    assert_eq!(items[&app].as_object().map(|o| o.len()), Some(2), "{:?}", items[&app]);
    let r = h
        .post(
            &format!("/v1.0/applications/{app}/owners/$ref"),
            json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{}", id_of(&owner))}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let (items, _, _) = round(&h, &delta, 100).await;
    assert_eq!(
        items[&app]["owners@delta"],
        json!([{"@odata.type": "#microsoft.graph.user", "id": id_of(&owner)}]),
        "{:?}",
        items[&app]
    );

    let r = h.get("/v1.0/applications/delta?$select=favouriteColour").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    // A token of one collection is refused by another.
    let token = delta.split("$deltatoken=").nth(1).expect("token");
    let r = h.get(&format!("/v1.0/servicePrincipals/delta?$deltatoken={token}")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    // Only Graph's application-read permissions open it.
    let weak = h.sign(h.claims(&["User.Read.All"])).await;
    let r = h.graph_with(Method::GET, "/v1.0/servicePrincipals/delta", None, &weak, &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
}

#[tokio::test]
async fn delta_devices_and_administrative_units_report_exactly_the_changes() {
    use crate::devices::{admin_delegated, device};
    let h = Harness::new().await;
    let admin = admin_delegated(&h).await;
    let kept = id_of(&device(&h, &admin, "Kept laptop", "Windows").await);
    let renamed = id_of(&device(&h, &admin, "Old name", "Windows").await);
    let removed = id_of(&device(&h, &admin, "Lost phone", "iOS").await);
    let (devices, _, devices_delta) = round(&h, "/v1.0/devices/delta", 2).await;
    assert_eq!(ids(&devices), sorted(vec![kept.clone(), renamed.clone(), removed.clone()]));
    let r = h.get("/v1.0/devices/delta").await;
    assert_eq!(r.json["@odata.context"], format!("{PUBLIC_URL}/v1.0/$metadata#devices"));

    let unit = h.post("/v1.0/directory/administrativeUnits", json!({"displayName": "Oslo"})).await;
    assert_eq!(unit.status, StatusCode::CREATED, "{}", unit.text);
    let unit = id_of(&unit.json);
    // The reference's root path and v1.0's `/directory` path serve the same rounds.
    let (units, _, _) = round(&h, "/v1.0/administrativeUnits/delta", 10).await;
    assert_eq!(ids(&units), vec![unit.clone()]);
    let (_, _, units_delta) =
        round(&h, "/v1.0/directory/administrativeUnits/delta?$select=displayName,members", 10).await;
    // The function-call forms the SDKs send reach the same rule (they were refused before).
    for form in ["delta()", "microsoft.graph.delta()"] {
        let (units, _, _) = round(&h, &format!("/v1.0/directory/administrativeUnits/{form}"), 10).await;
        assert_eq!(ids(&units), vec![unit.clone()], "{form}");
    }

    let r = h.patch(&format!("/v1.0/devices/{renamed}"), json!({"displayName": "New name"})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = h.delete(&format!("/v1.0/devices/{removed}")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let member = id_of(&h.user("unitmember", "Unit Member").await);
    let body = json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{member}")});
    let r = h.post(&format!("/v1.0/directory/administrativeUnits/{unit}/members/$ref"), body).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);

    let (devices, _, _) = round(&h, &devices_delta, 100).await;
    assert_eq!(ids(&devices), sorted(vec![renamed.clone(), removed.clone()]));
    assert_eq!(devices[&renamed]["displayName"], "New name");
    // Devices are deleted for good: Graph's "deleted" reason.
    assert_eq!(devices[&removed]["@removed"], json!({"reason": "deleted"}));
    let (units, _, _) = round(&h, &units_delta, 100).await;
    assert_eq!(units[&unit]["members@delta"], json!([{"@odata.type": "#microsoft.graph.user", "id": member}]));

    // The reference's permission: Device.Read.All reads device rounds, a user permission does not.
    let reader = h.sign(h.claims(&["Device.Read.All"])).await;
    let r = h.graph_with(Method::GET, "/v1.0/devices/delta", None, &reader, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let users_only = h.sign(h.claims(&["User.Read.All"])).await;
    let r = h.graph_with(Method::GET, "/v1.0/devices/delta", None, &users_only, &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
}
