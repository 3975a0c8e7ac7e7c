//! `/users` routes.

use axum::Extension;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use cerulean_schema::EntityType;
use cerulean_store::{EdgeKind, Scope};
use serde_json::{Value, json};

use crate::error::GraphError;
use crate::lists::{self, Collection};
use crate::odata::{self, shape};
use crate::{GraphState, Principal};

pub(crate) fn user_entity() -> &'static EntityType {
    cerulean_schema::entity("user").expect("user is declared")
}

pub(crate) fn client_request_id(headers: &HeaderMap) -> Option<String> {
    headers.get("client-request-id").and_then(|v| v.to_str().ok()).map(|s| s.chars().take(128).collect())
}

/// A 201 with `Location` and the new object in the type's default shape.
pub(crate) fn created(
    state: &GraphState,
    set: &str,
    entity: &'static EntityType,
    record: &cerulean_store::ObjectRecord,
) -> Result<Response, GraphError> {
    let mut body = serde_json::Map::new();
    body.insert("@odata.context".into(), json!(odata::context(&state.base(), set, None, true)));
    let (entity, typed) = crate::lists::concrete(entity, record);
    body.extend(shape(entity, record, None, typed));
    let mut res = odata::json(StatusCode::CREATED, Value::Object(body));
    let location = format!("{}/{set}/{}", state.base(), record.id);
    if let Ok(v) = HeaderValue::from_str(&location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    Ok(res)
}

fn member_of_collection(state: &GraphState, id: uuid::Uuid, key: &str, suffix: &str) -> Collection<'static> {
    let groups_only = suffix.ends_with("microsoft.graph.group");
    Collection {
        entity: cerulean_schema::entity(if groups_only { "group" } else { "directoryObject" }).expect("declared"),
        types: if groups_only { &["group"] } else { &[] },
        scope: Scope::Related { kind: EdgeKind::Member, id, reverse: true },
        context: if groups_only { "groups" } else { "directoryObjects" }.into(),
        path: format!("/{}/users/{key}/memberOf{suffix}", state.version),
    }
}

/// The id of the live user named by `key` (an id or a UPN), for the `memberOf` routes: proved
/// live by the membership graph when it holds the user with an edge (no read and parse of the
/// user's document), else read from the store with `find`'s rules and errors.
async fn member_subject(state: &GraphState, p: &Principal, key: &str) -> Result<uuid::Uuid, GraphError> {
    Ok(state.directory.live_member_id(p.tenant, "user", key).await?)
}

pub(crate) async fn member_of(
    State(state): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(key): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    let user = member_subject(&state, &p, &key).await?;
    lists::list(&state, &p, &headers, q.as_deref(), member_of_collection(&state, user, &key, "")).await
}

pub(crate) async fn member_of_groups(
    State(state): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(key): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    let user = member_subject(&state, &p, &key).await?;
    let coll = member_of_collection(&state, user, &key, "/microsoft.graph.group");
    lists::list(&state, &p, &headers, q.as_deref(), coll).await
}

pub(crate) async fn member_of_count(
    State(state): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(key): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    let user = member_subject(&state, &p, &key).await?;
    lists::count(&state, &p, &headers, q.as_deref(), member_of_collection(&state, user, &key, "/$count")).await
}
