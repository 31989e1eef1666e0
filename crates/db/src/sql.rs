//! [`SqlDatabase`]: the database on SQLite or PostgreSQL through sqlx, with one code path, and
//! what every capability's SQL shares: the pool, the `on_db!` macro, multi-row upserts and the
//! event insert, the migrations.
//!
//! Each query is written once in the SQL both engines share (`$n` placeholders, `ON CONFLICT`,
//! `RETURNING`) and expanded for both pool types by `on_db!`; only the claim query differs,
//! because only PostgreSQL has `FOR UPDATE SKIP LOCKED`. Times are always bound from Rust,
//! never read from the database's own clock.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use ozontrack_domain::{OzonStatus, TrackingEvent};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{ConnectOptions as _, Connection as _, Postgres, Sqlite, Transaction};

use crate::{Backend, Cipher, DatabaseUrl, DbError};

pub(crate) static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
pub(crate) static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// Expands one query body for each backend's pool type; the body is type-checked twice.
macro_rules! on_db {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db {
            Db::Sqlite($pool) => $body,
            Db::Postgres($pool) => $body,
        }
    };
}

// Statements that read or update a batch of rows (a sync's page, a tracking round's legs: their
// `IN` lists and `UPDATE … FROM (VALUES …)`) are built with `.persistent(false)`: planned at each
// execution with the batch's values. A prepared statement may get one generic plan from
// PostgreSQL, chosen while the tables were small (a first sync starts on empty ones): a
// sequential scan that is kept until the next ANALYZE. With autovacuum off, 20 stores synced by
// three processes slowed from 15 s to 54 s a store as the tables grew. Plain inserts stay
// prepared (no scan to go wrong; parsing a 1 000-row insert again each time cost the event
// ingest 40 %), and so do keyed reads (the API's): their plan is an index lookup at any size,
// and planning them each time cost a single-posting request a third of its time. Planning each
// time is not enough while a table has no statistics at all (never analysed): a sync's page then
// runs in a transaction without sequential scans (`begin_keyed_write`).

/// Rows per multi-row statement. SQLite takes at most 32 766 bound values and PostgreSQL
/// 65 535; a posting binds 30, a leg 7, an event 18, a leg's status 5.
pub(crate) const ROWS_PER_STATEMENT: usize = 1000;
pub(crate) const POSTINGS_PER_STATEMENT: usize = 400;

/// Every column of a posting, in the order [`upsert_postings!`] binds them; on conflict the row
/// takes the new values, except a delivery time or a promise the new one lacks (Ozon no longer
/// repeats it, or a report without it is imported).
pub(crate) const INSERT_POSTINGS: &str = "INSERT INTO postings (store_id, posting_number, order_number, \
     order_id, scheme, status, substatus, delivery_method_id, delivery_method_name, \
     tpl_provider_id, tpl_provider, warehouse_id, warehouse_name, tracking_number, \
     in_process_at, ship_by, delivering_at, delivered_at, promised_from, promised_to, buyer_city, \
     buyer_region, buyer_lat, buyer_lon, total_minor, total_currency, chat_allowed, created_at, \
     updated_at, observed_at) ";
