//! Managed identity token endpoints: what a process running "in Azure" asks for tokens,
//! without any credential of its own.
//!
//! - **App Service** (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER`):
//!   `GET /{tenant}/msi/{host}/token?resource=...&api-version=2019-08-01` with the header
//!   `X-IDENTITY-HEADER: <host secret>`; `client_id`, `principal_id`/`object_id` or
//!   `mi_res_id` (also `msi_res_id`, `resource_id`) pick a user-assigned identity. Success is
//!   `{access_token, expires_on, resource, token_type, client_id}`; errors are App Service's
//!   `{statusCode, message, correlationId}`.
//! - **IMDS** (`/metadata/identity/oauth2/token?api-version=2018-02-01&resource=...` with
//!   `Metadata: true`): there is no secret, so the server answers for one host named at start
//!   (`--imds-host`), and only to loopback callers without `X-Forwarded-For`, as the real IMDS
//!   answers only the VM itself. `client_id`, `object_id` or `msi_res_id`/`mi_res_id`/`resource_id`
//!   pick an identity.
//!
//! On both, a caller that names an identity gets that identity or an error: another
//! selector-like parameter (`clientid`, `identity_id`, ...) or an empty selector is a 400, never
//! the host's default identity. Errors are IMDS's `{error, error_description}`.
//!
//! The token is the app-only access token client credentials issues, for the identity's
//! service principal: `roles` from its app role assignments on the resource, and the
//! resource's token lifetime and claims mapping policies applied as for client credentials
//! (`claims_policy::app_token_policy`; AADSTS50146 and AADSTS501461 are answered in the
//! endpoint's own error shape).

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cerulean_directory::{IdentitySelector, ManagedIdentityHost, SelectError};
use cerulean_identity::{AppTokenRequest, ClientAuthMethod, IssuedToken};
use cerulean_store::{ObjectRecord, TenantRecord};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::PlatformState;
use crate::error::OAuthError;
use crate::resources;

/// Lifetime of managed identity tokens without a token lifetime policy (Entra issues them for
/// a day; an hour is what the emulator's other app tokens live, and clients refresh before
/// expiry either way).
const LIFETIME_SECS: i64 = 3599;

/// An App Service error: `{statusCode, message, correlationId}`.
fn app_service_error(status: u16, message: impl Into<String>) -> Response {
    let correlation = Uuid::new_v4().to_string();
    let mut res = (
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        Json(json!({"statusCode": status, "message": message.into(), "correlationId": correlation})),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&correlation) {
        res.headers_mut().insert("x-correlation-id", v);
    }
    res
}

/// An IMDS error: `{error, error_description}`.
fn imds_error(status: u16, error: &str, description: impl Into<String>) -> Response {
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        Json(json!({"error": error, "error_description": description.into()})),
    )
        .into_response()
}

fn params(query: Option<&str>) -> Vec<(String, String)> {
    serde_urlencoded::from_str(query.unwrap_or_default()).unwrap_or_default()
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
}

/// A query parameter that names an identity, and how.
type SelectorParam = (&'static str, fn(String) -> IdentitySelector);

/// Why the query's identity selectors name no one identity.
#[derive(Debug, PartialEq, Eq)]
enum SelectorError {
    /// More than one selector (their names).
    Several(String),
    /// A parameter that looks like a selector (`..._id`, `clientid`) the endpoint does not know.
    Unknown(String),
    /// A known selector with an empty value.
    Empty(String),
}

impl SelectorError {
    /// The message, naming the selectors `accepted` on this endpoint (Cerulean's wording for
    /// the unknown and empty cases: neither service documents one).
    fn message(&self, accepted: &[SelectorParam]) -> String {
        let names = accepted.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ");
        match self {
            SelectorError::Several(given) => format!("Only one of {given} may be given."),
            SelectorError::Unknown(name) => {
                format!(
                    "The query parameter '{name}' is not an identity selector of this endpoint; use one of {names}."
                )
            }
            SelectorError::Empty(name) => format!("The identity selector '{name}' is empty."),
        }
    }
}

/// Whether a parameter name looks like an attempt to name an identity: it ends in `id` once
/// separators are dropped (`resource_id`, `clientid`, `principal-id`, `msi_res_id`).
fn looks_like_selector(name: &str) -> bool {
    let squashed: String = name.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_ascii_lowercase();
    squashed.ends_with("id")
}

/// The identity the query names. A caller that names an identity never gets another one: an
/// unknown selector-like parameter or an empty selector is an error, not the default
/// (system-assigned) identity, whose token carries other roles.
fn selector(params: &[(String, String)], names: &[SelectorParam]) -> Result<IdentitySelector, SelectorError> {
    let mut given: Vec<(&str, IdentitySelector)> = Vec::new();
    for (key, value) in params {
        match names.iter().find(|(n, _)| n.eq_ignore_ascii_case(key)) {
            Some((n, _)) if value.trim().is_empty() => return Err(SelectorError::Empty((*n).to_string())),
            Some((n, make)) => given.push((*n, make(value.trim().to_string()))),
            None if looks_like_selector(key) => return Err(SelectorError::Unknown(key.chars().take(64).collect())),
            None => {}
        }
    }
    match given.as_slice() {
        [] => Ok(IdentitySelector::Default),
        [(_, s)] => Ok(s.clone()),
        many => Err(SelectorError::Several(many.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", "))),
    }
}

