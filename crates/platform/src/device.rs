//! The device authorization grant (RFC 8628): `POST /{tenant}/oauth2/v2.0/devicecode` (and v1
//! `/oauth2/devicecode`) hands the device a `device_code` and the user a short `user_code`;
//! the user enters it at `verification_uri` (`/{tenant}/oauth2/deviceauth`), signs in on the
//! same pages as the authorize endpoint, and the device's polling then gets its tokens
//! (`grants/device_code.rs`).
//!
//! The verification URI names the tenant because user codes are looked up in the tenant's
//! partition of the store; Entra's `https://microsoft.com/devicelogin` is one global page.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Json, Response};
use cerulean_store::{FlowRecord, ObjectRecord, TenantRecord};
use serde_json::{Value, json};

use crate::PlatformState;
use crate::authorize::{AuthorizeFailure, render_failure, sign_in_form};
use crate::error::OAuthError;
use crate::grants::delegated::{self, internal};
use crate::pages;
use crate::session::{self, CSRF_COOKIE, hash, random_secret, same_secret};
use crate::token::{Endpoint, TokenRequest};

pub(crate) const DEVICE_KIND: &str = "device";
/// Entra's device codes live 15 minutes; devices poll every 5 seconds.
const DEVICE_LIFETIME_SECS: i64 = 900;
pub(crate) const INTERVAL_SECS: i64 = 5;
/// User codes: 9 characters without look-alikes (0/O, 1/I/L), as short as Entra's.
const USER_CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
const USER_CODE_LEN: usize = 9;

fn user_code() -> Result<String, OAuthError> {
    let mut buf = [0u8; 64];
    aws_lc_rs::rand::fill(&mut buf).map_err(|_| internal("random generation failed"))?;
    // Rejection sampling keeps every character equally likely.
    let limit = 256 - (256 % USER_CODE_ALPHABET.len());
    let code: String = buf
        .iter()
        .filter(|b| usize::from(**b) < limit)
        .take(USER_CODE_LEN)
        .map(|b| char::from(USER_CODE_ALPHABET[usize::from(*b) % USER_CODE_ALPHABET.len()]))
        .collect();
    if code.len() < USER_CODE_LEN {
        return Err(internal("random generation fell short"));
    }
    Ok(code)
}

/// What a user types, normalised: case and separators do not matter.
fn normalise(code: &str) -> String {
    code.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_uppercase()).collect()
}

fn ids(headers: &HeaderMap) -> (String, String) {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    (
        header("request-id").unwrap_or_default(),
        header("client-request-id").unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
    )
}

pub(crate) async fn devicecode_v2(
    State(state): State<PlatformState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    devicecode(state, tenant, headers, body, Endpoint::V2).await
}

pub(crate) async fn devicecode_v1(
    State(state): State<PlatformState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    devicecode(state, tenant, headers, body, Endpoint::V1).await
}

async fn devicecode(
    state: PlatformState,
    segment: String,
    headers: HeaderMap,
    body: Bytes,
    endpoint: Endpoint,
) -> Response {
    let (trace, correlation) = ids(&headers);
    match issue(&state, segment, &body, endpoint).await {
        Ok(res) => res,
        Err(e) => e.respond(&state.public_url, &trace, &correlation),
    }
}

