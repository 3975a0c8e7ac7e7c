//! Identity Protection for workload identities: the risk detections found at a service
//! principal's own sign-ins, kept as Graph `servicePrincipalRiskDetection`s, and the service
//! principal risk aggregated from them (`riskyServicePrincipal`, with its
//! `riskyServicePrincipalHistoryItem`s).
//!
//! The rules are the user ones ([`crate::identity_protection`]): the risk level is the highest
//! level of the open (`atRisk`) detections; `confirmCompromised` makes the service principal
//! `confirmedCompromised` at high risk and records an
//! `adminConfirmedServicePrincipalCompromised` detection; `dismiss` sets it `dismissed` (level
//! none) and dismisses its open detections. Each change appends a history item. The level feeds
//! Conditional Access's `servicePrincipalRiskLevels` at the token endpoint.

use cerulean_identity::risk::Finding;
use cerulean_store::{LogColumn, LogCursor, LogQuery, RiskRecord, RiskTable, SignInRecord};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::validate::now;
use crate::{Caller, Directory, DirectoryError, DirectoryResult};

/// At most this many service principals per `confirmCompromised` or `dismiss` call (Graph
/// documents 60 for users; Cerulean applies the same bound here).
pub const MAX_SERVICE_PRINCIPALS_PER_ACTION: usize = 60;
/// Open detections of one service principal read when aggregating or closing them.
const OPEN_LIMIT: usize = 1000;

const AT_RISK: &str = "atRisk";
const CONFIRMED: &str = "confirmedCompromised";

fn rank(level: &str) -> u8 {
    match level {
        "low" => 1,
        "medium" => 2,
        "high" => 3,
        _ => 0,
    }
}

/// What the risk rows show of a service principal.
pub struct WorkloadNames {
    pub id: Uuid,
    pub app_id: Option<String>,
    pub display_name: Option<String>,
    pub is_enabled: bool,
    pub service_principal_type: Option<String>,
}

impl WorkloadNames {
    /// The names of a stored service principal.
    pub fn of(id: Uuid, doc: &Map<String, Value>) -> WorkloadNames {
        let text = |k: &str| doc.get(k).and_then(Value::as_str).map(str::to_string);
        WorkloadNames {
            id,
            app_id: text("appId"),
            display_name: text("displayName"),
            is_enabled: doc.get("accountEnabled").and_then(Value::as_bool).unwrap_or(true),
            service_principal_type: text("servicePrincipalType"),
        }
    }
}

impl Directory {
    /// Records a service principal's sign-in and the risk detections found for it, in one store
    /// transaction with the service principal's new risk (unless it is already confirmed
    /// compromised, which new detections do not change).
    pub async fn record_workload_sign_in_with_risk(
        &self,
        tenant: Uuid,
        record: &SignInRecord,
        sp: &WorkloadNames,
        findings: &[Finding],
    ) -> DirectoryResult<()> {
        // Without findings the sign-in is the only row: it goes through the group commit like
        // every other sign-in (see `sign_in_writer.rs`). Written alone, each client-credentials
        // token paid a transaction of its own and held the store's writer — on SQLite, a
        // runtime worker blocked on the writer's mutex while another token committed (issue 8).
        if findings.is_empty() {
            return self.record_sign_in(tenant, record).await;
        }
        let rows: Vec<RiskRecord> = findings.iter().map(|f| sign_in_detection(record, sp, f)).collect();
        let mut writes = vec![(RiskTable::ServicePrincipalDetections, rows.clone())];
        let current = self.store.risk_record(tenant, RiskTable::RiskyServicePrincipals, sp.id).await?;
        if current.as_ref().is_none_or(|c| c.risk_state != CONFIRMED) {
            let open = self.open_workload_detections(tenant, sp.id, &[AT_RISK]).await?;
            let level = open
                .iter()
                .chain(&rows)
                .map(|d| d.risk_level.as_str())
                .max_by_key(|l| rank(l))
                .unwrap_or("none")
                .to_string();
            let types: Vec<String> = findings.iter().map(|f| f.risk_event_type.to_string()).collect();
            let (risky, history) = risk_rows(sp, &record.at, AT_RISK, &level, "none", None, types);
            writes.push((RiskTable::RiskyServicePrincipals, vec![risky]));
            writes.push((RiskTable::ServicePrincipalHistory, vec![history]));
        }
        Ok(self.store.put_sign_in_with_risk(tenant, record, &writes).await?)
    }

