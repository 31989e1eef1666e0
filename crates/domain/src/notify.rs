//! Notifications as facts and arithmetic: the kinds of channel and how each one counts and
//! limits messages, what a notice says (typed; rendered only when it is sent, in the reader's
//! language), who wants which notice (routing, quiet hours), the deterministic key that makes
//! enqueueing idempotent, what a channel's answer means, and the sums of rate windows, retries
//! and splitting. The outbox, the channels and the dispatcher live in `db`, `notify` and
//! `engine`; everything they decide is decided here, with `now` as a parameter.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::alert::Resolution;
use crate::finding::{Action, Reason, RuleKind, Severity};
use crate::ids::{DestinationId, PostingId, PostingNumber, StoreId};
use crate::store::Language;

closed_enum! {
    /// Where a message can go.
    pub enum ChannelKind ("channel") {
        /// A signed HTTP POST to the seller's own system (Standard Webhooks v1).
        Webhook => "webhook",
        /// E-mail over SMTP.
        Email => "email" | "smtp",
        /// A WeCom (企业微信) group robot.
        Wecom => "wecom",
        /// A DingTalk (钉钉) custom robot.
        Dingtalk => "dingtalk",
        /// A Feishu or Lark (飞书) custom bot.
        Feishu => "feishu" | "lark",
        /// A Telegram chat, through a bot.
        Telegram => "telegram",
        /// The buyer, through the Ozon chat of the posting.
        OzonChat => "ozon_chat" | "ozon-chat",
    }
}

closed_enum! {
    /// Who reads a channel: the seller's people, or the posting's buyer.
    pub enum Audience ("audience") {
        Seller => "seller",
        Buyer => "buyer",
    }
}

/// How a channel counts a message's size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// UTF-8 bytes (the Chinese robots: a CJK character is three).
    Bytes,
    /// Unicode scalar values (Telegram, the Ozon chat).
    Chars,
}

impl Measure {
    pub fn of(self, text: &str) -> usize {
        match self {
            Measure::Bytes => text.len(),
            Measure::Chars => text.chars().count(),
        }
    }
}

/// At most `max` messages in any `span`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub max: u32,
    pub span: Duration,
}

/// A destination's published rate limits, and what exceeding them costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Limits {
    pub windows: &'static [Window],
    /// How long the service refuses everything after a breach (DingTalk: ten minutes).
    pub lockout: Option<Duration>,
}

const PER_MINUTE_20: &[Window] = &[Window {
    max: 20,
    span: Duration::seconds(60),
}];
const FEISHU: &[Window] = &[
    Window {
        max: 5,
        span: Duration::seconds(1),
    },
    Window {
        max: 100,
        span: Duration::seconds(60),
    },
];
const TELEGRAM: &[Window] = &[
    Window {
        max: 1,
        span: Duration::seconds(1),
    },
    Window {
        max: 20,
        span: Duration::seconds(60),
    },
];

impl ChannelKind {
    /// The limits the service publishes for one destination (robot, bot chat).
    pub fn limits(self) -> Limits {
        match self {
            ChannelKind::Wecom => Limits {
                windows: PER_MINUTE_20,
                lockout: None,
            },
            ChannelKind::Dingtalk => Limits {
                windows: PER_MINUTE_20,
                lockout: Some(Duration::minutes(10)),
            },
            ChannelKind::Feishu => Limits {
                windows: FEISHU,
                lockout: None,
            },
            ChannelKind::Telegram => Limits {
                windows: TELEGRAM,
                lockout: None,
            },
            // Webhooks and mail servers publish none; the Ozon chat shares the store's
            // Client-Id limit with the sync, which the Ozon client enforces.
            ChannelKind::Webhook | ChannelKind::Email | ChannelKind::OzonChat => Limits::default(),
        }
    }

    /// The largest text one message may carry, and how the service counts it; `None`: no limit
    /// worth splitting for (a webhook carries data, an e-mail is as long as it needs).
    pub fn max_text(self, markup: bool) -> Option<(usize, Measure)> {
        match self {
            // text 2048 B, markdown 4096 B.
            ChannelKind::Wecom if markup => Some((4096, Measure::Bytes)),
            ChannelKind::Wecom => Some((2048, Measure::Bytes)),
            // A 20 000-byte body, with room for the JSON around the text.
            ChannelKind::Dingtalk | ChannelKind::Feishu => Some((18_000, Measure::Bytes)),
            ChannelKind::Telegram => Some((4096, Measure::Chars)),
            ChannelKind::OzonChat => Some((1000, Measure::Chars)),
            ChannelKind::Webhook | ChannelKind::Email => None,
        }
    }

