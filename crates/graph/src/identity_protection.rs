//! `/identityProtection`: the risk detections Cerulean found at sign-in (`riskDetection`) and
//! the users at risk (`riskyUser`, with `history`), read like the logs — newest first,
//! `$filter` pushed down to indexed columns and evaluated exactly on the Graph JSON, `$top`,
//! `$select`, absolute next links — and the administrator's `confirmCompromised` and
//! `dismiss` actions. The rules (aggregation, the state machine) live in the directory.

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
        ("userId", LogColumn::UserId),
        ("userPrincipalName", LogColumn::UserPrincipalName),
        ("ipAddress", LogColumn::IpAddress),
        ("correlationId", LogColumn::CorrelationId),
    ],
    properties: &[
        "id",
        "activity",
        "activityDateTime",
        "additionalInfo",
        "correlationId",
        "detectedDateTime",
        "detectionTimingType",
        "ipAddress",
        "lastUpdatedDateTime",
        "location",
        "requestId",
        "riskDetail",
        "riskEventType",
        "riskLevel",
        "riskState",
        "source",
        "tokenIssuerType",
        "userDisplayName",
        "userId",
        "userPrincipalName",
    ],
    type_name: "microsoft.graph.riskDetection",
};

const RISKY_USER_PROPERTIES: &[&str] = &[
    "id",
    "isDeleted",
    "isProcessing",
    "riskDetail",
    "riskLastUpdatedDateTime",
    "riskLevel",
    "riskState",
    "userDisplayName",
    "userPrincipalName",
];

const RISKY_USER_FIELDS: LogFields = LogFields {
    time: "riskLastUpdatedDateTime",
    columns: &[
        ("riskLevel", LogColumn::RiskLevel),
        ("riskState", LogColumn::RiskState),
        ("userPrincipalName", LogColumn::UserPrincipalName),
        ("id", LogColumn::UserId),
    ],
    properties: RISKY_USER_PROPERTIES,
    type_name: "microsoft.graph.riskyUser",
};

const HISTORY_FIELDS: LogFields = LogFields {
    time: "riskLastUpdatedDateTime",
    columns: &[("riskLevel", LogColumn::RiskLevel), ("riskState", LogColumn::RiskState)],
    properties: &[
        "id",
        "isDeleted",
        "isProcessing",
        "riskDetail",
        "riskLastUpdatedDateTime",
        "riskLevel",
        "riskState",
        "userDisplayName",
        "userPrincipalName",
        "activity",
        "initiatedBy",
        "userId",
    ],
    type_name: "microsoft.graph.riskyUserHistoryItem",
};

fn not_found(id: &str) -> GraphError {
    GraphError::new(404, "Request_ResourceNotFound", format!("Resource '{id}' does not exist."))
}

/// Renders stored rows: detections as stored; risky users with `isDeleted` read from the
/// directory (the user may have been deleted since); v1.0 history without beta's
/// `activity/eventTypes`.
struct RiskRenderer<'a> {
    state: &'a GraphState,
    tenant: Uuid,
    kind: Kind,
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Detection,
    RiskyUser,
    History,
}

impl RiskRenderer<'_> {
    async fn shape(&self, r: &RiskRecord) -> Result<Value, GraphError> {
        let mut doc = r.doc.clone();
        if self.kind != Kind::Detection {
            let deleted = self.state.directory.get(self.tenant, r.user_id).await?.is_none();
            doc.insert("isDeleted".into(), Value::Bool(deleted));
        }
        if self.kind == Kind::History
            && self.state.version != "beta"
            && let Some(Value::Object(activity)) = doc.get_mut("activity")
        {
            activity.remove("eventTypes");
        }
        Ok(Value::Object(doc))
    }
}

impl AsyncRender<RiskRecord> for RiskRenderer<'_> {
    async fn render(&mut self, r: &RiskRecord) -> Result<Value, GraphError> {
        self.shape(r).await
    }
}

pub(crate) async fn list_detections(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    let path = format!("/{}/identityProtection/riskDetections", s.version);
    let opts = options(q.as_deref(), &DETECTION_FIELDS, &path, false)?;
    let directory = s.directory.clone();
    let tenant = p.tenant;
    let fetch = move |q: LogQuery| {
        let directory = directory.clone();
        async move { directory.risk_detection_page(tenant, &q).await.map_err(GraphError::from) }
    };
    let renderer = RiskRenderer { state: &s, tenant, kind: Kind::Detection };
    serve(&s, opts, "identityProtection/riskDetections", &path, fetch, renderer).await
}

