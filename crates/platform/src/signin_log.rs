//! The sign-in log: one record per attempt at the token endpoint and at the sign-in page
//! (refused passwords, completed sign-ins), successful or not, in Graph's `signIn` shape.
//!
//! A record is built from what identifies the attempt — the tenant, the client's `appId`, the
//! user name, the resource asked for, the outcome's AADSTS number, the client IP (see
//! [`crate::client_ip`]), the User-Agent — and never from its credentials: no password, secret,
//! assertion, code or token is read here except the access token just issued, whose claims
//! (not the token) name the user and resource of a success.
//!
//! Recording is best effort: a sign-in log write that fails is logged and does not fail the
//! sign-in, as a token already issued cannot be taken back.

use std::net::IpAddr;

use axum::http::HeaderMap;
use base64::Engine;
use cerulean_directory::workload_risk::WorkloadNames;
use cerulean_identity::risk::Finding;
use cerulean_store::SignInRecord;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::PlatformState;

/// What the endpoint knew about one attempt.
#[derive(Debug, Clone, Default)]
pub(crate) struct SignInAttempt {
    /// The tenant segment of the URL as sent (a GUID, a domain, `common`, `organizations`).
    pub tenant_segment: String,
    pub grant_type: Option<String>,
    pub client_id: Option<String>,
    /// The user name typed (ROPC) or otherwise named by the request.
    pub username: Option<String>,
    /// The user the attempt had identified when it was refused after the first factor (a
    /// Conditional Access refusal on the sign-in page or of an SSO session).
    pub user_id: Option<Uuid>,
    /// `scope` (v2) as sent, or the default scope of the `resource` (v1).
    pub resource_hint: Option<String>,
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
    /// MSAL's `x-client-SKU`, `x-client-Ver` and `x-client-OS` headers.
    pub client_sku: Option<(String, String, String)>,
    pub correlation_id: Option<String>,
    /// Whether the user interacted (the authorize endpoint; ROPC, where the user typed a
    /// password into the client).
    pub interactive: Option<bool>,
    /// The password given (ROPC) is in the leaked-credentials list (checked by digest when the
    /// request was read; the password itself is never kept here).
    pub leaked_password: bool,
    /// The steps of the authentication as the sign-in page saw them (beta's
    /// `authenticationDetails`); empty where the endpoint does not know them.
    pub steps: Vec<AuthStep>,
    /// `status.failureReason` as Entra words it, where it is more than the description's first
    /// sentence.
    pub failure_reason: Option<String>,
    /// What Conditional Access assessed during the attempt (its risk findings and target
    /// resource), so the log records the same (see [`crate::attempt`]).
    pub assessed: Option<crate::attempt::Assessed>,
    /// Single sign-on: the browser's session signed the user in (no credential presented);
    /// `authenticationDetails` says "Previously satisfied", dated at the session's sign-in.
    pub previously_satisfied: Option<i64>,
    /// The client credential proven at the token endpoint (kind and key id).
    pub credential: Option<crate::attempt::Credential>,
}

/// One step of an authentication (Graph beta's `authenticationDetail`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AuthStep {
    /// `authenticationMethod` as Entra's sign-in log names it.
    pub method: &'static str,
    /// `Primary authentication` or `MFA`.
    pub requirement: &'static str,
    pub succeeded: bool,
    /// `authenticationMethodDetail`.
    pub detail: Option<String>,
}

/// Entra's names of the methods of the sign-in page (`authenticationMethod`).
pub(crate) const METHOD_PASSWORD: &str = "Password";
pub(crate) const METHOD_PASSKEY: &str = "Passkey (device-bound)";
pub(crate) const METHOD_OATH: &str = "Software OATH token";
pub(crate) const PRIMARY: &str = "Primary authentication";
pub(crate) const MFA: &str = "MFA";

impl AuthStep {
    pub(crate) fn new(method: &'static str, requirement: &'static str, succeeded: bool) -> AuthStep {
        let detail = (method == METHOD_PASSWORD).then(|| "Password in the cloud".to_string());
        AuthStep { method, requirement, succeeded, detail }
    }
}

/// The steps of a completed sign-in with these `amr` values, in the order they happened.
pub(crate) fn steps_of(amr: &[String]) -> Vec<AuthStep> {
    let mut steps = Vec::new();
    for m in amr {
        let method = match m.as_str() {
            "pwd" => METHOD_PASSWORD,
            "fido" => METHOD_PASSKEY,
            "otp" => METHOD_OATH,
            _ => continue,
        };
        let requirement = if steps.is_empty() { PRIMARY } else { MFA };
        steps.push(AuthStep::new(method, requirement, true));
    }
    steps
}

