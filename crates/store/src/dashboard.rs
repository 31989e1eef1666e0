//! Types of what the dashboard and the buyer page read and keep: people, sessions, one-time
//! login links, the "today" counts, lane figures and the workers' queue depths.

use chrono::{DateTime, Utc};

/// A signed-in browser: whose it is, its CSRF secret and when it ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub user: String,
    pub csrf: String,
    pub expires_at: DateTime<Utc>,
}

/// One count of the "today" page: open alerts (by posting) of a severity and mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RiskCount {
    /// `warning`, `high_risk`, `critical` (as stored).
    pub severity: String,
    /// `fbs`, `rfbs`, `fbo`, `crossborder`.
    pub mode: String,
    pub postings: u64,
}

/// Postings not yet over, by mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModeCount {
    pub mode: String,
    pub postings: u64,
}

/// What the "today" page counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overview {
    pub at_risk: Vec<RiskCount>,
    pub active: Vec<ModeCount>,
}

/// A lane: the carriers a parcel went through, in order, to one buyer city.
#[derive(Debug, Clone, PartialEq)]
pub struct LaneStats {
    /// Carrier codes, first mile first, e.g. `["cainiao", "russian_post"]`.
    pub carriers: Vec<String>,
    pub buyer_city: Option<String>,
    pub postings: u64,
    pub delivered: u64,
    /// Postings on the lane with an open stale alert now.
    pub stale_open: u64,
    /// Days from Ozon's `in_process_at` to delivery, of the delivered ones.
    pub transit_days_p50: Option<f64>,
    pub transit_days_p90: Option<f64>,
}

/// How much work waits for the workers now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueDepths {
    /// Legs whose next carrier check is due.
    pub legs_due: u64,
    /// Stores whose next sync is due.
    pub stores_due: u64,
    /// Postings whose findings may have changed and wait for the evaluator.
    pub risk_due: u64,
    /// Ozon pushes received and not yet processed.
    pub pushes_pending: u64,
}
