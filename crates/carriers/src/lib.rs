//! Carrier tracking clients and the parsers behind them: 17TRACK (the aggregator for the
//! Chinese carriers, with its push webhook), Russian Post's SOAP history and CDEK's API v2.
//! Each turns its payloads into domain [`TrackingEvent`]s through an explicit crosswalk table,
//! keeps the raw code and text on every event, and keeps codes it does not know.
//!
//! Parsers are pure functions of the payload (`parse_*`), so `ozontrack decode`, the fuzz
//! targets and the clients share them; clients only add the wire.

pub mod cdek;
pub mod russian_post;
pub mod seventeen_track;

use std::time::Duration;

use ozontrack_domain::carrier::CarrierInfo;
use ozontrack_domain::{GeoPoint, Location, TrackingEvent};
use ozontrack_http::retry_after;

/// What a call to a carrier can end in.
#[derive(Debug, thiserror::Error)]
pub enum CarrierError {
    /// The credentials are wrong or revoked: someone has to act; retrying will not help.
    #[error("{feed} refused our credentials: {message}")]
    Auth { feed: &'static str, message: String },
    /// Too many requests; try again after `retry_after` when the carrier says.
    #[error("{feed} rate limited the request")]
    RateLimited {
        feed: &'static str,
        retry_after: Option<Duration>,
    },
    /// The carrier (or the way to it) failed: 5xx, timeout, connection error.
    #[error("{feed} is unavailable: {reason}")]
    Unavailable { feed: &'static str, reason: String },
    /// The carrier refused the request itself.
    #[error("{feed} refused the request (code {code}): {message}")]
    Rejected {
        feed: &'static str,
        code: String,
        message: String,
    },
    /// The answer could not be read.
    #[error(transparent)]
    Decode(#[from] DecodeError),
}

impl CarrierError {
    /// A failure of the feed rather than of the request: worth backing off from.
    pub fn is_feed_failure(&self) -> bool {
        matches!(
            self,
            CarrierError::RateLimited { .. } | CarrierError::Unavailable { .. }
        )
    }
}

/// A payload that could not be read, with where in it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unreadable {kind} payload at {path}: {reason}")]
pub struct DecodeError {
    /// Which payload: `17track-trackinfo`, `russianpost-history`…
    pub kind: &'static str,
    /// Where: a JSON path, or `line L, column C` for XML.
    pub path: String,
    pub reason: String,
}

/// What a carrier said about one tracking number.
#[derive(Debug, Clone, PartialEq)]
pub struct Tracked {
    /// The number as the carrier spells it.
    pub number: String,
    /// Every event the carrier shows, oldest first (ties keep the carrier's order).
    pub events: Vec<TrackingEvent>,
    /// The carrier this number was found with, when the answer says.
    pub carrier: Option<&'static CarrierInfo>,
    /// The number the parcel continues under with another carrier, once handed over.
    pub hand_over: Option<HandOver>,
    /// The carrier does not know the number (yet).
    pub not_found: bool,
    /// Carriers the aggregator could not reach at its last sync: the data may be stale
    /// because the carrier is down, not because the parcel stopped.
    pub stale_carriers: Vec<String>,
}

impl Tracked {
    fn empty(number: &str) -> Self {
        Self {
            number: number.to_owned(),
            events: Vec::new(),
            carrier: None,
            hand_over: None,
            not_found: false,
            stale_carriers: Vec::new(),
        }
    }

    /// Sorts the events oldest first, keeping the given order among equal times.
    fn sort_events(&mut self) {
        self.events.sort_by_key(|e| e.occurred_at);
    }
}

/// A hand-over to a last-mile carrier, as the first-mile carrier reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandOver {
    pub number: String,
    /// Our carrier, when the aggregator's key or name is one we know.
    pub carrier: Option<&'static CarrierInfo>,
    /// The aggregator's own name for the carrier, verbatim.
    pub provider_name: Option<String>,
}

/// A carrier's location fields, trimmed (a country only as an ISO code), then placed with the
/// gazetteer.
fn locate(
    text: Option<&str>,
    city: Option<&str>,
    country: Option<&str>,
    point: Option<GeoPoint>,
) -> Location {
    let given = |v: Option<&str>| {
        v.map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
    };
    Location {
        text: given(text),
        city: given(city),
        country: given(country)
            .filter(|c| c.len() == 2)
            .map(|c| c.to_ascii_uppercase()),
        point,
    }
    .placed()
}

/// A SHA-256 digest of a raw payload, kept on each event read from it as evidence.
pub fn payload_digest(payload: &[u8]) -> String {
    use sha2::Digest as _;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(payload)))
}

/// Attaches a payload's digest to every event of `tracked`.
fn with_digest(mut tracked: Tracked, digest: &str) -> Tracked {
    for e in &mut tracked.events {
        e.payload_digest = Some(digest.to_owned());
    }
    tracked
}

/// Maps a transport failure (no answer at all) to [`CarrierError::Unavailable`].
fn transport(feed: &'static str, error: &reqwest::Error) -> CarrierError {
    CarrierError::Unavailable {
        feed,
        reason: ozontrack_http::transport_reason(error),
    }
}
