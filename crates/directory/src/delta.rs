//! Delta queries: the state of a type's objects, then the changes to them, read from the
//! store's per-tenant change log.
//!
//! A round starts with a snapshot taken at the tenant's current sequence `S`: the live objects
//! of the type, paged by id (the ordinary keyset [`ListQuery`]). It ends with a position at
//! `S`; a later round reads the change-log entries of the type after its position, groups them
//! per object and answers each object's *current* state, or its removal. Changes made while a
//! snapshot is paged are replayed by the next round, which Graph allows ("Your application must
//! be prepared for replays", Microsoft Graph docs, `concepts/delta-query-overview.md`).
//!
//! Cost: a later round reads only the entries of its type after its position (the store's
//! `(tenant, type, seq)` index) and the objects they name, so it grows with the number of
//! changes, never with the size of the tenant.
//!
//! Positions are plain values ([`DeltaToken`]); the front-end encodes them opaquely. They hold
//! no server state, so they work on any node and survive restarts. They expire when the change
//! log they point into has been pruned (see [`Directory::prune_change_log`]).

use std::collections::HashMap;

use cerulean_store::{ChangeLogEntry, Cursor, EdgeKind, Filter, ListQuery, ObjectRecord, PropPath, Scalar, Scope};
use cerulean_store::{PRUNE_BATCH, ValueKind};
use uuid::Uuid;

use crate::Directory;
use crate::error::{DirectoryError, DirectoryResult};

/// An object type with delta queries. Adding a type is one entry in [`DELTA_TYPES`].
#[derive(Debug)]
pub struct DeltaType {
    /// The store's object type (`user`).
    pub object_type: &'static str,
    /// Relationships that can be tracked (`$select=members`), by navigation-property name and
    /// the edge kind whose source is the tracked object.
    pub relations: &'static [(&'static str, EdgeKind)],
    /// Relationships tracked when no `$select` is given. Groups report `members@delta` by
    /// default ("group: delta", Response 1, which has no `$select`).
    pub default_relations: &'static [&'static str],
}

/// Every type served by delta queries. `$select=manager` on users and `members`/`owners` on
/// groups: "`$select` also supports manager and members navigation properties for users and
/// groups respectively", and "You can additionally track other changes like ownership ... by
/// selecting any group relationship of type directoryObject collection" ("group: delta").
pub static DELTA_TYPES: &[DeltaType] = &[
    DeltaType { object_type: "user", relations: &[("manager", EdgeKind::Manager)], default_relations: &[] },
    DeltaType {
        object_type: "group",
        relations: &[("members", EdgeKind::Member), ("owners", EdgeKind::Owner)],
        default_relations: &["members"],
    },
    // "application: delta" and "servicePrincipal: delta": owners are tracked with
    // `$select=owners`, as a group's relationships are.
    DeltaType { object_type: "application", relations: &[("owners", EdgeKind::Owner)], default_relations: &[] },
    DeltaType { object_type: "servicePrincipal", relations: &[("owners", EdgeKind::Owner)], default_relations: &[] },
    // "orgContact: delta" tracks the contacts themselves.
    DeltaType { object_type: "orgContact", relations: &[], default_relations: &[] },
    // "device: delta" tracks the devices themselves.
    DeltaType { object_type: "device", relations: &[], default_relations: &[] },
    // "administrativeUnit: delta": members are tracked with `$select=members`, as a group's.
    DeltaType {
        object_type: "administrativeUnit",
        relations: &[("members", EdgeKind::Member)],
        default_relations: &[],
    },
];

/// The delta declaration of `object_type`.
pub fn delta_type(object_type: &str) -> Option<&'static DeltaType> {
    DELTA_TYPES.iter().find(|t| t.object_type == object_type)
}

/// The object type of a round over several types ("directoryObject: delta"): its
/// [`DeltaQuery::types`] name the tracked types, each one of [`DELTA_TYPES`]. Such a round
/// tracks the objects themselves, not their relationships.
pub const DIRECTORY_OBJECT: &str = "directoryObject";

/// The most object ids a delta query may be scoped to ("There is a limit of 50 filtered
/// objects", "user: delta" and "group: delta", Optional query parameters).
pub const MAX_DELTA_IDS: usize = 50;

