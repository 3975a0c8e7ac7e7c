//! Directory roles on Graph: `/directoryRoleTemplates`, `/directoryRoles` (activation,
//! members `$ref`) and the unified RBAC API under `/roleManagement/directory`
//! (`roleDefinitions`, `roleAssignments`). The rules live in `cerulean_directory::roles`.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use cerulean_directory::roles::{self as rules, DIRECTORY_ROLE, ROLE_TEMPLATE};
use cerulean_schema::EntityType;
use cerulean_store::{EdgeKind, Scope};
use serde_json::{Map, Value, json};

use crate::error::GraphError;
use crate::groups::reference_target;
use crate::lists::{self, Collection};
use crate::odata::{self, shape};
use crate::related::{Relation, relation_routes};
use crate::users::{client_request_id, created};
use crate::{GraphState, Principal, caller};

fn entity(name: &str) -> &'static EntityType {
    cerulean_schema::entity(name).expect("role entity types are declared")
}

// ---- directoryRoleTemplates -----------------------------------------------------------------

/// `GET /directoryRoleTemplates`: the built-in roles (`$select` applies).
pub(crate) async fn templates(
    State(s): State<GraphState>,
    h: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    let e = entity(ROLE_TEMPLATE);
    let opts = lists::single_options(e, q.as_deref(), &h)?;
    let select = opts.select.as_deref();
    let items: Vec<Value> = rules::role_templates().iter().map(|r| Value::Object(shape(e, r, select, false))).collect();
    let mut body = Map::new();
    body.insert("@odata.context".into(), json!(odata::context(&s.base(), "directoryRoleTemplates", select, false)));
    body.insert("value".into(), Value::Array(items));
    Ok(odata::json(StatusCode::OK, Value::Object(body)))
}

/// `GET /directoryRoleTemplates/{id}`.
pub(crate) async fn template(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    h: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    let e = entity(ROLE_TEMPLATE);
    let opts = lists::single_options(e, q.as_deref(), &h)?;
    let record = rules::role_template(&id)?;
    lists::single(&s, &p, "directoryRoleTemplates", e, &record, &opts).await
}

// ---- directoryRoles -------------------------------------------------------------------------

/// `GET /directoryRoles`: the roles activated in the tenant.
pub(crate) async fn roles(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    h: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    let coll = Collection {
        entity: entity(DIRECTORY_ROLE),
        types: &[DIRECTORY_ROLE],
        scope: Scope::Live,
        context: "directoryRoles".into(),
        path: format!("/{}/directoryRoles", s.version),
    };
    lists::list(&s, &p, &h, q.as_deref(), coll).await
}

/// `POST /directoryRoles` with `roleTemplateId`: 201 and the activated role.
pub(crate) async fn activate(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    h: HeaderMap,
    body: Bytes,
) -> Result<Response, GraphError> {
    let body = odata::object_body(&body)?;
    let record = s.directory.activate_directory_role(&caller(&p, client_request_id(&h)), &body).await?;
    created(&s, "directoryRoles", entity(DIRECTORY_ROLE), &record)
}

/// `GET /directoryRoles/{id}` (also `directoryRoles(roleTemplateId='...')`).
pub(crate) async fn role(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    h: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    let e = entity(DIRECTORY_ROLE);
    let opts = lists::single_options(e, q.as_deref(), &h)?;
    let record = s.directory.find_directory_role(p.tenant, &id).await?;
    lists::single(&s, &p, "directoryRoles", e, &record, &opts).await
}

/// `GET /directoryRoles/{id}/members`.
pub(crate) async fn members(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    h: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    let role = s.directory.find_directory_role(p.tenant, &id).await?;
    let coll = Collection {
        entity: entity("directoryObject"),
        types: &[],
        scope: Scope::Related { kind: EdgeKind::Member, id: role.id, reverse: false },
        context: "directoryObjects".into(),
        path: format!("/{}/directoryRoles/{id}/members", s.version),
    };
    lists::list(&s, &p, &h, q.as_deref(), coll).await
}

/// `POST /directoryRoles/{id}/members/$ref`: 204.
pub(crate) async fn add_member(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    h: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, GraphError> {
    let target = reference_target(&body)?;
    s.directory.add_directory_role_member(&caller(&p, client_request_id(&h)), &id, target).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /directoryRoles/{id}/members/{memberId}/$ref`: 204.
pub(crate) async fn remove_member(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path((id, member)): Path<(String, String)>,
    h: HeaderMap,
) -> Result<StatusCode, GraphError> {
    s.directory.remove_directory_role_member(&caller(&p, client_request_id(&h)), &id, &member).await?;
    Ok(StatusCode::NO_CONTENT)
}

// roleManagement/directory/roleDefinitions and roleAssignments are entity sets
// (`crate::entity_sets::{RoleDefinitions, RoleAssignments}`).

// ---- memberOf cast to directoryRole ----------------------------------------------------------

/// `memberOf` of a role holder, whatever its type: a directory role's members are `Member`
/// edges from the role (kept in step with directory-wide role assignments).
const MEMBER_OF_ROLES: Relation = Relation {
    set: "users",
    object_type: "user",
    kind: EdgeKind::Member,
    reverse: true,
    segment: "memberOf/microsoft.graph.directoryRole",
    cast: Some(DIRECTORY_ROLE),
    types: &[],
    count: false,
};
const COUNT: &str = "memberOf/microsoft.graph.directoryRole/$count";

relation_routes! {
    user_member_of_roles => MEMBER_OF_ROLES;
    user_member_of_roles_count => Relation { segment: COUNT, count: true, ..MEMBER_OF_ROLES };
    group_member_of_roles => Relation { set: "groups", object_type: "group", ..MEMBER_OF_ROLES };
    group_member_of_roles_count =>
        Relation { set: "groups", object_type: "group", segment: COUNT, count: true, ..MEMBER_OF_ROLES };
    sp_member_of_roles => Relation { set: "servicePrincipals", object_type: "servicePrincipal", ..MEMBER_OF_ROLES };
    sp_member_of_roles_count => Relation {
        set: "servicePrincipals",
        object_type: "servicePrincipal",
        segment: COUNT,
        count: true,
        ..MEMBER_OF_ROLES
    };
}
