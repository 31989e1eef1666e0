//! The risk evaluator: runs the rules over postings whose data changed or whose next threshold
//! came due, and moves their alerts through the lifecycle. A full round (every posting still in
//! play) runs on a schedule as a safety net; in between, rounds are incremental.
//!
//! Workers may run it side by side: alert changes are conditional on the alert's state, one
//! open alert per (posting, rule) is a unique index, and the store's watermark only moves
//! forward, so overlapping rounds repeat work but never undo each other's.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use ozontrack_domain::alert::{self, AlertView};
use ozontrack_domain::risk::{self, LearnedGaps, LegInput, PostingInput};
use ozontrack_domain::rules::Rules;
use ozontrack_domain::{Clock, StoreId};
use ozontrack_store::{
    FeedHealth, GapSample, PostingId, PostingWithEvents, RiskApplied, RiskOutcome, Store,
    StoreError,
};

use crate::track::{Feeds, feed_state};

/// The rules each store is held to: the default, and the stores that override it.
#[derive(Debug, Clone, Default)]
pub struct RulesBook {
    pub default: Rules,
    pub per_store: HashMap<StoreId, Rules>,
}

impl RulesBook {
    pub fn for_store(&self, store: StoreId) -> &Rules {
        self.per_store.get(&store).unwrap_or(&self.default)
    }
}

/// How the evaluator behaves.
#[derive(Debug, Clone)]
pub struct RiskSettings {
    /// Postings read and written per transaction.
    pub batch: usize,
    /// Between full rounds.
    pub full_every: Duration,
    /// Incremental rounds look this far behind the watermark, for writes that were still in
    /// flight when the last round read.
    pub overlap: Duration,
    /// Delivered legs whose gaps the lanes are learned from.
    pub learn_from_legs: u32,
    /// Between re-learning the lanes.
    pub learn_every: Duration,
}

impl Default for RiskSettings {
    fn default() -> Self {
        Self {
            batch: 500,
            full_every: Duration::hours(6),
            overlap: Duration::minutes(10),
            learn_from_legs: 20_000,
            learn_every: Duration::hours(24),
        }
    }
}

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RiskReport {
    pub evaluated: u64,
    pub full_rounds: u64,
    pub applied: RiskApplied,
}

#[derive(Debug, Default)]
struct Memory {
    last_full: HashMap<StoreId, DateTime<Utc>>,
    learned: Option<(DateTime<Utc>, Arc<LearnedGaps>)>,
}

#[derive(Debug)]
pub struct Evaluator<S> {
    store: S,
    feeds: Arc<Feeds>,
    rules: RulesBook,
    settings: RiskSettings,
    clock: Arc<dyn Clock>,
    memory: Mutex<Memory>,
}

/// The leg inputs of a posting: each leg's events, feed health and how fresh it is.
pub fn posting_input<'a>(
    input: &'a PostingWithEvents,
    feeds: &Feeds,
    health: &[FeedHealth],
    learned: Option<&'a LearnedGaps>,
) -> PostingInput<'a> {
    PostingInput {
        posting: &input.posting.posting,
        legs: input
            .legs
            .iter()
            .map(|(leg, events)| {
                let (down, up) = feed_state(&feeds.health_keys(&leg.leg), health);
                // A leg a feed reads is known up to its last good look; one no feed reads is
                // all it will ever be.
                let known_until = feeds.feed_of(&leg.leg).map(|_| {
                    [leg.checked_at, leg.pushed_at]
                        .into_iter()
                        .flatten()
                        .max()
                        .unwrap_or(leg.created_at)
                });
                LegInput {
                    leg: &leg.leg,
                    events,
                    tracked_since: leg.created_at,
                    feed_down_since: down,
                    feed_up_since: up,
                    known_until,
                }
            })
            .collect(),
        learned,
    }
}

/// Learns each lane's normal gap from delivered legs' events.
pub fn learn_gaps(samples: &[GapSample], percentile: f64) -> LearnedGaps {
    let gaps = samples.windows(2).filter_map(|w| {
        let (a, b) = (&w[0], &w[1]);
        (a.leg == b.leg).then(|| {
            (
                (a.carrier.clone(), a.status_sub.clone()),
                b.occurred_at - a.occurred_at,
            )
        })
    });
    LearnedGaps::learn(gaps, percentile)
}

/// What one evaluation of a posting decided.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub findings: Vec<risk::Finding>,
    pub changes: Vec<alert::AlertChange>,
    /// When the findings next change on their own.
    pub next_due: Option<DateTime<Utc>>,
}

