//! Azure AD Graph 1.6 paging: relative `odata.nextLink` forward, and `previous-page=true` with a
//! `$skiptoken` backward ("the skip token returned in step 1 and &previous-page=true ... the
//! previous (first) page").

use axum::http::{Method, StatusCode};

use crate::aadgraph::{aad, aad_token, code};
use crate::harness::{Harness, Reply};

fn ids(r: &Reply) -> Vec<String> {
    r.json["value"]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v["objectId"].as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

fn next(r: &Reply) -> Option<String> {
    r.json["odata.nextLink"].as_str().map(str::to_string)
}

/// Follows `start` forward: the pages and the next link each came with.
async fn forward(h: &Harness, t: &str, start: &str) -> Vec<(Vec<String>, Option<String>)> {
    let mut out = Vec::new();
    let mut path = start.to_string();
    for _ in 0..50 {
        let r = aad(h, t, Method::GET, &path, None).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
        let link = next(&r);
        out.push((ids(&r), link.clone()));
        match link {
            Some(l) => path = l,
            None => return out,
        }
    }
    panic!("paging did not end");
}

#[tokio::test]
async fn previous_page_returns_the_page_before_the_token() {
    let h = Harness::new().await;
    let t = aad_token(&h).await;
    for i in 0..5 {
        h.user(&format!("pg{i}"), &format!("Pg {i}")).await;
    }
    let pages = forward(&h, &t, "users?$filter=startswith(displayName,'Pg')&$top=2").await;
    assert_eq!(pages.iter().map(|p| p.0.len()).collect::<Vec<_>>(), vec![2, 2, 1]);
    let t1 = pages[0].1.clone().expect("token after page 1");
    let t2 = pages[1].1.clone().expect("token after page 2");
    assert!(t1.starts_with("directoryObjects/$/Microsoft.DirectoryServices.User?$skiptoken=X'"), "relative: {t1}");

    // The token returned with a page, with previous-page=true: that page again (the page
    // before the boundary the token marks), as in the reference's steps 1 to 4.
    let r = aad(&h, &t, Method::GET, &format!("{t1}&previous-page=true"), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(ids(&r), pages[0].0);
    assert_eq!(next(&r), None, "nothing precedes the first page");

    let r = aad(&h, &t, Method::GET, &format!("{t2}&previous-page=true"), None).await;
    assert_eq!(ids(&r), pages[1].0, "{}", r.text);
    // A backward page's token pages backward again with previous-page=true ...
    let back = next(&r).expect("a page precedes the second one");
    let r = aad(&h, &t, Method::GET, &format!("{back}&previous-page=true"), None).await;
    assert_eq!(ids(&r), pages[0].0, "{}", r.text);
    assert_eq!(next(&r), None);
    // ... and forward without it (the page after the boundary before page 2: page 2).
    let r = aad(&h, &t, Method::GET, &back, None).await;
    assert_eq!(ids(&r), pages[1].0, "{}", r.text);
    let r = aad(&h, &t, Method::GET, &format!("{back}&previous-page=false"), None).await;
    assert_eq!(ids(&r), pages[1].0, "{}", r.text);
}

#[tokio::test]
async fn previous_page_walks_back_through_every_page_in_any_order() {
    let h = Harness::new().await;
    let t = aad_token(&h).await;
    for i in 0..7 {
        h.user(&format!("walk{i}"), &format!("Walk {}", 7 - i)).await;
    }
    for start in [
        "users?$top=3",
        "users?$orderby=displayName desc&$top=2",
        "directoryObjects/$/Microsoft.DirectoryServices.User?$top=4",
    ] {
        let pages = forward(&h, &t, start).await;
        let all: Vec<String> = pages.iter().flat_map(|p| p.0.clone()).collect();
        assert_eq!(all.len(), 8, "{start}: seven users and the administrator");
        // From the last token backward to the first page: every item once, in order.
        let last = pages[pages.len() - 2].1.clone().expect("token before the last page");
        let mut link = Some(last);
        let mut back: Vec<Vec<String>> = Vec::new();
        while let Some(l) = link {
            let r = aad(&h, &t, Method::GET, &format!("{l}&previous-page=true"), None).await;
            assert_eq!(r.status, StatusCode::OK, "{l}: {}", r.text);
            back.push(ids(&r));
            link = next(&r);
            assert!(back.len() < 20, "backward paging did not end");
        }
        back.reverse();
        let mut seen: Vec<String> = back.concat();
        seen.extend(pages.last().map(|p| p.0.clone()).unwrap_or_default());
        assert_eq!(seen, all, "{start}");
    }
}

#[tokio::test]
async fn previous_page_errors() {
    let h = Harness::new().await;
    let t = aad_token(&h).await;
    // No boundary to page back from.
    let r = aad(&h, &t, Method::GET, "users?previous-page=true", None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(code(&r), "Request_BadRequest");
    // Not a boolean.
    h.user("second", "Second").await;
    let r = aad(&h, &t, Method::GET, "users?$top=1", None).await;
    let link = next(&r).expect("next");
    let r = aad(&h, &t, Method::GET, &format!("{link}&previous-page=maybe"), None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(code(&r), "Request_BadRequest");
    // A token of another query.
    let r = aad(&h, &t, Method::GET, "groups?$skiptoken=X'00'&previous-page=true", None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
}
