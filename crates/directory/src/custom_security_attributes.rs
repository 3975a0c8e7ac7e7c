//! Custom security attributes: attribute sets (`/directory/attributeSets`), attribute
//! definitions (`/directory/customSecurityAttributeDefinitions`, with their `allowedValues`),
//! and the values assigned to users and service principals (`customSecurityAttributes`).
//!
//! Rules, as Entra documents them ("Add or deactivate custom security attribute definitions"):
//! - an attribute set's id has at most 32 characters, letters and digits only (no spaces or
//!   special characters), is unique case-insensitively and never changes; its description has
//!   at most 128 characters; `maxAttributesPerSet` is 1 to 500 and never below the number of
//!   definitions the set holds; a tenant has at most 500 sets; sets are never deleted;
//! - a definition's `name` follows the set id's rules with up to 128 characters and is unique
//!   in its set; its id is `{attributeSet}_{name}`; `type` (`String`, `Integer`, `Boolean`),
//!   `isCollection` and `isSearchable` never change; a Boolean is neither a collection nor
//!   limited to predefined values; `status` is `Available` or `Deprecated`; a tenant has at most
//!   500 `Available` definitions; definitions are never deleted (they are deprecated);
//! - predefined values (`allowedValues`, at most 100 per definition, each at most 64
//!   characters) are for `String` and `Integer` definitions, never deleted, only deactivated
//!   (`isActive: false`);
//! - an assigned value has the definition's type, is an array of 1 to 50 distinct values for a
//!   collection, is one of the active predefined values when `usePreDefinedValuesOnly`, and a
//!   deprecated attribute takes no new value; `null` removes an assignment.
//!
//! Sets and definitions are objects (`attributeSet`, `customSecurityAttributeDefinition`) whose
//! documents hold their wire properties (`setId` / `definitionId` for the string id, unique
//! through a claim); a definition's predefined values are an array in its document. Assigned
//! values live in the object's `customSecurityAttributes` in Graph's wire shape (with the
//! `@odata.type` annotations it returns), so the query layer filters them by path.

use cerulean_store::{Change, ListQuery, ObjectRecord, Op, Scope, StoreError};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::audit;
use crate::error::{DirectoryError, DirectoryResult};
use crate::users::WRITE_RETRIES;
use crate::{Caller, Directory};

pub const ATTRIBUTE_SET: &str = "attributeSet";
pub const DEFINITION: &str = "customSecurityAttributeDefinition";
/// The property that holds assigned values on users and service principals.
pub const PROPERTY: &str = "customSecurityAttributes";
const SET_CLAIM: &str = "attributeSetId";
const DEFINITION_CLAIM: &str = "customSecurityAttributeDefinitionId";
const VALUE_TYPE: &str = "#microsoft.graph.customSecurityAttributeValue";
const MAX_SETS: usize = 500;
const MAX_SET_ID: usize = 32;
const MAX_DESCRIPTION: usize = 128;
const MAX_ATTRIBUTES_PER_SET: i64 = 500;
const MAX_ACTIVE_DEFINITIONS: usize = 500;
const MAX_NAME: usize = 128;
const MAX_ALLOWED_VALUES: usize = 100;
const MAX_ALLOWED_VALUE: usize = 64;
const MAX_COLLECTION_VALUES: usize = 50;
const TYPES: &[&str] = &["String", "Integer", "Boolean"];
const STATUSES: &[&str] = &["Available", "Deprecated"];

/// The audit category of definition changes.
const CATEGORY: &str = "AttributeManagement";

/// The uniqueness claim of a set or definition id (case-insensitive).
fn claim(namespace: &str, id: &str) -> Vec<(String, String)> {
    vec![(namespace.to_string(), id.to_lowercase())]
}

fn bad(message: impl Into<String>) -> DirectoryError {
    DirectoryError::bad_request(message)
}

fn invalid(property: &str, resource: &str) -> DirectoryError {
    bad(format!("Invalid value specified for property '{property}' of resource '{resource}'."))
}

fn required(property: &str) -> DirectoryError {
    bad(format!("Property {property} value is required but is empty or missing."))
}

/// Letters and digits only ("no spaces or special characters"), 1 to `max` characters.
fn valid_identifier(text: &str, max: usize) -> bool {
    !text.is_empty() && text.chars().count() <= max && text.chars().all(char::is_alphanumeric)
}

