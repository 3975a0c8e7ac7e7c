//! Writes: tenants, meta and [`Change`]s, each in one transaction at the server's default
//! isolation (READ COMMITTED on PostgreSQL); an error drops the transaction, which rolls
//! everything back.
//!
//! A change first locks its tenant's row (`SELECT last_seq ... FOR UPDATE`). That serialises
//! the writers of one tenant, across every process sharing the database, exactly as SQLite's
//! single writer does for everything: the checks each op makes (version, claims, both ends of an
//! edge) read data no concurrent change can alter before the commit, and change-log sequence
//! numbers are handed out in commit order, gap-free, so a delta reader that saw `seq = n` never
//! later finds a smaller one appear. Writers of different tenants never wait for each other.
//! Under SERIALIZABLE (or on CockroachDB) a collision surfaces as a serialization failure
//! instead, which the caller retries.

use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use tokio_postgres::types::{Json, ToSql};
use uuid::Uuid;

use super::read::col;
use super::{Attempt, Client, WithContext};
use crate::{
    AuditRecord, Change, EdgeKind, ObjectRecord, Op, SecretRecord, SigningKeyRecord, StoreError, StoreResult,
    TenantRecord,
};

type Transaction<'c> = deadpool_postgres::Transaction<'c>;

/// Every edge kind, for deleting all edges of a purged object with index lookups.
const EDGE_KINDS: [EdgeKind; 4] = [EdgeKind::Member, EdgeKind::Owner, EdgeKind::Manager, EdgeKind::RegisteredUser];

/// Fails to compile when a kind is added without updating [`EDGE_KINDS`].
const _: fn(EdgeKind) = |k| match k {
    EdgeKind::Member | EdgeKind::Owner | EdgeKind::Manager | EdgeKind::RegisteredUser => {}
};

fn now() -> StoreResult<String> {
    crate::clock::now().format(&Rfc3339).map_err(|e| StoreError::Backend(format!("format time: {e}")))
}

/// Runs a cached statement in `tx`, returning the number of rows it touched.
async fn exec(tx: &Transaction<'_>, sql: &str, what: &'static str, params: &[&(dyn ToSql + Sync)]) -> Attempt<u64> {
    let st = tx.prepare_cached(sql).await.ctx(what)?;
    tx.execute(&st, params).await.ctx(what)
}

// ---- tenants and meta ----

pub(crate) async fn create_tenant(c: &mut Client, t: &TenantRecord) -> Attempt<()> {
    let tx = c.transaction().await.ctx("begin write")?;
    let inserted = exec(
        &tx,
        "INSERT INTO tenants (id, display_name, created_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING",
        "insert tenant",
        &[&t.id, &t.display_name, &t.created_at],
    )
    .await?;
    if inserted == 0 {
        return Err(StoreError::Conflict { namespace: "tenant".into(), key: t.id.to_string(), holder: t.id }.into());
    }
    for (position, d) in t.domains.iter().enumerate() {
        let name = d.name.to_lowercase();
        let position = i32::try_from(position).map_err(|_| StoreError::Invalid("too many domains".into()))?;
        // DO NOTHING waits for a concurrent insert of the same name and then skips, so the
        // holder read below sees the winner.
        let inserted = exec(
            &tx,
            "INSERT INTO domains (name, tenant_id, position, is_initial, is_default, is_verified, doc) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (name) DO NOTHING",
            "insert domain",
            &[&name, &t.id, &position, &d.is_initial, &d.is_default, &d.is_verified, &domain_doc(&d.doc)?],
        )
        .await?;
        if inserted == 0 {
            let st = tx.prepare_cached("SELECT tenant_id FROM domains WHERE name = $1").await.ctx("check domain")?;
            let holder = match tx.query_opt(&st, &[&name]).await.ctx("check domain")? {
                Some(r) => col(&r, 0, "domain holder")?,
                None => t.id,
            };
            return Err(StoreError::Conflict { namespace: "domain".into(), key: name, holder }.into());
        }
    }
    tx.commit().await.ctx("commit tenant")
}

/// A domain's document as stored (text).
fn domain_doc(doc: &serde_json::Map<String, Value>) -> StoreResult<String> {
    serde_json::to_string(doc).map_err(|e| StoreError::Invalid(format!("domain document: {e}")))
}

