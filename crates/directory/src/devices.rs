//! Devices ("Create device", "Update device", "Delete device") and their registered owners and
//! users.
//!
//! A device is registered with `accountEnabled`, `alternativeSecurityIds`, `deviceId`,
//! `displayName`, `operatingSystem` and `operatingSystemVersion` (Entra refuses a device
//! without them). `deviceId` is a GUID, unique in the tenant (a uniqueness claim) and the
//! device's alternate key: `devices(deviceId='{deviceId}')` addresses the same object as its id.
//! Each `alternativeSecurityIds` entry carries its `type` and a base64 `key`.
//!
//! Devices do not go to the recycle bin: "Delete device" removes the object for good (the
//! deleted-items API covers users, groups, applications, service principals and administrative
//! units only), with its memberships, owners and users.
//!
//! Registered owners are `Owner` edges (device -> user, so `ownedDevices` is the reverse walk);
//! registered users are `RegisteredUser` edges. Both take users only.
//!
//! A device written (created or updated) is evaluated against the tenant's dynamic device
//! groups (`device.<property>` rules), as a user is.

use base64::Engine;
use cerulean_schema::EntityType;
use cerulean_store::{Change, EdgeKind, ObjectRecord, Op, StoreError};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::audit;
use crate::error::{DirectoryError, DirectoryResult};
use crate::groups::{already_exist, invalid_reference};
use crate::users::{WRITE_RETRIES, merge, reject_annotations};
use crate::validate::{Mode, now, validate_body};
use crate::{Caller, Directory};

/// The uniqueness namespace of `deviceId`, and the prefix of the alternate-key form
/// (`deviceId={value}`) that front-ends pass for `devices(deviceId='{value}')`.
pub const DEVICE_ID_KEY: &str = "deviceId";
/// Largest `key` of an alternative security id, in bytes once decoded.
const MAX_ALTERNATIVE_KEY: usize = 8 * 1024;

fn device_type() -> &'static EntityType {
    cerulean_schema::entity("device").expect("device is declared")
}

/// Claims a device holds exclusively: its `deviceId`.
pub(crate) fn device_claims(doc: &Map<String, Value>) -> Vec<(String, String)> {
    doc.get("deviceId")
        .and_then(Value::as_str)
        .map(|d| vec![(DEVICE_ID_KEY.to_string(), d.to_ascii_lowercase())])
        .unwrap_or_default()
}

fn invalid(prop: &str) -> DirectoryError {
    DirectoryError::bad_request(format!("Invalid value specified for property '{prop}' of resource 'Device'."))
}

/// Entra's rules on a device body, beyond the schema's.
fn check_device_values(props: &Map<String, Value>) -> DirectoryResult<()> {
    if let Some(id) = props.get("deviceId").and_then(Value::as_str)
        && Uuid::parse_str(id).is_err()
    {
        return Err(invalid("deviceId"));
    }
    if let Some(Value::Array(items)) = props.get("alternativeSecurityIds") {
        for item in items {
            let Some(obj) = item.as_object() else { return Err(invalid("alternativeSecurityIds")) };
            if !obj.get("type").is_some_and(Value::is_i64) {
                return Err(invalid("alternativeSecurityIds"));
            }
            let key = obj.get("key").and_then(Value::as_str).unwrap_or_default();
            let decoded =
                base64::engine::general_purpose::STANDARD.decode(key).map_err(|_| invalid("alternativeSecurityIds"))?;
            if decoded.is_empty() || decoded.len() > MAX_ALTERNATIVE_KEY {
                return Err(invalid("alternativeSecurityIds"));
            }
        }
    }
    Ok(())
}

impl Directory {
    /// A live device by its id or by `deviceId={deviceId}`.
    pub async fn find_device(&self, tenant: Uuid, key: &str) -> DirectoryResult<ObjectRecord> {
        if let Some(device_id) = key.get(..9).filter(|p| p.eq_ignore_ascii_case("deviceId=")).map(|_| &key[9..]) {
            let device_id = device_id.trim_matches('\'');
            let Some(id) = self.store.find_unique(tenant, DEVICE_ID_KEY, &device_id.to_ascii_lowercase()).await? else {
                return Err(DirectoryError::not_found(device_id));
            };
            return self.find(tenant, "device", &id.to_string()).await;
        }
        self.find(tenant, "device", key).await
    }

    /// `POST /devices`.
    pub async fn create_device(&self, caller: &Caller, body: &Map<String, Value>) -> DirectoryResult<ObjectRecord> {
        self.create_device_preset(caller, body, Uuid::new_v4()).await
    }

    /// [`Directory::create_device`] with the object id chosen by the caller (fixture import).
    pub(crate) async fn create_device_preset(
        &self,
        caller: &Caller,
        body: &Map<String, Value>,
        id: Uuid,
    ) -> DirectoryResult<ObjectRecord> {
        let (props, annotations) = validate_body(device_type(), body, Mode::Create)?;
        reject_annotations(&annotations, "device")?;
        check_device_values(&props)?;
        let mut doc = json!({
            "physicalIds": [],
            "systemLabels": [],
            "profileType": "RegisteredDevice",
            "registrationDateTime": now(),
        })
        .as_object()
        .cloned()
        .unwrap_or_default();
        merge(&mut doc, &props);
        let object = ObjectRecord { id, object_type: "device".into(), version: 1, doc, deleted_at: None };
        let change = Change {
            ops: vec![Op::Insert { object: object.clone(), unique: device_claims(&object.doc) }],
            audit: audit::record(
                caller,
                "Add device",
                "Device",
                "Add",
                vec![audit::target(&object, None, Some(&object.doc))],
            ),
        };
        self.apply_change(caller.tenant, change).await?;
        self.reevaluate_member(caller.tenant, object.id).await?;
        Ok(object)
    }

