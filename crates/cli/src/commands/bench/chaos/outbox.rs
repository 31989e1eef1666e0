//! The chaos run's seller channels: a webhook, whose `webhook-id` is the outbox key (a receiver
//! drops a repeat by it), and a Telegram chat, which has no such key and a limit of one message
//! a second. Both hear every alert of the run's store. Once the run is settled, the outbox is
//! drained and scored: every message reached its receiver, every webhook recorded as sent was
//! accepted, and every webhook accepted belongs to a message. An alert change has one key
//! (`Notice::dedupe_key`, unique in the outbox); one told twice would be two alerts, which the
//! alerts' score counts.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use anyhow::Context;
use chrono::{DateTime, Utc};
use ozontrack_db::prelude::*;
use ozontrack_db::{LeaseOwner, OutboxFilter, SqlDatabase};
use ozontrack_domain::notify::{ChannelKind, MessageState, Routing};
use ozontrack_domain::{Clock, ManualClock, StoreId, SystemClock};
use ozontrack_engine::notify::{AddDestination, DispatchSettings, Dispatcher, add_destination};
use ozontrack_sandbox::Sandbox;
use ozontrack_sandbox::fakes::channels::{KEPT, Service};

const WEBHOOK: &str = "chaos-hook";
const WEBHOOK_SECRET: &str = "whsec_Y2hhb3MtcnVuLXdlYmhvb2stc2VjcmV0";
const BOT: &str = "9:chaos";
const CHAT: &str = "7000001";

/// How long the drain may take (real time): a message that failed twice waits half a minute
/// before its third try, but the drain sends what waits at once.
const DRAIN_WITHIN: StdDuration = StdDuration::from_secs(90);

/// Adds the two destinations, each told the alerts of `store`.
pub(super) async fn add_destinations(
    db: &SqlDatabase,
    sandbox: &Sandbox,
    store: StoreId,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let base = &sandbox.urls.channels;
    sandbox.channels.add_webhook(WEBHOOK, WEBHOOK_SECRET);
    sandbox.channels.add_telegram_chat(BOT, CHAT, false);
    let destinations = [
        (
            ChannelKind::Webhook,
            ozontrack_notify::Setup {
                url: Some(format!("{base}/hooks/{WEBHOOK}")),
                signing_secret: Some(WEBHOOK_SECRET.into()),
                ..ozontrack_notify::Setup::default()
            },
        ),
        (
            ChannelKind::Telegram,
            ozontrack_notify::Setup {
                url: Some(base.clone()),
                token: Some(BOT.into()),
                chat_id: Some(CHAT.into()),
                ..ozontrack_notify::Setup::default()
            },
        ),
    ];
    for (kind, setup) in destinations {
        add_destination(
            db,
            AddDestination {
                name: format!("chaos-{}", kind.as_str()),
                kind,
                setup,
                store: None,
                language: None,
                time_zone: None,
                routing: Routing {
                    stores: vec![store],
                    ..Routing::default()
                },
            },
            &crate::app::console(),
            now,
        )
        .await
        .with_context(|| format!("adding the chaos run's {} destination", kind.as_str()))?;
    }
    Ok(())
}

/// Sends what the outbox still holds, as one dispatcher at `at` by the rules' clock, until
/// nothing is pending or [`DRAIN_WITHIN`] has passed. Every message waiting for a retry is
/// made due at once (the fakes are calm by now).
pub(super) async fn drain(db: &SqlDatabase, at: DateTime<Utc>) -> anyhow::Result<()> {
    let dispatcher = Dispatcher::new(
        db.clone(),
        Arc::new(ManualClock::new(at)),
        Arc::new(SystemClock),
        ozontrack_engine::RulesBook::default(),
        DispatchSettings::default(),
        LeaseOwner::new("settle"),
    )?;
    let deadline = Instant::now() + DRAIN_WITHIN;
    while Instant::now() < deadline {
        let pending: u64 = db
            .outbox_counts()
            .await?
            .iter()
            .map(|(_, c)| c.pending)
            .sum();
        if pending == 0 {
            break;
        }
        db.send_waiting_now(SystemClock.now()).await?;
        let report = dispatcher.run_once().await?;
        if report.sent + report.digests == 0 {
            // A killed node's lease on a destination, or a chat's rate window.
            tokio::time::sleep(StdDuration::from_millis(250)).await;
        }
    }
    Ok(())
}

