//! Schema-driven validation of request bodies: every property a client sends is checked
//! against the entity's declaration (known, writable, of the declared EDM type), names are
//! canonicalised to their declared case, and date-times are normalised the way the store keeps
//! them. Entity-specific rules (UPN domains, password policy, group kinds) live with the entity.

use cerulean_schema::{ComplexType, EdmType, EntityType, Flags, Property};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::{DirectoryError, DirectoryResult};

/// Whether a body creates an object or updates one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Create,
    Update,
}

/// The largest JSON string a property may hold (Graph's longest free-text fields are far
/// shorter); bounds memory and storage for hostile input.
const MAX_STRING: usize = 64 * 1024;
/// The longest value a string property takes when Graph documents no limit of its own.
const DEFAULT_MAX_CHARS: usize = 1024;

/// Documented maximum lengths (characters) of string properties, by property name; these
/// hold for users and groups alike where both have the property.
const MAX_CHARS: &[(&str, usize)] = &[
    ("displayName", 256),
    ("givenName", 64),
    ("surname", 64),
    ("mailNickname", 64),
    ("jobTitle", 128),
    ("department", 64),
    ("companyName", 64),
    ("officeLocation", 128),
    ("mobilePhone", 64),
    ("faxNumber", 64),
    ("city", 128),
    ("state", 128),
    ("country", 128),
    ("postalCode", 40),
    ("streetAddress", 1024),
    ("employeeId", 16),
    ("employeeType", 64),
    ("usageLocation", 2),
    ("userPrincipalName", 113),
    ("description", 1024),
    ("aboutMe", 16 * 1024),
    ("onPremisesImmutableId", 256),
    // A policy's JSON-in-a-string document (claims mapping policies with transformations
    // and regular expressions pass 1,024 characters; Graph documents no limit): the byte bound.
    ("definition", MAX_STRING),
];

fn max_chars(prop: &str) -> usize {
    MAX_CHARS.iter().find(|(name, _)| *name == prop).map(|(_, n)| *n).unwrap_or(DEFAULT_MAX_CHARS)
}
/// The most elements a collection property may hold in one request.
const MAX_COLLECTION: usize = 1000;

/// Validates `body` against `entity`, returning the canonicalised properties. Keys ending in
/// `@odata.bind` and `@odata.type` are left to the caller (returned in the second map).
pub fn validate_body(
    entity: &EntityType,
    body: &Map<String, Value>,
    mode: Mode,
) -> DirectoryResult<(Map<String, Value>, Map<String, Value>)> {
    validate_body_waiving(entity, body, mode, &[])
}

/// [`validate_body`], with the required properties named in `waived` not required: a fixture
/// creates users without a password (`passwordProfile`), which the API always requires.
pub(crate) fn validate_body_waiving(
    entity: &EntityType,
    body: &Map<String, Value>,
    mode: Mode,
    waived: &[&str],
) -> DirectoryResult<(Map<String, Value>, Map<String, Value>)> {
    let mut props = Map::new();
    let mut annotations = Map::new();
    for (key, value) in body {
        if key.contains('@') {
            annotations.insert(key.clone(), value.clone());
            continue;
        }
        let Some(prop) = entity.property(key) else {
            return Err(unknown_property(key, entity.name));
        };
        if prop.is(Flags::READ_ONLY) {
            return Err(DirectoryError::bad_request(format!(
                "Property '{}' is read-only and cannot be set.",
                prop.name
            )));
        }
        if mode == Mode::Update && prop.is(Flags::CREATE_ONLY) {
            return Err(DirectoryError::bad_request(format!("Property '{}' cannot be updated.", prop.name)));
        }
        let normalised = check_value(prop, value, entity.name)?;
        props.insert(prop.name.to_string(), normalised);
    }
    if mode == Mode::Create {
        for prop in entity.all_properties() {
            if prop.is(Flags::REQUIRED) && !waived.contains(&prop.name) && props.get(prop.name).is_none_or(is_empty) {
                return Err(DirectoryError::bad_request(format!(
                    "Property {} value is required but is empty or missing.",
                    prop.name
                )));
            }
        }
    } else {
        for prop in entity.all_properties() {
            if prop.is(Flags::REQUIRED) && props.get(prop.name).is_some_and(is_empty) {
                return Err(DirectoryError::bad_request(format!(
                    "Property {} value is required but is empty or missing.",
                    prop.name
                )));
            }
        }
    }
    Ok((props, annotations))
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        _ => false,
    }
}

