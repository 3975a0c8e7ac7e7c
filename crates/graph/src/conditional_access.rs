//! `/identity/conditionalAccess/namedLocations` and `/identity/conditionalAccess/policies`:
//! list, get, create, update, delete. The rules are in `cerulean_directory::conditional_access`;
//! this module renders the stored documents (named locations with their `@odata.type`, as
//! Graph returns the derived types) and honours `$select`.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use cerulean_store::ObjectRecord;
use serde_json::{Map, Value, json};

use crate::error::GraphError;
use crate::odata;
use crate::users::client_request_id;
use crate::{GraphState, Principal, caller};

const LOCATIONS: &str = "identity/conditionalAccess/namedLocations";
const POLICIES: &str = "identity/conditionalAccess/policies";

/// The `$select` list of a request; other options are refused (these collections are small
/// and Graph supports little more on them).
fn select(q: Option<&str>) -> Result<Option<Vec<String>>, GraphError> {
    let mut select = None;
    for (k, v) in odata::parse_query(q)? {
        match k.trim_start_matches('$').to_ascii_lowercase().as_str() {
            "select" => select = Some(v.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect()),
            "top" | "skiptoken" | "count" | "filter" | "orderby" | "expand" => {
                return Err(GraphError::new(
                    400,
                    "BadRequest",
                    format!("The query option '{k}' is not supported on this collection."),
                ));
            }
            _ => {}
        }
    }
    Ok(select)
}

/// One object as Graph returns it: `@odata.type` for named locations, `id`, then the document
/// (or the selected properties of it).
fn render(record: &ObjectRecord, select: Option<&[String]>) -> Map<String, Value> {
    let mut out = Map::new();
    if record.object_type != cerulean_directory::conditional_access::POLICY {
        out.insert("@odata.type".into(), json!(format!("#microsoft.graph.{}", record.object_type)));
    }
    out.insert("id".into(), json!(record.id.to_string()));
    for (k, v) in &record.doc {
        if select.is_none_or(|s| s.iter().any(|n| n.eq_ignore_ascii_case(k))) {
            out.insert(k.clone(), v.clone());
        }
    }
    out
}

fn collection(s: &GraphState, set: &str, records: &[ObjectRecord], select: Option<&[String]>) -> Response {
    let items: Vec<Value> = records.iter().map(|r| Value::Object(render(r, select))).collect();
    let body = json!({ "@odata.context": odata::context(&s.base(), set, select, false), "value": items });
    odata::json(StatusCode::OK, body)
}

fn single(s: &GraphState, set: &str, record: &ObjectRecord, select: Option<&[String]>, status: StatusCode) -> Response {
    let mut body = Map::new();
    body.insert("@odata.context".into(), json!(odata::context(&s.base(), set, select, true)));
    body.extend(render(record, select));
    let mut res = odata::json(status, Value::Object(body));
    if status == StatusCode::CREATED
        && let Ok(v) = HeaderValue::from_str(&format!("{}/{set}/{}", s.base(), record.id))
    {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res
}

/// `GET /identity/conditionalAccess/namedLocations`.
pub(crate) async fn list_locations(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    let select = select(q.as_deref())?;
    let records = s.directory.named_locations(p.tenant).await?;
    Ok(collection(&s, LOCATIONS, &records, select.as_deref()))
}

/// `GET /identity/conditionalAccess/namedLocations/{id}`.
pub(crate) async fn get_location(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    let select = select(q.as_deref())?;
    let record = s.directory.named_location(p.tenant, &id).await?;
    Ok(single(&s, LOCATIONS, &record, select.as_deref(), StatusCode::OK))
}

/// `POST /identity/conditionalAccess/namedLocations`: 201 with the new location.
pub(crate) async fn create_location(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    h: HeaderMap,
    body: Bytes,
) -> Result<Response, GraphError> {
    let body = odata::object_body(&body)?;
    let record = s.directory.create_named_location(&caller(&p, client_request_id(&h)), &body).await?;
    Ok(single(&s, LOCATIONS, &record, None, StatusCode::CREATED))
}

/// `PATCH /identity/conditionalAccess/namedLocations/{id}`: 204.
pub(crate) async fn update_location(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    h: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, GraphError> {
    let body = odata::object_body(&body)?;
    s.directory.update_named_location(&caller(&p, client_request_id(&h)), &id, &body).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /identity/conditionalAccess/namedLocations/{id}`: 204.
pub(crate) async fn delete_location(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    h: HeaderMap,
) -> Result<StatusCode, GraphError> {
    s.directory.delete_named_location(&caller(&p, client_request_id(&h)), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /identity/conditionalAccess/policies`.
pub(crate) async fn list_policies(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    let select = select(q.as_deref())?;
    let records = s.directory.ca_policies(p.tenant).await?;
    Ok(collection(&s, POLICIES, &records, select.as_deref()))
}

/// `GET /identity/conditionalAccess/policies/{id}`.
pub(crate) async fn get_policy(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    let select = select(q.as_deref())?;
    let record = s.directory.ca_policy(p.tenant, &id).await?;
    Ok(single(&s, POLICIES, &record, select.as_deref(), StatusCode::OK))
}

/// `POST /identity/conditionalAccess/policies`: 201 with the new policy.
pub(crate) async fn create_policy(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    h: HeaderMap,
    body: Bytes,
) -> Result<Response, GraphError> {
    let body = odata::object_body(&body)?;
    let record = s.directory.create_ca_policy(&caller(&p, client_request_id(&h)), &body).await?;
    Ok(single(&s, POLICIES, &record, None, StatusCode::CREATED))
}

/// `PATCH /identity/conditionalAccess/policies/{id}`: 204.
pub(crate) async fn update_policy(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    h: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, GraphError> {
    let body = odata::object_body(&body)?;
    s.directory.update_ca_policy(&caller(&p, client_request_id(&h)), &id, &body).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /identity/conditionalAccess/policies/{id}`: 204.
pub(crate) async fn delete_policy(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    h: HeaderMap,
) -> Result<StatusCode, GraphError> {
    s.directory.delete_ca_policy(&caller(&p, client_request_id(&h)), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
