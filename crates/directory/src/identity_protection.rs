//! Identity Protection: the risk detections found at sign-in, kept as Graph `riskDetection`s,
//! and the user risk aggregated from them (`riskyUser`, with its `riskyUserHistoryItem`s).
//!
//! A user's risk level is the highest level of their detections still `atRisk`. The state
//! moves: `atRisk` when a detection arrives; `confirmedCompromised` (high) when an
//! administrator confirms it, which also records an `adminConfirmedUserCompromised`
//! detection; `dismissed` (none) when an administrator dismisses it, which dismisses the
//! user's open detections; `remediated` (none) when the user changes their password or an
//! administrator resets it. Each change appends a history item saying who did what.

use cerulean_identity::risk::Finding;
use cerulean_store::{LogColumn, LogCursor, LogQuery, RiskRecord, RiskTable, SignInRecord};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::validate::now;
use crate::{Caller, Directory, DirectoryError, DirectoryResult};

/// At most this many users per `confirmCompromised` or `dismiss` call, as Graph documents.
pub const MAX_USERS_PER_ACTION: usize = 60;
/// Open detections of one user read when aggregating or closing them.
const OPEN_LIMIT: usize = 1000;

const AT_RISK: &str = "atRisk";
const CONFIRMED: &str = "confirmedCompromised";

/// `none` < `low` < `medium` < `high`.
fn rank(level: &str) -> u8 {
    match level {
        "low" => 1,
        "medium" => 2,
        "high" => 3,
        _ => 0,
    }
}

fn text(doc: &Map<String, Value>, key: &str) -> Option<String> {
    doc.get(key).and_then(Value::as_str).map(str::to_string)
}

/// The user's names as a detection shows them.
struct UserNames {
    id: Uuid,
    display_name: Option<String>,
    principal_name: Option<String>,
}

impl Directory {
    /// Records one sign-in attempt and the risk detections found for it: each finding becomes a
    /// `riskDetection` linked to the sign-in (`requestId`), and the user's risk is raised. The
    /// sign-in, its detections and the user's new risk are written in one store transaction, so
    /// no detection outlives a failed sign-in write nor the reverse. Sign-ins without a user
    /// record no detection.
    pub async fn record_sign_in_with_risk(
        &self,
        tenant: Uuid,
        record: &SignInRecord,
        findings: &[Finding],
    ) -> DirectoryResult<()> {
        let Some(user_id) = record.user_id.filter(|_| !findings.is_empty()) else {
            return Ok(self.sign_ins.put(&self.store, tenant, record.clone()).await?);
        };
        let user = UserNames {
            id: user_id,
            display_name: text(&record.doc, "userDisplayName"),
            principal_name: record.user_principal_name.clone(),
        };
        let rows: Vec<RiskRecord> = findings.iter().map(|f| sign_in_detection(record, &user, f)).collect();
        let mut writes = Vec::new();
        let current = self.store.risk_record(tenant, RiskTable::RiskyUsers, user.id).await?;
        // Already confirmed compromised (high): new detections change the user's risk no
        // further until an administrator dismisses it or the user remediates.
        if current.as_ref().is_none_or(|c| c.risk_state != CONFIRMED) {
            let open = self.open_detections(tenant, user.id).await?;
            let level = open
                .iter()
                .chain(&rows)
                .map(|d| d.risk_level.as_str())
                .max_by_key(|l| rank(l))
                .unwrap_or("none")
                .to_string();
            let types: Vec<String> = findings.iter().map(|f| f.risk_event_type.to_string()).collect();
            let (risky, history) = user_risk_rows(&user, &record.at, AT_RISK, &level, "none", None, types);
            writes.push((RiskTable::RiskyUsers, vec![risky]));
            writes.push((RiskTable::History, vec![history]));
        }
        writes.insert(0, (RiskTable::Detections, rows));
        Ok(self.store.put_sign_in_with_risk(tenant, record, &writes).await?)
    }