    pub fn audience(self) -> Audience {
        match self {
            ChannelKind::OzonChat => Audience::Buyer,
            _ => Audience::Seller,
        }
    }

    /// Whether messages waiting for a throttled destination become one digest. Buyer messages
    /// never do: each goes to its own buyer.
    pub fn coalesces(self) -> bool {
        self.audience() == Audience::Seller
    }
}

closed_enum! {
    /// What a notice is about.
    pub enum Topic ("notification topic") {
        AlertOpened => "alert_opened",
        AlertEscalated => "alert_escalated",
        AlertResolved => "alert_resolved",
        /// The morning summary of what is open.
        Daily => "daily",
        /// The store's penalty points reached a threshold.
        Penalty => "penalty",
        /// A carrier feed stopped answering.
        FeedDown => "feed_down",
        FeedRecovered => "feed_recovered",
        /// Another destination had to be disabled.
        DestinationDisabled => "destination_disabled",
        /// Several notices sent as one because the destination was throttled or quiet.
        Digest => "digest",
        /// A test message someone asked for.
        Test => "test",
    }
}

closed_enum! {
    /// Why a destination stopped receiving: the service refused it in a way that retrying
    /// cannot fix, or a person switched it off.
    pub enum DisableCause ("disable cause") {
        /// The signature or secret was refused (DingTalk 310000, Feishu 19021).
        BadSignature => "bad_signature",
        /// The robot, bot token or chat does not exist any more (WeCom 93000, DingTalk 300001,
        /// Telegram 401/404).
        NotFound => "not_found",
        /// The receiver said the endpoint is gone (HTTP 410).
        Gone => "gone",
        /// The bot was blocked or removed from the chat (Telegram 403).
        Blocked => "blocked",
        /// The mail server refused the login (SMTP 535).
        LoginRefused => "login_refused",
        /// The service's IP allow-list or keyword rule refused us (Feishu 19022/19024).
        NotAllowed => "not_allowed",
        /// The seller's Ozon plan does not include buyer chats (Premium Plus or Pro).
        Plan => "plan",
        /// A person disabled it.
        ByUser => "by_user",
    }
}

closed_enum! {
    /// Whether a destination receives messages.
    pub enum DestinationState ("destination state") {
        Active => "active",
        Disabled => "disabled",
    }
}

closed_enum! {
    /// Where a message is in the outbox.
    pub enum MessageState ("message state") {
        /// Waiting to be sent (or to be retried, or for quiet hours to end).
        Pending => "pending",
        Sent => "sent",
        /// Sent inside a digest.
        Coalesced => "coalesced",
        /// Given up on: out of attempts, refused for good, or its destination was disabled.
        /// A person can send it again.
        Dead => "dead",
        /// Not for sending after all (the posting no longer allows a buyer chat).
        Skipped => "skipped",
    }
}

closed_enum! {
    /// What one attempt to send came to.
    pub enum AttemptOutcome ("attempt outcome") {
        /// In flight: recorded before sending, so a crash still counts it against the limit.
        Sending => "sending",
        Sent => "sent",
        Retry => "retry",
        /// Refused as it was; sent again as plain text.
        Plain => "plain",
        Permanent => "permanent",
        Reconfigure => "reconfigure",
        /// The chat moved (Telegram's supergroup upgrade); sent again to the new one.
        Migrated => "migrated",
    }
}

/// What a channel's answer means, from its status, codes and structured fields — never from
/// its message text, which the services reword.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Delivered; the service's id for the message, when it gives one.
    Sent { remote_id: Option<String> },
    /// Try again later: after `after` when the service says so, else on the backoff schedule.
    /// `lockout`: the service locked the destination out (every message waits). `maybe_sent`:
    /// the request may have been delivered before the answer was lost (a timeout).
    Retry {
        after: Option<Duration>,
        lockout: bool,
        maybe_sent: bool,
        code: String,
    },
    /// This message will never be accepted as it is (too long, bad markup). `plain_may_help`:
    /// sending it once more as plain text might.
    Permanent { plain_may_help: bool, code: String },
    /// The destination is misconfigured: disable it and tell the seller.
    Reconfigure { cause: DisableCause, code: String },
    /// The chat moved: store the new id and send again (Telegram `migrate_to_chat_id`).
    Migrate { chat_id: String, code: String },
}

