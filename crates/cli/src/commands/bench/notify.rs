//! `ozontrack bench notify`: a burst of alert changes through the transactional outbox to 200
//! destinations on the sandbox's fakes of every seller channel. The alerts open the way the
//! rules open them (`apply_risk`, which writes their messages in the same transaction), in
//! batches over about two seconds; the dispatcher runs in this process, woken after each batch
//! as the rules wake it. Measured: every message delivered alone or inside a sent digest, the
//! fakes' count of rate-limit violations, and for destinations that publish no limit (webhooks
//! and mail), the time from the alert change to the fake's receipt.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{DateTime, Utc};
use ozontrack_db::prelude::*;
use ozontrack_db::{Enqueue, LeaseOwner, OutboxFilter, PenaltyPolicy, RiskOutcome};
use ozontrack_domain::alert::AlertChange;
use ozontrack_domain::finding::{Action, Finding, Reason, Severity};
use ozontrack_domain::notify::{ChannelKind, MessageState, Routing};
use ozontrack_domain::{
    Clock, ManualClock, OzonStatus, Posting, PostingNumber, Scheme, SyncedPosting, SystemClock,
};
use ozontrack_engine::notify::{AddDestination, DispatchSettings, Dispatcher, add_destination};
use ozontrack_sandbox::fakes::channels::Service;
use ozontrack_sandbox::{Sandbox, ServeConfig, World, WorldConfig};
use serde_json::json;

use super::{Scratch, ms, percentile};
use crate::cli::BenchNotifyArgs;
use crate::output;

const GOAL_P99_S: f64 = 2.0;

/// The channels of the 200 destinations, in proportion: most sellers' groups are robots, their
/// systems take webhooks.
const MIX: [(ChannelKind, u32); 6] = [
    (ChannelKind::Webhook, 80),
    (ChannelKind::Email, 20),
    (ChannelKind::Wecom, 40),
    (ChannelKind::Dingtalk, 20),
    (ChannelKind::Feishu, 20),
    (ChannelKind::Telegram, 20),
];

fn stale(since: DateTime<Utc>) -> Finding {
    Finding {
        severity: Severity::Warning,
        leg: None,
        since,
        reason: Reason::Stale {
            quiet_hours: 50,
            threshold_hours: 48,
            allowance_hours: 0,
            learned: None,
            last: None,
        },
        actions: vec![Action::ContactCarrier, Action::NotifyBuyer],
        evidence: Vec::new(),
        held: None,
    }
}

