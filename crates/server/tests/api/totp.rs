//! The sign-in page's steps after the password: the change-password page that
//! `forceChangePasswordNextSignIn` asks for, and software OATH TOTP (RFC 6238) — registration
//! at sign-in when `--require-mfa` asks for a second factor, then a code at every sign-in, with
//! `amr` `pwd`+`otp`+`mfa`; codes from one step either side accepted, each code once; the
//! password grant refused with AADSTS50076; methods listed and deleted on Graph.

use std::collections::BTreeMap;

use axum::http::{Method, StatusCode};
use cerulean::app::{App, AppOptions};
use cerulean_identity::otp;
use serde_json::{Value, json};

use crate::browser::{
    Browser, NATIVE_REDIRECT, PASSWORD, assert_oauth, claims, hidden, location, redirect_params, registered_app, s256,
};
use crate::harness::{Harness, PUBLIC_URL, Reply, id_of, user_body};

const ADELE: &str = "adele@contoso.onmicrosoft.com";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-plus-some-more-entropy";

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

/// Posts a step form of `page` with `fields`.
async fn step(h: &Harness, b: &mut Browser, page: &Reply, fields: &[(&str, &str)]) -> Reply {
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    let (flow, csrf, step) = (hidden(&page.text, "flow"), hidden(&page.text, "csrf"), hidden(&page.text, "step"));
    let mut all = vec![("flow", flow.as_str()), ("csrf", csrf.as_str()), ("step", step.as_str())];
    all.extend_from_slice(fields);
    b.post(h, &format!("/{}/oauth2/v2.0/login", h.boot.tenant_id), &all).await
}

/// Redeems the code of a sign-in redirect and returns the access token's claims.
async fn redeem(h: &Harness, client: &str, r: &Reply) -> Value {
    let params: BTreeMap<String, String> = redirect_params(&location(r));
    let t = h
        .form(
            &format!("/{}/oauth2/v2.0/token", h.boot.tenant_id),
            &[
                ("grant_type", "authorization_code"),
                ("client_id", client),
                ("code", &params["code"]),
                ("redirect_uri", NATIVE_REDIRECT),
                ("code_verifier", VERIFIER),
                ("scope", "openid User.Read"),
            ],
            None,
        )
        .await;
    assert_eq!(t.status, StatusCode::OK, "{}", t.text);
    claims(t.json["access_token"].as_str().expect("access_token"), 1)
}

fn amr(claims: &Value) -> Vec<String> {
    claims["amr"].as_array().expect("amr").iter().filter_map(Value::as_str).map(str::to_string).collect()
}

fn now_step() -> i64 {
    otp::step_of(time::OffsetDateTime::now_utc().unix_timestamp())
}

fn secret_of(page: &Reply) -> Vec<u8> {
    let start = page.text.find("<code id=\"secret\">").expect("the secret is shown") + "<code id=\"secret\">".len();
    let end = page.text[start..].find("</code>").expect("end") + start;
    otp::base32_decode(&page.text[start..end]).expect("base32 secret")
}

/// A password grant sent to `app` (a node of the harness's database).
async fn ropc(h: &Harness, app: &App, client: &str, password: &str) -> Reply {
    use axum::body::Body;
    use tower::ServiceExt;
    let fields = [
        ("grant_type", "password"),
        ("client_id", client),
        ("username", ADELE),
        ("password", password),
        ("scope", "User.Read"),
    ];
    let req = axum::http::Request::builder()
        .method(Method::POST)
        .uri(format!("/{}/oauth2/v2.0/token", h.boot.tenant_id))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(serde_urlencoded::to_string(fields).expect("form")))
        .expect("request");
    let res = app.service::<Body>().oneshot(req).await.expect("infallible");
    let (status, headers) = (res.status(), res.headers().clone());
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 20).await.expect("body");
    let text = String::from_utf8_lossy(&bytes).to_string();
    Reply { status, headers, json: serde_json::from_slice(&bytes).unwrap_or_default(), text }
}

