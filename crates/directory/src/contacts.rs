//! Organizational contacts (`orgContact`, the `contacts` entity set).
//!
//! Entra creates contacts only by synchronisation from on-premises (or Exchange); Graph cannot
//! create them ("You cannot create organizational contacts with the Graph API", Azure AD Graph
//! reference), so the front-ends serve no create route. [`Directory::import_contact`] is the
//! directory's own way in, for fixtures and imports: it takes a Graph-shaped JSON body,
//! validated against the `orgContact` declaration, and may also set what synchronisation sets
//! (`onPremisesSyncEnabled`, `onPremisesLastSyncDateTime`, `proxyAddresses`, a manager).
//!
//! Update and delete work on cloud contacts only: while `onPremisesSyncEnabled` is true the
//! on-premises directory is the source of authority and Entra refuses both. Contacts do not go
//! to the recycle bin (the deleted-items API does not cover them): delete removes them for good.

use cerulean_schema::EntityType;
use cerulean_store::{Change, EdgeKind, ObjectRecord, Op, StoreError};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::audit;
use crate::error::{DirectoryError, DirectoryResult};
use crate::users::{WRITE_RETRIES, merge, reject_annotations};
use crate::validate::{Mode, normalise_datetime, validate_body};
use crate::{Caller, Directory};

/// Entra's answer to writing an object whose source of authority is on-premises.
const SYNCED_REFUSED: &str = "Unable to update the specified properties for on-premises mastered Directory Sync objects or objects currently undergoing migration.";
/// Entra's answer to deleting a synchronised contact (observed: msgraph-sdk-powershell issue
/// 3238, `Remove-MgDirectoryObject` on a contact with `onPremisesSyncEnabled` true).
const SYNCED_DELETE_REFUSED: &str =
    "Data contract version does not allow 'Delete' operations against instances of resource 'OrgContact'.";
/// Most proxy addresses one contact holds on import.
const MAX_PROXY_ADDRESSES: usize = 100;

fn contact_type() -> &'static EntityType {
    cerulean_schema::entity("orgContact").expect("orgContact is declared")
}

/// The error for creating a contact through an API (Graph serves no `POST /contacts`).
pub(crate) fn not_creatable() -> DirectoryError {
    DirectoryError::bad_request("Organizational contacts cannot be created through the API.")
}

fn invalid(prop: &str) -> DirectoryError {
    DirectoryError::bad_request(format!("Invalid value specified for property '{prop}' of resource 'OrgContact'."))
}

fn is_synced(contact: &ObjectRecord) -> bool {
    contact.doc.get("onPremisesSyncEnabled").and_then(Value::as_bool) == Some(true)
}

