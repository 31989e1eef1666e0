//! The risk evaluator: runs the rules over postings whose data changed or whose next threshold
//! came due, and moves their alerts through the lifecycle. A full round (every posting still in
//! play) runs on a schedule as a safety net; in between, rounds are incremental.
//!
//! Rounds are leased per store (`risk_rounds`), so processes share the stores and a round a dead
//! process left half-done is done again by another once its lease expires. Doing it again is
//! safe: alert changes are conditional on the alert's state, one open alert per (posting, rule)
//! is a unique index, messages are enqueued with the change that implies them, and the store's
//! watermark (with the time of its last full round) only moves forward, in the database.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use ozontrack_db::{
    Database, DbError, Enqueue, FeedHealth, GapSample, LeaseOwner, PenaltyPolicy,
    PostingWithEvents, RiskApplied, RiskOutcome, RiskRound, RiskRoundState,
};
use ozontrack_domain::PostingId;
use ozontrack_domain::alert::{self, AlertView};
use ozontrack_domain::notify::{Destination, DestinationState};
use ozontrack_domain::risk::{self, LearnedGaps, LegInput, PostingInput};
use ozontrack_domain::rules::Rules;
use ozontrack_domain::{Clock, StoreId};

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
    /// How long a store's round is leased, renewed at every batch: a process that dies
    /// mid-round holds the store this long at most.
    pub lease: Duration,
    /// Stores one round claims at most; the others are left to other processes.
    pub stores_per_round: u32,
}

impl Default for RiskSettings {
    fn default() -> Self {
        Self {
            batch: 500,
            full_every: Duration::hours(6),
            overlap: Duration::minutes(10),
            learn_from_legs: 20_000,
            learn_every: Duration::hours(24),
            lease: Duration::minutes(10),
            stores_per_round: 32,
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
    /// Delivered legs' events, read again every `learn_every`.
    samples: Option<(DateTime<Utc>, Arc<Vec<GapSample>>)>,
    /// The lanes learned from them, by the percentile a store's rules ask for (as bits).
    learned: HashMap<u64, Arc<LearnedGaps>>,
}

/// Every rule's verdict on one posting at one moment, from the very step the workers run.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    pub posting: PostingId,
    pub at: DateTime<Utc>,
    /// Every finding, held back or not; a rule without one found nothing.
    pub findings: Vec<ozontrack_domain::finding::Finding>,
    /// The alert changes the workers would make now.
    pub changes: Vec<alert::AlertChange>,
}

/// What a batch of one store's postings is evaluated against.
#[derive(Debug, Clone, Copy)]
struct Batch<'a> {
    store: StoreId,
    rules: &'a Rules,
    health: &'a [FeedHealth],
    learned: Option<&'a LearnedGaps>,
    now: DateTime<Utc>,
    /// Who hears of the alert changes, and when their messages are due.
    notify: Enqueue<'a>,
}

#[derive(Debug)]
pub struct Evaluator<D> {
    db: D,
    feeds: Arc<Feeds>,
    rules: RulesBook,
    settings: RiskSettings,
    clock: Arc<dyn Clock>,
    /// Who holds the stores' rounds this evaluator claims.
    owner: LeaseOwner,
    /// When the messages alert changes imply are due: real time, whatever `clock` runs.
    wall: Arc<dyn Clock>,
    /// Woken after a round that enqueued messages (the dispatcher, in this process).
    wake: Option<Arc<tokio::sync::Notify>>,
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
    pub findings: Vec<ozontrack_domain::finding::Finding>,
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

impl<D: Database> Evaluator<D> {
    pub fn new(
        db: D,
        feeds: Arc<Feeds>,
        rules: RulesBook,
        settings: RiskSettings,
        clock: Arc<dyn Clock>,
        owner: LeaseOwner,
    ) -> Self {
        Self {
            db,
            feeds,
            rules,
            settings,
            clock,
            owner,
            wall: Arc::new(ozontrack_domain::SystemClock),
            wake: None,
            memory: Mutex::new(Memory::default()),
        }
    }

