//! The tracking worker: claims due legs through their leases, asks each leg's feed (17TRACK in
//! batches of 40, Russian Post and CDEK one number at a time), stores the events, links
//! hand-overs to a new last-mile leg, and schedules each leg's next check
//! ([`ozontrack_domain::schedule`]). A failing feed backs off as a whole and is recorded as feed
//! health, so that the rules can tell "carrier down" from "parcel stalled".
//!
//! 17TRACK pushes ([`accept_17track_push`]) go through the same ingestion.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use ozontrack_carriers::cdek::CdekClient;
use ozontrack_carriers::russian_post::RussianPostClient;
use ozontrack_carriers::seventeen_track::{self, Registration, SeventeenTrackClient};
use ozontrack_carriers::{CarrierError, Tracked};
use ozontrack_db::{Database, DbError, FeedHealth, FeedOutcome, LeaseOwner, LegCheck, LegRecord};
use ozontrack_domain::LegId;
use ozontrack_domain::carrier::{self, UNKNOWN_CARRIER};
use ozontrack_domain::schedule::{Cadence, LegActivity, next_check};
use ozontrack_domain::{
    CarrierCode, Clock, Leg, LegRole, NormalizedStatus, TrackingEvent, TrackingFormat,
    TrackingNumber,
};
use tracing::Instrument as _;

/// Where a leg's events are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Feed {
    SeventeenTrack,
    RussianPost,
    Cdek,
}

impl Feed {
    pub fn as_str(self) -> &'static str {
        match self {
            Feed::SeventeenTrack => "17track",
            Feed::RussianPost => "russian_post",
            Feed::Cdek => "cdek",
        }
    }
}

/// The carrier clients this process has credentials for.
#[derive(Debug, Default)]
pub struct Feeds {
    pub seventeen_track: Option<SeventeenTrackClient>,
    pub russian_post: Option<RussianPostClient>,
    pub cdek: Option<CdekClient>,
}

impl Feeds {
    /// Makes the 17TRACK account's rate limit one for every process working on `db`
    /// ([`crate::limits`]) when several may: on PostgreSQL. SQLite has one process, whose own
    /// limiter is the whole story.
    #[must_use]
    pub fn sharing_limits<D: ozontrack_db::Database>(mut self, db: &D) -> Self {
        if db.backend() != ozontrack_db::Backend::Postgres {
            return self;
        }
        if let Some(client) = self.seventeen_track.take() {
            let limit = crate::limits::DbLimit::new(
                db.clone(),
                format!("17track:{}", client.account()),
                u32::try_from(client.per_second()).unwrap_or(u32::MAX),
                Duration::seconds(1),
            );
            self.seventeen_track = Some(client.with_shared_limit(Arc::new(limit)));
        }
        self
    }

    /// The feed that reads `leg`: a carrier's own API when we have it, else the aggregator;
    /// `None` for Ozon's own leg (fed by the sync) or when no feed is configured.
    pub fn feed_of(&self, leg: &Leg) -> Option<Feed> {
        let code = leg.carrier.as_str();
        let russian_post_number = matches!(
            leg.tracking_number.format(),
            TrackingFormat::RussianPostDomestic
        ) || matches!(leg.tracking_number.format(), TrackingFormat::S10 { ref country, .. } if country == "RU");
        match code {
            "ozon" => None,
            "russian_post" if self.russian_post.is_some() && russian_post_number => {
                Some(Feed::RussianPost)
            }
            "cdek" if self.cdek.is_some() => Some(Feed::Cdek),
            _ if self.seventeen_track.is_some() => Some(Feed::SeventeenTrack),
            _ => None,
        }
    }
}

impl Feeds {
    /// The `feed_health` entries that speak for `leg`: its feed and, behind the aggregator,
    /// the carrier 17TRACK may report it cannot reach.
    pub fn health_keys(&self, leg: &Leg) -> Vec<String> {
        match self.feed_of(leg) {
            None => Vec::new(),
            Some(Feed::SeventeenTrack) => vec![
                Feed::SeventeenTrack.as_str().to_owned(),
                format!("17track:{}", leg.carrier.as_str()),
            ],
            Some(feed) => vec![feed.as_str().to_owned()],
        }
    }
}

