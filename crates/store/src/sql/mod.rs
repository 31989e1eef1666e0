//! [`SqlStore`]: the [`Store`] trait on SQLite or PostgreSQL through sqlx, with one code path.
//!
//! Each query is written once in the SQL both engines share (`$n` placeholders, `ON CONFLICT`,
//! `RETURNING`) and expanded for both pool types by `on_db!`; only the claim query differs,
//! because only PostgreSQL has `FOR UPDATE SKIP LOCKED`. Times are always bound from Rust,
//! never read from the database's own clock.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use ozontrack_domain::{
    ClientId, Leg, Posting, PostingNumber, Scheme, StoreId, StoreName, SyncedPosting, TrackingEvent,
};
use secrecy::{ExposeSecret, SecretString};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, Connection as _, Postgres, Sqlite, Transaction};

use crate::records::{EventRow, LegRow, PostingRow, StoreRow};
use crate::{
    Backend, Cipher, DatabaseUrl, EventRecord, FeedHealth, FeedOutcome, Leasable, LeaseOwner,
    LegCheck, LegId, LegRecord, NewPush, NewStore, OzonCredentials, PageOutcome, PostingId,
    PostingRecord, PushRecord, ScanPlan, ScanProgress, ScanRecord, Store, StoreError, StoreRecord,
};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// Expands one query body for each backend's pool type; the body is type-checked twice.
macro_rules! on_db {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db {
            Db::Sqlite($pool) => $body,
            Db::Postgres($pool) => $body,
        }
    };
}

/// Rows per multi-row statement. SQLite takes at most 32 766 bound values and PostgreSQL
/// 65 535; a posting binds 27, a leg 7, an event 16, a leg's status 5.
const ROWS_PER_STATEMENT: usize = 1000;
const POSTINGS_PER_STATEMENT: usize = 400;

/// Every column of a posting, in the order [`upsert_postings!`] binds them; on conflict the row
/// takes the new values, except a delivery time Ozon no longer repeats.
const INSERT_POSTINGS: &str = "INSERT INTO postings (store_id, posting_number, order_number, \
     order_id, scheme, status, substatus, delivery_method_id, delivery_method_name, \
     tpl_provider_id, tpl_provider, warehouse_id, warehouse_name, tracking_number, \
     in_process_at, ship_by, delivering_at, delivered_at, buyer_city, buyer_region, buyer_lat, \
     buyer_lon, total_minor, total_currency, created_at, updated_at, observed_at) ";
const ON_POSTING_CONFLICT: &str = " ON CONFLICT (store_id, posting_number) DO UPDATE SET \
     order_id = excluded.order_id, scheme = excluded.scheme, \
     status = excluded.status, substatus = excluded.substatus, \
     delivery_method_id = excluded.delivery_method_id, \
     delivery_method_name = excluded.delivery_method_name, \
     tpl_provider_id = excluded.tpl_provider_id, tpl_provider = excluded.tpl_provider, \
     warehouse_id = excluded.warehouse_id, warehouse_name = excluded.warehouse_name, \
     tracking_number = excluded.tracking_number, \
     in_process_at = excluded.in_process_at, ship_by = excluded.ship_by, \
     delivering_at = excluded.delivering_at, \
     delivered_at = COALESCE(excluded.delivered_at, postings.delivered_at), \
     buyer_city = excluded.buyer_city, buyer_region = excluded.buyer_region, \
     buyer_lat = excluded.buyer_lat, buyer_lon = excluded.buyer_lon, \
     total_minor = excluded.total_minor, total_currency = excluded.total_currency, \
     updated_at = excluded.updated_at, \
     observed_at = COALESCE(excluded.observed_at, postings.observed_at) \
     WHERE excluded.observed_at IS NULL OR postings.observed_at IS NULL \
     OR postings.observed_at <= excluded.observed_at \
     RETURNING id, store_id, posting_number";