/// `authenticationDetails`, `authenticationMethodsUsed` and `mfaDetail` of the steps, the
/// failed step's `authenticationStepResultDetail` being `failure` (the failure reason).
fn authentication_json(steps: &[AuthStep], at: &str, failure: Option<&str>) -> (Value, Value, Value) {
    let details: Vec<Value> = steps
        .iter()
        .map(|s| {
            let result = match (s.succeeded, s.method, s.requirement) {
                (false, _, _) => failure.unwrap_or("Authentication failed").to_string(),
                (true, METHOD_PASSWORD, _) => "Correct password".to_string(),
                (true, _, MFA) => "MFA successfully completed".to_string(),
                (true, _, _) => "methodSucceeded".to_string(),
            };
            json!({
                "authenticationStepDateTime": at,
                "authenticationMethod": s.method,
                "authenticationMethodDetail": s.detail,
                "succeeded": s.succeeded,
                "authenticationStepResultDetail": result,
                "authenticationStepRequirement": s.requirement,
            })
        })
        .collect();
    let mut used: Vec<&str> = Vec::new();
    for s in steps.iter().filter(|s| s.succeeded) {
        if !used.contains(&s.method) {
            used.push(s.method);
        }
    }
    let mfa = steps
        .iter()
        .find(|s| s.succeeded && (s.requirement == MFA || s.method == METHOD_PASSKEY))
        .map_or(Value::Null, |s| json!({"authMethod": s.method, "authDetail": s.detail}));
    (Value::Array(details), json!(used), mfa)
}

impl SignInAttempt {
    /// The request facts of the headers.
    pub(crate) fn from_headers(headers: &HeaderMap, tenant_segment: &str, ip: IpAddr) -> SignInAttempt {
        let header = |name: &str| {
            headers.get(name).and_then(|v| v.to_str().ok()).map(|s| s.chars().take(512).collect::<String>())
        };
        let client_sku = header("x-client-sku")
            .map(|sku| (sku, header("x-client-ver").unwrap_or_default(), header("x-client-os").unwrap_or_default()));
        SignInAttempt {
            tenant_segment: tenant_segment.to_string(),
            ip: Some(ip),
            user_agent: header("user-agent"),
            client_sku,
            correlation_id: header("client-request-id"),
            ..SignInAttempt::default()
        }
    }
}

/// The outcome of an attempt.
pub(crate) enum Outcome<'a> {
    /// Tokens were issued; the claims of the access token (already verified: we just signed it).
    Success(&'a Map<String, Value>),
    /// Refused with this OAuth error, AADSTS number and description.
    Failure { error: &'a str, code: u32, description: &'a str },
}

/// Records one attempt. Never fails the caller.
pub(crate) async fn record(state: &PlatformState, attempt: &SignInAttempt, outcome: Outcome<'_>) {
    // A device-code client polling before the user finished is not a sign-in attempt (it
    // would write one failure every few seconds per waiting device).
    if let Outcome::Failure { error: "authorization_pending" | "slow_down", .. } = outcome {
        return;
    }
    match build(state, attempt, &outcome).await {
        Ok(Some(Built { tenant, record: rec, findings, workload })) => {
            let written = match &workload {
                Some(sp) => state.directory.record_workload_sign_in_with_risk(tenant, &rec, sp, &findings).await,
                None => state.directory.record_sign_in_with_risk(tenant, &rec, &findings).await,
            };
            match written {
                Ok(()) if workload.is_some() => crate::sign_in_risk::note_workload_sign_in(state, tenant, &rec),
                Ok(()) => {}
                Err(e) => tracing::warn!(error = %e, "recording a sign-in failed"),
            }
        }
        Ok(None) => {
            tracing::debug!(tenant = %attempt.tenant_segment, "sign-in attempt for no known tenant: not logged")
        }
        Err(e) => tracing::warn!(error = %e, "building a sign-in record failed"),
    }
}

/// Records a sign-in completed on the sign-in page (the browser flow and the device-code
/// flow's page): an interactive sign-in from the browser's address and User-Agent, which is
/// what the detections must see — the application that later redeems the code signs in from
/// its own host. `leaked_password`: the password typed is in the leaked-credentials list
/// (checked by digest when the form was read; the password is not kept).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn record_page_sign_in(
    state: &PlatformState,
    headers: &HeaderMap,
    ip: IpAddr,
    tenant: Uuid,
    client_id: &str,
    user: Uuid,
    amr: &[String],
    resource_hint: Option<String>,
    leaked_password: bool,
) {
    let mut attempt = SignInAttempt::from_headers(headers, &tenant.to_string(), ip);
    attempt.client_id = Some(client_id.to_string());
    attempt.interactive = Some(true);
    attempt.resource_hint = resource_hint;
    attempt.leaked_password = leaked_password;
    attempt.steps = steps_of(amr);
    attempt.assessed = crate::attempt::assessed_for(Some(user));
    // What a token of this sign-in would say: the tenant, the user, the client, the methods.
    let claims = json!({"tid": tenant.to_string(), "oid": user.to_string(), "azp": client_id, "amr": amr});
    let Value::Object(claims) = claims else { return };
    record(state, &attempt, Outcome::Success(&claims)).await;
}