/// Alert changes, as a notice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertNotice {
    pub alert: i64,
    pub store: StoreId,
    pub posting: PostingId,
    pub posting_number: PostingNumber,
    pub rule: RuleKind,
    pub severity: Severity,
    /// The tracking number of the leg concerned, when one is.
    pub leg: Option<String>,
    pub reason: Option<Reason>,
    /// What the finding suggests doing.
    #[serde(default)]
    pub actions: Vec<Action>,
    pub resolution: Option<Resolution>,
    /// When the change happened (the rules' time).
    pub at: DateTime<Utc>,
}

/// One store's day, in a daily summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreDay {
    pub store: StoreId,
    pub store_name: String,
    /// Open alerts by severity: critical, high risk, warning, info.
    pub open: [u64; 4],
    /// Alerts opened and resolved in the last 24 hours.
    pub opened: u64,
    pub resolved: u64,
    /// Penalty points in the store's rolling window.
    pub penalty_points: i64,
}

/// The morning summary for one destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DailyNotice {
    /// The destination's local date it summarises.
    pub date: NaiveDate,
    pub stores: Vec<StoreDay>,
}

closed_enum! {
    /// Which penalty threshold was reached.
    pub enum PenaltyLevel ("penalty level") {
        /// Close to suspension.
        Warning => "warning",
        /// Ozon suspends advertising.
        Suspension => "suspension",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PenaltyNotice {
    pub store: StoreId,
    pub level: PenaltyLevel,
    /// Points in the window, and the threshold they reached.
    pub total: i64,
    pub threshold: i64,
    pub window_days: i64,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedNotice {
    /// The feed's name (`17track`, `russian_post`, `cdek`).
    pub feed: String,
    /// When it went down (for a recovery: when it had gone down).
    pub since: DateTime<Utc>,
    /// When it came back, for a recovery.
    pub until: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisabledNotice {
    pub destination: DestinationId,
    pub name: String,
    pub kind: ChannelKind,
    pub cause: DisableCause,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestNotice {
    pub destination: DestinationId,
    /// Makes each test its own message.
    pub nonce: String,
    /// Who asked.
    pub by: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigestNotice {
    /// How many messages it carries (they point at it).
    pub count: u64,
    /// Why they were gathered: the destination was throttled, or quiet.
    pub quiet: bool,
}

/// What a message says, as facts. Stored as JSON in the outbox and rendered when it is sent,
/// in the destination's language, by its template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "topic", rename_all = "snake_case")]
pub enum Notice {
    AlertOpened(AlertNotice),
    AlertEscalated(AlertNotice),
    AlertResolved(AlertNotice),
    Daily(DailyNotice),
    Penalty(PenaltyNotice),
    FeedDown(FeedNotice),
    FeedRecovered(FeedNotice),
    DestinationDisabled(DisabledNotice),
    Digest(DigestNotice),
    Test(TestNotice),
}

impl Notice {
    pub fn topic(&self) -> Topic {
        match self {
            Notice::AlertOpened(_) => Topic::AlertOpened,
            Notice::AlertEscalated(_) => Topic::AlertEscalated,
            Notice::AlertResolved(_) => Topic::AlertResolved,
            Notice::Daily(_) => Topic::Daily,
            Notice::Penalty(_) => Topic::Penalty,
            Notice::FeedDown(_) => Topic::FeedDown,
            Notice::FeedRecovered(_) => Topic::FeedRecovered,
            Notice::DestinationDisabled(_) => Topic::DestinationDisabled,
            Notice::Digest(_) => Topic::Digest,
            Notice::Test(_) => Topic::Test,
        }
    }

    pub fn alert(&self) -> Option<&AlertNotice> {
        match self {
            Notice::AlertOpened(a) | Notice::AlertEscalated(a) | Notice::AlertResolved(a) => {
                Some(a)
            }
            _ => None,
        }
    }

    /// The store it concerns, when it concerns one.
    pub fn store(&self) -> Option<StoreId> {
        match self {
            Notice::AlertOpened(a) | Notice::AlertEscalated(a) | Notice::AlertResolved(a) => {
                Some(a.store)
            }
            Notice::Penalty(p) => Some(p.store),
            _ => None,
        }
    }

    pub fn posting(&self) -> Option<PostingId> {
        self.alert().map(|a| a.posting)
    }

    /// The key that makes enqueueing idempotent: the same notice for the same destination is
    /// one message however often the change that implies it is applied. Also the webhook's
    /// `webhook-id` and the e-mail's `Message-ID`, so it holds no `.` and no spaces.
    pub fn dedupe_key(&self, destination: DestinationId) -> String {
        let d = destination.0;
        match self {
            Notice::AlertOpened(a) => alert_key(d, a, "opened"),
            Notice::AlertEscalated(a) => alert_key(d, a, a.severity.as_str()),
            Notice::AlertResolved(a) => alert_key(d, a, "resolved"),
            Notice::Daily(n) => format!("d{d}_daily_{}", n.date.format("%Y%m%d")),
            Notice::Penalty(p) => format!(
                "d{d}_penalty_s{}_{}_{}",
                p.store.0,
                p.level.as_str(),
                p.at.format("%Y%m%d")
            ),
            Notice::FeedDown(f) => format!("d{d}_feed_{}_down_{}", f.feed, f.since.timestamp()),
            Notice::FeedRecovered(f) => format!("d{d}_feed_{}_up_{}", f.feed, f.since.timestamp()),
            Notice::DestinationDisabled(n) => format!(
                "d{d}_disabled_d{}_{}",
                n.destination.0,
                n.at.timestamp_micros()
            ),
            // A digest's key is given by the dispatcher (its first member's id).
            Notice::Digest(_) => format!("d{d}_digest"),
            Notice::Test(t) => format!("d{d}_test_{}", t.nonce),
        }
    }
}

fn alert_key(d: i64, a: &AlertNotice, level: &str) -> String {
    format!(
        "d{d}_{}_{}_{level}_a{}",
        a.posting_number.as_str(),
        a.rule.as_str(),
        a.alert
    )
}

/// A digest's key: its destination and the first message it gathers.
pub fn digest_key(destination: DestinationId, first_member: i64) -> String {
    format!("d{}_digest_m{first_member}", destination.0)
}

/// Local hours in which a destination gets nothing; what comes meanwhile waits and then goes
/// as one digest. `from` may be after `until` (the night: 22:00–08:00).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuietHours {
    pub from: NaiveTime,
    pub until: NaiveTime,
}

impl QuietHours {
    /// When the quiet ends, if it is quiet at `now` in `tz`.
    pub fn ends(&self, now: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        if self.from == self.until {
            return None;
        }
        let local = now.with_timezone(&tz);
        let time = local.time();
        let date = local.date_naive();
        let quiet = if self.from < self.until {
            time >= self.from && time < self.until
        } else {
            time >= self.from || time < self.until
        };
        if !quiet {
            return None;
        }
        // The end is today when it is still ahead, else tomorrow.
        let end_date = if time < self.until {
            date
        } else {
            date.succ_opt().unwrap_or(date)
        };
        Some(local_instant(tz, end_date, self.until))
    }
}

/// The instant a local wall time names; a time skipped by a clock change moves to the hour
/// after, and an ambiguous one takes the earlier.
fn local_instant(tz: Tz, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let naive = date.and_time(time);
    match tz.from_local_datetime(&naive) {
        chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => {
            t.with_timezone(&Utc)
        }
        chrono::LocalResult::None => {
            let later = naive + Duration::hours(1);
            tz.from_local_datetime(&later)
                .earliest()
                .map_or_else(|| Utc.from_utc_datetime(&naive), |t| t.with_timezone(&Utc))
        }
    }
}

/// Who wants which notices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Routing {
    /// Only alerts at least this severe.
    pub min_severity: Severity,
    /// Only these rules' alerts; empty: every rule.
    pub rules: Vec<RuleKind>,
    /// The topics sent; empty: the audience's defaults ([`Routing::default_topics`]).
    pub topics: Vec<Topic>,
    /// Only these stores' notices; empty: every store's. A buyer chat has exactly one.
    pub stores: Vec<StoreId>,
    pub quiet: Option<QuietHours>,
    /// The local time of the daily summary; none: no summary.
    pub daily_at: Option<NaiveTime>,
}

impl Default for Routing {
    fn default() -> Self {
        Self {
            min_severity: Severity::Warning,
            rules: Vec::new(),
            topics: Vec::new(),
            stores: Vec::new(),
            quiet: None,
            daily_at: None,
        }
    }
}

/// The rules whose alerts a buyer hears about: their parcel stopped moving.
pub const BUYER_RULES: &[RuleKind] = &[
    RuleKind::Stale,
    RuleKind::BreakPoint,
    RuleKind::PostalSilence,
];

impl Routing {
    /// What an audience hears when a destination names no topics: sellers everything but
    /// resolutions (the dashboard shows those), buyers only that their parcel is delayed.
    pub fn default_topics(audience: Audience) -> &'static [Topic] {
        match audience {
            Audience::Seller => &[
                Topic::AlertOpened,
                Topic::AlertEscalated,
                Topic::Daily,
                Topic::Penalty,
                Topic::FeedDown,
                Topic::FeedRecovered,
                Topic::DestinationDisabled,
            ],
            Audience::Buyer => &[Topic::AlertOpened, Topic::AlertEscalated],
        }
    }

    pub fn topics(&self, audience: Audience) -> &[Topic] {
        if self.topics.is_empty() {
            Self::default_topics(audience)
        } else {
            &self.topics
        }
    }

    pub fn covers(&self, store: StoreId) -> bool {
        self.stores.is_empty() || self.stores.contains(&store)
    }
}

/// A place messages go, as the dispatcher and the routing see it (its address and secret
/// stay with the channel).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub id: DestinationId,
    pub name: String,
    pub kind: ChannelKind,
    pub language: Language,
    /// IANA zone for quiet hours, the daily summary and times in messages.
    pub time_zone: Tz,
    pub routing: Routing,
    pub state: DestinationState,
    /// Why it was disabled, when it is.
    pub disabled: Option<DisableCause>,
}

impl Destination {
    /// Whether this destination gets `notice`.
    pub fn accepts(&self, notice: &Notice) -> bool {
        if self.state != DestinationState::Active {
            return false;
        }
        let audience = self.kind.audience();
        match notice {
            Notice::Test(t) => return t.destination == self.id,
            // Digests are made per destination, never routed.
            Notice::Digest(_) => return false,
            Notice::DestinationDisabled(n) if n.destination == self.id => return false,
            _ => {}
        }
        if audience == Audience::Buyer && notice.alert().is_none() {
            return false;
        }
        if !self.routing.topics(audience).contains(&notice.topic()) {
            return false;
        }
        if let Some(store) = notice.store()
            && !self.routing.covers(store)
        {
            return false;
        }
        match notice.alert() {
            Some(a) => {
                let rules: &[RuleKind] = if !self.routing.rules.is_empty() {
                    &self.routing.rules
                } else if audience == Audience::Buyer {
                    BUYER_RULES
                } else {
                    &[]
                };
                a.severity >= self.routing.min_severity
                    && (rules.is_empty() || rules.contains(&a.rule))
            }
            None => true,
        }
    }

    /// When quiet hours end, if it is quiet now.
    pub fn quiet_until(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.routing.quiet.and_then(|q| q.ends(now, self.time_zone))
    }

    /// The local date whose daily summary is due at `now`, if one is: the summary time has
    /// passed today (in the destination's zone).
    pub fn daily_due(&self, now: DateTime<Utc>) -> Option<NaiveDate> {
        let at = self.routing.daily_at?;
        let local = now.with_timezone(&self.time_zone);
        (local.time() >= at).then(|| local.date_naive())
    }
}

/// How many messages a destination may send at `now`, given when its recent ones went
/// (`recent`, any order). `margin` widens every window: the service counts arrivals, and a
/// request can arrive later than we started it.
pub fn free_slots(
    limits: &Limits,
    recent: &[DateTime<Utc>],
    now: DateTime<Utc>,
    margin: Duration,
) -> u32 {
    limits
        .windows
        .iter()
        .map(|w| {
            let since = now - w.span - margin;
            let used = recent.iter().filter(|t| **t > since).count();
            w.max
                .saturating_sub(u32::try_from(used).unwrap_or(u32::MAX))
        })
        .min()
        .unwrap_or(u32::MAX)
}

/// When the next message may go (at or before `now`: now).
pub fn next_slot(
    limits: &Limits,
    recent: &[DateTime<Utc>],
    now: DateTime<Utc>,
    margin: Duration,
) -> DateTime<Utc> {
    let mut sorted: Vec<DateTime<Utc>> = recent.to_vec();
    sorted.sort_unstable();
    let mut at = now;
    for w in limits.windows {
        let span = w.span + margin;
        let max = usize::try_from(w.max).unwrap_or(usize::MAX);
        let in_window: Vec<&DateTime<Utc>> = sorted.iter().filter(|t| **t > now - span).collect();
        if in_window.len() >= max && max > 0 {
            // The window frees a slot when the oldest send that fills it leaves.
            let oldest = *in_window[in_window.len() - max];
            at = at.max(oldest + span);
        }
    }
    at
}

/// Attempts before a message is given up (dead-lettered): the schedule below spans about
/// two days.
pub const MAX_ATTEMPTS: u32 = 12;

/// How long to wait before attempt `attempts + 1`, after `attempts` failed ones. `jitter` in
/// [0, 1) spreads retries of many messages ±20% so that they do not return together.
pub fn retry_delay(attempts: u32, jitter: f64) -> Duration {
    const SCHEDULE_SECS: [i64; 12] = [
        5, 30, 120, 300, 900, 1800, 3600, 7200, 14_400, 28_800, 43_200, 86_400,
    ];
    let index = usize::try_from(attempts.saturating_sub(1)).unwrap_or(usize::MAX);
    let base = SCHEDULE_SECS[index.min(SCHEDULE_SECS.len() - 1)];
    let factor = 0.8 + 0.4 * jitter.clamp(0.0, 1.0);
    // Whole milliseconds of at most a day fit an i64 whatever the factor.
    #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
    let millis = (base as f64 * 1000.0 * factor) as i64;
    Duration::milliseconds(millis)
}

/// Cuts `text` into parts of at most `limit` (counted by `measure`), at line ends where it
/// can and inside a line only when the line alone is too long (never inside a character).
/// The parts' text, newlines aside, is the text in order.
pub fn split(text: &str, limit: usize, measure: Measure) -> Vec<String> {
    let limit = limit.max(1);
    if measure.of(text) <= limit {
        return vec![text.to_owned()];
    }
    let mut parts = Vec::new();
    let mut current = String::new();
    for line in text.split('\n') {
        let joined = if current.is_empty() {
            measure.of(line)
        } else {
            measure.of(&current) + 1 + measure.of(line)
        };
        if joined <= limit {
            if !current.is_empty() {
                current.push('\n');
            }
            current.push_str(line);
            continue;
        }
        if !current.is_empty() {
            parts.push(std::mem::take(&mut current));
        }
        // The line alone may still be too long: cut it by characters.
        let mut piece = String::new();
        for c in line.chars() {
            let mut buf = [0u8; 4];
            let width = measure.of(c.encode_utf8(&mut buf));
            if measure.of(&piece) + width > limit && !piece.is_empty() {
                parts.push(std::mem::take(&mut piece));
            }
            piece.push(c);
        }
        current = piece;
    }
    if !current.is_empty() || parts.is_empty() {
        parts.push(current);
    }
    parts
}

/// Whether a message may go to a buyer's Ozon chat: Ozon lists `can_create_chat` among the
/// posting's available actions.
pub const CHAT_ACTION: &str = "can_create_chat";

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn alert(severity: Severity, rule: RuleKind) -> AlertNotice {
        AlertNotice {
            alert: 7,
            store: StoreId(1),
            posting: PostingId(3),
            posting_number: PostingNumber::parse("0132112277-0101-1").unwrap(),
            rule,
            severity,
            leg: None,
            reason: None,
            actions: Vec::new(),
            resolution: None,
            at: at("2026-11-30T10:00:00Z"),
        }
    }

    fn destination(kind: ChannelKind, routing: Routing) -> Destination {
        Destination {
            id: DestinationId(5),
            name: "ops".into(),
            kind,
            language: Language::Zh,
            time_zone: chrono_tz::Asia::Shanghai,
            routing,
            state: DestinationState::Active,
            disabled: None,
        }
    }

    #[test]
    fn the_same_alert_change_gives_the_same_key_and_each_level_its_own() {
        let warning = Notice::AlertOpened(alert(Severity::Warning, RuleKind::Stale));
        let d = DestinationId(5);
        assert_eq!(warning.dedupe_key(d), warning.dedupe_key(d));
        let high = Notice::AlertEscalated(alert(Severity::HighRisk, RuleKind::Stale));
        let critical = Notice::AlertEscalated(alert(Severity::Critical, RuleKind::Stale));
        assert_ne!(high.dedupe_key(d), critical.dedupe_key(d));
        assert_ne!(warning.dedupe_key(d), warning.dedupe_key(DestinationId(6)));
        assert_eq!(
            warning.dedupe_key(d),
            "d5_0132112277-0101-1_stale_opened_a7"
        );
        for key in [warning.dedupe_key(d), high.dedupe_key(d)] {
            assert!(!key.contains('.') && !key.contains(' '), "{key}");
        }
    }

    #[test]
    fn notices_round_trip_through_their_stored_json() {
        let notice = Notice::AlertEscalated(alert(Severity::Critical, RuleKind::BreakPoint));
        let json = serde_json::to_string(&notice).unwrap();
        assert!(json.starts_with(r#"{"topic":"alert_escalated""#), "{json}");
        assert_eq!(serde_json::from_str::<Notice>(&json).unwrap(), notice);
    }

    #[test]
    fn a_seller_destination_takes_what_its_routing_names() {
        let d = destination(ChannelKind::Wecom, Routing::default());
        assert!(d.accepts(&Notice::AlertOpened(alert(
            Severity::Warning,
            RuleKind::Stale
        ))));
        assert!(!d.accepts(&Notice::AlertOpened(alert(
            Severity::Info,
            RuleKind::HighValue
        ))));
        assert!(
            !d.accepts(&Notice::AlertResolved(alert(
                Severity::Warning,
                RuleKind::Stale
            ))),
            "resolutions are off by default"
        );
        let only_critical = destination(
            ChannelKind::Wecom,
            Routing {
                min_severity: Severity::Critical,
                rules: vec![RuleKind::NonWhitelisted],
                stores: vec![StoreId(2)],
                ..Routing::default()
            },
        );
        let mut a = alert(Severity::Critical, RuleKind::NonWhitelisted);
        assert!(
            !only_critical.accepts(&Notice::AlertOpened(a.clone())),
            "other store"
        );
        a.store = StoreId(2);
        assert!(only_critical.accepts(&Notice::AlertOpened(a.clone())));
        a.rule = RuleKind::Stale;
        assert!(
            !only_critical.accepts(&Notice::AlertOpened(a)),
            "other rule"
        );
    }

    #[test]
    fn a_buyer_hears_only_that_the_parcel_is_delayed() {
        let d = destination(
            ChannelKind::OzonChat,
            Routing {
                stores: vec![StoreId(1)],
                ..Routing::default()
            },
        );
        assert!(d.accepts(&Notice::AlertOpened(alert(
            Severity::Warning,
            RuleKind::Stale
        ))));
        assert!(!d.accepts(&Notice::AlertOpened(alert(
            Severity::Critical,
            RuleKind::NonWhitelisted
        ))));
        assert!(!d.accepts(&Notice::FeedDown(FeedNotice {
            feed: "cdek".into(),
            since: at("2026-11-30T10:00:00Z"),
            until: None
        })));
    }

    #[test]
    fn a_disabled_destination_takes_nothing_and_is_not_told_of_itself() {
        let mut d = destination(ChannelKind::Telegram, Routing::default());
        let about_me = Notice::DestinationDisabled(DisabledNotice {
            destination: d.id,
            name: "ops".into(),
            kind: ChannelKind::Telegram,
            cause: DisableCause::Blocked,
            at: at("2026-11-30T10:00:00Z"),
        });
        assert!(!d.accepts(&about_me));
        d.state = DestinationState::Disabled;
        assert!(!d.accepts(&Notice::AlertOpened(alert(
            Severity::Critical,
            RuleKind::Stale
        ))));
    }

    #[test]
    fn quiet_hours_over_midnight_end_the_next_morning_in_the_local_zone() {
        let q = QuietHours {
            from: NaiveTime::from_hms_opt(22, 0, 0).unwrap(),
            until: NaiveTime::from_hms_opt(8, 0, 0).unwrap(),
        };
        let tz = chrono_tz::Asia::Shanghai;
        // 23:30 in Shanghai.
        assert_eq!(
            q.ends(at("2026-11-30T15:30:00Z"), tz),
            Some(at("2026-12-01T00:00:00Z"))
        );
        // 03:00 in Shanghai: the same morning.
        assert_eq!(
            q.ends(at("2026-11-30T19:00:00Z"), tz),
            Some(at("2026-12-01T00:00:00Z"))
        );
        // 12:00 in Shanghai: not quiet.
        assert_eq!(q.ends(at("2026-12-01T04:00:00Z"), tz), None);
    }

    #[test]
    fn a_full_window_frees_a_slot_when_its_oldest_send_leaves() {
        let limits = ChannelKind::Wecom.limits();
        let now = at("2026-11-30T10:01:00Z");
        let recent: Vec<_> = (0..20)
            .map(|i| at("2026-11-30T10:00:10Z") + Duration::seconds(i))
            .collect();
        let margin = Duration::seconds(1);
        assert_eq!(free_slots(&limits, &recent, now, margin), 0);
        assert_eq!(
            next_slot(&limits, &recent, now, margin),
            at("2026-11-30T10:01:11Z")
        );
        assert_eq!(free_slots(&limits, &recent[..15], now, margin), 5);
        assert_eq!(next_slot(&limits, &recent[..15], now, margin), now);
        let unlimited = ChannelKind::Webhook.limits();
        assert_eq!(free_slots(&unlimited, &recent, now, margin), u32::MAX);
    }

    #[test]
    fn retries_back_off_within_their_jitter_and_stop_growing_at_a_day() {
        assert_eq!(retry_delay(1, 0.5), Duration::seconds(5));
        assert!(retry_delay(2, 0.0) >= Duration::seconds(24));
        assert!(retry_delay(2, 0.999) <= Duration::seconds(36));
        assert_eq!(retry_delay(40, 0.5), Duration::days(1));
    }

    #[test]
    fn split_keeps_lines_whole_when_they_fit() {
        let text = "一二三\nabc\ndef";
        assert_eq!(split(text, 100, Measure::Bytes), vec![text]);
        assert_eq!(split(text, 9, Measure::Bytes), vec!["一二三", "abc\ndef"]);
        assert_eq!(split("一二三四", 6, Measure::Bytes), vec!["一二", "三四"]);
        assert_eq!(split("一二三四", 3, Measure::Chars), vec!["一二三", "四"]);
    }

    proptest! {
        #[test]
        fn split_parts_fit_and_keep_every_character_in_order(
            text in "[a-zя一\n ]{0,300}",
            limit in 1usize..40,
            bytes in any::<bool>(),
        ) {
            let measure = if bytes { Measure::Bytes } else { Measure::Chars };
            // A limit below one character's width cannot be met; the splitter then gives
            // each character its own part.
            let parts = split(&text, limit, measure);
            for p in &parts {
                prop_assert!(measure.of(p) <= limit.max(3) || p.chars().count() == 1, "{p:?}");
            }
            let kept: String = parts.concat().chars().filter(|c| *c != '\n').collect();
            let want: String = text.chars().filter(|c| *c != '\n').collect();
            prop_assert_eq!(kept, want);
        }

        #[test]
        fn no_window_ever_holds_more_than_its_limit_when_sends_wait_for_their_slot(
            gaps in proptest::collection::vec(0i64..3000, 1..80),
        ) {
            let limits = ChannelKind::Telegram.limits();
            let margin = Duration::milliseconds(200);
            let mut sent: Vec<DateTime<Utc>> = Vec::new();
            let mut now = at("2026-11-30T10:00:00Z");
            for gap in gaps {
                now += Duration::milliseconds(gap);
                let slot = next_slot(&limits, &sent, now, margin);
                now = now.max(slot);
                prop_assert!(free_slots(&limits, &sent, now, margin) > 0);
                sent.push(now);
            }
            for w in limits.windows {
                for (i, t) in sent.iter().enumerate() {
                    let inside = sent[i..].iter().filter(|u| **u < *t + w.span).count();
                    prop_assert!(inside <= w.max as usize);
                }
            }
        }
    }
}
