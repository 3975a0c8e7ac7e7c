//! The PostgreSQL engine, for deployments of several nodes sharing one database.
//!
//! Connections come from a `deadpool-postgres` pool; hot statements go through its per-connection
//! statement cache (`prepare_cached`), so `get` by id costs one round trip. Every [`Store`] call
//! runs inside [`retry!`]: a serialization failure or deadlock (SQLSTATE 40001, 40P01) rolls the
//! attempt back and runs it again, on a fresh pooled connection, after a jittered backoff. That
//! is what PostgreSQL under `SERIALIZABLE` and the distributed PostgreSQL-compatible databases
//! (CockroachDB, YugabyteDB) require, and why nothing here uses advisory locks or LISTEN/NOTIFY.
//!
//! The plan compiler is shared with SQLite (`sqlite/compile.rs`); [`dialect`] is what differs.

mod dialect;
mod flows;
mod lockout;
mod logs;
mod migrate;
mod photos;
mod read;
mod sessions;
mod write;

use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{ToSql, Type};
use uuid::Uuid;

use crate::sqlite::compile::Param;
use crate::{
    AuditRecord, Change, ChangeLogEntry, EdgeKind, IndexSpec, ListQuery, ObjectRecord, Page, Revalidated, RowStamp,
    SecretRecord, SigningKeyRecord, Store, StoreError, StoreResult, TenantRecord,
};

/// A pooled connection.
pub(crate) type Client = Object;

/// How many times a call runs before a serialization failure or deadlock is reported.
const MAX_ATTEMPTS: u32 = 10;

/// Runs `$body` (a future using `$c`, a pooled [`Client`]) until it succeeds, fails for a reason
/// other than a serialization failure or deadlock, or has run [`MAX_ATTEMPTS`] times. Each
/// attempt is self-contained (its transaction rolled back on failure), so re-running is safe.
macro_rules! retry {
    ($store:expr, |$c:ident| $body:expr) => {{
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            #[allow(unused_mut)]
            let mut $c = $store.client().await?;
            match $body.await {
                Ok(v) => break Ok(v),
                Err(e) if e.retryable() && attempt < MAX_ATTEMPTS => {
                    drop($c);
                    tracing::debug!(attempt, error = %e, "retrying a PostgreSQL transaction");
                    tokio::time::sleep(backoff(attempt)).await;
                }
                Err(e) => break Err(e.into_store()),
            }
        }
    }};
}

/// The PostgreSQL store: a connection pool over a migrated database.
pub struct PostgresStore {
    pool: Pool,
}

impl std::fmt::Debug for PostgresStore {
    // The pool's configuration holds the password; never print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore").field("pool", &self.pool.status()).finish()
    }
}

impl PostgresStore {
    /// Connects to the database at `url` (a `postgres://` URL or a `key=value` connection
    /// string), applies pending migrations and creates the expression indexes of `indexes` that
    /// do not exist yet. Safe to call on every start, from several processes at once, with a
    /// spec list that grew since the last one. Connections are plain TCP or Unix sockets (no TLS).
    pub async fn connect(url: &str, indexes: &[IndexSpec]) -> StoreResult<PostgresStore> {
        // The URL may hold a password: errors name the problem, never the URL.
        let config: tokio_postgres::Config =
            url.parse().map_err(|e| StoreError::Backend(format!("invalid PostgreSQL connection string: {e}")))?;
        let manager = Manager::from_config(config, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let size = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).clamp(2, 8) * 4;
        let pool = Pool::builder(manager)
            .max_size(size)
            .runtime(Runtime::Tokio1)
            // A pool that cannot hand out a connection fails the call instead of hanging it.
            .wait_timeout(Some(Duration::from_secs(30)))
            .create_timeout(Some(Duration::from_secs(15)))
            .build()
            .map_err(|e| StoreError::Backend(format!("build PostgreSQL pool: {e}")))?;
        let store = PostgresStore { pool };
        {
            let mut client = store.client().await?;
            migrate::migrate(&mut client).await.map_err(Fail::into_store)?;
            migrate::ensure_indexes(&client, indexes).await.map_err(Fail::into_store)?;
        }
        Ok(store)
    }

    /// The plan PostgreSQL chooses for `query` (`EXPLAIN` lines of the page statement, then of
    /// the count statement), for diagnostics and for tests that check indexes are used.
    pub async fn explain_list(&self, tenant: Uuid, query: &ListQuery) -> StoreResult<Vec<String>> {
        retry!(self, |c| read::explain_list(&c, tenant, query))
    }

