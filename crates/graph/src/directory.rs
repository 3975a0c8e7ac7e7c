//! `/directory/deletedItems` and `/directoryObjects` routes, and the fallback for unknown paths.

use axum::Extension;
use axum::extract::{OriginalUri, Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use crate::error::GraphError;
use crate::lists::{self, Collection};
use crate::odata::{self, shape};
use crate::users::client_request_id;
use crate::{GraphState, Principal, caller};

fn deleted_collection(
    state: &GraphState,
    type_name: &'static str,
    types: &'static [&'static str],
) -> Collection<'static> {
    Collection {
        entity: cerulean_schema::entity(type_name).expect("declared"),
        types,
        scope: cerulean_store::Scope::Deleted,
        // Graph's examples give the entity set as the context of these lists.
        context: format!("{type_name}s"),
        path: format!("/{}/directory/deletedItems/microsoft.graph.{type_name}", state.version),
    }
}

pub(crate) async fn deleted_users(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    h: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    lists::list(&s, &p, &h, q.as_deref(), deleted_collection(&s, "user", &["user"])).await
}

pub(crate) async fn deleted_users_count(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    h: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    lists::count(&s, &p, &h, q.as_deref(), deleted_collection(&s, "user", &["user"])).await
}

pub(crate) async fn deleted_groups_count(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    h: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    lists::count(&s, &p, &h, q.as_deref(), deleted_collection(&s, "group", &["group"])).await
}

pub(crate) async fn deleted_groups(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    h: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    lists::list(&s, &p, &h, q.as_deref(), deleted_collection(&s, "group", &["group"])).await
}

pub(crate) async fn deleted_units(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    h: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    let coll = deleted_collection(&s, "administrativeUnit", &["administrativeUnit"]);
    lists::list(&s, &p, &h, q.as_deref(), coll).await
}

pub(crate) async fn deleted_units_count(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    h: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    let coll = deleted_collection(&s, "administrativeUnit", &["administrativeUnit"]);
    lists::count(&s, &p, &h, q.as_deref(), coll).await
}

fn typed_body(state: &GraphState, context: &str, record: &cerulean_store::ObjectRecord) -> Value {
    let entity = cerulean_schema::entity(&record.object_type)
        .or_else(|| cerulean_schema::entity("directoryObject"))
        .expect("directoryObject is declared");
    let mut body = serde_json::Map::new();
    body.insert("@odata.context".into(), json!(format!("{}/$metadata#{context}/$entity", state.base())));
    body.extend(shape(entity, record, None, true));
    Value::Object(body)
}

/// What is done to a deleted item.
#[derive(Clone, Copy, PartialEq, Eq)]
enum DeletedItemAccess {
    Read,
    Write,
}

/// The route's rule lets any type's permission in (`/directory/deletedItems/{id}` names no
/// type); the item's own type then decides, as each type's page of Graph documents it: a
/// caller holding only `AdministrativeUnit.ReadWrite.All` may not purge a user.
fn check_deleted_item_access(p: &Principal, object_type: &str, access: DeletedItemAccess) -> Result<(), GraphError> {
    let (read, write): (&[&str], &[&str]) = match object_type {
        "user" => (&["User.Read.All", "User.ReadWrite.All"], &["User.DeleteRestore.All", "User.ReadWrite.All"]),
        "group" => (&["Group.Read.All", "Group.ReadWrite.All"], &["Group.ReadWrite.All"]),
        "application" | "servicePrincipal" => {
            (&["Application.Read.All", "Application.ReadWrite.All"], &["Application.ReadWrite.All"])
        }
        "administrativeUnit" => (
            &["AdministrativeUnit.Read.All", "AdministrativeUnit.ReadWrite.All"],
            &["AdministrativeUnit.ReadWrite.All"],
        ),
        _ => (&[], &[]),
    };
    let (own, directory): (&[&str], &[&str]) = match access {
        DeletedItemAccess::Read => (read, &["Directory.Read.All", "Directory.ReadWrite.All"]),
        DeletedItemAccess::Write => (write, &["Directory.ReadWrite.All"]),
    };
    let allowed: Vec<&str> = own.iter().chain(directory).copied().collect();
    let held = if p.delegated { &p.scopes } else { &p.roles };
    if held.iter().any(|h| allowed.iter().any(|a| a.eq_ignore_ascii_case(h))) {
        Ok(())
    } else {
        Err(GraphError::new(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."))
    }
}

pub(crate) async fn get_deleted(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, GraphError> {
    let record = s.directory.get_deleted(p.tenant, &id).await?;
    check_deleted_item_access(&p, &record.object_type, DeletedItemAccess::Read)?;
    Ok(odata::json(StatusCode::OK, typed_body(&s, "directory/deletedItems", &record)))
}

pub(crate) async fn restore(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    h: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, GraphError> {
    // The body is optional; it may name a new UPN (`newUserPrincipalName`) and ask to drop
    // conflicting proxy addresses (`autoReconcileProxyConflict`, nothing to reconcile here:
    // users claim no proxy addresses).
    let mut new_upn = None;
    if !body.iter().all(u8::is_ascii_whitespace) {
        for (k, v) in odata::object_body(&body)? {
            match k.as_str() {
                "newUserPrincipalName" => {
                    new_upn = Some(v.as_str().map(str::to_string).ok_or_else(|| {
                        GraphError::bad_request("Invalid value specified for property 'newUserPrincipalName'.")
                    })?)
                }
                "autoReconcileProxyConflict" if v.is_boolean() => {}
                other => {
                    return Err(GraphError::bad_request(format!(
                        "The parameter '{other}' is not supported on restore."
                    )));
                }
            }
        }
    }
    let deleted = s.directory.get_deleted(p.tenant, &id).await?;
    check_deleted_item_access(&p, &deleted.object_type, DeletedItemAccess::Write)?;
    let record = s.directory.restore_deleted(&caller(&p, client_request_id(&h)), &id, new_upn.as_deref()).await?;
    Ok(odata::json(StatusCode::OK, typed_body(&s, "directoryObjects", &record)))
}

pub(crate) async fn purge_deleted(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    h: HeaderMap,
) -> Result<StatusCode, GraphError> {
    let record = s.directory.get_deleted(p.tenant, &id).await?;
    check_deleted_item_access(&p, &record.object_type, DeletedItemAccess::Write)?;
    s.directory.purge_deleted(&caller(&p, client_request_id(&h)), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn get_object(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, GraphError> {
    // The organization (id = the tenant's) is read whole: what is stored holds only what was
    // set, and nothing is stored before the first update.
    let record = if uuid::Uuid::parse_str(&id).ok() == Some(p.tenant) {
        s.directory.organization(p.tenant).await?
    } else {
        s.directory.find(p.tenant, "", &id).await?
    };
    Ok(odata::json(StatusCode::OK, typed_body(&s, "directoryObjects", &record)))
}

/// A known path with a method it does not take.
pub(crate) async fn method_not_allowed() -> GraphError {
    GraphError::new(405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.")
}

/// Anything the route table does not know.
pub(crate) async fn no_route(OriginalUri(uri): OriginalUri) -> GraphError {
    GraphError::no_route(uri.path())
}
