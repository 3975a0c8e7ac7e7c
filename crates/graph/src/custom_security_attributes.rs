//! Custom security attributes over Graph: `/directory/attributeSets`,
//! `/directory/customSecurityAttributeDefinitions` (with `allowedValues`), and who may see and
//! assign the values on users and service principals. The rules are in
//! `cerulean_directory::custom_security_attributes`.
//!
//! Access follows Entra, where no other role implies the attribute roles ("By default, Global
//! Administrator and other administrator roles do not have permissions to read, define, or
//! assign custom security attributes"):
//! - definitions: the route's permission (`CustomSecAttributeDefinition.*`) and, for a
//!   signed-in user, Attribute Definition Reader/Administrator (Attribute Assignment
//!   Reader/Administrator also read them); writes need Attribute Definition Administrator
//!   (checked by the delegated-rights layer);
//! - assigned values: returned only when `$select`ed, and then `null` unless the caller holds
//!   `CustomSecAttributeAssignment.Read.All` or `.ReadWrite.All` (and, signed in, Attribute
//!   Assignment Reader/Administrator), as Graph answers; writing them needs
//!   `CustomSecAttributeAssignment.ReadWrite.All` (and Attribute Assignment Administrator).

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use cerulean_directory::custom_security_attributes::PROPERTY;
use cerulean_directory::role_catalog::{
    ATTRIBUTE_ASSIGNMENT_ADMINISTRATOR, ATTRIBUTE_ASSIGNMENT_READER, ATTRIBUTE_DEFINITION_ADMINISTRATOR,
    ATTRIBUTE_DEFINITION_READER,
};
use cerulean_store::ObjectRecord;
use serde_json::{Map, Value, json};

use crate::error::GraphError;
use crate::odata;
use crate::users::client_request_id;
use crate::{GraphState, Principal, caller};

const ASSIGNMENT_READ: &[&str] =
    &["CustomSecAttributeAssignment.Read.All", "CustomSecAttributeAssignment.ReadWrite.All"];
const ASSIGNMENT_WRITE: &[&str] = &["CustomSecAttributeAssignment.ReadWrite.All"];

