//! The on-behalf-of grant: a middle-tier API exchanges a user's token for a downstream token.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::harness::{Harness, Reply, id_of};
use crate::token_versions::{PASSWORD, claims, grant, web_api};

const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const GRAPH: &str = "00000003-0000-0000-c000-000000000000";

struct Setup {
    h: Harness,
    api_id: String,
    api_secret: String,
    api_sp: String,
    graph_sp: String,
    /// The user's token for the API (what the front-end sent it).
    user_token: String,
}

/// A public front-end consented to the API (`access_as_user`), the API confidential with a
/// secret, and Adele's token for the API obtained through the front-end.
async fn setup(version: Option<i64>) -> Setup {
    let h = Harness::new().await;
    let (api_id, api_oid, api_sp) = web_api(&h, version).await;
    let pw = h.post(&format!("/v1.0/applications/{api_oid}/addPassword"), json!({})).await;
    let api_secret = pw.json["secretText"].as_str().expect("secret").to_string();
    let r = h.post("/v1.0/applications", json!({"displayName": "Front end", "isFallbackPublicClient": true})).await;
    let front_id = r.json["appId"].as_str().expect("appId").to_string();
    let front_sp = id_of(&h.post("/v1.0/servicePrincipals", json!({"appId": front_id})).await.json);
    grant(&h, &front_sp, &api_sp, "access_as_user").await;
    h.user("adele", "Adele Vance").await;
    let r = h
        .form(
            &format!("/{}/oauth2/v2.0/token", h.boot.tenant_id),
            &[
                ("grant_type", "password"),
                ("client_id", &front_id),
                ("username", "adele@contoso.onmicrosoft.com"),
                ("password", PASSWORD),
                ("scope", &format!("api://{api_id}/access_as_user")),
            ],
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let user_token = r.json["access_token"].as_str().expect("at").to_string();
    let graph_sp = id_of(&h.get(&format!("/v1.0/servicePrincipals(appId='{GRAPH}')")).await.json);
    Setup { h, api_id, api_secret, api_sp, graph_sp, user_token }
}

async fn obo(s: &Setup, fields: &[(&str, &str)]) -> Reply {
    s.h.form(&format!("/{}/oauth2/v2.0/token", s.h.boot.tenant_id), fields, None).await
}

async fn exchange(s: &Setup, assertion: &str, scope: &str) -> Reply {
    obo(
        s,
        &[
            ("grant_type", JWT_BEARER),
            ("requested_token_use", "on_behalf_of"),
            ("client_id", &s.api_id),
            ("client_secret", &s.api_secret),
            ("assertion", assertion),
            ("scope", scope),
        ],
    )
    .await
}

fn assert_error(r: &Reply, status: u16, error: &str, code: u64) {
    assert_eq!(r.status.as_u16(), status, "{}", r.text);
    assert_eq!(r.json["error"], error, "{}", r.text);
    assert_eq!(r.json["error_codes"][0], code, "{}", r.text);
}

#[tokio::test]
async fn on_behalf_of_issues_a_downstream_token_for_the_same_user() {
    for version in [Some(2), None] {
        let s = setup(version).await;
        // Without the API's own consent on Graph: AADSTS65001.
        let r = exchange(&s, &s.user_token, "https://graph.microsoft.com/User.Read").await;
        assert_error(&r, 400, "invalid_grant", 65001);

        grant(&s.h, &s.api_sp, &s.graph_sp, "User.Read").await;
        let r = exchange(&s, &s.user_token, "https://graph.microsoft.com/User.Read offline_access").await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.json["scope"], "https://graph.microsoft.com/User.Read");
        assert!(r.json["refresh_token"].is_string(), "{}", r.text);
        let token = r.json["access_token"].as_str().expect("at");
        let c = claims(token, 1);
        let original = claims(&s.user_token, 1);
        assert_eq!(c["ver"], "1.0");
        assert_eq!(c["aud"], "https://graph.microsoft.com");
        assert_eq!(c["appid"], s.api_id.as_str(), "the middle tier is the client now");
        assert_eq!(c["oid"], original["oid"]);
        assert_eq!(c["upn"], "adele@contoso.onmicrosoft.com");
        assert_eq!(c["scp"], "User.Read");
        assert_eq!(c["appidacr"], "1");
        // It works against Graph as Adele.
        let me = s.h.graph_with(Method::GET, "/v1.0/me", None, token, &[]).await;
        assert_eq!(me.status, StatusCode::OK, "{}", me.text);
        assert_eq!(me.json["userPrincipalName"], "adele@contoso.onmicrosoft.com");

        // The v1 endpoint, with resource=.
        let r =
            s.h.form(
                &format!("/{}/oauth2/token", s.h.boot.tenant_id),
                &[
                    ("grant_type", JWT_BEARER),
                    ("requested_token_use", "on_behalf_of"),
                    ("client_id", &s.api_id),
                    ("client_secret", &s.api_secret),
                    ("assertion", &s.user_token),
                    ("resource", "https://graph.microsoft.com"),
                ],
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.json["resource"], "https://graph.microsoft.com");
        assert_eq!(claims(r.json["access_token"].as_str().expect("at"), 1)["oid"], original["oid"]);
    }
}

