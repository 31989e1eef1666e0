//! Types of what the HTTP API reads and keeps: API tokens (stored as hashes) and the
//! filtered, cursor-paged postings list.

use chrono::{DateTime, Utc};
use ozontrack_domain::risk::Severity;
use ozontrack_domain::{Scheme, StoreId};

use crate::{PostingId, PostingRecord};

/// A token to create; the secret itself never reaches the store, only its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewToken {
    pub name: String,
    pub hash: Vec<u8>,
    /// The token's first characters, to tell tokens apart in listings.
    pub prefix: String,
    pub read_only: bool,
    /// The stores it may see; empty: every store.
    pub stores: Vec<StoreId>,
}

/// A stored token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub id: i64,
    pub name: String,
    pub prefix: String,
    pub read_only: bool,
    /// Empty: every store.
    pub stores: Vec<StoreId>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Which postings to list: always within `stores`, newest first, `limit` after the cursor.
#[derive(Debug, Clone, Default)]
pub struct PostingQuery {
    /// The stores the caller may see; an empty list matches nothing.
    pub stores: Vec<StoreId>,
    /// Ozon's status code, e.g. `delivering`.
    pub status: Option<String>,
    pub scheme: Option<Scheme>,
    /// A leg's carrier code.
    pub carrier: Option<String>,
    /// Only postings with an open alert at least this severe.
    pub min_risk: Option<Severity>,
    /// `in_process_at` from (inclusive) and to (exclusive).
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// A posting number (or its start) or a tracking number of one of its legs.
    pub text: Option<String>,
    /// The cursor: postings with a smaller id than this.
    pub before: Option<PostingId>,
    pub limit: u32,
}

/// A postings-list row: the posting, its carriers and its worst open alert.
#[derive(Debug, Clone, PartialEq)]
pub struct PostingSummary {
    pub record: PostingRecord,
    pub carriers: Vec<String>,
    pub risk: Option<Severity>,
}

/// One carrier's figures over the legs tracked in a period.
#[derive(Debug, Clone, PartialEq)]
pub struct CarrierStats {
    pub carrier: String,
    pub legs: u64,
    pub delivered: u64,
    /// Legs with an open stale alert.
    pub stale_open: u64,
    /// Order to delivery, in days, over the delivered legs.
    pub transit_days_p50: Option<f64>,
    pub transit_days_p90: Option<f64>,
    /// Delivered legs by whole days of transit (index = days; the last bucket holds the rest).
    pub transit_histogram: Vec<u64>,
}

/// Days in the transit histogram before its last, open-ended bucket.
pub const HISTOGRAM_DAYS: usize = 40;
