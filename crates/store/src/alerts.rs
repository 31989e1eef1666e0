//! Types of the alert tables: alerts as listed, their history, what one evaluation round
//! writes, the penalty-point ledger, and the rows the evaluator reads.

use chrono::{DateTime, Utc};
use ozontrack_domain::alert::{AlertChange, AlertState, Resolution};
use ozontrack_domain::risk::{Action, RuleKind, Severity};
use ozontrack_domain::{PostingNumber, StoreId};

use crate::PostingId;

/// A stored alert.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRecord {
    pub id: i64,
    pub store_id: StoreId,
    pub posting_id: PostingId,
    pub posting_number: PostingNumber,
    pub rule: RuleKind,
    /// The tracking number of the leg concerned, when one is.
    pub leg: Option<String>,
    pub severity: Severity,
    pub state: AlertState,
    pub since: DateTime<Utc>,
    pub why: String,
    pub actions: Vec<Action>,
    /// Fingerprints of the events the alert rests on.
    pub evidence: Vec<String>,
    pub opened_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub acknowledged_by: Option<String>,
    pub ack_note: Option<String>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolution: Option<Resolution>,
    pub resolved_by: Option<String>,
    pub resolve_note: Option<String>,
}

/// Which alerts to list.
#[derive(Debug, Clone, Default)]
pub struct AlertFilter {
    /// Only this alert.
    pub id: Option<i64>,
    pub store: Option<StoreId>,
    pub posting: Option<PostingId>,
    /// Only alerts not resolved.
    pub open_only: bool,
    /// Only alerts at least this severe.
    pub min_severity: Option<Severity>,
    /// At most this many, newest first; 0: no limit.
    pub limit: u32,
}

/// One state an alert went through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertHistoryEntry {
    pub at: DateTime<Utc>,
    pub state: AlertState,
    pub severity: Severity,
    pub note: Option<String>,
    pub by: Option<String>,
}

/// What one evaluation decided for one posting.
#[derive(Debug, Clone, PartialEq)]
pub struct RiskOutcome {
    pub posting: PostingId,
    pub store: StoreId,
    pub changes: Vec<AlertChange>,
    /// When its findings next change on their own (`None`: never).
    pub next_due: Option<DateTime<Utc>>,
    /// Points a newly opened whitelist violation adds to the store's ledger.
    pub points_per_violation: i64,
}

/// How many alerts one round changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RiskApplied {
    pub opened: u64,
    pub escalated: u64,
    pub updated: u64,
    pub resolved: u64,
}

impl RiskApplied {
    pub fn add(&mut self, other: RiskApplied) {
        self.opened += other.opened;
        self.escalated += other.escalated;
        self.updated += other.updated;
        self.resolved += other.resolved;
    }
}

/// A whitelist violation on the store's penalty-point ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PenaltyRecord {
    pub posting_number: PostingNumber,
    pub tracking_number: String,
    pub carrier: String,
    pub points: i64,
    pub at: DateTime<Utc>,
}

/// One event of a delivered leg, for learning a lane's normal quiet gaps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GapSample {
    pub leg: i64,
    pub carrier: String,
    pub status_sub: String,
    pub occurred_at: DateTime<Utc>,
}
