//! The authorize endpoint beyond the code flow: hybrid (`code id_token`) and implicit
//! (`id_token`, `token`) responses gated by the application's `implicitGrantSettings`, with
//! `nonce`, fragment delivery, `c_hash` / `at_hash`, `hasgroups`; `domain_hint`; the
//! `prompt=none` errors (`login_required`, `interaction_required`, `consent_required`);
//! and consent in the device-code flow.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use base64::Engine;
use serde_json::{Value, json};

use crate::browser::*;
use crate::harness::{Harness, PUBLIC_URL, Reply, id_of};

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-plus-some-more-entropy";
const ADELE: &str = "adele@contoso.onmicrosoft.com";

fn url(h: &Harness, path: &str, client_id: &str, redirect: &str, extra: &[(&str, &str)]) -> String {
    let challenge = s256(VERIFIER);
    let mut p: Vec<(&str, &str)> = vec![
        ("client_id", client_id),
        ("redirect_uri", redirect),
        ("scope", "openid profile User.Read"),
        ("state", "st-7"),
        ("nonce", "n-hybrid"),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
    ];
    for (k, v) in extra {
        p.retain(|(pk, _)| pk != k);
        if !v.is_empty() {
            p.push((k, v));
        }
    }
    format!("/{}/oauth2/{path}?{}", h.boot.tenant_id, serde_urlencoded::to_string(&p).expect("query"))
}

fn v2(h: &Harness, client_id: &str, response_type: &str, extra: &[(&str, &str)]) -> String {
    let mut e = vec![("response_type", response_type)];
    e.extend_from_slice(extra);
    url(h, "v2.0/authorize", client_id, NATIVE_REDIRECT, &e)
}

