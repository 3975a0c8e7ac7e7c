//! Operations on a data directory: its lock, `cerulean backup` and `cerulean restore`.
//!
//! The lock is what makes the embedded store safe to operate on: SQLite coordinates connections
//! of one file, but nothing stops two servers (or a server and a restore) from each bootstrapping
//! or swapping files under the other. `serve` and `restore` hold it; `backup` does not need it,
//! because it only reads one snapshot beside the running server.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::Path;

use cerulean_store::{SqliteFileInfo, StoreError};

use crate::ServerError;
use crate::cli::{BackupArgs, RestoreArgs};

/// The lock file's name inside the data directory.
pub const LOCK_FILE: &str = "cerulean.lock";
/// The embedded store's file name inside the data directory.
pub const DB_FILE: &str = "cerulean.db";

/// An exclusive lock on `<data-dir>/cerulean.lock`, held until dropped. The kernel releases it
/// when the process dies however it dies (`kill -9` included), so a stale lock file never
/// blocks a restart; the file itself stays behind and only records the holder's pid.
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
}

impl DataDirLock {
    /// Takes the lock of `data_dir` without waiting. If another process holds it, fails with a
    /// message naming that process and `when_held` (what to do about it).
    pub fn acquire(data_dir: &Path, when_held: &str) -> Result<DataDirLock, ServerError> {
        let path = data_dir.join(LOCK_FILE);
        let mut options = OpenOptions::new();
        // No truncate: the holder's pid must survive our attempt, for the message.
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&path).map_err(|e| io(format!("opening {}", path.display()), e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let pid = match holder.trim().parse::<u32>() {
                    Ok(pid) => format!(" (pid {pid})"),
                    Err(_) => String::new(),
                };
                return Err(ServerError::Config(format!(
                    "the data directory {} is in use by another cerulean process{pid}: {when_held}",
                    data_dir.display()
                )));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io(format!("locking {}", path.display()), e)),
        }
        // Best effort: the pid only makes the message above more helpful.
        let _ = file.set_len(0).and_then(|()| writeln!(file, "{}", std::process::id()));
        Ok(DataDirLock { _file: file })
    }
}

/// What `serve` says when the data directory is taken.
pub const SERVE_WHEN_HELD: &str =
    "two servers must never share one data directory; stop the other one or give this one its own --data-dir";

/// `cerulean backup`: a consistent copy of the embedded store, taken while the server runs.
/// Returns the summary to print.
pub fn backup(args: &BackupArgs) -> Result<String, ServerError> {
    if args.database_url.is_some() {
        return Err(ServerError::Config(postgres_hint("back up", "pg_dump --format=custom --file=cerulean.dump")));
    }
    let db = args.data_dir.join(DB_FILE);
    if !args.force && args.file.exists() {
        return Err(ServerError::Config(format!(
            "{} exists; pass --force to replace it, or choose another file",
            args.file.display()
        )));
    }
    let info = cerulean_store::sqlite_backup(&db, &args.file, args.force).map_err(|e| match e {
        StoreError::NotFound(_) => ServerError::Config(format!(
            "there is no embedded store in {} (no {DB_FILE}); is --data-dir right?",
            args.data_dir.display()
        )),
        other => ServerError::Store(other),
    })?;
    Ok(format!("backed up {} to {} ({})", db.display(), args.file.display(), describe(&info)))
}

/// `cerulean restore`: replaces the embedded store with a backup, with the server stopped.
/// Returns the summary to print.
pub fn restore(args: &RestoreArgs) -> Result<String, ServerError> {
    if args.database_url.is_some() {
        return Err(ServerError::Config(postgres_hint("restore", "pg_restore --clean --dbname=<url> cerulean.dump")));
    }
    if !args.file.is_file() {
        return Err(ServerError::Config(format!("no backup file at {}", args.file.display())));
    }
    crate::serve::create_private_dir(&args.data_dir)?;
    let _lock = DataDirLock::acquire(&args.data_dir, "stop the server before restoring (backup works while it runs)")?;
    let db = args.data_dir.join(DB_FILE);
    let bootstrap = args.data_dir.join("bootstrap.json");
    let owner = bootstrap_tenant(&bootstrap)?;
    let restored = cerulean_store::sqlite_restore(&args.file, &db, |info| match &owner {
        Some(tenant) if !info.tenants.iter().any(|t| t.to_string() == *tenant) => Err(format!(
            "{} holds the credentials of tenant {tenant}, which the backup does not contain; \
             the server would refuse to start on it. To restore another deployment's store, move \
             bootstrap.json away first (that deployment's bootstrap.json holds the restored tenant's credentials)",
            bootstrap.display()
        )),
        _ => Ok(()),
    })?;
    let mut summary = format!("restored {} into {} ({})", args.file.display(), db.display(), describe(&restored.info));
    if let Some(previous) = &restored.previous {
        summary.push_str(&format!("\nthe replaced store is kept as {}", previous.display()));
    }
    if owner.is_none() {
        summary.push_str(&format!(
            "\n{} has no bootstrap.json: the restored tenant's credentials are those of the data directory the backup came from",
            args.data_dir.display()
        ));
    }
    Ok(summary)
}

