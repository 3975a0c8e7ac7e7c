//! `grant_type=refresh_token`, with rotation: every redemption spends the token and returns a
//! successor of the same family; a spent token presented again is a replay, and the store
//! revokes the whole family in the same transaction (RFC 9700 section 4.14.2).
//!
//! Errors: AADSTS9002313 for a token this tenant never issued (another tenant's included),
//! AADSTS70000 for a token of another client, AADSTS70008 for a replay, AADSTS700082 for an
//! expired token, AADSTS50173 for a revoked one (password reset, `revokeSignInSessions`, a
//! sign-in older than the user's `signInSessionsValidFromDateTime`), AADSTS50057 for a
//! disabled account. Consent is evaluated again, so a revoked grant ends refreshing
//! (AADSTS65001).

use axum::response::Response;
use cerulean_store::RefreshRedemption;
use serde_json::Value;
use uuid::Uuid;

use super::delegated::{self, SignedIn, internal};
use crate::PlatformState;
use crate::error::OAuthError;
use crate::token::TokenRequest;

fn malformed() -> OAuthError {
    OAuthError::new(400, "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.")
}

fn revoked(auth_time: i64, valid_from: &str) -> OAuthError {
    let issued = time::OffsetDateTime::from_unix_timestamp(auth_time)
        .map(cerulean_directory::validate::format_datetime)
        .unwrap_or_default();
    OAuthError::new(
        400,
        "invalid_grant",
        50173,
        format!(
            "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password. The grant was issued on '{issued}' and the TokensValidFrom date (before which tokens are not valid) for this user is '{valid_from}'."
        ),
    )
}

pub(crate) async fn grant(
    state: &PlatformState,
    req: &TokenRequest,
    ip: std::net::IpAddr,
) -> Result<Response, OAuthError> {
    let token = req.param("refresh_token").ok_or_else(|| OAuthError::missing("refresh_token"))?;
    let named = cerulean_identity::user_tokens::refresh_token_tenant(token).map(|t| t.to_string());
    let tenant = delegated::tenant_of(state, req, named.as_deref()).await?;
    let client_id = req.client_id().ok_or_else(|| OAuthError::missing("client_id"))?;
    let (app, sp) = delegated::client_app(state, &tenant, client_id).await?;
    let client_auth = super::client_auth::authenticate(state, req, &tenant, client_id, &app, true).await?;

    let hash = cerulean_identity::user_tokens::refresh_token_hash(token);
    let record = match state.directory.redeem_refresh_token(tenant.id, &hash, client_id).await.map_err(internal)? {
        RefreshRedemption::Unknown => return Err(malformed()),
        // Another client's token: refused, and left intact for its owner.
        RefreshRedemption::OtherClient => {
            return Err(OAuthError::new(400, "invalid_grant", 70000, "Provided grant is invalid or malformed."));
        }
        RefreshRedemption::Replayed(_) => {
            tracing::warn!(tenant = %tenant.id, "a spent refresh token was presented again; its family is revoked");
            return Err(OAuthError::new(
                400,
                "invalid_grant",
                70008,
                "The provided authorization code or refresh token has expired or was revoked: it was already redeemed, so every token of its sign-in session is now revoked. Send a new interactive authorization request for this user and resource.",
            ));
        }
        RefreshRedemption::Revoked(r) => {
            let auth_time = r.data.get("auth_time").and_then(Value::as_i64).unwrap_or(0);
            return Err(revoked(auth_time, r.revoked_at.as_deref().unwrap_or_default()));
        }
        RefreshRedemption::Redeemed(r) => r,
    };
    if record.expires_at.as_str() <= cerulean_directory::validate::now().as_str() {
        return Err(OAuthError::new(400, "invalid_grant", 700082, "The refresh token has expired due to inactivity."));
    }
    let user = state.directory.get(tenant.id, record.user_id).await.map_err(internal)?.ok_or_else(|| {
        OAuthError::new(
            400,
            "invalid_grant",
            50034,
            format!("The user account {{EUII Hidden}} does not exist in the {} directory.", tenant.id),
        )
    })?;
    if user.doc.get("accountEnabled").and_then(Value::as_bool) != Some(true) {
        return Err(delegated::user_disabled());
    }
    let auth_time = record.data.get("auth_time").and_then(Value::as_i64).unwrap_or(0);
    if let Some(valid_from) = user.doc.get("signInSessionsValidFromDateTime").and_then(Value::as_str) {
        let from = time::OffsetDateTime::parse(valid_from, &time::format_description::well_known::Rfc3339)
            .map(|t| t.unix_timestamp())
            .unwrap_or(0);
        if auth_time < from {
            return Err(revoked(auth_time, valid_from));
        }
    }
    let scopes = delegated::parse_scopes(state, req, Some(&record.scopes))?;
    let app_name = app.application.doc.get("displayName").and_then(Value::as_str).unwrap_or_default().to_string();
    let scp = delegated::consented_scopes(state, &tenant, sp.id, client_id, &app_name, user.id, &scopes).await?;
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
        super::CaClient { ip, platform: req.platform, auth_time: Some(auth_time) },
        mfa_done,
    )
    .await?;
    let signed_in = SignedIn {
        tenant: &tenant,
        app: &app,
        client_id: Uuid::parse_str(client_id).unwrap_or(app.application.id),
        client_auth,
        user: &user,
        auth_time,
        amr,
        family: Some(record.family_id),
        requested: record.scopes.clone(),
        sid: None,
    };
    delegated::respond(state, req, &signed_in, &scopes, scp).await
}
