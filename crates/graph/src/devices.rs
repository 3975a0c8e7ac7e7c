//! `/devices` routes beyond the standard entity-set ones: registered owners and users (list,
//! `$ref` add and remove), `memberOf`, and a user's `registeredDevices` / `ownedDevices`.
//! Transitive membership and the membership actions are in [`crate::membership`].

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use cerulean_store::EdgeKind;

use crate::error::GraphError;
use crate::groups::reference_target;
use crate::related::{Relation, path_target, relation_routes};
use crate::users::client_request_id;
use crate::{GraphState, Principal, caller};

const OWNERS: Relation = Relation {
    set: "devices",
    object_type: "device",
    kind: EdgeKind::Owner,
    reverse: false,
    segment: "registeredOwners",
    cast: None,
    types: &[],
    count: false,
};
const USERS: Relation = Relation { kind: EdgeKind::RegisteredUser, segment: "registeredUsers", ..OWNERS };
const MEMBER_OF: Relation = Relation { kind: EdgeKind::Member, reverse: true, segment: "memberOf", ..OWNERS };
/// A user's devices: the reverse of the device's edges, devices only (a user also owns groups
/// and applications through `Owner` edges).
const USER_DEVICES: Relation = Relation {
    set: "users",
    object_type: "user",
    kind: EdgeKind::RegisteredUser,
    reverse: true,
    segment: "registeredDevices",
    cast: None,
    types: &["device"],
    count: false,
};

relation_routes! {
    registered_owners => OWNERS;
    registered_owners_count => Relation { segment: "registeredOwners/$count", count: true, ..OWNERS };
    registered_owners_users => Relation { segment: "registeredOwners/microsoft.graph.user", cast: Some("user"), ..OWNERS };
    registered_users => USERS;
    registered_users_count => Relation { segment: "registeredUsers/$count", count: true, ..USERS };
    registered_users_users => Relation { segment: "registeredUsers/microsoft.graph.user", cast: Some("user"), ..USERS };
    member_of => MEMBER_OF;
    member_of_count => Relation { segment: "memberOf/$count", count: true, ..MEMBER_OF };
    member_of_groups => Relation { segment: "memberOf/microsoft.graph.group", cast: Some("group"), ..MEMBER_OF };
    member_of_units => Relation {
        segment: "memberOf/microsoft.graph.administrativeUnit",
        cast: Some("administrativeUnit"),
        ..MEMBER_OF
    };
    user_member_of_units => Relation {
        set: "users",
        object_type: "user",
        segment: "memberOf/microsoft.graph.administrativeUnit",
        cast: Some("administrativeUnit"),
        ..MEMBER_OF
    };
    group_member_of_units => Relation {
        set: "groups",
        object_type: "group",
        segment: "memberOf/microsoft.graph.administrativeUnit",
        cast: Some("administrativeUnit"),
        ..MEMBER_OF
    };
    user_registered_devices => USER_DEVICES;
    user_owned_devices => Relation { kind: EdgeKind::Owner, segment: "ownedDevices", ..USER_DEVICES };
}

/// Declares the `$ref` add and remove handlers of one device relationship.
macro_rules! link_routes {
    ($($add:ident, $remove:ident => $kind:expr;)*) => {$(
        pub(crate) async fn $add(
            State(s): State<GraphState>,
            Extension(p): Extension<Principal>,
            Path(id): Path<String>,
            h: HeaderMap,
            body: Bytes,
        ) -> Result<StatusCode, GraphError> {
            let target = reference_target(&body)?;
            s.directory.add_device_link(&caller(&p, client_request_id(&h)), &id, $kind, target).await?;
            Ok(StatusCode::NO_CONTENT)
        }

        pub(crate) async fn $remove(
            State(s): State<GraphState>,
            Extension(p): Extension<Principal>,
            Path((id, other)): Path<(String, String)>,
            h: HeaderMap,
        ) -> Result<StatusCode, GraphError> {
            let target = path_target(&other)?;
            s.directory.remove_device_link(&caller(&p, client_request_id(&h)), &id, $kind, target).await?;
            Ok(StatusCode::NO_CONTENT)
        }
    )*};
}

link_routes! {
    add_registered_owner, remove_registered_owner => EdgeKind::Owner;
    add_registered_user, remove_registered_user => EdgeKind::RegisteredUser;
}
