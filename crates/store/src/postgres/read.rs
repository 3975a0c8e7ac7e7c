//! Reads: tenants, objects, list queries, edges, secrets, keys and logs.

use std::collections::HashMap;

use deadpool_postgres::GenericClient;
use serde_json::{Map, Value};
use tokio_postgres::IsolationLevel;
use tokio_postgres::Row;
use tokio_postgres::types::{FromSql, Json, Type};
use uuid::Uuid;

use super::dialect::Postgres;
use super::{Attempt, Client, WithContext, bind, refs};
use crate::sqlite::compile;
use crate::{
    AuditRecord, ChangeLogEntry, Cursor, DomainRecord, EdgeKind, ListQuery, ObjectRecord, Page, Revalidated, RowStamp,
    Scalar, SecretRecord, SigningKeyRecord, StoreError, StoreResult, TenantRecord,
};

/// Beyond this many cached statements a connection's cache is emptied. Fixed statements are
/// few; list queries are compiled from OData and their shapes are open-ended, so an unbounded
/// cache would grow with every distinct `$filter`. Dropping a statement closes it server-side.
const STATEMENT_CACHE_LIMIT: usize = 256;

/// Reads column `i`; a value of an unexpected type is stored data this build cannot read.
pub(crate) fn col<'a, T: FromSql<'a>>(row: &'a Row, i: usize, what: &str) -> StoreResult<T> {
    row.try_get(i).map_err(|e| StoreError::Invalid(format!("{what}: {e}")))
}

/// An object from the columns `object_type, version, doc, deleted_at` starting at `at`.
fn object(id: Uuid, row: &Row, at: usize) -> StoreResult<ObjectRecord> {
    let Json(doc): Json<Map<String, Value>> = col(row, at + 2, "document")?;
    Ok(ObjectRecord {
        id,
        object_type: col(row, at, "object type")?,
        version: col(row, at + 1, "version")?,
        doc,
        deleted_at: col(row, at + 3, "deleted_at")?,
    })
}

// ---- tenants ----

async fn domains(c: &Client, tenant: Uuid) -> Attempt<Vec<DomainRecord>> {
    let st = c
        .prepare_cached(
            "SELECT name, is_initial, is_default, is_verified, doc FROM domains WHERE tenant_id = $1 ORDER BY position",
        )
        .await
        .ctx("prepare domains")?;
    let rows = c.query(&st, &[&tenant]).await.ctx("read domains")?;
    Ok(rows.iter().map(domain).collect::<StoreResult<Vec<_>>>()?)
}

/// A domain from the columns `name, is_initial, is_default, is_verified, doc`.
fn domain(r: &Row) -> StoreResult<DomainRecord> {
    domain_at(r, 0)
}

/// A domain from the five domain columns starting at `at`.
fn domain_at(r: &Row, at: usize) -> StoreResult<DomainRecord> {
    let name: String = col(r, at, "domain name")?;
    let doc: String = col(r, at + 4, "domain doc")?;
    let doc = serde_json::from_str(&doc).map_err(|e| StoreError::Invalid(format!("document of domain {name}: {e}")))?;
    Ok(DomainRecord {
        name,
        is_initial: col(r, at + 1, "is_initial")?,
        is_default: col(r, at + 2, "is_default")?,
        is_verified: col(r, at + 3, "is_verified")?,
        doc,
    })
}

async fn tenant_row(c: &Client, row: Option<Row>) -> Attempt<Option<TenantRecord>> {
    let Some(row) = row else {
        return Ok(None);
    };
    let id: Uuid = col(&row, 0, "tenant id")?;
    let domains = domains(c, id).await?;
    Ok(Some(TenantRecord {
        id,
        display_name: col(&row, 1, "tenant name")?,
        domains,
        created_at: col(&row, 2, "tenant created_at")?,
    }))
}

