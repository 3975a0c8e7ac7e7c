//! Policy assignment for the token policies: `/applications/{id}/tokenLifetimePolicies`,
//! `/servicePrincipals/{id}/tokenLifetimePolicies` and
//! `/servicePrincipals/{id}/claimsMappingPolicies` (list, `$ref` add and remove), and
//! `/policies/{set}/{id}/appliesTo`. The policies themselves are entity sets
//! (`entity_sets.rs`); the rules are in `cerulean_directory::token_policies`. One set of
//! handlers serves each (policy type, holder) pair, declared by the two traits below.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use cerulean_directory::token_policies::{CLAIMS_MAPPING_POLICY, Holder, TOKEN_LIFETIME_POLICY};
use cerulean_store::ObjectRecord;
use serde_json::{Value, json};

use crate::applications::reference_target;
use crate::error::GraphError;
use crate::odata;
use crate::users::client_request_id;
use crate::{GraphState, Principal, caller};

/// A policy type and the navigation property that lists it.
pub(crate) trait PolicyType: Send + Sync + 'static {
    const TYPE: &'static str;
    const NAVIGATION: &'static str;
}

pub(crate) struct TokenLifetime;
impl PolicyType for TokenLifetime {
    const TYPE: &'static str = TOKEN_LIFETIME_POLICY;
    const NAVIGATION: &'static str = "tokenLifetimePolicies";
}

pub(crate) struct ClaimsMapping;
impl PolicyType for ClaimsMapping {
    const TYPE: &'static str = CLAIMS_MAPPING_POLICY;
    const NAVIGATION: &'static str = "claimsMappingPolicies";
}

/// What a policy is assigned to.
pub(crate) trait PolicyHolder: Send + Sync + 'static {
    const HOLDER: Holder;
}

pub(crate) struct OnApplication;
impl PolicyHolder for OnApplication {
    const HOLDER: Holder = Holder::Application;
}

pub(crate) struct OnServicePrincipal;
impl PolicyHolder for OnServicePrincipal {
    const HOLDER: Holder = Holder::ServicePrincipal;
}

/// The Graph reference allows the assignment routes only with a permission of each side
/// ("AlsoRequires"): `Application.ReadWrite.All` (or `.OwnedBy` for apps) and a policy
/// permission. The authorization table, which knows one list per route, let either through.
fn require_both_sides(p: &Principal) -> Result<(), GraphError> {
    let held: &[String] = if p.delegated { &p.scopes } else { &p.roles };
    let has = |names: &[&str]| held.iter().any(|h| names.iter().any(|n| n.eq_ignore_ascii_case(h)));
    let app_side: &[&str] = if p.delegated {
        &["Application.ReadWrite.All"]
    } else {
        &["Application.ReadWrite.All", "Application.ReadWrite.OwnedBy"]
    };
    if has(app_side) && has(&["Policy.Read.All", "Policy.ReadWrite.ApplicationConfiguration"]) {
        return Ok(());
    }
    Err(GraphError::new(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."))
}

/// A collection of directory objects, each shaped by its own declared type, as Graph returns
/// navigation lists.
fn collection(s: &GraphState, context: &str, records: &[ObjectRecord]) -> Result<Response, GraphError> {
    let mut items = Vec::with_capacity(records.len());
    for r in records {
        let entity = cerulean_schema::entity(&r.object_type).ok_or_else(|| {
            GraphError::new(500, "Service_InternalServerError", format!("{} is not declared", r.object_type))
        })?;
        items.push(Value::Object(odata::shape(entity, r, None, true)));
    }
    let body = json!({ "@odata.context": odata::context(&s.base(), context, None, false), "value": items });
    Ok(odata::json(StatusCode::OK, body))
}

/// `GET /{applications|servicePrincipals}/{id}/{policies}`.
pub(crate) async fn of_holder<T: PolicyType, H: PolicyHolder>(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, GraphError> {
    require_both_sides(&p)?;
    let target = match H::HOLDER {
        Holder::Application => s.directory.find_application(p.tenant, &id).await?,
        Holder::ServicePrincipal => s.directory.find_service_principal(p.tenant, &id).await?,
    };
    let policies = s.directory.policies_of(p.tenant, T::TYPE, &target).await?;
    collection(&s, T::NAVIGATION, &policies)
}

/// `POST /{applications|servicePrincipals}/{id}/{policies}/$ref`: 204.
pub(crate) async fn assign<T: PolicyType, H: PolicyHolder>(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    h: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, GraphError> {
    require_both_sides(&p)?;
    let policy = reference_target(&body)?;
    s.directory.assign_policy(&caller(&p, client_request_id(&h)), T::TYPE, H::HOLDER, &id, policy).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /{applications|servicePrincipals}/{id}/{policies}/{policyId}/$ref`: 204.
pub(crate) async fn unassign<T: PolicyType, H: PolicyHolder>(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path((id, policy)): Path<(String, String)>,
    h: HeaderMap,
) -> Result<StatusCode, GraphError> {
    require_both_sides(&p)?;
    s.directory.unassign_policy(&caller(&p, client_request_id(&h)), T::TYPE, H::HOLDER, &id, &policy).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /policies/{set}/{id}/appliesTo`.
pub(crate) async fn applies_to<T: PolicyType>(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, GraphError> {
    let objects = s.directory.policy_applies_to(p.tenant, T::TYPE, &id).await?;
    collection(&s, "directoryObjects", &objects)
}
