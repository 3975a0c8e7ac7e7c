//! Shared pieces of the change log: what an `updated` entry records, and the bounds a delta
//! reader checks its position against.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// The retained range of a tenant's change log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ChangeLogBounds {
    /// Entries with a sequence at or below this may have been pruned: a reader positioned
    /// before it has missed changes (a delta token that old has expired).
    pub pruned_through: u64,
    /// The tenant's latest sequence (0 before any change).
    pub last: u64,
}

/// The detail of an `updated` entry: the top-level properties whose value changed, sorted.
/// Delta queries with `$select` use it to skip updates of properties the client does not
/// track ("If a change occurs to a property that is not selected, the resource ... does not
/// appear in the delta response", Microsoft Graph docs, `concepts/delta-query-overview.md`).
pub(crate) fn update_detail(old: &Map<String, Value>, new: &Map<String, Value>) -> Value {
    let mut changed: Vec<&str> = new.iter().filter(|(k, v)| old.get(*k) != Some(*v)).map(|(k, _)| k.as_str()).collect();
    changed.extend(old.keys().filter(|k| !new.contains_key(*k)).map(String::as_str));
    changed.sort_unstable();
    changed.dedup();
    json!({ "changed": changed })
}

/// How many entries one pruning transaction removes at most, so a large backlog never holds
/// the writer (SQLite) or the tenant row (PostgreSQL) for long.
pub const PRUNE_BATCH: usize = 1000;

/// The longest prefix of `entries` (oldest first, as `(seq, at)`) committed strictly before
/// `before`; returns the last sequence of that prefix. Times are compared parsed, because
/// RFC 3339 texts with different fractional digits do not order as strings.
pub(crate) fn prune_prefix(entries: &[(u64, String)], before: &str) -> Option<u64> {
    use time::OffsetDateTime;
    use time::format_description::well_known::Rfc3339;
    let limit = OffsetDateTime::parse(before, &Rfc3339).ok()?;
    let mut last = None;
    for (seq, at) in entries {
        match OffsetDateTime::parse(at, &Rfc3339) {
            Ok(t) if t < limit => last = Some(*seq),
            _ => break,
        }
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_detail_names_changed_added_and_removed_keys() {
        let old = json!({ "a": 1, "b": 2, "c": 3 });
        let new = json!({ "a": 1, "b": 5, "d": 4 });
        let (Value::Object(old), Value::Object(new)) = (old, new) else { panic!("objects") };
        assert_eq!(update_detail(&old, &new), json!({ "changed": ["b", "c", "d"] }));
    }

    #[test]
    fn prune_prefix_stops_at_the_first_recent_entry() {
        let e = |s: u64, at: &str| (s, at.to_string());
        let entries = [e(1, "2024-01-01T00:00:00.5Z"), e(2, "2024-01-02T00:00:00Z"), e(3, "2024-01-01T00:00:00Z")];
        assert_eq!(prune_prefix(&entries, "2024-01-01T12:00:00Z"), Some(1));
        assert_eq!(prune_prefix(&entries, "2023-01-01T00:00:00Z"), None);
        assert_eq!(prune_prefix(&entries, "not a time"), None);
    }
}
