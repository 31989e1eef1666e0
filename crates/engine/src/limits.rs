//! Rate limits shared by every process of an installation, kept in the database: 17TRACK counts
//! requests per token, not per process, so workers that track legs side by side take their
//! slots from one table (`rate_slots`) on top of their own limiters.

use std::sync::atomic::{AtomicBool, Ordering};

use chrono::Duration;
use ozontrack_db::{Database, DbError};
use ozontrack_domain::{Clock, SystemClock};
use ozontrack_http::{SharedLimit, SlotFuture};

/// How long a slot stays taken when its holder never frees it (the process died mid-request):
/// longer than any request is allowed to take.
const GUARD: Duration = Duration::seconds(60);

/// Clocks of the processes on one machine agree; this covers what the server's clock and ours
/// may disagree on about when a request arrived.
const MARGIN: Duration = Duration::milliseconds(50);

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

    async fn try_take(&self) -> Result<Option<i64>, DbError> {
        if !self.ready.load(Ordering::Relaxed) {
            self.db.add_rate_slots(&self.key, self.limit).await?;
            self.ready.store(true, Ordering::Relaxed);
        }
        // Rate limits protect real servers: they run on real time.
        let now = SystemClock.now();
        self.db
            .take_rate_slot(&self.key, self.limit, now, now + GUARD)
            .await
    }
}

impl<D: Database> SharedLimit for DbLimit<D> {
    fn take(&self) -> SlotFuture<'_, Option<i64>> {
        Box::pin(async move {
            loop {
                match self.try_take().await {
                    Ok(Some(slot)) => return Some(slot),
                    // A slot frees a window after an answer: look again soon.
                    Ok(None) => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
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
