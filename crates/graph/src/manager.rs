//! `/users/{id}/manager`, `/users/{id}/manager/$ref` and `/users/{id}/directReports`.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use cerulean_directory::{DirectoryError, NO_MANAGER};
use cerulean_store::{EdgeKind, Scope};
use serde_json::{Map, Value, json};

use crate::error::GraphError;
use crate::lists::{self, Collection};
use crate::odata::{self, shape};
use crate::users::client_request_id;
use crate::{GraphState, Principal, caller};

fn directory_object() -> &'static cerulean_schema::EntityType {
    cerulean_schema::entity("directoryObject").expect("directoryObject is declared")
}

/// `GET /users/{id}/manager`: the manager as a `directoryObjects/$entity` with its
/// `@odata.type`, `$select` applied; 404 with Graph's message when there is none.
pub(crate) async fn get_manager(
    State(state): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(key): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    // Managers are users (contacts join later), so `$select` is checked against user.
    let opts = lists::single_options(crate::users::user_entity(), q.as_deref(), &headers)?;
    let Some(manager) = state.directory.manager(p.tenant, &key).await? else {
        return Err(DirectoryError::NotFound { message: NO_MANAGER.into() }.into());
    };
    let entity = cerulean_schema::entity(&manager.object_type).unwrap_or(directory_object());
    let select = opts.select.as_deref();
    let mut body = Map::new();
    body.insert("@odata.context".into(), json!(odata::context(&state.base(), "directoryObjects", select, true)));
    body.extend(shape(entity, &manager, select, true));
    crate::csa::redact(&p, &mut body);
    Ok(odata::json(StatusCode::OK, Value::Object(body)))
}

/// `PUT /users/{id}/manager/$ref` with `{"@odata.id": ".../users/{managerId}"}`: 204.
pub(crate) async fn put_manager(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(key): Path<String>,
    h: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, GraphError> {
    let target = crate::groups::reference_target(&body)?;
    s.directory.set_manager(&caller(&p, client_request_id(&h)), &key, target).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /users/{id}/manager/$ref`: 204.
pub(crate) async fn delete_manager(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(key): Path<String>,
    h: HeaderMap,
) -> Result<StatusCode, GraphError> {
    s.directory.remove_manager(&caller(&p, client_request_id(&h)), &key).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /users/{id}/directReports`: the users whose manager this user is.
pub(crate) async fn direct_reports(
    State(state): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(key): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    let user = state.directory.find(p.tenant, "user", &key).await?;
    let coll = Collection {
        entity: directory_object(),
        types: &[],
        scope: Scope::Related { kind: EdgeKind::Manager, id: user.id, reverse: true },
        context: "directoryObjects".into(),
        path: format!("/{}/users/{key}/directReports", state.version),
    };
    lists::list(&state, &p, &headers, q.as_deref(), coll).await
}
