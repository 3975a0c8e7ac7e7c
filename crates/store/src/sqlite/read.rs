//! Reads: tenants, objects, list queries, edges, secrets, keys and logs.

use std::collections::HashMap;

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OptionalExtension, ToSql, params, params_from_iter};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::compile::{self, Param};
use super::{WithContext, parse_id};
use crate::{
    AuditRecord, ChangeLogEntry, Cursor, DomainRecord, EdgeKind, ListQuery, ObjectRecord, Page, Revalidated, RowStamp,
    Scalar, SecretRecord, SigningKeyRecord, StoreError, StoreResult, TenantRecord, ValueKind,
};

impl ToSql for Param {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Param::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Param::Int(i) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
            Param::Real(f) => ToSqlOutput::Borrowed(ValueRef::Real(*f)),
            Param::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
        })
    }
}

/// Lower-case hyphenated text of an id, without allocating.
fn id_text(id: Uuid, buf: &mut [u8; 36]) -> &str {
    id.as_hyphenated().encode_lower(buf)
}

fn parse_doc(id: Uuid, text: &str) -> StoreResult<Map<String, Value>> {
    serde_json::from_str(text).map_err(|e| StoreError::Invalid(format!("document of {id}: {e}")))
}

fn parse_json(what: &str, text: &str) -> StoreResult<Value> {
    serde_json::from_str(text).map_err(|e| StoreError::Invalid(format!("{what}: {e}")))
}

// ---- tenants ----

fn domains(conn: &Connection, tenant: &str) -> StoreResult<Vec<DomainRecord>> {
    let mut st = conn
        .prepare_cached(
            "SELECT name, is_initial, is_default, is_verified, doc FROM domains WHERE tenant_id = ?1 ORDER BY position",
        )
        .ctx("prepare domains")?;
    let rows = st
        .query_map([tenant], |r| {
            Ok((
                DomainRecord {
                    name: r.get(0)?,
                    is_initial: r.get(1)?,
                    is_default: r.get(2)?,
                    is_verified: r.get(3)?,
                    doc: Map::new(),
                },
                r.get::<_, String>(4)?,
            ))
        })
        .ctx("read domains")?;
    let rows = rows.collect::<rusqlite::Result<Vec<_>>>().ctx("read domains")?;
    rows.into_iter()
        .map(|(mut d, doc)| {
            d.doc = serde_json::from_str(&doc)
                .map_err(|e| StoreError::Invalid(format!("document of domain {}: {e}", d.name)))?;
            Ok(d)
        })
        .collect()
}

fn tenant_where(conn: &Connection, clause: &str, arg: &str) -> StoreResult<Option<TenantRecord>> {
    let sql = format!("SELECT t.id, t.display_name, t.created_at FROM tenants t {clause}");
    let mut st = conn.prepare_cached(&sql).ctx("prepare tenant")?;
    let row = st
        .query_row([arg], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)))
        .optional()
        .ctx("read tenant")?;
    let Some((id, display_name, created_at)) = row else {
        return Ok(None);
    };
    let domains = domains(conn, &id)?;
    Ok(Some(TenantRecord { id: parse_id(&id)?, display_name, domains, created_at }))
}

pub(crate) fn tenant(conn: &Connection, id: Uuid) -> StoreResult<Option<TenantRecord>> {
    tenant_where(conn, "WHERE t.id = ?1", &id.to_string())
}

pub(crate) fn tenant_by_domain(conn: &Connection, domain: &str) -> StoreResult<Option<TenantRecord>> {
    // Only a verified domain names its tenant (an unverified one is merely claimed).
    tenant_where(
        conn,
        "JOIN domains d ON d.tenant_id = t.id WHERE d.name = ?1 AND d.is_verified",
        &domain.to_lowercase(),
    )
}

