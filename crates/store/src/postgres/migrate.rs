//! Numbered schema migrations and the schema-driven expression indexes, applied at connect by
//! every process that starts, without advisory locks (CockroachDB and YugabyteDB lack them).
//!
//! Why it is race-free: a migration runs in one transaction that first *inserts its version*
//! into `cerulean_migrations` (primary key) and only then runs its DDL. Two processes applying
//! the same version collide on that key before either touches the schema: the second one's
//! insert waits for the first transaction, then fails with a unique violation (or, under
//! serializable isolation, a serialization failure) once the first commits. The loser rolls
//! back, re-reads the table and moves on to the next version; if the winner had rolled back
//! instead, the loser's insert succeeds and it applies the step itself. A step is therefore
//! applied exactly once, completely or not at all (PostgreSQL DDL is transactional).

use std::collections::BTreeMap;

use tokio_postgres::error::SqlState;

use super::dialect::Postgres;
use super::{Attempt, Client, Fail, WithContext, backoff};
use crate::sqlite::compile;
use crate::{IndexSpec, StoreError};

/// The table recording applied migrations, one row per version.
const MIGRATIONS_TABLE: &str = "CREATE TABLE IF NOT EXISTS cerulean_migrations (
    version    integer PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
)";

/// Migrations, applied in order; version `n` is `MIGRATIONS[n - 1]`. Never edit a released
/// script: append a new one.
const MIGRATIONS: &[&str] = &[
    // 1: the initial layout, the same tables as SQLite's. Every table carries tenant_id and
    // every key and index leads with it, except the server-wide domain -> tenant lookup and
    // meta. Ids are `uuid`; documents and other JSON are `jsonb`; times are kept as the RFC 3339
    // text the service layer gave. Text that is ordered or compared is `COLLATE "C"` (byte
    // order, as SQLite). `ord` columns keep insertion order where SQLite used its rowid.
    r#"
    CREATE TABLE tenants (
        id           uuid PRIMARY KEY,
        display_name text NOT NULL,
        created_at   text NOT NULL,
        last_seq     bigint NOT NULL DEFAULT 0,
        ord          bigint GENERATED ALWAYS AS IDENTITY
    );

    CREATE TABLE domains (
        name        text COLLATE "C" PRIMARY KEY,
        tenant_id   uuid NOT NULL,
        position    integer NOT NULL,
        is_initial  boolean NOT NULL,
        is_default  boolean NOT NULL,
        is_verified boolean NOT NULL
    );
    CREATE INDEX domains_by_tenant ON domains (tenant_id, position);

    CREATE TABLE meta (
        key   text COLLATE "C" PRIMARY KEY,
        value text NOT NULL
    );

    CREATE TABLE objects (
        tenant_id   uuid NOT NULL,
        id          uuid NOT NULL,
        object_type text COLLATE "C" NOT NULL,
        version     bigint NOT NULL,
        deleted_at  text,
        doc         jsonb NOT NULL,
        created_at  text NOT NULL,
        updated_at  text NOT NULL,
        PRIMARY KEY (tenant_id, id)
    );
    CREATE INDEX objects_by_type ON objects (tenant_id, object_type, id);

    CREATE TABLE claims (
        tenant_id uuid NOT NULL,
        namespace text COLLATE "C" NOT NULL,
        key       text COLLATE "C" NOT NULL,
        object_id uuid NOT NULL,
        PRIMARY KEY (tenant_id, namespace, key)
    );
    CREATE INDEX claims_by_object ON claims (tenant_id, object_id);

    CREATE TABLE edges (
        tenant_id uuid NOT NULL,
        kind      text COLLATE "C" NOT NULL,
        source_id uuid NOT NULL,
        target_id uuid NOT NULL,
        PRIMARY KEY (tenant_id, kind, source_id, target_id)
    );
    CREATE INDEX edges_reverse ON edges (tenant_id, kind, target_id, source_id);

    CREATE TABLE secrets (
        tenant_id uuid NOT NULL,
        owner_id  uuid NOT NULL,
        key_id    uuid NOT NULL,
        ord       bigint GENERATED ALWAYS AS IDENTITY,
        kind      text NOT NULL,
        hash      text NOT NULL,
        meta      jsonb NOT NULL,
        PRIMARY KEY (tenant_id, owner_id, key_id)
    );

    CREATE TABLE signing_keys (
        tenant_id     uuid NOT NULL,
        kid           text COLLATE "C" NOT NULL,
        private_pkcs8 bytea NOT NULL,
        created_at    text COLLATE "C" NOT NULL,
        status        text NOT NULL,
        PRIMARY KEY (tenant_id, kid)
    );

    CREATE TABLE changes (
        tenant_id   uuid NOT NULL,
        seq         bigint NOT NULL,
        object_id   uuid NOT NULL,
        object_type text NOT NULL,
        kind        text NOT NULL,
        detail      jsonb NOT NULL,
        at          text NOT NULL,
        PRIMARY KEY (tenant_id, seq)
    );

    CREATE TABLE audit (
        tenant_id      uuid NOT NULL,
        id             uuid NOT NULL,
        ord            bigint GENERATED ALWAYS AS IDENTITY,
        at             text COLLATE "C" NOT NULL,
        activity       text COLLATE "C" NOT NULL,
        category       text NOT NULL,
        operation_type text NOT NULL,
        actor_id       uuid,
        correlation_id text COLLATE "C",
        record         jsonb NOT NULL,
        PRIMARY KEY (tenant_id, id)
    );
    CREATE INDEX audit_by_time ON audit (tenant_id, at, ord);
    CREATE INDEX audit_by_activity ON audit (tenant_id, activity, at);
    CREATE INDEX audit_by_actor ON audit (tenant_id, actor_id, at);
    CREATE INDEX audit_by_correlation ON audit (tenant_id, correlation_id);
    "#,
    // 2: delta queries, as SQLite's migration 2: the change-log retention watermark and the
    // (tenant, type, seq) index a delta round reads.
    r#"
    ALTER TABLE tenants ADD COLUMN pruned_seq bigint NOT NULL DEFAULT 0;
    CREATE INDEX changes_by_type ON changes (tenant_id, object_type, seq);
    "#,
    // 3: refresh tokens, as SQLite's migration 3 (only the SHA-256 of a token is kept).
    r#"
    CREATE TABLE refresh_tokens (
        tenant_id  uuid NOT NULL,
        hash       text COLLATE "C" NOT NULL,
        family_id  uuid NOT NULL,
        user_id    uuid NOT NULL,
        client_id  text NOT NULL,
        scopes     text NOT NULL,
        data       jsonb NOT NULL,
        created_at text NOT NULL,
        expires_at text COLLATE "C" NOT NULL,
        used_at    text,
        revoked_at text,
        PRIMARY KEY (tenant_id, hash)
    );
    CREATE INDEX refresh_tokens_by_family ON refresh_tokens (tenant_id, family_id);
    CREATE INDEX refresh_tokens_by_user ON refresh_tokens (tenant_id, user_id, expires_at);
    "#,
    // 4: the sign-in log, as SQLite's migration 4 (`ord` is the insertion order, as the
    // audit table's).
    r#"
    CREATE TABLE sign_ins (
        tenant_id      uuid NOT NULL,
        id             uuid NOT NULL,
        ord            bigint GENERATED ALWAYS AS IDENTITY,
        at             text COLLATE "C" NOT NULL,
        user_id        uuid,
        upn            text COLLATE "C",
        app_id         text COLLATE "C",
        ip_address     text COLLATE "C" NOT NULL,
        error_code     text COLLATE "C" NOT NULL,
        event_type     text COLLATE "C" NOT NULL,
        correlation_id text COLLATE "C",
        record         jsonb NOT NULL,
        PRIMARY KEY (tenant_id, id)
    );
    CREATE INDEX sign_ins_by_time ON sign_ins (tenant_id, at, ord);
    CREATE INDEX sign_ins_by_user ON sign_ins (tenant_id, user_id, at);
    CREATE INDEX sign_ins_by_upn ON sign_ins (tenant_id, upn, at);
    CREATE INDEX sign_ins_by_app ON sign_ins (tenant_id, app_id, at);
    CREATE INDEX sign_ins_by_type ON sign_ins (tenant_id, event_type, at);
    CREATE INDEX sign_ins_by_ip ON sign_ins (tenant_id, ip_address, at);
    CREATE INDEX sign_ins_by_correlation ON sign_ins (tenant_id, correlation_id);
    "#,
    // sign-in flows, as SQLite's migration of the same name (secrets kept as SHA-256 only).
    r#"
    CREATE TABLE sign_in_flows (
        tenant_id  uuid NOT NULL,
        kind       text COLLATE "C" NOT NULL,
        key        text COLLATE "C" NOT NULL,
        lookup     text COLLATE "C",
        data       jsonb NOT NULL,
        created_at text COLLATE "C" NOT NULL,
        expires_at text COLLATE "C" NOT NULL,
        used_at    text,
        PRIMARY KEY (tenant_id, kind, key)
    );
    CREATE INDEX sign_in_flows_by_lookup ON sign_in_flows (tenant_id, kind, lookup);
    CREATE INDEX sign_in_flows_by_expiry ON sign_in_flows (tenant_id, kind, expires_at);
    "#,
    // smart lockout, as SQLite's migration of the same name.
    r#"
    CREATE TABLE lockout_counters (
        tenant_id    uuid NOT NULL,
        user_id      uuid NOT NULL,
        scope        text COLLATE "C" NOT NULL,
        failures     bigint NOT NULL,
        lockouts     bigint NOT NULL,
        locked_until text,
        recent       jsonb NOT NULL,
        updated_at   text NOT NULL,
        version      bigint NOT NULL,
        PRIMARY KEY (tenant_id, user_id, scope)
    );
    CREATE TABLE familiar_ips (
        tenant_id uuid NOT NULL,
        user_id   uuid NOT NULL,
        ip        text COLLATE "C" NOT NULL,
        last_seen text COLLATE "C" NOT NULL,
        PRIMARY KEY (tenant_id, user_id, ip)
    );
    "#,
    // signing key retirement, as SQLite's migration of the same name.
    r#"
    ALTER TABLE signing_keys ADD COLUMN retired_at text COLLATE "C";
    "#,
    // Identity Protection, as SQLite's migration of the same name.
    r#"
    CREATE TABLE risk_detections (
        tenant_id       uuid NOT NULL,
        id              uuid NOT NULL,
        ord             bigint GENERATED ALWAYS AS IDENTITY,
        at              text COLLATE "C" NOT NULL,
        user_id         uuid NOT NULL,
        upn             text COLLATE "C",
        risk_event_type text COLLATE "C",
        risk_level      text COLLATE "C" NOT NULL,
        risk_state      text COLLATE "C" NOT NULL,
        ip_address      text COLLATE "C",
        correlation_id  text COLLATE "C",
        record          jsonb NOT NULL,
        PRIMARY KEY (tenant_id, id)
    );
    CREATE INDEX risk_detections_by_time ON risk_detections (tenant_id, at, ord);
    CREATE INDEX risk_detections_by_user ON risk_detections (tenant_id, user_id, at);
    CREATE INDEX risk_detections_by_state ON risk_detections (tenant_id, risk_state, at);
    CREATE TABLE risky_users (
        tenant_id       uuid NOT NULL,
        id              uuid NOT NULL,
        ord             bigint GENERATED ALWAYS AS IDENTITY,
        at              text COLLATE "C" NOT NULL,
        user_id         uuid NOT NULL,
        upn             text COLLATE "C",
        risk_event_type text COLLATE "C",
        risk_level      text COLLATE "C" NOT NULL,
        risk_state      text COLLATE "C" NOT NULL,
        ip_address      text COLLATE "C",
        correlation_id  text COLLATE "C",
        record          jsonb NOT NULL,
        PRIMARY KEY (tenant_id, id)
    );
    CREATE INDEX risky_users_by_time ON risky_users (tenant_id, at, ord);
    CREATE INDEX risky_users_by_user ON risky_users (tenant_id, user_id, at);
    CREATE INDEX risky_users_by_state ON risky_users (tenant_id, risk_state, at);
    CREATE TABLE risky_user_history (
        tenant_id       uuid NOT NULL,
        id              uuid NOT NULL,
        ord             bigint GENERATED ALWAYS AS IDENTITY,
        at              text COLLATE "C" NOT NULL,
        user_id         uuid NOT NULL,
        upn             text COLLATE "C",
        risk_event_type text COLLATE "C",
        risk_level      text COLLATE "C" NOT NULL,
        risk_state      text COLLATE "C" NOT NULL,
        ip_address      text COLLATE "C",
        correlation_id  text COLLATE "C",
        record          jsonb NOT NULL,
        PRIMARY KEY (tenant_id, id)
    );
    CREATE INDEX risky_user_history_by_time ON risky_user_history (tenant_id, at, ord);
    CREATE INDEX risky_user_history_by_user ON risky_user_history (tenant_id, user_id, at);
    CREATE INDEX risky_user_history_by_state ON risky_user_history (tenant_id, risk_state, at);
    CREATE INDEX risk_detections_by_type ON risk_detections (tenant_id, risk_event_type, at);
    CREATE INDEX risk_detections_by_ip ON risk_detections (tenant_id, ip_address, at);
    CREATE INDEX risk_detections_by_upn ON risk_detections (tenant_id, upn, at);
    "#,
    // 9: profile photos, as SQLite's migration 9.
    r#"
    CREATE TABLE photos (
        tenant_id    uuid NOT NULL,
        object_id    uuid NOT NULL,
        content_type text NOT NULL,
        width        bigint NOT NULL,
        height       bigint NOT NULL,
        etag         text NOT NULL,
        updated_at   text NOT NULL,
        bytes        bytea NOT NULL,
        PRIMARY KEY (tenant_id, object_id)
    );
    "#,
    // 10: domains, as SQLite's migration 10 (each domain's other properties as one document).
    r#"
    ALTER TABLE domains ADD COLUMN doc text NOT NULL DEFAULT '{}';
    "#,
    // 11: Identity Protection for workload identities, as SQLite's migration 11.
    r#"
    CREATE TABLE service_principal_risk_detections (
        tenant_id            uuid NOT NULL,
        id                   uuid NOT NULL,
        ord                  bigint GENERATED ALWAYS AS IDENTITY,
        at                   text COLLATE "C" NOT NULL,
        service_principal_id uuid NOT NULL,
        app_id               text COLLATE "C",
        risk_event_type      text COLLATE "C",
        risk_level           text COLLATE "C" NOT NULL,
        risk_state           text COLLATE "C" NOT NULL,
        ip_address           text COLLATE "C",
        correlation_id       text COLLATE "C",
        record               jsonb NOT NULL,
        PRIMARY KEY (tenant_id, id)
    );
    CREATE INDEX service_principal_risk_detections_by_time ON service_principal_risk_detections (tenant_id, at, ord);
    CREATE INDEX service_principal_risk_detections_by_sp ON service_principal_risk_detections (tenant_id, service_principal_id, at);
    CREATE INDEX service_principal_risk_detections_by_app ON service_principal_risk_detections (tenant_id, app_id, at);
    CREATE INDEX service_principal_risk_detections_by_state ON service_principal_risk_detections (tenant_id, risk_state, at);
    CREATE TABLE risky_service_principals (
        tenant_id            uuid NOT NULL,
        id                   uuid NOT NULL,
        ord                  bigint GENERATED ALWAYS AS IDENTITY,
        at                   text COLLATE "C" NOT NULL,
        service_principal_id uuid NOT NULL,
        app_id               text COLLATE "C",
        risk_event_type      text COLLATE "C",
        risk_level           text COLLATE "C" NOT NULL,
        risk_state           text COLLATE "C" NOT NULL,
        ip_address           text COLLATE "C",
        correlation_id       text COLLATE "C",
        record               jsonb NOT NULL,
        PRIMARY KEY (tenant_id, id)
    );
    CREATE INDEX risky_service_principals_by_time ON risky_service_principals (tenant_id, at, ord);
    CREATE INDEX risky_service_principals_by_sp ON risky_service_principals (tenant_id, service_principal_id, at);
    CREATE INDEX risky_service_principals_by_app ON risky_service_principals (tenant_id, app_id, at);
    CREATE INDEX risky_service_principals_by_state ON risky_service_principals (tenant_id, risk_state, at);
    CREATE TABLE risky_service_principal_history (
        tenant_id            uuid NOT NULL,
        id                   uuid NOT NULL,
        ord                  bigint GENERATED ALWAYS AS IDENTITY,
        at                   text COLLATE "C" NOT NULL,
        service_principal_id uuid NOT NULL,
        app_id               text COLLATE "C",
        risk_event_type      text COLLATE "C",
        risk_level           text COLLATE "C" NOT NULL,
        risk_state           text COLLATE "C" NOT NULL,
        ip_address           text COLLATE "C",
        correlation_id       text COLLATE "C",
        record               jsonb NOT NULL,
        PRIMARY KEY (tenant_id, id)
    );
    CREATE INDEX risky_service_principal_history_by_time ON risky_service_principal_history (tenant_id, at, ord);
    CREATE INDEX risky_service_principal_history_by_sp ON risky_service_principal_history (tenant_id, service_principal_id, at);
    CREATE INDEX risky_service_principal_history_by_app ON risky_service_principal_history (tenant_id, app_id, at);
    CREATE INDEX risky_service_principal_history_by_state ON risky_service_principal_history (tenant_id, risk_state, at);
    CREATE INDEX service_principal_risk_detections_by_type
        ON service_principal_risk_detections (tenant_id, risk_event_type, at);
    CREATE INDEX service_principal_risk_detections_by_ip
        ON service_principal_risk_detections (tenant_id, ip_address, at);
    "#,
];

