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

impl TestDb {
    pub(crate) fn is_postgres(&self) -> bool {
        self._postgres.is_some()
    }

    /// Another pool on the same database, as a second worker process would have.
    pub(crate) async fn second_connection(&self) -> SqlDatabase {
        open(&self.url).await
    }

    /// The stored bytes of a store's API key, read around the `Store` trait.
    pub(crate) async fn raw_api_key_column(&self, store: StoreId) -> Vec<u8> {
        let sql = "SELECT api_key_enc FROM stores WHERE id = $1";
        match &self.url {
            DatabaseUrl::Sqlite(path) => {
                let url = format!("sqlite://{}", path.display());
                let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
                sqlx::query_scalar(sql)
                    .bind(store.0)
                    .fetch_one(&mut conn)
                    .await
                    .unwrap()
            }
            DatabaseUrl::Postgres(url) => {
                let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
                sqlx::query_scalar(sql)
                    .bind(store.0)
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
