//! Emulator aids for tests (Cerulean's own, not part of any Microsoft API), under
//! `/cerulean/emulator`. They exist to test *clients*: a token validator against forged
//! tokens, expiry handling against a moved clock, retry logic against injected faults. They are
//! off unless the server runs with `--emulator-aids`; until then every aid route answers 404
//! with a message that says how to enable them.
//!
//! | route | aid |
//! |---|---|
//! | `POST /cerulean/emulator/tokens` | a token with arbitrary claims, expired, or badly signed |
//! | `GET /cerulean/emulator/clock` | the server clock: `now`, `frozen`, `offsetSeconds` |
//! | `POST /cerulean/emulator/clock/{freeze,unfreeze,reset}` | stop, restart, or reset time (operator's tenant only) |
//! | `POST /cerulean/emulator/clock/advance` | `{"seconds": n}` moves time forward (or back) (operator's tenant only) |
//! | `GET`/`POST`/`DELETE /cerulean/emulator/faults` | list, add, clear injected faults |
//! | `DELETE /cerulean/emulator/faults/{id}` | remove one fault |
//!
//! Authorization is the admin routes' (`/cerulean/admin`): a Global Administrator's delegated
//! token or an app token with `Directory.ReadWrite.All`. One server may host several tenants,
//! and an aid never reaches past its caller's tenant: forged tokens are for the caller's tenant
//! and carry a marker that Cerulean's own validators refuse (`cerulean_identity::jwt::FORGED_HEADER`);
//! faults fire only for requests of the caller's tenant; and the clock, which is one for the
//! whole process, is moved only by administrators of the operator's tenant (the one bootstrapped
//! on first start, whose credentials `bootstrap.json` holds).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use cerulean_identity::forge::ForgedSignature;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::GraphState;
use crate::error::GraphError;
use crate::signing_keys::admin_of;

/// Where every aid route lives.
pub const PREFIX: &str = "/cerulean/emulator";

/// How many faults a tenant may configure at once (each request is matched against all of them).
const MAX_FAULTS: usize = 100;
/// The longest injected latency (a minute is already longer than any client's timeout).
const MAX_LATENCY_MS: u64 = 60_000;

/// The state of the aid routes.
#[derive(Clone)]
pub struct EmulatorState {
    pub graph: GraphState,
    /// `--emulator-aids`.
    pub enabled: bool,
    pub faults: Arc<Faults>,
}

/// The aid routes, to be merged at the root of the server (always: disabled, they refuse).
pub fn emulator_router(state: EmulatorState) -> Router {
    Router::new()
        .route("/cerulean/emulator/tokens", post(forge))
        .route("/cerulean/emulator/clock", get(clock))
        .route("/cerulean/emulator/clock/{action}", post(clock_action))
        .route("/cerulean/emulator/faults", get(list_faults).post(add_fault).delete(clear_faults))
        .route("/cerulean/emulator/faults/{id}", delete(remove_fault))
        .layer(axum::middleware::from_fn(crate::error::finish_errors))
        .with_state(state)
}

/// Refuses when the aids are off, then requires an administrator.
async fn guard(state: &EmulatorState, headers: &HeaderMap) -> Result<crate::Principal, GraphError> {
    if !state.enabled {
        return Err(GraphError::new(
            404,
            "Request_ResourceNotFound",
            "Emulator aids are disabled on this server; start it with --emulator-aids to use /cerulean/emulator.",
        ));
    }
    admin_of(&state.graph, headers).await
}

/// The clock is one for the whole process, so moving it is reserved to administrators of the
/// operator's tenant (bootstrapped on first start): another tenant's administrator would move
/// time for every tenant of the server (expiring their tokens, purging their recycle bins).
async fn operator_only(state: &EmulatorState, p: &crate::Principal) -> Result<(), GraphError> {
    let operator = state.graph.directory.bootstrap_tenant_id().await.map_err(|e| {
        tracing::error!(error = %e, "reading the bootstrap tenant failed");
        GraphError::new(500, "Service_InternalServerError", "An internal server error occurred.")
    })?;
    if operator != Some(p.tenant) {
        return Err(GraphError::new(
            403,
            "Authorization_RequestDenied",
            "The clock is shared by every tenant of this server: only administrators of the tenant bootstrapped on its first start may move it.",
        ));
    }
    Ok(())
}

