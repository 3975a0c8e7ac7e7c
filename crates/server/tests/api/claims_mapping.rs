//! Claims mapping policies (`/policies/claimsMappingPolicies`): CRUD, the checks on Entra's
//! JSON-in-a-string `definition` (unknown sources and IDs, restricted claim types and inert
//! definitions are refused), assignment to service principals (one per service principal),
//! and the claims of the tokens then issued: mapped claims, the basic claim set dropped,
//! AADSTS50146 without `acceptMappedClaims`, AADSTS501461 for an audience outside the tenant's
//! verified domains. Claims transformations (`Join`, `ExtractMailPrefix`, `ToLowercase`,
//! `ToUppercase`, `RegexReplace`, `TreatAsMultiValue`), `GroupFilter` on the `groups` claim,
//! and managed identity tokens under the resource's policies. Also token lifetime policies
//! assigned to service principals and the precedence Entra documents (service principal,
//! organization default, application).

use axum::http::{Method, StatusCode};
use cerulean_identity::tokens::ISSUED_AT_BACKDATE_SECS;
use serde_json::{Value, json};

use crate::harness::{Harness, Reply, id_of};
use crate::token_versions::{claims, confidential_client, grant, ropc, web_api};

const SET: &str = "/v1.0/policies/claimsMappingPolicies";
const WRITE: &str = "Policy.ReadWrite.ApplicationConfiguration";

