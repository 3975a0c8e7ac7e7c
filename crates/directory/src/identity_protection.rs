//! Identity Protection for users: the risk detections found at sign-in, kept as Graph
//! `riskDetection`s, and the user risk aggregated from them (`riskyUser`, with its
//! `riskyUserHistoryItem`s). The rules shared with service principals (aggregation,
//! `confirmCompromised`, `dismiss`) are [`crate::risk_subject`]'s; what is the user's alone
//! lives here: `remediated` (none) when the user changes their password or an administrator
//! resets it.

use cerulean_identity::risk::Finding;
use cerulean_store::SignInRecord;
use uuid::Uuid;

use crate::risk_subject::{AT_RISK, CONFIRMED, RiskChange, RiskSubject, SubjectNames};
use crate::validate::now;
use crate::{Caller, Directory, DirectoryResult};

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
}
