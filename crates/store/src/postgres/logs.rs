//! The audit and sign-in logs on PostgreSQL, as on SQLite: pages newest first by (time, `ord`),
//! single sign-in inserts, retention in bounded batches.

use deadpool_postgres::GenericClient;
use serde::de::DeserializeOwned;
use tokio_postgres::types::{Json, ToSql};
use uuid::Uuid;

use super::read::col;
use super::{Attempt, Client, WithContext};
use crate::logs::{self, LogDialect, LogParam, LogTable};
use crate::{AuditRecord, LogCursor, LogQuery, RiskRecord, RiskTable, SignInRecord};

struct Pg;

impl LogDialect for Pg {
    fn placeholder(&self, n: usize) -> String {
        format!("${n}")
    }
    // The value is bound as text and cast by the server: the comparison stays on the uuid
    // column (index-usable) and the driver need not know the type.
    fn uuid_placeholder(&self, n: usize) -> String {
        format!("${n}::text::uuid")
    }
    fn ord(&self) -> &'static str {
        "ord"
    }
}

async fn page<T: DeserializeOwned>(
    c: &Client,
    table: LogTable,
    tenant: Uuid,
    query: &LogQuery,
) -> Attempt<Vec<(LogCursor, T)>> {
    let Some((sql, params)) = logs::select(&Pg, table, query)? else {
        return Ok(Vec::new());
    };
    let mut bound: Vec<Box<dyn ToSql + Sync + Send>> = vec![Box::new(tenant)];
    for p in params {
        bound.push(match p {
            LogParam::Text(t) => Box::new(t),
            LogParam::Int(i) => Box::new(i),
        });
    }
    let refs: Vec<&(dyn ToSql + Sync)> = bound.iter().map(|b| b.as_ref() as &(dyn ToSql + Sync)).collect();
    let st = c.prepare_cached(&sql).await.ctx("prepare log page")?;
    let rows = c.query(&st, &refs).await.ctx("log page")?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let Json(record): Json<T> = col(r, 2, "log record")?;
        out.push((LogCursor { at: col(r, 1, "log time")?, ord: col(r, 0, "log order")? }, record));
    }
    Ok(out)
}

pub(crate) async fn audit_page(c: &Client, tenant: Uuid, q: &LogQuery) -> Attempt<Vec<(LogCursor, AuditRecord)>> {
    page(c, LogTable::Audit, tenant, q).await
}

pub(crate) async fn sign_in_page(c: &Client, tenant: Uuid, q: &LogQuery) -> Attempt<Vec<(LogCursor, SignInRecord)>> {
    page(c, LogTable::SignIns, tenant, q).await
}

async fn one<T: DeserializeOwned>(c: &Client, table: LogTable, tenant: Uuid, id: Uuid) -> Attempt<Option<T>> {
    let sql = format!("SELECT record FROM {} WHERE tenant_id = $1 AND id = $2", table.name());
    let st = c.prepare_cached(&sql).await.ctx("prepare log record")?;
    let Some(row) = c.query_opt(&st, &[&tenant, &id]).await.ctx("log record")? else {
        return Ok(None);
    };
    let Json(record): Json<T> = col(&row, 0, "log record")?;
    Ok(Some(record))
}

pub(crate) async fn audit_record(c: &Client, tenant: Uuid, id: Uuid) -> Attempt<Option<AuditRecord>> {
    one(c, LogTable::Audit, tenant, id).await
}

pub(crate) async fn sign_in(c: &Client, tenant: Uuid, id: Uuid) -> Attempt<Option<SignInRecord>> {
    one(c, LogTable::SignIns, tenant, id).await
}