fn description(value: Option<&Value>, resource: &str) -> DirectoryResult<Value> {
    match value {
        None | Some(Value::Null) => Ok(Value::Null),
        Some(Value::String(s)) if s.chars().count() <= MAX_DESCRIPTION => Ok(json!(s)),
        Some(_) => Err(invalid("description", resource)),
    }
}

/// One definition, as assignment checks and the query layer need it.
#[derive(Debug, Clone, PartialEq)]
pub struct AttributeDefinition {
    pub attribute_set: String,
    pub name: String,
    /// `String`, `Integer` or `Boolean`.
    pub ty: String,
    pub is_collection: bool,
    /// Whether values can be filtered on (`$filter=customSecurityAttributes/Set/Attr eq ...`).
    pub is_searchable: bool,
    pub status: String,
    pub use_predefined_values_only: bool,
    /// (value, isActive).
    pub allowed_values: Vec<(String, bool)>,
}

impl AttributeDefinition {
    fn from_record(rec: &ObjectRecord) -> Option<AttributeDefinition> {
        let text = |k: &str| rec.doc.get(k).and_then(Value::as_str).map(str::to_string);
        let flag = |k: &str| rec.doc.get(k).and_then(Value::as_bool).unwrap_or(false);
        Some(AttributeDefinition {
            attribute_set: text("attributeSet")?,
            name: text("name")?,
            ty: text("type")?,
            is_collection: flag("isCollection"),
            is_searchable: flag("isSearchable"),
            status: text("status").unwrap_or_else(|| "Available".into()),
            use_predefined_values_only: flag("usePreDefinedValuesOnly"),
            allowed_values: allowed_values(&rec.doc)
                .iter()
                .filter_map(|v| {
                    Some((
                        v.get("id")?.as_str()?.to_string(),
                        v.get("isActive").and_then(Value::as_bool).unwrap_or(true),
                    ))
                })
                .collect(),
        })
    }

    /// The definition's id, `{attributeSet}_{name}`.
    pub fn id(&self) -> String {
        format!("{}_{}", self.attribute_set, self.name)
    }

    /// `#Int32`-style element type name of the wire annotations.
    fn edm_name(&self) -> &'static str {
        match self.ty.as_str() {
            "Integer" => "Int32",
            "Boolean" => "Boolean",
            _ => "String",
        }
    }

    /// One value of the definition's type, as stored.
    fn check_scalar(&self, value: &Value) -> DirectoryResult<Value> {
        let wrong = || {
            bad(format!(
                "Invalid value specified for custom security attribute '{}': expected a value of type {}.",
                self.id(),
                self.ty
            ))
        };
        let (checked, text) = match (self.ty.as_str(), value) {
            ("String", Value::String(s)) if !s.is_empty() => (value.clone(), s.clone()),
            ("Integer", Value::Number(n)) => {
                let i = n.as_i64().filter(|i| i32::try_from(*i).is_ok()).ok_or_else(wrong)?;
                (json!(i), i.to_string())
            }
            ("Boolean", Value::Bool(_)) => (value.clone(), String::new()),
            _ => return Err(wrong()),
        };
        if self.use_predefined_values_only && !self.allowed_values.iter().any(|(v, active)| *active && *v == text) {
            return Err(bad(format!(
                "The value '{text}' is not an active predefined value of custom security attribute '{}'.",
                self.id()
            )));
        }
        Ok(checked)
    }

    /// An assigned value (the element type annotation `annotation` as sent, if any), checked
    /// and in stored form.
    fn check_value(&self, value: &Value, annotation: Option<&str>) -> DirectoryResult<Value> {
        if let Some(a) = annotation {
            let expected = if self.is_collection {
                format!("#Collection({})", self.edm_name())
            } else {
                format!("#{}", self.edm_name())
            };
            if !a.eq_ignore_ascii_case(&expected) {
                return Err(bad(format!(
                    "The type annotation '{a}' does not match custom security attribute '{}', which takes '{expected}'.",
                    self.id()
                )));
            }
        }
        if !self.is_collection {
            return self.check_scalar(value);
        }
        let Value::Array(items) = value else {
            return Err(bad(format!(
                "Custom security attribute '{}' is multi-valued: its value must be a collection.",
                self.id()
            )));
        };
        if items.is_empty() || items.len() > MAX_COLLECTION_VALUES {
            return Err(bad(format!(
                "Custom security attribute '{}' takes 1 to {MAX_COLLECTION_VALUES} values.",
                self.id()
            )));
        }
        let mut out: Vec<Value> = Vec::with_capacity(items.len());
        for item in items {
            let v = self.check_scalar(item)?;
            if out.contains(&v) {
                return Err(bad(format!("Custom security attribute '{}' has the value {v} twice.", self.id())));
            }
            out.push(v);
        }
        Ok(Value::Array(out))
    }
}

