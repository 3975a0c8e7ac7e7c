//! The Conditional Access policy engine: a pure function from a sign-in's context and the
//! tenant's policies and named locations to what each policy says about the sign-in.
//!
//! Each policy is first matched against its conditions (all must hold: users, groups and roles
//! with their exclusions, applications, client app types, locations, platforms, sign-in and
//! user risk levels). A policy that does not match is `notApplied`. A matching policy
//! requires its grant controls (`AND`: all, `OR`: one); it is a `success` when the sign-in
//! already satisfies them (MFA done, password just changed) and a `failure` otherwise. `block`
//! is never satisfied; `compliantDevice` and `domainJoinedDevice` are never satisfied either,
//! because Cerulean has no device identity (no Intune, no device registration at sign-in).
//!
//! Policies in `enabledForReportingButNotEnforced` are evaluated the same way and reported as
//! `reportOnlySuccess` / `reportOnlyFailure` / `reportOnlyNotApplied`, but never enforced;
//! `disabled` policies are skipped. The caller (the sign-in front-end) decides what to do with
//! the enforced controls: block, prompt for TOTP, send through a password change.

use std::net::IpAddr;

use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::conditional_access::{COUNTRY_NAMED_LOCATION, IP_NAMED_LOCATION, cidr_contains};

/// Everything the engine knows about one sign-in.
#[derive(Debug, Clone, Default)]
pub struct SignInContext {
    /// The user signing in; `None` for a service principal (client credentials), to which
    /// user-scoped policies never apply.
    pub user_id: Option<Uuid>,
    /// The service principal signing in as itself (client credentials with a secret, a
    /// certificate or a federated assertion): only workload-identity policies (those with
    /// `conditions.clientApplications`) apply to it.
    pub service_principal_id: Option<Uuid>,
    /// A guest (`userType` `Guest`): matches `GuestsOrExternalUsers`.
    pub is_guest: bool,
    /// The user's groups, transitively.
    pub group_ids: Vec<Uuid>,
    /// The role template ids of the user's directory roles.
    pub role_template_ids: Vec<String>,
    /// The `appId` of the target resource (cloud app) the sign-in is for, which
    /// `conditions.applications` names, as in Entra; not the client application. For a
    /// request of baseline scopes only, the platform passes Azure AD Graph's (directory
    /// access).
    pub app_id: String,
    /// Graph's `clientAppTypes` value: `browser`, `mobileAppsAndDesktopClients`,
    /// `exchangeActiveSync` or `other`.
    pub client_app_type: String,
    /// The client's address.
    pub ip: Option<IpAddr>,
    /// The ISO country of the address, when the locator knows it.
    pub country: Option<String>,
    /// Graph's `conditionalAccessDevicePlatform` of the user agent, when recognised.
    pub platform: Option<String>,
    /// `none`, `low`, `medium`, `high`.
    pub sign_in_risk: String,
    /// `none`, `low`, `medium`, `high`.
    pub user_risk: String,
    /// The service principal's risk (Identity Protection for workload identities): `none`,
    /// `low`, `medium`, `high`; empty is `none`.
    pub service_principal_risk: String,
    /// Multi-factor authentication is already done in this sign-in.
    pub mfa_done: bool,
    /// The password was just changed in this sign-in (a secure change remediates user risk).
    pub password_changed: bool,
}

/// A policy's outcome for one sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    NotApplied,
    Success,
    Failure,
}

/// One policy's line of the sign-in log (`appliedConditionalAccessPolicy`) and what it asks.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyResult {
    pub id: String,
    pub display_name: String,
    pub outcome: Outcome,
    /// `enabledForReportingButNotEnforced`: recorded, never enforced.
    pub report_only: bool,
    /// The grant controls of a matching policy (empty when not applied).
    pub controls: Vec<String>,
    /// `AND` or `OR`.
    pub operator: String,
    /// The policy's `signInFrequency` session control, in seconds allowed since the user last
    /// authenticated (see [`sign_in_frequency`]); `None` when it has none or it is disabled.
    pub sign_in_frequency: Option<i64>,
}

