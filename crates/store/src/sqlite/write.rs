//! Writes: tenants, meta and [`Change`]s. Each call is one IMMEDIATE transaction (it takes the
//! write lock up front, so it never fails half-way on a lock upgrade); any error drops the
//! transaction, which rolls everything back.

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::{WithContext, parse_id};
use crate::{
    Change, EdgeKind, ObjectRecord, Op, SecretRecord, SigningKeyRecord, StoreError, StoreResult, TenantRecord,
};

/// Every edge kind, for deleting all edges of a purged object with index lookups.
const EDGE_KINDS: [EdgeKind; 4] = [EdgeKind::Member, EdgeKind::Owner, EdgeKind::Manager, EdgeKind::RegisteredUser];

/// Fails to compile when a kind is added without updating [`EDGE_KINDS`].
const _: fn(EdgeKind) = |k| match k {
    EdgeKind::Member | EdgeKind::Owner | EdgeKind::Manager | EdgeKind::RegisteredUser => {}
};

fn now() -> StoreResult<String> {
    crate::clock::now().format(&Rfc3339).map_err(|e| StoreError::Backend(format!("format time: {e}")))
}

fn to_json<T: serde::Serialize + ?Sized>(what: &str, v: &T) -> StoreResult<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Invalid(format!("{what}: {e}")))
}

fn begin(conn: &mut Connection) -> StoreResult<Transaction<'_>> {
    conn.transaction_with_behavior(TransactionBehavior::Immediate).ctx("begin write")
}

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
        || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE)
}

// ---- tenants and meta ----

pub(crate) fn create_tenant(conn: &mut Connection, t: &TenantRecord) -> StoreResult<()> {
    let tx = begin(conn)?;
    let id = t.id.to_string();
    match tx.execute(
        "INSERT INTO tenants (id, display_name, created_at) VALUES (?1, ?2, ?3)",
        params![id, t.display_name, t.created_at],
    ) {
        Err(e) if is_unique_violation(&e) => {
            return Err(StoreError::Conflict { namespace: "tenant".into(), key: id, holder: t.id });
        }
        r => r.ctx("insert tenant")?,
    };
    for (position, d) in t.domains.iter().enumerate() {
        let name = d.name.to_lowercase();
        let holder: Option<String> = tx
            .query_row("SELECT tenant_id FROM domains WHERE name = ?1", [&name], |r| r.get(0))
            .optional()
            .ctx("check domain")?;
        if let Some(holder) = holder {
            return Err(StoreError::Conflict { namespace: "domain".into(), key: name, holder: parse_id(&holder)? });
        }
        tx.execute(
            "INSERT INTO domains (name, tenant_id, position, is_initial, is_default, is_verified, doc) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![name, id, position as i64, d.is_initial, d.is_default, d.is_verified, to_json("domain", &d.doc)?],
        )
        .ctx("insert domain")?;
    }
    tx.commit().ctx("commit tenant")
}

pub(crate) fn set_meta(conn: &mut Connection, key: &str, value: &str) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )
    .ctx("prepare set_meta")?
    .execute([key, value])
    .ctx("set_meta")?;
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
struct Writer<'c> {
    tx: Transaction<'c>,
    tenant: String,
    tenant_id: Uuid,
    now: String,
    log: Vec<Entry>,
}

pub(crate) fn apply(conn: &mut Connection, tenant: Uuid, change: Change) -> StoreResult<u64> {
    apply_all(conn, tenant, vec![change])
}

