//! Bearer authentication and per-route authorization for Graph.
//!
//! A token is accepted when it is signed by a key of the tenant it names (`tid`), is within
//! its lifetime (small skew), was issued by this server for that tenant, and is meant for
//! Microsoft Graph. The route's permission rule (from the official permission reference, see
//! [`crate::authz_table`]) then decides: an app token needs one of the rule's application
//! permissions in `roles`, a delegated token one of its delegated permissions in `scp`.
//! Tenant isolation follows by construction: the principal's tenant is the token's.

use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use cerulean_identity::{ClaimExpectations, IdentityError, JwtError};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use uuid::Uuid;

use crate::GraphState;
use crate::error::GraphError;

/// The app id of Microsoft Graph, also an accepted audience.
const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";

/// The authenticated caller of a Graph request.
#[derive(Debug, Clone)]
pub struct Principal {
    pub tenant: Uuid,
    /// The service principal (app tokens) or user (delegated tokens).
    pub object_id: Uuid,
    pub app_id: Arc<str>,
    pub display_name: Option<Arc<str>>,
    /// Application permissions (`roles`).
    pub roles: Arc<[String]>,
    /// Delegated permissions (`scp`).
    pub scopes: Arc<[String]>,
    pub delegated: bool,
    /// The token's `exp` (Unix seconds).
    pub expires_at: i64,
    /// Delegated tokens: the signed-in user's directory role template ids (`wids`), which
    /// bound what the user may do (see [`crate::delegated`]).
    pub wids: Arc<[String]>,
    /// Delegated tokens: the signed-in user's principal name (`upn`).
    pub upn: Option<Arc<str>>,
}

/// Principals already authenticated, by their exact bearer token, until the token expires: a
/// repeated token then costs one hash lookup instead of decoding, verifying and re-checking
/// it (STACK.md: a verify alone costs more than a whole static request). Bounded: a full
/// shard drops its expired entries, then an arbitrary one. One cache serves every version of
/// one server (its keys and tenants); it is never shared across servers.
pub struct PrincipalCache {
    shards: Vec<Mutex<HashMap<Box<str>, Arc<Principal>>>>,
}

const CACHE_SHARDS: usize = 16;
const CACHE_SHARD_CAPACITY: usize = 1024;

impl Default for PrincipalCache {
    fn default() -> Self {
        PrincipalCache { shards: (0..CACHE_SHARDS).map(|_| Mutex::new(HashMap::new())).collect() }
    }
}

impl PrincipalCache {
    fn shard(&self, token: &str) -> &Mutex<HashMap<Box<str>, Arc<Principal>>> {
        // The signature's last bytes are uniformly distributed.
        let tail =
            token.as_bytes().iter().rev().take(4).fold(0usize, |h, b| h.wrapping_mul(31).wrapping_add(*b as usize));
        &self.shards[tail % CACHE_SHARDS]
    }

    fn get(&self, token: &str, now: i64) -> Option<Arc<Principal>> {
        let shard = self.shard(token).lock().unwrap_or_else(|p| p.into_inner());
        shard.get(token).filter(|p| p.expires_at > now).cloned()
    }

    fn insert(&self, token: &str, principal: Arc<Principal>, now: i64) {
        let mut shard = self.shard(token).lock().unwrap_or_else(|p| p.into_inner());
        if shard.len() >= CACHE_SHARD_CAPACITY {
            shard.retain(|_, p| p.expires_at > now);
            if shard.len() >= CACHE_SHARD_CAPACITY
                && let Some(k) = shard.keys().next().cloned()
            {
                shard.remove(&k);
            }
        }
        shard.insert(token.into(), principal);
    }
}

fn unauthorized(state: &GraphState, message: &str) -> GraphError {
    let mut e = GraphError::new(401, "InvalidAuthenticationToken", message);
    e.challenge = Some(format!(
        "Bearer realm=\"\", authorization_uri=\"{}/common/oauth2/authorize\", client_id=\"{GRAPH_APP_ID}\"",
        state.public_url
    ));
    e
}

