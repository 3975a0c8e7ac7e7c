//! A `spa` redirect URI makes the request a public client's, whatever else the application
//! is: without PKCE (S256) the authorize request is refused (AADSTS9002325) to the SPA, while
//! the same confidential application's `web` redirect URI may omit it.

use axum::http::StatusCode;
use serde_json::json;

use crate::browser::*;
use crate::harness::Harness;

fn authorize_url(h: &Harness, client_id: &str, redirect: &str, pkce: Option<&str>) -> String {
    let challenge = pkce.map(s256);
    let mut p = vec![
        ("client_id", client_id),
        ("response_type", "code"),
        ("redirect_uri", redirect),
        ("scope", "openid profile User.Read"),
        ("state", "st-spa"),
    ];
    if let Some(c) = &challenge {
        p.push(("code_challenge", c));
        p.push(("code_challenge_method", "S256"));
    }
    format!("/{}/oauth2/v2.0/authorize?{}", h.boot.tenant_id, serde_urlencoded::to_string(&p).expect("query"))
}

#[tokio::test]
async fn a_spa_redirect_without_pkce_is_refused() {
    let h = Harness::new().await;
    // A confidential web application that also has a SPA platform.
    let r = h
        .post(
            "/v1.0/applications",
            json!({"displayName": "Web and SPA", "web": {"redirectUris": [WEB_REDIRECT]}, "spa": {"redirectUris": [SPA_REDIRECT]}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let app_id = r.json["appId"].as_str().expect("appId").to_string();
    let sp = h.post("/v1.0/servicePrincipals", json!({"appId": app_id})).await;
    assert_eq!(sp.status, StatusCode::CREATED, "{}", sp.text);
    let mut b = Browser::default();

    let r = b.get(&h, &authorize_url(&h, &app_id, SPA_REDIRECT, None)).await;
    let loc = location(&r);
    assert!(loc.starts_with(SPA_REDIRECT), "the error goes to the SPA: {loc}");
    let p = redirect_params(&loc);
    assert_eq!(p["error"], "invalid_request", "{p:?}");
    assert!(p["error_description"].starts_with("AADSTS9002325:"), "{p:?}");
    assert_eq!(p["state"], "st-spa");

    // With S256 the SPA gets the sign-in page; the web redirect needs no PKCE.
    let r =
        b.get(&h, &authorize_url(&h, &app_id, SPA_REDIRECT, Some("a-spa-verifier-of-enough-length-0123456789"))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.text.contains("name=\"flow\""), "{}", r.text);
    let r = b.get(&h, &authorize_url(&h, &app_id, WEB_REDIRECT, None)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.text.contains("name=\"flow\""), "{}", r.text);
}
