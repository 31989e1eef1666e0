//! A leg is one carrier's part of a parcel's journey, identified by (carrier, tracking number):
//! a cross-border parcel typically has a first-mile leg in China and a last-mile leg in Russia.

use crate::ids::CarrierCode;
use crate::tracking_number::TrackingNumber;

closed_enum! {
    /// Which part of the journey a leg covers.
    pub enum LegRole ("leg role") {
        /// From the seller to the border (Yanwen, 4PX, Cainiao, …).
        FirstMile => "first_mile",
        /// From the border to the buyer (Ozon logistics, Russian Post, CDEK, …).
        LastMile => "last_mile",
        /// One carrier end to end (direct mail, FBO).
        Single => "single",
        /// Ozon's own view of a posting whose carriers are someone else: its status, fed by the
        /// sync, beside the carriers' legs.
        Marketplace => "marketplace",
    }
}

closed_enum! {
    /// How a leg's carrier was decided. A manual choice is never undone by detection.
    pub enum CarrierSource ("carrier source") {
        /// From the delivery method or the number's shape, at sync time.
        Detected => "detected",
        /// The aggregator's auto-detection, for a number nothing else placed.
        Aggregator => "aggregator",
        /// Set by a person (`ozontrack legs set-carrier`, the API).
        Manual => "manual",
    }
}

/// One carrier's part of a posting's journey.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Leg {
    pub carrier: CarrierCode,
    pub tracking_number: TrackingNumber,
    pub role: LegRole,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leg_roles_round_trip_through_their_stored_spelling() {
        for role in LegRole::ALL {
            assert_eq!(LegRole::parse(role.as_str()).unwrap(), *role);
        }
        assert!(LegRole::parse("middle_mile").is_err());
    }
}