#[tokio::test]
async fn a_forced_password_change_happens_on_the_sign_in_page() {
    let h = Harness::new().await;
    let mut body = user_body("adele", "Adele Vance");
    body["passwordProfile"]["forceChangePasswordNextSignIn"] = json!(true);
    assert_eq!(h.post("/v1.0/users", body).await.status, StatusCode::CREATED);
    let (client, _) = registered_app(&h, Some("User.Read")).await;
    // The password grant cannot change a password: AADSTS50055.
    assert_oauth(&ropc(&h, &h.app, &client, PASSWORD).await, 400, "invalid_grant", 50055);

    let mut b = Browser::default();
    let page = b.get(&h, &authorize_url(&h, &client)).await;
    let page = b.sign_in(&h, &page, ADELE, PASSWORD).await;
    assert!(page.text.contains("Update your password"), "{}", page.text);
    assert!(page.text.contains("<label for=\"new_password\">"), "{}", page.text);

    let r = step(&h, &mut b, &page, &[("new_password", "Brand-New-Pa55!"), ("confirm_password", "Other-Pa55!")]).await;
    assert!(r.text.contains("The passwords don&#39;t match"), "{}", r.text);
    let r = step(&h, &mut b, &r, &[("new_password", "password"), ("confirm_password", "password")]).await;
    assert!(r.text.contains("does not comply with password complexity requirements"), "{}", r.text);
    let r = step(&h, &mut b, &r, &[("new_password", PASSWORD), ("confirm_password", PASSWORD)]).await;
    assert!(r.text.contains("reuse your current password"), "{}", r.text);
    let r = step(&h, &mut b, &r, &[("new_password", "Brand-New-Pa55!"), ("confirm_password", "Brand-New-Pa55!")]).await;
    let at = redeem(&h, &client, &r).await;
    assert_eq!(amr(&at), vec!["pwd".to_string()]);

    // The new password works and the flag is gone; the old one is refused.
    assert_eq!(ropc(&h, &h.app, &client, "Brand-New-Pa55!").await.status, StatusCode::OK);
    assert_oauth(&ropc(&h, &h.app, &client, PASSWORD).await, 400, "invalid_grant", 50126);
}

