//! Estimating arrival: each store's lanes' transit times, kept in memory for delivery windows.
//! Reading the lanes means reading every recent posting, far too slow for one page view, so the
//! book is refreshed in the background at most every quarter of an hour of real time (it
//! protects the database, which runs in real time even when the demo's clock does not) and a
//! reader uses what it has.

use std::collections::HashMap;
use std::sync::RwLock;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, Duration, Utc};
use ozontrack_db::{Database, DbError};
use ozontrack_domain::estimate::{self, LaneTransit, Window};
use ozontrack_domain::{Posting, StoreId};

/// How often the book is read again.
const REFRESH_EVERY: std::time::Duration = std::time::Duration::from_secs(15 * 60);
/// How far back the lanes are read.
const HISTORY_DAYS: i64 = 90;

type Key = (StoreId, Vec<String>, Option<String>);

#[derive(Debug, Default)]
struct Book {
    read_at: Option<std::time::Instant>,
    lanes: HashMap<Key, LaneTransit>,
}

/// The lanes' transit times, per store.
#[derive(Debug, Default)]
pub struct LaneBook {
    book: RwLock<Book>,
    refreshing: AtomicBool,
}

impl LaneBook {
    /// Reads every store's lanes now.
    pub async fn refresh<D: Database>(&self, db: &D, now: DateTime<Utc>) -> Result<(), DbError> {
        let mut lanes = HashMap::new();
        for s in db.stores().await? {
            for lane in db
                .lane_stats(&[s.id], now - Duration::days(HISTORY_DAYS))
                .await?
            {
                if let (Some(p50_days), Some(p90_days)) =
                    (lane.transit_days_p50, lane.transit_days_p90)
                {
                    lanes.insert(
                        (s.id, lane.carriers, lane.buyer_city),
                        LaneTransit {
                            p50_days,
                            p90_days,
                            samples: lane.delivered,
                        },
                    );
                }
            }
        }
        let mut book = self
            .book
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *book = Book {
            read_at: Some(std::time::Instant::now()),
            lanes,
        };
        Ok(())
    }

    /// Starts a background refresh when the book is old and none is running.
    fn refresh_if_old<D: Database>(self: &std::sync::Arc<Self>, db: &D, now: DateTime<Utc>) {
        let old = {
            let book = self
                .book
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            book.read_at.is_none_or(|at| at.elapsed() >= REFRESH_EVERY)
        };
        if old && !self.refreshing.swap(true, Ordering::AcqRel) {
            let book = std::sync::Arc::clone(self);
            let db = db.clone();
            tokio::spawn(async move {
                if let Err(e) = book.refresh(&db, now).await {
                    tracing::warn!(error = %e, "cannot read the lanes for delivery estimates");
                }
                book.refreshing.store(false, Ordering::Release);
            });
        }
    }

    /// The arrival window of a posting under way on `lane` (its carriers in order; none once it
    /// is over or before Ozon has it in process).
    pub fn estimate<D: Database>(
        self: &std::sync::Arc<Self>,
        db: &D,
        p: &Posting,
        lane: Vec<String>,
        now: DateTime<Utc>,
    ) -> Option<Window> {
        if p.is_over() {
            return None;
        }
        let started = p.in_process_at?;
        self.refresh_if_old(db, now);
        let key = (p.store_id, lane, p.buyer_city.clone());
        let lane = {
            let book = self
                .book
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            book.lanes.get(&key).copied()
        };
        Some(estimate::window(started, p.scheme, lane, now))
    }
}
