//! Postings and their sync from Ozon: the posting rows, the scans of a store's sync plan with
//! their cursors (the checkpoint a killed sync resumes from), pages stored with their checkpoint
//! in one transaction, received pushes waiting to be turned into re-fetches, and the read of
//! postings with their legs and events that the rules and every trail start from.

use std::collections::HashMap;
use std::future::Future;

use chrono::{DateTime, Utc};
use ozontrack_domain::{
    Currency, Leg, Money, OzonStatus, OzonSubstatus, ParseError, Posting, PostingId, PostingNumber,
    Product, Scheme, StoreId, SyncedPosting, TrackingEvent,
};

use crate::DbError;
use crate::records::{EventRow, LegRow, PostingRow};
use crate::sql::{
    BeginWrite, Db, LEG_COLUMNS, ROWS_PER_STATEMENT, SqlDatabase, final_statuses,
    is_unique_violation,
};
use crate::tracking::{EventRecord, LegRecord};

/// A posting row.
#[derive(Debug, Clone, PartialEq)]
pub struct PostingRecord {
    pub id: PostingId,
    pub posting: Posting,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A posting with its legs and their events, read in a few queries for many postings: what
/// the rules, the API's posting page and `ozontrack status` look at.
#[derive(Debug, Clone, PartialEq)]
pub struct PostingWithEvents {
    pub posting: PostingRecord,
    /// The legs in id order, each with its events in time order.
    pub legs: Vec<(LegRecord, Vec<TrackingEvent>)>,
}

/// Which posting list a scan walks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScanKind {
    /// `/v4/posting/fbs/list` (FBS and rFBS).
    Fbs,
    /// `/v3/posting/fbo/list`.
    Fbo,
}

/// Why a scan was planned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScanPurpose {
    /// Every posting ordered in a window (the first sync, or `--full`).
    Backfill,
    /// Postings whose status changed since the last sync.
    Changed,
    /// Postings ordered lately, again: catches those that show up late behind a cursor.
    Recent,
    /// Named postings still in progress (FBO, whose list cannot filter by change time).
    Active,
}

macro_rules! text_enum {
    ($name:ident, $what:literal, { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $name {
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(text: &str) -> Result<Self, ParseError> {
                match text {
                    $($text => Ok($name::$variant),)+
                    other => Err(ParseError {
                        what: $what,
                        value: other.chars().take(64).collect(),
                        reason: "unknown value".into(),
                    }),
                }
            }
        }
    };
}

text_enum!(ScanKind, "scan kind", { Fbs => "fbs", Fbo => "fbo" });
text_enum!(ScanPurpose, "scan purpose", {
    Backfill => "backfill",
    Changed => "changed",
    Recent => "recent",
    Active => "active",
});

/// One list walk of a sync plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanPlan {
    pub kind: ScanKind,
    pub purpose: ScanPurpose,
    /// Part of a full sync (a back-fill of every window).
    pub full: bool,
    /// When the plan was made: the store's watermark once every scan of it is done.
    pub planned_at: DateTime<Utc>,
    /// Order-time window.
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    /// Status-change window, for `Changed` scans.
    pub changed_from: Option<DateTime<Utc>>,
    pub changed_to: Option<DateTime<Utc>>,
    /// Only these postings, for `Active` scans.
    pub posting_numbers: Vec<String>,
}

/// Our id of a scan row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ScanId(pub i64);

/// A scan and how far it got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanRecord {
    pub id: ScanId,
    pub store_id: StoreId,
    pub plan: ScanPlan,
    /// The cursor of the next page to fetch; empty before the first.
    pub cursor: String,
    pub done: bool,
    pub pages: i64,
    pub postings: i64,
}

/// Where a scan stands after a page: stored with the page, in one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanProgress {
    pub scan: ScanId,
    pub cursor: String,
    pub done: bool,
}

/// What storing a page of postings changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PageOutcome {
    /// Postings we had not seen before.
    pub new_postings: u64,
    /// Status changes recorded as events on Ozon's leg (including first sightings).
    pub status_events: u64,
}