/// Whether the feeds named by `keys` are failing (since when) or worked again after failing
/// (since when), from their recorded health: what the rules need to tell a carrier outage
/// from a stalled parcel.
pub fn feed_state(
    keys: &[String],
    health: &[FeedHealth],
) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
    let feeds: Vec<&FeedHealth> = keys
        .iter()
        .filter_map(|key| health.iter().find(|h| &h.feed == key))
        .collect();
    let down = feeds
        .iter()
        .filter(|h| h.is_failing())
        .find_map(|h| h.failed_at);
    // `ok_at` moves with every success; the last failure is when the feed last came back
    // (give or take one round), which is what the grace after an outage counts from.
    let up = feeds
        .iter()
        .filter(|h| !h.is_failing())
        .filter_map(|h| h.failed_at)
        .max();
    (down, up)
}

/// How the tracking worker behaves.
#[derive(Debug, Clone)]
pub struct TrackSettings {
    /// Legs claimed per round.
    pub batch: u32,
    /// How long a claimed leg stays ours.
    pub lease: Duration,
    pub cadence: Cadence,
    /// First back-off of a failing feed; doubled per failure in a row up to `max_backoff`.
    pub backoff: Duration,
    pub max_backoff: Duration,
    /// Russian Post and CDEK calls in flight at once.
    pub concurrency: usize,
}

impl Default for TrackSettings {
    fn default() -> Self {
        Self {
            batch: 400,
            lease: Duration::minutes(10),
            cadence: Cadence::default(),
            backoff: Duration::minutes(1),
            max_backoff: Duration::hours(1),
            concurrency: 4,
        }
    }
}

/// What a tracking round did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrackReport {
    /// HTTP calls made to carriers.
    pub carrier_calls: u64,
    pub new_events: u64,
    /// Last-mile legs newly linked through hand-overs.
    pub hand_overs: u64,
    /// Legs put off because their feed is backing off or failed.
    pub deferred: u64,
    /// Feeds that failed this round, with why.
    pub feed_errors: Vec<(String, String)>,
    /// The legs looked up at a carrier, in the order they were stored.
    pub checked: Vec<LegId>,
    /// Finished legs whose tracking was stopped at 17TRACK (no more quota spent on them).
    pub stopped: u64,
    /// Stopped legs due again whose tracking 17TRACK restarted before they were read.
    pub restarted: u64,
}

impl TrackReport {
    /// How many legs were looked up at a carrier.
    pub fn legs_checked(&self) -> u64 {
        self.checked.len() as u64
    }