fn json_body(body: &Bytes) -> Result<Map<String, Value>, GraphError> {
    if body.is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(GraphError::bad_request("The request body must be a JSON object.")),
    }
}

/// `POST /cerulean/emulator/tokens`: `{"claims": {...}, "tenantId", "lifetimeSeconds",
/// "expired", "signature": "valid"|"wrongKey"|"corrupted"|"none"}`. The defaults are a v2.0
/// access token for Microsoft Graph about the caller, valid for an hour; `claims` are laid over
/// them (a `null` removes a default claim). Answers `{"token", "claims"}`.
async fn forge(State(state): State<EmulatorState>, headers: HeaderMap, body: Bytes) -> Result<Response, GraphError> {
    let p = guard(&state, &headers).await?;
    let body = json_body(&body)?;
    let tenant = match body.get("tenantId") {
        None | Some(Value::Null) => p.tenant,
        Some(Value::String(t)) => {
            Uuid::parse_str(t).map_err(|_| GraphError::bad_request("tenantId must be a GUID."))?
        }
        Some(_) => return Err(GraphError::bad_request("tenantId must be a GUID.")),
    };
    // An administrator of one tenant must not obtain tokens signed by another tenant's keys:
    // one server with aids on may host several tenants, and isolation holds there too.
    if tenant != p.tenant {
        return Err(GraphError::new(
            403,
            "Authorization_RequestDenied",
            "A token can be forged only for the caller's own tenant.",
        ));
    }
    let signature = match body.get("signature") {
        None | Some(Value::Null) => ForgedSignature::Valid,
        Some(Value::String(s)) => ForgedSignature::parse(s).ok_or_else(|| {
            GraphError::bad_request(format!("Unknown signature '{s}': expected valid, wrongKey, corrupted or none."))
        })?,
        Some(_) => return Err(GraphError::bad_request("signature must be a string.")),
    };
    let lifetime = match body.get("lifetimeSeconds") {
        None | Some(Value::Null) => 3600,
        Some(v) => v
            .as_i64()
            .filter(|s| *s > 0)
            .ok_or_else(|| GraphError::bad_request("lifetimeSeconds must be a positive integer."))?,
    };
    let expired = match body.get("expired") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(GraphError::bad_request("expired must be a boolean.")),
    };
    let overrides = match body.get("claims") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return Err(GraphError::bad_request("claims must be a JSON object.")),
    };
    let now = cerulean_store::clock::unix_now();
    // An expired token expired five minutes ago, past any validator's clock skew allowance.
    let (iat, exp) = if expired { (now - 300 - lifetime, now - 300) } else { (now, now + lifetime) };
    let public = state.graph.public_url.as_ref();
    let mut claims = Map::new();
    claims.insert("aud".into(), json!("https://graph.microsoft.com"));
    claims.insert("iss".into(), json!(format!("{public}/{tenant}/v2.0")));
    claims.insert("iat".into(), json!(iat));
    claims.insert("nbf".into(), json!(iat));
    claims.insert("exp".into(), json!(exp));
    claims.insert("tid".into(), json!(tenant.to_string()));
    claims.insert("oid".into(), json!(p.object_id.to_string()));
    claims.insert("sub".into(), json!(p.object_id.to_string()));
    claims.insert("ver".into(), json!("2.0"));
    claims.insert("uti".into(), json!(Uuid::new_v4().simple().to_string()));
    for (name, value) in overrides {
        if value.is_null() {
            claims.remove(&name);
        } else {
            claims.insert(name, value);
        }
    }
    let token = state.graph.tokens.forge(tenant, &claims, signature).await.map_err(|e| {
        tracing::error!(error = %e, "forging a token failed");
        GraphError::new(500, "Service_InternalServerError", "An internal server error occurred.")
    })?;
    Ok((StatusCode::OK, axum::Json(json!({ "token": token, "claims": claims }))).into_response())
}

fn clock_state() -> Value {
    let (frozen, offset) = cerulean_store::clock::state();
    let now = cerulean_store::clock::now().format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
    json!({ "now": now, "frozen": frozen, "offsetSeconds": offset })
}

/// `GET /cerulean/emulator/clock`.
async fn clock(State(state): State<EmulatorState>, headers: HeaderMap) -> Result<Response, GraphError> {
    guard(&state, &headers).await?;
    Ok(axum::Json(clock_state()).into_response())
}

