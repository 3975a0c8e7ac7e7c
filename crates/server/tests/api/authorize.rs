//! The authorize endpoint and its pages, driven like a browser: GET the sign-in form, POST the
//! credentials with its CSRF token and cookie, follow the redirect, exchange the code. Then
//! the security properties: exact redirect-URI matching (an error page, never a redirect),
//! PKCE, single-use and expiring codes, CSRF, sign-out.

use axum::http::StatusCode;
use cerulean_store::FlowRecord;
use serde_json::json;

use crate::browser::*;
use crate::harness::{Harness, PUBLIC_URL, Reply};

const SCOPE: &str = "openid profile offline_access User.Read";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-plus-some-more-entropy";

fn authorize_url(h: &Harness, client_id: &str, redirect: &str, extra: &[(&str, &str)]) -> String {
    let challenge = s256(VERIFIER);
    let mut p: Vec<(&str, &str)> = vec![
        ("client_id", client_id),
        ("response_type", "code"),
        ("redirect_uri", redirect),
        ("scope", SCOPE),
        ("state", "st-123"),
        ("nonce", "n-0S6"),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
        ("client_info", "1"),
    ];
    for (k, v) in extra {
        p.retain(|(pk, _)| pk != k);
        if !v.is_empty() {
            p.push((k, v));
        }
    }
    format!("/{}/oauth2/v2.0/authorize?{}", h.boot.tenant_id, serde_urlencoded::to_string(&p).expect("query"))
}

async fn exchange(h: &Harness, client_id: &str, code: &str, redirect: &str, verifier: Option<&str>) -> Reply {
    let mut fields = vec![
        ("grant_type", "authorization_code"),
        ("client_id", client_id),
        ("code", code),
        ("redirect_uri", redirect),
        ("scope", SCOPE),
        ("client_info", "1"),
    ];
    if let Some(v) = verifier {
        fields.push(("code_verifier", v));
    }
    h.form(&format!("/{}/oauth2/v2.0/token", h.boot.tenant_id), &fields, None).await
}

/// Signs `adele` in through the form and returns the redirect's parameters.
async fn sign_in_for_code(h: &Harness, b: &mut Browser, client_id: &str) -> std::collections::BTreeMap<String, String> {
    let page = b.get(h, &authorize_url(h, client_id, NATIVE_REDIRECT, &[])).await;
    let r = b.sign_in(h, &page, "adele@contoso.onmicrosoft.com", PASSWORD).await;
    let loc = location(&r);
    assert!(loc.starts_with(NATIVE_REDIRECT), "{loc}");
    redirect_params(&loc)
}