    /// Adds another round's figures to these.
    pub fn add(&mut self, other: TrackReport) {
        self.carrier_calls += other.carrier_calls;
        self.new_events += other.new_events;
        self.hand_overs += other.hand_overs;
        self.deferred += other.deferred;
        self.feed_errors.extend(other.feed_errors);
        self.checked.extend(other.checked);
        self.stopped += other.stopped;
        self.restarted += other.restarted;
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TrackError {
    #[error(transparent)]
    Store(#[from] DbError),
}

/// What a feed said about one leg in a round.
#[derive(Debug)]
enum Answer {
    Tracked(Tracked),
    /// The feed refused this number (kept on schedule; the reason is logged).
    Refused(String),
    /// 17TRACK does not have it registered (anymore): register again next time.
    Unregistered,
}

/// What one feed said in a round.
#[derive(Debug, Default)]
struct FeedAnswers {
    /// Each leg's answer, and when it came in (what it shows is the carrier's as of then).
    by_leg: HashMap<LegId, (Answer, DateTime<Utc>)>,
    /// HTTP calls made.
    calls: u64,
    /// Legs 17TRACK has registered (empty for the other feeds).
    registered: HashSet<LegId>,
    /// Stopped legs whose tracking 17TRACK restarted (or was running anyway).
    restarted: Vec<LegId>,
    /// The feed failure that stopped the round early, if any.
    failure: Option<CarrierError>,
}

/// The tracking worker.
#[derive(Debug, Clone)]
pub struct Tracker<D> {
    db: D,
    feeds: Arc<Feeds>,
    settings: TrackSettings,
    clock: Arc<dyn Clock>,
    owner: LeaseOwner,
}

impl<D: Database> Tracker<D> {
    pub fn new(
        db: D,
        feeds: Arc<Feeds>,
        settings: TrackSettings,
        clock: Arc<dyn Clock>,
        owner: LeaseOwner,
    ) -> Self {
        Self {
            db,
            feeds,
            settings,
            clock,
            owner,
        }
    }

    /// One round: claims up to `batch` due legs and checks them. Returns what it did; a round
    /// that claimed nothing has no checked and no deferred legs.
    pub async fn run_once(&self) -> Result<TrackReport, TrackError> {
        let now = self.clock.now();
        let ids: Vec<LegId> = self
            .db
            .claim(
                &self.owner,
                self.settings.batch,
                now,
                now + self.clock.lasting(self.settings.lease),
            )
            .await?;
        let mut report = self.check(&ids, now).await?;
        report.stopped = self.stop_finished(now).await?;
        metrics::counter!("ozontrack_track_legs_checked_total").increment(report.legs_checked());
        metrics::counter!("ozontrack_track_stopped_total").increment(report.stopped);
        metrics::counter!("ozontrack_track_restarted_total").increment(report.restarted);
        metrics::counter!("ozontrack_track_carrier_calls_total").increment(report.carrier_calls);
        metrics::counter!("ozontrack_track_new_events_total").increment(report.new_events);
        metrics::counter!("ozontrack_track_feed_errors_total")
            .increment(report.feed_errors.len() as u64);
        Ok(report)
    }

    /// Rounds until nothing is due; `progress` hears each round's report.
    pub async fn run_until_idle(
        &self,
        mut progress: impl FnMut(&TrackReport),
    ) -> Result<TrackReport, TrackError> {
        let mut total = TrackReport::default();
        loop {
            let round = self.run_once().await?;
            progress(&round);
            let idle = round.checked.is_empty() && round.deferred == 0;
            total.add(round);
            if idle {
                return Ok(total);
            }
        }
    }

    /// Checks the named legs now, whether due or not (legs another worker holds are skipped).
    pub async fn check_now(&self, ids: &[LegId]) -> Result<TrackReport, TrackError> {
        let now = self.clock.now();
        let mut leased = Vec::new();
        for id in ids {
            if self
                .db
                .lease(
                    *id,
                    &self.owner,
                    now,
                    now + self.clock.lasting(self.settings.lease),
                )
                .await?
            {
                leased.push(*id);
            }
        }
        self.check(&leased, now).await
    }

    async fn check(&self, ids: &[LegId], now: DateTime<Utc>) -> Result<TrackReport, TrackError> {
        let mut report = TrackReport::default();
        if ids.is_empty() {
            return Ok(report);
        }
        let legs = self.db.legs_by_ids(ids).await?;
        let health = self.db.feed_health().await?;
        let backing_off = |feed: Feed| {
            health
                .iter()
                .find(|h| h.feed == feed.as_str())
                .and_then(|h| h.backoff_until.filter(|t| *t > now))
        };
        let mut by_feed: HashMap<Feed, Vec<LegRecord>> = HashMap::new();
        for leg in legs {
            let Some(feed) = self.feeds.feed_of(&leg.leg) else {
                // Nobody can read it here: look again in a day (credentials may be added).
                let later = now + Duration::days(1);
                self.db.release(leg.id, &self.owner, Some(later)).await?;
                report.deferred += 1;
                continue;
            };
            match backing_off(feed) {
                Some(until) => {
                    self.db.release(leg.id, &self.owner, Some(until)).await?;
                    report.deferred += 1;
                }
                None => by_feed.entry(feed).or_default().push(leg),
            }
        }
        // Carriers behind 17TRACK marked failing: the only ones whose recovery must be written.
        let failing: HashSet<String> = health
            .iter()
            .filter(|h| h.feed.starts_with("17track:") && h.is_failing())
            .map(|h| h.feed.clone())
            .collect();
        let mut feeds: Vec<_> = by_feed.into_iter().collect();
        feeds.sort_by_key(|(feed, _)| *feed);
        for (feed, legs) in feeds {
            let failures = health
                .iter()
                .find(|h| h.feed == feed.as_str())
                .map_or(0, |h| h.failures);
            let span = tracing::info_span!("feed", feed = feed.as_str(), legs = legs.len());
            let round = self
                .check_feed(feed, &legs, failures, &failing, now)
                .instrument(span)
                .await?;
            report.add(round);
        }
        Ok(report)
    }

    /// When a feed that failed (`failures` times in a row before) may be called again.
    fn backoff_until(
        &self,
        error: &CarrierError,
        failures: i64,
        now: DateTime<Utc>,
    ) -> DateTime<Utc> {
        let exp = u32::try_from(failures.clamp(0, 16)).unwrap_or(16);
        let wait = match error {
            // Credentials do not fix themselves: no point in trying sooner.
            CarrierError::Auth { .. } => self.settings.max_backoff,
            _ => (self.settings.backoff * 2i32.saturating_pow(exp)).min(self.settings.max_backoff),
        };
        match error {
            CarrierError::RateLimited {
                retry_after: Some(after),
                ..
            } => now + Duration::from_std(*after).unwrap_or(wait).max(wait),
            _ => now + wait,
        }
    }

    /// Asks one feed about `legs` and stores what it said.
    async fn check_feed(
        &self,
        feed: Feed,
        legs: &[LegRecord],
        failures: i64,
        failing: &HashSet<String>,
        now: DateTime<Utc>,
    ) -> Result<TrackReport, TrackError> {
        let mut report = TrackReport::default();
        let mut said = match feed {
            Feed::SeventeenTrack => self.ask_seventeen_track(legs).await,
            Feed::RussianPost | Feed::Cdek => self.ask_one_by_one(feed, legs).await,
        };
        report.carrier_calls = said.calls;
        if !said.restarted.is_empty() {
            self.db.mark_stopped(&said.restarted, None).await?;
            report.restarted = said.restarted.len() as u64;
        }
        let error = said.failure.as_ref().map(ToString::to_string);
        let backoff_until = said
            .failure
            .as_ref()
            .map(|e| self.backoff_until(e, failures, now));
        self.db
            .record_feed(
                &FeedOutcome {
                    feed: feed.as_str(),
                    error: error.as_deref(),
                    backoff_until,
                    calls: i64::try_from(said.calls).unwrap_or(i64::MAX),
                },
                now,
            )
            .await?;
        if let Some(e) = error {
            report.feed_errors.push((feed.as_str().to_owned(), e));
        }
        let mut stale_carriers: Vec<String> = Vec::new();
        let mut fresh_carriers: Vec<String> = Vec::new();
        let mut checks = Vec::with_capacity(legs.len());
        for leg in legs {
            let Some((answer, answered_at)) = said.by_leg.remove(&leg.id) else {
                // The feed failed before it answered for this leg: try again after the back-off.
                let retry = backoff_until.unwrap_or(now + self.settings.backoff);
                self.db.release(leg.id, &self.owner, Some(retry)).await?;
                report.deferred += 1;
                continue;
            };
            report.checked.push(leg.id);
            let mut stale = false;
            let fresh = matches!(&answer, Answer::Tracked(t) if t.stale_carriers.is_empty());
            if fresh && feed == Feed::SeventeenTrack {
                fresh_carriers.push(leg.leg.carrier.as_str().to_owned());
            }
            let (events, detected, registered) = match answer {
                Answer::Tracked(tracked) => {
                    stale = !tracked.stale_carriers.is_empty();
                    stale_carriers.extend(tracked.stale_carriers);
                    if let Some(hand_over) = &tracked.hand_over
                        && self.link_hand_over(leg, hand_over, now).await?
                    {
                        report.hand_overs += 1;
                    }
                    let detected = tracked
                        .carrier
                        .filter(|_| leg.leg.carrier.as_str() == UNKNOWN_CARRIER)
                        .and_then(|c| CarrierCode::parse(c.code).ok());
                    (tracked.events, detected, said.registered.contains(&leg.id))
                }
                Answer::Refused(reason) => {
                    tracing::info!(leg = leg.id.0, feed = feed.as_str(), %reason, "number refused");
                    (Vec::new(), None, said.registered.contains(&leg.id))
                }
                Answer::Unregistered => (Vec::new(), None, false),
            };
            let next = self.next_check_after(leg, &events, stale, now);
            checks.push(LegCheck {
                leg: leg.id,
                events,
                next_check_at: next,
                registered,
                detected_carrier: detected,
                fresh,
                answered_at,
            });
        }
        self.note_carriers(stale_carriers, fresh_carriers, failing, now)
            .await?;
        report.new_events += self.db.record_checks(&checks, &self.owner, now).await?;
        Ok(report)
    }

    /// The next check of `leg` once `events` are stored (`stale`: the aggregator could not
    /// reach the carrier).
    fn next_check_after(
        &self,
        leg: &LegRecord,
        events: &[TrackingEvent],
        stale: bool,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let newest = events
            .iter()
            .filter(|e| leg.last_event_at.is_none_or(|t| e.occurred_at >= t))
            .max_by_key(|e| e.occurred_at);
        let (status, last): (Option<&NormalizedStatus>, Option<DateTime<Utc>>) = match newest {
            Some(e) => (Some(&e.status), Some(e.occurred_at)),
            None => (leg.status.as_ref(), leg.last_event_at),
        };
        next_check(
            &LegActivity {
                status,
                last_event_at: last,
                tracked_since: leg.created_at,
                pushed_at: leg.pushed_at,
                source_stale: stale,
            },
            now,
            &self.settings.cadence,
        )
    }

    /// Records carriers the aggregator could not reach as failing feeds of their own (the keys
    /// of [`Feeds::health_keys`]), once per carrier per round however many legs said so.
    /// Records the health of the carriers behind 17TRACK: failing for those it could not
    /// sync, working again for those marked failing whose legs it answered freshly (a carrier
    /// it reported stale in the same round stays failing). Healthy carriers cost no write.
    async fn note_carriers(
        &self,
        mut stale: Vec<String>,
        mut fresh: Vec<String>,
        failing: &HashSet<String>,
        now: DateTime<Utc>,
    ) -> Result<(), DbError> {
        stale.sort_unstable();
        stale.dedup();
        fresh.sort_unstable();
        fresh.dedup();
        fresh.retain(|c| {
            stale.binary_search(c).is_err() && failing.contains(&format!("17track:{c}"))
        });
        let outcomes = stale
            .iter()
            .map(|c| (c, Some("17TRACK could not sync this carrier")))
            .chain(fresh.iter().map(|c| (c, None)));
        for (carrier, error) in outcomes {
            let feed = format!("17track:{carrier}");
            self.db
                .record_feed(
                    &FeedOutcome {
                        feed: &feed,
                        error,
                        backoff_until: None,
                        calls: 0,
                    },
                    now,
                )
                .await?;
        }
        Ok(())
    }

    /// Adds the last-mile leg a hand-over names, unless the number is unreadable. Returns
    /// whether the link is new.
    async fn link_hand_over(
        &self,
        parent: &LegRecord,
        hand_over: &ozontrack_carriers::HandOver,
        now: DateTime<Utc>,
    ) -> Result<bool, DbError> {
        let Some(leg) = hand_over_leg(hand_over) else {
            return Ok(false);
        };
        Ok(self.db.add_hand_over(parent.id, &leg, now).await?.1)
    }

    /// Stops tracking at 17TRACK of up to a batch of legs that will never be due again (final,
    /// or given up on), so they cost no more quota and send no more pushes. A feed failure
    /// leaves them for a later round. Returns how many were stopped.
    async fn stop_finished(&self, now: DateTime<Utc>) -> Result<u64, TrackError> {
        let Some(client) = &self.feeds.seventeen_track else {
            return Ok(0);
        };
        let legs = self.db.legs_to_stop(seventeen_track::BATCH).await?;
        if legs.is_empty() {
            return Ok(0);
        }
        // A feed backing off is left alone by stops as by checks; a failed stop backs it off.
        let feed = Feed::SeventeenTrack.as_str();
        let health = self.db.feed_health().await?;
        let health = health.iter().find(|h| h.feed == feed);
        if health
            .and_then(|h| h.backoff_until)
            .is_some_and(|until| until > now)
        {
            return Ok(0);
        }
        let numbers: Vec<(String, Option<u32>)> = legs
            .iter()
            .map(|l| (l.leg.tracking_number.as_str().to_owned(), None))
            .collect();
        let (stopped, error, backoff_until) = match client.stop(&numbers).await {
            Ok(refused) => {
                // A number 17TRACK no longer knows needs no stopping either.
                for r in &refused {
                    tracing::debug!(number = %r.number, code = r.code, "stoptrack refused");
                }
                let ids: Vec<LegId> = legs.iter().map(|l| l.id).collect();
                self.db.mark_stopped(&ids, Some(now)).await?;
                (ids.len() as u64, None, None)
            }
            Err(e) => {
                let failures = health.map_or(0, |h| h.failures);
                (
                    0,
                    Some(e.to_string()),
                    Some(self.backoff_until(&e, failures, now)),
                )
            }
        };
        let outcome = FeedOutcome {
            feed,
            error: error.as_deref(),
            backoff_until,
            calls: 1,
        };
        self.db.record_feed(&outcome, now).await?;
        Ok(stopped)
    }

    /// 17TRACK: restarts stopped legs, registers what is not registered yet, then reads every
    /// leg in batches of 40.
    async fn ask_seventeen_track(&self, legs: &[LegRecord]) -> FeedAnswers {
        let mut out = FeedAnswers::default();
        let Some(client) = &self.feeds.seventeen_track else {
            return out;
        };
        // A stopped number made due again (checked by hand, its carrier set)
        // is restarted first: 17TRACK does not refresh a stopped number.
        let stopped: Vec<&LegRecord> = legs.iter().filter(|l| l.stopped_at.is_some()).collect();
        for chunk in stopped.chunks(seventeen_track::BATCH) {
            let numbers: Vec<(String, Option<u32>)> = chunk
                .iter()
                .map(|l| (l.leg.tracking_number.as_str().to_owned(), None))
                .collect();
            out.calls += 1;
            match client.retrack(&numbers).await {
                Ok(refused) => {
                    for leg in chunk {
                        let number = leg.leg.tracking_number.as_str();
                        match refused.iter().find(|r| r.number == number) {
                            None => out.restarted.push(leg.id),
                            Some(r) if r.code == seventeen_track::codes::NOT_STOPPED => {
                                out.restarted.push(leg.id);
                            }
                            // Restarted once before: what 17TRACK holds is read as it is.
                            Some(r) => tracing::info!(
                                leg = leg.id.0, code = r.code, message = %r.message,
                                "17TRACK would not restart tracking"
                            ),
                        }
                    }
                }
                Err(e) => {
                    out.failure = Some(e);
                    return out;
                }
            }
        }
        let key_of = |leg: &LegRecord| {
            carrier::by_code(leg.leg.carrier.as_str()).and_then(|c| c.seventeen_track_key)
        };
        let unregistered: Vec<&LegRecord> =
            legs.iter().filter(|l| l.registered_at.is_none()).collect();
        for chunk in unregistered.chunks(seventeen_track::BATCH) {
            let items: Vec<Registration> = chunk
                .iter()
                .map(|l| Registration {
                    number: l.leg.tracking_number.as_str().to_owned(),
                    carrier: key_of(l),
                    tag: l.id.0.to_string(),
                })
                .collect();
            out.calls += 1;
            match client.register(&items).await {
                Ok((accepted, refused)) => {
                    let at = self.clock.now();
                    for leg in chunk {
                        let number = leg.leg.tracking_number.as_str();
                        if accepted.iter().any(|(n, _)| n == number) {
                            out.registered.insert(leg.id);
                        } else if let Some(r) = refused.iter().find(|r| r.number == number) {
                            out.by_leg.insert(
                                leg.id,
                                (Answer::Refused(format!("{} {}", r.code, r.message)), at),
                            );
                        }
                    }
                }
                Err(e) => {
                    out.failure = Some(e);
                    return out;
                }
            }
        }
        out.registered.extend(
            legs.iter()
                .filter(|l| l.registered_at.is_some())
                .map(|l| l.id),
        );
        let readable: Vec<&LegRecord> = legs
            .iter()
            .filter(|l| out.registered.contains(&l.id))
            .collect();
        for chunk in readable.chunks(seventeen_track::BATCH) {
            let numbers: Vec<(String, Option<u32>)> = chunk
                .iter()
                .map(|l| (l.leg.tracking_number.as_str().to_owned(), None))
                .collect();
            out.calls += 1;
            match client.track_info(&numbers).await {
                Ok((tracked, rejected)) => {
                    let at = self.clock.now();
                    for leg in chunk {
                        let number = leg.leg.tracking_number.as_str();
                        if let Some(t) = tracked.iter().find(|t| t.number == number) {
                            out.by_leg.insert(leg.id, (Answer::Tracked(t.clone()), at));
                        } else if let Some(r) = rejected.iter().find(|r| r.number == number) {
                            let answer = if r.code == seventeen_track::codes::NOT_REGISTERED {
                                Answer::Unregistered
                            } else {
                                Answer::Refused(format!("{} {}", r.code, r.message))
                            };
                            out.by_leg.insert(leg.id, (answer, at));
                        }
                    }
                }
                Err(e) => {
                    out.failure = Some(e);
                    return out;
                }
            }
        }
        out
    }

    /// Russian Post and CDEK: one call per number, a few at a time. A feed failure stops the
    /// round; a refused number is that number's answer.
    async fn ask_one_by_one(&self, feed: Feed, legs: &[LegRecord]) -> FeedAnswers {
        let mut out = FeedAnswers::default();
        for chunk in legs.chunks(self.settings.concurrency.max(1)) {
            let mut asks = tokio::task::JoinSet::new();
            for leg in chunk {
                let feeds = self.feeds.clone();
                let (id, number) = (leg.id, leg.leg.tracking_number.as_str().to_owned());
                asks.spawn(async move { (id, ask_one(&feeds, feed, &number).await) });
            }
            while let Some(joined) = asks.join_next().await {
                let Ok((id, result)) = joined else { continue };
                let at = self.clock.now();
                out.calls += 1;
                match result {
                    Ok(tracked) => {
                        out.by_leg.insert(id, (Answer::Tracked(tracked), at));
                    }
                    Err(e) if e.is_feed_failure() || matches!(e, CarrierError::Auth { .. }) => {
                        out.failure.get_or_insert(e);
                    }
                    Err(e) => {
                        out.by_leg.insert(id, (Answer::Refused(e.to_string()), at));
                    }
                }
            }
            if out.failure.is_some() {
                break;
            }
        }
        out
    }
}

impl<D: Database> crate::supervise::Worker for Tracker<D> {
    fn name(&self) -> &'static str {
        "tracking"
    }

    async fn round(&self) -> bool {
        match self.run_once().await {
            Ok(report) => {
                tracing::debug!(
                    legs = report.legs_checked(),
                    calls = report.carrier_calls,
                    new_events = report.new_events,
                    deferred = report.deferred,
                    "tracking round"
                );
                !report.checked.is_empty()
            }
            Err(e) => {
                tracing::warn!(error = %crate::Chain(&e), "tracking round failed");
                false
            }
        }
    }
}

/// One number at a feed that answers one number per call.
async fn ask_one(feeds: &Feeds, feed: Feed, number: &str) -> Result<Tracked, CarrierError> {
    let missing = || CarrierError::Unavailable {
        feed: feed.as_str(),
        reason: "no client configured".into(),
    };
    match feed {
        Feed::RussianPost => {
            feeds
                .russian_post
                .as_ref()
                .ok_or_else(missing)?
                .history(number)
                .await
        }
        Feed::Cdek => feeds.cdek.as_ref().ok_or_else(missing)?.order(number).await,
        Feed::SeventeenTrack => Err(missing()),
    }
}

/// The last-mile leg a hand-over names; `None` when its number is unreadable.
fn hand_over_leg(hand_over: &ozontrack_carriers::HandOver) -> Option<Leg> {
    let Ok(number) = TrackingNumber::parse(&hand_over.number) else {
        tracing::warn!(number = %hand_over.number, "hand-over to an unreadable number");
        return None;
    };
    let carrier = hand_over
        .carrier
        .or_else(|| carrier::from_number(&number))
        .map_or(UNKNOWN_CARRIER, |c| c.code);
    Some(Leg {
        carrier: CarrierCode::parse(carrier).ok()?,
        tracking_number: number,
        role: LegRole::LastMile,
    })
}

/// What to do with a 17TRACK push: the events of every leg with that number are stored, the
/// legs are marked as covered by the webhook, hand-overs are linked. Returns the new events.
pub async fn accept_17track_push<D: Database>(
    db: &D,
    push: &seventeen_track::Push,
    now: DateTime<Utc>,
) -> Result<u64, DbError> {
    let legs = db.legs_by_number(&push.tracked.number).await?;
    let mut new = 0u64;
    for leg in legs {
        new += db.append_events(leg.id, &push.tracked.events, now).await? as u64;
        db.mark_pushed(leg.id, now).await?;
        if let Some(last) = push.tracked.hand_over.as_ref().and_then(hand_over_leg) {
            db.add_hand_over(leg.id, &last, now).await?;
        }
    }
    Ok(new)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn health(feed: &str, failures: i64, ok_h: Option<u32>, failed_h: Option<u32>) -> FeedHealth {
        let at = |h: u32| Utc.with_ymd_and_hms(2026, 11, 1, h, 0, 0).unwrap();
        FeedHealth {
            feed: feed.into(),
            ok_at: ok_h.map(at),
            failed_at: failed_h.map(at),
            failures,
            last_error: None,
            backoff_until: None,
            calls: 1,
        }
    }

    #[test]
    fn a_leg_is_down_while_its_feed_or_the_carrier_behind_the_aggregator_fails() {
        let keys = vec!["17track".to_owned(), "17track:yanwen".to_owned()];
        let all_well = [health("17track", 0, Some(5), None)];
        assert_eq!(feed_state(&keys, &all_well), (None, None));
        let carrier_down = [
            health("17track", 0, Some(5), None),
            health("17track:yanwen", 2, None, Some(4)),
        ];
        assert!(feed_state(&keys, &carrier_down).0.is_some());
        // Back since its last failure, however many successes came after.
        let recovered = [health("17track", 0, Some(6), Some(3))];
        let (down, up) = feed_state(&keys, &recovered);
        assert_eq!(down, None);
        assert_eq!(
            up,
            Some(Utc.with_ymd_and_hms(2026, 11, 1, 3, 0, 0).unwrap())
        );
        // Another feed's trouble is not this leg's.
        assert_eq!(
            feed_state(&keys, &[health("cdek", 3, None, Some(4))]),
            (None, None)
        );
    }
}
