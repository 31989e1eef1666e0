//! Notifications: the dispatcher that empties the outbox, and the use cases behind
//! `ozontrack channels`, `ozontrack notify`, the API and the dashboard page.
//!
//! The rules decide *that* something happened (their transaction writes the outbox); the
//! dispatcher decides *when* and *how* it leaves. Each round it tells the sellers of feed outages
//! and their recoveries, enqueues the daily summaries that are due, then leases destinations
//! with due messages (one dispatcher per destination at a time, on either database) and for
//! each: holds messages in quiet hours, counts the destination's rate windows from the attempts
//! recorded in the database, gathers what cannot go one by one into a digest, and sends the
//! rest, acting on each verdict — wait, fall back to plain text, disable the destination and
//! tell the seller elsewhere, follow a moved chat, or give up into the dead letters a person can
//! retry.
//!
//! All of its timing runs on the wall clock (`wall`): rate limits, backoff and leases protect
//! real services. Facts in messages (when an alert opened, a day's counts) come from the
//! business clock, which the sandbox may run faster.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use futures_util::StreamExt;
use ozontrack_db::{
    Database, DbError, DestinationRecord, LeaseOwner, NewDestination, NewMessage, OutboxFilter,
    OutboxMessage, Settle, TemplateRecord,
};
use ozontrack_domain::finding::{RuleKind, Severity};
use ozontrack_domain::notify::{
    self, AlertNotice, AttemptOutcome, Audience, ChannelKind, DailyNotice, DestinationState,
    DigestNotice, DisableCause, DisabledNotice, FeedNotice, Notice, QuietHours, Routing,
    TestNotice, Topic, Verdict,
};
use ozontrack_domain::{AuditAction, Clock, DestinationId, Language, PostingId, StoreId};
use ozontrack_notify::{Address, Credentials, Envelope, Extras, Piece, Rendered, Sender, Setup};
use ozontrack_ozon::OzonError;
use secrecy::{ExposeSecret, SecretString};

use crate::estimate::EstimateBook;
use crate::risk::RulesBook;
use crate::supervise::Worker;
use crate::{Actor, Error, Problem, Syncer, audit};
use serde_json::json;

/// How the dispatcher behaves.
#[derive(Debug, Clone)]
pub struct DispatchSettings {
    /// Destinations leased per round.
    pub batch: u32,
    /// Destinations served at once.
    pub concurrency: usize,
    /// How long a leased destination stays ours.
    pub lease: Duration,
    /// Due messages read per destination per round.
    pub per_destination: u32,
    /// Widens every rate window: a service counts arrivals, which come after we start.
    pub margin: Duration,
    /// Failures in a row before a feed's outage is told.
    pub feed_failures: i64,
    /// The dashboard's address as sellers and buyers reach it (links in messages); none: no
    /// links.
    pub public_url: Option<String>,
    /// Each request's limit.
    pub timeout: std::time::Duration,
}

impl Default for DispatchSettings {
    fn default() -> Self {
        Self {
            batch: 64,
            concurrency: 16,
            lease: Duration::seconds(60),
            per_destination: 500,
            margin: Duration::seconds(1),
            feed_failures: 3,
            public_url: None,
            timeout: std::time::Duration::from_secs(15),
        }
    }
}

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DispatchReport {
    pub destinations: u64,
    pub sent: u64,
    pub digests: u64,
    pub coalesced: u64,
    pub retried: u64,
    pub dead: u64,
    pub disabled: u64,
    pub held: u64,
    /// Requests that timed out after leaving: the service may have them twice.
    pub maybe_duplicated: u64,
}

impl DispatchReport {
    fn add(&mut self, o: &DispatchReport) {
        self.destinations += o.destinations;
        self.sent += o.sent;
        self.digests += o.digests;
        self.coalesced += o.coalesced;
        self.retried += o.retried;
        self.dead += o.dead;
        self.disabled += o.disabled;
        self.held += o.held;
        self.maybe_duplicated += o.maybe_duplicated;
    }
}

/// The dispatcher. `syncer` gives each store's Ozon client (sharing its Client-Id's rate limit
/// with the sync) for the buyer chat; without it buyer messages wait.
#[derive(Debug)]
pub struct Dispatcher<D: Database> {
    db: D,
    clock: Arc<dyn Clock>,
    wall: Arc<dyn Clock>,
    sender: Sender,
    syncer: Option<Arc<Syncer<D>>>,
    estimates: Option<Arc<EstimateBook>>,
    rules: RulesBook,
    settings: DispatchSettings,
    owner: LeaseOwner,
    /// The last daily summary date enqueued per destination.
    dailies: Mutex<HashMap<DestinationId, NaiveDate>>,
    /// Store names for messages, forgotten at every round (a store may be renamed).
    store_names: Mutex<HashMap<StoreId, String>>,
}

/// Whether a destination's round goes on after a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Next,
    Stop,
}

impl<D: Database> Dispatcher<D> {
    pub fn new(
        db: D,
        clock: Arc<dyn Clock>,
        wall: Arc<dyn Clock>,
        rules: RulesBook,
        settings: DispatchSettings,
        owner: LeaseOwner,
    ) -> Result<Self, Error> {
        let sender = Sender::new(settings.timeout)
            .map_err(|_| Error::Unavailable("the HTTP client cannot be built"))?;
        Ok(Self {
            db,
            clock,
            wall,
            sender,
            syncer: None,
            estimates: None,
            rules,
            settings,
            owner,
            dailies: Mutex::new(HashMap::new()),
            store_names: Mutex::new(HashMap::new()),
        })
    }

    /// Buyer messages go through the stores' Ozon clients of `syncer`.
    #[must_use]
    pub fn with_ozon(mut self, syncer: Arc<Syncer<D>>) -> Self {
        self.syncer = Some(syncer);
        self
    }

    /// Buyer messages carry the arrival window `estimates` gives.
    #[must_use]
    pub fn with_estimates(mut self, estimates: Arc<EstimateBook>) -> Self {
        self.estimates = Some(estimates);
        self
    }

    pub fn settings(&self) -> &DispatchSettings {
        &self.settings
    }

    /// One round: feed news, daily summaries, then every destination with something due.
    pub async fn run_once(&self) -> Result<DispatchReport, Error> {
        let now = self.wall.now();
        self.store_names
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        self.watch_feeds(now).await?;
        self.schedule_dailies(now).await?;
        let claimed: Vec<DestinationId> = self
            .db
            .claim(
                &self.owner,
                self.settings.batch,
                now,
                now + self.settings.lease,
            )
            .await?;
        if claimed.is_empty() {
            return Ok(DispatchReport::default());
        }
        let templates = self.db.templates().await?;
        let mut report = DispatchReport::default();
        let mut rounds = futures_util::stream::iter(claimed)
            .map(|id| self.serve(id, &templates))
            .buffer_unordered(self.settings.concurrency.max(1));
        let mut first_error = None;
        while let Some(result) = rounds.next().await {
            match result {
                Ok(r) => report.add(&r),
                Err(e) => {
                    tracing::warn!(error = %crate::Chain(&e), "a destination's round failed");
                    first_error.get_or_insert(e);
                }
            }
        }
        drop(rounds);
        metrics::counter!("ozontrack_notify_sent_total").increment(report.sent);
        metrics::counter!("ozontrack_notify_digests_total").increment(report.digests);
        metrics::counter!("ozontrack_notify_dead_total").increment(report.dead);
        metrics::counter!("ozontrack_notify_maybe_duplicated_total")
            .increment(report.maybe_duplicated);
        match first_error {
            Some(e) if report.destinations == 0 => Err(e),
            _ => Ok(report),
        }
    }

