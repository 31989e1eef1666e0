//! The Ozon sync's tables on both backends: scan plans with their cursors, pages of postings
//! stored with their checkpoint in one transaction, and received pushes.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use ozontrack_domain::{
    Leg, OzonStatus, OzonSubstatus, Posting, PostingNumber, Scheme, StoreId, SyncedPosting,
    TrackingEvent,
};
use sqlx::AssertSqlSafe;

use super::{
    BeginWrite, Db, EVENT_COLUMNS, INSERT_POSTINGS, ON_POSTING_CONFLICT, POSTINGS_PER_STATEMENT,
    ROWS_PER_STATEMENT, STORE_COLUMNS, SqlStore, is_unique_violation, latest_new_events,
    unknown_sub,
};
use crate::records::StoreRow;
use crate::sync::{
    NewPush, PageOutcome, PushRecord, ScanId, ScanKind, ScanPlan, ScanProgress, ScanPurpose,
    ScanRecord,
};
use crate::{StoreError, StoreRecord};

#[derive(sqlx::FromRow)]
struct ScanRow {
    id: i64,
    store_id: i64,
    kind: String,
    purpose: String,
    full_sync: bool,
    planned_at: DateTime<Utc>,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    changed_from: Option<DateTime<Utc>>,
    changed_to: Option<DateTime<Utc>>,
    posting_numbers: String,
    cursor: String,
    done: bool,
    pages: i64,
    postings: i64,
}

impl TryFrom<ScanRow> for ScanRecord {
    type Error = StoreError;
    fn try_from(row: ScanRow) -> Result<Self, StoreError> {
        let corrupt = |reason: String| StoreError::Corrupt {
            table: "sync_scans",
            id: row.id,
            reason,
        };
        let kind = ScanKind::parse(&row.kind).map_err(|e| corrupt(e.to_string()))?;
        let purpose = ScanPurpose::parse(&row.purpose).map_err(|e| corrupt(e.to_string()))?;
        let posting_numbers = row
            .posting_numbers
            .split(',')
            .filter(|n| !n.is_empty())
            .map(str::to_owned)
            .collect();
        Ok(ScanRecord {
            id: ScanId(row.id),
            store_id: StoreId(row.store_id),
            plan: ScanPlan {
                kind,
                purpose,
                full: row.full_sync,
                planned_at: row.planned_at,
                since: row.since,
                until: row.until,
                changed_from: row.changed_from,
                changed_to: row.changed_to,
                posting_numbers,
            },
            cursor: row.cursor,
            done: row.done,
            pages: row.pages,
            postings: row.postings,
        })
    }
}

#[derive(sqlx::FromRow)]
struct PushRow {
    id: i64,
    store_id: i64,
    dedupe_key: String,
    message_type: String,
    posting_number: Option<String>,
    fbo: bool,
    changed_at: Option<DateTime<Utc>>,
    received_at: DateTime<Utc>,
    attempts: i64,
}

impl From<PushRow> for PushRecord {
    fn from(row: PushRow) -> Self {
        PushRecord {
            id: row.id,
            push: NewPush {
                store_id: StoreId(row.store_id),
                dedupe_key: row.dedupe_key,
                message_type: row.message_type,
                posting_number: row.posting_number,
                fbo: row.fbo,
                changed_at: row.changed_at,
            },
            received_at: row.received_at,
            attempts: row.attempts,
        }
    }
}

/// Posting numbers are digits and dashes: a comma-separated list needs no escaping.
fn join_numbers(numbers: &[String]) -> String {
    numbers.join(",")
}

/// What the store knew of a posting before a page: its Ozon status, delivery time, and when
/// Ozon showed it so.
type Prior = (
    OzonStatus,
    OzonSubstatus,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
);