async fn issue(
    state: &PlatformState,
    segment: String,
    body: &[u8],
    endpoint: Endpoint,
) -> Result<Response, OAuthError> {
    let params: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
        .map_err(|_| OAuthError::new(400, "invalid_request", 90014, "The request body is not a valid form."))?;
    let req = TokenRequest { endpoint, tenant: segment, params, basic: None, platform: None };
    // On `common`/`organizations` the code belongs to the client's tenant; the poll finds it
    // there by the tenant the device code names.
    let found = delegated::tenant_of(state, &req, None).await;
    let (tenant, _) = delegated::tenant_or_client_home(state, found, req.client_id()).await?;
    let client_id = req.client_id().ok_or_else(|| OAuthError::missing("client_id"))?.to_string();
    delegated::client_app(state, &tenant, &client_id).await?;
    let scopes = delegated::parse_scopes(state, &req, None)?;
    let scope = match endpoint {
        Endpoint::V2 => req.param("scope").unwrap_or_default().to_string(),
        Endpoint::V1 => {
            let mut s = vec![format!("{}/.default", scopes.resource.audience)];
            s.extend(scopes.oidc.iter().cloned());
            s.join(" ")
        }
    };
    let device_code = format!("1.{}.{}", tenant.id.simple(), random_secret(32)?);
    let code = user_code()?;
    let (created_at, expires_at) = session::expiry(DEVICE_LIFETIME_SECS);
    let record = FlowRecord {
        kind: DEVICE_KIND.into(),
        key: hash(&device_code),
        lookup: Some(code.clone()),
        data: json!({
            "client_id": client_id,
            "scope": scope,
            "resource": scopes.resource.audience,
            "status": "pending",
            "last_poll": 0,
        }),
        created_at,
        expires_at,
        used_at: None,
    };
    state.directory.put_flow(tenant.id, &record).await.map_err(internal)?;
    let uri = format!("{}/{}/oauth2/deviceauth", state.public_url, tenant.id);
    let message =
        format!("To sign in, use a web browser to open the page {uri} and enter the code {code} to authenticate.");
    let body = match endpoint {
        Endpoint::V2 => json!({
            "user_code": code, "device_code": device_code, "verification_uri": uri,
            "expires_in": DEVICE_LIFETIME_SECS, "interval": INTERVAL_SECS, "message": message,
        }),
        Endpoint::V1 => json!({
            "user_code": code, "device_code": device_code, "verification_url": uri,
            "expires_in": DEVICE_LIFETIME_SECS.to_string(), "interval": INTERVAL_SECS.to_string(), "message": message,
        }),
    };
    let mut res = Json(body).into_response();
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store, no-cache"));
    Ok(res)
}

/// `GET /{tenant}/oauth2/deviceauth`: the code entry page. Its CSRF token is a double submit
/// (form field and cookie); the sign-in form that follows gets one bound to its flow.
pub(crate) async fn entry_page(
    State(state): State<PlatformState>,
    Path(segment): Path<String>,
    headers: HeaderMap,
) -> Response {
    let (trace, _) = ids(&headers);
    let tenant = match entry_tenant(&state, &segment).await {
        Ok(t) => t,
        Err(e) => return render_failure(&segment, &e, &trace),
    };
    entry_with(&state, &tenant, None)
}

async fn entry_tenant(state: &PlatformState, segment: &str) -> Result<TenantRecord, OAuthError> {
    let req = TokenRequest::for_tenant(segment);
    delegated::tenant_of(state, &req, None).await
}

fn entry_with(state: &PlatformState, tenant: &TenantRecord, error: Option<&str>) -> Response {
    let csrf = match random_secret(32) {
        Ok(c) => c,
        Err(e) => return render_failure(&tenant.display_name, &e, ""),
    };
    let action = format!("/{}/oauth2/deviceauth", tenant.id);
    let mut res = pages::device_entry(&tenant.display_name, &action, &csrf, error);
    res.headers_mut().append(header::SET_COOKIE, session::set_cookie(state, CSRF_COOKIE, &csrf, None));
    res
}