/// How many versions this build knows.
const LATEST: usize = MIGRATIONS.len();

/// Errors that mean "another process got there first": re-read and carry on.
fn lost_race(e: &Fail) -> bool {
    matches!(e.code(), Some(c) if *c == SqlState::UNIQUE_VIOLATION
        || *c == SqlState::T_R_SERIALIZATION_FAILURE
        || *c == SqlState::T_R_DEADLOCK_DETECTED)
}

/// Concurrent `CREATE ... IF NOT EXISTS` of one name can still fail in PostgreSQL: both check,
/// both create, one hits the catalog's unique index (23505) or sees the relation (42P07).
/// Running the statement again then finds the object and does nothing.
fn lost_create_race(e: &Fail) -> bool {
    lost_race(e) || matches!(e.code(), Some(c) if *c == SqlState::DUPLICATE_TABLE || *c == SqlState::DUPLICATE_OBJECT)
}

/// Runs an idempotent DDL statement, re-running it when a concurrent twin made it fail.
async fn idempotent_ddl(client: &Client, sql: &str, what: &'static str) -> Attempt<()> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match client.batch_execute(sql).await.ctx(what) {
            Err(e) if lost_create_race(&e) && attempt < 6 => tokio::time::sleep(backoff(attempt)).await,
            r => return r,
        }
    }
}

