//! Consistent copies of a running database and their restore: SQLite through `VACUUM INTO`
//! (one read transaction, so the copy is one moment of the file), PostgreSQL through `pg_dump`
//! on a snapshot this process exports, so the row counts of the manifest are those of the very
//! same moment. What a backup holds is counted from that moment, never from the live database.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;
use std::process::Stdio;
use std::str::FromStr as _;

use sqlx::postgres::PgConnectOptions;
use sqlx::{AssertSqlSafe, Connection as _, Executor as _};

use crate::sql::{Db, SqlDatabase};
use crate::{DatabaseUrl, DbError};

/// What a backup holds: the schema version and each table's rows.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Snapshot {
    /// The latest migration applied.
    pub schema_version: i64,
    pub tables: BTreeMap<String, u64>,
}

fn backup_error(message: impl Into<String>) -> DbError {
    DbError::Backup(message.into())
}

/// The tables of the schema, SQL first (names come from the catalogue, never from a person).
const SQLITE_TABLES: &str = "SELECT name FROM sqlite_master WHERE type = 'table' \
     AND name NOT LIKE 'sqlite_%' ORDER BY name";
const POSTGRES_TABLES: &str = "SELECT table_name::text FROM information_schema.tables \
     WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name";

/// Counts every table through `$exec` and reads the schema version.
macro_rules! snapshot {
    ($exec:expr, $tables_sql:expr) => {{
        let names: Vec<String> = sqlx::query_scalar($tables_sql)
            .fetch_all(&mut *$exec)
            .await?;
        let mut snapshot = Snapshot::default();
        for name in names {
            let sql = format!("SELECT COUNT(*) FROM \"{}\"", name.replace('"', "\"\""));
            let count: i64 = sqlx::query_scalar(AssertSqlSafe(sql))
                .fetch_one(&mut *$exec)
                .await?;
            if name == "_sqlx_migrations" {
                snapshot.schema_version =
                    sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations")
                        .fetch_one(&mut *$exec)
                        .await?;
            }
            snapshot
                .tables
                .insert(name, u64::try_from(count).unwrap_or_default());
        }
        snapshot
    }};
}

/// Copies of the whole database.
pub trait Backups: Clone + Send + Sync + 'static {
    /// Writes a consistent copy of the database to `path` (which must not exist) and says
    /// what it holds at that moment. PostgreSQL needs `pg_dump` on the PATH; its absence is
    /// said plainly.
    fn backup_into(&self, path: &Path) -> impl Future<Output = Result<Snapshot, DbError>> + Send;
}

impl Backups for SqlDatabase {
    async fn backup_into(&self, path: &Path) -> Result<Snapshot, DbError> {
        match (&self.db, &self.url) {
            (Db::Sqlite(pool), DatabaseUrl::Sqlite(_)) => {
                let target = path.to_string_lossy().into_owned();
                sqlx::query("VACUUM INTO $1")
                    .bind(target)
                    .execute(pool)
                    .await?;
                sqlite_snapshot(path).await
            }
            (Db::Postgres(pool), DatabaseUrl::Postgres(text)) => {
                let mut tx = pool.begin().await?;
                tx.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    .await?;
                let id: String = sqlx::query_scalar("SELECT pg_export_snapshot()")
                    .fetch_one(&mut *tx)
                    .await?;
                let snapshot = snapshot!(tx, POSTGRES_TABLES);
                let mut command = pg_tool("pg_dump", text)?;
                command
                    .arg("--format=custom")
                    .arg(format!("--snapshot={id}"))
                    .arg("--no-owner")
                    .arg(format!("--file={}", path.display()));
                run(command, "pg_dump").await?;
                tx.commit().await?;
                Ok(snapshot)
            }
            _ => Err(backup_error("the database's URL names another engine")),
        }
    }
}

/// What a SQLite file (a backup, or a restored database) holds, read without changing it.
pub async fn sqlite_snapshot(path: &Path) -> Result<Snapshot, DbError> {
    let options = crate::sql::sqlite_options(path).read_only(true);
    let mut conn = sqlx::SqliteConnection::connect_with(&options).await?;
    let snapshot = snapshot!((&mut conn), SQLITE_TABLES);
    conn.close().await?;
    Ok(snapshot)
}

/// What the database at `url` holds, through one connection of its own.
pub async fn snapshot_at(url: &DatabaseUrl) -> Result<Snapshot, DbError> {
    Ok(match url {
        DatabaseUrl::Sqlite(path) => sqlite_snapshot(path).await?,
        DatabaseUrl::Postgres(text) => {
            let options = crate::sql::postgres_options(text)?;
            let mut conn = sqlx::PgConnection::connect_with(&options).await?;
            let snapshot = snapshot!((&mut conn), POSTGRES_TABLES);
            conn.close().await?;
            snapshot
        }
    })
}

