//! The store indexes the directory needs, derived from the schema: every filterable or
//! sortable scalar property of an entity type with an entity set, plus the lookups the
//! services themselves make (app-role assignments by principal).

use cerulean_schema::{EdmType, Flags};
use cerulean_store::{IndexSpec, PropPath, ValueKind};

/// How values of an EDM type compare in the store.
pub fn value_kind(ty: &EdmType) -> Option<ValueKind> {
    Some(match ty {
        EdmType::String | EdmType::Enum(_) => ValueKind::String,
        EdmType::Boolean => ValueKind::Bool,
        EdmType::Int32 | EdmType::Int64 | EdmType::Double => ValueKind::Number,
        EdmType::DateTimeOffset | EdmType::Date => ValueKind::DateTime,
        EdmType::Guid => ValueKind::Guid,
        EdmType::Binary | EdmType::Stream | EdmType::Complex(_) => return None,
    })
}

pub fn index_specs() -> Vec<IndexSpec> {
    let mut specs = Vec::new();
    for entity in cerulean_schema::entities::ALL {
        if entity.entity_set.is_none() || entity.name == "directoryObject" {
            continue;
        }
        for prop in entity.all_properties() {
            if prop.collection || prop.name == "id" || !(prop.is(Flags::FILTER) || prop.is(Flags::SORT)) {
                continue;
            }
            if let Some(kind) = value_kind(&prop.ty) {
                specs.push(IndexSpec { object_type: entity.name.to_string(), path: PropPath::of(prop.name), kind });
            }
        }
    }
    for path in ["principalId", "resourceId"] {
        specs.push(IndexSpec {
            object_type: "appRoleAssignment".into(),
            path: PropPath::of(path),
            kind: ValueKind::Guid,
        });
    }
    specs
}