pub(crate) async fn notify(args: &BenchNotifyArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let destinations_wanted: u32 = MIX.iter().map(|(_, n)| n).sum();
    let per_destination = (args.changes / destinations_wanted).max(1);
    let scratch = Scratch::new("notify").await?;
    let db = scratch.store.clone();
    let world = World::generate(WorldConfig {
        parcels: 10,
        ..WorldConfig::default()
    });
    let business = world.config.start;
    let sandbox = Sandbox::start(
        world,
        Arc::new(ManualClock::new(business)),
        &ServeConfig {
            push_every: None,
            ..ServeConfig::default()
        },
    )
    .await
    .context("starting the sandbox")?;
    let ca_file = scratch_file(&scratch, "ca.pem", ozontrack_sandbox::fakes::smtp::CA_PEM)?;
    sandbox.mailboxes.add("bench@shop.cn", "auth-code");
    let base = sandbox.urls.channels.clone();
    let now = SystemClock.now();

    // One store per destination, each with its postings; each destination hears its store.
    let mut postings = Vec::new();
    let mut i = 0u32;
    for (kind, count) in MIX {
        for _ in 0..count {
            i += 1;
            let store = db
                .add_store(
                    ozontrack_db::NewStore {
                        name: ozontrack_domain::StoreName::parse(&format!("shop-{i:03}"))?,
                        client_id: ozontrack_domain::ClientId::parse(&(1000 + i).to_string())?,
                        api_key: secrecy::SecretString::from("unused".to_owned()),
                        ozon_base_url: "http://127.0.0.1:9".into(),
                        settings: ozontrack_domain::StoreSettings::default(),
                    },
                    business,
                )
                .await?;
            let batch: Vec<SyncedPosting> = (0..per_destination)
                .map(|k| {
                    let number = PostingNumber::parse(&format!("{:08}-{k:04}-1", 40_000_000 + i))?;
                    let posting =
                        Posting::new(store.id, number, Scheme::Fbs, OzonStatus::Delivering);
                    Ok(SyncedPosting::new(posting, String::new(), business))
                })
                .collect::<anyhow::Result<_>>()?;
            db.record_page(&batch, None, business).await?;
            for p in &batch {
                let record = db
                    .posting(store.id, &p.posting.number)
                    .await?
                    .context("a posting just stored")?;
                postings.push((store.id, record.id, record.posting.number.clone()));
            }
            let key = format!("k{i}");
            let setup = match kind {
                ChannelKind::Webhook => {
                    sandbox.channels.add_webhook(&key, WEBHOOK_SECRET);
                    ozontrack_notify::Setup {
                        url: Some(format!("{base}/hooks/{key}")),
                        signing_secret: Some(WEBHOOK_SECRET.into()),
                        ..ozontrack_notify::Setup::default()
                    }
                }
                ChannelKind::Email => ozontrack_notify::Setup {
                    url: Some(format!(
                        "smtp://bench%40shop.cn@{}",
                        sandbox.urls.smtp_starttls
                    )),
                    token: Some("auth-code".into()),
                    to: Some(format!("ops{i}@shop.cn")),
                    ca_file: Some(ca_file.clone()),
                    ..ozontrack_notify::Setup::default()
                },
                ChannelKind::Wecom => {
                    sandbox.channels.add_wecom(&key);
                    ozontrack_notify::Setup {
                        url: Some(format!("{base}/cgi-bin/webhook/send?key={key}")),
                        ..ozontrack_notify::Setup::default()
                    }
                }
                ChannelKind::Dingtalk => {
                    sandbox.channels.add_dingtalk(&key, Some("SECbench"));
                    ozontrack_notify::Setup {
                        url: Some(format!("{base}/robot/send?access_token={key}")),
                        signing_secret: Some("SECbench".into()),
                        ..ozontrack_notify::Setup::default()
                    }
                }
                ChannelKind::Feishu => {
                    sandbox.channels.add_feishu(&key, Some("bench"));
                    ozontrack_notify::Setup {
                        url: Some(format!("{base}/open-apis/bot/v2/hook/{key}")),
                        signing_secret: Some("bench".into()),
                        ..ozontrack_notify::Setup::default()
                    }
                }
                _ => {
                    sandbox
                        .channels
                        .add_telegram_chat("9:bench", &format!("-{}", 1000 + i), true);
                    ozontrack_notify::Setup {
                        url: Some(base.clone()),
                        token: Some("9:bench".into()),
                        chat_id: Some(format!("-{}", 1000 + i)),
                        ..ozontrack_notify::Setup::default()
                    }
                }
            };
            add_destination(
                &db,
                AddDestination {
                    name: format!("dest-{i:03}"),
                    kind,
                    setup,
                    store: None,
                    language: None,
                    time_zone: None,
                    routing: Routing {
                        stores: vec![store.id],
                        ..Routing::default()
                    },
                },
                &crate::app::console(),
                now,
            )
            .await?;
        }
    }
    let destinations: Vec<_> = db
        .destinations()
        .await?
        .into_iter()
        .map(|r| r.destination)
        .collect();

    // The dispatcher, woken after every batch as the rules wake it.
    let wake = Arc::new(tokio::sync::Notify::new());
    let dispatcher = Arc::new(Dispatcher::new(
        db.clone(),
        Arc::new(ManualClock::new(business)),
        Arc::new(SystemClock),
        ozontrack_engine::RulesBook::default(),
        DispatchSettings {
            batch: 256,
            concurrency: 32,
            ..DispatchSettings::default()
        },
        LeaseOwner::new("bench"),
    )?);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let running = {
        let (dispatcher, wake, stop) = (
            Arc::clone(&dispatcher),
            Arc::clone(&wake),
            Arc::clone(&stop),
        );
        tokio::spawn(async move {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let found = dispatcher
                    .run_once()
                    .await
                    .map(|r| r.sent + r.digests > 0)
                    .unwrap_or(false);
                if !found {
                    let _ = tokio::time::timeout(Duration::from_millis(200), wake.notified()).await;
                }
            }
        })
    };

    // The burst: the alert changes in batches, about two seconds in all.
    let started = Instant::now();
    let mut changed_at: HashMap<i64, DateTime<Utc>> = HashMap::new();
    let batches = 40usize;
    let size = postings.len().div_ceil(batches);
    // Interleave stores, so every batch touches many destinations.
    postings.sort_by_key(|(_, id, _)| (id.0 % i64::from(per_destination), id.0));
    for chunk in postings.chunks(size) {
        let outcomes: Vec<RiskOutcome> = chunk
            .iter()
            .map(|(store, posting, number)| RiskOutcome {
                posting: *posting,
                posting_number: number.clone(),
                store: *store,
                changes: vec![AlertChange::Open(stale(business))],
                next_due: None,
                penalty: PenaltyPolicy::from(&ozontrack_domain::rules::ComplianceRules::default()),
            })
            .collect();
        let at = SystemClock.now();
        db.apply_risk(
            &outcomes,
            business,
            &Enqueue {
                destinations: &destinations,
                at,
            },
        )
        .await?;
        for (_, posting, _) in chunk {
            changed_at.insert(posting.0, at);
        }
        wake.notify_one();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let burst = started.elapsed();

    // Until every message went out, alone or in a digest (a throttled robot's last digest
    // waits for its minute).
    let deadline = Instant::now() + Duration::from_secs(args.timeout_secs);
    let messages = loop {
        let all = db
            .outbox(&OutboxFilter {
                limit: 1_000_000,
                ..OutboxFilter::default()
            })
            .await?;
        if all.iter().all(|m| m.state != MessageState::Pending) || Instant::now() > deadline {
            break all;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let drained = started.elapsed();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    wake.notify_one();
    let _ = running.await;

    let alerts: Vec<_> = messages
        .iter()
        .filter(|m| m.notice.alert().is_some())
        .collect();
    let reached = ozontrack_db::outbox::reached(&messages);
    let delivered = alerts.iter().filter(|m| reached.contains(&m.id)).count();
    let digests = messages
        .iter()
        .filter(|m| m.notice.topic() == ozontrack_domain::notify::Topic::Digest)
        .count();
    let coalesced = alerts
        .iter()
        .filter(|m| m.state == MessageState::Coalesced)
        .count();
    let throttled: std::collections::HashSet<_> = messages
        .iter()
        .filter(|m| m.state == MessageState::Coalesced)
        .map(|m| m.destination)
        .collect();

    // Latency where nothing was throttled: webhooks (the alert id in the payload) and mail (in
    // the Message-ID).
    let posting_of: HashMap<i64, i64> = alerts
        .iter()
        .filter_map(|m| m.notice.alert())
        .map(|a| (a.alert, a.posting.0))
        .collect();
    let mut latencies: Vec<Duration> = Vec::new();
    let mut by_service: HashMap<&'static str, Vec<Duration>> = HashMap::new();
    for r in sandbox.channels.received() {
        let alert = match r.service {
            Service::Webhook => serde_json::from_str::<serde_json::Value>(&r.text)
                .ok()
                .and_then(|v| v["data"]["posting"].as_i64()),
            Service::Email => {
                r.id.as_deref()
                    .and_then(|id| id.split("-1_stale_opened_a").nth(1))
                    .and_then(|rest| rest.split('@').next())
                    .and_then(|a| a.parse::<i64>().ok())
                    .and_then(|alert| posting_of.get(&alert).copied())
            }
            _ => None,
        };
        if let Some(posting) = alert
            && let Some(at) = changed_at.get(&posting)
            && !r.repeat
        {
            let latency = (r.at - *at).to_std().unwrap_or_default();
            latencies.push(latency);
            by_service
                .entry(r.service.as_str())
                .or_default()
                .push(latency);
        }
    }
    latencies.sort_unstable();
    let p50 = percentile(&latencies, 50.0);
    let p99 = percentile(&latencies, 99.0);
    let violations = sandbox.channels.total_violations();
    let unthrottled = destinations
        .iter()
        .filter(|d| !throttled.contains(&d.id))
        .count();
    let ok = delivered == alerts.len()
        && violations == 0
        && p99.as_secs_f64() <= GOAL_P99_S
        && !latencies.is_empty();

    let mut table = output::table(&["figure", "measured", "goal", "ratio"]);
    table.add_row(vec![
        format!(
            "alert changes over {} destinations (burst {:.1} s)",
            destinations.len(),
            burst.as_secs_f64()
        ),
        format!("{} changes, {} messages", changed_at.len(), alerts.len()),
        "-".into(),
        "-".into(),
    ]);
    table.add_row(vec![
        "delivered alone or in a sent digest".into(),
        format!(
            "{delivered} of {} ({coalesced} in {digests} digests; {} destinations throttled)",
            alerts.len(),
            throttled.len()
        ),
        "all".into(),
        format!("{:.3}", delivered as f64 / alerts.len().max(1) as f64),
    ]);
    table.add_row(vec![
        "rate-limit violations counted by the fakes".into(),
        violations.to_string(),
        "0".into(),
        "-".into(),
    ]);
    table.add_row(vec![
        format!("alert → receipt, {unthrottled} unthrottled destinations, p50 / p99"),
        format!(
            "{:.0} ms / {:.0} ms ({} messages)",
            ms(p50),
            ms(p99),
            latencies.len()
        ),
        format!("p99 ≤ {GOAL_P99_S} s"),
        format!("{:.3}", p99.as_secs_f64() / GOAL_P99_S),
    ]);
    for (service, mut samples) in by_service {
        samples.sort_unstable();
        table.add_row(vec![
            format!("  of which {service}, p50 / p99"),
            format!(
                "{:.0} ms / {:.0} ms ({} messages)",
                ms(percentile(&samples, 50.0)),
                ms(percentile(&samples, 99.0)),
                samples.len()
            ),
            "-".into(),
            "-".into(),
        ]);
    }
    table.add_row(vec![
        "until the outbox was empty".into(),
        format!("{:.1} s", drained.as_secs_f64()),
        "-".into(),
        "-".into(),
    ]);
    output::print_table(out, &table)?;
    writeln!(
        out,
        "{}",
        json!({
            "bench": "notify",
            "changes": changed_at.len(),
            "destinations": destinations.len(),
            "messages": alerts.len(),
            "delivered": delivered,
            "coalesced": coalesced,
            "digests": digests,
            "throttled_destinations": throttled.len(),
            "violations": violations,
            "latency_p50_ms": ms(p50),
            "latency_p99_ms": ms(p99),
            "latency_samples": latencies.len(),
            "goal_p99_s": GOAL_P99_S,
            "ratio": p99.as_secs_f64() / GOAL_P99_S,
            "burst_s": burst.as_secs_f64(),
            "drained_s": drained.as_secs_f64(),
            "ok": ok,
        })
    )?;
    drop(sandbox);
    scratch.close().await;
    Ok(())
}

const WEBHOOK_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn scratch_file(scratch: &Scratch, name: &str, text: &str) -> anyhow::Result<String> {
    let dir = scratch.dir.clone().unwrap_or_else(std::env::temp_dir);
    let path = dir.join(name);
    std::fs::write(&path, text).context("writing a scratch file")?;
    Ok(path.display().to_string())
}
