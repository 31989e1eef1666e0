//! Test support shared by ozontrack's crates (never linked into the binary): a fresh database
//! on the PostgreSQL server for each test, dropped when the test ends, even by a panic; and the
//! log lines a test's code writes, to check what it said ([`logs`]).
//!
//! The server is `127.0.0.1:5432` as `postgres` with trust authentication, or
//! `OZONTRACK_TEST_POSTGRES_URL`. When it is unreachable the tests are skipped, except when
//! `CI` is set: then they fail, so CI can never pass without having run them.

use sqlx::{AssertSqlSafe, Connection, PgConnection};

const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A database that exists for one test.
#[derive(Debug)]
pub struct TestPostgres {
    /// URL of the fresh database.
    pub url: String,
    admin: String,
    name: String,
}

/// Creates a fresh database, or returns `None` (skip) when the server is unreachable and
/// `CI` is not set.
///
/// # Panics
/// When the server is unreachable and `CI` is set, or when it refuses to create a database.
pub async fn postgres() -> Option<TestPostgres> {
    let admin = std::env::var("OZONTRACK_TEST_POSTGRES_URL").unwrap_or(DEFAULT_ADMIN_URL.into());
    let mut conn = match PgConnection::connect(&admin).await {
        Ok(conn) => conn,
        Err(e) if std::env::var_os("CI").is_some() => {
            panic!("PostgreSQL at {admin} is unreachable and CI is set, so this test fails: {e}")
        }
        Err(e) => {
            eprintln!("skipping: PostgreSQL at {admin} is unreachable: {e}");
            return None;
        }
    };
    let name = format!("ozt_test_{}", uuid::Uuid::new_v4().simple());
    let create = format!("CREATE DATABASE {name}");
    if let Err(e) = sqlx::query(AssertSqlSafe(create)).execute(&mut conn).await {
        panic!("PostgreSQL at {admin} refused to create a test database: {e}");
    }
    let _ = conn.close().await;
    let base = admin
        .rsplit_once('/')
        .map_or(admin.as_str(), |(base, _)| base);
    Some(TestPostgres {
        url: format!("{base}/{name}"),
        admin,
        name,
    })
}

impl Drop for TestPostgres {
    fn drop(&mut self) {
        let admin = self.admin.clone();
        let drop = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        // Drop cannot await; a thread with its own runtime works inside or outside tokio.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let mut conn = PgConnection::connect(&admin)
                    .await
                    .map_err(std::io::Error::other)?;
                sqlx::query(AssertSqlSafe(drop))
                    .execute(&mut conn)
                    .await
                    .map_err(std::io::Error::other)?;
                Ok::<_, std::io::Error>(())
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("warning: test database {} was not dropped", self.name);
        }
    }
}

pub mod logs {
    //! What code under test logged: a `tracing` subscriber writing into memory, for the tests
    //! that check a failure is logged with its cause.

    use std::sync::{Arc, Mutex, PoisonError};

    /// Log lines written while a test runs.
    #[derive(Debug, Clone, Default)]
    pub struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Captured {
        /// Everything logged so far.
        pub fn text(&self) -> String {
            String::from_utf8_lossy(&self.0.lock().unwrap_or_else(PoisonError::into_inner))
                .into_owned()
        }
    }

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// Captures what this thread logs until the guard is dropped (a current-thread runtime's
    /// tasks all run on it).
    pub fn capture() -> (tracing::subscriber::DefaultGuard, Captured) {
        let logs = Captured::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        (tracing::subscriber::set_default(subscriber), logs)
    }
}

#[cfg(test)]
mod tidy {
    //! House rules that a reviewer would otherwise have to remember.

    use std::path::{Path, PathBuf};

    fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_dir() && name != "target" && !name.starts_with('.') {
                rust_files(&path, found);
            } else if name.ends_with(".rs") {
                found.push(path);
            }
        }
    }

    #[test]
    fn every_source_file_starts_by_saying_why_it_exists() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut files = Vec::new();
        rust_files(&root.join("crates"), &mut files);
        assert!(files.len() > 10, "found only {files:?}");
        let missing: Vec<_> = files
            .iter()
            .filter(|f| !std::fs::read_to_string(f).unwrap().starts_with("//!"))
            .collect();
        assert!(
            missing.is_empty(),
            "files without a leading //! line: {missing:?}"
        );
    }
}