/// A push message as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPush {
    pub store_id: StoreId,
    pub dedupe_key: String,
    pub message_type: String,
    pub posting_number: Option<String>,
    pub fbo: bool,
    pub changed_at: Option<DateTime<Utc>>,
}

/// A push waiting to be acted on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushRecord {
    pub id: i64,
    pub push: NewPush,
    pub received_at: DateTime<Utc>,
    pub attempts: i64,
}

/// Postings, the sync's plans and pages, and Ozon's pushes.
pub trait Postings: Clone + Send + Sync + 'static {
    /// Inserts the posting or replaces what we know of it; keyed by (store, posting number).
    fn upsert_posting(
        &self,
        posting: &Posting,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<PostingId, DbError>> + Send;

    fn posting(
        &self,
        store: StoreId,
        number: &PostingNumber,
    ) -> impl Future<Output = Result<Option<PostingRecord>, DbError>> + Send;

    /// The posting with this number in the first of `stores` (in their order) that has one, in
    /// one query whatever the number of stores.
    fn posting_in(
        &self,
        stores: &[StoreId],
        number: &PostingNumber,
    ) -> impl Future<Output = Result<Option<PostingRecord>, DbError>> + Send;

    /// A posting by our id.
    fn posting_by_id(
        &self,
        id: PostingId,
    ) -> impl Future<Output = Result<Option<PostingRecord>, DbError>> + Send;

    fn count_postings(&self, store: StoreId) -> impl Future<Output = Result<u64, DbError>> + Send;

    /// A posting's product lines, in the order its source listed them.
    fn products(
        &self,
        posting: PostingId,
    ) -> impl Future<Output = Result<Vec<Product>, DbError>> + Send;

    /// The postings with their legs and events, in id order; unknown ids are left out.
    fn postings_with_events(
        &self,
        ids: &[PostingId],
    ) -> impl Future<Output = Result<Vec<PostingWithEvents>, DbError>> + Send;

    /// The legs of one posting already read, in id order, each with its events in time order.
    fn legs_with_events(
        &self,
        posting: PostingId,
    ) -> impl Future<Output = Result<Vec<(LegRecord, Vec<TrackingEvent>)>, DbError>> + Send;

    /// The scans of the store's current sync plan, done or not, in plan order.
    fn scans(
        &self,
        store: StoreId,
    ) -> impl Future<Output = Result<Vec<ScanRecord>, DbError>> + Send;

    /// Replaces the store's sync plan with `plan` (all scans not started).
    fn plan_scans(
        &self,
        store: StoreId,
        plan: &[ScanPlan],
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<ScanRecord>, DbError>> + Send;

    /// Stores a page of postings in one transaction: each posting upserted, its legs created
    /// (Ozon's own leg never due for carrier polling, a tracking number's leg due at `now`), a
    /// status change recorded as an event on Ozon's leg; and, with the same commit, the scan's
    /// new cursor. A page stored twice changes nothing the second time.
    fn record_page(
        &self,
        postings: &[SyncedPosting],
        progress: Option<&ScanProgress>,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<PageOutcome, DbError>> + Send;

    /// Ends the store's sync plan: its scans are dropped and `synced_until` moves to
    /// `watermark`.
    fn finish_sync(
        &self,
        store: StoreId,
        watermark: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), DbError>> + Send;

    /// The posting numbers of a scheme that may still change: not delivered or cancelled yet,
    /// or delivered since `delivered_since` (a buyer can still dispute a delivery).
    fn active_postings(
        &self,
        store: StoreId,
        scheme: Scheme,
        delivered_since: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<PostingNumber>, DbError>> + Send;

    /// Records a push; false when the same message (by its key) was recorded before.
    fn record_push(
        &self,
        push: &NewPush,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, DbError>> + Send;

    /// Pushes not yet acted on, oldest first: of these stores, or (`None`) of every store.
    fn pending_pushes(
        &self,
        stores: Option<&[StoreId]>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<PushRecord>, DbError>> + Send;

    /// Marks a push done, or (with an error) counts a failed attempt; after `max_attempts`
    /// failures it is done too, with its last error kept.
    fn finish_push(
        &self,
        id: i64,
        error: Option<&str>,
        max_attempts: i64,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), DbError>> + Send;
}

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
    type Error = DbError;
    fn try_from(row: ScanRow) -> Result<Self, DbError> {
        let corrupt = |reason: String| DbError::Corrupt {
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

impl Postings for SqlDatabase {
    async fn upsert_posting(&self, p: &Posting, now: DateTime<Utc>) -> Result<PostingId, DbError> {
        let rows = on_db!(&self.db, |pool| upsert_postings!(
            pool,
            [(p.clone(), None)],
            now
        ));
        rows.first()
            .map(|(id, _, _)| PostingId(*id))
            .ok_or(DbError::Corrupt {
                table: "postings",
                id: 0,
                reason: "an upsert returned no row".to_owned(),
            })
    }

    async fn posting(
        &self,
        store: StoreId,
        number: &PostingNumber,
    ) -> Result<Option<PostingRecord>, DbError> {
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

    async fn posting_in(
        &self,
        stores: &[StoreId],
        number: &PostingNumber,
    ) -> Result<Option<PostingRecord>, DbError> {
        if stores.is_empty() {
            return Ok(None);
        }
        let ids: Vec<i64> = stores.iter().map(|s| s.0).collect();
        let rows = on_db!(&self.db, |pool| {
            let mut query =
                sqlx::QueryBuilder::new("SELECT * FROM postings WHERE posting_number = ");
            query.push_bind(number.as_str()).push(" AND store_id");
            push_in!(query, &ids);
            query.build_query_as::<PostingRow>().fetch_all(pool).await?
        });
        // A number is Ozon's and unique across stores in practice; where two stores hold it,
        // the first store asked wins, as it did when they were asked one by one.
        let found = rows
            .into_iter()
            .map(PostingRecord::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(found
            .into_iter()
            .min_by_key(|p| stores.iter().position(|s| *s == p.posting.store_id)))
    }

    async fn posting_by_id(&self, id: PostingId) -> Result<Option<PostingRecord>, DbError> {
        let sql = "SELECT * FROM postings WHERE id = $1";
        let row = on_db!(&self.db, |pool| {
            sqlx::query_as::<_, PostingRow>(sql)
                .bind(id.0)
                .fetch_optional(pool)
                .await?
        });
        row.map(PostingRecord::try_from).transpose()
    }

    async fn count_postings(&self, store: StoreId) -> Result<u64, DbError> {
        let sql = "SELECT COUNT(*) FROM postings WHERE store_id = $1";
        let count = on_db!(&self.db, |pool| {
            sqlx::query_scalar::<_, i64>(sql)
                .bind(store.0)
                .fetch_one(pool)
                .await?
        });
        Ok(count.unsigned_abs())
    }

    async fn postings_with_events(
        &self,
        ids: &[PostingId],
    ) -> Result<Vec<PostingWithEvents>, DbError> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(ROWS_PER_STATEMENT) {
            let raw: Vec<i64> = chunk.iter().map(|p| p.0).collect();
            let postings = on_db!(&self.db, |pool| {
                let mut query = sqlx::QueryBuilder::new("SELECT * FROM postings WHERE id");
                push_in!(query, &raw);
                query.push(" ORDER BY id");
                query.build_query_as::<PostingRow>().fetch_all(pool).await?
            });
            let mut by_posting = self.legs_of(&raw).await?;
            for row in postings {
                let posting = PostingRecord::try_from(row)?;
                let legs = by_posting.remove(&posting.id.0).unwrap_or_default();
                out.push(PostingWithEvents { posting, legs });
            }
        }
        Ok(out)
    }

    async fn legs_with_events(
        &self,
        posting: PostingId,
    ) -> Result<Vec<(LegRecord, Vec<TrackingEvent>)>, DbError> {
        Ok(self
            .legs_of(&[posting.0])
            .await?
            .remove(&posting.0)
            .unwrap_or_default())
    }

    async fn scans(&self, store: StoreId) -> Result<Vec<ScanRecord>, DbError> {
        let sql = "SELECT * FROM sync_scans WHERE store_id = $1 ORDER BY id";
        let rows = on_db!(&self.db, |pool| {
            sqlx::query_as::<_, ScanRow>(sql)
                .bind(store.0)
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(ScanRecord::try_from).collect()
    }

    async fn plan_scans(
        &self,
        store: StoreId,
        plan: &[ScanPlan],
        now: DateTime<Utc>,
    ) -> Result<Vec<ScanRecord>, DbError> {
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
        self.scans(store).await
    }

    async fn record_page(
        &self,
        postings: &[SyncedPosting],
        progress: Option<&ScanProgress>,
        now: DateTime<Utc>,
    ) -> Result<PageOutcome, DbError> {
        // The victim of a deadlock (PostgreSQL) is rolled back whole: run it again.
        crate::sql::retry_deadlocks(|| self.record_page_once(postings, progress, now)).await
    }

    async fn products(&self, posting: PostingId) -> Result<Vec<Product>, DbError> {
        type ProductRow = (
            i64,
            Option<i64>,
            String,
            String,
            i64,
            Option<i64>,
            Option<String>,
        );
        let rows = on_db!(&self.db, |pool| {
            sqlx::query_as::<_, ProductRow>(
                "SELECT line, sku, offer_id, name, quantity, price_minor, price_currency \
                 FROM posting_products WHERE posting_id = $1 ORDER BY line",
            )
            .bind(posting.0)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(|(line, sku, offer_id, name, quantity, minor, currency)| {
                let corrupt = |reason: String| DbError::Corrupt {
                    table: "posting_products",
                    id: posting.0 * 1000 + line,
                    reason,
                };
                let price = match (minor, currency) {
                    (Some(minor), Some(code)) => Some(Money::from_minor(
                        minor,
                        Currency::parse(&code).map_err(|e| corrupt(e.to_string()))?,
                    )),
                    _ => None,
                };
                Ok(Product {
                    sku,
                    offer_id,
                    name,
                    quantity: u32::try_from(quantity).map_err(|e| corrupt(e.to_string()))?,
                    price,
                })
            })
            .collect()
    }

    async fn finish_sync(&self, store: StoreId, watermark: DateTime<Utc>) -> Result<(), DbError> {
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
                return Err(DbError::StoreNotFound(store));
            }
            tx.commit().await?;
        });
        Ok(())
    }

    async fn active_postings(
        &self,
        store: StoreId,
        scheme: Scheme,
        delivered_since: DateTime<Utc>,
    ) -> Result<Vec<PostingNumber>, DbError> {
        let sql = format!(
            "SELECT id, posting_number FROM postings WHERE store_id = $1 AND scheme = $2 \
             AND (status NOT IN {} OR (status = 'delivered' AND delivered_at >= $3)) \
             ORDER BY posting_number",
            final_statuses()
        );
        let rows = on_db!(&self.db, |pool| {
            sqlx::query_as::<_, (i64, String)>(sqlx::AssertSqlSafe(sql.clone()))
                .bind(store.0)
                .bind(scheme.as_str())
                .bind(delivered_since)
                .fetch_all(pool)
                .await?
        });
        rows.into_iter()
            .map(|(id, number)| {
                PostingNumber::parse(&number).map_err(|e| DbError::Corrupt {
                    table: "postings",
                    id,
                    reason: e.to_string(),
                })
            })
            .collect()
    }

    async fn record_push(&self, push: &NewPush, now: DateTime<Utc>) -> Result<bool, DbError> {
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

    async fn pending_pushes(
        &self,
        stores: Option<&[StoreId]>,
        limit: u32,
    ) -> Result<Vec<PushRecord>, DbError> {
        let rows = on_db!(&self.db, |pool| {
            let mut query = sqlx::QueryBuilder::new(
                "SELECT id, store_id, dedupe_key, message_type, posting_number, fbo, \
                 changed_at, received_at, attempts FROM ozon_pushes WHERE processed_at IS NULL",
            );
            if let Some(stores) = stores {
                if stores.is_empty() {
                    return Ok(Vec::new());
                }
                query.push(" AND store_id");
                push_in!(query, stores.iter().map(|s| &s.0));
            }
            query
                .push(" ORDER BY id LIMIT ")
                .push_bind(i64::from(limit));
            query
                .build_query_as::<PushRow>()
                .persistent(false)
                .fetch_all(pool)
                .await?
        });
        Ok(rows.into_iter().map(PushRecord::from).collect())
    }

    async fn finish_push(
        &self,
        id: i64,
        error: Option<&str>,
        max_attempts: i64,
        now: DateTime<Utc>,
    ) -> Result<(), DbError> {
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

impl SqlDatabase {
    /// One attempt of `record_page`.
    async fn record_page_once(
        &self,
        postings: &[SyncedPosting],
        progress: Option<&ScanProgress>,
        now: DateTime<Utc>,
    ) -> Result<PageOutcome, DbError> {
        let scan_sql = "UPDATE sync_scans SET cursor = $1, done = $2, pages = pages + 1, \
                            postings = postings + $3, updated_at = $4 WHERE id = $5";
        let outcome = on_db!(&self.db, |pool| {
            let mut tx = pool.begin_keyed_write().await?;
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
                    .persistent(false)
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
                    .persistent(false)
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
            // The status event of each posting whose Ozon status changed (a new posting's is
            // its first), in page order; a new Ozon leg starts with it.
            let mut status_events: Vec<(&Leg, i64, TrackingEvent)> = Vec::new();
            for synced in postings {
                let p = &synced.posting;
                let prior = priors.get(p.number.as_str());
                let posting = posting_ids.get(&(p.store_id.0, p.number.as_str().to_owned()));
                if let (Some(&posting), Some(event)) = (
                    posting,
                    synced.status_event(prior.map(|(status, sub, ..)| (status, sub))),
                ) {
                    status_events.push((&synced.ozon_leg, posting, event));
                }
            }
            let first_events: HashMap<i64, &TrackingEvent> = status_events
                .iter()
                .map(|(_, posting, event)| (*posting, event))
                .collect();
            // Ozon's leg is fed by the sync and never due for polling; the tracking number's
            // leg is due at once.
            let mut legs: Vec<crate::sql::NewLeg<'_>> = Vec::new();
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
                let ozon_leg = (
                    &synced.ozon_leg,
                    None,
                    first_events.get(&posting_id).copied(),
                );
                let pairs =
                    std::iter::once(ozon_leg).chain(carrier_leg.map(|leg| (leg, Some(now), None)));
                for (leg, due, first) in pairs {
                    if seen.insert((
                        posting_id,
                        leg.carrier.as_str(),
                        leg.tracking_number.as_str(),
                    )) {
                        legs.push((posting_id, leg, due, first));
                    }
                }
            }
            let leg_ids: HashMap<(i64, String, String), i64> = upsert_legs!(&mut *tx, legs, now)
                .into_iter()
                .map(|(id, posting, carrier, number)| ((posting, carrier, number), id))
                .collect();
            let rows: Vec<(i64, &TrackingEvent)> = status_events
                .iter()
                .filter_map(|(leg, posting, event)| {
                    let key = (
                        *posting,
                        leg.carrier.as_str().to_owned(),
                        leg.tracking_number.as_str().to_owned(),
                    );
                    leg_ids.get(&key).map(|id| (*id, event))
                })
                .collect();
            outcome.status_events = insert_events!(&mut *tx, &rows, now) as u64;
            // Product lines, where the source listed them, replace the stored ones whole.
            let mut products: Vec<(i64, i64, &Product)> = Vec::new();
            let mut listed: Vec<i64> = Vec::new();
            for synced in postings {
                let p = &synced.posting;
                let (Some(lines), Some(&posting_id)) = (
                    &synced.products,
                    posting_ids.get(&(p.store_id.0, p.number.as_str().to_owned())),
                ) else {
                    continue;
                };
                if listed.contains(&posting_id) {
                    continue;
                }
                listed.push(posting_id);
                for (line, product) in (1..).zip(lines) {
                    products.push((posting_id, line, product));
                }
            }
            for chunk in listed.chunks(ROWS_PER_STATEMENT) {
                let mut query =
                    sqlx::QueryBuilder::new("DELETE FROM posting_products WHERE posting_id IN (");
                let mut list = query.separated(", ");
                for id in chunk {
                    list.push_bind(*id);
                }
                query.push(")");
                query.build().persistent(false).execute(&mut *tx).await?;
            }
            for chunk in products.chunks(ROWS_PER_STATEMENT) {
                let mut query = sqlx::QueryBuilder::new(
                    "INSERT INTO posting_products (posting_id, line, sku, offer_id, name, \
                         quantity, price_minor, price_currency) ",
                );
                query.push_values(chunk, |mut row, (posting, line, product)| {
                    row.push_bind(*posting)
                        .push_bind(*line)
                        .push_bind(product.sku)
                        .push_bind(product.offer_id.as_str())
                        .push_bind(product.name.as_str())
                        .push_bind(i64::from(product.quantity))
                        .push_bind(product.price.map(|m| m.minor))
                        .push_bind(product.price.map(|m| m.currency.code()));
                });
                query.build().execute(&mut *tx).await?;
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
                    return Err(DbError::ScanNotFound(progress.scan.0));
                }
            }
            tx.commit().await?;
            outcome
        });
        Ok(outcome)
    }
}

impl SqlDatabase {
    /// The legs of these postings (at most [`ROWS_PER_STATEMENT`]) in id order, each with its
    /// events in time order, by posting id.
    async fn legs_of(
        &self,
        postings: &[i64],
    ) -> Result<HashMap<i64, Vec<(LegRecord, Vec<TrackingEvent>)>>, DbError> {
        let legs = on_db!(&self.db, |pool| {
            let mut query =
                sqlx::QueryBuilder::new(format!("SELECT {LEG_COLUMNS} FROM legs WHERE posting_id"));
            push_in!(query, postings);
            query.push(" ORDER BY id");
            query.build_query_as::<LegRow>().fetch_all(pool).await?
        });
        let legs: Vec<LegRecord> = legs
            .into_iter()
            .map(LegRecord::try_from)
            .collect::<Result<_, _>>()?;
        let leg_ids: Vec<i64> = legs.iter().map(|l| l.id.0).collect();
        let mut events: HashMap<i64, Vec<TrackingEvent>> = HashMap::new();
        for leg_chunk in leg_ids.chunks(ROWS_PER_STATEMENT) {
            let rows = on_db!(&self.db, |pool| {
                let mut query = sqlx::QueryBuilder::new("SELECT * FROM events WHERE leg_id");
                push_in!(query, leg_chunk);
                query.push(" ORDER BY leg_id, occurred_at, id");
                query.build_query_as::<EventRow>().fetch_all(pool).await?
            });
            for row in rows {
                let record = EventRecord::try_from(row)?;
                events
                    .entry(record.leg_id.0)
                    .or_default()
                    .push(record.event);
            }
        }
        let mut by_posting: HashMap<i64, Vec<(LegRecord, Vec<TrackingEvent>)>> = HashMap::new();
        for leg in legs {
            let leg_events = events.remove(&leg.id.0).unwrap_or_default();
            by_posting
                .entry(leg.posting_id.0)
                .or_default()
                .push((leg, leg_events));
        }
        Ok(by_posting)
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
