//! `grant_type=client_credentials`: an application signs in as itself.
//!
//! Order of checks, as Entra answers them: tenant, client id, scope (or resource), the
//! application, its credential, its service principal; then the token carries the app roles
//! the service principal holds on the resource.

use axum::Json;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use cerulean_directory::ca_engine::{Requirement, SignInContext};
use cerulean_identity::AppTokenRequest;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::error::OAuthError;
use crate::resources::{self, Resource};
use crate::token::{Endpoint, TokenRequest};
use crate::{PlatformState, claims_policy};

/// Scopes that mean nothing to an app-only token and are ignored, as Entra does.
const OIDC_SCOPES: &[&str] = &["openid", "profile", "email", "offline_access"];

pub(crate) async fn grant(
    state: &PlatformState,
    req: &TokenRequest,
    ip: std::net::IpAddr,
) -> Result<Response, OAuthError> {
    let multi = ["common", "organizations", "consumers"].iter().any(|t| t.eq_ignore_ascii_case(&req.tenant));
    if multi {
        return Err(OAuthError::new(
            400,
            "invalid_request",
            50059,
            "No tenant-identifying information found in either the request or implied by any provided credentials.",
        ));
    }
    let tenant = state
        .directory
        .resolve_tenant(&req.tenant)
        .await
        .map_err(internal)?
        .ok_or_else(|| OAuthError::tenant_not_found(&req.tenant))?;
    let client_id = req.client_id().ok_or_else(|| OAuthError::missing("client_id"))?;
    let resource = requested_resource(state, req)?;

    let app = state
        .directory
        .app_credentials(tenant.id, client_id)
        .await
        .map_err(internal)?
        .ok_or_else(|| app_not_found(client_id, &tenant.display_name))?;

    // A secret or a certificate assertion; client credentials has no public clients.
    let client_auth = super::client_auth::authenticate(state, req, &tenant, client_id, &app, false).await?;

    let sp = app.service_principal.ok_or_else(|| app_not_found(client_id, &tenant.display_name))?;
    if sp.doc.get("accountEnabled").and_then(Value::as_bool) == Some(false) {
        let name = sp.doc.get("displayName").and_then(Value::as_str).unwrap_or_default();
        return Err(OAuthError::new(
            400,
            "unauthorized_client",
            7000112,
            format!("Application '{client_id}'({name}) is disabled."),
        ));
    }
    let requested = resource.audience.clone();
    let resource = resources::bind(state, tenant.id, &tenant.display_name, &resource).await?;
    // Conditional Access for workload identities: after the credential (secret, certificate or
    // federated assertion) is proven, the policies naming this service principal
    // (`clientApplications`) for this resource (`applications`) may block it. The service
    // principal's risk (Identity Protection) feeds `servicePrincipalRiskLevels`.
    let risk = state.directory.service_principal_risk_level(tenant.id, sp.id).await.map_err(internal)?;
    let ctx = workload_context(state, sp.id, &resource.app_id, Some(ip), risk);
    let evaluation = state.directory.evaluate_conditional_access(tenant.id, &ctx).await.map_err(internal)?;
    crate::attempt::record(crate::attempt::Assessed {
        user: None,
        findings: Vec::new(),
        audience: resource.app_id.clone(),
        mfa_done: false,
        workload: Some(crate::attempt::WorkloadEvaluation { service_principal: sp.id, evaluation: evaluation.clone() }),
    });
    if matches!(evaluation.requirement(), Requirement::Block { .. }) {
        return Err(super::blocked_by_policy());
    }
    let roles = state
        .directory
        .app_roles_granted(tenant.id, sp.id, &resource.app_id)
        .await
        .map_err(internal)?
        .ok_or_else(|| resource_not_found(&resource.audience, &tenant.display_name))?;
    let app_id = Uuid::parse_str(client_id).unwrap_or(app.application.id);
    let display_name = app.application.doc.get("displayName").and_then(Value::as_str).unwrap_or_default().to_string();
    let created = time::OffsetDateTime::parse(&tenant.created_at, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp());
    // The resource's token lifetime and claims mapping policies.
    let policy = claims_policy::app_token_policy(state, &tenant, &sp, &resource.app_id, &requested).await?;
    let issued = state
        .tokens
        .issue_app_token(&AppTokenRequest {
            tenant_id: tenant.id,
            issuer: resources::access_token_issuer(&state.public_url, tenant.id, resource.version),
            audience: resource.audience.clone(),
            app_id,
            sp_object_id: sp.id,
            roles,
            lifetime_secs: policy.lifetime_secs.unwrap_or(state.tokens.lifetimes().access_secs),
            version: resource.version,
            app_display_name: display_name,
            client_auth,
            tenant_created_at: created,
            mapped: policy.mapped,
        })
        .await
        .map_err(|e| internal(e.to_string()))?;

    let body = match req.endpoint {
        Endpoint::V2 => json!({
            "token_type": "Bearer",
            "expires_in": issued.expires_in,
            "ext_expires_in": issued.expires_in,
            "access_token": issued.access_token,
        }),
        Endpoint::V1 => json!({
            "token_type": "Bearer",
            "expires_in": issued.expires_in.to_string(),
            "ext_expires_in": issued.expires_in.to_string(),
            "expires_on": issued.expires_on.to_string(),
            "not_before": issued.not_before.to_string(),
            "resource": resource.audience,
            "access_token": issued.access_token,
        }),
    };
    let mut res = Json(body).into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store, no-cache"));
    res.headers_mut().insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    Ok(res)
}

