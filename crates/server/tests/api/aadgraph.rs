//! Azure AD Graph (api-version 1.6) over HTTP: addressing, the OData 3 JSON shape, users and
//! groups, navigation and `$links`, membership functions, paging with relative next links,
//! headers, errors, tokens and permissions — and the same objects read through both APIs.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::{Value, json};

use crate::harness::{Harness, Reply, id_of, user_body};

/// A client-credentials token for Azure AD Graph.
pub(crate) async fn aad_token(h: &Harness) -> String {
    let r = h
        .form(
            &format!("/{}/oauth2/v2.0/token", h.boot.tenant_id),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &h.boot.client_id),
                ("client_secret", &h.boot.client_secret),
                ("scope", "https://graph.windows.net/.default"),
            ],
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.json["access_token"].as_str().expect("access_token").to_string()
}

/// `/{tenant}/{path}` with `api-version=1.6` appended.
pub(crate) fn url(h: &Harness, path: &str) -> String {
    let sep = if path.contains('?') { '&' } else { '?' };
    let path = path.replace('+', "%2B").replace(' ', "%20");
    format!("/{}/{path}{sep}api-version=1.6", h.boot.tenant_id)
}

pub(crate) async fn aad(h: &Harness, token: &str, method: Method, path: &str, body: Option<Value>) -> Reply {
    h.graph_with(method, &url(h, path), body, token, &[]).await
}

pub(crate) fn code(r: &Reply) -> &str {
    r.json["odata.error"]["code"].as_str().unwrap_or_default()
}

/// The create-user response of the reference (seed: "Create a user"), field for field.
const SEED_CREATE_USER_KEYS: &[&str] = &[
    "odata.metadata",
    "odata.type",
    "objectType",
    "objectId",
    "deletionTimestamp",
    "accountEnabled",
    "assignedLicenses",
    "assignedPlans",
    "city",
    "country",
    "department",
    "dirSyncEnabled",
    "displayName",
    "facsimileTelephoneNumber",
    "givenName",
    "immutableId",
    "jobTitle",
    "lastDirSyncTime",
    "mail",
    "mailNickname",
    "mobile",
    "onPremisesSecurityIdentifier",
    "otherMails",
    "passwordPolicies",
    "passwordProfile",
    "physicalDeliveryOfficeName",
    "postalCode",
    "preferredLanguage",
    "provisionedPlans",
    "provisioningErrors",
    "proxyAddresses",
    "sipProxyAddress",
    "state",
    "streetAddress",
    "surname",
    "telephoneNumber",
    "usageLocation",
    "userPrincipalName",
    "userType",
];