    /// Serves one destination now, whether or not it is due (a test message through the real
    /// path). False when another dispatcher holds it.
    pub async fn serve_now(&self, id: DestinationId) -> Result<bool, Error> {
        let now = self.wall.now();
        if !self
            .db
            .lease(id, &self.owner, now, now + self.settings.lease)
            .await?
        {
            return Ok(false);
        }
        let templates = self.db.templates().await?;
        self.serve(id, &templates).await?;
        Ok(true)
    }

    async fn serve(
        &self,
        id: DestinationId,
        templates: &[TemplateRecord],
    ) -> Result<DispatchReport, Error> {
        let result = self.serve_leased(id, templates).await;
        // The lease goes back whatever happened; the destination is due again when its
        // earliest message is.
        self.db.release_destination(id, &self.owner).await?;
        result
    }

    async fn serve_leased(
        &self,
        id: DestinationId,
        templates: &[TemplateRecord],
    ) -> Result<DispatchReport, Error> {
        let mut report = DispatchReport {
            destinations: 1,
            ..DispatchReport::default()
        };
        let Some(record) = self.db.destination(id).await? else {
            return Ok(report);
        };
        if record.destination.state != DestinationState::Active {
            return Ok(report);
        }
        let now = self.wall.now();
        if record.blocked_until.is_some_and(|b| b > now) {
            return Ok(report);
        }
        let mut due = self
            .db
            .due_messages(id, now, self.settings.per_destination)
            .await?;
        if due.is_empty() {
            return Ok(report);
        }
        let destination = &record.destination;
        // Quiet hours: everything but tests waits for the morning.
        if let Some(end) = destination.quiet_until(now) {
            let held: Vec<i64> = due
                .iter()
                .filter(|m| m.notice.topic() != Topic::Test)
                .map(|m| m.id)
                .collect();
            self.db.hold(&held, end).await?;
            report.held += held.len() as u64;
            due.retain(|m| m.notice.topic() == Topic::Test);
        }
        let kind = destination.kind;
        let limits = kind.limits();
        let longest = limits
            .windows
            .iter()
            .map(|w| w.span)
            .max()
            .unwrap_or(Duration::zero());
        let mut recent = self
            .db
            .recent_attempts(id, now - longest - self.settings.margin)
            .await?;
        let free = notify::free_slots(&limits, &recent, now, self.settings.margin);
        if kind.coalesces() {
            let gather: Vec<&OutboxMessage> = due
                .iter()
                .filter(|m| {
                    !matches!(m.notice.topic(), Topic::Test | Topic::Digest) && m.parts_sent == 0
                })
                .collect();
            let held = gather.iter().filter(|m| m.held).count();
            let too_many = u32::try_from(gather.len()).unwrap_or(u32::MAX) > free;
            if gather.len() > 1 && (too_many || held > 1) {
                let ids: Vec<i64> = gather.iter().map(|m| m.id).collect();
                let digest = NewMessage {
                    destination: id,
                    notice: Notice::Digest(DigestNotice {
                        count: ids.len() as u64,
                        quiet: held > 1,
                    }),
                    key: Some(notify::digest_key(id, ids[0])),
                };
                let digest_id = self.db.coalesce(&ids, &digest, now).await?;
                report.digests += 1;
                report.coalesced += ids.len() as u64;
                due.retain(|m| !ids.contains(&m.id));
                if let Some(d) = self.db.message(digest_id).await? {
                    due.insert(0, d);
                }
            }
        }
        let credentials = match self.db.destination_credentials(id).await? {
            Some(text) => Credentials::from_unsealed(text.expose_secret())
                .map_err(|_| DbError::DecryptDestination(destination.name.clone()))?,
            None => Credentials::default(),
        };
        let mut address: Address =
            serde_json::from_str(&record.address).map_err(|e| DbError::Corrupt {
                table: "destinations",
                id: id.0,
                reason: e.to_string(),
            })?;
        // Receivers that publish no limit (webhooks, mail) take the due messages a few at a
        // time, recorded and settled in one transaction each way; what fails goes the careful
        // way below.
        let due = if limits.windows.is_empty() && kind != ChannelKind::OzonChat {
            self.deliver_together(&record, &address, &credentials, due, templates, &mut report)
                .await?
        } else {
            due
        };
        let mut renewed = now;
        for message in due {
            // A long round keeps its lease (renewed at half its life); a round that lost it
            // (this process was too slow) stops, so two dispatchers never share a destination.
            let at = self.wall.now();
            if at - renewed > self.settings.lease / 2 {
                let kept = self
                    .db
                    .extend(&[id], &self.owner, at + self.settings.lease)
                    .await?;
                if kept == 0 {
                    break;
                }
                renewed = at;
            }
            let flow = self
                .deliver(
                    &record,
                    &mut address,
                    &credentials,
                    message,
                    templates,
                    &mut recent,
                    &mut report,
                )
                .await?;
            if flow == Flow::Stop {
                break;
            }
        }
        Ok(report)
    }

