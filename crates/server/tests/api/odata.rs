//! The OData engine through `/users` and `/groups`.

use std::collections::HashSet;

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::harness::{Harness, PUBLIC_URL, id_of, user_body};

fn names(v: &Value) -> Vec<String> {
    v["value"]
        .as_array()
        .expect("value")
        .iter()
        .map(|u| u["displayName"].as_str().unwrap_or_default().to_string())
        .collect()
}

async fn seed(h: &Harness) {
    for (alias, name, title) in [
        ("ann", "Ann Archer", "Engineer"),
        ("bea", "Bea Baker", "Designer"),
        ("cid", "Cid Cole", "Engineer"),
        ("dee", "Dee Dunn", "Manager"),
        ("eve", "Eve O'Neil", "Engineer"),
    ] {
        let mut body = user_body(alias, name);
        body["jobTitle"] = json!(title);
        let r = h.post("/v1.0/users", body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    }
}

#[tokio::test]
async fn filters() {
    let h = Harness::new().await;
    seed(&h).await;
    let q = |f: &str| format!("/v1.0/users?$filter={}", f.replace(' ', "%20"));
    let r = h.get(&q("startswith(displayName,'a')")).await;
    assert_eq!(names(&r.json), vec!["Ann Archer"], "case-insensitive startswith");
    let r = h.get(&q("jobTitle eq 'engineer'")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(names(&r.json).len(), 3);
    let r = h.get("/v1.0/users?$filter=displayName+eq+'Bea+Baker'").await;
    assert_eq!(names(&r.json), vec!["Bea Baker"], "+ is a space in a query string: {}", r.text);
    let r = h.get(&q("displayName eq 'Eve O''Neil'")).await;
    assert_eq!(names(&r.json), vec!["Eve O'Neil"], "'' escapes");
    let r = h.get(&q("userPrincipalName in ('ann@contoso.onmicrosoft.com','cid@contoso.onmicrosoft.com')")).await;
    assert_eq!(names(&r.json).len(), 2);
    let r = h.get(&q("(jobTitle eq 'Engineer' and startswith(displayName,'C')) or jobTitle eq 'Manager'")).await;
    let mut n = names(&r.json);
    n.sort();
    assert_eq!(n, vec!["Cid Cole", "Dee Dunn"]);
    let r = h.get(&q("accountEnabled eq true")).await;
    assert_eq!(names(&r.json).len(), 6);
    let ann = h.get("/v1.0/users/ann@contoso.onmicrosoft.com").await;
    let r = h.get(&q(&format!("id eq '{}'", id_of(&ann.json)))).await;
    assert_eq!(names(&r.json), vec!["Ann Archer"]);
    let r = h.get(&q("createdDateTime ge 2000-01-01T00:00:00Z")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(names(&r.json).len(), 6);
    let r = h.get(&q("jobTitle eq null")).await;
    assert_eq!(names(&r.json), vec!["Global Administrator"]);
    // Advanced queries need ConsistencyLevel: eventual and $count.
    let r = h.get(&q("jobTitle ne 'Engineer'")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.code(), "Request_UnsupportedQuery");
    let r = h.get_eventual(&format!("{}&$count=true", q("jobTitle ne 'Engineer'"))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["@odata.count"], 3);
    let r =
        h.get_eventual(&format!("{}&$count=true", q("endswith(userPrincipalName,'@contoso.onmicrosoft.com')"))).await;
    assert_eq!(r.json["@odata.count"], 6);
}

#[tokio::test]
async fn lambda_filters() {
    let h = Harness::new().await;
    h.post("/v1.0/groups", json!({"displayName": "M365", "mailEnabled": true, "mailNickname": "m365", "securityEnabled": false, "groupTypes": ["Unified"]})).await;
    h.group("plain", "Plain").await;
    let r = h.get("/v1.0/groups?$filter=groupTypes/any(c:c%20eq%20'Unified')").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(names(&r.json), vec!["M365"]);
    let r = h.get("/v1.0/groups?$filter=proxyAddresses/any(p:startswith(p,'smtp:'))").await;
    assert_eq!(names(&r.json), vec!["M365"]);
    let r =
        h.get("/v1.0/users?$filter=assignedLicenses/any(x:x/skuId%20eq%206fd2c87f-b296-42f0-b197-1e91e994b900)").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(names(&r.json).len(), 0);
}

#[tokio::test]
async fn query_errors() {
    let h = Harness::new().await;
    for (path, code) in [
        ("/v1.0/users?$filter=displayName%20eq", "BadRequest"),
        ("/v1.0/users?$filter=bogus%20eq%201", "BadRequest"),
        ("/v1.0/users?$filter=accountEnabled%20eq%20'yes'", "BadRequest"),
        ("/v1.0/users?$select=bogus", "BadRequest"),
        ("/v1.0/users?$top=0", "Request_UnsupportedQuery"),
        ("/v1.0/users?$top=1000", "Request_UnsupportedQuery"),
        ("/v1.0/users?$orderby=jobTitle", "Request_UnsupportedQuery"),
        ("/v1.0/users?$skiptoken=garbage", "Request_BadRequest"),
        ("/v1.0/users?$search=%22displayName:ann%22", "Request_UnsupportedQuery"),
        ("/v1.0/users?$filter=contains(displayName,'a')", "Request_UnsupportedQuery"),
    ] {
        let r = h.get(path).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{path}: {}", r.text);
        assert_eq!(r.code(), code, "{path}: {}", r.message());
    }
    let r = h.get("/v1.0/users?$filter=aboutMe%20eq%20'x'").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
}

#[tokio::test]
async fn select_orderby_count_search() {
    let h = Harness::new().await;
    seed(&h).await;
    let r = h.get("/v1.0/users?$select=displayName,jobTitle&$orderby=displayName%20desc").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["@odata.context"], format!("{PUBLIC_URL}/v1.0/$metadata#users(displayName,jobTitle)"));
    let n = names(&r.json);
    let mut sorted = n.clone();
    sorted.sort_by_key(|s| std::cmp::Reverse(s.to_lowercase()));
    assert_eq!(n, sorted);
    assert!(r.json["value"][0].get("userPrincipalName").is_none());

    let r = h.get_eventual("/v1.0/users?$count=true&$top=2").await;
    assert_eq!(r.json["@odata.count"], 6);
    assert_eq!(r.json["value"].as_array().expect("v").len(), 2);

    let r = h.get_eventual("/v1.0/users/$count").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.text, "6");
    assert!(r.headers["content-type"].to_str().expect("ascii").starts_with("text/plain"));
    let r = h.get("/v1.0/users/$count").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "the $count segment needs ConsistencyLevel");

    let r = h.get_eventual("/v1.0/users?$search=%22displayName:bak%22").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(names(&r.json), vec!["Bea Baker"]);
}

