//! The store layer: one [`Store`] trait, implemented by the embedded SQLite engine and by
//! PostgreSQL (several stateless nodes on one database); both pass the same test suite.
//!
//! The store holds tenants, directory objects (as JSON documents with a type, an id and a
//! version), relationship edges, secrets, signing keys, a per-tenant change log and the audit
//! log. Every [`Change`] is applied in one transaction that also appends to the change log and
//! writes one audit record, so delta queries, multi-node consistency and audit all read from the
//! same source. Queries arrive as protocol-neutral [`plan`] values; the store compiles them to
//! its own SQL. Nothing above this crate writes SQL.

mod changelog;
pub mod clock;
mod flows;
mod lockout;
mod logs;
mod photos;
pub mod plan;
mod postgres;
mod records;
mod sqlite;
#[cfg(feature = "testing")]
pub mod testing;

pub use changelog::{ChangeLogBounds, PRUNE_BATCH};
pub use flows::{FlowRecord, FlowRedemption};
pub use lockout::LockoutRecord;
pub use photos::PhotoRecord;
pub use plan::*;
pub use postgres::PostgresStore;
pub use records::*;
pub use sqlite::SqliteStore;
pub use sqlite::{BEFORE_RESTORE_SUFFIX, SqliteFileInfo, SqliteRestore, sqlite_backup, sqlite_restore, sqlite_verify};

use async_trait::async_trait;
use uuid::Uuid;

