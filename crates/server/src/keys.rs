//! `cerulean keys`: signing key rotation from the command line, on a data directory or a
//! PostgreSQL database, while servers run on it (they re-read their keys every
//! [`KEY_REFRESH_INTERVAL`](cerulean_identity::tokens::KEY_REFRESH_INTERVAL)). The steps are
//! those of [`cerulean_identity::rotation`]; `POST /cerulean/admin/signingKeys/...` runs the
//! same ones over HTTP.

use std::sync::Arc;

use cerulean_identity::{KeyInfo, RotationError, TokenIssuer};
use cerulean_store::{Actor, PostgresStore, SqliteStore, Store};
use uuid::Uuid;

use crate::ServerError;
use crate::cli::{KeysAction, KeysArgs};

/// Runs one `keys` command and returns what to print.
pub fn run(args: &KeysArgs) -> Result<String, ServerError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ServerError::Io { context: "starting the runtime".into(), source: e })?;
    runtime.block_on(run_async(args))
}

async fn open(args: &KeysArgs) -> Result<Arc<dyn Store>, ServerError> {
    open_store(&args.data_dir, args.database_url.as_deref()).await
}

/// The store of a data directory (which must hold one) or of a PostgreSQL URL.
pub(crate) async fn open_store(
    data_dir: &std::path::Path,
    database_url: Option<&str>,
) -> Result<Arc<dyn Store>, ServerError> {
    let specs = cerulean_directory::index_specs();
    Ok(match database_url {
        Some(url) => Arc::new(PostgresStore::connect(url, &specs).await?),
        None => {
            let db = data_dir.join(crate::backup::DB_FILE);
            if !db.exists() {
                return Err(ServerError::Config(format!(
                    "{} holds no store: start `cerulean serve --data-dir {}` once first",
                    data_dir.display(),
                    data_dir.display()
                )));
            }
            Arc::new(SqliteStore::open(&db, &specs)?)
        }
    })
}

/// The tenant `--tenant` names (id or domain), or the only one.
pub(crate) async fn tenant(store: &dyn Store, wanted: Option<&str>) -> Result<Uuid, ServerError> {
    match wanted {
        Some(t) => {
            if let Ok(id) = Uuid::try_parse(t)
                && store.tenant(id).await?.is_some()
            {
                return Ok(id);
            }
            match store.tenant_by_domain(&t.to_ascii_lowercase()).await? {
                Some(record) => Ok(record.id),
                None => Err(ServerError::Config(format!("no tenant '{t}' in this store"))),
            }
        }
        None => {
            let tenants = store.tenants().await?;
            match tenants.as_slice() {
                [only] => Ok(only.id),
                [] => Err(ServerError::Config("the store holds no tenant".into())),
                _ => Err(ServerError::Config(format!(
                    "the store holds {} tenants: name one with --tenant",
                    tenants.len()
                ))),
            }
        }
    }
}

fn table(keys: &[KeyInfo]) -> String {
    let mut out = format!("{:<28} {:<8} {:<26} {:<26} {}", "KID", "STATUS", "CREATED", "RETIRED", "PUBLISHED UNTIL");
    for k in keys {
        out.push_str(&format!(
            "\n{:<28} {:<8} {:<26} {:<26} {}",
            k.kid,
            k.status,
            k.created_at,
            k.retired_at.as_deref().unwrap_or("-"),
            k.published_until.as_deref().unwrap_or("-")
        ));
    }
    out
}

fn rotation(e: RotationError) -> ServerError {
    match e {
        RotationError::Identity(inner) => ServerError::Identity(inner),
        refused => ServerError::Config(refused.to_string()),
    }
}

async fn run_async(args: &KeysArgs) -> Result<String, ServerError> {
    let store = open(args).await?;
    let tenant = tenant(store.as_ref(), args.tenant.as_deref()).await?;
    let lifetimes = cerulean_identity::TokenLifetimes {
        access_secs: args.access_token_lifetime_secs,
        id_secs: args.id_token_lifetime_secs,
        ..Default::default()
    }
    .validated()
    .map_err(|e| ServerError::Config(e.to_string()))?;
    let issuer = TokenIssuer::new(store).with_lifetimes(lifetimes);
    let actor = Actor { kind: "system".into(), id: None, display_name: Some("cerulean keys".into()) };
    match &args.action {
        KeysAction::List => Ok(table(&issuer.list_keys(tenant).await.map_err(rotation)?)),
        KeysAction::Rotate => {
            let key = issuer.add_next_key(tenant, actor).await.map_err(rotation)?;
            Ok(format!(
                "added signing key {kid} (status next): it is published in the JWKS now; \
                 activate it with `cerulean keys activate {kid}` once every node and relying party has loaded it",
                kid = key.kid
            ))
        }
        KeysAction::Activate { kid, min_published_secs } => {
            let keys = issuer.activate_key(tenant, kid, *min_published_secs, actor).await.map_err(rotation)?;
            Ok(format!("signing key {kid} now signs new tokens\n{}", table(&keys)))
        }
        KeysAction::Prune => {
            let deleted = issuer.prune_keys(tenant, actor).await.map_err(rotation)?;
            Ok(if deleted.is_empty() {
                "no retired key has reached the end of its retention".to_string()
            } else {
                format!("deleted retired signing keys: {}", deleted.join(", "))
            })
        }
    }
}
