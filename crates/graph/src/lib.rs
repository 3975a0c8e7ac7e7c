//! The Microsoft Graph front-end (`/v1.0`, `/beta`). It translates Graph's wire shapes to and
//! from the directory model: requests become [`Directory`] calls and query plans, records
//! become OData JSON. It never touches the store.

mod administrative_units;
mod applications;
mod audit_logs;
mod auth;
mod auth_methods;
pub mod authz_supplement;
pub mod authz_table;
pub mod batch;
mod custom_security_attributes;
use custom_security_attributes as csa;
mod contacts;
mod delegated;
mod delta;
mod devices;
mod directory;
pub mod emulator;
mod entity_sets;
mod error;
mod expand;
mod extensions;
mod groups;
mod identity_protection;
mod invitations;
mod licences;
mod lists;
mod log_filter;
pub mod managed_identities;
mod manager;
mod me;
mod membership;
mod metadata;
// Organization and domains (issue 4).
pub mod odata;
mod open_extensions;
mod organization;
mod photos;
mod related;
mod rendered;
mod roles;
#[cfg(test)]
mod route_coverage;
mod schema_extensions;
mod service_principals;
mod signing_keys;
pub mod throttle;
mod token_policies;
mod users;

use std::sync::Arc;

use axum::Router;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{get, post, put};
use cerulean_directory::{Caller, Directory};
use cerulean_identity::tokens::TokenIssuer;
use cerulean_store::Actor;

pub use auth::{Principal, PrincipalCache};
use entity_sets::{
    self as sets, AdministrativeUnits, Applications, ClaimsMappingPolicies, ConditionalAccessPolicies, Contacts,
    Contracts, Devices, Groups, NamedLocations, RoleAssignments, RoleDefinitions, ServicePrincipals,
    TokenLifetimePolicies, Users,
};
pub use error::GraphError;
use identity_protection::{RiskySps, RiskyUsers};
pub use rendered::RenderedCache;
pub use signing_keys::{AdminState, admin_router};
use token_policies::{ClaimsMapping, OnApplication, OnServicePrincipal, TokenLifetime};

/// What every Graph handler needs: [`GraphStateParts`] behind one `Arc`. Axum clones a
/// handler's state for every extractor of every request; cloned field by field (the directory
/// alone holds a dozen `Arc`s) the clones and their drops were ~9% of the server's samples in
/// the `GET /users/{id}` profile (issue 8, BENCHMARKS.md), the reference counts bouncing
/// between the cores. One reference count now.
#[derive(Clone)]
pub struct GraphState(Arc<GraphStateParts>);

impl From<GraphStateParts> for GraphState {
    fn from(parts: GraphStateParts) -> Self {
        GraphState(Arc::new(parts))
    }
}

impl std::ops::Deref for GraphState {
    type Target = GraphStateParts;
    fn deref(&self) -> &GraphStateParts {
        &self.0
    }
}

/// The parts of [`GraphState`].
pub struct GraphStateParts {
    pub directory: Directory,
    pub tokens: Arc<TokenIssuer>,
    /// The externally visible base URL (`https://127.0.0.1:8443`), without a trailing slash.
    pub public_url: Arc<str>,
    /// `v1.0` or `beta`.
    pub version: &'static str,
    /// Authenticated principals by token; shared by the versions of one server.
    pub principals: Arc<PrincipalCache>,
    /// Resource-unit budgets per app and tenant (see [`throttle`]); `None`, the default, serves
    /// without limits. Shared by the versions of one server, like Graph's budget.
    pub throttle: Option<Arc<throttle::Throttle>>,
    /// Rendered default-shape bodies of single objects, revalidated on every read (see
    /// [`rendered`]); shared by the versions of one server.
    pub rendered: Arc<RenderedCache>,
}

impl GraphState {
    /// `{public_url}/{version}`: the base of `@odata.context` and links.
    pub fn base(&self) -> String {
        format!("{}/{}", self.public_url, self.version)
    }
}

