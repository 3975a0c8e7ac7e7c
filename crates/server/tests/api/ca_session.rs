//! Conditional Access on the sign-in pages and the SSO session (issue 7): a secure password
//! change for user risk comes after MFA (and a risky user without a method is blocked); a
//! reused SSO session is evaluated like a new sign-in (block, locations, MFA); policies name
//! target resources, not clients; the risk that decides is the risk that is logged, leaked
//! password included.

use axum::http::{Method, StatusCode};
use cerulean_identity::otp;
use serde_json::{Value, json};

use crate::browser::{Browser, NATIVE_REDIRECT, PASSWORD, hidden, location, redirect_params, registered_app, s256};
use crate::harness::{Harness, Reply, id_of};

pub(crate) const POLICIES: &str = "/v1.0/identity/conditionalAccess/policies";
const LOCATIONS: &str = "/v1.0/identity/conditionalAccess/namedLocations";
pub(crate) const ADELE: &str = "adele@contoso.onmicrosoft.com";
/// A password of the leaked-credentials list (the list holds its SHA-1 only).
const LEAKED: &str = "Tr0ub4dor&3-was-leaked";
const AAD_GRAPH: &str = "00000002-0000-0000-c000-000000000000";
const GRAPH: &str = "00000003-0000-0000-c000-000000000000";

/// A server trusting 10.0.0.0/8 as a proxy, locating Oslo (198.51.100.0/24) and Tokyo
/// (203.0.113.0/24), with `LEAKED` in its leaked-credentials list.
pub(crate) async fn harness() -> Harness {
    use cerulean_identity::risk::{RiskConfig, leaked_digest, parse_leaked_list};
    let digest: String = leaked_digest(LEAKED).iter().map(|b| format!("{b:02X}")).collect();
    let risk = RiskConfig {
        leaked_passwords: parse_leaked_list(&format!("{digest}:12\n")).expect("leaked list"),
        ..RiskConfig::default()
    };
    crate::identity_protection::proxied_harness(risk).await
}

pub(crate) async fn admin(h: &Harness, method: Method, path: &str, body: Option<Value>) -> Reply {
    let token = h.sign(h.claims(&["Policy.ReadWrite.ConditionalAccess", "Policy.Read.All"])).await;
    h.graph_with(method, path, body, &token, &[]).await
}