/// `POST /cerulean/emulator/clock/{freeze|unfreeze|advance|reset}`; answers the clock.
async fn clock_action(
    State(state): State<EmulatorState>,
    Path(action): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, GraphError> {
    let p = guard(&state, &headers).await?;
    operator_only(&state, &p).await?;
    match action.as_str() {
        "freeze" => cerulean_store::clock::freeze(),
        "unfreeze" => cerulean_store::clock::unfreeze(),
        "reset" => cerulean_store::clock::reset(),
        "advance" => {
            let seconds = json_body(&body)?
                .get("seconds")
                .and_then(Value::as_i64)
                // Ten years either way: farther is a mistake, and keeps the arithmetic safe.
                .filter(|s| s.abs() <= 10 * 366 * 86_400)
                .ok_or_else(|| {
                    GraphError::bad_request("advance takes {\"seconds\": n}, an integer of at most ten years.")
                })?;
            cerulean_store::clock::advance(seconds);
        }
        other => {
            return Err(GraphError::new(
                404,
                "Request_ResourceNotFound",
                format!("Unknown clock action '{other}': expected freeze, unfreeze, advance or reset."),
            ));
        }
    }
    Ok(axum::Json(clock_state()).into_response())
}

/// One injected fault: requests whose method and path match are answered with `status` (or,
/// without one, passed on) after `latency_ms`, with probability `probability`, at most
/// `remaining` more times when a count was given.
#[derive(Debug, Clone)]
struct Fault {
    id: Uuid,
    /// The tenant whose administrator added it: the fault fires only for that tenant's requests.
    tenant: Uuid,
    /// How a path names that tenant (its id and domains, lower-cased, when the fault was added).
    names: Vec<String>,
    /// Added by an administrator of the operator's tenant: it also fires for requests that name
    /// no tenant at all (`/common/...`, IMDS, `/healthz`).
    operator: bool,
    method: Option<String>,
    path: String,
    status: Option<u16>,
    latency_ms: u64,
    probability: f64,
    remaining: Option<u64>,
}

impl Fault {
    fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "method": self.method.as_deref().unwrap_or("*"),
            "path": self.path,
            "status": self.status,
            "latencyMs": self.latency_ms,
            "probability": self.probability,
            "remaining": self.remaining,
        })
    }

    fn matches(&self, method: &str, path: &str, owner: &RequestTenant) -> bool {
        self.method.as_deref().is_none_or(|m| m.eq_ignore_ascii_case(method))
            && path_matches(&self.path, path)
            && self.belongs(owner)
    }

    /// Whether the request is this fault's tenant's: its bearer token names the tenant, or its
    /// first path segment does (`/{tenant}/oauth2/...`, Azure AD Graph's `/{tenant}/users`); a
    /// request that names no tenant only for the operator's faults.
    fn belongs(&self, owner: &RequestTenant) -> bool {
        if owner.tid == Some(self.tenant) || self.names.contains(&owner.segment) {
            return true;
        }
        self.operator && owner.tid.is_none() && !names_a_tenant(&owner.segment)
    }
}

/// What a request says of its tenant, read without verifying anything: an unverified `tid`
/// only lets a caller fault its own request, never another tenant's genuine ones.
#[derive(Debug, Default)]
pub(crate) struct RequestTenant {
    /// The bearer token's `tid`, if the request carries one.
    tid: Option<Uuid>,
    /// The first path segment, lower-cased.
    segment: String,
}

impl RequestTenant {
    fn of(req: &Request) -> RequestTenant {
        let tid = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .and_then(|(_, token)| crate::auth::unverified_tenant(token.trim()));
        let segment =
            req.uri().path().trim_start_matches('/').split('/').next().unwrap_or_default().to_ascii_lowercase();
        RequestTenant { tid, segment }
    }
}

/// A segment that could name a tenant: a GUID or a domain (domains have a dot; `common`,
/// `organizations`, `metadata` and `healthz` do not).
fn names_a_tenant(segment: &str) -> bool {
    Uuid::parse_str(segment).is_ok() || segment.contains('.')
}

