//! `/auditLogs/directoryAudits` and `/auditLogs/signIns`: the audit and sign-in logs in
//! Graph's `directoryAudit` and `signIn` shapes, newest first, with `$filter` (see
//! [`crate::log_filter`]), `$top`, `$select` and absolute next links.
//!
//! v1.0 lists interactive user sign-ins only, as Graph documents; beta also serves the
//! non-interactive and service principal sign-ins when a filter asks for them with
//! `signInEventTypes/any(t: t eq '...')`, and shows beta's extra properties.

use std::collections::HashMap;

use axum::Extension;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cerulean_query::Expr;
use cerulean_store::{AuditRecord, LogColumn, LogCursor, LogQuery, ModifiedProperty, SignInRecord};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::error::GraphError;
use crate::log_filter::{self, LogFields};
use crate::{GraphState, Principal, odata};

/// Default page size (Graph's for these logs is larger, but clients page anyway).
const DEFAULT_TOP: usize = 100;
/// At most this many entries are read for one page when the filter cannot be pushed down
/// fully; a page that reaches it ends early with a next link, as Graph's log pages may.
const MAX_SCAN: usize = 5000;

const AUDIT_FIELDS: LogFields = LogFields {
    time: "activityDateTime",
    columns: &[
        ("category", LogColumn::Category),
        ("activityDisplayName", LogColumn::Activity),
        ("correlationId", LogColumn::CorrelationId),
        ("initiatedBy/user/id", LogColumn::ActorId),
        ("initiatedBy/app/servicePrincipalId", LogColumn::ActorId),
    ],
    properties: &[
        "id",
        "activityDateTime",
        "activityDisplayName",
        "additionalDetails",
        "category",
        "correlationId",
        "initiatedBy",
        "loggedByService",
        "operationType",
        "result",
        "resultReason",
        "targetResources",
    ],
    type_name: "microsoft.graph.directoryAudit",
};

const SIGN_IN_FIELDS: LogFields = LogFields {
    time: "createdDateTime",
    columns: &[
        ("userId", LogColumn::UserId),
        ("userPrincipalName", LogColumn::UserPrincipalName),
        ("appId", LogColumn::AppId),
        ("status/errorCode", LogColumn::ErrorCode),
        ("ipAddress", LogColumn::IpAddress),
        ("correlationId", LogColumn::CorrelationId),
        ("signInEventTypes", LogColumn::EventType),
    ],
    properties: SIGN_IN_V1,
    type_name: "microsoft.graph.signIn",
};

/// The properties of v1.0's `signIn` (the reference CSDL); beta shows every stored one.
const SIGN_IN_V1: &[&str] = &[
    "id",
    "appDisplayName",
    "appId",
    "appliedConditionalAccessPolicies",
    "clientAppUsed",
    "conditionalAccessStatus",
    "correlationId",
    "createdDateTime",
    "deviceDetail",
    "ipAddress",
    "isInteractive",
    "location",
    "resourceDisplayName",
    "resourceId",
    "resourceTenantId",
    "homeTenantId",
    "riskDetail",
    "riskEventTypes",
    "riskEventTypes_v2",
    "riskLevelAggregated",
    "riskLevelDuringSignIn",
    "riskState",
    "servicePrincipalId",
    "servicePrincipalName",
    "status",
    "userAgent",
    "userDisplayName",
    "userId",
    "userPrincipalName",
];

/// Properties beta may filter on beyond v1.0's.
const SIGN_IN_BETA_EXTRA: &[&str] = &["signInEventTypes", "authenticationRequirement", "mfaDetail"];

/// The parsed list options of a log request.
pub(crate) struct Options {
    params: Vec<(String, String)>,
    filter: Option<Expr>,
    query: LogQuery,
    top: usize,
    select: Option<Vec<String>>,
    /// Ties a skiptoken to the filter and path it was issued for.
    fingerprint: u64,
    /// The log's fields, for evaluating the filter as the store compares.
    fields: LogFields,
}

