//! Identity Protection for workload identities: the risk detections found at a service
//! principal's own sign-ins, kept as Graph `servicePrincipalRiskDetection`s, and the service
//! principal risk aggregated from them (`riskyServicePrincipal`, with its
//! `riskyServicePrincipalHistoryItem`s). The rules are the users' ([`crate::risk_subject`]);
//! what is the service principal's alone lives here: its level feeds Conditional Access's
//! `servicePrincipalRiskLevels` at the token endpoint.

use cerulean_identity::risk::Finding;
use cerulean_store::SignInRecord;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::risk_subject::{RiskSubject, SubjectNames};
use crate::{Directory, DirectoryResult};

/// What the risk rows show of a service principal.
pub type WorkloadNames = SubjectNames;

/// The names of a stored service principal.
pub fn workload_names(id: Uuid, doc: &Map<String, Value>) -> WorkloadNames {
    SubjectNames::of(RiskSubject::ServicePrincipal, id, doc)
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
        self.record_subject_sign_in(tenant, record, sp, findings).await
    }

    /// The service principal's risk level for Conditional Access (`none` without risk): one
    /// read by primary key, cheap enough for every token request.
    pub async fn service_principal_risk_level(&self, tenant: Uuid, sp: Uuid) -> DirectoryResult<String> {
        self.risk_level(tenant, RiskSubject::ServicePrincipal, sp).await
    }
}