/// The tenant id in `bootstrap.json`, if the data directory has one.
fn bootstrap_tenant(path: &Path) -> Result<Option<String>, ServerError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(format!("reading {}", path.display()), e)),
    };
    let value: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|e| ServerError::Config(format!("{} is not valid: {e}", path.display())))?;
    match value.get("tenantId").and_then(|v| v.as_str()) {
        Some(tenant) => Ok(Some(tenant.to_string())),
        None => Err(ServerError::Config(format!("{} has no tenantId", path.display()))),
    }
}

/// Why there is nothing to do with a PostgreSQL deployment, and what to do instead. Never
/// repeats the URL: it may carry a password.
fn postgres_hint(verb: &str, example: &str) -> String {
    format!(
        "--database-url (or CERULEAN_DATABASE_URL) selects PostgreSQL, whose data cerulean does not {verb} itself: \
         use PostgreSQL's own tools, e.g. `{example}` (see README, Operations)"
    )
}

fn describe(info: &SqliteFileInfo) -> String {
    let tenants: Vec<String> = info.tenants.iter().map(|t| t.to_string()).collect();
    format!(
        "schema version {}, tenant{} {}, {} objects, {} bytes",
        info.schema_version,
        if tenants.len() == 1 { "" } else { "s" },
        if tenants.is_empty() { "none".to_string() } else { tenants.join(", ") },
        info.objects,
        info.bytes
    )
}

fn io(context: String, source: std::io::Error) -> ServerError {
    ServerError::Io { context, source }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn scratch() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("cerulean-lock-test-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("create scratch dir");
        dir
    }

    #[test]
    fn a_second_lock_on_one_data_dir_fails_with_the_holders_pid() {
        let dir = scratch();
        let first = DataDirLock::acquire(&dir, "go away").expect("first lock");
        let err = DataDirLock::acquire(&dir, "go away").expect_err("second lock");
        let msg = err.to_string();
        assert!(msg.contains("in use by another cerulean process"), "{msg}");
        assert!(msg.contains(&format!("(pid {})", std::process::id())), "{msg}");
        assert!(msg.ends_with("go away"), "{msg}");
        drop(first);
        // Released on drop (and by the kernel when a process dies).
        drop(DataDirLock::acquire(&dir, "go away").expect("relock"));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn postgres_deployments_are_pointed_at_pg_dump_without_the_url() {
        let dir = scratch();
        let args = BackupArgs {
            data_dir: dir.clone(),
            database_url: Some("postgres://u:secret@db/cerulean".into()),
            force: false,
            file: dir.join("b.db"),
        };
        let msg = backup(&args).expect_err("postgres").to_string();
        assert!(msg.contains("pg_dump") && !msg.contains("secret"), "{msg}");
        let args = RestoreArgs { data_dir: dir.clone(), database_url: args.database_url, file: dir.join("b.db") };
        let msg = restore(&args).expect_err("postgres").to_string();
        assert!(msg.contains("pg_restore") && !msg.contains("secret"), "{msg}");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn restore_refuses_a_backup_of_another_tenant_over_its_bootstrap_file() {
        let dir = scratch();
        let source = dir.join("source");
        let store = cerulean_store::SqliteStore::open(&source.join(DB_FILE), &[]).expect("open");
        drop(store);
        let backup_file = dir.join("b.db");
        backup(&BackupArgs { data_dir: source, database_url: None, force: false, file: backup_file.clone() })
            .expect("backup");

        let target = dir.join("target");
        std::fs::create_dir_all(&target).expect("mkdir");
        std::fs::write(target.join("bootstrap.json"), br#"{"tenantId":"00000000-0000-0000-0000-000000000001"}"#)
            .expect("write bootstrap");
        let args = RestoreArgs { data_dir: target.clone(), database_url: None, file: backup_file };
        let msg = restore(&args).expect_err("foreign tenant").to_string();
        assert!(msg.contains("move bootstrap.json away"), "{msg}");
        assert!(!target.join(DB_FILE).exists(), "nothing restored");

        std::fs::remove_file(target.join("bootstrap.json")).expect("remove bootstrap");
        let summary = restore(&args).expect("restore");
        assert!(summary.contains("has no bootstrap.json"), "{summary}");
        assert!(target.join(DB_FILE).exists());
        let _ = std::fs::remove_dir_all(dir);
    }
}