/// A pattern is a path whose segments are literal (compared without case, as Graph's are),
/// `*` (any one segment), or a final `**` (any rest, including nothing).
fn path_matches(pattern: &str, path: &str) -> bool {
    let mut want = pattern.trim_matches('/').split('/');
    let mut have = path.trim_matches('/').split('/');
    loop {
        match (want.next(), have.next()) {
            (Some("**"), _) => return true,
            (None, None) => return true,
            (Some("*"), Some(_)) => {}
            (Some(w), Some(h)) if w.eq_ignore_ascii_case(h) => {}
            _ => return false,
        }
    }
}

/// The configured faults, shared by the aid routes and the injecting middleware.
#[derive(Debug, Default)]
pub struct Faults {
    rules: Mutex<Vec<Fault>>,
}

impl Faults {
    /// The first fault that fires for this request (counting it down), if any.
    fn fire(&self, method: &str, path: &str, owner: &RequestTenant) -> Option<Fault> {
        let mut rules = self.rules.lock().unwrap_or_else(|p| p.into_inner());
        if rules.is_empty() {
            return None;
        }
        let index = rules.iter().position(|f| {
            f.matches(method, path, owner)
                && f.remaining != Some(0)
                && (f.probability >= 1.0 || random_unit() < f.probability)
        })?;
        let fault = &mut rules[index];
        if let Some(n) = fault.remaining.as_mut() {
            *n -= 1;
        }
        Some(fault.clone())
    }
}

/// A uniform number in [0, 1), from the operating system's generator (through a v4 UUID, to
/// need no other dependency).
fn random_unit() -> f64 {
    let bits = Uuid::new_v4().as_u64_pair().0 >> 11;
    bits as f64 / (1u64 << 53) as f64
}

/// Applies the configured faults to every request outside the aid routes (so that faults can
/// always be listed and cleared). Installed only when the aids are enabled.
pub async fn inject_faults(State(faults): State<Arc<Faults>>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if path.starts_with(PREFIX) {
        return next.run(req).await;
    }
    let owner = RequestTenant::of(&req);
    let Some(fault) = faults.fire(req.method().as_str(), path, &owner) else {
        return next.run(req).await;
    };
    if fault.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(fault.latency_ms)).await;
    }
    let Some(status) = fault.status.and_then(|s| StatusCode::from_u16(s).ok()) else {
        return next.run(req).await;
    };
    let code = match status.as_u16() {
        429 => "TooManyRequests",
        503 => "ServiceUnavailable",
        s if s >= 500 => "Service_InternalServerError",
        _ => "Request_BadRequest",
    };
    let body = json!({ "error": {
        "code": code,
        "message": format!("Fault injected by the Cerulean emulator (fault {}).", fault.id),
    }});
    let mut res = Response::new(Body::from(body.to_string()));
    *res.status_mut() = status;
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if matches!(status.as_u16(), 429 | 503) {
        res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    res
}

/// `GET /cerulean/emulator/faults`.
async fn list_faults(State(state): State<EmulatorState>, headers: HeaderMap) -> Result<Response, GraphError> {
    let p = guard(&state, &headers).await?;
    let rules = state.faults.rules.lock().unwrap_or_else(|p| p.into_inner());
    let own: Vec<Value> = rules.iter().filter(|f| f.tenant == p.tenant).map(Fault::to_json).collect();
    Ok(axum::Json(json!({ "value": own })).into_response())
}

