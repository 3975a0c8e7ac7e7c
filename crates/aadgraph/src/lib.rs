//! The Azure AD Graph front-end (`https://graph.windows.net` shape, `api-version=1.6`): the
//! OData 3 JSON wire shape over the same directory as Microsoft Graph. Requests become the same
//! [`Directory`] calls the Graph front-end makes (no rule lives here), records are shaped with
//! the schema's 1.6 names ([`wire`]), and errors come back as `odata.error` ([`error`]).
//!
//! # Addressing
//!
//! `/{tenant}/{resource_path}?api-version=1.6`, where `{tenant}` is the tenant id, one of its
//! verified domains, or `myorganization` (delegated tokens only); `/me` and `/me/...` name the
//! signed-in user (delegated only). These URLs share the origin with the identity platform
//! (`/{tenant}/oauth2/...`, `/{tenant}/discovery/...`) and with Graph (`/v1.0`, `/beta`): this
//! front-end is the router's fallback, so every route of theirs is matched first, and a request
//! that reaches it without `api-version` and without a 1.6 resource segment is answered with a
//! plain 404, as if this front-end did not exist.
//!
//! # What is served
//!
//! Collections, single objects (users also by UPN), navigation reads and `$links` of users,
//! groups, directory roles, applications, service principals, devices and contacts;
//! `directoryRoleTemplates` (from the role catalog); `directoryObjects`,
//! `tenantDetails` (read and update) and `domains` ([`tenant`]), `oauth2PermissionGrants`,
//! `subscribedSkus`; create, update (204) and delete of users,
//! groups, applications, service principals, devices; update and delete of contacts;
//! `isMemberOf`, `checkMemberGroups`, `getMemberGroups`, `getMemberObjects`,
//! `getObjectsByObjectIds`, `assignLicense` on users; `$filter`, `$orderby`, `$top`, relative
//! `odata.nextLink` paging and `previous-page` ([`lists`]); `$metadata`; differential query
//! ([`differential`]); OData 3 `$batch` with transactional change sets ([`batch`]); `$expand`
//! ([`expand`]); `me/changePassword`; extension properties.

mod auth;
mod batch;
mod differential;
mod error;
mod expand;
mod extensions;
mod handlers;
mod lists;
mod metadata;
mod ordered;
mod tenant;
pub mod wire;

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{OriginalUri, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use cerulean_directory::{Caller, Directory};
use cerulean_identity::TokenIssuer;
use cerulean_store::Actor;
use percent_encoding::percent_decode_str;

pub use auth::Principal;
pub use error::AadError;

/// What every 1.6 handler needs.
#[derive(Clone)]
pub struct AadState {
    pub directory: Directory,
    pub tokens: Arc<TokenIssuer>,
    /// The externally visible base URL, without a trailing slash.
    pub public_url: Arc<str>,
    /// The `ocp-aad-diagnostics-server-name` of this process.
    server_name: Arc<str>,
}

impl AadState {
    pub fn new(directory: Directory, tokens: Arc<TokenIssuer>, public_url: Arc<str>) -> AadState {
        // Opaque and stable for the process, as AAD's is per front-end server.
        let id = uuid::Uuid::new_v4().simple().to_string();
        AadState { directory, tokens, public_url, server_name: Arc::from(id) }
    }
}

/// The api-versions AAD Graph accepts (seed: "Graph API Version").
const API_VERSIONS: &[&str] = &["1.6", "1.5", "2013-11-08", "2013-04-05", "beta"];

/// First path segments that make a request a 1.6 request even without `api-version`, so that
/// it gets the 1.6 error for the missing version rather than a bare 404.
const ROOTS: &[&str] = &[
    "$metadata",
    "$batch",
    "users",
    "groups",
    "contacts",
    "directoryObjects",
    "directoryRoles",
    "directoryRoleTemplates",
    "devices",
    "domains",
    "tenantDetails",
    "subscribedSkus",
    "applications",
    "servicePrincipals",
    "oauth2PermissionGrants",
    "isMemberOf",
    "getObjectsByObjectIds",
];

/// The 1.6 front-end, to be merged at the root of the server. It is the router's fallback, not
/// a `/{tenant}/{*path}` route: every other front-end's routes — the identity platform's
/// `/{tenant}/oauth2/...` and `/{tenant}/discovery/...`, Graph's `/v1.0` and `/beta` with their
/// own fallbacks — are matched first, and only requests no one else claims reach it.
pub fn router(state: AadState) -> Router {
    Router::new().fallback(fallback).layer(from_fn_with_state(state.clone(), response_headers)).with_state(state)
}

/// Adds AAD Graph's diagnostic headers to every 1.6 answer (`request-id` and the echoed
/// `client-request-id` come from the server's request-id layer).
async fn response_headers(State(state): State<AadState>, req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    if res.extensions().get::<Foreign>().is_some() {
        return res;
    }
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&state.server_name) {
        h.insert("ocp-aad-diagnostics-server-name", v);
    }
    let session = uuid::Uuid::new_v4();
    if let Ok(v) = HeaderValue::from_str(&format!("{}.{}", session.simple(), state.server_name)) {
        h.insert("ocp-aad-session-key", v);
    }
    h.insert("dataserviceversion", HeaderValue::from_static("3.0;"));
    h.insert("access-control-allow-origin", HeaderValue::from_static("*"));
    res
}

