//! `ozontrack bench api`: the JSON API's latency at scale. A database (SQLite unless
//! `--database-url` names another; one an earlier run filled is reused) is filled with
//! `--postings` postings the sync's way (each with Ozon's leg, a carrier leg and its first
//! status event), the real server is started on loopback, and `--concurrency` clients ask for
//! single postings (random numbers) and list pages (random cursors, some with filters) for a
//! fixed number of requests each. Latency is measured at the client, end to end over HTTP.

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{TimeZone, Utc};
use ozontrack_db::prelude::*;
use ozontrack_domain::{ManualClock, PostingNumber, SyncedPosting};
use ozontrack_server::api::{self, ApiState};
use serde_json::json;

use super::{Scratch, bench_posting, ms, percentile, rss_mib};
use crate::cli::BenchApiArgs;
use crate::output;

const GOAL_SINGLE_MS: f64 = 10.0;
const GOAL_LIST_MS: f64 = 50.0;

fn number(i: u32) -> String {
    format!("{:08}-{:04}-1", 30_000_000 + i / 10_000, i % 10_000)
}

/// A small deterministic generator, so runs ask for the same things.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u32) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % u64::from(n.max(1))) as u32
    }
}

pub(crate) async fn api(args: &BenchApiArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let start = Utc
        .with_ymd_and_hms(2026, 10, 1, 0, 0, 0)
        .single()
        .context("a fixed date")?;
    let (scratch, existing) = match &args.database_url {
        Some(url) => Scratch::at(url).await?,
        None => (Scratch::new("api").await?, None),
    };
    let store = scratch.store.clone();
    let backend = scratch.backend();
    let seeding = Instant::now();
    let postings = match existing {
        // A database an earlier run filled (a million postings take PostgreSQL minutes).
        Some(record) => {
            let held = u32::try_from(store.count_postings(record.id).await?)?;
            writeln!(out, "reusing {held} postings on {backend}")?;
            held
        }
        None => {
            let record = scratch
                .add_store(1, "bench", "http://127.0.0.1:9", start)
                .await?;
            fill(&store, &record, args.postings, start).await?;
            args.postings
        }
    };
    let seed_s = seeding.elapsed().as_secs_f64();
    let (secret, token) = ozontrack_engine::access::mint_token(
        "bench",
        ozontrack_domain::Role::Viewer,
        ozontrack_domain::StoreScope::All,
    );
    store.create_token(&token, start).await?;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let state = ApiState::new(store.clone(), Arc::new(ManualClock::new(start)));
    // A server learns its arrival model in the background from its first request on (and again
    // every quarter of an hour): the timed requests meet one that has learned it.
    let learning = Instant::now();
    state.estimates.refresh(&store, start).await?;
    let learn_s = learning.elapsed().as_secs_f64();
    let router = api::router(state);
    let server = tokio::spawn(ozontrack_server::run(listener, router, async move {
        let _ = stopped.wait_for(|s| *s).await;
    }));
    // The carriers' client: it installs the TLS provider reqwest is built without.
    let http =
        ozontrack_http::client(Duration::from_secs(30)).context("cannot build the HTTP client")?;
    let total = postings;
    let run = |kind: &'static str| {
        let tasks: Vec<_> = (0..args.concurrency)
            .map(|c| {
                let (http, base, secret) = (http.clone(), base.clone(), secret.clone());
                let requests = args.requests;
                tokio::spawn(async move {
                    let mut rng = Lcg(c as u64 + 1);
                    let mut times = Vec::with_capacity(requests as usize);
                    for r in 0..requests {
                        let path = match kind {
                            "single" => format!("/api/v1/postings/{}", number(rng.below(total))),
                            _ => {
                                // Cursors land anywhere in the book; three pages in four filter.
                                let cursor = u64::from(rng.below(total)) + 2;
                                match r % 4 {
                                    0 => format!("/api/v1/postings?limit=50&cursor={cursor}"),
                                    1 => format!("/api/v1/postings?limit=50&cursor={cursor}&mode=fbs"),
                                    2 => format!("/api/v1/postings?limit=50&cursor={cursor}&status=delivering"),
                                    // One posting in a hundred has an open alert.
                                    _ => format!("/api/v1/postings?limit=50&cursor={cursor}&risk=high_risk"),
                                }
                            }
                        };
                        let started = Instant::now();
                        let response = http
                            .get(format!("{base}{path}"))
                            .bearer_auth(&secret)
                            .send()
                            .await?;
                        let status = response.status();
                        response.bytes().await?;
                        times.push(started.elapsed());
                        anyhow::ensure!(status.is_success(), "{path}: HTTP {status}");
                    }
                    Ok::<_, anyhow::Error>(times)
                })
            })
            .collect();
        async move {
            let started = Instant::now();
            let mut all = Vec::new();
            for task in tasks {
                all.extend(task.await??);
            }
            all.sort();
            Ok::<_, anyhow::Error>((all, started.elapsed()))
        }
    };
    let (single, single_wall) = run("single").await?;
    let (list, list_wall) = run("list").await?;
    let rss = rss_mib();
    let _ = stop.send(true);
    let _ = server.await;
    scratch.close().await;

    let p = |times: &[Duration], q: f64| ms(percentile(times, q));
    let (single_p99, list_p99) = (p(&single, 99.0), p(&list, 99.0));
    let mut table = output::table(&["figure", "p50", "p99", "goal (p99)", "throughput"]);
    table.add_row(vec![
        format!("single posting ({} requests)", single.len()),
        format!("{:.2} ms", p(&single, 50.0)),
        format!("{single_p99:.2} ms"),
        format!("≤ {GOAL_SINGLE_MS} ms"),
        format!("{:.0}/s", single.len() as f64 / single_wall.as_secs_f64()),
    ]);
    table.add_row(vec![
        format!("list page of 50 ({} requests)", list.len()),
        format!("{:.2} ms", p(&list, 50.0)),
        format!("{list_p99:.2} ms"),
        format!("≤ {GOAL_LIST_MS} ms"),
        format!("{:.0}/s", list.len() as f64 / list_wall.as_secs_f64()),
    ]);
    output::print_table(out, &table)?;
    writeln!(
        out,
        "{} postings on {backend} (seeded in {seed_s:.1} s, arrival model learned in {learn_s:.1} s); {} concurrent clients; process RSS {} (server, client and seeding in one process)",
        postings,
        args.concurrency,
        rss.map_or_else(|| "unknown".to_owned(), |r| format!("{r:.0} MiB"))
    )?;
    let summary = json!({
        "bench": "api",
        "backend": backend,
        "postings": postings,
        "concurrency": args.concurrency,
        "requests_per_client": args.requests,
        "seed_s": seed_s,
        "learn_s": learn_s,
        "single_p50_ms": p(&single, 50.0),
        "single_p99_ms": single_p99,
        "list_p50_ms": p(&list, 50.0),
        "list_p99_ms": list_p99,
        "rss_mib": rss,
        "goal_single_p99_ms": GOAL_SINGLE_MS,
        "goal_list_p99_ms": GOAL_LIST_MS,
        "ok": single_p99 <= GOAL_SINGLE_MS && list_p99 <= GOAL_LIST_MS,
    });
    writeln!(out, "{summary}")?;
    Ok(())
}

