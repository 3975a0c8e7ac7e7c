//! `$expand` of directory relationships (members, owners, memberOf, manager, directReports,
//! and a role assignment's principal and roleDefinition):
//! each expanded object carries up to 20 related objects (Graph's limit for directory objects),
//! typed with `@odata.type` and shaped by a nested `$select`. Relationships this server does not hold yet are refused, not ignored.

use cerulean_query::Expand;
use cerulean_store::{EdgeKind, ListQuery, ObjectRecord, Scope};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::GraphState;
use crate::error::GraphError;
use crate::odata::shape;

/// Graph returns at most this many objects per expanded relationship.
pub(crate) const EXPAND_LIMIT: usize = 20;

/// The edge behind a navigation property, and whether it is walked backwards.
fn relation(property: &str) -> Option<(EdgeKind, bool)> {
    match property {
        "members" => Some((EdgeKind::Member, false)),
        "owners" => Some((EdgeKind::Owner, false)),
        "memberOf" => Some((EdgeKind::Member, true)),
        "manager" => Some((EdgeKind::Manager, false)),
        "directReports" => Some((EdgeKind::Manager, true)),
        _ => None,
    }
}

/// Relationships held as an id in the document rather than as edges (a role assignment's
/// `principal` and `roleDefinition`): the property holding the id.
fn reference(property: &str) -> Option<&'static str> {
    match property {
        "principal" => Some("principalId"),
        "roleDefinition" => Some("roleDefinitionId"),
        _ => None,
    }
}

/// Refuses expansions of relationships not served.
pub(crate) fn check(expands: &[Expand]) -> Result<(), GraphError> {
    for e in expands {
        if relation(&e.property).is_none() && reference(&e.property).is_none() && e.property != "extensions" {
            return Err(GraphError::new(
                400,
                "Request_UnsupportedQuery",
                format!("Expanding '{}' is not supported by this server yet.", e.property),
            ));
        }
    }
    Ok(())
}

/// Adds each expanded relationship of `record` to its rendered `out`.
pub(crate) async fn expand_into(
    state: &GraphState,
    principal: &crate::Principal,
    record: &ObjectRecord,
    expands: &[Expand],
    out: &mut Map<String, Value>,
) -> Result<(), GraphError> {
    let tenant = principal.tenant;
    for e in expands {
        if e.property == "extensions" {
            // Open extensions (users, groups), all of them: an object holds two at most.
            let found = state.directory.open_extensions_of(tenant, record.id).await?;
            let items = found.iter().map(|r| Value::Object(crate::open_extensions::shape(r))).collect();
            out.insert("extensions".into(), Value::Array(items));
            continue;
        }
        if let Some(field) = reference(&e.property) {
            let id = record.doc.get(field).and_then(Value::as_str).and_then(|s| Uuid::parse_str(s).ok());
            let target = match id {
                Some(id) => state.directory.get(tenant, id).await?,
                None => None,
            };
            if let Some(r) = target
                && let Some(entity) = cerulean_schema::entity(&r.object_type)
            {
                let mut item = shape(entity, &r, e.select.as_deref(), true);
                crate::csa::redact(principal, &mut item);
                out.insert(e.property.clone(), Value::Object(item));
            }
            continue;
        }
        let Some((kind, reverse)) = relation(&e.property) else { continue };
        let mut query = ListQuery::new(&[], Scope::Related { kind, id: record.id, reverse });
        query.top = EXPAND_LIMIT;
        let page = state.directory.list(tenant, &query).await?;
        let mut items: Vec<Value> = page
            .items
            .iter()
            .map(|r: &ObjectRecord| {
                let entity = cerulean_schema::entity(&r.object_type)
                    .or_else(|| cerulean_schema::entity("directoryObject"))
                    .expect("directoryObject is declared");
                let mut item = shape(entity, r, e.select.as_deref(), true);
                crate::csa::redact(principal, &mut item);
                Value::Object(item)
            })
            .collect();
        if e.collection {
            out.insert(e.property.clone(), Value::Array(items));
        } else if !items.is_empty() {
            // A single-valued relationship (`manager`) is the object itself; without one the
            // property is left out, as Graph does.
            out.insert(e.property.clone(), items.swap_remove(0));
        }
    }
    Ok(())
}
