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
//! - rate limits: the fakes refused no request for breaking the Client-Id's or the 17TRACK
//!   token's limit (their injected 429s are faults, not refusals).
//!
//! "By a leg's last check" (`checked_at`: when the carrier's last answer came in) leaves the
//! run's end out of the question: what a carrier showed at that moment is what the leg should
//! hold. One real second of the world's time is allowed either side of it for the processes'
//! clocks and the request in flight.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use anyhow::{Context, bail};
use chrono::{DateTime, Duration, Utc};
use ozontrack_db::prelude::*;
use ozontrack_db::{Cipher, DatabaseUrl, NewStore, PoolSettings, SqlDatabase, StoreRecord};
use ozontrack_domain::{ClientId, Clock, ScaledClock, StoreName, StoreSettings};
use ozontrack_engine::{Feed, Feeds};
use ozontrack_sandbox::faults::{FaultPlan, Faults};
use ozontrack_sandbox::rng::Rng;
use ozontrack_sandbox::{Carrier, Sandbox, ServeConfig, World, WorldConfig};
use secrecy::SecretString;
use serde_json::json;
use tokio::io::AsyncBufReadExt;

use crate::cli::BenchChaosArgs;
use crate::output;

/// The stream of the sandbox's seeded generator that picks the kills.
const KILLS_STREAM: u64 = 9_000;

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
        cdek: each,
        channels: Faults::default(),
        seed,
    }
}

/// One `serve` process of the run.
struct Node {
    child: tokio::process::Child,
    pid: u32,
}

/// How to start a node: the binary, its environment, where its logs go.
struct Launcher {
    exe: PathBuf,
    env: Vec<(String, String)>,
    clock_url: String,
    logs: PathBuf,
    started: u32,
}

impl Launcher {
    async fn start(&mut self) -> anyhow::Result<Node> {
        self.started += 1;
        let log = std::fs::File::create(self.logs.join(format!("node-{}.log", self.started)))
            .context("cannot create a node's log file")?;
        let mut child = tokio::process::Command::new(&self.exe)
            .args([
                "--json",
                "serve",
                "--role",
                "workers",
                "--listen",
                "127.0.0.1:0",
                "--follow-clock",
                &self.clock_url,
            ])
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            // What a node writes beside it (its scheduled backups) stays with the run's logs.
            .current_dir(&self.logs)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {}", self.exe.display()))?;
        let pid = child.id().context("a node exited at once")?;
        let stdout = child.stdout.take().context("a node's stdout")?;
        let mut line = String::new();
        tokio::time::timeout(
            StdDuration::from_secs(60),
            tokio::io::BufReader::new(stdout).read_line(&mut line),
        )
        .await
        .context("a node did not start within a minute")??;
        if line.trim().is_empty() {
            bail!("a node exited before serving; see {}", self.logs.display());
        }
        Ok(Node { child, pid })
    }
}

