//! `/servicePrincipals` routes (CRUD, owners), app role assignments (through the resource,
//! `appRoleAssignedTo`, and through the principal, `appRoleAssignments` of service principals,
//! users and groups) and `/oauth2PermissionGrants`.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use cerulean_directory::{AssignmentAnchor, guid_filter};
use cerulean_query::{Context, parse_list_options};
use cerulean_schema::EntityType;
use cerulean_store::{Filter, Scope};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::applications::reference_target;
use crate::error::GraphError;
use crate::lists::{self, Collection};
use crate::odata::{self, eventual, shape};
use crate::users::{client_request_id, created};
use crate::{GraphState, Principal, caller};

fn assignment_entity() -> &'static EntityType {
    cerulean_schema::entity("appRoleAssignment").expect("appRoleAssignment is declared")
}

fn grant_entity() -> &'static EntityType {
    cerulean_schema::entity("oAuth2PermissionGrant").expect("oAuth2PermissionGrant is declared")
}

/// `memberOf` of a service principal: the groups (and directory roles) it is a direct member of,
/// the reverse of their `Member` edges, served like a device's or a contact's.
const MEMBER_OF: crate::related::Relation = crate::related::Relation {
    set: "servicePrincipals",
    object_type: "servicePrincipal",
    kind: cerulean_store::EdgeKind::Member,
    reverse: true,
    segment: "memberOf",
    cast: None,
    types: &[],
    count: false,
};

crate::related::relation_routes! {
    member_of => MEMBER_OF;
    member_of_count => crate::related::Relation { segment: "memberOf/$count", count: true, ..MEMBER_OF };
    member_of_groups => crate::related::Relation {
        segment: "memberOf/microsoft.graph.group",
        cast: Some("group"),
        ..MEMBER_OF
    };
}

pub(crate) async fn owners(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    h: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    crate::applications::owners_of(&s, &p, &h, q.as_deref(), "servicePrincipal", "servicePrincipals", &id).await
}

