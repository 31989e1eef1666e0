//! The dispatcher killed with SIGKILL at random points of a burst, two processes at a time on
//! PostgreSQL, restarted until the outbox is empty: every message is delivered (alone or in a
//! digest), no webhook message reaches its receiver as a new one twice (the `webhook-id` is the
//! same on every retry, so the receiver drops a repeat), the robots and bots get a message twice
//! only where a process died between sending and recording (counted, and never more than the
//! attempts left without an outcome), and no service's rate limit is broken across the
//! restarts (the windows are counted from the database).
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::{HashMap, HashSet};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use ozontrack_db::prelude::*;
use ozontrack_db::{Cipher, DatabaseUrl, NewMessage, OutboxFilter, PoolSettings, SqlDatabase};
use ozontrack_domain::notify::{ChannelKind, MessageState, Notice, Routing};
use ozontrack_domain::{Clock, DestinationId, SystemClock};
use ozontrack_engine::notify::{AddDestination, add_destination};
use ozontrack_notify::Setup;
use ozontrack_sandbox::fakes::channels::Service;
use ozontrack_sandbox::{Sandbox, ServeConfig, World, WorldConfig};
use support::ozontrack;

const KEY: &str = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";
const WEBHOOK_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// A new alert (each its own: its id is `n`), as the rules would enqueue it.
fn alert(n: i64, at: chrono::DateTime<chrono::Utc>) -> Notice {
    use ozontrack_domain::finding::{RuleKind, Severity};
    Notice::AlertOpened(ozontrack_domain::notify::AlertNotice {
        alert: n,
        store: ozontrack_domain::StoreId(1),
        posting: ozontrack_domain::PostingId(n),
        posting_number: ozontrack_domain::PostingNumber::parse(&format!("{n:010}-0001-1")).unwrap(),
        rule: RuleKind::Stale,
        severity: Severity::HighRisk,
        leg: None,
        reason: None,
        actions: Vec::new(),
        resolution: None,
        at,
    })
}

/// A small deterministic stream (the seed is printed, so a failing run can be repeated).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % below
    }
}

struct Dispatcher(Child);

impl Dispatcher {
    fn start(dir: &std::path::Path, url: &str) -> Self {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("dispatchers.log"))
            .unwrap();
        let child = ozontrack(dir, &["--database-url", url, "notify", "run"])
            .env("OZONTRACK__LOG__FILTER", "info,ozontrack_engine=debug")
            .env("OZONTRACK__SECRETS__KEY", KEY)
            .env("OZONTRACK__NOTIFY__INTERVAL_SECS", "1")
            .env("OZONTRACK__NOTIFY__TIMEOUT_SECS", "2")
            // A killed dispatcher's destinations come back after four seconds.
            .env("OZONTRACK__NOTIFY__LEASE_SECS", "4")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        Dispatcher(child)
    }

    /// SIGKILL: no shutdown, no flush, nothing recorded after this instant.
    fn kill(mut self) {
        self.0.kill().unwrap();
        self.0.wait().unwrap();
    }
}

impl Drop for Dispatcher {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_dispatchers_mid_burst_loses_nothing_and_repeats_only_what_was_in_flight() {
    let Some(pg) = ozontrack_testkit::postgres().await else {
        return;
    };
    let world = World::generate(WorldConfig {
        parcels: 10,
        ..WorldConfig::default()
    });
    let clock = std::sync::Arc::new(ozontrack_domain::ManualClock::new(world.config.start));
    // Answers are slow (so kills land mid-send) and some are cut after the service acted
    // (so a message arrives but the dispatcher cannot tell).
    let faults = ozontrack_sandbox::faults::FaultPlan {
        channels: ozontrack_sandbox::faults::Faults {
            slow_ms: 40,
            malformed_rate: 0.03,
            ..ozontrack_sandbox::faults::Faults::default()
        },
        seed: 7,
        ..ozontrack_sandbox::faults::FaultPlan::default()
    };
    let sandbox = Sandbox::start(
        world,
        clock,
        &ServeConfig {
            push_every: None,
            faults,
            ..ServeConfig::default()
        },
    )
    .await
    .unwrap();
    let url = DatabaseUrl::parse(&pg.url).unwrap();
    let db = SqlDatabase::connect(
        &url,
        Cipher::from_base64(KEY).unwrap(),
        &PoolSettings::default(),
    )
    .await
    .unwrap();
    db.migrate().await.unwrap();

