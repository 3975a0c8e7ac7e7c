//! Azure AD Graph 1.6 writes of a contact's phone and address properties (`telephoneNumber`,
//! `mobile`, `facsimileTelephoneNumber`, `physicalDeliveryOfficeName`, `streetAddress`, `city`,
//! `state`, `postalCode`, `country`): stored as the v1.0 `phones` and `addresses` of the
//! orgContact, so they read back the same through both APIs.

use axum::http::{Method, StatusCode};
use cerulean_directory::Caller;
use serde_json::{Value, json};

use crate::aadgraph::{aad, aad_token, code};
use crate::devices::get;
use crate::harness::Harness;

async fn import_contact(h: &Harness, body: Value) -> String {
    let body = body.as_object().cloned().expect("object body");
    h.app.directory.import_contact(&Caller::system(h.tenant()), &body).await.expect("import").id.to_string()
}

fn phone(v1: &Value, kind: &str) -> Option<Value> {
    v1["phones"].as_array()?.iter().find(|p| p["type"] == kind).map(|p| p["number"].clone())
}

#[tokio::test]
async fn contact_phones_and_address_are_written_through_1_6() {
    let h = Harness::new().await;
    let t = aad_token(&h).await;
    let id = import_contact(&h, json!({"displayName": "Erin", "mail": "erin@fabrikam.com"})).await;

    // Every property at once, on a contact with no phones and no address yet.
    let body = json!({
        "telephoneNumber": "+1 555 0101",
        "mobile": "+1 555 0100",
        "facsimileTelephoneNumber": "+1 555 0199",
        "physicalDeliveryOfficeName": "B/2",
        "streetAddress": "2 Main St",
        "city": "Redmond",
        "state": "WA",
        "postalCode": "98052",
        "country": "US",
    });
    let r = aad(&h, &t, Method::PATCH, &format!("contacts/{id}"), Some(body.clone())).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let c = aad(&h, &t, Method::GET, &format!("contacts/{id}"), None).await;
    for (k, v) in body.as_object().expect("object") {
        assert_eq!(&c.json[k], v, "{k}: {}", c.text);
    }
    // v1.0 sees the same values in phones and addresses.
    let v1 = get(&h, &format!("/v1.0/contacts/{id}")).await;
    assert_eq!(phone(&v1.json, "business"), Some(json!("+1 555 0101")), "{}", v1.text);
    assert_eq!(phone(&v1.json, "mobile"), Some(json!("+1 555 0100")));
    assert_eq!(phone(&v1.json, "businessFax"), Some(json!("+1 555 0199")));
    assert_eq!(v1.json["phones"].as_array().map(Vec::len), Some(3));
    let a = &v1.json["addresses"][0];
    assert_eq!(
        [&a["street"], &a["city"], &a["state"], &a["postalCode"], &a["countryOrRegion"], &a["officeLocation"]],
        [&json!("2 Main St"), &json!("Redmond"), &json!("WA"), &json!("98052"), &json!("US"), &json!("B/2")],
        "{}",
        v1.text
    );

    // One property changes, the rest of the collections stays; a cleared phone goes away; a
    // cleared address member is null.
    let r = aad(
        &h,
        &t,
        Method::PATCH,
        &format!("contacts/{id}"),
        Some(json!({"mobile": "+1 555 0111", "facsimileTelephoneNumber": null, "state": null, "city": "Seattle"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let v1 = get(&h, &format!("/v1.0/contacts/{id}")).await;
    assert_eq!(phone(&v1.json, "mobile"), Some(json!("+1 555 0111")));
    assert_eq!(phone(&v1.json, "business"), Some(json!("+1 555 0101")));
    assert_eq!(phone(&v1.json, "businessFax"), None, "{}", v1.text);
    assert_eq!(v1.json["addresses"].as_array().map(Vec::len), Some(1));
    assert_eq!(v1.json["addresses"][0]["city"], "Seattle");
    assert_eq!(v1.json["addresses"][0]["state"], Value::Null);
    assert_eq!(v1.json["addresses"][0]["street"], "2 Main St");
    let c = aad(&h, &t, Method::GET, &format!("contacts/{id}"), None).await;
    assert_eq!(c.json["facsimileTelephoneNumber"], Value::Null);
    assert_eq!(c.json["mobile"], "+1 555 0111");

    // Written on v1.0, read on 1.6.
    let r = h
        .graph(
            Method::PATCH,
            &format!("/v1.0/contacts/{id}"),
            Some(json!({"phones": [{"type": "business", "number": "+1 555 0202"}]})),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let c = aad(&h, &t, Method::GET, &format!("contacts/{id}"), None).await;
    assert_eq!((c.json["telephoneNumber"].clone(), c.json["mobile"].clone()), (json!("+1 555 0202"), Value::Null));
}

#[tokio::test]
async fn contact_phone_and_address_write_errors() {
    let h = Harness::new().await;
    let t = aad_token(&h).await;
    let id = import_contact(&h, json!({"displayName": "Finn"})).await;
    let synced = import_contact(&h, json!({"displayName": "Gale", "onPremisesSyncEnabled": true})).await;

    // Not a string.
    let r = aad(&h, &t, Method::PATCH, &format!("contacts/{id}"), Some(json!({"mobile": 5}))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(code(&r), "Request_BadRequest");
    assert!(r.text.contains("mobile"), "{}", r.text);
    // A synchronised contact cannot be changed ("dirSyncEnabled").
    let r = aad(&h, &t, Method::PATCH, &format!("contacts/{synced}"), Some(json!({"city": "Oslo"}))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let v1 = get(&h, &format!("/v1.0/contacts/{synced}")).await;
    assert_eq!(v1.json["addresses"], json!([]), "{}", v1.text);
    // No such contact.
    let missing = uuid::Uuid::new_v4();
    let r = aad(&h, &t, Method::PATCH, &format!("contacts/{missing}"), Some(json!({"city": "Oslo"}))).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    assert_eq!(code(&r), "Request_ResourceNotFound");
}
