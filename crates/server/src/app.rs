//! Assembles the HTTP application: health routes, the Graph front-end under `/v1.0` and
//! `/beta`, the identity-platform front-end, and the cross-cutting layers (request ids, path
//! normalisation). Tests drive the same [`App::service`] in-process.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::http::{StatusCode, Uri};
use axum::routing::get;
use cerulean_directory::Directory;
use cerulean_graph::throttle::{Throttle, ThrottleConfig};
use cerulean_graph::{GraphState, GraphStateParts};
use cerulean_identity::{PasswordHasherPool, TokenIssuer};
use cerulean_platform::PlatformState;
use cerulean_store::Store;
use tower::ServiceExt;

/// What can be switched on when assembling the application; the default is what local
/// development wants (no throttling).
#[derive(Clone, Default)]
pub struct AppOptions {
    /// Graph's resource-unit throttling (`cerulean_graph::throttle`), shared by `/v1.0` and
    /// `/beta`; `None` serves without limits.
    pub throttle: Option<Arc<Throttle>>,
    /// Proxies trusted to name the client in `X-Forwarded-For` (`--trusted-proxy`): the
    /// sign-in log's `ipAddress` is the socket peer otherwise.
    pub trusted_proxies: Vec<cerulean_platform::IpCidr>,
    /// Where client addresses are (`--location-db`, `--location-ranges`); `None` knows only
    /// that private addresses are the corporate network.
    pub locator: Option<Arc<cerulean_identity::location::Locator>>,
    /// Risk detection's thresholds and address lists; `None` is the defaults with no lists.
    pub risk: Option<Arc<cerulean_identity::risk::RiskConfig>>,
    /// Smart-lockout settings (`--lockout-threshold`, `--lockout-duration-seconds`).
    pub lockout: cerulean_directory::LockoutPolicy,
    /// The least time a key added by rotation is published before it may be activated
    /// (`--key-publication-delay-secs`); `None` is
    /// [`cerulean_identity::rotation::DEFAULT_PUBLICATION_DELAY_SECS`].
    pub key_publication_delay_secs: Option<i64>,
    /// How long loaded signing keys are used before they are read again; `None` is
    /// [`cerulean_identity::tokens::KEY_REFRESH_INTERVAL`] (tests shorten it).
    pub key_refresh: Option<std::time::Duration>,
    /// `--require-mfa`: every user signs in with TOTP (enrolling at sign-in if needed).
    pub require_mfa: bool,
    /// External issuers' keys for workload identity federation (`--federation-ca-file`);
    /// `None` trusts the system's roots only.
    pub federation: Option<Arc<cerulean_identity::federation::IssuerKeys>>,
    /// `--imds-host`: the managed identity host the IMDS endpoint answers for.
    pub imds_host: Option<String>,
    /// The DNS resolver domain verification asks (`--dns-resolver`); `None` verifies
    /// administratively.
    pub dns_resolver: Option<std::net::SocketAddr>,
    /// Token lifetimes (`--access-token-lifetime-secs`, `--id-token-lifetime-secs`,
    /// `--refresh-token-lifetime-days`), validated by the caller; the default is Entra's.
    pub lifetimes: cerulean_identity::TokenLifetimes,
    /// `--emulator-aids`: the test aids under `/cerulean/emulator` (token forge, clock
    /// control, fault injection) answer; off, they refuse with 404 and no fault is injected.
    pub emulator_aids: bool,
}

impl AppOptions {
    /// Throttling at `resource_units` per 10 seconds per app and tenant (Graph's window), or no
    /// throttling for `None`: the one-line wiring of a CLI option.
    pub fn throttling(resource_units: Option<u32>) -> AppOptions {
        AppOptions {
            throttle: resource_units.map(|ru| Arc::new(Throttle::new(ThrottleConfig::per_10_seconds(ru)))),
            ..AppOptions::default()
        }
    }
}

/// The assembled application and the services behind it.
#[derive(Clone)]
pub struct App {
    pub directory: Directory,
    pub tokens: Arc<TokenIssuer>,
    pub public_url: Arc<str>,
    ready: Arc<AtomicBool>,
    router: Router,
}

impl App {
    /// Builds the application over `store`, served at `public_url`, with default options.
    pub fn new(store: Arc<dyn Store>, public_url: &str) -> App {
        App::with_options(store, public_url, AppOptions::default())
    }

