//! Browser state of the sign-in pages: the SSO session cookie, the per-form CSRF token, and
//! the random secrets behind codes and sessions.
//!
//! Every secret handed to a browser or client (session id, authorization code, device code,
//! CSRF token) is 256 random bits; the store keeps only its SHA-256, so a read of the store
//! (or a backup) signs nobody in. Sessions live server-side (a `session` flow record), which is
//! what lets sign-out and `revokeSignInSessions` end them on every node at once.

use axum::http::{HeaderMap, HeaderValue, header};
use cerulean_store::{FlowRecord, ObjectRecord, TenantRecord};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::PlatformState;
use crate::error::OAuthError;
use crate::grants::delegated::internal;

/// How long an SSO session lasts without a new sign-in (Entra's browser session is bounded by
/// its sign-in frequency; a working day is a sensible default for a local directory).
const SESSION_HOURS: i64 = 12;

/// The flow kind of SSO sessions in the store.
pub(crate) const SESSION_KIND: &str = "session";

/// The cookie carrying the CSRF half of a sign-in form (double submit: the same value is in the
/// form and the cookie, and its hash in the server-side form record, so a form is bound both
/// to the request that rendered it and to the browser that received it).
pub(crate) const CSRF_COOKIE: &str = "cerulean_csrf";

/// A random secret: `bytes` random bytes, base64url.
pub(crate) fn random_secret(bytes: usize) -> Result<String, OAuthError> {
    use base64::Engine;
    let mut buf = vec![0u8; bytes];
    aws_lc_rs::rand::fill(&mut buf).map_err(|_| internal("random generation failed"))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf))
}

/// The store key of a secret: hex SHA-256 (the secret has 256 random bits, so a fast hash is
/// enough).
pub(crate) fn hash(secret: &str) -> String {
    cerulean_identity::user_tokens::refresh_token_hash(secret)
}

/// Compares two secrets without an early exit on the first difference.
pub(crate) fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A cookie sent by the browser.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// A `Set-Cookie` value: `HttpOnly`, `SameSite=Lax` (the redirect back from the application
/// is a top-level navigation, which Lax allows), `Secure` when served over HTTPS. `max_age`
/// 0 deletes the cookie; `None` makes it a browser-session cookie.
pub(crate) fn set_cookie(state: &PlatformState, name: &str, value: &str, max_age: Option<i64>) -> HeaderValue {
    let secure = if state.public_url.starts_with("https://") { "; Secure" } else { "" };
    let age = max_age.map(|a| format!("; Max-Age={a}")).unwrap_or_default();
    HeaderValue::from_str(&format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax{secure}{age}"))
        .unwrap_or_else(|_| HeaderValue::from_static("cerulean_invalid=1"))
}

/// The SSO cookie's name: one per tenant, so sessions of two tenants never mix.
pub(crate) fn session_cookie_name(tenant: Uuid) -> String {
    format!("cerulean_sso_{}", tenant.simple())
}

/// A live SSO session.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    /// The session record's key (the hash of the cookie's secret).
    pub key: String,
    pub user: ObjectRecord,
    pub auth_time: i64,
    pub amr: Vec<String>,
    /// When multifactor authentication was last done in this session after it started (a
    /// step-up on the passkey registration page); `None` is the sign-in itself.
    pub mfa_at: Option<i64>,
    /// The client ids of the applications signed into through this session (front-channel
    /// logout notifies each).
    pub apps: Vec<String>,
}

/// The session id (`sid` claim, front-channel logout's `sid` parameter) of the session a
/// user started at `auth_time`. It is derived rather than stored beside the cookie so that
/// every place that knows a sign-in (the code record, the consent form) knows its session
/// without carrying one more value; it is no secret (ID tokens carry it), and the session
/// record is indexed by it (`lookup`).
pub(crate) fn sid(tenant: Uuid, user: Uuid, auth_time: i64) -> String {
    let hex = hash(&format!("sid:{tenant}:{user}:{auth_time}"));
    let mut bytes = [0u8; 16];
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = u8::from_str_radix(hex.get(2 * i..2 * i + 2).unwrap_or("00"), 16).unwrap_or(0);
    }
    uuid::Builder::from_random_bytes(bytes).into_uuid().to_string()
}

/// Records that `client_id` was signed into through the session `sid` (when the session is
/// still there), for front-channel logout.
pub(crate) async fn remember_app(
    state: &PlatformState,
    tenant: Uuid,
    sid: &str,
    client_id: &str,
) -> Result<(), OAuthError> {
    let Some(rec) = state.directory.flow_by_lookup(tenant, SESSION_KIND, sid).await.map_err(internal)? else {
        return Ok(());
    };
    let mut data = rec.data.clone();
    let Some(obj) = data.as_object_mut() else {
        return Ok(());
    };
    let apps = obj.entry("apps").or_insert_with(|| json!([]));
    if let Some(list) = apps.as_array_mut()
        && !list.iter().any(|a| a.as_str().is_some_and(|a| a.eq_ignore_ascii_case(client_id)))
    {
        list.push(json!(client_id.to_ascii_lowercase()));
        state.directory.update_flow(tenant, SESSION_KIND, &rec.key, &data).await.map_err(internal)?;
    }
    Ok(())
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    cerulean_directory::validate::format_datetime(t)
}