#[tokio::test]
async fn paging_is_keyset_stable() {
    let h = Harness::new().await;
    for i in 0..25 {
        let r = h.post("/v1.0/users", user_body(&format!("p{i:02}"), &format!("Pager {i:02}"))).await;
        assert_eq!(r.status, StatusCode::CREATED);
    }
    let mut seen: Vec<String> = Vec::new();
    let mut next = Some("/v1.0/users?$top=7&$orderby=displayName".to_string());
    let mut inserted = false;
    let mut deleted: Option<String> = None;
    while let Some(url) = next {
        let path = url.strip_prefix(PUBLIC_URL).unwrap_or(&url).to_string();
        let r = h.get(&path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
        for u in r.json["value"].as_array().expect("v") {
            seen.push(u["displayName"].as_str().expect("name").to_string());
        }
        next = r.json["@odata.nextLink"].as_str().map(str::to_string);
        if let Some(n) = &next {
            assert!(n.starts_with(PUBLIC_URL), "absolute next link: {n}");
            assert!(n.contains("$skiptoken="));
            assert!(n.contains("$top=7"));
        }
        if !inserted {
            // Between pages: one user sorts before the cursor (must not appear), one after
            // (must appear), and one not yet seen is deleted (must not appear).
            h.post("/v1.0/users", user_body("aaa", "Aaa Early")).await;
            h.post("/v1.0/users", user_body("zzz", "Zzz Late")).await;
            let victim = h.get("/v1.0/users/p20@contoso.onmicrosoft.com").await;
            h.delete(&format!("/v1.0/users/{}", id_of(&victim.json))).await;
            deleted = Some("Pager 20".into());
            inserted = true;
        }
    }
    // A token belongs to its query: reusing it with another order or filter is refused.
    let first = h.get("/v1.0/users?$top=2").await;
    let link = first.json["@odata.nextLink"].as_str().expect("next").to_string();
    let token = link.split("$skiptoken=").nth(1).expect("token").to_string();
    let r = h.get(&format!("/v1.0/users?$top=2&$filter=accountEnabled%20eq%20true&$skiptoken={token}")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no repeats: {seen:?}");
    assert!(!seen.contains(&"Aaa Early".to_string()));
    assert!(seen.contains(&"Zzz Late".to_string()));
    assert!(!seen.contains(deleted.as_ref().expect("deleted")));
    for i in (0..25).filter(|i| *i != 20) {
        assert!(seen.contains(&format!("Pager {i:02}")), "Pager {i:02} not skipped");
    }
    let mut sorted = seen.clone();
    sorted.sort_by_key(|s| s.to_lowercase());
    assert_eq!(seen, sorted);
}

#[tokio::test]
async fn default_page_size_is_100() {
    let h = Harness::new().await;
    for i in 0..101 {
        h.group(&format!("g{i}"), &format!("Group {i:03}")).await;
    }
    let r = h.get("/v1.0/groups").await;
    assert_eq!(r.json["value"].as_array().expect("v").len(), 100);
    assert!(r.json["@odata.nextLink"].is_string());
}