    /// The user's detections still `atRisk`.
    async fn open_detections(&self, tenant: Uuid, user: Uuid) -> DirectoryResult<Vec<RiskRecord>> {
        let q = LogQuery {
            equals: vec![(LogColumn::UserId, vec![user.to_string()]), (LogColumn::RiskState, vec![AT_RISK.into()])],
            limit: OPEN_LIMIT,
            ..LogQuery::default()
        };
        Ok(self.store.risk_page(tenant, RiskTable::Detections, &q).await?.into_iter().map(|(_, r)| r).collect())
    }

    /// Writes the user's risk and appends the history item of the change.
    #[allow(clippy::too_many_arguments)]
    async fn set_user_risk(
        &self,
        tenant: Uuid,
        user: &UserNames,
        at: &str,
        state: &str,
        level: &str,
        detail: &str,
        initiated_by: Option<Uuid>,
        types: Vec<String>,
    ) -> DirectoryResult<()> {
        let (row, history) = user_risk_rows(user, at, state, level, detail, initiated_by, types);
        self.store.put_risk_records(tenant, RiskTable::RiskyUsers, std::slice::from_ref(&row)).await?;
        self.store.put_risk_records(tenant, RiskTable::History, &[history]).await?;
        Ok(())
    }

    /// Moves the user's open (and confirmed) detections to `state` with `detail`.
    async fn close_detections(
        &self,
        tenant: Uuid,
        user: Uuid,
        at: &str,
        state: &str,
        detail: &str,
    ) -> DirectoryResult<()> {
        let q = LogQuery {
            equals: vec![
                (LogColumn::UserId, vec![user.to_string()]),
                (LogColumn::RiskState, vec![AT_RISK.into(), CONFIRMED.into()]),
            ],
            limit: OPEN_LIMIT,
            ..LogQuery::default()
        };
        let rows: Vec<RiskRecord> = self
            .store
            .risk_page(tenant, RiskTable::Detections, &q)
            .await?
            .into_iter()
            .map(|(_, mut r)| {
                r.risk_state = state.to_string();
                r.doc.insert("riskState".into(), json!(state));
                r.doc.insert("riskDetail".into(), json!(detail));
                r.doc.insert("lastUpdatedDateTime".into(), json!(at));
                r
            })
            .collect();
        if !rows.is_empty() {
            self.store.put_risk_records(tenant, RiskTable::Detections, &rows).await?;
        }
        Ok(())
    }

    /// The users named by `ids` that exist in the tenant (unknown ids are ignored, as Graph
    /// does), refusing more than [`MAX_USERS_PER_ACTION`].
    async fn action_users(&self, tenant: Uuid, ids: &[String]) -> DirectoryResult<Vec<UserNames>> {
        if ids.len() > MAX_USERS_PER_ACTION {
            return Err(DirectoryError::bad_request(format!(
                "The maximum count of users in one call is {MAX_USERS_PER_ACTION}."
            )));
        }
        let mut out: Vec<UserNames> = Vec::new();
        for id in ids {
            let Ok(id) = Uuid::parse_str(id) else { continue };
            if out.iter().any(|u| u.id == id) {
                continue;
            }
            if let Some(o) = self.get(tenant, id).await?.filter(|o| o.object_type == "user") {
                out.push(UserNames {
                    id,
                    display_name: text(&o.doc, "displayName"),
                    principal_name: text(&o.doc, "userPrincipalName"),
                });
            }
        }
        Ok(out)
    }

    /// `POST /identityProtection/riskyUsers/confirmCompromised`: each named user becomes
    /// `confirmedCompromised` at high risk, with an `adminConfirmedUserCompromised` detection.
    pub async fn confirm_users_compromised(&self, caller: &Caller, ids: &[String]) -> DirectoryResult<()> {
        let at = now();
        for user in self.action_users(caller.tenant, ids).await? {
            let detail = "adminConfirmedUserCompromised";
            self.close_detections(caller.tenant, user.id, &at, CONFIRMED, detail).await?;
            let detection = admin_detection(&user, &at, caller.correlation_id.clone());
            self.store.put_risk_records(caller.tenant, RiskTable::Detections, &[detection]).await?;
            let types = vec![detail.to_string()];
            self.set_user_risk(caller.tenant, &user, &at, CONFIRMED, "high", detail, caller.actor.id, types).await?;
        }
        Ok(())
    }

