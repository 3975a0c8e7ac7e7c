//! `/identityProtection`: the risk detections Cerulean found (`riskDetection`,
//! `servicePrincipalRiskDetection`) and the subjects at risk (`riskyUser`,
//! `riskyServicePrincipal`, each with `history`), read like the logs — newest first, `$filter`
//! pushed down to indexed columns and evaluated exactly on the Graph JSON, `$top`, `$select`,
//! absolute next links — and the administrator's `confirmCompromised` and `dismiss` actions.
//!
//! The handlers are written once and instantiated per subject ([`RiskyUsers`],
//! [`RiskySps`]): what differs is only the [`Surface`] — segment names, the
//! filterable columns and properties, the action body's id list, and how a risky row shows its
//! subject's current state. The rules live in `cerulean_directory::risk_subject`.
//!
//! Beside Graph, Cerulean's own administration route
//! `POST /cerulean/admin/identityProtection/threatIntelligence` (`{userId, reason,
//! riskLevel?}` → 201 with the `riskDetection`) lets an administrator raise the
//! `investigationsThreatIntelligence` detection for a user — what Microsoft's threat
//! intelligence raises in Entra. Authorization is the other admin routes'.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use cerulean_directory::risk_subject::RiskSubject;
use cerulean_store::{LogColumn, LogQuery, RiskRecord};
use serde_json::Value;
use uuid::Uuid;

use crate::audit_logs::{AsyncRender, options, serve, single};
use crate::error::GraphError;
use crate::log_filter::LogFields;
use crate::users::client_request_id;
use crate::{GraphState, Principal, caller, odata};

/// What the routes of one kind of risk subject are made of.
pub(crate) trait Surface: Send + Sync + 'static {
    const SUBJECT: RiskSubject;
    /// The detections' entity set (`riskDetections`).
    const DETECTIONS: &'static str;
    /// The risky subjects' entity set (`riskyUsers`).
    const RISKY: &'static str;
    const DETECTION_FIELDS: LogFields;
    const RISKY_FIELDS: LogFields;
    const HISTORY_FIELDS: LogFields;
    /// The id list of the actions' body (`userIds`).
    const IDS: &'static str;

    /// Adds what a risky row shows of its subject as it is now (the directory, not the row).
    async fn current(
        state: &GraphState,
        tenant: Uuid,
        r: &RiskRecord,
        doc: &mut serde_json::Map<String, Value>,
    ) -> Result<(), GraphError>;
}

/// `riskDetection`, `riskyUser`, `riskyUserHistoryItem`.
pub(crate) struct RiskyUsers;

/// `servicePrincipalRiskDetection`, `riskyServicePrincipal`, `riskyServicePrincipalHistoryItem`.
pub(crate) struct RiskySps;

const DETECTION_PROPERTIES: [&str; 17] = [
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
];
const RISK_PROPERTIES: [&str; 5] = ["isProcessing", "riskDetail", "riskLastUpdatedDateTime", "riskLevel", "riskState"];

impl Surface for RiskyUsers {
    const SUBJECT: RiskSubject = RiskSubject::User;
    const DETECTIONS: &'static str = "riskDetections";
    const RISKY: &'static str = "riskyUsers";
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
        properties: &concat_props::<20>(
            &DETECTION_PROPERTIES,
            &["userDisplayName", "userId", "userPrincipalName"],
            &[],
        ),
        type_name: "microsoft.graph.riskDetection",
    };
    const RISKY_FIELDS: LogFields = LogFields {
        time: "riskLastUpdatedDateTime",
        columns: &[
            ("riskLevel", LogColumn::RiskLevel),
            ("riskState", LogColumn::RiskState),
            ("userPrincipalName", LogColumn::UserPrincipalName),
            ("id", LogColumn::UserId),
        ],
        properties: &concat_props::<9>(
            &["id", "isDeleted", "userDisplayName", "userPrincipalName"],
            &RISK_PROPERTIES,
            &[],
        ),
        type_name: "microsoft.graph.riskyUser",
    };
    const HISTORY_FIELDS: LogFields = LogFields {
        time: "riskLastUpdatedDateTime",
        columns: HISTORY_COLUMNS,
        properties: &concat_props::<12>(
            &["id", "isDeleted", "userDisplayName", "userPrincipalName"],
            &RISK_PROPERTIES,
            &["activity", "initiatedBy", "userId"],
        ),
        type_name: "microsoft.graph.riskyUserHistoryItem",
    };
    const IDS: &'static str = "userIds";

    /// `isDeleted`: the user may have been deleted since the row was written.
    async fn current(
        state: &GraphState,
        tenant: Uuid,
        r: &RiskRecord,
        doc: &mut serde_json::Map<String, Value>,
    ) -> Result<(), GraphError> {
        let deleted = state.directory.get(tenant, r.user_id).await?.is_none();
        doc.insert("isDeleted".into(), Value::Bool(deleted));
        Ok(())
    }
}

