//! `ozontrack bench sync`: how close a full sync (back-fill) comes to the least time Ozon's
//! per-Client-Id rate limit allows. Without `--database-url`, one store is synced by this process
//! into a temporary SQLite file. With it (PostgreSQL), `--stores` stores are synced by
//! `--processes` `ozontrack serve --role workers` processes sharing that database, as they would
//! be in production, and each store's sync is timed as the fake Ozon saw it, from its first
//! request to the moment its sync was recorded done, and how busy the machine was meanwhile and
//! whose the time was (the fake Ozon in this process, the `serve` processes, PostgreSQL).

use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::Duration as SimDuration;
use ozontrack_db::prelude::*;
use ozontrack_db::{Cipher, StoreRecord};
use ozontrack_domain::{Clock, ManualClock, ScaledClock};
use ozontrack_sandbox::fakes::ozon::OzonConfig;
use ozontrack_sandbox::{Sandbox, ServeConfig, World, WorldConfig};
use serde_json::json;

use super::Scratch;
use super::nodes::{self, Launcher};
use crate::cli::BenchSyncArgs;
use crate::output;

const GOAL_RATIO: f64 = 1.1;

/// The least time `requests` requests take at `per_second`: the first second's go at once.
fn minimum_seconds(requests: u64, per_second: usize) -> f64 {
    let per_second = per_second.max(1) as u64;
    requests.div_ceil(per_second).saturating_sub(1) as f64
}

/// `ozontrack bench sync`.
pub(crate) async fn sync(args: &BenchSyncArgs, out: &mut impl Write) -> anyhow::Result<()> {
    match &args.database_url {
        Some(url) => across_processes(args, url, out).await,
        None => in_process(args, out).await,
    }
}

fn world(args: &BenchSyncArgs, stores: u32) -> World {
    World::generate(WorldConfig {
        seed: args.seed,
        parcels: args.parcels,
        stores,
        ..WorldConfig::default()
    })
}

/// A day after the world's last order: every posting is visible.
fn after_the_orders(world: &World) -> chrono::DateTime<chrono::Utc> {
    world.config.start + world.config.order_span + SimDuration::days(1)
}

fn serve_config(args: &BenchSyncArgs) -> ServeConfig {
    ServeConfig {
        ozon: OzonConfig {
            rate_limit: args.rate_limit,
        },
        push_every: None,
        ..ServeConfig::default()
    }
}