/// Records a single sign-on at the authorize endpoint: the browser's SSO session signed the
/// user in, nothing was typed. Entra logs it as an interactive sign-in whose authentication
/// steps were "Previously satisfied"; the methods are the session's.
pub(crate) async fn record_sso_sign_in(
    state: &PlatformState,
    headers: &HeaderMap,
    ip: IpAddr,
    tenant: Uuid,
    client_id: &str,
    session: &crate::session::Session,
    resource_hint: Option<String>,
) {
    let mut attempt = SignInAttempt::from_headers(headers, &tenant.to_string(), ip);
    attempt.client_id = Some(client_id.to_string());
    attempt.interactive = Some(true);
    attempt.resource_hint = resource_hint;
    attempt.previously_satisfied = Some(session.auth_time);
    let claims = json!({
        "tid": tenant.to_string(),
        "oid": session.user.id.to_string(),
        "azp": client_id,
        "amr": session.amr,
    });
    let Value::Object(claims) = claims else { return };
    record(state, &attempt, Outcome::Success(&claims)).await;
}

/// A sign-in refused after the user was identified, on the sign-in page (Conditional Access
/// after the password or a passkey) or at the authorize endpoint (an SSO session Conditional
/// Access or the application refuses).
pub(crate) struct Refusal<'a> {
    pub headers: &'a HeaderMap,
    pub ip: IpAddr,
    pub tenant: Uuid,
    pub client_id: &'a str,
    pub user: &'a cerulean_store::ObjectRecord,
    /// The steps done before the refusal (the page's password or passkey); empty for an SSO
    /// session, whose methods were "Previously satisfied" at `session_auth_time`.
    pub steps: Vec<AuthStep>,
    pub session_auth_time: Option<i64>,
    /// The scopes (v2) or resource (v1) of the authorization request, when there is one.
    pub resource_hint: Option<String>,
    pub error: &'a crate::error::OAuthError,
}

/// Records a refusal: an interactive sign-in failing with the error's AADSTS code, whose
/// Conditional Access lines and risk are those of the evaluation that ran in this attempt (see
/// [`crate::attempt`]), so the row shows the policy that refused and its enforced controls.
pub(crate) async fn record_refusal(state: &PlatformState, r: Refusal<'_>) {
    let mut attempt = SignInAttempt::from_headers(r.headers, &r.tenant.to_string(), r.ip);
    attempt.client_id = Some(r.client_id.to_string());
    attempt.interactive = Some(true);
    attempt.user_id = Some(r.user.id);
    attempt.resource_hint = r.resource_hint;
    attempt.steps = r.steps;
    attempt.previously_satisfied = r.session_auth_time;
    attempt.assessed = crate::attempt::assessed_for(Some(r.user.id));
    let outcome = Outcome::Failure { error: r.error.error, code: r.error.code, description: &r.error.description };
    record(state, &attempt, outcome).await;
}

/// Beta's `authenticationDetails` of a single sign-on: each factor the session carries,
/// satisfied earlier (at `auth_time`) and now claimed from the session rather than asked for.
fn previously_satisfied(auth_time: i64, multi: bool) -> Value {
    let at = time::OffsetDateTime::from_unix_timestamp(auth_time)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok());
    let step = |requirement: &str, detail: &str| {
        json!({
            "authenticationStepDateTime": at,
            "authenticationMethod": "Previously satisfied",
            "authenticationMethodDetail": null,
            "succeeded": true,
            "authenticationStepResultDetail": detail,
            "authenticationStepRequirement": requirement,
        })
    };
    let mut steps = vec![step("Primary authentication", "First factor requirement satisfied by claim in the token")];
    if multi {
        steps.push(step("Primary authentication", "MFA requirement satisfied by claim in the token"));
    }
    Value::Array(steps)
}

/// Grants whose user signed in on the sign-in page, where the sign-in was assessed: their
/// token request comes from the application's host, not the user's browser.
fn assessed_on_the_page(grant_type: Option<&str>) -> bool {
    matches!(grant_type, Some("authorization_code" | "device_code" | "urn:ietf:params:oauth:grant-type:device_code"))
}

/// Decodes the claims of a JWT we issued (no verification: it never left this process).
pub(crate) fn token_claims(token: &str) -> Option<Map<String, Value>> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

