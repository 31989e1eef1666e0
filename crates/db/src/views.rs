//! The read models of the API and the dashboard: the filtered, cursor-paged postings list, the
//! export's pages (from the postings' export lines, see `export_lines`), the "today" counts,
//! per-carrier and per-lane figures, and the workers' queue depths.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;

use chrono::{DateTime, Utc};
use futures_util::TryStreamExt as _;
use ozontrack_domain::estimate::{Journey, add_lane_carrier};
use ozontrack_domain::finding::{Severity, Why};
use ozontrack_domain::{
    LegRole, Money, NormalizedStatus, OzonStatus, OzonSubstatus, Posting, PostingId, PostingNumber,
    Scheme, StoreId,
};

use crate::DbError;
use crate::export_lines::BUCKET;
use crate::postings::PostingRecord;
use crate::records::{POSTING_CORE_COLUMNS, PostingCoreRow, PostingRow};
use crate::sql::{BeginRead, BeginWrite, Db, SqlDatabase, final_statuses};

/// Which postings to list: always within `stores`, newest first, `limit` after the cursor.
#[derive(Debug, Clone, Default)]
pub struct PostingQuery {
    /// The stores the caller may see; an empty list matches nothing.
    pub stores: Vec<StoreId>,
    /// Ozon's status code, e.g. `delivering`.
    pub status: Option<String>,
    pub scheme: Option<Scheme>,
    /// A leg's carrier code.
    pub carrier: Option<String>,
    /// Only postings with an open alert at least this severe.
    pub min_risk: Option<Severity>,
    /// `in_process_at` from (inclusive) and to (exclusive).
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// A posting number (or its start) or a tracking number of one of its legs.
    pub text: Option<String>,
    /// The cursor: postings with a smaller id than this.
    pub before: Option<PostingId>,
    pub limit: u32,
}

impl PostingQuery {
    /// Whether it filters by store alone: an export of such a query reads blocks of lines
    /// (see [`Views::read_export_page`]), which know nothing of the other filters. Every field
    /// is named, so that a filter added to the query cannot be skipped by the blocks unnoticed.
    pub fn by_store_alone(&self) -> bool {
        let PostingQuery {
            stores: _,
            status,
            scheme,
            carrier,
            min_risk,
            from,
            to,
            text,
            before: _,
            limit: _,
        } = self;
        status.is_none()
            && scheme.is_none()
            && carrier.is_none()
            && min_risk.is_none()
            && from.is_none()
            && to.is_none()
            && text.is_none()
    }
}

/// A postings-list row: the posting, its carriers and its worst open alert.
#[derive(Debug, Clone, PartialEq)]
pub struct PostingSummary {
    pub record: PostingRecord,
    pub carriers: Vec<String>,
    pub risk: Option<Severity>,
}

/// One carrier's figures over the legs tracked in a period.
#[derive(Debug, Clone, PartialEq)]
pub struct CarrierStats {
    pub carrier: String,
    pub legs: u64,
    pub delivered: u64,
    /// Legs with an open stale alert.
    pub stale_open: u64,
    /// Order to delivery, in days, over the delivered legs.
    pub transit_days_p50: Option<f64>,
    pub transit_days_p90: Option<f64>,
    /// Delivered legs by whole days of transit (index = days; the last bucket holds the rest).
    pub transit_histogram: Vec<u64>,
}

/// Days in the transit histogram before its last, open-ended bucket.
pub const HISTOGRAM_DAYS: usize = 40;

/// One count of the "today" page: open alerts (by posting) of a severity and mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RiskCount {
    /// `warning`, `high_risk`, `critical` (as stored).
    pub severity: String,
    /// `fbs`, `rfbs`, `fbo`, `crossborder`.
    pub mode: String,
    pub postings: u64,
}

/// Postings not yet over, by mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModeCount {
    pub mode: String,
    pub postings: u64,
}

/// What the "today" page counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overview {
    pub at_risk: Vec<RiskCount>,
    pub active: Vec<ModeCount>,
}

/// A lane: the carriers a parcel went through, in order, to one buyer city.
#[derive(Debug, Clone, PartialEq)]
pub struct LaneStats {
    /// Carrier codes, first mile first, e.g. `["cainiao", "russian_post"]`.
    pub carriers: Vec<String>,
    pub buyer_city: Option<String>,
    pub postings: u64,
    pub delivered: u64,
    /// Postings on the lane with an open stale alert now.
    pub stale_open: u64,
    /// Days from Ozon's `in_process_at` to delivery, of the delivered ones.
    pub transit_days_p50: Option<f64>,
    pub transit_days_p90: Option<f64>,
}

/// How much work waits for the workers now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueDepths {
    /// Legs whose next carrier check is due.
    pub legs_due: u64,
    /// Stores whose next sync is due.
    pub stores_due: u64,
    /// Postings whose findings may have changed and wait for the evaluator.
    pub risk_due: u64,
    /// Ozon pushes received and not yet processed.
    pub pushes_pending: u64,
}

/// One posting of an export, with what its spreadsheet row says.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportRecord {
    pub id: PostingId,
    /// What a row shows and the arrival estimate reads (the number, order id, mode, Ozon's
    /// status, the dates, the buyer's city and the total); the other fields are left empty: an
    /// export never reads them, and reading all thirty columns took twice as long as these.
    pub posting: Posting,
    /// The carrier legs (not Ozon's own), in the order they were made: first mile first.
    pub legs: Vec<ExportLeg>,
    /// The latest carrier event of any leg.
    pub last_event: Option<ExportEvent>,
    /// Open alerts, worst first.
    pub alerts: Vec<ExportAlert>,
    pub penalty_points: i64,
}

/// An open alert as an export row names it.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportAlert {
    pub severity: Severity,
    pub why: Why,
}

/// A page of an export as its one query reads it ([`Views::read_export_page`]), its lines not
/// yet decoded: reading the next page needs only its cursor, so a page is read while the last
/// one is decoded.
#[derive(Debug, Default)]
pub struct ExportPageRead {
    /// The lines of the page's postings, one after the other (those of `changed` stale); on a
    /// page of blocks, the blocks (see `export_lines::block`), one after the other.
    lines: Option<Vec<u8>>,
    /// The ids with a change waiting in the page's range, comma-separated: their lines are stale.
    changed: Option<String>,
    shape: PageShape,
    /// The cursor of the next page (postings with smaller ids), `None` after the last.
    pub next: Option<PostingId>,
}

/// How an export page was read, and what finishing it needs of that.
#[derive(Debug)]
enum PageShape {
    /// Lines of the postings the query matched; the ids of those without a line, comma-separated.
    Lines(Option<String>),
    /// Blocks of these stores' buckets (each block lists its postings without a line). A changed
    /// id in the page's range may be a posting no block holds yet, so each is read the long way
    /// and kept if its store is one of these. With `below`, the cursor the page was read after
    /// when it lies inside a bucket (not one a page of blocks gave): the bucket's postings from
    /// it on are left out.
    Blocks {
        stores: Vec<StoreId>,
        below: Option<i64>,
    },
}

/// A page that read nothing: no lines, nobody to read the long way.
impl Default for PageShape {
    fn default() -> Self {
        PageShape::Lines(None)
    }
}

/// A page of an export ([`Views::export_page`]): its lines as read, and the postings read the
/// long way, handed over one by one by [`each`](Self::each).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExportPage {
    /// The lines of the page's postings, one after the other.
    lines: Vec<u8>,
    /// The postings whose line is stale (a change of theirs waits), ascending: skipped among
    /// the lines, read the long way.
    stale: Vec<i64>,
    /// The postings read the long way (a change of theirs waited, or they had no line yet).
    long_way: Vec<ExportRecord>,
    /// Lines of postings from this id on are left out (see [`ExportPageRead`]'s `below`).
    below: Option<i64>,
}

impl ExportPage {
    /// Of the page's postings, how many were read the long way.
    pub fn read_long_way(&self) -> usize {
        self.long_way.len()
    }

