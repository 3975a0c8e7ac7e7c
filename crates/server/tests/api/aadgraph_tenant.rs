//! Azure AD Graph 1.6 `tenantDetails` (read and update) and `domains` over the same
//! organization and domains as Graph v1.0, and `/{tenant}` addressing by any verified domain.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::aadgraph::{aad, aad_token, code};
use crate::harness::Harness;

#[tokio::test]
async fn tenant_details_read_and_update_the_organization() {
    let h = Harness::new().await;
    let t = aad_token(&h).await;
    let r = aad(&h, &t, Method::GET, &format!("tenantDetails/{}", h.boot.tenant_id), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.json["odata.metadata"].as_str().expect("md").ends_with("/@Element"));
    assert_eq!(r.json["odata.type"], "Microsoft.DirectoryServices.TenantDetail");
    assert_eq!(r.json["technicalNotificationMails"], json!([]));
    assert_eq!(r.json["telephoneNumber"], serde_json::Value::Null);

    let path = format!("tenantDetails/{}", h.boot.tenant_id);
    let body = json!({
        "technicalNotificationMails": ["it@contoso.com"],
        "marketingNotificationEmails": ["news@contoso.com"],
        "telephoneNumber": "+1 425 555 0100",
        "street": "1 Microsoft Way",
        "city": "Redmond",
    });
    let r = aad(&h, &t, Method::PATCH, &path, Some(body)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = aad(&h, &t, Method::GET, "tenantDetails", None).await;
    let d = &r.json["value"][0];
    assert_eq!(d["technicalNotificationMails"], json!(["it@contoso.com"]));
    assert_eq!(d["telephoneNumber"], "+1 425 555 0100");
    assert_eq!(d["city"], "Redmond");

    // The same organization through Graph v1.0.
    let v1 = h.get("/v1.0/organization").await;
    let o = &v1.json["value"][0];
    assert_eq!(o["businessPhones"], json!(["+1 425 555 0100"]));
    assert_eq!(o["street"], "1 Microsoft Way");
    assert_eq!(o["marketingNotificationEmails"], json!(["news@contoso.com"]));
    let r = h.patch(&format!("/v1.0/organization/{}", h.boot.tenant_id), json!({"postalCode": "98052"})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = aad(&h, &t, Method::GET, "tenantDetails", None).await;
    assert_eq!(r.json["value"][0]["postalCode"], "98052");

    // Refusals: read-only properties, bad values, the collection, another id.
    let r = aad(&h, &t, Method::PATCH, &path, Some(json!({"verifiedDomains": []}))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(code(&r), "Request_BadRequest");
    let r = aad(&h, &t, Method::PATCH, &path, Some(json!({"technicalNotificationMails": ["nope"]}))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = aad(&h, &t, Method::PATCH, "tenantDetails", Some(json!({"city": "X"}))).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{}", r.text);
    let other = uuid::Uuid::new_v4();
    let r = aad(&h, &t, Method::PATCH, &format!("tenantDetails/{other}"), Some(json!({"city": "X"}))).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
}

#[tokio::test]
async fn domains_in_the_1_6_shape_and_addressing_by_domain() {
    let h = Harness::new().await;
    let t = aad_token(&h).await;
    let r = aad(&h, &t, Method::GET, "domains", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.json["odata.metadata"].as_str().expect("md").ends_with("$metadata#domains"));
    let d = &r.json["value"][0];
    assert_eq!(d["odata.type"], "Microsoft.DirectoryServices.Domain");
    assert_eq!(d["name"], "contoso.onmicrosoft.com");
    assert_eq!(d["isInitial"], true);
    assert!(d.get("id").is_none(), "1.6 names the key `name`");

    let r = aad(&h, &t, Method::POST, "domains", Some(json!({"name": "fabrikam.com"}))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.json["name"], "fabrikam.com");
    assert_eq!(r.json["isVerified"], false);
    let r = aad(&h, &t, Method::POST, "domains", Some(json!({"name": "fabrikam.com"}))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = aad(&h, &t, Method::GET, "domains('fabrikam.com')", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.json["odata.metadata"].as_str().expect("md").ends_with("#domains/@Element"));

    // An unverified domain does not address the tenant; a verified one does.
    let by_domain = |path: &str| format!("/fabrikam.com/{path}?api-version=1.6");
    let r = h.graph_with(Method::GET, &by_domain("tenantDetails"), None, &t, &[]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.text.contains("Invalid domain name"), "{}", r.text);
    let r = h.post("/v1.0/domains/fabrikam.com/verify", json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = h.graph_with(Method::GET, &by_domain("tenantDetails"), None, &t, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let names: Vec<&str> = r.json["value"][0]["verifiedDomains"]
        .as_array()
        .expect("domains")
        .iter()
        .filter_map(|d| d["name"].as_str())
        .collect();
    assert_eq!(names, vec!["contoso.onmicrosoft.com", "fabrikam.com"]);

    let r = aad(&h, &t, Method::PATCH, "domains/fabrikam.com", Some(json!({"isDefault": true}))).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(h.get("/v1.0/domains/fabrikam.com").await.json["isDefault"], true);
    let r = aad(&h, &t, Method::PATCH, "domains/fabrikam.com", Some(json!({"isVerified": false}))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = aad(&h, &t, Method::DELETE, "domains('contoso.onmicrosoft.com')", None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = aad(&h, &t, Method::PATCH, "domains/contoso.onmicrosoft.com", Some(json!({"isDefault": true}))).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = aad(&h, &t, Method::DELETE, "domains('fabrikam.com')", None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = aad(&h, &t, Method::GET, "domains/fabrikam.com", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    assert_eq!(code(&r), "Request_ResourceNotFound");
    let r = h.graph_with(Method::GET, &by_domain("tenantDetails"), None, &t, &[]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "a deleted domain names no tenant: {}", r.text);

    let r = aad(&h, &t, Method::GET, "domains/a.com/x", None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = aad(&h, &t, Method::GET, "$metadata", None).await;
    assert!(r.text.contains("<EntityType Name=\"Domain\">") && r.text.contains("EntitySet Name=\"domains\""));
}