/// OpenID Connect Core 3.3.2.11, computed independently of the server.
fn half_sha256(value: &str) -> String {
    let hex = cerulean_identity::user_tokens::refresh_token_hash(value);
    let bytes: Vec<u8> = (0..32).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex")).collect();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The fragment parameters of a redirect (asserting they are in the fragment).
fn fragment(r: &Reply) -> BTreeMap<String, String> {
    let loc = location(r);
    assert!(loc.starts_with(&format!("{NATIVE_REDIRECT}#")), "{loc}");
    redirect_params(&loc)
}

fn assert_error(p: &BTreeMap<String, String>, error: &str, code: u32) {
    assert_eq!(p.get("error").map(String::as_str), Some(error), "{p:?}");
    assert!(p["error_description"].starts_with(&format!("AADSTS{code}:")), "{p:?}");
    assert_eq!(p["state"], "st-7");
}

async fn enable_implicit(h: &Harness, object_id: &str, id_tokens: bool, access_tokens: bool) {
    let r = h
        .patch(
            &format!("/v1.0/applications/{object_id}"),
            json!({"web": {"redirectUris": [WEB_REDIRECT], "implicitGrantSettings": {
                "enableIdTokenIssuance": id_tokens, "enableAccessTokenIssuance": access_tokens}}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
}

#[tokio::test]
async fn hybrid_and_implicit_responses_follow_the_registration() {
    let h = Harness::new().await;
    let adele = h.user("adele", "Adele Vance").await;
    let (app_id, object_id) = registered_app(&h, Some("User.Read")).await;
    let mut b = Browser::default();

    // Not enabled on the registration: AADSTS700054 / AADSTS700051, in the fragment.
    let r = b.get(&h, &v2(&h, &app_id, "code id_token", &[])).await;
    assert_error(&fragment(&r), "unsupported_response_type", 700054);
    let r = b.get(&h, &v2(&h, &app_id, "id_token", &[])).await;
    assert_error(&fragment(&r), "unsupported_response_type", 700054);
    let r = b.get(&h, &v2(&h, &app_id, "token", &[])).await;
    assert_error(&fragment(&r), "unsupported_response_type", 700051);
    let r = b.get(&h, &v2(&h, &app_id, "code bogus", &[])).await;
    assert_error(&redirect_params(&location(&r)), "unsupported_response_type", 700054);

    enable_implicit(&h, &object_id, true, false).await;
    // Tokens are never put in a query string: AADSTS70007, said in the fragment.
    let r = b.get(&h, &v2(&h, &app_id, "id_token", &[("response_mode", "query")])).await;
    assert_error(&fragment(&r), "invalid_request", 70007);
    // An ID token through the browser needs a nonce.
    let r = b.get(&h, &v2(&h, &app_id, "code id_token", &[("nonce", "")])).await;
    assert_error(&fragment(&r), "invalid_request", 900144);
    assert!(fragment(&r)["error_description"].contains("'nonce'"));
    // Access tokens are still off.
    let r = b.get(&h, &v2(&h, &app_id, "id_token token", &[])).await;
    assert_error(&fragment(&r), "unsupported_response_type", 700051);

    // Hybrid: code and ID token in the fragment, the ID token bound to the code by c_hash.
    let page = b.get(&h, &v2(&h, &app_id, "code id_token", &[])).await;
    let r = b.sign_in(&h, &page, ADELE, PASSWORD).await;
    let p = fragment(&r);
    assert_eq!(p["state"], "st-7");
    let code = p["code"].clone();
    let id = claims(&p["id_token"], 1);
    assert_eq!(id["nonce"], "n-hybrid");
    assert_eq!(id["aud"], app_id.as_str());
    assert_eq!(id["iss"], format!("{PUBLIC_URL}/{}/v2.0", h.boot.tenant_id));
    assert_eq!(id["oid"], adele["id"]);
    assert_eq!(id["tid"], h.boot.tenant_id.as_str());
    assert_eq!(id["preferred_username"], ADELE);
    assert_eq!(id["ver"], "2.0");
    assert_eq!(id["c_hash"], half_sha256(&code).as_str());
    assert!(id.get("at_hash").is_none());
    assert_eq!(claims(&p["id_token"], 0)["alg"], "RS256");
    // The code is redeemed as any other.
    let t = h
        .form(
            &format!("/{}/oauth2/v2.0/token", h.boot.tenant_id),
            &[
                ("grant_type", "authorization_code"),
                ("client_id", &app_id),
                ("code", &code),
                ("redirect_uri", NATIVE_REDIRECT),
                ("code_verifier", VERIFIER),
            ],
            None,
        )
        .await;
    assert_eq!(t.status, StatusCode::OK, "{}", t.text);
    assert_eq!(claims(t.json["id_token"].as_str().expect("id_token"), 1)["nonce"], "n-hybrid");

    // Implicit id_token (SSO session now): no code, no PKCE needed, no c_hash.
    let r = b.get(&h, &v2(&h, &app_id, "id_token", &[("code_challenge", ""), ("code_challenge_method", "")])).await;
    let p = fragment(&r);
    assert!(!p.contains_key("code") && !p.contains_key("access_token"), "{p:?}");
    let id = claims(&p["id_token"], 1);
    assert_eq!(id["sub"], claims(t.json["id_token"].as_str().expect("id"), 1)["sub"], "same pairwise subject");
    assert!(id.get("c_hash").is_none());

    // form_post carries the ID token in the page.
    let r = b.get(&h, &v2(&h, &app_id, "id_token", &[("response_mode", "form_post")])).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.text.contains("name=\"id_token\""), "{}", r.text);

    // With access tokens enabled: `token` gives an access token that works, bound by at_hash.
    enable_implicit(&h, &object_id, true, true).await;
    let r = b.get(&h, &v2(&h, &app_id, "id_token token", &[])).await;
    let p = fragment(&r);
    assert_eq!(p["token_type"], "Bearer");
    assert_eq!(p["expires_in"], "3599");
    assert!(p["scope"].split(' ').any(|s| s == "https://graph.microsoft.com/User.Read"), "{p:?}");
    let id = claims(&p["id_token"], 1);
    assert_eq!(id["at_hash"], half_sha256(&p["access_token"]).as_str());
    let me = h
        .send(
            axum::http::Request::builder()
                .uri("/v1.0/me")
                .header("authorization", format!("Bearer {}", p["access_token"]))
                .body(axum::body::Body::empty())
                .expect("request"),
        )
        .await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text);
    assert_eq!(me.json["id"], adele["id"]);
    // `token` alone needs no nonce.
    let r = b.get(&h, &v2(&h, &app_id, "token", &[("nonce", "")])).await;
    assert!(fragment(&r).contains_key("access_token"));

    // v1 has the implicit ID token too, in its own shape.
    let q = url(
        &h,
        "authorize",
        &app_id,
        NATIVE_REDIRECT,
        &[("response_type", "id_token"), ("resource", "https://graph.microsoft.com"), ("scope", "openid")],
    );
    let p = fragment(&b.get(&h, &q).await);
    let id = claims(&p["id_token"], 1);
    assert_eq!(id["ver"], "1.0");
    assert_eq!(id["upn"], ADELE);
    assert_eq!(id["nonce"], "n-hybrid");
}

#[tokio::test]
async fn prompt_none_errors_reach_the_application() {
    let h = Harness::new().await;
    h.user("adele", "Adele Vance").await;
    h.user("megan", "Megan Bowen").await;
    let (app_id, _) = registered_app(&h, Some("User.Read")).await;
    let mut b = Browser::default();
    let code = |extra: &[(&str, &str)]| {
        let mut e = vec![("response_type", "code")];
        e.extend_from_slice(extra);
        url(&h, "v2.0/authorize", &app_id, NATIVE_REDIRECT, &e)
    };

    // Nobody signed in.
    let r = b.get(&h, &code(&[("prompt", "none")])).await;
    assert_error(&redirect_params(&location(&r)), "login_required", 50058);

    let page = b.get(&h, &code(&[])).await;
    let r = b.sign_in(&h, &page, ADELE, PASSWORD).await;
    assert!(redirect_params(&location(&r)).contains_key("code"));
    // Signed in, silently: a code; for the signed-in user named by login_hint too.
    let r = b.get(&h, &code(&[("prompt", "none"), ("login_hint", ADELE)])).await;
    assert!(redirect_params(&location(&r)).contains_key("code"));
    // Someone else is named: no signed-in user matches the hint.
    let r = b.get(&h, &code(&[("prompt", "none"), ("login_hint", "megan@contoso.onmicrosoft.com")])).await;
    let p = redirect_params(&location(&r));
    assert_error(&p, "login_required", 50058);
    assert!(p["error_description"].contains("match the requested login hint"), "{p:?}");
    // Without prompt=none the same request shows the sign-in form for Megan.
    let r = b.get(&h, &code(&[("login_hint", "megan@contoso.onmicrosoft.com")])).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text.contains("value=\"megan@contoso.onmicrosoft.com\""), "{}", r.text);

    // Consent missing for a scope: consent_required (AADSTS65001).
    let r = b.get(&h, &code(&[("prompt", "none"), ("scope", "openid User.Read.All")])).await;
    assert_error(&redirect_params(&location(&r)), "consent_required", 65001);

    // The server restarted with --require-mfa (a second node on the same store): the
    // password-only session no longer suffices. Silently: interaction_required (AADSTS50076);
    // interactively: the sign-in form again.
    let strict = cerulean::app::App::with_options(
        h.other_store().await,
        PUBLIC_URL,
        cerulean::app::AppOptions { require_mfa: true, ..Default::default() },
    );
    strict.set_ready();
    let cookies = b.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
    let send = |uri: String| {
        let req = axum::http::Request::builder()
            .uri(uri)
            .header("cookie", cookies.clone())
            .body(axum::body::Body::empty())
            .expect("request");
        let svc = strict.service::<axum::body::Body>();
        async move {
            use tower::ServiceExt;
            let res = svc.oneshot(req).await.expect("infallible");
            let status = res.status();
            let loc = res.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_string);
            let body = axum::body::to_bytes(res.into_body(), 1 << 20).await.expect("body");
            (status, loc, String::from_utf8_lossy(&body).to_string())
        }
    };
    let (status, loc, _) = send(code(&[("prompt", "none")])).await;
    assert_eq!(status, StatusCode::FOUND);
    assert_error(&redirect_params(&loc.expect("location")), "interaction_required", 50076);
    // Both refusals of the session are failed sign-ins of its user (missing consent, MFA).
    for n in [65001, 50076] {
        let r = h.get(&format!("/beta/auditLogs/signIns?$filter=status/errorCode%20eq%20{n}")).await;
        let row = &r.json["value"][0];
        assert_eq!(row["authenticationDetails"][0]["authenticationMethod"], "Previously satisfied", "{}", r.text);
        assert!(row["userId"].as_str().is_some_and(|u| !u.is_empty()), "{}", r.text);
    }
    let (status, _, text) = send(code(&[])).await;
    assert_eq!(status, StatusCode::OK);
    assert!(text.contains("name=\"password\""), "{text}");
    // The original node (no --require-mfa) still honours the session.
    let r = b.get(&h, &code(&[("prompt", "none")])).await;
    assert!(redirect_params(&location(&r)).contains_key("code"));
}

