//! The carrier-tracking tables on both backends: legs looked up for a round of checks, a
//! round stored in one transaction, hand-over legs, manual carrier choices, feed health.

use chrono::{DateTime, Utc};
use ozontrack_domain::{CarrierCode, Leg, TrackingEvent};
use sqlx::AssertSqlSafe;

use super::{
    BeginWrite, Db, EVENT_COLUMNS, LEG_COLUMNS, ROWS_PER_STATEMENT, SqlStore, latest_new_events,
    unknown_sub,
};
use crate::records::{LegRow, PostingRow};
use crate::{
    FeedHealth, FeedOutcome, LeaseOwner, LegCheck, LegId, LegRecord, PostingId, PostingRecord,
    StoreError,
};

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

impl SqlStore {
    pub(super) async fn legs_by_ids_impl(
        &self,
        ids: &[LegId],
    ) -> Result<Vec<LegRecord>, StoreError> {
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
                query.build_query_as::<LegRow>().fetch_all(pool).await?
            });
            for row in rows {
                out.push(LegRecord::try_from(row)?);
            }
        }
        Ok(out)
    }

    pub(super) async fn legs_by_number_impl(
        &self,
        number: &str,
    ) -> Result<Vec<LegRecord>, StoreError> {
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

    pub(super) async fn posting_by_id_impl(
        &self,
        id: PostingId,
    ) -> Result<Option<PostingRecord>, StoreError> {
        let sql = "SELECT * FROM postings WHERE id = $1";
        let row = on_db!(&self.db, |pool| {
            sqlx::query_as::<_, PostingRow>(sql)
                .bind(id.0)
                .fetch_optional(pool)
                .await?
        });
        row.map(PostingRecord::try_from).transpose()
    }

    pub(super) async fn record_checks_impl(
        &self,
        checks: &[LegCheck],
        owner: &LeaseOwner,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let events: Vec<(i64, &TrackingEvent)> = checks
            .iter()
            .flat_map(|c| c.events.iter().map(move |e| (c.leg.0, e)))
            .collect();
        let new = on_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            let new = insert_events!(&mut *tx, &events, now);
            for chunk in checks.chunks(ROWS_PER_STATEMENT) {
                // An aggregator's carrier replaces only "unknown", never a detected or manual
                // choice; the lease is given up only by its holder.
                let mut query = sqlx::QueryBuilder::new(
                    "UPDATE legs SET next_check_at = v.column2, lease_owner = NULL, \
                     lease_until = NULL, checks = legs.checks + 1, \
                     registered_at = CASE WHEN v.column3 = 1 \
                     THEN COALESCE(legs.registered_at, v.column5) ELSE legs.registered_at END, \
                     carrier = CASE WHEN v.column4 IS NOT NULL AND legs.carrier = 'unknown' \
                     AND legs.carrier_source = 'detected' THEN v.column4 ELSE legs.carrier END, \
                     carrier_source = CASE WHEN v.column4 IS NOT NULL \
                     AND legs.carrier = 'unknown' AND legs.carrier_source = 'detected' \
                     THEN 'aggregator' ELSE legs.carrier_source END, \
                     checked_at = CASE WHEN v.column6 = 1 THEN v.column5 \
                     ELSE legs.checked_at END, \
                     updated_at = v.column5 FROM (",
                );
                query.push_values(chunk, |mut row, c: &LegCheck| {
                    row.push_bind(c.leg.0)
                        .push_bind(c.next_check_at)
                        .push_bind(i64::from(c.registered))
                        .push_bind(c.detected_carrier.as_ref().map(CarrierCode::as_str))
                        .push_bind(now)
                        .push_bind(i64::from(c.fresh));
                });
                query.push(") AS v WHERE legs.id = v.column1 AND legs.lease_owner = ");
                query.push_bind(owner.as_str());
                query.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
            new
        });
        Ok(new as u64)
    }

    pub(super) async fn add_hand_over_impl(
        &self,
        parent: LegId,
        leg: &Leg,
        now: DateTime<Utc>,
    ) -> Result<(LegId, bool), StoreError> {
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
        .ok_or(StoreError::LegNotFound(parent.0))?;
        if let Some(id) = linked {
            return Ok((LegId(id), false));
        }
        let id = on_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
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
                    let legs = [(posting, leg, Some(now))];
                    upsert_legs!(&mut *tx, legs, now)
                        .first()
                        .map(|(id, ..)| *id)
                        .ok_or(StoreError::PostingNotFound(posting))?
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

    pub(super) async fn set_leg_carrier_impl(
        &self,
        leg: LegId,
        carrier: &CarrierCode,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let sql = "UPDATE legs SET carrier = $1, carrier_source = 'manual', carrier_set_by = $2, \
                   carrier_set_at = $3, registered_at = NULL, next_check_at = $3, \
                   updated_at = $3 WHERE id = $4";
        let done = on_db!(&self.db, |pool| {
            sqlx::query(sql)
                .bind(carrier.as_str())
                .bind(by)
                .bind(now)
                .bind(leg.0)
                .execute(pool)
                .await?
                .rows_affected()
        });
        if done == 0 {
            return Err(StoreError::LegNotFound(leg.0));
        }
        Ok(())
    }

    pub(super) async fn make_tracked_legs_due_impl(
        &self,
        store: Option<ozontrack_domain::StoreId>,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
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

    pub(super) async fn mark_pushed_impl(
        &self,
        leg: LegId,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        on_db!(&self.db, |pool| {
            sqlx::query("UPDATE legs SET pushed_at = $1 WHERE id = $2")
                .bind(now)
                .bind(leg.0)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    pub(super) async fn record_feed_impl(
        &self,
        outcome: &FeedOutcome<'_>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let sql = "INSERT INTO feed_health (feed, ok_at, failed_at, failures, last_error, \
                   backoff_until, calls) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                   ON CONFLICT (feed) DO UPDATE SET \
                   ok_at = COALESCE(excluded.ok_at, feed_health.ok_at), \
                   failed_at = COALESCE(excluded.failed_at, feed_health.failed_at), \
                   failures = CASE WHEN excluded.failures = 0 THEN 0 \
                   ELSE feed_health.failures + 1 END, \
                   last_error = COALESCE(excluded.last_error, feed_health.last_error), \
                   backoff_until = excluded.backoff_until, \
                   calls = feed_health.calls + excluded.calls";
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

    /// The baseline of `ozontrack bench ingest`: the same event rows inserted with nothing
    /// else, multi-row, in one transaction, into `bench_raw_events` (the `events` table's
    /// columns and indexes, created on first use) in the same database file.
    pub async fn bench_raw_insert(
        &self,
        rows: &[(i64, &TrackingEvent)],
        received_at: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let mut inserted = 0u64;
        on_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            for ddl in [
                "CREATE TABLE IF NOT EXISTS bench_raw_events AS SELECT * FROM events WHERE 1 = 0",
                "CREATE UNIQUE INDEX IF NOT EXISTS bench_raw_events_fp \
                 ON bench_raw_events (leg_id, fingerprint)",
                "CREATE INDEX IF NOT EXISTS bench_raw_events_time \
                 ON bench_raw_events (leg_id, occurred_at)",
            ] {
                sqlx::query(ddl).execute(&mut *tx).await?;
            }
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

    pub(super) async fn feed_health_impl(&self) -> Result<Vec<FeedHealth>, StoreError> {
        let rows = on_db!(&self.db, |pool| {
            sqlx::query_as::<_, FeedRow>("SELECT * FROM feed_health ORDER BY feed")
                .fetch_all(pool)
                .await?
        });
        Ok(rows.into_iter().map(FeedHealth::from).collect())
    }
}