pub(crate) fn options(raw: Option<&str>, fields: &LogFields, path: &str, beta: bool) -> Result<Options, GraphError> {
    let params = odata::parse_query(raw)?;
    let mut query = LogQuery::default();
    let mut filter = None;
    let mut top = DEFAULT_TOP;
    let mut select = None;
    let mut skiptoken = None;
    let mut filter_text = String::new();
    for (k, v) in &params {
        match k.trim_start_matches('$').to_ascii_lowercase().as_str() {
            "filter" => {
                let expr = cerulean_query::parse_filter(v)?;
                let fields = if beta && fields.time == "createdDateTime" { &beta_sign_in_fields() } else { fields };
                log_filter::plan(&expr, fields, &mut query)?;
                filter_text = v.clone();
                filter = Some(expr);
            }
            "top" => top = cerulean_query::parse_top(v)?,
            "select" => {
                let names: Vec<String> = v.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
                // Like Graph, a name the type does not have is a 400 (beta's sign-ins show every
                // stored property, so only v1.0's list is checked).
                if !beta
                    && let Some(bad) =
                        names.iter().find(|n| *n != "*" && !fields.properties.iter().any(|p| p.eq_ignore_ascii_case(n)))
                {
                    return Err(GraphError::new(
                        400,
                        "BadRequest",
                        format!("Could not find a property named '{bad}' on type '{}'.", fields.type_name),
                    ));
                }
                select = Some(names)
            }
            "orderby" => {
                let v = v.trim().to_ascii_lowercase();
                let t = fields.time.to_ascii_lowercase();
                if v != format!("{t} desc") {
                    return Err(GraphError::new(
                        400,
                        "BadRequest",
                        format!("Only '$orderby={} desc' is supported.", fields.time),
                    ));
                }
            }
            "skiptoken" => skiptoken = Some(v.clone()),
            "count" | "search" | "expand" | "skip" if k.starts_with('$') => {
                return Err(GraphError::new(
                    400,
                    "BadRequest",
                    format!("The query option '{k}' is not supported here."),
                ));
            }
            _ => {}
        }
    }
    let fingerprint = cerulean_query::skiptoken::fingerprint(&[path, &filter_text]);
    if let Some(token) = skiptoken {
        query.after = Some(decode_skiptoken(&token, fingerprint)?);
    }
    let fields = LogFields { ..*fields };
    Ok(Options { params, filter, query, top, select, fingerprint, fields })
}

fn beta_sign_in_fields() -> LogFields {
    // Beta may filter on its extra properties too; the union is built once.
    static PROPS: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    let props = PROPS.get_or_init(|| SIGN_IN_V1.iter().chain(SIGN_IN_BETA_EXTRA).copied().collect());
    LogFields { properties: props.as_slice(), ..SIGN_IN_FIELDS }
}

fn encode_skiptoken(c: &LogCursor, fingerprint: u64) -> String {
    let body = json!({"a": c.at, "o": c.ord, "f": fingerprint.to_string()});
    URL_SAFE_NO_PAD.encode(body.to_string())
}

fn decode_skiptoken(token: &str, fingerprint: u64) -> Result<LogCursor, GraphError> {
    let bad = || GraphError::new(400, "BadRequest", "The $skiptoken is not valid for this request.");
    let bytes = URL_SAFE_NO_PAD.decode(token.trim()).map_err(|_| bad())?;
    let v: Value = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    if v["f"].as_str() != Some(fingerprint.to_string().as_str()) {
        return Err(bad());
    }
    Ok(LogCursor { at: v["a"].as_str().ok_or_else(bad)?.to_string(), ord: v["o"].as_i64().ok_or_else(bad)? })
}

/// Reads pages from the store until `top` entries match the filter (or the scan budget is
/// spent), and renders the collection.
pub(crate) async fn serve<T, F, Fut>(
    state: &GraphState,
    opts: Options,
    context: &str,
    path: &str,
    mut fetch: F,
    mut render: impl AsyncRender<T>,
) -> Result<Response, GraphError>
where
    F: FnMut(LogQuery) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<(LogCursor, T)>, GraphError>>,
{
    let mut query = opts.query.clone();
    query.limit = (opts.top + 1).clamp(50, 1000);
    let mut items: Vec<(LogCursor, Value)> = Vec::new();
    let mut scanned = 0usize;
    let mut next: Option<LogCursor> = None;
    'scan: loop {
        let batch = fetch(query.clone()).await?;
        let full = batch.len() == query.limit;
        for (cursor, record) in batch {
            scanned += 1;
            let item = render.render(&record).await?;
            if opts.filter.as_ref().is_none_or(|f| log_filter::matches(f, &opts.fields, &item)) {
                items.push((cursor.clone(), item));
                if items.len() > opts.top {
                    items.truncate(opts.top);
                    next = items.last().map(|(c, _)| c.clone());
                    break 'scan;
                }
            }
            query.after = Some(cursor);
        }
        if !full {
            break;
        }
        if scanned >= MAX_SCAN {
            next = query.after.clone();
            break;
        }
    }
    let values: Vec<Value> = items.into_iter().map(|(_, v)| project(v, opts.select.as_deref())).collect();
    let mut body = Map::new();
    body.insert("@odata.context".into(), json!(format!("{}/$metadata#{context}", state.base())));
    if let Some(c) = next {
        let link = odata::next_link(&state.public_url, path, &opts.params, &encode_skiptoken(&c, opts.fingerprint));
        body.insert("@odata.nextLink".into(), json!(link));
    }
    body.insert("value".into(), Value::Array(values));
    Ok(odata::json(StatusCode::OK, Value::Object(body)))
}