    async fn client(&self) -> StoreResult<Client> {
        self.pool.get().await.map_err(|e| StoreError::Backend(format!("PostgreSQL connection: {}", chain(&e))))
    }
}

/// Exponential backoff with jitter: a random wait in [cap/2, cap], cap = 4 ms · 2^(attempt-1)
/// up to 250 ms. The randomness keeps writers that collided from colliding again in step.
fn backoff(attempt: u32) -> Duration {
    let cap_ms = (4u64 << attempt.saturating_sub(1).min(6)).min(250);
    let random = (Uuid::new_v4().as_u128() % 1024) as u64;
    Duration::from_micros(cap_ms * 500 + cap_ms * 500 * random / 1024)
}

/// An error with its causes: the driver's own message ("error connecting to server") often
/// leaves the useful part ("Connection refused") to its source.
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

/// The outcome of a failed attempt: a store-level answer (final), or a driver error that may be
/// worth retrying.
#[derive(Debug)]
pub(crate) enum Fail {
    Store(StoreError),
    Db { what: &'static str, error: tokio_postgres::Error },
}

pub(crate) type Attempt<T> = Result<T, Fail>;

impl From<StoreError> for Fail {
    fn from(e: StoreError) -> Fail {
        Fail::Store(e)
    }
}

impl std::fmt::Display for Fail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fail::Store(e) => write!(f, "{e}"),
            Fail::Db { what, error } => match error.as_db_error() {
                Some(db) => write!(f, "{what}: {} ({})", db.message(), db.code().code()),
                None => write!(f, "{what}: {}", chain(error)),
            },
        }
    }
}

impl Fail {
    /// The SQLSTATE of a database error.
    pub(crate) fn code(&self) -> Option<&SqlState> {
        match self {
            Fail::Db { error, .. } => error.code(),
            Fail::Store(_) => None,
        }
    }

    /// Serialization failures and deadlocks: the transaction lost a race and may simply rerun.
    fn retryable(&self) -> bool {
        matches!(self.code(), Some(c) if *c == SqlState::T_R_SERIALIZATION_FAILURE || *c == SqlState::T_R_DEADLOCK_DETECTED)
    }

    pub(crate) fn into_store(self) -> StoreError {
        match self {
            Fail::Store(e) => e,
            db => StoreError::Backend(db.to_string()),
        }
    }
}

/// Maps driver errors to [`Fail::Db`] with what was being done.
pub(crate) trait WithContext<T> {
    fn ctx(self, what: &'static str) -> Attempt<T>;
}

impl<T> WithContext<T> for Result<T, tokio_postgres::Error> {
    fn ctx(self, what: &'static str) -> Attempt<T> {
        self.map_err(|error| Fail::Db { what, error })
    }
}

/// A bound value of a compiled list query, as the driver sends it.
pub(crate) type Bound = Box<dyn ToSql + Sync + Send>;

/// Converts the compiler's driver-neutral parameters to the types PostgreSQL inferred for their
/// placeholders (`stmt.params()`): ids are `uuid`, numbers `float8`, booleans `bool`, `LIMIT`
/// `int8`. A value that cannot take its placeholder's type (a malformed GUID compared with an
/// id) is [`StoreError::Invalid`], not a backend failure.
pub(crate) fn bind(params: &[Param], types: &[Type]) -> StoreResult<Vec<Bound>> {
    if params.len() != types.len() {
        return Err(StoreError::Backend(format!("{} parameters for {} placeholders", params.len(), types.len())));
    }
    params.iter().zip(types).map(|(p, ty)| bind_one(p, ty)).collect()
}

fn bind_one(p: &Param, ty: &Type) -> StoreResult<Bound> {
    let mismatch = || StoreError::Invalid(format!("the value {p:?} cannot be compared as {ty}"));
    Ok(match (p, ty) {
        (Param::Null, &Type::UUID) => Box::new(None::<Uuid>),
        (Param::Null, &Type::INT8) => Box::new(None::<i64>),
        (Param::Null, &Type::FLOAT8) => Box::new(None::<f64>),
        (Param::Null, &Type::BOOL) => Box::new(None::<bool>),
        (Param::Null, _) => Box::new(None::<String>),
        (Param::Int(i), &Type::INT8) => Box::new(*i),
        (Param::Int(i), &Type::INT4) => Box::new(i32::try_from(*i).map_err(|_| mismatch())?),
        (Param::Int(i), &Type::FLOAT8) => Box::new(*i as f64),
        (Param::Int(i), &Type::BOOL) => Box::new(*i != 0),
        (Param::Int(i), &Type::TEXT) => Box::new(i.to_string()),
        (Param::Real(f), &Type::FLOAT8) => Box::new(*f),
        (Param::Real(f), &Type::TEXT) => Box::new(f.to_string()),
        (Param::Text(s), &Type::UUID) => Box::new(Uuid::parse_str(s).map_err(|_| mismatch())?),
        (Param::Text(s), &Type::TEXT | &Type::VARCHAR | &Type::BPCHAR | &Type::NAME) => Box::new(s.clone()),
        (Param::Text(s), &Type::FLOAT8) => Box::new(s.parse::<f64>().map_err(|_| mismatch())?),
        (Param::Text(s), &Type::BOOL) => Box::new(s.parse::<bool>().map_err(|_| mismatch())?),
        _ => return Err(mismatch()),
    })
}

/// The bound values as the driver's parameter slice.
pub(crate) fn refs(values: &[Bound]) -> Vec<&(dyn ToSql + Sync)> {
    values.iter().map(|v| &**v as &(dyn ToSql + Sync)).collect()
}

#[async_trait]
impl Store for PostgresStore {
    async fn create_tenant(&self, tenant: &TenantRecord) -> StoreResult<()> {
        retry!(self, |c| write::create_tenant(&mut c, tenant))
    }