impl PolicyResult {
    /// Graph's `appliedConditionalAccessPolicyResult`.
    pub fn result(&self) -> &'static str {
        match (self.report_only, self.outcome) {
            (false, Outcome::NotApplied) => "notApplied",
            (false, Outcome::Success) => "success",
            (false, Outcome::Failure) => "failure",
            (true, Outcome::NotApplied) => "reportOnlyNotApplied",
            (true, Outcome::Success) => "reportOnlySuccess",
            (true, Outcome::Failure) => "reportOnlyFailure",
        }
    }

    /// The sign-in log entry.
    pub fn to_json(&self) -> Value {
        let applied = self.outcome != Outcome::NotApplied;
        let session: Vec<&str> =
            if applied && self.sign_in_frequency.is_some() { vec!["SignInFrequency"] } else { Vec::new() };
        json!({
            "id": self.id,
            "displayName": self.display_name,
            "result": self.result(),
            "enforcedGrantControls": if applied { self.controls.clone() } else { Vec::new() },
            "enforcedSessionControls": session,
        })
    }
}

/// What every policy said, and what the enforced ones require.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Evaluation {
    pub policies: Vec<PolicyResult>,
}

/// What the sign-in must do before it may succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    /// Nothing: every enforced policy is satisfied or none applies.
    None,
    /// A policy blocks the sign-in (AADSTS53003).
    Block { policy: String },
    /// A policy requires a compliant or domain-joined device, which cannot be proven here
    /// (AADSTS53000).
    Device { policy: String },
    /// Multi-factor authentication (AADSTS50076 where there is no page to prompt on).
    Mfa,
    /// A secure password change (with MFA) because of user risk.
    PasswordChange,
    /// The authentication presented (a refresh token, an SSO session) is older than the
    /// enforced sign-in frequency allows (`max_age` seconds): the user must sign in again.
    FreshSignIn { max_age: i64 },
}

impl Evaluation {
    /// Graph's `conditionalAccessStatus`: `failure` when an enforced policy failed, `success`
    /// when one applied and all applied ones succeeded, otherwise `notApplied`.
    pub fn status(&self) -> &'static str {
        let enforced = || self.policies.iter().filter(|p| !p.report_only);
        if enforced().any(|p| p.outcome == Outcome::Failure) {
            "failure"
        } else if enforced().any(|p| p.outcome == Outcome::Success) {
            "success"
        } else {
            "notApplied"
        }
    }

    /// The `appliedConditionalAccessPolicies` of the sign-in log.
    pub fn applied_json(&self) -> Value {
        Value::Array(self.policies.iter().map(PolicyResult::to_json).collect())
    }

    /// The strictest sign-in frequency of the enforced policies that apply: how many seconds
    /// may have passed since the user last authenticated for a refresh token or an SSO session
    /// to be honoured (`None`: no limit).
    pub fn sign_in_frequency(&self) -> Option<i64> {
        self.policies
            .iter()
            .filter(|p| !p.report_only && p.outcome != Outcome::NotApplied)
            .filter_map(|p| p.sign_in_frequency)
            .min()
    }

    /// Whether an authentication at `auth_time` (Unix seconds) is too old at `now` for the
    /// enforced sign-in frequency.
    pub fn needs_fresh_sign_in(&self, auth_time: i64, now: i64) -> bool {
        self.sign_in_frequency().is_some_and(|max| now.saturating_sub(auth_time) > max)
    }

    /// [`Evaluation::requirement`] for a sign-in that presents an earlier authentication made
    /// at `auth_time` (`None`: the user authenticates now): a block or a device requirement
    /// still wins; otherwise a too-old authentication must be renewed first.
    pub fn requirement_at(&self, auth_time: Option<i64>, now: i64) -> Requirement {
        let requirement = self.requirement();
        if matches!(requirement, Requirement::Block { .. } | Requirement::Device { .. }) {
            return requirement;
        }
        match (auth_time, self.sign_in_frequency()) {
            (Some(at), Some(max_age)) if self.needs_fresh_sign_in(at, now) => Requirement::FreshSignIn { max_age },
            _ => requirement,
        }
    }

    /// The first thing the sign-in must do, from the enforced failed policies: a block wins,
    /// then an unprovable device, then a password change, then MFA.
    pub fn requirement(&self) -> Requirement {
        let failed: Vec<&PolicyResult> =
            self.policies.iter().filter(|p| !p.report_only && p.outcome == Outcome::Failure).collect();
        if let Some(p) = failed.iter().find(|p| p.controls.iter().any(|c| c == "block")) {
            return Requirement::Block { policy: p.id.clone() };
        }
        let satisfiable = |c: &String| c == "mfa" || c == "passwordChange";
        // A policy whose requirement cannot be met without a device: AND with a device
        // control, or OR with only unsatisfiable controls.
        if let Some(p) = failed.iter().find(|p| {
            if p.operator == "AND" { !p.controls.iter().all(satisfiable) } else { !p.controls.iter().any(satisfiable) }
        }) {
            return Requirement::Device { policy: p.id.clone() };
        }
        if failed.iter().any(|p| p.controls.iter().any(|c| c == "passwordChange")) {
            return Requirement::PasswordChange;
        }
        if failed.is_empty() { Requirement::None } else { Requirement::Mfa }
    }
}

