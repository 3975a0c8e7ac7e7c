//! The device authorization grant: the devicecode endpoint, polling answers
//! (`authorization_pending`, `slow_down`, `authorization_declined`, `expired_token`), the
//! user-code page and the sign-in that completes it.

use axum::http::StatusCode;
use cerulean_store::FlowRecord;
use serde_json::json;

use crate::browser::*;
use crate::harness::{Harness, Reply};

const SCOPE: &str = "openid profile offline_access User.Read";
const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

async fn devicecode(h: &Harness, app_id: &str) -> Reply {
    let r = h
        .form(
            &format!("/{}/oauth2/v2.0/devicecode", h.boot.tenant_id),
            &[("client_id", app_id), ("scope", SCOPE)],
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r
}

async fn poll(h: &Harness, app_id: &str, device_code: &str) -> Reply {
    h.form(
        &format!("/{}/oauth2/v2.0/token", h.boot.tenant_id),
        &[("grant_type", DEVICE_GRANT), ("client_id", app_id), ("device_code", device_code)],
        None,
    )
    .await
}

/// The user opens the verification page, enters the code and reaches the sign-in form.
async fn enter_code(h: &Harness, b: &mut Browser, uri: &str, user_code: &str) -> Reply {
    let path = uri.strip_prefix(crate::harness::PUBLIC_URL).expect("verification_uri on the public URL");
    let page = b.get(h, path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(page.text.contains("<label for=\"otc\">"));
    let csrf = hidden(&page.text, "csrf");
    // Case and separators do not matter.
    let typed = format!("{}-{}", &user_code[..4], &user_code[4..]).to_lowercase();
    let r = b.post(h, path, &[("csrf", &csrf), ("otc", &typed)]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.text.contains("name=\"password\""), "{}", r.text);
    r
}

#[tokio::test]
async fn device_code_flow_completes_after_the_user_signs_in() {
    let h = Harness::new().await;
    let user = h.user("adele", "Adele Vance").await;
    let (app_id, _) = registered_app(&h, Some("User.Read")).await;
    let d = devicecode(&h, &app_id).await;
    let device_code = d.json["device_code"].as_str().expect("device_code").to_string();
    let user_code = d.json["user_code"].as_str().expect("user_code").to_string();
    let uri = d.json["verification_uri"].as_str().expect("verification_uri").to_string();
    assert_eq!(uri, format!("{}/{}/oauth2/deviceauth", crate::harness::PUBLIC_URL, h.boot.tenant_id));
    assert_eq!(d.json["expires_in"], 900);
    assert_eq!(d.json["interval"], 5);
    assert!(d.json["message"].as_str().is_some_and(|m| m.contains(&user_code) && m.contains(&uri)));

    let r = poll(&h, &app_id, &device_code).await;
    assert_oauth(&r, 400, "authorization_pending", 70016);
    let r = poll(&h, &app_id, &device_code).await;
    assert_eq!(r.json["error"], "slow_down", "{}", r.text);

    // A wrong code is refused on the page.
    let mut b = Browser::default();
    let page = b.get(&h, &format!("/{}/oauth2/deviceauth", h.boot.tenant_id)).await;
    let csrf = hidden(&page.text, "csrf");
    let r =
        b.post(&h, &format!("/{}/oauth2/deviceauth", h.boot.tenant_id), &[("csrf", &csrf), ("otc", "ZZZZZZZZZ")]).await;
    assert!(r.text.contains("That code didn&#39;t work"), "{}", r.text);

    let form = enter_code(&h, &mut b, &uri, &user_code).await;
    let done = b.sign_in(&h, &form, "adele@contoso.onmicrosoft.com", PASSWORD).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    assert!(done.text.contains("signed in"), "{}", done.text);

    let t = poll(&h, &app_id, &device_code).await;
    assert_eq!(t.status, StatusCode::OK, "{}", t.text);
    assert!(t.json["refresh_token"].as_str().is_some() && t.json["id_token"].as_str().is_some());
    assert_eq!(claims(t.json["access_token"].as_str().expect("at"), 1)["oid"], user["id"]);
    // Exchanged once.
    let r = poll(&h, &app_id, &device_code).await;
    assert_eq!(r.json["error"], "bad_verification_code", "{}", r.text);
    // Another client cannot poll with it, and a made-up code is unknown.
    let r = poll(&h, &app_id, "1.nothing.here").await;
    assert_eq!(r.json["error"], "bad_verification_code");
}

#[tokio::test]
async fn declined_and_expired_device_codes() {
    let h = Harness::new().await;
    h.user("adele", "Adele Vance").await;
    let (app_id, _) = registered_app(&h, Some("User.Read")).await;
    let d = devicecode(&h, &app_id).await;
    let device_code = d.json["device_code"].as_str().expect("device_code").to_string();
    let mut b = Browser::default();
    let form = enter_code(
        &h,
        &mut b,
        d.json["verification_uri"].as_str().expect("uri"),
        d.json["user_code"].as_str().expect("uc"),
    )
    .await;
    let r = b
        .post(
            &h,
            &format!("/{}/oauth2/v2.0/login", h.boot.tenant_id),
            &[("flow", &hidden(&form.text, "flow")), ("csrf", &hidden(&form.text, "csrf")), ("action", "decline")],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = poll(&h, &app_id, &device_code).await;
    assert_eq!(r.json["error"], "authorization_declined", "{}", r.text);

    // Expired: a copy of a live record under a new code, with its expiry in the past.
    let d = devicecode(&h, &app_id).await;
    let key = cerulean_identity::user_tokens::refresh_token_hash(d.json["device_code"].as_str().expect("dc"));
    let record = h.store.flow(h.tenant(), "device", &key).await.expect("read").expect("stored hashed");
    let stale = format!("1.{}.stale-device", h.tenant().simple());
    let expired = FlowRecord {
        key: cerulean_identity::user_tokens::refresh_token_hash(&stale),
        lookup: Some("STALECODE".into()),
        created_at: "2024-01-01T00:00:00Z".into(),
        expires_at: "2024-01-01T00:15:00Z".into(),
        ..record
    };
    h.store.put_flow(h.tenant(), &expired, "2000-01-01T00:00:00Z").await.expect("put");
    let r = poll(&h, &app_id, &stale).await;
    assert_oauth(&r, 400, "expired_token", 70019);
}

#[tokio::test]
async fn v1_devicecode_answers_in_the_v1_shape() {
    let h = Harness::new().await;
    let (app_id, _) = registered_app(&h, Some("User.Read")).await;
    let r = h
        .form(
            &format!("/{}/oauth2/devicecode", h.boot.tenant_id),
            &[("client_id", &app_id), ("resource", "https://graph.microsoft.com")],
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.json["verification_url"].as_str().is_some());
    assert_eq!(r.json["expires_in"], json!("900"));
    let r = h
        .form(
            &format!("/{}/oauth2/v2.0/devicecode", h.boot.tenant_id),
            &[("client_id", "6731de76-14a6-49ae-97bc-6eba6914391e"), ("scope", SCOPE)],
            None,
        )
        .await;
    assert_oauth(&r, 400, "unauthorized_client", 700016);
}
