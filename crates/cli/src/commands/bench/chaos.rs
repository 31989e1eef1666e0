//! `ozontrack bench chaos`: several `ozontrack serve --role workers` processes on one PostgreSQL,
//! following a sandbox world's fast clock, while one of them is killed (SIGKILL) every few
//! seconds and started again and the fakes answer with 429s, 5xx, hangs and cut bodies. Then
//! the database is scored against the world's truth:
//!
//! - events: every event a carrier's API showed by a leg's last check is stored, once, and
//!   nothing the world never showed;
//! - legs: each carrier leg's state is the truth's at its last check or a later one, never an
//!   older one;
//! - postings: every posting Ozon showed by the store's last sync is there, in a status Ozon
//!   gave it from then on, never an older one;
//! - alerts: never two open alerts of one rule on one posting, nor two whose lives overlap;
//! - rate limits: the fakes refused no request for breaking the Client-Id's, the 17TRACK
//!   token's or a seller channel's limit (their injected 429s are faults, not refusals);
//! - leases: none runs further ahead than its term, and none of a killed process outlives it by
//!   more than a term (see [`leases`]);
//! - notifications: every message the outbox holds reached its receiver, a webhook exactly once
//!   by its key (see [`outbox`]);
//! - alerts against an undisturbed run: beside the chaos, one process that is never killed
//!   runs the same world on the same clock, without faults, into a second database. The world
//!   stands still at its end; both databases are then brought to that moment by the same
//!   reader (sync, every leg checked, a full risk round), and their open alerts must be the
//!   same. Until then, when an alert opens depends on when rounds happen to run, which the
//!   kills change by design.
//!
//! "By a leg's last check" (`checked_at`: when the carrier's last answer came in) leaves the
//! run's end out of the question: what a carrier showed at that moment is what the leg should
//! hold. One real second of the world's time is allowed either side of it for the processes'
//! clocks and the request in flight.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use anyhow::{Context, bail};
use chrono::{DateTime, Duration, Utc};
use ozontrack_db::prelude::*;
use ozontrack_db::{Cipher, SqlDatabase, StoreRecord};
use ozontrack_domain::{Clock, ManualClock, ScaledClock, SystemClock};
use ozontrack_engine::{Feed, Feeds};
use ozontrack_sandbox::faults::{FaultPlan, Faults};
use ozontrack_sandbox::rng::Rng;
use ozontrack_sandbox::{Carrier, Sandbox, ServeConfig, World, WorldConfig};
use serde_json::json;

use super::nodes::{self, Launcher};
use crate::cli::BenchChaosArgs;
use crate::output;

mod leases;
mod outbox;

/// How long the nodes may take to stop at the end (real time) before the world stands still:
/// longer than a lingering node is given before it is killed.
const STOPPING: StdDuration = StdDuration::from_secs(nodes::STOP_WITHIN.as_secs() + 3);

/// How often the leases are read during the run (real time).
const LEASES_EVERY: StdDuration = StdDuration::from_millis(500);

/// The stream of the sandbox's seeded generator that picks the kills.
const KILLS_STREAM: u64 = 9_000;

/// The nodes' settings beside the fakes': a killed node's work goes to the others within
/// seconds, not minutes, and every worker looks for work every second.
const SETTINGS: [(&str, &str); 11] = [
    ("CARRIERS__TIMEOUT_SECS", "5"),
    ("OZON__TIMEOUT_SECS", "5"),
    // A dispatcher's lease is at least two of its requests' timeouts: 10 s, as configured.
    ("NOTIFY__TIMEOUT_SECS", "5"),
    ("SYNC__LEASE_SECS", "6"),
    ("TRACKING__LEASE_SECS", "10"),
    ("RISK__LEASE_SECS", "10"),
    ("NOTIFY__LEASE_SECS", "10"),
    ("SYNC__POLL_SECS", "1"),
    ("TRACKING__INTERVAL_SECS", "1"),
    ("RISK__INTERVAL_SECS", "1"),
    ("NOTIFY__INTERVAL_SECS", "1"),
];