/// The Graph routes for one version, to be nested under `/v1.0` or `/beta`.
pub fn router(state: GraphState) -> Router {
    let protected = Router::new()
        .route("/users", get(sets::list::<Users>).post(sets::create::<Users>))
        .route("/users/$count", get(sets::count::<Users>))
        .route("/users/delta", get(delta::delta::<Users>))
        .route("/users/delta()", get(delta::delta::<Users>))
        .route("/users/microsoft.graph.delta()", get(delta::delta::<Users>))
        .route("/users/{id}", get(sets::get_one::<Users>).patch(sets::update::<Users>).delete(sets::delete::<Users>))
        .route("/users/{id}/memberof", get(users::member_of))
        .route("/users/{id}/memberof/$count", get(users::member_of_count))
        .route("/users/{id}/memberof/microsoft.graph.group", get(users::member_of_groups))
        .route("/users/{id}/transitivememberof", get(membership::user_member_of))
        .route("/users/{id}/transitivememberof/$count", get(membership::user_member_of_count))
        .route("/users/{id}/transitivememberof/microsoft.graph.group", get(membership::user_member_of_groups))
        .route(
            "/users/{id}/transitivememberof/microsoft.graph.group/$count",
            get(membership::user_member_of_groups_count),
        )
        .route("/users/{id}/checkmembergroups", post(membership::user_check_member_groups))
        .route("/users/{id}/getmembergroups", post(membership::user_get_member_groups))
        .route("/users/{id}/checkmemberobjects", post(membership::user_check_member_objects))
        .route("/users/{id}/getmemberobjects", post(membership::user_get_member_objects))
        .route("/users/{id}/manager", get(manager::get_manager))
        .route("/users/{id}/manager/$ref", put(manager::put_manager).delete(manager::delete_manager))
        .route("/users/{id}/directreports", get(manager::direct_reports))
        .route("/users/{id}/revokesigninsessions", post(me::revoke_sign_in_sessions))
        .route("/groups", get(sets::list::<Groups>).post(sets::create::<Groups>))
        .route("/groups/$count", get(sets::count::<Groups>))
        .route("/groups/delta", get(delta::delta::<Groups>))
        .route("/groups/delta()", get(delta::delta::<Groups>))
        .route("/groups/microsoft.graph.delta()", get(delta::delta::<Groups>))
        .route(
            "/groups/{id}",
            get(sets::get_one::<Groups>).patch(sets::update::<Groups>).delete(sets::delete::<Groups>),
        )
        .route("/groups/{id}/members", get(groups::members))
        .route("/groups/{id}/members/$count", get(groups::members_count))
        .route("/groups/{id}/members/microsoft.graph.user", get(groups::members_users))
        .route("/groups/{id}/members/microsoft.graph.group", get(groups::members_groups))
        .route("/groups/{id}/members/$ref", post(groups::add_member))
        .route("/groups/{id}/members/{member}/$ref", axum::routing::delete(groups::remove_member))
        .route("/groups/{id}/owners", get(groups::owners))
        .route("/groups/{id}/owners/$count", get(groups::owners_count))
        .route("/groups/{id}/memberof/$count", get(groups::member_of_count))
        .route("/groups/{id}/owners/$ref", post(groups::add_owner))
        .route("/groups/{id}/owners/{owner}/$ref", axum::routing::delete(groups::remove_owner))
        .route("/groups/{id}/memberof", get(groups::member_of))
        .route("/groups/{id}/memberof/microsoft.graph.group", get(groups::member_of_groups))
        .route("/groups/{id}/owners/microsoft.graph.user", get(groups::owners_users))
        .route("/groups/{id}/transitivememberof", get(membership::group_member_of))
        .route("/groups/{id}/transitivememberof/$count", get(membership::group_member_of_count))
        .route("/groups/{id}/transitivememberof/microsoft.graph.group", get(membership::group_member_of_groups))
        .route(
            "/groups/{id}/transitivememberof/microsoft.graph.group/$count",
            get(membership::group_member_of_groups_count),
        )
        .route("/groups/{id}/transitivemembers", get(membership::group_members))
        .route("/groups/{id}/transitivemembers/$count", get(membership::group_members_count))
        .route("/groups/{id}/transitivemembers/microsoft.graph.user", get(membership::group_members_users))
        .route("/groups/{id}/transitivemembers/microsoft.graph.user/$count", get(membership::group_members_users_count))
        .route("/groups/{id}/transitivemembers/microsoft.graph.group", get(membership::group_members_groups))
        .route(
            "/groups/{id}/transitivemembers/microsoft.graph.group/$count",
            get(membership::group_members_groups_count),
        )
        .route("/groups/{id}/checkmembergroups", post(membership::group_check_member_groups))
        .route("/groups/{id}/getmembergroups", post(membership::group_get_member_groups))
        .route("/groups/{id}/checkmemberobjects", post(membership::group_check_member_objects))
        .route("/groups/{id}/getmemberobjects", post(membership::group_get_member_objects))
        .route("/directory/deleteditems/microsoft.graph.user", get(directory::deleted_users))
        .route("/directory/deleteditems/microsoft.graph.user/$count", get(directory::deleted_users_count))
        .route("/directory/deleteditems/microsoft.graph.group", get(directory::deleted_groups))
        .route("/directory/deleteditems/microsoft.graph.group/$count", get(directory::deleted_groups_count))
        .route("/directory/deleteditems/{id}", get(directory::get_deleted).delete(directory::purge_deleted))
        .route("/directory/deleteditems/{id}/restore", post(directory::restore))
        .route("/directoryobjects/{id}", get(directory::get_object))
        // Applications, service principals, app role assignments, delegated grants (issue 3).
        .route("/applications", get(sets::list::<Applications>).post(sets::create::<Applications>))
        .route("/applications/$count", get(sets::count::<Applications>))
        .route(
            "/applications/{id}",
            get(sets::get_one::<Applications>).patch(sets::update::<Applications>).delete(sets::delete::<Applications>),
        )
        .route("/applications/{id}/owners", get(applications::owners))
        .route("/applications/{id}/owners/$ref", post(applications::add_owner))
        .route("/applications/{id}/owners/{owner}/$ref", axum::routing::delete(applications::remove_owner))
        .route("/applications/{id}/addpassword", post(applications::add_password))
        .route("/applications/{id}/removepassword", post(applications::remove_password))
        .route("/applications/{id}/addkey", post(applications::add_key))
        .route("/applications/{id}/removekey", post(applications::remove_key))
        .route("/serviceprincipals/{id}/addkey", post(applications::sp_add_key))
        .route("/serviceprincipals/{id}/removekey", post(applications::sp_remove_key))
        .route(
            "/applications/{id}/federatedidentitycredentials",
            get(applications::fics).post(applications::fic_create),
        )
        .route(
            "/applications/{id}/federatedidentitycredentials/{fic}",
            get(applications::fic_get).patch(applications::fic_update).delete(applications::fic_delete),
        )
        .route("/serviceprincipals", get(sets::list::<ServicePrincipals>).post(sets::create::<ServicePrincipals>))
        .route("/serviceprincipals/$count", get(sets::count::<ServicePrincipals>))
        .route(
            "/serviceprincipals/{id}",
            get(sets::get_one::<ServicePrincipals>)
                .patch(sets::update::<ServicePrincipals>)
                .delete(sets::delete::<ServicePrincipals>),
        )
        .route("/serviceprincipals/{id}/owners", get(service_principals::owners))
        .route("/serviceprincipals/{id}/owners/$ref", post(service_principals::add_owner))
        .route("/serviceprincipals/{id}/owners/{owner}/$ref", axum::routing::delete(service_principals::remove_owner))
        .route(
            "/serviceprincipals/{id}/approleassignedto",
            get(service_principals::assigned_to).post(service_principals::assign_to),
        )
        .route(
            "/serviceprincipals/{id}/approleassignedto/{assignment}",
            axum::routing::delete(service_principals::unassign_to),
        )
        .route(
            "/serviceprincipals/{id}/approleassignments",
            get(service_principals::sp_assignments).post(service_principals::sp_assign),
        )
        .route(
            "/serviceprincipals/{id}/approleassignments/{assignment}",
            axum::routing::delete(service_principals::sp_unassign),
        )
        .route(
            "/users/{id}/approleassignments",
            get(service_principals::user_assignments).post(service_principals::user_assign),
        )
        .route("/users/{id}/approleassignments/{assignment}", axum::routing::delete(service_principals::user_unassign))
        .route(
            "/groups/{id}/approleassignments",
            get(service_principals::group_assignments).post(service_principals::group_assign),
        )
        .route(
            "/groups/{id}/approleassignments/{assignment}",
            axum::routing::delete(service_principals::group_unassign),
        )
        .route("/oauth2permissiongrants", get(service_principals::grants).post(service_principals::grant_create))
        .route(
            "/oauth2permissiongrants/{id}",
            get(service_principals::grant_get)
                .patch(service_principals::grant_update)
                .delete(service_principals::grant_delete),
        )
        .route("/directory/deleteditems/microsoft.graph.application", get(applications::deleted_applications))
        .route(
            "/directory/deleteditems/microsoft.graph.serviceprincipal",
            get(applications::deleted_service_principals),
        )
        .route("/directoryobjects/getbyids", post(membership::get_by_ids))
        .route("/directoryobjects/validateproperties", post(membership::validate_properties))
        .route("/directoryobjects/{id}/checkmembergroups", post(membership::object_check_member_groups))
        .route("/directoryobjects/{id}/getmembergroups", post(membership::object_get_member_groups))
        .route("/directoryobjects/{id}/checkmemberobjects", post(membership::object_check_member_objects))
        .route("/directoryobjects/{id}/getmemberobjects", post(membership::object_get_member_objects))
        // --- authentication methods (issue 3) ---
        .route("/users/{id}/authentication/methods", get(auth_methods::list_methods))
        .route("/users/{id}/authentication/methods/{method}", get(auth_methods::get_method))
        .route("/users/{id}/authentication/methods/{method}/resetpassword", post(auth_methods::reset_password))
        .route("/users/{id}/authentication/passwordmethods", get(auth_methods::list_password_methods))
        .route("/users/{id}/authentication/passwordmethods/{method}", get(auth_methods::get_password_method))
        .route("/users/{id}/authentication/passwordmethods/{method}/resetpassword", post(auth_methods::reset_password))
        .route("/users/{id}/authentication/softwareoathmethods", get(auth_methods::list_oath_methods))
        .route(
            "/users/{id}/authentication/softwareoathmethods/{method}",
            get(auth_methods::get_oath_method).delete(auth_methods::delete_oath_route),
        )
        .route("/users/{id}/authentication/fido2methods", get(auth_methods::list_fido2_methods))
        .route(
            "/users/{id}/authentication/fido2methods/{method}",
            get(auth_methods::get_fido2_method).delete(auth_methods::delete_fido2_route),
        )
        // --- devices, organizational contacts, administrative units (issue 4) ---
        .route("/devices", get(sets::list::<Devices>).post(sets::create::<Devices>))
        .route("/devices/$count", get(sets::count::<Devices>))
        .route(
            "/devices/{id}",
            get(sets::get_one::<Devices>).patch(sets::update::<Devices>).delete(sets::delete::<Devices>),
        )
        .route("/devices/{id}/registeredowners", get(devices::registered_owners))
        .route("/devices/{id}/registeredowners/$count", get(devices::registered_owners_count))
        .route("/devices/{id}/registeredowners/microsoft.graph.user", get(devices::registered_owners_users))
        .route("/devices/{id}/registeredowners/$ref", post(devices::add_registered_owner))
        .route("/devices/{id}/registeredowners/{owner}/$ref", axum::routing::delete(devices::remove_registered_owner))
        .route("/devices/{id}/registeredusers", get(devices::registered_users))
        .route("/devices/{id}/registeredusers/$count", get(devices::registered_users_count))
        .route("/devices/{id}/registeredusers/microsoft.graph.user", get(devices::registered_users_users))
        .route("/devices/{id}/registeredusers/$ref", post(devices::add_registered_user))
        .route("/devices/{id}/registeredusers/{user}/$ref", axum::routing::delete(devices::remove_registered_user))
        .route("/devices/{id}/memberof", get(devices::member_of))
        .route("/devices/{id}/memberof/$count", get(devices::member_of_count))
        .route("/devices/{id}/memberof/microsoft.graph.group", get(devices::member_of_groups))
        .route("/devices/{id}/transitivememberof", get(membership::device_member_of))
        .route("/devices/{id}/transitivememberof/$count", get(membership::device_member_of_count))
        .route("/devices/{id}/transitivememberof/microsoft.graph.group", get(membership::device_member_of_groups))
        .route("/devices/{id}/checkmembergroups", post(membership::device_check_member_groups))
        .route("/devices/{id}/getmembergroups", post(membership::device_get_member_groups))
        .route("/devices/{id}/checkmemberobjects", post(membership::device_check_member_objects))
        .route("/devices/{id}/getmemberobjects", post(membership::device_get_member_objects))
        .route("/devices/{id}/memberof/microsoft.graph.administrativeunit", get(devices::member_of_units))
        .route("/users/{id}/memberof/microsoft.graph.administrativeunit", get(devices::user_member_of_units))
        .route("/groups/{id}/memberof/microsoft.graph.administrativeunit", get(devices::group_member_of_units))
        .route("/directory/deleteditems/microsoft.graph.administrativeunit", get(directory::deleted_units))
        .route("/directory/deleteditems/microsoft.graph.administrativeunit/$count", get(directory::deleted_units_count))
        .route("/users/{id}/registereddevices", get(devices::user_registered_devices))
        .route("/users/{id}/owneddevices", get(devices::user_owned_devices))
        .route("/groups/{id}/members/microsoft.graph.device", get(groups::members_devices))
        .route("/groups/{id}/members/microsoft.graph.orgcontact", get(groups::members_contacts))
        .route("/groups/{id}/members/microsoft.graph.serviceprincipal", get(groups::members_service_principals))
        .route("/contacts", get(sets::list::<Contacts>))
        .route("/contacts/$count", get(sets::count::<Contacts>))
        .route(
            "/contacts/{id}",
            get(sets::get_one::<Contacts>).patch(sets::update::<Contacts>).delete(sets::delete::<Contacts>),
        )
        .route("/contacts/{id}/manager", get(contacts::manager))
        .route("/contacts/{id}/directreports", get(contacts::direct_reports))
        .route("/contacts/{id}/memberof", get(contacts::member_of))
        .route("/contacts/{id}/memberof/$count", get(contacts::member_of_count))
        .route("/contacts/{id}/memberof/microsoft.graph.group", get(contacts::member_of_groups))
        .route("/contacts/{id}/transitivememberof", get(membership::contact_member_of))
        .route("/contacts/{id}/transitivememberof/$count", get(membership::contact_member_of_count))
        .route("/contacts/{id}/transitivememberof/microsoft.graph.group", get(membership::contact_member_of_groups))
        .route("/contacts/{id}/checkmembergroups", post(membership::contact_check_member_groups))
        .route("/contacts/{id}/getmembergroups", post(membership::contact_get_member_groups))
        .route("/contacts/{id}/checkmemberobjects", post(membership::contact_check_member_objects))
        .route("/contacts/{id}/getmemberobjects", post(membership::contact_get_member_objects))
        .route(
            "/directory/administrativeunits",
            get(sets::list::<AdministrativeUnits>).post(sets::create::<AdministrativeUnits>),
        )
        .route("/directory/administrativeunits/$count", get(sets::count::<AdministrativeUnits>))
        .route(
            "/directory/administrativeunits/{id}",
            get(sets::get_one::<AdministrativeUnits>)
                .patch(sets::update::<AdministrativeUnits>)
                .delete(sets::delete::<AdministrativeUnits>),
        )
        .route("/directory/administrativeunits/{id}/members", get(administrative_units::members))
        .route("/directory/administrativeunits/{id}/members/$count", get(administrative_units::members_count))
        .route(
            "/directory/administrativeunits/{id}/members/microsoft.graph.user",
            get(administrative_units::members_users),
        )
        .route(
            "/directory/administrativeunits/{id}/members/microsoft.graph.user/$count",
            get(administrative_units::members_users_count),
        )
        .route(
            "/directory/administrativeunits/{id}/members/microsoft.graph.group",
            get(administrative_units::members_groups),
        )
        .route(
            "/directory/administrativeunits/{id}/members/microsoft.graph.group/$count",
            get(administrative_units::members_groups_count),
        )
        .route(
            "/directory/administrativeunits/{id}/members/microsoft.graph.device",
            get(administrative_units::members_devices),
        )
        .route(
            "/directory/administrativeunits/{id}/members/microsoft.graph.device/$count",
            get(administrative_units::members_devices_count),
        )
        .route("/directory/administrativeunits/{id}/members/$ref", post(administrative_units::add_member))
        .route("/directory/administrativeunits/{id}/members/{member}", get(administrative_units::member))
        .route(
            "/directory/administrativeunits/{id}/members/{member}/$ref",
            axum::routing::delete(administrative_units::remove_member),
        )
        // --- roles (issue 4) ---
        // memberOf cast to directoryRole (scripts look admins up this way).
        .route("/users/{id}/memberof/microsoft.graph.directoryrole", get(roles::user_member_of_roles))
        .route("/users/{id}/memberof/microsoft.graph.directoryrole/$count", get(roles::user_member_of_roles_count))
        .route("/groups/{id}/memberof/microsoft.graph.directoryrole", get(roles::group_member_of_roles))
        .route("/groups/{id}/memberof/microsoft.graph.directoryrole/$count", get(roles::group_member_of_roles_count))
        .route("/serviceprincipals/{id}/memberof/microsoft.graph.directoryrole", get(roles::sp_member_of_roles))
        .route(
            "/serviceprincipals/{id}/memberof/microsoft.graph.directoryrole/$count",
            get(roles::sp_member_of_roles_count),
        )
        .route("/directoryroletemplates", get(roles::templates))
        .route("/directoryroletemplates/{id}", get(roles::template))
        .route("/directoryroles", get(roles::roles).post(roles::activate))
        .route("/directoryroles/{id}", get(roles::role))
        .route("/directoryroles/{id}/members", get(roles::members))
        .route("/directoryroles/{id}/members/$ref", post(roles::add_member))
        .route("/directoryroles/{id}/members/{member}/$ref", axum::routing::delete(roles::remove_member))
        .route(
            "/rolemanagement/directory/roledefinitions",
            get(sets::list::<RoleDefinitions>).post(sets::create::<RoleDefinitions>),
        )
        .route(
            "/rolemanagement/directory/roledefinitions/{id}",
            get(sets::get_one::<RoleDefinitions>)
                .patch(sets::update::<RoleDefinitions>)
                .delete(sets::delete::<RoleDefinitions>),
        )
        .route(
            "/rolemanagement/directory/roleassignments",
            get(sets::list::<RoleAssignments>).post(sets::create::<RoleAssignments>),
        )
        .route(
            "/rolemanagement/directory/roleassignments/{id}",
            get(sets::get_one::<RoleAssignments>).delete(sets::delete::<RoleAssignments>),
        )
        // --- token policies (issue 9) ---
        .route(
            "/policies/tokenlifetimepolicies",
            get(sets::list::<TokenLifetimePolicies>).post(sets::create::<TokenLifetimePolicies>),
        )
        .route(
            "/policies/tokenlifetimepolicies/{id}",
            get(sets::get_one::<TokenLifetimePolicies>)
                .patch(sets::update::<TokenLifetimePolicies>)
                .delete(sets::delete::<TokenLifetimePolicies>),
        )
        .route("/policies/tokenlifetimepolicies/{id}/appliesto", get(token_policies::applies_to::<TokenLifetime>))
        .route(
            "/applications/{id}/tokenlifetimepolicies",
            get(token_policies::of_holder::<TokenLifetime, OnApplication>),
        )
        .route(
            "/applications/{id}/tokenlifetimepolicies/$ref",
            post(token_policies::assign::<TokenLifetime, OnApplication>),
        )
        .route(
            "/applications/{id}/tokenlifetimepolicies/{policy}/$ref",
            axum::routing::delete(token_policies::unassign::<TokenLifetime, OnApplication>),
        )
        // Token lifetime and claims mapping policies on service principals (issue 9).
        .route(
            "/serviceprincipals/{id}/tokenlifetimepolicies",
            get(token_policies::of_holder::<TokenLifetime, OnServicePrincipal>),
        )
        .route(
            "/serviceprincipals/{id}/tokenlifetimepolicies/$ref",
            post(token_policies::assign::<TokenLifetime, OnServicePrincipal>),
        )
        .route(
            "/serviceprincipals/{id}/tokenlifetimepolicies/{policy}/$ref",
            axum::routing::delete(token_policies::unassign::<TokenLifetime, OnServicePrincipal>),
        )
        .route(
            "/policies/claimsmappingpolicies",
            get(sets::list::<ClaimsMappingPolicies>).post(sets::create::<ClaimsMappingPolicies>),
        )
        .route(
            "/policies/claimsmappingpolicies/{id}",
            get(sets::get_one::<ClaimsMappingPolicies>)
                .patch(sets::update::<ClaimsMappingPolicies>)
                .delete(sets::delete::<ClaimsMappingPolicies>),
        )
        .route("/policies/claimsmappingpolicies/{id}/appliesto", get(token_policies::applies_to::<ClaimsMapping>))
        .route(
            "/serviceprincipals/{id}/claimsmappingpolicies",
            get(token_policies::of_holder::<ClaimsMapping, OnServicePrincipal>),
        )
        .route(
            "/serviceprincipals/{id}/claimsmappingpolicies/$ref",
            post(token_policies::assign::<ClaimsMapping, OnServicePrincipal>),
        )
        .route(
            "/serviceprincipals/{id}/claimsmappingpolicies/{policy}/$ref",
            axum::routing::delete(token_policies::unassign::<ClaimsMapping, OnServicePrincipal>),
        )
        .route("/users/{id}/authentication/operations/{operation}", get(auth_methods::get_operation))
        // --- delta: applications and service principals (fixtures branch) ---
        .route("/applications/delta", get(delta::delta::<Applications>))
        .route("/applications/delta()", get(delta::delta::<Applications>))
        .route("/applications/microsoft.graph.delta()", get(delta::delta::<Applications>))
        .route("/serviceprincipals/delta", get(delta::delta::<ServicePrincipals>))
        .route("/serviceprincipals/delta()", get(delta::delta::<ServicePrincipals>))
        .route("/serviceprincipals/microsoft.graph.delta()", get(delta::delta::<ServicePrincipals>))
        .route("/contacts/delta", get(delta::delta::<Contacts>))
        .route("/contacts/delta()", get(delta::delta::<Contacts>))
        .route("/contacts/microsoft.graph.delta()", get(delta::delta::<Contacts>))
        .route("/devices/delta", get(delta::delta::<Devices>))
        .route("/devices/delta()", get(delta::delta::<Devices>))
        .route("/devices/microsoft.graph.delta()", get(delta::delta::<Devices>))
        // The reference names the root path; v1.0 serves the set under `/directory`.
        .route("/administrativeunits/delta", get(delta::delta::<AdministrativeUnits>))
        .route("/administrativeunits/delta()", get(delta::delta::<AdministrativeUnits>))
        .route("/administrativeunits/microsoft.graph.delta()", get(delta::delta::<AdministrativeUnits>))
        .route("/directory/administrativeunits/delta", get(delta::delta::<AdministrativeUnits>))
        .route("/directory/administrativeunits/delta()", get(delta::delta::<AdministrativeUnits>))
        .route("/directory/administrativeunits/microsoft.graph.delta()", get(delta::delta::<AdministrativeUnits>))
        // "directoryObject: delta": one round over several types (issue 5).
        .route("/directoryobjects/delta", get(delta::directory_objects))
        .route("/directoryobjects/delta()", get(delta::directory_objects))
        .route("/directoryobjects/microsoft.graph.delta()", get(delta::directory_objects))
        // --- Identity Protection (issue 7) ---
        .route("/identityprotection/riskdetections", get(identity_protection::list_set::<RiskyUsers, false>))
        .route("/identityprotection/riskdetections/{id}", get(identity_protection::get_in_set::<RiskyUsers, false>))
        .route("/identityprotection/riskyusers", get(identity_protection::list_set::<RiskyUsers, true>))
        .route(
            "/identityprotection/riskyusers/confirmcompromised",
            post(identity_protection::action::<RiskyUsers, true>),
        )
        .route("/identityprotection/riskyusers/dismiss", post(identity_protection::action::<RiskyUsers, false>))
        .route("/identityprotection/riskyusers/{id}", get(identity_protection::get_in_set::<RiskyUsers, true>))
        .route("/identityprotection/riskyusers/{id}/history", get(identity_protection::list_history::<RiskyUsers>))
        .route(
            "/identityprotection/riskyusers/{id}/history/{item}",
            get(identity_protection::get_history_item::<RiskyUsers>),
        )
        // Identity Protection for workload identities (issue 7): the same handlers.
        .route(
            "/identityprotection/serviceprincipalriskdetections",
            get(identity_protection::list_set::<RiskySps, false>),
        )
        .route(
            "/identityprotection/serviceprincipalriskdetections/{id}",
            get(identity_protection::get_in_set::<RiskySps, false>),
        )
        .route("/identityprotection/riskyserviceprincipals", get(identity_protection::list_set::<RiskySps, true>))
        .route(
            "/identityprotection/riskyserviceprincipals/confirmcompromised",
            post(identity_protection::action::<RiskySps, true>),
        )
        .route(
            "/identityprotection/riskyserviceprincipals/dismiss",
            post(identity_protection::action::<RiskySps, false>),
        )
        .route(
            "/identityprotection/riskyserviceprincipals/{id}",
            get(identity_protection::get_in_set::<RiskySps, true>),
        )
        .route(
            "/identityprotection/riskyserviceprincipals/{id}/history",
            get(identity_protection::list_history::<RiskySps>),
        )
        // Audit and sign-in logs (issue 7).
        .route("/auditlogs/directoryaudits", get(audit_logs::list_audits))
        .route("/auditlogs/directoryaudits/{id}", get(audit_logs::get_audit))
        .route("/auditlogs/signins", get(audit_logs::list_sign_ins))
        .route("/auditlogs/signins/{id}", get(audit_logs::get_sign_in))
        // --- licences (issue 4) ---
        .route("/subscribedskus", get(licences::list_skus))
        .route("/subscribedskus/{id}", get(licences::get_sku))
        .route("/users/{id}/assignlicense", post(licences::assign_user))
        .route("/groups/{id}/assignlicense", post(licences::assign_group))
        .route("/users/{id}/licensedetails", get(licences::license_details))
        .route("/users/{id}/licensedetails/{detail}", get(licences::license_detail))
        // --- profile photos; scoped role members of administrative units (issue 4) ---
        .route("/users/{id}/photo", get(photos::user_metadata).delete(photos::user_delete))
        .route("/users/{id}/photo/$value", get(photos::user_value).put(photos::user_put))
        .route("/users/{id}/photos", get(photos::user_list))
        .route("/users/{id}/photos/{size}", get(photos::user_size))
        .route("/groups/{id}/photo", get(photos::group_metadata).delete(photos::group_delete))
        .route("/groups/{id}/photo/$value", get(photos::group_value).put(photos::group_put))
        .route("/groups/{id}/photos", get(photos::group_list))
        .route("/groups/{id}/photos/{size}", get(photos::group_size))
        .route(
            "/directory/administrativeunits/{id}/scopedrolemembers",
            get(administrative_units::scoped_role_members).post(administrative_units::add_scoped_role_member),
        )
        .route(
            "/directory/administrativeunits/{id}/scopedrolemembers/{member}",
            get(administrative_units::scoped_role_member).delete(administrative_units::remove_scoped_role_member),
        )
        .route("/users/{id}/scopedrolememberof", get(administrative_units::scoped_role_member_of))
        // Organization and domains (issue 4).
        .route("/organization", get(organization::list_organization))
        .route("/organization/{id}", get(organization::get_organization).patch(organization::update_organization))
        .route("/domains", get(organization::list_domains).post(organization::create_domain))
        .route(
            "/domains/{id}",
            get(organization::get_domain).patch(organization::update_domain).delete(organization::delete_domain),
        )
        .route("/domains/{id}/verify", post(organization::verify_domain))
        .route("/domains/{id}/forcedelete", post(organization::force_delete_domain))
        .route("/domains/{id}/verificationdnsrecords", get(organization::verification_dns_records))
        .route("/domains/{id}/serviceconfigurationrecords", get(organization::service_configuration_records))
        .route("/domains/{id}/domainnamereferences", get(organization::domain_name_references))
        // --- directory extensions, schema extensions, open extensions, invitations (issue 4) ---
        .route("/applications/{id}/extensionproperties", get(extensions::list).post(extensions::create))
        .route("/applications/{id}/extensionproperties/{ext}", get(extensions::get).delete(extensions::delete))
        .route("/directoryobjects/getavailableextensionproperties", post(extensions::available))
        .route("/invitations", post(invitations::create))
        .route("/schemaextensions", get(schema_extensions::list).post(schema_extensions::create))
        .route(
            "/schemaextensions/{id}",
            get(schema_extensions::get).patch(schema_extensions::update).delete(schema_extensions::delete),
        )
        .route("/users/{id}/extensions", get(open_extensions::user_list).post(open_extensions::user_create))
        .route(
            "/users/{id}/extensions/{name}",
            get(open_extensions::user_get).patch(open_extensions::user_update).delete(open_extensions::user_delete),
        )
        .route("/groups/{id}/extensions", get(open_extensions::group_list).post(open_extensions::group_create))
        .route(
            "/groups/{id}/extensions/{name}",
            get(open_extensions::group_get).patch(open_extensions::group_update).delete(open_extensions::group_delete),
        )
        // --- custom security attributes (issue 9) ---
        .route("/directory/attributesets", get(csa::list_sets).post(csa::create_set))
        .route("/directory/attributesets/{id}", get(csa::get_set).patch(csa::update_set))
        .route("/directory/customsecurityattributedefinitions", get(csa::list_definitions).post(csa::create_definition))
        .route(
            "/directory/customsecurityattributedefinitions/{id}",
            get(csa::get_definition).patch(csa::update_definition),
        )
        .route(
            "/directory/customsecurityattributedefinitions/{id}/allowedvalues",
            get(csa::list_allowed).post(csa::create_allowed),
        )
        .route(
            "/directory/customsecurityattributedefinitions/{id}/allowedvalues/{value}",
            get(csa::get_allowed).patch(csa::update_allowed),
        )
        .route("/contracts", get(sets::list::<Contracts>))
        .route("/contracts/{id}", get(sets::get_one::<Contracts>))
        // Conditional Access (issue 7).
        .route(
            "/identity/conditionalaccess/namedlocations",
            get(sets::list::<NamedLocations>).post(sets::create::<NamedLocations>),
        )
        .route("/identity/conditionalaccess/namedlocations/$count", get(sets::count::<NamedLocations>))
        .route(
            "/identity/conditionalaccess/namedlocations/{id}",
            get(sets::get_one::<NamedLocations>)
                .patch(sets::update::<NamedLocations>)
                .delete(sets::delete::<NamedLocations>),
        )
        .route(
            "/identity/conditionalaccess/policies",
            get(sets::list::<ConditionalAccessPolicies>).post(sets::create::<ConditionalAccessPolicies>),
        )
        .route("/identity/conditionalaccess/policies/$count", get(sets::count::<ConditionalAccessPolicies>))
        .route(
            "/identity/conditionalaccess/policies/{id}",
            get(sets::get_one::<ConditionalAccessPolicies>)
                .patch(sets::update::<ConditionalAccessPolicies>)
                .delete(sets::delete::<ConditionalAccessPolicies>),
        )
        // --- the remaining transitive type casts (issue 4, review gap 5) ---
        .route("/users/{id}/transitivememberof/microsoft.graph.directoryrole", get(membership::user_member_of_roles))
        .route(
            "/users/{id}/transitivememberof/microsoft.graph.directoryrole/$count",
            get(membership::user_member_of_roles_count),
        )
        .route(
            "/users/{id}/transitivememberof/microsoft.graph.administrativeunit",
            get(membership::user_member_of_units),
        )
        .route(
            "/users/{id}/transitivememberof/microsoft.graph.administrativeunit/$count",
            get(membership::user_member_of_units_count),
        )
        .route("/groups/{id}/transitivememberof/microsoft.graph.directoryrole", get(membership::group_member_of_roles))
        .route(
            "/groups/{id}/transitivememberof/microsoft.graph.directoryrole/$count",
            get(membership::group_member_of_roles_count),
        )
        .route(
            "/groups/{id}/transitivememberof/microsoft.graph.administrativeunit",
            get(membership::group_member_of_units),
        )
        .route(
            "/groups/{id}/transitivememberof/microsoft.graph.administrativeunit/$count",
            get(membership::group_member_of_units_count),
        )
        .route("/groups/{id}/transitivemembers/microsoft.graph.device", get(membership::group_members_devices))
        .route(
            "/groups/{id}/transitivemembers/microsoft.graph.device/$count",
            get(membership::group_members_devices_count),
        )
        .route("/groups/{id}/transitivemembers/microsoft.graph.orgcontact", get(membership::group_members_contacts))
        .route(
            "/groups/{id}/transitivemembers/microsoft.graph.orgcontact/$count",
            get(membership::group_members_contacts_count),
        )
        .route("/groups/{id}/transitivemembers/microsoft.graph.serviceprincipal", get(membership::group_members_sps))
        .route(
            "/groups/{id}/transitivemembers/microsoft.graph.serviceprincipal/$count",
            get(membership::group_members_sps_count),
        )
        .route(
            "/devices/{id}/transitivememberof/microsoft.graph.group/$count",
            get(membership::device_member_of_groups_count),
        )
        .route(
            "/contacts/{id}/transitivememberof/microsoft.graph.group/$count",
            get(membership::contact_member_of_groups_count),
        )
        // --- service principals in (transitive) membership (issue 4) ---
        .route("/serviceprincipals/{id}/memberof", get(service_principals::member_of))
        .route("/serviceprincipals/{id}/memberof/$count", get(service_principals::member_of_count))
        .route("/serviceprincipals/{id}/memberof/microsoft.graph.group", get(service_principals::member_of_groups))
        .route("/serviceprincipals/{id}/transitivememberof", get(membership::sp_member_of))
        .route("/serviceprincipals/{id}/transitivememberof/$count", get(membership::sp_member_of_count))
        .route("/serviceprincipals/{id}/transitivememberof/microsoft.graph.group", get(membership::sp_member_of_groups))
        .route(
            "/serviceprincipals/{id}/transitivememberof/microsoft.graph.group/$count",
            get(membership::sp_member_of_groups_count),
        )
        .route("/serviceprincipals/{id}/checkmembergroups", post(membership::sp_check_member_groups))
        .route("/serviceprincipals/{id}/getmembergroups", post(membership::sp_get_member_groups))
        .route("/serviceprincipals/{id}/checkmemberobjects", post(membership::sp_check_member_objects))
        .route("/serviceprincipals/{id}/getmemberobjects", post(membership::sp_get_member_objects))
        // Layers run bottom-up: auth first, then the budget charge, which needs the principal.
        .route_layer(from_fn_with_state(state.clone(), throttle::charge))
        .route_layer(from_fn_with_state(state.clone(), auth::authorize));
    Router::new()
        .route("/$metadata", get(metadata::metadata))
        .route("/$batch", post(batch::batch))
        .route("/me", axum::routing::any(me::me_root))
        .route("/me/{*rest}", axum::routing::any(me::me_rest))
        .merge(protected)
        .fallback(directory::no_route)
        .method_not_allowed_fallback(directory::method_not_allowed)
        .layer(from_fn(error::finish_errors))
        .with_state(state)
}