/// Applies `changes` in order in one transaction: all of them, or (on the first error) none.
/// Each keeps its own change-log entries and audit record, as if applied one after another.
pub(crate) fn apply_all(conn: &mut Connection, tenant: Uuid, changes: Vec<Change>) -> StoreResult<u64> {
    let tx = begin(conn)?;
    let t = tenant.to_string();
    let last: i64 = tx
        .prepare_cached("SELECT last_seq FROM tenants WHERE id = ?1")
        .ctx("prepare last_seq")?
        .query_row([&t], |r| r.get(0))
        .optional()
        .ctx("read last_seq")?
        .ok_or_else(|| StoreError::NotFound(format!("tenant {tenant}")))?;
    let mut w = Writer { tx, tenant: t, tenant_id: tenant, now: now()?, log: Vec::new() };
    let mut seq = u64::try_from(last).unwrap_or(0);
    for change in changes {
        for op in change.ops {
            w.op(op)?;
        }
        seq = w.finish(i64::try_from(seq).unwrap_or(i64::MAX), &change.audit)?;
    }
    w.tx.commit().ctx("commit change")?;
    Ok(seq)
}

impl Writer<'_> {
    fn op(&mut self, op: Op) -> StoreResult<()> {
        match op {
            Op::Insert { object, unique } => self.insert(object, &unique),
            Op::Update { id, expected_version, doc, unique } => {
                let st = self.live(id)?;
                if st.version != expected_version {
                    return Err(StoreError::VersionMismatch(id));
                }
                let old = self.doc(id)?;
                let detail = crate::changelog::update_detail(&old, &doc);
                self.tx
                    .prepare_cached(
                        "UPDATE objects SET doc = ?3, version = version + 1, updated_at = ?4 \
                         WHERE tenant_id = ?1 AND id = ?2",
                    )
                    .ctx("prepare update")?
                    .execute(params![self.tenant, id.to_string(), to_json("document", &doc)?, self.now])
                    .ctx("update object")?;
                self.release(id)?;
                self.claim(id, &unique)?;
                self.record(id, st.object_type, "updated", detail);
                Ok(())
            }
            Op::SoftDelete { id, at } => {
                let st = self.live(id)?;
                self.set_deleted(id, Some(&at))?;
                self.release(id)?;
                self.record(id, st.object_type, "deleted", Value::Null);
                Ok(())
            }
            Op::Restore { id, unique } => {
                let st = self.state(id)?.filter(|s| s.deleted);
                let st = st.ok_or_else(|| StoreError::NotFound(format!("deleted object {id}")))?;
                self.set_deleted(id, None)?;
                self.claim(id, &unique)?;
                self.record(id, st.object_type, "restored", Value::Null);
                Ok(())
            }
            Op::Purge { id } => self.purge(id),
            Op::AddEdge { kind, source, target } => {
                let src = self.live(source)?;
                self.live(target)?;
                let inserted = self
                    .tx
                    .prepare_cached(
                        "INSERT INTO edges (tenant_id, kind, source_id, target_id) VALUES (?1, ?2, ?3, ?4) \
                         ON CONFLICT DO NOTHING",
                    )
                    .ctx("prepare add edge")?
                    .execute(params![self.tenant, kind.as_str(), source.to_string(), target.to_string()])
                    .ctx("add edge")?;
                if inserted == 0 {
                    return Err(StoreError::EdgeExists(format!("{} {source} -> {target}", kind.as_str())));
                }
                self.record(source, src.object_type, "edge_added", edge_detail(kind, target));
                Ok(())
            }
            Op::RemoveEdge { kind, source, target } => {
                // Removes the row even while an end is in the recycle bin, so a stale edge can
                // always be cleaned up.
                let removed = self
                    .tx
                    .prepare_cached(
                        "DELETE FROM edges WHERE tenant_id = ?1 AND kind = ?2 AND source_id = ?3 AND target_id = ?4",
                    )
                    .ctx("prepare remove edge")?
                    .execute(params![self.tenant, kind.as_str(), source.to_string(), target.to_string()])
                    .ctx("remove edge")?;
                if removed == 0 {
                    return Err(StoreError::NotFound(format!("edge {} {source} -> {target}", kind.as_str())));
                }
                let ty = self.state(source)?.map(|s| s.object_type).unwrap_or_default();
                self.record(source, ty, "edge_removed", edge_detail(kind, target));
                Ok(())
            }
            Op::PutSecret(s) => self.put_secret(s),
            Op::DeleteSecret { owner, key_id } => {
                let removed = self
                    .tx
                    .prepare_cached("DELETE FROM secrets WHERE tenant_id = ?1 AND owner_id = ?2 AND key_id = ?3")
                    .ctx("prepare delete secret")?
                    .execute(params![self.tenant, owner.to_string(), key_id.to_string()])
                    .ctx("delete secret")?;
                if removed == 0 {
                    return Err(StoreError::NotFound(format!("secret {key_id} of {owner}")));
                }
                let ty = self.state(owner)?.map(|s| s.object_type).unwrap_or_default();
                self.record(owner, ty, "secret", json!({ "keyId": key_id, "op": "delete" }));
                Ok(())
            }
            Op::PutSigningKey(k) => self.put_key(k),
            Op::DeleteSigningKey { kid } => {
                let removed = self
                    .tx
                    .prepare_cached("DELETE FROM signing_keys WHERE tenant_id = ?1 AND kid = ?2")
                    .ctx("prepare delete key")?
                    .execute(params![self.tenant, kid])
                    .ctx("delete signing key")?;
                if removed == 0 {
                    return Err(StoreError::NotFound(format!("signing key {kid}")));
                }
                let tenant = self.tenant_id;
                self.record(tenant, "tenant".into(), "key", json!({ "kid": kid, "status": "deleted" }));
                Ok(())
            }
            Op::NoteEdge { kind, source, target, visible } => {
                let ty = self.state(source)?.map(|s| s.object_type).unwrap_or_default();
                self.record(source, ty, if visible { "edge_added" } else { "edge_removed" }, edge_detail(kind, target));
                Ok(())
            }
            Op::PutDomain(d) => self.put_domain(d),
            Op::DeleteDomain { name } => {
                let name = name.to_lowercase();
                let removed = self
                    .tx
                    .prepare_cached("DELETE FROM domains WHERE tenant_id = ?1 AND name = ?2")
                    .ctx("prepare delete domain")?
                    .execute(params![self.tenant, name])
                    .ctx("delete domain")?;
                if removed == 0 {
                    return Err(StoreError::NotFound(format!("domain {name}")));
                }
                let tenant = self.tenant_id;
                self.record(tenant, "tenant".into(), "domain", json!({ "name": name, "op": "delete" }));
                Ok(())
            }
        }
    }

    fn record(&mut self, object_id: Uuid, object_type: String, kind: &'static str, detail: Value) {
        self.log.push(Entry { object_id, object_type, kind, detail });
    }

    fn state(&self, id: Uuid) -> StoreResult<Option<ObjState>> {
        self.tx
            .prepare_cached(
                "SELECT object_type, version, deleted_at IS NOT NULL FROM objects WHERE tenant_id = ?1 AND id = ?2",
            )
            .ctx("prepare state")?
            .query_row(params![self.tenant, id.to_string()], |r| {
                Ok(ObjState { object_type: r.get(0)?, version: r.get(1)?, deleted: r.get(2)? })
            })
            .optional()
            .ctx("read object state")
    }

    /// The stored document of an object, for the changed-property list of an update.
    fn doc(&self, id: Uuid) -> StoreResult<serde_json::Map<String, Value>> {
        let text: String = self
            .tx
            .prepare_cached("SELECT doc FROM objects WHERE tenant_id = ?1 AND id = ?2")
            .ctx("prepare doc")?
            .query_row(params![self.tenant, id.to_string()], |r| r.get(0))
            .ctx("read doc")?;
        serde_json::from_str(&text).map_err(|e| StoreError::Invalid(format!("document of {id}: {e}")))
    }

    /// The state of a live object; `NotFound` if it is missing or in the recycle bin.
    fn live(&self, id: Uuid) -> StoreResult<ObjState> {
        self.state(id)?.filter(|s| !s.deleted).ok_or_else(|| StoreError::NotFound(format!("object {id}")))
    }

    fn insert(&mut self, o: ObjectRecord, unique: &[(String, String)]) -> StoreResult<()> {
        if self.state(o.id)?.is_some() {
            return Err(StoreError::Conflict { namespace: "id".into(), key: o.id.to_string(), holder: o.id });
        }
        self.tx
            .prepare_cached(
                "INSERT INTO objects (tenant_id, id, object_type, version, deleted_at, doc, created_at, updated_at) \
                 VALUES (?1, ?2, ?3, 1, ?4, ?5, ?6, ?6)",
            )
            .ctx("prepare insert")?
            .execute(params![
                self.tenant,
                o.id.to_string(),
                o.object_type,
                o.deleted_at,
                to_json("document", &o.doc)?,
                self.now
            ])
            .ctx("insert object")?;
        // An object inserted straight into the recycle bin (an import) holds no claims.
        if o.deleted_at.is_none() {
            self.claim(o.id, unique)?;
        }
        self.record(o.id, o.object_type, "created", Value::Null);
        Ok(())
    }

    /// Takes each claim for `id`; `Conflict` if another object holds one.
    fn claim(&self, id: Uuid, unique: &[(String, String)]) -> StoreResult<()> {
        let idt = id.to_string();
        for (namespace, key) in unique {
            let holder: Option<String> = self
                .tx
                .prepare_cached("SELECT object_id FROM claims WHERE tenant_id = ?1 AND namespace = ?2 AND key = ?3")
                .ctx("prepare claim check")?
                .query_row(params![self.tenant, namespace, key], |r| r.get(0))
                .optional()
                .ctx("check claim")?;
            match holder {
                Some(h) if h == idt => {}
                Some(h) => {
                    return Err(StoreError::Conflict {
                        namespace: namespace.clone(),
                        key: key.clone(),
                        holder: parse_id(&h)?,
                    });
                }
                None => {
                    self.tx
                        .prepare_cached(
                            "INSERT INTO claims (tenant_id, namespace, key, object_id) VALUES (?1, ?2, ?3, ?4)",
                        )
                        .ctx("prepare claim")?
                        .execute(params![self.tenant, namespace, key, idt])
                        .ctx("claim")?;
                }
            }
        }
        Ok(())
    }

    fn release(&self, id: Uuid) -> StoreResult<()> {
        self.tx
            .prepare_cached("DELETE FROM claims WHERE tenant_id = ?1 AND object_id = ?2")
            .ctx("prepare release")?
            .execute(params![self.tenant, id.to_string()])
            .ctx("release claims")?;
        Ok(())
    }

    /// Moves an object in or out of the recycle bin; bumps the version so an update computed
    /// before the move cannot land after it.
    fn set_deleted(&self, id: Uuid, at: Option<&str>) -> StoreResult<()> {
        self.tx
            .prepare_cached(
                "UPDATE objects SET deleted_at = ?3, version = version + 1, updated_at = ?4 \
                 WHERE tenant_id = ?1 AND id = ?2",
            )
            .ctx("prepare set deleted")?
            .execute(params![self.tenant, id.to_string(), at, self.now])
            .ctx("set deleted")?;
        Ok(())
    }

    fn purge(&mut self, id: Uuid) -> StoreResult<()> {
        let st = self.state(id)?.ok_or_else(|| StoreError::NotFound(format!("object {id}")))?;
        let idt = id.to_string();
        for sql in [
            "DELETE FROM objects WHERE tenant_id = ?1 AND id = ?2",
            "DELETE FROM claims WHERE tenant_id = ?1 AND object_id = ?2",
            "DELETE FROM secrets WHERE tenant_id = ?1 AND owner_id = ?2",
            "DELETE FROM photos WHERE tenant_id = ?1 AND object_id = ?2",
        ] {
            self.tx.prepare_cached(sql).ctx("prepare purge")?.execute(params![self.tenant, idt]).ctx("purge")?;
        }
        for kind in EDGE_KINDS {
            for sql in [
                "DELETE FROM edges WHERE tenant_id = ?1 AND kind = ?2 AND source_id = ?3",
                "DELETE FROM edges WHERE tenant_id = ?1 AND kind = ?2 AND target_id = ?3",
            ] {
                self.tx
                    .prepare_cached(sql)
                    .ctx("prepare purge edges")?
                    .execute(params![self.tenant, kind.as_str(), idt])
                    .ctx("purge edges")?;
            }
        }
        self.record(id, st.object_type, "purged", Value::Null);
        Ok(())
    }

    fn put_secret(&mut self, s: SecretRecord) -> StoreResult<()> {
        let owner = self.state(s.owner)?.ok_or_else(|| StoreError::NotFound(format!("object {}", s.owner)))?;
        self.tx
            .prepare_cached(
                "INSERT INTO secrets (tenant_id, owner_id, key_id, kind, hash, meta) VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
                 ON CONFLICT (tenant_id, owner_id, key_id) DO UPDATE SET \
                 kind = excluded.kind, hash = excluded.hash, meta = excluded.meta",
            )
            .ctx("prepare put secret")?
            .execute(params![
                self.tenant,
                s.owner.to_string(),
                s.key_id.to_string(),
                s.kind,
                s.hash,
                to_json("secret meta", &s.meta)?
            ])
            .ctx("put secret")?;
        self.record(s.owner, owner.object_type, "secret", json!({ "keyId": s.key_id, "op": "put" }));
        Ok(())
    }

    /// Signing keys belong to the tenant, so their log entries name the tenant as the object.
    /// Upserts one of the tenant's domains; a name held by another tenant is a conflict.
    fn put_domain(&mut self, d: crate::DomainRecord) -> StoreResult<()> {
        let name = d.name.to_lowercase();
        let holder: Option<String> = self
            .tx
            .prepare_cached("SELECT tenant_id FROM domains WHERE name = ?1")
            .ctx("prepare check domain")?
            .query_row([&name], |r| r.get(0))
            .optional()
            .ctx("check domain")?;
        match holder {
            Some(h) if h != self.tenant => {
                return Err(StoreError::Conflict { namespace: "domain".into(), key: name, holder: parse_id(&h)? });
            }
            Some(_) => {
                self.tx
                    .prepare_cached(
                        "UPDATE domains SET is_initial = ?3, is_default = ?4, is_verified = ?5, doc = ?6 \
                         WHERE tenant_id = ?1 AND name = ?2",
                    )
                    .ctx("prepare update domain")?
                    .execute(params![
                        self.tenant,
                        name,
                        d.is_initial,
                        d.is_default,
                        d.is_verified,
                        to_json("domain", &d.doc)?
                    ])
                    .ctx("update domain")?;
            }
            None => {
                self.tx
                    .prepare_cached(
                        "INSERT INTO domains (name, tenant_id, position, is_initial, is_default, is_verified, doc) \
                         VALUES (?1, ?2, (SELECT COALESCE(MAX(position), -1) + 1 FROM domains WHERE tenant_id = ?2), \
                         ?3, ?4, ?5, ?6)",
                    )
                    .ctx("prepare insert domain")?
                    .execute(params![
                        name,
                        self.tenant,
                        d.is_initial,
                        d.is_default,
                        d.is_verified,
                        to_json("domain", &d.doc)?
                    ])
                    .ctx("insert domain")?;
            }
        }
        let tenant = self.tenant_id;
        self.record(tenant, "tenant".into(), "domain", json!({ "name": name, "op": "put" }));
        Ok(())
    }

    fn put_key(&mut self, k: SigningKeyRecord) -> StoreResult<()> {
        self.tx
            .prepare_cached(
                "INSERT INTO signing_keys (tenant_id, kid, private_pkcs8, created_at, status, retired_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (tenant_id, kid) DO UPDATE SET \
                 private_pkcs8 = excluded.private_pkcs8, created_at = excluded.created_at, status = excluded.status, \
                 retired_at = excluded.retired_at",
            )
            .ctx("prepare put key")?
            .execute(params![self.tenant, k.kid, k.private_pkcs8, k.created_at, k.status, k.retired_at])
            .ctx("put signing key")?;
        let tenant = self.tenant_id;
        self.record(tenant, "tenant".into(), "key", json!({ "kid": k.kid, "status": k.status }));
        Ok(())
    }

    /// Appends the change-log entries with consecutive sequence numbers, advances the tenant's
    /// sequence and writes the audit record. Returns the last sequence number.
    fn finish(&mut self, last: i64, audit: &crate::AuditRecord) -> StoreResult<u64> {
        let mut seq = last;
        for e in std::mem::take(&mut self.log) {
            seq += 1;
            self.tx
                .prepare_cached(
                    "INSERT INTO changes (tenant_id, seq, object_id, object_type, kind, detail, at) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .ctx("prepare change log")?
                .execute(params![
                    self.tenant,
                    seq,
                    e.object_id.to_string(),
                    e.object_type,
                    e.kind,
                    to_json("change detail", &e.detail)?,
                    self.now
                ])
                .ctx("append change log")?;
        }
        if seq != last {
            self.tx
                .prepare_cached("UPDATE tenants SET last_seq = ?2 WHERE id = ?1")
                .ctx("prepare advance seq")?
                .execute(params![self.tenant, seq])
                .ctx("advance seq")?;
        }
        self.tx
            .prepare_cached(
                "INSERT INTO audit (tenant_id, id, at, activity, category, operation_type, actor_id, correlation_id, record) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )
            .ctx("prepare audit")?
            .execute(params![
                self.tenant,
                audit.id.to_string(),
                audit.at,
                audit.activity,
                audit.category,
                audit.operation_type,
                audit.actor.id.map(|i| i.to_string()),
                audit.correlation_id,
                to_json("audit record", audit)?
            ])
            .ctx("write audit")?;
        u64::try_from(seq).map_err(|_| StoreError::Invalid(format!("sequence {seq}")))
    }
}

fn edge_detail(kind: EdgeKind, target: Uuid) -> Value {
    json!({ "kind": kind.as_str(), "target": target })
}

/// Deletes the oldest entries committed before `before` (at most `limit`) and raises the
/// tenant's retention watermark to the last one deleted, in one transaction.
pub(crate) fn prune_changes(conn: &mut Connection, tenant: Uuid, before: &str, limit: usize) -> StoreResult<usize> {
    let tx = begin(conn)?;
    let t = tenant.to_string();
    let lim = i64::try_from(limit).unwrap_or(i64::MAX);
    let known = tx
        .prepare_cached("SELECT 1 FROM tenants WHERE id = ?1")
        .ctx("prepare tenant check")?
        .query_row([&t], |_| Ok(()))
        .optional()
        .ctx("check tenant")?;
    if known.is_none() {
        return Err(StoreError::NotFound(format!("tenant {tenant}")));
    }
    let entries: Vec<(u64, String)> = {
        let mut st = tx
            .prepare_cached("SELECT seq, at FROM changes WHERE tenant_id = ?1 ORDER BY seq LIMIT ?2")
            .ctx("prepare prune scan")?;
        let rows = st.query_map(params![t, lim], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))).ctx("prune")?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, at) = row.ctx("prune")?;
            out.push((u64::try_from(seq).map_err(|_| StoreError::Invalid(format!("change seq {seq}")))?, at));
        }
        out
    };
    let Some(through) = crate::changelog::prune_prefix(&entries, before) else {
        return Ok(0);
    };
    let through = i64::try_from(through).map_err(|_| StoreError::Invalid(format!("sequence {through}")))?;
    let deleted = tx
        .prepare_cached("DELETE FROM changes WHERE tenant_id = ?1 AND seq <= ?2")
        .ctx("prepare prune")?
        .execute(params![t, through])
        .ctx("prune changes")?;
    tx.prepare_cached("UPDATE tenants SET pruned_seq = max(pruned_seq, ?2) WHERE id = ?1")
        .ctx("prepare watermark")?
        .execute(params![t, through])
        .ctx("raise watermark")?;
    tx.commit().ctx("commit prune")?;
    Ok(deleted)
}
