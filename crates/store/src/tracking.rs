//! Types of the carrier-tracking tables: what one check of a leg produced, how a leg's carrier
//! was decided, and each feed's health.

use chrono::{DateTime, Utc};
use ozontrack_domain::{CarrierCode, TrackingEvent};

use crate::LegId;

/// How a leg's carrier was decided. A manual choice is never undone by detection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CarrierSource {
    /// From the delivery method or the number's shape, at sync time.
    Detected,
    /// The aggregator's auto-detection, for a number nothing else placed.
    Aggregator,
    /// Set by a person (`ozontrack legs set-carrier`).
    Manual,
}

impl CarrierSource {
    pub fn as_str(self) -> &'static str {
        match self {
            CarrierSource::Detected => "detected",
            CarrierSource::Aggregator => "aggregator",
            CarrierSource::Manual => "manual",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<Self> {
        [Self::Detected, Self::Aggregator, Self::Manual]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// What one check of a leg produced, stored in one go with the others of its round.
#[derive(Debug, Clone, PartialEq)]
pub struct LegCheck {
    pub leg: LegId,
    /// Everything the carrier showed; known fingerprints are skipped.
    pub events: Vec<TrackingEvent>,
    /// When the leg is next due (`None`: never).
    pub next_check_at: Option<DateTime<Utc>>,
    /// The aggregator has the number registered (set once, kept).
    pub registered: bool,
    /// The carrier the aggregator detected, applied only to a leg whose carrier was unknown.
    pub detected_carrier: Option<CarrierCode>,
    /// The answer was the carrier's whole, current history: the leg is known up to now.
    pub fresh: bool,
}

/// A feed's (a carrier API's, or a carrier behind the aggregator's) recent health.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedHealth {
    /// `17track`, `russian_post`, `cdek`, or `17track:<carrier>` for a carrier the aggregator
    /// reported it could not reach.
    pub feed: String,
    pub ok_at: Option<DateTime<Utc>>,
    pub failed_at: Option<DateTime<Utc>>,
    /// Failures in a row since the last success.
    pub failures: i64,
    pub last_error: Option<String>,
    /// No calls to the feed before this time.
    pub backoff_until: Option<DateTime<Utc>>,
    /// Calls made so far.
    pub calls: i64,
}

impl FeedHealth {
    /// Whether the feed's latest outcome was a failure.
    pub fn is_failing(&self) -> bool {
        self.failures > 0
    }
}

/// One call's outcome for [`crate::Store::record_feed`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedOutcome<'a> {
    pub feed: &'a str,
    /// `None`: the call succeeded.
    pub error: Option<&'a str>,
    pub backoff_until: Option<DateTime<Utc>>,
    pub calls: i64,
}
