//! `/users/{id}/authentication` on Graph: the password method (Entra's fixed id) and TOTP
//! methods, read per the permission reference and the caller's directory roles; an
//! administrator's `resetPassword` (202, the generated password once, a forced change at next
//! sign-in); `/me/authentication`; `/me/changePassword` under Entra's password policy.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::browser::{PASSWORD, assert_oauth, registered_app};
use crate::harness::{Harness, Reply, id_of};

const PASSWORD_METHOD: &str = "28c10230-6103-485e-b985-444c60001490";
const SCOPES: &str = "User.Read UserAuthenticationMethod.ReadWrite.All User-PasswordProfile.ReadWrite.All";

async fn ropc(h: &Harness, client: &str, upn: &str, password: &str) -> Reply {
    h.form(
        &format!("/{}/oauth2/v2.0/token", h.boot.tenant_id),
        &[
            ("grant_type", "password"),
            ("client_id", client),
            ("username", upn),
            ("password", password),
            ("scope", "https://graph.microsoft.com/.default"),
        ],
        None,
    )
    .await
}

async fn delegated(h: &Harness, client: &str, upn: &str, password: &str) -> String {
    let r = ropc(h, client, upn, password).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.json["access_token"].as_str().expect("access_token").to_string()
}

async fn call(h: &Harness, method: Method, path: &str, body: Option<Value>, token: &str) -> Reply {
    h.graph_with(method, path, body, token, &[]).await
}

#[tokio::test]
async fn methods_are_listed_per_permission_and_role() {
    let h = Harness::new().await;
    let adele = id_of(&h.user("adele", "Adele Vance").await);
    h.user("megan", "Megan Bowen").await;
    let methods = format!("/v1.0/users/{adele}/authentication/methods");

    // An app with UserAuthenticationMethod.Read.All sees the password method, in Graph's shape.
    let reader = h.sign(h.claims(&["UserAuthenticationMethod.Read.All"])).await;
    let r = call(&h, Method::GET, &methods, None, &reader).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(
        r.json["@odata.context"]
            .as_str()
            .is_some_and(|c| c.ends_with(&format!("#users('{adele}')/authentication/methods")))
    );
    let value = r.json["value"].as_array().expect("value");
    assert_eq!(value.len(), 1, "{}", r.text);
    assert_eq!(value[0]["@odata.type"], "#microsoft.graph.passwordAuthenticationMethod");
    assert_eq!(value[0]["id"], PASSWORD_METHOD);
    assert_eq!(value[0]["password"], Value::Null, "the password is never returned");
    assert!(value[0]["createdDateTime"].is_string(), "{}", r.text);

    let r = call(&h, Method::GET, &format!("/v1.0/users/{adele}/authentication/passwordMethods"), None, &reader).await;
    assert_eq!(r.json["value"][0]["id"], PASSWORD_METHOD, "{}", r.text);
    assert!(r.json["value"][0].get("@odata.type").is_none());
    let one = format!("/v1.0/users/adele@contoso.onmicrosoft.com/authentication/passwordMethods/{PASSWORD_METHOD}");
    let r = call(&h, Method::GET, &one, None, &reader).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.json["@odata.context"].as_str().is_some_and(|c| c.ends_with("/authentication/passwordMethods/$entity")));
    let r = call(&h, Method::GET, &format!("{methods}/{}", uuid::Uuid::new_v4()), None, &reader).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let r =
        call(&h, Method::GET, &format!("/v1.0/users/{adele}/authentication/softwareOathMethods"), None, &reader).await;
    assert_eq!(r.json["value"], json!([]), "{}", r.text);
    let r =
        call(&h, Method::GET, &format!("/v1.0/users/{}/authentication/methods", uuid::Uuid::new_v4()), None, &reader)
            .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);

    // Without the permission (the bootstrap app holds Directory.ReadWrite.All, not this one).
    let r = h.get(&methods).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    // A read permission does not delete.
    let oath = format!("/v1.0/users/{adele}/authentication/softwareOathMethods/{}", uuid::Uuid::new_v4());
    assert_eq!(call(&h, Method::DELETE, &oath, None, &reader).await.status, StatusCode::FORBIDDEN);
    // An unknown TOTP method is not found.
    let writer = h.sign(h.claims(&["UserAuthenticationMethod.ReadWrite.All"])).await;
    assert_eq!(call(&h, Method::DELETE, &oath, None, &writer).await.status, StatusCode::NOT_FOUND);

    // Delegated: a member reads their own methods (also as /me), not another user's.
    let (client, _) = registered_app(&h, Some(SCOPES)).await;
    let megan = delegated(&h, &client, "megan@contoso.onmicrosoft.com", PASSWORD).await;
    let r =
        call(&h, Method::GET, "/v1.0/users/megan@contoso.onmicrosoft.com/authentication/methods", None, &megan).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = call(&h, Method::GET, "/v1.0/me/authentication/methods", None, &megan).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["value"][0]["id"], PASSWORD_METHOD, "{}", r.text);
    let r = call(&h, Method::GET, &format!("/v1.0/me/authentication/passwordMethods/{PASSWORD_METHOD}"), None, &megan)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = call(&h, Method::GET, "/v1.0/me/authentication/softwareOathMethods", None, &megan).await;
    assert_eq!(r.json["value"], json!([]), "{}", r.text);
    let r = call(&h, Method::GET, &methods, None, &megan).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let mine = format!("/v1.0/me/authentication/softwareOathMethods/{}", uuid::Uuid::new_v4());
    assert_eq!(call(&h, Method::DELETE, &mine, None, &megan).await.status, StatusCode::NOT_FOUND);
    // App tokens get Graph's /me answer.
    let r = call(&h, Method::GET, "/v1.0/me/authentication/methods", None, &reader).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
}

