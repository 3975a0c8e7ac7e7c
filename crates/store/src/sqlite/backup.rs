//! Online backup, verification and restore of the embedded store's file.
//!
//! A backup is `VACUUM INTO` on a connection of its own: it reads one snapshot (a WAL read
//! transaction), so it is consistent while the server keeps writing, needs no lock the writer
//! would wait on, and yields a compact, self-contained file (no `-wal` beside it). Every file
//! this module produces is written under a temporary name, fsynced and renamed into place, so a
//! crash leaves either the old file or the complete new one, never half of either.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};
use uuid::Uuid;

use super::{WithContext, migrate, parse_id};
use crate::{StoreError, StoreResult};

/// The suffix of the previous database that a restore keeps beside the restored one.
pub const BEFORE_RESTORE_SUFFIX: &str = ".before-restore";

/// Tables every Cerulean store has had since its first schema version: a file without them is
/// some other SQLite database, however healthy.
const REQUIRED_TABLES: &[&str] =
    &["tenants", "domains", "meta", "objects", "claims", "edges", "secrets", "signing_keys", "changes", "audit"];

/// What a store file holds, as [`sqlite_verify`] found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteFileInfo {
    /// The file's schema version (`PRAGMA user_version`): migrations it has applied.
    pub schema_version: usize,
    /// The tenants it holds.
    pub tenants: Vec<Uuid>,
    /// Directory objects of all tenants, soft-deleted ones included.
    pub objects: u64,
    /// Size of the file in bytes.
    pub bytes: u64,
}

/// What [`sqlite_restore`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteRestore {
    /// The restored store.
    pub info: SqliteFileInfo,
    /// Where the database it replaced was kept, if there was one.
    pub previous: Option<PathBuf>,
}

/// Copies the store at `db` to `dest` as one consistent snapshot, while other connections (the
/// server) keep reading and writing it. The copy is verified, written with mode 0600 (it holds
/// password hashes and private signing keys) and appears at `dest` atomically. An existing
/// `dest` is replaced only if `overwrite`.
pub fn sqlite_backup(db: &Path, dest: &Path, overwrite: bool) -> StoreResult<SqliteFileInfo> {
    if !db.is_file() {
        return Err(StoreError::NotFound(format!("no embedded store at {}", db.display())));
    }
    if !overwrite && dest.exists() {
        return Err(StoreError::Invalid(format!("{} exists; refusing to overwrite it", dest.display())));
    }
    let tmp = TempFile::create(&sibling(dest, "partial")?)?;
    {
        // Read-write without CREATE: a read-only handle can fail to open a WAL database whose
        // shared-memory index is missing, and the store must never be created by a backup.
        let conn = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .ctx(&format!("open {}", db.display()))?;
        conn.busy_timeout(std::time::Duration::from_secs(30)).ctx("set busy_timeout")?;
        let target = utf8(&tmp.path)?;
        conn.execute("VACUUM INTO ?1", [target]).ctx(&format!("copy {} to {}", db.display(), tmp.path.display()))?;
        conn.close().map_err(|(_, e)| StoreError::Backend(format!("close {}: {e}", db.display())))?;
    }
    let info = sqlite_verify(&tmp.path)?;
    sync_file(&tmp.path)?;
    if overwrite {
        std::fs::rename(&tmp.path, dest).map_err(|e| io_err("rename", &tmp.path, e))?;
    } else {
        // A hard link fails if `dest` appeared meanwhile, where a rename would replace it.
        std::fs::hard_link(&tmp.path, dest).map_err(|e| match e.kind() {
            io::ErrorKind::AlreadyExists => {
                StoreError::Invalid(format!("{} exists; refusing to overwrite it", dest.display()))
            }
            _ => io_err("link", dest, e),
        })?;
        remove_if_exists(&tmp.path)?;
    }
    tmp.disarm();
    sync_dir(dest)?;
    Ok(info)
}

