//! `ozontrack bench polling`: a month of a sandbox world synced and tracked in 15-minute
//! steps with the adaptive schedule, against fixed 4-hourly polling of the same legs over the
//! same month. Two figures: carrier lookups per delivered parcel (goal: at most a third of
//! the fixed schedule's), and for every 48-hour stall in the truth, whether a check came
//! within the hour after it crossed 48 hours (goal: all of them).
//!
//! The fixed schedule's lookups are counted, not run: a leg polled every 4 hours from its
//! creation until a poll sees a final status (or the month ends) is looked up
//! ⌊(stop − start) / 4 h⌋ + 1 times, whatever the carriers answer.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use ozontrack_db::prelude::*;
use ozontrack_db::{LeaseOwner, LegRecord};
use ozontrack_domain::LegId;
use ozontrack_domain::{Clock, ManualClock, PostingNumber};
use ozontrack_engine::{Progress, SyncSettings, Syncer, TrackSettings, Tracker};
use ozontrack_sandbox::fakes::ozon::OzonConfig;
use ozontrack_sandbox::fakes::seventeen_track::SeventeenTrackConfig;
use ozontrack_sandbox::{CarrierEvent, Sandbox, ServeConfig, World, WorldConfig};
use serde_json::json;

use super::Scratch;
use crate::cli::BenchPollingArgs;
use crate::output;

const GOAL_RATIO: f64 = 1.0 / 3.0;

/// Lookups of fixed 4-hourly polling of a leg created at `start`, given its carrier events.
fn fixed_lookups(start: DateTime<Utc>, end: DateTime<Utc>, events: &[&CarrierEvent]) -> u64 {
    let every = Duration::hours(4);
    let final_seen = events
        .iter()
        .filter(|e| e.kind.normalized().is_final())
        .map(|e| e.visible_at.max(start))
        .min();
    let stop = final_seen.map_or(end, |seen| {
        // The first poll at or after the final status became visible.
        let polls = (seen - start).num_seconds().div_euclid(every.num_seconds())
            + i64::from((seen - start).num_seconds() % every.num_seconds() != 0);
        (start + every * i32::try_from(polls).unwrap_or(i32::MAX)).min(end)
    });
    if stop < start {
        return 0;
    }
    u64::try_from((stop - start).num_seconds() / every.num_seconds()).unwrap_or(0) + 1
}

#[derive(Debug, Default)]
struct Stalls {
    total: u64,
    seen: u64,
    /// During an outage of the leg's carrier nothing can be fresh: reported apart.
    in_outage: u64,
    missed: Vec<String>,
}