fn definition(inner: &str) -> Value {
    json!([format!(r#"{{"ClaimsMappingPolicy":{{"Version":1,{inner}}}}}"#)])
}

fn body(name: &str, inner: &str) -> Value {
    json!({"displayName": name, "definition": definition(inner)})
}

const EMPLOYEE: &str = r#""IncludeBasicClaimSet":"false","ClaimsSchema":[{"Source":"user","ID":"employeeid","SamlClaimType":"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/employeeid","JwtClaimType":"employee_id"},{"Source":"user","ID":"department","JwtClaimType":"dept"},{"Value":"sandbox","JwtClaimType":"env"},{"Source":"application","ID":"displayname","JwtClaimType":"client_name"},{"Source":"audience","ID":"objectid","JwtClaimType":"audience_oid"}]"#;

async fn create(h: &Harness, name: &str, inner: &str) -> String {
    let writer = h.sign(h.claims(&[WRITE])).await;
    let r = h.graph_with(Method::POST, SET, Some(body(name, inner)), &writer, &[]).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    id_of(&r.json)
}

fn reference(set: &str, id: &str) -> Value {
    json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/policies/{set}/{id}")})
}

async fn assign(h: &Harness, sp: &str, policy: &str) -> Reply {
    h.post(
        &format!("/v1.0/servicePrincipals/{sp}/claimsMappingPolicies/$ref"),
        reference("claimsMappingPolicies", policy),
    )
    .await
}

async fn app_token(h: &Harness, client_id: &str, secret: &str, scope: &str) -> Reply {
    h.form(
        &format!("/{}/oauth2/v2.0/token", h.boot.tenant_id),
        &[("grant_type", "client_credentials"), ("client_id", client_id), ("client_secret", secret), ("scope", scope)],
        None,
    )
    .await
}

/// Sets `api.acceptMappedClaims` on the application, keeping the rest of `api`.
async fn accept_mapped_claims(h: &Harness, app_oid: &str, accept: bool) {
    let app = h.get(&format!("/v1.0/applications/{app_oid}")).await;
    let mut api = app.json["api"].clone();
    api["acceptMappedClaims"] = json!(accept);
    let r = h.patch(&format!("/v1.0/applications/{app_oid}"), json!({"api": api})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
}

fn error_code(r: &Reply) -> Value {
    r.json["error_codes"][0].clone()
}

#[tokio::test]
async fn claims_mapping_policies_are_created_read_updated_and_deleted() {
    let h = Harness::new().await;
    let writer = h.sign(h.claims(&[WRITE])).await;
    let r = h.graph_with(Method::POST, SET, Some(body("Employee claims", EMPLOYEE)), &writer, &[]).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = id_of(&r.json);
    assert_eq!(r.json["isOrganizationDefault"], false);
    assert!(
        r.json["@odata.context"].as_str().is_some_and(|c| c.ends_with("policies/claimsMappingPolicies/$entity")),
        "{}",
        r.text
    );
    // Policy.Read.All (the bootstrap app) reads.
    let r = h.get(&format!("{SET}/{id}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["definition"], definition(EMPLOYEE));
    let r = h.get(SET).await;
    assert_eq!(r.json["value"].as_array().map(Vec::len), Some(1), "{}", r.text);
    // The token lifetime set does not list it.
    let r = h.get("/v1.0/policies/tokenLifetimePolicies").await;
    assert_eq!(r.json["value"], json!([]), "{}", r.text);

    let patch =
        json!({"definition": definition(r#""IncludeBasicClaimSet":"false""#), "displayName": "No basic claims"});
    let r = h.graph_with(Method::PATCH, &format!("{SET}/{id}"), Some(patch), &writer, &[]).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = h.get(&format!("{SET}/{id}")).await;
    assert_eq!(r.json["displayName"], "No basic claims");

    // Policy.Read.All does not write; an unrelated permission does not read.
    let r = h.post(SET, body("reader", EMPLOYEE)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let stranger = h.sign(h.claims(&["User.Read.All"])).await;
    let r = h.graph_with(Method::GET, SET, None, &stranger, &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);

    let r = h.graph_with(Method::DELETE, &format!("{SET}/{id}"), None, &writer, &[]).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = h.get(&format!("{SET}/{id}")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
}

#[tokio::test]
async fn definitions_that_would_not_apply_are_refused() {
    let h = Harness::new().await;
    let writer = h.sign(h.claims(&[WRITE])).await;
    let entry = |e: &str| format!(r#""ClaimsSchema":[{e}]"#);
    let cases = [
        (json!([]), "exactly one".to_string()),
        (json!(["{"]), "not valid JSON".into()),
        (json!([r#"{"TokenLifetimePolicy":{"Version":1}}"#]), "'ClaimsMappingPolicy'".into()),
        (
            json!([r#"{"ClaimsMappingPolicy":{"Version":2,"IncludeBasicClaimSet":"false"}}"#]),
            "'Version' must be 1".into(),
        ),
        (definition(r#""IncludeBasicClaimSet":"true""#), "changes no JSON web token".into()),
        (
            definition(&entry(r#"{"Source":"user","ID":"mail","SamlClaimType":"http://x/mail"}"#)),
            "changes no JSON web token".into(),
        ),
        (
            definition(&entry(r#"{"Source":"user","ID":"shoesize","JwtClaimType":"s"}"#)),
            "'shoesize' is not an ID".into(),
        ),
        (definition(&entry(r#"{"Source":"device","ID":"objectid","JwtClaimType":"s"}"#)), "Source 'device'".into()),
        (definition(&entry(r#"{"Source":"company","ID":"displayname","JwtClaimType":"s"}"#)), "not an ID".into()),
        (definition(&entry(r#"{"Source":"user","ID":"mail","JwtClaimType":"upn"}"#)), "restricted claim set".into()),
        (definition(&entry(r#"{"Source":"user","ID":"mail","JwtClaimType":"xms_cc"}"#)), "restricted claim set".into()),
        (
            definition(&entry(r#"{"Source":"user","ExtensionID":"costCenter","JwtClaimType":"cc"}"#)),
            "ExtensionID".into(),
        ),
        (definition(&entry(r#"{"JwtClaimType":"x"}"#)), "must name its data".into()),
        (definition(&entry(r#"{"Value":"a"}"#)), "'JwtClaimType' or 'SamlClaimType'".into()),
        (definition(&entry(r#"{"Value":"a","JwtClaimType":"x","Colour":"red"}"#)), "'Colour' is not supported".into()),
        (
            definition(&entry(r#"{"Value":"a","JwtClaimType":"x"},{"Value":"b","JwtClaimType":"x"}"#)),
            "more than once".into(),
        ),
        (
            definition(&entry(r#"{"Source":"transformation","ID":"out","TransformationId":"t1","JwtClaimType":"x"}"#)),
            "names no claims transformation".into(),
        ),
        (
            definition(
                r#""IncludeBasicClaimSet":"false","ClaimsTransformation":[{"ID":"t","TransformationMethod":"Reverse"}]"#,
            ),
            "not one of Join, ExtractMailPrefix".into(),
        ),
        (
            definition(r#""IncludeBasicClaimSet":"false","GroupFilter":{"MatchOn":"displayname"}"#),
            "'GroupFilter': 'Type' is required".into(),
        ),
        (definition(r#""IncludeBasicClaimSet":"false","audienceOverride":"https://x""#), "signing key".into()),
        (definition(r#""IncludeBasicClaimSet":"sometimes""#), "\"true\" or \"false\"".into()),
    ];
    for (def, message) in cases {
        let b = json!({"displayName": "bad", "definition": def});
        let r = h.graph_with(Method::POST, SET, Some(b), &writer, &[]).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{def}: {}", r.text);
        assert_eq!(r.code(), "Request_BadRequest", "{}", r.text);
        assert!(r.message().contains(&message), "{def}: {}", r.text);
    }
    // A claims mapping policy is never the organization default.
    let mut b = body("default", EMPLOYEE);
    b["isOrganizationDefault"] = json!(true);
    let r = h.graph_with(Method::POST, SET, Some(b), &writer, &[]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.message().contains("organization default"), "{}", r.text);
    // A PATCH is checked against the merged policy and changes nothing when refused.
    let id = create(&h, "ok", EMPLOYEE).await;
    let patch = json!({"definition": definition(r#""IncludeBasicClaimSet":"true""#)});
    let r = h.graph_with(Method::PATCH, &format!("{SET}/{id}"), Some(patch), &writer, &[]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = h.get(&format!("{SET}/{id}")).await;
    assert_eq!(r.json["definition"], definition(EMPLOYEE));
}

#[tokio::test]
async fn one_claims_mapping_policy_per_service_principal() {
    let h = Harness::new().await;
    let (_, _, api_sp) = web_api(&h, Some(2)).await;
    let first = create(&h, "first", EMPLOYEE).await;
    let second = create(&h, "second", r#""IncludeBasicClaimSet":"false""#).await;
    let r = assign(&h, &api_sp, &first).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let refs = format!("/v1.0/servicePrincipals/{api_sp}/claimsMappingPolicies");
    let r = h.get(&refs).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["value"].as_array().map(Vec::len), Some(1), "{}", r.text);
    assert_eq!(r.json["value"][0]["id"], first.as_str());
    assert_eq!(r.json["value"][0]["@odata.type"], "#microsoft.graph.claimsMappingPolicy");
    let r = h.get(&format!("{SET}/{first}/appliesTo")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["value"][0]["id"], api_sp.as_str(), "{}", r.text);
    assert_eq!(r.json["value"][0]["@odata.type"], "#microsoft.graph.servicePrincipal", "{}", r.text);

    // A second policy, the same one again, a token lifetime policy's id, a missing one.
    let r = assign(&h, &api_sp, &second).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.message().contains("already has a claims mapping policy"), "{}", r.text);
    let r = assign(&h, &api_sp, &first).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let writer = h.sign(h.claims(&[WRITE])).await;
    let tlp = json!({"displayName": "t", "definition": [r#"{"TokenLifetimePolicy":{"Version":1,"AccessTokenLifetime":"01:00:00"}}"#]});
    let r = h.graph_with(Method::POST, "/v1.0/policies/tokenLifetimePolicies", Some(tlp), &writer, &[]).await;
    let r = assign(&h, &api_sp, &id_of(&r.json)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let r = assign(&h, &api_sp, &uuid::Uuid::new_v4().to_string()).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let r = assign(&h, &uuid::Uuid::new_v4().to_string(), &second).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);

    // Each side of "AlsoRequires" alone is refused.
    for only in [WRITE, "Application.ReadWrite.All"] {
        let token = h.sign(h.claims(&[only])).await;
        let r = h.graph_with(Method::GET, &refs, None, &token, &[]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{only}: {}", r.text);
        let r = h.graph_with(Method::DELETE, &format!("{refs}/{first}/$ref"), None, &token, &[]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{only}: {}", r.text);
    }

    let r = h.delete(&format!("{refs}/{first}/$ref")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = h.delete(&format!("{refs}/{first}/$ref")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let r = assign(&h, &api_sp, &second).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = h.get(&format!("{SET}/{first}/appliesTo")).await;
    assert_eq!(r.json["value"], json!([]), "{}", r.text);
}

#[tokio::test]
async fn tokens_for_the_resource_carry_the_mapped_claims() {
    let h = Harness::new().await;
    let (api_app_id, api_oid, api_sp) = web_api(&h, Some(2)).await;
    let (client_id, secret, client_sp) = confidential_client(&h, "Orders portal").await;
    grant(&h, &client_sp, &api_sp, "access_as_user").await;
    let user = h.user("adele", "Adele Vance").await;
    let r =
        h.patch(&format!("/v1.0/users/{}", id_of(&user)), json!({"employeeId": "E-1042", "department": "Sales"})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let upn = "adele@contoso.onmicrosoft.com";
    let scope = format!("{api_app_id}/access_as_user");
    let app_scope = format!("{api_app_id}/.default");

    // Without a policy: the basic claim set, nothing mapped.
    let r = ropc(&h, &client_id, &secret, upn, &scope).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let c = claims(r.json["access_token"].as_str().unwrap_or_default(), 1);
    assert_eq!(c["name"], "Adele Vance");
    assert!(c.get("employee_id").is_none(), "{c}");

    let policy = create(&h, "Employee claims", EMPLOYEE).await;
    let r = assign(&h, &api_sp, &policy).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);

    // The API does not accept mapped claims: Entra refuses the token.
    let r = ropc(&h, &client_id, &secret, upn, &scope).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.json["error"], "invalid_request", "{}", r.text);
    assert_eq!(error_code(&r), 50146, "{}", r.text);
    assert!(r.json["error_description"].as_str().is_some_and(|d| d.starts_with("AADSTS50146:")), "{}", r.text);
    let r = app_token(&h, &client_id, &secret, &app_scope).await;
    assert_eq!(error_code(&r), 50146, "{}", r.text);

    accept_mapped_claims(&h, &api_oid, true).await;
    let r = ropc(&h, &client_id, &secret, upn, &scope).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let c = claims(r.json["access_token"].as_str().unwrap_or_default(), 1);
    assert_eq!(c["employee_id"], "E-1042", "{c}");
    assert_eq!(c["dept"], "Sales", "{c}");
    assert_eq!(c["env"], "sandbox", "{c}");
    assert_eq!(c["client_name"], "Orders portal", "{c}");
    assert_eq!(c["audience_oid"], api_sp.as_str(), "{c}");
    // IncludeBasicClaimSet false: the basic claims go, the restricted ones stay.
    assert!(c.get("name").is_none(), "{c}");
    assert_eq!(c["oid"], id_of(&user).as_str());
    assert_eq!(c["preferred_username"], upn);
    assert_eq!(c["scp"], "access_as_user");
    // An app-only token carries what the policy can fill without a user.
    let r = app_token(&h, &client_id, &secret, &app_scope).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let c = claims(r.json["access_token"].as_str().unwrap_or_default(), 1);
    assert_eq!(c["env"], "sandbox", "{c}");
    assert_eq!(c["client_name"], "Orders portal", "{c}");
    assert!(c.get("employee_id").is_none() && c.get("dept").is_none(), "{c}");
    // Tokens for other resources are untouched.
    let graph = h.get("/v1.0/servicePrincipals(appId='00000003-0000-0000-c000-000000000000')").await;
    grant(&h, &client_sp, &id_of(&graph.json), "User.Read").await;
    let r = ropc(&h, &client_id, &secret, upn, "https://graph.microsoft.com/User.Read").await;
    let c = claims(r.json["access_token"].as_str().unwrap_or_default(), 1);
    assert_eq!(c["name"], "Adele Vance", "{c}");
    assert!(c.get("env").is_none(), "{c}");

    // acceptMappedClaims needs the app's GUID or a verified domain as the identifier asked for.
    let r = app_token(&h, &client_id, &secret, &format!("api://{api_app_id}/.default")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(error_code(&r), 501461, "{}", r.text);
    let app = h.get(&format!("/v1.0/applications/{api_oid}")).await;
    let mut uris = app.json["identifierUris"].clone();
    if let Some(list) = uris.as_array_mut() {
        list.push(json!("https://contoso.onmicrosoft.com/orders"));
    }
    let r = h.patch(&format!("/v1.0/applications/{api_oid}"), json!({"identifierUris": uris})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = app_token(&h, &client_id, &secret, "https://contoso.onmicrosoft.com/orders/.default").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    // Unassigned: the token is as before.
    let r = h.delete(&format!("/v1.0/servicePrincipals/{api_sp}/claimsMappingPolicies/{policy}/$ref")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = ropc(&h, &client_id, &secret, upn, &scope).await;
    let c = claims(r.json["access_token"].as_str().unwrap_or_default(), 1);
    assert_eq!(c["name"], "Adele Vance", "{c}");
    assert!(c.get("employee_id").is_none(), "{c}");
}

#[tokio::test]
async fn id_tokens_follow_the_clients_policy() {
    let h = Harness::new().await;
    let (client_id, secret, client_sp) = confidential_client(&h, "Web app").await;
    let graph = h.get("/v1.0/servicePrincipals(appId='00000003-0000-0000-c000-000000000000')").await;
    grant(&h, &client_sp, &id_of(&graph.json), "User.Read").await;
    let user = h.user("megan", "Megan Bowen").await;
    let r = h.patch(&format!("/v1.0/users/{}", id_of(&user)), json!({"jobTitle": "Auditor"})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let policy = create(
        &h,
        "Job title",
        r#""IncludeBasicClaimSet":"true","ClaimsSchema":[{"Source":"user","ID":"jobtitle","JwtClaimType":"job"},{"Source":"user","ID":"userprincipalname","JwtClaimType":"name"}]"#,
    )
    .await;
    let r = assign(&h, &client_sp, &policy).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let upn = "megan@contoso.onmicrosoft.com";
    let scope = "https://graph.microsoft.com/User.Read openid";
    let r = ropc(&h, &client_id, &secret, upn, scope).await;
    assert_eq!(error_code(&r), 50146, "{}", r.text);
    // Without `openid` no ID token is issued, so the client's policy does not apply.
    let r = ropc(&h, &client_id, &secret, upn, "https://graph.microsoft.com/User.Read").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    let app = h.get(&format!("/v1.0/applications(appId='{client_id}')")).await;
    accept_mapped_claims(&h, &id_of(&app.json), true).await;
    let r = ropc(&h, &client_id, &secret, upn, scope).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let id = claims(r.json["id_token"].as_str().unwrap_or_default(), 1);
    assert_eq!(id["job"], "Auditor", "{id}");
    // A basic claim can be given another source.
    assert_eq!(id["name"], upn, "{id}");
    // The access token is for Microsoft Graph, whose service principal has no policy.
    let c = claims(r.json["access_token"].as_str().unwrap_or_default(), 1);
    assert!(c.get("job").is_none(), "{c}");
    assert_eq!(c["name"], "Megan Bowen", "{c}");
}

fn span(token: &str) -> i64 {
    let c = claims(token, 1);
    c["exp"].as_i64().unwrap_or_default() - c["iat"].as_i64().unwrap_or_default() - ISSUED_AT_BACKDATE_SECS
}

#[tokio::test]
async fn token_lifetime_policies_on_service_principals_take_precedence() {
    let h = Harness::new().await;
    let writer = h.sign(h.claims(&[WRITE])).await;
    let (api_app_id, api_oid, api_sp) = web_api(&h, Some(2)).await;
    let (client_id, secret, _) = confidential_client(&h, "Worker").await;
    let scope = format!("{api_app_id}/.default");
    let lifetime = |name: &str, span: &str, default: bool| {
        json!({
            "displayName": name,
            "definition": [format!(r#"{{"TokenLifetimePolicy":{{"Version":1,"AccessTokenLifetime":"{span}"}}}}"#)],
            "isOrganizationDefault": default,
        })
    };
    let tlp = "/v1.0/policies/tokenLifetimePolicies";
    let mut ids = Vec::new();
    for (name, span, default) in [("app", "00:20:00", false), ("sp", "00:40:00", false), ("org", "02:00:00", true)] {
        let r = h.graph_with(Method::POST, tlp, Some(lifetime(name, span, default)), &writer, &[]).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        ids.push(id_of(&r.json));
    }
    let expires = |r: &Reply| r.json["expires_in"].as_i64().unwrap_or_default();

    // The application's policy applies while nothing else does ...
    let r = h
        .post(
            &format!("/v1.0/applications/{api_oid}/tokenLifetimePolicies/$ref"),
            reference("tokenLifetimePolicies", &ids[0]),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    // ... but the organization default is already there and comes first.
    let r = app_token(&h, &client_id, &secret, &scope).await;
    assert_eq!(expires(&r), 7200, "{}", r.text);
    let writer_patch = json!({"isOrganizationDefault": false});
    let r = h.graph_with(Method::PATCH, &format!("{tlp}/{}", ids[2]), Some(writer_patch), &writer, &[]).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = app_token(&h, &client_id, &secret, &scope).await;
    assert_eq!(expires(&r), 1200, "{}", r.text);

    // A service principal's policy comes before both.
    let sp_refs = format!("/v1.0/servicePrincipals/{api_sp}/tokenLifetimePolicies");
    let r = h.post(&format!("{sp_refs}/$ref"), reference("tokenLifetimePolicies", &ids[1])).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = h
        .graph_with(
            Method::PATCH,
            &format!("{tlp}/{}", ids[2]),
            Some(json!({"isOrganizationDefault": true})),
            &writer,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = app_token(&h, &client_id, &secret, &scope).await;
    assert_eq!(expires(&r), 2400, "{}", r.text);
    assert_eq!(span(r.json["access_token"].as_str().unwrap_or_default()), 2400);

    let r = h.get(&sp_refs).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["value"][0]["id"], ids[1].as_str(), "{}", r.text);
    let r = h.get(&format!("{tlp}/{}/appliesTo", ids[1])).await;
    assert_eq!(r.json["value"][0]["id"], api_sp.as_str(), "{}", r.text);
    let r = h.post(&format!("{sp_refs}/$ref"), reference("tokenLifetimePolicies", &ids[0])).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.message().contains("service principal already has a token lifetime policy"), "{}", r.text);
    // The same routes on beta, addressed by appId.
    let r = h.get(&format!("/beta/servicePrincipals(appId='{api_app_id}')/tokenLifetimePolicies")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["value"][0]["id"], ids[1].as_str(), "{}", r.text);

    let r = h.delete(&format!("{sp_refs}/{}/$ref", ids[1])).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = app_token(&h, &client_id, &secret, &scope).await;
    assert_eq!(expires(&r), 7200, "{}", r.text);
    let r = h.delete(&format!("{sp_refs}/{}/$ref", ids[1])).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
}

#[tokio::test]
async fn claims_transformations_shape_the_token() {
    let h = Harness::new().await;
    let (api_app_id, api_oid, api_sp) = web_api(&h, Some(2)).await;
    let (client_id, secret, client_sp) = confidential_client(&h, "Portal").await;
    grant(&h, &client_sp, &api_sp, "access_as_user").await;
    accept_mapped_claims(&h, &api_oid, true).await;
    let user = h.user("lynne", "Lynne Robbins").await;
    let r = h.patch(&format!("/v1.0/users/{}", id_of(&user)), json!({"department": "Retail"})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    // The shape of Microsoft's example: input entries without a claim type, referenced by ID.
    let policy = create(
        &h,
        "Transformed",
        r#""IncludeBasicClaimSet":"true","ClaimsSchema":[{"Source":"user","ID":"department"},{"Source":"user","ID":"userprincipalname"},{"Source":"transformation","ID":"DataJoin","TransformationId":"JoinTheData","JwtClaimType":"JoinedData"},{"Source":"transformation","ID":"Alias","TransformationId":"Prefix","JwtClaimType":"alias"}],"ClaimsTransformation":[{"ID":"JoinTheData","TransformationMethod":"Join","InputClaims":[{"ClaimTypeReferenceId":"department","TransformationClaimType":"string1"}],"InputParameters":[{"ID":"string2","Value":"sandbox"},{"ID":"separator","Value":"."}],"OutputClaims":[{"ClaimTypeReferenceId":"DataJoin","TransformationClaimType":"outputClaim"}]},{"ID":"Prefix","TransformationMethod":"ExtractMailPrefix","InputClaims":[{"ClaimTypeReferenceId":"userprincipalname","TransformationClaimType":"mail"}],"OutputClaims":[{"ClaimTypeReferenceId":"Alias","TransformationClaimType":"outputClaim"}]}]"#,
    )
    .await;
    let r = assign(&h, &api_sp, &policy).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r =
        ropc(&h, &client_id, &secret, "lynne@contoso.onmicrosoft.com", &format!("{api_app_id}/access_as_user")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let c = claims(r.json["access_token"].as_str().unwrap_or_default(), 1);
    assert_eq!(c["JoinedData"], "Retail.sandbox", "{c}");
    assert_eq!(c["alias"], "lynne", "{c}");
    // Input entries without a claim type are not emitted themselves; the basic set stays.
    assert!(c.get("department").is_none(), "{c}");
    assert_eq!(c["name"], "Lynne Robbins", "{c}");
}

/// A `ClaimsTransformation` entry: `inputs` are (entry ID, name, TreatAsMultiValue),
/// `parameters` (ID, value).
fn transformation(
    id: &str,
    method: &str,
    inputs: &[(&str, &str, bool)],
    parameters: &[(&str, &str)],
    out: &str,
) -> Value {
    json!({
        "ID": id,
        "TransformationMethod": method,
        "InputClaims": inputs.iter().map(|(r, n, multi)| json!({"ClaimTypeReferenceId": r, "TransformationClaimType": n, "TreatAsMultiValue": multi.to_string()})).collect::<Vec<_>>(),
        "InputParameters": parameters.iter().map(|(i, v)| json!({"ID": i, "Value": v})).collect::<Vec<_>>(),
        "OutputClaims": [{"ClaimTypeReferenceId": out, "TransformationClaimType": "outputClaim"}],
    })
}

/// The inner text of a policy: `schema` entries and `transformations`, the basic claim set kept.
fn policy_text(schema: Value, transformations: Value) -> String {
    format!(r#""IncludeBasicClaimSet":"true","ClaimsSchema":{schema},"ClaimsTransformation":{transformations}"#)
}

/// An output entry of a transformation, emitted as `claim`.
fn output(id: &str, transformation: &str, claim: &str) -> Value {
    json!({"Source": "transformation", "ID": id, "TransformationId": transformation, "JwtClaimType": claim})
}

#[tokio::test]
async fn every_transformation_method_shapes_access_and_id_tokens() {
    let h = Harness::new().await;
    let (api_app_id, api_oid, api_sp) = web_api(&h, Some(2)).await;
    let (client_id, secret, client_sp) = confidential_client(&h, "Portal").await;
    grant(&h, &client_sp, &api_sp, "access_as_user").await;
    accept_mapped_claims(&h, &api_oid, true).await;
    let user = h.user("lynne", "Lynne Robbins").await;
    let patch = json!({"department": "Retail", "otherMails": ["Lynne@Fabrikam.com", "lr@contoso.com"]});
    let r = h.patch(&format!("/v1.0/users/{}", id_of(&user)), patch).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let inputs = json!([
        {"Source": "user", "ID": "userprincipalname"},
        {"Source": "user", "ID": "department"},
        {"Source": "user", "ID": "othermail"},
        {"Source": "user", "ID": "displayname"},
    ]);
    let mut schema = inputs.as_array().cloned().unwrap_or_default();
    schema.extend([
        output("Alias", "regex", "alias"),
        output("Kept", "nomatch", "dept"),
        output("Domains", "domains", "mail_domains"),
        output("Lower", "lower", "lower_name"),
        output("Upper", "upper", "upper_mails"),
        output("Loud", "loud", "loud_alias"),
    ]);
    // Microsoft's claims customization example: the alias of an address, joined with another
    // input by a `{name}` placeholder; .NET's `(?'name'...)` group syntax.
    let transformations = json!([
        transformation(
            "regex",
            "RegexReplace",
            &[("userprincipalname", "sourceClaim", false), ("department", "dept", false)],
            &[("regex", r"(?'alias'^.*?)(?i)(@contoso\.onmicrosoft\.com)$"), ("replacement", "{dept}.{alias}@xyz.com")],
            "Alias",
        ),
        // No match: the input, unchanged.
        transformation(
            "nomatch",
            "RegexReplace",
            &[("department", "sourceClaim", false)],
            &[("regex", "^HR$"), ("replacement", "Human resources")],
            "Kept"
        ),
        // Every value of a multi-valued property; only the matched part is replaced.
        transformation(
            "domains",
            "RegexReplace",
            &[("othermail", "sourceClaim", true)],
            &[("regex", "^[^@]*@"), ("replacement", "")],
            "Domains"
        ),
        transformation("lower", "ToLowercase()", &[("displayname", "string", false)], &[], "Lower"),
        transformation("upper", "ToUppercase", &[("othermail", "string", true)], &[], "Upper"),
        // A second level: the output of another transformation as input.
        transformation("loud", "ToUppercase", &[("Alias", "string", false)], &[], "Loud"),
    ]);
    let policy = create(&h, "Regex", &policy_text(json!(schema), transformations)).await;
    let r = assign(&h, &api_sp, &policy).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let upn = "lynne@contoso.onmicrosoft.com";
    let r = ropc(&h, &client_id, &secret, upn, &format!("{api_app_id}/access_as_user")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let c = claims(r.json["access_token"].as_str().unwrap_or_default(), 1);
    assert_eq!(c["alias"], "Retail.lynne@xyz.com", "{c}");
    assert_eq!(c["dept"], "Retail", "{c}");
    assert_eq!(c["mail_domains"], json!(["Fabrikam.com", "contoso.com"]), "{c}");
    assert_eq!(c["lower_name"], "lynne robbins", "{c}");
    assert_eq!(c["upper_mails"], json!(["LYNNE@FABRIKAM.COM", "LR@CONTOSO.COM"]), "{c}");
    assert_eq!(c["loud_alias"], "RETAIL.LYNNE@XYZ.COM", "{c}");
    assert_eq!(c["name"], "Lynne Robbins", "{c}");

    // The client's policy shapes its ID token.
    let app = h.get(&format!("/v1.0/applications(appId='{client_id}')")).await;
    accept_mapped_claims(&h, &id_of(&app.json), true).await;
    let id_policy = create(
        &h,
        "ID token",
        &policy_text(
            json!([{"Source": "user", "ID": "userprincipalname"}, output("Short", "short", "short_upn")]),
            json!([transformation(
                "short",
                "RegexReplace",
                &[("userprincipalname", "sourceClaim", false)],
                &[("regex", r"\.onmicrosoft\.com$"), ("replacement", "")],
                "Short",
            )]),
        ),
    )
    .await;
    let r = assign(&h, &client_sp, &id_policy).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = ropc(&h, &client_id, &secret, upn, &format!("{api_app_id}/access_as_user openid")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let id = claims(r.json["id_token"].as_str().unwrap_or_default(), 1);
    assert_eq!(id["short_upn"], "lynne@contoso", "{id}");
    assert!(id.get("alias").is_none(), "{id}");
    let c = claims(r.json["access_token"].as_str().unwrap_or_default(), 1);
    assert!(c.get("short_upn").is_none(), "{c}");
    assert_eq!(c["alias"], "Retail.lynne@xyz.com", "{c}");
}

#[tokio::test]
async fn malformed_transformations_and_group_filters_are_refused() {
    let h = Harness::new().await;
    let writer = h.sign(h.claims(&[WRITE])).await;
    let schema =
        json!([{"Source": "user", "ID": "mail"}, {"Source": "user", "ID": "department"}, output("Out", "t", "out")]);
    let regex = |inputs: &[(&str, &str, bool)], parameters: &[(&str, &str)]| {
        definition(&policy_text(
            schema.clone(),
            json!([transformation("t", "RegexReplace", inputs, parameters, "Out")]),
        ))
    };
    let source = [("mail", "sourceClaim", false)];
    let long = "a".repeat(1025);
    let filter = |f: Value| definition(&format!(r#""IncludeBasicClaimSet":"true","GroupFilter":{f}"#));
    let cases = [
        (
            regex(&[("mail", "input", false)], &[("regex", "a"), ("replacement", "b")]),
            "needs the input claim 'sourceClaim'",
        ),
        (regex(&source, &[("regex", "a")]), "needs the input parameters 'regex' and 'replacement'"),
        (regex(&source, &[("regex", "(?<=a)b"), ("replacement", "b")]), "not a supported regular expression"),
        (regex(&source, &[("regex", &long), ("replacement", "b")]), "longer than 1024 characters"),
        (regex(&source, &[("regex", "(?<g>a)"), ("replacement", "{nope}")]), "'{nope}', which is neither a group"),
        (
            regex(
                &[("mail", "sourceClaim", false), ("department", "dept", false)],
                &[("regex", "a"), ("replacement", "b")],
            ),
            "'dept' is not used by the replacement",
        ),
        (
            regex(
                &[("mail", "sourceClaim", true), ("department", "dept", true)],
                &[("regex", "a"), ("replacement", "{dept}")],
            ),
            "at most one input claim may set 'TreatAsMultiValue'",
        ),
        (
            regex(
                &[("mail", "sourceClaim", false), ("mail", "sourceClaim", false)],
                &[("regex", "a"), ("replacement", "b")],
            ),
            "'sourceClaim' is given more than once",
        ),
        (
            definition(&policy_text(schema.clone(), json!([transformation("t", "Contains", &source, &[], "Out")]))),
            "is not one of Join, ExtractMailPrefix, ToLowercase, ToUppercase, RegexReplace",
        ),
        (filter(json!({"MatchOn": "mail", "Type": "prefix", "Value": "a"})), "MatchOn 'mail'"),
        (filter(json!({"MatchOn": "displayname", "Type": "regex", "Value": "a"})), "Type 'regex'"),
        (filter(json!({"MatchOn": "displayname", "Type": "prefix", "Value": ""})), "keep every group"),
        (
            filter(json!({"MatchOn": "displayname", "Type": "prefix", "Value": "a", "Scope": "x"})),
            "'Scope' is not supported",
        ),
        (filter(json!("App-")), "'GroupFilter': must be an object"),
    ];
    for (def, message) in cases {
        let b = json!({"displayName": "bad", "definition": def});
        let r = h.graph_with(Method::POST, SET, Some(b), &writer, &[]).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{def}: {}", r.text);
        assert_eq!(r.code(), "Request_BadRequest", "{}", r.text);
        assert!(r.message().contains(message), "{def}: {}", r.text);
    }
    // A policy holding only a group filter is not inert.
    let only = filter(json!({"MatchOn": "displayname", "Type": "prefix", "Value": "App-"}));
    let r =
        h.graph_with(Method::POST, SET, Some(json!({"displayName": "filter", "definition": only})), &writer, &[]).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
}

fn group_ref(id: &str) -> Value {
    json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{id}")})
}

#[tokio::test]
async fn group_filter_narrows_the_groups_claim_of_its_audience() {
    const GLOBAL_ADMIN: &str = "62e90394-69f5-4237-9190-012177145e10";
    let h = Harness::new().await;
    let admin = h.get(&format!("/v1.0/users/{}", h.boot.admin_user_principal_name)).await;
    let admin_id = id_of(&admin.json);
    // App-Orders (direct), app-billing (through App-Orders), Finance (direct), Orders App (direct).
    let orders = id_of(&h.group("app-orders", "App-Orders").await);
    let billing = id_of(&h.group("app-billing", "app-billing").await);
    let finance = id_of(&h.group("finance", "Finance").await);
    let suffixed = id_of(&h.group("orders-app", "Orders App").await);
    for (group, member) in [(&orders, &admin_id), (&billing, &orders), (&finance, &admin_id), (&suffixed, &admin_id)] {
        let r = h.post(&format!("/v1.0/groups/{group}/members/$ref"), group_ref(member)).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    }
    let (api_app_id, api_oid, api_sp) = web_api(&h, Some(2)).await;
    let (client_id, secret, client_sp) = confidential_client(&h, "Portal").await;
    grant(&h, &client_sp, &api_sp, "access_as_user").await;
    accept_mapped_claims(&h, &api_oid, true).await;
    let set_claims = |oid: String, value: &'static str| {
        let h = &h;
        async move {
            let r = h.patch(&format!("/v1.0/applications/{oid}"), json!({"groupMembershipClaims": value})).await;
            assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
        }
    };
    let client_oid = id_of(&h.get(&format!("/v1.0/applications(appId='{client_id}')")).await.json);
    set_claims(client_oid, "SecurityGroup").await;
    let policy = create(
        &h,
        "App groups",
        r#""IncludeBasicClaimSet":"true","GroupFilter":{"MatchOn":"displayname","Type":"prefix","Value":"APP-"}"#,
    )
    .await;
    let r = assign(&h, &api_sp, &policy).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let scope = format!("{api_app_id}/access_as_user openid");
    let token = |scope: String| {
        let h = &h;
        let (client_id, secret) = (&client_id, &secret);
        async move {
            let r = h
                .form(
                    &format!("/{}/oauth2/v2.0/token", h.boot.tenant_id),
                    &[
                        ("grant_type", "password"),
                        ("client_id", client_id),
                        ("client_secret", secret),
                        ("username", &h.boot.admin_user_principal_name),
                        ("password", &h.boot.admin_password),
                        ("scope", &scope),
                    ],
                    None,
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            (
                claims(r.json["access_token"].as_str().unwrap_or_default(), 1),
                claims(r.json["id_token"].as_str().unwrap_or_default(), 1),
            )
        }
    };
    // The API asks for no groups: the filter has nothing to narrow.
    let (access, id) = token(scope.clone()).await;
    assert!(access.get("groups").is_none(), "{access}");
    // The ID token is the client's, whose service principal has no policy: every group.
    let mut all = vec![orders.clone(), billing.clone(), finance.clone(), suffixed.clone(), GLOBAL_ADMIN.to_string()];
    all.sort();
    assert_eq!(id["groups"], json!(all), "{id}");

    // The API asks for security groups: the prefix keeps App-Orders and the nested
    // app-billing (case-insensitively), and the directory role, which no filter drops.
    set_claims(api_oid.clone(), "SecurityGroup").await;
    let (access, _) = token(scope.clone()).await;
    let mut kept = vec![orders.clone(), billing.clone(), GLOBAL_ADMIN.to_string()];
    kept.sort();
    assert_eq!(access["groups"], json!(kept), "{access}");

    // Suffix and contains.
    let writer = h.sign(h.claims(&[WRITE])).await;
    for (filter, want) in [
        (r#"{"MatchOn":"displayname","Type":"suffix","Value":" app"}"#, vec![suffixed.clone()]),
        (r#"{"MatchOn":"displayname","Type":"contains","Value":"orders"}"#, vec![orders.clone(), suffixed.clone()]),
        // Cloud groups have no on-premises SAM account name.
        (r#"{"MatchOn":"samaccountname","Type":"prefix","Value":"app"}"#, vec![]),
    ] {
        let patch =
            json!({"definition": definition(&format!(r#""IncludeBasicClaimSet":"true","GroupFilter":{filter}"#))});
        let r = h.graph_with(Method::PATCH, &format!("{SET}/{policy}"), Some(patch), &writer, &[]).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
        let (access, _) = token(scope.clone()).await;
        let mut want = want;
        want.push(GLOBAL_ADMIN.to_string());
        want.sort();
        assert_eq!(access["groups"], json!(want), "{filter}: {access}");
    }
}

#[tokio::test]
async fn managed_identity_tokens_follow_the_resources_policies() {
    let h = Harness::new().await;
    let (api_app_id, api_oid, api_sp) = web_api(&h, Some(2)).await;
    let r = h.post("/cerulean/admin/managedIdentities", json!({"name": "orders-worker"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let identity = r.json;
    let host =
        h.post("/cerulean/admin/managedIdentityHosts", json!({"name": "web1", "identities": [id_of(&identity)]})).await;
    assert_eq!(host.status, StatusCode::CREATED, "{}", host.text);
    let secret = host.json["identityHeader"].as_str().unwrap_or_default().to_string();
    let url = host.json["environment"]["IDENTITY_ENDPOINT"].as_str().unwrap_or_default();
    let path = url.strip_prefix(crate::harness::PUBLIC_URL).unwrap_or_default().to_string();
    let mi_token = |resource: String| {
        let (h, path, secret) = (&h, &path, &secret);
        async move {
            let q = format!("{path}?resource={resource}&api-version=2019-08-01");
            h.graph_with(Method::GET, &q, None, "", &[("X-IDENTITY-HEADER", secret.as_str())]).await
        }
    };
    let policy = create(
        &h,
        "Worker claims",
        &policy_text(
            json!([
                {"Value": "sandbox", "JwtClaimType": "env"},
                {"Source": "application", "ID": "displayname", "JwtClaimType": "client_name"},
                output("Caller", "caller", "caller"),
            ]),
            json!([transformation(
                "caller",
                "RegexReplace",
                &[("displayname", "sourceClaim", false)],
                &[("regex", "-worker$"), ("replacement", "")],
                "Caller",
            )]),
        ),
    )
    .await;
    let r = assign(&h, &api_sp, &policy).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);

    // The API does not accept mapped claims: refused, in App Service's error shape.
    let r = mi_token(api_app_id.clone()).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.json["message"].as_str().is_some_and(|m| m.starts_with("AADSTS50146:")), "{}", r.text);

    accept_mapped_claims(&h, &api_oid, true).await;
    let writer = h.sign(h.claims(&[WRITE])).await;
    let tlp = json!({"displayName": "short", "definition": [r#"{"TokenLifetimePolicy":{"Version":1,"AccessTokenLifetime":"00:20:00"}}"#]});
    let r = h.graph_with(Method::POST, "/v1.0/policies/tokenLifetimePolicies", Some(tlp), &writer, &[]).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = h
        .post(
            &format!("/v1.0/servicePrincipals/{api_sp}/tokenLifetimePolicies/$ref"),
            reference("tokenLifetimePolicies", &id_of(&r.json)),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = mi_token(api_app_id.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let token = r.json["access_token"].as_str().unwrap_or_default();
    let c = claims(token, 1);
    assert_eq!(c["env"], "sandbox", "{c}");
    assert_eq!(c["client_name"], "orders-worker", "{c}");
    assert_eq!(c["caller"], "orders", "{c}");
    assert_eq!(c["oid"], id_of(&identity).as_str(), "{c}");
    assert_eq!(span(token), 1200);
    // An identifier outside the tenant's verified domains: AADSTS501461.
    let r = mi_token(format!("api://{api_app_id}")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.json["message"].as_str().is_some_and(|m| m.starts_with("AADSTS501461:")), "{}", r.text);
    // Tokens for other resources are untouched, with the default lifetime.
    let r = mi_token("https://graph.microsoft.com".into()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let token = r.json["access_token"].as_str().unwrap_or_default();
    assert!(claims(token, 1).get("env").is_none());
    assert_eq!(span(token), 3599);
}

#[tokio::test]
async fn group_filter_applies_before_the_overage_limit() {
    const GLOBAL_ADMIN: &str = "62e90394-69f5-4237-9190-012177145e10";
    let h = Harness::new().await;
    let admin_id = id_of(&h.get(&format!("/v1.0/users/{}", h.boot.admin_user_principal_name)).await.json);
    let (client_id, secret, client_sp) = confidential_client(&h, "Overage app").await;
    let client_oid = id_of(&h.get(&format!("/v1.0/applications(appId='{client_id}')")).await.json);
    let graph = h.get("/v1.0/servicePrincipals(appId='00000003-0000-0000-c000-000000000000')").await;
    grant(&h, &client_sp, &id_of(&graph.json), "User.Read").await;
    let r =
        h.patch(&format!("/v1.0/applications/{client_oid}"), json!({"groupMembershipClaims": "SecurityGroup"})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    accept_mapped_claims(&h, &client_oid, true).await;
    // 200 groups + App-Orders + the Global Administrator role: past the limit of 200.
    let mut groups: Vec<String> = Vec::new();
    for i in 0..200 {
        groups.push(id_of(&h.group(&format!("g{i}"), &format!("Group {i}")).await));
    }
    let orders = id_of(&h.group("app-orders", "App-Orders").await);
    groups.push(orders.clone());
    for g in &groups {
        let r = h.post(&format!("/v1.0/groups/{g}/members/$ref"), group_ref(&admin_id)).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    }
    let id_token = || async {
        let r = h
            .form(
                &format!("/{}/oauth2/v2.0/token", h.boot.tenant_id),
                &[
                    ("grant_type", "password"),
                    ("client_id", &client_id),
                    ("client_secret", &secret),
                    ("username", &h.boot.admin_user_principal_name),
                    ("password", &h.boot.admin_password),
                    ("scope", "https://graph.microsoft.com/User.Read openid"),
                ],
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        claims(r.json["id_token"].as_str().unwrap_or_default(), 1)
    };
    let id = id_token().await;
    assert!(id.get("groups").is_none(), "{id}");
    assert_eq!(id["_claim_names"], json!({"groups": "src1"}), "{id}");

    // The client's policy keeps one group (and the role): listed, no overage.
    let policy = create(
        &h,
        "App groups",
        r#""IncludeBasicClaimSet":"true","GroupFilter":{"MatchOn":"displayname","Type":"prefix","Value":"App-"}"#,
    )
    .await;
    let r = assign(&h, &client_sp, &policy).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let id = id_token().await;
    let mut want = vec![orders, GLOBAL_ADMIN.to_string()];
    want.sort();
    assert_eq!(id["groups"], json!(want), "{id}");
    assert!(id.get("_claim_names").is_none(), "{id}");
}
