//! Transitive group membership, answered from an in-memory membership graph per tenant.
//!
//! # Why in memory
//!
//! `checkMemberGroups`, `getMemberGroups`, `transitiveMemberOf` and `transitiveMembers` need
//! the closure of nested `Member` edges. Walking the edge table per request costs one store
//! round trip per nesting level (and per group at each level); the design budget (p99 under
//! 2 ms at 100k users, 10k groups, depth 6) leaves room for one cheap read, not a walk. So each
//! tenant's `Member` edges live in memory as adjacency lists both ways (group -> members,
//! object -> groups), and a transitive query is a breadth-first search with a visited set —
//! which also makes cycles in nesting harmless (each node is expanded once, no recursion).
//!
//! # Consistency: the change log is the source of truth
//!
//! A graph is loaded lazily, on the tenant's first membership query: the tenant's change-log
//! position is read first ([`Store::change_log_bounds`]), then every live `Member` edge in one
//! read ([`Store::edges_of_kind`]), then the log is replayed from that position. Before every
//! answer the tenant's current sequence is read again (one primary-key read of the tenant row)
//! and, when the graph is behind, the entries since its position are replayed
//! ([`Store::changes_since`]). A write committed by any node — another server on the same
//! PostgreSQL database included — is therefore seen by the next read on every node: Cerulean
//! is strongly consistent here, where Entra is eventually consistent.
//!
//! A load (or replay) is single-flight: it runs in a task of its own holding the graph's write
//! lock, so requests arriving meanwhile wait for it instead of starting another, and a request
//! dropped meanwhile (client gone) does not cancel it: the load lands for the next request.
//!
//! Replay is idempotent and order-preserving, so it may start from a position older than the
//! loaded edges (the edge read is not a snapshot at a known sequence):
//! - `edge_added` / `edge_removed` with detail `{kind: "member", target}` insert / remove one
//!   edge (set semantics: the last entry for an edge decides);
//! - `deleted` and `purged` drop every edge of the object: the store hides edges whose end is
//!   in the recycle bin;
//! - `restored` reloads the object's edges from the store ([`Store::edge_ids`], which already
//!   skips ends still deleted), as a restore brings memberships back.
//!
//! The directory's own membership writes also update the graph directly, when the write's
//! sequence immediately follows the graph's position (nothing else happened in between); the
//! next read then finds nothing to replay. Any other case is left to the replay.
//!
//! # Renderings
//!
//! A front-end may keep a rendering of an object the graph holds (the Graph front-end keeps
//! each member's serialized default shape, so a `transitiveMemberOf` page neither reads nor
//! parses nor serializes documents it served before). The replay drops a node's rendering on
//! every entry that changes the object (anything but an edge entry), and records the entry's
//! sequence; a rendering is kept only when read at a position no older than the object's last
//! change nor than the graph's build. The replay runs before every answer, so a rendering
//! served is never older than the request: the same consistency as the documents themselves.
//! At most [`MAX_RENDERED`] renderings are kept per tenant.
//!
//! A graph whose position fell behind the log's retention (`pruned_through`), or more than
//! [`RELOAD_AFTER`] entries behind, is rebuilt from the edges instead of replayed.
//!
//! # Memory
//!
//! Object ids are interned to `u32` indices: a node costs its id, a type tag and two vectors
//! (about 100 bytes with its hash-map slot), an edge 8 bytes (one index in each direction).
//! 100k users in 10k groups with ten memberships each is about 20 MB. At most
//! [`MAX_TENANTS`] graphs are kept; the least recently used one is dropped beyond that and
//! reloaded on its next query. Only objects with at least one membership edge are nodes.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use cerulean_store::{ChangeLogBounds, ChangeLogEntry, EdgeKind, ObjectRecord, Store};
use tokio::sync::{OwnedRwLockReadGuard, RwLock};
use uuid::Uuid;

use crate::Directory;
use crate::error::{DirectoryError, DirectoryResult};

/// How many tenant graphs are kept in memory at once.
pub const MAX_TENANTS: usize = 64;
/// A graph this many change-log entries behind is rebuilt rather than replayed.
pub const RELOAD_AFTER: u64 = 50_000;
/// Renderings kept per tenant graph (about 1 KB each).
pub const MAX_RENDERED: usize = 20_000;
/// Change-log entries read per round trip while replaying.
const REPLAY_BATCH: usize = 2_000;
/// The object type whose membership does not nest.
const ADMINISTRATIVE_UNIT: &str = "administrativeUnit";
/// Type tag of a node whose object type is not known yet (resolved before answering).
const UNKNOWN: u16 = u16::MAX;

