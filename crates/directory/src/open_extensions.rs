//! Open extensions (`openTypeExtension`) on users and groups: untyped data an application
//! attaches to an object under a name of its own (`com.contoso.roamingSettings`).
//!
//! Each extension is an object of type `openTypeExtension` whose document holds its
//! `extensionName`, the id of the object it extends (`parentId`, never returned) and the
//! custom properties (`values`). The pair (object, name) is unique (a claim), and the name is
//! the extension's `id` on the wire. Entra's limits for directory objects hold: at most
//! [`MAX_PER_OBJECT`] open extensions per object, each at most [`MAX_BYTES`] of custom data;
//! values are primitives or arrays of primitives. PATCH merges the properties it sends (a null
//! removes one); the name cannot change. They are reached only through the object they
//! extend, so a deleted object's extensions are out of reach (and back with a restore).

use cerulean_store::{
    Change, CmpOp, Filter, ListQuery, ObjectRecord, Op, PropPath, Scalar, Scope, StoreError, ValueKind,
};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::audit;
use crate::error::{DirectoryError, DirectoryResult};
use crate::users::WRITE_RETRIES;
use crate::{Caller, Directory};

/// The object type of an open extension.
pub const OPEN_EXTENSION: &str = "openTypeExtension";
/// Open extensions one directory object may hold.
pub const MAX_PER_OBJECT: usize = 2;
/// The most custom data (serialised JSON) one open extension may hold.
pub const MAX_BYTES: usize = 2048;
const MAX_NAME: usize = 256;
const CLAIM: &str = "openExtension";

fn claim(parent: Uuid, name: &str) -> (String, String) {
    (CLAIM.to_string(), format!("{parent}/{}", name.to_ascii_lowercase()))
}

fn bad(message: impl Into<String>) -> DirectoryError {
    DirectoryError::bad_request(message)
}

/// True for a primitive, or an array of primitives.
fn allowed_value(v: &Value) -> bool {
    match v {
        Value::Array(items) => items.iter().all(|i| !matches!(i, Value::Array(_) | Value::Object(_))),
        Value::Object(_) => false,
        _ => true,
    }
}

/// Checks the custom properties of a body (everything but `@odata.type`, `extensionName` and
/// `id`), returning them.
fn custom_values(body: &Map<String, Value>) -> DirectoryResult<Map<String, Value>> {
    let mut out = Map::new();
    for (k, v) in body {
        if k == "@odata.type" || k == "extensionName" || k == "id" {
            continue;
        }
        if k.contains('@') || k.is_empty() || k.len() > MAX_NAME {
            return Err(bad(format!("The property '{k}' cannot be set on an open extension.")));
        }
        if !allowed_value(v) {
            return Err(bad(format!(
                "Invalid value specified for property '{k}': open extensions on directory objects hold primitive values and arrays of them."
            )));
        }
        out.insert(k.clone(), v.clone());
    }
    Ok(out)
}

fn check_type(body: &Map<String, Value>) -> DirectoryResult<()> {
    match body.get("@odata.type").and_then(Value::as_str) {
        Some(t) if t.trim_start_matches('#').eq_ignore_ascii_case("microsoft.graph.openTypeExtension") => Ok(()),
        Some(t) => Err(bad(format!("A type named '{t}' could not be resolved by the model."))),
        None => Err(bad("The @odata.type of an open extension must be 'microsoft.graph.openTypeExtension'.")),
    }
}

fn check_size(values: &Map<String, Value>) -> DirectoryResult<()> {
    if Value::Object(values.clone()).to_string().len() > MAX_BYTES {
        return Err(bad(format!("An open extension of a directory object holds at most {MAX_BYTES} bytes of data.")));
    }
    Ok(())
}

impl Directory {
    async fn extension_parent(&self, tenant: Uuid, object_type: &str, key: &str) -> DirectoryResult<ObjectRecord> {
        match object_type {
            "user" | "group" => self.find(tenant, object_type, key).await,
            other => Err(DirectoryError::Internal(format!("'{other}' has no open extensions here"))),
        }
    }

    /// The open extensions of an object, oldest first.
    pub async fn open_extensions(
        &self,
        tenant: Uuid,
        object_type: &str,
        key: &str,
    ) -> DirectoryResult<Vec<ObjectRecord>> {
        let parent = self.extension_parent(tenant, object_type, key).await?;
        self.open_extensions_of(tenant, parent.id).await
    }

    /// The open extensions of an object known to exist (`$expand=extensions`).
    pub async fn open_extensions_of(&self, tenant: Uuid, parent: Uuid) -> DirectoryResult<Vec<ObjectRecord>> {
        let mut query = ListQuery::new(&[OPEN_EXTENSION], Scope::Live);
        query.filter = Some(Filter::Compare {
            path: PropPath::of("parentId"),
            kind: ValueKind::String,
            op: CmpOp::Eq,
            value: Scalar::Str(parent.to_string()),
        });
        query.top = 100;
        Ok(self.store.list(tenant, &query).await?.items)
    }

