//! Directory roles on Graph: `/directoryRoleTemplates`, `/directoryRoles` (activation,
//! members `$ref`) and the unified RBAC API under `/roleManagement/directory`
//! (`roleDefinitions`, `roleAssignments`). The rules live in `cerulean_directory::roles`.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use cerulean_directory::roles::{self as rules, DIRECTORY_ROLE, ROLE_ASSIGNMENT, ROLE_DEFINITION, ROLE_TEMPLATE};
use cerulean_schema::EntityType;
use cerulean_store::{EdgeKind, Scope};
use serde_json::{Map, Value, json};

use crate::error::GraphError;
use crate::groups::reference_target;
use crate::lists::{self, Collection};
use crate::odata::{self, shape};
use crate::users::{client_request_id, created};
use crate::{GraphState, Principal, caller};

const DEFINITIONS: &str = "roleManagement/directory/roleDefinitions";
const ASSIGNMENTS: &str = "roleManagement/directory/roleAssignments";

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

// ---- roleManagement/directory/roleDefinitions -----------------------------------------------

/// `GET /roleManagement/directory/roleDefinitions` (`$filter`, `$select`, `$top`, `$count`).
pub(crate) async fn definitions(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    h: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    s.directory.ensure_role_definitions(p.tenant).await?;
    let coll = Collection {
        entity: entity(ROLE_DEFINITION),
        types: &[ROLE_DEFINITION],
        scope: Scope::Live,
        context: DEFINITIONS.into(),
        path: format!("/{}/{DEFINITIONS}", s.version),
    };
    lists::list(&s, &p, &h, q.as_deref(), coll).await
}

/// `GET /roleManagement/directory/roleDefinitions/{id}`.
pub(crate) async fn definition(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    h: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    let e = entity(ROLE_DEFINITION);
    let opts = lists::single_options(e, q.as_deref(), &h)?;
    let record = s.directory.find_role_definition(p.tenant, &id).await?;
    lists::single(&s, &p, DEFINITIONS, e, &record, &opts).await
}

/// `POST /roleManagement/directory/roleDefinitions`: a custom role; 201.
pub(crate) async fn create_definition(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    h: HeaderMap,
    body: Bytes,
) -> Result<Response, GraphError> {
    let body = odata::object_body(&body)?;
    let record = s.directory.create_role_definition(&caller(&p, client_request_id(&h)), &body).await?;
    created(&s, DEFINITIONS, entity(ROLE_DEFINITION), &record)
}

/// `PATCH /roleManagement/directory/roleDefinitions/{id}`: 204.
pub(crate) async fn update_definition(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    h: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, GraphError> {
    let body = odata::object_body(&body)?;
    s.directory.update_role_definition(&caller(&p, client_request_id(&h)), &id, &body).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /roleManagement/directory/roleDefinitions/{id}`: 204.
pub(crate) async fn delete_definition(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    h: HeaderMap,
) -> Result<StatusCode, GraphError> {
    s.directory.delete_role_definition(&caller(&p, client_request_id(&h)), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- roleManagement/directory/roleAssignments -----------------------------------------------

/// `GET /roleManagement/directory/roleAssignments` (`$filter` on `principalId`,
/// `roleDefinitionId`, `directoryScopeId`; `$expand=principal,roleDefinition`).
pub(crate) async fn assignments(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    h: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    let coll = Collection {
        entity: entity(ROLE_ASSIGNMENT),
        types: &[ROLE_ASSIGNMENT],
        scope: Scope::Live,
        context: ASSIGNMENTS.into(),
        path: format!("/{}/{ASSIGNMENTS}", s.version),
    };
    lists::list(&s, &p, &h, q.as_deref(), coll).await
}

/// `GET /roleManagement/directory/roleAssignments/{id}`.
pub(crate) async fn assignment(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    h: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    let e = entity(ROLE_ASSIGNMENT);
    let opts = lists::single_options(e, q.as_deref(), &h)?;
    let record = s.directory.find_role_assignment(p.tenant, &id).await?;
    lists::single(&s, &p, ASSIGNMENTS, e, &record, &opts).await
}

/// `POST /roleManagement/directory/roleAssignments`: 201.
pub(crate) async fn create_assignment(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    h: HeaderMap,
    body: Bytes,
) -> Result<Response, GraphError> {
    let body = odata::object_body(&body)?;
    let record = s.directory.create_role_assignment(&caller(&p, client_request_id(&h)), &body).await?;
    created(&s, ASSIGNMENTS, entity(ROLE_ASSIGNMENT), &record)
}

/// `DELETE /roleManagement/directory/roleAssignments/{id}`: 204.
pub(crate) async fn delete_assignment(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    h: HeaderMap,
) -> Result<StatusCode, GraphError> {
    s.directory.delete_role_assignment(&caller(&p, client_request_id(&h)), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
