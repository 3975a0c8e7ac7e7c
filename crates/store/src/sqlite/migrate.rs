//! Connection settings, numbered schema migrations and the schema-driven expression indexes.

use std::collections::BTreeMap;
use std::time::Duration;

use rusqlite::Connection;

use super::WithContext;
use super::compile::{self, Dialect};
use crate::{IndexSpec, StoreError, StoreResult};

/// Migrations, applied in order; `PRAGMA user_version` records how many ran. Never edit a
/// released script: append a new one.
pub(super) const MIGRATIONS: &[&str] = &[
    // 1: the initial layout. Every table carries tenant_id and every index leads with it,
    // except the server-wide domain -> tenant lookup and meta.
    r#"
    CREATE TABLE tenants (
        id           TEXT PRIMARY KEY NOT NULL,
        display_name TEXT NOT NULL,
        created_at   TEXT NOT NULL,
        last_seq     INTEGER NOT NULL DEFAULT 0
    ) STRICT;

    CREATE TABLE domains (
        name        TEXT PRIMARY KEY NOT NULL,
        tenant_id   TEXT NOT NULL,
        position    INTEGER NOT NULL,
        is_initial  INTEGER NOT NULL,
        is_default  INTEGER NOT NULL,
        is_verified INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX domains_by_tenant ON domains (tenant_id, position);

    CREATE TABLE meta (
        key   TEXT PRIMARY KEY NOT NULL,
        value TEXT NOT NULL
    ) STRICT;

    CREATE TABLE objects (
        tenant_id   TEXT NOT NULL,
        id          TEXT NOT NULL,
        object_type TEXT NOT NULL,
        version     INTEGER NOT NULL,
        deleted_at  TEXT,
        doc         TEXT NOT NULL,
        created_at  TEXT NOT NULL,
        updated_at  TEXT NOT NULL,
        PRIMARY KEY (tenant_id, id)
    ) STRICT;
    CREATE INDEX objects_by_type ON objects (tenant_id, object_type, id);

    CREATE TABLE claims (
        tenant_id TEXT NOT NULL,
        namespace TEXT NOT NULL,
        key       TEXT NOT NULL,
        object_id TEXT NOT NULL,
        PRIMARY KEY (tenant_id, namespace, key)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX claims_by_object ON claims (tenant_id, object_id);

    CREATE TABLE edges (
        tenant_id TEXT NOT NULL,
        kind      TEXT NOT NULL,
        source_id TEXT NOT NULL,
        target_id TEXT NOT NULL,
        PRIMARY KEY (tenant_id, kind, source_id, target_id)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX edges_reverse ON edges (tenant_id, kind, target_id, source_id);

    CREATE TABLE secrets (
        tenant_id TEXT NOT NULL,
        owner_id  TEXT NOT NULL,
        key_id    TEXT NOT NULL,
        kind      TEXT NOT NULL,
        hash      TEXT NOT NULL,
        meta      TEXT NOT NULL,
        PRIMARY KEY (tenant_id, owner_id, key_id)
    ) STRICT;

    CREATE TABLE signing_keys (
        tenant_id     TEXT NOT NULL,
        kid           TEXT NOT NULL,
        private_pkcs8 BLOB NOT NULL,
        created_at    TEXT NOT NULL,
        status        TEXT NOT NULL,
        PRIMARY KEY (tenant_id, kid)
    ) STRICT;

    CREATE TABLE changes (
        tenant_id   TEXT NOT NULL,
        seq         INTEGER NOT NULL,
        object_id   TEXT NOT NULL,
        object_type TEXT NOT NULL,
        kind        TEXT NOT NULL,
        detail      TEXT NOT NULL,
        at          TEXT NOT NULL,
        PRIMARY KEY (tenant_id, seq)
    ) STRICT, WITHOUT ROWID;

    CREATE TABLE audit (
        tenant_id      TEXT NOT NULL,
        id             TEXT NOT NULL,
        at             TEXT NOT NULL,
        activity       TEXT NOT NULL,
        category       TEXT NOT NULL,
        operation_type TEXT NOT NULL,
        actor_id       TEXT,
        correlation_id TEXT,
        record         TEXT NOT NULL,
        PRIMARY KEY (tenant_id, id)
    ) STRICT;
    CREATE INDEX audit_by_time ON audit (tenant_id, at);
    CREATE INDEX audit_by_activity ON audit (tenant_id, activity, at);
    CREATE INDEX audit_by_actor ON audit (tenant_id, actor_id, at);
    CREATE INDEX audit_by_correlation ON audit (tenant_id, correlation_id);
    "#,
    // 2: delta queries. `pruned_seq` is the change-log retention watermark (entries at or below
    // it may be gone, so older delta tokens have expired); the index lets a delta round read
    // only the changes of its object type after its token.
    r#"
    ALTER TABLE tenants ADD COLUMN pruned_seq INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX changes_by_type ON changes (tenant_id, object_type, seq);
    "#,
    // 3: refresh tokens (user sign-in sessions). Only the SHA-256 of a token is kept. The
    // family index serves replay revocation, the user index revocation by user and the
    // clean-up of expired tokens.
    r#"
    CREATE TABLE refresh_tokens (
        tenant_id  TEXT NOT NULL,
        hash       TEXT NOT NULL,
        family_id  TEXT NOT NULL,
        user_id    TEXT NOT NULL,
        client_id  TEXT NOT NULL,
        scopes     TEXT NOT NULL,
        data       TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        used_at    TEXT,
        revoked_at TEXT,
        PRIMARY KEY (tenant_id, hash)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX refresh_tokens_by_family ON refresh_tokens (tenant_id, family_id);
    CREATE INDEX refresh_tokens_by_user ON refresh_tokens (tenant_id, user_id, expires_at);
    "#,
    // 4: the sign-in log (issue 7). Rowid order is insertion order, the tie-breaker of the
    // newest-first order and of page cursors (SQLite appends the rowid to every index); each
    // index leads with (tenant, column) and ends with the time, so a filtered page is a range
    // scan.
    r#"
    CREATE TABLE sign_ins (
        tenant_id      TEXT NOT NULL,
        id             TEXT NOT NULL,
        at             TEXT NOT NULL,
        user_id        TEXT,
        upn            TEXT,
        app_id         TEXT,
        ip_address     TEXT NOT NULL,
        error_code     TEXT NOT NULL,
        event_type     TEXT NOT NULL,
        correlation_id TEXT,
        record         TEXT NOT NULL
    ) STRICT;
    CREATE UNIQUE INDEX sign_ins_by_id ON sign_ins (tenant_id, id);
    CREATE INDEX sign_ins_by_time ON sign_ins (tenant_id, at);
    CREATE INDEX sign_ins_by_user ON sign_ins (tenant_id, user_id, at);
    CREATE INDEX sign_ins_by_upn ON sign_ins (tenant_id, upn, at);
    CREATE INDEX sign_ins_by_app ON sign_ins (tenant_id, app_id, at);
    CREATE INDEX sign_ins_by_type ON sign_ins (tenant_id, event_type, at);
    CREATE INDEX sign_ins_by_ip ON sign_ins (tenant_id, ip_address, at);
    CREATE INDEX sign_ins_by_correlation ON sign_ins (tenant_id, correlation_id);
    "#,
    // sign-in flows: authorization codes, device codes, SSO sessions and pending sign-in forms,
    // keyed by the SHA-256 of the secret the client holds. The lookup index finds a device code
    // by its user code; `expires_at` serves the purge of expired records.
    r#"
    CREATE TABLE sign_in_flows (
        tenant_id  TEXT NOT NULL,
        kind       TEXT NOT NULL,
        key        TEXT NOT NULL,
        lookup     TEXT,
        data       TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        used_at    TEXT,
        PRIMARY KEY (tenant_id, kind, key)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX sign_in_flows_by_lookup ON sign_in_flows (tenant_id, kind, lookup);
    CREATE INDEX sign_in_flows_by_expiry ON sign_in_flows (tenant_id, kind, expires_at);
    "#,
    // smart lockout: failed-sign-in counters per user and location class (compare-and-set on
    // `version`, so concurrent failures are all counted) and the addresses of each user's
    // successful sign-ins, which make a location familiar.
    r#"
    CREATE TABLE lockout_counters (
        tenant_id    TEXT NOT NULL,
        user_id      TEXT NOT NULL,
        scope        TEXT NOT NULL,
        failures     INTEGER NOT NULL,
        lockouts     INTEGER NOT NULL,
        locked_until TEXT,
        recent       TEXT NOT NULL,
        updated_at   TEXT NOT NULL,
        version      INTEGER NOT NULL,
        PRIMARY KEY (tenant_id, user_id, scope)
    ) STRICT, WITHOUT ROWID;
    CREATE TABLE familiar_ips (
        tenant_id TEXT NOT NULL,
        user_id   TEXT NOT NULL,
        ip        TEXT NOT NULL,
        last_seen TEXT NOT NULL,
        PRIMARY KEY (tenant_id, user_id, ip)
    ) STRICT, WITHOUT ROWID;
    "#,
    // signing key retirement: when a retired key stopped signing (it is published until its
    // tokens have expired, then deleted).
    r#"
    ALTER TABLE signing_keys ADD COLUMN retired_at TEXT;
    "#,
    // Identity Protection (issue 7): risk detections, risky users (one row per user, updated in
    // place) and risky-user history, read through the log machinery (newest first, indexed
    // equality columns); `at` is detectedDateTime / riskLastUpdatedDateTime.
    r#"
    CREATE TABLE risk_detections (
        tenant_id       TEXT NOT NULL,
        id              TEXT NOT NULL,
        at              TEXT NOT NULL,
        user_id         TEXT NOT NULL,
        upn             TEXT,
        risk_event_type TEXT,
        risk_level      TEXT NOT NULL,
        risk_state      TEXT NOT NULL,
        ip_address      TEXT,
        correlation_id  TEXT,
        record          TEXT NOT NULL
    ) STRICT;
    CREATE UNIQUE INDEX risk_detections_by_id ON risk_detections (tenant_id, id);
    CREATE INDEX risk_detections_by_time ON risk_detections (tenant_id, at);
    CREATE INDEX risk_detections_by_user ON risk_detections (tenant_id, user_id, at);
    CREATE INDEX risk_detections_by_state ON risk_detections (tenant_id, risk_state, at);
    CREATE TABLE risky_users (
        tenant_id       TEXT NOT NULL,
        id              TEXT NOT NULL,
        at              TEXT NOT NULL,
        user_id         TEXT NOT NULL,
        upn             TEXT,
        risk_event_type TEXT,
        risk_level      TEXT NOT NULL,
        risk_state      TEXT NOT NULL,
        ip_address      TEXT,
        correlation_id  TEXT,
        record          TEXT NOT NULL
    ) STRICT;
    CREATE UNIQUE INDEX risky_users_by_id ON risky_users (tenant_id, id);
    CREATE INDEX risky_users_by_time ON risky_users (tenant_id, at);
    CREATE INDEX risky_users_by_user ON risky_users (tenant_id, user_id, at);
    CREATE INDEX risky_users_by_state ON risky_users (tenant_id, risk_state, at);
    CREATE TABLE risky_user_history (
        tenant_id       TEXT NOT NULL,
        id              TEXT NOT NULL,
        at              TEXT NOT NULL,
        user_id         TEXT NOT NULL,
        upn             TEXT,
        risk_event_type TEXT,
        risk_level      TEXT NOT NULL,
        risk_state      TEXT NOT NULL,
        ip_address      TEXT,
        correlation_id  TEXT,
        record          TEXT NOT NULL
    ) STRICT;
    CREATE UNIQUE INDEX risky_user_history_by_id ON risky_user_history (tenant_id, id);
    CREATE INDEX risky_user_history_by_time ON risky_user_history (tenant_id, at);
    CREATE INDEX risky_user_history_by_user ON risky_user_history (tenant_id, user_id, at);
    CREATE INDEX risky_user_history_by_state ON risky_user_history (tenant_id, risk_state, at);
    CREATE INDEX risk_detections_by_type ON risk_detections (tenant_id, risk_event_type, at);
    CREATE INDEX risk_detections_by_ip ON risk_detections (tenant_id, ip_address, at);
    CREATE INDEX risk_detections_by_upn ON risk_detections (tenant_id, upn, at);
    "#,
    // 9: profile photos (issue 4): the bytes of a user's or
    // group's photo, one per object, beside the document rather than in it.
    r#"
    CREATE TABLE photos (
        tenant_id    TEXT NOT NULL,
        object_id    TEXT NOT NULL,
        content_type TEXT NOT NULL,
        width        INTEGER NOT NULL,
        height       INTEGER NOT NULL,
        etag         TEXT NOT NULL,
        updated_at   TEXT NOT NULL,
        bytes        BLOB NOT NULL,
        PRIMARY KEY (tenant_id, object_id)
    ) STRICT;
    "#,
    // 10: domains (issue 4): each domain's other Graph properties (supported services,
    // authentication type, password policy, verification code) as one JSON document.
    r#"
    ALTER TABLE domains ADD COLUMN doc TEXT NOT NULL DEFAULT '{}';
    "#,
    // 11: Identity Protection for workload identities (issue 7): service-principal risk
    // detections, risky service principals (one row per service principal, updated in place)
    // and their history, read through the log machinery like the user tables of migration 8.
    r#"
    CREATE TABLE service_principal_risk_detections (
        tenant_id            TEXT NOT NULL,
        id                   TEXT NOT NULL,
        at                   TEXT NOT NULL,
        service_principal_id TEXT NOT NULL,
        app_id               TEXT,
        risk_event_type      TEXT,
        risk_level           TEXT NOT NULL,
        risk_state           TEXT NOT NULL,
        ip_address           TEXT,
        correlation_id       TEXT,
        record               TEXT NOT NULL
    ) STRICT;
    CREATE UNIQUE INDEX service_principal_risk_detections_by_id ON service_principal_risk_detections (tenant_id, id);
    CREATE INDEX service_principal_risk_detections_by_time ON service_principal_risk_detections (tenant_id, at);
    CREATE INDEX service_principal_risk_detections_by_sp ON service_principal_risk_detections (tenant_id, service_principal_id, at);
    CREATE INDEX service_principal_risk_detections_by_app ON service_principal_risk_detections (tenant_id, app_id, at);
    CREATE INDEX service_principal_risk_detections_by_state ON service_principal_risk_detections (tenant_id, risk_state, at);
    CREATE TABLE risky_service_principals (
        tenant_id            TEXT NOT NULL,
        id                   TEXT NOT NULL,
        at                   TEXT NOT NULL,
        service_principal_id TEXT NOT NULL,
        app_id               TEXT,
        risk_event_type      TEXT,
        risk_level           TEXT NOT NULL,
        risk_state           TEXT NOT NULL,
        ip_address           TEXT,
        correlation_id       TEXT,
        record               TEXT NOT NULL
    ) STRICT;
    CREATE UNIQUE INDEX risky_service_principals_by_id ON risky_service_principals (tenant_id, id);
    CREATE INDEX risky_service_principals_by_time ON risky_service_principals (tenant_id, at);
    CREATE INDEX risky_service_principals_by_sp ON risky_service_principals (tenant_id, service_principal_id, at);
    CREATE INDEX risky_service_principals_by_app ON risky_service_principals (tenant_id, app_id, at);
    CREATE INDEX risky_service_principals_by_state ON risky_service_principals (tenant_id, risk_state, at);
    CREATE TABLE risky_service_principal_history (
        tenant_id            TEXT NOT NULL,
        id                   TEXT NOT NULL,
        at                   TEXT NOT NULL,
        service_principal_id TEXT NOT NULL,
        app_id               TEXT,
        risk_event_type      TEXT,
        risk_level           TEXT NOT NULL,
        risk_state           TEXT NOT NULL,
        ip_address           TEXT,
        correlation_id       TEXT,
        record               TEXT NOT NULL
    ) STRICT;
    CREATE UNIQUE INDEX risky_service_principal_history_by_id ON risky_service_principal_history (tenant_id, id);
    CREATE INDEX risky_service_principal_history_by_time ON risky_service_principal_history (tenant_id, at);
    CREATE INDEX risky_service_principal_history_by_sp ON risky_service_principal_history (tenant_id, service_principal_id, at);
    CREATE INDEX risky_service_principal_history_by_app ON risky_service_principal_history (tenant_id, app_id, at);
    CREATE INDEX risky_service_principal_history_by_state ON risky_service_principal_history (tenant_id, risk_state, at);
    CREATE INDEX service_principal_risk_detections_by_type
        ON service_principal_risk_detections (tenant_id, risk_event_type, at);
    CREATE INDEX service_principal_risk_detections_by_ip
        ON service_principal_risk_detections (tenant_id, ip_address, at);
    "#,
];

/// Per-connection settings. WAL lets readers run beside the writer; `synchronous=NORMAL` in WAL
/// mode loses nothing on a process kill (only on power loss, the last transactions).
pub(crate) fn configure(conn: &Connection, reader: bool) -> StoreResult<()> {
    conn.busy_timeout(Duration::from_secs(5)).ctx("set busy_timeout")?;
    conn.pragma_update(None, "synchronous", "NORMAL").ctx("set synchronous")?;
    // Integrity is enforced by the write path itself (it checks both ends of an edge, the owner
    // of a secret, the tenant of a change), not by foreign keys, whose cascade rules would fight
    // soft deletion.
    conn.pragma_update(None, "foreign_keys", "OFF").ctx("set foreign_keys")?;
    conn.pragma_update(None, "temp_store", "MEMORY").ctx("set temp_store")?;
    conn.set_prepared_statement_cache_capacity(128);
    // Query-planner stability: with STAT4 compiled in, SQLite re-plans a cached statement
    // whenever its bound values change, and planning over the many expression indexes of
    // `objects` cost about half the CPU of a list request (benchmark profile). A cached
    // statement keeps the plan it was prepared with.
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true).ctx("enable QPSG")?;
    if reader {
        conn.pragma_update(None, "query_only", "ON").ctx("set query_only")?;
    }
    Ok(())
}

/// Switches the file to WAL (persistent) and applies pending migrations, each in its own
/// transaction together with the `user_version` bump, so a crash never leaves half a step.
pub(crate) fn migrate(conn: &mut Connection) -> StoreResult<()> {
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)).ctx("enable WAL")?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Backend(format!("could not enable WAL (journal_mode is {mode})")));
    }
    let done: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).ctx("read user_version")?;
    let done = usize::try_from(done).map_err(|_| StoreError::Invalid(format!("bad user_version {done}")))?;
    if done > MIGRATIONS.len() {
        return Err(StoreError::Backend(format!(
            "the database is at schema version {done}, newer than this build knows ({})",
            MIGRATIONS.len()
        )));
    }
    for (i, script) in MIGRATIONS.iter().enumerate().skip(done) {
        let tx = conn.transaction().ctx("begin migration")?;
        tx.execute_batch(script).ctx(&format!("migration {}", i + 1))?;
        tx.pragma_update(None, "user_version", (i + 1) as i64).ctx("set user_version")?;
        tx.commit().ctx("commit migration")?;
        tracing::info!(version = i + 1, "applied store migration");
    }
    Ok(())
}

