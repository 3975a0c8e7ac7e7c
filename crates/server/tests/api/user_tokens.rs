//! User sign-in at the token endpoint (ROPC, refresh with rotation), user token shapes,
//! revocation, certificate client assertions, `/me` and delegated authorization bounds.

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use base64::Engine;
use serde_json::{Value, json};

use crate::harness::{Harness, PUBLIC_URL, Reply, id_of};

const PASSWORD: &str = "xWwvJ]6NMw+bWH-d";
const GRAPH: &str = "00000003-0000-0000-c000-000000000000";
const MEMBER_ROLE: &str = "b79fbf4d-3ef9-4689-8143-76b194e85509";
const GLOBAL_ADMIN: &str = "62e90394-69f5-4237-9190-012177145e10";

fn claims(token: &str, i: usize) -> Value {
    let part = token.split('.').nth(i).expect("jwt part");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).expect("base64url");
    serde_json::from_slice(&bytes).expect("json")
}

fn assert_oauth(r: &Reply, status: u16, error: &str, code: u64) {
    assert_eq!(r.status.as_u16(), status, "{}", r.text);
    assert_eq!(r.json["error"], error, "{}", r.text);
    assert_eq!(r.json["error_codes"][0], code, "{}", r.text);
    assert!(r.json["error_description"].as_str().is_some_and(|d| d.starts_with(&format!("AADSTS{code}:"))));
}

/// A public client app (`isFallbackPublicClient`) with its service principal and a
/// tenant-wide grant of `scope` on Graph. Returns (appId, service principal id).
async fn public_app(h: &Harness, scope: &str) -> (String, String) {
    let r = h.post("/v1.0/applications", json!({"displayName": "Public app", "isFallbackPublicClient": true})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let app_id = r.json["appId"].as_str().expect("appId").to_string();
    let sp = h.post("/v1.0/servicePrincipals", json!({"appId": app_id})).await;
    assert_eq!(sp.status, StatusCode::CREATED, "{}", sp.text);
    let graph = h.get(&format!("/v1.0/servicePrincipals(appId='{GRAPH}')")).await;
    let grant = h
        .post(
            "/v1.0/oauth2PermissionGrants",
            json!({"clientId": id_of(&sp.json), "consentType": "AllPrincipals", "resourceId": id_of(&graph.json), "scope": scope}),
        )
        .await;
    assert_eq!(grant.status, StatusCode::CREATED, "{}", grant.text);
    (app_id, id_of(&sp.json))
}

async fn token(h: &Harness, fields: &[(&str, &str)]) -> Reply {
    h.form(&format!("/{}/oauth2/v2.0/token", h.boot.tenant_id), fields, None).await
}

async fn ropc(h: &Harness, client_id: &str, username: &str, password: &str, scope: &str) -> Reply {
    token(
        h,
        &[
            ("grant_type", "password"),
            ("client_id", client_id),
            ("username", username),
            ("password", password),
            ("scope", scope),
            ("client_info", "1"),
            ("nonce", "n-0S6"),
        ],
    )
    .await
}

async fn refresh(h: &Harness, client_id: &str, rt: &str) -> Reply {
    token(
        h,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", client_id),
            ("refresh_token", rt),
            ("scope", "https://graph.microsoft.com/User.Read openid profile offline_access"),
        ],
    )
    .await
}

const SCOPE: &str = "https://graph.microsoft.com/User.Read openid profile offline_access";

