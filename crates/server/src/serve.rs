//! `cerulean serve`: open the store, bootstrap, load TLS material, listen, and shut down
//! gracefully on SIGTERM or Ctrl-C.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum_server::Handle;
use axum_server::tls_rustls::RustlsConfig;
use cerulean_identity::location::{Locator, LocatorConfig};
use cerulean_identity::risk::RiskConfig;
use cerulean_store::{PostgresStore, SqliteStore, Store};

use crate::ServerError;
use crate::app::App;
use crate::cli::ServeArgs;

pub async fn run(args: ServeArgs) -> Result<(), ServerError> {
    run_with(args, || {}).await
}

/// [`run`], calling `after_ready` once the listener is up and `/readyz` answers 200: the
/// binary hands its allocator's collection here (start-up, the bootstrap above all, frees far
/// more than an idle server keeps; see `main.rs`).
pub async fn run_with(args: ServeArgs, after_ready: impl FnOnce() + Send + 'static) -> Result<(), ServerError> {
    let lifetimes = args.token_lifetimes()?;
    let thresholds = risk_thresholds(&args)?;
    create_private_dir(&args.data_dir)?;
    // Held for the whole run: the store, TLS material and bootstrap.json are this process's alone.
    let _lock = crate::backup::DataDirLock::acquire(&args.data_dir, crate::backup::SERVE_WHEN_HELD)?;
    let specs = cerulean_directory::index_specs();
    let store: Arc<dyn Store> = match &args.database_url {
        Some(url) => Arc::new(PostgresStore::connect(url, &specs).await?),
        None => {
            let db = args.data_dir.join("cerulean.db");
            create_private_file(&db)?;
            Arc::new(SqliteStore::open(&db, &specs)?)
        }
    };
    let public_url = args.public_url();

    let tls = if args.http {
        None
    } else if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        let read = |p: &Path| {
            std::fs::read(p).map_err(|e| ServerError::Io { context: format!("reading {}", p.display()), source: e })
        };
        Some((read(cert)?, read(key)?, None))
    } else {
        let hosts = extra_hosts(&public_url);
        let material = cerulean_identity::ensure_tls_material_with_sans(&args.data_dir.join("tls"), &hosts)?;
        Some((
            material.cert_chain_pem.clone().into_bytes(),
            material.key_pem.clone().into_bytes(),
            Some(material.ca_cert_path.clone()),
        ))
    };
    let ca_path = tls.as_ref().and_then(|t| t.2.clone());

    let app = App::with_options(
        store.clone(),
        &public_url,
        crate::app::AppOptions {
            trusted_proxies: args.trusted_proxy.clone(),
            locator: Some(Arc::new(
                Locator::load(&LocatorConfig {
                    databases: args.location_db.clone(),
                    ranges: args.location_ranges.clone(),
                    corporate: args.corporate_location.clone().unwrap_or_default(),
                })
                .map_err(|e| ServerError::Config(e.to_string()))?,
            )),
            risk: Some(Arc::new(RiskConfig {
                anonymizers: ip_list(args.anonymizer_ips.as_deref())?,
                malicious: ip_list(args.malicious_ips.as_deref())?,
                leaked_passwords: leaked_list(args.leaked_passwords.as_deref())?,
                ..thresholds
            })),
            lockout: cerulean_directory::LockoutPolicy {
                threshold: args.lockout_threshold,
                duration_secs: args.lockout_duration_seconds,
            },
            key_publication_delay_secs: Some(args.key_publication_delay_secs),
            require_mfa: args.require_mfa,
            federation: Some(Arc::new(federation_keys(&args)?)),
            imds_host: args.imds_host.clone(),
            dns_resolver: args.dns_resolver,
            lifetimes,
            emulator_aids: args.emulator_aids,
            ..crate::app::AppOptions::throttling(args.throttle_ru_per_10s)
        },
    );
    let fixture = args.fixture.as_deref().map(crate::fixture::read_fixture).transpose()?;
    // A first start with a fixture bootstraps the fixture's domain, so its users' names fit.
    let first_part = fixture.as_ref().map(crate::fixture::fixture_parts).transpose()?.and_then(|p| p.first().copied());
    let fixture_domain = first_part
        .map(cerulean_directory::fixture_tenant)
        .transpose()?
        .flatten()
        .and_then(|t| t.initial_domain().map(str::to_string));
    let (file, created) = crate::bootstrap::ensure(
        &app.directory,
        &app.tokens,
        store.as_ref(),
        &args.data_dir,
        fixture_domain.as_deref().unwrap_or(&args.tenant_domain),
        &public_url,
        ca_path,
    )
    .await?;
    if let (Some(fixture), Some(path)) = (&fixture, &args.fixture) {
        let imported =
            crate::fixture::import_all(&app, store.as_ref(), &args.data_dir, fixture, None, &args.tenant_domain)
                .await?;
        for (tenant, report) in imported {
            println!("imported {} into tenant {tenant}: {}", path.display(), report.summary());
        }
    }
    for tenant in app.directory.tenants().await? {
        // Load the keys; create one only for a tenant that has none (the bootstrapping node
        // made the first tenant's).
        if app.tokens.load_keys(tenant.id).await?.is_none() {
            app.tokens.tenant_keys(tenant.id).await?;
        }
        // A tenant made by an older build gets this build's Graph permission catalogue.
        let refreshed = app.directory.refresh_first_party_service_principals(tenant.id).await?;
        if refreshed > 0 {
            tracing::info!(tenant = %tenant.id, refreshed, "updated the permissions of first-party service principals");
        }
    }
    tokio::spawn(prune_change_log(app.directory.clone(), args.delta_retention_days));
    tokio::spawn(prune_logs(app.directory.clone(), args.audit_retention_days));
    tokio::spawn(purge_recycle_bins(app.directory.clone()));
    println!("{}", crate::bootstrap::summary(file.as_ref(), created, &args.data_dir.join("bootstrap.json")));

    let handle = Handle::new();
    tokio::spawn(shutdown_on_signal(handle.clone()));
    // Each connection's service knows its peer (the sign-in log's client IP).
    let service = crate::peer::make_service(app.service());
    let ready_app = app.clone();
    let ready_handle = handle.clone();
    let listen = args.listen;
    let preload_membership = args.preload_membership;
    tokio::spawn(async move {
        if let Some(addr) = ready_handle.listening().await {
            ready_app.set_ready();
            tracing::info!(address = %addr, public_url = %ready_app.public_url, "listening");
            after_ready();
            if preload_membership {
                load_membership_graphs(ready_app.directory.clone());
            }
        }
    });
    let io = |e| ServerError::Io { context: format!("serving on {listen}"), source: e };
    match tls {
        Some((cert, key, _)) => {
            let config = RustlsConfig::from_pem(cert, key)
                .await
                .map_err(|e| ServerError::Config(format!("TLS certificate or key is not usable: {e}")))?;
            axum_server::bind_rustls(listen, config).handle(handle).serve(service).await.map_err(io)?;
        }
        None => {
            axum_server::bind(listen).handle(handle).serve(service).await.map_err(io)?;
        }
    }
    tracing::info!("stopped");
    Ok(())
}

