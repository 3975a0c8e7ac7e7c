//! `/contacts` routes beyond the standard entity-set ones (which serve no `POST`: contacts are
//! not creatable through Graph, so the method is not allowed): `manager`, `directReports`,
//! `memberOf`. Transitive membership and the membership actions are in [`crate::membership`].

use axum::Extension;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use cerulean_directory::{DirectoryError, NO_MANAGER};
use cerulean_store::EdgeKind;
use serde_json::{Map, Value, json};

use crate::error::GraphError;
use crate::lists;
use crate::odata::{self, shape};
use crate::related::{Relation, relation_routes};
use crate::{GraphState, Principal};

const MEMBER_OF: Relation = Relation {
    set: "contacts",
    object_type: "orgContact",
    kind: EdgeKind::Member,
    reverse: true,
    segment: "memberOf",
    cast: None,
    types: &[],
    count: false,
};

relation_routes! {
    member_of => MEMBER_OF;
    member_of_count => Relation { segment: "memberOf/$count", count: true, ..MEMBER_OF };
    member_of_groups => Relation { segment: "memberOf/microsoft.graph.group", cast: Some("group"), ..MEMBER_OF };
    direct_reports => Relation { kind: EdgeKind::Manager, segment: "directReports", ..MEMBER_OF };
}

/// `GET /contacts/{id}/manager`: the manager as a `directoryObjects/$entity`; 404 with Graph's
/// message when there is none.
pub(crate) async fn manager(
    State(state): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(key): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    let contact = state.directory.find(p.tenant, "orgContact", &key).await?;
    let Some(manager) = state.directory.manager_of(p.tenant, contact.id).await? else {
        return Err(DirectoryError::NotFound { message: NO_MANAGER.into() }.into());
    };
    let entity = cerulean_schema::entity(&manager.object_type)
        .ok_or_else(|| GraphError::new(500, "InternalServerError", "undeclared manager type"))?;
    let opts = lists::single_options(entity, q.as_deref(), &headers)?;
    let select = opts.select.as_deref();
    let mut body = Map::new();
    body.insert("@odata.context".into(), json!(odata::context(&state.base(), "directoryObjects", select, true)));
    body.extend(shape(entity, &manager, select, true));
    crate::csa::redact(&p, &mut body);
    Ok(odata::json(StatusCode::OK, Value::Object(body)))
}
