//! Carrier tracking: legs (one carrier's part of a journey), their append-only events with the
//! time we received them, a round of checks stored in one transaction, hand-overs to a last-mile
//! leg, manual carrier choices, and each feed's health.

use std::future::Future;

use chrono::{DateTime, Utc};
use ozontrack_domain::{
    CarrierCode, CarrierSource, Leg, LegId, NormalizedStatus, PostingId, StoreId, TrackingEvent,
};
use sqlx::AssertSqlSafe;

use crate::DbError;
use crate::leases::LeaseOwner;
use crate::records::{EventRow, LegRow};
use crate::sql::{BeginWrite, Db, EVENT_COLUMNS, LEG_COLUMNS, ROWS_PER_STATEMENT, SqlDatabase};

/// A leg row, with what its events say so far and when it is next due.
#[derive(Debug, Clone, PartialEq)]
pub struct LegRecord {
    pub id: LegId,
    pub posting_id: PostingId,
    pub leg: Leg,
    /// The status of the latest event, `None` before the first one.
    pub status: Option<NormalizedStatus>,
    pub last_event_at: Option<DateTime<Utc>>,
    /// `None`: never due again (final, or tracking stopped).
    pub next_check_at: Option<DateTime<Utc>>,
    pub lease_owner: Option<LeaseOwner>,
    pub lease_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub carrier_source: CarrierSource,
    /// Who set the carrier by hand, and when.
    pub carrier_set_by: Option<String>,
    pub carrier_set_at: Option<DateTime<Utc>>,
    /// When the aggregator accepted the number.
    pub registered_at: Option<DateTime<Utc>>,
    /// When a webhook last brought news of the leg.
    pub pushed_at: Option<DateTime<Utc>>,
    /// Carrier lookups of the leg so far.
    pub checks: i64,
    /// The leg this one continues (a last-mile leg found through a hand-over).
    pub parent: Option<LegId>,
    /// When a check last read the leg's whole history from a carrier that could be reached.
    pub checked_at: Option<DateTime<Utc>>,
    /// When tracking was stopped at the aggregator (`stoptrack`), until it is restarted.
    pub stopped_at: Option<DateTime<Utc>>,
}

/// An event row: the event plus when we received it.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRecord {
    pub id: i64,
    pub leg_id: LegId,
    pub event: TrackingEvent,
    pub received_at: DateTime<Utc>,
}

/// What one check of a leg produced, stored in one go with the others of its round.
#[derive(Debug, Clone, PartialEq)]
pub struct LegCheck {
    pub leg: LegId,
    /// Everything the carrier showed; known fingerprints are skipped.
    pub events: Vec<TrackingEvent>,
    /// When the leg is next due (`None`: never).
    pub next_check_at: Option<DateTime<Utc>>,
    /// The aggregator has the number registered (set once, kept).
    pub registered: bool,
    /// The carrier the aggregator detected, applied only to a leg whose carrier was unknown.
    pub detected_carrier: Option<CarrierCode>,
    /// The answer was the carrier's whole, current history: the leg is known up to
    /// `answered_at`.
    pub fresh: bool,
    /// When the answer came in: a round that waited on a rate limit asked later than it began.
    pub answered_at: DateTime<Utc>,
}

/// A feed's (a carrier API's, or a carrier behind the aggregator's) recent health.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedHealth {
    /// `17track`, `russian_post`, `cdek`, or `17track:<carrier>` for a carrier the aggregator
    /// reported it could not reach.
    pub feed: String,
    pub ok_at: Option<DateTime<Utc>>,
    pub failed_at: Option<DateTime<Utc>>,
    /// Failures in a row since the last success.
    pub failures: i64,
    pub last_error: Option<String>,
    /// No calls to the feed before this time.
    pub backoff_until: Option<DateTime<Utc>>,
    /// Calls made so far.
    pub calls: i64,
}

impl FeedHealth {
    /// Whether the feed's latest outcome was a failure.
    pub fn is_failing(&self) -> bool {
        self.failures > 0
    }
}

/// One call's outcome for [`crate::Store::record_feed`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedOutcome<'a> {
    pub feed: &'a str,
    /// `None`: the call succeeded.
    pub error: Option<&'a str>,
    pub backoff_until: Option<DateTime<Utc>>,
    pub calls: i64,
}