/// The faults every fake injects: shares of requests.
fn faults(seed: u64) -> FaultPlan {
    let each = Faults {
        error_rate: 0.03,
        throttle_rate: 0.03,
        timeout_rate: 0.005,
        malformed_rate: 0.02,
        slow_ms: 0,
        // Shorter than the clients' timeouts, which then see the 504.
        hang_ms: 1_500,
    };
    FaultPlan {
        ozon: each.clone(),
        seventeen_track: each.clone(),
        russian_post: each.clone(),
        cdek: each.clone(),
        channels: each,
        seed,
    }
}

/// What the scoring found.
#[derive(Debug, Default)]
struct Score {
    legs: u64,
    legs_checked: u64,
    legs_off: u64,
    events_expected: u64,
    events_stored: u64,
    events_lost: u64,
    events_twice: u64,
    events_unknown: u64,
    postings_expected: u64,
    postings_missing: u64,
    postings_off: u64,
    alerts: u64,
    alerts_twice: u64,
    examples: Vec<String>,
}

impl Score {
    fn note(&mut self, example: String) {
        if self.examples.len() < 8 {
            self.examples.push(example);
        }
    }

    fn clean(&self) -> bool {
        self.legs_off
            + self.events_lost
            + self.events_twice
            + self.events_unknown
            + self.postings_missing
            + self.postings_off
            + self.alerts_twice
            == 0
    }
}

