//! `grant_type=urn:ietf:params:oauth:grant-type:device_code` (RFC 8628 section 3.4): the
//! device polls until the user has entered the code and signed in.
//!
//! Answers while waiting, as RFC 8628 section 3.5 names them: `authorization_pending`
//! (AADSTS70016), `slow_down` when the device polls faster than the `interval` it was given,
//! `authorization_declined` when the user pressed Cancel, `expired_token` (AADSTS70019) after
//! 15 minutes, `bad_verification_code` for a code this tenant never issued or one already
//! exchanged for tokens. Device codes are for public clients ("Allow public client flows"),
//! or a confidential client presenting its credential.

use axum::response::Response;
use cerulean_store::FlowRedemption;
use serde_json::{Value, json};
use uuid::Uuid;

use super::authorization_code::with_params;
use super::delegated::{self, SignedIn, internal};
use crate::PlatformState;
use crate::device::{DEVICE_KIND, INTERVAL_SECS};
use crate::error::OAuthError;
use crate::session::hash;
use crate::token::{Endpoint, TokenRequest};

fn bad_code() -> OAuthError {
    OAuthError::new(
        400,
        "bad_verification_code",
        70000,
        "The provided value for the input parameter 'device_code' is not valid.",
    )
}

fn code_tenant(code: &str) -> Option<String> {
    let mut parts = code.splitn(3, '.');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("1"), Some(t), Some(_)) => Uuid::try_parse(t).ok().map(|t| t.to_string()),
        _ => None,
    }
}

pub(crate) async fn grant(
    state: &PlatformState,
    req: &TokenRequest,
    ip: std::net::IpAddr,
) -> Result<Response, OAuthError> {
    let code = req.param("device_code").or(req.param("code")).ok_or_else(|| OAuthError::missing("device_code"))?;
    let named = code_tenant(code);
    let tenant = delegated::tenant_of(state, req, named.as_deref()).await?;
    let client_id = req.client_id().ok_or_else(|| OAuthError::missing("client_id"))?;
    let (app, sp) = delegated::client_app(state, &tenant, client_id).await?;
    let client_auth = super::client_auth::authenticate(state, req, &tenant, client_id, &app, true).await?;

    let key = hash(code);
    let record = state.directory.flow(tenant.id, DEVICE_KIND, &key).await.map_err(internal)?.ok_or_else(bad_code)?;
    let text = |k: &str| record.data.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    if !text("client_id").eq_ignore_ascii_case(client_id) {
        return Err(bad_code());
    }
    if record.used_at.is_some() {
        return Err(bad_code());
    }
    if record.expires_at.as_str() <= cerulean_directory::validate::now().as_str() {
        return Err(OAuthError::new(400, "expired_token", 70019, "Verification code expired."));
    }
    match text("status").as_str() {
        "declined" if record.data.get("consent_declined").and_then(Value::as_bool) == Some(true) => {
            return Err(OAuthError::new(
                400,
                "authorization_declined",
                65004,
                "User declined to consent to access the app.",
            ));
        }
        "declined" => {
            return Err(OAuthError::new(
                400,
                "authorization_declined",
                70000,
                "The end user denied the authorization request.",
            ));
        }
        "approved" => {}
        _ => {
            let now = cerulean_identity::unix_now();
            let last = record.data.get("last_poll").and_then(Value::as_i64).unwrap_or(0);
            let mut data = record.data.clone();
            if let Some(obj) = data.as_object_mut() {
                obj.insert("last_poll".into(), json!(now));
            }
            state.directory.update_flow(tenant.id, DEVICE_KIND, &key, &data).await.map_err(internal)?;
            // One second of slack: a device sleeping exactly `interval` can land a second early on
            // whole-second clocks.
            if now - last < INTERVAL_SECS - 1 {
                return Err(OAuthError::new(
                    400,
                    "slow_down",
                    70016,
                    format!(
                        "OAuth 2.0 device flow error. Polling too fast: wait at least {INTERVAL_SECS} seconds between requests."
                    ),
                ));
            }
            return Err(OAuthError::new(
                400,
                "authorization_pending",
                70016,
                "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
            ));
        }
    }
    let record = match state.directory.redeem_flow(tenant.id, DEVICE_KIND, &key).await.map_err(internal)? {
        FlowRedemption::Redeemed(r) => r,
        _ => return Err(bad_code()),
    };
    let user_id = record.data.get("user").and_then(Value::as_str).and_then(|u| Uuid::parse_str(u).ok());
    let user = match user_id {
        Some(id) => state.directory.get(tenant.id, id).await.map_err(internal)?,
        None => None,
    }
    .filter(|u| u.deleted_at.is_none())
    .ok_or_else(bad_code)?;
    if user.doc.get("accountEnabled").and_then(Value::as_bool) != Some(true) {
        return Err(delegated::user_disabled());
    }
    let scope = record.data.get("scope").and_then(Value::as_str).unwrap_or_default().to_string();
    let resource = record.data.get("resource").and_then(Value::as_str).unwrap_or_default().to_string();
    let scoped = match req.endpoint {
        Endpoint::V2 => with_params(req, &[("scope", Some(scope.clone()))]),
        Endpoint::V1 => {
            let oidc: Vec<&str> = scope.split(' ').filter(|s| !s.contains('/')).collect();
            with_params(req, &[("resource", Some(resource)), ("scope", Some(oidc.join(" ")))])
        }
    };
    let scopes = delegated::parse_scopes(state, &scoped, None)?;
    let name = app.application.doc.get("displayName").and_then(Value::as_str).unwrap_or_default().to_string();
    let scp = delegated::consented_scopes(state, &tenant, sp.id, client_id, &name, user.id, &scopes).await?;
    let amr = record
        .data
        .get("amr")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_else(|| vec!["pwd".to_string()]);
    // Conditional Access applies at every token issuance, not only at the first sign-in.
    let mfa_done = amr.iter().any(|m| m == "mfa");
    let audience = delegated::ca_audience(state, &tenant, &scopes).await?;
    super::password::enforce_conditional_access(
        state,
        tenant.id,
        &user,
        &audience,
        super::CaClient { ip, platform: req.platform, auth_time: None },
        mfa_done,
    )
    .await?;
    let signed_in = SignedIn {
        tenant: &tenant,
        app: &app,
        client_id: Uuid::parse_str(client_id).unwrap_or(app.application.id),
        client_auth,
        user: &user,
        auth_time: record.data.get("auth_time").and_then(Value::as_i64).unwrap_or(0),
        amr,
        family: None,
        requested: scope,
        sid: None,
    };
    delegated::respond(state, &scoped, &signed_in, &scopes, scp).await
}