/// The browser's SSO session in `tenant`, if it has one that is still good: not expired, the
/// user enabled, and signed in after the user's `signInSessionsValidFromDateTime`.
pub(crate) async fn current(
    state: &PlatformState,
    tenant: &TenantRecord,
    headers: &HeaderMap,
) -> Result<Option<Session>, OAuthError> {
    let Some(id) = cookie(headers, &session_cookie_name(tenant.id)) else {
        return Ok(None);
    };
    let Some(rec) = state.directory.flow(tenant.id, SESSION_KIND, &hash(&id)).await.map_err(internal)? else {
        return Ok(None);
    };
    if rec.expires_at.as_str() <= cerulean_directory::validate::now().as_str() {
        return Ok(None);
    }
    let Some(user_id) = rec.data.get("user").and_then(Value::as_str).and_then(|u| Uuid::parse_str(u).ok()) else {
        return Ok(None);
    };
    let Some(user) = state.directory.get(tenant.id, user_id).await.map_err(internal)? else {
        return Ok(None);
    };
    if user.deleted_at.is_some() || user.doc.get("accountEnabled").and_then(Value::as_bool) != Some(true) {
        return Ok(None);
    }
    let auth_time = rec.data.get("auth_time").and_then(Value::as_i64).unwrap_or(0);
    if let Some(from) = user.doc.get("signInSessionsValidFromDateTime").and_then(Value::as_str) {
        let from = time::OffsetDateTime::parse(from, &time::format_description::well_known::Rfc3339)
            .map(|t| t.unix_timestamp())
            .unwrap_or(0);
        if auth_time < from {
            return Ok(None);
        }
    }
    let amr = rec
        .data
        .get("amr")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_else(|| vec!["pwd".to_string()]);
    let apps = rec
        .data
        .get("apps")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default();
    let mfa_at = rec.data.get("mfa_at").and_then(Value::as_i64);
    Ok(Some(Session { key: rec.key, user, auth_time, amr, mfa_at, apps }))
}

impl Session {
    /// When multifactor authentication was last done in this session: the step-up, else the
    /// sign-in when it was multifactor; `None` when it never was.
    pub(crate) fn last_mfa(&self) -> Option<i64> {
        self.mfa_at.or_else(|| self.amr.iter().any(|m| m == "mfa").then_some(self.auth_time))
    }
}

/// Records a multifactor step-up done now in the session `key` with `method` (an `amr`
/// value): the session's `amr` gains it and `mfa`, and its last MFA time is now.
pub(crate) async fn record_step_up(
    state: &PlatformState,
    tenant: Uuid,
    key: &str,
    method: &str,
) -> Result<(), OAuthError> {
    let Some(rec) = state.directory.flow(tenant, SESSION_KIND, key).await.map_err(internal)? else {
        return Ok(());
    };
    let mut data = rec.data.clone();
    let Some(obj) = data.as_object_mut() else {
        return Ok(());
    };
    let amr = obj.entry("amr").or_insert_with(|| json!(["pwd"]));
    if let Some(list) = amr.as_array_mut() {
        for m in [method, "mfa"] {
            if !list.iter().any(|a| a.as_str() == Some(m)) {
                list.push(json!(m));
            }
        }
    }
    obj.insert("mfa_at".into(), json!(cerulean_identity::unix_now()));
    state.directory.update_flow(tenant, SESSION_KIND, key, &data).await.map_err(internal)?;
    Ok(())
}

/// Starts an SSO session for `user`; returns the `Set-Cookie` value.
pub(crate) async fn start(
    state: &PlatformState,
    tenant: &TenantRecord,
    user: Uuid,
    auth_time: i64,
    amr: &[String],
) -> Result<HeaderValue, OAuthError> {
    let id = random_secret(32)?;
    let now = cerulean_store::clock::now();
    let record = FlowRecord {
        kind: SESSION_KIND.into(),
        key: hash(&id),
        lookup: Some(sid(tenant.id, user, auth_time)),
        data: json!({"user": user, "auth_time": auth_time, "amr": amr, "apps": []}),
        created_at: rfc3339(now),
        expires_at: rfc3339(now + time::Duration::hours(SESSION_HOURS)),
        used_at: None,
    };
    state.directory.put_flow(tenant.id, &record).await.map_err(internal)?;
    Ok(set_cookie(state, &session_cookie_name(tenant.id), &id, None))
}

/// Ends the browser's SSO session in `tenant` (server-side too); returns the `Set-Cookie`
/// value that deletes the cookie.
pub(crate) async fn end(
    state: &PlatformState,
    tenant: &TenantRecord,
    headers: &HeaderMap,
) -> Result<HeaderValue, OAuthError> {
    let name = session_cookie_name(tenant.id);
    if let Some(id) = cookie(headers, &name) {
        state.directory.delete_flow(tenant.id, SESSION_KIND, &hash(&id)).await.map_err(internal)?;
    }
    Ok(set_cookie(state, &name, "", Some(0)))
}

/// RFC 3339 `now + secs`.
pub(crate) fn expiry(secs: i64) -> (String, String) {
    let now = cerulean_store::clock::now();
    (rfc3339(now), rfc3339(now + time::Duration::seconds(secs)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_by_exact_name() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("a=1; cerulean_csrf=xyz; cerulean_csrf_old=no"));
        assert_eq!(cookie(&h, CSRF_COOKIE).as_deref(), Some("xyz"));
        assert_eq!(cookie(&h, "b"), None);
    }

    #[test]
    fn secrets_compare_exactly() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "ab"));
    }
}