/// Which way a transitive query walks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// The groups (and other containers) an object is in, directly or through nesting.
    MemberOf,
    /// The members of a group, directly or through nested groups.
    Members,
}

/// One tenant's membership graph.
#[derive(Default)]
struct TenantGraph {
    /// Whether the edges were loaded; until then the graph answers nothing.
    loaded: bool,
    /// The change-log sequence the graph reflects (at least).
    seq: u64,
    index: HashMap<Uuid, u32>,
    ids: Vec<Uuid>,
    /// Index into `type_names`, or [`UNKNOWN`].
    types: Vec<u16>,
    type_names: Vec<String>,
    /// Direct members of each node (non-empty only for groups).
    members: Vec<Vec<u32>>,
    /// Direct containers of each node.
    member_of: Vec<Vec<u32>>,
    /// Nodes whose type must be looked up before answering.
    unresolved: Vec<u32>,
    /// The change-log sequence the graph was built at: changes before it are not tracked per
    /// node, so no rendering read before it is kept.
    built_at: u64,
    /// Per node: the sequence of the last replayed entry that changed the object itself (not
    /// an edge), 0 when none since `built_at`.
    changed: Vec<u64>,
    /// Renderings of objects kept by a front-end (opaque text, see [`Directory::rendered`]),
    /// per node; an entry is dropped when the replay sees its object change.
    rendered: Mutex<HashMap<u32, Arc<str>>>,
}

impl TenantGraph {
    fn type_tag(&mut self, name: &str) -> u16 {
        if let Some(i) = self.type_names.iter().position(|n| n == name) {
            return i as u16;
        }
        self.type_names.push(name.to_string());
        (self.type_names.len() - 1) as u16
    }

    /// The node of `id`, created when new; records its type when given.
    fn node(&mut self, id: Uuid, object_type: Option<&str>) -> u32 {
        let tag = object_type.map(|t| self.type_tag(t));
        let n = match self.index.get(&id) {
            Some(&n) => n,
            None => {
                let n = self.ids.len() as u32;
                self.index.insert(id, n);
                self.ids.push(id);
                self.types.push(UNKNOWN);
                self.members.push(Vec::new());
                self.member_of.push(Vec::new());
                self.changed.push(0);
                n
            }
        };
        match tag {
            Some(tag) => self.types[n as usize] = tag,
            None if self.types[n as usize] == UNKNOWN => self.unresolved.push(n),
            None => {}
        }
        n
    }

    fn add_edge(&mut self, group: u32, member: u32) {
        let list = &mut self.members[group as usize];
        if !list.contains(&member) {
            list.push(member);
            self.member_of[member as usize].push(group);
        }
    }

    fn remove_edge(&mut self, group: u32, member: u32) {
        if let Some(i) = self.members[group as usize].iter().position(|&m| m == member) {
            self.members[group as usize].swap_remove(i);
        }
        if let Some(i) = self.member_of[member as usize].iter().position(|&g| g == group) {
            self.member_of[member as usize].swap_remove(i);
        }
    }

    /// Drops every edge of `n`, both ways.
    fn isolate(&mut self, n: u32) {
        for m in std::mem::take(&mut self.members[n as usize]) {
            if let Some(i) = self.member_of[m as usize].iter().position(|&g| g == n) {
                self.member_of[m as usize].swap_remove(i);
            }
        }
        for g in std::mem::take(&mut self.member_of[n as usize]) {
            if let Some(i) = self.members[g as usize].iter().position(|&m| m == n) {
                self.members[g as usize].swap_remove(i);
            }
        }
    }

