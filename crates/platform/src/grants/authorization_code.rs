//! `grant_type=authorization_code` (RFC 6749 section 4.1.3, PKCE per RFC 7636).
//!
//! The code is read first and every check runs before it is spent, so a request that fails
//! (wrong verifier, wrong redirect URI, missing credential) leaves the code to its rightful
//! holder; the final redemption is one atomic store operation, so of two concurrent
//! redemptions exactly one gets tokens.
//!
//! Errors: AADSTS9002313 for a code this tenant never issued, AADSTS54005 for a code already
//! redeemed (the refresh tokens its first redemption issued are revoked, RFC 6749 section
//! 10.5), AADSTS70008 for an expired code, AADSTS70000 for another client's code,
//! AADSTS500112 when `redirect_uri` differs from the authorize request's, AADSTS50148 when the
//! `code_verifier` is missing or does not match the `code_challenge` (or is sent for a code
//! issued without one: a PKCE downgrade), AADSTS700025 when a public client (SPA or
//! mobile/desktop redirect URI) presents a credential, AADSTS7000218 when a confidential one
//! presents none.

use axum::response::Response;
use cerulean_identity::ClientAuthMethod;
use cerulean_store::FlowRedemption;
use serde_json::Value;
use uuid::Uuid;

use super::delegated::{self, SignedIn, internal};
use crate::PlatformState;
use crate::authorize::{CODE_KIND, authz_of};
use crate::error::OAuthError;
use crate::session::hash;
use crate::token::{Endpoint, TokenRequest};

fn malformed() -> OAuthError {
    OAuthError::new(400, "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.")
}

fn pkce_mismatch() -> OAuthError {
    OAuthError::new(
        400,
        "invalid_grant",
        50148,
        "The code_verifier does not match the code_challenge supplied in the authorization request for PKCE.",
    )
}

/// The tenant a code names (`1.{tenant}.{secret}`), for the `common` endpoint.
fn code_tenant(code: &str) -> Option<String> {
    let mut parts = code.splitn(3, '.');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("1"), Some(t), Some(_)) => Uuid::try_parse(t).ok().map(|t| t.to_string()),
        _ => None,
    }
}

/// RFC 7636 section 4.6.
fn verifier_matches(method: &str, challenge: &str, verifier: &str) -> bool {
    use base64::Engine;
    let computed = match method {
        "S256" => base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes())),
        _ => verifier.to_string(),
    };
    crate::session::same_secret(&computed, challenge)
}

/// A copy of `req` with some parameters replaced: the grant continues with what the code
/// remembers (scopes, nonce), not with what the token request repeats.
pub(crate) fn with_params(req: &TokenRequest, replace: &[(&str, Option<String>)]) -> TokenRequest {
    let mut params: Vec<(String, String)> =
        req.params.iter().filter(|(k, _)| !replace.iter().any(|(r, _)| r == k)).cloned().collect();
    for (k, v) in replace {
        if let Some(v) = v {
            params.push(((*k).to_string(), v.clone()));
        }
    }
    TokenRequest {
        endpoint: req.endpoint,
        tenant: req.tenant.clone(),
        params,
        basic: req.basic.clone(),
        platform: req.platform,
    }
}

