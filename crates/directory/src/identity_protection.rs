//! Identity Protection for users: the risk detections found at sign-in, kept as Graph
//! `riskDetection`s, and the user risk aggregated from them (`riskyUser`, with its
//! `riskyUserHistoryItem`s). The rules shared with service principals (aggregation,
//! `confirmCompromised`, `dismiss`) are [`crate::risk_subject`]'s; what is the user's alone
//! lives here: `remediated` (none) when the user changes their password or an administrator
//! resets it, and the threat intelligence an administrator raises for a user
//! ([`Directory::raise_threat_intelligence`]).

use cerulean_identity::risk::Finding;
use cerulean_store::{Change, RiskRecord, RiskTable, SignInRecord};
use serde_json::json;
use uuid::Uuid;

use crate::risk_subject::{AT_RISK, CONFIRMED, DetectionFacts, RiskChange, RiskSubject, SubjectNames};
use crate::validate::now;
use crate::{Caller, Directory, DirectoryError, DirectoryResult, audit};

/// The detection an administrator raises (Microsoft's "Microsoft Entra threat intelligence").
pub const THREAT_INTELLIGENCE: &str = "investigationsThreatIntelligence";
/// The longest reason an administrator may give (Cerulean's bound: it is kept in every copy of
/// the detection).
pub const MAX_REASON_CHARS: usize = 1000;

impl Directory {
    /// Records one sign-in attempt and the risk detections found for it: each finding becomes a
    /// `riskDetection` linked to the sign-in (`requestId`), and the user's risk is raised, in one
    /// store transaction. Sign-ins without a user record no detection.
    pub async fn record_sign_in_with_risk(
        &self,
        tenant: Uuid,
        record: &SignInRecord,
        findings: &[Finding],
    ) -> DirectoryResult<()> {
        let Some(user_id) = record.user_id else {
            return Ok(self.sign_ins.put(&self.store, tenant, record.clone()).await?);
        };
        let user = SubjectNames::user_of_row(user_id, &record.doc, record.user_principal_name.clone());
        self.record_subject_sign_in(tenant, record, &user, findings).await
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
        let Some(current) = self.risky(caller.tenant, RiskSubject::User, user).await? else {
            return Ok(());
        };
        if current.risk_state != AT_RISK && current.risk_state != CONFIRMED {
            return Ok(());
        }
        let at = now();
        let names = SubjectNames::user_of_row(user, &current.doc, current.user_principal_name.clone());
        self.close_detections(caller.tenant, &names, &at, "remediated", detail).await?;
        self.set_risk(caller.tenant, &names, RiskChange::closed(&at, "remediated", detail, caller.actor.id)).await
    }

    /// An administrator's threat intelligence about a user: an offline, user-linked
    /// `investigationsThreatIntelligence` detection at `level` (`low`, `medium` or `high`)
    /// whose `additionalInfo` says who raised it and why, the user's risk raised as a sign-in's
    /// detections raise it (a user confirmed compromised stays so), and an audit record. Unknown
    /// users are 404; an empty or overlong reason or another level is 400.
    pub async fn raise_threat_intelligence(
        &self,
        caller: &Caller,
        user: &str,
        reason: &str,
        level: &str,
    ) -> DirectoryResult<RiskRecord> {
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
            return Err(DirectoryError::bad_request(format!(
                "The reason must be between 1 and {MAX_REASON_CHARS} characters."
            )));
        }
        if !matches!(level, "low" | "medium" | "high") {
            return Err(DirectoryError::bad_request(format!(
                "Invalid riskLevel '{level}': use 'low', 'medium' or 'high'."
            )));
        }
        let object = match Uuid::parse_str(user) {
            Ok(id) => self.get(caller.tenant, id).await?.filter(|o| o.object_type == "user"),
            Err(_) => None,
        };
        let object = object.ok_or_else(|| DirectoryError::not_found(user))?;
        let names = SubjectNames::of(RiskSubject::User, object.id, &object.doc);
        let at = now();
        let mut facts = DetectionFacts::offline(RiskSubject::User, THREAT_INTELLIGENCE, level, &at);
        facts.correlation_id = caller.correlation_id.clone();
        let raised_by = caller.actor.display_name.clone().or(caller.actor.id.map(|i| i.to_string()));
        facts.additional_info = json!([
            {"Key": "raisedBy", "Value": raised_by},
            {"Key": "raisedById", "Value": caller.actor.id},
            {"Key": "reason", "Value": reason},
        ])
        .to_string();
        let detection = facts.record(&names);
        let types = vec![THREAT_INTELLIGENCE.to_string()];
        let raised = self.raised_risk(caller.tenant, &names, std::slice::from_ref(&detection), &at, types).await?;
        self.store.put_risk_records(caller.tenant, RiskTable::Detections, std::slice::from_ref(&detection)).await?;
        if let Some((risky, history)) = raised {
            self.store.put_risk_records(caller.tenant, RiskTable::RiskyUsers, &[risky]).await?;
            self.store.put_risk_records(caller.tenant, RiskTable::History, &[history]).await?;
        }
        let mut target = audit::bare_target(&object);
        target.modified.push(cerulean_store::ModifiedProperty {
            name: "riskDetection".into(),
            old_value: serde_json::Value::Null,
            new_value: json!({"id": detection.id, "riskEventType": THREAT_INTELLIGENCE, "riskLevel": level, "reason": reason}),
        });
        let record = audit::record(
            caller,
            "Raise threat intelligence risk detection",
            "IdentityProtection",
            "Add",
            vec![target],
        );
        self.apply_change(caller.tenant, Change { ops: Vec::new(), audit: record }).await?;
        Ok(detection)
    }
}
