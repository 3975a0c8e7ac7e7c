//! Azure AD Graph 1.6 queries and the signed-in user over HTTP: `$expand` (single objects and
//! collections), `$orderby` rules and the default order, `any` on multi-valued properties,
//! and `/me`, `/myorganization` with a delegated token from the token endpoint.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::aadgraph::{aad, aad_token, code};
use crate::harness::{Harness, Reply, id_of};

const PASSWORD: &str = "xWwvJ]6NMw+bWH-d";
const AAD_GRAPH: &str = "00000002-0000-0000-c000-000000000000";

fn ids(r: &Reply, key: &str) -> Vec<String> {
    r.json[key]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v["objectId"].as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn expand_on_objects_and_collections() {
    let h = Harness::new().await;
    let t = aad_token(&h).await;
    let boss = id_of(&h.user("ex-boss", "Ex Boss").await);
    let report = id_of(&h.user("ex-report", "Ex Report").await);
    let group = id_of(&h.group("ex-group", "Ex Group").await);
    let r = h
        .graph(
            Method::PUT,
            &format!("/v1.0/users/{report}/manager/$ref"),
            Some(json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/users/{boss}")})),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let add = |g: String, m: String| {
        let h = &h;
        async move {
            let r = h
                .post(
                    &format!("/v1.0/groups/{g}/members/$ref"),
                    json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{m}")}),
                )
                .await;
            assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
        }
    };
    add(group.clone(), report.clone()).await;

    let r = aad(&h, &t, Method::GET, &format!("users/{report}?$expand=manager"), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["objectId"], report);
    assert_eq!(r.json["manager"]["objectId"], boss, "{}", r.text);
    assert_eq!(r.json["manager"]["odata.type"], "Microsoft.DirectoryServices.User");
    let r = aad(&h, &t, Method::GET, &format!("users/{boss}?$expand=manager,directReports"), None).await;
    assert_eq!(r.json["manager"], Value::Null, "{}", r.text);
    assert_eq!(ids(&r, "directReports"), vec![report.clone()]);
    let r = aad(&h, &t, Method::GET, "users/ex-report@contoso.onmicrosoft.com?$expand=memberOf", None).await;
    assert_eq!(ids(&r, "memberOf"), vec![group.clone()], "{}", r.text);
    let r = aad(&h, &t, Method::GET, &format!("groups/{group}?$expand=members,owners"), None).await;
    assert_eq!(ids(&r, "members"), vec![report.clone()], "{}", r.text);
    assert_eq!(r.json["owners"], json!([]));

    // On a collection, each object carries its expansion, through the pages.
    let r = aad(&h, &t, Method::GET, "users?$expand=manager&$top=1", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let mut next = r.json["odata.nextLink"].as_str().map(str::to_string);
    let mut found = r.json["value"].as_array().expect("value").clone();
    while let Some(link) = next {
        let r = aad(&h, &t, Method::GET, &link, None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        found.extend(r.json["value"].as_array().expect("value").iter().cloned());
        next = r.json["odata.nextLink"].as_str().map(str::to_string);
    }
    let rep = found.iter().find(|u| u["objectId"] == report).expect("report listed");
    assert_eq!(rep["manager"]["objectId"], boss);
    assert!(found.iter().all(|u| u.get("manager").is_some()));

    // At most 20 expanded objects.
    let big = id_of(&h.group("ex-big", "Ex Big").await);
    for i in 0..21 {
        let u = id_of(&h.user(&format!("ex-m{i}"), &format!("Ex M{i}")).await);
        add(big.clone(), u).await;
    }
    let r = aad(&h, &t, Method::GET, &format!("groups/{big}?$expand=members"), None).await;
    assert_eq!(ids(&r, "members").len(), 20, "{}", r.text);

    // Errors.
    let r = aad(&h, &t, Method::GET, &format!("groups/{group}?$expand=manager"), None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(
        r.json["odata.error"]["message"]["value"].as_str().expect("msg").contains("Microsoft.DirectoryServices.Group")
    );
    let r = aad(&h, &t, Method::GET, "users?$expand=nothing", None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = aad(&h, &t, Method::GET, &format!("users/{boss}?$expand=,"), None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.json["odata.error"]["message"]["value"].as_str().expect("msg").contains("names no navigation property"));
    let r = aad(&h, &t, Method::GET, &format!("groups/{group}/$links/members?$expand=members"), None).await;
    assert_eq!(code(&r), "Request_UnsupportedQuery", "{}", r.text);
}

#[tokio::test]
async fn orderby_rules_default_order_any_and_previous_page() {
    let h = Harness::new().await;
    let t = aad_token(&h).await;
    for (alias, name) in [("zz-first", "Aaron"), ("aa-last", "Zed")] {
        let mut body = crate::harness::user_body(alias, name);
        body["otherMails"] = json!([format!("{alias}@fabrikam.example")]);
        assert_eq!(h.post("/v1.0/users", body).await.status, StatusCode::CREATED);
    }
    // All users: by userPrincipalName.
    let r = aad(&h, &t, Method::GET, "users", None).await;
    let upns: Vec<&str> =
        r.json["value"].as_array().expect("v").iter().filter_map(|u| u["userPrincipalName"].as_str()).collect();
    let mut sorted = upns.clone();
    sorted.sort_by_key(|u| u.to_lowercase());
    assert_eq!(upns, sorted);
    // displayName and userPrincipalName only.
    let r = aad(&h, &t, Method::GET, "users?$orderby=displayName", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let names: Vec<&str> =
        r.json["value"].as_array().expect("v").iter().filter_map(|u| u["displayName"].as_str()).collect();
    assert_eq!(names.first(), Some(&"Aaron"), "{names:?}");
    let r = aad(&h, &t, Method::GET, "users?$orderby=userPrincipalName desc", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = aad(&h, &t, Method::GET, "users?$orderby=jobTitle", None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(code(&r), "Request_UnsupportedQuery");
    let r = aad(&h, &t, Method::GET, "groups?$orderby=userPrincipalName", None).await;
    assert_eq!(code(&r), "Request_UnsupportedQuery", "{}", r.text);
    let r = aad(&h, &t, Method::GET, "users?$orderby=displayName&$filter=startswith(displayName,'A')", None).await;
    assert_eq!(code(&r), "Request_UnsupportedQuery", "{}", r.text);

    // `any` on multi-valued properties, with the seed's names.
    let r = aad(&h, &t, Method::GET, "users?$filter=otherMails/any(c:c eq 'zz-first@fabrikam.example')", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["value"].as_array().map(Vec::len), Some(1), "{}", r.text);
    assert_eq!(r.json["value"][0]["displayName"], "Aaron");
    let r = aad(
        &h,
        &t,
        Method::GET,
        "users?$filter=userPrincipalName eq 'aa-last@contoso.onmicrosoft.com' or otherMails/any(c:c eq 'zz-first@fabrikam.example')",
        None,
    )
    .await;
    assert_eq!(r.json["value"].as_array().map(Vec::len), Some(2), "{}", r.text);
    let r = aad(
        &h,
        &t,
        Method::GET,
        "users?$filter=proxyAddresses/any(c:c eq 'SMTP:nobody@contoso.onmicrosoft.com')",
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["value"], json!([]));

    // Paging backward (`previous-page`): see `aadgraph_paging.rs`.
}

/// A delegated Azure AD Graph token for `upn`, from the token endpoint (ROPC through a public
/// client consented for Azure AD Graph).
pub(crate) async fn user_token(h: &Harness, upn: &str, scope: &str) -> (String, String) {
    let r = h.post("/v1.0/applications", json!({"displayName": "Legacy app", "isFallbackPublicClient": true})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let app_id = r.json["appId"].as_str().expect("appId").to_string();
    let sp = h.post("/v1.0/servicePrincipals", json!({"appId": app_id})).await;
    assert_eq!(sp.status, StatusCode::CREATED, "{}", sp.text);
    let aad_sp = h.get(&format!("/v1.0/servicePrincipals(appId='{AAD_GRAPH}')")).await;
    assert_eq!(aad_sp.status, StatusCode::OK, "{}", aad_sp.text);
    let grant = h
        .post(
            "/v1.0/oauth2PermissionGrants",
            json!({"clientId": id_of(&sp.json), "consentType": "AllPrincipals", "resourceId": id_of(&aad_sp.json), "scope": scope}),
        )
        .await;
    assert_eq!(grant.status, StatusCode::CREATED, "{}", grant.text);
    let r = h
        .form(
            &format!("/{}/oauth2/token", h.boot.tenant_id),
            &[
                ("grant_type", "password"),
                ("client_id", &app_id),
                ("username", upn),
                ("password", PASSWORD),
                ("resource", "https://graph.windows.net"),
            ],
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    (r.json["access_token"].as_str().expect("access_token").to_string(), app_id)
}

pub(crate) async fn me(h: &Harness, token: &str, method: Method, path: &str, body: Option<Value>) -> Reply {
    let sep = if path.contains('?') { '&' } else { '?' };
    let path = path.replace(' ', "%20");
    h.graph_with(method, &format!("/{path}{sep}api-version=1.6"), body, token, &[]).await
}

#[tokio::test]
async fn me_and_myorganization_with_a_delegated_token() {
    let h = Harness::new().await;
    let app = aad_token(&h).await;
    let user = id_of(&h.user("me-user", "Me User").await);
    let boss = id_of(&h.user("me-boss", "Me Boss").await);
    let group = id_of(&h.group("me-group", "Me Group").await);
    let r = h
        .post(
            &format!("/v1.0/groups/{group}/members/$ref"),
            json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{user}")}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let (t, app_id) = user_token(&h, "me-user@contoso.onmicrosoft.com", "Directory.AccessAsUser.All").await;

    let r = me(&h, &t, Method::GET, "me", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["objectId"], user);
    assert_eq!(r.json["odata.type"], "Microsoft.DirectoryServices.User");
    assert!(r.json["odata.metadata"].as_str().expect("md").contains("/myorganization/$metadata#"), "{}", r.text);
    let r = me(&h, &t, Method::GET, "ME/memberOf", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(ids(&r, "value"), vec![group.clone()]);
    let r = me(&h, &t, Method::GET, "me/$links/manager", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "no manager yet: {}", r.text);
    let link = json!({"url": format!("https://graph.windows.net/myorganization/directoryObjects/{boss}")});
    // Setting a manager is a user administrator's action (`users/manager/update`), on 1.6 as on
    // Graph v1.0: a member may not set their own (see aadgraph_delegated.rs); an admin sets it.
    let r = me(&h, &t, Method::PUT, "me/$links/manager", Some(link.clone())).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r = me(&h, &app, Method::PUT, &format!("{}/users/{user}/$links/manager", h.boot.tenant_id), Some(link)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = me(&h, &t, Method::GET, "me/$links/manager", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.json["url"].as_str().expect("url").contains(&boss), "{}", r.text);
    // `/{tenant}/me`, as azure-graphrbac's `signed_in_user` addresses it.
    let r = me(&h, &t, Method::GET, &format!("{}/me", h.boot.tenant_id), None).await;
    assert_eq!(r.json["objectId"], user, "{}", r.text);
    let r = me(&h, &app, Method::GET, &format!("{}/me", h.boot.tenant_id), None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = me(&h, &t, Method::GET, "me/manager", None).await;
    assert_eq!(r.json["objectId"], boss, "{}", r.text);
    let r = me(&h, &t, Method::GET, "myorganization/users?$filter=startswith(displayName,'Me ')", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["value"].as_array().map(Vec::len), Some(2), "{}", r.text);
    let r = me(&h, &t, Method::GET, "MyOrganization/users/me-boss@contoso.onmicrosoft.com", None).await;
    assert_eq!(r.json["objectId"], boss, "{}", r.text);

    // changePassword on me: the current password is proven, then the new one signs in.
    let body = |current: &str, new: &str| Some(json!({"currentPassword": current, "newPassword": new}));
    let r = me(&h, &t, Method::POST, "me/changePassword", body("wrong", "Nw-Pass!2345xy")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "as on Graph's /me/changePassword: {}", r.text);
    assert_eq!(code(&r), "Authorization_RequestDenied");
    let r = me(&h, &t, Method::POST, "me/changePassword", Some(json!({"newPassword": "x"}))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = me(&h, &t, Method::POST, "me/changePassword", body(PASSWORD, "Nw-Pass!2345xy")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = h
        .form(
            &format!("/{}/oauth2/v2.0/token", h.boot.tenant_id),
            &[
                ("grant_type", "password"),
                ("client_id", &app_id),
                ("username", "me-user@contoso.onmicrosoft.com"),
                ("password", "Nw-Pass!2345xy"),
                ("scope", "https://graph.windows.net/.default"),
            ],
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // Not on another user's path, and not for a token that does not act as the user.
    let r = aad(&h, &app, Method::POST, &format!("users/{user}/changePassword"), body(PASSWORD, "x")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let (reader, _) = user_token(&h, "me-boss@contoso.onmicrosoft.com", "Directory.Read.All").await;
    let r = me(&h, &reader, Method::POST, "me/changePassword", body(PASSWORD, "Nw-Pass!2345xy")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r = me(&h, &reader, Method::GET, "me", None).await;
    assert_eq!(r.json["objectId"], boss, "{}", r.text);

    // App tokens are refused on both aliases, with the 1.6 error.
    for path in ["me", "me/memberOf", "myorganization/users"] {
        let r = me(&h, &app, Method::GET, path, None).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{path}: {}", r.text);
        assert_eq!(code(&r), "Request_BadRequest");
        assert!(r.json["odata.error"]["message"]["value"].as_str().expect("msg").contains("delegated"), "{}", r.text);
    }
}

#[tokio::test]
async fn applications_and_service_principals_lifecycle() {
    let h = Harness::new().await;
    let t = aad_token(&h).await;
    let body = json!({
        "displayName": "Legacy created app",
        "availableToOtherTenants": false,
        "homepage": "https://legacy.example/home",
        "replyUrls": ["https://legacy.example/callback"],
        "oauth2AllowUrlPathMatching": false,
    });
    let r = aad(&h, &t, Method::POST, "applications", Some(body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.json["odata.type"], "Microsoft.DirectoryServices.Application");
    assert_eq!(r.json["availableToOtherTenants"], false);
    assert_eq!(r.json["replyUrls"], json!(["https://legacy.example/callback"]));
    assert_eq!(r.json["homepage"], "https://legacy.example/home");
    let app_object = r.json["objectId"].as_str().expect("objectId").to_string();
    let app_id = r.json["appId"].as_str().expect("appId").to_string();
    // The same application through v1.0.
    let v1 = h.get(&format!("/v1.0/applications/{app_object}")).await;
    assert_eq!(v1.json["signInAudience"], "AzureADMyOrg", "{}", v1.text);
    assert_eq!(v1.json["web"]["redirectUris"], json!(["https://legacy.example/callback"]));
    // Written where it is read from; constants are read-only unless unchanged.
    let r = aad(
        &h,
        &t,
        Method::PATCH,
        &format!("applications/{app_object}"),
        Some(json!({"availableToOtherTenants": true})),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(h.get(&format!("/v1.0/applications/{app_object}")).await.json["signInAudience"], "AzureADMultipleOrgs");
    let r = aad(
        &h,
        &t,
        Method::PATCH,
        &format!("applications/{app_object}"),
        Some(json!({"oauth2AllowUrlPathMatching": true})),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);

    let r =
        aad(&h, &t, Method::POST, "servicePrincipals", Some(json!({"appId": app_id, "accountEnabled": true}))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.json["objectType"], "ServicePrincipal");
    let sp = r.json["objectId"].as_str().expect("objectId").to_string();
    let r = aad(&h, &t, Method::GET, &format!("servicePrincipals?$filter=appId eq '{app_id}'"), None).await;
    assert_eq!(ids(&r, "value"), vec![sp.clone()], "{}", r.text);
    let r = aad(&h, &t, Method::DELETE, &format!("servicePrincipals/{sp}"), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(aad(&h, &t, Method::GET, &format!("servicePrincipals/{sp}"), None).await.status, StatusCode::NOT_FOUND);
    let r = aad(&h, &t, Method::DELETE, &format!("applications/{app_object}"), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = aad(&h, &t, Method::GET, &format!("applications/{app_object}"), None).await;
    assert_eq!(code(&r), "Request_ResourceNotFound", "{}", r.text);
    // Application writes need an application permission.
    let mut claims = h.claims(&["Directory.Read.All"]);
    claims["aud"] = json!("https://graph.windows.net");
    let reader = h.sign(claims).await;
    let r = aad(&h, &reader, Method::POST, "applications", Some(json!({"displayName": "Nope"}))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
}