/// Upserts `(posting, observed_at)` pairs in multi-row statements through the executor `$exec`
/// and evaluates to their `(id, store_id, posting_number)` rows, in no particular order; a row
/// observed later than the given one is left alone and not returned. The postings must be
/// distinct by store and number: PostgreSQL refuses to update one row twice in a statement.
macro_rules! upsert_postings {
    ($exec:expr, $postings:expr, $now:expr) => {{
        let now: DateTime<Utc> = $now;
        let mut ids: Vec<(i64, i64, String)> = Vec::new();
        for chunk in $postings.chunks(POSTINGS_PER_STATEMENT) {
            let mut query = sqlx::QueryBuilder::new(INSERT_POSTINGS);
            query.push_values(
                chunk,
                |mut row, (p, observed): &(Posting, Option<DateTime<Utc>>)| {
                    let method = p.delivery_method.as_ref();
                    row.push_bind(p.store_id.0)
                        .push_bind(p.number.as_str())
                        .push_bind(p.number.order_number().as_str().to_owned())
                        .push_bind(p.order_id)
                        .push_bind(p.scheme.as_str())
                        .push_bind(p.status.as_str())
                        .push_bind(p.substatus.as_str())
                        .push_bind(method.map(|m| m.id))
                        .push_bind(method.map(|m| m.name.as_str()))
                        .push_bind(method.and_then(|m| m.tpl_provider_id))
                        .push_bind(method.and_then(|m| m.tpl_provider.as_deref()))
                        .push_bind(method.and_then(|m| m.warehouse_id))
                        .push_bind(method.and_then(|m| m.warehouse.as_deref()))
                        .push_bind(
                            p.tracking_number
                                .as_ref()
                                .map(ozontrack_domain::TrackingNumber::as_str),
                        )
                        .push_bind(p.in_process_at)
                        .push_bind(p.ship_by)
                        .push_bind(p.delivering_at)
                        .push_bind(p.delivered_at)
                        .push_bind(p.buyer_city.as_deref())
                        .push_bind(p.buyer_region.as_deref())
                        .push_bind(p.buyer_point.map(ozontrack_domain::GeoPoint::lat))
                        .push_bind(p.buyer_point.map(ozontrack_domain::GeoPoint::lon))
                        .push_bind(p.total.map(|m| m.minor))
                        .push_bind(p.total.map(|m| m.currency.code()))
                        .push_bind(now)
                        .push_bind(now)
                        .push_bind(*observed);
                },
            );
            query.push(ON_POSTING_CONFLICT);
            let rows = query
                .build_query_as::<(i64, i64, String)>()
                .fetch_all($exec)
                .await?;
            ids.extend(rows);
        }
        ids
    }};
}

/// Upserts legs given as `(posting_id, &Leg, next_check_at)` in multi-row statements and
/// evaluates to their `(id, posting_id, carrier, tracking_number)` rows, in no particular
/// order. An existing leg keeps its schedule; the legs must be distinct.
macro_rules! upsert_legs {
    ($exec:expr, $legs:expr, $now:expr) => {{
        let now: DateTime<Utc> = $now;
        let mut ids: Vec<(i64, i64, String, String)> = Vec::new();
        for chunk in $legs.chunks(ROWS_PER_STATEMENT) {
            let mut query = sqlx::QueryBuilder::new(
                "INSERT INTO legs (posting_id, carrier, tracking_number, role, created_at, \
                 updated_at, next_check_at) ",
            );
            query.push_values(
                chunk,
                |mut row, (posting, leg, due): &(i64, &Leg, Option<DateTime<Utc>>)| {
                    row.push_bind(*posting)
                        .push_bind(leg.carrier.as_str())
                        .push_bind(leg.tracking_number.as_str())
                        .push_bind(leg.role.as_str())
                        .push_bind(now)
                        .push_bind(now)
                        .push_bind(*due);
                },
            );
            query.push(
                " ON CONFLICT (posting_id, carrier, tracking_number) DO UPDATE SET \
                 role = excluded.role, updated_at = excluded.updated_at \
                 RETURNING id, posting_id, carrier, tracking_number",
            );
            let rows = query
                .build_query_as::<(i64, i64, String, String)>()
                .fetch_all($exec)
                .await?;
            ids.extend(rows);
        }
        ids
    }};
}

/// The columns of an event row, in the order [`push_event_rows!`] binds them.
const EVENT_COLUMNS: &str = "(leg_id, occurred_at, received_at, status_main, status_sub, \
     status_raw, raw_code, raw_text, location_text, city, country, lat, lon, source, \
     fingerprint, payload_digest)";

/// Appends `VALUES (…), (…)` for `(leg_id, &TrackingEvent)` rows to an insert query.
macro_rules! push_event_rows {
    ($query:expr, $rows:expr, $received_at:expr) => {
        $query.push_values($rows, |mut row, (leg, e): &(i64, &TrackingEvent)| {
            row.push_bind(*leg)
                .push_bind(e.occurred_at)
                .push_bind($received_at)
                .push_bind(e.status.main.as_str())
                .push_bind(e.status.sub.code())
                .push_bind(unknown_sub(e))
                .push_bind(e.raw_code.as_str())
                .push_bind(e.raw_text.as_str())
                .push_bind(e.location.text.as_deref())
                .push_bind(e.location.city.as_deref())
                .push_bind(e.location.country.as_deref())
                .push_bind(e.location.point.map(ozontrack_domain::GeoPoint::lat))
                .push_bind(e.location.point.map(ozontrack_domain::GeoPoint::lon))
                .push_bind(e.source.as_str())
                .push_bind(e.fingerprint.as_str())
                .push_bind(e.payload_digest.as_deref());
        })
    };
}

