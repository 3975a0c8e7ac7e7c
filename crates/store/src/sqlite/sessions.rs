//! Refresh tokens (sign-in sessions) on SQLite: stored by hash, redeemed and revoked in one
//! IMMEDIATE transaction each, so two concurrent redemptions of one token cannot both win.

use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

use super::{WithContext, parse_id};
use crate::{RefreshRedemption, RefreshTokenRecord, StoreError, StoreResult};
use uuid::Uuid;

const COLUMNS: &str = "hash, family_id, user_id, client_id, scopes, data, created_at, expires_at, used_at, revoked_at";

fn record(r: &Row<'_>) -> rusqlite::Result<[Option<String>; 10]> {
    let mut out: [Option<String>; 10] = Default::default();
    for (i, slot) in out.iter_mut().enumerate() {
        *slot = r.get(i)?;
    }
    Ok(out)
}

fn parse(cols: [Option<String>; 10]) -> StoreResult<RefreshTokenRecord> {
    let [hash, family, user, client, scopes, data, created, expires, used, revoked] = cols;
    let text = |v: Option<String>, what: &str| v.ok_or_else(|| StoreError::Invalid(format!("refresh token {what}")));
    let data = text(data, "data")?;
    Ok(RefreshTokenRecord {
        hash: text(hash, "hash")?,
        family_id: parse_id(&text(family, "family")?)?,
        user_id: parse_id(&text(user, "user")?)?,
        client_id: text(client, "client")?,
        scopes: text(scopes, "scopes")?,
        data: serde_json::from_str(&data).map_err(|e| StoreError::Invalid(format!("refresh token data: {e}")))?,
        created_at: text(created, "created_at")?,
        expires_at: text(expires, "expires_at")?,
        used_at: used,
        revoked_at: revoked,
    })
}

pub(crate) fn put(conn: &mut Connection, tenant: Uuid, t: &RefreshTokenRecord) -> StoreResult<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).ctx("begin refresh token")?;
    let tenant = tenant.to_string();
    tx.prepare_cached("DELETE FROM refresh_tokens WHERE tenant_id = ?1 AND user_id = ?2 AND expires_at < ?3")
        .ctx("prepare expire refresh tokens")?
        .execute(params![tenant, t.user_id.to_string(), t.created_at])
        .ctx("expire refresh tokens")?;
    let data = serde_json::to_string(&t.data).map_err(|e| StoreError::Invalid(format!("refresh token data: {e}")))?;
    tx.prepare_cached(&format!(
        "INSERT INTO refresh_tokens (tenant_id, {COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
    ))
    .ctx("prepare insert refresh token")?
    .execute(params![
        tenant,
        t.hash,
        t.family_id.to_string(),
        t.user_id.to_string(),
        t.client_id,
        t.scopes,
        data,
        t.created_at,
        t.expires_at,
        t.used_at,
        t.revoked_at
    ])
    .ctx("insert refresh token")?;
    tx.commit().ctx("commit refresh token")
}

pub(crate) fn redeem(
    conn: &mut Connection,
    tenant: Uuid,
    hash: &str,
    client_id: &str,
    now: &str,
) -> StoreResult<RefreshRedemption> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).ctx("begin redeem")?;
    let tenant = tenant.to_string();
    let cols = tx
        .prepare_cached(&format!("SELECT {COLUMNS} FROM refresh_tokens WHERE tenant_id = ?1 AND hash = ?2"))
        .ctx("prepare redeem")?
        .query_row(params![tenant, hash], record)
        .optional()
        .ctx("read refresh token")?;
    let Some(cols) = cols else {
        return Ok(RefreshRedemption::Unknown);
    };
    let mut token = parse(cols)?;
    let outcome = if !token.client_id.eq_ignore_ascii_case(client_id) {
        RefreshRedemption::OtherClient
    } else if token.revoked_at.is_some() {
        RefreshRedemption::Revoked(token)
    } else if token.used_at.is_some() {
        tx.prepare_cached(
            "UPDATE refresh_tokens SET revoked_at = ?3 WHERE tenant_id = ?1 AND family_id = ?2 AND revoked_at IS NULL",
        )
        .ctx("prepare revoke family")?
        .execute(params![tenant, token.family_id.to_string(), now])
        .ctx("revoke family")?;
        RefreshRedemption::Replayed(token)
    } else {
        tx.prepare_cached("UPDATE refresh_tokens SET used_at = ?3 WHERE tenant_id = ?1 AND hash = ?2")
            .ctx("prepare use refresh token")?
            .execute(params![tenant, hash, now])
            .ctx("use refresh token")?;
        token.used_at = Some(now.to_string());
        RefreshRedemption::Redeemed(token)
    };
    tx.commit().ctx("commit redeem")?;
    Ok(outcome)
}

pub(crate) fn revoke_user(conn: &mut Connection, tenant: Uuid, user: Uuid, now: &str) -> StoreResult<u64> {
    let n = conn
        .prepare_cached(
            "UPDATE refresh_tokens SET revoked_at = ?3 WHERE tenant_id = ?1 AND user_id = ?2 AND revoked_at IS NULL",
        )
        .ctx("prepare revoke user tokens")?
        .execute(params![tenant.to_string(), user.to_string(), now])
        .ctx("revoke user tokens")?;
    Ok(n as u64)
}
