//! `/organization` and `/domains` (issue 4, item 8). The organization is one object whose id is
//! the tenant id; domains are addressed by their name. Both are small, per-tenant sets read
//! whole from the directory, so their collections take `$select` and no paging.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use cerulean_schema::EntityType;
use cerulean_store::ObjectRecord;
use serde_json::{Map, Value, json};

use crate::error::GraphError;
use crate::lists::single_options;
use crate::odata::{self, shape};
use crate::users::client_request_id;
use crate::{GraphState, Principal, caller};

fn entity(name: &str) -> &'static EntityType {
    cerulean_schema::entity(name).expect("organization and domain types are declared")
}

/// The `$select` of a request on `ty` (checked against the type; `$expand` is refused by the
/// shared option parser where it names nothing).
fn select(ty: &'static EntityType, q: Option<&str>, h: &HeaderMap) -> Result<Option<Vec<String>>, GraphError> {
    Ok(single_options(ty, q, h)?.select)
}

/// A domain document shaped as Graph returns it (its `id` is its name, not a GUID).
fn shape_domain(doc: Map<String, Value>, select: Option<&[String]>) -> Map<String, Value> {
    let id = doc.get("id").cloned().unwrap_or(Value::Null);
    let record =
        ObjectRecord { id: uuid::Uuid::nil(), object_type: "domain".into(), version: 0, doc, deleted_at: None };
    let mut out = shape(entity("domain"), &record, select, false);
    if out.contains_key("id") {
        out.insert("id".into(), id);
    }
    out
}

fn collection(state: &GraphState, context: &str, select: Option<&[String]>, items: Vec<Value>) -> Response {
    let body = json!({
        "@odata.context": odata::context(&state.base(), context, select, false),
        "value": items,
    });
    odata::json(StatusCode::OK, body)
}

fn single(state: &GraphState, set: &str, select: Option<&[String]>, item: Map<String, Value>) -> Map<String, Value> {
    let mut body = Map::new();
    body.insert("@odata.context".into(), json!(odata::context(&state.base(), set, select, true)));
    body.extend(item);
    body
}

/// `GET /organization`: the tenant's one organization.
pub(crate) async fn list_organization(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    h: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    let ty = entity("organization");
    let select = select(ty, q.as_deref(), &h)?;
    let org = s.directory.organization(p.tenant).await?;
    let item = shape(ty, &org, select.as_deref(), false);
    Ok(collection(&s, "organization", select.as_deref(), vec![Value::Object(item)]))
}

/// `GET /organization/{id}`: `id` is the tenant id.
pub(crate) async fn get_organization(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    h: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    if uuid::Uuid::parse_str(&id).ok() != Some(p.tenant) {
        return Err(GraphError::not_found(&id));
    }
    let ty = entity("organization");
    let select = select(ty, q.as_deref(), &h)?;
    let org = s.directory.organization(p.tenant).await?;
    let item = shape(ty, &org, select.as_deref(), false);
    Ok(odata::json(StatusCode::OK, Value::Object(single(&s, "organization", select.as_deref(), item))))
}

/// `PATCH /organization/{id}`: 204.
pub(crate) async fn update_organization(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    h: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, GraphError> {
    let body = odata::object_body(&body)?;
    s.directory.update_organization(&caller(&p, client_request_id(&h)), &id, &body).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /domains`.
pub(crate) async fn list_domains(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    h: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    let select = select(entity("domain"), q.as_deref(), &h)?;
    let items = s.directory.domains(p.tenant).await?;
    let items = items.into_iter().map(|d| Value::Object(shape_domain(d, select.as_deref()))).collect();
    Ok(collection(&s, "domains", select.as_deref(), items))
}

/// `GET /domains/{name}`.
pub(crate) async fn get_domain(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(name): Path<String>,
    h: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    let select = select(entity("domain"), q.as_deref(), &h)?;
    let doc = s.directory.domain(p.tenant, &name).await?;
    let body = single(&s, "domains", select.as_deref(), shape_domain(doc, select.as_deref()));
    Ok(odata::json(StatusCode::OK, Value::Object(body)))
}

/// `POST /domains`: 201 with `Location`.
pub(crate) async fn create_domain(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    h: HeaderMap,
    body: Bytes,
) -> Result<Response, GraphError> {
    let body = odata::object_body(&body)?;
    let doc = s.directory.create_domain(&caller(&p, client_request_id(&h)), &body).await?;
    let name = doc.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
    let mut res = odata::json(StatusCode::CREATED, Value::Object(single(&s, "domains", None, shape_domain(doc, None))));
    if let Ok(v) = HeaderValue::from_str(&format!("{}/domains/{name}", s.base())) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    Ok(res)
}

/// `PATCH /domains/{name}`: 204.
pub(crate) async fn update_domain(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(name): Path<String>,
    h: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, GraphError> {
    let body = odata::object_body(&body)?;
    s.directory.update_domain(&caller(&p, client_request_id(&h)), &name, &body).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /domains/{name}`: 204.
pub(crate) async fn delete_domain(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(name): Path<String>,
    h: HeaderMap,
) -> Result<StatusCode, GraphError> {
    s.directory.delete_domain(&caller(&p, client_request_id(&h)), &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /domains/{name}/verify`: 200 with the domain.
pub(crate) async fn verify_domain(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(name): Path<String>,
    h: HeaderMap,
) -> Result<Response, GraphError> {
    let doc = s.directory.verify_domain(&caller(&p, client_request_id(&h)), &name).await?;
    Ok(odata::json(StatusCode::OK, Value::Object(single(&s, "domains", None, shape_domain(doc, None)))))
}

/// `POST /domains/{name}/forceDelete` with `{"disableUserAccounts": bool}`: 204.
pub(crate) async fn force_delete_domain(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(name): Path<String>,
    h: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, GraphError> {
    let body = if body.iter().all(u8::is_ascii_whitespace) { Map::new() } else { odata::object_body(&body)? };
    s.directory.force_delete_domain(&caller(&p, client_request_id(&h)), &name, &body).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Shapes DNS records (already carrying `@odata.type`) as a collection of `domainDnsRecord`.
fn records(s: &GraphState, name: &str, segment: &str, items: Vec<Map<String, Value>>) -> Response {
    let context = format!("domains('{name}')/{segment}");
    collection(s, &context, None, items.into_iter().map(Value::Object).collect())
}

/// `GET /domains/{name}/verificationDnsRecords`.
pub(crate) async fn verification_dns_records(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(name): Path<String>,
) -> Result<Response, GraphError> {
    let items = s.directory.verification_dns_records(p.tenant, &name).await?;
    Ok(records(&s, &name.to_ascii_lowercase(), "verificationDnsRecords", items))
}

/// `GET /domains/{name}/serviceConfigurationRecords`.
pub(crate) async fn service_configuration_records(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(name): Path<String>,
) -> Result<Response, GraphError> {
    let items = s.directory.service_configuration_records(p.tenant, &name).await?;
    Ok(records(&s, &name.to_ascii_lowercase(), "serviceConfigurationRecords", items))
}

/// `GET /domains/{name}/domainNameReferences`: directory objects, each with its type.
pub(crate) async fn domain_name_references(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(name): Path<String>,
) -> Result<Response, GraphError> {
    let objects = s.directory.domain_name_references(p.tenant, &name).await?;
    let items = objects
        .iter()
        .map(|o| {
            let ty = cerulean_schema::entity(&o.object_type).unwrap_or_else(|| entity("directoryObject"));
            Value::Object(shape(ty, o, None, true))
        })
        .collect();
    Ok(collection(&s, "directoryObjects", None, items))
}