/// Inserts events given as `(leg_id, &TrackingEvent)` unless their leg has their fingerprint,
/// then moves each leg's status and last-event time to its latest new event unless the leg
/// already has a later one (events arrive out of order; among events at the same time the
/// last given wins). Multi-row statements: one round trip per thousand events, not two per
/// event. Evaluates to the number of new events.
macro_rules! insert_events {
    ($exec:expr, $rows:expr, $received_at:expr) => {{
        let given: &[(i64, &TrackingEvent)] = $rows;
        let received_at: DateTime<Utc> = $received_at;
        // Carriers send a leg's whole history on every check, so most events are known:
        // reading the legs' fingerprints is far cheaper than inserts that conflict.
        let mut known = crate::sql::Fingerprints::default();
        let legs: std::collections::BTreeSet<i64> = given.iter().map(|(leg, _)| *leg).collect();
        let legs: Vec<i64> = legs.into_iter().collect();
        // A fingerprint covers the event's time, so only stored events at or after the
        // earliest given one can match: a round of new events reads nothing back.
        let earliest = given.iter().map(|(_, e)| e.occurred_at).min();
        for chunk in legs.chunks(ROWS_PER_STATEMENT) {
            let Some(earliest) = earliest else { break };
            let mut query = sqlx::QueryBuilder::new(
                "SELECT leg_id, fingerprint FROM events WHERE occurred_at >= ",
            );
            query.push_bind(earliest).push(" AND leg_id IN (");
            let mut list = query.separated(", ");
            for leg in chunk {
                list.push_bind(*leg);
            }
            query.push(")");
            let rows = query
                .build_query_as::<(i64, String)>()
                .fetch_all($exec)
                .await?;
            known.extend(rows);
        }
        let rows: Vec<(i64, &TrackingEvent)> = given
            .iter()
            .filter(|(leg, e)| !known.has(*leg, e))
            .copied()
            .collect();
        let rows = rows.as_slice();
        let mut inserted = crate::sql::Fingerprints::default();
        for chunk in rows.chunks(ROWS_PER_STATEMENT) {
            let mut query = sqlx::QueryBuilder::new(format!("INSERT INTO events {EVENT_COLUMNS} "));
            push_event_rows!(query, chunk, received_at);
            // Only inserted rows are returned: a known fingerprint is skipped silently.
            query.push(
                " ON CONFLICT (leg_id, fingerprint) DO NOTHING RETURNING leg_id, fingerprint",
            );
            let rows = query
                .build_query_as::<(i64, String)>()
                .fetch_all($exec)
                .await?;
            inserted.extend(rows);
        }
        let latest = latest_new_events(rows, &inserted);
        for chunk in latest.chunks(ROWS_PER_STATEMENT) {
            let mut query = sqlx::QueryBuilder::new(
                "UPDATE legs SET status_main = v.column2, \
                 status_sub = v.column3, status_raw = v.column4, last_event_at = v.column5, \
                 updated_at = ",
            );
            query.push_bind(received_at).push(" FROM (");
            // VALUES names its columns column1, column2… on both engines.
            query.push_values(chunk, |mut row, (leg, e): &(i64, &TrackingEvent)| {
                row.push_bind(*leg)
                    .push_bind(e.status.main.as_str())
                    .push_bind(e.status.sub.code())
                    .push_bind(unknown_sub(e))
                    .push_bind(e.occurred_at);
            });
            query.push(
                ") AS v WHERE legs.id = v.column1 \
                 AND (legs.last_event_at IS NULL OR legs.last_event_at <= v.column5)",
            );
            query.build().execute($exec).await?;
        }
        inserted.len
    }};
}

/// Fingerprints by leg, looked up without building a key per event.
#[derive(Debug, Default)]
pub(super) struct Fingerprints {
    by_leg: std::collections::HashMap<i64, std::collections::HashSet<String>>,
    len: usize,
}

impl Fingerprints {
    fn extend(&mut self, rows: Vec<(i64, String)>) {
        for (leg, fingerprint) in rows {
            self.len += usize::from(self.by_leg.entry(leg).or_default().insert(fingerprint));
        }
    }

    fn has(&self, leg: i64, e: &TrackingEvent) -> bool {
        self.by_leg
            .get(&leg)
            .is_some_and(|set| set.contains(e.fingerprint.as_str()))
    }
}

/// The raw text of a status the crosswalk did not know, kept beside the `unknown` code.
fn unknown_sub(e: &TrackingEvent) -> Option<&str> {
    match &e.status.sub {
        ozontrack_domain::SubStatus::Unknown(raw) => Some(raw.as_str()),
        _ => None,
    }
}

/// Each leg's latest newly inserted event, the last given winning a tie, ordered by leg.
fn latest_new_events<'e>(
    rows: &[(i64, &'e TrackingEvent)],
    inserted: &Fingerprints,
) -> Vec<(i64, &'e TrackingEvent)> {
    let mut latest: std::collections::BTreeMap<i64, &TrackingEvent> =
        std::collections::BTreeMap::new();
    for &(leg, e) in rows {
        if !inserted.has(leg, e) {
            continue;
        }
        latest
            .entry(leg)
            .and_modify(|current| {
                if e.occurred_at >= current.occurred_at {
                    *current = e;
                }
            })
            .or_insert(e);
    }
    latest.into_iter().collect()
}

/// `IN (…)` over the ids, pushed onto `$query`.
macro_rules! push_in {
    ($query:expr, $ids:expr) => {{
        $query.push(" IN (");
        let mut list = $query.separated(", ");
        for id in $ids {
            list.push_bind(*id);
        }
        $query.push(")");
    }};
}

mod alerts;
mod api;
mod dashboard;
mod sync;
mod tracking;

#[derive(Debug, Clone)]
enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Starting a transaction that will write.
trait BeginWrite {
    type Db: sqlx::Database;
    async fn begin_write(&self) -> Result<Transaction<'static, Self::Db>, sqlx::Error>;
}

impl BeginWrite for SqlitePool {
    type Db = Sqlite;
    /// SQLite has one writer. `BEGIN IMMEDIATE` takes the write lock up front (waiting for it
    /// under the busy timeout), where a deferred transaction could fail on upgrading its lock.
    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
        self.begin_with("BEGIN IMMEDIATE").await
    }
}