/// Fills the store the sync's way, a thousand postings per transaction, and opens a high-risk
/// alert on one posting in a hundred.
async fn fill(
    store: &ozontrack_db::SqlDatabase,
    record: &ozontrack_db::StoreRecord,
    postings: u32,
    start: chrono::DateTime<Utc>,
) -> anyhow::Result<()> {
    let page = 1000u32;
    let mut i = 0u32;
    while i < postings {
        let batch: Vec<SyncedPosting> = (i..(i + page).min(postings))
            .map(|k| bench_posting(record.id, k, &number(k), start))
            .collect::<anyhow::Result<_>>()?;
        store.record_page(&batch, None, start).await?;
        i += page;
        // What autovacuum would do as the tables grow (its analyses may be turned off).
        if i.is_multiple_of(100_000) {
            store.analyze().await?;
        }
    }
    // One posting in a hundred has an open high-risk alert.
    let mut outcomes = Vec::new();
    for k in (0..postings).step_by(100) {
        if let Some(p) = store
            .posting(record.id, &PostingNumber::parse(&number(k))?)
            .await?
        {
            outcomes.push(ozontrack_db::RiskOutcome {
                posting: p.id,
                posting_number: p.posting.number.clone(),
                store: record.id,
                changes: vec![ozontrack_domain::alert::AlertChange::Open(
                    ozontrack_domain::finding::Finding {
                        severity: ozontrack_domain::finding::Severity::HighRisk,
                        leg: None,
                        since: start,
                        reason: ozontrack_domain::finding::Reason::Stale {
                            quiet_hours: 80,
                            threshold_hours: 72,
                            allowance_hours: 0,
                            learned: None,
                            last: None,
                        },
                        actions: vec![ozontrack_domain::finding::Action::ContactCarrier],
                        evidence: Vec::new(),
                        held: None,
                    },
                )],
                next_due: None,
                penalty: ozontrack_db::PenaltyPolicy::from(
                    &ozontrack_domain::rules::ComplianceRules::default(),
                ),
            });
        }
        if outcomes.len() == 1000 {
            store
                .apply_risk(&outcomes, start, &ozontrack_db::Enqueue::nobody(start))
                .await?;
            outcomes.clear();
        }
    }
    store
        .apply_risk(&outcomes, start, &ozontrack_db::Enqueue::nobody(start))
        .await?;
    store.analyze().await?;
    Ok(())
}