    // Three webhooks, three WeCom robots, a Feishu bot, a DingTalk robot, two Telegram chats.
    let fakes = &sandbox.channels;
    let base = sandbox.urls.channels.clone();
    let mut destinations: Vec<(DestinationId, Service, String)> = Vec::new();
    let now = SystemClock.now();
    let add = |name: String, kind: ChannelKind, setup: Setup| {
        let db = db.clone();
        async move {
            add_destination(
                &db,
                AddDestination {
                    name,
                    kind,
                    setup,
                    store: None,
                    language: None,
                    time_zone: None,
                    routing: Routing::default(),
                },
                &ozontrack_engine::Actor::console("test").unwrap(),
                now,
            )
            .await
            .unwrap()
            .id
        }
    };
    for i in 0..3 {
        fakes.add_webhook(&format!("erp{i}"), WEBHOOK_SECRET);
        let id = add(
            format!("erp{i}"),
            ChannelKind::Webhook,
            Setup {
                url: Some(format!("{base}/hooks/erp{i}")),
                signing_secret: Some(WEBHOOK_SECRET.into()),
                ..Setup::default()
            },
        )
        .await;
        destinations.push((id, Service::Webhook, format!("erp{i}")));
        fakes.add_wecom(&format!("wk{i}"));
        let id = add(
            format!("wecom{i}"),
            ChannelKind::Wecom,
            Setup {
                url: Some(format!("{base}/cgi-bin/webhook/send?key=wk{i}")),
                ..Setup::default()
            },
        )
        .await;
        destinations.push((id, Service::Wecom, format!("wk{i}")));
    }
    fakes.add_feishu("fs", Some("feishu-secret"));
    let id = add(
        "feishu".into(),
        ChannelKind::Feishu,
        Setup {
            url: Some(format!("{base}/open-apis/bot/v2/hook/fs")),
            signing_secret: Some("feishu-secret".into()),
            ..Setup::default()
        },
    )
    .await;
    destinations.push((id, Service::Feishu, "fs".into()));
    fakes.add_dingtalk("dt", Some("SECcrash0test"));
    let id = add(
        "dingtalk".into(),
        ChannelKind::Dingtalk,
        Setup {
            url: Some(format!("{base}/robot/send?access_token=dt")),
            signing_secret: Some("SECcrash0test".into()),
            ..Setup::default()
        },
    )
    .await;
    destinations.push((id, Service::Dingtalk, "dt".into()));
    for chat in ["-2001", "-2002"] {
        fakes.add_telegram_chat("77:crash", chat, true);
        let id = add(
            format!("tg{chat}"),
            ChannelKind::Telegram,
            Setup {
                url: Some(base.clone()),
                token: Some("77:crash".into()),
                chat_id: Some(chat.into()),
                ..Setup::default()
            },
        )
        .await;
        destinations.push((id, Service::Telegram, chat.into()));
    }

