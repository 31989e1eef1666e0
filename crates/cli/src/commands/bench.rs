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

use crate::cli::BenchSandboxArgs;

mod api;
mod chaos;
mod detection;
mod estimate;
mod evidence;
mod export;
mod ingest;
mod login;
mod nodes;
mod notify;
mod polling;
mod rules;
mod sync;
use crate::output;
pub(crate) use api::api;
pub(crate) use chaos::chaos;
pub(crate) use detection::detection;
pub(crate) use estimate::estimate;
pub(crate) use evidence::evidence;
pub(crate) use export::export;
pub(crate) use ingest::ingest;
pub(crate) use login::login;
pub(crate) use notify::notify;
pub(crate) use polling::polling;
pub(crate) use rules::rules;
pub(crate) use sync::sync;

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
}
