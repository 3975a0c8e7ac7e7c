//! Conditional Access refusals in the sign-in log (issue 7): a policy refusing the sign-in page
//! (block, device, a risky user without a method) or a reused SSO session, and every other
//! refusal of a session at the authorize endpoint, is one failed interactive sign-in naming the
//! user, with the policy that refused and its enforced controls, the steps done before the
//! refusal and the attempt's risk. On-behalf-of evaluates the user's policies against the
//! downstream resource: a block is AADSTS53003, missing MFA a claims challenge, report-only
//! policies are recorded and never enforced.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::browser::{Browser, GRAPH, PASSWORD, location, redirect_params, registered_app};
use crate::ca_session::{
    ADELE, POLICIES, aadsts, admin, assert_code, authorize_url, confirm_compromised, enabled_policy, harness,
    register_totp, set_policy,
};
use crate::harness::{Harness, PUBLIC_URL, Reply, id_of};
use crate::token_versions::{grant, web_api};

const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// A password of the leaked-credentials list of `ca_session::harness`.
const LEAKED: &str = "Tr0ub4dor&3-was-leaked";
const BLOCK: &str = r#"{ "operator": "OR", "builtInControls": ["block"] }"#;
const MFA: &str = r#"{ "operator": "OR", "builtInControls": ["mfa"] }"#;

fn controls(text: &str) -> Value {
    serde_json::from_str(text).expect("controls")
}