pub(crate) async fn tenant(c: &Client, id: Uuid) -> Attempt<Option<TenantRecord>> {
    let st = c
        .prepare_cached("SELECT id, display_name, created_at FROM tenants WHERE id = $1")
        .await
        .ctx("prepare tenant")?;
    let row = c.query_opt(&st, &[&id]).await.ctx("read tenant")?;
    tenant_row(c, row).await
}

pub(crate) async fn tenant_by_domain(c: &Client, domain: &str) -> Attempt<Option<TenantRecord>> {
    let st = c
        .prepare_cached(
            "SELECT t.id, t.display_name, t.created_at FROM tenants t JOIN domains d ON d.tenant_id = t.id \
             WHERE d.name = $1 AND d.is_verified",
        )
        .await
        .ctx("prepare tenant_by_domain")?;
    // Only a verified domain names its tenant. Rust's Unicode lower-casing, as the SQLite
    // engine and `create_tenant` use.
    let row = c.query_opt(&st, &[&domain.to_lowercase()]).await.ctx("read tenant")?;
    tenant_row(c, row).await
}

/// Every tenant in creation order, with its domains: two statements in one snapshot.
pub(crate) async fn tenants(c: &mut Client) -> Attempt<Vec<TenantRecord>> {
    let tx = c
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .ctx("begin read")?;
    let st = tx.prepare_cached("SELECT id, display_name, created_at FROM tenants ORDER BY ord").await.ctx("prepare")?;
    let rows = tx.query(&st, &[]).await.ctx("read tenants")?;
    let st = tx
        .prepare_cached(
            "SELECT tenant_id, name, is_initial, is_default, is_verified, doc FROM domains \
             ORDER BY tenant_id, position",
        )
        .await
        .ctx("prepare all domains")?;
    let mut by_tenant: HashMap<Uuid, Vec<DomainRecord>> = HashMap::new();
    for r in tx.query(&st, &[]).await.ctx("read domains")? {
        let t: Uuid = col(&r, 0, "domain tenant")?;
        by_tenant.entry(t).or_default().push(domain_at(&r, 1)?);
    }
    tx.commit().await.ctx("end read")?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let id: Uuid = col(&row, 0, "tenant id")?;
        out.push(TenantRecord {
            id,
            display_name: col(&row, 1, "tenant name")?,
            domains: by_tenant.remove(&id).unwrap_or_default(),
            created_at: col(&row, 2, "tenant created_at")?,
        });
    }
    Ok(out)
}

pub(crate) async fn meta(c: &Client, key: &str) -> Attempt<Option<String>> {
    let st = c.prepare_cached("SELECT value FROM meta WHERE key = $1").await.ctx("prepare meta")?;
    let row = c.query_opt(&st, &[&key]).await.ctx("read meta")?;
    Ok(row.map(|r| col(&r, 0, "meta value")).transpose()?)
}

// ---- objects ----

/// The hot path: one cached statement, one primary-key lookup, one round trip.
pub(crate) async fn get(c: &Client, tenant: Uuid, id: Uuid) -> Attempt<Option<ObjectRecord>> {
    let st = c
        .prepare_cached("SELECT object_type, version, doc, deleted_at FROM objects WHERE tenant_id = $1 AND id = $2")
        .await
        .ctx("prepare get")?;
    let row = c.query_opt(&st, &[&tenant, &id]).await.ctx("get object")?;
    Ok(row.map(|r| object(id, &r, 0)).transpose()?)
}

