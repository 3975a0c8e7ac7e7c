//! `prompt=select_account`: with an SSO session, the account picker lists the session's account
//! and "Use another account"; picking the account continues without a password, "another
//! account" is the sign-in form (and the new sign-in becomes the session). Without a session
//! the sign-in form comes straight away. The picker's form is single-use and CSRF-bound.

use axum::http::StatusCode;

use crate::browser::*;
use crate::harness::Harness;

const VERIFIER: &str = "select-account-verifier-0123456789-abcdefghijklmnop";

fn authorize_url(h: &Harness, client_id: &str, prompt: Option<&str>) -> String {
    let challenge = s256(VERIFIER);
    let mut p = vec![
        ("client_id", client_id),
        ("response_type", "code"),
        ("redirect_uri", NATIVE_REDIRECT),
        ("scope", "openid profile User.Read"),
        ("state", "st-sel"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    if let Some(prompt) = prompt {
        p.push(("prompt", prompt));
    }
    format!("/{}/oauth2/v2.0/authorize?{}", h.boot.tenant_id, serde_urlencoded::to_string(&p).expect("query"))
}

/// Posts the picker's form with `action` (`continue` or `other`).
async fn choose(h: &Harness, b: &mut Browser, picker: &crate::harness::Reply, action: &str) -> crate::harness::Reply {
    let url = format!("/{}/oauth2/v2.0/login", h.boot.tenant_id);
    let (flow, csrf) = (hidden(&picker.text, "flow"), hidden(&picker.text, "csrf"));
    b.post(h, &url, &[("flow", &flow), ("csrf", &csrf), ("action", action)]).await
}

#[tokio::test]
async fn select_account_shows_the_account_picker() {
    let h = Harness::new().await;
    h.user("adele", "Adele Vance").await;
    h.user("bianca", "Bianca Pisani").await;
    let (app_id, _) = registered_app(&h, Some("User.Read openid profile")).await;

    // No session: the sign-in form directly.
    let mut b = Browser::default();
    let page = b.get(&h, &authorize_url(&h, &app_id, Some("select_account"))).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(page.text.contains("name=\"password\"") && !page.text.contains("Pick an account"), "{}", page.text);
    let r = b.sign_in(&h, &page, "adele@contoso.onmicrosoft.com", PASSWORD).await;
    assert!(redirect_params(&location(&r)).contains_key("code"));

    // With Adele's session: the picker lists her, and "Use another account".
    let picker = b.get(&h, &authorize_url(&h, &app_id, Some("select_account"))).await;
    assert_eq!(picker.status, StatusCode::OK, "{}", picker.text);
    assert!(picker.text.contains("Pick an account"), "{}", picker.text);
    assert!(picker.text.contains("Adele Vance") && picker.text.contains("adele@contoso.onmicrosoft.com"));
    assert!(picker.text.contains("Use another account"));
    assert!(!picker.text.contains("name=\"password\"") && !picker.text.contains("<script"));

    // The form needs the browser's CSRF cookie.
    let stranger = choose(&h, &mut Browser::default(), &picker, "continue").await;
    assert_eq!(stranger.status, StatusCode::BAD_REQUEST);
    assert!(stranger.text.contains("AADSTS50089"), "{}", stranger.text);

    // Picking Adele continues without a password; the form cannot be replayed.
    let r = choose(&h, &mut b, &picker, "continue").await;
    let p = redirect_params(&location(&r));
    assert!(p.contains_key("code"), "{p:?}");
    assert_eq!(p["state"], "st-sel");
    let replay = choose(&h, &mut b, &picker, "continue").await;
    assert!(replay.text.contains("AADSTS50089"), "{}", replay.text);

    // "Use another account": the sign-in form; Bianca signs in and is the session from then on.
    let picker = b.get(&h, &authorize_url(&h, &app_id, Some("select_account"))).await;
    let form = choose(&h, &mut b, &picker, "other").await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.text);
    assert!(form.text.contains("name=\"password\""), "{}", form.text);
    let r = b.sign_in(&h, &form, "bianca@contoso.onmicrosoft.com", PASSWORD).await;
    assert!(redirect_params(&location(&r)).contains_key("code"));
    let picker = b.get(&h, &authorize_url(&h, &app_id, Some("select_account"))).await;
    assert!(picker.text.contains("bianca@contoso.onmicrosoft.com"), "{}", picker.text);

    // Without prompt, the session still skips every page.
    let r = b.get(&h, &authorize_url(&h, &app_id, None)).await;
    assert!(redirect_params(&location(&r)).contains_key("code"));
}