#[tokio::test]
async fn password_grant_issues_entra_shaped_user_tokens() {
    let h = Harness::new().await;
    let user = h.user("adele", "Adele Vance").await;
    let upn = "adele@contoso.onmicrosoft.com";
    let (app_id, _) = public_app(&h, "User.Read User.ReadBasic.All").await;

    let r = ropc(&h, &app_id, upn, PASSWORD, SCOPE).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["token_type"], "Bearer");
    assert!(r.json["expires_in"].as_i64().is_some_and(|e| e > 3000));
    assert_eq!(r.json["ext_expires_in"], r.json["expires_in"]);
    let scope = r.json["scope"].as_str().expect("scope");
    assert!(scope.contains("https://graph.microsoft.com/User.Read") && scope.contains("openid"), "{scope}");
    assert!(r.json["refresh_token"].as_str().is_some_and(|t| t.len() > 40));

    let at = claims(r.json["access_token"].as_str().expect("at"), 1);
    assert_eq!(at["aud"], "https://graph.microsoft.com");
    assert_eq!(at["iss"], format!("{PUBLIC_URL}/{}/", h.boot.tenant_id));
    assert_eq!(at["ver"], "1.0");
    assert_eq!(at["idtyp"], "user");
    assert_eq!(at["oid"], user["id"]);
    assert_ne!(at["sub"], user["id"], "sub is pairwise");
    assert_eq!(at["upn"], upn);
    assert_eq!(at["unique_name"], upn);
    assert_eq!(at["name"], "Adele Vance");
    assert_eq!(at["amr"], json!(["pwd"]));
    assert_eq!(at["appid"], app_id.as_str());
    assert_eq!(at["appidacr"], "0");
    assert_eq!(at["wids"], json!([MEMBER_ROLE]));
    let scp = at["scp"].as_str().expect("scp");
    assert!(scp.split(' ').any(|s| s == "User.Read") && scp.split(' ').any(|s| s == "User.ReadBasic.All"), "{scp}");

    let id = claims(r.json["id_token"].as_str().expect("id_token"), 1);
    assert_eq!(id["aud"], app_id.as_str());
    assert_eq!(id["iss"], format!("{PUBLIC_URL}/{}/v2.0", h.boot.tenant_id));
    assert_eq!(id["ver"], "2.0");
    assert_eq!(id["nonce"], "n-0S6");
    assert_eq!(id["preferred_username"], upn);
    assert_eq!(id["oid"], user["id"]);
    assert_eq!(id["tid"], h.boot.tenant_id.as_str());
    assert_eq!(id["sub"], at["sub"]);
    let info = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(r.json["client_info"].as_str().expect("client_info"))
        .expect("b64");
    let info: Value = serde_json::from_slice(&info).expect("json");
    assert_eq!(info, json!({"uid": user["id"], "utid": h.boot.tenant_id}));

    // The token works on Graph as the user; userinfo answers with the same subject.
    let access = r.json["access_token"].as_str().expect("at");
    let me = h.graph_with(Method::GET, "/v1.0/me", None, access, &[]).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text);
    assert_eq!(me.json["id"], user["id"]);
    let member_of = h.graph_with(Method::GET, "/v1.0/me/memberOf", None, access, &[]).await;
    assert_eq!(member_of.status, StatusCode::OK, "{}", member_of.text);
    let info = h.graph_with(Method::GET, "/oidc/userinfo", None, access, &[]).await;
    assert_eq!(info.status, StatusCode::OK, "{}", info.text);
    assert_eq!(info.json["sub"], id["sub"]);
    assert_eq!(info.json["name"], "Adele Vance");
    // User.Read does not write users.
    let patch = h
        .graph_with(
            Method::PATCH,
            &format!("/v1.0/users/{}", id_of(&user)),
            Some(json!({"jobTitle": "x"})),
            access,
            &[],
        )
        .await;
    assert_eq!(patch.status, StatusCode::FORBIDDEN, "{}", patch.text);

    // Without offline_access and openid: neither a refresh token nor an ID token.
    let r = ropc(&h, &app_id, upn, PASSWORD, "User.Read").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.json.get("refresh_token").is_none() && r.json.get("id_token").is_none());

    // v1: resource=, string times, always a refresh token.
    let r = h
        .form(
            &format!("/{}/oauth2/token", h.boot.tenant_id),
            &[
                ("grant_type", "password"),
                ("client_id", &app_id),
                ("username", upn),
                ("password", PASSWORD),
                ("resource", "https://graph.microsoft.com"),
            ],
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["resource"], "https://graph.microsoft.com");
    assert!(r.json["expires_on"].is_string() && r.json["refresh_token"].is_string());

    // The organizations endpoint finds the tenant from the user name.
    let r = h
        .form(
            "/organizations/oauth2/v2.0/token",
            &[
                ("grant_type", "password"),
                ("client_id", &app_id),
                ("username", upn),
                ("password", PASSWORD),
                ("scope", SCOPE),
            ],
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

#[tokio::test]
async fn password_grant_errors_follow_entra() {
    let h = Harness::new().await;
    let user = h.user("megan", "Megan Bowen").await;
    let upn = "megan@contoso.onmicrosoft.com";
    let (app_id, _) = public_app(&h, "User.Read").await;

    assert_oauth(
        &ropc(&h, &app_id, "nobody@contoso.onmicrosoft.com", PASSWORD, SCOPE).await,
        400,
        "invalid_grant",
        50034,
    );
    assert_oauth(&ropc(&h, &app_id, upn, "wrong-Password-1", SCOPE).await, 400, "invalid_grant", 50126);
    // Not consented, not defined on Graph, two resources, a missing parameter.
    let r = ropc(&h, &app_id, upn, PASSWORD, "https://graph.microsoft.com/User.ReadWrite.All").await;
    assert_oauth(&r, 400, "invalid_grant", 65001);
    assert_oauth(&ropc(&h, &app_id, upn, PASSWORD, "Not.AScope").await, 400, "invalid_scope", 650053);
    let two = "https://graph.microsoft.com/User.Read https://graph.windows.net/Directory.Read.All";
    assert_oauth(&ropc(&h, &app_id, upn, PASSWORD, two).await, 400, "invalid_scope", 28000);
    let r = token(&h, &[("grant_type", "password"), ("client_id", &app_id), ("password", PASSWORD), ("scope", SCOPE)])
        .await;
    assert_oauth(&r, 400, "invalid_request", 900144);
    // A confidential client must authenticate; with its secret it may use ROPC.
    let boot = h.boot.client_id.clone();
    assert_oauth(&ropc(&h, &boot, upn, PASSWORD, SCOPE).await, 401, "invalid_client", 7000218);
    let r = token(
        &h,
        &[
            ("grant_type", "password"),
            ("client_id", &boot),
            ("client_secret", &h.boot.client_secret),
            ("username", upn),
            ("password", PASSWORD),
            ("scope", "https://graph.microsoft.com/.default"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(claims(r.json["access_token"].as_str().expect("at"), 1)["appidacr"], "1");

    // A password the admin set with forceChangePasswordNextSignIn: AADSTS50055.
    let path = format!("/v1.0/users/{}", id_of(&user));
    let r = h
        .patch(
            &path,
            json!({"passwordProfile": {"password": "Fresh-Pa55word!x", "forceChangePasswordNextSignIn": true}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_oauth(&ropc(&h, &app_id, upn, "Fresh-Pa55word!x", SCOPE).await, 400, "invalid_grant", 50055);
    // Disabled: AADSTS50057.
    let r = h
        .patch(
            &path,
            json!({"accountEnabled": false, "passwordProfile": {"password": PASSWORD, "forceChangePasswordNextSignIn": false}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_oauth(&ropc(&h, &app_id, upn, PASSWORD, SCOPE).await, 400, "invalid_grant", 50057);
}

#[tokio::test]
async fn refresh_tokens_rotate_and_a_replay_revokes_the_family() {
    let h = Harness::new().await;
    h.user("lee", "Lee Gu").await;
    let upn = "lee@contoso.onmicrosoft.com";
    let (app_id, _) = public_app(&h, "User.Read").await;
    let first = ropc(&h, &app_id, upn, PASSWORD, SCOPE).await;
    let rt1 = first.json["refresh_token"].as_str().expect("rt").to_string();

    // Another client presenting it is refused and spends nothing.
    let (other_app, _) = public_app(&h, "User.Read").await;
    let stolen = refresh(&h, &other_app, &rt1).await;
    assert_oauth(&stolen, 400, "invalid_grant", 70000);

    let second = refresh(&h, &app_id, &rt1).await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.text);
    let rt2 = second.json["refresh_token"].as_str().expect("rotated").to_string();
    assert_ne!(rt1, rt2);
    let at = claims(second.json["access_token"].as_str().expect("at"), 1);
    assert_eq!(at["upn"], upn);
    assert!(second.json["id_token"].is_string());

    // Another client cannot use it; garbage is malformed; another tenant never issued it.
    assert_oauth(&refresh(&h, &app_id, "not-a-token").await, 400, "invalid_grant", 9002313);
    let other = cerulean_store::TenantRecord {
        id: uuid::Uuid::new_v4(),
        display_name: "Fabrikam".into(),
        domains: vec![cerulean_store::DomainRecord {
            name: "fabrikam.onmicrosoft.com".into(),
            is_initial: true,
            is_default: true,
            is_verified: true,
            doc: Default::default(),
        }],
        created_at: "2024-01-01T00:00:00Z".into(),
    };
    h.store.create_tenant(&other).await.expect("tenant B");
    let r = h
        .form(
            &format!("/{}/oauth2/v2.0/token", other.id),
            &[("grant_type", "refresh_token"), ("client_id", &app_id), ("refresh_token", &rt2), ("scope", SCOPE)],
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);

    // Replaying the spent token: AADSTS70008, and its successor dies with it.
    assert_oauth(&refresh(&h, &app_id, &rt1).await, 400, "invalid_grant", 70008);
    assert_oauth(&refresh(&h, &app_id, &rt2).await, 400, "invalid_grant", 50173);
}

#[tokio::test]
async fn password_reset_disable_and_revoke_sign_in_sessions_end_refresh_tokens() {
    let h = Harness::new().await;
    let user = h.user("alex", "Alex Wilber").await;
    let path = format!("/v1.0/users/{}", id_of(&user));
    let upn = "alex@contoso.onmicrosoft.com";
    let (app_id, _) = public_app(&h, "User.Read").await;
    let rt = |r: &Reply| r.json["refresh_token"].as_str().expect("rt").to_string();

    // revokeSignInSessions: {"value": true}, the valid-from time moves, the token is refused.
    let before = h.get(&format!("{path}?$select=signInSessionsValidFromDateTime")).await;
    let t = rt(&ropc(&h, &app_id, upn, PASSWORD, SCOPE).await);
    let r = h.post(&format!("{path}/revokeSignInSessions"), json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["value"], true);
    let after = h.get(&format!("{path}?$select=signInSessionsValidFromDateTime")).await;
    assert!(
        after.json["signInSessionsValidFromDateTime"].as_str()
            >= before.json["signInSessionsValidFromDateTime"].as_str()
    );
    assert_oauth(&refresh(&h, &app_id, &t).await, 400, "invalid_grant", 50173);

    // A password reset.
    let t = rt(&ropc(&h, &app_id, upn, PASSWORD, SCOPE).await);
    let new_password = "An0ther-Secret!pw";
    let r = h
        .patch(&path, json!({"passwordProfile": {"password": new_password, "forceChangePasswordNextSignIn": false}}))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_oauth(&refresh(&h, &app_id, &t).await, 400, "invalid_grant", 50173);

    // Disabling the account.
    let t = rt(&ropc(&h, &app_id, upn, new_password, SCOPE).await);
    assert_eq!(h.patch(&path, json!({"accountEnabled": false})).await.status, StatusCode::NO_CONTENT);
    let r = refresh(&h, &app_id, &t).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!([50057, 50173].contains(&r.json["error_codes"][0].as_u64().unwrap_or(0)), "{}", r.text);
}

/// A user token through the bootstrap app (consented tenant-wide for administration).
async fn admin_app_token(h: &Harness, upn: &str, password: &str) -> String {
    let r = token(
        h,
        &[
            ("grant_type", "password"),
            ("client_id", &h.boot.client_id),
            ("client_secret", &h.boot.client_secret),
            ("username", upn),
            ("password", password),
            ("scope", "https://graph.microsoft.com/.default offline_access"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.json["access_token"].as_str().expect("at").to_string()
}

#[tokio::test]
async fn delegated_calls_are_bounded_by_the_users_roles_and_me_works() {
    let h = Harness::new().await;
    let victim = h.user("victim", "Victim").await;
    let victim_path = format!("/v1.0/users/{}", id_of(&victim));
    h.user("member", "Plain Member").await;
    let member = admin_app_token(&h, "member@contoso.onmicrosoft.com", PASSWORD).await;
    assert!(claims(&member, 1)["scp"].as_str().is_some_and(|s| s.contains("User.ReadWrite.All")));

    // A member with User.ReadWrite.All reads others but writes only themself.
    let r = h.graph_with(Method::GET, &victim_path, None, &member, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = h.graph_with(Method::PATCH, &victim_path, Some(json!({"jobTitle": "Pwned"})), &member, &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r = h.graph_with(Method::DELETE, &victim_path, None, &member, &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r = h.graph_with(Method::PATCH, "/v1.0/me", Some(json!({"jobTitle": "Engineer"})), &member, &[]).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let me = h.graph_with(Method::GET, "/v1.0/me?$select=jobTitle", None, &member, &[]).await;
    assert_eq!(me.json["jobTitle"], "Engineer", "{}", me.text);
    for path in ["/v1.0/me/transitiveMemberOf", "/v1.0/me/directReports"] {
        let r = h.graph_with(Method::GET, path, None, &member, &[]).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
    }
    let r = h.graph_with(Method::GET, "/v1.0/me/manager", None, &member, &[]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);

    // The Global Administrator (wids) may write other users.
    let admin = admin_app_token(&h, &h.boot.admin_user_principal_name, &h.boot.admin_password).await;
    let wids = claims(&admin, 1)["wids"].clone();
    assert!(wids.as_array().is_some_and(|w| w.contains(&json!(GLOBAL_ADMIN))), "{wids}");
    let r = h.graph_with(Method::PATCH, &victim_path, Some(json!({"jobTitle": "Fine"})), &admin, &[]).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);

    // changePassword: the old password stops working, the new one signs in.
    let wrong = json!({"currentPassword": "nope", "newPassword": "Brand-New-Pa55!"});
    let r = h.graph_with(Method::POST, "/v1.0/me/changePassword", Some(wrong), &member, &[]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let body = json!({"currentPassword": PASSWORD, "newPassword": "Brand-New-Pa55!"});
    let r = h.graph_with(Method::POST, "/v1.0/me/changePassword", Some(body), &member, &[]).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    admin_app_token(&h, "member@contoso.onmicrosoft.com", "Brand-New-Pa55!").await;

    // App tokens still get Graph's /me answer.
    let r = h.get("/v1.0/me/memberOf").await;
    assert_eq!(r.message(), "/me request is only valid with delegated authentication flow.");
}

/// A certificate (with its key) registered on a new confidential app through Graph.
struct CertApp {
    app_id: String,
    signer: cerulean_identity::Signer,
}

async fn cert_app(h: &Harness) -> CertApp {
    let record = cerulean_identity::generate_signing_key().expect("key");
    let key = Arc::new(cerulean_identity::SigningKey::from_record(&record).expect("parse"));
    let der = base64::engine::general_purpose::STANDARD.encode(key.certificate_der());
    let r = h.post("/v1.0/applications", json!({"displayName": "Cert app"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let app_id = r.json["appId"].as_str().expect("appId").to_string();
    let patch = json!({"keyCredentials": [{"type": "AsymmetricX509Cert", "usage": "Verify", "key": der}]});
    let p = h.patch(&format!("/v1.0/applications/{}", id_of(&r.json)), patch).await;
    assert_eq!(p.status, StatusCode::NO_CONTENT, "{}", p.text);
    let sp = h.post("/v1.0/servicePrincipals", json!({"appId": app_id})).await;
    assert_eq!(sp.status, StatusCode::CREATED, "{}", sp.text);
    CertApp { app_id, signer: cerulean_identity::Signer::new(key) }
}

impl CertApp {
    fn assertion(&self, h: &Harness, tweak: impl FnOnce(&mut serde_json::Map<String, Value>)) -> String {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let mut c = json!({
            "aud": format!("{PUBLIC_URL}/{}/oauth2/v2.0/token", h.boot.tenant_id),
            "iss": self.app_id, "sub": self.app_id, "jti": uuid::Uuid::new_v4().to_string(),
            "nbf": now, "exp": now + 600,
        })
        .as_object()
        .cloned()
        .expect("claims");
        tweak(&mut c);
        self.signer.sign(&c, cerulean_identity::HeaderStyle::KidAndX5t).expect("sign")
    }
}

async fn with_assertion(h: &Harness, client_id: &str, assertion: &str) -> Reply {
    token(
        h,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
            ("client_assertion", assertion),
            ("scope", "https://graph.microsoft.com/.default"),
        ],
    )
    .await
}

#[tokio::test]
async fn certificate_client_assertions() {
    let h = Harness::new().await;
    let app = cert_app(&h).await;
    let r = with_assertion(&h, &app.app_id, &app.assertion(&h, |_| {})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(claims(r.json["access_token"].as_str().expect("at"), 1)["appidacr"], "2");
    // MSAL re-sends one assertion until it expires; Entra accepts that, so do we.
    assert_eq!(with_assertion(&h, &app.app_id, &app.assertion(&h, |_| {})).await.status, StatusCode::OK);

    let bad_aud = app.assertion(&h, |c| {
        c.insert("aud".into(), json!("https://login.microsoftonline.com/x/oauth2/v2.0/token"));
    });
    assert_oauth(&with_assertion(&h, &app.app_id, &bad_aud).await, 401, "invalid_client", 700023);
    let bad_iss = app.assertion(&h, |c| {
        c.insert("iss".into(), json!(uuid::Uuid::new_v4().to_string()));
    });
    assert_oauth(&with_assertion(&h, &app.app_id, &bad_iss).await, 401, "invalid_client", 700021);
    let expired = app.assertion(&h, |c| {
        c.insert("exp".into(), json!(1_600_000_000));
    });
    assert_oauth(&with_assertion(&h, &app.app_id, &expired).await, 401, "invalid_client", 700024);

    // A certificate the app does not have; a signature by another key under this header.
    let other = cert_app(&h).await;
    let foreign = other.assertion(&h, |c| {
        c.insert("iss".into(), json!(app.app_id));
        c.insert("sub".into(), json!(app.app_id));
    });
    let r = with_assertion(&h, &app.app_id, &foreign).await;
    assert_oauth(&r, 401, "invalid_client", 700027);
    assert!(r.text.contains("The key was not found"), "{}", r.text);
    let good = app.assertion(&h, |_| {});
    let header = good.split('.').next().expect("header");
    let forged = format!("{header}.{}", foreign.split_once('.').expect("rest").1);
    let r = with_assertion(&h, &app.app_id, &forged).await;
    assert_oauth(&r, 401, "invalid_client", 700027);
    assert!(r.text.contains("did not match"), "{}", r.text);

    // alg none and HS256 are refused before any key is used.
    let b64 = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let x5t = claims(&good, 0)["x5t"].clone();
    let payload = good.split('.').nth(1).expect("payload");
    for alg in ["none", "HS256"] {
        let forged = format!("{}.{payload}.c2ln", b64(json!({"alg": alg, "x5t": x5t})));
        assert_oauth(&with_assertion(&h, &app.app_id, &forged).await, 400, "invalid_request", 50027);
    }
    assert_oauth(&with_assertion(&h, &app.app_id, "not.a.jwt").await, 400, "invalid_request", 50027);

    // The v2 discovery document advertises private_key_jwt and userinfo.
    let d = h
        .graph_with(Method::GET, &format!("/{}/v2.0/.well-known/openid-configuration", h.boot.tenant_id), None, "", &[])
        .await;
    let methods = d.json["token_endpoint_auth_methods_supported"].as_array().expect("methods");
    assert!(methods.contains(&json!("private_key_jwt")));
    assert_eq!(d.json["userinfo_endpoint"], format!("{PUBLIC_URL}/oidc/userinfo"));
}

#[tokio::test]
async fn expired_client_secret_is_refused() {
    let h = Harness::new().await;
    let r = h.post("/v1.0/applications", json!({"displayName": "Old secret"})).await;
    let app_id = r.json["appId"].as_str().expect("appId").to_string();
    let h_sp = h.post("/v1.0/servicePrincipals", json!({"appId": app_id})).await;
    assert_eq!(h_sp.status, StatusCode::CREATED, "{}", h_sp.text);
    let added = h
        .post(
            &format!("/v1.0/applications/{}/addPassword", id_of(&r.json)),
            json!({"passwordCredential": {"displayName": "old", "startDateTime": "2020-01-01T00:00:00Z", "endDateTime": "2021-01-01T00:00:00Z"}}),
        )
        .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.text);
    let secret = added.json["secretText"].as_str().expect("secret").to_string();
    let r = token(
        &h,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &app_id),
            ("client_secret", &secret),
            ("scope", "https://graph.microsoft.com/.default"),
        ],
    )
    .await;
    assert_oauth(&r, 401, "invalid_client", 7000222);
}