pub(crate) async fn put_sign_in<C: GenericClient>(c: &C, tenant: Uuid, s: &SignInRecord) -> Attempt<()> {
    let st = c
        .prepare_cached(
            "INSERT INTO sign_ins (tenant_id, id, at, user_id, upn, app_id, ip_address, error_code, event_type, \
             correlation_id, record) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .await
        .ctx("prepare sign-in")?;
    let upn = s.user_principal_name.as_deref().map(str::to_lowercase);
    let code = s.error_code.to_string();
    c.execute(
        &st,
        &[
            &tenant,
            &s.id,
            &s.at,
            &s.user_id,
            &upn,
            &s.app_id,
            &s.ip_address,
            &code,
            &s.event_type,
            &s.correlation_id,
            &Json(s),
        ],
    )
    .await
    .ctx("write sign-in")?;
    Ok(())
}

/// Several sign-ins in one transaction (retried whole): one commit, one WAL flush.
pub(crate) async fn put_sign_ins(c: &mut Client, rows: &[(Uuid, SignInRecord)]) -> Attempt<()> {
    let tx = c.transaction().await.ctx("begin sign-ins")?;
    for (tenant, record) in rows {
        put_sign_in(&tx, *tenant, record).await?;
    }
    tx.commit().await.ctx("commit sign-ins")
}

/// Deletes the oldest entries of each log before `before`, at most `limit` per log.
pub(crate) async fn prune(c: &Client, tenant: Uuid, before: &str, limit: usize) -> Attempt<usize> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut total = 0;
    for table in [LogTable::Audit, LogTable::SignIns] {
        let sql = format!(
            "DELETE FROM {t} WHERE tenant_id = $1 AND id IN \
             (SELECT id FROM {t} WHERE tenant_id = $1 AND at < $2 ORDER BY at LIMIT $3)",
            t = table.name()
        );
        let st = c.prepare_cached(&sql).await.ctx("prepare log prune")?;
        let n = c.execute(&st, &[&tenant, &before, &limit]).await.ctx("prune log")?;
        total += usize::try_from(n).unwrap_or(usize::MAX);
    }
    Ok(total)
}

pub(crate) async fn risk_page(
    c: &Client,
    tenant: Uuid,
    table: RiskTable,
    q: &LogQuery,
) -> Attempt<Vec<(LogCursor, RiskRecord)>> {
    page(c, LogTable::Risk(table), tenant, q).await
}

pub(crate) async fn risk_record(c: &Client, tenant: Uuid, table: RiskTable, id: Uuid) -> Attempt<Option<RiskRecord>> {
    one(c, LogTable::Risk(table), tenant, id).await
}

/// Writes the records, each replacing the row of the same id (its `ord` is kept). Each row is
/// one idempotent statement, so a retried attempt writes the same rows.
/// One sign-in and the risk rows it raised, in one transaction (retried whole).
pub(crate) async fn put_sign_in_with_risk(
    c: &mut Client,
    tenant: Uuid,
    s: &SignInRecord,
    risk: &[(RiskTable, Vec<RiskRecord>)],
) -> Attempt<()> {
    let tx = c.transaction().await.ctx("begin sign-in with risk")?;
    put_sign_in(&tx, tenant, s).await?;
    for (table, rows) in risk {
        put_risk_records(&tx, tenant, *table, rows).await?;
    }
    tx.commit().await.ctx("commit sign-in with risk")
}

pub(crate) async fn put_risk_records<C: GenericClient>(
    c: &C,
    tenant: Uuid,
    table: RiskTable,
    records: &[RiskRecord],
) -> Attempt<()> {
    let (subject, name) = LogTable::Risk(table).subject_columns();
    let sql = format!(
        "INSERT INTO {t} (tenant_id, id, at, {subject}, {name}, risk_event_type, risk_level, risk_state, ip_address, \
         correlation_id, record) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         ON CONFLICT (tenant_id, id) DO UPDATE SET at = excluded.at, {name} = excluded.{name}, \
         risk_event_type = excluded.risk_event_type, risk_level = excluded.risk_level, \
         risk_state = excluded.risk_state, ip_address = excluded.ip_address, \
         correlation_id = excluded.correlation_id, record = excluded.record",
        t = LogTable::Risk(table).name()
    );
    let st = c.prepare_cached(&sql).await.ctx("prepare risk record")?;
    for r in records {
        let upn = r.user_principal_name.as_deref().map(str::to_lowercase);
        c.execute(
            &st,
            &[
                &tenant,
                &r.id,
                &r.at,
                &r.user_id,
                &upn,
                &r.risk_event_type,
                &r.risk_level,
                &r.risk_state,
                &r.ip_address,
                &r.correlation_id,
                &Json(r),
            ],
        )
        .await
        .ctx("write risk record")?;
    }
    Ok(())
}
