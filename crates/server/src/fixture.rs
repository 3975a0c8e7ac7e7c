//! `cerulean import`, `cerulean export` and `serve --fixture`: the command-line side of the
//! directory's fixtures ([`cerulean_directory::fixtures`]): reading and writing the file,
//! opening the store, and choosing (or creating) the tenant.

use std::path::Path;
use std::sync::Arc;

use cerulean_directory::{Caller, ImportReport, fixture_tenant};
use cerulean_store::{PostgresStore, SqliteStore, Store};
use serde_json::Value;
use uuid::Uuid;

use crate::ServerError;
use crate::app::App;
use crate::backup::{DB_FILE, DataDirLock};
use crate::bootstrap::META_TENANT;
use crate::cli::{ExportArgs, ImportArgs};

/// The largest fixture file read (a 100k-user fixture is ~40 MB).
const MAX_FIXTURE_BYTES: u64 = 1 << 30;

/// What import and export say when a server holds the data directory.
const WHEN_HELD: &str = "stop the server first (an import or export of the embedded store needs it to itself)";

/// Reads and parses a fixture file: YAML when its name ends in `.yaml` or `.yml`, JSON
/// otherwise. Both give the same JSON value, so both follow one schema and one set of rules.
pub fn read_fixture(path: &Path) -> Result<Value, ServerError> {
    let io = |e| ServerError::Io { context: format!("reading {}", path.display()), source: e };
    let len = std::fs::metadata(path).map_err(io)?.len();
    if len > MAX_FIXTURE_BYTES {
        return Err(ServerError::Config(format!("{} is larger than {MAX_FIXTURE_BYTES} bytes", path.display())));
    }
    let bytes = std::fs::read(path).map_err(io)?;
    let yaml = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"));
    if yaml {
        // The parser's message names the line and column of the fault.
        serde_yaml_ng::from_slice(&bytes)
            .map_err(|e| ServerError::Config(format!("{} is not a YAML fixture: {e}", path.display())))
    } else {
        serde_json::from_slice(&bytes)
            .map_err(|e| ServerError::Config(format!("{} is not a JSON fixture: {e}", path.display())))
    }
}

/// The tenants a fixture describes: the entries of a top-level `tenants` list (several
/// tenants in one file, each a fixture of its own with its `tenant` section), else the fixture.
pub fn fixture_parts(fixture: &Value) -> Result<Vec<&Value>, ServerError> {
    let Some(list) = fixture.get("tenants") else {
        return Ok(vec![fixture]);
    };
    let others = fixture
        .as_object()
        .map(|o| o.keys().any(|k| !matches!(k.as_str(), "tenants" | "description" | "$schema")))
        .unwrap_or(false);
    let items = list.as_array().filter(|a| !a.is_empty()).ok_or_else(|| {
        ServerError::Config("the fixture's 'tenants' is not a non-empty list of tenant fixtures".into())
    })?;
    if others {
        return Err(ServerError::Config(
            "a fixture with a 'tenants' list holds everything in it: move the other sections into a tenant".into(),
        ));
    }
    // Without an id, a second tenant would land in the bootstrapped tenant with the first.
    if items.len() > 1 && items.iter().any(|t| t.pointer("/tenant/id").and_then(Value::as_str).is_none()) {
        return Err(ServerError::Config("each tenant of a 'tenants' list names its 'tenant.id'".into()));
    }
    Ok(items.iter().collect())
}

/// [`import_into`] for each tenant of the fixture ([`fixture_parts`]), in order.
pub async fn import_all(
    app: &App,
    store: &dyn Store,
    data_dir: &Path,
    fixture: &Value,
    tenant: Option<&str>,
    tenant_domain: &str,
) -> Result<Vec<(Uuid, ImportReport)>, ServerError> {
    let parts = fixture_parts(fixture)?;
    if parts.len() > 1 && tenant.is_some() {
        return Err(ServerError::Config("--tenant names one tenant; this fixture describes several".into()));
    }
    let mut out = Vec::with_capacity(parts.len());
    for part in parts {
        out.push(import_into(app, store, data_dir, part, tenant, tenant_domain).await?);
    }
    Ok(out)
}

/// Imports `fixture` into the store. The tenant is `tenant` (an id or domain) when given;
/// else the fixture's `tenant.id`, created from the fixture (with its domains and no other
/// objects) when the store does not have it; else the bootstrapped tenant, bootstrapped here
/// as `serve` would (with the fixture's initial domain, else `tenant_domain`) on an empty
/// store. Returns the tenant and what was imported.
pub async fn import_into(
    app: &App,
    store: &dyn Store,
    data_dir: &Path,
    fixture: &Value,
    tenant: Option<&str>,
    tenant_domain: &str,
) -> Result<(Uuid, ImportReport), ServerError> {
    let described = fixture_tenant(fixture)?;
    let directory = &app.directory;
    let id = if let Some(name) = tenant {
        named_tenant(app, name).await?
    } else if let Some(wanted) = described.as_ref().and_then(|t| t.id.map(|id| (id, t))) {
        let (id, section) = wanted;
        if directory.tenant(id).await?.is_none() {
            directory.create_fixture_tenant(section).await?;
            // A new tenant subscribes to the licence catalog unless the fixture says what it holds.
            if fixture.get("subscribedSkus").is_none() {
                directory.subscribe_default_skus(&Caller::system(id)).await?;
            }
            app.tokens.tenant_keys(id).await?;
            if store.meta(META_TENANT).await?.is_none() {
                store.set_meta(META_TENANT, &id.to_string()).await?;
            }
        }
        id
    } else {
        if store.meta(META_TENANT).await?.is_none() {
            let domain = described.as_ref().and_then(|t| t.initial_domain()).unwrap_or(tenant_domain);
            crate::bootstrap::ensure(directory, &app.tokens, store, data_dir, domain, &app.public_url, None).await?;
        }
        bootstrapped(store).await?
    };
    let report = directory.import_fixture(&Caller::system(id), fixture).await?;
    Ok((id, report))
}

