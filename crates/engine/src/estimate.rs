//! Estimating arrival: the milestone model ([`ozontrack_domain::estimate::Model`]) learned from
//! the deliveries of the last 130 days (from milestones at least 40 days old), kept in memory
//! for delivery windows. Learning reads every delivered journey's events, far too slow for one
//! page view, so the book is refreshed
//! in the background at most every quarter of an hour of real time (it protects the database,
//! which runs in real time even when the demo's clock does not) and a reader uses what it has.
//! Lanes are physical: deliveries of every store teach every store's estimates.

use std::sync::{Arc, RwLock};

use chrono::{DateTime, Duration, Utc};
use ozontrack_db::{Database, DbError};
use ozontrack_domain::estimate::{self, Journey, Model, Window};
use ozontrack_domain::trail::TrailLeg;
use ozontrack_domain::{LegRole, NormalizedStatus, OzonStatus, Posting, Scheme};

/// How often the book is read again.
const REFRESH_EVERY: std::time::Duration = std::time::Duration::from_secs(15 * 60);
/// How far back deliveries are learned from.
const HISTORY_DAYS: i64 = 90 + estimate::SETTLE_DAYS;

#[derive(Debug, Default)]
struct Book {
    read_at: Option<std::time::Instant>,
    model: Model,
}

/// The arrival model, learned from recent deliveries.
#[derive(Debug, Default)]
pub struct EstimateBook {
    book: RwLock<Book>,
    /// Held while the book learns, so one learning runs at a time and a reader that needs
    /// the learned model can wait for the one under way.
    learning: Arc<tokio::sync::Mutex<()>>,
}

impl EstimateBook {
    /// Learns from the deliveries of the last 130 days now.
    pub async fn refresh<D: Database>(&self, db: &D, now: DateTime<Utc>) -> Result<(), DbError> {
        let journeys = db
            .delivered_journeys(now - Duration::days(HISTORY_DAYS))
            .await?;
        // Learning sorts every group: CPU work, kept off the async workers.
        let model = tokio::task::spawn_blocking(move || Model::learn(&journeys, now))
            .await
            .unwrap_or_default();
        let mut book = self
            .book
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *book = Book {
            read_at: Some(std::time::Instant::now()),
            model,
        };
        Ok(())
    }

    /// Learns now unless the book has learned already, waiting for a background refresh under
    /// way rather than learning twice: for a reader about to show windows that would rather
    /// wait for them than show typical times (an export, which is read once).
    pub async fn learn_once<D: Database>(&self, db: &D, now: DateTime<Utc>) -> Result<(), DbError> {
        if self.learned() {
            // A relearning under way need not be waited for: what is learned will do.
            return Ok(());
        }
        let _learning = self.learning.lock().await;
        if self.learned() {
            return Ok(());
        }
        self.refresh(db, now).await
    }

    /// Whether the book has learned from deliveries at least once.
    pub fn learned(&self) -> bool {
        self.book
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .read_at
            .is_some()
    }

    /// Starts a background refresh when the book is old and none is running.
    fn refresh_if_old<D: Database>(self: &Arc<Self>, db: &D, now: DateTime<Utc>) {
        let old = {
            let book = self
                .book
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            book.read_at.is_none_or(|at| at.elapsed() >= REFRESH_EVERY)
        };
        if !old {
            return;
        }
        // A learning under way (background or `learn_once`) will do; none is started beside it.
        let Ok(learning) = Arc::clone(&self.learning).try_lock_owned() else {
            return;
        };
        let book = Arc::clone(self);
        let db = db.clone();
        tokio::spawn(async move {
            if let Err(e) = book.refresh(&db, now).await {
                tracing::warn!(error = %e, "cannot learn delivery estimates");
            }
            drop(learning);
        });
    }

    /// The arrival window of a posting under way with these legs (none once it is over or
    /// before Ozon has it in process): the model's at the parcel's latest milestone, or the
    /// mode's typical times while nothing is learned.
    pub fn estimate<D: Database>(
        self: &Arc<Self>,
        db: &D,
        p: &Posting,
        legs: &[TrailLeg],
        now: DateTime<Utc>,
    ) -> Option<Window> {
        let posting = UnderWay::of(p)?;
        Some(self.estimator(db, now).window(
            posting,
            legs.iter().map(|l| l.leg.carrier.as_str()),
            legs.iter().flat_map(|l| {
                l.events
                    .iter()
                    .map(|e| (l.leg.role, e.occurred_at, &e.status))
            }),
            now,
        ))
    }

    /// The book as it stands, for the windows of many postings in a row (an export's batch):
    /// its age checked and its lock taken once. Holds the book's read lock: a refresh waits for
    /// it to be dropped.
    pub fn estimator<D: Database>(self: &Arc<Self>, db: &D, now: DateTime<Utc>) -> Estimator<'_> {
        self.refresh_if_old(db, now);
        Estimator {
            book: self
                .book
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
            journey: Journey::new(Scheme::Fbs, Vec::new(), None, now, [], None),
        }
    }
}

/// Reads windows from the book as it stood when made ([`EstimateBook::estimator`]).
#[derive(Debug)]
pub struct Estimator<'b> {
    book: std::sync::RwLockReadGuard<'b, Book>,
    /// Made over for each posting, its buffers kept.
    journey: Journey,
}

impl Estimator<'_> {
    /// The window of a posting under way from what is known of its legs: their carriers in
    /// order and the statuses seen (every event, or only each leg's latest, as an export reads
    /// them). The model's at the parcel's latest milestone, or the mode's typical times while
    /// nothing is learned.
    pub fn window<'a, 'c>(
        &mut self,
        posting: UnderWay<'_>,
        carriers: impl IntoIterator<Item = &'c str>,
        seen: impl IntoIterator<Item = (LegRole, DateTime<Utc>, &'a NormalizedStatus)>,
        now: DateTime<Utc>,
    ) -> Window {
        self.journey.remake(
            posting.scheme,
            carriers,
            posting.buyer_city,
            posting.since,
            seen,
        );
        self.book
            .model
            .window(&self.journey, now)
            .unwrap_or_else(|| estimate::typical_window(posting.since, posting.scheme, now))
    }
}

/// What an arrival window starts from: a posting under way, as much of it as the window reads.
#[derive(Debug, Clone, Copy)]
pub struct UnderWay<'a> {
    pub scheme: Scheme,
    /// When Ozon started processing it.
    pub since: DateTime<Utc>,
    pub buyer_city: Option<&'a str>,
}

impl<'a> UnderWay<'a> {
    /// A posting of this mode, Ozon status and buyer's city, in process since `in_process_at`,
    /// when it is under way.
    pub fn new(
        scheme: Scheme,
        status: &OzonStatus,
        in_process_at: Option<DateTime<Utc>>,
        buyer_city: Option<&'a str>,
    ) -> Option<Self> {
        Some(UnderWay {
            scheme,
            since: under_way(status, in_process_at)?,
            buyer_city,
        })
    }

    /// The posting, when it is under way.
    pub fn of(p: &'a Posting) -> Option<Self> {
        Self::new(
            p.scheme,
            &p.status,
            p.in_process_at,
            p.buyer_city.as_deref(),
        )
    }
}

/// When a posting with this Ozon status, in process since `in_process_at`, went under way: one
/// Ozon has in process and that is not over has an arrival window; others show none.
pub fn under_way(
    status: &OzonStatus,
    in_process_at: Option<DateTime<Utc>>,
) -> Option<DateTime<Utc>> {
    in_process_at.filter(|_| !status.is_final())
}
