//! Bearer validation and per-route permissions on Graph.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::harness::{Harness, PUBLIC_URL};

#[tokio::test]
async fn missing_token_is_401_with_challenge() {
    let h = Harness::new().await;
    let r = h.graph_with(Method::GET, "/v1.0/users", None, "", &[]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.code(), "InvalidAuthenticationToken");
    assert_eq!(r.message(), "Access token is empty.");
    let challenge = r.headers["www-authenticate"].to_str().expect("ascii");
    assert!(challenge.starts_with("Bearer "), "{challenge}");
}

#[tokio::test]
async fn bad_tokens_are_401() {
    let h = Harness::new().await;
    let mut tampered = h.token.clone();
    // Flip a character of the signature.
    let last = tampered.pop().expect("char");
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let mut expired = h.claims(&["User.Read.All"]);
    expired["exp"] = json!(now - 3600);
    expired["nbf"] = json!(now - 7200);
    let expired = h.sign(expired).await;
    let mut future = h.claims(&["User.Read.All"]);
    future["nbf"] = json!(now + 3600);
    let future = h.sign(future).await;
    let mut wrong_aud = h.claims(&["User.Read.All"]);
    wrong_aud["aud"] = json!("https://management.azure.com");
    let wrong_aud = h.sign(wrong_aud).await;
    let mut wrong_iss = h.claims(&["User.Read.All"]);
    wrong_iss["iss"] = json!("https://evil.example/x/");
    let wrong_iss = h.sign(wrong_iss).await;
    for (name, token) in [
        ("garbage", "not.a.token".to_string()),
        ("tampered", tampered),
        ("expired", expired),
        ("not yet valid", future),
        ("audience", wrong_aud),
        ("issuer", wrong_iss),
    ] {
        let r = h.graph_with(Method::GET, "/v1.0/users", None, &token, &[]).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{name}: {}", r.text);
        assert_eq!(r.code(), "InvalidAuthenticationToken", "{name}");
    }
}

