//! `$expand` over HTTP on v1.0: Graph's limit of 20 expanded directory objects, a nested
//! `$select` on `memberOf`, and `directReports` expanded on a list.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{Harness, id_of};

fn reference(id: &str) -> Value {
    json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{id}")})
}

#[tokio::test]
async fn expanded_members_stop_at_twenty() {
    let h = Harness::new().await;
    let g = id_of(&h.group("big", "Big").await);
    for i in 0..25 {
        let u = id_of(&h.user(&format!("member{i}"), &format!("Member {i}")).await);
        let r = h.post(&format!("/v1.0/groups/{g}/members/$ref"), reference(&u)).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    }
    let r = h.get(&format!("/v1.0/groups/{g}?$expand=members")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["members"].as_array().map(Vec::len), Some(20), "{}", r.text);
    let r = h.get_eventual(&format!("/v1.0/groups/{g}/members/$count")).await;
    assert_eq!(r.text, "25", "the collection itself holds all 25");
}

#[tokio::test]
async fn expanded_member_of_takes_a_nested_select() {
    let h = Harness::new().await;
    let u = id_of(&h.user("adele", "Adele Vance").await);
    let g = id_of(&h.group("sales", "Sales").await);
    let r = h.post(&format!("/v1.0/groups/{g}/members/$ref"), reference(&u)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = h.get(&format!("/v1.0/users/{u}?$expand=memberOf($select=displayName)")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let groups = r.json["memberOf"].as_array().expect("memberOf");
    assert_eq!(groups.len(), 1, "{}", r.text);
    let group = groups[0].as_object().expect("object");
    assert_eq!(group["displayName"], "Sales");
    for key in group.keys() {
        assert!(
            ["id", "@odata.type", "displayName"].contains(&key.as_str()),
            "unexpected property {key} in {}",
            r.text
        );
    }
}

#[tokio::test]
async fn direct_reports_expand_on_a_list() {
    let h = Harness::new().await;
    let boss = id_of(&h.user("boss", "Boss").await);
    let a = id_of(&h.user("alex", "Alex").await);
    let b = id_of(&h.user("bianca", "Bianca").await);
    for report in [&a, &b] {
        let r = h.graph(Method::PUT, &format!("/v1.0/users/{report}/manager/$ref"), Some(reference(&boss))).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    }
    let r = h.get("/v1.0/users?$expand=directReports").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let users = r.json["value"].as_array().expect("value");
    let of = |id: &str| users.iter().find(|u| u["id"] == id).unwrap_or_else(|| panic!("{id} missing: {}", r.text));
    let mut got: Vec<String> =
        of(&boss)["directReports"].as_array().expect("directReports").iter().map(id_of).collect();
    got.sort();
    let mut want = vec![a.clone(), b.clone()];
    want.sort();
    assert_eq!(got, want, "{}", r.text);
    assert_eq!(of(&a)["directReports"], json!([]), "{}", r.text);
}

/// Graph's known issue 13635: with `$expand`, a list page holds at most 100 objects whatever
/// `$top` says; the next page follows by `@odata.nextLink`. Without `$expand`, `$top=999` holds.
#[tokio::test]
async fn expand_caps_a_list_page_at_one_hundred() {
    let h = Harness::new().await;
    for i in 0..105 {
        h.user(&format!("paged{i}"), &format!("Paged {i}")).await;
    }
    let r = h.get("/v1.0/users?$select=id&$top=999").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let all = r.json["value"].as_array().map(Vec::len).unwrap_or(0);
    assert!(all >= 105, "without $expand the page holds every user: {all}");
    assert!(r.json.get("@odata.nextLink").is_none(), "{}", r.text);

    let r = h.get("/v1.0/users?$select=id&$top=999&$expand=manager").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["value"].as_array().map(Vec::len), Some(100), "{}", r.text);
    let next = r.json["@odata.nextLink"].as_str().expect("nextLink");
    let path = next.split_once("/v1.0/").map(|(_, p)| format!("/v1.0/{p}")).expect("path");
    let r = h.get(&path).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["value"].as_array().map(Vec::len), Some(all - 100), "{}", r.text);
}