    /// Every node reachable from `id` (excluding `id` itself), breadth first; each node is
    /// expanded once, so cycles end the walk instead of looping. Administrative units are
    /// reached only as direct containers of `id`: unit membership is not inherited through
    /// groups, and units hold no units.
    fn reach(&self, id: Uuid, direction: Direction) -> Vec<u32> {
        let Some(&start) = self.index.get(&id) else { return Vec::new() };
        let next = match direction {
            Direction::MemberOf => &self.member_of,
            Direction::Members => &self.members,
        };
        let mut seen: HashSet<u32> = HashSet::from([start]);
        let mut queue = VecDeque::from([start]);
        let mut out = Vec::new();
        while let Some(n) = queue.pop_front() {
            for &m in &next[n as usize] {
                if n != start && self.type_name(m) == ADMINISTRATIVE_UNIT {
                    continue;
                }
                if seen.insert(m) {
                    out.push(m);
                    queue.push_back(m);
                }
            }
        }
        out
    }

    fn type_name(&self, n: u32) -> &str {
        self.type_names.get(self.types[n as usize] as usize).map(String::as_str).unwrap_or("directoryObject")
    }

    /// Ids of every node reachable from `id` in `direction`, of `types` only when given, sorted
    /// (the store's id order, so keyset paging over them matches list paging).
    fn transitive_ids(&self, id: Uuid, direction: Direction, types: &[&str]) -> Vec<Uuid> {
        let mut out: Vec<Uuid> = self
            .reach(id, direction)
            .into_iter()
            .filter(|&n| types.is_empty() || types.contains(&self.type_name(n)))
            .map(|n| self.ids[n as usize])
            .collect();
        out.sort_unstable();
        out
    }

    /// Ids of the nodes directly next to `id` in `direction` (the containers it is a direct
    /// member of, or a group's direct members), of `types` only when given, sorted like
    /// [`TenantGraph::transitive_ids`]: the store's `memberOf` / `members` list, from memory.
    fn direct_ids(&self, id: Uuid, direction: Direction, types: &[&str]) -> Vec<Uuid> {
        let Some(&n) = self.index.get(&id) else { return Vec::new() };
        let next = match direction {
            Direction::MemberOf => &self.member_of[n as usize],
            Direction::Members => &self.members[n as usize],
        };
        let mut out: Vec<Uuid> = next
            .iter()
            .filter(|&&m| types.is_empty() || types.contains(&self.type_name(m)))
            .map(|&m| self.ids[m as usize])
            .collect();
        out.sort_unstable();
        out
    }

    /// Those of `candidates` that `id` is in, transitively, in the order given (duplicates
    /// once); groups only when `groups_only`. The candidates (at most 20 on the wire) are
    /// looked up among the reached nodes, so no set of the whole reach is built.
    fn check(&self, id: Uuid, candidates: &[Uuid], groups_only: bool) -> Vec<Uuid> {
        let reach = self.reach(id, Direction::MemberOf);
        let mut out: Vec<Uuid> = Vec::with_capacity(candidates.len());
        for c in candidates {
            let Some(&n) = self.index.get(c) else { continue };
            if reach.contains(&n) && (!groups_only || self.type_name(n) == "group") && !out.contains(c) {
                out.push(*c);
            }
        }
        out
    }

    /// Whether `id` is a node of type `object_type` with at least one edge. Every live edge's ends are live objects (deletion drops an
    /// object's edges, restore brings them back), so such a node is a live object of that type.
    fn is_live(&self, id: Uuid, object_type: &str) -> bool {
        self.index.get(&id).is_some_and(|&n| {
            self.types[n as usize] != UNKNOWN
                && self.type_name(n) == object_type
                && !(self.member_of[n as usize].is_empty() && self.members[n as usize].is_empty())
        })
    }

    fn is_current(&self, bounds: &ChangeLogBounds) -> bool {
        self.loaded && self.seq >= bounds.last && self.unresolved.is_empty()
    }
}

/// A membership graph built from an edge list, outside any directory: the same data structure
/// and walks the directory answers transitive queries from, for the micro-benchmarks
/// (`crates/server/benches/micro.rs`) and tools that measure a walk without a store.
pub struct MembershipIndex {
    graph: TenantGraph,
}

impl MembershipIndex {
    /// The graph of `(group, group type, member, member type)` edges (each edge once).
    pub fn from_edges<'a>(edges: impl IntoIterator<Item = (Uuid, &'a str, Uuid, &'a str)>) -> MembershipIndex {
        let mut graph = TenantGraph { loaded: true, ..TenantGraph::default() };
        for (group, group_type, member, member_type) in edges {
            let group = graph.node(group, Some(group_type));
            let member = graph.node(member, Some(member_type));
            graph.members[group as usize].push(member);
            graph.member_of[member as usize].push(group);
        }
        MembershipIndex { graph }
    }

    /// As [`Directory::transitive_ids`].
    pub fn transitive_ids(&self, id: Uuid, direction: Direction, types: &[&str]) -> Vec<Uuid> {
        self.graph.transitive_ids(id, direction, types)
    }

    /// As [`Directory::check_member_of`].
    pub fn check_member_of(&self, id: Uuid, candidates: &[Uuid], groups_only: bool) -> Vec<Uuid> {
        self.graph.check(id, candidates, groups_only)
    }
}

