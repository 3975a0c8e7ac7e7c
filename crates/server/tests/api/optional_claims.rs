//! `optionalClaims`: the client application's `idToken` list shapes its ID tokens and the
//! resource application's `accessToken` list the access tokens for it. Honoured: `email`,
//! `upn`, `family_name`, `given_name`, `login_hint`; names Cerulean cannot fill are ignored,
//! and without `optionalClaims` v2 tokens stay lean.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::harness::{Harness, id_of};
use crate::token_versions::{PASSWORD, claims, confidential_client, grant, web_api};

const HONOURED: [&str; 5] = ["email", "upn", "family_name", "given_name", "login_hint"];

fn list(names: &[&str]) -> Value {
    Value::Array(names.iter().map(|n| json!({"name": n, "essential": false, "additionalProperties": []})).collect())
}

/// ROPC as Adele for `scope`: (access token claims, ID token claims).
async fn sign_in(h: &Harness, client_id: &str, secret: &str, scope: &str) -> (Value, Value) {
    let r = h
        .form(
            &format!("/{}/oauth2/v2.0/token", h.boot.tenant_id),
            &[
                ("grant_type", "password"),
                ("client_id", client_id),
                ("client_secret", secret),
                ("username", "adele@contoso.onmicrosoft.com"),
                ("password", PASSWORD),
                ("scope", scope),
            ],
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    (
        claims(r.json["access_token"].as_str().expect("access_token"), 1),
        claims(r.json["id_token"].as_str().expect("id_token"), 1),
    )
}

#[tokio::test]
async fn optional_claims_shape_id_and_access_tokens() {
    let h = Harness::new().await;
    let mut adele = crate::harness::user_body("adele", "Adele Vance");
    adele["givenName"] = json!("Adele");
    adele["surname"] = json!("Vance");
    adele["mail"] = json!("adele.vance@contoso.example");
    let r = h.post("/v1.0/users", adele).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let adele_id = id_of(&r.json);

    // A v2 API and two clients of it, one asking for nothing.
    let (api_id, api_oid, api_sp) = web_api(&h, Some(2)).await;
    let scope = format!("openid profile api://{api_id}/access_as_user");
    let (plain, plain_secret, plain_sp) = confidential_client(&h, "Plain client").await;
    grant(&h, &plain_sp, &api_sp, "access_as_user").await;
    let (client, secret, client_sp) = confidential_client(&h, "Claims client").await;
    grant(&h, &client_sp, &api_sp, "access_as_user").await;

    let (access, id) = sign_in(&h, &plain, &plain_secret, &scope).await;
    for name in HONOURED {
        assert!(access.get(name).is_none() && id.get(name).is_none(), "{name} without optionalClaims: {access} {id}");
    }

    // The client asks for them in ID tokens (plus one Cerulean does not fill), the API in
    // access tokens.
    let client_oid = id_of(&h.get(&format!("/v1.0/applications(appId='{client}')")).await.json);
    let mut id_names = HONOURED.to_vec();
    id_names.push("xms_pl");
    let r = h
        .patch(
            &format!("/v1.0/applications/{client_oid}"),
            json!({"optionalClaims": {"idToken": list(&id_names), "accessToken": [], "saml2Token": []}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = h
        .patch(
            &format!("/v1.0/applications/{api_oid}"),
            json!({"optionalClaims": {"idToken": [], "accessToken": list(&["email", "upn", "given_name"]), "saml2Token": []}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);

    let (access, id) = sign_in(&h, &client, &secret, &scope).await;
    assert_eq!(id["email"], "adele.vance@contoso.example", "{id}");
    assert_eq!(id["upn"], "adele@contoso.onmicrosoft.com");
    assert_eq!(id["given_name"], "Adele");
    assert_eq!(id["family_name"], "Vance");
    assert!(id.get("xms_pl").is_none(), "unfilled names are ignored: {id}");
    let hint = id["login_hint"].as_str().expect("login_hint");
    let hint = claims(&format!("x.{hint}.x"), 1);
    assert_eq!(hint["oid"], adele_id.as_str());
    assert_eq!(hint["upn"], "adele@contoso.onmicrosoft.com");
    assert_eq!(access["email"], "adele.vance@contoso.example", "{access}");
    assert_eq!(access["upn"], "adele@contoso.onmicrosoft.com");
    assert_eq!(access["given_name"], "Adele");
    assert!(access.get("family_name").is_none() && access.get("login_hint").is_none(), "{access}");
    assert_eq!(access["ver"], "2.0");

    // The plain client's tokens are unchanged by the API's list only where it is the client's.
    let (access, id) = sign_in(&h, &plain, &plain_secret, &scope).await;
    assert_eq!(access["upn"], "adele@contoso.onmicrosoft.com", "the API's list applies to every client");
    assert!(id.get("upn").is_none(), "the ID token follows its own client's list: {id}");
}