impl SqlStore {
    pub(super) async fn scans_impl(&self, store: StoreId) -> Result<Vec<ScanRecord>, StoreError> {
        let sql = "SELECT * FROM sync_scans WHERE store_id = $1 ORDER BY id";
        let rows = on_db!(&self.db, |pool| {
            sqlx::query_as::<_, ScanRow>(sql)
                .bind(store.0)
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(ScanRecord::try_from).collect()
    }

    pub(super) async fn plan_scans_impl(
        &self,
        store: StoreId,
        plan: &[ScanPlan],
        now: DateTime<Utc>,
    ) -> Result<Vec<ScanRecord>, StoreError> {
        let insert = "INSERT INTO sync_scans (store_id, kind, purpose, full_sync, planned_at, \
                      since, until, changed_from, changed_to, posting_numbers, cursor, done, \
                      pages, postings, updated_at) \
                      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, '', FALSE, 0, 0, $11)";
        on_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            sqlx::query("DELETE FROM sync_scans WHERE store_id = $1")
                .bind(store.0)
                .execute(&mut *tx)
                .await?;
            for scan in plan {
                sqlx::query(insert)
                    .bind(store.0)
                    .bind(scan.kind.as_str())
                    .bind(scan.purpose.as_str())
                    .bind(scan.full)
                    .bind(scan.planned_at)
                    .bind(scan.since)
                    .bind(scan.until)
                    .bind(scan.changed_from)
                    .bind(scan.changed_to)
                    .bind(join_numbers(&scan.posting_numbers))
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        });
        self.scans_impl(store).await
    }

    pub(super) async fn record_page_impl(
        &self,
        postings: &[SyncedPosting],
        progress: Option<&ScanProgress>,
        now: DateTime<Utc>,
    ) -> Result<PageOutcome, StoreError> {
        let scan_sql = "UPDATE sync_scans SET cursor = $1, done = $2, pages = pages + 1, \
                        postings = postings + $3, updated_at = $4 WHERE id = $5";
        let outcome = on_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            let mut outcome = PageOutcome::default();
            // What we knew of the page's postings, in one query per store (a page is one).
            let mut priors: HashMap<String, Prior> = HashMap::new();
            for store_id in postings
                .iter()
                .map(|s| s.posting.store_id.0)
                .collect::<std::collections::BTreeSet<_>>()
            {
                let mut query = sqlx::QueryBuilder::new(
                    "SELECT posting_number, status, substatus, delivered_at, observed_at FROM postings \
                     WHERE store_id = ",
                );
                query.push_bind(store_id).push(" AND posting_number IN (");
                let mut list = query.separated(", ");
                for synced in postings.iter().filter(|s| s.posting.store_id.0 == store_id) {
                    list.push_bind(synced.posting.number.as_str());
                }
                query.push(")");
                let rows = query
                    .build_query_as::<(
                        String,
                        String,
                        String,
                        Option<DateTime<Utc>>,
                        Option<DateTime<Utc>>,
                    )>()
                    .fetch_all(&mut *tx)
                    .await?;
                for (number, status, sub, delivered, observed) in rows {
                    let prior = (
                        OzonStatus::parse(&status),
                        OzonSubstatus::parse(&sub),
                        delivered,
                        observed,
                    );
                    priors.insert(number, prior);
                }
            }
            // A page repeats no posting, but a caller's list might: the last copy wins. A
            // posting stored from a later look at Ozon is left as it is.
            let mut rows: Vec<(Posting, Option<DateTime<Utc>>)> =
                Vec::with_capacity(postings.len());
            let mut position: HashMap<(i64, &str), usize> = HashMap::new();
            for synced in postings {
                let p = &synced.posting;
                let prior = priors.get(p.number.as_str());
                if prior.and_then(|(.., seen)| *seen) > Some(synced.observed_at) {
                    continue;
                }
                let mut row = p.clone();
                row.delivered_at = synced.delivered_at(prior.and_then(|(_, _, at, _)| *at));
                let row = (row, Some(synced.observed_at));
                match position.get(&(p.store_id.0, p.number.as_str())) {
                    Some(&i) => rows[i] = row,
                    None => {
                        position.insert((p.store_id.0, p.number.as_str()), rows.len());
                        rows.push(row);
                    }
                }
            }
            let posting_ids: HashMap<(i64, String), i64> = upsert_postings!(&mut *tx, rows, now)
                .into_iter()
                .map(|(id, store, number)| ((store, number), id))
                .collect();
            outcome.new_postings = rows
                .iter()
                .filter(|(p, _)| !priors.contains_key(p.number.as_str()))
                .count() as u64;
            // A number already tracked on the posting keeps the carrier it has: detection may
            // have been corrected since (by the aggregator or by hand) and must not fork the leg.
            let mut known: HashMap<(i64, String), String> = HashMap::new();
            let ids: Vec<i64> = posting_ids.values().copied().collect();
            for chunk in ids.chunks(ROWS_PER_STATEMENT) {
                let mut query = sqlx::QueryBuilder::new(
                    "SELECT posting_id, tracking_number, carrier FROM legs WHERE posting_id IN (",
                );
                let mut list = query.separated(", ");
                for id in chunk {
                    list.push_bind(*id);
                }
                query.push(")");
                let rows = query
                    .build_query_as::<(i64, String, String)>()
                    .fetch_all(&mut *tx)
                    .await?;
                for (posting, number, carrier) in rows {
                    known.insert((posting, number), carrier);
                }
            }
            let mut kept: HashMap<(i64, String), Leg> = HashMap::new();
            for synced in postings {
                if let Some(leg) = &synced.carrier_leg {
                    let p = &synced.posting;
                    let posting = posting_ids.get(&(p.store_id.0, p.number.as_str().to_owned()));
                    let Some(&posting) = posting else { continue };
                    let key = (posting, leg.tracking_number.as_str().to_owned());
                    if let Some(carrier) = known.get(&key).filter(|c| *c != leg.carrier.as_str())
                        && let Ok(code) = ozontrack_domain::CarrierCode::parse(carrier)
                    {
                        let leg = Leg {
                            carrier: code,
                            ..leg.clone()
                        };
                        kept.insert(key, leg);
                    }
                }
            }
            // Ozon's leg is fed by the sync and never due for polling; the tracking number's
            // leg is due at once.
            let mut legs: Vec<(i64, &Leg, Option<DateTime<Utc>>)> = Vec::new();
            let mut seen = std::collections::HashSet::new();
            for synced in postings {
                let p = &synced.posting;
                let Some(&posting_id) =
                    posting_ids.get(&(p.store_id.0, p.number.as_str().to_owned()))
                else {
                    continue;
                };
                let carrier_leg = synced.carrier_leg.as_ref().map(|leg| {
                    kept.get(&(posting_id, leg.tracking_number.as_str().to_owned()))
                        .unwrap_or(leg)
                });
                let pairs = std::iter::once((&synced.ozon_leg, None))
                    .chain(carrier_leg.map(|leg| (leg, Some(now))));
                for (leg, due) in pairs {
                    if seen.insert((
                        posting_id,
                        leg.carrier.as_str(),
                        leg.tracking_number.as_str(),
                    )) {
                        legs.push((posting_id, leg, due));
                    }
                }
            }
            let leg_ids: HashMap<(i64, String, String), i64> = upsert_legs!(&mut *tx, legs, now)
                .into_iter()
                .map(|(id, posting, carrier, number)| ((posting, carrier, number), id))
                .collect();
            let mut status_events = Vec::new();
            for synced in postings {
                let p = &synced.posting;
                let prior = priors.get(p.number.as_str());
                let Some(event) = synced.status_event(prior.map(|(status, sub, ..)| (status, sub)))
                else {
                    continue;
                };
                let leg = &synced.ozon_leg;
                let ozon_leg = posting_ids
                    .get(&(p.store_id.0, p.number.as_str().to_owned()))
                    .and_then(|posting| {
                        leg_ids.get(&(
                            *posting,
                            leg.carrier.as_str().to_owned(),
                            leg.tracking_number.as_str().to_owned(),
                        ))
                    });
                if let Some(&ozon_leg) = ozon_leg {
                    status_events.push((ozon_leg, event));
                }
            }
            let rows: Vec<(i64, &TrackingEvent)> =
                status_events.iter().map(|(leg, e)| (*leg, e)).collect();
            outcome.status_events = insert_events!(&mut *tx, &rows, now) as u64;
            if let Some(progress) = progress {
                let count = i64::try_from(postings.len()).unwrap_or(i64::MAX);
                let done = sqlx::query(scan_sql)
                    .bind(&progress.cursor)
                    .bind(progress.done)
                    .bind(count)
                    .bind(now)
                    .bind(progress.scan.0)
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::ScanNotFound(progress.scan.0));
                }
            }
            tx.commit().await?;
            outcome
        });
        Ok(outcome)
    }

    pub(super) async fn finish_sync_impl(
        &self,
        store: StoreId,
        watermark: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        on_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            sqlx::query("DELETE FROM sync_scans WHERE store_id = $1")
                .bind(store.0)
                .execute(&mut *tx)
                .await?;
            let done = sqlx::query("UPDATE stores SET synced_until = $1 WHERE id = $2")
                .bind(watermark)
                .bind(store.0)
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() == 0 {
                return Err(StoreError::StoreNotFound(store));
            }
            tx.commit().await?;
        });
        Ok(())
    }

    pub(super) async fn active_postings_impl(
        &self,
        store: StoreId,
        scheme: Scheme,
        delivered_since: DateTime<Utc>,
    ) -> Result<Vec<PostingNumber>, StoreError> {
        let sql = "SELECT id, posting_number FROM postings WHERE store_id = $1 AND scheme = $2 \
                   AND (status NOT IN ('delivered', 'cancelled', 'cancelled_from_split_pending') \
                   OR (status = 'delivered' AND delivered_at >= $3)) \
                   ORDER BY posting_number";
        let rows = on_db!(&self.db, |pool| {
            sqlx::query_as::<_, (i64, String)>(sql)
                .bind(store.0)
                .bind(scheme.as_str())
                .bind(delivered_since)
                .fetch_all(pool)
                .await?
        });
        rows.into_iter()
            .map(|(id, number)| {
                PostingNumber::parse(&number).map_err(|e| StoreError::Corrupt {
                    table: "postings",
                    id,
                    reason: e.to_string(),
                })
            })
            .collect()
    }

    pub(super) async fn push_secret_impl(&self, id: StoreId) -> Result<String, StoreError> {
        let sql = "SELECT push_secret FROM stores WHERE id = $1";
        let secret = on_db!(&self.db, |pool| {
            sqlx::query_scalar::<_, Option<String>>(sql)
                .bind(id.0)
                .fetch_optional(pool)
                .await?
        });
        secret.flatten().ok_or(StoreError::StoreNotFound(id))
    }

    pub(super) async fn store_by_push_secret_impl(
        &self,
        secret: &str,
    ) -> Result<Option<StoreRecord>, StoreError> {
        let sql = AssertSqlSafe(format!(
            "SELECT {STORE_COLUMNS} FROM stores WHERE push_secret = $1"
        ));
        let row = on_db!(&self.db, |pool| {
            sqlx::query_as::<_, StoreRow>(sql)
                .bind(secret)
                .fetch_optional(pool)
                .await?
        });
        row.map(StoreRecord::try_from).transpose()
    }

    pub(super) async fn record_push_impl(
        &self,
        push: &NewPush,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let sql = "INSERT INTO ozon_pushes (store_id, dedupe_key, message_type, posting_number, \
                   fbo, changed_at, received_at, attempts) VALUES ($1, $2, $3, $4, $5, $6, $7, 0)";
        let inserted = on_db!(&self.db, |pool| {
            sqlx::query(sql)
                .bind(push.store_id.0)
                .bind(&push.dedupe_key)
                .bind(&push.message_type)
                .bind(push.posting_number.as_deref())
                .bind(push.fbo)
                .bind(push.changed_at)
                .bind(now)
                .execute(pool)
                .await
                .map(|_| ())
        });
        match inserted {
            Ok(_) => Ok(true),
            Err(e) if is_unique_violation(&e) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    pub(super) async fn pending_pushes_impl(
        &self,
        limit: u32,
    ) -> Result<Vec<PushRecord>, StoreError> {
        let sql = "SELECT id, store_id, dedupe_key, message_type, posting_number, fbo, \
                   changed_at, received_at, attempts FROM ozon_pushes \
                   WHERE processed_at IS NULL ORDER BY id LIMIT $1";
        let rows = on_db!(&self.db, |pool| {
            sqlx::query_as::<_, PushRow>(sql)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?
        });
        Ok(rows.into_iter().map(PushRecord::from).collect())
    }

    pub(super) async fn finish_push_impl(
        &self,
        id: i64,
        error: Option<&str>,
        max_attempts: i64,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let sql = "UPDATE ozon_pushes SET attempts = attempts + $1, last_error = $2, \
                   processed_at = CASE WHEN $2 IS NULL OR attempts + $1 >= $3 THEN $4 \
                   ELSE NULL END WHERE id = $5";
        on_db!(&self.db, |pool| {
            sqlx::query(sql)
                .bind(i64::from(error.is_some()))
                .bind(error)
                .bind(max_attempts)
                .bind(now)
                .bind(id)
                .execute(pool)
                .await?;
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn posting_number_lists_survive_the_round_trip_through_their_column() {
        let numbers = vec!["1-2-3".to_owned(), "4-5-6".to_owned()];
        let text = join_numbers(&numbers);
        let back: Vec<String> = text.split(',').map(str::to_owned).collect();
        assert_eq!(back, numbers);
    }
}
