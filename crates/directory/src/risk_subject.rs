//! What Identity Protection does for any subject at risk — a user (`riskDetection`,
//! `riskyUser`, `riskyUserHistoryItem`) or a service principal (`servicePrincipalRiskDetection`,
//! `riskyServicePrincipal`, `riskyServicePrincipalHistoryItem`) — written once: recording a
//! sign-in's detections with the subject's new risk, the administrator's `confirmCompromised`
//! and `dismiss`, closing open detections, and the reads behind the Graph routes.
//!
//! The rules are the same for both: the risk level is the highest level of the subject's
//! detections still `atRisk`; `confirmCompromised` makes it `confirmedCompromised` at high risk
//! and records an `adminConfirmed…Compromised` detection; `dismiss` sets it `dismissed` (level
//! none) and dismisses its open detections; new detections leave a confirmed subject as it is.
//! Each change appends a history item saying who did what. Only the tables, the id column and
//! the names the rows show differ ([`RiskSubject`], [`SubjectNames`]).

use cerulean_identity::risk::Finding;
use cerulean_store::{LogColumn, LogCursor, LogQuery, RiskRecord, RiskTable, SignInRecord};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::validate::now;
use crate::{Caller, Directory, DirectoryError, DirectoryResult};

/// At most this many subjects per `confirmCompromised` or `dismiss` call: Graph documents 60
/// for users; Cerulean applies the same bound to service principals.
pub const MAX_SUBJECTS_PER_ACTION: usize = 60;
/// Open detections of one subject read when aggregating or closing them.
const OPEN_LIMIT: usize = 1000;

pub(crate) const AT_RISK: &str = "atRisk";
pub(crate) const CONFIRMED: &str = "confirmedCompromised";

/// Whose risk: the tables, id column and wording that differ between users and service
/// principals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RiskSubject {
    User,
    ServicePrincipal,
}

/// What differs between the subjects: their tables, id column and wording.
struct Spec {
    detections: RiskTable,
    risky: RiskTable,
    history: RiskTable,
    id_column: LogColumn,
    object_type: &'static str,
    noun: &'static str,
    plural: &'static str,
    /// The `riskDetail` (and detection type) of an administrator's confirmation.
    confirmed_detail: &'static str,
    dismissed_detail: &'static str,
    /// The `activity` of a detection linked to the subject rather than to a sign-in.
    offline_activity: &'static str,
}

const USER: Spec = Spec {
    detections: RiskTable::Detections,
    risky: RiskTable::RiskyUsers,
    history: RiskTable::History,
    id_column: LogColumn::UserId,
    object_type: "user",
    noun: "user",
    plural: "users",
    confirmed_detail: "adminConfirmedUserCompromised",
    dismissed_detail: "adminDismissedAllRiskForUser",
    offline_activity: "user",
};

const SERVICE_PRINCIPAL: Spec = Spec {
    detections: RiskTable::ServicePrincipalDetections,
    risky: RiskTable::RiskyServicePrincipals,
    history: RiskTable::ServicePrincipalHistory,
    id_column: LogColumn::ServicePrincipalId,
    object_type: "servicePrincipal",
    noun: "service principal",
    plural: "service principals",
    confirmed_detail: "adminConfirmedServicePrincipalCompromised",
    dismissed_detail: "adminDismissedAllRiskForServicePrincipal",
    offline_activity: "servicePrincipal",
};

impl RiskSubject {
    fn spec(self) -> &'static Spec {
        match self {
            RiskSubject::User => &USER,
            RiskSubject::ServicePrincipal => &SERVICE_PRINCIPAL,
        }
    }

    pub fn detections(self) -> RiskTable {
        self.spec().detections
    }

    pub fn risky(self) -> RiskTable {
        self.spec().risky
    }

    pub fn history(self) -> RiskTable {
        self.spec().history
    }

    /// The column that names the subject in its detections and history.
    pub fn id_column(self) -> LogColumn {
        self.spec().id_column
    }
}

/// What the risk rows show of their subject. `principal_name` is the user's
/// `userPrincipalName`, or the service principal's `appId` (the rows' name column).
#[derive(Debug, Clone)]
pub struct SubjectNames {
    pub subject: RiskSubject,
    pub id: Uuid,
    pub display_name: Option<String>,
    pub principal_name: Option<String>,
    /// A service principal's `accountEnabled` (users: unused).
    pub is_enabled: bool,
    pub service_principal_type: Option<String>,
}

fn text(doc: &Map<String, Value>, key: &str) -> Option<String> {
    doc.get(key).and_then(Value::as_str).map(str::to_string)
}

