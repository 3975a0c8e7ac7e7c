//! OpenID Connect discovery documents and JWKS, per tenant (by GUID or verified domain).
//! `common`, `organizations` and `consumers` get the multi-tenant document with the
//! `{tenantid}` issuer template, as Entra publishes it.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::PlatformState;

const MULTI_TENANT: &[&str] = &["common", "organizations", "consumers"];

async fn tenant_segment(state: &PlatformState, tenant: &str) -> Result<(String, Option<uuid::Uuid>), Response> {
    if MULTI_TENANT.iter().any(|t| t.eq_ignore_ascii_case(tenant)) {
        return Ok((tenant.to_ascii_lowercase(), None));
    }
    match state.directory.resolve_tenant(tenant).await {
        Ok(Some(t)) => Ok((t.id.to_string(), Some(t.id))),
        Ok(None) => Err(not_found(tenant)),
        Err(e) => {
            tracing::error!(error = %e, "tenant lookup failed");
            Err(StatusCode::INTERNAL_SERVER_ERROR.into_response())
        }
    }
}

/// `response_types_supported` of the v2.0 metadata: every combination the authorize endpoint
/// accepts (`code`, `id_token`, `token`), Entra's published list (`code`, `id_token`,
/// `code id_token`, `id_token token`) first and in its order. Entra's v2 endpoint also serves
/// `token` alone (implicit flow) and `code` with `token` (hybrid flow), which its metadata
/// omits; publishing them keeps the document and the endpoint in agreement.
pub(crate) const RESPONSE_TYPES_V2: [&str; 7] =
    ["code", "id_token", "code id_token", "id_token token", "token", "code token", "code id_token token"];

/// `response_types_supported` of the v1 metadata: Entra's list, then the combinations the
/// authorize endpoint also accepts.
pub(crate) const RESPONSE_TYPES_V1: [&str; 7] =
    ["code", "id_token", "code id_token", "token id_token", "token", "code token", "code id_token token"];

fn not_found(tenant: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({
            "error": "invalid_tenant",
            "error_description": format!("AADSTS90002: Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."),
            "error_codes": [90002],
        })),
    )
        .into_response()
}

fn host_of(public_url: &str) -> String {
    public_url.split("://").nth(1).unwrap_or(public_url).split('/').next().unwrap_or_default().to_string()
}