/// App Service's selectors (2019-08-01: `client_id`, `principal_id`, `object_id`, `mi_res_id`),
/// with `msi_res_id` (IMDS's name) and `resource_id` (azure-identity's `identity_config` key)
/// read as the resource id too rather than ignored.
const APP_SERVICE_SELECTORS: &[SelectorParam] = &[
    ("client_id", IdentitySelector::ClientId),
    ("principal_id", IdentitySelector::ObjectId),
    ("object_id", IdentitySelector::ObjectId),
    ("mi_res_id", IdentitySelector::ResourceId),
    ("msi_res_id", IdentitySelector::ResourceId),
    ("resource_id", IdentitySelector::ResourceId),
];

/// IMDS's selectors (`client_id`, `object_id`, `msi_res_id`), with `mi_res_id` (App Service's
/// name) and `resource_id` read as the resource id too.
const IMDS_SELECTORS: &[SelectorParam] = &[
    ("client_id", IdentitySelector::ClientId),
    ("object_id", IdentitySelector::ObjectId),
    ("msi_res_id", IdentitySelector::ResourceId),
    ("mi_res_id", IdentitySelector::ResourceId),
    ("resource_id", IdentitySelector::ResourceId),
];

/// Issues the token for `identity` and `resource`.
async fn issue(
    state: &PlatformState,
    tenant: &TenantRecord,
    identity: &ObjectRecord,
    resource: &str,
) -> Result<(IssuedToken, String), OAuthError> {
    let requested = resources::resolve(resource, &state.public_url)
        .ok_or_else(|| crate::grants::delegated::resource_not_found(resource, &tenant.display_name))?;
    let bound = resources::bind(state, tenant.id, &tenant.display_name, &requested).await?;
    if state
        .directory
        .service_principal_by_app_id(tenant.id, &bound.app_id)
        .await
        .map_err(crate::grants::delegated::internal)?
        .is_none()
    {
        return Err(crate::grants::delegated::resource_not_found(&bound.audience, &tenant.display_name));
    }
    let roles = state
        .directory
        .granted_app_roles(tenant.id, identity.id, &bound.app_id)
        .await
        .map_err(crate::grants::delegated::internal)?;
    let policy =
        crate::claims_policy::app_token_policy(state, tenant, identity, &bound.app_id, &requested.audience).await?;
    let app_id_text = identity.doc.get("appId").and_then(Value::as_str).unwrap_or_default();
    let app_id = Uuid::parse_str(app_id_text).map_err(|e| crate::grants::delegated::internal(e.to_string()))?;
    let created = time::OffsetDateTime::parse(&tenant.created_at, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp());
    let issued = state
        .tokens
        .issue_app_token(&AppTokenRequest {
            tenant_id: tenant.id,
            issuer: resources::access_token_issuer(&state.public_url, tenant.id, bound.version),
            audience: bound.audience.clone(),
            app_id,
            sp_object_id: identity.id,
            roles,
            lifetime_secs: policy.lifetime_secs.unwrap_or(LIFETIME_SECS),
            version: bound.version,
            app_display_name: identity.doc.get("displayName").and_then(Value::as_str).unwrap_or_default().to_string(),
            client_auth: ClientAuthMethod::Certificate,
            tenant_created_at: created,
            mapped: policy.mapped,
        })
        .await
        .map_err(|e| crate::grants::delegated::internal(e.to_string()))?;
    Ok((issued, bound.audience))
}

fn no_store(mut res: Response) -> Response {
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store, no-cache"));
    res
}