impl SubjectNames {
    /// The names of a stored user or service principal.
    pub fn of(subject: RiskSubject, id: Uuid, doc: &Map<String, Value>) -> SubjectNames {
        let principal = match subject {
            RiskSubject::User => "userPrincipalName",
            RiskSubject::ServicePrincipal => "appId",
        };
        SubjectNames {
            subject,
            id,
            display_name: text(doc, "displayName"),
            principal_name: text(doc, principal),
            is_enabled: doc.get("accountEnabled").and_then(Value::as_bool).unwrap_or(true),
            service_principal_type: text(doc, "servicePrincipalType"),
        }
    }

    /// A user named by a sign-in record or a risk row (`userDisplayName`, the UPN column).
    pub(crate) fn user_of_row(id: Uuid, doc: &Map<String, Value>, upn: Option<String>) -> SubjectNames {
        SubjectNames {
            subject: RiskSubject::User,
            id,
            display_name: text(doc, "userDisplayName"),
            principal_name: upn,
            is_enabled: true,
            service_principal_type: None,
        }
    }

    /// The properties naming the subject in a detection; `key_ids` are a service principal's
    /// credentials involved (`keyIds`).
    fn detection_fields(&self, doc: &mut Map<String, Value>, key_ids: Vec<String>) {
        let fields = match self.subject {
            RiskSubject::User => json!({
                "userId": self.id.to_string(),
                "userDisplayName": self.display_name,
                "userPrincipalName": self.principal_name,
            }),
            RiskSubject::ServicePrincipal => json!({
                "appId": self.principal_name,
                "servicePrincipalId": self.id.to_string(),
                "servicePrincipalDisplayName": self.display_name,
                "keyIds": key_ids,
            }),
        };
        if let Value::Object(fields) = fields {
            doc.extend(fields);
        }
    }

    /// The risky subject's own properties (besides its risk).
    fn risky_fields(&self) -> Value {
        match self.subject {
            RiskSubject::User => json!({
                "id": self.id.to_string(),
                "isDeleted": false,
                "userDisplayName": self.display_name,
                "userPrincipalName": self.principal_name,
            }),
            RiskSubject::ServicePrincipal => json!({
                "id": self.id.to_string(),
                "appId": self.principal_name,
                "displayName": self.display_name,
                "isEnabled": self.is_enabled,
                "servicePrincipalType": self.service_principal_type,
            }),
        }
    }
}

/// One change of a subject's risk, as its row and history item record it.
pub(crate) struct RiskChange<'a> {
    pub at: &'a str,
    pub state: &'a str,
    pub level: &'a str,
    pub detail: &'a str,
    pub initiated_by: Option<Uuid>,
    pub types: Vec<String>,
}

impl<'a> RiskChange<'a> {
    /// An administrator's or the user's closing of the risk: level none, no new detection.
    pub(crate) fn closed(at: &'a str, state: &'a str, detail: &'a str, initiated_by: Option<Uuid>) -> Self {
        RiskChange { at, state, level: "none", detail, initiated_by, types: Vec::new() }
    }
}

/// What a detection says besides its subject.
pub(crate) struct DetectionFacts {
    pub request_id: Option<String>,
    pub correlation_id: Option<String>,
    pub risk_event_type: String,
    pub level: String,
    pub state: &'static str,
    pub detail: String,
    pub source: String,
    pub timing: &'static str,
    pub activity: &'static str,
    pub ip_address: Option<String>,
    pub location: Value,
    pub at: String,
    pub additional_info: String,
    pub key_ids: Vec<String>,
}

impl DetectionFacts {
    /// The detection of one finding at a sign-in. A service principal's names the credential
    /// the sign-in used (`servicePrincipalCredentialKeyId` of the sign-in log), if any.
    pub(crate) fn of_sign_in(s: &SignInRecord, f: &Finding) -> DetectionFacts {
        let key_ids = s.doc.get("servicePrincipalCredentialKeyId").and_then(Value::as_str).map(str::to_string);
        DetectionFacts {
            request_id: Some(s.id.to_string()),
            correlation_id: s.correlation_id.clone(),
            risk_event_type: f.risk_event_type.to_string(),
            level: f.level.as_str().to_string(),
            state: AT_RISK,
            detail: "none".into(),
            source: "IdentityProtection".into(),
            timing: f.timing.as_str(),
            activity: "signin",
            ip_address: Some(s.ip_address.clone()),
            location: s.doc.get("location").cloned().unwrap_or(Value::Null),
            at: s.at.clone(),
            additional_info: f.additional_info(),
            key_ids: key_ids.into_iter().collect(),
        }
    }