    /// Hands over each of the page's postings once: those with a current line in the order
    /// of their ids (oldest first), then those read the long way. A line that does not read is
    /// a corrupt row, and the postings after it are not handed over.
    pub fn each(&self, mut f: impl FnMut(RecordView<'_>)) -> Result<(), DbError> {
        crate::export_lines::each(&self.lines, |view| {
            if self.stale.binary_search(&view.id.0).is_err()
                && self.below.is_none_or(|below| view.id.0 < below)
            {
                f(view);
            }
        })?;
        let mut legs = Vec::new();
        for record in &self.long_way {
            legs.clear();
            legs.extend(record.legs.iter().map(LegView::of));
            f(record.view(&legs));
        }
        Ok(())
    }

    /// The page's postings as records of their own, newest first.
    pub fn records(&self) -> Result<Vec<ExportRecord>, DbError> {
        let mut records = owned(|f| self.each(f))?;
        records.sort_unstable_by_key(|r| std::cmp::Reverse(r.id.0));
        Ok(records)
    }
}

/// The postings `each` hands over, as records of their own, in its order; the first that does
/// not make one is the error.
pub(crate) fn owned(
    each: impl FnOnce(&mut dyn FnMut(RecordView<'_>)) -> Result<(), DbError>,
) -> Result<Vec<ExportRecord>, DbError> {
    let mut records = Vec::new();
    let mut failed = Ok(());
    each(&mut |view| {
        if failed.is_ok() {
            match view.to_record() {
                Ok(record) => records.push(record),
                Err(e) => failed = Err(e),
            }
        }
    })?;
    failed.map(|()| records)
}

/// A posting of an export page as it is decoded ([`ExportPage::each`]), what an [`ExportRecord`]
/// holds with its texts borrowed from the page's lines (or from a record read the long way):
/// turning a page into rows then allocates next to nothing, where owned records cost a dozen
/// allocations and half a kilobyte's copy each (BENCHMARKS, Export).
#[derive(Debug, Clone, PartialEq)]
pub struct RecordView<'a> {
    pub id: PostingId,
    pub store: StoreId,
    /// The posting number's text, as written from a parsed one.
    pub number: &'a str,
    pub order_id: Option<i64>,
    pub scheme: Scheme,
    pub status: OzonStatus,
    pub substatus: OzonSubstatus,
    pub in_process_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub buyer_city: Option<&'a str>,
    pub total: Option<Money>,
    /// The carrier legs, first mile first.
    pub legs: &'a [LegView<'a>],
    pub last_event: Option<EventView<'a>>,
    /// Open alerts, worst first.
    pub alerts: &'a [ExportAlert],
    pub penalty_points: i64,
}

/// A leg of a [`RecordView`].
#[derive(Debug, Clone, PartialEq)]
pub struct LegView<'a> {
    pub carrier: &'a str,
    pub tracking_number: &'a str,
    pub role: LegRole,
    /// The leg's latest status and when it was reached.
    pub status: Option<(NormalizedStatus, DateTime<Utc>)>,
}

impl<'a> LegView<'a> {
    fn of(leg: &'a ExportLeg) -> Self {
        LegView {
            carrier: &leg.carrier,
            tracking_number: &leg.tracking_number,
            role: leg.role,
            status: leg.status.clone(),
        }
    }
}

/// The latest event of a [`RecordView`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EventView<'a> {
    pub at: DateTime<Utc>,
    pub text: &'a str,
    pub place: Option<&'a str>,
}

impl RecordView<'_> {
    /// The record viewed, its texts its own and its number parsed.
    pub fn to_record(&self) -> Result<ExportRecord, DbError> {
        let number = PostingNumber::parse(self.number)
            .map_err(|e| crate::export_lines::corrupt(self.id.0, format!("number: {e}")))?;
        let mut posting = Posting::new(self.store, number, self.scheme, self.status.clone());
        posting.order_id = self.order_id;
        posting.substatus = self.substatus.clone();
        posting.in_process_at = self.in_process_at;
        posting.delivered_at = self.delivered_at;
        posting.buyer_city = self.buyer_city.map(str::to_owned);
        posting.total = self.total;
        Ok(ExportRecord {
            id: self.id,
            posting,
            legs: self
                .legs
                .iter()
                .map(|l| ExportLeg {
                    carrier: l.carrier.to_owned(),
                    tracking_number: l.tracking_number.to_owned(),
                    role: l.role,
                    status: l.status.clone(),
                })
                .collect(),
            last_event: self.last_event.map(|e| ExportEvent {
                at: e.at,
                text: e.text.to_owned(),
                place: e.place.map(str::to_owned),
            }),
            alerts: self.alerts.to_vec(),
            penalty_points: self.penalty_points,
        })
    }
}

impl ExportRecord {
    /// The record as a view, with its legs viewed in `legs`.
    fn view<'a>(&'a self, legs: &'a [LegView<'a>]) -> RecordView<'a> {
        let p = &self.posting;
        RecordView {
            id: self.id,
            store: p.store_id,
            number: p.number.as_str(),
            order_id: p.order_id,
            scheme: p.scheme,
            status: p.status.clone(),
            substatus: p.substatus.clone(),
            in_process_at: p.in_process_at,
            delivered_at: p.delivered_at,
            buyer_city: p.buyer_city.as_deref(),
            total: p.total,
            legs,
            last_event: self.last_event.as_ref().map(|e| EventView {
                at: e.at,
                text: &e.text,
                place: e.place.as_deref(),
            }),
            alerts: &self.alerts,
            penalty_points: self.penalty_points,
        }
    }
}

/// A leg as an export row names it.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportLeg {
    pub carrier: String,
    pub tracking_number: String,
    pub role: LegRole,
    /// The leg's latest status and when it was reached.
    pub status: Option<(NormalizedStatus, DateTime<Utc>)>,
}

/// The latest event of a posting, as an export row shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportEvent {
    pub at: DateTime<Utc>,
    pub text: String,
    pub place: Option<String>,
}