/// Reads the `tid` claim without verifying anything: it only selects whose keys to verify
/// with. Everything it says is checked afterwards.
pub(crate) fn unverified_tenant(token: &str) -> Option<Uuid> {
    use base64::Engine;
    let payload = token.split('.').nth(1)?;
    if payload.len() > 16 * 1024 {
        return None;
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let claims: serde_json::Map<String, Value> = serde_json::from_slice(&bytes).ok()?;
    Uuid::parse_str(claims.get("tid")?.as_str()?).ok()
}

pub(crate) async fn authenticate(state: &GraphState, headers: &HeaderMap) -> Result<Arc<Principal>, GraphError> {
    let Some(value) = headers.get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
        return Err(unauthorized(state, "Access token is empty."));
    };
    let token = match value.split_once(' ') {
        Some((scheme, t)) if scheme.eq_ignore_ascii_case("bearer") && !t.trim().is_empty() => t.trim(),
        _ => return Err(unauthorized(state, "Access token is empty.")),
    };
    let now = cerulean_store::clock::now().unix_timestamp();
    if let Some(p) = state.principals.get(token, now) {
        return Ok(p);
    }
    let principal = Arc::new(verify(state, token).await?);
    state.principals.insert(token, principal.clone(), now);
    Ok(principal)
}

/// Full verification of a token not seen before.
async fn verify(state: &GraphState, token: &str) -> Result<Principal, GraphError> {
    let invalid = || unauthorized(state, "Access token validation failure. Invalid token.");
    let tenant = unverified_tenant(token).ok_or_else(invalid)?;
    // Verification only uses keys the tenant already has (an unknown tenant has none and is
    // refused), so a `tid` in a token never causes key material to be created.
    let public = state.public_url.as_ref();
    let expected = ClaimExpectations {
        issuers: vec![format!("{public}/{tenant}/"), format!("{public}/{tenant}/v2.0")],
        audiences: vec![
            "https://graph.microsoft.com".into(),
            "https://graph.microsoft.com/".into(),
            GRAPH_APP_ID.into(),
            public.to_string(),
            format!("{public}/"),
        ],
        tenant_id: Some(tenant.to_string()),
        ..ClaimExpectations::default()
    };
    let claims = state.tokens.verify(tenant, token, &expected).await.map_err(|e| match e {
        IdentityError::Jwt(JwtError::Expired) => {
            unauthorized(state, "Lifetime validation failed, the token is expired.")
        }
        IdentityError::Jwt(JwtError::NotYetValid) => {
            unauthorized(state, "Lifetime validation failed, the token is not yet valid.")
        }
        IdentityError::Jwt(JwtError::InvalidAudience) => {
            unauthorized(state, "Access token validation failure. Invalid audience.")
        }
        IdentityError::Jwt(JwtError::InvalidIssuer) => {
            unauthorized(state, "Access token validation failure. Invalid issuer.")
        }
        IdentityError::Jwt(JwtError::BadSignature | JwtError::UnknownKey) => {
            unauthorized(state, "Access token validation failure. Invalid signature.")
        }
        // Cerulean's wording: Graph has no forge to refuse tokens of.
        IdentityError::Jwt(JwtError::Forged) => unauthorized(
            state,
            "Access token validation failure. The token was made by the emulator's token forge, which Cerulean does not accept.",
        ),
        IdentityError::Jwt(_) => invalid(),
        other => {
            tracing::error!(error = %other, "token verification failed");
            GraphError::new(500, "Service_InternalServerError", "An internal server error occurred.")
        }
    })?;
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    let object_id = text("oid").and_then(|s| Uuid::parse_str(s).ok()).ok_or_else(invalid)?;
    let scopes: Vec<String> =
        text("scp").map(|s| s.split(' ').filter(|x| !x.is_empty()).map(str::to_string).collect()).unwrap_or_default();
    let roles: Vec<String> = claims
        .get("roles")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default();
    Ok(Principal {
        tenant,
        object_id,
        app_id: Arc::from(text("appid").or_else(|| text("azp")).unwrap_or_default()),
        display_name: text("app_displayname").or_else(|| text("name")).map(Arc::from),
        delegated: text("scp").is_some(),
        roles: roles.into(),
        scopes: scopes.into(),
        expires_at: claims.get("exp").and_then(Value::as_i64).unwrap_or(0),
        wids: claims
            .get("wids")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_ascii_lowercase).collect::<Vec<_>>())
            .unwrap_or_default()
            .into(),
        upn: text("upn").map(Arc::from),
    })
}

/// The permission-reference form of a matched route: version prefix removed, lower-case,
/// every parameter written `{id}`.
pub(crate) fn reference_path(matched: &str) -> String {
    let without_version = matched.strip_prefix("/v1.0").or_else(|| matched.strip_prefix("/beta")).unwrap_or(matched);
    without_version
        .split('/')
        .map(
            |seg| {
                if seg.starts_with('{') && seg.ends_with('}') { "{id}".to_string() } else { seg.to_ascii_lowercase() }
            },
        )
        .collect::<Vec<_>>()
        .join("/")
}