#[tokio::test]
async fn permissions_follow_the_reference() {
    let h = Harness::new().await;
    let none = h.sign(h.claims(&[])).await;
    let r = h.graph_with(Method::GET, "/v1.0/users", None, &none, &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.code(), "Authorization_RequestDenied");
    assert_eq!(r.message(), "Insufficient privileges to complete the operation.");

    let reader = h.sign(h.claims(&["User.Read.All"])).await;
    let r = h.graph_with(Method::GET, "/v1.0/users", None, &reader, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = h.graph_with(Method::POST, "/v1.0/users", Some(crate::harness::user_body("r1", "R")), &reader, &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // User.Read.All does not read groups.
    let r = h.graph_with(Method::GET, "/v1.0/groups", None, &reader, &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // GroupMember.ReadWrite.All may add members but not create groups.
    let g = h.group("perm", "Perm").await;
    let u = h.user("permuser", "Perm User").await;
    let members = h.sign(h.claims(&["GroupMember.ReadWrite.All"])).await;
    let add = h
        .graph_with(
            Method::POST,
            &format!("/v1.0/groups/{}/members/$ref", g["id"].as_str().expect("id")),
            Some(json!({"@odata.id": format!("{PUBLIC_URL}/v1.0/directoryObjects/{}", u["id"].as_str().expect("id"))})),
            &members,
            &[],
        )
        .await;
    assert_eq!(add.status, StatusCode::NO_CONTENT, "{}", add.text);
    let r = h
        .graph_with(
            Method::POST,
            "/v1.0/groups",
            Some(json!({"displayName": "x", "mailEnabled": false, "mailNickname": "x", "securityEnabled": true})),
            &members,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn every_served_route_admits_the_bootstrap_app() {
    let h = Harness::new().await;
    let u = h.user("routes", "Routes").await;
    let g = h.group("routesg", "Routes G").await;
    let (uid, gid) = (u["id"].as_str().expect("id"), g["id"].as_str().expect("id"));
    for path in [
        "/v1.0/users".to_string(),
        format!("/v1.0/users/{uid}"),
        format!("/v1.0/users/{uid}/memberOf"),
        "/v1.0/groups".to_string(),
        format!("/v1.0/groups/{gid}"),
        format!("/v1.0/groups/{gid}/members"),
        format!("/v1.0/groups/{gid}/members/microsoft.graph.user"),
        format!("/v1.0/groups/{gid}/owners"),
        format!("/v1.0/groups/{gid}/memberOf"),
        format!("/v1.0/groups/{gid}/memberOf/microsoft.graph.group"),
        format!("/v1.0/groups/{gid}/owners/microsoft.graph.user"),
        format!("/v1.0/users/{uid}/memberOf/microsoft.graph.group"),
        format!("/v1.0/groups/{gid}/members/graph.user"),
        "/v1.0/directory/deletedItems/graph.user".to_string(),
        "/v1.0/directory/deletedItems/microsoft.graph.user".to_string(),
        "/v1.0/directory/deletedItems/microsoft.graph.group".to_string(),
        format!("/v1.0/directoryObjects/{uid}"),
        "/beta/users".to_string(),
    ] {
        let r = h.get(&path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
    }
    for path in ["/v1.0/users/$count", "/v1.0/groups/$count"] {
        let r = h.get_eventual(path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
    }
}

#[tokio::test]
async fn tenants_are_isolated() {
    let a = Harness::new().await;
    let b = Harness::with_domain("fabrikam.onmicrosoft.com").await;
    let in_a = a.user("onlya", "Only In A").await;
    // B's token against A's app: different store here, so build a second tenant in A's store.
    let other = a
        .app
        .directory
        .bootstrap_tenant(cerulean_directory::BootstrapRequest {
            tenant_domain: "woodgrove.onmicrosoft.com".into(),
            tenant_display_name: "Woodgrove".into(),
            admin_password: "xWwvJ]6NMw+bWH-d".into(),
            client_secret_hash: cerulean_identity::secrets::hash_secret("woodgrove-secret-value-with-enough-length"),
            client_secret_hint: "woo".into(),
            app_permissions: vec!["User.ReadWrite.All".into(), "Directory.ReadWrite.All".into()],
        })
        .await
        .expect("second tenant");
    let token_b = {
        let r = a
            .form(
                &format!("/{}/oauth2/v2.0/token", other.tenant.id),
                &[
                    ("grant_type", "client_credentials"),
                    ("client_id", &other.client_id.to_string()),
                    ("client_secret", "woodgrove-secret-value-with-enough-length"),
                    ("scope", "https://graph.microsoft.com/.default"),
                ],
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        r.json["access_token"].as_str().expect("token").to_string()
    };
    let id_a = in_a["id"].as_str().expect("id");
    let r = a.graph_with(Method::GET, &format!("/v1.0/users/{id_a}"), None, &token_b, &[]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "tenant B cannot see A's user");
    let r = a.graph_with(Method::DELETE, &format!("/v1.0/users/{id_a}"), None, &token_b, &[]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "nor delete it");
    let list = a.graph_with(Method::GET, "/v1.0/users", None, &token_b, &[]).await;
    let upns: Vec<&str> =
        list.json["value"].as_array().expect("value").iter().filter_map(|u| u["userPrincipalName"].as_str()).collect();
    assert_eq!(upns, vec!["admin@woodgrove.onmicrosoft.com"]);
    // A token of tenant A does not open tenant B's token endpoint with A's app.
    let r = a
        .form(
            &format!("/{}/oauth2/v2.0/token", other.tenant.id),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &a.boot.client_id),
                ("client_secret", &a.boot.client_secret),
                ("scope", "https://graph.microsoft.com/.default"),
            ],
            None,
        )
        .await;
    assert_eq!(r.json["error_codes"][0], 700016);
    // A token minted by another server's tenant (B harness) is refused by A.
    let r = a.graph_with(Method::GET, "/v1.0/users", None, &b.token, &[]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}