/// Applies pending migrations (see the module documentation for why this is race-free).
pub(crate) async fn migrate(client: &mut Client) -> Attempt<()> {
    idempotent_ddl(client, MIGRATIONS_TABLE, "create migrations table").await?;
    // Each round applies one version or learns that another process did; a bounded number of
    // rounds keeps a pathological loop from hanging startup.
    let mut last_race = None;
    for _ in 0..(LATEST * 8 + 8) {
        let rows = client
            .query("SELECT version FROM cerulean_migrations ORDER BY version", &[])
            .await
            .ctx("read migrations")?;
        let mut done = 0usize;
        for row in &rows {
            let v: i32 = row.try_get(0).ctx("read migration version")?;
            let v = usize::try_from(v).map_err(|_| StoreError::Invalid(format!("bad migration version {v}")))?;
            if v > LATEST {
                return Err(StoreError::Backend(format!(
                    "the database is at schema version {v}, newer than this build knows ({LATEST})"
                ))
                .into());
            }
            if v != done + 1 {
                return Err(StoreError::Invalid(format!("migration {} is missing before {v}", done + 1)).into());
            }
            done = v;
        }
        let next = done + 1;
        if next > LATEST {
            return Ok(());
        }
        match apply_one(client, next).await {
            Ok(()) => tracing::info!(version = next, "applied store migration"),
            Err(e) if lost_race(&e) => {
                tracing::debug!(version = next, error = %e, "another process is applying this migration");
                last_race = Some(e.to_string());
            }
            Err(e) => return Err(e),
        }
    }
    Err(StoreError::Backend(format!("migrations did not settle: {}", last_race.unwrap_or_default())).into())
}