pub(crate) fn tenants(conn: &Connection) -> StoreResult<Vec<TenantRecord>> {
    let mut st = conn.prepare_cached("SELECT id FROM tenants ORDER BY rowid").ctx("prepare tenants")?;
    let ids = st
        .query_map([], |r| r.get::<_, String>(0))
        .ctx("read tenants")?
        .collect::<rusqlite::Result<Vec<_>>>()
        .ctx("read tenants")?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(t) = tenant_where(conn, "WHERE t.id = ?1", &id)? {
            out.push(t);
        }
    }
    Ok(out)
}

pub(crate) fn meta(conn: &Connection, key: &str) -> StoreResult<Option<String>> {
    conn.prepare_cached("SELECT value FROM meta WHERE key = ?1")
        .ctx("prepare meta")?
        .query_row([key], |r| r.get(0))
        .optional()
        .ctx("read meta")
}

// ---- objects ----

/// The hot path: one cached statement, one primary-key lookup.
pub(crate) fn get(conn: &Connection, tenant: Uuid, id: Uuid) -> StoreResult<Option<ObjectRecord>> {
    let (mut tb, mut ib) = ([0u8; 36], [0u8; 36]);
    let mut st = conn
        .prepare_cached("SELECT object_type, version, doc, deleted_at FROM objects WHERE tenant_id = ?1 AND id = ?2")
        .ctx("prepare get")?;
    let row = st
        .query_row([id_text(tenant, &mut tb), id_text(id, &mut ib)], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, String>(2)?, r.get::<_, Option<String>>(3)?))
        })
        .optional()
        .ctx("get object")?;
    let Some((object_type, version, doc, deleted_at)) = row else {
        return Ok(None);
    };
    Ok(Some(ObjectRecord { id, object_type, version, doc: parse_doc(id, &doc)?, deleted_at }))
}

/// [`get`] unless the row still has the stamp `known`: one cached statement; the document is
/// neither copied out nor parsed when it did not change.
pub(crate) fn get_unless(
    conn: &Connection,
    tenant: Uuid,
    id: Uuid,
    known: Option<&RowStamp>,
) -> StoreResult<Revalidated> {
    let (mut tb, mut ib) = ([0u8; 36], [0u8; 36]);
    let mut st = conn
        .prepare_cached(
            "SELECT object_type, version, CASE WHEN version = ?3 AND updated_at = ?4 THEN NULL ELSE doc END, \
             deleted_at, updated_at FROM objects WHERE tenant_id = ?1 AND id = ?2",
        )
        .ctx("prepare get_unless")?;
    let (version, updated_at) = known.map_or((-1, ""), |k| (k.version, k.updated_at.as_str()));
    let row = st
        .query_row(params![id_text(tenant, &mut tb), id_text(id, &mut ib), version, updated_at], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, String>(4)?,
            ))
        })
        .optional()
        .ctx("get object unless")?;
    let Some((object_type, version, doc, deleted_at, updated_at)) = row else {
        return Ok(Revalidated::Missing);
    };
    let Some(doc) = doc else {
        return Ok(Revalidated::Unchanged);
    };
    let record = ObjectRecord { id, object_type, version, doc: parse_doc(id, &doc)?, deleted_at };
    Ok(Revalidated::Changed(record, Some(RowStamp { version, updated_at })))
}

/// One read transaction for all ids: one snapshot, and one read lock instead of one per
/// lookup (a statement outside a transaction takes and drops its own, with `fcntl` calls).
pub(crate) fn get_many(conn: &mut Connection, tenant: Uuid, ids: &[Uuid]) -> StoreResult<Vec<ObjectRecord>> {
    if ids.len() < 2 {
        return ids.first().map(|id| get(conn, tenant, *id)).transpose().map(|o| o.flatten().into_iter().collect());
    }
    let tx = conn.transaction().ctx("begin read")?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(o) = get(&tx, tenant, *id)? {
            out.push(o);
        }
    }
    tx.finish().ctx("end read")?;
    Ok(out)
}