/// `VACUUM (ANALYZE)` of the database's tables (see [`crate::Store::refresh_statistics`]):
/// the statistics, plus the bulk-loaded rows settled once (hint bits, visibility map) rather
/// than by the first readers; with autovacuum off (or not yet run) nothing else does it. One
/// statement: `VACUUM` cannot run inside a transaction block.
pub(crate) async fn analyze(c: &Client) -> Attempt<()> {
    c.batch_execute("VACUUM (ANALYZE)").await.ctx("vacuum analyze")?;
    Ok(())
}

pub(crate) async fn set_meta(c: &Client, key: &str, value: &str) -> Attempt<()> {
    let st = c
        .prepare_cached(
            "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .await
        .ctx("prepare set_meta")?;
    c.execute(&st, &[&key, &value]).await.ctx("set_meta")?;
    Ok(())
}

// ---- changes ----

/// A change-log entry waiting for its sequence number.
struct Entry {
    object_id: Uuid,
    object_type: String,
    kind: &'static str,
    detail: Value,
}

/// What the write path needs to know about an existing object.
struct ObjState {
    object_type: String,
    version: i64,
    deleted: bool,
}

/// The state of one change: its transaction, tenant and commit time.
struct Writer<'t, 'c> {
    tx: &'t Transaction<'c>,
    tenant: Uuid,
    now: String,
    log: Vec<Entry>,
}

/// Applies `change` in one transaction; see the module documentation for the locking.
pub(crate) async fn apply(c: &mut Client, tenant: Uuid, change: &Change) -> Attempt<u64> {
    apply_all(c, tenant, std::slice::from_ref(change)).await
}

/// Applies `changes` in order in one transaction: all of them, or (on the first error) none.
/// Each keeps its own change-log entries and audit record, as if applied one after another.
pub(crate) async fn apply_all(c: &mut Client, tenant: Uuid, changes: &[Change]) -> Attempt<u64> {
    let tx = c.transaction().await.ctx("begin write")?;
    let st = tx.prepare_cached("SELECT last_seq FROM tenants WHERE id = $1 FOR UPDATE").await.ctx("prepare lock")?;
    let row = tx.query_opt(&st, &[&tenant]).await.ctx("lock tenant")?;
    let row = row.ok_or_else(|| StoreError::NotFound(format!("tenant {tenant}")))?;
    let last: i64 = col(&row, 0, "last_seq")?;
    let mut w = Writer { tx: &tx, tenant, now: now()?, log: Vec::new() };
    let mut seq = u64::try_from(last).unwrap_or(0);
    for change in changes {
        for op in &change.ops {
            w.op(op).await?;
        }
        seq = w.finish(i64::try_from(seq).unwrap_or(i64::MAX), &change.audit).await?;
    }
    tx.commit().await.ctx("commit change")?;
    Ok(seq)
}

impl Writer<'_, '_> {
    async fn op(&mut self, op: &Op) -> Attempt<()> {
        match op {
            Op::Insert { object, unique } => self.insert(object, unique).await,
            Op::Update { id, expected_version, doc, unique } => {
                let id = *id;
                let st = self.live(id).await?;
                if st.version != *expected_version {
                    return Err(StoreError::VersionMismatch(id).into());
                }
                let detail = crate::changelog::update_detail(&self.doc(id).await?, doc);
                // The version condition repeats the check in the statement itself, so a lost
                // update is impossible even if the tenant lock were ever bypassed.
                let updated = exec(
                    self.tx,
                    "UPDATE objects SET doc = $3, version = version + 1, updated_at = $4 \
                     WHERE tenant_id = $1 AND id = $2 AND version = $5 AND deleted_at IS NULL",
                    "update object",
                    &[&self.tenant, &id, &Json(doc), &self.now, expected_version],
                )
                .await?;
                if updated == 0 {
                    return Err(StoreError::VersionMismatch(id).into());
                }
                self.release(id).await?;
                self.claim(id, unique).await?;
                self.record(id, st.object_type, "updated", detail);
                Ok(())
            }
            Op::SoftDelete { id, at } => {
                let st = self.live(*id).await?;
                self.set_deleted(*id, Some(at)).await?;
                self.release(*id).await?;
                self.record(*id, st.object_type, "deleted", Value::Null);
                Ok(())
            }
            Op::Restore { id, unique } => {
                let st = self.state(*id).await?.filter(|s| s.deleted);
                let st = st.ok_or_else(|| StoreError::NotFound(format!("deleted object {id}")))?;
                self.set_deleted(*id, None).await?;
                self.claim(*id, unique).await?;
                self.record(*id, st.object_type, "restored", Value::Null);
                Ok(())
            }
            Op::Purge { id } => self.purge(*id).await,
            Op::AddEdge { kind, source, target } => {
                let src = self.live(*source).await?;
                self.live(*target).await?;
                let inserted = exec(
                    self.tx,
                    "INSERT INTO edges (tenant_id, kind, source_id, target_id) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT DO NOTHING",
                    "add edge",
                    &[&self.tenant, &kind.as_str(), source, target],
                )
                .await?;
                if inserted == 0 {
                    return Err(StoreError::EdgeExists(format!("{} {source} -> {target}", kind.as_str())).into());
                }
                self.record(*source, src.object_type, "edge_added", edge_detail(*kind, *target));
                Ok(())
            }
            Op::RemoveEdge { kind, source, target } => {
                // Removes the row even while an end is in the recycle bin, so a stale edge can
                // always be cleaned up.
                let removed = exec(
                    self.tx,
                    "DELETE FROM edges WHERE tenant_id = $1 AND kind = $2 AND source_id = $3 AND target_id = $4",
                    "remove edge",
                    &[&self.tenant, &kind.as_str(), source, target],
                )
                .await?;
                if removed == 0 {
                    return Err(StoreError::NotFound(format!("edge {} {source} -> {target}", kind.as_str())).into());
                }
                let ty = self.state(*source).await?.map(|s| s.object_type).unwrap_or_default();
                self.record(*source, ty, "edge_removed", edge_detail(*kind, *target));
                Ok(())
            }
            Op::PutSecret(s) => self.put_secret(s).await,
            Op::DeleteSecret { owner, key_id } => {
                let removed = exec(
                    self.tx,
                    "DELETE FROM secrets WHERE tenant_id = $1 AND owner_id = $2 AND key_id = $3",
                    "delete secret",
                    &[&self.tenant, owner, key_id],
                )
                .await?;
                if removed == 0 {
                    return Err(StoreError::NotFound(format!("secret {key_id} of {owner}")).into());
                }
                let ty = self.state(*owner).await?.map(|s| s.object_type).unwrap_or_default();
                self.record(*owner, ty, "secret", json!({ "keyId": key_id, "op": "delete" }));
                Ok(())
            }
            Op::PutSigningKey(k) => self.put_key(k).await,
            Op::DeleteSigningKey { kid } => {
                let removed = exec(
                    self.tx,
                    "DELETE FROM signing_keys WHERE tenant_id = $1 AND kid = $2",
                    "delete signing key",
                    &[&self.tenant, kid],
                )
                .await?;
                if removed == 0 {
                    return Err(StoreError::NotFound(format!("signing key {kid}")).into());
                }
                let tenant = self.tenant;
                self.record(tenant, "tenant".into(), "key", json!({ "kid": kid, "status": "deleted" }));
                Ok(())
            }
            Op::PutDomain(d) => self.put_domain(d).await,
            Op::DeleteDomain { name } => {
                let name = name.to_lowercase();
                let removed = exec(
                    self.tx,
                    "DELETE FROM domains WHERE tenant_id = $1 AND name = $2",
                    "delete domain",
                    &[&self.tenant, &name],
                )
                .await?;
                if removed == 0 {
                    return Err(StoreError::NotFound(format!("domain {name}")).into());
                }
                let tenant = self.tenant;
                self.record(tenant, "tenant".into(), "domain", json!({ "name": name, "op": "delete" }));
                Ok(())
            }
            Op::NoteEdge { kind, source, target, visible } => {
                let ty = self.state(*source).await?.map(|s| s.object_type).unwrap_or_default();
                self.record(
                    *source,
                    ty,
                    if *visible { "edge_added" } else { "edge_removed" },
                    edge_detail(*kind, *target),
                );
                Ok(())
            }
        }
    }

    fn record(&mut self, object_id: Uuid, object_type: String, kind: &'static str, detail: Value) {
        self.log.push(Entry { object_id, object_type, kind, detail });
    }

    async fn state(&self, id: Uuid) -> Attempt<Option<ObjState>> {
        let st = self
            .tx
            .prepare_cached(
                "SELECT object_type, version, deleted_at IS NOT NULL FROM objects WHERE tenant_id = $1 AND id = $2",
            )
            .await
            .ctx("prepare state")?;
        let row = self.tx.query_opt(&st, &[&self.tenant, &id]).await.ctx("read object state")?;
        let Some(r) = row else {
            return Ok(None);
        };
        Ok(Some(ObjState {
            object_type: col(&r, 0, "object type")?,
            version: col(&r, 1, "version")?,
            deleted: col(&r, 2, "deleted")?,
        }))
    }

    /// The stored document of an object, for the changed-property list of an update.
    async fn doc(&self, id: Uuid) -> Attempt<serde_json::Map<String, Value>> {
        let st = self
            .tx
            .prepare_cached("SELECT doc FROM objects WHERE tenant_id = $1 AND id = $2")
            .await
            .ctx("prepare doc")?;
        let row = self.tx.query_one(&st, &[&self.tenant, &id]).await.ctx("read doc")?;
        let Json(doc): Json<serde_json::Map<String, Value>> = col(&row, 0, "document")?;
        Ok(doc)
    }

    /// The state of a live object; `NotFound` if it is missing or in the recycle bin.
    async fn live(&self, id: Uuid) -> Attempt<ObjState> {
        let st = self.state(id).await?.filter(|s| !s.deleted);
        Ok(st.ok_or_else(|| StoreError::NotFound(format!("object {id}")))?)
    }

    async fn insert(&mut self, o: &ObjectRecord, unique: &[(String, String)]) -> Attempt<()> {
        if self.state(o.id).await?.is_some() {
            return Err(StoreError::Conflict { namespace: "id".into(), key: o.id.to_string(), holder: o.id }.into());
        }
        exec(
            self.tx,
            "INSERT INTO objects (tenant_id, id, object_type, version, deleted_at, doc, created_at, updated_at) \
             VALUES ($1, $2, $3, 1, $4, $5, $6, $6)",
            "insert object",
            &[&self.tenant, &o.id, &o.object_type, &o.deleted_at, &Json(&o.doc), &self.now],
        )
        .await?;
        // An object inserted straight into the recycle bin (an import) holds no claims.
        if o.deleted_at.is_none() {
            self.claim(o.id, unique).await?;
        }
        self.record(o.id, o.object_type.clone(), "created", Value::Null);
        Ok(())
    }

    /// Takes each claim for `id`; `Conflict` if another object holds one.
    async fn claim(&self, id: Uuid, unique: &[(String, String)]) -> Attempt<()> {
        for (namespace, key) in unique {
            // DO NOTHING turns a concurrent claim of the same key into "not inserted" instead of
            // an aborted transaction, so the holder can be named.
            let inserted = exec(
                self.tx,
                "INSERT INTO claims (tenant_id, namespace, key, object_id) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT DO NOTHING",
                "claim",
                &[&self.tenant, namespace, key, &id],
            )
            .await?;
            if inserted == 1 {
                continue;
            }
            let st = self
                .tx
                .prepare_cached("SELECT object_id FROM claims WHERE tenant_id = $1 AND namespace = $2 AND key = $3")
                .await
                .ctx("prepare claim check")?;
            let holder: Option<Uuid> =
                match self.tx.query_opt(&st, &[&self.tenant, namespace, key]).await.ctx("check claim")? {
                    Some(r) => Some(col(&r, 0, "claim holder")?),
                    None => None,
                };
            match holder {
                Some(h) if h == id => {}
                Some(h) => {
                    return Err(
                        StoreError::Conflict { namespace: namespace.clone(), key: key.clone(), holder: h }.into()
                    );
                }
                None => {
                    return Err(StoreError::Backend(format!("claim ({namespace}, {key}) vanished while taken")).into());
                }
            }
        }
        Ok(())
    }

    async fn release(&self, id: Uuid) -> Attempt<()> {
        exec(
            self.tx,
            "DELETE FROM claims WHERE tenant_id = $1 AND object_id = $2",
            "release claims",
            &[&self.tenant, &id],
        )
        .await?;
        Ok(())
    }

    /// Moves an object in or out of the recycle bin; bumps the version so an update computed
    /// before the move cannot land after it.
    async fn set_deleted(&self, id: Uuid, at: Option<&String>) -> Attempt<()> {
        exec(
            self.tx,
            "UPDATE objects SET deleted_at = $3, version = version + 1, updated_at = $4 \
             WHERE tenant_id = $1 AND id = $2",
            "set deleted",
            &[&self.tenant, &id, &at, &self.now],
        )
        .await?;
        Ok(())
    }

    async fn purge(&mut self, id: Uuid) -> Attempt<()> {
        let st = self.state(id).await?.ok_or_else(|| StoreError::NotFound(format!("object {id}")))?;
        for sql in [
            "DELETE FROM objects WHERE tenant_id = $1 AND id = $2",
            "DELETE FROM claims WHERE tenant_id = $1 AND object_id = $2",
            "DELETE FROM secrets WHERE tenant_id = $1 AND owner_id = $2",
            "DELETE FROM photos WHERE tenant_id = $1 AND object_id = $2",
        ] {
            exec(self.tx, sql, "purge", &[&self.tenant, &id]).await?;
        }
        // `kind = ANY(...)` lets both deletes seek the (tenant, kind, end) indexes.
        let kinds: Vec<&str> = EDGE_KINDS.iter().map(|k| k.as_str()).collect();
        for sql in [
            "DELETE FROM edges WHERE tenant_id = $1 AND kind = ANY($2) AND source_id = $3",
            "DELETE FROM edges WHERE tenant_id = $1 AND kind = ANY($2) AND target_id = $3",
        ] {
            exec(self.tx, sql, "purge edges", &[&self.tenant, &kinds, &id]).await?;
        }
        self.record(id, st.object_type, "purged", Value::Null);
        Ok(())
    }

    async fn put_secret(&mut self, s: &SecretRecord) -> Attempt<()> {
        let owner = self.state(s.owner).await?.ok_or_else(|| StoreError::NotFound(format!("object {}", s.owner)))?;
        exec(
            self.tx,
            "INSERT INTO secrets (tenant_id, owner_id, key_id, kind, hash, meta) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (tenant_id, owner_id, key_id) DO UPDATE SET \
             kind = excluded.kind, hash = excluded.hash, meta = excluded.meta",
            "put secret",
            &[&self.tenant, &s.owner, &s.key_id, &s.kind, &s.hash, &Json(&s.meta)],
        )
        .await?;
        self.record(s.owner, owner.object_type, "secret", json!({ "keyId": s.key_id, "op": "put" }));
        Ok(())
    }

    /// Signing keys belong to the tenant, so their log entries name the tenant as the object.
    /// Upserts one of the tenant's domains; a name held by another tenant is a conflict. The
    /// insert skips on a concurrent insert of the same name and the holder read sees the winner.
    async fn put_domain(&mut self, d: &crate::DomainRecord) -> Attempt<()> {
        let name = d.name.to_lowercase();
        let doc = domain_doc(&d.doc)?;
        let inserted = exec(
            self.tx,
            "INSERT INTO domains (name, tenant_id, position, is_initial, is_default, is_verified, doc) \
             VALUES ($1, $2, (SELECT COALESCE(MAX(position), -1) + 1 FROM domains WHERE tenant_id = $2), \
             $3, $4, $5, $6) ON CONFLICT (name) DO NOTHING",
            "insert domain",
            &[&name, &self.tenant, &d.is_initial, &d.is_default, &d.is_verified, &doc],
        )
        .await?;
        if inserted == 0 {
            let updated = exec(
                self.tx,
                "UPDATE domains SET is_initial = $3, is_default = $4, is_verified = $5, doc = $6 \
                 WHERE tenant_id = $1 AND name = $2",
                "update domain",
                &[&self.tenant, &name, &d.is_initial, &d.is_default, &d.is_verified, &doc],
            )
            .await?;
            if updated == 0 {
                let st = self
                    .tx
                    .prepare_cached("SELECT tenant_id FROM domains WHERE name = $1")
                    .await
                    .ctx("check domain")?;
                let holder = match self.tx.query_opt(&st, &[&name]).await.ctx("check domain")? {
                    Some(r) => col(&r, 0, "domain holder")?,
                    None => self.tenant,
                };
                return Err(StoreError::Conflict { namespace: "domain".into(), key: name, holder }.into());
            }
        }
        let tenant = self.tenant;
        self.record(tenant, "tenant".into(), "domain", json!({ "name": name, "op": "put" }));
        Ok(())
    }

    async fn put_key(&mut self, k: &SigningKeyRecord) -> Attempt<()> {
        exec(
            self.tx,
            "INSERT INTO signing_keys (tenant_id, kid, private_pkcs8, created_at, status, retired_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, kid) DO UPDATE SET \
             private_pkcs8 = excluded.private_pkcs8, created_at = excluded.created_at, status = excluded.status, \
             retired_at = excluded.retired_at",
            "put signing key",
            &[&self.tenant, &k.kid, &k.private_pkcs8, &k.created_at, &k.status, &k.retired_at],
        )
        .await?;
        let tenant = self.tenant;
        self.record(tenant, "tenant".into(), "key", json!({ "kid": k.kid, "status": k.status }));
        Ok(())
    }

    /// Appends the change-log entries with consecutive sequence numbers (one statement for all
    /// of them), advances the tenant's sequence and writes the audit record. Returns the last
    /// sequence number.
    async fn finish(&mut self, last: i64, audit: &AuditRecord) -> Attempt<u64> {
        let log = std::mem::take(&mut self.log);
        let n = i64::try_from(log.len()).map_err(|_| StoreError::Invalid("too many ops".into()))?;
        let seq = last + n;
        if n > 0 {
            let seqs: Vec<i64> = (last + 1..=seq).collect();
            let ids: Vec<Uuid> = log.iter().map(|e| e.object_id).collect();
            let types: Vec<&str> = log.iter().map(|e| e.object_type.as_str()).collect();
            let kinds: Vec<&str> = log.iter().map(|e| e.kind).collect();
            let details: Vec<Json<&Value>> = log.iter().map(|e| Json(&e.detail)).collect();
            exec(
                self.tx,
                "INSERT INTO changes (tenant_id, seq, object_id, object_type, kind, detail, at) \
                 SELECT $1, u.seq, u.object_id, u.object_type, u.kind, u.detail, $7 \
                 FROM unnest($2::bigint[], $3::uuid[], $4::text[], $5::text[], $6::jsonb[]) \
                 AS u(seq, object_id, object_type, kind, detail)",
                "append change log",
                &[&self.tenant, &seqs, &ids, &types, &kinds, &details, &self.now],
            )
            .await?;
            exec(self.tx, "UPDATE tenants SET last_seq = $2 WHERE id = $1", "advance seq", &[&self.tenant, &seq])
                .await?;
        }
        exec(
            self.tx,
            "INSERT INTO audit (tenant_id, id, at, activity, category, operation_type, actor_id, correlation_id, record) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            "write audit",
            &[
                &self.tenant,
                &audit.id,
                &audit.at,
                &audit.activity,
                &audit.category,
                &audit.operation_type,
                &audit.actor.id,
                &audit.correlation_id,
                &Json(audit),
            ],
        )
        .await?;
        u64::try_from(seq).map_err(|_| StoreError::Invalid(format!("sequence {seq}")).into())
    }
}

fn edge_detail(kind: EdgeKind, target: Uuid) -> Value {
    json!({ "kind": kind.as_str(), "target": target })
}

/// Deletes the oldest entries committed before `before` (at most `limit`) and raises the
/// tenant's retention watermark to the last one deleted, in one transaction. The tenant row is
/// locked first, as a change does, so pruning and appending never interleave.
pub(crate) async fn prune_changes(c: &mut Client, tenant: Uuid, before: &str, limit: usize) -> Attempt<usize> {
    let tx = c.transaction().await.ctx("begin prune")?;
    let lim = i64::try_from(limit).unwrap_or(i64::MAX);
    let st = tx.prepare_cached("SELECT last_seq FROM tenants WHERE id = $1 FOR UPDATE").await.ctx("prepare lock")?;
    if tx.query_opt(&st, &[&tenant]).await.ctx("lock tenant")?.is_none() {
        return Err(StoreError::NotFound(format!("tenant {tenant}")).into());
    }
    let st = tx
        .prepare_cached("SELECT seq, at FROM changes WHERE tenant_id = $1 ORDER BY seq LIMIT $2")
        .await
        .ctx("prepare prune scan")?;
    let rows = tx.query(&st, &[&tenant, &lim]).await.ctx("prune scan")?;
    let mut entries = Vec::with_capacity(rows.len());
    for r in &rows {
        let seq: i64 = col(r, 0, "change seq")?;
        let seq = u64::try_from(seq).map_err(|_| StoreError::Invalid(format!("change seq {seq}")))?;
        entries.push((seq, col::<String>(r, 1, "change time")?));
    }
    let Some(through) = crate::changelog::prune_prefix(&entries, before) else {
        return Ok(0);
    };
    let through = i64::try_from(through).map_err(|_| StoreError::Invalid(format!("sequence {through}")))?;
    let deleted =
        exec(&tx, "DELETE FROM changes WHERE tenant_id = $1 AND seq <= $2", "prune changes", &[&tenant, &through])
            .await?;
    exec(
        &tx,
        "UPDATE tenants SET pruned_seq = GREATEST(pruned_seq, $2) WHERE id = $1",
        "raise watermark",
        &[&tenant, &through],
    )
    .await?;
    tx.commit().await.ctx("commit prune")?;
    usize::try_from(deleted).map_err(|_| StoreError::Invalid(format!("{deleted} rows")).into())
}