/// The beta sign-in log rows of `user` failing with `code`.
async fn rows(h: &Harness, user: &str, code: u32) -> Vec<Value> {
    let filter = format!("userId eq '{user}' and status/errorCode eq {code}");
    let filter = filter.replace(' ', "%20").replace('\'', "%27");
    let r = h.get(&format!("/beta/auditLogs/signIns?$filter={filter}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.json["value"].as_array().cloned().unwrap_or_default()
}

/// The one row of `user` failing with `code`.
async fn one_row(h: &Harness, user: &str, code: u32) -> Value {
    let found = rows(h, user, code).await;
    assert_eq!(found.len(), 1, "one row for {code}: {found:?}");
    found[0].clone()
}

/// The row's line for the policy named `name`.
fn policy_line(row: &Value, name: &str) -> Value {
    let lines = row["appliedConditionalAccessPolicies"].as_array().cloned().unwrap_or_default();
    lines.into_iter().find(|l| l["displayName"] == name).unwrap_or_else(|| panic!("no line for {name}: {row}"))
}

fn first_method(row: &Value) -> &Value {
    &row["authenticationDetails"][0]["authenticationMethod"]
}

async fn report_only_policy(h: &Harness, name: &str, conditions: Value, grant_controls: Value) -> String {
    let id = enabled_policy(h, name, conditions, grant_controls).await;
    set_policy(h, &id, json!({ "state": "enabledForReportingButNotEnforced" })).await;
    id
}

#[tokio::test]
async fn a_policy_refusing_the_sign_in_page_is_logged() {
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
    let lee = id_of(&created.json);
    let (client, _) = registered_app(&h, Some("User.Read")).await;
    let block =
        enabled_policy(&h, "Block high sign-in risk", json!({ "signInRiskLevels": ["high"] }), controls(BLOCK)).await;
    report_only_policy(&h, "MFA for everyone (report-only)", json!({}), controls(MFA)).await;

    // The leaked password makes the attempt high risk: the page refuses after the password.
    let mut b = Browser { forwarded_for: Some("203.0.113.9".into()), ..Browser::default() };
    let page = b.get(&h, &authorize_url(&h, &client, None)).await;
    let refused = b.sign_in(&h, &page, "lee@contoso.onmicrosoft.com", LEAKED).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text);
    assert!(refused.text.contains("53003"), "{}", refused.text);

    let row = one_row(&h, &lee, 53003).await;
    assert_eq!(row["status"]["failureReason"], "Access has been blocked by Conditional Access policies.", "{row}");
    assert_eq!(row["conditionalAccessStatus"], "failure", "{row}");
    let line = policy_line(&row, "Block high sign-in risk");
    assert_eq!(line["result"], "failure", "{row}");
    assert_eq!(line["enforcedGrantControls"], json!(["block"]), "{row}");
    let report_only = policy_line(&row, "MFA for everyone (report-only)");
    assert_eq!(report_only["result"], "reportOnlyFailure", "{row}");
    assert_eq!(report_only["enforcedGrantControls"], json!(["mfa"]), "{row}");
    // What was done before the block, and the risk that decided it (the attempt's own).
    assert_eq!(first_method(&row), "Password", "{row}");
    assert_eq!(row["authenticationDetails"][0]["succeeded"], true, "{row}");
    assert_eq!(row["riskLevelDuringSignIn"], "high", "{row}");
    assert_eq!(row["riskEventTypes_v2"], json!(["leakedCredentials"]), "{row}");
    assert_eq!(row["isInteractive"], true, "{row}");
    assert_eq!(row["clientAppUsed"], "Browser", "{row}");
    assert_eq!(row["appId"], client, "{row}");
    assert_eq!(row["ipAddress"], "203.0.113.9", "{row}");

    // A device requirement instead: AADSTS53000, with the device control enforced.
    let device = json!({ "operator": "OR", "builtInControls": ["compliantDevice"] });
    set_policy(&h, &block, json!({ "grantControls": device })).await;
    let page = b.get(&h, &authorize_url(&h, &client, None)).await;
    let refused = b.sign_in(&h, &page, "lee@contoso.onmicrosoft.com", LEAKED).await;
    assert!(refused.text.contains("53000"), "{}", refused.text);
    let row = one_row(&h, &lee, 53000).await;
    assert_eq!(row["conditionalAccessStatus"], "failure", "{row}");
    assert_eq!(policy_line(&row, "Block high sign-in risk")["enforcedGrantControls"], json!(["compliantDevice"]));
}

#[tokio::test]
async fn a_risky_user_without_a_method_is_logged_on_the_page_and_from_the_session() {
    let h = harness().await;
    let adele = id_of(&h.user("adele", "Adele Vance").await);
    let (client, _) = registered_app(&h, Some("User.Read")).await;
    let mut b = Browser::default();
    let page = b.get(&h, &authorize_url(&h, &client, None)).await;
    assert_code(&b.sign_in(&h, &page, ADELE, PASSWORD).await);
    confirm_compromised(&h, &adele).await;
    enabled_policy(
        &h,
        "Secure password change for high user risk",
        json!({ "userRiskLevels": ["high"] }),
        json!({ "operator": "AND", "builtInControls": ["mfa", "passwordChange"] }),
    )
    .await;

    // The session steps up, but Adele has no method: AADSTS53004, logged as the session's.
    let refused = b.get(&h, &authorize_url(&h, &client, None)).await;
    assert!(refused.text.contains("53004"), "{}", refused.text);
    let row = one_row(&h, &adele, 53004).await;
    assert_eq!(first_method(&row), "Previously satisfied", "{row}");
    assert_eq!(row["conditionalAccessStatus"], "failure", "{row}");
    let line = policy_line(&row, "Secure password change for high user risk");
    assert_eq!(line["result"], "failure", "{row}");
    assert_eq!(line["enforcedGrantControls"], json!(["mfa", "passwordChange"]), "{row}");

    // The password on the page: the same refusal, after a correct password.
    let page = b.get(&h, &authorize_url(&h, &client, Some("login"))).await;
    let refused = b.sign_in(&h, &page, ADELE, PASSWORD).await;
    assert!(refused.text.contains("53004"), "{}", refused.text);
    let found = rows(&h, &adele, 53004).await;
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found.iter().any(|r| first_method(r) == "Password"), "{found:?}");
}