    async fn tenant(&self, id: Uuid) -> StoreResult<Option<TenantRecord>> {
        retry!(self, |c| read::tenant(&c, id))
    }

    async fn tenant_by_domain(&self, domain: &str) -> StoreResult<Option<TenantRecord>> {
        retry!(self, |c| read::tenant_by_domain(&c, domain))
    }

    async fn tenants(&self) -> StoreResult<Vec<TenantRecord>> {
        retry!(self, |c| read::tenants(&mut c))
    }

    async fn meta(&self, key: &str) -> StoreResult<Option<String>> {
        retry!(self, |c| read::meta(&c, key))
    }

    async fn set_meta(&self, key: &str, value: &str) -> StoreResult<()> {
        retry!(self, |c| write::set_meta(&c, key, value))
    }

    async fn get(&self, tenant: Uuid, id: Uuid) -> StoreResult<Option<ObjectRecord>> {
        retry!(self, |c| read::get(&c, tenant, id))
    }

    async fn get_unless(&self, tenant: Uuid, id: Uuid, known: Option<&RowStamp>) -> StoreResult<Revalidated> {
        retry!(self, |c| read::get_unless(&c, tenant, id, known))
    }

    async fn get_many(&self, tenant: Uuid, ids: &[Uuid]) -> StoreResult<Vec<ObjectRecord>> {
        retry!(self, |c| read::get_many(&c, tenant, ids))
    }

    async fn find_unique(&self, tenant: Uuid, namespace: &str, key: &str) -> StoreResult<Option<Uuid>> {
        retry!(self, |c| read::find_unique(&c, tenant, namespace, key))
    }

    async fn list(&self, tenant: Uuid, query: &ListQuery) -> StoreResult<Page> {
        retry!(self, |c| read::list(&mut c, tenant, query))
    }

    async fn has_edge(&self, tenant: Uuid, kind: EdgeKind, source: Uuid, target: Uuid) -> StoreResult<bool> {
        retry!(self, |c| read::has_edge(&c, tenant, kind, source, target))
    }

    async fn edge_ids(&self, tenant: Uuid, kind: EdgeKind, id: Uuid, reverse: bool) -> StoreResult<Vec<Uuid>> {
        retry!(self, |c| read::edge_ids(&c, tenant, kind, id, reverse))
    }

    async fn edges_of_kind(&self, tenant: Uuid, kind: EdgeKind) -> StoreResult<Vec<crate::EdgeRecord>> {
        retry!(self, |c| read::edges_of_kind(&c, tenant, kind))
    }

    async fn deleted_before(&self, tenant: Uuid, before: &str, limit: usize) -> StoreResult<Vec<Uuid>> {
        retry!(self, |c| read::deleted_before(&c, tenant, before, limit))
    }