/// Checks that `path` is a healthy Cerulean store this build can open: a SQLite database that
/// passes `PRAGMA integrity_check`, has the store's tables, and a schema version no newer than
/// this build's migrations (an older one is migrated when the server opens it).
///
/// Opens the file read-write (a read-only handle can fail on a WAL-mode file) but writes
/// nothing; SQLite may roll back a hot journal left by a crash, so verify a copy when the file
/// must stay byte-identical.
pub fn sqlite_verify(path: &Path) -> StoreResult<SqliteFileInfo> {
    let bytes = std::fs::metadata(path).map_err(|e| io_err("stat", path, e))?.len();
    let not_store = |why: String| StoreError::Invalid(format!("{} is not a Cerulean store: {why}", path.display()));
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .ctx(&format!("open {}", path.display()))?;
    conn.pragma_update(None, "query_only", "ON").ctx("set query_only")?;
    // The first read of the header is where a non-database file shows.
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(|e| not_store(e.to_string()))?;
    let mut problems = Vec::new();
    {
        let mut stmt = conn.prepare("PRAGMA integrity_check").map_err(|e| not_store(e.to_string()))?;
        let mut rows = stmt.query([]).map_err(|e| not_store(e.to_string()))?;
        while let Some(row) = rows.next().map_err(|e| not_store(e.to_string()))? {
            let line: String = row.get(0).ctx("read integrity_check")?;
            if line != "ok" && problems.len() < 5 {
                problems.push(line);
            }
        }
    }
    if !problems.is_empty() {
        return Err(StoreError::Invalid(format!(
            "{} failed the integrity check: {}",
            path.display(),
            problems.join("; ")
        )));
    }
    let known = migrate::MIGRATIONS.len();
    let schema_version = usize::try_from(version).map_err(|_| not_store(format!("schema version {version}")))?;
    if schema_version == 0 {
        return Err(not_store("it has no schema version".into()));
    }
    if schema_version > known {
        return Err(StoreError::Invalid(format!(
            "{} is at schema version {schema_version}, newer than this build knows ({known}): restore it with a newer cerulean",
            path.display()
        )));
    }
    for table in REQUIRED_TABLES {
        let present: bool = conn
            .query_row("SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1)", [table], |r| {
                r.get(0)
            })
            .ctx("read sqlite_master")?;
        if !present {
            return Err(not_store(format!("it has no {table} table")));
        }
    }
    let mut tenants = Vec::new();
    {
        let mut stmt = conn.prepare("SELECT id FROM tenants ORDER BY created_at, id").ctx("list tenants")?;
        let ids = stmt.query_map([], |r| r.get::<_, String>(0)).ctx("list tenants")?;
        for id in ids {
            tenants.push(parse_id(&id.ctx("read tenant id")?)?);
        }
    }
    let objects: i64 = conn.query_row("SELECT count(*) FROM objects", [], |r| r.get(0)).ctx("count objects")?;
    Ok(SqliteFileInfo { schema_version, tenants, objects: u64::try_from(objects).unwrap_or(0), bytes })
}

