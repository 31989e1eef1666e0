//! The Ozon sync's tables on both backends: scan plans with their cursors, pages of postings
//! stored with their checkpoint in one transaction, and received pushes.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use ozontrack_domain::{
    OzonStatus, OzonSubstatus, Posting, PostingNumber, Scheme, StoreId, SyncedPosting,
    TrackingEvent,
};
use sqlx::AssertSqlSafe;

use super::{BeginWrite, Db, STORE_COLUMNS, SqlStore, UPSERT_POSTING, is_unique_violation};
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

const UPSERT_LEG: &str = "INSERT INTO legs (posting_id, carrier, tracking_number, role, \
     created_at, updated_at, next_check_at) VALUES ($1, $2, $3, $4, $5, $5, $6) \
     ON CONFLICT (posting_id, carrier, tracking_number) DO UPDATE SET role = excluded.role, \
     updated_at = excluded.updated_at RETURNING id";

/// What the store knew of a posting before a page: its Ozon status and delivery time.
type Prior = (OzonStatus, OzonSubstatus, Option<DateTime<Utc>>);

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
                    "SELECT posting_number, status, substatus, delivered_at FROM postings \
                     WHERE store_id = ",
                );
                query.push_bind(store_id).push(" AND posting_number IN (");
                let mut list = query.separated(", ");
                for synced in postings.iter().filter(|s| s.posting.store_id.0 == store_id) {
                    list.push_bind(synced.posting.number.as_str());
                }
                query.push(")");
                let rows = query
                    .build_query_as::<(String, String, String, Option<DateTime<Utc>>)>()
                    .fetch_all(&mut *tx)
                    .await?;
                for (number, status, sub, delivered) in rows {
                    let prior = (
                        OzonStatus::parse(&status),
                        OzonSubstatus::parse(&sub),
                        delivered,
                    );
                    priors.insert(number, prior);
                }
            }
            for synced in postings {
                let p: &Posting = &synced.posting;
                let prior = priors.get(p.number.as_str());
                let event = synced.status_event(prior.map(|(status, sub, _)| (status, sub)));
                let mut row = p.clone();
                row.delivered_at = synced.delivered_at(prior.and_then(|(_, _, at)| *at));
                let posting_id =
                    bind_posting!(sqlx::query_scalar::<_, i64>(UPSERT_POSTING), &row, now)
                        .fetch_one(&mut *tx)
                        .await?;
                outcome.new_postings += u64::from(prior.is_none());
                // Ozon's leg is fed by the sync and never due for polling; the tracking
                // number's leg is due at once.
                let legs = std::iter::once((&synced.ozon_leg, None))
                    .chain(synced.carrier_leg.as_ref().map(|leg| (leg, Some(now))));
                let mut ozon_leg = None;
                for (leg, due) in legs {
                    let id = sqlx::query_scalar::<_, i64>(UPSERT_LEG)
                        .bind(posting_id)
                        .bind(leg.carrier.as_str())
                        .bind(leg.tracking_number.as_str())
                        .bind(leg.role.as_str())
                        .bind(now)
                        .bind(due)
                        .fetch_one(&mut *tx)
                        .await?;
                    ozon_leg.get_or_insert(id);
                }
                if let (Some(event), Some(ozon_leg)) = (&event, ozon_leg) {
                    outcome.status_events += insert_event!(tx, ozon_leg, event, now) as u64;
                }
            }
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