/// The membership graphs of every tenant this process has answered for.
#[derive(Default)]
pub(crate) struct MembershipGraphs {
    tenants: Mutex<HashMap<Uuid, Slot>>,
    clock: AtomicU64,
}

struct Slot {
    graph: Arc<RwLock<TenantGraph>>,
    last_used: u64,
}

impl MembershipGraphs {
    /// The tenant's graph, created empty (not loaded) on first use; evicts the least recently
    /// used graph beyond [`MAX_TENANTS`].
    fn slot(&self, tenant: Uuid) -> Arc<RwLock<TenantGraph>> {
        let now = self.clock.fetch_add(1, Ordering::Relaxed);
        let mut tenants = self.tenants.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(slot) = tenants.get_mut(&tenant) {
            slot.last_used = now;
            return slot.graph.clone();
        }
        if tenants.len() >= MAX_TENANTS
            && let Some(oldest) = tenants.iter().min_by_key(|(_, s)| s.last_used).map(|(k, _)| *k)
        {
            tenants.remove(&oldest);
        }
        let graph = Arc::new(RwLock::new(TenantGraph::default()));
        tenants.insert(tenant, Slot { graph: graph.clone(), last_used: now });
        graph
    }

    /// The tenant's graph if it is held, without creating one.
    fn existing(&self, tenant: Uuid) -> Option<Arc<RwLock<TenantGraph>>> {
        let tenants = self.tenants.lock().unwrap_or_else(|p| p.into_inner());
        tenants.get(&tenant).map(|s| s.graph.clone())
    }
}

/// A membership edge a directory write just committed, for the direct update.
pub(crate) struct EdgeWrite {
    pub group: Uuid,
    pub group_type: String,
    pub member: Uuid,
    pub member_type: String,
    pub added: bool,
}

impl Directory {
    /// The tenant's graph, brought up to the tenant's latest change-log sequence.
    async fn current_graph(&self, tenant: Uuid) -> DirectoryResult<OwnedRwLockReadGuard<TenantGraph>> {
        let slot = self.membership.slot(tenant);
        let bounds = self.store.change_log_bounds(tenant).await?;
        {
            let g = slot.clone().read_owned().await;
            if g.is_current(&bounds) {
                return Ok(g);
            }
        }
        let mut g = slot.write_owned().await;
        if g.is_current(&bounds) {
            return Ok(g.downgrade());
        }
        // The catch-up runs in a task of its own, holding the graph's write lock until it is
        // done: a request dropped meanwhile (client gone) neither cancels it halfway, leaving a
        // long edge read running in the database for nothing, nor lets the next request start
        // a second load beside it; concurrent and later requests wait on the lock for this one
        // (single flight). On the blocking pool, as the embedded store reads on the calling
        // thread and a load holds it for seconds at 100k users: a runtime worker held that
        // long would stall every request queued behind it.
        let store = self.store.clone();
        let runtime = tokio::runtime::Handle::current();
        let task = tokio::task::spawn_blocking(move || {
            runtime.block_on(async move {
                catch_up(store.as_ref(), tenant, &mut g, bounds).await?;
                Ok(g.downgrade())
            })
        });
        task.await.map_err(|e| DirectoryError::Internal(format!("membership graph catch-up failed: {e}")))?
    }

    /// Builds the membership graph of every tenant (at most [`MAX_TENANTS`]) ahead of the
    /// first membership query, so that no request pays the load (about 2 s at 100k users).
    /// `serve` runs it in the background once `/readyz` answers: a request arriving during
    /// the build waits for this same build (the graph's lock), it never starts a second one.
    /// Returns how many graphs were built or found current.
    pub async fn load_membership_graphs(&self) -> DirectoryResult<usize> {
        let mut loaded = 0;
        for tenant in self.store.tenants().await?.into_iter().take(MAX_TENANTS) {
            self.current_graph(tenant.id).await?;
            loaded += 1;
        }
        Ok(loaded)
    }

