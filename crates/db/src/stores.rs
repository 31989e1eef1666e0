//! Connected Ozon seller accounts ("stores"): their names, Client-Ids, settings, the API key
//! kept encrypted at rest, and the secret in their push URL.

use std::future::Future;

use chrono::{DateTime, Utc};
use ozontrack_domain::notify::Routing;
use ozontrack_domain::{ClientId, StoreId, StoreName, StoreSettings};
use secrecy::{ExposeSecret, SecretString};
use sqlx::AssertSqlSafe;

use crate::DbError;
use crate::records::StoreRow;
use crate::sql::{BeginWrite, Db, SqlDatabase, is_unique_violation};

/// A connected Ozon seller account, as it is listed; the API key stays encrypted until
/// [`Store::store_credentials`] is asked for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreRecord {
    pub id: StoreId,
    pub name: StoreName,
    /// `None`: a store without Ozon API access (its postings come from imported reports).
    pub client_id: Option<ClientId>,
    pub ozon_base_url: String,
    pub settings: StoreSettings,
    pub created_at: DateTime<Utc>,
    pub next_sync_at: Option<DateTime<Utc>>,
    /// Everything Ozon changed before this time is in the store (the last completed sync
    /// plan); `None` before the first.
    pub synced_until: Option<DateTime<Utc>>,
    /// Since when the store is paused: neither synced nor tracked until resumed.
    pub paused_at: Option<DateTime<Utc>>,
}

/// What removing a store took with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RemovedStore {
    pub postings: u64,
    /// Notification destinations that served only this store.
    pub destinations: u64,
}

/// What it takes to connect a store.
#[derive(Debug, Clone)]
pub struct NewStore {
    pub name: StoreName,
    pub client_id: ClientId,
    pub api_key: SecretString,
    pub ozon_base_url: String,
    pub settings: StoreSettings,
}

/// What a client needs to call Ozon for one store. `Debug` does not show the key.
#[derive(Debug, Clone)]
pub struct OzonCredentials {
    pub client_id: ClientId,
    pub api_key: SecretString,
    pub base_url: String,
}

