//! `ozontrack bench export`: the postings export at scale. A database is filled with
//! `--postings` postings the sync's way (Ozon's leg and a carrier leg each, three carrier
//! events per leg, an open alert on one posting in a hundred), their export lines are made as
//! the `export_lines` worker makes them (timed apart: that is background work), then every
//! posting is exported to CSV and to XLSX with every column, as `export postings` does it.
//! Measured: rows per second, and the process's resident memory above what it held just before
//! each export (sampled every 20 ms), against the targets (1 M rows/s CSV, 200 k rows/s XLSX,
//! 50 MB). Beside them, the rate of the export's read alone (its pages of lines, each posting
//! decoded from its line, nothing rendered or written): no export can run faster than it; and
//! each other part alone: the whole read (every posting turned into its row with its arrival
//! window), then one page's rows turned into cells, and written to each format, again and again.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use anyhow::Context;
use chrono::{Duration, TimeZone, Utc};
use ozontrack_db::prelude::*;
use ozontrack_db::{LeaseOwner, LegCheck, PostingQuery, SqlDatabase};
use ozontrack_domain::finding::{Action, Finding, Reason, Severity};
use ozontrack_domain::{
    EventSource, LegId, Location, MainStatus, NormalizedStatus, PostingNumber, SubStatus,
    SyncedPosting, TrackingEvent,
};
use ozontrack_engine::export::{
    ExportSpec, Exporter, FileSpec, create_file, export_to_file, write_lines,
};
use ozontrack_reports::{Batch, Column, FileFormat, Profile};
use serde_json::json;

use super::{Scratch, bench_posting, rss_mib};
use crate::cli::BenchExportArgs;
use crate::output;

const GOAL_CSV_ROWS_PER_S: f64 = 1_000_000.0;
const GOAL_XLSX_ROWS_PER_S: f64 = 200_000.0;
const GOAL_RSS_MB: f64 = 50.0;

fn number(i: u32) -> String {
    format!("{:08}-{:04}-1", 40_000_000 + i / 10_000, i % 10_000)
}

/// The process's resident memory in MB (10^6 bytes, as the goal is stated).
fn rss_mb() -> f64 {
    rss_mib().map_or(0.0, |mib| mib * 1.048_576)
}