/// Rewrites the path so that Graph's case-insensitive segment names (`memberOf`,
/// `deletedItems`, `$ref`) match the lower-case route table, leaving ids and UPNs untouched.
pub fn normalise_path(path: &str) -> Option<String> {
    const SEGMENTS: &[&str] = &[
        "users",
        "groups",
        "members",
        "owners",
        "memberof",
        "$ref",
        "$count",
        "$batch",
        "directory",
        "deleteditems",
        "microsoft.graph.user",
        "microsoft.graph.group",
        "restore",
        "directoryobjects",
        "transitivememberof",
        "transitivemembers",
        "checkmembergroups",
        "getmembergroups",
        "checkmemberobjects",
        "getmemberobjects",
        "getbyids",
        "validateproperties",
        "manager",
        "directreports",
        "$metadata",
        "me",
        "v1.0",
        "beta",
        // Applications and service principals (issue 3).
        "applications",
        "serviceprincipals",
        "oauth2permissiongrants",
        "addpassword",
        "removepassword",
        "addkey",
        "removekey",
        "federatedidentitycredentials",
        // Sign-in sessions (issue 3).
        "revokesigninsessions",
        "changepassword",
        "approleassignedto",
        "approleassignments",
        "microsoft.graph.application",
        "microsoft.graph.serviceprincipal",
        // Authentication methods (issue 3).
        "authentication",
        "methods",
        "passwordmethods",
        "softwareoathmethods",
        "fido2methods",
        "resetpassword",
        // Devices, organizational contacts, administrative units (issue 4).
        "devices",
        "registeredowners",
        "registeredusers",
        "registereddevices",
        "owneddevices",
        "contacts",
        "administrativeunits",
        "microsoft.graph.device",
        "microsoft.graph.orgcontact",
        "microsoft.graph.administrativeunit",
        "microsoft.graph.directoryrole",
        // Roles (issue 4).
        "directoryroles",
        "directoryroletemplates",
        "rolemanagement",
        "roledefinitions",
        "roleassignments",
        "operations",
        // Audit and sign-in logs (issue 7).
        "auditlogs",
        "directoryaudits",
        "signins",
        // Identity Protection (issue 7).
        "identityprotection",
        "riskdetections",
        "riskyusers",
        "riskyserviceprincipals",
        "serviceprincipalriskdetections",
        "history",
        "confirmcompromised",
        "dismiss",
        // Licences (issue 4).
        "subscribedskus",
        "assignlicense",
        "licensedetails",
        // Profile photos; scoped role members (issue 4).
        "photo",
        "photos",
        "$value",
        "scopedrolemembers",
        "scopedrolememberof",
        // Organization and domains (issue 4).
        "organization",
        "domains",
        "verify",
        "forcedelete",
        "verificationdnsrecords",
        "serviceconfigurationrecords",
        "domainnamereferences",
        // Extensions and invitations (issue 4).
        "extensionproperties",
        "getavailableextensionproperties",
        "schemaextensions",
        "extensions",
        "invitations",
        "contracts",
        // Custom security attributes (issue 9).
        "attributesets",
        "customsecurityattributedefinitions",
        "allowedvalues",
        // Conditional Access (issue 7).
        "identity",
        "conditionalaccess",
        "namedlocations",
        "policies",
        // Token policies (issue 9).
        "tokenlifetimepolicies",
        "claimsmappingpolicies",
        "appliesto",
    ];
    // Most paths are already canonical: no upper case, no `(key)`, no `graph.` alias.
    let canonical = !path.bytes().any(|b| b.is_ascii_uppercase() || b == b'(') && !path.contains("/graph.");
    if canonical {
        return None;
    }
    let mut changed = false;
    let parts: Vec<String> = path
        .split('/')
        .map(|seg| {
            // Key-as-parenthesis addressing: `users('adele@contoso.com')` is `users/adele@...`.
            if let Some((set, key)) = key_segment(seg) {
                changed = true;
                return format!("{set}/{key}");
            }
            let lower = seg.to_ascii_lowercase();
            // Type casts may use the CSDL alias (`graph.user`), as the Graph SDKs send them.
            let full = match lower.strip_prefix("graph.") {
                Some(rest) => format!("microsoft.graph.{rest}"),
                None => lower,
            };
            if full != seg && SEGMENTS.contains(&full.as_str()) {
                changed = true;
                full
            } else {
                seg.to_string()
            }
        })
        .collect();
    changed.then(|| parts.join("/"))
}