/// [`get`] unless the row still has the stamp `known`: one cached statement, one round trip;
/// the document (decoded from `jsonb` on both ends otherwise) is sent only when it changed.
pub(crate) async fn get_unless(c: &Client, tenant: Uuid, id: Uuid, known: Option<&RowStamp>) -> Attempt<Revalidated> {
    let st = c
        .prepare_cached(
            "SELECT object_type, version, CASE WHEN version = $3 AND updated_at = $4 THEN NULL ELSE doc END, \
             deleted_at, updated_at FROM objects WHERE tenant_id = $1 AND id = $2",
        )
        .await
        .ctx("prepare get_unless")?;
    let (version, updated_at) = known.map_or((-1, ""), |k| (k.version, k.updated_at.as_str()));
    let Some(row) = c.query_opt(&st, &[&tenant, &id, &version, &updated_at]).await.ctx("get object unless")? else {
        return Ok(Revalidated::Missing);
    };
    let doc: Option<Json<Map<String, Value>>> = col(&row, 2, "document")?;
    let Some(Json(doc)) = doc else {
        return Ok(Revalidated::Unchanged);
    };
    let record = ObjectRecord {
        id,
        object_type: col(&row, 0, "object type")?,
        version: col(&row, 1, "version")?,
        doc,
        deleted_at: col(&row, 3, "deleted_at")?,
    };
    let stamp = RowStamp { version: record.version, updated_at: col(&row, 4, "updated_at")? };
    Ok(Revalidated::Changed(record, Some(stamp)))
}

/// One statement for all ids; the order (and any repetition) of `ids` is restored in memory.
pub(crate) async fn get_many(c: &Client, tenant: Uuid, ids: &[Uuid]) -> Attempt<Vec<ObjectRecord>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let st = c
        .prepare_cached(
            "SELECT id, object_type, version, doc, deleted_at FROM objects WHERE tenant_id = $1 AND id = ANY($2)",
        )
        .await
        .ctx("prepare get_many")?;
    let rows = c.query(&st, &[&tenant, &ids]).await.ctx("get objects")?;
    let mut found = HashMap::with_capacity(rows.len());
    for r in &rows {
        let id: Uuid = col(r, 0, "object id")?;
        found.insert(id, object(id, r, 1)?);
    }
    Ok(ids.iter().filter_map(|id| found.get(id).cloned()).collect())
}

pub(crate) async fn find_unique(c: &Client, tenant: Uuid, namespace: &str, key: &str) -> Attempt<Option<Uuid>> {
    let st = c
        .prepare_cached("SELECT object_id FROM claims WHERE tenant_id = $1 AND namespace = $2 AND key = $3")
        .await
        .ctx("prepare find_unique")?;
    let row = c.query_opt(&st, &[&tenant, &namespace, &key]).await.ctx("find_unique")?;
    Ok(row.map(|r| col(&r, 0, "claim holder")).transpose()?)
}

/// A sort-key value as the cursor carries it. Integral numbers come back as `Int`, as SQLite
/// returns them, so cursors look the same whichever engine made them.
fn scalar_of(row: &Row, i: usize) -> StoreResult<Scalar> {
    let ty = row.columns().get(i).map(|c| c.type_().clone()).unwrap_or(Type::TEXT);
    Ok(match ty {
        Type::FLOAT8 => match col::<Option<f64>>(row, i, "sort key")? {
            None => Scalar::Null,
            Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Scalar::Int(f as i64),
            Some(f) => Scalar::Float(f),
        },
        Type::BOOL => col::<Option<bool>>(row, i, "sort key")?.map_or(Scalar::Null, Scalar::Bool),
        Type::UUID => col::<Option<Uuid>>(row, i, "sort key")?.map_or(Scalar::Null, |u| Scalar::Str(u.to_string())),
        Type::INT8 => col::<Option<i64>>(row, i, "sort key")?.map_or(Scalar::Null, Scalar::Int),
        _ => col::<Option<String>>(row, i, "sort key")?.map_or(Scalar::Null, Scalar::Str),
    })
}