/// The Conditional Access context of a service principal signing in as itself from `ip` for
/// the resource `resource_app_id`: only workload-identity policies apply to it (the service
/// principal by `clientApplications`, the resource by `applications`, locations by the
/// caller's address, risk by the service principal's risk level).
pub(crate) fn workload_context(
    state: &PlatformState,
    sp: Uuid,
    resource_app_id: &str,
    ip: Option<std::net::IpAddr>,
    service_principal_risk: String,
) -> SignInContext {
    let country = ip.and_then(|i| state.locator.lookup(i)).and_then(|l| l.country_or_region);
    SignInContext {
        service_principal_id: Some(sp),
        app_id: resource_app_id.to_string(),
        client_app_type: "other".into(),
        ip,
        country,
        sign_in_risk: "none".into(),
        user_risk: "none".into(),
        service_principal_risk,
        ..SignInContext::default()
    }
}

/// The resource named by `scope` (v2: exactly one `{resource}/.default`) or `resource` (v1).
fn requested_resource(state: &PlatformState, req: &TokenRequest) -> Result<Resource, OAuthError> {
    let identifier = match req.endpoint {
        Endpoint::V1 => req.param("resource").ok_or_else(|| OAuthError::missing("resource"))?.to_string(),
        Endpoint::V2 => {
            let scope = req.param("scope").ok_or_else(|| OAuthError::missing("scope"))?;
            let scopes: Vec<&str> = scope.split(' ').filter(|s| !s.is_empty() && !OIDC_SCOPES.contains(s)).collect();
            let [only] = scopes.as_slice() else {
                return Err(invalid_scope(scope));
            };
            match only.strip_suffix("/.default") {
                Some(resource) if !resource.is_empty() => resource.to_string(),
                _ => return Err(invalid_scope(only)),
            }
        }
    };
    resources::resolve(&identifier, &state.public_url).ok_or_else(|| resource_not_found(&identifier, &req.tenant))
}

fn invalid_scope(scope: &str) -> OAuthError {
    OAuthError::new(
        400,
        "invalid_scope",
        1002012,
        format!(
            "The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
        ),
    )
}

fn resource_not_found(resource: &str, tenant: &str) -> OAuthError {
    OAuthError::new(
        400,
        "invalid_resource",
        500011,
        format!(
            "The resource principal named {resource} was not found in the tenant named {tenant}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant."
        ),
    )
}

fn app_not_found(client_id: &str, tenant: &str) -> OAuthError {
    OAuthError::new(
        400,
        "unauthorized_client",
        700016,
        format!(
            "Application with identifier '{client_id}' was not found in the directory '{tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."
        ),
    )
}

/// Compares the secret with every client secret of the app (constant time each); an expired
/// match is its own error, as in Entra. The key id of the matching secret.
pub(crate) fn check_secret(
    secrets: &[cerulean_store::SecretRecord],
    presented: &str,
    client_id: &str,
) -> Result<Uuid, OAuthError> {
    let now = cerulean_directory::validate::now();
    let mut expired = false;
    for s in secrets.iter().filter(|s| s.kind == "client_secret") {
        if cerulean_identity::secrets::verify(presented, &s.hash) {
            let end = s.meta.get("endDateTime").and_then(Value::as_str);
            if end.is_some_and(|end| end <= now.as_str()) {
                expired = true;
                continue;
            }
            return Ok(s.key_id);
        }
    }
    if expired {
        return Err(OAuthError::new(
            401,
            "invalid_client",
            7000222,
            format!("The provided client secret keys for app '{client_id}' are expired."),
        ));
    }
    Err(OAuthError::new(
        401,
        "invalid_client",
        7000215,
        format!(
            "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'."
        ),
    ))
}

fn internal(e: impl std::fmt::Display) -> OAuthError {
    tracing::error!(error = %e, "token endpoint failure");
    OAuthError::new(500, "temporarily_unavailable", 90100, "An internal error occurred; retry the request.")
}
