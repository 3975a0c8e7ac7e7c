//! Refresh tokens (sign-in sessions) on PostgreSQL. Redemption locks the token's row
//! (`SELECT ... FOR UPDATE`), so of two nodes redeeming one token concurrently exactly one
//! rotates it and the other sees a replay.

use serde_json::Value;
use tokio_postgres::Row;
use tokio_postgres::types::Json;
use uuid::Uuid;

use super::read::col;
use super::{Attempt, Client, WithContext};
use crate::{RefreshRedemption, RefreshTokenRecord};

const COLUMNS: &str = "hash, family_id, user_id, client_id, scopes, data, created_at, expires_at, used_at, revoked_at";

fn record(r: &Row) -> Attempt<RefreshTokenRecord> {
    let Json(data): Json<Value> = col(r, 5, "refresh token data")?;
    Ok(RefreshTokenRecord {
        hash: col(r, 0, "refresh token hash")?,
        family_id: col(r, 1, "refresh token family")?,
        user_id: col(r, 2, "refresh token user")?,
        client_id: col(r, 3, "refresh token client")?,
        scopes: col(r, 4, "refresh token scopes")?,
        data,
        created_at: col(r, 6, "refresh token created_at")?,
        expires_at: col(r, 7, "refresh token expires_at")?,
        used_at: col(r, 8, "refresh token used_at")?,
        revoked_at: col(r, 9, "refresh token revoked_at")?,
    })
}

pub(crate) async fn put(c: &mut Client, tenant: Uuid, t: &RefreshTokenRecord) -> Attempt<()> {
    let tx = c.transaction().await.ctx("begin refresh token")?;
    let st = tx
        .prepare_cached("DELETE FROM refresh_tokens WHERE tenant_id = $1 AND user_id = $2 AND expires_at < $3")
        .await
        .ctx("prepare expire refresh tokens")?;
    tx.execute(&st, &[&tenant, &t.user_id, &t.created_at]).await.ctx("expire refresh tokens")?;
    let st = tx
        .prepare_cached(&format!(
            "INSERT INTO refresh_tokens (tenant_id, {COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        ))
        .await
        .ctx("prepare insert refresh token")?;
    tx.execute(
        &st,
        &[
            &tenant,
            &t.hash,
            &t.family_id,
            &t.user_id,
            &t.client_id,
            &t.scopes,
            &Json(&t.data),
            &t.created_at,
            &t.expires_at,
            &t.used_at,
            &t.revoked_at,
        ],
    )
    .await
    .ctx("insert refresh token")?;
    tx.commit().await.ctx("commit refresh token")
}

pub(crate) async fn redeem(
    c: &mut Client,
    tenant: Uuid,
    hash: &str,
    client_id: &str,
    now: &str,
) -> Attempt<RefreshRedemption> {
    let tx = c.transaction().await.ctx("begin redeem")?;
    let st = tx
        .prepare_cached(&format!("SELECT {COLUMNS} FROM refresh_tokens WHERE tenant_id = $1 AND hash = $2 FOR UPDATE"))
        .await
        .ctx("prepare redeem")?;
    let Some(row) = tx.query_opt(&st, &[&tenant, &hash]).await.ctx("read refresh token")? else {
        return Ok(RefreshRedemption::Unknown);
    };
    let mut token = record(&row)?;
    let outcome = if !token.client_id.eq_ignore_ascii_case(client_id) {
        RefreshRedemption::OtherClient
    } else if token.revoked_at.is_some() {
        RefreshRedemption::Revoked(token)
    } else if token.used_at.is_some() {
        let st = tx
            .prepare_cached(
                "UPDATE refresh_tokens SET revoked_at = $3 WHERE tenant_id = $1 AND family_id = $2 \
                 AND revoked_at IS NULL",
            )
            .await
            .ctx("prepare revoke family")?;
        tx.execute(&st, &[&tenant, &token.family_id, &now]).await.ctx("revoke family")?;
        RefreshRedemption::Replayed(token)
    } else {
        let st = tx
            .prepare_cached("UPDATE refresh_tokens SET used_at = $3 WHERE tenant_id = $1 AND hash = $2")
            .await
            .ctx("prepare use refresh token")?;
        tx.execute(&st, &[&tenant, &hash, &now]).await.ctx("use refresh token")?;
        token.used_at = Some(now.to_string());
        RefreshRedemption::Redeemed(token)
    };
    tx.commit().await.ctx("commit redeem")?;
    Ok(outcome)
}

pub(crate) async fn revoke_user(c: &Client, tenant: Uuid, user: Uuid, now: &str) -> Attempt<u64> {
    let st = c
        .prepare_cached(
            "UPDATE refresh_tokens SET revoked_at = $3 WHERE tenant_id = $1 AND user_id = $2 AND revoked_at IS NULL",
        )
        .await
        .ctx("prepare revoke user tokens")?;
    c.execute(&st, &[&tenant, &user, &now]).await.ctx("revoke user tokens")
}