#[tokio::test]
async fn domain_hint_goes_to_the_tenant_that_owns_the_domain() {
    let h = Harness::new().await;
    let (app_id, _) = registered_app(&h, Some("User.Read")).await;
    let mut b = Browser::default();
    let code = |segment: &str, extra: &[(&str, &str)]| {
        let mut e = vec![("response_type", "code")];
        e.extend_from_slice(extra);
        url(&h, "v2.0/authorize", &app_id, NATIVE_REDIRECT, &e).replacen(&h.boot.tenant_id, segment, 1)
    };
    let sign_in_page = |r: &Reply| {
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert!(r.text.contains("name=\"password\"") && r.text.contains("Contoso"), "{}", r.text);
    };
    let tenant = h.boot.tenant_id.clone();

    // On the tenant's endpoint: its domain, `organizations`, or a domain it does not own
    // (ignored, as Entra ignores a hint it cannot federate to).
    for hint in ["contoso.onmicrosoft.com", "organizations", "fabrikam.example", "consumers"] {
        sign_in_page(&b.get(&h, &code(&tenant, &[("domain_hint", hint)])).await);
    }
    // On `common` and `organizations`, the hint names the tenant.
    sign_in_page(&b.get(&h, &code("common", &[("domain_hint", "contoso.onmicrosoft.com")])).await);
    sign_in_page(&b.get(&h, &code("organizations", &[("domain_hint", "CONTOSO.onmicrosoft.com")])).await);
    // Without any hint `common` serves the client's tenant's page and discovers the user's
    // tenant from the typed name (`common_authority.rs`); a domain nobody here owns is
    // AADSTS90002.
    sign_in_page(&b.get(&h, &code("common", &[])).await);
    sign_in_page(&b.get(&h, &code("common", &[("domain_hint", "organizations")])).await);
    let r = b.get(&h, &code("common", &[("domain_hint", "fabrikam.example")])).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text.contains("AADSTS90002"), "{}", r.text);
}

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// Starts a device code and signs `adele` in on the verification pages; returns the device
/// code and the page after the password.
async fn device_sign_in(h: &Harness, b: &mut Browser, app_id: &str) -> (String, Reply) {
    let d = h
        .form(
            &format!("/{}/oauth2/v2.0/devicecode", h.boot.tenant_id),
            &[("client_id", app_id), ("scope", "openid profile offline_access User.Read")],
            None,
        )
        .await;
    assert_eq!(d.status, StatusCode::OK, "{}", d.text);
    let path = format!("/{}/oauth2/deviceauth", h.boot.tenant_id);
    let page = b.get(h, &path).await;
    let csrf = hidden(&page.text, "csrf");
    let user_code = d.json["user_code"].as_str().expect("user_code");
    let form = b.post(h, &path, &[("csrf", &csrf), ("otc", user_code)]).await;
    assert!(form.text.contains("name=\"password\""), "{}", form.text);
    let r = b.sign_in(h, &form, ADELE, PASSWORD).await;
    (d.json["device_code"].as_str().expect("device_code").to_string(), r)
}

