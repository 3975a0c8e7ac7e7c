//! The emulator aids never reach past what their caller may do: a forged token is refused by
//! every Cerulean validator (Graph, Azure AD Graph, userinfo, on-behalf-of assertions), so an
//! administrator with `Directory.ReadWrite.All` cannot forge itself other privileges; faults
//! fire only for the requests of the tenant that added them; and the process-wide clock moves
//! only for administrators of the operator's (bootstrap) tenant.

use axum::http::{Method, StatusCode};
use cerulean::app::AppOptions;
use serde_json::{Value, json};

use crate::harness::{Harness, Reply};

/// What an app with Directory.ReadWrite.All alone cannot do: manage directory roles.
const ROLE_MANAGEMENT_RW: &str = "RoleManagement.ReadWrite.Directory";
/// The role template of Global Administrator.
const GLOBAL_ADMIN: &str = "62e90394-69f5-4237-9190-012177145e10";
const SECOND_SECRET: &str = "woodgrove-secret-value-with-enough-length";

async fn aids() -> Harness {
    Harness::with_options("contoso.onmicrosoft.com", AppOptions { emulator_aids: true, ..AppOptions::default() }).await
}

async fn forge_as(h: &Harness, caller: &str, body: Value) -> String {
    let r = h.graph_with(Method::POST, "/cerulean/emulator/tokens", Some(body), caller, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.json["token"].as_str().expect("token").to_string()
}

fn header(token: &str) -> Value {
    use base64::Engine;
    let seg = token.split('.').next().expect("header");
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(seg).expect("b64")).expect("json")
}