/// Runs a list query as one statement ([`compile::compile_list_single`]): the page's ids from
/// the index, the documents of the page only, and the count in the same snapshot.
pub(crate) async fn list(c: &mut Client, tenant: Uuid, q: &ListQuery) -> Attempt<Page> {
    let compiled = compile::compile_list_single(&Postgres, tenant, q)?;
    if c.statement_cache.size() > STATEMENT_CACHE_LIMIT {
        c.statement_cache.clear();
    }
    let top = q.top.max(1);
    let st = c.prepare_cached(&compiled.sql).await.ctx("prepare list")?;
    let values = bind(&compiled.params, st.params())?;
    let rows = c.query(&st, &refs(&values)).await.ctx("run list")?;
    let keys_at = 5;
    let count = if compiled.counted {
        let at = keys_at + compiled.key_kinds.len();
        let row = rows.first().ok_or_else(|| StoreError::Backend("the counted list returned no row".into()))?;
        let n: i64 = col(row, at, "count")?;
        Some(u64::try_from(n).unwrap_or(0))
    } else {
        None
    };
    let mut page = Vec::with_capacity(rows.len().min(top + 1));
    for r in &rows {
        // With a count, an empty page is one row without an object.
        if let Some(id) = col::<Option<Uuid>>(r, 0, "object id")? {
            page.push((id, r));
        }
    }
    let more = page.len() > top;
    page.truncate(top);
    let last = page.len();
    let mut items = Vec::with_capacity(last);
    let mut next = None;
    for (i, (id, r)) in page.into_iter().enumerate() {
        if more && i + 1 == last {
            let keys =
                (0..compiled.key_kinds.len()).map(|k| scalar_of(r, keys_at + k)).collect::<StoreResult<Vec<_>>>()?;
            next = Some(Cursor { values: keys, id });
        }
        items.push(object(id, r, 1)?);
    }
    Ok(Page { items, next, count })
}

pub(crate) async fn explain_list(c: &Client, tenant: Uuid, q: &ListQuery) -> Attempt<Vec<String>> {
    let compiled = compile::compile_list_single(&Postgres, tenant, q)?;
    let st = c.prepare(&format!("EXPLAIN {}", compiled.sql)).await.ctx("prepare explain")?;
    let values = bind(&compiled.params, st.params())?;
    let mut out = Vec::new();
    for row in c.query(&st, &refs(&values)).await.ctx("explain")? {
        out.push(col(&row, 0, "plan line")?);
    }
    Ok(out)
}

// ---- edges ----

/// An edge is visible only while both of its ends are live.
pub(crate) async fn has_edge(c: &Client, tenant: Uuid, kind: EdgeKind, source: Uuid, target: Uuid) -> Attempt<bool> {
    let st = c
        .prepare_cached(
            "SELECT 1 FROM edges e \
             JOIN objects s ON s.tenant_id = e.tenant_id AND s.id = e.source_id \
             JOIN objects t ON t.tenant_id = e.tenant_id AND t.id = e.target_id \
             WHERE e.tenant_id = $1 AND e.kind = $2 AND e.source_id = $3 AND e.target_id = $4 \
             AND s.deleted_at IS NULL AND t.deleted_at IS NULL",
        )
        .await
        .ctx("prepare has_edge")?;
    let row = c.query_opt(&st, &[&tenant, &kind.as_str(), &source, &target]).await.ctx("has_edge")?;
    Ok(row.is_some())
}

/// The live other ends of `id`'s edges of `kind`, in id order.
/// Soft-deleted objects deleted before `before`, oldest first, at most `limit`.
pub(crate) async fn deleted_before(c: &Client, tenant: Uuid, before: &str, limit: usize) -> Attempt<Vec<Uuid>> {
    let st = c
        .prepare_cached(
            "SELECT id FROM objects WHERE tenant_id = $1 AND deleted_at IS NOT NULL AND deleted_at < $2 \
             ORDER BY deleted_at, id LIMIT $3",
        )
        .await
        .ctx("prepare deleted_before")?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = c.query(&st, &[&tenant, &before, &limit]).await.ctx("deleted_before")?;
    Ok(rows.iter().map(|r| col(r, 0, "deleted object")).collect::<StoreResult<Vec<_>>>()?)
}

