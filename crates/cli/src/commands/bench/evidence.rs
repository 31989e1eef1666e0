//! `ozontrack bench evidence`: building dispute evidence packs. A database is filled with
//! `--packs` disputed postings of `--events` carrier events each (a 17TRACK first mile and a
//! Russian Post last mile ending in a delivery with its recipient, plus Ozon's own changes and
//! a 256 KiB attachment), then every posting's pack is built the way `evidence build` and
//! the dispute worker build it: read from the database, laid out as a PDF, zipped with its JSON
//! and manifest. Measured: the time per pack (p50, p95, max) against the 300 ms goal, and the
//! process's resident memory after the first 50 packs and after the last, against "flat".

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use anyhow::Context;
use chrono::{Duration, TimeZone, Utc};
use ozontrack_db::prelude::*;
use ozontrack_db::{LeaseOwner, LegCheck, NewAttachment, SqlDatabase, StoreRecord};
use ozontrack_domain::{
    EventSource, Handover, Leg, LegRole, Location, MainStatus, NormalizedStatus, OzonStatus,
    PostingId, PostingNumber, SubStatus, TrackingEvent, TrackingNumber,
};
use serde_json::json;

use super::{Scratch, bench_posting, ms, percentile, rss_mib};
use crate::cli::BenchEvidenceArgs;
use crate::output;

const GOAL_P95: StdDuration = StdDuration::from_millis(300);
/// Memory may grow by this much between the 50th pack and the last: "flat".
const GOAL_GROWTH_MIB: f64 = 50.0;

fn number(i: u32) -> String {
    format!("{:08}-{:04}-1", 50_000_000 + i / 10_000, i % 10_000)
}

fn tracking(i: u32, suffix: &str) -> anyhow::Result<TrackingNumber> {
    // S10 numbers with their check digit, so detection reads them as the real carriers'.
    let serial = 10_000_000 + i;
    let digits: Vec<u32> = serial
        .to_string()
        .bytes()
        .map(|b| u32::from(b - b'0'))
        .collect();
    let weights = [8, 6, 4, 2, 3, 5, 9, 7];
    let sum: u32 = digits.iter().zip(weights).map(|(d, w)| d * w).sum();
    let check = match 11 - sum % 11 {
        10 => 0,
        11 => 5,
        c => c,
    };
    let prefix = if suffix == "RU" { "RA" } else { "UG" };
    Ok(TrackingNumber::parse(&format!(
        "{prefix}{serial}{check}{suffix}"
    ))?)
}

/// Disputed postings with long trails, as the sync, the tracker and a seller leave them.
async fn seed(
    db: &SqlDatabase,
    record: &StoreRecord,
    packs: u32,
    events: u32,
    start: chrono::DateTime<Utc>,
) -> anyhow::Result<Vec<PostingId>> {
    let owner = LeaseOwner::new("bench");
    let video: Vec<u8> = (0..256 * 1024u32).map(|i| (i % 251) as u8).collect();
    let video_hash = format!("sha256:bench-{}", video.len());
    let mut ids = Vec::new();
    for i in 0..packs {
        let mut synced = bench_posting(record.id, i, &number(i), start)?;
        synced.posting.status = OzonStatus::ClientArbitration;
        synced.posting.buyer_city = Some("Казань".into());
        db.record_page(&[synced], None, start).await?;
        let posting = db
            .posting(record.id, &PostingNumber::parse(&number(i))?)
            .await?
            .context("the posting just written")?;
        ids.push(posting.id);
        let first = db
            .upsert_leg(
                posting.id,
                &Leg {
                    carrier: ozontrack_domain::CarrierCode::parse("yanwen")?,
                    tracking_number: tracking(i, "CN")?,
                    role: LegRole::FirstMile,
                },
                start,
            )
            .await?;
        let last = db
            .upsert_leg(
                posting.id,
                &Leg {
                    carrier: ozontrack_domain::CarrierCode::parse("russian_post")?,
                    tracking_number: tracking(i, "RU")?,
                    role: LegRole::LastMile,
                },
                start,
            )
            .await?;
        let half = events / 2;
        let event = |n: u32, source: EventSource, place: &str| {
            let mut e = TrackingEvent::new(
                source,
                start + Duration::minutes(i64::from(n) * 97),
                NormalizedStatus::new(MainStatus::InTransit, SubStatus::InTransit),
                format!("8.{}", n % 20),
                format!("Обработка / сортировка, операция {n}"),
                Location {
                    text: Some(place.into()),
                    ..Location::default()
                },
            );
            e.payload_digest = Some(format!(
                "sha256:{:064x}",
                u64::from(i) << 16 | u64::from(n / 10)
            ));
            e
        };
        let mut first_events: Vec<TrackingEvent> = (0..half)
            .map(|n| event(n, EventSource::SeventeenTrack, "SHENZHEN, CN"))
            .collect();
        first_events[0].status = NormalizedStatus::new(MainStatus::InTransit, SubStatus::PickedUp);
        let mut last_events: Vec<TrackingEvent> = (half..events.saturating_sub(1))
            .map(|n| event(n, EventSource::RussianPost, "МОСКВА ЦМП"))
            .collect();
        let mut delivered = event(events, EventSource::RussianPost, "КАЗАНЬ 420000");
        delivered.status = NormalizedStatus::new(MainStatus::Delivered, SubStatus::Delivered);
        delivered.raw_code = "2.13".into();
        last_events.push(delivered.with_handover(
            Some(Handover::ESignature),
            Some("Иванова Анна Сергеевна".into()),
        ));
        let checks = [(first, first_events), (last, last_events)]
            .into_iter()
            .map(|(leg, events)| LegCheck {
                leg,
                events,
                next_check_at: None,
                registered: true,
                detected_carrier: None,
                fresh: true,
                answered_at: start + Duration::days(20),
            })
            .collect::<Vec<_>>();
        db.record_checks(&checks, &owner, start + Duration::days(20))
            .await?;
        db.add_attachment(&NewAttachment {
            posting: posting.id,
            file_name: "packing.mp4".into(),
            media_type: "video/mp4".into(),
            sha256: video_hash.clone(),
            taken_at: Some(start),
            added_at: start + Duration::days(21),
            added_by: "bench".into(),
            content: video.clone(),
        })
        .await?;
    }
    Ok(ids)
}