/// With `--preload-membership`: builds the tenants' membership graphs in the background once
/// the server is ready, so the first `transitiveMemberOf` / `checkMemberGroups` does not pay the
/// load (about 2 s at 100k users) and `/readyz` does not wait for it. On a blocking-pool thread: the embedded store
/// reads on the calling thread, and a runtime worker held for seconds would stall the requests
/// queued behind it. Requests arriving meanwhile wait for this build, not a second one.
fn load_membership_graphs(directory: cerulean_directory::Directory) {
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let started = std::time::Instant::now();
        match runtime.block_on(directory.load_membership_graphs()) {
            Ok(tenants) => {
                tracing::info!(tenants, elapsed_ms = started.elapsed().as_millis() as u64, "membership graphs loaded")
            }
            // Not fatal: the first membership query loads the graph itself.
            Err(e) => tracing::warn!(error = %e, "loading the membership graphs failed"),
        }
    });
}

/// Host names and addresses of `--public-url` that the generated certificate must also cover.
fn extra_hosts(public_url: &str) -> Vec<String> {
    let rest = public_url.split("://").nth(1).unwrap_or(public_url);
    let authority = rest.split('/').next().unwrap_or(rest);
    let host = if let Some(stripped) = authority.strip_prefix('[') {
        stripped.split(']').next().unwrap_or_default().to_string()
    } else {
        authority.rsplit_once(':').map(|(h, _)| h).unwrap_or(authority).to_string()
    };
    match host.as_str() {
        "" | "localhost" | "127.0.0.1" | "::1" => Vec::new(),
        _ => vec![host],
    }
}

pub(crate) fn create_private_dir(dir: &Path) -> Result<(), ServerError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| ServerError::Io { context: format!("creating {}", dir.display()), source: e })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
    }
    Ok(())
}

/// Creates `path` readable by the owner only if it does not exist yet: the store holds
/// password and secret hashes and the private signing keys (SQLite gives its WAL and shared
/// memory files the same mode).
fn create_private_file(path: &Path) -> Result<(), ServerError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(ServerError::Io { context: format!("creating {}", path.display()), source: e }),
    }
}

/// Waits for SIGTERM or Ctrl-C, then drains in-flight requests (up to 10 seconds).
async fn shutdown_on_signal(handle: Handle<std::net::SocketAddr>) {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
    handle.graceful_shutdown(Some(Duration::from_secs(10)));
}

/// Change-log retention: every hour, drops entries older than `days` (none when 0), which is
/// what expires old delta tokens. Every node may run it: pruning is idempotent and each batch
/// is its own short transaction.
async fn prune_change_log(directory: cerulean_directory::Directory, days: u32) {
    if days == 0 {
        return;
    }
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tick.tick().await;
        let cutoff = cerulean_store::clock::now() - time::Duration::days(i64::from(days));
        let Ok(before) = cutoff.format(&time::format_description::well_known::Rfc3339) else {
            continue;
        };
        match directory.prune_change_log(&before).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(entries = n, before = %before, "pruned the change log"),
            Err(e) => tracing::warn!(error = %e, "pruning the change log failed"),
        }
    }
}