    /// `PATCH /devices/{id}`.
    pub async fn update_device(&self, caller: &Caller, key: &str, body: &Map<String, Value>) -> DirectoryResult<()> {
        let (props, annotations) = validate_body(device_type(), body, Mode::Update)?;
        reject_annotations(&annotations, "device")?;
        check_device_values(&props)?;
        for _ in 0..WRITE_RETRIES {
            let current = self.find_device(caller.tenant, key).await?;
            let mut doc = current.doc.clone();
            merge(&mut doc, &props);
            let change = Change {
                ops: vec![Op::Update {
                    id: current.id,
                    expected_version: current.version,
                    doc: doc.clone(),
                    unique: device_claims(&doc),
                }],
                audit: audit::record(
                    caller,
                    "Update device",
                    "Device",
                    "Update",
                    vec![audit::target(&current, Some(&current.doc), Some(&doc))],
                ),
            };
            match self.apply_change(caller.tenant, change).await {
                Ok(_) => return self.reevaluate_member(caller.tenant, current.id).await,
                Err(StoreError::VersionMismatch(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(DirectoryError::Conflict("The device was modified concurrently; retry the request.".into()))
    }

    /// `DELETE /devices/{id}`: for good (devices have no recycle bin).
    pub async fn delete_device(&self, caller: &Caller, key: &str) -> DirectoryResult<()> {
        let device = self.find_device(caller.tenant, key).await?;
        self.delete_object(caller, "device", &device.id.to_string()).await
    }

    /// `POST /devices/{id}/registeredOwners/$ref` (`EdgeKind::Owner`) and
    /// `/registeredUsers/$ref` (`EdgeKind::RegisteredUser`).
    pub async fn add_device_link(
        &self,
        caller: &Caller,
        device_key: &str,
        kind: EdgeKind,
        target: Uuid,
    ) -> DirectoryResult<()> {
        let (device, user, property) = self.device_link_ends(caller.tenant, device_key, kind, target).await?;
        let activity =
            if kind == EdgeKind::Owner { "Add registered owner to device" } else { "Add registered users to device" };
        let change = Change {
            ops: vec![Op::AddEdge { kind, source: device.id, target }],
            audit: audit::record(
                caller,
                activity,
                "Device",
                "Assign",
                vec![audit::bare_target(&device), audit::bare_target(&user)],
            ),
        };
        match self.apply_change(caller.tenant, change).await {
            Ok(_) => Ok(()),
            Err(StoreError::EdgeExists(_)) => Err(already_exist(property)),
            Err(StoreError::NotFound(_)) => Err(invalid_reference(target)),
            Err(e) => Err(e.into()),
        }
    }

    /// `DELETE /devices/{id}/registeredOwners/{userId}/$ref` and `/registeredUsers/...`.
    pub async fn remove_device_link(
        &self,
        caller: &Caller,
        device_key: &str,
        kind: EdgeKind,
        target: Uuid,
    ) -> DirectoryResult<()> {
        let (device, user, _) = self.device_link_ends(caller.tenant, device_key, kind, target).await?;
        if !self.store.has_edge(caller.tenant, kind, device.id, target).await? {
            return Err(invalid_reference(target));
        }
        let activity = if kind == EdgeKind::Owner {
            "Remove registered owner from device"
        } else {
            "Remove registered users from device"
        };
        let change = Change {
            ops: vec![Op::RemoveEdge { kind, source: device.id, target }],
            audit: audit::record(
                caller,
                activity,
                "Device",
                "Unassign",
                vec![audit::bare_target(&device), audit::bare_target(&user)],
            ),
        };
        match self.apply_change(caller.tenant, change).await {
            Ok(_) => Ok(()),
            Err(StoreError::NotFound(_)) => Err(invalid_reference(target)),
            Err(e) => Err(e.into()),
        }
    }

    /// The device and the user of a registered owner/user link, checked.
    async fn device_link_ends(
        &self,
        tenant: Uuid,
        device_key: &str,
        kind: EdgeKind,
        target: Uuid,
    ) -> DirectoryResult<(ObjectRecord, ObjectRecord, &'static str)> {
        let property = match kind {
            EdgeKind::Owner => "registeredOwners",
            EdgeKind::RegisteredUser => "registeredUsers",
            _ => return Err(DirectoryError::Internal(format!("{kind:?} is not a device relationship"))),
        };
        let device = self.find_device(tenant, device_key).await?;
        let other = self.get(tenant, target).await?.ok_or_else(|| invalid_reference(target))?;
        if other.object_type != "user" {
            return Err(DirectoryError::bad_request(format!(
                "An object of type '{}' cannot be added to the '{property}' of this device.",
                other.object_type
            )));
        }
        Ok((device, other, property))
    }
}