    /// The service principal's risk level for Conditional Access (`none` without risk): one
    /// read by primary key, cheap enough for every token request.
    pub async fn service_principal_risk_level(&self, tenant: Uuid, sp: Uuid) -> DirectoryResult<String> {
        let row = self.store.risk_record(tenant, RiskTable::RiskyServicePrincipals, sp).await?;
        Ok(match row {
            Some(r) if r.risk_state == AT_RISK || r.risk_state == CONFIRMED => r.risk_level,
            _ => "none".to_string(),
        })
    }

    async fn open_workload_detections(
        &self,
        tenant: Uuid,
        sp: Uuid,
        states: &[&str],
    ) -> DirectoryResult<Vec<RiskRecord>> {
        let q = LogQuery {
            equals: vec![
                (LogColumn::ServicePrincipalId, vec![sp.to_string()]),
                (LogColumn::RiskState, states.iter().map(|s| s.to_string()).collect()),
            ],
            limit: OPEN_LIMIT,
            ..LogQuery::default()
        };
        let page = self.store.risk_page(tenant, RiskTable::ServicePrincipalDetections, &q).await?;
        Ok(page.into_iter().map(|(_, r)| r).collect())
    }

    /// Moves the service principal's open (and confirmed) detections to `state`.
    async fn close_workload_detections(
        &self,
        tenant: Uuid,
        sp: Uuid,
        at: &str,
        state: &str,
        detail: &str,
    ) -> DirectoryResult<()> {
        let rows: Vec<RiskRecord> = self
            .open_workload_detections(tenant, sp, &[AT_RISK, CONFIRMED])
            .await?
            .into_iter()
            .map(|mut r| {
                r.risk_state = state.to_string();
                r.doc.insert("riskState".into(), json!(state));
                r.doc.insert("riskDetail".into(), json!(detail));
                r.doc.insert("lastUpdatedDateTime".into(), json!(at));
                r
            })
            .collect();
        if !rows.is_empty() {
            self.store.put_risk_records(tenant, RiskTable::ServicePrincipalDetections, &rows).await?;
        }
        Ok(())
    }

    /// The service principals named by `ids` that exist in the tenant (unknown ids ignored, as
    /// for users), refusing more than [`MAX_SERVICE_PRINCIPALS_PER_ACTION`].
    async fn action_service_principals(&self, tenant: Uuid, ids: &[String]) -> DirectoryResult<Vec<WorkloadNames>> {
        if ids.len() > MAX_SERVICE_PRINCIPALS_PER_ACTION {
            return Err(DirectoryError::bad_request(format!(
                "The maximum count of service principals in one call is {MAX_SERVICE_PRINCIPALS_PER_ACTION}."
            )));
        }
        let mut out: Vec<WorkloadNames> = Vec::new();
        for id in ids {
            let Ok(id) = Uuid::parse_str(id) else { continue };
            if out.iter().any(|s| s.id == id) {
                continue;
            }
            if let Some(o) = self.get(tenant, id).await?.filter(|o| o.object_type == "servicePrincipal") {
                out.push(WorkloadNames::of(id, &o.doc));
            }
        }
        Ok(out)
    }

    #[allow(clippy::too_many_arguments)]
    async fn set_workload_risk(
        &self,
        caller: &Caller,
        sp: &WorkloadNames,
        at: &str,
        state: &str,
        level: &str,
        detail: &str,
        types: Vec<String>,
    ) -> DirectoryResult<()> {
        let (row, history) = risk_rows(sp, at, state, level, detail, caller.actor.id, types);
        self.store.put_risk_records(caller.tenant, RiskTable::RiskyServicePrincipals, &[row]).await?;
        self.store.put_risk_records(caller.tenant, RiskTable::ServicePrincipalHistory, &[history]).await?;
        Ok(())
    }

