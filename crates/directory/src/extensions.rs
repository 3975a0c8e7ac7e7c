//! Directory extensions ("Create extensionProperty", "List extensionProperties", "Delete
//! extensionProperty", "directoryObject: getAvailableExtensionProperties") and the values
//! objects hold for them.
//!
//! A definition is an `extensionProperty` object owned by the application whose `appId` is in
//! its name: `extension_{appIdWithoutDashes}_{name}` (so an application's definitions are the
//! ones whose name starts with its prefix, and no separate link is kept). The full name is
//! unique in the tenant (a uniqueness claim). Definitions cannot be updated, as in Graph.
//!
//! Values live in the target object's document under the full name, like any property, so
//! the store filters on them the way it filters on declared properties. Writes are checked
//! against the definition (`dataType`, `isMultiValued`, the object type among
//! `targetObjects`); a name no definition has is refused. Graph returns the values only when
//! `$select`ed; a front-end asks [`Directory::extension_definitions`] for what may be selected
//! and filtered. Deleting a definition makes its values unreachable at once (they are neither
//! selectable nor filterable any more) and the next write to the object drops them.

use cerulean_schema::EdmType;
use cerulean_store::{Change, Filter, ListQuery, ObjectRecord, Op, Scope, StoreError};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::audit;
use crate::error::{DirectoryError, DirectoryResult};
use crate::users::WRITE_RETRIES;
use crate::validate::normalise_datetime;
use crate::{Caller, Directory};

/// The object type of a definition.
pub const EXTENSION_PROPERTY: &str = "extensionProperty";
/// Uniqueness namespace of definition names (lower-cased).
const NAME_CLAIM: &str = "extensionPropertyName";
/// "Only 100 extension values, across all types and all applications, can be written to any
/// single Microsoft Entra resource."
pub const MAX_VALUES_PER_OBJECT: usize = 100;
/// Limits of the data types ("Create extensionProperty": Binary 256 bytes, String 256
/// characters, per value of a multi-valued extension).
const MAX_STRING_CHARS: usize = 256;
const MAX_BINARY_BYTES: usize = 256;
/// The longest `name` accepted on create (the part after the prefix).
const MAX_NAME: usize = 120;
/// Most values of one multi-valued extension.
const MAX_MULTI_VALUES: usize = 1000;

/// The data types of a directory extension.
pub const DATA_TYPES: &[&str] = &["Binary", "Boolean", "DateTime", "Integer", "LargeInteger", "String"];
/// The `targetObjects` values, in Graph's PascalCase, with the object type each names.
const TARGETS: &[(&str, &str)] = &[
    ("User", "user"),
    ("Group", "group"),
    ("AdministrativeUnit", "administrativeUnit"),
    ("Application", "application"),
    ("Device", "device"),
    ("Organization", "organization"),
];

/// One directory extension as the query layer and writers need it.
#[derive(Debug, Clone, PartialEq)]
pub struct ExtensionDefinition {
    /// `extension_{appId}_{name}`.
    pub name: String,
    /// One of [`DATA_TYPES`].
    pub data_type: String,
    pub multi_valued: bool,
    /// Object types (`user`, `group`, ...) it applies to.
    pub targets: Vec<String>,
}

impl ExtensionDefinition {
    fn from_record(rec: &ObjectRecord) -> Option<ExtensionDefinition> {
        let name = rec.doc.get("name")?.as_str()?.to_string();
        let data_type = rec.doc.get("dataType")?.as_str()?.to_string();
        let multi_valued = rec.doc.get("isMultiValued").and_then(Value::as_bool).unwrap_or(false);
        let targets = rec
            .doc
            .get("targetObjects")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter_map(|t| TARGETS.iter().find(|(n, _)| n.eq_ignore_ascii_case(t)).map(|(_, o)| (*o).to_string()))
            .collect();
        Some(ExtensionDefinition { name, data_type, multi_valued, targets })
    }

    /// The EDM type values of this extension have (`$filter` typing).
    pub fn edm_type(&self) -> EdmType {
        match self.data_type.as_str() {
            "Boolean" => EdmType::Boolean,
            "Integer" => EdmType::Int32,
            "LargeInteger" => EdmType::Int64,
            "DateTime" => EdmType::DateTimeOffset,
            "Binary" => EdmType::Binary,
            _ => EdmType::String,
        }
    }

