//! `/directory/administrativeUnits/{id}/members`: list (with casts and `$count`), one member,
//! `$ref` add and remove. The unit itself is served by the standard entity-set routes.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use cerulean_store::EdgeKind;
use serde_json::{Map, Value, json};

use crate::error::GraphError;
use crate::groups::reference_target;
use crate::lists;
use crate::odata::{self, shape};
use crate::related::{Relation, path_target, relation_routes};
use crate::users::client_request_id;
use crate::{GraphState, Principal, caller};

const SET: &str = "directory/administrativeUnits";

const MEMBERS: Relation = Relation {
    set: SET,
    object_type: "administrativeUnit",
    kind: EdgeKind::Member,
    reverse: false,
    segment: "members",
    cast: None,
    types: &[],
    count: false,
};

relation_routes! {
    members => MEMBERS;
    members_count => Relation { segment: "members/$count", count: true, ..MEMBERS };
    members_users => Relation { segment: "members/microsoft.graph.user", cast: Some("user"), ..MEMBERS };
    members_users_count =>
        Relation { segment: "members/microsoft.graph.user/$count", cast: Some("user"), count: true, ..MEMBERS };
    members_groups => Relation { segment: "members/microsoft.graph.group", cast: Some("group"), ..MEMBERS };
    members_groups_count =>
        Relation { segment: "members/microsoft.graph.group/$count", cast: Some("group"), count: true, ..MEMBERS };
    members_devices => Relation { segment: "members/microsoft.graph.device", cast: Some("device"), ..MEMBERS };
    members_devices_count =>
        Relation { segment: "members/microsoft.graph.device/$count", cast: Some("device"), count: true, ..MEMBERS };
}

/// `GET /directory/administrativeUnits/{id}/members/{memberId}`: one member, with its
/// `@odata.type`; 404 when the object is not a member.
pub(crate) async fn member(
    State(state): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path((key, member)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    let unit = state.directory.find(p.tenant, "administrativeUnit", &key).await?;
    let id = path_target(&member)?;
    let record = state.directory.unit_member(p.tenant, unit.id, id).await?;
    let entity = cerulean_schema::entity(&record.object_type)
        .ok_or_else(|| GraphError::new(500, "InternalServerError", "undeclared member type"))?;
    let opts = lists::single_options(entity, q.as_deref(), &headers)?;
    let select = opts.select.as_deref();
    let mut body = Map::new();
    body.insert("@odata.context".into(), json!(odata::context(&state.base(), "directoryObjects", select, true)));
    body.extend(shape(entity, &record, select, true));
    crate::csa::redact(&p, &mut body);
    Ok(odata::json(StatusCode::OK, Value::Object(body)))
}

pub(crate) async fn add_member(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    h: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, GraphError> {
    let target = reference_target(&body)?;
    s.directory.add_unit_member(&caller(&p, client_request_id(&h)), &id, target).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn remove_member(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path((id, member)): Path<(String, String)>,
    h: HeaderMap,
) -> Result<StatusCode, GraphError> {
    let target = path_target(&member)?;
    s.directory.remove_unit_member(&caller(&p, client_request_id(&h)), &id, target).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- scopedRoleMembers: role assignments scoped to the unit ---------------------------------

fn scoped_collection(context: String, items: Vec<Map<String, Value>>) -> Response {
    let value: Vec<Value> = items.into_iter().map(Value::Object).collect();
    odata::json(StatusCode::OK, json!({"@odata.context": context, "value": value}))
}

fn scoped_entity(s: &GraphState, item: Map<String, Value>) -> Value {
    let mut body = Map::new();
    body.insert("@odata.context".into(), json!(format!("{}/$metadata#scopedRoleMemberships/$entity", s.base())));
    body.extend(item);
    Value::Object(body)
}

/// `GET /directory/administrativeUnits/{id}/scopedRoleMembers`.
pub(crate) async fn scoped_role_members(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, GraphError> {
    let items = s.directory.scoped_role_members(p.tenant, &id).await?;
    let context = format!("{}/$metadata#directory/administrativeUnits('{id}')/scopedRoleMembers", s.base());
    Ok(scoped_collection(context, items))
}

/// `GET /directory/administrativeUnits/{id}/scopedRoleMembers/{membershipId}`.
pub(crate) async fn scoped_role_member(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path((id, member)): Path<(String, String)>,
) -> Result<Response, GraphError> {
    let item = s.directory.scoped_role_member(p.tenant, &id, &member).await?;
    Ok(odata::json(StatusCode::OK, scoped_entity(&s, item)))
}

/// `POST /directory/administrativeUnits/{id}/scopedRoleMembers`: 201.
pub(crate) async fn add_scoped_role_member(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    h: HeaderMap,
    body: Bytes,
) -> Result<Response, GraphError> {
    let body = odata::object_body(&body)?;
    let item = s.directory.add_scoped_role_member(&caller(&p, client_request_id(&h)), &id, &body).await?;
    Ok(odata::json(StatusCode::CREATED, scoped_entity(&s, item)))
}

/// `DELETE /directory/administrativeUnits/{id}/scopedRoleMembers/{membershipId}`: 204.
pub(crate) async fn remove_scoped_role_member(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path((id, member)): Path<(String, String)>,
    h: HeaderMap,
) -> Result<StatusCode, GraphError> {
    s.directory.remove_scoped_role_member(&caller(&p, client_request_id(&h)), &id, &member).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /users/{id}/scopedRoleMemberOf` (and `/me/scopedRoleMemberOf`).
pub(crate) async fn scoped_role_member_of_of(s: &GraphState, p: &Principal, id: &str) -> Result<Response, GraphError> {
    let items = s.directory.scoped_role_member_of(p.tenant, id).await?;
    let context = format!("{}/$metadata#users('{id}')/scopedRoleMemberOf", s.base());
    Ok(scoped_collection(context, items))
}

pub(crate) async fn scoped_role_member_of(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, GraphError> {
    scoped_role_member_of_of(&s, &p, &id).await
}