pub(crate) const ON_POSTING_CONFLICT: &str = " ON CONFLICT (store_id, posting_number) DO UPDATE SET \
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
     promised_from = COALESCE(excluded.promised_from, postings.promised_from), \
     promised_to = COALESCE(excluded.promised_to, postings.promised_to), \
     buyer_city = excluded.buyer_city, buyer_region = excluded.buyer_region, \
     buyer_lat = excluded.buyer_lat, buyer_lon = excluded.buyer_lon, \
     total_minor = excluded.total_minor, total_currency = excluded.total_currency, \
     chat_allowed = excluded.chat_allowed, updated_at = excluded.updated_at, \
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
        let now: chrono::DateTime<chrono::Utc> = $now;
        let mut ids: Vec<(i64, i64, String)> = Vec::new();
        for chunk in $postings.chunks($crate::sql::POSTINGS_PER_STATEMENT) {
            let mut query = sqlx::QueryBuilder::new($crate::sql::INSERT_POSTINGS);
            query.push_values(
                chunk,
                |mut row,
                 (p, observed): &(
                    ozontrack_domain::Posting,
                    Option<chrono::DateTime<chrono::Utc>>,
                )| {
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
                        .push_bind(p.promised.map(|w| w.from))
                        .push_bind(p.promised.map(|w| w.to))
                        .push_bind(p.buyer_city.as_deref())
                        .push_bind(p.buyer_region.as_deref())
                        .push_bind(p.buyer_point.map(ozontrack_domain::GeoPoint::lat))
                        .push_bind(p.buyer_point.map(ozontrack_domain::GeoPoint::lon))
                        .push_bind(p.total.map(|m| m.minor))
                        .push_bind(p.total.map(|m| m.currency.code()))
                        .push_bind(p.chat_allowed)
                        .push_bind(now)
                        .push_bind(now)
                        .push_bind(*observed);
                },
            );
            query.push($crate::sql::ON_POSTING_CONFLICT);
            let rows = query
                .build_query_as::<(i64, i64, String)>()
                .fetch_all($exec)
                .await?;
            ids.extend(rows);
        }
        ids
    }};
}

/// A leg for [`upsert_legs!`]: `(posting_id, leg, next_check_at, first event)`.
pub(crate) type NewLeg<'a> = (
    i64,
    &'a ozontrack_domain::Leg,
    Option<chrono::DateTime<chrono::Utc>>,
    Option<&'a ozontrack_domain::TrackingEvent>,
);

