//! Token lifetime policy assignment: `/applications/{id}/tokenLifetimePolicies` (list, `$ref`
//! add and remove) and `/policies/tokenLifetimePolicies/{id}/appliesTo`. The policies
//! themselves are an entity set (`entity_sets.rs`); the rules are in
//! `cerulean_directory::token_policies`.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use cerulean_store::ObjectRecord;
use serde_json::{Value, json};

use crate::applications::reference_target;
use crate::error::GraphError;
use crate::odata;
use crate::users::client_request_id;
use crate::{GraphState, Principal, caller};

/// The Graph reference allows the application routes only with a permission of each side
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

/// A collection of directory objects of one declared type, as Graph returns navigation lists.
fn collection(
    s: &GraphState,
    context: &str,
    type_name: &str,
    records: &[ObjectRecord],
) -> Result<Response, GraphError> {
    let entity = cerulean_schema::entity(type_name)
        .ok_or_else(|| GraphError::new(500, "Service_InternalServerError", format!("{type_name} is not declared")))?;
    let items: Vec<Value> = records.iter().map(|r| Value::Object(odata::shape(entity, r, None, true))).collect();
    let body = json!({ "@odata.context": odata::context(&s.base(), context, None, false), "value": items });
    Ok(odata::json(StatusCode::OK, body))
}

/// `GET /applications/{id}/tokenLifetimePolicies`.
pub(crate) async fn of_application(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, GraphError> {
    require_both_sides(&p)?;
    let app = s.directory.find_application(p.tenant, &id).await?;
    let policies = s.directory.token_lifetime_policies_of(p.tenant, &app).await?;
    collection(&s, "tokenLifetimePolicies", "tokenLifetimePolicy", &policies)
}

/// `POST /applications/{id}/tokenLifetimePolicies/$ref`: 204.
pub(crate) async fn assign(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    h: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, GraphError> {
    require_both_sides(&p)?;
    let policy = reference_target(&body)?;
    s.directory.assign_token_lifetime_policy(&caller(&p, client_request_id(&h)), &id, policy).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /applications/{id}/tokenLifetimePolicies/{policyId}/$ref`: 204.
pub(crate) async fn unassign(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path((id, policy)): Path<(String, String)>,
    h: HeaderMap,
) -> Result<StatusCode, GraphError> {
    require_both_sides(&p)?;
    s.directory.unassign_token_lifetime_policy(&caller(&p, client_request_id(&h)), &id, &policy).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /policies/tokenLifetimePolicies/{id}/appliesTo`.
pub(crate) async fn applies_to(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, GraphError> {
    let apps = s.directory.token_lifetime_policy_applies_to(p.tenant, &id).await?;
    collection(&s, "directoryObjects", "application", &apps)
}