pub(crate) fn find_unique(conn: &Connection, tenant: Uuid, namespace: &str, key: &str) -> StoreResult<Option<Uuid>> {
    let holder: Option<String> = conn
        .prepare_cached("SELECT object_id FROM claims WHERE tenant_id = ?1 AND namespace = ?2 AND key = ?3")
        .ctx("prepare find_unique")?
        .query_row(params![tenant.to_string(), namespace, key], |r| r.get(0))
        .optional()
        .ctx("find_unique")?;
    holder.as_deref().map(parse_id).transpose()
}

/// A sort-key value as the cursor carries it.
fn scalar_of(kind: ValueKind, v: ValueRef<'_>) -> Scalar {
    match v {
        ValueRef::Null => Scalar::Null,
        ValueRef::Integer(i) if kind == ValueKind::Bool => Scalar::Bool(i != 0),
        ValueRef::Integer(i) => Scalar::Int(i),
        ValueRef::Real(f) => Scalar::Float(f),
        ValueRef::Text(t) | ValueRef::Blob(t) => Scalar::Str(String::from_utf8_lossy(t).into_owned()),
    }
}

/// Runs a list query. The page and the count read one snapshot (one read transaction).
///
/// The page is read in two steps: the ids and sort keys of the page (an index alone can
/// answer that, however many candidates the sort sees), then the documents of those ids only.
/// Selecting the documents in the first statement made SQLite read and carry every candidate's
/// document through the sort: thousands for a broad `startswith` at 100k users (issue 8).
pub(crate) fn list(conn: &mut Connection, tenant: Uuid, q: &ListQuery) -> StoreResult<Page> {
    let c = compile::compile_list(&compile::Sqlite, tenant, q)?;
    let tx = conn.transaction().ctx("begin read")?;
    let top = q.top.max(1);

    let mut page: Vec<(String, Vec<Scalar>)> = Vec::new();
    {
        let mut st = tx.prepare_cached(&c.ids_sql).ctx("prepare list")?;
        let mut rows = st.query(params_from_iter(c.params.iter())).ctx("run list")?;
        while let Some(r) = rows.next().ctx("read list")? {
            let id: String = r.get(0).ctx("read id")?;
            let mut keys = Vec::with_capacity(c.key_kinds.len());
            for (i, kind) in c.key_kinds.iter().enumerate() {
                keys.push(scalar_of(*kind, r.get_ref(1 + i).ctx("read sort key")?));
            }
            page.push((id, keys));
        }
    }
    let more = page.len() > top;
    page.truncate(top);

    let mut docs: HashMap<String, (String, i64, String, Option<String>)> = HashMap::with_capacity(page.len());
    if !page.is_empty() {
        // One primary-key lookup per id of the page (at most `top`): `id IN (SELECT value FROM
        // json_each(?))` made SQLite scan the tenant's objects (~30 ms at 100k) for every list.
        let mut st = tx
            .prepare_cached(
                "SELECT object_type, version, doc, deleted_at FROM objects WHERE tenant_id = ?1 AND id = ?2",
            )
            .ctx("prepare page documents")?;
        let tenant_text = tenant.to_string();
        for (id, _) in &page {
            let row = st
                .query_row(params![tenant_text, id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                .optional()
                .ctx("read page documents")?;
            if let Some(row) = row {
                docs.insert(id.clone(), row);
            }
        }
    }

    let mut items = Vec::with_capacity(page.len());
    let mut next = None;
    let last = page.len();
    for (i, (id_text, keys)) in page.into_iter().enumerate() {
        let id = parse_id(&id_text)?;
        // Same read transaction: a row the first statement saw is still there.
        let Some((object_type, version, doc, deleted_at)) = docs.remove(&id_text) else {
            return Err(StoreError::Backend(format!("object {id} vanished inside a read transaction")));
        };
        if more && i + 1 == last {
            next = Some(Cursor { values: keys, id });
        }
        items.push(ObjectRecord { id, object_type, version, doc: parse_doc(id, &doc)?, deleted_at });
    }

    let count = match &c.count {
        Some((sql, params)) => {
            let n: i64 = tx
                .prepare_cached(sql)
                .ctx("prepare count")?
                .query_row(params_from_iter(params.iter()), |r| r.get(0))
                .ctx("run count")?;
            Some(u64::try_from(n).unwrap_or(0))
        }
        None => None,
    };
    tx.finish().ctx("end read")?;
    Ok(Page { items, next, count })
}

pub(crate) fn explain_list(conn: &mut Connection, tenant: Uuid, q: &ListQuery) -> StoreResult<Vec<String>> {
    let c = compile::compile_list(&compile::Sqlite, tenant, q)?;
    let mut out = Vec::new();
    for (sql, params) in std::iter::once((&c.ids_sql, &c.params)).chain(c.count.as_ref().map(|(s, p)| (s, p))) {
        let mut st = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).ctx("prepare explain")?;
        let rows = st.query_map(params_from_iter(params.iter()), |r| r.get::<_, String>(3)).ctx("explain")?;
        for row in rows {
            out.push(row.ctx("explain")?);
        }
    }
    Ok(out)
}

// ---- edges ----

/// An edge is visible only while both of its ends are live.
pub(crate) fn has_edge(
    conn: &Connection,
    tenant: Uuid,
    kind: EdgeKind,
    source: Uuid,
    target: Uuid,
) -> StoreResult<bool> {
    conn.prepare_cached(
        "SELECT 1 FROM edges e \
         JOIN objects s ON s.tenant_id = e.tenant_id AND s.id = e.source_id \
         JOIN objects t ON t.tenant_id = e.tenant_id AND t.id = e.target_id \
         WHERE e.tenant_id = ?1 AND e.kind = ?2 AND e.source_id = ?3 AND e.target_id = ?4 \
         AND s.deleted_at IS NULL AND t.deleted_at IS NULL",
    )
    .ctx("prepare has_edge")?
    .query_row(params![tenant.to_string(), kind.as_str(), source.to_string(), target.to_string()], |_| Ok(()))
    .optional()
    .ctx("has_edge")
    .map(|r| r.is_some())
}

/// The live other ends of `id`'s edges of `kind`, in id order.
/// Soft-deleted objects deleted before `before`, oldest first, at most `limit`.
pub(crate) fn deleted_before(conn: &Connection, tenant: Uuid, before: &str, limit: usize) -> StoreResult<Vec<Uuid>> {
    let mut st = conn
        .prepare_cached(
            "SELECT id FROM objects WHERE tenant_id = ?1 AND deleted_at IS NOT NULL AND deleted_at < ?2 \
             ORDER BY deleted_at, id LIMIT ?3",
        )
        .ctx("prepare deleted_before")?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows =
        st.query_map(params![tenant.to_string(), before, limit], |r| r.get::<_, String>(0)).ctx("deleted_before")?;
    let mut out = Vec::new();
    for row in rows {
        out.push(parse_id(&row.ctx("deleted_before")?)?);
    }
    Ok(out)
}

pub(crate) fn edge_ids(
    conn: &Connection,
    tenant: Uuid,
    kind: EdgeKind,
    id: Uuid,
    reverse: bool,
) -> StoreResult<Vec<Uuid>> {
    let sql = if reverse {
        "SELECT e.source_id FROM edges e JOIN objects o ON o.tenant_id = e.tenant_id AND o.id = e.source_id \
         WHERE e.tenant_id = ?1 AND e.kind = ?2 AND e.target_id = ?3 AND o.deleted_at IS NULL ORDER BY e.source_id"
    } else {
        "SELECT e.target_id FROM edges e JOIN objects o ON o.tenant_id = e.tenant_id AND o.id = e.target_id \
         WHERE e.tenant_id = ?1 AND e.kind = ?2 AND e.source_id = ?3 AND o.deleted_at IS NULL ORDER BY e.target_id"
    };
    let mut st = conn.prepare_cached(sql).ctx("prepare edge_ids")?;
    let rows = st
        .query_map(params![tenant.to_string(), kind.as_str(), id.to_string()], |r| r.get::<_, String>(0))
        .ctx("edge_ids")?;
    let mut out = Vec::new();
    for row in rows {
        out.push(parse_id(&row.ctx("edge_ids")?)?);
    }
    Ok(out)
}

/// Every `kind` edge of the tenant with both ends live, with the ends' types. One scan of the
/// edge primary key from (tenant, kind), joined to the objects by primary key.
pub(crate) fn edges_of_kind(conn: &Connection, tenant: Uuid, kind: EdgeKind) -> StoreResult<Vec<crate::EdgeRecord>> {
    let mut st = conn
        .prepare_cached(
            "SELECT e.source_id, s.object_type, e.target_id, t.object_type FROM edges e \
             JOIN objects s ON s.tenant_id = e.tenant_id AND s.id = e.source_id \
             JOIN objects t ON t.tenant_id = e.tenant_id AND t.id = e.target_id \
             WHERE e.tenant_id = ?1 AND e.kind = ?2 AND s.deleted_at IS NULL AND t.deleted_at IS NULL",
        )
        .ctx("prepare edges_of_kind")?;
    let rows = st
        .query_map(params![tenant.to_string(), kind.as_str()], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?))
        })
        .ctx("edges_of_kind")?;
    let mut out = Vec::new();
    for row in rows {
        let (source, source_type, target, target_type) = row.ctx("edges_of_kind")?;
        out.push(crate::EdgeRecord {
            source: parse_id(&source)?,
            source_type,
            target: parse_id(&target)?,
            target_type,
        });
    }
    Ok(out)
}