/// Whether the database at `url` holds no stores and no postings (or no schema at all): a
/// restore's target.
pub async fn is_empty(url: &DatabaseUrl) -> Result<bool, DbError> {
    let probe = "SELECT (SELECT COUNT(*) FROM stores) + (SELECT COUNT(*) FROM postings)";
    if let DatabaseUrl::Sqlite(path) = url
        && std::fs::metadata(path).map(|m| m.len()).unwrap_or(0) == 0
    {
        return Ok(true);
    }
    let rows: Result<i64, sqlx::Error> = on_url!(url, read_only = true, |conn| {
        sqlx::query_scalar(probe).fetch_one(&mut conn).await
    });
    match rows {
        Ok(n) => Ok(n == 0),
        // No such table: a database ozontrack never migrated.
        Err(sqlx::Error::Database(e)) if e.message().contains("no such table") => Ok(true),
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P01") => Ok(true),
        Err(e) => Err(e.into()),
    }
}

/// Restores `backup` into the database at `url`, which the caller has checked is empty (or
/// chose to replace). SQLite: the file is copied beside the target and renamed over it (no
/// process may have it open); PostgreSQL: `pg_restore`, replacing what is there.
pub async fn restore(url: &DatabaseUrl, backup: &Path) -> Result<(), DbError> {
    match url {
        DatabaseUrl::Sqlite(path) => {
            let dir = match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
                _ => std::path::PathBuf::from("."),
            };
            let io =
                |e: std::io::Error| backup_error(format!("cannot restore {}: {e}", path.display()));
            let tmp = tempfile::Builder::new()
                .prefix(".restore")
                .tempfile_in(&dir)
                .map_err(io)?;
            std::fs::copy(backup, tmp.path()).map_err(io)?;
            tmp.as_file().sync_all().map_err(io)?;
            // The old database's journal would be replayed onto the restored file.
            for suffix in ["-wal", "-shm"] {
                let mut name = path.as_os_str().to_owned();
                name.push(suffix);
                match std::fs::remove_file(&name) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(e)),
                    _ => {}
                }
            }
            tmp.persist(path).map_err(|e| io(e.error))?;
            Ok(())
        }
        DatabaseUrl::Postgres(text) => {
            let mut command = pg_tool("pg_restore", text)?;
            // pg_restore prints the SQL unless told a database; the name is no secret.
            let name = PgConnectOptions::from_str(text)?
                .get_database()
                .unwrap_or("postgres")
                .to_owned();
            command
                .arg(format!("--dbname={name}"))
                .arg("--clean")
                .arg("--if-exists")
                .arg("--no-owner")
                .arg("--single-transaction")
                .arg("--exit-on-error")
                .arg(backup);
            run(command, "pg_restore").await
        }
    }
}

/// Whether a `pg_dump` file reads whole (its table of contents lists every entry).
pub async fn check_pg_dump(path: &Path) -> Result<(), DbError> {
    let mut command = tokio::process::Command::new("pg_restore");
    command
        .arg("--list")
        .arg(path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    run(command, "pg_restore").await
}

/// A PostgreSQL client tool for the database at `url`; the password travels in the
/// environment, never on a command line another user could read.
fn pg_tool(tool: &str, url: &str) -> Result<tokio::process::Command, DbError> {
    let options = PgConnectOptions::from_str(url)?;
    let mut command = tokio::process::Command::new(tool);
    command
        .env("PGHOST", options.get_host())
        .env("PGPORT", options.get_port().to_string())
        .env("PGUSER", options.get_username())
        .env("PGDATABASE", options.get_database().unwrap_or("postgres"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Some(password) = crate::url::password_of(url) {
        command.env("PGPASSWORD", password);
    }
    Ok(command)
}

async fn run(mut command: tokio::process::Command, tool: &str) -> Result<(), DbError> {
    let output = command.output().await.map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            backup_error(format!(
                "{tool} is not installed: PostgreSQL backups need the PostgreSQL client tools \
                 (Debian: apt install postgresql-client)"
            ))
        } else {
            backup_error(format!("cannot run {tool}: {e}"))
        }
    })?;
    if output.status.success() {
        Ok(())
    } else {
        let said = String::from_utf8_lossy(&output.stderr);
        Err(backup_error(format!("{tool} failed: {}", said.trim())))
    }
}