fn denied() -> GraphError {
    GraphError::new(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
}

/// Whether the caller holds one of `permissions` and, signed in, one of the roles `wids`.
fn holds(p: &Principal, permissions: &[&str], roles: &[&str]) -> bool {
    let held = if p.delegated { &p.scopes } else { &p.roles };
    let permitted = held.iter().any(|h| permissions.iter().any(|w| w.eq_ignore_ascii_case(h)));
    permitted && (!p.delegated || p.wids.iter().any(|w| roles.iter().any(|r| r.eq_ignore_ascii_case(w))))
}

/// Whether the caller may read assigned values.
fn may_read_assignments(p: &Principal) -> bool {
    holds(p, ASSIGNMENT_READ, &[ATTRIBUTE_ASSIGNMENT_READER, ATTRIBUTE_ASSIGNMENT_ADMINISTRATOR])
}

/// Whether a shaped item carries no custom security attribute values ([`redact`] leaves it
/// as it is, whoever asks).
pub(crate) fn is_unassigned(item: &Map<String, Value>) -> bool {
    item.get(PROPERTY).is_none_or(Value::is_null)
}

/// Hides assigned values from a caller who may not read them (Graph answers `null`).
pub(crate) fn redact(p: &Principal, item: &mut Map<String, Value>) {
    if let Some(v) = item.get_mut(PROPERTY)
        && !v.is_null()
        && !may_read_assignments(p)
    {
        *v = Value::Null;
    }
}

/// Refuses a create or update body that assigns values without the right to assign them.
pub(crate) fn check_assignment(p: &Principal, body: &Map<String, Value>) -> Result<(), GraphError> {
    let assigns = body.keys().any(|k| k.eq_ignore_ascii_case(PROPERTY));
    if assigns && !holds(p, ASSIGNMENT_WRITE, &[ATTRIBUTE_ASSIGNMENT_ADMINISTRATOR]) {
        return Err(denied());
    }
    Ok(())
}

/// Refuses a `$filter` on assigned values to a caller who may not read them.
pub(crate) fn check_filter(p: &Principal, params: &[(String, String)]) -> Result<(), GraphError> {
    let filters_values = params.iter().any(|(k, v)| {
        k.trim_start_matches('$').eq_ignore_ascii_case("filter")
            && v.to_ascii_lowercase().contains("customsecurityattributes/")
    });
    if filters_values && !may_read_assignments(p) {
        return Err(denied());
    }
    Ok(())
}

/// Signed-in readers of definitions need one of the attribute roles (the route's permission
/// is checked by the authorization layer).
fn check_definition_reader(p: &Principal) -> Result<(), GraphError> {
    let roles = [
        ATTRIBUTE_DEFINITION_READER,
        ATTRIBUTE_DEFINITION_ADMINISTRATOR,
        ATTRIBUTE_ASSIGNMENT_READER,
        ATTRIBUTE_ASSIGNMENT_ADMINISTRATOR,
    ];
    if p.delegated && !p.wids.iter().any(|w| roles.iter().any(|r| r.eq_ignore_ascii_case(w))) {
        return Err(denied());
    }
    Ok(())
}

fn set_shape(rec: &ObjectRecord) -> Map<String, Value> {
    let get = |k: &str| rec.doc.get(k).cloned().unwrap_or(Value::Null);
    let mut out = Map::new();
    out.insert("id".into(), get("setId"));
    out.insert("description".into(), get("description"));
    out.insert("maxAttributesPerSet".into(), get("maxAttributesPerSet"));
    out
}

fn definition_shape(rec: &ObjectRecord) -> Map<String, Value> {
    let get = |k: &str| rec.doc.get(k).cloned().unwrap_or(Value::Null);
    let mut out = Map::new();
    out.insert("id".into(), get("definitionId"));
    for k in ["attributeSet", "description", "isCollection", "isSearchable", "name", "status", "type"] {
        out.insert(k.into(), get(k));
    }
    out.insert("usePreDefinedValuesOnly".into(), get("usePreDefinedValuesOnly"));
    out
}

/// A list answer with `$filter` (eq) and `$top`, the options Graph documents on these sets.
fn list_answer(
    s: &GraphState,
    context: &str,
    raw: Option<&str>,
    items: Vec<Map<String, Value>>,
) -> Result<Response, GraphError> {
    let mut filter = None;
    let mut top = usize::MAX;
    for (k, v) in odata::parse_query(raw)? {
        match k.trim_start_matches('$').to_ascii_lowercase().as_str() {
            "filter" => filter = Some(cerulean_query::parse_filter(&v)?),
            "top" => {
                top = v
                    .parse::<usize>()
                    .ok()
                    .filter(|t| *t > 0)
                    .ok_or_else(|| GraphError::bad_request(format!("Invalid page size specified: '{v}'.")))?
            }
            other if k.starts_with('$') && other != "select" => {
                return Err(GraphError::new(
                    400,
                    "Request_UnsupportedQuery",
                    format!("The query option '{k}' is not supported on {context}."),
                ));
            }
            _ => {}
        }
    }
    let mut value = Vec::new();
    for item in items {
        if let Some(f) = &filter
            && !odata::eq_filter_matches(f, &item)?
        {
            continue;
        }
        if value.len() == top {
            break;
        }
        value.push(Value::Object(item));
    }
    Ok(odata::json(
        StatusCode::OK,
        json!({"@odata.context": format!("{}/$metadata#{context}", s.base()), "value": value}),
    ))
}

fn entity(s: &GraphState, context: &str, status: StatusCode, item: Map<String, Value>) -> Response {
    let mut out = Map::new();
    out.insert("@odata.context".into(), json!(format!("{}/$metadata#{context}/$entity", s.base())));
    out.extend(item);
    odata::json(status, Value::Object(out))
}

const SETS: &str = "directory/attributeSets";
const DEFINITIONS: &str = "directory/customSecurityAttributeDefinitions";

/// `GET /directory/attributeSets`.
pub(crate) async fn list_sets(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    check_definition_reader(&p)?;
    let items = s.directory.attribute_sets(p.tenant).await?.iter().map(set_shape).collect();
    list_answer(&s, SETS, q.as_deref(), items)
}

/// `GET /directory/attributeSets/{id}`.
pub(crate) async fn get_set(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, GraphError> {
    check_definition_reader(&p)?;
    let rec = s.directory.attribute_set(p.tenant, &id).await?;
    Ok(entity(&s, SETS, StatusCode::OK, set_shape(&rec)))
}

/// `POST /directory/attributeSets`: 201.
pub(crate) async fn create_set(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    h: HeaderMap,
    body: Bytes,
) -> Result<Response, GraphError> {
    let body = odata::object_body(&body)?;
    let rec = s.directory.create_attribute_set(&caller(&p, client_request_id(&h)), &body).await?;
    Ok(entity(&s, SETS, StatusCode::CREATED, set_shape(&rec)))
}

/// `PATCH /directory/attributeSets/{id}`: 204.
pub(crate) async fn update_set(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    h: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, GraphError> {
    let body = odata::object_body(&body)?;
    s.directory.update_attribute_set(&caller(&p, client_request_id(&h)), &id, &body).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /directory/customSecurityAttributeDefinitions`.
pub(crate) async fn list_definitions(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    check_definition_reader(&p)?;
    let items = s.directory.attribute_definitions(p.tenant).await?.iter().map(definition_shape).collect();
    list_answer(&s, DEFINITIONS, q.as_deref(), items)
}

/// `GET /directory/customSecurityAttributeDefinitions/{id}`.
pub(crate) async fn get_definition(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, GraphError> {
    check_definition_reader(&p)?;
    let rec = s.directory.attribute_definition(p.tenant, &id).await?;
    Ok(entity(&s, DEFINITIONS, StatusCode::OK, definition_shape(&rec)))
}

/// `POST /directory/customSecurityAttributeDefinitions`: 201.
pub(crate) async fn create_definition(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    h: HeaderMap,
    body: Bytes,
) -> Result<Response, GraphError> {
    let body = odata::object_body(&body)?;
    let rec = s.directory.create_attribute_definition(&caller(&p, client_request_id(&h)), &body).await?;
    Ok(entity(&s, DEFINITIONS, StatusCode::CREATED, definition_shape(&rec)))
}

/// `PATCH /directory/customSecurityAttributeDefinitions/{id}`: 204.
pub(crate) async fn update_definition(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    h: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, GraphError> {
    let body = odata::object_body(&body)?;
    s.directory.update_attribute_definition(&caller(&p, client_request_id(&h)), &id, &body).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn allowed_context(id: &str) -> String {
    format!("{DEFINITIONS}('{id}')/allowedValues")
}

/// `GET .../customSecurityAttributeDefinitions/{id}/allowedValues`.
pub(crate) async fn list_allowed(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    check_definition_reader(&p)?;
    let items =
        s.directory.allowed_values(p.tenant, &id).await?.into_iter().filter_map(|v| v.as_object().cloned()).collect();
    list_answer(&s, &allowed_context(&id), q.as_deref(), items)
}

/// `GET .../allowedValues/{value}`.
pub(crate) async fn get_allowed(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path((id, value)): Path<(String, String)>,
) -> Result<Response, GraphError> {
    check_definition_reader(&p)?;
    let v = s.directory.allowed_value(p.tenant, &id, &value).await?;
    Ok(entity(&s, &allowed_context(&id), StatusCode::OK, v.as_object().cloned().unwrap_or_default()))
}

/// `POST .../allowedValues`: 201.
pub(crate) async fn create_allowed(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    h: HeaderMap,
    body: Bytes,
) -> Result<Response, GraphError> {
    let body = odata::object_body(&body)?;
    let v = s.directory.put_allowed_value(&caller(&p, client_request_id(&h)), &id, None, &body).await?;
    Ok(entity(&s, &allowed_context(&id), StatusCode::CREATED, v.as_object().cloned().unwrap_or_default()))
}

/// `PATCH .../allowedValues/{value}` (`isActive`): 204.
pub(crate) async fn update_allowed(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path((id, value)): Path<(String, String)>,
    h: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, GraphError> {
    let body = odata::object_body(&body)?;
    s.directory.put_allowed_value(&caller(&p, client_request_id(&h)), &id, Some(&value), &body).await?;
    Ok(StatusCode::NO_CONTENT)
}