    /// Messages are due by `wall` (a test's manual clock; real time otherwise).
    #[must_use]
    pub fn with_wall_clock(mut self, wall: Arc<dyn Clock>) -> Self {
        self.wall = wall;
        self
    }

    /// Wakes `wake` after a round that enqueued messages.
    #[must_use]
    pub fn with_wake(mut self, wake: Arc<tokio::sync::Notify>) -> Self {
        self.wake = Some(wake);
        self
    }

    /// One round over the stores whose round is due and free: incremental, or full when a
    /// store's last full round is older than `full_every`.
    pub async fn run_once(&self) -> Result<RiskReport, DbError> {
        let now = self.clock.now();
        let claimed = self
            .db
            .claim_risk_rounds(
                &self.owner,
                self.settings.stores_per_round,
                now,
                now + self.clock.lasting(self.settings.lease),
            )
            .await?;
        let mut report = RiskReport::default();
        if claimed.is_empty() {
            return Ok(report);
        }
        let result = self.rounds(&claimed, now, &mut report).await;
        if result.is_err() {
            // The rounds not finished go back at once rather than when their leases expire
            // (when the database is gone, they will expire).
            for round in &claimed {
                let _ = self.db.let_go(RiskRound(round.store), &self.owner).await;
            }
        }
        let destinations = result?;
        let a = report.applied;
        if destinations && a.opened + a.escalated + a.resolved > 0 {
            if let Some(wake) = &self.wake {
                wake.notify_one();
            }
            crate::wake_others(&self.db, ozontrack_db::Wake::Outbox).await;
        }
        metrics::counter!("ozontrack_risk_postings_evaluated_total").increment(report.evaluated);
        metrics::counter!("ozontrack_alerts_total", "change" => "opened").increment(a.opened);
        metrics::counter!("ozontrack_alerts_total", "change" => "escalated").increment(a.escalated);
        metrics::counter!("ozontrack_alerts_total", "change" => "resolved").increment(a.resolved);
        Ok(report)
    }

    /// The claimed stores' rounds, one after the other; whether any destination listens.
    async fn rounds(
        &self,
        claimed: &[RiskRoundState],
        now: DateTime<Utc>,
        report: &mut RiskReport,
    ) -> Result<bool, DbError> {
        let health = self.db.feed_health().await?;
        // Read once a round: a destination added meanwhile hears from the next round on.
        let destinations: Vec<Destination> = self
            .db
            .destinations()
            .await?
            .into_iter()
            .map(|r| r.destination)
            .filter(|d| d.state == DestinationState::Active)
            .collect();
        for round in claimed {
            let full = round.evaluated_until.is_none()
                || round
                    .full_at
                    .is_none_or(|at| now - at >= self.settings.full_every);
            let since = (!full)
                .then(|| round.evaluated_until.map(|w| w - self.settings.overlap))
                .flatten();
            let ids = self.db.risk_candidates(round.store, since, now).await?;
            let rules = self.rules.for_store(round.store);
            let learned = self.learned(rules, now).await?;
            let mut held = true;
            for chunk in ids.chunks(self.settings.batch.max(1)) {
                let batch = Batch {
                    store: round.store,
                    rules,
                    health: &health,
                    learned: learned.as_deref(),
                    now,
                    notify: Enqueue {
                        destinations: &destinations,
                        at: self.wall.now(),
                    },
                };
                report.applied.add(self.evaluate(chunk, &batch).await?);
                report.evaluated += chunk.len() as u64;
                held = self
                    .db
                    .extend(
                        &[RiskRound(round.store)],
                        &self.owner,
                        self.clock.now() + self.clock.lasting(self.settings.lease),
                    )
                    .await?
                    == 1;
                if !held {
                    break;
                }
            }
            // A lost lease means another process is doing this round again from the same
            // watermark: this one's end is not recorded.
            let finished = held
                && self
                    .db
                    .finish_risk_round(round.store, &self.owner, now, full, now)
                    .await?;
            if !finished {
                tracing::warn!(
                    store = round.store.0,
                    "risk round's lease lost; left to its new holder"
                );
            } else if full {
                report.full_rounds += 1;
            }
        }
        Ok(!destinations.is_empty())
    }