/// Graph's (OData's) message for a property the type does not declare.
pub fn unknown_property(key: &str, type_name: &str) -> DirectoryError {
    DirectoryError::bad_request(format!(
        "The property '{key}' does not exist on type 'microsoft.graph.{type_name}'. Make sure to only use property names that are defined by the type or mark the type as open type."
    ))
}

fn invalid_value(prop: &str, type_name: &str) -> DirectoryError {
    DirectoryError::bad_request(format!(
        "Invalid value specified for property '{prop}' of resource '{}'.",
        capitalise(type_name)
    ))
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

fn check_value(prop: &Property, value: &Value, owner: &str) -> DirectoryResult<Value> {
    if value.is_null() {
        if prop.is(Flags::NULLABLE) || prop.collection {
            return Ok(Value::Null);
        }
        return Err(invalid_value(prop.name, owner));
    }
    if prop.collection {
        let Value::Array(items) = value else {
            return Err(invalid_value(prop.name, owner));
        };
        if items.len() > MAX_COLLECTION {
            return Err(DirectoryError::bad_request(format!(
                "Property '{}' holds more than {MAX_COLLECTION} values.",
                prop.name
            )));
        }
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            if item.is_null() {
                return Err(invalid_value(prop.name, owner));
            }
            out.push(check_scalar(prop, &prop.ty, item, owner)?);
        }
        return Ok(Value::Array(out));
    }
    check_scalar(prop, &prop.ty, value, owner)
}

fn check_scalar(prop: &Property, ty: &EdmType, value: &Value, owner: &str) -> DirectoryResult<Value> {
    let bad = || invalid_value(prop.name, owner);
    match ty {
        EdmType::String => match value {
            Value::String(s) if s.len() <= MAX_STRING && s.chars().count() <= max_chars(prop.name) => Ok(value.clone()),
            _ => Err(bad()),
        },
        EdmType::Boolean => value.is_boolean().then(|| value.clone()).ok_or_else(bad),
        EdmType::Int32 => match value.as_i64() {
            Some(n) if i32::try_from(n).is_ok() => Ok(value.clone()),
            _ => Err(bad()),
        },
        EdmType::Int64 => value.as_i64().map(|_| value.clone()).ok_or_else(bad),
        EdmType::Double => value.as_f64().map(|_| value.clone()).ok_or_else(bad),
        EdmType::DateTimeOffset => {
            let s = value.as_str().ok_or_else(bad)?;
            normalise_datetime(s).map(Value::String).ok_or_else(bad)
        }
        EdmType::Date => {
            let s = value.as_str().ok_or_else(bad)?;
            let fmt = time::macros::format_description!("[year]-[month]-[day]");
            time::Date::parse(s, &fmt).map(|_| value.clone()).map_err(|_| bad())
        }
        EdmType::Guid => {
            let s = value.as_str().ok_or_else(bad)?;
            uuid::Uuid::parse_str(s).map(|u| Value::String(u.to_string())).map_err(|_| bad())
        }
        EdmType::Binary => {
            let s = value.as_str().ok_or_else(bad)?;
            (s.len() <= MAX_STRING).then(|| value.clone()).ok_or_else(bad)
        }
        EdmType::Stream => Err(bad()),
        EdmType::Enum(name) => {
            let s = value.as_str().ok_or_else(bad)?;
            match cerulean_schema::enumeration(name) {
                Some(e) => e
                    .members
                    .iter()
                    .find(|m| m.eq_ignore_ascii_case(s))
                    .map(|m| Value::String((*m).to_string()))
                    .ok_or_else(bad),
                None => Ok(value.clone()),
            }
        }
        EdmType::Complex(name) => {
            let Value::Object(obj) = value else {
                return Err(bad());
            };
            match cerulean_schema::complex(name) {
                Some(ct) => check_complex(ct, obj, owner),
                // An open or undeclared complex type: keep it as sent, bounded by body size.
                None => Ok(value.clone()),
            }
        }
    }
}