pub(crate) async fn edge_ids(c: &Client, tenant: Uuid, kind: EdgeKind, id: Uuid, reverse: bool) -> Attempt<Vec<Uuid>> {
    let sql = if reverse {
        "SELECT e.source_id FROM edges e JOIN objects o ON o.tenant_id = e.tenant_id AND o.id = e.source_id \
         WHERE e.tenant_id = $1 AND e.kind = $2 AND e.target_id = $3 AND o.deleted_at IS NULL ORDER BY e.source_id"
    } else {
        "SELECT e.target_id FROM edges e JOIN objects o ON o.tenant_id = e.tenant_id AND o.id = e.target_id \
         WHERE e.tenant_id = $1 AND e.kind = $2 AND e.source_id = $3 AND o.deleted_at IS NULL ORDER BY e.target_id"
    };
    let st = c.prepare_cached(sql).await.ctx("prepare edge_ids")?;
    let rows = c.query(&st, &[&tenant, &kind.as_str(), &id]).await.ctx("edge_ids")?;
    Ok(rows.iter().map(|r| col(r, 0, "edge end")).collect::<StoreResult<Vec<_>>>()?)
}

/// Every `kind` edge of the tenant with both ends live, with the ends' types.
pub(crate) async fn edges_of_kind(c: &Client, tenant: Uuid, kind: EdgeKind) -> Attempt<Vec<crate::EdgeRecord>> {
    let st = c
        .prepare_cached(
            "SELECT e.source_id, s.object_type, e.target_id, t.object_type FROM edges e \
             JOIN objects s ON s.tenant_id = e.tenant_id AND s.id = e.source_id \
             JOIN objects t ON t.tenant_id = e.tenant_id AND t.id = e.target_id \
             WHERE e.tenant_id = $1 AND e.kind = $2 AND s.deleted_at IS NULL AND t.deleted_at IS NULL",
        )
        .await
        .ctx("prepare edges_of_kind")?;
    let rows = c.query(&st, &[&tenant, &kind.as_str()]).await.ctx("edges_of_kind")?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        out.push(crate::EdgeRecord {
            source: col(r, 0, "edge source")?,
            source_type: col(r, 1, "edge source type")?,
            target: col(r, 2, "edge target")?,
            target_type: col(r, 3, "edge target type")?,
        });
    }
    Ok(out)
}

// ---- secrets and keys ----

pub(crate) async fn secrets(c: &Client, tenant: Uuid, owner: Uuid) -> Attempt<Vec<SecretRecord>> {
    let st = c
        .prepare_cached(
            "SELECT key_id, kind, hash, meta FROM secrets WHERE tenant_id = $1 AND owner_id = $2 ORDER BY ord",
        )
        .await
        .ctx("prepare secrets")?;
    let rows = c.query(&st, &[&tenant, &owner]).await.ctx("secrets")?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let Json(meta): Json<Value> = col(r, 3, "secret meta")?;
        out.push(SecretRecord {
            owner,
            kind: col(r, 1, "secret kind")?,
            key_id: col(r, 0, "secret key id")?,
            hash: col(r, 2, "secret hash")?,
            meta,
        });
    }
    Ok(out)
}

pub(crate) async fn signing_keys(c: &Client, tenant: Uuid) -> Attempt<Vec<SigningKeyRecord>> {
    let st = c
        .prepare_cached(
            "SELECT kid, private_pkcs8, created_at, status, retired_at FROM signing_keys WHERE tenant_id = $1 \
             ORDER BY created_at, kid",
        )
        .await
        .ctx("prepare signing_keys")?;
    let rows = c.query(&st, &[&tenant]).await.ctx("signing_keys")?;
    let keys = rows.iter().map(|r| {
        Ok(SigningKeyRecord {
            kid: col(r, 0, "kid")?,
            private_pkcs8: col(r, 1, "private key")?,
            created_at: col(r, 2, "key created_at")?,
            status: col(r, 3, "key status")?,
            retired_at: col(r, 4, "key retired_at")?,
        })
    });
    Ok(keys.collect::<StoreResult<Vec<_>>>()?)
}

