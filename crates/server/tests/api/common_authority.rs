//! `common` and `organizations` for user flows (MSAL's default authority is `/common`): the
//! authorize endpoint without any hint serves the sign-in page and finds the user's tenant
//! from the typed name (home-realm discovery), codes and refresh tokens are redeemed there,
//! and device codes are issued there; the tokens carry the real tenant.

use axum::http::StatusCode;

use crate::browser::*;
use crate::harness::{Harness, PUBLIC_URL, Reply};

const SCOPE: &str = "openid profile offline_access User.Read";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-common-authority";
const UPN: &str = "adele@contoso.onmicrosoft.com";

fn authorize_url(authority: &str, client_id: &str) -> String {
    let challenge = s256(VERIFIER);
    let p = [
        ("client_id", client_id),
        ("response_type", "code"),
        ("redirect_uri", NATIVE_REDIRECT),
        ("scope", SCOPE),
        ("state", "st-common"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    format!("/{authority}/oauth2/v2.0/authorize?{}", serde_urlencoded::to_string(p).expect("query"))
}

async fn token(h: &Harness, authority: &str, fields: &[(&str, &str)]) -> Reply {
    h.form(&format!("/{authority}/oauth2/v2.0/token"), fields, None).await
}

fn assert_tenant(h: &Harness, r: &Reply) {
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let at = claims(r.json["access_token"].as_str().expect("at"), 1);
    assert_eq!(at["tid"], h.boot.tenant_id.as_str(), "{at}");
    let id = claims(r.json["id_token"].as_str().expect("id"), 1);
    assert_eq!(id["tid"], h.boot.tenant_id.as_str());
    assert_eq!(id["iss"], format!("{PUBLIC_URL}/{}/v2.0", h.boot.tenant_id));
}

#[tokio::test]
async fn authorize_on_common_without_a_hint_discovers_the_tenant_then_code_and_refresh_on_common() {
    let h = Harness::new().await;
    h.user("adele", "Adele Vance").await;
    let (app_id, _) = registered_app(&h, Some("User.Read")).await;

    for authority in ["common", "organizations"] {
        let mut b = Browser::default();
        let page = b.get(&h, &authorize_url(authority, &app_id)).await;
        assert_eq!(page.status, StatusCode::OK, "{authority}: {}", page.text);
        assert!(page.text.contains("name=\"password\""), "{}", page.text);
        let r = b.sign_in(&h, &page, UPN, PASSWORD).await;
        let params = redirect_params(&location(&r));
        assert_eq!(params["state"], "st-common");
        let code = params["code"].clone();

        let t = token(
            &h,
            authority,
            &[
                ("grant_type", "authorization_code"),
                ("client_id", &app_id),
                ("code", &code),
                ("redirect_uri", NATIVE_REDIRECT),
                ("scope", SCOPE),
                ("code_verifier", VERIFIER),
            ],
        )
        .await;
        assert_tenant(&h, &t);
        let rt = t.json["refresh_token"].as_str().expect("rt");
        let t = token(
            &h,
            authority,
            &[("grant_type", "refresh_token"), ("client_id", &app_id), ("refresh_token", rt), ("scope", SCOPE)],
        )
        .await;
        assert_tenant(&h, &t);
    }
}

#[tokio::test]
async fn unknown_domains_and_other_tenants_without_the_app_are_refused_on_the_page() {
    let h = Harness::new().await;
    let (app_id, _) = registered_app(&h, Some("User.Read")).await;
    let mut b = Browser::default();
    let page = b.get(&h, &authorize_url("common", &app_id)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);

    // A domain no tenant here owns: Entra's "user does not exist", on the form again.
    let r = b.sign_in(&h, &page, "someone@fabrikam.example", PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.text.contains("AADSTS50034"), "{}", r.text);
    assert!(r.headers.get("location").is_none());

    // A user of another tenant where the application is not registered: AADSTS700016.
    let other = h
        .app
        .directory
        .bootstrap_tenant(cerulean_directory::BootstrapRequest {
            tenant_domain: "woodgrove.onmicrosoft.com".into(),
            tenant_display_name: "Woodgrove".into(),
            admin_password: PASSWORD.into(),
            client_secret_hash: cerulean_identity::secrets::hash_secret("woodgrove-secret-value-with-enough-length"),
            client_secret_hint: "woo".into(),
            app_permissions: vec![],
        })
        .await
        .expect("second tenant");
    let r = b.sign_in(&h, &r, &other.admin_upn, PASSWORD).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.text.contains("AADSTS700016"), "{}", r.text);

    // Without client_id nothing identifies a tenant: AADSTS50059 as before.
    let r = Browser::default().get(&h, "/common/oauth2/v2.0/authorize?response_type=code").await;
    assert!(r.text.contains("AADSTS50059"), "{}", r.text);
}

async fn poll(h: &Harness, app_id: &str, device_code: &str) -> Reply {
    token(
        h,
        "organizations",
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("client_id", app_id),
            ("device_code", device_code),
        ],
    )
    .await
}

#[tokio::test]
async fn device_code_on_organizations() {
    let h = Harness::new().await;
    h.user("adele", "Adele Vance").await;
    let (app_id, _) = registered_app(&h, Some("User.Read")).await;
    let d = h
        .form("/organizations/oauth2/v2.0/devicecode", &[("client_id", app_id.as_str()), ("scope", SCOPE)], None)
        .await;
    assert_eq!(d.status, StatusCode::OK, "{}", d.text);
    let device_code = d.json["device_code"].as_str().expect("device_code").to_string();
    let uri = d.json["verification_uri"].as_str().expect("uri");
    let path = uri.strip_prefix(PUBLIC_URL).expect("public url").to_string();

    assert_oauth(&poll(&h, &app_id, &device_code).await, 400, "authorization_pending", 70016);

    let mut b = Browser::default();
    let entry = b.get(&h, &path).await;
    let csrf = hidden(&entry.text, "csrf");
    let form = b.post(&h, &path, &[("csrf", &csrf), ("otc", d.json["user_code"].as_str().expect("code"))]).await;
    let done = b.sign_in(&h, &form, UPN, PASSWORD).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);

    // The poll interval (5 s) is enforced; wait it out.
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    assert_tenant(&h, &poll(&h, &app_id, &device_code).await);

    // An application no tenant here has: still AADSTS50059 (nothing names a tenant).
    let r = h
        .form(
            "/organizations/oauth2/v2.0/devicecode",
            &[("client_id", "11111111-2222-3333-4444-555555555555"), ("scope", SCOPE)],
            None,
        )
        .await;
    assert_oauth(&r, 400, "invalid_request", 50059);
}