#[tokio::test]
async fn every_refusal_of_an_sso_session_is_logged() {
    let h = harness().await;
    let adele = id_of(&h.user("adele", "Adele Vance").await);
    let (client, _) = registered_app(&h, Some("User.Read")).await;
    let mut b = Browser::default();
    let page = b.get(&h, &authorize_url(&h, &client, None)).await;
    assert_code(&b.sign_in(&h, &page, ADELE, PASSWORD).await);

    // A block: the interactive request (error page) and the silent one (to the application).
    let id = enabled_policy(&h, "Block", json!({}), controls(BLOCK)).await;
    let page = b.get(&h, &authorize_url(&h, &client, None)).await;
    assert!(page.text.contains("53003"), "{}", page.text);
    let silent = redirect_params(&location(&b.get(&h, &authorize_url(&h, &client, Some("none"))).await));
    assert_eq!(silent.get("error").map(String::as_str), Some("interaction_required"), "{silent:?}");
    let found = rows(&h, &adele, 53003).await;
    assert_eq!(found.len(), 2, "{found:?}");
    for row in &found {
        assert_eq!(first_method(row), "Previously satisfied", "{row}");
        assert_eq!(row["status"]["failureReason"], "Access has been blocked by Conditional Access policies.");
        assert_eq!(policy_line(row, "Block")["result"], "failure", "{row}");
        assert_eq!(policy_line(row, "Block")["enforcedGrantControls"], json!(["block"]), "{row}");
        assert_eq!(row["signInEventTypes"], json!(["interactiveUser"]), "{row}");
    }

    // MFA the session lacks, asked silently: interaction_required, AADSTS50076.
    set_policy(&h, &id, json!({ "grantControls": controls(MFA) })).await;
    let silent = redirect_params(&location(&b.get(&h, &authorize_url(&h, &client, Some("none"))).await));
    assert!(silent["error_description"].starts_with("AADSTS50076"), "{silent:?}");
    let row = one_row(&h, &adele, 50076).await;
    assert_eq!(policy_line(&row, "Block")["enforcedGrantControls"], json!(["mfa"]), "{row}");
    assert_eq!(row["conditionalAccessStatus"], "failure", "{row}");

    // The application's own refusal of the session: no consent (AADSTS65001).
    assert_eq!(admin(&h, Method::DELETE, &format!("{POLICIES}/{id}"), None).await.status, StatusCode::NO_CONTENT);
    let (unconsented, _) = registered_app(&h, None).await;
    let silent = redirect_params(&location(&b.get(&h, &authorize_url(&h, &unconsented, Some("none"))).await));
    assert_eq!(silent.get("error").map(String::as_str), Some("consent_required"), "{silent:?}");
    let row = one_row(&h, &adele, 65001).await;
    assert_eq!(row["appId"], unconsented, "{row}");
    assert_eq!(first_method(&row), "Previously satisfied", "{row}");
}

/// The middle tier (a confidential web API consented to Graph's `Mail.Read`, beyond the
/// baseline scopes that Conditional Access evaluates as Azure AD Graph) and Adele.
struct Obo {
    h: Harness,
    adele: String,
    api_id: String,
    api_secret: String,
}

async fn obo_setup() -> Obo {
    let h = harness().await;
    let adele = id_of(&h.user("adele", "Adele Vance").await);
    let (api_id, api_oid, api_sp) = web_api(&h, Some(2)).await;
    let pw = h.post(&format!("/v1.0/applications/{api_oid}/addPassword"), json!({})).await;
    let api_secret = pw.json["secretText"].as_str().expect("secret").to_string();
    let graph_sp = id_of(&h.get(&format!("/v1.0/servicePrincipals(appId='{GRAPH}')")).await.json);
    grant(&h, &api_sp, &graph_sp, "User.Read Mail.Read").await;
    Obo { h, adele, api_id, api_secret }
}

impl Obo {
    /// Adele's token for the API, signed in with `amr`.
    async fn assertion(&self, amr: &[&str]) -> String {
        self.assertion_issued(amr, time::OffsetDateTime::now_utc().unix_timestamp() - 10).await
    }