/// What the API and the dashboard read.
pub trait Views: Clone + Send + Sync + 'static {
    /// A page of postings by the query, newest first, never outside its stores.
    fn postings_page(
        &self,
        query: &PostingQuery,
    ) -> impl Future<Output = Result<Vec<PostingSummary>, DbError>> + Send;

    /// How many postings the query matches on every page (its cursor and limit aside), counted
    /// up to `at_most + 1`: a larger number is "more than `at_most`", so a broad filter over a
    /// million postings costs a bounded walk.
    fn count_matching(
        &self,
        query: &PostingQuery,
        at_most: u64,
    ) -> impl Future<Output = Result<u64, DbError>> + Send;

    /// One page of an export after its cursor (in the order [`ExportPage::each`] says;
    /// [`ExportPage::records`] puts them newest first), each posting from its line when that is
    /// current, the others the long way (their legs, events, alerts and penalty points joined);
    /// [`ExportPageRead::next`] is the next page's cursor. A query that filters by store alone
    /// ([`PostingQuery::by_store_alone`], the usual "everything of my shops") reads a page as the
    /// deflated blocks of four buckets of 512 ids, a few rows; any other reads the `query.limit`
    /// newest postings it matches, their lines as one aggregated row.
    fn export_page(
        &self,
        query: &PostingQuery,
    ) -> impl Future<Output = Result<ExportPage, DbError>> + Send {
        async move {
            let read = self.read_export_page(query).await?;
            self.finish_export_page(read).await
        }
    }

    /// The first half of [`export_page`](Self::export_page): the page's one query.
    fn read_export_page(
        &self,
        query: &PostingQuery,
    ) -> impl Future<Output = Result<ExportPageRead, DbError>> + Send;

    /// The second half of [`export_page`](Self::export_page): the postings of the page without
    /// a current line read the long way, beside the lines (decoded by [`ExportPage::each`]).
    fn finish_export_page(
        &self,
        read: ExportPageRead,
    ) -> impl Future<Output = Result<ExportPage, DbError>> + Send;

    /// Turns up to `at_most` waiting changes, oldest first, into current lines; how many changes
    /// it took. One process at a time (the `export_lines` chore): two at once could each write
    /// a line read at a different time, the older last.
    fn refresh_export_lines(
        &self,
        at_most: u32,
    ) -> impl Future<Output = Result<usize, DbError>> + Send;

    /// How many changes wait to become lines.
    fn export_changes_waiting(&self) -> impl Future<Output = Result<u64, DbError>> + Send;

    /// Per-carrier figures over the legs of `stores` tracked since `since`.
    fn carrier_stats(
        &self,
        stores: &[StoreId],
        since: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<CarrierStats>, DbError>> + Send;

    /// Per-lane figures (carriers in order, buyer city) over postings since `since`.
    fn lane_stats(
        &self,
        stores: &[StoreId],
        since: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<LaneStats>, DbError>> + Send;

    /// The journeys of postings delivered since `since` (every store), as the arrival
    /// estimates learn from them: milestones from every leg's events.
    fn delivered_journeys(
        &self,
        since: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<Journey>, DbError>> + Send;

    /// The "today" counts: postings at risk by severity and mode, active postings by mode.
    fn overview(
        &self,
        stores: &[StoreId],
    ) -> impl Future<Output = Result<Overview, DbError>> + Send;

    /// How much work is due for the workers at `now`.
    fn queue_depths(
        &self,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<QueueDepths, DbError>> + Send;

    /// Keeps the queue depths measured at `at`, for every node's `/metrics` to serve.
    fn keep_queue_depths(
        &self,
        depths: &QueueDepths,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), DbError>> + Send;

    /// The queue depths last kept, and when they were measured; none before the first.
    fn kept_queue_depths(
        &self,
    ) -> impl Future<Output = Result<Option<(QueueDepths, DateTime<Utc>)>, DbError>> + Send;
}

impl QueueDepths {
    /// The gauges' names (the `queue` label of `ozontrack_queue_depth`, the `name` of a row in
    /// `gauges`), in the order of [`values`](Self::values).
    pub const NAMES: [&'static str; 4] = ["legs_due", "stores_due", "risk_due", "pushes_pending"];

    fn values(&self) -> [u64; 4] {
        [
            self.legs_due,
            self.stores_due,
            self.risk_due,
            self.pushes_pending,
        ]
    }

    fn from_values([legs_due, stores_due, risk_due, pushes_pending]: [u64; 4]) -> Self {
        Self {
            legs_due,
            stores_due,
            risk_due,
            pushes_pending,
        }
    }

    /// Each depth by its gauge name.
    pub fn named(&self) -> impl Iterator<Item = (&'static str, u64)> {
        Self::NAMES.into_iter().zip(self.values())
    }
}

impl SqlDatabase {
    /// A batch of postings with their legs, last event, open alerts and penalty points, in
    /// their order (the long way, for postings without a current line): three queries at once
    /// whatever the batch's size.
    async fn export_details(
        &self,
        postings: Vec<(PostingId, Posting)>,
    ) -> Result<Vec<ExportRecord>, DbError> {
        // A carrier leg and its latest event, through the (leg, time) index by the time the leg
        // keeps: one row for both rather than a query each, as much of the driver's cost is
        // per row (sqlx hands SQLite's rows over one by one from its worker thread).
        type LegLine = (
            i64,
            i64,
            String,
            String,
            String,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<DateTime<Utc>>,
            Option<DateTime<Utc>>,
            Option<String>,
            Option<String>,
            Option<String>,
        );
        let ids: Vec<i64> = postings.iter().map(|(id, _)| id.0).collect();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        // The three reads of a batch go at once: separate connections, and on SQLite separate
        // readers of the WAL, so the batch costs its slowest read, not their sum.
        let (legs, penalties, alerts) = on_db!(&self.db, |pool| {
            let legs = async {
                let mut query = sqlx::QueryBuilder::new(
                    "SELECT l.posting_id, l.id, l.carrier, l.tracking_number, l.role, \
                     l.status_main, l.status_sub, l.status_raw, l.last_event_at, \
                     e.occurred_at, e.raw_text, e.location_text, e.city \
                     FROM legs l LEFT JOIN events e ON e.leg_id = l.id \
                     AND e.occurred_at = l.last_event_at \
                     WHERE l.carrier <> 'ozon' AND",
                );
                push_batch!(query, "l.posting_id", &ids);
                query.push(" ORDER BY l.posting_id, l.id");
                query.build_query_as::<LegLine>().fetch_all(pool).await
            };
            let penalties = async {
                let mut query = sqlx::QueryBuilder::new(
                    "SELECT posting_id, CAST(SUM(points) AS BIGINT) FROM penalty_points WHERE posting_id",
                );
                crate::sql::IdList::push_ids(&mut query, &ids);
                query.push(" GROUP BY posting_id");
                query.build_query_as::<(i64, i64)>().fetch_all(pool).await
            };
            let (legs, penalties, alerts) =
                tokio::join!(legs, penalties, self.open_alerts_of(&ids));
            (legs?, penalties?, alerts?)
        });
        let mut by_posting: HashMap<i64, ExportRecord> = HashMap::with_capacity(ids.len());
        for (id, posting) in postings {
            by_posting.insert(
                id.0,
                ExportRecord {
                    id,
                    posting,
                    legs: Vec::new(),
                    last_event: None,
                    alerts: Vec::new(),
                    penalty_points: 0,
                },
            );
        }
        // Two events of one leg at its latest time repeat the leg: it is taken once.
        let mut last_leg = None;
        for (
            posting,
            leg,
            carrier,
            number,
            role,
            main,
            sub,
            raw,
            at,
            event_at,
            text,
            location,
            city,
        ) in legs
        {
            let Some(row) = by_posting.get_mut(&posting) else {
                continue;
            };
            if last_leg != Some(leg) {
                last_leg = Some(leg);
                let role = LegRole::parse(&role).map_err(|e| DbError::Corrupt {
                    table: "legs",
                    id: posting,
                    reason: e.to_string(),
                })?;
                let status = match (main, at) {
                    (Some(main), Some(at)) => crate::records::status(
                        &main,
                        sub.as_deref().unwrap_or_default(),
                        raw.as_deref().unwrap_or_default(),
                    )
                    .ok()
                    .map(|s| (s, at)),
                    _ => None,
                };
                row.legs.push(ExportLeg {
                    carrier,
                    tracking_number: number,
                    role,
                    status,
                });
            }
            if let (Some(at), Some(text)) = (event_at, text)
                && row.last_event.as_ref().is_none_or(|e| e.at < at)
            {
                row.last_event = Some(ExportEvent {
                    at,
                    text,
                    place: location.filter(|l| !l.is_empty()).or(city),
                });
            }
        }
        for (posting, points) in penalties {
            if let Some(row) = by_posting.get_mut(&posting) {
                row.penalty_points = points;
            }
        }
        for alert in alerts {
            if let Some(row) = by_posting.get_mut(&alert.posting_id.0) {
                row.alerts.push(ExportAlert {
                    severity: alert.severity,
                    why: alert.why,
                });
            }
        }
        Ok(ids
            .into_iter()
            .filter_map(|id| by_posting.remove(&id))
            .collect())
    }

    /// The postings of these ids that exist, with what an export row shows of them, newest
    /// first.
    async fn export_postings_of(&self, ids: &[i64]) -> Result<Vec<(PostingId, Posting)>, DbError> {
        let rows = on_db!(&self.db, |pool| {
            let mut query = sqlx::QueryBuilder::new(format!(
                "SELECT {POSTING_CORE_COLUMNS} FROM postings p WHERE p.id"
            ));
            crate::sql::IdList::push_ids(&mut query, ids);
            query.push(" ORDER BY p.id DESC");
            query
                .build_query_as::<PostingCoreRow>()
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(TryFrom::try_from).collect()
    }

    /// A page of an export by store alone, as one row from one snapshot (a round of the
    /// `export_lines` chore between two statements could hide a stale line): the blocks of the
    /// export's stores in [`BUCKETS_A_PAGE`] buckets below the cursor's (the first page's top is
    /// above the highest bucket holding a block or a change), the ids with a change waiting in
    /// that range, and the next page's upper bucket: the highest below the page holding a block
    /// of these stores or a change, so that an export steps over buckets without any.
    async fn read_block_page(&self, q: &PostingQuery) -> Result<ExportPageRead, DbError> {
        if q.stores.is_empty() {
            return Ok(ExportPageRead::default());
        }
        let stores: Vec<i64> = q.stores.iter().map(|s| s.0).collect();
        // Above the bucket that holds the posting before the cursor.
        let top: Option<i64> = q.before.map(|id| (id.0 + BUCKET - 1).div_euclid(BUCKET));
        let (blocks, changed, next): (Option<Vec<u8>>, Option<String>, Option<i64>) =
            on_db!(&self.db, |pool| {
                // The upper bucket of the highest page below `$below` (an SQL bound, or none)
                // holding a block of these stores or a change.
                macro_rules! push_top_below {
                    ($query:expr, $below:expr) => {{
                        $query
                            .push("(SELECT MAX(x) FROM (SELECT MAX(b.bucket) + 1 AS x ")
                            .push("FROM export_blocks b WHERE b.store_id");
                        push_in!($query, &stores);
                        if let Some(below) = $below {
                            $query.push(" AND b.bucket < ").push(below);
                        }
                        $query
                            .push(" UNION ALL SELECT MAX(c.posting_id) / ")
                            .push(BUCKET)
                            .push(" + 1 FROM export_changes c");
                        if let Some(below) = $below {
                            $query
                                .push(" WHERE c.posting_id < (")
                                .push(below)
                                .push(") * ")
                                .push(BUCKET);
                        }
                        $query.push(") m)");
                    }};
                }
                let low = format!("t.hi - {BUCKETS_A_PAGE}");
                let mut query = sqlx::QueryBuilder::new("WITH t AS (SELECT COALESCE(");
                query.push_bind(top).push(", ");
                push_top_below!(query, None::<&str>);
                query
                    .push(") AS hi) SELECT (SELECT string_agg(b.block, ")
                    .push_bind(&[] as &[u8])
                    .push(" ORDER BY b.bucket, b.store_id) FROM export_blocks b WHERE b.store_id");
                push_in!(query, &stores);
                query
                    .push(format!(" AND b.bucket >= {low} AND b.bucket < t.hi), "))
                    .push("(SELECT string_agg(CAST(c.posting_id AS TEXT), ',') ")
                    .push(format!(
                        "FROM export_changes c WHERE c.posting_id >= ({low}) * {BUCKET} \
                         AND c.posting_id < t.hi * {BUCKET}), "
                    ));
                push_top_below!(query, Some(low.as_str()));
                query.push(" FROM t");
                let mut tx = pool.begin_page_read().await?;
                let row = query.build_query_as().fetch_one(&mut *tx).await?;
                tx.commit().await?;
                row
            });
        Ok(ExportPageRead {
            lines: blocks,
            changed,
            shape: PageShape::Blocks {
                stores: q.stores.clone(),
                below: q.before.map(|id| id.0),
            },
            next: next.map(|bucket| PostingId(bucket * BUCKET)),
        })
    }

    /// The second half of a page of blocks: the blocks inflated, and read the long way the
    /// postings without a line and every one with a change waiting in the page's range that
    /// belongs to one of `stores` (a posting new since its bucket's blocks were made is in
    /// none of them).
    async fn finish_block_page(
        &self,
        blocks: Vec<u8>,
        changed: Option<String>,
        stores: &[StoreId],
        below: Option<i64>,
    ) -> Result<ExportPage, DbError> {
        let (mut lines, mut long_way) = (Vec::new(), Vec::new());
        crate::export_lines::unblock(&blocks, &mut lines, &mut long_way)?;
        let mut stale = ids(changed.as_deref(), "export_changes")?;
        stale.sort_unstable();
        long_way.extend_from_slice(&stale);
        long_way.retain(|id| below.is_none_or(|below| *id < below));
        long_way.sort_unstable();
        long_way.dedup();
        let long_way = if long_way.is_empty() {
            Vec::new()
        } else {
            let mut postings = self.export_postings_of(&long_way).await?;
            postings.retain(|(_, p)| stores.contains(&p.store_id));
            self.export_details(postings).await?
        };
        Ok(ExportPage {
            lines,
            stale,
            long_way,
            below,
        })
    }

    /// The postings a query matches, newest first: one page of the list.
    async fn page_records(&self, q: &PostingQuery) -> Result<Vec<PostingRecord>, DbError> {
        let rows: Vec<PostingRow> = self.matching(q, Shape::Rows("p.*")).await?;
        rows.into_iter().map(PostingRecord::try_from).collect()
    }

    /// The rows of `postings p` a query matches, newest first, in the [`Shape`] asked for.
    async fn matching<R>(&self, q: &PostingQuery, shape: Shape<'_>) -> Result<Vec<R>, DbError>
    where
        R: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
            + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
            + Send
            + Unpin,
    {
        let limit = match shape {
            Shape::Rows(_) | Shape::Lines => i64::from(q.limit),
            Shape::Count(at_most) => crate::sql::count_limit(at_most),
        };
        if q.stores.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let stores: Vec<i64> = q.stores.iter().map(|s| s.0).collect();
        // A count reads every match (up to its cap), so it always starts from the alerts; a
        // page asks how many there are first.
        let risky = match (q.min_risk, shape) {
            (Some(_), Shape::Count(_)) | (None, _) => None,
            (Some(min), Shape::Rows(_) | Shape::Lines) => Some(on_db!(&self.db, |pool| {
                let mut query = sqlx::QueryBuilder::new(
                    "SELECT COUNT(*) FROM alerts WHERE resolved_at IS NULL AND store_id",
                );
                push_in!(query, &stores);
                query.push(" AND severity IN (");
                let mut list = query.separated(", ");
                for s in Severity::ALL.iter().copied().filter(|s| *s >= min) {
                    list.push_bind(s.as_str());
                }
                query.push(")");
                query.build_query_scalar::<i64>().fetch_one(pool).await?
            })),
        };
        // The filters, after the cursor: pushed twice onto a page of lines, whose oldest
        // posting is found by the same filters.
        macro_rules! push_where {
            ($query:expr) => {{
                $query.push(" WHERE p.store_id");
                push_in!($query, &stores);
                if let Some(status) = &q.status {
                    $query.push(" AND p.status = ").push_bind(status.as_str());
                }
                if let Some(scheme) = q.scheme {
                    $query.push(" AND p.scheme = ").push_bind(scheme.as_str());
                }
                if let Some(from) = q.from {
                    $query.push(" AND p.in_process_at >= ").push_bind(from);
                }
                if let Some(to) = q.to {
                    $query.push(" AND p.in_process_at < ").push_bind(to);
                }
                if let Some(carrier) = &q.carrier {
                    $query
                        .push(" AND EXISTS (SELECT 1 FROM legs l WHERE l.posting_id = p.id AND l.carrier = ")
                        .push_bind(carrier.as_str())
                        .push(")");
                }
                if let Some(text) = &q.text {
                    let text = text.trim().to_uppercase();
                    // A posting number's start (LIKE's wildcards in the text are taken literally).
                    let escaped = text
                        .replace('\\', "\\\\")
                        .replace('%', "\\%")
                        .replace('_', "\\_");
                    $query
                        .push(" AND (p.posting_number LIKE ")
                        .push_bind(format!("{escaped}%"))
                        .push(" ESCAPE '\\' OR p.tracking_number = ")
                        .push_bind(text.clone())
                        .push(" OR EXISTS (SELECT 1 FROM legs l WHERE l.posting_id = p.id AND l.tracking_number = ")
                        .push_bind(text)
                        .push("))");
                }
                if let Some(min) = q.min_risk {
                    // Few matching alerts, or a count: drive the query from them. A page among many:
                    // probe each posting through the open-alert index while the page fills (a walk
                    // of ~50 / density).
                    if matches!(shape, Shape::Count(_)) || risky.is_some_and(|n| n <= FEW_ALERTS) {
                        $query.push(
                            " AND p.id IN (SELECT a.posting_id FROM alerts a \
                             WHERE a.resolved_at IS NULL AND a.store_id",
                        );
                        push_in!($query, &stores);
                        $query.push(" AND a.severity IN (");
                    } else {
                        $query.push(
                            " AND EXISTS (SELECT 1 FROM alerts a WHERE a.posting_id = p.id \
                             AND a.resolved_at IS NULL AND a.severity IN (",
                        );
                    }
                    let mut list = $query.separated(", ");
                    for s in Severity::ALL.iter().copied().filter(|s| *s >= min) {
                        list.push_bind(s.as_str());
                    }
                    $query.push("))");
                }
                if !matches!(shape, Shape::Count(_))
                    && let Some(before) = q.before
                {
                    $query.push(" AND p.id < ").push_bind(before.0);
                }
            }};
        }
        Ok(on_db!(&self.db, |pool| {
            let mut query = sqlx::QueryBuilder::new(match shape {
                Shape::Rows(select) => format!("SELECT {select} FROM postings p"),
                Shape::Count(_) => "SELECT COUNT(*) FROM (SELECT 1 FROM postings p".to_owned(),
                Shape::Lines => LINES_PAGE[0].to_owned(),
            });
            if matches!(shape, Shape::Lines) {
                query.push_bind(&[] as &[u8]).push(LINES_PAGE[1]);
                push_where!(query);
                query
                    .push(LINES_PAGE[2])
                    .push_bind(limit - 1)
                    .push(LINES_PAGE[3])
                    .push_bind(i64::MIN)
                    .push(LINES_PAGE[4]);
                if let Some(before) = q.before {
                    query.push(" AND e.posting_id < ").push_bind(before.0);
                }
            }
            push_where!(query);
            match shape {
                Shape::Rows(_) => {
                    query.push(" ORDER BY p.id DESC LIMIT ").push_bind(limit);
                }
                Shape::Lines => {
                    query.push(" AND p.id >= b.low");
                }
                Shape::Count(_) => {
                    query.push(" LIMIT ").push_bind(limit).push(") matched");
                }
            }
            if matches!(shape, Shape::Lines) {
                let mut tx = pool.begin_page_read().await?;
                let rows = query.build_query_as::<R>().fetch_all(&mut *tx).await?;
                tx.commit().await?;
                rows
            } else {
                query.build_query_as::<R>().fetch_all(pool).await?
            }
        }))
    }
}

/// What [`SqlDatabase::matching`] reads of the postings a query matches.
#[derive(Clone, Copy)]
enum Shape<'a> {
    /// A page of rows (after the cursor, up to the limit) with these columns.
    Rows(&'a str),
    /// One row: how many match on every page, up to this many and one more.
    Count(u64),
    /// One row of a page's export lines (see [`LINES_PAGE`]).
    Lines,
}

/// A page of export lines as one row: the current lines one after the other (a line knows where
/// it ends; the empty separator is bound between the first two parts), the ids of the postings
/// without a line joined by commas, how many postings matched, the oldest of them (the next
/// page's cursor, known before a line is decoded) and the ids with a change waiting between the
/// page's oldest and newest posting (their lines are stale; an id there may belong to a posting
/// the filters leave out). Aggregated in the database because the driver's cost is per row, not
/// per byte. The page is a range of ids: up to the cursor, down to `b.low`, the `limit`-th
/// newest posting the same filters match (the filters are pushed into it, then the offset and
/// the smallest id are bound), or the first posting when fewer remain. The lines are bounded by
/// the same range (the cursor bound after the last part), so that PostgreSQL merges the two
/// index scans instead of searching the lines' index once a posting, and SQLite walks the
/// postings' index and the lines in key order; neither sorts, nor searches for a waiting change
/// per posting (BENCHMARKS, Export). The records are put in order after.
const LINES_PAGE: [&str; 5] = [
    "SELECT string_agg(e.line, ",
    "), string_agg(CASE WHEN e.line IS NULL THEN CAST(p.id AS TEXT) END, ','), COUNT(*), \
     MIN(p.id), (SELECT string_agg(CAST(c.posting_id AS TEXT), ',') FROM export_changes c \
     WHERE c.posting_id BETWEEN MIN(p.id) AND MAX(p.id)) \
     FROM (SELECT COALESCE((SELECT p.id FROM postings p",
    " ORDER BY p.id DESC LIMIT 1 OFFSET ",
    "), ",
    ") AS low) b CROSS JOIN postings p \
     LEFT JOIN export_lines e ON e.posting_id = p.id AND e.posting_id >= b.low",
];

/// Buckets of ids a page of blocks covers: up to 2 048 postings, as a page of lines holds 2 000.
const BUCKETS_A_PAGE: i64 = 4;

/// The one row of [`LINES_PAGE`]: the lines, the ids read the long way, how many postings, the
/// oldest, and the ids with a change waiting.
type LinesRow = (
    Option<Vec<u8>>,
    Option<String>,
    i64,
    Option<i64>,
    Option<String>,
);

/// The posting ids of a comma-separated list of [`LINES_PAGE`], read from `table`.
fn ids(list: Option<&str>, table: &'static str) -> Result<Vec<i64>, DbError> {
    list.unwrap_or_default()
        .split_terminator(',')
        .map(|id| {
            id.parse::<i64>().map_err(|e| DbError::Corrupt {
                table,
                id: 0,
                reason: format!("posting id {id:?}: {e}"),
            })
        })
        .collect()
}

/// The journeys estimates learn from on SQLite: one row per delivered posting, each of its legs
/// and events (in leg order, then time) as the words `carrier role main sub time`, `- - -` for a
/// leg without events; codes and times only (a leg's raw status words are left out: an unknown
/// status marks no milestone by them). SQLite's driver hands a query's rows one by one from a
/// thread of its own, waking the reader for each: a row per event made learning from a million
/// postings' history take 9 seconds, before the first export of a command (BENCHMARKS, Export).
const JOURNEYS_PACKED: &str = "SELECT p.id, p.scheme, p.buyer_city, p.in_process_at, \
     p.delivered_at, string_agg(l.carrier || ' ' || l.role || ' ' || \
     COALESCE(e.status_main || ' ' || e.status_sub || ' ' || e.occurred_at, '- - -'), ' ' \
     ORDER BY l.id, e.occurred_at) AS legs \
     FROM postings p JOIN legs l ON l.posting_id = p.id LEFT JOIN events e ON e.leg_id = l.id \
     WHERE p.delivered_at >= $1 AND p.in_process_at IS NOT NULL GROUP BY p.id ORDER BY p.id";

/// The same journeys on PostgreSQL, a row per leg and event: its driver reads rows cheaply and
/// the join runs on parallel workers, where packing the words took it twice as long.
const JOURNEYS_ROWS: &str = "SELECT p.id, p.scheme, p.buyer_city, p.in_process_at, \
     p.delivered_at, l.carrier, e.occurred_at, l.role, e.status_main, e.status_sub, e.status_raw \
     FROM postings p JOIN legs l ON l.posting_id = p.id LEFT JOIN events e ON e.leg_id = l.id \
     WHERE p.delivered_at >= $1 AND p.in_process_at IS NOT NULL ORDER BY p.id, l.id, e.occurred_at";

/// A delivered posting as a journey's rows begin.
#[derive(sqlx::FromRow)]
struct JourneyPosting {
    id: i64,
    scheme: String,
    buyer_city: Option<String>,
    in_process_at: DateTime<Utc>,
    delivered_at: DateTime<Utc>,
}

/// A row of [`JOURNEYS_PACKED`].
#[derive(sqlx::FromRow)]
struct PackedJourney {
    #[sqlx(flatten)]
    posting: JourneyPosting,
    legs: Option<String>,
}

/// A row of [`JOURNEYS_ROWS`].
#[derive(sqlx::FromRow)]
struct JourneyEvent {
    #[sqlx(flatten)]
    posting: JourneyPosting,
    carrier: String,
    role: String,
    occurred_at: Option<DateTime<Utc>>,
    status_main: Option<String>,
    status_sub: Option<String>,
    status_raw: Option<String>,
}

/// Delivered journeys as they are read, leg after leg and event after event of each posting.
#[derive(Default)]
struct Journeys {
    done: Vec<Journey>,
    open: Option<OpenJourney>,
}

/// The posting being read: its row and its lane and events so far.
struct OpenJourney {
    posting: JourneyPosting,
    scheme: Scheme,
    lane: Vec<String>,
    events: Vec<(LegRole, DateTime<Utc>, NormalizedStatus)>,
}

impl Journeys {
    /// The posting being read, if any.
    fn open_id(&self) -> Option<i64> {
        self.open.as_ref().map(|o| o.posting.id)
    }

    /// Starts the next posting (the one before is done).
    fn start(&mut self, posting: JourneyPosting) -> Result<(), DbError> {
        let next = OpenJourney {
            scheme: Scheme::parse(&posting.scheme)
                .map_err(crate::records::corrupt("postings", posting.id))?,
            posting,
            lane: Vec::new(),
            events: Vec::new(),
        };
        if let Some(done) = self.open.replace(next) {
            self.done.push(done.journey());
        }
        Ok(())
    }

    /// The open posting's legs and events as [`JOURNEYS_PACKED`] packs them.
    fn packed(&mut self, words: &str) -> Result<(), DbError> {
        let mut words = words.split_terminator(' ');
        while let Some(carrier) = words.next() {
            let (Some(role), Some(main), Some(sub), Some(at)) =
                (words.next(), words.next(), words.next(), words.next())
            else {
                return Err(self.corrupt("a leg short of its words"));
            };
            let event = match main {
                "-" => None,
                _ => Some((
                    DateTime::parse_from_rfc3339(at)
                        .map_err(|e| self.corrupt(&format!("time {at:?}: {e}")))?
                        .with_timezone(&Utc),
                    main,
                    sub,
                    "",
                )),
            };
            self.leg(carrier, role, event)?;
        }
        Ok(())
    }

    /// A leg of the open posting and one of its events (`at`, main and sub-status codes, raw
    /// words), or none. An event whose status this build cannot read teaches nothing.
    fn leg(
        &mut self,
        carrier: &str,
        role: &str,
        event: Option<(DateTime<Utc>, &str, &str, &str)>,
    ) -> Result<(), DbError> {
        let Some(o) = self.open.as_mut() else {
            return Err(self.corrupt("a leg read before its posting"));
        };
        add_lane_carrier(&mut o.lane, carrier);
        let Ok(role) = LegRole::parse(role) else {
            return Err(self.corrupt(&format!("leg role {role:?}")));
        };
        if let Some((at, main, sub, raw)) = event
            && let Ok(status) = crate::records::status(main, sub, raw)
        {
            o.events.push((role, at, status));
        }
        Ok(())
    }

    /// The open posting's legs and events do not read.
    fn corrupt(&self, what: &str) -> DbError {
        DbError::Corrupt {
            table: "postings",
            id: self.open_id().unwrap_or(0),
            reason: format!("its legs and events as read for the estimates: {what}"),
        }
    }

    fn finish(mut self) -> Vec<Journey> {
        if let Some(done) = self.open.take() {
            self.done.push(done.journey());
        }
        self.done
    }
}

impl OpenJourney {
    fn journey(self) -> Journey {
        Journey::new(
            self.scheme,
            self.lane,
            self.posting.buyer_city,
            self.posting.in_process_at,
            self.events.iter().map(|(r, t, s)| (*r, *t, s)),
            Some(self.posting.delivered_at),
        )
    }
}

/// Up to this many matching open alerts, a risk-filtered page is read from the alerts' side.
const FEW_ALERTS: i64 = 2000;

impl Views for SqlDatabase {
    async fn postings_page(&self, q: &PostingQuery) -> Result<Vec<PostingSummary>, DbError> {
        let records = self.page_records(q).await?;
        let ids: Vec<i64> = records.iter().map(|r| r.id.0).collect();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let (carriers, alerts) = on_db!(&self.db, |pool| {
            let mut query = sqlx::QueryBuilder::new(
                "SELECT DISTINCT posting_id, carrier FROM legs WHERE carrier <> 'ozon' AND posting_id",
            );
            push_in!(query, &ids);
            let carriers = query
                .build_query_as::<(i64, String)>()
                .fetch_all(pool)
                .await?;
            let mut query = sqlx::QueryBuilder::new(
                "SELECT posting_id, severity FROM alerts WHERE resolved_at IS NULL AND posting_id",
            );
            push_in!(query, &ids);
            let alerts = query
                .build_query_as::<(i64, String)>()
                .fetch_all(pool)
                .await?;
            (carriers, alerts)
        });
        let mut by_posting: HashMap<i64, Vec<String>> = HashMap::new();
        for (posting, carrier) in carriers {
            by_posting.entry(posting).or_default().push(carrier);
        }
        let mut risk: HashMap<i64, Severity> = HashMap::new();
        for (posting, severity) in alerts {
            if let Ok(s) = Severity::parse(&severity) {
                let worst = risk.entry(posting).or_insert(s);
                *worst = (*worst).max(s);
            }
        }
        Ok(records
            .into_iter()
            .map(|record| {
                let mut carriers = by_posting.remove(&record.id.0).unwrap_or_default();
                carriers.sort();
                PostingSummary {
                    risk: risk.get(&record.id.0).copied(),
                    carriers,
                    record,
                }
            })
            .collect())
    }

    async fn count_matching(&self, q: &PostingQuery, at_most: u64) -> Result<u64, DbError> {
        let counted: Vec<(i64,)> = self.matching(q, Shape::Count(at_most)).await?;
        Ok(counted
            .first()
            .map_or(0, |(n,)| u64::try_from(*n).unwrap_or(0)))
    }

    async fn read_export_page(&self, q: &PostingQuery) -> Result<ExportPageRead, DbError> {
        if q.by_store_alone() {
            return self.read_block_page(q).await;
        }
        let rows: Vec<LinesRow> = self.matching(q, Shape::Lines).await?;
        Ok(rows
            .into_iter()
            .next()
            .map(
                |(lines, long_way, postings, last, changed)| ExportPageRead {
                    lines,
                    changed,
                    shape: PageShape::Lines(long_way),
                    next: last
                        .filter(|_| postings >= i64::from(q.limit))
                        .map(PostingId),
                },
            )
            .unwrap_or_default())
    }

    async fn finish_export_page(&self, read: ExportPageRead) -> Result<ExportPage, DbError> {
        let long_way = match read.shape {
            PageShape::Blocks { stores, below } => {
                let blocks = read.lines.unwrap_or_default();
                return self
                    .finish_block_page(blocks, read.changed, &stores, below)
                    .await;
            }
            PageShape::Lines(long_way) => long_way,
        };
        let lines = read.lines.unwrap_or_default();
        let mut long_way = ids(long_way.as_deref(), "postings")?;
        let mut changed = ids(read.changed.as_deref(), "export_changes")?;
        // Of the ids with a change waiting, those of the page's lines are read the long way (the
        // others belong to postings the filters leave out): found by a walk of the lines' ids,
        // only on a page with a change waiting.
        let mut stale = Vec::new();
        if !changed.is_empty() {
            changed.sort_unstable();
            crate::export_lines::each(&lines, |view| {
                if changed.binary_search(&view.id.0).is_ok() {
                    stale.push(view.id.0);
                }
            })?;
            stale.sort_unstable();
            long_way.extend_from_slice(&stale);
        }
        let long_way = if long_way.is_empty() {
            Vec::new()
        } else {
            let postings = self.export_postings_of(&long_way).await?;
            self.export_details(postings).await?
        };
        Ok(ExportPage {
            lines,
            stale,
            long_way,
            below: None,
        })
    }

    async fn refresh_export_lines(&self, at_most: u32) -> Result<usize, DbError> {
        let changes: Vec<(i64, i64)> = on_db!(&self.db, |pool| {
            sqlx::query_as("SELECT seq, posting_id FROM export_changes ORDER BY seq LIMIT $1")
                .bind(i64::from(at_most))
                .fetch_all(pool)
                .await?
        });
        if changes.is_empty() {
            return Ok(0);
        }
        let mut ids: Vec<i64> = changes.iter().map(|(_, posting)| *posting).collect();
        ids.sort_unstable();
        ids.dedup();
        let mut buckets: Vec<i64> = ids.iter().map(|id| id.div_euclid(BUCKET)).collect();
        buckets.dedup();
        let postings = self.export_postings_of(&ids).await?;
        let records = self.export_details(postings).await?;
        let mut lines: Vec<(i64, Vec<u8>)> = records
            .iter()
            .filter_map(|r| Some((r.id.0, crate::export_lines::encode(r)?)))
            .collect();
        // Oldest first: SQLite appends rising keys to full pages, while falling ones (the
        // records' newest-first order) split each page in two and left the table half empty,
        // read page by page by every export.
        lines.sort_unstable_by_key(|(id, _)| *id);
        // A posting gone, or one whose line cannot be written, keeps no line (it is read the
        // long way).
        let lined: HashSet<i64> = lines.iter().map(|(id, _)| *id).collect();
        let gone: Vec<i64> = ids.into_iter().filter(|id| !lined.contains(id)).collect();
        let seqs: Vec<i64> = changes.iter().map(|(seq, _)| *seq).collect();
        // Only the changes read above are taken: one that came after them may postdate the
        // lines just read, and stays for the next round.
        on_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            if !gone.is_empty() {
                let mut query =
                    sqlx::QueryBuilder::new("DELETE FROM export_lines WHERE posting_id");
                crate::sql::IdList::push_ids(&mut query, &gone);
                query.build().execute(&mut *tx).await?;
            }
            for chunk in lines.chunks(crate::sql::ROWS_PER_STATEMENT) {
                let mut query =
                    sqlx::QueryBuilder::new("INSERT INTO export_lines (posting_id, line) ");
                query.push_values(chunk, |mut row, (id, line)| {
                    row.push_bind(*id).push_bind(line.as_slice());
                });
                query.push(" ON CONFLICT (posting_id) DO UPDATE SET line = excluded.line");
                query.build().execute(&mut *tx).await?;
            }
            // The blocks of every bucket a change fell in, made again from the lines as they
            // now are, of every store (a posting may have moved to another).
            for bucket in &buckets {
                let (low, high) = (bucket * BUCKET, (bucket + 1) * BUCKET);
                sqlx::query("DELETE FROM export_blocks WHERE bucket = $1")
                    .bind(*bucket)
                    .execute(&mut *tx)
                    .await?;
                let rows: Vec<(i64, i64, Option<Vec<u8>>)> = sqlx::query_as(
                    "SELECT p.store_id, p.id, e.line FROM postings p \
                     LEFT JOIN export_lines e ON e.posting_id = p.id \
                     WHERE p.id >= $1 AND p.id < $2 ORDER BY p.store_id, p.id",
                )
                .bind(low)
                .bind(high)
                .fetch_all(&mut *tx)
                .await?;
                for store in rows.chunk_by(|a, b| a.0 == b.0) {
                    let missing: Vec<i64> = store
                        .iter()
                        .filter(|(_, _, line)| line.is_none())
                        .map(|(_, id, _)| *id)
                        .collect();
                    let block = crate::export_lines::block(
                        &missing,
                        store.iter().filter_map(|(_, _, line)| line.as_deref()),
                    );
                    sqlx::query(
                        "INSERT INTO export_blocks (store_id, bucket, block) VALUES ($1, $2, $3)",
                    )
                    .bind(store[0].0)
                    .bind(*bucket)
                    .bind(block)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            let mut query = sqlx::QueryBuilder::new("DELETE FROM export_changes WHERE seq");
            crate::sql::IdList::push_ids(&mut query, &seqs);
            query.build().execute(&mut *tx).await?;
            tx.commit().await?;
        });
        Ok(changes.len())
    }

    async fn export_changes_waiting(&self) -> Result<u64, DbError> {
        let n: i64 = on_db!(&self.db, |pool| {
            sqlx::query_scalar("SELECT COUNT(*) FROM export_changes")
                .fetch_one(pool)
                .await?
        });
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn carrier_stats(
        &self,
        stores: &[StoreId],
        since: DateTime<Utc>,
    ) -> Result<Vec<CarrierStats>, DbError> {
        if stores.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<i64> = stores.iter().map(|s| s.0).collect();
        let rows = on_db!(&self.db, |pool| {
            let mut query = sqlx::QueryBuilder::new(
                "SELECT l.carrier, l.status_main, COALESCE(p.in_process_at, l.created_at), \
                 l.last_event_at, CASE WHEN EXISTS (SELECT 1 FROM alerts a \
                 WHERE a.posting_id = l.posting_id AND a.rule = 'stale' \
                 AND a.resolved_at IS NULL AND a.leg_number = l.tracking_number) \
                 THEN 1 ELSE 0 END \
                 FROM legs l JOIN postings p ON p.id = l.posting_id \
                 WHERE l.carrier <> 'ozon' AND l.created_at >= ",
            );
            query.push_bind(since).push(" AND p.store_id");
            push_in!(query, &ids);
            query
                .build_query_as::<(
                    String,
                    Option<String>,
                    DateTime<Utc>,
                    Option<DateTime<Utc>>,
                    i64,
                )>()
                .fetch_all(pool)
                .await?
        });
        let mut by_carrier: std::collections::BTreeMap<String, (CarrierStats, Vec<f64>)> =
            std::collections::BTreeMap::new();
        for (carrier, status, started, last, stale) in rows {
            let (stats, transit) = by_carrier.entry(carrier.clone()).or_insert_with(|| {
                (
                    CarrierStats {
                        carrier,
                        legs: 0,
                        delivered: 0,
                        stale_open: 0,
                        transit_days_p50: None,
                        transit_days_p90: None,
                        transit_histogram: vec![0; HISTOGRAM_DAYS + 1],
                    },
                    Vec::new(),
                )
            });
            stats.legs += 1;
            stats.stale_open += u64::from(stale != 0);
            if status.as_deref() == Some("delivered")
                && let Some(last) = last
            {
                stats.delivered += 1;
                let days = (last - started).num_seconds().max(0) as f64 / 86_400.0;
                transit.push(days);
                let bucket = (days.floor() as usize).min(HISTOGRAM_DAYS);
                stats.transit_histogram[bucket] += 1;
            }
        }
        Ok(by_carrier
            .into_values()
            .map(|(mut stats, mut transit)| {
                stats.transit_days_p50 = quantile_days(&mut transit, 0.5);
                stats.transit_days_p90 = quantile_days(&mut transit, 0.9);
                stats
            })
            .collect())
    }

    async fn lane_stats(
        &self,
        stores: &[StoreId],
        since: DateTime<Utc>,
    ) -> Result<Vec<LaneStats>, DbError> {
        if stores.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<i64> = stores.iter().map(|s| s.0).collect();
        let stale: HashSet<i64> = on_db!(&self.db, |pool| {
            let mut query = sqlx::QueryBuilder::new(
                "SELECT DISTINCT posting_id FROM alerts \
                 WHERE rule = 'stale' AND resolved_at IS NULL AND store_id",
            );
            push_in!(query, &ids);
            query.build_query_scalar::<i64>().fetch_all(pool).await?
        })
        .into_iter()
        .collect();
        // Streamed in posting order and folded a posting at a time: a store with a million
        // postings is read without holding its legs in memory.
        type Key = (Vec<String>, Option<String>);
        let mut lanes: BTreeMap<Key, (LaneStats, Vec<f64>)> = BTreeMap::new();
        let mut current: Option<(i64, Key, Option<f64>)> = None;
        let mut fold = |posting: Option<(i64, Key, Option<f64>)>| {
            let Some((id, key, transit)) = posting else {
                return;
            };
            let (lane, days) = lanes.entry(key.clone()).or_insert_with(|| {
                (
                    LaneStats {
                        carriers: key.0,
                        buyer_city: key.1,
                        postings: 0,
                        delivered: 0,
                        stale_open: 0,
                        transit_days_p50: None,
                        transit_days_p90: None,
                    },
                    Vec::new(),
                )
            });
            lane.postings += 1;
            lane.stale_open += u64::from(stale.contains(&id));
            if let Some(t) = transit {
                lane.delivered += 1;
                days.push(t);
            }
        };
        on_db!(&self.db, |pool| {
            let mut query = sqlx::QueryBuilder::new(
                "SELECT p.id, l.carrier, p.buyer_city, p.in_process_at, p.delivered_at \
                 FROM postings p JOIN legs l ON l.posting_id = p.id \
                 WHERE l.carrier <> 'ozon' AND p.in_process_at >= ",
            );
            query.push_bind(since).push(" AND p.store_id");
            push_in!(query, &ids);
            query.push(" ORDER BY p.id, l.id");
            let mut rows = query
                .build_query_as::<(
                    i64,
                    String,
                    Option<String>,
                    Option<DateTime<Utc>>,
                    Option<DateTime<Utc>>,
                )>()
                .fetch(pool);
            while let Some((posting, carrier, city, started, delivered)) = rows.try_next().await? {
                match &mut current {
                    Some((id, (carriers, _), _)) if *id == posting => {
                        add_lane_carrier(carriers, &carrier);
                    }
                    _ => {
                        let transit = started
                            .zip(delivered)
                            .map(|(s, d)| (d - s).num_seconds().max(0) as f64 / 86_400.0);
                        let mut carriers = Vec::new();
                        add_lane_carrier(&mut carriers, &carrier);
                        fold(current.replace((posting, (carriers, city), transit)));
                    }
                }
            }
        });
        fold(current.take());
        let mut out: Vec<LaneStats> = lanes
            .into_values()
            .map(|(mut lane, mut days)| {
                lane.transit_days_p50 = quantile_days(&mut days, 0.5);
                lane.transit_days_p90 = quantile_days(&mut days, 0.9);
                lane
            })
            .collect();
        out.sort_by(|a, b| {
            b.postings
                .cmp(&a.postings)
                .then(a.carriers.cmp(&b.carriers))
        });
        Ok(out)
    }

    async fn delivered_journeys(&self, since: DateTime<Utc>) -> Result<Vec<Journey>, DbError> {
        let mut journeys = Journeys::default();
        match &self.db {
            crate::sql::Db::Sqlite(pool) => {
                let mut rows = sqlx::query_as::<_, PackedJourney>(JOURNEYS_PACKED)
                    .bind(since)
                    .fetch(pool);
                while let Some(row) = rows.try_next().await? {
                    journeys.start(row.posting)?;
                    journeys.packed(row.legs.as_deref().unwrap_or_default())?;
                }
            }
            crate::sql::Db::Postgres(pool) => {
                let mut rows = sqlx::query_as::<_, JourneyEvent>(JOURNEYS_ROWS)
                    .bind(since)
                    .fetch(pool);
                while let Some(row) = rows.try_next().await? {
                    if journeys.open_id() != Some(row.posting.id) {
                        journeys.start(row.posting)?;
                    }
                    let event = match (row.occurred_at, &row.status_main, &row.status_sub) {
                        (Some(at), Some(main), Some(sub)) => Some((
                            at,
                            main.as_str(),
                            sub.as_str(),
                            row.status_raw.as_deref().unwrap_or(""),
                        )),
                        _ => None,
                    };
                    journeys.leg(&row.carrier, &row.role, event)?;
                }
            }
        }
        Ok(journeys.finish())
    }

    async fn overview(&self, stores: &[StoreId]) -> Result<Overview, DbError> {
        if stores.is_empty() {
            return Ok(Overview::default());
        }
        let ids: Vec<i64> = stores.iter().map(|s| s.0).collect();
        let (alerts, active) = on_db!(&self.db, |pool| {
            // A posting counts once, at its worst open alert.
            let mut query = sqlx::QueryBuilder::new(
                "SELECT a.posting_id, a.severity, p.scheme FROM alerts a \
                 JOIN postings p ON p.id = a.posting_id \
                 WHERE a.resolved_at IS NULL AND a.store_id",
            );
            push_in!(query, &ids);
            let alerts = query
                .build_query_as::<(i64, String, String)>()
                .fetch_all(pool)
                .await?;
            let mut query = sqlx::QueryBuilder::new(format!(
                "SELECT scheme, COUNT(*) FROM postings WHERE status NOT IN {} AND store_id",
                final_statuses()
            ));
            push_in!(query, &ids);
            query.push(" GROUP BY scheme ORDER BY scheme");
            let active = query
                .build_query_as::<(String, i64)>()
                .fetch_all(pool)
                .await?;
            (alerts, active)
        });
        let rank = |s: &str| Severity::parse(s).ok();
        let mut worst: HashMap<i64, (String, String)> = HashMap::new();
        for (posting, severity, scheme) in alerts {
            match worst.get(&posting) {
                Some((seen, _)) if rank(seen) >= rank(&severity) => {}
                _ => {
                    worst.insert(posting, (severity, scheme));
                }
            }
        }
        let mut counts: BTreeMap<(String, String), u64> = BTreeMap::new();
        for (severity, scheme) in worst.into_values() {
            *counts.entry((severity, scheme)).or_default() += 1;
        }
        Ok(Overview {
            at_risk: counts
                .into_iter()
                .map(|((severity, mode), postings)| RiskCount {
                    severity,
                    mode,
                    postings,
                })
                .collect(),
            active: active
                .into_iter()
                .map(|(mode, n)| ModeCount {
                    mode,
                    postings: n.max(0) as u64,
                })
                .collect(),
        })
    }

    async fn queue_depths(&self, now: DateTime<Utc>) -> Result<QueueDepths, DbError> {
        let (legs, stores, risk, pushes) = on_db!(&self.db, |pool| {
            let count =
                |sql: &'static str| sqlx::query_scalar::<_, i64>(sql).bind(now).fetch_one(pool);
            (
                count("SELECT COUNT(*) FROM legs WHERE next_check_at <= $1").await?,
                count("SELECT COUNT(*) FROM stores WHERE next_check_at <= $1").await?,
                // Through the (store_id, risk_due_at) index, store by store: a scrape never
                // scans the postings.
                count(
                    "SELECT COUNT(*) FROM postings \
                     WHERE store_id IN (SELECT id FROM stores) AND risk_due_at <= $1",
                )
                .await?,
                sqlx::query_scalar::<_, i64>(
                    "SELECT COUNT(*) FROM ozon_pushes WHERE processed_at IS NULL",
                )
                .fetch_one(pool)
                .await?,
            )
        });
        let n = |x: i64| x.max(0) as u64;
        Ok(QueueDepths {
            legs_due: n(legs),
            stores_due: n(stores),
            risk_due: n(risk),
            pushes_pending: n(pushes),
        })
    }

    async fn keep_queue_depths(
        &self,
        depths: &QueueDepths,
        at: DateTime<Utc>,
    ) -> Result<(), DbError> {
        on_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            for (name, value) in depths.named() {
                sqlx::query(
                    "INSERT INTO gauges (name, value, measured_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (name) DO UPDATE \
                     SET value = excluded.value, measured_at = excluded.measured_at",
                )
                .bind(name)
                .bind(i64::try_from(value).unwrap_or(i64::MAX))
                .bind(at)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    async fn kept_queue_depths(&self) -> Result<Option<(QueueDepths, DateTime<Utc>)>, DbError> {
        let rows = on_db!(&self.db, |pool| {
            sqlx::query_as::<_, (String, i64, DateTime<Utc>)>(
                "SELECT name, value, measured_at FROM gauges",
            )
            .fetch_all(pool)
            .await?
        });
        let mut values = [0; 4];
        let mut at = None;
        for (name, value, measured_at) in rows {
            // A gauge of a later version: this one does not serve it.
            let Some(i) = QueueDepths::NAMES.iter().position(|n| *n == name) else {
                continue;
            };
            values[i] = value.max(0) as u64;
            at = at.max(Some(measured_at));
        }
        Ok(at.map(|at| (QueueDepths::from_values(values), at)))
    }
}

/// The `q` quantile of transit times in days (nearest rank), to a tenth of a day.
pub(crate) fn quantile_days(days: &mut [f64], q: f64) -> Option<f64> {
    days.sort_by(f64::total_cmp);
    let last = days.len().checked_sub(1)?;
    let rank = ((q * last as f64).round() as usize).min(last);
    Some((days[rank] * 10.0).round() / 10.0)
}
