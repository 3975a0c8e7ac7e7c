//! Throttling the way Microsoft Graph throttles the directory ("identity and access") service:
//! every request costs resource units (RU), and each application + tenant pair has a budget of
//! RU that refills continuously over a window. A request the budget cannot pay for is answered
//! `429 Too Many Requests` with `Retry-After`; the Graph SDKs' retry handlers wait that long and
//! retry, so a client that honours the header recovers by itself.
//!
//! Source for every rule here: Microsoft Graph service-specific throttling limits, section
//! "Identity and access service limits" (learn.microsoft.com/graph/throttling-limits, source
//! `concepts/throttling-limits.md` in microsoftgraph/microsoft-graph-docs-contrib), and the
//! throttling guidance (learn.microsoft.com/graph/throttling) for the 429 answer:
//!
//! - "Throttling is based on a token bucket algorithm, which works by adding individual costs
//!   of requests"; the application + tenant pair quota is 3,500 (S, under 50 users), 5,000 (M,
//!   50 to 500 users) or 8,000 (L, above 500 users) RU per 10 seconds. [`ThrottleConfig`]
//!   defaults to the S budget over 10 s; the tenant size is not measured, the operator picks
//!   the budget.
//! - Base costs by operation and path are in [`BASE_COSTS`]; paths not listed cost 1. `$select`
//!   decreases the cost by 1, `$expand` increases it by 1, `$top` below 20 decreases it by 1; a
//!   cost is never below 1; a cost that applies to `me/...` applies to `users/{id}/...` too.
//! - Regular responses carry `x-ms-resource-unit` (the request's cost) and, only when the app
//!   consumed more than 0.8 of its limit, `x-ms-throttle-limit-percentage` (a fraction, 0.8 to
//!   1.8 in Graph; at most 1.0 here since a request over budget is refused, not served).
//! - Throttled responses carry `Retry-After` (seconds), `x-ms-throttle-scope`
//!   (`<Scope>/<Limit>/<ApplicationId>/<TenantId>`, here always
//!   `Tenant_Application/ReadWrite/...`: the RU quota counts reads and writes alike) and
//!   `x-ms-throttle-information` (`ResourceUnitLimitExceeded`), with Graph's error body: code
//!   `TooManyRequests`, message "Please retry again later." (the sample 429 of the guidance).
//!
//! Not modelled: Graph's separate write quota (3,000 writes per 2 min 30 s per pair), the
//! per-application (150,000 RU per 20 s) and per-tenant (18,000 writes per 5 min) limits, the
//! global 130,000 requests per 10 s, `x-ms-throttle-priority`, and the B2C surcharge on user
//! creation. A request the budget refuses is not charged, so retrying after `Retry-After`
//! succeeds (Graph only says usage keeps being logged while throttled; charging refused
//! requests would let a client that retries exactly on time starve forever).
//!
//! State is in memory per node: with several nodes behind a load balancer each node enforces
//! the whole budget on the requests it sees, so a pair spread over N nodes gets up to N times
//! the budget. Set the per-node budget to the share you want each node to allow. Buckets are
//! sharded behind short mutexes (one hash, one lock, a few float operations per request), and
//! memory is bounded: a full shard first drops buckets that have refilled completely (an idle
//! pair is indistinguishable from a new one), then an arbitrary one.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use percent_encoding::percent_decode_str;
use uuid::Uuid;

use crate::GraphState;
use crate::auth::{Principal, reference_path};
use crate::error::GraphError;