    /// One open extension, by name.
    pub async fn open_extension(
        &self,
        tenant: Uuid,
        object_type: &str,
        key: &str,
        name: &str,
    ) -> DirectoryResult<ObjectRecord> {
        let parent = self.extension_parent(tenant, object_type, key).await?;
        let (ns, k) = claim(parent.id, name);
        let Some(id) = self.store.find_unique(tenant, &ns, &k).await? else {
            return Err(DirectoryError::not_found(name));
        };
        self.get(tenant, id).await?.ok_or_else(|| DirectoryError::not_found(name))
    }

    /// `POST /{users|groups}/{id}/extensions`.
    pub async fn create_open_extension(
        &self,
        caller: &Caller,
        object_type: &str,
        key: &str,
        body: &Map<String, Value>,
    ) -> DirectoryResult<ObjectRecord> {
        check_type(body)?;
        let name = body.get("extensionName").and_then(Value::as_str).map(str::trim).unwrap_or_default();
        if name.is_empty() {
            return Err(bad("Property extensionName value is required but is empty or missing."));
        }
        if name.len() > MAX_NAME || name.chars().any(|c| c.is_control() || c == '/' || c == '\\') {
            return Err(bad("Invalid value specified for property 'extensionName' of resource 'OpenTypeExtension'."));
        }
        let values = custom_values(body)?;
        check_size(&values)?;
        let parent = self.extension_parent(caller.tenant, object_type, key).await?;
        if self.open_extensions_of(caller.tenant, parent.id).await?.len() >= MAX_PER_OBJECT {
            return Err(bad(format!("A directory object can hold at most {MAX_PER_OBJECT} open extensions.")));
        }
        let doc = json!({"extensionName": name, "parentId": parent.id.to_string(), "values": values});
        let object = ObjectRecord {
            id: Uuid::new_v4(),
            object_type: OPEN_EXTENSION.into(),
            version: 1,
            doc: doc.as_object().cloned().unwrap_or_default(),
            deleted_at: None,
        };
        let change = Change {
            ops: vec![Op::Insert { object: object.clone(), unique: vec![claim(parent.id, name)] }],
            audit: audit::record(
                caller,
                "Add open extension",
                if object_type == "group" { "GroupManagement" } else { "UserManagement" },
                "Add",
                vec![audit::bare_target(&parent)],
            ),
        };
        match self.store.apply(caller.tenant, change).await {
            Ok(_) => Ok(object),
            Err(StoreError::Conflict { .. }) => Err(DirectoryError::Conflict(format!(
                "An open extension named '{name}' exists on this object already."
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// `PATCH /{users|groups}/{id}/extensions/{name}`: merges the properties sent.
    pub async fn update_open_extension(
        &self,
        caller: &Caller,
        object_type: &str,
        key: &str,
        name: &str,
        body: &Map<String, Value>,
    ) -> DirectoryResult<()> {
        if body.contains_key("@odata.type") {
            check_type(body)?;
        }
        if let Some(n) = body.get("extensionName")
            && !n.as_str().is_some_and(|n| n.eq_ignore_ascii_case(name))
        {
            return Err(bad("Property 'extensionName' cannot be updated."));
        }
        let changes = custom_values(body)?;
        for _ in 0..WRITE_RETRIES {
            let current = self.open_extension(caller.tenant, object_type, key, name).await?;
            let mut doc = current.doc.clone();
            let mut values = doc.get("values").and_then(Value::as_object).cloned().unwrap_or_default();
            crate::users::merge(&mut values, &changes);
            check_size(&values)?;
            doc.insert("values".into(), Value::Object(values));
            let parent_id = doc.get("parentId").and_then(Value::as_str).and_then(|p| Uuid::parse_str(p).ok());
            let unique = parent_id.map(|p| vec![claim(p, name)]).unwrap_or_default();
            let change = Change {
                ops: vec![Op::Update { id: current.id, expected_version: current.version, doc, unique }],
                audit: audit::record(
                    caller,
                    "Update open extension",
                    if object_type == "group" { "GroupManagement" } else { "UserManagement" },
                    "Update",
                    vec![audit::bare_target(&current)],
                ),
            };
            match self.store.apply(caller.tenant, change).await {
                Ok(_) => return Ok(()),
                Err(StoreError::VersionMismatch(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(DirectoryError::Conflict("The extension was modified concurrently; retry the request.".into()))
    }

    /// `DELETE /{users|groups}/{id}/extensions/{name}`.
    pub async fn delete_open_extension(
        &self,
        caller: &Caller,
        object_type: &str,
        key: &str,
        name: &str,
    ) -> DirectoryResult<()> {
        let current = self.open_extension(caller.tenant, object_type, key, name).await?;
        let change = Change {
            ops: vec![Op::Purge { id: current.id }],
            audit: audit::record(
                caller,
                "Delete open extension",
                if object_type == "group" { "GroupManagement" } else { "UserManagement" },
                "Delete",
                vec![audit::bare_target(&current)],
            ),
        };
        self.store.apply(caller.tenant, change).await?;
        Ok(())
    }
}