    /// Sends one message (what is left of it), acting on each verdict.
    #[allow(clippy::too_many_arguments)]
    async fn deliver(
        &self,
        record: &DestinationRecord,
        address: &mut Address,
        credentials: &Credentials,
        mut message: OutboxMessage,
        templates: &[TemplateRecord],
        recent: &mut Vec<DateTime<Utc>>,
        report: &mut DispatchReport,
    ) -> Result<Flow, Error> {
        let destination = &record.destination;
        if destination.kind == ChannelKind::OzonChat {
            return self
                .deliver_to_buyer(record, message, templates, report)
                .await;
        }
        let members = match message.notice {
            Notice::Digest(_) => self.digest_titles(record, message.id, templates).await?,
            _ => Vec::new(),
        };
        let Some(rendered) = self
            .render_or_bury(destination, &message, templates, &members, report)
            .await?
        else {
            return Ok(Flow::Next);
        };
        let data = serde_json::to_value(&message.notice).unwrap_or_default();
        // One retry as plain text and one to a moved chat, at most, within this round.
        let mut second_chances = 2;
        loop {
            let pieces = ozontrack_notify::pieces(destination.kind, &rendered, message.plain);
            let total = pieces.len();
            let envelope = Envelope {
                key: &message.key,
                event_type: event_type(message.notice.topic()),
                data: &data,
                rendered: &rendered,
                created_at: message.created_at,
            };
            let mut again = false;
            for (part, piece) in pieces.iter().enumerate().skip(message.parts_sent as usize) {
                let now = self.wall.now();
                let limits = destination.kind.limits();
                if notify::free_slots(&limits, recent, now, self.settings.margin) == 0 {
                    let at = notify::next_slot(&limits, recent, now, self.settings.margin);
                    tracing::debug!(
                        destination = %destination.name,
                        until = %at,
                        sent = recent.len(),
                        "the destination's rate window is full"
                    );
                    self.db.block_destination(destination.id, at).await?;
                    return Ok(Flow::Stop);
                }
                let part_u32 = u32::try_from(part).unwrap_or(u32::MAX);
                let attempt = self
                    .db
                    .start_attempt(message.id, destination.id, part_u32, now)
                    .await?;
                recent.push(now);
                let started = Instant::now();
                let verdict = self
                    .sender
                    .send(address, credentials, &envelope, piece, self.wall.now())
                    .await;
                let took = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
                match verdict {
                    Verdict::Sent { remote_id } => {
                        let done = part + 1 == total;
                        self.record(
                            attempt,
                            message.id,
                            AttemptOutcome::Sent,
                            None,
                            took,
                            &Settle::Delivered { done, remote_id },
                        )
                        .await?;
                        message.parts_sent += 1;
                        if done {
                            report.sent += 1;
                        }
                    }
                    // Markup refused: the whole message again as plain text, once.
                    Verdict::Permanent {
                        plain_may_help: true,
                        ref code,
                    } if piece.markup && !message.plain && second_chances > 0 => {
                        self.record(
                            attempt,
                            message.id,
                            AttemptOutcome::Plain,
                            Some(code),
                            took,
                            &Settle::Plain,
                        )
                        .await?;
                        message.plain = true;
                        message.parts_sent = 0;
                        second_chances -= 1;
                        again = true;
                        break;
                    }
                    Verdict::Migrate { chat_id, code } => {
                        self.record(
                            attempt,
                            message.id,
                            AttemptOutcome::Migrated,
                            Some(&code),
                            took,
                            &Settle::Waits,
                        )
                        .await?;
                        if let Address::Telegram { chat_id: old, .. } = address {
                            tracing::info!(
                                destination = %destination.name,
                                from = %old,
                                to = %chat_id,
                                "the Telegram chat moved to a supergroup; following it"
                            );
                            *old = chat_id;
                        }
                        let json = serde_json::to_string(address).unwrap_or_default();
                        self.db
                            .set_destination_address(destination.id, &json, self.wall.now())
                            .await?;
                        if second_chances == 0 {
                            return Ok(Flow::Next);
                        }
                        second_chances -= 1;
                        again = true;
                        break;
                    }
                    verdict => {
                        return self
                            .settle_failure(
                                attempt,
                                &message,
                                destination,
                                verdict,
                                took,
                                &Settle::Dead,
                                report,
                            )
                            .await;
                    }
                }
            }
            if !again {
                return Ok(Flow::Next);
            }
        }
    }

    /// What a failed attempt leads to: a retry (the whole destination waits when the service
    /// asked for a pause), a refusal, or the destination disabled and the seller told.
    /// `refused` is what a permanent refusal means for this message: a dead letter for a
    /// seller's channel; for a buyer chat, a message that is not for sending (the chat window
    /// closed, the posting is gone).
    #[allow(clippy::too_many_arguments)]
    async fn settle_failure(
        &self,
        attempt: i64,
        message: &OutboxMessage,
        destination: &notify::Destination,
        verdict: Verdict,
        took: i64,
        refused: &Settle,
        report: &mut DispatchReport,
    ) -> Result<Flow, Error> {
        match verdict {
            Verdict::Retry {
                after,
                lockout,
                maybe_sent,
                code,
            } => {
                if maybe_sent {
                    report.maybe_duplicated += 1;
                }
                let attempts = message.attempts + 1;
                let dead = attempts >= notify::MAX_ATTEMPTS;
                let wait = after.unwrap_or_else(|| notify::retry_delay(attempts, jitter()));
                let at = self.wall.now() + wait;
                let settle = Settle::Retry { at, dead };
                self.record(
                    attempt,
                    message.id,
                    AttemptOutcome::Retry,
                    Some(&code),
                    took,
                    &settle,
                )
                .await?;
                if dead {
                    report.dead += 1;
                } else {
                    report.retried += 1;
                }
                // The service asked for a pause: nothing goes there before it ends.
                if lockout || after.is_some() {
                    tracing::info!(
                        destination = %destination.name,
                        until = %at,
                        code = %code,
                        "the service asked for a pause"
                    );
                    self.db.block_destination(destination.id, at).await?;
                    return Ok(Flow::Stop);
                }
                Ok(Flow::Next)
            }
            Verdict::Reconfigure { cause, code } => {
                self.record(
                    attempt,
                    message.id,
                    AttemptOutcome::Reconfigure,
                    Some(&code),
                    took,
                    &Settle::Waits,
                )
                .await?;
                self.disable(destination, cause).await?;
                report.disabled += 1;
                Ok(Flow::Stop)
            }
            Verdict::Permanent { code, .. } | Verdict::Migrate { code, .. } => {
                self.record(
                    attempt,
                    message.id,
                    AttemptOutcome::Permanent,
                    Some(&code),
                    took,
                    refused,
                )
                .await?;
                if *refused == Settle::Dead {
                    report.dead += 1;
                }
                Ok(Flow::Next)
            }
            Verdict::Sent { .. } => Ok(Flow::Next),
        }
    }

