//! The risk of one sign-in, as the sign-in log records it: the facts of the attempt and the
//! user's history (their earlier successful interactive sign-ins, read back from the sign-in
//! log) handed to the detection engine ([`cerulean_identity::risk`]). Only interactive
//! sign-ins teach what is familiar: a non-interactive one (a code redeemed, a token refreshed)
//! comes from the application's host, whose address says nothing about where the user is.
//!
//! The history is the log itself, so every node sees the same history and nothing else needs
//! to be kept in step; a service principal's history is also kept in memory for a second (see
//! [`WorkloadHistories`]).

use std::collections::HashSet;
use std::net::IpAddr;

use cerulean_identity::location::Location;
use cerulean_identity::risk::{self, Finding, RiskLevel, SignInFacts};
use cerulean_store::{LogColumn, LogQuery, SignInRecord};
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::PlatformState;

/// Sign-ins read from one address in the spray window.
const SPRAY_LIMIT: usize = 1000;
/// AADSTS50126: invalid user name or password.
const BAD_PASSWORD: i64 = 50126;

/// This attempt, as the detections see it.
pub(crate) struct Attempt<'a> {
    pub tenant: Uuid,
    pub user_id: Uuid,
    pub user_principal_name: Option<&'a str>,
    pub ip: IpAddr,
    pub location: &'a Location,
    pub browser: &'a str,
    pub error_code: i64,
    /// The password given is in the leaked-credentials list.
    pub leaked_password: bool,
}

/// The detections of the attempt. A failure to read the history is no detection (and logged):
/// risk recording never fails a sign-in.
pub(crate) async fn assess(state: &PlatformState, a: &Attempt<'_>) -> Vec<Finding> {
    let now = cerulean_store::clock::now();
    let since = |t: OffsetDateTime| t.format(&Rfc3339).ok();
    let dir = &state.directory;
    let history = LogQuery {
        from: since(now - time::Duration::days(state.risk.history_days)),
        to: None,
        equals: vec![
            (LogColumn::UserId, vec![a.user_id.to_string()]),
            (LogColumn::ErrorCode, vec!["0".into()]),
            (LogColumn::EventType, vec!["interactiveUser".into()]),
        ],
        after: None,
        limit: state.risk.history_sign_ins,
    };
    let history = match dir.sign_in_page_projected(a.tenant, &history, FACT_PROPERTIES).await {
        Ok(page) => page.into_iter().map(|(_, r)| facts(&r)).collect::<Vec<_>>(),
        Err(e) => {
            tracing::warn!(error = %e, "reading the sign-in history for risk detection failed");
            return Vec::new();
        }
    };
    let from_address = LogQuery {
        from: since(now - time::Duration::minutes(state.risk.spray_window_minutes)),
        to: None,
        // Only the address's bad passwords: reading (and parsing) its every sign-in made each
        // sign-in from a busy address cost a thousand records (issue 8).
        equals: vec![
            (LogColumn::IpAddress, vec![a.ip.to_string()]),
            (LogColumn::ErrorCode, vec![BAD_PASSWORD.to_string()]),
        ],
        after: None,
        limit: SPRAY_LIMIT,
    };
    let mut sprayed: HashSet<String> = match dir.sign_in_page(a.tenant, &from_address).await {
        Ok(page) => page
            .into_iter()
            .filter(|(_, r)| r.error_code == BAD_PASSWORD)
            .filter_map(|(_, r)| r.user_principal_name.map(|u| u.to_lowercase()))
            .collect(),
        Err(e) => {
            tracing::warn!(error = %e, "reading the sign-ins of an address for risk detection failed");
            HashSet::new()
        }
    };
    if a.error_code == BAD_PASSWORD
        && let Some(upn) = a.user_principal_name
    {
        sprayed.insert(upn.to_lowercase());
    }
    let this =
        SignInFacts { at: now, ip: a.ip, location: Some(a.location.clone()), browser: browser_family(a.browser) };
    let mut findings = risk::detect(&state.risk, &this, &history, sprayed.len());
    // Only a password that signed the user in is their credential: a wrong guess that happens
    // to be a leaked password says nothing about this account.
    if a.leaked_password && a.error_code == 0 {
        findings.push(risk::leaked_credentials());
    }
    findings
}