#[tokio::test]
async fn forged_tokens_grant_nothing_on_cerulean_itself() {
    let h = aids().await;
    // An app holding only Directory.ReadWrite.All: enough for the aids, not for role management.
    let caller = h.sign(h.claims(&["Directory.ReadWrite.All"])).await;
    let admin_id = {
        let r = h.get(&format!("/v1.0/users/{}", h.boot.admin_user_principal_name)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        r.json["id"].as_str().expect("admin id").to_string()
    };
    let assignment = json!({"principalId": admin_id, "roleDefinitionId": GLOBAL_ADMIN, "directoryScopeId": "/"});

    // The forged token asks for role management and Global Administrator.
    let forged = forge_as(
        &h,
        &caller,
        json!({"claims": {"roles": [ROLE_MANAGEMENT_RW, "Directory.ReadWrite.All"], "wids": [GLOBAL_ADMIN], "idtyp": "app"}}),
    )
    .await;
    // A client's validator sees an ordinary RS256 token of the tenant's key ...
    assert_eq!(header(&forged)["alg"], "RS256");
    assert_eq!(header(&forged)["kid"], header(&h.token)["kid"]);
    // ... marked in its header, which no issuance path lets anyone shape.
    assert_eq!(header(&forged)["cerulean_forged"], true);
    assert!(header(&h.token).get("cerulean_forged").is_none(), "real tokens carry no marker");

    let r = h
        .graph_with(Method::POST, "/v1.0/roleManagement/directory/roleAssignments", Some(assignment), &forged, &[])
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    assert_eq!(r.code(), "InvalidAuthenticationToken");
    assert!(r.message().contains("forge"), "{}", r.message());
    assert_eq!(h.graph_with(Method::GET, "/v1.0/users", None, &forged, &[]).await.status, StatusCode::UNAUTHORIZED);
    // Nor does it open the aids (or the admin routes) to mint more.
    let r = h.graph_with(Method::GET, "/cerulean/emulator/faults", None, &forged, &[]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);

    // Azure AD Graph refuses it too.
    let aad =
        forge_as(&h, &caller, json!({"claims": {"aud": "https://graph.windows.net", "roles": ["Directory.Read.All"]}}))
            .await;
    let r = h.graph_with(Method::GET, &format!("/{}/users?api-version=1.6", h.boot.tenant_id), None, &aad, &[]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    assert!(r.json["odata.error"].is_object(), "{}", r.text);

    // userinfo: a forged user token about the administrator.
    let user = forge_as(
        &h,
        &caller,
        json!({"claims": {"oid": admin_id, "sub": admin_id, "idtyp": "user", "scp": "openid profile email"}}),
    )
    .await;
    let r = h.graph_with(Method::GET, &format!("/{}/openid/userinfo", h.boot.tenant_id), None, &user, &[]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    assert!(!r.text.contains("admin@"), "no user data: {}", r.text);

    // On-behalf-of: a forged user assertion for the bootstrap app is not a user's token.
    let assertion = forge_as(
        &h,
        &caller,
        json!({"claims": {"aud": h.boot.client_id, "oid": admin_id, "sub": admin_id, "idtyp": "user", "scp": "access_as_user"}}),
    )
    .await;
    let r = h
        .form(
            &format!("/{}/oauth2/v2.0/token", h.boot.tenant_id),
            &[
                ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                ("requested_token_use", "on_behalf_of"),
                ("client_id", &h.boot.client_id),
                ("client_secret", &h.boot.client_secret),
                ("assertion", &assertion),
                ("scope", "https://graph.microsoft.com/.default"),
            ],
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.json["error"], "invalid_grant", "{}", r.text);
    assert_eq!(r.json["error_codes"], json!([50013]), "{}", r.text);

    // Badly signed forgeries are still refused as badly signed.
    let bad = forge_as(&h, &caller, json!({"signature": "wrongKey"})).await;
    let r = h.graph_with(Method::GET, "/v1.0/users", None, &bad, &[]).await;
    assert!(r.message().contains("Invalid signature"), "{}", r.message());
}

/// A second tenant in the harness's store, with an app holding Directory.ReadWrite.All, and
/// that app's Graph token.
async fn second_tenant(h: &Harness) -> (uuid::Uuid, String) {
    let other = h
        .app
        .directory
        .bootstrap_tenant(cerulean_directory::BootstrapRequest {
            tenant_domain: "woodgrove.onmicrosoft.com".into(),
            tenant_display_name: "Woodgrove".into(),
            admin_password: "xWwvJ]6NMw+bWH-d".into(),
            client_secret_hash: cerulean_identity::secrets::hash_secret(SECOND_SECRET),
            client_secret_hint: "woo".into(),
            app_permissions: vec!["Directory.ReadWrite.All".into()],
        })
        .await
        .expect("second tenant");
    let r = h
        .form(
            &format!("/{}/oauth2/v2.0/token", other.tenant.id),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &other.client_id.to_string()),
                ("client_secret", SECOND_SECRET),
                ("scope", "https://graph.microsoft.com/.default"),
            ],
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    (other.tenant.id, r.json["access_token"].as_str().expect("token").to_string())
}

async fn with(h: &Harness, method: Method, path: &str, body: Option<Value>, token: &str) -> Reply {
    h.graph_with(method, path, body, token, &[]).await
}

#[tokio::test]
async fn faults_fire_only_for_the_tenant_that_added_them() {
    let h = aids().await;
    let (b, token_b) = second_tenant(&h).await;
    let a = h.boot.tenant_id.clone();

    // B faults Graph's user list and A's token endpoint: neither reaches A.
    let r = with(
        &h,
        Method::POST,
        "/cerulean/emulator/faults",
        Some(json!({"path": "/v1.0/users", "status": 503})),
        &token_b,
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let b_users = r.json["id"].as_str().expect("id").to_string();
    let on_a = json!({"path": format!("/{a}/oauth2/v2.0/token"), "status": 500});
    let r = with(&h, Method::POST, "/cerulean/emulator/faults", Some(on_a), &token_b).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let on_everything = json!({"path": "/**", "status": 500, "method": "POST"});
    assert_eq!(
        with(&h, Method::POST, "/cerulean/emulator/faults", Some(on_everything), &token_b).await.status,
        StatusCode::CREATED
    );

    assert_eq!(h.get("/v1.0/users").await.status, StatusCode::OK, "A's requests are not B's to fault");
    let fresh = h.app_token(&h.boot.client_id, &h.boot.client_secret).await;
    assert_eq!(with(&h, Method::GET, "/v1.0/users", None, &fresh).await.status, StatusCode::OK);
    // B's own requests are faulted.
    let r = with(&h, Method::GET, "/v1.0/users", None, &token_b).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text);
    let r = h
        .form(
            &format!("/{b}/oauth2/v2.0/token"),
            &[("grant_type", "client_credentials"), ("client_id", "x"), ("client_secret", "y"), ("scope", "z")],
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "B's token endpoint, by B's `/**`: {}", r.text);

    // Each tenant lists, removes and clears its own faults only.
    let listed = with(&h, Method::GET, "/cerulean/emulator/faults", None, &token_b).await;
    assert_eq!(listed.json["value"].as_array().map(Vec::len), Some(3), "{}", listed.text);
    assert_eq!(h.get("/cerulean/emulator/faults").await.json["value"], json!([]));
    let r = h.delete(&format!("/cerulean/emulator/faults/{b_users}")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    assert_eq!(h.delete("/cerulean/emulator/faults").await.status, StatusCode::NO_CONTENT);
    let listed = with(&h, Method::GET, "/cerulean/emulator/faults", None, &token_b).await;
    assert_eq!(listed.json["value"].as_array().map(Vec::len), Some(3), "A's clear leaves B's: {}", listed.text);
    let r = with(&h, Method::DELETE, &format!("/cerulean/emulator/faults/{b_users}"), None, &token_b).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);

    // The operator's tenant may also fault requests that name no tenant (the `common`
    // authority, IMDS); B may not.
    let common = json!({"path": "/common/discovery/instance", "status": 503});
    assert_eq!(
        with(&h, Method::POST, "/cerulean/emulator/faults", Some(common.clone()), &token_b).await.status,
        StatusCode::CREATED
    );
    let instance = "/common/discovery/instance?api-version=1.1&authorization_endpoint=https://localhost:8443/common/oauth2/v2.0/authorize";
    assert_ne!(
        h.get(instance).await.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "B's fault does not reach tenant-less routes"
    );
    assert_eq!(h.post("/cerulean/emulator/faults", common).await.status, StatusCode::CREATED);
    let r = h.send(axum::http::Request::get(instance).body(axum::body::Body::empty()).expect("request")).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text);
}

#[tokio::test]
async fn only_the_operators_tenant_moves_the_clock() {
    let h = aids().await;
    let (_, token_b) = second_tenant(&h).await;
    for action in ["advance", "freeze", "unfreeze", "reset"] {
        let r = with(
            &h,
            Method::POST,
            &format!("/cerulean/emulator/clock/{action}"),
            Some(json!({"seconds": 86400})),
            &token_b,
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{action}: {}", r.text);
        assert_eq!(r.code(), "Authorization_RequestDenied");
    }
    // B may read the clock, which did not move.
    let r = with(&h, Method::GET, "/cerulean/emulator/clock", None, &token_b).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["offsetSeconds"], 0);
    // The operator's administrators may.
    let r = h.post("/cerulean/emulator/clock/advance", json!({"seconds": 60})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(h.post("/cerulean/emulator/clock/reset", json!({})).await.status, StatusCode::OK);
}