/// The findings, alert changes and next due time of one posting, from its data at `now`: the
/// one evaluation step the worker and the benchmarks share.
pub fn decide(
    input: &PostingInput<'_>,
    alerts: &[AlertView],
    rules: &Rules,
    now: DateTime<Utc>,
) -> Decision {
    let findings = risk::evaluate(input, rules, now);
    Decision {
        changes: alert::reconcile(alerts, &findings, input.posting.is_over()),
        next_due: risk::next_change(input, rules, now),
        findings,
    }
}

impl<S: Store> Evaluator<S> {
    pub fn new(
        store: S,
        feeds: Arc<Feeds>,
        rules: RulesBook,
        settings: RiskSettings,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            store,
            feeds,
            rules,
            settings,
            clock,
            memory: Mutex::new(Memory::default()),
        }
    }

    /// One round over every store: incremental, or full when one is due.
    pub async fn run_once(&self) -> Result<RiskReport, StoreError> {
        let now = self.clock.now();
        let learned = self.learned(now).await?;
        let health = self.store.feed_health().await?;
        let mut report = RiskReport::default();
        for store in self.store.stores().await? {
            let watermark = self.store.risk_watermark(store.id).await?;
            let full = {
                let memory = self
                    .memory
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                watermark.is_none()
                    || memory
                        .last_full
                        .get(&store.id)
                        .is_none_or(|at| now - *at >= self.settings.full_every)
            };
            let since = (!full)
                .then(|| watermark.map(|w| w - self.settings.overlap))
                .flatten();
            let ids = self.store.risk_candidates(store.id, since, now).await?;
            let rules = self.rules.for_store(store.id);
            for chunk in ids.chunks(self.settings.batch.max(1)) {
                report.applied.add(
                    self.evaluate(store.id, chunk, rules, &health, learned.as_deref(), now)
                        .await?,
                );
                report.evaluated += chunk.len() as u64;
            }
            self.store.set_risk_watermark(store.id, now).await?;
            if full {
                report.full_rounds += 1;
                let mut memory = self
                    .memory
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                memory.last_full.insert(store.id, now);
            }
        }
        let a = report.applied;
        metrics::counter!("ozontrack_risk_postings_evaluated_total").increment(report.evaluated);
        metrics::counter!("ozontrack_alerts_total", "change" => "opened").increment(a.opened);
        metrics::counter!("ozontrack_alerts_total", "change" => "escalated").increment(a.escalated);
        metrics::counter!("ozontrack_alerts_total", "change" => "resolved").increment(a.resolved);
        Ok(report)
    }

    /// Runs rounds every `period` until `shutdown`.
    pub async fn run(
        self,
        period: std::time::Duration,
        shutdown: impl std::future::Future<Output = ()>,
    ) {
        let this = &self;
        crate::rounds(period, shutdown, None, move || async move {
            if let Err(e) = this.run_once().await {
                tracing::warn!(error = %e, "risk round failed");
            }
            false
        })
        .await;
    }

    async fn evaluate(
        &self,
        store: StoreId,
        ids: &[PostingId],
        rules: &Rules,
        health: &[FeedHealth],
        learned: Option<&LearnedGaps>,
        now: DateTime<Utc>,
    ) -> Result<RiskApplied, StoreError> {
        let inputs = self.store.postings_with_events(ids).await?;
        let mut views: HashMap<PostingId, Vec<AlertView>> = HashMap::new();
        for (posting, view) in self.store.alert_views(ids).await? {
            views.entry(posting).or_default().push(view);
        }
        let outcomes: Vec<RiskOutcome> = inputs
            .iter()
            .map(|input| {
                let posting = posting_input(input, &self.feeds, health, learned);
                let alerts = views.get(&input.posting.id).map_or(&[][..], Vec::as_slice);
                let decision = decide(&posting, alerts, rules, now);
                RiskOutcome {
                    posting: input.posting.id,
                    store,
                    changes: decision.changes,
                    next_due: decision.next_due,
                    points_per_violation: rules.compliance.points_per_violation,
                }
            })
            .collect();
        self.store.apply_risk(&outcomes, now).await
    }

    /// The lanes' normal gaps, learned again once a day.
    async fn learned(&self, now: DateTime<Utc>) -> Result<Option<Arc<LearnedGaps>>, StoreError> {
        if !self.rules.default.stale.learned_gaps
            && self.rules.per_store.values().all(|r| !r.stale.learned_gaps)
        {
            return Ok(None);
        }
        {
            let memory = self
                .memory
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some((at, learned)) = &memory.learned
                && now - *at < self.settings.learn_every
            {
                return Ok(Some(learned.clone()));
            }
        }
        let samples = self
            .store
            .gap_samples(self.settings.learn_from_legs)
            .await?;
        let learned = Arc::new(learn_gaps(
            &samples,
            self.rules.default.stale.learned_percentile,
        ));
        let mut memory = self
            .memory
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        memory.learned = Some((now, learned.clone()));
        Ok(Some(learned))
    }
}
