//! Smart-lockout counters and familiar IPs on SQLite (see [`crate::LockoutRecord`]). Writes go
//! through the one writer connection; the counter's compare-and-set is one statement.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use uuid::Uuid;

use super::{WithContext, parse_id};
use crate::{LockoutRecord, StoreError, StoreResult};

type Cols = (String, String, i64, i64, Option<String>, String, String, i64);

pub(crate) fn get(conn: &mut Connection, tenant: Uuid, user: Uuid, scope: &str) -> StoreResult<Option<LockoutRecord>> {
    let row: Option<Cols> = conn
        .prepare_cached(
            "SELECT user_id, scope, failures, lockouts, locked_until, recent, updated_at, version \
             FROM lockout_counters WHERE tenant_id = ?1 AND user_id = ?2 AND scope = ?3",
        )
        .ctx("prepare lockout")?
        .query_row(params![tenant.to_string(), user.to_string(), scope], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?))
        })
        .optional()
        .ctx("read lockout")?;
    let Some((user_id, scope, failures, lockouts, locked_until, recent, updated_at, version)) = row else {
        return Ok(None);
    };
    Ok(Some(LockoutRecord {
        user_id: parse_id(&user_id)?,
        scope,
        failures,
        lockouts,
        locked_until,
        recent: serde_json::from_str(&recent).map_err(|e| StoreError::Invalid(format!("lockout recent: {e}")))?,
        updated_at,
        version,
    }))
}

pub(crate) fn put(conn: &mut Connection, tenant: Uuid, r: &LockoutRecord, expected: Option<i64>) -> StoreResult<bool> {
    let recent = serde_json::to_string(&r.recent).map_err(|e| StoreError::Invalid(format!("lockout recent: {e}")))?;
    let (tenant, user) = (tenant.to_string(), r.user_id.to_string());
    let n = match expected {
        None => conn
            .prepare_cached(
                "INSERT INTO lockout_counters (tenant_id, user_id, scope, failures, lockouts, locked_until, recent, \
                 updated_at, version) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 1) ON CONFLICT DO NOTHING",
            )
            .ctx("prepare insert lockout")?
            .execute(params![tenant, user, r.scope, r.failures, r.lockouts, r.locked_until, recent, r.updated_at])
            .ctx("insert lockout")?,
        Some(v) => conn
            .prepare_cached(
                "UPDATE lockout_counters SET failures = ?4, lockouts = ?5, locked_until = ?6, recent = ?7, \
                 updated_at = ?8, version = version + 1 \
                 WHERE tenant_id = ?1 AND user_id = ?2 AND scope = ?3 AND version = ?9",
            )
            .ctx("prepare update lockout")?
            .execute(params![tenant, user, r.scope, r.failures, r.lockouts, r.locked_until, recent, r.updated_at, v])
            .ctx("update lockout")?,
    };
    Ok(n == 1)
}

pub(crate) fn is_familiar(conn: &mut Connection, tenant: Uuid, user: Uuid, ip: &str) -> StoreResult<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM familiar_ips WHERE tenant_id = ?1 AND user_id = ?2 AND ip = ?3")
        .ctx("prepare familiar ip")?
        .query_row(params![tenant.to_string(), user.to_string(), ip], |_| Ok(()))
        .optional()
        .ctx("read familiar ip")?
        .is_some())
}

pub(crate) fn remember(
    conn: &mut Connection,
    tenant: Uuid,
    user: Uuid,
    ip: &str,
    now: &str,
    keep: usize,
) -> StoreResult<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).ctx("begin familiar ip")?;
    let (tenant, user) = (tenant.to_string(), user.to_string());
    tx.prepare_cached(
        "INSERT INTO familiar_ips (tenant_id, user_id, ip, last_seen) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (tenant_id, user_id, ip) DO UPDATE SET last_seen = excluded.last_seen",
    )
    .ctx("prepare remember ip")?
    .execute(params![tenant, user, ip, now])
    .ctx("remember ip")?;
    let keep = i64::try_from(keep).unwrap_or(i64::MAX);
    tx.prepare_cached(
        "DELETE FROM familiar_ips WHERE tenant_id = ?1 AND user_id = ?2 AND ip NOT IN \
         (SELECT ip FROM familiar_ips WHERE tenant_id = ?1 AND user_id = ?2 ORDER BY last_seen DESC, ip LIMIT ?3)",
    )
    .ctx("prepare trim familiar ips")?
    .execute(params![tenant, user, keep])
    .ctx("trim familiar ips")?;
    tx.commit().ctx("commit familiar ip")
}
