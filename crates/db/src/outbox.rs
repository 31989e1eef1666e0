//! Notifications at rest: destinations (their address as JSON, their credentials encrypted like
//! Ozon keys), the outbox of messages with every attempt to send them, the seller's templates,
//! and the buyer chats Ozon opened.
//!
//! A message is written in the transaction of the change that implies it ([`enqueue!`], used
//! by `apply_risk` and the others here), keyed by its deterministic `dedupe_key`, so applying a
//! change twice enqueues once. Dispatchers lease whole destinations (lease columns on the row,
//! `next_check_at` = the earliest message due): one dispatcher at a time sends to a destination,
//! and the rate windows are counted from the attempts table, so they hold across restarts and
//! across processes. An attempt is recorded *before* its request leaves: a crash after sending
//! still counts against the limit.

use std::future::Future;

use chrono::{DateTime, Utc};
use ozontrack_domain::notify::{
    AttemptOutcome, Audience, ChannelKind, Destination, DestinationState, DisableCause,
    MessageState, Notice, Routing, StoreDay, Topic,
};
use ozontrack_domain::{DestinationId, Language, PostingId, StoreId};
use secrecy::{ExposeSecret, SecretString};

use crate::leases::LeaseOwner;
use crate::sql::{BeginWrite, Db, SqlDatabase};
use crate::{DbError, FeedHealth};

/// A destination to add.
#[derive(Debug, Clone)]
pub struct NewDestination {
    pub name: String,
    pub kind: ChannelKind,
    /// The channel's address, as JSON (`notify::Address`).
    pub address: String,
    /// The channel's credentials, as JSON (`notify::Credentials`), to be encrypted.
    pub credentials: Option<SecretString>,
    pub language: Language,
    pub time_zone: String,
    pub routing: Routing,
}

/// A stored destination.
#[derive(Debug, Clone, PartialEq)]
pub struct DestinationRecord {
    pub destination: Destination,
    /// The channel's address, as JSON.
    pub address: String,
    pub has_credentials: bool,
    pub disabled_at: Option<DateTime<Utc>>,
    /// Every message waits until then (a service's lock-out or Retry-After).
    pub blocked_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Who hears of the alert changes a round applies: the destinations as they were read for the
/// round, and the wall-clock time their messages are due (the rules may run on simulated
/// time; sending never does).
#[derive(Debug, Clone, Copy)]
pub struct Enqueue<'a> {
    pub destinations: &'a [Destination],
    pub at: DateTime<Utc>,
}

impl Enqueue<'static> {
    /// No destinations: the changes imply no messages.
    pub fn nobody(at: DateTime<Utc>) -> Self {
        Self {
            destinations: &[],
            at,
        }
    }
}

impl Enqueue<'_> {
    /// The messages `notices` imply: one per notice and destination that accepts it.
    pub fn messages(&self, notices: &[Notice]) -> Vec<NewMessage> {
        notices
            .iter()
            .flat_map(|n| {
                self.destinations
                    .iter()
                    .filter(|d| d.accepts(n))
                    .map(|d| NewMessage::new(d.id, n.clone()))
            })
            .collect()
    }
}

/// A message to enqueue.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMessage {
    pub destination: DestinationId,
    pub notice: Notice,
    /// The key; `None`: the notice's own ([`Notice::dedupe_key`]).
    pub key: Option<String>,
}

impl NewMessage {
    pub fn new(destination: DestinationId, notice: Notice) -> Self {
        Self {
            destination,
            notice,
            key: None,
        }
    }

    pub fn key(&self) -> String {
        self.key
            .clone()
            .unwrap_or_else(|| self.notice.dedupe_key(self.destination))
    }
}

/// A message in the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxMessage {
    pub id: i64,
    pub destination: DestinationId,
    pub key: String,
    pub notice: Notice,
    pub state: MessageState,
    /// Failed attempts so far.
    pub attempts: u32,
    /// Pieces of a long message already delivered.
    pub parts_sent: u32,
    /// To be sent as plain text (its markup was refused once).
    pub plain: bool,
    /// Held back by quiet hours.
    pub held: bool,
    pub next_attempt_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    /// The digest it went out in.
    pub coalesced_into: Option<i64>,
    pub last_outcome: Option<AttemptOutcome>,
    /// The service's error code or HTTP status of the last attempt.
    pub last_code: Option<String>,
    pub remote_id: Option<String>,
}

/// The ids of `messages` that reached their receiver: sent themselves, or coalesced into a
/// digest that was sent (the digest among `messages`).
pub fn reached(messages: &[OutboxMessage]) -> std::collections::HashSet<i64> {
    let sent: std::collections::HashSet<i64> = messages
        .iter()
        .filter(|m| m.state == MessageState::Sent)
        .map(|m| m.id)
        .collect();
    messages
        .iter()
        .filter(|m| match m.state {
            MessageState::Sent => true,
            MessageState::Coalesced => m.coalesced_into.is_some_and(|d| sent.contains(&d)),
            _ => false,
        })
        .map(|m| m.id)
        .collect()
}

/// One attempt to send a message (a piece of it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRecord {
    pub id: i64,
    pub message: i64,
    pub at: DateTime<Utc>,
    pub part: u32,
    pub outcome: AttemptOutcome,
    pub code: Option<String>,
    pub took_ms: Option<i64>,
}

/// Which messages to list.
#[derive(Debug, Clone, Default)]
pub struct OutboxFilter {
    pub destination: Option<DestinationId>,
    /// Only these states; empty: all.
    pub states: Vec<MessageState>,
    /// Only messages older than this id (the next page, newest first).
    pub before: Option<i64>,
    /// At most this many; 0: 100.
    pub limit: u32,
}

/// An attempt and what the service said to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempted<'a> {
    pub attempt: i64,
    pub message: i64,
    pub outcome: AttemptOutcome,
    /// The service's error code or HTTP status.
    pub code: Option<&'a str>,
    pub took_ms: i64,
}

