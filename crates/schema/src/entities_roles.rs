//! Directory roles and the unified RBAC model: `directoryRoleTemplate`, `directoryRole` (in
//! `entities.rs`, where membership first needed it), `unifiedRoleDefinition`,
//! `unifiedRoleAssignment` and the `unifiedRolePermission` complex type. Names, EDM types and
//! nullability follow the Graph v1.0 CSDL (checked by `crates/schema/tests/reference.rs`); the
//! flags follow the "directoryRoleTemplate", "unifiedRoleDefinition" and "unifiedRoleAssignment"
//! resource pages (`$filter` on `displayName`, `isBuiltIn`, `templateId` of definitions and on
//! `principalId`, `roleDefinitionId`, `directoryScopeId` of assignments).

use crate::types::{ComplexType, EdmType as T, EntityType, Flags, NavProperty as Nav, Property as P};

macro_rules! fl {
    ($($f:ident),+) => { Flags(0 $(| $f.0)+) };
}

const NONE: Flags = Flags::NONE;
const Q: Flags = Flags::REQUIRED;
const R: Flags = Flags::READ_ONLY;
const F: Flags = Flags::FILTER;
const D: Flags = Flags::DEFAULT;
const N: Flags = Flags::NULLABLE;
const C: Flags = Flags::CREATE_ONLY;

const STR: T = T::String;
const BOOL: T = T::Boolean;

/// A built-in role as a template (`/directoryRoleTemplates`): read-only, the same in every
/// tenant; activating one creates its `directoryRole`.
pub static DIRECTORY_ROLE_TEMPLATE: EntityType = EntityType {
    name: "directoryRoleTemplate",
    base: Some("directoryObject"),
    entity_set: Some("directoryRoleTemplates"),
    properties: &[P::new("description", STR, fl!(N, R, D)), P::new("displayName", STR, fl!(N, R, D))],
    navigation: &[],
    is_abstract: false,
    open: true,
    inherited_defaults: &[],
};

/// A role definition of the unified RBAC API (`/roleManagement/directory/roleDefinitions`):
/// the built-in roles (id = template id) and the tenant's custom roles.
pub static UNIFIED_ROLE_DEFINITION: EntityType = EntityType {
    name: "unifiedRoleDefinition",
    base: None,
    entity_set: None,
    properties: &[
        // Declared on `graph.entity` in the CSDL.
        P::new("id", STR, fl!(R, F, D)),
        P::new("description", STR, fl!(N, F, D)),
        P::new("displayName", STR, fl!(N, F, D, Q)),
        P::new("isBuiltIn", BOOL, fl!(N, R, F, D)),
        P::new("isEnabled", BOOL, fl!(N, F, D)),
        P::collection("resourceScopes", STR, D),
        P::collection("rolePermissions", T::Complex("unifiedRolePermission"), fl!(D, Q)),
        P::new("templateId", STR, fl!(N, F, D, C)),
        P::new("version", STR, fl!(N, D)),
    ],
    navigation: &[Nav::many("inheritsPermissionsFrom", "unifiedRoleDefinition").contained()],
    is_abstract: false,
    open: false,
    inherited_defaults: &[],
};

/// A role assignment (`/roleManagement/directory/roleAssignments`): a principal holds a role
/// definition over a directory scope (`/`, `/administrativeUnits/{id}`).
pub static UNIFIED_ROLE_ASSIGNMENT: EntityType = EntityType {
    name: "unifiedRoleAssignment",
    base: None,
    entity_set: None,
    properties: &[
        P::new("id", STR, fl!(R, F, D)),
        P::new("appScopeId", STR, fl!(N, F, D, C)),
        P::new("condition", STR, fl!(N, D, C)),
        P::new("directoryScopeId", STR, fl!(N, F, D, C)),
        P::new("principalId", STR, fl!(N, F, D, Q, C)),
        P::new("principalOrganizationId", STR, fl!(N, R)),
        P::new("roleDefinitionId", STR, fl!(N, F, D, Q, C)),
    ],
    navigation: &[
        Nav::one("directoryScope", "directoryObject"),
        Nav::one("principal", "directoryObject"),
        Nav::one("roleDefinition", "unifiedRoleDefinition"),
    ],
    is_abstract: false,
    open: false,
    inherited_defaults: &[],
};

/// The permissions of a role definition: resource actions such as
/// `microsoft.directory/users/create`.
pub static UNIFIED_ROLE_PERMISSION: ComplexType = ComplexType {
    name: "unifiedRolePermission",
    base: None,
    properties: &[
        P::collection("allowedResourceActions", STR, NONE),
        P::new("condition", STR, N),
        P::collection("excludedResourceActions", STR, N),
    ],
    is_abstract: false,
    open: false,
};