pub(crate) async fn openid_configuration_v2(
    State(state): State<PlatformState>,
    Path(tenant): Path<String>,
) -> Response {
    let (segment, id) = match tenant_segment(&state, &tenant).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let base = format!("{}/{segment}", state.public_url);
    let issuer_tenant = id.map(|i| i.to_string()).unwrap_or_else(|| "{tenantid}".into());
    let host = host_of(&state.public_url);
    Json(json!({
        "token_endpoint": format!("{base}/oauth2/v2.0/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": format!("{base}/discovery/v2.0/keys"),
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        // Entra's published four first, then what its authorize endpoint also serves and
        // Cerulean's accepts: `token` alone (implicit flow) and `code` with `token` (hybrid).
        "response_types_supported": RESPONSE_TYPES_V2,
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": format!("{}/{issuer_tenant}/v2.0", state.public_url),
        "request_parameter_supported": true,
        "request_uri_parameter_supported": true,
        "authorization_endpoint": format!("{base}/oauth2/v2.0/authorize"),
        "device_authorization_endpoint": format!("{base}/oauth2/v2.0/devicecode"),
        "http_logout_supported": true,
        "frontchannel_logout_supported": true,
        "end_session_endpoint": format!("{base}/oauth2/v2.0/logout"),
        "userinfo_endpoint": format!("{}/oidc/userinfo", state.public_url),
        "claims_supported": ["sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name", "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username", "name", "tid", "ver", "at_hash", "c_hash", "email"],
        "kerberos_endpoint": format!("{base}/kerberos"),
        "tenant_region_scope": "NA",
        "cloud_instance_name": host,
        "cloud_graph_host_name": host,
        "msgraph_host": host,
        "rbac_url": state.public_url.to_string(),
    }))
    .into_response()
}

pub(crate) async fn openid_configuration_v1(
    State(state): State<PlatformState>,
    Path(tenant): Path<String>,
) -> Response {
    let (segment, id) = match tenant_segment(&state, &tenant).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let base = format!("{}/{segment}", state.public_url);
    let issuer_tenant = id.map(|i| i.to_string()).unwrap_or_else(|| "{tenantid}".into());
    let host = host_of(&state.public_url);
    Json(json!({
        "token_endpoint": format!("{base}/oauth2/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": format!("{base}/discovery/keys"),
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": RESPONSE_TYPES_V1,
        "scopes_supported": ["openid"],
        "issuer": format!("{}/{issuer_tenant}/", state.public_url),
        "microsoft_multi_refresh_token": true,
        "authorization_endpoint": format!("{base}/oauth2/authorize"),
        "device_authorization_endpoint": format!("{base}/oauth2/devicecode"),
        "http_logout_supported": true,
        "frontchannel_logout_supported": true,
        "end_session_endpoint": format!("{base}/oauth2/logout"),
        "claims_supported": ["sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name", "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "amr", "nonce", "email", "given_name", "family_name", "nickname"],
        "check_session_iframe": format!("{base}/oauth2/checksession"),
        "userinfo_endpoint": format!("{base}/openid/userinfo"),
        "kerberos_endpoint": format!("{base}/kerberos"),
        "tenant_region_scope": "NA",
        "cloud_instance_name": host,
        "cloud_graph_host_name": host,
        "msgraph_host": host,
        "rbac_url": state.public_url.to_string(),
    }))
    .into_response()
}

async fn keys_for(state: &PlatformState, tenant: &str, v2: bool) -> Response {
    let ids = match tenant_segment(state, tenant).await {
        Ok((_, Some(id))) => vec![id],
        Ok((_, None)) => match state.directory.tenants().await {
            Ok(ts) => ts.into_iter().map(|t| t.id).collect(),
            Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        },
        Err(r) => return r,
    };
    let mut keys: Vec<Value> = Vec::new();
    for id in ids {
        let issuer = v2.then(|| format!("{}/{id}/v2.0", state.public_url));
        match state.tokens.jwks(id, issuer.as_deref()).await {
            Ok(doc) => {
                if let Some(list) = doc.get("keys").and_then(Value::as_array) {
                    keys.extend(list.iter().cloned());
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "jwks failed");
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            }
        }
    }
    Json(json!({ "keys": keys })).into_response()
}

pub(crate) async fn keys_v2(State(state): State<PlatformState>, Path(tenant): Path<String>) -> Response {
    keys_for(&state, &tenant, true).await
}

pub(crate) async fn keys_v1(State(state): State<PlatformState>, Path(tenant): Path<String>) -> Response {
    keys_for(&state, &tenant, false).await
}

pub(crate) async fn keys_all(State(state): State<PlatformState>) -> Response {
    keys_for(&state, "common", false).await
}

/// The error of an instance-discovery request for an authority that is not Cerulean's own:
/// Entra's answer to an unknown cloud (`invalid_instance`, AADSTS50049).
fn invalid_instance() -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({
            "error": "invalid_instance",
            "error_description": "AADSTS50049: Unknown or invalid instance.",
            "error_codes": [50049],
        })),
    )
        .into_response()
}

/// The path (after the `/`) of `endpoint` when it is on Cerulean's own origin: the public
/// URL's scheme and host, and its port or none. MSAL Python builds the authorization endpoint
/// it asks about from the authority's host name, without the port (Entra's is always 443), so
/// `https://127.0.0.1/{tenant}/oauth2/v2.0/authorize` names a server at `https://127.0.0.1:8443`.
fn own_path<'a>(public_url: &str, endpoint: &'a str) -> Option<&'a str> {
    let (scheme, authority) = public_url.trim_end_matches('/').split_once("://")?;
    let authority = authority.split('/').next().unwrap_or_default();
    let host = if authority.starts_with('[') {
        authority.split_inclusive(']').next().unwrap_or(authority)
    } else {
        authority.split(':').next().unwrap_or(authority)
    };
    let (given_scheme, rest) = endpoint.split_once("://")?;
    let (given, path) = rest.split_once('/')?;
    let same = given.eq_ignore_ascii_case(authority) || (host != authority && given.eq_ignore_ascii_case(host));
    (given_scheme.eq_ignore_ascii_case(scheme) && same && !path.is_empty()).then_some(path)
}