/// Seller stores and their secrets.
pub trait Stores: Clone + Send + Sync + 'static {
    /// Connects a store; its API key is encrypted before it reaches the database.
    fn add_store(
        &self,
        store: NewStore,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<StoreRecord, DbError>> + Send;

    /// A store without Ozon API access: its postings come from the seller office's reports
    /// until `set_store_connection` gives it a key. Never due for a sync.
    fn add_offline_store(
        &self,
        name: StoreName,
        settings: StoreSettings,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<StoreRecord, DbError>> + Send;

    /// All stores, by name.
    fn stores(&self) -> impl Future<Output = Result<Vec<StoreRecord>, DbError>> + Send;

    fn store_by_name(
        &self,
        name: &StoreName,
    ) -> impl Future<Output = Result<Option<StoreRecord>, DbError>> + Send;

    fn store(
        &self,
        id: StoreId,
    ) -> impl Future<Output = Result<Option<StoreRecord>, DbError>> + Send;

    /// Points a store at new credentials or a new API address (key rotation, the demo's
    /// fresh ports, a store without API access getting its key: then its first sync is due
    /// now); the key is encrypted like on creation.
    fn set_store_connection(
        &self,
        id: StoreId,
        client_id: ClientId,
        api_key: SecretString,
        ozon_base_url: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), DbError>> + Send;

    /// Decrypts the store's API key.
    fn store_credentials(
        &self,
        id: StoreId,
    ) -> impl Future<Output = Result<OzonCredentials, DbError>> + Send;

    /// The secret in the store's push URL (`/ozon/push/{secret}`).
    /// Pauses (`true`) or resumes a store; false when it already was so. A resumed store
    /// with API access is due for a sync at once.
    fn set_store_paused(
        &self,
        id: StoreId,
        paused: bool,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, DbError>> + Send;

    /// Renames a store; its history stays.
    fn rename_store(
        &self,
        id: StoreId,
        name: &StoreName,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), DbError>> + Send;

    /// Removes a store and everything of it in one transaction: postings, legs, events,
    /// alerts, penalty points, scans, pushes, outbox messages, its place in tokens' and users'
    /// scopes (which then cover less, never more), and the destinations that served it alone.
    fn remove_store(
        &self,
        id: StoreId,
    ) -> impl Future<Output = Result<RemovedStore, DbError>> + Send;

    fn push_secret(&self, id: StoreId) -> impl Future<Output = Result<String, DbError>> + Send;

    fn store_by_push_secret(
        &self,
        secret: &str,
    ) -> impl Future<Output = Result<Option<StoreRecord>, DbError>> + Send;
}

pub(crate) const STORE_COLUMNS: &str = "id, name, client_id, ozon_base_url, timezone, language, \
     created_at, next_check_at, synced_until, api_access, paused_at";

/// The encryption context of a store's key: its Client-Id, so a key cannot be moved to another
/// store's row.
fn context_of(client_id: ClientId) -> Vec<u8> {
    client_id.to_string().into_bytes()
}

/// A new store's id, or the name's owner already there.
fn inserted_id(inserted: Result<i64, sqlx::Error>, name: &StoreName) -> Result<i64, DbError> {
    match inserted {
        Ok(id) => Ok(id),
        Err(e) if is_unique_violation(&e) => {
            Err(DbError::DuplicateStoreName(name.as_str().to_owned()))
        }
        Err(e) => Err(e.into()),
    }
}

/// What the push URL's secret is derived for.
const PUSH_PURPOSE: &str = "ozon-push";

impl Stores for SqlDatabase {
    async fn add_store(&self, store: NewStore, now: DateTime<Utc>) -> Result<StoreRecord, DbError> {
        let sealed = self.cipher.encrypt(
            store.api_key.expose_secret().as_bytes(),
            &context_of(store.client_id),
        );
        // Client-Ids are far below i64::MAX; the cast cannot wrap for a real id.
        #[allow(clippy::cast_possible_wrap)]
        let client_id = store.client_id.get() as i64;
        let sql = "INSERT INTO stores (name, client_id, api_key_enc, ozon_base_url, timezone, \
                   language, created_at, updated_at, next_check_at) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $7) RETURNING id";
        let inserted = on_db!(&self.db, |pool| {
            sqlx::query_scalar::<_, i64>(sql)
                .bind(store.name.as_str())
                .bind(client_id)
                .bind(&sealed)
                .bind(&store.ozon_base_url)
                .bind(&store.settings.timezone)
                .bind(store.settings.language.as_str())
                .bind(now)
                .fetch_one(pool)
                .await
        });
        let id = inserted_id(inserted, &store.name)?;
        Ok(StoreRecord {
            id: StoreId(id),
            name: store.name,
            client_id: Some(store.client_id),
            ozon_base_url: store.ozon_base_url,
            settings: store.settings,
            created_at: now,
            next_sync_at: Some(now),
            synced_until: None,
            paused_at: None,
        })
    }

    async fn add_offline_store(
        &self,
        name: StoreName,
        settings: StoreSettings,
        now: DateTime<Utc>,
    ) -> Result<StoreRecord, DbError> {
        let sql = "INSERT INTO stores (name, client_id, api_key_enc, ozon_base_url, timezone, \
                   language, created_at, updated_at, next_check_at, api_access) \
                   VALUES ($1, 0, $2, '', $3, $4, $5, $5, NULL, FALSE) RETURNING id";
        let inserted = on_db!(&self.db, |pool| {
            sqlx::query_scalar::<_, i64>(sql)
                .bind(name.as_str())
                .bind(Vec::<u8>::new())
                .bind(&settings.timezone)
                .bind(settings.language.as_str())
                .bind(now)
                .fetch_one(pool)
                .await
        });
        let id = inserted_id(inserted, &name)?;
        Ok(StoreRecord {
            id: StoreId(id),
            name,
            client_id: None,
            ozon_base_url: String::new(),
            settings,
            created_at: now,
            next_sync_at: None,
            synced_until: None,
            paused_at: None,
        })
    }

    async fn stores(&self) -> Result<Vec<StoreRecord>, DbError> {
        let sql = AssertSqlSafe(format!("SELECT {STORE_COLUMNS} FROM stores ORDER BY name"));
        let rows = on_db!(&self.db, |pool| {
            sqlx::query_as::<_, StoreRow>(sql).fetch_all(pool).await?
        });
        rows.into_iter().map(StoreRecord::try_from).collect()
    }

    async fn store_by_name(&self, name: &StoreName) -> Result<Option<StoreRecord>, DbError> {
        let sql = AssertSqlSafe(format!(
            "SELECT {STORE_COLUMNS} FROM stores WHERE name = $1"
        ));
        let row = on_db!(&self.db, |pool| {
            sqlx::query_as::<_, StoreRow>(sql)
                .bind(name.as_str())
                .fetch_optional(pool)
                .await?
        });
        row.map(StoreRecord::try_from).transpose()
    }

    async fn store(&self, id: StoreId) -> Result<Option<StoreRecord>, DbError> {
        let sql = AssertSqlSafe(format!("SELECT {STORE_COLUMNS} FROM stores WHERE id = $1"));
        let row = on_db!(&self.db, |pool| {
            sqlx::query_as::<_, StoreRow>(sql)
                .bind(id.0)
                .fetch_optional(pool)
                .await?
        });
        row.map(StoreRecord::try_from).transpose()
    }

    async fn set_store_connection(
        &self,
        id: StoreId,
        client_id: ClientId,
        api_key: SecretString,
        ozon_base_url: &str,
        now: DateTime<Utc>,
    ) -> Result<(), DbError> {
        let sealed = self
            .cipher
            .encrypt(api_key.expose_secret().as_bytes(), &context_of(client_id));
        // Client-Ids are far below i64::MAX; the cast cannot wrap for a real id.
        #[allow(clippy::cast_possible_wrap)]
        let client = client_id.get() as i64;
        // A store that had no API access is due for its first sync at once.
        let sql = "UPDATE stores SET client_id = $1, api_key_enc = $2, ozon_base_url = $3, \
                   updated_at = $4, next_check_at = CASE WHEN api_access THEN next_check_at \
                   ELSE $4 END, api_access = TRUE WHERE id = $5";
        let done = on_db!(&self.db, |pool| {
            sqlx::query(sql)
                .bind(client)
                .bind(&sealed)
                .bind(ozon_base_url)
                .bind(now)
                .bind(id.0)
                .execute(pool)
                .await?
                .rows_affected()
        });
        if done == 0 {
            return Err(DbError::StoreNotFound(id));
        }
        Ok(())
    }

    async fn store_credentials(&self, id: StoreId) -> Result<OzonCredentials, DbError> {
        let sql = "SELECT name, client_id, api_key_enc, ozon_base_url, api_access FROM stores \
                   WHERE id = $1";
        let row = on_db!(&self.db, |pool| {
            sqlx::query_as::<_, (String, i64, Vec<u8>, String, bool)>(sql)
                .bind(id.0)
                .fetch_optional(pool)
                .await?
        });
        let (name, client_id, sealed, base_url, access) = row.ok_or(DbError::StoreNotFound(id))?;
        if !access {
            return Err(DbError::NoApiAccess(name));
        }
        let client_id = ClientId::parse(&client_id.to_string()).map_err(|e| DbError::Corrupt {
            table: "stores",
            id: id.0,
            reason: e.to_string(),
        })?;
        let plain = self
            .cipher
            .decrypt(&sealed, &context_of(client_id))
            .ok_or_else(|| DbError::Decrypt {
                store: name.clone(),
            })?;
        let api_key = String::from_utf8(plain).map_err(|_| DbError::Decrypt { store: name })?;
        Ok(OzonCredentials {
            client_id,
            api_key: SecretString::from(api_key),
            base_url,
        })
    }

    async fn set_store_paused(
        &self,
        id: StoreId,
        paused: bool,
        now: DateTime<Utc>,
    ) -> Result<bool, DbError> {
        let sql = if paused {
            "UPDATE stores SET paused_at = $2, updated_at = $2 WHERE id = $1 AND paused_at IS NULL"
        } else {
            // Due at once: whatever Ozon changed while paused is fetched on resuming.
            "UPDATE stores SET paused_at = NULL, updated_at = $2, \
             next_check_at = CASE WHEN api_access THEN $2 ELSE next_check_at END \
             WHERE id = $1 AND paused_at IS NOT NULL"
        };
        let done = on_db!(&self.db, |pool| {
            sqlx::query(sql)
                .bind(id.0)
                .bind(now)
                .execute(pool)
                .await?
                .rows_affected()
        });
        if done == 0 {
            self.store(id).await?.ok_or(DbError::StoreNotFound(id))?;
        }
        Ok(done > 0)
    }

    async fn rename_store(
        &self,
        id: StoreId,
        name: &StoreName,
        now: DateTime<Utc>,
    ) -> Result<(), DbError> {
        let done = on_db!(&self.db, |pool| {
            sqlx::query("UPDATE stores SET name = $2, updated_at = $3 WHERE id = $1")
                .bind(id.0)
                .bind(name.as_str())
                .bind(now)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        });
        match done {
            Ok(0) => Err(DbError::StoreNotFound(id)),
            Ok(_) => Ok(()),
            Err(e) if is_unique_violation(&e) => {
                Err(DbError::DuplicateStoreName(name.as_str().to_owned()))
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn remove_store(&self, id: StoreId) -> Result<RemovedStore, DbError> {
        on_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            // Destinations route by a list of stores where empty means every store: one that
            // served this store alone must go with it, or it would start serving all of them.
            let routed = sqlx::query_as::<_, (i64, String)>("SELECT id, routing FROM destinations")
                .fetch_all(&mut *tx)
                .await?;
            let mut destinations = 0;
            for (destination, routing) in routed {
                let mut routing: Routing =
                    serde_json::from_str(&routing).map_err(|e| DbError::Corrupt {
                        table: "destinations",
                        id: destination,
                        reason: e.to_string(),
                    })?;
                if !routing.stores.contains(&id) {
                    continue;
                }
                routing.stores.retain(|s| *s != id);
                if routing.stores.is_empty() {
                    sqlx::query("DELETE FROM destinations WHERE id = $1")
                        .bind(destination)
                        .execute(&mut *tx)
                        .await?;
                    destinations += 1;
                } else {
                    sqlx::query("UPDATE destinations SET routing = $2 WHERE id = $1")
                        .bind(destination)
                        .bind(serde_json::to_string(&routing).unwrap_or_default())
                        .execute(&mut *tx)
                        .await?;
                }
            }
            // The outbox names its store without a foreign key (digests span stores).
            sqlx::query("DELETE FROM outbox WHERE store_id = $1")
                .bind(id.0)
                .execute(&mut *tx)
                .await?;
            let postings =
                sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM postings WHERE store_id = $1")
                    .bind(id.0)
                    .fetch_one(&mut *tx)
                    .await?;
            // Everything else hangs off the store by ON DELETE CASCADE.
            let removed = sqlx::query("DELETE FROM stores WHERE id = $1")
                .bind(id.0)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if removed == 0 {
                return Err(DbError::StoreNotFound(id));
            }
            tx.commit().await?;
            Ok(RemovedStore {
                postings: u64::try_from(postings).unwrap_or_default(),
                destinations,
            })
        })
    }

    async fn push_secret(&self, id: StoreId) -> Result<String, DbError> {
        // Nothing is stored: the secret is derived from the key and the store's id.
        self.store(id).await?.ok_or(DbError::StoreNotFound(id))?;
        Ok(self.cipher.derive(PUSH_PURPOSE, id.0))
    }

    async fn store_by_push_secret(&self, secret: &str) -> Result<Option<StoreRecord>, DbError> {
        // A seller has a handful of stores: deriving each one's secret costs microseconds, and
        // every byte is compared whatever the first mismatch, so timing tells nothing.
        let secret = secret.as_bytes();
        Ok(self.stores().await?.into_iter().find(|store| {
            let expected = self.cipher.derive(PUSH_PURPOSE, store.id.0);
            expected.len() == secret.len()
                && expected
                    .bytes()
                    .zip(secret)
                    .fold(0u8, |diff, (a, b)| diff | (a ^ b))
                    == 0
        }))
    }
}
