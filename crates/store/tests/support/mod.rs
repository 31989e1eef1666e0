//! Fresh databases for the contract suite: a SQLite file in a temporary directory, or a new
//! database on the PostgreSQL server that is dropped when the test ends.

use std::future::Future;

use base64::Engine;
use chrono::{DateTime, Utc};
use ozontrack_domain::StoreId;
use ozontrack_store::{
    Cipher, DatabaseUrl, LeaseOwner, LegId, PoolSettings, SqlStore, Store,
};
use sqlx::Connection;

const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/postgres";

pub(crate) struct TestDb {
    pub(crate) store: SqlStore,
    url: DatabaseUrl,
    postgres: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

fn cipher() -> Cipher {
    Cipher::from_base64(&base64::engine::general_purpose::STANDARD.encode([9u8; 32])).unwrap()
}

async fn open(url: &DatabaseUrl) -> SqlStore {
    let settings = PoolSettings { max_connections: 4, ..PoolSettings::default() };
    let store = SqlStore::connect(url, cipher(), &settings).await.unwrap();
    store.migrate().await.unwrap();
    store
}

pub(crate) async fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().unwrap();
    let url = DatabaseUrl::Sqlite(dir.path().join("contract.db"));
    TestDb { store: open(&url).await, url, postgres: None, _dir: Some(dir) }
}

/// A fresh PostgreSQL database, or `None` (skip) when the server is unreachable outside CI.
pub(crate) async fn postgres() -> Option<TestDb> {
    let admin = std::env::var("OZONTRACK_TEST_POSTGRES_URL").unwrap_or(DEFAULT_POSTGRES.into());
    let mut conn = match sqlx::PgConnection::connect(&admin).await {
        Ok(conn) => conn,
        Err(e) if std::env::var_os("CI").is_some() => {
            panic!("PostgreSQL at {admin} is unreachable and CI is set: {e}")
        }
        Err(e) => {
            eprintln!("skipping: PostgreSQL at {admin} is unreachable: {e}");
            return None;
        }
    };
    let name = format!("ozt_test_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(base, _)| base);
    let url = DatabaseUrl::parse(&format!("{base}/{name}")).unwrap();
    Some(TestDb { store: open(&url).await, url, postgres: Some((admin, name)), _dir: None })
}

impl TestDb {
    pub(crate) fn is_postgres(&self) -> bool {
        self.postgres.is_some()
    }

    /// Another pool on the same database, as a second worker process would have.
    pub(crate) async fn second_connection(&self) -> SqlStore {
        open(&self.url).await
    }

    /// Runs a case and drops the database afterwards, even when the case panics.
    pub(crate) async fn run<F, Fut>(self, case: F)
    where
        F: FnOnce(&'static TestDb) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        // Leaked for the test's duration so the case may borrow it from a spawned task.
        let db: &'static TestDb = Box::leak(Box::new(self));
        let outcome = tokio::spawn(case(db)).await;
        db.store.close().await;
        if let Some((admin, name)) = &db.postgres {
            let mut conn = sqlx::PgConnection::connect(admin).await.unwrap();
            let drop = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
            sqlx::query(sqlx::AssertSqlSafe(drop)).execute(&mut conn).await.unwrap();
        }
        if let Err(e) = outcome {
            std::panic::resume_unwind(e.into_panic());
        }
    }

    /// The stored bytes of a store's API key, read around the `Store` trait.
    pub(crate) async fn raw_api_key_column(&self, store: StoreId) -> Vec<u8> {
        let sql = "SELECT api_key_enc FROM stores WHERE id = $1";
        match &self.url {
            DatabaseUrl::Sqlite(path) => {
                let url = format!("sqlite://{}", path.display());
                let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
                sqlx::query_scalar(sql).bind(store.0).fetch_one(&mut conn).await.unwrap()
            }
            DatabaseUrl::Postgres(url) => {
                let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
                sqlx::query_scalar(sql).bind(store.0).fetch_one(&mut conn).await.unwrap()
            }
        }
    }
}

pub(crate) async fn claim_with(
    store: &SqlStore,
    owner: &LeaseOwner,
    limit: u32,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Vec<LegId> {
    store.claim(owner, limit, now, until).await.unwrap()
}