/// Splits `users('key')` (quotes literal or `%27`, `''` escaping a quote) into the lower-case
/// entity set and the key, for the entity sets Graph addresses this way.
fn key_segment(seg: &str) -> Option<(String, String)> {
    let open = seg.find('(')?;
    let set = seg[..open].to_ascii_lowercase();
    if !seg.ends_with(')') {
        return None;
    }
    let inner = &seg[open + 1..seg.len() - 1];
    // Alternate key: `applications(appId='{appId}')` and `servicePrincipals(appId='{appId}')`
    // become `applications/appId={appId}`, which the directory resolves by appId.
    if matches!(set.as_str(), "applications" | "serviceprincipals")
        && let Some(value) = inner.get(..6).filter(|k| k.eq_ignore_ascii_case("appid=")).map(|_| &inner[6..])
    {
        let value = value.trim_matches('\'').trim_start_matches("%27").trim_end_matches("%27");
        return (!value.is_empty()).then(|| (set, format!("appId={value}")));
    }
    // Alternate key: `devices(deviceId='{deviceId}')` becomes `devices/deviceId={deviceId}`.
    if set == "devices"
        && let Some(value) = inner.get(..9).filter(|k| k.eq_ignore_ascii_case("deviceid=")).map(|_| &inner[9..])
    {
        let value = value.trim_matches('\'').trim_start_matches("%27").trim_end_matches("%27");
        return (!value.is_empty()).then(|| (set, format!("deviceId={value}")));
    }
    // `directoryRoles(roleTemplateId='{id}')` becomes `directoryroles/roleTemplateId={id}`.
    if set == "directoryroles"
        && let Some(value) = inner.get(..15).filter(|k| k.eq_ignore_ascii_case("roletemplateid=")).map(|_| &inner[15..])
    {
        let value = value.trim_matches('\'').trim_start_matches("%27").trim_end_matches("%27");
        return (!value.is_empty()).then(|| (set, format!("roleTemplateId={value}")));
    }
    if !matches!(set.as_str(), "users" | "groups" | "directoryobjects" | "devices" | "contacts" | "directoryroles") {
        return None;
    }
    let unquoted = inner
        .strip_prefix('\'')
        .and_then(|s| s.strip_suffix('\''))
        .or_else(|| inner.strip_prefix("%27").and_then(|s| s.strip_suffix("%27")))
        .unwrap_or(inner);
    if unquoted.is_empty() {
        return None;
    }
    Some((set, unquoted.replace("''", "'").replace("%27%27", "%27")))
}

