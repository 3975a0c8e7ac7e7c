//! `/applications`: create, read by id and by appId, update, secrets, certificates, owners,
//! federated identity credentials, soft delete and restore.

use axum::http::StatusCode;
use serde_json::json;

use crate::harness::{Harness, id_of};

#[tokio::test]
async fn create_read_update_delete_restore() {
    let h = Harness::new().await;
    let r = h.post("/v1.0/applications", json!({"displayName": "Contoso API", "signInAudience": "AzureADMyOrg"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let app = r.json;
    let id = id_of(&app);
    let app_id = app["appId"].as_str().expect("appId").to_string();
    assert_eq!(app["publisherDomain"], "contoso.onmicrosoft.com");
    assert_eq!(app["passwordCredentials"], json!([]));
    assert_eq!(app["web"]["redirectUris"], json!([]));
    assert!(r.headers.get("location").is_some());

    // Creating an application does not create its service principal.
    let r = h.get(&format!("/v1.0/servicePrincipals(appId='{app_id}')")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);

    // By object id and by appId; an appId is not an object id.
    let r = h.get(&format!("/v1.0/applications/{id}")).await;
    assert_eq!(r.json["displayName"], "Contoso API", "{}", r.text);
    let r = h.get(&format!("/v1.0/applications(appId='{app_id}')?$select=id,appId")).await;
    assert_eq!(r.json["id"], id.as_str(), "{}", r.text);
    assert_eq!(h.get(&format!("/v1.0/applications/{app_id}")).await.status, StatusCode::NOT_FOUND);

    // Validation.
    let r = h.post("/v1.0/applications", json!({"signInAudience": "AzureADMyOrg"})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.message(), "Property displayName value is required but is empty or missing.");
    let r = h.post("/v1.0/applications", json!({"displayName": "x", "signInAudience": "Everyone"})).await;
    assert_eq!(r.message(), "Invalid value specified for property 'signInAudience' of resource 'Application'.");
    let r = h.post("/v1.0/applications", json!({"displayName": "x", "appId": "abc"})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    // identifierUris are unique in the tenant.
    let r = h.patch(&format!("/v1.0/applications/{id}"), json!({"identifierUris": [format!("api://{app_id}")]})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = h
        .post("/v1.0/applications", json!({"displayName": "Other", "identifierUris": [format!("api://{app_id}")]}))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.json["error"]["details"][0]["target"], "identifierUris");

    // App roles: an enabled role must be disabled before it is removed.
    let role = json!({"id": "8f29f00f-7a2a-4f4d-a7a0-0d5c5ff4b2d1", "value": "Things.Read", "displayName": "Read things",
        "description": "Read things", "allowedMemberTypes": ["Application"], "isEnabled": true});
    let r = h.patch(&format!("/v1.0/applications(appId='{app_id}')"), json!({"appRoles": [role]})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = h.patch(&format!("/v1.0/applications/{id}"), json!({"appRoles": []})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.code(), "CannotDeleteOrUpdateEnabledEntitlement");
    let mut disabled = role.clone();
    disabled["isEnabled"] = json!(false);
    assert_eq!(
        h.patch(&format!("/v1.0/applications/{id}"), json!({"appRoles": [disabled]})).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        h.patch(&format!("/v1.0/applications/{id}"), json!({"appRoles": []})).await.status,
        StatusCode::NO_CONTENT
    );

    // $filter by appId, $count.
    let r = h.get(&format!("/v1.0/applications?$filter=appId%20eq%20'{app_id}'")).await;
    assert_eq!(r.json["value"].as_array().map(Vec::len), Some(1), "{}", r.text);

    // Soft delete (with its service principal) and restore.
    let r = h.post("/v1.0/servicePrincipals", json!({"appId": app_id})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let sp_id = id_of(&r.json);
    assert_eq!(h.delete(&format!("/v1.0/applications/{id}")).await.status, StatusCode::NO_CONTENT);
    assert_eq!(h.get(&format!("/v1.0/applications/{id}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(h.get(&format!("/v1.0/servicePrincipals/{sp_id}")).await.status, StatusCode::NOT_FOUND);
    let r = h.get("/v1.0/directory/deletedItems/microsoft.graph.application").await;
    assert!(r.json["value"].as_array().expect("value").iter().any(|a| a["id"] == id.as_str()), "{}", r.text);
    let r = h.get("/v1.0/directory/deletedItems/microsoft.graph.servicePrincipal").await;
    assert!(r.json["value"].as_array().expect("value").iter().any(|a| a["id"] == sp_id.as_str()), "{}", r.text);
    let r = h.post(&format!("/v1.0/directory/deletedItems/{id}/restore"), json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["@odata.type"], "#microsoft.graph.application");
    let r = h.get(&format!("/v1.0/applications(appId='{app_id}')")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // The appId is claimed again: a second service principal restore conflicts with nothing,
    // and a new one can be made.
    assert_eq!(
        h.post(&format!("/v1.0/directory/deletedItems/{sp_id}/restore"), json!({})).await.status,
        StatusCode::OK
    );
    let r = h.post("/v1.0/servicePrincipals", json!({"appId": app_id})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.message().contains("is already in use"), "{}", r.message());

    // beta serves the same.
    assert_eq!(h.get(&format!("/beta/applications/{id}")).await.status, StatusCode::OK);
}

#[tokio::test]
async fn passwords_are_shown_once_and_stored_hashed() {
    let h = Harness::new().await;
    let app = h.post("/v1.0/applications", json!({"displayName": "Secretive"})).await.json;
    let id = id_of(&app);
    let r = h
        .post(&format!("/v1.0/applications/{id}/addPassword"), json!({"passwordCredential": {"displayName": "ci"}}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let secret = r.json["secretText"].as_str().expect("secretText").to_string();
    assert!(secret.len() >= 40);
    assert_eq!(r.json["hint"], &secret[..3]);
    assert_eq!(r.json["displayName"], "ci");
    let key_id = r.json["keyId"].as_str().expect("keyId").to_string();
    let end = r.json["endDateTime"].as_str().expect("end").to_string();
    let start = r.json["startDateTime"].as_str().expect("start").to_string();
    assert!(end[..4].parse::<i32>().expect("year") > start[..4].parse::<i32>().expect("year"));

    let r = h.get(&format!("/v1.0/applications/{id}")).await;
    let creds = r.json["passwordCredentials"].as_array().expect("creds").clone();
    assert_eq!(creds.len(), 1);
    assert_eq!(creds[0]["secretText"], serde_json::Value::Null);
    assert_eq!(creds[0]["keyId"], key_id.as_str());
    assert!(!r.text.contains(&secret));

    let r = h
        .post(
            &format!("/v1.0/applications/{id}/addPassword"),
            json!({"passwordCredential": {"startDateTime": "2030-01-01T00:00:00Z", "endDateTime": "2029-01-01T00:00:00Z"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = h
        .post(&format!("/v1.0/applications/{id}/addPassword"), json!({"passwordCredential": {"secretText": "mine"}}))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);

    let r = h.post(&format!("/v1.0/applications/{id}/removePassword"), json!({"keyId": key_id})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = h.post(&format!("/v1.0/applications/{id}/removePassword"), json!({"keyId": key_id})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(h.get(&format!("/v1.0/applications/{id}")).await.json["passwordCredentials"], json!([]));
}

#[tokio::test]
async fn certificates_by_patch() {
    let h = Harness::new().await;
    let app = h.post("/v1.0/applications", json!({"displayName": "Certified"})).await.json;
    let id = id_of(&app);
    let key = rcgen::KeyPair::generate().expect("key");
    let cert = rcgen::CertificateParams::new(vec!["certified.example".into()])
        .expect("params")
        .self_signed(&key)
        .expect("cert");
    use base64::Engine;
    let der = base64::engine::general_purpose::STANDARD.encode(cert.der());
    let r = h
        .patch(
            &format!("/v1.0/applications/{id}"),
            json!({"keyCredentials": [{"type": "AsymmetricX509Cert", "usage": "Verify", "key": der, "displayName": "CN=certified"}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = h.get(&format!("/v1.0/applications/{id}")).await;
    let k = &r.json["keyCredentials"][0];
    let thumb = base64::engine::general_purpose::STANDARD
        .decode(k["customKeyIdentifier"].as_str().expect("thumbprint"))
        .expect("b64");
    assert_eq!(thumb.len(), 20);
    assert_eq!(k["key"], serde_json::Value::Null);
    assert_eq!(k["usage"], "Verify");
    let r = h
        .patch(
            &format!("/v1.0/applications/{id}"),
            json!({"keyCredentials": [{"type": "AsymmetricX509Cert", "usage": "Verify", "key": "bm9wZQ=="}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
}

#[tokio::test]
async fn owners_and_federated_credentials() {
    let h = Harness::new().await;
    let app = h.post("/v1.0/applications", json!({"displayName": "Federated"})).await.json;
    let id = id_of(&app);
    let user = h.user("owner1", "Owner One").await;
    let uid = id_of(&user);
    let r = h
        .post(
            &format!("/v1.0/applications/{id}/owners/$ref"),
            json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{uid}")}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = h
        .post(
            &format!("/v1.0/applications/{id}/owners/$ref"),
            json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{uid}")}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = h.get(&format!("/v1.0/applications/{id}/owners")).await;
    assert_eq!(r.json["value"][0]["id"], uid.as_str(), "{}", r.text);
    assert_eq!(h.delete(&format!("/v1.0/applications/{id}/owners/{uid}/$ref")).await.status, StatusCode::NO_CONTENT);
    assert_eq!(h.get(&format!("/v1.0/applications/{id}/owners")).await.json["value"], json!([]));

    let fic = json!({"name": "github-main", "issuer": "https://token.actions.githubusercontent.com",
        "subject": "repo:contoso/app:ref:refs/heads/main", "audiences": ["api://AzureADTokenExchange"]});
    let r = h.post(&format!("/v1.0/applications/{id}/federatedIdentityCredentials"), fic.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let fid = id_of(&r.json);
    assert_eq!(r.json["issuer"], "https://token.actions.githubusercontent.com");
    // Unique by name, and by issuer and subject.
    let r = h.post(&format!("/v1.0/applications/{id}/federatedIdentityCredentials"), fic.clone()).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let mut other = fic.clone();
    other["name"] = json!("github-other");
    let r = h.post(&format!("/v1.0/applications/{id}/federatedIdentityCredentials"), other).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let mut two = fic.clone();
    two["name"] = json!("two");
    two["audiences"] = json!(["a", "b"]);
    assert_eq!(
        h.post(&format!("/v1.0/applications/{id}/federatedIdentityCredentials"), two).await.status,
        StatusCode::BAD_REQUEST
    );
    let r = h.post(&format!("/v1.0/applications/{id}/federatedIdentityCredentials"), json!({"name": "nope"})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);

    let r = h.get(&format!("/v1.0/applications/{id}/federatedIdentityCredentials")).await;
    assert_eq!(r.json["value"].as_array().map(Vec::len), Some(1), "{}", r.text);
    let r = h
        .patch(
            &format!("/v1.0/applications/{id}/federatedIdentityCredentials/{fid}"),
            json!({"description": "main branch"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = h
        .patch(&format!("/v1.0/applications/{id}/federatedIdentityCredentials/{fid}"), json!({"name": "renamed"}))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = h.get(&format!("/v1.0/applications/{id}/federatedIdentityCredentials/github-main")).await;
    assert_eq!(r.json["description"], "main branch", "{}", r.text);
    // The credentials are not part of the application's own shape.
    assert!(h.get(&format!("/v1.0/applications/{id}")).await.json.get("federatedIdentityCredentials").is_none());
    assert_eq!(
        h.delete(&format!("/v1.0/applications/{id}/federatedIdentityCredentials/{fid}")).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        h.get(&format!("/v1.0/applications/{id}/federatedIdentityCredentials/{fid}")).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn permissions_are_checked() {
    let h = Harness::new().await;
    let token = h.sign(h.claims(&["User.Read.All"])).await;
    let r = h.graph_with(axum::http::Method::GET, "/v1.0/applications", None, &token, &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let token = h.sign(h.claims(&["Application.Read.All"])).await;
    let r = h.graph_with(axum::http::Method::GET, "/v1.0/applications", None, &token, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = h
        .graph_with(axum::http::Method::POST, "/v1.0/applications", Some(json!({"displayName": "x"})), &token, &[])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}