    /// A detection linked to the subject, not to a sign-in (`offline`).
    pub(crate) fn offline(subject: RiskSubject, kind: &str, level: &str, at: &str) -> DetectionFacts {
        DetectionFacts {
            request_id: None,
            correlation_id: None,
            risk_event_type: kind.to_string(),
            level: level.to_string(),
            state: AT_RISK,
            detail: "none".into(),
            source: "IdentityProtection".into(),
            timing: "offline",
            activity: subject.spec().offline_activity,
            ip_address: None,
            location: Value::Null,
            at: at.to_string(),
            additional_info: String::new(),
            key_ids: Vec::new(),
        }
    }

    pub(crate) fn record(self, names: &SubjectNames) -> RiskRecord {
        let id = Uuid::new_v4();
        let doc = json!({
            "id": id.to_string(),
            "requestId": self.request_id,
            "correlationId": self.correlation_id,
            "riskEventType": self.risk_event_type,
            "riskLevel": self.level,
            "riskState": self.state,
            "riskDetail": self.detail,
            "source": self.source,
            "detectionTimingType": self.timing,
            "activity": self.activity,
            "tokenIssuerType": "AzureAD",
            "ipAddress": self.ip_address,
            "location": self.location,
            "activityDateTime": self.at,
            "detectedDateTime": self.at,
            "lastUpdatedDateTime": self.at,
            "additionalInfo": self.additional_info,
        });
        let mut doc = doc.as_object().cloned().unwrap_or_default();
        names.detection_fields(&mut doc, self.key_ids);
        RiskRecord {
            id,
            at: self.at,
            user_id: names.id,
            user_principal_name: names.principal_name.clone(),
            risk_event_type: Some(self.risk_event_type),
            risk_level: self.level,
            risk_state: self.state.into(),
            ip_address: self.ip_address,
            correlation_id: self.correlation_id,
            doc,
        }
    }
}

/// `none` < `low` < `medium` < `high`.
fn rank(level: &str) -> u8 {
    match level {
        "low" => 1,
        "medium" => 2,
        "high" => 3,
        _ => 0,
    }
}

/// The subject's risk row and the history item of the change to it.
pub(crate) fn risk_rows(names: &SubjectNames, change: RiskChange<'_>) -> (RiskRecord, RiskRecord) {
    let mut doc = names.risky_fields().as_object().cloned().unwrap_or_default();
    doc.insert("isProcessing".into(), json!(false));
    doc.insert("riskLastUpdatedDateTime".into(), json!(change.at));
    doc.insert("riskLevel".into(), json!(change.level));
    doc.insert("riskState".into(), json!(change.state));
    doc.insert("riskDetail".into(), json!(change.detail));
    let row = RiskRecord {
        id: names.id,
        at: change.at.to_string(),
        user_id: names.id,
        user_principal_name: names.principal_name.clone(),
        risk_event_type: None,
        risk_level: change.level.to_string(),
        risk_state: change.state.to_string(),
        ip_address: None,
        correlation_id: None,
        doc: doc.clone(),
    };
    let history_id = Uuid::new_v4();
    let mut item = doc;
    item.insert("id".into(), json!(history_id.to_string()));
    item.insert("initiatedBy".into(), json!(change.initiated_by.map(|u| u.to_string())));
    let activity = match names.subject {
        RiskSubject::User => {
            item.insert("userId".into(), json!(names.id.to_string()));
            // v1.0 names the types `riskEventTypes`; beta also `eventTypes`.
            json!({"detail": change.detail, "riskEventTypes": change.types, "eventTypes": change.types})
        }
        RiskSubject::ServicePrincipal => json!({"detail": change.detail, "riskEventTypes": change.types}),
    };
    item.insert("activity".into(), activity);
    let history = RiskRecord { id: history_id, doc: item, ..row.clone() };
    (row, history)
}

impl Directory {
    /// Records a sign-in and the risk detections found for it (`findings`, each linked to the
    /// sign-in by `requestId`) for `names`, in one store transaction with the subject's new
    /// risk — unless it is already confirmed compromised (high), which new detections change no
    /// further until an administrator dismisses it or it is remediated. So no detection
    /// outlives a failed sign-in write nor the reverse.
    pub(crate) async fn record_subject_sign_in(
        &self,
        tenant: Uuid,
        record: &SignInRecord,
        names: &SubjectNames,
        findings: &[Finding],
    ) -> DirectoryResult<()> {
        if findings.is_empty() {
            return Ok(self.sign_ins.put(&self.store, tenant, record.clone()).await?);
        }
        let rows: Vec<RiskRecord> =
            findings.iter().map(|f| DetectionFacts::of_sign_in(record, f).record(names)).collect();
        let types: Vec<String> = findings.iter().map(|f| f.risk_event_type.to_string()).collect();
        let mut writes = Vec::new();
        if let Some((risky, history)) = self.raised_risk(tenant, names, &rows, &record.at, types).await? {
            writes.push((names.subject.risky(), vec![risky]));
            writes.push((names.subject.history(), vec![history]));
        }
        writes.insert(0, (names.subject.detections(), rows));
        Ok(self.store.put_sign_in_with_risk(tenant, record, &writes).await?)
    }