/// A service principal's sign-in as itself, as the workload detections see it.
pub(crate) struct WorkloadAttempt<'a> {
    pub tenant: Uuid,
    pub app_id: &'a str,
    pub ip: IpAddr,
    pub location: &'a Location,
    pub browser: &'a str,
    pub resource: Option<&'a str>,
    /// The kind of credential proven (`clientSecret`, `certificate`, ...).
    pub credential_type: Option<&'a str>,
}

/// The workload identity detections of a successful service principal sign-in, against its
/// history: its last successful sign-ins (at most [`risk::RiskConfig::history_sign_ins`], one
/// indexed read by `appId` — the token endpoint never scans the log). A failure to read the
/// history is no detection (and logged).
pub(crate) async fn assess_workload(state: &PlatformState, a: &WorkloadAttempt<'_>) -> Vec<Finding> {
    let now = cerulean_store::clock::now();
    let since = now - time::Duration::days(state.risk.history_days);
    let key = (a.tenant, a.app_id.to_ascii_lowercase());
    let history = match state.workload_history.recent(&key, since) {
        Some(history) => history,
        None => match read_workload_history(state, a, now).await {
            Some(history) => history,
            None => return Vec::new(),
        },
    };
    let this = risk::WorkloadFacts {
        at: now,
        ip: a.ip,
        location: Some(a.location.clone()),
        user_agent: browser_family(a.browser),
        resource: a.resource.map(str::to_string),
        credential_type: a.credential_type.map(str::to_string),
    };
    risk::detect_workload(&state.risk, &this, &history)
}

/// Reads the service principal's history from the sign-in log and keeps it (see
/// [`WorkloadHistories`]); `None` (and logged) when the store fails.
async fn read_workload_history(
    state: &PlatformState,
    a: &WorkloadAttempt<'_>,
    now: OffsetDateTime,
) -> Option<Vec<risk::WorkloadFacts>> {
    let started = std::time::Instant::now();
    let history = LogQuery {
        from: (now - time::Duration::days(state.risk.history_days)).format(&Rfc3339).ok(),
        to: None,
        equals: vec![
            (LogColumn::AppId, vec![a.app_id.to_string()]),
            (LogColumn::EventType, vec!["servicePrincipal".into()]),
            (LogColumn::ErrorCode, vec!["0".into()]),
        ],
        after: None,
        limit: state.risk.history_sign_ins,
    };
    match state.directory.sign_in_page_projected(a.tenant, &history, FACT_PROPERTIES).await {
        Ok(page) => {
            let read: Vec<(Uuid, risk::WorkloadFacts)> =
                page.into_iter().map(|(_, r)| (r.id, workload_facts(&r))).collect();
            let key = (a.tenant, a.app_id.to_ascii_lowercase());
            Some(state.workload_history.keep(key, started, read, state.risk.history_sign_ins))
        }
        Err(e) => {
            tracing::warn!(error = %e, "reading a service principal's sign-in history for risk detection failed");
            None
        }
    }
}

/// How long a service principal's sign-in history read from the store stands in for it.
const WORKLOAD_HISTORY_MAX_AGE: std::time::Duration = std::time::Duration::from_secs(1);
/// Service principals whose history is kept; past this the map starts over.
const WORKLOAD_HISTORY_KEYS: usize = 4096;

/// The recent successful sign-ins of each service principal (by tenant and lower-case appId)
/// that workload risk detection compares a sign-in with, kept in memory (issue 8: reading them
/// back from the log was a store round trip and up to fifty records per client-credentials
/// token; on PostgreSQL whole records).
///
/// Consistency: this node's own sign-ins are exact. Each one committed here is added as soon
/// as its row is committed ([`WorkloadHistories::note`]), and a read from the store merges
/// what was added meanwhile, so none is missed or counted twice (by sign-in id). Sign-ins
/// committed by other nodes sharing the store are seen once the history read here is older
/// than [`WORKLOAD_HISTORY_MAX_AGE`] (one second): the next sign-in after that reads it again.
/// Before, two nodes' concurrent sign-ins already missed each other for the time of a commit;
/// a detection on another node's brand-new source within that second is the cost, stated
/// here and tested (`tests/api/risky_service_principals.rs`).
#[derive(Default)]
pub struct WorkloadHistories {
    map: std::sync::Mutex<std::collections::HashMap<(Uuid, String), WorkloadHistory>>,
}