/// Legs, their events and the feeds that read them.
pub trait Tracking: Clone + Send + Sync + 'static {
    /// Inserts a leg, due for its first check at `now`, or updates the role of the existing
    /// leg with the same (posting, carrier, tracking number).
    fn upsert_leg(
        &self,
        posting: PostingId,
        leg: &Leg,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<LegId, DbError>> + Send;

    fn legs(
        &self,
        posting: PostingId,
    ) -> impl Future<Output = Result<Vec<LegRecord>, DbError>> + Send;

    fn leg(&self, id: LegId) -> impl Future<Output = Result<Option<LegRecord>, DbError>> + Send;

    /// Legs by id, in id order; unknown ids are left out.
    fn legs_by_ids(
        &self,
        ids: &[LegId],
    ) -> impl Future<Output = Result<Vec<LegRecord>, DbError>> + Send;

    /// Every leg with this tracking number, in id order.
    fn legs_by_number(
        &self,
        number: &str,
    ) -> impl Future<Output = Result<Vec<LegRecord>, DbError>> + Send;

    /// Appends events to a leg, skipping any whose fingerprint the leg already has, and moves
    /// the leg's status to its latest event. Returns how many events were new.
    fn append_events(
        &self,
        leg: LegId,
        events: &[TrackingEvent],
        received_at: DateTime<Utc>,
    ) -> impl Future<Output = Result<usize, DbError>> + Send;

    /// A leg's events in the order they happened.
    fn events(&self, leg: LegId) -> impl Future<Output = Result<Vec<EventRecord>, DbError>> + Send;

    /// Stores one round of checks in one transaction: new events (moving each leg's status),
    /// each leg's next check, registration and detected carrier, and gives up `owner`'s
    /// leases on them. Returns how many events were new.
    fn record_checks(
        &self,
        checks: &[LegCheck],
        owner: &LeaseOwner,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<u64, DbError>> + Send;

    /// Adds (or finds) the leg a hand-over continues to, on `parent`'s posting, linked to
    /// `parent` and due at once. Returns the leg and whether the link is new.
    fn add_hand_over(
        &self,
        parent: LegId,
        leg: &Leg,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(LegId, bool), DbError>> + Send;

    /// Sets a leg's carrier by hand (`by`: who), makes it due at once, and keeps it from
    /// detection from then on.
    fn set_leg_carrier(
        &self,
        leg: LegId,
        carrier: &ozontrack_domain::CarrierCode,
        by: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), DbError>> + Send;

    /// Makes every leg still tracked (of one store, or all) due at `now`. Returns how many.
    fn make_tracked_legs_due(
        &self,
        store: Option<StoreId>,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<u64, DbError>> + Send;

    /// Up to `limit` legs registered at the aggregator that will never be due again (final, or
    /// given up on) and whose tracking there is not stopped yet, in id order.
    fn legs_to_stop(
        &self,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<LegRecord>, DbError>> + Send;

    /// Marks legs' tracking at the aggregator stopped at `at`, or restarted (`None`).
    fn mark_stopped(
        &self,
        legs: &[LegId],
        at: Option<DateTime<Utc>>,
    ) -> impl Future<Output = Result<(), DbError>> + Send;

    /// Notes that a webhook brought news of a leg.
    fn mark_pushed(
        &self,
        leg: LegId,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), DbError>> + Send;

    /// Records a call's outcome for a feed: a success clears its failures and backoff.
    fn record_feed(
        &self,
        outcome: &FeedOutcome<'_>,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), DbError>> + Send;

    /// Every feed's health, by name.
    fn feed_health(&self) -> impl Future<Output = Result<Vec<FeedHealth>, DbError>> + Send;
}

#[derive(sqlx::FromRow)]
struct FeedRow {
    feed: String,
    ok_at: Option<DateTime<Utc>>,
    failed_at: Option<DateTime<Utc>>,
    failures: i64,
    last_error: Option<String>,
    backoff_until: Option<DateTime<Utc>>,
    calls: i64,
}

/// A feed's health with its outage columns, for the notices about outages.
#[derive(sqlx::FromRow)]
pub(crate) struct FeedNewsRow {
    #[sqlx(flatten)]
    health: FeedRow,
    down_since: Option<DateTime<Utc>>,
    recovered_at: Option<DateTime<Utc>>,
    told_since: Option<DateTime<Utc>>,
}

impl From<FeedNewsRow> for crate::outbox::FeedNews {
    fn from(row: FeedNewsRow) -> Self {
        Self {
            health: row.health.into(),
            down_since: row.down_since,
            recovered_at: row.recovered_at,
            told_since: row.told_since,
        }
    }
}

impl From<FeedRow> for FeedHealth {
    fn from(row: FeedRow) -> Self {
        FeedHealth {
            feed: row.feed,
            ok_at: row.ok_at,
            failed_at: row.failed_at,
            failures: row.failures,
            last_error: row.last_error,
            backoff_until: row.backoff_until,
            calls: row.calls,
        }
    }
}

impl Tracking for SqlDatabase {
    async fn upsert_leg(
        &self,
        posting: PostingId,
        leg: &Leg,
        now: DateTime<Utc>,
    ) -> Result<LegId, DbError> {
        let inserted = on_db!(&self.db, |pool| {
            let legs = [(posting.0, leg, Some(now), None)];
            let rows: Result<_, sqlx::Error> = async { Ok(upsert_legs!(pool, legs, now)) }.await;
            rows
        });
        match inserted {
            Ok(rows) => rows
                .first()
                .map(|(id, ..)| LegId(*id))
                .ok_or(DbError::PostingNotFound(posting.0)),
            Err(sqlx::Error::Database(e)) if e.is_foreign_key_violation() => {
                Err(DbError::PostingNotFound(posting.0))
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn legs(&self, posting: PostingId) -> Result<Vec<LegRecord>, DbError> {
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

    async fn leg(&self, id: LegId) -> Result<Option<LegRecord>, DbError> {
        let sql = AssertSqlSafe(format!("SELECT {LEG_COLUMNS} FROM legs WHERE id = $1"));
        let row = on_db!(&self.db, |pool| {
            sqlx::query_as::<_, LegRow>(sql)
                .bind(id.0)
                .fetch_optional(pool)
                .await?
        });
        row.map(LegRecord::try_from).transpose()
    }

    async fn legs_by_ids(&self, ids: &[LegId]) -> Result<Vec<LegRecord>, DbError> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(ROWS_PER_STATEMENT) {
            let rows: Vec<LegRow> = on_db!(&self.db, |pool| {
                let mut query = sqlx::QueryBuilder::new(format!(
                    "SELECT {LEG_COLUMNS} FROM legs WHERE id IN ("
                ));
                let mut list = query.separated(", ");
                for id in chunk {
                    list.push_bind(id.0);
                }
                query.push(") ORDER BY id");
                query
                    .build_query_as::<LegRow>()
                    .persistent(false)
                    .fetch_all(pool)
                    .await?
            });
            for row in rows {
                out.push(LegRecord::try_from(row)?);
            }
        }
        Ok(out)
    }

    async fn legs_by_number(&self, number: &str) -> Result<Vec<LegRecord>, DbError> {
        let sql = AssertSqlSafe(format!(
            "SELECT {LEG_COLUMNS} FROM legs WHERE tracking_number = $1 ORDER BY id"
        ));
        let rows = on_db!(&self.db, |pool| {
            sqlx::query_as::<_, LegRow>(sql)
                .bind(number)
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(LegRecord::try_from).collect()
    }

    async fn append_events(
        &self,
        leg: LegId,
        events: &[TrackingEvent],
        received_at: DateTime<Utc>,
    ) -> Result<usize, DbError> {
        let new_events = on_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            let exists = sqlx::query_scalar::<_, i64>("SELECT id FROM legs WHERE id = $1")
                .bind(leg.0)
                .fetch_optional(&mut *tx)
                .await?;
            if exists.is_none() {
                return Err(DbError::LegNotFound(leg.0));
            }
            let rows: Vec<(i64, &TrackingEvent)> = events.iter().map(|e| (leg.0, e)).collect();
            let new_events = insert_events!(&mut *tx, &rows, received_at);
            tx.commit().await?;
            new_events
        });
        Ok(new_events)
    }

    async fn events(&self, leg: LegId) -> Result<Vec<EventRecord>, DbError> {
        let sql = "SELECT * FROM events WHERE leg_id = $1 ORDER BY occurred_at, id";
        let rows = on_db!(&self.db, |pool| {
            sqlx::query_as::<_, EventRow>(sql)
                .bind(leg.0)
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(EventRecord::try_from).collect()
    }

    async fn record_checks(
        &self,
        checks: &[LegCheck],
        owner: &LeaseOwner,
        now: DateTime<Utc>,
    ) -> Result<u64, DbError> {
        // The victim of a deadlock (PostgreSQL) is rolled back whole: run it again.
        crate::sql::retry_deadlocks(|| self.record_checks_once(checks, owner, now)).await
    }

    async fn add_hand_over(
        &self,
        parent: LegId,
        leg: &Leg,
        now: DateTime<Utc>,
    ) -> Result<(LegId, bool), DbError> {
        // A hand-over is reported again on every check after it: find the link in one read.
        let (posting, linked) = on_db!(&self.db, |pool| {
            sqlx::query_as::<_, (i64, Option<i64>)>(
                "SELECT p.posting_id, (SELECT c.id FROM legs c WHERE c.parent_leg_id = p.id \
                 AND c.tracking_number = $2 LIMIT 1) FROM legs p WHERE p.id = $1",
            )
            .bind(parent.0)
            .bind(leg.tracking_number.as_str())
            .fetch_optional(pool)
            .await?
        })
        .ok_or(DbError::LegNotFound(parent.0))?;
        if let Some(id) = linked {
            return Ok((LegId(id), false));
        }
        let id = on_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            hold_postings!(&self.db, &mut *tx, &[parent.0], "TRUE");
            // A leg with the number already (the sync may have found it first) is linked,
            // whatever carrier it was given.
            let existing = sqlx::query_scalar::<_, i64>(
                "SELECT id FROM legs WHERE posting_id = $1 AND tracking_number = $2 \
                 ORDER BY id LIMIT 1",
            )
            .bind(posting)
            .bind(leg.tracking_number.as_str())
            .fetch_optional(&mut *tx)
            .await?;
            let id = match existing {
                Some(id) => id,
                None => {
                    let legs = [(posting, leg, Some(now), None)];
                    upsert_legs!(&mut *tx, legs, now)
                        .first()
                        .map(|(id, ..)| *id)
                        .ok_or(DbError::PostingNotFound(posting))?
                }
            };
            let linked = sqlx::query(
                "UPDATE legs SET parent_leg_id = $1 WHERE id = $2 AND id <> $1 \
                 AND parent_leg_id IS NULL",
            )
            .bind(parent.0)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            tx.commit().await?;
            (id, linked == 1)
        });
        Ok((LegId(id.0), id.1))
    }

    async fn set_leg_carrier(
        &self,
        leg: LegId,
        carrier: &CarrierCode,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<(), DbError> {
        let sql = "UPDATE legs SET carrier = $1, carrier_source = 'manual', carrier_set_by = $2, \
                   carrier_set_at = $3, registered_at = NULL, next_check_at = $3, \
                   updated_at = $3 WHERE id = $4";
        let done = on_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            hold_postings!(&self.db, &mut *tx, &[leg.0], "TRUE");
            let done = sqlx::query(sql)
                .bind(carrier.as_str())
                .bind(by)
                .bind(now)
                .bind(leg.0)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            tx.commit().await?;
            done
        });
        if done == 0 {
            return Err(DbError::LegNotFound(leg.0));
        }
        Ok(())
    }

    async fn make_tracked_legs_due(
        &self,
        store: Option<ozontrack_domain::StoreId>,
        now: DateTime<Utc>,
    ) -> Result<u64, DbError> {
        let sql = "UPDATE legs SET next_check_at = $1 WHERE next_check_at > $1 \
                   AND ($2 IS NULL OR posting_id IN \
                   (SELECT id FROM postings WHERE store_id = $2))";
        let done = on_db!(&self.db, |pool| {
            sqlx::query(sql)
                .bind(now)
                .bind(store.map(|s| s.0))
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done)
    }

    async fn legs_to_stop(&self, limit: usize) -> Result<Vec<LegRecord>, DbError> {
        let sql = AssertSqlSafe(format!(
            "SELECT {LEG_COLUMNS} FROM legs WHERE registered_at IS NOT NULL \
             AND stopped_at IS NULL AND next_check_at IS NULL ORDER BY id LIMIT $1"
        ));
        let rows = on_db!(&self.db, |pool| {
            sqlx::query_as::<_, LegRow>(sql)
                .bind(i64::try_from(limit).unwrap_or(i64::MAX))
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(LegRecord::try_from).collect()
    }

    async fn mark_stopped(&self, legs: &[LegId], at: Option<DateTime<Utc>>) -> Result<(), DbError> {
        for chunk in legs.chunks(ROWS_PER_STATEMENT) {
            on_db!(&self.db, |pool| {
                let mut query = sqlx::QueryBuilder::new("UPDATE legs SET stopped_at = ");
                query.push_bind(at);
                query.push(" WHERE id IN (");
                let mut list = query.separated(", ");
                for id in chunk {
                    list.push_bind(id.0);
                }
                query.push(")");
                query.build().persistent(false).execute(pool).await?;
            });
        }
        Ok(())
    }

    async fn mark_pushed(&self, leg: LegId, now: DateTime<Utc>) -> Result<(), DbError> {
        on_db!(&self.db, |pool| {
            sqlx::query("UPDATE legs SET pushed_at = $1 WHERE id = $2")
                .bind(now)
                .bind(leg.0)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    async fn record_feed(
        &self,
        outcome: &FeedOutcome<'_>,
        now: DateTime<Utc>,
    ) -> Result<(), DbError> {
        // An outage begins at the first failure after a success and ends at the next success:
        // `down_since` and `recovered_at` keep the latest, for the notices about outages.
        let sql = "INSERT INTO feed_health (feed, ok_at, failed_at, failures, last_error, \
                   backoff_until, calls, down_since) VALUES ($1, $2, $3, $4, $5, $6, $7, $3) \
                   ON CONFLICT (feed) DO UPDATE SET \
                   ok_at = COALESCE(excluded.ok_at, feed_health.ok_at), \
                   failed_at = COALESCE(excluded.failed_at, feed_health.failed_at), \
                   failures = CASE WHEN excluded.failures = 0 THEN 0 \
                   ELSE feed_health.failures + 1 END, \
                   last_error = COALESCE(excluded.last_error, feed_health.last_error), \
                   backoff_until = excluded.backoff_until, \
                   calls = feed_health.calls + excluded.calls, \
                   down_since = CASE WHEN excluded.failures > 0 AND feed_health.failures = 0 \
                   THEN excluded.failed_at ELSE feed_health.down_since END, \
                   recovered_at = CASE WHEN excluded.failures = 0 AND feed_health.failures > 0 \
                   THEN excluded.ok_at ELSE feed_health.recovered_at END";
        let failed = outcome.error.is_some();
        on_db!(&self.db, |pool| {
            sqlx::query(sql)
                .bind(outcome.feed)
                .bind((!failed).then_some(now))
                .bind(failed.then_some(now))
                .bind(i64::from(failed))
                .bind(outcome.error)
                .bind(outcome.backoff_until)
                .bind(outcome.calls)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    async fn feed_health(&self) -> Result<Vec<FeedHealth>, DbError> {
        let rows = on_db!(&self.db, |pool| {
            sqlx::query_as::<_, FeedRow>("SELECT * FROM feed_health ORDER BY feed")
                .fetch_all(pool)
                .await?
        });
        Ok(rows.into_iter().map(FeedHealth::from).collect())
    }
}

impl SqlDatabase {
    /// One attempt of `record_checks`.
    async fn record_checks_once(
        &self,
        checks: &[LegCheck],
        owner: &LeaseOwner,
        now: DateTime<Utc>,
    ) -> Result<u64, DbError> {
        let events: Vec<(i64, &TrackingEvent)> = checks
            .iter()
            .flat_map(|c| c.events.iter().map(move |e| (c.leg.0, e)))
            .collect();
        // The legs an aggregator may name: their postings are held first, before any leg.
        let named: Vec<i64> = checks
            .iter()
            .filter(|c| c.detected_carrier.is_some())
            .map(|c| c.leg.0)
            .collect();
        let new = on_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            hold_postings!(&self.db, &mut *tx, &named, "carrier = 'unknown'");
            let new = insert_events!(&mut *tx, &events, now);
            for chunk in checks.chunks(ROWS_PER_STATEMENT) {
                // An aggregator's carrier replaces only "unknown", never a detected or manual
                // choice, and never onto a leg the posting already has under that carrier
                // (a database from before postings were held may have two): that would break
                // the round for good. The lease is given up only by its holder.
                let renamed = "v.column4 IS NOT NULL AND legs.carrier = 'unknown' \
                     AND legs.carrier_source = 'detected' AND NOT EXISTS (SELECT 1 FROM legs o \
                     WHERE o.posting_id = legs.posting_id AND o.carrier = v.column4 \
                     AND o.tracking_number = legs.tracking_number)";
                let mut query = sqlx::QueryBuilder::new(format!(
                    "UPDATE legs SET next_check_at = v.column2, lease_owner = NULL, \
                     lease_until = NULL, checks = legs.checks + 1, \
                     registered_at = CASE WHEN v.column3 = 1 \
                     THEN COALESCE(legs.registered_at, v.column5) ELSE legs.registered_at END, \
                     carrier = CASE WHEN {renamed} THEN v.column4 ELSE legs.carrier END, \
                     carrier_source = CASE WHEN {renamed} \
                     THEN 'aggregator' ELSE legs.carrier_source END, \
                     checked_at = CASE WHEN v.column6 = 1 THEN v.column7 \
                     ELSE legs.checked_at END, \
                     updated_at = v.column5 FROM ("
                ));
                query.push_values(chunk, |mut row, c: &LegCheck| {
                    row.push_bind(c.leg.0)
                        .push_bind(c.next_check_at)
                        .push_bind(i64::from(c.registered))
                        .push_bind(c.detected_carrier.as_ref().map(CarrierCode::as_str))
                        .push_bind(now)
                        .push_bind(i64::from(c.fresh))
                        .push_bind(c.answered_at);
                });
                query.push(") AS v WHERE legs.id = v.column1 AND legs.lease_owner = ");
                query.push_bind(owner.as_str());
                query.build().persistent(false).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            new
        });
        Ok(new as u64)
    }

    /// The baseline of `ozontrack bench ingest`: the same event rows inserted with nothing
    /// else, multi-row, in one transaction, into `bench_raw_events` in the same database: a
    /// table defined as `events` is (its columns, unique key, index and foreign key to `legs`,
    /// copied from the database's own definition of `events` on first use; not its triggers,
    /// which are the tracker's cost as on PostgreSQL, whose `LIKE` copies none), so that the
    /// baseline pays what any insert into that table pays and the difference is the tracker's.
    pub async fn bench_raw_insert(
        &self,
        rows: &[(i64, &TrackingEvent)],
        received_at: DateTime<Utc>,
    ) -> Result<u64, DbError> {
        let mut inserted = 0u64;
        match &self.db {
            Db::Sqlite(pool) => {
                // SQLite keeps each table's `CREATE` text, columns added later included.
                let ddl: Vec<String> = sqlx::query_scalar(
                    "SELECT replace(replace(sql, 'events_leg_time', 'bench_raw_events_time'),                      ' events ', ' bench_raw_events ') FROM sqlite_master                      WHERE tbl_name = 'events' AND type <> 'trigger' AND sql IS NOT NULL                      AND NOT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'bench_raw_events')                      ORDER BY type DESC",
                )
                .fetch_all(pool)
                .await?;
                for statement in ddl {
                    sqlx::query(AssertSqlSafe(statement)).execute(pool).await?;
                }
            }
            Db::Postgres(pool) => {
                // `LIKE … INCLUDING ALL` copies everything but foreign keys, added from the
                // catalogue's own text of them.
                let absent: bool =
                    sqlx::query_scalar("SELECT to_regclass('bench_raw_events') IS NULL")
                        .fetch_one(pool)
                        .await?;
                if absent {
                    let mut tx = pool.begin().await?;
                    sqlx::query("CREATE TABLE bench_raw_events (LIKE events INCLUDING ALL)")
                        .execute(&mut *tx)
                        .await?;
                    let keys: Vec<String> = sqlx::query_scalar(
                        "SELECT pg_get_constraintdef(oid) FROM pg_constraint                          WHERE conrelid = 'events'::regclass AND contype = 'f'",
                    )
                    .fetch_all(&mut *tx)
                    .await?;
                    for key in keys {
                        sqlx::query(AssertSqlSafe(format!(
                            "ALTER TABLE bench_raw_events ADD {key}"
                        )))
                        .execute(&mut *tx)
                        .await?;
                    }
                    tx.commit().await?;
                }
            }
        }
        on_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            for chunk in rows.chunks(ROWS_PER_STATEMENT) {
                let mut query = sqlx::QueryBuilder::new(format!(
                    "INSERT INTO bench_raw_events {EVENT_COLUMNS} "
                ));
                push_event_rows!(query, chunk, received_at);
                inserted += query.build().execute(&mut *tx).await?.rows_affected();
            }
            tx.commit().await?;
        });
        Ok(inserted)
    }
}