/// A named location as the engine needs it.
#[derive(Debug, Clone)]
struct Location {
    id: String,
    trusted: bool,
    ranges: Vec<String>,
    countries: Vec<String>,
    include_unknown: bool,
    is_ip: bool,
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect()).unwrap_or_default()
}

fn location_of(id: Uuid, object_type: &str, doc: &Map<String, Value>) -> Option<Location> {
    let is_ip = match object_type {
        IP_NAMED_LOCATION => true,
        COUNTRY_NAMED_LOCATION => false,
        _ => return None,
    };
    Some(Location {
        id: id.to_string(),
        trusted: doc.get("isTrusted").and_then(Value::as_bool).unwrap_or(false),
        ranges: doc
            .get("ipRanges")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|r| r["cidrAddress"].as_str()).map(str::to_string).collect())
            .unwrap_or_default(),
        countries: strings(doc.get("countriesAndRegions").unwrap_or(&Value::Null)),
        include_unknown: doc.get("includeUnknownCountriesAndRegions").and_then(Value::as_bool).unwrap_or(false),
        is_ip,
    })
}

impl Location {
    fn contains(&self, ctx: &SignInContext) -> bool {
        if self.is_ip {
            return ctx.ip.is_some_and(|ip| self.ranges.iter().any(|r| cidr_contains(r, ip)));
        }
        match &ctx.country {
            Some(c) => self.countries.iter().any(|k| k.eq_ignore_ascii_case(c)),
            None => self.include_unknown,
        }
    }
}

fn has(list: &[String], word: &str) -> bool {
    list.iter().any(|s| s.eq_ignore_ascii_case(word))
}

fn users_match(u: &Value, ctx: &SignInContext) -> bool {
    let Some(user) = ctx.user_id else { return false };
    let uid = user.to_string();
    let in_ids = |list: &[String], ids: &[String]| list.iter().any(|x| ids.iter().any(|i| i.eq_ignore_ascii_case(x)));
    let groups: Vec<String> = ctx.group_ids.iter().map(Uuid::to_string).collect();
    let include_users = strings(&u["includeUsers"]);
    let exclude_users = strings(&u["excludeUsers"]);
    let included = has(&include_users, "All")
        || (ctx.is_guest && has(&include_users, "GuestsOrExternalUsers"))
        || has(&include_users, &uid)
        || in_ids(&strings(&u["includeGroups"]), &groups)
        || in_ids(&strings(&u["includeRoles"]), &ctx.role_template_ids);
    let excluded = has(&exclude_users, &uid)
        || (ctx.is_guest && has(&exclude_users, "GuestsOrExternalUsers"))
        || in_ids(&strings(&u["excludeGroups"]), &groups)
        || in_ids(&strings(&u["excludeRoles"]), &ctx.role_template_ids);
    included && !excluded
}

fn apps_match(a: &Value, ctx: &SignInContext) -> bool {
    let include = strings(&a["includeApplications"]);
    let exclude = strings(&a["excludeApplications"]);
    (has(&include, "All") || has(&include, &ctx.app_id)) && !has(&exclude, &ctx.app_id)
}