/// One store, synced by this process into a temporary SQLite file.
async fn in_process(args: &BenchSyncArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let world = world(args, 1);
    let clock = Arc::new(ManualClock::new(after_the_orders(&world)));
    let seller = world.stores[0].clone();
    let sandbox = Sandbox::start(world, clock.clone(), &serve_config(args))
        .await
        .context("starting the sandbox")?;

    let scratch = Scratch::new("sync").await?;
    let store = scratch.store.clone();
    let now = Clock::now(clock.as_ref());
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
    let stored = store.count_postings(record.id).await?;
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
        "backend": "sqlite",
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

/// One store's sync as the run saw it.
struct StoreSync {
    name: String,
    postings: u64,
    requests: u64,
    /// From the fake's first request for the store to the moment its sync was seen done.
    wall: f64,
    minimum: f64,
    /// When it began, from the start of the run: how long it waited for a free process.
    began: f64,
}

impl StoreSync {
    fn ratio(&self) -> f64 {
        if self.minimum > 0.0 {
            self.wall / self.minimum
        } else {
            f64::NAN
        }
    }
}

/// `--stores` stores synced by `--processes` worker processes on one PostgreSQL database.
async fn across_processes(
    args: &BenchSyncArgs,
    url: &str,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    /// How often the run looks for finished syncs: the timing's resolution.
    const LOOK_EVERY: Duration = Duration::from_millis(50);

    let logs = nodes::run_dir("sync")?;
    let (cipher, _) = Cipher::load_or_create_key_file(&nodes::key_file(&logs))?;
    let db = nodes::empty_database(url, &cipher).await?;
    let world = world(args, args.stores.max(1));
    // Processes follow the world's clock at real speed: the world stands still enough for a
    // back-fill, and its time moves as the processes' leases expect.
    let clock = Arc::new(ScaledClock::new(after_the_orders(&world), 1.0));
    let sandbox = Sandbox::start(
        world,
        Arc::clone(&clock) as Arc<dyn Clock>,
        &serve_config(args),
    )
    .await
    .context("starting the sandbox")?;
    let mut records: Vec<(StoreRecord, u64)> = Vec::new();
    for (i, sim) in sandbox.stores().iter().enumerate() {
        let name = format!("shop-{:02}", i + 1);
        let record = nodes::add_store(&db, &sandbox, sim, &name, clock.now()).await?;
        records.push((record, sim.client_id));
    }

    let rate = args.rate_limit.to_string();
    // Only the sync is measured: the other workers look for work rarely.
    let settings = [
        ("OZON__RATE_LIMIT", rate.as_str()),
        ("SYNC__POLL_SECS", "1"),
        ("TRACKING__INTERVAL_SECS", "3600"),
        ("RISK__INTERVAL_SECS", "3600"),
    ];
    let mut launcher = Launcher::new("node", &sandbox, url, &logs, &settings)?;
    let began = Instant::now();
    let start = Ticks::now();
    let mut running = Vec::new();
    for _ in 0..args.processes.max(1) {
        running.push(launcher.start().await?);
    }
    let mut done: HashMap<i64, Instant> = HashMap::new();
    let deadline = began + Duration::from_secs(args.timeout_secs);
    while done.len() < records.len() {
        if Instant::now() > deadline {
            bail!(
                "{} of {} stores were not synced within {} s; see {}",
                records.len() - done.len(),
                records.len(),
                args.timeout_secs,
                logs.display()
            );
        }
        tokio::time::sleep(LOOK_EVERY).await;
        for (record, _) in &records {
            if !done.contains_key(&record.id.0)
                && db
                    .store(record.id)
                    .await?
                    .is_some_and(|s| s.synced_until.is_some())
            {
                done.insert(record.id.0, Instant::now());
            }
        }
    }
    let makespan = began.elapsed().as_secs_f64();
    let end = Ticks::now();
    nodes::stop(running).await?;
    // The children's time counts once they are waited for (their last seconds of stopping
    // included).
    let load = match (start, end, Ticks::now()) {
        (Some(start), Some(end), Some(stopped)) => Load::between(start, end, stopped),
        _ => None,
    };
    let traffic = sandbox.ozon_traffic();
    let (refusals, _) = sandbox.rate_limit_refusals();
    let refused: u64 = refusals.values().sum();
    let mut syncs = Vec::new();
    for (record, client_id) in &records {
        let seen = traffic
            .get(client_id)
            .with_context(|| format!("{} never called Ozon", record.name))?;
        let finished = done[&record.id.0];
        syncs.push(StoreSync {
            name: record.name.to_string(),
            postings: db.count_postings(record.id).await?,
            requests: seen.requests,
            wall: finished.saturating_duration_since(seen.first).as_secs_f64(),
            minimum: minimum_seconds(seen.requests, args.rate_limit),
            began: seen.first.saturating_duration_since(began).as_secs_f64(),
        });
    }
    db.close().await;
    sandbox.shutdown().await;
    report(args, &syncs, makespan, load, refused, out)?;
    writeln!(out, "node logs: {}", logs.display())?;
    Ok(())
}

/// Shares of the machine's CPU time while the stores synced. With none to spare, the processes
/// and the database wait for a core, not for Ozon's rate limit.
#[derive(Debug, Clone, Copy)]
struct Load {
    busy: f64,
    /// This process: the sandbox's fake Ozon, which builds every page (and the benchmark's look
    /// at the database every 50 ms).
    fake_ozon: f64,
    /// The `serve` processes.
    nodes: f64,
}

impl Load {
    /// From `start` to `end`; the children's time up to `stopped`, once they were waited for.
    fn between(start: Ticks, end: Ticks, stopped: Ticks) -> Option<Load> {
        let all = end.all.checked_sub(start.all).filter(|t| *t > 0)? as f64;
        Some(Load {
            busy: end.busy.saturating_sub(start.busy) as f64 / all,
            fake_ozon: end.own.saturating_sub(start.own) as f64 / all,
            nodes: stopped.children.saturating_sub(start.children) as f64 / all,
        })
    }
}

/// CPU time so far, in clock ticks (Linux): the machine's over every core, busy and in all
/// (idle and waiting for the disk are not busy), from `/proc/stat`; this process's own and its
/// waited-for children's, from `/proc/self/stat`.
#[derive(Debug, Clone, Copy)]
struct Ticks {
    busy: u64,
    all: u64,
    own: u64,
    children: u64,
}

impl Ticks {
    fn now() -> Option<Ticks> {
        let numbers = |fields: &mut dyn Iterator<Item = &str>| -> Option<Vec<u64>> {
            fields.map(str::parse).collect::<Result<_, _>>().ok()
        };
        let machine = std::fs::read_to_string("/proc/stat").ok()?;
        let cpu = machine.lines().find(|l| l.starts_with("cpu "))?;
        let cpu = numbers(&mut cpu.split_whitespace().skip(1))?;
        let all: u64 = cpu.iter().sum();
        let idle = cpu.get(3).copied().unwrap_or(0) + cpu.get(4).copied().unwrap_or(0);
        let process = std::fs::read_to_string("/proc/self/stat").ok()?;
        // The command's name may hold spaces; the fields after it (utime, stime, cutime and
        // cstime are the 14th to 17th) do not.
        let after_name = &process[process.rfind(')')? + 1..];
        match numbers(&mut after_name.split_whitespace().skip(11).take(4))?[..] {
            [utime, stime, cutime, cstime] => Some(Ticks {
                busy: all - idle,
                all,
                own: utime + stime,
                children: cutime + cstime,
            }),
            _ => None,
        }
    }
}

fn report(
    args: &BenchSyncArgs,
    syncs: &[StoreSync],
    makespan: f64,
    load: Option<Load>,
    refused: u64,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let mut table = output::table(&[
        "store", "postings", "requests", "began at", "sync", "minimum", "ratio",
    ]);
    for s in syncs {
        table.add_row(vec![
            s.name.clone(),
            s.postings.to_string(),
            s.requests.to_string(),
            format!("{:.1} s", s.began),
            format!("{:.2} s", s.wall),
            format!("{:.0} s", s.minimum),
            format!("{:.3}", s.ratio()),
        ]);
    }
    output::print_table(out, &table)?;
    let mut ratios: Vec<f64> = syncs.iter().map(StoreSync::ratio).collect();
    ratios.sort_by(f64::total_cmp);
    let worst = ratios.last().copied().unwrap_or(f64::NAN);
    let median = ratios.get(ratios.len() / 2).copied().unwrap_or(f64::NAN);
    let postings: u64 = syncs.iter().map(|s| s.postings).sum();
    writeln!(
        out,
        "{} stores by {} processes: all synced {makespan:.1} s after the processes started \
         ({:.0} postings/s in all); ratio median {median:.3}, worst {worst:.3} (goal ≤ {GOAL_RATIO}); \
         {refused} requests refused by the fake Ozon's rate limit",
        syncs.len(),
        args.processes,
        postings as f64 / makespan,
    )?;
    if let Some(load) = load {
        writeln!(
            out,
            "the machine's {} cores were busy {:.0} % of the time: this process (the fake Ozon) \
             {:.0} %, the serve processes {:.0} %, the rest (PostgreSQL) {:.0} %",
            std::thread::available_parallelism().map_or(0, usize::from),
            load.busy * 100.0,
            load.fake_ozon * 100.0,
            load.nodes * 100.0,
            (load.busy - load.fake_ozon - load.nodes).max(0.0) * 100.0,
        )?;
    }
    let stores: Vec<_> = syncs
        .iter()
        .map(|s| {
            json!({
                "store": s.name,
                "postings": s.postings,
                "requests": s.requests,
                "began_s": s.began,
                "wall_s": s.wall,
                "minimum_s": s.minimum,
                "ratio": s.ratio(),
            })
        })
        .collect();
    let summary = json!({
        "bench": "sync",
        "backend": "postgres",
        "parcels": args.parcels,
        "stores": stores,
        "processes": args.processes,
        "rate_limit": args.rate_limit,
        "postings": postings,
        "makespan_s": makespan,
        "machine_busy": load.map(|l| l.busy),
        "fake_ozon_share": load.map(|l| l.fake_ozon),
        "nodes_share": load.map(|l| l.nodes),
        "median_ratio": median,
        "worst_ratio": worst,
        "goal_ratio": GOAL_RATIO,
        "refused": refused,
        "ok": worst <= GOAL_RATIO && refused == 0,
    });
    writeln!(out, "{summary}")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_load_is_each_ones_ticks_over_the_machines_ticks_between_two_readings() {
        let ticks = |busy, all, own, children| Ticks {
            busy,
            all,
            own,
            children,
        };
        let load = Load::between(
            ticks(10, 100, 5, 0),
            ticks(110, 300, 25, 0),
            ticks(110, 300, 26, 80),
        )
        .expect("time passed");
        assert_eq!((load.busy, load.fake_ozon, load.nodes), (0.5, 0.1, 0.4));
        assert!(
            Load::between(
                ticks(1, 100, 0, 0),
                ticks(1, 100, 0, 0),
                ticks(1, 100, 0, 0)
            )
            .is_none()
        );
        let now = Ticks::now().expect("/proc on Linux");
        assert!(now.own <= now.busy && now.busy <= now.all);
    }

    #[test]
    fn the_minimum_sync_time_lets_the_first_second_of_requests_go_at_once() {
        assert_eq!(minimum_seconds(50, 50), 0.0);
        assert_eq!(minimum_seconds(51, 50), 1.0);
        assert_eq!(minimum_seconds(1_000, 50), 19.0);
    }
}