// ---- secrets and keys ----

pub(crate) fn secrets(conn: &Connection, tenant: Uuid, owner: Uuid) -> StoreResult<Vec<SecretRecord>> {
    let mut st = conn
        .prepare_cached(
            "SELECT key_id, kind, hash, meta FROM secrets WHERE tenant_id = ?1 AND owner_id = ?2 ORDER BY rowid",
        )
        .ctx("prepare secrets")?;
    let rows = st
        .query_map(params![tenant.to_string(), owner.to_string()], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?))
        })
        .ctx("secrets")?;
    let mut out = Vec::new();
    for row in rows {
        let (key_id, kind, hash, meta) = row.ctx("secrets")?;
        let meta = parse_json("secret meta", &meta)?;
        out.push(SecretRecord { owner, kind, key_id: parse_id(&key_id)?, hash, meta });
    }
    Ok(out)
}

pub(crate) fn signing_keys(conn: &Connection, tenant: Uuid) -> StoreResult<Vec<SigningKeyRecord>> {
    let mut st = conn
        .prepare_cached(
            "SELECT kid, private_pkcs8, created_at, status, retired_at FROM signing_keys WHERE tenant_id = ?1 \
             ORDER BY created_at, kid",
        )
        .ctx("prepare signing_keys")?;
    let rows = st
        .query_map([tenant.to_string()], |r| {
            Ok(SigningKeyRecord {
                kid: r.get(0)?,
                private_pkcs8: r.get(1)?,
                created_at: r.get(2)?,
                status: r.get(3)?,
                retired_at: r.get(4)?,
            })
        })
        .ctx("signing_keys")?;
    rows.collect::<rusqlite::Result<Vec<_>>>().ctx("signing_keys")
}

