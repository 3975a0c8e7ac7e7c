//! Invitations and guests: `POST /invitations` creates (or reuses) a guest, the redemption page
//! (CSRF-protected, single-use, bound to the newest invitation) sets the guest's password and
//! moves them to `Accepted`, `resetRedemption`, the request errors, and `contracts` read from a
//! fixture.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};

use crate::harness::{Harness, PUBLIC_URL, Reply, id_of};

const EMAIL: &str = "Adele.Vance@Fabrikam.com";
const PASSWORD: &str = "Guest-Pa55word!";

async fn invite(h: &Harness, body: Value) -> Reply {
    h.post("/v1.0/invitations", body).await
}

fn ticket_path(inv: &Value) -> String {
    let url = inv["inviteRedeemUrl"].as_str().expect("inviteRedeemUrl");
    url.strip_prefix(PUBLIC_URL).expect("served here").to_string()
}

/// The redemption page: the CSRF form field and the cookie that goes with it.
async fn open_page(h: &Harness, path: &str) -> (Reply, String, String) {
    let req = Request::builder().method(Method::GET).uri(path).body(Body::empty()).expect("request");
    let page = h.send(req).await;
    let cookie = page
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("cerulean_redeem_csrf="))
        .map(|c| c.split(';').next().unwrap_or_default().to_string())
        .unwrap_or_default();
    let csrf = page
        .text
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_default()
        .to_string();
    (page, csrf, cookie)
}

async fn post_form(h: &Harness, path: &str, fields: &[(&str, &str)], cookie: &str) -> Reply {
    let req = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cookie", format!("cerulean_redeem_csrf={cookie}"))
        .body(Body::from(serde_urlencoded::to_string(fields).expect("form")))
        .expect("request");
    h.send(req).await
}

fn ticket_of(path: &str) -> String {
    path.split("ticket=").nth(1).unwrap_or_default().to_string()
}

fn action_of(path: &str) -> String {
    path.split('?').next().unwrap_or_default().to_string()
}