/// The carrier legs the database holds, and everything the scoring needs of them.
async fn score(
    db: &SqlDatabase,
    store: &StoreRecord,
    sandbox: &Sandbox,
    feeds: &Feeds,
    slack: Duration,
    end: DateTime<Utc>,
) -> anyhow::Result<Score> {
    let mut score = Score::default();
    let window = sandbox.state.window();
    let synced = synced_until(db, store).await?;
    for parcel in window.parcels() {
        let number = ozontrack_domain::PostingNumber::parse(&parcel.posting_number)?;
        let posting = db.posting(store.id, &number).await?;
        if let Some(synced) = synced
            && parcel.appears_at <= synced - slack
        {
            score.postings_expected += 1;
            match &posting {
                None => {
                    score.postings_missing += 1;
                    score.note(format!(
                        "{number}: never synced (appeared {})",
                        parcel.appears_at
                    ));
                }
                Some(p) => {
                    // A sync reads pages after the moment it started from, and a loaded
                    // machine makes that hours of the world's time: any status Ozon showed
                    // from then on is the truth; an older one is not.
                    let stored = p.posting.status.as_str();
                    let truthful = sandbox.state.ozon_at(parcel, synced - slack).status == stored
                        || parcel
                            .ozon
                            .iter()
                            .filter(|s| s.at > synced - slack && s.at <= end)
                            .any(|s| s.status == stored);
                    if !truthful {
                        score.postings_off += 1;
                        let truth = sandbox.state.ozon_at(parcel, synced).status;
                        score.note(format!("{number}: {stored}, Ozon said {truth} at {synced}"));
                    }
                }
            }
        }
        let Some(posting) = posting else { continue };
        for leg in db.legs(posting.id).await? {
            if leg.leg.carrier.as_str() == "ozon" {
                continue;
            }
            score.legs += 1;
            let (Some(feed), Some(checked)) = (feeds.feed_of(&leg.leg), leg.checked_at) else {
                continue;
            };
            score.legs_checked += 1;
            let tracking = leg.leg.tracking_number.as_str();
            let shown = |kind| match feed {
                Feed::SeventeenTrack => true,
                Feed::RussianPost => {
                    ozontrack_sandbox::fakes::published(Carrier::RussianPost, kind)
                }
                Feed::Cdek => ozontrack_sandbox::fakes::published(Carrier::Cdek, kind),
            };
            let truth: Vec<_> = window
                .legs_of(tracking)
                .into_iter()
                .flat_map(|(_, l)| l.events.iter())
                .filter(|e| shown(e.kind))
                .collect();
            let stored = db.events(leg.id).await?;
            score.events_stored += stored.len() as u64;
            let mut keys = HashSet::new();
            for e in &stored {
                let key = (
                    e.event.occurred_at,
                    e.event.raw_code.clone(),
                    e.event.source.as_str().to_owned(),
                );
                if !keys.insert(key) {
                    score.events_twice += 1;
                    score.note(format!("{tracking}: {} stored twice", e.event.occurred_at));
                }
                if !truth
                    .iter()
                    .any(|t| second(t.at) == second(e.event.occurred_at) && t.visible_at <= end)
                {
                    score.events_unknown += 1;
                    score.note(format!(
                        "{tracking}: {} was never shown",
                        e.event.occurred_at
                    ));
                }
            }
            let times: HashSet<i64> = stored.iter().map(|e| second(e.event.occurred_at)).collect();
            for t in truth.iter().filter(|t| t.visible_at <= checked - slack) {
                score.events_expected += 1;
                if !times.contains(&second(t.at)) {
                    score.events_lost += 1;
                    score.note(format!("{tracking}: {} ({:?}) lost", t.at, t.kind));
                }
            }
            let latest_at = |moment: DateTime<Utc>| {
                truth
                    .iter()
                    .filter(|t| t.visible_at <= moment)
                    .max_by_key(|t| t.at)
                    .map(|t| (second(t.at), t.kind.normalized().main.as_str().to_owned()))
            };
            let got = leg
                .last_event_at
                .map(second)
                .zip(leg.status.as_ref().map(|s| s.main.as_str().to_owned()));
            // An answer that was not the carrier's whole history (17TRACK could not reach it)
            // adds events without moving `checked_at`: the state may be any the carrier showed
            // from the last whole answer on, never an older one.
            let moments = [checked - slack].into_iter().chain(
                truth
                    .iter()
                    .map(|t| t.visible_at)
                    .filter(|v| *v > checked - slack && *v <= end),
            );
            if !moments.map(latest_at).any(|truth| truth == got) {
                score.legs_off += 1;
                score.note(format!(
                    "{tracking}: {got:?}, truth {:?} at its check {checked}",
                    latest_at(checked)
                ));
            }
        }
    }
    let alerts = db
        .alerts(&ozontrack_db::AlertFilter {
            stores: Some(vec![store.id]),
            ..Default::default()
        })
        .await?;
    score.alerts = alerts.len() as u64;
    // An alert's life: opened, and resolved unless still open.
    type Life = (DateTime<Utc>, Option<DateTime<Utc>>);
    let mut lives: HashMap<_, Vec<Life>> = HashMap::new();
    for a in &alerts {
        lives
            .entry((a.posting_id, a.rule))
            .or_default()
            .push((a.opened_at, a.resolved_at));
    }
    for ((_, rule), mut spans) in lives {
        spans.sort();
        for pair in spans.windows(2) {
            let ((_, ended), (next, _)) = (pair[0], pair[1]);
            if ended.is_none_or(|end| next < end) {
                score.alerts_twice += 1;
                score.note(format!("two {rule:?} alerts at once ({next})"));
            }
        }
    }
    Ok(score)
}

/// The open alerts of the two runs, after both were settled at the same moment.
#[derive(Debug, Default)]
struct AlertComparison {
    open: u64,
    reference_open: u64,
    only_here: u64,
    only_reference: u64,
    examples: Vec<String>,
}

impl AlertComparison {
    fn equal(&self) -> bool {
        self.only_here + self.only_reference == 0
    }
}

/// What makes an open alert the same in two databases: the posting, the rule, the leg and the
/// severity (ids and times are each database's own).
type AlertKey = (
    String,
    ozontrack_domain::finding::RuleKind,
    Option<String>,
    ozontrack_domain::finding::Severity,
);

