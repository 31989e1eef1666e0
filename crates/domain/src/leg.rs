//! A leg is one carrier's part of a parcel's journey, identified by (carrier, tracking number):
//! a cross-border parcel typically has a first-mile leg in China and a last-mile leg in Russia.

use crate::ParseError;
use crate::ids::CarrierCode;
use crate::tracking_number::TrackingNumber;

/// Which part of the journey a leg covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LegRole {
    /// From the seller to the border (Yanwen, 4PX, Cainiao, …).
    FirstMile,
    /// From the border to the buyer (Ozon logistics, Russian Post, CDEK, …).
    LastMile,
    /// One carrier end to end (direct mail, FBO).
    Single,
    /// Ozon's own view of a posting whose carriers are someone else: its status, fed by the
    /// sync, beside the carriers' legs.
    Marketplace,
}

impl LegRole {
    pub const ALL: [LegRole; 4] = [
        LegRole::FirstMile,
        LegRole::LastMile,
        LegRole::Single,
        LegRole::Marketplace,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LegRole::FirstMile => "first_mile",
            LegRole::LastMile => "last_mile",
            LegRole::Single => "single",
            LegRole::Marketplace => "marketplace",
        }
    }

    pub fn parse(text: &str) -> Result<Self, ParseError> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == text)
            .ok_or_else(|| {
                ParseError::new(
                    "leg role",
                    text,
                    "expected first_mile, last_mile, single or marketplace",
                )
            })
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
            assert_eq!(LegRole::parse(role.as_str()).unwrap(), role);
        }
        assert!(LegRole::parse("middle_mile").is_err());
    }
}
