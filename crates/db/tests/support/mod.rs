//! Fresh databases for the contract suite: a SQLite file in a temporary directory, or a new
//! database on the PostgreSQL server (see `ozontrack-testkit`), dropped when the test ends.

use base64::Engine;
use chrono::{DateTime, Utc};
use ozontrack_db::prelude::*;
use ozontrack_db::{Cipher, DatabaseUrl, LeaseOwner, PoolSettings, SqlDatabase};
use ozontrack_domain::LegId;
use ozontrack_domain::StoreId;
use ozontrack_testkit::TestPostgres;
use sqlx::Connection;

pub(crate) struct TestDb {
    pub(crate) store: SqlDatabase,
    url: DatabaseUrl,
    // Dropped after `store` (fields drop in order), which removes the database or file.
    _postgres: Option<TestPostgres>,
    _dir: Option<tempfile::TempDir>,
}

fn cipher() -> Cipher {
    Cipher::from_base64(&base64::engine::general_purpose::STANDARD.encode([9u8; 32])).unwrap()
}

async fn open(url: &DatabaseUrl) -> SqlDatabase {
    let settings = PoolSettings {
        max_connections: 4,
        ..PoolSettings::default()
    };
    let store = SqlDatabase::connect(url, cipher(), &settings)
        .await
        .unwrap();
    store.migrate().await.unwrap();
    store
}

pub(crate) async fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().unwrap();
    let url = DatabaseUrl::Sqlite(dir.path().join("contract.db"));
    TestDb {
        store: open(&url).await,
        url,
        _postgres: None,
        _dir: Some(dir),
    }
}

/// `None` when the server is unreachable outside CI (the test is skipped).
pub(crate) async fn postgres() -> Option<TestDb> {
    let pg = ozontrack_testkit::postgres().await?;
    let url = DatabaseUrl::parse(&pg.url).unwrap();
    Some(TestDb {
        store: open(&url).await,
        url,
        _postgres: Some(pg),
        _dir: None,
    })
}

/// What a schema is made of, as both engines can compare it: every table with its columns
/// (name, whether it may be null) and every index created by a migration (name, table).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Schema {
    pub(crate) tables:
        std::collections::BTreeMap<String, std::collections::BTreeSet<(String, bool)>>,
    pub(crate) indexes: std::collections::BTreeSet<(String, String)>,
}

impl TestDb {
    /// The schema the migrations made, read from the engine's own catalogue.
    pub(crate) async fn schema(&self) -> Schema {
        let mut tables = std::collections::BTreeMap::new();
        let mut indexes = std::collections::BTreeSet::new();
        match &self.url {
            DatabaseUrl::Sqlite(path) => {
                let url = format!("sqlite://{}", path.display());
                let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
                let names: Vec<String> = sqlx::query_scalar(
                    "SELECT name FROM sqlite_master WHERE type = 'table' \
                     AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx%'",
                )
                .fetch_all(&mut conn)
                .await
                .unwrap();
                for table in names {
                    let columns: Vec<(String, i64, i64)> =
                        sqlx::query_as("SELECT name, \"notnull\", pk FROM pragma_table_info($1)")
                            .bind(&table)
                            .fetch_all(&mut conn)
                            .await
                            .unwrap();
                    // SQLite lets an INTEGER PRIMARY KEY be declared without NOT NULL.
                    let columns = columns
                        .into_iter()
                        .map(|(name, not_null, pk)| (name, not_null == 0 && pk == 0))
                        .collect();
                    tables.insert(table, columns);
                }
                let rows: Vec<(String, String)> = sqlx::query_as(
                    "SELECT name, tbl_name FROM sqlite_master WHERE type = 'index' \
                     AND name NOT LIKE 'sqlite_autoindex%'",
                )
                .fetch_all(&mut conn)
                .await
                .unwrap();
                indexes.extend(rows);
            }
            DatabaseUrl::Postgres(url) => {
                let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
                let rows: Vec<(String, String, String)> = sqlx::query_as(
                    "SELECT table_name::text, column_name::text, is_nullable::text \
                     FROM information_schema.columns WHERE table_schema = 'public' \
                     AND table_name <> '_sqlx_migrations'",
                )
                .fetch_all(&mut conn)
                .await
                .unwrap();
                for (table, column, nullable) in rows {
                    tables
                        .entry(table)
                        .or_insert_with(std::collections::BTreeSet::new)
                        .insert((column, nullable == "YES"));
                }
                // Primary keys and UNIQUE constraints make their own indexes, which SQLite
                // names `sqlite_autoindex_*`: only the indexes migrations create compare.
                let rows: Vec<(String, String)> = sqlx::query_as(
                    "SELECT i.indexname::text, i.tablename::text FROM pg_indexes i \
                     WHERE i.schemaname = 'public' AND i.tablename <> '_sqlx_migrations' \
                     AND NOT EXISTS (SELECT 1 FROM pg_constraint c \
                     WHERE c.conname = i.indexname)",
                )
                .fetch_all(&mut conn)
                .await
                .unwrap();
                indexes.extend(rows);
            }
        }
        Schema { tables, indexes }
    }