/// Upserts legs given as [`NewLeg`]s in multi-row statements and evaluates to their `(id,
/// posting_id, carrier, tracking_number)` rows, in no particular order. An existing leg keeps
/// its schedule and status; a new one starts with the status of the event given with it (the
/// caller inserts that event after, with the leg's id, at the same `now`), so that
/// [`insert_events!`] finds nothing to change: on PostgreSQL an update of a leg rewrites every
/// one of its index entries (`updated_at` is indexed). The legs must be distinct.
macro_rules! upsert_legs {
    ($exec:expr, $legs:expr, $now:expr) => {{
        let now: chrono::DateTime<chrono::Utc> = $now;
        let mut ids: Vec<(i64, i64, String, String)> = Vec::new();
        for chunk in $legs.chunks($crate::sql::ROWS_PER_STATEMENT) {
            let mut query = sqlx::QueryBuilder::new(
                "INSERT INTO legs (posting_id, carrier, tracking_number, role, created_at, \
                 updated_at, next_check_at, status_main, status_sub, status_raw, last_event_at) ",
            );
            query.push_values(
                chunk,
                |mut row, (posting, leg, due, first): &$crate::sql::NewLeg<'_>| {
                    row.push_bind(*posting)
                        .push_bind(leg.carrier.as_str())
                        .push_bind(leg.tracking_number.as_str())
                        .push_bind(leg.role.as_str())
                        .push_bind(now)
                        .push_bind(now)
                        .push_bind(*due)
                        .push_bind(first.map(|e| e.status.main.as_str()))
                        .push_bind(first.map(|e| e.status.sub.code()))
                        .push_bind(first.and_then(|e| $crate::sql::unknown_sub(e)))
                        .push_bind(first.map(|e| e.occurred_at));
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
pub(crate) const EVENT_COLUMNS: &str = "(leg_id, occurred_at, received_at, status_main, status_sub, \
     status_raw, raw_code, raw_text, location_text, city, country, lat, lon, source, \
     fingerprint, payload_digest, handover, recipient)";

/// Appends `VALUES (…), (…)` for `(leg_id, &TrackingEvent)` rows to an insert query.
macro_rules! push_event_rows {
    ($query:expr, $rows:expr, $received_at:expr) => {
        $query.push_values(
            $rows,
            |mut row, (leg, e): &(i64, &ozontrack_domain::TrackingEvent)| {
                row.push_bind(*leg)
                    .push_bind(e.occurred_at)
                    .push_bind($received_at)
                    .push_bind(e.status.main.as_str())
                    .push_bind(e.status.sub.code())
                    .push_bind($crate::sql::unknown_sub(e))
                    .push_bind(e.raw_code.as_str())
                    .push_bind(e.raw_text.as_str())
                    .push_bind(e.location.text.as_deref())
                    .push_bind(e.location.city.as_deref())
                    .push_bind(e.location.country.as_deref())
                    .push_bind(e.location.point.map(ozontrack_domain::GeoPoint::lat))
                    .push_bind(e.location.point.map(ozontrack_domain::GeoPoint::lon))
                    .push_bind(e.source.as_str())
                    .push_bind(e.fingerprint.as_str())
                    .push_bind(e.payload_digest.as_deref())
                    .push_bind(e.handover.as_ref().map(ozontrack_domain::Handover::as_str))
                    .push_bind(e.recipient.as_deref());
            },
        )
    };
}

/// Inserts events given as `(leg_id, &TrackingEvent)` unless their leg has their fingerprint,
/// then moves each leg's status and last-event time to its latest new event unless the leg
/// already has a later one (events arrive out of order; among events at the same time the
/// last given wins). Multi-row statements: one round trip per thousand events, not two per
/// event. Evaluates to the number of new events.
macro_rules! insert_events {
    ($exec:expr, $rows:expr, $received_at:expr) => {{
        let given: &[(i64, &ozontrack_domain::TrackingEvent)] = $rows;
        let received_at: chrono::DateTime<chrono::Utc> = $received_at;
        // Carriers send a leg's whole history on every check, so most events are known:
        // reading the legs' fingerprints is far cheaper than inserts that conflict.
        let mut known = $crate::sql::Fingerprints::default();
        let legs: std::collections::BTreeSet<i64> = given.iter().map(|(leg, _)| *leg).collect();
        let legs: Vec<i64> = legs.into_iter().collect();
        // A fingerprint covers the event's time, so only stored events at or after the
        // earliest given one can match: a round of new events reads nothing back.
        let earliest = given.iter().map(|(_, e)| e.occurred_at).min();
        for chunk in legs.chunks($crate::sql::ROWS_PER_STATEMENT) {
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
                .persistent(false)
                .fetch_all($exec)
                .await?;
            known.extend(rows);
        }
        let rows: Vec<(i64, &ozontrack_domain::TrackingEvent)> = given
            .iter()
            .filter(|(leg, e)| !known.has(*leg, e))
            .copied()
            .collect();
        let rows = rows.as_slice();
        let mut inserted = $crate::sql::Fingerprints::default();
        for chunk in rows.chunks($crate::sql::ROWS_PER_STATEMENT) {
            let mut query = sqlx::QueryBuilder::new(format!(
                "INSERT INTO events {} ",
                $crate::sql::EVENT_COLUMNS
            ));
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
        let latest = $crate::sql::latest_new_events(rows, &inserted);
        for chunk in latest.chunks($crate::sql::ROWS_PER_STATEMENT) {
            let mut query = sqlx::QueryBuilder::new(
                "UPDATE legs SET status_main = v.column2, \
                 status_sub = v.column3, status_raw = v.column4, last_event_at = v.column5, \
                 updated_at = ",
            );
            query.push_bind(received_at).push(" FROM (");
            // VALUES names its columns column1, column2… on both engines.
            query.push_values(
                chunk,
                |mut row, (leg, e): &(i64, &ozontrack_domain::TrackingEvent)| {
                    row.push_bind(*leg)
                        .push_bind(e.status.main.as_str())
                        .push_bind(e.status.sub.code())
                        .push_bind($crate::sql::unknown_sub(e))
                        .push_bind(e.occurred_at);
                },
            );
            // A leg this update would leave exactly as it is (a new leg, inserted in this
            // transaction with its first event's status) is not rewritten; any other leg is,
            // if only to move `updated_at`: the risk rounds look for legs changed since.
            query.push(
                ") AS v WHERE legs.id = v.column1 \
                 AND (legs.last_event_at IS NULL OR legs.last_event_at < v.column5 \
                      OR (legs.last_event_at = v.column5 \
                          AND (legs.status_main IS DISTINCT FROM v.column2 \
                               OR legs.status_sub IS DISTINCT FROM v.column3 \
                               OR legs.status_raw IS DISTINCT FROM v.column4 \
                               OR legs.updated_at <> ",
            );
            query.push_bind(received_at).push(")))");
            query.build().persistent(false).execute($exec).await?;
        }
        inserted.len
    }};
}

/// Fingerprints by leg, looked up without building a key per event.
#[derive(Debug, Default)]
pub(crate) struct Fingerprints {
    by_leg: std::collections::HashMap<i64, std::collections::HashSet<String>>,
    pub(crate) len: usize,
}

impl Fingerprints {
    pub(crate) fn extend(&mut self, rows: Vec<(i64, String)>) {
        for (leg, fingerprint) in rows {
            self.len += usize::from(self.by_leg.entry(leg).or_default().insert(fingerprint));
        }
    }

    pub(crate) fn has(&self, leg: i64, e: &TrackingEvent) -> bool {
        self.by_leg
            .get(&leg)
            .is_some_and(|set| set.contains(e.fingerprint.as_str()))
    }
}

/// The raw text of a status the crosswalk did not know, kept beside the `unknown` code.
pub(crate) fn unknown_sub(e: &TrackingEvent) -> Option<&str> {
    match &e.status.sub {
        ozontrack_domain::SubStatus::Unknown(raw) => Some(raw.as_str()),
        _ => None,
    }
}

/// Each leg's latest newly inserted event, the last given winning a tie, ordered by leg.
pub(crate) fn latest_new_events<'e>(
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

/// The `LIMIT` of a count capped at `at_most`: one row more, so that reaching it means "more
/// than `at_most`".
pub(crate) fn count_limit(at_most: u64) -> i64 {
    i64::try_from(at_most).unwrap_or(i64::MAX).saturating_add(1)
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

/// `$column BETWEEN low AND high AND $column IN (…)` over a batch of ids (an export's 2 000),
/// pushed onto `$query`. With the list alone PostgreSQL estimates a sizeable share of the table
/// and scans all of it in parallel (40 ms a query for `legs` at 200 000 postings, against 5 ms
/// through the index the range makes it take); SQLite keeps probing the list and filters by the
/// range.
macro_rules! push_batch {
    ($query:expr, $column:literal, $ids:expr) => {{
        let ids: &[i64] = $ids;
        let low = ids.iter().copied().min().unwrap_or_default();
        let high = ids.iter().copied().max().unwrap_or_default();
        $query
            .push(concat!(" ", $column, " BETWEEN "))
            .push_bind(low)
            .push(" AND ")
            .push_bind(high)
            .push(concat!(" AND ", $column));
        $crate::sql::IdList::push_ids(&mut $query, ids);
    }};
}

/// Membership in a batch of ids (an export's 2 000), each backend its own way: SQLite's
/// `IN (?, ?, …)`, PostgreSQL's `= ANY($1)` with one array. PostgreSQL plans a statement of 2 000
/// parameters anew at each execution and that planning cost more than the query (4.7 ms against
/// 0.65 ms for the array, `EXPLAIN ANALYZE` of a batch's legs at 200 000 postings).
pub(crate) trait IdList: sqlx::Database {
    fn push_ids(query: &mut sqlx::QueryBuilder<Self>, ids: &[i64]);
}

impl IdList for Sqlite {
    fn push_ids(query: &mut sqlx::QueryBuilder<Self>, ids: &[i64]) {
        push_in!(query, ids);
    }
}

impl IdList for Postgres {
    fn push_ids(query: &mut sqlx::QueryBuilder<Self>, ids: &[i64]) {
        query.push(" = ANY(").push_bind(ids.to_vec()).push(")");
    }
}

/// Locks, until the transaction through `$exec` ends, the postings of the legs `$legs` (ids)
/// that `$filter` (an SQL condition on `legs`) keeps; on PostgreSQL only, as SQLite lets one
/// writer in at a time already.
///
/// Why: a sync's page locks its postings by upserting them, then reads their legs' carriers and
/// upserts each leg under the carrier it read. Under read committed, a leg renamed between that
/// read and that upsert would be inserted again under its old carrier: a second leg of the same
/// number. So whoever renames a leg or adds one to a posting outside a page holds the posting
/// first, and waits for a page that holds it (see ARCHITECTURE, invariants).
macro_rules! hold_postings {
    ($db:expr, $exec:expr, $legs:expr, $filter:literal) => {{
        let legs: &[i64] = $legs;
        if matches!($db, $crate::sql::Db::Postgres(_)) {
            for chunk in legs.chunks($crate::sql::ROWS_PER_STATEMENT) {
                let mut query = sqlx::QueryBuilder::new(concat!(
                    "SELECT id FROM postings WHERE id IN (SELECT posting_id FROM legs WHERE ",
                    $filter,
                    " AND id"
                ));
                push_in!(query, chunk);
                // In id order, so that two holders of several cannot wait for each other (a
                // page holds its postings in Ozon's order: a deadlock with it is retried).
                query.push(") ORDER BY id FOR UPDATE");
                query.build().persistent(false).execute($exec).await?;
            }
        }
    }};
}

/// Expands `$body` with `$conn`, a connection of its own to the database at `$url` (a
/// [`DatabaseUrl`](crate::DatabaseUrl); read-only on SQLite when `$read_only`), closed
/// afterwards: for a database no pool has open (one a restore has just replaced).
macro_rules! on_url {
    ($url:expr, read_only = $read_only:expr, |$conn:ident| $body:expr) => {
        match $url {
            $crate::DatabaseUrl::Sqlite(path) => {
                let options = $crate::sql::sqlite_options(path).read_only($read_only);
                let mut $conn =
                    <sqlx::SqliteConnection as sqlx::Connection>::connect_with(&options).await?;
                let out = $body;
                sqlx::Connection::close($conn).await?;
                out
            }
            $crate::DatabaseUrl::Postgres(text) => {
                let options = $crate::sql::postgres_options(text)?;
                let mut $conn =
                    <sqlx::PgConnection as sqlx::Connection>::connect_with(&options).await?;
                let out = $body;
                sqlx::Connection::close($conn).await?;
                out
            }
        }
    };
}

#[derive(Debug, Clone)]
pub(crate) enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Starting a transaction that will write.
pub(crate) trait BeginWrite {
    type Db: sqlx::Database;
    async fn begin_write(&self) -> Result<Transaction<'static, Self::Db>, DbError>;

    /// A write transaction whose statements all find their rows by an index (a sync's page).
    /// On PostgreSQL it rules out sequential scans: planned without statistics (a table never
    /// analysed, or grown since during a first sync) an `IN` list of a hundred keys is taken
    /// for half the table, and each page read every leg.
    async fn begin_keyed_write(&self) -> Result<Transaction<'static, Self::Db>, DbError>;
}

/// How long SQLite waits for its write lock, and a writer for its turn to wait for it.
const SQLITE_BUSY: Duration = Duration::from_secs(10);

/// sqlx warns of every statement slower than a second, with its text. Some are slow by design:
/// the arrival model reads every delivered journey in one statement (3 s over a million
/// postings), before an export and whenever `serve` learns again, so on a large history each of
/// them printed a warning with a page of SQL that nothing was wrong about. They are logged at
/// `info` (`log.filter = "info"` shows every statement slower than a second).
const SLOW_STATEMENTS: (log::LevelFilter, Duration) =
    (log::LevelFilter::Info, Duration::from_secs(1));

/// A SQLite file's options as every connection of ozontrack starts from.
pub(crate) fn sqlite_options(path: &Path) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(path)
        .log_slow_statements(SLOW_STATEMENTS.0, SLOW_STATEMENTS.1)
}

/// A PostgreSQL URL's options as every connection of ozontrack starts from.
pub(crate) fn postgres_options(url: &str) -> Result<PgConnectOptions, DbError> {
    Ok(PgConnectOptions::from_str(url)?.log_slow_statements(SLOW_STATEMENTS.0, SLOW_STATEMENTS.1))
}

impl BeginWrite for SqlitePool {
    type Db = Sqlite;
    /// SQLite has one writer. `BEGIN IMMEDIATE` takes the write lock up front (waiting for it
    /// under the busy timeout), where a deferred transaction could fail on upgrading its lock.
    ///
    /// Only one connection of the process waits for the lock at a time: the others wait for
    /// their turn without a connection, so while another process holds the lock, reads
    /// (`/healthz`, the buyer page) still find free connections in the pool.
    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>, DbError> {
        let gate = write_gate(self);
        let _turn = tokio::time::timeout(SQLITE_BUSY, gate.lock())
            .await
            .map_err(|_| DbError::Locked(None))?;
        Ok(self.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// SQLite's planner, without statistics (ozontrack never runs `ANALYZE` on it), takes an
    /// index for an `IN` list: the same transaction.
    async fn begin_keyed_write(&self) -> Result<Transaction<'static, Sqlite>, DbError> {
        self.begin_write().await
    }
}

/// The gate of writers waiting for one SQLite file's lock, shared by every pool of the process
/// that opens it.
fn write_gate(pool: &SqlitePool) -> Arc<tokio::sync::Mutex<()>> {
    static GATES: LazyLock<std::sync::Mutex<HashMap<PathBuf, Arc<tokio::sync::Mutex<()>>>>> =
        LazyLock::new(Default::default);
    let file = pool.connect_options().get_filename().to_path_buf();
    // A poisoned map is still a map of gates.
    let mut gates = GATES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    Arc::clone(gates.entry(file).or_default())
}

impl BeginWrite for PgPool {
    type Db = Postgres;
    async fn begin_write(&self) -> Result<Transaction<'static, Postgres>, DbError> {
        Ok(self.begin().await?)
    }

    async fn begin_keyed_write(&self) -> Result<Transaction<'static, Postgres>, DbError> {
        Ok(self
            .begin_with("BEGIN; SET LOCAL enable_seqscan = off")
            .await?)
    }
}

/// Starting a transaction that only reads.
pub(crate) trait BeginRead {
    type Db: sqlx::Database;
    /// A read of one page of rows found through an index and cut by a `LIMIT` (an export's
    /// page). On PostgreSQL without parallel workers: once the tables were analysed the planner
    /// gathered an export's page from two workers, whose start-up cost more than the page.
    async fn begin_page_read(&self) -> Result<Transaction<'static, Self::Db>, DbError>;
}

impl BeginRead for SqlitePool {
    type Db = Sqlite;
    async fn begin_page_read(&self) -> Result<Transaction<'static, Sqlite>, DbError> {
        Ok(self.begin().await?)
    }
}

impl BeginRead for PgPool {
    type Db = Postgres;
    async fn begin_page_read(&self) -> Result<Transaction<'static, Postgres>, DbError> {
        Ok(self
            .begin_with("BEGIN; SET LOCAL max_parallel_workers_per_gather = 0")
            .await?)
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
pub struct SqlDatabase {
    pub(crate) db: Db,
    pub(crate) cipher: Cipher,
    /// Where it is, for the tools that copy it (`pg_dump`); its Debug hides a password.
    pub(crate) url: DatabaseUrl,
}

impl SqlDatabase {
    /// Opens the database (creating a SQLite file when there is none). Does not migrate.
    pub async fn connect(
        url: &DatabaseUrl,
        cipher: Cipher,
        settings: &PoolSettings,
    ) -> Result<Self, DbError> {
        let db = match url {
            DatabaseUrl::Sqlite(path) => {
                let options = sqlite_options(path)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(SQLITE_BUSY);
                let pool = SqlitePoolOptions::new()
                    .max_connections(settings.max_connections)
                    .acquire_timeout(settings.acquire_timeout)
                    .connect_with(options)
                    .await?;
                owner_only(path)?;
                Db::Sqlite(pool)
            }
            DatabaseUrl::Postgres(text) => {
                let options = postgres_options(text)?;
                // One direct connection first: a pool hides "connection refused" or "password
                // authentication failed" behind a timeout.
                PgConnection::connect_with(&options).await?.close().await?;
                // sqlx pings a connection when it hands it out and again when it takes it back.
                // The first ping is a round trip before every query (a keyed API read makes
                // six); the second already keeps a broken connection out of the pool. Without
                // the first, a connection that broke while idle (the server restarted) fails
                // its next query once: a worker repeats it at its next round, an API client
                // gets a 503 and asks again.
                let pool = PgPoolOptions::new()
                    .max_connections(settings.max_connections)
                    .acquire_timeout(settings.acquire_timeout)
                    .test_before_acquire(false)
                    .connect_with(options)
                    .await?;
                Db::Postgres(pool)
            }
        };
        Ok(Self {
            db,
            cipher,
            url: url.clone(),
        })
    }

    /// Brings PostgreSQL's planner statistics up to date (`ANALYZE`), as its autovacuum does
    /// after a bulk load when it runs: a benchmark that has just filled a database measures
    /// the plans a running server would have. SQLite plans without statistics and is left alone.
    pub async fn analyze(&self) -> Result<(), DbError> {
        if let Db::Postgres(pool) = &self.db {
            sqlx::query("ANALYZE").execute(pool).await?;
        }
        Ok(())
    }

    /// Closes every connection; pending work finishes first.
    pub async fn close(&self) {
        on_db!(&self.db, |pool| pool.close().await);
    }
}

/// Makes the SQLite file and its journal readable by the owner only: they hold sessions,
/// tokens' hashes, buyers' cities and encrypted keys. SQLite creates the `-wal` and `-shm` files
/// with the database file's permissions, and a file created before this release is narrowed too.
fn owner_only(path: &Path) -> Result<(), DbError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for suffix in ["", "-wal", "-shm"] {
            let mut name = path.as_os_str().to_owned();
            name.push(suffix);
            let file = Path::new(&name);
            match std::fs::metadata(file) {
                Ok(m) if m.permissions().mode() & 0o077 != 0 => {
                    std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600))
                        .map_err(|source| DbError::Permissions {
                            path: file.to_owned(),
                            source,
                        })?;
                }
                _ => {}
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// `('delivered', 'cancelled', …)`: Ozon's final statuses ([`OzonStatus::FINAL`]) as an SQL list,
/// for every filter of postings still in play. Built from the domain's one list, so SQL and the
/// rules cannot disagree about which postings are over.
pub(crate) fn final_statuses() -> &'static str {
    static LIST: LazyLock<String> = LazyLock::new(|| {
        let quoted: Vec<String> = OzonStatus::FINAL
            .iter()
            .map(|s| format!("'{}'", s.as_str()))
            .collect();
        format!("({})", quoted.join(", "))
    });
    &LIST
}

/// Runs `attempt` again, up to three times in all, when PostgreSQL rolled its transaction back
/// as a deadlock's victim (SQLSTATE 40P01): two writers that lock the same rows in different
/// orders (a sync's upsert of postings and a risk round's update of them) both succeed, one a
/// moment later. Any other outcome is returned as it is.
pub(crate) async fn retry_deadlocks<T, F, Fut>(mut attempt: F) -> Result<T, DbError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, DbError>>,
{
    let mut tries = 1;
    loop {
        match attempt().await {
            Err(DbError::Database(sqlx::Error::Database(e)))
                if tries < 3 && e.code().as_deref() == Some("40P01") =>
            {
                tracing::debug!(tries, "deadlock victim; running the transaction again");
                tries += 1;
            }
            outcome => return outcome,
        }
    }
}

pub(crate) fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(e) if e.is_unique_violation())
}

pub(crate) const LEG_COLUMNS: &str = "id, posting_id, carrier, tracking_number, role, status_main, status_sub, \
     status_raw, last_event_at, next_check_at, lease_owner, lease_until, created_at, \
     carrier_source, carrier_set_by, carrier_set_at, registered_at, pushed_at, checks, \
     parent_leg_id, checked_at, stopped_at";

impl crate::Database for SqlDatabase {
    fn backend(&self) -> Backend {
        match self.db {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    async fn migrate(&self) -> Result<(), DbError> {
        match &self.db {
            Db::Sqlite(pool) => SQLITE_MIGRATIONS.run(pool).await?,
            Db::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await?,
        }
        Ok(())
    }

    async fn advice(&self) -> Result<Vec<crate::Advice>, DbError> {
        let Db::Postgres(pool) = &self.db else {
            return Ok(Vec::new());
        };
        let (autovacuum, track_counts): (String, String) =
            sqlx::query_as("SELECT current_setting('autovacuum'), current_setting('track_counts')")
                .fetch_one(pool)
                .await?;
        let mut advice = Vec::new();
        if autovacuum != "on" || track_counts != "on" {
            advice.push(crate::Advice::AutovacuumOff);
        }
        Ok(advice)
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;
    use std::collections::BTreeSet;
    use std::error::Error;
    use std::path::Path;

    use super::retry_deadlocks;
    use crate::DbError;

    /// What PostgreSQL says to a deadlock's victim.
    #[derive(Debug)]
    struct Deadlock;

    impl std::fmt::Display for Deadlock {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("deadlock detected")
        }
    }

    impl Error for Deadlock {}

    impl sqlx::error::DatabaseError for Deadlock {
        fn message(&self) -> &str {
            "deadlock detected"
        }
        fn code(&self) -> Option<Cow<'_, str>> {
            Some(Cow::Borrowed("40P01"))
        }
        fn as_error(&self) -> &(dyn Error + Send + Sync + 'static) {
            self
        }
        fn as_error_mut(&mut self) -> &mut (dyn Error + Send + Sync + 'static) {
            self
        }
        fn into_error(self: Box<Self>) -> Box<dyn Error + Send + Sync + 'static> {
            self
        }
        fn kind(&self) -> sqlx::error::ErrorKind {
            sqlx::error::ErrorKind::Other
        }
    }

    fn deadlock() -> DbError {
        DbError::Database(sqlx::Error::Database(Box::new(Deadlock)))
    }

    #[tokio::test]
    async fn a_statement_slower_than_a_second_is_logged_as_information_not_as_a_warning() {
        use sqlx::Connection as _;
        let Some(pg) = ozontrack_testkit::postgres().await else {
            return;
        };
        let (_guard, logs) = ozontrack_testkit::logs::capture();
        let options = super::postgres_options(&pg.url).unwrap();
        let mut conn = sqlx::PgConnection::connect_with(&options).await.unwrap();
        sqlx::query("SELECT pg_sleep(1.1)")
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
        let said = logs.text();
        assert!(
            said.contains(" INFO sqlx::query: slow statement"),
            "the slow statement is still logged: {said}"
        );
        assert!(!said.contains("WARN"), "{said}");
    }

    #[tokio::test]
    async fn a_deadlock_victim_runs_again_up_to_three_times_and_other_errors_do_not() {
        let mut calls = 0;
        let done = retry_deadlocks(|| {
            calls += 1;
            let call = calls;
            async move { if call < 3 { Err(deadlock()) } else { Ok(call) } }
        })
        .await;
        assert_eq!(done.unwrap(), 3);

        let mut calls = 0;
        let given_up: Result<(), DbError> = retry_deadlocks(|| {
            calls += 1;
            async { Err(deadlock()) }
        })
        .await;
        assert!(given_up.is_err());
        assert_eq!(calls, 3);

        let mut calls = 0;
        let other: Result<(), DbError> = retry_deadlocks(|| {
            calls += 1;
            async { Err(DbError::PostingNotFound(7)) }
        })
        .await;
        assert!(matches!(other, Err(DbError::PostingNotFound(7))));
        assert_eq!(calls, 1);
    }

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
    fn the_sql_list_of_final_statuses_is_the_domains() {
        assert_eq!(
            super::final_statuses(),
            "('delivered', 'cancelled', 'cancelled_from_split_pending')"
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

    #[tokio::test]
    async fn a_keyed_write_on_postgresql_rules_out_sequential_scans_only_while_it_lasts() {
        use super::BeginWrite as _;
        let Some(pg) = ozontrack_testkit::postgres().await else {
            return;
        };
        // One connection, so that the reading after the commit is on the same session.
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .connect(&pg.url)
            .await
            .unwrap();
        let setting = "SELECT current_setting('enable_seqscan')";
        let mut tx = pool.begin_keyed_write().await.unwrap();
        let inside: String = sqlx::query_scalar(setting)
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let after: String = sqlx::query_scalar(setting).fetch_one(&pool).await.unwrap();
        assert_eq!((inside.as_str(), after.as_str()), ("off", "on"));
        pool.close().await;
    }
}