    /// One request of [`Self::deliver_together`]: the attempt, its message, the verdict and how
    /// long it took.
    async fn send_one<'m>(
        &self,
        address: &Address,
        credentials: &Credentials,
        message: &'m OutboxMessage,
        rendered: &Rendered,
        piece: &Piece,
        attempt: i64,
    ) -> (i64, &'m OutboxMessage, Verdict, i64) {
        let data = serde_json::to_value(&message.notice).unwrap_or_default();
        let envelope = Envelope {
            key: &message.key,
            event_type: event_type(message.notice.topic()),
            data: &data,
            rendered,
            created_at: message.created_at,
        };
        let started = Instant::now();
        let verdict = self
            .sender
            .send(address, credentials, &envelope, piece, self.wall.now())
            .await;
        let took = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        (attempt, message, verdict, took)
    }

    /// Sends `due` (one piece each) to a destination without a published limit, up to
    /// `IN_FLIGHT` requests at once. Returns what still needs the careful path: the messages
    /// it could not render as one piece, and everything after a failure that stops the
    /// destination.
    async fn deliver_together(
        &self,
        record: &DestinationRecord,
        address: &Address,
        credentials: &Credentials,
        due: Vec<OutboxMessage>,
        templates: &[TemplateRecord],
        report: &mut DispatchReport,
    ) -> Result<Vec<OutboxMessage>, Error> {
        const IN_FLIGHT: usize = 8;
        let destination = &record.destination;
        let mut ready = Vec::new();
        let mut careful = Vec::new();
        for message in due {
            if message.notice.topic() == Topic::Digest || message.parts_sent > 0 {
                careful.push(message);
                continue;
            }
            if let Some(rendered) = self
                .render_or_bury(destination, &message, templates, &[], report)
                .await?
            {
                let pieces = ozontrack_notify::pieces(destination.kind, &rendered, message.plain);
                match <[Piece; 1]>::try_from(pieces) {
                    Ok([piece]) => ready.push((message, rendered, piece)),
                    Err(_) => careful.push(message),
                }
            }
        }
        if ready.is_empty() {
            return Ok(careful);
        }
        let started: Vec<(i64, DestinationId, u32)> = ready
            .iter()
            .map(|(m, _, _)| (m.id, destination.id, 0))
            .collect();
        let attempts = self.db.start_attempts(&started, self.wall.now()).await?;
        let sends: Vec<_> = ready
            .iter()
            .zip(&attempts)
            .map(|((message, rendered, piece), attempt)| {
                self.send_one(address, credentials, message, rendered, piece, *attempt)
            })
            .collect();
        let results: Vec<_> = futures_util::stream::iter(sends)
            .buffer_unordered(IN_FLIGHT)
            .collect()
            .await;
        let mut settled = Vec::new();
        let mut failed = Vec::new();
        for (attempt, message, verdict, took) in results {
            match verdict {
                Verdict::Sent { remote_id } => settled.push((
                    ozontrack_db::Attempted {
                        attempt,
                        message: message.id,
                        outcome: AttemptOutcome::Sent,
                        code: None,
                        took_ms: took,
                    },
                    Settle::Delivered {
                        done: true,
                        remote_id,
                    },
                )),
                other => failed.push((attempt, message, other, took)),
            }
        }
        report.sent += settled.len() as u64;
        self.db.settle_many(&settled, self.wall.now()).await?;
        for (attempt, message, verdict, took) in failed {
            if self
                .settle_failure(
                    attempt,
                    message,
                    destination,
                    verdict,
                    took,
                    &Settle::Dead,
                    report,
                )
                .await?
                == Flow::Stop
            {
                // Disabled or paused: the rest waits for the destination.
                return Ok(Vec::new());
            }
        }
        Ok(careful)
    }

    /// The buyer's message, through the store's Ozon client: a chat is opened once per posting
    /// (only while Ozon lists `can_create_chat`), then each piece sent as plain text.
    async fn deliver_to_buyer(
        &self,
        record: &DestinationRecord,
        message: OutboxMessage,
        templates: &[TemplateRecord],
        report: &mut DispatchReport,
    ) -> Result<Flow, Error> {
        let destination = &record.destination;
        let (Some(alert), Some(syncer)) = (message.notice.alert(), &self.syncer) else {
            let code = "no Ozon client in this process";
            self.settle_now(
                &message,
                AttemptOutcome::Retry,
                code,
                &Settle::Retry {
                    at: self.wall.now() + Duration::minutes(5),
                    dead: false,
                },
            )
            .await?;
            return Ok(Flow::Stop);
        };
        let Some(posting) = self.db.posting_by_id(alert.posting).await? else {
            self.settle_now(
                &message,
                AttemptOutcome::Permanent,
                "no posting",
                &Settle::Skipped,
            )
            .await?;
            return Ok(Flow::Next);
        };
        let Some(store) = self.db.store(posting.posting.store_id).await? else {
            self.settle_now(
                &message,
                AttemptOutcome::Permanent,
                "no store",
                &Settle::Skipped,
            )
            .await?;
            return Ok(Flow::Next);
        };
        let client = syncer.client(&store).await?;
        let chat_id = match self.db.buyer_chat(alert.posting).await? {
            Some(chat) => chat,
            None if !posting.posting.chat_allowed => {
                self.settle_now(
                    &message,
                    AttemptOutcome::Permanent,
                    "can_create_chat absent",
                    &Settle::Skipped,
                )
                .await?;
                return Ok(Flow::Next);
            }
            None => {
                let now = self.wall.now();
                let attempt = self
                    .db
                    .start_attempt(message.id, destination.id, 0, now)
                    .await?;
                match client.start_chat(&posting.posting.number).await {
                    Ok(chat) => {
                        self.db.set_buyer_chat(alert.posting, &chat, now).await?;
                        self.record(
                            attempt,
                            message.id,
                            AttemptOutcome::Sent,
                            Some("chat started"),
                            0,
                            &Settle::Waits,
                        )
                        .await?;
                        chat
                    }
                    Err(e) => {
                        let verdict = classify_ozon(&e, true);
                        return self
                            .settle_failure(
                                attempt,
                                &message,
                                destination,
                                verdict,
                                0,
                                &Settle::Skipped,
                                report,
                            )
                            .await;
                    }
                }
            }
        };
        let Some(rendered) = self
            .render_or_bury(destination, &message, templates, &[], report)
            .await?
        else {
            return Ok(Flow::Next);
        };
        let pieces = ozontrack_notify::pieces(ChannelKind::OzonChat, &rendered, true);
        let total = pieces.len();
        for (part, piece) in pieces.iter().enumerate().skip(message.parts_sent as usize) {
            let attempt = self
                .db
                .start_attempt(
                    message.id,
                    destination.id,
                    u32::try_from(part).unwrap_or(u32::MAX),
                    self.wall.now(),
                )
                .await?;
            let started = Instant::now();
            let sent = client.send_chat_message(&chat_id, &piece.text).await;
            let took = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
            match sent {
                Ok(()) => {
                    let done = part + 1 == total;
                    self.record(
                        attempt,
                        message.id,
                        AttemptOutcome::Sent,
                        None,
                        took,
                        &Settle::Delivered {
                            done,
                            remote_id: Some(chat_id.clone()),
                        },
                    )
                    .await?;
                    if done {
                        report.sent += 1;
                    }
                }
                Err(e) => {
                    let verdict = classify_ozon(&e, false);
                    return self
                        .settle_failure(
                            attempt,
                            &message,
                            destination,
                            verdict,
                            took,
                            &Settle::Skipped,
                            report,
                        )
                        .await;
                }
            }
        }
        Ok(Flow::Next)
    }

    /// Records an outcome that needed no request (a template that failed, a posting gone).
    async fn settle_now(
        &self,
        message: &OutboxMessage,
        outcome: AttemptOutcome,
        code: &str,
        settle: &Settle,
    ) -> Result<(), Error> {
        let now = self.wall.now();
        let attempt = self
            .db
            .start_attempt(message.id, message.destination, message.parts_sent, now)
            .await?;
        self.record(attempt, message.id, outcome, Some(code), 0, settle)
            .await
    }

    /// Records an attempt's outcome on the wall clock.
    async fn record(
        &self,
        attempt: i64,
        message: i64,
        outcome: AttemptOutcome,
        code: Option<&str>,
        took_ms: i64,
        settle: &Settle,
    ) -> Result<(), Error> {
        let attempted = ozontrack_db::Attempted {
            attempt,
            message,
            outcome,
            code,
            took_ms,
        };
        self.db.settle(&attempted, settle, self.wall.now()).await?;
        Ok(())
    }

    /// Disables a destination and tells the seller through the others that take such news.
    async fn disable(
        &self,
        destination: &notify::Destination,
        cause: DisableCause,
    ) -> Result<(), Error> {
        let now = self.wall.now();
        tracing::warn!(
            destination = %destination.name,
            channel = %destination.kind,
            cause = %cause,
            "disabling a destination the service refused"
        );
        let notice = Notice::DestinationDisabled(DisabledNotice {
            destination: destination.id,
            name: destination.name.clone(),
            kind: destination.kind,
            cause,
            at: now,
        });
        let others: Vec<notify::Destination> = self
            .db
            .destinations()
            .await?
            .into_iter()
            .map(|r| r.destination)
            .filter(|d| d.id != destination.id && shares_a_store(d, destination))
            .collect();
        let messages = ozontrack_db::Enqueue {
            destinations: &others,
            at: now,
        }
        .messages(std::slice::from_ref(&notice));
        self.db
            .disable_destination(destination.id, cause, now, &messages)
            .await?;
        Ok(())
    }

    /// A digest's members, each rendered to its title line.
    async fn digest_titles(
        &self,
        record: &DestinationRecord,
        digest: i64,
        templates: &[TemplateRecord],
    ) -> Result<Vec<Rendered>, Error> {
        let mut titles = Vec::new();
        for member in self.db.digest_members(digest).await? {
            if let Some(r) = self
                .render(&record.destination, &member.notice, templates, &[])
                .await?
            {
                titles.push(r);
            }
        }
        Ok(titles)
    }

    /// [`Self::render`], and when even the built-in template fails, the message is given up
    /// (a dead letter naming the template) and `None` returned.
    async fn render_or_bury(
        &self,
        destination: &notify::Destination,
        message: &OutboxMessage,
        templates: &[TemplateRecord],
        members: &[Rendered],
        report: &mut DispatchReport,
    ) -> Result<Option<Rendered>, Error> {
        let rendered = self
            .render(destination, &message.notice, templates, members)
            .await?;
        if rendered.is_none() {
            self.settle_now(
                message,
                AttemptOutcome::Permanent,
                "template",
                &Settle::Dead,
            )
            .await?;
            report.dead += 1;
        }
        Ok(rendered)
    }

    /// Renders a notice for a destination: the seller's template when there is one (the
    /// built-in one if theirs fails), in the destination's language and zone. `None`: even the
    /// built-in template failed.
    async fn render(
        &self,
        destination: &notify::Destination,
        notice: &Notice,
        templates: &[TemplateRecord],
        members: &[Rendered],
    ) -> Result<Option<Rendered>, Error> {
        let audience = destination.kind.audience();
        let extras = self.extras(destination, notice).await?;
        let own = templates.iter().find(|t| {
            t.topic == notice.topic()
                && t.audience == audience
                && t.language == destination.language
        });
        let tz = destination.time_zone;
        if let Some(own) = own {
            match ozontrack_notify::render(
                notice,
                audience,
                destination.language,
                tz,
                &extras,
                Some(&own.body),
                members,
            ) {
                Ok(r) => return Ok(Some(r)),
                Err(e) => tracing::warn!(
                    topic = %notice.topic(),
                    language = %destination.language,
                    error = %e,
                    "the seller's template failed; using the built-in one"
                ),
            }
        }
        match ozontrack_notify::render(
            notice,
            audience,
            destination.language,
            tz,
            &extras,
            None,
            members,
        ) {
            Ok(r) => Ok(Some(r)),
            Err(e) => {
                tracing::error!(topic = %notice.topic(), error = %e, "a built-in template failed");
                Ok(None)
            }
        }
    }

    async fn extras(
        &self,
        destination: &notify::Destination,
        notice: &Notice,
    ) -> Result<Extras, Error> {
        let mut extras = Extras {
            destination_name: destination.name.clone(),
            ..Extras::default()
        };
        if let Some(store) = notice.store() {
            extras.store_name = self.store_name(store).await?;
        }
        let Some(alert) = notice.alert() else {
            return Ok(extras);
        };
        let base = self
            .settings
            .public_url
            .as_deref()
            .map(|u| u.trim_end_matches('/'));
        match destination.kind.audience() {
            Audience::Seller => {
                extras.link =
                    base.map(|b| format!("{b}/postings/{}", alert.posting_number.as_str()));
            }
            Audience::Buyer => {
                if let Some(b) = base {
                    let token = self.db.buyer_token(alert.posting).await?;
                    extras.link = Some(format!("{b}/t/{token}"));
                }
                if let Some(estimates) = &self.estimates
                    && let Some(trail) =
                        crate::trail::read(&self.db, estimates, alert.posting, self.clock.now())
                            .await?
                {
                    extras.estimate = trail.estimate.map(|w| (w.from, w.to));
                }
            }
        }
        Ok(extras)
    }

    /// A store's name, read once per round (a burst names the same stores thousands of times).
    async fn store_name(&self, store: StoreId) -> Result<Option<String>, Error> {
        let known = self
            .store_names
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&store)
            .cloned();
        if let Some(name) = known {
            return Ok(Some(name));
        }
        let name = self
            .db
            .store(store)
            .await?
            .map(|s| s.name.as_str().to_owned());
        if let Some(name) = &name {
            self.store_names
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(store, name.clone());
        }
        Ok(name)
    }

    /// Tells the sellers of feed outages (after `feed_failures` failures in a row) and of the
    /// recovery of those they were told of, once each, whichever dispatcher sees it first.
    async fn watch_feeds(&self, now: DateTime<Utc>) -> Result<(), Error> {
        let news = self.db.feed_news(self.settings.feed_failures).await?;
        if news.is_empty() {
            return Ok(());
        }
        let destinations: Vec<notify::Destination> = self
            .db
            .destinations()
            .await?
            .into_iter()
            .map(|r| r.destination)
            .collect();
        let enqueue = ozontrack_db::Enqueue {
            destinations: &destinations,
            at: now,
        };
        for n in news {
            let (notice, told) = if n.health.failures > 0 {
                let Some(since) = n.down_since else { continue };
                let notice = Notice::FeedDown(FeedNotice {
                    feed: n.health.feed.clone(),
                    since,
                    until: None,
                });
                (notice, Some(since))
            } else {
                let Some(since) = n.told_since else { continue };
                let notice = Notice::FeedRecovered(FeedNotice {
                    feed: n.health.feed.clone(),
                    since,
                    until: n.recovered_at,
                });
                (notice, None)
            };
            let messages = enqueue.messages(std::slice::from_ref(&notice));
            self.db
                .tell_feed(&n.health.feed, n.told_since, told, &messages, now)
                .await?;
        }
        Ok(())
    }

    /// Enqueues each destination's daily summary once its time has come (once per local date;
    /// the key makes a second dispatcher's attempt a no-op).
    async fn schedule_dailies(&self, now: DateTime<Utc>) -> Result<(), Error> {
        let destinations = self.db.destinations().await?;
        let mut due: Vec<(notify::Destination, NaiveDate)> = Vec::new();
        {
            let done = self.dailies.lock().unwrap_or_else(PoisonError::into_inner);
            for r in destinations {
                let d = r.destination;
                if d.state != DestinationState::Active || d.kind.audience() != Audience::Seller {
                    continue;
                }
                if let Some(date) = d.daily_due(now)
                    && done.get(&d.id) != Some(&date)
                {
                    due.push((d, date));
                }
            }
        }
        if due.is_empty() {
            return Ok(());
        }
        let stores = self.db.stores().await?;
        let business_now = self.clock.now();
        for (d, date) in due {
            let empty = Notice::Daily(DailyNotice {
                date,
                stores: Vec::new(),
            });
            if !self.db.has_message(&empty.dedupe_key(d.id)).await? {
                let mut days = Vec::new();
                for s in stores.iter().filter(|s| d.routing.covers(s.id)) {
                    let window = self.rules.for_store(s.id).compliance.points_window_days;
                    days.push(
                        self.db
                            .store_day(
                                s.id,
                                business_now - Duration::hours(24),
                                business_now - Duration::days(window),
                            )
                            .await?,
                    );
                }
                let notice = Notice::Daily(DailyNotice { date, stores: days });
                self.db
                    .enqueue(&[NewMessage::new(d.id, notice)], now)
                    .await?;
            }
            self.dailies
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(d.id, date);
        }
        Ok(())
    }
}