/// What a delta query tracks. Fixed by the first request of a round and carried by every token
/// after it ("Microsoft Graph automatically encodes any specified parameters into the token").
#[derive(Debug, Clone, PartialEq)]
pub struct DeltaQuery {
    pub object_type: String,
    /// A round over several types ([`DIRECTORY_OBJECT`]): the tracked types, in one snapshot
    /// ordered by id and one cursor over their change-log entries; empty for a single type.
    pub types: Vec<String>,
    /// Tracked and returned properties (canonical names); `None` for the default set.
    pub select: Option<Vec<String>>,
    /// Tracked relationships (navigation-property names of [`DeltaType::relations`]).
    pub relations: Vec<String>,
    /// Scope to these objects (`$filter=id eq '...' or ...`); empty for all.
    pub ids: Vec<Uuid>,
}

impl DeltaQuery {
    /// The store types the round reads.
    pub fn tracked_types(&self) -> Vec<&str> {
        if self.types.is_empty() {
            vec![self.object_type.as_str()]
        } else {
            self.types.iter().map(String::as_str).collect()
        }
    }

    /// Whether the query names known types: one of [`DELTA_TYPES`], or [`DIRECTORY_OBJECT`]
    /// over a non-empty list of them.
    fn valid(&self) -> bool {
        if self.object_type == DIRECTORY_OBJECT {
            !self.types.is_empty() && self.types.iter().all(|t| delta_type(t).is_some()) && self.relations.is_empty()
        } else {
            self.types.is_empty() && delta_type(&self.object_type).is_some()
        }
    }
}

/// Where a round stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeltaPosition {
    /// Paging the state as of sequence `seq`; `after` is the last object id served.
    Snapshot { seq: u64, after: Option<Uuid> },
    /// Reporting the changes after sequence `seq`.
    Changes { seq: u64 },
}

/// A complete, self-contained delta state: tenant, query and position.
#[derive(Debug, Clone, PartialEq)]
pub struct DeltaToken {
    pub tenant: Uuid,
    pub query: DeltaQuery,
    pub position: DeltaPosition,
}

/// Why an object left the collection (Graph's `@removed.reason`): `changed` when it "was
/// deleted and can be restored from deletedItems", `deleted` when it "is deleted and cannot be
/// restored" (`concepts/delta-query-overview.md`, "Resource representation").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemovedReason {
    Changed,
    Deleted,
}

impl RemovedReason {
    pub fn as_str(self) -> &'static str {
        match self {
            RemovedReason::Changed => "changed",
            RemovedReason::Deleted => "deleted",
        }
    }
}

/// A change to one tracked relationship of an object (`members@delta` entries).
#[derive(Debug, Clone, PartialEq)]
pub struct LinkChange {
    /// The relationship (`members`).
    pub relation: &'static str,
    pub target: Uuid,
    /// The target's object type, when the store still knows the target.
    pub target_type: Option<String>,
    /// The link was removed (Graph: `"@removed": {"reason": "deleted"}` on the entry).
    pub removed: bool,
}

/// One entry of a delta page.
#[derive(Debug, Clone, PartialEq)]
pub enum DeltaItem {
    /// A live object, in its current state, with its relationship changes.
    Object { record: ObjectRecord, links: Vec<LinkChange> },
    /// An object that left the collection, with its type (from the change log).
    Removed { id: Uuid, object_type: String, reason: RemovedReason },
}

/// A page of a round: its items and where the round continues. When `done`, `next` is the
/// position of the next round (Graph's `@odata.deltaLink`), otherwise of the next page
/// (`@odata.nextLink`).
#[derive(Debug, Clone, PartialEq)]
pub struct DeltaPage {
    pub items: Vec<DeltaItem>,
    pub next: DeltaToken,
    pub done: bool,
}

/// Graph's answer to a token older than the retained change log: "you will receive a
/// BadRequest response with the error code syncStateNotFound and the following error message:
/// The sync state generation is not found. The delta token is expired and data must be
/// synchronized again." (Microsoft 365 Developer Blog, "Duration of change tracking tokens for
/// identity and education resources"; `concepts/delta-query-overview.md`, "Token duration":
/// "a 40X-series error with error codes such as syncStateNotFound").
pub fn expired_token() -> DirectoryError {
    DirectoryError::BadRequest {
        code: "syncStateNotFound",
        message:
            "The sync state generation is not found. The delta token is expired and data must be synchronized again."
                .into(),
    }
}