/// Replaces the store at `db` with the backup `src`. The caller must make sure no server has
/// `db` open (the server's data-directory lock): SQLite cannot swap a file under a live
/// connection.
///
/// `src` is copied next to `db`, fsynced and verified ([`sqlite_verify`]), then shown to
/// `accept`, which may refuse it (say, because it belongs to another deployment); only then is
/// anything replaced. The previous database is kept as `<db>.before-restore` (its WAL folded
/// in, or kept beside it as `<db>.before-restore-wal` if that fails), stale `-wal`/`-shm` files
/// of `db` are removed so they are never replayed onto the restored file, and the copy is
/// renamed over `db`.
pub fn sqlite_restore(
    src: &Path,
    db: &Path,
    accept: impl FnOnce(&SqliteFileInfo) -> Result<(), String>,
) -> StoreResult<SqliteRestore> {
    if !src.is_file() {
        return Err(StoreError::NotFound(format!("no backup file at {}", src.display())));
    }
    if db.exists() && same_file(src, db) {
        return Err(StoreError::Invalid(format!("{} is the store itself", src.display())));
    }
    let tmp = TempFile::create(&sibling(db, "restore")?)?;
    {
        let mut from = File::open(src).map_err(|e| io_err("open", src, e))?;
        let mut to = OpenOptions::new().write(true).open(&tmp.path).map_err(|e| io_err("open", &tmp.path, e))?;
        io::copy(&mut from, &mut to).map_err(|e| io_err("copy", src, e))?;
        to.sync_all().map_err(|e| io_err("sync", &tmp.path, e))?;
    }
    let info = sqlite_verify(&tmp.path)?;
    accept(&info).map_err(StoreError::Invalid)?;

    let previous = if db.exists() {
        let previous = with_suffix(db, BEFORE_RESTORE_SUFFIX);
        for stale in [previous.clone(), with_suffix(&previous, "-wal"), with_suffix(&previous, "-shm")] {
            remove_if_exists(&stale)?;
        }
        if let Err(e) = checkpoint(db) {
            tracing::warn!(error = %e, "could not fold the WAL of the replaced store; keeping it beside the copy");
        }
        let wal = with_suffix(db, "-wal");
        if wal.exists() {
            std::fs::rename(&wal, with_suffix(&previous, "-wal")).map_err(|e| io_err("rename", &wal, e))?;
        }
        // A second name for the old file: `db` itself is then replaced by one atomic rename,
        // so there is no moment without a store (a server started then would bootstrap anew).
        if let Err(e) = std::fs::hard_link(db, &previous) {
            tracing::debug!(error = %e, "hard link failed; copying the replaced store instead");
            std::fs::copy(db, &previous).map_err(|e| io_err("copy", db, e))?;
            sync_file(&previous)?;
        }
        Some(previous)
    } else {
        None
    };
    remove_if_exists(&with_suffix(db, "-wal"))?;
    remove_if_exists(&with_suffix(db, "-shm"))?;
    std::fs::rename(&tmp.path, db).map_err(|e| io_err("rename", &tmp.path, e))?;
    tmp.disarm();
    sync_dir(db)?;
    Ok(SqliteRestore { info, previous })
}

/// Folds the WAL of `db` into the main file and removes it, so the file alone is the store.
fn checkpoint(db: &Path) -> StoreResult<()> {
    let conn = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .ctx(&format!("open {}", db.display()))?;
    let busy: i64 = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0)).ctx("checkpoint")?;
    if busy != 0 {
        return Err(StoreError::Backend(format!("{} is in use; checkpoint incomplete", db.display())));
    }
    // Closing the last connection of a WAL database deletes the (now empty) WAL.
    conn.close().map_err(|(_, e)| StoreError::Backend(format!("close {}: {e}", db.display())))
}

/// A temporary file, created empty with mode 0600 (`VACUUM INTO` accepts an empty file and
/// keeps its mode), removed with its `-wal`/`-shm` on drop unless disarmed.
struct TempFile {
    path: PathBuf,
    armed: bool,
}

impl TempFile {
    fn create(path: &Path) -> StoreResult<TempFile> {
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        options.open(path).map_err(|e| io_err("create", path, e))?;
        Ok(TempFile { path: path.to_path_buf(), armed: true })
    }

    fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if self.armed {
            for p in [self.path.clone(), with_suffix(&self.path, "-wal"), with_suffix(&self.path, "-shm")] {
                let _ = std::fs::remove_file(p);
            }
        }
    }
}

/// A hidden, per-process name in the directory of `path`: a rename is atomic only within one
/// file system.
fn sibling(path: &Path, what: &str) -> StoreResult<PathBuf> {
    let name = path
        .file_name()
        .ok_or_else(|| StoreError::Invalid(format!("{} is not a file name", path.display())))?
        .to_string_lossy();
    Ok(path.with_file_name(format!(".{name}.{what}-{}", std::process::id())))
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_os_string();
    s.push(suffix);
    PathBuf::from(s)
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

fn utf8(path: &Path) -> StoreResult<&str> {
    path.to_str().ok_or_else(|| StoreError::Invalid(format!("{} is not valid UTF-8", path.display())))
}

fn remove_if_exists(path: &Path) -> StoreResult<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err("remove", path, e)),
    }
}

fn sync_file(path: &Path) -> StoreResult<()> {
    File::open(path).and_then(|f| f.sync_all()).map_err(|e| io_err("sync", path, e))
}