async fn open_alerts(db: &SqlDatabase, store: &StoreRecord) -> anyhow::Result<HashSet<AlertKey>> {
    let alerts = db
        .alerts(&ozontrack_db::AlertFilter {
            stores: Some(vec![store.id]),
            open_only: true,
            ..Default::default()
        })
        .await?;
    Ok(alerts
        .into_iter()
        .map(|a| (a.posting_number.to_string(), a.rule, a.leg, a.severity))
        .collect())
}

async fn compare_alerts(
    db: &SqlDatabase,
    store: &StoreRecord,
    reference_db: &SqlDatabase,
    reference_store: &StoreRecord,
) -> anyhow::Result<AlertComparison> {
    let here = open_alerts(db, store).await?;
    let there = open_alerts(reference_db, reference_store).await?;
    let mut comparison = AlertComparison {
        open: here.len() as u64,
        reference_open: there.len() as u64,
        ..AlertComparison::default()
    };
    let mut note = |side: &str, (posting, rule, leg, severity): &AlertKey| {
        if comparison.examples.len() < 8 {
            comparison.examples.push(format!(
                "{posting}: {rule:?} {severity:?} ({}) open only in the {side} run",
                leg.as_deref().unwrap_or("no leg")
            ));
        }
    };
    for key in here.difference(&there) {
        note("chaos", key);
        comparison.only_here += 1;
    }
    for key in there.difference(&here) {
        note("undisturbed", key);
        comparison.only_reference += 1;
    }
    Ok(comparison)
}

/// Brings `db` to the world's state at its end, as one undisturbed process would see it at
/// `at`: the store synced, every carrier leg of every posting checked, and a full risk round.
async fn settle(
    db: &SqlDatabase,
    store: &StoreRecord,
    sandbox: &Sandbox,
    at: DateTime<Utc>,
) -> anyhow::Result<()> {
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(at));
    let owner = ozontrack_db::LeaseOwner::new("settle");
    let record = db
        .store(store.id)
        .await?
        .context("the run's store is gone")?;
    let syncer = ozontrack_engine::Syncer::new(
        db.clone(),
        Arc::clone(&clock),
        ozontrack_http::Limiters::default(),
        ozontrack_engine::SyncSettings::default(),
        owner.clone(),
    )?;
    // A node stopped or killed in the middle of a sync left its plan behind; the first sync
    // here only finishes that plan, whose changes end when it was made, so a fresh one follows.
    while syncer
        .sync_store(&record, false, Arc::default())
        .await?
        .resumed
    {}
    let feeds = Arc::new(crate::commands::sandbox::sandbox_feeds(sandbox, 3)?);
    let tracker = ozontrack_engine::Tracker::new(
        db.clone(),
        Arc::clone(&feeds),
        ozontrack_engine::TrackSettings::default(),
        Arc::clone(&clock),
        owner.clone(),
    );
    // A check may find a hand-over to a leg the run never saw: legs are checked until no new
    // one turns up.
    let mut checked = HashSet::new();
    loop {
        let mut legs = Vec::new();
        for parcel in sandbox.state.window().parcels() {
            let number = ozontrack_domain::PostingNumber::parse(&parcel.posting_number)?;
            if let Some(posting) = db.posting(store.id, &number).await? {
                legs.extend(
                    db.legs(posting.id)
                        .await?
                        .into_iter()
                        .filter(|l| feeds.feed_of(&l.leg).is_some() && !checked.contains(&l.id))
                        .map(|l| l.id),
                );
            }
        }
        if legs.is_empty() {
            break;
        }
        for batch in legs.chunks(200) {
            tracker.check_now(batch).await?;
        }
        checked.extend(legs);
    }
    ozontrack_engine::Evaluator::new(
        db.clone(),
        feeds,
        ozontrack_engine::RulesBook::default(),
        ozontrack_engine::RiskSettings {
            full_every: Duration::zero(),
            ..ozontrack_engine::RiskSettings::default()
        },
        clock,
        owner,
    )
    .run_once()
    .await?;
    Ok(())
}