async fn poll(h: &Harness, app_id: &str, device_code: &str) -> Reply {
    h.form(
        &format!("/{}/oauth2/v2.0/token", h.boot.tenant_id),
        &[("grant_type", DEVICE_GRANT), ("client_id", app_id), ("device_code", device_code)],
        None,
    )
    .await
}

async fn consent_form(h: &Harness, b: &mut Browser, page: &Reply, action: &str) -> Reply {
    assert!(page.text.contains("Permissions requested"), "{}", page.text);
    assert!(page.text.contains("User.Read"), "{}", page.text);
    let (flow, csrf) = (hidden(&page.text, "flow"), hidden(&page.text, "csrf"));
    b.post(
        h,
        &format!("/{}/oauth2/v2.0/consent", h.boot.tenant_id),
        &[("flow", &flow), ("csrf", &csrf), ("action", action)],
    )
    .await
}

#[tokio::test]
async fn the_device_code_flow_asks_for_consent() {
    let h = Harness::new().await;
    let adele = h.user("adele", "Adele Vance").await;
    let (app_id, _) = registered_app(&h, None).await;
    let sp = id_of(&h.get(&format!("/v1.0/servicePrincipals(appId='{app_id}')")).await.json);

    // Cancel: the device hears authorization_declined (AADSTS65004), nothing is granted.
    let mut b = Browser::default();
    let (device_code, page) = device_sign_in(&h, &mut b, &app_id).await;
    let r = consent_form(&h, &mut b, &page, "cancel").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.text.contains("Sign-in cancelled"), "{}", r.text);
    let t = poll(&h, &app_id, &device_code).await;
    assert_oauth(&t, 400, "authorization_declined", 65004);
    let grants = h.get(&format!("/v1.0/oauth2PermissionGrants?$filter=clientId%20eq%20'{sp}'")).await;
    assert_eq!(grants.json["value"].as_array().map(Vec::len), Some(0), "{}", grants.text);

    // Accept: the grant is recorded for the user and the device gets its tokens.
    let mut b = Browser::default();
    let (device_code, page) = device_sign_in(&h, &mut b, &app_id).await;
    let t = poll(&h, &app_id, &device_code).await;
    assert_oauth(&t, 400, "authorization_pending", 70016);
    let r = consent_form(&h, &mut b, &page, "accept").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.text.contains("You're signed in") || r.text.contains("You&#39;re signed in"), "{}", r.text);
    let t = poll(&h, &app_id, &device_code).await;
    assert_eq!(t.status, StatusCode::OK, "{}", t.text);
    let at = claims(t.json["access_token"].as_str().expect("access_token"), 1);
    assert!(at["scp"].as_str().is_some_and(|s| s.split(' ').any(|w| w == "User.Read")), "{at}");
    let grants = h.get(&format!("/v1.0/oauth2PermissionGrants?$filter=clientId%20eq%20'{sp}'")).await;
    let grant: &Value = &grants.json["value"][0];
    assert_eq!(grant["consentType"], "Principal", "{}", grants.text);
    assert_eq!(grant["principalId"], adele["id"]);

    // Consent given once: the next device sign-in is approved without the page.
    let mut b = Browser::default();
    let (device_code, done) = device_sign_in(&h, &mut b, &app_id).await;
    assert!(!done.text.contains("Permissions requested"), "{}", done.text);
    let t = poll(&h, &app_id, &device_code).await;
    assert_eq!(t.status, StatusCode::OK, "{}", t.text);
}