    /// `POST /identityProtection/riskyUsers/dismiss`: each named risky user's risk is
    /// dismissed (level none), and so are their open detections. Users without risk are left
    /// as they are.
    pub async fn dismiss_user_risk(&self, caller: &Caller, ids: &[String]) -> DirectoryResult<()> {
        let at = now();
        let detail = "adminDismissedAllRiskForUser";
        for user in self.action_users(caller.tenant, ids).await? {
            if self.store.risk_record(caller.tenant, RiskTable::RiskyUsers, user.id).await?.is_none() {
                continue;
            }
            self.close_detections(caller.tenant, user.id, &at, "dismissed", detail).await?;
            self.set_user_risk(caller.tenant, &user, &at, "dismissed", "none", detail, caller.actor.id, Vec::new())
                .await?;
        }
        Ok(())
    }

    /// Called after every password write (`PATCH passwordProfile`, `changePassword`,
    /// `resetPassword`): the user changing their own password is a secure change, anyone else
    /// setting it an administrator's temporary password. The password has changed either way:
    /// a failure here is logged, not answered.
    pub(crate) async fn remediate_after_password_change(&self, caller: &Caller, user: Uuid) {
        let detail = if caller.actor.id == Some(user) {
            "userPerformedSecuredPasswordChange"
        } else {
            "adminGeneratedTemporaryPassword"
        };
        if let Err(e) = self.remediate_user_risk(caller, user, detail).await {
            tracing::warn!(error = %e, "remediating the user risk after a password change failed");
        }
    }

    /// A password change remediates the user's risk: `userPerformedSecuredPasswordChange` when
    /// the user changed it, `adminGeneratedTemporaryPassword` when an administrator reset it.
    /// Users not at risk (or already dismissed or remediated) are left as they are.
    pub(crate) async fn remediate_user_risk(&self, caller: &Caller, user: Uuid, detail: &str) -> DirectoryResult<()> {
        let Some(current) = self.store.risk_record(caller.tenant, RiskTable::RiskyUsers, user).await? else {
            return Ok(());
        };
        if current.risk_state != AT_RISK && current.risk_state != CONFIRMED {
            return Ok(());
        }
        let at = now();
        let names = UserNames {
            id: user,
            display_name: text(&current.doc, "userDisplayName"),
            principal_name: current.user_principal_name.clone(),
        };
        self.close_detections(caller.tenant, user, &at, "remediated", detail).await?;
        self.set_user_risk(caller.tenant, &names, &at, "remediated", "none", detail, caller.actor.id, Vec::new()).await
    }

    /// Risk detections matching `query`, newest first.
    pub async fn risk_detection_page(
        &self,
        tenant: Uuid,
        query: &LogQuery,
    ) -> DirectoryResult<Vec<(LogCursor, RiskRecord)>> {
        Ok(self.store.risk_page(tenant, RiskTable::Detections, query).await?)
    }

    /// One risk detection by id.
    pub async fn risk_detection(&self, tenant: Uuid, id: Uuid) -> DirectoryResult<Option<RiskRecord>> {
        Ok(self.store.risk_record(tenant, RiskTable::Detections, id).await?)
    }

    /// Risky users matching `query`, most recently updated first.
    pub async fn risky_user_page(
        &self,
        tenant: Uuid,
        query: &LogQuery,
    ) -> DirectoryResult<Vec<(LogCursor, RiskRecord)>> {
        Ok(self.store.risk_page(tenant, RiskTable::RiskyUsers, query).await?)
    }

    /// One risky user by the user's id.
    pub async fn risky_user(&self, tenant: Uuid, id: Uuid) -> DirectoryResult<Option<RiskRecord>> {
        Ok(self.store.risk_record(tenant, RiskTable::RiskyUsers, id).await?)
    }

