//! `/users` routes.

use axum::Extension;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use cerulean_directory::membership::Direction;
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

fn member_of_collection(state: &GraphState, scope: Scope, key: &str, suffix: &str) -> Collection<'static> {
    let groups_only = suffix.ends_with("microsoft.graph.group");
    Collection {
        entity: cerulean_schema::entity(if groups_only { "group" } else { "directoryObject" }).expect("declared"),
        types: if groups_only { &["group"] } else { &[] },
        scope,
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
    member_of_list(&state, &p, &headers, q.as_deref(), &key, "").await
}

/// A `memberOf` page: the user's direct containers come from the directory's membership graph
/// (current with the change log, see [`cerulean_directory::membership`]), and a page without
/// query options is served from the renderings the graph keeps, as `transitiveMemberOf` is
/// ([`lists::list_reach`]): no store read of the edges, nor of documents served before.
async fn member_of_list(
    state: &GraphState,
    p: &Principal,
    headers: &HeaderMap,
    q: Option<&str>,
    key: &str,
    suffix: &str,
) -> Result<Response, GraphError> {
    let coll = member_of_collection(state, Scope::Live, key, suffix);
    let (ids, seen_at) = state.directory.direct_ids_at(p.tenant, "user", key, Direction::MemberOf, coll.types).await?;
    let coll = Collection { scope: Scope::Among(ids), ..coll };
    lists::list_reach(state, p, headers, q, coll, seen_at).await
}

pub(crate) async fn member_of_groups(
    State(state): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(key): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    member_of_list(&state, &p, &headers, q.as_deref(), &key, "/microsoft.graph.group").await
}

pub(crate) async fn member_of_count(
    State(state): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(key): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    let user = member_subject(&state, &p, &key).await?;
    let scope = Scope::Related { kind: EdgeKind::Member, id: user, reverse: true };
    lists::count(&state, &p, &headers, q.as_deref(), member_of_collection(&state, scope, &key, "/$count")).await
}