    /// The subject's risk row and history item after new detections `rows`: at risk, at the
    /// highest level of its open detections. `None` when it is confirmed compromised.
    pub(crate) async fn raised_risk(
        &self,
        tenant: Uuid,
        names: &SubjectNames,
        rows: &[RiskRecord],
        at: &str,
        types: Vec<String>,
    ) -> DirectoryResult<Option<(RiskRecord, RiskRecord)>> {
        let current = self.store.risk_record(tenant, names.subject.risky(), names.id).await?;
        if current.is_some_and(|c| c.risk_state == CONFIRMED) {
            return Ok(None);
        }
        let open = self.open_detections(tenant, names, &[AT_RISK]).await?;
        let level = open.iter().chain(rows).map(|d| d.risk_level.as_str()).max_by_key(|l| rank(l)).unwrap_or("none");
        let change = RiskChange { at, state: AT_RISK, level, detail: "none", initiated_by: None, types };
        Ok(Some(risk_rows(names, change)))
    }

    /// The subject's detections in one of `states`.
    async fn open_detections(
        &self,
        tenant: Uuid,
        names: &SubjectNames,
        states: &[&str],
    ) -> DirectoryResult<Vec<RiskRecord>> {
        let q = LogQuery {
            equals: vec![
                (names.subject.id_column(), vec![names.id.to_string()]),
                (LogColumn::RiskState, states.iter().map(|s| s.to_string()).collect()),
            ],
            limit: OPEN_LIMIT,
            ..LogQuery::default()
        };
        let page = self.store.risk_page(tenant, names.subject.detections(), &q).await?;
        Ok(page.into_iter().map(|(_, r)| r).collect())
    }

    /// Writes the subject's risk and appends the history item of the change.
    pub(crate) async fn set_risk(
        &self,
        tenant: Uuid,
        names: &SubjectNames,
        change: RiskChange<'_>,
    ) -> DirectoryResult<()> {
        let (row, history) = risk_rows(names, change);
        self.store.put_risk_records(tenant, names.subject.risky(), &[row]).await?;
        self.store.put_risk_records(tenant, names.subject.history(), &[history]).await?;
        Ok(())
    }