fn locations_match(l: &Value, locations: &[Location], ctx: &SignInContext) -> bool {
    if l.is_null() {
        return true;
    }
    let matches = |list: &[String]| {
        list.iter().any(|entry| {
            entry.eq_ignore_ascii_case("All")
                || (entry.eq_ignore_ascii_case("AllTrusted") && locations.iter().any(|x| x.trusted && x.contains(ctx)))
                || locations.iter().any(|x| x.id.eq_ignore_ascii_case(entry) && x.contains(ctx))
        })
    };
    matches(&strings(&l["includeLocations"])) && !matches(&strings(&l["excludeLocations"]))
}

fn platforms_match(p: &Value, ctx: &SignInContext) -> bool {
    if p.is_null() {
        return true;
    }
    let include = strings(&p["includePlatforms"]);
    let exclude = strings(&p["excludePlatforms"]);
    // An unrecognised platform is only matched by `all` (and excluded by nothing).
    let Some(platform) = &ctx.platform else { return has(&include, "all") };
    (has(&include, "all") || has(&include, platform)) && !has(&exclude, platform)
}

fn service_principal_risk(ctx: &SignInContext) -> &str {
    if ctx.service_principal_risk.is_empty() { "none" } else { &ctx.service_principal_risk }
}

fn risk_match(levels: &[String], level: &str) -> bool {
    levels.is_empty() || has(levels, level)
}

/// Whether a workload-identity policy's `clientApplications` names the service principal:
/// by id or as `ServicePrincipalsInMyTenant`, and not excluded.
fn service_principals_match(c: &Value, ctx: &SignInContext) -> bool {
    let Some(sp) = ctx.service_principal_id else { return false };
    let id = sp.to_string();
    let include = strings(&c["includeServicePrincipals"]);
    (has(&include, "ServicePrincipalsInMyTenant") || has(&include, &id))
        && !has(&strings(&c["excludeServicePrincipals"]), &id)
}

/// Whether the policy targets workload identities (`conditions.clientApplications` names
/// service principals) rather than users.
pub fn is_workload_policy(conditions: &Value) -> bool {
    !strings(&conditions["clientApplications"]["includeServicePrincipals"]).is_empty()
}

/// Whether a policy's conditions all hold for the sign-in. A workload-identity policy applies
/// only to service principals and a user policy only to users, as in Entra.
fn applies(doc: &Map<String, Value>, locations: &[Location], ctx: &SignInContext) -> bool {
    let c = doc.get("conditions").cloned().unwrap_or(Value::Null);
    if is_workload_policy(&c) {
        return service_principals_match(&c["clientApplications"], ctx)
            && apps_match(&c["applications"], ctx)
            && locations_match(&c["locations"], locations, ctx)
            && risk_match(&strings(&c["servicePrincipalRiskLevels"]), service_principal_risk(ctx));
    }
    let client_apps = strings(&c["clientAppTypes"]);
    users_match(&c["users"], ctx)
        && apps_match(&c["applications"], ctx)
        && (client_apps.is_empty() || has(&client_apps, "all") || has(&client_apps, &ctx.client_app_type))
        && locations_match(&c["locations"], locations, ctx)
        && platforms_match(&c["platforms"], ctx)
        && risk_match(&strings(&c["signInRiskLevels"]), &ctx.sign_in_risk)
        && risk_match(&strings(&c["userRiskLevels"]), &ctx.user_risk)
}

fn satisfied(control: &str, ctx: &SignInContext) -> bool {
    match control {
        "mfa" => ctx.mfa_done,
        "passwordChange" => ctx.password_changed,
        _ => false,
    }
}

/// `everyTime` asks for a new authentication at each sign-in; Entra tolerates five minutes of
/// clock skew, so an authentication that recent still counts.
pub const EVERY_TIME_SKEW_SECS: i64 = 300;

