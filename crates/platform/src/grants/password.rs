//! `grant_type=password` (resource owner password credentials), honoured where Entra honours
//! it: a public client (`isFallbackPublicClient`) or a confidential client with its
//! credential, a user without a pending password change, under smart lockout (see
//! `cerulean_directory::lockout`).
//!
//! Errors, in Entra's order: tenant, client, scope, client credential, then the user:
//! AADSTS50034 for a user name the tenant does not have (Entra tells it apart from a wrong
//! password on this grant), AADSTS50126 for a wrong password, AADSTS50053 while smart lockout
//! holds the account (the password is then not checked), AADSTS50057 for a disabled
//! account, AADSTS50055 ("The password is expired.") while `forceChangePasswordNextSignIn`
//! is set, AADSTS50076 (suberror `basic_action`) when the user must use a second factor (a
//! TOTP method, or `--require-mfa`), AADSTS65001 without consent.

use axum::response::Response;
use serde_json::Value;
use uuid::Uuid;

use super::delegated::{self, SignedIn, internal};
use crate::PlatformState;
use crate::error::OAuthError;
use crate::token::TokenRequest;
use cerulean_directory::PasswordSignIn;

/// AADSTS50053 as the token endpoint words it.
pub(crate) fn locked() -> OAuthError {
    OAuthError::new(
        400,
        "invalid_grant",
        50053,
        "The account is locked, you've tried to sign in too many times with an incorrect user ID or password.",
    )
}

/// AADSTS50076: the user must use multi-factor authentication, which this grant cannot do.
pub(crate) fn mfa_required(resource_app_id: &str) -> OAuthError {
    OAuthError::new(
        400,
        "invalid_grant",
        50076,
        format!(
            "Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '{resource_app_id}'."
        ),
    )
    .with_suberror("basic_action")
}

/// AADSTS53003: a Conditional Access policy blocks the sign-in.
pub(crate) fn blocked_by_policy() -> OAuthError {
    OAuthError::new(
        400,
        "invalid_grant",
        53003,
        "Access has been blocked by Conditional Access policies. The access policy does not allow token issuance.",
    )
}

/// AADSTS70043: the refresh token's authentication is older than a Conditional Access
/// sign-in frequency allows; the application must send the user to sign in again.
fn stale_refresh_token(auth_time: i64, max_age: i64) -> OAuthError {
    let issued = time::OffsetDateTime::from_unix_timestamp(auth_time)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default();
    OAuthError::new(
        400,
        "invalid_grant",
        70043,
        format!(
            "The refresh token has expired or is invalid due to sign-in frequency checks by conditional access. The token was issued on {issued} and the maximum allowed lifetime for this request is {max_age}."
        ),
    )
}

/// AADSTS53000: a policy requires a compliant or domain-joined device; Cerulean has no device
/// identity at sign-in, so this is never satisfied.
pub(crate) fn device_required() -> OAuthError {
    OAuthError::new(
        400,
        "invalid_grant",
        53000,
        "Device is not in required device state: compliant. Conditional Access policy requires a compliant device, and the device is not compliant.",
    )
}

/// Evaluates the tenant's Conditional Access policies for a token issued to `user` at the token
/// endpoint (client app type `mobileAppsAndDesktopClients`, as Entra classifies these grants)
/// for the target resource `audience` (see [`super::delegated::ca_audience`]) and refuses what
/// they do not allow: a block (53003), a device requirement (53000), MFA not done in the
/// sign-in or a password change (50076: the token endpoint has no second factor).
/// Used by the password, refresh-token and device-code grants; report-only policies never
/// refuse.
pub(crate) async fn enforce_conditional_access(
    state: &PlatformState,
    tenant: Uuid,
    user: &cerulean_store::ObjectRecord,
    audience: &str,
    client: CaClient,
    mfa_done: bool,
) -> Result<(), OAuthError> {
    use cerulean_directory::ca_engine::Requirement;
    let requirement =
        conditional_access_requirement(state, tenant, user, audience, client, "mobileAppsAndDesktopClients", mfa_done)
            .await?;
    match requirement {
        Requirement::None => Ok(()),
        Requirement::Block { .. } => Err(blocked_by_policy()),
        Requirement::Device { .. } => Err(device_required()),
        Requirement::Mfa | Requirement::PasswordChange => Err(mfa_required(audience)),
        Requirement::FreshSignIn { max_age } => Err(stale_refresh_token(client.auth_time.unwrap_or(0), max_age)),
    }
}

/// The client as Conditional Access sees it: its address (locations) and the device platform
/// of its User-Agent (platforms).
#[derive(Debug, Clone, Copy)]
pub(crate) struct CaClient {
    pub ip: std::net::IpAddr,
    pub platform: Option<&'static str>,
    /// When the user last authenticated, if the request presents an earlier authentication
    /// (a refresh token, an SSO session) rather than a new one: the sign-in frequency's input.
    pub auth_time: Option<i64>,
}

/// What the tenant's enforced Conditional Access policies require of this sign-in of `user`
/// to the target resource `audience` (an appId: `conditions.applications` names resources),
/// evaluated with the sign-in's risk as the sign-in log records it: the attempt's risk is
/// assessed once, with the browser of its User-Agent and the leaked-password flag of the
/// attempt (see [`crate::attempt`]), and the log reuses the findings.
pub(crate) async fn conditional_access_requirement(
    state: &PlatformState,
    tenant: Uuid,
    user: &cerulean_store::ObjectRecord,
    audience: &str,
    client: CaClient,
    client_app_type: &str,
    mfa_done: bool,
) -> Result<cerulean_directory::ca_engine::Requirement, OAuthError> {
    let evaluation =
        conditional_access_evaluation(state, tenant, user, audience, client, client_app_type, mfa_done).await?;
    Ok(evaluation.requirement_at(client.auth_time, cerulean_identity::unix_now()))
}