#[tokio::test]
async fn totp_is_registered_at_sign_in_then_required() {
    let options = AppOptions { require_mfa: true, ..AppOptions::default() };
    let h = Harness::with_options("contoso.onmicrosoft.com", options).await;
    let adele = id_of(&h.user("adele", "Adele Vance").await);
    let (client, _) = registered_app(&h, Some("User.Read")).await;

    // The password grant cannot give a second factor.
    let r = ropc(&h, &h.app, &client, PASSWORD).await;
    assert_oauth(&r, 400, "invalid_grant", 50076);
    assert_eq!(r.json["suberror"], "basic_action", "{}", r.text);

    // The first sign-in registers an authenticator app: secret and otpauth URI shown once.
    let mut b = Browser::default();
    let page = b.get(&h, &authorize_url(&h, &client)).await;
    let page = b.sign_in(&h, &page, ADELE, PASSWORD).await;
    assert!(page.text.contains("Keep your account secure"), "{}", page.text);
    assert!(page.text.contains("otpauth://totp/"), "{}", page.text);
    let secret = secret_of(&page);
    let wrong = step(&h, &mut b, &page, &[("otc", "000000")]).await;
    assert!(wrong.text.contains("incorrect code"), "{}", wrong.text);
    let enrol_step = now_step();
    let code = otp::totp(&secret, enrol_step);
    let r = step(&h, &mut b, &wrong, &[("otc", &code)]).await;
    let at = redeem(&h, &client, &r).await;
    for m in ["pwd", "mfa", "otp"] {
        assert!(amr(&at).iter().any(|a| a == m), "{m} in {:?}", amr(&at));
    }

    // The sign-in log records the redemption as a multi-factor sign-in (beta shape).
    let filter = "signInEventTypes/any(t:%20t%20eq%20%27nonInteractiveUser%27)";
    let log = h.get(&format!("/beta/auditLogs/signIns?$filter={filter}")).await;
    assert_eq!(log.status, StatusCode::OK, "{}", log.text);
    let rows = log.json["value"].as_array().expect("value");
    assert!(rows.iter().any(|r| r["authenticationRequirement"] == "multiFactorAuthentication"), "{}", log.text);
    let redemption = rows.iter().find(|r| r["authenticationRequirement"] == "multiFactorAuthentication").expect("row");
    assert_eq!(redemption["mfaDetail"]["authMethod"], "Software OATH token", "{redemption}");
    assert_eq!(redemption["clientAppUsed"], "Mobile Apps and Desktop clients", "{redemption}");
    // The sign-in on the page itself is the browser's, with the second factor it used.
    let filter = "signInEventTypes/any(t:%20t%20eq%20%27interactiveUser%27)";
    let log = h.get(&format!("/beta/auditLogs/signIns?$filter={filter}")).await;
    let rows = log.json["value"].as_array().expect("value");
    let page_row = rows
        .iter()
        .find(|r| r["status"]["errorCode"] == 0 && r["authenticationRequirement"] == "multiFactorAuthentication")
        .unwrap_or_else(|| panic!("the page's sign-in: {}", log.text));
    assert_eq!(page_row["clientAppUsed"], "Browser", "{page_row}");
    assert_eq!(page_row["mfaDetail"]["authMethod"], "Software OATH token", "{page_row}");

    // Graph lists the method, without its secret; the secret is never returned.
    let reader = h.sign(h.claims(&["UserAuthenticationMethod.ReadWrite.All"])).await;
    let r = h.graph_with(Method::GET, &format!("/v1.0/users/{adele}/authentication/methods"), None, &reader, &[]).await;
    let value = r.json["value"].as_array().expect("value").clone();
    assert_eq!(value.len(), 2, "{}", r.text);
    let oath =
        value.iter().find(|m| m["@odata.type"] == "#microsoft.graph.softwareOathAuthenticationMethod").expect("oath");
    assert_eq!(oath["secretKey"], Value::Null);
    let b32 = otp::base32_encode(&secret);
    assert!(!r.text.contains(&b32), "the secret never appears");

    // A node without --require-mfa still refuses the password grant: the user has TOTP.
    let plain = App::with_options(h.other_store().await, PUBLIC_URL, AppOptions::default());
    assert_oauth(&ropc(&h, &plain, &client, PASSWORD).await, 400, "invalid_grant", 50076);

    // The next sign-in asks for a code.
    let mut b2 = Browser::default();
    let page = b2.get(&h, &authorize_url(&h, &client)).await;
    let page = b2.sign_in(&h, &page, ADELE, PASSWORD).await;
    assert!(page.text.contains("Enter code"), "{}", page.text);
    // The code used to register is spent: a replay within its window is refused.
    let replay = step(&h, &mut b2, &page, &[("otc", &code)]).await;
    assert!(replay.text.contains("incorrect code"), "{}", replay.text);
    // A code one step ahead (clock skew) is accepted once.
    let ahead = otp::totp(&secret, now_step() + 1);
    let r = step(&h, &mut b2, &replay, &[("otc", &ahead)]).await;
    let at = redeem(&h, &client, &r).await;
    assert!(amr(&at).iter().any(|a| a == "mfa"), "{:?}", amr(&at));
    let mut b3 = Browser::default();
    let page = b3.get(&h, &authorize_url(&h, &client)).await;
    let page = b3.sign_in(&h, &page, ADELE, PASSWORD).await;
    let again = step(&h, &mut b3, &page, &[("otc", &ahead)]).await;
    assert!(again.text.contains("incorrect code"), "the same code twice: {}", again.text);
    // Two steps away is outside the window.
    let far = otp::totp(&secret, now_step() + 3);
    let mut page = step(&h, &mut b3, &again, &[("otc", &far)]).await;
    assert!(page.text.contains("incorrect code"), "{}", page.text);
    // Five wrong codes end the form.
    for _ in 0..2 {
        page = step(&h, &mut b3, &page, &[("otc", "123456")]).await;
    }
    let end = step(&h, &mut b3, &page, &[("otc", "654321")]).await;
    assert_eq!(end.status, StatusCode::BAD_REQUEST, "{}", end.text);
    assert!(end.text.contains("AADSTS500121"), "{}", end.text);

    // The method can be deleted through Graph.
    let id = oath["id"].as_str().expect("id");
    let path = format!("/v1.0/users/{adele}/authentication/softwareOathMethods/{id}");
    assert_eq!(h.graph_with(Method::DELETE, &path, None, &reader, &[]).await.status, StatusCode::NO_CONTENT);
    let r = h
        .graph_with(Method::GET, &format!("/v1.0/users/{adele}/authentication/softwareOathMethods"), None, &reader, &[])
        .await;
    assert_eq!(r.json["value"], json!([]), "{}", r.text);
}