/// A policy's `sessionControls.signInFrequency` in seconds: `value` hours or days
/// (`timeBased`), or [`EVERY_TIME_SKEW_SECS`] (`everyTime`); `None` when absent or disabled.
pub fn sign_in_frequency(doc: &Map<String, Value>) -> Option<i64> {
    let f = &doc.get("sessionControls")?["signInFrequency"];
    if f["isEnabled"].as_bool() != Some(true) {
        return None;
    }
    if f["frequencyInterval"].as_str() == Some("everyTime") {
        return Some(EVERY_TIME_SKEW_SECS);
    }
    let value = f["value"].as_i64()?;
    match f["type"].as_str()? {
        "hours" => Some(value.saturating_mul(3600)),
        "days" => Some(value.saturating_mul(86_400)),
        _ => None,
    }
}

/// Evaluates every non-disabled policy. `policies` and `locations` are stored objects as
/// (id, object type, document).
pub fn evaluate(
    policies: &[(Uuid, &Map<String, Value>)],
    locations: &[(Uuid, &str, &Map<String, Value>)],
    ctx: &SignInContext,
) -> Evaluation {
    let locations: Vec<Location> = locations.iter().filter_map(|(id, ty, doc)| location_of(*id, ty, doc)).collect();
    let mut out = Vec::new();
    for (id, doc) in policies {
        let state = doc.get("state").and_then(Value::as_str).unwrap_or("disabled");
        if state == "disabled" {
            continue;
        }
        let grant = doc.get("grantControls").cloned().unwrap_or(Value::Null);
        let controls = strings(&grant["builtInControls"]);
        let operator = grant["operator"].as_str().unwrap_or("OR").to_ascii_uppercase();
        let outcome = if !applies(doc, &locations, ctx) {
            Outcome::NotApplied
        } else {
            let ok = if controls.is_empty() {
                true
            } else if operator == "AND" {
                controls.iter().all(|c| satisfied(c, ctx))
            } else {
                controls.iter().any(|c| satisfied(c, ctx))
            };
            if ok { Outcome::Success } else { Outcome::Failure }
        };
        out.push(PolicyResult {
            id: id.to_string(),
            display_name: doc.get("displayName").and_then(Value::as_str).unwrap_or_default().to_string(),
            outcome,
            report_only: state == "enabledForReportingButNotEnforced",
            controls,
            operator,
            sign_in_frequency: sign_in_frequency(doc),
        });
    }
    Evaluation { policies: out }
}

