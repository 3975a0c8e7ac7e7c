//! The standard routes of an entity set (`GET`/`POST /{set}`, `/{set}/$count`,
//! `GET`/`PATCH`/`DELETE /{set}/{id}`), written once. A set is a declaration of its object
//! type and its name; the directory dispatches each operation to that type's rules.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use cerulean_schema::EntityType;
use cerulean_store::{Revalidated, Scope};

use crate::error::GraphError;
use crate::lists::{self, Collection};
use crate::odata;
use crate::rendered::Rendered;
use crate::users::{client_request_id, created};
use crate::{GraphState, Principal, caller};

/// An entity set served with the standard routes.
pub(crate) trait EntitySet: Send + Sync + 'static {
    /// The object type (`user`).
    const TYPE: &'static str;
    /// The set's name in URLs and `@odata.context` (`users`).
    const SET: &'static str;

    /// The derived types a polymorphic set holds (`ipNamedLocation` and `countryNamedLocation`
    /// in `namedLocations`); empty when every object is of `TYPE` itself. Objects of a derived
    /// type are shaped as that type and carry `@odata.type`.
    const DERIVED: &'static [&'static str] = &[];

    fn entity() -> &'static EntityType {
        cerulean_schema::entity(Self::TYPE).expect("every entity set's type is declared")
    }

    /// The object types stored in the set.
    fn types() -> &'static [&'static str] {
        if Self::DERIVED.is_empty() { std::slice::from_ref(&Self::TYPE) } else { Self::DERIVED }
    }
}

pub(crate) struct Users;
impl EntitySet for Users {
    const TYPE: &'static str = "user";
    const SET: &'static str = "users";
}

pub(crate) struct Groups;
impl EntitySet for Groups {
    const TYPE: &'static str = "group";
    const SET: &'static str = "groups";
}

pub(crate) struct Applications;
impl EntitySet for Applications {
    const TYPE: &'static str = "application";
    const SET: &'static str = "applications";
}

pub(crate) struct ServicePrincipals;
impl EntitySet for ServicePrincipals {
    const TYPE: &'static str = "servicePrincipal";
    const SET: &'static str = "servicePrincipals";
}

pub(crate) struct Devices;
impl EntitySet for Devices {
    const TYPE: &'static str = "device";
    const SET: &'static str = "devices";
}

pub(crate) struct Contacts;
impl EntitySet for Contacts {
    const TYPE: &'static str = "orgContact";
    const SET: &'static str = "contacts";
}

/// Partner relationships (read-only; they come from fixtures).
pub(crate) struct Contracts;
impl EntitySet for Contracts {
    const TYPE: &'static str = "contract";
    const SET: &'static str = "contracts";
}

/// Served under `/directory` (v1.0 has no root entity set of administrative units).
pub(crate) struct AdministrativeUnits;
impl EntitySet for AdministrativeUnits {
    const TYPE: &'static str = "administrativeUnit";
    const SET: &'static str = "directory/administrativeUnits";
}

/// `roleManagement/directory/roleDefinitions`: built-in (immutable) and custom roles.
pub(crate) struct RoleDefinitions;
impl EntitySet for RoleDefinitions {
    const TYPE: &'static str = cerulean_directory::roles::ROLE_DEFINITION;
    const SET: &'static str = "roleManagement/directory/roleDefinitions";
}

/// `roleManagement/directory/roleAssignments` (no PATCH: Graph updates none).
pub(crate) struct RoleAssignments;
impl EntitySet for RoleAssignments {
    const TYPE: &'static str = cerulean_directory::roles::ROLE_ASSIGNMENT;
    const SET: &'static str = "roleManagement/directory/roleAssignments";
}

/// `policies/tokenLifetimePolicies`: lifetimes of the tokens issued for applications.
pub(crate) struct TokenLifetimePolicies;
impl EntitySet for TokenLifetimePolicies {
    const TYPE: &'static str = cerulean_directory::token_policies::TOKEN_LIFETIME_POLICY;
    const SET: &'static str = "policies/tokenLifetimePolicies";
}

/// `identity/conditionalAccess/namedLocations`: IP ranges and countries, each served as its
/// derived type (the abstract-in-practice `namedLocation` is never stored itself).
pub(crate) struct NamedLocations;
impl EntitySet for NamedLocations {
    const TYPE: &'static str = cerulean_directory::conditional_access::NAMED_LOCATION;
    const SET: &'static str = "identity/conditionalAccess/namedLocations";
    const DERIVED: &'static [&'static str] = &[
        cerulean_directory::conditional_access::IP_NAMED_LOCATION,
        cerulean_directory::conditional_access::COUNTRY_NAMED_LOCATION,
    ];
}

/// `identity/conditionalAccess/policies`.
pub(crate) struct ConditionalAccessPolicies;
impl EntitySet for ConditionalAccessPolicies {
    const TYPE: &'static str = cerulean_directory::conditional_access::POLICY;
    const SET: &'static str = "identity/conditionalAccess/policies";
}

/// `policies/claimsMappingPolicies`: claims of the tokens issued for service principals.
pub(crate) struct ClaimsMappingPolicies;
impl EntitySet for ClaimsMappingPolicies {
    const TYPE: &'static str = cerulean_directory::token_policies::CLAIMS_MAPPING_POLICY;
    const SET: &'static str = "policies/claimsMappingPolicies";
}