    /// Adele's token for the API, signed in with `amr`, issued at `iat` and valid an hour from now.
    async fn assertion_issued(&self, amr: &[&str], iat: i64) -> String {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let tenant = &self.h.boot.tenant_id;
        self.h
            .sign(json!({
                "aud": self.api_id,
                "iss": format!("{PUBLIC_URL}/{tenant}/v2.0"),
                "tid": tenant,
                "oid": self.adele,
                "sub": "pairwise-subject",
                "idtyp": "user",
                "scp": "access_as_user",
                "amr": amr,
                "ver": "2.0",
                "iat": iat,
                "nbf": iat,
                "exp": now + 3600,
            }))
            .await
    }

    /// The API exchanges Adele's token (with `amr`) for Graph; `correlation` finds the row.
    async fn exchange(&self, amr: &[&str], correlation: &str) -> Reply {
        let assertion = self.assertion(amr).await;
        self.exchange_assertion(&assertion, correlation).await
    }

    /// The API exchanges `assertion` for Graph; `correlation` finds the row.
    async fn exchange_assertion(&self, assertion: &str, correlation: &str) -> Reply {
        let fields = [
            ("grant_type", JWT_BEARER),
            ("requested_token_use", "on_behalf_of"),
            ("client_id", self.api_id.as_str()),
            ("client_secret", self.api_secret.as_str()),
            ("assertion", assertion),
            ("scope", "https://graph.microsoft.com/Mail.Read"),
        ];
        let req = axum::http::Request::builder()
            .method(Method::POST)
            .uri(format!("/{}/oauth2/v2.0/token", self.h.boot.tenant_id))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("client-request-id", correlation)
            .body(axum::body::Body::from(serde_urlencoded::to_string(fields).expect("form")))
            .expect("request");
        self.h.send(req).await
    }

    /// The non-interactive sign-in (listed only when asked for, as in Graph) of `correlation`.
    async fn row(&self, correlation: &str) -> Value {
        let filter = format!("signInEventTypes/any(t:t eq 'nonInteractiveUser') and correlationId eq '{correlation}'")
            .replace(' ', "%20")
            .replace('\'', "%27");
        let r = self.h.get(&format!("/beta/auditLogs/signIns?$filter={filter}")).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        r.json["value"][0].clone()
    }
}

/// The policy ids of an on-behalf-of claims challenge.
fn polids(r: &Reply) -> Value {
    let claims: Value = serde_json::from_str(r.json["claims"].as_str().expect("a claims challenge")).expect("json");
    assert_eq!(claims["access_token"]["polids"]["essential"], true, "{claims}");
    claims["access_token"]["polids"]["values"].clone()
}

#[tokio::test]
async fn on_behalf_of_evaluates_the_users_policies_for_the_downstream_resource() {
    let o = obo_setup().await;
    let h = &o.h;
    // Without a policy the exchange works, and is logged as Adele's non-interactive sign-in.
    let r = o.exchange(&["pwd"], "obo-free").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    // MFA for Graph only: the API's own token was not subject to it, the downstream one is.
    let mfa = enabled_policy(
        h,
        "MFA for Graph",
        json!({ "applications": { "includeApplications": [GRAPH] }, "clientAppTypes": ["all"] }),
        controls(MFA),
    )
    .await;
    let r = o.exchange(&["pwd"], "obo-enrol").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.json["error"], "interaction_required", "{}", r.text);
    assert_eq!(aadsts(&r), 50079, "no method registered: enrol first: {}", r.text);
    assert_eq!(polids(&r), json!([mfa]), "{}", r.text);
    let row = o.row("obo-enrol").await;
    assert_eq!(row["status"]["errorCode"], 50079, "{row}");
    assert_eq!(row["userId"], o.adele, "{row}");
    assert_eq!(row["signInEventTypes"], json!(["nonInteractiveUser"]), "{row}");
    assert_eq!(row["resourceId"], GRAPH, "{row}");
    assert_eq!(row["conditionalAccessStatus"], "failure", "{row}");
    assert_eq!(policy_line(&row, "MFA for Graph")["result"], "failure", "{row}");
    assert_eq!(policy_line(&row, "MFA for Graph")["enforcedGrantControls"], json!(["mfa"]), "{row}");

    // An assertion from a multi-factor sign-in satisfies it.
    let r = o.exchange(&["pwd", "otp", "mfa"], "obo-mfa").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let row = o.row("obo-mfa").await;
    assert_eq!(row["conditionalAccessStatus"], "success", "{row}");
    assert_eq!(policy_line(&row, "MFA for Graph")["result"], "success", "{row}");

    // Report-only: recorded as it would have failed, not enforced.
    set_policy(h, &mfa, json!({ "state": "enabledForReportingButNotEnforced" })).await;
    let r = o.exchange(&["pwd"], "obo-report-only").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let row = o.row("obo-report-only").await;
    assert_eq!(row["status"]["errorCode"], 0, "{row}");
    assert_eq!(row["conditionalAccessStatus"], "notApplied", "{row}");
    assert_eq!(policy_line(&row, "MFA for Graph")["result"], "reportOnlyFailure", "{row}");

    // A block: AADSTS53003, whatever the assertion's methods.
    set_policy(h, &mfa, json!({ "state": "enabled", "grantControls": controls(BLOCK) })).await;
    let r = o.exchange(&["pwd", "otp", "mfa"], "obo-block").await;
    assert_eq!(r.json["error"], "invalid_grant", "{}", r.text);
    assert_eq!(aadsts(&r), 53003, "{}", r.text);
    let row = o.row("obo-block").await;
    assert_eq!(row["status"]["errorCode"], 53003, "{row}");
    assert_eq!(policy_line(&row, "MFA for Graph")["enforcedGrantControls"], json!(["block"]), "{row}");
}