    /// Whether the tenant's membership graph is in memory (loaded, possibly behind the log:
    /// the next query replays what it misses).
    pub fn membership_graph_loaded(&self, tenant: Uuid) -> bool {
        self.membership.existing(tenant).is_some_and(|slot| slot.try_read().is_ok_and(|g| g.loaded))
    }

    /// Ids of every object reachable from `id` in `direction`, sorted (the store's id order,
    /// so keyset paging over them matches list paging). Objects of `types` only, when given.
    pub async fn transitive_ids(
        &self,
        tenant: Uuid,
        id: Uuid,
        direction: Direction,
        types: &[&str],
    ) -> DirectoryResult<Vec<Uuid>> {
        Ok(self.current_graph(tenant).await?.transitive_ids(id, direction, types))
    }

    /// [`Directory::transitive_ids`] of the object of `object_type` named by `key` (an id, or
    /// for users also a UPN), which must be live: [`Directory::find`]'s rules and errors.
    pub async fn transitive_ids_of(
        &self,
        tenant: Uuid,
        object_type: &str,
        key: &str,
        direction: Direction,
        types: &[&str],
    ) -> DirectoryResult<Vec<Uuid>> {
        let (g, id) = self.graph_and_subject(tenant, object_type, key).await?;
        Ok(g.transitive_ids(id, direction, types))
    }

    /// [`Directory::transitive_ids_of`], with the graph position the reach was computed at: what
    /// [`Directory::keep_rendered`] needs to know how fresh documents read afterwards are.
    pub async fn transitive_ids_at(
        &self,
        tenant: Uuid,
        object_type: &str,
        key: &str,
        direction: Direction,
        types: &[&str],
    ) -> DirectoryResult<(Vec<Uuid>, u64)> {
        let (g, id) = self.graph_and_subject(tenant, object_type, key).await?;
        Ok((g.transitive_ids(id, direction, types), g.seq))
    }

    /// [`Directory::transitive_ids_at`] one step only: the objects directly related to the
    /// object of `object_type` named by `key` (`memberOf`, `members`), sorted, with the graph
    /// position they were read at, so that a page of them is served from the renderings with
    /// the same consistency as a transitive one (no store read of the edges or documents).
    pub async fn direct_ids_at(
        &self,
        tenant: Uuid,
        object_type: &str,
        key: &str,
        direction: Direction,
        types: &[&str],
    ) -> DirectoryResult<(Vec<Uuid>, u64)> {
        let (g, id) = self.graph_and_subject(tenant, object_type, key).await?;
        Ok((g.direct_ids(id, direction, types), g.seq))
    }

    /// The renderings kept for `ids` (see the module doc), `None` where there is none. Every
    /// change the graph has replayed has dropped the renderings it made stale, and the graph
    /// is at least as recent as the request's own read of the change log.
    pub async fn rendered(&self, tenant: Uuid, ids: &[Uuid]) -> Vec<Option<Arc<str>>> {
        let Some(slot) = self.membership.existing(tenant) else { return vec![None; ids.len()] };
        let g = slot.read().await;
        let kept = g.rendered.lock().unwrap_or_else(|p| p.into_inner());
        ids.iter().map(|id| g.index.get(id).and_then(|n| kept.get(n).cloned())).collect()
    }

    /// Keeps renderings of objects whose documents were read after the graph was at `seen_at`
    /// (as [`Directory::transitive_ids_at`] returned it). Skipped for an object the graph saw
    /// change since `seen_at`, for a graph rebuilt since, and beyond [`MAX_RENDERED`].
    pub async fn keep_rendered(&self, tenant: Uuid, seen_at: u64, items: Vec<(Uuid, Arc<str>)>) {
        let Some(slot) = self.membership.existing(tenant) else { return };
        let g = slot.read().await;
        if !g.loaded || seen_at < g.built_at {
            return;
        }
        let mut kept = g.rendered.lock().unwrap_or_else(|p| p.into_inner());
        for (id, text) in items {
            if kept.len() >= MAX_RENDERED {
                break;
            }
            if let Some(&n) = g.index.get(&id)
                && g.changed[n as usize] <= seen_at
            {
                kept.insert(n, text);
            }
        }
    }