#[tokio::test]
async fn authorization_code_with_pkce_signs_a_user_in_through_the_pages() {
    let h = Harness::new().await;
    let user = h.user("adele", "Adele Vance").await;
    let (app_id, _) = registered_app(&h, Some("User.Read")).await;
    let mut b = Browser::default();

    let page = b
        .get(&h, &authorize_url(&h, &app_id, NATIVE_REDIRECT, &[("login_hint", "adele@contoso.onmicrosoft.com")]))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(page.headers["content-type"].to_str().expect("ct").starts_with("text/html"));
    assert!(page.text.contains("Contoso"), "the tenant's name is shown");
    assert!(page.text.contains("<label for=\"username\">") && page.text.contains("<label for=\"password\">"));
    // Signing in with a password needs no JavaScript: the only script is the passkey button's
    // (hidden until the script shows it), allowed by nonce alone.
    let password_form = &page.text[..page.text.find("id=\"passkey-form\"").unwrap_or(page.text.len())];
    assert!(!password_form.contains("<script"), "signing in needs no JavaScript");
    assert!(page.text.contains("value=\"adele@contoso.onmicrosoft.com\""), "login_hint pre-fills the user name");

    // A wrong password shows the form again, with the reason.
    let wrong = b.sign_in(&h, &page, "adele@contoso.onmicrosoft.com", "not-it").await;
    assert_eq!(wrong.status, StatusCode::OK);
    assert!(wrong.text.contains("AADSTS50126"), "{}", wrong.text);

    let r = b.sign_in(&h, &wrong, "adele@contoso.onmicrosoft.com", PASSWORD).await;
    let params = redirect_params(&location(&r));
    assert_eq!(params["state"], "st-123");
    assert!(params.contains_key("client_info"));
    let code = params["code"].clone();
    let sso = b.set_cookies.iter().find(|c| c.starts_with("cerulean_sso_")).expect("an SSO cookie").clone();
    assert!(sso.contains("HttpOnly") && sso.contains("SameSite=Lax") && sso.contains("Secure"), "{sso}");

    let t = exchange(&h, &app_id, &code, NATIVE_REDIRECT, Some(VERIFIER)).await;
    assert_eq!(t.status, StatusCode::OK, "{}", t.text);
    assert!(t.json["refresh_token"].as_str().is_some(), "offline_access gives a refresh token");
    assert!(t.json["client_info"].as_str().is_some());
    let at = claims(t.json["access_token"].as_str().expect("at"), 1);
    assert_eq!(at["oid"], user["id"]);
    assert_eq!(at["appid"], app_id.as_str());
    assert_eq!(at["appidacr"], "0", "a public client");
    assert!(at["scp"].as_str().expect("scp").split(' ').any(|s| s == "User.Read"));
    let id = claims(t.json["id_token"].as_str().expect("id_token"), 1);
    assert_eq!(id["nonce"], "n-0S6");
    assert_eq!(id["aud"], app_id.as_str());
    assert_eq!(id["iss"], format!("{PUBLIC_URL}/{}/v2.0", h.boot.tenant_id));

    // The token works on Graph.
    let me = h
        .send(
            axum::http::Request::builder()
                .uri("/v1.0/me")
                .header("authorization", format!("Bearer {}", t.json["access_token"].as_str().expect("at")))
                .body(axum::body::Body::empty())
                .expect("request"),
        )
        .await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text);

    // SSO: a second authorize skips the password; prompt=login asks again; prompt=none is silent.
    let again = b.get(&h, &authorize_url(&h, &app_id, NATIVE_REDIRECT, &[])).await;
    assert!(redirect_params(&location(&again)).contains_key("code"));
    let silent = b.get(&h, &authorize_url(&h, &app_id, NATIVE_REDIRECT, &[("prompt", "none")])).await;
    assert!(redirect_params(&location(&silent)).contains_key("code"));
    let forced = b.get(&h, &authorize_url(&h, &app_id, NATIVE_REDIRECT, &[("prompt", "login")])).await;
    assert_eq!(forced.status, StatusCode::OK);
    assert!(forced.text.contains("name=\"password\""));
    let select = b.get(&h, &authorize_url(&h, &app_id, NATIVE_REDIRECT, &[("prompt", "select_account")])).await;
    assert!(select.text.contains("Pick an account"), "select_account shows the picker: {}", select.text);

    // Without the cookie, prompt=none is login_required, sent to the app.
    let mut stranger = Browser::default();
    let r = stranger.get(&h, &authorize_url(&h, &app_id, NATIVE_REDIRECT, &[("prompt", "none")])).await;
    let p = redirect_params(&location(&r));
    assert_eq!(p["error"], "login_required");
    assert!(p["error_description"].starts_with("AADSTS50058:"), "{p:?}");
    assert_eq!(p["state"], "st-123");

    // Sign-out ends the session: prompt=none is login_required again.
    let out = b
        .get(
            &h,
            &format!(
                "/{}/oauth2/v2.0/logout?client_id={app_id}&post_logout_redirect_uri={}&state=bye",
                h.boot.tenant_id,
                urlencode(NATIVE_REDIRECT)
            ),
        )
        .await;
    assert_eq!(location(&out), format!("{NATIVE_REDIRECT}?state=bye"));
    let r = b.get(&h, &authorize_url(&h, &app_id, NATIVE_REDIRECT, &[("prompt", "none")])).await;
    assert_eq!(redirect_params(&location(&r))["error"], "login_required");
}

fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("x", s)]).expect("enc").trim_start_matches("x=").to_string()
}

#[tokio::test]
async fn response_modes_fragment_and_form_post() {
    let h = Harness::new().await;
    h.user("adele", "Adele Vance").await;
    let (app_id, _) = registered_app(&h, Some("User.Read")).await;
    let mut b = Browser::default();
    let page = b.get(&h, &authorize_url(&h, &app_id, SPA_REDIRECT, &[("response_mode", "fragment")])).await;
    let r = b.sign_in(&h, &page, "adele@contoso.onmicrosoft.com", PASSWORD).await;
    let loc = location(&r);
    assert!(loc.starts_with(&format!("{SPA_REDIRECT}#code=")), "{loc}");

    let r = b.get(&h, &authorize_url(&h, &app_id, SPA_REDIRECT, &[("response_mode", "form_post")])).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.text.contains(&format!("action=\"{SPA_REDIRECT}\"")), "{}", r.text);
    assert!(r.text.contains("<button type=\"submit\">"), "works without JavaScript");
    assert_eq!(hidden(&r.text, "state"), "st-123");
    let code = hidden(&r.text, "code");
    let t = exchange(&h, &app_id, &code, SPA_REDIRECT, Some(VERIFIER)).await;
    assert_eq!(t.status, StatusCode::OK, "{}", t.text);

    let r = b.get(&h, &authorize_url(&h, &app_id, SPA_REDIRECT, &[("response_mode", "bogus")])).await;
    assert_eq!(redirect_params(&location(&r))["error"], "invalid_request");
}

#[tokio::test]
async fn redirect_uri_mismatch_and_unknown_client_are_pages_never_redirects() {
    let h = Harness::new().await;
    let (app_id, _) = registered_app(&h, Some("User.Read")).await;
    let mut b = Browser::default();
    for uri in ["https://evil.example/cb", "http://localhost:8400/callback/", "HTTP://localhost:8400/callback"] {
        let r = b.get(&h, &authorize_url(&h, &app_id, uri, &[])).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{uri}: {}", r.text);
        assert!(r.headers.get("location").is_none());
        assert!(r.text.contains("AADSTS50011"), "{}", r.text);
    }
    let r = b.get(&h, &authorize_url(&h, "6731de76-14a6-49ae-97bc-6eba6914391e", NATIVE_REDIRECT, &[])).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.headers.get("location").is_none());
    assert!(r.text.contains("AADSTS700016"), "{}", r.text);
}