/// A token that is not one of ours (another tenant, a position this store never reached).
pub fn invalid_token() -> DirectoryError {
    DirectoryError::bad_request("The delta token is invalid.")
}

/// Per-object facts gathered from the entries of one page.
#[derive(Default)]
struct Pending {
    relevant: bool,
    /// Net link changes by (relation, target): the last entry wins.
    links: Vec<(&'static str, Uuid, bool)>,
}

impl Directory {
    /// The first position of a round: a snapshot at the tenant's current sequence, or with
    /// `latest` (`$deltatoken=latest`, "sync from now": "the response will contain a
    /// @odata.deltaLink and no resource data") the changes from now on.
    pub async fn delta_start(&self, tenant: Uuid, query: DeltaQuery, latest: bool) -> DirectoryResult<DeltaToken> {
        if !query.valid() {
            return Err(DirectoryError::bad_request(format!(
                "Delta queries are not supported on '{}'.",
                query.object_type
            )));
        }
        let seq = self.store.change_log_bounds(tenant).await?.last;
        let position =
            if latest { DeltaPosition::Changes { seq } } else { DeltaPosition::Snapshot { seq, after: None } };
        Ok(DeltaToken { tenant, query, position })
    }

    /// One page of a round, at most `page_size` objects.
    pub async fn delta_page(&self, tenant: Uuid, token: &DeltaToken, page_size: usize) -> DirectoryResult<DeltaPage> {
        if !token.query.valid() || token.tenant != tenant {
            return Err(invalid_token());
        }
        let bounds = self.store.change_log_bounds(tenant).await?;
        let seq = match token.position {
            DeltaPosition::Snapshot { seq, .. } | DeltaPosition::Changes { seq } => seq,
        };
        if seq > bounds.last {
            return Err(invalid_token());
        }
        if seq < bounds.pruned_through {
            return Err(expired_token());
        }
        let page_size = page_size.max(1);
        match token.position {
            DeltaPosition::Snapshot { seq, after } => self.snapshot_page(tenant, token, seq, after, page_size).await,
            DeltaPosition::Changes { seq } => self.changes_page(tenant, token, seq, bounds.last, page_size).await,
        }
    }

    async fn snapshot_page(
        &self,
        tenant: Uuid,
        token: &DeltaToken,
        seq: u64,
        after: Option<Uuid>,
        page_size: usize,
    ) -> DirectoryResult<DeltaPage> {
        let mut q = ListQuery::new(&token.query.tracked_types(), Scope::Live);
        q.top = page_size;
        q.after = after.map(|id| Cursor { values: Vec::new(), id });
        if !token.query.ids.is_empty() {
            let values = token.query.ids.iter().map(|id| Scalar::Str(id.to_string())).collect();
            q.filter = Some(Filter::In { path: PropPath::id(), kind: ValueKind::Guid, values });
        }
        let page = self.store.list(tenant, &q).await?;
        let mut items = Vec::with_capacity(page.items.len());
        for record in page.items {
            let mut links = Vec::new();
            for (relation, kind) in tracked(&token.query) {
                let targets = self.store.edge_ids(tenant, kind, record.id, false).await?;
                links.extend(self.link_changes(tenant, targets.into_iter().map(|t| (relation, t, false))).await?);
            }
            items.push(DeltaItem::Object { record, links });
        }
        let (position, done) = match page.next {
            Some(c) => (DeltaPosition::Snapshot { seq, after: Some(c.id) }, false),
            None => (DeltaPosition::Changes { seq }, true),
        };
        Ok(DeltaPage { items, next: DeltaToken { position, ..token.clone() }, done })
    }