    /// Moves the subject's open (and confirmed) detections to `state` with `detail`.
    pub(crate) async fn close_detections(
        &self,
        tenant: Uuid,
        names: &SubjectNames,
        at: &str,
        state: &str,
        detail: &str,
    ) -> DirectoryResult<()> {
        let rows: Vec<RiskRecord> = self
            .open_detections(tenant, names, &[AT_RISK, CONFIRMED])
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
            self.store.put_risk_records(tenant, names.subject.detections(), &rows).await?;
        }
        Ok(())
    }

    /// The subjects named by `ids` that exist in the tenant (unknown ids are ignored, as Graph
    /// does), refusing more than [`MAX_SUBJECTS_PER_ACTION`].
    async fn action_subjects(
        &self,
        tenant: Uuid,
        subject: RiskSubject,
        ids: &[String],
    ) -> DirectoryResult<Vec<SubjectNames>> {
        if ids.len() > MAX_SUBJECTS_PER_ACTION {
            return Err(DirectoryError::bad_request(format!(
                "The maximum count of {} in one call is {MAX_SUBJECTS_PER_ACTION}.",
                subject.spec().plural
            )));
        }
        let mut out: Vec<SubjectNames> = Vec::new();
        for id in ids {
            let Ok(id) = Uuid::parse_str(id) else { continue };
            if out.iter().any(|u| u.id == id) {
                continue;
            }
            if let Some(o) = self.get(tenant, id).await?.filter(|o| o.object_type == subject.spec().object_type) {
                out.push(SubjectNames::of(subject, id, &o.doc));
            }
        }
        Ok(out)
    }

    /// `POST /identityProtection/risky…/confirmCompromised`: each named subject becomes
    /// `confirmedCompromised` at high risk, with an `adminConfirmed…Compromised` detection.
    pub async fn confirm_compromised(
        &self,
        caller: &Caller,
        subject: RiskSubject,
        ids: &[String],
    ) -> DirectoryResult<()> {
        let at = now();
        let detail = subject.spec().confirmed_detail;
        for names in self.action_subjects(caller.tenant, subject, ids).await? {
            self.close_detections(caller.tenant, &names, &at, CONFIRMED, detail).await?;
            let mut facts = DetectionFacts::offline(subject, detail, "high", &at);
            facts.state = CONFIRMED;
            facts.detail = detail.to_string();
            facts.correlation_id = caller.correlation_id.clone();
            let reason = format!("An administrator confirmed the {} compromised.", subject.spec().noun);
            facts.additional_info = json!([{"Key": "reason", "Value": reason}]).to_string();
            self.store.put_risk_records(caller.tenant, subject.detections(), &[facts.record(&names)]).await?;
            let change = RiskChange {
                at: &at,
                state: CONFIRMED,
                level: "high",
                detail,
                initiated_by: caller.actor.id,
                types: vec![detail.to_string()],
            };
            self.set_risk(caller.tenant, &names, change).await?;
        }
        Ok(())
    }

    /// `POST /identityProtection/risky…/dismiss`: each named risky subject's risk is dismissed
    /// (level none), and so are its open detections. Subjects without risk are left as they are.
    pub async fn dismiss_risk(&self, caller: &Caller, subject: RiskSubject, ids: &[String]) -> DirectoryResult<()> {
        let at = now();
        let detail = subject.spec().dismissed_detail;
        for names in self.action_subjects(caller.tenant, subject, ids).await? {
            if self.store.risk_record(caller.tenant, subject.risky(), names.id).await?.is_none() {
                continue;
            }
            self.close_detections(caller.tenant, &names, &at, "dismissed", detail).await?;
            let change = RiskChange::closed(&at, "dismissed", detail, caller.actor.id);
            self.set_risk(caller.tenant, &names, change).await?;
        }
        Ok(())
    }

    /// The subject kind's detections matching `query`, newest first.
    pub async fn risk_detection_page(
        &self,
        tenant: Uuid,
        subject: RiskSubject,
        query: &LogQuery,
    ) -> DirectoryResult<Vec<(LogCursor, RiskRecord)>> {
        Ok(self.store.risk_page(tenant, subject.detections(), query).await?)
    }

    /// One detection by id.
    pub async fn risk_detection(
        &self,
        tenant: Uuid,
        subject: RiskSubject,
        id: Uuid,
    ) -> DirectoryResult<Option<RiskRecord>> {
        Ok(self.store.risk_record(tenant, subject.detections(), id).await?)
    }

    /// Risky subjects matching `query`, most recently updated first.
    pub async fn risky_page(
        &self,
        tenant: Uuid,
        subject: RiskSubject,
        query: &LogQuery,
    ) -> DirectoryResult<Vec<(LogCursor, RiskRecord)>> {
        Ok(self.store.risk_page(tenant, subject.risky(), query).await?)
    }

    /// One risky subject by the subject's id.
    pub async fn risky(&self, tenant: Uuid, subject: RiskSubject, id: Uuid) -> DirectoryResult<Option<RiskRecord>> {
        Ok(self.store.risk_record(tenant, subject.risky(), id).await?)
    }

    /// The subject's risk level for Conditional Access (`none` without risk): one read by
    /// primary key, cheap enough for every token request.
    pub async fn risk_level(&self, tenant: Uuid, subject: RiskSubject, id: Uuid) -> DirectoryResult<String> {
        Ok(match self.risky(tenant, subject, id).await? {
            Some(r) if r.risk_state == AT_RISK || r.risk_state == CONFIRMED => r.risk_level,
            _ => "none".to_string(),
        })
    }

    /// The history of one risky subject matching `query` (which is narrowed to it), newest
    /// first.
    pub async fn risk_history_page(
        &self,
        tenant: Uuid,
        subject: RiskSubject,
        id: Uuid,
        query: &LogQuery,
    ) -> DirectoryResult<Vec<(LogCursor, RiskRecord)>> {
        let column = subject.id_column();
        let mut q = query.clone();
        q.equals.retain(|(c, _)| *c != column);
        q.equals.push((column, vec![id.to_string()]));
        Ok(self.store.risk_page(tenant, subject.history(), &q).await?)
    }

    /// One history item of one risky subject.
    pub async fn risk_history_item(
        &self,
        tenant: Uuid,
        subject: RiskSubject,
        owner: Uuid,
        id: Uuid,
    ) -> DirectoryResult<Option<RiskRecord>> {
        Ok(self.store.risk_record(tenant, subject.history(), id).await?.filter(|r| r.user_id == owner))
    }
}
