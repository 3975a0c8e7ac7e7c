//! Sign-in flows (authorization codes, device codes, SSO sessions) on PostgreSQL. Redemption
//! locks the row (`SELECT ... FOR UPDATE`), so of two nodes redeeming one code exactly one wins.

use serde_json::Value;
use tokio_postgres::Row;
use tokio_postgres::types::Json;
use uuid::Uuid;

use super::read::col;
use super::{Attempt, Client, WithContext};
use crate::{FlowRecord, FlowRedemption};

const COLUMNS: &str = "kind, key, lookup, data, created_at, expires_at, used_at";

fn record(r: &Row) -> Attempt<FlowRecord> {
    let Json(data): Json<Value> = col(r, 3, "flow data")?;
    Ok(FlowRecord {
        kind: col(r, 0, "flow kind")?,
        key: col(r, 1, "flow key")?,
        lookup: col(r, 2, "flow lookup")?,
        data,
        created_at: col(r, 4, "flow created_at")?,
        expires_at: col(r, 5, "flow expires_at")?,
        used_at: col(r, 6, "flow used_at")?,
    })
}

pub(crate) async fn put(c: &mut Client, tenant: Uuid, f: &FlowRecord, purge_before: &str) -> Attempt<()> {
    let tx = c.transaction().await.ctx("begin flow")?;
    let st = tx
        .prepare_cached("DELETE FROM sign_in_flows WHERE tenant_id = $1 AND kind = $2 AND expires_at < $3")
        .await
        .ctx("prepare purge flows")?;
    tx.execute(&st, &[&tenant, &f.kind, &purge_before]).await.ctx("purge flows")?;
    let st = tx
        .prepare_cached(&format!(
            "INSERT INTO sign_in_flows (tenant_id, {COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        ))
        .await
        .ctx("prepare insert flow")?;
    tx.execute(&st, &[&tenant, &f.kind, &f.key, &f.lookup, &Json(&f.data), &f.created_at, &f.expires_at, &f.used_at])
        .await
        .ctx("insert flow")?;
    tx.commit().await.ctx("commit flow")
}

pub(crate) async fn get(c: &Client, tenant: Uuid, kind: &str, key: &str) -> Attempt<Option<FlowRecord>> {
    let st = c
        .prepare_cached(&format!("SELECT {COLUMNS} FROM sign_in_flows WHERE tenant_id = $1 AND kind = $2 AND key = $3"))
        .await
        .ctx("prepare flow")?;
    match c.query_opt(&st, &[&tenant, &kind, &key]).await.ctx("read flow")? {
        Some(row) => Ok(Some(record(&row)?)),
        None => Ok(None),
    }
}

pub(crate) async fn by_lookup(c: &Client, tenant: Uuid, kind: &str, lookup: &str) -> Attempt<Option<FlowRecord>> {
    let st = c
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM sign_in_flows WHERE tenant_id = $1 AND kind = $2 AND lookup = $3 \
             ORDER BY created_at DESC LIMIT 1"
        ))
        .await
        .ctx("prepare flow by lookup")?;
    match c.query_opt(&st, &[&tenant, &kind, &lookup]).await.ctx("read flow by lookup")? {
        Some(row) => Ok(Some(record(&row)?)),
        None => Ok(None),
    }
}

pub(crate) async fn update(c: &Client, tenant: Uuid, kind: &str, key: &str, data: &Value) -> Attempt<bool> {
    let st = c
        .prepare_cached(
            "UPDATE sign_in_flows SET data = $4 WHERE tenant_id = $1 AND kind = $2 AND key = $3 AND used_at IS NULL",
        )
        .await
        .ctx("prepare update flow")?;
    Ok(c.execute(&st, &[&tenant, &kind, &key, &Json(data)]).await.ctx("update flow")? > 0)
}

pub(crate) async fn redeem(c: &mut Client, tenant: Uuid, kind: &str, key: &str, now: &str) -> Attempt<FlowRedemption> {
    let tx = c.transaction().await.ctx("begin redeem flow")?;
    let st = tx
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM sign_in_flows WHERE tenant_id = $1 AND kind = $2 AND key = $3 FOR UPDATE"
        ))
        .await
        .ctx("prepare redeem flow")?;
    let Some(row) = tx.query_opt(&st, &[&tenant, &kind, &key]).await.ctx("read flow")? else {
        return Ok(FlowRedemption::Unknown);
    };
    let mut rec = record(&row)?;
    let outcome = if rec.used_at.is_some() {
        FlowRedemption::AlreadyUsed(rec)
    } else {
        let st = tx
            .prepare_cached("UPDATE sign_in_flows SET used_at = $4 WHERE tenant_id = $1 AND kind = $2 AND key = $3")
            .await
            .ctx("prepare use flow")?;
        tx.execute(&st, &[&tenant, &kind, &key, &now]).await.ctx("use flow")?;
        rec.used_at = Some(now.to_string());
        FlowRedemption::Redeemed(rec)
    };
    tx.commit().await.ctx("commit redeem flow")?;
    Ok(outcome)
}

pub(crate) async fn delete(c: &Client, tenant: Uuid, kind: &str, key: &str) -> Attempt<bool> {
    let st = c
        .prepare_cached("DELETE FROM sign_in_flows WHERE tenant_id = $1 AND kind = $2 AND key = $3")
        .await
        .ctx("prepare delete flow")?;
    Ok(c.execute(&st, &[&tenant, &kind, &key]).await.ctx("delete flow")? > 0)
}

pub(crate) async fn revoke_family(c: &Client, tenant: Uuid, family: Uuid, now: &str) -> Attempt<u64> {
    let st = c
        .prepare_cached(
            "UPDATE refresh_tokens SET revoked_at = $3 WHERE tenant_id = $1 AND family_id = $2 AND revoked_at IS NULL",
        )
        .await
        .ctx("prepare revoke family")?;
    c.execute(&st, &[&tenant, &family, &now]).await.ctx("revoke family")
}