    async fn changes_page(
        &self,
        tenant: Uuid,
        token: &DeltaToken,
        seq: u64,
        last: u64,
        page_size: usize,
    ) -> DirectoryResult<DeltaPage> {
        // Entries are read in batches a few times the page size; a page ends early only when
        // a further entry would bring one object too many.
        let fetch = page_size.saturating_mul(4).clamp(16, 4 * PRUNE_BATCH);
        let types: Vec<String> = token.query.tracked_types().into_iter().map(str::to_string).collect();
        let entries = self.store.changes_of_types(tenant, &types, seq, fetch).await?;
        let relations = tracked(&token.query);
        let mut types_of: HashMap<Uuid, &str> = HashMap::new();
        let mut order: Vec<Uuid> = Vec::new();
        let mut pending: HashMap<Uuid, Pending> = HashMap::new();
        let mut consumed = seq;
        let mut exhausted = entries.len() < fetch;
        for e in &entries {
            if !pending.contains_key(&e.object_id)
                && order.len() == page_size
                && entry_matters(e, &token.query, &relations)
            {
                exhausted = false;
                break;
            }
            consumed = e.seq;
            if !token.query.ids.is_empty() && !token.query.ids.contains(&e.object_id) {
                continue;
            }
            let Some(change) = classify(e, &token.query, &relations) else {
                continue;
            };
            types_of.insert(e.object_id, e.object_type.as_str());
            let p = pending.entry(e.object_id).or_insert_with(|| {
                order.push(e.object_id);
                Pending::default()
            });
            p.relevant = true;
            if let Some((relation, target, removed)) = change {
                p.links.retain(|(r, t, _)| !(*r == relation && *t == target));
                p.links.push((relation, target, removed));
            }
        }
        let records = self.store.get_many(tenant, &order).await?;
        let by_id: HashMap<Uuid, ObjectRecord> = records.into_iter().map(|r| (r.id, r)).collect();
        let mut items = Vec::with_capacity(order.len());
        for id in order {
            let Some(p) = pending.remove(&id).filter(|p| p.relevant) else {
                continue;
            };
            let object_type = types_of.get(&id).copied().unwrap_or_default().to_string();
            items.push(match by_id.get(&id) {
                None => DeltaItem::Removed { id, object_type, reason: RemovedReason::Deleted },
                Some(r) if r.deleted_at.is_some() => {
                    DeltaItem::Removed { id, object_type: r.object_type.clone(), reason: RemovedReason::Changed }
                }
                Some(r) => {
                    let links = self.link_changes(tenant, p.links.into_iter()).await?;
                    DeltaItem::Object { record: r.clone(), links }
                }
            });
        }
        // Every entry up to `last` was visible when the entries were read (the bounds were read
        // first, and sequences are handed out in commit order), so a round that consumed all
        // it read may resume after `last`.
        let (position, done) = if exhausted {
            (DeltaPosition::Changes { seq: consumed.max(last) }, true)
        } else {
            (DeltaPosition::Changes { seq: consumed }, false)
        };
        Ok(DeltaPage { items, next: DeltaToken { position, ..token.clone() }, done })
    }

