//! Values the token endpoint derives from a tenant's directory on every request (an
//! application with its secrets, the app roles it holds, the Conditional Access policies, the
//! token lifetime policies), kept while the tenant's change log has not moved (issue 8).
//!
//! Every write of a tenant, on any node sharing the store, appends to its change log and so
//! moves its sequence. A value is stored under the sequence read *before* the value was read,
//! so it is never newer than its key: a write landing in between makes the next request miss
//! and read again, never serve a value older than what it was keyed on. Inside a unit of work
//! (staged writes the change log does not show yet) the caches are bypassed.
//!
//! A token request may pin the tenant's position for its whole duration
//! ([`Directory::pinned`]): the first cached lookup of the request reads the sequence, every
//! later lookup of the request reuses it instead of asking the store again (issue 8: on
//! PostgreSQL each read of the sequence was a round trip, five or six per token). This is
//! exact, not merely fresh enough: a value kept under sequence `p` was read after `p` was
//! read, so it reflects every write committed up to `p`; the request read `p` after it
//! started, so every write committed before the request started is at or below `p` and is
//! reflected. A write committed after the request read `p` is concurrent with the request,
//! which may order itself before it (as it would had it run a moment earlier). A pinned
//! directory serves only requests that write nothing to the change log (the client
//! credentials grant: its sign-in and risk rows are logs, not directory changes), so no write
//! of the request itself can hide behind the pinned sequence.
//!
//! Each cache is bounded: past its limit it starts over, which bounds its memory whatever the
//! number of tenants and applications.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use cerulean_store::{ObjectRecord, TenantRecord};
use uuid::Uuid;

use crate::apps::{AppCredentials, ResourceRoles};

/// One cache: key -> (the change-log sequence it was read at, the value).
pub(crate) struct SeqCache<K, V> {
    map: Mutex<HashMap<K, (u64, Arc<V>)>>,
    limit: usize,
}

impl<K: Eq + Hash, V> SeqCache<K, V> {
    pub(crate) fn new(limit: usize) -> Self {
        SeqCache { map: Mutex::new(HashMap::new()), limit: limit.max(1) }
    }

    /// The value of `key` if it was read at `seq`.
    pub(crate) fn get(&self, key: &K, seq: Option<u64>) -> Option<Arc<V>> {
        let seq = seq?;
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        match map.get(key) {
            Some((at, value)) if *at == seq => Some(value.clone()),
            _ => None,
        }
    }

    /// Keeps `value`, read at `seq` (nothing is kept without a sequence).
    pub(crate) fn put(&self, key: K, seq: Option<u64>, value: Arc<V>) {
        let Some(seq) = seq else { return };
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= self.limit && !map.contains_key(&key) {
            map.clear();
        }
        map.insert(key, (seq, value));
    }
}

/// A tenant's Conditional Access policies and named locations.
pub(crate) struct ConditionalAccessObjects {
    pub policies: Vec<ObjectRecord>,
    pub locations: Vec<ObjectRecord>,
}

/// The caches of one directory (shared by its clones).
pub(crate) struct Caches {
    /// Resource service principals' app roles, by (tenant, lower-case appId).
    pub resource_roles: SeqCache<(Uuid, String), Option<Arc<ResourceRoles>>>,
    /// The app roles a service principal holds on a resource: (tenant, principal, lower-case
    /// resource appId) -> the sorted role values (`None`: no such resource in the tenant).
    pub granted_roles: SeqCache<(Uuid, Uuid, String), Option<Vec<String>>>,
    /// Applications with their service principal and secrets, by (tenant, lower-case appId).
    pub apps: SeqCache<(Uuid, String), Option<AppCredentials>>,
    /// Service principals as the token endpoint reads them, by (tenant, lower-case appId).
    pub token_sps: SeqCache<(Uuid, String), Option<Arc<ObjectRecord>>>,
    /// Conditional Access policies and named locations, by tenant.
    pub conditional_access: SeqCache<Uuid, ConditionalAccessObjects>,
    /// Tenants by id (`resolve_tenant` of a tenant id). A tenant's name and creation time
    /// never change and its domains change through the change log, so the sequence keys it
    /// like the rest.
    pub tenants: SeqCache<Uuid, Option<TenantRecord>>,
}

/// The change-log position a pinned directory read first (see the module documentation):
/// `(tenant, sequence)`, set by the request's first cached lookup.
#[derive(Default)]
pub(crate) struct Pin(Mutex<Option<(Uuid, u64)>>);

impl Default for Caches {
    fn default() -> Self {
        Caches {
            resource_roles: SeqCache::new(256),
            granted_roles: SeqCache::new(4096),
            apps: SeqCache::new(4096),
            token_sps: SeqCache::new(256),
            conditional_access: SeqCache::new(1024),
            tenants: SeqCache::new(1024),
        }
    }
}

impl crate::Directory {
    /// The same directory, pinned to the change-log position its first cached lookup reads,
    /// for one request that writes nothing to the change log (see the module documentation).
    /// Only the first tenant looked up is pinned; others are read as usual.
    pub fn pinned(&self) -> crate::Directory {
        let mut pinned = self.clone();
        pinned.pin = Some(Arc::default());
        pinned
    }

    /// The tenant's change-log sequence, the key of the caches; `None` (no caching) inside a
    /// unit of work or when it cannot be read. A pinned directory reads it once.
    pub(crate) async fn cache_seq(&self, tenant: Uuid) -> Option<u64> {
        if self.staged.is_some() {
            return None;
        }
        let pin = self.pin.as_deref();
        if let Some(Pin(at)) = pin
            && let Some((t, seq)) = *at.lock().unwrap_or_else(|e| e.into_inner())
            && t == tenant
        {
            return Some(seq);
        }
        let seq = self.store.change_log_bounds(tenant).await.ok().map(|b| b.last)?;
        if let Some(Pin(at)) = pin {
            at.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert((tenant, seq));
        }
        Some(seq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_served_only_at_its_sequence() {
        let cache: SeqCache<u32, String> = SeqCache::new(2);
        cache.put(1, Some(7), Arc::new("a".into()));
        assert_eq!(cache.get(&1, Some(7)).as_deref().map(String::as_str), Some("a"));
        assert!(cache.get(&1, Some(8)).is_none(), "the change log moved");
        assert!(cache.get(&1, None).is_none(), "no sequence, no cache");
        cache.put(2, None, Arc::new("b".into()));
        assert!(cache.get(&2, None).is_none());
        // Bounded: a third key starts over.
        cache.put(2, Some(7), Arc::new("b".into()));
        cache.put(3, Some(7), Arc::new("c".into()));
        assert!(cache.get(&1, Some(7)).is_none());
        assert!(cache.get(&3, Some(7)).is_some());
    }
}