struct WorkloadHistory {
    /// When the read from the store that the history reflects started; `None` while it holds
    /// only sign-ins noted here (not the whole history).
    read_at: Option<std::time::Instant>,
    /// Newest first, at most the configured history length.
    sign_ins: Vec<(Uuid, risk::WorkloadFacts)>,
}

impl WorkloadHistories {
    /// The history of `key` since `since`, if a read of it is recent enough.
    fn recent(&self, key: &(Uuid, String), since: OffsetDateTime) -> Option<Vec<risk::WorkloadFacts>> {
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        let h = map.get(key)?;
        if h.read_at.is_none_or(|t| t.elapsed() >= WORKLOAD_HISTORY_MAX_AGE) {
            return None;
        }
        Some(h.sign_ins.iter().filter(|(_, f)| f.at >= since).map(|(_, f)| f.clone()).collect())
    }

    /// Keeps `read` (read from the store from `started` on) with what was noted meanwhile;
    /// answers the merged history.
    fn keep(
        &self,
        key: (Uuid, String),
        started: std::time::Instant,
        read: Vec<(Uuid, risk::WorkloadFacts)>,
        limit: usize,
    ) -> Vec<risk::WorkloadFacts> {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= WORKLOAD_HISTORY_KEYS && !map.contains_key(&key) {
            map.clear();
        }
        let h = map.entry(key).or_insert(WorkloadHistory { read_at: None, sign_ins: Vec::new() });
        let mut merged = read;
        for (id, facts) in h.sign_ins.drain(..) {
            if !merged.iter().any(|(m, _)| *m == id) {
                merged.push((id, facts));
            }
        }
        merged.sort_by_key(|(_, f)| std::cmp::Reverse(f.at));
        merged.truncate(limit);
        h.sign_ins = merged;
        h.read_at = Some(started);
        h.sign_ins.iter().map(|(_, f)| f.clone()).collect()
    }

    /// Adds a successful sign-in of the service principal `key`, committed by this node.
    fn note(&self, key: (Uuid, String), id: Uuid, facts: risk::WorkloadFacts, limit: usize) {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= WORKLOAD_HISTORY_KEYS && !map.contains_key(&key) {
            map.clear();
        }
        let h = map.entry(key).or_insert(WorkloadHistory { read_at: None, sign_ins: Vec::new() });
        if h.sign_ins.iter().any(|(m, _)| *m == id) {
            return;
        }
        let at = h.sign_ins.iter().position(|(_, f)| f.at <= facts.at).unwrap_or(h.sign_ins.len());
        h.sign_ins.insert(at, (id, facts));
        h.sign_ins.truncate(limit);
    }
}

/// Tells the workload histories that `record`, a successful sign-in of a service principal as
/// itself, is committed (see [`WorkloadHistories`]).
pub(crate) fn note_workload_sign_in(state: &PlatformState, tenant: Uuid, record: &SignInRecord) {
    let Some(app_id) = record.app_id.as_deref() else { return };
    if record.error_code != 0 || record.event_type != "servicePrincipal" {
        return;
    }
    let key = (tenant, app_id.to_ascii_lowercase());
    state.workload_history.note(key, record.id, workload_facts(record), state.risk.history_sign_ins);
}

/// The properties of a logged sign-in's document that [`facts`] and [`workload_facts`] read:
/// the history is read with these only. Parsing whole records was a third of the instructions
/// of a client-credentials token (fifty records per token; issue 8). Every `doc` key the two
/// functions read must be listed here, or the history looks empty for it
/// (`workload_credentials` tests the credential type through HTTP).
const FACT_PROPERTIES: &[&str] =
    &["location", "autonomousSystemNumber", "deviceDetail", "resourceId", "clientCredentialType"];

