//! Partner relationships (`contract`): a partner's view of a customer tenant it manages.
//! Graph only reads them; a fixture's `contracts` section is where they come from.

use cerulean_store::ObjectRecord;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::error::{DirectoryError, DirectoryResult};

/// The object a fixture's contract entry describes: `contractType`, `customerId` (a GUID),
/// `defaultDomainName` and `displayName`, all strings; `customerId` and `displayName` required.
pub(crate) fn contract_object(body: &Map<String, Value>, id: Uuid) -> DirectoryResult<ObjectRecord> {
    let invalid = |p: &str| {
        DirectoryError::bad_request(format!("Invalid value specified for property '{p}' of resource 'Contract'."))
    };
    let mut doc = Map::new();
    for (key, value) in body {
        let name = match key.as_str() {
            "contractType" | "customerId" | "defaultDomainName" | "displayName" => key.as_str(),
            other => return Err(crate::validate::unknown_property(other, "contract")),
        };
        let Some(text) = value.as_str() else { return Err(invalid(name)) };
        if text.is_empty() || text.chars().count() > 256 {
            return Err(invalid(name));
        }
        let text = if name == "customerId" {
            Uuid::parse_str(text).map_err(|_| invalid(name))?.to_string()
        } else {
            text.to_string()
        };
        doc.insert(name.to_string(), Value::String(text));
    }
    for required in ["customerId", "displayName"] {
        if !doc.contains_key(required) {
            return Err(DirectoryError::bad_request(format!(
                "Property {required} value is required but is empty or missing."
            )));
        }
    }
    Ok(ObjectRecord { id, object_type: "contract".into(), version: 1, doc, deleted_at: None })
}