/// A time to the second: carriers' APIs write whole seconds, the world keeps finer ones.
fn second(t: DateTime<Utc>) -> i64 {
    t.timestamp()
}

/// How far the store's sync has read Ozon.
async fn synced_until(
    db: &SqlDatabase,
    store: &StoreRecord,
) -> anyhow::Result<Option<DateTime<Utc>>> {
    Ok(db.store(store.id).await?.and_then(|s| s.synced_until))
}

/// `ozontrack bench chaos`.
pub(crate) async fn chaos(args: &BenchChaosArgs, out: &mut impl Write) -> anyhow::Result<()> {
    if !(args.speed.is_finite() && args.speed >= 1.0) {
        bail!("--speed must be a number of at least 1, not {}", args.speed);
    }
    let every = StdDuration::try_from_secs_f64(args.kill_every)
        .ok()
        .filter(|every| every.as_millis() >= 500)
        .with_context(|| {
            format!(
                "--kill-every must be at least 0.5 seconds, not {}",
                args.kill_every
            )
        })?;
    let logs = nodes::run_dir("chaos")?;
    let (cipher, _) = Cipher::load_or_create_key_file(&nodes::key_file(&logs))?;
    let db = nodes::empty_database(&args.database_url, &cipher).await?;
    let reference_db = nodes::empty_database(&args.reference_database_url, &cipher).await?;

    // The run lasts as long as the world's orders come in. The nodes are then stopped, and a
    // little later the world stands still, so that both runs are read at the same moment: the
    // nodes must be gone by then, or they would record times the world never reached.
    let span = Duration::days(i64::from(args.days.max(1)));
    let config = WorldConfig {
        seed: args.seed,
        parcels: args.parcels,
        order_span: span,
        ..WorldConfig::default()
    };
    let start = config.start;
    let end = start + span;
    let margin = Duration::milliseconds((STOPPING.as_secs_f64() * args.speed * 1000.0) as i64);
    let clock = Arc::new(ScaledClock::new(start, args.speed).stopping_at(end + margin));
    let sandbox = Sandbox::start(
        World::generate(config.clone()),
        Arc::clone(&clock) as Arc<dyn Clock>,
        &ServeConfig {
            faults: faults(args.seed),
            push_every: None,
            ..ServeConfig::default()
        },
    )
    .await?;
    // The undisturbed run: the same world on the same clock, without faults.
    let reference = Sandbox::start(
        World::generate(config),
        Arc::clone(&clock) as Arc<dyn Clock>,
        &ServeConfig {
            push_every: None,
            ..ServeConfig::default()
        },
    )
    .await?;
    let seller = &sandbox.stores()[0];
    let store = nodes::add_store(&db, &sandbox, seller, "chaos-shop", clock.now()).await?;
    let reference_store =
        nodes::add_store(&reference_db, &reference, seller, "chaos-shop", clock.now()).await?;
    outbox::add_destinations(&db, &sandbox, store.id, clock.now()).await?;

    let mut launcher = Launcher::new("node", &sandbox, &args.database_url, &logs, &SETTINGS)?;
    let mut reference_launcher = Launcher::new(
        "reference",
        &reference,
        &args.reference_database_url,
        &logs,
        &SETTINGS,
    )?;
    let began = Instant::now();
    let reference_node = reference_launcher.start().await?;
    let mut running = Vec::new();
    for _ in 0..args.processes.max(1) {
        running.push(launcher.start().await?);
    }
    // Which node dies and when: a stream of its own, apart from the world's and the faults'.
    let mut dice = Rng::for_item(args.seed, KILLS_STREAM, 0);
    let mut kills = 0u32;
    let mut watch = leases::LeaseWatch::new(|name| {
        SETTINGS
            .iter()
            .find(|(key, _)| *key == name)
            .and_then(|(_, secs)| secs.parse().ok())
    })?;
    while clock.now() < end {
        let left = (end - clock.now())
            .to_std()
            .unwrap_or_default()
            .div_f64(args.speed);
        // Between half and one and a half of `every`.
        let pause = every.mul_f64(0.5 + dice.unit());
        let until = Instant::now() + pause.min(left);
        while let Some(wait) = until.checked_duration_since(Instant::now()) {
            watch
                .sample(
                    &db,
                    clock.now(),
                    SystemClock.now(),
                    args.speed,
                    StdDuration::from_secs(1),
                )
                .await?;
            tokio::time::sleep(wait.min(LEASES_EVERY)).await;
        }
        if clock.now() >= end {
            break;
        }
        let victim = usize::try_from(dice.range(0, running.len() as u64)).unwrap_or(0);
        let mut node = running.swap_remove(victim);
        node.child.kill().await?;
        watch.died(node.pid, clock.now(), SystemClock.now());
        kills += 1;
        running.push(launcher.start().await?);
    }
    running.push(reference_node);
    nodes::stop(running).await?;
    let wall = began.elapsed();
    if clock.now() >= end + margin {
        bail!(
            "stopping the nodes took longer than {} s, the world's margin: they may have \
             recorded times the world never reached; see {}",
            STOPPING.as_secs(),
            logs.display()
        );
    }
    tokio::time::sleep(
        (end + margin - clock.now())
            .to_std()
            .unwrap_or_default()
            .div_f64(args.speed),
    )
    .await;

    let feeds = crate::commands::sandbox::sandbox_feeds(&sandbox, 3)?;
    let slack = Duration::milliseconds((args.speed * 1000.0) as i64);
    let score = score(&db, &store, &sandbox, &feeds, slack, clock.now()).await?;
    let (ozon_refusals, seventeen_track_refusals) = sandbox.rate_limit_refusals();
    let ozon_refused: u64 = ozon_refusals.values().sum();

    // Both worlds stand still now (their clock stopped). Each database is brought to that moment once more
    // by one process, as the same reader (the store synced, every carrier leg checked, a full
    // risk round), a day later by the clock, when every lease the nodes held has expired; the
    // open alerts of the two must then be the same.
    sandbox.calm();
    reference.calm();
    let settled_at = end + margin + Duration::days(1);
    settle(&db, &store, &sandbox, settled_at).await?;
    settle(&reference_db, &reference_store, &reference, settled_at).await?;
    let alerts = compare_alerts(&db, &store, &reference_db, &reference_store).await?;
    outbox::drain(&db, settled_at).await?;
    let delivery = outbox::score(&db, &sandbox).await?;

    let mut table = output::table(&["measure", "value", "goal"]);
    let rows: [(&str, String, &str); 23] = [
        ("processes", args.processes.to_string(), ""),
        ("simulated days", args.days.to_string(), ""),
        ("kills (SIGKILL) and restarts", kills.to_string(), ""),
        (
            "carrier legs (checked)",
            format!("{} ({})", score.legs, score.legs_checked),
            "",
        ),
        (
            "events shown by the carriers",
            score.events_expected.to_string(),
            "",
        ),
        ("events stored", score.events_stored.to_string(), ""),
        ("events lost", score.events_lost.to_string(), "0"),
        ("events stored twice", score.events_twice.to_string(), "0"),
        ("events never shown", score.events_unknown.to_string(), "0"),
        (
            "legs whose state is not the truth's",
            score.legs_off.to_string(),
            "0",
        ),
        (
            "postings Ozon showed (missing)",
            format!("{} ({})", score.postings_expected, score.postings_missing),
            "0 missing",
        ),
        (
            "postings whose status is not Ozon's",
            score.postings_off.to_string(),
            "0",
        ),
        (
            "alerts (two at once)",
            format!("{} ({})", score.alerts, score.alerts_twice),
            "0 at once",
        ),
        (
            "open alerts at the end (undisturbed run)",
            format!("{} ({})", alerts.open, alerts.reference_open),
            "equal",
        ),
        (
            "open alerts only in one run",
            format!(
                "{} chaos, {} undisturbed",
                alerts.only_here, alerts.only_reference
            ),
            "0",
        ),
        (
            "outbox messages (reached their receiver)",
            format!("{} ({})", delivery.messages, delivery.reached),
            "all",
        ),
        (
            "webhooks lost, unknown (repeats dropped by id)",
            format!(
                "{}, {} ({})",
                delivery.webhook_lost, delivery.webhook_unknown, delivery.webhook_repeats
            ),
            "0, 0",
        ),
        (
            "seller channels' rate-limit refusals",
            delivery.violations.to_string(),
            "0",
        ),
        (
            "leases seen (samples)",
            format!("{} ({})", watch.seen, watch.samples),
            "",
        ),
        (
            "leases longer than their term, outliving a killed holder",
            format!("{}, {}", watch.too_long, watch.outlived),
            "0, 0",
        ),
        ("Ozon rate-limit refusals", ozon_refused.to_string(), "0"),
        (
            "17TRACK rate-limit refusals",
            seventeen_track_refusals.to_string(),
            "0",
        ),
        ("wall time", format!("{:.0} s", wall.as_secs_f64()), ""),
    ];
    for (measure, value, goal) in rows {
        table.add_row(vec![measure.to_owned(), value, goal.to_owned()]);
    }
    output::print_table(out, &table)?;
    for example in score
        .examples
        .iter()
        .chain(&alerts.examples)
        .chain(&delivery.examples)
        .chain(&watch.examples)
    {
        writeln!(out, "  {example}")?;
    }
    writeln!(out, "node logs: {}", logs.display())?;
    let clean = score.clean()
        && alerts.equal()
        && delivery.clean()
        && watch.clean()
        && ozon_refused + seventeen_track_refusals == 0;
    // One line, for scripts and the test that runs the short version.
    writeln!(
        out,
        "{}",
        json!({
            "bench": "chaos",
            "seed": args.seed,
            "processes": args.processes,
            "days": args.days,
            "speed": args.speed,
            "parcels": args.parcels,
            "kills": kills,
            "legs": score.legs,
            "legs_checked": score.legs_checked,
            "legs_off": score.legs_off,
            "events_expected": score.events_expected,
            "events_stored": score.events_stored,
            "events_lost": score.events_lost,
            "events_twice": score.events_twice,
            "events_unknown": score.events_unknown,
            "postings_expected": score.postings_expected,
            "postings_missing": score.postings_missing,
            "postings_off": score.postings_off,
            "alerts": score.alerts,
            "alerts_twice": score.alerts_twice,
            "open_alerts": alerts.open,
            "reference_open_alerts": alerts.reference_open,
            "open_alerts_only_here": alerts.only_here,
            "open_alerts_only_in_reference": alerts.only_reference,
            "messages": delivery.messages,
            "messages_reached": delivery.reached,
            "webhooks_lost": delivery.webhook_lost,
            "webhooks_unknown": delivery.webhook_unknown,
            "webhook_repeats": delivery.webhook_repeats,
            "telegram_received": delivery.telegram_received,
            "channel_refusals": delivery.violations,
            "lease_samples": watch.samples,
            "leases_seen": watch.seen,
            "leases_too_long": watch.too_long,
            "leases_outliving_holder": watch.outlived,
            "ozon_refusals": ozon_refused,
            "seventeen_track_refusals": seventeen_track_refusals,
            "wall_s": wall.as_secs_f64(),
            "clean": clean,
        })
    )?;
    sandbox.shutdown().await;
    reference.shutdown().await;
    Ok(())
}