    async fn evaluate(&self, ids: &[PostingId], batch: &Batch<'_>) -> Result<RiskApplied, DbError> {
        let Batch {
            store,
            rules,
            health,
            learned,
            now,
            notify,
        } = *batch;
        let inputs = self.db.postings_with_events(ids).await?;
        let mut views: HashMap<PostingId, Vec<AlertView>> = HashMap::new();
        for (posting, view) in self.db.alert_views(ids).await? {
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
                    posting_number: input.posting.posting.number.clone(),
                    store,
                    changes: decision.changes,
                    next_due: decision.next_due,
                    penalty: PenaltyPolicy::from(&rules.compliance),
                }
            })
            .collect();
        self.db.apply_risk(&outcomes, now, &notify).await
    }

    /// Every rule's verdict on a posting now, under its store's rules or `rules`: the same
    /// inputs, lanes and decision the workers use, so what it says is what they do.
    pub async fn explain(
        &self,
        id: PostingId,
        rules: Option<&Rules>,
    ) -> Result<Option<Explanation>, DbError> {
        let now = self.clock.now();
        let Some(read) = self.db.postings_with_events(&[id]).await?.pop() else {
            return Ok(None);
        };
        let rules = rules.unwrap_or_else(|| self.rules.for_store(read.posting.posting.store_id));
        let health = self.db.feed_health().await?;
        let learned = self.learned(rules, now).await?;
        let alerts: Vec<AlertView> = self
            .db
            .alert_views(&[id])
            .await?
            .into_iter()
            .map(|(_, view)| view)
            .collect();
        let input = posting_input(&read, &self.feeds, &health, learned.as_deref());
        let decision = decide(&input, &alerts, rules, now);
        Ok(Some(Explanation {
            posting: id,
            at: now,
            findings: decision.findings,
            changes: decision.changes,
        }))
    }

    /// The lanes' normal gaps at the percentile `rules` ask for, from delivered legs read
    /// again once a day; none when the rules do not learn gaps.
    async fn learned(
        &self,
        rules: &Rules,
        now: DateTime<Utc>,
    ) -> Result<Option<Arc<LearnedGaps>>, DbError> {
        if !rules.stale.learned_gaps {
            return Ok(None);
        }
        let percentile = rules.stale.learned_percentile;
        let fresh = {
            let memory = self.memory();
            memory
                .samples
                .as_ref()
                .filter(|(at, _)| now - *at < self.settings.learn_every)
                .map(|(_, samples)| Arc::clone(samples))
        };
        let samples = match fresh {
            Some(samples) => samples,
            None => {
                let samples = Arc::new(self.db.gap_samples(self.settings.learn_from_legs).await?);
                let mut memory = self.memory();
                memory.samples = Some((now, Arc::clone(&samples)));
                memory.learned.clear();
                samples
            }
        };
        let mut memory = self.memory();
        let learned = memory
            .learned
            .entry(percentile.to_bits())
            .or_insert_with(|| Arc::new(learn_gaps(&samples, percentile)));
        Ok(Some(Arc::clone(learned)))
    }

    fn memory(&self) -> std::sync::MutexGuard<'_, Memory> {
        // What the memory holds is replaced whole, so a poisoned lock still holds valid data.
        self.memory
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl<D: Database> crate::supervise::Worker for Evaluator<D> {
    fn name(&self) -> &'static str {
        "risk"
    }

    async fn round(&self) -> bool {
        match self.run_once().await {
            Ok(report) => {
                let a = report.applied;
                tracing::debug!(
                    evaluated = report.evaluated,
                    opened = a.opened,
                    escalated = a.escalated,
                    resolved = a.resolved,
                    "risk round"
                );
            }
            Err(e) => tracing::warn!(error = %crate::Chain(&e), "risk round failed"),
        }
        false
    }
}