/// Every policy's verdict on this sign-in (see [`conditional_access_requirement`], which
/// reduces it to what the sign-in must do); for a caller that must also name the policies, as
/// on-behalf-of's claims challenge does.
pub(crate) async fn conditional_access_evaluation(
    state: &PlatformState,
    tenant: Uuid,
    user: &cerulean_store::ObjectRecord,
    audience: &str,
    client: CaClient,
    client_app_type: &str,
    mfa_done: bool,
) -> Result<cerulean_directory::ca_engine::Evaluation, OAuthError> {
    let ip = client.ip;
    let location = state.locator.lookup(ip).unwrap_or_default();
    let mut ctx = state
        .directory
        .user_sign_in_context(tenant, user, audience, client_app_type, Some(ip), location.country_or_region.clone())
        .await
        .map_err(internal)?;
    let findings = match crate::attempt::assessed_for(Some(user.id)) {
        // Already assessed in this attempt (a second evaluation, such as the SSO session's).
        Some(done) => done.findings,
        None => {
            let upn = user.doc.get("userPrincipalName").and_then(Value::as_str);
            let browser = crate::attempt::browser();
            let attempt = crate::sign_in_risk::Attempt {
                tenant,
                user_id: user.id,
                user_principal_name: upn,
                ip,
                location: &location,
                browser: &browser,
                error_code: 0,
                leaked_password: crate::attempt::leaked_password(),
            };
            crate::sign_in_risk::assess(state, &attempt).await
        }
    };
    ctx.sign_in_risk = crate::sign_in_risk::level(&findings).to_string();
    ctx.mfa_done = mfa_done;
    ctx.platform = client.platform.map(str::to_string);
    crate::attempt::record(crate::attempt::Assessed {
        user: Some(user.id),
        findings,
        audience: audience.to_string(),
        mfa_done,
        workload: None,
    });
    state.directory.evaluate_conditional_access(tenant, &ctx).await.map_err(internal)
}

pub(crate) async fn grant(
    state: &PlatformState,
    req: &TokenRequest,
    ip: std::net::IpAddr,
) -> Result<Response, OAuthError> {
    let username = req.param("username").ok_or_else(|| OAuthError::missing("username"))?;
    let domain = username.rsplit_once('@').map(|(_, d)| d);
    let tenant = delegated::tenant_of(state, req, domain).await?;
    let client_id = req.client_id().ok_or_else(|| OAuthError::missing("client_id"))?;
    let password = req.param("password").ok_or_else(|| OAuthError::missing("password"))?;
    let (app, sp) = delegated::client_app(state, &tenant, client_id).await?;
    let scopes = delegated::parse_scopes(state, req, None)?;
    let client_auth = super::client_auth::authenticate(state, req, &tenant, client_id, &app, true).await?;

    let (user, must_change) = match state
        .directory
        .sign_in_with_password(tenant.id, username, password, &ip.to_string())
        .await
        .map_err(internal)?
    {
        PasswordSignIn::UnknownUser => {
            return Err(OAuthError::new(
                400,
                "invalid_grant",
                50034,
                format!(
                    "The user account {{EUII Hidden}} does not exist in the {} directory. To sign into this application, the account must be added to the directory.",
                    tenant.id
                ),
            ));
        }
        PasswordSignIn::BadPassword => {
            return Err(OAuthError::new(
                400,
                "invalid_grant",
                50126,
                "Error validating credentials due to invalid username or password.",
            ));
        }
        PasswordSignIn::Locked => return Err(locked()),
        PasswordSignIn::Success { user, must_change_password } => (user, must_change_password),
    };
    if user.doc.get("accountEnabled").and_then(Value::as_bool) != Some(true) {
        return Err(delegated::user_disabled());
    }
    if must_change {
        return Err(OAuthError::new(400, "invalid_grant", 50055, "The password is expired."));
    }
    // A second factor cannot be given on this grant: Entra refuses it when MFA is required.
    if state.require_mfa || state.directory.has_second_factor(tenant.id, user.id).await.map_err(internal)? {
        return Err(mfa_required(&scopes.resource.app_id));
    }
    let client = CaClient { ip, platform: req.platform, auth_time: None };
    let audience = delegated::ca_audience(state, &tenant, &scopes).await?;
    enforce_conditional_access(state, tenant.id, &user, &audience, client, false).await?;
    state.directory.remember_sign_in_location(tenant.id, user.id, &ip.to_string()).await.map_err(internal)?;
    let app_name = app.application.doc.get("displayName").and_then(Value::as_str).unwrap_or_default().to_string();
    let scp = delegated::consented_scopes(state, &tenant, sp.id, client_id, &app_name, user.id, &scopes).await?;
    let requested = match req.param("scope") {
        Some(s) if req.endpoint == crate::token::Endpoint::V2 => s.to_string(),
        other => format!("{}/.default {}", scopes.resource.audience, other.unwrap_or_default()).trim().to_string(),
    };
    let signed_in = SignedIn {
        tenant: &tenant,
        app: &app,
        client_id: Uuid::parse_str(client_id).unwrap_or(app.application.id),
        client_auth,
        user: &user,
        auth_time: cerulean_identity::unix_now(),
        amr: vec!["pwd".into()],
        family: None,
        requested,
        sid: None,
    };
    delegated::respond(state, req, &signed_in, &scopes, scp).await
}