fn collection<S: EntitySet>(state: &GraphState, suffix: &str) -> Collection<'static> {
    Collection {
        entity: S::entity(),
        types: S::types(),
        scope: Scope::Live,
        context: S::SET.into(),
        path: format!("/{}/{}{suffix}", state.version, S::SET),
    }
}

/// `GET /{set}`.
pub(crate) async fn list<S: EntitySet>(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    h: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    s.directory.prepare_set(p.tenant, S::TYPE).await?;
    lists::list(&s, &p, &h, q.as_deref(), collection::<S>(&s, "")).await
}

/// `GET /{set}/$count`.
pub(crate) async fn count<S: EntitySet>(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    h: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    s.directory.prepare_set(p.tenant, S::TYPE).await?;
    lists::count(&s, &p, &h, q.as_deref(), collection::<S>(&s, "/$count")).await
}

/// `GET /{set}/{id}`.
pub(crate) async fn get_one<S: EntitySet>(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    h: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    if S::DERIVED.is_empty() && q.as_deref().is_none_or(str::is_empty) && kept_in_set(S::TYPE) {
        return get_default::<S>(&s, &p, &id, &h).await;
    }
    let params = odata::parse_query(q.as_deref())?;
    let opts = if S::DERIVED.is_empty() {
        let dynamic = crate::extensions::dynamic_properties(&s, p.tenant, S::TYPE, &params).await?;
        lists::single_options_with(S::entity(), q.as_deref(), &h, &dynamic)?
    } else {
        lists::single_options_polymorphic(S::entity(), S::DERIVED, q.as_deref(), &h)?
    };
    let record = s.directory.find_in_set(p.tenant, S::TYPE, &id).await?;
    lists::single(&s, &p, S::SET, S::entity(), &record, &opts).await
}

/// The sets whose objects [`Directory::find_unless`](cerulean_directory::Directory::find_unless)
/// reads as `find_in_set` does (by id, or a user by principal name), and so whose default
/// shapes may be kept.
fn kept_in_set(object_type: &str) -> bool {
    matches!(object_type, "user" | "group" | "orgContact" | "administrativeUnit" | "contract")
}

/// `GET /{set}/{id}` without query options: the default shape, from the body kept for the
/// object when the store confirms (in the read it makes anyway) that the row has not changed
/// since it was rendered; else rendered, and kept when it is the same for every caller. See
/// [`crate::rendered`].
async fn get_default<S: EntitySet>(
    s: &GraphState,
    p: &Principal,
    key: &str,
    h: &HeaderMap,
) -> Result<Response, GraphError> {
    let id = uuid::Uuid::parse_str(key).ok();
    let kept = id.and_then(|id| s.rendered.get(p.tenant, id, s.version, S::SET));
    let found = s.directory.find_unless(p.tenant, S::TYPE, key, kept.as_ref().map(|k| &k.stamp)).await;
    let (record, stamp) = match (found, kept) {
        (Ok(Revalidated::Unchanged), Some(kept)) => return Ok(odata::json_bytes(StatusCode::OK, kept.body.clone())),
        (Ok(Revalidated::Changed(record, stamp)), _) => (record, stamp),
        (Ok(_), _) => return Err(cerulean_directory::DirectoryError::not_found(key).into()),
        (Err(e), _) => {
            if let Some(id) = id {
                s.rendered.remove(p.tenant, id);
            }
            return Err(e.into());
        }
    };
    let opts = lists::single_options_with(S::entity(), None, h, &[])?;
    let body = lists::single_body(s, p, S::SET, S::entity(), &record, &opts).await?;
    let body = Bytes::from(serde_json::Value::Object(body).to_string());
    // Custom security attribute values are redacted per caller: such a body is not kept.
    let shared =
        record.doc.get(cerulean_directory::custom_security_attributes::PROPERTY).is_none_or(serde_json::Value::is_null);
    if let Some(stamp) = stamp.filter(|_| shared) {
        let rendered = Rendered { stamp, api: s.version, set: S::SET, body: body.clone() };
        s.rendered.insert(p.tenant, record.id, rendered);
    }
    Ok(odata::json_bytes(StatusCode::OK, body))
}

/// `POST /{set}`: 201 with `Location` and the new object.
pub(crate) async fn create<S: EntitySet>(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    h: HeaderMap,
    body: Bytes,
) -> Result<Response, GraphError> {
    let body = odata::object_body(&body)?;
    crate::csa::check_assignment(&p, &body)?;
    let record = s.directory.create_in_set(&caller(&p, client_request_id(&h)), S::TYPE, &body).await?;
    created(&s, S::SET, S::entity(), &record)
}

/// `PATCH /{set}/{id}`: 204.
pub(crate) async fn update<S: EntitySet>(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    h: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, GraphError> {
    let body = odata::object_body(&body)?;
    crate::csa::check_assignment(&p, &body)?;
    s.directory.update_in_set(&caller(&p, client_request_id(&h)), S::TYPE, &id, &body).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /{set}/{id}`: 204.
pub(crate) async fn delete<S: EntitySet>(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    h: HeaderMap,
) -> Result<StatusCode, GraphError> {
    s.directory.delete_in_set(&caller(&p, client_request_id(&h)), S::TYPE, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