    pub(crate) fn is_postgres(&self) -> bool {
        self._postgres.is_some()
    }

    /// Another pool on the same database, as a second worker process would have.
    pub(crate) async fn second_connection(&self) -> SqlDatabase {
        open(&self.url).await
    }

    /// A connection of its own to the test's PostgreSQL database (`None` on SQLite), for a
    /// test that plays a second writer around the `Store` trait.
    pub(crate) async fn postgres_connection(&self) -> Option<sqlx::PgConnection> {
        match &self.url {
            DatabaseUrl::Postgres(url) => Some(sqlx::PgConnection::connect(url).await.unwrap()),
            DatabaseUrl::Sqlite(_) => None,
        }
    }

    /// The stored bytes of a store's API key, read around the `Store` trait.
    pub(crate) async fn raw_api_key_column(&self, store: StoreId) -> Vec<u8> {
        self.raw_blob("SELECT api_key_enc FROM stores WHERE id = $1", store.0)
            .await
    }

    /// A destination's credentials column as stored.
    pub(crate) async fn raw_destination_secret(&self, id: i64) -> Vec<u8> {
        self.raw_blob("SELECT secret_enc FROM destinations WHERE id = $1", id)
            .await
    }

    /// One text column of every row, read around the traits.
    pub(crate) async fn raw_strings(&self, sql: &'static str) -> Vec<Option<String>> {
        match &self.url {
            DatabaseUrl::Sqlite(path) => {
                let url = format!("sqlite://{}", path.display());
                let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
                sqlx::query_scalar(sql).fetch_all(&mut conn).await.unwrap()
            }
            DatabaseUrl::Postgres(url) => {
                let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
                sqlx::query_scalar(sql).fetch_all(&mut conn).await.unwrap()
            }
        }
    }

    /// A `COUNT(*)` of rows, read around the traits.
    pub(crate) async fn raw_count(&self, sql: &str) -> i64 {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match &self.url {
            DatabaseUrl::Sqlite(path) => {
                let url = format!("sqlite://{}", path.display());
                let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
                sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap()
            }
            DatabaseUrl::Postgres(url) => {
                let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
                sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap()
            }
        }
    }

    /// Runs a statement on the PostgreSQL server, around the traits (a setting, say).
    pub(crate) async fn pg_execute(&self, sql: &str) {
        let DatabaseUrl::Postgres(url) = &self.url else {
            panic!("pg_execute on a SQLite database");
        };
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(&mut conn)
            .await
            .unwrap();
    }

    async fn raw_blob(&self, sql: &'static str, id: i64) -> Vec<u8> {
        match &self.url {
            DatabaseUrl::Sqlite(path) => {
                let url = format!("sqlite://{}", path.display());
                let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
                sqlx::query_scalar(sql)
                    .bind(id)
                    .fetch_one(&mut conn)
                    .await
                    .unwrap()
            }
            DatabaseUrl::Postgres(url) => {
                let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
                sqlx::query_scalar(sql)
                    .bind(id)
                    .fetch_one(&mut conn)
                    .await
                    .unwrap()
            }
        }
    }
}

pub(crate) async fn claim_with(
    store: &SqlDatabase,
    owner: &LeaseOwner,
    limit: u32,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Vec<LegId> {
    store.claim(owner, limit, now, until).await.unwrap()
}