impl Surface for RiskySps {
    const SUBJECT: RiskSubject = RiskSubject::ServicePrincipal;
    const DETECTIONS: &'static str = "servicePrincipalRiskDetections";
    const RISKY: &'static str = "riskyServicePrincipals";
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
        properties: &concat_props::<21>(
            &DETECTION_PROPERTIES,
            &["appId", "keyIds", "servicePrincipalDisplayName", "servicePrincipalId"],
            &[],
        ),
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
        properties: &concat_props::<10>(
            &["id", "appId", "displayName", "isEnabled", "servicePrincipalType"],
            &RISK_PROPERTIES,
            &[],
        ),
        type_name: "microsoft.graph.riskyServicePrincipal",
    };
    const HISTORY_FIELDS: LogFields = LogFields {
        time: "riskLastUpdatedDateTime",
        columns: HISTORY_COLUMNS,
        properties: &concat_props::<12>(
            &["id", "appId", "displayName", "isEnabled", "servicePrincipalType"],
            &RISK_PROPERTIES,
            &["activity", "initiatedBy"],
        ),
        type_name: "microsoft.graph.riskyServicePrincipalHistoryItem",
    };
    const IDS: &'static str = "servicePrincipalIds";

    /// `isEnabled`: the service principal may have been disabled since, or deleted (`false`).
    async fn current(
        state: &GraphState,
        tenant: Uuid,
        r: &RiskRecord,
        doc: &mut serde_json::Map<String, Value>,
    ) -> Result<(), GraphError> {
        let sp = state.directory.get(tenant, r.user_id).await?;
        let enabled = sp.is_some_and(|o| o.doc.get("accountEnabled").and_then(Value::as_bool) != Some(false));
        doc.insert("isEnabled".into(), Value::Bool(enabled));
        Ok(())
    }
}

const HISTORY_COLUMNS: &[(&str, LogColumn)] =
    &[("riskLevel", LogColumn::RiskLevel), ("riskState", LogColumn::RiskState)];

/// The concatenation of three property lists; `N` is their total length, checked when the
/// constant is evaluated.
const fn concat_props<const N: usize>(a: &[&'static str], b: &[&'static str], c: &[&'static str]) -> [&'static str; N] {
    assert!(a.len() + b.len() + c.len() == N, "property count");
    let mut out = [""; N];
    let mut n = 0;
    let parts = [a, b, c];
    let mut p = 0;
    while p < parts.len() {
        let mut i = 0;
        while i < parts[p].len() {
            out[n] = parts[p][i];
            n += 1;
            i += 1;
        }
        p += 1;
    }
    out
}

fn not_found(id: &str) -> GraphError {
    GraphError::new(404, "Request_ResourceNotFound", format!("Resource '{id}' does not exist."))
}

/// Renders stored rows: detections as stored; risky rows and history items with the subject's
/// current state ([`Surface::current`]); v1.0 history without beta's `activity/eventTypes`.
struct Renderer<'a, S> {
    state: &'a GraphState,
    tenant: Uuid,
    kind: Kind,
    surface: std::marker::PhantomData<S>,
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Detection,
    Risky,
    History,
}

impl<'a, S: Surface> Renderer<'a, S> {
    fn new(state: &'a GraphState, tenant: Uuid, kind: Kind) -> Self {
        Renderer { state, tenant, kind, surface: std::marker::PhantomData }
    }

    async fn shape(&self, r: &RiskRecord) -> Result<Value, GraphError> {
        let mut doc = r.doc.clone();
        if self.kind != Kind::Detection {
            S::current(self.state, self.tenant, r, &mut doc).await?;
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

impl<S: Surface> AsyncRender<RiskRecord> for Renderer<'_, S> {
    async fn render(&mut self, r: &RiskRecord) -> Result<Value, GraphError> {
        self.shape(r).await
    }
}

impl Kind {
    /// The entity set's segment under `/identityProtection`.
    fn set<S: Surface>(self) -> &'static str {
        if self == Kind::Detection { S::DETECTIONS } else { S::RISKY }
    }

    fn fields<S: Surface>(self) -> &'static LogFields {
        match self {
            Kind::Detection => &S::DETECTION_FIELDS,
            Kind::Risky => &S::RISKY_FIELDS,
            Kind::History => &S::HISTORY_FIELDS,
        }
    }
}

/// A page of detections, risky subjects or (with `owner`, its id as given and parsed) one
/// risky subject's history.
async fn list<S: Surface>(
    s: &GraphState,
    tenant: Uuid,
    kind: Kind,
    owner: Option<(&str, Uuid)>,
    q: Option<&str>,
) -> Result<Response, GraphError> {
    let (path, context) = match owner {
        Some((id, _)) => (format!("{}/{id}/history", kind.set::<S>()), format!("{}('{id}')/history", kind.set::<S>())),
        None => (kind.set::<S>().to_string(), kind.set::<S>().to_string()),
    };
    let path = format!("/{}/identityProtection/{path}", s.version);
    let opts = options(q, kind.fields::<S>(), &path, false)?;
    let directory = s.directory.clone();
    let fetch = move |q: LogQuery| {
        let directory = directory.clone();
        async move {
            let page = match (kind, owner) {
                (Kind::Detection, _) => directory.risk_detection_page(tenant, S::SUBJECT, &q).await,
                (_, Some((_, owner))) => directory.risk_history_page(tenant, S::SUBJECT, owner, &q).await,
                _ => directory.risky_page(tenant, S::SUBJECT, &q).await,
            };
            page.map_err(GraphError::from)
        }
    };
    let context = format!("identityProtection/{context}");
    serve(s, opts, &context, &path, fetch, Renderer::<S>::new(s, tenant, kind)).await
}