    /// The history of one risky user matching `query` (which is narrowed to the user), newest
    /// first.
    pub async fn risky_user_history_page(
        &self,
        tenant: Uuid,
        user: Uuid,
        query: &LogQuery,
    ) -> DirectoryResult<Vec<(LogCursor, RiskRecord)>> {
        let mut q = query.clone();
        q.equals.retain(|(c, _)| *c != LogColumn::UserId);
        q.equals.push((LogColumn::UserId, vec![user.to_string()]));
        Ok(self.store.risk_page(tenant, RiskTable::History, &q).await?)
    }
}

impl Directory {
    /// One history item of one risky user.
    pub async fn risky_user_history_item(
        &self,
        tenant: Uuid,
        user: Uuid,
        id: Uuid,
    ) -> DirectoryResult<Option<RiskRecord>> {
        Ok(self.store.risk_record(tenant, RiskTable::History, id).await?.filter(|r| r.user_id == user))
    }
}

/// The `riskDetection` of one finding at a sign-in.
fn sign_in_detection(s: &SignInRecord, user: &UserNames, f: &Finding) -> RiskRecord {
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
        "userId": user.id.to_string(),
        "userDisplayName": user.display_name,
        "userPrincipalName": user.principal_name,
        "additionalInfo": f.additional_info(),
    });
    RiskRecord {
        id,
        at: s.at.clone(),
        user_id: user.id,
        user_principal_name: user.principal_name.clone(),
        risk_event_type: Some(f.risk_event_type.to_string()),
        risk_level: f.level.as_str().to_string(),
        risk_state: AT_RISK.into(),
        ip_address: Some(s.ip_address.clone()),
        correlation_id: s.correlation_id.clone(),
        doc: doc.as_object().cloned().unwrap_or_default(),
    }
}

/// The `adminConfirmedUserCompromised` detection of an administrator's confirmation: a
/// user-linked (not sign-in) detection.
fn admin_detection(user: &UserNames, at: &str, correlation_id: Option<String>) -> RiskRecord {
    let id = Uuid::new_v4();
    let kind = "adminConfirmedUserCompromised";
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
        "activity": "user",
        "tokenIssuerType": "AzureAD",
        "ipAddress": null,
        "location": null,
        "activityDateTime": at,
        "detectedDateTime": at,
        "lastUpdatedDateTime": at,
        "userId": user.id.to_string(),
        "userDisplayName": user.display_name,
        "userPrincipalName": user.principal_name,
        "additionalInfo": json!([{"Key": "reason", "Value": "An administrator confirmed the user compromised."}]).to_string(),
    });
    RiskRecord {
        id,
        at: at.to_string(),
        user_id: user.id,
        user_principal_name: user.principal_name.clone(),
        risk_event_type: Some(kind.into()),
        risk_level: "high".into(),
        risk_state: CONFIRMED.into(),
        ip_address: None,
        correlation_id,
        doc: doc.as_object().cloned().unwrap_or_default(),
    }
}

/// A user's risk row and the history item of the change to it.
fn user_risk_rows(
    user: &UserNames,
    at: &str,
    state: &str,
    level: &str,
    detail: &str,
    initiated_by: Option<Uuid>,
    types: Vec<String>,
) -> (RiskRecord, RiskRecord) {
    let doc = json!({
        "id": user.id.to_string(),
        "isDeleted": false,
        "isProcessing": false,
        "riskLastUpdatedDateTime": at,
        "riskLevel": level,
        "riskState": state,
        "riskDetail": detail,
        "userDisplayName": user.display_name,
        "userPrincipalName": user.principal_name,
    })
    .as_object()
    .cloned()
    .unwrap_or_default();
    let row = RiskRecord {
        id: user.id,
        at: at.to_string(),
        user_id: user.id,
        user_principal_name: user.principal_name.clone(),
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
    item.insert("userId".into(), json!(user.id.to_string()));
    item.insert("initiatedBy".into(), json!(initiated_by.map(|u| u.to_string())));
    // v1.0 names the types `riskEventTypes`; beta also `eventTypes`.
    item.insert("activity".into(), json!({"detail": detail, "riskEventTypes": types, "eventTypes": types}));
    let history = RiskRecord { id: history_id, doc: item, ..row.clone() };
    (row, history)
}
