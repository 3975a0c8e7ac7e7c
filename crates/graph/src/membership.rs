//! Transitive membership routes and the directoryObject actions built on it:
//! `transitiveMemberOf`, `transitiveMembers` (with type casts and `/$count`),
//! `checkMemberGroups`, `getMemberGroups`, `checkMemberObjects`, `getMemberObjects`,
//! `directoryObjects/getByIds` and `directoryObjects/validateProperties`.
//!
//! The membership sets come from the directory's in-memory membership graph
//! ([`cerulean_directory::membership`]); a list route hands the set to the store as
//! [`Scope::Among`], so `$filter`, `$orderby`, `$select`, `$top` paging and `$count` behave as on
//! every other collection. The actions are structured by the type of the object they are called
//! on ([`SUBJECTS`]): users, groups, devices, contacts and service principals, each by its entity set.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use cerulean_directory::membership::Direction;
use cerulean_store::Scope;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::error::GraphError;
use crate::lists::{self, Collection};
use crate::odata::{self, shape};
use crate::{GraphState, Principal};

/// `checkMemberGroups` / `checkMemberObjects` accept at most this many ids ("You can check up
/// to a maximum of 20 groups per request", user-checkmembergroups).
const MAX_CHECK_IDS: usize = 20;
/// `getMemberGroups` answers at most this many ids, else `Directory_ResultSizeLimitExceeded`
/// (user-getmembergroups).
const MAX_MEMBER_GROUPS: usize = 11_000;
/// `getByIds` accepts at most this many ids ("You can specify up to 1000 IDs",
/// directoryobject-getbyids).
const MAX_GET_BY_IDS: usize = 1000;

/// The entity sets whose objects the membership actions apply to, and the object type each
/// holds (empty: any type, for `directoryObjects`).
pub(crate) const SUBJECTS: &[(&str, &str)] = &[
    ("users", "user"),
    ("groups", "group"),
    ("devices", "device"),
    ("contacts", "orgContact"),
    ("servicePrincipals", "servicePrincipal"),
    ("directoryObjects", ""),
];

fn subject_type(set: &str) -> &'static str {
    SUBJECTS.iter().find(|(s, _)| s.eq_ignore_ascii_case(set)).map(|(_, t)| *t).unwrap_or("")
}

// ---- transitive collections ----

/// One transitive collection route.
#[derive(Clone, Copy)]
pub(crate) struct Transitive {
    /// `users` or `groups`.
    set: &'static str,
    direction: Direction,
    /// The segment after `/{set}/{id}/`, for the next link.
    segment: &'static str,
    /// A type cast, or every type.
    cast: Option<&'static str>,
    /// The `/$count` segment.
    count: bool,
}

async fn transitive(
    state: &GraphState,
    p: &Principal,
    headers: &HeaderMap,
    q: Option<&str>,
    key: &str,
    t: Transitive,
) -> Result<Response, GraphError> {
    // A cast names the entity type the reach is filtered to, and the collection in the context.
    let (types, entity, context): (&'static [&'static str], &str, &str) = match t.cast {
        Some("user") => (&["user"], "user", "users"),
        Some("group") => (&["group"], "group", "groups"),
        Some("device") => (&["device"], "device", "devices"),
        Some("orgContact") => (&["orgContact"], "orgContact", "contacts"),
        Some("servicePrincipal") => (&["servicePrincipal"], "servicePrincipal", "servicePrincipals"),
        Some("directoryRole") => (&["directoryRole"], "directoryRole", "directoryRoles"),
        Some("administrativeUnit") => (&["administrativeUnit"], "administrativeUnit", "administrativeUnits"),
        _ => (&[], "directoryObject", "directoryObjects"),
    };
    let (ids, seen_at) =
        state.directory.transitive_ids_at(p.tenant, subject_type(t.set), key, t.direction, types).await?;
    let coll = Collection {
        entity: cerulean_schema::entity(entity).ok_or_else(|| GraphError::new(500, "InternalServerError", entity))?,
        types,
        scope: Scope::Among(ids),
        context: context.into(),
        path: format!("/{}/{}/{key}/{}", state.version, t.set, t.segment),
    };
    if t.count {
        lists::count(state, p, headers, q, coll).await
    } else {
        lists::list_reach(state, p, headers, q, coll, seen_at).await
    }
}

