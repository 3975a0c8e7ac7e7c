//! Sign-out across applications: the `sid` claim of ID tokens issued through the browser
//! session, and the logout page's front-channel iframes to the `web.logoutUrl` of every
//! application the session signed into (with `sid` and `iss`), before it continues to a
//! registered `post_logout_redirect_uri`.

use axum::http::StatusCode;
use serde_json::json;

use crate::browser::*;
use crate::harness::{Harness, PUBLIC_URL};

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-plus-some-more-entropy";
const LOGOUT_URL: &str = "https://web.example/signout-oidc";

fn authorize_url(h: &Harness, client_id: &str, extra: &[(&str, &str)]) -> String {
    let challenge = s256(VERIFIER);
    let mut p: Vec<(&str, &str)> = vec![
        ("client_id", client_id),
        ("response_type", "code"),
        ("redirect_uri", NATIVE_REDIRECT),
        ("scope", "openid profile User.Read"),
        ("state", "st-1"),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
    ];
    p.extend_from_slice(extra);
    format!("/{}/oauth2/v2.0/authorize?{}", h.boot.tenant_id, serde_urlencoded::to_string(&p).expect("query"))
}

async fn id_token_for(h: &Harness, client_id: &str, code: &str) -> serde_json::Value {
    let r = h
        .form(
            &format!("/{}/oauth2/v2.0/token", h.boot.tenant_id),
            &[
                ("grant_type", "authorization_code"),
                ("client_id", client_id),
                ("code", code),
                ("redirect_uri", NATIVE_REDIRECT),
                ("scope", "openid profile User.Read"),
                ("code_verifier", VERIFIER),
            ],
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    claims(r.json["id_token"].as_str().expect("id_token"), 1)
}

fn logout_path(h: &Harness, client_id: &str, redirect: &str) -> String {
    let q = serde_urlencoded::to_string([
        ("client_id", client_id),
        ("post_logout_redirect_uri", redirect),
        ("state", "bye"),
    ])
    .expect("query");
    format!("/{}/oauth2/v2.0/logout?{q}", h.boot.tenant_id)
}

/// The `src` of every front-channel iframe on a page (HTML-unescaped).
fn frames(html: &str) -> Vec<String> {
    html.split("<iframe class=\"frontchannel-logout\" src=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(|s| s.replace("&amp;", "&"))
        .collect()
}

#[tokio::test]
async fn logout_notifies_every_application_the_session_signed_into() {
    let h = Harness::new().await;
    h.user("adele", "Adele Vance").await;
    let (first, first_object) = registered_app(&h, Some("User.Read")).await;
    let (second, _) = registered_app(&h, Some("User.Read")).await;
    let (never_used, never_object) = registered_app(&h, Some("User.Read")).await;
    for object in [&first_object, &never_object] {
        let r = h
            .patch(
                &format!("/v1.0/applications/{object}"),
                json!({"web": {"redirectUris": [WEB_REDIRECT], "logoutUrl": LOGOUT_URL}}),
            )
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    }

    let mut b = Browser::default();
    let page = b.get(&h, &authorize_url(&h, &first, &[])).await;
    let r = b.sign_in(&h, &page, "adele@contoso.onmicrosoft.com", PASSWORD).await;
    let first_id = id_token_for(&h, &first, &redirect_params(&location(&r))["code"]).await;
    // The second application signs in silently through the same session: the same `sid`.
    let r = b.get(&h, &authorize_url(&h, &second, &[("prompt", "none")])).await;
    let second_id = id_token_for(&h, &second, &redirect_params(&location(&r))["code"]).await;
    let sid = first_id["sid"].as_str().expect("sid claim").to_string();
    assert_eq!(second_id["sid"], sid.as_str(), "one session, one sid");

    // A second browser has its own session and its own sid.
    let mut other = Browser::default();
    let page = other.get(&h, &authorize_url(&h, &first, &[])).await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let r = other.sign_in(&h, &page, "adele@contoso.onmicrosoft.com", PASSWORD).await;
    let other_id = id_token_for(&h, &first, &redirect_params(&location(&r))["code"]).await;
    assert_ne!(other_id["sid"], sid.as_str());

    let r = b.get(&h, &logout_path(&h, &second, NATIVE_REDIRECT)).await;
    assert_eq!(r.status, StatusCode::OK, "front-channel frames need a page: {}", r.text);
    let iss = format!("{PUBLIC_URL}/{}/v2.0", h.boot.tenant_id);
    let expected = format!(
        "{LOGOUT_URL}?{}",
        serde_urlencoded::to_string([("sid", sid.as_str()), ("iss", iss.as_str())]).expect("q")
    );
    // Only the application with a logout URL that the session signed into: not the second
    // (no logout URL), not the third (never signed into).
    assert_eq!(frames(&r.text), vec![expected], "{}", r.text);
    assert!(!r.text.contains(&never_used), "an application never signed into is not named");
    assert!(r.text.contains(&format!("href=\"{NATIVE_REDIRECT}?state=bye\"")), "{}", r.text);
    assert!(b.set_cookies.last().is_some_and(|c| c.starts_with("cerulean_sso_") && c.contains("Max-Age=0")));

    // The session is over: a silent request needs a sign-in, and a second logout has nothing
    // to notify (a plain redirect).
    let r = b.get(&h, &authorize_url(&h, &first, &[("prompt", "none")])).await;
    assert_eq!(redirect_params(&location(&r))["error"], "login_required");
    let r = b.get(&h, &logout_path(&h, &second, NATIVE_REDIRECT)).await;
    assert_eq!(location(&r), format!("{NATIVE_REDIRECT}?state=bye"));

    // The other browser's session is untouched, and its logout notifies with its own sid; an
    // unregistered post-logout URI is not followed, but the frames are still rendered.
    let r = other.get(&h, &authorize_url(&h, &first, &[("prompt", "none")])).await;
    assert!(redirect_params(&location(&r)).contains_key("code"));
    let r = other.get(&h, &logout_path(&h, &first, "https://evil.example/")).await;
    assert_eq!(r.status, StatusCode::OK);
    let f = frames(&r.text);
    assert_eq!(f.len(), 1, "{}", r.text);
    assert!(f[0].contains(&format!("sid={}", other_id["sid"].as_str().expect("sid"))), "{f:?}");
    assert!(!r.text.contains("evil.example"), "{}", r.text);
}

#[tokio::test]
async fn tokens_without_a_browser_session_carry_no_sid() {
    let h = Harness::new().await;
    h.user("adele", "Adele Vance").await;
    let (app_id, _) = registered_app(&h, Some("User.Read")).await;
    let r = adele_password_grant(&h, &app_id, "openid User.Read").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let id = claims(r.json["id_token"].as_str().expect("id_token"), 1);
    assert!(id.get("sid").is_none(), "{id}");
}