/// The tenant as a fixture: `tenant` (an id or domain), else the bootstrapped one.
pub async fn export_from(app: &App, store: &dyn Store, tenant: Option<&str>) -> Result<Value, ServerError> {
    let id = match tenant {
        Some(name) => named_tenant(app, name).await?,
        None => bootstrapped(store).await?,
    };
    Ok(app.directory.export_fixture(id).await?)
}

async fn named_tenant(app: &App, name: &str) -> Result<Uuid, ServerError> {
    match app.directory.resolve_tenant(name).await? {
        Some(t) => Ok(t.id),
        None => Err(ServerError::Config(format!("no tenant '{name}' in this store"))),
    }
}

async fn bootstrapped(store: &dyn Store) -> Result<Uuid, ServerError> {
    let id = store.meta(META_TENANT).await?.ok_or_else(|| {
        ServerError::Config("the store has no tenant yet: start the server once, or import a fixture".into())
    })?;
    Uuid::parse_str(&id).map_err(|_| ServerError::Config(format!("the store's tenant id '{id}' is not a GUID")))
}

/// Opens the store of a stopped server: PostgreSQL, or the data directory's embedded store
/// (locked for the duration; created when `create` and absent).
async fn open(
    data_dir: &Path,
    database_url: Option<&str>,
    create: bool,
) -> Result<(Arc<dyn Store>, Option<DataDirLock>), ServerError> {
    let specs = cerulean_directory::index_specs();
    if let Some(url) = database_url {
        return Ok((Arc::new(PostgresStore::connect(url, &specs).await?), None));
    }
    let db = data_dir.join(DB_FILE);
    if !create && !db.exists() {
        return Err(ServerError::Config(format!("{} holds no store", data_dir.display())));
    }
    crate::serve::create_private_dir(data_dir)?;
    let lock = DataDirLock::acquire(data_dir, WHEN_HELD)?;
    Ok((Arc::new(SqliteStore::open(&db, &specs)?), Some(lock)))
}

/// `cerulean import <file>`. Returns the summary to print.
pub async fn import(args: &ImportArgs) -> Result<String, ServerError> {
    let fixture = read_fixture(&args.file)?;
    let (store, _lock) = open(&args.data_dir, args.database_url.as_deref(), true).await?;
    let app = App::new(store.clone(), &args.public_url);
    let started = std::time::Instant::now();
    let imported =
        import_all(&app, store.as_ref(), &args.data_dir, &fixture, args.tenant.as_deref(), &args.tenant_domain).await?;
    // A bulk load leaves the planner's statistics describing the store before it.
    store.refresh_statistics().await?;
    let seconds = started.elapsed().as_secs_f64();
    let users: usize = imported.iter().map(|(_, r)| r.created.get("users").copied().unwrap_or(0)).sum();
    let tenants: Vec<String> =
        imported.iter().map(|(tenant, report)| format!("tenant {tenant}: {}", report.summary())).collect();
    Ok(format!(
        "imported {} into {} in {seconds:.1} s ({:.0} users/s)",
        args.file.display(),
        tenants.join("; "),
        users as f64 / seconds.max(0.001)
    ))
}

/// `cerulean export <file>`. Returns the summary to print.
pub async fn export(args: &ExportArgs) -> Result<String, ServerError> {
    if !args.force && args.file.exists() {
        return Err(ServerError::Config(format!(
            "{} exists; pass --force to replace it, or choose another file",
            args.file.display()
        )));
    }
    let (store, _lock) = open(&args.data_dir, args.database_url.as_deref(), false).await?;
    let app = App::new(store.clone(), "https://localhost");
    let value = export_from(&app, store.as_ref(), args.tenant.as_deref()).await?;
    let mut text = serde_json::to_string_pretty(&value).map_err(|e| ServerError::Config(e.to_string()))?;
    text.push('\n');
    write_private(&args.file, text.as_bytes())?;
    let count = |k: &str| value.get(k).and_then(Value::as_array).map(Vec::len).unwrap_or(0);
    Ok(format!(
        "exported tenant {} to {}: {} users, {} groups, {} applications, {} service principals",
        value["tenant"]["id"].as_str().unwrap_or_default(),
        args.file.display(),
        count("users"),
        count("groups"),
        count("applications"),
        count("servicePrincipals")
    ))
}

/// Writes `bytes` to `path`, readable by the owner only (an export holds password hashes).
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), ServerError> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let io = |e| ServerError::Io { context: format!("writing {}", path.display()), source: e };
    let mut file = options.open(path).map_err(io)?;
    file.write_all(bytes).map_err(io)
}