pub(crate) async fn evidence(args: &BenchEvidenceArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let start = Utc
        .with_ymd_and_hms(2026, 9, 1, 0, 0, 0)
        .single()
        .context("a fixed date")?;
    let scratch = Scratch::new("evidence").await?;
    let db = scratch.store.clone();
    let record = scratch
        .add_store(1, "bench", "http://127.0.0.1:9", start)
        .await?;
    let seeding = Instant::now();
    let ids = seed(&db, &record, args.packs, args.events, start).await?;
    writeln!(
        out,
        "seeded {} disputed postings of {} events on {} in {:.0} s",
        args.packs,
        args.events,
        scratch.backend(),
        seeding.elapsed().as_secs_f64()
    )?;
    let now = start + Duration::days(25);
    let estimates = Arc::new(ozontrack_engine::estimate::EstimateBook::default());
    let languages = ozontrack_engine::evidence::LANGUAGES;
    let mut times = Vec::with_capacity(ids.len());
    let mut bytes = 0u64;
    let mut pages_mib = (rss_mib().unwrap_or(0.0), 0.0);
    for (n, id) in ids.iter().enumerate() {
        let began = Instant::now();
        let pack = ozontrack_engine::evidence::build(&db, &estimates, *id, &languages, now).await?;
        times.push(began.elapsed());
        bytes += pack.bytes.len() as u64;
        if n + 1 == 50.min(ids.len()) {
            pages_mib.0 = rss_mib().unwrap_or(0.0);
        }
    }
    pages_mib.1 = rss_mib().unwrap_or(0.0);
    let total: StdDuration = times.iter().sum();
    times.sort();
    let (p50, p95, max) = (
        percentile(&times, 0.50),
        percentile(&times, 0.95),
        times.last().copied().unwrap_or_default(),
    );
    let growth = pages_mib.1 - pages_mib.0;
    let backend = scratch.backend();
    scratch.close().await;
    // Counts far below 2^53.
    #[allow(clippy::cast_precision_loss)]
    let mean_kb = bytes as f64 / ids.len().max(1) as f64 / 1000.0;
    writeln!(
        out,
        "{} packs in {:.1} s: p50 {:.0} ms, p95 {:.0} ms (goal {} ms, ratio {:.2}), max {:.0} ms; \
         {mean_kb:.0} kB each with PDF: {}",
        ids.len(),
        total.as_secs_f64(),
        ms(p50),
        ms(p95),
        GOAL_P95.as_millis(),
        ms(p95) / ms(GOAL_P95),
        ms(max),
        ozontrack_engine::evidence::WITH_PDF,
    )?;
    writeln!(
        out,
        "memory: {:.0} MiB after 50 packs, {:.0} MiB after {} ({growth:+.1} MiB; goal at most +{GOAL_GROWTH_MIB})",
        pages_mib.0,
        pages_mib.1,
        ids.len()
    )?;
    output::print_json(
        out,
        &json!({
            "bench": "evidence",
            "backend": backend,
            "packs": ids.len(),
            "events": args.events,
            "pdf": ozontrack_engine::evidence::WITH_PDF,
            "p50_ms": ms(p50),
            "p95_ms": ms(p95),
            "max_ms": ms(max),
            "goal_p95_ms": ms(GOAL_P95),
            "ratio": ms(p95) / ms(GOAL_P95),
            "mean_pack_kb": mean_kb,
            "rss_after_50_mib": pages_mib.0,
            "rss_after_all_mib": pages_mib.1,
            "rss_growth_mib": growth,
            "goal_rss_growth_mib": GOAL_GROWTH_MIB,
        }),
    )?;
    Ok(())
}
