//! Building audit records: who changed what, with old and new values. Secrets never reach the
//! document, so a document diff cannot leak one; `passwordProfile` is redacted by name anyway.

use cerulean_store::{AuditRecord, AuditTarget, ModifiedProperty, ObjectRecord};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::Caller;

/// Properties whose values are never written to the audit log. Custom security attribute
/// values are readable only by the attribute roles, while `directoryAudits` is readable with
/// `AuditLog.Read.All`; Entra keeps their changes in a log of their own
/// (`customSecurityAttributeAudits`), so here the change is recorded without its values.
const REDACTED: &[&str] = &["passwordProfile", "customSecurityAttributes"];

pub(crate) fn record(
    caller: &Caller,
    activity: &str,
    category: &str,
    operation: &str,
    targets: Vec<AuditTarget>,
) -> AuditRecord {
    AuditRecord {
        id: Uuid::new_v4(),
        at: crate::validate::now(),
        activity: activity.to_string(),
        category: category.to_string(),
        operation_type: operation.to_string(),
        actor: caller.actor.clone(),
        targets,
        correlation_id: caller.correlation_id.clone(),
        result: "success".into(),
    }
}

/// A target with the properties that differ between `old` and `new`.
pub(crate) fn target(
    object: &ObjectRecord,
    old: Option<&Map<String, Value>>,
    new: Option<&Map<String, Value>>,
) -> AuditTarget {
    let empty = Map::new();
    let old_doc = old.unwrap_or(&empty);
    let new_doc = new.unwrap_or(&empty);
    let mut keys: Vec<&String> = old_doc.keys().chain(new_doc.keys()).collect();
    keys.sort();
    keys.dedup();
    let modified = keys
        .into_iter()
        .filter(|k| old_doc.get(*k) != new_doc.get(*k))
        .map(|k| {
            let redact = REDACTED.contains(&k.as_str());
            let val = |v: Option<&Value>| match (redact, v) {
                (true, Some(_)) => Value::String("[redacted]".into()),
                (_, v) => v.cloned().unwrap_or(Value::Null),
            };
            ModifiedProperty { name: k.clone(), old_value: val(old_doc.get(k)), new_value: val(new_doc.get(k)) }
        })
        .collect();
    AuditTarget {
        id: object.id,
        object_type: object.object_type.clone(),
        display_name: object.doc.get("displayName").and_then(Value::as_str).map(str::to_string),
        modified,
    }
}

/// A target named without property changes (membership edges, deletions).
pub(crate) fn bare_target(object: &ObjectRecord) -> AuditTarget {
    target(object, None, None)
}
