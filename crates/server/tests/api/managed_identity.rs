//! Managed identities: creation and host binding (`/cerulean/admin/...`), the App Service
//! token protocol (`IDENTITY_ENDPOINT` + `X-IDENTITY-HEADER`) and the IMDS shape
//! (`/metadata/identity/oauth2/token`, `--imds-host`), each error path included.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use cerulean::app::AppOptions;
use serde_json::{Value, json};

use crate::harness::{Harness, Reply, id_of};

const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";
const USER_READ_ALL_ROLE: &str = "df021288-bdef-4463-88db-98f22de89214";
const GRAPH: &str = "https://graph.microsoft.com";

fn claims_of(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("payload");
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).expect("b64"))
        .expect("json")
}

async fn create_identity(h: &Harness, body: Value) -> Value {
    let r = h.post("/cerulean/admin/managedIdentities", body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.json
}

async fn bind(h: &Harness, name: &str, identities: &[&str]) -> Reply {
    h.post("/cerulean/admin/managedIdentityHosts", json!({"name": name, "identities": identities})).await
}

async fn get_with(h: &Harness, path: &str, headers: &[(&str, &str)]) -> Reply {
    h.graph_with(Method::GET, path, None, "", headers).await
}

/// The App Service URL of a host's endpoint with `query`.
fn endpoint(host: &Value, query: &str) -> String {
    let url = host["environment"]["IDENTITY_ENDPOINT"].as_str().expect("endpoint");
    let path = url.strip_prefix(crate::harness::PUBLIC_URL).expect("public url");
    format!("{path}?{query}")
}

#[tokio::test]
async fn app_service_protocol_issues_app_tokens_with_the_identitys_roles() {
    let h = Harness::new().await;
    let system = create_identity(&h, json!({"name": "web-app", "type": "SystemAssigned"})).await;
    let user = create_identity(&h, json!({"name": "shared-uami"})).await;

    // They are service principals as Entra shows them.
    let sp = h.get(&format!("/v1.0/servicePrincipals/{}", id_of(&user))).await;
    assert_eq!(sp.status, StatusCode::OK, "{}", sp.text);
    assert_eq!(sp.json["servicePrincipalType"], "ManagedIdentity");
    assert_eq!(sp.json["appId"], user["appId"]);
    let names = sp.json["alternativeNames"].as_array().expect("alternativeNames");
    assert_eq!(names[0], "isExplicit=True");
    let res_id = names[1].as_str().expect("resource id").to_string();
    assert!(res_id.ends_with("/providers/Microsoft.ManagedIdentity/userAssignedIdentities/shared-uami"), "{res_id}");
    assert_eq!(system["alternativeNames"][0], "isExplicit=False");

    // Graph's User.Read.All for the user-assigned identity.
    let graph = h.get(&format!("/v1.0/servicePrincipals(appId='{GRAPH_APP_ID}')")).await;
    let graph_id = id_of(&graph.json);
    let r = h
        .post(
            &format!("/v1.0/servicePrincipals/{graph_id}/appRoleAssignedTo"),
            json!({"principalId": id_of(&user), "resourceId": graph_id, "appRoleId": USER_READ_ALL_ROLE}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);

    let host = bind(&h, "web1", &[&id_of(&system), user["appId"].as_str().expect("appId")]).await;
    assert_eq!(host.status, StatusCode::CREATED, "{}", host.text);
    let secret = host.json["identityHeader"].as_str().expect("secret").to_string();
    assert_eq!(secret.len(), 43, "256 bits, base64url");
    assert_eq!(host.json["environment"]["IDENTITY_HEADER"], secret.as_str());
    assert_eq!(host.json["environment"]["AZURE_POD_IDENTITY_AUTHORITY_HOST"], crate::harness::PUBLIC_URL);
    // The secret is never shown again.
    let hosts = h.get("/cerulean/admin/managedIdentityHosts").await;
    assert_eq!(hosts.status, StatusCode::OK, "{}", hosts.text);
    assert_eq!(hosts.json["value"][0]["name"], "web1");
    assert_eq!(hosts.json["value"][0]["identities"].as_array().map(Vec::len), Some(2));
    assert!(!hosts.text.contains(&secret));

    // No selector: the system-assigned identity, without roles.
    let header = [("X-IDENTITY-HEADER", secret.as_str())];
    let q = format!("resource={GRAPH}&api-version=2019-08-01");
    let r = get_with(&h, &endpoint(&host.json, &q), &header).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let keys: Vec<&str> = r.json.as_object().expect("object").keys().map(String::as_str).collect();
    assert_eq!(keys, ["access_token", "client_id", "expires_on", "resource", "token_type"]);
    assert_eq!(r.json["client_id"], system["appId"]);
    assert_eq!(r.json["resource"], GRAPH);
    assert_eq!(r.json["token_type"], "Bearer");
    let expires_on: i64 = r.json["expires_on"].as_str().expect("string").parse().expect("epoch");
    assert!(expires_on > time::OffsetDateTime::now_utc().unix_timestamp());
    let claims = claims_of(r.json["access_token"].as_str().expect("token"));
    assert_eq!(claims["oid"], id_of(&system).as_str());
    assert_eq!(claims["appid"], system["appId"]);
    assert_eq!(claims["aud"], GRAPH);
    assert_eq!(claims["idtyp"], "app");
    assert!(claims.get("roles").is_none_or(|r| r.as_array().is_some_and(Vec::is_empty)), "{claims}");

    // Each selector names the user-assigned identity; its token reads users.
    let user_oid = id_of(&user);
    let by = [
        format!("client_id={}", user["appId"].as_str().expect("appId")),
        format!("principal_id={user_oid}"),
        format!("object_id={user_oid}"),
        format!("mi_res_id={res_id}"),
    ];
    for selector in &by {
        let r = get_with(&h, &endpoint(&host.json, &format!("{q}&{selector}")), &header).await;
        assert_eq!(r.status, StatusCode::OK, "{selector}: {}", r.text);
        assert_eq!(r.json["client_id"], user["appId"], "{selector}");
        let token = r.json["access_token"].as_str().expect("token").to_string();
        assert_eq!(claims_of(&token)["roles"], json!(["User.Read.All"]));
        let users = h.graph_with(Method::GET, "/v1.0/users", None, &token, &[]).await;
        assert_eq!(users.status, StatusCode::OK, "{}", users.text);
    }
    // Azure AD Graph too, and an application's identifier URI.
    let r =
        get_with(&h, &endpoint(&host.json, "resource=https://graph.windows.net&api-version=2019-08-01"), &header).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(claims_of(r.json["access_token"].as_str().expect("token"))["aud"], "https://graph.windows.net");
    let api =
        h.post("/v1.0/applications", json!({"displayName": "Orders API", "identifierUris": ["api://orders"]})).await;
    let api_app_id = api.json["appId"].as_str().expect("appId").to_string();
    let r = get_with(&h, &endpoint(&host.json, "resource=api://orders&api-version=2019-08-01"), &header).await;
    // The API has no service principal in the tenant yet.
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.json["message"].as_str().expect("message").starts_with("AADSTS500011"), "{}", r.text);
    assert_eq!(h.post("/v1.0/servicePrincipals", json!({"appId": api_app_id})).await.status, StatusCode::CREATED);
    let r = get_with(&h, &endpoint(&host.json, "resource=api://orders&api-version=2019-08-01"), &header).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(claims_of(r.json["access_token"].as_str().expect("token"))["aud"], "api://orders");
}

#[tokio::test]
async fn app_service_errors_are_app_services() {
    let h = Harness::new().await;
    let a = create_identity(&h, json!({"name": "uami-a"})).await;
    let b = create_identity(&h, json!({"name": "uami-b"})).await;
    let host = bind(&h, "worker", &[&id_of(&a), &id_of(&b)]).await.json;
    let secret = host["identityHeader"].as_str().expect("secret").to_string();
    let header = [("X-IDENTITY-HEADER", secret.as_str())];
    let q = format!("resource={GRAPH}&api-version=2019-08-01");
    let is_app_service_error = |r: &Reply, status: StatusCode| {
        assert_eq!(r.status, status, "{}", r.text);
        assert_eq!(r.json["statusCode"], status.as_u16());
        assert!(r.json["correlationId"].is_string(), "{}", r.text);
        r.json["message"].as_str().expect("message").to_string()
    };

    // No header, a wrong one.
    is_app_service_error(&get_with(&h, &endpoint(&host, &q), &[]).await, StatusCode::UNAUTHORIZED);
    let wrong = [("X-IDENTITY-HEADER", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")];
    is_app_service_error(&get_with(&h, &endpoint(&host, &q), &wrong).await, StatusCode::UNAUTHORIZED);
    // Two user-assigned identities and no selector.
    let m = is_app_service_error(&get_with(&h, &endpoint(&host, &q), &header).await, StatusCode::BAD_REQUEST);
    assert_eq!(m, "Unable to load the proper Managed Identity.");
    // An identity not bound to the host.
    let other = create_identity(&h, json!({"name": "uami-c"})).await;
    let path = endpoint(&host, &format!("{q}&client_id={}", other["appId"].as_str().expect("appId")));
    let m = is_app_service_error(&get_with(&h, &path, &header).await, StatusCode::BAD_REQUEST);
    assert_eq!(m, "Unable to load the proper Managed Identity.");
    // Two selectors.
    let path = endpoint(&host, &format!("{q}&client_id={}&object_id={}", a["appId"].as_str().expect("id"), id_of(&a)));
    is_app_service_error(&get_with(&h, &path, &header).await, StatusCode::BAD_REQUEST);
    // api-version and resource.
    let path = endpoint(&host, &format!("resource={GRAPH}&client_id={}", id_of(&a)));
    is_app_service_error(&get_with(&h, &path, &header).await, StatusCode::BAD_REQUEST);
    let path = endpoint(&host, &format!("resource={GRAPH}&api-version=2017-09-01&object_id={}", id_of(&a)));
    is_app_service_error(&get_with(&h, &path, &header).await, StatusCode::BAD_REQUEST);
    let path = endpoint(&host, &format!("api-version=2019-08-01&object_id={}", id_of(&a)));
    is_app_service_error(&get_with(&h, &path, &header).await, StatusCode::BAD_REQUEST);
    // A resource no application holds.
    let path = endpoint(&host, &format!("resource=api://nobody&api-version=2019-08-01&object_id={}", id_of(&a)));
    let m = is_app_service_error(&get_with(&h, &path, &header).await, StatusCode::BAD_REQUEST);
    assert!(m.starts_with("AADSTS500011"), "{m}");
    // The selected identity works.
    let ok = endpoint(&host, &format!("{q}&object_id={}", id_of(&a)));
    assert_eq!(get_with(&h, &ok, &header).await.status, StatusCode::OK);
    // Another tenant's path or an unknown host.
    let unknown = ok.replace(host["id"].as_str().expect("id"), &uuid::Uuid::new_v4().to_string());
    is_app_service_error(&get_with(&h, &unknown, &header).await, StatusCode::NOT_FOUND);
    // Unbound: the secret no longer works.
    let r = h.delete(&format!("/cerulean/admin/managedIdentityHosts/{}", host["id"].as_str().expect("id"))).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    is_app_service_error(&get_with(&h, &ok, &header).await, StatusCode::NOT_FOUND);
    assert_eq!(h.delete("/cerulean/admin/managedIdentityHosts/worker").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn administration_is_validated_and_for_administrators_only() {
    let h = Harness::new().await;
    let reader = h.sign(h.claims(&["User.Read.All"])).await;
    let r = h.graph_with(Method::GET, "/cerulean/admin/managedIdentities", None, &reader, &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r =
        h.graph_with(Method::POST, "/cerulean/admin/managedIdentities", Some(json!({"name": "x"})), &reader, &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r = h.graph_with(Method::POST, "/cerulean/admin/managedIdentityHosts", Some(json!({})), &reader, &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);

    for bad in [
        json!({}),
        json!({"name": "has space"}),
        json!({"name": "x", "type": "Both"}),
        json!({"name": "x", "resourceId": "not-arm"}),
    ] {
        let r = h.post("/cerulean/admin/managedIdentities", bad.clone()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.text);
    }
    let res = "/subscriptions/1/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/one";
    let one = create_identity(&h, json!({"name": "one", "resourceId": res})).await;
    assert_eq!(one["alternativeNames"][1], res);
    // The same resource id twice.
    let r = h.post("/cerulean/admin/managedIdentities", json!({"name": "one", "resourceId": res})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let list = h.get("/cerulean/admin/managedIdentities").await;
    assert_eq!(list.json["value"].as_array().map(Vec::len), Some(1));

    assert_eq!(bind(&h, "h1", &[]).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(bind(&h, "h1", &["no-such-identity"]).await.status, StatusCode::NOT_FOUND);
    assert_eq!(bind(&h, "bad name", &[res]).await.status, StatusCode::BAD_REQUEST);
    let r = h.post("/cerulean/admin/managedIdentityHosts", json!({"name": "h1", "identities": "one"})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(bind(&h, "h1", &[res]).await.status, StatusCode::CREATED);
    assert_eq!(bind(&h, "H1", &[res]).await.status, StatusCode::BAD_REQUEST, "host names are unique");
}

async fn imds(h: &Harness, query: &str, headers: &[(&str, &str)], peer: Option<&str>) -> Reply {
    let mut b = Request::builder().method(Method::GET).uri(format!("/metadata/identity/oauth2/token?{query}"));
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let mut req = b.body(Body::empty()).expect("request");
    if let Some(peer) = peer {
        let addr: std::net::SocketAddr = peer.parse().expect("addr");
        req.extensions_mut().insert(axum::extract::ConnectInfo(addr));
    }
    h.send(req).await
}

#[tokio::test]
async fn imds_answers_for_the_configured_host_to_loopback_callers() {
    let options = AppOptions { imds_host: Some("vm1".into()), ..AppOptions::default() };
    let h = Harness::with_options("contoso.onmicrosoft.com", options).await;
    let meta = [("Metadata", "true")];
    let q = format!("api-version=2018-02-01&resource={GRAPH}");
    // The host does not exist yet.
    let r = imds(&h, &q, &meta, None).await;
    assert_eq!((r.status, r.json["error_description"].as_str()), (StatusCode::BAD_REQUEST, Some("Identity not found")));

    let system = create_identity(&h, json!({"name": "vm1", "type": "SystemAssigned"})).await;
    let user = create_identity(&h, json!({"name": "vm-uami"})).await;
    let res_id = user["alternativeNames"][1].as_str().expect("res id").to_string();
    assert_eq!(bind(&h, "vm1", &[&id_of(&system), &id_of(&user)]).await.status, StatusCode::CREATED);

    let r = imds(&h, &q, &meta, Some("127.0.0.1:50000")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // msal-node (JavaScript's ManagedIdentityCredential) asks with a trailing slash.
    let slash = Request::get(format!("/metadata/identity/oauth2/token/?{q}"))
        .header("Metadata", "true")
        .body(Body::empty())
        .expect("request");
    let r2 = h.send(slash).await;
    assert_eq!(r2.status, StatusCode::OK, "{}", r2.text);
    assert!(r2.json["access_token"].is_string(), "{}", r2.text);
    for k in [
        "access_token",
        "client_id",
        "expires_in",
        "expires_on",
        "ext_expires_in",
        "not_before",
        "resource",
        "token_type",
    ] {
        assert!(r.json.get(k).is_some(), "{k}: {}", r.text);
    }
    assert_eq!(r.json["client_id"], system["appId"]);
    assert_eq!(r.json["expires_in"].as_str().map(|s| s.parse::<i64>().is_ok()), Some(true));
    assert_eq!(claims_of(r.json["access_token"].as_str().expect("token"))["oid"], id_of(&system).as_str());
    for selector in [
        format!("client_id={}", user["appId"].as_str().expect("id")),
        format!("object_id={}", id_of(&user)),
        format!("msi_res_id={res_id}"),
        format!("mi_res_id={res_id}"),
    ] {
        let r = imds(&h, &format!("{q}&{selector}"), &meta, None).await;
        assert_eq!(r.status, StatusCode::OK, "{selector}: {}", r.text);
        assert_eq!(r.json["client_id"], user["appId"], "{selector}");
    }

    // The Metadata header, as IMDS requires it (SSRF mitigation).
    for headers in [&[][..], &[("Metadata", "True")][..], &[("Metadata", "false")][..]] {
        let r = imds(&h, &q, headers, None).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
        assert_eq!(r.json["error"], "bad_request_102");
        assert_eq!(r.json["error_description"], "Required metadata header not specified");
    }
    // Proxied or remote callers.
    let r = imds(&h, &q, &[("Metadata", "true"), ("X-Forwarded-For", "10.0.0.1")], None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = imds(&h, &q, &meta, Some("192.0.2.7:40000")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    // api-version, resource, an unknown identity, two selectors, an unknown resource.
    let r = imds(&h, &format!("resource={GRAPH}"), &meta, None).await;
    assert_eq!((r.status, r.json["error"].as_str()), (StatusCode::BAD_REQUEST, Some("bad_request_102")));
    let r = imds(&h, "api-version=2018-02-01", &meta, None).await;
    assert_eq!(r.json["error_description"], "Required audience parameter not specified");
    let r = imds(&h, &format!("{q}&client_id={}", uuid::Uuid::new_v4()), &meta, None).await;
    assert_eq!((r.status, r.json["error_description"].as_str()), (StatusCode::BAD_REQUEST, Some("Identity not found")));
    let r = imds(&h, &format!("{q}&object_id={}&msi_res_id={res_id}", id_of(&user)), &meta, None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = imds(&h, "api-version=2018-02-01&resource=api://nobody", &meta, None).await;
    assert_eq!((r.status, r.json["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_resource")));
    assert!(r.json["error_description"].as_str().expect("d").starts_with("AADSTS500011"), "{}", r.text);
}

#[tokio::test]
async fn imds_without_a_system_identity_needs_a_selector_among_several() {
    let options = AppOptions { imds_host: Some("contoso.onmicrosoft.com/vm2".into()), ..AppOptions::default() };
    let h = Harness::with_options("contoso.onmicrosoft.com", options).await;
    let a = create_identity(&h, json!({"name": "a"})).await;
    let b = create_identity(&h, json!({"name": "b"})).await;
    assert_eq!(bind(&h, "vm2", &[&id_of(&a), &id_of(&b)]).await.status, StatusCode::CREATED);
    let meta = [("Metadata", "true")];
    let r = imds(&h, &format!("api-version=2018-02-01&resource={GRAPH}"), &meta, None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.json["error_description"].as_str().expect("d").starts_with("Multiple user assigned identities exist"));
    let r = imds(&h, &format!("api-version=2018-02-01&resource={GRAPH}&object_id={}", id_of(&b)), &meta, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["client_id"], b["appId"]);
}

#[tokio::test]
async fn the_command_line_creates_binds_and_unbinds() {
    use cerulean::cli::{ManagedIdentityAction, ManagedIdentityArgs};
    let h = Harness::new().await;
    let args = |action| ManagedIdentityArgs {
        data_dir: h.dir.clone(),
        database_url: h.database_url(),
        tenant: None,
        public_url: crate::harness::PUBLIC_URL.into(),
        action,
    };
    let run = |action| {
        let a = args(action);
        async move { cerulean::managed_identity::run(&a).await }
    };
    let out = run(ManagedIdentityAction::Create { name: "cli-vm".into(), system_assigned: true, resource_id: None })
        .await
        .expect("create");
    assert!(out.contains("created managed identity cli-vm"), "{out}");
    let listed = run(ManagedIdentityAction::List).await.expect("list");
    assert!(listed.contains("cli-vm") && listed.contains("Microsoft.Compute/virtualMachines/cli-vm"), "{listed}");
    let err = run(ManagedIdentityAction::Bind { host: "h".into(), identities: vec!["nobody".into()] }).await;
    assert!(err.is_err());

    let out = run(ManagedIdentityAction::Bind { host: "cli-host".into(), identities: vec!["cli-vm".into()] }).await;
    // Identities are named by object id, client id or resource id, not display name.
    assert!(out.is_err());
    let identity = h.get("/cerulean/admin/managedIdentities").await.json["value"][0].clone();
    let out = run(ManagedIdentityAction::Bind { host: "cli-host".into(), identities: vec![id_of(&identity)] })
        .await
        .expect("bind");
    let var = |name: &str| {
        out.lines()
            .find_map(|l| l.trim().strip_prefix(&format!("export {name}=")))
            .unwrap_or_else(|| panic!("{name} in {out}"))
            .to_string()
    };
    let endpoint = var("IDENTITY_ENDPOINT");
    let secret = var("IDENTITY_HEADER");
    let path = endpoint.strip_prefix(crate::harness::PUBLIC_URL).expect("public url");
    let q = format!("{path}?resource={GRAPH}&api-version=2019-08-01");
    let r = get_with(&h, &q, &[("X-IDENTITY-HEADER", &secret)]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["client_id"], identity["appId"]);
    let hosts = run(ManagedIdentityAction::Hosts).await.expect("hosts");
    assert!(hosts.contains("cli-host") && !hosts.contains(&secret), "{hosts}");
    run(ManagedIdentityAction::Unbind { host: "cli-host".into() }).await.expect("unbind");
    assert_eq!(get_with(&h, &q, &[("X-IDENTITY-HEADER", &secret)]).await.status, StatusCode::NOT_FOUND);
    assert!(run(ManagedIdentityAction::Unbind { host: "cli-host".into() }).await.is_err());
}

/// An exported tenant with managed identities imports into an empty store (they have no
/// application to be created from) and exports the same again; host secrets are not exported.
#[tokio::test]
async fn managed_identities_survive_export_and_import() {
    use cerulean::fixture::{export_from, import_into};
    let h = Harness::new().await;
    let mi = create_identity(&h, json!({"name": "exported-uami"})).await;
    let graph = h.get(&format!("/v1.0/servicePrincipals(appId='{GRAPH_APP_ID}')")).await;
    let graph_id = id_of(&graph.json);
    let r = h
        .post(
            &format!("/v1.0/servicePrincipals/{graph_id}/appRoleAssignedTo"),
            json!({"principalId": id_of(&mi), "resourceId": graph_id, "appRoleId": USER_READ_ALL_ROLE}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let host = bind(&h, "exported-host", &[&id_of(&mi)]).await.json;
    let secret = host["identityHeader"].as_str().expect("secret").to_string();

    let first = export_from(&h.app, h.store.as_ref(), None).await.expect("export");
    assert!(!first.to_string().contains(&secret));
    let dir = std::env::temp_dir().join(format!("cerulean-test-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("dir");
    let (store, _db) = crate::harness::open_store(&dir).await;
    let app = cerulean::app::App::new(store.clone(), crate::harness::PUBLIC_URL);
    import_into(&app, store.as_ref(), &dir, &first, None, "ignored.onmicrosoft.com").await.expect("import");
    let second = export_from(&app, store.as_ref(), None).await.expect("export again");
    assert_eq!(first, second);
    let tenant = h.tenant();
    let imported = app.directory.find_managed_identity(tenant, &id_of(&mi)).await.expect("imported identity");
    assert_eq!(imported.doc["servicePrincipalType"], "ManagedIdentity");
    assert_eq!(imported.doc["appId"], mi["appId"]);
    let _ = std::fs::remove_dir_all(&dir);
}