/// Makes a rename in the directory of `path` durable (the directory entry is data too).
fn sync_dir(path: &Path) -> StoreResult<()> {
    #[cfg(unix)]
    {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        File::open(dir).and_then(|f| f.sync_all()).map_err(|e| io_err("sync", dir, e))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

fn io_err(what: &str, path: &Path, e: io::Error) -> StoreError {
    StoreError::Backend(format!("{what} {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;
    use crate::sqlite::SqliteStore;

    /// A scratch directory removed on drop.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new() -> Scratch {
            let dir = std::env::temp_dir().join(format!("cerulean-backup-test-{}", Uuid::new_v4()));
            std::fs::create_dir_all(&dir).expect("create scratch dir");
            Scratch(dir)
        }

        fn path(&self, name: &str) -> PathBuf {
            self.0.join(name)
        }

        fn names(&self) -> Vec<String> {
            let mut names: Vec<String> = std::fs::read_dir(&self.0)
                .expect("read scratch dir")
                .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            names
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn add_tenant(store: &SqliteStore, id: Uuid) {
        store
            .write(|c| {
                c.execute(
                    "INSERT INTO tenants (id, display_name, created_at) VALUES (?1, 'T', '2024-01-01T00:00:00Z')",
                    [id.to_string()],
                )
                .ctx("insert tenant")
            })
            .expect("insert tenant");
    }

    fn add_object(store: &SqliteStore, tenant: Uuid) {
        store
            .write(|c| {
                c.execute(
                    "INSERT INTO objects (tenant_id, id, object_type, version, doc, created_at, updated_at) \
                     VALUES (?1, ?2, 'user', 1, '{}', 'now', 'now')",
                    [tenant.to_string(), Uuid::new_v4().to_string()],
                )
                .ctx("insert object")
            })
            .expect("insert object");
    }

    #[test]
    fn backup_of_an_open_store_is_consistent_private_and_verified() {
        let dir = Scratch::new();
        let db = dir.path("cerulean.db");
        let store = Arc::new(SqliteStore::open(&db, &[]).expect("open"));
        let tenant = Uuid::new_v4();
        add_tenant(&store, tenant);
        for _ in 0..10 {
            add_object(&store, tenant);
        }

        // A writer keeps committing while the backup runs: the copy is one snapshot of it.
        let stop = Arc::new(AtomicBool::new(false));
        let writer = {
            let (store, stop) = (store.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    add_object(&store, tenant);
                }
            })
        };
        let dest = dir.path("backup.db");
        let info = sqlite_backup(&db, &dest, false).expect("backup");
        stop.store(true, Ordering::Relaxed);
        writer.join().expect("writer");

        assert_eq!(info.tenants, vec![tenant]);
        assert!(info.objects >= 10, "{info:?}");
        assert_eq!(sqlite_verify(&dest).expect("verify"), info);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&dest).expect("stat").permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        // No temporary file and no WAL is left beside the backup.
        let names = dir.names();
        assert!(names.iter().all(|n| !n.starts_with(".backup.db") && !n.starts_with("backup.db-")), "{names:?}");
    }

    #[test]
    fn backup_refuses_to_overwrite_unless_asked() {
        let dir = Scratch::new();
        let db = dir.path("cerulean.db");
        let store = SqliteStore::open(&db, &[]).expect("open");
        add_tenant(&store, Uuid::new_v4());
        let dest = dir.path("backup.db");
        std::fs::write(&dest, b"keep me").expect("write");

        let err = sqlite_backup(&db, &dest, false).expect_err("must refuse");
        assert!(err.to_string().contains("refusing to overwrite"), "{err}");
        assert_eq!(std::fs::read(&dest).expect("read"), b"keep me");

        let info = sqlite_backup(&db, &dest, true).expect("overwrite");
        assert_eq!(info.tenants.len(), 1);
        assert_eq!(dir.names(), vec!["backup.db", "cerulean.db", "cerulean.db-shm", "cerulean.db-wal"]);
    }

    #[test]
    fn backup_without_a_store_creates_nothing() {
        let dir = Scratch::new();
        let err = sqlite_backup(&dir.path("cerulean.db"), &dir.path("b.db"), false).expect_err("no store");
        assert!(matches!(err, StoreError::NotFound(_)), "{err}");
        assert!(dir.names().is_empty());
    }

    #[test]
    fn verify_rejects_what_is_not_a_cerulean_store() {
        let dir = Scratch::new();

        let junk = dir.path("junk.db");
        std::fs::write(&junk, vec![0x42u8; 8192]).expect("write");
        let err = sqlite_verify(&junk).expect_err("junk");
        assert!(err.to_string().contains("not a Cerulean store"), "{err}");

        let other = dir.path("other.db");
        Connection::open(&other).and_then(|c| c.execute_batch("CREATE TABLE t (x)")).expect("other db");
        let err = sqlite_verify(&other).expect_err("other db");
        assert!(err.to_string().contains("no schema version"), "{err}");

        let newer = dir.path("newer.db");
        drop(SqliteStore::open(&newer, &[]).expect("open"));
        let future = (migrate::MIGRATIONS.len() + 1) as i64;
        Connection::open(&newer).and_then(|c| c.pragma_update(None, "user_version", future)).expect("bump version");
        let err = sqlite_verify(&newer).expect_err("newer");
        assert!(err.to_string().contains("newer than this build"), "{err}");

        let partial = dir.path("partial.db");
        Connection::open(&partial)
            .and_then(|c| c.execute_batch("CREATE TABLE tenants (id TEXT); PRAGMA user_version = 1;"))
            .expect("partial db");
        let err = sqlite_verify(&partial).expect_err("partial");
        assert!(err.to_string().contains("no domains table"), "{err}");
    }

    #[test]
    fn restore_replaces_the_store_and_keeps_the_previous_one() {
        let dir = Scratch::new();
        let (old_tenant, new_tenant) = (Uuid::new_v4(), Uuid::new_v4());

        let source = dir.path("source.db");
        let store = SqliteStore::open(&source, &[]).expect("open source");
        add_tenant(&store, new_tenant);
        add_object(&store, new_tenant);
        let backup = dir.path("backup.db");
        sqlite_backup(&source, &backup, false).expect("backup");
        drop(store);

        let db = dir.path("cerulean.db");
        let live = SqliteStore::open(&db, &[]).expect("open live");
        add_tenant(&live, old_tenant);
        // Drop the store without its clean-shutdown checkpoint, as a kill -9 would: the old
        // tenant lives only in the WAL, which must end up with the previous store.
        std::mem::forget(live);
        assert!(with_suffix(&db, "-wal").exists());

        let mut seen = None;
        let restored = sqlite_restore(&backup, &db, |info| {
            seen = Some(info.clone());
            Ok(())
        })
        .expect("restore");
        assert_eq!(seen.as_ref(), Some(&restored.info));
        assert_eq!(restored.info.tenants, vec![new_tenant]);
        assert_eq!(restored.previous.as_deref(), Some(with_suffix(&db, BEFORE_RESTORE_SUFFIX).as_path()));
        assert!(!with_suffix(&db, "-wal").exists() && !with_suffix(&db, "-shm").exists());

        assert_eq!(sqlite_verify(&db).expect("verify restored").tenants, vec![new_tenant]);
        let previous = restored.previous.expect("previous");
        assert_eq!(sqlite_verify(&previous).expect("verify previous").tenants, vec![old_tenant]);
        // The restored file opens as a store again.
        drop(SqliteStore::open(&db, &[]).expect("reopen"));
    }

    #[test]
    fn restore_of_a_refused_or_broken_file_changes_nothing() {
        let dir = Scratch::new();
        let db = dir.path("cerulean.db");
        let store = SqliteStore::open(&db, &[]).expect("open");
        add_tenant(&store, Uuid::new_v4());
        drop(store);
        let before = std::fs::read(&db).expect("read");

        let junk = dir.path("junk.db");
        std::fs::write(&junk, b"not a database at all").expect("write");
        assert!(sqlite_restore(&junk, &db, |_| Ok(())).is_err());

        let backup = dir.path("backup.db");
        sqlite_backup(&db, &backup, false).expect("backup");
        let err = sqlite_restore(&backup, &db, |_| Err("not this one".into())).expect_err("refused");
        assert!(err.to_string().contains("not this one"), "{err}");

        let err = sqlite_restore(&db, &db, |_| Ok(())).expect_err("itself");
        assert!(err.to_string().contains("the store itself"), "{err}");

        assert_eq!(std::fs::read(&db).expect("read"), before);
        assert_eq!(dir.names(), vec!["backup.db", "cerulean.db", "junk.db"]);
    }
}