async fn guest(h: &Harness, id: &str) -> Value {
    let r = h
        .get(&format!(
            "/v1.0/users/{id}?$select=id,userPrincipalName,mail,otherMails,userType,creationType,externalUserState,externalUserStateChangeDateTime,displayName"
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.json
}

#[tokio::test]
async fn an_invitation_creates_a_guest_who_redeems_it_once() {
    let h = Harness::new().await;
    let r = invite(
        &h,
        json!({
            "invitedUserEmailAddress": EMAIL,
            "inviteRedirectUrl": "https://myapp.contoso.com/welcome",
            "invitedUserDisplayName": "Adele (Fabrikam)",
            "sendInvitationMessage": false,
            "invitedUserMessageInfo": {"customizedMessageBody": "Welcome!"}
        }),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let inv = r.json;
    assert_eq!(inv["status"], "PendingAcceptance");
    assert_eq!(inv["invitedUserType"], "Guest");
    assert_eq!(inv["invitedUserEmailAddress"], EMAIL);
    assert_eq!(inv["inviteRedirectUrl"], "https://myapp.contoso.com/welcome");
    assert_eq!(inv["resetRedemption"], false);
    assert_eq!(inv["invitedUserMessageInfo"]["customizedMessageBody"], "Welcome!");
    assert!(inv["id"].as_str().is_some_and(|i| uuid::Uuid::parse_str(i).is_ok()));
    let user_id = inv["invitedUser"]["id"].as_str().expect("invitedUser").to_string();

    let g = guest(&h, &user_id).await;
    assert_eq!(g["userType"], "Guest");
    assert_eq!(g["userPrincipalName"], "adele.vance_fabrikam.com#EXT#@contoso.onmicrosoft.com");
    assert_eq!(g["mail"], EMAIL);
    assert_eq!(g["otherMails"], json!([EMAIL]));
    assert_eq!(g["creationType"], "Invitation");
    assert_eq!(g["externalUserState"], "PendingAcceptance");
    assert_eq!(g["displayName"], "Adele (Fabrikam)");
    assert!(g["externalUserStateChangeDateTime"].is_string());
    // Guests filter like any user.
    let f = h.get("/v1.0/users?$filter=userType%20eq%20%27Guest%27").await;
    assert_eq!(f.json["value"].as_array().map(Vec::len), Some(1), "{}", f.text);

    let path = ticket_path(&inv);
    assert!(path.contains("/invitations/redeem?ticket="), "{path}");
    let (page, csrf, cookie) = open_page(&h, &path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(page.text.contains(EMAIL), "{}", page.text);
    assert!(!csrf.is_empty() && csrf == cookie, "csrf {csrf:?} cookie {cookie:?}");
    let action = action_of(&path);
    let ticket = ticket_of(&path);

    // CSRF: without the cookie, or with another token, nothing happens.
    let r = post_form(
        &h,
        &action,
        &[("ticket", &ticket), ("csrf", &csrf), ("new_password", PASSWORD), ("confirm_password", PASSWORD)],
        "wrong",
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text.contains("timed out"), "{}", r.text);
    assert_eq!(guest(&h, &user_id).await["externalUserState"], "PendingAcceptance");
    let (_, csrf, cookie) = open_page(&h, &path).await;
    // Mismatched and weak passwords are refused on the page.
    let r = post_form(
        &h,
        &action,
        &[("ticket", &ticket), ("csrf", &csrf), ("new_password", PASSWORD), ("confirm_password", "other")],
        &cookie,
    )
    .await;
    assert!(r.text.contains("don&#39;t match"), "{}", r.text);
    let (_, csrf, cookie) = open_page(&h, &path).await;
    let r = post_form(
        &h,
        &action,
        &[("ticket", &ticket), ("csrf", &csrf), ("new_password", "short"), ("confirm_password", "short")],
        &cookie,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text.contains("role=\"alert\""), "{}", r.text);
    assert_eq!(guest(&h, &user_id).await["externalUserState"], "PendingAcceptance");

    let (_, csrf, cookie) = open_page(&h, &path).await;
    let r = post_form(
        &h,
        &action,
        &[("ticket", &ticket), ("csrf", &csrf), ("new_password", PASSWORD), ("confirm_password", PASSWORD)],
        &cookie,
    )
    .await;
    assert_eq!(r.status, StatusCode::FOUND, "{}", r.text);
    assert_eq!(
        r.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()),
        Some("https://myapp.contoso.com/welcome")
    );
    let g = guest(&h, &user_id).await;
    assert_eq!(g["externalUserState"], "Accepted");

    // Single use.
    let (page, _, _) = open_page(&h, &path).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.text);
    let r = post_form(
        &h,
        &action,
        &[("ticket", &ticket), ("csrf", &csrf), ("new_password", PASSWORD), ("confirm_password", PASSWORD)],
        &cookie,
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // An unknown ticket is refused too.
    let (page, _, _) = open_page(&h, &format!("{action}?ticket=nothing")).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);

    // The guest signs in here with the password they chose.
    let (client, _) = crate::browser::registered_app(&h, Some("User.Read")).await;
    let upn = g["userPrincipalName"].as_str().expect("upn").to_string();
    let token = h
        .form(
            &format!("/{}/oauth2/v2.0/token", h.boot.tenant_id),
            &[
                ("grant_type", "password"),
                ("client_id", &client),
                ("username", &upn),
                ("password", PASSWORD),
                ("scope", "User.Read"),
            ],
            None,
        )
        .await;
    assert_eq!(token.status, StatusCode::OK, "{}", token.text);
}

#[tokio::test]
async fn inviting_again_reuses_the_guest_and_reset_redemption_starts_over() {
    let h = Harness::new().await;
    let body = json!({"invitedUserEmailAddress": EMAIL, "inviteRedirectUrl": "https://myapp.contoso.com"});
    let first = invite(&h, body.clone()).await.json;
    let second = invite(&h, body.clone()).await;
    assert_eq!(second.status, StatusCode::CREATED, "{}", second.text);
    assert_eq!(second.json["invitedUser"]["id"], first["invitedUser"]["id"]);
    assert_ne!(second.json["id"], first["id"]);
    let user_id = first["invitedUser"]["id"].as_str().expect("id").to_string();

    // Only the newest link works.
    let (page, _, _) = open_page(&h, &ticket_path(&first)).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    let path = ticket_path(&second.json);
    let (page, csrf, cookie) = open_page(&h, &path).await;
    assert_eq!(page.status, StatusCode::OK);
    let r = post_form(
        &h,
        &action_of(&path),
        &[("ticket", &ticket_of(&path)), ("csrf", &csrf), ("new_password", PASSWORD), ("confirm_password", PASSWORD)],
        &cookie,
    )
    .await;
    assert_eq!(r.status, StatusCode::FOUND, "{}", r.text);

    // Accepted: inviting again completes at once, unless redemption is reset.
    let third = invite(&h, body.clone()).await;
    assert_eq!(third.json["status"], "Completed", "{}", third.text);
    assert_eq!(third.json["inviteRedeemUrl"], "https://myapp.contoso.com");
    let mut reset = body.clone();
    reset["resetRedemption"] = json!(true);
    let fourth = invite(&h, reset).await;
    assert_eq!(fourth.json["status"], "PendingAcceptance", "{}", fourth.text);
    assert_eq!(fourth.json["resetRedemption"], true);
    assert_eq!(guest(&h, &user_id).await["externalUserState"], "PendingAcceptance");
    let (page, _, _) = open_page(&h, &ticket_path(&fourth.json)).await;
    assert_eq!(page.status, StatusCode::OK);

    // A member invited as such.
    let m = invite(
        &h,
        json!({"invitedUserEmailAddress": "pat@tailspin.com", "inviteRedirectUrl": "https://a.example", "invitedUserType": "Member"}),
    )
    .await;
    assert_eq!(m.status, StatusCode::CREATED, "{}", m.text);
    let g = guest(&h, m.json["invitedUser"]["id"].as_str().expect("id")).await;
    assert_eq!(g["userType"], "Member");
}

#[tokio::test]
async fn invitation_errors() {
    let h = Harness::new().await;
    for (body, needle) in [
        (json!({"inviteRedirectUrl": "https://a.example"}), "invitedUserEmailAddress"),
        (json!({"invitedUserEmailAddress": "not-an-address", "inviteRedirectUrl": "https://a.example"}), "email"),
        (json!({"invitedUserEmailAddress": "a b@x.com", "inviteRedirectUrl": "https://a.example"}), "email"),
        (json!({"invitedUserEmailAddress": "a@nodot", "inviteRedirectUrl": "https://a.example"}), "email"),
        (json!({"invitedUserEmailAddress": "a@x.com"}), "inviteRedirectUrl"),
        (json!({"invitedUserEmailAddress": "a@x.com", "inviteRedirectUrl": "not a url"}), "inviteRedirectUrl"),
        (
            json!({"invitedUserEmailAddress": "a@x.com", "inviteRedirectUrl": "https://a.example", "invitedUserType": "Boss"}),
            "invitedUserType",
        ),
        (
            json!({"invitedUserEmailAddress": "a@x.com", "inviteRedirectUrl": "https://a.example", "sendInvitationMessage": "yes"}),
            "sendInvitationMessage",
        ),
        (
            json!({"invitedUserEmailAddress": "a@x.com", "inviteRedirectUrl": "https://a.example", "colour": 1}),
            "colour",
        ),
        (
            json!({"invitedUserEmailAddress": "a@x.com", "inviteRedirectUrl": "https://a.example", "status": "x"}),
            "read-only",
        ),
        (
            json!({"invitedUserEmailAddress": "bob@contoso.onmicrosoft.com", "inviteRedirectUrl": "https://a.example"}),
            "member",
        ),
    ] {
        let r = invite(&h, body.clone()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {}", r.text);
        assert_eq!(r.code(), "BadRequest", "{body}: {}", r.text);
        assert!(r.message().contains(needle), "{body}: {}", r.text);
    }
    // Nothing was created.
    let f = h.get("/v1.0/users?$filter=userType%20eq%20%27Guest%27").await;
    assert_eq!(f.json["value"], json!([]));

    // Without a permission that allows inviting.
    let token = h.sign(h.claims(&["User.Read.All"])).await;
    let r = h
        .graph_with(
            Method::POST,
            "/v1.0/invitations",
            Some(json!({"invitedUserEmailAddress": "a@x.com", "inviteRedirectUrl": "https://a.example"})),
            &token,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let token = h.sign(h.claims(&["User.Invite.All"])).await;
    let r = h
        .graph_with(
            Method::POST,
            "/v1.0/invitations",
            Some(json!({"invitedUserEmailAddress": "a@x.com", "inviteRedirectUrl": "https://a.example"})),
            &token,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
}

#[tokio::test]
async fn contracts_are_read_from_fixtures() {
    let h = Harness::new().await;
    let empty = h.get("/v1.0/contracts").await;
    assert_eq!(empty.status, StatusCode::OK, "{}", empty.text);
    assert_eq!(empty.json["value"], json!([]));
    let customer = uuid::Uuid::new_v4().to_string();
    let fixture = json!({"contracts": [{
        "contractType": "ResellerPartner", "customerId": customer,
        "defaultDomainName": "northwind.onmicrosoft.com", "displayName": "Northwind Traders"
    }]});
    let caller = cerulean_directory::Caller::system(h.tenant());
    h.app.directory.import_fixture(&caller, &fixture).await.expect("import");
    // Idempotent.
    h.app.directory.import_fixture(&caller, &fixture).await.expect("import again");
    let list = h.get("/v1.0/contracts").await;
    let items = list.json["value"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 1, "{}", list.text);
    assert_eq!(items[0]["customerId"], customer);
    assert_eq!(items[0]["contractType"], "ResellerPartner");
    let one = h.get(&format!("/v1.0/contracts/{}", id_of(&items[0]))).await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.text);
    assert_eq!(one.json["displayName"], "Northwind Traders");
    let f = h.get("/v1.0/contracts?$filter=displayName%20eq%20%27Northwind%20Traders%27").await;
    assert_eq!(f.json["value"].as_array().map(Vec::len), Some(1), "{}", f.text);
    // Read-only.
    let r = h.post("/v1.0/contracts", json!({"displayName": "x"})).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{}", r.text);
    let r = h.get(&format!("/v1.0/contracts/{}", uuid::Uuid::new_v4())).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // A bad fixture entry is refused.
    let bad = json!({"contracts": [{"displayName": "No customer"}]});
    assert!(h.app.directory.import_fixture(&caller, &bad).await.is_err());
    let bad = json!({"contracts": [{"customerId": "nope", "displayName": "x"}]});
    assert!(h.app.directory.import_fixture(&caller, &bad).await.is_err());
}

#[tokio::test]
async fn an_expired_redemption_link_is_refused() {
    let h = Harness::new().await;
    let inv = invite(&h, json!({"invitedUserEmailAddress": EMAIL, "inviteRedirectUrl": "https://a.example"})).await;
    assert_eq!(inv.status, StatusCode::CREATED, "{}", inv.text);
    let user = inv.json["invitedUser"]["id"].as_str().expect("id").to_string();
    // A link for the same guest whose validity ended a minute ago, as the store keeps it.
    let secret = "expired-ticket-0123456789abcdef0123456789abcdef";
    let past = (time::OffsetDateTime::now_utc() - time::Duration::minutes(1))
        .format(&time::format_description::well_known::Rfc3339)
        .expect("format");
    let record = cerulean_store::FlowRecord {
        kind: cerulean_directory::invitations::INVITATION_FLOW.into(),
        key: cerulean_identity::user_tokens::refresh_token_hash(secret),
        lookup: Some(user.clone()),
        data: json!({"user": user, "redirect": "https://a.example"}),
        created_at: past.clone(),
        expires_at: past,
        used_at: None,
    };
    h.store.put_flow(h.tenant(), &record, "2000-01-01T00:00:00Z").await.expect("put flow");
    let path = format!("/{}/invitations/redeem?ticket={secret}", h.boot.tenant_id);
    let (page, _, _) = open_page(&h, &path).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.text);
    assert!(page.text.contains("expired"), "{}", page.text);
    let r = post_form(
        &h,
        &action_of(&path),
        &[("ticket", secret), ("csrf", "x"), ("new_password", PASSWORD), ("confirm_password", PASSWORD)],
        "x",
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(guest(&h, &user).await["externalUserState"], "PendingAcceptance");
    // The link issued with the invitation still works.
    let (page, _, _) = open_page(&h, &ticket_path(&inv.json)).await;
    assert_eq!(page.status, StatusCode::OK);
}