pub(crate) async fn polling(args: &BenchPollingArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let world = World::generate(WorldConfig {
        seed: args.seed,
        parcels: args.parcels,
        ..WorldConfig::default()
    });
    let clock = Arc::new(ManualClock::new(world.config.start));
    let serve = ServeConfig {
        ozon: OzonConfig { rate_limit: 10_000 },
        seventeen_track: SeventeenTrackConfig {
            rate_limit: 1_000_000,
            ..SeventeenTrackConfig::default()
        },
        push_every: None,
        ..ServeConfig::default()
    };
    let sandbox = Sandbox::start(world, clock.clone(), &serve)
        .await
        .context("starting the sandbox")?;
    let scratch = Scratch::new("polling").await?;
    let store = scratch.store.clone();
    let seller = &sandbox.state.world.stores[0];
    let record = scratch
        .add_store(
            seller.client_id,
            &seller.api_key,
            &sandbox.urls.ozon,
            clock.now(),
        )
        .await?;
    let syncer = Syncer::new(
        store.clone(),
        clock.clone(),
        ozontrack_http::Limiters::default(),
        SyncSettings {
            rate_limit: 10_000,
            ..SyncSettings::default()
        },
        LeaseOwner::new("bench"),
    )?;
    let tracker = Tracker::new(
        store.clone(),
        // Simulated days pass in seconds: the per-second limit is lifted on both sides.
        Arc::new(crate::commands::sandbox::sandbox_feeds(
            &sandbox, 1_000_000,
        )?),
        TrackSettings::default(),
        clock.clone(),
        LeaseOwner::new("bench"),
    );
    let started = Instant::now();
    let step = Duration::minutes(15);
    let mut checks: HashMap<LegId, Vec<DateTime<Utc>>> = HashMap::new();
    let mut carrier_calls = 0u64;
    for i in 0..args.days * 24 * 4 {
        if i % 24 == 0 {
            syncer
                .sync_store(&record, false, Arc::new(Progress::default()))
                .await?;
        }
        let now = clock.now();
        let report = tracker.run_until_idle(|_| {}).await?;
        carrier_calls += report.carrier_calls;
        for id in report.checked {
            checks.entry(id).or_default().push(now);
        }
        clock.advance(step);
    }
    let end = clock.now();
    let wall = started.elapsed().as_secs_f64();

    let sim = sandbox.state.window();
    let mut legs: Vec<LegRecord> = Vec::new();
    for p in sim.parcels() {
        let number = PostingNumber::parse(&p.posting_number)?;
        if let Some(posting) = store.posting(record.id, &number).await? {
            legs.extend(
                store
                    .legs(posting.id)
                    .await?
                    .into_iter()
                    .filter(|l| l.leg.carrier.as_str() != "ozon"),
            );
        }
    }
    let delivered = sim
        .parcels()
        .iter()
        .filter(|p| p.delivered_at.is_some_and(|d| d <= end))
        .count() as u64;
    let lookups: u64 = legs
        .iter()
        .map(|l| checks.get(&l.id).map_or(0, Vec::len) as u64)
        .sum();
    let mut fixed = 0u64;
    let mut stalls = Stalls::default();
    for leg in &legs {
        let number = leg.leg.tracking_number.as_str();
        let sim_legs = sim.legs_of(number);
        let mut events: Vec<&CarrierEvent> =
            sim_legs.iter().flat_map(|(_, l)| l.events.iter()).collect();
        events.sort_by_key(|e| e.at);
        fixed += fixed_lookups(leg.created_at, end, &events);
        let times = checks.get(&leg.id).map_or(&[][..], Vec::as_slice);
        for (k, e) in events.iter().enumerate() {
            if e.kind.normalized().is_final() {
                break;
            }
            let crossing = e.at + Duration::hours(48);
            let next = events.get(k + 1).map(|n| n.at);
            if next.is_some_and(|n| n <= crossing)
                || crossing + Duration::hours(1) > end
                || crossing < leg.created_at
            {
                continue;
            }
            let window_end = crossing + Duration::hours(1);
            let outage = sim_legs.iter().any(|(_, l)| {
                sim.outages()
                    .iter()
                    .any(|o| o.carrier == l.carrier && o.from < window_end && o.until > crossing)
            });
            if outage {
                stalls.in_outage += 1;
                continue;
            }
            stalls.total += 1;
            if times.iter().any(|t| *t >= crossing && *t <= window_end) {
                stalls.seen += 1;
            } else if stalls.missed.len() < 5 {
                let before = times.iter().rfind(|t| **t < crossing);
                let after = times.iter().find(|t| **t > window_end);
                stalls.missed.push(format!(
                    "{number}: event at {} (shown from {}), crossed 48 h at {crossing}; \
                     checked before at {before:?}, next at {after:?}",
                    e.at, e.visible_at
                ));
            }
        }
    }
    scratch.close().await;
    sandbox.shutdown().await;

    let per_delivered = |n: u64| n as f64 / delivered.max(1) as f64;
    let ratio = per_delivered(lookups) / per_delivered(fixed).max(f64::MIN_POSITIVE);
    let mut table = output::table(&["figure", "measured", "goal", "ratio"]);
    table.add_row(vec![
        format!(
            "carrier lookups per delivered parcel ({delivered} delivered, {} legs)",
            legs.len()
        ),
        format!(
            "{:.1} adaptive, {:.1} fixed 4-hourly",
            per_delivered(lookups),
            per_delivered(fixed)
        ),
        "≤ ⅓ of fixed".into(),
        format!("{ratio:.3}"),
    ]);
    table.add_row(vec![
        "48 h stalls with a check within the hour after crossing".into(),
        format!(
            "{} of {} ({} during outages, not counted)",
            stalls.seen, stalls.total, stalls.in_outage
        ),
        "all".into(),
        format!("{:.3}", stalls.seen as f64 / stalls.total.max(1) as f64),
    ]);
    table.add_row(vec![
        "HTTP calls to carriers (adaptive)".into(),
        carrier_calls.to_string(),
        "-".into(),
        "-".into(),
    ]);
    output::print_table(out, &table)?;
    for missed in &stalls.missed {
        writeln!(out, "missed: {missed}")?;
    }
    let summary = json!({
        "bench": "polling",
        "parcels": args.parcels,
        "days": args.days,
        "delivered": delivered,
        "legs": legs.len(),
        "lookups_adaptive": lookups,
        "lookups_fixed_4h": fixed,
        "carrier_calls": carrier_calls,
        "ratio": ratio,
        "goal_ratio": GOAL_RATIO,
        "stalls": stalls.total,
        "stalls_seen_within_1h": stalls.seen,
        "stalls_in_outages": stalls.in_outage,
        "wall_s": wall,
        "ok": ratio <= GOAL_RATIO && stalls.seen == stalls.total,
    });
    writeln!(out, "{summary}")?;
    Ok(())
}