/// A sign-in record ready to write, with the risk found for it: a user's detections, or (when
/// `workload` names the service principal signing in as itself) the service principal's.
struct Built {
    tenant: Uuid,
    record: SignInRecord,
    findings: Vec<Finding>,
    workload: Option<WorkloadNames>,
}

async fn build(
    state: &PlatformState,
    a: &SignInAttempt,
    outcome: &Outcome<'_>,
) -> Result<Option<Built>, cerulean_directory::DirectoryError> {
    let dir = &state.directory;
    let claim = |name: &str| match outcome {
        Outcome::Success(c) => c.get(name).and_then(Value::as_str).map(str::to_string),
        Outcome::Failure { .. } => None,
    };
    // The tenant: the token's, else the URL's, else (common/organizations) the user's domain.
    let mut tenant = claim("tid").and_then(|t| Uuid::parse_str(&t).ok());
    if tenant.is_none() && !matches!(a.tenant_segment.as_str(), "common" | "organizations" | "consumers") {
        tenant = dir.resolve_tenant(&a.tenant_segment).await?.map(|t| t.id);
    }
    if tenant.is_none()
        && let Some(domain) = a.username.as_deref().and_then(|u| u.rsplit_once('@')).map(|(_, d)| d)
    {
        tenant = dir.resolve_tenant(domain).await?.map(|t| t.id);
    }
    let Some(tenant) = tenant else { return Ok(None) };

    let app_id = claim("appid").or_else(|| claim("azp")).or_else(|| a.client_id.clone());
    let app = match app_id.as_deref() {
        Some(id) => dir.token_service_principal(tenant, id).await?,
        None => None,
    };
    let app_name = app.as_ref().and_then(|o| o.doc.get("displayName")).and_then(Value::as_str).map(str::to_string);

    // The user: the token's `oid` for a delegated token, else the name the request gave.
    let app_only =
        matches!(a.grant_type.as_deref(), Some("client_credentials")) || claim("idtyp").as_deref() == Some("app");
    let mut user: Option<(Uuid, Option<String>, Option<String>)> = None;
    if !app_only {
        // A refusal names its user directly, or through the Conditional Access evaluation that
        // refused it (on-behalf-of, a refresh token: the request names no user).
        let named = claim("oid")
            .and_then(|o| Uuid::parse_str(&o).ok())
            .or(a.user_id)
            .or_else(|| a.username.is_none().then(|| a.assessed.as_ref().and_then(|x| x.user)).flatten());
        if let Some(oid) = named {
            let o = dir.get(tenant, oid).await?;
            let doc = |k: &str| o.as_ref().and_then(|o| o.doc.get(k)).and_then(Value::as_str).map(str::to_string);
            user = Some((oid, doc("userPrincipalName").or(claim("upn")), doc("displayName").or(claim("name"))));
        } else if let Some(name) = a.username.as_deref()
            && let Ok(o) = dir.find(tenant, "user", name).await
        {
            let doc = |k: &str| o.doc.get(k).and_then(Value::as_str).map(str::to_string);
            user = Some((o.id, doc("userPrincipalName"), doc("displayName")));
        }
    }

    let event_type = if app_only {
        "servicePrincipal"
    } else {
        match (a.interactive, a.grant_type.as_deref()) {
            (Some(true), _) | (None, Some("password")) => "interactiveUser",
            _ => "nonInteractiveUser",
        }
    };
    let (error_code, failure_reason) = match outcome {
        Outcome::Success(_) => (0i64, None),
        Outcome::Failure { code, description, .. } => {
            (i64::from(*code), Some(a.failure_reason.clone().unwrap_or_else(|| first_sentence(description))))
        }
    };
    let (resource_id, resource_name) = resource(state, a, outcome);
    // A token whose `amr` has `mfa` came from a sign-in with a second factor (TOTP); a
    // refusal after the second factor (a policy blocking a session or an assertion with `mfa`)
    // is known from what Conditional Access evaluated.
    let multi = match outcome {
        Outcome::Success(c) => c.get("amr").and_then(Value::as_array).is_some_and(|a| a.iter().any(|m| m == "mfa")),
        Outcome::Failure { .. } => a.assessed.as_ref().is_some_and(|x| x.mfa_done && x.user.is_some()),
    };
    let requirement = if multi { "multiFactorAuthentication" } else { "singleFactorAuthentication" };
    let mfa_detail = match outcome {
        Outcome::Success(c) if multi => mfa_detail(c.get("amr")),
        _ => Value::Null,
    };
    // Entra's `clientAppUsed`: a sign-in through the sign-in pages is a browser's; a token
    // request with the password (ROPC) and token redemptions are an app's.
    let browser_based = event_type == "interactiveUser" && a.interactive == Some(true);
    let ip = a.ip.map(|i| i.to_string()).unwrap_or_default();
    // No source knows the address: Entra's empty location.
    let location = a.ip.and_then(|i| state.locator.lookup(i)).unwrap_or_default();
    let (browser, os) = device(a);
    let upn = match (&user, app_only) {
        (Some((_, upn, _)), _) => upn.clone(),
        (None, false) => a.username.clone(),
        (None, true) => None,
    };
    let now = cerulean_directory::validate::now();
    let id = Uuid::new_v4();
    let interactive = event_type == "interactiveUser";
    let sp_id = app.as_ref().map(|o| o.id.to_string());
    let doc = json!({
        "createdDateTime": now,
        "userDisplayName": user.as_ref().and_then(|u| u.2.clone()),
        "userPrincipalName": upn,
        "userId": user.as_ref().map(|u| u.0.to_string()).unwrap_or_default(),
        "appId": app_id,
        "appDisplayName": app_name,
        "ipAddress": ip,
        "clientAppUsed": match (app_only, browser_based) {
            (true, _) => Value::Null,
            (false, true) => json!("Browser"),
            (false, false) => json!("Mobile Apps and Desktop clients"),
        },
        "userAgent": a.user_agent,
        "correlationId": a.correlation_id,
        "conditionalAccessStatus": "notApplied",
        "appliedConditionalAccessPolicies": [],
        "isInteractive": interactive,
        "resourceDisplayName": resource_name,
        "resourceId": resource_id,
        "resourceTenantId": tenant.to_string(),
        "homeTenantId": tenant.to_string(),
        "servicePrincipalId": if app_only { sp_id.clone() } else { None },
        "servicePrincipalName": if app_only { app_name.clone() } else { None },
        "status": {
            "errorCode": error_code,
            "failureReason": failure_reason,
            "additionalDetails": null,
        },
        "deviceDetail": {
            "deviceId": "",
            "displayName": "",
            "operatingSystem": os,
            "browser": browser,
            "isCompliant": false,
            "isManaged": false,
            "trustType": "",
        },
        "location": location.to_graph(),
        // beta
        "autonomousSystemNumber": location.asn,
        // beta
        "signInEventTypes": [event_type],
        "authenticationRequirement": requirement,
        "mfaDetail": mfa_detail,
    });
    let Value::Object(mut doc) = doc else { return Ok(None) };
    if !a.steps.is_empty() {
        let (details, used, mfa) = authentication_json(&a.steps, &now, failure_reason.as_deref());
        doc.insert("authenticationDetails".into(), details);
        doc.insert("authenticationMethodsUsed".into(), used);
        doc.insert("mfaDetail".into(), mfa);
    }
    if let Some(c) = &a.credential {
        // beta: what the workload detections compare with the service principal's history.
        doc.insert("clientCredentialType".into(), json!(c.kind));
        doc.insert("servicePrincipalCredentialKeyId".into(), json!(c.key_id));
    }
    if let Some(auth_time) = a.previously_satisfied {
        // beta
        doc.insert("authenticationDetails".into(), previously_satisfied(auth_time, multi));
    }
    // What Conditional Access assessed for this user in this attempt, if it did.
    let assessed = a.assessed.as_ref().filter(|x| x.user.is_some() && x.user == user.as_ref().map(|u| u.0));
    // A user's sign-in is assessed against their history (once: Conditional Access's findings
    // when it assessed this attempt); an app's has no user to compare with; a code or device
    // redemption was assessed on the page where the user signed in.
    let workload = match (&app, app_only) {
        (Some(sp), true) => Some(cerulean_directory::workload_risk::workload_names(sp.id, &sp.doc)),
        _ => None,
    };
    let findings = match (&user, a.ip) {
        _ if assessed_on_the_page(a.grant_type.as_deref()) => Vec::new(),
        (Some(_), _) if assessed.is_some() => assessed.map(|x| x.findings.clone()).unwrap_or_default(),
        // A service principal's successful sign-in is assessed against its own history (a
        // refused credential proves nothing about the service principal).
        (None, Some(ip)) if workload.is_some() && error_code == 0 => {
            let attempt = crate::sign_in_risk::WorkloadAttempt {
                tenant,
                app_id: app_id.as_deref().unwrap_or_default(),
                ip,
                location: &location,
                browser: &browser,
                resource: resource_id.as_deref(),
                credential_type: a.credential.as_ref().map(|c| c.kind),
            };
            crate::sign_in_risk::assess_workload(state, &attempt).await
        }
        (Some((user_id, upn, _)), Some(ip)) => {
            let attempt = crate::sign_in_risk::Attempt {
                tenant,
                user_id: *user_id,
                user_principal_name: upn.as_deref(),
                ip,
                location: &location,
                browser: &browser,
                error_code,
                leaked_password: a.leaked_password,
            };
            crate::sign_in_risk::assess(state, &attempt).await
        }
        _ => Vec::new(),
    };
    for (key, value) in crate::sign_in_risk::risk_properties(&findings) {
        doc.insert(key.to_string(), value);
    }
    // Conditional Access: what each policy said about this sign-in (report-only included).
    // Policies are evaluated once the first factor succeeded: a wrong password or an unknown,
    // disabled or locked account is "notApplied", as Entra reports it.
    if let Some((user_id, _, _)) = &user
        && !FIRST_FACTOR_FAILURES.contains(&error_code)
        && let Some(record) = dir.get(tenant, *user_id).await?
    {
        let client_app_type = if browser_based { "browser" } else { "mobileAppsAndDesktopClients" };
        let audience = match assessed {
            Some(x) => x.audience.clone(),
            None => ca_audience(state, tenant, a, resource_id.as_deref()).await,
        };
        let mut ctx = dir
            .user_sign_in_context(tenant, &record, &audience, client_app_type, a.ip, location.country_or_region.clone())
            .await?;
        ctx.platform = cerulean_directory::ca_engine::platform_of(&os).map(str::to_string);
        ctx.sign_in_risk = crate::sign_in_risk::level(&findings).to_string();
        ctx.mfa_done = multi;
        let evaluation = dir.evaluate_conditional_access(tenant, &ctx).await?;
        doc.insert("conditionalAccessStatus".into(), Value::from(evaluation.status()));
        doc.insert("appliedConditionalAccessPolicies".into(), evaluation.applied_json());
    } else if app_only && let Some(sp) = &app {
        // A workload identity: the policies for service principals (see `grants::client_credentials`),
        // as the grant evaluated them when it did.
        let assessed = a.assessed.as_ref().filter(|x| x.user.is_none());
        let evaluation = match assessed.and_then(|x| x.workload.as_ref()).filter(|w| w.service_principal == sp.id) {
            Some(w) => w.evaluation.clone(),
            None => {
                let risk = dir.service_principal_risk_level(tenant, sp.id).await?;
                let audience = match assessed {
                    Some(x) => x.audience.clone(),
                    None => resource_id.clone().unwrap_or_default(),
                };
                let ctx = crate::grants::workload_context(state, sp.id, &audience, a.ip, risk);
                dir.evaluate_conditional_access(tenant, &ctx).await?
            }
        };
        doc.insert("conditionalAccessStatus".into(), Value::from(evaluation.status()));
        doc.insert("appliedConditionalAccessPolicies".into(), evaluation.applied_json());
    }
    Ok(Some(Built {
        tenant,
        record: SignInRecord {
            id,
            at: now,
            user_id: user.as_ref().map(|u| u.0),
            user_principal_name: upn,
            app_id,
            ip_address: ip,
            error_code,
            event_type: event_type.into(),
            correlation_id: a.correlation_id.clone(),
            doc,
        },
        findings,
        workload,
    }))
}