    /// Link changes with the targets' types (one read of the targets).
    async fn link_changes(
        &self,
        tenant: Uuid,
        changes: impl Iterator<Item = (&'static str, Uuid, bool)>,
    ) -> DirectoryResult<Vec<LinkChange>> {
        let changes: Vec<_> = changes.collect();
        if changes.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<Uuid> = changes.iter().map(|(_, t, _)| *t).collect();
        let types: HashMap<Uuid, String> =
            self.store.get_many(tenant, &ids).await?.into_iter().map(|r| (r.id, r.object_type)).collect();
        Ok(changes
            .into_iter()
            .map(|(relation, target, removed)| LinkChange {
                relation,
                target,
                target_type: types.get(&target).cloned(),
                removed,
            })
            .collect())
    }

    /// Prunes change-log entries older than `before` (RFC 3339) for every tenant, in bounded
    /// transactions. Delta tokens older than the pruned entries then get [`expired_token`].
    /// Returns how many entries were removed.
    pub async fn prune_change_log(&self, before: &str) -> DirectoryResult<usize> {
        let mut total = 0;
        for tenant in self.store.tenants().await? {
            loop {
                let n = self.store.prune_changes(tenant.id, before, PRUNE_BATCH).await?;
                total += n;
                if n < PRUNE_BATCH {
                    break;
                }
            }
        }
        Ok(total)
    }
}

/// The relationships `query` tracks, with their edge kinds (none on a round over several types).
fn tracked(query: &DeltaQuery) -> Vec<(&'static str, EdgeKind)> {
    let Some(ty) = delta_type(&query.object_type) else {
        return Vec::new();
    };
    ty.relations.iter().filter(|(name, _)| query.relations.iter().any(|r| r == name)).copied().collect()
}

/// Whether `e` would put its object on the page.
fn entry_matters(e: &ChangeLogEntry, query: &DeltaQuery, relations: &[(&'static str, EdgeKind)]) -> bool {
    (query.ids.is_empty() || query.ids.contains(&e.object_id)) && classify(e, query, relations).is_some()
}

/// What an entry means for a delta round: `None` when it does not concern the tracked
/// properties and relationships (`Some(None)` for an object-level change, `Some(Some(link))`
/// for a tracked link). "If a change occurs to a property that is not selected, the resource
/// for which that property changed does not appear in the delta response"
/// (`concepts/delta-query-overview.md`).
#[allow(clippy::type_complexity)]
fn classify(
    e: &ChangeLogEntry,
    query: &DeltaQuery,
    relations: &[(&'static str, EdgeKind)],
) -> Option<Option<(&'static str, Uuid, bool)>> {
    match e.kind.as_str() {
        "created" | "deleted" | "restored" | "purged" => Some(None),
        "updated" => {
            let changed = e.detail.get("changed").and_then(|c| c.as_array());
            let touches = match (&query.select, changed) {
                (Some(select), Some(changed)) => {
                    changed.iter().filter_map(|c| c.as_str()).any(|c| select.iter().any(|s| s == c))
                }
                // Default properties, or an entry written before updates named their changes.
                _ => true,
            };
            touches.then_some(None)
        }
        "edge_added" | "edge_removed" => {
            let kind = e.detail.get("kind").and_then(|k| k.as_str())?;
            let target = e.detail.get("target").and_then(|t| t.as_str()).and_then(|t| Uuid::parse_str(t).ok())?;
            let (relation, _) = relations.iter().find(|(_, k)| k.as_str() == kind)?;
            Some(Some((*relation, target, e.kind == "edge_removed")))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(kind: &str, detail: serde_json::Value) -> ChangeLogEntry {
        ChangeLogEntry {
            seq: 1,
            object_id: Uuid::from_u128(1),
            object_type: "group".into(),
            kind: kind.into(),
            detail,
            at: "2024-01-01T00:00:00Z".into(),
        }
    }

    fn query(select: Option<&[&str]>, relations: &[&str]) -> DeltaQuery {
        DeltaQuery {
            object_type: "group".into(),
            select: select.map(|s| s.iter().map(|x| x.to_string()).collect()),
            types: Vec::new(),
            relations: relations.iter().map(|x| x.to_string()).collect(),
            ids: Vec::new(),
        }
    }

    #[test]
    fn updates_of_unselected_properties_are_skipped() {
        assert!(delta_type("group").is_some());
        let q = query(Some(&["displayName"]), &[]);
        let rel = tracked(&q);
        assert_eq!(classify(&entry("updated", json!({ "changed": ["description"] })), &q, &rel), None);
        assert_eq!(classify(&entry("updated", json!({ "changed": ["displayName"] })), &q, &rel), Some(None));
        assert_eq!(classify(&entry("updated", serde_json::Value::Null), &q, &rel), Some(None));
        assert_eq!(classify(&entry("secret", json!({})), &q, &rel), None);
    }

    #[test]
    fn only_tracked_links_count() {
        assert!(delta_type("group").is_some());
        let target = Uuid::from_u128(7);
        let added = entry("edge_added", json!({ "kind": "member", "target": target }));
        let owner = entry("edge_removed", json!({ "kind": "owner", "target": target }));
        let q = query(None, &["members"]);
        let rel = tracked(&q);
        assert_eq!(classify(&added, &q, &rel), Some(Some(("members", target, false))));
        assert_eq!(classify(&owner, &q, &rel), None);
        let q = query(Some(&["displayName"]), &[]);
        assert_eq!(classify(&added, &q, &tracked(&q)), None);
    }
}
