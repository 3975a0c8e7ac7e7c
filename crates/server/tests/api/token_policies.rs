//! Token lifetime policies (`/policies/tokenLifetimePolicies`): CRUD, the checks on Entra's
//! JSON-in-a-string `definition` (a definition that would be inert is refused), the single
//! organization default, the permissions the Graph reference lists, assignment to applications
//! and the lifetimes of the tokens then issued.

use axum::http::{Method, StatusCode};
use cerulean_identity::tokens::ISSUED_AT_BACKDATE_SECS;
use serde_json::{Value, json};

use crate::harness::{Harness, id_of};
use crate::token_versions::{PASSWORD, claims, confidential_client, grant, web_api};

const SET: &str = "/v1.0/policies/tokenLifetimePolicies";
const WRITE: &str = "Policy.ReadWrite.ApplicationConfiguration";

fn definition(inner: &str) -> Value {
    json!([format!(r#"{{"TokenLifetimePolicy":{{"Version":1,{inner}}}}}"#)])
}

fn body(name: &str, lifetime: &str) -> Value {
    json!({
        "displayName": name,
        "definition": definition(&format!(r#""AccessTokenLifetime":"{lifetime}""#)),
        "isOrganizationDefault": false,
    })
}

#[tokio::test]
async fn token_lifetime_policies_are_created_read_updated_and_deleted() {
    let h = Harness::new().await;
    let writer = h.sign(h.claims(&[WRITE])).await;
    let r = h.graph_with(Method::POST, SET, Some(body("Web API 2h", "02:00:00")), &writer, &[]).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = id_of(&r.json);
    assert_eq!(r.json["displayName"], "Web API 2h");
    assert_eq!(r.json["isOrganizationDefault"], false);
    assert!(
        r.json["@odata.context"].as_str().is_some_and(|c| c.ends_with("policies/tokenLifetimePolicies/$entity")),
        "{}",
        r.text
    );

    // Policy.Read.All (the bootstrap app) reads.
    let r = h.get(&format!("{SET}/{id}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["definition"], definition(r#""AccessTokenLifetime":"02:00:00""#));
    let r = h.get(SET).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["value"].as_array().map(Vec::len), Some(1), "{}", r.text);

    let patch = json!({"definition": definition(r#""AccessTokenLifetime":"00:30:00""#), "displayName": "30 min"});
    let r = h.graph_with(Method::PATCH, &format!("{SET}/{id}"), Some(patch), &writer, &[]).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = h.get(&format!("{SET}/{id}")).await;
    assert_eq!(r.json["displayName"], "30 min");
    assert_eq!(r.json["definition"], definition(r#""AccessTokenLifetime":"00:30:00""#));

    let r = h.graph_with(Method::DELETE, &format!("{SET}/{id}"), None, &writer, &[]).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = h.get(&format!("{SET}/{id}")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
}

#[tokio::test]
async fn inert_or_malformed_definitions_are_refused() {
    let h = Harness::new().await;
    let writer = h.sign(h.claims(&[WRITE])).await;
    let cases = [
        (json!([]), "exactly one"),
        (json!(["not json"]), "not valid JSON"),
        (json!([r#"{"ClaimsMappingPolicy":{"Version":1}}"#]), "'TokenLifetimePolicy'"),
        (json!([r#"{"TokenLifetimePolicy":{"Version":2,"AccessTokenLifetime":"01:00:00"}}"#]), "'Version' must be 1"),
        (definition(r#""Bogus":"1.00:00:00","AccessTokenLifetime":"01:00:00""#), "'Bogus' is not supported"),
        (definition(r#""MaxInactiveTime":"1.00:00:00""#), "no effect"),
        (json!([r#"{"TokenLifetimePolicy":{"Version":1}}"#]), "no effect"),
        (definition(r#""AccessTokenLifetime":"2 hours""#), "time span"),
        (definition(r#""AccessTokenLifetime":"00:05:00""#), "between 00:10:00 and 1.00:00:00"),
        (definition(r#""AccessTokenLifetime":"2.00:00:00""#), "between 00:10:00 and 1.00:00:00"),
    ];
    for (def, message) in cases {
        let b = json!({"displayName": "bad", "definition": def});
        let r = h.graph_with(Method::POST, SET, Some(b), &writer, &[]).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{def}: {}", r.text);
        assert_eq!(r.code(), "Request_BadRequest", "{}", r.text);
        assert!(r.message().contains(message), "{def}: {}", r.text);
    }
    // A PATCH is checked against the merged policy, and leaves it unchanged when refused.
    let r = h.graph_with(Method::POST, SET, Some(body("ok", "01:00:00")), &writer, &[]).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = id_of(&r.json);
    let patch = json!({"definition": definition(r#""AccessTokenLifetime":"00:01:00""#)});
    let r = h.graph_with(Method::PATCH, &format!("{SET}/{id}"), Some(patch), &writer, &[]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = h.get(&format!("{SET}/{id}")).await;
    assert_eq!(r.json["definition"], definition(r#""AccessTokenLifetime":"01:00:00""#));
    // Unknown properties and a missing displayName are refused like on any entity set.
    let b =
        json!({"displayName": "x", "definition": definition(r#""AccessTokenLifetime":"01:00:00""#), "color": "red"});
    let r = h.graph_with(Method::POST, SET, Some(b), &writer, &[]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let b = json!({"definition": definition(r#""AccessTokenLifetime":"01:00:00""#)});
    let r = h.graph_with(Method::POST, SET, Some(b), &writer, &[]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
}

#[tokio::test]
async fn one_organization_default_and_permissions_as_the_reference_lists() {
    let h = Harness::new().await;
    let writer = h.sign(h.claims(&[WRITE])).await;
    let mut first = body("default", "04:00:00");
    first["isOrganizationDefault"] = json!(true);
    let r = h.graph_with(Method::POST, SET, Some(first.clone()), &writer, &[]).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let first_id = id_of(&r.json);
    first["displayName"] = json!("second default");
    let r = h.graph_with(Method::POST, SET, Some(first), &writer, &[]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.message().contains("organization default"), "{}", r.text);
    // Another policy may become the default once the first one stops being it.
    let r = h.graph_with(Method::POST, SET, Some(body("other", "03:00:00")), &writer, &[]).await;
    let other = id_of(&r.json);
    let make_default = json!({"isOrganizationDefault": true});
    let path = format!("{SET}/{other}");
    let r = h.graph_with(Method::PATCH, &path, Some(make_default.clone()), &writer, &[]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let off = json!({"isOrganizationDefault": false});
    let r = h.graph_with(Method::PATCH, &format!("{SET}/{first_id}"), Some(off), &writer, &[]).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = h.graph_with(Method::PATCH, &path, Some(make_default), &writer, &[]).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);

    // Policy.Read.All reads but does not write; an unrelated permission does neither.
    let r = h.post(SET, body("reader", "01:00:00")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r = h.delete(&format!("{SET}/{other}")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let stranger = h.sign(h.claims(&["User.Read.All"])).await;
    let r = h.graph_with(Method::GET, SET, None, &stranger, &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
}

/// `expires_in` of a client-credentials token of the bootstrap-created client for `scope`.
async fn expires_in(h: &Harness, client_id: &str, secret: &str, scope: &str) -> Value {
    let r = h
        .form(
            &format!("/{}/oauth2/v2.0/token", h.boot.tenant_id),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", client_id),
                ("client_secret", secret),
                ("scope", scope),
            ],
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.json["expires_in"].clone()
}

#[tokio::test]
async fn an_assigned_policy_sets_the_lifetime_of_tokens_for_that_application() {
    let h = Harness::new().await;
    let writer = h.sign(h.claims(&[WRITE])).await;
    let (api_app_id, api_oid, _) = web_api(&h, Some(2)).await;
    let (client_id, secret, _) = confidential_client(&h, "Orders worker").await;
    let api_scope = format!("api://{api_app_id}/.default");
    let graph_scope = "https://graph.microsoft.com/.default";
    assert_eq!(expires_in(&h, &client_id, &secret, &api_scope).await, 3599);

    let r = h.graph_with(Method::POST, SET, Some(body("15 min", "00:15:00")), &writer, &[]).await;
    let policy = id_of(&r.json);
    let refs = format!("/v1.0/applications/{api_oid}/tokenLifetimePolicies");
    let target =
        json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/policies/tokenLifetimePolicies/{policy}")});
    let r = h.post(&format!("{refs}/$ref"), target.clone()).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(expires_in(&h, &client_id, &secret, &api_scope).await, 900);
    // Tokens for other resources keep the configured lifetime.
    assert_eq!(expires_in(&h, &client_id, &secret, graph_scope).await, 3599);

    let r = h.get(&refs).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["value"][0]["id"], policy.as_str(), "{}", r.text);
    let r = h.get(&format!("{SET}/{policy}/appliesTo")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["value"][0]["id"], api_oid.as_str(), "{}", r.text);

    // One policy per application; references must name an existing policy.
    let r = h.post(&format!("{refs}/$ref"), target).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let ghost = uuid::Uuid::new_v4();
    let r = h
        .post(
            &format!("{refs}/$ref"),
            json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{ghost}")}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let r = h.post(&format!("{refs}/$ref"), json!({})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    // The reference requires an application permission and a policy permission together.
    for only in [WRITE, "Application.ReadWrite.All"] {
        let token = h.sign(h.claims(&[only])).await;
        let r = h.graph_with(Method::GET, &refs, None, &token, &[]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{only}: {}", r.text);
        let r = h.graph_with(Method::DELETE, &format!("{refs}/{policy}/$ref"), None, &token, &[]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{only}: {}", r.text);
    }

    // An organization default applies to every resource, and comes before a policy assigned
    // to the application object (Entra's "Policy evaluation and prioritization": service
    // principal, then organization, then application).
    let mut default = body("default", "02:00:00");
    default["isOrganizationDefault"] = json!(true);
    let r = h.graph_with(Method::POST, SET, Some(default), &writer, &[]).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(expires_in(&h, &client_id, &secret, graph_scope).await, 7200);
    assert_eq!(expires_in(&h, &client_id, &secret, &api_scope).await, 7200);

    let r = h.delete(&format!("{refs}/{policy}/$ref")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(expires_in(&h, &client_id, &secret, &api_scope).await, 7200);
    let r = h.delete(&format!("{refs}/{policy}/$ref")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let r = h.get(&format!("{SET}/{policy}/appliesTo")).await;
    assert_eq!(r.json["value"], json!([]), "{}", r.text);
}

/// Microsoft's own definitions: `"8:00:00"` (tokenlifetimepolicy-post-tokenlifetimepolicies)
/// and a script's retired refresh/session keys beside the lifetime (ignored, as Entra does).
#[tokio::test]
async fn microsofts_example_definitions_set_the_lifetime() {
    let h = Harness::new().await;
    let writer = h.sign(h.claims(&[WRITE])).await;
    let (api_app_id, api_oid, _) = web_api(&h, Some(2)).await;
    let (client_id, secret, _) = confidential_client(&h, "Lifetime worker").await;
    let api_scope = format!("api://{api_app_id}/.default");

    let r = h.graph_with(Method::POST, SET, Some(body("8 h", "8:00:00")), &writer, &[]).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let policy = id_of(&r.json);
    let target =
        json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/policies/tokenLifetimePolicies/{policy}")});
    let r = h.post(&format!("/v1.0/applications/{api_oid}/tokenLifetimePolicies/$ref"), target).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(expires_in(&h, &client_id, &secret, &api_scope).await, 8 * 3600);

    let retired = definition(
        r#""AccessTokenLifetime":"4:00:00","MaxInactiveTime":"30.00:00:00","MaxAgeSingleFactor":"until-revoked","MaxAgeMultiFactor":"until-revoked","MaxAgeSessionSingleFactor":"until-revoked","MaxAgeSessionMultiFactor":"until-revoked""#,
    );
    let r = h
        .graph_with(Method::PATCH, &format!("{SET}/{policy}"), Some(json!({"definition": retired})), &writer, &[])
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(expires_in(&h, &client_id, &secret, &api_scope).await, 4 * 3600);
}

fn span(token: &str) -> i64 {
    let c = claims(token, 1);
    c["exp"].as_i64().unwrap_or_default() - c["iat"].as_i64().unwrap_or_default()
}

#[tokio::test]
async fn user_tokens_follow_the_default_and_id_tokens_the_client_policy() {
    let h = Harness::new().await;
    let writer = h.sign(h.claims(&[WRITE])).await;
    let (client_id, secret, client_sp) = confidential_client(&h, "Web app").await;
    let graph = h.get("/v1.0/servicePrincipals(appId='00000003-0000-0000-c000-000000000000')").await;
    grant(&h, &client_sp, &id_of(&graph.json), "User.Read").await;
    h.user("adele", "Adele Vance").await;
    let mut default = body("default", "03:00:00");
    default["isOrganizationDefault"] = json!(true);
    let r = h.graph_with(Method::POST, SET, Some(default), &writer, &[]).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = h.graph_with(Method::POST, SET, Some(body("client", "00:20:00")), &writer, &[]).await;
    let policy = id_of(&r.json);
    // Assigned to the client's service principal, the policy comes before the organization
    // default (on the application object it would not).
    let target =
        json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/policies/tokenLifetimePolicies/{policy}")});
    let r = h.post(&format!("/v1.0/servicePrincipals/{client_sp}/tokenLifetimePolicies/$ref"), target).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);

    let r = h
        .form(
            &format!("/{}/oauth2/v2.0/token", h.boot.tenant_id),
            &[
                ("grant_type", "password"),
                ("client_id", &client_id),
                ("client_secret", &secret),
                ("username", "adele@contoso.onmicrosoft.com"),
                ("password", PASSWORD),
                ("scope", "https://graph.microsoft.com/User.Read openid"),
            ],
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // The access token is for Microsoft Graph (no policy of its own): the organization default.
    assert_eq!(r.json["expires_in"], 3 * 3600, "{}", r.text);
    // The ID token's audience is the client, whose policy sets 20 minutes.
    assert_eq!(span(r.json["id_token"].as_str().unwrap_or_default()), 20 * 60 + ISSUED_AT_BACKDATE_SECS);
}