fn check_complex(ct: &ComplexType, obj: &Map<String, Value>, owner: &str) -> DirectoryResult<Value> {
    let mut out = Map::new();
    for (key, value) in obj {
        if key.starts_with('@') {
            continue;
        }
        let Some(p) = ct.property(key) else {
            return Err(unknown_property(key, ct.name));
        };
        out.insert(p.name.to_string(), check_value(p, value, owner)?);
    }
    Ok(Value::Object(out))
}

/// Normalises an RFC 3339 date-time to UTC `YYYY-MM-DDTHH:MM:SSZ`, the form the store keeps
/// so that date-times order correctly as text.
pub fn normalise_datetime(s: &str) -> Option<String> {
    let t = OffsetDateTime::parse(s, &Rfc3339).ok()?;
    Some(format_datetime(t))
}

/// Formats a time the way every stored date-time looks.
pub fn format_datetime(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    t.format(&fmt).unwrap_or_default()
}

/// Now, formatted as stored.
pub fn now() -> String {
    format_datetime(cerulean_store::clock::now())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user() -> &'static EntityType {
        cerulean_schema::entity("user").expect("user declared")
    }

    #[test]
    fn unknown_property_is_named() {
        let body = json!({"displayName": "A", "bogus": 1});
        let err = validate_body(user(), body.as_object().expect("obj"), Mode::Update).unwrap_err();
        assert!(err.to_string().contains("'bogus'"), "{err}");
        assert_eq!(err.code(), "Request_BadRequest");
    }

    #[test]
    fn read_only_property_is_refused() {
        let body = json!({"id": "x"});
        let err = validate_body(user(), body.as_object().expect("obj"), Mode::Update).unwrap_err();
        assert!(err.to_string().contains("read-only"), "{err}");
    }

    #[test]
    fn names_are_canonicalised_and_types_checked() {
        let body = json!({"DISPLAYNAME": "A"});
        let (props, _) = validate_body(user(), body.as_object().expect("obj"), Mode::Update).expect("valid");
        assert_eq!(props.get("displayName"), Some(&json!("A")));
        let body = json!({"accountEnabled": "yes"});
        assert!(validate_body(user(), body.as_object().expect("obj"), Mode::Update).is_err());
    }

    #[test]
    fn required_properties_on_create() {
        let body = json!({"displayName": "A"});
        let err = validate_body(user(), body.as_object().expect("obj"), Mode::Create).unwrap_err();
        assert!(err.to_string().contains("required"), "{err}");
    }

    #[test]
    fn documented_lengths_are_enforced() {
        let long = "x".repeat(257);
        let body = json!({ "displayName": long });
        assert!(validate_body(user(), body.as_object().expect("obj"), Mode::Update).is_err());
        let body = json!({ "displayName": "x".repeat(256), "jobTitle": "é".repeat(128) });
        assert!(validate_body(user(), body.as_object().expect("obj"), Mode::Update).is_ok());
        let body = json!({ "otherMails": ["a".repeat(2000)] });
        assert!(validate_body(user(), body.as_object().expect("obj"), Mode::Update).is_err());
    }

    #[test]
    fn datetimes_normalise_to_utc() {
        assert_eq!(normalise_datetime("2024-01-02T03:04:05.123+01:00").as_deref(), Some("2024-01-02T02:04:05Z"));
        assert_eq!(normalise_datetime("yesterday"), None);
    }
}