/// Graph's base resource-unit costs for the identity and access service: (method, path in the
/// lower-case `{id}` form of [`reference_path`], cost). "Any requests not listed have a base
/// cost of 1" (throttling-limits, "Identity and access service limits"). Rows for routes this
/// server does not serve yet are kept so that a new route is priced as Graph prices it.
pub const BASE_COSTS: &[(&str, &str, u32)] = &[
    ("GET", "/applications", 2),
    ("GET", "/applications/{id}/extensionproperties", 2),
    ("GET", "/contracts", 3),
    ("POST", "/directoryobjects/getbyids", 3),
    ("GET", "/domains/{id}/domainnamereferences", 4),
    ("POST", "/getobjectsbyid", 3),
    ("GET", "/groups/{id}/members", 3),
    ("GET", "/groups/{id}/transitivemembers", 5),
    ("POST", "/ismemberof", 4),
    ("POST", "/me/checkmembergroups", 4),
    ("POST", "/me/checkmemberobjects", 4),
    ("POST", "/me/getmembergroups", 2),
    ("POST", "/me/getmemberobjects", 2),
    ("GET", "/me/licensedetails", 2),
    ("GET", "/me/memberof", 2),
    ("GET", "/me/ownedobjects", 2),
    ("GET", "/me/transitivememberof", 2),
    ("GET", "/oauth2permissiongrants", 2),
    ("GET", "/oauth2permissiongrants/{id}", 2),
    ("GET", "/serviceprincipals/{id}/approleassignments", 2),
    ("GET", "/subscribedskus", 3),
    ("GET", "/users", 2),
];

/// Graph's application + tenant budgets per 10 seconds, by tenant size.
pub const SMALL_TENANT_RU: u32 = 3_500;
pub const MEDIUM_TENANT_RU: u32 = 5_000;
pub const LARGE_TENANT_RU: u32 = 8_000;

/// Graph's window for the application + tenant resource-unit quota.
pub const GRAPH_WINDOW: Duration = Duration::from_secs(10);

/// The resource-unit cost of a request: the base cost of `method` on `path` (the matched route
/// in [`reference_path`] form) adjusted by the query options in `query` (raw query string).
pub fn cost(method: &str, path: &str, query: Option<&str>) -> u32 {
    let mut cost = i64::from(base_cost(method, path));
    let (mut select, mut expand, mut small_top) = (false, false, false);
    for part in query.unwrap_or_default().split('&').filter(|p| !p.is_empty()) {
        let (key, value) = part.split_once('=').unwrap_or((part, ""));
        let key = percent_decode_str(key).decode_utf8_lossy();
        // Graph accepts system query options with or without `$`, in any case.
        let name = key.trim_start_matches('$');
        if name.eq_ignore_ascii_case("select") {
            select = true;
        } else if name.eq_ignore_ascii_case("expand") {
            expand = true;
        } else if name.eq_ignore_ascii_case("top") {
            small_top = percent_decode_str(value).decode_utf8_lossy().trim().parse::<u64>().is_ok_and(|t| t < 20);
        }
    }
    // Each option counts once however often it is repeated (a repeat is refused as a bad
    // request by the handler anyway).
    cost += i64::from(expand) - i64::from(select) - i64::from(small_top);
    u32::try_from(cost.max(1)).unwrap_or(1)
}

/// The table's cost for `method` + `path`, with `users/{id}/...` priced as `me/...` and a
/// trailing type cast (`/microsoft.graph.user`) priced as the collection it filters.
fn base_cost(method: &str, path: &str) -> u32 {
    let path = match path.rsplit_once('/') {
        Some((collection, last)) if last.starts_with("microsoft.graph.") && !collection.is_empty() => collection,
        _ => path,
    };
    let lookup = |p: &str| BASE_COSTS.iter().find(|(m, q, _)| m.eq_ignore_ascii_case(method) && *q == p).map(|r| r.2);
    if let Some(c) = lookup(path) {
        return c;
    }
    if let Some(rest) = path.strip_prefix("/users/{id}/")
        && let Some(c) = lookup(&format!("/me/{rest}"))
    {
        return c;
    }
    1
}

/// The budget of each application + tenant pair.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ThrottleConfig {
    /// Resource units a pair may spend per `window` (also the burst: a bucket starts full).
    pub resource_units: u32,
    /// The time a bucket takes to refill from empty.
    pub window: Duration,
}