/// Declares one GET handler per transitive route.
macro_rules! transitive_routes {
    ($($name:ident => $set:literal, $dir:ident, $segment:literal, $cast:expr, $count:literal;)*) => {$(
        pub(crate) async fn $name(
            State(s): State<GraphState>,
            Extension(p): Extension<Principal>,
            Path(id): Path<String>,
            h: HeaderMap,
            RawQuery(q): RawQuery,
        ) -> Result<Response, GraphError> {
            let t = Transitive { set: $set, direction: Direction::$dir, segment: $segment, cast: $cast, count: $count };
            transitive(&s, &p, &h, q.as_deref(), &id, t).await
        }
    )*};
}

transitive_routes! {
    user_member_of => "users", MemberOf, "transitiveMemberOf", None, false;
    user_member_of_count => "users", MemberOf, "transitiveMemberOf/$count", None, true;
    user_member_of_groups => "users", MemberOf, "transitiveMemberOf/microsoft.graph.group", Some("group"), false;
    user_member_of_groups_count => "users", MemberOf, "transitiveMemberOf/microsoft.graph.group/$count", Some("group"), true;
    group_member_of => "groups", MemberOf, "transitiveMemberOf", None, false;
    group_member_of_count => "groups", MemberOf, "transitiveMemberOf/$count", None, true;
    group_member_of_groups => "groups", MemberOf, "transitiveMemberOf/microsoft.graph.group", Some("group"), false;
    group_member_of_groups_count => "groups", MemberOf, "transitiveMemberOf/microsoft.graph.group/$count", Some("group"), true;
    group_members => "groups", Members, "transitiveMembers", None, false;
    group_members_count => "groups", Members, "transitiveMembers/$count", None, true;
    group_members_users => "groups", Members, "transitiveMembers/microsoft.graph.user", Some("user"), false;
    group_members_users_count => "groups", Members, "transitiveMembers/microsoft.graph.user/$count", Some("user"), true;
    group_members_groups => "groups", Members, "transitiveMembers/microsoft.graph.group", Some("group"), false;
    group_members_groups_count => "groups", Members, "transitiveMembers/microsoft.graph.group/$count", Some("group"), true;
    device_member_of => "devices", MemberOf, "transitiveMemberOf", None, false;
    device_member_of_count => "devices", MemberOf, "transitiveMemberOf/$count", None, true;
    device_member_of_groups => "devices", MemberOf, "transitiveMemberOf/microsoft.graph.group", Some("group"), false;
    contact_member_of => "contacts", MemberOf, "transitiveMemberOf", None, false;
    contact_member_of_count => "contacts", MemberOf, "transitiveMemberOf/$count", None, true;
    contact_member_of_groups => "contacts", MemberOf, "transitiveMemberOf/microsoft.graph.group", Some("group"), false;
    sp_member_of => "servicePrincipals", MemberOf, "transitiveMemberOf", None, false;
    sp_member_of_count => "servicePrincipals", MemberOf, "transitiveMemberOf/$count", None, true;
    sp_member_of_groups => "servicePrincipals", MemberOf, "transitiveMemberOf/microsoft.graph.group", Some("group"), false;
    sp_member_of_groups_count => "servicePrincipals", MemberOf, "transitiveMemberOf/microsoft.graph.group/$count", Some("group"), true;
    // The remaining casts Graph documents (issue 4): roles and units a user or group is in,
    // every member type of a group, and the group count of devices and contacts.
    user_member_of_roles => "users", MemberOf, "transitiveMemberOf/microsoft.graph.directoryRole", Some("directoryRole"), false;
    user_member_of_roles_count => "users", MemberOf, "transitiveMemberOf/microsoft.graph.directoryRole/$count", Some("directoryRole"), true;
    user_member_of_units => "users", MemberOf, "transitiveMemberOf/microsoft.graph.administrativeUnit", Some("administrativeUnit"), false;
    user_member_of_units_count => "users", MemberOf, "transitiveMemberOf/microsoft.graph.administrativeUnit/$count", Some("administrativeUnit"), true;
    group_member_of_roles => "groups", MemberOf, "transitiveMemberOf/microsoft.graph.directoryRole", Some("directoryRole"), false;
    group_member_of_roles_count => "groups", MemberOf, "transitiveMemberOf/microsoft.graph.directoryRole/$count", Some("directoryRole"), true;
    group_member_of_units => "groups", MemberOf, "transitiveMemberOf/microsoft.graph.administrativeUnit", Some("administrativeUnit"), false;
    group_member_of_units_count => "groups", MemberOf, "transitiveMemberOf/microsoft.graph.administrativeUnit/$count", Some("administrativeUnit"), true;
    group_members_devices => "groups", Members, "transitiveMembers/microsoft.graph.device", Some("device"), false;
    group_members_devices_count => "groups", Members, "transitiveMembers/microsoft.graph.device/$count", Some("device"), true;
    group_members_contacts => "groups", Members, "transitiveMembers/microsoft.graph.orgContact", Some("orgContact"), false;
    group_members_contacts_count => "groups", Members, "transitiveMembers/microsoft.graph.orgContact/$count", Some("orgContact"), true;
    group_members_sps => "groups", Members, "transitiveMembers/microsoft.graph.servicePrincipal", Some("servicePrincipal"), false;
    group_members_sps_count => "groups", Members, "transitiveMembers/microsoft.graph.servicePrincipal/$count", Some("servicePrincipal"), true;
    device_member_of_groups_count => "devices", MemberOf, "transitiveMemberOf/microsoft.graph.group/$count", Some("group"), true;
    contact_member_of_groups_count => "contacts", MemberOf, "transitiveMemberOf/microsoft.graph.group/$count", Some("group"), true;
}

