//! Schema extensions (`/schemaExtensions`): typed groups of custom properties an application
//! defines for some resource types, whose values objects hold as one complex property named by
//! the schema extension's id (`contoso_courses: {"courseId": 1, ...}`).
//!
//! Rules, as in Graph:
//! - the id is `{alias}_{name}` when the requested id starts with the alias of one of the
//!   tenant's verified domains other than the initial one (`contoso` for `contoso.com`);
//!   otherwise `ext{8 random characters}_{name}`;
//! - `owner` is the appId of an application of the tenant (by default the calling app's);
//! - `status` moves `InDevelopment` → `Available` → `Deprecated`, never back; properties and
//!   target types can only be added, never removed or changed; only the owner application
//!   updates it; it can be deleted only while `InDevelopment`;
//! - property types are `Binary` (256 bytes), `Boolean`, `DateTime`, `Integer` (32-bit) and
//!   `String` (256 characters); values written to a `Deprecated` extension are refused.
//!
//! A schema extension is an object of type `schemaExtension` whose document holds its wire
//! properties (`schemaId` for the id); its id is unique in the tenant (a claim).

use cerulean_store::{Change, ListQuery, ObjectRecord, Op, Scope, StoreError};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::audit;
use crate::error::{DirectoryError, DirectoryResult};
use crate::users::WRITE_RETRIES;
use crate::validate::normalise_datetime;
use crate::{Caller, Directory};

pub const SCHEMA_EXTENSION: &str = "schemaExtension";
const ID_CLAIM: &str = "schemaExtensionId";
/// Property types of a schema extension.
pub const PROPERTY_TYPES: &[&str] = &["Binary", "Boolean", "DateTime", "Integer", "String"];
/// Resource types a schema extension may target here, with the object type each names.
const TARGETS: &[(&str, &str)] = &[
    ("User", "user"),
    ("Group", "group"),
    ("AdministrativeUnit", "administrativeUnit"),
    ("Device", "device"),
    ("Application", "application"),
];
const STATUSES: &[&str] = &["InDevelopment", "Available", "Deprecated"];
const MAX_NAME: usize = 100;
const MAX_DESCRIPTION: usize = 1024;
const MAX_PROPERTIES: usize = 100;

fn bad(message: impl Into<String>) -> DirectoryError {
    DirectoryError::bad_request(message)
}

/// A schema extension as writers and the query layer need it.
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaDefinition {
    pub id: String,
    pub status: String,
    /// Object types it targets.
    pub targets: Vec<String>,
    /// (name, type) of each property.
    pub properties: Vec<(String, String)>,
}

impl SchemaDefinition {
    fn from_record(rec: &ObjectRecord) -> Option<SchemaDefinition> {
        let id = rec.doc.get("schemaId")?.as_str()?.to_string();
        let status = rec.doc.get("status").and_then(Value::as_str).unwrap_or("InDevelopment").to_string();
        let targets = strings(rec.doc.get("targetTypes"))
            .iter()
            .filter_map(|t| TARGETS.iter().find(|(n, _)| n.eq_ignore_ascii_case(t)).map(|(_, o)| (*o).to_string()))
            .collect();
        let properties = rec
            .doc
            .get("properties")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|p| Some((p.get("name")?.as_str()?.to_string(), p.get("type")?.as_str()?.to_string())))
            .collect();
        Some(SchemaDefinition { id, status, targets, properties })
    }

    /// Checks a value (an object of this extension's properties) for a write.
    pub(crate) fn check(&self, value: &Value) -> DirectoryResult<Value> {
        if self.status == "Deprecated" {
            return Err(bad(format!(
                "The schema extension '{}' is deprecated: its values cannot be written.",
                self.id
            )));
        }
        let invalid = |p: &str| bad(format!("Invalid value specified for property '{}/{p}'.", self.id));
        let obj = match value {
            Value::Null => return Ok(Value::Null),
            Value::Object(o) => o,
            _ => return Err(invalid("")),
        };
        let mut out = Map::new();
        for (k, v) in obj {
            if k.starts_with('@') {
                continue;
            }
            let Some((name, ty)) = self.properties.iter().find(|(n, _)| n.eq_ignore_ascii_case(k)) else {
                return Err(bad(format!(
                    "Property '{k}' does not exist as a declared property of the schema extension '{}'.",
                    self.id
                )));
            };
            let checked = match (ty.as_str(), v) {
                (_, Value::Null) => Value::Null,
                ("Boolean", Value::Bool(_)) => v.clone(),
                ("Integer", Value::Number(n)) if n.as_i64().is_some_and(|i| i32::try_from(i).is_ok()) => v.clone(),
                ("DateTime", Value::String(s)) => {
                    normalise_datetime(s).map(Value::String).ok_or_else(|| invalid(name))?
                }
                ("Binary", Value::String(s)) => {
                    use base64::Engine;
                    let bytes = base64::engine::general_purpose::STANDARD.decode(s).map_err(|_| invalid(name))?;
                    if bytes.len() > 256 {
                        return Err(invalid(name));
                    }
                    v.clone()
                }
                ("String", Value::String(s)) if s.chars().count() <= 256 => v.clone(),
                _ => return Err(invalid(name)),
            };
            if !checked.is_null() {
                out.insert(name.clone(), checked);
            }
        }
        Ok(Value::Object(out))
    }
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).map(str::to_string).collect()
}

