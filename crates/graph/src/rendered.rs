//! Rendered default-shape bodies of `GET /{set}/{id}`, kept per node and checked against the
//! store on every read.
//!
//! A repeated read of one object without query options used to decode the stored document,
//! shape it and serialise it again, for the same bytes. The body is kept here with the stamp
//! ([`RowStamp`]: version and last write time) of the row it was rendered from; the next read
//! asks the store for the row *unless* it still has that stamp (one round trip, as before, but
//! the document is neither sent nor parsed) and answers the kept bytes when it does. Nothing is
//! served without that check, so a write committed by any node, through any path (an update,
//! a deletion, a restore, an import), is seen by the next read exactly as without the cache.
//!
//! Only bodies that are the same for every caller are kept: the default shape (no `$select`,
//! no `$expand`) of an object without custom security attribute values (those are redacted
//! per caller). Entries are keyed by tenant and id and also record the API version and entity
//! set they were rendered for (the `@odata.context` differs). Bounded in bytes: a full shard
//! drops arbitrary entries.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use cerulean_store::RowStamp;
use uuid::Uuid;

const SHARDS: usize = 16;
/// The bytes kept in all (bodies and a per-entry overhead): 2 MiB holds about 3,000 users'
/// default shapes, and stays small against the idle memory budget.
const BUDGET_BYTES: usize = 2 * 1024 * 1024;
const SHARD_BUDGET: usize = BUDGET_BYTES / SHARDS;
/// A body larger than this is not kept (one entry must not push out a shard's worth).
const MAX_BODY: usize = 16 * 1024;
/// What an entry costs beyond its body: key, stamp, `Arc`, map slot.
const ENTRY_OVERHEAD: usize = 160;

/// A body and what it was rendered from.
#[derive(Debug)]
pub(crate) struct Rendered {
    pub stamp: RowStamp,
    /// `v1.0` or `beta`.
    pub api: &'static str,
    /// The entity set (`users`).
    pub set: &'static str,
    pub body: Bytes,
}

impl Rendered {
    fn cost(&self) -> usize {
        self.body.len() + self.stamp.updated_at.len() + ENTRY_OVERHEAD
    }
}

#[derive(Default)]
struct Shard {
    entries: HashMap<(Uuid, Uuid), Arc<Rendered>>,
    bytes: usize,
}

/// The kept bodies of one server (shared by its API versions).
pub struct RenderedCache {
    shards: Vec<Mutex<Shard>>,
}

impl Default for RenderedCache {
    fn default() -> Self {
        RenderedCache { shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect() }
    }
}

impl RenderedCache {
    fn shard(&self, id: Uuid) -> &Mutex<Shard> {
        // Object ids are random (v4): any byte spreads them.
        &self.shards[id.as_bytes()[15] as usize % SHARDS]
    }

    /// The body kept for the object, if it was rendered for this API version and set.
    pub(crate) fn get(&self, tenant: Uuid, id: Uuid, api: &str, set: &str) -> Option<Arc<Rendered>> {
        let shard = self.shard(id).lock().unwrap_or_else(|p| p.into_inner());
        shard.entries.get(&(tenant, id)).filter(|r| r.api == api && r.set == set).cloned()
    }

    /// Keeps `rendered` for the object, replacing what was kept.
    pub(crate) fn insert(&self, tenant: Uuid, id: Uuid, rendered: Rendered) {
        if rendered.body.len() > MAX_BODY {
            return;
        }
        let rendered = Arc::new(rendered);
        let cost = rendered.cost();
        let mut shard = self.shard(id).lock().unwrap_or_else(|p| p.into_inner());
        if let Some(old) = shard.entries.remove(&(tenant, id)) {
            shard.bytes -= old.cost();
        }
        while shard.bytes + cost > SHARD_BUDGET {
            let Some(key) = shard.entries.keys().next().copied() else { break };
            if let Some(old) = shard.entries.remove(&key) {
                shard.bytes -= old.cost();
            }
        }
        shard.bytes += cost;
        shard.entries.insert((tenant, id), rendered);
    }

    /// Forgets the object (it no longer exists or is no longer readable as kept).
    pub(crate) fn remove(&self, tenant: Uuid, id: Uuid) {
        let mut shard = self.shard(id).lock().unwrap_or_else(|p| p.into_inner());
        if let Some(old) = shard.entries.remove(&(tenant, id)) {
            shard.bytes -= old.cost();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered(version: i64, body: &str) -> Rendered {
        Rendered {
            stamp: RowStamp { version, updated_at: "2026-01-01T00:00:00Z".into() },
            api: "v1.0",
            set: "users",
            body: Bytes::from(body.to_string()),
        }
    }

    #[test]
    fn entries_are_found_by_tenant_api_and_set_and_replaced() {
        let cache = RenderedCache::default();
        let (tenant, id) = (Uuid::new_v4(), Uuid::new_v4());
        cache.insert(tenant, id, rendered(1, "{\"a\":1}"));
        assert_eq!(cache.get(tenant, id, "v1.0", "users").map(|r| r.stamp.version), Some(1));
        assert!(cache.get(Uuid::new_v4(), id, "v1.0", "users").is_none(), "another tenant");
        assert!(cache.get(tenant, id, "beta", "users").is_none(), "another API version");
        assert!(cache.get(tenant, id, "v1.0", "groups").is_none(), "another set");
        cache.insert(tenant, id, rendered(2, "{\"a\":2}"));
        let kept = cache.get(tenant, id, "v1.0", "users").expect("kept");
        assert_eq!((kept.stamp.version, &kept.body[..]), (2, &b"{\"a\":2}"[..]));
        cache.remove(tenant, id);
        assert!(cache.get(tenant, id, "v1.0", "users").is_none());
    }

    #[test]
    fn the_byte_budget_holds() {
        let cache = RenderedCache::default();
        let tenant = Uuid::new_v4();
        let body = "x".repeat(1000);
        for _ in 0..(4 * BUDGET_BYTES / 1000) {
            cache.insert(tenant, Uuid::new_v4(), rendered(1, &body));
        }
        let shards: Vec<_> = cache.shards.iter().map(|s| s.lock().expect("shard")).collect();
        let bytes: usize = shards.iter().map(|s| s.bytes).sum();
        let counted: usize = shards.iter().flat_map(|s| s.entries.values()).map(|r| r.cost()).sum();
        assert_eq!(bytes, counted, "the count follows the entries");
        assert!(bytes <= BUDGET_BYTES, "{bytes} bytes kept");
        assert!(bytes > BUDGET_BYTES / 2, "the budget is used: {bytes}");
        drop(shards);
        let big = "y".repeat(MAX_BODY + 1);
        let id = Uuid::new_v4();
        cache.insert(tenant, id, rendered(1, &big));
        assert!(cache.get(tenant, id, "v1.0", "users").is_none(), "a body over the limit is not kept");
    }
}
