//! One implementation of "the objects related to an object of a set by one kind of edge"
//! (`/devices/{id}/registeredOwners`, `/contacts/{id}/memberOf`,
//! `/directory/administrativeUnits/{id}/members/microsoft.graph.user/$count`, ...), and of the
//! `$ref` bodies and path keys those relationships take.

use axum::http::HeaderMap;
use axum::response::Response;
use cerulean_schema::EntityType;
use cerulean_store::{EdgeKind, Scope};

use crate::error::GraphError;
use crate::lists::{self, Collection};
use crate::{GraphState, Principal};

/// One relationship route.
#[derive(Clone, Copy)]
pub(crate) struct Relation {
    /// The set the subject is in, as in URLs (`devices`, `directory/administrativeUnits`).
    pub set: &'static str,
    /// The subject's object type (`device`).
    pub object_type: &'static str,
    pub kind: EdgeKind,
    /// `memberOf` and `directReports` walk edges backwards.
    pub reverse: bool,
    /// The path after `/{set}/{id}/`, for the next link (`registeredOwners/$count`).
    pub segment: &'static str,
    /// A type cast (`device`), or every type.
    pub cast: Option<&'static str>,
    /// Object types the relationship holds when not cast (empty: any).
    pub types: &'static [&'static str],
    /// The `/$count` segment.
    pub count: bool,
}

/// The entity and `@odata.context` of a collection cast to `object_type`.
pub(crate) fn cast_entity(object_type: &str) -> Result<(&'static EntityType, String), GraphError> {
    let entity = cerulean_schema::entity(object_type)
        .ok_or_else(|| GraphError::new(500, "InternalServerError", format!("'{object_type}' is not declared")))?;
    let context = match entity.name {
        "administrativeUnit" => "administrativeUnits".to_string(),
        _ => entity.entity_set.unwrap_or("directoryObjects").to_string(),
    };
    Ok((entity, context))
}

/// Serves one relationship route.
pub(crate) async fn related(
    state: &GraphState,
    p: &Principal,
    headers: &HeaderMap,
    q: Option<&str>,
    key: &str,
    r: Relation,
) -> Result<Response, GraphError> {
    let subject = state.directory.find_in_set(p.tenant, r.object_type, key).await?;
    let (entity, context, types): (_, _, &[&str]) = match r.cast {
        Some(t) => {
            let (entity, context) = cast_entity(t)?;
            (entity, context, std::slice::from_ref(&entity.name))
        }
        None => (cast_entity("directoryObject")?.0, "directoryObjects".to_string(), r.types),
    };
    let coll = Collection {
        entity,
        types,
        scope: Scope::Related { kind: r.kind, id: subject.id, reverse: r.reverse },
        context,
        path: format!("/{}/{}/{key}/{}", state.version, r.set, r.segment),
    };
    if r.count { lists::count(state, p, headers, q, coll).await } else { lists::list(state, p, headers, q, coll).await }
}

/// Declares one GET handler per relationship route.
macro_rules! relation_routes {
    ($($name:ident => $relation:expr;)*) => {$(
        pub(crate) async fn $name(
            axum::extract::State(s): axum::extract::State<crate::GraphState>,
            axum::Extension(p): axum::Extension<crate::Principal>,
            axum::extract::Path(id): axum::extract::Path<String>,
            h: axum::http::HeaderMap,
            axum::extract::RawQuery(q): axum::extract::RawQuery,
        ) -> Result<axum::response::Response, crate::error::GraphError> {
            crate::related::related(&s, &p, &h, q.as_deref(), &id, $relation).await
        }
    )*};
}
pub(crate) use relation_routes;

/// The object named by a path segment of a `.../{id}/$ref` route (an unknown form is a 404).
pub(crate) fn path_target(key: &str) -> Result<uuid::Uuid, GraphError> {
    uuid::Uuid::parse_str(key).map_err(|_| GraphError::not_found(key))
}