    /// [`Directory::check_member_of`] of the object of `object_type` named by `key`, which
    /// must be live: [`Directory::find`]'s rules and errors.
    pub async fn check_member_of_key(
        &self,
        tenant: Uuid,
        object_type: &str,
        key: &str,
        candidates: &[Uuid],
        groups_only: bool,
    ) -> DirectoryResult<Vec<Uuid>> {
        let (g, id) = self.graph_and_subject(tenant, object_type, key).await?;
        Ok(g.check(id, candidates, groups_only))
    }

    /// The id of the live object of `object_type` named by `key` ([`Directory::find`]'s rules
    /// and errors), answered from the membership graph when it knows the object.
    pub async fn live_member_id(&self, tenant: Uuid, object_type: &str, key: &str) -> DirectoryResult<Uuid> {
        Ok(self.graph_and_subject(tenant, object_type, key).await?.1)
    }

    /// The current graph and the id of the live object of `object_type` named by `key`.
    ///
    /// On the membership hot path the object's own document is not needed: when `key` is an
    /// id the current graph holds with an edge and the right type, the object is known to be
    /// live, so the store read (and JSON parse) of its document is skipped. Otherwise
    /// [`Directory::find`] decides (an object with no membership, a UPN, an unknown id).
    async fn graph_and_subject(
        &self,
        tenant: Uuid,
        object_type: &str,
        key: &str,
    ) -> DirectoryResult<(OwnedRwLockReadGuard<TenantGraph>, Uuid)> {
        let g = self.current_graph(tenant).await?;
        if !object_type.is_empty()
            && let Ok(id) = Uuid::parse_str(key)
            && g.is_live(id, object_type)
        {
            return Ok((g, id));
        }
        let id = self.find(tenant, object_type, key).await?.id;
        Ok((g, id))
    }

    /// `checkMemberGroups` / `checkMemberObjects`: those of `candidates` that `id` is in,
    /// transitively, in the order given (duplicates once). `groups_only` keeps groups.
    pub async fn check_member_of(
        &self,
        tenant: Uuid,
        id: Uuid,
        candidates: &[Uuid],
        groups_only: bool,
    ) -> DirectoryResult<Vec<Uuid>> {
        Ok(self.current_graph(tenant).await?.check(id, candidates, groups_only))
    }

    /// `getMemberGroups` / `getMemberObjects`: every container of `id`, transitively.
    /// `groups_only` keeps groups; `security_enabled_only` keeps security-enabled groups (the
    /// flag is read from the groups themselves, so it is always current).
    pub async fn member_of_ids(
        &self,
        tenant: Uuid,
        id: Uuid,
        groups_only: bool,
        security_enabled_only: bool,
    ) -> DirectoryResult<Vec<Uuid>> {
        let types: &[&str] = if groups_only || security_enabled_only { &["group"] } else { &[] };
        let ids = self.transitive_ids(tenant, id, Direction::MemberOf, types).await?;
        if !security_enabled_only {
            return Ok(ids);
        }
        let records: Vec<ObjectRecord> = self.store.get_many(tenant, &ids).await?;
        Ok(records
            .into_iter()
            .filter(|r| r.deleted_at.is_none())
            .filter(|r| r.doc.get("securityEnabled").and_then(serde_json::Value::as_bool) == Some(true))
            .map(|r| r.id)
            .collect())
    }

    /// The live objects among `ids`, in the order of `ids` (missing and deleted ones skipped).
    pub async fn get_many(&self, tenant: Uuid, ids: &[Uuid]) -> DirectoryResult<Vec<ObjectRecord>> {
        let mut out = self.store.get_many(tenant, ids).await?;
        out.retain(|r| r.deleted_at.is_none());
        Ok(out)
    }

    /// Applies a membership write this node just committed at `seq` to the in-memory graph,
    /// when the graph is exactly one entry behind (else the next read replays the log). Never
    /// waits: a graph busy being read or replayed is left to the replay.
    pub(crate) fn note_member_write(&self, tenant: Uuid, seq: u64, write: EdgeWrite) {
        let Some(slot) = self.membership.existing(tenant) else { return };
        let Ok(mut g) = slot.try_write() else { return };
        if !g.loaded || g.seq + 1 != seq {
            return;
        }
        let group = g.node(write.group, Some(&write.group_type));
        let member = g.node(write.member, Some(&write.member_type));
        if write.added {
            g.add_edge(group, member);
        } else {
            g.remove_edge(group, member);
        }
        g.seq = seq;
    }
}