/// `GET /{tenant}/msi/{host}/token`: the App Service protocol.
pub(crate) async fn app_service_token(
    State(state): State<PlatformState>,
    Path((tenant_key, host_key)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let params = params(query.as_deref());
    let tenant = match state.directory.resolve_tenant(&tenant_key).await {
        Ok(Some(t)) => t,
        Ok(None) => return app_service_error(404, "Not found."),
        Err(e) => return internal_app_service(e),
    };
    let host = match state.directory.managed_identity_host(tenant.id, &host_key).await {
        Ok(Some(h)) => h,
        Ok(None) => return app_service_error(404, "Not found."),
        Err(e) => return internal_app_service(e),
    };
    // The secret first: nothing about the host's identities is told to a caller without it.
    let secret = headers.get("x-identity-header").and_then(|v| v.to_str().ok()).unwrap_or_default();
    if secret.is_empty() || !host.accepts(secret) {
        return app_service_error(401, "The X-IDENTITY-HEADER header is missing or is not this host's.");
    }
    match param(&params, "api-version") {
        Some("2019-08-01") => {}
        Some(v) => return app_service_error(400, format!("The api-version '{v}' is not supported; use 2019-08-01.")),
        None => return app_service_error(400, "The api-version query parameter is required."),
    }
    let Some(resource) = param(&params, "resource") else {
        return app_service_error(400, "The resource query parameter is required.");
    };
    let selector = match selector(&params, APP_SERVICE_SELECTORS) {
        Ok(s) => s,
        Err(e) => return app_service_error(400, e.message(APP_SERVICE_SELECTORS)),
    };
    let Ok(identity) = host.select(&selector) else {
        return app_service_error(400, "Unable to load the proper Managed Identity.");
    };
    match issue(&state, &tenant, identity, resource).await {
        Ok((issued, audience)) => no_store(
            Json(json!({
                "access_token": issued.access_token,
                "expires_on": issued.expires_on.to_string(),
                "resource": audience,
                "token_type": "Bearer",
                "client_id": identity.doc.get("appId"),
            }))
            .into_response(),
        ),
        Err(e) => app_service_error(e.status.as_u16(), format!("AADSTS{}: {}", e.code, e.description)),
    }
}

fn internal_app_service(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "managed identity endpoint failure");
    app_service_error(500, "An internal error occurred.")
}

/// The host IMDS answers for (`--imds-host`: a host id or name, `tenant/host` when the store
/// holds several tenants).
async fn imds_host(state: &PlatformState) -> Result<Option<(TenantRecord, ManagedIdentityHost)>, String> {
    let Some(spec) = state.imds_host.as_deref() else { return Ok(None) };
    let (tenant_key, host_key) = match spec.split_once('/') {
        Some((t, h)) => (Some(t), h),
        None => (None, spec),
    };
    let tenants = state.directory.tenants().await.map_err(|e| e.to_string())?;
    for tenant in tenants {
        if let Some(t) = tenant_key {
            let named = tenant.id.to_string().eq_ignore_ascii_case(t)
                || tenant.domains.iter().any(|d| d.name.eq_ignore_ascii_case(t));
            if !named {
                continue;
            }
        }
        if let Some(host) =
            state.directory.managed_identity_host(tenant.id, host_key).await.map_err(|e| e.to_string())?
        {
            return Ok(Some((tenant, host)));
        }
    }
    Ok(None)
}

/// `GET /metadata/identity/oauth2/token`: the Instance Metadata Service shape.
pub(crate) async fn imds_token(
    State(state): State<PlatformState>,
    peer: Option<axum::Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    // In-process requests (tests, `$batch`) have no peer: they come from this process.
    if peer.is_some_and(|axum::Extension(ConnectInfo(addr))| !addr.ip().is_loopback()) {
        return imds_error(403, "forbidden", "The instance metadata endpoint answers loopback callers only.");
    }
    if headers.contains_key("x-forwarded-for") {
        return imds_error(400, "bad_request", "Request contains the X-Forwarded-For header, which is not allowed.");
    }
    if headers.get("metadata").and_then(|v| v.to_str().ok()) != Some("true") {
        return imds_error(400, "bad_request_102", "Required metadata header not specified");
    }
    let params = params(query.as_deref());
    if param(&params, "api-version").is_none() {
        return imds_error(400, "bad_request_102", "Required query variable 'api-version' is missing");
    }
    let Some(resource) = param(&params, "resource") else {
        return imds_error(400, "invalid_request", "Required audience parameter not specified");
    };
    let (tenant, host) = match imds_host(&state).await {
        Ok(Some(found)) => found,
        Ok(None) => return imds_error(400, "invalid_request", "Identity not found"),
        Err(e) => {
            tracing::error!(error = %e, "IMDS endpoint failure");
            return imds_error(500, "internal_error", "An internal error occurred.");
        }
    };
    let selector = match selector(&params, IMDS_SELECTORS) {
        Ok(s) => s,
        Err(e) => return imds_error(400, "invalid_request", e.message(IMDS_SELECTORS)),
    };
    let identity = match host.select(&selector) {
        Ok(i) => i,
        Err(SelectError::NotFound) => return imds_error(400, "invalid_request", "Identity not found"),
        Err(SelectError::Ambiguous) => {
            return imds_error(
                400,
                "invalid_request",
                "Multiple user assigned identities exist, please specify the clientId / resourceId of the identity in the token request",
            );
        }
    };
    match issue(&state, &tenant, identity, resource).await {
        Ok((issued, audience)) => no_store(
            Json(json!({
                "access_token": issued.access_token,
                "client_id": identity.doc.get("appId"),
                "expires_in": issued.expires_in.to_string(),
                "expires_on": issued.expires_on.to_string(),
                "ext_expires_in": issued.expires_in.to_string(),
                "not_before": issued.not_before.to_string(),
                "resource": audience,
                "token_type": "Bearer",
            }))
            .into_response(),
        ),
        Err(e) => {
            let error = if e.code == 500011 { "invalid_resource" } else { e.error };
            imds_error(e.status.as_u16(), error, format!("AADSTS{}: {}", e.code, e.description))
        }
    }
}