impl ThrottleConfig {
    /// `resource_units` per 10 seconds, Graph's window.
    pub fn per_10_seconds(resource_units: u32) -> ThrottleConfig {
        ThrottleConfig { resource_units, window: GRAPH_WINDOW }
    }
}

impl Default for ThrottleConfig {
    /// Graph's budget for a small tenant: 3,500 RU per 10 seconds.
    fn default() -> Self {
        ThrottleConfig::per_10_seconds(SMALL_TENANT_RU)
    }
}

/// Monotonic time since an arbitrary origin. Injectable so tests can move time by hand.
pub type Clock = Arc<dyn Fn() -> Duration + Send + Sync>;

/// What the budget said about one request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Decision {
    /// Served; `used` is the fraction of the budget spent after this request (0.0 to 1.0).
    Allowed { cost: u32, used: f64 },
    /// Refused; the budget will pay for the request after `retry_after` whole seconds.
    Throttled { cost: u32, retry_after: u64 },
}

/// One pair's bucket: tokens available at `at`.
struct Bucket {
    tokens: f64,
    at: Duration,
}

type Shard = HashMap<(Uuid, Arc<str>), Bucket>;

const SHARDS: usize = 16;
/// Pairs kept per shard: 16 x 4,096 pairs, a few MB at most.
const SHARD_CAPACITY: usize = 4096;

/// The per-node resource-unit budgets of every application + tenant pair (see the module doc).
pub struct Throttle {
    config: ThrottleConfig,
    clock: Clock,
    hasher: RandomState,
    shards: Vec<Mutex<Shard>>,
    shard_capacity: usize,
}

impl Throttle {
    /// Budgets on the process's monotonic clock.
    pub fn new(config: ThrottleConfig) -> Throttle {
        let origin = Instant::now();
        Throttle::with_clock(config, Arc::new(move || origin.elapsed()))
    }

    /// Budgets on `clock` (tests).
    pub fn with_clock(config: ThrottleConfig, clock: Clock) -> Throttle {
        Throttle {
            config,
            clock,
            hasher: RandomState::new(),
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            shard_capacity: SHARD_CAPACITY,
        }
    }

    pub fn config(&self) -> ThrottleConfig {
        self.config
    }

    /// Capacity in RU and refill rate in RU per second; a zero budget or window is treated as
    /// the smallest usable one rather than dividing by zero.
    fn capacity_and_rate(&self) -> (f64, f64) {
        let capacity = f64::from(self.config.resource_units.max(1));
        let window = self.config.window.as_secs_f64().max(0.001);
        (capacity, capacity / window)
    }