/// Brings `g` up to at least `bounds.last`: a full load when not loaded, too far behind or
/// behind the retention watermark; otherwise a replay of the log since `g.seq`.
async fn catch_up(
    store: &dyn Store,
    tenant: Uuid,
    g: &mut TenantGraph,
    bounds: ChangeLogBounds,
) -> DirectoryResult<()> {
    if !g.loaded || g.seq < bounds.pruned_through || bounds.last.saturating_sub(g.seq) > RELOAD_AFTER {
        // Built aside and swapped in, so a failed or cancelled load leaves the old graph whole.
        let mut fresh = TenantGraph { seq: bounds.last, built_at: bounds.last, ..TenantGraph::default() };
        for e in store.edges_of_kind(tenant, EdgeKind::Member).await? {
            let group = fresh.node(e.source, Some(&e.source_type));
            let member = fresh.node(e.target, Some(&e.target_type));
            // The store lists each edge once, so no duplicate check is needed here.
            fresh.members[group as usize].push(member);
            fresh.member_of[member as usize].push(group);
        }
        fresh.loaded = true;
        *g = fresh;
    }
    while g.seq < bounds.last {
        let entries = store.changes_since(tenant, g.seq, REPLAY_BATCH).await?;
        let Some(first) = entries.first() else { break };
        if first.seq != g.seq + 1 {
            // Entries were pruned between the bounds read and this one: rebuild.
            g.loaded = false;
            return Box::pin(catch_up(store, tenant, g, store.change_log_bounds(tenant).await?)).await;
        }
        for e in &entries {
            replay(store, tenant, g, e).await?;
            g.seq = e.seq;
        }
    }
    resolve_types(store, tenant, g).await
}

/// Applies one change-log entry to the graph (see the module doc for the rules).
async fn replay(store: &dyn Store, tenant: Uuid, g: &mut TenantGraph, e: &ChangeLogEntry) -> DirectoryResult<()> {
    if !e.kind.starts_with("edge_")
        && let Some(&n) = g.index.get(&e.object_id)
    {
        g.changed[n as usize] = e.seq;
        g.rendered.get_mut().unwrap_or_else(|p| p.into_inner()).remove(&n);
    }
    match e.kind.as_str() {
        "edge_added" | "edge_removed" => {
            if e.detail.get("kind").and_then(|k| k.as_str()) != Some(EdgeKind::Member.as_str()) {
                return Ok(());
            }
            let Some(target) = e.detail.get("target").and_then(|t| t.as_str()).and_then(|t| Uuid::parse_str(t).ok())
            else {
                return Err(DirectoryError::Internal(format!("change {} names no edge target", e.seq)));
            };
            let group = g.node(e.object_id, Some(&e.object_type));
            let member = g.node(target, None);
            if e.kind == "edge_added" {
                g.add_edge(group, member);
            } else {
                g.remove_edge(group, member);
            }
        }
        "deleted" | "purged" => {
            if let Some(&n) = g.index.get(&e.object_id) {
                g.isolate(n);
            }
        }
        "restored" => {
            let members = store.edge_ids(tenant, EdgeKind::Member, e.object_id, false).await?;
            let groups = store.edge_ids(tenant, EdgeKind::Member, e.object_id, true).await?;
            if members.is_empty() && groups.is_empty() && !g.index.contains_key(&e.object_id) {
                return Ok(());
            }
            let n = g.node(e.object_id, Some(&e.object_type));
            g.isolate(n);
            for m in members {
                let m = g.node(m, None);
                g.add_edge(n, m);
            }
            for grp in groups {
                let grp = g.node(grp, None);
                g.add_edge(grp, n);
            }
        }
        _ => {}
    }
    Ok(())
}