pub(crate) async fn add_owner(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    h: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, GraphError> {
    let target = reference_target(&body)?;
    s.directory.add_app_owner(&caller(&p, client_request_id(&h)), "servicePrincipal", &id, target).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn remove_owner(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path((id, owner)): Path<(String, String)>,
    h: HeaderMap,
) -> Result<StatusCode, GraphError> {
    let target = Uuid::parse_str(&owner).map_err(|_| GraphError::not_found(&owner))?;
    s.directory.remove_app_owner(&caller(&p, client_request_id(&h)), "servicePrincipal", &id, target).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- app role assignments ----

/// Which assignment route: the anchor's entity set, its directory type, and the segment.
#[derive(Clone, Copy)]
struct Route {
    set: &'static str,
    object_type: &'static str,
    segment: &'static str,
}

const ASSIGNED_TO: Route =
    Route { set: "servicePrincipals", object_type: "servicePrincipal", segment: "appRoleAssignedTo" };
const SP_ASSIGNMENTS: Route =
    Route { set: "servicePrincipals", object_type: "servicePrincipal", segment: "appRoleAssignments" };
const USER_ASSIGNMENTS: Route = Route { set: "users", object_type: "user", segment: "appRoleAssignments" };
const GROUP_ASSIGNMENTS: Route = Route { set: "groups", object_type: "group", segment: "appRoleAssignments" };

fn anchor(route: Route, key: &str) -> AssignmentAnchor<'_> {
    if route.segment == "appRoleAssignedTo" {
        AssignmentAnchor::Resource(key)
    } else {
        AssignmentAnchor::Principal(route.object_type, key)
    }
}

async fn list_assignments(
    s: &GraphState,
    p: &Principal,
    h: &HeaderMap,
    q: Option<&str>,
    route: Route,
    key: &str,
) -> Result<Response, GraphError> {
    let object = s.directory.assignment_anchor(p.tenant, anchor(route, key)).await?;
    let params = odata::parse_query(q)?;
    let opts = parse_list_options(&params, assignment_entity(), &Context { consistency_eventual: eventual(h) })?;
    crate::expand::check(&opts.expand)?;
    let mut query = opts.to_list_query(&["appRoleAssignment"], Scope::Live);
    let field = if route.segment == "appRoleAssignedTo" { "resourceId" } else { "principalId" };
    let own = guid_filter(field, object.id);
    query.filter = Some(match query.filter.take() {
        Some(f) => Filter::And(vec![own, f]),
        None => own,
    });
    let page = s.directory.list(p.tenant, &query).await?;
    let select = opts.select.as_deref();
    let items: Vec<Value> =
        page.items.iter().map(|r| Value::Object(shape(assignment_entity(), r, select, false))).collect();
    let mut body = Map::new();
    let what = format!("{}('{}')/{}", route.set, object.id, route.segment);
    body.insert("@odata.context".into(), json!(odata::context(&s.base(), &what, select, false)));
    if let Some(count) = page.count {
        body.insert("@odata.count".into(), json!(count));
    }
    if let Some(next) = &page.next {
        let path = format!("/{}/{}/{key}/{}", s.version, route.set, route.segment);
        body.insert(
            "@odata.nextLink".into(),
            json!(odata::next_link(&s.public_url, &path, &params, &opts.skiptoken(next))),
        );
    }
    body.insert("value".into(), Value::Array(items));
    Ok(odata::json(StatusCode::OK, Value::Object(body)))
}

async fn create_assignment(
    s: &GraphState,
    p: &Principal,
    h: &HeaderMap,
    route: Route,
    key: &str,
    body: &[u8],
) -> Result<Response, GraphError> {
    let body = odata::object_body(body)?;
    let record =
        s.directory.create_app_role_assignment(&caller(p, client_request_id(h)), anchor(route, key), &body).await?;
    let mut out = Map::new();
    let what = format!("{}('{key}')/{}", route.set, route.segment);
    out.insert("@odata.context".into(), json!(odata::context(&s.base(), &what, None, true)));
    out.extend(shape(assignment_entity(), &record, None, false));
    Ok(odata::json(StatusCode::CREATED, Value::Object(out)))
}

async fn delete_assignment(
    s: &GraphState,
    p: &Principal,
    h: &HeaderMap,
    route: Route,
    key: &str,
    id: &str,
) -> Result<StatusCode, GraphError> {
    s.directory.delete_app_role_assignment(&caller(p, client_request_id(h)), anchor(route, key), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

macro_rules! assignment_routes {
    ($list:ident, $create:ident, $delete:ident, $route:expr) => {
        pub(crate) async fn $list(
            State(s): State<GraphState>,
            Extension(p): Extension<Principal>,
            Path(id): Path<String>,
            h: HeaderMap,
            RawQuery(q): RawQuery,
        ) -> Result<Response, GraphError> {
            list_assignments(&s, &p, &h, q.as_deref(), $route, &id).await
        }

        pub(crate) async fn $create(
            State(s): State<GraphState>,
            Extension(p): Extension<Principal>,
            Path(id): Path<String>,
            h: HeaderMap,
            body: Bytes,
        ) -> Result<Response, GraphError> {
            create_assignment(&s, &p, &h, $route, &id, &body).await
        }

        pub(crate) async fn $delete(
            State(s): State<GraphState>,
            Extension(p): Extension<Principal>,
            Path((id, assignment)): Path<(String, String)>,
            h: HeaderMap,
        ) -> Result<StatusCode, GraphError> {
            delete_assignment(&s, &p, &h, $route, &id, &assignment).await
        }
    };
}

assignment_routes!(assigned_to, assign_to, unassign_to, ASSIGNED_TO);
assignment_routes!(sp_assignments, sp_assign, sp_unassign, SP_ASSIGNMENTS);
assignment_routes!(user_assignments, user_assign, user_unassign, USER_ASSIGNMENTS);
assignment_routes!(group_assignments, group_assign, group_unassign, GROUP_ASSIGNMENTS);

// ---- oauth2PermissionGrants ----

fn grants_collection(s: &GraphState) -> Collection<'static> {
    Collection {
        entity: grant_entity(),
        types: &["oAuth2PermissionGrant"],
        scope: Scope::Live,
        context: "oauth2PermissionGrants".into(),
        path: format!("/{}/oauth2PermissionGrants", s.version),
    }
}

pub(crate) async fn grants(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    h: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    lists::list(&s, &p, &h, q.as_deref(), grants_collection(&s)).await
}

pub(crate) async fn grant_get(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    h: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    let opts = lists::single_options(grant_entity(), q.as_deref(), &h)?;
    let grant = s.directory.find(p.tenant, "oAuth2PermissionGrant", &id).await?;
    lists::single(&s, &p, "oauth2PermissionGrants", grant_entity(), &grant, &opts).await
}

pub(crate) async fn grant_create(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    h: HeaderMap,
    body: Bytes,
) -> Result<Response, GraphError> {
    let body = odata::object_body(&body)?;
    let grant = s.directory.create_permission_grant(&caller(&p, client_request_id(&h)), &body).await?;
    created(&s, "oauth2PermissionGrants", grant_entity(), &grant)
}

pub(crate) async fn grant_update(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    h: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, GraphError> {
    let body = odata::object_body(&body)?;
    s.directory.update_permission_grant(&caller(&p, client_request_id(&h)), &id, &body).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn grant_delete(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    h: HeaderMap,
) -> Result<StatusCode, GraphError> {
    s.directory.delete_permission_grant(&caller(&p, client_request_id(&h)), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
