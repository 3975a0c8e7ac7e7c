//! Smart lockout on every password path: the token endpoint's password grant and the sign-in
//! page. Failures from the user's familiar locations (addresses of earlier successful
//! sign-ins) and from elsewhere are counted apart; a repeated bad password counts once; a
//! lockout ends after its duration and the next one lasts longer; the counters live in the
//! store, so a second node sees the lock; locked attempts are in the sign-in log.

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode};
use cerulean::app::{App, AppOptions};
use cerulean_directory::LockoutPolicy;
use tower::ServiceExt;

use crate::browser::{Browser, NATIVE_REDIRECT, PASSWORD, assert_oauth, location, registered_app, s256};
use crate::harness::{Harness, PUBLIC_URL, Reply};

const ADELE: &str = "adele@contoso.onmicrosoft.com";
const HOME: &str = "192.0.2.10:5000";
const ELSEWHERE: &str = "203.0.113.5:5000";

fn options() -> AppOptions {
    AppOptions { lockout: LockoutPolicy { threshold: 3, duration_secs: 1 }, ..AppOptions::default() }
}

fn enc(s: &str) -> String {
    s.replace(' ', "%20").replace('\'', "%27")
}

/// A password grant as a client at `peer` sends it, through `app` (a node).
async fn ropc_at(app: &App, client_id: &str, password: &str, peer: &str) -> Reply {
    let fields = [
        ("grant_type", "password"),
        ("client_id", client_id),
        ("username", ADELE),
        ("password", password),
        ("scope", "https://graph.microsoft.com/User.Read"),
    ];
    let tenant = app.directory.tenants().await.expect("tenants")[0].id;
    let mut req = Request::builder()
        .method(Method::POST)
        .uri(format!("/{tenant}/oauth2/v2.0/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(serde_urlencoded::to_string(fields).expect("form")))
        .expect("request");
    let addr: SocketAddr = peer.parse().expect("peer");
    req.extensions_mut().insert(ConnectInfo(addr));
    let res = app.service::<Body>().oneshot(req).await.expect("infallible");
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 20).await.expect("body");
    let text = String::from_utf8_lossy(&bytes).to_string();
    let json = serde_json::from_slice(&bytes).unwrap_or_default();
    Reply { status, headers, text, json }
}

#[tokio::test]
async fn password_grant_locks_unfamiliar_locations_apart_from_familiar_ones() {
    let h = Harness::with_options("contoso.onmicrosoft.com", options()).await;
    h.user("adele", "Adele Vance").await;
    let (client, _) = registered_app(&h, Some("User.Read")).await;
    let app = &h.app;

    // A success from home makes home familiar.
    let r = ropc_at(app, &client, PASSWORD, HOME).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    // From elsewhere: one bad password repeated counts once, so five tries do not lock.
    for _ in 0..5 {
        assert_oauth(&ropc_at(app, &client, "Wrong-Password-1", ELSEWHERE).await, 400, "invalid_grant", 50126);
    }
    assert_oauth(&ropc_at(app, &client, "Wrong-Password-2", ELSEWHERE).await, 400, "invalid_grant", 50126);
    // The third distinct bad password reaches the threshold: locked from now on.
    assert_oauth(&ropc_at(app, &client, "Wrong-Password-3", ELSEWHERE).await, 400, "invalid_grant", 50053);
    let locked = ropc_at(app, &client, PASSWORD, ELSEWHERE).await;
    assert_oauth(&locked, 400, "invalid_grant", 50053);
    let description = locked.json["error_description"].as_str().expect("description");
    assert!(
        description.starts_with(
            "AADSTS50053: The account is locked, you've tried to sign in too many times with an incorrect user ID or password."
        ),
        "{description}"
    );

    // Another node on the same database sees the same lock.
    let other = App::with_options(h.other_store().await, PUBLIC_URL, options());
    assert_oauth(&ropc_at(&other, &client, PASSWORD, ELSEWHERE).await, 400, "invalid_grant", 50053);

    // The attacker elsewhere has not locked the user out of home.
    let r = ropc_at(app, &client, PASSWORD, HOME).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    // The locked attempts are in the sign-in log with their code, from the address they came from.
    let log = h.get(&format!("/v1.0/auditLogs/signIns?$filter={}", enc("status/errorCode eq 50053"))).await;
    assert_eq!(log.status, StatusCode::OK, "{}", log.text);
    let rows = log.json["value"].as_array().expect("value");
    assert!(rows.len() >= 2, "{}", log.text);
    assert!(rows.iter().all(|r| r["ipAddress"] == "203.0.113.5" && r["userPrincipalName"] == ADELE), "{}", log.text);

    // The lockout ends after its duration; the next failure locks again at once, for longer.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_oauth(&ropc_at(app, &client, "Wrong-Password-4", ELSEWHERE).await, 400, "invalid_grant", 50053);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_oauth(&ropc_at(app, &client, PASSWORD, ELSEWHERE).await, 400, "invalid_grant", 50053);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let r = ropc_at(app, &client, PASSWORD, ELSEWHERE).await;
    assert_eq!(r.status, StatusCode::OK, "the second lockout lasts two seconds: {}", r.text);

    // A success resets the counter: two failures no longer lock.
    for pw in ["Wrong-Password-5", "Wrong-Password-6"] {
        assert_oauth(&ropc_at(app, &client, pw, ELSEWHERE).await, 400, "invalid_grant", 50126);
    }
    assert_eq!(ropc_at(app, &client, PASSWORD, ELSEWHERE).await.status, StatusCode::OK);
}

#[tokio::test]
async fn the_sign_in_page_counts_failures_and_shows_the_lockout() {
    let h = Harness::with_options("contoso.onmicrosoft.com", options()).await;
    h.user("adele", "Adele Vance").await;
    let (client, _) = registered_app(&h, Some("User.Read")).await;
    let challenge = s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-plus-some-more-entropy");
    let query = serde_urlencoded::to_string([
        ("client_id", client.as_str()),
        ("response_type", "code"),
        ("redirect_uri", NATIVE_REDIRECT),
        ("scope", "openid User.Read"),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
    ])
    .expect("query");
    let url = format!("/{}/oauth2/v2.0/authorize?{query}", h.boot.tenant_id);
    let mut b = Browser::default();
    let mut page = b.get(&h, &url).await;
    for pw in ["Wrong-Password-1", "Wrong-Password-1", "Wrong-Password-2"] {
        page = b.sign_in(&h, &page, ADELE, pw).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.text.contains("AADSTS50126: Your account or password is incorrect."), "{}", page.text);
    }
    page = b.sign_in(&h, &page, ADELE, "Wrong-Password-3").await;
    let locked_text = "AADSTS50053: Your account is temporarily locked to prevent unauthorized use.";
    assert!(page.text.contains(locked_text), "{}", page.text);
    // Even the right password is refused while locked, and nobody is signed in.
    page = b.sign_in(&h, &page, ADELE, PASSWORD).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains(locked_text), "{}", page.text);
    assert!(!b.cookies.keys().any(|k| k.starts_with("cerulean_sso")), "no session: {:?}", b.cookies);

    let log = h.get(&format!("/v1.0/auditLogs/signIns?$filter={}", enc("status/errorCode eq 50053"))).await;
    let rows = log.json["value"].as_array().expect("value");
    assert_eq!(rows.len(), 2, "{}", log.text);
    assert!(rows.iter().all(|r| r["isInteractive"] == true && r["appId"] == client.as_str()), "{}", log.text);

    // After the lockout the right password signs in.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let r = b.sign_in(&h, &page, ADELE, PASSWORD).await;
    assert!(location(&r).starts_with(NATIVE_REDIRECT));
}
