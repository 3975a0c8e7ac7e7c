//! The audit and sign-in logs on SQLite: pages newest first by (time, rowid), single sign-in
//! inserts, and retention in bounded batches.

use rusqlite::{Connection, OptionalExtension, params, params_from_iter};
use serde::de::DeserializeOwned;
use uuid::Uuid;

use super::WithContext;
use crate::logs::{self, LogDialect, LogParam, LogTable};
use crate::{AuditRecord, LogCursor, LogQuery, RiskRecord, RiskTable, SignInRecord, StoreError, StoreResult};

struct Sqlite;

impl LogDialect for Sqlite {
    fn placeholder(&self, n: usize) -> String {
        format!("?{n}")
    }
    fn uuid_placeholder(&self, n: usize) -> String {
        format!("?{n}")
    }
    fn ord(&self) -> &'static str {
        "rowid"
    }
}

fn page<T: DeserializeOwned>(
    conn: &Connection,
    table: LogTable,
    tenant: Uuid,
    query: &LogQuery,
) -> StoreResult<Vec<(LogCursor, T)>> {
    page_with(conn, table, tenant, query, |text| {
        serde_json::from_str(text).map_err(|e| StoreError::Invalid(format!("log record: {e}")))
    })
}

/// A page of `table`, each record's stored text parsed by `parse`.
fn page_with<T>(
    conn: &Connection,
    table: LogTable,
    tenant: Uuid,
    query: &LogQuery,
    parse: impl Fn(&str) -> StoreResult<T>,
) -> StoreResult<Vec<(LogCursor, T)>> {
    let Some((sql, params)) = logs::select(&Sqlite, table, query)? else {
        return Ok(Vec::new());
    };
    let mut values: Vec<rusqlite::types::Value> = vec![tenant.to_string().into()];
    values.extend(params.into_iter().map(|p| match p {
        LogParam::Text(t) => rusqlite::types::Value::from(t),
        LogParam::Int(i) => rusqlite::types::Value::from(i),
    }));
    let mut st = conn.prepare_cached(&sql).ctx("prepare log page")?;
    let rows = st
        .query_map(params_from_iter(values), |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
        })
        .ctx("log page")?;
    let mut out = Vec::new();
    for row in rows {
        let (ord, at, text) = row.ctx("log row")?;
        out.push((LogCursor { at, ord }, parse(&text)?));
    }
    Ok(out)
}

pub(crate) fn audit_page(conn: &Connection, tenant: Uuid, q: &LogQuery) -> StoreResult<Vec<(LogCursor, AuditRecord)>> {
    page(conn, LogTable::Audit, tenant, q)
}

pub(crate) fn sign_in_page(
    conn: &Connection,
    tenant: Uuid,
    q: &LogQuery,
) -> StoreResult<Vec<(LogCursor, SignInRecord)>> {
    page(conn, LogTable::SignIns, tenant, q)
}

/// [`sign_in_page`] keeping only the `keep` properties of each record's `doc`.
pub(crate) fn sign_in_page_projected(
    conn: &Connection,
    tenant: Uuid,
    q: &LogQuery,
    keep: &[&str],
) -> StoreResult<Vec<(LogCursor, SignInRecord)>> {
    page_with(conn, LogTable::SignIns, tenant, q, |text| logs::parse_sign_in_projected(text, keep))
}

fn one<T: DeserializeOwned>(conn: &Connection, table: LogTable, tenant: Uuid, id: Uuid) -> StoreResult<Option<T>> {
    let sql = format!("SELECT record FROM {} WHERE tenant_id = ?1 AND id = ?2", table.name());
    let text: Option<String> = conn
        .prepare_cached(&sql)
        .ctx("prepare log record")?
        .query_row(params![tenant.to_string(), id.to_string()], |r| r.get(0))
        .optional()
        .ctx("log record")?;
    text.map(|t| serde_json::from_str(&t).map_err(|e| StoreError::Invalid(format!("log record: {e}")))).transpose()
}

pub(crate) fn audit_record(conn: &Connection, tenant: Uuid, id: Uuid) -> StoreResult<Option<AuditRecord>> {
    one(conn, LogTable::Audit, tenant, id)
}

pub(crate) fn sign_in(conn: &Connection, tenant: Uuid, id: Uuid) -> StoreResult<Option<SignInRecord>> {
    one(conn, LogTable::SignIns, tenant, id)
}