/// The directory caller for an authenticated principal.
pub(crate) fn caller(principal: &Principal, client_request_id: Option<String>) -> Caller {
    Caller {
        tenant: principal.tenant,
        actor: Actor {
            kind: if principal.delegated { "user".into() } else { "app".into() },
            id: Some(principal.object_id),
            display_name: principal.display_name.as_deref().map(str::to_string),
        },
        correlation_id: client_request_id,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn normalises_segment_case_only() {
        assert_eq!(
            super::normalise_path("/v1.0/Users/Adele@Contoso.com/memberOf").as_deref(),
            Some("/v1.0/users/Adele@Contoso.com/memberof")
        );
        assert_eq!(
            super::normalise_path("/v1.0/directory/deletedItems/graph.user").as_deref(),
            Some("/v1.0/directory/deleteditems/microsoft.graph.user")
        );
        assert_eq!(super::normalise_path("/v1.0/users/graph.user@contoso.com"), None);
        assert_eq!(
            super::normalise_path("/v1.0/users('$Adele@contoso.com')/memberOf").as_deref(),
            Some("/v1.0/users/$Adele@contoso.com/memberof")
        );
        assert_eq!(
            super::normalise_path("/v1.0/Users(%27o''neil@contoso.com%27)").as_deref(),
            Some("/v1.0/users/o'neil@contoso.com")
        );
        assert_eq!(super::normalise_path("/v1.0/users"), None);
    }
}
