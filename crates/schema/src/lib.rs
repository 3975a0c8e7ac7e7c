//! The schema layer: every directory entity type is declared here once.
//!
//! A declaration lists each property with its Graph v1.0 name, its EDM type and its flags
//! (required on create, read-only, filterable, sortable, returned by default, and its Azure AD
//! Graph 1.6 name where that differs). Validation, `$select`/`$filter` typing, the `$metadata`
//! CSDL and the 1.6 <-> v1.0 mapping are all derived from these tables, so adding an entity type
//! is a declaration plus its special behaviour, not a new stack of code.

mod csdl;
mod types;

pub mod entities;
mod entities_apps;
mod entities_conditional_access;
mod entities_directory;
mod entities_licences;
mod entities_policies;
mod entities_roles;
pub mod permissions;
mod permissions_graph;

pub use csdl::csdl_document;
pub use permissions::{MICROSOFT_GRAPH_APP_ID, Permission};
pub use types::*;

/// Looks up an entity type by its Graph name (`user`, `group`, `directoryObject`, ...).
pub fn entity(name: &str) -> Option<&'static EntityType> {
    entities::ALL.iter().copied().find(|e| e.name.eq_ignore_ascii_case(name))
}

/// Looks up a complex type by its Graph name (`passwordProfile`, `assignedLicense`, ...).
pub fn complex(name: &str) -> Option<&'static ComplexType> {
    entities::COMPLEX.iter().copied().find(|c| c.name.eq_ignore_ascii_case(name))
}

/// Looks up an enum type by its Graph name.
pub fn enumeration(name: &str) -> Option<&'static EnumType> {
    entities::ENUMS.iter().copied().find(|c| c.name.eq_ignore_ascii_case(name))
}
