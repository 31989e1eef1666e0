//! ozontrack's vocabulary and pure logic, shared by every other crate.
//!
//! Nothing here does I/O, is async, or knows SQL or HTTP: values from the outside world are
//! parsed into these types once, at the edge, and time always comes in through a [`Clock`]
//! or as a `now` parameter.
//!
//! Layout:
//! - [`access`]: roles, the stores a grant covers, the actions the audit trail records.
//! - [`ids`]: identifiers parsed once (posting and order numbers, store ids, carrier codes).
//! - [`tracking_number`]: tracking numbers and their formats (UPU S10, Russian Post 14-digit).
//! - [`money`]: integer minor units plus a currency.
//! - [`posting`], [`leg`], [`event`]: what Ozon sells, how it travels, what carriers report.
//! - [`status`]: the normalized two-level status taxonomy; [`crosswalk`] maps Ozon, 17TRACK and
//!   AfterShip statuses onto it.
//! - [`carrier`]: the carrier registry and how a leg's carrier is detected.
//! - [`clock`]: where time comes from.
//! - [`sync`]: what one sight of a posting on Ozon implies (legs, a status event).
//! - [`schedule`]: when a leg is next worth a carrier call.
//! - [`timeline`]: every leg's events in one order, each report kept.
//! - [`rules`] (the thresholds, as data), [`risk`] (evaluating them: findings),
//!   [`finding`] (what a finding says, as typed facts), [`alert`] (the alert lifecycle).
//! - [`estimate`]: arrival windows.
//! - [`notify`]: notifications as facts: channels' limits, notices, routing, keys, verdicts.
//! - [`trail`]: one posting's whole trail, the read model every reader renders, and the
//!   buyer's projection of it.

#[macro_use]
mod macros;

pub mod access;
pub mod alert;
pub mod carrier;
pub mod clock;
pub mod crosswalk;
pub mod estimate;
pub mod event;
pub mod evidence;
pub mod finding;
pub mod gazetteer;
pub mod geo;
pub mod ids;
pub mod leg;
pub mod money;
pub mod notify;
pub mod posting;
pub mod risk;
pub mod rules;
pub mod schedule;
pub mod status;
pub mod store;
pub mod sync;
pub mod timeline;
pub mod tracking_number;
pub mod trail;

#[doc(hidden)]
pub use serde as __serde;

pub use access::{AuditAction, Role, StoreScope};
pub use clock::{Clock, ManualClock, ScaledClock, SystemClock};
pub use event::{EventSource, Fingerprint, Handover, Location, TrackingEvent};
pub use geo::GeoPoint;
pub use ids::{
    CarrierCode, ClientId, DestinationId, LegId, OrderNumber, PostingId, PostingNumber, StoreId,
    StoreName,
};
pub use leg::{CarrierSource, Leg, LegRole};
pub use money::{Currency, Money};
pub use posting::{DeliveryMethod, OzonStatus, OzonSubstatus, Posting, Product, Promise, Scheme};
pub use status::{MainStatus, NormalizedStatus, SubStatus};
pub use store::{Language, StoreSettings};
pub use sync::SyncedPosting;
pub use tracking_number::{S10Check, TrackingFormat, TrackingNumber};

/// A closed enum of our vocabulary ([`closed_enum!`]): what an API document or a form needs to
/// list its values.
pub trait Closed: Copy + 'static {
    /// The kind of value, as errors name it ("mode", "severity").
    const WHAT: &'static str;
    /// Every value's text, in order.
    fn texts() -> Vec<&'static str>;
}

/// Why a value from the outside world was refused. The message names the value and the rule
/// it broke; callers add where it came from (file, line, field).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} {value:?} is invalid: {reason}")]
pub struct ParseError {
    /// What kind of value was being parsed ("posting number", "tracking number", …).
    pub what: &'static str,
    /// The offending input, truncated to keep error lines short.
    pub value: String,
    /// The rule it broke.
    pub reason: String,
}

impl ParseError {
    /// `value` is kept to its first 64 characters.
    pub fn new(what: &'static str, value: &str, reason: impl Into<String>) -> Self {
        let value: String = value.chars().take(64).collect();
        Self {
            what,
            value,
            reason: reason.into(),
        }
    }
}