#[tokio::test]
async fn create_user_matches_the_seed_and_reads_back_through_v1() {
    let h = Harness::new().await;
    let t = aad_token(&h).await;
    let body = json!({
        "accountEnabled": true,
        "displayName": "Alex Wu",
        "mailNickname": "AlexW",
        "passwordProfile": {"password": "Test1234-ab!Cd", "forceChangePasswordNextLogin": false},
        "userPrincipalName": "AlexW@contoso.onmicrosoft.com",
    });
    let r =
        h.graph_with(Method::POST, &url(&h, "users"), Some(body), &t, &[("client-request-id", "aad-create-1")]).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let mut keys: Vec<&str> = r.json.as_object().expect("object").keys().map(String::as_str).collect();
    keys.sort_unstable();
    let mut want = SEED_CREATE_USER_KEYS.to_vec();
    want.sort_unstable();
    assert_eq!(keys, want);
    // In the reference's order as well, key for key (odata.metadata and odata.type lead).
    assert_eq!(crate::aadgraph_mapping::keys_in_order(&r.text), SEED_CREATE_USER_KEYS);
    let id = r.json["objectId"].as_str().expect("objectId").to_string();
    assert_eq!(
        r.json["odata.metadata"],
        format!(
            "https://cerulean.test/{}/$metadata#directoryObjects/Microsoft.DirectoryServices.User/@Element",
            h.boot.tenant_id
        )
    );
    assert_eq!(r.json["odata.type"], "Microsoft.DirectoryServices.User");
    assert_eq!(r.json["objectType"], "User");
    assert_eq!(r.json["deletionTimestamp"], Value::Null);
    assert_eq!(r.json["userType"], "Member");
    assert_eq!(r.json["passwordProfile"], Value::Null);
    assert_eq!(r.json["otherMails"], json!([]));
    assert_eq!(r.json["assignedLicenses"], json!([]));
    assert_eq!(r.json["mobile"], Value::Null);
    assert!(
        r.headers["location"].to_str().expect("location").ends_with(&format!("{id}/Microsoft.DirectoryServices.User"))
    );
    // Headers: AAD's diagnostics, the server's request ids.
    assert!(r.headers.contains_key("ocp-aad-diagnostics-server-name"));
    assert!(r.headers.contains_key("ocp-aad-session-key"));
    assert!(r.headers.contains_key("request-id"));
    assert_eq!(r.headers["client-request-id"], "aad-create-1");
    assert!(r.headers["content-type"].to_str().expect("ct").starts_with("application/json"));

    // The same user through Graph v1.0.
    let v1 =
        h.get(&format!("/v1.0/users/{id}?$select=id,displayName,mailNickname,userPrincipalName,passwordProfile")).await;
    assert_eq!(v1.status, StatusCode::OK, "{}", v1.text);
    assert_eq!(v1.json["displayName"], "Alex Wu");
    assert_eq!(v1.json["userPrincipalName"], "AlexW@contoso.onmicrosoft.com");

    // The password set through 1.6 signs in (forceChangePasswordNextLogin mapped).
    let user =
        h.app.directory.verify_user_password(h.tenant(), "AlexW@contoso.onmicrosoft.com", "Test1234-ab!Cd").await;
    assert!(matches!(user, Ok(Some(_))), "{user:?}");

    // An update through 1.6 in 1.6 names is seen by v1.0 in v1.0 names.
    let r = aad(
        &h,
        &t,
        Method::PATCH,
        &format!("users/{id}"),
        Some(json!({"mobile": "+1 555 0100", "telephoneNumber": "+1 555 0101", "physicalDeliveryOfficeName": "20/1101", "facsimileTelephoneNumber": "+1 555 0102"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let v1 = h.get(&format!("/v1.0/users/{id}?$select=mobilePhone,businessPhones,officeLocation,faxNumber")).await;
    assert_eq!(v1.json["mobilePhone"], "+1 555 0100");
    assert_eq!(v1.json["businessPhones"], json!(["+1 555 0101"]));
    assert_eq!(v1.json["officeLocation"], "20/1101");
    assert_eq!(v1.json["faxNumber"], "+1 555 0102");
    // A v1.0 name is not a 1.6 name.
    let r = aad(&h, &t, Method::PATCH, &format!("users/{id}"), Some(json!({"mobilePhone": "1"}))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(code(&r), "Request_BadRequest");
}

#[tokio::test]
async fn v1_user_reads_identically_through_1_6() {
    let h = Harness::new().await;
    let t = aad_token(&h).await;
    let mut body = user_body("adele", "Adele Vance");
    body["mobilePhone"] = json!("+1 425 555 0109");
    body["businessPhones"] = json!(["+1 425 555 0100"]);
    body["officeLocation"] = json!("18/2111");
    body["jobTitle"] = json!("Retail Manager");
    let r = h.post("/v1.0/users", body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = id_of(&r.json);
    let v1 = h.get(&format!("/v1.0/users/{id}")).await;

    for key in [id.as_str(), "adele@contoso.onmicrosoft.com", "Adele@Contoso.onmicrosoft.com"] {
        let r = aad(&h, &t, Method::GET, &format!("users/{key}"), None).await;
        assert_eq!(r.status, StatusCode::OK, "{key}: {}", r.text);
        assert_eq!(r.json["objectId"], v1.json["id"]);
        assert_eq!(r.json["displayName"], v1.json["displayName"]);
        assert_eq!(r.json["userPrincipalName"], v1.json["userPrincipalName"]);
        assert_eq!(r.json["mobile"], v1.json["mobilePhone"]);
        assert_eq!(r.json["telephoneNumber"], v1.json["businessPhones"][0]);
        assert_eq!(r.json["physicalDeliveryOfficeName"], v1.json["officeLocation"]);
        assert_eq!(r.json["jobTitle"], v1.json["jobTitle"]);
        assert!(r.json.get("mobilePhone").is_none() && r.json.get("id").is_none());
    }

    // Delete through 1.6; both APIs then answer not found.
    let r = aad(&h, &t, Method::DELETE, &format!("users/{id}"), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = aad(&h, &t, Method::GET, &format!("users/{id}"), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(code(&r), "Request_ResourceNotFound");
    assert_eq!(r.json["odata.error"]["message"]["lang"], "en");
    assert!(r.json["odata.error"]["message"]["value"].as_str().expect("value").contains(&id));
    assert_eq!(h.get(&format!("/v1.0/users/{id}")).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn groups_links_and_membership_functions() {
    let h = Harness::new().await;
    let t = aad_token(&h).await;
    let user = id_of(&h.user("megan", "Megan Bowen").await);
    let r = aad(
        &h,
        &t,
        Method::POST,
        "groups",
        Some(json!({"displayName": "Sales", "mailEnabled": false, "mailNickname": "sales", "securityEnabled": true})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.json["odata.type"], "Microsoft.DirectoryServices.Group");
    assert_eq!(r.json["objectType"], "Group");
    let outer = r.json["objectId"].as_str().expect("id").to_string();
    let inner = id_of(&h.group("emea", "Sales EMEA").await);

    // outer ∋ inner ∋ user, all through $links.
    let link =
        |id: &str| json!({"url": format!("https://graph.windows.net/{}/directoryObjects/{id}", h.boot.tenant_id)});
    let r = aad(&h, &t, Method::POST, &format!("groups/{inner}/$links/members"), Some(link(&user))).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let typed = json!({"url": format!("https://graph.windows.net/{}/directoryObjects/{inner}/Microsoft.DirectoryServices.Group", h.boot.tenant_id)});
    let r = aad(&h, &t, Method::POST, &format!("groups/{outer}/$links/members"), Some(typed)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);

    // Navigation and links reads; v1.0 sees the same membership.
    let r = aad(&h, &t, Method::GET, &format!("groups/{inner}/members"), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.json["odata.metadata"].as_str().expect("md").ends_with("$metadata#directoryObjects"));
    assert_eq!(r.json["value"][0]["objectId"], user);
    assert_eq!(r.json["value"][0]["odata.type"], "Microsoft.DirectoryServices.User");
    let r = aad(&h, &t, Method::GET, &format!("groups/{outer}/$links/members"), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.json["odata.metadata"].as_str().expect("md").ends_with("$metadata#directoryObjects/$links/members"));
    assert!(
        r.json["value"][0]["url"]
            .as_str()
            .expect("url")
            .ends_with(&format!("{inner}/Microsoft.DirectoryServices.Group"))
    );
    let v1 = h.get(&format!("/v1.0/groups/{inner}/members")).await;
    assert_eq!(v1.json["value"][0]["id"], user);
    let r = aad(&h, &t, Method::GET, &format!("users/{user}/memberOf"), None).await;
    assert_eq!(r.json["value"][0]["objectId"], inner, "{}", r.text);

    // Transitive membership functions.
    let r = aad(&h, &t, Method::POST, "isMemberOf", Some(json!({"groupId": outer, "memberId": user}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["value"], true);
    assert!(r.json["odata.metadata"].as_str().expect("md").ends_with("$metadata#Edm.Boolean"));
    let r = aad(&h, &t, Method::POST, "isMemberOf", Some(json!({"groupId": user, "memberId": outer}))).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let r = aad(
        &h,
        &t,
        Method::POST,
        &format!("users/{user}/checkMemberGroups"),
        Some(json!({"groupIds": [outer, "00000000-0000-0000-0000-000000000001"]})),
    )
    .await;
    assert_eq!(r.json["value"], json!([outer]), "{}", r.text);
    let r = aad(
        &h,
        &t,
        Method::POST,
        &format!("users/{user}/getMemberGroups"),
        Some(json!({"securityEnabledOnly": false})),
    )
    .await;
    let mut got: Vec<String> =
        r.json["value"].as_array().expect("value").iter().map(|v| v.as_str().unwrap_or_default().to_string()).collect();
    got.sort();
    let mut want = vec![outer.clone(), inner.clone()];
    want.sort();
    assert_eq!(got, want, "{}", r.text);
    let r = aad(
        &h,
        &t,
        Method::POST,
        &format!("directoryObjects/{user}/getMemberObjects"),
        Some(json!({"securityEnabledOnly": true})),
    )
    .await;
    assert_eq!(r.json["value"].as_array().map(Vec::len), Some(2), "{}", r.text);

    // getObjectsByObjectIds, with and without types.
    let r = aad(
        &h,
        &t,
        Method::POST,
        "getObjectsByObjectIds",
        Some(json!({"objectIds": [user, inner], "types": ["User"]})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["value"].as_array().map(Vec::len), Some(1));
    assert_eq!(r.json["value"][0]["objectType"], "User");
    let r = aad(&h, &t, Method::POST, "getObjectsByObjectIds", Some(json!({"objectIds": [user, inner]}))).await;
    assert_eq!(r.json["value"].as_array().map(Vec::len), Some(2));

    // Remove the link; update and delete the group.
    let r = aad(&h, &t, Method::DELETE, &format!("groups/{inner}/$links/members/{user}"), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = aad(&h, &t, Method::POST, "isMemberOf", Some(json!({"groupId": outer, "memberId": user}))).await;
    assert_eq!(r.json["value"], false);
    let r = aad(&h, &t, Method::PATCH, &format!("groups/{outer}"), Some(json!({"description": "All sales"}))).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(h.get(&format!("/v1.0/groups/{outer}")).await.json["description"], "All sales");
    let r = aad(&h, &t, Method::DELETE, &format!("groups/{outer}"), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
}

#[tokio::test]
async fn manager_links_and_direct_reports() {
    let h = Harness::new().await;
    let t = aad_token(&h).await;
    let boss = id_of(&h.user("boss", "Boss").await);
    let report = id_of(&h.user("report", "Report").await);
    let r = aad(&h, &t, Method::GET, &format!("users/{report}/$links/manager"), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let body = json!({"url": format!("https://graph.windows.net/myorganization/directoryObjects/{boss}")});
    let r = aad(&h, &t, Method::PUT, "users/report@contoso.onmicrosoft.com/$links/manager", Some(body)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = aad(&h, &t, Method::GET, &format!("users/{report}/$links/manager"), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(
        r.json["url"]
            .as_str()
            .expect("url")
            .ends_with(&format!("/directoryObjects/{boss}/Microsoft.DirectoryServices.User"))
    );
    let r = aad(&h, &t, Method::GET, &format!("users/{report}/manager"), None).await;
    assert_eq!(r.json["objectId"], boss, "{}", r.text);
    let r = aad(&h, &t, Method::GET, &format!("users/{boss}/directReports"), None).await;
    assert_eq!(r.json["value"][0]["objectId"], report, "{}", r.text);
    assert_eq!(h.get(&format!("/v1.0/users/{report}/manager")).await.json["id"], boss);
    let r = aad(&h, &t, Method::DELETE, &format!("users/{report}/$links/manager"), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(h.get(&format!("/v1.0/users/{report}/manager")).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn filter_top_orderby_and_relative_next_links() {
    let h = Harness::new().await;
    let t = aad_token(&h).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let mut body = user_body(&format!("pager{i}"), &format!("Pager {i}"));
        body["mobilePhone"] = json!(format!("+1 {i}"));
        ids.push(id_of(&h.post("/v1.0/users", body).await.json));
    }
    let mut seen = Vec::new();
    let mut path = "users?$filter=startswith(displayName,'Pager')&$top=2".to_string();
    let mut pages = 0;
    loop {
        let r = aad(&h, &t, Method::GET, &path, None).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
        pages += 1;
        for v in r.json["value"].as_array().expect("value") {
            seen.push(v["objectId"].as_str().expect("id").to_string());
        }
        let Some(next) = r.json["odata.nextLink"].as_str() else { break };
        // Relative, as the seed shows, and without the original options.
        assert!(next.starts_with("directoryObjects/$/Microsoft.DirectoryServices.User?$skiptoken=X'"), "{next}");
        assert!(!next.contains("filter"), "{next}");
        path = next.to_string();
    }
    assert_eq!(pages, 3);
    seen.sort();
    ids.sort();
    assert_eq!(seen, ids);

    // 1.6 names in $filter and $orderby.
    let r = aad(&h, &t, Method::GET, "users?$filter=mobile eq '+1 3'", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["value"].as_array().map(Vec::len), Some(1));
    assert_eq!(r.json["value"][0]["displayName"], "Pager 3");
    let r = aad(&h, &t, Method::GET, "users?$orderby=displayName desc&$top=1", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["value"][0]["displayName"], "Pager 4");
    // Errors in the 1.6 shape.
    let r = aad(&h, &t, Method::GET, "users?$filter=nosuch eq 1", None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(
        r.json["odata.error"]["message"]["value"].as_str().expect("msg").contains("Microsoft.DirectoryServices"),
        "{}",
        r.text
    );
    let r = aad(&h, &t, Method::GET, "users?$skiptoken=X'00'", None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(code(&r), "Request_BadRequest");
}

#[tokio::test]
async fn addressing_api_version_metadata_and_media() {
    let h = Harness::new().await;
    let t = aad_token(&h).await;
    let tenant = h.boot.tenant_id.clone();
    // The identity platform keeps its routes.
    let r = h.graph_with(Method::GET, &format!("/{tenant}/v2.0/.well-known/openid-configuration"), None, "", &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(h.graph_with(Method::GET, "/healthz", None, "", &[]).await.status, StatusCode::OK);
    // Unknown segments without api-version are not 1.6 requests.
    let r = h.graph_with(Method::GET, &format!("/{tenant}/nothing/here"), None, &t, &[]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(!r.headers.contains_key("ocp-aad-session-key"));

    // api-version: required, one of the listed values.
    let r = h.graph_with(Method::GET, &format!("/{tenant}/users"), None, &t, &[]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(code(&r), "Request_DataContractVersionMissing", "{}", r.text);
    let r = h.graph_with(Method::GET, &format!("/{tenant}/users?api-version=2.0"), None, &t, &[]).await;
    assert_eq!(code(&r), "Request_InvalidDataContractVersion", "{}", r.text);
    for v in ["1.5", "2013-11-08", "2013-04-05", "beta"] {
        let r = h.graph_with(Method::GET, &format!("/{tenant}/users?api-version={v}"), None, &t, &[]).await;
        assert_eq!(r.status, StatusCode::OK, "{v}: {}", r.text);
    }

    // Tenant by verified domain; unknown domains; myorganization needs a delegated token.
    let r = h.graph_with(Method::GET, "/contoso.onmicrosoft.com/users?api-version=1.6", None, &t, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(
        r.json["odata.metadata"]
            .as_str()
            .expect("md")
            .contains("/contoso.onmicrosoft.com/$metadata#directoryObjects/Microsoft.DirectoryServices.User")
    );
    let r = h.graph_with(Method::GET, "/fabrikam.example/users?api-version=1.6", None, &t, &[]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json["odata.error"]["message"]["value"], "Invalid domain name in the request url.");
    let r = h.graph_with(Method::GET, "/myorganization/users?api-version=1.6", None, &t, &[]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = h.graph_with(Method::GET, "/me?api-version=1.6", None, &t, &[]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);

    // $metadata without a token.
    let r = h.graph_with(Method::GET, &format!("/{tenant}/$metadata?api-version=1.6"), None, "", &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.headers["content-type"].to_str().expect("ct").starts_with("application/xml"));
    assert!(r.text.contains("Namespace=\"Microsoft.DirectoryServices\""));
    assert!(r.text.contains("<EntityType Name=\"User\""));

    // JSON only.
    let r = h.graph_with(Method::GET, &url(&h, "users"), None, &t, &[("accept", "application/atom+xml")]).await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{}", r.text);
    assert!(r.json["odata.error"]["message"]["value"].as_str().expect("msg").contains("application/json"));
    let req = Request::builder()
        .method(Method::POST)
        .uri(url(&h, "users"))
        .header("authorization", format!("Bearer {t}"))
        .header("content-type", "application/atom+xml")
        .body(Body::from("<entry/>"))
        .expect("request");
    assert_eq!(h.send(req).await.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn tokens_and_permissions() {
    let h = Harness::new().await;
    // A Microsoft Graph token is for another resource.
    let r = aad(&h, &h.token.clone(), Method::GET, "users", None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    assert_eq!(code(&r), "Authentication_MissingOrMalformed");
    let r = aad(&h, "", Method::GET, "users", None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    // Directory.Read.All reads but does not write.
    let mut claims = h.claims(&["Directory.Read.All"]);
    claims["aud"] = json!("https://graph.windows.net");
    let reader = h.sign(claims).await;
    assert_eq!(aad(&h, &reader, Method::GET, "users", None).await.status, StatusCode::OK);
    let r = aad(&h, &reader, Method::POST, "users", Some(user_body("nope", "Nope"))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert_eq!(code(&r), "Authorization_RequestDenied");
    // A Microsoft Graph permission name means nothing here without the audience.
    let mut claims = h.claims(&["User.Read.All"]);
    claims["aud"] = json!("00000002-0000-0000-c000-000000000000");
    let other = h.sign(claims).await;
    assert_eq!(aad(&h, &other, Method::GET, "users", None).await.status, StatusCode::FORBIDDEN);
    let mut claims = h.claims(&["Group.Read.All"]);
    claims["aud"] = json!("https://graph.windows.net");
    let groups_only = h.sign(claims).await;
    assert_eq!(aad(&h, &groups_only, Method::GET, "groups", None).await.status, StatusCode::OK);
    assert_eq!(aad(&h, &groups_only, Method::GET, "users", None).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn tenant_roles_applications_and_grants() {
    let h = Harness::new().await;
    let t = aad_token(&h).await;
    let r = aad(&h, &t, Method::GET, "tenantDetails", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let detail = &r.json["value"][0];
    assert_eq!(detail["objectType"], "Company");
    assert_eq!(detail["objectId"], h.boot.tenant_id);
    assert_eq!(detail["verifiedDomains"][0]["name"], "contoso.onmicrosoft.com");
    assert_eq!(detail["verifiedDomains"][0]["initial"], true);

    let r = aad(&h, &t, Method::GET, "directoryRoles", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let role = &r.json["value"][0];
    assert_eq!(role["objectType"], "Role");
    assert_eq!(role["odata.type"], "Microsoft.DirectoryServices.DirectoryRole");
    let role_id = role["objectId"].as_str().expect("id").to_string();
    let r = aad(&h, &t, Method::GET, &format!("directoryRoles/{role_id}/members"), None).await;
    assert_eq!(r.json["value"][0]["userPrincipalName"], h.boot.admin_user_principal_name, "{}", r.text);

    let r = aad(&h, &t, Method::GET, &format!("servicePrincipals?$filter=appId eq '{}'", h.boot.client_id), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["value"][0]["objectType"], "ServicePrincipal");
    assert_eq!(r.json["value"][0]["appId"], h.boot.client_id);
    let r = aad(&h, &t, Method::GET, "servicePrincipals?$filter=appId eq '00000002-0000-0000-c000-000000000000'", None)
        .await;
    let perms = r.json["value"][0]["oauth2Permissions"].as_array().expect("oauth2Permissions");
    assert!(perms.iter().any(|p| p["value"] == "User.Read"), "{}", r.text);
    let r = aad(&h, &t, Method::GET, "applications", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.json["value"].as_array().expect("value").iter().any(|a| a["appId"] == h.boot.client_id));
    let r = aad(&h, &t, Method::GET, "oauth2PermissionGrants", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.json["odata.metadata"].as_str().expect("md").ends_with("$metadata#oauth2PermissionGrants"));
    let r = aad(&h, &t, Method::GET, &format!("directoryObjects/{role_id}"), None).await;
    assert_eq!(r.json["objectType"], "Role", "{}", r.text);
    // Domains and SKUs are served too (see aadgraph_tenant.rs and licences.rs).
    let r = aad(&h, &t, Method::GET, "domains", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = aad(&h, &t, Method::GET, "subscribedSkus", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(!r.json["value"].as_array().expect("skus").is_empty(), "{}", r.text);
}
