//! Identity Protection fed by interactive sign-ins: the sign-in page of the authorization code
//! flow and of the device-code flow, from browser addresses given through a trusted proxy.
//! Each detection carries the browser's address (not that of the application redeeming the
//! code, which is not assessed); a leaked password typed on the page is found by its digest
//! and never kept.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::browser::{Browser, NATIVE_REDIRECT, PASSWORD, hidden, redirect_params, registered_app, s256};
use crate::harness::{Harness, id_of};

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-risk-on-the-page";
/// A password of the leaked-credentials list (the list holds its SHA-1 only).
const LEAKED: &str = "Tr0ub4dor&3-was-leaked";
const HOME: &str = "198.51.100.7";
const TOKYO: &str = "203.0.113.9";
const TOR: &str = "192.0.2.5";

/// A server trusting 10.0.0.0/8 as a proxy, locating Oslo and Tokyo ranges, listing
/// 192.0.2.0/24 as anonymizers and `LEAKED` (by digest) as a leaked password.
async fn harness() -> Harness {
    use cerulean_identity::risk::{RiskConfig, leaked_digest, parse_ip_list, parse_leaked_list};
    let digest: String = leaked_digest(LEAKED).iter().map(|b| format!("{b:02X}")).collect();
    let risk = RiskConfig {
        anonymizers: parse_ip_list("192.0.2.0/24").expect("list"),
        leaked_passwords: parse_leaked_list(&format!("{digest}:12\n")).expect("leaked list"),
        ..RiskConfig::default()
    };
    crate::identity_protection::proxied_harness(risk).await
}