    /// Builds the application over `store`, served at `public_url`, with `options`.
    pub fn with_options(store: Arc<dyn Store>, public_url: &str, options: AppOptions) -> App {
        let public_url: Arc<str> = Arc::from(public_url.trim_end_matches('/'));
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        let passwords = Arc::new(PasswordHasherPool::new(cores));
        let directory = Directory::new(store.clone(), passwords)
            .with_lockout_policy(options.lockout)
            .with_dns_resolver(options.dns_resolver);
        let mut issuer = TokenIssuer::new(store).with_lifetimes(options.lifetimes);
        if let Some(refresh) = options.key_refresh {
            issuer = issuer.with_key_refresh(refresh);
        }
        let tokens = Arc::new(issuer);
        let ready = Arc::new(AtomicBool::new(false));
        let principals = Arc::new(cerulean_graph::PrincipalCache::default());
        let rendered = Arc::new(cerulean_graph::RenderedCache::default());
        let graph = |version| {
            cerulean_graph::router(GraphState::from(GraphStateParts {
                directory: directory.clone(),
                tokens: tokens.clone(),
                public_url: public_url.clone(),
                version,
                principals: principals.clone(),
                rendered: rendered.clone(),
                throttle: options.throttle.clone(),
            }))
        };
        let platform = cerulean_platform::router(PlatformState {
            directory: directory.clone(),
            tokens: tokens.clone(),
            public_url: public_url.clone(),
            trusted_proxies: options.trusted_proxies.clone().into(),
            locator: options.locator.clone().unwrap_or_default(),
            risk: options.risk.clone().unwrap_or_default(),
            require_mfa: options.require_mfa,
            federation: options
                .federation
                .clone()
                .unwrap_or_else(|| Arc::new(cerulean_identity::federation::IssuerKeys::system())),
            imds_host: options.imds_host.as_deref().map(Arc::from),
            workload_history: Arc::default(),
        });
        let admin = cerulean_graph::admin_router(cerulean_graph::AdminState {
            graph: GraphState::from(GraphStateParts {
                directory: directory.clone(),
                tokens: tokens.clone(),
                public_url: public_url.clone(),
                version: "v1.0",
                principals: principals.clone(),
                rendered: rendered.clone(),
                throttle: None,
            }),
            publication_delay_secs: options
                .key_publication_delay_secs
                .unwrap_or(cerulean_identity::rotation::DEFAULT_PUBLICATION_DELAY_SECS),
        });
        let faults = Arc::new(cerulean_graph::emulator::Faults::default());
        let emulator = cerulean_graph::emulator::emulator_router(cerulean_graph::emulator::EmulatorState {
            graph: GraphState::from(GraphStateParts {
                directory: directory.clone(),
                tokens: tokens.clone(),
                public_url: public_url.clone(),
                version: "v1.0",
                principals: principals.clone(),
                rendered: rendered.clone(),
                throttle: None,
            }),
            enabled: options.emulator_aids,
            faults: faults.clone(),
        });
        let ready_flag = ready.clone();
        let router = Router::new()
            .route("/healthz", get(|| async { "ok" }))
            .route(
                "/readyz",
                get(move || {
                    let ready = ready_flag.load(Ordering::Acquire);
                    async move {
                        if ready { (StatusCode::OK, "ready") } else { (StatusCode::SERVICE_UNAVAILABLE, "starting") }
                    }
                }),
            )
            .nest("/v1.0", graph("v1.0"))
            .nest("/beta", graph("beta"))
            .merge(platform)
            .merge(admin)
            .merge(emulator)
            .merge(cerulean_aadgraph::router(cerulean_aadgraph::AadState::new(
                directory.clone(),
                tokens.clone(),
                public_url.clone(),
            )));
        // Injected faults sit inside the request-id layer, so a faulted answer still has ids.
        let router = if options.emulator_aids {
            router.layer(axum::middleware::from_fn_with_state(faults, cerulean_graph::emulator::inject_faults))
        } else {
            router
        };
        let router = router.layer(axum::middleware::from_fn(crate::request_id::request_ids));
        App { directory, tokens, public_url, ready, router }
    }

    /// Marks the application ready (`/readyz` answers 200).
    pub fn set_ready(&self) {
        self.ready.store(true, Ordering::Release);
    }

    /// The HTTP service: path normalisation in front of the router. Generic over the request
    /// body so that tests (axum bodies) and the server (hyper bodies) drive the same stack.
    pub fn service<B>(
        &self,
    ) -> impl tower::Service<
        http::Request<B>,
        Response = axum::response::Response,
        Error = std::convert::Infallible,
        Future: Send,
    > + Clone
    + Send
    + 'static
    where
        B: http_body::Body<Data = axum::body::Bytes> + Send + 'static,
        B::Error: Into<axum::BoxError>,
    {
        let dispatcher = self.dispatcher();
        self.router.clone().map_request(move |req| {
            let mut req = normalise::<B>(req);
            req.extensions_mut().insert(dispatcher.clone());
            req
        })
    }

    /// What `$batch` sends its inner requests through: normalisation and the whole router
    /// (request ids, auth, routes, error bodies), as for a request from the network. It is put on
    /// each request as an extension rather than stored in the Graph state, which would make the
    /// router own itself.
    fn dispatcher(&self) -> cerulean_graph::batch::Dispatcher {
        let router = self.router.clone();
        cerulean_graph::batch::Dispatcher::new(move |req| {
            let router = router.clone();
            Box::pin(async move {
                match router.oneshot(normalise(req)).await {
                    Ok(res) => res,
                    Err(never) => match never {},
                }
            })
        })
    }
}

/// Graph paths are case-insensitive in their segment names; the route table is lower-case.
fn normalise<B>(mut req: http::Request<B>) -> http::Request<B> {
    let path = req.uri().path();
    let prefix = path.get(..6).map(str::to_ascii_lowercase);
    if !matches!(prefix.as_deref(), Some("/v1.0/" | "/beta/")) {
        return req;
    }
    if let Some(new_path) = cerulean_graph::normalise_path(path) {
        let pq = match req.uri().query() {
            Some(q) => format!("{new_path}?{q}"),
            None => new_path,
        };
        let mut parts = req.uri().clone().into_parts();
        if let Ok(p) = pq.parse() {
            parts.path_and_query = Some(p);
            if let Ok(uri) = Uri::from_parts(parts) {
                *req.uri_mut() = uri;
            }
        }
    }
    req
}
