//! Sign-in flows (authorization codes, device codes, SSO sessions) on SQLite. Redemption runs in
//! one IMMEDIATE transaction, so two concurrent redemptions of one code cannot both win.

use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};
use uuid::Uuid;

use super::WithContext;
use crate::{FlowRecord, FlowRedemption, StoreError, StoreResult};

const COLUMNS: &str = "kind, key, lookup, data, created_at, expires_at, used_at";

type Cols = (String, String, Option<String>, String, String, String, Option<String>);

fn cols(r: &Row<'_>) -> rusqlite::Result<Cols> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?))
}

fn record(c: Cols) -> StoreResult<FlowRecord> {
    let (kind, key, lookup, data, created_at, expires_at, used_at) = c;
    Ok(FlowRecord {
        kind,
        key,
        lookup,
        data: serde_json::from_str(&data).map_err(|e| StoreError::Invalid(format!("flow data: {e}")))?,
        created_at,
        expires_at,
        used_at,
    })
}

fn data_text(data: &serde_json::Value) -> StoreResult<String> {
    serde_json::to_string(data).map_err(|e| StoreError::Invalid(format!("flow data: {e}")))
}

pub(crate) fn put(conn: &mut Connection, tenant: Uuid, f: &FlowRecord, purge_before: &str) -> StoreResult<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).ctx("begin flow")?;
    let tenant = tenant.to_string();
    tx.prepare_cached("DELETE FROM sign_in_flows WHERE tenant_id = ?1 AND kind = ?2 AND expires_at < ?3")
        .ctx("prepare purge flows")?
        .execute(params![tenant, f.kind, purge_before])
        .ctx("purge flows")?;
    tx.prepare_cached(&format!(
        "INSERT INTO sign_in_flows (tenant_id, {COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
    ))
    .ctx("prepare insert flow")?
    .execute(params![tenant, f.kind, f.key, f.lookup, data_text(&f.data)?, f.created_at, f.expires_at, f.used_at])
    .ctx("insert flow")?;
    tx.commit().ctx("commit flow")
}

pub(crate) fn get(conn: &mut Connection, tenant: Uuid, kind: &str, key: &str) -> StoreResult<Option<FlowRecord>> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM sign_in_flows WHERE tenant_id = ?1 AND kind = ?2 AND key = ?3"))
        .ctx("prepare flow")?
        .query_row(params![tenant.to_string(), kind, key], cols)
        .optional()
        .ctx("read flow")?
        .map(record)
        .transpose()
}

pub(crate) fn by_lookup(
    conn: &mut Connection,
    tenant: Uuid,
    kind: &str,
    lookup: &str,
) -> StoreResult<Option<FlowRecord>> {
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM sign_in_flows WHERE tenant_id = ?1 AND kind = ?2 AND lookup = ?3 \
         ORDER BY created_at DESC LIMIT 1"
    ))
    .ctx("prepare flow by lookup")?
    .query_row(params![tenant.to_string(), kind, lookup], cols)
    .optional()
    .ctx("read flow by lookup")?
    .map(record)
    .transpose()
}

pub(crate) fn update(
    conn: &mut Connection,
    tenant: Uuid,
    kind: &str,
    key: &str,
    data: &serde_json::Value,
) -> StoreResult<bool> {
    let n = conn
        .prepare_cached(
            "UPDATE sign_in_flows SET data = ?4 WHERE tenant_id = ?1 AND kind = ?2 AND key = ?3 AND used_at IS NULL",
        )
        .ctx("prepare update flow")?
        .execute(params![tenant.to_string(), kind, key, data_text(data)?])
        .ctx("update flow")?;
    Ok(n > 0)
}

pub(crate) fn redeem(
    conn: &mut Connection,
    tenant: Uuid,
    kind: &str,
    key: &str,
    now: &str,
) -> StoreResult<FlowRedemption> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).ctx("begin redeem flow")?;
    let tenant = tenant.to_string();
    let found = tx
        .prepare_cached(&format!("SELECT {COLUMNS} FROM sign_in_flows WHERE tenant_id = ?1 AND kind = ?2 AND key = ?3"))
        .ctx("prepare redeem flow")?
        .query_row(params![tenant, kind, key], cols)
        .optional()
        .ctx("read flow")?;
    let Some(found) = found else {
        return Ok(FlowRedemption::Unknown);
    };
    let mut rec = record(found)?;
    let outcome = if rec.used_at.is_some() {
        FlowRedemption::AlreadyUsed(rec)
    } else {
        tx.prepare_cached("UPDATE sign_in_flows SET used_at = ?4 WHERE tenant_id = ?1 AND kind = ?2 AND key = ?3")
            .ctx("prepare use flow")?
            .execute(params![tenant, kind, key, now])
            .ctx("use flow")?;
        rec.used_at = Some(now.to_string());
        FlowRedemption::Redeemed(rec)
    };
    tx.commit().ctx("commit redeem flow")?;
    Ok(outcome)
}

pub(crate) fn delete(conn: &mut Connection, tenant: Uuid, kind: &str, key: &str) -> StoreResult<bool> {
    let n = conn
        .prepare_cached("DELETE FROM sign_in_flows WHERE tenant_id = ?1 AND kind = ?2 AND key = ?3")
        .ctx("prepare delete flow")?
        .execute(params![tenant.to_string(), kind, key])
        .ctx("delete flow")?;
    Ok(n > 0)
}

pub(crate) fn revoke_family(conn: &mut Connection, tenant: Uuid, family: Uuid, now: &str) -> StoreResult<u64> {
    let n = conn
        .prepare_cached(
            "UPDATE refresh_tokens SET revoked_at = ?3 WHERE tenant_id = ?1 AND family_id = ?2 AND revoked_at IS NULL",
        )
        .ctx("prepare revoke family")?
        .execute(params![tenant.to_string(), family.to_string(), now])
        .ctx("revoke family")?;
    Ok(n as u64)
}