/// Failures of the first factor: the account or its password was not accepted (invalid
/// password, no such user, locked out, disabled, expired password), so no policy applied.
const FIRST_FACTOR_FAILURES: &[i64] = &[50126, 50034, 50053, 50057, 50055, 50056, 50144];

/// `mfaDetail` of a multi-factor token redemption (which has no page steps), from the second
/// factor its `amr` names, in the method names the page steps use.
fn mfa_detail(amr: Option<&Value>) -> Value {
    let has = |m: &str| amr.and_then(Value::as_array).is_some_and(|a| a.iter().any(|v| v == m));
    let method = if has("fido") {
        METHOD_PASSKEY
    } else if has("otp") {
        METHOD_OATH
    } else {
        return Value::Null;
    };
    json!({ "authMethod": method, "authDetail": null })
}

/// The target resource Conditional Access would match for an attempt it did not evaluate (a
/// refused password, a code redeemed): the scopes asked for, as the grants read them (see
/// `grants::delegated::ca_audience`), else the resource the log names, else Azure AD Graph
/// (directory access).
async fn ca_audience(state: &PlatformState, tenant: Uuid, a: &SignInAttempt, resource_id: Option<&str>) -> String {
    let parsed = a.resource_hint.as_deref().and_then(|hint| {
        let req = crate::token::TokenRequest {
            endpoint: crate::token::Endpoint::V2,
            tenant: tenant.to_string(),
            params: vec![("scope".into(), hint.to_string())],
            basic: None,
            platform: None,
        };
        crate::grants::delegated::parse_scopes(state, &req, None).ok()
    });
    if let Some(scopes) = parsed
        && let Ok(Some(t)) = state.directory.tenant(tenant).await
        && let Ok(audience) = crate::grants::delegated::ca_audience(state, &t, &scopes).await
    {
        return audience;
    }
    resource_id.map_or_else(|| crate::resources::AAD_GRAPH_APP_ID.to_string(), str::to_string)
}