/// Canonical target type names, checked.
fn check_targets(v: Option<&Value>) -> DirectoryResult<Vec<String>> {
    let Some(Value::Array(items)) = v else {
        return Err(bad("Property targetTypes value is required but is empty or missing."));
    };
    let mut out: Vec<String> = Vec::new();
    for item in items {
        let t = item.as_str().unwrap_or_default();
        let Some((canonical, _)) = TARGETS.iter().find(|(n, _)| n.eq_ignore_ascii_case(t)) else {
            return Err(bad(format!("Invalid value specified for property 'targetTypes': '{t}' cannot be extended.")));
        };
        if !out.iter().any(|x| x == canonical) {
            out.push((*canonical).to_string());
        }
    }
    if out.is_empty() {
        return Err(bad("Property targetTypes value is required but is empty or missing."));
    }
    Ok(out)
}

fn valid_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= MAX_NAME
        && n.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && n.chars().all(|c| c.is_ascii_alphanumeric())
}

/// `properties`, checked: names unique (case-insensitively), types known.
fn check_properties(v: Option<&Value>) -> DirectoryResult<Vec<Value>> {
    let Some(Value::Array(items)) = v else {
        return Err(bad("Property properties value is required but is empty or missing."));
    };
    if items.len() > MAX_PROPERTIES {
        return Err(bad(format!("A schema extension has at most {MAX_PROPERTIES} properties.")));
    }
    let mut out: Vec<Value> = Vec::new();
    for item in items {
        let name = item.get("name").and_then(Value::as_str).unwrap_or_default();
        let ty = item.get("type").and_then(Value::as_str).unwrap_or_default();
        if !valid_name(name) {
            return Err(bad(format!(
                "Invalid value specified for property 'properties': the name '{name}' is not valid."
            )));
        }
        let Some(ty) = PROPERTY_TYPES.iter().find(|t| t.eq_ignore_ascii_case(ty)) else {
            return Err(bad(format!(
                "Invalid value specified for property 'properties': the type '{ty}' is not supported."
            )));
        };
        if out.iter().any(|p| p["name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(name))) {
            return Err(bad(format!("The property '{name}' is declared twice.")));
        }
        out.push(json!({"name": name, "type": ty}));
    }
    Ok(out)
}

impl Directory {
    async fn schema_records(&self, tenant: Uuid) -> DirectoryResult<Vec<ObjectRecord>> {
        self.all_pages(tenant, ListQuery::new(&[SCHEMA_EXTENSION], Scope::Live)).await
    }

    /// `GET /schemaExtensions`: every schema extension of the tenant.
    pub async fn schema_extensions(&self, tenant: Uuid) -> DirectoryResult<Vec<ObjectRecord>> {
        self.schema_records(tenant).await
    }

    /// `GET /schemaExtensions/{id}`.
    pub async fn schema_extension(&self, tenant: Uuid, id: &str) -> DirectoryResult<ObjectRecord> {
        let Some(object) = self.store.find_unique(tenant, ID_CLAIM, &id.to_ascii_lowercase()).await? else {
            return Err(DirectoryError::not_found(id));
        };
        self.get(tenant, object).await?.ok_or_else(|| DirectoryError::not_found(id))
    }

    /// The schema extensions that apply to objects of `object_type`.
    pub async fn schema_definitions(&self, tenant: Uuid, object_type: &str) -> DirectoryResult<Vec<SchemaDefinition>> {
        Ok(self
            .schema_records(tenant)
            .await?
            .iter()
            .filter_map(SchemaDefinition::from_record)
            .filter(|d| d.targets.iter().any(|t| t == object_type))
            .collect())
    }

    /// `POST /schemaExtensions`. `caller_app_id` is the calling application's appId (the
    /// default owner).
    pub async fn create_schema_extension(
        &self,
        caller: &Caller,
        caller_app_id: &str,
        body: &Map<String, Value>,
    ) -> DirectoryResult<ObjectRecord> {
        for key in body.keys() {
            if !matches!(key.as_str(), "id" | "description" | "targetTypes" | "properties" | "owner" | "@odata.type") {
                if key == "status" {
                    return Err(bad(
                        "Property 'status' cannot be set on create: a schema extension starts InDevelopment.",
                    ));
                }
                return Err(crate::validate::unknown_property(key, SCHEMA_EXTENSION));
            }
        }
        let requested = body.get("id").and_then(Value::as_str).map(str::trim).unwrap_or_default();
        if requested.is_empty() {
            return Err(bad("Property id value is required but is empty or missing."));
        }
        let tenant = self.tenant_record(caller.tenant).await?;
        let aliases: Vec<String> = tenant
            .domains
            .iter()
            .filter(|d| d.is_verified && !d.is_initial)
            .filter_map(|d| d.name.split('.').next().map(str::to_ascii_lowercase))
            .collect();
        let id = match requested.split_once('_') {
            Some((alias, name)) if aliases.iter().any(|a| a.eq_ignore_ascii_case(alias)) => {
                if !valid_name(name) {
                    return Err(bad("Invalid value specified for property 'id' of resource 'SchemaExtension'."));
                }
                format!("{}_{name}", alias.to_ascii_lowercase())
            }
            _ => {
                if !valid_name(requested) {
                    return Err(bad("Invalid value specified for property 'id' of resource 'SchemaExtension'."));
                }
                let random: String = Uuid::new_v4().simple().to_string().chars().take(8).collect();
                format!("ext{random}_{requested}")
            }
        };
        let description = match body.get("description") {
            None | Some(Value::Null) => Value::Null,
            Some(Value::String(s)) if s.chars().count() <= MAX_DESCRIPTION => json!(s),
            Some(_) => {
                return Err(bad("Invalid value specified for property 'description' of resource 'SchemaExtension'."));
            }
        };
        let targets = check_targets(body.get("targetTypes"))?;
        let properties = check_properties(body.get("properties"))?;
        let owner = match body.get("owner").and_then(Value::as_str) {
            Some(o) => o.to_string(),
            None => caller_app_id.to_string(),
        };
        if Uuid::parse_str(&owner).is_err()
            || self.find_application(caller.tenant, &format!("appId={owner}")).await.is_err()
        {
            return Err(bad(format!(
                "Invalid value specified for property 'owner': '{owner}' is not the appId of an application of this organization."
            )));
        }
        let doc = json!({
            "schemaId": id,
            "description": description,
            "targetTypes": targets,
            "properties": properties,
            "owner": owner.to_ascii_lowercase(),
            "status": "InDevelopment",
        });
        let object = ObjectRecord {
            id: Uuid::new_v4(),
            object_type: SCHEMA_EXTENSION.into(),
            version: 1,
            doc: doc.as_object().cloned().unwrap_or_default(),
            deleted_at: None,
        };
        let change = Change {
            ops: vec![Op::Insert { object: object.clone(), unique: vec![(ID_CLAIM.into(), id.to_ascii_lowercase())] }],
            audit: audit::record(
                caller,
                "Add schema extension",
                "ApplicationManagement",
                "Add",
                vec![audit::target(&object, None, Some(&object.doc))],
            ),
        };
        match self.store.apply(caller.tenant, change).await {
            Ok(_) => Ok(object),
            Err(StoreError::Conflict { .. }) => {
                Err(DirectoryError::Conflict(format!("A schema extension with the id '{id}' exists already.")))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// `PATCH /schemaExtensions/{id}`: by the owner app only; additive changes and forward
    /// status moves.
    pub async fn update_schema_extension(
        &self,
        caller: &Caller,
        caller_app_id: &str,
        id: &str,
        body: &Map<String, Value>,
    ) -> DirectoryResult<()> {
        for _ in 0..WRITE_RETRIES {
            let current = self.schema_extension(caller.tenant, id).await?;
            check_owner(&current, caller_app_id)?;
            let mut doc = current.doc.clone();
            let status = doc.get("status").and_then(Value::as_str).unwrap_or("InDevelopment").to_string();
            for (key, value) in body {
                match key.as_str() {
                    "@odata.type" => {}
                    "id" | "owner" => {
                        if value.as_str().is_some_and(|v| {
                            Some(v.to_ascii_lowercase())
                                == doc
                                    .get(if key == "id" { "schemaId" } else { "owner" })
                                    .and_then(Value::as_str)
                                    .map(str::to_ascii_lowercase)
                        }) {
                            continue;
                        }
                        return Err(bad(format!("Property '{key}' of a schema extension cannot be changed.")));
                    }
                    "description" => match value {
                        Value::String(s) if s.chars().count() <= MAX_DESCRIPTION => {
                            doc.insert("description".into(), value.clone());
                        }
                        Value::Null => {
                            doc.insert("description".into(), Value::Null);
                        }
                        _ => {
                            return Err(bad(
                                "Invalid value specified for property 'description' of resource 'SchemaExtension'.",
                            ));
                        }
                    },
                    "status" => {
                        let new = value.as_str().unwrap_or_default();
                        let Some(new) = STATUSES.iter().find(|s| s.eq_ignore_ascii_case(new)) else {
                            return Err(bad(
                                "Invalid value specified for property 'status' of resource 'SchemaExtension'.",
                            ));
                        };
                        let from = STATUSES.iter().position(|s| *s == status).unwrap_or(0);
                        let to = STATUSES.iter().position(|s| s == new).unwrap_or(0);
                        if to < from {
                            return Err(bad(format!(
                                "The status of a schema extension cannot move from '{status}' to '{new}'."
                            )));
                        }
                        doc.insert("status".into(), json!(new));
                    }
                    "targetTypes" => {
                        let new = check_targets(Some(value))?;
                        let old = strings(doc.get("targetTypes"));
                        if old.iter().any(|o| !new.contains(o)) {
                            return Err(bad("Target types of a schema extension can be added, not removed."));
                        }
                        doc.insert("targetTypes".into(), json!(new));
                    }
                    "properties" => {
                        if status == "Deprecated" {
                            return Err(bad("A deprecated schema extension cannot change."));
                        }
                        let new = check_properties(Some(value))?;
                        let old = doc.get("properties").and_then(Value::as_array).cloned().unwrap_or_default();
                        for p in &old {
                            if !new.iter().any(|n| n == p) {
                                return Err(bad(
                                    "Properties of a schema extension can be added, not removed or changed.",
                                ));
                            }
                        }
                        doc.insert("properties".into(), Value::Array(new));
                    }
                    other => return Err(crate::validate::unknown_property(other, SCHEMA_EXTENSION)),
                }
            }
            let change = Change {
                ops: vec![Op::Update {
                    id: current.id,
                    expected_version: current.version,
                    doc: doc.clone(),
                    unique: vec![(ID_CLAIM.into(), id.to_ascii_lowercase())],
                }],
                audit: audit::record(
                    caller,
                    "Update schema extension",
                    "ApplicationManagement",
                    "Update",
                    vec![audit::target(&current, Some(&current.doc), Some(&doc))],
                ),
            };
            match self.store.apply(caller.tenant, change).await {
                Ok(_) => return Ok(()),
                Err(StoreError::VersionMismatch(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(DirectoryError::Conflict("The schema extension was modified concurrently; retry the request.".into()))
    }

    /// `DELETE /schemaExtensions/{id}`: by the owner app, while `InDevelopment`.
    pub async fn delete_schema_extension(&self, caller: &Caller, caller_app_id: &str, id: &str) -> DirectoryResult<()> {
        let current = self.schema_extension(caller.tenant, id).await?;
        check_owner(&current, caller_app_id)?;
        if current.doc.get("status").and_then(Value::as_str) != Some("InDevelopment") {
            return Err(bad("A schema extension can be deleted only while its status is InDevelopment."));
        }
        let change = Change {
            ops: vec![Op::Purge { id: current.id }],
            audit: audit::record(
                caller,
                "Delete schema extension",
                "ApplicationManagement",
                "Delete",
                vec![audit::bare_target(&current)],
            ),
        };
        self.store.apply(caller.tenant, change).await?;
        Ok(())
    }
}

fn check_owner(rec: &ObjectRecord, caller_app_id: &str) -> DirectoryResult<()> {
    let owner = rec.doc.get("owner").and_then(Value::as_str).unwrap_or_default();
    if owner.eq_ignore_ascii_case(caller_app_id) {
        Ok(())
    } else {
        Err(DirectoryError::Forbidden(
            "Only the owner application of a schema extension can update or delete it.".into(),
        ))
    }
}