pub(crate) async fn grant(state: &PlatformState, req: &TokenRequest) -> Result<Response, OAuthError> {
    let code = req.param("code").ok_or_else(|| OAuthError::missing("code"))?;
    let named = code_tenant(code);
    let tenant = delegated::tenant_of(state, req, named.as_deref()).await?;
    let client_id = req.client_id().ok_or_else(|| OAuthError::missing("client_id"))?;
    let (app, sp) = delegated::client_app(state, &tenant, client_id).await?;

    let key = hash(code);
    let record = state.directory.flow(tenant.id, CODE_KIND, &key).await.map_err(internal)?.ok_or_else(malformed)?;
    let authz = authz_of(&record).ok_or_else(malformed)?;
    let family = record.data.get("family").and_then(Value::as_str).and_then(|f| Uuid::parse_str(f).ok());
    if record.used_at.is_some() {
        return Err(replayed(state, &tenant, family).await);
    }
    if !authz.client_id.eq_ignore_ascii_case(client_id) {
        return Err(OAuthError::new(400, "invalid_grant", 70000, "Provided grant is invalid or malformed."));
    }
    if record.expires_at.as_str() <= cerulean_directory::validate::now().as_str() {
        return Err(OAuthError::new(
            400,
            "invalid_grant",
            70008,
            "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.",
        ));
    }
    match req.param("redirect_uri") {
        None => return Err(OAuthError::missing("redirect_uri")),
        Some(uri) if uri != authz.redirect_uri => {
            return Err(OAuthError::new(
                400,
                "invalid_grant",
                500112,
                format!(
                    "The reply address '{uri}' does not match the reply address '{}' provided when requesting Authorization code.",
                    authz.redirect_uri
                ),
            ));
        }
        Some(_) => {}
    }
    match (&authz.code_challenge, req.param("code_verifier")) {
        (Some(challenge), Some(verifier)) => {
            let method = authz.code_challenge_method.as_deref().unwrap_or("plain");
            if !verifier_matches(method, challenge, verifier) {
                return Err(pkce_mismatch());
            }
        }
        (Some(_), None) | (None, Some(_)) => return Err(pkce_mismatch()),
        (None, None) => {}
    }
    let presents_credential = req.param("client_assertion").is_some() || req.client_secret().is_some();
    let client_auth = if authz.public {
        if presents_credential {
            return Err(OAuthError::new(
                401,
                "invalid_client",
                700025,
                "Client is public so neither 'client_assertion' nor 'client_secret' should be presented.",
            ));
        }
        ClientAuthMethod::PublicClient
    } else {
        super::client_auth::authenticate(state, req, &tenant, client_id, &app, false).await?
    };

    let record = match state.directory.redeem_flow(tenant.id, CODE_KIND, &key).await.map_err(internal)? {
        FlowRedemption::Redeemed(r) => r,
        FlowRedemption::AlreadyUsed(_) => return Err(replayed(state, &tenant, family).await),
        FlowRedemption::Unknown => return Err(malformed()),
    };
    let user_id = record.data.get("user").and_then(Value::as_str).and_then(|u| Uuid::parse_str(u).ok());
    let user = match user_id {
        Some(id) => state.directory.get(tenant.id, id).await.map_err(internal)?,
        None => None,
    }
    .filter(|u| u.deleted_at.is_none())
    .ok_or_else(malformed)?;
    if user.doc.get("accountEnabled").and_then(Value::as_bool) != Some(true) {
        return Err(delegated::user_disabled());
    }
    let auth_time = record.data.get("auth_time").and_then(Value::as_i64).unwrap_or(0);
    let amr = record
        .data
        .get("amr")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_else(|| vec!["pwd".to_string()]);

    // The code's scopes and nonce, whatever the token request repeats.
    let scoped = match req.endpoint {
        Endpoint::V2 => with_params(req, &[("scope", Some(authz.scope.clone())), ("nonce", authz.nonce.clone())]),
        Endpoint::V1 => with_params(
            req,
            &[
                ("resource", Some(authz.resource.clone())),
                ("scope", Some(oidc_part(&authz.scope))),
                ("nonce", authz.nonce.clone()),
            ],
        ),
    };
    let scopes = delegated::parse_scopes(state, &scoped, None)?;
    let name = app.application.doc.get("displayName").and_then(Value::as_str).unwrap_or_default().to_string();
    let scp = delegated::consented_scopes(state, &tenant, sp.id, client_id, &name, user.id, &scopes).await?;
    let signed_in = SignedIn {
        tenant: &tenant,
        app: &app,
        client_id: Uuid::parse_str(client_id).unwrap_or(app.application.id),
        client_auth,
        user: &user,
        auth_time,
        amr,
        // The family the code names, so a replay of the code can revoke what this issued.
        family: if scopes.offline { family } else { None },
        requested: authz.scope.clone(),
        // Codes come only from the authorize endpoint's browser session.
        sid: Some(crate::session::sid(tenant.id, user.id, auth_time)),
    };
    delegated::respond(state, &scoped, &signed_in, &scopes, scp).await
}

/// The OpenID scopes of a scope string (what a v1 token request's `scope` carries).
fn oidc_part(scope: &str) -> String {
    scope
        .split(' ')
        .filter(|s| ["openid", "profile", "email", "offline_access"].contains(s))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A second redemption: AADSTS54005, and the tokens of the first are revoked.
async fn replayed(state: &PlatformState, tenant: &cerulean_store::TenantRecord, family: Option<Uuid>) -> OAuthError {
    if let Some(family) = family {
        match state.directory.revoke_refresh_family(tenant.id, family).await {
            Ok(n) if n > 0 => {
                tracing::warn!(tenant = %tenant.id, revoked = n, "an authorization code was redeemed twice; its refresh tokens are revoked")
            }
            Ok(_) => {}
            Err(e) => {
                tracing::error!(tenant = %tenant.id, error = %e, "revoking the refresh tokens of a replayed code failed")
            }
        }
    }
    OAuthError::new(
        400,
        "invalid_grant",
        54005,
        "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s256_follows_rfc_7636_appendix_b() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(verifier_matches("S256", challenge, verifier));
        assert!(!verifier_matches("S256", challenge, "x"));
        assert!(verifier_matches("plain", "abc", "abc"));
    }
}