/// Looks up the types of nodes first seen as edge targets (the change log names only the
/// source's type). Types never change, so each node is looked up once.
async fn resolve_types(store: &dyn Store, tenant: Uuid, g: &mut TenantGraph) -> DirectoryResult<()> {
    if g.unresolved.is_empty() {
        return Ok(());
    }
    let pending: Vec<u32> = g.unresolved.iter().copied().filter(|&n| g.types[n as usize] == UNKNOWN).collect();
    let ids: Vec<Uuid> = pending.iter().map(|&n| g.ids[n as usize]).collect();
    for chunk in ids.chunks(1000) {
        for r in store.get_many(tenant, chunk).await? {
            let tag = g.type_tag(&r.object_type);
            if let Some(&n) = g.index.get(&r.id) {
                g.types[n as usize] = tag;
            }
        }
    }
    // Objects purged since (get_many no longer finds them) stay untyped: `purged` already
    // dropped their edges, so no query reaches them.
    g.unresolved.clear();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(edges: &[(u128, u128)]) -> TenantGraph {
        let mut g = TenantGraph { loaded: true, ..TenantGraph::default() };
        for &(a, b) in edges {
            let a = g.node(Uuid::from_u128(a), Some("group"));
            let b = g.node(Uuid::from_u128(b), Some(if b >= 100 { "user" } else { "group" }));
            g.add_edge(a, b);
        }
        g
    }

    fn ids(g: &TenantGraph, nodes: Vec<u32>) -> Vec<u128> {
        let mut v: Vec<u128> = nodes.into_iter().map(|n| g.ids[n as usize].as_u128()).collect();
        v.sort_unstable();
        v
    }

    #[test]
    fn nested_reach_both_ways() {
        // 1 ⊃ 2 ⊃ 3 ⊃ user 100; 4 ⊃ user 100.
        let g = graph(&[(1, 2), (2, 3), (3, 100), (4, 100)]);
        assert_eq!(ids(&g, g.reach(Uuid::from_u128(100), Direction::MemberOf)), vec![1, 2, 3, 4]);
        assert_eq!(ids(&g, g.reach(Uuid::from_u128(1), Direction::Members)), vec![2, 3, 100]);
        assert!(g.reach(Uuid::from_u128(999), Direction::MemberOf).is_empty());
    }

    #[test]
    fn cycles_terminate_and_exclude_the_start() {
        let g = graph(&[(1, 2), (2, 3), (3, 1), (3, 100)]);
        assert_eq!(ids(&g, g.reach(Uuid::from_u128(1), Direction::MemberOf)), vec![2, 3]);
        assert_eq!(ids(&g, g.reach(Uuid::from_u128(1), Direction::Members)), vec![2, 3, 100]);
        assert_eq!(ids(&g, g.reach(Uuid::from_u128(100), Direction::MemberOf)), vec![1, 2, 3]);
    }

    #[test]
    fn administrative_units_are_reached_only_directly() {
        // Unit 50 holds group 2 and user 100; group 2 holds user 101.
        let mut g = graph(&[(2, 101)]);
        let unit = g.node(Uuid::from_u128(50), Some(ADMINISTRATIVE_UNIT));
        let (group, user) = (g.index[&Uuid::from_u128(2)], g.node(Uuid::from_u128(100), Some("user")));
        g.add_edge(unit, group);
        g.add_edge(unit, user);
        assert_eq!(ids(&g, g.reach(Uuid::from_u128(100), Direction::MemberOf)), vec![50]);
        assert_eq!(ids(&g, g.reach(Uuid::from_u128(2), Direction::MemberOf)), vec![50]);
        assert_eq!(ids(&g, g.reach(Uuid::from_u128(101), Direction::MemberOf)), vec![2], "not through the group");
    }

    #[test]
    fn deep_chains_do_not_recurse() {
        let edges: Vec<(u128, u128)> = (1..50_000).map(|i| (i + 1, i)).collect();
        let g = graph(&edges);
        assert_eq!(g.reach(Uuid::from_u128(1), Direction::MemberOf).len(), 49_999);
    }

    #[test]
    fn isolate_and_edge_updates_are_idempotent() {
        let mut g = graph(&[(1, 2), (2, 100)]);
        let (one, two, user) =
            (g.index[&Uuid::from_u128(1)], g.index[&Uuid::from_u128(2)], g.index[&Uuid::from_u128(100)]);
        g.add_edge(one, two);
        assert_eq!(g.members[one as usize].len(), 1, "adding twice keeps one edge");
        g.isolate(two);
        assert!(g.reach(Uuid::from_u128(100), Direction::MemberOf).is_empty());
        g.remove_edge(two, user);
        g.add_edge(two, user);
        assert_eq!(ids(&g, g.reach(Uuid::from_u128(100), Direction::MemberOf)), vec![2]);
    }
}