impl Directory {
    /// Creates a contact from a Graph-shaped body, as synchronisation or an import would: the
    /// writable `orgContact` properties (validated as on any write; `displayName` required),
    /// plus the synchronisation-owned `onPremisesSyncEnabled`, `onPremisesLastSyncDateTime`
    /// and `proxyAddresses`, an optional `id` (a GUID not in use) and an optional
    /// `manager@odata.bind` naming a user or contact.
    pub async fn import_contact(&self, caller: &Caller, body: &Map<String, Value>) -> DirectoryResult<ObjectRecord> {
        let mut writable = body.clone();
        let id = match writable.remove("id") {
            None | Some(Value::Null) => Uuid::new_v4(),
            Some(Value::String(s)) => Uuid::parse_str(&s).map_err(|_| invalid("id"))?,
            Some(_) => return Err(invalid("id")),
        };
        let mut synced = Map::new();
        match writable.remove("onPremisesSyncEnabled") {
            None | Some(Value::Null) => {}
            Some(v @ Value::Bool(_)) => {
                synced.insert("onPremisesSyncEnabled".into(), v);
            }
            Some(_) => return Err(invalid("onPremisesSyncEnabled")),
        }
        match writable.remove("onPremisesLastSyncDateTime") {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) => {
                let at = normalise_datetime(&s).ok_or_else(|| invalid("onPremisesLastSyncDateTime"))?;
                synced.insert("onPremisesLastSyncDateTime".into(), Value::String(at));
            }
            Some(_) => return Err(invalid("onPremisesLastSyncDateTime")),
        }
        let proxies = match writable.remove("proxyAddresses") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) if items.len() <= MAX_PROXY_ADDRESSES => items
                .into_iter()
                .map(|v| match v {
                    Value::String(s) if !s.trim().is_empty() && s.len() <= 256 => Ok(Value::String(s)),
                    _ => Err(invalid("proxyAddresses")),
                })
                .collect::<DirectoryResult<Vec<Value>>>()?,
            Some(_) => return Err(invalid("proxyAddresses")),
        };
        let manager = match writable.remove("manager@odata.bind") {
            None | Some(Value::Null) => None,
            Some(Value::String(r)) => Some(
                crate::ids::parse_reference(&r)
                    .ok_or_else(|| DirectoryError::bad_request(format!("Invalid object identifier '{r}'.")))?,
            ),
            Some(_) => return Err(invalid("manager")),
        };
        let (props, annotations) = validate_body(contact_type(), &writable, Mode::Update)?;
        reject_annotations(&annotations, "orgContact")?;
        if props.get("displayName").and_then(Value::as_str).is_none_or(|d| d.trim().is_empty()) {
            return Err(DirectoryError::bad_request("Property displayName value is required but is empty or missing."));
        }
        if self.store.get(caller.tenant, id).await?.is_some() {
            return Err(DirectoryError::ObjectConflict { property: "id".into() });
        }
        let mut doc = Map::new();
        merge(&mut doc, &props);
        doc.extend(synced);
        doc.insert("proxyAddresses".into(), Value::Array(proxies));
        let object = ObjectRecord { id, object_type: "orgContact".into(), version: 1, doc, deleted_at: None };
        let mut ops = vec![Op::Insert { object: object.clone(), unique: Vec::new() }];
        if let Some(manager) = manager {
            let target = self
                .get(caller.tenant, manager)
                .await?
                .ok_or_else(|| DirectoryError::not_found(&manager.to_string()))?;
            if !matches!(target.object_type.as_str(), "user" | "orgContact") || target.id == id {
                return Err(invalid("manager"));
            }
            ops.push(Op::AddEdge { kind: EdgeKind::Manager, source: id, target: manager });
        }
        let change = Change {
            ops,
            audit: audit::record(
                caller,
                "Add contact",
                "Contact",
                "Add",
                vec![audit::target(&object, None, Some(&object.doc))],
            ),
        };
        match self.apply_change(caller.tenant, change).await {
            Ok(_) => Ok(object),
            Err(StoreError::Conflict { .. }) => Err(DirectoryError::ObjectConflict { property: "id".into() }),
            Err(e) => Err(e.into()),
        }
    }

    /// `PATCH /contacts/{id}`: cloud contacts only.
    pub async fn update_contact(&self, caller: &Caller, key: &str, body: &Map<String, Value>) -> DirectoryResult<()> {
        let (props, annotations) = validate_body(contact_type(), body, Mode::Update)?;
        reject_annotations(&annotations, "orgContact")?;
        if props.get("displayName").is_some_and(|d| d.as_str().is_none_or(|d| d.trim().is_empty())) {
            return Err(DirectoryError::bad_request("Property displayName value is required but is empty or missing."));
        }
        for _ in 0..WRITE_RETRIES {
            let current = self.find(caller.tenant, "orgContact", key).await?;
            if is_synced(&current) {
                return Err(DirectoryError::bad_request(SYNCED_REFUSED));
            }
            let mut doc = current.doc.clone();
            merge(&mut doc, &props);
            let change = Change {
                ops: vec![Op::Update {
                    id: current.id,
                    expected_version: current.version,
                    doc: doc.clone(),
                    unique: Vec::new(),
                }],
                audit: audit::record(
                    caller,
                    "Update contact",
                    "Contact",
                    "Update",
                    vec![audit::target(&current, Some(&current.doc), Some(&doc))],
                ),
            };
            match self.apply_change(caller.tenant, change).await {
                Ok(_) => return Ok(()),
                Err(StoreError::VersionMismatch(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(DirectoryError::Conflict("The contact was modified concurrently; retry the request.".into()))
    }

    /// `DELETE /contacts/{id}`: cloud contacts only, for good.
    pub async fn delete_contact(&self, caller: &Caller, key: &str) -> DirectoryResult<()> {
        let contact = self.find(caller.tenant, "orgContact", key).await?;
        if is_synced(&contact) {
            return Err(DirectoryError::bad_request(SYNCED_DELETE_REFUSED));
        }
        self.delete_object(caller, "orgContact", &contact.id.to_string()).await
    }
}