/// Marks the answer to a request that is not addressed to this front-end (see [`serve`]).
#[derive(Clone, Copy)]
struct Foreign;

/// One parsed 1.6 request.
pub(crate) struct Ctx {
    pub state: AadState,
    pub principal: Principal,
    /// The tenant segment as the client wrote it (`myorganization`, a domain, an id): the base
    /// of `odata.metadata` and link URLs.
    pub tenant_segment: String,
    /// Addressed through the `me` alias.
    pub is_me: bool,
    pub method: Method,
    pub params: Vec<(String, String)>,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Ctx {
    /// `{public_url}/{tenant}`: the service root as the client addressed it.
    pub fn root(&self) -> String {
        format!("{}/{}", self.state.public_url, self.tenant_segment)
    }

    /// `{root}/$metadata#{fragment}`.
    pub fn metadata(&self, fragment: &str) -> String {
        format!("{}/$metadata#{fragment}", self.root())
    }

    /// The directory caller (tenant, actor for the audit log, correlation id).
    pub fn caller(&self) -> Caller {
        let client_request_id =
            self.headers.get("client-request-id").and_then(|v| v.to_str().ok()).map(|s| s.chars().take(128).collect());
        Caller {
            tenant: self.principal.tenant,
            actor: Actor {
                kind: if self.principal.delegated { "user".into() } else { "app".into() },
                id: Some(self.principal.object_id),
                display_name: self.principal.display_name.clone(),
            },
            correlation_id: client_request_id,
        }
    }
}

/// Splits a raw query string into decoded pairs (`+` is a space, as in form encoding).
fn parse_query(raw: Option<&str>) -> Result<Vec<(String, String)>, AadError> {
    let Some(raw) = raw else {
        return Ok(Vec::new());
    };
    if raw.len() > 32 * 1024 {
        return Err(AadError::bad_request("The query string is too long."));
    }
    let decode = |s: &str| {
        let spaced = s.replace('+', " ");
        percent_decode_str(&spaced)
            .decode_utf8()
            .map(|c| c.into_owned())
            .map_err(|_| AadError::bad_request("The query string is not valid UTF-8."))
    };
    raw.split('&')
        .filter(|p| !p.is_empty())
        .map(|part| {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            Ok((decode(k)?, decode(v)?))
        })
        .collect()
}

/// The `api-version` check every 1.6 request passes first.
fn check_api_version(params: &[(String, String)]) -> Result<(), AadError> {
    match params.iter().find(|(k, _)| k.eq_ignore_ascii_case("api-version")) {
        None => Err(AadError::new(
            400,
            "Request_DataContractVersionMissing",
            "The api-version query parameter is missing. Supported versions: 1.6, 1.5, 2013-11-08, 2013-04-05, beta.",
        )),
        Some((_, v)) if API_VERSIONS.iter().any(|a| a.eq_ignore_ascii_case(v.trim())) => Ok(()),
        Some(_) => Err(AadError::new(
            400,
            "Request_InvalidDataContractVersion",
            "The specified api-version is invalid. The value must exactly match a supported version.",
        )),
    }
}

/// JSON only: AAD Graph's XML and Atom payloads (deprecated by the reference) are refused
/// with a 415 that says so, for a request body in XML and for an `Accept` that takes no JSON.
fn check_media(headers: &HeaderMap, body: &Bytes) -> Result<(), AadError> {
    let is_xml = |v: &str| {
        let v = v.to_ascii_lowercase();
        v.contains("xml") || v.contains("atom")
    };
    let content_type = headers.get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    if !body.is_empty() && content_type.is_some_and(is_xml) {
        return Err(AadError::new(
            415,
            "Request_UnsupportedMediaType",
            "XML and Atom payloads are not supported; send the request body as application/json.",
        ));
    }
    if let Some(accept) = headers.get(axum::http::header::ACCEPT).and_then(|v| v.to_str().ok()) {
        let takes_json = accept.split(',').any(|m| {
            let m = m.trim().to_ascii_lowercase();
            m.is_empty() || m.starts_with("application/json") || m.starts_with("*/*") || m.starts_with("application/*")
        });
        if !takes_json && is_xml(accept) {
            return Err(AadError::new(
                415,
                "Request_UnsupportedMediaType",
                "XML and Atom responses are not supported; this server answers application/json only.",
            ));
        }
    }
    Ok(())
}

/// Every request no other route claims: `/{tenant}/{path}` and `/me[/{path}]`.
async fn fallback(
    State(state): State<AadState>,
    OriginalUri(uri): OriginalUri,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut segments = uri.path().split('/').filter(|s| !s.is_empty());
    let tenant = segments.next().unwrap_or_default();
    let decoded: Result<Vec<String>, _> =
        segments.map(|s| percent_decode_str(s).decode_utf8().map(|c| c.into_owned())).collect();
    let tenant = percent_decode_str(tenant).decode_utf8().map(|c| c.into_owned());
    let (Ok(tenant), Ok(segments)) = (tenant, decoded) else {
        return AadError::bad_request("The request url is not valid UTF-8.").into_response();
    };
    if tenant.is_empty() || (segments.is_empty() && !tenant.eq_ignore_ascii_case("me")) {
        return foreign();
    }
    serve(state, tenant, segments, method, headers, uri.query().map(str::to_string), body).await
}

/// The answer to a request that is not addressed to this front-end: a bare 404.
fn foreign() -> Response {
    let mut res = StatusCode::NOT_FOUND.into_response();
    res.extensions_mut().insert(Foreign);
    res
}

async fn serve(
    state: AadState,
    tenant: String,
    segments: Vec<String>,
    method: Method,
    headers: HeaderMap,
    q: Option<String>,
    body: Bytes,
) -> Response {
    let has_version = q.as_deref().is_some_and(|q| {
        q.split('&').any(|p| p.split('=').next().is_some_and(|k| k.eq_ignore_ascii_case("api-version")))
    });
    let first = segments.first().map(String::as_str).unwrap_or_default();
    let is_me = tenant.eq_ignore_ascii_case("me");
    if !has_version && !is_me && !ROOTS.iter().any(|r| r.eq_ignore_ascii_case(first)) {
        // Not addressed to this front-end (an identity-platform path it does not know).
        return foreign();
    }
    match handle(state, tenant, segments, method, headers, q, body).await {
        Ok(res) => res,
        Err(e) => e.into_response(),
    }
}

async fn handle(
    state: AadState,
    tenant: String,
    mut segments: Vec<String>,
    method: Method,
    headers: HeaderMap,
    q: Option<String>,
    body: Bytes,
) -> Result<Response, AadError> {
    let params = parse_query(q.as_deref())?;
    check_api_version(&params)?;
    let is_me = tenant.eq_ignore_ascii_case("me");
    let wants_metadata = !is_me && segments.len() == 1 && segments[0].eq_ignore_ascii_case("$metadata");
    // `$metadata` is the one XML document served: an `Accept` of XML is what OData clients send
    // for it, so only the other resources answer such a request with 415.
    if !wants_metadata {
        check_media(&headers, &body)?;
    }
    if wants_metadata {
        if method != Method::GET {
            return Err(AadError::method_not_allowed());
        }
        if !tenant.eq_ignore_ascii_case("myorganization") && state.directory.resolve_tenant(&tenant).await?.is_none() {
            return Err(invalid_tenant());
        }
        return Ok(metadata::metadata());
    }
    let principal = auth::authenticate(&state, &headers).await?;
    let tenant_segment = if is_me {
        if !principal.delegated {
            return Err(delegated_only("me"));
        }
        // `/me/...` is `/{tenant}/users/{signed-in user}/...`.
        segments.splice(0..0, ["users".to_string(), principal.object_id.to_string()]);
        "myorganization".to_string()
    } else if tenant.eq_ignore_ascii_case("myorganization") {
        if !principal.delegated {
            return Err(delegated_only("myorganization"));
        }
        tenant
    } else {
        let Some(record) = state.directory.resolve_tenant(&tenant).await? else {
            return Err(invalid_tenant());
        };
        if record.id != principal.tenant {
            return Err(AadError::new(
                401,
                "Authentication_Unauthorized",
                "The access token was issued for another tenant than the one in the request url.",
            ));
        }
        tenant
    };
    // `/{tenant}/me/...` (as `azure-graphrbac`'s `signed_in_user` addresses it) is `/me/...`.
    let tenant_me = !is_me && segments.first().is_some_and(|s| s.eq_ignore_ascii_case("me"));
    if tenant_me {
        if !principal.delegated {
            return Err(delegated_only("me"));
        }
        segments.splice(0..1, ["users".to_string(), principal.object_id.to_string()]);
    }
    let is_me = is_me || tenant_me;
    let ctx = Ctx { state, principal, tenant_segment, is_me, method, params, headers, body };
    if !is_me && segments.len() == 1 && segments[0] == "$batch" {
        return batch::serve(&ctx).await;
    }
    auth::user_may(&ctx, &segments).await?;
    handlers::route(&ctx, &segments).await
}

/// One request through addressing, authentication and the routes: the way of every 1.6
/// request, taken again by each operation of a `$batch` (boxed: a batch runs requests).
pub(crate) fn dispatch(
    state: AadState,
    tenant: String,
    segments: Vec<String>,
    method: Method,
    headers: HeaderMap,
    q: Option<String>,
    body: Bytes,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Response> + Send>> {
    Box::pin(async move {
        match handle(state, tenant, segments, method, headers, q, body).await {
            Ok(res) => res,
            Err(e) => e.into_response(),
        }
    })
}

fn invalid_tenant() -> AadError {
    AadError::bad_request("Invalid domain name in the request url.")
}

fn delegated_only(alias: &str) -> AadError {
    AadError::new(
        400,
        "Request_BadRequest",
        format!(
            "The '{alias}' alias is only valid with a delegated (user) token; with an application token, address the tenant by its id or a verified domain."
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_versions() {
        let q = |v: &str| vec![("api-version".to_string(), v.to_string())];
        assert!(check_api_version(&q("1.6")).is_ok());
        assert!(check_api_version(&q("2013-11-08")).is_ok());
        assert_eq!(check_api_version(&q("2.0")).map_err(|e| e.code), Err("Request_InvalidDataContractVersion"));
        assert_eq!(check_api_version(&[]).map_err(|e| e.code), Err("Request_DataContractVersionMissing"));
    }

    #[test]
    fn xml_is_refused() {
        let mut h = HeaderMap::new();
        h.insert("accept", HeaderValue::from_static("application/atom+xml"));
        assert!(check_media(&h, &Bytes::new()).is_err());
        h.insert("accept", HeaderValue::from_static("application/json, application/xml;q=0.5"));
        assert!(check_media(&h, &Bytes::new()).is_ok());
        let mut h = HeaderMap::new();
        h.insert("content-type", HeaderValue::from_static("application/xml"));
        assert!(check_media(&h, &Bytes::from_static(b"<a/>")).is_err());
    }
}