/// `GET /common/discovery/instance?api-version=1.1&authorization_endpoint=...`: the
/// instance-discovery document MSAL reads before it trusts an authority. Cerulean is one
/// cloud of one host, so the only known instance is its own origin: `metadata` names it as
/// the preferred network and cache alias, and `tenant_discovery_endpoint` is the OpenID
/// configuration of the tenant segment of `authorization_endpoint` (v2.0 or v1, as the
/// endpoint is). An authorization endpoint on another host is an unknown instance (see
/// [`own_path`] for the port).
pub(crate) async fn instance_discovery(State(state): State<PlatformState>, RawQuery(query): RawQuery) -> Response {
    let params: Vec<(String, String)> =
        query.as_deref().and_then(|q| serde_urlencoded::from_str(q).ok()).unwrap_or_default();
    let param = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let host = host_of(&state.public_url);
    let api_version = param("api-version").unwrap_or("1.1");
    // The endpoint must be on Cerulean's own origin (scheme and host compared without case).
    let Some(path) = param("authorization_endpoint").and_then(|e| own_path(&state.public_url, e)) else {
        return invalid_instance();
    };
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let segments: Vec<&str> = path.split('/').collect();
    let (tenant, v2) = match segments.as_slice() {
        [tenant, "oauth2", "v2.0", "authorize"] if !tenant.is_empty() => (*tenant, true),
        [tenant, "oauth2", "authorize"] if !tenant.is_empty() => (*tenant, false),
        _ => return invalid_instance(),
    };
    let tenant_discovery_endpoint = if v2 {
        format!("{}/{tenant}/v2.0/.well-known/openid-configuration", state.public_url)
    } else {
        format!("{}/{tenant}/.well-known/openid-configuration", state.public_url)
    };
    Json(json!({
        "tenant_discovery_endpoint": tenant_discovery_endpoint,
        "api-version": api_version,
        "metadata": [{
            "preferred_network": host,
            "preferred_cache": host,
            "aliases": [host],
        }],
    }))
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::own_path;

    #[test]
    fn own_origin_with_or_without_the_port() {
        let public = "https://127.0.0.1:8443";
        assert_eq!(own_path(public, "https://127.0.0.1:8443/t/oauth2/v2.0/authorize"), Some("t/oauth2/v2.0/authorize"));
        // MSAL Python's form: the host name without the port.
        assert_eq!(own_path(public, "https://127.0.0.1/t/oauth2/v2.0/authorize"), Some("t/oauth2/v2.0/authorize"));
        assert_eq!(own_path(public, "HTTPS://127.0.0.1/t"), Some("t"));
        for other in [
            "https://127.0.0.1:9443/t/oauth2/v2.0/authorize",
            "http://127.0.0.1:8443/t/oauth2/v2.0/authorize",
            "https://127.0.0.1.evil.example/t/oauth2/v2.0/authorize",
            "https://evil.example@127.0.0.1/t",
            "https://127.0.0.1:8443/",
            "https://127.0.0.1:8443",
        ] {
            assert_eq!(own_path(public, other), None, "{other}");
        }
        // Without a port in the public URL, only the bare host is Cerulean's.
        assert_eq!(own_path("https://cerulean.test", "https://cerulean.test/t"), Some("t"));
        assert_eq!(own_path("https://cerulean.test", "https://cerulean.test:8443/t"), None);
        assert_eq!(own_path("https://[::1]:8443", "https://[::1]/t"), Some("t"));
    }
}