    async fn secrets(&self, tenant: Uuid, owner: Uuid) -> StoreResult<Vec<SecretRecord>> {
        retry!(self, |c| read::secrets(&c, tenant, owner))
    }

    async fn signing_keys(&self, tenant: Uuid) -> StoreResult<Vec<SigningKeyRecord>> {
        retry!(self, |c| read::signing_keys(&c, tenant))
    }

    async fn apply(&self, tenant: Uuid, change: Change) -> StoreResult<u64> {
        retry!(self, |c| write::apply(&mut c, tenant, &change))
    }

    async fn apply_all(&self, tenant: Uuid, changes: Vec<Change>) -> StoreResult<u64> {
        retry!(self, |c| write::apply_all(&mut c, tenant, &changes))
    }

    async fn changes_since(&self, tenant: Uuid, after_seq: u64, limit: usize) -> StoreResult<Vec<ChangeLogEntry>> {
        retry!(self, |c| read::changes_since(&c, tenant, after_seq, limit))
    }

    async fn audit_records(&self, tenant: Uuid, limit: usize) -> StoreResult<Vec<AuditRecord>> {
        retry!(self, |c| read::audit_records(&c, tenant, limit))
    }

    async fn change_log_bounds(&self, tenant: Uuid) -> StoreResult<crate::ChangeLogBounds> {
        retry!(self, |c| read::change_log_bounds(&c, tenant))
    }

    async fn changes_of_types(
        &self,
        tenant: Uuid,
        object_types: &[String],
        after_seq: u64,
        limit: usize,
    ) -> StoreResult<Vec<ChangeLogEntry>> {
        retry!(self, |c| read::changes_of_types(&c, tenant, object_types, after_seq, limit))
    }

    async fn prune_changes(&self, tenant: Uuid, before: &str, limit: usize) -> StoreResult<usize> {
        retry!(self, |c| write::prune_changes(&mut c, tenant, before, limit))
    }

    async fn refresh_statistics(&self) -> StoreResult<()> {
        retry!(self, |c| write::analyze(&c))
    }

    async fn put_refresh_token(&self, tenant: Uuid, token: &crate::RefreshTokenRecord) -> StoreResult<()> {
        retry!(self, |c| sessions::put(&mut c, tenant, token))
    }

    async fn redeem_refresh_token(
        &self,
        tenant: Uuid,
        hash: &str,
        client_id: &str,
        now: &str,
    ) -> StoreResult<crate::RefreshRedemption> {
        retry!(self, |c| sessions::redeem(&mut c, tenant, hash, client_id, now))
    }

    async fn revoke_refresh_tokens(&self, tenant: Uuid, user: Uuid, now: &str) -> StoreResult<u64> {
        retry!(self, |c| sessions::revoke_user(&c, tenant, user, now))
    }

    async fn audit_page(
        &self,
        tenant: Uuid,
        query: &crate::LogQuery,
    ) -> StoreResult<Vec<(crate::LogCursor, AuditRecord)>> {
        retry!(self, |c| logs::audit_page(&c, tenant, query))
    }

    async fn audit_record(&self, tenant: Uuid, id: Uuid) -> StoreResult<Option<AuditRecord>> {
        retry!(self, |c| logs::audit_record(&c, tenant, id))
    }

    async fn put_sign_in(&self, tenant: Uuid, record: &crate::SignInRecord) -> StoreResult<()> {
        retry!(self, |c| logs::put_sign_in(&c, tenant, record))
    }

    async fn put_sign_ins(&self, rows: &[(Uuid, crate::SignInRecord)]) -> StoreResult<()> {
        retry!(self, |c| logs::put_sign_ins(&mut c, rows))
    }

    async fn sign_in_page(
        &self,
        tenant: Uuid,
        query: &crate::LogQuery,
    ) -> StoreResult<Vec<(crate::LogCursor, crate::SignInRecord)>> {
        retry!(self, |c| logs::sign_in_page(&c, tenant, query))
    }

    async fn sign_in(&self, tenant: Uuid, id: Uuid) -> StoreResult<Option<crate::SignInRecord>> {
        retry!(self, |c| logs::sign_in(&c, tenant, id))
    }

    async fn prune_logs(&self, tenant: Uuid, before: &str, limit: usize) -> StoreResult<usize> {
        retry!(self, |c| logs::prune(&c, tenant, before, limit))
    }