    // The burst: waves of messages to every destination while dispatchers die and restart.
    let seed = now.timestamp_micros().unsigned_abs();
    eprintln!("seed {seed}");
    let mut rng = Lcg(seed);
    let dir = tempfile::tempdir().unwrap();
    let mut kills = 0u64;
    let mut running: Vec<Dispatcher> = Vec::new();
    let mut n = 0;
    let enqueue_wave = |n: &mut i64| {
        let mut messages = Vec::new();
        for (d, _, _) in &destinations {
            for _ in 0..15 {
                *n += 1;
                messages.push(NewMessage::new(*d, alert(*n, now)));
            }
        }
        messages
    };
    for wave in 0..8 {
        let messages = enqueue_wave(&mut n);
        db.enqueue(&messages, SystemClock.now()).await.unwrap();
        while running.len() < 2 {
            running.push(Dispatcher::start(dir.path(), &pg.url));
        }
        tokio::time::sleep(Duration::from_millis(300 + rng.next(1200))).await;
        let victim = usize::try_from(rng.next(2)).unwrap();
        running.remove(victim).kill();
        kills += 1;
        eprintln!("wave {wave}: killed a dispatcher");
    }
    // Then one dispatcher, left alone, until the outbox is empty.
    running.push(Dispatcher::start(dir.path(), &pg.url));
    let deadline = Instant::now() + Duration::from_secs(150);
    let messages = loop {
        let all = db
            .outbox(&OutboxFilter {
                limit: 10_000,
                ..OutboxFilter::default()
            })
            .await
            .unwrap();
        let waiting = all
            .iter()
            .filter(|m| m.state == MessageState::Pending)
            .count();
        if waiting == 0 {
            break all;
        }
        if Instant::now() > deadline {
            // What each destination is waiting for, and what the dispatchers said last.
            for d in db.destinations().await.unwrap() {
                let states: HashMap<&str, usize> = all
                    .iter()
                    .filter(|m| m.destination == d.destination.id)
                    .fold(HashMap::new(), |mut acc, m| {
                        *acc.entry(m.state.as_str()).or_default() += 1;
                        acc
                    });
                eprintln!(
                    "{}: {:?}, blocked until {:?}, {states:?}",
                    d.destination.name, d.destination.state, d.blocked_until
                );
            }
            eprintln!("violations: {:?}", fakes.violations());
            let log = std::fs::read_to_string(dir.path().join("dispatchers.log")).unwrap();
            let tail: Vec<&str> = log
                .lines()
                .filter(|l| !l.contains("sqlx::postgres::notice"))
                .rev()
                .take(30)
                .collect();
            eprintln!("{}", tail.into_iter().rev().collect::<Vec<_>>().join("\n"));
            panic!("{waiting} messages still waiting (seed {seed})");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    drop(running);

    // Every message delivered: sent, or carried by a digest that was sent.
    let by_id: HashMap<i64, &ozontrack_db::OutboxMessage> =
        messages.iter().map(|m| (m.id, m)).collect();
    let tests: Vec<_> = messages
        .iter()
        .filter(|m| matches!(m.notice, Notice::AlertOpened(_)))
        .collect();
    assert_eq!(tests.len(), usize::try_from(n).unwrap());
    let reached = ozontrack_db::outbox::reached(&messages);
    for m in &tests {
        let delivered = reached.contains(&m.id);
        let digest = m.coalesced_into.and_then(|d| by_id.get(&d));
        assert!(
            delivered,
            "not delivered: {m:?}, digest {digest:?} (seed {seed})"
        );
    }

    // What the fakes got, against what the outbox says went out.
    let received = fakes.received();
    let webhooks: Vec<_> = received
        .iter()
        .filter(|r| r.service == Service::Webhook)
        .collect();
    let ids: HashSet<&str> = webhooks.iter().filter_map(|r| r.id.as_deref()).collect();
    let repeats = webhooks.iter().filter(|r| r.repeat).count();
    let sent_to_webhooks: HashSet<&str> = messages
        .iter()
        .filter(|m| {
            m.state == MessageState::Sent
                && destinations
                    .iter()
                    .any(|(d, s, _)| *d == m.destination && *s == Service::Webhook)
        })
        .map(|m| m.key.as_str())
        .collect();
    assert_eq!(
        ids, sent_to_webhooks,
        "each webhook message arrived under its own id (seed {seed})"
    );
    // Per destination: pieces recorded as sent, attempts a kill left without an outcome, and
    // what the fake received.
    let mut extra_robot_deliveries = 0;
    let mut robot_orphans = 0;
    let mut webhook_orphans = 0;
    for (d, service, target) in &destinations {
        let mut sent_pieces = 0;
        let mut orphans = 0;
        for m in messages.iter().filter(|m| m.destination == *d) {
            for a in db.attempts(m.id).await.unwrap() {
                match (a.outcome, a.code.as_deref()) {
                    (ozontrack_domain::notify::AttemptOutcome::Sent, _) => sent_pieces += 1,
                    // A kill between sending and recording, or an answer cut on its way back:
                    // the service may have the message, the dispatcher cannot know.
                    (ozontrack_domain::notify::AttemptOutcome::Sending, _)
                    | (
                        ozontrack_domain::notify::AttemptOutcome::Retry,
                        Some("unreadable answer" | "timeout" | "transport"),
                    ) => orphans += 1,
                    _ => {}
                }
            }
        }
        if *service == Service::Webhook {
            webhook_orphans += orphans;
            continue;
        }
        robot_orphans += orphans;
        let got = received
            .iter()
            .filter(|r| r.service == *service && r.target == *target)
            .count();
        assert!(got >= sent_pieces, "{target} lost pieces (seed {seed})");
        extra_robot_deliveries += got - sent_pieces;
    }
    eprintln!(
        "{kills} kills: {} messages; webhooks: {repeats} repeats (dropped by the receivers by \
         webhook-id), {webhook_orphans} attempts whose outcome is unknown; robots: \
         {extra_robot_deliveries} extra deliveries, {robot_orphans} attempts whose outcome is \
         unknown",
        tests.len()
    );
    assert!(
        repeats <= webhook_orphans,
        "a webhook message was sent twice though every attempt's outcome is known (seed {seed})"
    );
    assert!(
        extra_robot_deliveries <= robot_orphans,
        "a robot got a message twice though every attempt's outcome is known (seed {seed})"
    );
    assert_eq!(
        fakes.total_violations(),
        0,
        "a rate limit broken across restarts: {:?} (seed {seed})",
        fakes.violations()
    );
}