/// What an attempt came to, for the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settle {
    /// A piece was delivered; `done`: it was the last.
    Delivered {
        done: bool,
        remote_id: Option<String>,
    },
    /// Try again at `at` (`dead`: out of attempts, give up instead).
    Retry { at: DateTime<Utc>, dead: bool },
    /// Send again at once as plain text.
    Plain,
    /// Given up: refused for good.
    Dead,
    /// Not for sending after all.
    Skipped,
    /// The destination is misconfigured: the message waits for it to be fixed.
    Waits,
}

/// A stored template of the seller's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateRecord {
    pub topic: Topic,
    pub audience: Audience,
    pub language: Language,
    pub body: String,
    pub updated_at: DateTime<Utc>,
    pub updated_by: Option<String>,
}

/// A feed the sellers should hear about: down since `down_since` (not yet told), or back
/// from an outage they were told of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedNews {
    pub health: FeedHealth,
    pub down_since: Option<DateTime<Utc>>,
    pub recovered_at: Option<DateTime<Utc>>,
    pub told_since: Option<DateTime<Utc>>,
}

/// How many of a destination's messages are in each state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OutboxCounts {
    pub pending: u64,
    pub sent: u64,
    pub coalesced: u64,
    pub dead: u64,
    pub skipped: u64,
}