pub(crate) fn put_sign_in(conn: &Connection, tenant: Uuid, s: &SignInRecord) -> StoreResult<()> {
    let record = serde_json::to_string(s).map_err(|e| StoreError::Invalid(format!("sign-in record: {e}")))?;
    conn.prepare_cached(
        "INSERT INTO sign_ins (tenant_id, id, at, user_id, upn, app_id, ip_address, error_code, event_type, \
         correlation_id, record) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )
    .ctx("prepare sign-in")?
    .execute(params![
        tenant.to_string(),
        s.id.to_string(),
        s.at,
        s.user_id.map(|u| u.to_string()),
        s.user_principal_name.as_deref().map(str::to_lowercase),
        s.app_id,
        s.ip_address,
        s.error_code.to_string(),
        s.event_type,
        s.correlation_id,
        record
    ])
    .ctx("write sign-in")?;
    Ok(())
}

/// Several sign-ins in one transaction: one commit (and one write of each index page they
/// share) instead of one per row.
pub(crate) fn put_sign_ins(conn: &mut Connection, rows: &[(Uuid, SignInRecord)]) -> StoreResult<()> {
    let tx = conn.transaction().ctx("begin sign-ins")?;
    for (tenant, record) in rows {
        put_sign_in(&tx, *tenant, record)?;
    }
    tx.commit().ctx("commit sign-ins")
}

/// Deletes the oldest entries of each log before `before`, at most `limit` per log, each in
/// its own statement (a short write lock).
pub(crate) fn prune(conn: &Connection, tenant: Uuid, before: &str, limit: usize) -> StoreResult<usize> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut total = 0;
    for table in [LogTable::Audit, LogTable::SignIns] {
        let sql = format!(
            "DELETE FROM {t} WHERE rowid IN (SELECT rowid FROM {t} WHERE tenant_id = ?1 AND at < ?2 ORDER BY at LIMIT ?3)",
            t = table.name()
        );
        total += conn
            .prepare_cached(&sql)
            .ctx("prepare log prune")?
            .execute(params![tenant.to_string(), before, limit])
            .ctx("prune log")?;
    }
    Ok(total)
}

pub(crate) fn risk_page(
    conn: &Connection,
    tenant: Uuid,
    table: RiskTable,
    q: &LogQuery,
) -> StoreResult<Vec<(LogCursor, RiskRecord)>> {
    page(conn, LogTable::Risk(table), tenant, q)
}

pub(crate) fn risk_record(
    conn: &Connection,
    tenant: Uuid,
    table: RiskTable,
    id: Uuid,
) -> StoreResult<Option<RiskRecord>> {
    one(conn, LogTable::Risk(table), tenant, id)
}

/// Writes the records, each replacing the row of the same id (its insertion order is kept).
pub(crate) fn put_risk_records(
    conn: &Connection,
    tenant: Uuid,
    table: RiskTable,
    records: &[RiskRecord],
) -> StoreResult<()> {
    let (subject, name) = LogTable::Risk(table).subject_columns();
    let sql = format!(
        "INSERT INTO {t} (tenant_id, id, at, {subject}, {name}, risk_event_type, risk_level, risk_state, ip_address, \
         correlation_id, record) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) \
         ON CONFLICT (tenant_id, id) DO UPDATE SET at = excluded.at, {name} = excluded.{name}, \
         risk_event_type = excluded.risk_event_type, risk_level = excluded.risk_level, \
         risk_state = excluded.risk_state, ip_address = excluded.ip_address, \
         correlation_id = excluded.correlation_id, record = excluded.record",
        t = LogTable::Risk(table).name()
    );
    let mut st = conn.prepare_cached(&sql).ctx("prepare risk record")?;
    for r in records {
        let record = serde_json::to_string(r).map_err(|e| StoreError::Invalid(format!("risk record: {e}")))?;
        st.execute(params![
            tenant.to_string(),
            r.id.to_string(),
            r.at,
            r.user_id.to_string(),
            r.user_principal_name.as_deref().map(str::to_lowercase),
            r.risk_event_type,
            r.risk_level,
            r.risk_state,
            r.ip_address,
            r.correlation_id,
            record
        ])
        .ctx("write risk record")?;
    }
    Ok(())
}