    /// Checks one value for this extension, returning it as stored (date-times normalised).
    fn check(&self, value: &Value, resource: &str) -> DirectoryResult<Value> {
        let bad = || invalid_value(&self.name, resource);
        if value.is_null() {
            return Ok(Value::Null);
        }
        if self.multi_valued {
            let Value::Array(items) = value else { return Err(bad()) };
            if items.len() > MAX_MULTI_VALUES {
                return Err(bad());
            }
            let out = items.iter().map(|v| self.scalar(v).ok_or_else(bad)).collect::<DirectoryResult<Vec<_>>>()?;
            return Ok(Value::Array(out));
        }
        self.scalar(value).ok_or_else(bad)
    }

    fn scalar(&self, value: &Value) -> Option<Value> {
        use base64::Engine;
        match self.data_type.as_str() {
            "Boolean" => value.is_boolean().then(|| value.clone()),
            "Integer" => value.as_i64().filter(|n| i32::try_from(*n).is_ok()).map(|_| value.clone()),
            "LargeInteger" => value.as_i64().map(|_| value.clone()),
            "DateTime" => value.as_str().and_then(normalise_datetime).map(Value::String),
            "Binary" => {
                let s = value.as_str()?;
                let bytes = base64::engine::general_purpose::STANDARD.decode(s).ok()?;
                (bytes.len() <= MAX_BINARY_BYTES).then(|| value.clone())
            }
            _ => value.as_str().filter(|s| s.chars().count() <= MAX_STRING_CHARS).map(|_| value.clone()),
        }
    }
}

fn invalid_value(name: &str, resource: &str) -> DirectoryError {
    DirectoryError::bad_request(format!("Invalid value specified for property '{name}' of resource '{resource}'."))
}

/// Graph's message for a property that is neither declared nor a known extension.
pub(crate) fn undeclared(name: &str) -> DirectoryError {
    DirectoryError::bad_request(format!(
        "Property '{name}' does not exist as a declared property or extension property."
    ))
}

/// True for a key that names a directory extension (`extension_...`).
pub fn is_extension_name(key: &str) -> bool {
    key.len() > 10 && key[..10].eq_ignore_ascii_case("extension_")
}

/// The prefix of an application's extension names: `extension_{appIdWithoutDashes}_`.
fn prefix_of(app: &ObjectRecord) -> String {
    let app_id = app.doc.get("appId").and_then(Value::as_str).unwrap_or_default();
    format!("extension_{}_", app_id.replace('-', "").to_ascii_lowercase())
}

/// The resource name Graph's messages use for an object type (`User`).
fn resource(object_type: &str) -> String {
    let mut c = object_type.chars();
    c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
}

fn check_name(name: &str) -> DirectoryResult<()> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
    if ok { Ok(()) } else { Err(invalid_value("name", "ExtensionProperty")) }
}