/// What the seller's channels got.
#[derive(Debug, Default)]
pub(super) struct Delivery {
    /// Messages in the outbox (digests included).
    pub messages: u64,
    /// Reached their receiver: sent, or gathered into a digest that was.
    pub reached: u64,
    /// Sent by the outbox's account, never accepted by the webhook receiver.
    pub webhook_lost: u64,
    /// Accepted by the webhook receiver under an id no message has.
    pub webhook_unknown: u64,
    /// Accepted again under an id it had (the receiver drops them): a node died between sending
    /// and recording it, or the answer was lost.
    pub webhook_repeats: u64,
    /// Messages the Telegram chat got (pieces of long ones each count).
    pub telegram_received: u64,
    /// Requests over a channel's published limit.
    pub violations: u64,
    pub examples: Vec<String>,
}

impl Delivery {
    pub(super) fn clean(&self) -> bool {
        self.messages > 0
            && self.reached == self.messages
            && self.webhook_lost + self.webhook_unknown + self.violations == 0
    }

    fn note(&mut self, example: String) {
        if self.examples.len() < 8 {
            self.examples.push(example);
        }
    }
}

/// Scores the drained outbox of `db` against what the fakes of `sandbox` accepted.
pub(super) async fn score(db: &SqlDatabase, sandbox: &Sandbox) -> anyhow::Result<Delivery> {
    let messages = db
        .outbox(&OutboxFilter {
            limit: u32::MAX,
            ..OutboxFilter::default()
        })
        .await?;
    let received = sandbox.channels.received();
    anyhow::ensure!(
        sandbox.channels.accepted() <= KEPT,
        "the channel fakes accepted more than the {KEPT} messages they keep: a shorter run \
         can be scored"
    );
    let webhook = db
        .destinations()
        .await?
        .into_iter()
        .find(|d| d.destination.kind == ChannelKind::Webhook)
        .context("the chaos run's webhook destination is gone")?
        .destination
        .id;
    let reached = ozontrack_db::outbox::reached(&messages);
    let mut delivery = Delivery {
        messages: messages.len() as u64,
        reached: reached.len() as u64,
        violations: sandbox.channels.total_violations(),
        ..Delivery::default()
    };
    for m in messages.iter().filter(|m| !reached.contains(&m.id)) {
        delivery.note(format!(
            "message {} ({}) not delivered: {} after {} attempts",
            m.id,
            m.notice.topic(),
            m.state,
            m.attempts
        ));
    }
    let keys: HashSet<&str> = messages
        .iter()
        .filter(|m| m.destination == webhook)
        .map(|m| m.key.as_str())
        .collect();
    let mut accepted = HashSet::new();
    for r in &received {
        match r.service {
            Service::Webhook => {
                let id = r.id.as_deref().unwrap_or_default();
                if r.repeat {
                    delivery.webhook_repeats += 1;
                }
                if !keys.contains(id) {
                    delivery.webhook_unknown += 1;
                    delivery.note(format!("webhook {id:?} matches no message"));
                }
                accepted.insert(id);
            }
            Service::Telegram => delivery.telegram_received += 1,
            _ => {}
        }
    }
    for m in messages
        .iter()
        .filter(|m| m.destination == webhook && m.state == MessageState::Sent)
    {
        if !accepted.contains(m.key.as_str()) {
            delivery.webhook_lost += 1;
            delivery.note(format!(
                "webhook {} recorded as sent, never received",
                m.key
            ));
        }
    }
    Ok(delivery)
}