// ---- checkMemberGroups, getMemberGroups, checkMemberObjects, getMemberObjects ----

/// Which membership action a route serves.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    CheckMemberGroups,
    GetMemberGroups,
    CheckMemberObjects,
    GetMemberObjects,
}

/// `{"@odata.context": ".../$metadata#Collection(Edm.String)", "value": [ids]}`, the shape of
/// every membership action's answer.
fn id_collection(state: &GraphState, ids: &[Uuid]) -> Response {
    let value: Vec<Value> = ids.iter().map(|i| Value::String(i.to_string())).collect();
    odata::json(
        StatusCode::OK,
        json!({ "@odata.context": format!("{}/$metadata#Collection(Edm.String)", state.base()), "value": value }),
    )
}

/// A request-body property by name, case-insensitively (Graph's JSON reader ignores case).
fn body_value<'a>(body: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    body.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v)
}

/// A required collection of GUID strings.
fn guid_list(body: &Map<String, Value>, name: &str, max: usize) -> Result<Vec<Uuid>, GraphError> {
    let Some(value) = body_value(body, name).filter(|v| !v.is_null()) else {
        return Err(GraphError::bad_request(format!("The parameter '{name}' is required.")));
    };
    let Some(items) = value.as_array() else {
        return Err(GraphError::bad_request(format!("The parameter '{name}' must be a collection of strings.")));
    };
    if items.len() > max {
        return Err(GraphError::bad_request(format!("The number of values in '{name}' exceeds the maximum of {max}.")));
    }
    items
        .iter()
        .map(|v| {
            let text = v.as_str().ok_or_else(|| {
                GraphError::bad_request(format!("The parameter '{name}' must be a collection of strings."))
            })?;
            Uuid::parse_str(text).map_err(|_| GraphError::bad_request(format!("Invalid object identifier '{text}'.")))
        })
        .collect()
}