/// One migration in one transaction: claim the version, then run the script.
async fn apply_one(client: &mut Client, version: usize) -> Attempt<()> {
    let v = i32::try_from(version).map_err(|_| StoreError::Invalid(format!("migration {version}")))?;
    let script = MIGRATIONS[version - 1];
    let tx = client.transaction().await.ctx("begin migration")?;
    tx.execute("INSERT INTO cerulean_migrations (version) VALUES ($1)", &[&v]).await.ctx("claim migration")?;
    tx.batch_execute(script).await.ctx("apply migration")?;
    tx.commit().await.ctx("commit migration")
}

/// Creates one partial expression index per distinct (path, kind) of `specs` that is missing.
///
/// As in SQLite, the index covers every object type (the type is its second column) and its
/// expression is exactly what the compiler emits for the same path and kind, which is what lets
/// PostgreSQL use it for `eq`, `in`, `startswith` ranges and `$orderby`. It is built
/// `NULLS FIRST`, the store's ascending order, so descending orders scan it backwards. Indexes
/// are never dropped here: a spec that disappears leaves a harmless index behind.
///
/// Existing indexes are looked up first so that a restart takes no lock on `objects`. A missing
/// one is built with a plain `CREATE INDEX` (transactional, never left invalid), which blocks
/// writes to `objects` while it builds; on a large live table an operator can build it
/// beforehand with `CREATE INDEX CONCURRENTLY` under the same (deterministic) name.
pub(crate) async fn ensure_indexes(client: &Client, specs: &[IndexSpec]) -> Attempt<()> {
    let mut wanted = BTreeMap::new();
    for spec in specs {
        if spec.path.is_id() || spec.path.0.is_empty() {
            continue; // the id is covered by the primary key and objects_by_type
        }
        let expr = compile::index_expr(&Postgres, spec, "doc")?;
        wanted.entry(index_name(&expr)).or_insert(expr);
    }
    if wanted.is_empty() {
        return Ok(());
    }
    let existing = client
        .query(
            "SELECT indexname::text FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'objects'",
            &[],
        )
        .await
        .ctx("list indexes")?;
    for row in &existing {
        let name: String = row.try_get(0).ctx("read index name")?;
        wanted.remove(&name);
    }
    for (name, expr) in wanted {
        let sql = format!(
            "CREATE INDEX IF NOT EXISTS {name} ON objects (tenant_id, object_type, ({expr}) NULLS FIRST, id) \
             WHERE deleted_at IS NULL"
        );
        idempotent_ddl(client, &sql, "create expression index").await?;
        tracing::info!(index = %name, "created store index");
    }
    Ok(())
}