#[tokio::test]
async fn pkce_is_required_for_public_clients_and_checked() {
    let h = Harness::new().await;
    h.user("adele", "Adele Vance").await;
    let (app_id, _) = registered_app(&h, Some("User.Read")).await;
    let mut b = Browser::default();
    // A public client without a challenge, or with `plain`, is refused by redirect.
    for extra in [
        vec![("code_challenge", ""), ("code_challenge_method", "")],
        vec![("code_challenge", VERIFIER), ("code_challenge_method", "plain")],
    ] {
        let r = b.get(&h, &authorize_url(&h, &app_id, NATIVE_REDIRECT, &extra)).await;
        let p = redirect_params(&location(&r));
        assert_eq!(p["error"], "invalid_request", "{p:?}");
        assert!(p["error_description"].starts_with("AADSTS9002325:"), "{p:?}");
    }
    let params = sign_in_for_code(&h, &mut b, &app_id).await;
    let code = &params["code"];
    let r = exchange(&h, &app_id, code, NATIVE_REDIRECT, None).await;
    assert_oauth(&r, 400, "invalid_grant", 50148);
    let r = exchange(&h, &app_id, code, NATIVE_REDIRECT, Some("wrong-verifier-wrong-verifier-wrong-verifier-x")).await;
    assert_oauth(&r, 400, "invalid_grant", 50148);
    // The redirect URI must be the authorize request's.
    let r = exchange(&h, &app_id, code, SPA_REDIRECT, Some(VERIFIER)).await;
    assert_oauth(&r, 400, "invalid_grant", 500112);
    // Failed attempts did not spend the code.
    let r = exchange(&h, &app_id, code, NATIVE_REDIRECT, Some(VERIFIER)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

#[tokio::test]
async fn codes_are_single_use_and_a_replay_revokes_what_they_issued() {
    let h = Harness::new().await;
    h.user("adele", "Adele Vance").await;
    let (app_id, _) = registered_app(&h, Some("User.Read")).await;
    let mut b = Browser::default();
    let params = sign_in_for_code(&h, &mut b, &app_id).await;
    let first = exchange(&h, &app_id, &params["code"], NATIVE_REDIRECT, Some(VERIFIER)).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    let rt = first.json["refresh_token"].as_str().expect("rt").to_string();

    let again = exchange(&h, &app_id, &params["code"], NATIVE_REDIRECT, Some(VERIFIER)).await;
    assert_oauth(&again, 400, "invalid_grant", 54005);
    let refresh = h
        .form(
            &format!("/{}/oauth2/v2.0/token", h.boot.tenant_id),
            &[("grant_type", "refresh_token"), ("client_id", &app_id), ("refresh_token", &rt), ("scope", SCOPE)],
            None,
        )
        .await;
    assert_eq!(refresh.status, StatusCode::BAD_REQUEST, "the replay revoked the refresh token: {}", refresh.text);
    assert_eq!(refresh.json["error"], "invalid_grant");

    // Another client cannot redeem a code; an unknown code is malformed.
    let r = exchange(&h, &app_id, "1.abc.def", NATIVE_REDIRECT, Some(VERIFIER)).await;
    assert_oauth(&r, 400, "invalid_grant", 9002313);
}

#[tokio::test]
async fn expired_codes_are_refused() {
    let h = Harness::new().await;
    h.user("adele", "Adele Vance").await;
    let (app_id, _) = registered_app(&h, Some("User.Read")).await;
    let mut b = Browser::default();
    let params = sign_in_for_code(&h, &mut b, &app_id).await;
    // A copy of the real code's record under a new code, expired.
    let key = cerulean_identity::user_tokens::refresh_token_hash(&params["code"]);
    let record = h.store.flow(h.tenant(), "code", &key).await.expect("read").expect("the code is stored hashed");
    let stale = format!("1.{}.stale-code", h.tenant().simple());
    let expired = FlowRecord {
        key: cerulean_identity::user_tokens::refresh_token_hash(&stale),
        created_at: "2024-01-01T00:00:00Z".into(),
        expires_at: "2024-01-01T00:10:00Z".into(),
        ..record
    };
    h.store.put_flow(h.tenant(), &expired, "2000-01-01T00:00:00Z").await.expect("put");
    let r = exchange(&h, &app_id, &stale, NATIVE_REDIRECT, Some(VERIFIER)).await;
    assert_oauth(&r, 400, "invalid_grant", 70008);
}

#[tokio::test]
async fn confidential_web_clients_authenticate_and_forms_need_their_csrf_token() {
    let h = Harness::new().await;
    h.user("adele", "Adele Vance").await;
    let (app_id, object_id) = registered_app(&h, Some("User.Read")).await;
    let secret = h
        .post(
            &format!("/v1.0/applications/{object_id}/addPassword"),
            json!({"passwordCredential": {"displayName": "web"}}),
        )
        .await;
    let secret = secret.json["secretText"].as_str().expect("secret").to_string();
    let mut b = Browser::default();
    let page = b.get(&h, &authorize_url(&h, &app_id, WEB_REDIRECT, &[])).await;

    // CSRF: the right form token without the browser's cookie, or a wrong token, is refused.
    let flow = hidden(&page.text, "flow");
    let csrf = hidden(&page.text, "csrf");
    let action = format!("/{}/oauth2/v2.0/login", h.boot.tenant_id);
    let mut other = Browser::default();
    let fields = [
        ("flow", flow.as_str()),
        ("csrf", csrf.as_str()),
        ("username", "adele@contoso.onmicrosoft.com"),
        ("password", PASSWORD),
    ];
    let r = other.post(&h, &action, &fields).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.headers.get("location").is_none() && r.text.contains("AADSTS50089"));
    let forged = [
        ("flow", flow.as_str()),
        ("csrf", "forged"),
        ("username", "adele@contoso.onmicrosoft.com"),
        ("password", PASSWORD),
    ];
    let r = b.post(&h, &action, &forged).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    let r = b.sign_in(&h, &page, "adele@contoso.onmicrosoft.com", PASSWORD).await;
    let code = redirect_params(&location(&r))["code"].clone();
    // The form is single use.
    let r = b.sign_in(&h, &page, "adele@contoso.onmicrosoft.com", PASSWORD).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    let r = exchange(&h, &app_id, &code, WEB_REDIRECT, Some(VERIFIER)).await;
    assert_oauth(&r, 401, "invalid_client", 7000218);
    let r = h
        .form(
            &format!("/{}/oauth2/v2.0/token", h.boot.tenant_id),
            &[
                ("grant_type", "authorization_code"),
                ("client_id", &app_id),
                ("client_secret", &secret),
                ("code", &code),
                ("redirect_uri", WEB_REDIRECT),
                ("code_verifier", VERIFIER),
            ],
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(claims(r.json["access_token"].as_str().expect("at"), 1)["appidacr"], "1");
}

#[tokio::test]
async fn consent_is_required_and_logout_redirects_only_to_registered_uris() {
    let h = Harness::new().await;
    h.user("adele", "Adele Vance").await;
    let (app_id, _) = registered_app(&h, None).await;
    let mut b = Browser::default();
    let page = b.get(&h, &authorize_url(&h, &app_id, NATIVE_REDIRECT, &[])).await;
    let r = b.sign_in(&h, &page, "adele@contoso.onmicrosoft.com", PASSWORD).await;
    // Without consent the user is asked for it (the consent page: tests in consent.rs).
    assert!(r.text.contains("Permissions requested"), "{}", r.text);
    let r = b.get(&h, &authorize_url(&h, &app_id, NATIVE_REDIRECT, &[("prompt", "none")])).await;
    assert_eq!(redirect_params(&location(&r))["error"], "consent_required");

    let r = b
        .get(
            &h,
            &format!(
                "/{}/oauth2/v2.0/logout?client_id={app_id}&post_logout_redirect_uri=https%3A%2F%2Fevil.example%2F",
                h.boot.tenant_id
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "an unregistered URI gets the signed-out page");
    assert!(r.headers.get("location").is_none());
    assert!(b.set_cookies.last().is_some_and(|c| c.starts_with("cerulean_sso_") && c.contains("Max-Age=0")));
}

#[tokio::test]
async fn v1_authorize_issues_v1_codes() {
    let h = Harness::new().await;
    h.user("adele", "Adele Vance").await;
    let (app_id, _) = registered_app(&h, Some("User.Read")).await;
    let mut b = Browser::default();
    let challenge = s256(VERIFIER);
    let q = serde_urlencoded::to_string([
        ("client_id", app_id.as_str()),
        ("response_type", "code"),
        ("redirect_uri", NATIVE_REDIRECT),
        ("resource", "https://graph.microsoft.com"),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
    ])
    .expect("q");
    let page = b.get(&h, &format!("/{}/oauth2/authorize?{q}", h.boot.tenant_id)).await;
    let r = b.sign_in(&h, &page, "adele@contoso.onmicrosoft.com", PASSWORD).await;
    let code = redirect_params(&location(&r))["code"].clone();
    let t = h
        .form(
            &format!("/{}/oauth2/token", h.boot.tenant_id),
            &[
                ("grant_type", "authorization_code"),
                ("client_id", &app_id),
                ("code", &code),
                ("redirect_uri", NATIVE_REDIRECT),
                ("code_verifier", VERIFIER),
                ("resource", "https://graph.microsoft.com"),
            ],
            None,
        )
        .await;
    assert_eq!(t.status, StatusCode::OK, "{}", t.text);
    assert_eq!(t.json["resource"], "https://graph.microsoft.com");
    assert!(t.json["refresh_token"].as_str().is_some());
}