/// `$select`: keeps the named properties (and `id`).
fn project(item: Value, select: Option<&[String]>) -> Value {
    let (Some(select), Value::Object(map)) = (select, &item) else { return item };
    if select.iter().any(|s| s == "*") {
        return item;
    }
    let kept: Map<String, Value> = map
        .iter()
        .filter(|(k, _)| *k == "id" || select.iter().any(|s| s.eq_ignore_ascii_case(k)))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Value::Object(kept)
}

/// Renders one stored entry as Graph JSON (may look up the directory, hence async).
pub(crate) trait AsyncRender<T> {
    async fn render(&mut self, record: &T) -> Result<Value, GraphError>;
}

// ---- directory audits ----

/// Renders audit records, remembering the initiators and targets it looked up.
struct AuditRenderer<'a> {
    state: &'a GraphState,
    tenant: Uuid,
    objects: HashMap<Uuid, Option<Map<String, Value>>>,
}

impl AuditRenderer<'_> {
    async fn object(&mut self, id: Uuid) -> Result<Option<&Map<String, Value>>, GraphError> {
        if !self.objects.contains_key(&id) {
            let doc = self.state.directory.get(self.tenant, id).await?.map(|o| o.doc);
            self.objects.insert(id, doc);
        }
        Ok(self.objects.get(&id).and_then(Option::as_ref))
    }
}

impl AsyncRender<AuditRecord> for AuditRenderer<'_> {
    async fn render(&mut self, r: &AuditRecord) -> Result<Value, GraphError> {
        let text = |doc: Option<&Map<String, Value>>, name: &str| doc.and_then(|d| d.get(name)).cloned();
        let initiated_by = match (r.actor.kind.as_str(), r.actor.id) {
            ("user", Some(id)) => {
                let doc = self.object(id).await?;
                json!({"app": null, "user": {
                    "id": id.to_string(),
                    "displayName": r.actor.display_name.clone().map(Value::from).or(text(doc, "displayName")),
                    "userPrincipalName": text(doc, "userPrincipalName"),
                    "ipAddress": null,
                }})
            }
            ("app", Some(id)) => {
                let doc = self.object(id).await?;
                json!({"user": null, "app": {
                    "appId": text(doc, "appId"),
                    "displayName": r.actor.display_name.clone().map(Value::from).or(text(doc, "displayName")),
                    "servicePrincipalId": id.to_string(),
                    "servicePrincipalName": text(doc, "displayName"),
                }})
            }
            // The server itself (bootstrap, maintenance): shown as an app without an id.
            _ => json!({"user": null, "app": {
                "appId": null,
                "displayName": r.actor.display_name.clone().unwrap_or_else(|| "Cerulean".into()),
                "servicePrincipalId": null,
                "servicePrincipalName": null,
            }}),
        };
        let mut targets = Vec::with_capacity(r.targets.len());
        for t in &r.targets {
            let upn = if t.object_type == "user" {
                let changed = t.modified.iter().find(|m| m.name == "userPrincipalName").map(|m| m.new_value.clone());
                match changed.filter(|v| !v.is_null()) {
                    Some(v) => Some(v),
                    None => text(self.object(t.id).await?, "userPrincipalName"),
                }
            } else {
                None
            };
            targets.push(json!({
                "id": t.id.to_string(),
                "displayName": t.display_name,
                "type": type_name(&t.object_type),
                "userPrincipalName": upn,
                "groupType": null,
                "modifiedProperties": t.modified.iter().map(modified_property).collect::<Vec<_>>(),
            }));
        }
        Ok(json!({
            "id": r.id.to_string(),
            "category": r.category,
            "correlationId": r.correlation_id,
            "result": r.result,
            "resultReason": "",
            "activityDisplayName": r.activity,
            "activityDateTime": r.at,
            "loggedByService": "Core Directory",
            "operationType": r.operation_type,
            "initiatedBy": initiated_by,
            "targetResources": targets,
            "additionalDetails": [],
        }))
    }
}