impl BeginWrite for PgPool {
    type Db = Postgres;
    async fn begin_write(&self) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        self.begin().await
    }
}

/// Connection pool sizing.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(10),
        }
    }
}

/// The store on SQLite or PostgreSQL, chosen by URL at runtime.
#[derive(Debug, Clone)]
pub struct SqlStore {
    db: Db,
    cipher: Cipher,
}

impl SqlStore {
    /// Opens the database (creating a SQLite file when there is none). Does not migrate.
    pub async fn connect(
        url: &DatabaseUrl,
        cipher: Cipher,
        settings: &PoolSettings,
    ) -> Result<Self, StoreError> {
        let db = match url {
            DatabaseUrl::Sqlite(path) => {
                let options = SqliteConnectOptions::new()
                    .filename(path)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(10));
                let pool = SqlitePoolOptions::new()
                    .max_connections(settings.max_connections)
                    .acquire_timeout(settings.acquire_timeout)
                    .connect_with(options)
                    .await?;
                Db::Sqlite(pool)
            }
            DatabaseUrl::Postgres(text) => {
                let options = PgConnectOptions::from_str(text)?;
                // One direct connection first: a pool hides "connection refused" or "password
                // authentication failed" behind a timeout.
                PgConnection::connect_with(&options).await?.close().await?;
                let pool = PgPoolOptions::new()
                    .max_connections(settings.max_connections)
                    .acquire_timeout(settings.acquire_timeout)
                    .connect_with(options)
                    .await?;
                Db::Postgres(pool)
            }
        };
        Ok(Self { db, cipher })
    }

    /// Closes every connection; pending work finishes first.
    pub async fn close(&self) {
        on_db!(&self.db, |pool| pool.close().await);
    }
}

fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(e) if e.is_unique_violation())
}

fn context_of(client_id: ClientId) -> Vec<u8> {
    client_id.to_string().into_bytes()
}

const STORE_COLUMNS: &str = "id, name, client_id, ozon_base_url, timezone, language, created_at, \
     next_check_at, synced_until";
const LEG_COLUMNS: &str = "id, posting_id, carrier, tracking_number, role, status_main, status_sub, \
     status_raw, last_event_at, next_check_at, lease_owner, lease_until, created_at, \
     carrier_source, carrier_set_by, carrier_set_at, registered_at, pushed_at, checks, \
     parent_leg_id, checked_at";