/// Entra's `failureReason` is the description's first sentence, without the AADSTS prefix,
/// trace and correlation ids.
fn first_sentence(description: &str) -> String {
    let text = description.split_once(": ").filter(|(p, _)| p.starts_with("AADSTS")).map_or(description, |(_, r)| r);
    let end = text.find(". ").map_or(text.len(), |i| i + 1);
    text[..end].trim().chars().take(512).collect()
}

/// The resource's appId and name: the token's audience on success, else what was asked for.
fn resource(state: &PlatformState, a: &SignInAttempt, outcome: &Outcome<'_>) -> (Option<String>, Option<String>) {
    let aud = match outcome {
        Outcome::Success(c) => c.get("aud").and_then(Value::as_str).map(str::to_string),
        Outcome::Failure { .. } => None,
    };
    let asked = a.resource_hint.as_deref().and_then(|s| {
        s.split_whitespace()
            .map(|scope| scope.strip_suffix("/.default").unwrap_or(scope))
            .find(|scope| scope.contains("://") || Uuid::parse_str(scope).is_ok())
            .map(resource_of_scope)
    });
    let Some(identifier) = aud.or(asked) else {
        return (None, None);
    };
    match crate::resources::resolve(&identifier, &state.public_url) {
        Some(r) if r.app_id == crate::resources::GRAPH_APP_ID => (Some(r.app_id), Some("Microsoft Graph".into())),
        Some(r) if r.app_id == crate::resources::AAD_GRAPH_APP_ID => {
            (Some(r.app_id), Some("Windows Azure Active Directory".into()))
        }
        Some(r) if r.app_id == crate::resources::ARM_APP_ID => {
            (Some(r.app_id), Some("Windows Azure Service Management API".into()))
        }
        // An application of the tenant: its identifier as asked.
        _ => (Some(identifier), None),
    }
}

