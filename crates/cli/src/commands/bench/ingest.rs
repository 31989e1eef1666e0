//! `ozontrack bench ingest`: the tracker's way of storing carrier events against plain
//! multi-row inserts of the same rows into the same database, on SQLite and, given
//! `--database-url`, on PostgreSQL in the same run, so the two backends are compared under one
//! load of the machine.

use std::io::Write;
use std::time::{Duration, Instant};

use chrono::Duration as SimDuration;
use ozontrack_db::LegCheck;
use ozontrack_db::prelude::*;
use ozontrack_domain::{
    EventSource, GeoPoint, LegId, LegRole, Location, MainStatus, NormalizedStatus, SubStatus,
    TrackingEvent,
};
use serde_json::json;

use super::Scratch;
use crate::cli::BenchIngestArgs;
use crate::output;

const GOAL_RATIO: f64 = 0.5;
const ROUNDS: u64 = 4;
const LEGS_PER_ROUND: usize = 400;

/// What one backend measured.
struct Figures {
    backend: &'static str,
    legs: u64,
    ingested: u64,
    ingest_time: Duration,
    raw: u64,
    raw_time: Duration,
}

impl Figures {
    fn ingest_rate(&self) -> f64 {
        self.ingested as f64 / self.ingest_time.as_secs_f64().max(1e-9)
    }

    fn raw_rate(&self) -> f64 {
        self.raw as f64 / self.raw_time.as_secs_f64().max(1e-9)
    }

    fn ratio(&self) -> f64 {
        self.ingest_rate() / self.raw_rate()
    }

    fn ok(&self) -> bool {
        self.ingested == self.raw && self.ratio() >= GOAL_RATIO
    }
}

/// `ozontrack bench ingest`.
pub(crate) async fn ingest(args: &BenchIngestArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let mut figures = vec![measure(Scratch::new("ingest").await?, args).await?];
    if let Some(url) = &args.database_url {
        let (scratch, existing) = Scratch::at(url).await?;
        if existing.is_some() {
            scratch.close().await;
            anyhow::bail!(
                "--database-url: an earlier run filled it; the events would already be there, so give an empty database"
            );
        }
        figures.push(measure(scratch, args).await?);
    }

    let mut table = output::table(&["backend", "figure", "measured", "goal", "ratio"]);
    for f in &figures {
        table.add_row(vec![
            f.backend.into(),
            format!(
                "ingest of {} events ({} legs, {ROUNDS} rounds)",
                f.ingested, f.legs
            ),
            format!(
                "{:.0} events/s ({:.1} s)",
                f.ingest_rate(),
                f.ingest_time.as_secs_f64()
            ),
            format!("≥ {GOAL_RATIO} × raw"),
            format!("{:.3}", f.ratio()),
        ]);
        table.add_row(vec![
            f.backend.into(),
            format!("raw inserts of the same {} rows", f.raw),
            format!(
                "{:.0} rows/s ({:.1} s)",
                f.raw_rate(),
                f.raw_time.as_secs_f64()
            ),
            "-".into(),
            "-".into(),
        ]);
    }
    output::print_table(out, &table)?;
    let backends: Vec<_> = figures
        .iter()
        .map(|f| {
            json!({
                "backend": f.backend,
                "events": f.ingested,
                "raw_rows": f.raw,
                "legs": f.legs,
                "ingest_events_per_s": f.ingest_rate(),
                "raw_rows_per_s": f.raw_rate(),
                "ratio": f.ratio(),
            })
        })
        .collect();
    let summary = json!({
        "bench": "ingest",
        "backends": backends,
        "goal_ratio": GOAL_RATIO,
        "ok": figures.iter().all(Figures::ok),
    });
    writeln!(out, "{summary}")?;
    Ok(())
}

/// Fills `scratch` with the legs, then stores every round's events both ways, alternating batch
/// by batch so both paths see the same database size and cache.
async fn measure(scratch: Scratch, args: &BenchIngestArgs) -> anyhow::Result<Figures> {
    let per_leg = args.per_leg.max(ROUNDS);
    let legs_count = (args.events / per_leg).max(1);
    let per_round = per_leg / ROUNDS;
    let backend = scratch.backend();
    let store = &scratch.store;
    let t0 = chrono::DateTime::parse_from_rfc3339("2026-11-01T00:00:00Z")?.to_utc();
    // A store that never calls Ozon: only its postings are needed.
    let record = scratch.add_store(1, "x", "http://127.0.0.1:9", t0).await?;
    let mut legs: Vec<LegId> = Vec::with_capacity(usize::try_from(legs_count)?);
    for i in 0..legs_count {
        let number = ozontrack_domain::PostingNumber::parse(&format!(
            "{:08}-{:04}-1",
            10_000_000 + i / 10_000,
            i % 10_000
        ))?;
        let posting = ozontrack_domain::Posting::new(
            record.id,
            number,
            ozontrack_domain::Scheme::Fbs,
            ozontrack_domain::OzonStatus::Delivering,
        );
        let posting = store.upsert_posting(&posting, t0).await?;
        let leg = ozontrack_domain::Leg {
            carrier: ozontrack_domain::CarrierCode::parse("yanwen")?,
            tracking_number: ozontrack_domain::TrackingNumber::parse(&format!("UG{i:09}YP"))?,
            role: LegRole::FirstMile,
        };
        legs.push(store.upsert_leg(posting, &leg, t0).await?);
    }
    let moscow = Location {
        text: Some("MOSCOW, RU".into()),
        city: Some("Moscow".into()),
        country: Some("RU".into()),
        point: GeoPoint::new(55.7558, 37.6173).ok(),
    };
    let status = NormalizedStatus::new(MainStatus::InTransit, SubStatus::InTransit);
    let owner = ozontrack_db::LeaseOwner::new("bench");
    let mut figures = Figures {
        backend,
        legs: legs_count,
        ingested: 0,
        ingest_time: Duration::ZERO,
        raw: 0,
        raw_time: Duration::ZERO,
    };
    for round in 0..ROUNDS {
        for batch in legs.chunks(LEGS_PER_ROUND) {
            let checks: Vec<LegCheck> = batch
                .iter()
                .map(|leg| LegCheck {
                    leg: *leg,
                    events: (0..per_round)
                        .map(|j| {
                            let n = round * per_round + j;
                            let at = t0 + SimDuration::minutes(i64::try_from(n).unwrap_or(0) * 90);
                            TrackingEvent::new(
                                EventSource::SeventeenTrack,
                                at,
                                status.clone(),
                                "InTransit_Other",
                                format!("Scan {n} of parcel {}", leg.0),
                                moscow.clone(),
                            )
                        })
                        .collect(),
                    next_check_at: Some(t0),
                    registered: true,
                    detected_carrier: None,
                    fresh: true,
                    answered_at: t0,
                })
                .collect();
            let started = Instant::now();
            figures.ingested += store.record_checks(&checks, &owner, t0).await?;
            figures.ingest_time += started.elapsed();
            let rows: Vec<(i64, &TrackingEvent)> = checks
                .iter()
                .flat_map(|c| c.events.iter().map(move |e| (c.leg.0, e)))
                .collect();
            let started = Instant::now();
            figures.raw += store.bench_raw_insert(&rows, t0).await?;
            figures.raw_time += started.elapsed();
        }
    }
    scratch.close().await;
    Ok(figures)
}