#[tokio::test]
async fn wrong_codes_count_towards_smart_lockout() {
    let options = AppOptions {
        require_mfa: true,
        lockout: cerulean_directory::LockoutPolicy { threshold: 3, duration_secs: 60 },
        ..AppOptions::default()
    };
    let h = Harness::with_options("contoso.onmicrosoft.com", options).await;
    h.user("adele", "Adele Vance").await;
    let (client, _) = registered_app(&h, Some("User.Read")).await;
    let mut b = Browser::default();
    let page = b.get(&h, &authorize_url(&h, &client)).await;
    let page = b.sign_in(&h, &page, ADELE, PASSWORD).await;
    let secret = secret_of(&page);
    let r = step(&h, &mut b, &page, &[("otc", &otp::totp(&secret, now_step()))]).await;
    redeem(&h, &client, &r).await;

    // Someone with the password but not the app: distinct wrong codes lock the account.
    let mut b = Browser::default();
    let page = b.get(&h, &authorize_url(&h, &client)).await;
    let mut page = b.sign_in(&h, &page, ADELE, PASSWORD).await;
    for code in ["111111", "222222"] {
        page = step(&h, &mut b, &page, &[("otc", code)]).await;
        assert!(page.text.contains("incorrect code"), "{}", page.text);
    }
    let locked = step(&h, &mut b, &page, &[("otc", "333333")]).await;
    assert_eq!(locked.status, StatusCode::BAD_REQUEST, "{}", locked.text);
    assert!(locked.text.contains("AADSTS50053"), "{}", locked.text);
    // The password is refused too while the lockout lasts.
    let page = b.get(&h, &authorize_url(&h, &client)).await;
    let page = b.sign_in(&h, &page, ADELE, PASSWORD).await;
    assert!(page.text.contains("AADSTS50053"), "{}", page.text);
}

#[tokio::test]
async fn a_second_factor_given_up_on_is_logged() {
    let options = AppOptions { require_mfa: true, ..AppOptions::default() };
    let h = Harness::with_options("contoso.onmicrosoft.com", options).await;
    let adele = id_of(&h.user("adele", "Adele Vance").await);
    let (client, _) = registered_app(&h, Some("User.Read")).await;
    let mut b = Browser::default();
    let page = b.get(&h, &authorize_url(&h, &client)).await;
    let mut page = b.sign_in(&h, &page, ADELE, PASSWORD).await;
    for _ in 0..4 {
        page = step(&h, &mut b, &page, &[("otc", "000000")]).await;
        assert!(page.text.contains("incorrect code"), "{}", page.text);
    }
    let r = step(&h, &mut b, &page, &[("otc", "000000")]).await;
    assert!(r.text.contains("500121"), "{}", r.text);

    let log = h.get("/beta/auditLogs/signIns?$top=50").await;
    let rows = log.json["value"].as_array().expect("value");
    let failed: Vec<&Value> = rows.iter().filter(|r| r["status"]["errorCode"] == 500121).collect();
    assert_eq!(failed.len(), 1, "{}", log.text);
    let row = failed[0];
    assert_eq!(row["userId"], adele.as_str(), "{row}");
    assert_eq!(row["authenticationDetails"][0]["authenticationMethod"], "Password", "{row}");
    assert_eq!(row["authenticationDetails"][1]["authenticationMethod"], "Software OATH token", "{row}");
    assert_eq!(row["authenticationDetails"][1]["succeeded"], false, "{row}");
}