pub(crate) async fn export(args: &BenchExportArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let start = Utc
        .with_ymd_and_hms(2026, 9, 1, 0, 0, 0)
        .single()
        .context("a fixed date")?;
    let (scratch, existing) = match &args.database_url {
        Some(url) => Scratch::at(url).await?,
        None => (Scratch::new("export").await?, None),
    };
    let db = scratch.store.clone();
    let (record, seed_s) = match existing {
        // A database an earlier run filled: measured again as it is.
        Some(record) => {
            let held = db.count_postings(record.id).await?;
            writeln!(out, "reusing {held} postings on {}", scratch.backend())?;
            (record, 0.0)
        }
        None => {
            let record = scratch
                .add_store(1, "bench", "http://127.0.0.1:9", start)
                .await?;
            let seeding = Instant::now();
            seed(&db, &record, args.postings, start).await?;
            let seed_s = seeding.elapsed().as_secs_f64();
            writeln!(
                out,
                "seeded {} postings on {} in {seed_s:.0} s",
                args.postings,
                scratch.backend()
            )?;
            (record, seed_s)
        }
    };
    // The export lines are made as the `export_lines` worker makes them, in the background
    // while the sync, the tracker and the rules write: timed apart, as that work is not an
    // export's.
    let waiting = db.export_changes_waiting().await?;
    let making = Instant::now();
    let mut taken = 0usize;
    loop {
        let n = db
            .refresh_export_lines(ozontrack_engine::export::LINES_PER_ROUND)
            .await?;
        if n == 0 {
            break;
        }
        taken += n;
    }
    let lines_s = making.elapsed().as_secs_f64();
    writeln!(
        out,
        "made the export lines of {taken} waiting changes (of {waiting}) in {lines_s:.1} s \
         = {:.0} changes/s, as the export_lines worker does",
        taken as f64 / lines_s.max(1e-9)
    )?;
    // The arrival windows are learned before the clock starts, as `export postings` does:
    // learning reads every delivered journey, and it is not the export's work.
    let now = start + Duration::days(20);
    let estimates = Arc::new(ozontrack_engine::estimate::EstimateBook::default());
    let learning = Instant::now();
    estimates.refresh(&db, now).await?;
    writeln!(
        out,
        "learned the arrival windows in {:.1} s",
        learning.elapsed().as_secs_f64()
    )?;

    let (read_rows, read_s) = read_postings_alone(&db, &record).await?;
    let read_rate = read_rows as f64 / read_s.max(1e-9);
    writeln!(
        out,
        "read alone: {read_rows} postings' pages in {read_s:.2} s = {read_rate:.0} rows/s \
         ({:.2} of the CSV goal)",
        read_rate / GOAL_CSV_ROWS_PER_S,
    )?;

    let dir = std::env::temp_dir().join(format!("ozontrack-bench-export-{}", std::process::id()));
    std::fs::create_dir_all(&dir).context("a directory for the export files")?;
    let spec = ExportSpec {
        query: PostingQuery {
            stores: vec![record.id],
            ..PostingQuery::default()
        },
        columns: Column::ALL.to_vec(),
        language: ozontrack_domain::Language::Ru,
        public_url: Some("https://track.example.com".into()),
    };
    let alone = parts_alone(&db, &record, &spec, &estimates, &dir, args.postings, now).await?;
    for (what, rate) in &alone {
        writeln!(
            out,
            "{what} alone: {rate:.0} rows/s ({:.2} of the CSV goal, {:.2} of the XLSX goal)",
            rate / GOAL_CSV_ROWS_PER_S,
            rate / GOAL_XLSX_ROWS_PER_S,
        )?;
    }
    let mut results = Vec::new();
    for format in [FileFormat::Csv, FileFormat::Xlsx] {
        let file = FileSpec {
            format,
            profile: Profile::Ru,
            split: None,
        };
        let path = dir.join(format!("postings.{}", format.extension()));
        let exporter = Exporter::new(
            db.clone(),
            std::slice::from_ref(&record),
            &spec,
            Some(Arc::clone(&estimates)),
        );
        let idle = rss_mb();
        let peak = Arc::new(AtomicU64::new(idle.to_bits()));
        let running = Arc::new(AtomicBool::new(true));
        let sampler = {
            let (peak, running) = (Arc::clone(&peak), Arc::clone(&running));
            std::thread::spawn(move || {
                while running.load(Ordering::Relaxed) {
                    let now = rss_mb();
                    if now > f64::from_bits(peak.load(Ordering::Relaxed)) {
                        peak.store(now.to_bits(), Ordering::Relaxed);
                    }
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
            })
        };
        let began = Instant::now();
        let exported = export_to_file(exporter, &spec, &file, &path, now, |_| {}).await?;
        let seconds = began.elapsed().as_secs_f64();
        running.store(false, Ordering::Relaxed);
        let _ = sampler.join();
        let growth = f64::from_bits(peak.load(Ordering::Relaxed)) - idle;
        let bytes = std::fs::metadata(&exported.path).map_or(0, |m| m.len());
        // Rows per second from counts far below 2^53.
        #[allow(clippy::cast_precision_loss)]
        let rate = exported.rows as f64 / seconds.max(1e-9);
        let goal = match format {
            FileFormat::Csv => GOAL_CSV_ROWS_PER_S,
            FileFormat::Xlsx => GOAL_XLSX_ROWS_PER_S,
        };
        writeln!(
            out,
            "{:>4}: {} rows in {seconds:.2} s = {rate:.0} rows/s (goal {goal:.0}, ratio {:.2}); \
             {:.1} MB file; memory +{growth:.1} MB over {idle:.0} MB (goal {GOAL_RSS_MB})",
            format.extension(),
            exported.rows,
            rate / goal,
            bytes as f64 / 1e6,
        )?;
        results.push(json!({
            "format": format.extension(),
            "rows": exported.rows,
            "seconds": seconds,
            "rows_per_s": rate,
            "goal_rows_per_s": goal,
            "ratio": rate / goal,
            "file_mb": bytes as f64 / 1e6,
            "rss_growth_mb": growth,
            "idle_rss_mb": idle,
            "goal_rss_growth_mb": GOAL_RSS_MB,
            "rss_ratio": growth / GOAL_RSS_MB,
        }));
        std::fs::remove_file(&exported.path).ok();
    }
    let backend = scratch.backend();
    scratch.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    output::print_json(
        out,
        &json!({
            "bench": "export",
            "backend": backend,
            "postings": args.postings,
            "seed_s": seed_s,
            "lines_made": { "changes": taken, "waiting": waiting, "seconds": lines_s },
            "read_alone": {
                "rows": read_rows,
                "seconds": read_s,
                "rows_per_s": read_rate,
                "ratio_to_csv_goal": read_rate / GOAL_CSV_ROWS_PER_S,
            },
            "alone_rows_per_s": alone
                .iter()
                .map(|(what, rate)| (what.replace(' ', "_"), json!(rate)))
                .collect::<serde_json::Map<_, _>>(),
            "exports": results,
        }),
    )?;
    Ok(())
}

/// Every posting of the store read the way an export reads it (pages of its size, newest first,
/// each posting decoded from its line as a view), and nothing else: how many, in how many
/// seconds.
async fn read_postings_alone(
    db: &SqlDatabase,
    record: &ozontrack_db::StoreRecord,
) -> anyhow::Result<(u64, f64)> {
    let mut query = PostingQuery {
        stores: vec![record.id],
        limit: ozontrack_engine::export::BATCH,
        ..PostingQuery::default()
    };
    let mut rows = 0u64;
    let began = Instant::now();
    loop {
        let read = db.read_export_page(&query).await?;
        let next = read.next;
        db.finish_export_page(read).await?.each(|_| rows += 1)?;
        match next {
            Some(next) => query.before = Some(next),
            None => break,
        }
    }
    Ok((rows, began.elapsed().as_secs_f64()))
}

/// The export's parts alone, in rows per second: its whole read (`lines`: every posting with its
/// legs, last event, alerts, penalty points and arrival window, turned into lines and dropped),
/// then on the first batch's lines repeated to `rows` rows, turning lines into cells (`render`),
/// and that plus writing the cells to each format (`csv write`, `xlsx write`), as the export's
/// writer thread does. With the first read alone they say which part holds the export back.
async fn parts_alone(
    db: &SqlDatabase,
    record: &ozontrack_db::StoreRecord,
    spec: &ExportSpec,
    estimates: &Arc<ozontrack_engine::estimate::EstimateBook>,
    dir: &std::path::Path,
    rows: u32,
    now: chrono::DateTime<Utc>,
) -> anyhow::Result<Vec<(&'static str, f64)>> {
    let mut exporter = Exporter::new(
        db.clone(),
        std::slice::from_ref(record),
        spec,
        Some(Arc::clone(estimates)),
    );
    let began = Instant::now();
    let (mut read, mut batch, mut first) = (0usize, Batch::default(), None);
    while exporter.next_batch(now, &mut batch).await? {
        read += batch.len();
        if first.is_none() {
            first = Some(batch.clone());
        }
    }
    let lines_alone = read as f64 / began.elapsed().as_secs_f64().max(1e-9);
    let batch = first.unwrap_or_default();
    if batch.is_empty() {
        return Ok(Vec::new());
    }
    let repeats = (rows as usize).div_ceil(batch.len());
    let mut rows = spec.rows(now);
    let rate = |seconds: f64| (repeats * batch.len()) as f64 / seconds.max(1e-9);
    let began = Instant::now();
    let mut cells = 0usize;
    for _ in 0..repeats {
        for line in batch.lines() {
            cells += rows.cells(&batch, line).len();
        }
    }
    let mut alone = vec![
        ("lines", lines_alone),
        ("render", rate(began.elapsed().as_secs_f64())),
    ];
    std::hint::black_box(cells);
    for (what, format) in [
        ("csv write", FileFormat::Csv),
        ("xlsx write", FileFormat::Xlsx),
    ] {
        let file = FileSpec {
            format,
            profile: Profile::Ru,
            split: None,
        };
        let path = dir.join(format!("alone.{}", format.extension()));
        let began = Instant::now();
        let mut out = create_file(spec, &file, &path, now)?;
        for _ in 0..repeats {
            write_lines(&mut out, &batch, &mut rows)?;
        }
        let path = out.commit()?;
        alone.push((what, rate(began.elapsed().as_secs_f64())));
        std::fs::remove_file(path).ok();
    }
    Ok(alone)
}

/// Postings, legs, events and alerts the way the sync, the tracker and the rules write them.
async fn seed(
    db: &SqlDatabase,
    record: &ozontrack_db::StoreRecord,
    postings: u32,
    start: chrono::DateTime<Utc>,
) -> anyhow::Result<()> {
    let page = 1000u32;
    let owner = LeaseOwner::new("bench");
    let mut i = 0u32;
    while i < postings {
        let end = (i + page).min(postings);
        let batch: Vec<SyncedPosting> = (i..end)
            .map(|k| {
                let mut synced = bench_posting(record.id, k, &number(k), start)?;
                synced.posting.buyer_city = Some("Москва".into());
                Ok(synced)
            })
            .collect::<anyhow::Result<_>>()?;
        db.record_page(&batch, None, start).await?;
        i = end;
    }
    // Carrier legs by id: a fresh database numbers legs from 1, two per posting.
    let total_legs = i64::from(postings) * 2;
    let mut id = 1i64;
    while id <= total_legs {
        let ids: Vec<LegId> = (id..(id + 2000).min(total_legs + 1)).map(LegId).collect();
        id += 2000;
        let legs = db.legs_by_ids(&ids).await?;
        let checks: Vec<LegCheck> = legs
            .iter()
            .filter(|l| l.leg.carrier.as_str() != "ozon")
            .map(|l| {
                let events = [
                    (
                        MainStatus::InfoReceived,
                        SubStatus::Registered,
                        "Shenzhen",
                        "Accepted",
                    ),
                    (
                        MainStatus::InTransit,
                        SubStatus::DepartedOrigin,
                        "Urumqi",
                        "Departed from the origin country",
                    ),
                    (
                        MainStatus::InTransit,
                        SubStatus::ArrivedDestination,
                        "Москва",
                        "Прибыло в сортировочный центр",
                    ),
                ]
                .into_iter()
                .enumerate()
                .map(|(n, (main, sub, city, text))| {
                    TrackingEvent::new(
                        EventSource::SeventeenTrack,
                        start
                            + Duration::hours(30 * (i64::try_from(n).unwrap_or(0) + 1))
                            + Duration::seconds(l.id.0),
                        NormalizedStatus::new(main, sub),
                        format!("E{n}"),
                        text,
                        Location {
                            city: Some(city.into()),
                            ..Location::default()
                        },
                    )
                })
                .collect();
                LegCheck {
                    leg: l.id,
                    events,
                    next_check_at: None,
                    registered: true,
                    detected_carrier: None,
                    fresh: true,
                    answered_at: start + Duration::days(5),
                }
            })
            .collect();
        db.record_checks(&checks, &owner, start + Duration::days(5))
            .await?;
    }
    // One posting in a hundred has an open high-risk alert.
    let mut outcomes = Vec::new();
    for k in (0..postings).step_by(100) {
        if let Some(p) = db
            .posting(record.id, &PostingNumber::parse(&number(k))?)
            .await?
        {
            outcomes.push(alert(&p, start));
        }
        if outcomes.len() >= 500 {
            db.apply_risk(&outcomes, start, &ozontrack_db::Enqueue::nobody(start))
                .await?;
            outcomes.clear();
        }
    }
    db.apply_risk(&outcomes, start, &ozontrack_db::Enqueue::nobody(start))
        .await?;
    Ok(())
}

fn alert(
    p: &ozontrack_db::PostingRecord,
    start: chrono::DateTime<Utc>,
) -> ozontrack_db::RiskOutcome {
    ozontrack_db::RiskOutcome {
        posting: p.id,
        posting_number: p.posting.number.clone(),
        store: p.posting.store_id,
        changes: vec![ozontrack_domain::alert::AlertChange::Open(Finding {
            severity: Severity::HighRisk,
            leg: None,
            since: start,
            reason: Reason::Stale {
                quiet_hours: 80,
                threshold_hours: 72,
                allowance_hours: 0,
                learned: None,
                last: None,
            },
            actions: vec![Action::ContactCarrier],
            evidence: Vec::new(),
            held: None,
        })],
        next_due: None,
        penalty: ozontrack_db::PenaltyPolicy::from(
            &ozontrack_domain::rules::ComplianceRules::default(),
        ),
    }
}