/// A stable identifier for an index expression: a readable stem plus a FNV-1a hash of the exact
/// expression, so different paths or kinds never share a name. Lower-case, because PostgreSQL
/// folds unquoted identifiers and the name is matched against `pg_indexes`; at most 60 bytes,
/// under PostgreSQL's 63-byte identifier limit.
pub(crate) fn index_name(expr: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in expr.bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    // The stem skips the boilerplate of the folding call so the property name shows.
    let stem: String = expr
        .replace("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "")
        .replace("abcdefghijklmnopqrstuvwxyz", "")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .map(|c| c.to_ascii_lowercase())
        .take(40)
        .collect();
    format!("ix_{stem}_{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{PropPath, ValueKind};

    #[test]
    fn index_names_are_stable_and_short() {
        let spec = IndexSpec { object_type: "user".into(), path: PropPath::of("displayName"), kind: ValueKind::String };
        let expr = compile::index_expr(&Postgres, &spec, "doc").expect("expr");
        let name = index_name(&expr);
        assert!(name.starts_with("ix_translatedocdisplayname"), "{name}");
        assert!(name.len() <= 63 && name == name.to_ascii_lowercase());
        let other = IndexSpec { kind: ValueKind::DateTime, ..spec };
        assert_ne!(index_name(&compile::index_expr(&Postgres, &other, "doc").expect("expr")), name);
    }
}