/// `securityEnabledOnly`: a Boolean, false when absent.
fn security_enabled_only(body: &Map<String, Value>) -> Result<bool, GraphError> {
    match body_value(body, "securityEnabledOnly") {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(GraphError::bad_request("The parameter 'securityEnabledOnly' must be a Boolean.")),
    }
}

async fn member_action(
    state: &GraphState,
    p: &Principal,
    set: &str,
    key: &str,
    action: Action,
    body: &[u8],
) -> Result<Response, GraphError> {
    let body = odata::object_body(body)?;
    let d = &state.directory;
    let ids = match action {
        Action::CheckMemberGroups => {
            let wanted = guid_list(&body, "groupIds", MAX_CHECK_IDS)?;
            d.check_member_of_key(p.tenant, subject_type(set), key, &wanted, true).await?
        }
        Action::CheckMemberObjects => {
            let wanted = guid_list(&body, "ids", MAX_CHECK_IDS)?;
            d.check_member_of_key(p.tenant, subject_type(set), key, &wanted, false).await?
        }
        Action::GetMemberGroups => {
            let subject = d.live_member_id(p.tenant, subject_type(set), key).await?;
            let ids = d.member_of_ids(p.tenant, subject, true, security_enabled_only(&body)?).await?;
            if ids.len() > MAX_MEMBER_GROUPS {
                return Err(GraphError::new(
                    400,
                    "Directory_ResultSizeLimitExceeded",
                    format!(
                        "The object is a member of more than {MAX_MEMBER_GROUPS} groups; list transitiveMemberOf instead."
                    ),
                ));
            }
            ids
        }
        Action::GetMemberObjects => {
            let subject = d.live_member_id(p.tenant, subject_type(set), key).await?;
            d.member_of_ids(p.tenant, subject, false, security_enabled_only(&body)?).await?
        }
    };
    Ok(id_collection(state, &ids))
}

/// Declares one POST handler per entity set and action.
macro_rules! action_routes {
    ($($name:ident => $set:literal, $action:ident;)*) => {$(
        pub(crate) async fn $name(
            State(s): State<GraphState>,
            Extension(p): Extension<Principal>,
            Path(id): Path<String>,
            body: Bytes,
        ) -> Result<Response, GraphError> {
            member_action(&s, &p, $set, &id, Action::$action, &body).await
        }
    )*};
}

action_routes! {
    user_check_member_groups => "users", CheckMemberGroups;
    user_get_member_groups => "users", GetMemberGroups;
    user_check_member_objects => "users", CheckMemberObjects;
    user_get_member_objects => "users", GetMemberObjects;
    group_check_member_groups => "groups", CheckMemberGroups;
    group_get_member_groups => "groups", GetMemberGroups;
    group_check_member_objects => "groups", CheckMemberObjects;
    group_get_member_objects => "groups", GetMemberObjects;
    object_check_member_groups => "directoryObjects", CheckMemberGroups;
    object_get_member_groups => "directoryObjects", GetMemberGroups;
    object_check_member_objects => "directoryObjects", CheckMemberObjects;
    object_get_member_objects => "directoryObjects", GetMemberObjects;
    device_check_member_groups => "devices", CheckMemberGroups;
    device_get_member_groups => "devices", GetMemberGroups;
    device_check_member_objects => "devices", CheckMemberObjects;
    device_get_member_objects => "devices", GetMemberObjects;
    contact_check_member_groups => "contacts", CheckMemberGroups;
    contact_get_member_groups => "contacts", GetMemberGroups;
    contact_check_member_objects => "contacts", CheckMemberObjects;
    contact_get_member_objects => "contacts", GetMemberObjects;
    sp_check_member_groups => "servicePrincipals", CheckMemberGroups;
    sp_get_member_groups => "servicePrincipals", GetMemberGroups;
    sp_check_member_objects => "servicePrincipals", CheckMemberObjects;
    sp_get_member_objects => "servicePrincipals", GetMemberObjects;
}