/// `POST /{tenant}/oauth2/deviceauth`: the user code; a live one leads to the sign-in form.
pub(crate) async fn entry_post(
    State(state): State<PlatformState>,
    Path(segment): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (trace, _) = ids(&headers);
    let tenant = match entry_tenant(&state, &segment).await {
        Ok(t) => t,
        Err(e) => return render_failure(&segment, &e, &trace),
    };
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let field = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str()).unwrap_or_default();
    let cookie = session::cookie(&headers, CSRF_COOKIE).unwrap_or_default();
    if field("csrf").is_empty() || !same_secret(field("csrf"), &cookie) {
        return entry_with(&state, &tenant, Some("Your session timed out. Enter the code again."));
    }
    let bad = "That code didn't work. Check the code and try again.";
    let code = normalise(field("otc"));
    let record = match state.directory.flow_by_lookup(tenant.id, DEVICE_KIND, &code).await {
        Ok(Some(r)) => r,
        Ok(None) => return entry_with(&state, &tenant, Some(bad)),
        Err(e) => return render_failure(&tenant.display_name, &internal(e), &trace),
    };
    let live = record.used_at.is_none()
        && record.expires_at.as_str() > cerulean_directory::validate::now().as_str()
        && record.data.get("status").and_then(Value::as_str) == Some("pending");
    if !live {
        return entry_with(&state, &tenant, Some(bad));
    }
    let client_id = record.data.get("client_id").and_then(Value::as_str).unwrap_or_default().to_string();
    let app_name = match delegated::client_app(&state, &tenant, &client_id).await {
        Ok((app, _)) => app.application.doc.get("displayName").and_then(Value::as_str).unwrap_or_default().to_string(),
        Err(e) => return render_failure(&tenant.display_name, &e, &trace),
    };
    let data = json!({"device": record.key, "client_id": client_id});
    match sign_in_form(&state, &tenant, &app_name, &data, None).await {
        Ok(res) => res,
        Err(f) => render_failure(&tenant.display_name, &f.into_oauth(), &trace),
    }
}

/// The device code's request as an authorization request, for the consent check that follows
/// the user's sign-in (the same rules as the browser flow: `crate::consent`).
pub(crate) async fn consent_request(
    state: &PlatformState,
    tenant: &TenantRecord,
    device_key: &str,
) -> Result<crate::authorize::Authz, AuthorizeFailure> {
    let record = state
        .directory
        .flow(tenant.id, DEVICE_KIND, device_key)
        .await
        .map_err(internal)?
        .ok_or_else(|| OAuthError::new(400, "expired_token", 70019, "Verification code expired."))?;
    let text = |k: &str| record.data.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    Ok(crate::authorize::Authz {
        v1: false,
        client_id: text("client_id"),
        redirect_uri: String::new(),
        response_mode: "query".into(),
        state: None,
        nonce: None,
        // Always in v2 form (a v1 request's is `{resource}/.default openid`).
        scope: text("scope"),
        resource: text("resource"),
        code_challenge: None,
        code_challenge_method: None,
        public: true,
        client_info: false,
        login_hint: None,
        prompt_consent: false,
        response_type: vec!["code".into()],
    })
}

/// Records the user's decision on a pending device code: `Some` approves it for that user,
/// `None` declines it (`consent`: by cancelling the consent page, AADSTS65004, rather than
/// the sign-in).
pub(crate) async fn decide(
    state: &PlatformState,
    tenant: &TenantRecord,
    device_key: &str,
    approval: Option<(&ObjectRecord, i64, &[String])>,
    consent: bool,
) -> Result<(), AuthorizeFailure> {
    let record = state
        .directory
        .flow(tenant.id, DEVICE_KIND, device_key)
        .await
        .map_err(internal)?
        .ok_or_else(|| OAuthError::new(400, "expired_token", 70019, "Verification code expired."))?;
    let mut data = record.data.clone();
    if let Some(obj) = data.as_object_mut() {
        match approval {
            Some((user, auth_time, amr)) => {
                obj.insert("status".into(), json!("approved"));
                obj.insert("user".into(), json!(user.id));
                obj.insert("auth_time".into(), json!(auth_time));
                obj.insert("amr".into(), json!(amr));
            }
            None => {
                obj.insert("status".into(), json!("declined"));
                obj.insert("consent_declined".into(), json!(consent));
            }
        }
    }
    state.directory.update_flow(tenant.id, DEVICE_KIND, device_key, &data).await.map_err(internal)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_codes_are_short_and_unambiguous() {
        let c = user_code().expect("code");
        assert_eq!(c.len(), USER_CODE_LEN);
        assert!(c.bytes().all(|b| USER_CODE_ALPHABET.contains(&b)));
        assert_eq!(normalise("abc-def ghj"), "ABCDEFGHJ");
    }
}