#[tokio::test]
async fn implicit_id_tokens_say_hasgroups_past_five_groups() {
    let h = Harness::new().await;
    let adele = h.user("adele", "Adele Vance").await;
    let (app_id, object_id) = registered_app(&h, Some("User.Read")).await;
    enable_implicit(&h, &object_id, true, false).await;
    let r =
        h.patch(&format!("/v1.0/applications/{object_id}"), json!({"groupMembershipClaims": "SecurityGroup"})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let member =
        json!({"@odata.id": format!("{PUBLIC_URL}/v1.0/directoryObjects/{}", adele["id"].as_str().expect("id"))});
    let mut b = Browser::default();
    let page = b.get(&h, &v2(&h, &app_id, "code", &[])).await;
    b.sign_in(&h, &page, ADELE, PASSWORD).await;
    for i in 0..6 {
        let g = h.group(&format!("g{i}"), &format!("Group {i}")).await;
        let r = h.post(&format!("/v1.0/groups/{}/members/$ref", id_of(&g)), member.clone()).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
        let p = fragment(&b.get(&h, &v2(&h, &app_id, "id_token", &[])).await);
        let id = claims(&p["id_token"], 1);
        if i < 5 {
            assert_eq!(id["groups"].as_array().map(Vec::len), Some(i + 1), "{id}");
        } else {
            // Six groups are too many for a URL: Entra's hasgroups.
            assert_eq!(id["hasgroups"], true, "{id}");
            assert!(id.get("groups").is_none());
        }
    }
}