/// The resource of a scope as asked: a URI scope names its resource before its last segment
/// (`https://graph.microsoft.com/Mail.Read`, `api://{appId}/access_as_user`); a resource
/// without a scope (`https://graph.microsoft.com`, a v1 `resource`, an appId) is itself.
fn resource_of_scope(scope: &str) -> String {
    let Some((scheme, rest)) = scope.split_once("://") else { return scope.to_string() };
    match rest.trim_end_matches('/').rsplit_once('/') {
        Some((resource, _)) => format!("{scheme}://{resource}"),
        None => scope.to_string(),
    }
}

/// `deviceDetail.browser` and `operatingSystem` from the User-Agent, or from MSAL's
/// `x-client-*` headers (Entra shows MSAL as "Rich Client").
pub(crate) fn device(a: &SignInAttempt) -> (String, String) {
    let ua = a.user_agent.as_deref().unwrap_or_default();
    let (mut browser, mut os) = parse_user_agent(ua);
    // A browser's User-Agent wins; an MSAL library (any SKU) is a "Rich Client".
    if let Some((_sku, ver, client_os)) = &a.client_sku {
        if browser.is_empty() || !ua.contains("Mozilla/") {
            browser = if ver.is_empty() { "Rich Client".into() } else { format!("Rich Client {ver}") };
        }
        if os.is_empty() {
            os = os_name(client_os);
        }
    }
    (browser, os)
}

/// Graph's device platform of the attempt, for Conditional Access's `platforms` condition: the
/// operating system `deviceDetail` shows, so the log and the enforcement agree.
pub(crate) fn platform(a: &SignInAttempt) -> Option<&'static str> {
    cerulean_directory::ca_engine::platform_of(&device(a).1)
}