/// One detection or risky subject by id.
async fn get_one<S: Surface>(
    s: &GraphState,
    tenant: Uuid,
    kind: Kind,
    id: &str,
    q: Option<&str>,
) -> Result<Response, GraphError> {
    let record = match (Uuid::parse_str(id), kind) {
        (Ok(uuid), Kind::Detection) => s.directory.risk_detection(tenant, S::SUBJECT, uuid).await?,
        (Ok(uuid), _) => s.directory.risky(tenant, S::SUBJECT, uuid).await?,
        (Err(_), _) => None,
    };
    let record = record.ok_or_else(|| not_found(id))?;
    let item = Renderer::<S>::new(s, tenant, kind).shape(&record).await?;
    single(s, &format!("identityProtection/{}", kind.set::<S>()), item, q)
}

/// `GET /identityProtection/{detections}` (`RISKY` false) or `/{risky}` (true).
pub(crate) async fn list_set<S: Surface, const RISKY: bool>(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    let kind = if RISKY { Kind::Risky } else { Kind::Detection };
    list::<S>(&s, p.tenant, kind, None, q.as_deref()).await
}

/// `GET /identityProtection/{detections}/{id}` (`RISKY` false) or `/{risky}/{id}` (true).
pub(crate) async fn get_in_set<S: Surface, const RISKY: bool>(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    let kind = if RISKY { Kind::Risky } else { Kind::Detection };
    get_one::<S>(&s, p.tenant, kind, &id, q.as_deref()).await
}

pub(crate) async fn list_history<S: Surface>(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    let owner = match Uuid::parse_str(&id) {
        Ok(uuid) => s.directory.risky(p.tenant, S::SUBJECT, uuid).await?.map(|_| uuid),
        Err(_) => None,
    };
    let owner = owner.ok_or_else(|| not_found(&id))?;
    list::<S>(&s, p.tenant, Kind::History, Some((&id, owner)), q.as_deref()).await
}

pub(crate) async fn get_history_item<S: Surface>(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path((id, item)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    let record = match (Uuid::parse_str(&id), Uuid::parse_str(&item)) {
        (Ok(owner), Ok(item)) => s.directory.risk_history_item(p.tenant, S::SUBJECT, owner, item).await?,
        _ => None,
    };
    let record = record.ok_or_else(|| not_found(&item))?;
    let rendered = Renderer::<S>::new(&s, p.tenant, Kind::History).shape(&record).await?;
    single(&s, &format!("identityProtection/{}('{id}')/history", S::RISKY), rendered, q.as_deref())
}

/// The id list of an action's body ([`Surface::IDS`]): required, a collection of strings.
fn subject_ids<S: Surface>(body: &Bytes) -> Result<Vec<String>, GraphError> {
    let body = odata::object_body(body)?;
    let bad = || {
        GraphError::new(400, "BadRequest", format!("The request body must carry {}, a collection of strings.", S::IDS))
    };
    let Some(Value::Array(ids)) = body.get(S::IDS) else { return Err(bad()) };
    ids.iter().map(|v| v.as_str().map(str::to_string).ok_or_else(bad)).collect()
}

/// `POST /identityProtection/{risky}/confirmCompromised` (`CONFIRM` true) or `/dismiss`
/// (false): 204.
pub(crate) async fn action<S: Surface, const CONFIRM: bool>(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, GraphError> {
    let ids = subject_ids::<S>(&body)?;
    let caller = caller(&p, client_request_id(&headers));
    if CONFIRM {
        s.directory.confirm_compromised(&caller, S::SUBJECT, &ids).await?;
    } else {
        s.directory.dismiss_risk(&caller, S::SUBJECT, &ids).await?;
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /cerulean/admin/identityProtection/threatIntelligence`: `userId` and `reason`
/// required, `riskLevel` `low`, `medium` or `high` (default `high`).
pub(crate) async fn raise_threat_intelligence(
    State(state): State<crate::AdminState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, GraphError> {
    let p = crate::signing_keys::admin(&state, &headers).await?;
    let body = odata::object_body(&body)?;
    let text = |k: &str| body.get(k).and_then(Value::as_str);
    let (Some(user), Some(reason)) = (text("userId"), text("reason")) else {
        return Err(GraphError::bad_request("The request body must carry userId and reason, as strings."));
    };
    let level = match body.get("riskLevel") {
        None | Some(Value::Null) => "high",
        Some(Value::String(l)) => l.as_str(),
        Some(_) => return Err(GraphError::bad_request("riskLevel must be a string.")),
    };
    let caller = caller(&p, client_request_id(&headers));
    let detection = state.graph.directory.raise_threat_intelligence(&caller, user, reason, level).await?;
    Ok(odata::json(StatusCode::CREATED, Value::Object(detection.doc)))
}