// ---- logs ----

pub(crate) fn changes_since(
    conn: &Connection,
    tenant: Uuid,
    after: u64,
    limit: usize,
) -> StoreResult<Vec<ChangeLogEntry>> {
    let after = i64::try_from(after).unwrap_or(i64::MAX);
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut st = conn
        .prepare_cached(
            "SELECT seq, object_id, object_type, kind, detail, at FROM changes \
             WHERE tenant_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
        )
        .ctx("prepare changes")?;
    let rows = st
        .query_map(params![tenant.to_string(), after, limit], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
            ))
        })
        .ctx("changes")?;
    let mut out = Vec::new();
    for row in rows {
        let (seq, object_id, object_type, kind, detail, at) = row.ctx("changes")?;
        out.push(ChangeLogEntry {
            seq: u64::try_from(seq).map_err(|_| StoreError::Invalid(format!("change seq {seq}")))?,
            object_id: parse_id(&object_id)?,
            object_type,
            kind,
            detail: parse_json("change detail", &detail)?,
            at,
        });
    }
    Ok(out)
}

/// The tenant row's sequence and retention watermark.
pub(crate) fn change_log_bounds(conn: &Connection, tenant: Uuid) -> StoreResult<crate::ChangeLogBounds> {
    let row: Option<(i64, i64)> = conn
        .prepare_cached("SELECT last_seq, pruned_seq FROM tenants WHERE id = ?1")
        .ctx("prepare bounds")?
        .query_row([tenant.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()
        .ctx("read bounds")?;
    let (last, pruned) = row.ok_or_else(|| StoreError::NotFound(format!("tenant {tenant}")))?;
    let seq = |v: i64| u64::try_from(v).map_err(|_| StoreError::Invalid(format!("sequence {v}")));
    Ok(crate::ChangeLogBounds { pruned_through: seq(pruned)?, last: seq(last)? })
}

/// Entries of some object types after `after`: one range scan of `changes_by_type` per type,
/// merged in sequence order, so no entry of another type is read.
pub(crate) fn changes_of_types(
    conn: &Connection,
    tenant: Uuid,
    types: &[String],
    after: u64,
    limit: usize,
) -> StoreResult<Vec<ChangeLogEntry>> {
    let after = i64::try_from(after).unwrap_or(i64::MAX);
    let lim = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut out = Vec::new();
    for ty in types {
        let mut st = conn
            .prepare_cached(
                "SELECT seq, object_id, object_type, kind, detail, at FROM changes \
                 WHERE tenant_id = ?1 AND object_type = ?2 AND seq > ?3 ORDER BY seq LIMIT ?4",
            )
            .ctx("prepare changes of type")?;
        let rows = st
            .query_map(params![tenant.to_string(), ty, after, lim], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                ))
            })
            .ctx("changes of type")?;
        for row in rows {
            let (seq, object_id, object_type, kind, detail, at) = row.ctx("changes of type")?;
            out.push(ChangeLogEntry {
                seq: u64::try_from(seq).map_err(|_| StoreError::Invalid(format!("change seq {seq}")))?,
                object_id: parse_id(&object_id)?,
                object_type,
                kind,
                detail: parse_json("change detail", &detail)?,
                at,
            });
        }
    }
    out.sort_by_key(|e| e.seq);
    out.truncate(limit);
    Ok(out)
}

pub(crate) fn audit_records(conn: &Connection, tenant: Uuid, limit: usize) -> StoreResult<Vec<AuditRecord>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut st = conn
        .prepare_cached("SELECT record FROM audit WHERE tenant_id = ?1 ORDER BY at DESC, rowid DESC LIMIT ?2")
        .ctx("prepare audit")?;
    let rows = st.query_map(params![tenant.to_string(), limit], |r| r.get::<_, String>(0)).ctx("audit")?;
    let mut out = Vec::new();
    for row in rows {
        let text = row.ctx("audit")?;
        out.push(serde_json::from_str(&text).map_err(|e| StoreError::Invalid(format!("audit record: {e}")))?);
    }
    Ok(out)
}