#[tokio::test]
async fn on_behalf_of_challenges_a_user_with_a_method_to_do_mfa() {
    let o = obo_setup().await;
    let (client, _) = registered_app(&o.h, Some("User.Read")).await;
    register_totp(&o.h, &client).await;
    let mfa = enabled_policy(&o.h, "MFA for everyone", json!({}), controls(MFA)).await;
    let r = o.exchange(&["pwd"], "obo-step-up").await;
    assert_eq!(r.json["error"], "interaction_required", "{}", r.text);
    assert_eq!(aadsts(&r), 50076, "{}", r.text);
    assert_eq!(r.json["suberror"], "basic_action", "{}", r.text);
    assert_eq!(polids(&r), json!([mfa]), "{}", r.text);
    assert_eq!(o.row("obo-step-up").await["status"]["errorCode"], 50076);
}

/// A sign-in frequency on the downstream resource: the assertion's `iat` bounds the user's
/// authentication from below, so an assertion older than the frequency is refused with
/// AADSTS70044 and a claims challenge naming the policy, and the refusal is logged.
#[tokio::test]
async fn on_behalf_of_honours_the_sign_in_frequency_of_the_downstream_resource() {
    let o = obo_setup().await;
    let h = &o.h;
    let hourly = enabled_policy(
        h,
        "Hourly for Graph",
        json!({ "applications": { "includeApplications": [GRAPH] } }),
        controls(MFA),
    )
    .await;
    set_policy(
        h,
        &hourly,
        json!({ "sessionControls": { "signInFrequency": { "isEnabled": true, "value": 1, "type": "hours" } } }),
    )
    .await;
    let mfa = ["pwd", "otp", "mfa"];
    let r = o.exchange(&mfa, "obo-fresh").await;
    assert_eq!(r.status, StatusCode::OK, "a fresh assertion: {}", r.text);

    let two_hours_ago = time::OffsetDateTime::now_utc().unix_timestamp() - 2 * 3600;
    let old = o.assertion_issued(&mfa, two_hours_ago).await;
    let r = o.exchange_assertion(&old, "obo-stale").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.json["error"], "interaction_required", "{}", r.text);
    assert_eq!(aadsts(&r), 70044, "{}", r.text);
    assert_eq!(polids(&r), json!([hourly]), "{}", r.text);
    assert_eq!(o.row("obo-stale").await["status"]["errorCode"], 70044);

    // Without the session control the same assertion is accepted.
    set_policy(h, &hourly, json!({ "sessionControls": null })).await;
    let r = o.exchange_assertion(&old, "obo-no-frequency").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}