/// Whether `principal` holds a permission the rule for `method` + `path` accepts.
/// The reference rule and the supplement (see [`crate::authz_supplement`]) both grant.
pub(crate) fn permitted(principal: &Principal, method: &str, path: &str) -> bool {
    RouteAuthz::resolve(method, path).permits(principal)
}

/// The permission rules of one method on one route template, resolved from the tables once.
/// The tables are scanned linearly (a thousand rules, compared segment by segment), which
/// is too much to repeat on every request of a hot route.
pub(crate) struct RouteAuthz {
    /// The permission-reference form of the route ([`reference_path`]).
    path: String,
    reference: Option<&'static crate::authz_table::RouteRule>,
    supplement: Option<&'static crate::authz_supplement::SupplementRule>,
}

/// Resolved rules by method, then by the router's matched route: bounded by the routes the
/// router declares, so it never needs eviction.
type RouteAuthzCache = HashMap<axum::http::Method, HashMap<Box<str>, Arc<RouteAuthz>>>;

static ROUTE_AUTHZ: std::sync::LazyLock<std::sync::RwLock<RouteAuthzCache>> =
    std::sync::LazyLock::new(Default::default);

impl RouteAuthz {
    /// The rules of `method` on the reference path `path`.
    fn resolve(method: &str, path: &str) -> RouteAuthz {
        let aliased = crate::authz_supplement::alias(path).unwrap_or(path);
        RouteAuthz {
            path: path.to_string(),
            reference: crate::authz_table::lookup(method, aliased),
            supplement: crate::authz_supplement::lookup(method, aliased),
        }
    }

    /// The rules of `method` on the router's matched route `matched` (`/v1.0/users/{id}`),
    /// from the cache after the first request of the route.
    fn of_matched(method: &axum::http::Method, matched: &str) -> Arc<RouteAuthz> {
        let cached =
            ROUTE_AUTHZ.read().unwrap_or_else(|p| p.into_inner()).get(method).and_then(|m| m.get(matched).cloned());
        if let Some(found) = cached {
            return found;
        }
        let resolved = Arc::new(RouteAuthz::resolve(method.as_str(), &reference_path(matched)));
        let mut cache = ROUTE_AUTHZ.write().unwrap_or_else(|p| p.into_inner());
        cache.entry(method.clone()).or_default().insert(matched.into(), resolved.clone());
        resolved
    }

    fn permits(&self, principal: &Principal) -> bool {
        let held = if principal.delegated { &principal.scopes } else { &principal.roles };
        let holds = |allowed: &[&str]| held.iter().any(|h| allowed.iter().any(|a| implies(h, a)));
        let pick =
            |app: &'static [&'static str], del: &'static [&'static str]| if principal.delegated { del } else { app };
        self.reference.is_some_and(|r| holds(pick(r.application, r.delegated)))
            || self.supplement.is_some_and(|r| holds(pick(r.application, r.delegated)))
    }
}

/// Whether holding permission `held` grants `wanted`: the same permission, or its read-write
/// form (`X.ReadWrite.Y` includes `X.Read.Y`, as Graph's permission docs state; the
/// reference lists only the least-privileged read permission on some read paths).
fn implies(held: &str, wanted: &str) -> bool {
    if held.eq_ignore_ascii_case(wanted) {
        return true;
    }
    // `X.ReadWrite.Y` is `X.Read.Y` with "Write" added: any other length difference rules the
    // pair out before splitting. Every request checks each permission of its token (the
    // bootstrap app holds dozens) against the route's; callgrind put the splitting at ~15% of
    // the instructions of an authenticated `GET /users/{id}`.
    if held.len() != wanted.len() + "Write".len() {
        return false;
    }
    let mut h = held.split('.');
    let mut w = wanted.split('.');
    match (h.next(), h.next(), w.next(), w.next()) {
        (Some(hr), Some(hm), Some(wr), Some(wm)) => {
            hr.eq_ignore_ascii_case(wr)
                && hm.eq_ignore_ascii_case("ReadWrite")
                && wm.eq_ignore_ascii_case("Read")
                && h.map(str::to_ascii_lowercase).eq(w.map(str::to_ascii_lowercase))
        }
        _ => false,
    }
}

