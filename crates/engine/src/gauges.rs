//! The queue-depth gauges, counted in the database by one process at a time (whoever holds the
//! `gauges` chore) and kept there, so that scraping `/metrics` on every node of an installation
//! costs one small read per node, not the same counts over the legs and postings on each.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use ozontrack_db::{Chore, Database, DbError, LeaseOwner};
use ozontrack_domain::Clock;

/// How long a count holds the `gauges` chore (real time): the counts take milliseconds, and a
/// process dying meanwhile holds the chore this long.
pub const GAUGES_TERM: Duration = Duration::minutes(1);

/// Counts the queue depths when they are due and nobody else is counting them.
#[derive(Debug)]
pub struct GaugeWorker<D> {
    db: D,
    owner: LeaseOwner,
    clock: Arc<dyn Clock>,
    /// Between two counts.
    every: Duration,
}

impl<D: Database> GaugeWorker<D> {
    pub fn new(db: D, owner: LeaseOwner, clock: Arc<dyn Clock>, every: Duration) -> Self {
        Self {
            db,
            owner,
            clock,
            every,
        }
    }

    /// Counts and keeps the depths if they are due and this process got the chore; whether it
    /// did.
    pub async fn run_once(&self) -> Result<bool, DbError> {
        let now = self.clock.now();
        let (until, next) = (
            now + self.clock.lasting(GAUGES_TERM),
            now + self.clock.lasting(self.every),
        );
        let kept = crate::supervise::chore_round(
            &self.db,
            Chore::GAUGES,
            &self.owner,
            (now, until, next),
            measure(&self.db, now),
        )
        .await?;
        Ok(kept.is_some())
    }
}

/// Counts the queue depths at `now` and keeps them for `/metrics`.
pub async fn measure<D: Database>(db: &D, now: DateTime<Utc>) -> Result<(), DbError> {
    let depths = db.queue_depths(now).await?;
    db.keep_queue_depths(&depths, now).await
}

impl<D: Database> crate::supervise::Worker for GaugeWorker<D> {
    fn name(&self) -> &'static str {
        "gauges"
    }

    async fn round(&self) -> bool {
        if let Err(e) = self.run_once().await {
            tracing::warn!(error = %crate::Chain(&e), "counting the queue depths failed");
        }
        false
    }
}