/// A small User-Agent parser: the browser families and operating systems Entra names.
pub(crate) fn parse_user_agent(ua: &str) -> (String, String) {
    let version_after = |token: &str| -> Option<String> {
        let start = ua.find(token)? + token.len();
        let v: String = ua[start..].chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
        (!v.is_empty()).then_some(v)
    };
    let browser = if let Some(v) = version_after("Edg/").or_else(|| version_after("Edge/")) {
        format!("Edge {v}")
    } else if let Some(v) = version_after("Firefox/") {
        format!("Firefox {v}")
    } else if let Some(v) = version_after("OPR/") {
        format!("Opera {v}")
    } else if let Some(v) = version_after("Chrome/") {
        format!("Chrome {v}")
    } else if ua.contains("Safari/") && ua.contains("Version/") {
        format!("Safari {}", version_after("Version/").unwrap_or_default())
    } else if ua.contains("Trident/") || ua.contains("MSIE ") {
        "IE".into()
    } else if let Some(v) = version_after("python-requests/") {
        format!("Python Requests {v}")
    } else if let Some(v) = version_after("curl/") {
        format!("curl {v}")
    } else {
        let first = ua.split([' ', '/']).next().unwrap_or_default();
        first.chars().take(64).collect()
    };
    let os = if ua.contains("Windows NT 10") {
        "Windows 10".into()
    } else if ua.contains("Windows") {
        "Windows".into()
    } else if ua.contains("iPhone") || ua.contains("iPad") {
        "Ios".into()
    } else if ua.contains("Mac OS X") || ua.contains("Macintosh") {
        "MacOs".into()
    } else if ua.contains("Android") {
        "Android".into()
    } else if ua.contains("CrOS") {
        "ChromeOs".into()
    } else if ua.contains("Linux") {
        "Linux".into()
    } else {
        String::new()
    };
    (browser, os)
}

fn os_name(client_os: &str) -> String {
    let lower = client_os.to_ascii_lowercase();
    if lower.starts_with("win") {
        "Windows".into()
    } else if lower.contains("darwin") || lower.contains("mac") {
        "MacOs".into()
    } else if lower.contains("linux") {
        "Linux".into()
    } else {
        client_os.chars().take(64).collect()
    }
}

impl SignInAttempt {
    /// The identifiers of a parsed token request (never its credentials).
    pub(crate) fn fill(&mut self, req: &crate::token::TokenRequest) {
        let take = |v: Option<&str>| v.map(|s| s.chars().take(256).collect::<String>());
        self.grant_type = take(req.param("grant_type"));
        self.client_id = take(req.client_id());
        self.username = take(req.param("username"));
        // A v1 `resource` is read as its default scope (a resource URI may have a path).
        self.resource_hint = match (req.param("scope"), req.param("resource")) {
            (None, Some(resource)) => take(Some(&format!("{resource}/.default"))),
            (scope, _) => take(scope),
        };
    }
}

/// Records a successful token response (the user and resource come from the access token's
/// claims) and hands the response back unchanged.
pub(crate) async fn after_success(
    state: &PlatformState,
    attempt: &SignInAttempt,
    res: axum::response::Response,
) -> axum::response::Response {
    let (parts, body) = res.into_parts();
    let bytes = match axum::body::to_bytes(body, 1024 * 1024).await {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!(error = %e, "reading a token response for the sign-in log failed");
            return axum::response::Response::from_parts(parts, axum::body::Body::empty());
        }
    };
    let claims = serde_json::from_slice::<Value>(&bytes)
        .ok()
        .and_then(|v| v.get("access_token").and_then(Value::as_str).and_then(token_claims))
        .unwrap_or_default();
    record(state, attempt, Outcome::Success(&claims)).await;
    axum::response::Response::from_parts(parts, axum::body::Body::from(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agents() {
        let chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) \
                      Chrome/120.0.0.0 Safari/537.36";
        assert_eq!(parse_user_agent(chrome), ("Chrome 120.0.0.0".into(), "Windows 10".into()));
        let edge = format!("{chrome} Edg/120.0.2210.91");
        assert_eq!(parse_user_agent(&edge).0, "Edge 120.0.2210.91");
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0";
        assert_eq!(parse_user_agent(firefox), ("Firefox 121.0".into(), "Linux".into()));
        let safari = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like \
                      Gecko) Version/17.1 Mobile/15E148 Safari/604.1";
        assert_eq!(parse_user_agent(safari), ("Safari 17.1".into(), "Ios".into()));
        assert_eq!(parse_user_agent("python-requests/2.31.0").0, "Python Requests 2.31.0");
        assert_eq!(parse_user_agent(""), (String::new(), String::new()));
    }

    #[test]
    fn a_scope_names_its_resource() {
        assert_eq!(resource_of_scope("https://graph.microsoft.com/Mail.Read"), "https://graph.microsoft.com");
        assert_eq!(resource_of_scope("api://orders/access_as_user"), "api://orders");
        assert_eq!(resource_of_scope("https://graph.microsoft.com"), "https://graph.microsoft.com");
        assert_eq!(resource_of_scope("https://management.core.windows.net/"), "https://management.core.windows.net/");
    }

    #[test]
    fn failure_reason_is_the_first_sentence() {
        assert_eq!(
            first_sentence(
                "AADSTS50126: Error validating credentials due to invalid username or password. Trace ID: x"
            ),
            "Error validating credentials due to invalid username or password."
        );
    }
}
