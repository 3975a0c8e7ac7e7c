//! Which properties changed, per object, over a stretch of a delta round: what Azure AD Graph's
//! differential query needs for `ocp-aad-dq-include-only-changed-properties` ("Differential
//! Queries can now return only updated properties and links"), read from the same change log
//! as the rounds of [`crate::delta`].

use std::collections::HashMap;

use cerulean_store::PRUNE_BATCH;
use uuid::Uuid;

use crate::Directory;
use crate::error::DirectoryResult;

/// Batches read at most: a page of a round consumes at most a few batches of one type's
/// entries, so the stretch it covers fits in these.
const MAX_BATCHES: usize = 8;

/// What changed about one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangedProperties {
    /// Created, restored, or updated before updates named their changes: the whole object.
    All,
    /// These stored (v1.0) property names.
    Some(Vec<String>),
}

impl Directory {
    /// The changed properties of `ids` (objects of `object_type`) in the change log after
    /// sequence `after` up to `through` inclusive. Objects without entries there are absent.
    pub async fn delta_changed_properties(
        &self,
        tenant: Uuid,
        object_type: &str,
        after: u64,
        through: u64,
        ids: &[Uuid],
    ) -> DirectoryResult<HashMap<Uuid, ChangedProperties>> {
        let mut out: HashMap<Uuid, ChangedProperties> = HashMap::new();
        let types = vec![object_type.to_string()];
        let mut cursor = after;
        for _ in 0..MAX_BATCHES {
            if cursor >= through {
                break;
            }
            let entries = self.store.changes_of_types(tenant, &types, cursor, PRUNE_BATCH).await?;
            let Some(last) = entries.last().map(|e| e.seq) else {
                break;
            };
            for e in entries.iter().filter(|e| e.seq <= through && ids.contains(&e.object_id)) {
                let names = match e.kind.as_str() {
                    "updated" => e
                        .detail
                        .get("changed")
                        .and_then(|c| c.as_array())
                        .map(|c| c.iter().filter_map(|n| n.as_str().map(str::to_string)).collect::<Vec<_>>()),
                    "created" | "restored" => None,
                    _ => continue,
                };
                let slot = out.entry(e.object_id).or_insert_with(|| ChangedProperties::Some(Vec::new()));
                match (names, &mut *slot) {
                    (Some(names), ChangedProperties::Some(seen)) => {
                        for n in names {
                            if !seen.contains(&n) {
                                seen.push(n);
                            }
                        }
                    }
                    (Some(_), ChangedProperties::All) => {}
                    (None, _) => *slot = ChangedProperties::All,
                }
            }
            if entries.len() < PRUNE_BATCH {
                break;
            }
            cursor = last;
        }
        Ok(out)
    }
}