impl<D: Database> Worker for Dispatcher<D> {
    fn name(&self) -> &'static str {
        "notify"
    }

    async fn round(&self) -> bool {
        match self.run_once().await {
            // A destination served may have more waiting (the round reads a bounded number).
            Ok(report) => report.sent + report.digests > 0,
            Err(e) => {
                tracing::warn!(error = %crate::Chain(&e), "notification round failed");
                false
            }
        }
    }
}

fn shares_a_store(a: &notify::Destination, b: &notify::Destination) -> bool {
    a.routing.stores.is_empty()
        || b.routing.stores.is_empty()
        || a.routing
            .stores
            .iter()
            .any(|s| b.routing.stores.contains(s))
}

/// The webhook payload's `type`: `alert.opened`, `feed.down`, `daily`…
fn event_type(topic: Topic) -> String {
    match topic.as_str().split_once('_') {
        Some((a, b)) => format!("{a}.{b}"),
        None => topic.as_str().to_owned(),
    }
}

fn jitter() -> f64 {
    let mut byte = [0u8; 2];
    // Without randomness the retry lands on the schedule itself: still correct.
    if getrandom::fill(&mut byte).is_err() {
        return 0.5;
    }
    f64::from(u16::from_le_bytes(byte)) / 65_536.0
}

