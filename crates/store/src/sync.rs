//! What the store keeps for the Ozon sync: planned scans with their cursors (the checkpoint a
//! killed sync resumes from), and the push messages waiting to be turned into re-fetches.

use chrono::{DateTime, Utc};
use ozontrack_domain::{ParseError, StoreId};

/// Which posting list a scan walks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScanKind {
    /// `/v4/posting/fbs/list` (FBS and rFBS).
    Fbs,
    /// `/v3/posting/fbo/list`.
    Fbo,
}

/// Why a scan was planned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScanPurpose {
    /// Every posting ordered in a window (the first sync, or `--full`).
    Backfill,
    /// Postings whose status changed since the last sync.
    Changed,
    /// Postings ordered lately, again: catches those that show up late behind a cursor.
    Recent,
    /// Named postings still in progress (FBO, whose list cannot filter by change time).
    Active,
}

macro_rules! text_enum {
    ($name:ident, $what:literal, { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $name {
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(text: &str) -> Result<Self, ParseError> {
                match text {
                    $($text => Ok($name::$variant),)+
                    other => Err(ParseError {
                        what: $what,
                        value: other.chars().take(64).collect(),
                        reason: "unknown value".into(),
                    }),
                }
            }
        }
    };
}

text_enum!(ScanKind, "scan kind", { Fbs => "fbs", Fbo => "fbo" });
text_enum!(ScanPurpose, "scan purpose", {
    Backfill => "backfill",
    Changed => "changed",
    Recent => "recent",
    Active => "active",
});

/// One list walk of a sync plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanPlan {
    pub kind: ScanKind,
    pub purpose: ScanPurpose,
    /// Part of a full sync (a back-fill of every window).
    pub full: bool,
    /// When the plan was made: the store's watermark once every scan of it is done.
    pub planned_at: DateTime<Utc>,
    /// Order-time window.
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    /// Status-change window, for `Changed` scans.
    pub changed_from: Option<DateTime<Utc>>,
    pub changed_to: Option<DateTime<Utc>>,
    /// Only these postings, for `Active` scans.
    pub posting_numbers: Vec<String>,
}

/// Our id of a scan row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ScanId(pub i64);

/// A scan and how far it got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanRecord {
    pub id: ScanId,
    pub store_id: StoreId,
    pub plan: ScanPlan,
    /// The cursor of the next page to fetch; empty before the first.
    pub cursor: String,
    pub done: bool,
    pub pages: i64,
    pub postings: i64,
}

/// Where a scan stands after a page: stored with the page, in one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanProgress {
    pub scan: ScanId,
    pub cursor: String,
    pub done: bool,
}

/// What storing a page of postings changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PageOutcome {
    /// Postings we had not seen before.
    pub new_postings: u64,
    /// Status changes recorded as events on Ozon's leg (including first sightings).
    pub status_events: u64,
}

/// A push message as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPush {
    pub store_id: StoreId,
    pub dedupe_key: String,
    pub message_type: String,
    pub posting_number: Option<String>,
    pub fbo: bool,
    pub changed_at: Option<DateTime<Utc>>,
}

/// A push waiting to be acted on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushRecord {
    pub id: i64,
    pub push: NewPush,
    pub received_at: DateTime<Utc>,
    pub attempts: i64,
}
