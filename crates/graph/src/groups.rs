//! `/groups` routes: CRUD, members, owners, memberOf.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use cerulean_directory::parse_reference;
use cerulean_schema::EntityType;
use cerulean_store::{EdgeKind, Scope};

use uuid::Uuid;

use crate::error::GraphError;
use crate::lists::{self, Collection};
use crate::odata;
use crate::users::client_request_id;
use crate::{GraphState, Principal, caller};

fn group_entity() -> &'static EntityType {
    cerulean_schema::entity("group").expect("group is declared")
}

fn directory_object() -> &'static EntityType {
    cerulean_schema::entity("directoryObject").expect("directoryObject is declared")
}

/// Which relationship of a group a route serves.
struct Link {
    kind: EdgeKind,
    /// `memberOf` walks member edges backwards.
    reverse: bool,
    /// The path after `/groups/{id}/`, for the next link.
    segment: &'static str,
    /// A type cast (`microsoft.graph.user`) or every type.
    types: &'static [&'static str],
    /// The `/$count` segment.
    count: bool,
}

const MEMBERS: Link = Link { kind: EdgeKind::Member, reverse: false, segment: "members", types: &[], count: false };

/// A collection of objects related to a group.
async fn related(
    state: &GraphState,
    p: &Principal,
    headers: &HeaderMap,
    q: Option<&str>,
    key: &str,
    link: Link,
) -> Result<Response, GraphError> {
    let group = state.directory.find(p.tenant, "group", key).await?;
    let (entity, context) = match link.types {
        ["user"] => (crate::users::user_entity(), "users".to_string()),
        ["group"] => (group_entity(), "groups".to_string()),
        [other] => crate::related::cast_entity(other)?,
        _ => (directory_object(), "directoryObjects".to_string()),
    };
    let coll = Collection {
        entity,
        types: link.types,
        scope: Scope::Related { kind: link.kind, id: group.id, reverse: link.reverse },
        context,
        path: format!("/{}/groups/{key}/{}", state.version, link.segment),
    };
    if link.count {
        lists::count(state, p, headers, q, coll).await
    } else {
        lists::list(state, p, headers, q, coll).await
    }
}

pub(crate) async fn members(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    h: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    related(&s, &p, &h, q.as_deref(), &id, MEMBERS).await
}

pub(crate) async fn members_count(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    h: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    related(&s, &p, &h, q.as_deref(), &id, Link { segment: "members/$count", count: true, ..MEMBERS }).await
}

pub(crate) async fn members_users(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    h: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    related(
        &s,
        &p,
        &h,
        q.as_deref(),
        &id,
        Link { segment: "members/microsoft.graph.user", types: &["user"], ..MEMBERS },
    )
    .await
}

pub(crate) async fn members_groups(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    h: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    related(
        &s,
        &p,
        &h,
        q.as_deref(),
        &id,
        Link { segment: "members/microsoft.graph.group", types: &["group"], ..MEMBERS },
    )
    .await
}

pub(crate) async fn members_devices(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    h: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    let link = Link { segment: "members/microsoft.graph.device", types: &["device"], ..MEMBERS };
    related(&s, &p, &h, q.as_deref(), &id, link).await
}

pub(crate) async fn members_contacts(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    h: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    let link = Link { segment: "members/microsoft.graph.orgContact", types: &["orgContact"], ..MEMBERS };
    related(&s, &p, &h, q.as_deref(), &id, link).await
}

pub(crate) async fn members_service_principals(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    h: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    let link = Link { segment: "members/microsoft.graph.servicePrincipal", types: &["servicePrincipal"], ..MEMBERS };
    related(&s, &p, &h, q.as_deref(), &id, link).await
}

pub(crate) async fn owners(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    h: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    related(&s, &p, &h, q.as_deref(), &id, Link { kind: EdgeKind::Owner, segment: "owners", ..MEMBERS }).await
}

pub(crate) async fn member_of_groups(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    h: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    let link = Link { reverse: true, segment: "memberOf/microsoft.graph.group", types: &["group"], ..MEMBERS };
    related(&s, &p, &h, q.as_deref(), &id, link).await
}

pub(crate) async fn owners_count(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    h: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    let link = Link { kind: EdgeKind::Owner, segment: "owners/$count", count: true, ..MEMBERS };
    related(&s, &p, &h, q.as_deref(), &id, link).await
}

pub(crate) async fn member_of_count(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    h: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    let link = Link { reverse: true, segment: "memberOf/$count", count: true, ..MEMBERS };
    related(&s, &p, &h, q.as_deref(), &id, link).await
}

pub(crate) async fn owners_users(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    h: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    let link = Link { kind: EdgeKind::Owner, segment: "owners/microsoft.graph.user", types: &["user"], ..MEMBERS };
    related(&s, &p, &h, q.as_deref(), &id, link).await
}

pub(crate) async fn member_of(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    h: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    related(&s, &p, &h, q.as_deref(), &id, Link { reverse: true, segment: "memberOf", ..MEMBERS }).await
}

/// The object named by a `{"@odata.id": "..."}` reference body.
pub(crate) fn reference_target(body: &[u8]) -> Result<Uuid, GraphError> {
    let body = odata::object_body(body)?;
    let reference = body
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("@odata.id"))
        .and_then(|(_, v)| v.as_str())
        .ok_or_else(|| GraphError::bad_request("The request body must contain '@odata.id'."))?;
    parse_reference(reference)
        .ok_or_else(|| GraphError::bad_request(format!("Invalid object identifier '{reference}'.")))
}

pub(crate) async fn add_member(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    h: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, GraphError> {
    let target = reference_target(&body)?;
    s.directory.add_group_link(&caller(&p, client_request_id(&h)), &id, EdgeKind::Member, target).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn add_owner(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    h: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, GraphError> {
    let target = reference_target(&body)?;
    s.directory.add_group_link(&caller(&p, client_request_id(&h)), &id, EdgeKind::Owner, target).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn path_target(member: &str) -> Result<Uuid, GraphError> {
    Uuid::parse_str(member).map_err(|_| GraphError::not_found(member))
}

pub(crate) async fn remove_member(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path((id, member)): Path<(String, String)>,
    h: HeaderMap,
) -> Result<StatusCode, GraphError> {
    s.directory
        .remove_group_link(&caller(&p, client_request_id(&h)), &id, EdgeKind::Member, path_target(&member)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn remove_owner(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path((id, owner)): Path<(String, String)>,
    h: HeaderMap,
) -> Result<StatusCode, GraphError> {
    s.directory
        .remove_group_link(&caller(&p, client_request_id(&h)), &id, EdgeKind::Owner, path_target(&owner)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