// ---- directoryObjects/getByIds ----

/// `POST /directoryObjects/getByIds`: the live objects among `ids` (in the order asked, each
/// once), of the `types` given (any directoryObject type when absent), in their types' default
/// shape with `@odata.type`.
pub(crate) async fn get_by_ids(
    State(state): State<GraphState>,
    Extension(p): Extension<Principal>,
    body: Bytes,
) -> Result<Response, GraphError> {
    let body = odata::object_body(&body)?;
    let ids = guid_list(&body, "ids", MAX_GET_BY_IDS)?;
    let types = match body_value(&body, "types") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                let name = v.as_str().unwrap_or_default();
                // Values are case-insensitive and may carry the namespace (`microsoft.graph.user`).
                let bare = name.rsplit('.').next().unwrap_or(name);
                cerulean_schema::entities::ALL
                    .iter()
                    .find(|e| e.name.eq_ignore_ascii_case(bare) && e.is_a("directoryObject"))
                    .map(|e| e.name)
                    .ok_or_else(|| GraphError::bad_request(format!("Invalid value '{name}' in parameter 'types'.")))
            })
            .collect::<Result<Vec<&str>, _>>()?,
        Some(_) => return Err(GraphError::bad_request("The parameter 'types' must be a collection of strings.")),
    };
    let found = state.directory.directory_objects_by_ids(p.tenant, &ids).await?;
    let mut seen = std::collections::HashSet::new();
    let mut value = Vec::with_capacity(found.len());
    for rec in &found {
        let wanted = types.is_empty()
            || types.iter().any(|t| {
                *t == "directoryObject" || cerulean_schema::entity(&rec.object_type).is_some_and(|e| e.is_a(t))
            });
        if !wanted || !seen.insert(rec.id) {
            continue;
        }
        let Some(entity) =
            cerulean_schema::entity(&rec.object_type).or_else(|| cerulean_schema::entity("directoryObject"))
        else {
            continue;
        };
        value.push(Value::Object(shape(entity, rec, None, true)));
    }
    Ok(odata::json(
        StatusCode::OK,
        json!({ "@odata.context": format!("{}/$metadata#directoryObjects", state.base()), "value": value }),
    ))
}

// ---- directoryObjects/validateProperties ----

/// `POST /directoryObjects/validateProperties`: 204 when the names pass, 422
/// `Request_UnprocessableEntity` with one `details` entry per failure
/// (directoryobject-validateproperties).
pub(crate) async fn validate_properties(
    State(state): State<GraphState>,
    Extension(p): Extension<Principal>,
    body: Bytes,
) -> Result<StatusCode, GraphError> {
    let body = odata::object_body(&body)?;
    let text = |name: &str| -> Result<Option<String>, GraphError> {
        match body_value(&body, name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(GraphError::bad_request(format!("The parameter '{name}' must be a string."))),
        }
    };
    let entity_type = text("entityType")?;
    if !entity_type.as_deref().is_some_and(|t| t.eq_ignore_ascii_case("group")) {
        return Err(GraphError::bad_request("The value of 'entityType' must be 'Group'."));
    }
    let on_behalf_of = match text("onBehalfOfUserId")? {
        Some(id) => Some(
            Uuid::parse_str(&id).map_err(|_| GraphError::bad_request(format!("Invalid object identifier '{id}'.")))?,
        ),
        None => None,
    };
    let failures = state
        .directory
        .validate_group_names(p.tenant, text("displayName")?.as_deref(), text("mailNickname")?.as_deref(), on_behalf_of)
        .await?;
    if failures.is_empty() {
        return Ok(StatusCode::NO_CONTENT);
    }
    let mut err = GraphError::new(
        422,
        "Request_UnprocessableEntity",
        "The values provided contain one or more validation errors.",
    );
    err.details = Some(Value::Array(
        failures.into_iter().map(|f| json!({ "target": f.target, "code": f.code, "message": f.message })).collect(),
    ));
    Err(err)
}
