//! Organizational contacts: not creatable through Graph (imported through the directory
//! instead), read with OData, updated and deleted only while not synchronised from
//! on-premises, group members with `memberOf` and the membership actions, manager and direct
//! reports.

use axum::http::{Method, StatusCode};
use cerulean_directory::{Caller, DirectoryError};
use serde_json::{Value, json};

use crate::devices::{get, get_eventual};
use crate::harness::{Harness, Reply, id_of};

const SYNCED: &str = "Unable to update the specified properties for on-premises mastered Directory Sync objects or objects currently undergoing migration.";

async fn import(h: &Harness, body: Value) -> Result<String, DirectoryError> {
    let body = body.as_object().cloned().expect("object body");
    h.app.directory.import_contact(&Caller::system(h.tenant()), &body).await.map(|r| r.id.to_string())
}

async fn contact(h: &Harness, body: Value) -> String {
    import(h, body).await.expect("import")
}

fn reference(id: &str) -> Value {
    json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{id}")})
}

fn ids(r: &Reply) -> Vec<String> {
    let mut v: Vec<String> = r.json["value"]
        .as_array()
        .unwrap_or_else(|| panic!("no value: {}", r.text))
        .iter()
        .map(|o| o["id"].as_str().unwrap_or_default().to_string())
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn contacts_are_imported_not_created() {
    let h = Harness::new().await;
    let r = h.post("/v1.0/contacts", json!({"displayName": "Dana"})).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{}", r.text);
    assert_eq!(r.code(), "Request_BadRequest");
    assert_eq!(r.message(), "Specified HTTP method is not allowed for the request target.");

    // The directory's import validates the body against orgContact.
    let bad = |e: DirectoryError| (e.status(), e.to_string());
    let e = import(&h, json!({"mail": "dana@fabrikam.com"})).await.expect_err("no name");
    assert_eq!(bad(e), (400, "Property displayName value is required but is empty or missing.".into()));
    let e = import(&h, json!({"displayName": "Dana", "colour": "blue"})).await.expect_err("unknown");
    assert!(bad(e).1.starts_with("The property 'colour' does not exist on type 'microsoft.graph.orgContact'."));
    let e = import(&h, json!({"displayName": "Dana", "phones": [{"number": "1", "type": "satellite"}]}))
        .await
        .expect_err("enum");
    assert_eq!(e.status(), 400);
    let e = import(&h, json!({"displayName": "Dana", "id": "nope"})).await.expect_err("id");
    assert_eq!(e.status(), 400);
    let e = import(&h, json!({"displayName": "Dana", "onPremisesSyncEnabled": "yes"})).await.expect_err("bool");
    assert_eq!(e.status(), 400);
    let e =
        import(&h, json!({"displayName": "Dana", "proxyAddresses": "smtp:dana@fabrikam.com"})).await.expect_err("list");
    assert_eq!(e.status(), 400);
    let e = import(&h, json!({"displayName": "Dana", "manager@odata.bind": format!("https://graph.microsoft.com/v1.0/users/{}", uuid::Uuid::new_v4())}))
        .await
        .expect_err("manager");
    assert_eq!(e.status(), 404);

    let id = uuid::Uuid::new_v4().to_string();
    let got = contact(
        &h,
        json!({
            "id": id, "displayName": "Dana Fabrikam", "givenName": "Dana", "surname": "Fabrikam",
            "mail": "dana@fabrikam.com", "mailNickname": "dana", "companyName": "Fabrikam",
            "proxyAddresses": ["SMTP:dana@fabrikam.com"],
            "addresses": [{"city": "Oslo", "countryOrRegion": "Norway"}],
            "phones": [{"number": "+47 1234", "type": "business"}],
        }),
    )
    .await;
    assert_eq!(got, id);
    let e = import(&h, json!({"id": id, "displayName": "Again"})).await.expect_err("taken");
    assert_eq!(bad(e), (400, "Another object with the same value for property id already exists.".into()));

    let r = get(&h, &format!("/v1.0/contacts/{id}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["@odata.context"], "https://cerulean.test/v1.0/$metadata#contacts/$entity");
    assert_eq!(r.json["proxyAddresses"], json!(["SMTP:dana@fabrikam.com"]));
    assert_eq!(r.json["phones"][0]["type"], "business");
    assert_eq!(r.json["addresses"][0]["city"], "Oslo");
}

#[tokio::test]
async fn contacts_are_read_updated_and_deleted_unless_synced() {
    let h = Harness::new().await;
    let dana =
        contact(&h, json!({"displayName": "Dana", "companyName": "Fabrikam", "mail": "dana@fabrikam.com"})).await;
    let synced = contact(
        &h,
        json!({"displayName": "Sam", "companyName": "Contoso", "onPremisesSyncEnabled": true,
               "onPremisesLastSyncDateTime": "2024-05-01T10:00:00Z"}),
    )
    .await;

    let r = get(&h, "/v1.0/contacts?$filter=companyName eq 'Fabrikam'&$select=id,displayName,mail").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(ids(&r), vec![dana.clone()]);
    assert_eq!(r.json["@odata.context"], "https://cerulean.test/v1.0/$metadata#contacts(id,displayName,mail)");
    let r = get(&h, "/v1.0/contacts?$filter=onPremisesSyncEnabled eq true").await;
    assert_eq!(ids(&r), vec![synced.clone()], "{}", r.text);
    let r = get(&h, "/v1.0/contacts?$orderby=displayName desc").await;
    assert_eq!(r.json["value"][0]["displayName"], "Sam", "{}", r.text);
    assert_eq!(get_eventual(&h, "/v1.0/contacts/$count").await.text, "2");
    assert_eq!(get(&h, &format!("/v1.0/contacts/{}", uuid::Uuid::new_v4())).await.status, StatusCode::NOT_FOUND);

    // Updates: cloud contacts only; read-only properties refused.
    let r = h.patch(&format!("/v1.0/contacts/{dana}"), json!({"jobTitle": "Buyer"})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(get(&h, &format!("/v1.0/contacts/{dana}")).await.json["jobTitle"], "Buyer");
    let r = h.patch(&format!("/v1.0/contacts/{dana}"), json!({"onPremisesSyncEnabled": false})).await;
    assert_eq!(r.message(), "Property 'onPremisesSyncEnabled' is read-only and cannot be set.", "{}", r.text);
    let r = h.patch(&format!("/v1.0/contacts/{dana}"), json!({"displayName": ""})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = h.patch(&format!("/v1.0/contacts/{synced}"), json!({"jobTitle": "Buyer"})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!((r.code(), r.message()), ("Request_BadRequest", SYNCED));
    let r = h.delete(&format!("/v1.0/contacts/{synced}")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.code(), "Request_BadRequest");
    assert_eq!(
        r.message(),
        "Data contract version does not allow 'Delete' operations against instances of resource 'OrgContact'."
    );
    assert_eq!(get(&h, &format!("/v1.0/contacts/{synced}")).await.status, StatusCode::OK);

    // A reader can read, not write.
    let reader = h.sign(h.claims(&["OrgContact.Read.All"])).await;
    let r = h.graph_with(Method::GET, "/v1.0/contacts", None, &reader, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let path = format!("/v1.0/contacts/{dana}");
    let r = h.graph_with(Method::PATCH, &path, Some(json!({"jobTitle": "x"})), &reader, &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r = h.graph_with(Method::DELETE, &path, None, &reader, &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);

    // Deleting is for good.
    assert_eq!(h.delete(&path).await.status, StatusCode::NO_CONTENT);
    assert_eq!(get(&h, &path).await.status, StatusCode::NOT_FOUND);
    assert_eq!(get(&h, &format!("/v1.0/directory/deletedItems/{dana}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(h.delete(&path).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn contacts_in_groups_and_reporting_lines() {
    let h = Harness::new().await;
    let boss = id_of(&h.user("boss", "The Boss").await);
    let lead = contact(
        &h,
        json!({"displayName": "Lead", "manager@odata.bind": format!("https://graph.microsoft.com/v1.0/users/{boss}")}),
    )
    .await;
    let report = contact(
        &h,
        json!({"displayName": "Report", "manager@odata.bind": format!("https://graph.microsoft.com/v1.0/directoryObjects/{lead}")}),
    )
    .await;
    let inner = id_of(&h.group("partners", "Partners").await);
    let outer = id_of(&h.group("external", "External").await);
    for (g, m) in [(&inner, &lead), (&outer, &inner)] {
        let r = h.post(&format!("/v1.0/groups/{g}/members/$ref"), reference(m)).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    }

    // Manager and direct reports.
    let r = get(&h, &format!("/v1.0/contacts/{lead}/manager")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        (r.json["id"].as_str(), r.json["@odata.type"].as_str()),
        (Some(boss.as_str()), Some("#microsoft.graph.user"))
    );
    let r = get(&h, &format!("/v1.0/contacts/{report}/manager?$select=displayName")).await;
    assert_eq!(r.json["displayName"], "Lead", "{}", r.text);
    let r = get(&h, &format!("/v1.0/contacts/{lead}/directReports")).await;
    assert_eq!(ids(&r), vec![report.clone()], "{}", r.text);
    assert_eq!(r.json["value"][0]["@odata.type"], "#microsoft.graph.orgContact");
    let r = get(&h, &format!("/v1.0/users/{boss}/directReports")).await;
    assert_eq!(ids(&r), vec![lead.clone()], "{}", r.text);
    let r = get(&h, &format!("/v1.0/contacts/{boss}/manager")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "a user is not a contact: {}", r.text);
    let r = get(&h, &format!("/v1.0/contacts/{boss}/directReports")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let no_manager = contact(&h, json!({"displayName": "Alone"})).await;
    let r = get(&h, &format!("/v1.0/contacts/{no_manager}/manager")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    assert_eq!(
        r.message(),
        "Resource 'manager' does not exist or one of its queried reference-property objects are not present."
    );

    // Membership.
    let r = get(&h, &format!("/v1.0/groups/{inner}/members/microsoft.graph.orgContact")).await;
    assert_eq!(ids(&r), vec![lead.clone()], "{}", r.text);
    assert_eq!(r.json["@odata.context"], "https://cerulean.test/v1.0/$metadata#contacts");
    let r = get(&h, &format!("/v1.0/contacts/{lead}/memberOf")).await;
    assert_eq!(ids(&r), vec![inner.clone()], "{}", r.text);
    assert_eq!(get_eventual(&h, &format!("/v1.0/contacts/{lead}/memberOf/$count")).await.text, "1");
    let r = get(&h, &format!("/v1.0/contacts/{lead}/transitiveMemberOf")).await;
    let mut want = vec![inner.clone(), outer.clone()];
    want.sort();
    assert_eq!(ids(&r), want, "{}", r.text);
    let r = get(&h, &format!("/v1.0/contacts/{lead}/memberOf/microsoft.graph.group?$select=id,displayName")).await;
    assert_eq!(ids(&r), vec![inner.clone()], "{}", r.text);
    let r = get(
        &h,
        &format!("/v1.0/contacts/{lead}/transitiveMemberOf/microsoft.graph.group?$filter=displayName eq 'External'"),
    )
    .await;
    assert_eq!(ids(&r), vec![outer.clone()], "{}", r.text);
    assert_eq!(get_eventual(&h, &format!("/v1.0/contacts/{lead}/transitiveMemberOf/$count")).await.text, "2");
    let r = h.post(&format!("/v1.0/contacts/{lead}/checkMemberGroups"), json!({"groupIds": [outer]})).await;
    assert_eq!(r.json["value"], json!([outer]), "{}", r.text);
    let r = h.post(&format!("/v1.0/contacts/{lead}/getMemberGroups"), json!({"securityEnabledOnly": false})).await;
    assert_eq!(r.json["value"].as_array().map(Vec::len), Some(2), "{}", r.text);
    let r = h.post(&format!("/v1.0/contacts/{lead}/checkMemberObjects"), json!({"ids": [inner, boss]})).await;
    assert_eq!(r.json["value"], json!([inner]), "{}", r.text);
    let r = h.post(&format!("/v1.0/contacts/{lead}/getMemberObjects"), json!({})).await;
    assert_eq!(r.json["value"].as_array().map(Vec::len), Some(2), "{}", r.text);
    let r = h.post(&format!("/v1.0/contacts/{lead}/getMemberObjects"), json!({"securityEnabledOnly": "yes"})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);

    // A deleted contact leaves its groups.
    assert_eq!(h.delete(&format!("/v1.0/contacts/{lead}")).await.status, StatusCode::NO_CONTENT);
    let r = get(&h, &format!("/v1.0/groups/{outer}/transitiveMembers")).await;
    assert_eq!(ids(&r), vec![inner.clone()], "{}", r.text);
    let r = get(&h, &format!("/v1.0/contacts/{report}/manager")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
}

#[tokio::test]
async fn contact_delta_reports_exactly_the_changes() {
    let h = Harness::new().await;
    let kept = contact(&h, json!({"displayName": "Kept Contact", "mail": "kept@fabrikam.com"})).await;
    let renamed = contact(&h, json!({"displayName": "Old Name", "mail": "old@fabrikam.com"})).await;
    let first = h.get("/v1.0/contacts/delta").await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    assert_eq!(ids(&first), {
        let mut v = vec![kept.clone(), renamed.clone()];
        v.sort();
        v
    });
    let delta = first.json["@odata.deltaLink"].as_str().expect("deltaLink").replace("https://cerulean.test", "");
    let r = h.patch(&format!("/v1.0/contacts/{renamed}"), json!({"displayName": "New Name"})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = h.delete(&format!("/v1.0/contacts/{kept}")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let changes = h.get(&delta).await;
    assert_eq!(changes.status, StatusCode::OK, "{}", changes.text);
    let items = changes.json["value"].as_array().expect("value");
    assert_eq!(items.len(), 2, "{}", changes.text);
    let by_id = |id: &str| items.iter().find(|i| i["id"] == id).cloned().expect("item");
    assert_eq!(by_id(&renamed)["displayName"], "New Name");
    // Contacts are deleted for good.
    assert_eq!(by_id(&kept)["@removed"], json!({"reason": "deleted"}));
    // The reference's permissions.
    let reader = h.sign(h.claims(&["OrgContact.Read.All"])).await;
    let r = h.graph_with(Method::GET, "/v1.0/contacts/delta", None, &reader, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let users_only = h.sign(h.claims(&["User.Read.All"])).await;
    let r = h.graph_with(Method::GET, "/v1.0/contacts/delta", None, &users_only, &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
}
