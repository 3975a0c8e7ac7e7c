//! Azure AD Graph OData 3 `$batch` over HTTP: `multipart/mixed` bodies with queries and change
//! sets, per-part status lines, change sets as one transaction, bounds and malformed bodies.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::{Value, json};

use crate::aadgraph::{aad_token, code};
use crate::harness::{Harness, Reply, id_of};

/// An operation: method, URL (as written in the part), optional JSON body, extra headers.
struct Op<'a> {
    method: &'a str,
    url: String,
    body: Option<Value>,
    headers: &'a [&'a str],
}

fn op<'a>(method: &'a str, url: String, body: Option<Value>) -> Op<'a> {
    Op { method, url, body, headers: &[] }
}

fn http_part(o: &Op) -> String {
    let mut s = String::from("Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n");
    s.push_str(&format!("{} {} HTTP/1.1\r\nAccept: application/json\r\n", o.method, o.url));
    for h in o.headers {
        s.push_str(&format!("{h}\r\n"));
    }
    match &o.body {
        Some(b) => s.push_str(&format!("Content-Type: application/json\r\n\r\n{b}\r\n")),
        None => s.push_str("\r\n"),
    }
    s
}

/// A batch item: a query or a change set.
enum Item<'a> {
    Query(Op<'a>),
    ChangeSet(Vec<Op<'a>>),
}

fn batch_body(items: &[Item]) -> String {
    let mut s = String::new();
    for (i, item) in items.iter().enumerate() {
        s.push_str("--batch_b1\r\n");
        match item {
            Item::Query(o) => s.push_str(&http_part(o)),
            Item::ChangeSet(ops) => {
                let cs = format!("changeset_c{i}");
                s.push_str(&format!("Content-Type: multipart/mixed; boundary={cs}\r\n\r\n"));
                for o in ops {
                    s.push_str(&format!("--{cs}\r\n"));
                    s.push_str(&http_part(o));
                }
                s.push_str(&format!("--{cs}--\r\n"));
            }
        }
    }
    s.push_str("--batch_b1--\r\n");
    s
}

async fn post_batch(h: &Harness, token: &str, content_type: &str, body: String) -> Reply {
    let req = Request::builder()
        .method(Method::POST)
        .uri(format!("/{}/$batch?api-version=1.6", h.boot.tenant_id))
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", content_type)
        .body(Body::from(body))
        .expect("request");
    h.send(req).await
}

async fn batch(h: &Harness, token: &str, items: &[Item<'_>]) -> Reply {
    post_batch(h, token, "multipart/mixed; boundary=batch_b1", batch_body(items)).await
}

/// The status codes of the answer's operations, in order.
fn statuses(r: &Reply) -> Vec<u16> {
    r.text
        .lines()
        .filter_map(|l| l.strip_prefix("HTTP/1.1 "))
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect()
}

/// `/{tenant}/{path}?api-version=1.6`, as a part's URL.
fn path(h: &Harness, p: &str) -> String {
    format!("/{}/{p}?api-version=1.6", h.boot.tenant_id)
}

#[tokio::test]
async fn the_reference_sample_runs_queries_and_change_sets() {
    let h = Harness::new().await;
    let t = aad_token(&h).await;
    let boss = id_of(&h.user("batch-boss", "Batch Boss").await);
    let upn = "batchuser@contoso.onmicrosoft.com";
    let create = Op {
        method: "POST",
        url: path(&h, "users"),
        body: Some(json!({
            "accountEnabled": true,
            "displayName": "Test User",
            "mailNickname": "batchuser",
            "passwordProfile": {"password": "xWwvJ]6NMw+bWH-d", "forceChangePasswordNextLogin": false},
            "userPrincipalName": upn,
        })),
        headers: &["Prefer: return-no-content"],
    };
    let items = [
        Item::ChangeSet(vec![create]),
        Item::ChangeSet(vec![
            op(
                "PATCH",
                path(&h, &format!("users/{upn}")),
                Some(json!({"department": "Engineering", "jobTitle": "Test Engineer"})),
            ),
            op(
                "PUT",
                path(&h, &format!("users/{upn}/$links/manager")),
                Some(json!({"url": format!("https://graph.windows.net/{}/users/{boss}", h.boot.tenant_id)})),
            ),
        ]),
        // Relative to the service root, and absolute: both address the batch's tenant.
        Item::Query(op("GET", format!("users/{upn}/$links/manager?api-version=1.6"), None)),
        Item::ChangeSet(vec![op("DELETE", path(&h, &format!("users/{upn}")), None)]),
        Item::Query(op("GET", format!("https://graph.windows.net{}", path(&h, &format!("users/{upn}"))), None)),
    ];
    let r = batch(&h, &t, &items).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let ct = r.headers["content-type"].to_str().expect("ct");
    assert!(ct.starts_with("multipart/mixed; boundary=batchresponse_"), "{ct}");
    assert!(r.headers.contains_key("ocp-aad-diagnostics-server-name"));
    assert_eq!(statuses(&r), vec![204, 204, 204, 200, 204, 404], "{}", r.text);
    assert!(r.text.contains("Preference-Applied: return-no-content"), "{}", r.text);
    assert!(r.text.contains("/Microsoft.DirectoryServices.User"), "Location of the new user: {}", r.text);
    assert!(r.text.contains(&format!("/directoryObjects/{boss}/Microsoft.DirectoryServices.User")), "{}", r.text);
    assert!(r.text.contains("changesetresponse_"), "{}", r.text);
    assert!(r.text.contains("Request_ResourceNotFound"), "{}", r.text);
    let boundary = ct.rsplit('=').next().expect("boundary");
    assert!(r.text.trim_end().ends_with(&format!("--{boundary}--")), "{}", r.text);
    // The user went through the whole life cycle: it is in the recycle bin.
    let r = h.get("/v1.0/directory/deletedItems/microsoft.graph.user").await;
    let deleted = r.json["value"].as_array().expect("value");
    let user =
        deleted.iter().find(|u| u["userPrincipalName"].as_str().is_some_and(|x| x.ends_with(upn))).expect("deleted");
    assert_eq!(user["jobTitle"], "Test Engineer", "{user}");
}

#[tokio::test]
async fn a_failed_change_set_is_rolled_back_and_answered_once() {
    let h = Harness::new().await;
    let t = aad_token(&h).await;
    let group = id_of(&h.group("batch-group", "Batch Group").await);
    let member = id_of(&h.user("batch-member", "Batch Member").await);
    let old_member = id_of(&h.user("batch-old", "Batch Old").await);
    let r = h
        .post(
            &format!("/v1.0/groups/{group}/members/$ref"),
            json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{old_member}")}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let link =
        |id: &str| json!({"url": format!("https://graph.windows.net/{}/directoryObjects/{id}", h.boot.tenant_id)});
    let missing = uuid::Uuid::new_v4().to_string();
    let items = [
        Item::ChangeSet(vec![
            op("PATCH", path(&h, &format!("groups/{group}")), Some(json!({"description": "changed in batch"}))),
            op("POST", path(&h, &format!("groups/{group}/$links/members")), Some(link(&member))),
            op("DELETE", path(&h, &format!("groups/{group}/$links/members/{old_member}")), None),
            op("POST", path(&h, &format!("groups/{group}/$links/members")), Some(link(&missing))),
        ]),
        Item::Query(op("GET", path(&h, &format!("groups/{group}")), None)),
    ];
    let r = batch(&h, &t, &items).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    // One answer for the failed change set (the failing operation's), then the query.
    assert_eq!(statuses(&r), vec![404, 200], "{}", r.text);
    assert!(!r.text.contains("changesetresponse_"), "{}", r.text);
    // Nothing the change set staged was written.
    let g = h.get(&format!("/v1.0/groups/{group}")).await;
    assert_eq!(g.json["description"], Value::Null, "{}", g.text);
    let members = h.get(&format!("/v1.0/groups/{group}/members")).await;
    let ids: Vec<&str> =
        members.json["value"].as_array().expect("value").iter().filter_map(|m| m["id"].as_str()).collect();
    assert_eq!(ids, vec![old_member.as_str()], "{}", members.text);

    // A user's change set: manager set back, deletion restored.
    let boss1 = id_of(&h.user("batch-boss1", "Batch Boss 1").await);
    let boss2 = id_of(&h.user("batch-boss2", "Batch Boss 2").await);
    let r = h
        .graph(
            Method::PUT,
            &format!("/v1.0/users/{member}/manager/$ref"),
            Some(json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/users/{boss1}")})),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let items = [Item::ChangeSet(vec![
        op("PUT", path(&h, &format!("users/{member}/$links/manager")), Some(link(&boss2))),
        op("DELETE", path(&h, &format!("users/{member}")), None),
        op("DELETE", path(&h, &format!("users/{member}/$links/manager")), None),
    ])];
    let r = batch(&h, &t, &items).await;
    assert_eq!(statuses(&r), vec![404], "{}", r.text);
    let r = h.get(&format!("/v1.0/users/{member}/manager")).await;
    assert_eq!(r.status, StatusCode::OK, "the user is back: {}", r.text);
    assert_eq!(r.json["id"], boss1, "{}", r.text);

    // The same change set without the failing operation commits.
    let items = [Item::ChangeSet(vec![
        op("PATCH", path(&h, &format!("groups/{group}")), Some(json!({"description": "changed in batch"}))),
        op("POST", path(&h, &format!("groups/{group}/$links/members")), Some(link(&member))),
    ])];
    let r = batch(&h, &t, &items).await;
    assert_eq!(statuses(&r), vec![204, 204], "{}", r.text);
    assert_eq!(h.get(&format!("/v1.0/groups/{group}")).await.json["description"], "changed in batch");
}

/// The changes recorded since `delta` (a `/v1.0/users/delta` or `/groups/delta` deltaLink path).
async fn changes_since(h: &Harness, delta: &str) -> Vec<Value> {
    let r = h.get(delta).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.json["value"].as_array().expect("value").clone()
}

async fn latest(h: &Harness, set: &str) -> String {
    let r = h.get(&format!("/v1.0/{set}/delta?$deltatoken=latest")).await;
    let link = r.json["@odata.deltaLink"].as_str().expect("deltaLink");
    link.split_once("/v1.0/").map(|(_, p)| format!("/v1.0/{p}")).expect("path")
}

#[tokio::test]
async fn a_change_set_is_one_transaction_nothing_of_a_failed_one_is_ever_written() {
    let h = Harness::new().await;
    let t = aad_token(&h).await;
    let user = id_of(&h.user("tx-user", "Tx User").await);
    let group = id_of(&h.group("tx-group", "Tx Group").await);
    let link =
        |id: &str| json!({"url": format!("https://graph.windows.net/{}/directoryObjects/{id}", h.boot.tenant_id)});
    let users_delta = latest(&h, "users").await;

    // The second operation fails: the first one's update was never written (not even briefly:
    // the change log, which delta queries read, holds nothing of it).
    let missing = uuid::Uuid::new_v4().to_string();
    let items = [Item::ChangeSet(vec![
        op("PATCH", path(&h, &format!("users/{user}")), Some(json!({"jobTitle": "Never", "department": "None"}))),
        op("PUT", path(&h, &format!("users/{user}/$links/manager")), Some(link(&missing))),
    ])];
    let r = batch(&h, &t, &items).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    assert_eq!(statuses(&r), vec![404], "{}", r.text);
    let u = h.get(&format!("/v1.0/users/{user}?$select=jobTitle,department")).await;
    assert_eq!((u.json["jobTitle"].clone(), u.json["department"].clone()), (Value::Null, Value::Null), "{}", u.text);
    assert_eq!(changes_since(&h, &users_delta).await, Vec::<Value>::new(), "nothing reached the change log");

    // Operations that pass one by one but conflict together (the same member added twice)
    // fail at commit: the change set answers the store's refusal once, and nothing is written.
    let groups_delta = latest(&h, "groups").await;
    let items = [Item::ChangeSet(vec![
        op("PATCH", path(&h, &format!("groups/{group}")), Some(json!({"description": "twice"}))),
        op("POST", path(&h, &format!("groups/{group}/$links/members")), Some(link(&user))),
        op("POST", path(&h, &format!("groups/{group}/$links/members")), Some(link(&user))),
    ])];
    let r = batch(&h, &t, &items).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    assert_eq!(statuses(&r), vec![400], "{}", r.text);
    assert!(r.text.contains("One or more added object references already exist"), "{}", r.text);
    assert_eq!(h.get(&format!("/v1.0/groups/{group}")).await.json["description"], Value::Null);
    let members = h.get(&format!("/v1.0/groups/{group}/members")).await;
    assert_eq!(members.json["value"], json!([]), "{}", members.text);
    assert_eq!(changes_since(&h, &groups_delta).await, Vec::<Value>::new());

    // Each operation alone: committed together, all visible.
    let items = [Item::ChangeSet(vec![
        op("PATCH", path(&h, &format!("groups/{group}")), Some(json!({"description": "once"}))),
        op("POST", path(&h, &format!("groups/{group}/$links/members")), Some(link(&user))),
    ])];
    let r = batch(&h, &t, &items).await;
    assert_eq!(statuses(&r), vec![204, 204], "{}", r.text);
    assert_eq!(h.get(&format!("/v1.0/groups/{group}")).await.json["description"], "once");
    let members = h.get(&format!("/v1.0/groups/{group}/members")).await;
    assert_eq!(members.json["value"][0]["id"], user, "{}", members.text);
}

#[tokio::test]
async fn malformed_and_oversized_batches_are_refused_whole() {
    let h = Harness::new().await;
    let t = aad_token(&h).await;
    let g = id_of(&h.group("batch-bounds", "Batch Bounds").await);
    let u = id_of(&h.user("batch-bounds-u", "Batch Bounds U").await);
    let get = || op("GET", path(&h, "users"), None);
    let patch = |p: &str| op("PATCH", path(&h, p), Some(json!({"description": "x"})));

    let refused = |r: &Reply| {
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
        assert_eq!(code(r), "Request_BadRequest", "{}", r.text);
        r.json["odata.error"]["message"]["value"].as_str().unwrap_or_default().to_string()
    };
    // Not multipart, no boundary, no close delimiter, not a request line.
    let m = refused(&post_batch(&h, &t, "application/json", "{}".into()).await);
    assert!(m.contains("multipart/mixed"), "{m}");
    refused(&post_batch(&h, &t, "multipart/mixed", batch_body(&[Item::Query(get())])).await);
    let cut = batch_body(&[Item::Query(get())]).replace("--batch_b1--\r\n", "");
    let m = refused(&post_batch(&h, &t, "multipart/mixed; boundary=batch_b1", cut).await);
    assert!(m.contains("close delimiter"), "{m}");
    let garbage = "--batch_b1\r\nContent-Type: application/http\r\n\r\nnonsense\r\n--batch_b1--\r\n".to_string();
    refused(&post_batch(&h, &t, "multipart/mixed; boundary=batch_b1", garbage).await);
    // Too large; too many header lines in a part.
    let huge = format!("--batch_b1\r\n{}\r\n--batch_b1--\r\n", "x".repeat(1024 * 1024 + 1));
    let m = refused(&post_batch(&h, &t, "multipart/mixed; boundary=batch_b1", huge).await);
    assert!(m.contains("maximum size"), "{m}");
    let headers: String = (0..70).map(|i| format!("X-H{i}: v\r\n")).collect();
    let crowded = format!(
        "--batch_b1\r\nContent-Type: application/http\r\n\r\nGET /{}/users?api-version=1.6 HTTP/1.1\r\n{headers}\r\n--batch_b1--\r\n",
        h.boot.tenant_id
    );
    let m = refused(&post_batch(&h, &t, "multipart/mixed; boundary=batch_b1", crowded).await);
    assert!(m.contains("too many header lines"), "{m}");
    // More than five items.
    let six: Vec<Item> = (0..6).map(|_| Item::Query(get())).collect();
    let m = refused(&batch(&h, &t, &six).await);
    assert!(m.contains("at most 5"), "{m}");
    // Change sets: one modification, one source entity, no GET; writes only in change sets.
    refused(
        &batch(&h, &t, &[Item::ChangeSet(vec![patch(&format!("groups/{g}")), patch(&format!("groups/{g}"))])]).await,
    );
    let m = refused(
        &batch(
            &h,
            &t,
            &[Item::ChangeSet(vec![
                patch(&format!("groups/{g}")),
                op("DELETE", path(&h, &format!("users/{u}/$links/manager")), None),
            ])],
        )
        .await,
    );
    assert!(m.contains("single source entity"), "{m}");
    refused(&batch(&h, &t, &[Item::ChangeSet(vec![get()])]).await);
    refused(&batch(&h, &t, &[Item::Query(patch(&format!("groups/{g}")))]).await);
    refused(&batch(&h, &t, &[Item::Query(op("GET", path(&h, "$batch"), None))]).await);
    // Nothing ran.
    assert_eq!(h.get(&format!("/v1.0/groups/{g}")).await.json["description"], Value::Null);

    // Queries that are functions are fine outside change sets.
    let r =
        batch(&h, &t, &[Item::Query(op("POST", path(&h, "isMemberOf"), Some(json!({"groupId": g, "memberId": u}))))])
            .await;
    assert_eq!(statuses(&r), vec![200], "{}", r.text);
    assert!(r.text.contains("\"value\":false"), "{}", r.text);

    // Content-ID is echoed on the answer of its part.
    let tagged = batch_body(&[Item::Query(get())]).replacen(
        "Content-Transfer-Encoding: binary\r\n",
        "Content-Transfer-Encoding: binary\r\nContent-ID: q1\r\n",
        1,
    );
    let r = post_batch(&h, &t, "multipart/mixed; boundary=batch_b1", tagged).await;
    assert_eq!(statuses(&r), vec![200], "{}", r.text);
    assert!(r.text.contains("Content-ID: q1\r\n"), "{}", r.text);

    // Authentication applies to the batch; permissions and tenants to each part.
    assert_eq!(batch(&h, "", &[Item::Query(get())]).await.status, StatusCode::UNAUTHORIZED);
    let mut claims = h.claims(&["Directory.Read.All"]);
    claims["aud"] = json!("https://graph.windows.net");
    let reader = h.sign(claims).await;
    let r = batch(&h, &reader, &[Item::Query(get()), Item::ChangeSet(vec![patch(&format!("groups/{g}"))])]).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    assert_eq!(statuses(&r), vec![200, 403], "{}", r.text);
    let r = batch(&h, &t, &[Item::Query(op("GET", "/fabrikam.example/users?api-version=1.6".into(), None))]).await;
    assert_eq!(statuses(&r), vec![400], "{}", r.text);
    // api-version is required on the batch.
    let req = Request::builder()
        .method(Method::POST)
        .uri(format!("/{}/$batch", h.boot.tenant_id))
        .header("authorization", format!("Bearer {t}"))
        .header("content-type", "multipart/mixed; boundary=batch_b1")
        .body(Body::from(batch_body(&[Item::Query(get())])))
        .expect("request");
    let r = h.send(req).await;
    assert_eq!(code(&r), "Request_DataContractVersionMissing", "{}", r.text);
}
