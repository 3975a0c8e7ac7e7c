//! Test support (feature `testing`): a fresh PostgreSQL database per test, dropped when the
//! guard goes out of scope (even when the test panics). Shared by the store's own tests and
//! the API tests that run on PostgreSQL, so both create databases the same way.
//!
//! The server comes from `CERULEAN_TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`). An unreachable server fails the test with a
//! message saying how to start it, unless `CERULEAN_SKIP_POSTGRES=1`, which skips it loudly.

use tokio_postgres::NoTls;
use uuid::Uuid;

use crate::{IndexSpec, PostgresStore};

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The PostgreSQL server tests run against.
pub fn server_url() -> String {
    std::env::var("CERULEAN_TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_URL.to_string())
}

/// `base` with its database replaced by `db` (URL or `key=value` form).
pub fn with_database(base: &str, db: &str) -> String {
    let Some(scheme_end) = base.find("://") else {
        return format!("{base} dbname={db}");
    };
    let start = scheme_end + 3;
    let (main, query) = match base[start..].find('?') {
        Some(q) => base.split_at(start + q),
        None => (base, ""),
    };
    let authority_end = main[start..].find('/').map_or(main.len(), |i| start + i);
    format!("{}/{db}{query}", &main[..authority_end])
}

/// A plain client connection (its driver task runs on the current runtime).
pub async fn client(url: &str) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    let (client, conn) = tokio_postgres::connect(url, NoTls).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(client)
}

/// A database created for one test and dropped with the guard.
pub struct TestDatabase {
    pub name: String,
    pub server: String,
    pub url: String,
}

impl TestDatabase {
    /// Creates a fresh database; `None` when PostgreSQL tests are skipped on purpose.
    ///
    /// # Panics
    /// When the server cannot be reached or the database cannot be created: a test must not
    /// pass silently without the engine it claims to test.
    pub async fn create() -> Option<TestDatabase> {
        if std::env::var("CERULEAN_SKIP_POSTGRES").is_ok_and(|v| v == "1") {
            eprintln!("skipped: CERULEAN_SKIP_POSTGRES=1 (PostgreSQL tests not run)");
            return None;
        }
        let server = server_url();
        let admin = match client(&server).await {
            Ok(c) => c,
            Err(e) => panic!(
                "PostgreSQL is unreachable ({e}: {}). Start it (pg_ctlcluster --skip-systemctl-redirect <version> main start), \
                 point CERULEAN_TEST_DATABASE_URL at a server, or set CERULEAN_SKIP_POSTGRES=1 to skip these tests.",
                std::error::Error::source(&e).map(|s| s.to_string()).unwrap_or_default()
            ),
        };
        let name = format!("cerulean_test_{}", Uuid::new_v4().simple());
        if let Err(e) = admin.batch_execute(&format!("CREATE DATABASE {name}")).await {
            panic!("cannot create test database {name}: {e}");
        }
        Some(TestDatabase { url: with_database(&server, &name), name, server })
    }

    /// A store on this database.
    ///
    /// # Panics
    /// When connecting fails.
    pub async fn store(&self, indexes: &[IndexSpec]) -> PostgresStore {
        match PostgresStore::connect(&self.url, indexes).await {
            Ok(s) => s,
            Err(e) => panic!("cannot connect a store to {}: {e}", self.name),
        }
    }

    /// A plain client on this database.
    ///
    /// # Panics
    /// When connecting fails.
    pub async fn client(&self) -> tokio_postgres::Client {
        match client(&self.url).await {
            Ok(c) => c,
            Err(e) => panic!("cannot connect to {}: {e}", self.name),
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let (server, name) = (self.server.clone(), self.name.clone());
        // Drop runs outside any runtime guarantee: use a thread with its own.
        let dropped = std::thread::spawn(move || -> Result<(), String> {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
            rt.block_on(async {
                let admin = client(&server).await.map_err(|e| e.to_string())?;
                admin
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await
                    .map_err(|e| e.to_string())
            })
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("could not drop test database {}: {e}", self.name),
            Err(_) => eprintln!("could not drop test database {}: cleanup panicked", self.name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn database_urls() {
        assert_eq!(with_database("postgres://u@h:5432/postgres", "x"), "postgres://u@h:5432/x");
        assert_eq!(with_database("postgresql://u:p@h/db?sslmode=disable", "x"), "postgresql://u:p@h/x?sslmode=disable");
        assert_eq!(with_database("postgres://h", "x"), "postgres://h/x");
        assert_eq!(with_database("host=h user=u", "x"), "host=h user=u dbname=x");
    }
}