/// Audit and sign-in log retention, as the change log's: every hour, drops entries older than
/// `days` (none when 0). Entra keeps both logs 30 days (7 without a premium licence).
async fn prune_logs(directory: cerulean_directory::Directory, days: u32) {
    if days == 0 {
        return;
    }
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tick.tick().await;
        let cutoff = cerulean_store::clock::now() - time::Duration::days(i64::from(days));
        let Ok(before) = cutoff.format(&time::format_description::well_known::Rfc3339) else {
            continue;
        };
        match directory.prune_logs(&before).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(entries = n, before = %before, "pruned the audit and sign-in logs"),
            Err(e) => tracing::warn!(error = %e, "pruning the audit and sign-in logs failed"),
        }
    }
}

/// The recycle bin's retention: every hour, objects deleted 30 days ago or more are deleted for
/// good, as Entra does (reads of `deletedItems` also purge what is due; see
/// `cerulean_directory::deleted`).
async fn purge_recycle_bins(directory: cerulean_directory::Directory) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tick.tick().await;
        match directory.purge_recycle_bins().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(objects = n, "purged objects deleted 30 days ago from the recycle bin"),
            Err(e) => tracing::warn!(error = %e, "purging the recycle bin failed"),
        }
    }
}

/// The risk thresholds of the `--risk-*` flags (lists empty), refused at start-up when
/// unusable, naming the flag.
pub fn risk_thresholds(args: &ServeArgs) -> Result<RiskConfig, ServerError> {
    use cerulean_identity::risk::ThresholdError as E;
    RiskConfig {
        learning_sign_ins: args.risk_learning_sign_ins,
        unfamiliar_features: args.risk_unfamiliar_features,
        history_days: args.risk_history_days,
        history_sign_ins: args.risk_history_sign_ins,
        max_travel_kmh: args.risk_travel_max_kmh,
        min_travel_km: args.risk_travel_min_km,
        spray_accounts: args.risk_spray_accounts,
        spray_window_minutes: args.risk_spray_window_minutes,
        ..RiskConfig::default()
    }
    .validated()
    .map_err(|e| {
        let flag = match e {
            E::LearningSignIns(_) => "--risk-learning-sign-ins",
            E::UnfamiliarFeatures(_) => "--risk-unfamiliar-features",
            E::HistoryDays(_) => "--risk-history-days",
            E::HistorySignIns { .. } => "--risk-history-sign-ins",
            E::TravelSpeed(_) => "--risk-travel-max-kmh",
            E::TravelDistance(_) => "--risk-travel-min-km",
            E::SprayAccounts(_) => "--risk-spray-accounts",
            E::SprayWindow(_) => "--risk-spray-window-minutes",
        };
        ServerError::Config(format!("{flag}: {e}"))
    })
}

/// An address list of `--anonymizer-ips` / `--malicious-ips`; a bad file stops start-up.
/// The outbound client of federation and `request_uri`: `--federation-ca-file` trusted too,
/// private addresses reachable only with `--allow-private-fetch`.
pub fn federation_keys(args: &ServeArgs) -> Result<cerulean_identity::federation::IssuerKeys, ServerError> {
    use cerulean_identity::federation::{FederationConfig, IssuerKeys};
    let mut config = match &args.federation_ca_file {
        Some(path) => FederationConfig::with_ca_file(path)
            .map_err(|e| ServerError::Config(format!("--federation-ca-file: {e}")))?,
        None => FederationConfig::default(),
    };
    config.fetch.allow_private_addresses = args.allow_private_fetch;
    IssuerKeys::new(config).map_err(|e| ServerError::Config(format!("--federation-ca-file: {e}")))
}

fn ip_list(path: Option<&Path>) -> Result<Vec<cerulean_identity::risk::IpNetwork>, ServerError> {
    let Some(path) = path else { return Ok(Vec::new()) };
    let text = std::fs::read_to_string(path)
        .map_err(|e| ServerError::Io { context: format!("reading {}", path.display()), source: e })?;
    cerulean_identity::risk::parse_ip_list(&text)
        .map_err(|(line, reason)| ServerError::Config(format!("{}, line {line}: {reason}", path.display())))
}

/// `--leaked-passwords`: SHA-1 digests, one per line; a bad file stops start-up.
fn leaked_list(path: Option<&Path>) -> Result<std::collections::HashSet<[u8; 20]>, ServerError> {
    let Some(path) = path else { return Ok(Default::default()) };
    let text = std::fs::read_to_string(path)
        .map_err(|e| ServerError::Io { context: format!("reading {}", path.display()), source: e })?;
    cerulean_identity::risk::parse_leaked_list(&text)
        .map_err(|(line, reason)| ServerError::Config(format!("{}, line {line}: {reason}", path.display())))
}
