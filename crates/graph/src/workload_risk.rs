//! `/identityProtection` for workload identities: the risk detections Cerulean found at service
//! principals' own sign-ins (`servicePrincipalRiskDetection`) and the service principals at
//! risk (`riskyServicePrincipal`, with `history`), read like the user ones — newest first,
//! `$filter` pushed down to indexed columns and evaluated exactly on the Graph JSON, `$top`,
//! `$select`, absolute next links — and the administrator's `confirmCompromised` and
//! `dismiss` actions. The rules live in `cerulean_directory::workload_risk`.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use cerulean_store::{LogColumn, LogQuery, RiskRecord};
use serde_json::Value;
use uuid::Uuid;

use crate::audit_logs::{AsyncRender, options, serve, single};
use crate::error::GraphError;
use crate::log_filter::LogFields;
use crate::users::client_request_id;
use crate::{GraphState, Principal, caller, odata};

const DETECTION_FIELDS: LogFields = LogFields {
    time: "detectedDateTime",
    columns: &[
        ("riskEventType", LogColumn::RiskEventType),
        ("riskLevel", LogColumn::RiskLevel),
        ("riskState", LogColumn::RiskState),
        ("servicePrincipalId", LogColumn::ServicePrincipalId),
        ("appId", LogColumn::AppId),
        ("ipAddress", LogColumn::IpAddress),
        ("correlationId", LogColumn::CorrelationId),
    ],
    properties: &[
        "id",
        "activity",
        "activityDateTime",
        "additionalInfo",
        "appId",
        "correlationId",
        "detectedDateTime",
        "detectionTimingType",
        "ipAddress",
        "keyIds",
        "lastUpdatedDateTime",
        "location",
        "requestId",
        "riskDetail",
        "riskEventType",
        "riskLevel",
        "riskState",
        "servicePrincipalDisplayName",
        "servicePrincipalId",
        "source",
        "tokenIssuerType",
    ],
    type_name: "microsoft.graph.servicePrincipalRiskDetection",
};

const RISKY_FIELDS: LogFields = LogFields {
    time: "riskLastUpdatedDateTime",
    columns: &[
        ("riskLevel", LogColumn::RiskLevel),
        ("riskState", LogColumn::RiskState),
        ("appId", LogColumn::AppId),
        ("id", LogColumn::ServicePrincipalId),
    ],
    properties: &[
        "id",
        "appId",
        "displayName",
        "isEnabled",
        "isProcessing",
        "riskDetail",
        "riskLastUpdatedDateTime",
        "riskLevel",
        "riskState",
        "servicePrincipalType",
    ],
    type_name: "microsoft.graph.riskyServicePrincipal",
};

const HISTORY_FIELDS: LogFields = LogFields {
    time: "riskLastUpdatedDateTime",
    columns: &[("riskLevel", LogColumn::RiskLevel), ("riskState", LogColumn::RiskState)],
    properties: &[
        "id",
        "appId",
        "displayName",
        "isEnabled",
        "isProcessing",
        "riskDetail",
        "riskLastUpdatedDateTime",
        "riskLevel",
        "riskState",
        "servicePrincipalType",
        "activity",
        "initiatedBy",
    ],
    type_name: "microsoft.graph.riskyServicePrincipalHistoryItem",
};

fn not_found(id: &str) -> GraphError {
    GraphError::new(404, "Request_ResourceNotFound", format!("Resource '{id}' does not exist."))
}

/// Renders stored rows: detections as stored; risky service principals and history items
/// with `isEnabled` read from the directory (the service principal may have been disabled
/// since, or deleted: then `false`).
struct Renderer<'a> {
    state: &'a GraphState,
    tenant: Uuid,
    detection: bool,
}

impl Renderer<'_> {
    async fn shape(&self, r: &RiskRecord) -> Result<Value, GraphError> {
        let mut doc = r.doc.clone();
        if !self.detection {
            let sp = self.state.directory.get(self.tenant, r.user_id).await?;
            let enabled = sp.is_some_and(|o| o.doc.get("accountEnabled").and_then(Value::as_bool) != Some(false));
            doc.insert("isEnabled".into(), Value::Bool(enabled));
        }
        Ok(Value::Object(doc))
    }
}