    async fn put_sign_in_with_risk(
        &self,
        tenant: Uuid,
        record: &crate::SignInRecord,
        risk: &[(crate::RiskTable, Vec<crate::RiskRecord>)],
    ) -> StoreResult<()> {
        retry!(self, |c| logs::put_sign_in_with_risk(&mut c, tenant, record, risk))
    }

    async fn put_risk_records(
        &self,
        tenant: Uuid,
        table: crate::RiskTable,
        records: &[crate::RiskRecord],
    ) -> StoreResult<()> {
        retry!(self, |c| logs::put_risk_records(&c, tenant, table, records))
    }

    async fn risk_page(
        &self,
        tenant: Uuid,
        table: crate::RiskTable,
        query: &crate::LogQuery,
    ) -> StoreResult<Vec<(crate::LogCursor, crate::RiskRecord)>> {
        retry!(self, |c| logs::risk_page(&c, tenant, table, query))
    }

    async fn risk_record(
        &self,
        tenant: Uuid,
        table: crate::RiskTable,
        id: Uuid,
    ) -> StoreResult<Option<crate::RiskRecord>> {
        retry!(self, |c| logs::risk_record(&c, tenant, table, id))
    }

    async fn put_flow(&self, tenant: Uuid, record: &crate::FlowRecord, purge_before: &str) -> StoreResult<()> {
        retry!(self, |c| flows::put(&mut c, tenant, record, purge_before))
    }

    async fn flow(&self, tenant: Uuid, kind: &str, key: &str) -> StoreResult<Option<crate::FlowRecord>> {
        retry!(self, |c| flows::get(&c, tenant, kind, key))
    }

    async fn flow_by_lookup(&self, tenant: Uuid, kind: &str, lookup: &str) -> StoreResult<Option<crate::FlowRecord>> {
        retry!(self, |c| flows::by_lookup(&c, tenant, kind, lookup))
    }

    async fn update_flow(&self, tenant: Uuid, kind: &str, key: &str, data: &serde_json::Value) -> StoreResult<bool> {
        retry!(self, |c| flows::update(&c, tenant, kind, key, data))
    }

    async fn redeem_flow(&self, tenant: Uuid, kind: &str, key: &str, now: &str) -> StoreResult<crate::FlowRedemption> {
        retry!(self, |c| flows::redeem(&mut c, tenant, kind, key, now))
    }

    async fn delete_flow(&self, tenant: Uuid, kind: &str, key: &str) -> StoreResult<bool> {
        retry!(self, |c| flows::delete(&c, tenant, kind, key))
    }

    async fn revoke_refresh_family(&self, tenant: Uuid, family: Uuid, now: &str) -> StoreResult<u64> {
        retry!(self, |c| flows::revoke_family(&c, tenant, family, now))
    }

    async fn lockout(&self, tenant: Uuid, user: Uuid, scope: &str) -> StoreResult<Option<crate::LockoutRecord>> {
        retry!(self, |c| lockout::get(&c, tenant, user, scope))
    }

    async fn put_lockout(
        &self,
        tenant: Uuid,
        record: &crate::LockoutRecord,
        expected: Option<i64>,
    ) -> StoreResult<bool> {
        retry!(self, |c| lockout::put(&c, tenant, record, expected))
    }

    async fn is_familiar_ip(&self, tenant: Uuid, user: Uuid, ip: &str) -> StoreResult<bool> {
        retry!(self, |c| lockout::is_familiar(&c, tenant, user, ip))
    }

    async fn remember_ip(&self, tenant: Uuid, user: Uuid, ip: &str, now: &str, keep: usize) -> StoreResult<()> {
        retry!(self, |c| lockout::remember(&mut c, tenant, user, ip, now, keep))
    }

    async fn put_photo(&self, tenant: Uuid, photo: &crate::PhotoRecord) -> StoreResult<()> {
        retry!(self, |c| photos::put(&c, tenant, photo))
    }

    async fn photo(&self, tenant: Uuid, object: Uuid) -> StoreResult<Option<crate::PhotoRecord>> {
        retry!(self, |c| photos::get(&c, tenant, object))
    }

    async fn delete_photo(&self, tenant: Uuid, object: Uuid) -> StoreResult<bool> {
        retry!(self, |c| photos::delete(&c, tenant, object))
    }
}