/// Creates one partial expression index per distinct (path, kind) of `specs`, idempotently.
///
/// The index covers every object type (the type is its second column): a partial index
/// restricted to a literal type would not match queries that bind the type as a parameter.
/// Its expression is exactly what the compiler emits for the same path and kind, which is what
/// lets SQLite use it for `eq`, `startswith` ranges and `$orderby`. Indexes are never dropped
/// here: a spec that disappears leaves a harmless index behind.
pub(crate) fn ensure_indexes(conn: &Connection, d: &dyn Dialect, specs: &[IndexSpec]) -> StoreResult<()> {
    let mut wanted = BTreeMap::new();
    for spec in specs {
        if spec.path.is_id() || spec.path.0.is_empty() {
            continue; // the id is covered by objects_by_type
        }
        let expr = compile::index_expr(d, spec, "doc")?;
        wanted.entry(index_name(&expr)).or_insert(expr);
    }
    for (name, expr) in wanted {
        let sql = format!(
            "CREATE INDEX IF NOT EXISTS {name} ON objects (tenant_id, object_type, {expr}, id) \
             WHERE deleted_at IS NULL"
        );
        conn.execute_batch(&sql).ctx(&format!("create index {name}"))?;
    }
    Ok(())
}

/// A stable identifier for an index expression: a readable stem plus a FNV-1a hash of the
/// exact expression, so different paths never share a name.
fn index_name(expr: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in expr.bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    let stem: String = expr.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').take(40).collect();
    format!("ix_{stem}_{hash:016x}")
}