    /// Charges `cost` RU to the pair `tenant` + `app`, or refuses the request.
    pub fn charge(&self, tenant: Uuid, app: &Arc<str>, cost: u32) -> Decision {
        let now = (self.clock)();
        let (capacity, rate) = self.capacity_and_rate();
        // A request dearer than the whole budget is let through on a full bucket instead of
        // being refused for ever.
        let need = f64::from(cost).min(capacity);
        let key = (tenant, app.clone());
        let index = (self.hasher.hash_one(&key) as usize) % SHARDS;
        let mut shard = self.shards[index].lock().unwrap_or_else(|p| p.into_inner());
        if !shard.contains_key(&key) && shard.len() >= self.shard_capacity {
            evict(&mut shard, now, capacity, rate, self.shard_capacity);
        }
        let bucket = shard.entry(key).or_insert(Bucket { tokens: capacity, at: now });
        let elapsed = now.saturating_sub(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(capacity);
        bucket.at = bucket.at.max(now);
        if bucket.tokens >= need {
            bucket.tokens -= need;
            Decision::Allowed { cost, used: (capacity - bucket.tokens) / capacity }
        } else {
            let seconds = ((need - bucket.tokens) / rate).ceil();
            Decision::Throttled { cost, retry_after: (seconds as u64).max(1) }
        }
    }

    /// Pairs currently held (tests of the memory bound).
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().unwrap_or_else(|p| p.into_inner()).len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Makes room in a full shard: buckets that have refilled completely go first (forgetting
/// them changes nothing), then, if none has, an arbitrary one (that pair gets a fresh budget:
/// the price of bounded memory under more active pairs than the bound).
fn evict(shard: &mut Shard, now: Duration, capacity: f64, rate: f64, limit: usize) {
    shard.retain(|_, b| b.tokens + now.saturating_sub(b.at).as_secs_f64() * rate < capacity);
    if shard.len() >= limit
        && let Some(k) = shard.keys().next().cloned()
    {
        shard.remove(&k);
    }
}

/// The middleware on every protected Graph route, inside the auth layer (it needs the
/// [`Principal`]). Off (a pass-through) unless the server was built with a [`Throttle`].
/// `$batch` sends each inner request through the whole stack, so inner requests are charged
/// and refused one by one, as Graph does; the outer `$batch` request itself costs nothing.
pub(crate) async fn charge(State(state): State<GraphState>, req: Request, next: Next) -> Response {
    let Some(throttle) = state.throttle.as_deref() else {
        return next.run(req).await;
    };
    let Some(principal) = req.extensions().get::<Principal>() else {
        return next.run(req).await;
    };
    let path = req.extensions().get::<MatchedPath>().map(|m| reference_path(m.as_str())).unwrap_or_default();
    let cost = cost(req.method().as_str(), &path, req.uri().query());
    let (tenant, app) = (principal.tenant, principal.app_id.clone());
    match throttle.charge(tenant, &app, cost) {
        Decision::Allowed { cost, used } => {
            let mut res = next.run(req).await;
            let headers = res.headers_mut();
            headers.insert("x-ms-resource-unit", HeaderValue::from(cost));
            if used > 0.8
                && let Ok(v) = HeaderValue::from_str(&format!("{used:.2}"))
            {
                headers.insert("x-ms-throttle-limit-percentage", v);
            }
            res
        }
        Decision::Throttled { retry_after, .. } => {
            tracing::debug!(%tenant, app = %app, cost, retry_after, "throttled");
            let mut res = GraphError::new(429, "TooManyRequests", "Please retry again later.").into_response();
            let headers = res.headers_mut();
            headers.insert(axum::http::header::RETRY_AFTER, HeaderValue::from(retry_after));
            if let Ok(v) = HeaderValue::from_str(&format!("Tenant_Application/ReadWrite/{app}/{tenant}")) {
                headers.insert("x-ms-throttle-scope", v);
            }
            headers.insert("x-ms-throttle-information", HeaderValue::from_static("ResourceUnitLimitExceeded"));
            res
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[test]
    fn costs_follow_the_published_table() {
        assert_eq!(cost("GET", "/users", None), 2);
        assert_eq!(cost("GET", "/users/{id}", None), 1);
        assert_eq!(cost("GET", "/groups/{id}/members", None), 3);
        assert_eq!(cost("GET", "/groups/{id}/members/microsoft.graph.user", None), 3);
        assert_eq!(cost("GET", "/groups/{id}/members/$count", None), 1);
        assert_eq!(cost("GET", "/groups/{id}/transitivemembers", None), 5);
        assert_eq!(cost("GET", "/users/{id}/memberof", None), 2, "me/ costs apply to users/{{id}}/");
        assert_eq!(cost("POST", "/users", None), 1);
        assert_eq!(cost("PATCH", "/users/{id}", None), 1);
        assert_eq!(cost("DELETE", "/groups/{id}/members/{id}/$ref", None), 1);
    }

    #[test]
    fn query_options_adjust_the_cost() {
        assert_eq!(cost("GET", "/users", Some("$select=id")), 1);
        assert_eq!(cost("GET", "/users", Some("%24select=id")), 1);
        assert_eq!(cost("GET", "/users", Some("SELECT=id")), 1);
        assert_eq!(cost("GET", "/users", Some("$expand=manager")), 3);
        assert_eq!(cost("GET", "/users", Some("$top=5")), 1);
        assert_eq!(cost("GET", "/users", Some("$top=20")), 2);
        assert_eq!(cost("GET", "/groups/{id}/members", Some("$select=id&$top=10")), 1);
        assert_eq!(cost("GET", "/groups/{id}/members", Some("$select=id&$expand=x")), 3);
        assert_eq!(cost("GET", "/users/{id}", Some("$select=id&$top=1")), 1, "never below 1");
        assert_eq!(cost("GET", "/users", Some("$filter=a&&=&$top=x")), 2);
    }

    fn manual(config: ThrottleConfig) -> (Throttle, Arc<AtomicU64>) {
        let millis = Arc::new(AtomicU64::new(0));
        let m = millis.clone();
        (Throttle::with_clock(config, Arc::new(move || Duration::from_millis(m.load(Ordering::SeqCst)))), millis)
    }

    #[test]
    fn bucket_spends_refuses_and_refills() {
        let (t, clock) = manual(ThrottleConfig::per_10_seconds(10));
        let (tenant, app): (Uuid, Arc<str>) = (Uuid::new_v4(), Arc::from("app"));
        for _ in 0..4 {
            assert!(matches!(t.charge(tenant, &app, 2), Decision::Allowed { .. }));
        }
        assert_eq!(t.charge(tenant, &app, 2), Decision::Allowed { cost: 2, used: 1.0 });
        // Empty; 1 RU per second refills: 2 RU take 2 s.
        assert_eq!(t.charge(tenant, &app, 2), Decision::Throttled { cost: 2, retry_after: 2 });
        let other: Arc<str> = Arc::from("other");
        assert!(matches!(t.charge(tenant, &other, 2), Decision::Allowed { .. }), "budgets are per app");
        assert!(matches!(t.charge(Uuid::new_v4(), &app, 2), Decision::Allowed { .. }), "and per tenant");
        clock.store(1_500, Ordering::SeqCst);
        assert_eq!(t.charge(tenant, &app, 2), Decision::Throttled { cost: 2, retry_after: 1 });
        clock.store(2_000, Ordering::SeqCst);
        assert!(matches!(t.charge(tenant, &app, 2), Decision::Allowed { .. }));
        // Never more than the budget, however long the pause.
        clock.store(1_000_000, Ordering::SeqCst);
        for _ in 0..5 {
            assert!(matches!(t.charge(tenant, &app, 2), Decision::Allowed { .. }));
        }
        assert!(matches!(t.charge(tenant, &app, 1), Decision::Throttled { .. }));
        // A request dearer than the budget passes on a full bucket.
        let (small, _) = manual(ThrottleConfig::per_10_seconds(2));
        assert!(matches!(small.charge(tenant, &app, 5), Decision::Allowed { .. }));
    }

    #[test]
    fn memory_is_bounded_and_idle_pairs_go_first() {
        let (mut t, clock) = manual(ThrottleConfig::per_10_seconds(10));
        t.shard_capacity = 2;
        let tenant = Uuid::new_v4();
        for i in 0..200 {
            let app: Arc<str> = Arc::from(format!("app{i}").as_str());
            let _ = t.charge(tenant, &app, 1);
        }
        let before = t.len();
        assert!(before <= SHARDS * 2, "{before}");
        // A minute later every bucket has refilled: a new pair in a full shard clears the
        // shard's idle pairs instead of dropping a single one.
        clock.store(60_000, Ordering::SeqCst);
        let _ = t.charge(tenant, &Arc::from("late"), 1);
        assert!(t.len() < before, "{} !< {before}", t.len());
    }
}