/// Stops a node with SIGTERM, as an operator would, and SIGKILL if it lingers.
async fn stop(mut node: Node) -> anyhow::Result<()> {
    let _ = tokio::process::Command::new("kill")
        .args(["-TERM", &node.pid.to_string()])
        .status()
        .await;
    if tokio::time::timeout(StdDuration::from_secs(20), node.child.wait())
        .await
        .is_err()
    {
        node.child.kill().await?;
    }
    Ok(())
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

fn env(sandbox: &Sandbox, url: &str, key_file: &Path) -> Vec<(String, String)> {
    let c = &sandbox.state.world.credentials;
    let u = &sandbox.urls;
    [
        ("DATABASE__URL", url.to_owned()),
        ("DATABASE__MAX_CONNECTIONS", "5".to_owned()),
        ("SECRETS__KEY_FILE", key_file.display().to_string()),
        (
            "CARRIERS__SEVENTEEN_TRACK_BASE_URL",
            u.seventeen_track.clone(),
        ),
        (
            "CARRIERS__SEVENTEEN_TRACK_TOKEN",
            c.seventeen_track_token.clone(),
        ),
        ("CARRIERS__RUSSIAN_POST_BASE_URL", u.russian_post.clone()),
        ("CARRIERS__RUSSIAN_POST_LOGIN", c.russian_post_login.clone()),
        (
            "CARRIERS__RUSSIAN_POST_PASSWORD",
            c.russian_post_password.clone(),
        ),
        ("CARRIERS__CDEK_BASE_URL", u.cdek.clone()),
        ("CARRIERS__CDEK_CLIENT_ID", c.cdek_client_id.clone()),
        ("CARRIERS__CDEK_CLIENT_SECRET", c.cdek_client_secret.clone()),
        ("CARRIERS__TIMEOUT_SECS", "5".to_owned()),
        ("OZON__TIMEOUT_SECS", "5".to_owned()),
        // A killed node's work goes to the others within seconds, not minutes.
        ("SYNC__LEASE_SECS", "6".to_owned()),
        ("TRACKING__LEASE_SECS", "10".to_owned()),
        ("RISK__LEASE_SECS", "10".to_owned()),
        ("NOTIFY__LEASE_SECS", "10".to_owned()),
        ("SYNC__POLL_SECS", "1".to_owned()),
        ("TRACKING__INTERVAL_SECS", "1".to_owned()),
        ("RISK__INTERVAL_SECS", "1".to_owned()),
        ("NOTIFY__INTERVAL_SECS", "1".to_owned()),
        ("LOG__FILTER", "warn".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (format!("OZONTRACK__{k}"), v))
    .collect()
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
    let url = DatabaseUrl::parse(&args.database_url)?;
    if url.backend() != ozontrack_db::Backend::Postgres {
        bail!("the chaos run shares one PostgreSQL between processes: give a postgres:// URL");
    }
    let logs = std::env::temp_dir().join(format!("ozontrack-chaos-{}", std::process::id()));
    std::fs::create_dir_all(&logs).with_context(|| format!("cannot create {}", logs.display()))?;
    let key_file = logs.join("ozontrack.key");
    let (cipher, _) = Cipher::load_or_create_key_file(&key_file)?;
    let db = SqlDatabase::connect(&url, cipher, &PoolSettings::default()).await?;
    db.migrate().await?;
    if !db.stores().await?.is_empty() {
        bail!(
            "{} already holds stores: the chaos run wants an empty database",
            url.redacted()
        );
    }

    // The run lasts as long as the world's orders come in.
    let span = Duration::days(i64::from(args.days.max(1)));
    let world = World::generate(WorldConfig {
        seed: args.seed,
        parcels: args.parcels,
        order_span: span,
        ..WorldConfig::default()
    });
    let start = world.config.start;
    let end = start + span;
    let clock = Arc::new(ScaledClock::new(start, args.speed));
    let serve = ServeConfig {
        faults: faults(args.seed),
        push_every: None,
        ..ServeConfig::default()
    };
    let sandbox = Sandbox::start(world, Arc::clone(&clock) as Arc<dyn Clock>, &serve).await?;
    let sim = &sandbox.state.world.stores[0];
    let store = db
        .add_store(
            NewStore {
                name: StoreName::parse("chaos-shop")?,
                client_id: ClientId::parse(&sim.client_id.to_string())?,
                api_key: SecretString::from(sim.api_key.clone()),
                ozon_base_url: sandbox.urls.ozon.clone(),
                settings: StoreSettings::default(),
            },
            clock.now(),
        )
        .await?;

    let mut launcher = Launcher {
        exe: std::env::current_exe().context("cannot find this binary to start the nodes")?,
        env: env(&sandbox, &args.database_url, &key_file),
        clock_url: sandbox.urls.clock.clone(),
        logs: logs.clone(),
        started: 0,
    };
    let began = Instant::now();
    let mut nodes = Vec::new();
    for _ in 0..args.processes.max(1) {
        nodes.push(launcher.start().await?);
    }
    // Which node dies and when: a stream of its own, apart from the world's and the faults'.
    let mut dice = Rng::for_item(args.seed, KILLS_STREAM, 0);
    let mut kills = 0u32;
    while clock.now() < end {
        let left = (end - clock.now())
            .to_std()
            .unwrap_or_default()
            .div_f64(args.speed);
        // Between half and one and a half of `every`.
        let pause = every.mul_f64(0.5 + dice.unit());
        tokio::time::sleep(pause.min(left)).await;
        if clock.now() >= end {
            break;
        }
        let victim = usize::try_from(dice.range(0, nodes.len() as u64)).unwrap_or(0);
        let mut node = nodes.swap_remove(victim);
        node.child.kill().await?;
        kills += 1;
        nodes.push(launcher.start().await?);
    }
    for node in nodes {
        stop(node).await?;
    }
    let wall = began.elapsed();

    let feeds = crate::commands::sandbox::sandbox_feeds(&sandbox, 3)?;
    let slack = Duration::milliseconds((args.speed * 1000.0) as i64);
    let score = score(&db, &store, &sandbox, &feeds, slack, clock.now()).await?;
    let (ozon_refusals, seventeen_track_refusals) = sandbox.rate_limit_refusals();
    let ozon_refused: u64 = ozon_refusals.values().sum();

    let mut table = output::table(&["measure", "value", "goal"]);
    let rows: [(&str, String, &str); 16] = [
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
    for example in &score.examples {
        writeln!(out, "  {example}")?;
    }
    writeln!(out, "node logs: {}", logs.display())?;
    let clean = score.clean() && ozon_refused + seventeen_track_refusals == 0;
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
            "ozon_refusals": ozon_refused,
            "seventeen_track_refusals": seventeen_track_refusals,
            "wall_s": wall.as_secs_f64(),
            "clean": clean,
        })
    )?;
    sandbox.shutdown().await;
    Ok(())
}