/// Entra writes a target's type capitalised (`User`, `Group`, `ServicePrincipal`).
fn type_name(object_type: &str) -> String {
    let mut chars = object_type.chars();
    match chars.next() {
        Some(c) => c.to_ascii_uppercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

/// Entra's modified properties carry JSON text: the value in a one-element array, `[]` when
/// there was none.
fn modified_property(m: &ModifiedProperty) -> Value {
    let encode = |v: &Value| if v.is_null() { "[]".to_string() } else { Value::Array(vec![v.clone()]).to_string() };
    json!({"displayName": m.name, "oldValue": encode(&m.old_value), "newValue": encode(&m.new_value)})
}

pub(crate) async fn list_audits(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    let path = format!("/{}/auditLogs/directoryAudits", s.version);
    let opts = options(q.as_deref(), &AUDIT_FIELDS, &path, s.version == "beta")?;
    let renderer = AuditRenderer { state: &s, tenant: p.tenant, objects: HashMap::new() };
    let directory = s.directory.clone();
    let tenant = p.tenant;
    let fetch = move |q: LogQuery| {
        let directory = directory.clone();
        async move { directory.audit_page(tenant, &q).await.map_err(GraphError::from) }
    };
    serve(&s, opts, "auditLogs/directoryAudits", &path, fetch, renderer).await
}

pub(crate) async fn get_audit(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    let record = match Uuid::parse_str(&id) {
        Ok(uuid) => s.directory.audit_record(p.tenant, uuid).await?,
        Err(_) => None,
    };
    let Some(record) = record else {
        return Err(GraphError::new(404, "Request_ResourceNotFound", format!("Resource '{id}' does not exist.")));
    };
    let mut renderer = AuditRenderer { state: &s, tenant: p.tenant, objects: HashMap::new() };
    let item = renderer.render(&record).await?;
    single(&s, "auditLogs/directoryAudits", item, q.as_deref())
}

pub(crate) fn single(s: &GraphState, context: &str, item: Value, raw: Option<&str>) -> Result<Response, GraphError> {
    let select: Option<Vec<String>> = odata::parse_query(raw)?
        .into_iter()
        .find(|(k, _)| k.trim_start_matches('$').eq_ignore_ascii_case("select"))
        .map(|(_, v)| v.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect());
    let mut body = Map::new();
    body.insert("@odata.context".into(), json!(format!("{}/$metadata#{context}/$entity", s.base())));
    if let Value::Object(m) = project(item, select.as_deref()) {
        body.extend(m);
    }
    Ok(odata::json(StatusCode::OK, Value::Object(body)))
}

// ---- sign-ins ----

struct SignInRenderer {
    beta: bool,
}

impl SignInRenderer {
    fn shape(&self, r: &SignInRecord) -> Value {
        let mut out = Map::new();
        out.insert("id".into(), json!(r.id.to_string()));
        for (k, v) in &r.doc {
            if self.beta || SIGN_IN_V1.contains(&k.as_str()) {
                out.insert(k.clone(), v.clone());
            }
        }
        Value::Object(out)
    }
}

impl AsyncRender<SignInRecord> for SignInRenderer {
    async fn render(&mut self, r: &SignInRecord) -> Result<Value, GraphError> {
        Ok(self.shape(r))
    }
}

pub(crate) async fn list_sign_ins(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    let path = format!("/{}/auditLogs/signIns", s.version);
    let beta = s.version == "beta";
    let mut opts = options(q.as_deref(), &SIGN_IN_FIELDS, &path, beta)?;
    // Graph lists interactive user sign-ins unless (beta) the filter names other event types.
    // (v1.0's filter check already refuses `signInEventTypes`, a beta property.)
    if !opts.query.equals.iter().any(|(c, _)| *c == LogColumn::EventType) {
        opts.query.equals.push((LogColumn::EventType, vec!["interactiveUser".into()]));
    }
    let directory = s.directory.clone();
    let tenant = p.tenant;
    let fetch = move |q: LogQuery| {
        let directory = directory.clone();
        async move { directory.sign_in_page(tenant, &q).await.map_err(GraphError::from) }
    };
    serve(&s, opts, "auditLogs/signIns", &path, fetch, SignInRenderer { beta }).await
}

pub(crate) async fn get_sign_in(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    let record = match Uuid::parse_str(&id) {
        Ok(uuid) => s.directory.sign_in(p.tenant, uuid).await?,
        Err(_) => None,
    };
    let Some(record) = record else {
        return Err(GraphError::new(404, "Request_ResourceNotFound", format!("Resource '{id}' does not exist.")));
    };
    let item = SignInRenderer { beta: s.version == "beta" }.shape(&record);
    single(&s, "auditLogs/signIns", item, q.as_deref())
}