pub(crate) async fn get_detection(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    let record = match Uuid::parse_str(&id) {
        Ok(uuid) => s.directory.risk_detection(p.tenant, uuid).await?,
        Err(_) => None,
    };
    let record = record.ok_or_else(|| not_found(&id))?;
    let item = RiskRenderer { state: &s, tenant: p.tenant, kind: Kind::Detection }.shape(&record).await?;
    single(&s, "identityProtection/riskDetections", item, q.as_deref())
}

pub(crate) async fn list_risky_users(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    let path = format!("/{}/identityProtection/riskyUsers", s.version);
    let opts = options(q.as_deref(), &RISKY_USER_FIELDS, &path, false)?;
    let directory = s.directory.clone();
    let tenant = p.tenant;
    let fetch = move |q: LogQuery| {
        let directory = directory.clone();
        async move { directory.risky_user_page(tenant, &q).await.map_err(GraphError::from) }
    };
    let renderer = RiskRenderer { state: &s, tenant, kind: Kind::RiskyUser };
    serve(&s, opts, "identityProtection/riskyUsers", &path, fetch, renderer).await
}

pub(crate) async fn get_risky_user(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    let record = match Uuid::parse_str(&id) {
        Ok(uuid) => s.directory.risky_user(p.tenant, uuid).await?,
        Err(_) => None,
    };
    let record = record.ok_or_else(|| not_found(&id))?;
    let item = RiskRenderer { state: &s, tenant: p.tenant, kind: Kind::RiskyUser }.shape(&record).await?;
    single(&s, "identityProtection/riskyUsers", item, q.as_deref())
}

pub(crate) async fn list_history(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    let user = match Uuid::parse_str(&id) {
        Ok(uuid) => s.directory.risky_user(p.tenant, uuid).await?.map(|_| uuid),
        Err(_) => None,
    };
    let user = user.ok_or_else(|| not_found(&id))?;
    let path = format!("/{}/identityProtection/riskyUsers/{id}/history", s.version);
    let opts = options(q.as_deref(), &HISTORY_FIELDS, &path, false)?;
    let directory = s.directory.clone();
    let tenant = p.tenant;
    let fetch = move |q: LogQuery| {
        let directory = directory.clone();
        async move { directory.risky_user_history_page(tenant, user, &q).await.map_err(GraphError::from) }
    };
    let context = format!("identityProtection/riskyUsers('{id}')/history");
    let renderer = RiskRenderer { state: &s, tenant, kind: Kind::History };
    serve(&s, opts, &context, &path, fetch, renderer).await
}

pub(crate) async fn get_history_item(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path((id, item)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    let record = match (Uuid::parse_str(&id), Uuid::parse_str(&item)) {
        (Ok(user), Ok(item)) => s.directory.risky_user_history_item(p.tenant, user, item).await?,
        _ => None,
    };
    let record = record.ok_or_else(|| not_found(&item))?;
    let rendered = RiskRenderer { state: &s, tenant: p.tenant, kind: Kind::History }.shape(&record).await?;
    single(&s, &format!("identityProtection/riskyUsers('{id}')/history"), rendered, q.as_deref())
}

/// The `userIds` of an action's body: required, a collection of strings.
fn user_ids(body: &Bytes) -> Result<Vec<String>, GraphError> {
    let body = odata::object_body(body)?;
    let bad = || GraphError::new(400, "BadRequest", "The request body must carry userIds, a collection of strings.");
    let Some(Value::Array(ids)) = body.get("userIds") else { return Err(bad()) };
    ids.iter().map(|v| v.as_str().map(str::to_string).ok_or_else(bad)).collect()
}

pub(crate) async fn confirm_compromised(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, GraphError> {
    let ids = user_ids(&body)?;
    s.directory.confirm_users_compromised(&caller(&p, client_request_id(&headers)), &ids).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(crate) async fn dismiss(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, GraphError> {
    let ids = user_ids(&body)?;
    s.directory.dismiss_user_risk(&caller(&p, client_request_id(&headers)), &ids).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