/// Notifications: destinations, the outbox, attempts, templates, buyer chats.
pub trait Outbox: Clone + Send + Sync + 'static {
    fn add_destination(
        &self,
        new: &NewDestination,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<DestinationId, DbError>> + Send;

    /// Every destination, enabled or not, by id.
    fn destinations(&self) -> impl Future<Output = Result<Vec<DestinationRecord>, DbError>> + Send;

    fn destination(
        &self,
        id: DestinationId,
    ) -> impl Future<Output = Result<Option<DestinationRecord>, DbError>> + Send;

    /// The destination's credentials JSON, decrypted.
    fn destination_credentials(
        &self,
        id: DestinationId,
    ) -> impl Future<Output = Result<Option<SecretString>, DbError>> + Send;

    /// Changes what a destination receives, in which language and zone.
    fn update_destination(
        &self,
        id: DestinationId,
        routing: &Routing,
        language: Language,
        time_zone: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, DbError>> + Send;

    /// Replaces a destination's address (a Telegram chat that moved).
    fn set_destination_address(
        &self,
        id: DestinationId,
        address: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), DbError>> + Send;

    /// Disables an active destination and, in the same transaction, enqueues `notices` (the
    /// seller told through the other destinations). False when it was not active.
    fn disable_destination(
        &self,
        id: DestinationId,
        cause: DisableCause,
        now: DateTime<Utc>,
        notices: &[NewMessage],
    ) -> impl Future<Output = Result<bool, DbError>> + Send;

    /// Enables a destination; its waiting messages are due at once.
    fn enable_destination(
        &self,
        id: DestinationId,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, DbError>> + Send;

    /// Removes a destination and its messages.
    fn remove_destination(
        &self,
        id: DestinationId,
    ) -> impl Future<Output = Result<bool, DbError>> + Send;

    /// Enqueues messages (those whose key is already in the outbox are skipped) due at `now`,
    /// and makes their destinations due. Returns how many were new.
    fn enqueue(
        &self,
        messages: &[NewMessage],
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<u64, DbError>> + Send;

    /// Whether a message with this key exists.
    fn has_message(&self, key: &str) -> impl Future<Output = Result<bool, DbError>> + Send;

    /// A destination's pending messages due by `now`, oldest first.
    fn due_messages(
        &self,
        destination: DestinationId,
        now: DateTime<Utc>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<OutboxMessage>, DbError>> + Send;

    /// The messages a digest carries, oldest first.
    fn digest_members(
        &self,
        digest: i64,
    ) -> impl Future<Output = Result<Vec<OutboxMessage>, DbError>> + Send;

    /// When a destination's attempts since `since` began (every attempt counts, failed ones
    /// too: the service counted them).
    fn recent_attempts(
        &self,
        destination: DestinationId,
        since: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<DateTime<Utc>>, DbError>> + Send;

    /// Records that a piece is being sent, before it is.
    fn start_attempt(
        &self,
        message: i64,
        destination: DestinationId,
        part: u32,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<i64, DbError>> + Send;

    /// [`Outbox::start_attempt`] for several messages, in one transaction; their ids in order.
    fn start_attempts(
        &self,
        attempts: &[(i64, DestinationId, u32)],
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<i64>, DbError>> + Send;

    /// [`Outbox::settle`] for several attempts, in one transaction.
    fn settle_many(
        &self,
        settled: &[(Attempted<'_>, Settle)],
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), DbError>> + Send;

    /// Records an attempt's outcome and moves its message accordingly, in one transaction.
    fn settle(
        &self,
        attempt: &Attempted<'_>,
        settle: &Settle,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), DbError>> + Send;

    /// Gathers `members` (pending messages of `digest.destination`) into a new digest message,
    /// in one transaction; returns the digest's id.
    fn coalesce(
        &self,
        members: &[i64],
        digest: &NewMessage,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<i64, DbError>> + Send;

    /// Holds messages until quiet hours end.
    fn hold(
        &self,
        ids: &[i64],
        until: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), DbError>> + Send;

    /// Every message of the destination waits until `until`.
    fn block_destination(
        &self,
        id: DestinationId,
        until: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), DbError>> + Send;

    /// Gives up `owner`'s lease on a destination; it is next due when its earliest pending
    /// message is (and not before a block ends). Computed in the same statement, so a message
    /// enqueued meanwhile is never missed.
    fn release_destination(
        &self,
        id: DestinationId,
        owner: &LeaseOwner,
    ) -> impl Future<Output = Result<bool, DbError>> + Send;

    /// Messages by the filter, newest first.
    fn outbox(
        &self,
        filter: &OutboxFilter,
    ) -> impl Future<Output = Result<Vec<OutboxMessage>, DbError>> + Send;

    fn message(
        &self,
        id: i64,
    ) -> impl Future<Output = Result<Option<OutboxMessage>, DbError>> + Send;

    fn attempts(
        &self,
        message: i64,
    ) -> impl Future<Output = Result<Vec<AttemptRecord>, DbError>> + Send;

    /// Each destination's messages by state.
    fn outbox_counts(
        &self,
    ) -> impl Future<Output = Result<Vec<(DestinationId, OutboxCounts)>, DbError>> + Send;

    /// Puts a dead (or skipped) message back in the queue, due at `now`. False when it is not
    /// dead or skipped.
    fn retry_message(
        &self,
        id: i64,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, DbError>> + Send;

    /// Makes every pending message that waits for its next attempt (a backoff, not quiet hours)
    /// due at `now`, and its destination due unless the service locked it out: after an outage
    /// is mended, what waited goes out at once. The rate windows still hold (they are counted
    /// from the attempts). Returns how many messages were moved.
    fn send_waiting_now(
        &self,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<u64, DbError>> + Send;

    fn templates(&self) -> impl Future<Output = Result<Vec<TemplateRecord>, DbError>> + Send;

    fn set_template(
        &self,
        template: &TemplateRecord,
    ) -> impl Future<Output = Result<(), DbError>> + Send;

    fn remove_template(
        &self,
        topic: Topic,
        audience: Audience,
        language: Language,
    ) -> impl Future<Output = Result<bool, DbError>> + Send;

    /// The buyer chat Ozon opened for a posting.
    fn buyer_chat(
        &self,
        posting: PostingId,
    ) -> impl Future<Output = Result<Option<String>, DbError>> + Send;

    fn set_buyer_chat(
        &self,
        posting: PostingId,
        chat_id: &str,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), DbError>> + Send;

    /// A store's day for the daily summary: open alerts by severity, alerts opened and
    /// resolved since `since`, penalty points since `window_since`.
    fn store_day(
        &self,
        store: StoreId,
        since: DateTime<Utc>,
        window_since: DateTime<Utc>,
    ) -> impl Future<Output = Result<StoreDay, DbError>> + Send;

    /// Feeds with an outage the sellers have not been told of (failing at least `failures`
    /// times in a row), or back from one they were told of.
    fn feed_news(
        &self,
        failures: i64,
    ) -> impl Future<Output = Result<Vec<FeedNews>, DbError>> + Send;

    /// Records that the sellers were told of a feed's outage (`told_since`: its start) or of
    /// its recovery (`None`), enqueueing `messages` in the same transaction. False (nothing
    /// written) when another process told them first.
    fn tell_feed(
        &self,
        feed: &str,
        expected_told: Option<DateTime<Utc>>,
        told_since: Option<DateTime<Utc>>,
        messages: &[NewMessage],
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, DbError>> + Send;
}

/// Inserts `&[NewMessage]` through `$exec` (skipping keys already there), due at `$now`, and
/// makes their active destinations due no later than `$now`; evaluates to how many were new.
macro_rules! enqueue {
    ($exec:expr, $messages:expr, $now:expr) => {{
        let messages: &[$crate::outbox::NewMessage] = $messages;
        let now: chrono::DateTime<chrono::Utc> = $now;
        let mut inserted: u64 = 0;
        let mut destinations: Vec<i64> = Vec::new();
        for chunk in messages.chunks($crate::sql::ROWS_PER_STATEMENT / 2) {
            let mut query = sqlx::QueryBuilder::new(
                "INSERT INTO outbox (destination_id, dedupe_key, topic, store_id, posting_id, \
                 notice, state, next_attempt_at, created_at) ",
            );
            query.push_values(chunk, |mut row, m| {
                row.push_bind(m.destination.0)
                    .push_bind(m.key())
                    .push_bind(m.notice.topic().as_str())
                    .push_bind(m.notice.store().map(|s| s.0))
                    .push_bind(m.notice.posting().map(|p| p.0))
                    .push_bind($crate::outbox::notice_json(&m.notice))
                    .push_bind("pending")
                    .push_bind(now)
                    .push_bind(now);
            });
            query.push(" ON CONFLICT (dedupe_key) DO NOTHING RETURNING destination_id");
            let rows: Vec<i64> = query
                .build_query_scalar::<i64>()
                .fetch_all(&mut *$exec)
                .await?;
            inserted += rows.len() as u64;
            destinations.extend(rows);
        }
        destinations.sort_unstable();
        destinations.dedup();
        for d in destinations {
            sqlx::query(
                "UPDATE destinations SET next_check_at = $1 WHERE id = $2 AND state = 'active' \
                 AND (next_check_at IS NULL OR next_check_at > $1)",
            )
            .bind(now)
            .bind(d)
            .execute(&mut *$exec)
            .await?;
        }
        inserted
    }};
}

/// The statement that moves a message after an attempt, with its time and remote id; `$1`
/// outcome, `$2` code, `$3` time, `$4` remote id, `$5` message. `last_*` always records the
/// attempt.
fn settle_statement(
    settle: &Settle,
    now: DateTime<Utc>,
) -> (&'static str, Option<DateTime<Utc>>, Option<&str>) {
    match settle {
        Settle::Delivered {
            done: true,
            remote_id,
        } => (
            "UPDATE outbox SET state = 'sent', parts_sent = parts_sent + 1, sent_at = $3, \
             remote_id = COALESCE($4, remote_id), last_outcome = $1, last_code = $2 WHERE id = $5",
            Some(now),
            remote_id.as_deref(),
        ),
        Settle::Delivered {
            done: false,
            remote_id,
        } => (
            "UPDATE outbox SET parts_sent = parts_sent + 1, last_outcome = $1, last_code = $2, \
             remote_id = COALESCE($4, remote_id), next_attempt_at = COALESCE($3, next_attempt_at) \
             WHERE id = $5",
            Some(now),
            remote_id.as_deref(),
        ),
        Settle::Retry { at, dead: false } => (
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $3, last_outcome = $1, \
             last_code = $2, remote_id = COALESCE($4, remote_id) WHERE id = $5",
            Some(*at),
            None,
        ),
        Settle::Retry { dead: true, .. } | Settle::Dead => (
            "UPDATE outbox SET state = 'dead', attempts = attempts + 1, last_outcome = $1, \
             last_code = $2, next_attempt_at = COALESCE($3, next_attempt_at), \
             remote_id = COALESCE($4, remote_id) WHERE id = $5",
            None,
            None,
        ),
        Settle::Plain => (
            "UPDATE outbox SET plain = TRUE, last_outcome = $1, last_code = $2, \
             next_attempt_at = COALESCE($3, next_attempt_at), \
             remote_id = COALESCE($4, remote_id) WHERE id = $5",
            None,
            None,
        ),
        Settle::Skipped => (
            "UPDATE outbox SET state = 'skipped', last_outcome = $1, last_code = $2, \
             next_attempt_at = COALESCE($3, next_attempt_at), \
             remote_id = COALESCE($4, remote_id) WHERE id = $5",
            None,
            None,
        ),
        Settle::Waits => (
            "UPDATE outbox SET last_outcome = $1, last_code = $2, \
             next_attempt_at = COALESCE($3, next_attempt_at), \
             remote_id = COALESCE($4, remote_id) WHERE id = $5",
            None,
            None,
        ),
    }
}

/// A notice as stored: plain data, so serializing it cannot fail.
pub(crate) fn notice_json(notice: &Notice) -> String {
    serde_json::to_string(notice).unwrap_or_default()
}

#[derive(sqlx::FromRow)]
struct DestinationRow {
    id: i64,
    name: String,
    kind: String,
    address: String,
    has_secret: bool,
    language: String,
    time_zone: String,
    routing: String,
    state: String,
    disabled_cause: Option<String>,
    disabled_at: Option<DateTime<Utc>>,
    blocked_until: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

const DESTINATION_SELECT: &str = "SELECT id, name, kind, address, \
     (secret_enc IS NOT NULL) AS has_secret, language, time_zone, routing, state, \
     disabled_cause, disabled_at, blocked_until, created_at, updated_at FROM destinations";

fn corrupt(table: &'static str, id: i64, reason: impl std::fmt::Display) -> DbError {
    DbError::Corrupt {
        table,
        id,
        reason: reason.to_string(),
    }
}

impl TryFrom<DestinationRow> for DestinationRecord {
    type Error = DbError;
    fn try_from(row: DestinationRow) -> Result<Self, DbError> {
        let bad = |e: &dyn std::fmt::Display| corrupt("destinations", row.id, e);
        let destination = Destination {
            id: DestinationId(row.id),
            name: row.name,
            kind: ChannelKind::parse(&row.kind).map_err(|e| bad(&e))?,
            language: Language::parse(&row.language).map_err(|e| bad(&e))?,
            time_zone: row
                .time_zone
                .parse()
                .map_err(|_| bad(&format!("unknown time zone {:?}", row.time_zone)))?,
            routing: serde_json::from_str(&row.routing).map_err(|e| bad(&e))?,
            state: DestinationState::parse(&row.state).map_err(|e| bad(&e))?,
            disabled: row
                .disabled_cause
                .as_deref()
                .map(DisableCause::parse)
                .transpose()
                .map_err(|e| bad(&e))?,
        };
        Ok(DestinationRecord {
            destination,
            address: row.address,
            has_credentials: row.has_secret,
            disabled_at: row.disabled_at,
            blocked_until: row.blocked_until,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct MessageRow {
    id: i64,
    destination_id: i64,
    dedupe_key: String,
    notice: String,
    state: String,
    attempts: i64,
    parts_sent: i64,
    plain: bool,
    held: bool,
    next_attempt_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
    sent_at: Option<DateTime<Utc>>,
    coalesced_into: Option<i64>,
    last_outcome: Option<String>,
    last_code: Option<String>,
    remote_id: Option<String>,
}

const MESSAGE_SELECT: &str = "SELECT id, destination_id, dedupe_key, notice, state, attempts, \
     parts_sent, plain, held, next_attempt_at, created_at, sent_at, coalesced_into, \
     last_outcome, last_code, remote_id FROM outbox";

impl TryFrom<MessageRow> for OutboxMessage {
    type Error = DbError;
    fn try_from(row: MessageRow) -> Result<Self, DbError> {
        let bad = |e: &dyn std::fmt::Display| corrupt("outbox", row.id, e);
        Ok(OutboxMessage {
            id: row.id,
            destination: DestinationId(row.destination_id),
            key: row.dedupe_key,
            notice: serde_json::from_str(&row.notice).map_err(|e| bad(&e))?,
            state: MessageState::parse(&row.state).map_err(|e| bad(&e))?,
            attempts: u32::try_from(row.attempts).unwrap_or(0),
            parts_sent: u32::try_from(row.parts_sent).unwrap_or(0),
            plain: row.plain,
            held: row.held,
            next_attempt_at: row.next_attempt_at,
            created_at: row.created_at,
            sent_at: row.sent_at,
            coalesced_into: row.coalesced_into,
            last_outcome: row
                .last_outcome
                .as_deref()
                .map(AttemptOutcome::parse)
                .transpose()
                .map_err(|e| bad(&e))?,
            last_code: row.last_code,
            remote_id: row.remote_id,
        })
    }
}

/// The context the credentials are sealed under: their destination's name, so a sealed value
/// copied to another row does not open.
fn context_of(name: &str) -> Vec<u8> {
    format!("destination:{name}").into_bytes()
}

impl Outbox for SqlDatabase {
    async fn add_destination(
        &self,
        new: &NewDestination,
        now: DateTime<Utc>,
    ) -> Result<DestinationId, DbError> {
        let sealed = new.credentials.as_ref().map(|c| {
            self.cipher
                .encrypt(c.expose_secret().as_bytes(), &context_of(&new.name))
        });
        let routing = serde_json::to_string(&new.routing).unwrap_or_default();
        let sql = "INSERT INTO destinations (name, kind, address, secret_enc, language, time_zone, \
                   routing, state, created_at, updated_at) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7, 'active', $8, $8) RETURNING id";
        let result = on_db!(&self.db, |pool| {
            sqlx::query_scalar::<_, i64>(sql)
                .bind(&new.name)
                .bind(new.kind.as_str())
                .bind(&new.address)
                .bind(sealed.as_deref())
                .bind(new.language.as_str())
                .bind(&new.time_zone)
                .bind(&routing)
                .bind(now)
                .fetch_one(pool)
                .await
        });
        match result {
            Ok(id) => Ok(DestinationId(id)),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                Err(DbError::DuplicateDestination(new.name.clone()))
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn destinations(&self) -> Result<Vec<DestinationRecord>, DbError> {
        let sql = format!("{DESTINATION_SELECT} ORDER BY id");
        let rows = on_db!(&self.db, |pool| {
            sqlx::query_as::<_, DestinationRow>(sqlx::AssertSqlSafe(sql))
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(DestinationRecord::try_from).collect()
    }

    async fn destination(&self, id: DestinationId) -> Result<Option<DestinationRecord>, DbError> {
        let sql = format!("{DESTINATION_SELECT} WHERE id = $1");
        let row = on_db!(&self.db, |pool| {
            sqlx::query_as::<_, DestinationRow>(sqlx::AssertSqlSafe(sql))
                .bind(id.0)
                .fetch_optional(pool)
                .await?
        });
        row.map(DestinationRecord::try_from).transpose()
    }

    async fn destination_credentials(
        &self,
        id: DestinationId,
    ) -> Result<Option<SecretString>, DbError> {
        let row = on_db!(&self.db, |pool| {
            sqlx::query_as::<_, (String, Option<Vec<u8>>)>(
                "SELECT name, secret_enc FROM destinations WHERE id = $1",
            )
            .bind(id.0)
            .fetch_optional(pool)
            .await?
        });
        let Some((name, Some(sealed))) = row else {
            return Ok(None);
        };
        let plain = self
            .cipher
            .decrypt(&sealed, &context_of(&name))
            .ok_or_else(|| DbError::DecryptDestination(name.clone()))?;
        let text = String::from_utf8(plain).map_err(|_| DbError::DecryptDestination(name))?;
        Ok(Some(SecretString::from(text)))
    }

    async fn update_destination(
        &self,
        id: DestinationId,
        routing: &Routing,
        language: Language,
        time_zone: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, DbError> {
        let routing = serde_json::to_string(routing).unwrap_or_default();
        let done = on_db!(&self.db, |pool| {
            sqlx::query(
                "UPDATE destinations SET routing = $1, language = $2, time_zone = $3, \
                 updated_at = $4 WHERE id = $5",
            )
            .bind(&routing)
            .bind(language.as_str())
            .bind(time_zone)
            .bind(now)
            .bind(id.0)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(done == 1)
    }

    async fn set_destination_address(
        &self,
        id: DestinationId,
        address: &str,
        now: DateTime<Utc>,
    ) -> Result<(), DbError> {
        on_db!(&self.db, |pool| {
            sqlx::query("UPDATE destinations SET address = $1, updated_at = $2 WHERE id = $3")
                .bind(address)
                .bind(now)
                .bind(id.0)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    async fn disable_destination(
        &self,
        id: DestinationId,
        cause: DisableCause,
        now: DateTime<Utc>,
        notices: &[NewMessage],
    ) -> Result<bool, DbError> {
        let done = on_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            let done = sqlx::query(
                "UPDATE destinations SET state = 'disabled', disabled_cause = $1, \
                 disabled_at = $2, updated_at = $2, next_check_at = NULL \
                 WHERE id = $3 AND state = 'active'",
            )
            .bind(cause.as_str())
            .bind(now)
            .bind(id.0)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if done {
                let _ = enqueue!(tx, notices, now);
            }
            tx.commit().await?;
            done
        });
        Ok(done)
    }

    async fn enable_destination(
        &self,
        id: DestinationId,
        now: DateTime<Utc>,
    ) -> Result<bool, DbError> {
        let done = on_db!(&self.db, |pool| {
            sqlx::query(
                "UPDATE destinations SET state = 'active', disabled_cause = NULL, \
                 disabled_at = NULL, blocked_until = NULL, updated_at = $1, next_check_at = $1 \
                 WHERE id = $2 AND state = 'disabled'",
            )
            .bind(now)
            .bind(id.0)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(done == 1)
    }

    async fn remove_destination(&self, id: DestinationId) -> Result<bool, DbError> {
        let done = on_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            sqlx::query("DELETE FROM outbox_attempts WHERE destination_id = $1")
                .bind(id.0)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM outbox WHERE destination_id = $1")
                .bind(id.0)
                .execute(&mut *tx)
                .await?;
            let done = sqlx::query("DELETE FROM destinations WHERE id = $1")
                .bind(id.0)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            tx.commit().await?;
            done
        });
        Ok(done == 1)
    }

    async fn enqueue(&self, messages: &[NewMessage], now: DateTime<Utc>) -> Result<u64, DbError> {
        if messages.is_empty() {
            return Ok(0);
        }
        let inserted = on_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            let inserted = enqueue!(tx, messages, now);
            tx.commit().await?;
            inserted
        });
        Ok(inserted)
    }

    async fn has_message(&self, key: &str) -> Result<bool, DbError> {
        let found = on_db!(&self.db, |pool| {
            sqlx::query_scalar::<_, i64>("SELECT id FROM outbox WHERE dedupe_key = $1")
                .bind(key)
                .fetch_optional(pool)
                .await?
        });
        Ok(found.is_some())
    }

    async fn due_messages(
        &self,
        destination: DestinationId,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<OutboxMessage>, DbError> {
        let sql = format!(
            "{MESSAGE_SELECT} WHERE destination_id = $1 AND state = 'pending' \
             AND next_attempt_at <= $2 ORDER BY id LIMIT $3"
        );
        let rows = on_db!(&self.db, |pool| {
            sqlx::query_as::<_, MessageRow>(sqlx::AssertSqlSafe(sql))
                .bind(destination.0)
                .bind(now)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(OutboxMessage::try_from).collect()
    }

    async fn digest_members(&self, digest: i64) -> Result<Vec<OutboxMessage>, DbError> {
        let sql = format!("{MESSAGE_SELECT} WHERE coalesced_into = $1 ORDER BY id");
        let rows = on_db!(&self.db, |pool| {
            sqlx::query_as::<_, MessageRow>(sqlx::AssertSqlSafe(sql))
                .bind(digest)
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(OutboxMessage::try_from).collect()
    }

    async fn recent_attempts(
        &self,
        destination: DestinationId,
        since: DateTime<Utc>,
    ) -> Result<Vec<DateTime<Utc>>, DbError> {
        let times = on_db!(&self.db, |pool| {
            sqlx::query_scalar::<_, DateTime<Utc>>(
                "SELECT at FROM outbox_attempts WHERE destination_id = $1 AND at > $2 ORDER BY at",
            )
            .bind(destination.0)
            .bind(since)
            .fetch_all(pool)
            .await?
        });
        Ok(times)
    }

    async fn start_attempts(
        &self,
        attempts: &[(i64, DestinationId, u32)],
        at: DateTime<Utc>,
    ) -> Result<Vec<i64>, DbError> {
        let mut ids = Vec::with_capacity(attempts.len());
        on_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            for (message, destination, part) in attempts {
                let id = sqlx::query_scalar::<_, i64>(
                    "INSERT INTO outbox_attempts (message_id, destination_id, at, part, outcome) \
                     VALUES ($1, $2, $3, $4, 'sending') RETURNING id",
                )
                .bind(*message)
                .bind(destination.0)
                .bind(at)
                .bind(i64::from(*part))
                .fetch_one(&mut *tx)
                .await?;
                ids.push(id);
            }
            tx.commit().await?;
        });
        Ok(ids)
    }

    async fn start_attempt(
        &self,
        message: i64,
        destination: DestinationId,
        part: u32,
        at: DateTime<Utc>,
    ) -> Result<i64, DbError> {
        let id = on_db!(&self.db, |pool| {
            sqlx::query_scalar::<_, i64>(
                "INSERT INTO outbox_attempts (message_id, destination_id, at, part, outcome) \
                 VALUES ($1, $2, $3, $4, 'sending') RETURNING id",
            )
            .bind(message)
            .bind(destination.0)
            .bind(at)
            .bind(i64::from(part))
            .fetch_one(pool)
            .await?
        });
        Ok(id)
    }

    async fn settle(
        &self,
        attempted: &Attempted<'_>,
        settle: &Settle,
        now: DateTime<Utc>,
    ) -> Result<(), DbError> {
        self.settle_many(&[(*attempted, settle.clone())], now).await
    }

    async fn settle_many(
        &self,
        settled: &[(Attempted<'_>, Settle)],
        now: DateTime<Utc>,
    ) -> Result<(), DbError> {
        on_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            for (a, settle) in settled {
                let (sql, at, remote) = settle_statement(settle, now);
                sqlx::query(
                    "UPDATE outbox_attempts SET outcome = $1, code = $2, took_ms = $3 WHERE id = $4",
                )
                .bind(a.outcome.as_str())
                .bind(a.code)
                .bind(a.took_ms)
                .bind(a.attempt)
                .execute(&mut *tx)
                .await?;
                sqlx::query(sql)
                    .bind(a.outcome.as_str())
                    .bind(a.code)
                    .bind(at)
                    .bind(remote)
                    .bind(a.message)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    async fn coalesce(
        &self,
        members: &[i64],
        digest: &NewMessage,
        now: DateTime<Utc>,
    ) -> Result<i64, DbError> {
        let id = on_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            let id = sqlx::query_scalar::<_, i64>(
                "INSERT INTO outbox (destination_id, dedupe_key, topic, notice, state, \
                 next_attempt_at, created_at) VALUES ($1, $2, 'digest', $3, 'pending', $4, $4) \
                 RETURNING id",
            )
            .bind(digest.destination.0)
            .bind(digest.key())
            .bind(notice_json(&digest.notice))
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            for chunk in members.chunks(crate::sql::ROWS_PER_STATEMENT) {
                let mut query = sqlx::QueryBuilder::new(
                    "UPDATE outbox SET state = 'coalesced', coalesced_into = ",
                );
                query.push_bind(id);
                query.push(" WHERE state = 'pending' AND id");
                push_in!(query, chunk);
                query.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
            id
        });
        Ok(id)
    }

    async fn hold(&self, ids: &[i64], until: DateTime<Utc>) -> Result<(), DbError> {
        on_db!(&self.db, |pool| {
            for chunk in ids.chunks(crate::sql::ROWS_PER_STATEMENT) {
                let mut query =
                    sqlx::QueryBuilder::new("UPDATE outbox SET held = TRUE, next_attempt_at = ");
                query.push_bind(until);
                query.push(" WHERE state = 'pending' AND id");
                push_in!(query, chunk);
                query.build().execute(pool).await?;
            }
        });
        Ok(())
    }

    async fn block_destination(
        &self,
        id: DestinationId,
        until: DateTime<Utc>,
    ) -> Result<(), DbError> {
        on_db!(&self.db, |pool| {
            sqlx::query("UPDATE destinations SET blocked_until = $1 WHERE id = $2")
                .bind(until)
                .bind(id.0)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    async fn release_destination(
        &self,
        id: DestinationId,
        owner: &LeaseOwner,
    ) -> Result<bool, DbError> {
        // The later of the earliest pending message and the end of a block; NULL when
        // nothing waits (or the destination is disabled).
        let sql = "UPDATE destinations SET lease_owner = NULL, lease_until = NULL, \
                   next_check_at = CASE WHEN state <> 'active' THEN NULL ELSE ( \
                     SELECT CASE WHEN destinations.blocked_until IS NOT NULL \
                       AND destinations.blocked_until > MIN(o.next_attempt_at) \
                       THEN destinations.blocked_until ELSE MIN(o.next_attempt_at) END \
                     FROM outbox o WHERE o.destination_id = destinations.id \
                     AND o.state = 'pending') END \
                   WHERE id = $1 AND lease_owner = $2";
        let done = on_db!(&self.db, |pool| {
            sqlx::query(sql)
                .bind(id.0)
                .bind(owner.as_str())
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done == 1)
    }

    async fn outbox(&self, filter: &OutboxFilter) -> Result<Vec<OutboxMessage>, DbError> {
        let limit = if filter.limit == 0 { 100 } else { filter.limit };
        let rows = on_db!(&self.db, |pool| {
            let mut query = sqlx::QueryBuilder::new(MESSAGE_SELECT);
            query.push(" WHERE 1 = 1");
            if let Some(d) = filter.destination {
                query.push(" AND destination_id = ").push_bind(d.0);
            }
            if !filter.states.is_empty() {
                let states: Vec<&str> = filter.states.iter().map(|s| s.as_str()).collect();
                query.push(" AND state");
                push_in!(query, &states);
            }
            if let Some(before) = filter.before {
                query.push(" AND id < ").push_bind(before);
            }
            query
                .push(" ORDER BY id DESC LIMIT ")
                .push_bind(i64::from(limit));
            query.build_query_as::<MessageRow>().fetch_all(pool).await?
        });
        rows.into_iter().map(OutboxMessage::try_from).collect()
    }

    async fn message(&self, id: i64) -> Result<Option<OutboxMessage>, DbError> {
        let sql = format!("{MESSAGE_SELECT} WHERE id = $1");
        let row = on_db!(&self.db, |pool| {
            sqlx::query_as::<_, MessageRow>(sqlx::AssertSqlSafe(sql))
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        row.map(OutboxMessage::try_from).transpose()
    }

    async fn attempts(&self, message: i64) -> Result<Vec<AttemptRecord>, DbError> {
        let rows = on_db!(&self.db, |pool| {
            sqlx::query_as::<
                _,
                (
                    i64,
                    i64,
                    DateTime<Utc>,
                    i64,
                    String,
                    Option<String>,
                    Option<i64>,
                ),
            >(
                "SELECT id, message_id, at, part, outcome, code, took_ms FROM outbox_attempts \
                 WHERE message_id = $1 ORDER BY id",
            )
            .bind(message)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(|(id, message, at, part, outcome, code, took_ms)| {
                Ok(AttemptRecord {
                    id,
                    message,
                    at,
                    part: u32::try_from(part).unwrap_or(0),
                    outcome: AttemptOutcome::parse(&outcome)
                        .map_err(|e| corrupt("outbox_attempts", id, e))?,
                    code,
                    took_ms,
                })
            })
            .collect()
    }

    async fn outbox_counts(&self) -> Result<Vec<(DestinationId, OutboxCounts)>, DbError> {
        let rows = on_db!(&self.db, |pool| {
            sqlx::query_as::<_, (i64, String, i64)>(
                "SELECT destination_id, state, COUNT(*) FROM outbox \
                 GROUP BY destination_id, state ORDER BY destination_id",
            )
            .fetch_all(pool)
            .await?
        });
        let mut out: Vec<(DestinationId, OutboxCounts)> = Vec::new();
        for (d, state, n) in rows {
            let d = DestinationId(d);
            if out.last().is_none_or(|(last, _)| *last != d) {
                out.push((d, OutboxCounts::default()));
            }
            let n = u64::try_from(n).unwrap_or(0);
            if let Some((_, counts)) = out.last_mut() {
                match MessageState::parse(&state) {
                    Ok(MessageState::Pending) => counts.pending += n,
                    Ok(MessageState::Sent) => counts.sent += n,
                    Ok(MessageState::Coalesced) => counts.coalesced += n,
                    Ok(MessageState::Dead) => counts.dead += n,
                    Ok(MessageState::Skipped) => counts.skipped += n,
                    Err(e) => return Err(corrupt("outbox", d.0, e)),
                }
            }
        }
        Ok(out)
    }

    async fn retry_message(&self, id: i64, now: DateTime<Utc>) -> Result<bool, DbError> {
        let done = on_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            let destination = sqlx::query_scalar::<_, i64>(
                "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = $1, \
                 held = FALSE WHERE id = $2 AND state IN ('dead', 'skipped') \
                 RETURNING destination_id",
            )
            .bind(now)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(d) = destination {
                sqlx::query(
                    "UPDATE destinations SET next_check_at = $1 WHERE id = $2 \
                     AND state = 'active' AND (next_check_at IS NULL OR next_check_at > $1)",
                )
                .bind(now)
                .bind(d)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            destination.is_some()
        });
        Ok(done)
    }

    async fn send_waiting_now(&self, now: DateTime<Utc>) -> Result<u64, DbError> {
        let moved = on_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            let moved = sqlx::query(
                "UPDATE outbox SET next_attempt_at = $1 \
                 WHERE state = 'pending' AND NOT held AND next_attempt_at > $1",
            )
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            sqlx::query(
                "UPDATE destinations SET next_check_at = $1 WHERE state = 'active' \
                 AND (blocked_until IS NULL OR blocked_until <= $1) \
                 AND (next_check_at IS NULL OR next_check_at > $1) \
                 AND EXISTS (SELECT 1 FROM outbox o WHERE o.destination_id = destinations.id \
                   AND o.state = 'pending' AND o.next_attempt_at <= $1)",
            )
            .bind(now)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            moved
        });
        Ok(moved)
    }

    async fn templates(&self) -> Result<Vec<TemplateRecord>, DbError> {
        let rows = on_db!(&self.db, |pool| {
            sqlx::query_as::<
                _,
                (
                    String,
                    String,
                    String,
                    String,
                    DateTime<Utc>,
                    Option<String>,
                ),
            >(
                "SELECT topic, audience, language, body, updated_at, updated_by \
                 FROM notify_templates ORDER BY topic, audience, language",
            )
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(
                |(topic, audience, language, body, updated_at, updated_by)| {
                    let bad = |e: ozontrack_domain::ParseError| corrupt("notify_templates", 0, e);
                    Ok(TemplateRecord {
                        topic: Topic::parse(&topic).map_err(bad)?,
                        audience: Audience::parse(&audience).map_err(bad)?,
                        language: Language::parse(&language).map_err(bad)?,
                        body,
                        updated_at,
                        updated_by,
                    })
                },
            )
            .collect()
    }

    async fn set_template(&self, t: &TemplateRecord) -> Result<(), DbError> {
        on_db!(&self.db, |pool| {
            sqlx::query(
                "INSERT INTO notify_templates (topic, audience, language, body, updated_at, \
                 updated_by) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (topic, audience, language) DO UPDATE SET body = excluded.body, \
                 updated_at = excluded.updated_at, updated_by = excluded.updated_by",
            )
            .bind(t.topic.as_str())
            .bind(t.audience.as_str())
            .bind(t.language.as_str())
            .bind(&t.body)
            .bind(t.updated_at)
            .bind(t.updated_by.as_deref())
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    async fn remove_template(
        &self,
        topic: Topic,
        audience: Audience,
        language: Language,
    ) -> Result<bool, DbError> {
        let done = on_db!(&self.db, |pool| {
            sqlx::query(
                "DELETE FROM notify_templates WHERE topic = $1 AND audience = $2 AND language = $3",
            )
            .bind(topic.as_str())
            .bind(audience.as_str())
            .bind(language.as_str())
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(done == 1)
    }

    async fn buyer_chat(&self, posting: PostingId) -> Result<Option<String>, DbError> {
        let chat = on_db!(&self.db, |pool| {
            sqlx::query_scalar::<_, String>("SELECT chat_id FROM buyer_chats WHERE posting_id = $1")
                .bind(posting.0)
                .fetch_optional(pool)
                .await?
        });
        Ok(chat)
    }

    async fn set_buyer_chat(
        &self,
        posting: PostingId,
        chat_id: &str,
        at: DateTime<Utc>,
    ) -> Result<(), DbError> {
        on_db!(&self.db, |pool| {
            sqlx::query(
                "INSERT INTO buyer_chats (posting_id, chat_id, started_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (posting_id) DO UPDATE SET chat_id = excluded.chat_id",
            )
            .bind(posting.0)
            .bind(chat_id)
            .bind(at)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    async fn store_day(
        &self,
        store: StoreId,
        since: DateTime<Utc>,
        window_since: DateTime<Utc>,
    ) -> Result<StoreDay, DbError> {
        let (open, opened, resolved, points, name) = on_db!(&self.db, |pool| {
            let open = sqlx::query_as::<_, (String, i64)>(
                "SELECT severity, COUNT(*) FROM alerts WHERE store_id = $1 \
                 AND resolved_at IS NULL GROUP BY severity",
            )
            .bind(store.0)
            .fetch_all(pool)
            .await?;
            let opened = sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM alerts WHERE store_id = $1 AND opened_at > $2",
            )
            .bind(store.0)
            .bind(since)
            .fetch_one(pool)
            .await?;
            let resolved = sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM alerts WHERE store_id = $1 AND resolved_at > $2",
            )
            .bind(store.0)
            .bind(since)
            .fetch_one(pool)
            .await?;
            let points = sqlx::query_scalar::<_, Option<i64>>(
                "SELECT CAST(SUM(points) AS BIGINT) FROM penalty_points WHERE store_id = $1 AND at > $2",
            )
            .bind(store.0)
            .bind(window_since)
            .fetch_one(pool)
            .await?;
            let name = sqlx::query_scalar::<_, String>("SELECT name FROM stores WHERE id = $1")
                .bind(store.0)
                .fetch_optional(pool)
                .await?;
            (open, opened, resolved, points, name)
        });
        let mut counts = [0u64; 4];
        for (severity, n) in open {
            let slot = match severity.as_str() {
                "critical" => 0,
                "high_risk" => 1,
                "warning" => 2,
                _ => 3,
            };
            counts[slot] += u64::try_from(n).unwrap_or(0);
        }
        Ok(StoreDay {
            store,
            store_name: name.ok_or(DbError::StoreNotFound(store))?,
            open: counts,
            opened: u64::try_from(opened).unwrap_or(0),
            resolved: u64::try_from(resolved).unwrap_or(0),
            penalty_points: points.unwrap_or(0),
        })
    }

    async fn feed_news(&self, failures: i64) -> Result<Vec<FeedNews>, DbError> {
        let rows = on_db!(&self.db, |pool| {
            sqlx::query_as::<_, crate::tracking::FeedNewsRow>(
                "SELECT * FROM feed_health WHERE (failures >= $1 AND down_since IS NOT NULL \
                 AND (told_since IS NULL OR told_since <> down_since)) \
                 OR (failures = 0 AND told_since IS NOT NULL) ORDER BY feed",
            )
            .bind(failures)
            .fetch_all(pool)
            .await?
        });
        Ok(rows.into_iter().map(FeedNews::from).collect())
    }

    async fn tell_feed(
        &self,
        feed: &str,
        expected_told: Option<DateTime<Utc>>,
        told_since: Option<DateTime<Utc>>,
        messages: &[NewMessage],
        now: DateTime<Utc>,
    ) -> Result<bool, DbError> {
        let done = on_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            // Compare-and-set on what was read: two dispatchers cannot both tell.
            let done = sqlx::query(
                "UPDATE feed_health SET told_since = $1 WHERE feed = $2 \
                 AND ((told_since IS NULL AND $3 IS NULL) OR told_since = $3)",
            )
            .bind(told_since)
            .bind(feed)
            .bind(expected_told)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if done {
                let _ = enqueue!(tx, messages, now);
            }
            tx.commit().await?;
            done
        });
        Ok(done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ozontrack_domain::notify::TestNotice;

    fn message(id: i64, state: MessageState, into: Option<i64>) -> OutboxMessage {
        let at = DateTime::<Utc>::UNIX_EPOCH;
        OutboxMessage {
            id,
            destination: DestinationId(1),
            key: id.to_string(),
            notice: Notice::Test(TestNotice {
                destination: DestinationId(1),
                nonce: id.to_string(),
                by: "t".into(),
                at,
            }),
            state,
            attempts: 0,
            parts_sent: 0,
            plain: false,
            held: false,
            next_attempt_at: at,
            created_at: at,
            sent_at: None,
            coalesced_into: into,
            last_outcome: None,
            last_code: None,
            remote_id: None,
        }
    }

    #[test]
    fn a_message_reached_its_receiver_when_it_or_its_digest_was_sent() {
        let messages = [
            message(1, MessageState::Sent, None),
            message(2, MessageState::Coalesced, Some(1)),
            message(3, MessageState::Coalesced, Some(4)),
            message(4, MessageState::Pending, None),
            message(5, MessageState::Dead, None),
        ];
        let mut reached: Vec<i64> = reached(&messages).into_iter().collect();
        reached.sort_unstable();
        assert_eq!(reached, [1, 2]);
    }
}