#[tokio::test]
async fn admins_reset_passwords_and_users_change_theirs() {
    let h = Harness::new().await;
    let adele = id_of(&h.user("adele", "Adele Vance").await);
    h.user("megan", "Megan Bowen").await;
    let (client, _) = registered_app(&h, Some(SCOPES)).await;
    let admin = delegated(&h, &client, &h.boot.admin_user_principal_name, &h.boot.admin_password).await;
    let reset = format!("/v1.0/users/{adele}/authentication/methods/{PASSWORD_METHOD}/resetPassword");

    // The administrator sets a password: 202, nothing echoed; the user must change it.
    let r = call(&h, Method::POST, &reset, Some(json!({"newPassword": "Reset-Pa55word!"})), &admin).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    assert_eq!(r.json["newPassword"], Value::Null, "{}", r.text);
    assert!(r.json["@odata.context"].as_str().is_some_and(|c| c.ends_with("#microsoft.graph.passwordResetResponse")));
    // A long-running operation in Graph: its status link answers `succeeded`.
    let status = r.headers["location"].to_str().expect("location").to_string();
    let path = status.strip_prefix(crate::harness::PUBLIC_URL).expect("absolute link");
    assert!(path.starts_with(&format!("/v1.0/users/{adele}/authentication/operations/")), "{path}");
    let op = call(&h, Method::GET, path, None, &admin).await;
    assert_eq!(op.status, StatusCode::OK, "{}", op.text);
    assert_eq!(op.json["status"], "succeeded", "{}", op.text);
    let missing = format!("/v1.0/users/{adele}/authentication/operations/{}", uuid::Uuid::new_v4());
    assert_eq!(call(&h, Method::GET, &missing, None, &admin).await.status, StatusCode::NOT_FOUND);
    assert_oauth(&ropc(&h, &client, "adele@contoso.onmicrosoft.com", PASSWORD).await, 400, "invalid_grant", 50126);
    assert_oauth(
        &ropc(&h, &client, "adele@contoso.onmicrosoft.com", "Reset-Pa55word!").await,
        400,
        "invalid_grant",
        50055,
    );

    // Or has one generated, shown once in the response (passwordMethods path too).
    let reset2 = format!("/v1.0/users/{adele}/authentication/passwordMethods/{PASSWORD_METHOD}/resetPassword");
    let r = call(&h, Method::POST, &reset2, None, &admin).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let generated = r.json["newPassword"].as_str().expect("generated password").to_string();
    assert_eq!(generated.len(), 16);
    assert_oauth(&ropc(&h, &client, "adele@contoso.onmicrosoft.com", &generated).await, 400, "invalid_grant", 50055);

    // Entra's password policy applies; other method ids are not passwords; not one's own.
    let r = call(&h, Method::POST, &reset, Some(json!({"newPassword": "short"})), &admin).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.code(), "Request_BadRequest");
    let other = format!("/v1.0/users/{adele}/authentication/methods/{}/resetPassword", uuid::Uuid::new_v4());
    assert_eq!(call(&h, Method::POST, &other, None, &admin).await.status, StatusCode::NOT_FOUND);
    let own = format!(
        "/v1.0/users/{}/authentication/methods/{PASSWORD_METHOD}/resetPassword",
        h.boot.admin_user_principal_name
    );
    assert_eq!(call(&h, Method::POST, &own, None, &admin).await.status, StatusCode::FORBIDDEN);

    // A member may not reset anyone; an app may not either (the operation is delegated only).
    let megan = delegated(&h, &client, "megan@contoso.onmicrosoft.com", PASSWORD).await;
    assert_eq!(call(&h, Method::POST, &reset, None, &megan).await.status, StatusCode::FORBIDDEN);
    let app = h.sign(h.claims(&["UserAuthenticationMethod.ReadWrite.All"])).await;
    assert_eq!(call(&h, Method::POST, &reset, None, &app).await.status, StatusCode::FORBIDDEN);

    // changePassword: the current password must be right, the new one must meet the policy.
    let change = |current: &str, new: &str| json!({"currentPassword": current, "newPassword": new});
    let r =
        call(&h, Method::POST, "/v1.0/me/changePassword", Some(change("Wrong-Pa55word!", "Brand-New-Pa55!")), &megan)
            .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = call(&h, Method::POST, "/v1.0/me/changePassword", Some(change(PASSWORD, "password")), &megan).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(
        r.message(),
        "The specified password does not comply with password complexity requirements. Please provide a different password."
    );
    let r = call(&h, Method::POST, "/v1.0/me/changePassword", Some(change(PASSWORD, "Brand-New-Pa55!")), &megan).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    delegated(&h, &client, "megan@contoso.onmicrosoft.com", "Brand-New-Pa55!").await;
}