    /// `POST /identityProtection/riskyServicePrincipals/confirmCompromised`.
    pub async fn confirm_service_principals_compromised(&self, caller: &Caller, ids: &[String]) -> DirectoryResult<()> {
        let at = now();
        let detail = "adminConfirmedServicePrincipalCompromised";
        for sp in self.action_service_principals(caller.tenant, ids).await? {
            self.close_workload_detections(caller.tenant, sp.id, &at, CONFIRMED, detail).await?;
            let detection = admin_detection(&sp, &at, caller.correlation_id.clone());
            self.store.put_risk_records(caller.tenant, RiskTable::ServicePrincipalDetections, &[detection]).await?;
            self.set_workload_risk(caller, &sp, &at, CONFIRMED, "high", detail, vec![detail.to_string()]).await?;
        }
        Ok(())
    }

    /// `POST /identityProtection/riskyServicePrincipals/dismiss`: service principals without
    /// risk are left as they are.
    pub async fn dismiss_service_principal_risk(&self, caller: &Caller, ids: &[String]) -> DirectoryResult<()> {
        let at = now();
        let detail = "adminDismissedAllRiskForServicePrincipal";
        for sp in self.action_service_principals(caller.tenant, ids).await? {
            if self.store.risk_record(caller.tenant, RiskTable::RiskyServicePrincipals, sp.id).await?.is_none() {
                continue;
            }
            self.close_workload_detections(caller.tenant, sp.id, &at, "dismissed", detail).await?;
            self.set_workload_risk(caller, &sp, &at, "dismissed", "none", detail, Vec::new()).await?;
        }
        Ok(())
    }

    /// Service principal risk detections matching `query`, newest first.
    pub async fn workload_detection_page(
        &self,
        tenant: Uuid,
        query: &LogQuery,
    ) -> DirectoryResult<Vec<(LogCursor, RiskRecord)>> {
        Ok(self.store.risk_page(tenant, RiskTable::ServicePrincipalDetections, query).await?)
    }

    pub async fn workload_detection(&self, tenant: Uuid, id: Uuid) -> DirectoryResult<Option<RiskRecord>> {
        Ok(self.store.risk_record(tenant, RiskTable::ServicePrincipalDetections, id).await?)
    }

    /// Risky service principals matching `query`, most recently updated first.
    pub async fn risky_service_principal_page(
        &self,
        tenant: Uuid,
        query: &LogQuery,
    ) -> DirectoryResult<Vec<(LogCursor, RiskRecord)>> {
        Ok(self.store.risk_page(tenant, RiskTable::RiskyServicePrincipals, query).await?)
    }

    pub async fn risky_service_principal(&self, tenant: Uuid, id: Uuid) -> DirectoryResult<Option<RiskRecord>> {
        Ok(self.store.risk_record(tenant, RiskTable::RiskyServicePrincipals, id).await?)
    }

    /// The history of one risky service principal (the query is narrowed to it), newest first.
    pub async fn risky_service_principal_history_page(
        &self,
        tenant: Uuid,
        sp: Uuid,
        query: &LogQuery,
    ) -> DirectoryResult<Vec<(LogCursor, RiskRecord)>> {
        let mut q = query.clone();
        q.equals.retain(|(c, _)| *c != LogColumn::ServicePrincipalId);
        q.equals.push((LogColumn::ServicePrincipalId, vec![sp.to_string()]));
        Ok(self.store.risk_page(tenant, RiskTable::ServicePrincipalHistory, &q).await?)
    }
}

