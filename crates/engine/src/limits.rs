//! Rate limits shared by every process of an installation, kept in the database: 17TRACK counts
//! requests per token, not per process, so workers that track legs side by side take their
//! slots from one table (`rate_slots`) on top of their own limiters.

use std::sync::atomic::{AtomicBool, Ordering};

use chrono::Duration;
use ozontrack_db::{Database, DbError, RateSlot};
use ozontrack_domain::{Clock, SystemClock};
use ozontrack_http::{SharedLimit, SlotFuture};

/// How long a slot stays taken when its holder never frees it (the process died mid-request):
/// longer than any request is allowed to take.
const GUARD: Duration = Duration::seconds(60);

/// Clocks of the processes on one machine agree; this covers what the server's clock and ours
/// may disagree on about when a request arrived.
const MARGIN: Duration = Duration::milliseconds(50);

/// The least wait before asking again: a slot free but being taken by another process reads
/// as busy until now.
const MIN_WAIT: std::time::Duration = std::time::Duration::from_millis(10);

/// `limit` requests per `window` on the account named `key`, across processes.
pub struct DbLimit<D> {
    db: D,
    key: String,
    limit: u32,
    window: Duration,
    /// Whether this process made sure the key's slots exist.
    ready: AtomicBool,
}

impl<D> std::fmt::Debug for DbLimit<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbLimit")
            .field("key", &self.key)
            .field("limit", &self.limit)
            .field("window", &self.window)
            .finish_non_exhaustive()
    }
}

/// What one ask for a slot got.
enum Ask {
    Slot(i64),
    /// None free: ask again after this long.
    Wait(std::time::Duration),
}

impl<D: Database> DbLimit<D> {
    pub fn new(db: D, key: String, limit: u32, window: Duration) -> Self {
        Self {
            db,
            key,
            limit: limit.max(1),
            window,
            ready: AtomicBool::new(false),
        }
    }

    /// A slot, or how long to wait before asking again; `Err` when the table cannot be read.
    async fn try_take(&self) -> Result<Ask, DbError> {
        if !self.ready.load(Ordering::Relaxed) {
            self.db.add_rate_slots(&self.key, self.limit).await?;
            self.ready.store(true, Ordering::Relaxed);
        }
        // Rate limits protect real servers: they run on real time.
        let now = SystemClock.now();
        let asked = self
            .db
            .take_rate_slot(&self.key, self.limit, now, now + GUARD)
            .await?;
        Ok(match asked {
            RateSlot::Taken(slot) => Ask::Slot(slot),
            // No slot frees before the first one's hold ends, nor before a window from now
            // (a request in flight frees its slot a window after its answer). Another process
            // may take it first: then this waits again.
            RateSlot::Busy(until) => Ask::Wait(
                (until.min(now + self.window) - now)
                    .to_std()
                    .unwrap_or_default()
                    .max(MIN_WAIT),
            ),
        })
    }
}

impl<D: Database> SharedLimit for DbLimit<D> {
    fn take(&self) -> SlotFuture<'_, Option<i64>> {
        Box::pin(async move {
            loop {
                match self.try_take().await {
                    Ok(Ask::Slot(slot)) => return Some(slot),
                    Ok(Ask::Wait(wait)) => tokio::time::sleep(wait).await,
                    Err(e) => {
                        tracing::warn!(key = %self.key, error = %crate::Chain(&e), "the shared rate limit cannot be read; this process's own limit only");
                        return None;
                    }
                }
            }
        })
    }

    fn free(&self, slot: i64) -> SlotFuture<'_, ()> {
        Box::pin(async move {
            let until = SystemClock.now() + self.window + MARGIN;
            if let Err(e) = self.db.free_rate_slot(&self.key, slot, until).await {
                // The slot frees itself when its guard passes.
                tracing::warn!(key = %self.key, error = %crate::Chain(&e), "a shared rate-limit slot was not freed");
            }
        })
    }
}