#[tokio::test]
async fn on_behalf_of_refuses_bad_requests_as_entra_does() {
    let s = setup(Some(2)).await;
    grant(&s.h, &s.api_sp, &s.graph_sp, "User.Read").await;
    let scope = "https://graph.microsoft.com/User.Read";

    let r = obo(&s, &[("grant_type", JWT_BEARER), ("client_id", &s.api_id), ("assertion", &s.user_token)]).await;
    assert_error(&r, 400, "invalid_request", 900144);
    let r = obo(
        &s,
        &[
            ("grant_type", JWT_BEARER),
            ("requested_token_use", "impersonate"),
            ("client_id", &s.api_id),
            ("assertion", &s.user_token),
        ],
    )
    .await;
    assert_error(&r, 400, "unsupported_grant_type", 70003);
    // No credential: the middle tier must be a confidential client.
    let r = obo(
        &s,
        &[
            ("grant_type", JWT_BEARER),
            ("requested_token_use", "on_behalf_of"),
            ("client_id", &s.api_id),
            ("assertion", &s.user_token),
            ("scope", scope),
        ],
    )
    .await;
    assert_error(&r, 401, "invalid_client", 7000218);

    assert_error(&exchange(&s, "not-a-jwt", scope).await, 400, "invalid_grant", 50027);
    // A tampered signature.
    let mut parts: Vec<&str> = s.user_token.split('.').collect();
    let bad_sig = "A".repeat(parts[2].len());
    parts[2] = &bad_sig;
    assert_error(&exchange(&s, &parts.join("."), scope).await, 400, "invalid_grant", 50013);
    // A token for another audience (Graph) is not an assertion for this API.
    let mut user = claims(&s.user_token, 1);
    user["aud"] = json!("https://graph.microsoft.com");
    let for_graph = s.h.sign(user).await;
    let r = exchange(&s, &for_graph, scope).await;
    assert_error(&r, 400, "invalid_grant", 500131);
    assert!(r.json["error_description"].as_str().is_some_and(|d| d.contains("Assertion audience does not match")));
    // Expired.
    let mut expired = claims(&s.user_token, 1);
    expired["exp"] = json!(cerulean_identity::unix_now() - 3600);
    assert_error(&exchange(&s, &s.h.sign(expired).await, scope).await, 400, "invalid_grant", 500133);
    // An app-only token is no user assertion.
    let mut app_only = s.h.claims(&[]);
    app_only["aud"] = json!(s.api_id);
    assert_error(&exchange(&s, &s.h.sign(app_only).await, scope).await, 400, "invalid_grant", 50013);
    // A disabled user.
    let oid = claims(&s.user_token, 1)["oid"].as_str().expect("oid").to_string();
    let r = s.h.patch(&format!("/v1.0/users/{oid}"), json!({"accountEnabled": false})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_error(&exchange(&s, &s.user_token, scope).await, 400, "invalid_grant", 50057);
}
