//! Consent in the browser: the consent page of the authorize flow (official permission
//! texts, accept creates an `oauth2PermissionGrant`, cancel is AADSTS65004, `prompt=consent`
//! asks again, admin-only permissions are AADSTS65001 for members) and `/{tenant}/adminconsent`.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::browser::*;
use crate::harness::{Harness, id_of};

const USER_READ_SCOPE: &str = "e1fe6dd8-ba31-4d61-89e7-88639da4683d";
const USER_READ_ALL_ROLE: &str = "df021288-bdef-4463-88db-98f22de89214";
const SCOPE: &str = "openid profile offline_access User.Read";

fn authorize_url(h: &Harness, client_id: &str, scope: &str, extra: &[(&str, &str)]) -> String {
    let challenge = s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-plus-some-more-entropy");
    let mut p: Vec<(&str, &str)> = vec![
        ("client_id", client_id),
        ("response_type", "code"),
        ("redirect_uri", NATIVE_REDIRECT),
        ("scope", scope),
        ("state", "st-9"),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
    ];
    p.extend_from_slice(extra);
    format!("/{}/oauth2/v2.0/authorize?{}", h.boot.tenant_id, serde_urlencoded::to_string(&p).expect("query"))
}

/// Submits the consent form of `page` with `action` (`accept` or `cancel`).
async fn decide(h: &Harness, b: &mut Browser, page: &crate::harness::Reply, action: &str) -> crate::harness::Reply {
    assert!(page.text.contains("Permissions requested"), "{}", page.text);
    let action_url = format!("/{}/oauth2/v2.0/consent", h.boot.tenant_id);
    let (flow, csrf) = (hidden(&page.text, "flow"), hidden(&page.text, "csrf"));
    b.post(h, &action_url, &[("flow", &flow), ("csrf", &csrf), ("action", action)]).await
}

async fn graph_scope(h: &Harness, value: &str) -> Value {
    let graph = h.get(&format!("/v1.0/servicePrincipals(appId='{GRAPH}')")).await;
    graph.json["oauth2PermissionScopes"]
        .as_array()
        .expect("scopes")
        .iter()
        .find(|s| s["value"] == value)
        .cloned()
        .expect("scope defined")
}

fn html(s: &str) -> String {
    s.replace('&', "&amp;").replace('\'', "&#39;").replace('"', "&quot;").replace('<', "&lt;").replace('>', "&gt;")
}

#[tokio::test]
async fn the_consent_page_asks_once_and_records_the_users_grant() {
    let h = Harness::new().await;
    let adele = h.user("adele", "Adele Vance").await;
    let (app_id, _) = registered_app(&h, None).await;
    let sp = id_of(&h.get(&format!("/v1.0/servicePrincipals(appId='{app_id}')")).await.json);
    let user_read = graph_scope(&h, "User.Read").await;
    let mut b = Browser::default();

    let page = b.get(&h, &authorize_url(&h, &app_id, SCOPE, &[])).await;
    let consent = b.sign_in(&h, &page, "adele@contoso.onmicrosoft.com", PASSWORD).await;
    assert_eq!(consent.status, StatusCode::OK, "{}", consent.text);
    for text in ["userConsentDisplayName", "userConsentDescription"] {
        let official = user_read[text].as_str().expect("official text");
        assert!(consent.text.contains(&html(official)), "{text}: {}", consent.text);
    }
    assert!(consent.text.contains("Browser app") && !consent.text.contains("<script"));

    // Cancel: access_denied to the application, nothing recorded.
    let r = decide(&h, &mut b, &consent, "cancel").await;
    let p = redirect_params(&location(&r));
    assert_eq!(p["error"], "access_denied");
    assert!(p["error_description"].starts_with("AADSTS65004:"), "{p:?}");
    assert_eq!(p["state"], "st-9");
    let grants = h.get(&format!("/v1.0/oauth2PermissionGrants?$filter=clientId%20eq%20'{sp}'")).await;
    assert_eq!(grants.json["value"], json!([]), "{}", grants.text);

    // The consent form cannot be replayed, nor posted without its CSRF cookie.
    let again = b.get(&h, &authorize_url(&h, &app_id, SCOPE, &[])).await;
    assert!(again.text.contains("Permissions requested"), "the SSO session goes straight to consent");
    let stranger = decide(&h, &mut Browser::default(), &again, "accept").await;
    assert_eq!(stranger.status, StatusCode::BAD_REQUEST);
    assert!(stranger.text.contains("AADSTS50089"), "{}", stranger.text);

    // Accept: a Principal grant for Adele, then the code.
    let r = decide(&h, &mut b, &again, "accept").await;
    let p = redirect_params(&location(&r));
    assert!(p.contains_key("code"), "{p:?}");
    let grants = h.get(&format!("/v1.0/oauth2PermissionGrants?$filter=clientId%20eq%20'{sp}'")).await;
    let grant = &grants.json["value"][0];
    assert_eq!(grant["consentType"], "Principal", "{}", grants.text);
    assert_eq!(grant["principalId"], adele["id"]);
    assert_eq!(grant["scope"], "User.Read");
    let replay = decide(&h, &mut b, &again, "accept").await;
    assert!(replay.text.contains("AADSTS50089"), "{}", replay.text);

    // Consented: no page any more; prompt=consent asks again.
    let r = b.get(&h, &authorize_url(&h, &app_id, SCOPE, &[])).await;
    assert!(redirect_params(&location(&r)).contains_key("code"));
    let r = b.get(&h, &authorize_url(&h, &app_id, SCOPE, &[("prompt", "consent")])).await;
    assert!(r.text.contains("Permissions requested"), "{}", r.text);
    let r = decide(&h, &mut b, &r, "accept").await;
    assert!(redirect_params(&location(&r)).contains_key("code"));
}

