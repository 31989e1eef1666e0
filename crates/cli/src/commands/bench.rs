//! `ozontrack bench …`: measurements against DESIGN §6's targets. Each prints a table for
//! people and ends with one JSON object on its last line (figures, goals and their ratios) so
//! runs can be compared and recorded in BENCHMARKS.md. Timing lives here, never in tests.

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::Duration as SimDuration;
use ozontrack_domain::ManualClock;
use ozontrack_sandbox::fakes::ozon::OzonConfig;
use ozontrack_sandbox::{Sandbox, ServeConfig, World, WorldConfig};
use serde_json::{Value, json};

use crate::cli::{BenchSandboxArgs, BenchSyncArgs};

mod api;
mod chaos;
mod detection;
mod estimate;
mod evidence;
mod export;
mod login;
mod notify;
mod polling;
mod rules;
use crate::output;
pub(crate) use api::api;
pub(crate) use chaos::chaos;
pub(crate) use detection::detection;
pub(crate) use estimate::estimate;
pub(crate) use evidence::evidence;
pub(crate) use export::export;
pub(crate) use login::login;
pub(crate) use notify::notify;
pub(crate) use polling::polling;
pub(crate) use rules::rules;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    // Nearest rank: an index within the slice by construction.
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The `k`-th posting of a large benchmark store, numbered `number`: a third FBS, the rest
/// rFBS, a quarter delivered, each with a tracking number and ordered a second after the last.
fn bench_posting(
    store: ozontrack_domain::StoreId,
    k: u32,
    number: &str,
    start: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<ozontrack_domain::SyncedPosting> {
    use ozontrack_domain::{
        Currency, Money, OzonStatus, Posting, PostingNumber, Scheme, SyncedPosting, TrackingNumber,
    };
    let mut posting = Posting::new(
        store,
        PostingNumber::parse(number)?,
        if k.is_multiple_of(3) {
            Scheme::Fbs
        } else {
            Scheme::Rfbs
        },
        if k.is_multiple_of(4) {
            OzonStatus::Delivered
        } else {
            OzonStatus::Delivering
        },
    );
    posting.tracking_number = Some(TrackingNumber::parse(&format!("LP{k:014}"))?);
    posting.in_process_at = Some(start + SimDuration::seconds(i64::from(k)));
    posting.total = Some(Money::from_minor(150_000, Currency::Rub));
    Ok(SyncedPosting::new(posting, String::new(), start))
}

/// The process's resident memory, from `/proc` (Linux), in MiB.
fn rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// `ozontrack bench sandbox`.
pub(crate) async fn sandbox(args: &BenchSandboxArgs, out: &mut impl Write) -> anyhow::Result<()> {
    const GENERATE_GOAL_S: f64 = 10.0;
    const PAGE_GOAL_MS: f64 = 5.0;

    let started = Instant::now();
    let world = World::generate(WorldConfig {
        seed: args.seed,
        parcels: args.parcels,
        ..WorldConfig::default()
    });
    let generate = started.elapsed();
    let events: usize = world
        .parcels
        .iter()
        .flat_map(ozontrack_sandbox::Parcel::legs)
        .map(|l| l.events.len())
        .sum();
    // Late in the order span, so nearly every posting is visible and pages are full.
    let clock = Arc::new(ManualClock::new(world.config.start + SimDuration::days(29)));
    let store = world.stores[0].clone();
    let serve = ServeConfig {
        ozon: OzonConfig {
            rate_limit: usize::MAX,
        },
        push_every: None,
        ..ServeConfig::default()
    };
    let indexed = Instant::now();
    let sandbox = Sandbox::start(world, clock, &serve)
        .await
        .context("starting the sandbox")?;
    let index = indexed.elapsed();

    let client = ozontrack_sandbox::http_client();
    let url = format!("{}/v4/posting/fbs/list", sandbox.urls.ozon);
    let mut cursor = String::new();
    let mut latencies = Vec::with_capacity(args.pages as usize);
    let mut postings = 0usize;
    let mut bytes = 0usize;
    for _ in 0..args.pages {
        let body = json!({"filter": {"since": "2026-09-01T00:00:00Z", "to": "2026-12-01T00:00:00Z"},
                          "limit": 100, "cursor": cursor, "with": {"analytics_data": true, "financial_data": true}});
        let request = client
            .post(&url)
            .header("Client-Id", store.client_id.to_string())
            .header("Api-Key", &store.api_key)
            .json(&body);
        let sent = Instant::now();
        let response = request.send().await.context("requesting a page")?;
        let text = response.bytes().await.context("reading a page")?;
        latencies.push(sent.elapsed());
        bytes += text.len();
        let page: Value = serde_json::from_slice(&text).context("a page is not JSON")?;
        postings += page["postings"].as_array().map_or(0, Vec::len);
        cursor = if page["has_next"] == true {
            page["cursor"].as_str().unwrap_or_default().to_owned()
        } else {
            String::new()
        };
    }
    sandbox.shutdown().await;
    latencies.sort_unstable();
    let (p50, p95, p99) = (
        percentile(&latencies, 50.0),
        percentile(&latencies, 95.0),
        percentile(&latencies, 99.0),
    );
    let generate_s = generate.as_secs_f64();

    let mut table = output::table(&["figure", "measured", "goal", "ratio"]);
    table.add_row(vec![
        format!("generate {} parcels ({events} events)", args.parcels),
        format!("{generate_s:.2} s"),
        format!("< {GENERATE_GOAL_S} s"),
        format!("{:.3}", generate_s / GENERATE_GOAL_S),
    ]);
    table.add_row(vec![
        "index the world for the fakes".into(),
        format!("{:.2} s", index.as_secs_f64()),
        "-".into(),
        "-".into(),
    ]);
    for (name, value) in [
        ("100-posting page p50", p50),
        ("100-posting page p95", p95),
        ("100-posting page p99", p99),
    ] {
        table.add_row(vec![
            name.into(),
            format!("{:.2} ms", ms(value)),
            format!("< {PAGE_GOAL_MS} ms"),
            format!("{:.3}", ms(value) / PAGE_GOAL_MS),
        ]);
    }
    let average = bytes / latencies.len().max(1);
    table.add_row(vec![
        "pages timed / postings served".into(),
        format!("{} / {postings}", latencies.len()),
        "-".into(),
        format!("{average} bytes a page"),
    ]);
    output::print_table(out, &table)?;
    let summary = json!({
        "bench": "sandbox",
        "parcels": args.parcels,
        "events": events,
        "generate_s": generate_s,
        "generate_goal_s": GENERATE_GOAL_S,
        "generate_ratio": generate_s / GENERATE_GOAL_S,
        "page_p50_ms": ms(p50),
        "page_p95_ms": ms(p95),
        "page_p99_ms": ms(p99),
        "page_goal_ms": PAGE_GOAL_MS,
        "page_ratio": ms(p95) / PAGE_GOAL_MS,
        "pages": latencies.len(),
        "ok": generate_s <= GENERATE_GOAL_S && ms(p95) <= PAGE_GOAL_MS,
    });
    writeln!(out, "{summary}")?;
    Ok(())
}

/// The least time `pages` requests can take when at most `per_second` are allowed in any
/// one second: the first `per_second` at once, then `per_second` more each second.
fn minimum_seconds(pages: u64, per_second: usize) -> f64 {
    let per_second = per_second.max(1) as u64;
    pages.div_ceil(per_second).saturating_sub(1) as f64
}

/// `ozontrack bench sync`.
pub(crate) async fn sync(args: &BenchSyncArgs, out: &mut impl Write) -> anyhow::Result<()> {
    const GOAL_RATIO: f64 = 1.1;

    let world = World::generate(WorldConfig {
        seed: args.seed,
        parcels: args.parcels,
        ..WorldConfig::default()
    });
    // A day after the last order: every posting is visible.
    let clock = Arc::new(ManualClock::new(
        world.config.start + world.config.order_span + SimDuration::days(1),
    ));
    let seller = world.stores[0].clone();
    let serve = ServeConfig {
        ozon: OzonConfig {
            rate_limit: args.rate_limit,
        },
        push_every: None,
        ..ServeConfig::default()
    };
    let sandbox = Sandbox::start(world, clock.clone(), &serve)
        .await
        .context("starting the sandbox")?;

    let scratch = Scratch::new("sync").await?;
    let store = scratch.store.clone();
    let now = ozontrack_domain::Clock::now(clock.as_ref());
    let record = scratch
        .add_store(seller.client_id, &seller.api_key, &sandbox.urls.ozon, now)
        .await?;
    let settings = ozontrack_engine::SyncSettings {
        rate_limit: args.rate_limit,
        ..ozontrack_engine::SyncSettings::default()
    };
    let syncer = ozontrack_engine::Syncer::new(
        store.clone(),
        clock,
        ozontrack_http::Limiters::default(),
        settings,
        ozontrack_db::LeaseOwner::new("bench"),
    )?;
    let started = Instant::now();
    let report = syncer.sync_store(&record, true, Arc::default()).await?;
    let wall = started.elapsed().as_secs_f64();
    let stored = ozontrack_db::Postings::count_postings(&store, record.id).await?;
    scratch.close().await;
    sandbox.shutdown().await;

    let minimum = minimum_seconds(report.pages, args.rate_limit);
    let ratio = if minimum > 0.0 {
        wall / minimum
    } else {
        f64::NAN
    };
    let mut table = output::table(&["figure", "measured", "goal", "ratio"]);
    table.add_row(vec![
        format!("full sync of {} postings ({} pages)", stored, report.pages),
        format!("{wall:.2} s"),
        format!("≤ {GOAL_RATIO} × {minimum:.0} s"),
        format!("{ratio:.3}"),
    ]);
    table.add_row(vec![
        "throughput".into(),
        format!(
            "{:.1} pages/s, {:.0} postings/s",
            report.pages as f64 / wall,
            stored as f64 / wall
        ),
        format!("{} requests/s allowed", args.rate_limit),
        "-".into(),
    ]);
    output::print_table(out, &table)?;
    let summary = json!({
        "bench": "sync",
        "parcels": args.parcels,
        "postings": stored,
        "pages": report.pages,
        "rate_limit": args.rate_limit,
        "wall_s": wall,
        "minimum_s": minimum,
        "ratio": ratio,
        "goal_ratio": GOAL_RATIO,
        "ok": ratio <= GOAL_RATIO,
    });
    writeln!(out, "{summary}")?;
    Ok(())
}

/// A scratch SQLite store for a benchmark, removed with its directory when dropped.
struct Scratch {
    store: ozontrack_db::SqlDatabase,
    /// The temporary directory of a SQLite scratch database; `None` for a given database.
    dir: Option<std::path::PathBuf>,
}

impl Scratch {
    async fn new(name: &str) -> anyhow::Result<Self> {
        let dir =
            std::env::temp_dir().join(format!("ozontrack-bench-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).context("creating a scratch directory")?;
        let url = ozontrack_db::DatabaseUrl::Sqlite(dir.join("bench.db"));
        let cipher =
            ozontrack_db::Cipher::from_base64("YmVuY2gtYmVuY2gtYmVuY2gtYmVuY2gtYmVuY2gtYmU=")?;
        let store = ozontrack_db::SqlDatabase::connect(&url, cipher, &Default::default()).await?;
        ozontrack_db::Database::migrate(&store).await?;
        Ok(Self {
            store,
            dir: Some(dir),
        })
    }

    /// A database the caller made for the benchmark (PostgreSQL, say), left as the benchmark
    /// fills it; it must hold no store but the benchmark's own (`existing` says whether that
    /// one is there already, from an earlier run).
    async fn at(url: &str) -> anyhow::Result<(Self, Option<ozontrack_db::StoreRecord>)> {
        let url = ozontrack_db::DatabaseUrl::parse(url).context("--database-url")?;
        let cipher =
            ozontrack_db::Cipher::from_base64("YmVuY2gtYmVuY2gtYmVuY2gtYmVuY2gtYmVuY2gtYmU=")?;
        let store = ozontrack_db::SqlDatabase::connect(&url, cipher, &Default::default()).await?;
        ozontrack_db::Database::migrate(&store).await?;
        let stores = ozontrack_db::Stores::stores(&store).await?;
        match stores.as_slice() {
            [] => Ok((Self { store, dir: None }, None)),
            [only] if only.name.as_str() == "bench" => {
                let only = only.clone();
                Ok((Self { store, dir: None }, Some(only)))
            }
            _ => anyhow::bail!(
                "--database-url: {} holds other stores; give the benchmark an empty database",
                url.redacted()
            ),
        }
    }

    fn backend(&self) -> &'static str {
        ozontrack_db::Database::backend(&self.store).as_str()
    }

    /// A store named `bench` for a seller account (the sandbox's, or any for benchmarks that
    /// never call Ozon).
    async fn add_store(
        &self,
        client_id: u64,
        api_key: &str,
        ozon_base_url: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> anyhow::Result<ozontrack_db::StoreRecord> {
        let store = ozontrack_db::NewStore {
            name: ozontrack_domain::StoreName::parse("bench")?,
            client_id: ozontrack_domain::ClientId::parse(&client_id.to_string())?,
            api_key: secrecy::SecretString::from(api_key.to_owned()),
            ozon_base_url: ozon_base_url.to_owned(),
            settings: ozontrack_domain::StoreSettings::default(),
        };
        Ok(ozontrack_db::Stores::add_store(&self.store, store, now).await?)
    }

    async fn close(self) {
        self.store.close().await;
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// `ozontrack bench ingest`.
pub(crate) async fn ingest(
    args: &crate::cli::BenchIngestArgs,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    use ozontrack_db::LegCheck;
    use ozontrack_db::prelude::*;
    use ozontrack_domain::{
        EventSource, GeoPoint, LegId, LegRole, Location, MainStatus, NormalizedStatus, SubStatus,
        TrackingEvent,
    };
    const GOAL_RATIO: f64 = 0.5;
    const ROUNDS: u64 = 4;
    const LEGS_PER_ROUND: usize = 400;

    let per_leg = args.per_leg.max(ROUNDS);
    let legs_count = (args.events / per_leg).max(1);
    let per_round = per_leg / ROUNDS;
    let scratch = Scratch::new("ingest").await?;
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
    let (mut ingest_time, mut raw_time) = (Duration::ZERO, Duration::ZERO);
    let (mut ingested, mut raw) = (0u64, 0u64);
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
            ingested += store.record_checks(&checks, &owner, t0).await?;
            ingest_time += started.elapsed();
            let rows: Vec<(i64, &TrackingEvent)> = checks
                .iter()
                .flat_map(|c| c.events.iter().map(move |e| (c.leg.0, e)))
                .collect();
            let started = Instant::now();
            raw += store.bench_raw_insert(&rows, t0).await?;
            raw_time += started.elapsed();
        }
    }
    scratch.close().await;
    let ingest_rate = ingested as f64 / ingest_time.as_secs_f64().max(1e-9);
    let raw_rate = raw as f64 / raw_time.as_secs_f64().max(1e-9);
    let ratio = ingest_rate / raw_rate;
    let mut table = output::table(&["figure", "measured", "goal", "ratio"]);
    table.add_row(vec![
        format!("ingest of {ingested} events ({legs_count} legs, {ROUNDS} rounds)"),
        format!(
            "{ingest_rate:.0} events/s ({:.1} s)",
            ingest_time.as_secs_f64()
        ),
        format!("≥ {GOAL_RATIO} × raw"),
        format!("{ratio:.3}"),
    ]);
    table.add_row(vec![
        format!("raw inserts of the same {raw} rows"),
        format!("{raw_rate:.0} rows/s ({:.1} s)", raw_time.as_secs_f64()),
        "-".into(),
        "-".into(),
    ]);
    output::print_table(out, &table)?;
    let summary = json!({
        "bench": "ingest",
        "events": ingested,
        "raw_rows": raw,
        "legs": legs_count,
        "ingest_events_per_s": ingest_rate,
        "raw_rows_per_s": raw_rate,
        "ratio": ratio,
        "goal_ratio": GOAL_RATIO,
        "ok": ingested == raw && ratio >= GOAL_RATIO,
    });
    writeln!(out, "{summary}")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let values: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&values, 50.0), Duration::from_millis(50));
        assert_eq!(percentile(&values, 99.0), Duration::from_millis(99));
        assert_eq!(percentile(&values[..1], 95.0), Duration::from_millis(1));
        assert_eq!(percentile(&[], 50.0), Duration::ZERO);
    }

    #[test]
    fn the_minimum_sync_time_lets_the_first_second_of_requests_go_at_once() {
        assert_eq!(minimum_seconds(50, 50), 0.0);
        assert_eq!(minimum_seconds(51, 50), 1.0);
        assert_eq!(minimum_seconds(1_000, 50), 19.0);
    }
}