impl Directory {
    /// `POST /applications/{id}/extensionProperties`.
    pub async fn create_extension_property(
        &self,
        caller: &Caller,
        app_key: &str,
        body: &Map<String, Value>,
    ) -> DirectoryResult<ObjectRecord> {
        let app = self.find_application(caller.tenant, app_key).await?;
        let mut name = None;
        let mut data_type = None;
        let mut multi = false;
        let mut targets: Vec<String> = Vec::new();
        for (key, value) in body {
            match key.as_str() {
                "name" => name = Some(value.as_str().ok_or_else(|| invalid_value("name", "ExtensionProperty"))?),
                "dataType" => {
                    let t = value.as_str().unwrap_or_default();
                    let Some(t) = DATA_TYPES.iter().find(|d| d.eq_ignore_ascii_case(t)) else {
                        return Err(invalid_value("dataType", "ExtensionProperty"));
                    };
                    data_type = Some(*t);
                }
                "isMultiValued" => {
                    multi = value.as_bool().ok_or_else(|| invalid_value("isMultiValued", "ExtensionProperty"))?
                }
                "targetObjects" => {
                    let Some(items) = value.as_array() else {
                        return Err(invalid_value("targetObjects", "ExtensionProperty"));
                    };
                    for item in items {
                        let t = item.as_str().unwrap_or_default();
                        let Some((canonical, _)) = TARGETS.iter().find(|(n, _)| n.eq_ignore_ascii_case(t)) else {
                            return Err(invalid_value("targetObjects", "ExtensionProperty"));
                        };
                        if !targets.iter().any(|x| x == canonical) {
                            targets.push((*canonical).to_string());
                        }
                    }
                }
                "@odata.type" => {}
                other if cerulean_schema::entity(EXTENSION_PROPERTY).and_then(|e| e.property(other)).is_some() => {
                    return Err(DirectoryError::bad_request(format!(
                        "Property '{other}' is read-only and cannot be set."
                    )));
                }
                other => return Err(crate::validate::unknown_property(other, EXTENSION_PROPERTY)),
            }
        }
        let Some(name) = name.filter(|n| !n.trim().is_empty()) else {
            return Err(DirectoryError::bad_request("Property name value is required but is empty or missing."));
        };
        let Some(data_type) = data_type else {
            return Err(DirectoryError::bad_request("Property dataType value is required but is empty or missing."));
        };
        if targets.is_empty() {
            return Err(DirectoryError::bad_request(
                "Property targetObjects value is required but is empty or missing.",
            ));
        }
        check_name(name)?;
        let full = format!("{}{name}", prefix_of(&app));
        let doc = json!({
            "appDisplayName": app.doc.get("displayName").cloned().unwrap_or(Value::Null),
            "dataType": data_type,
            "isMultiValued": multi,
            "isSyncedFromOnPremises": false,
            "name": full,
            "targetObjects": targets,
        });
        let object = ObjectRecord {
            id: Uuid::new_v4(),
            object_type: EXTENSION_PROPERTY.into(),
            version: 1,
            doc: doc.as_object().cloned().unwrap_or_default(),
            deleted_at: None,
        };
        let change = Change {
            ops: vec![Op::Insert {
                object: object.clone(),
                unique: vec![(NAME_CLAIM.into(), full.to_ascii_lowercase())],
            }],
            audit: audit::record(
                caller,
                "Add extension property",
                "ApplicationManagement",
                "Add",
                vec![audit::bare_target(&app), audit::target(&object, None, Some(&object.doc))],
            ),
        };
        match self.store.apply(caller.tenant, change).await {
            Ok(_) => Ok(object),
            Err(StoreError::Conflict { .. }) => {
                Err(DirectoryError::bad_request(format!("An extension property exists with the name {full}.")))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Every live definition of the tenant, oldest first (a tenant has few).
    async fn all_extension_records(&self, tenant: Uuid, filter: Option<Filter>) -> DirectoryResult<Vec<ObjectRecord>> {
        let mut query = ListQuery::new(&[EXTENSION_PROPERTY], Scope::Live);
        query.filter = filter;
        self.all_pages(tenant, query).await
    }

    /// `GET /applications/{id}/extensionProperties`: the application's definitions.
    pub async fn list_extension_properties(&self, tenant: Uuid, app_key: &str) -> DirectoryResult<Vec<ObjectRecord>> {
        let app = self.find_application(tenant, app_key).await?;
        let prefix = prefix_of(&app);
        Ok(self
            .all_extension_records(tenant, None)
            .await?
            .into_iter()
            .filter(|r| {
                r.doc.get("name").and_then(Value::as_str).is_some_and(|n| n.to_ascii_lowercase().starts_with(&prefix))
            })
            .collect())
    }

    /// `GET /applications/{id}/extensionProperties/{id}`.
    pub async fn get_extension_property(&self, tenant: Uuid, app_key: &str, id: &str) -> DirectoryResult<ObjectRecord> {
        let found = self.list_extension_properties(tenant, app_key).await?;
        found
            .into_iter()
            .find(|r| r.id.to_string().eq_ignore_ascii_case(id))
            .ok_or_else(|| DirectoryError::not_found(id))
    }

    /// `DELETE /applications/{id}/extensionProperties/{id}`: the definition goes for good, and
    /// its values with it: removed from every object holding one.
    pub async fn delete_extension_property(&self, caller: &Caller, app_key: &str, id: &str) -> DirectoryResult<()> {
        let record = self.get_extension_property(caller.tenant, app_key, id).await?;
        let change = Change {
            ops: vec![Op::Purge { id: record.id }],
            audit: audit::record(
                caller,
                "Delete extension property",
                "ApplicationManagement",
                "Delete",
                vec![audit::bare_target(&record)],
            ),
        };
        self.store.apply(caller.tenant, change).await?;
        if let Some(def) = ExtensionDefinition::from_record(&record) {
            self.drop_extension_values(caller, &def).await?;
        }
        Ok(())
    }

    /// Removes a deleted definition's values from the objects that hold one.
    async fn drop_extension_values(&self, caller: &Caller, def: &ExtensionDefinition) -> DirectoryResult<()> {
        let types: Vec<&str> = def.targets.iter().map(String::as_str).collect();
        let holds = Filter::Compare {
            path: cerulean_store::PropPath::of(&def.name),
            kind: if def.multi_valued { cerulean_store::ValueKind::String } else { value_kind_of(def) },
            op: cerulean_store::CmpOp::Ne,
            value: cerulean_store::Scalar::Null,
        };
        let mut conflicts = 0;
        loop {
            let mut query = ListQuery::new(&types, Scope::Live);
            query.filter = Some(holds.clone());
            query.top = 500;
            let page = self.store.list(caller.tenant, &query).await?;
            if page.items.is_empty() {
                return Ok(());
            }
            let mut ops = Vec::with_capacity(page.items.len());
            for object in &page.items {
                let mut doc = object.doc.clone();
                doc.remove(&def.name);
                ops.push(Op::Update {
                    id: object.id,
                    expected_version: object.version,
                    unique: claims_of(&object.object_type, &doc),
                    doc,
                });
            }
            let change = Change {
                ops,
                audit: audit::record(
                    caller,
                    "Delete extension property values",
                    "ApplicationManagement",
                    "Update",
                    page.items.iter().take(20).map(audit::bare_target).collect(),
                ),
            };
            match self.store.apply(caller.tenant, change).await {
                Ok(_) => {}
                Err(StoreError::VersionMismatch(_)) if conflicts < WRITE_RETRIES => conflicts += 1,
                Err(StoreError::VersionMismatch(_)) => {
                    return Err(DirectoryError::Conflict(
                        "Objects changed while their extension values were removed; retry the request.".into(),
                    ));
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// `POST /directoryObjects/getAvailableExtensionProperties`: every definition of the
    /// tenant, or only those synchronised from on-premises (none are, here) when asked.
    pub async fn available_extension_properties(
        &self,
        tenant: Uuid,
        synced_from_on_premises: Option<bool>,
    ) -> DirectoryResult<Vec<ObjectRecord>> {
        let all = self.all_extension_records(tenant, None).await?;
        Ok(match synced_from_on_premises {
            Some(true) => all
                .into_iter()
                .filter(|r| r.doc.get("isSyncedFromOnPremises").and_then(Value::as_bool).unwrap_or(false))
                .collect(),
            _ => all,
        })
    }

    /// The definitions that apply to objects of `object_type`.
    pub async fn extension_definitions(
        &self,
        tenant: Uuid,
        object_type: &str,
    ) -> DirectoryResult<Vec<ExtensionDefinition>> {
        Ok(self
            .all_extension_records(tenant, None)
            .await?
            .iter()
            .filter_map(ExtensionDefinition::from_record)
            .filter(|d| d.targets.iter().any(|t| t == object_type))
            .collect())
    }

    /// Splits a write body into the declared part and the directory-extension values, the
    /// latter checked against the definitions. `None` when the body names no extension.
    pub(crate) async fn split_extension_values(
        &self,
        tenant: Uuid,
        object_type: &str,
        body: &Map<String, Value>,
    ) -> DirectoryResult<Option<(Map<String, Value>, Map<String, Value>)>> {
        let entity = cerulean_schema::entity(object_type);
        // A schema extension's id holds an underscore, as every extension name does, and no
        // declared property's name does.
        let is_schema_name = |k: &str| {
            !is_extension_name(k)
                && k.contains('_')
                && !k.contains('@')
                && entity.is_some_and(|e| e.property(k).is_none())
        };
        if !body.keys().any(|k| is_extension_name(k) || is_schema_name(k)) {
            return Ok(None);
        }
        let definitions = self.extension_definitions(tenant, object_type).await?;
        let schemas = self.schema_definitions(tenant, object_type).await?;
        let mut rest = Map::new();
        let mut values = Map::new();
        for (key, value) in body {
            if is_schema_name(key) {
                let Some(schema) = schemas.iter().find(|d| d.id.eq_ignore_ascii_case(key)) else {
                    return Err(undeclared(key));
                };
                values.insert(schema.id.clone(), schema.check(value)?);
                continue;
            }
            if !is_extension_name(key) {
                rest.insert(key.clone(), value.clone());
                continue;
            }
            let Some(def) = definitions.iter().find(|d| d.name.eq_ignore_ascii_case(key)) else {
                return Err(undeclared(key));
            };
            values.insert(def.name.clone(), def.check(value, &resource(object_type))?);
        }
        Ok(Some((rest, values)))
    }

    /// Writes checked extension values to an object (a null value removes one), dropping the
    /// values of definitions deleted since they were written.
    pub(crate) async fn write_extension_values(
        &self,
        caller: &Caller,
        object_type: &str,
        key: &str,
        values: &Map<String, Value>,
    ) -> DirectoryResult<()> {
        let definitions = self.extension_definitions(caller.tenant, object_type).await?;
        for _ in 0..WRITE_RETRIES {
            let current = self.find_in_set(caller.tenant, object_type, key).await?;
            let mut doc = current.doc.clone();
            doc.retain(|k, _| !is_extension_name(k) || definitions.iter().any(|d| &d.name == k));
            crate::users::merge(&mut doc, values);
            // Schema extension values merge member by member into what the object holds.
            for (k, v) in values {
                if !is_extension_name(k)
                    && let (Some(Value::Object(old)), Value::Object(new)) = (current.doc.get(k), v)
                {
                    let mut merged = old.clone();
                    merged.extend(new.clone());
                    doc.insert(k.clone(), Value::Object(merged));
                }
            }
            if doc.keys().filter(|k| is_extension_name(k)).count() > MAX_VALUES_PER_OBJECT {
                return Err(DirectoryError::bad_request(format!(
                    "An object can hold at most {MAX_VALUES_PER_OBJECT} extension values."
                )));
            }
            let change = Change {
                ops: vec![Op::Update {
                    id: current.id,
                    expected_version: current.version,
                    doc: doc.clone(),
                    unique: claims_of(object_type, &doc),
                }],
                audit: audit::record(
                    caller,
                    &format!("Update {}", object_type.to_ascii_lowercase()),
                    match object_type {
                        "group" => "GroupManagement",
                        "application" => "ApplicationManagement",
                        "device" => "Device",
                        "administrativeUnit" => "AdministrativeUnit",
                        _ => "UserManagement",
                    },
                    "Update",
                    vec![audit::target(&current, Some(&current.doc), Some(&doc))],
                ),
            };
            match self.store.apply(caller.tenant, change).await {
                Ok(_) => return self.reevaluate_member(caller.tenant, current.id).await,
                Err(StoreError::VersionMismatch(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(DirectoryError::Conflict("The object was modified concurrently; retry the request.".into()))
    }
}

/// How the store compares a definition's values (presence tests only need a kind).
fn value_kind_of(def: &ExtensionDefinition) -> cerulean_store::ValueKind {
    crate::indexes::value_kind(&def.edm_type()).unwrap_or(cerulean_store::ValueKind::String)
}

/// The uniqueness claims an object of `object_type` holds, kept as they are by a write that
/// changes only extension (or custom security attribute) values.
pub(crate) fn claims_of(object_type: &str, doc: &Map<String, Value>) -> Vec<(String, String)> {
    match object_type {
        "user" => crate::users::user_claims(doc),
        "servicePrincipal" => crate::applications::service_principal_claims(doc),
        "group" => crate::groups::group_claims(doc),
        "application" => crate::applications::application_claims(doc),
        "device" => crate::devices::device_claims(doc),
        _ => Vec::new(),
    }
}