impl Store for SqlStore {
    fn backend(&self) -> Backend {
        match self.db {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        match &self.db {
            Db::Sqlite(pool) => SQLITE_MIGRATIONS.run(pool).await?,
            Db::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await?,
        }
        Ok(())
    }

    async fn add_store(
        &self,
        store: NewStore,
        now: DateTime<Utc>,
    ) -> Result<StoreRecord, StoreError> {
        let sealed = self.cipher.encrypt(
            store.api_key.expose_secret().as_bytes(),
            &context_of(store.client_id),
        );
        // Client-Ids are far below i64::MAX; the cast cannot wrap for a real id.
        #[allow(clippy::cast_possible_wrap)]
        let client_id = store.client_id.get() as i64;
        let sql = "INSERT INTO stores (name, client_id, api_key_enc, ozon_base_url, timezone, \
                   language, created_at, updated_at, next_check_at, push_secret) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $7, $8) RETURNING id";
        let push_secret = crate::secrets::random_token();
        let inserted = on_db!(&self.db, |pool| {
            sqlx::query_scalar::<_, i64>(sql)
                .bind(store.name.as_str())
                .bind(client_id)
                .bind(&sealed)
                .bind(&store.ozon_base_url)
                .bind(&store.settings.timezone)
                .bind(store.settings.language.as_str())
                .bind(now)
                .bind(&push_secret)
                .fetch_one(pool)
                .await
        });
        let id = match inserted {
            Ok(id) => id,
            Err(e) if is_unique_violation(&e) => {
                return Err(StoreError::DuplicateStoreName(
                    store.name.as_str().to_owned(),
                ));
            }
            Err(e) => return Err(e.into()),
        };
        Ok(StoreRecord {
            id: StoreId(id),
            name: store.name,
            client_id: store.client_id,
            ozon_base_url: store.ozon_base_url,
            settings: store.settings,
            created_at: now,
            next_sync_at: Some(now),
            synced_until: None,
        })
    }

    async fn stores(&self) -> Result<Vec<StoreRecord>, StoreError> {
        let sql = AssertSqlSafe(format!("SELECT {STORE_COLUMNS} FROM stores ORDER BY name"));
        let rows = on_db!(&self.db, |pool| {
            sqlx::query_as::<_, StoreRow>(sql).fetch_all(pool).await?
        });
        rows.into_iter().map(StoreRecord::try_from).collect()
    }

    async fn store_by_name(&self, name: &StoreName) -> Result<Option<StoreRecord>, StoreError> {
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

    async fn store(&self, id: StoreId) -> Result<Option<StoreRecord>, StoreError> {
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
    ) -> Result<(), StoreError> {
        let sealed = self
            .cipher
            .encrypt(api_key.expose_secret().as_bytes(), &context_of(client_id));
        // Client-Ids are far below i64::MAX; the cast cannot wrap for a real id.
        #[allow(clippy::cast_possible_wrap)]
        let client = client_id.get() as i64;
        let sql = "UPDATE stores SET client_id = $1, api_key_enc = $2, ozon_base_url = $3, \
                   updated_at = $4 WHERE id = $5";
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
            return Err(StoreError::StoreNotFound(id));
        }
        Ok(())
    }

    async fn store_credentials(&self, id: StoreId) -> Result<OzonCredentials, StoreError> {
        let sql = "SELECT name, client_id, api_key_enc, ozon_base_url FROM stores WHERE id = $1";
        let row = on_db!(&self.db, |pool| {
            sqlx::query_as::<_, (String, i64, Vec<u8>, String)>(sql)
                .bind(id.0)
                .fetch_optional(pool)
                .await?
        });
        let (name, client_id, sealed, base_url) = row.ok_or(StoreError::StoreNotFound(id))?;
        let client_id =
            ClientId::parse(&client_id.to_string()).map_err(|e| StoreError::Corrupt {
                table: "stores",
                id: id.0,
                reason: e.to_string(),
            })?;
        let plain = self
            .cipher
            .decrypt(&sealed, &context_of(client_id))
            .ok_or_else(|| StoreError::Decrypt {
                store: name.clone(),
            })?;
        let api_key = String::from_utf8(plain).map_err(|_| StoreError::Decrypt { store: name })?;
        Ok(OzonCredentials {
            client_id,
            api_key: SecretString::from(api_key),
            base_url,
        })
    }

    async fn upsert_posting(
        &self,
        p: &Posting,
        now: DateTime<Utc>,
    ) -> Result<PostingId, StoreError> {
        let rows = on_db!(&self.db, |pool| upsert_postings!(
            pool,
            [(p.clone(), None)],
            now
        ));
        rows.first()
            .map(|(id, _, _)| PostingId(*id))
            .ok_or(StoreError::Corrupt {
                table: "postings",
                id: 0,
                reason: "an upsert returned no row".to_owned(),
            })
    }

    async fn posting(
        &self,
        store: StoreId,
        number: &PostingNumber,
    ) -> Result<Option<PostingRecord>, StoreError> {
        let sql = "SELECT * FROM postings WHERE store_id = $1 AND posting_number = $2";
        let row = on_db!(&self.db, |pool| {
            sqlx::query_as::<_, PostingRow>(sql)
                .bind(store.0)
                .bind(number.as_str())
                .fetch_optional(pool)
                .await?
        });
        row.map(PostingRecord::try_from).transpose()
    }

    async fn count_postings(&self, store: StoreId) -> Result<u64, StoreError> {
        let sql = "SELECT COUNT(*) FROM postings WHERE store_id = $1";
        let count = on_db!(&self.db, |pool| {
            sqlx::query_scalar::<_, i64>(sql)
                .bind(store.0)
                .fetch_one(pool)
                .await?
        });
        Ok(count.unsigned_abs())
    }

    async fn upsert_leg(
        &self,
        posting: PostingId,
        leg: &Leg,
        now: DateTime<Utc>,
    ) -> Result<LegId, StoreError> {
        let inserted = on_db!(&self.db, |pool| {
            let legs = [(posting.0, leg, Some(now))];
            let rows: Result<_, sqlx::Error> = async { Ok(upsert_legs!(pool, legs, now)) }.await;
            rows
        });
        match inserted {
            Ok(rows) => rows
                .first()
                .map(|(id, ..)| LegId(*id))
                .ok_or(StoreError::PostingNotFound(posting.0)),
            Err(sqlx::Error::Database(e)) if e.is_foreign_key_violation() => {
                Err(StoreError::PostingNotFound(posting.0))
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn legs(&self, posting: PostingId) -> Result<Vec<LegRecord>, StoreError> {
        let sql = AssertSqlSafe(format!(
            "SELECT {LEG_COLUMNS} FROM legs WHERE posting_id = $1 ORDER BY id"
        ));
        let rows = on_db!(&self.db, |pool| {
            sqlx::query_as::<_, LegRow>(sql)
                .bind(posting.0)
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(LegRecord::try_from).collect()
    }

    async fn leg(&self, id: LegId) -> Result<Option<LegRecord>, StoreError> {
        let sql = AssertSqlSafe(format!("SELECT {LEG_COLUMNS} FROM legs WHERE id = $1"));
        let row = on_db!(&self.db, |pool| {
            sqlx::query_as::<_, LegRow>(sql)
                .bind(id.0)
                .fetch_optional(pool)
                .await?
        });
        row.map(LegRecord::try_from).transpose()
    }

    async fn append_events(
        &self,
        leg: LegId,
        events: &[TrackingEvent],
        received_at: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        let new_events = on_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            let exists = sqlx::query_scalar::<_, i64>("SELECT id FROM legs WHERE id = $1")
                .bind(leg.0)
                .fetch_optional(&mut *tx)
                .await?;
            if exists.is_none() {
                return Err(StoreError::LegNotFound(leg.0));
            }
            let rows: Vec<(i64, &TrackingEvent)> = events.iter().map(|e| (leg.0, e)).collect();
            let new_events = insert_events!(&mut *tx, &rows, received_at);
            tx.commit().await?;
            new_events
        });
        Ok(new_events)
    }

    async fn events(&self, leg: LegId) -> Result<Vec<EventRecord>, StoreError> {
        let sql = "SELECT * FROM events WHERE leg_id = $1 ORDER BY occurred_at, id";
        let rows = on_db!(&self.db, |pool| {
            sqlx::query_as::<_, EventRow>(sql)
                .bind(leg.0)
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(EventRecord::try_from).collect()
    }

    async fn claim<K: Leasable>(
        &self,
        owner: &LeaseOwner,
        limit: u32,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<K>, StoreError> {
        let table = K::TABLE;
        let due = format!(
            "SELECT id FROM {table} WHERE next_check_at <= $3 \
             AND (lease_until IS NULL OR lease_until <= $3) \
             ORDER BY next_check_at, id LIMIT $4"
        );
        let ids: Vec<i64> = match &self.db {
            Db::Sqlite(pool) => {
                // One writer at a time: the select and the update cannot interleave with
                // another claimer's inside this IMMEDIATE transaction.
                let sql = AssertSqlSafe(format!(
                    "UPDATE {table} SET lease_owner = $1, lease_until = $2 \
                     WHERE id IN ({due}) RETURNING id"
                ));
                let mut tx = pool.begin_write().await?;
                let ids = sqlx::query_scalar::<_, i64>(sql)
                    .bind(owner.as_str())
                    .bind(until)
                    .bind(now)
                    .bind(i64::from(limit))
                    .fetch_all(&mut *tx)
                    .await?;
                tx.commit().await?;
                ids
            }
            Db::Postgres(pool) => {
                // Rows another claimer is locking are skipped, not waited for.
                let sql = AssertSqlSafe(format!(
                    "UPDATE {table} SET lease_owner = $1, lease_until = $2 \
                     WHERE id IN ({due} FOR UPDATE SKIP LOCKED) RETURNING id"
                ));
                sqlx::query_scalar::<_, i64>(sql)
                    .bind(owner.as_str())
                    .bind(until)
                    .bind(now)
                    .bind(i64::from(limit))
                    .fetch_all(pool)
                    .await?
            }
        };
        let mut ids = ids;
        ids.sort_unstable();
        Ok(ids.into_iter().map(K::from_row_id).collect())
    }

    async fn extend<K: Leasable>(
        &self,
        ids: &[K],
        owner: &LeaseOwner,
        until: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let sql = format!(
            "UPDATE {} SET lease_until = $1 WHERE id = $2 AND lease_owner = $3",
            K::TABLE
        );
        let extended = on_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            let mut extended = 0;
            for id in ids {
                let done = sqlx::query(AssertSqlSafe(sql.clone()))
                    .bind(until)
                    .bind(id.row_id())
                    .bind(owner.as_str())
                    .execute(&mut *tx)
                    .await?;
                extended += done.rows_affected();
            }
            tx.commit().await?;
            extended
        });
        Ok(extended)
    }

    async fn release<K: Leasable>(
        &self,
        id: K,
        owner: &LeaseOwner,
        next_check_at: Option<DateTime<Utc>>,
    ) -> Result<bool, StoreError> {
        let sql = AssertSqlSafe(format!(
            "UPDATE {} SET lease_owner = NULL, lease_until = NULL, next_check_at = $1 \
             WHERE id = $2 AND lease_owner = $3",
            K::TABLE
        ));
        let done = on_db!(&self.db, |pool| {
            sqlx::query(sql)
                .bind(next_check_at)
                .bind(id.row_id())
                .bind(owner.as_str())
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done == 1)
    }

    async fn schedule<K: Leasable>(
        &self,
        id: K,
        next_check_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        let sql = AssertSqlSafe(format!(
            "UPDATE {} SET next_check_at = $1 WHERE id = $2",
            K::TABLE
        ));
        on_db!(&self.db, |pool| {
            sqlx::query(sql)
                .bind(next_check_at)
                .bind(id.row_id())
                .execute(pool)
                .await?;
        });
        Ok(())
    }
    async fn lease<K: Leasable>(
        &self,
        id: K,
        owner: &LeaseOwner,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let sql = AssertSqlSafe(format!(
            "UPDATE {} SET lease_owner = $1, lease_until = $2 WHERE id = $3 \
             AND (lease_until IS NULL OR lease_until <= $4 OR lease_owner = $1)",
            K::TABLE
        ));
        let done = on_db!(&self.db, |pool| {
            sqlx::query(sql)
                .bind(owner.as_str())
                .bind(until)
                .bind(id.row_id())
                .bind(now)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done == 1)
    }

    async fn push_secret(&self, id: StoreId) -> Result<String, StoreError> {
        self.push_secret_impl(id).await
    }

    async fn store_by_push_secret(&self, secret: &str) -> Result<Option<StoreRecord>, StoreError> {
        self.store_by_push_secret_impl(secret).await
    }

    async fn scans(&self, store: StoreId) -> Result<Vec<ScanRecord>, StoreError> {
        self.scans_impl(store).await
    }

    async fn plan_scans(
        &self,
        store: StoreId,
        plan: &[ScanPlan],
        now: DateTime<Utc>,
    ) -> Result<Vec<ScanRecord>, StoreError> {
        self.plan_scans_impl(store, plan, now).await
    }

    async fn record_page(
        &self,
        postings: &[SyncedPosting],
        progress: Option<&ScanProgress>,
        now: DateTime<Utc>,
    ) -> Result<PageOutcome, StoreError> {
        self.record_page_impl(postings, progress, now).await
    }

    async fn finish_sync(
        &self,
        store: StoreId,
        watermark: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.finish_sync_impl(store, watermark).await
    }

    async fn active_postings(
        &self,
        store: StoreId,
        scheme: Scheme,
        delivered_since: DateTime<Utc>,
    ) -> Result<Vec<PostingNumber>, StoreError> {
        self.active_postings_impl(store, scheme, delivered_since)
            .await
    }

    async fn record_push(&self, push: &NewPush, now: DateTime<Utc>) -> Result<bool, StoreError> {
        self.record_push_impl(push, now).await
    }

    async fn pending_pushes(&self, limit: u32) -> Result<Vec<PushRecord>, StoreError> {
        self.pending_pushes_impl(limit).await
    }

    async fn legs_by_ids(&self, ids: &[LegId]) -> Result<Vec<LegRecord>, StoreError> {
        self.legs_by_ids_impl(ids).await
    }

    async fn legs_by_number(&self, number: &str) -> Result<Vec<LegRecord>, StoreError> {
        self.legs_by_number_impl(number).await
    }

    async fn posting_by_id(&self, id: PostingId) -> Result<Option<PostingRecord>, StoreError> {
        self.posting_by_id_impl(id).await
    }

    async fn record_checks(
        &self,
        checks: &[LegCheck],
        owner: &LeaseOwner,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        self.record_checks_impl(checks, owner, now).await
    }

    async fn add_hand_over(
        &self,
        parent: LegId,
        leg: &Leg,
        now: DateTime<Utc>,
    ) -> Result<(LegId, bool), StoreError> {
        self.add_hand_over_impl(parent, leg, now).await
    }

    async fn set_leg_carrier(
        &self,
        leg: LegId,
        carrier: &ozontrack_domain::CarrierCode,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.set_leg_carrier_impl(leg, carrier, by, now).await
    }

    async fn make_tracked_legs_due(
        &self,
        store: Option<StoreId>,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        self.make_tracked_legs_due_impl(store, now).await
    }

    async fn mark_pushed(&self, leg: LegId, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.mark_pushed_impl(leg, now).await
    }

    async fn record_feed(
        &self,
        outcome: &FeedOutcome<'_>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.record_feed_impl(outcome, now).await
    }

    async fn feed_health(&self) -> Result<Vec<FeedHealth>, StoreError> {
        self.feed_health_impl().await
    }

    async fn risk_candidates(
        &self,
        store: StoreId,
        changed_since: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<Vec<PostingId>, StoreError> {
        self.risk_candidates_impl(store, changed_since, now).await
    }

    async fn postings_with_events(
        &self,
        ids: &[PostingId],
    ) -> Result<Vec<crate::PostingWithEvents>, StoreError> {
        self.postings_with_events_impl(ids).await
    }

    async fn alert_views(
        &self,
        ids: &[PostingId],
    ) -> Result<Vec<(PostingId, ozontrack_domain::alert::AlertView)>, StoreError> {
        self.alert_views_impl(ids).await
    }

    async fn apply_risk(
        &self,
        outcomes: &[crate::RiskOutcome],
        now: DateTime<Utc>,
    ) -> Result<crate::RiskApplied, StoreError> {
        self.apply_risk_impl(outcomes, now).await
    }

    async fn risk_watermark(&self, store: StoreId) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.risk_watermark_impl(store).await
    }

    async fn set_risk_watermark(
        &self,
        store: StoreId,
        until: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.set_risk_watermark_impl(store, until).await
    }

    async fn alerts(
        &self,
        filter: &crate::AlertFilter,
    ) -> Result<Vec<crate::AlertRecord>, StoreError> {
        self.alerts_impl(filter).await
    }

    async fn alert_history(&self, id: i64) -> Result<Vec<crate::AlertHistoryEntry>, StoreError> {
        self.alert_history_impl(id).await
    }

    async fn acknowledge_alert(
        &self,
        id: i64,
        by: &str,
        note: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.close_alert_impl(
            id,
            ozontrack_domain::alert::AlertState::Acknowledged,
            by,
            note,
            now,
        )
        .await
    }

    async fn resolve_alert(
        &self,
        id: i64,
        by: &str,
        note: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.close_alert_impl(
            id,
            ozontrack_domain::alert::AlertState::Resolved,
            by,
            note,
            now,
        )
        .await
    }

    async fn penalties(
        &self,
        store: StoreId,
        since: DateTime<Utc>,
    ) -> Result<Vec<crate::PenaltyRecord>, StoreError> {
        self.penalties_impl(store, since).await
    }

    async fn gap_samples(&self, legs: u32) -> Result<Vec<crate::GapSample>, StoreError> {
        self.gap_samples_impl(legs).await
    }

    async fn create_token(
        &self,
        token: &crate::NewToken,
        now: DateTime<Utc>,
    ) -> Result<crate::TokenRecord, StoreError> {
        self.create_token_impl(token, now).await
    }

    async fn token_by_hash(&self, hash: &[u8]) -> Result<Option<crate::TokenRecord>, StoreError> {
        self.token_by_hash_impl(hash).await
    }

    async fn tokens(&self) -> Result<Vec<crate::TokenRecord>, StoreError> {
        self.tokens_impl().await
    }

    async fn revoke_token(&self, id: i64, now: DateTime<Utc>) -> Result<bool, StoreError> {
        self.revoke_token_impl(id, now).await
    }

    async fn postings_page(
        &self,
        query: &crate::PostingQuery,
    ) -> Result<Vec<crate::PostingSummary>, StoreError> {
        self.postings_page_impl(query).await
    }

    async fn carrier_stats(
        &self,
        stores: &[StoreId],
        since: DateTime<Utc>,
    ) -> Result<Vec<crate::CarrierStats>, StoreError> {
        self.carrier_stats_impl(stores, since).await
    }

    async fn lane_stats(
        &self,
        stores: &[StoreId],
        since: DateTime<Utc>,
    ) -> Result<Vec<crate::LaneStats>, StoreError> {
        self.lane_stats_impl(stores, since).await
    }

    async fn overview(&self, stores: &[StoreId]) -> Result<crate::Overview, StoreError> {
        self.overview_impl(stores).await
    }

    async fn queue_depths(&self, now: DateTime<Utc>) -> Result<crate::QueueDepths, StoreError> {
        self.queue_depths_impl(now).await
    }

    async fn set_dashboard_user(
        &self,
        name: &str,
        password_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.set_dashboard_user_impl(name, password_hash, now).await
    }

    async fn dashboard_password(&self, name: &str) -> Result<Option<String>, StoreError> {
        self.dashboard_password_impl(name).await
    }

    async fn create_session(
        &self,
        hash: &[u8],
        session: &crate::SessionRecord,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.create_session_impl(hash, session, now).await
    }

    async fn session(
        &self,
        hash: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Option<crate::SessionRecord>, StoreError> {
        self.session_impl(hash, now).await
    }

    async fn end_session(&self, hash: &[u8]) -> Result<(), StoreError> {
        self.end_session_impl(hash).await
    }

    async fn create_login_link(
        &self,
        hash: &[u8],
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.create_login_link_impl(hash, now, expires_at).await
    }

    async fn use_login_link(&self, hash: &[u8], now: DateTime<Utc>) -> Result<bool, StoreError> {
        self.use_login_link_impl(hash, now).await
    }

    async fn buyer_token(&self, posting: PostingId, candidate: &str) -> Result<String, StoreError> {
        self.buyer_token_impl(posting, candidate).await
    }

    async fn posting_by_buyer_token(&self, token: &str) -> Result<Option<PostingId>, StoreError> {
        self.posting_by_buyer_token_impl(token).await
    }

    async fn finish_push(
        &self,
        id: i64,
        error: Option<&str>,
        max_attempts: i64,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.finish_push_impl(id, error, max_attempts, now).await
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    fn names(backend: &str) -> BTreeSet<String> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(backend);
        std::fs::read_dir(&dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn both_backends_have_migrations_with_the_same_names() {
        let (sqlite, postgres) = (names("sqlite"), names("postgres"));
        assert!(!sqlite.is_empty());
        assert_eq!(
            sqlite, postgres,
            "migrations must come in pairs, one per backend"
        );
    }

    #[test]
    fn embedded_migrations_match_the_folders() {
        assert_eq!(
            super::SQLITE_MIGRATIONS.iter().count(),
            names("sqlite").len()
        );
        assert_eq!(
            super::POSTGRES_MIGRATIONS.iter().count(),
            names("postgres").len()
        );
    }
}