impl AsyncRender<RiskRecord> for Renderer<'_> {
    async fn render(&mut self, r: &RiskRecord) -> Result<Value, GraphError> {
        self.shape(r).await
    }
}

pub(crate) async fn list_detections(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    let path = format!("/{}/identityProtection/servicePrincipalRiskDetections", s.version);
    let opts = options(q.as_deref(), &DETECTION_FIELDS, &path, false)?;
    let directory = s.directory.clone();
    let tenant = p.tenant;
    let fetch = move |q: LogQuery| {
        let directory = directory.clone();
        async move { directory.workload_detection_page(tenant, &q).await.map_err(GraphError::from) }
    };
    let renderer = Renderer { state: &s, tenant, detection: true };
    serve(&s, opts, "identityProtection/servicePrincipalRiskDetections", &path, fetch, renderer).await
}

pub(crate) async fn get_detection(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    let record = match Uuid::parse_str(&id) {
        Ok(uuid) => s.directory.workload_detection(p.tenant, uuid).await?,
        Err(_) => None,
    };
    let record = record.ok_or_else(|| not_found(&id))?;
    let item = Renderer { state: &s, tenant: p.tenant, detection: true }.shape(&record).await?;
    single(&s, "identityProtection/servicePrincipalRiskDetections", item, q.as_deref())
}

pub(crate) async fn list_risky(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    let path = format!("/{}/identityProtection/riskyServicePrincipals", s.version);
    let opts = options(q.as_deref(), &RISKY_FIELDS, &path, false)?;
    let directory = s.directory.clone();
    let tenant = p.tenant;
    let fetch = move |q: LogQuery| {
        let directory = directory.clone();
        async move { directory.risky_service_principal_page(tenant, &q).await.map_err(GraphError::from) }
    };
    let renderer = Renderer { state: &s, tenant, detection: false };
    serve(&s, opts, "identityProtection/riskyServicePrincipals", &path, fetch, renderer).await
}

pub(crate) async fn get_risky(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    let record = match Uuid::parse_str(&id) {
        Ok(uuid) => s.directory.risky_service_principal(p.tenant, uuid).await?,
        Err(_) => None,
    };
    let record = record.ok_or_else(|| not_found(&id))?;
    let item = Renderer { state: &s, tenant: p.tenant, detection: false }.shape(&record).await?;
    single(&s, "identityProtection/riskyServicePrincipals", item, q.as_deref())
}

pub(crate) async fn list_history(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    let sp = match Uuid::parse_str(&id) {
        Ok(uuid) => s.directory.risky_service_principal(p.tenant, uuid).await?.map(|_| uuid),
        Err(_) => None,
    };
    let sp = sp.ok_or_else(|| not_found(&id))?;
    let path = format!("/{}/identityProtection/riskyServicePrincipals/{id}/history", s.version);
    let opts = options(q.as_deref(), &HISTORY_FIELDS, &path, false)?;
    let directory = s.directory.clone();
    let tenant = p.tenant;
    let fetch = move |q: LogQuery| {
        let directory = directory.clone();
        async move { directory.risky_service_principal_history_page(tenant, sp, &q).await.map_err(GraphError::from) }
    };
    let context = format!("identityProtection/riskyServicePrincipals('{id}')/history");
    let renderer = Renderer { state: &s, tenant, detection: false };
    serve(&s, opts, &context, &path, fetch, renderer).await
}

/// The `servicePrincipalIds` of an action's body: required, a collection of strings.
fn service_principal_ids(body: &Bytes) -> Result<Vec<String>, GraphError> {
    let body = odata::object_body(body)?;
    let bad = || {
        GraphError::new(400, "BadRequest", "The request body must carry servicePrincipalIds, a collection of strings.")
    };
    let Some(Value::Array(ids)) = body.get("servicePrincipalIds") else { return Err(bad()) };
    ids.iter().map(|v| v.as_str().map(str::to_string).ok_or_else(bad)).collect()
}

pub(crate) async fn confirm_compromised(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, GraphError> {
    let ids = service_principal_ids(&body)?;
    s.directory.confirm_service_principals_compromised(&caller(&p, client_request_id(&headers)), &ids).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(crate) async fn dismiss(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, GraphError> {
    let ids = service_principal_ids(&body)?;
    s.directory.dismiss_service_principal_risk(&caller(&p, client_request_id(&headers)), &ids).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