/// Errors of the storage layer. Front-ends map them to their own wire errors.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness claim (`namespace`, `key`) is held by another object.
    #[error("the value '{key}' of '{namespace}' is already in use")]
    Conflict { namespace: String, key: String, holder: Uuid },
    /// An object, edge or tenant the change refers to does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// An edge to add exists already.
    #[error("edge exists: {0}")]
    EdgeExists(String),
    /// The object's version is not the one the change was computed from.
    #[error("object {0} was changed concurrently")]
    VersionMismatch(Uuid),
    /// A cursor or stored value could not be read.
    #[error("invalid data: {0}")]
    Invalid(String),
    /// The engine failed (I/O, corruption, ...).
    #[error("storage failure: {0}")]
    Backend(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// The storage contract. Every method is scoped by tenant id; no call crosses tenants except
/// the tenant lookups themselves.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    // ---- tenants and server metadata ----

    /// Creates a tenant with its domains. Domain names are unique across the server.
    async fn create_tenant(&self, tenant: &TenantRecord) -> StoreResult<()>;
    async fn tenant(&self, id: Uuid) -> StoreResult<Option<TenantRecord>>;
    /// Resolves a domain name (case-insensitively) to its tenant.
    async fn tenant_by_domain(&self, domain: &str) -> StoreResult<Option<TenantRecord>>;
    async fn tenants(&self) -> StoreResult<Vec<TenantRecord>>;
    /// Server-wide settings (for example which tenant was bootstrapped).
    async fn meta(&self, key: &str) -> StoreResult<Option<String>>;
    async fn set_meta(&self, key: &str, value: &str) -> StoreResult<()>;

    // ---- directory objects ----

    /// One object by id, live or soft-deleted (see [`ObjectRecord::deleted_at`]).
    async fn get(&self, tenant: Uuid, id: Uuid) -> StoreResult<Option<ObjectRecord>>;
    /// One object by id unless it still has the stamp `known`, in one round trip: a caller that
    /// keeps something derived from the row (a rendered response) asks the store whether it is
    /// still current without reading and decoding the document again. Strongly consistent like
    /// [`Store::get`]: a write committed anywhere before the call is seen. The default reads the
    /// object in full and gives no stamp (nothing is then kept).
    async fn get_unless(&self, tenant: Uuid, id: Uuid, known: Option<&RowStamp>) -> StoreResult<Revalidated> {
        let _ = known;
        Ok(match self.get(tenant, id).await? {
            Some(o) => Revalidated::Changed(o, None),
            None => Revalidated::Missing,
        })
    }
    /// Several objects by id; missing ids are skipped, order follows `ids`.
    async fn get_many(&self, tenant: Uuid, ids: &[Uuid]) -> StoreResult<Vec<ObjectRecord>>;
    /// The holder of a uniqueness claim, e.g. (`upn`, `adele@contoso.com` lower-cased).
    async fn find_unique(&self, tenant: Uuid, namespace: &str, key: &str) -> StoreResult<Option<Uuid>>;
    /// Runs a list query: filter, order, keyset page, optional count.
    async fn list(&self, tenant: Uuid, query: &ListQuery) -> StoreResult<Page>;
    /// Whether an edge exists.
    async fn has_edge(&self, tenant: Uuid, kind: EdgeKind, source: Uuid, target: Uuid) -> StoreResult<bool>;
    /// Targets of `source`'s edges of `kind` (or sources, with `reverse`), unpaged ids.
    async fn edge_ids(&self, tenant: Uuid, kind: EdgeKind, id: Uuid, reverse: bool) -> StoreResult<Vec<Uuid>>;

    /// Every edge of `kind` in the tenant whose two ends are both live, with their types, in
    /// one read: what an in-memory relationship graph (transitive membership) is loaded from.
    /// Callers read [`Store::change_log_bounds`] first and replay the change log from there,
    /// so the list need not be a snapshot at a known sequence.
    async fn edges_of_kind(&self, tenant: Uuid, kind: EdgeKind) -> StoreResult<Vec<EdgeRecord>> {
        let _ = (tenant, kind);
        Err(StoreError::Backend("edges_of_kind is not supported by this store".into()))
    }

    /// Soft-deleted objects whose `deleted_at` is before `before` (RFC 3339), oldest first, at
    /// most `limit`: what the recycle bin's 30-day purge removes.
    async fn deleted_before(&self, tenant: Uuid, before: &str, limit: usize) -> StoreResult<Vec<Uuid>> {
        let _ = (tenant, before, limit);
        Err(StoreError::Backend("deleted_before is not supported by this store".into()))
    }

    // ---- secrets and keys (never part of a document) ----

    async fn secrets(&self, tenant: Uuid, owner: Uuid) -> StoreResult<Vec<SecretRecord>>;
    async fn signing_keys(&self, tenant: Uuid) -> StoreResult<Vec<SigningKeyRecord>>;

    // ---- writes ----

    /// Applies every op of `change` in one transaction, appends one change-log entry per object
    /// touched and writes the audit record. Returns the tenant's new change-log sequence.
    async fn apply(&self, tenant: Uuid, change: Change) -> StoreResult<u64>;

    /// Applies several changes in order in one transaction: every one of them, or none (the
    /// first error undoes the ones before it). Each keeps its own change-log entries and audit
    /// record. Returns the tenant's new change-log sequence. Azure AD Graph's `$batch` change
    /// sets are all-or-nothing through this.
    async fn apply_all(&self, tenant: Uuid, changes: Vec<Change>) -> StoreResult<u64>;

    // ---- logs ----

    /// Change-log entries after `after_seq`, oldest first, at most `limit`.
    async fn changes_since(&self, tenant: Uuid, after_seq: u64, limit: usize) -> StoreResult<Vec<ChangeLogEntry>>;
    /// Audit records, newest first, at most `limit`.
    async fn audit_records(&self, tenant: Uuid, limit: usize) -> StoreResult<Vec<AuditRecord>>;

    // ---- change-log reads for delta queries, and retention ----
    //
    // Defaults answer `Backend` so that stores written before these methods (test doubles)
    // still compile; both engines implement them.

    /// The tenant's latest sequence and the highest pruned one, in one cheap read (the tenant
    /// row). `NotFound` for an unknown tenant.
    async fn change_log_bounds(&self, tenant: Uuid) -> StoreResult<ChangeLogBounds> {
        let _ = tenant;
        Err(StoreError::Backend("change_log_bounds is not supported by this store".into()))
    }

    /// Change-log entries of objects of `object_types` after `after_seq`, oldest first, at most
    /// `limit`. Served by an index on (tenant, type, seq), so a delta round reads only the
    /// changes of its type since its token, whatever the size of the tenant.
    async fn changes_of_types(
        &self,
        tenant: Uuid,
        object_types: &[String],
        after_seq: u64,
        limit: usize,
    ) -> StoreResult<Vec<ChangeLogEntry>> {
        let _ = (tenant, object_types, after_seq, limit);
        Err(StoreError::Backend("changes_of_types is not supported by this store".into()))
    }

    /// Deletes the oldest change-log entries committed before `before` (RFC 3339), at most
    /// `limit` of them in one transaction, and raises [`ChangeLogBounds::pruned_through`] to the
    /// last one deleted. Returns how many were deleted; call again while it returns `limit`.
    async fn prune_changes(&self, tenant: Uuid, before: &str, limit: usize) -> StoreResult<usize> {
        let _ = (tenant, before, limit);
        Err(StoreError::Backend("prune_changes is not supported by this store".into()))
    }

    /// Refreshes the query planner's statistics after a bulk load (`cerulean import`). On
    /// PostgreSQL this is `ANALYZE`: a planner that still believes the tables hold the handful
    /// of rows they had before the load picks nested loops that take minutes at 100k objects
    /// (the membership graph's edge read went from minutes to 0.3 s), and a server whose
    /// autovacuum is off or has not run yet never corrects them. It is `VACUUM (ANALYZE)`, so
    /// the freshly loaded rows are also settled (hint bits set, pages marked all-visible) once
    /// instead of by the first readers: a filtered `$count` list at 100k users served 93
    /// requests/s before it and 178 after. SQLite plans from its indexes without gathered
    /// statistics here, so its default does nothing.
    async fn refresh_statistics(&self) -> StoreResult<()> {
        Ok(())
    }

    // ---- refresh tokens (sign-in sessions; not directory objects: no change log, no audit) ----
    //
    // Defaults answer `Backend` so that test doubles written before these methods compile;
    // both engines implement them.

    /// Stores a new refresh token (only its hash). Also deletes the user's expired tokens, so
    /// the table holds live sessions and the used tokens replay detection needs, nothing more.
    async fn put_refresh_token(&self, tenant: Uuid, token: &RefreshTokenRecord) -> StoreResult<()> {
        let _ = (tenant, token);
        Err(StoreError::Backend("put_refresh_token is not supported by this store".into()))
    }

    /// Presents the token with this hash at time `now` (RFC 3339), atomically: a live token is
    /// marked used and returned; a used one is a replay, and its whole family is revoked in the
    /// same transaction; a revoked one is reported as such. Expiry is the caller's to check.
    async fn redeem_refresh_token(
        &self,
        tenant: Uuid,
        hash: &str,
        client_id: &str,
        now: &str,
    ) -> StoreResult<RefreshRedemption> {
        let _ = (tenant, hash, client_id, now);
        Err(StoreError::Backend("redeem_refresh_token is not supported by this store".into()))
    }

    /// Revokes every refresh token of `user` not yet revoked (password reset, account disabled,
    /// `revokeSignInSessions`). Returns how many were revoked.
    async fn revoke_refresh_tokens(&self, tenant: Uuid, user: Uuid, now: &str) -> StoreResult<u64> {
        let _ = (tenant, user, now);
        Err(StoreError::Backend("revoke_refresh_tokens is not supported by this store".into()))
    }

    // ---- audit and sign-in logs (issue 7) ----
    //
    // Defaults answer `Backend` so that test doubles written before these methods compile;
    // both engines implement them.

    /// Audit records matching `query`, newest first, each with its position for the next page.
    async fn audit_page(&self, tenant: Uuid, query: &LogQuery) -> StoreResult<Vec<(LogCursor, AuditRecord)>> {
        let _ = (tenant, query);
        Err(StoreError::Backend("audit_page is not supported by this store".into()))
    }

    /// One audit record by id.
    async fn audit_record(&self, tenant: Uuid, id: Uuid) -> StoreResult<Option<AuditRecord>> {
        let _ = (tenant, id);
        Err(StoreError::Backend("audit_record is not supported by this store".into()))
    }

    /// Records one sign-in attempt (its own short transaction: a sign-in changes no object).
    async fn put_sign_in(&self, tenant: Uuid, record: &SignInRecord) -> StoreResult<()> {
        let _ = (tenant, record);
        Err(StoreError::Backend("put_sign_in is not supported by this store".into()))
    }

    /// Records several sign-in attempts, of any tenants, in one transaction: all or none
    /// (group commit: the sign-in log's writer batches concurrent sign-ins into one commit).
    /// The default writes them one by one.
    async fn put_sign_ins(&self, rows: &[(Uuid, SignInRecord)]) -> StoreResult<()> {
        for (tenant, record) in rows {
            self.put_sign_in(*tenant, record).await?;
        }
        Ok(())
    }

    /// Sign-in records matching `query`, newest first, each with its position.
    async fn sign_in_page(&self, tenant: Uuid, query: &LogQuery) -> StoreResult<Vec<(LogCursor, SignInRecord)>> {
        let _ = (tenant, query);
        Err(StoreError::Backend("sign_in_page is not supported by this store".into()))
    }

    /// [`Store::sign_in_page`] with only the `keep` top-level properties of each record's
    /// `doc`: a reader that needs a few facts of many records (the risk history read at every
    /// sign-in) skips the rest while reading instead of building values it drops (issue 8).
    /// The default reads whole records and drops the other properties.
    async fn sign_in_page_projected(
        &self,
        tenant: Uuid,
        query: &LogQuery,
        keep: &[&str],
    ) -> StoreResult<Vec<(LogCursor, SignInRecord)>> {
        let mut page = self.sign_in_page(tenant, query).await?;
        for (_, record) in &mut page {
            record.doc.retain(|k, _| keep.contains(&k.as_str()));
        }
        Ok(page)
    }

    /// One sign-in record by id.
    async fn sign_in(&self, tenant: Uuid, id: Uuid) -> StoreResult<Option<SignInRecord>> {
        let _ = (tenant, id);
        Err(StoreError::Backend("sign_in is not supported by this store".into()))
    }

    /// Retention: deletes up to `limit` audit and up to `limit` sign-in records older than
    /// `before` (RFC 3339) in one short transaction each. Returns how many were deleted; call
    /// again while it returns at least `limit`.
    async fn prune_logs(&self, tenant: Uuid, before: &str, limit: usize) -> StoreResult<usize> {
        let _ = (tenant, before, limit);
        Err(StoreError::Backend("prune_logs is not supported by this store".into()))
    }

    // ---- Identity Protection (issue 7): risk detections, risky users, their history ----
    //
    // Defaults answer `Backend` so that test doubles compile; both engines implement them.

    /// Writes `records` into `table`, each replacing the row with its id.
    async fn put_risk_records(&self, tenant: Uuid, table: RiskTable, records: &[RiskRecord]) -> StoreResult<()> {
        let _ = (tenant, table, records);
        Err(StoreError::Backend("put_risk_records is not supported by this store".into()))
    }

    /// Records one sign-in attempt and the risk rows it raised (detections, the user's risk, its
    /// history item) in one transaction: a crash or a failed write leaves neither a detection
    /// without its sign-in nor a sign-in without its detections.
    async fn put_sign_in_with_risk(
        &self,
        tenant: Uuid,
        record: &SignInRecord,
        risk: &[(RiskTable, Vec<RiskRecord>)],
    ) -> StoreResult<()> {
        let _ = (tenant, record, risk);
        Err(StoreError::Backend("put_sign_in_with_risk is not supported by this store".into()))
    }

    /// Rows of `table` matching `query`, newest first, each with its position.
    async fn risk_page(
        &self,
        tenant: Uuid,
        table: RiskTable,
        query: &LogQuery,
    ) -> StoreResult<Vec<(LogCursor, RiskRecord)>> {
        let _ = (tenant, table, query);
        Err(StoreError::Backend("risk_page is not supported by this store".into()))
    }

    /// One row of `table` by id.
    async fn risk_record(&self, tenant: Uuid, table: RiskTable, id: Uuid) -> StoreResult<Option<RiskRecord>> {
        let _ = (tenant, table, id);
        Err(StoreError::Backend("risk_record is not supported by this store".into()))
    }

    // ---- sign-in flows (authorization codes, device codes, SSO sessions; see [`FlowRecord`]) ----
    //
    // Defaults answer `Backend` so that test doubles compile; both engines implement them.

    /// Stores a new flow record, and deletes the tenant's records of the same kind that
    /// expired before `purge_before` (RFC 3339), so the table holds live state only.
    async fn put_flow(&self, tenant: Uuid, record: &FlowRecord, purge_before: &str) -> StoreResult<()> {
        let _ = (tenant, record, purge_before);
        Err(StoreError::Backend("put_flow is not supported by this store".into()))
    }

    /// The record of `kind` with this key.
    async fn flow(&self, tenant: Uuid, kind: &str, key: &str) -> StoreResult<Option<FlowRecord>> {
        let _ = (tenant, kind, key);
        Err(StoreError::Backend("flow is not supported by this store".into()))
    }

    /// The record of `kind` whose `lookup` is this value (the newest, should there be two).
    async fn flow_by_lookup(&self, tenant: Uuid, kind: &str, lookup: &str) -> StoreResult<Option<FlowRecord>> {
        let _ = (tenant, kind, lookup);
        Err(StoreError::Backend("flow_by_lookup is not supported by this store".into()))
    }

    /// Replaces the data of a record not yet used. Returns whether a record was updated.
    async fn update_flow(&self, tenant: Uuid, kind: &str, key: &str, data: &serde_json::Value) -> StoreResult<bool> {
        let _ = (tenant, kind, key, data);
        Err(StoreError::Backend("update_flow is not supported by this store".into()))
    }

    /// Marks the record used at `now`, atomically: of two concurrent redemptions exactly one
    /// gets [`FlowRedemption::Redeemed`]. Expiry is the caller's to check.
    async fn redeem_flow(&self, tenant: Uuid, kind: &str, key: &str, now: &str) -> StoreResult<FlowRedemption> {
        let _ = (tenant, kind, key, now);
        Err(StoreError::Backend("redeem_flow is not supported by this store".into()))
    }

    /// Deletes a record (sign-out). Returns whether it existed.
    async fn delete_flow(&self, tenant: Uuid, kind: &str, key: &str) -> StoreResult<bool> {
        let _ = (tenant, kind, key);
        Err(StoreError::Backend("delete_flow is not supported by this store".into()))
    }

    /// Revokes the refresh tokens of one family (an authorization code redeemed twice revokes
    /// what its first redemption issued). Returns how many were revoked.
    async fn revoke_refresh_family(&self, tenant: Uuid, family: Uuid, now: &str) -> StoreResult<u64> {
        let _ = (tenant, family, now);
        Err(StoreError::Backend("revoke_refresh_family is not supported by this store".into()))
    }

    // ---- smart lockout (see [`LockoutRecord`]) ----
    //
    // Defaults answer `Backend` so that test doubles compile; both engines implement them.

    /// The lockout counter of `user` in `scope`.
    async fn lockout(&self, tenant: Uuid, user: Uuid, scope: &str) -> StoreResult<Option<LockoutRecord>> {
        let _ = (tenant, user, scope);
        Err(StoreError::Backend("lockout is not supported by this store".into()))
    }

    /// Writes a counter if it is still at version `expected` (`None`: if there is none yet);
    /// the stored version becomes `expected + 1` (or 1). Returns whether it was written: on
    /// `false` another node changed it first, and the caller reads it again.
    async fn put_lockout(&self, tenant: Uuid, record: &LockoutRecord, expected: Option<i64>) -> StoreResult<bool> {
        let _ = (tenant, record, expected);
        Err(StoreError::Backend("put_lockout is not supported by this store".into()))
    }

    /// Whether `user` signed in successfully from `ip` before.
    async fn is_familiar_ip(&self, tenant: Uuid, user: Uuid, ip: &str) -> StoreResult<bool> {
        let _ = (tenant, user, ip);
        Err(StoreError::Backend("is_familiar_ip is not supported by this store".into()))
    }

    /// Remembers a successful sign-in of `user` from `ip` at `now`, keeping only the user's
    /// `keep` most recent addresses.
    async fn remember_ip(&self, tenant: Uuid, user: Uuid, ip: &str, now: &str, keep: usize) -> StoreResult<()> {
        let _ = (tenant, user, ip, now, keep);
        Err(StoreError::Backend("remember_ip is not supported by this store".into()))
    }

    // ---- profile photos (see [`PhotoRecord`]) ----
    //
    // Defaults answer `Backend` so that test doubles compile; both engines implement them.

    /// Stores (or replaces) the photo of a live object. `NotFound` when the object does not
    /// exist or is deleted.
    async fn put_photo(&self, tenant: Uuid, photo: &PhotoRecord) -> StoreResult<()> {
        let _ = (tenant, photo);
        Err(StoreError::Backend("put_photo is not supported by this store".into()))
    }

    /// The photo of `object`, if one was stored.
    async fn photo(&self, tenant: Uuid, object: Uuid) -> StoreResult<Option<PhotoRecord>> {
        let _ = (tenant, object);
        Err(StoreError::Backend("photo is not supported by this store".into()))
    }

    /// Deletes the photo of `object`. Returns whether there was one.
    async fn delete_photo(&self, tenant: Uuid, object: Uuid) -> StoreResult<bool> {
        let _ = (tenant, object);
        Err(StoreError::Backend("delete_photo is not supported by this store".into()))
    }
}