/// Graph ("application: addKey"): "Applications don't need any specific permission to roll
/// their own keys." An app token may call `addKey` / `removeKey` on its own application or
/// service principal (the proof of possession then decides); anything else needs the
/// permissions of the table.
async fn rolls_own_keys(state: &GraphState, principal: &Principal, method: &str, path: &str, uri_path: &str) -> bool {
    let object_type = match path {
        "/applications/{id}/addkey" | "/applications/{id}/removekey" => "application",
        "/serviceprincipals/{id}/addkey" | "/serviceprincipals/{id}/removekey" => "servicePrincipal",
        _ => return false,
    };
    if principal.delegated || method != "POST" {
        return false;
    }
    let Some(raw) = uri_path.rsplit('/').nth(1) else {
        return false;
    };
    let key = percent_encoding::percent_decode_str(raw).decode_utf8_lossy();
    let found = if object_type == "application" {
        state.directory.find_application(principal.tenant, &key).await
    } else {
        state.directory.find_service_principal(principal.tenant, &key).await
    };
    found
        .ok()
        .and_then(|o| o.doc.get("appId").and_then(Value::as_str).map(str::to_string))
        .is_some_and(|app_id| app_id.eq_ignore_ascii_case(&principal.app_id))
}

/// The largest user-update body the delegated check reads (axum's default body limit).
const MAX_UPDATE_BODY: usize = 2 * 1024 * 1024;

/// The middleware on every protected Graph route.
pub(crate) async fn authorize(State(state): State<GraphState>, mut req: Request, next: Next) -> Response {
    let principal = match authenticate(&state, req.headers()).await {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let route = match req.extensions().get::<MatchedPath>() {
        Some(m) => RouteAuthz::of_matched(req.method(), m.as_str()),
        None => Arc::new(RouteAuthz::resolve(req.method().as_str(), "")),
    };
    let path = route.path.as_str();
    // An app token the table allows (the hot path) needs neither the method nor the URI path
    // as owned strings: they are copied only for the checks that hold them across an await.
    let allowed = route.permits(&principal) || {
        let (method, uri_path) = (req.method().as_str().to_string(), req.uri().path().to_string());
        rolls_own_keys(&state, &principal, &method, path, &uri_path).await
    };
    let bounded = if allowed && principal.delegated {
        let (method, uri_path) = (req.method().as_str().to_string(), req.uri().path().to_string());
        // A user update needs the actions of the properties it sets: read its body first.
        let mut body = None;
        if method == "PATCH" && path == "/users/{id}" {
            let (parts, raw) = req.into_parts();
            let Ok(bytes) = axum::body::to_bytes(raw, MAX_UPDATE_BODY).await else {
                return GraphError::new(413, "Request_BadRequest", "The request body is too large.").into_response();
            };
            body = Some(serde_json::from_slice::<serde_json::Map<String, Value>>(&bytes).unwrap_or_default());
            req = Request::from_parts(parts, axum::body::Body::from(bytes));
        }
        match crate::delegated::user_may(&state, &principal, &method, path, &uri_path, body.as_ref()).await {
            Ok(may) => !may,
            Err(e) => return e.into_response(),
        }
    } else if allowed && cerulean_directory::delegated::role_assignable_need(req.method().as_str(), path).is_some() {
        // An app editing a group that may hold roles (rare: the hot path skips the lookup).
        let (method, uri_path) = (req.method().as_str().to_string(), req.uri().path().to_string());
        match crate::delegated::app_may(&state, &principal, &method, path, &uri_path).await {
            Ok(may) => !may,
            Err(e) => return e.into_response(),
        }
    } else {
        false
    };
    if !allowed || bounded {
        return GraphError::new(
            403,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        )
        .into_response();
    }
    req.extensions_mut().insert(Principal::clone(&principal));
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_write_implies_read() {
        assert!(implies("Directory.ReadWrite.All", "Directory.Read.All"));
        assert!(implies("user.readwrite.all", "User.Read.All"));
        assert!(!implies("User.Read.All", "User.ReadWrite.All"));
        assert!(!implies("Group.ReadWrite.All", "User.Read.All"));
        assert!(!implies("User.ReadWrite.All", "User.Read"));
        assert!(implies("Mail.ReadWrite.Shared", "mail.read.shared"));
        // Five characters longer without being the read-write form.
        assert!(!implies("Users.ReadWrite.All", "User.Read.AllX"));
        assert!(!implies("Group1.Read.All", "Group.Read.All") && !implies("Sites.Write.All", "Sites.All"));
        assert!(!implies("User.ReadWrite.All.X", "User.Read.All.Y"));
    }

    #[test]
    fn reference_paths() {
        assert_eq!(reference_path("/v1.0/users/{id}/memberof"), "/users/{id}/memberof");
        assert_eq!(reference_path("/beta/groups/{id}/members/{member}/$ref"), "/groups/{id}/members/{id}/$ref");
    }
}