/// One change an assignment makes: in a set (canonical id), one attribute (canonical name,
/// stored value or `null`, its type annotation), or `None` to clear the whole set.
type AssignmentWrite = (String, Option<(String, Value, Option<String>)>);

fn allowed_values(doc: &Map<String, Value>) -> Vec<Value> {
    doc.get("allowedValues").and_then(Value::as_array).cloned().unwrap_or_default()
}

/// A predefined value from a request body (`{"id", "isActive"}`), checked against the
/// definition's type.
fn allowed_value(body: &Map<String, Value>, ty: &str) -> DirectoryResult<Value> {
    for key in body.keys() {
        if !matches!(key.as_str(), "id" | "isActive" | "@odata.type") {
            return Err(crate::validate::unknown_property(key, "allowedValue"));
        }
    }
    let id = body.get("id").and_then(Value::as_str).ok_or_else(|| required("id"))?;
    if id.trim().is_empty() || id.chars().count() > MAX_ALLOWED_VALUE {
        return Err(invalid("id", "AllowedValue"));
    }
    if ty == "Integer" && id.parse::<i32>().is_err() {
        return Err(bad(format!("The predefined value '{id}' is not an Integer.")));
    }
    let active = match body.get("isActive") {
        Some(Value::Bool(b)) => *b,
        None | Some(Value::Null) => return Err(required("isActive")),
        Some(_) => return Err(invalid("isActive", "AllowedValue")),
    };
    Ok(json!({ "id": id, "isActive": active }))
}

impl Directory {
    async fn all_of_type(&self, tenant: Uuid, object_type: &str) -> DirectoryResult<Vec<ObjectRecord>> {
        self.all_pages(tenant, ListQuery::new(&[object_type], Scope::Live)).await
    }

    /// Every object `query` selects, page after page (for the small sets of definitions a
    /// tenant holds: attribute sets and definitions, directory and schema extensions).
    pub(crate) async fn all_pages(&self, tenant: Uuid, mut query: ListQuery) -> DirectoryResult<Vec<ObjectRecord>> {
        query.top = 999;
        let mut out = Vec::new();
        loop {
            let page = self.store.list(tenant, &query).await?;
            out.extend(page.items);
            match page.next {
                Some(next) => query.after = Some(next),
                None => return Ok(out),
            }
        }
    }

    async fn by_claim(&self, tenant: Uuid, claim: &str, id: &str) -> DirectoryResult<ObjectRecord> {
        let Some(object) = self.store.find_unique(tenant, claim, &id.to_lowercase()).await? else {
            return Err(DirectoryError::not_found(id));
        };
        self.get(tenant, object).await?.ok_or_else(|| DirectoryError::not_found(id))
    }