/// What an Ozon answer to a buyer-chat call means. `starting`: the call opened the chat (a
/// refusal there means the posting's window has closed).
pub fn classify_ozon(e: &OzonError, starting: bool) -> Verdict {
    match e {
        // Premium Plus or Pro only: Ozon refuses the method itself.
        OzonError::Auth { status: 403, .. } => Verdict::Reconfigure {
            cause: DisableCause::Plan,
            code: "http 403".into(),
        },
        OzonError::Auth { status, .. } => Verdict::Reconfigure {
            cause: DisableCause::BadSignature,
            code: format!("http {status}"),
        },
        OzonError::RateLimited { .. } => Verdict::Retry {
            after: Some(Duration::seconds(1)),
            lockout: false,
            maybe_sent: false,
            code: "http 429".into(),
        },
        OzonError::Unavailable { .. } => Verdict::Retry {
            after: None,
            lockout: false,
            maybe_sent: !starting,
            code: "unavailable".into(),
        },
        OzonError::Rejected { status, code, .. } => Verdict::Permanent {
            plain_may_help: false,
            code: format!("http {status} code {code}"),
        },
    }
}

/// A destination as the surfaces list it: the record, its address read back (and as shown:
/// a buyer chat by its store's name), its counts.
#[derive(Debug, Clone, PartialEq)]
pub struct DestinationView {
    pub record: DestinationRecord,
    pub address: Address,
    pub shown: String,
    pub counts: ozontrack_db::OutboxCounts,
}

/// What adding a destination asks for.
#[derive(Debug, Clone)]
pub struct AddDestination {
    pub name: String,
    pub kind: ChannelKind,
    pub setup: Setup,
    /// For a buyer chat: the store whose buyers it tells (required).
    pub store: Option<StoreId>,
    pub language: Option<Language>,
    pub time_zone: Option<String>,
    pub routing: Routing,
}

/// A destination was added; a webhook secret made for it is shown here, once.
#[derive(Debug)]
pub struct Added {
    pub id: DestinationId,
    pub new_secret: Option<SecretString>,
}

/// Adds a destination: its setup taken apart into the address (kept readable) and the
/// credentials (encrypted).
pub async fn add_destination<D: Database>(
    db: &D,
    add: AddDestination,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Added, Error> {
    let name = add.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 64 {
        return Err(Error::invalid("name", Problem::Length { min: 1, max: 64 }));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::invalid("name", Problem::ControlCharacters));
    }
    let parsed = add.setup.parse(add.kind, add.store).map_err(|e| match e {
        ozontrack_notify::SetupError::Field { field, expected } => Error::invalid(field, expected),
        other => Error::invalid("setup", Problem::Said(other.to_string())),
    })?;
    let mut routing = add.routing;
    if add.kind == ChannelKind::OzonChat {
        let store = add
            .store
            .ok_or_else(|| Error::invalid("store", ozontrack_notify::Expected::Store))?;
        if db.store(store).await?.is_none() {
            return Err(Error::NotFound("store"));
        }
        routing.stores = vec![store];
    }
    let time_zone = known_zone(add.time_zone.as_deref().unwrap_or(default_zone(add.kind)))?;
    let language = add.language.unwrap_or(match add.kind.audience() {
        Audience::Buyer => Language::Ru,
        Audience::Seller => Language::Zh,
    });
    let credentials = parsed.credentials.to_sealable();
    let has_secret = parsed.credentials.token().is_some() || parsed.credentials.signing().is_some();
    let id = db
        .add_destination(
            &NewDestination {
                name: name.clone(),
                kind: add.kind,
                address: serde_json::to_string(&parsed.address).unwrap_or_default(),
                credentials: has_secret.then_some(credentials),
                language,
                time_zone,
                routing,
            },
            now,
        )
        .await
        .map_err(|e| match e {
            DbError::DuplicateDestination(name) => Error::conflict("name", Problem::Taken(name)),
            other => other.into(),
        })?;
    audit::Entry::new(actor, AuditAction::ChannelAdded, now)
        .subject(name)
        .detail(json!({"kind": add.kind.as_str()}))
        .record(db)
        .await;
    Ok(Added {
        id,
        new_secret: parsed.new_secret,
    })
}

fn default_zone(kind: ChannelKind) -> &'static str {
    match kind.audience() {
        Audience::Buyer => "Europe/Moscow",
        Audience::Seller => "Asia/Shanghai",
    }
}

/// Every destination with its address and outbox counts.
pub async fn destinations<D: Database>(db: &D) -> Result<Vec<DestinationView>, Error> {
    let counts = db.outbox_counts().await?;
    let stores = db.stores().await?;
    let mut out = Vec::new();
    for record in db.destinations().await? {
        let address: Address =
            serde_json::from_str(&record.address).map_err(|e| DbError::Corrupt {
                table: "destinations",
                id: record.destination.id.0,
                reason: e.to_string(),
            })?;
        let shown = match &address {
            Address::OzonChat { store } => stores
                .iter()
                .find(|s| s.id == *store)
                .map_or_else(|| address.to_string(), |s| s.name.as_str().to_owned()),
            other => other.to_string(),
        };
        let counts = counts
            .iter()
            .find(|(d, _)| *d == record.destination.id)
            .map(|(_, c)| *c)
            .unwrap_or_default();
        out.push(DestinationView {
            record,
            address,
            shown,
            counts,
        });
    }
    Ok(out)
}

/// A destination by its id or its name.
pub async fn find_destination<D: Database>(db: &D, text: &str) -> Result<DestinationRecord, Error> {
    let text = text.trim();
    let all = db.destinations().await?;
    all.into_iter()
        .find(|r| {
            r.destination.name == text
                || text.parse::<i64>().is_ok_and(|id| id == r.destination.id.0)
        })
        .ok_or(Error::NotFound("destination"))
}