/// Graph's `conditionalAccessDevicePlatform` for an operating system name as the sign-in log
/// parses it from the user agent (`Windows 10`, `iOS 17`, `MacOs`, `Android`, `Linux`).
pub fn platform_of(operating_system: &str) -> Option<&'static str> {
    let os = operating_system.to_ascii_lowercase();
    if os.starts_with("windows phone") {
        Some("windowsPhone")
    } else if os.starts_with("windows") {
        Some("windows")
    } else if os.starts_with("ios") || os.starts_with("ipad") || os.starts_with("iphone") {
        Some("iOS")
    } else if os.starts_with("mac") {
        Some("macOS")
    } else if os.starts_with("android") {
        Some("android")
    } else if os.starts_with("linux") || os.starts_with("ubuntu") {
        Some("linux")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(v: Value) -> Map<String, Value> {
        v.as_object().cloned().expect("object")
    }

    fn policy(state: &str, users: Value, extra: Value, controls: Value) -> Map<String, Value> {
        let mut c = json!({
            "users": users,
            "applications": { "includeApplications": ["All"], "excludeApplications": [] },
            "clientAppTypes": ["all"],
            "locations": null,
            "platforms": null,
            "signInRiskLevels": [],
            "userRiskLevels": [],
        });
        for (k, v) in extra.as_object().cloned().unwrap_or_default() {
            c[k] = v;
        }
        doc(json!({ "displayName": "p", "state": state, "conditions": c, "grantControls": controls }))
    }

    fn all_users() -> Value {
        json!({ "includeUsers": ["All"], "excludeUsers": [], "includeGroups": [], "excludeGroups": [], "includeRoles": [], "excludeRoles": [] })
    }

    fn ctx() -> SignInContext {
        SignInContext {
            user_id: Some(Uuid::from_u128(1)),
            app_id: "app".into(),
            client_app_type: "browser".into(),
            ip: "198.51.100.7".parse().ok(),
            country: Some("NO".into()),
            platform: Some("windows".into()),
            sign_in_risk: "none".into(),
            user_risk: "none".into(),
            ..SignInContext::default()
        }
    }

    fn eval(p: &Map<String, Value>, locs: &[(Uuid, &str, &Map<String, Value>)], c: &SignInContext) -> Evaluation {
        evaluate(&[(Uuid::from_u128(99), p)], locs, c)
    }

    #[test]
    fn block_all_users() {
        let p = policy("enabled", all_users(), json!({}), json!({ "operator": "OR", "builtInControls": ["block"] }));
        let e = eval(&p, &[], &ctx());
        assert_eq!(e.policies[0].result(), "failure");
        assert_eq!(e.status(), "failure");
        assert!(matches!(e.requirement(), Requirement::Block { .. }));
        // Not for a service principal.
        let sp = SignInContext { user_id: None, ..ctx() };
        assert_eq!(eval(&p, &[], &sp).status(), "notApplied");
    }

    #[test]
    fn mfa_on_medium_sign_in_risk() {
        let p = policy(
            "enabled",
            all_users(),
            json!({ "signInRiskLevels": ["medium", "high"] }),
            json!({ "operator": "OR", "builtInControls": ["mfa"] }),
        );
        assert_eq!(eval(&p, &[], &ctx()).policies[0].result(), "notApplied");
        let risky = SignInContext { sign_in_risk: "high".into(), ..ctx() };
        let e = eval(&p, &[], &risky);
        assert_eq!(e.requirement(), Requirement::Mfa);
        let done = SignInContext { mfa_done: true, ..risky };
        let e = eval(&p, &[], &done);
        assert_eq!(e.policies[0].result(), "success");
        assert_eq!(e.status(), "success");
        assert_eq!(e.requirement(), Requirement::None);
    }

    #[test]
    fn report_only_is_never_enforced() {
        let p = policy(
            "enabledForReportingButNotEnforced",
            all_users(),
            json!({}),
            json!({ "operator": "OR", "builtInControls": ["block"] }),
        );
        let e = eval(&p, &[], &ctx());
        assert_eq!(e.policies[0].result(), "reportOnlyFailure");
        assert_eq!(e.status(), "notApplied");
        assert_eq!(e.requirement(), Requirement::None);
        assert_eq!(e.applied_json()[0]["enforcedGrantControls"], json!(["block"]));
        let disabled = policy("disabled", all_users(), json!({}), json!({ "builtInControls": ["block"] }));
        assert!(eval(&disabled, &[], &ctx()).policies.is_empty());
    }

    #[test]
    fn exclusions_of_users_groups_roles() {
        let g = Uuid::from_u128(7);
        let mut users = all_users();
        users["excludeGroups"] = json!([g.to_string()]);
        let p = policy("enabled", users, json!({}), json!({ "builtInControls": ["block"] }));
        assert_eq!(eval(&p, &[], &ctx()).status(), "failure");
        let member = SignInContext { group_ids: vec![g], ..ctx() };
        assert_eq!(eval(&p, &[], &member).status(), "notApplied");

        let mut users = all_users();
        users["excludeUsers"] = json!([Uuid::from_u128(1).to_string()]);
        let p = policy("enabled", users, json!({}), json!({ "builtInControls": ["block"] }));
        assert_eq!(eval(&p, &[], &ctx()).status(), "notApplied");

        let role = "62e90394-69f5-4237-9190-012177145e10";
        let users = json!({ "includeUsers": [], "includeRoles": [role] });
        let p = policy("enabled", users, json!({}), json!({ "builtInControls": ["block"] }));
        assert_eq!(eval(&p, &[], &ctx()).status(), "notApplied");
        let admin = SignInContext { role_template_ids: vec![role.into()], ..ctx() };
        assert_eq!(eval(&p, &[], &admin).status(), "failure");
    }

    #[test]
    fn trusted_location_exclusion_and_countries() {
        let office = Uuid::from_u128(5);
        let loc = doc(json!({ "isTrusted": true, "ipRanges": [{ "cidrAddress": "198.51.100.0/24" }] }));
        let p = policy(
            "enabled",
            all_users(),
            json!({ "locations": { "includeLocations": ["All"], "excludeLocations": ["AllTrusted"] } }),
            json!({ "builtInControls": ["mfa"] }),
        );
        let locs = [(office, IP_NAMED_LOCATION, &loc)];
        assert_eq!(eval(&p, &locs, &ctx()).status(), "notApplied", "inside the trusted range");
        let away = SignInContext { ip: "203.0.113.9".parse().ok(), ..ctx() };
        assert_eq!(eval(&p, &locs, &away).status(), "failure");

        let nordics = Uuid::from_u128(6);
        let countries = doc(json!({ "countriesAndRegions": ["SE"], "includeUnknownCountriesAndRegions": true }));
        let p = policy(
            "enabled",
            all_users(),
            json!({ "locations": { "includeLocations": [nordics.to_string()], "excludeLocations": [] } }),
            json!({ "builtInControls": ["block"] }),
        );
        let locs = [(nordics, COUNTRY_NAMED_LOCATION, &countries)];
        assert_eq!(eval(&p, &locs, &ctx()).status(), "notApplied", "NO is not listed");
        let unknown = SignInContext { country: None, ..ctx() };
        assert_eq!(eval(&p, &locs, &unknown).status(), "failure", "unknown countries included");
    }

    #[test]
    fn mfa_trusted_ips_location_matches_no_sign_in() {
        // Graph's "all conditions" example excludes the built-in all-zero location; with no
        // MFA trusted IPs configured it excludes nothing, and including it alone selects nothing.
        let office = Uuid::from_u128(5);
        let loc = doc(json!({ "isTrusted": true, "ipRanges": [{ "cidrAddress": "198.51.100.0/24" }] }));
        let locs = [(office, IP_NAMED_LOCATION, &loc)];
        let nil = crate::conditional_access::MFA_TRUSTED_IPS_LOCATION.to_string();
        let p = policy(
            "enabled",
            all_users(),
            json!({ "locations": { "includeLocations": ["All"], "excludeLocations": [nil] } }),
            json!({ "builtInControls": ["block"] }),
        );
        assert_eq!(eval(&p, &locs, &ctx()).status(), "failure", "a trusted range is not 'MFA trusted IPs'");
        let p = policy(
            "enabled",
            all_users(),
            json!({ "locations": { "includeLocations": [nil], "excludeLocations": [] } }),
            json!({ "builtInControls": ["block"] }),
        );
        assert_eq!(eval(&p, &locs, &ctx()).status(), "notApplied");
    }

    #[test]
    fn apps_platforms_client_types_and_devices() {
        let p = policy(
            "enabled",
            all_users(),
            json!({ "platforms": { "includePlatforms": ["all"], "excludePlatforms": ["iOS"] }, "clientAppTypes": ["browser"] }),
            json!({ "operator": "OR", "builtInControls": ["compliantDevice", "domainJoinedDevice"] }),
        );
        assert!(matches!(eval(&p, &[], &ctx()).requirement(), Requirement::Device { .. }));
        let ios = SignInContext { platform: Some("iOS".into()), ..ctx() };
        assert_eq!(eval(&p, &[], &ios).status(), "notApplied");
        let desktop = SignInContext { client_app_type: "mobileAppsAndDesktopClients".into(), ..ctx() };
        assert_eq!(eval(&p, &[], &desktop).status(), "notApplied");
        let mut p = policy("enabled", all_users(), json!({}), json!({ "builtInControls": ["block"] }));
        p["conditions"]["applications"] = json!({ "includeApplications": ["All"], "excludeApplications": ["app"] });
        assert_eq!(eval(&p, &[], &ctx()).status(), "notApplied");
        assert_eq!(platform_of("Windows 10"), Some("windows"));
        assert_eq!(platform_of("iOS 17"), Some("iOS"));
        assert_eq!(platform_of("Plan 9"), None);
    }

    #[test]
    fn workload_identity_policies_apply_to_service_principals_only() {
        let sp = Uuid::from_u128(42);
        let mut p = policy(
            "enabled",
            json!({ "includeUsers": ["None"] }),
            json!({ "clientApplications": { "includeServicePrincipals": ["ServicePrincipalsInMyTenant"], "excludeServicePrincipals": [] } }),
            json!({ "builtInControls": ["block"] }),
        );
        let app = SignInContext { user_id: None, service_principal_id: Some(sp), ..ctx() };
        assert!(matches!(eval(&p, &[], &app).requirement(), Requirement::Block { .. }));
        assert_eq!(eval(&p, &[], &ctx()).status(), "notApplied", "a user is not a workload");
        p["conditions"]["clientApplications"]["excludeServicePrincipals"] = json!([sp.to_string()]);
        assert_eq!(eval(&p, &[], &app).status(), "notApplied");
        // A user policy never applies to a service principal.
        let users = policy("enabled", all_users(), json!({}), json!({ "builtInControls": ["block"] }));
        assert_eq!(eval(&users, &[], &app).status(), "notApplied");
        // Service principal risk: the policy applies at the levels it names only.
        p["conditions"]["clientApplications"]["excludeServicePrincipals"] = json!([]);
        p["conditions"]["servicePrincipalRiskLevels"] = json!(["high"]);
        assert_eq!(eval(&p, &[], &app).status(), "notApplied", "no risk");
        let risky = SignInContext { service_principal_risk: "high".into(), ..app.clone() };
        assert!(matches!(eval(&p, &[], &risky).requirement(), Requirement::Block { .. }));
        let medium = SignInContext { service_principal_risk: "medium".into(), ..app };
        assert_eq!(eval(&p, &[], &medium).status(), "notApplied");
    }

    #[test]
    fn sign_in_frequency_of_applied_enforced_policies() {
        let mut p = policy("enabled", all_users(), json!({}), Value::Null);
        p.insert(
            "sessionControls".into(),
            json!({ "signInFrequency": { "isEnabled": true, "value": 2, "type": "hours", "frequencyInterval": "timeBased" } }),
        );
        let e = eval(&p, &[], &ctx());
        assert_eq!(e.status(), "success");
        assert_eq!(e.sign_in_frequency(), Some(7200));
        assert!(e.needs_fresh_sign_in(0, 7201));
        assert!(!e.needs_fresh_sign_in(0, 7200));
        assert_eq!(e.applied_json()[0]["enforcedSessionControls"], json!(["SignInFrequency"]));
        p["sessionControls"]["signInFrequency"]["frequencyInterval"] = json!("everyTime");
        assert_eq!(eval(&p, &[], &ctx()).sign_in_frequency(), Some(EVERY_TIME_SKEW_SECS));
        p["state"] = json!("enabledForReportingButNotEnforced");
        assert_eq!(eval(&p, &[], &ctx()).sign_in_frequency(), None, "report-only");
        p["state"] = json!("enabled");
        p["sessionControls"]["signInFrequency"]["isEnabled"] = json!(false);
        assert_eq!(eval(&p, &[], &ctx()).sign_in_frequency(), None, "disabled control");
        let sp = SignInContext { user_id: None, ..ctx() };
        p["sessionControls"]["signInFrequency"]["isEnabled"] = json!(true);
        assert_eq!(eval(&p, &[], &sp).sign_in_frequency(), None, "not applied");
        let e = eval(&p, &[], &ctx());
        assert_eq!(e.requirement_at(Some(0), 7201), Requirement::FreshSignIn { max_age: EVERY_TIME_SKEW_SECS });
        assert_eq!(e.requirement_at(Some(7000), 7201), Requirement::None);
        assert_eq!(e.requirement_at(None, 7201), Requirement::None, "a new authentication");
    }

    #[test]
    fn password_change_for_user_risk() {
        let p = policy(
            "enabled",
            all_users(),
            json!({ "userRiskLevels": ["high"] }),
            json!({ "operator": "AND", "builtInControls": ["mfa", "passwordChange"] }),
        );
        let risky = SignInContext { user_risk: "high".into(), ..ctx() };
        assert_eq!(eval(&p, &[], &risky).requirement(), Requirement::PasswordChange);
        let changed = SignInContext { mfa_done: true, password_changed: true, ..risky };
        assert_eq!(eval(&p, &[], &changed).status(), "success");
    }
}