    async fn insert_unique(
        &self,
        caller: &Caller,
        object: ObjectRecord,
        claim: (&str, String),
        activity: &str,
        what: &str,
    ) -> DirectoryResult<ObjectRecord> {
        let change = Change {
            ops: vec![Op::Insert { object: object.clone(), unique: vec![(claim.0.into(), claim.1.to_lowercase())] }],
            audit: audit::record(
                caller,
                activity,
                CATEGORY,
                "Add",
                vec![audit::target(&object, None, Some(&object.doc))],
            ),
        };
        match self.store.apply(caller.tenant, change).await {
            Ok(_) => Ok(object),
            Err(StoreError::Conflict { .. }) => {
                Err(DirectoryError::Conflict(format!("{what} '{}' exists already.", claim.1)))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Replaces an object's document if its version is still `current`'s (false when another
    /// write came first: the caller retries).
    async fn replace_doc(
        &self,
        caller: &Caller,
        current: &ObjectRecord,
        doc: Map<String, Value>,
        unique: Vec<(String, String)>,
        (activity, category): (&str, &str),
    ) -> DirectoryResult<bool> {
        let change = Change {
            ops: vec![Op::Update { id: current.id, expected_version: current.version, doc: doc.clone(), unique }],
            audit: audit::record(
                caller,
                activity,
                category,
                "Update",
                vec![audit::target(current, Some(&current.doc), Some(&doc))],
            ),
        };
        match self.store.apply(caller.tenant, change).await {
            Ok(_) => Ok(true),
            Err(StoreError::VersionMismatch(_)) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// `GET /directory/attributeSets`.
    pub async fn attribute_sets(&self, tenant: Uuid) -> DirectoryResult<Vec<ObjectRecord>> {
        self.all_of_type(tenant, ATTRIBUTE_SET).await
    }

    /// `GET /directory/attributeSets/{id}` (the id case-insensitively).
    pub async fn attribute_set(&self, tenant: Uuid, id: &str) -> DirectoryResult<ObjectRecord> {
        self.by_claim(tenant, SET_CLAIM, id).await
    }

    /// `POST /directory/attributeSets`.
    pub async fn create_attribute_set(
        &self,
        caller: &Caller,
        body: &Map<String, Value>,
    ) -> DirectoryResult<ObjectRecord> {
        for key in body.keys() {
            if !matches!(key.as_str(), "id" | "description" | "maxAttributesPerSet" | "@odata.type") {
                return Err(crate::validate::unknown_property(key, ATTRIBUTE_SET));
            }
        }
        let id = body.get("id").and_then(Value::as_str).ok_or_else(|| required("id"))?;
        if !valid_identifier(id, MAX_SET_ID) {
            return Err(bad(format!(
                "Invalid value specified for property 'id' of resource 'AttributeSet': an attribute set id has 1 to {MAX_SET_ID} letters or digits, without spaces or special characters."
            )));
        }
        let max = match body.get("maxAttributesPerSet") {
            None | Some(Value::Null) => Value::Null,
            Some(v) => json!(
                v.as_i64()
                    .filter(|m| (1..=MAX_ATTRIBUTES_PER_SET).contains(m))
                    .ok_or_else(|| invalid("maxAttributesPerSet", "AttributeSet"))?
            ),
        };
        let description = description(body.get("description"), "AttributeSet")?;
        if self.attribute_sets(caller.tenant).await?.len() >= MAX_SETS {
            return Err(bad(format!("A tenant can have at most {MAX_SETS} attribute sets.")));
        }
        let doc = json!({ "setId": id, "description": description, "maxAttributesPerSet": max });
        let object = ObjectRecord {
            id: Uuid::new_v4(),
            object_type: ATTRIBUTE_SET.into(),
            version: 1,
            doc: doc.as_object().cloned().unwrap_or_default(),
            deleted_at: None,
        };
        self.insert_unique(caller, object, (SET_CLAIM, id.to_string()), "Add an attribute set", "An attribute set")
            .await
    }

    /// `PATCH /directory/attributeSets/{id}`: `description` and `maxAttributesPerSet`.
    pub async fn update_attribute_set(
        &self,
        caller: &Caller,
        id: &str,
        body: &Map<String, Value>,
    ) -> DirectoryResult<()> {
        for _ in 0..WRITE_RETRIES {
            let current = self.attribute_set(caller.tenant, id).await?;
            let set_id = current.doc.get("setId").and_then(Value::as_str).unwrap_or(id).to_string();
            let mut doc = current.doc.clone();
            for (key, value) in body {
                match key.as_str() {
                    "@odata.type" => {}
                    "id" if value.as_str().is_some_and(|v| v.eq_ignore_ascii_case(&set_id)) => {}
                    "id" => return Err(bad("Property 'id' of an attribute set cannot be changed.")),
                    "description" => {
                        doc.insert("description".into(), description(Some(value), "AttributeSet")?);
                    }
                    "maxAttributesPerSet" => {
                        let max = value
                            .as_i64()
                            .filter(|m| (1..=MAX_ATTRIBUTES_PER_SET).contains(m))
                            .ok_or_else(|| invalid("maxAttributesPerSet", "AttributeSet"))?;
                        let held = self.definitions_in(caller.tenant, &set_id).await?.len();
                        if usize::try_from(max).unwrap_or(0) < held {
                            return Err(bad(format!(
                                "maxAttributesPerSet cannot be lower than the {held} attributes the set holds."
                            )));
                        }
                        doc.insert("maxAttributesPerSet".into(), json!(max));
                    }
                    other => return Err(crate::validate::unknown_property(other, ATTRIBUTE_SET)),
                }
            }
            if self
                .replace_doc(caller, &current, doc, claim(SET_CLAIM, &set_id), ("Update an attribute set", CATEGORY))
                .await?
            {
                return Ok(());
            }
        }
        Err(DirectoryError::Conflict("The attribute set was modified concurrently; retry the request.".into()))
    }

    /// `GET /directory/customSecurityAttributeDefinitions`.
    pub async fn attribute_definitions(&self, tenant: Uuid) -> DirectoryResult<Vec<ObjectRecord>> {
        self.all_of_type(tenant, DEFINITION).await
    }

    /// Every definition, parsed (for assignment checks and `$filter`).
    pub async fn attribute_definition_rules(&self, tenant: Uuid) -> DirectoryResult<Vec<AttributeDefinition>> {
        Ok(self.attribute_definitions(tenant).await?.iter().filter_map(AttributeDefinition::from_record).collect())
    }

    async fn definitions_in(&self, tenant: Uuid, set: &str) -> DirectoryResult<Vec<AttributeDefinition>> {
        Ok(self
            .attribute_definition_rules(tenant)
            .await?
            .into_iter()
            .filter(|d| d.attribute_set.eq_ignore_ascii_case(set))
            .collect())
    }

    /// `GET /directory/customSecurityAttributeDefinitions/{id}`.
    pub async fn attribute_definition(&self, tenant: Uuid, id: &str) -> DirectoryResult<ObjectRecord> {
        self.by_claim(tenant, DEFINITION_CLAIM, id).await
    }

    /// `POST /directory/customSecurityAttributeDefinitions`.
    pub async fn create_attribute_definition(
        &self,
        caller: &Caller,
        body: &Map<String, Value>,
    ) -> DirectoryResult<ObjectRecord> {
        const R: &str = "CustomSecurityAttributeDefinition";
        for key in body.keys() {
            if !matches!(
                key.as_str(),
                "attributeSet"
                    | "name"
                    | "description"
                    | "type"
                    | "isCollection"
                    | "isSearchable"
                    | "status"
                    | "usePreDefinedValuesOnly"
                    | "allowedValues"
                    | "allowedValues@odata.context"
                    | "@odata.type"
            ) {
                return Err(crate::validate::unknown_property(key, DEFINITION));
            }
        }
        let set_key = body.get("attributeSet").and_then(Value::as_str).ok_or_else(|| required("attributeSet"))?;
        let set = self.attribute_set(caller.tenant, set_key).await.map_err(|e| match e {
            DirectoryError::NotFound { .. } => bad(format!("The attribute set '{set_key}' does not exist.")),
            other => other,
        })?;
        let set_id = set.doc.get("setId").and_then(Value::as_str).unwrap_or(set_key).to_string();
        let name = body.get("name").and_then(Value::as_str).ok_or_else(|| required("name"))?;
        if !valid_identifier(name, MAX_NAME) {
            return Err(bad(format!(
                "Invalid value specified for property 'name' of resource '{R}': a name has 1 to {MAX_NAME} letters or digits, without spaces or special characters."
            )));
        }
        let ty = match body.get("type") {
            Some(Value::String(t)) => {
                TYPES.iter().find(|x| x.eq_ignore_ascii_case(t)).ok_or_else(|| invalid("type", R))?.to_string()
            }
            None | Some(Value::Null) => return Err(required("type")),
            Some(_) => return Err(invalid("type", R)),
        };
        let flag = |k: &str| match body.get(k) {
            Some(Value::Bool(b)) => Ok(*b),
            None | Some(Value::Null) => Err(required(k)),
            Some(_) => Err(invalid(k, R)),
        };
        let is_collection = flag("isCollection")?;
        let is_searchable = flag("isSearchable")?;
        let predefined_only = flag("usePreDefinedValuesOnly")?;
        let status = match body.get("status") {
            Some(Value::String(s)) => {
                STATUSES.iter().find(|x| x.eq_ignore_ascii_case(s)).ok_or_else(|| invalid("status", R))?.to_string()
            }
            None | Some(Value::Null) => return Err(required("status")),
            Some(_) => return Err(invalid("status", R)),
        };
        if ty == "Boolean" && (is_collection || predefined_only) {
            return Err(bad(
                "A Boolean custom security attribute can be neither a collection nor limited to predefined values.",
            ));
        }
        let mut allowed: Vec<Value> = Vec::new();
        match body.get("allowedValues") {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                if ty == "Boolean" && !items.is_empty() {
                    return Err(bad("A Boolean custom security attribute has no predefined values."));
                }
                if items.len() > MAX_ALLOWED_VALUES {
                    return Err(bad(format!(
                        "A custom security attribute has at most {MAX_ALLOWED_VALUES} predefined values."
                    )));
                }
                for item in items {
                    let Value::Object(item) = item else { return Err(invalid("allowedValues", R)) };
                    let v = allowed_value(item, &ty)?;
                    if allowed.iter().any(|a| a["id"] == v["id"]) {
                        return Err(bad(format!(
                            "The predefined value '{}' is given twice.",
                            v["id"].as_str().unwrap_or_default()
                        )));
                    }
                    allowed.push(v);
                }
            }
            Some(_) => return Err(invalid("allowedValues", R)),
        }
        let existing = self.attribute_definition_rules(caller.tenant).await?;
        if status == "Available"
            && existing.iter().filter(|d| d.status == "Available").count() >= MAX_ACTIVE_DEFINITIONS
        {
            return Err(bad(format!(
                "A tenant can have at most {MAX_ACTIVE_DEFINITIONS} active custom security attributes; deprecate one first."
            )));
        }
        let in_set = existing.iter().filter(|d| d.attribute_set.eq_ignore_ascii_case(&set_id)).count();
        if let Some(max) = set.doc.get("maxAttributesPerSet").and_then(Value::as_i64)
            && i64::try_from(in_set).unwrap_or(i64::MAX) >= max
        {
            return Err(bad(format!("The attribute set '{set_id}' holds its maximum of {max} attributes.")));
        }
        let id = format!("{set_id}_{name}");
        let doc = json!({
            "definitionId": id,
            "attributeSet": set_id,
            "name": name,
            "description": description(body.get("description"), R)?,
            "type": ty,
            "isCollection": is_collection,
            "isSearchable": is_searchable,
            "status": status,
            "usePreDefinedValuesOnly": predefined_only,
            "allowedValues": allowed,
        });
        let object = ObjectRecord {
            id: Uuid::new_v4(),
            object_type: DEFINITION.into(),
            version: 1,
            doc: doc.as_object().cloned().unwrap_or_default(),
            deleted_at: None,
        };
        self.insert_unique(
            caller,
            object,
            (DEFINITION_CLAIM, id),
            "Add a custom security attribute definition",
            "A custom security attribute",
        )
        .await
    }

    /// `PATCH /directory/customSecurityAttributeDefinitions/{id}`: `description`, `status`
    /// and `usePreDefinedValuesOnly`; the rest never changes.
    pub async fn update_attribute_definition(
        &self,
        caller: &Caller,
        id: &str,
        body: &Map<String, Value>,
    ) -> DirectoryResult<()> {
        const R: &str = "CustomSecurityAttributeDefinition";
        for _ in 0..WRITE_RETRIES {
            let current = self.attribute_definition(caller.tenant, id).await?;
            let def_id = current.doc.get("definitionId").and_then(Value::as_str).unwrap_or(id).to_string();
            let mut doc = current.doc.clone();
            for (key, value) in body {
                match key.as_str() {
                    "@odata.type" => {}
                    "description" => {
                        doc.insert("description".into(), description(Some(value), R)?);
                    }
                    "status" => {
                        let s = value.as_str().unwrap_or_default();
                        let s =
                            STATUSES.iter().find(|x| x.eq_ignore_ascii_case(s)).ok_or_else(|| invalid("status", R))?;
                        if *s == "Available" && doc.get("status").and_then(Value::as_str) != Some("Available") {
                            let active = self
                                .attribute_definition_rules(caller.tenant)
                                .await?
                                .iter()
                                .filter(|d| d.status == "Available")
                                .count();
                            if active >= MAX_ACTIVE_DEFINITIONS {
                                return Err(bad(format!(
                                    "A tenant can have at most {MAX_ACTIVE_DEFINITIONS} active custom security attributes."
                                )));
                            }
                        }
                        doc.insert("status".into(), json!(s));
                    }
                    "usePreDefinedValuesOnly" => {
                        let b = value.as_bool().ok_or_else(|| invalid("usePreDefinedValuesOnly", R))?;
                        if b && doc.get("type").and_then(Value::as_str) == Some("Boolean") {
                            return Err(bad(
                                "A Boolean custom security attribute cannot be limited to predefined values.",
                            ));
                        }
                        doc.insert("usePreDefinedValuesOnly".into(), json!(b));
                    }
                    "attributeSet" | "name" | "type" | "isCollection" | "isSearchable" | "id" => {
                        if doc.get(if key == "id" { "definitionId" } else { key.as_str() }) == Some(value) {
                            continue;
                        }
                        return Err(bad(format!(
                            "Property '{key}' of a custom security attribute definition cannot be changed."
                        )));
                    }
                    other => return Err(crate::validate::unknown_property(other, DEFINITION)),
                }
            }
            let activity = "Update a custom security attribute definition";
            if self.replace_doc(caller, &current, doc, claim(DEFINITION_CLAIM, &def_id), (activity, CATEGORY)).await? {
                return Ok(());
            }
        }
        Err(DirectoryError::Conflict("The definition was modified concurrently; retry the request.".into()))
    }

    /// `GET .../customSecurityAttributeDefinitions/{id}/allowedValues`.
    pub async fn allowed_values(&self, tenant: Uuid, definition: &str) -> DirectoryResult<Vec<Value>> {
        Ok(allowed_values(&self.attribute_definition(tenant, definition).await?.doc))
    }

    /// `GET .../allowedValues/{value}` (exactly: predefined values are case-sensitive).
    pub async fn allowed_value(&self, tenant: Uuid, definition: &str, value: &str) -> DirectoryResult<Value> {
        self.allowed_values(tenant, definition)
            .await?
            .into_iter()
            .find(|v| v["id"].as_str() == Some(value))
            .ok_or_else(|| DirectoryError::not_found(value))
    }

    /// `POST .../allowedValues` (create) or `PATCH .../allowedValues/{value}` (`isActive`).
    pub async fn put_allowed_value(
        &self,
        caller: &Caller,
        definition: &str,
        existing: Option<&str>,
        body: &Map<String, Value>,
    ) -> DirectoryResult<Value> {
        for _ in 0..WRITE_RETRIES {
            let current = self.attribute_definition(caller.tenant, definition).await?;
            let def_id = current.doc.get("definitionId").and_then(Value::as_str).unwrap_or(definition).to_string();
            let ty = current.doc.get("type").and_then(Value::as_str).unwrap_or("String").to_string();
            if ty == "Boolean" {
                return Err(bad("A Boolean custom security attribute has no predefined values."));
            }
            let mut values = allowed_values(&current.doc);
            let value = match existing {
                None => {
                    let v = allowed_value(body, &ty)?;
                    if values.iter().any(|a| a["id"] == v["id"]) {
                        return Err(DirectoryError::Conflict(format!(
                            "The predefined value '{}' exists already.",
                            v["id"].as_str().unwrap_or_default()
                        )));
                    }
                    if values.len() >= MAX_ALLOWED_VALUES {
                        return Err(bad(format!(
                            "A custom security attribute has at most {MAX_ALLOWED_VALUES} predefined values."
                        )));
                    }
                    values.push(v.clone());
                    v
                }
                Some(key) => {
                    let Some(slot) = values.iter_mut().find(|v| v["id"].as_str() == Some(key)) else {
                        return Err(DirectoryError::not_found(key));
                    };
                    for (k, v) in body {
                        match k.as_str() {
                            "@odata.type" => {}
                            "id" if v.as_str() == Some(key) => {}
                            "id" => return Err(bad("Property 'id' of a predefined value cannot be changed.")),
                            "isActive" => {
                                slot["isActive"] =
                                    json!(v.as_bool().ok_or_else(|| invalid("isActive", "AllowedValue"))?);
                            }
                            other => return Err(crate::validate::unknown_property(other, "allowedValue")),
                        }
                    }
                    slot.clone()
                }
            };
            let mut doc = current.doc.clone();
            doc.insert("allowedValues".into(), Value::Array(values));
            let activity = "Update a custom security attribute definition";
            if self.replace_doc(caller, &current, doc, claim(DEFINITION_CLAIM, &def_id), (activity, CATEGORY)).await? {
                return Ok(value);
            }
        }
        Err(DirectoryError::Conflict("The definition was modified concurrently; retry the request.".into()))
    }

    /// Assigns custom security attribute values to a user or service principal (`value` is
    /// the PATCH body's `customSecurityAttributes`): each set and attribute must be defined,
    /// values are checked against their definition, and they merge attribute by attribute
    /// into what the object holds (`null` removes one; a `null` set removes all of its values).
    pub async fn assign_custom_security_attributes(
        &self,
        caller: &Caller,
        object_type: &str,
        key: &str,
        value: &Value,
    ) -> DirectoryResult<()> {
        let Value::Object(sets) = value else {
            return Err(invalid(PROPERTY, object_type));
        };
        let definitions = self.attribute_definition_rules(caller.tenant).await?;
        let known_sets: Vec<String> = self
            .attribute_sets(caller.tenant)
            .await?
            .iter()
            .filter_map(|s| s.doc.get("setId").and_then(Value::as_str).map(str::to_string))
            .collect();
        let mut writes: Vec<AssignmentWrite> = Vec::new();
        for (set_key, set_value) in sets {
            let Some(set) = known_sets.iter().find(|s| s.eq_ignore_ascii_case(set_key)) else {
                return Err(bad(format!("The attribute set '{set_key}' does not exist.")));
            };
            let attrs = match set_value {
                Value::Null => {
                    writes.push((set.clone(), None));
                    continue;
                }
                Value::Object(attrs) => attrs,
                _ => return Err(bad(format!("The value of attribute set '{set}' must be an object."))),
            };
            for (name, v) in attrs {
                if name == "@odata.type" {
                    let t = v.as_str().unwrap_or_default().trim_start_matches('#');
                    if !t.eq_ignore_ascii_case("Microsoft.DirectoryServices.CustomSecurityAttributeValue")
                        && !t.eq_ignore_ascii_case("microsoft.graph.customSecurityAttributeValue")
                    {
                        return Err(bad(format!("'{t}' is not the type of custom security attribute values.")));
                    }
                    continue;
                }
                if let Some(attr) = name.strip_suffix("@odata.type") {
                    if !attrs.contains_key(attr) {
                        return Err(bad(format!("The annotation '{name}' has no value beside it.")));
                    }
                    continue;
                }
                let Some(def) = definitions
                    .iter()
                    .find(|d| d.attribute_set.eq_ignore_ascii_case(set) && d.name.eq_ignore_ascii_case(name))
                else {
                    return Err(bad(format!("The custom security attribute '{set}_{name}' does not exist.")));
                };
                if v.is_null() {
                    writes.push((set.clone(), Some((def.name.clone(), Value::Null, None))));
                    continue;
                }
                if def.status != "Available" {
                    return Err(bad(format!(
                        "The custom security attribute '{}' is deprecated: it cannot be assigned.",
                        def.id()
                    )));
                }
                let annotation = attrs.get(&format!("{name}@odata.type")).and_then(Value::as_str);
                let stored = def.check_value(v, annotation)?;
                let stored_annotation = match (def.is_collection, def.ty.as_str()) {
                    (true, _) => Some(format!("#Collection({})", def.edm_name())),
                    (false, "Integer") => Some("#Int32".to_string()),
                    _ => None,
                };
                writes.push((set.clone(), Some((def.name.clone(), stored, stored_annotation))));
            }
        }
        for _ in 0..WRITE_RETRIES {
            let current = self.find_in_set(caller.tenant, object_type, key).await?;
            let mut doc = current.doc.clone();
            let mut all = match doc.get(PROPERTY) {
                Some(Value::Object(m)) => m.clone(),
                _ => Map::new(),
            };
            for (set, write) in &writes {
                let Some((name, value, annotation)) = write else {
                    all.remove(set);
                    continue;
                };
                let entry = all.entry(set.clone()).or_insert_with(|| json!({ "@odata.type": VALUE_TYPE }));
                let Value::Object(entry) = entry else { continue };
                entry.remove(&format!("{name}@odata.type"));
                if value.is_null() {
                    entry.remove(name);
                } else {
                    if let Some(a) = annotation {
                        entry.insert(format!("{name}@odata.type"), json!(a));
                    }
                    entry.insert(name.clone(), value.clone());
                }
            }
            all.retain(|_, v| v.as_object().is_some_and(|m| m.keys().any(|k| !k.contains('@'))));
            if all.is_empty() {
                doc.remove(PROPERTY);
            } else {
                doc.insert(PROPERTY.into(), Value::Object(all));
            }
            let unique = crate::extensions::claims_of(object_type, &doc);
            let audit = ("Update attribute values assigned to a principal", "CustomSecurityAttributes");
            if self.replace_doc(caller, &current, doc, unique, audit).await? {
                return Ok(());
            }
        }
        Err(DirectoryError::Conflict("The object was modified concurrently; retry the request.".into()))
    }
}