/// The `servicePrincipalRiskDetection` of one finding at a sign-in. `keyIds`: the credential
/// used is not recorded in the sign-in, so none is named.
fn sign_in_detection(s: &SignInRecord, sp: &WorkloadNames, f: &Finding) -> RiskRecord {
    let id = Uuid::new_v4();
    let doc = json!({
        "id": id.to_string(),
        "requestId": s.id.to_string(),
        "correlationId": s.correlation_id,
        "riskEventType": f.risk_event_type,
        "riskLevel": f.level.as_str(),
        "riskState": AT_RISK,
        "riskDetail": "none",
        "source": "IdentityProtection",
        "detectionTimingType": f.timing.as_str(),
        "activity": "signin",
        "tokenIssuerType": "AzureAD",
        "ipAddress": s.ip_address,
        "location": s.doc.get("location").cloned().unwrap_or(Value::Null),
        "activityDateTime": s.at,
        "detectedDateTime": s.at,
        "lastUpdatedDateTime": s.at,
        "appId": sp.app_id,
        "servicePrincipalId": sp.id.to_string(),
        "servicePrincipalDisplayName": sp.display_name,
        "keyIds": [],
        "additionalInfo": f.additional_info(),
    });
    RiskRecord {
        id,
        at: s.at.clone(),
        user_id: sp.id,
        user_principal_name: sp.app_id.clone(),
        risk_event_type: Some(f.risk_event_type.to_string()),
        risk_level: f.level.as_str().to_string(),
        risk_state: AT_RISK.into(),
        ip_address: Some(s.ip_address.clone()),
        correlation_id: s.correlation_id.clone(),
        doc: doc.as_object().cloned().unwrap_or_default(),
    }
}

/// The `adminConfirmedServicePrincipalCompromised` detection of an administrator's
/// confirmation: linked to the service principal, not to a sign-in.
fn admin_detection(sp: &WorkloadNames, at: &str, correlation_id: Option<String>) -> RiskRecord {
    let id = Uuid::new_v4();
    let kind = "adminConfirmedServicePrincipalCompromised";
    let doc = json!({
        "id": id.to_string(),
        "requestId": null,
        "correlationId": correlation_id,
        "riskEventType": kind,
        "riskLevel": "high",
        "riskState": CONFIRMED,
        "riskDetail": kind,
        "source": "IdentityProtection",
        "detectionTimingType": "offline",
        "activity": "servicePrincipal",
        "tokenIssuerType": "AzureAD",
        "ipAddress": null,
        "location": null,
        "activityDateTime": at,
        "detectedDateTime": at,
        "lastUpdatedDateTime": at,
        "appId": sp.app_id,
        "servicePrincipalId": sp.id.to_string(),
        "servicePrincipalDisplayName": sp.display_name,
        "keyIds": [],
        "additionalInfo": json!([{"Key": "reason", "Value": "An administrator confirmed the service principal compromised."}]).to_string(),
    });
    RiskRecord {
        id,
        at: at.to_string(),
        user_id: sp.id,
        user_principal_name: sp.app_id.clone(),
        risk_event_type: Some(kind.into()),
        risk_level: "high".into(),
        risk_state: CONFIRMED.into(),
        ip_address: None,
        correlation_id,
        doc: doc.as_object().cloned().unwrap_or_default(),
    }
}

/// A service principal's risk row and the history item of the change to it.
fn risk_rows(
    sp: &WorkloadNames,
    at: &str,
    state: &str,
    level: &str,
    detail: &str,
    initiated_by: Option<Uuid>,
    types: Vec<String>,
) -> (RiskRecord, RiskRecord) {
    let doc = json!({
        "id": sp.id.to_string(),
        "appId": sp.app_id,
        "displayName": sp.display_name,
        "isEnabled": sp.is_enabled,
        "isProcessing": false,
        "riskLastUpdatedDateTime": at,
        "riskLevel": level,
        "riskState": state,
        "riskDetail": detail,
        "servicePrincipalType": sp.service_principal_type,
    })
    .as_object()
    .cloned()
    .unwrap_or_default();
    let row = RiskRecord {
        id: sp.id,
        at: at.to_string(),
        user_id: sp.id,
        user_principal_name: sp.app_id.clone(),
        risk_event_type: None,
        risk_level: level.to_string(),
        risk_state: state.to_string(),
        ip_address: None,
        correlation_id: None,
        doc: doc.clone(),
    };
    let history_id = Uuid::new_v4();
    let mut item = doc;
    item.insert("id".into(), json!(history_id.to_string()));
    item.insert("initiatedBy".into(), json!(initiated_by.map(|u| u.to_string())));
    item.insert("activity".into(), json!({"detail": detail, "riskEventTypes": types}));
    let history = RiskRecord { id: history_id, doc: item, ..row.clone() };
    (row, history)
}
