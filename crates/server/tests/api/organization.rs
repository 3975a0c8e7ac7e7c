//! The organization (`/organization`): the tenant as Graph's one `organization` object, its
//! derived properties (`verifiedDomains` following the domains), updates of the writable
//! properties, refusal of read-only ones, and the permission rules.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::Harness;

async fn org(h: &Harness) -> Value {
    let r = h.get("/v1.0/organization").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let items = r.json["value"].as_array().expect("value");
    assert_eq!(items.len(), 1, "one organization per tenant");
    items[0].clone()
}

#[tokio::test]
async fn organization_reads_the_tenant() {
    let h = Harness::new().await;
    let r = h.get("/v1.0/organization").await;
    assert!(r.json["@odata.context"].as_str().expect("context").ends_with("/v1.0/$metadata#organization"));
    let o = org(&h).await;
    assert_eq!(o["id"], h.boot.tenant_id.as_str());
    assert_eq!(o["tenantType"], "AAD");
    // The plans of the tenant's subscribed SKUs (a new tenant has Office 365 E3 and Entra ID P2).
    let plans = o["assignedPlans"].as_array().expect("assignedPlans");
    assert!(
        plans.iter().any(|p| p["servicePlanId"] == "eec0eb4f-6444-4f95-aba0-50c24d67f998"
            && p["capabilityStatus"] == "Enabled"),
        "{plans:?}"
    );
    assert_eq!(o["businessPhones"], json!([]));
    assert_eq!(o["city"], Value::Null);
    assert!(o["displayName"].as_str().is_some_and(|n| !n.is_empty()));
    assert!(o["createdDateTime"].as_str().is_some_and(|t| t.ends_with('Z')));
    assert_eq!(
        o["verifiedDomains"],
        json!([{
            "capabilities": "Email, OfficeCommunicationsOnline",
            "isDefault": true,
            "isInitial": true,
            "name": "contoso.onmicrosoft.com",
            "type": "Managed",
        }])
    );

    let one = h.get(&format!("/v1.0/organization/{}", h.boot.tenant_id)).await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.text);
    assert!(one.json["@odata.context"].as_str().expect("context").ends_with("#organization/$entity"));
    assert_eq!(one.json["id"], h.boot.tenant_id.as_str());

    let sel = h.get("/v1.0/organization?$select=id,city").await;
    assert_eq!(sel.status, StatusCode::OK, "{}", sel.text);
    let item = sel.json["value"][0].as_object().expect("item");
    let mut keys: Vec<&String> = item.keys().collect();
    keys.sort();
    assert_eq!(keys, vec!["city", "id"]);
    let bad = h.get("/v1.0/organization?$select=nope").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text);

    let r = h.get(&format!("/v1.0/directoryObjects/{}", h.boot.tenant_id)).await;
    assert_eq!(r.status, StatusCode::OK, "the organization is a directory object before any update: {}", r.text);
    assert_eq!(r.json["@odata.type"], "#microsoft.graph.organization");

    let other = uuid::Uuid::new_v4();
    let missing = h.get(&format!("/v1.0/organization/{other}")).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND, "{}", missing.text);
    assert_eq!(missing.code(), "Request_ResourceNotFound");
}

#[tokio::test]
async fn organization_updates_writable_properties_only() {
    let h = Harness::new().await;
    let path = format!("/v1.0/organization/{}", h.boot.tenant_id);
    let r = h
        .patch(
            &path,
            json!({
                "street": "1 Microsoft Way",
                "city": "Redmond",
                "state": "WA",
                "postalCode": "98052",
                "country": "United States",
                "businessPhones": ["+1 425 555 0100"],
                "preferredLanguage": "en-US",
                "technicalNotificationMails": ["it@contoso.com"],
                "marketingNotificationEmails": ["marketing@contoso.com"],
                "privacyProfile": {"contactEmail": "privacy@contoso.com", "statementUrl": "https://contoso.com/privacy"},
            }),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let o = org(&h).await;
    assert_eq!(o["street"], "1 Microsoft Way");
    assert_eq!(o["city"], "Redmond");
    assert_eq!(o["businessPhones"], json!(["+1 425 555 0100"]));
    assert_eq!(o["technicalNotificationMails"], json!(["it@contoso.com"]));
    assert_eq!(o["privacyProfile"]["statementUrl"], "https://contoso.com/privacy");
    assert_eq!(o["verifiedDomains"][0]["name"], "contoso.onmicrosoft.com", "derived properties stay");

    // A second update merges; null clears.
    let r = h.patch(&path, json!({"city": null, "state": "Washington"})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let o = org(&h).await;
    assert_eq!(
        (o["city"].clone(), o["state"].clone(), o["street"].clone()),
        (Value::Null, json!("Washington"), json!("1 Microsoft Way"))
    );

    for body in [
        json!({"verifiedDomains": []}),
        json!({"tenantType": "AAD"}),
        json!({"displayName": "Other"}),
        json!({"assignedPlans": []}),
        json!({"createdDateTime": "2020-01-01T00:00:00Z"}),
        json!({"id": h.boot.tenant_id}),
    ] {
        let r = h.patch(&path, body.clone()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {}", r.text);
        assert_eq!(r.code(), "Request_BadRequest");
        assert!(r.message().contains("read-only"), "{body}: {}", r.message());
    }
    for body in [
        json!({"technicalNotificationMails": ["not-an-address"]}),
        json!({"businessPhones": ["1", "2"]}),
        json!({"privacyProfile": {"statementUrl": "ftp://x"}}),
        json!({"defaultUsageLocation": "usa"}),
        json!({"city": 5}),
        json!({"noSuchProperty": 1}),
    ] {
        let r = h.patch(&path, body.clone()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {}", r.text);
    }
    // The organization is a directory object.
    let r = h.get(&format!("/v1.0/directoryObjects/{}", h.boot.tenant_id)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["@odata.type"], "#microsoft.graph.organization");
    assert_eq!(r.json["street"], "1 Microsoft Way");
    assert_eq!(r.json["verifiedDomains"][0]["name"], "contoso.onmicrosoft.com");
    let r = h.patch(&format!("/v1.0/organization/{}", uuid::Uuid::new_v4()), json!({"city": "X"})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    assert_eq!(org(&h).await["state"], "Washington", "refused updates change nothing");
}

#[tokio::test]
async fn organization_permissions() {
    let h = Harness::new().await;
    let path = format!("/v1.0/organization/{}", h.boot.tenant_id);
    let reader = h.sign(h.claims(&["Organization.Read.All"])).await;
    let r = h.graph_with(Method::GET, "/v1.0/organization", None, &reader, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = h.graph_with(Method::PATCH, &path, Some(json!({"city": "X"})), &reader, &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let writer = h.sign(h.claims(&["Organization.ReadWrite.All"])).await;
    let r = h.graph_with(Method::PATCH, &path, Some(json!({"city": "X"})), &writer, &[]).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let domains_only = h.sign(h.claims(&["Domain.Read.All"])).await;
    let r = h.graph_with(Method::GET, "/v1.0/organization", None, &domains_only, &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
}