#[tokio::test]
async fn admin_only_permissions_need_an_administrator() {
    let h = Harness::new().await;
    h.user("adele", "Adele Vance").await;
    let (app_id, _) = registered_app(&h, None).await;
    let scope = "openid User.Read.All";
    assert_eq!(graph_scope(&h, "User.Read.All").await["type"], "Admin");

    // A member cannot consent to an Admin permission: AADSTS65001 to the application.
    let mut b = Browser::default();
    let page = b.get(&h, &authorize_url(&h, &app_id, scope, &[])).await;
    let r = b.sign_in(&h, &page, "adele@contoso.onmicrosoft.com", PASSWORD).await;
    let p = redirect_params(&location(&r));
    assert!(p["error_description"].starts_with("AADSTS65001:"), "{p:?}");

    // A Global Administrator can (for themself, on this page).
    let mut admin = Browser::default();
    let page = admin.get(&h, &authorize_url(&h, &app_id, scope, &[])).await;
    let r = admin.sign_in(&h, &page, &h.boot.admin_user_principal_name, &h.boot.admin_password).await;
    let r = decide(&h, &mut admin, &r, "accept").await;
    assert!(redirect_params(&location(&r)).contains_key("code"));
}

#[tokio::test]
async fn admin_consent_grants_the_required_permissions_tenant_wide() {
    let h = Harness::new().await;
    h.user("adele", "Adele Vance").await;
    let (app_id, object_id) = registered_app(&h, None).await;
    let required = json!({"requiredResourceAccess": [{"resourceAppId": GRAPH, "resourceAccess": [
        {"id": USER_READ_SCOPE, "type": "Scope"}, {"id": USER_READ_ALL_ROLE, "type": "Role"}]}]});
    let r = h.patch(&format!("/v1.0/applications/{object_id}"), required).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let sp = id_of(&h.get(&format!("/v1.0/servicePrincipals(appId='{app_id}')")).await.json);
    let url = |redirect: &str| {
        format!(
            "/{}/adminconsent?{}",
            h.boot.tenant_id,
            serde_urlencoded::to_string([
                ("client_id", app_id.as_str()),
                ("redirect_uri", redirect),
                ("state", "12345")
            ])
            .expect("query")
        )
    };

    // An unregistered redirect URI: the error page, never a redirect.
    let mut b = Browser::default();
    let r = b.get(&h, &url("https://evil.example/")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text.contains("AADSTS50011"), "{}", r.text);

    // A member signs in: admin approval needed.
    let page = b.get(&h, &url(WEB_REDIRECT)).await;
    let r = b.sign_in(&h, &page, "adele@contoso.onmicrosoft.com", PASSWORD).await;
    assert!(r.text.contains("AADSTS90094"), "{}", r.text);

    // The Global Administrator: the page lists the permissions with the admin texts.
    let mut admin = Browser::default();
    let page = admin.get(&h, &url(WEB_REDIRECT)).await;
    let consent = admin.sign_in(&h, &page, &h.boot.admin_user_principal_name, &h.boot.admin_password).await;
    let user_read = graph_scope(&h, "User.Read").await;
    assert!(consent.text.contains(&html(user_read["adminConsentDisplayName"].as_str().expect("text"))));
    assert!(consent.text.contains("User.Read.All") && consent.text.contains("all users in your organization"));
    // Cancelled: access_denied.
    let r = decide(&h, &mut admin, &consent, "cancel").await;
    let p = redirect_params(&location(&r));
    assert_eq!(p["error"], "access_denied", "{p:?}");
    assert_eq!(p["state"], "12345");

    // Accepted (the SSO session skips the password): admin_consent=True, grants recorded.
    let consent = admin.get(&h, &url(WEB_REDIRECT)).await;
    let r = decide(&h, &mut admin, &consent, "accept").await;
    let loc = location(&r);
    assert!(loc.starts_with(WEB_REDIRECT), "{loc}");
    let p = redirect_params(&loc);
    assert_eq!(p["admin_consent"], "True");
    assert_eq!(p["tenant"], h.boot.tenant_id);
    assert_eq!(p["state"], "12345");
    let grants = h.get(&format!("/v1.0/oauth2PermissionGrants?$filter=clientId%20eq%20'{sp}'")).await;
    let grant = &grants.json["value"][0];
    assert_eq!(grant["consentType"], "AllPrincipals", "{}", grants.text);
    assert_eq!(grant["scope"], "User.Read");
    let roles = h.get(&format!("/v1.0/servicePrincipals/{sp}/appRoleAssignments")).await;
    assert_eq!(roles.json["value"][0]["appRoleId"], USER_READ_ALL_ROLE, "{}", roles.text);

    // Now any member gets a code without a consent page (Adele's session from above).
    let r = b.get(&h, &authorize_url(&h, &app_id, SCOPE, &[])).await;
    assert!(redirect_params(&location(&r)).contains_key("code"));
    // Consenting twice is harmless.
    let consent = admin.get(&h, &url(WEB_REDIRECT)).await;
    let r = decide(&h, &mut admin, &consent, "accept").await;
    assert_eq!(redirect_params(&location(&r))["admin_consent"], "True");
}
