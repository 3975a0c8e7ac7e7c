//! Smart-lockout counters and familiar IPs on PostgreSQL (see [`crate::LockoutRecord`]). The
//! counter's compare-and-set is one statement (`INSERT ... ON CONFLICT DO NOTHING` or an
//! `UPDATE ... WHERE version = $n`), so nodes sharing the database never lose a count.

use tokio_postgres::types::Json;
use uuid::Uuid;

use super::read::col;
use super::{Attempt, Client, WithContext};
use crate::LockoutRecord;

pub(crate) async fn get(c: &Client, tenant: Uuid, user: Uuid, scope: &str) -> Attempt<Option<LockoutRecord>> {
    let st = c
        .prepare_cached(
            "SELECT user_id, scope, failures, lockouts, locked_until, recent, updated_at, version \
             FROM lockout_counters WHERE tenant_id = $1 AND user_id = $2 AND scope = $3",
        )
        .await
        .ctx("prepare lockout")?;
    let Some(r) = c.query_opt(&st, &[&tenant, &user, &scope]).await.ctx("read lockout")? else {
        return Ok(None);
    };
    let Json(recent): Json<Vec<String>> = col(&r, 5, "lockout recent")?;
    Ok(Some(LockoutRecord {
        user_id: col(&r, 0, "lockout user")?,
        scope: col(&r, 1, "lockout scope")?,
        failures: col(&r, 2, "lockout failures")?,
        lockouts: col(&r, 3, "lockout lockouts")?,
        locked_until: col(&r, 4, "lockout locked_until")?,
        recent,
        updated_at: col(&r, 6, "lockout updated_at")?,
        version: col(&r, 7, "lockout version")?,
    }))
}

pub(crate) async fn put(c: &Client, tenant: Uuid, r: &LockoutRecord, expected: Option<i64>) -> Attempt<bool> {
    let recent = Json(&r.recent);
    let n = match expected {
        None => {
            let st = c
                .prepare_cached(
                    "INSERT INTO lockout_counters (tenant_id, user_id, scope, failures, lockouts, locked_until, \
                     recent, updated_at, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1) ON CONFLICT DO NOTHING",
                )
                .await
                .ctx("prepare insert lockout")?;
            c.execute(
                &st,
                &[&tenant, &r.user_id, &r.scope, &r.failures, &r.lockouts, &r.locked_until, &recent, &r.updated_at],
            )
            .await
            .ctx("insert lockout")?
        }
        Some(v) => {
            let st = c
                .prepare_cached(
                    "UPDATE lockout_counters SET failures = $4, lockouts = $5, locked_until = $6, recent = $7, \
                     updated_at = $8, version = version + 1 \
                     WHERE tenant_id = $1 AND user_id = $2 AND scope = $3 AND version = $9",
                )
                .await
                .ctx("prepare update lockout")?;
            c.execute(
                &st,
                &[&tenant, &r.user_id, &r.scope, &r.failures, &r.lockouts, &r.locked_until, &recent, &r.updated_at, &v],
            )
            .await
            .ctx("update lockout")?
        }
    };
    Ok(n == 1)
}

pub(crate) async fn is_familiar(c: &Client, tenant: Uuid, user: Uuid, ip: &str) -> Attempt<bool> {
    let st = c
        .prepare_cached("SELECT 1 FROM familiar_ips WHERE tenant_id = $1 AND user_id = $2 AND ip = $3")
        .await
        .ctx("prepare familiar ip")?;
    Ok(c.query_opt(&st, &[&tenant, &user, &ip]).await.ctx("read familiar ip")?.is_some())
}

pub(crate) async fn remember(
    c: &mut Client,
    tenant: Uuid,
    user: Uuid,
    ip: &str,
    now: &str,
    keep: usize,
) -> Attempt<()> {
    let tx = c.transaction().await.ctx("begin familiar ip")?;
    let st = tx
        .prepare_cached(
            "INSERT INTO familiar_ips (tenant_id, user_id, ip, last_seen) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (tenant_id, user_id, ip) DO UPDATE SET last_seen = excluded.last_seen",
        )
        .await
        .ctx("prepare remember ip")?;
    tx.execute(&st, &[&tenant, &user, &ip, &now]).await.ctx("remember ip")?;
    let keep = i64::try_from(keep).unwrap_or(i64::MAX);
    let st = tx
        .prepare_cached(
            "DELETE FROM familiar_ips WHERE tenant_id = $1 AND user_id = $2 AND ip NOT IN \
             (SELECT ip FROM familiar_ips WHERE tenant_id = $1 AND user_id = $2 ORDER BY last_seen DESC, ip LIMIT $3)",
        )
        .await
        .ctx("prepare trim familiar ips")?;
    tx.execute(&st, &[&tenant, &user, &keep]).await.ctx("trim familiar ips")?;
    tx.commit().await.ctx("commit familiar ip")
}