fn workload_facts(r: &SignInRecord) -> risk::WorkloadFacts {
    let f = facts(r);
    risk::WorkloadFacts {
        at: f.at,
        ip: f.ip,
        location: f.location,
        user_agent: f.browser,
        resource: r.doc.get("resourceId").and_then(Value::as_str).map(str::to_string),
        credential_type: r.doc.get("clientCredentialType").and_then(Value::as_str).map(str::to_string),
    }
}

/// The facts of a logged sign-in.
fn facts(r: &SignInRecord) -> SignInFacts {
    let doc = &r.doc;
    let str_at = |path: &[&str]| {
        let mut v = doc.get(path[0]);
        for k in &path[1..] {
            v = v.and_then(|v| v.get(k));
        }
        v.and_then(Value::as_str).map(str::to_string)
    };
    let coordinate = |k: &str| doc.get("location")?.get("geoCoordinates")?.get(k)?.as_f64();
    let location = Location {
        city: str_at(&["location", "city"]),
        state: str_at(&["location", "state"]),
        country_or_region: str_at(&["location", "countryOrRegion"]),
        latitude: coordinate("latitude"),
        longitude: coordinate("longitude"),
        asn: doc.get("autonomousSystemNumber").and_then(Value::as_u64).and_then(|n| u32::try_from(n).ok()),
        asn_organization: None,
        corporate: false,
    };
    SignInFacts {
        at: OffsetDateTime::parse(&r.at, &Rfc3339).unwrap_or(OffsetDateTime::UNIX_EPOCH),
        ip: r.ip_address.parse().unwrap_or(IpAddr::from([0, 0, 0, 0])),
        location: Some(location),
        browser: str_at(&["deviceDetail", "browser"]).and_then(|b| browser_family(&b)),
    }
}

/// `Chrome 120.0.0` → `Chrome`; `Rich Client 1.2` → `Rich Client`.
fn browser_family(browser: &str) -> Option<String> {
    let family: Vec<&str> = browser.split(' ').take_while(|w| !w.starts_with(|c: char| c.is_ascii_digit())).collect();
    let family = family.join(" ");
    (!family.is_empty()).then_some(family)
}

/// The sign-in log's risk properties for these findings (Graph's `signIn`).
/// The sign-in risk level of the findings (`none` without any).
pub(crate) fn level(findings: &[Finding]) -> &'static str {
    findings.iter().map(|f| f.level).max().unwrap_or(RiskLevel::None).as_str()
}

pub(crate) fn risk_properties(findings: &[Finding]) -> [(&'static str, Value); 6] {
    let level = findings.iter().map(|f| f.level).max().unwrap_or(RiskLevel::None);
    let types: Vec<Value> = findings.iter().map(|f| Value::from(f.risk_event_type)).collect();
    // v1.0's deprecated `riskEventTypes` enum names a subset; others are left out as Graph does.
    let legacy: Vec<Value> = findings
        .iter()
        .filter_map(|f| match f.risk_event_type {
            "impossibleTravel" => Some("mcasImpossibleTravel"),
            t @ ("anonymizedIPAddress" | "maliciousIPAddress" | "unfamiliarFeatures" | "leakedCredentials") => Some(t),
            _ => None,
        })
        .map(Value::from)
        .collect();
    let state = if findings.is_empty() { "none" } else { "atRisk" };
    [
        ("riskDetail", Value::from("none")),
        ("riskLevelAggregated", Value::from(level.as_str())),
        ("riskLevelDuringSignIn", Value::from(level.as_str())),
        ("riskState", Value::from(state)),
        ("riskEventTypes", Value::Array(legacy)),
        ("riskEventTypes_v2", Value::Array(types)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browser_families() {
        assert_eq!(browser_family("Chrome 120.0.0.0").as_deref(), Some("Chrome"));
        assert_eq!(browser_family("Rich Client 1.31.0").as_deref(), Some("Rich Client"));
        assert_eq!(browser_family(""), None);
    }
}
