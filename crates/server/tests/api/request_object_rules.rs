//! Request objects (RFC 9101) beyond their signature: only the object's parameters are used
//! (§6.3; the query's others are ignored, its `response_type`/`scope` must be the object's), an
//! object must expire within 60 minutes, and its `jti` is single-use. Refusals are AADSTS90100
//! on the error page.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::browser::*;
use crate::client_assertion_pss::new_cert;
use crate::harness::Harness;
use crate::request_object::{VERIFIER, app_with_key, assert_refused, authorize, get, header, request_claims};

#[tokio::test]
async fn only_the_objects_parameters_are_used() {
    let h = Harness::new().await;
    h.user("adele", "Adele Vance").await;
    let cert = new_cert();
    let app_id = app_with_key(&h, &cert).await;
    let object = cert.sign_ps256(&header(&cert), &request_claims(&h, &app_id));
    // Someone replays the object with parameters of their own: a login hint and another PKCE
    // challenge.
    let theirs = s256("an-attackers-own-verifier-with-plenty-of-entropy-0123456789");
    let mut b = Browser::default();
    let page = b
        .get(
            &h,
            &authorize(
                &h,
                &app_id,
                &[
                    ("request", &object),
                    ("login_hint", "eve.hint@contoso.onmicrosoft.com"),
                    ("code_challenge", &theirs),
                ],
            ),
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(!page.text.contains("eve.hint"), "the query's login_hint is not the object's: {}", page.text);
    let r = b.sign_in(&h, &page, "adele@contoso.onmicrosoft.com", PASSWORD).await;
    let p = redirect_params(&location(&r));
    assert_eq!(p["state"], "from-the-object");
    let t = h
        .form(
            &format!("/{}/oauth2/v2.0/token", h.boot.tenant_id),
            &[
                ("grant_type", "authorization_code"),
                ("client_id", &app_id),
                ("code", &p["code"]),
                ("redirect_uri", NATIVE_REDIRECT),
                ("code_verifier", VERIFIER),
            ],
            None,
        )
        .await;
    assert_eq!(t.status, StatusCode::OK, "the object's PKCE challenge holds: {}", t.text);

    // response_type and scope may be repeated in the query (OpenID Connect), but must agree.
    let same = cert.sign_ps256(&header(&cert), &request_claims(&h, &app_id));
    let ok = authorize(&h, &app_id, &[("request", &same), ("scope", "User.Read openid profile")]);
    assert_eq!(h.send(get(&ok)).await.status, StatusCode::OK, "the same scopes, in another order");
    for (name, value) in [("scope", "openid profile Directory.ReadWrite.All"), ("response_type", "id_token")] {
        let object = cert.sign_ps256(&header(&cert), &request_claims(&h, &app_id));
        let mut url = authorize(&h, &app_id, &[("request", &object)]);
        if name == "scope" {
            url.push_str("&scope=openid%20profile%20Directory.ReadWrite.All");
        } else {
            url = url.replace("response_type=code", &format!("response_type={value}"));
        }
        let r = h.send(get(&url)).await;
        assert_refused(&r, name);
        assert!(r.text.contains(&format!("The &#39;{name}&#39; parameter does not match")), "{name}: {}", r.text);
    }
}

#[tokio::test]
async fn request_objects_expire_within_an_hour_and_are_used_once() {
    let h = Harness::new().await;
    let cert = new_cert();
    let app_id = app_with_key(&h, &cert).await;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let with = |changes: &[(&str, Value)]| {
        let mut c = request_claims(&h, &app_id);
        for (k, v) in changes {
            if v.is_null() {
                c.as_object_mut().expect("object").remove(*k);
            } else {
                c[*k] = v.clone();
            }
        }
        cert.sign_ps256(&header(&cert), &c)
    };
    for (what, object, detail) in [
        ("no exp", with(&[("exp", Value::Null)]), "has no &#39;exp&#39; claim"),
        ("two hours", with(&[("exp", json!(now + 7200))]), "longer than 60 minutes"),
        ("two hours, no nbf", with(&[("exp", json!(now + 7200)), ("nbf", Value::Null)]), "longer than 60 minutes"),
        ("a jti that is not a string", with(&[("jti", json!(7))]), "jti"),
    ] {
        let r = h.send(get(&authorize(&h, &app_id, &[("request", &object)]))).await;
        assert_refused(&r, what);
        assert!(r.text.contains(detail), "{what}: {}", r.text);
    }
    // An hour is allowed.
    let hour = with(&[("exp", json!(now + 3600))]);
    assert_eq!(h.send(get(&authorize(&h, &app_id, &[("request", &hour)]))).await.status, StatusCode::OK);

    // A jti is single-use: the same object twice is a replay; another jti is another object.
    let once = with(&[("jti", json!("object-1"))]);
    let url = authorize(&h, &app_id, &[("request", &once)]);
    assert_eq!(h.send(get(&url)).await.status, StatusCode::OK);
    let r = h.send(get(&url)).await;
    assert_refused(&r, "replayed");
    assert!(r.text.contains("used before"), "{}", r.text);
    let other = with(&[("jti", json!("object-2"))]);
    assert_eq!(h.send(get(&authorize(&h, &app_id, &[("request", &other)]))).await.status, StatusCode::OK);
}
