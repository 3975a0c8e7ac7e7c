//! The embedded SQLite engine.
//!
//! One writer connection behind a mutex serialises writes (SQLite allows one writer anyway, and
//! a single connection keeps its statement cache warm); a small pool of read-only connections
//! serves reads in parallel with it, which WAL allows. Calls run inline on the caller's thread:
//! measured faster than `spawn_blocking` for statements this short (see STACK.md).

mod backup;
pub(crate) mod compile;
mod flows;
mod lockout;
mod logs;
mod migrate;
mod photos;
mod read;
mod sessions;
mod write;

pub use backup::{BEFORE_RESTORE_SUFFIX, SqliteFileInfo, SqliteRestore, sqlite_backup, sqlite_restore, sqlite_verify};

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, TryLockError};

use async_trait::async_trait;
use rusqlite::Connection;
use uuid::Uuid;

use crate::{
    AuditRecord, Change, ChangeLogEntry, EdgeKind, IndexSpec, ListQuery, ObjectRecord, Page, Revalidated, RowStamp,
    SecretRecord, SigningKeyRecord, Store, StoreError, StoreResult, TenantRecord,
};

/// The SQLite store: a file in WAL mode, one writer, a pool of readers.
pub struct SqliteStore {
    // Field order is drop order: readers close first so the writer is the last connection and
    // checkpoints the WAL into the main file on a clean shutdown.
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    writer: Mutex<Connection>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`, applies pending migrations and creates
    /// the expression indexes of `indexes` that do not exist yet. Safe to call on every start,
    /// with a spec list that grew since the last one.
    pub fn open(path: &Path, indexes: &[IndexSpec]) -> StoreResult<SqliteStore> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::Backend(format!("create directory {}: {e}", dir.display())))?;
        }
        let mut writer = Connection::open(path).ctx(&format!("open {}", path.display()))?;
        migrate::configure(&writer, false)?;
        migrate::migrate(&mut writer)?;
        migrate::ensure_indexes(&writer, &compile::Sqlite, indexes)?;
        // Statistics help the planner choose between the expression indexes; cheap when the
        // database is small or unchanged.
        writer.execute_batch("PRAGMA optimize").ctx("optimize")?;

        let count = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).clamp(2, 8) + 1;
        // Readers are ordinary connections made read-only by `query_only`: a read-only *file*
        // handle can fail in WAL mode when it has to recover the shared-memory index.
        let mut readers = Vec::with_capacity(count);
        for _ in 0..count {
            let conn = Connection::open(path).ctx("open reader")?;
            migrate::configure(&conn, true)?;
            readers.push(Mutex::new(conn));
        }
        Ok(SqliteStore { readers, next_reader: AtomicUsize::new(0), writer: Mutex::new(writer) })
    }

    /// The query plan SQLite chooses for `query` (the `detail` lines of `EXPLAIN QUERY PLAN`),
    /// for diagnostics and for tests that check filters and ordering use an index.
    pub fn explain_list(&self, tenant: Uuid, query: &ListQuery) -> StoreResult<Vec<String>> {
        self.read(|c| read::explain_list(c, tenant, query))
    }

    /// Runs `f` on a free reader, or waits for one. Readers are tried round-robin so that
    /// concurrent calls spread over the pool instead of queueing on the first connection.
    fn read<T>(&self, f: impl FnOnce(&mut Connection) -> StoreResult<T>) -> StoreResult<T> {
        let n = self.readers.len();
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed) % n;
        for i in 0..n {
            match self.readers[(start + i) % n].try_lock() {
                Ok(mut guard) => return f(&mut guard),
                Err(TryLockError::Poisoned(p)) => return f(&mut p.into_inner()),
                Err(TryLockError::WouldBlock) => {}
            }
        }
        f(&mut relock(&self.readers[start]))
    }

    /// Runs `f` on the writer connection (writes are serialised).
    fn write<T>(&self, f: impl FnOnce(&mut Connection) -> StoreResult<T>) -> StoreResult<T> {
        f(&mut relock(&self.writer))
    }
}

/// Locks `m`, recovering from poisoning: a panic elsewhere left at worst an open transaction,
/// which rusqlite rolled back when it unwound.
fn relock(m: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Maps driver errors to [`StoreError::Backend`] with what was being done.
pub(crate) trait WithContext<T> {
    fn ctx(self, what: &str) -> StoreResult<T>;
}

impl<T> WithContext<T> for rusqlite::Result<T> {
    fn ctx(self, what: &str) -> StoreResult<T> {
        self.map_err(|e| StoreError::Backend(format!("{what}: {e}")))
    }
}

/// Parses an id column; stored ids are always uuids, anything else is corrupt data.
pub(crate) fn parse_id(s: &str) -> StoreResult<Uuid> {
    Uuid::parse_str(s).map_err(|e| StoreError::Invalid(format!("stored id {s:?}: {e}")))
}

#[async_trait]
impl Store for SqliteStore {
    async fn create_tenant(&self, tenant: &TenantRecord) -> StoreResult<()> {
        self.write(|c| write::create_tenant(c, tenant))
    }

    async fn tenant(&self, id: Uuid) -> StoreResult<Option<TenantRecord>> {
        self.read(|c| read::tenant(c, id))
    }

    async fn tenant_by_domain(&self, domain: &str) -> StoreResult<Option<TenantRecord>> {
        self.read(|c| read::tenant_by_domain(c, domain))
    }

    async fn tenants(&self) -> StoreResult<Vec<TenantRecord>> {
        self.read(|c| read::tenants(c))
    }

    async fn meta(&self, key: &str) -> StoreResult<Option<String>> {
        self.read(|c| read::meta(c, key))
    }

    async fn set_meta(&self, key: &str, value: &str) -> StoreResult<()> {
        self.write(|c| write::set_meta(c, key, value))
    }

    async fn get(&self, tenant: Uuid, id: Uuid) -> StoreResult<Option<ObjectRecord>> {
        self.read(|c| read::get(c, tenant, id))
    }

    async fn get_unless(&self, tenant: Uuid, id: Uuid, known: Option<&RowStamp>) -> StoreResult<Revalidated> {
        self.read(|c| read::get_unless(c, tenant, id, known))
    }

    async fn get_many(&self, tenant: Uuid, ids: &[Uuid]) -> StoreResult<Vec<ObjectRecord>> {
        self.read(|c| read::get_many(c, tenant, ids))
    }

    async fn find_unique(&self, tenant: Uuid, namespace: &str, key: &str) -> StoreResult<Option<Uuid>> {
        self.read(|c| read::find_unique(c, tenant, namespace, key))
    }

    async fn list(&self, tenant: Uuid, query: &ListQuery) -> StoreResult<Page> {
        self.read(|c| read::list(c, tenant, query))
    }

    async fn has_edge(&self, tenant: Uuid, kind: EdgeKind, source: Uuid, target: Uuid) -> StoreResult<bool> {
        self.read(|c| read::has_edge(c, tenant, kind, source, target))
    }

    async fn edge_ids(&self, tenant: Uuid, kind: EdgeKind, id: Uuid, reverse: bool) -> StoreResult<Vec<Uuid>> {
        self.read(|c| read::edge_ids(c, tenant, kind, id, reverse))
    }

    async fn edges_of_kind(&self, tenant: Uuid, kind: EdgeKind) -> StoreResult<Vec<crate::EdgeRecord>> {
        self.read(|c| read::edges_of_kind(c, tenant, kind))
    }

    async fn deleted_before(&self, tenant: Uuid, before: &str, limit: usize) -> StoreResult<Vec<Uuid>> {
        self.read(|c| read::deleted_before(c, tenant, before, limit))
    }

    async fn secrets(&self, tenant: Uuid, owner: Uuid) -> StoreResult<Vec<SecretRecord>> {
        self.read(|c| read::secrets(c, tenant, owner))
    }

    async fn signing_keys(&self, tenant: Uuid) -> StoreResult<Vec<SigningKeyRecord>> {
        self.read(|c| read::signing_keys(c, tenant))
    }

    async fn apply(&self, tenant: Uuid, change: Change) -> StoreResult<u64> {
        self.write(|c| write::apply(c, tenant, change))
    }

    async fn apply_all(&self, tenant: Uuid, changes: Vec<Change>) -> StoreResult<u64> {
        self.write(|c| write::apply_all(c, tenant, changes))
    }

    async fn changes_since(&self, tenant: Uuid, after_seq: u64, limit: usize) -> StoreResult<Vec<ChangeLogEntry>> {
        self.read(|c| read::changes_since(c, tenant, after_seq, limit))
    }

    async fn audit_records(&self, tenant: Uuid, limit: usize) -> StoreResult<Vec<AuditRecord>> {
        self.read(|c| read::audit_records(c, tenant, limit))
    }

    async fn change_log_bounds(&self, tenant: Uuid) -> StoreResult<crate::ChangeLogBounds> {
        self.read(|c| read::change_log_bounds(c, tenant))
    }

    async fn changes_of_types(
        &self,
        tenant: Uuid,
        object_types: &[String],
        after_seq: u64,
        limit: usize,
    ) -> StoreResult<Vec<ChangeLogEntry>> {
        self.read(|c| read::changes_of_types(c, tenant, object_types, after_seq, limit))
    }

    async fn prune_changes(&self, tenant: Uuid, before: &str, limit: usize) -> StoreResult<usize> {
        self.write(|c| write::prune_changes(c, tenant, before, limit))
    }

    async fn put_refresh_token(&self, tenant: Uuid, token: &crate::RefreshTokenRecord) -> StoreResult<()> {
        self.write(|c| sessions::put(c, tenant, token))
    }

    async fn redeem_refresh_token(
        &self,
        tenant: Uuid,
        hash: &str,
        client_id: &str,
        now: &str,
    ) -> StoreResult<crate::RefreshRedemption> {
        self.write(|c| sessions::redeem(c, tenant, hash, client_id, now))
    }

    async fn revoke_refresh_tokens(&self, tenant: Uuid, user: Uuid, now: &str) -> StoreResult<u64> {
        self.write(|c| sessions::revoke_user(c, tenant, user, now))
    }

    async fn audit_page(
        &self,
        tenant: Uuid,
        query: &crate::LogQuery,
    ) -> StoreResult<Vec<(crate::LogCursor, AuditRecord)>> {
        self.read(|c| logs::audit_page(c, tenant, query))
    }

    async fn audit_record(&self, tenant: Uuid, id: Uuid) -> StoreResult<Option<AuditRecord>> {
        self.read(|c| logs::audit_record(c, tenant, id))
    }

    async fn put_sign_in(&self, tenant: Uuid, record: &crate::SignInRecord) -> StoreResult<()> {
        self.write(|c| logs::put_sign_in(c, tenant, record))
    }

    async fn put_sign_ins(&self, rows: &[(Uuid, crate::SignInRecord)]) -> StoreResult<()> {
        self.write(|c| logs::put_sign_ins(c, rows))
    }

    async fn sign_in_page(
        &self,
        tenant: Uuid,
        query: &crate::LogQuery,
    ) -> StoreResult<Vec<(crate::LogCursor, crate::SignInRecord)>> {
        self.read(|c| logs::sign_in_page(c, tenant, query))
    }

    async fn sign_in_page_projected(
        &self,
        tenant: Uuid,
        query: &crate::LogQuery,
        keep: &[&str],
    ) -> StoreResult<Vec<(crate::LogCursor, crate::SignInRecord)>> {
        self.read(|c| logs::sign_in_page_projected(c, tenant, query, keep))
    }

    async fn sign_in(&self, tenant: Uuid, id: Uuid) -> StoreResult<Option<crate::SignInRecord>> {
        self.read(|c| logs::sign_in(c, tenant, id))
    }

    async fn prune_logs(&self, tenant: Uuid, before: &str, limit: usize) -> StoreResult<usize> {
        self.write(|c| logs::prune(c, tenant, before, limit))
    }

    async fn put_sign_in_with_risk(
        &self,
        tenant: Uuid,
        record: &crate::SignInRecord,
        risk: &[(crate::RiskTable, Vec<crate::RiskRecord>)],
    ) -> StoreResult<()> {
        self.write(|c| {
            let tx = c.transaction().ctx("begin sign-in with risk")?;
            logs::put_sign_in(&tx, tenant, record)?;
            for (table, rows) in risk {
                logs::put_risk_records(&tx, tenant, *table, rows)?;
            }
            tx.commit().ctx("commit sign-in with risk")
        })
    }

    async fn put_risk_records(
        &self,
        tenant: Uuid,
        table: crate::RiskTable,
        records: &[crate::RiskRecord],
    ) -> StoreResult<()> {
        self.write(|c| logs::put_risk_records(c, tenant, table, records))
    }

    async fn risk_page(
        &self,
        tenant: Uuid,
        table: crate::RiskTable,
        query: &crate::LogQuery,
    ) -> StoreResult<Vec<(crate::LogCursor, crate::RiskRecord)>> {
        self.read(|c| logs::risk_page(c, tenant, table, query))
    }

    async fn risk_record(
        &self,
        tenant: Uuid,
        table: crate::RiskTable,
        id: Uuid,
    ) -> StoreResult<Option<crate::RiskRecord>> {
        self.read(|c| logs::risk_record(c, tenant, table, id))
    }

    async fn put_flow(&self, tenant: Uuid, record: &crate::FlowRecord, purge_before: &str) -> StoreResult<()> {
        self.write(|c| flows::put(c, tenant, record, purge_before))
    }

    async fn flow(&self, tenant: Uuid, kind: &str, key: &str) -> StoreResult<Option<crate::FlowRecord>> {
        self.read(|c| flows::get(c, tenant, kind, key))
    }

    async fn flow_by_lookup(&self, tenant: Uuid, kind: &str, lookup: &str) -> StoreResult<Option<crate::FlowRecord>> {
        self.read(|c| flows::by_lookup(c, tenant, kind, lookup))
    }

    async fn update_flow(&self, tenant: Uuid, kind: &str, key: &str, data: &serde_json::Value) -> StoreResult<bool> {
        self.write(|c| flows::update(c, tenant, kind, key, data))
    }

    async fn redeem_flow(&self, tenant: Uuid, kind: &str, key: &str, now: &str) -> StoreResult<crate::FlowRedemption> {
        self.write(|c| flows::redeem(c, tenant, kind, key, now))
    }

    async fn delete_flow(&self, tenant: Uuid, kind: &str, key: &str) -> StoreResult<bool> {
        self.write(|c| flows::delete(c, tenant, kind, key))
    }

    async fn revoke_refresh_family(&self, tenant: Uuid, family: Uuid, now: &str) -> StoreResult<u64> {
        self.write(|c| flows::revoke_family(c, tenant, family, now))
    }

    async fn lockout(&self, tenant: Uuid, user: Uuid, scope: &str) -> StoreResult<Option<crate::LockoutRecord>> {
        self.read(|c| lockout::get(c, tenant, user, scope))
    }

    async fn put_lockout(
        &self,
        tenant: Uuid,
        record: &crate::LockoutRecord,
        expected: Option<i64>,
    ) -> StoreResult<bool> {
        self.write(|c| lockout::put(c, tenant, record, expected))
    }

    async fn is_familiar_ip(&self, tenant: Uuid, user: Uuid, ip: &str) -> StoreResult<bool> {
        self.read(|c| lockout::is_familiar(c, tenant, user, ip))
    }

    async fn remember_ip(&self, tenant: Uuid, user: Uuid, ip: &str, now: &str, keep: usize) -> StoreResult<()> {
        self.write(|c| lockout::remember(c, tenant, user, ip, now, keep))
    }

    async fn put_photo(&self, tenant: Uuid, photo: &crate::PhotoRecord) -> StoreResult<()> {
        self.write(|c| photos::put(c, tenant, photo))
    }

    async fn photo(&self, tenant: Uuid, object: Uuid) -> StoreResult<Option<crate::PhotoRecord>> {
        self.read(|c| photos::get(c, tenant, object))
    }

    async fn delete_photo(&self, tenant: Uuid, object: Uuid) -> StoreResult<bool> {
        self.write(|c| photos::delete(c, tenant, object))
    }
}