fn authorize_url(h: &Harness, client: &str) -> String {
    let challenge = s256(VERIFIER);
    let q = serde_urlencoded::to_string([
        ("client_id", client),
        ("response_type", "code"),
        ("redirect_uri", NATIVE_REDIRECT),
        ("scope", "openid User.Read"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
        ("prompt", "login"),
    ])
    .expect("query");
    format!("/{}/oauth2/v2.0/authorize?{q}", h.boot.tenant_id)
}

/// A browser at `ip` signs `user` in on the sign-in page; returns the page's answer and the
/// browser.
async fn page_sign_in(
    h: &Harness,
    url: &str,
    ip: &str,
    user: &str,
    password: &str,
) -> (crate::harness::Reply, Browser) {
    let mut b = Browser { forwarded_for: Some(ip.into()), ..Browser::default() };
    let page = b.get(h, url).await;
    let r = b.sign_in(h, &page, user, password).await;
    (r, b)
}

/// The code of a successful page sign-in's redirect.
fn code_of(r: &crate::harness::Reply) -> String {
    assert_eq!(r.status, StatusCode::FOUND, "{}", r.text);
    let loc = r.headers.get("location").and_then(|v| v.to_str().ok()).expect("location");
    redirect_params(loc).remove("code").expect("code")
}

/// Risk detections matching `filter`.
async fn detections(h: &Harness, filter: &str) -> Vec<Value> {
    let token = h.sign(h.claims(&["IdentityRiskEvent.Read.All"])).await;
    let path =
        format!("/v1.0/identityProtection/riskDetections?$filter={}", filter.replace(' ', "%20").replace('\'', "%27"));
    let r = h.graph_with(Method::GET, &path, None, &token, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(!r.text.contains(LEAKED), "the clear password is never kept");
    r.json["value"].as_array().expect("value").clone()
}

/// Beta sign-in log rows matching `filter`.
async fn sign_ins(h: &Harness, filter: &str) -> Vec<Value> {
    let r =
        h.get(&format!("/beta/auditLogs/signIns?$filter={}", filter.replace(' ', "%20").replace('\'', "%27"))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(!r.text.contains(LEAKED), "the clear password is never kept");
    r.json["value"].as_array().expect("value").clone()
}

fn kinds(list: &[Value]) -> Vec<String> {
    let mut k: Vec<String> = list.iter().map(|d| d["riskEventType"].as_str().expect("type").to_string()).collect();
    k.sort_unstable();
    k
}

#[tokio::test]
async fn browser_sign_ins_feed_the_detections_with_the_browsers_address() {
    let h = harness().await;
    let adele = id_of(&h.user("adele", "Adele Vance").await);
    let (client, _) = registered_app(&h, Some("User.Read")).await;
    let url = authorize_url(&h, &client);
    let upn = "adele@contoso.onmicrosoft.com";

    // Five sign-ins at home teach Adele's familiar features.
    let mut last_code = String::new();
    for _ in 0..5 {
        let (r, _) = page_sign_in(&h, &url, HOME, upn, PASSWORD).await;
        last_code = code_of(&r);
    }
    let rows = sign_ins(&h, &format!("userId eq '{adele}'")).await;
    assert_eq!(rows.len(), 5, "one row per page sign-in");
    let row = &rows[0];
    assert_eq!(row["ipAddress"], HOME, "{row}");
    assert_eq!(row["isInteractive"], true);
    assert_eq!(row["signInEventTypes"], json!(["interactiveUser"]));
    assert_eq!(row["appId"], client.as_str());
    assert_eq!(row["status"]["errorCode"], 0);
    assert_eq!(row["location"]["city"], "Oslo");
    assert_eq!(row["riskLevelDuringSignIn"], "none");

    // The application redeems the code from its own host in Tokyo: logged, but not assessed —
    // the user signed in in Oslo seconds ago, and that was assessed on the page.
    let fields = [
        ("grant_type", "authorization_code"),
        ("client_id", client.as_str()),
        ("code", last_code.as_str()),
        ("redirect_uri", NATIVE_REDIRECT),
        ("code_verifier", VERIFIER),
        ("scope", "openid User.Read"),
    ];
    let mut app_host = Browser { forwarded_for: Some("203.0.113.200".into()), ..Browser::default() };
    let r = app_host.post(&h, &format!("/{}/oauth2/v2.0/token", h.boot.tenant_id), &fields).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let redeemed =
        sign_ins(&h, "ipAddress eq '203.0.113.200' and signInEventTypes/any(t: t eq 'nonInteractiveUser')").await;
    assert_eq!(redeemed.len(), 1);
    assert_eq!(redeemed[0]["signInEventTypes"], json!(["nonInteractiveUser"]));
    assert!(detections(&h, &format!("userId eq '{adele}'")).await.is_empty(), "the redemption is not a detection");

    // From Tokyo, minutes after Oslo: unfamiliar (new address, network, country) and
    // impossible travel, both with the browser's address and linked to the page's row.
    let (r, _) = page_sign_in(&h, &url, TOKYO, upn, PASSWORD).await;
    code_of(&r);
    let tokyo = detections(&h, &format!("ipAddress eq '{TOKYO}'")).await;
    assert_eq!(kinds(&tokyo), ["impossibleTravel", "unfamiliarFeatures"], "{tokyo:?}");
    let row = &sign_ins(&h, &format!("ipAddress eq '{TOKYO}'")).await[0];
    assert!(tokyo.iter().all(|d| d["requestId"] == row["id"] && d["userId"] == adele.as_str()), "{tokyo:?}");
    assert_eq!(row["isInteractive"], true);
    let mut types: Vec<&str> =
        row["riskEventTypes_v2"].as_array().expect("types").iter().filter_map(Value::as_str).collect();
    types.sort_unstable();
    assert_eq!(types, ["impossibleTravel", "unfamiliarFeatures"]);
    assert_eq!(row["riskLevelDuringSignIn"], "medium");

    // From an anonymizer.
    let (r, _) = page_sign_in(&h, &url, TOR, upn, PASSWORD).await;
    code_of(&r);
    assert_eq!(kinds(&detections(&h, &format!("ipAddress eq '{TOR}'")).await), ["anonymizedIPAddress"]);

    // A password spray on the page: five accounts, one address, wrong passwords; the fifth
    // attempt is flagged.
    for i in 0..5 {
        h.user(&format!("victim{i}"), &format!("Victim {i}")).await;
        let (r, _) =
            page_sign_in(&h, &url, "198.51.100.66", &format!("victim{i}@contoso.onmicrosoft.com"), "Spring2026!").await;
        assert_eq!(r.status, StatusCode::OK, "the form again, with the error");
        assert!(r.text.contains("AADSTS50126"), "{}", r.text);
    }
    let spray = detections(&h, "riskEventType eq 'passwordSpray'").await;
    assert_eq!(spray.len(), 1, "{spray:?}");
    assert_eq!(spray[0]["userPrincipalName"], "victim4@contoso.onmicrosoft.com");
    assert_eq!(spray[0]["ipAddress"], "198.51.100.66");
}

#[tokio::test]
async fn a_leaked_password_typed_on_the_page_and_device_code_sign_ins_are_detected() {
    let h = harness().await;
    let adele = id_of(&h.user("adele", "Adele Vance").await);
    let leaky = h
        .post(
            "/v1.0/users",
            json!({
                "accountEnabled": true,
                "displayName": "Lee Gu",
                "mailNickname": "lee",
                "userPrincipalName": "lee@contoso.onmicrosoft.com",
                "passwordProfile": {"forceChangePasswordNextSignIn": false, "password": LEAKED},
            }),
        )
        .await;
    assert_eq!(leaky.status, StatusCode::CREATED, "{}", leaky.text);
    let lee = id_of(&leaky.json);
    let (client, _) = registered_app(&h, Some("User.Read")).await;
    let url = authorize_url(&h, &client);

    // Lee signs in with the leaked password: leakedCredentials (high, offline).
    let (r, _) = page_sign_in(&h, &url, HOME, "lee@contoso.onmicrosoft.com", LEAKED).await;
    code_of(&r);
    let found = detections(&h, &format!("userId eq '{lee}'")).await;
    assert_eq!(kinds(&found), ["leakedCredentials"], "{found:?}");
    assert_eq!(found[0]["riskLevel"], "high");
    assert_eq!(found[0]["detectionTimingType"], "offline");
    assert_eq!(found[0]["ipAddress"], HOME);

    // The leaked password typed for another account is a wrong password, not a leak of hers.
    let (r, _) = page_sign_in(&h, &url, HOME, "adele@contoso.onmicrosoft.com", LEAKED).await;
    assert!(r.text.contains("AADSTS50126"), "{}", r.text);
    assert!(detections(&h, &format!("userId eq '{adele}'")).await.is_empty());

    // The device-code flow: Adele approves the device from an anonymizer; the device polls
    // from elsewhere and is not assessed.
    let d = h
        .form(
            &format!("/{}/oauth2/v2.0/devicecode", h.boot.tenant_id),
            &[("client_id", client.as_str()), ("scope", "openid profile User.Read")],
            None,
        )
        .await;
    assert_eq!(d.status, StatusCode::OK, "{}", d.text);
    let user_code = d.json["user_code"].as_str().expect("user_code").to_string();
    let device_code = d.json["device_code"].as_str().expect("device_code").to_string();
    let path = format!("/{}/oauth2/deviceauth", h.boot.tenant_id);
    let mut b = Browser { forwarded_for: Some("192.0.2.77".into()), ..Browser::default() };
    let page = b.get(&h, &path).await;
    let csrf = hidden(&page.text, "csrf");
    let form = b.post(&h, &path, &[("csrf", &csrf), ("otc", &user_code)]).await;
    let done = b.sign_in(&h, &form, "adele@contoso.onmicrosoft.com", PASSWORD).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    let polled = h
        .form(
            &format!("/{}/oauth2/v2.0/token", h.boot.tenant_id),
            &[
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("client_id", client.as_str()),
                ("device_code", device_code.as_str()),
            ],
            None,
        )
        .await;
    assert_eq!(polled.status, StatusCode::OK, "{}", polled.text);
    let found = detections(&h, &format!("userId eq '{adele}'")).await;
    assert_eq!(kinds(&found), ["anonymizedIPAddress"], "{found:?}");
    assert_eq!(found[0]["ipAddress"], "192.0.2.77");
    let row = &sign_ins(&h, "ipAddress eq '192.0.2.77'").await[0];
    assert_eq!(row["isInteractive"], true);
    assert_eq!(row["userId"], adele.as_str());
    assert_eq!(found[0]["requestId"], row["id"]);
}