// ---- logs ----

pub(crate) async fn changes_since(c: &Client, tenant: Uuid, after: u64, limit: usize) -> Attempt<Vec<ChangeLogEntry>> {
    let after = i64::try_from(after).unwrap_or(i64::MAX);
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let st = c
        .prepare_cached(
            "SELECT seq, object_id, object_type, kind, detail, at FROM changes \
             WHERE tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        )
        .await
        .ctx("prepare changes")?;
    let rows = c.query(&st, &[&tenant, &after, &limit]).await.ctx("changes")?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let seq: i64 = col(r, 0, "change seq")?;
        let Json(detail): Json<Value> = col(r, 4, "change detail")?;
        out.push(ChangeLogEntry {
            seq: u64::try_from(seq).map_err(|_| StoreError::Invalid(format!("change seq {seq}")))?,
            object_id: col(r, 1, "change object")?,
            object_type: col(r, 2, "change object type")?,
            kind: col(r, 3, "change kind")?,
            detail,
            at: col(r, 5, "change time")?,
        });
    }
    Ok(out)
}

/// The tenant row's sequence and retention watermark.
pub(crate) async fn change_log_bounds(c: &Client, tenant: Uuid) -> Attempt<crate::ChangeLogBounds> {
    let st = c.prepare_cached("SELECT last_seq, pruned_seq FROM tenants WHERE id = $1").await.ctx("prepare bounds")?;
    let row = c.query_opt(&st, &[&tenant]).await.ctx("read bounds")?;
    let row = row.ok_or_else(|| StoreError::NotFound(format!("tenant {tenant}")))?;
    let seq = |v: i64| u64::try_from(v).map_err(|_| StoreError::Invalid(format!("sequence {v}")));
    Ok(crate::ChangeLogBounds {
        pruned_through: seq(col(&row, 1, "pruned_seq")?)?,
        last: seq(col(&row, 0, "last_seq")?)?,
    })
}

/// Entries of some object types after `after`, in sequence order, from `changes_by_type`
/// (`object_type = ANY($2)` scans one index range per type).
pub(crate) async fn changes_of_types(
    c: &Client,
    tenant: Uuid,
    types: &[String],
    after: u64,
    limit: usize,
) -> Attempt<Vec<ChangeLogEntry>> {
    let after = i64::try_from(after).unwrap_or(i64::MAX);
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let st = c
        .prepare_cached(
            "SELECT seq, object_id, object_type, kind, detail, at FROM changes \
             WHERE tenant_id = $1 AND object_type = ANY($2) AND seq > $3 ORDER BY seq LIMIT $4",
        )
        .await
        .ctx("prepare changes of type")?;
    let rows = c.query(&st, &[&tenant, &types, &after, &limit]).await.ctx("changes of type")?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let seq: i64 = col(r, 0, "change seq")?;
        let Json(detail): Json<Value> = col(r, 4, "change detail")?;
        out.push(ChangeLogEntry {
            seq: u64::try_from(seq).map_err(|_| StoreError::Invalid(format!("change seq {seq}")))?,
            object_id: col(r, 1, "change object")?,
            object_type: col(r, 2, "change object type")?,
            kind: col(r, 3, "change kind")?,
            detail,
            at: col(r, 5, "change time")?,
        });
    }
    Ok(out)
}

pub(crate) async fn audit_records(c: &Client, tenant: Uuid, limit: usize) -> Attempt<Vec<AuditRecord>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let st = c
        .prepare_cached("SELECT record FROM audit WHERE tenant_id = $1 ORDER BY at DESC, ord DESC LIMIT $2")
        .await
        .ctx("prepare audit")?;
    let rows = c.query(&st, &[&tenant, &limit]).await.ctx("audit")?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let Json(record): Json<AuditRecord> = col(r, 0, "audit record")?;
        out.push(record);
    }
    Ok(out)
}