/// Creates an enabled policy for all users with `conditions` merged over "all applications"
/// and `controls`; returns its id.
pub(crate) async fn enabled_policy(h: &Harness, name: &str, conditions: Value, controls: Value) -> String {
    let mut c = json!({
        "users": { "includeUsers": ["All"] },
        "applications": { "includeApplications": ["All"] },
        "clientAppTypes": ["all"],
    });
    for (k, v) in conditions.as_object().cloned().unwrap_or_default() {
        c[k] = v;
    }
    let body = json!({ "displayName": name, "state": "enabled", "conditions": c, "grantControls": controls });
    let r = admin(h, Method::POST, POLICIES, Some(body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    id_of(&r.json)
}

pub(crate) async fn set_policy(h: &Harness, id: &str, patch: Value) {
    let r = admin(h, Method::PATCH, &format!("{POLICIES}/{id}"), Some(patch)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
}

pub(crate) fn authorize_url(h: &Harness, client: &str, prompt: Option<&str>) -> String {
    let challenge = s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-ca-session-verifier");
    let mut q = vec![
        ("client_id", client),
        ("response_type", "code"),
        ("redirect_uri", NATIVE_REDIRECT),
        ("scope", "openid User.Read"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    if let Some(p) = prompt {
        q.push(("prompt", p));
    }
    format!("/{}/oauth2/v2.0/authorize?{}", h.boot.tenant_id, serde_urlencoded::to_string(q).expect("query"))
}

/// Posts a step form of `page` with `fields`.
pub(crate) async fn step(h: &Harness, b: &mut Browser, page: &Reply, fields: &[(&str, &str)]) -> Reply {
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    let (flow, csrf, step) = (hidden(&page.text, "flow"), hidden(&page.text, "csrf"), hidden(&page.text, "step"));
    let mut all = vec![("flow", flow.as_str()), ("csrf", csrf.as_str()), ("step", step.as_str())];
    all.extend_from_slice(fields);
    b.post(h, &format!("/{}/oauth2/v2.0/login", h.boot.tenant_id), &all).await
}

fn now_step() -> i64 {
    otp::step_of(time::OffsetDateTime::now_utc().unix_timestamp())
}

/// A code of a time step within the accepted window (one step either side) not in `used`
/// (each step's code is accepted once), recorded as used.
pub(crate) fn fresh_code(secret: &[u8], used: &mut Vec<i64>) -> String {
    let now = now_step();
    let at = [now, now + 1, now - 1].into_iter().find(|s| !used.contains(s)).expect("an unused step");
    used.push(at);
    otp::totp(secret, at)
}

pub(crate) fn secret_of(page: &Reply) -> Vec<u8> {
    let start = page.text.find("<code id=\"secret\">").expect("the secret is shown") + "<code id=\"secret\">".len();
    let end = page.text[start..].find("</code>").expect("end") + start;
    otp::base32_decode(&page.text[start..end]).expect("base32 secret")
}

/// The redirect of a finished sign-in carries a code.
pub(crate) fn assert_code(r: &Reply) {
    let params = redirect_params(&location(r));
    assert!(params.contains_key("code"), "{params:?}");
}

/// A ROPC sign-in of adele through `client` (a public client of `registered_app`).
async fn adele_ropc(h: &Harness, client: &str, password: &str) -> Reply {
    h.form(
        &format!("/{}/oauth2/v2.0/token", h.boot.tenant_id),
        &[
            ("grant_type", "password"),
            ("client_id", client),
            ("username", ADELE),
            ("password", password),
            ("scope", "User.Read"),
        ],
        None,
    )
    .await
}

pub(crate) fn aadsts(r: &Reply) -> i64 {
    r.json["error_codes"][0].as_i64().unwrap_or_default()
}

async fn risk_state(h: &Harness, user: &str) -> Value {
    let reader = h.sign(h.claims(&["IdentityRiskyUser.Read.All"])).await;
    let r = h.graph_with(Method::GET, &format!("/v1.0/identityProtection/riskyUsers/{user}"), None, &reader, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.json["riskState"].clone()
}

pub(crate) async fn confirm_compromised(h: &Harness, user: &str) {
    let writer = h.sign(h.claims(&["IdentityRiskyUser.ReadWrite.All"])).await;
    let path = "/v1.0/identityProtection/riskyUsers/confirmCompromised";
    let r = h.graph_with(Method::POST, path, Some(json!({ "userIds": [user] })), &writer, &[]).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
}

/// Adele registers an authenticator app under a temporary "MFA for everyone" policy; returns
/// the secret and the time steps of the codes spent.
pub(crate) async fn register_totp(h: &Harness, client: &str) -> (Vec<u8>, Vec<i64>) {
    let id =
        enabled_policy(h, "MFA for everyone", json!({}), json!({ "operator": "OR", "builtInControls": ["mfa"] })).await;
    let mut b = Browser::default();
    let page = b.get(h, &authorize_url(h, client, Some("login"))).await;
    let page = b.sign_in(h, &page, ADELE, PASSWORD).await;
    assert!(page.text.contains("otpauth://totp/"), "{}", page.text);
    let secret = secret_of(&page);
    let mut used = Vec::new();
    let done = step(h, &mut b, &page, &[("otc", &fresh_code(&secret, &mut used))]).await;
    assert_code(&done);
    assert_eq!(admin(h, Method::DELETE, &format!("{POLICIES}/{id}"), None).await.status, StatusCode::NO_CONTENT);
    (secret, used)
}

#[tokio::test]
async fn a_risky_user_proves_mfa_before_the_password_changes() {
    let h = harness().await;
    let adele = id_of(&h.user("adele", "Adele Vance").await);
    let (client, _) = registered_app(&h, Some("User.Read")).await;
    let (secret, mut used) = register_totp(&h, &client).await;
    confirm_compromised(&h, &adele).await;
    enabled_policy(
        &h,
        "Secure password change for high user risk",
        json!({ "userRiskLevels": ["high"] }),
        json!({ "operator": "AND", "builtInControls": ["mfa", "passwordChange"] }),
    )
    .await;

    // The password alone leads to the code, not to the password change.
    let mut b = Browser::default();
    let page = b.get(&h, &authorize_url(&h, &client, Some("login"))).await;
    let page = b.sign_in(&h, &page, ADELE, PASSWORD).await;
    assert!(page.text.contains("Enter code"), "{}", page.text);
    assert!(!page.text.contains("Update your password"), "{}", page.text);
    // Whoever holds only the password posts a new one without the code: nothing changes.
    let forged =
        [("step", "change_password"), ("new_password", "Attacker-Pa55!"), ("confirm_password", "Attacker-Pa55!")];
    let (flow, csrf) = (hidden(&page.text, "flow"), hidden(&page.text, "csrf"));
    let mut fields = vec![("flow", flow.as_str()), ("csrf", csrf.as_str())];
    fields.extend_from_slice(&forged);
    let again = b.post(&h, &format!("/{}/oauth2/v2.0/login", h.boot.tenant_id), &fields).await;
    assert!(again.text.contains("Enter code"), "{}", again.text);
    // The password is unchanged (the old one is right: only its second factor is missing), and
    // the risk stands.
    assert_eq!(aadsts(&adele_ropc(&h, &client, "Attacker-Pa55!").await), 50126);
    assert_eq!(aadsts(&adele_ropc(&h, &client, PASSWORD).await), 50076);
    assert_eq!(risk_state(&h, &adele).await, "confirmedCompromised");

    // The code, then the change: the risk is remediated and the application gets its code.
    let code = fresh_code(&secret, &mut used);
    let change = step(&h, &mut b, &again, &[("otc", &code)]).await;
    assert!(change.text.contains("Update your password"), "{}", change.text);
    let done =
        step(&h, &mut b, &change, &[("new_password", "Brand-New-Pa55!"), ("confirm_password", "Brand-New-Pa55!")])
            .await;
    assert_code(&done);
    assert_eq!(risk_state(&h, &adele).await, "remediated");
    assert_eq!(aadsts(&adele_ropc(&h, &client, "Brand-New-Pa55!").await), 50076, "the new password is right");
}

#[tokio::test]
async fn a_reused_sso_session_is_evaluated_like_a_sign_in() {
    let h = harness().await;
    h.user("adele", "Adele Vance").await;
    let (client, _) = registered_app(&h, Some("User.Read")).await;
    let mut b = Browser { forwarded_for: Some("198.51.100.7".into()), ..Browser::default() };
    let page = b.get(&h, &authorize_url(&h, &client, None)).await;
    assert_code(&b.sign_in(&h, &page, ADELE, PASSWORD).await);
    assert_code(&b.get(&h, &authorize_url(&h, &client, Some("none"))).await);

    // A block policy: the session no longer signs anyone in.
    let id = enabled_policy(&h, "Block", json!({}), json!({ "operator": "OR", "builtInControls": ["block"] })).await;
    let page = b.get(&h, &authorize_url(&h, &client, None)).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.text);
    assert!(page.text.contains("53003"), "{}", page.text);
    let silent = redirect_params(&location(&b.get(&h, &authorize_url(&h, &client, Some("none"))).await));
    assert_eq!(silent.get("error").map(String::as_str), Some("interaction_required"), "{silent:?}");
    assert!(silent["error_description"].starts_with("AADSTS53003"), "{silent:?}");
    assert!(!silent.contains_key("code"));

    // Blocked outside a trusted location: the same browser from Tokyo is refused, from Oslo not.
    let office = admin(
        &h,
        Method::POST,
        LOCATIONS,
        Some(json!({
            "@odata.type": "#microsoft.graph.ipNamedLocation",
            "displayName": "Oslo office",
            "isTrusted": true,
            "ipRanges": [{ "@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": "198.51.100.0/24" }],
        })),
    )
    .await;
    assert_eq!(office.status, StatusCode::CREATED, "{}", office.text);
    let outside = json!({
        "users": { "includeUsers": ["All"] },
        "applications": { "includeApplications": ["All"] },
        "locations": { "includeLocations": ["All"], "excludeLocations": ["AllTrusted"] },
    });
    set_policy(&h, &id, json!({ "conditions": outside })).await;
    assert_code(&b.get(&h, &authorize_url(&h, &client, Some("none"))).await);
    b.forwarded_for = Some("203.0.113.9".into());
    let page = b.get(&h, &authorize_url(&h, &client, None)).await;
    assert!(page.text.contains("53003"), "{}", page.text);

    // MFA instead: a silent request hears 50076; an interactive one steps up (Adele registers
    // an app, having none) and the new session satisfies the policy.
    set_policy(&h, &id, json!({ "grantControls": { "operator": "OR", "builtInControls": ["mfa"] } })).await;
    let silent = redirect_params(&location(&b.get(&h, &authorize_url(&h, &client, Some("none"))).await));
    assert_eq!(silent.get("error").map(String::as_str), Some("interaction_required"), "{silent:?}");
    assert!(silent["error_description"].starts_with("AADSTS50076"), "{silent:?}");
    let page = b.get(&h, &authorize_url(&h, &client, None)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(page.text.contains("otpauth://totp/"), "a step-up, not a code: {}", page.text);
    assert!(!page.text.contains("name=\"password\""), "no password asked again: {}", page.text);
    let secret = secret_of(&page);
    let done = step(&h, &mut b, &page, &[("otc", &fresh_code(&secret, &mut Vec::new()))]).await;
    assert_code(&done);
    assert_code(&b.get(&h, &authorize_url(&h, &client, Some("none"))).await);
}

#[tokio::test]
async fn a_risky_session_steps_up_to_a_secure_password_change() {
    let h = harness().await;
    let adele = id_of(&h.user("adele", "Adele Vance").await);
    let (client, _) = registered_app(&h, Some("User.Read")).await;
    let (secret, mut used) = register_totp(&h, &client).await;
    let mut b = Browser::default();
    let page = b.get(&h, &authorize_url(&h, &client, Some("login"))).await;
    let page = b.sign_in(&h, &page, ADELE, PASSWORD).await;
    let code = fresh_code(&secret, &mut used);
    assert_code(&step(&h, &mut b, &page, &[("otc", &code)]).await);

    // The account is then confirmed compromised: the session is at risk.
    confirm_compromised(&h, &adele).await;
    enabled_policy(
        &h,
        "Secure password change for high user risk",
        json!({ "userRiskLevels": ["high"] }),
        json!({ "operator": "AND", "builtInControls": ["mfa", "passwordChange"] }),
    )
    .await;
    let silent = redirect_params(&location(&b.get(&h, &authorize_url(&h, &client, Some("none"))).await));
    assert_eq!(silent.get("error").map(String::as_str), Some("interaction_required"), "{silent:?}");
    // The code first (a stolen session cookie is not enough), then the change.
    let page = b.get(&h, &authorize_url(&h, &client, None)).await;
    assert!(page.text.contains("Enter code"), "{}", page.text);
    assert_eq!(risk_state(&h, &adele).await, "confirmedCompromised");
    let code = fresh_code(&secret, &mut used);
    let change = step(&h, &mut b, &page, &[("otc", &code)]).await;
    assert!(change.text.contains("Update your password"), "{}", change.text);
    let done =
        step(&h, &mut b, &change, &[("new_password", "Brand-New-Pa55!"), ("confirm_password", "Brand-New-Pa55!")])
            .await;
    assert_code(&done);
    assert_eq!(risk_state(&h, &adele).await, "remediated");
}

/// An application exposing an API (its appId is the resource), with a service principal.
async fn api_app(h: &Harness) -> String {
    let r = h.post("/v1.0/applications", json!({ "displayName": "Payroll API" })).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let app_id = r.json["appId"].as_str().expect("appId").to_string();
    let sp = h.post("/v1.0/servicePrincipals", json!({ "appId": app_id })).await;
    assert_eq!(sp.status, StatusCode::CREATED, "{}", sp.text);
    app_id
}

/// A ROPC sign-in of the bootstrap administrator through the bootstrap client for `scope`.
async fn admin_ropc(h: &Harness, scope: &str, correlation: &str) -> Reply {
    let fields = [
        ("grant_type", "password"),
        ("client_id", h.boot.client_id.as_str()),
        ("client_secret", h.boot.client_secret.as_str()),
        ("username", h.boot.admin_user_principal_name.as_str()),
        ("password", h.boot.admin_password.as_str()),
        ("scope", scope),
    ];
    let req = axum::http::Request::builder()
        .method(Method::POST)
        .uri(format!("/{}/oauth2/v2.0/token", h.boot.tenant_id))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("client-request-id", correlation)
        .body(axum::body::Body::from(serde_urlencoded::to_string(fields).expect("form")))
        .expect("request");
    h.send(req).await
}

async fn sign_in_row(h: &Harness, correlation: &str) -> Value {
    let r = h.get(&format!("/beta/auditLogs/signIns?$filter=correlationId%20eq%20%27{correlation}%27")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.json["value"][0].clone()
}

#[tokio::test]
async fn policies_name_target_resources_not_clients() {
    let h = harness().await;
    let api = api_app(&h).await;
    let api_scope = format!("{api}/.default");
    let graph = "https://graph.microsoft.com/.default";
    let block = json!({ "operator": "OR", "builtInControls": ["block"] });
    let id = enabled_policy(
        &h,
        "Block the payroll API",
        json!({ "applications": { "includeApplications": [api] } }),
        block.clone(),
    )
    .await;
    // A token for the API is blocked; one for Graph through the same client is not.
    let r = admin_ropc(&h, &api_scope, "api-included").await;
    assert_eq!(aadsts(&r), 53003, "{}", r.text);
    let row = sign_in_row(&h, "api-included").await;
    assert_eq!(row["appliedConditionalAccessPolicies"][0]["result"], "failure", "{row}");
    let r = admin_ropc(&h, graph, "graph").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let row = sign_in_row(&h, "graph").await;
    assert_eq!(row["appliedConditionalAccessPolicies"][0]["result"], "notApplied", "{row}");

    // Naming the client instead blocks nothing: the client is not a target resource.
    let apps = |a: Value| json!({ "conditions": { "users": { "includeUsers": ["All"] }, "applications": a } });
    let by_client = apps(json!({ "includeApplications": [h.boot.client_id] }));
    set_policy(&h, &id, by_client).await;
    assert_eq!(admin_ropc(&h, graph, "client-named").await.status, StatusCode::OK);

    // All resources but the API: Graph is blocked, the API is not.
    set_policy(&h, &id, apps(json!({ "includeApplications": ["All"], "excludeApplications": [api] }))).await;
    assert_eq!(aadsts(&admin_ropc(&h, graph, "graph-blocked").await), 53003);
    assert_ne!(aadsts(&admin_ropc(&h, &api_scope, "api-excluded").await), 53003);

    // Baseline scopes only are directory access: Azure AD Graph is the audience evaluated.
    set_policy(&h, &id, apps(json!({ "includeApplications": [AAD_GRAPH] }))).await;
    let r = admin_ropc(&h, "openid profile User.Read", "baseline").await;
    assert_eq!(aadsts(&r), 53003, "{}", r.text);
    assert_eq!(admin_ropc(&h, graph, "beyond-baseline").await.status, StatusCode::OK);
    set_policy(&h, &id, apps(json!({ "includeApplications": [GRAPH] }))).await;
    assert_ne!(aadsts(&admin_ropc(&h, "openid profile User.Read", "baseline-graph").await), 53003);
    assert_eq!(aadsts(&admin_ropc(&h, graph, "graph-scope").await), 53003);
}

#[tokio::test]
async fn workload_policies_name_the_resource_in_applications() {
    let h = harness().await;
    let api = api_app(&h).await;
    let token = |scope: String, correlation: &'static str| {
        let h = &h;
        async move {
            let fields = [
                ("grant_type", "client_credentials"),
                ("client_id", h.boot.client_id.as_str()),
                ("client_secret", h.boot.client_secret.as_str()),
                ("scope", scope.as_str()),
            ];
            let req = axum::http::Request::builder()
                .method(Method::POST)
                .uri(format!("/{}/oauth2/v2.0/token", h.boot.tenant_id))
                .header("content-type", "application/x-www-form-urlencoded")
                .header("client-request-id", correlation)
                .body(axum::body::Body::from(serde_urlencoded::to_string(fields).expect("form")))
                .expect("request");
            h.send(req).await
        }
    };
    let body = json!({
        "displayName": "Workloads may not call the payroll API",
        "state": "enabled",
        "conditions": {
            "users": { "includeUsers": ["None"] },
            "applications": { "includeApplications": [api] },
            "clientApplications": { "includeServicePrincipals": ["ServicePrincipalsInMyTenant"] },
        },
        "grantControls": { "operator": "OR", "builtInControls": ["block"] },
    });
    let r = admin(&h, Method::POST, POLICIES, Some(body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let graph = token("https://graph.microsoft.com/.default".into(), "wl-graph").await;
    assert_eq!(graph.status, StatusCode::OK, "{}", graph.text);
    let r = token(format!("{api}/.default"), "wl-api").await;
    assert_eq!(aadsts(&r), 53003, "{}", r.text);
    let filter = "signInEventTypes/any(t:t%20eq%20%27servicePrincipal%27)%20and%20correlationId%20eq%20%27wl-api%27";
    let rows = h.get(&format!("/beta/auditLogs/signIns?$filter={filter}")).await;
    assert_eq!(rows.json["value"][0]["appliedConditionalAccessPolicies"][0]["result"], "failure", "{}", rows.text);
}

#[tokio::test]
async fn a_leaked_password_is_high_risk_for_the_policy_and_the_log() {
    let h = harness().await;
    let body = json!({
        "accountEnabled": true,
        "displayName": "Lee Gu",
        "mailNickname": "lee",
        "userPrincipalName": "lee@contoso.onmicrosoft.com",
        "passwordProfile": { "forceChangePasswordNextSignIn": false, "password": LEAKED },
    });
    let created = h.post("/v1.0/users", body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    enabled_policy(
        &h,
        "MFA for high sign-in risk",
        json!({ "signInRiskLevels": ["high"] }),
        json!({ "operator": "OR", "builtInControls": ["mfa"] }),
    )
    .await;
    let (client, _) = registered_app(&h, Some("User.Read")).await;

    // At the token endpoint: MFA is required (50076), and the log shows the same risk.
    let fields = [
        ("grant_type", "password"),
        ("client_id", client.as_str()),
        ("username", "lee@contoso.onmicrosoft.com"),
        ("password", LEAKED),
        ("scope", "User.Read"),
    ];
    let req = axum::http::Request::builder()
        .method(Method::POST)
        .uri(format!("/{}/oauth2/v2.0/token", h.boot.tenant_id))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("client-request-id", "leaked-ropc")
        .body(axum::body::Body::from(serde_urlencoded::to_string(fields).expect("form")))
        .expect("request");
    let r = h.send(req).await;
    assert_eq!(aadsts(&r), 50076, "{}", r.text);
    let row = sign_in_row(&h, "leaked-ropc").await;
    assert_eq!(row["riskLevelDuringSignIn"], "high", "{row}");
    assert_eq!(row["riskEventTypes_v2"], json!(["leakedCredentials"]), "{row}");
    assert_eq!(row["status"]["errorCode"], 50076, "{row}");
    assert_eq!(row["appliedConditionalAccessPolicies"][0]["result"], "failure", "{row}");

    // On the sign-in page: the second factor is asked for (registration: Lee has none).
    let mut b = Browser::default();
    let page = b.get(&h, &authorize_url(&h, &client, Some("login"))).await;
    let page = b.sign_in(&h, &page, "lee@contoso.onmicrosoft.com", LEAKED).await;
    assert!(page.text.contains("otpauth://totp/"), "{}", page.text);
}