/// Switches a destination off (by hand) or on again.
pub async fn set_enabled<D: Database>(
    db: &D,
    id: DestinationId,
    enabled: bool,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<bool, Error> {
    let Some(record) = db.destination(id).await? else {
        return Err(Error::NotFound("destination"));
    };
    let changed = if enabled {
        db.enable_destination(id, now).await?
    } else {
        db.disable_destination(id, DisableCause::ByUser, now, &[])
            .await?
    };
    if changed {
        audit::Entry::new(actor, AuditAction::ChannelChanged, now)
            .subject(record.destination.name)
            .detail(json!({"enabled": enabled}))
            .record(db)
            .await;
    }
    Ok(changed)
}

/// Removes a destination and its outbox; false when there was none.
pub async fn remove_destination<D: Database>(
    db: &D,
    id: DestinationId,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<bool, Error> {
    let Some(record) = db.destination(id).await? else {
        return Ok(false);
    };
    let removed = db.remove_destination(id).await?;
    if removed {
        audit::Entry::new(actor, AuditAction::ChannelRemoved, now)
            .subject(record.destination.name)
            .record(db)
            .await;
    }
    Ok(removed)
}

/// A change to a destination's routing, language or zone: what is given replaces the
/// destination's, the rest stays. `Some(None)` turns quiet hours or the daily summary off.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RoutingChange {
    pub min_severity: Option<Severity>,
    pub rules: Option<Vec<RuleKind>>,
    pub topics: Option<Vec<Topic>>,
    pub stores: Option<Vec<StoreId>>,
    pub quiet: Option<Option<QuietHours>>,
    pub daily_at: Option<Option<NaiveTime>>,
    pub language: Option<Language>,
    pub time_zone: Option<String>,
}

impl RoutingChange {
    /// `routing` with this change made.
    pub fn applied_to(&self, routing: &Routing) -> Routing {
        let routing = routing.clone();
        Routing {
            min_severity: self.min_severity.unwrap_or(routing.min_severity),
            rules: self.rules.clone().unwrap_or(routing.rules),
            topics: self.topics.clone().unwrap_or(routing.topics),
            stores: self.stores.clone().unwrap_or(routing.stores),
            quiet: self.quiet.unwrap_or(routing.quiet),
            daily_at: self.daily_at.unwrap_or(routing.daily_at),
        }
    }
}

/// Changes a destination's routing, language or zone in one read and one write. A buyer chat
/// stays with its store whatever the change says.
pub async fn update_routing<D: Database>(
    db: &D,
    id: DestinationId,
    change: RoutingChange,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    let Some(record) = db.destination(id).await? else {
        return Err(Error::NotFound("destination"));
    };
    let current = &record.destination;
    let mut routing = change.applied_to(&current.routing);
    if current.kind == ChannelKind::OzonChat {
        routing.stores = current.routing.stores.clone();
    }
    let time_zone = match change.time_zone {
        Some(zone) => known_zone(&zone)?,
        None => current.time_zone.name().to_owned(),
    };
    let language = change.language.unwrap_or(current.language);
    db.update_destination(id, &routing, language, &time_zone, now)
        .await?;
    audit::Entry::new(actor, AuditAction::ChannelChanged, now)
        .subject(current.name.clone())
        .detail(json!({
            "routing": serde_json::to_value(&routing).unwrap_or_default(),
            "language": language.as_str(),
            "time_zone": time_zone,
        }))
        .record(db)
        .await;
    Ok(())
}

/// `zone` when it is an IANA time zone name.
fn known_zone(zone: &str) -> Result<String, Error> {
    let zone = zone.trim().to_owned();
    if zone.parse::<chrono_tz::Tz>().is_err() {
        return Err(Error::invalid("time_zone", Problem::UnknownZone(zone)));
    }
    Ok(zone)
}

/// Enqueues a test message for a destination. The caller then lets a dispatcher serve it
/// ([`Dispatcher::serve_now`]) and reads the outcome with [`message`].
pub async fn enqueue_test<D: Database>(
    db: &D,
    id: DestinationId,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<i64, Error> {
    let Some(record) = db.destination(id).await? else {
        return Err(Error::NotFound("destination"));
    };
    if record.destination.kind == ChannelKind::OzonChat {
        return Err(Error::conflict("destination", Problem::BuyerChatTest));
    }
    let nonce = crate::access::random_secret()[..12].to_owned();
    let notice = Notice::Test(TestNotice {
        destination: id,
        nonce,
        by: actor.as_str().chars().take(64).collect(),
        at: now,
    });
    let message = NewMessage::new(id, notice);
    let key = message.key();
    db.enqueue(&[message], now).await?;
    let found = db
        .outbox(&OutboxFilter {
            destination: Some(id),
            limit: 20,
            ..OutboxFilter::default()
        })
        .await?
        .into_iter()
        .find(|m| m.key == key)
        .ok_or(Error::NotFound("message"))?;
    audit::Entry::new(actor, AuditAction::ChannelTested, now)
        .subject(record.destination.name)
        .record(db)
        .await;
    crate::wake_others(db, ozontrack_db::Wake::Outbox).await;
    Ok(found.id)
}

/// A message and its attempts.
pub async fn message<D: Database>(
    db: &D,
    id: i64,
) -> Result<(OutboxMessage, Vec<ozontrack_db::AttemptRecord>), Error> {
    let message = db.message(id).await?.ok_or(Error::NotFound("message"))?;
    let attempts = db.attempts(id).await?;
    Ok((message, attempts))
}

/// Puts a failed message back in the queue.
pub async fn retry<D: Database>(
    db: &D,
    id: i64,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    let message = db.message(id).await?.ok_or(Error::NotFound("message"))?;
    if !db.retry_message(id, now).await? {
        return Err(Error::conflict(
            "message",
            Problem::NotRetryable(message.state),
        ));
    }
    audit::Entry::new(actor, AuditAction::MessageRetried, now)
        .subject(format!("#{id}"))
        .record(db)
        .await;
    crate::wake_others(db, ozontrack_db::Wake::Outbox).await;
    Ok(())
}

/// Sends every message that waits for a retry now, not at its backoff's end: for after an outage
/// of a destination (or of the network) is mended. Quiet hours and a service's lockout still
/// hold, and so do the rate limits. Returns how many messages were moved.
pub async fn send_waiting<D: Database>(
    db: &D,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<u64, Error> {
    let moved = db.send_waiting_now(now).await?;
    if moved > 0 {
        audit::Entry::new(actor, AuditAction::MessageRetried, now)
            .detail(json!({"waiting": moved}))
            .record(db)
            .await;
        crate::wake_others(db, ozontrack_db::Wake::Outbox).await;
    }
    Ok(moved)
}

/// How a message would read: any topic, for a posting (its latest alert speaks for the alert
/// topics), in any language, for either audience, with the seller's template if they have one.
pub async fn preview<D: Database>(
    db: &D,
    posting: Option<(PostingId, StoreId)>,
    topic: Topic,
    audience: Audience,
    language: Language,
    tz: chrono_tz::Tz,
    now: DateTime<Utc>,
) -> Result<Rendered, Error> {
    let notice = sample_notice(db, posting, topic, now).await?;
    let template = db
        .templates()
        .await?
        .into_iter()
        .find(|t| t.topic == topic && t.audience == audience && t.language == language)
        .map(|t| t.body);
    let mut extras = Extras {
        destination_name: "preview".into(),
        ..Extras::default()
    };
    if let Some((_, store)) = posting {
        extras.store_name = db.store(store).await?.map(|s| s.name.as_str().to_owned());
    }
    let members = if topic == Topic::Digest {
        vec![
            Rendered {
                title: "…".into(),
                lines: Vec::new(),
            };
            2
        ]
    } else {
        Vec::new()
    };
    ozontrack_notify::render(
        &notice,
        audience,
        language,
        tz,
        &extras,
        template.as_deref(),
        &members,
    )
    .map_err(|e| Error::invalid("template", Problem::Said(e.to_string())))
}

/// `notice` as the alert topic's message.
fn alert_notice(topic: Topic, notice: AlertNotice) -> Notice {
    match topic {
        Topic::AlertOpened => Notice::AlertOpened(notice),
        Topic::AlertEscalated => Notice::AlertEscalated(notice),
        _ => Notice::AlertResolved(AlertNotice {
            resolution: notice
                .resolution
                .or(Some(ozontrack_domain::alert::Resolution::Moved)),
            ..notice
        }),
    }
}

/// A parcel silent for 50 hours after a sorting scan, on an example posting: what a preview
/// shows when no posting is named (and what tests start their notices from).
pub fn example_alert(now: DateTime<Utc>) -> AlertNotice {
    use ozontrack_domain::finding::{Action, Reason};
    AlertNotice {
        alert: 0,
        store: StoreId(0),
        posting: PostingId(0),
        posting_number: ozontrack_domain::PostingNumber::parse("0123456789-0001-1")
            // A fixed number of the documented shape.
            .expect("the example posting number parses"),
        rule: RuleKind::Stale,
        severity: Severity::Warning,
        leg: Some("UG123456789YP".into()),
        reason: Some(Reason::Stale {
            quiet_hours: 50,
            threshold_hours: 48,
            allowance_hours: 0,
            learned: None,
            last: None,
        }),
        actions: vec![Action::ContactCarrier, Action::NotifyBuyer],
        resolution: None,
        at: now,
    }
}

async fn sample_notice<D: Database>(
    db: &D,
    posting: Option<(PostingId, StoreId)>,
    topic: Topic,
    now: DateTime<Utc>,
) -> Result<Notice, Error> {
    use ozontrack_domain::notify::{PenaltyLevel, PenaltyNotice, StoreDay};
    let alert_topic = matches!(
        topic,
        Topic::AlertOpened | Topic::AlertEscalated | Topic::AlertResolved
    );
    if alert_topic {
        let Some((posting, _)) = posting else {
            // No posting named: how such a message reads, told of an example parcel.
            return Ok(alert_notice(topic, example_alert(now)));
        };
        let filter = ozontrack_db::AlertFilter {
            posting: Some(posting),
            limit: 1,
            ..ozontrack_db::AlertFilter::default()
        };
        let alert = db
            .alerts(&filter)
            .await?
            .pop()
            .ok_or_else(|| Error::invalid("posting", Problem::NothingToTell))?;
        let notice = AlertNotice {
            alert: alert.id,
            store: alert.store_id,
            posting: alert.posting_id,
            posting_number: alert.posting_number,
            rule: alert.rule,
            severity: alert.severity,
            leg: alert.leg,
            reason: match alert.why {
                ozontrack_domain::finding::Why::Reason(r) => Some(r),
                ozontrack_domain::finding::Why::Legacy(_) => None,
            },
            actions: alert.actions,
            resolution: alert.resolution,
            at: alert.updated_at,
        };
        return Ok(alert_notice(topic, notice));
    }
    let store = posting.map(|(_, s)| s);
    Ok(match topic {
        Topic::Daily => {
            let mut stores = Vec::new();
            for s in db.stores().await? {
                if store.is_none_or(|want| want == s.id) {
                    stores.push(
                        db.store_day(s.id, now - Duration::hours(24), now - Duration::days(90))
                            .await?,
                    );
                }
            }
            if stores.is_empty() {
                stores.push(StoreDay {
                    store: StoreId(0),
                    store_name: "—".into(),
                    open: [0; 4],
                    opened: 0,
                    resolved: 0,
                    penalty_points: 0,
                });
            }
            Notice::Daily(DailyNotice {
                date: now.date_naive(),
                stores,
            })
        }
        Topic::Penalty => Notice::Penalty(PenaltyNotice {
            store: store.unwrap_or(StoreId(0)),
            level: PenaltyLevel::Warning,
            total: 12,
            threshold: 12,
            window_days: 90,
            at: now,
        }),
        Topic::FeedDown | Topic::FeedRecovered => {
            let notice = FeedNotice {
                feed: "17track".into(),
                since: now - Duration::hours(3),
                until: Some(now),
            };
            if topic == Topic::FeedDown {
                Notice::FeedDown(FeedNotice {
                    until: None,
                    ..notice
                })
            } else {
                Notice::FeedRecovered(notice)
            }
        }
        Topic::DestinationDisabled => Notice::DestinationDisabled(DisabledNotice {
            destination: DestinationId(0),
            name: "ops".into(),
            kind: ChannelKind::Dingtalk,
            cause: DisableCause::BadSignature,
            at: now,
        }),
        Topic::Digest => Notice::Digest(DigestNotice {
            count: 2,
            quiet: false,
        }),
        _ => Notice::Test(TestNotice {
            destination: DestinationId(0),
            nonce: "preview".into(),
            by: "preview".into(),
            at: now,
        }),
    })
}

/// Saves a seller's template after checking that it parses and renders.
pub async fn set_template<D: Database>(
    db: &D,
    topic: Topic,
    audience: Audience,
    language: Language,
    body: &str,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    if body.trim().is_empty() || body.chars().count() > 20_000 {
        return Err(Error::invalid(
            "template",
            Problem::Length {
                min: 1,
                max: 20_000,
            },
        ));
    }
    ozontrack_notify::render::check(body)
        .map_err(|e| Error::invalid("template", Problem::Said(e.to_string())))?;
    db.set_template(&TemplateRecord {
        topic,
        audience,
        language,
        body: body.to_owned(),
        updated_at: now,
        updated_by: Some(actor.as_str().chars().take(64).collect()),
    })
    .await?;
    audit::Entry::new(actor, AuditAction::TemplateChanged, now)
        .subject(format!(
            "{}/{}/{}",
            topic.as_str(),
            audience.as_str(),
            language.as_str()
        ))
        .record(db)
        .await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_routing_change_replaces_what_it_gives_and_can_turn_quiet_hours_off() {
        let nine = NaiveTime::from_hms_opt(9, 0, 0).unwrap();
        let current = Routing {
            min_severity: Severity::HighRisk,
            rules: vec![RuleKind::Stale],
            quiet: Some(QuietHours {
                from: NaiveTime::from_hms_opt(22, 0, 0).unwrap(),
                until: nine,
            }),
            ..Routing::default()
        };
        let untouched = RoutingChange::default().applied_to(&current);
        assert_eq!(untouched, current);
        let changed = RoutingChange {
            min_severity: Some(Severity::Critical),
            quiet: Some(None),
            daily_at: Some(Some(nine)),
            ..RoutingChange::default()
        }
        .applied_to(&current);
        assert_eq!(changed.min_severity, Severity::Critical);
        assert_eq!(changed.rules, vec![RuleKind::Stale]);
        assert_eq!(changed.quiet, None);
        assert_eq!(changed.daily_at, Some(nine));
    }
}