/// `POST /cerulean/emulator/faults`: `{"path", "method", "status", "latencyMs",
/// "probability", "count"}`; `path` is required, and so is one of `status` and `latencyMs`.
async fn add_fault(
    State(state): State<EmulatorState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, GraphError> {
    let p = guard(&state, &headers).await?;
    let body = json_body(&body)?;
    for key in body.keys() {
        if !["path", "method", "status", "latencyMs", "probability", "count"].contains(&key.as_str()) {
            return Err(GraphError::bad_request(format!("Unknown fault property '{key}'.")));
        }
    }
    let path = body
        .get("path")
        .and_then(Value::as_str)
        .filter(|p| p.starts_with('/'))
        .ok_or_else(|| GraphError::bad_request("path is required: a path pattern starting with '/'."))?;
    let method = match body.get("method") {
        None | Some(Value::Null) => None,
        Some(Value::String(m)) if m == "*" => None,
        Some(Value::String(m)) if !m.is_empty() && m.chars().all(|c| c.is_ascii_alphabetic()) => {
            Some(m.to_ascii_uppercase())
        }
        Some(_) => return Err(GraphError::bad_request("method must be an HTTP method name or '*'.")),
    };
    let status = match body.get("status") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .filter(|s| (400..=599).contains(s))
                .and_then(|s| u16::try_from(s).ok())
                .ok_or_else(|| GraphError::bad_request("status must be an HTTP error status (400-599)."))?,
        ),
    };
    let latency_ms = match body.get("latencyMs") {
        None | Some(Value::Null) => 0,
        Some(v) => v
            .as_u64()
            .filter(|l| *l <= MAX_LATENCY_MS)
            .ok_or_else(|| GraphError::bad_request("latencyMs must be an integer from 0 to 60000."))?,
    };
    let probability = match body.get("probability") {
        None | Some(Value::Null) => 1.0,
        Some(v) => v
            .as_f64()
            .filter(|p| *p > 0.0 && *p <= 1.0)
            .ok_or_else(|| GraphError::bad_request("probability must be a number in (0, 1]."))?,
    };
    let remaining = match body.get("count") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .filter(|c| *c > 0)
                .ok_or_else(|| GraphError::bad_request("count must be a positive integer."))?,
        ),
    };
    if status.is_none() && latency_ms == 0 {
        return Err(GraphError::bad_request("A fault needs a status, a latencyMs, or both."));
    }
    let internal = |e: cerulean_directory::DirectoryError| {
        tracing::error!(error = %e, "reading the caller's tenant failed");
        GraphError::new(500, "Service_InternalServerError", "An internal server error occurred.")
    };
    let mut names = vec![p.tenant.to_string()];
    if let Some(t) = state.graph.directory.resolve_tenant(&p.tenant.to_string()).await.map_err(internal)? {
        names.extend(t.domains.iter().map(|d| d.name.to_ascii_lowercase()));
    }
    let operator = state.graph.directory.bootstrap_tenant_id().await.map_err(internal)? == Some(p.tenant);
    let fault = Fault {
        id: Uuid::new_v4(),
        tenant: p.tenant,
        names,
        operator,
        method,
        path: path.to_string(),
        status,
        latency_ms,
        probability,
        remaining,
    };
    let mut rules = state.faults.rules.lock().unwrap_or_else(|p| p.into_inner());
    // Per tenant, so that one tenant cannot use up every other tenant's room.
    if rules.iter().filter(|f| f.tenant == p.tenant).count() >= MAX_FAULTS {
        return Err(GraphError::bad_request(format!("At most {MAX_FAULTS} faults may be configured.")));
    }
    rules.push(fault.clone());
    Ok((StatusCode::CREATED, axum::Json(fault.to_json())).into_response())
}

/// `DELETE /cerulean/emulator/faults`: 204.
async fn clear_faults(State(state): State<EmulatorState>, headers: HeaderMap) -> Result<StatusCode, GraphError> {
    let p = guard(&state, &headers).await?;
    state.faults.rules.lock().unwrap_or_else(|p| p.into_inner()).retain(|f| f.tenant != p.tenant);
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /cerulean/emulator/faults/{id}`: 204, or 404 for a fault that is not configured.
async fn remove_fault(
    State(state): State<EmulatorState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode, GraphError> {
    let p = guard(&state, &headers).await?;
    let mut rules = state.faults.rules.lock().unwrap_or_else(|p| p.into_inner());
    let before = rules.len();
    // Another tenant's fault is not there for this caller (404, as for an unknown id).
    rules.retain(|f| f.tenant != p.tenant || !f.id.to_string().eq_ignore_ascii_case(&id));
    if rules.len() == before {
        return Err(GraphError::new(404, "Request_ResourceNotFound", format!("No fault '{id}' is configured.")));
    }
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::path_matches;

    #[test]
    fn patterns() {
        assert!(path_matches("/v1.0/users", "/v1.0/users"));
        assert!(path_matches("/v1.0/USERS", "/v1.0/users/"));
        assert!(path_matches("/v1.0/users/*", "/v1.0/users/abc"));
        assert!(!path_matches("/v1.0/users/*", "/v1.0/users"));
        assert!(!path_matches("/v1.0/users/*", "/v1.0/users/abc/memberOf"));
        assert!(path_matches("/v1.0/**", "/v1.0/users/abc/memberOf"));
        assert!(!path_matches("/v1.0/users", "/v1.0/groups"));
    }
}
